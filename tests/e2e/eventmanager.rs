//! SFTPGo's Event Manager calling hookhost: the action `hookhost sftpgo
//! event-action` prints, carried out as each SFTPGo release carries it out
//! (`tests/fixtures/sftpgo-rule`, in Go: that release's placeholders and
//! escaping, Go's own JSON and URL encoding), against `hookhost serve` and
//! `hookhost exec`. The requests are golden files
//! (`tests/fixtures/sftpgo-rule/golden/<release>/<case>.json`; set
//! HOOKHOST_BLESS=1 to rewrite them after a deliberate change).

use std::path::{Path, PathBuf};

use hookhost_tests::guests::wasm;
use hookhost_tests::recorder::{Recorded, Recorder};
use hookhost_tests::server::Server;
use hookhost_tests::{hookhost_bin, lines, repo_root, sftpgo_rule, test_settings, write_config};
use serde_json::{Value, json};

/// The releases whose actions are checked: the query form (2.4, 2.5.0),
/// the escaped-string object (2.5.1-2.5.6), the raw object (2.6), the
/// dotted placeholders (2.7).
const RELEASES: [&str; 5] = ["2.4.6", "2.5.0", "2.5.6", "2.6.6", "2.7.5"];

/// A name with what breaks naive templates: a quote, a newline, HTML
/// characters, non-ASCII.
const NAME: &str = "al\"ice\n<é>&";
const TIMESTAMP: i64 = 1_700_000_000_123_456_789;

/// The events, as SFTPGo's `EventParams` hold them.
fn cases() -> Vec<(&'static str, Value)> {
    vec![
        (
            "upload",
            json!({"name": NAME, "event": "upload", "status": 1,
                "virtual_path": "/dir/ré port \"q\".txt", "fs_path": "/srv/x/dir/ré port \"q\".txt",
                "object_name": "ré port \"q\".txt", "extension": ".txt", "file_size": 42, "elapsed": 7,
                "protocol": "SFTP", "ip": "10.0.0.1", "role": "st\"aff", "email": "al@example.com",
                "timestamp": TIMESTAMP, "uid": "d4hc8j3j4b3c0", "metadata": {"k": "v<"}}),
        ),
        (
            "pre-upload-exe",
            json!({"name": "bob", "event": "pre-upload", "status": 1, "virtual_path": "/setup.exe",
                "fs_path": "/srv/bob/setup.exe", "object_name": "setup.exe", "extension": ".exe",
                "protocol": "SFTP", "ip": "10.0.0.2", "timestamp": TIMESTAMP}),
        ),
        (
            "pre-upload-txt",
            json!({"name": "bob", "event": "pre-upload", "status": 1, "virtual_path": "/a.txt",
                "fs_path": "/srv/bob/a.txt", "object_name": "a.txt", "extension": ".txt",
                "protocol": "SFTP", "ip": "10.0.0.2", "timestamp": TIMESTAMP}),
        ),
        (
            "provider-add",
            json!({"name": "admin", "event": "add", "status": 1, "object_type": "user",
                "object_name": "bob\"s", "ip": "10.0.0.9", "role": "", "timestamp": TIMESTAMP,
                "object": {"id": 3, "username": "bob\"s", "password": "$2a$10$secret", "status": 1,
                    "home_dir": "/srv/bob"}}),
        ),
        (
            "ip-blocked",
            json!({"event": "IP Blocked", "status": 1, "ip": "203.0.113.7", "timestamp": TIMESTAMP}),
        ),
        (
            "certificate",
            json!({"event": "Certificate renewal", "name": "a.example.com,b.example.com",
                "status": 2, "errors": ["acme: \"challenge\" failed\nretry <later>"], "timestamp": TIMESTAMP}),
        ),
        (
            "schedule",
            json!({"event": "Schedule", "name": "nightly", "status": 1, "timestamp": TIMESTAMP}),
        ),
        ("on-demand", json!({"status": 1, "zero_time": true})),
        (
            "idp-login",
            json!({"event": "IDP login user", "name": "olga", "status": 1, "email": "o\"lga@example.com",
                "ip": "10.0.0.5", "protocol": "OIDC", "timestamp": TIMESTAMP}),
        ),
    ]
}

/// Whether a release fires the case (pre-* rules came with 2.5).
fn fired_by(release: &str, case: &str) -> bool {
    !(case.starts_with("pre-") && (release.starts_with("2.4") || release == "2.5.0"))
}

