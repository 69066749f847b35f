//! Reading cards out of the document leniently: fields a peer wrote out of
//! range are brought back into range, cards of unknown kind are skipped, so
//! a hostile document still renders.

use loro::{LoroMap, LoroValue, ValueOrContainer};

use crate::blob;
use crate::card::{self, Card, CardId, Color, Content, ImageRef, Kind, Point, Size, limits};

pub(super) fn string_field(map: &LoroMap, key: &str) -> Option<String> {
    match map.get(key)? {
        ValueOrContainer::Value(LoroValue::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

/// A string field cut to at most `max_chars` characters (a peer's document
/// is held to the limits local writes are).
pub(super) fn bounded_field(map: &LoroMap, key: &str, max_chars: usize) -> Option<String> {
    string_field(map, key).map(|text| bounded(text, max_chars))
}

/// `text` cut to at most `max_chars` characters.
pub(super) fn bounded(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text[..end].to_owned(),
        None => text,
    }
}

pub(super) fn number_field(map: &LoroMap, key: &str) -> Option<f64> {
    match map.get(key)? {
        ValueOrContainer::Value(LoroValue::Double(value)) => Some(value),
        ValueOrContainer::Value(LoroValue::I64(value)) => Some(value as f64),
        _ => None,
    }
}

pub(super) fn integer_field(map: &LoroMap, key: &str) -> Option<i64> {
    match map.get(key)? {
        ValueOrContainer::Value(LoroValue::I64(value)) => Some(value),
        _ => None,
    }
}

pub(super) fn kind_of(map: &LoroMap) -> Option<Kind> {
    string_field(map, "kind").and_then(|s| Kind::parse(&s))
}

/// Reads a card leniently: numbers a peer wrote out of range are brought
/// back into range; a card without a known kind is skipped.
pub(super) fn read_card(id: CardId, map: &LoroMap, z: usize) -> Option<Card> {
    let kind = kind_of(map)?;
    let coordinate = |key| {
        let value = number_field(map, key).unwrap_or(0.0);
        if value.is_finite() { value.clamp(-limits::MAX_COORDINATE, limits::MAX_COORDINATE) } else { 0.0 }
    };
    let min = kind.min_size();
    let default = kind.default_size();
    let dimension = |key, min: f64, default: f64| {
        let value = number_field(map, key).unwrap_or(default);
        if value.is_finite() { value.clamp(min, limits::MAX_DIMENSION) } else { default }
    };
    let content = match kind {
        Kind::Note => Content::Note {
            text: match map.get("text") {
                Some(ValueOrContainer::Container(loro::Container::Text(text))) => {
                    bounded(text.to_string(), limits::MAX_NOTE_CHARS)
                }
                _ => String::new(),
            },
        },
        Kind::Image => {
            let hash = blob::Hash::from_hex(&string_field(map, "sha256")?).ok()?;
            let pixels = |key| {
                integer_field(map, key)
                    .and_then(|v| u32::try_from(v).ok())
                    .filter(|v| (1..=limits::MAX_IMAGE_PIXELS).contains(v))
                    .unwrap_or(1)
            };
            Content::Image(ImageRef {
                hash,
                media_type: string_field(map, "media_type")
                    .filter(|media_type| media_type.len() <= limits::MAX_MEDIA_TYPE_BYTES)
                    .unwrap_or_default(),
                natural_width: pixels("natural_w"),
                natural_height: pixels("natural_h"),
                file_name: bounded_field(map, "file_name", limits::MAX_LABEL_CHARS).unwrap_or_default(),
            })
        }
        Kind::Link => Content::Link {
            url: string_field(map, "url")
                .filter(|url| url.len() <= limits::MAX_URL_BYTES && card::check_url(url).is_ok())
                .unwrap_or_default(),
            title: bounded_field(map, "title", limits::MAX_LABEL_CHARS).unwrap_or_default(),
        },
        Kind::Group => Content::Group {
            label: bounded_field(map, "label", limits::MAX_LABEL_CHARS)
                .filter(|label| card::check_label("group label", label).is_ok())
                .unwrap_or_default(),
        },
        Kind::Board => Content::Board {
            link: string_field(map, "link")
                .filter(|link| card::check_board_link(link).is_ok())
                .unwrap_or_default(),
        },
        Kind::File => Content::File {
            path: string_field(map, "path").filter(|path| card::check_file_path(path).is_ok())?,
        },
    };
    Some(Card {
        id,
        position: Point { x: coordinate("x"), y: coordinate("y") },
        size: Size {
            width: dimension("w", min.width, default.width),
            height: dimension("h", min.height, default.height),
        },
        z,
        color: string_field(map, "color").and_then(|s| Color::parse(&s).ok()),
        content,
        created_by: bounded_field(map, "created_by", limits::MAX_AUTHOR_CHARS).unwrap_or_default(),
        created_at: integer_field(map, "created_at").unwrap_or(0),
    })
}
