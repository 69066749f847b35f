//! `corkboard-signaling`: binds, serves `signaling::app`, shuts down
//! gracefully on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use signaling::{AppState, Limits};
use tracing_subscriber::EnvFilter;

/// Corkboard's signaling server: introduces the peers of a board to each
/// other and serves the web app. Stores nothing.
#[derive(Debug, Parser)]
#[command(name = "corkboard-signaling", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Directory of the web app to serve (index.html is the fallback).
    #[arg(long = "static", value_name = "DIR")]
    static_dir: Option<PathBuf>,
    /// Most peers in one room.
    #[arg(long, default_value_t = Limits::default().peers_per_room)]
    peers_per_room: usize,
    /// Most connections open at once.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Most connections open at once from one IP address (behind a reverse
    /// proxy on loopback or --trusted-proxy: from the client it names).
    #[arg(long, default_value_t = Limits::default().connections_per_ip)]
    max_connections_per_ip: usize,
    /// A reverse proxy or load balancer besides loopback that connects for
    /// others (its WebSockets are held to the limits of the client its
    /// X-Forwarded-For names); repeatable.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// An origin whose pages may use this server (`https://corkboard.example.org`);
    /// repeatable; none: any. Native peers send no origin and are let in.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// A STUN server handed to every client (`stun:host:port`); repeatable.
    #[arg(long = "stun", value_name = "URL")]
    stun: Vec<String>,
    /// A TURN server handed to every client with fresh credentials
    /// (`turn:host:port`, `turns:host:port`, `turn:host:port?transport=tcp`); repeatable.
    #[arg(long = "turn-url", value_name = "URL")]
    turn_urls: Vec<String>,
    /// The secret shared with the TURN server (coturn's `static-auth-secret`);
    /// better given in the environment than on the command line.
    #[arg(long, env = "CORKBOARD_TURN_SECRET", hide_env_values = true, value_name = "SECRET")]
    turn_secret: Option<String>,
    /// Serve HTTPS and WSS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Share rooms with every instance using this Redis (`redis://host:port/`,
    /// `unix:///path/redis.sock`): peers on different instances meet. If
    /// Redis goes away, rooms work on each instance alone until it is back.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// With --redis: how often this instance lists its peers again, in
    /// milliseconds; an instance that dies leaves the others' view within
    /// three of these.
    #[arg(long, default_value_t = 5000, value_name = "MS", requires = "redis")]
    redis_heartbeat_ms: u64,
    /// How long handed-out TURN credentials last, in seconds.
    #[arg(long, default_value_t = signaling::ice::DEFAULT_TTL.as_secs(), value_name = "SECS")]
    turn_ttl: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Some(dir) = &args.static_dir
        && !dir.join("index.html").is_file()
    {
        anyhow::bail!("--static {}: no index.html there", dir.display());
    }
    let limits = Limits {
        peers_per_room: args.peers_per_room,
        max_connections: args.max_connections,
        connections_per_ip: args.max_connections_per_ip,
        allowed_origins: args.allowed_origins.clone(),
        trusted_proxies: args.trusted_proxies.clone(),
        ..Limits::default()
    };
    let ice = signaling::ice::IceConfig::new(
        args.stun.clone(),
        args.turn_urls.clone(),
        args.turn_secret.clone(),
        std::time::Duration::from_secs(args.turn_ttl),
    )
    .context("the ICE server flags")?;
    tracing::info!(stun = ?args.stun, turn = ?args.turn_urls, "ICE servers handed to clients");
    let state = match &args.redis {
        Some(url) => {
            let mut config = signaling::cluster::ClusterConfig::new(url.clone());
            config.heartbeat = std::time::Duration::from_millis(args.redis_heartbeat_ms.max(50));
            config.expiry = config.heartbeat * 3;
            let cluster = signaling::cluster::Cluster::configure(config)?;
            tracing::info!(instance = cluster.cluster().instance(), "rooms shared through Redis");
            AppState::with_cluster(limits, args.static_dir.clone(), ice, cluster)
        }
        None => AppState::with_ice(limits, args.static_dir.clone(), ice),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(signaling::server::tls_acceptor(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, static_dir = ?args.static_dir, "signaling server listening");
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{address}");
    let limits = state.hub.limits.clone();
    signaling::server::serve(listener, signaling::app(state), &limits, tls, shutdown()).await;
    tracing::info!("shut down");
    Ok(())
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or(()),
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
