//! Real network paths, in network namespaces on this machine (see
//! `corkboard_e2e::netns`): peers with no route to each other meet through
//! a real TURN server (coturn) with the credentials the signaling server
//! hands out; peers behind NAT meet directly through STUN. Skipped, saying
//! so, where namespaces cannot be made (not root).

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use corkboard_e2e::harness::{self, Browser, NativePeer, Signaling};
use corkboard_e2e::netns::{Lab, Site, Turn};
use corkboard_e2e::{check, find};
use serde_json::Value;

use crate::support;

/// A lab, or `None` (and a visible message) where none can be made.
fn lab(test: &str) -> Result<Option<Lab>> {
    if let Some(why) = Lab::unavailable() {
        eprintln!("SKIPPED {test}: {why}");
        return Ok(None);
    }
    Lab::new().map(Some)
}

/// A small real PNG in a fresh file.
fn png(name: &str) -> Result<std::path::PathBuf> {
    let path = harness::temp_dir(name)?.join(format!("{name}.png"));
    let mut bytes = Vec::new();
    image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([(x * 6) as u8, (y * 8) as u8, 90]))
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)?;
    std::fs::write(&path, bytes)?;
    Ok(path)
}

fn cards(shown: &Value) -> Vec<Value> {
    shown["cards"].as_array().cloned().unwrap_or_default()
}

/// The signaling server in the wan handing out `turn` with `secret` (and
/// STUN on the same server).
fn signaling_with_turn(lab: &Lab, turn: &Turn, secret: &str) -> Result<Signaling> {
    let wan = lab.wan_ip();
    let flags = vec![
        format!("--stun=stun:{wan}:{}", turn.port),
        format!("--turn-url=turn:{wan}:{}", turn.port),
        format!("--turn-secret={secret}"),
    ];
    Signaling::start_in(Some(lab.wan()), &format!("{wan}:0"), None, &flags)
}

