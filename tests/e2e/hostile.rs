//! Hostile guests and faults: each gets its documented outcome, its counter
//! moves, nothing leaks, and the host (and a good hook) keeps answering.

use std::time::{Duration, Instant};

use hookhost::Decision;
use hookhost::event::{FsAction, FsEvent, Protocol};
use hookhost::hook::{Answer, Failure};
use hookhost_tests::guests::wasm;
use hookhost_tests::{capture_logs, config_with, exec_fixture, fs_event, host};
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
