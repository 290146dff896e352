//! `hookhost serve`: an HTTP endpoint whose URLs go straight into SFTPGo's
//! configuration (`common.actions.hook`, `data_provider.actions.hook`, and
//! every login and connection hook key: `pre_login_hook`,
//! `external_auth_hook`, `check_password_hook`, `post_login_hook`,
//! `keyboard_interactive_auth_hook`, `post_connect_hook`,
//! `post_disconnect_hook`, `startup_hook`, `data_retention_hook`).
//!
//! Binds 127.0.0.1 by default. With a token, every route but `/healthz`
//! needs `Authorization: Bearer <token>` (give SFTPGo the header through its
//! `http.headers`). SIGHUP (and, unless disabled, a change of the
//! configuration file) reloads the configuration in the background; a broken
//! one is refused and logged while the running one stays. SIGTERM or SIGINT
//! stops accepting, lets in-flight requests finish, drains asynchronous hooks
//! and flushes notifier queues.
//!
//! Connections: at most `max_connections` at once (more wait) and
//! `max_connections_per_ip` silent ones from one address (no request in
//! their first second; more from it are closed at once); when all are taken a new connection evicts one that never
//! carried a request (silent or partial headers) of the address holding the
//! most (`conns`), so a flood cannot keep `/healthz`
//! from answering others; a client gets `header_read_timeout` to send a
//! request's headers, and an idle keep-alive connection is closed after the
//! same time, so slow or silent clients cannot hold the server's file
//! descriptors. The file-descriptor soft limit is raised to the hard limit
//! at start.

mod conns;
pub mod login;
mod offload;
mod replay;
mod respond;
pub mod routes;
mod tls;

pub use tls::TlsFiles;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;
use crate::host::Host;
use crate::loopguard::LoopGuard;
use crate::reload::ReloadableHost;
use offload::Offload;

/// How `serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The configuration file (reloaded on SIGHUP).
    pub config: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Bearer token required on every route but `/healthz`.
    pub token: Option<String>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Reload when the configuration file changes (checked every 2 s).
    pub watch_config: bool,
    /// Time to send a request's headers; also the idle keep-alive timeout.
    pub header_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Silent connections (no request in their first second) one address
    /// may hold; a client's keep-alive connections do not count.
    pub max_connections_per_ip: usize,
    /// The bounds on keyboard-interactive exchanges.
    pub keyboard: login::KeyboardLimits,
    /// Serve a non-loopback address without a token (else refused: anyone
    /// who reaches the address could answer SFTPGo's hooks).
    pub insecure: bool,
    /// Serve HTTPS with these files (reloaded on SIGHUP); unset: plain HTTP.
    pub tls: Option<TlsFiles>,
}

/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8765";
/// The default body limit: SFTPGo's bodies are small; 1 MiB is generous.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
/// The default time a client has to send a request's headers, and an idle
/// connection stays open: SFTPGo sends its headers at once.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default number of connections served at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
pub use conns::DEFAULT_MAX_CONNECTIONS_PER_IP;

struct App {
    host: Arc<ReloadableHost>,
    token: Option<String>,
    sessions: login::Sessions,
    replays: replay::Replays,
}

/// What the routes need besides the host.
#[derive(Clone, Debug, Default)]
pub struct RouterOptions {
    /// Bearer token required on every route but `/healthz`.
    pub token: Option<String>,
    /// Largest request body accepted (default: [`DEFAULT_MAX_BODY`]).
    pub max_body_bytes: Option<usize>,
    /// The bounds on keyboard-interactive exchanges (default:
    /// [`login::KeyboardLimits::default`]).
    pub keyboard: login::KeyboardLimits,
}

/// Compare without leaking through timing where the first byte differs.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The 401 answer for a request without the configured bearer token, if
/// one is configured (`/healthz` needs none).
fn refuse_unauthorized(app: &App, request: &Request) -> Option<Response> {
    let token = app.token.as_ref()?;
    if request.uri().path() == "/healthz" {
        return None;
    }
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given.is_some_and(|g| same_token(g.as_bytes(), token.as_bytes())) {
        return None;
    }
    let mut response = respond::error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, "Bearer".parse().expect("static header"));
    Some(response)
}

