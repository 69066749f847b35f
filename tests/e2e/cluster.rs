//! Two `corkboard-signaling` instances sharing one set of rooms through a
//! real `redis-server` (`--redis`): native peers on different instances
//! converge, browsers on different instances share a board live, the
//! room's size limit holds across instances, a Redis restart splits then
//! rejoins a room, and an instance killed outright leaves the others' view
//! within its heartbeat window.

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use corkboard_e2e::harness::{self, NativePeer, Redis, Signaling};
use corkboard_e2e::{action, check, find};
use peer::signal_client::{self, Event};
use signal_wire::ErrorCode;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::support;

/// Short, so expiry is quick to see: listings last three of these.
const HEARTBEAT_MS: u64 = 200;

/// An instance sharing rooms through `redis`, serving the web app if asked.
fn instance(redis: &Redis, web_app: bool, extra: &[&str]) -> Result<Signaling> {
    let dist = if web_app { Some(harness::dist_dir()?) } else { None };
    let mut flags = vec!["--redis".to_owned(), redis.url(), "--redis-heartbeat-ms".to_owned()];
    flags.push(HEARTBEAT_MS.to_string());
    flags.extend(extra.iter().map(|flag| (*flag).to_owned()));
    Signaling::start_in(None, "127.0.0.1:0", dist.as_deref(), &flags)
}

/// Waits until `/healthz` says `status` (`ok` once Redis is reached).
async fn health_is(signaling: &Signaling, status: &str) -> Result<serde_json::Value> {
    check::eventually(format!("/healthz says {status}"), || {
        let health = signaling.health();
        async move {
            let health = health?;
            ensure!(health["status"] == status, "/healthz: {health}");
            Ok(health)
        }
    })
    .await
}

/// A raw signaling client (the native peer's) in `room`: its events.
struct Member {
    handle: signal_client::Handle,
    events: UnboundedReceiver<Event>,
    /// Events received while waiting for another, in order.
    backlog: Vec<Event>,
    me: String,
}

const ROOM: &str = "c1a57e4c1a57e4c1a57e4c1a57e4c1a57e4c1a57e4c1a57e4c1a57e4c1a57e4c";

impl Member {
    /// Joins `ROOM` on `signaling`; the peers listed as already there.
    async fn join(signaling: &Signaling) -> Result<(Member, Vec<String>)> {
        let (handle, events) = signal_client::spawn(&signaling.url(), signal_client::system_tls());
        handle.join(ROOM);
        let mut member = Member { handle, events, backlog: Vec::new(), me: String::new() };
        let peers = member
            .wait("joined", |event| match event {
                Event::Joined { room, me, peers, .. } if room == ROOM => Some((me.clone(), peers.clone())),
                _ => None,
            })
            .await?;
        member.me = peers.0;
        Ok((member, peers.1))
    }

