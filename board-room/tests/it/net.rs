//! A deterministic world for rooms: devices each with a [`Room`], a board
//! and a blob store; a signaling server that may lose what it relays; and a
//! transport whose connections take time to build, may never open, break
//! while open, or fail across a partition. Everything is driven by one
//! seeded random generator, so a seed replays exactly.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use board_key::BoardKey;
use board_key::link::ShareLink;
use board_model::blob::{self, MemoryStore};
use board_model::presence::Identity;
use board_model::{Board, BoardId, CardId, Content, ImageRef, NewCard, Point, ReplicaId};
use board_room::mesh::{self, Member};
use board_room::{Config, Event, Fingerprints, Input, LinkId, Output, Room};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How often the world misbehaves.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// A relayed signal (offer or answer) is lost.
    pub lose_signal: f64,
    /// Building a connection fails.
    pub setup_fails: f64,
    /// A connection never opens (its checks never succeed).
    pub never_opens: f64,
}

pub const CLEAN: Faults = Faults { lose_signal: 0.0, setup_fails: 0.0, never_opens: 0.0 };
pub const NOISY: Faults = Faults { lose_signal: 0.1, setup_fails: 0.05, never_opens: 0.05 };

pub struct Device {
    pub room: Room,
    pub board: Board,
    pub blobs: MemoryStore,
    /// Its id in the signaling room while joined.
    pub me: Option<String>,
    /// Gone for good (the tab was closed).
    pub gone: bool,
    /// Ignores offers and never answers (until healed).
    pub mute: bool,
    pub offline: bool,
    /// An always-on relay.
    pub relay: bool,
    pub events: Vec<Event>,
    /// Bytes of frames this device sent.
    pub sent_bytes: u64,
    /// Processor time spent inside its room (inputs, outputs, frames out).
    pub busy: Duration,
}

/// A connection the driver is building for a device's link.
#[derive(Debug)]
struct Setup {
    device: usize,
    link: LinkId,
    ready_at: u64,
    /// For an answer: the offering end, read from the offer SDP.
    offerer: Option<(usize, LinkId)>,
}

#[derive(Debug)]
struct Channel {
    ends: [(usize, LinkId); 2],
    /// Frames in flight towards `ends[i]`.
    queues: [VecDeque<Vec<u8>>; 2],
    opens_at: Option<u64>,
    open: bool,
}

pub struct World {
    pub rng: ChaCha8Rng,
    pub now: u64,
    pub devices: Vec<Device>,
    pub faults: Faults,
    pub log: Vec<String>,
    /// The signaling server: who is in the room.
    members: BTreeMap<String, usize>,
    /// Signaling events in flight, per device in order.
    signaling: BTreeMap<usize, VecDeque<(u64, Input)>>,
    /// What connections report (closes), per device in order.
    notices: BTreeMap<usize, VecDeque<(u64, Input)>>,
    setups: Vec<Setup>,
    /// Channels by number (in the order they were made).
    channels: BTreeMap<u64, Channel>,
    next_channel: u64,
    /// The channels under each end.
    by_end: BTreeMap<(usize, LinkId), BTreeSet<u64>>,
    /// Devices on the other side of a partition (empty: none).
    partition: BTreeSet<usize>,
    /// The ends named by the SDPs handed out (an SDP is `"offer N"` or `"answer N"`).
    described: Vec<(usize, LinkId)>,
}

const SEND_WINDOW: usize = 8;

impl World {
    pub fn new(seed: u64, device_count: usize, faults: Faults) -> World {
        World::with_relays(seed, device_count, 0, faults)
    }

