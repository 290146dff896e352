//! Latency under load: events arrive at a fixed rate whatever the answers
//! (open loop), and each event's latency runs from its *scheduled* arrival
//! to its answer, so time spent queued behind earlier events counts (no
//! coordinated omission).
//!
//! The system under test runs on a Tokio runtime of one worker thread (the
//! host's core); arrivals come from the calling thread, which sleeps until
//! shortly before each arrival and spins the rest (timer slack set to 1 ns),
//! and hands the event to the runtime. How late the generator itself was is
//! reported beside the rows: it bounds what the figures can resolve.
//!
//! Two paths: `Host::dispatch` in-process, and `hookhost serve` (its axum
//! router on a loopback port) called over keep-alive HTTP by a client on a
//! runtime of its own, with a bare hyper server answering the same route
//! with a constant as the floor of that path.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookhost::event::{Contract, FsAction, FsEvent};
use hookhost::serve::RouterOptions;
use hookhost::{Decision, Host, ReloadableHost};
use serde_json::{Value, json};

use crate::rows::{fmt_duration, percentile};

/// Sleep until this long before an arrival, then spin.
const SPIN: Duration = Duration::from_micros(25);

/// Figures of one open-loop run.
struct Run {
    p50: Duration,
    p99: Duration,
    /// The generator's own lateness, p99.
    lag_p99: Duration,
}

fn set_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and touches no
    // memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0);
    }
}

fn wait_until(at: Instant) {
    loop {
        let now = Instant::now();
        if now >= at {
            return;
        }
        let left = at - now;
        if left > SPIN {
            std::thread::sleep(left - SPIN);
        } else {
            std::hint::spin_loop();
        }
    }
}

/// How arrivals reach the system under test.
#[derive(Clone, Copy)]
enum Arrivals {
    /// From this thread, spawned onto the runtime's worker (which may have
    /// to be woken: part of what an HTTP request pays too).
    FromThread,
    /// From a task on the runtime's one thread that yields until each
    /// arrival: no thread hand-off, only the host's own cost (and that of
    /// whatever else it runs between events, such as making spares).
    InRuntime,
}

/// `n` calls of `call` arriving at `rate` per second on `runtime`.
fn open_loop<F, Fut>(
    runtime: &tokio::runtime::Runtime,
    arrivals: Arrivals,
    rate: f64,
    n: usize,
    call: F,
) -> Run
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    set_timer_slack();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now() + Duration::from_millis(2);
    let at = |i: usize| start + interval.mul_f64(i as f64);
    let mut lags = Vec::with_capacity(n);
    let mut tasks = Vec::with_capacity(n);
    let spawn = |at: Instant, event: Fut| {
        runtime.spawn(async move {
            event.await;
            at.elapsed()
        })
    };
    match arrivals {
        Arrivals::FromThread => {
            for i in 0..n {
                let at = at(i);
                wait_until(at);
                lags.push(at.elapsed());
                tasks.push(spawn(at, call(i)));
            }
        }
        Arrivals::InRuntime => runtime.block_on(async {
            for i in 0..n {
                let at = at(i);
                while Instant::now() < at {
                    tokio::task::yield_now().await;
                }
                lags.push(at.elapsed());
                tasks.push(spawn(at, call(i)));
            }
        }),
    }
    let mut latencies: Vec<Duration> = runtime.block_on(async {
        let mut all = Vec::with_capacity(n);
        for task in tasks {
            all.push(task.await.expect("an event task panicked"));
        }
        all
    });
    latencies.sort_unstable();
    lags.sort_unstable();
    Run {
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        lag_p99: percentile(&lags, 0.99),
    }
}

