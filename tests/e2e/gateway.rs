//! `hookhost plugin` against the real go-plugin client: a Go host built
//! from Debian's go-plugin launches it as SFTPGo does (gRPC only,
//! SecureConfig with the sha256 of the binary, AutoMTLS on and off, the
//! SDK's cookie, a cleared environment) and calls every method of the five
//! plugin types, with the example components.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hookhost_tests::goplugin::{Launch, Session, goplugin_host, run_script, sha256_hex};
use hookhost_tests::guests::wasm;
use hookhost_tests::{hookhost_bin, repo_root, test_settings, write_config};
use serde_json::{Value, json};

/// hookhost.json with `plugins` in a fresh directory.
fn config(plugins: Value) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &json!({"plugins": plugins, "hookhost": test_settings()}),
    );
    (dir, path)
}

/// How SFTPGo would launch the entry whose cmd is `cmd`: its `plugins`
/// entry `{"cmd": <hookhost>, "args": ["plugin", "--config", FILE, CMD],
/// "sha256sum": <of hookhost>}`, with `env` what its env rules pass.
fn launch<'a>(kind: &'a str, auto_mtls: bool, config: &Path, cmd: &Path) -> Launch<'a> {
    let bin = hookhost_bin();
    Launch {
        kind,
        auto_mtls,
        sha256: Some(sha256_hex(&bin)),
        command: vec![
            bin.display().to_string(),
            "plugin".into(),
            "--config".into(),
            config.display().to_string(),
            cmd.display().to_string(),
        ],
        env: vec![],
    }
}

fn call(method: &str, request: Value) -> Value {
    json!({"method": method, "request": request})
}

/// The results by position, checking each method answered.
fn by_method(results: &[Value], methods: &[&str]) {
    let got: Vec<&str> = results
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(got, methods, "{results:#?}");
}

fn ok(result: &Value) -> &Value {
    assert_eq!(result["code"], "OK", "{result}");
    &result["response"]
}

fn refused<'a>(result: &'a Value, code: &str) -> &'a str {
    assert_eq!(result["code"], code, "{result}");
    result["message"].as_str().unwrap()
}

