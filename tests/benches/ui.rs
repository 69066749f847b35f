//! Web app benchmarks in real headless Chromium, printed as a table for
//! BENCHMARKS.md (`./x bench` records it):
//!
//! - payload: the built app's wasm, js and css, gzip -9;
//! - first paint: opening a 1,000-card board (held in IndexedDB) until the
//!   frame with its cards is painted (the app's `corkboard:board-drawn` mark);
//! - frame cost: per pointer move while dragging a card among 1,000, the
//!   page's own work (event handler, reactive updates, style and layout,
//!   forced) minus an empty baseline; paint is outside it; and dragging a
//!   card with 50 edges among 1,000 cards and 2,000 edges;
//! - history: on 1,000 cards with 1,000,000 moves of past (100,000 with
//!   `--quick`), opening the history view and each slider step, from the
//!   `input` event until the board showing that moment is laid out;
//! - live motion: a pointer move dispatched in browser A until browser B's
//!   DOM shows the card there (B's MutationObserver; both clocks are this
//!   machine's), browser↔browser over a real WebRTC data channel; in turn
//!   with the baseline, Yjs + y-webrtc doing the same move stream between
//!   two other Chromiums (`tests/benches/yjs`): as awareness (presence,
//!   what a live drag is for us) and in the Y.Doc, until the receiver's
//!   awareness or document has it; medians of several runs, their spread,
//!   and the ratios;
//! - live motion browser↔native: the same, between a browser and the
//!   desktop app's embedded native peer (an in-process `peer::node` whose
//!   local link plays the desktop page): a pointer move in the browser until
//!   the relayed presence reaches the local link, and a drag on the local
//!   link until the browser's DOM shows it;
//! - live motion through a relay: the two browsers on a board past a full
//!   mesh (a `corkboard-peer serve --relay` and 16 other native peers),
//!   not linked to each other, so each move goes browser → relay →
//!   browser; beside the direct figure of the same run.
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
use corkboard_e2e::{action, check, find};
use fantoccini::Client;
use serde_json::{Value, json};

const CARDS: usize = 1_000;

/// Edges on the map board: the first card's, and all of them.
const HUB_EDGES: usize = 50;
const EDGES: usize = 2_000;

/// A board of 1,000 notes in a grid, written into a native peer's data dir;
/// with `edges`, also 2,000 edges between them, 50 of them from the first
/// card (the card the edge frame cost drags) to the 50 after it.
fn big_board(data: &Path, title: &str, edges: bool) -> Result<(ShareLink, Vec<CardId>)> {
    grid_board(data, title, CARDS, edges)
}

/// [`big_board`] with `count` cards.
fn grid_board(data: &Path, title: &str, count: usize, edges: bool) -> Result<(ShareLink, Vec<CardId>)> {
    let link = fresh_link();
    let mut board = Board::create(BoardId(link.board), title, peer::random::replica())?;
    let cards: Vec<NewCard> = (0..count)
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
    let ids: Vec<CardId> = cards.iter().map(|c| c.id).collect();
    board.add_cards(cards)?;
    if edges {
        // The hub's 50, then each card to its right and lower neighbours
        // (wrapping through the grid) until there are 2,000.
        let hub = (1..=HUB_EDGES).map(|to| (0, to));
        let grid = (1..CARDS).flat_map(|i| [(i, (i + 1) % CARDS), (i, (i + 40) % CARDS)]);
        let edges = hub
            .chain(grid)
            .take(EDGES)
            .map(|(from, to)| {
                let id = board_model::EdgeId::from_random_bytes(peer::random::bytes16());
                board_model::NewEdge::between(id, ids[from], ids[to])
            })
            .collect();
        board.add_edges(edges)?;
    }
    peer::storage::DataDir::open(data)?.create(&link, &board)?;
    Ok((link, ids))
}

/// A new board's link with a random key.
fn fresh_link() -> ShareLink {
    let mut key = [0u8; 32];
    peer::random::fill(&mut key);
    ShareLink {
        board: uuid::Builder::from_random_bytes(peer::random::bytes16()).into_uuid(),
        key: BoardKey(key),
    }
}

/// The board the history view scrubs through: the native history bench's
/// 1,000 cards with `moves` moves of past (`board_model::sample`).
fn history_board(data: &Path, moves: usize) -> Result<(ShareLink, usize)> {
    let link = fresh_link();
    let board = board_model::sample::worked_board(
        BoardId(link.board),
        peer::random::replica(),
        1_796_634_000_000,
        moves,
    )?;
    let changes = board.history().changes().len();
    peer::storage::DataDir::open(data)?.create(&link, &board)?;
    Ok((link, changes))
}