/// Closed-loop events per second: `callers` tasks calling back to back.
fn capacity<F, Fut>(runtime: &tokio::runtime::Runtime, n: usize, callers: usize, call: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let call = Arc::new(call);
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..callers)
            .map(|c| {
                let call = call.clone();
                tokio::spawn(async move {
                    for i in (c..n).step_by(callers) {
                        call(i).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a caller panicked");
        }
    });
    n as f64 / started.elapsed().as_secs_f64()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn one_worker() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Sending one event, to its answer.
type EventFuture = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// A path measured under load: its name and how to send event `i`.
struct LoadPath {
    name: String,
    call: Arc<dyn Fn(usize) -> EventFuture + Send + Sync>,
}

impl LoadPath {
    fn new<F, Fut>(name: impl Into<String>, call: F) -> Self
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        LoadPath {
            name: name.into(),
            call: Arc::new(move |i| Box::pin(call(i))),
        }
    }
}

/// Check event `i`'s answer the way every row does: executables refused.
fn check(i: usize, denied: bool) {
    assert_eq!(denied, i.is_multiple_of(2), "event {i}");
}

/// A path through `Host::dispatch`.
fn dispatch_path(name: &str, host: Host) -> LoadPath {
    LoadPath::new(name, move |i| {
        let host = host.clone();
        async move {
            let outcome = host
                .dispatch(crate::setup::event(i, FsAction::PreUpload))
                .await;
            check(i, matches!(outcome.decision, Decision::Deny(_)));
        }
    })
}

/// Event `i`'s SFTPGo body.
fn body(i: usize) -> Vec<u8> {
    let event: FsEvent = crate::setup::event(i, FsAction::PreUpload);
    hookhost::event::fs::http::encode_fs_event(&event, &Contract::NEWEST)
}

/// Requests one HTTP path has in flight at most.
const MAX_CONNECTIONS: usize = 512;

/// A path over keep-alive HTTP to `url`. Every request is a new event (a
/// path of its own): `serve` answers a request it has seen within SFTPGo's
/// retry window from the first answer, as a retry, without running the
/// hook — repeated bodies would measure that, not the hooks.
fn http_path(name: &str, client: &reqwest::Client, url: String) -> LoadPath {
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let allow_all = name.contains("no hook");
    let client = client.clone();
    // A client's connection pool has a bound: past it, requests wait for a
    // connection (their latency still counts from the scheduled arrival)
    // instead of opening sockets until the process runs out of files when
    // the server falls behind.
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    LoadPath::new(name, move |i| {
        let request = client
            .post(&url)
            .header("content-type", "application/json")
            // Event `i`'s kind (executable or not), a path never sent before.
            .body(body(
                2 * sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + i % 2,
            ));
        let connections = connections.clone();
        async move {
            let _connection = connections.acquire_owned().await.expect("never closed");
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let _ = response.bytes().await.expect("body");
            // Without a hook every event is allowed.
            if !(status == 200 && allow_all) {
                check(i, status == 403);
            }
        }
    })
}

/// hookhost's serve router over `config` on a loopback port of `runtime`,
/// served as `hookhost serve` serves it.
fn start_serve(runtime: &tokio::runtime::Runtime, config: hookhost::Config) -> SocketAddr {
    let app = runtime.block_on(async {
        let host = Arc::new(
            ReloadableHost::build(Host::builder(config))
                .await
                .expect("serve host"),
        );
        hookhost::serve::router(host, RouterOptions::default())
    });
    serve_on(runtime, app)
}

/// Serve `app` on a loopback port of `runtime` with `hookhost serve`'s
/// connection handling.
fn serve_on(runtime: &tokio::runtime::Runtime, app: axum::Router) -> SocketAddr {
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(hookhost::serve::serve_connections(
            listener,
            app,
            hookhost::serve::DEFAULT_HEADER_READ_TIMEOUT,
            hookhost::serve::DEFAULT_MAX_CONNECTIONS,
            std::future::pending(),
        ));
        addr
    })
}

fn config_without_hooks(cache: &Path) -> hookhost::Config {
    crate::setup::config(json!([]), cache, json!({}))
}