fn route_name(path: &str) -> &'static str {
    match path {
        "/v1/actions/fs" => "actions_fs",
        "/v1/actions/provider" => "actions_provider",
        "/v1/pre-login" => "pre_login",
        "/v1/post-login" => "post_login",
        "/v1/post-connect" => "post_connect",
        "/v1/post-disconnect" => "post_disconnect",
        "/v1/startup" => "startup",
        "/v1/data-retention" => "data_retention",
        "/v1/events" => "events",
        "/v1/auth/external" => "auth_external",
        "/v1/auth/check-password" => "auth_check_password",
        "/v1/auth/keyboard-interactive" => "auth_keyboard_interactive",
        "/healthz" => "healthz",
        "/metrics" => "metrics",
        _ => "other",
    }
}

/// What every request goes through, in one layer (one boxed service and
/// one future instead of three on each request's path): the bearer token
/// check, errors answered as JSON, and the request counted by route and
/// status.
async fn edge(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let route = route_name(request.uri().path());
    let response = match refuse_unauthorized(&app, &request) {
        Some(refused) => refused,
        None => json_errors(next.run(request).await).await,
    };
    app.host
        .metrics()
        .request(route, response.status().as_u16());
    response
}

/// Every error is JSON: axum's own rejections (413 body too large, 405,
/// ...) come as plain text, and are rewritten as `{"error": text}`.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.trim().to_owned()
    };
    respond::error(status, message)
}

async fn not_found() -> Response {
    respond::error(StatusCode::NOT_FOUND, "no such route").into_response()
}

/// hookhost's routes over `host`, as an axum router an embedder can serve
/// or nest in its own (`Router::new().nest("/hooks", router(...))`). The
/// routes answer SFTPGo's hook contracts; see the [`routes`] module.
pub fn router(host: Arc<ReloadableHost>, options: RouterOptions) -> Router {
    let keyboard = host.metrics().keyboard.clone();
    let app = Arc::new(App {
        host,
        token: options.token,
        sessions: login::Sessions::new(options.keyboard, keyboard),
        replays: replay::Replays::default(),
    });
    let max_body_bytes = options.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY);
    Router::new()
        .route("/v1/actions/fs", post(routes::fs_action))
        .route("/v1/actions/provider", post(routes::provider_action))
        .route("/v1/pre-login", post(login::pre_login))
        .route("/v1/post-login", post(login::post_login))
        .route("/v1/post-connect", get(login::post_connect))
        .route("/v1/post-disconnect", get(login::post_disconnect))
        .route("/v1/startup", get(login::startup))
        .route("/v1/data-retention", post(login::data_retention))
        .route("/v1/events", post(routes::event_rule))
        .route("/v1/auth/external", post(login::external_auth))
        .route("/v1/auth/check-password", post(login::check_password))
        .route(
            "/v1/auth/keyboard-interactive",
            post(login::keyboard_interactive),
        )
        .route("/healthz", get(routes::healthz))
        .route("/metrics", get(routes::metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(app.clone(), edge))
        .with_state(app)
}

async fn reload(host: &Arc<ReloadableHost>, offload: &Offload, path: &Path, why: &str) {
    let attempt = async {
        // Read and validate off the runtime, bounded: a FIFO or a hung
        // mount in place of the file must not hold a runtime worker.
        let read = path.to_path_buf();
        let config = offload
            .run(
                &format!("reading {}", path.display()),
                offload::READ_LIMIT,
                move || Config::from_file(&read),
            )
            .await?
            .map_err(|e| e.to_string())?;
        log_advisories(&config);
        // Building reads and compiles the components (seconds for a new
        // one): on a blocking thread too, driving the build's async parts
        // through the runtime's handle. A panic there is a refused reload.
        let host = host.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || runtime.block_on(host.reload(config)))
            .await
            .map_err(|_| "building the configuration panicked".to_owned())?
            .map_err(|e| e.to_string())
    };
    match attempt.await {
        Ok(generation) => tracing::info!(generation, why, "configuration reloaded"),
        Err(err) => {
            tracing::error!(why, error = %err, "configuration reload refused; the running configuration stays")
        }
    }
}

/// What in the configuration is likely not meant, as warnings.
fn log_advisories(config: &Config) {
    for advice in config.advisories() {
        tracing::warn!("{advice}");
    }
}

