//! Web app benchmarks in real headless Chromium, printed as a table for
//! BENCHMARKS.md (`./x bench` records it):
//!
//! - payload: the built app's wasm, js and css, gzip -9;
//! - first paint: opening a 1,000-card board (held in IndexedDB) until the
//!   frame with its cards is painted (the app's `corkboard:board-drawn` mark);
//! - frame cost: per pointer move while dragging a card among 1,000, the
//!   page's own work (event handler, reactive updates, style and layout,
//!   forced) minus an empty baseline; paint is outside it;
//! - live motion: a pointer move dispatched in browser A until browser B's
//!   DOM shows the card there (B's MutationObserver; both clocks are this
//!   machine's), browser↔browser over a real WebRTC data channel.
//!
//! `cargo bench -p corkboard-e2e --bench ui [-- --quick]`, after the web app
//! is built into ui/dist (`./x bench` does both).

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use board_key::BoardKey;
use board_key::link::ShareLink;
use board_model::{Board, BoardId, CardId, Color, Content, NewCard, Point};
use corkboard_e2e::harness::{self, Browser, NativePeer, Signaling};
use corkboard_e2e::{check, find};
use serde_json::{Value, json};

const CARDS: usize = 1_000;

/// A board of 1,000 notes in a grid, written into a native peer's data dir.
fn big_board(data: &Path) -> Result<ShareLink> {
    let mut key = [0u8; 32];
    peer::random::fill(&mut key);
    let link = ShareLink {
        board: uuid::Builder::from_random_bytes(peer::random::bytes16()).into_uuid(),
        key: BoardKey(key),
    };
    let mut board = Board::create(BoardId(link.board), "A thousand cards", peer::random::replica())?;
    let cards = (0..CARDS)
        .map(|i| NewCard {
            id: CardId::from_random_bytes(peer::random::bytes16()),
            position: Point { x: (i % 40) as f64 * 240.0, y: (i / 40) as f64 * 180.0 },
            size: None,
            color: (i % 5 != 0).then(|| Color::Preset((i % 6 + 1) as u8)),
            content: Content::Note {
                text: format!("Note {i}: a few words to make it look like a real board"),
            },
            created_by: "bench".into(),
            created_at: 0,
        })
        .collect();
    board.add_cards(cards)?;
    peer::storage::DataDir::open(data)?.create(&link, &board)?;
    Ok(link)
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn gzip_size(path: &Path) -> Result<usize> {
    let bytes = std::fs::read(path)?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&bytes)?;
    Ok(encoder.finish()?.len())
}

fn payload() -> Result<(usize, usize, usize)> {
    let (mut wasm, mut js, mut css) = (0, 0, 0);
    for entry in std::fs::read_dir(harness::dist_dir()?)? {
        let path = entry?.path();
        let size = || gzip_size(&path);
        match path.extension().and_then(|e| e.to_str()) {
            Some("wasm") => wasm += size()?,
            Some("js") => js += size()?,
            Some("css") => css += size()?,
            _ => {}
        }
    }
    Ok((wasm, js, css))
}

/// Frame cost per pointer move while dragging the first card (ms): (baseline, costs).
const FRAME_COST: &str = r#"
const [n] = arguments; const done = arguments[arguments.length - 1];
const card = document.querySelector('[data-card-id]');
const r = card.getBoundingClientRect();
let x = r.left + 30, y = r.top + 12;
const channel = new MessageChannel(); let wake;
channel.port1.onmessage = () => wake();
const task = () => new Promise(r => { wake = r; channel.port2.postMessage(0); });
const frame = () => new Promise(r => requestAnimationFrame(r));
const ev = (type, buttons) => new PointerEvent(type, { bubbles: true, cancelable: true, clientX: x, clientY: y,
  pointerId: 1, pointerType: 'mouse', isPrimary: true, button: 0, buttons });
