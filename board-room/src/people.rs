//! Who else is on the board: every person seen through a link (a remote
//! peer's hello, or a person the embedded node relays), their presence with
//! expiry, and what an app link was last shown of them. Each person's
//! presence is reported at most once per [`crate::PRESENCE_INTERVAL_MS`]:
//! faster updates are held, the latest replacing the one before, and
//! reported once the interval has passed (a peer flooding presence costs
//! the page a bounded rate of work, and the last state always arrives).
//! A person seen through several links (directly, and through one or two
//! relays) takes presence from one of them only, so copies travelling
//! different ways never arrive out of order. What a link is shown of the
//! others depends on who is at its end (see [`Audience`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;

use board_model::Session;
use board_model::presence::{self, Identity, Path};

use crate::io::Event;
use crate::link::{LinkId, RelayProgress, Relayed};

#[derive(Debug)]
struct Person {
    identity: Identity,
    /// The links through which this person is seen, each with whether it
    /// is that link's own remote (seen directly) rather than relayed by it.
    via: BTreeMap<LinkId, bool>,
    /// How this device's packets reach them, once known.
    path: Option<Path>,
}

impl Person {
    fn direct(&self) -> bool {
        self.via.values().any(|direct| *direct)
    }

    /// The one link this person's presence is taken from: a direct one,
    /// else the first that relays them.
    fn preferred(&self) -> Option<LinkId> {
        let direct = self.via.iter().find(|(_, direct)| **direct).map(|(link, _)| *link);
        direct.or_else(|| self.via.keys().next().copied())
    }
}

/// Who is at the end of a link being shown everyone else.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Audience {
    /// This device's own page (the node's app link): everyone the node knows.
    App,
    /// A remote device, shown by a relay: everyone but that device itself
    /// (`own`); another relay (`relay`) only the people seen directly, so
    /// nothing goes round in circles. At most once per
    /// [`crate::RELAY_PRESENCE_INTERVAL_MS`] per person.
    Remote { own: Option<u64>, relay: bool },
}

#[derive(Debug, Default)]
pub(crate) struct People {
    persons: BTreeMap<u64, Person>,
    presence: presence::Store,
    /// When each person's presence was last reported.
    reported_at: BTreeMap<u64, u64>,
    /// Presence changed within the interval, not reported yet.
    held: BTreeMap<u64, presence::State>,
    /// Counts changes of anything a link is shown of people (who, how
    /// reached, presence, through which links): each link is shown the
    /// changes since the count it last saw, not everyone every time.
    changes: u64,
    /// The latest change of each person (one entry each), by count...
    changed: BTreeMap<u64, u64>,
    /// ...and the count of each person's latest change.
    changed_at: BTreeMap<u64, u64>,
}

impl People {
    /// `peer` is on the board, seen through `link` (`direct`: it is the
    /// link's own remote).
    pub fn seen(
        &mut self,
        peer: u64,
        identity: Identity,
        link: LinkId,
        direct: bool,
        events: &mut VecDeque<Event>,
    ) {
        self.touch(peer);
        match self.persons.get_mut(&peer) {
            Some(person) => {
                person.via.insert(link, direct);
                if person.identity != identity {
                    person.identity = identity.clone();
                    events.push_back(Event::PersonJoined { peer, identity });
                }
            }
            None => {
                self.persons.insert(
                    peer,
                    Person { identity: identity.clone(), via: BTreeMap::from([(link, direct)]), path: None },
                );
                events.push_back(Event::PersonJoined { peer, identity });
            }
        }
    }

    /// How this device's packets reach a known person (their direct link's
    /// path, or the path the node that sees them relayed); reported when it
    /// changed.
    pub fn path(&mut self, peer: u64, path: Path, events: &mut VecDeque<Event>) {
        let Some(person) = self.persons.get_mut(&peer) else { return };
        if person.path != Some(path) {
            person.path = Some(path);
            events.push_back(Event::PersonPath { peer, path });
            self.touch(peer);
        }
    }

