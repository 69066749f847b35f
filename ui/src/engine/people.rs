//! Other people on the board, as the room reports them: their names and
//! colours for the title bar, their cursors, and the cards they select or
//! drag, outlined and moved live on this page.

use std::collections::{BTreeMap, HashMap};

use board_model::presence::{self, Identity};
use board_model::{CardId, Point};
use leptos::prelude::*;

use super::Engine;
use crate::view_model::{CardView, CursorView, Person};

#[derive(Debug, Default)]
pub(super) struct People {
    identities: BTreeMap<u64, Identity>,
    presence: BTreeMap<u64, presence::State>,
    /// Cards others are dragging: (peer, position).
    drags: HashMap<CardId, (u64, Point)>,
    selections: BTreeMap<u64, Vec<CardId>>,
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
    pub(super) fn person_joined(&mut self, peer: u64, identity: Identity) {
        self.people.identities.insert(peer, identity);
        self.refresh_people();
        self.refresh_cursors();
    }

    pub(super) fn person_left(&mut self, peer: u64) {
        self.people.identities.remove(&peer);
        self.apply_remote_presence(peer, presence::State::default());
        self.people.presence.remove(&peer);
        self.refresh_people();
        self.refresh_cursors();
    }

    /// Another person's presence: their cursor, selection and live drags.
    pub(super) fn apply_remote_presence(&mut self, peer: u64, state: presence::State) {
        // Cards this peer keeps dragging only move: their signals change
        // directly (the hot path of live motion), without reading the board.
        let mut moved_only: Vec<(CardId, Point)> = Vec::new();
        let mut touched: Vec<CardId> = Vec::new();
        let before: Vec<CardId> =
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
                    touched.push(*id);
                }
            }
        }
        touched.extend(before.into_iter().filter(|id| !self.people.drags.contains_key(id)));
        let old = self.people.selections.remove(&peer).unwrap_or_default();
        if old != state.selection {
            touched.extend(old);
            touched.extend(state.selection.iter().copied());
        }
        if !state.selection.is_empty() {
            self.people.selections.insert(peer, state.selection.clone());
        }
        for (id, at) in moved_only {
            if touched.contains(&id) {
                continue;
            }
            if let Some(signal) = self.cards.get(&id) {
                signal.update(|v| {
                    v.x = at.x;
                    v.y = at.y;
                });
            }
        }
        touched.sort();
        touched.dedup();
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
        }];
        let mut others: Vec<Person> = self
            .people
            .identities
            .iter()
            .map(|(peer, i)| Person { peer: *peer, name: i.name.clone(), color: i.color.clone(), me: false })
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
