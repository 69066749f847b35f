//! Signaling load test (`cargo bench -p signaling --bench load`): starts
//! `corkboard-signaling` as its own process pinned to one core, connects
//! many WebSocket clients in rooms of five, then measures relay latency
//! (client → server → client on loopback) and the server's memory. Twice in
//! one run: over plain `ws://`, then over `wss://` (the server's own TLS,
//! `--tls-cert`/`--tls-key`, with a certificate made for the run), so the
//! cost of TLS is a ratio. Prints a Markdown table. `LOAD_PEERS` and
//! `LOAD_SAMPLES` change the sizes.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::tungstenite::Message;

const ROOM_SIZE: usize = 5;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:").and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
        })
        .unwrap_or(0)
}

fn room(n: usize) -> String {
    format!("{n:064x}")
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

/// What one run measured.
struct Figures {
    health: String,
    connect_time: Duration,
    p50: Duration,
    p99: Duration,
    idle_rss: u64,
    loaded_rss: u64,
}

/// A certificate for 127.0.0.1 made now, as the server's files, and a
/// client configuration trusting only it.
struct Tls {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    client: Arc<rustls::ClientConfig>,
}

impl Tls {
    fn make() -> Tls {
        let certified =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
        let dir = std::env::temp_dir().join(format!("corkboard-load-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("TLS directory");
        let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
        std::fs::write(&cert, certified.cert.pem()).expect("write the certificate");
        std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write the key");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(certified.cert.der().clone()).expect("trust the certificate");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Tls { cert, key, client: Arc::new(client) }
    }
}

#[tokio::main]
async fn main() {
    let peers = env_usize("LOAD_PEERS", 10_000);
    let samples = env_usize("LOAD_SAMPLES", 5_000);
    let rooms = peers / ROOM_SIZE;
    let plain = measure(peers, samples, None).await;
    let tls = Tls::make();
    let sealed = measure(peers, samples, Some(&tls)).await;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mib = |kib: u64| kib as f64 / 1024.0;
    let per_peer = |f: &Figures| (f.loaded_rss.saturating_sub(f.idle_rss)) as f64 / peers as f64;
    println!("### Signaling server under load\n");
    println!(
        "Server pinned to one core (`taskset -c 0`, one tokio worker); clients in the same machine's other core. \
         The same load over `ws://` and then over `wss://` (the server's own TLS, rustls), in one run.\n"
    );
    println!("| what | ws:// | wss:// | wss / ws | target |\n|---|---:|---:|---:|---|");
    println!(
        "| peers connected and joined | {peers} in {rooms} rooms of {ROOM_SIZE} ({}) | ({}) | | 10,000 in 2,000 rooms |",
        plain.health, sealed.health
    );
    println!(
        "| time to connect and join them all | {:.1} s | {:.1} s | {:.2} | |",
        plain.connect_time.as_secs_f64(),
        sealed.connect_time.as_secs_f64(),
        sealed.connect_time.as_secs_f64() / plain.connect_time.as_secs_f64()
    );
    println!(
        "| relay latency p50 ({samples} signals) | {:.2} ms | {:.2} ms | {:.2} | |",
        ms(plain.p50),
        ms(sealed.p50),
        ms(sealed.p50) / ms(plain.p50)
    );
    println!(
        "| relay latency p99 | {:.2} ms | {:.2} ms | {:.2} | ≤ 20 ms |",
        ms(plain.p99),
        ms(sealed.p99),
        ms(sealed.p99) / ms(plain.p99)
    );
    println!(
        "| server memory: idle → loaded | {:.1} → {:.1} MiB ({:.1} KiB per peer) | {:.1} → {:.1} MiB ({:.1} KiB per peer) | {:.2} per peer | |",
        mib(plain.idle_rss),
        mib(plain.loaded_rss),
        per_peer(&plain),
        mib(sealed.idle_rss),
        mib(sealed.loaded_rss),
        per_peer(&sealed),
        per_peer(&sealed) / per_peer(&plain)
    );
}

/// One load run against a fresh server, over TLS when `tls` is given.
async fn measure(peers: usize, samples: usize, tls: Option<&Tls>) -> Figures {
    let port = 20_000 + (std::process::id() % 20_000) as u16 + u16::from(tls.is_some());
    let binary = env!("CARGO_BIN_EXE_corkboard-signaling");
    let mut command = if std::path::Path::new("/usr/bin/taskset").exists() {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", binary]);
        c
    } else {
        Command::new(binary)
    };
    command.args(["--listen", &format!("127.0.0.1:{port}")]);
    if let Some(tls) = tls {
        command.arg("--tls-cert").arg(&tls.cert).arg("--tls-key").arg(&tls.key);
    }
    let connector = tls.map(|tls| tokio_tungstenite::Connector::Rustls(Arc::clone(&tls.client)));
    let mut server = command
        .env("RUST_LOG", "warn")
        .env("TOKIO_WORKER_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start corkboard-signaling");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib(server.id());
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let url = format!("{scheme}://127.0.0.1:{port}/ws");

    // Connect and join, 200 at a time.
    let (latency_tx, mut latency_rx) = mpsc::unbounded_channel::<Duration>();
    let start_time = Instant::now();
    let epoch = Arc::new(start_time);
    let mut sinks: Vec<Arc<Mutex<Sink>>> = Vec::with_capacity(peers);
    let connect_start = Instant::now();
    for batch in (0..peers).collect::<Vec<_>>().chunks(200) {
        let mut joins = Vec::new();
        for &n in batch {
            let (url, connector) = (url.clone(), connector.clone());
            joins.push(tokio::spawn(async move {
                let (socket, _) =
                    tokio_tungstenite::connect_async_tls_with_config(url, None, false, connector)
                        .await
                        .expect("connect");
                let (mut sink, mut stream) = socket.split();
                let join = json!({"type": "join", "room": room(n / ROOM_SIZE), "peer": format!("p{n}")});
                sink.send(Message::Text(join.to_string().into())).await.expect("join");
                loop {
                    let Some(Ok(Message::Text(text))) = stream.next().await else { panic!("no joined") };
                    if text.contains("\"joined\"") {
                        break;
                    }
                }
                (sink, stream)
            }));
        }
        for join in joins {
            let (sink, mut stream) = join.await.expect("client");
            let latency_tx = latency_tx.clone();
            let epoch = Arc::clone(&epoch);
            tokio::spawn(async move {
                while let Some(Ok(message)) = stream.next().await {
                    if let Message::Text(text) = message
                        && let Ok(value) = serde_json::from_str::<serde_json::Value>(text.as_str())
                        && value["type"] == "signal"
                        && let Some(sent) = value["data"]
                            .as_str()
                            .and_then(|d| d.strip_prefix('t'))
                            .and_then(|d| d.parse::<u64>().ok())
                    {
                        let now = epoch.elapsed().as_nanos() as u64;
                        let _ = latency_tx.send(Duration::from_nanos(now.saturating_sub(sent)));
                    }
                }
            });
            sinks.push(Arc::new(Mutex::new(sink)));
        }
    }
    let connect_time = connect_start.elapsed();
    // Keep everyone alive past the server's idle timeout while we measure.
    let keepalive = {
        let sinks = sinks.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(15)).await;
                for sink in &sinks {
                    let ping = json!({"type": "ping"}).to_string();
                    let _ = sink.lock().await.send(Message::Text(ping.into())).await;
                }
            }
        })
    };
    let loaded_rss = rss_kib(server.id());
    let health = reqwest_health(port, tls).await;

    // Relay latency: one signal at a time to a room mate, spread over the clients.
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples {
        let from = (i * 7919) % peers;
        let to = (from / ROOM_SIZE) * ROOM_SIZE + (from % ROOM_SIZE + 1) % ROOM_SIZE;
        let sent = epoch.elapsed().as_nanos() as u64;
        let frame = json!({"type": "signal", "room": room(from / ROOM_SIZE), "to": format!("p{to}"), "data": format!("t{sent}")});
        sinks[from].lock().await.send(Message::Text(frame.to_string().into())).await.expect("signal");
        match tokio::time::timeout(Duration::from_secs(5), latency_rx.recv()).await {
            Ok(Some(latency)) => latencies.push(latency),
            _ => panic!("a relayed signal did not arrive"),
        }
    }
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    // Every client goes before the next run (their sockets with them).
    keepalive.abort();
    drop(sinks);
    let _ = server.kill();
    let _ = server.wait();
    Figures { health, connect_time, p50: percentile(0.50), p99: percentile(0.99), idle_rss, loaded_rss }
}

/// The server's own count of what it holds, from `/healthz`.
async fn reqwest_health(port: u16, tls: Option<&Tls>) -> String {
    let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return "no healthz".into();
    };
    let Some(tls) = tls else { return health_over(stream).await };
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&tls.client));
    let name = rustls::pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    match connector.connect(name, stream).await {
        Ok(stream) => health_over(stream).await,
        Err(_) => "no healthz".into(),
    }
}

async fn health_over(mut stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).await.is_err() {
        return "no healthz".into();
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    response.rsplit("\r\n\r\n").next().unwrap_or_default().trim().to_owned()
}
