//! A keyed peer flooding a served board: 100,000 small updates (one card
//! moved 100,000 times, each move its own message) sent as fast as the
//! data channel takes them to a `corkboard-peer serve` process, which must
//! stay within bounded memory and save every one. Prints a Markdown table
//! (`cargo bench -p peer --bench flood`; `./x bench` runs it).
//! `CORKBOARD_PEER_BIN` picks the binary served (default: this workspace's
//! dev build, which `cargo build -p peer` makes), so two builds can be
//! compared on the same machine in the same session.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use board_key::envelope::{Envelopes, Signal};
use board_key::{proof, room};
use board_model::blob::MemoryStore;
use board_model::presence::Identity;
use board_model::protocol::Message;
use board_model::session::{self, Session};
use board_model::{Board, CardId, Content, NewCard, Point, ReplicaId};
use peer::signal_client::{self, Event};
use peer::transport::{self, LinkEvent};
use serde_bytes::ByteBuf;
use tokio::sync::mpsc;

const UPDATES: usize = 100_000;

fn peer_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CORKBOARD_PEER_BIN") {
        return path.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug/corkboard-peer")
}

/// `corkboard-peer serve` as a child process.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A field of `/proc/PID/status` in KiB, or of `/proc/PID/io`.
fn proc_field(pid: u32, file: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The updates: a card added, then moved once per update.
fn updates() -> (Vec<Vec<u8>>, CardId, Point) {
    let mut board = Board::empty(ReplicaId(0xf1_00d)).expect("board");
    let id = CardId::from_random_bytes([0xf1; 16]);
    let mut updates = Vec::with_capacity(UPDATES);
    let mut last = board.version();
    let mut at = Point { x: 0.0, y: 0.0 };
    for n in 0..UPDATES {
        if n == 0 {
            let card = NewCard {
                id,
                position: at,
                size: None,
                color: None,
                content: Content::Note { text: "flood".into() },
                created_by: "flooder".into(),
                created_at: 0,
            };
            board.add_card(card).expect("card");
        } else {
            at = Point { x: n as f64, y: (n % 977) as f64 };
            board.move_cards(&[(id, at)]).expect("move");
        }
        let now = board.version();
        updates.push(board.updates_since(&last));
        last = now;
    }
    (updates, id, at)
}

/// Whether the served board on disk has the card at `at` (read while the
/// server writes it, as any other command may).
fn saved(data: &peer::storage::DataDir, board: &uuid::Uuid, id: CardId, at: Point) -> bool {
    data.read_board(board, ReplicaId(7)).ok().and_then(|b| b.card(id)).is_some_and(|card| card.position == at)
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let app = signaling::app(signaling::AppState::new(signaling::Limits::default(), None));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let signal = format!("http://{address}");

    let root = std::env::temp_dir().join(format!("peer-flood-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = peer::storage::DataDir::open(&root).expect("data");
    let link = peer::commands::new_board(&data, "Flood").expect("board");
    let binary = peer_binary();
    let child = Command::new(&binary)
        .args(["serve", "--signal", &signal, "--data"])
        .arg(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("{}: {error} (build it with `cargo build -p peer`)", binary.display())
        });
    let served = Served(child);
    let pid = served.0.id();

    let (updates, id, last) = updates();
    let bytes: usize = updates.iter().map(Vec::len).sum();
    let (writer, _session, mut link_events, _connection) = connect(&signal, &link).await;
    let rss_before = proc_field(pid, "status", "VmRSS:");
    let writes_before = proc_field(pid, "io", "syscw:");
    let started = Instant::now();
    for update in updates {
        let message = Message::SyncUpdates { updates: ByteBuf::from(update) };
        for frame in message.encode(64 * 1024) {
            writer.send(frame).await.expect("the server cut the flooder off");
        }
        while let Ok(event) = link_events.try_recv() {
            if let LinkEvent::Closed(reason) = event {
                panic!("the server closed the channel: {reason}");
            }
        }
    }
    let sent_in = started.elapsed();
    while !saved(&data, &link.board, id, last) {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the server did not save the flood in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let saved_in = started.elapsed();
    let peak = proc_field(pid, "status", "VmHWM:");
    let writes = proc_field(pid, "io", "syscw:").saturating_sub(writes_before);
    println!("### A keyed peer flooding `corkboard-peer serve`\n");
    println!("Served binary: `{}`.\n", binary.display());
    println!("| what | figure |\n|---|---:|");
    println!("| updates sent, one message each | {UPDATES} ({:.1} MB of changes) |", bytes as f64 / 1e6);
    println!("| all sent (the channel's flow control paces the sender) | {:.2} s |", sent_in.as_secs_f64());
    println!(
        "| all saved on the server's disk | {:.2} s ({:.0} updates/s) |",
        saved_in.as_secs_f64(),
        UPDATES as f64 / saved_in.as_secs_f64()
    );
    println!(
        "| server write calls during the flood | {writes} ({:.2} per update) |",
        writes as f64 / UPDATES as f64
    );
    println!(
        "| server memory: resident before → peak | {:.1} MB → {:.1} MB |",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    drop(served);
    let _ = std::fs::remove_dir_all(&root);
}

/// Joins the board's room, connects to the server there and says hello as
/// a keyed peer; returns once the server's hello arrived.
async fn connect(
    signal: &str,
    link: &board_key::link::ShareLink,
) -> (mpsc::Sender<Vec<u8>>, Session, mpsc::UnboundedReceiver<LinkEvent>, transport::Connection) {
    let room = room::room_id(&link.key);
    let (client, mut events) = signal_client::spawn(signal, signal_client::system_tls());
    client.join(&room);
    let (link_tx, mut link_rx) = mpsc::unbounded_channel::<LinkEvent>();
    let mut envelopes = None;
    let mut connection: Option<transport::Connection> = None;
    let seal = |envelopes: &mut Envelopes, to: &str, signal: Signal| {
        let mut nonce = [0u8; 24];
        peer::random::fill(&mut nonce);
        envelopes.seal(Some(to), signal, nonce, peer::clock::now_ms())
    };
    let mut session: Option<Session> = None;
    let mut writer = None;
    let board = Board::empty(ReplicaId(0xf1_00d)).expect("board");
    let mut blobs = MemoryStore::new();
    let mut scratch = Board::empty(ReplicaId(0xf1_00e)).expect("board");
    loop {
        tokio::select! {
            event = events.recv() => match event.expect("signaling") {
                Event::Joined { room: joined, me: id, peers, .. } if joined == room => {
                    envelopes = Some(Envelopes::new(&link.key, &room, &id));
                    if let Some(server) = peers.first() && id < *server {
                        let mut c = transport::connect(&transport::Options::default(), false).await.expect("connect");
                        let offer = c.offer(link_tx.clone()).await.expect("offer");
                        let sealed = seal(envelopes.as_mut().expect("keys"), server, Signal::Offer { sdp: offer });
                        client.signal(&room, Some(server), sealed);
                        connection = Some(c);
                    }
                }
                Event::Signal { from, data, .. } => {
                    let Some(keys) = envelopes.as_mut() else { continue };
                    let Ok(opened) = keys.open(&from, &data, peer::clock::now_ms()) else { continue };
                    match opened.signal {
                        Signal::Offer { sdp } if connection.is_none() => {
                            let mut c = transport::connect(&transport::Options::default(), true).await.expect("connect");
                            let answer = c.answer(sdp, link_tx.clone()).await.expect("answer");
                            let sealed = seal(keys, &from, Signal::Answer { sdp: answer });
                            client.signal(&room, Some(&from), sealed);
                            connection = Some(c);
                        }
                        Signal::Answer { sdp } => {
                            if let Some(c) = connection.as_ref() {
                                c.accept_answer(sdp).await.expect("answer");
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            },
            event = link_rx.recv() => match event.expect("link") {
                LinkEvent::Open { local_fingerprint, remote_fingerprint, writer: opened, .. } => {
                    let mut config = session::Config::new(0xf1_00d, Identity { name: "flooder".into(), color: "#ff0000".into() });
                    config.proof = Some(proof::proof(&link.key, &local_fingerprint, &remote_fingerprint));
                    config.expected_remote_proof = Some(proof::expected_from_remote(&link.key, &local_fingerprint, &remote_fingerprint));
                    let mut s = Session::new(config);
                    while let Some(frame) = s.poll_transmit(&board, &blobs) {
                        opened.send(frame).await.expect("hello");
                    }
                    session = Some(s);
                    writer = Some(opened);
                }
                LinkEvent::Message(inbound) => {
                    let Some(s) = session.as_mut() else { continue };
                    s.receive(&inbound.frame, &mut scratch, &mut blobs, peer::clock::now_ms()).expect("the server's frames");
                    if s.remote().is_some()
                        && let (Some(s), Some(w), Some(c)) = (session.take(), writer.take(), connection.take())
                    {
                        return (w, s, link_rx, c);
                    }
                }
                LinkEvent::Closed(reason) => panic!("the server closed the channel: {reason}"),
                _ => {}
            }
        }
    }
}
