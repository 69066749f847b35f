//! What the board view draws, as signals: one signal per card (so a drag
//! re-renders only the cards that move), the z-ordered list of card ids,
//! and the people, cursors and status around them. Nothing here knows the
//! document; the engine fills these from the board's change events.

use board_model::{Card, CardId, Color, Content, EdgeId, End, Kind, Side};
use leptos::prelude::*;

/// One card as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct CardView {
    pub id: CardId,
    pub kind: Kind,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// CSS background colour, when the card has one.
    pub color: Option<String>,
    pub text: String,
    /// A link's address, a pinned board's share link, a file card's path.
    pub url: String,
    /// A link's title, a group's label.
    pub link_title: String,
    pub image: Option<ImageView>,
    pub selected: bool,
    /// Being dragged here right now (drawn on its own layer: no repaint of others).
    pub dragging: bool,
    /// The colour of another person who has this card selected.
    pub remote_selected: Option<String>,
    /// The colour of another person dragging this card right now.
    pub remote_drag: Option<String>,
}

/// One edge as drawn (its ends follow the two cards' signals).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EdgeView {
    pub id: EdgeId,
    pub from: CardId,
    pub to: CardId,
    pub from_side: Option<Side>,
    pub to_side: Option<Side>,
    pub from_end: End,
    pub to_end: End,
    /// CSS colour of the line, when it has one.
    pub color: Option<String>,
    pub label: String,
    /// Changes when one of the cards' signals was made anew.
    pub epoch: u64,
}

/// A card in the z-ordered list the board draws.
#[derive(Clone, Debug, PartialEq)]
pub struct CardEntry {
    pub id: CardId,
    pub signal: ArcRwSignal<CardView>,
}

/// An image card's picture and transfer state.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageView {
    pub hash: String,
    pub file_name: String,
    pub natural_width: u32,
    pub natural_height: u32,
    /// An object URL of the verified bytes, once they are here.
    pub src: Option<String>,
    /// Fraction received while the image travels from a peer.
    pub progress: Option<f64>,
}

impl CardView {
    pub fn from_card(card: &Card) -> CardView {
        let (text, url, link_title, image) = match &card.content {
            Content::Note { text } => (text.clone(), String::new(), String::new(), None),
            Content::Link { url, title } => (String::new(), url.clone(), title.clone(), None),
            Content::Group { label } => (String::new(), String::new(), label.clone(), None),
            Content::Board { link } => (String::new(), link.clone(), String::new(), None),
            Content::File { path } => (String::new(), path.clone(), String::new(), None),
            Content::Image(image) => (
                String::new(),
                String::new(),
                String::new(),
                Some(ImageView {
                    hash: image.hash.to_hex(),
                    file_name: image.file_name.clone(),
                    natural_width: image.natural_width,
                    natural_height: image.natural_height,
                    src: None,
                    progress: None,
                }),
            ),
        };
        CardView {
            id: card.id,
            kind: card.kind(),
            x: card.position.x,
            y: card.position.y,
            w: card.size.width,
            h: card.size.height,
            color: card.color.as_ref().map(css_colour),
            text,
            url,
            link_title,
            image,
            selected: false,
            dragging: false,
            remote_selected: None,
            remote_drag: None,
        }
    }

    /// What assistive technology says of the card: its kind and its first
    /// words ("Note: Groceries", "Link: Tickets (https://…)").
    pub fn spoken(&self) -> String {
        let first_line = |text: &str| -> String {
            let line = text
                .lines()
                .map(|l| l.trim_start_matches(['#', '-', '*', '>', ' ']))
                .find(|l| !l.trim().is_empty());
            line.unwrap_or("").chars().take(80).collect()
        };
        match self.kind {
            Kind::Note => match first_line(&self.text) {
                line if line.is_empty() => "Empty note".to_owned(),
                line => format!("Note: {line}"),
            },
            Kind::Link if self.link_title.is_empty() => format!("Link: {}", self.url),
            Kind::Link => format!("Link: {} ({})", self.link_title, self.url),
            Kind::Image => format!("Image: {}", self.image.as_ref().map_or("", |i| i.file_name.as_str())),
            Kind::Group => format!("Group: {}", self.link_title),
            Kind::Board => "Pinned board".to_owned(),
            Kind::File => format!("File: {}", self.url),
        }
    }
}

