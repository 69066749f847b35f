//! Rooms of 10, 30, 60 and 100 devices (two of them always-on relays) in
//! the room harness's deterministic world (`tests/it/net.rs`: the real
//! `Room`s, sessions, boards and sealed signals; connections that take
//! simulated time to build): how long the room takes to hold one board
//! everywhere, the bytes each device sends, the links it holds, and what
//! one person moving their cursor costs — bytes per device, how long until
//! everyone sees it, and the processor time the whole room spends on it.
//! Printed as Markdown (`cargo bench -p board-room --bench big_room`).

use board_model::Point;
use board_model::presence::State;
use board_room::Event;
use rand::RngExt;

#[allow(dead_code)]
#[path = "../tests/it/net.rs"]
mod net;

use net::{CLEAN, World};

const RELAYS: usize = 2;
const EDITS: usize = 40;
/// Cursor updates of the moving person: one second at 60 a second.
const MOVES: usize = 60;
const FRAME_MS: u64 = 16;
/// Rounds of the moving person against a still room, interleaved, for the
/// processor time (its median).
const ROUNDS: usize = 5;

struct Figures {
    devices: usize,
    converged_ms: u64,
    links_mean: f64,
    links_most: usize,
    relay_links: f64,
    sync_kb_mean: f64,
    sync_kb_most: f64,
    relay_sync_kb: f64,
    seen_within_ms: u64,
    move_bytes_mean: f64,
    relay_move_bytes: f64,
    /// A plain device's and a relay's processor time per cursor update.
    plain_us_per_move: f64,
    relay_us_per_move: f64,
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn cursor(step: usize) -> State {
    State { cursor: Some(Point { x: step as f64 * 3.0, y: 40.0 }), ..State::default() }
}

fn sent(world: &World) -> Vec<u64> {
    world.devices.iter().map(|device| device.sent_bytes).collect()
}

/// Bytes each device sent since `before`: (plain devices, relays).
fn split(world: &World, before: &[u64]) -> (Vec<f64>, Vec<f64>) {
    let (mut plain, mut relays) = (Vec::new(), Vec::new());
    for (device, start) in world.devices.iter().zip(before) {
        let bytes = (device.sent_bytes - start) as f64;
        if device.relay { relays.push(bytes) } else { plain.push(bytes) }
    }
    (plain, relays)
}

fn measure(devices: usize) -> Figures {
    let mut world = World::with_relays(7, devices, RELAYS, CLEAN);
    let plain = devices - RELAYS;
    for device in (plain..devices).chain(0..plain) {
        world.join(device);
        if world.rng.random_bool(0.3) {
            world.edit();
        }
        world.advance(100);
    }
    for _ in 0..EDITS {
        world.edit();
        world.advance(200);
    }
    let after_edits = world.now;
    while !(world.converged() && world.tidy().is_ok()) {
        assert!(world.now - after_edits < 120_000, "{devices} devices never settled:\n{}", world.report());
        world.advance(100);
    }
    let converged_ms = world.now - after_edits;
    let (sync_plain, sync_relays) = split(&world, &vec![0; devices]);
    let links: Vec<usize> = (0..plain).map(|d| world.devices[d].room.connected_peers()).collect();
    let relay_links: Vec<f64> =
        (plain..devices).map(|d| world.devices[d].room.connected_peers() as f64).collect();

    // One person moves their cursor for a second; everyone else is still.
    let mover = 0;
    let replica = mover as u64 + 1;
    let before = sent(&world);
    for device in &mut world.devices {
        device.events.clear();
    }
    for step in 0..MOVES {
        world.set_presence(mover, cursor(step));
        world.advance(FRAME_MS);
    }
    let last = cursor(MOVES - 1);
    // The last update was followed by one frame's time already.
    let mut seen_within_ms = FRAME_MS;
    let sees = |world: &World, d: usize| {
        world.devices[d]
            .events
            .iter()
            .any(|e| matches!(e, Event::Presence { peer, state } if *peer == replica && *state == last))
    };
    while !(0..devices).filter(|&d| d != mover).all(|d| sees(&world, d)) {
        assert!(seen_within_ms < 5_000, "{devices} devices: the last cursor never reached everyone");
        world.advance(FRAME_MS);
        seen_within_ms += FRAME_MS;
    }
    world.advance(1_000);
    let (move_plain, move_relays) = split(&world, &before);

    // Processor time inside the rooms (not the simulated network's): one
    // person moving against the same room still, for the same simulated
    // time, interleaved.
    let busy = |world: &World| -> (f64, f64) {
        let (mut plain, mut relays) = (0.0, 0.0);
        for device in &world.devices {
            let secs = device.busy.as_secs_f64();
            if device.relay { relays += secs } else { plain += secs }
        }
        (plain, relays)
    };
    let (mut moving, mut still) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let before = busy(&world);
        for step in 0..MOVES {
            world.set_presence(mover, cursor(MOVES * (round + 2) + step));
            world.advance(FRAME_MS);
        }
        let after = busy(&world);
        moving.push((after.0 - before.0, after.1 - before.1));
        for _ in 0..MOVES {
            world.advance(FRAME_MS);
        }
        let rested = busy(&world);
        still.push((rested.0 - after.0, rested.1 - after.1));
        for device in &mut world.devices {
            device.events.clear();
        }
    }
    let per_move = |pick: fn(&(f64, f64)) -> f64| {
        let moving = median(moving.iter().map(pick).collect());
        let still = median(still.iter().map(pick).collect());
        (moving - still).max(0.0) * 1e6 / MOVES as f64
    };
    let (plain_us, relays_us) = (per_move(|t| t.0), per_move(|t| t.1));