    /// A known person's presence; reported when it changed, at most once
    /// per interval (held otherwise, latest wins).
    pub fn presence(&mut self, peer: u64, state: presence::State, now: u64, events: &mut VecDeque<Event>) {
        if !self.persons.contains_key(&peer) {
            return;
        }
        if !self.presence.apply(peer, state.clone(), now) {
            return;
        }
        self.touch(peer);
        let due = self
            .reported_at
            .get(&peer)
            .is_none_or(|at| now.saturating_sub(*at) >= crate::PRESENCE_INTERVAL_MS);
        if due {
            self.held.remove(&peer);
            self.reported_at.insert(peer, now);
            events.push_back(Event::Presence { peer, state });
        } else {
            self.held.insert(peer, state);
        }
    }

    /// A person's presence relayed through `link` (by this page's node or
    /// by a relay): taken only from the person's preferred link, and a
    /// newcomer only while fewer than [`crate::MAX_PEOPLE`] are known.
    #[allow(clippy::too_many_arguments)]
    pub fn relayed(
        &mut self,
        peer: u64,
        identity: Identity,
        link: LinkId,
        state: presence::State,
        path: Option<Path>,
        now: u64,
        events: &mut VecDeque<Event>,
    ) {
        if !self.persons.contains_key(&peer) && self.persons.len() >= crate::MAX_PEOPLE {
            return;
        }
        self.seen(peer, identity, link, false, events);
        if self.persons.get(&peer).and_then(Person::preferred) != Some(link) {
            return;
        }
        if let Some(path) = path {
            self.path(peer, path, events);
        }
        self.presence(peer, state, now, events);
    }

    /// Reports held presence whose interval has passed.
    pub fn release_held(&mut self, now: u64, events: &mut VecDeque<Event>) {
        let due: Vec<u64> = self
            .held
            .keys()
            .filter(|peer| {
                self.reported_at
                    .get(peer)
                    .is_none_or(|at| now.saturating_sub(*at) >= crate::PRESENCE_INTERVAL_MS)
            })
            .copied()
            .collect();
        for peer in due {
            if let Some(state) = self.held.remove(&peer) {
                self.reported_at.insert(peer, now);
                events.push_back(Event::Presence { peer, state });
            }
        }
    }

    /// `peer` is no longer seen through `link` (a relayed departure).
    pub fn left_via(&mut self, peer: u64, link: LinkId, events: &mut VecDeque<Event>) {
        let Some(person) = self.persons.get_mut(&peer) else { return };
        person.via.remove(&link);
        if person.via.is_empty() {
            self.forget(peer, events);
        } else {
            self.touch(peer);
        }
    }

    /// A link ended: everyone seen only through it is gone.
    pub fn link_gone(&mut self, link: LinkId, events: &mut VecDeque<Event>) {
        let mut touched = Vec::new();
        let mut gone = Vec::new();
        for (peer, person) in &mut self.persons {
            if person.via.remove(&link).is_some() {
                if person.via.is_empty() { gone.push(*peer) } else { touched.push(*peer) }
            }
        }
        for peer in touched {
            self.touch(peer);
        }
        for peer in gone {
            self.forget(peer, events);
        }
    }

    fn forget(&mut self, peer: u64, events: &mut VecDeque<Event>) {
        self.persons.remove(&peer);
        self.presence.remove(peer);
        self.held.remove(&peer);
        self.reported_at.remove(&peer);
        self.touch(peer);
        events.push_back(Event::PersonLeft { peer });
    }

    /// Forgets presence not refreshed in time (the person stays, idle).
    pub fn expire(&mut self, now: u64, events: &mut VecDeque<Event>) {
        for peer in self.presence.expire(now) {
            self.held.remove(&peer);
            self.touch(peer);
            events.push_back(Event::Presence { peer, state: presence::State::default() });
        }
    }

    pub fn len(&self) -> usize {
        self.persons.len()
    }

    /// Something a link is shown of `peer` changed.
    fn touch(&mut self, peer: u64) {
        self.changes += 1;
        if let Some(before) = self.changed_at.insert(peer, self.changes) {
            self.changed.remove(&before);
        }
        self.changed.insert(self.changes, peer);
    }

