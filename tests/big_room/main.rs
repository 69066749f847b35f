//! A board with more people than a full mesh holds, for real: two
//! always-on relays (`corkboard-peer serve --relay`), sixty native peers
//! (`corkboard-peer serve`, each its own process and data directory) and
//! two headless Chromiums on one board, over real WebRTC through the real
//! signaling server. Every note written anywhere reaches every disk and
//! page, each plain peer holds a handful of links (not sixty), and a drag
//! in one browser shows in the other while the hand is still moving.
//!
//! Its own test binary: sixty peers load the machine, and cargo runs test
//! binaries one after another, so no other scenario shares its minutes.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use corkboard_e2e::harness::{Browser, NativePeer, Served, Signaling};
use corkboard_e2e::{action, check, find};

#[allow(dead_code)]
#[path = "../e2e/support.rs"]
mod support;

/// Native peers besides the two relays.
const PEERS: usize = 60;
/// The longest a room this size may take to hold every note everywhere
/// (debug builds, sixty processes on two cores): the checks still poll, so
/// a fast machine does not wait for it.
const CONVERGED_WITHIN: Duration = Duration::from_secs(240);
/// Past a full mesh a plain peer keeps two relays, its three picks and the
/// few that pick it (about 10 at most in a room this size, 14 at worst in
/// 200 random rooms); anything near sixty means the policy is not working.
const MOST_LINKS_OF_A_PLAIN_PEER: usize = 16;

/// Where peer `n` writes its note: a grid right of the seed note, all of it
/// inside a 1280×800 window.
fn grid(n: usize) -> (f64, f64) {
    let (column, row) = (n % 10, n / 10);
    (300.0 + 80.0 * column as f64, 40.0 + 80.0 * row as f64)
}

/// The links a `serve` holds now, by its log: those it said were connected
/// and has not said were closed since (a link that never opened is closed
/// too, with no "connected" before it).
fn open_links(served: &Served) -> usize {
    let mut open = BTreeSet::new();
    for line in served.log().lines() {
        let Some(link) = line.split(" link=").nth(1).and_then(|rest| rest.split(' ').take(2).nth(1)) else {
            continue;
        };
        // A closing line may say "the peer connected again": it is read first.
        if line.contains("peer disconnected") || line.contains("misbehaving peer") {
            open.remove(link);
        } else if line.contains("peer connected") {
            open.insert(link.to_owned());
        }
    }
    open.len()
}

/// The ids of the cards a native peer's disk holds.
fn card_ids(peer: &NativePeer, link: &str) -> Result<BTreeSet<String>> {
    let shown = peer.show(link)?;
    Ok(shown["cards"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|card| card["id"].as_str().map(str::to_owned))
        .collect())
}