(async () => {
  const base = [], costs = [];
  for (let i = 0; i < n; i++) { await frame(); const t0 = performance.now(); await task(); void document.body.offsetHeight; base.push(performance.now() - t0); }
  card.dispatchEvent(ev('pointerdown', 1)); await task();
  for (let i = 0; i < n; i++) {
    await frame();
    x += 2; y += 1;
    const t0 = performance.now();
    card.dispatchEvent(ev('pointermove', 1));
    await task(); void document.body.offsetHeight;
    costs.push(performance.now() - t0);
  }
  card.dispatchEvent(ev('pointerup', 0));
  done({ base, costs });
})();
"#;

/// In the receiving browser: record when card `id`'s drawn position changes.
const OBSERVE: &str = r#"
const [id] = arguments;
const el = document.querySelector(`[data-card-id="${id}"]`);
if (!el) return false;
window.__arrivals = [];
new MutationObserver(() => window.__arrivals.push([performance.timeOrigin + performance.now(), el.style.transform]))
  .observe(el, { attributes: true, attributeFilter: ['style'] });
return el.style.transform;
"#;

/// In the sending browser: drag card `id` in `n` steps of 3 px, one every `gap` ms.
const DRAG: &str = r#"
const [id, n, gap] = arguments; const done = arguments[arguments.length - 1];
const card = document.querySelector(`[data-card-id="${id}"]`);
const r = card.getBoundingClientRect();
let x = r.left + 30, y = r.top + 12;
const ev = (type, buttons) => new PointerEvent(type, { bubbles: true, cancelable: true, clientX: x, clientY: y,
  pointerId: 1, pointerType: 'mouse', isPrimary: true, button: 0, buttons });
const sleep = ms => new Promise(r => setTimeout(r, ms));
(async () => {
  card.dispatchEvent(ev('pointerdown', 1));
  await sleep(gap);
  // Past the drag threshold first.
  x += 6; card.dispatchEvent(ev('pointermove', 1)); await sleep(gap * 4);
  const sends = [];
  for (let i = 1; i <= n; i++) {
    x += 3;
    sends.push([i, performance.timeOrigin + performance.now()]);
    card.dispatchEvent(ev('pointermove', 1));
    await sleep(gap);
  }
  await sleep(500);
  card.dispatchEvent(ev('pointerup', 0));
  done(sends);
})();
"#;

