//! Edges and groups as the user works with them: drawing an edge from a
//! card's side to another card, selecting an edge to restyle, relabel or
//! delete it, making a group around the selection; and the edge list the
//! view draws, rebuilt when edges or their cards come and go (an edge
//! follows its cards' signals while anyone drags them).

use std::collections::HashSet;

use board_model::{CardId, Color, Content, EdgeChange, EdgeId, End, Kind, NewEdge, Point, Side, Size};
use leptos::prelude::*;

use super::Engine;
use crate::platform::random_bytes;
use crate::view_model::EdgeView;

/// Room left around the selection by a group made around it.
const GROUP_MARGIN: f64 = 40.0;

impl Engine {
    /// Rebuilds the drawn edge list from the board.
    pub(super) fn refresh_edges(&mut self) {
        if self.viewing_history() {
            return;
        }
        let edges = self.board.edges();
        self.show_edges(edges);
    }

    /// Draws these edges (the board's, or a past version's).
    pub(super) fn show_edges(&mut self, edges: Vec<board_model::Edge>) {
        let edges: Vec<EdgeView> = edges
            .into_iter()
            .map(|edge| EdgeView {
                id: edge.id,
                from: edge.from.card,
                to: edge.to.card,
                from_side: edge.from.side,
                to_side: edge.to.side,
                from_end: edge.from.end,
                to_end: edge.to.end,
                color: edge.color.as_ref().map(edge_colour),
                label: edge.label,
                epoch: self.card_epoch(edge.from.card) + self.card_epoch(edge.to.card),
            })
            .collect();
        if self.signals.edges.with_untracked(|old| *old != edges) {
            self.signals.edges.set(edges);
        }
        if let Some(selected) = self.signals.selected_edge.get_untracked()
            && !self.signals.edges.with_untracked(|shown| shown.iter().any(|e| e.id == selected))
        {
            self.signals.selected_edge.set(None);
        }
    }

    /// How many times a card's signal was made anew (an undone delete):
    /// edges drawn from the old signal are drawn again.
    fn card_epoch(&self, id: CardId) -> u64 {
        self.card_epochs.get(&id).copied().unwrap_or(0)
    }

    /// Draws an edge from `from`'s `side` to `to` (the side facing `from`).
    pub fn connect(&mut self, from: CardId, side: Option<Side>, to: CardId) -> Option<EdgeId> {
        if !self.writable() || from == to {
            return None;
        }
        let mut edge =
            NewEdge::between(EdgeId::from_random_bytes(random_bytes(&*self.platform.clock)), from, to);
        edge.from.side = side;
        edge.created_by = self.profile.name.clone();
        edge.created_at = self.now() as i64;
        let id = edge.id;
        let result = self.board.add_edge(edge);
        let ok = result.is_ok();
        self.report(result);
        self.after_change();
        ok.then(|| {
            self.select_edge(Some(id));
            id
        })
    }

    /// Selects an edge (and no card), or none.
    pub fn select_edge(&mut self, id: Option<EdgeId>) {
        if id.is_some() {
            self.select_only(None);
        }
        if self.signals.selected_edge.get_untracked() != id {
            self.signals.selected_edge.set(id);
        }
    }

    pub fn selected_edge(&self) -> Option<EdgeId> {
        self.signals.selected_edge.get_untracked()
    }

    pub fn delete_selected_edge(&mut self) -> bool {
        let Some(id) = self.selected_edge() else { return false };
        if !self.writable() {
            return true;
        }
        let result = self.board.delete_edges(&[id]);
        self.report(result);
        self.after_change();
        true
    }

    pub fn set_selected_edge_color(&mut self, color: Option<Color>) {
        let Some(id) = self.selected_edge().filter(|_| self.writable()) else { return };
        let result = self.board.set_edge_color(&[id], color);
        self.report(result);
        self.after_change();
    }

    /// Turns the arrowhead at one end of the selected edge on or off.
    pub fn toggle_selected_edge_end(&mut self, at_start: bool) {
        let Some(id) = self.selected_edge().filter(|_| self.writable()) else { return };
        let Some(edge) = self.board.edge(id) else { return };
        let flip = |end: End| if end == End::Arrow { End::None } else { End::Arrow };
        let change = if at_start {
            EdgeChange { from_end: Some(flip(edge.from.end)), ..EdgeChange::default() }
        } else {
            EdgeChange { to_end: Some(flip(edge.to.end)), ..EdgeChange::default() }
        };
        let result = self.board.change_edge(id, &change);
        self.report(result);
        self.after_change();
    }

    pub fn set_edge_label(&mut self, id: EdgeId, label: &str) {
        if !self.writable() {
            return;
        }
        let result = self.board.set_edge_label(id, label);
        self.report(result);
        self.after_change();
    }

    /// The label of an edge, as the board holds it.
    pub fn edge_label(&self, id: EdgeId) -> Option<String> {
        self.board.edge(id).map(|edge| edge.label)
    }

