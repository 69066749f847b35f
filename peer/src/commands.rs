//! The offline commands of `corkboard-peer`: they open a data directory,
//! change or read one board, persist, and return what to print.

use std::path::Path;

use board_key::BoardKey;
use board_key::link::ShareLink;
use board_model::blob::{self, Store as _};
use board_model::{Board, BoardId, Card, CardId, Content, ImageRef, NewCard, Point};
use serde_json::{Value, json};

use crate::storage::{DataDir, Error};
use crate::{clock, random};

/// Why a command failed, in words for the person who typed it.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Storage(#[from] Error),
    #[error("not a valid board link: {0}")]
    Link(#[from] board_key::link::Error),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

fn parse_link(text: &str) -> Result<ShareLink, CommandError> {
    Ok(ShareLink::parse(text)?)
}

/// `new`: creates a board offline; returns its share link.
pub fn new_board(data: &DataDir, title: &str) -> Result<ShareLink, CommandError> {
    let mut key = [0u8; 32];
    random::fill(&mut key);
    let link = ShareLink {
        board: uuid::Builder::from_random_bytes(random::bytes16()).into_uuid(),
        key: BoardKey(key),
    };
    let board = Board::create(BoardId(link.board), title, random::replica())
        .map_err(|e| CommandError::Invalid(e.to_string()))?;
    data.create(&link, &board)?;
    Ok(link)
}

fn new_card(content: Content, at: Point, author: &str) -> NewCard {
    NewCard {
        id: CardId::from_random_bytes(random::bytes16()),
        position: at,
        size: None,
        color: None,
        content,
        created_by: author.to_owned(),
        created_at: i64::try_from(clock::now_ms()).unwrap_or(0),
    }
}

fn edit<T>(
    data: &DataDir,
    link: &str,
    change: impl FnOnce(&mut Board) -> Result<T, board_model::Error>,
) -> Result<T, CommandError> {
    let link = parse_link(link)?;
    match data.open_board(&link, random::replica()) {
        Ok((mut file, mut board)) => {
            let result = change(&mut board).map_err(|e| CommandError::Invalid(e.to_string()))?;
            file.persist(&board)?;
            Ok(result)
        }
        Err(Error::Busy { .. }) => {
            // A `serve` process holds the board: make the change on a copy
            // and hand it over through the inbox; it syncs it at once.
            let mut board = data.read_board(&link.board, random::replica())?;
            let before = board.version();
            let result = change(&mut board).map_err(|e| CommandError::Invalid(e.to_string()))?;
            data.deliver_to_inbox(&link.board, &board.updates_since(&before))?;
            Ok(result)
        }
        Err(error) => Err(error.into()),
    }
}

/// `add-note --repeat N`: adds N notes, each persisted (synced to disk)
/// before `acknowledge` hears of it. Returns how many were added.
pub fn add_notes(
    data: &DataDir,
    link: &str,
    text: &str,
    at: Point,
    author: &str,
    count: usize,
    mut acknowledge: impl FnMut(CardId),
) -> Result<usize, CommandError> {
    let parsed = parse_link(link)?;
    let mut open = match data.open_board(&parsed, random::replica()) {
        Ok(open) => Some(open),
        Err(Error::Busy { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    for n in 0..count {
        let position = Point { x: at.x + (n % 40) as f64 * 10.0, y: at.y + (n / 40) as f64 * 10.0 };
        let id = match open.as_mut() {
            Some((file, board)) => {
                let card = new_card(Content::Note { text: text.to_owned() }, position, author);
                let id = card.id;
                board.add_card(card).map_err(|e| CommandError::Invalid(e.to_string()))?;
                file.persist(board)?;
                id
            }
            None => add_note(data, link, text, position, author)?,
        };
        acknowledge(id);
    }
    Ok(count)
}

/// `add-note`: returns the new card's id.
pub fn add_note(
    data: &DataDir,
    link: &str,
    text: &str,
    at: Point,
    author: &str,
) -> Result<CardId, CommandError> {
    edit(data, link, |board| {
        let card = new_card(Content::Note { text: text.to_owned() }, at, author);
        let id = card.id;
        board.add_card(card).map(|()| id)
    })
}

/// `add-image`: stores the file as a blob (after checking it is an image
/// and learning its size) and adds an image card; returns the card id.
pub fn add_image(
    data: &DataDir,
    link: &str,
    file: &Path,
    at: Point,
    author: &str,
) -> Result<CardId, CommandError> {
    let path = file.display().to_string();
    let bytes =
        std::fs::read(file).map_err(|e| CommandError::File { path: path.clone(), reason: e.to_string() })?;
    let (media_type, width, height) =
        inspect_image(&bytes).map_err(|reason| CommandError::File { path, reason })?;
    let mut blobs = data.blobs();
    let hash = blob::insert(&mut blobs, bytes).map_err(|e| CommandError::Invalid(e.to_string()))?;
    debug_assert!(blobs.complete_len(&hash).is_some());
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let image = ImageRef { hash, media_type, natural_width: width, natural_height: height, file_name };
    edit(data, link, |board| {
        let card = new_card(Content::Image(image), at, author);
        let id = card.id;
        board.add_card(card).map(|()| id)
    })
}

/// Decodes an image's header to learn its type and size; anything that is
/// not an image the `image` crate can read is refused.
pub fn inspect_image(bytes: &[u8]) -> Result<(String, u32, u32), String> {
    let format =
        image::guess_format(bytes).map_err(|_| "not an image (PNG, JPEG, GIF, WebP or BMP)".to_owned())?;
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let (width, height) = reader.into_dimensions().map_err(|e| format!("not a readable image: {e}"))?;
    if width == 0
        || height == 0
        || width > board_model::card::limits::MAX_IMAGE_PIXELS
        || height > board_model::card::limits::MAX_IMAGE_PIXELS
    {
        return Err(format!("image size {width}×{height} is out of range"));
    }
    Ok((format.to_mime_type().to_owned(), width, height))
}

/// `move`.
pub fn move_card(data: &DataDir, link: &str, card: &str, to: Point) -> Result<(), CommandError> {
    let id: CardId = card.parse().map_err(|e: board_model::Error| CommandError::Invalid(e.to_string()))?;
    edit(data, link, |board| board.move_card(id, to))
}

/// `show --json`: the board as JSON with a stable key order.
pub fn show(data: &DataDir, link: &str) -> Result<Value, CommandError> {
    let link = parse_link(link)?;
    let board = data.read_board(&link.board, random::replica())?;
    Ok(board_json(&link, &board))
}

/// The JSON form of a board: two replicas with the same state print the same.
pub fn board_json(link: &ShareLink, board: &Board) -> Value {
    json!({
        "board": link.board.to_string(),
        "title": board.title(),
        "background": board.background().map(|c| c.to_string()),
        "cards": board.cards().iter().map(card_json).collect::<Vec<_>>(),
    })
}

fn card_json(card: &Card) -> Value {
    let mut value = json!({
        "id": card.id.to_string(),
        "kind": card.kind().as_str(),
        "x": card.position.x,
        "y": card.position.y,
        "width": card.size.width,
        "height": card.size.height,
        "color": card.color.as_ref().map(ToString::to_string),
    });
    let extra = match &card.content {
        Content::Note { text } => json!({ "text": text }),
        Content::Link { url, title } => json!({ "url": url, "title": title }),
        Content::Image(image) => json!({
            "image": image.hash.to_hex(),
            "media_type": image.media_type,
            "natural_width": image.natural_width,
            "natural_height": image.natural_height,
            "file_name": image.file_name,
        }),
    };
    if let (Value::Object(map), Value::Object(more)) = (&mut value, extra) {
        map.extend(more);
    }
    value
}