    Figures {
        devices,
        converged_ms,
        links_mean: mean(&links.iter().map(|n| *n as f64).collect::<Vec<_>>()),
        links_most: links.iter().copied().max().unwrap_or(0),
        relay_links: mean(&relay_links),
        sync_kb_mean: mean(&sync_plain) / 1024.0,
        sync_kb_most: sync_plain.iter().copied().fold(0.0, f64::max) / 1024.0,
        relay_sync_kb: mean(&sync_relays) / 1024.0,
        seen_within_ms,
        move_bytes_mean: mean(&move_plain),
        relay_move_bytes: mean(&move_relays),
        plain_us_per_move: plain_us / plain as f64,
        relay_us_per_move: relays_us / RELAYS as f64,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let sizes = [10, 30, 60, 100];
    let figures: Vec<Figures> = sizes.iter().map(|&n| measure(n)).collect();
    println!("### Rooms of 10 to 100 devices, two of them relays (room harness, release build)");
    println!();
    println!(
        "Deterministic world of `board-room/tests/it/net.rs` (seed 7, no faults): devices join 100 ms apart, \
         {EDITS} edits 200 ms apart, then the room settles; then one person moves their cursor {MOVES} times \
         {FRAME_MS} ms apart. Time is simulated (connections take simulated time to build, frames arrive \
         at once); bytes are the real frames the sessions send. The processor time is spent inside the rooms \
         (inputs, outputs, frames out; not the simulated network's), per cursor update: moving against \
         still, median of {ROUNDS} interleaved rounds."
    );
    println!();
    println!(
        "| devices | settled after the last edit | links per device: mean / most (relays) | sent per device while joining and editing: mean / most (relays) | a cursor update reaches everyone within | cursor second: sent per device (relays) | processor time per cursor update: a device (a relay) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for f in &figures {
        println!(
            "| {} | {} ms | {:.1} / {} ({:.0}) | {:.1} KiB / {:.1} KiB ({:.1} KiB) | {} ms | {:.0} B ({:.0} B) | {:.1} µs ({:.0} µs) |",
            f.devices,
            f.converged_ms,
            f.links_mean,
            f.links_most,
            f.relay_links,
            f.sync_kb_mean,
            f.sync_kb_most,
            f.relay_sync_kb,
            f.seen_within_ms,
            f.move_bytes_mean,
            f.relay_move_bytes,
            f.plain_us_per_move,
            f.relay_us_per_move,
        );
    }
}