    /// The count of changes so far.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Forgets the changes of people gone once every link has been shown
    /// them (`through`: the least any link has seen).
    pub fn forget_changes(&mut self, through: u64) {
        let gone: Vec<(u64, u64)> = self
            .changed
            .range(..=through)
            .filter(|(_, peer)| !self.persons.contains_key(peer))
            .map(|(count, peer)| (*count, *peer))
            .collect();
        for (count, peer) in gone {
            self.changed.remove(&count);
            self.changed_at.remove(&peer);
        }
    }

    /// Shows a link who else is here (see [`Audience`]): identity and
    /// presence of each, sent when it changed or is about to expire, and a
    /// departure for each person gone since. A `full` pass looks at
    /// everyone (for refreshes before expiry); otherwise only at the people
    /// changed since the link's `progress` and those the rate cap held
    /// back, so one person moving costs each link one look, not one per
    /// person. True when a change was held back (call again soon).
    pub fn relay_to(
        &self,
        session: &mut Session,
        relayed: &mut BTreeMap<u64, Relayed>,
        progress: &mut RelayProgress,
        now: u64,
        audience: Audience,
        full: bool,
    ) -> bool {
        let shown = |peer: u64, person: &Person| match audience {
            Audience::App => true,
            Audience::Remote { own, relay } => Some(peer) != own && (!relay || person.direct()),
        };
        let candidates: BTreeSet<u64> = if full {
            self.persons.keys().chain(relayed.keys()).copied().collect()
        } else {
            let since = (Bound::Excluded(progress.through), Bound::Unbounded);
            self.changed.range(since).map(|(_, peer)| *peer).chain(progress.held.iter().copied()).collect()
        };
        progress.through = self.changes;
        progress.held.clear();
        for peer in candidates {
            let Some(person) = self.persons.get(&peer).filter(|person| shown(peer, person)) else {
                if relayed.remove(&peer).is_some() {
                    session.relay_left(peer);
                }
                continue;
            };
            let state = self.presence.get(peer).cloned().unwrap_or_default();
            let last = relayed.get(&peer);
            let fresh = last.is_some_and(|last| {
                last.identity == person.identity
                    && last.state == state
                    && last.path == person.path
                    && now.saturating_sub(last.at) < presence::REFRESH_MS
            });
            if fresh {
                continue;
            }
            let capped = matches!(audience, Audience::Remote { .. })
                && last.is_some_and(|last| now.saturating_sub(last.at) < crate::RELAY_PRESENCE_INTERVAL_MS);
            if capped {
                progress.held.insert(peer);
                continue;
            }
            session.relay_presence(peer, &person.identity, &state, person.path);
            let (identity, path) = (person.identity.clone(), person.path);
            relayed.insert(peer, Relayed { identity, state, path, at: now });
        }
        !progress.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use board_model::Point;

    use super::*;

    fn at(x: f64) -> presence::State {
        presence::State { cursor: Some(Point { x, y: 0.0 }), ..presence::State::default() }
    }

    #[test]
    fn a_peer_flooding_presence_is_reported_at_a_bounded_rate_and_the_latest_arrives() {
        let mut people = People::default();
        let mut events = VecDeque::new();
        let identity = Identity { name: "Mallory".into(), color: "#000000".into() };
        people.seen(9, identity, LinkId::local(1), true, &mut events);
        events.clear();
        for n in 0..10_000u32 {
            people.presence(9, at(f64::from(n)), 1_000, &mut events);
        }
        assert_eq!(events.len(), 1, "one report for a burst within the interval");
        people.release_held(1_000 + crate::PRESENCE_INTERVAL_MS - 1, &mut events);
        assert_eq!(events.len(), 1, "nothing more before the interval has passed");
        people.release_held(1_000 + crate::PRESENCE_INTERVAL_MS, &mut events);
        assert_eq!(events.len(), 2);
        assert!(
            matches!(events.back(), Some(Event::Presence { state, .. }) if *state == at(9_999.0)),
            "the held report is the latest state"
        );
        people.release_held(5_000, &mut events);
        assert_eq!(events.len(), 2, "nothing is reported twice");
    }
}
