//! The wasm sandbox: limits, capabilities, bad components, compile cache.

use std::path::Path;
use std::time::{Duration, Instant};

use hookhost::Decision;
use hookhost::config::{Grants, Limits, WasmSettings};
use hookhost::event::{Contract, FsAction};
use hookhost::hook::wasm::{Mode, WasmHook, World};
use hookhost::hook::{Answer, EventRef, Failure, Hook};
use hookhost::sandbox::Sandbox;
use hookhost_tests::guests::wasm;
use hookhost_tests::{config_with, fs_event, host, host_error};
use serde_json::{Value, json};
use wasmtime::component::types::ComponentItem;

/// A config running the probe guest on pre-upload with `args` and `extra`
/// hook settings.
fn probe(args: &[&str], extra: Value) -> Value {
    let mut hook = json!({
        "name": "probe",
        "hook": wasm("probe"),
        "execute_on": ["pre-upload"],
        "grants": {"args": args},
    });
    if let (Value::Object(hook), Value::Object(extra)) = (&mut hook, extra) {
        for (k, v) in extra {
            if k == "grants" {
                let grants = hook.get_mut("grants").unwrap().as_object_mut().unwrap();
                grants.extend(v.as_object().unwrap().clone());
            } else {
                hook.insert(k, v);
            }
        }
    }
    config_with(json!([hook]), json!([]))
}

/// Run the probe once and return its single hook result.
async fn run_probe(args: &[&str], extra: Value) -> Result<Answer, Failure> {
    let host = host(probe(args, extra)).await;
    let outcome = host
        .dispatch(fs_event(FsAction::PreUpload, "/srv/a.txt"))
        .wait_for_all()
        .await;
    assert_eq!(outcome.reports.len(), 1);
    outcome.reports[0].result.clone()
}

/// The probe's report string (it answers `Deny("ok: ...")`/`Deny("err: ...")`).
async fn probe_report(args: &[&str], extra: Value) -> String {
    match run_probe(args, extra).await {
        Ok(Answer::Deny(report)) => report,
        other => panic!("probe gave no report: {other:?}"),
    }
}

#[tokio::test]
async fn deny_exe_denies_exe_and_allows_txt() {
    let config = config_with(
        json!([{"hook": wasm("deny-exe"), "execute_on": ["pre-upload"], "grants": {"args": ["exe", "bat"]}}]),
        json!([]),
    );
    let host = host(config).await;
    let exe = host
        .dispatch(fs_event(FsAction::PreUpload, "/srv/alice/setup.EXE"))
        .await;
    assert_eq!(
        exe.decision,
        Decision::Deny("deny_exe: .exe files are not allowed".into())
    );
    let txt = host
        .dispatch(fs_event(FsAction::PreUpload, "/srv/alice/notes.txt"))
        .await;
    assert_eq!(txt.decision, Decision::Allow);
    let bat = host
        .dispatch(fs_event(FsAction::PreUpload, "/srv/alice/run.bat"))
        .await;
    assert!(matches!(bat.decision, Decision::Deny(_)));
}

/// The `no_std` benchmark guest (no WASI imports, bump allocator) gives
/// deny-exe's default answers, event after event on fresh instances.
#[tokio::test]
async fn no_std_guest_answers_like_deny_exe() {
    let config = config_with(
        json!([
            {"name": "std", "hook": wasm("deny-exe"), "execute_on": ["pre-upload"]},
            {"name": "no_std", "hook": wasm("minimal-deny"), "execute_on": ["pre-download"]},
        ]),
        json!([]),
    );
    let host = host(config).await;
    for path in [
        "/srv/a/setup.EXE",
        "/srv/a/notes.txt",
        "/srv/a/.exe",
        "/srv/a/x.msi",
        "/srv/a/noext",
    ] {
        let std = host.dispatch(fs_event(FsAction::PreUpload, path)).await;
        let no_std = host.dispatch(fs_event(FsAction::PreDownload, path)).await;
        let reason = |d: &Decision| match d {
            Decision::Deny(r) => Some(r.split_once(": ").unwrap().1.to_owned()),
            _ => None,
        };
        assert_eq!(reason(&std.decision), reason(&no_std.decision), "{path}");
        assert_eq!(
            matches!(std.decision, Decision::Allow),
            reason(&std.decision).is_none()
        );
    }
}

