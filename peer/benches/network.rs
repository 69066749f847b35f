//! Network benchmarks of the native peer over real WebRTC on loopback,
//! printed as a Markdown table (`cargo bench -p peer --bench network`):
//! data channel open time, raw data channel throughput, blob throughput
//! through the protocol session in the same run, a 10k-edit reconcile over
//! the data channel, and `sync` from start to converged through the
//! signaling server.

use std::time::{Duration, Instant};

use board_model::blob::MemoryStore;
use board_model::presence::Identity;
use board_model::session::{self, Event};
use board_model::{Board, BoardId, CardId, Content, NewCard, Point, ReplicaId, Session};
use peer::transport::{self, LinkEvent};
use tokio::sync::mpsc;

struct End {
    connection: transport::Connection,
    events: mpsc::UnboundedReceiver<LinkEvent>,
    writer: mpsc::Sender<Vec<u8>>,
}

fn options() -> transport::Options {
    transport::Options { udp_addrs: vec!["127.0.0.1:0".into()], ..transport::Options::default() }
}

async fn wait_open(events: &mut mpsc::UnboundedReceiver<LinkEvent>) -> mpsc::Sender<Vec<u8>> {
    loop {
        match events.recv().await {
            Some(LinkEvent::Open { writer, .. }) => return writer,
            Some(LinkEvent::Closed(reason)) => panic!("closed before opening: {reason}"),
            None => panic!("link gone"),
            Some(_) => {}
        }
    }
}

/// Two connected ends, SDP exchanged directly; returns them and the time
/// from the answerer receiving the offer to both channels open.
async fn link() -> (End, End, Duration) {
    let (a_tx, mut a_events) = mpsc::unbounded_channel();
    let (b_tx, mut b_events) = mpsc::unbounded_channel();
    let mut a = transport::connect(&options(), false).await.expect("connect a");
    let mut b = transport::connect(&options(), true).await.expect("connect b");
    let offer = a.offer(a_tx).await.expect("offer");
    let start = Instant::now();
    let answer = b.answer(offer, b_tx).await.expect("answer");
    a.accept_answer(answer).await.expect("accept");
    let (a_writer, b_writer) = tokio::join!(wait_open(&mut a_events), wait_open(&mut b_events));
    let opened = start.elapsed();
    (
        End { connection: a, events: a_events, writer: a_writer },
        End { connection: b, events: b_events, writer: b_writer },
        opened,
    )
}

/// Raw throughput: `total` bytes in 64 KiB - 256 messages, as fast as the channel takes them.
async fn raw_throughput(total: usize) -> f64 {
    let (a, mut b, _) = link().await;
    let message = vec![7u8; board_model::blob::CHUNK_SIZE + 64];
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        let mut sent = 0;
        while sent < total {
            if a.writer.send(message.clone()).await.is_err() {
                break;
            }
            sent += message.len();
        }
        a
    });
    let mut received = 0;
    while received < total {
        match b.events.recv().await {
            Some(LinkEvent::Message(inbound)) => received += inbound.frame.len(),
            Some(LinkEvent::Closed(reason)) => panic!("closed: {reason}"),
            None => break,
            Some(_) => {}
        }
    }
    let rate = received as f64 / start.elapsed().as_secs_f64() / 1e6;
    let a = sender.await.expect("sender");
    a.connection.close().await;
    b.connection.close().await;
    rate
}

fn identity(name: &str) -> Identity {
    Identity { name: name.into(), color: "#336699".into() }
}