    /// The first event `pick` takes (received already or within the
    /// checks' deadline); the others stay for later waits.
    async fn wait<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> Result<T> {
        if let Some((at, found)) =
            self.backlog.iter().enumerate().find_map(|(at, event)| pick(event).map(|found| (at, found)))
        {
            self.backlog.remove(at);
            return Ok(found);
        }
        let deadline = tokio::time::Instant::now() + check::deadline();
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .with_context(|| format!("{}: no {what} in time", self.me))?
                .with_context(|| format!("{}: the client ended before {what}", self.me))?;
            if let Event::Refused { code, message } = &event {
                bail!("{}: refused while waiting for {what}: {code:?} {message}", self.me);
            }
            if let Some(found) = pick(&event) {
                return Ok(found);
            }
            self.backlog.push(event);
        }
    }

    /// Forgets every event received so far: later waits see only what
    /// comes after this.
    fn forget_seen(&mut self) {
        self.backlog.clear();
        while self.events.try_recv().is_ok() {}
    }

    async fn sees_join_of(&mut self, peer: &str) -> Result<()> {
        self.wait(&format!("peer_joined {peer}"), |event| {
            matches!(event, Event::PeerJoined { peer: joined, .. } if joined == peer).then_some(())
        })
        .await
    }

    async fn sees_leave_of(&mut self, peer: &str) -> Result<()> {
        self.wait(&format!("peer_left {peer}"), |event| {
            matches!(event, Event::PeerLeft { peer: left, .. } if left == peer).then_some(())
        })
        .await
    }

    async fn gets_signal(&mut self, from: &str, data: &[u8]) -> Result<()> {
        self.wait(&format!("a signal from {from}"), |event| {
            matches!(event, Event::Signal { from: sender, data: got, .. } if sender == from && got == data)
                .then_some(())
        })
        .await
    }

    fn signal(&self, to: &str, data: &[u8]) {
        self.handle.signal(ROOM, Some(to), data.to_vec());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_peers_on_two_signaling_instances_converge_through_redis() -> Result<()> {
    let redis = Redis::start()?;
    let (one, two) = (instance(&redis, false, &[])?, instance(&redis, false, &[])?);
    health_is(&one, "ok").await?;
    health_is(&two, "ok").await?;

    let server = NativePeer::new("cluster-serve")?;
    let link = server.new_board("Across two instances")?;
    let note = server.add_note(&link, "Served through instance one", 10.0, 20.0)?;
    let serve = server.spawn_serve(&one.url(), &[])?;

    let joiner = NativePeer::new("cluster-sync")?;
    let synced = joiner.sync(&two.url(), &link, Duration::from_secs(60))?;
    ensure!(
        synced.success,
        "sync through instance two failed:\n{}\n--- serve:\n{}",
        synced.stderr,
        serve.log()
    );
    let shown = joiner.show(&link)?;
    ensure!(
        shown["cards"].as_array().into_iter().flatten().any(|card| card["id"] == note.as_str()),
        "the note did not cross: {shown}"
    );

    // And back: a note made on the joiner reaches the server's disk.
    let back = joiner.add_note(&link, "Synced through instance two", 200.0, 40.0)?;
    let synced = joiner.sync(&two.url(), &link, Duration::from_secs(60))?;
    ensure!(synced.success, "second sync failed:\n{}", synced.stderr);
    check::native(&server, &link, "the serving peer has the joiner's note", |shown| {
        shown["cards"].as_array().into_iter().flatten().any(|card| card["id"] == back.as_str())
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_on_two_signaling_instances_share_a_board_live() -> Result<()> {
    let redis = Redis::start()?;
    let (one, two) = (instance(&redis, true, &[])?, instance(&redis, true, &[])?);
    health_is(&one, "ok").await?;
    health_is(&two, "ok").await?;

    let alice = harness::Browser::start().await?;
    let bob = harness::Browser::start().await?;
    let url = support::new_board(&alice, &one.url()).await?;
    // Bob opens the same board from the other instance's address.
    bob.open(&two.board_url(&url)?).await?;
    let (a, b) = (alice.client(), bob.client());
    check::peers(a, 1).await?;
    check::peers(b, 1).await?;

    let id = support::add_note(a, 240.0, 160.0, "Across instances").await?;
    check::value_is(b, &find::note_text(&id), "Across instances").await?;
    support::click_empty(b, 700.0, 420.0).await?;
    action::drag_by(b, &find::card(&id), (60.0, 8.0), (180.0, 90.0)).await?;
    let look = support::card_look(b, &id).await?;
    support::card_looks(a, &id, &look).await?;
    let board = check::element(b, find::BOARD).await?;
    action::click_at(b, &board, 500.0, 300.0).await?;
    check::element(a, r#"[data-testid="remote-cursor"]"#).await?;
    alice.shot("cluster-two-instances").await?;

    let health = health_is(&one, "ok").await?;
    ensure!(health["peers"] == 1 && health["peers_elsewhere"] == 1, "instance one: {health}");
    bob.close().await?;
    check::peers(a, 0).await?;
    alice.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_as_full_across_instances_as_on_one() -> Result<()> {
    let redis = Redis::start()?;
    let one = instance(&redis, false, &["--peers-per-room", "2"])?;
    let two = instance(&redis, false, &["--peers-per-room", "2"])?;
    health_is(&one, "ok").await?;
    health_is(&two, "ok").await?;
    let (_first, _) = Member::join(&one).await?;
    let (_second, peers) = Member::join(&two).await?;
    ensure!(peers.len() == 1, "instance two does not list the peer on instance one: {peers:?}");
    for signaling in [&one, &two] {
        let (handle, mut events) = signal_client::spawn(&signaling.url(), signal_client::system_tls());
        handle.join(ROOM);
        let refusal = tokio::time::timeout(check::deadline(), async {
            while let Some(event) = events.recv().await {
                match event {
                    Event::Refused { code, message } => return Ok((code, message)),
                    Event::Joined { .. } => bail!("a third peer joined a room of two"),
                    _ => {}
                }
            }
            bail!("the client ended")
        })
        .await
        .context("no refusal in time")??;
        ensure!(refusal.0 == ErrorCode::RoomFull, "refused with {refusal:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_splits_a_room_then_it_meets_again_and_a_dead_instance_leaves_it() -> Result<()> {
    let mut redis = Redis::start()?;
    let one = instance(&redis, false, &[])?;
    let mut two = instance(&redis, false, &[])?;
    health_is(&one, "ok").await?;
    health_is(&two, "ok").await?;

    // Two peers meet across instances, and signal.
    let (mut ann, _) = Member::join(&one).await?;
    let (mut ben, peers) = Member::join(&two).await?;
    ensure!(peers == [ann.me.clone()], "instance two lists {peers:?}, not {}", ann.me);
    ann.sees_join_of(&ben.me).await?;
    ben.signal(&ann.me, b"offer from ben");
    ann.gets_signal(&ben.me, b"offer from ben").await?;

    // Redis dies: each instance goes on alone, and says so.
    redis.kill();
    health_is(&one, "degraded").await?;
    health_is(&two, "degraded").await?;
    let (mut cal, _) = Member::join(&one).await?;
    ann.sees_join_of(&cal.me).await?;
    let (mut dee, _) = Member::join(&two).await?;
    ben.sees_join_of(&dee.me).await?;

    // Redis is back, empty: the peers the outage kept apart meet.
    redis.restart()?;
    health_is(&one, "ok").await?;
    health_is(&two, "ok").await?;
    cal.sees_join_of(&dee.me).await?;
    dee.sees_join_of(&cal.me).await?;
    dee.signal(&cal.me, b"offer from dee");
    cal.gets_signal(&dee.me, b"offer from dee").await?;
    cal.signal(&dee.me, b"answer from cal");
    dee.gets_signal(&cal.me, b"answer from cal").await?;
    // Listed again by the next heartbeats (a listing that a starved
    // instance let lapse comes back with its next one: poll, not once).
    let ids: Vec<String> = [&ann, &ben, &cal, &dee].iter().map(|member| member.me.clone()).collect();
    check::eventually("every peer listed in Redis again", || {
        let listed = redis.cli(&["ZRANGE", &format!("corkboard:members:{ROOM}"), "0", "-1"]);
        let ids = ids.clone();
        async move {
            let listed = listed?;
            let missing: Vec<&String> = ids.iter().filter(|id| !listed.contains(id.as_str())).collect();
            ensure!(missing.is_empty(), "{missing:?} not listed in Redis again: {listed}");
            Ok(())
        }
    })
    .await?;

    // Instance two is killed outright: its peers leave the others' view.
    // (What the outage and the recovery told them is behind them: a
    // departure and return seen then is not this one.)
    ann.forget_seen();
    cal.forget_seen();
    two.kill();
    ann.sees_leave_of(&ben.me).await?;
    ann.sees_leave_of(&dee.me).await?;
    cal.sees_leave_of(&dee.me).await?;
    check::eventually("instance one lists only its own two peers", || {
        let health = one.health();
        async move {
            let health = health?;
            ensure!(
                health["status"] == "ok" && health["peers"] == 2 && health["peers_elsewhere"] == 0,
                "instance one: {health}"
            );
            Ok(())
        }
    })
    .await?;
    drop((ben, dee));
    Ok(())
}
