//! The HTTP and HTTPS server: one accept loop for both, with the limits a listener open to a
//! hospital network needs against slow and many clients.
//!
//! - **Connection cap** (`Limits::max_connections`, by default under the process's
//!   file-descriptor limit): beyond it a new connection is answered `503` at once (plain HTTP)
//!   or closed (HTTPS) and the descriptor freed, so the connections already accepted, `/healthz`
//!   among them, keep being served instead of the process running out of descriptors.
//! - **Header timeout**: a request's headers must arrive within `header_timeout`, and a kept-alive
//!   connection waiting for its next request is closed after as long (hyper's header read
//!   timeout restarts when a connection goes idle); the TLS handshake gets as long.
//! - **Body timeout**: a request's whole body must arrive within `body_timeout` of its headers;
//!   then the request is answered `408` and the connection closed (`BodyDeadline`).
//!
//! HTTP/1.1 only (also over TLS, by ALPN): every timeout above is HTTP/1.1's; HTTP/2 would need
//! guards of its own (preface, idle streams) for no gain on server-rendered pages.

use crate::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

/// How many connections, and how long a client may take to send a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once; beyond, new ones are refused at once.
    pub max_connections: usize,
    /// Time to send a request's headers (and to finish the TLS handshake); also how long a
    /// kept-alive connection may wait for its next request.
    pub header_timeout: Duration,
    /// Time to send a request's whole body, from its headers.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: default_max_connections(),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
        }
    }
}

/// The most connections served at once when none is configured: 1024, or half the process's
/// file-descriptor limit when that is lower, so that the store, the logs and the refusals of
/// connections beyond the cap always find a descriptor.
pub fn default_max_connections() -> usize {
    cap_for_descriptors(descriptor_limit())
}

fn cap_for_descriptors(limit: Option<u64>) -> usize {
    let half = limit.map_or(u64::MAX, |n| n / 2);
    usize::try_from(half.min(1024)).unwrap_or(1024).max(1)
}

/// The soft limit on open file descriptors (None when unlimited or unknown).
fn descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// The answer to a connection beyond the cap, written without reading the request: the client
/// learns at once that the server is busy, and the descriptor is freed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 77\r\n\r\nServer busy, retry in a moment. / Serveur occupe, reessayez dans un instant.\r\n";

/// Serve the application on an already bound listener, over TLS when `tls` is given, until
/// `shutdown` completes; connections in progress are then given `header_timeout` to finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    tls: Option<crate::tls::TlsConfig>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let app = crate::router(state.clone());
    let tls = tls.map(|c| tokio_rustls::TlsAcceptor::from(c.0));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before it was accepted: the
                    // listener itself is fine; pause so that a lasting shortage does not spin.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tracing::trace!(%peer, "connection accepted");
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            state.metrics().connection_refused();
            if tls.is_none() {
                // A fresh socket's send buffer is empty: this never blocks.
                let _ = stream.try_write(BUSY);
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            app: app.clone(),
            peer,
            limits,
            stop: stop_rx.clone(),
        };
        let (tls, state) = (tls.clone(), state.clone());
        tokio::spawn(async move {
            // Held until the connection ends: its slot, and its count in the metrics.
            let _slot = slot;
            let _open = state.metrics().connection_opened();
            match tls {
                Some(acceptor) => {
                    // A handshake that fails or drags on gets no answer.
                    let handshake = acceptor.accept(stream);
                    if let Ok(Ok(s)) = tokio::time::timeout(limits.header_timeout, handshake).await
                    {
                        conn.run(s).await;
                    }
                }
                None => conn.run(stream).await,
            }
        });
    }
    let _ = stop_tx.send(true);
    // Connections finish their request in progress; past the grace period the process exits.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.header_timeout, slots.acquire_many(all)).await;
    Ok(())
}

/// One accepted connection and what serving it needs.
struct Connection {
    app: Router,
    peer: SocketAddr,
    limits: Limits,
    stop: watch::Receiver<bool>,
}

impl Connection {
    /// Serve HTTP/1.1 requests on `io` until the client leaves, a timeout closes it, or the
    /// server stops (then the request in progress is finished first).
    async fn run<S>(mut self, io: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (app, peer, body_timeout) = (self.app, self.peer, self.limits.body_timeout);
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let app = app.clone();
            async move {
                let (mut parts, body) = req.into_parts();
                parts.extensions.insert(ConnectInfo(peer));
                let deadline = BodyDeadline::default();
                parts.extensions.insert(deadline.clone());
                let body = Body::new(DeadlineBody {
                    inner: body,
                    sleep: Box::pin(tokio::time::sleep(body_timeout)),
                    passed: deadline,
                });
                app.oneshot(hyper::Request::from_parts(parts, body)).await
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .max_buf_size(MAX_HEAD_BYTES)
            .serve_connection(TokioIo::new(io), service);
        let mut conn = std::pin::pin!(conn);
        let ended = tokio::select! {
            r = conn.as_mut() => Some(r),
            _ = self.stop.wait_for(|stop| *stop) => None,
        };
        let ended = match ended {
            Some(r) => r,
            None => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = ended {
            // Timeouts and clients that leave mid-request are routine: debug level only.
            tracing::debug!(peer = %peer, "connection ended: {e}");
        }
    }
}

/// The largest request head (request line and headers) read: hyper's smallest buffer is 8 KiB;
/// 64 KiB holds any browser's cookies and headers. Beyond, hyper answers 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Set on a request whose body did not arrive in time; the application answers it `408`
/// (`crate::framework_errors`) and closes the connection.
#[derive(Clone, Default)]
pub(crate) struct BodyDeadline(Arc<AtomicBool>);

impl BodyDeadline {
    pub(crate) fn passed(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The body did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

/// A request body that fails once its deadline has passed, however it trickles in.
struct DeadlineBody {
    inner: Incoming,
    sleep: Pin<Box<tokio::time::Sleep>>,
    passed: BodyDeadline,
}

impl http_body::Body for DeadlineBody {
    type Data = <Incoming as http_body::Body>::Data;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.passed.0.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Pin::new(&mut self.inner)
            .poll_frame(cx)
            .map_err(|e| Box::new(e) as axum::BoxError)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_under_the_descriptor_limit() {
        assert_eq!(cap_for_descriptors(Some(256)), 128);
        assert_eq!(cap_for_descriptors(Some(1_048_576)), 1024);
        assert_eq!(cap_for_descriptors(None), 1024);
        assert_eq!(cap_for_descriptors(Some(1)), 1);
        assert!(default_max_connections() >= 1);
    }
}