/// When the file was last changed; `None` when that cannot be read now
/// (off the runtime, bounded like a reload's read).
async fn modified(offload: &Offload, path: &Path) -> Option<Option<SystemTime>> {
    let path = path.to_path_buf();
    offload
        .run(
            "checking the configuration file",
            offload::READ_LIMIT,
            move || std::fs::metadata(path).and_then(|m| m.modified()).ok(),
        )
        .await
        .inspect_err(|err| tracing::warn!(error = %err, "configuration watch skipped"))
        .ok()
}

/// Why `serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration (or a file it names) is unusable.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// The host could not be built from it.
    #[error(transparent)]
    Host(#[from] crate::Error),
    /// The address cannot be listened on.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address asked for.
        address: SocketAddr,
        /// Why not.
        source: std::io::Error,
    },
    /// The certificate, its key or the client CAs cannot be used.
    #[error("{0}")]
    Tls(String),
    /// A non-loopback address without a token, client certificates or
    /// `insecure`: whoever reaches it could decide SFTPGo's uploads and
    /// logins.
    #[error(
        "refusing to serve {0} without a token: it is not a loopback address, and whoever reaches it could decide SFTPGo's uploads and logins; give a token (--token-file FILE or HOOKHOST_TOKEN; SFTPGo sends it through http.headers), or pass --insecure if the network is yours alone"
    )]
    NoToken(SocketAddr),
    /// The signal handlers (SIGHUP, SIGTERM, SIGINT) cannot be installed.
    #[error("cannot install the signal handlers: {0}")]
    Signals(#[source] std::io::Error),
}

/// Serve until SIGTERM or SIGINT. `ready` gets the bound address (and
/// whether it speaks TLS) once the server accepts connections.
pub async fn run(
    options: ServeOptions,
    ready: impl FnOnce(SocketAddr, bool),
) -> Result<(), ServeError> {
    let config = Config::from_file(&options.config)?;
    log_advisories(&config);
    // Bound first: a hook pointing at this very address is recognised and
    // skipped (one sftpgo.json for SFTPGo and hookhost).
    let listen = |source| ServeError::Listen {
        address: options.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(listen)?;
    let address = listener.local_addr().map_err(listen)?;
    let tls = options
        .tls
        .clone()
        .map(tls::Tls::load)
        .transpose()
        .map_err(ServeError::Tls)?
        .map(Arc::new);
    let clients_verified = tls.as_ref().is_some_and(|t| t.verifies_clients());
    if options.token.is_none() && !clients_verified && !address.ip().is_loopback() {
        if !options.insecure {
            return Err(ServeError::NoToken(address));
        }
        tracing::warn!(%address, "serving a non-loopback address without a token (--insecure)");
    }
    // Before the host is built: the guests' descriptor budget is half of it.
    raise_fd_limit();
    let guard = LoopGuard::for_this_process().listening_on(address);
    let host = Arc::new(ReloadableHost::build(Host::builder(config).loop_guard(guard)).await?);

    let mut hangup = signal(SignalKind::hangup()).map_err(ServeError::Signals)?;
    let reloader = {
        let host = host.clone();
        let path = options.config.clone();
        let watch = options.watch_config;
        let tls = tls.clone();
        // Read before the server is ready: an edit made right after
        // readiness must be seen as a change, not taken as the baseline.
        let offload = Offload::default();
        let mut last_seen = modified(&offload, &path).await.flatten();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs(2));
            loop {
                tokio::select! {
                    _ = hangup.recv() => {
                        // The edit that prompted the SIGHUP is loaded now:
                        // the watcher must not load it again.
                        if let Some(seen) = modified(&offload, &path).await {
                            last_seen = seen;
                        }
                        reload(&host, &offload, &path, "SIGHUP").await;
                        if let Some(tls) = &tls {
                            let tls = tls.clone();
                            let reloaded = offload
                                .run("reading the TLS files", offload::READ_LIMIT, move || tls.reload())
                                .await
                                .and_then(|read| read);
                            match reloaded {
                                Ok(()) => tracing::info!("TLS certificate reloaded"),
                                Err(err) => tracing::error!(error = %err, "TLS certificate reload refused; the running one stays"),
                            }
                        }
                    }
                    _ = ticker.tick(), if watch => {
                        if let Some(now) = modified(&offload, &path).await
                            && now != last_seen
                        {
                            last_seen = now;
                            reload(&host, &offload, &path, "configuration file changed").await;
                        }
                    }
                }
            }
        })
    };

    let mut terminate = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
    let stop = async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
        }
    };
    tracing::info!(%address, token = options.token.is_some(), tls = tls.is_some(), client_certificates = clients_verified, "serving");
    ready(address, tls.is_some());
    serve_on(
        listener,
        tls,
        router(
            host.clone(),
            RouterOptions {
                token: options.token.clone(),
                max_body_bytes: Some(options.max_body_bytes),
                keyboard: options.keyboard,
            },
        ),
        options.header_read_timeout,
        conns::Conns::new(
            options.max_connections,
            options.max_connections_per_ip,
            host.metrics().connections.clone(),
        ),
        stop,
    )
    .await;
    reloader.abort();
    // In-flight requests are done; drain asynchronous hooks and notifiers.
    host.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Serve `router` on `listener` as `hookhost serve` does — HTTP/1.1 with
