//! Signaling load test (`cargo bench -p signaling --bench load`): starts
//! `corkboard-signaling` as its own process pinned to one core, connects
//! many WebSocket clients in rooms of five, then measures relay latency
//! (client → server → client on loopback) and the server's memory. Twice in
//! one run: over plain `ws://`, then over `wss://` (the server's own TLS,
//! `--tls-cert`/`--tls-key`, with a certificate made for the run), so the
//! cost of TLS is a ratio. Then a third time across two instances sharing
//! rooms through a real `redis-server` (`--redis`, started by the bench):
//! each room has three peers on one instance and two on the other, and
//! signals to a room mate on the same instance and on the other one are
//! timed in turn, so the cost of crossing is a ratio. Prints Markdown
//! tables. `LOAD_PEERS` and `LOAD_SAMPLES` change the sizes.

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
    /// Across instances (cluster runs): signals to a peer on the other
    /// instance, p50 and p99 (`p50`/`p99` are then same-instance signals).
    crossing: Option<(Duration, Duration)>,
}

/// How the servers of one run are set up.
#[derive(Clone, Copy)]
enum Setup<'a> {
    Plain,
    Tls(&'a Tls),
    /// Two instances sharing rooms through the Redis at this URL.
    Cluster(&'a str),
}

/// Peers of a room with this position or more are on the second instance.
const SECOND_INSTANCE_FROM: usize = 3;

/// A `redis-server` for the cluster run, on a unix socket; killed on drop.
struct Redis {
    process: std::process::Child,
    dir: std::path::PathBuf,
}

impl Redis {
    fn start() -> Redis {
        let dir = std::env::temp_dir().join(format!("corkboard-load-redis-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("Redis directory");
        let socket = dir.join("redis.sock");
        let process = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--save", "", "--appendonly", "no", "--maxclients", "1000"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server (apt-get install redis-server)");
        for _ in 0..500 {
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Redis { process, dir }
    }

    fn url(&self) -> String {
        format!("unix://{}", self.dir.join("redis.sock").display())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
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
    let plain = measure(peers, samples, Setup::Plain).await;
    let tls = Tls::make();
    let sealed = measure(peers, samples, Setup::Tls(&tls)).await;
    let redis = Redis::start();
    let shared = measure(peers, samples, Setup::Cluster(&redis.url())).await;
    drop(redis);
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
    let (cross_p50, cross_p99) = shared.crossing.unwrap_or_default();
    println!("\n### Signaling across two instances through Redis\n");
    println!(
        "Two `corkboard-signaling --redis` instances, each pinned to core 0 with one tokio worker, and a \
         `redis-server` on a unix socket (unpinned); clients on the other core. Each room of {ROOM_SIZE} has \
         {SECOND_INSTANCE_FROM} peers on the first instance and the rest on the second; signals to a room mate on \
         the same instance and on the other one are sent in turn, one at a time.\n"
    );
    println!(
        "| what | same instance | across instances | across / same | target |\n|---|---:|---:|---:|---|"
    );
    println!(
        "| peers connected and joined | {peers} in {rooms} rooms, across both ({}) | | | 10,000 across two instances |",
        shared.health
    );
    println!("| time to connect and join them all | {:.1} s | | | |", shared.connect_time.as_secs_f64());
    println!(
        "| relay latency p50 ({} signals each) | {:.2} ms | {:.2} ms | {:.2} | |",
        samples / 2,
        ms(shared.p50),
        ms(cross_p50),
        ms(cross_p50) / ms(shared.p50)
    );
    println!(
        "| relay latency p99 | {:.2} ms | {:.2} ms | {:.2} | ≤ 20 ms |",
        ms(shared.p99),
        ms(cross_p99),
        ms(cross_p99) / ms(shared.p99)
    );
    println!(
        "| memory of the first instance: idle → loaded | {:.1} → {:.1} MiB | | | |",
        mib(shared.idle_rss),
        mib(shared.loaded_rss)
    );
}

/// Starts `corkboard-signaling` on `port`, pinned to core 0 where taskset is.
fn server(port: u16, setup: Setup<'_>) -> std::process::Child {
    let binary = env!("CARGO_BIN_EXE_corkboard-signaling");
    let mut command = if std::path::Path::new("/usr/bin/taskset").exists() {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", binary]);
        c
    } else {
        Command::new(binary)
    };
    command.args(["--listen", &format!("127.0.0.1:{port}")]);
    match setup {
        Setup::Plain => {}
        Setup::Tls(tls) => {
            command.arg("--tls-cert").arg(&tls.cert).arg("--tls-key").arg(&tls.key);
        }
        Setup::Cluster(redis) => {
            command.args(["--redis", redis]);
        }
    }
    command
        .env("RUST_LOG", "warn")
        .env("TOKIO_WORKER_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start corkboard-signaling")
}

/// One load run against fresh servers.
async fn measure(peers: usize, samples: usize, setup: Setup<'_>) -> Figures {
    let offset = match setup {
        Setup::Plain => 0,
        Setup::Tls(_) => 1,
        Setup::Cluster(_) => 2,
    };
    let port = 20_000 + (std::process::id() % 20_000) as u16 + offset * 2;
    let tls = match setup {
        Setup::Tls(tls) => Some(tls),
        _ => None,
    };
    let mut servers = vec![server(port, setup)];
    if matches!(setup, Setup::Cluster(_)) {
        servers.push(server(port + 1, setup));
    }
    let connector = tls.map(|tls| tokio_tungstenite::Connector::Rustls(Arc::clone(&tls.client)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib(servers[0].id());
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let url_of = |n: usize| {
        let second = servers.len() > 1 && n % ROOM_SIZE >= SECOND_INSTANCE_FROM;
        format!("{scheme}://127.0.0.1:{}/ws", port + u16::from(second))
    };

    // Connect and join, 200 at a time.
    let (latency_tx, mut latency_rx) = mpsc::unbounded_channel::<Duration>();
    let start_time = Instant::now();
    let epoch = Arc::new(start_time);
    let mut sinks: Vec<Arc<Mutex<Sink>>> = Vec::with_capacity(peers);
    let connect_start = Instant::now();
    for batch in (0..peers).collect::<Vec<_>>().chunks(200) {
        let mut joins = Vec::new();
        for &n in batch {
            let (url, connector) = (url_of(n), connector.clone());
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
    let loaded_rss = rss_kib(servers[0].id());
    let health = reqwest_health(port, tls).await;
    let crossing = servers.len() > 1;

    // Relay latency: one signal at a time to a room mate, spread over the
    // clients; across a cluster, to a room mate on the same instance and on
    // the other one in turn.
    let mut latencies = Vec::with_capacity(samples);
    let mut crossed = Vec::with_capacity(samples / 2);
    for i in 0..samples {
        let sender = (i * 7919) % peers;
        let base = (sender / ROOM_SIZE) * ROOM_SIZE;
        let (from, to) = if !crossing {
            (sender, base + (sender % ROOM_SIZE + 1) % ROOM_SIZE)
        } else if i % 2 == 0 {
            (base, base + 1)
        } else {
            (base, base + SECOND_INSTANCE_FROM)
        };
        let sent = epoch.elapsed().as_nanos() as u64;
        let frame = json!({"type": "signal", "room": room(from / ROOM_SIZE), "to": format!("p{to}"), "data": format!("t{sent}")});
        sinks[from].lock().await.send(Message::Text(frame.to_string().into())).await.expect("signal");
        match tokio::time::timeout(Duration::from_secs(5), latency_rx.recv()).await {
            Ok(Some(latency)) if crossing && i % 2 == 1 => crossed.push(latency),
            Ok(Some(latency)) => latencies.push(latency),
            _ => panic!("a relayed signal did not arrive"),
        }
    }
    let percentile = |latencies: &mut Vec<Duration>, p: f64| {
        latencies.sort();
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)]
    };
    // Every client goes before the next run (their sockets with them).
    keepalive.abort();
    drop(sinks);
    for mut server in servers {
        let _ = server.kill();
        let _ = server.wait();
    }
    Figures {
        health,
        connect_time,
        p50: percentile(&mut latencies, 0.50),
        p99: percentile(&mut latencies, 0.99),
        idle_rss,
        loaded_rss,
        crossing: crossing.then(|| (percentile(&mut crossed, 0.50), percentile(&mut crossed, 0.99))),
    }
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