/// The six JSON Canvas presets as soft card colours.
pub use board_picture::palette::PRESETS;

/// Board background colours offered in the board menu.
pub const BACKGROUNDS: [(&str, &str); 6] = [
    ("Paper", "#f4f1ea"),
    ("Cork", "#e8d5b5"),
    ("Mist", "#e9eef3"),
    ("Sage", "#e3ebe0"),
    ("Blush", "#f3e6e8"),
    ("Night", "#2b2d31"),
];

/// A card's CSS background colour (the export draws with the same palette).
pub fn css_colour(color: &Color) -> String {
    board_picture::palette::fill(color)
}

/// The connection status shown in the title bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// The user chose to work offline.
    Offline,
    /// Reaching the signaling server.
    Connecting,
    /// Reachable; this many peers connected.
    Online { peers: usize },
    /// The signaling server is unreachable; retrying.
    Unreachable,
}

impl Status {
    pub fn label(&self) -> String {
        match self {
            Status::Offline => "Offline · 0 peers".into(),
            Status::Connecting => "Connecting… · 0 peers".into(),
            Status::Unreachable => "Can't reach the server · 0 peers".into(),
            Status::Online { peers: 0 } => "Online · 0 peers".into(),
            Status::Online { peers: 1 } => "Online · 1 peer".into(),
            Status::Online { peers } => format!("Online · {peers} peers"),
        }
    }

    pub fn class(&self) -> &'static str {
        match self {
            Status::Offline => "status offline",
            Status::Connecting => "status connecting",
            Status::Unreachable => "status unreachable",
            Status::Online { peers: 0 } => "status online alone",
            Status::Online { .. } => "status online",
        }
    }
}

/// Someone on the board (including this user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub peer: u64,
    pub name: String,
    pub color: String,
    pub me: bool,
    /// How this page reaches them, when connected to them directly.
    pub path: Option<board_room::Path>,
}

/// Another person's pointer, in board coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct CursorView {
    pub peer: u64,
    pub name: String,
    pub color: String,
    pub x: f64,
    pub y: f64,
}

/// The pan and zoom of the board view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    pub x: f64,
    pub y: f64,
    pub zoom: f64,
}

impl Default for Camera {
    fn default() -> Self {
        Camera { x: 0.0, y: 0.0, zoom: 1.0 }
    }
}

pub const MIN_ZOOM: f64 = 0.1;
pub const MAX_ZOOM: f64 = 4.0;

impl Camera {
    /// Board coordinates of a point on the board element (relative to its top-left).
    pub fn to_board(self, sx: f64, sy: f64) -> (f64, f64) {
        ((sx - self.x) / self.zoom, (sy - self.y) / self.zoom)
    }

    /// Zooms to `zoom`, keeping the board point under (sx, sy) where it is.
    pub fn zoom_around(&self, zoom: f64, sx: f64, sy: f64) -> Camera {
        let zoom = zoom.clamp(MIN_ZOOM, MAX_ZOOM);
        let (bx, by) = self.to_board(sx, sy);
        Camera { x: sx - bx * zoom, y: sy - by * zoom, zoom }
    }
}

/// The part of the board that is drawn (board coordinates): what the view
/// shows and half a view more on every side, so a card is drawn before it
/// comes into view. Cards outside it are not in the page at all: a big
/// board costs per frame what its visible part costs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Region {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Region {
    /// The whole plane (before the view has measured itself).
    pub const EVERYWHERE: Region = Region {
        left: f64::NEG_INFINITY,
        top: f64::NEG_INFINITY,
        right: f64::INFINITY,
        bottom: f64::INFINITY,
    };

    /// Whether the rectangle at (x, y) of `w` × `h` overlaps the region.
    pub fn meets(&self, x: f64, y: f64, w: f64, h: f64) -> bool {
        x <= self.right && x + w >= self.left && y <= self.bottom && y + h >= self.top
    }
}