/// Waits until the open board holds `cards` cards (only those near the
/// view are drawn).
async fn all_cards(client: &Client, cards: usize) -> Result<fantoccini::elements::Element> {
    check::element(client, &format!(r#"[data-testid="board"][data-cards="{cards}"]"#)).await
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
        // The file worker is fetched only to export or import a file.
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("corkboard-file-worker")) {
            continue;
        }
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

/// Frame cost per pointer move while dragging card `id` (ms): (baseline, costs).
const FRAME_COST: &str = r#"
const [n, id] = arguments; const done = arguments[arguments.length - 1];
const card = document.querySelector(`[data-card-id="${id}"]`);
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

/// Opens the history view from the File menu: ms from the click until the
/// panel is laid out, and the slider's last step.
/// After a board's page was opened: ms from the navigation's start until
/// the first card is in the page and until the board holds `cards` cards
/// (or null past `limit` ms).
const JOIN: &str = r#"
const [cards, limit] = arguments; const done = arguments[arguments.length - 1];
const frame = () => new Promise(r => requestAnimationFrame(r));
// From the click on the link (the app routes by the address's fragment: no
// new document), or from the navigation's start if there was one.
const start = window.__joinStart ?? 0;
(async () => {
  let first = null;
  for (;;) {
    await frame();
    const now = performance.now() - start;
    if (first === null && document.querySelector('[data-card-id]')) first = now;
    const board = document.querySelector('[data-testid="board"]');
    if (board && Number(board.dataset.cards) === cards && board.dataset.receiving === 'false') { done({ first, all: now }); return; }
    if (now > limit) { done({ first, all: null }); return; }
  }
})();
"#;

const HISTORY_OPEN: &str = r#"
const done = arguments[arguments.length - 1];
const channel = new MessageChannel(); let wake;
channel.port1.onmessage = () => wake();
const task = () => new Promise(r => { wake = r; channel.port2.postMessage(0); });
(async () => {
  document.querySelector('[data-testid="file"]').click(); await task();
  // The longest gap between two frames while the view opens: how long the page stopped.
  let longest = 0, last = performance.now(), watching = true;
  const watch = () => {
    const now = performance.now(); longest = Math.max(longest, now - last); last = now;
    if (watching) requestAnimationFrame(watch);
  };
  requestAnimationFrame(watch);
  const t0 = performance.now();
  document.querySelector('[data-testid="open-history"]').click();
  await task(); void document.body.offsetHeight;
  const open = performance.now() - t0;
  let slider;
  while (!(slider = document.querySelector('[data-testid="history-slider"]'))) {
    await new Promise(r => setTimeout(r, 5));
  }
  void document.body.offsetHeight;
  const ready = performance.now() - t0;
  await new Promise(r => requestAnimationFrame(r));
  watching = false;
  done({ open, ready, longest, max: Number(slider.max) });
})();
"#;

/// Moves the history slider to each step in turn, as a drag does (one
/// `input` event a frame): ms from the event until the board showing that
/// moment is laid out, for each.
const HISTORY_STEPS: &str = r#"
const [steps] = arguments; const done = arguments[arguments.length - 1];
const channel = new MessageChannel(); let wake;
channel.port1.onmessage = () => wake();
const task = () => new Promise(r => { wake = r; channel.port2.postMessage(0); });
const frame = () => new Promise(r => requestAnimationFrame(r));
const slider = document.querySelector('[data-testid="history-slider"]');
(async () => {
  const costs = [];
  for (const step of steps) {
    await frame();
    const t0 = performance.now();
    slider.value = String(step);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    await task(); void document.body.offsetHeight;
    costs.push(performance.now() - t0);
  }
  done(costs);
})();
"#;

/// In the receiving browser: record when card `id`'s drawn position changes.
const OBSERVE: &str = r#"
const [id] = arguments;
const el = document.querySelector(`[data-card-id="${id}"]`);
if (!el) return false;
window.__arrivals = [];
if (window.__observer) window.__observer.disconnect();
window.__observer = new MutationObserver(() => window.__arrivals.push([performance.timeOrigin + performance.now(), el.style.transform]));
window.__observer.observe(el, { attributes: true, attributeFilter: ['style'] });
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

/// Milliseconds since the Unix epoch, as the browsers' `timeOrigin + now()`.
fn epoch_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// The desktop side of live motion: an in-process native node serving the
/// board, and a session on its local link standing in for the desktop page.
/// A task pumps the link; it notes when card `watched` is seen dragged in
/// relayed presence, and sets the local presence it is handed.
struct NativeSide {
    _node: peer::node::NodeHandle,
    presence: tokio::sync::mpsc::UnboundedSender<board_model::presence::State>,
    /// (when, board x) of each relayed drag of the watched card.
    arrivals: std::sync::Arc<std::sync::Mutex<Vec<(f64, f64)>>>,
    /// (cards on the local link's board, peers relayed to it).
    seen: tokio::sync::watch::Receiver<(usize, usize)>,
}

impl NativeSide {
    async fn start(signal: &str, link: &ShareLink, watched: CardId, dir: &Path) -> Result<NativeSide> {
        use board_model::session::{self, Event};
        use board_model::{Session, blob::MemoryStore, presence};
        let config = peer::node::Config {
            signal_url: signal.to_owned(),
            signal_ca: None,
            relay: false,
            identity: presence::Identity { name: "Desktop".into(), color: "#336699".into() },
            transport: peer::transport::Options {
                udp_addrs: vec!["127.0.0.1:0".into()],
                ..Default::default()
            },
        };
        let node = peer::node::spawn(config, peer::storage::DataDir::open(dir)?);
        let peer::node::LocalLink { mut from_node, to_node, .. } = node.open(link.clone()).await?;
        let (presence_tx, mut presence_rx) = tokio::sync::mpsc::unbounded_channel::<presence::State>();
        let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (seen_tx, seen) = tokio::sync::watch::channel((0, 0));
        let replica = peer::random::replica();
        let identity = presence::Identity { name: "Desktop page".into(), color: "#aa3355".into() };
        let mut config = session::Config::new(replica.0, identity);
        config.accept_relayed_presence = true;
        let mut session = Session::new(config);
        let mut board = Board::empty(replica)?;
        let mut blobs = MemoryStore::new();
        let noted = arrivals.clone();
        tokio::spawn(async move {
            let mut relayed = std::collections::HashSet::new();
            let mut ticker = tokio::time::interval(std::time::Duration::from_millis(100));
            loop {
                tokio::select! {
                    frame = from_node.recv() => {
                        let Some(frame) = frame else { return };
                        let now = epoch_ms();
                        if session.receive(&frame, &mut board, &mut blobs, now as u64).is_err() {
                            return;
                        }
                        while let Some(event) = session.poll_event() {
                            match event {
                                Event::RelayedPresence { peer, state, .. } => {
                                    relayed.insert(peer);
                                    for (id, at) in state.dragging {
                                        if id == watched && let Ok(mut noted) = noted.lock() {
                                            noted.push((now, at.x));
                                        }
                                    }
                                }
                                Event::RelayedLeft { peer } => {
                                    relayed.remove(&peer);
                                }
                                _ => {}
                            }
                        }
                    }
                    state = presence_rx.recv() => {
                        let Some(state) = state else { return };
                        session.set_presence(state);
                    }
                    _ = ticker.tick() => session.tick(&board, epoch_ms() as u64),
                }
                board.take_changes();
                while let Some(frame) = session.poll_transmit(&board, &blobs) {
                    if to_node.send(frame).is_err() {
                        return;
                    }
                }
                let _ = seen_tx.send((board.card_count(), relayed.len()));
            }
        });
        Ok(NativeSide { _node: node, presence: presence_tx, arrivals, seen })
    }

    /// Waits until the local link holds the whole board and knows `peers` others.
    async fn ready(&mut self, peers: usize) -> Result<()> {
        let wait = self.seen.wait_for(|(cards, relayed)| *cards >= CARDS && *relayed >= peers);
        tokio::time::timeout(std::time::Duration::from_secs(120), wait)
            .await
            .context("the native side never got the board and its peers")??;
        Ok(())
    }
}

/// Latencies (ms) of the moves in `sends` (`[step, sent at]`) first seen in
/// `arrivals` (`(when, board x)`), a step being 3 px past `x0 + 6`.
fn latencies(sends: &[(i64, f64)], arrivals: &[(f64, f64)], x0: f64) -> Vec<f64> {
    let mut first_seen: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
    for (at, x) in arrivals {
        first_seen.entry(((x - x0 - 6.0) / 3.0).round() as i64).or_insert(*at);
    }
    sends.iter().filter_map(|(step, sent)| Some(first_seen.get(step)? - sent)).collect()
}

/// `[[step, sent at], …]` from the DRAG script's answer.
fn sends_of(value: &Value) -> Vec<(i64, f64)> {
    value.as_array().into_iter().flatten().filter_map(|s| Some((s[0].as_i64()?, s[1].as_f64()?))).collect()
}

/// `(when, board x)` from the OBSERVE script's `window.__arrivals`.
fn arrivals_of(value: &Value) -> Vec<(f64, f64)> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((a[0].as_f64()?, translate_x(a[1].as_str()?)?)))
        .collect()
}

