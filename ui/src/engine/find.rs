//! Find on board: which cards and edges hold a text (note text, link titles
//! and addresses, image file names, group labels, file paths, edge labels),
//! in reading order (top to bottom, then left to right), and where each is,
//! so the view can take the user to it.

use board_model::{CardId, Content, EdgeId};

use super::Engine;

/// One place the text was found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Found {
    Card(CardId),
    Edge(EdgeId),
}

impl Engine {
    /// Every card and edge holding `query` (ignoring case), in reading
    /// order, with the board rectangle `(x0, y0, x1, y1)` to show for each.
    pub fn find(&self, query: &str) -> Vec<(Found, (f64, f64, f64, f64))> {
        let query = query.trim().to_lowercase();
        if query.is_empty() {
            return Vec::new();
        }
        let holds = |text: &str| text.to_lowercase().contains(&query);
        let cards = self.board.cards();
        let rect_of = |id: CardId| {
            cards.iter().find(|card| card.id == id).map(|card| {
                let (x, y) = (card.position.x, card.position.y);
                (x, y, x + card.size.width, y + card.size.height)
            })
        };
        let mut found: Vec<(Found, (f64, f64, f64, f64))> = cards
            .iter()
            .filter(|card| match &card.content {
                Content::Note { text } => holds(text),
                Content::Link { url, title } => holds(url) || holds(title),
                Content::Image(image) => holds(&image.file_name),
                Content::Group { label } => holds(label),
                Content::File { path } => holds(path),
                Content::Board { .. } => false,
            })
            .filter_map(|card| Some((Found::Card(card.id), rect_of(card.id)?)))
            .collect();
        for edge in self.board.edges().into_iter().filter(|edge| holds(&edge.label)) {
            if let (Some(a), Some(b)) = (rect_of(edge.from.card), rect_of(edge.to.card)) {
                let rect = (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3));
                found.push((Found::Edge(edge.id), rect));
            }
        }
        found.sort_by(|(_, a), (_, b)| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
        found
    }

    /// Shows one match: the card selected, or the edge.
    pub fn show_found(&mut self, found: Found) {
        match found {
            Found::Card(id) => self.select_only(Some(id)),
            Found::Edge(id) => self.select_edge(Some(id)),
        }
    }
}