fn translate_x(transform: &str) -> Option<f64> {
    transform.strip_prefix("translate(")?.split("px").next()?.trim().parse().ok()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (first_paint_runs, frame_moves, live_moves) = if quick { (3, 60, 60) } else { (7, 300, 300) };
    let mut rows: Vec<[String; 3]> = Vec::new();

    let (wasm, js, css) = payload()?;
    let total = wasm + js + css;
    rows.push([
        "web app payload, gzip -9 (wasm + js + css)".into(),
        format!(
            "{:.2} MB ({} KB wasm, {} KB js, {} KB css)",
            total as f64 / 1e6,
            wasm / 1000,
            js / 1000,
            css / 1000
        ),
        "≤ 1.2 MB".into(),
    ]);

    let signaling = Signaling::start()?;
    let native = NativePeer::new("ui-bench")?;
    let link = big_board(native.data_dir())?;
    let app_link = link.to_app_link();
    let served = native.spawn_serve(&signaling.url(), &["--board", &app_link])?;
    let url = signaling.board_url(&app_link)?;

    let alice = Browser::start().await?;
    let a = alice.client();
    alice.open(&url).await?;
    check::count(a, find::NOTE, CARDS).await.context("the 1,000-card board never arrived")?;
    check::element(a, r#"[data-testid="board"][data-saved="true"]"#).await?;

    // First paint of the board from IndexedDB, on reload.
    let mut paints = Vec::new();
    for _ in 0..first_paint_runs {
        a.refresh().await?;
        let mark = check::script(
            a,
            "the board-drawn mark",
            "const m = performance.getEntriesByName('corkboard:board-drawn')[0];
             return m ? { t: m.startTime, cards: document.querySelectorAll('[data-card-id]').length } : null;",
            vec![],
        )
        .await?;
        if mark["cards"].as_u64() != Some(CARDS as u64) {
            alice.shot("bench-first-paint").await?;
            bail!("first paint showed {} cards, not {CARDS}", mark["cards"]);
        }
        paints.push(mark["t"].as_f64().unwrap_or(f64::NAN));
    }
    rows.push([
        format!(
            "open a {CARDS}-card board (reload, from IndexedDB) to first paint, median of {first_paint_runs}"
        ),
        format!("{:.0} ms (p95 {:.0} ms)", percentile(&paints, 50.0), percentile(&paints, 95.0)),
        String::new(),
    ]);
    check::count(a, find::NOTE, CARDS).await?;

    // Frame cost while dragging among 1,000 cards.
    let result = a.execute_async(FRAME_COST, vec![json!(frame_moves)]).await?;
    let numbers = |v: &Value| -> Vec<f64> {
        v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
    };
    let (base, costs) = (numbers(&result["base"]), numbers(&result["costs"]));
    let baseline = percentile(&base, 50.0);
    let cost: Vec<f64> = costs.iter().map(|c| (c - baseline).max(0.0)).collect();
    rows.push([
        format!("frame cost per pointer move, dragging among {CARDS} cards ({frame_moves} moves)"),
        format!(
            "p50 {:.2} ms, p95 {:.2} ms (baseline {:.2} ms subtracted)",
            percentile(&cost, 50.0),
            percentile(&cost, 95.0),
            baseline
        ),
        "≤ 4 ms p95".into(),
    ]);

    // Live motion browser → browser.
    let bob = Browser::start().await?;
    let b = bob.client();
    bob.open(&url).await?;
    check::count(b, find::NOTE, CARDS).await?;
    check::peers(a, 2).await?;
    check::peers(b, 2).await?;
    let ids = a
        .execute(
            "return [...document.querySelectorAll('[data-card-id]')].slice(-1).map(e => e.dataset.cardId)",
            vec![],
        )
        .await?;
    let id = ids[0].as_str().context("no card")?.to_owned();
    let start = check::script(b, "an observer on the card", OBSERVE, vec![json!(id)]).await?;
    let x0 = translate_x(start.as_str().unwrap_or_default()).context("no start position")?;
    let sends = a.execute_async(DRAG, vec![json!(id), json!(live_moves), json!(16)]).await?;
    let arrivals = b.execute("return window.__arrivals", vec![]).await?;
    let mut first_seen: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
    for arrival in arrivals.as_array().into_iter().flatten() {
        let (Some(at), Some(x)) = (arrival[0].as_f64(), arrival[1].as_str().and_then(translate_x)) else {
            continue;
        };
        let step = ((x - x0 - 6.0) / 3.0).round() as i64;
        first_seen.entry(step).or_insert(at);
    }
    let latencies: Vec<f64> = sends
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| Some(first_seen.get(&s[0].as_i64()?)? - s[1].as_f64()?))
        .collect();
    rows.push([
        format!(
            "live motion browser → browser: pointer move in A to B's DOM ({} of {live_moves} moves seen)",
            latencies.len()
        ),
        format!("p50 {:.2} ms, p95 {:.2} ms", percentile(&latencies, 50.0), percentile(&latencies, 95.0)),
        "p95 ≤ 2 ms".into(),
    ]);

    println!("### Web app in headless Chromium {}", chromium_version());
    println!();
    println!(
        "Release build with the `web` profile (opt-level z, LTO), wasm-opt -Oz; loopback WebRTC; Chromium's timers are coarsened to 0.1 ms."
    );
    println!();
    println!("| what | figure | target |");
    println!("|---|---:|---|");
    for [what, figure, target] in rows {
        println!("| {what} | {figure} | {target} |");
    }
    bob.close().await?;
    alice.close().await?;
    served.stop();
    Ok(())
}

fn chromium_version() -> String {
    std::process::Command::new(harness::CHROMIUM)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().trim_start_matches("Chromium ").to_owned())
        .unwrap_or_default()
}