/// A plain axum route answering like the bare server, served by
/// `hookhost serve`'s connection handling.
fn start_axum_constant(runtime: &tokio::runtime::Runtime) -> SocketAddr {
    let app = axum::Router::new().route(
        "/v1/actions/fs",
        axum::routing::post(|body: axum::body::Bytes| async move {
            if body.windows(4).any(|w| w == b".exe") {
                axum::http::StatusCode::FORBIDDEN
            } else {
                axum::http::StatusCode::OK
            }
        }),
    );
    serve_on(runtime, app)
}

/// A bare hyper HTTP/1 server on the same route: reads the body and answers
/// a constant `{}` — 403 when the body mentions `.exe`, 200 otherwise —
/// parsing no JSON: the floor of any HTTP front. With `header_timeout`,
/// hyper arms a timer per request as `serve` does (its header read
/// timeout), to show what that costs.
fn start_bare_hyper(
    runtime: &tokio::runtime::Runtime,
    header_timeout: Option<std::time::Duration>,
) -> SocketAddr {
    use http_body_util::{BodyExt, Full};
    use hyper::service::service_fn;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service = service_fn(
                        move |request: hyper::Request<hyper::body::Incoming>| async move {
                            let body = request.into_body().collect().await?.to_bytes();
                            let exe = body.windows(4).any(|w| w == b".exe");
                            let status = if exe { 403 } else { 200 };
                            Ok::<_, hyper::Error>(
                                hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(Full::new(bytes::Bytes::from_static(b"{}")))
                                    .expect("response"),
                            )
                        },
                    );
                    let mut builder = hyper::server::conn::http1::Builder::new();
                    if let Some(timeout) = header_timeout {
                        builder
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(timeout);
                    }
                    let _ = builder
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        addr
    })
}

/// Event counts of the load tables.
pub(crate) struct LoadSizes {
    pub(crate) capacity: usize,
    /// Seconds each cell runs (events = rate × this, at least
    /// `min_events`).
    pub(crate) seconds: f64,
    /// The fewest events of a cell (at 100/s, 200 events take 2 s).
    pub(crate) min_events: usize,
}

fn cell(
    runtime: &tokio::runtime::Runtime,
    arrivals: Arrivals,
    path: &LoadPath,
    rate: f64,
    sizes: &LoadSizes,
) -> Run {
    let n = ((rate * sizes.seconds) as usize).max(sizes.min_events);
    let call = path.call.clone();
    // A short warm-up at the same rate: connections, spares, caches.
    open_loop(runtime, arrivals, rate, (n / 10).max(50), |i| call(i));
    open_loop(runtime, arrivals, rate, n, |i| call(i))
}

/// One table: every path at each rate; `limit` gives a path's own
/// capacity, above 90 % of which it is not run.
fn table(
    title: &str,
    runtime: &tokio::runtime::Runtime,
    arrivals: Arrivals,
    paths: &[(LoadPath, f64)],
    rates: &[(String, f64)],
    sizes: &LoadSizes,
) -> Vec<Vec<Option<Run>>> {
    println!();
    println!("{title}");
    println!();
    let mut header = "| path | capacity |".to_owned();
    let mut rule = "|---|---:|".to_owned();
    for (label, _) in rates {
        header.push_str(&format!(" {label}: p50 / p99 |"));
        rule.push_str("---:|");
    }
    println!("{header}");
    println!("{rule}");
    let mut figures = Vec::new();
    let mut worst_lag = Duration::ZERO;
    for (path, own_capacity) in paths {
        let mut line = format!("| {} | {:.0}/s |", path.name, own_capacity);
        let mut row = Vec::new();
        for (_, rate) in rates {
            if *rate > own_capacity * 0.9 {
                line.push_str(" over capacity |");
                row.push(None);
                continue;
            }
            let run = cell(runtime, arrivals, path, *rate, sizes);
            worst_lag = worst_lag.max(run.lag_p99);
            line.push_str(&format!(
                " {} / {} |",
                fmt_duration(run.p50),
                fmt_duration(run.p99)
            ));
            row.push(Some(run));
        }
        println!("{line}");
        figures.push(row);
    }
    println!();
    println!(
        "(the generator's own lateness, p99 of the worst cell: {})",
        fmt_duration(worst_lag)
    );
    figures
}