/// A TURN server and the signaling server handing it out in `lab`'s wan,
/// and two peer namespaces on it.
fn relay_sites(lab: &mut Lab, secret: &str) -> Result<(Turn, Signaling, String, String)> {
    let turn = Turn::start(lab, secret)?;
    let signaling = signaling_with_turn(lab, &turn, secret)?;
    let (here, there) = (lab.peer(Site::Wan)?, lab.peer(Site::Wan)?);
    Ok((turn, signaling, here, there))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_with_no_route_to_each_other_meet_through_the_turn_server_handed_out() -> Result<()> {
    let Some(mut lab) = lab("relay only")? else { return Ok(()) };
    let (turn, signaling, here, there) = relay_sites(&mut lab, "relay-test-secret")?;

    let server = NativePeer::new("relay-serve")?.in_netns(&here);
    let link = server.new_board("Across two networks")?;
    let note = server.add_note(&link, "Through the relay", 10.0, 20.0)?;
    let picture = png("relay-picture")?;
    server.run_ok(&["add-image", "--board", &link, "--file", &picture.to_string_lossy()])?;
    let serve = server.spawn_serve(&signaling.url(), &[])?;

    // The other side is given nothing but the signaling server's URL.
    let joiner = NativePeer::new("relay-sync")?.in_netns(&there);
    let synced = joiner.sync(&signaling.url(), &link, Duration::from_secs(90))?;
    ensure!(
        synced.success,
        "sync failed:\n{}\n--- serve:\n{}\n--- turn:\n{}",
        synced.stderr,
        serve.log(),
        turn.log()
    );
    let shown = joiner.show(&link)?;
    let cards = cards(&shown);
    ensure!(
        cards.iter().any(|card| card["id"] == note.as_str() && card["text"] == "Through the relay"),
        "the note did not arrive: {shown}"
    );
    let image = cards.iter().find(|card| card["kind"] == "image").context("no image card arrived")?;
    let hash = image["image"].as_str().unwrap_or_default();
    let blob = joiner.data_dir().join("blobs").join(hash);
    ensure!(
        std::fs::read(&blob).ok() == std::fs::read(&picture).ok(),
        "the image's bytes did not arrive whole at {}",
        blob.display()
    );
    // The only path there is: through the relay, and both sides say so.
    ensure!(synced.stderr.contains("relayed"), "sync does not say the path was relayed:\n{}", synced.stderr);
    ensure!(serve.log().contains("relayed"), "serve does not say the path was relayed:\n{}", serve.log());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_behind_their_own_nat_meet_directly_through_stun() -> Result<()> {
    let Some(mut lab) = lab("behind NAT")? else { return Ok(()) };
    // The internet routes between the routers; nothing routes to the
    // addresses behind them.
    lab.route_between_sites()?;
    // A STUN server only: no relay exists, so a connection is direct.
    let turn = Turn::start(&lab, "unused-secret")?;
    let wan = lab.wan_ip();
    let flags = vec![format!("--stun=stun:{wan}:{}", turn.port)];
    let signaling = Signaling::start_in(Some(lab.wan()), &format!("{wan}:0"), None, &flags)?;
    let (here, there) = (lab.peer(Site::Nat)?, lab.peer(Site::Nat)?);

    let server = NativePeer::new("nat-serve")?.in_netns(&here);
    let link = server.new_board("Behind two routers")?;
    let note = server.add_note(&link, "Hole punched", 5.0, 5.0)?;
    let serve = server.spawn_serve(&signaling.url(), &[])?;
    let joiner = NativePeer::new("nat-sync")?.in_netns(&there);
    let synced = joiner.sync(&signaling.url(), &link, Duration::from_secs(90))?;
    ensure!(synced.success, "sync failed:\n{}\n--- serve:\n{}", synced.stderr, serve.log());
    ensure!(
        cards(&joiner.show(&link)?).iter().any(|card| card["id"] == note.as_str()),
        "the note did not arrive"
    );
    ensure!(
        synced.stderr.contains("direct (through NAT)"),
        "sync does not say it went directly through the NAT:\n{}",
        synced.stderr
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_turn_secret_is_reported_not_a_silent_hang() -> Result<()> {
    let Some(mut lab) = lab("wrong TURN secret")? else { return Ok(()) };
    let turn = Turn::start(&lab, "the-real-secret")?;
    // The signaling server was configured with another secret: every
    // credential it hands out is refused by the TURN server.
    let signaling = signaling_with_turn(&lab, &turn, "a-stale-secret")?;
    let (here, there) = (lab.peer(Site::Wan)?, lab.peer(Site::Wan)?);
    let server = NativePeer::new("badturn-serve")?.in_netns(&here);
    let link = server.new_board("Unreachable")?;
    let serve = server.spawn_serve(&signaling.url(), &["--relay-only"])?;
    let joiner = NativePeer::new("badturn-sync")?.in_netns(&there);
    let synced = joiner.sync_with(&signaling.url(), &link, Duration::from_secs(30), &["--relay-only"])?;
    ensure!(!synced.success, "sync cannot succeed without a relay:\n{}", synced.stderr);
    ensure!(
        synced.stderr.contains("no TURN server gave a relay address"),
        "sync does not say the TURN server refused its credentials:\n{}\n--- serve:\n{}",
        synced.stderr,
        serve.log()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_given_refused_turn_credentials_says_so() -> Result<()> {
    let Some(mut lab) = lab("browser, wrong TURN secret")? else { return Ok(()) };
    let turn = Turn::start(&lab, "the-real-secret")?;
    let wan = lab.wan_ip();
    // The signaling server signs with another secret: the TURN server
    // refuses every credential it hands out (as it would expired ones).
    let flags =
        vec![format!("--turn-url=turn:{wan}:{}", turn.port), "--turn-secret=a-stale-secret".to_owned()];
    let dist = harness::dist_dir()?;
    let signaling = Signaling::start_in(Some(lab.wan()), &format!("{wan}:0"), Some(&dist), &flags)?;
    let there = lab.peer(Site::Wan)?;
    let native = NativePeer::new("badturn-browser-native")?.in_netns(&there);
    let link = native.new_board("Refused relay")?;
    let _serve = native.spawn_serve(&signaling.url(), &["--relay-only"])?;

    let browser = Browser::start().await?;
    let client = browser.client();
    browser.open(&signaling.board_url(&link)?).await?;
    let said = check::text_contains(client, find::TOAST, "refused this app's credentials").await;
    if let Err(error) = said {
        anyhow::bail!("{error}\n--- turn:\n{}", turn.log());
    }
    browser.shot("networks-browser-turn-refused").await?;
    browser.close().await
}

/// A browser here and a native peer in a namespace with no route between
/// them: they meet through TURN. With `udp_blocked`, the browser's side
/// lets no UDP out, so it must reach the relay over TCP.
async fn browser_and_native_meet_through_turn(udp_blocked: bool) -> Result<()> {
    let what = if udp_blocked { "browser without UDP" } else { "browser relay" };
    let Some(mut lab) = lab(what)? else { return Ok(()) };
    let secret = "browser-relay-secret";
    let turn = Turn::start(&lab, secret)?;
    let wan = lab.wan_ip();
    let mut flags = vec![
        format!("--turn-url=turn:{wan}:{}", turn.port),
        format!("--turn-url=turn:{wan}:{}?transport=tcp", turn.port),
        format!("--turn-secret={secret}"),
    ];
    if !udp_blocked {
        flags.push(format!("--stun=stun:{wan}:{}", turn.port));
    }
    let dist = harness::dist_dir()?;
    let signaling = Signaling::start_in(Some(lab.wan()), &format!("{wan}:0"), Some(&dist), &flags)?;
    if udp_blocked {
        lab.block_udp_from_here()?;
    }
    let there = lab.peer(Site::Wan)?;
    let native =
        NativePeer::new(&format!("{}-native", if udp_blocked { "tcp" } else { "relay" }))?.in_netns(&there);
    let link = native.new_board("Browser meets terminal")?;
    let native_note = native.add_note(&link, "From the other network", 60.0, 60.0)?;
    let serve = native.spawn_serve(&signaling.url(), &[])?;

    let browser = Browser::start().await?;
    let client = browser.client();
    browser.open(&signaling.board_url(&link)?).await?;
    let arrived = check::value_is(client, &find::note_text(&native_note), "From the other network").await;
    if let Err(error) = arrived {
        anyhow::bail!("{error}\n--- serve:\n{}\n--- turn:\n{}", serve.log(), turn.log());
    }
    check::element(client, r#"[data-testid="person"][data-path="relay"]"#).await?;
    browser.shot(if udp_blocked { "networks-browser-turn-tcp" } else { "networks-browser-relay" }).await?;

    let web_note = support::add_note(client, 400.0, 260.0, "Back through the relay").await?;
    support::click_empty(client, 900.0, 600.0).await?;
    check::native(&native, &link, "the native peer has the browser's note", |shown| {
        cards(shown)
            .iter()
            .any(|card| card["id"] == web_note.as_str() && card["text"] == "Back through the relay")
    })
    .await?;
    ensure!(serve.log().contains("relayed"), "serve does not say the path was relayed:\n{}", serve.log());
    if udp_blocked {
        ensure!(turn.log().contains("TCP"), "the browser did not reach the relay over TCP:\n{}", turn.log());
    }
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_and_a_native_peer_with_no_route_meet_through_turn() -> Result<()> {
    browser_and_native_meet_through_turn(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_on_a_network_without_udp_meets_through_turn_over_tcp() -> Result<()> {
    browser_and_native_meet_through_turn(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_running_peer_keeps_fresh_turn_credentials() -> Result<()> {
    let Some(mut lab) = lab("TURN credential refresh")? else { return Ok(()) };
    {
        let secret = "refresh-secret";
        let turn = Turn::start(&lab, secret)?;
        let wan = lab.wan_ip();
        // Credentials that last two seconds: whatever `serve` got when it
        // joined has long expired when the other peer comes.
        let flags = vec![
            format!("--turn-url=turn:{wan}:{}", turn.port),
            format!("--turn-secret={secret}"),
            "--turn-ttl=2".to_owned(),
        ];
        let signaling = Signaling::start_in(Some(lab.wan()), &format!("{wan}:0"), None, &flags)?;
        let (here, there) = (lab.peer(Site::Wan)?, lab.peer(Site::Wan)?);
        let server = NativePeer::new("refresh-serve")?.in_netns(&here);
        let link = server.new_board("Long running")?;
        let note = server.add_note(&link, "Still reachable", 1.0, 1.0)?;
        let serve = server.spawn_serve(&signaling.url(), &["--relay-only"])?;
        tokio::time::sleep(Duration::from_secs(6)).await;
        let joiner = NativePeer::new("refresh-sync")?.in_netns(&there);
        let synced = joiner.sync_with(&signaling.url(), &link, Duration::from_secs(60), &["--relay-only"])?;
        ensure!(
            synced.success,
            "sync failed:\n{}\n--- serve:\n{}\n--- turn:\n{}",
            synced.stderr,
            serve.log(),
            turn.log()
        );
        ensure!(cards(&joiner.show(&link)?).iter().any(|card| card["id"] == note.as_str()), "no note");
    }
    Ok(())
}

/// How long `corkboard-peer sync` takes to converge with a `serve` peer,
/// and the image throughput, directly and through TURN, in one run on one
/// lab: `cargo test -p corkboard-e2e --test e2e -- --ignored through_turn --nocapture`
/// (run by `./x bench`). Prints a Markdown table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: ./x bench"]
async fn bench_sync_and_throughput_through_turn_against_direct() -> Result<()> {
    let Some(mut lab) = lab("TURN benchmark")? else { return Ok(()) };
    lab.route_between_sites()?;
    let (_turn, signaling, here, there) = relay_sites(&mut lab, "bench-secret")?;
    let server = NativePeer::new("bench-serve")?.in_netns(&here);
    let small = server.new_board("Small")?;
    server.add_note(&small, "one note", 1.0, 1.0)?;
    let big = server.new_board("An image")?;
    // Noise does not compress: the PNG is about as big as its pixels.
    let picture = harness::temp_dir("bench-picture")?.join("noise.png");
    let mut state = 0x2545_f491_u32;
    let noise = image::RgbImage::from_fn(1500, 1500, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [r, g, b, _] = state.to_le_bytes();
        image::Rgb([r, g, b])
    });
    noise.save(&picture)?;
    let image_bytes = std::fs::metadata(&picture)?.len() as f64;
    server.run_ok(&["add-image", "--board", &big, "--file", &picture.to_string_lossy()])?;
    let mut results = Vec::new();
    for (mode, flags) in [("direct", &[][..]), ("through TURN (relay only)", &["--relay-only"][..])] {
        let serve = server.spawn_serve(&signaling.url(), flags)?;
        let times = |link: &str, runs: usize| -> Result<Vec<f64>> {
            let mut seconds = Vec::new();
            for run in 0..runs {
                let joiner = NativePeer::new(&format!("bench-sync-{run}"))?.in_netns(&there);
                let started = std::time::Instant::now();
                let synced = joiner.sync_with(&signaling.url(), link, Duration::from_secs(120), flags)?;
                ensure!(synced.success, "sync failed ({mode}):\n{}", synced.stderr);
                seconds.push(started.elapsed().as_secs_f64());
            }
            seconds.sort_by(f64::total_cmp);
            Ok(seconds)
        };
        let small_times = times(&small, 5)?;
        let big_times = times(&big, 3)?;
        let (small_median, big_median) = (small_times[small_times.len() / 2], big_times[big_times.len() / 2]);
        let throughput = image_bytes / (big_median - small_median).max(0.001) / 1e6;
        results.push((mode, small_median, throughput));
        serve.stop();
    }
    println!("### Through TURN against direct (network namespaces, coturn {REALM_NOTE})\n");
    println!("Median of 5 `sync` runs of a one-note board (process start to converged) and of 3 of a");
    println!(
        "board with a {:.1} MB image (throughput: the image over the extra time), same lab, same run.\n",
        image_bytes / 1e6
    );
    println!("| path | converged sync | image throughput |");
    println!("|---|---:|---:|");
    for (mode, sync, throughput) in &results {
        println!("| {mode} | {:.2} s | {:.1} MB/s |", sync, throughput);
    }
    if let [(_, direct_sync, direct_mb), (_, relay_sync, relay_mb)] = results[..] {
        println!("| ratio TURN / direct | {:.2}× | {:.2}× |", relay_sync / direct_sync, relay_mb / direct_mb);
    }
    println!();
    Ok(())
}

/// Named in the benchmark's heading.
const REALM_NOTE: &str = "4.6, UDP relay";
