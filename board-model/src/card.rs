//! Cards: what a card is (note, image, link, group, pinned board, file),
//! its validated field types and the limits every field must respect before
//! it reaches the document.

use std::fmt;
use std::str::FromStr;

use crate::blob;
use crate::error::Error;

/// A card's identity: a UUID chosen by the peer that creates the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardId(pub uuid::Uuid);

impl CardId {
    /// Builds an id from 16 random bytes supplied by the caller (the model
    /// draws no random numbers itself). The bytes are stamped as a v4 UUID.
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        CardId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
}

impl fmt::Display for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for CardId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        uuid::Uuid::try_parse(s).map(CardId).map_err(|_| Error::InvalidCardId(truncate_for_message(s)))
    }
}

/// The kinds of card a board holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Note,
    Image,
    Link,
    /// A labelled frame: the cards inside its bounds belong to it.
    Group,
    /// Another board, pinned by its share link.
    Board,
    /// A file a JSON Canvas named that is not an image, kept by its path.
    File,
}

impl Kind {
    pub const ALL: [Kind; 6] = [Kind::Note, Kind::Image, Kind::Link, Kind::Group, Kind::Board, Kind::File];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Note => "note",
            Kind::Image => "image",
            Kind::Link => "link",
            Kind::Group => "group",
            Kind::Board => "board",
            Kind::File => "file",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == s)
    }

    /// The smallest size a card of this kind may have; resizes are clamped to it.
    pub fn min_size(self) -> Size {
        match self {
            Kind::Note => Size { width: 120.0, height: 60.0 },
            Kind::Image => Size { width: 48.0, height: 48.0 },
            Kind::Link | Kind::Board | Kind::File => Size { width: 160.0, height: 56.0 },
            Kind::Group => Size { width: 120.0, height: 80.0 },
        }
    }

    /// The size a new card of this kind gets when the caller does not choose one.
    pub fn default_size(self) -> Size {
        match self {
            Kind::Note => Size { width: 220.0, height: 160.0 },
            Kind::Image => Size { width: 320.0, height: 240.0 },
            Kind::Link | Kind::File => Size { width: 260.0, height: 80.0 },
            Kind::Board => Size { width: 260.0, height: 120.0 },
            Kind::Group => Size { width: 480.0, height: 320.0 },
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point on the infinite board, in board units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// A card's width and height, in board units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Size {
    pub width: f64,
    pub height: f64,
}

/// Limits on every field, so a board stays small and renderable whatever a
/// peer or user sends.
pub mod limits {
    /// Largest absolute coordinate on the board.
    pub const MAX_COORDINATE: f64 = 1.0e7;
    /// Largest width or height of a card.
    pub const MAX_DIMENSION: f64 = 1.0e5;
    /// Longest note text, in Unicode scalar values.
    pub const MAX_NOTE_CHARS: usize = 100_000;
    /// Longest board title, in characters.
    pub const MAX_TITLE_CHARS: usize = 200;
    /// Longest link URL, in bytes.
    pub const MAX_URL_BYTES: usize = 2048;
    /// Longest link title or image file name, in characters.
    pub const MAX_LABEL_CHARS: usize = 300;
    /// Longest media type, in bytes.
    pub const MAX_MEDIA_TYPE_BYTES: usize = 100;
    /// Largest natural image dimension, in pixels.
    pub const MAX_IMAGE_PIXELS: u32 = 100_000;
    /// Longest author string, in characters.
    pub const MAX_AUTHOR_CHARS: usize = 100;
    /// Most cards one operation may touch or one board may hold.
    pub const MAX_CARDS: usize = 20_000;
    /// Most edges one board may hold.
    pub const MAX_EDGES: usize = 40_000;
    /// Longest edge label, in characters.
    pub const MAX_EDGE_LABEL_CHARS: usize = 1_000;
}

/// A card colour: one of JSON Canvas's presets "1"–"6" or an `#rrggbb` colour.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Color {
    Preset(u8),
    Rgb([u8; 3]),
}

impl Color {
    /// Parses the JSON Canvas form: "1".."6" or "#rrggbb" (case-insensitive hex).
    pub fn parse(s: &str) -> Result<Color, Error> {
        let bad = || Error::InvalidColor(truncate_for_message(s));
        let bytes = s.as_bytes();
        if bytes.len() == 1 && (b'1'..=b'6').contains(&bytes[0]) {
            return Ok(Color::Preset(bytes[0] - b'0'));
        }
        if bytes.len() == 7 && bytes[0] == b'#' {
            let hex = &s[1..];
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            let value = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
            let [_, r, g, b] = value.to_be_bytes();
            return Ok(Color::Rgb([r, g, b]));
        }
        Err(bad())
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Color::Preset(n) => write!(f, "{n}"),
            Color::Rgb([r, g, b]) => write!(f, "#{r:02x}{g:02x}{b:02x}"),
        }
    }
}

