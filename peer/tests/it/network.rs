//! Real peers over real WebRTC on loopback, introduced by a real signaling
//! server: serve, sync, offline divergence, late joiners with images, and
//! strangers without the key.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{peer, run, sync_args, temp_dir};

/// A signaling server on a loopback port, in this test process.
pub fn start_signaling() -> (String, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let address = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let app = signaling::app(signaling::AppState::new(signaling::Limits::default(), None));
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    });
    (format!("http://{address}"), runtime)
}

pub struct Serving(Child);

impl Serving {
    pub fn start(signal: &str, data: &str) -> Serving {
        Serving::start_with(signal, data, &[])
    }

    /// `serve` with more arguments (such as `--board LINK`).
    pub fn start_with(signal: &str, data: &str, more: &[&str]) -> Serving {
        let child = peer()
            .args(["serve", "--signal", signal, "--udp", "127.0.0.1:0", "--name", "server", "--data", data])
            .args(more)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve");
        Serving(child)
    }

    /// SIGTERM, then wait: a graceful stop.
    pub fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sync(signal: &str, link: &str, data: &str) -> (bool, String) {
    let (ok, _, stderr) = run(&sync_args(signal, link, data, "60"));
    (ok, stderr)
}

pub fn show(link: &str, data: &str) -> serde_json::Value {
    let (ok, json, error) = run(&["show", "--board", link, "--json", "--data", data]);
    assert!(ok, "{error}");
    serde_json::from_str(&json).expect("json")
}

pub fn png(path: &std::path::Path, width: u32, height: u32) {
    let mut buffer = Vec::new();
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 7) as u8, (y * 3) as u8, 90]))
        .write_to(&mut std::io::Cursor::new(&mut buffer), image::ImageFormat::Png)
        .expect("png");
    std::fs::write(path, buffer).expect("write png");
}

#[test]
fn peers_share_a_board_live_and_reconcile_after_working_offline() {
    let (signal, _server) = start_signaling();
    let (a, b, c) = (temp_dir("a"), temp_dir("b"), temp_dir("c"));
    let (_, link, _) = run(&["new", "--title", "Shared", "--data", &a]);
    assert!(run(&["add-note", "--board", &link, "--text", "first", "--data", &a]).0);
    let image = std::path::PathBuf::from(&a).with_extension("png");
    png(&image, 300, 200);
    let (ok, _, error) =
        run(&["add-image", "--board", &link, "--file", &image.to_string_lossy(), "--data", &a]);
    assert!(ok, "{error}");

    // A serves; B syncs the board and its image into an empty data directory.
    let serving = Serving::start(&signal, &a);
    let (ok, log) = sync(&signal, &link, &b);
    assert!(ok, "sync failed: {log}");
    assert_eq!(show(&link, &b), show(&link, &a));
    let hash = show(&link, &b)["cards"][1]["image"].as_str().unwrap_or_default().to_owned();
    let blob = std::fs::read(std::path::Path::new(&b).join("blobs").join(&hash)).expect("blob synced");
    assert_eq!(blob, std::fs::read(&image).expect("image"));

    // Both work offline, on the same board.
    serving.stop();
    let card = show(&link, &a)["cards"][0]["id"].as_str().unwrap_or_default().to_owned();
    assert!(run(&["add-note", "--board", &link, "--text", "written on a", "--data", &a]).0);
    assert!(run(&["move", "--board", &link, "--card", &card, "--x", "100", "--y", "50", "--data", &b]).0);
    assert!(run(&["add-note", "--board", &link, "--text", "written on b", "--data", &b]).0);
    assert_ne!(show(&link, &a), show(&link, &b));

    // Back online: they reconcile, and a third peer joins late and gets everything.
    let serving = Serving::start(&signal, &a);
    let (ok, log) = sync(&signal, &link, &b);
    assert!(ok, "sync failed: {log}");
    let (ok, log) = sync(&signal, &link, &c);
    assert!(ok, "late joiner failed: {log}");
    serving.stop();
    let (shown_a, shown_b, shown_c) = (show(&link, &a), show(&link, &b), show(&link, &c));
    assert_eq!(shown_a, shown_b);
    assert_eq!(shown_a, shown_c);
    let texts: Vec<&str> =
        shown_a["cards"].as_array().into_iter().flatten().filter_map(|c| c["text"].as_str()).collect();
    assert!(texts.contains(&"written on a") && texts.contains(&"written on b"), "{texts:?}");
    assert_eq!(shown_a["cards"][0]["x"].as_f64(), Some(100.0));
    assert!(std::path::Path::new(&c).join("blobs").join(&hash).is_file());
}

