//! Who connects to whom. A small room is a full mesh. Past
//! [`FULL_MESH_UP_TO`] devices each keeps a bounded set of links instead:
//! relays link to every other relay, every other device links to
//! [`RELAYS_PER_PEER`] relays and to a few neighbours. Both picks are
//! rendezvous (highest-random-weight) hashing on the pair of signaling
//! ids, so two devices that see the same room agree without a word: a
//! device keeps a link with `b` when `b` is among its top
//! [`NEIGHBOURS`] or it is among `b`'s.
//!
//! The weight of a pair is the same on every device and every platform (a
//! fixed hash, not the standard library's, whose algorithm may change), and
//! the same both ways round.

use std::collections::BTreeSet;

/// Rooms of at most this many devices (this one included) are a full mesh.
pub const FULL_MESH_UP_TO: usize = 16;
/// Past a full mesh, how many other devices each device picks as neighbours
/// (it may be picked by more: on average it holds about twice as many).
pub const NEIGHBOURS: usize = 3;
/// Past a full mesh, how many relays each device that is not one links to.
pub const RELAYS_PER_PEER: usize = 2;

/// One other device in the room, as this device knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member<'a> {
    pub id: &'a str,
    /// It announced itself as an always-on relay.
    pub relay: bool,
}

/// The devices `me` should hold a link with, out of `others` (everyone else
/// in the room).
pub fn wanted(me: Member<'_>, others: &[Member<'_>]) -> BTreeSet<String> {
    if others.len() < FULL_MESH_UP_TO {
        return others.iter().map(|member| member.id.to_owned()).collect();
    }
    let relays: Vec<&str> = relays_with(me, others);
    let plain: Vec<&str> = plain_with(me, others);
    let mut wanted = BTreeSet::new();
    if me.relay {
        wanted.extend(relays.iter().filter(|id| **id != me.id).map(|id| (*id).to_owned()));
        for peer in plain {
            if top(peer, &relays, RELAYS_PER_PEER).contains(&me.id) {
                wanted.insert(peer.to_owned());
            }
        }
        return wanted;
    }
    wanted.extend(top(me.id, &relays, RELAYS_PER_PEER).into_iter().map(str::to_owned));
    let neighbours: Vec<&str> = plain.iter().copied().filter(|id| *id != me.id).collect();
    wanted.extend(top(me.id, &neighbours, NEIGHBOURS).into_iter().map(str::to_owned));
    for &peer in &neighbours {
        if picks(peer, me.id, &plain) {
            wanted.insert(peer.to_owned());
        }
    }
    wanted
}

/// Whether a room of `me` and `others` is past a full mesh.
pub fn is_partial(others: usize) -> bool {
    others >= FULL_MESH_UP_TO
}

fn relays_with<'a>(me: Member<'a>, others: &[Member<'a>]) -> Vec<&'a str> {
    let mut relays: Vec<&str> = others.iter().filter(|m| m.relay).map(|m| m.id).collect();
    if me.relay {
        relays.push(me.id);
    }
    relays
}

fn plain_with<'a>(me: Member<'a>, others: &[Member<'a>]) -> Vec<&'a str> {
    let mut plain: Vec<&str> = others.iter().filter(|m| !m.relay).map(|m| m.id).collect();
    if !me.relay {
        plain.push(me.id);
    }
    plain
}

/// Whether `chooser` has `chosen` among its top neighbours out of `plain`
/// (which holds both): fewer than [`NEIGHBOURS`] others weigh more.
fn picks(chooser: &str, chosen: &str, plain: &[&str]) -> bool {
    let bar = (weight(chooser, chosen), chosen);
    let heavier = plain
        .iter()
        .filter(|id| **id != chooser && **id != chosen)
        .filter(|id| (weight(chooser, id), **id) > bar)
        .take(NEIGHBOURS)
        .count();
    heavier < NEIGHBOURS
}

/// The `count` candidates weighing most with `of` (ties go to the larger id).
fn top<'a>(of: &str, candidates: &[&'a str], count: usize) -> Vec<&'a str> {
    let mut weighed: Vec<(u64, &str)> = candidates.iter().map(|id| (weight(of, id), *id)).collect();
    weighed.sort_unstable_by(|a, b| b.cmp(a));
    weighed.into_iter().take(count).map(|(_, id)| id).collect()
}