/// `hookhost sftpgo event-action` for `release`, to `url` or `command`.
fn action(release: &str, args: &[&str]) -> Value {
    let out = std::process::Command::new(hookhost_bin())
        .args(["sftpgo", "event-action", "--sftpgo-version", release])
        .args(args)
        .env_remove("HOOKHOST_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn golden(release: &str, case: &str, kind: &str) -> PathBuf {
    repo_root()
        .join("tests/fixtures/sftpgo-rule/golden")
        .join(release)
        .join(format!("{case}.{kind}.json"))
}

/// `request` matches its golden file (or, blessing, becomes it).
fn check_golden(path: &Path, request: &Value) {
    let text = serde_json::to_string_pretty(request).unwrap() + "\n";
    if std::env::var("HOOKHOST_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (HOOKHOST_BLESS=1 writes it)", path.display()));
    assert_eq!(text, want, "{} differs", path.display());
}

/// The configuration: every kind of hook records what hookhost hands it,
/// through a URL; `deny-exe` refuses `.exe` pre-uploads.
fn config(dir: &Path, recorder: &str, release: &str) -> PathBuf {
    let mut settings = test_settings();
    settings["sftpgo_version"] = json!(release);
    write_config(
        dir,
        &json!({
            "common": {"actions": {"hooks": [
                    {"name": "fs", "hook": format!("{recorder}/fs"), "execute_on": ["upload"]},
                    {"name": "deny-exe", "hook": wasm("deny-exe"), "execute_on": ["pre-upload"],
                     "grants": {"args": ["exe"]}}]},
                "event_manager": {"hooks": [{"name": "rules", "hook": format!("{recorder}/rule")}]}},
            "data_provider": {"actions": {"hooks": [{"name": "provider", "hook": format!("{recorder}/provider"),
                "execute_on": ["add"], "execute_for": ["user"]}]}},
            "http": {"retry_max": 0},
            "hookhost": settings,
        }),
    )
}

/// What hookhost handed the hooks for `case`, checked.
async fn check_delivered(recorder: &Recorder, release: &str, case: &str, params: &Value) {
    let at_least = |v: &str| {
        hookhost::event::Contract::of(release.parse().unwrap()).version() >= v.parse().unwrap()
    };
    let next = || async { recorder.next().await };
    match case {
        "upload" => {
            let got: Recorded = next().await;
            assert_eq!(got.uri.path(), "/fs");
            let body = got.json();
            assert_eq!(body["action"], "upload");
            assert_eq!(body["username"], NAME, "{release}: {body}");
            assert_eq!(body["virtual_path"], params["virtual_path"], "{release}");
            assert_eq!(body["path"], params["fs_path"], "{release}");
            assert_eq!(
                (body["file_size"].as_i64(), body["status"].as_i64()),
                (Some(42), Some(1))
            );
            assert_eq!(body["ip"], "10.0.0.1");
            assert_eq!(body["timestamp"].as_i64(), Some(TIMESTAMP));
            if at_least("2.5.0") {
                assert_eq!(
                    (&body["role"], body["elapsed"].as_i64()),
                    (&json!("st\"aff"), Some(7))
                );
            }
            if at_least("2.6.0") {
                assert_eq!(body["metadata"], json!({"k": "v<"}), "{release}");
            }
        }
        "provider-add" => {
            let got = next().await;
            assert_eq!(got.uri.path(), "/provider");
            let query: std::collections::HashMap<String, String> =
                url_query(got.uri.query().unwrap_or(""));
            assert_eq!(query["action"], "add");
            assert_eq!(query["object_name"], "bob\"s", "{release}");
            assert_eq!(query["username"], "admin");
            let object = got.json();
            assert_eq!(object["username"], "bob\"s", "{release}: {object}");
            assert!(object.get("password").is_none(), "secrets hidden: {object}");
        }
        "pre-upload-exe" | "pre-upload-txt" => {}
        _ => {
            let got = next().await;
            assert_eq!(got.uri.path(), "/rule", "{case}");
            let body = got.json();
            let event = params["event"].as_str().unwrap_or("");
            assert_eq!(body["event"], event, "{release} {case}");
            match case {
                "ip-blocked" => assert_eq!(body["ip"], "203.0.113.7"),
                "certificate" => {
                    assert_eq!(body["name"], "a.example.com,b.example.com");
                    assert_eq!(
                        body["error"], "acme: \"challenge\" failed\nretry <later>",
                        "{release}"
                    );
                    assert_eq!(body["status"], 2);
                }
                "schedule" => assert_eq!(body["name"], "nightly"),
                "idp-login" => {
                    assert_eq!(body["name"], "olga");
                    if at_least("2.5.2") {
                        assert_eq!(body["email"], "o\"lga@example.com", "{release}");
                    }
                }
                _ => {}
            }
        }
    }
}