#[test]
fn sync_with_nobody_there_times_out_with_a_clear_message() {
    let (signal, _server) = start_signaling();
    let data = temp_dir("alone");
    let (_, link, _) = run(&["new", "--data", &data]);
    let (ok, _, error) = run(&sync_args(&signal, &link, &data, "2"));
    assert!(!ok);
    assert!(error.contains("timed out") && error.contains("0 peers connected"), "{error}");
}

#[test]
fn a_peer_without_the_key_cannot_connect_and_the_server_keeps_serving() {
    let (signal, runtime) = start_signaling();
    let (a, b) = (temp_dir("keyed"), temp_dir("keyed-b"));
    let (_, link, _) = run(&["new", "--title", "Private", "--data", &a]);
    let serving = Serving::start(&signal, &a);
    // A stranger learns the room id (as the server could) and sends forged offers and garbage.
    let parsed = board_key::link::ShareLink::parse(&link).expect("link");
    let room = board_key::room::room_id(&parsed.key);
    runtime.block_on(async {
        use futures_util::{SinkExt, StreamExt};
        let url = format!("{}/ws", signal.replace("http://", "ws://"));
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
        let join = serde_json::json!({"type": "join", "room": room, "peer": "0"});
        socket.send(join.to_string().into()).await.expect("join");
        let joined = socket.next().await;
        assert!(joined.is_some());
        let mut forger = board_key::envelope::Envelopes::new(&board_key::BoardKey([3; 32]), &room, "0");
        let sealed = forger.seal(None, board_key::envelope::Signal::Offer { sdp: "v=0".into() }, [1; 24], 0);
        use base64::Engine as _;
        for data in [base64::engine::general_purpose::STANDARD.encode(sealed), "AAAA".into()] {
            let frame = serde_json::json!({"type": "signal", "room": room, "to": null, "data": data});
            socket.send(frame.to_string().into()).await.expect("signal");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    });
    // The real peer still syncs.
    let (ok, log) = sync(&signal, &link, &b);
    assert!(ok, "{log}");
    assert_eq!(show(&link, &b)["title"], "Private");
    serving.stop();
}

/// Polls `show` until the board in `data` satisfies `done` (or gives up after 30 s).
fn eventually(link: &str, data: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let shown = show(link, data);
        if done(&shown) || std::time::Instant::now() > deadline {
            return shown;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn has_text(board: &serde_json::Value, text: &str) -> bool {
    board["cards"].as_array().into_iter().flatten().any(|card| card["text"] == text)
}

#[test]
fn edits_on_one_serving_peer_show_on_the_others_live() {
    let (signal, _server) = start_signaling();
    let (a, b, c) = (temp_dir("live-a"), temp_dir("live-b"), temp_dir("live-c"));
    let (_, link, _) = run(&["new", "--title", "Live", "--data", &a]);
    // B and C start with an empty copy fetched once, then all three stay online.
    let serving_a = Serving::start(&signal, &a);
    assert!(sync(&signal, &link, &b).0);
    assert!(sync(&signal, &link, &c).0);
    let serving_b = Serving::start(&signal, &b);
    let serving_c = Serving::start(&signal, &c);

    // An edit on A (handed to A's serve through its inbox) reaches B and C.
    let (ok, card, error) = run(&["add-note", "--board", &link, "--text", "from a", "--data", &a]);
    assert!(ok, "{error}");
    assert!(has_text(&eventually(&link, &b, |v| has_text(v, "from a")), "from a"));
    assert!(has_text(&eventually(&link, &c, |v| has_text(v, "from a")), "from a"));

    // An edit on C reaches A and B.
    assert!(run(&["move", "--board", &link, "--card", &card, "--x", "42", "--y", "7", "--data", &c]).0);
    for data in [&a, &b] {
        let shown = eventually(&link, data, |v| v["cards"][0]["x"].as_f64() == Some(42.0));
        assert_eq!(shown["cards"][0]["x"].as_f64(), Some(42.0));
    }
    serving_a.stop();
    serving_b.stop();
    serving_c.stop();
    assert_eq!(show(&link, &a), show(&link, &b));
    assert_eq!(show(&link, &a), show(&link, &c));
}

#[test]
fn a_keyed_peer_sending_garbage_over_the_data_channel_is_dropped_and_the_board_is_unharmed() {
    use base64::Engine as _;
    use futures_util::{SinkExt, StreamExt};
    let (signal, runtime) = start_signaling();
    let (a, b) = (temp_dir("abused"), temp_dir("abused-b"));
    let (_, link, _) = run(&["new", "--title", "Sturdy", "--data", &a]);
    assert!(run(&["add-note", "--board", &link, "--text", "keep me", "--data", &a]).0);
    let before = show(&link, &a);
    let serving = Serving::start(&signal, &a);
    let parsed = board_key::link::ShareLink::parse(&link).expect("link");
    let room = board_key::room::room_id(&parsed.key);
    let opened = runtime.block_on(async {
        let url = format!("{}/ws", signal.replace("http://", "ws://"));
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
        // Peer id "0" sorts first, so this attacker makes the offer.
        let join = serde_json::json!({"type": "join", "room": room, "peer": "0"});
        socket.send(join.to_string().into()).await.expect("join");
        let mut server_peer = None;
        while server_peer.is_none() {
            let Some(Ok(message)) = socket.next().await else { panic!("signaling closed") };
            let value: serde_json::Value =
                serde_json::from_str(message.to_text().unwrap_or("{}")).unwrap_or_default();
            if value["type"] == "joined" {
                server_peer = value["peers"][0].as_str().map(str::to_owned);
                if server_peer.is_none() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let rejoin = serde_json::json!({"type": "leave", "room": room});
                    socket.send(rejoin.to_string().into()).await.expect("leave");
                    socket.send(join.to_string().into()).await.expect("join");
                }
            }
        }
        let server_peer = server_peer.unwrap_or_default();
        let mut envelopes = board_key::envelope::Envelopes::new(&parsed.key, &room, "0");
        let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        let options =
            peer::transport::Options { udp_addrs: vec!["127.0.0.1:0".into()], ..Default::default() };
        let mut connection = peer::transport::connect(&options, false).await.expect("pc");
        let sdp = connection.offer(events_tx).await.expect("offer");
        let sealed = envelopes.seal(
            Some(&server_peer),
            board_key::envelope::Signal::Offer { sdp },
            [9; 24],
            peer::clock::now_ms(),
        );
        let data = base64::engine::general_purpose::STANDARD.encode(sealed);
        let frame = serde_json::json!({"type": "signal", "room": room, "to": server_peer, "data": data});
        socket.send(frame.to_string().into()).await.expect("offer");
        loop {
            let Some(Ok(message)) = socket.next().await else { panic!("no answer") };
            let value: serde_json::Value =
                serde_json::from_str(message.to_text().unwrap_or("{}")).unwrap_or_default();
            if value["type"] == "signal" {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(value["data"].as_str().unwrap_or_default())
                    .unwrap_or_default();
                let opened = envelopes
                    .open(value["from"].as_str().unwrap_or_default(), &bytes, peer::clock::now_ms())
                    .expect("answer opens");
                if let board_key::envelope::Signal::Answer { sdp } = opened.signal {
                    connection.accept_answer(sdp).await.expect("answer");
                    break;
                }
            }
        }
        let writer = loop {
            match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
                Ok(Some(peer::transport::LinkEvent::Open { writer, .. })) => break writer,
                Ok(Some(_)) => {}
                _ => panic!("the data channel did not open"),
            }
        };
        // Garbage, a frame claiming a newer protocol, and a flood.
        for frame in [b"garbage".to_vec(), vec![b'C', b'B', 99, 0, 1, 2], vec![0xff; 60_000]] {
            let _ = writer.send(frame).await;
        }
        for _ in 0..200 {
            if writer.send(vec![b'C', b'B', 1, 0, 9, 9, 9]).await.is_err() {
                break;
            }
        }
        // The node answers a broken peer by closing the channel.
        let mut closed = false;
        while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            if let peer::transport::LinkEvent::Closed(_) = event {
                closed = true;
                break;
            }
        }
        connection.close().await;
        closed
    });
    assert!(opened, "the serving peer closed the connection to the garbage sender");
    // The server keeps serving, and the board is unharmed.
    let (ok, log) = sync(&signal, &link, &b);
    assert!(ok, "{log}");
    assert_eq!(show(&link, &b), before);
    serving.stop();
    assert_eq!(show(&link, &a), before);
}