/// Drives two sessions over a real link until `done` or nothing moves.
struct Driven {
    bytes: usize,
    elapsed: Duration,
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    a: &mut End,
    b: &mut End,
    board_a: &mut Board,
    board_b: &mut Board,
    blobs_a: &mut MemoryStore,
    blobs_b: &mut MemoryStore,
    sessions: (&mut Session, &mut Session),
    done: impl Fn(&Session, &Session, &Board, &Board, &MemoryStore) -> bool,
) -> Driven {
    let (sa, sb) = sessions;
    let start = Instant::now();
    let mut bytes = 0;
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    loop {
        for (session, board, blobs, writer) in
            [(&mut *sa, &*board_a, &*blobs_a, &a.writer), (&mut *sb, &*board_b, &*blobs_b, &b.writer)]
        {
            while writer.capacity() > 0 {
                let Some(frame) = session.poll_transmit(board, blobs) else { break };
                bytes += frame.len();
                if writer.try_send(frame).is_err() {
                    break;
                }
            }
        }
        if done(sa, sb, board_a, board_b, blobs_b) {
            return Driven { bytes, elapsed: start.elapsed() };
        }
        let now = start.elapsed().as_millis() as u64;
        tokio::select! {
            event = a.events.recv() => if let Some(LinkEvent::Message(inbound)) = event {
                sa.receive(&inbound.frame, board_a, blobs_a, now).expect("a receives");
            },
            event = b.events.recv() => if let Some(LinkEvent::Message(inbound)) = event {
                sb.receive(&inbound.frame, board_b, blobs_b, now).expect("b receives");
            },
            _ = ticker.tick() => {
                sa.tick(board_a, now);
                sb.tick(board_b, now);
            }
        }
        while sa.poll_event().is_some() {}
        while let Some(event) = sb.poll_event() {
            if let Event::BlobRejected { reason, .. } = event {
                panic!("blob rejected: {reason}");
            }
        }
    }
}

fn board(replica: u64) -> Board {
    Board::create(BoardId::from_random_bytes([5; 16]), "bench", ReplicaId(replica)).expect("board")
}

async fn blob_throughput(size: usize) -> f64 {
    let (mut a, mut b, _) = link().await;
    let (mut board_a, mut board_b) = (board(1), Board::empty(ReplicaId(2)).expect("empty"));
    let (mut blobs_a, mut blobs_b) = (MemoryStore::new(), MemoryStore::new());
    let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let hash = board_model::blob::insert(&mut blobs_a, bytes).expect("insert");
    let mut sa = Session::new(session::Config::new(1, identity("a")));
    let mut sb = Session::new(session::Config::new(2, identity("b")));
    // Open the sessions first, then time the transfer alone.
    drive(
        &mut a,
        &mut b,
        &mut board_a,
        &mut board_b,
        &mut blobs_a,
        &mut blobs_b,
        (&mut sa, &mut sb),
        |x, y, _, _, _| x.is_open() && y.is_open(),
    )
    .await;
    sb.want_blob(hash, &blobs_b);
    // Each side runs on its own task, as two peers on two machines do.
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let sender = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_millis(20));
        loop {
            while a.writer.capacity() > 0 {
                let Some(frame) = sa.poll_transmit(&board_a, &blobs_a) else { break };
                if a.writer.try_send(frame).is_err() {
                    break;
                }
            }
            tokio::select! {
                event = a.events.recv() => match event {
                    Some(LinkEvent::Message(inbound)) => {
                        let _ = sa.receive(&inbound.frame, &mut board_a, &mut blobs_a, 0);
                    }
                    Some(_) => {}
                    None => return,
                },
                _ = &mut stopped => {
                    a.connection.close().await;
                    return;
                }
                _ = ticker.tick() => {}
            }
        }
    });
    let start = Instant::now();
    while blobs_b.get(&hash).is_none() {
        while b.writer.capacity() > 0 {
            let Some(frame) = sb.poll_transmit(&board_b, &blobs_b) else { break };
            if b.writer.try_send(frame).is_err() {
                break;
            }
        }
        if let Some(LinkEvent::Message(inbound)) = b.events.recv().await {
            sb.receive(&inbound.frame, &mut board_b, &mut blobs_b, 0).expect("b receives");
        }
        while sb.poll_event().is_some() {}
    }
    let elapsed = start.elapsed();
    let _ = stop.send(());
    let _ = sender.await;
    b.connection.close().await;
    size as f64 / elapsed.as_secs_f64() / 1e6
}