fn url_query(query: &str) -> std::collections::HashMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn each_releases_http_action_reaches_the_same_hooks_as_the_legacy_hooks() {
    let Some(go) = sftpgo_rule::program() else {
        return;
    };
    for release in RELEASES {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::start(&[], 200).await;
        let server = Server::start(&config(dir.path(), &recorder.url, release), &[], &[]).await;
        // The golden requests name a fixed URL; the one sent, this server.
        let printed = action(release, &["--url", "http://hookhost:8765"]);
        let mut live = printed.clone();
        live["options"]["http_config"]["endpoint"] = json!(format!("{}/v1/events", server.url));
        for (case, params) in cases() {
            if !fired_by(release, case) {
                continue;
            }
            let request = sftpgo_rule::run(
                &go,
                &json!({"version": release, "action": printed, "params": params, "send": false}),
            )
            .await;
            check_golden(&golden(release, case, "http"), &request);
            let sent = sftpgo_rule::run(
                &go,
                &json!({"version": release, "action": live, "params": params, "send": true}),
            )
            .await;
            let want_success = case != "pre-upload-exe";
            assert_eq!(
                sent["success"],
                json!(want_success),
                "{release} {case}: SFTPGo reads {sent}"
            );
            check_delivered(&recorder, release, case, &params).await;
        }
        assert_eq!(
            recorder.pending().await,
            0,
            "{release}: nothing more was delivered"
        );
    }
}

#[tokio::test]
async fn the_command_action_runs_hookhost_exec_with_the_same_outcome() {
    let Some(go) = sftpgo_rule::program() else {
        return;
    };
    let release = "2.7.5";
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::start(&[], 200).await;
    let cfg = config(dir.path(), &recorder.url, release);
    // SFTPGo runs the command with the action's variables and nothing else.
    let link = dir.path().join("hookhost-exec");
    std::os::unix::fs::symlink(hookhost_bin(), &link).unwrap();
    let link_text = link.display().to_string();
    let cfg_text = cfg.display().to_string();
    let printed = action(release, &["--command", &link_text, "--config", &cfg_text]);
    for (case, params) in cases() {
        let ran = sftpgo_rule::run(
            &go,
            &json!({"version": release, "action": printed, "params": params, "send": true}),
        )
        .await;
        assert_eq!(
            ran["success"],
            json!(case != "pre-upload-exe"),
            "{case}: {}",
            ran["stderr"]
        );
        let mut shown = ran.clone();
        for key in ["args", "cmd", "stderr", "exit_code", "success"] {
            shown.as_object_mut().unwrap().remove(key);
        }
        check_golden(&golden(release, case, "command"), &shown);
        check_delivered(&recorder, release, case, &params).await;
    }
}

#[tokio::test]
async fn a_component_serves_the_triggers_legacy_hooks_never_had() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &json!({"common": {"event_manager": {"hooks": [
            {"name": "probe", "hook": wasm("login-probe"), "execute_on": ["ip-blocked", "idp-login", "on-demand"],
             "grants": {"dirs": [{"host": dir.path(), "guest": "/out", "writable": true}]}}]}},
            "hookhost": test_settings()}),
    );
    let server = Server::start(&cfg, &[], &[]).await;
    let post = |body: Value| server.post("/v1/events", body.to_string());
    let (status, body) = post(
        json!({"event": "IP Blocked", "status": 1, "ip": "203.0.113.7",
        "timestamp": TIMESTAMP, "object_data": {}}),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"{"decision":"allow"}"#));
    let (status, _) = post(
        json!({"event": "IDP login admin", "name": "root", "ip": "10.0.0.5",
        "protocol": "OIDC", "status": 1, "timestamp": TIMESTAMP}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) =
        post(json!({"event": "", "status": 1, "timestamp": -6795364578871345152i64})).await;
    assert_eq!(status, 200, "on demand");
    // A trigger no hook runs on: nothing to do.
    let (status, _) = post(json!({"event": "Schedule", "name": "nightly", "status": 1})).await;
    assert_eq!(status, 200);
    // The component refuses a user named `fail`: a failure SFTPGo reads as
    // the action's (it runs the rule's failure actions).
    let (status, _) = post(json!({"event": "IDP login user", "name": "fail", "status": 1})).await;
    assert_eq!(status, 424);
    let records: Vec<Value> = lines(dir.path().join("event_rule.jsonl"))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        records,
        [
            json!({"event": "ip-blocked 203.0.113.7", "timestamp": TIMESTAMP}),
            json!({"event": "idp-login admin root 10.0.0.5 OIDC", "timestamp": TIMESTAMP}),
            json!({"event": "on-demand", "timestamp": 0}),
            json!({"event": "idp-login user fail  ", "timestamp": 0}),
        ]
    );
    // Bad input: a clear 400 naming the field.
    let (status, body) = post(json!({"event": "teleport"})).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("event") && body.contains("teleport"),
        "{body}"
    );
    let (status, body) = post(json!({"event": "upload", "name": "u", "status": 9})).await;
    assert_eq!(status, 400);
    assert!(body.contains("status"), "{body}");
}