fn hooks(hook: Value) -> Value {
    json!([hook])
}

/// Run the two load tables.
pub(crate) fn run(
    sizes: &LoadSizes,
    deny_exe: &Path,
    exec_script: &Path,
    http_url: &str,
    cache: &Path,
    go_webhook: Option<&Path>,
) -> Result<(), String> {
    let runtime = current_thread();
    let on = json!(["pre-upload"]);
    let wasm = |extra: Value| {
        let mut hook = json!({"hook": deny_exe, "execute_on": on});
        if let (Value::Object(hook), Value::Object(extra)) = (&mut hook, extra) {
            hook.extend(extra);
        }
        hook
    };
    let kinds: [(&str, Value); 5] = [
        (
            "wasm, reused instance",
            wasm(json!({"reuse": {"max_calls": 1_000_000, "pool": 4}})),
        ),
        ("wasm, fresh instance", wasm(json!({"spares": 0}))),
        ("wasm, fresh + spares (default)", wasm(json!({}))),
        ("exec hook", json!({"hook": exec_script, "execute_on": on})),
        ("HTTP hook", json!({"hook": http_url, "execute_on": on})),
    ];
    let config = |hook: &Value| crate::setup::config(hooks(hook.clone()), cache, json!({}));

    // In-process.
    let mut paths = Vec::new();
    for (name, hook) in &kinds {
        let host = runtime
            .block_on(Host::new(config(hook)))
            .map_err(|e| format!("{name}: {e}"))?;
        let path = dispatch_path(name, host);
        let n = if name.starts_with("exec") {
            sizes.capacity / 20
        } else {
            sizes.capacity
        };
        let call = path.call.clone();
        let own = capacity(&runtime, n, 4, move |i| call(i));
        paths.push((path, own));
    }
    let fresh_capacity = paths[1].1;
    let dispatch_rates = rates(fresh_capacity);
    let dispatch = table(
        "Latency under load, `Host::dispatch` (open loop; host and arrivals on one thread; capacity: closed loop, 4 callers)",
        &runtime,
        Arrivals::InRuntime,
        &paths,
        &dispatch_rates,
        sizes,
    );
    drop(paths);

    // Over HTTP: the client on a runtime of its own.
    let client_runtime = one_worker();
    // Plain HTTP, but the client wants a TLS provider all the same.
    let _ = hookhost_tests::tls::ring_provider().install_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    let server_runtime = one_worker();
    let mut paths = Vec::new();
    for (name, hook) in &kinds {
        let addr = start_serve(&server_runtime, config(hook));
        paths.push(http_path(
            &format!("serve → {name}"),
            &client,
            format!("http://{addr}/v1/actions/fs"),
        ));
    }
    // Where serve's own time goes: its routes with no hook configured, a
    // plain axum route answering a constant through the same connection
    // handling, and a bare hyper server.
    let floors = [
        (
            "serve, no hook configured",
            start_serve(&server_runtime, config_without_hooks(cache)),
        ),
        (
            "axum route, constant answer",
            start_axum_constant(&server_runtime),
        ),
        (
            "bare hyper, constant answer",
            start_bare_hyper(&server_runtime, None),
        ),
        (
            "bare hyper + serve's header timer",
            start_bare_hyper(
                &server_runtime,
                Some(hookhost::serve::DEFAULT_HEADER_READ_TIMEOUT),
            ),
        ),
    ];
    for (name, addr) in floors {
        paths.push(http_path(
            name,
            &client,
            format!("http://{addr}/v1/actions/fs"),
        ));
    }
    // The anchor: the webhook an admin writes by hand in Go, on one thread
    // as serve's server runtime is.
    let go = match go_webhook {
        Some(program) => {
            let (child, addr) = start_go_webhook(program)?;
            paths.push(http_path(GO_ROW, &client, format!("http://{addr}/hook")));
            Some(child)
        }
        None => {
            println!("(no Go webhook row: pass --go-webhook, as scripts/bench.sh does)");
            None
        }
    };
    let mut measured = Vec::new();
    for path in paths {
        let n = if path.name.contains("exec") {
            sizes.capacity / 20
        } else {
            sizes.capacity / 4
        };
        let call = path.call.clone();
        let own = capacity(&client_runtime, n, 4, move |i| call(i));
        measured.push((path, own));
    }
    let serve_rates = rates(measured[1].1);
    let serve = table(
        "Latency under load, `hookhost serve` over keep-alive HTTP (open loop; server on one worker thread, client on another, arrivals from a third)",
        &client_runtime,
        Arrivals::FromThread,
        &measured,
        &serve_rates,
        sizes,
    );
    summary(&dispatch, &serve, &dispatch_rates, &serve_rates);
    if let Some(mut go) = go {
        let _ = go.kill();
        let _ = go.wait();
    }
    Ok(())
}

