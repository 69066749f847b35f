//! Fields another tool wrote that Corkboard does not use but keeps for it:
//! a JSON Canvas node's or edge's original id and unknown keys, so a board
//! imported from a `.canvas` file exports back unchanged where nobody
//! edited it. Stored as one bounded string per card or edge (`kept`), read
//! and written only by importers and exporters.

use super::Board;
use super::read::string_field;
use crate::card::CardId;
use crate::edge::EdgeId;
use crate::error::Error;

/// Longest kept-fields text, in bytes.
pub const MAX_KEPT_BYTES: usize = 16 * 1024;

impl Board {
    /// What an importer kept for a card, if anything (and within bounds).
    pub fn kept_fields(&self, id: CardId) -> Option<String> {
        string_field(&self.existing(id).ok()?, "kept").filter(|kept| kept.len() <= MAX_KEPT_BYTES)
    }

    /// What an importer kept for an edge.
    pub fn edge_kept_fields(&self, id: EdgeId) -> Option<String> {
        string_field(&self.existing_edge(id).ok()?, "kept").filter(|kept| kept.len() <= MAX_KEPT_BYTES)
    }

    /// Keeps `kept` with cards and edges (one undo step); an empty text
    /// forgets what was kept.
    pub fn set_kept_fields(
        &mut self,
        cards: &[(CardId, String)],
        edges: &[(EdgeId, String)],
    ) -> Result<(), Error> {
        for kept in cards.iter().map(|(_, kept)| kept).chain(edges.iter().map(|(_, kept)| kept)) {
            if kept.len() > MAX_KEPT_BYTES {
                return Err(Error::TooLong { what: "kept fields", max: MAX_KEPT_BYTES });
            }
        }
        let mut maps = Vec::with_capacity(cards.len() + edges.len());
        for (id, kept) in cards {
            maps.push((self.existing(*id)?, kept));
        }
        for (id, kept) in edges {
            maps.push((self.existing_edge(*id)?, kept));
        }
        for (map, kept) in &maps {
            if kept.is_empty() {
                map.delete("kept")?;
            } else {
                map.insert("kept", kept.as_str())?;
            }
        }
        if !maps.is_empty() {
            self.commit();
        }
        Ok(())
    }
}