#[test]
fn the_rules_cover_the_events_a_configuration_has_hooks_for() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &json!({
            "common": {"actions": {"execute_sync": ["upload"], "hooks": [
                {"hook": "/bin/true", "execute_on": ["pre-upload", "pre-delete", "upload", "delete", "copy"]}]},
                "event_manager": {"hooks": [{"hook": "/bin/true", "execute_on": ["ip-blocked", "schedule", "idp-login"]}]}},
            "data_provider": {"actions": {"hooks": [
                {"hook": "/bin/true", "execute_on": ["add", "delete"], "execute_for": ["user", "group"]}]}},
            "hookhost": test_settings(),
        }),
    );
    let run = |args: &[&str]| {
        let out = std::process::Command::new(hookhost_bin())
            .args(["sftpgo", "event-rule", "--config"])
            .arg(&cfg)
            .args(args)
            .env_remove("HOOKHOST_TOKEN")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (rules, notes) = run(&["--sftpgo-version", "2.7.5", "--schedule", "0 * * *"]);
    let by_name = |name: &str| {
        rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {rules}"))
            .clone()
    };
    // SFTPGo takes execute_sync only for upload and pre-*, and every pre-*
    // rule needs a sync action: they are one rule, the rest another.
    let sync = by_name("hookhost-fs-sync");
    assert_eq!(sync["trigger"], 1);
    assert_eq!(
        sync["conditions"]["fs_events"],
        json!(["upload", "pre-upload", "pre-delete"])
    );
    assert_eq!(sync["actions"][0]["relation_options"]["execute_sync"], true);
    assert_eq!(sync["actions"][0]["name"], "hookhost");
    assert_eq!(sync["status"], 1, "active");
    let fs = by_name("hookhost-fs");
    assert_eq!(fs["conditions"]["fs_events"], json!(["delete", "copy"]));
    assert_eq!(fs["actions"][0]["relation_options"]["execute_sync"], false);
    let provider = by_name("hookhost-provider");
    assert_eq!(provider["trigger"], 2);
    assert_eq!(
        provider["conditions"]["provider_events"],
        json!(["add", "delete"])
    );
    assert_eq!(
        provider["conditions"]["options"]["provider_objects"],
        json!(["group", "user"])
    );
    assert_eq!(by_name("hookhost-ip-blocked")["trigger"], 4);
    assert_eq!(by_name("hookhost-idp-login")["trigger"], 7);
    assert_eq!(
        by_name("hookhost-schedule")["conditions"]["schedules"],
        json!([{"hour": "0", "day_of_week": "*", "day_of_month": "*", "month": "*"}])
    );
    assert!(notes.is_empty(), "{notes}");

    // SFTPGo 2.4: no pre-* rules (they came with 2.5), no copy events.
    let (rules, notes) = run(&["--sftpgo-version", "2.4"]);
    let names: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"hookhost-fs-sync") && names.contains(&"hookhost-fs"),
        "{names:?}"
    );
    assert!(
        notes.contains("no rules for pre-upload") && notes.contains("never fires copy"),
        "{notes}"
    );
    assert!(notes.contains("--schedule"), "{notes}");

    // One file for loaddata: the action and the rules.
    let (backup, _) = run(&["--loaddata", "--url", "https://hookhost.internal:8765"]);
    assert_eq!(backup["version"], 17);
    assert_eq!(backup["event_actions"][0]["name"], "hookhost");
    assert_eq!(
        backup["event_actions"][0]["options"]["http_config"]["endpoint"],
        "https://hookhost.internal:8765/v1/events"
    );
    assert!(backup["event_rules"].as_array().unwrap().len() >= 5);
}

#[test]
fn the_action_carries_serves_token_and_refuses_what_sftpgo_would() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let token_text = token.display().to_string();
    let printed = action(
        "2.7.5",
        &["--url", "http://h:1/x", "--token-file", &token_text],
    );
    let http = &printed["options"]["http_config"];
    assert_eq!(
        http["endpoint"], "http://h:1/x",
        "a URL with a path is kept"
    );
    assert!(
        http["headers"]
            .as_array()
            .unwrap()
            .contains(&json!({"key": "Authorization", "value": "Bearer s3cret"})),
        "{http}"
    );
    assert_eq!(http["timeout"], 20);
    let out = std::process::Command::new(hookhost_bin())
        .args([
            "sftpgo",
            "event-action",
            "--url",
            "ftp://h/",
            "--sftpgo-version",
            "2.7",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http:// or https://"));
    let out = std::process::Command::new(hookhost_bin())
        .args([
            "sftpgo",
            "event-action",
            "--url",
            "http://h/",
            "--sftpgo-version",
            "2.3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Event Manager"));
}