impl Camera {
    /// The region drawn around a view of `width` × `height` screen pixels.
    pub fn drawn_region(self, width: f64, height: f64) -> Region {
        let (left, top) = self.to_board(0.0, 0.0);
        let (right, bottom) = self.to_board(width, height);
        let (margin_x, margin_y) = ((right - left) / 2.0, (bottom - top) / 2.0);
        Region {
            left: left - margin_x,
            top: top - margin_y,
            right: right + margin_x,
            bottom: bottom + margin_y,
        }
    }
}

impl CardView {
    /// Whether the card is drawn for this region: when it meets it, and
    /// always while it is selected or dragged (its element keeps the focus
    /// and the gesture wherever the view goes).
    pub fn drawn_in(&self, region: &Region) -> bool {
        self.selected || self.dragging || region.meets(self.x, self.y, self.w, self.h)
    }
}

/// The history view as drawn: a slider of `steps` changes at `step`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryView {
    pub steps: usize,
    /// How many changes the board shows (`steps`: now).
    pub step: usize,
    /// When the last change shown was made (seconds since the epoch; 0: unknown).
    pub at: i64,
    /// Older history was trimmed away.
    pub trimmed: bool,
    pub begins_at: Option<i64>,
    /// Oldest first.
    pub sessions: Vec<SessionView>,
}

/// A session of work in the history view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionView {
    pub from: i64,
    pub to: i64,
    pub authors: Vec<String>,
    pub changes: usize,
    pub cards: usize,
    /// The slider step at its end.
    pub end: usize,
}

/// The signals of the open board that are not per card.
#[derive(Clone, Copy, Debug)]
pub struct BoardSignals {
    /// Every card, bottom to top, with its signal (so drawing a card needs no lookup).
    pub order: RwSignal<Vec<CardEntry>>,
    /// Every edge whose two cards exist.
    pub edges: RwSignal<Vec<EdgeView>>,
    pub selected_edge: RwSignal<Option<EdgeId>>,
    /// An edge being drawn: from which card's side, to which board point.
    pub connecting: RwSignal<Option<(CardId, Side, board_model::Point)>>,
    pub title: RwSignal<String>,
    pub background: RwSignal<Option<String>>,
    pub status: RwSignal<Status>,
    pub people: RwSignal<Vec<Person>>,
    pub cursors: RwSignal<Vec<CursorView>>,
    pub selection_count: RwSignal<usize>,
    pub can_undo: RwSignal<bool>,
    pub can_redo: RwSignal<bool>,
    pub camera: RwSignal<Camera>,
    /// The board's size on screen, in CSS pixels.
    pub viewport: RwSignal<(f64, f64)>,
    /// The region the view draws now (it writes it; the engine reads it).
    pub drawn: StoredValue<Region>,
    /// Notified when a card went in or out of the drawn region (it moved,
    /// changed size, was selected or let go): what is drawn is worked out again.
    pub geometry: Trigger,
    pub working_offline: RwSignal<bool>,
    /// A peer holds changes this board lacks and is sending them (a join).
    pub receiving: RwSignal<bool>,
    /// A card to focus for typing once drawn (a new note).
    pub focus_request: RwSignal<Option<CardId>>,
    /// A group whose label is being renamed in place.
    pub renaming: RwSignal<Option<CardId>>,
    /// An edge whose label is being written in place.
    pub labelling: RwSignal<Option<EdgeId>>,
    /// A card's menu opened by a long press, and where (board-relative screen px).
    pub card_menu: RwSignal<Option<(CardId, (f64, f64))>>,
    /// The history view, while it is open (the board then shows the past).
    pub history: RwSignal<Option<HistoryView>>,
    /// The history view has made its segments: a jump anywhere is quick.
    pub history_ready: RwSignal<bool>,
    /// The board's history is being read for the history view.
    pub history_reading: RwSignal<bool>,
    /// True once the stored board was loaded.
    pub loaded: RwSignal<bool>,
    /// True when every change is in IndexedDB.
    pub saved: RwSignal<bool>,
    /// Why the board is open read-only (its saved copy could not be read).
    pub read_only: RwSignal<Option<String>>,
    /// Why the board was not opened at all (a link with the wrong key).
    pub refused: RwSignal<Option<String>>,
}