    /// A world whose last `relays` devices are always-on relays (they
    /// start with the board).
    pub fn with_relays(seed: u64, device_count: usize, relays: usize, faults: Faults) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let link = ShareLink { board: uuid::Uuid::from_bytes(rng.random()), key: BoardKey(rng.random()) };
        let creator = Board::create(BoardId(link.board), "Room harness", ReplicaId(1)).expect("create");
        let saved = creator.save().expect("save");
        let mut devices = Vec::new();
        for n in 0..device_count {
            let replica = n as u64 + 1;
            // The first device has the board; others may join empty.
            let relay = n + relays >= device_count;
            let board = if n == 0 || relay || rng.random_bool(0.5) {
                Board::load(&saved, ReplicaId(replica)).expect("load")
            } else {
                Board::empty(ReplicaId(replica)).expect("empty")
            };
            let identity = Identity { name: format!("device {n}"), color: "#336699".into() };
            let config = Config::new(link.clone(), replica, identity, rng.random());
            let room = Room::new(if relay { config.relay() } else { config });
            devices.push(Device {
                room,
                board,
                blobs: MemoryStore::new(),
                me: None,
                gone: false,
                mute: false,
                offline: false,
                relay,
                events: Vec::new(),
                sent_bytes: 0,
                busy: Duration::ZERO,
            });
        }
        World {
            rng,
            now: 1_000,
            devices,
            faults,
            log: Vec::new(),
            members: BTreeMap::new(),
            signaling: BTreeMap::new(),
            notices: BTreeMap::new(),
            setups: Vec::new(),
            channels: BTreeMap::new(),
            next_channel: 0,
            by_end: BTreeMap::new(),
            partition: BTreeSet::new(),
            described: Vec::new(),
        }
    }

    fn input(&mut self, device: usize, input: Input) {
        let now = self.now;
        let d = &mut self.devices[device];
        if d.gone {
            return;
        }
        let start = Instant::now();
        d.room.handle(input, &mut d.board, &mut d.blobs, now);
        d.busy += start.elapsed();
        self.after(device);
    }

    /// Carries out what a device's room asks for and keeps its events.
    fn after(&mut self, device: usize) {
        loop {
            let d = &mut self.devices[device];
            while let Some(event) = d.room.poll_event() {
                d.events.push(event);
            }
            d.board.take_changes();
            let Some(output) = d.room.poll_output() else { break };
            self.execute(device, output);
        }
        self.flush(device);
    }

    fn execute(&mut self, device: usize, output: Output) {
        let delay = self.rng.random_range(1..400);
        match output {
            Output::Signal { to, data } => {
                let Some(from) = self.devices[device].me.clone() else { return };
                let targets: Vec<usize> = match to {
                    Some(to) => self.members.get(&to).copied().into_iter().collect(),
                    None => self.members.iter().filter(|(id, _)| **id != from).map(|(_, d)| *d).collect(),
                };
                for target in targets {
                    if self.rng.random_bool(self.faults.lose_signal) {
                        self.log.push(format!("lost a signal {device} → {target}"));
                        continue;
                    }
                    self.signal(target, delay, Input::Signal { from: from.clone(), data: data.clone() });
                }
            }
            Output::Connect { link, peer } => {
                self.log.push(format!("{device} connects {link} to {peer}"));
                if self.devices[device].mute {
                    return;
                }
                self.setups.push(Setup { device, link, ready_at: self.now + delay, offerer: None });
            }
            Output::Answer { link, sdp, peer } => {
                self.log.push(format!("{device} answers {peer} on {link} ({sdp})"));
                if self.devices[device].mute {
                    return;
                }
                let offerer = self.parse_sdp(&sdp);
                self.setups.push(Setup { device, link, ready_at: self.now + delay, offerer });
            }
            Output::AcceptAnswer { link, sdp } => {
                let Some(answerer) = self.parse_sdp(&sdp) else { return };
                self.log.push(format!("{device} accepts an answer on {link}: paired with {answerer:?}"));
                let opens = !self.rng.random_bool(self.faults.never_opens)
                    && self.partition.contains(&device) == self.partition.contains(&answerer.0);
                self.add_channel(Channel {
                    ends: [(device, link), answerer],
                    queues: [VecDeque::new(), VecDeque::new()],
                    opens_at: opens.then_some(self.now + delay),
                    open: false,
                });
            }
            Output::Close { link, .. } => {
                self.setups.retain(|setup| (setup.device, setup.link) != (device, link));
                let closed: Vec<u64> =
                    self.by_end.get(&(device, link)).into_iter().flatten().copied().collect();
                for id in closed.into_iter().rev() {
                    let Some(channel) = self.remove_channel(id) else { continue };
                    for end in channel.ends {
                        if end != (device, link) {
                            let reason = "the remote closed the connection".to_owned();
                            self.later(end.0, delay, Input::ChannelClosed { link: end.1, reason });
                        }
                    }
                }
            }
        }
    }

    fn add_channel(&mut self, channel: Channel) {
        let id = self.next_channel;
        self.next_channel += 1;
        for end in channel.ends {
            self.by_end.entry(end).or_default().insert(id);
        }
        self.channels.insert(id, channel);
    }

    fn remove_channel(&mut self, id: u64) -> Option<Channel> {
        let channel = self.channels.remove(&id)?;
        for end in channel.ends {
            if let Some(ids) = self.by_end.get_mut(&end) {
                ids.remove(&id);
                if ids.is_empty() {
                    self.by_end.remove(&end);
                }
            }
        }
        Some(channel)
    }

    /// The first open channel under an end.
    fn open_channel(&self, end: (usize, LinkId)) -> Option<u64> {
        self.by_end.get(&end)?.iter().copied().find(|id| self.channels[id].open)
    }

    /// Signaling events reach a device in the order sent.
    fn signal(&mut self, device: usize, delay: u64, input: Input) {
        let queue = self.signaling.entry(device).or_default();
        let at = queue.back().map_or(self.now + delay, |(at, _)| (*at).max(self.now + delay));
        queue.push_back((at, input));
    }

    /// A connection's report, after `delay`.
    fn later(&mut self, device: usize, delay: u64, input: Input) {
        let queue = self.notices.entry(device).or_default();
        let at = queue.back().map_or(self.now + delay, |(at, _)| (*at).max(self.now + delay));
        queue.push_back((at, input));
    }

    /// Hands channels the frames their links have, up to a window.
    fn flush(&mut self, device: usize) {
        let start = Instant::now();
        let sending = self.devices[device].room.sending_links();
        self.devices[device].busy += start.elapsed();
        for link in sending {
            self.flush_link(device, link);
        }
    }

    /// Fills one link's channel up to the send window.
    fn flush_link(&mut self, device: usize, link: LinkId) {
        let Some(id) = self.open_channel((device, link)) else { return };
        let (Some(channel), d) = (self.channels.get_mut(&id), &mut self.devices[device]) else {
            return;
        };
        if d.gone {
            return;
        }
        let towards = usize::from(channel.ends[0] == (device, link));
        while channel.queues[towards].len() < SEND_WINDOW {
            let start = Instant::now();
            let frame = d.room.poll_transmit(link, &d.board, &d.blobs);
            d.busy += start.elapsed();
            let Some(frame) = frame else { break };
            d.sent_bytes += frame.len() as u64;
            channel.queues[towards].push_back(frame);
        }
    }

    // ----- what happens --------------------------------------------------------------

    pub fn join(&mut self, device: usize) {
        let d = &self.devices[device];
        if d.gone || d.offline || d.me.is_some() {
            return;
        }
        let me = format!("{:016x}", self.rng.random::<u64>());
        self.devices[device].me = Some(me.clone());
        let peers: Vec<String> = self.members.keys().cloned().collect();
        let others: Vec<usize> = self.members.values().copied().collect();
        for other in others {
            self.signal(other, 5, Input::PeerJoined { peer: me.clone() });
        }
        self.members.insert(me.clone(), device);
        self.log.push(format!("{device} is {me}"));
        self.signal(device, 5, Input::Joined { me, peers });
        self.log.push(format!("{device} joins"));
    }

    /// The device's signaling connection drops (its links stay).
    pub fn drop_signaling(&mut self, device: usize) {
        let Some(me) = self.devices[device].me.take() else { return };
        self.members.remove(&me);
        self.signaling.remove(&device);
        for other in self.members.values().copied().collect::<Vec<_>>() {
            self.signal(other, 5, Input::PeerLeft { peer: me.clone() });
        }
        self.input(device, Input::SignalingLost);
        self.log.push(format!("{device} loses signaling"));
    }

    /// The tab closes: goodbyes, then everything of it is gone.
    pub fn leave_forever(&mut self, device: usize) {
        let now = self.now;
        self.devices[device].room.shut_down("the tab was closed", now);
        self.after(device);
        // Its goodbyes go out before the connections close.
        self.deliver_frames();
        self.drop_signaling(device);
        let ends: Vec<u64> = self
            .channels
            .iter()
            .filter(|(_, c)| c.ends.iter().any(|e| e.0 == device))
            .map(|(id, _)| *id)
            .collect();
        for id in ends.into_iter().rev() {
            let Some(channel) = self.remove_channel(id) else { continue };
            for end in channel.ends.into_iter().filter(|end| end.0 != device) {
                self.later(end.0, 50, Input::ChannelClosed { link: end.1, reason: "gone".into() });
            }
        }
        self.setups.retain(|setup| setup.device != device);
        self.devices[device].gone = true;
        self.log.push(format!("{device} leaves for good"));
    }

    pub fn set_offline(&mut self, device: usize, offline: bool) {
        if self.devices[device].gone || self.devices[device].offline == offline {
            return;
        }
        let now = self.now;
        self.devices[device].offline = offline;
        self.devices[device].room.set_offline(offline, now);
        self.after(device);
        if offline {
            self.drop_signaling(device);
        } else {
            self.join(device);
        }
        self.log.push(format!("{device} offline: {offline}"));
    }

    pub fn break_a_channel(&mut self) {
        let open: Vec<u64> = self.channels.iter().filter(|(_, c)| c.open).map(|(id, _)| *id).collect();
        if open.is_empty() {
            return;
        }
        let id = open[self.rng.random_range(0..open.len())];
        let Some(channel) = self.remove_channel(id) else { return };
        for end in channel.ends {
            self.later(end.0, 1, Input::ChannelClosed { link: end.1, reason: "ICE failed".into() });
        }
        self.log.push(format!("channel {:?} breaks", channel.ends));
    }

    /// Splits the devices in two groups: channels across break, new ones never open.
    pub fn partition(&mut self, group: BTreeSet<usize>) {
        self.partition = group;
        let across: Vec<u64> = self
            .channels
            .iter()
            .filter(|(_, c)| {
                let [a, b] = c.ends;
                self.partition.contains(&a.0) != self.partition.contains(&b.0)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in across.into_iter().rev() {
            let Some(channel) = self.remove_channel(id) else { continue };
            for end in channel.ends {
                self.later(end.0, 1, Input::ChannelClosed { link: end.1, reason: "no route".into() });
            }
        }
        self.log.push(format!("partition {:?}", self.partition));
    }

    pub fn heal_partition(&mut self) {
        self.partition.clear();
    }

    /// Time passes by `ms`: everything due happens, rooms tick every 100 ms.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.now = (self.now + 100).min(end);
            self.deliver_due();
            for device in 0..self.devices.len() {
                self.input(device, Input::Tick);
            }
        }
    }

    fn deliver_due(&mut self) {
        loop {
            let now = self.now;
            // Signaling and driver notices.
            let due = self
                .signaling
                .iter()
                .find(|(_, queue)| queue.front().is_some_and(|(at, _)| *at <= now))
                .map(|(device, _)| *device);
            if let Some(device) = due {
                if let Some((_, input)) = self.signaling.get_mut(&device).and_then(VecDeque::pop_front) {
                    self.input(device, input);
                }
                continue;
            }
            let noticed = self
                .notices
                .iter()
                .find(|(_, queue)| queue.front().is_some_and(|(at, _)| *at <= now))
                .map(|(device, _)| *device);
            if let Some(device) = noticed {
                if let Some((_, input)) = self.notices.get_mut(&device).and_then(VecDeque::pop_front) {
                    self.input(device, input);
                }
                continue;
            }
            if let Some(i) = self.setups.iter().position(|setup| setup.ready_at <= now) {
                let setup = self.setups.remove(i);
                let input = if self.rng.random_bool(self.faults.setup_fails) {
                    Input::SetupFailed { link: setup.link, reason: "no peer connection".into() }
                } else {
                    let role = if setup.offerer.is_some() { "answer" } else { "offer" };
                    self.described.push((setup.device, setup.link));
                    Input::Described { link: setup.link, sdp: format!("{role} {}", self.described.len() - 1) }
                };
                self.input(setup.device, input);
                continue;
            }
            let opening =
                self.channels.iter_mut().find(|(_, c)| !c.open && c.opens_at.is_some_and(|at| at <= now));
            if let Some((_, channel)) = opening {
                channel.open = true;
                let [a, b] = channel.ends;
                for (end, other) in [(a, b), (b, a)] {
                    let fingerprints = Fingerprints { local: fingerprint(end), remote: fingerprint(other) };
                    self.input(end.0, Input::ChannelOpened { link: end.1, fingerprints: Some(fingerprints) });
                }
                continue;
            }
            if !self.deliver_frames() {
                return;
            }
        }
    }

    /// Delivers every frame in flight, one channel at a time, in order.
    fn deliver_frames(&mut self) -> bool {
        let mut moved = false;
        for device in 0..self.devices.len() {
            self.flush(device);
        }
        let ids: Vec<u64> = self.channels.keys().copied().collect();
        for id in ids {
            for towards in 0..2 {
                while let Some(channel) = self.channels.get_mut(&id) {
                    let Some(frame) = channel.queues[towards].pop_front() else { break };
                    let (device, link) = channel.ends[towards];
                    let from = channel.ends[1 - towards];
                    moved = true;
                    self.input(device, Input::Frame { link, frame });
                    // The sender's channel has room again: that link sends
                    // on (as a driver does on "buffered amount low").
                    self.flush_link(from.0, from.1);
                }
            }
        }
        moved
    }

    // ----- users -----------------------------------------------------------------------

    /// One random edit on a random device that is still here.
    pub fn edit(&mut self) {
        let device = self.rng.random_range(0..self.devices.len());
        if self.devices[device].gone {
            return;
        }
        let id = CardId::from_random_bytes(self.rng.random());
        let at = Point {
            x: f64::from(self.rng.random_range(-400..400)),
            y: f64::from(self.rng.random_range(-400..400)),
        };
        let choice = self.rng.random_range(0..10);
        let d = &mut self.devices[device];
        let cards = d.board.cards();
        let some_card = (!cards.is_empty()).then(|| cards[(at.x.abs() as usize) % cards.len()].id);
        let card = |content| NewCard {
            id,
            position: at,
            size: None,
            color: None,
            content,
            created_by: "harness".into(),
            created_at: 1,
        };
        let _ = match (choice, some_card) {
            (0..=3, _) | (_, None) => {
                d.board.add_card(card(Content::Note { text: format!("note {}", id.0) }))
            }
            (4, _) => {
                let bytes: Vec<u8> =
                    (0..700 + (at.y.abs() as usize) * 40).map(|i| (i * 7 + device) as u8).collect();
                let hash = blob::insert(&mut d.blobs, bytes).expect("insert");
                let image = ImageRef {
                    hash,
                    media_type: "image/png".into(),
                    natural_width: 10,
                    natural_height: 10,
                    file_name: "pic.png".into(),
                };
                d.board.add_card(card(Content::Image(image)))
            }
            (5..=7, Some(id)) => d.board.move_card(id, at),
            (8, Some(id)) => d.board.set_text(id, "edited"),
            (_, Some(id)) => d.board.delete_cards(&[id]),
        };
        d.board.take_changes();
        self.flush(device);
    }

    /// The end an SDP of this world names.
    fn parse_sdp(&self, sdp: &str) -> Option<(usize, LinkId)> {
        let index: usize = sdp.split(' ').nth(1)?.parse().ok()?;
        self.described.get(index).copied()
    }

    // ----- checks ------------------------------------------------------------------------

    /// Devices that are here and online.
    pub fn present(&self) -> Vec<usize> {
        (0..self.devices.len()).filter(|&d| !self.devices[d].gone && !self.devices[d].offline).collect()
    }

    /// Every present device holds the same board, and every image it shows
    /// that some present device holds (an image whose every copy left with
    /// its devices cannot be fetched).
    pub fn converged(&self) -> bool {
        let present = self.present();
        let Some(&first) = present.first() else { return true };
        let reference = rendered(&self.devices[first].board);
        let held = |hash: &board_model::blob::Hash| {
            present.iter().any(|&d| self.devices[d].blobs.get(hash).is_some())
        };
        present.iter().all(|&d| {
            let device = &self.devices[d];
            rendered(&device.board) == reference
                && device
                    .board
                    .referenced_blobs()
                    .iter()
                    .all(|hash| device.blobs.get(hash).is_some() || !held(hash))
        })
    }

    /// Every link of a present device is open and leads to a device that is
    /// present (a link may outlive its peer's signaling id: a working data
    /// channel stays when signaling drops); every planned retry is for a peer
    /// in the signaling room now; every device holds one open link to each
    /// device the mesh policy wants (everyone, in a small room).
    pub fn tidy(&self) -> Result<(), String> {
        let present = self.present();
        for &d in &present {
            let room = &self.devices[d].room;
            for (link, kind, peer, open) in room.links() {
                if !open {
                    return Err(format!("device {d}: {link} ({kind:?}) to {peer:?} is still not open"));
                }
                let channel = self.open_channel((d, link)).map(|id| &self.channels[&id]);
                let Some(channel) = channel else {
                    return Err(format!("device {d}: {link} to {peer:?} has no channel under it"));
                };
                let other = if channel.ends[0] == (d, link) { channel.ends[1] } else { channel.ends[0] };
                if !present.contains(&other.0) {
                    return Err(format!("device {d}: {link} leads to device {}, who is gone", other.0));
                }
                let unwanted = self.wanted_links(d).zip(self.devices[other.0].me.as_ref());
                if let Some((wanted, them)) = unwanted.filter(|(wanted, them)| !wanted.contains(*them)) {
                    return Err(format!(
                        "device {d}: {link} leads to device {} ({them}), whom the mesh policy does not want ({} wanted)",
                        other.0,
                        wanted.len()
                    ));
                }
            }
            if let Some(peer) = room.retrying().find(|peer| !self.members.contains_key(*peer)) {
                return Err(format!("device {d}: a retry is planned for {peer}, who is gone"));
            }
            let expected = self.wanted_links(d).map_or(present.len() - 1, |wanted| wanted.len());
            if room.connected_peers() != expected {
                return Err(format!(
                    "device {d}: {} open links, expected {expected}",
                    room.connected_peers()
                ));
            }
        }
        Ok(())
    }

    /// The peers the mesh policy wants `device` to hold, from the
    /// signaling server's view of the room (`None` while it is not in it).
    pub fn wanted_links(&self, device: usize) -> Option<BTreeSet<String>> {
        let me = self.devices[device].me.as_deref()?;
        let others: Vec<Member> = self
            .members
            .iter()
            .filter(|(id, _)| id.as_str() != me)
            .map(|(id, d)| Member { id, relay: self.devices[*d].relay })
            .collect();
        Some(mesh::wanted(Member { id: me, relay: self.devices[device].relay }, &others))
    }

    /// Sets a device's own presence (what its room shows others).
    pub fn set_presence(&mut self, device: usize, state: board_model::presence::State) {
        let start = Instant::now();
        self.devices[device].room.set_presence(state);
        self.devices[device].busy += start.elapsed();
        self.after(device);
    }

    pub fn report(&self) -> String {
        let mut out = String::new();
        for (d, device) in self.devices.iter().enumerate() {
            let missing =
                device.board.referenced_blobs().iter().filter(|h| device.blobs.get(h).is_none()).count();
            out.push_str(&format!(
                "device {d}: gone {} offline {} me {:?} links {:?} missing blobs {missing}\n",
                device.gone,
                device.offline,
                device.me,
                device.room.links().collect::<Vec<_>>()
            ));
        }
        let tail = if std::env::var_os("ROOM_LOG").is_some() { self.log.len() } else { 15 };
        for line in &self.log[self.log.len().saturating_sub(tail)..] {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

fn fingerprint(end: (usize, LinkId)) -> String {
    format!("sha-256 {:02x}:{:016x}", end.0, end.1.value())
}

/// What a user sees of a board.
pub fn rendered(board: &Board) -> String {
    format!("{}|{:?}|{:?}", board.title(), board.background(), board.cards())
}
