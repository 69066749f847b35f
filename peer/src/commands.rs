//! The offline commands of `corkboard-peer`: they open a data directory,
//! change or read one board, persist, and return what to print.

use std::path::Path;

use board_key::BoardKey;
use board_key::link::ShareLink;
use board_model::blob::{self, Store as _};
use board_model::{
    Board, BoardId, Card, CardId, Content, Edge, EdgeId, ImageRef, NewCard, NewEdge, Point, Size,
};
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
    let now = i64::try_from(clock::now_ms()).unwrap_or(0);
    let board = Board::create_at(BoardId(link.board), title, random::replica(), now, &crate::author_name())
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

/// A board about to be edited here: its changes are made now, by this
/// machine's user.
fn stamp(board: &mut Board) {
    board.set_clock(i64::try_from(clock::now_ms()).unwrap_or(0));
    board.set_author(&crate::author_name());
}

fn edit<T>(
    data: &DataDir,
    link: &str,
    change: impl FnOnce(&mut Board) -> Result<T, board_model::Error>,
) -> Result<T, CommandError> {
    let link = parse_link(link)?;
    match data.open_board(&link, random::replica()) {
        Ok((mut file, mut board)) => {
            stamp(&mut board);
            let result = change(&mut board).map_err(|e| CommandError::Invalid(e.to_string()))?;
            file.persist(&board)?;
            Ok(result)
        }
        Err(Error::Busy { .. }) => {
            // A `serve` process holds the board: make the change on a copy
            // and hand it over through the inbox; it syncs it at once.
            let mut board = data.read_board(&link.board, random::replica())?;
            stamp(&mut board);
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
                stamp(board);
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

/// `connect`: draws an edge from one card to another (automatic sides, an
/// arrow at the end); returns the edge's id.
pub fn connect(
    data: &DataDir,
    link: &str,
    from: &str,
    to: &str,
    label: &str,
    author: &str,
) -> Result<EdgeId, CommandError> {
    let card = |text: &str| text.parse::<CardId>().map_err(|e| CommandError::Invalid(e.to_string()));
    let (from, to) = (card(from)?, card(to)?);
    edit(data, link, |board| {
        let mut edge = NewEdge::between(EdgeId::from_random_bytes(random::bytes16()), from, to);
        edge.label = label.to_owned();
        edge.created_by = author.to_owned();
        edge.created_at = i64::try_from(clock::now_ms()).unwrap_or(0);
        let id = edge.id;
        board.add_edge(edge).map(|()| id)
    })
}

/// `add-group`: a group with `label` at `at` of `size`; returns its id.
pub fn add_group(
    data: &DataDir,
    link: &str,
    label: &str,
    at: Point,
    size: Size,
    author: &str,
) -> Result<CardId, CommandError> {
    edit(data, link, |board| {
        let mut card = new_card(Content::Group { label: label.to_owned() }, at, author);
        card.size = Some(size);
        let id = card.id;
        board.add_card(card).map(|()| id)
    })
}

/// `import --file F.canvas`: a new board from a JSON Canvas file and the
/// images beside it; returns its link and what the import did.
pub fn import_canvas(
    data: &DataDir,
    file: &Path,
    title: Option<&str>,
    author: &str,
) -> Result<(ShareLink, board_canvas::Imported), CommandError> {
    let path = file.display().to_string();
    let file_error = |reason: String| CommandError::File { path: path.clone(), reason };
    let bytes = std::fs::read(file).map_err(|e| file_error(e.to_string()))?;
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let title = title.unwrap_or(&stem);
    if bytes.starts_with(b"PK\x03\x04") {
        // A zip of a canvas and its images.
        let zipped = board_archive::canvas_zip::read(&bytes).map_err(|e| file_error(e.to_string()))?;
        return import_canvas_files(data, &zipped.canvas, title, author, |relative| {
            zipped.files.get(relative).cloned()
        });
    }
    let canvas = board_canvas::Canvas::parse(&bytes).map_err(|e| file_error(e.to_string()))?;
    let folder = file.parent().unwrap_or(Path::new("."));
    import_canvas_files(data, &canvas, title, author, |relative| {
        // Only files inside the canvas's folder are read.
        board_model::card::is_relative_path(relative)
            .then(|| std::fs::read(folder.join(relative)).ok())
            .flatten()
    })
}

/// A new board titled `title` from `canvas`, its images' bytes from `file`.
fn import_canvas_files(
    data: &DataDir,
    canvas: &board_canvas::Canvas,
    title: &str,
    author: &str,
    file: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<(ShareLink, board_canvas::Imported), CommandError> {
    let mut blobs = data.blobs();
    let mut images = std::collections::HashMap::new();
    for relative in canvas.image_paths() {
        let Some(bytes) = file(&relative) else { continue };
        let Ok((media_type, width, height)) = inspect_image(&bytes) else { continue };
        let hash = blob::insert(&mut blobs, bytes).map_err(|e| CommandError::Invalid(e.to_string()))?;
        let file_name = relative.rsplit('/').next().unwrap_or(&relative).to_owned();
        let image = ImageRef { hash, media_type, natural_width: width, natural_height: height, file_name };
        images.insert(relative, image);
    }
    let title: String = title.chars().take(board_model::card::limits::MAX_TITLE_CHARS).collect();
    let link = new_board(data, &title)?;
    let now = i64::try_from(clock::now_ms()).unwrap_or(0);
    let report = edit(data, &link.to_app_link(), |board| {
        let report = board_canvas::import(canvas, board, &images, random::bytes16, author, now)
            .map_err(|e| board_model::Error::Export(e.to_string()))?;
        // Importing is where the board starts: nothing to undo.
        board.clear_undo();
        Ok(report)
    })?;
    Ok((link, report))
}

/// What restoring a backup did.
#[derive(Debug)]
pub struct Restored {
    pub link: ShareLink,
    /// Whether the board was here already (its changes were merged in).
    pub merged: bool,
    pub cards: usize,
    pub images: usize,
    /// Image entries whose bytes were not what their names said.
    pub bad_images: usize,
}

/// Whether `file` is a `.corkboard` backup.
pub fn is_backup(file: &Path) -> bool {
    let mut head = [0u8; 64];
    let read =
        std::fs::File::open(file).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).unwrap_or(0);
    board_archive::backup::looks_like_backup(&head[..read])
}

/// `import --file BACKUP.corkboard`: the board with its history and images;
/// merged into the copy here if there is one (as a peer's changes are).
pub fn import_backup(data: &DataDir, file: &Path) -> Result<Restored, CommandError> {
    let path = file.display().to_string();
    let file_error = |reason: String| CommandError::File { path: path.clone(), reason };
    let bytes = std::fs::read(file).map_err(|e| file_error(e.to_string()))?;
    let backup =
        board_archive::backup::read(&bytes, random::replica()).map_err(|e| file_error(e.to_string()))?;
    let mut blobs = data.blobs();
    for (hash, bytes) in &backup.images {
        if !blobs.contains(hash) {
            blob::insert(&mut blobs, bytes.clone()).map_err(|e| CommandError::Invalid(e.to_string()))?;
        }
    }
    let link = backup.link.clone();
    let here = data.boards()?.iter().any(|listed| listed.link.board == link.board);
    let cards = if here {
        edit(data, &link.to_app_link(), |board| {
            board.import_updates(&backup.history).map_err(|e| board_model::Error::Export(e.to_string()))?;
            Ok(board.card_count())
        })?
    } else {
        data.create(&link, &backup.board)?;
        backup.board.card_count()
    };
    Ok(Restored { link, merged: here, cards, images: backup.images.len(), bad_images: backup.bad_images })
}

/// `export --format corkboard --out FILE`: the board's backup.
pub fn export_backup(data: &DataDir, link: &str, out: &Path) -> Result<(), CommandError> {
    let parsed = parse_link(link)?;
    let board = data.read_board(&parsed.board, random::replica())?;
    let blobs = data.blobs();
    let zip = board_archive::backup::write(&board, &parsed, &|hash| blobs.get(hash).ok())
        .map_err(|e| CommandError::Invalid(e.to_string()))?;
    crate::storage::write_atomically(out, &zip, false)?;
    Ok(())
}

/// `export --format svg|png --out FILE`: the whole board as a picture
/// (PNG at two pixels per board unit, as a high-density screen shows it).
pub fn export_picture(data: &DataDir, link: &str, out: &Path, png: bool) -> Result<(), CommandError> {
    let parsed = parse_link(link)?;
    let board = data.read_board(&parsed.board, random::replica())?;
    let blobs = data.blobs();
    let picture = board_picture::svg(&board, None, &|hash| blobs.get(hash).ok());
    let bytes = if png {
        board_picture::png::png(&picture.svg, 2.0).map_err(|e| CommandError::Invalid(e.to_string()))?
    } else {
        picture.svg.into_bytes()
    };
    crate::storage::write_atomically(out, &bytes, false)?;
    Ok(())
}

/// `export --format canvas --out DIR`: writes `DIR/board.canvas` and the
/// images it names beside it; returns the canvas's path.
pub fn export_canvas(data: &DataDir, link: &str, out: &Path) -> Result<std::path::PathBuf, CommandError> {
    let parsed = parse_link(link)?;
    let board = data.read_board(&parsed.board, random::replica())?;
    let exported = board_canvas::export(&board);
    let out_error = |path: &Path, e: std::io::Error| CommandError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(out).map_err(|e| out_error(out, e))?;
    let blobs = data.blobs();
    for (relative, hash) in &exported.files {
        // An image this peer has not received yet is left out (its node
        // still names it).
        let Ok(bytes) = blobs.get(hash) else { continue };
        let target = out.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| out_error(parent, e))?;
        }
        crate::storage::write_atomically(&target, &bytes, false)?;
    }
    let canvas = out.join("board.canvas");
    crate::storage::write_atomically(&canvas, exported.json.as_bytes(), false)?;
    Ok(canvas)
}

/// `show --json [--at TIME]`: the board as JSON with a stable key order,
/// as it is or as it was at `at` (seconds since the Unix epoch).
pub fn show(data: &DataDir, link: &str, at: Option<i64>) -> Result<Value, CommandError> {
    let link = parse_link(link)?;
    let board = data.read_board(&link.board, random::replica())?;
    match at {
        None => Ok(board_json(&link, &board)),
        Some(at) => {
            let past = board
                .at(&board.history().version_at(at))
                .map_err(|e| CommandError::Invalid(e.to_string()))?;
            Ok(board_json(&link, &past))
        }
    }
}

/// `history`: the board's sessions of work, oldest first: when (RFC 3339,
/// and seconds since the epoch; 0 where the board did not record times
/// yet), who, how many changes and cards.
pub fn history(data: &DataDir, link: &str) -> Result<Value, CommandError> {
    let link = parse_link(link)?;
    let board = data.read_board(&link.board, random::replica())?;
    let history = board.history();
    let sessions = board.sessions(&history);
    Ok(json!({
        "board": link.board.to_string(),
        "trimmed": history.trimmed(),
        "changes": history.changes().len(),
        "sessions": sessions.iter().map(|s| json!({
            "from": rfc3339(s.from),
            "to": rfc3339(s.to),
            "from_secs": s.from,
            "to_secs": s.to,
            "authors": s.authors,
            "changes": s.changes,
            "cards": s.cards,
        })).collect::<Vec<_>>(),
    }))
}

/// A time as RFC 3339 in UTC; `None` for "not recorded" (0).
pub fn rfc3339(secs: i64) -> Option<String> {
    if secs <= 0 {
        return None;
    }
    let time = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    time.format(&time::format_description::well_known::Rfc3339).ok()
}

/// A time as the CLI takes it: RFC 3339 (`2026-12-07T09:00:00Z`, any
/// offset) or seconds since the Unix epoch.
pub fn parse_time(text: &str) -> Result<i64, CommandError> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| {
            CommandError::Invalid(format!(
                "{text:?} is not a time (RFC 3339 like 2026-12-07T09:00:00Z, or seconds since the epoch): {e}"
            ))
        })
}

/// The JSON form of a board: two replicas with the same state print the same.
pub fn board_json(link: &ShareLink, board: &Board) -> Value {
    json!({
        "board": link.board.to_string(),
        "title": board.title(),
        "background": board.background().map(|c| c.to_string()),
        "cards": board.cards().iter().map(card_json).collect::<Vec<_>>(),
        "edges": board.edges().iter().map(edge_json).collect::<Vec<_>>(),
    })
}

/// An edge, in id order in `edges`; sides `null` when automatic.
fn edge_json(edge: &Edge) -> Value {
    json!({
        "id": edge.id.to_string(),
        "from": edge.from.card.to_string(),
        "to": edge.to.card.to_string(),
        "from_side": edge.from.side.map(|side| side.as_str()),
        "to_side": edge.to.side.map(|side| side.as_str()),
        "from_end": edge.from.end.as_str(),
        "to_end": edge.to.end.as_str(),
        "color": edge.color.as_ref().map(ToString::to_string),
        "label": edge.label,
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
        Content::Group { label } => json!({ "label": label }),
        Content::Board { link } => json!({ "link": link }),
        Content::File { path } => json!({ "path": path }),
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
