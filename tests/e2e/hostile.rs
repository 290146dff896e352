//! Hostile guests, clients and faults, and bad configurations: each gets
//! its documented outcome, its counter moves, nothing leaks, and the host
//! (and a good hook) keeps answering. What each used to break is said next
//! to its test.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hookhost::Decision;
use hookhost::config::{Grants, Limits, WasmSettings};
use hookhost::event::{FsAction, FsEvent, Protocol};
use hookhost::hook::{Answer, Failure};
use hookhost::sandbox::Sandbox;
use hookhost::{Config, Host};
use hookhost_tests::guests::wasm;
use hookhost_tests::{capture_logs, config_with, exec_fixture, fs_event, host, repo_root};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A host with the probe in `mode` on pre-upload (with `limits`) and the
/// good deny-exe hook on pre-download.
async fn hostile_host(mode: &str, limits: Value) -> hookhost::Host {
    host(config_with(
        json!([
            {"name": "hostile", "hook": wasm("probe"), "execute_on": ["pre-upload"], "limits": limits, "grants": {"args": [mode]}},
            {"name": "good", "hook": wasm("deny-exe"), "execute_on": ["pre-download"]},
        ]),
        json!([]),
    ))
    .await
}

fn counter(host: &hookhost::Host, hook: &str, outcome: &str) -> u64 {
    let prefix = format!(
        r#"hookhost_hook_calls_total{{hook="{hook}",kind="wasm",key="fs_actions",outcome="{outcome}"}} "#
    );
    host.metrics()
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.parse().unwrap()))
        .unwrap_or(0)
}

#[tokio::test]
async fn each_hostile_guest_gets_its_outcome_and_the_host_keeps_answering() {
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "loop",
            json!({"timeout_ms": 200}),
            "timeout",
            "timed out after 200 ms",
        ),
        (
            "loop-hostcalls",
            json!({"timeout_ms": 200}),
            "timeout",
            "timed out after 200 ms",
        ),
        (
            "loop",
            json!({"fuel": 5_000_000}),
            "out_of_fuel",
            "out of fuel",
        ),
        (
            "loop-hostcalls",
            json!({"fuel": 5_000_000}),
            "out_of_fuel",
            "out of fuel",
        ),
        (
            "alloc",
            json!({"memory_mib": 16}),
            "memory_limit",
            "memory limit of 16 MiB reached",
        ),
        ("recurse-native", json!({}), "trap", "call stack exhausted"),
        ("recurse", json!({}), "trap", "out of bounds memory access"),
        ("panic", json!({}), "trap", "probe panicked on purpose"),
        ("unreachable", json!({}), "trap", "unreachable"),
        // wasi:cli/exit only tells success from failure: exit(3) arrives as 1.
        ("exit", json!({}), "trap", "guest exited with status 1"),
    ];
    for (mode, limits, label, message) in cases {
        let host = hostile_host(mode, limits).await;
        for round in 1..=2u64 {
            let started = Instant::now();
            let outcome = host
                .dispatch(fs_event(FsAction::PreUpload, "/srv/a.txt"))
                .await;
            let failure = outcome.reports[0].result.clone().expect_err(mode);
            assert_eq!(failure.label(), label, "{mode}");
            assert!(failure.to_string().contains(message), "{mode}: {failure}");
            assert!(
                matches!(outcome.decision, Decision::Deny(_)),
                "{mode}: fails closed"
            );
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{mode}: took {:?}",
                started.elapsed()
            );
            assert_eq!(counter(&host, "hostile", label), round, "{mode}: counter");
            let good = host
                .dispatch(fs_event(FsAction::PreDownload, "/srv/a.txt"))
                .await;
            assert_eq!(
                good.decision,
                Decision::Allow,
                "{mode}: the good hook still answers"
            );
        }
    }
}

#[tokio::test]
async fn a_guest_cannot_open_a_network_socket() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let host = hostile_host("socket", json!({})).await;
    let outcome = host
        .dispatch(fs_event(FsAction::PreUpload, &address))
        .wait_for_all()
        .await;
    let report = match &outcome.reports[0].result {
        Ok(Answer::Deny(report)) => report.clone(),
        other => panic!("{other:?}"),
    };
    assert!(report.starts_with("err:"), "{report}");
    // The attempt returned before the hook answered: had it connected, the
    // connection would be waiting here.
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a connection arrived: {accepted:?}"
    );
}