/// An image card's reference to its bytes, which travel separately as a blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    pub hash: blob::Hash,
    pub media_type: String,
    pub natural_width: u32,
    pub natural_height: u32,
    pub file_name: String,
}

/// What a card shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// Collaborative plain text, shown as Markdown.
    Note {
        text: String,
    },
    Image(ImageRef),
    Link {
        url: String,
        title: String,
    },
    /// A frame around other cards (see [`crate::Board::members_of`]).
    Group {
        label: String,
    },
    /// Another board's share link. Its key is in this board's document:
    /// everyone on this board can open the pinned one.
    Board {
        link: String,
    },
    /// A file by its path relative to a JSON Canvas file's folder.
    File {
        path: String,
    },
}

impl Content {
    pub fn kind(&self) -> Kind {
        match self {
            Content::Note { .. } => Kind::Note,
            Content::Image(_) => Kind::Image,
            Content::Link { .. } => Kind::Link,
            Content::Group { .. } => Kind::Group,
            Content::Board { .. } => Kind::Board,
            Content::File { .. } => Kind::File,
        }
    }
}

/// Everything needed to add a card. Ids and times come from the caller.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCard {
    pub id: CardId,
    pub position: Point,
    /// `None` picks the kind's default size (for images: the natural aspect ratio).
    pub size: Option<Size>,
    pub color: Option<Color>,
    pub content: Content,
    pub created_by: String,
    /// Milliseconds since the Unix epoch, as the caller's clock says.
    pub created_at: i64,
}

/// A card as the board holds it now: the read-only view used for rendering.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    pub id: CardId,
    pub position: Point,
    pub size: Size,
    /// Stacking position: 0 is the bottom.
    pub z: usize,
    pub color: Option<Color>,
    pub content: Content,
    pub created_by: String,
    pub created_at: i64,
}

impl Card {
    pub fn kind(&self) -> Kind {
        self.content.kind()
    }
}

pub(crate) fn check_coordinate(value: f64) -> Result<f64, Error> {
    if value.is_finite() && value.abs() <= limits::MAX_COORDINATE {
        Ok(value)
    } else {
        Err(Error::InvalidNumber { what: "coordinate", value })
    }
}

pub(crate) fn check_point(point: Point) -> Result<Point, Error> {
    Ok(Point { x: check_coordinate(point.x)?, y: check_coordinate(point.y)? })
}

/// Validates a size and clamps it up to the kind's minimum.
pub(crate) fn clamp_size(kind: Kind, size: Size) -> Result<Size, Error> {
    for value in [size.width, size.height] {
        if !value.is_finite() || value > limits::MAX_DIMENSION {
            return Err(Error::InvalidNumber { what: "size", value });
        }
    }
    let min = kind.min_size();
    Ok(Size { width: size.width.max(min.width), height: size.height.max(min.height) })
}

pub(crate) fn check_chars(what: &'static str, value: &str, max: usize) -> Result<(), Error> {
    // Byte length bounds the char count from above, so most calls skip the count.
    if value.len() > max && value.chars().count() > max {
        return Err(Error::TooLong { what, max });
    }
    Ok(())
}

pub(crate) fn check_bytes(what: &'static str, value: &str, max: usize) -> Result<(), Error> {
    if value.len() > max {
        return Err(Error::TooLong { what, max });
    }
    Ok(())
}

pub(crate) fn check_content(content: &Content) -> Result<(), Error> {
    match content {
        Content::Note { text } => check_chars("note text", text, limits::MAX_NOTE_CHARS),
        Content::Image(image) => {
            check_bytes("media type", &image.media_type, limits::MAX_MEDIA_TYPE_BYTES)?;
            if !image.media_type.starts_with("image/") {
                return Err(Error::InvalidField { what: "media type", reason: "must start with image/" });
            }
            check_chars("file name", &image.file_name, limits::MAX_LABEL_CHARS)?;
            for pixels in [image.natural_width, image.natural_height] {
                if pixels == 0 || pixels > limits::MAX_IMAGE_PIXELS {
                    return Err(Error::InvalidNumber { what: "image dimension", value: f64::from(pixels) });
                }
            }
            Ok(())
        }
        Content::Link { url, title } => {
            check_bytes("url", url, limits::MAX_URL_BYTES)?;
            check_url(url)?;
            check_chars("link title", title, limits::MAX_LABEL_CHARS)
        }
        Content::Group { label } => check_label("group label", label),
        Content::Board { link } => check_board_link(link),
        Content::File { path } => check_file_path(path),
    }
}

/// A label: bounded, and no control characters.
pub(crate) fn check_label(what: &'static str, label: &str) -> Result<(), Error> {
    check_chars(what, label, limits::MAX_LABEL_CHARS)?;
    if label.chars().any(char::is_control) {
        return Err(Error::InvalidField { what, reason: "must not hold control characters" });
    }
    Ok(())
}