#[test]
fn one_serve_process_keeps_every_local_board_online() {
    let (signal, _server) = start_signaling();
    let (a, b) = (temp_dir("many-a"), temp_dir("many-b"));
    let (_, first, _) = run(&["new", "--title", "First", "--data", &a]);
    let (_, second, _) = run(&["new", "--title", "Second", "--data", &a]);
    let serving = Serving::start(&signal, &a);
    for link in [&first, &second] {
        let (ok, log) = sync(&signal, link, &b);
        assert!(ok, "{log}");
        assert_eq!(show(link, &b), show(link, &a));
    }
    serving.stop();
    let (_, listed, _) = run(&["list", "--data", &b]);
    assert!(listed.contains("First") && listed.contains("Second"), "{listed}");
}

/// A signaling server on a given loopback port (to restart it on the same port).
fn start_signaling_on(port: u16) -> tokio::runtime::Runtime {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        let app = signaling::app(signaling::AppState::new(signaling::Limits::default(), None));
        tokio::spawn(async move { axum::serve(listener, app).await });
    });
    runtime
}

#[test]
fn serve_reconnects_when_the_signaling_server_comes_back() {
    let (signal, first) = start_signaling();
    let port: u16 = signal.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let (a, b) = (temp_dir("reconnect-a"), temp_dir("reconnect-b"));
    let (_, link, _) = run(&["new", "--title", "Resilient", "--data", &a]);
    let serving = Serving::start(&signal, &a);
    std::thread::sleep(Duration::from_millis(300));
    // The signaling server goes away and comes back on the same address.
    first.shutdown_timeout(Duration::from_secs(1));
    std::thread::sleep(Duration::from_millis(500));
    let _second = start_signaling_on(port);
    let (ok, log) = sync(&signal, &link, &b);
    assert!(ok, "serve did not rejoin: {log}");
    assert_eq!(show(&link, &b)["title"], "Resilient");
    serving.stop();
}