#[tokio::test]
async fn flooded_stdout_is_truncated_in_the_log() {
    let host = hostile_host("flood-stdout", json!({"output_kib": 4})).await;
    let (outcome, logs) = capture_logs(
        host.dispatch(fs_event(FsAction::PreUpload, "/x"))
            .wait_for_all(),
    )
    .await;
    assert_eq!(
        outcome.reports[0].result,
        Ok(Answer::Allow),
        "flooding is not an error"
    );
    let line = logs
        .lines()
        .find(|l| l.contains("stream=\"stdout\""))
        .expect("the stdout log line");
    assert!(
        line.contains("dropped_bytes=16773120"),
        "16 MiB written, 4 KiB kept: {}",
        &line[..200.min(line.len())]
    );
    assert!(
        line.len() < 4096 + 300,
        "the logged text is capped: {} bytes",
        line.len()
    );
}

#[tokio::test]
async fn flooding_the_log_import_is_capped_per_call() {
    let host = hostile_host("flood-log", json!({})).await;
    let (outcome, logs) = capture_logs(
        host.dispatch(fs_event(FsAction::PreUpload, "/x"))
            .wait_for_all(),
    )
    .await;
    assert_eq!(outcome.reports[0].result, Ok(Answer::Allow));
    let kept = logs
        .lines()
        .filter(|l| l.contains("hookhost::guest") && l.contains(" flood "))
        .count();
    assert_eq!(kept, 1000, "lines logged");
    assert!(
        logs.contains("dropped_lines=99000"),
        "the rest is counted once"
    );
    assert!(
        logs.lines()
            .all(|l| !l.contains("flood") || l.contains("hook=\"hostile\"")),
        "guest lines carry the hook's name"
    );
}

fn exec_hook(script: &str, extra: Value) -> Value {
    let mut hook =
        json!({"name": script, "hook": exec_fixture(script), "execute_on": ["pre-upload"]});
    hook.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    hook
}

#[tokio::test]
async fn exec_hook_closing_stdout_early_still_answers() {
    let host = host(config_with(
        json!([exec_hook("closes-stdout", json!({}))]),
        json!([]),
    ))
    .await;
    let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/x")).await;
    assert_eq!(outcome.decision, Decision::Allow);
}

#[tokio::test]
async fn exec_hook_no_longer_executable_is_a_failure() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("hook");
    std::fs::copy(exec_fixture("record"), &program).unwrap();
    let host = host(config_with(
        json!([{"hook": program, "execute_on": ["pre-upload"]}]),
        json!([]),
    ))
    .await;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o644)).unwrap();
    let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/x")).await;
    match &outcome.reports[0].result {
        Err(Failure::Error(message)) => assert!(message.contains("Permission denied"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(outcome.decision, Decision::Deny(_)));
}

/// A server that reads a request, starts an answer, and resets the
/// connection; counts the connections it got.
async fn resetting_server() -> (String, tokio::sync::mpsc::UnboundedReceiver<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (seen, count) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = seen.send(());
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial")
                .await;
            // Linger 0: close with a reset. (Deprecated for blocking on drop,
            // which a zero linger does not do.)
            #[allow(deprecated)]
            let _ = socket.set_linger(Some(Duration::ZERO));
            drop(socket);
        }
    });
    (url, count)
}

