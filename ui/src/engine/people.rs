//! Other people on the board, as the room reports them: their names and
//! colours for the title bar, their cursors, and the cards they select or
//! drag, outlined and moved live on this page. Each presence costs what it
//! changed: only cards whose outline or place changed are refreshed.

use std::collections::{BTreeMap, HashMap, HashSet};

use board_model::presence::{self, Identity};
use board_model::{CardId, Point};
use leptos::prelude::*;

use board_room::Path;

use super::Engine;
use crate::view_model::{CardView, CursorView, Person};

#[derive(Debug, Default)]
pub(super) struct People {
    identities: BTreeMap<u64, Identity>,
    presence: BTreeMap<u64, presence::State>,
    /// Cards others are dragging: (peer, position).
    drags: HashMap<CardId, (u64, Point)>,
    selections: BTreeMap<u64, HashSet<CardId>>,
    /// How this device's packets reach each person, as the room said.
    paths: BTreeMap<u64, Path>,
}

impl People {
    /// Others' drags and selections on a card about to be drawn.
    pub fn decorate(&self, view: &mut CardView) {
        if let Some((peer, at)) = self.drags.get(&view.id) {
            view.x = at.x;
            view.y = at.y;
            view.remote_drag = self.identities.get(peer).map(|i| i.color.clone());
        }
        view.remote_selected = self
            .selections
            .iter()
            .find(|(_, ids)| ids.contains(&view.id))
            .and_then(|(peer, _)| self.identities.get(peer).map(|i| i.color.clone()));
    }
}

impl Engine {
    /// How this device's packets reach a person.
    pub(super) fn person_path(&mut self, peer: u64, path: Path) {
        self.people.paths.insert(peer, path);
        self.refresh_people();
    }

    pub(super) fn person_joined(&mut self, peer: u64, identity: Identity) {
        self.people.identities.insert(peer, identity);
        self.refresh_people();
        self.refresh_cursors();
    }

    pub(super) fn person_left(&mut self, peer: u64) {
        self.people.identities.remove(&peer);
        self.apply_remote_presence(peer, presence::State::default());
        self.people.presence.remove(&peer);
        self.people.paths.remove(&peer);
        self.refresh_people();
        self.refresh_cursors();
    }

    /// Another person's presence: their cursor, selection and live drags.
    pub(super) fn apply_remote_presence(&mut self, peer: u64, state: presence::State) {
        if crate::dom::tracing()
            && let Some((_, at)) = state.dragging.first()
        {
            crate::dom::trace("__corkboardPresence", at.x);
        }
        // Cards this peer keeps dragging only move: their signals change
        // directly (the hot path of live motion), without reading the board.
        let mut moved_only: Vec<(CardId, Point)> = Vec::new();
        let mut touched: HashSet<CardId> = HashSet::new();
        let before: HashSet<CardId> =
            self.people.drags.iter().filter(|(_, (p, _))| *p == peer).map(|(id, _)| *id).collect();
        for id in &before {
            self.people.drags.remove(id);
        }
        for (id, at) in &state.dragging {
            if self.cards.contains_key(id) && at.x.is_finite() && at.y.is_finite() {
                self.people.drags.insert(*id, (peer, *at));
                if before.contains(id) {
                    moved_only.push((*id, *at));
                } else {
                    touched.insert(*id);
                }
            }
        }
        touched.extend(before.into_iter().filter(|id| !self.people.drags.contains_key(id)));
        // Only cards that entered or left the selection change their outline.
        let old = self.people.selections.remove(&peer).unwrap_or_default();
        let new: HashSet<CardId> = state.selection.iter().copied().collect();
        touched.extend(old.symmetric_difference(&new).copied());
        if !new.is_empty() {
            self.people.selections.insert(peer, new);
        }
        for (id, at) in moved_only {
            if touched.contains(&id) {
                continue;
            }
            self.update_card(id, |v| {
                v.x = at.x;
                v.y = at.y;
            });
        }
        let mut touched: Vec<CardId> = touched.into_iter().collect();
        touched.sort();
        for id in touched {
            self.refresh_card(id);
        }
        let cursor_moved = self.people.presence.get(&peer).map(|s| s.cursor) != Some(state.cursor);
        self.people.presence.insert(peer, state);
        if cursor_moved {
            self.refresh_cursors();
        }
    }

    fn refresh_cursors(&mut self) {
        let cursors: Vec<CursorView> = self
            .people
            .presence
            .iter()
            .filter_map(|(peer, state)| {
                let at = state.cursor?;
                let identity = self.people.identities.get(peer)?;
                Some(CursorView {
                    peer: *peer,
                    name: identity.name.clone(),
                    color: identity.color.clone(),
                    x: at.x,
                    y: at.y,
                })
            })
            .collect();
        self.signals.cursors.set(cursors);
    }

    /// This user first, then everyone else by name.
    pub fn refresh_people(&mut self) {
        let mut people = vec![Person {
            peer: self.board.replica().0,
            name: self.profile.name.clone(),
            color: self.profile.color.clone(),
            me: true,
            path: None,
        }];
        let mut others: Vec<Person> = self
            .people
            .identities
            .iter()
            .map(|(peer, i)| Person {
                peer: *peer,
                name: i.name.clone(),
                color: i.color.clone(),
                me: false,
                path: self.people.paths.get(peer).copied(),
            })
            .collect();
        others.sort_by(|a, b| a.name.cmp(&b.name));
        people.extend(others);
        self.signals.people.set(people);
    }

    /// Who a person is, as last heard.
    pub fn identity_of(&self, peer: u64) -> Option<&Identity> {
        self.people.identities.get(&peer)
    }
}
