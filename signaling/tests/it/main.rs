//! The signaling server over real WebSockets on a loopback port: rooms,
//! relaying, secrecy of what passes through it, and its limits under abuse.

use std::time::Duration;

use base64::Engine as _;
use board_key::envelope::{Envelopes, Signal};
use board_key::{BoardKey, link::ShareLink, room::room_id};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use signaling::{AppState, Limits};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn start(limits: Limits, static_dir: Option<std::path::PathBuf>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let app = signaling::app(AppState::new(limits, static_dir));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("127.0.0.1:{}", address.port())
}

struct Client {
    socket: Socket,
    /// Every text frame this client sent, to check what the server saw.
    sent: Vec<String>,
}

impl Client {
    async fn connect(server: &str) -> Client {
        let (socket, _) = connect_async(format!("ws://{server}/ws")).await.expect("connect");
        Client { socket, sent: Vec::new() }
    }

    async fn send(&mut self, frame: Value) {
        let text = frame.to_string();
        self.sent.push(text.clone());
        self.socket.send(Message::Text(text.into())).await.expect("send");
    }

    async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("send");
    }

    /// The next text frame as JSON, or None when the server closed.
    async fn next(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.socket.next()).await.ok()??;
            match message.ok()? {
                Message::Text(text) => return serde_json::from_str(text.as_str()).ok(),
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    async fn expect(&mut self, kind: &str) -> Value {
        let frame = self.next().await.unwrap_or(Value::Null);
        assert_eq!(frame["type"], kind, "{frame}");
        frame
    }

    async fn join(&mut self, room: &str, peer: &str) -> Value {
        self.send(json!({"type": "join", "room": room, "peer": peer})).await;
        self.expect("joined").await
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text.as_str().unwrap_or_default()).unwrap_or_default()
}

#[tokio::test]
async fn peers_meet_in_a_room_and_relay_directed_and_broadcast_signals() {
    let server = start(Limits::default(), None).await;
    let room = "a".repeat(64);
    let mut alice = Client::connect(&server).await;
    let mut bob = Client::connect(&server).await;
    assert_eq!(alice.join(&room, "alice").await["peers"], json!([]));
    assert_eq!(bob.join(&room, "bob").await["peers"], json!(["alice"]));
    assert_eq!(alice.expect("peer-joined").await["peer"], "bob");

    alice.send(json!({"type": "signal", "room": room, "to": "bob", "data": "aGVsbG8="})).await;
    let relayed = bob.expect("signal").await;
    assert_eq!((relayed["from"].as_str(), relayed["data"].as_str()), (Some("alice"), Some("aGVsbG8=")));
    bob.send(json!({"type": "signal", "room": room, "to": null, "data": "YWxs"})).await;
    assert_eq!(alice.expect("signal").await["data"], "YWxs");

    bob.send(json!({"type": "leave", "room": room})).await;
    assert_eq!(alice.expect("peer-left").await["peer"], "bob");
    drop(alice);
    bob.send(json!({"type": "ping"})).await;
    bob.expect("pong").await;
}

