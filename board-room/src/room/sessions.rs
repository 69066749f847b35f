//! Sessions on links: frames in, what each session reports acted on, time
//! passing (timeouts, closing links, retries, presence expiry), and what an
//! app link is shown of everyone else.

use board_model::blob;
use board_model::session::{self, Event as SessionEvent, Remote};
use board_model::{Board, Session};

use super::Room;
use crate::io::{Cause, Event, Output};
use crate::link::{Kind, Link, LinkId, Phase};
use crate::people::Audience;
use crate::{CONNECT_TIMEOUT_MS, EARLY_FRAMES, Path};

impl Room {
    pub(super) fn start_session(
        &mut self,
        id: LinkId,
        config: session::Config,
        board: &mut Board,
        blobs: &mut dyn blob::Store,
        now: u64,
    ) {
        let Some(link) = self.links.get_mut(&id) else { return };
        let mut session = Session::new(config);
        if link.kind != Kind::App
            && let Some(state) = self.own_presence.clone()
        {
            session.set_presence(state);
        }
        link.session = Some(session);
        link.phase = Phase::Open;
        let early = std::mem::take(&mut link.early);
        for frame in early {
            self.on_frame(id, &frame, board, blobs, now);
        }
    }

    pub(super) fn on_frame(
        &mut self,
        id: LinkId,
        frame: &[u8],
        board: &mut Board,
        blobs: &mut dyn blob::Store,
        now: u64,
    ) {
        let Some(link) = self.links.get_mut(&id) else { return };
        if link.is_closing() {
            // It failed or said goodbye; what was sent after is not read.
            return;
        }
        let Some(session) = link.session.as_mut() else {
            // The remote was quicker to set up its side: keep its hello.
            if link.early.len() < EARLY_FRAMES {
                link.early.push(frame.to_vec());
            } else {
                self.end(id, Cause::Lost("too many frames before the session started".into()), now);
            }
            return;
        };
        if session.is_closed() {
            return;
        }
        // A dependency that panics on one peer's bytes (the document's
        // decoder, a store) ends that peer's link, never the whole program.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            session.receive(frame, board, blobs, now)
        }))
        .unwrap_or_else(|panic| Err(session::Error::Internal(panic_message(panic.as_ref()))));
        let buffered = session.buffered_bytes();
        self.drain_session(id, board, blobs, now);
        if let Err(error) = result {
            self.end(id, Cause::Failed(error), now);
        } else if buffered > 0 {
            self.hold_reassembly_budget(now);
        }
    }

    /// Keeps the bytes all sessions hold of unfinished messages within the
    /// budget: the link holding the most is cut off until it fits.
    fn hold_reassembly_budget(&mut self, now: u64) {
        loop {
            let held = self.links.iter().filter_map(|(id, link)| {
                link.session.as_ref().map(|session| (*id, session.buffered_bytes()))
            });
            let (total, largest) = held.fold((0usize, None), |(total, largest), (id, bytes)| {
                let largest = match largest {
                    Some((_, most)) if most >= bytes => largest,
                    _ => Some((id, bytes)),
                };
                (total + bytes, largest)
            });
            let Some((id, bytes)) = largest.filter(|_| total > self.config.reassembly_budget) else {
                return;
            };
            let error = session::Error::OverMemoryBudget(bytes);
            if let Some(session) = self.links.get_mut(&id).and_then(|link| link.session.as_mut()) {
                session.abort(&error);
            }
            self.end(id, Cause::Failed(error), now);
        }
    }

    pub(super) fn on_tick(&mut self, board: &mut Board, blobs: &mut dyn blob::Store, now: u64) {
        let ids: Vec<LinkId> = self.links.keys().copied().collect();
        for id in &ids {
            if let Some(session) = self.links.get_mut(id).and_then(Link::open_session_mut) {
                session.tick(board, now);
                self.drain_session(*id, board, blobs, now);
            }
        }
        self.people.expire(now, &mut self.events);
        self.fetcher.expire(now);
        for id in ids {
            let Some(link) = self.links.get(&id) else { continue };
            match link.phase {
                Phase::Closing { until, failed } if until <= now => {
                    self.links.remove(&id);
                    self.outputs.push_back(Output::Close { link: id, failed });
                }
                Phase::Closing { .. } => {}
                _ if link.opened_ms.is_none()
                    && now.saturating_sub(link.started_ms) >= CONNECT_TIMEOUT_MS =>
                {
                    self.end(id, Cause::TimedOut, now);
                }
                _ => {}
            }
        }
        self.announce_if_due(now);
        self.ensure_connections(now);
        self.relay_due = true;
        self.fetch_missing_blobs(board, blobs);
    }

    /// Acts on what a link's session reports.
    pub(super) fn drain_session(
        &mut self,
        id: LinkId,
        board: &mut Board,
        blobs: &mut dyn blob::Store,
        now: u64,
    ) {
        let Some(link) = self.links.get_mut(&id) else { return };
        let kind = link.kind;
        // Who may speak for others on this link: this page's node, and a
        // remote while it is a relay.
        let speaks_for_others = match kind {
            Kind::Node => true,
            Kind::Remote => link.peer.as_ref().is_some_and(|peer| self.relays.contains(peer)),
            Kind::App => false,
        };
        let Some(session) = link.session.as_mut() else { return };
        let mut reported = Vec::new();
        while let Some(event) = session.poll_event() {
            reported.push(event);
        }
        let (mut changed, mut fetch) = (false, false);
        for event in reported {
            match event {
                SessionEvent::Opened(remote) => {
                    self.on_opened(id, kind, remote, now);
                    fetch = true;
                }
                SessionEvent::BoardChanged => changed = true,
                SessionEvent::Presence { peer, state } => match kind {
                    Kind::Remote => {
                        self.people.presence(peer, state, now, &mut self.events);
                        self.relay_due = true;
                    }
                    // The app's presence is this device's.
                    Kind::App => self.set_presence(state),
                    // The node shows others this page's presence as its own.
                    Kind::Node => {}
                },
                SessionEvent::RelayedPresence { peer, identity, state, path } => {
                    if speaks_for_others && peer != self.config.replica {
                        // A node's path is this device's; a relay's is its own.
                        let path = path.filter(|_| kind == Kind::Node);
                        self.people.relayed(peer, identity, id, state, path, now, &mut self.events);
                        self.relay_due = true;
                    }
                }
                SessionEvent::RelayedLeft { peer } => {
                    if speaks_for_others {
                        self.people.left_via(peer, id, &mut self.events);
                        self.relay_due = true;
                    }
                }
                SessionEvent::BlobProgress { hash, received, total } => {
                    self.events.push_back(Event::BlobProgress { hash, received, total })
                }
                SessionEvent::BlobReady { hash } => self.events.push_back(Event::BlobReady { hash }),
                SessionEvent::BlobRejected { hash, reason } => {
                    self.events.push_back(Event::BlobRejected { hash, reason });
                    self.fetcher.next_turn();
                    fetch = true;
                }
                SessionEvent::BlobUnavailable { hash } | SessionEvent::BlobStalled { hash } => {
                    self.fetcher.lacks(id, hash, now);
                    fetch = true;
                }
                SessionEvent::Closed { reason } => {
                    self.end(id, Cause::Goodbye(reason), now);
                    fetch = true;
                }
            }
        }
        if changed {
            self.events.push_back(Event::BoardChanged { link: id });
            fetch = true;
        }
        if fetch {
            self.fetch_missing_blobs(board, blobs);
        }
    }

    pub(super) fn on_opened(&mut self, id: LinkId, kind: Kind, remote: Remote, now: u64) {
        let Some(link) = self.links.get_mut(&id) else { return };
        link.opened_ms = Some(now);
        link.replica = Some(remote.peer);
        if kind != Kind::App
            && let (Some(state), Some(session)) = (self.own_presence.clone(), link.session.as_mut())
        {
            session.set_presence(state);
        }
        if kind == Kind::Remote {
            self.people.seen(remote.peer, remote.identity.clone(), id, true, &mut self.events);
            if let Some(path) = link.path {
                self.people.path(remote.peer, path, &mut self.events);
            }
        }
        self.relay_due = true;
        self.events.push_back(Event::LinkOpened { link: id, kind, remote });
    }

    /// The transport read how a remote link's packets travel.
    pub(super) fn on_path_found(&mut self, id: LinkId, path: Path) {
        let Some(link) = self.links.get_mut(&id).filter(|link| link.kind == Kind::Remote) else { return };
        link.path = Some(path);
        if let Some(peer) = link.replica {
            self.people.path(peer, path, &mut self.events);
            self.relay_due = true;
        }
    }

    /// Shows every app link who else is here, and, on a relay, every
    /// remote link too (rate-capped: what was held back goes at the next
    /// input).
    pub(super) fn relay(&mut self, now: u64) {
        // Now and then every person is looked at again, for the refreshes
        // due before their presence expires elsewhere; otherwise only who changed.
        let full = now >= self.relay_full_at;
        if full {
            self.relay_full_at = now + crate::RELAY_FULL_PASS_MS;
        }
        let mut held = false;
        let mut least_seen = self.people.changes();
        for link in self.links.values_mut() {
            let audience = match link.kind {
                Kind::App => Audience::App,
                Kind::Remote if self.config.relay => Audience::Remote {
                    own: link.replica,
                    relay: link.peer.as_ref().is_some_and(|peer| self.relays.contains(peer)),
                },
                Kind::Remote | Kind::Node => continue,
            };
            let Link { session, relayed, relay_progress, phase, .. } = link;
            if *phase == Phase::Open
                && let Some(session) = session.as_mut().filter(|session| session.is_open())
            {
                held |= self.people.relay_to(session, relayed, relay_progress, now, audience, full);
            }
            least_seen = least_seen.min(relay_progress.through);
        }
        self.people.forget_changes(least_seen);
        if held {
            self.relay_due = true;
        }
    }
}

/// The message a panic carried, if it was text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}
