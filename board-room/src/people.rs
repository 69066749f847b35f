//! Who else is on the board: every person seen through a link (a remote
//! peer's hello, or a person the embedded node relays), their presence with
//! expiry, and what an app link was last shown of them.

use std::collections::{BTreeMap, VecDeque};

use board_model::Session;
use board_model::presence::{self, Identity};

use crate::io::Event;
use crate::link::LinkId;

#[derive(Debug)]
struct Person {
    identity: Identity,
    /// The links through which this person is seen, each with whether it
    /// is that link's own remote (seen directly) rather than relayed by it.
    via: BTreeMap<LinkId, bool>,
}

impl Person {
    fn direct(&self) -> bool {
        self.via.values().any(|direct| *direct)
    }
}

#[derive(Debug, Default)]
pub(crate) struct People {
    persons: BTreeMap<u64, Person>,
    presence: presence::Store,
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
                    Person { identity: identity.clone(), via: BTreeMap::from([(link, direct)]) },
                );
                events.push_back(Event::PersonJoined { peer, identity });
            }
        }
    }

    /// A known person's presence; reported when it changed.
    pub fn presence(&mut self, peer: u64, state: presence::State, now: u64, events: &mut VecDeque<Event>) {
        if !self.persons.contains_key(&peer) {
            return;
        }
        if self.presence.apply(peer, state.clone(), now) {
            events.push_back(Event::Presence { peer, state });
        }
    }

    /// `peer` is no longer seen through `link` (a relayed departure).
    pub fn left_via(&mut self, peer: u64, link: LinkId, events: &mut VecDeque<Event>) {
        let Some(person) = self.persons.get_mut(&peer) else { return };
        person.via.remove(&link);
        if person.via.is_empty() {
            self.forget(peer, events);
        }
    }

    /// A link ended: everyone seen only through it is gone.
    pub fn link_gone(&mut self, link: LinkId, events: &mut VecDeque<Event>) {
        let gone: Vec<u64> = self
            .persons
            .iter_mut()
            .filter_map(|(peer, person)| {
                person.via.remove(&link);
                person.via.is_empty().then_some(*peer)
            })
            .collect();
        for peer in gone {
            self.forget(peer, events);
        }
    }

    fn forget(&mut self, peer: u64, events: &mut VecDeque<Event>) {
        self.persons.remove(&peer);
        self.presence.remove(peer);
        events.push_back(Event::PersonLeft { peer });
    }

    /// Forgets presence not refreshed in time (the person stays, idle).
    pub fn expire(&mut self, now: u64, events: &mut VecDeque<Event>) {
        for peer in self.presence.expire(now) {
            events.push_back(Event::Presence { peer, state: presence::State::default() });
        }
    }

    pub fn len(&self) -> usize {
        self.persons.len()
    }

    /// Shows an app link (the node's page) who else is here, seen directly
    /// by this node: identity and presence of each, sent when it changed or
    /// is about to expire, and a departure for each person gone since.
    pub fn relay_to(
        &self,
        session: &mut Session,
        relayed: &mut BTreeMap<u64, (Identity, presence::State, u64)>,
        now: u64,
    ) {
        let gone: Vec<u64> = relayed
            .keys()
            .filter(|peer| !self.persons.get(peer).is_some_and(Person::direct))
            .copied()
            .collect();
        for peer in gone {
            relayed.remove(&peer);
            session.relay_left(peer);
        }
        for (peer, person) in self.persons.iter().filter(|(_, person)| person.direct()) {
            let state = self.presence.get(*peer).cloned().unwrap_or_default();
            let fresh = relayed.get(peer).is_some_and(|(identity, shown, at)| {
                *identity == person.identity
                    && *shown == state
                    && now.saturating_sub(*at) < presence::REFRESH_MS
            });
            if !fresh {
                session.relay_presence(*peer, &person.identity, &state);
                relayed.insert(*peer, (person.identity.clone(), state, now));
            }
        }
    }
}