#[tokio::test]
async fn the_server_sees_neither_the_board_nor_the_key_nor_the_sdp_and_cannot_forge() {
    let server = start(Limits::default(), None).await;
    let link = ShareLink { board: uuid::Uuid::from_bytes([42; 16]), key: BoardKey([77; 32]) };
    let room = room_id(&link.key);
    let sdp = "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\na=fingerprint:sha-256 12:34:56";
    let mut alice = Client::connect(&server).await;
    let mut bob = Client::connect(&server).await;
    alice.join(&room, "alice-1").await;
    bob.join(&room, "bob-1").await;
    alice.expect("peer-joined").await;

    let mut alice_envelopes = Envelopes::new(&link.key, &room, "alice-1");
    let mut bob_envelopes = Envelopes::new(&link.key, &room, "bob-1");
    let sealed = alice_envelopes.seal(Some("bob-1"), Signal::Offer { sdp: sdp.into() }, [1; 24], 0);
    alice.send(json!({"type": "signal", "room": room, "to": "bob-1", "data": b64(&sealed)})).await;
    let relayed = bob.expect("signal").await;
    let opened = bob_envelopes.open("alice-1", &unb64(&relayed["data"]), 0).expect("opens");
    assert_eq!(opened.signal, Signal::Offer { sdp: sdp.into() });

    // Everything the server received: no board id, no key, no SDP.
    let seen = alice.sent.join("\n") + &bob.sent.join("\n");
    let key_text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(link.key.0);
    for secret in
        [link.board.to_string(), key_text, b64(&link.key.0), "fingerprint".into(), "127.0.0.1".into()]
    {
        assert!(!seen.contains(&secret), "the server saw {secret}");
    }

    // A client without the key (or the server itself) joins and forges an offer.
    let mut mallory = Client::connect(&server).await;
    mallory.join(&room, "mallory").await;
    let mut forger = Envelopes::new(&BoardKey([1; 32]), &room, "mallory");
    let forged = forger.seal(Some("bob-1"), Signal::Offer { sdp: "evil".into() }, [2; 24], 0);
    mallory.send(json!({"type": "signal", "room": room, "to": "bob-1", "data": b64(&forged)})).await;
    bob.expect("peer-joined").await;
    let relayed = bob.expect("signal").await;
    assert!(bob_envelopes.open("mallory", &unb64(&relayed["data"]), 0).is_err());
    // Replaying alice's genuine offer under her name fails too.
    assert!(bob_envelopes.open("alice-1", &sealed, 0).is_err());
}

#[tokio::test]
async fn bad_frames_get_clear_errors_and_the_connection_survives() {
    let server = start(Limits::default(), None).await;
    let mut client = Client::connect(&server).await;
    client.send_raw(Message::Text("{not json".into())).await;
    assert_eq!(client.expect("error").await["code"], "bad-request");
    client.send_raw(Message::Binary(vec![0, 1, 2].into())).await;
    assert_eq!(client.expect("error").await["code"], "bad-request");
    client.send(json!({"type": "join", "room": "kitchen", "peer": "x"})).await;
    assert_eq!(client.expect("error").await["code"], "bad-request");
    client.send(json!({"type": "signal", "room": "b".repeat(64), "to": null, "data": "eA=="})).await;
    assert_eq!(client.expect("error").await["code"], "not-in-room");
    let huge = json!({"type": "signal", "room": "b".repeat(64), "to": null, "data": "A".repeat(70_000)});
    client.send(huge).await;
    assert_eq!(client.expect("error").await["code"], "too-large");
    client.join(&"b".repeat(64), "me").await;
    client.send(json!({"type": "signal", "room": "b".repeat(64), "to": "ghost", "data": "eA=="})).await;
    assert_eq!(client.expect("error").await["code"], "unknown-peer");
    client.send(json!({"type": "ping"})).await;
    client.expect("pong").await;
}

#[tokio::test]
async fn a_frame_far_over_the_limit_closes_only_that_connection() {
    let server = start(Limits::default(), None).await;
    let mut abuser = Client::connect(&server).await;
    abuser.send_raw(Message::Text("x".repeat(1_000_000).into())).await;
    assert!(abuser.next().await.is_none(), "closed");
    let mut other = Client::connect(&server).await;
    other.send(json!({"type": "ping"})).await;
    other.expect("pong").await;
}

#[tokio::test]
async fn flooding_is_rate_limited_then_cut_off() {
    let limits = Limits { messages_per_second: 10, burst: 10, ..Limits::default() };
    let server = start(limits, None).await;
    let mut flooder = Client::connect(&server).await;
    for _ in 0..200 {
        flooder.send(json!({"type": "ping"})).await;
    }
    let mut codes = Vec::new();
    while let Some(frame) = flooder.next().await {
        codes.push(frame["code"].as_str().unwrap_or("pong").to_owned());
        if frame["fatal"] == true {
            break;
        }
    }
    assert!(codes.iter().filter(|c| *c == "pong").count() <= 12, "{codes:?}");
    assert!(codes.contains(&"rate-limited".to_owned()));
    assert!(flooder.next().await.is_none(), "the flooder is disconnected");
}