#[test]
fn a_damaged_image_is_never_served_and_is_fetched_from_another_peer() {
    let (signal, _server) = start_signaling();
    let (a, b, c) = (temp_dir("damaged-a"), temp_dir("damaged-b"), temp_dir("damaged-c"));
    let (_, link, _) = run(&["new", "--data", &a]);
    let image = std::path::PathBuf::from(&a).with_extension("png");
    png(&image, 64, 48);
    assert!(run(&["add-image", "--board", &link, "--file", &image.to_string_lossy(), "--data", &a]).0);
    // C gets a good copy first.
    let serving = Serving::start(&signal, &a);
    assert!(sync(&signal, &link, &c).0);
    serving.stop();
    // A's copy is damaged on disk (same length, other bytes).
    let hash = show(&link, &a)["cards"][0]["image"].as_str().unwrap_or_default().to_owned();
    let blob_path = std::path::Path::new(&a).join("blobs").join(&hash);
    let mut bytes = std::fs::read(&blob_path).expect("blob");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob_path, bytes).expect("tamper");
    // B asks A first (the only peer online), is refused, and gets the true
    // image once C comes online.
    let serving_a = Serving::start(&signal, &a);
    let syncing = peer()
        .args(sync_args(&signal, &link, &b, "60"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sync");
    std::thread::sleep(Duration::from_millis(1_500));
    let serving_c = Serving::start(&signal, &c);
    let output = syncing.wait_with_output().expect("sync finished");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let fetched = std::fs::read(std::path::Path::new(&b).join("blobs").join(&hash)).expect("image on b");
    assert_eq!(fetched, std::fs::read(&image).expect("original"));
    // A noticed the damage and set its copy aside instead of serving it.
    assert!(blob_path.with_extension("corrupt").exists());
    serving_a.stop();
    serving_c.stop();
}

#[test]
fn a_node_in_more_rooms_than_one_connection_carries_joins_every_one() {
    // The server lets one connection into 64 rooms; a node serving 130
    // boards must still be in all 130 (the 65th board used to never sync).
    let (signal, runtime) = start_signaling();
    runtime.block_on(async {
        let (handle, mut events) = peer::signal_client::spawn(&signal, peer::signal_client::system_tls());
        let rooms: Vec<String> = (0..130u32).map(|n| format!("{n:064x}")).collect();
        for room in &rooms {
            handle.join(room);
        }
        let mut joined = std::collections::HashSet::new();
        let all = async {
            while joined.len() < rooms.len() {
                match events.recv().await {
                    Some(peer::signal_client::Event::Joined { room, .. }) => {
                        joined.insert(room);
                    }
                    Some(peer::signal_client::Event::Refused { message, .. }) => panic!("refused: {message}"),
                    Some(_) => {}
                    None => panic!("the client stopped"),
                }
            }
        };
        // A guard against a hang only; joining takes milliseconds.
        tokio::time::timeout(Duration::from_secs(60), all).await.expect("every room joined");
    });
}

/// A certificate authority made now, and a certificate it issued for
/// 127.0.0.1: the CA's PEM and the server's chain and key PEM files.
fn private_ca(dir: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Corkboard test CA");
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA");
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("server params");
    let key = rcgen::KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &ca).expect("server certificate");
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir).expect("PKI directory");
    let paths = (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&paths.0, ca.pem()).expect("write CA");
    std::fs::write(&paths.1, cert.pem()).expect("write certificate");
    std::fs::write(&paths.2, key.serialize_pem()).expect("write key");
    paths
}