fn translate_x(transform: &str) -> Option<f64> {
    transform.strip_prefix("translate(")?.split("px").next()?.trim().parse().ok()
}

/// The live-motion baseline, Yjs + y-webrtc (`tests/benches/yjs`, set up by
/// `./x bench`): y-webrtc's signaling server and two browsers on its page,
/// each with its own profile (so every move goes over WebRTC, none through
/// a BroadcastChannel).
struct YjsPair {
    server: std::process::Child,
    sender: Browser,
    receiver: Browser,
}

impl YjsPair {
    /// `None` when the baseline is not set up (`cargo bench` run by hand).
    async fn start() -> Result<Option<YjsPair>> {
        let (Ok(page), Ok(server)) =
            (std::env::var("CORKBOARD_YJS_PAGE"), std::env::var("CORKBOARD_YJS_SIGNALING"))
        else {
            return Ok(None);
        };
        let port = harness::free_port()?;
        let mut command = std::process::Command::new("node");
        command.arg(server).env("PORT", port.to_string());
        let server = node_server(command, port, "y-webrtc's signaling server").await?;
        let url = format!(
            "file://{page}?room=corkboard-bench-{}&signal=ws://127.0.0.1:{port}",
            peer::random::replica().0
        );
        let (sender, receiver) = (Browser::start().await?, Browser::start().await?);
        let pair = YjsPair { server, sender, receiver };
        for browser in [&pair.sender, &pair.receiver] {
            browser.open(&url).await?;
        }
        for browser in [&pair.sender, &pair.receiver] {
            let ready = check::script(
                browser.client(),
                "Yjs connected over WebRTC",
                "return window.__ready()",
                vec![],
            )
            .await?;
            if ready["broadcast"].as_u64() != Some(0) {
                bail!("the Yjs pages found each other through a BroadcastChannel: {ready}");
            }
        }
        Ok(Some(pair))
    }

    /// Latencies (ms) of `moves` moves of card `id` sent in the document
    /// (`kind` "doc") or as presence ("presence"), one every 16 ms, until
    /// the receiver's document or awareness has them.
    async fn latencies(&self, kind: &str, id: &str, moves: usize) -> Result<Vec<f64>> {
        let (s, r) = (self.sender.client(), self.receiver.client());
        r.execute("return window.__observe(arguments[0], arguments[1])", vec![json!(id), json!(kind)])
            .await?;
        let sends = sends_of(
            &s.execute(
                "return window.__drag(...arguments)",
                vec![json!(id), json!(kind), json!(moves), json!(16)],
            )
            .await?,
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let arrivals: Vec<(f64, f64)> = r
            .execute("return window.__arrivals", vec![])
            .await?
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| Some((a[0].as_f64()?, a[1].as_f64()?)))
            .collect();
        // Step n is at x = 3n (latencies counts from x0 + 6).
        Ok(latencies(&sends, &arrivals, -6.0))
    }

    async fn close(mut self) -> Result<()> {
        let _ = self.server.kill();
        let _ = self.server.wait();
        self.sender.close().await?;
        self.receiver.close().await
    }
}

/// Adds a row to the table, and shows it at once on stderr (a run that
/// fails later still shows what it measured).
fn note(rows: &mut Vec<[String; 3]>, row: [String; 3]) {
    eprintln!("| {} | {} | {} |", row[0], row[1], row[2]);
    rows.push(row);
}

/// A card wholly on screen in `client`, none of `used`: the topmost, or
/// the leftmost.
async fn on_screen_card(client: &Client, leftmost: bool, used: &[String]) -> Result<String> {
    let script = "const [leftmost, used] = arguments;
        const cards = [...document.querySelectorAll('[data-card-id]')].filter(e => {
          const r = e.getBoundingClientRect();
          return !used.includes(e.dataset.cardId)
            && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;
        });
        if (leftmost) cards.sort((a, b) => a.getBoundingClientRect().left - b.getBoundingClientRect().left);
        const card = leftmost ? cards[0] : cards[cards.length - 1];
        return card ? card.dataset.cardId : null;";
    let id = client.execute(script, vec![json!(leftmost), json!(used)]).await?;
    Ok(id.as_str().context("no card wholly on screen")?.to_owned())
}

/// Frame cost as the tldraw baseline measures it (tests/benches/tldraw/
/// measure.js, `frameCostToFrame`): per pointer move on the element
/// `selector`, the main-thread work of the frame it is dispatched in and
/// of the two frames after it (tldraw applies a move in its next frame),
/// the idle time between frames left out; `base` the same spans with no
/// move.
const FRAME_TO_FRAME: &str = r#"
const [n, selector] = arguments; const done = arguments[arguments.length - 1];
const el = document.querySelector(selector);
let frameStart = 0, stop = false;
const lead = () => { frameStart = performance.now(); if (!stop) requestAnimationFrame(lead); };
requestAnimationFrame(lead);
const channel = new MessageChannel(); let wake;
channel.port1.onmessage = () => wake();
const task = () => new Promise(r => { wake = r; channel.port2.postMessage(0); });
const frame = () => new Promise(r => requestAnimationFrame(r));
const layout = () => void document.body.offsetHeight;
const r0 = el.getBoundingClientRect();
let x = r0.left + 30, y = r0.top + 12;
const ev = (type, buttons) => el.dispatchEvent(new PointerEvent(type, { bubbles: true, cancelable: true,
  clientX: x, clientY: y, pointerId: 1, pointerType: 'mouse', isPrimary: true, button: 0, buttons }));
const measure = async (move) => {
  await frame();
  const t0 = performance.now();
  if (move) { x += 2; y += 1; ev('pointermove', 1); }
  await task(); layout();
  let sum = performance.now() - t0;
  for (let j = 0; j < 2; j++) {
    await frame();
    const f0 = frameStart;
    await task(); layout();
    sum += performance.now() - f0;
  }
  return sum;
};
(async () => {
  for (let i = 0; i < 3; i++) await frame();
  const base = [], costs = [];
  for (let i = 0; i < n; i++) base.push(await measure(false));
  ev('pointerdown', 1); await task();
  for (let i = 0; i < n; i++) costs.push(await measure(true));
  ev('pointerup', 0);
  stop = true;
  done({ base, costs });
})();
"#;

/// Costs less the median of the base, from a frame-cost script's answer.
fn net_costs(result: &Value) -> Vec<f64> {
    let base = numbers(&result["base"]);
    let base = percentile(&base, 50.0);
    numbers(&result["costs"]).iter().map(|c| (c - base).max(0.0)).collect()
}

/// Starts a baseline's `node` server, quiet, and waits (up to 10 s) until
/// it listens on `port` of 127.0.0.1.
async fn node_server(
    mut command: std::process::Command,
    port: u16,
    what: &str,
) -> Result<std::process::Child> {
    let server = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(server)
}

