//! A loopback HTTP server that records every request and answers with
//! scripted statuses, for testing HTTP hooks against a real server.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use tokio::sync::mpsc;

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// HTTP method.
    pub method: Method,
    /// Path and query.
    pub uri: Uri,
    /// Request headers.
    pub headers: HeaderMap,
    /// Request body.
    pub body: Bytes,
}

impl Recorded {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<VecDeque<(u16, Bytes)>>>,
    default_status: u16,
    delay: Duration,
    sender: mpsc::UnboundedSender<Recorded>,
}

/// A running recorder.
pub struct Recorder {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    receiver: tokio::sync::Mutex<mpsc::UnboundedReceiver<Recorded>>,
}

async fn record(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Bytes) {
    let _ = shared.sender.send(Recorded {
        method,
        uri,
        headers,
        body,
    });
    if !shared.delay.is_zero() {
        tokio::time::sleep(shared.delay).await;
    }
    let (status, body) = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((shared.default_status, Bytes::new()));
    (StatusCode::from_u16(status).expect("valid status"), body)
}

impl Recorder {
    /// Answer the first requests with `script`, then always `default_status`.
    pub async fn start(script: &[u16], default_status: u16) -> Recorder {
        Self::start_slow(script, default_status, Duration::ZERO).await
    }

    /// Answer the first requests with `replies` (status, body), then
    /// always `default_status` with an empty body.
    pub async fn start_replies(replies: &[(u16, &str)], default_status: u16) -> Recorder {
        let script: Vec<(u16, Bytes)> = replies
            .iter()
            .map(|(status, body)| (*status, Bytes::from(body.to_string())))
            .collect();
        let (app, listener, recorder) =
            Self::setup("http", script, default_status, Duration::ZERO).await;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        recorder
    }

    /// Like [`Recorder::start`], answering each request after `delay`.
    pub async fn start_slow(script: &[u16], default_status: u16, delay: Duration) -> Recorder {
        let script = script.iter().map(|s| (*s, Bytes::new())).collect();
        let (app, listener, recorder) = Self::setup("http", script, default_status, delay).await;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        recorder
    }

    /// An HTTPS recorder answering 200, with `tls` as its server configuration.
    pub async fn start_tls(tls: Arc<tokio_rustls::rustls::ServerConfig>) -> Recorder {
        let (app, listener, recorder) = Self::setup("https", Vec::new(), 200, Duration::ZERO).await;
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    // A failed handshake is the outcome some tests expect.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let io = hyper_util::rt::TokioIo::new(tls);
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(io, service)
                    .await;
                });
            }
        });
        recorder
    }

    async fn setup(
        scheme: &str,
        script: Vec<(u16, Bytes)>,
        default_status: u16,
        delay: Duration,
    ) -> (Router, tokio::net::TcpListener, Recorder) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Shared {
            script: Arc::new(Mutex::new(script.into())),
            default_status,
            delay,
            sender,
        };
        let app = Router::new().fallback(record).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let recorder = Recorder {
            url,
            receiver: tokio::sync::Mutex::new(receiver),
        };
        (app, listener, recorder)
    }

    /// Wait for the next request (at most 10 s).
    pub async fn next(&self) -> Recorded {
        let mut receiver = self.receiver.lock().await;
        tokio::time::timeout(Duration::from_secs(10), receiver.recv())
            .await
            .expect("no request arrived within 10 s")
            .expect("the server is running")
    }

    /// Wait for the next request, however long it takes (a collector task
    /// bounded by its test's own timeout).
    pub async fn next_forever(&self) -> Recorded {
        self.receiver
            .lock()
            .await
            .recv()
            .await
            .expect("the server is running")
    }

    /// Requests received and not yet taken with [`Recorder::next`].
    pub async fn pending(&self) -> usize {
        self.receiver.lock().await.len()
    }
}