/// The rendezvous weight of a pair: FNV-1a over both ids in order
/// (smaller first, a zero byte between), finished with SplitMix64's mixer
/// so that ids differing in a last character still scatter.
pub fn weight(a: &str, b: &str) -> u64 {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in first.bytes().chain([0]).chain(second.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn room(plain: usize, relays: usize) -> Vec<(String, bool)> {
        let mut ids: Vec<(String, bool)> =
            (0..plain).map(|n| (format!("{:016x}", n * 7919), false)).collect();
        ids.extend((0..relays).map(|n| (format!("r{n:015x}"), true)));
        ids
    }

    fn links(ids: &[(String, bool)]) -> BTreeMap<String, BTreeSet<String>> {
        ids.iter()
            .map(|(id, relay)| {
                let me = Member { id, relay: *relay };
                let others: Vec<Member> = ids
                    .iter()
                    .filter(|(other, _)| other != id)
                    .map(|(id, relay)| Member { id, relay: *relay })
                    .collect();
                (id.clone(), wanted(me, &others))
            })
            .collect()
    }

    #[test]
    fn the_weight_of_a_pair_is_fixed_and_the_same_both_ways() {
        assert_eq!(weight("a", "b"), weight("b", "a"));
        assert_ne!(weight("a", "b"), weight("a", "c"));
        // Pinned: a browser and a native node must compute the same.
        assert_eq!(
            weight("0000000000000001", "0000000000000002"),
            weight("0000000000000002", "0000000000000001")
        );
        assert_eq!(weight("0000000000000001", "0000000000000002"), 0x80a3_de36_33c9_1abf);
    }

    #[test]
    fn a_small_room_is_a_full_mesh() {
        let ids = room(FULL_MESH_UP_TO, 0);
        for (id, wanted) in links(&ids) {
            assert_eq!(wanted.len(), FULL_MESH_UP_TO - 1, "{id}");
        }
    }

    #[test]
    fn past_a_full_mesh_both_sides_agree_links_are_few_and_everyone_is_reached() {
        for (plain, relays) in [(17, 0), (60, 2), (100, 2), (300, 3), (100, 0)] {
            let ids = room(plain, relays);
            let links = links(&ids);
            for (a, wanted) in &links {
                for b in wanted {
                    assert!(links[b].contains(a), "{a} wants {b}, who does not want {a}");
                }
                let relay = ids.iter().any(|(id, r)| id == a && *r);
                if !relay {
                    assert!(wanted.len() <= 12, "{a} holds {} links in a room of {plain}", wanted.len());
                    let to_relays = wanted.iter().filter(|b| b.starts_with('r')).count();
                    assert_eq!(to_relays, relays.min(RELAYS_PER_PEER));
                }
            }
            // Everyone is reached from the first device.
            let mut seen = BTreeSet::from([ids[0].0.clone()]);
            let mut frontier = vec![ids[0].0.clone()];
            while let Some(next) = frontier.pop() {
                for b in &links[&next] {
                    if seen.insert(b.clone()) {
                        frontier.push(b.clone());
                    }
                }
            }
            assert_eq!(seen.len(), ids.len(), "{plain} peers and {relays} relays: not all connected");
            let mean = links.values().map(BTreeSet::len).sum::<usize>() as f64 / ids.len() as f64;
            assert!(mean < 8.0 + relays as f64, "mean {mean}");
        }
    }

    #[test]
    fn relays_link_to_every_relay_and_share_the_others() {
        let ids = room(100, 3);
        let links = links(&ids);
        let relays: Vec<&String> = ids.iter().filter(|(_, r)| *r).map(|(id, _)| id).collect();
        let mut served = 0;
        for relay in &relays {
            for other in &relays {
                if relay != other {
                    assert!(links[*relay].contains(*other));
                }
            }
            served += links[*relay].len() - (relays.len() - 1);
        }
        assert_eq!(served, 100 * RELAYS_PER_PEER, "each plain device is served by two relays");
    }
}