/// The tldraw baseline: its page (tests/benches/tldraw) served on
/// 127.0.0.1 in a Chromium of its own.
struct TldrawPage {
    server: std::process::Child,
    browser: Browser,
}

impl TldrawPage {
    /// `None` when the baseline is not set up (`cargo bench` run by hand).
    async fn start() -> Result<Option<TldrawPage>> {
        let (Ok(page), Ok(serve)) =
            (std::env::var("CORKBOARD_TLDRAW_PAGE"), std::env::var("CORKBOARD_TLDRAW_SERVE"))
        else {
            return Ok(None);
        };
        let port = harness::free_port()?;
        let mut command = std::process::Command::new("node");
        command.args([serve, page, port.to_string()]);
        let server = node_server(command, port, "the tldraw page's server").await?;
        let browser = Browser::start().await?;
        let client = browser.client();
        let mut timeouts = client.get_timeouts().await?;
        timeouts.set_script(Some(std::time::Duration::from_secs(180)));
        client.update_timeouts(timeouts).await?;
        browser.open(&format!("http://127.0.0.1:{port}/index.html")).await?;
        check::script(client, "tldraw mounted", "return !!window.bench", vec![]).await?;
        Ok(Some(TldrawPage { server, browser }))
    }

    /// tldraw's frame costs (ms, base subtracted) dragging a shape among `shapes`.
    async fn frame_costs(&self, shapes: usize, moves: usize) -> Result<Vec<f64>> {
        let client = self.browser.client();
        let setup = "const done = arguments[arguments.length - 1];
            window.bench.setup(arguments[0]).then(() => done(true), e => done(String(e)));";
        let ready = client.execute_async(setup, vec![json!(shapes)]).await?;
        if ready != Value::Bool(true) {
            bail!("tldraw with {shapes} shapes: {ready}");
        }
        let run = "const done = arguments[arguments.length - 1];
            window.bench.frameCostToFrame(arguments[0]).then(done, e => done({ error: String(e) }));";
        let result = client.execute_async(run, vec![json!(moves)]).await?;
        if let Some(error) = result.get("error") {
            bail!("tldraw's drag: {error}");
        }
        // The first move is under tldraw's drag threshold; the rest move the shape.
        if result["dx"].as_f64().unwrap_or(0.0) < moves as f64 {
            bail!("tldraw's shape did not follow the drag: {result}");
        }
        Ok(net_costs(&result))
    }

    async fn close(mut self) -> Result<()> {
        let _ = self.server.kill();
        let _ = self.server.wait();
        self.browser.close().await
    }
}

/// What one drag in `a` took to reach `b`.
struct Seen {
    /// Per move, to B's board state (its engine took the presence in).
    held: Vec<f64>,
    /// Per move, to B's DOM (the card drawn there).
    drawn: Vec<f64>,
    /// Per move seen all the way: A's pointer event to its frame handed to
    /// the data channel; from there to B's message event; from there to B's
    /// board state; from there to B's DOM.
    parts: Vec<[f64; 4]>,
}

/// Ours browser → browser: card `id` dragged in A by `moves` pointer moves,
/// one every 16 ms, until B's board state has each and B's DOM draws it
/// (both pages tracing: `corkboard:trace`).
async fn ours_browser_to_browser(
    a: &fantoccini::Client,
    b: &fantoccini::Client,
    id: &str,
    moves: usize,
) -> Result<Seen> {
    let start = check::script(b, "an observer on the card", OBSERVE, vec![json!(id)]).await?;
    let x0 = translate_x(start.as_str().unwrap_or_default()).context("no start position")?;
    b.execute("window.__corkboardPresence = []; window.__corkboardReceived = []", vec![]).await?;
    a.execute("window.__corkboardSent = []", vec![]).await?;
    let sends = sends_of(&a.execute_async(DRAG, vec![json!(id), json!(moves), json!(16)]).await?);
    let drawn = arrivals_of(&b.execute("return window.__arrivals", vec![]).await?);
    let held = numbers_pairs(&b.execute("return window.__corkboardPresence", vec![]).await?);
    let framed = numbers_pairs(&a.execute("return window.__corkboardSent", vec![]).await?);
    let received = numbers_pairs(&b.execute("return window.__corkboardReceived", vec![]).await?);
    let first = |arrivals: &[(f64, f64)]| {
        let mut first: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
        for (at, x) in arrivals {
            first.entry(((x - x0 - 6.0) / 3.0).round() as i64).or_insert(*at);
        }
        first
    };
    let (held_at, drawn_at) = (first(&held), first(&drawn));
    let parts = sends
        .iter()
        .filter_map(|(step, sent)| {
            let framed = framed.iter().map(|(at, _)| *at).find(|at| at >= sent)?;
            let (held, drawn) = (*held_at.get(step)?, *drawn_at.get(step)?);
            // The last message event B began before it held the move.
            let began = received.iter().map(|(at, _)| *at).rfind(|at| *at <= held)?;
            (framed <= began).then_some([framed - sent, began - framed, held - began, drawn - held])
        })
        .collect();
    Ok(Seen { held: latencies(&sends, &held, x0), drawn: latencies(&sends, &drawn, x0), parts })
}

/// `[[a, b], …]` as pairs of numbers.
fn numbers_pairs(value: &Value) -> Vec<(f64, f64)> {
    value.as_array().into_iter().flatten().filter_map(|a| Some((a[0].as_f64()?, a[1].as_f64()?))).collect()
}

/// Times from navigation to the first painted frame with cards of a board
/// of `count` cards this browser holds, reloading it `runs` times.
async fn first_paints(browser: &Browser, count: usize, runs: usize) -> Result<Vec<f64>> {
    let a = browser.client();
    let mut paints = Vec::new();
    for _ in 0..runs {
        a.refresh().await?;
        let mark = check::script(
            a,
            "the board-drawn mark",
            "const m = performance.getEntriesByName('corkboard:board-drawn')[0];
             const board = document.querySelector('[data-testid=board]');
             return m ? { t: m.startTime, cards: Number(board?.dataset.cards), drawn: document.querySelectorAll('[data-card-id]').length } : null;",
            vec![],
        )
        .await?;
        if mark["cards"].as_u64() != Some(count as u64) || mark["drawn"].as_u64() == Some(0) {
            browser.shot("bench-first-paint").await?;
            bail!("first paint showed {} cards, not {count}", mark["cards"]);
        }
        paints.push(mark["t"].as_f64().unwrap_or(f64::NAN));
    }
    all_cards(a, count).await?;
    Ok(paints)
}

/// Runs' medians of p50 and p95 with their spread, over runs of latencies.
struct Runs {
    p50: Vec<f64>,
    p95: Vec<f64>,
    seen: usize,
    sent: usize,
}

impl Runs {
    fn new() -> Runs {
        Runs { p50: Vec::new(), p95: Vec::new(), seen: 0, sent: 0 }
    }

    fn add(&mut self, latencies: &[f64], moves: usize) {
        self.p50.push(percentile(latencies, 50.0));
        self.p95.push(percentile(latencies, 95.0));
        self.seen += latencies.len();
        self.sent += moves;
    }