impl Default for BoardSignals {
    fn default() -> Self {
        BoardSignals::new()
    }
}

impl BoardSignals {
    pub fn new() -> BoardSignals {
        BoardSignals {
            order: RwSignal::new(Vec::new()),
            edges: RwSignal::new(Vec::new()),
            selected_edge: RwSignal::new(None),
            connecting: RwSignal::new(None),
            title: RwSignal::new(String::new()),
            background: RwSignal::new(None),
            status: RwSignal::new(Status::Connecting),
            people: RwSignal::new(Vec::new()),
            cursors: RwSignal::new(Vec::new()),
            selection_count: RwSignal::new(0),
            can_undo: RwSignal::new(false),
            can_redo: RwSignal::new(false),
            camera: RwSignal::new(Camera::default()),
            viewport: RwSignal::new((1280.0, 720.0)),
            drawn: StoredValue::new(Region::EVERYWHERE),
            geometry: Trigger::new(),
            working_offline: RwSignal::new(false),
            receiving: RwSignal::new(false),
            focus_request: RwSignal::new(None),
            renaming: RwSignal::new(None),
            labelling: RwSignal::new(None),
            card_menu: RwSignal::new(None),
            history: RwSignal::new(None),
            history_ready: RwSignal::new(false),
            history_reading: RwSignal::new(false),
            loaded: RwSignal::new(false),
            saved: RwSignal::new(true),
            read_only: RwSignal::new(None),
            refused: RwSignal::new(None),
        }
    }
}

/// Short messages for the user (errors and notices), shown as toasts.
#[derive(Clone, Copy, Debug)]
pub struct Toasts(pub RwSignal<Vec<(u64, String)>>);

impl Default for Toasts {
    fn default() -> Self {
        Toasts::new()
    }
}

impl Toasts {
    pub fn new() -> Toasts {
        Toasts(RwSignal::new(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note_at(x: f64, y: f64) -> CardView {
        CardView {
            id: CardId::from_random_bytes([1; 16]),
            kind: Kind::Note,
            x,
            y,
            w: 200.0,
            h: 150.0,
            color: None,
            text: String::new(),
            url: String::new(),
            link_title: String::new(),
            image: None,
            selected: false,
            dragging: false,
            remote_selected: None,
            remote_drag: None,
        }
    }

    #[test]
    fn the_drawn_region_is_the_view_and_half_a_view_around_it() {
        let region = Camera { x: -100.0, y: 0.0, zoom: 2.0 }.drawn_region(1000.0, 800.0);
        assert_eq!(region, Region { left: -200.0, top: -200.0, right: 800.0, bottom: 600.0 });
        assert!(note_at(790.0, 590.0).drawn_in(&region));
        assert!(note_at(-390.0, -340.0).drawn_in(&region), "a card reaching into the region is drawn");
        let mut far = note_at(5_000.0, 5_000.0);
        assert!(!far.drawn_in(&region));
        far.selected = true;
        assert!(far.drawn_in(&region), "a selected card is drawn wherever it is");
        far.selected = false;
        far.dragging = true;
        assert!(far.drawn_in(&region), "so is a dragged one");
        assert!(note_at(1e9, -1e9).drawn_in(&Region::EVERYWHERE));
    }
}