/// Names of the functions a component imports, as `interface#function`.
fn imported_functions(sandbox: &Sandbox, name: &str) -> Vec<String> {
    let engine = sandbox.engine();
    let mut functions = Vec::new();
    for (interface, item) in sandbox
        .load(&wasm(name))
        .unwrap()
        .component_type()
        .imports(engine)
    {
        match item.ty {
            ComponentItem::ComponentInstance(instance) => functions.extend(
                instance
                    .exports(engine)
                    .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentFunc(_)))
                    .map(|(function, _)| format!("{interface}#{function}")),
            ),
            ComponentItem::ComponentFunc(_) => functions.push(interface.to_owned()),
            _ => {}
        }
    }
    functions
}

/// The benchmark's floor row relies on this guest importing no function
/// (an import passing strings would add core instances to every event);
/// it still imports the types-only `types` interface.
#[tokio::test]
async fn no_std_guest_imports_no_function() {
    let settings = WasmSettings {
        max_instances: 4,
        ..WasmSettings::default()
    };
    let sandbox = Sandbox::new(&settings, None).unwrap();
    assert_eq!(
        imported_functions(&sandbox, "minimal-deny"),
        Vec::<String>::new()
    );
    let std_imports = imported_functions(&sandbox, "deny-exe");
    assert!(
        std_imports
            .iter()
            .any(|f| f == "hookhost:hooks/log@0.2.0#log"),
        "{std_imports:?}"
    );
}

#[tokio::test]
async fn deny_exe_reads_its_list_from_env() {
    let config = config_with(
        json!([{"hook": wasm("deny-exe"), "execute_on": ["pre-upload"], "grants": {"env": {"DENY_EXTENSIONS": "iso, .img"}}}]),
        json!([]),
    );
    let host = host(config).await;
    let iso = host
        .dispatch(fs_event(FsAction::PreUpload, "/srv/disk.iso"))
        .await;
    assert!(matches!(iso.decision, Decision::Deny(_)), "{iso:?}");
    let exe = host
        .dispatch(fs_event(FsAction::PreUpload, "/srv/setup.exe"))
        .await;
    assert_eq!(
        exe.decision,
        Decision::Allow,
        "the env list replaces the default list"
    );
}