/// A pinned board's share link: the shape of one (`corkboard://` or a web
/// address with `board=` and `key=` in its fragment); the app reads it fully.
pub(crate) fn check_board_link(link: &str) -> Result<(), Error> {
    check_bytes("board link", link, limits::MAX_URL_BYTES)?;
    let lower = link.to_ascii_lowercase();
    let fragment = lower.split_once('#').map(|(_, fragment)| fragment).unwrap_or_default();
    let shaped =
        (lower.starts_with("corkboard://") || lower.starts_with("https://") || lower.starts_with("http://"))
            && fragment.contains("board=")
            && fragment.contains("key=");
    if shaped && !link.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Ok(())
    } else {
        Err(Error::InvalidField { what: "board link", reason: "must be a Corkboard share link" })
    }
}

/// Whether `path` is relative and stays inside its folder (see
/// [`check_file_path`]).
pub fn is_relative_path(path: &str) -> bool {
    check_file_path(path).is_ok()
}

/// A file path as JSON Canvas writes it: relative, forward slashes, no
/// way out of the canvas's folder.
pub(crate) fn check_file_path(path: &str) -> Result<(), Error> {
    check_bytes("file path", path, limits::MAX_URL_BYTES)?;
    let bad = |reason| Err(Error::InvalidField { what: "file path", reason });
    if path.is_empty() || path.chars().any(char::is_control) {
        return bad("must be a non-empty path without control characters");
    }
    if path.starts_with('/') || path.contains('\\') || path.contains(':') {
        return bad("must be relative to the canvas's folder");
    }
    if path.split('/').any(|part| part == ".." || part.is_empty()) {
        return bad("must stay inside the canvas's folder");
    }
    Ok(())
}

/// Whether a link card may hold `url` (see [`check_url`]).
pub fn is_allowed_url(url: &str) -> bool {
    url.len() <= limits::MAX_URL_BYTES && check_url(url).is_ok()
}

/// Accepts absolute http(s) and mailto URLs; anything else (javascript:, data:,
/// relative paths) is refused so a link card can never run script when opened.
pub(crate) fn check_url(url: &str) -> Result<(), Error> {
    let lower = url.trim().to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://")) && lower.len() > 8
        || lower.starts_with("mailto:") && lower.len() > 7;
    if ok && !url.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(Error::InvalidField { what: "url", reason: "must be an absolute http(s) or mailto URL" })
    }
}

/// The default size of an image card: the natural aspect ratio, fitted into the
/// kind's default box.
pub(crate) fn image_default_size(image: &ImageRef) -> Size {
    let bound = Kind::Image.default_size();
    let (w, h) = (f64::from(image.natural_width.max(1)), f64::from(image.natural_height.max(1)));
    let scale = (bound.width / w).min(bound.height / h).min(1.0);
    Size { width: (w * scale).round(), height: (h * scale).round() }
}

pub(crate) fn truncate_for_message(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_rgb_colors_round_trip() {
        for s in ["1", "6", "#00ff7f", "#abcdef"] {
            assert_eq!(Color::parse(s).map(|c| c.to_string()).ok().as_deref(), Some(s));
        }
        assert_eq!(Color::parse("#ABCDEF").map(|c| c.to_string()).ok().as_deref(), Some("#abcdef"));
    }

    #[test]
    fn bad_colors_are_refused() {
        for s in ["0", "7", "", "#12345", "#1234567", "red", "#gg0000", "#+12345"] {
            assert!(Color::parse(s).is_err(), "{s} should be refused");
        }
    }

    #[test]
    fn sizes_clamp_up_to_the_kind_minimum() {
        let size = clamp_size(Kind::Note, Size { width: 1.0, height: 500.0 }).ok();
        assert_eq!(size, Some(Size { width: 120.0, height: 500.0 }));
        assert!(clamp_size(Kind::Note, Size { width: f64::NAN, height: 1.0 }).is_err());
        assert!(clamp_size(Kind::Link, Size { width: 1.0e9, height: 1.0 }).is_err());
    }

    #[test]
    fn only_http_and_mailto_links_are_accepted() {
        assert!(check_url("https://example.org/a").is_ok());
        assert!(check_url("mailto:someone@example.org").is_ok());
        for bad in ["javascript:alert(1)", "data:text/html,x", "/relative", "https://", "http://a\nb"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_default_size_keeps_the_aspect_ratio() {
        let image = ImageRef {
            hash: blob::Hash::of(b"x"),
            media_type: "image/png".into(),
            natural_width: 1600,
            natural_height: 400,
            file_name: "wide.png".into(),
        };
        assert_eq!(image_default_size(&image), Size { width: 320.0, height: 80.0 });
    }

    #[test]
    fn card_ids_parse_and_print_as_hyphenated_uuids() {
        let id = CardId::from_random_bytes([7; 16]);
        let text = id.to_string();
        assert_eq!(text.parse::<CardId>().ok(), Some(id));
        assert!("not-a-uuid".parse::<CardId>().is_err());
    }
}