fn bytes_json(field: &Value) -> Value {
    let bytes = B64.decode(field.as_str().unwrap()).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn notifier_and_eventsearcher_serve_sftpgo_through_the_go_plugin_client() {
    let Some(go) = goplugin_host() else { return };
    let events = tempfile::tempdir().unwrap();
    let notifier = wasm("notifier-jsonl");
    let searcher = wasm("eventsearcher-jsonl");
    let (_dir, path) = config(json!([
        {"type": "notifier", "cmd": notifier, "args": ["/events"],
         "notifier_options": {"fs_events": ["upload"], "log_events": [1]},
         "grants": {"dirs": [{"host": events.path(), "guest": "/events", "writable": true}]}},
        {"type": "eventsearcher", "cmd": searcher, "args": ["/events"],
         "grants": {"dirs": [{"host": events.path(), "guest": "/events"}]}},
    ]));
    // What SFTPGo sends; hookhost delivers all of it (SFTPGo chose it),
    // including events the entry's own options do not list.
    let t = 1_764_000_000_000_000_000_i64;
    let script = json!([
        {"method": "ping"},
        call("/proto.Notifier/SendFsEvent", json!({"timestamp": t.to_string(), "action": "upload",
            "username": "alice", "fs_path": "/srv/alice/a.txt", "virtual_path": "/a.txt",
            "file_size": "42", "protocol": "SFTP", "status": 1, "ip": "10.0.0.1",
            "session_id": "SFTP_1", "fs_provider": 0, "role": "ops", "elapsed": "7",
            "metadata": {"etag": "abc"}})),
        call("/proto.Notifier/SendFsEvent", json!({"timestamp": (t + 1).to_string(), "action": "rename",
            "username": "alice", "fs_path": "/srv/alice/a.txt", "fs_target_path": "/srv/alice/b.txt",
            "virtual_path": "/a.txt", "virtual_target_path": "/b.txt", "protocol": "SFTP", "status": 1})),
        call("/proto.Notifier/SendProviderEvent", json!({"timestamp": (t + 2).to_string(), "action": "add",
            "object_type": "user", "username": "admin", "ip": "10.0.0.9", "object_name": "bob",
            "object_data": B64.encode(br#"{"username":"bob","home_dir":"/srv/bob"}"#), "role": ""})),
        call("/proto.Notifier/SendLogEvent", json!({"timestamp": (t + 3).to_string(), "event": 2,
            "username": "mallory", "protocol": "SSH", "ip": "203.0.113.5", "message": "no such user"})),
        call("/proto.Notifier/SendFsEvent", json!({"action": "teleport", "username": "alice"})),
        {"method": "kill"},
    ]);
    let (results, stderr) = run_script(&go, &launch("notifier", true, &path, &notifier), &script);
    by_method(
        &results,
        &[
            "ping",
            "/proto.Notifier/SendFsEvent",
            "/proto.Notifier/SendFsEvent",
            "/proto.Notifier/SendProviderEvent",
            "/proto.Notifier/SendLogEvent",
            "/proto.Notifier/SendFsEvent",
            "kill",
        ],
    );
    for result in &results[..5] {
        ok(result);
    }
    let bad = refused(&results[5], "InvalidArgument");
    assert!(bad.starts_with("action: "), "{bad}");
    assert!(
        results[6]["message"]
            .as_str()
            .unwrap()
            .contains("exited=true"),
        "a clean exit on Shutdown: {results:?}\n{stderr}"
    );

    let script = json!([
        call("/proto.Searcher/SearchFsEvents", json!({"username": "alice", "order": "ASC",
            "limit": 100, "fs_provider": -1})),
        call("/proto.Searcher/SearchFsEvents", json!({"username": "alice", "order": "ASC",
            "limit": 100, "fs_provider": -1, "actions": ["rename"]})),
        call("/proto.Searcher/SearchProviderEvents", json!({"object_types": ["user"], "limit": 10,
            "omit_object_data": true})),
        call("/proto.Searcher/SearchLogEvents", json!({"events": [2], "limit": 10})),
        {"method": "kill"},
    ]);
    let (results, _) = run_script(
        &go,
        &launch("eventsearcher", false, &path, &searcher),
        &script,
    );
    let fs = bytes_json(&ok(&results[0])["data"]);
    let fs = fs.as_array().unwrap();
    assert_eq!(fs.len(), 2, "{fs:?}");
    assert_eq!(
        (&fs[0]["action"], &fs[0]["fs_path"], &fs[0]["file_size"]),
        (&json!("upload"), &json!("/srv/alice/a.txt"), &json!(42))
    );
    assert_eq!(
        (&fs[0]["timestamp"], &fs[0]["elapsed"], &fs[0]["session_id"]),
        (&json!(t), &json!(7), &json!("SFTP_1"))
    );
    let first_id = fs[0]["id"].as_str().unwrap().to_owned();
    let same_start = ok(&results[0])["same_ts_at_start"].clone();
    assert_eq!(
        same_start,
        json!([first_id]),
        "the earlier SFTPGo's paging ids"
    );
    let renames = bytes_json(&ok(&results[1])["data"]);
    assert_eq!(renames[0]["fs_target_path"], "/srv/alice/b.txt");
    let providers = bytes_json(&ok(&results[2])["data"]);
    assert_eq!(
        (&providers[0]["object_name"], &providers[0]["username"]),
        (&json!("bob"), &json!("admin"))
    );
    assert!(
        providers[0].get("object_data").is_none(),
        "omit_object_data"
    );
    let logs = bytes_json(&ok(&results[3])["data"]);
    assert_eq!(
        (&logs[0]["username"], &logs[0]["event"]),
        (&json!("mallory"), &json!(2))
    );

    // Today's SFTPGo pages with from_id: the next page starts after it.
    let script = json!([call(
        "/proto.Searcher/SearchFsEvents",
        json!({"username": "alice", "order": "ASC",
            "limit": 1, "fs_provider": -1, "from_id": [first_id]})
    ),]);
    let (results, _) = run_script(
        &go,
        &launch("eventsearcher", true, &path, &searcher),
        &script,
    );
    let page = bytes_json(&ok(&results[0])["data"]);
    assert_eq!(page[0]["action"], "rename", "{page}");
}

#[test]
fn auth_serves_every_check_sftpgo_makes() {
    let Some(go) = goplugin_host() else { return };
    let auth = wasm("auth-file");
    // Scope 1 here: SFTPGo's own entry decides which checks it sends.
    let (_dir, path) = config(json!([
        {"type": "auth", "cmd": auth, "args": ["/users/users.json"], "auth_options": {"scope": 1},
         "grants": {"dirs": [{"host": repo_root().join("tests/fixtures/users"), "guest": "/users"}]}}
    ]));
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHookHostTestKeyAliceAAAAAAAAAAAAAAAAAAAA";
    let stored = B64.encode(br#"{"id":3,"username":"alice","status":1}"#);
    let script = json!([
        call("/proto.Auth/CheckUserAndPass", json!({"username": "alice", "password": "correct horse",
            "ip": "10.0.0.1", "protocol": "SSH"})),
        call("/proto.Auth/CheckUserAndPass", json!({"username": "alice", "password": "wrong",
            "ip": "10.0.0.1", "protocol": "SSH", "user": stored})),
        call("/proto.Auth/CheckUserAndPublicKey", json!({"username": "alice", "pubKey": key,
            "ip": "10.0.0.1", "protocol": "SSH"})),
        call("/proto.Auth/CheckUserAndTLSCert", json!({"username": "alice", "tlsCert": "-----BEGIN CERTIFICATE-----",
            "ip": "10.0.0.1", "protocol": "FTP"})),
        call("/proto.Auth/CheckUserAndKeyboardInteractive", json!({"username": "alice",
            "ip": "10.0.0.1", "protocol": "SSH"})),
        call("/proto.Auth/SendKeyboardAuthRequest", json!({"requestID": "r1", "username": "alice",
            "ip": "10.0.0.1", "step": 1})),
        call("/proto.Auth/SendKeyboardAuthRequest", json!({"requestID": "r1", "username": "alice",
            "ip": "10.0.0.1", "step": 2, "answers": ["correct horse"], "questions": ["Password: "]})),
        {"method": "kill"},
    ]);
    let (results, _) = run_script(&go, &launch("auth", true, &path, &auth), &script);
    let user = bytes_json(&ok(&results[0])["user"]);
    assert_eq!(user["home_dir"], "/srv/sftpgo/alice");
    assert_eq!(refused(&results[1], "Unknown"), "invalid credentials");
    assert_eq!(bytes_json(&ok(&results[2])["user"])["username"], "alice");
    let tls = refused(&results[3], "Unknown");
    assert!(tls.contains("not supported"), "{tls}");
    ok(&results[4]);
    let round = ok(&results[5]);
    assert_eq!(
        (
            &round["questions"].as_array().unwrap().len(),
            &round["echos"],
            &round["auth_result"]
        ),
        (&1, &json!([false]), &json!(0))
    );
    assert_eq!(ok(&results[6])["auth_result"], 1);
}

#[test]
fn kms_encrypts_and_decrypts_with_the_key_sftpgo_passes_on() {
    let Some(go) = goplugin_host() else { return };
    let kms = wasm("kms-aesgcm");
    // SFTPGo's entry passes the key (`"env_vars": ["KMS_AESGCM_KEY"]`); the
    // hookhost entry's default rule (prefix from its cmd: KMS_AESGCM_)
    // hands it to the component.
    let (_dir, path) = config(json!([
        {"type": "kms", "cmd": kms,
         "kms_options": {"scheme": "hashivault", "encrypted_status": "VaultTransit"}}
    ]));
    let mut launch = launch("kms", true, &path, &kms);
    launch.env = vec![(
        "KMS_AESGCM_KEY".into(),
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f".into(),
    )];
    let script = json!([call(
        "/proto.KMS/Encrypt",
        json!({"payload": "s3cr3t", "additional_data": "alice",
            "url": "hashivault://key1", "master_key": ""})
    ),]);
    let mut session = Session::start(&go, &launch, &script);
    let sealed = session.next_result().unwrap();
    let sealed = ok(&sealed).clone();
    session.finish();
    assert!(!sealed["payload"].as_str().unwrap().contains("s3cr3t"));
    let decrypt = |aad: &str| {
        call(
            "/proto.KMS/Decrypt",
            json!({"payload": sealed["payload"], "key": sealed["key"],
            "mode": sealed["mode"], "additional_data": aad, "url": "hashivault://key1"}),
        )
    };
    let (results, _) = run_script(&go, &launch, &json!([decrypt("alice"), decrypt("mallory")]));
    assert_eq!(ok(&results[0])["payload"], "s3cr3t");
    refused(&results[1], "Unknown");
}

#[test]
fn ipfilter_answers_with_auto_mtls_on_and_off_over_unix_and_tcp() {
    let Some(go) = goplugin_host() else { return };
    let filter = wasm("ipfilter-cidr");
    let (_dir, path) = config(json!([
        {"type": "ipfilter", "cmd": filter, "args": ["10.0.0.0/8"]}
    ]));
    let script = json!([
        {"method": "ping"},
        call("/proto.IPFilter/CheckIP", json!({"ip": "10.1.2.3", "protocol": "SSH"})),
        call("/proto.IPFilter/CheckIP", json!({"ip": "192.0.2.1", "protocol": "FTP"})),
        call("/proto.IPFilter/Reload", json!({})),
        {"method": "kill"},
    ]);
    for (auto_mtls, tcp) in [(false, false), (true, false), (true, true)] {
        let mut launch = launch("ipfilter", auto_mtls, &path, &filter);
        if tcp {
            launch.command.insert(2, "--network=tcp".into());
        }
        let (results, stderr) = run_script(&go, &launch, &script);
        ok(&results[0]);
        ok(&results[1]);
        let reason = refused(&results[2], "Unknown");
        assert!(reason.contains("192.0.2.1"), "{reason}");
        ok(&results[3]);
        let network = if tcp { "network=tcp" } else { "network=unix" };
        assert!(
            stderr.contains(network) && stderr.contains(&format!("auto_mtls={auto_mtls}")),
            "{stderr}"
        );
    }
}

#[test]
fn a_trap_a_timeout_and_a_limit_are_grpc_errors_and_the_process_keeps_serving() {
    let Some(go) = goplugin_host() else { return };
    let dir = tempfile::tempdir().unwrap();
    let probe = wasm("plugin-probe");
    // Two entries need two files: hookhost serves the one whose cmd it is given.
    let by_fuel = dir.path().join("probe-fuel.wasm");
    std::fs::copy(&probe, &by_fuel).unwrap();
    let (_cfg, path) = config(json!([
        {"type": "ipfilter", "cmd": probe, "instances": 1, "limits": {"timeout_ms": 300}},
        {"type": "ipfilter", "cmd": by_fuel, "instances": 1, "limits": {"fuel": 5_000_000}},
    ]));
    let check = |ip: &str| {
        call(
            "/proto.IPFilter/CheckIP",
            json!({"ip": ip, "protocol": "SSH"}),
        )
    };
    let script = json!([check("count"), check("trap"), check("count"), check("loop"), check("count"), {"method": "ping"}]);
    let (results, stderr) = run_script(&go, &launch("ipfilter", true, &path, &probe), &script);
    assert_eq!(refused(&results[0], "Unknown"), "count=1");
    let trap = refused(&results[1], "Internal");
    assert!(trap.contains("trap"), "{trap}");
    assert_eq!(
        refused(&results[2], "Unknown"),
        "count=1",
        "the trapped instance was rebuilt"
    );
    let late = refused(&results[3], "DeadlineExceeded");
    assert!(late.contains("timed out after 300 ms"), "{late}");
    assert_eq!(refused(&results[4], "Unknown"), "count=1");
    ok(&results[5]);
    // The plugin's log reached the client as records at their level.
    assert!(
        stderr.contains("[WARN]  host.hookhost: plugin call failed"),
        "{stderr}"
    );

    let (results, _) = run_script(
        &go,
        &launch("ipfilter", false, &path, &by_fuel),
        &json!([check("loop"), check("count")]),
    );
    let fuel = refused(&results[0], "Internal");
    assert!(fuel.contains("out of fuel"), "{fuel}");
    assert_eq!(refused(&results[1], "Unknown"), "count=1");
}

/// The paths of the fs events notifier-jsonl wrote into `dir`, in order.
fn delivered_paths(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("fs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["fs_path"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn shutdown_flushes_the_notifiers_queue_and_without_a_queue_sftpgo_gets_the_refusal() {
    let Some(go) = goplugin_host() else { return };
    let events = tempfile::tempdir().unwrap();
    std::fs::write(events.path().join("paused"), "").unwrap();
    let queued = wasm("notifier-jsonl");
    let direct = events.path().join("direct.wasm");
    std::fs::copy(&queued, &direct).unwrap();
    let grants = json!({"dirs": [{"host": events.path(), "guest": "/events", "writable": true}]});
    let (_cfg, path) = config(json!([
        // hookhost's own queue: retried rarely, so only shutdown flushes it.
        {"type": "notifier", "cmd": queued, "args": ["/events"], "grants": grants,
         "notifier_options": {"fs_events": ["upload"], "retry_max_time": 60, "retry_interval_ms": 3_600_000}},
        // No queue in hookhost (the default): SFTPGo queues a refused event.
        {"type": "notifier", "cmd": direct, "args": ["/events"], "grants": grants,
         "notifier_options": {"fs_events": ["upload"]}},
    ]));
    let upload = |name: &str| {
        call(
            "/proto.Notifier/SendFsEvent",
            json!({"action": "upload", "username": "alice",
            "fs_path": format!("/srv/alice/{name}"), "protocol": "SFTP", "status": 1}),
        )
    };
    let (results, _) = run_script(
        &go,
        &launch("notifier", false, &path, &direct),
        &json!([upload("refused")]),
    );
    assert_eq!(refused(&results[0], "Unknown"), "paused");

    let script =
        json!([upload("1"), upload("2"), upload("3"), {"method": "pause"}, {"method": "kill"}]);
    let mut session = Session::start(&go, &launch("notifier", true, &path, &queued), &script);
    for _ in 0..3 {
        ok(&session.next_result().unwrap());
    }
    assert_eq!(session.next_result().unwrap()["method"], "pause");
    // Each event's first delivery was refused and queued (the queue is
    // retried hourly here: only the shutdown can deliver them now).
    session.wait_log(|log| log.matches("queuing it for retry").count() == 3);
    assert!(!events.path().join("fs.jsonl").exists());
    std::fs::remove_file(events.path().join("paused")).unwrap();
    session.resume();
    let (rest, stderr) = session.finish();
    assert!(
        rest[0]["message"].as_str().unwrap().contains("exited=true"),
        "{rest:?}\n{stderr}"
    );
    assert_eq!(
        delivered_paths(events.path()),
        ["/srv/alice/1", "/srv/alice/2", "/srv/alice/3"]
    );
}

#[test]
fn with_a_state_dir_the_notifiers_queue_survives_a_kill_9() {
    let Some(go) = goplugin_host() else { return };
    let events = tempfile::tempdir().unwrap();
    std::fs::write(events.path().join("paused"), "").unwrap();
    let cmd = wasm("notifier-jsonl");
    let state = events.path().join("state");
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings();
    settings["state_dir"] = json!(state);
    let path = write_config(
        dir.path(),
        &json!({"hookhost": settings, "plugins": [
            {"type": "notifier", "cmd": cmd, "args": ["/events"],
             "grants": {"dirs": [{"host": events.path(), "guest": "/events", "writable": true}]},
             "notifier_options": {"fs_events": ["upload"], "retry_max_time": 60, "retry_interval_ms": 3_600_000}}]}),
    );
    let upload = |name: &str| {
        call(
            "/proto.Notifier/SendFsEvent",
            json!({"action": "upload", "username": "alice",
            "fs_path": format!("/srv/alice/{name}"), "protocol": "SFTP", "status": 1}),
        )
    };
    // The plugin is down; SFTPGo's calls are answered once the events are
    // on disk; then the process is SIGKILLed: no shutdown, no flush.
    let script = json!([upload("1"), upload("2"), upload("3"), {"method": "crash"}]);
    let (results, stderr) = run_script(&go, &launch("notifier", false, &path, &cmd), &script);
    for result in &results[..3] {
        ok(result);
    }
    assert_eq!(results[3]["method"], "crash", "{stderr}");
    assert_ne!(
        results[3]["message"], "pid=0",
        "the plugin process was killed"
    );
    assert!(!events.path().join("fs.jsonl").exists());
    assert!(
        state.join("plugins/notifier_jsonl/journal.redb").exists(),
        "each served notifier keeps its own journal"
    );

    // Launched again with the plugin up: the journal's events are
    // delivered, each once, in order.
    std::fs::remove_file(events.path().join("paused")).unwrap();
    let (results, stderr) = run_script(
        &go,
        &launch("notifier", false, &path, &cmd),
        &json!([{"method": "ping"}, {"method": "kill"}]),
    );
    assert_eq!(results[1]["method"], "kill", "{stderr}");
    assert_eq!(
        delivered_paths(events.path()),
        ["/srv/alice/1", "/srv/alice/2", "/srv/alice/3"]
    );
    let left = hookhost::journal::Journal::open(&state.join("plugins/notifier_jsonl"))
        .unwrap()
        .pending()
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_cleared_environment_is_enough_and_the_component_sees_only_its_share() {
    let Some(go) = goplugin_host() else { return };
    let probe = wasm("plugin-probe");
    // No cache_dir: the default must work without HOME (the cache then
    // goes under the user's home from the password database).
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &json!({"plugins": [{"type": "ipfilter", "cmd": probe, "env_prefix": "HOOKHOST_PROBE_"}]}),
    );
    let mut launch = launch("ipfilter", true, &path, &probe);
    launch.env = vec![
        ("HOOKHOST_PROBE_LEVEL".into(), "3".into()),
        ("HOOKHOST_LOG".into(), "info".into()),
    ];
    let (results, stderr) = run_script(
        &go,
        &launch,
        &json!([call(
            "/proto.IPFilter/CheckIP",
            json!({"ip": "env", "protocol": "SSH"})
        )]),
    );
    assert_eq!(
        refused(&results[0], "Unknown"),
        "HOOKHOST_PROBE_LEVEL",
        "no PLUGIN_* variable, no cookie: {stderr}"
    );
}

#[test]
fn a_wrong_checksum_is_refused_by_the_client_before_anything_runs() {
    let Some(go) = goplugin_host() else { return };
    let filter = wasm("ipfilter-cidr");
    let (_dir, path) = config(json!([{"type": "ipfilter", "cmd": filter, "args": []}]));
    let mut launch = launch("ipfilter", true, &path, &filter);
    launch.sha256 = Some("00".repeat(32));
    let (results, _) = run_script(&go, &launch, &json!([]));
    assert_eq!(results[0]["method"], "start");
    let message = results[0]["message"].as_str().unwrap();
    assert!(message.contains("checksum"), "{message}");
}

// --- The go-plugin protocol, checked from a Rust client ---------------

mod protocol {
    use std::path::{Path, PathBuf};
    use std::process::Stdio;
    use std::time::Duration;

    use hookhost::gateway::proto::goplugin as pb;
    use hookhost_tests::guests::wasm;
    use hookhost_tests::{hookhost_bin, test_settings, write_config};
    use serde_json::json;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    use tokio::process::{Child, Command};

    const IPFILTER_COOKIE: (&str, &str) = (
        "SFTPGO_PLUGIN_IPFILTER",
        "368dbdab-4839-4bec-b75f-fc74a2d50f24",
    );

    fn filter_config() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let cmd = wasm("ipfilter-cidr");
        let path = write_config(
            dir.path(),
            &json!({"plugins": [{"type": "ipfilter", "cmd": cmd, "args": ["10.0.0.0/8"]}],
                    "hookhost": test_settings()}),
        );
        (dir, path, cmd)
    }

    /// `hookhost plugin` under a cleared environment plus `env`.
    fn spawn(config: &Path, cmd: &Path, env: &[(&str, &str)]) -> Child {
        spawn_in(Path::new("."), config, cmd, env)
    }

    /// [`spawn`] in the working directory `dir`.
    fn spawn_in(dir: &Path, config: &Path, cmd: &Path, env: &[(&str, &str)]) -> Child {
        Command::new(hookhost_bin())
            .current_dir(dir)
            .args(["plugin", "--config"])
            .arg(config)
            .arg(cmd)
            .env_clear()
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    async fn stderr_of(child: &mut Child) -> String {
        let mut text = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .await
            .unwrap();
        text
    }

    /// The handshake line's fields.
    async fn handshake(child: &mut Child) -> Vec<String> {
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .await
            .unwrap();
        line.trim_end().split('|').map(str::to_owned).collect()
    }

    /// The ipfilter plugin launched on a unix socket as SFTPGo launches it:
    /// its directories and process (kept alive by the caller) and the
    /// handshake line's fields.
    async fn launched_filter() -> ((tempfile::TempDir, tempfile::TempDir), Child, Vec<String>) {
        let (dir, config, cmd) = filter_config();
        let sockets = tempfile::tempdir().unwrap();
        let mut child = spawn(
            &config,
            &cmd,
            &[
                IPFILTER_COOKIE,
                ("PLUGIN_PROTOCOL_VERSIONS", "1"),
                ("PLUGIN_UNIX_SOCKET_DIR", sockets.path().to_str().unwrap()),
            ],
        );
        let line = handshake(&mut child).await;
        ((dir, sockets), child, line)
    }

    async fn channel(socket: String) -> tonic::transport::Channel {
        hookhost_tests::goplugin::unix_channel(socket)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn run_by_hand_it_says_it_is_a_plugin_and_exits_1() {
        let (_dir, config, cmd) = filter_config();
        let mut child = spawn(&config, &cmd, &[]);
        let stderr = stderr_of(&mut child).await;
        assert_eq!(child.wait().await.unwrap().code(), Some(1));
        assert!(
            stderr.starts_with(
                "This binary is a plugin. These are not meant to be executed directly."
            ),
            "{stderr}"
        );
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .await
            .unwrap();
        assert_eq!(out, "", "nothing on stdout");
    }

    #[tokio::test]
    async fn a_cookie_for_another_type_or_an_unknown_cmd_is_refused_with_the_reason() {
        let (_dir, config, cmd) = filter_config();
        let auth = ("SFTPGO_PLUGIN_AUTH", "d1ed507d-d2be-4a38-a460-6fe0b2cc7efc");
        let mut child = spawn(&config, &cmd, &[auth]);
        let stderr = stderr_of(&mut child).await;
        assert_eq!(child.wait().await.unwrap().code(), Some(1));
        let record: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap())
            .unwrap_or_else(|e| panic!("{e}: {stderr}"));
        assert_eq!(record["@level"], "error");
        let error = record["error"].as_str().unwrap();
        assert!(
            error.contains("launched a auth plugin (SFTPGO_PLUGIN_AUTH)")
                && error.contains("plugins[0].type is \"ipfilter\""),
            "{error}"
        );

        let mut child = spawn(&config, Path::new("/nowhere/else.wasm"), &[IPFILTER_COOKIE]);
        let stderr = stderr_of(&mut child).await;
        assert_eq!(child.wait().await.unwrap().code(), Some(1));
        assert!(
            stderr.contains("no entry of `plugins` has cmd /nowhere/else.wasm")
                && stderr.contains("ipfilter_cidr.wasm (plugins[0])"),
            "{stderr}"
        );
    }

    #[tokio::test]
    async fn a_grpc_core_client_naming_the_socket_path_as_authority_is_served() {
        // Python's grpcio (C core) sends the unix socket's path,
        // percent-encoded, as :authority, which the HTTP/2 server refused
        // (RST_STREAM PROTOCOL_ERROR) before any service saw the call.
        if !hookhost_tests::python_modules_available(
            "grpc, grpc_health",
            "pip install grpcio grpcio-health-checking",
        ) {
            return;
        }
        let (_dirs, _child, line) = launched_filter().await;
        let script = hookhost_tests::repo_root().join("tests/fixtures/grpc-core/health.py");
        for target in [format!("unix:{}", line[3]), format!("unix://{}", line[3])] {
            let out = Command::new("python3")
                .arg(&script)
                .arg(&target)
                .output()
                .await
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                "SERVING",
                "{target}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// Raw bytes as a gRPC message, both ways.
    #[derive(Default)]
    struct Raw;

    struct RawCoder;

    impl tonic::codec::Codec for Raw {
        type Encode = Vec<u8>;
        type Decode = Vec<u8>;
        type Encoder = RawCoder;
        type Decoder = RawCoder;
        fn encoder(&mut self) -> RawCoder {
            RawCoder
        }
        fn decoder(&mut self) -> RawCoder {
            RawCoder
        }
    }

    impl tonic::codec::Encoder for RawCoder {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn encode(
            &mut self,
            item: Vec<u8>,
            dst: &mut tonic::codec::EncodeBuf<'_>,
        ) -> Result<(), tonic::Status> {
            use bytes::BufMut;
            dst.put_slice(&item);
            Ok(())
        }
    }

    impl tonic::codec::Decoder for RawCoder {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn decode(
            &mut self,
            src: &mut tonic::codec::DecodeBuf<'_>,
        ) -> Result<Option<Vec<u8>>, tonic::Status> {
            use bytes::Buf;
            Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
        }
    }

    #[tokio::test]
    async fn malformed_messages_are_invalid_argument_and_silent_clients_are_closed() {
        let (_dirs, _child, line) = launched_filter().await;
        // Before: a connection that sent nothing was held for good.
        let mut silent = tokio::net::UnixStream::connect(&line[3]).await.unwrap();
        let mut grpc = tonic::client::Grpc::new(channel(line[3].clone()).await);
        grpc.ready().await.unwrap();
        // Not a CheckIPRequest: a field 1 of wire type 7 (none exists).
        let call = grpc
            .unary(
                tonic::Request::new(vec![0x0f, 0xff, 0xff]),
                "/proto.IPFilter/CheckIP".parse().unwrap(),
                Raw,
            )
            .await;
        let status = call.expect_err("not a message");
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "before: Internal ({status:?})"
        );
        let mut byte = [0u8; 1];
        let closed = tokio::time::timeout(Duration::from_secs(20), silent.read(&mut byte)).await;
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "a client silent for 10 s is closed: {closed:?}"
        );
    }

    #[tokio::test]
    async fn health_stdio_broker_and_shutdown_behave_as_go_plugin_expects() {
        let (_dir, config, cmd) = filter_config();
        let sockets = tempfile::tempdir().unwrap();
        let socket_dir = sockets.path().to_str().unwrap();
        let mut child = spawn(
            &config,
            &cmd,
            &[
                IPFILTER_COOKIE,
                ("PLUGIN_PROTOCOL_VERSIONS", "1"),
                ("PLUGIN_UNIX_SOCKET_DIR", socket_dir),
            ],
        );
        let line = handshake(&mut child).await;
        assert_eq!(line[..3], ["1", "1", "unix"]);
        assert_eq!((line[4].as_str(), line[5].as_str()), ("grpc", ""));
        let socket = line[3].clone();
        assert!(socket.starts_with(socket_dir), "{socket}");
        let channel = channel(socket.clone()).await;

        let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "plugin".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );

        let mut stdio = pb::grpc_stdio_client::GrpcStdioClient::new(channel.clone());
        let mut output = stdio.stream_stdio(()).await.unwrap().into_inner();
        let mut broker = pb::grpc_broker_client::GrpcBrokerClient::new(channel.clone());
        let (offers, inbound) = tokio::sync::mpsc::channel(1);
        let mut brokered = broker
            .start_stream(tokio_stream_from(inbound))
            .await
            .unwrap()
            .into_inner();
        offers
            .send(pb::ConnInfo {
                service_id: 1,
                network: "unix".into(),
                address: "/tmp/x".into(),
                knock: None,
            })
            .await
            .unwrap();

        // SIGINT is not for the plugin: it keeps serving.
        let pid = child.id().unwrap() as i32;
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let mut filter = hookhost::gateway::proto::sftpgo::ip_filter_client::IpFilterClient::new(
            channel.clone(),
        );
        filter
            .check_ip(hookhost::gateway::proto::sftpgo::CheckIpRequest {
                ip: "10.0.0.1".into(),
                protocol: "SSH".into(),
            })
            .await
            .unwrap();

        let mut controller = pb::grpc_controller_client::GrpcControllerClient::new(channel);
        controller.shutdown(pb::Empty {}).await.unwrap();
        // The silent streams end, the process exits 0 and removes its socket.
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            assert!(output.message().await.unwrap().is_none());
            assert!(brokered.message().await.unwrap().is_none());
        })
        .await;
        assert!(ended.is_ok(), "the streams end on shutdown");
        let exited = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        let Ok(status) = exited else {
            child.kill().await.unwrap();
            panic!(
                "still running 5 s after Shutdown:\n{}",
                stderr_of(&mut child).await
            );
        };
        assert_eq!(status.unwrap().code(), Some(0));
        assert!(!Path::new(&socket).exists());
        drop(offers);
    }

    fn tokio_stream_from<T: Send + 'static>(
        mut receiver: tokio::sync::mpsc::Receiver<T>,
    ) -> impl futures::Stream<Item = T> + Send + 'static {
        futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
    }

    #[tokio::test]
    async fn sigterm_shuts_down_cleanly() {
        let (_dir, config, cmd) = filter_config();
        // CMD as a path relative to the working directory: the same file.
        let (dir, name) = (cmd.parent().unwrap(), Path::new(cmd.file_name().unwrap()));
        let mut child = spawn_in(dir, &config, name, &[IPFILTER_COOKIE]);
        let line = handshake(&mut child).await;
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGTERM) };
        let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(0));
        assert!(!Path::new(&line[3]).exists());
        assert!(stderr_of(&mut child).await.contains("SIGTERM"));
    }

    #[tokio::test]
    async fn with_auto_mtls_a_client_without_the_certificate_is_refused() {
        use std::sync::Arc;
        use tokio::io::AsyncWriteExt;
        let (_dir, config, cmd) = filter_config();
        let client_key = rcgen::KeyPair::generate().unwrap();
        let client_cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&client_key)
            .unwrap();
        let mut child = spawn(
            &config,
            &cmd,
            &[IPFILTER_COOKIE, ("PLUGIN_CLIENT_CERT", &client_cert.pem())],
        );
        let line = handshake(&mut child).await;
        use base64::Engine as _;
        assert!(!line[5].ends_with('='), "no padding: {}", line[5]);
        let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(&line[5])
            .unwrap();

        // Trusts exactly the announced server certificate, as go-plugin does.
        let (config, seen) = hookhost_tests::tls::pinned_client_config(server_cert.clone());
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let stream = tokio::net::UnixStream::connect(&line[3]).await.unwrap();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let outcome = async {
            let mut tls = connector.connect(name, stream).await?;
            tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await?;
            tls.flush().await?;
            let mut buf = [0u8; 1];
            tls.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(())
        }
        .await;
        assert!(outcome.is_err(), "served without a client certificate");
        assert_eq!(
            seen.lock().unwrap().as_deref(),
            Some(server_cert.as_slice())
        );
        drop(child.kill().await);
    }
}
