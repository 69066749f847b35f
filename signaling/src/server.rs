//! The HTTP server loop: the app's router on hyper's HTTP/1 server, with a
//! deadline for a request's headers. `axum::serve` sets none, so a client
//! that opens connections and trickles its headers (slowloris) would hold
//! each one, and its file descriptor, forever; here such a connection is
//! closed after [`crate::Limits::header_read_timeout`]. WebSocket upgrades
//! work as before; shutdown lets requests in flight finish, for a while.
//! With a [`TlsAcceptor`] every connection is TLS (`https://`, `wss://`),
//! its handshake held to the same deadline.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
pub use tokio_rustls::TlsAcceptor;

/// How long shutdown waits for open connections before it stops anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What is wrong with the certificate or key given for TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{0} holds no certificate (PEM)")]
    NoCertificate(String),
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// A TLS acceptor for a PEM certificate chain and its PEM private key.
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let read = |path: &std::path::Path, error: &dyn std::fmt::Display| TlsError::Read {
        path: path.display().to_string(),
        reason: error.to_string(),
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| read(cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read(cert, &e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert.display().to_string()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| read(key, &e))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(std::sync::Arc::new(config)))
}

/// Serves `app` on `listener` until `shutdown` completes, over TLS when
/// `tls` is given, admitting connections within `limits` (see [`crate::gate`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &crate::Limits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let header_read_timeout = limits.header_read_timeout;
    let gate = crate::gate::Gate::new(limits);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, typically: wait, do not spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let admitted = gate.admit(peer.ip(), std::time::Instant::now());
        let (app, stop, tls) = (app.clone(), stop_rx.clone(), tls.clone());
        let gate = std::sync::Arc::clone(&gate);
        tokio::spawn(async move {
            let permit = match admitted {
                Ok(permit) => std::sync::Arc::new(permit),
                Err(refusal) => return refuse(stream, tls, refusal, header_read_timeout).await,
            };
            let arrival = crate::gate::Arrival { from: peer.ip(), gate, permit };
            match tls {
                None => serve_connection(stream, app, arrival, header_read_timeout, stop).await,
                Some(acceptor) => {
                    // The handshake has the headers' deadline too.
                    match tokio::time::timeout(header_read_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, app, arrival, header_read_timeout, stop).await
                        }
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake took too long"),
                    }
                }
            }
        });
    }
    let _ = stop_tx.send(true);
    drop(stop_rx);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, stop_tx.closed()).await;
}

/// Answers a connection the gate refused with the reason, then closes it.
async fn refuse(
    stream: tokio::net::TcpStream,
    tls: Option<TlsAcceptor>,
    refusal: crate::gate::Refusal,
    deadline: Duration,
) {
    use tokio::io::AsyncWriteExt;
    tracing::debug!(?refusal, "refused a connection");
    let response = refusal.response();
    let _ = tokio::time::timeout(deadline, async {
        match tls {
            None => {
                let mut stream = stream;
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
            Some(acceptor) => {
                if let Ok(mut stream) = acceptor.accept(stream).await {
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                }
            }
        }
    })
    .await;
}

/// One connection's HTTP/1 (and WebSocket upgrades) until it ends or the
/// server stops.
async fn serve_connection<IO>(
    io: IO,
    app: Router,
    arrival: crate::gate::Arrival,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use tower::ServiceExt;
    let app = app.map_request(move |mut request: axum::extract::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(arrival.clone());
        request
    });
    let service = TowerToHyperService::new(app);
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    let connection = builder.serve_connection(TokioIo::new(io), service).with_upgrades();
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stop.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
    }
    let _ = connection.await;
}