async fn reconcile(edits: usize) -> (Driven, usize) {
    let (mut a, mut b, _) = link().await;
    let mut board_a = board(1);
    let ids: Vec<CardId> = (0..100u8).map(|n| CardId::from_random_bytes([n; 16])).collect();
    board_a
        .add_cards(
            ids.iter()
                .map(|id| NewCard {
                    id: *id,
                    position: Point { x: 0.0, y: 0.0 },
                    size: None,
                    color: None,
                    content: Content::Note { text: String::new() },
                    created_by: String::new(),
                    created_at: 0,
                })
                .collect(),
        )
        .expect("cards");
    let mut board_b = Board::load(&board_a.save().expect("save"), ReplicaId(2)).expect("load");
    let fork = board_a.version();
    for (board, seed) in [(&mut board_a, 1u64), (&mut board_b, 2u64)] {
        let mut state = seed;
        for _ in 0..edits {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let card = ids[(state >> 33) as usize % ids.len()];
            if state % 5 == 0 {
                board.splice_text(card, 0, 0, "a").expect("text");
            } else {
                let x = (state >> 20) as f64 % 1000.0;
                board.move_card(card, Point { x, y: 1.0 }).expect("move");
            }
            board.take_changes();
        }
    }
    let changes = board_a.updates_since(&fork).len() + board_b.updates_since(&fork).len();
    let (mut blobs_a, mut blobs_b) = (MemoryStore::new(), MemoryStore::new());
    let mut sa = Session::new(session::Config::new(1, identity("a")));
    let mut sb = Session::new(session::Config::new(2, identity("b")));
    let driven = drive(
        &mut a,
        &mut b,
        &mut board_a,
        &mut board_b,
        &mut blobs_a,
        &mut blobs_b,
        (&mut sa, &mut sb),
        |_, _, x, y, _| x.version() == y.version() && x.cards() == y.cards(),
    )
    .await;
    a.connection.close().await;
    b.connection.close().await;
    (driven, changes)
}

/// `sync` through the signaling server, from start to converged, against a serving node.
async fn sync_time() -> Duration {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let app = signaling::app(signaling::AppState::new(signaling::Limits::default(), None));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let root = std::env::temp_dir().join(format!("peer-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let served = peer::storage::DataDir::open(root.join("a")).expect("data");
    let link = peer::commands::new_board(&served, "bench").expect("board");
    for n in 0..200 {
        let text = format!("note {n}");
        peer::commands::add_note(&served, &link.to_app_link(), &text, Point { x: 0.0, y: 0.0 }, "b")
            .expect("note");
    }
    let config = |name: &str| peer::node::Config {
        signal_url: format!("http://{address}"),
        signal_ca: None,
        relay: false,
        identity: identity(name),
        transport: options(),
    };
    let serve_link = link.clone();
    let serve_config = config("server");
    tokio::spawn(async move {
        let _ = peer::node::run(serve_config, &served, vec![serve_link], peer::node::Goal::Serve, None).await;
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fetched = peer::storage::DataDir::open(root.join("b")).expect("data");
    let start = Instant::now();
    peer::node::run(
        config("syncer"),
        &fetched,
        vec![link],
        peer::node::Goal::Sync,
        Some(Duration::from_secs(30)),
    )
    .await
    .expect("sync");
    start.elapsed()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let mut opens = Vec::new();
    for _ in 0..5 {
        let (a, b, opened) = link().await;
        opens.push(opened.as_secs_f64() * 1e3);
        a.connection.close().await;
        b.connection.close().await;
    }
    let mut raw = Vec::new();
    let mut blob = Vec::new();
    for _ in 0..3 {
        raw.push(raw_throughput(32 * 1024 * 1024).await);
        blob.push(blob_throughput(32 * 1024 * 1024).await);
    }
    let (reconciled, changes) = reconcile(10_000).await;
    let mut syncs = Vec::new();
    for _ in 0..3 {
        syncs.push(sync_time().await.as_secs_f64() * 1e3);
    }
    let (raw, blob) = (median(raw), median(blob));
    println!("### Native peer over WebRTC on loopback\n");
    println!("| what | figure | target |\n|---|---:|---|");
    println!(
        "| data channel open after the answerer gets the offer (median of 5) | {:.1} ms | ≤ 100 ms |",
        median(opens)
    );
    println!("| raw data channel throughput, 32 MiB in 64 KiB messages (median of 3) | {raw:.1} MB/s | |");
    println!(
        "| blob throughput through the protocol session, same run (median of 3) | {blob:.1} MB/s ({:.0}% of raw) | ≥ 80% of raw |",
        blob / raw * 100.0
    );
    println!(
        "| reconcile 10k offline edits each over the data channel | {:.1} ms, {} bytes for {} bytes of changes ({:.2}×) | 1 round trip, ≤ 1.2× |",
        reconciled.elapsed.as_secs_f64() * 1e3,
        reconciled.bytes,
        changes,
        reconciled.bytes as f64 / changes as f64
    );
    println!(
        "| `sync` start to converged, 200-card board, via signaling (median of 3) | {:.0} ms | |",
        median(syncs)
    );
}