/// The whole numbers in the connection status of a page.
async fn status_numbers(client: &fantoccini::Client) -> Result<Vec<usize>> {
    let text = check::element(client, find::STATUS).await?.text().await?;
    Ok(check::numbers(&text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_peers_and_two_relays_share_a_board_with_a_few_links_each_and_a_drag_shows_live() -> Result<()>
{
    let started = Instant::now();
    let signaling = Signaling::start()?;
    let url = signaling.url();

    let first = NativePeer::new("big-relay-1")?;
    let link = first.new_board("A board for a hundred people")?;
    let seed = first.add_note(&link, "Drag me", 40.0, 40.0)?;
    let second = NativePeer::new("big-relay-2")?;
    let relays = [
        first.spawn_serve(&url, &["--relay", "--name", "Relay one"])?,
        second.spawn_serve(&url, &["--relay", "--board", &link, "--name", "Relay two"])?,
    ];

    let mut peers = Vec::new();
    let mut served = Vec::new();
    for n in 0..PEERS {
        let peer = NativePeer::new(&format!("big-peer-{n}"))?;
        let name = format!("Peer {n}");
        served.push(peer.spawn_serve(&url, &["--board", &link, "--name", &name])?);
        peers.push(peer);
    }
    eprintln!("{} peers serving after {:.0?}", PEERS + 2, started.elapsed());
    // Each writes a note while the room is live (its running `serve` takes
    // it from the board's inbox and passes it on).
    let mut notes = BTreeSet::from([seed.clone()]);
    for (n, peer) in peers.iter().enumerate() {
        let (x, y) = grid(n);
        notes.insert(peer.add_note(&link, &format!("Note from peer {n}"), x, y)?);
    }

    // Every disk ends up with every note.
    let everyone: Vec<&NativePeer> = [&first, &second].into_iter().chain(&peers).collect();
    let mut missing: Vec<usize> = (0..everyone.len()).collect();
    check::eventually_within(CONVERGED_WITHIN, "every native peer holds every note", || {
        missing.retain(|&at| !card_ids(everyone[at], &link).is_ok_and(|cards| cards == notes));
        let left = missing.len();
        async move {
            ensure!(left == 0, "{left} of {} native peers still miss notes", PEERS + 2);
            Ok(())
        }
    })
    .await?;
    eprintln!("every disk holds every note after {:.0?}", started.elapsed());
    for (n, process) in served.iter_mut().enumerate() {
        ensure!(process.is_running(), "peer {n} stopped:\n{}", process.log());
    }

    // Two people open it in browsers: they get the whole board too.
    let alice = Browser::start().await?;
    let bob = Browser::start().await?;
    let board_url = signaling.board_url(&link)?;
    alice.open(&board_url).await?;
    bob.open(&board_url).await?;
    let (a, b) = (alice.client(), bob.client());
    let whole = format!(r#"{}[data-cards="{}"]"#, find::BOARD, notes.len());
    check::eventually_within(CONVERGED_WITHIN, "both pages hold every note", || async {
        check::element(a, &whole).await?;
        check::element(b, &whole).await
    })
    .await?;

    eprintln!("both pages hold every note after {:.0?}", started.elapsed());
    // Bob drags the seed note and holds it: Alice sees it move before he lets go.
    support::click_empty(b, 150.0, 500.0).await?;
    let before = support::card_look(a, &seed).await?;
    let card = check::element(b, &find::card(&seed)).await?;
    action::hold_drag(b, &card, (60.0, 8.0), (240.0, 120.0)).await?;
    let dragging = format!("{}.remote-dragging", find::card(&seed));
    check::element(a, &dragging).await.context("Alice does not see Bob's drag while he holds it")?;
    check::on_page(a, "the held card drawn where Bob holds it", || async {
        let look = support::card_look(a, &seed).await?;
        ensure!(look["x"] != before["x"] && look["y"] != before["y"], "still drawn at {look}");
        Ok(())
    })
    .await?;
    alice.shot("big-room-live-drag").await?;
    action::release(b).await?;
    let dropped = support::card_look(b, &seed).await?;
    support::card_looks(a, &seed, &dropped).await?;
    check::absent(a, &dragging).await?;

    // The move reaches the disks through the relays.
    check::native(&peers[PEERS - 1], &link, "the last peer has the moved card", |shown| {
        shown["cards"].as_array().into_iter().flatten().any(|card| {
            card["id"] == seed.as_str() && card["x"].as_f64().is_some_and(|x| (x - 40.0).abs() > 1.0)
        })
    })
    .await?;

    // Each plain peer holds a few links; the relays hold the rest.
    let links: Vec<usize> = served.iter().map(open_links).collect();
    let most = links.iter().copied().max().unwrap_or(0);
    let mean = links.iter().sum::<usize>() as f64 / links.len() as f64;
    let relay_links: Vec<usize> = relays.iter().map(open_links).collect();
    eprintln!("links per plain peer: most {most}, mean {mean:.1}; relays {relay_links:?}");
    ensure!(most <= MOST_LINKS_OF_A_PLAIN_PEER, "a plain peer holds {most} links: {links:?}");
    ensure!(mean <= 9.0, "plain peers hold {mean:.1} links on average: {links:?}");
    ensure!(links.iter().all(|n| *n >= 2), "a plain peer holds fewer than 2 links: {links:?}");
    for page in [a, b] {
        let numbers = status_numbers(page).await?;
        ensure!(
            numbers.iter().all(|n| *n <= MOST_LINKS_OF_A_PLAIN_PEER),
            "a page holds too many links: {numbers:?}"
        );
    }
    bob.close().await?;
    alice.close().await
}