    fn median(values: &[f64]) -> f64 {
        percentile(values, 50.0)
    }

    fn spread(values: &[f64]) -> String {
        let (min, max) =
            values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
        format!("{min:.2}–{max:.2}")
    }

    fn row(&self, what: &str, target: &str) -> [String; 3] {
        [
            format!("{what} ({} runs, {} of {} moves seen)", self.p50.len(), self.seen, self.sent),
            format!(
                "p50 {:.2} ms ({}), p95 {:.2} ms ({})",
                Runs::median(&self.p50),
                Runs::spread(&self.p50),
                Runs::median(&self.p95),
                Runs::spread(&self.p95)
            ),
            target.into(),
        ]
    }

    /// Ours against a baseline: the ratios of the runs' medians.
    fn ratio_row(&self, baseline: &Runs, what: &str) -> [String; 3] {
        [
            what.into(),
            format!(
                "p50 {:.2}×, p95 {:.2}×",
                Runs::median(&self.p50) / Runs::median(&baseline.p50),
                Runs::median(&self.p95) / Runs::median(&baseline.p95)
            ),
            "≤ 1.0".into(),
        ]
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    // `CORKBOARD_BENCH_SECTIONS=history,live` runs only those parts (every
    // part by default): frames, history, join, tldraw, live.
    let sections = std::env::var("CORKBOARD_BENCH_SECTIONS").ok();
    let wants =
        |section: &str| sections.as_deref().is_none_or(|list| list.split(',').any(|s| s.trim() == section));
    let (first_paint_runs, frame_moves, live_moves) = if quick { (3, 60, 60) } else { (7, 300, 300) };
    let (history_steps, history_jumps) = if quick { (30, 10) } else { (200, 50) };
    let mut rows: Vec<[String; 3]> = Vec::new();

    let (wasm, js, css) = payload()?;
    let total = wasm + js + css;
    note(
        &mut rows,
        [
            "web app payload, gzip -9 (wasm + js + css)".into(),
            format!(
                "{:.2} MB ({} KB wasm, {} KB js, {} KB css)",
                total as f64 / 1e6,
                wasm / 1000,
                js / 1000,
                css / 1000
            ),
            "≤ 1.2 MB".into(),
        ],
    );

    let signaling = Signaling::start()?;
    let native = NativePeer::new("ui-bench")?;
    let (link, cards) = big_board(native.data_dir(), "A thousand cards", false)?;
    let (map, map_cards) = big_board(native.data_dir(), "A thousand cards and two thousand edges", true)?;
    let app_link = link.to_app_link();
    let map_link = map.to_app_link();
    let history_moves = if quick { 100_000 } else { 1_000_000 };
    let history = if wants("history") {
        let (past, changes) = history_board(native.data_dir(), history_moves)?;
        Some((past.to_app_link(), changes))
    } else {
        None
    };
    // Boards a fresh browser joins from the native peer: the join curve.
    let join_sizes: &[usize] = match (quick, wants("join") || wants("tldraw")) {
        (_, false) => &[],
        (true, true) => &[1_000, 5_000],
        (false, true) => &[1_000, 5_000, 10_000, 20_000],
    };
    let mut joins = Vec::new();
    for &size in join_sizes {
        let (link, _) = grid_board(native.data_dir(), &format!("{size} cards to join"), size, false)?;
        joins.push((size, link.to_app_link()));
    }
    let mut served_links = vec![app_link.clone(), map_link.clone()];
    served_links.extend(history.iter().map(|(link, _)| link.clone()));
    served_links.extend(joins.iter().map(|(_, link)| link.clone()));
    let board_args: Vec<&str> = served_links.iter().flat_map(|link| ["--board", link.as_str()]).collect();
    let mut served = Some(native.spawn_serve(&signaling.url(), &board_args)?);
    let url = signaling.board_url(&app_link)?;

    let alice = Browser::start().await?;
    let a = alice.client();
    alice.open(&url).await?;
    all_cards(a, CARDS).await.context("the 1,000-card board never arrived")?;
    check::element(a, r#"[data-testid="board"][data-saved="true"]"#).await?;

    if wants("frames") {
        // First paint of the board from IndexedDB, on reload.
        let paints = first_paints(&alice, CARDS, first_paint_runs).await?;
        note(
            &mut rows,
            [
                format!(
                    "open a {CARDS}-card board (reload, from IndexedDB) to first paint, median of {first_paint_runs}"
                ),
                format!("{:.0} ms (p95 {:.0} ms)", percentile(&paints, 50.0), percentile(&paints, 95.0)),
                String::new(),
            ],
        );
        all_cards(a, CARDS).await?;

        // Frame cost while dragging among 1,000 cards.
        note(
            &mut rows,
            frame_cost_row(
                a,
                cards[0],
                frame_moves,
                format!("frame cost per pointer move, dragging among {CARDS} cards ({frame_moves} moves)"),
            )
            .await?,
        );

        // The same on the map board: the dragged card pulls 50 of its 2,000 edges.
        alice.open(&signaling.board_url(&map_link)?).await?;
        all_cards(a, CARDS).await.context("the map board never arrived")?;
        check::element(a, &format!(r#"[data-testid="board"][data-edges="{EDGES}"]"#))
            .await
            .context("the map board's edges never arrived")?;
        check::element(a, r#"[data-testid="board"][data-saved="true"]"#).await?;
        note(&mut rows, frame_cost_row(
            a,
            map_cards[0],
            frame_moves,
            format!(
                "frame cost per pointer move, dragging a card with {HUB_EDGES} edges among {CARDS} cards and {EDGES} edges ({frame_moves} moves)"
            ),
        )
        .await?);
    }

    if let Some((past_link, changes)) = history.clone() {
        // The history view on a board with a long past: opening it, a drag of
        // the slider back one change a step, jumps to random moments.
        let joining = std::time::Instant::now();
        alice.open(&signaling.board_url(&past_link)?).await?;
        check::eventually_within(
            std::time::Duration::from_secs(300),
            "the history board's cards",
            || async {
                let shown = a
                    .execute(
                        "const b = document.querySelector(arguments[0]);
                     return b && b.dataset.receiving === 'false' ? Number(b.dataset.cards) : -1",
                        vec![json!(find::BOARD)],
                    )
                    .await?;
                if shown.as_u64() != Some(CARDS as u64) {
                    bail!("{shown} cards held, or still receiving");
                }
                Ok(())
            },
        )
        .await
        .context("the history board never arrived")?;
        let joined = joining.elapsed();
        check::element(a, r#"[data-testid="board"][data-receiving="false"][data-saved="true"]"#).await?;
        let opened = a.execute_async(HISTORY_OPEN, vec![]).await?;
        let steps = opened["max"].as_u64().context("no history slider")?;
        if steps as usize != changes {
            bail!("the history shows {steps} of the board's {changes} changes");
        }
        let open = opened["open"].as_f64().unwrap_or(f64::NAN);
        let ready = opened["ready"].as_f64().unwrap_or(f64::NAN);
        let longest = opened["longest"].as_f64().unwrap_or(f64::NAN);
        let drag: Vec<u64> = (1..=history_steps as u64).map(|i| steps.saturating_sub(i)).collect();
        let dragged = numbers(&a.execute_async(HISTORY_STEPS, vec![json!(drag)]).await?);
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut random_steps = |count: usize| -> Vec<u64> {
            (0..count)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed % (steps + 1)
                })
                .collect()
        };
        // Jumps right after the drag, before the viewer has made its segments
        // (it makes them in idle time, not while the slider moves).
        let early_jumps = numbers(&a.execute_async(HISTORY_STEPS, vec![json!(random_steps(10))]).await?);
        let preparing = std::time::Instant::now();
        check::eventually_within(
            std::time::Duration::from_secs(300),
            "the history viewer's segments",
            || async { check::element(a, r#"[data-testid="history"][data-ready="true"]"#).await.map(|_| ()) },
        )
        .await?;
        let prepared = preparing.elapsed();
        let mut jumped = Vec::new();
        for _ in 0..history_jumps / 10 {
            jumped.extend(numbers(&a.execute_async(HISTORY_STEPS, vec![json!(random_steps(10))]).await?));
        }
        alice.shot("bench-history").await?;
        action::click(a, r#"[data-testid="history-close"]"#).await?;
        note(
            &mut rows,
            [
                format!(
                    "join the history board from a native peer, {CARDS} cards with {history_moves} moves of past (open to all of it held)"
                ),
                format!("{:.1} s", joined.as_secs_f64()),
                String::new(),
            ],
        );
        note(
            &mut rows,
            [
                format!(
                    "open the history view of {CARDS} cards with {history_moves} moves in {changes} changes: click to panel laid out; to the slider ready (the history read in the file worker); the longest the page stopped meanwhile (gap between frames)"
                ),
                format!("{open:.0} ms; {ready:.0} ms; {longest:.0} ms"),
                String::new(),
            ],
        );
        note(
            &mut rows,
            [
                format!(
                    "history slider step, one change back ({} steps, to the board laid out)",
                    dragged.len()
                ),
                format!("p50 {:.1} ms, p95 {:.1} ms", percentile(&dragged, 50.0), percentile(&dragged, 95.0)),
                "≤ 100 ms".into(),
            ],
        );
        note(
            &mut rows,
            [
                format!(
                    "history slider jump to a random moment right after opening, before the segments are made ({} jumps)",
                    early_jumps.len()
                ),
                format!(
                    "p50 {:.1} ms, p95 {:.1} ms",
                    percentile(&early_jumps, 50.0),
                    percentile(&early_jumps, 95.0)
                ),
                String::new(),
            ],
        );
        note(
            &mut rows,
            [
                "history view: its segments made in idle time (from the last early jump until ready)".into(),
                format!("{:.1} s", prepared.as_secs_f64()),
                String::new(),
            ],
        );
        note(
            &mut rows,
            [
                format!("history slider jump to a random moment, segments made ({} jumps)", jumped.len()),
                format!("p50 {:.1} ms, p95 {:.1} ms", percentile(&jumped, 50.0), percentile(&jumped, 95.0)),
                "≤ 100 ms".into(),
            ],
        );
    }

    // Joining boards of growing size from the native peer: a board this
    // browser has never held, from the navigation to the first card drawn
    // and to every card held.
    let mut timeouts = a.get_timeouts().await?;
    timeouts.set_script(Some(std::time::Duration::from_secs(320)));
    a.update_timeouts(timeouts).await?;
    if wants("join") {
        for (size, link) in &joins {
            a.execute("window.__joinStart = performance.now()", vec![]).await?;
            alice.open(&signaling.board_url(link)?).await?;
            let joined = a.execute_async(JOIN, vec![json!(size), json!(300_000)]).await?;
            let (first, all) = (joined["first"].as_f64(), joined["all"].as_f64());
            note(
                &mut rows,
                [
                    format!(
                        "join a {size}-card board from a native peer, a fresh browser: first card drawn / every card held"
                    ),
                    match (first, all) {
                        (Some(first), Some(all)) => {
                            format!("{first:.0} ms / {all:.0} ms ({:.2} µs a card)", all * 1e3 / *size as f64)
                        }
                        (first, None) => {
                            format!(
                                "{} / not in 300 s",
                                first.map_or("none".into(), |f| format!("{f:.0} ms"))
                            )
                        }
                        (None, Some(all)) => format!("? / {all:.0} ms"),
                    },
                    if *size == 10_000 { "≤ 1 s / ≤ 3 s".into() } else { String::new() },
                ],
            );
            alice.shot(&format!("bench-join-{size}")).await?;
        }
    }

    if wants("tldraw") {
        // Frame cost beside tldraw, measured its way (a move's work in the frame
        // it came in and the two after: tldraw applies moves a frame later),
        // among 1,000 cards and among 10,000 (5,000 in a quick run), ours and
        // tldraw in turn.
        let tldraw = TldrawPage::start().await?;
        let tldraw_runs = if quick { 1 } else { 3 };
        let big = joins.iter().rev().find(|(size, _)| *size <= 10_000).cloned().context("no big board")?;
        for (count, link) in [(CARDS, app_link.clone()), big] {
            alice.open(&signaling.board_url(&link)?).await?;
            all_cards(a, count).await?;
            let (mut ours, mut theirs, mut used) = (Runs::new(), Runs::new(), Vec::new());
            for _ in 0..tldraw_runs {
                let id = on_screen_card(a, false, &used).await?;
                used.push(id.clone());
                let result =
                    a.execute_async(FRAME_TO_FRAME, vec![json!(frame_moves), json!(find::card(&id))]).await?;
                ours.add(&net_costs(&result), frame_moves);
                if let Some(tldraw) = &tldraw {
                    theirs.add(&tldraw.frame_costs(count, frame_moves).await?, frame_moves);
                }
            }
            let what = format!(
                "frame cost per pointer move with the two frames after it, dragging among {count} cards (tldraw's way)"
            );
            note(&mut rows, ours.row(&what, "p95 ≤ tldraw's"));
            if tldraw.is_some() {
                let what = format!(
                    "baseline: tldraw 5.4.2 dragging a shape among {count} shapes, measured the same way"
                );
                note(&mut rows, theirs.row(&what, ""));
                note(
                    &mut rows,
                    ours.ratio_row(&theirs, &format!("ours ÷ tldraw among {count} (medians of the runs)")),
                );
            }
            if count >= 10_000 {
                // The big board's own rows: frame cost as measured among
                // 1,000 above, and first paint from IndexedDB.
                let id = on_screen_card(a, false, &used).await?;
                let what = format!(
                    "frame cost per pointer move, dragging among {count} cards ({frame_moves} moves)"
                );
                let card: CardId = id.parse().context("a card id")?;
                note(&mut rows, frame_cost_row(a, card, frame_moves, what).await?);
                check::element(a, r#"[data-testid="board"][data-saved="true"]"#).await?;
                let paints = first_paints(&alice, count, first_paint_runs).await?;
                note(
                    &mut rows,
                    [
                        format!(
                            "open a {count}-card board (reload, from IndexedDB) to first paint, median of {first_paint_runs}"
                        ),
                        format!(
                            "{:.0} ms (p95 {:.0} ms)",
                            percentile(&paints, 50.0),
                            percentile(&paints, 95.0)
                        ),
                        "≤ 500 ms".into(),
                    ],
                );
            }
        }
        if let Some(tldraw) = tldraw {
            tldraw.close().await?;
        } else {
            note(
                &mut rows,
                [
                    "baseline: tldraw".into(),
                    "not measured (set up by `./x bench`: CORKBOARD_TLDRAW_PAGE, CORKBOARD_TLDRAW_SERVE)"
                        .into(),
                    String::new(),
                ],
            );
        }
    }

    if wants("live") {
        // Alice's page notes when each frame goes to a data channel (from
        // its next load: the page reads the switch once).
        a.execute("localStorage.setItem('corkboard:trace', '1')", vec![]).await?;
        alice.open(&url).await?;
        a.refresh().await?;
        all_cards(a, CARDS).await?;

        // Live motion browser → browser.
        let bob = Browser::start().await?;
        let b = bob.client();
        bob.open(&url).await?;
        all_cards(b, CARDS).await?;
        // Bob's page notes when remote presence reaches its board state.
        b.execute("localStorage.setItem('corkboard:trace', '1')", vec![]).await?;
        b.refresh().await?;
        all_cards(b, CARDS).await?;
        // Two browsers alone in the room, as the Yjs pair is: the native
        // peer that served the board leaves (the natives below join again).
        if let Some(served) = served.take() {
            served.stop();
        }
        check::peers(a, 1).await?;
        check::peers(b, 1).await?;
        // Ours and the Yjs baseline in turn (A B A B), so drift on a busy
        // machine falls on both.
        let yjs = YjsPair::start().await?;
        let live_runs = if quick { 2 } else { 4 };
        let (mut ours, mut ours_state, mut yjs_doc, mut yjs_presence) =
            (Runs::new(), Runs::new(), Runs::new(), Runs::new());
        let mut parts: Vec<[f64; 4]> = Vec::new();
        // Each run drags a card of its own 900 px to the right, one wholly on
        // screen: it stays drawn (in or near the view) the whole way.
        let mut used = Vec::new();
        for run in 0..live_runs {
            let id = on_screen_card(a, false, &used).await?;
            used.push(id.clone());
            let seen = ours_browser_to_browser(a, b, &id, live_moves).await?;
            ours_state.add(&seen.held, live_moves);
            ours.add(&seen.drawn, live_moves);
            parts.extend(seen.parts);
            if let Some(yjs) = &yjs {
                let card = format!("card-{run}");
                yjs_doc.add(&yjs.latencies("doc", &card, live_moves).await?, live_moves);
                yjs_presence.add(&yjs.latencies("presence", &card, live_moves).await?, live_moves);
            }
        }
        note(
            &mut rows,
            ours_state.row(
                "live motion browser → browser: pointer move in A to B's board state (the data path)",
                "p95 ≤ Yjs's",
            ),
        );
        note(
            &mut rows,
            ours.row("live motion browser → browser: pointer move in A to B's DOM (drawn)", "p95 ≤ 2 ms"),
        );
        let part = |index: usize| -> Vec<f64> { parts.iter().map(|p| p[index]).collect() };
        let parts_at = |p: f64| -> String {
            (0..4).map(|index| format!("{:.2}", percentile(&part(index), p))).collect::<Vec<_>>().join(" / ")
        };
        note(
            &mut rows,
            [
                format!(
                    "where a move's time goes, browser → browser ({} moves seen at every point): A's pointer event to its frame on the data channel / on to B's message event (Chromium's channel) / on to B's board state (B's decoding, room and engine) / on to B's DOM (B's reactive update and drawing)",
                    parts.len()
                ),
                format!("p50 {} ms, p95 {} ms", parts_at(50.0), parts_at(95.0)),
                String::new(),
            ],
        );
        if let Some(yjs) = yjs {
            note(
                &mut rows,
                yjs_presence.row(
                    "baseline: Yjs + y-webrtc, the move as awareness (presence) until B's awareness has it",
                    "",
                ),
            );
            note(
                &mut rows,
                yjs_doc.row("baseline: Yjs + y-webrtc, the move in the Y.Doc until B's Y.Doc has it", ""),
            );
            note(
                &mut rows,
                ours_state.ratio_row(
                    &yjs_presence,
                    "ours to B's board state ÷ Yjs presence, browser → browser (the same point; medians of the runs)",
                ),
            );
            note(
                &mut rows,
                ours_state.ratio_row(
                    &yjs_doc,
                    "ours to B's board state ÷ Yjs document, browser → browser (the same point; medians of the runs)",
                ),
            );
            note(
                &mut rows,
                ours.ratio_row(
                    &yjs_presence,
                    "ours to B's DOM ÷ Yjs presence, browser → browser (medians of the runs)",
                ),
            );
            yjs.close().await?;
        } else {
            note(
                &mut rows,
                [
                    "baseline: Yjs + y-webrtc".into(),
                    "not measured (set up by `./x bench`: CORKBOARD_YJS_PAGE, CORKBOARD_YJS_SIGNALING)"
                        .into(),
                    String::new(),
                ],
            );
        }

        // Live motion browser ↔ native (the desktop app's embedded peer): the
        // leftmost card on screen, dragged twice 900 px to the right.
        let id = on_screen_card(a, true, &used).await?;
        let card: CardId = id.parse().context("a card id")?;
        let native_dir = harness::temp_dir("ui-bench-native")?;
        let mut desktop = NativeSide::start(&signaling.url(), &link, card, &native_dir).await?;
        desktop.ready(2).await?;
        let script = "return document.querySelector(`[data-card-id=\"${arguments[0]}\"]`).style.transform";
        let transform = a.execute(script, vec![json!(id)]).await?;
        let x0 = translate_x(transform.as_str().unwrap_or_default()).context("no card position")?;
        let sends = sends_of(&a.execute_async(DRAG, vec![json!(id), json!(live_moves), json!(16)]).await?);
        let arrivals = desktop.arrivals.lock().map(|a| a.clone()).unwrap_or_default();
        let seen = latencies(&sends, &arrivals, x0);
        note(
            &mut rows,
            live_row(
                "browser → native: pointer move in A to the desktop peer's local link",
                &seen,
                live_moves,
            ),
        );

        let start = check::script(b, "an observer on the card", OBSERVE, vec![json!(id)]).await?;
        let x0 = translate_x(start.as_str().unwrap_or_default()).context("no start position")?;
        let mut sends = Vec::new();
        for step in 1..=live_moves as i64 {
            let at = Point { x: x0 + 6.0 + 3.0 * step as f64, y: 0.0 };
            let state = board_model::presence::State {
                cursor: Some(at),
                selection: vec![card],
                dragging: vec![(card, at)],
            };
            sends.push((step, epoch_ms()));
            desktop.presence.send(state).context("the native side stopped")?;
            tokio::time::sleep(std::time::Duration::from_millis(16)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let _ = desktop.presence.send(board_model::presence::State::default());
        let arrivals = arrivals_of(&b.execute("return window.__arrivals", vec![]).await?);
        let seen = latencies(&sends, &arrivals, x0);
        note(
            &mut rows,
            live_row(
                "native → browser: a drag on the desktop peer's local link to B's DOM",
                &seen,
                live_moves,
            ),
        );

        let (relayed, crowd) = through_a_relay(&signaling, &alice, &bob, live_runs, live_moves).await?;
        note(
            &mut rows,
            relayed.row(
                &format!("live motion browser → relay → browser: a room of {} past a full mesh, the browsers not linked", CROWD + 3),
                "",
            ),
        );
        let mut ratio =
            relayed.ratio_row(&ours, "through a relay ÷ direct, browser → browser (medians of the runs)");
        ratio[2] = "one more hop".into();
        note(&mut rows, ratio);

        bob.close().await?;
        crowd.into_iter().for_each(harness::Served::stop);
    }
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
    alice.close().await?;
    if let Some(served) = served {
        served.stop();
    }
    Ok(())
}

/// Native peers besides the relay on the board past a full mesh.
const CROWD: usize = 16;

/// The names of the people (not this one) that `client` shows as `name`,
/// each with how it reaches them (`None`: only through a relay).
async fn paths_to(client: &Client, name: &str) -> Result<Vec<Option<String>>> {
    let script = "const [name] = arguments;
        return [...document.querySelectorAll('[data-testid=\"person\"]:not(.me)')]
          .filter(e => e.title === name || e.title.startsWith(name + ' — '))
          .map(e => e.dataset.path ?? null);";
    let value = client.execute(script, vec![json!(name)]).await?;
    Ok(value.as_array().into_iter().flatten().map(|path| path.as_str().map(str::to_owned)).collect())
}

/// Live motion through a relay: `alice` and `bob` open a board that a
/// `--relay` and [`CROWD`] other native peers serve (past a full mesh, so
/// each device keeps a few links); Bob reloads (a new signaling id, new
/// neighbours) until the two are not linked to each other, then runs of
/// drags in Alice's browser are timed until Bob's DOM draws them. The
/// natives are returned to keep serving until the end.
async fn through_a_relay(
    signaling: &Signaling,
    alice: &Browser,
    bob: &Browser,
    runs: usize,
    moves: usize,
) -> Result<(Runs, Vec<harness::Served>)> {
    let relay = NativePeer::new("ui-bench-relay")?;
    let (link, _) = grid_board(relay.data_dir(), "Through a relay", 12, false)?;
    let app_link = link.to_app_link();
    // Named to sort after the browsers' people, so theirs are among the
    // avatars shown.
    let mut served =
        vec![relay.spawn_serve(&signaling.url(), &["--relay", "--board", &app_link, "--name", "~Relay"])?];
    for n in 0..CROWD {
        let peer = NativePeer::new(&format!("ui-bench-crowd-{n}"))?;
        let name = format!("~Crowd {n:02}");
        served.push(peer.spawn_serve(&signaling.url(), &["--board", &app_link, "--name", &name])?);
    }
    let url = signaling.board_url(&app_link)?;
    let (a, b) = (alice.client(), bob.client());
    alice.open(&url).await?;
    bob.open(&url).await?;
    let name = check::script(
        b,
        "Bob's own name",
        "const me = document.querySelector('[data-testid=\"person\"].me');
         return me ? me.title.replace(/ \\(you\\)$/, '') : null;",
        vec![],
    )
    .await?;
    let name = name.as_str().context("no name")?.to_owned();
    let mut apart = false;
    for _ in 0..8 {
        all_cards(a, 12).await?;
        all_cards(b, 12).await?;
        // Settled: Alice shows Bob once (a link being pruned or opened has
        // had its time), the same way twice, a few seconds apart.
        let mut seen = Vec::new();
        for _ in 0..2 {
            tokio::time::sleep(std::time::Duration::from_secs(4)).await;
            seen = check::eventually(format!("Alice shows {name} once"), || async {
                let paths = paths_to(a, &name).await?;
                anyhow::ensure!(paths.len() == 1, "Alice shows {name} as {paths:?}");
                Ok(paths)
            })
            .await?;
        }
        if seen[0].is_none() {
            apart = true;
            break;
        }
        b.refresh().await?;
    }
    anyhow::ensure!(apart, "Alice and Bob were linked directly in every try");
    let mut relayed = Runs::new();
    let mut used = Vec::new();
    for _ in 0..runs {
        let id = on_screen_card(a, false, &used).await?;
        used.push(id.clone());
        relayed.add(&ours_browser_to_browser(a, b, &id, moves).await?.drawn, moves);
    }
    Ok((relayed, served))
}

/// A table row of the frame cost of dragging `card` by `moves` pointer moves.
async fn frame_cost_row(
    client: &fantoccini::Client,
    card: CardId,
    moves: usize,
    what: String,
) -> Result<[String; 3]> {
    let result = client.execute_async(FRAME_COST, vec![json!(moves), json!(card.to_string())]).await?;
    let (base, costs) = (numbers(&result["base"]), numbers(&result["costs"]));
    if costs.len() != moves {
        bail!("{what}: {} of {moves} moves measured", costs.len());
    }
    let baseline = percentile(&base, 50.0);
    let cost: Vec<f64> = costs.iter().map(|c| (c - baseline).max(0.0)).collect();
    Ok([
        what,
        format!(
            "p50 {:.2} ms, p95 {:.2} ms (baseline {:.2} ms subtracted)",
            percentile(&cost, 50.0),
            percentile(&cost, 95.0),
            baseline
        ),
        "≤ 4 ms p95".into(),
    ])
}

/// The numbers in a script's array answer.
fn numbers(value: &Value) -> Vec<f64> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
}

/// A table row of live-motion latencies.
fn live_row(what: &str, latencies: &[f64], moves: usize) -> [String; 3] {
    [
        format!("live motion {what} ({} of {moves} moves seen)", latencies.len()),
        format!("p50 {:.2} ms, p95 {:.2} ms", percentile(latencies, 50.0), percentile(latencies, 95.0)),
        "p95 ≤ 2 ms".into(),
    ]
}

fn chromium_version() -> String {
    std::process::Command::new(harness::CHROMIUM)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().trim_start_matches("Chromium ").to_owned())
        .unwrap_or_default()
}