#[tokio::test]
async fn signals_to_the_whole_room_are_held_to_their_own_rate() {
    let limits = Limits { broadcasts_per_second: 1, broadcast_burst: 3, ..Limits::default() };
    let server = start(limits, None).await;
    let room = "c".repeat(64);
    let mut loud = Client::connect(&server).await;
    let mut quiet = Client::connect(&server).await;
    loud.join(&room, "loud").await;
    quiet.join(&room, "quiet").await;
    loud.expect("peer-joined").await;
    for _ in 0..6 {
        loud.send(json!({"type": "signal", "room": room, "to": null, "data": "YWxs"})).await;
    }
    // The burst goes through, the rest is refused (not fatal: a few).
    for _ in 0..3 {
        assert_eq!(loud.expect("error").await["code"], "rate-limited");
    }
    // Directed signals are not held back by the broadcast budget.
    loud.send(json!({"type": "signal", "room": room, "to": "quiet", "data": "b25l"})).await;
    let mut got = Vec::new();
    while got.last().map(String::as_str) != Some("b25l") {
        got.push(quiet.expect("signal").await["data"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(got, ["YWxs", "YWxs", "YWxs", "b25l"]);
}

#[tokio::test]
async fn rooms_have_a_size_limit_and_connections_a_room_limit() {
    let limits = Limits { peers_per_room: 2, rooms_per_connection: 2, ..Limits::default() };
    let server = start(limits, None).await;
    let room = "c".repeat(64);
    let mut a = Client::connect(&server).await;
    let mut b = Client::connect(&server).await;
    let mut c = Client::connect(&server).await;
    a.join(&room, "a").await;
    b.join(&room, "b").await;
    c.send(json!({"type": "join", "room": room, "peer": "c"})).await;
    let refused = c.expect("error").await;
    assert_eq!(refused["code"], "room-full");
    assert!(refused["message"].as_str().unwrap_or_default().contains("2 peers"));
    b.send(json!({"type": "join", "room": room, "peer": "a"})).await;
    assert_eq!(b.expect("error").await["code"], "duplicate-peer");
    c.join(&"d".repeat(64), "c").await;
    c.join(&"e".repeat(64), "c").await;
    c.send(json!({"type": "join", "room": "f".repeat(64), "peer": "c"})).await;
    assert_eq!(c.expect("error").await["code"], "too-many-rooms");
}

#[tokio::test]
async fn an_idle_connection_is_closed_and_its_peer_leaves_the_room() {
    let limits = Limits { idle_timeout: Duration::from_millis(300), ..Limits::default() };
    let server = start(limits, None).await;
    let room = "9".repeat(64);
    let mut idle = Client::connect(&server).await;
    let mut watcher = Client::connect(&server).await;
    idle.join(&room, "idle").await;
    watcher.join(&room, "watcher").await;
    // The watcher keeps itself alive while the other goes quiet.
    let mut left = None;
    for _ in 0..20 {
        watcher.send(json!({"type": "ping"})).await;
        let frame = watcher.next().await.unwrap_or(Value::Null);
        if frame["type"] == "peer-left" {
            left = Some(frame);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left.map(|f| f["peer"].clone()), Some(json!("idle")));
    assert_eq!(idle.expect("peer-joined").await["peer"], "watcher");
    let closing = idle.expect("error").await;
    assert_eq!((closing["code"].as_str(), closing["fatal"].as_bool()), (Some("idle"), Some(true)));
    assert!(idle.next().await.is_none());
}

#[tokio::test]
async fn healthz_reports_counts_and_the_web_app_is_served_with_an_index_fallback() {
    let dir = std::env::temp_dir().join(format!("signaling-static-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("index.html"), "<h1>Corkboard</h1>").expect("index");
    std::fs::write(dir.join("app.js"), "console.log(1)").expect("js");
    let server = start(Limits::default(), Some(dir.clone())).await;
    let get = |path: &'static str| {
        let server = server.clone();
        async move {
            let mut stream = TcpStream::connect(&server).await.expect("tcp");
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.expect("write");
            let mut response = String::new();
            stream.read_to_string(&mut response).await.expect("read");
            response
        }
    };
    let mut client = Client::connect(&server).await;
    client.join(&"1".repeat(64), "p").await;
    let health = get("/healthz").await;
    assert!(health.contains("\"status\":\"ok\"") && health.contains("\"peers\":1"), "{health}");
    assert!(get("/app.js").await.contains("console.log(1)"));
    assert!(get("/boards/some/deep/link").await.contains("<h1>Corkboard</h1>"));
    // The app's files carry the policy that keeps a board's content from
    // running as the app; the signaling endpoints need none.
    for path in ["/", "/app.js", "/boards/x"] {
        let response = get(path).await.to_ascii_lowercase();
        assert!(
            response.contains(
                "content-security-policy: default-src 'none'; script-src 'self' 'wasm-unsafe-eval'"
            ),
            "{path}: {response}"
        );
        assert!(response.contains("x-content-type-options: nosniff"), "{path}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_their_headers_are_closed_and_healthz_keeps_answering() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = listener.local_addr().expect("address");
    let deadline = Duration::from_millis(300);
    let limits = Limits { header_read_timeout: deadline, ..Limits::default() };
    let app = signaling::app(AppState::new(limits.clone(), None));
    tokio::spawn(async move {
        signaling::server::serve(listener, app, &limits, None, std::future::pending()).await
    });
    // Slowloris: 300 clients start a request and never finish its headers.
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut stream = TcpStream::connect(server).await.expect("connect");
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.expect("write");
        slow.push(stream);
    }
    let mut healthy = TcpStream::connect(server).await.expect("connect");
    healthy.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("write");
    let mut answer = String::new();
    healthy.read_to_string(&mut answer).await.expect("read");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");
    // Each slow connection is closed by the server (a hang guard only: the
    // deadline is 300 ms).
    for stream in &mut slow {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "a connection that never finished its headers was left open");
    }
}

/// The real accept loop (gate, deadlines) with `limits`, on a loopback port.
async fn serve_with(limits: Limits) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = listener.local_addr().expect("address");
    let app = signaling::app(AppState::new(limits.clone(), None));
    tokio::spawn(async move {
        signaling::server::serve(listener, app, &limits, None, std::future::pending()).await
    });
    server
}

/// Opens a connection and reads what the server says to a request that is
/// never finished: a refusal arrives at once, an admitted connection says
/// nothing (within the wait).
async fn refusal_on_connect(server: std::net::SocketAddr) -> (TcpStream, String) {
    use tokio::io::AsyncReadExt;
    let mut stream = TcpStream::connect(server).await.expect("connect");
    let mut answer = vec![0u8; 512];
    let read = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut answer)).await;
    let text = match read {
        Ok(Ok(n)) => String::from_utf8_lossy(&answer[..n]).into_owned(),
        _ => String::new(),
    };
    (stream, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_are_held_to_connection_caps_with_a_clear_refusal() {
    let limits = Limits {
        max_connections: 4,
        connections_per_ip: 2,
        new_connections_per_ip_per_second: 1_000,
        limit_loopback: true,
        ..Limits::default()
    };
    let server = serve_with(limits).await;
    let (first, said) = refusal_on_connect(server).await;
    assert_eq!(said, "", "the first is let in");
    let (_second, said) = refusal_on_connect(server).await;
    assert_eq!(said, "");
    let (_, said) = refusal_on_connect(server).await;
    assert!(
        said.starts_with("HTTP/1.1 429") && said.contains("too many connections from your address"),
        "{said}"
    );
    // A place given back is taken again.
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_third, said) = refusal_on_connect(server).await;
    assert_eq!(said, "", "a closed connection frees its place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_is_full_past_its_total_and_says_so() {
    let limits = Limits { max_connections: 2, ..Limits::default() };
    let server = serve_with(limits).await;
    let (_a, _) = refusal_on_connect(server).await;
    let (_b, _) = refusal_on_connect(server).await;
    let (_, said) = refusal_on_connect(server).await;
    assert!(said.starts_with("HTTP/1.1 503") && said.contains("the server is full"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_too_often_from_one_address_is_refused() {
    let limits = Limits {
        new_connections_per_ip_per_second: 1,
        connections_per_ip: 1_000,
        limit_loopback: true,
        ..Limits::default()
    };
    let server = serve_with(limits).await;
    let mut refused = None;
    let mut held = Vec::new();
    for _ in 0..10 {
        let (stream, said) = refusal_on_connect(server).await;
        held.push(stream);
        if !said.is_empty() {
            refused = Some(said);
            break;
        }
    }
    let said = refused.unwrap_or_default();
    assert!(said.starts_with("HTTP/1.1 429") && said.contains("connecting too often"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_from_other_origins_are_refused_and_native_clients_let_in() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let limits =
        Limits { allowed_origins: vec!["https://corkboard.example.org".into()], ..Limits::default() };
    let server = serve_with(limits).await;
    let url = format!("ws://{server}/ws");
    let with_origin = |origin: &str| {
        let mut request = url.clone().into_client_request().expect("request");
        request.headers_mut().insert("origin", origin.parse().expect("header"));
        request
    };
    let refused = connect_async(with_origin("https://evil.example")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
            assert!(body.contains("does not serve pages from https://evil.example"), "{body}");
        }
        other => panic!("a page from another origin must be refused: {:?}", other.map(|_| ())),
    }
    assert!(connect_async(with_origin("https://corkboard.example.org")).await.is_ok());
    assert!(connect_async(url.clone()).await.is_ok(), "no origin: a native client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_pings_count_against_the_message_rate() {
    let server = start(Limits { messages_per_second: 1, burst: 3, ..Limits::default() }, None).await;
    let mut client = Client::connect(&server).await;
    for _ in 0..6 {
        client.send_raw(Message::Ping(vec![1, 2, 3].into())).await;
    }
    let error = client.expect("error").await;
    assert_eq!(error["code"], "rate-limited", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_behind_a_proxy_on_loopback_are_held_to_the_limits_of_their_own_address() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let limits = Limits { connections_per_ip: 1, ..Limits::default() };
    let server = serve_with(limits).await;
    let url = format!("ws://{server}/ws");
    // What Caddy sends: the address it heard from, appended.
    let forwarded_for = |client: &str| {
        let mut request = url.clone().into_client_request().expect("request");
        request.headers_mut().insert("x-forwarded-for", client.parse().expect("header"));
        request
    };
    let first = connect_async(forwarded_for("203.0.113.7")).await;
    assert!(first.is_ok(), "the first from a client is let in");
    match connect_async(forwarded_for("198.51.100.1, 203.0.113.7")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
            assert!(body.contains("too many connections from your address"), "{body}");
        }
        other => panic!("a second from the same client must be refused: {:?}", other.map(|_| ())),
    }
    assert!(connect_async(forwarded_for("203.0.113.8")).await.is_ok(), "another client is not held up");
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(connect_async(forwarded_for("203.0.113.7")).await.is_ok(), "a closed socket frees its place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_escape_the_limits_with_a_forged_forwarded_for() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    // Loopback held to the limits and trusted as no proxy: a stranger.
    let limits = Limits { connections_per_ip: 1, limit_loopback: true, ..Limits::default() };
    let server = serve_with(limits).await;
    let url = format!("ws://{server}/ws");
    let forged = |client: &str| {
        let mut request = url.clone().into_client_request().expect("request");
        request.headers_mut().insert("x-forwarded-for", client.parse().expect("header"));
        request
    };
    let _first = connect_async(forged("203.0.113.7")).await.expect("first");
    match connect_async(forged("203.0.113.99")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("the header of a stranger must not be believed: {:?}", other.map(|_| ())),
    }
}
