//! Rooms across instances, through Redis (`--redis URL`): the way
//! socket.io's Redis adapter and Centrifugo share rooms, with no protocol of
//! our own between instances.
//!
//! - Each room has a pub/sub channel, `corkboard:room:<room>`. An instance
//!   subscribes while it has peers in the room and publishes there what the
//!   others must know: a peer joined, a peer left, a signal. Each message
//!   names its instance, which drops its own.
//! - Each room's membership is a sorted set, `corkboard:members:<room>`,
//!   of peer ids scored by when their listing expires. A join is claimed
//!   there by one script, atomically, so the room's size limit and unique
//!   peer ids hold across instances; a heartbeat pushes the expiry of this
//!   instance's peers forward and reads the others', so the peers of an
//!   instance that died leave everyone's view within the expiry.
//! - If Redis goes away, rooms keep working on each instance alone and
//!   `/healthz` says `degraded`. When it is back (the connection manager
//!   reconnects and resubscribes), the next heartbeat lists this instance's
//!   peers again, announces them, and reads the others': peers that the
//!   outage kept apart meet.
//!
//! One RESP3 connection carries commands and pushes; what is published goes
//! through one bounded queue, so it leaves in the order it was sent and a
//! stalled Redis cannot grow the server's memory.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, Value};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::hub::Hub;
use crate::wire;

/// What a `--redis` URL could not become.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("--redis {url}: {reason}")]
    Url { url: String, reason: String },
}

/// How an instance takes part in the cluster.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// `redis://host:port/` or `unix:///path/to/redis.sock` (no TLS: `rediss://` is not built in).
    pub url: String,
    /// How often this instance's peers are listed again (and others' read).
    pub heartbeat: Duration,
    /// How long a listing lasts without a heartbeat: an instance that died
    /// leaves the others' view within this.
    pub expiry: Duration,
    /// Longest wait for Redis before a join goes ahead on this instance alone.
    pub timeout: Duration,
}

impl ClusterConfig {
    /// The defaults: a heartbeat every 5 s, listings that last 15 s.
    pub fn new(url: impl Into<String>) -> ClusterConfig {
        ClusterConfig {
            url: url.into(),
            heartbeat: Duration::from_secs(5),
            expiry: Duration::from_secs(15),
            timeout: Duration::from_secs(1),
        }
    }
}

/// What one instance tells the others about a room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Bulletin {
    /// A peer joined the room on the sending instance.
    Joined { peer: String },
    /// A peer left the room on the sending instance.
    Left { peer: String },
    /// A signal from a peer there, for one peer (or every peer) elsewhere.
    Signal {
        from: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        data: String,
    },
}

impl Bulletin {
    /// Whether every id and the data are well formed (messages from Redis
    /// are checked like any other input).
    fn is_valid(&self) -> bool {
        match self {
            Bulletin::Joined { peer } | Bulletin::Left { peer } => wire::is_peer_id(peer),
            Bulletin::Signal { from, to, data } => {
                wire::is_peer_id(from)
                    && to.as_deref().is_none_or(wire::is_peer_id)
                    && wire::is_envelope_data(data)
            }
        }
    }
}

/// A bulletin as published: tagged with its instance.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    instance: String,
    #[serde(flatten)]
    bulletin: Bulletin,
}

/// What claiming a peer id in a room's membership gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The peer is listed; these are the room's listed peers (itself among them).
    Granted(Vec<String>),
    /// The room is at its size limit on all instances together.
    Full,
    /// Another instance has a peer of that id in the room.
    Taken,
    /// Redis did not answer: the join goes ahead on this instance alone.
    Unavailable,
}

/// Drops expired listings, then lists the peer if its id is free and the room
/// has space. KEYS[1]: the room's members. ARGV: now (ms), the listing's
/// expiry (ms), the peer, the room's size limit, the key's lifetime (ms).
const CLAIM: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then return {'taken'} end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return {'full'} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
table.insert(members, 1, 'granted')
return members
";

/// Most bulletins waiting to be published (past it they are dropped, as a
/// stalled Redis would lose them anyway; peers retry).
const OUTGOING_QUEUE: usize = 16_384;
/// Most pushes from Redis waiting for the hub.
const INCOMING_QUEUE: usize = 16_384;
/// Rooms listed per heartbeat pipeline.
const HEARTBEAT_ROOMS_PER_TRIP: usize = 500;

/// What goes out to Redis, in order.
#[derive(Debug)]
enum Outgoing {
    Publish { room: String, payload: String },
    Release { room: String, peer: String },
}