    /// A group framing the selected cards (or an empty one in the middle of
    /// the view); selected. One undo step.
    pub fn group_selection(&mut self) -> Option<CardId> {
        if !self.writable() {
            return None;
        }
        let cards: Vec<_> = self.selection.iter().filter_map(|id| self.board.card(*id)).collect();
        let (at, size) = if cards.is_empty() {
            let size = Kind::Group.default_size();
            let center = self.view_center();
            (Point { x: center.x - size.width / 2.0, y: center.y - size.height / 2.0 }, size)
        } else {
            let left = cards.iter().map(|c| c.position.x).fold(f64::INFINITY, f64::min) - GROUP_MARGIN;
            let top = cards.iter().map(|c| c.position.y).fold(f64::INFINITY, f64::min) - GROUP_MARGIN;
            let right = cards.iter().map(|c| c.position.x + c.size.width).fold(f64::NEG_INFINITY, f64::max)
                + GROUP_MARGIN;
            let bottom = cards.iter().map(|c| c.position.y + c.size.height).fold(f64::NEG_INFINITY, f64::max)
                + GROUP_MARGIN;
            (Point { x: left, y: top }, Size { width: right - left, height: bottom - top })
        };
        let card = self.new_card(Content::Group { label: String::new() }, at, Some(size));
        self.add_and_select(card)
    }

    pub fn set_group_label(&mut self, id: CardId, label: &str) {
        if !self.writable() {
            return;
        }
        let result = self.board.set_group_label(id, label);
        self.report(result);
        self.after_change();
    }

    /// The cards a drag of `ids` moves: them, and every card inside a
    /// group among them.
    pub(super) fn with_group_members(&self, ids: &[CardId]) -> Vec<CardId> {
        let mut all: Vec<CardId> = ids.to_vec();
        let mut seen: HashSet<CardId> = ids.iter().copied().collect();
        for id in ids {
            if self.board.card(*id).is_some_and(|card| card.kind() == Kind::Group) {
                for member in self.board.members_of(*id) {
                    if seen.insert(member) {
                        all.push(member);
                    }
                }
            }
        }
        all
    }
}

/// An edge's colour as drawn: the presets a little stronger than as card
/// backgrounds, so a thin line stays visible.
fn edge_colour(color: &Color) -> String {
    board_picture::palette::line(color)
}

impl Engine {
    /// Adds a JSON Canvas file's nodes and edges to this board, centred on
    /// `at`, as one undo step; selects what came in. Image files
    /// a canvas names travel beside it and are not in a single file: those
    /// nodes become file cards keeping their path (said in a message).
    pub fn import_canvas(&mut self, bytes: &[u8], name: &str, at: Point) {
        if !self.writable() {
            return;
        }
        let mut canvas = match board_canvas::Canvas::parse(bytes) {
            Ok(canvas) => canvas,
            Err(error) => {
                crate::notify::error(&format!("“{name}” can't be imported: {error}"));
                return;
            }
        };
        centre_on(&mut canvas, at);
        self.import_canvas_nodes(&canvas, &std::collections::HashMap::new(), name);
    }

    /// Adds a canvas's nodes (images from `images`: path → kept image) and
    /// edges where they are, as one undo step; says what came in and
    /// selects it.
    pub(super) fn import_canvas_nodes(
        &mut self,
        canvas: &board_canvas::Canvas,
        images: &std::collections::HashMap<String, board_model::ImageRef>,
        name: &str,
    ) {
        let before: HashSet<CardId> = self.board.stack_order().into_iter().collect();
        let clock = self.platform.clock.clone();
        let (author, now) = (self.profile.name.clone(), self.now() as i64);
        let grouped = self.board.begin_undo_group().is_ok();
        let result =
            board_canvas::import(canvas, &mut self.board, images, || random_bytes(&*clock), &author, now);
        if grouped {
            self.board.end_undo_group();
        }
        match result {
            Ok(report) => {
                let mut said = format!(
                    "Imported {} and {} from “{name}”",
                    super::files::plural(report.cards, "card", "cards"),
                    super::files::plural(report.edges, "edge", "edges")
                );
                if report.skipped > 0 {
                    said.push_str(&format!("; {} entries could not be used", report.skipped));
                }
                if !report.missing_images.is_empty() {
                    let n = report.missing_images.len();
                    said.push_str(&if n == 1 {
                        "; 1 image is not in the file (kept as a file card with its path)".to_owned()
                    } else {
                        format!("; {n} images are not in the file (kept as file cards with their paths)")
                    });
                }
                crate::notify::info(&format!("{said}."));
            }
            Err(error) => crate::notify::error(&format!("“{name}” can't be imported: {error}")),
        }
        self.after_change();
        let new: HashSet<CardId> =
            self.board.stack_order().into_iter().filter(|id| !before.contains(id)).collect();
        self.set_selection(new);
    }
}

/// Moves a canvas's nodes so their middle is at `at`.
pub(super) fn centre_on(canvas: &mut board_canvas::Canvas, at: Point) {
    let left = canvas.nodes.iter().map(|n| n.x).fold(f64::INFINITY, f64::min);
    let top = canvas.nodes.iter().map(|n| n.y).fold(f64::INFINITY, f64::min);
    let right = canvas.nodes.iter().map(|n| n.x + n.width.unwrap_or(0.0)).fold(f64::NEG_INFINITY, f64::max);
    let bottom = canvas.nodes.iter().map(|n| n.y + n.height.unwrap_or(0.0)).fold(f64::NEG_INFINITY, f64::max);
    if [left, top, right, bottom].iter().all(|v| v.is_finite()) {
        let (dx, dy) = (at.x - (left + right) / 2.0, at.y - (top + bottom) / 2.0);
        for node in &mut canvas.nodes {
            node.x += dx;
            node.y += dy;
        }
    }
}