/// keep-alive, at most `max_connections` at once (a new one evicting an
/// idle one when all are taken), `header_read_timeout` for a request's
/// headers (and an idle connection), no Nagle delay on answers — until
/// `stop`, then let the in-flight requests finish.
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    router: Router,
    header_read_timeout: Duration,
    max_connections: usize,
    stop: impl std::future::Future<Output = ()>,
) {
    serve_on(
        listener,
        None,
        router,
        header_read_timeout,
        conns::Conns::new(max_connections, max_connections, Default::default()),
        stop,
    )
    .await
}

/// [`serve_connections`], through TLS when `tls` is set (the handshake
/// bounded by `header_read_timeout` too).
async fn serve_on(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<tls::Tls>>,
    router: Router,
    header_read_timeout: Duration,
    conns: Arc<conns::Conns>,
    stop: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use std::sync::atomic::Ordering;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let service = hyper_util::service::TowerToHyperService::new(router);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, most likely: wait a little
                    // rather than spin.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let place = tokio::select! {
            place = conns.admit(peer.ip(), Duration::from_millis(250)) => place,
            () = &mut stop => break,
        };
        let Some(place) = place else {
            // Its address holds its share.
            continue;
        };
        // An answer is one small write the client waits for.
        let _ = stream.set_nodelay(true);
        let builder = {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            builder
        };
        // Marks the connection busy while a request is handled: only an
        // idle one may be evicted.
        let service = {
            let (inner, conn) = (service.clone(), place.conn.clone());
            hyper::service::service_fn(move |request| {
                conn.busy.store(true, Ordering::Release);
                conn.served.store(true, Ordering::Release);
                let answer = hyper::service::Service::call(&inner, request);
                let conn = conn.clone();
                async move {
                    let answer = answer.await;
                    conn.busy.store(false, Ordering::Release);
                    answer
                }
            })
        };
        // Ends when the connection does, or when it is evicted while idle.
        let evicted = {
            let conn = place.conn.clone();
            async move {
                loop {
                    conn.evict.notified().await;
                    if !conn.busy.load(Ordering::Acquire) {
                        return;
                    }
                }
            }
        };
        match &tls {
            None => {
                let connection =
                    graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    tokio::select! {
                        _ = connection => {}
                        () = evicted => {}
                    }
                    drop(place);
                });
            }
            Some(tls) => {
                let acceptor = tls.acceptor();
                // Held through the handshake: shutdown waits for it too.
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let served = async {
                        let handshake =
                            tokio::time::timeout(header_read_timeout, acceptor.accept(stream))
                                .await;
                        match handshake {
                            Ok(Ok(stream)) => {
                                let connection = watcher
                                    .watch(builder.serve_connection(TokioIo::new(stream), service));
                                let _ = connection.await;
                            }
                            Ok(Err(err)) => tracing::debug!(error = %err, "TLS handshake failed"),
                            Err(_) => {
                                tracing::debug!("no TLS handshake within the header timeout")
                            }
                        }
                    };
                    tokio::select! {
                        () = served => {}
                        () = evicted => {}
                    }
                    drop(place);
                });
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Raise the soft limit of open files to the hard limit: each connection
/// is a file descriptor.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn token_comparison() {
        assert!(same_token(b"s3cret", b"s3cret"));
        assert!(!same_token(b"s3creT", b"s3cret"));
        assert!(!same_token(b"s3cre", b"s3cret"));
    }
}
