//! An HTTP receiver for the tests of what Hygie sends out (webhooks, alerts forwarded to a
//! SIEM): a thread serving axum on a free loopback port, recording every request with what it
//! answered, and answering as the test's policy says.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    /// A header's value, empty when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map_or("", String::as_str)
    }
}

/// What to answer to a request, given those received before it.
pub type Policy = dyn Fn(&[Received], &BTreeMap<String, String>) -> u16 + Send + Sync;

/// A receiver serving `POST /hook`; it stops with the test process.
pub struct Receiver {
    pub port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(
        answer: impl Fn(&[Received], &BTreeMap<String, String>) -> u16 + Send + Sync + 'static,
    ) -> Receiver {
        let answer: Arc<Policy> = Arc::new(answer);
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = got.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a free port");
                let _ = tx.send(listener.local_addr().expect("bound").port());
                let app = axum::Router::new().route(
                    "/hook",
                    axum::routing::post(
                        move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                            let (got, answer) = (shared.clone(), answer.clone());
                            async move {
                                let headers: BTreeMap<String, String> = headers
                                    .iter()
                                    .map(|(k, v)| {
                                        (
                                            k.as_str().to_ascii_lowercase(),
                                            v.to_str().unwrap_or_default().to_owned(),
                                        )
                                    })
                                    .collect();
                                let mut got = got.lock().expect("lock");
                                let status = answer(&got, &headers);
                                got.push(Received {
                                    headers,
                                    body: body.to_vec(),
                                    status,
                                });
                                axum::http::StatusCode::from_u16(status)
                                    .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                            }
                        },
                    ),
                );
                let _ = axum::serve(listener, app).await;
            });
        });
        let port = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("receiver listening");
        Receiver { port, got }
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    /// The requests answered 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.status < 300)
            .collect()
    }
}