#[tokio::test]
async fn http_hook_reset_mid_response_is_retried_then_fails() {
    let (url, mut connections) = resetting_server().await;
    let mut config = config_with(
        json!([{"name": "web", "hook": url, "execute_on": ["pre-upload"]}]),
        json!([]),
    );
    config["http"] = json!({"retry_max": 2, "retry_wait_min": 0, "retry_wait_max": 0});
    let host = host(config).await;
    let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/x")).await;
    match &outcome.reports[0].result {
        Err(Failure::Error(message)) => assert!(message.contains("cut off"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(outcome.decision, Decision::Deny(_)));
    for _ in 0..3 {
        connections.recv().await.expect("an attempt");
    }
    assert!(connections.try_recv().is_err(), "1 attempt + 2 retries");
}

/// Peak resident memory of this process, in MiB.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    kib / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_events_each_get_one_answer() {
    let server = hookhost_tests::recorder::Recorder::start(&[], 200).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_with(
        json!([
            {"name": "wasm", "hook": wasm("deny-exe"), "execute_on": ["pre-upload"]},
            {"name": "http", "hook": format!("{}/hook", server.url), "execute_on": ["pre-download"]},
            {"name": "exec", "hook": exec_fixture("record"), "execute_on": ["pre-delete", "upload"]},
        ]),
        json!([]),
    );
    config["http"] = json!({"retry_max": 0});
    let host = host(config).await;
    let target = dir.path().join("f").display().to_string();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10_000usize {
        let host = host.clone();
        let (action, path) = match i % 10 {
            0..=5 => (
                FsAction::PreUpload,
                if i % 2 == 0 {
                    "/x.exe".to_owned()
                } else {
                    "/x.txt".to_owned()
                },
            ),
            6 | 7 => (FsAction::PreDownload, "/x".to_owned()),
            8 => (FsAction::PreDelete, target.clone()),
            _ => (FsAction::Upload, target.clone()),
        };
        tasks.spawn(async move {
            (
                i,
                host.dispatch(FsEvent::new(action, "alice", path, Protocol::Sftp))
                    .await,
            )
        });
    }
    let mut answered = vec![false; 10_000];
    let started = Instant::now();
    while let Some(joined) = tasks.join_next().await {
        let (i, outcome) = joined.expect("no task panicked");
        assert!(!answered[i], "event {i} answered twice");
        answered[i] = true;
        let expected = match i % 10 {
            0..=5 if i % 2 == 0 => matches!(outcome.decision, Decision::Deny(_)),
            0..=7 => outcome.decision == Decision::Allow,
            8 => outcome.decision == Decision::Handled,
            _ => outcome.decision == Decision::Queued,
        };
        assert!(expected, "event {i}: {:?}", outcome.decision);
    }
    assert!(answered.iter().all(|a| *a));
    host.shutdown().await;
    let peak = peak_rss_mib();
    println!(
        "10,000 concurrent events answered in {:?}; peak RSS of the test process {peak} MiB",
        started.elapsed()
    );
    assert!(peak < 2048, "peak RSS {peak} MiB");
}

/// A component of `empty` core instances of an empty module, `tables` of a
/// module with one table and `memories` of a module with one memory of
/// `pages` pages.
fn crafted(empty: usize, tables: usize, memories: usize, pages: u32) -> Vec<u8> {
    let mut text = format!(
        "(component (core module $e) (core module $t (table 1 funcref)) (core module $m (memory {pages}))"
    );
    for i in 0..empty {
        text.push_str(&format!("(core instance $e{i} (instantiate $e))"));
    }
    for i in 0..tables {
        text.push_str(&format!("(core instance $t{i} (instantiate $t))"));
    }
    for i in 0..memories {
        text.push_str(&format!("(core instance $m{i} (instantiate $m))"));
    }
    text.push(')');
    wat::parse_str(&text).expect("valid WAT")
}

fn write_component(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn settings(max_instances: u32, pooling: bool) -> WasmSettings {
    WasmSettings {
        max_instances,
        pooling,
        ..WasmSettings::default()
    }
}

fn limits(memory_mib: u64, timeout: Duration) -> Limits {
    Limits {
        timeout,
        fuel: 1_000_000_000,
        memory_bytes: memory_mib << 20,
        output_bytes: 4096,
        http_in_flight: hookhost::config::DEFAULT_HTTP_IN_FLIGHT,
        tcp_connections: hookhost::config::DEFAULT_TCP_CONNECTIONS,
    }
}

#[test]
fn a_component_that_can_never_fit_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let three_memories = write_component(dir.path(), "mem3", &crafted(0, 0, 3, 1));
    let forty_cores = write_component(dir.path(), "cores40", &crafted(40, 0, 0, 1));
    for pooling in [true, false] {
        let sandbox = Sandbox::new(&settings(4, pooling), None).unwrap();
        let err = sandbox.load(&three_memories).unwrap_err();
        assert!(err.contains("memories"), "pooling={pooling}: {err}");
        if pooling {
            let err = sandbox.load(&forty_cores).unwrap_err();
            assert!(err.contains("40 core module instances"), "{err}");
        }
    }
}

async fn instantiate(
    sandbox: &Sandbox,
    component: &std::path::Path,
    limits: &Limits,
    share: Option<&hookhost::sandbox::Share>,
) -> Result<hookhost::sandbox::Live<wasmtime::component::Instance>, Failure> {
    let component = sandbox.load(component).unwrap();
    let pre = sandbox.linker().instantiate_pre(&component).unwrap();
    let name: Arc<str> = Arc::from("crafted");
    sandbox
        .instantiate(
            hookhost::sandbox::Guest {
                name: &name,
                limits,
                grants: &Arc::new(Grants::default()),
            },
            share,
            Instant::now() + limits.timeout,
            &pre,
            |store, pre| Box::pin(pre.instantiate_async(store)),
        )
        .await
}

#[tokio::test]
async fn memory_mib_bounds_the_instance_as_a_whole_in_both_allocators() {
    let dir = tempfile::tempdir().unwrap();
    // Two core instances with 10 MiB each: 20 MiB for a 16 MiB guest.
    let two_by_ten = write_component(dir.path(), "two", &crafted(0, 0, 2, 160));
    let one_by_ten = write_component(dir.path(), "one", &crafted(0, 0, 1, 160));
    for pooling in [true, false] {
        let sandbox = Sandbox::new(&settings(4, pooling), None).unwrap();
        let limits = limits(16, Duration::from_secs(5));
        match instantiate(&sandbox, &two_by_ten, &limits, None).await {
            Err(Failure::MemoryLimit(bytes)) => assert_eq!(bytes, 16 << 20),
            Err(other) => panic!("pooling={pooling}: {other:?}"),
            Ok(_) => panic!("pooling={pooling}: 20 MiB fit a 16 MiB limit"),
        }
        assert!(
            instantiate(&sandbox, &one_by_ten, &limits, None)
                .await
                .is_ok()
        );
        assert_eq!(sandbox.memory_budget().used(), 0, "all released");
    }
}

#[tokio::test]
async fn a_store_cannot_create_more_core_instances_than_allowed_without_pooling() {
    let dir = tempfile::tempdir().unwrap();
    let forty_cores = write_component(dir.path(), "cores40", &crafted(40, 0, 0, 1));
    let sandbox = Sandbox::new(&settings(4, false), None).unwrap();
    let result = instantiate(
        &sandbox,
        &forty_cores,
        &limits(16, Duration::from_secs(5)),
        None,
    )
    .await;
    assert!(result.is_err(), "40 core instances were created");
}

/// A host on `sandbox` (16 pooled instances) with deny-exe on pre-upload.
async fn good_host(sandbox: Arc<Sandbox>) -> Host {
    let mut config = config_with(
        json!([{"name": "good", "hook": wasm("deny-exe"), "execute_on": ["pre-upload"], "grants": {"args": ["exe"]}}]),
        json!([]),
    );
    config["hookhost"]["cache_dir"] = json!("");
    config["hookhost"]["wasm"] = json!({"max_instances": 16});
    let config = Config::from_value(config, &repo_root()).unwrap();
    Host::builder(config)
        .with_sandbox(sandbox)
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_a_crafted_component_cannot_exhaust_the_pool_for_other_hooks() {
    let dir = tempfile::tempdir().unwrap();
    // 12 core instances, 10 tables and 2 memories each: before, 7 of these
    // took every table slot of a 16-instance pool.
    let heavy = write_component(dir.path(), "heavy", &crafted(0, 10, 2, 1));
    let settings = settings(16, true);
    let sandbox = Arc::new(Sandbox::new(&settings, None).unwrap());
    let host = good_host(sandbox.clone()).await;
    let share = sandbox.new_share();
    let (held_tx, mut held_rx) = tokio::sync::mpsc::unbounded_channel();
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let mut flood = Vec::new();
    for _ in 0..40 {
        let (sandbox, share, heavy) = (sandbox.clone(), share.clone(), heavy.clone());
        let (held_tx, mut release_rx) = (held_tx.clone(), release_rx.clone());
        flood.push(tokio::spawn(async move {
            let limits = limits(16, Duration::from_secs(30));
            let live = instantiate(&sandbox, &heavy, &limits, Some(&share)).await?;
            let _ = held_tx.send(());
            let _ = release_rx.wait_for(|released| *released).await;
            drop(live);
            Ok::<(), Failure>(())
        }));
    }
    // The flood holds its whole share (half the pool).
    for _ in 0..settings.instances_per_hook() {
        held_rx.recv().await.unwrap();
    }
    let started = Instant::now();
    let outcome = host
        .dispatch(fs_event(FsAction::PreUpload, "/srv/a.exe"))
        .await;
    assert_eq!(
        outcome.reports[0].result,
        Ok(Answer::Deny(".exe files are not allowed".into())),
        "the other hook answers, from its own share"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    release_tx.send(true).unwrap();
    for task in flood {
        task.await
            .unwrap()
            .expect("every crafted instance was admitted in turn");
    }
}

fn probe(mode: &[&str], limits: Value) -> Value {
    json!({"name": "probe", "hook": wasm("probe"), "execute_on": ["pre-upload"],
           "limits": limits, "grants": {"args": mode}})
}

#[tokio::test]
async fn a_guest_parked_in_a_host_call_is_stopped_at_its_deadline() {
    let host = host(config_with(
        json!([probe(&["sleep", "5000"], json!({"timeout_ms": 200}))]),
        json!([]),
    ))
    .await;
    let started = Instant::now();
    let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/a")).await;
    let took = started.elapsed();
    assert_eq!(
        outcome.reports[0].result,
        Err(Failure::Timeout(Duration::from_millis(200)))
    );
    // Before: stopped by a 1 s backstop, not at its own deadline.
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_slot_counts_against_the_deadline() {
    let mut config = config_with(
        json!([probe(&["sleep", "150"], json!({"timeout_ms": 200}))]),
        json!([]),
    );
    config["hookhost"]["wasm"]["max_instances_per_hook"] = json!(1);
    let host = host(config).await;
    let outcomes = futures::future::join_all((0..6).map(|_| {
        let host = host.clone();
        async move { host.dispatch(fs_event(FsAction::PreUpload, "/a")).await }
    }))
    .await;
    let timeouts = outcomes
        .iter()
        .filter(|o| o.reports[0].result == Err(Failure::Timeout(Duration::from_millis(200))))
        .count();
    // One at a time: the first answers at 150 ms, the others run out of
    // time waiting. Had the wait not counted, each would have run its
    // 150 ms within its 200 ms, one after the other, and none timed out.
    assert!(timeouts >= 4, "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_hook_cannot_starve_another() {
    let mut config = config_with(
        json!([
            {"name": "slow", "hook": wasm("probe"), "execute_on": ["pre-upload"], "grants": {"args": ["sleep", "300"]}},
            {"name": "good", "hook": wasm("deny-exe"), "execute_on": ["pre-download"], "grants": {"args": ["exe"]}},
        ]),
        json!([]),
    );
    config["hookhost"]["wasm"]["max_instances"] = json!(4);
    let host = host(config).await;
    let done = Arc::new(AtomicUsize::new(0));
    let flood: Vec<_> = (0..20)
        .map(|_| {
            let (host, done) = (host.clone(), done.clone());
            tokio::spawn(async move {
                host.dispatch(fs_event(FsAction::PreUpload, "/a")).await;
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let outcome = host
        .dispatch(fs_event(FsAction::PreDownload, "/a.exe"))
        .await;
    assert!(matches!(outcome.reports[0].result, Ok(Answer::Deny(_))));
    // The slow hook holds only its share (2 of 4 slots): the good hook
    // answered before any slow event (300 ms each) finished. Before, the
    // flood held all 4 and the good hook waited for one to end.
    assert_eq!(done.load(Ordering::SeqCst), 0);
    for task in flood {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_memory_budget_bounds_all_running_guests() {
    let mut hook = probe(&["alloc-hold", "20", "300"], json!({"memory_mib": 32}));
    // Without spares: they hold their initial memory between events (and a
    // used instance until the refill task drops it), which the last
    // assertion would count.
    hook["spares"] = json!(0);
    let mut config = config_with(json!([hook]), json!([]));
    config["hookhost"]["wasm"]["memory_budget_mib"] = json!(48);
    let host = host(config).await;
    let outcomes = futures::future::join_all((0..4).map(|_| {
        let host = host.clone();
        async move { host.dispatch(fs_event(FsAction::PreUpload, "/a")).await }
    }))
    .await;
    let budget = outcomes
        .iter()
        .filter(|o| o.reports[0].result == Err(Failure::MemoryBudget(48 << 20)))
        .count();
    let allowed = outcomes
        .iter()
        .filter(|o| o.reports[0].result == Ok(Answer::Allow))
        .count();
    assert!(budget >= 1 && allowed >= 1, "{outcomes:?}");
    assert_eq!(budget + allowed, 4, "{outcomes:?}");
    assert_eq!(host.sandbox().unwrap().memory_budget().used(), 0);
}

#[tokio::test]
async fn a_panic_after_a_refused_growth_keeps_its_message() {
    let host = host(config_with(
        json!([probe(&["panic-after-oom"], json!({"memory_mib": 16}))]),
        json!([]),
    ))
    .await;
    let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/a")).await;
    match &outcome.reports[0].result {
        Err(Failure::Trap(message)) => {
            assert!(
                message.contains("probe's own panic (refused=true)"),
                "{message}"
            );
            assert!(
                message.contains("memory limit refused a growth"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn event_file_refuses_fifos_and_devices_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    hookhost_tests::mkfifo(&fifo);
    let host = host(config_with(
        json!([{"name": "reader", "hook": wasm("probe"), "execute_on": ["pre-upload"],
                "limits": {"timeout_ms": 2000}, "grants": {"args": ["event-file"], "event_file": true}}]),
        json!([]),
    ))
    .await;
    let started = Instant::now();
    // Before: each event left a thread blocked in open(2) for good, and
    // after ~512 of them every filesystem call of every hook timed out.
    for path in std::iter::repeat_n(fifo.to_str().unwrap(), 600).chain(["/dev/zero"]) {
        let outcome = host.dispatch(fs_event(FsAction::PreUpload, path)).await;
        match &outcome.reports[0].result {
            Ok(Answer::Deny(reason)) => {
                assert!(reason.contains("not a regular file"), "{path}: {reason}")
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn a_huge_deny_reason_is_clipped_before_it_reaches_answers_and_logs() {
    let host = host(config_with(
        json!([probe(&["big-deny", "60"], json!({"memory_mib": 256}))]),
        json!([]),
    ))
    .await;
    let (outcome, logs) =
        hookhost_tests::capture_logs(host.dispatch(fs_event(FsAction::PreUpload, "/a"))).await;
    let hookhost::Decision::Deny(reason) = &outcome.decision else {
        panic!("{:?}", outcome.decision)
    };
    // Before: all 60 MiB went into the 403 body and one log line.
    assert!(reason.len() < 5000, "{} bytes", reason.len());
    assert!(
        reason.ends_with("more bytes]"),
        "{}",
        &reason[reason.len() - 40..]
    );
    assert!(logs.len() < 20_000, "{} bytes of log", logs.len());
    let metrics = host.metrics().encode();
    let clipped: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hookhost_clipped_total{what=\"reason\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(clipped > 0, "clipping is counted: {metrics}");
}

#[tokio::test]
async fn a_guests_log_volume_per_call_is_capped() {
    let host = host(config_with(
        json!([probe(&["log-big", "2000", "10000"], json!({}))]),
        json!([]),
    ))
    .await;
    let (outcome, logs) =
        hookhost_tests::capture_logs(host.dispatch(fs_event(FsAction::PreUpload, "/a"))).await;
    assert_eq!(outcome.reports[0].result, Ok(Answer::Allow));
    // Before: 2,000 lines of 10 KB message + 10 KB field, ~8 MB per event.
    assert!(logs.len() < 200_000, "{} bytes of log", logs.len());
    assert!(logs.contains("dropped_lines="), "the rest is counted");
}

#[test]
fn text_logs_cannot_be_forged_by_a_guest() {
    let dir = tempfile::tempdir().unwrap();
    let config = hookhost_tests::write_config(
        dir.path(),
        &config_with(json!([probe(&["forge-log"], json!({}))]), json!([])),
    );
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"action":"pre-upload","username":"u","path":"/a","protocol":"SFTP"}"#,
    )
    .unwrap();
    let out = std::process::Command::new(hookhost_tests::hookhost_bin())
        .args(["fire", "--config"])
        .arg(&config)
        .arg("--event")
        .arg(&event)
        .env("HOOKHOST_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("forged line"), "{stderr}");
    assert!(
        !stderr
            .lines()
            .any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "a guest forged a log line: {stderr}"
    );
    assert!(!stderr.contains('\x1b'), "a raw escape reached the log");
}

/// Run the probe once in `mode` with `dir` granted writable at `/data`
/// (with `quota_mib` when given); its report.
async fn probe_in_grant(dir: &std::path::Path, mode: &[&str], quota_mib: Option<u64>) -> String {
    let mut grant = json!({"host": dir, "guest": "/data", "writable": true});
    if let Some(mib) = quota_mib {
        grant["quota_mib"] = json!(mib);
    }
    let host = host(config_with(
        json!([{"name": "probe", "hook": wasm("probe"), "execute_on": ["pre-upload"],
                "limits": {"memory_mib": 64}, "grants": {"args": mode, "dirs": [grant]}}]),
        json!([]),
    ))
    .await;
    match host
        .dispatch(fs_event(FsAction::PreUpload, "/a"))
        .await
        .reports
        .remove(0)
        .result
    {
        Ok(Answer::Deny(report)) => report,
        other => panic!("{mode:?}: {other:?}"),
    }
}

#[tokio::test]
async fn a_guest_can_only_create_symlinks_that_point_inside_its_grant() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file.txt"), "in the grant").unwrap();
    for (target, link, allowed) in [
        ("/etc/passwd", "/data/absolute", false),
        ("../outside", "/data/climbs", false),
        ("sub/../../../x", "/data/climbs-later", false),
        ("file.txt", "/data/sibling", true),
        ("sub/../file.txt", "/data/dotted", true),
    ] {
        let report = probe_in_grant(dir.path(), &["symlink", target, link], None).await;
        assert_eq!(report.starts_with("ok"), allowed, "{target} -> {report}");
        let on_host = dir.path().join(link.trim_start_matches("/data/"));
        assert_eq!(on_host.symlink_metadata().is_ok(), allowed, "{target}");
    }
}

#[tokio::test]
async fn a_quota_stops_writes_in_a_writable_grant() {
    let dir = tempfile::tempdir().unwrap();
    // Before: nothing bounded what a guest wrote (1 GiB in 1 s).
    let report = probe_in_grant(dir.path(), &["write-big", "/data/big", "8"], Some(2)).await;
    assert!(report.starts_with("err"), "{report}");
    let size = std::fs::metadata(dir.path().join("big")).unwrap().len();
    assert!(size <= 2 << 20, "{size} bytes written under a 2 MiB quota");
    // The grant is full now; once the host frees it, writes work again.
    let report = probe_in_grant(dir.path(), &["write-big", "/data/more", "1"], Some(2)).await;
    assert!(report.starts_with("err"), "{report}");
    std::fs::remove_file(dir.path().join("big")).unwrap();
    let report = probe_in_grant(dir.path(), &["write-big", "/data/more", "1"], Some(2)).await;
    assert!(report.starts_with("ok"), "{report}");
}

#[tokio::test]
async fn serve_closes_slow_and_idle_connections_and_keeps_answering() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let config = hookhost_tests::write_config(dir.path(), &config_with(json!([]), json!([])));
    let server = hookhost_tests::server::Server::start(
        &config,
        &["--header-timeout-ms", "300", "--max-connections", "8"],
        &[],
    )
    .await;
    let address = server.url.trim_start_matches("http://").to_owned();
    // Slowloris: headers that never end. Before, held open indefinitely.
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"POST /v1/actions/fs HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(_)) | Ok(Err(_))),
        "a connection with partial headers is closed"
    );
    // Many silent connections, more than the cap: before, 1,100 of them
    // exhausted the descriptors and /healthz stopped answering.
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    let started = Instant::now();
    let (status, _) = tokio::time::timeout(Duration::from_secs(10), server.get("/healthz"))
        .await
        .expect("/healthz answers while silent clients come and go");
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(8));
}

/// A TCP connection to `address` from the loopback address `from`.
async fn connect_from(from: &str, address: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(address.parse().unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_from_one_address_keeps_healthz_answering_others() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let config = hookhost_tests::write_config(dir.path(), &config_with(json!([]), json!([])));
    // Headers get 30 s: the flood is not cleared by the header timeout.
    let server = hookhost_tests::server::Server::start(
        &config,
        &[
            "--header-timeout-ms",
            "30000",
            "--max-connections",
            "24",
            "--max-connections-per-ip",
            "16",
        ],
        &[],
    )
    .await;
    let address = server.url.trim_start_matches("http://").to_owned();
    // Before: 520 idle or partial-header connections, reopened as they
    // were closed, kept /healthz from answering 3 probes of 9.
    let mut flood = Vec::new();
    for from in ["127.0.0.2", "127.0.0.3"] {
        for _ in 0..20 {
            let mut stream = connect_from(from, &address).await;
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost:").await;
            flood.push(stream);
        }
    }
    for probe in 0..9 {
        let answered = tokio::time::timeout(Duration::from_secs(5), server.get("/healthz")).await;
        assert!(
            matches!(answered, Ok((200, _))),
            "probe {probe} during the flood: {answered:?}"
        );
        // The flood reopens what it lost.
        for from in ["127.0.0.2", "127.0.0.3"] {
            flood.push(connect_from(from, &address).await);
        }
    }
    let count = |metrics: &str, name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0)
    };
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        count(&metrics, "hookhost_serve_connections_evicted_total ") > 0,
        "{metrics}"
    );
    // Once its connections have been silent past their first second, an
    // address holding its share gets more of them closed at once.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        flood.push(connect_from("127.0.0.2", &address).await);
        let (_, metrics) = server.get("/metrics").await;
        if count(&metrics, "hookhost_serve_connections_refused_per_ip_total ") > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "never refused: {metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_clients_keep_alive_connections_are_never_refused_by_the_per_address_share() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let config = hookhost_tests::write_config(dir.path(), &config_with(json!([]), json!([])));
    let server = hookhost_tests::server::Server::start(
        &config,
        &["--max-connections", "64", "--max-connections-per-ip", "4"],
        &[],
    )
    .await;
    let address = server.url.trim_start_matches("http://").to_owned();
    // Twelve connections from one address, each carrying requests (as an
    // SFTPGo with many transfers at once does): before, the fifth one
    // was closed at once and its request reset.
    let mut held = Vec::new();
    for round in 0..2 {
        for i in 0..12 {
            if round == 0 {
                held.push(connect_from("127.0.0.1", &address).await);
            }
            let stream = &mut held[i];
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut answer = [0u8; 12];
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut answer))
                .await
                .expect("an answer");
            assert!(read.is_ok(), "connection {i}, round {round}: {read:?}");
            assert_eq!(&answer, b"HTTP/1.1 200", "connection {i}");
            // The rest of the answer: headers, then a Content-Length body.
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                head.push(stream.read_u8().await.unwrap());
            }
            let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |n| n.trim().parse().unwrap());
            let mut body = vec![0u8; length];
            stream.read_exact(&mut body).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_compile_cache_directory_others_can_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let private = dir.path().join("private");
    for (cache, used) in [(&shared, false), (&private, true)] {
        let mut config = config_with(
            json!([{"name": "good", "hook": wasm("deny-exe"), "execute_on": ["pre-upload"]}]),
            json!([]),
        );
        config["hookhost"]["cache_dir"] = json!(cache);
        let host = host(config).await;
        let entries = std::fs::read_dir(cache).map(|d| d.count()).unwrap_or(0);
        assert_eq!(entries > 0, used, "{}", cache.display());
        if used {
            let mode = std::fs::metadata(cache).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        // Either way the hook works.
        let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/a.exe")).await;
        assert!(matches!(outcome.reports[0].result, Ok(Answer::Deny(_))));
    }
}

#[tokio::test]
async fn shutdown_right_after_a_reload_waits_for_the_old_generations_async_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        Config::from_value(
            config_with(
                json!([{"hook": hookhost_tests::exec_fixture("record"), "execute_on": ["upload"]}]),
                json!([]),
            ),
            &repo_root(),
        )
        .unwrap()
    };
    let host = hookhost::ReloadableHost::build(Host::builder(config()))
        .await
        .unwrap();
    let path = dir.path().join("up");
    let event = hookhost::event::FsEvent::new(
        FsAction::Upload,
        "slow-0.5",
        path.to_str().unwrap(),
        hookhost::event::Protocol::Sftp,
    );
    let outcome = host.lease().await.dispatch(event).await;
    assert_eq!(outcome.decision, hookhost::Decision::Queued);
    host.reload(config()).await.unwrap();
    // Before: shutdown retired only the new generation and returned while
    // the old one's hook was still sleeping.
    host.shutdown().await;
    assert!(
        std::path::Path::new(&format!("{}.argv", path.display())).exists(),
        "the old generation's async hook ran to its end"
    );
}

#[tokio::test]
async fn a_wasm_hook_named_http_something_is_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let named = dir.path().join("httpcheck.wasm");
    std::fs::copy(wasm("deny-exe"), &named).unwrap();
    let config = config_with(
        json!([{"hook": "httpcheck.wasm", "execute_on": ["pre-upload"]}]),
        json!([]),
    );
    let config = Config::from_value(config, dir.path()).unwrap();
    assert!(matches!(
        config.fs_actions.hooks[0].spec.target,
        hookhost::config::HookTarget::Wasm(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_plugin_call_does_not_hold_up_the_others() {
    let plugin = json!([{"type": "ipfilter", "cmd": wasm("plugin-probe"), "instances": 2,
                         "limits": {"timeout_ms": 3000}}]);
    let host = host(hookhost_tests::plugins_config(plugin)).await;
    let hanging = {
        let host = host.clone();
        tokio::spawn(async move { host.plugins().check_ip("loop", "SSH").await })
    };
    // Before: one instance, calls serialized: every other check waited for
    // the hanging one (a login delayed by the full timeout).
    let started = Instant::now();
    for _ in 0..5 {
        host.plugins().check_ip("10.0.0.1", "SSH").await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        !hanging.is_finished(),
        "the hanging call still runs meanwhile"
    );
    let hung = hanging.await.unwrap();
    assert!(
        matches!(hung, Err(hookhost::plugin::PluginError::Failed { .. })),
        "{hung:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_async_hook_does_not_delay_another_hooks_events() {
    let server = hookhost_tests::recorder::Recorder::start(&[], 200).await;
    let mut config = config_with(
        json!([
            {"name": "slow", "hook": wasm("probe"), "execute_on": ["upload"], "grants": {"args": ["sleep", "700"]}},
            {"name": "fast", "hook": server.url, "execute_on": ["delete"]},
        ]),
        json!([]),
    );
    config["hookhost"]["async_workers"] = json!(1);
    let host = host(config).await;
    for _ in 0..3 {
        let outcome = host.dispatch(fs_event(FsAction::Upload, "/a")).await;
        assert_eq!(outcome.decision, hookhost::Decision::Queued);
    }
    host.dispatch(fs_event(FsAction::Delete, "/b")).await;
    // Before: one queue for all hooks; the delete waited behind 2.1 s of
    // uploads.
    let request = tokio::time::timeout(Duration::from_secs(1), server.next())
        .await
        .expect("the other hook's event was not held up");
    assert_eq!(request.json()["action"], "delete");
    host.shutdown().await;
}