/// The serve table's row of the Go webhook.
const GO_ROW: &str = "Go net/http webhook, native check (GOMAXPROCS=1)";

/// Start the Go webhook on one OS thread of Go code; its address.
fn start_go_webhook(program: &Path) -> Result<(std::process::Child, String), String> {
    let mut command = std::process::Command::new(program);
    command.env("GOMAXPROCS", "1");
    crate::wrk::start(command, &format!("--go-webhook {}", program.display()))
}

/// 100/s, 1k/s, 10k/s, and 50 % / 90 % of `capacity`.
fn rates(capacity: f64) -> Vec<(String, f64)> {
    vec![
        ("100/s".into(), 100.0),
        ("1k/s".into(), 1_000.0),
        ("10k/s".into(), 10_000.0),
        (format!("50 % ({:.0}/s)", capacity * 0.5), capacity * 0.5),
        (format!("90 % ({:.0}/s)", capacity * 0.9), capacity * 0.9),
    ]
}

/// The target ratios, from the figures of this run.
fn summary(
    dispatch: &[Vec<Option<Run>>],
    serve: &[Vec<Option<Run>>],
    rates: &[(String, f64)],
    serve_rates: &[(String, f64)],
) {
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    // Rows: 0 reused, 1 fresh, 2 fresh + spares, 3 exec, 4 HTTP (serve: 5
    // no hook, 6 axum, 7 bare hyper, 8 bare hyper with the header timer, 9
    // the Go webhook when given).
    if let (Some(reused), Some(spares), Some(fresh)) =
        (&dispatch[0][3], &dispatch[2][3], &dispatch[1][3])
    {
        println!();
        println!(
            "at 50 % of capacity ({}), dispatch: fresh + spares p50 {:.2}× the reused p50 and p99 {:.2}× the reused p99 ({:.2}× its p50); fresh without spares p50 {:.2}×.",
            rates[3].0,
            ratio(spares.p50, reused.p50),
            ratio(spares.p99, reused.p99),
            ratio(spares.p99, reused.p50),
            ratio(fresh.p50, reused.p50),
        );
    }
    for (col, (label, _)) in serve_rates.iter().enumerate() {
        if let (Some(wasm), Some(bare)) = (&serve[2][col], &serve[7][col]) {
            let exec = serve[3][col]
                .as_ref()
                .map(|exec| format!(", {:.0}× faster than exec", ratio(exec.p50, wasm.p50)))
                .unwrap_or_default();
            let go = serve
                .get(9)
                .and_then(|row| row[col].as_ref())
                .map(|go| format!(", {:.2}× the Go webhook's p50", ratio(wasm.p50, go.p50)))
                .unwrap_or_default();
            println!(
                "serve at {label}: wasm (fresh + spares) p50 {:.2}× the bare hyper p50{go}{exec}.",
                ratio(wasm.p50, bare.p50),
            );
        }
    }
}