#[tokio::test]
async fn endless_loop_is_stopped_by_the_deadline() {
    let start = Instant::now();
    let result = run_probe(&["loop"], json!({"limits": {"timeout_ms": 200}})).await;
    assert_eq!(result, Err(Failure::Timeout(Duration::from_millis(200))));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

/// A spinning guest yields at every epoch tick in a way that lets the other
/// tasks of its runtime run — including those whose wake-up Tokio defers
/// (a `yield_now`, a task out of its coop budget) until it next polls its
/// driver. With wasmtime's own yield the guest was polled again at once,
/// and on a current-thread runtime such tasks ran only every 61 polls
/// (~60 ms of guest): the benchmark's other events waited that long.
#[tokio::test]
async fn a_spinning_guest_lets_every_other_task_run_at_each_tick() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let host = host(probe(&["loop"], json!({"limits": {"timeout_ms": 300}}))).await;
    let done = Arc::new(AtomicBool::new(false));
    let turns = Arc::new(AtomicUsize::new(0));
    let other = {
        let (done, turns) = (done.clone(), turns.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                tokio::task::yield_now().await;
                turns.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    // A spawned task, as a server's requests are.
    let outcome = tokio::spawn(async move {
        host.dispatch(fs_event(FsAction::PreUpload, "/srv/a.txt"))
            .wait_for_all()
            .await
    })
    .await
    .unwrap();
    done.store(true, Ordering::SeqCst);
    other.await.unwrap();
    assert_eq!(
        outcome.reports[0].result,
        Err(Failure::Timeout(Duration::from_millis(300)))
    );
    // ~300 ticks of 1 ms: a turn at each (fewer on a loaded machine, whose
    // ticks come late); 300 / 61 = 5 turns with the immediate yield.
    let turns = turns.load(Ordering::SeqCst);
    assert!(turns >= 50, "the other task got {turns} turns in 300 ms");
}

#[tokio::test]
async fn cpu_burn_is_stopped_by_fuel() {
    let result = run_probe(&["loop"], json!({"limits": {"fuel": 5_000_000}})).await;
    assert_eq!(result, Err(Failure::OutOfFuel));
}

#[tokio::test]
async fn memory_bomb_is_stopped_at_the_memory_limit() {
    let result = run_probe(&["alloc"], json!({"limits": {"memory_mib": 16}})).await;
    assert_eq!(result, Err(Failure::MemoryLimit(16 * 1024 * 1024)));
}

#[tokio::test]
async fn guest_allocating_just_under_the_limit_keeps_working() {
    let report = probe_report(&["alloc-under"], json!({"limits": {"memory_mib": 16}})).await;
    assert!(report.starts_with("ok: recovered after"), "{report}");
}

#[tokio::test]
async fn deep_recursion_is_a_trap() {
    // Frames on wasm's own stack exhaust it; frames on a Rust guest's shadow
    // stack (in linear memory) run off the bottom of its memory.
    for (mode, expected) in [
        ("recurse-native", "call stack exhausted"),
        ("recurse", "out of bounds memory access"),
    ] {
        match run_probe(&[mode], json!({})).await {
            Err(Failure::Trap(message)) => assert!(message.contains(expected), "{mode}: {message}"),
            other => panic!("{mode}: expected a trap, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn guest_panic_is_a_trap_carrying_the_panic_message() {
    match run_probe(&["panic"], json!({})).await {
        Err(Failure::Trap(message)) => {
            assert!(message.contains("probe panicked on purpose"), "{message}")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[tokio::test]
async fn failing_pre_upload_hook_denies() {
    let host = host(probe(&["panic"], json!({}))).await;
    let outcome = host
        .dispatch(fs_event(FsAction::PreUpload, "/srv/a.txt"))
        .await;
    assert!(
        matches!(&outcome.decision, Decision::Deny(reason) if reason.contains("trap")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn guest_without_grant_cannot_read_host_files() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "top secret").unwrap();
    for path in ["/etc/passwd", secret.path().to_str().unwrap()] {
        let report = probe_report(&["read", path], json!({})).await;
        assert!(report.starts_with("err:"), "{path}: {report}");
    }
}

#[tokio::test]
async fn guest_sees_only_granted_env_vars() {
    let report = probe_report(&["env"], json!({"grants": {"env": {"GIVEN": "1"}}})).await;
    assert_eq!(report, r#"ok: ["GIVEN"]"#);
}

#[tokio::test]
async fn read_only_grant_reads_but_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.txt"), "hello").unwrap();
    let grant = json!({"grants": {"dirs": [{"host": dir.path(), "guest": "/data"}]}});
    assert_eq!(
        probe_report(&["read", "/data/in.txt"], grant.clone()).await,
        r#"ok: "hello""#
    );
    let report = probe_report(&["write", "/data/new.txt"], grant.clone()).await;
    assert!(report.starts_with("err:"), "{report}");
    let report = probe_report(&["write", "/data/in.txt"], grant).await;
    assert!(report.starts_with("err:"), "{report}");
    assert!(!dir.path().join("new.txt").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("in.txt")).unwrap(),
        "hello"
    );
}

#[tokio::test]
async fn writable_grant_writes() {
    let dir = tempfile::tempdir().unwrap();
    let grant =
        json!({"grants": {"dirs": [{"host": dir.path(), "guest": "/data", "writable": true}]}});
    let report = probe_report(&["write", "/data/new.txt"], grant).await;
    assert!(report.starts_with("ok:"), "{report}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("new.txt")).unwrap(),
        "written by probe"
    );
}

#[tokio::test]
async fn preopen_cannot_be_escaped() {
    let outer = tempfile::tempdir().unwrap();
    let inner = outer.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(outer.path().join("secret.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(outer.path().join("secret.txt"), inner.join("link")).unwrap();
    std::os::unix::fs::symlink(outer.path(), inner.join("dirlink")).unwrap();
    let grant = json!({"grants": {"dirs": [{"host": &inner, "guest": "/data", "writable": true}]}});
    let secret = outer.path().join("secret.txt");
    for path in [
        "/data/../secret.txt",
        "/data/link",
        "/data/dirlink/secret.txt",
        secret.to_str().unwrap(),
    ] {
        let report = probe_report(&["read", path], grant.clone()).await;
        assert!(report.starts_with("err:"), "{path}: {report}");
    }
    let report = probe_report(&["write", "/data/../planted.txt"], grant).await;
    assert!(report.starts_with("err:"), "{report}");
    assert!(!outer.path().join("planted.txt").exists());
}

#[tokio::test]
async fn event_file_is_readable_only_when_granted() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "upload content").unwrap();
    let event = fs_event(FsAction::PreUpload, file.path().to_str().unwrap());
    for (granted, expected) in [
        (true, r#"ok: "upload content""#),
        (false, "err: event file access is not granted"),
    ] {
        let host = host(probe(
            &["event-file"],
            json!({"grants": {"event_file": granted}}),
        ))
        .await;
        let outcome = host.dispatch(event.clone()).wait_for_all().await;
        match &outcome.reports[0].result {
            Ok(Answer::Deny(report)) => assert!(report.starts_with(expected), "{report}"),
            other => panic!("{other:?}"),
        }
    }
}

fn wasm_config(path: &Path, world_section: &str) -> Value {
    let hook = json!([{"name": "bad", "hook": path, "execute_on": if world_section == "fs" { json!(["pre-upload"]) } else { json!(["add"]) }}]);
    if world_section == "fs" {
        config_with(hook, json!([]))
    } else {
        config_with(json!([]), hook)
    }
}

#[tokio::test]
async fn bad_components_are_refused_with_the_file_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let random = dir.path().join("random.wasm");
    std::fs::write(
        &random,
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let truncated = dir.path().join("truncated.wasm");
    let whole = std::fs::read(wasm("deny-exe")).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let missing = dir.path().join("missing.wasm");

    let cases = [
        (&core, "fs", "is a core WebAssembly module, not a component"),
        (&random, "fs", "is not WebAssembly (a component starts with"),
        (&truncated, "fs", "is not a valid WebAssembly component"),
        (&missing, "fs", "cannot read"),
    ];
    for (path, section, expected) in cases {
        let err = host_error(wasm_config(path, section)).await;
        assert!(err.contains("common.actions.hooks[0].hook"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains(expected), "{err}");
    }
    // A provider hook configured as an fs hook, and the reverse.
    let err = host_error(wasm_config(&wasm("provider-echo"), "fs")).await;
    assert!(
        err.contains("does not implement the `fs-hook` world"),
        "{err}"
    );
    let err = host_error(wasm_config(&wasm("deny-exe"), "provider")).await;
    assert!(err.contains("data_provider.actions.hooks[0].hook"), "{err}");
    assert!(
        err.contains("does not implement the `provider-hook` world"),
        "{err}"
    );
}

#[tokio::test]
async fn upload_audit_writes_one_line_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(
        json!([{"hook": wasm("upload-audit"), "execute_on": ["upload"],
                "grants": {"dirs": [{"host": dir.path(), "guest": "/audit", "writable": true}]}}]),
        json!([]),
    );
    let host = host(config).await;
    let mut event = fs_event(FsAction::Upload, "/srv/alice/report.pdf");
    event.file_size = 2048;
    assert_eq!(
        host.dispatch(event.clone()).wait_for_all().await.decision,
        Decision::Allow
    );
    event.path = "/srv/alice/second.pdf".into();
    assert_eq!(
        host.dispatch(event.clone()).wait_for_all().await.decision,
        Decision::Allow
    );
    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["action"], "upload");
    assert_eq!(lines[0]["username"], "alice");
    assert_eq!(lines[0]["path"], "/srv/alice/report.pdf");
    assert_eq!(lines[0]["file_size"], 2048);
    assert_eq!(lines[1]["path"], "/srv/alice/second.pdf");
}

#[tokio::test]
async fn a_good_hook_answers_after_a_hostile_one() {
    let host = host(probe(&["alloc"], json!({"limits": {"memory_mib": 8}}))).await;
    let event = fs_event(FsAction::PreUpload, "/srv/a.txt");
    assert!(matches!(
        host.dispatch(event.clone()).wait_for_all().await.decision,
        Decision::Deny(_)
    ));
    let good = hookhost_tests::host(config_with(
        json!([{"hook": wasm("deny-exe"), "execute_on": ["pre-upload"]}]),
        json!([]),
    ))
    .await;
    assert_eq!(
        good.dispatch(event.clone()).wait_for_all().await.decision,
        Decision::Allow
    );
    // The hostile hook's host still answers too (a fresh instance per event).
    assert!(matches!(
        host.dispatch(event.clone()).wait_for_all().await.decision,
        Decision::Deny(_)
    ));
}

/// A sandbox with a new compile cache directory that has loaded deny-exe.
fn cached_deny_exe() -> (tempfile::TempDir, WasmSettings, Sandbox) {
    let cache = tempfile::tempdir().unwrap();
    let settings = WasmSettings {
        max_instances: 4,
        ..WasmSettings::default()
    };
    let sandbox = Sandbox::new(&settings, Some(cache.path().to_path_buf())).unwrap();
    sandbox.load(&wasm("deny-exe")).unwrap();
    (cache, settings, sandbox)
}

#[tokio::test]
async fn second_start_uses_the_compile_cache() {
    let (cache, settings, first) = cached_deny_exe();
    assert_eq!(
        (first.cache_stats().hits, first.cache_stats().compiled),
        (0, 1)
    );
    assert_eq!(
        hookhost_tests::compiled_components(cache.path()),
        1,
        "one cache entry written"
    );
    let second = Sandbox::new(&settings, Some(cache.path().to_path_buf())).unwrap();
    second.load(&wasm("deny-exe")).unwrap();
    assert_eq!(
        (second.cache_stats().hits, second.cache_stats().compiled),
        (1, 0)
    );
    // A different codegen setting (fuel off) must not reuse the artifact.
    let no_fuel = WasmSettings {
        fuel: false,
        ..settings
    };
    let third = Sandbox::new(&no_fuel, Some(cache.path().to_path_buf())).unwrap();
    third.load(&wasm("deny-exe")).unwrap();
    assert_eq!(
        (third.cache_stats().hits, third.cache_stats().compiled),
        (0, 1)
    );
}

#[tokio::test]
async fn a_component_sharing_code_with_one_compiled_before_reuses_its_functions() {
    let (cache, settings, first) = cached_deny_exe();
    let stored = first.cache_stats().functions_stored;
    assert!(stored > 0, "{:?}", first.cache_stats());
    // The same code in another component (a custom section appended: a
    // new sha256, so the whole-component entry misses).
    let mut bytes = std::fs::read(wasm("deny-exe")).unwrap();
    bytes.extend_from_slice(&[0, 8, 4, b'n', b'o', b't', b'e', b'v', b'2', b'!']);
    let other = cache.path().join("other.wasm");
    std::fs::write(&other, &bytes).unwrap();
    let second = Sandbox::new(&settings, Some(cache.path().to_path_buf())).unwrap();
    second.load(&other).unwrap();
    let stats = second.cache_stats();
    assert_eq!((stats.hits, stats.compiled), (0, 1), "{stats:?}");
    // Nearly every function comes from the cache (a few, 15-18 of ~300
    // here, get other cache keys in the second file and compile again).
    assert!(
        stats.functions_reused >= 5 * stats.functions_stored.max(1)
            && stats.functions_stored < stored / 4,
        "first stored {stored}; then {stats:?}"
    );
    assert_eq!(hookhost_tests::compiled_components(cache.path()), 2);
}

/// The answers of the counting probe for `paths`, one event each.
async fn counts(reuse: Value, paths: &[&str]) -> Vec<String> {
    let mut hook = json!({"name": "probe", "hook": wasm("probe"), "execute_on": ["pre-upload"], "grants": {"args": ["count"]}});
    if !reuse.is_null() {
        hook["reuse"] = reuse;
    }
    let host = host(config_with(json!([hook]), json!([]))).await;
    let mut answers = Vec::new();
    for path in paths {
        let outcome = host
            .dispatch(fs_event(FsAction::PreUpload, path))
            .wait_for_all()
            .await;
        answers.push(match &outcome.reports[0].result {
            Ok(Answer::Deny(report)) => report.trim_start_matches("ok: ").to_owned(),
            Err(failure) => failure.label().to_owned(),
            other => format!("{other:?}"),
        });
    }
    answers
}

#[tokio::test]
async fn every_event_gets_a_fresh_instance_by_default() {
    assert_eq!(
        counts(Value::Null, &["/a", "/b", "/c"]).await,
        ["count=1", "count=1", "count=1"]
    );
}

#[tokio::test]
async fn reused_instances_are_replaced_after_max_calls_and_after_a_failure() {
    let reuse = json!({"max_calls": 3, "pool": 1});
    let answers = counts(reuse, &["/a", "/b", "/c", "/d", "/e", "/panic", "/f", "/g"]).await;
    assert_eq!(
        answers,
        [
            "count=1", "count=2", "count=3", "count=1", "count=2", "trap", "count=1", "count=2"
        ],
        "state carries over only within one instance's max_calls; a trap drops the instance"
    );
}

/// The counting probe with `spares` made ahead, on its own sandbox.
fn counting_hook(sandbox: &std::sync::Arc<Sandbox>, spares: u32) -> WasmHook {
    probe_hook(sandbox, "count", spares)
}

/// The probe in `mode`, with `spares` made ahead.
fn probe_hook(sandbox: &std::sync::Arc<Sandbox>, mode: &str, spares: u32) -> WasmHook {
    let limits = Limits {
        timeout: Duration::from_secs(10),
        fuel: 1_000_000_000,
        memory_bytes: 64 << 20,
        output_bytes: 4096,
        http_in_flight: hookhost::config::DEFAULT_HTTP_IN_FLIGHT,
        tcp_connections: hookhost::config::DEFAULT_TCP_CONNECTIONS,
    };
    let grants = Grants {
        args: vec![mode.into()],
        ..Grants::default()
    };
    WasmHook::new(
        "probe",
        sandbox.clone(),
        &wasm("probe"),
        World::Fs,
        limits,
        grants,
        Mode::Fresh { spares },
    )
    .unwrap()
}

/// What the counting probe answered: `count=N`, or the failure's label.
async fn count_of(hook: &WasmHook, path: &str) -> String {
    let event = fs_event(FsAction::PreUpload, path);
    match hook.call(EventRef::Fs(&event), &Contract::NEWEST).await {
        Ok(Answer::Deny(report)) => report.trim_start_matches("ok: ").to_owned(),
        Err(failure) => failure.label().to_owned(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spares_give_every_event_a_never_used_instance() {
    use std::sync::atomic::Ordering::Relaxed;
    let sandbox = std::sync::Arc::new(Sandbox::new(&WasmSettings::default(), None).unwrap());
    let hook = counting_hook(&sandbox, 2);
    let mut ready = hook.spares_ready().expect("spares are on");
    // Spares start with the hook's first event (which finds none unless
    // the refill task wins the race to the list); each later event waits
    // until both are made, so it is served by a spare, never by an
    // instance an earlier event used.
    let mut answers = vec![count_of(&hook, "/first").await];
    for path in ["/a", "/b", "/panic", "/c", "/d"] {
        ready.wait_for(|n| *n == 2).await.unwrap();
        answers.push(count_of(&hook, path).await);
    }
    assert_eq!(
        answers,
        [
            "count=1", "count=1", "count=1", "trap", "count=1", "count=1"
        ]
    );
    let stats = sandbox.spare_stats();
    let (served, missed) = (stats.served.load(Relaxed), stats.missed.load(Relaxed));
    assert!(
        served >= 5 && served + missed == 6,
        "every event after the first was served by a spare: {served} served, {missed} missed"
    );

    // A burst larger than the spares: the rest instantiate inline, and
    // still no instance serves twice.
    ready.wait_for(|n| *n == 2).await.unwrap();
    let burst = (0..12).map(|i| count_of(&hook, if i == 5 { "/panic" } else { "/x" }));
    let answers = futures::future::join_all(burst).await;
    assert_eq!(answers.iter().filter(|a| *a == "count=1").count(), 11);
    assert_eq!(answers.iter().filter(|a| *a == "trap").count(), 1);
    assert_eq!(
        stats.served.load(Relaxed) + stats.missed.load(Relaxed),
        18,
        "each event counted once, as served or missed"
    );
    // They refill after the burst, and a dropped hook (a reload) gives back
    // what its spares held.
    ready.wait_for(|n| *n == 2).await.unwrap();
    assert_eq!(stats.ready.load(Relaxed), 2);
    drop(hook);
    ready.wait_for(|n| *n == 0).await.unwrap();
    assert_eq!(stats.ready.load(Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spare_runs_the_hooks_init_before_its_event_an_inline_instance_does_not() {
    let sandbox = std::sync::Arc::new(Sandbox::new(&WasmSettings::default(), None).unwrap());
    let hook = probe_hook(&sandbox, "init-count", 2);
    let mut ready = hook.spares_ready().expect("spares are on");
    count_of(&hook, "/first").await;
    for path in ["/a", "/b", "/c"] {
        ready.wait_for(|n| *n == 2).await.unwrap();
        assert_eq!(
            count_of(&hook, path).await,
            "inits=1",
            "{path}: a spare, initialised once"
        );
    }
    let inline = probe_hook(&sandbox, "init-count", 0);
    for path in ["/a", "/b"] {
        assert_eq!(
            count_of(&inline, path).await,
            "inits=0",
            "{path}: made inline, not initialised"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_init_stops_the_spares_and_every_event_is_served_inline() {
    use std::sync::atomic::Ordering::Relaxed;
    let sandbox = std::sync::Arc::new(Sandbox::new(&WasmSettings::default(), None).unwrap());
    let hook = probe_hook(&sandbox, "init-trap", 2);
    let mut ready = hook.spares_ready().expect("spares are on");
    let stats = sandbox.spare_stats();
    assert_eq!(count_of(&hook, "/first").await, "served");
    // The refill task counts the failure, then ends (publishing 0 ready).
    let failed = ready.wait_for(|_| stats.init_failed.load(Relaxed) == 1);
    tokio::time::timeout(Duration::from_secs(30), failed)
        .await
        .expect("the init failure is counted")
        .unwrap();
    for path in ["/a", "/b", "/c", "/d"] {
        assert_eq!(count_of(&hook, path).await, "served", "{path}");
    }
    assert_eq!(
        stats.init_failed.load(Relaxed),
        1,
        "one failure, then no more attempts"
    );
    assert_eq!(stats.served.load(Relaxed), 0);
    assert_eq!(
        stats.missed.load(Relaxed),
        5,
        "every event instantiated inline"
    );
    assert_eq!(stats.ready.load(Relaxed), 0);
}

#[tokio::test]
async fn spares_are_off_with_zero_and_without_the_pool() {
    let sandbox = std::sync::Arc::new(Sandbox::new(&WasmSettings::default(), None).unwrap());
    assert!(counting_hook(&sandbox, 0).spares_ready().is_none());
    let on_demand = WasmSettings {
        pooling: false,
        ..WasmSettings::default()
    };
    let sandbox = std::sync::Arc::new(Sandbox::new(&on_demand, None).unwrap());
    assert!(counting_hook(&sandbox, 2).spares_ready().is_none());
}

#[tokio::test]
async fn spares_are_configured_per_hook_and_checked() {
    // Through the configuration: counts stay 1 with spares on or off.
    for spares in [json!(0), json!(3)] {
        let config = probe(&["count"], json!({"spares": spares}));
        let host = host(config).await;
        for path in ["/a", "/b", "/c"] {
            let outcome = host
                .dispatch(fs_event(FsAction::PreUpload, path))
                .wait_for_all()
                .await;
            assert_eq!(
                outcome.reports[0].result,
                Ok(Answer::Deny("ok: count=1".into()))
            );
        }
    }
    let with_reuse = probe(&["count"], json!({"spares": 1, "reuse": {"max_calls": 2}}));
    let err = host_error(with_reuse).await;
    assert!(
        err.contains("common.actions.hooks[0].spares") && err.contains("reuse"),
        "{err}"
    );
    let too_many = probe(&["count"], json!({"spares": 65}));
    let err = host_error(too_many).await;
    assert!(err.contains("spares") && err.contains("above 64"), "{err}");
    let exec = config_with(
        json!([{"hook": "/bin/true", "execute_on": ["upload"], "spares": 1}]),
        json!([]),
    );
    let err = host_error(exec).await;
    assert!(err.contains("only wasm hooks"), "{err}");
    let global = json!({"hookhost": {"wasm": {"default_spares": 100}}});
    let err = hookhost::Config::from_value(global, Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("hookhost.wasm.default_spares"), "{err}");
}
