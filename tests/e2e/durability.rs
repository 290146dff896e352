//! Durability: with `hookhost.state_dir`, accepted asynchronous events are
//! journaled before the 200 and survive a crash of the server; with
//! `hookhost.queue` (NATS JetStream) several nodes share the work and one
//! node's death loses none of it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use hookhost::event::FsAction;
use hookhost::{Config, Host, ReloadableHost};
use hookhost_tests::guests::wasm;
use hookhost_tests::nats::NatsServer;
use hookhost_tests::recorder::Recorder;
use hookhost_tests::server::Server;
use hookhost_tests::{fs_event, repo_root, write_config};
use serde_json::{Value, json};
use tokio::sync::watch;

/// An SFTPGo upload event body for file `i`.
fn upload(i: usize) -> String {
    json!({"action": "upload", "username": "alice", "path": format!("/srv/alice/f{i}.bin"),
        "virtual_path": format!("/f{i}.bin"), "file_size": 1, "status": 1, "protocol": "SFTP",
        "fs_provider": 0, "timestamp": 1_700_000_000_000_000_000_i64})
    .to_string()
}

/// Every delivery's event id, per event path.
type Deliveries = Arc<std::sync::Mutex<HashMap<String, Vec<String>>>>;

/// Record every request the recorder receives (its `Hookhost-Event-Id`,
/// per event path); publish how many distinct paths were seen.
fn collect(recorder: Arc<Recorder>) -> (watch::Receiver<usize>, Deliveries) {
    let (seen_tx, seen) = watch::channel(0);
    let deliveries = Deliveries::default();
    let shared = deliveries.clone();
    tokio::spawn(async move {
        loop {
            let request = recorder.next_forever().await;
            let path = request.json()["path"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let id = request
                .headers
                .get("hookhost-event-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let distinct = {
                let mut deliveries = shared.lock().unwrap();
                deliveries.entry(path).or_default().push(id);
                deliveries.len()
            };
            seen_tx.send_replace(distinct);
        }
    });
    (seen, deliveries)
}

/// Every path delivered at least once; every delivery of an event accepted
/// before the kill (`first`: answered 200 then) carries that event's one
/// id, however often it was delivered; no id serves two paths. (An event
/// whose 200 the kill cut off is posted again and is a second event, with
/// its own id, as a retrying SFTPGo's would be.) Returns the deliveries
/// beyond the first.
fn check_deliveries(deliveries: &Deliveries, events: usize, first: &HashSet<usize>) -> usize {
    let deliveries = deliveries.lock().unwrap().clone();
    assert_eq!(deliveries.len(), events);
    let mut owner = HashMap::new();
    for (path, seen) in &deliveries {
        assert!(seen.iter().all(|id| !id.is_empty()), "{path}: no event id");
        let i: usize = path
            .trim_start_matches("/srv/alice/f")
            .trim_end_matches(".bin")
            .parse()
            .unwrap();
        if first.contains(&i) {
            assert!(
                seen.iter().all(|id| id == &seen[0]),
                "{path}: one accepted event, several ids: {seen:?}"
            );
        }
        for id in seen {
            let other = owner.entry(id.clone()).or_insert_with(|| path.clone());
            assert_eq!(other, path, "id {id} on two events");
        }
    }
    deliveries.values().map(|seen| seen.len() - 1).sum()
}

/// Post each event to the server `to(i)` picks (at most `parallel` at
/// once) until `stop_after` are accepted (if given); the accepted ones.
async fn post_spread(
    servers: &[&Server],
    to: impl Fn(usize) -> usize,
    events: Vec<usize>,
    parallel: usize,
    stop_after: Option<usize>,
) -> HashSet<usize> {
    use futures::StreamExt;
    let mut accepted = HashSet::new();
    let mut answers = futures::stream::iter(events)
        .map(|i| {
            let server = servers[to(i)];
            let request = server
                .client
                .post(format!("{}/v1/actions/fs", server.url))
                .header("content-type", "application/json")
                .body(upload(i))
                .send();
            async move { (i, request.await.map(|r| r.status().as_u16())) }
        })
        .buffer_unordered(parallel);
    while let Some((i, answer)) = answers.next().await {
        if let Ok(200) = answer {
            accepted.insert(i);
        }
        if stop_after.is_some_and(|n| accepted.len() >= n) {
            break;
        }
    }
    accepted
}

/// Post `events` (at most `parallel` at once), stopping once `stop_after`
/// are accepted if given; the
/// ones answered 200 are accepted.
async fn post_all(
    server: &Server,
    events: Vec<usize>,
    parallel: usize,
    stop_after: Option<usize>,
) -> HashSet<usize> {
    post_spread(&[server], |_| 0, events, parallel, stop_after).await
}

/// A configuration (written in a new directory) running a URL hook on
/// uploads that answers after `delay`, with a journal in the directory and
/// `workers` async workers; the deliveries seen, as [`collect`] gives them.
async fn journaled_uploads(
    delay: Duration,
    workers: usize,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    watch::Receiver<usize>,
    Deliveries,
) {
    let recorder = Arc::new(Recorder::start_slow(&[], 200, delay).await);
    let (seen, deliveries) = collect(recorder.clone());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &json!({
            "common": {"actions": {"execute_on": ["upload"], "hook": format!("{}/hook", recorder.url)}},
            "hookhost": {"state_dir": dir.path().join("state"), "async_workers": workers},
        }),
    );
    (dir, config, seen, deliveries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_event_is_delivered_after_a_kill_9() {
    const EVENTS: usize = 10_000;
    // A slow hook: accepted events pile up behind it, so the kill finds
    // many accepted and not yet delivered.
    let (_dir, config, mut seen, counts) = journaled_uploads(Duration::from_millis(2), 4).await;
    let mut server = Server::start(&config, &[], &[]).await;
    let first = post_all(&server, (0..EVENTS).collect(), 32, Some(EVENTS / 2)).await;
    server.signal(libc::SIGKILL);
    server.wait_exit().await;
    let delivered_before = *seen.borrow();
    assert!(
        delivered_before < first.len(),
        "the kill must find accepted events not yet delivered ({delivered_before} of {})",
        first.len()
    );

    // What an operator sees meanwhile.
    let listed = queue_cli("ls", &config);
    assert!(
        listed.contains("fs upload alice /srv/alice/f") && listed.contains("unfinished event(s)"),
        "{listed}"
    );

    // Restart: the journal's unfinished events are replayed, and the
    // events never accepted (cut off by the kill) are sent again.
    let mut server = Server::start(&config, &[], &[]).await;
    server
        .wait_log("unfinished events replayed from the journal")
        .await;
    let duplicates = finish(&server, &first, EVENTS, &mut seen, &counts).await;
    eprintln!(
        "kill -9 after {} accepted, {delivered_before} delivered: all {EVENTS} delivered, {duplicates} twice or more, each with its one id",
        first.len()
    );
    // The journal is empty once everything is done.
    let depth = async {
        loop {
            let (_, metrics) = server.get("/metrics").await;
            if metrics.contains("hookhost_journal_depth 0") {
                return;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), depth)
        .await
        .expect("the journal empties once every event is delivered");
}

#[tokio::test]
async fn the_journal_empties_as_hooks_finish_and_survives_a_reload() {
    let recorder = Recorder::start(&[], 200).await;
    let dir = tempfile::tempdir().unwrap();
    let value = json!({
        "common": {"actions": {"execute_on": ["upload"], "hook": format!("{}/hook", recorder.url)}},
        "hookhost": {"state_dir": "state"},
    });
    // Relative to the configuration's directory.
    let config = Config::from_value(value, dir.path()).unwrap();
    assert_eq!(
        config.settings.state_dir.as_deref(),
        Some(dir.path().join("state").as_path())
    );
    let host = Arc::new(
        ReloadableHost::build(Host::builder(config.clone()))
            .await
            .unwrap(),
    );
    for i in 0..20 {
        let outcome = host
            .lease()
            .await
            .dispatch(fs_event(FsAction::Upload, &format!("/srv/f{i}")))
            .await;
        assert_eq!(outcome.decision, hookhost::Decision::Queued);
    }
    for _ in 0..20 {
        recorder.next().await;
    }
    // A reload keeps the open journal (the file is locked: opening it
    // twice would fail) and goes on journaling.
    host.reload(config)
        .await
        .expect("a reload keeps the journal");
    host.lease()
        .await
        .dispatch(fs_event(FsAction::Upload, "/srv/after-reload"))
        .await;
    recorder.next().await;
    host.shutdown().await;
    let metrics = host.metrics().encode();
    assert!(
        metrics.contains("hookhost_journal_appended_total 21"),
        "{metrics}"
    );
    assert!(metrics.contains("hookhost_journal_depth 0"), "{metrics}");

    let empty = json!({"hookhost": {"state_dir": ""}});
    let err = Config::from_value(empty, &repo_root())
        .unwrap_err()
        .to_string();
    assert!(err.contains("hookhost.state_dir"), "{err}");
}

/// `hookhost.queue` on `nats`: stream `stream`, its consumer named after
/// it, and `extra` settings.
fn nats_queue(nats: &NatsServer, stream: &str, extra: Value) -> Value {
    let mut queue = json!({"kind": "nats", "url": nats.url, "stream": stream,
        "consumer": stream.to_lowercase()});
    if let (Value::Object(queue), Value::Object(extra)) = (&mut queue, extra) {
        queue.extend(extra);
    }
    queue
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_jetstream_deliver_everything_when_one_is_killed() {
    const EVENTS: usize = 10_000;
    let Some(nats) = NatsServer::start().await else {
        return;
    };
    let recorder = Arc::new(Recorder::start_slow(&[], 200, Duration::from_millis(1)).await);
    let (mut seen, counts) = collect(recorder.clone());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &json!({
            "common": {"actions": {"execute_on": ["upload"], "hook": format!("{}/hook", recorder.url)}},
            "hookhost": {"async_workers": 8,
                "queue": nats_queue(&nats, "FLEET", json!({"ack_wait_ms": 1000}))},
        }),
    );
    let mut a = Server::start(&config, &[], &[]).await;
    let b = Server::start(&config, &[], &[]).await;
    // Half the events, spread over both nodes; then node a dies.
    let first = post_spread(
        &[&a, &b],
        |i| i % 2,
        (0..EVENTS).collect(),
        32,
        Some(EVENTS / 2),
    )
    .await;
    a.signal(libc::SIGKILL);
    a.wait_exit().await;
    let delivered_before = *seen.borrow();
    assert!(
        delivered_before < first.len(),
        "the kill must find accepted events not yet delivered ({delivered_before} of {})",
        first.len()
    );
    // Everything else goes to b; the messages a held come back to b
    // after the ack wait.
    let duplicates = finish(&b, &first, EVENTS, &mut seen, &counts).await;
    eprintln!(
        "fleet: node killed after {} accepted, {delivered_before} delivered: all {EVENTS} delivered by the other, {duplicates} twice or more",
        first.len()
    );
    let (_, metrics) = b.get("/metrics").await;
    assert!(metrics.contains("hookhost_queue_acked_total"), "{metrics}");
}

/// Poll `path` on `server` (every 50 ms, at most 20 s) until `done` holds
/// for its status and body; the last answer.
async fn get_until(server: &Server, path: &str, done: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let poll = async {
        loop {
            let (status, body) = server.get(path).await;
            if done(status, &body) {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .unwrap_or_else(|_| panic!("{path} never got there"))
}

/// [`get_until`] on `/healthz`, its body parsed.
async fn healthz_until(server: &Server, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
    let parse = |body: &str| serde_json::from_str::<Value>(body).unwrap();
    let (status, body) = get_until(server, "/healthz", |status, body| {
        done(status, &parse(body))
    })
    .await;
    (status, parse(&body))
}

#[tokio::test]
async fn healthz_and_metrics_report_the_queues_depth_age_and_connection() {
    let Some(nats) = NatsServer::start().await else {
        return;
    };
    // The hook refuses everything: each message is handed back with a
    // minute's delay, so three stay unfinished for the whole test.
    let recorder = Recorder::start(&[], 500).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &json!({
            "common": {"actions": {"execute_on": ["upload"], "hook": format!("{}/hook", recorder.url)}},
            "http": {"retry_max": 0},
            "hookhost": {"queue": nats_queue(&nats, "HEALTH", json!({"max_deliver": 5, "backoff_ms": 60_000}))},
        }),
    );
    let node = Server::start(&config, &[], &[]).await;
    for i in 0..3 {
        let (status, body) = node.post("/v1/actions/fs", upload(i)).await;
        assert_eq!(status, 200, "{body}");
    }
    for _ in 0..3 {
        recorder.next().await;
    }
    let (status, body) = healthz_until(&node, |_, b| b["queue"]["unfinished"] == 3).await;
    assert_eq!(status, 200);
    assert_eq!(body["queue"]["connected"], true, "{body}");
    let age = body["queue"]["oldest_age_seconds"].as_f64().unwrap();
    assert!(age > 0.0 && age < 60.0, "{body}");
    let (_, metrics) = node.get("/metrics").await;
    for line in [
        "hookhost_queue_depth 3",
        "hookhost_queue_connected 1",
        "hookhost_queue_redelivered_total 3",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    assert!(metrics.contains("hookhost_queue_oldest_age_seconds "));

    // NATS goes away: asynchronous events cannot be accepted any more.
    drop(nats);
    let (_, body) = healthz_until(&node, |status, _| status == 503).await;
    assert_eq!(body["queue"]["connected"], false, "{body}");
    assert_eq!(body["status"], "unavailable");
}

#[tokio::test]
async fn on_the_queue_each_hook_has_its_own_delivery_limit() {
    let Some(nats) = NatsServer::start().await else {
        return;
    };
    // Both hooks always fail; the queue-wide limit (50) is overridden per
    // hook, and so is its minute of backoff.
    let recorder = Recorder::start(&[], 500).await;
    let dir = tempfile::tempdir().unwrap();
    let hook = |name: &str, max: i64| {
        json!({"name": name, "hook": format!("{}/{name}", recorder.url), "execute_on": ["upload"],
            "queue": {"max_deliver": max, "backoff_ms": 10}})
    };
    let config = write_config(
        dir.path(),
        &json!({
            "common": {"actions": {"hooks": [hook("twice", 2), hook("four", 4)]}},
            "http": {"retry_max": 0},
            "hookhost": {"queue": nats_queue(&nats, "LIMITS", json!({"max_deliver": 50, "backoff_ms": 60_000}))},
        }),
    );
    let node = Server::start(&config, &[], &[]).await;
    let (status, body) = node.post("/v1/actions/fs", upload(0)).await;
    assert_eq!(status, 200, "{body}");
    // Both hooks' events dead-lettered after their own limits.
    get_until(&node, "/metrics", |_, metrics| {
        metrics.contains("hookhost_queue_dead_letters_total 2")
    })
    .await;
    let mut calls = HashMap::<String, usize>::new();
    for _ in 0..recorder.pending().await {
        *calls
            .entry(recorder.next().await.uri.path().to_owned())
            .or_default() += 1;
    }
    assert_eq!(
        calls,
        HashMap::from([("/twice".to_owned(), 2), ("/four".to_owned(), 4)])
    );
}

/// Post to `server` every event not in `first`, wait until all `events`
/// were delivered, check the deliveries; the deliveries beyond the first.
async fn finish(
    server: &Server,
    first: &HashSet<usize>,
    events: usize,
    seen: &mut watch::Receiver<usize>,
    deliveries: &Deliveries,
) -> usize {
    let rest: Vec<usize> = (0..events).filter(|i| !first.contains(i)).collect();
    let second = post_all(server, rest, 32, None).await;
    assert_eq!(
        first.len() + second.len(),
        events,
        "every event was accepted once"
    );
    tokio::time::timeout(Duration::from_secs(120), seen.wait_for(|n| *n == events))
        .await
        .expect("every accepted event delivered within 120 s")
        .unwrap();
    check_deliveries(deliveries, events, first)
}

/// `hookhost queue ACTION --config CONFIG`: its stdout (it must succeed).
fn queue_cli(action: &str, config: &std::path::Path) -> String {
    let out = std::process::Command::new(hookhost_tests::hookhost_bin())
        .args(["queue", action, "--config"])
        .arg(config)
        .output()
        .expect("run hookhost queue");
    assert!(
        out.status.success(),
        "hookhost queue {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The number `hookhost queue ls` reports.
fn unfinished(config: &std::path::Path) -> usize {
    let listed = queue_cli("ls", config);
    let last = listed.lines().last().unwrap_or_default();
    last.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{listed}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_replays_or_purges_a_dead_servers_journal() {
    let (dir, config, mut seen, _) = journaled_uploads(Duration::from_millis(300), 2).await;
    // Accept 20 events behind a slow hook, then kill the server.
    let crashed = || async {
        let mut server = Server::start(&config, &[], &[]).await;
        let accepted = post_all(&server, (0..20).collect(), 20, None).await;
        assert_eq!(accepted.len(), 20);
        let (_, health) = server.get("/healthz").await;
        let health: serde_json::Value = serde_json::from_str(&health).unwrap();
        assert!(
            health["journal"]["unfinished"].as_u64().is_some()
                && health["journal"]["oldest_age_seconds"].as_f64().is_some(),
            "{health}"
        );
        server.signal(libc::SIGKILL);
        server.wait_exit().await;
    };
    crashed().await;
    let left = unfinished(&config);
    assert!(left > 0 && left <= 20, "{left}");
    // `replay` runs them and exits once all are done.
    assert!(queue_cli("replay", &config).contains("replayed; the journal is empty"));
    tokio::time::timeout(Duration::from_secs(10), seen.wait_for(|n| *n == 20))
        .await
        .expect("every event delivered")
        .unwrap();
    assert_eq!(unfinished(&config), 0);
    // `purge` forgets them.
    crashed().await;
    assert!(unfinished(&config) > 0);
    assert!(queue_cli("purge", &config).contains("forgotten"));
    assert_eq!(unfinished(&config), 0);
    // Without a state_dir there is nothing to list, and it says so.
    std::fs::create_dir_all(dir.path().join("m")).unwrap();
    let memory = write_config(&dir.path().join("m"), &json!({}));
    let out = std::process::Command::new(hookhost_tests::hookhost_bin())
        .args(["queue", "ls", "--config"])
        .arg(&memory)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("state_dir is not set"));
}

#[tokio::test]
async fn hooks_of_asynchronous_events_get_the_event_id() {
    let dir = tempfile::tempdir().unwrap();
    let audit = tempfile::tempdir().unwrap();
    let config = Config::from_value(
        json!({"common": {"actions": {"execute_on": ["upload", "pre-upload"],
            "hook": hookhost_tests::exec_fixture("record-all"),
            "hooks": [{"hook": wasm("upload-audit"), "execute_on": ["upload", "pre-upload"],
                "grants": {"dirs": [{"host": audit.path(), "guest": "/audit", "writable": true}]}}]}}}),
        &repo_root(),
    )
    .unwrap();
    let host = Host::new(config).await.unwrap();
    let path = dir.path().join("a.txt");
    let path = path.to_str().unwrap();
    host.dispatch(fs_event(FsAction::PreUpload, path)).await;
    host.dispatch(fs_event(FsAction::Upload, path)).await;
    host.shutdown().await;
    let env =
        |event: &str| std::fs::read_to_string(dir.path().join(format!("{event}.env"))).unwrap();
    let upload = env("upload");
    let id = upload
        .lines()
        .find_map(|l| l.strip_prefix("HOOKHOST_EVENT_ID="))
        .unwrap_or_else(|| panic!("no HOOKHOST_EVENT_ID in {upload}"));
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    // A synchronous call is answered at once: nothing to de-duplicate.
    assert!(!env("pre-upload").contains("HOOKHOST_EVENT_ID"));
    // A component asks `event-info.id` (the SDK's `event_id()`) and gets
    // the same id for the same event; none for the synchronous call.
    let lines: Vec<Value> = std::fs::read_to_string(audit.path().join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_action = |action: &str| {
        lines
            .iter()
            .find(|l| l["action"] == action)
            .unwrap_or_else(|| panic!("no {action} line in {lines:?}"))
    };
    assert_eq!(by_action("upload")["event_id"], id);
    assert!(by_action("pre-upload").get("event_id").is_none());
}

/// Set `pid`'s file-size limit (`None`: unlimited), as `prlimit --fsize`.
fn limit_file_size(pid: i32, bytes: Option<u64>) {
    let limit = libc::rlimit {
        rlim_cur: bytes.unwrap_or(libc::RLIM_INFINITY),
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit(2) on our own child with a valid rlimit struct.
    let done = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &limit, std::ptr::null_mut()) };
    assert_eq!(done, 0, "prlimit: {}", std::io::Error::last_os_error());
}

async fn healthz(server: &Server) -> (u16, Value) {
    let (status, body) = server.get("/healthz").await;
    (status, serde_json::from_str(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_that_cannot_write_recovers_by_itself_and_runs_no_event_twice() {
    // Before: after a transient disk-full every async event was refused
    // (424 "Previous I/O error … re-open the database") until a restart,
    // /healthz said ok, and the restart ran 145 events twice.
    let (_dir, config, mut seen, deliveries) =
        journaled_uploads(Duration::from_millis(20), 2).await;
    let mut server = Server::start(&config, &[], &[]).await;
    let small = |i: usize| upload(i);
    let mut accepted = 0;
    for i in 0..40 {
        assert_eq!(server.post("/v1/actions/fs", small(i)).await.0, 200);
        accepted += 1;
    }
    // The disk is full: no write to the journal file succeeds (a one-byte
    // file-size limit; the probe's small write fails too).
    limit_file_size(server.pid(), Some(1));
    let (status, body) = server.post("/v1/actions/fs", small(1000)).await;
    assert_eq!(status, 424, "{body}");
    let (status, health) = healthz(&server).await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["journal"]["writable"], json!(false), "{health}");
    // Space comes back: the journal writes again by itself, no restart.
    limit_file_size(server.pid(), None);
    let freed = std::time::Instant::now();
    while healthz(&server).await.0 != 200 {
        assert!(
            freed.elapsed() < Duration::from_secs(20),
            "not writable again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "journal writable again {} ms after space came back",
        freed.elapsed().as_millis()
    );
    for i in 40..60 {
        assert_eq!(server.post("/v1/actions/fs", small(i)).await.0, 200);
        accepted += 1;
    }
    tokio::time::timeout(Duration::from_secs(60), seen.wait_for(|n| *n >= accepted))
        .await
        .expect("every accepted event delivered")
        .unwrap();
    let (_, metrics) = server.get("/metrics").await;
    assert!(metrics.contains("hookhost_journal_writable 1"), "{metrics}");
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
    // The restart finds nothing unfinished: no event runs twice.
    let server = Server::start(&config, &[], &[]).await;
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains("hookhost_journal_replayed_total 0"),
        "{metrics}"
    );
    let deliveries = deliveries.lock().unwrap();
    assert_eq!(deliveries.len(), accepted);
    let twice: Vec<_> = deliveries
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(path, _)| &path[..path.len().min(40)])
        .collect();
    assert!(twice.is_empty(), "run twice: {twice:?}");
}

#[tokio::test]
async fn post_login_and_post_disconnect_are_journaled_and_survive_a_kill_9() {
    // Before: queued in memory only, lost on a crash.
    let recorder = Arc::new(Recorder::start_slow(&[], 200, Duration::from_secs(3)).await);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &json!({
            "data_provider": {"post_login_hook": format!("{}/post-login", recorder.url)},
            "common": {"post_disconnect_hook": format!("{}/post-disconnect", recorder.url)},
            "hookhost": {"state_dir": dir.path().join("state")},
        }),
    );
    let mut server = Server::start(&config, &[], &[]).await;
    let user = json!({"id": 1, "username": "alice", "status": 1}).to_string();
    let (status, body) = server
        .post(
            "/v1/post-login?login_method=password&ip=10.0.0.1&protocol=SSH&status=1",
            user,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .get(
            "/v1/post-disconnect?ip=10.0.0.2&protocol=SFTP&username=alice&connection_duration=1500",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Both hooks are busy for 3 s: the kill finds them undelivered.
    server.signal(libc::SIGKILL);
    server.wait_exit().await;
    let listed = queue_cli("ls", &config);
    assert!(
        listed.contains("login post_login alice") && listed.contains("login post_disconnect alice"),
        "{listed}"
    );
    // What reached the hooks before the kill (maybe nothing yet).
    for _ in 0..recorder.pending().await {
        recorder.next_forever().await;
    }
    let mut server = Server::start(&config, &[], &[]).await;
    server
        .wait_log("unfinished events replayed from the journal")
        .await;
    // Each is delivered again, as it was posted.
    let mut paths = Vec::new();
    for _ in 0..2 {
        let request = tokio::time::timeout(Duration::from_secs(20), recorder.next_forever())
            .await
            .expect("a delivery");
        paths.push(request.uri.to_string());
    }
    assert!(
        paths.iter().any(|p| p.starts_with("/post-login"))
            && paths.iter().any(|p| p.contains("connection_duration=1500")),
        "{paths:?}"
    );
}
