//! Serving connections with limits axum's `serve` does not set: how long a client may take to
//! send its headers (slow-loris), how large they may be, and a bound on graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use ipnet::IpNet;
use tokio::net::TcpListener;
use tower::Service;

use axum::response::IntoResponse;

use crate::auth::guard::per_address::PerAddressLimit;
use crate::http::error::ApiError;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Connections one client address may hold open (`CONNECTIONS_PER_IP`); more are closed
    /// as soon as they are accepted. It bounds what one open-loop flooder can hold.
    pub connections_per_ip: usize,
    /// Peers the cap does not apply to: the trusted proxies, which carry many clients.
    pub uncapped: Vec<IpNet>,
    /// Time a client has to send a request's headers, and to start the next request on a
    /// kept-alive connection. Slow-loris clients are cut off after it.
    pub header_read_timeout: Duration,
    /// Largest request head (line plus headers) accepted; larger ones get
    /// `431 {"detail": "Request Header Fields Too Large"}` and the connection is closed.
    pub max_header_bytes: usize,
    /// Longest graceful shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            connections_per_ip: 256,
            uncapped: Vec::new(),
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 32 * 1024,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// How much larger than `max_header_bytes` hyper's read buffer is: heads up to this many
/// times the limit are answered in JSON; beyond it, with hyper's empty 431.
pub const HEAD_BUFFER_FACTOR: usize = 4;

/// A request head's size on the wire, as HTTP/1.1 frames it: the request line, each
/// `name: value` line, and the blank line that ends them.
fn head_len<B>(request: &Request<B>) -> usize {
    let line = request.method().as_str().len() + request.uri().to_string().len() + 12;
    let fields: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    line + fields + 2
}

/// Accepts connections until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let max_head = options.max_header_bytes;
    // hyper answers a head that overflows its buffer with a bare 431 of its own. Its buffer is
    // kept larger than the limit, so that heads between the two reach the check below and get
    // the JSON answer every other error has; only absurd ones meet hyper's.
    let buffer = max_head.saturating_mul(HEAD_BUFFER_FACTOR).max(8192);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(buffer);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(buffer).unwrap_or(u32::MAX))
        .keep_alive_interval(options.header_read_timeout)
        .keep_alive_timeout(options.header_read_timeout);

    let connections = PerAddressLimit::new(options.connections_per_ip);
    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = if options.uncapped.iter().any(|net| net.contains(&peer.ip())) {
            None
        } else if let Ok(permit) = connections.acquire(peer.ip()) {
            Some(permit)
        } else {
            tracing::debug!(%peer, "connection refused: CONNECTIONS_PER_IP reached");
            continue;
        };
        let Ok(service) = make_service.call(peer).await;
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let oversized = head_len(&request) > max_head;
            let mut service = service.clone();
            async move {
                if oversized {
                    return Ok(ApiError::HeaderFieldsTooLarge.into_response());
                }
                service.call(request.map(axum::body::Body::new)).await
            }
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(err) = connection.await {
                tracing::debug!(%peer, %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(options.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("graceful shutdown timed out; closing remaining connections");
    }
    Ok(())
}