/// This instance's link to the others.
pub struct Cluster {
    /// Names this instance's messages (random per process).
    instance: String,
    config: ClusterConfig,
    redis: ConnectionManager,
    claim: redis::Script,
    healthy: AtomicBool,
    /// Rooms whose channel this instance subscribed to.
    subscribed: tokio::sync::Mutex<HashSet<String>>,
    outgoing: mpsc::Sender<Outgoing>,
    /// Bulletins dropped because the queue was full, for the log.
    dropped: AtomicU64,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("instance", &self.instance)
            .field("config", &self.config)
            .field("healthy", &self.healthy.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The cluster's background work, started once the hub exists ([`Pending::start`]).
#[derive(Debug)]
pub struct Pending {
    cluster: Arc<Cluster>,
    pushes: mpsc::Receiver<PushInfo>,
    outgoing: mpsc::Receiver<Outgoing>,
}

fn channel(room: &str) -> String {
    format!("corkboard:room:{room}")
}

fn members_key(room: &str) -> String {
    format!("corkboard:members:{room}")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Cluster {
    /// A cluster over Redis at `config.url`. Connects lazily: an instance
    /// started while Redis is away serves its rooms alone until it is back.
    pub fn configure(config: ClusterConfig) -> Result<Pending, ClusterError> {
        let url_error = |reason: &dyn std::fmt::Display| ClusterError::Url {
            url: config.url.clone(),
            reason: reason.to_string(),
        };
        let info = config.url.as_str().into_connection_info().map_err(|e| url_error(&e))?;
        let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings)).map_err(|e| url_error(&e))?;
        let (push_tx, pushes) = mpsc::channel(INCOMING_QUEUE);
        let manager_config = ConnectionManagerConfig::new()
            .set_push_sender(move |push: PushInfo| push_tx.try_send(push))
            .set_automatic_resubscription()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(2)
            .set_max_delay(config.heartbeat);
        let redis =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(|e| url_error(&e))?;
        let (outgoing_tx, outgoing) = mpsc::channel(OUTGOING_QUEUE);
        let mut instance = [0u8; 8];
        if getrandom::fill(&mut instance).is_err() {
            instance = now_ms().to_le_bytes();
        }
        let cluster = Arc::new(Cluster {
            instance: instance.iter().map(|b| format!("{b:02x}")).collect(),
            config,
            redis,
            claim: redis::Script::new(CLAIM),
            // Not healthy until a heartbeat has reached Redis.
            healthy: AtomicBool::new(false),
            subscribed: tokio::sync::Mutex::default(),
            outgoing: outgoing_tx,
            dropped: AtomicU64::new(0),
        });
        Ok(Pending { cluster, pushes, outgoing })
    }

    /// This instance's name in its messages.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Whether Redis answered the last time it was asked.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn set_degraded(&self, why: &dyn std::fmt::Display) {
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::warn!(%why, "Redis unreachable: rooms work on this instance alone until it is back");
        }
    }

    async fn bounded<T>(&self, work: impl Future<Output = redis::RedisResult<T>>) -> Result<T, String> {
        match tokio::time::timeout(self.config.timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("no answer in time".to_owned()),
        }
    }

    /// Subscribes to a room's channel unless already subscribed.
    pub async fn subscribe(&self, room: &str) {
        let mut subscribed = self.subscribed.lock().await;
        if subscribed.contains(room) {
            return;
        }
        let mut redis = self.redis.clone();
        match self.bounded(redis.subscribe(channel(room))).await {
            Ok(()) => {
                subscribed.insert(room.to_owned());
            }
            Err(error) => self.set_degraded(&error),
        }
    }

    /// Lists `peer` in the room if there is space and the id is free.
    pub async fn claim(&self, room: &str, peer: &str, limit: usize) -> Claim {
        let now = now_ms();
        let expiry = now.saturating_add(millis(self.config.expiry));
        let mut redis = self.redis.clone();
        let mut invocation = self.claim.key(members_key(room));
        invocation.arg(now).arg(expiry).arg(peer).arg(limit).arg(millis(self.config.expiry) * 2);
        let answer: Result<Vec<String>, String> = self.bounded(invocation.invoke_async(&mut redis)).await;
        match answer {
            Ok(answer) => match answer.split_first() {
                Some((status, members)) if status == "granted" => {
                    Claim::Granted(members.iter().filter(|m| wire::is_peer_id(m)).cloned().collect())
                }
                Some((status, _)) if status == "full" => Claim::Full,
                Some((status, _)) if status == "taken" => Claim::Taken,
                _ => {
                    self.set_degraded(&"the join script answered something unexpected");
                    Claim::Unavailable
                }
            },
            Err(error) => {
                self.set_degraded(&error);
                Claim::Unavailable
            }
        }
    }

    /// Queues a bulletin for the room's other instances.
    pub fn announce(&self, room: &str, bulletin: Bulletin) {
        let message = Message { instance: self.instance.clone(), bulletin };
        let Ok(payload) = serde_json::to_string(&message) else { return };
        self.queue(Outgoing::Publish { room: room.to_owned(), payload });
    }

    /// Queues the removal of a peer's listing.
    pub fn release(&self, room: &str, peer: &str) {
        self.queue(Outgoing::Release { room: room.to_owned(), peer: peer.to_owned() });
    }

    fn queue(&self, outgoing: Outgoing) {
        if self.outgoing.try_send(outgoing).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed);
            if dropped.is_power_of_two() {
                tracing::warn!(dropped = dropped + 1, "Redis queue full: bulletins dropped");
            }
        }
    }

    /// Publishes what is queued, in order, a batch per round trip.
    async fn publish_queued(cluster: Weak<Cluster>, mut outgoing: mpsc::Receiver<Outgoing>) {
        let mut batch = Vec::with_capacity(256);
        while outgoing.recv_many(&mut batch, 256).await > 0 {
            let Some(cluster) = cluster.upgrade() else { return };
            let mut pipe = redis::pipe();
            for item in batch.drain(..) {
                match item {
                    Outgoing::Publish { room, payload } => pipe.publish(channel(&room), payload).ignore(),
                    Outgoing::Release { room, peer } => pipe.zrem(members_key(&room), peer).ignore(),
                };
            }
            let mut redis = cluster.redis.clone();
            if let Err(error) = cluster.bounded(pipe.query_async::<()>(&mut redis)).await {
                cluster.set_degraded(&error);
            }
        }
    }

    /// Hands what Redis pushes to the hub.
    async fn deliver_pushes(cluster: Weak<Cluster>, hub: Weak<Hub>, mut pushes: mpsc::Receiver<PushInfo>) {
        while let Some(push) = pushes.recv().await {
            let (Some(hub), Some(cluster)) = (hub.upgrade(), cluster.upgrade()) else { return };
            match push.kind {
                PushKind::Message => {
                    if let Some((room, bulletin)) = cluster.read_message(push.data) {
                        hub.arrive(&room, bulletin);
                    }
                }
                PushKind::Disconnection => cluster.set_degraded(&"the connection to Redis closed"),
                _ => {}
            }
        }
    }

    /// A pub/sub message's room and bulletin, if it is a well-formed one
    /// from another instance.
    fn read_message(&self, data: Vec<Value>) -> Option<(String, Bulletin)> {
        let mut data = data.into_iter();
        let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) = (data.next(), data.next())
        else {
            return None;
        };
        let room = std::str::from_utf8(&channel).ok()?.strip_prefix("corkboard:room:")?;
        if !wire::is_room_id(room) {
            return None;
        }
        let message: Message = serde_json::from_slice(&payload).ok()?;
        (message.instance != self.instance && message.bulletin.is_valid())
            .then(|| (room.to_owned(), message.bulletin))
    }

    /// Every heartbeat: lists this instance's peers again, reads everyone's,
    /// corrects the hub's view, and drops subscriptions no longer needed.
    async fn beat(cluster: Weak<Cluster>, hub: Weak<Hub>, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let (Some(hub), Some(cluster)) = (hub.upgrade(), cluster.upgrade()) else { return };
            cluster.beat_once(&hub).await;
        }
    }

    async fn beat_once(&self, hub: &Hub) {
        let was_healthy = self.is_healthy();
        let census = hub.census();
        let now = now_ms();
        let expiry = now.saturating_add(millis(self.config.expiry));
        let mut listings = Vec::with_capacity(census.rooms.len());
        let mut reached = true;
        for rooms in census.rooms.chunks(HEARTBEAT_ROOMS_PER_TRIP) {
            let mut pipe = redis::pipe();
            for (room, peers) in rooms {
                let key = members_key(room);
                let mut add = redis::cmd("ZADD");
                add.arg(&key);
                for peer in peers {
                    add.arg(expiry).arg(peer);
                }
                pipe.add_command(add).ignore();
                pipe.pexpire(&key, millis(self.config.expiry) * 2).ignore();
                pipe.zrembyscore(&key, "-inf", now).ignore();
                pipe.zrangebyscore(&key, now, "+inf");
            }
            let mut redis = self.redis.clone();
            match self.bounded(pipe.query_async::<Vec<Vec<String>>>(&mut redis)).await {
                Ok(listed) => listings.extend(rooms.iter().map(|(room, _)| room.clone()).zip(listed)),
                Err(error) => {
                    self.set_degraded(&error);
                    reached = false;
                    break;
                }
            }
        }
        if census.rooms.is_empty() {
            let mut redis = self.redis.clone();
            if let Err(error) = self.bounded(redis::cmd("PING").query_async::<()>(&mut redis)).await {
                self.set_degraded(&error);
                reached = false;
            }
        }
        if !reached {
            return;
        }
        if !was_healthy {
            self.recover(&census).await;
        }
        for (room, listed) in &listings {
            hub.reconcile(room, listed, census.taken);
        }
        self.unsubscribe_unused(hub).await;
    }

    /// Redis is back: subscribe to every room again and announce this
    /// instance's peers, so peers the outage kept apart meet at once.
    async fn recover(&self, census: &crate::hub::Census) {
        {
            let mut subscribed = self.subscribed.lock().await;
            let mut redis = self.redis.clone();
            for (room, _) in &census.rooms {
                match self.bounded(redis.subscribe(channel(room))).await {
                    Ok(()) => {
                        subscribed.insert(room.clone());
                    }
                    Err(error) => {
                        self.set_degraded(&error);
                        return;
                    }
                }
            }
        }
        for (room, peers) in &census.rooms {
            for peer in peers {
                self.announce(room, Bulletin::Joined { peer: peer.clone() });
            }
        }
        if !self.healthy.swap(true, Ordering::Relaxed) {
            tracing::info!(rooms = census.rooms.len(), "Redis reached: rooms span the instances");
        }
    }

    async fn unsubscribe_unused(&self, hub: &Hub) {
        let mut subscribed = self.subscribed.lock().await;
        let unused: Vec<String> = subscribed.iter().filter(|room| !hub.has_room(room)).cloned().collect();
        let mut redis = self.redis.clone();
        for room in unused {
            if self.bounded(redis.unsubscribe(channel(&room))).await.is_ok() {
                subscribed.remove(&room);
            }
        }
    }
}