#[test]
fn peers_meet_through_a_tls_signaling_server_trusting_a_private_ca() {
    let pki = temp_dir("tls-pki");
    let (ca, cert, key) = private_ca(&pki);
    let acceptor = signaling::server::tls_acceptor(&cert, &key).expect("TLS acceptor");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let address = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let app = signaling::app(signaling::AppState::new(signaling::Limits::default(), None));
        let limits = signaling::Limits::default();
        tokio::spawn(async move {
            signaling::server::serve(listener, app, &limits, Some(acceptor), std::future::pending()).await
        });
        address
    });
    let signal = format!("https://{address}");
    let (a, b, c) = (temp_dir("tls-a"), temp_dir("tls-b"), temp_dir("tls-c"));
    let (_, link, _) = run(&["new", "--title", "Over TLS", "--data", &a]);
    assert!(run(&["add-note", "--board", &link, "--text", "sealed twice", "--data", &a]).0);
    let ca = ca.to_string_lossy().into_owned();
    let serving = Serving::start_with(&signal, &a, &["--signal-ca", &ca]);
    let mut args = sync_args(&signal, &link, &b, "60");
    args.extend(["--signal-ca", ca.as_str()]);
    let (ok, _, log) = run(&args);
    assert!(ok, "sync over wss:// failed: {log}");
    assert_eq!(show(&link, &b), show(&link, &a));

    // Without the CA the server's certificate is not trusted, and that is what is said.
    let (ok, _, log) = run(&sync_args(&signal, &link, &c, "3"));
    assert!(!ok, "a certificate from an unknown CA must not be trusted");
    assert!(log.contains("certificate"), "the failure names the certificate: {log}");
    // A CA file that is not one is refused at once.
    let (ok, _, log) =
        run(&[&sync_args(&signal, &link, &c, "3")[..], &["--signal-ca", "/etc/hostname"]].concat());
    assert!(!ok && log.contains("--signal-ca"), "{log}");
    serving.stop();
}