impl Pending {
    /// The cluster, for the hub.
    pub fn cluster(&self) -> Arc<Cluster> {
        Arc::clone(&self.cluster)
    }

    /// Starts publishing, receiving and the heartbeat (on the current Tokio
    /// runtime). They end when the hub is dropped.
    pub fn start(self, hub: &Arc<Hub>) {
        let Pending { cluster, pushes, outgoing } = self;
        let every = cluster.config.heartbeat;
        let weak = Arc::downgrade(&cluster);
        tokio::spawn(Cluster::publish_queued(weak.clone(), outgoing));
        tokio::spawn(Cluster::deliver_pushes(weak.clone(), Arc::downgrade(hub), pushes));
        tokio::spawn(Cluster::beat(weak, Arc::downgrade(hub), every));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: &str = "00000000000000000000000000000000000000000000000000000000000000ab";

    fn push(channel: &str, payload: &[u8]) -> Vec<Value> {
        vec![Value::BulkString(channel.as_bytes().to_vec()), Value::BulkString(payload.to_vec())]
    }

    #[tokio::test]
    async fn only_well_formed_bulletins_from_other_instances_are_taken() {
        // Lazy: no Redis is needed to read messages.
        let pending = Cluster::configure(ClusterConfig::new("redis://127.0.0.1:1/")).expect("a cluster");
        let cluster = pending.cluster();
        let from = |instance: &str, bulletin: &str| {
            format!(r#"{{"instance":"{instance}",{bulletin}}}"#).into_bytes()
        };
        let joined = r#""type":"joined","peer":"p1""#;
        let channel = format!("corkboard:room:{ROOM}");
        assert_eq!(
            cluster.read_message(push(&channel, &from("elsewhere", joined))),
            Some((ROOM.to_owned(), Bulletin::Joined { peer: "p1".into() }))
        );
        let refused = [
            push(&channel, &from(cluster.instance(), joined)),
            push("corkboard:room:not-a-room", &from("elsewhere", joined)),
            push("other:channel", &from("elsewhere", joined)),
            push(&channel, b"{not json"),
            push(&channel, &from("elsewhere", r#""type":"joined","peer":"<script>""#)),
            push(&channel, &from("elsewhere", r#""type":"signal","from":"p1","data":"not base64!""#)),
            push(&channel, &from("elsewhere", r#""type":"reboot""#)),
            vec![Value::Int(3)],
            Vec::new(),
        ];
        for data in refused {
            assert_eq!(cluster.read_message(data.clone()), None, "{data:?}");
        }
        assert!(!cluster.is_healthy(), "healthy before Redis was ever reached");
    }

    #[test]
    fn a_bad_url_is_a_clear_error() {
        let error =
            Cluster::configure(ClusterConfig::new("http://example.org")).expect_err("not a Redis URL");
        assert!(error.to_string().starts_with("--redis http://example.org:"), "{error}");
    }
}
