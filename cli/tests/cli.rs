//! The `hookhost` command line: exit statuses, JSON output, errors that name
//! the field. Exec hooks only here (tests/ covers wasm hooks through the
//! same binary).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/exec")
        .join(name)
}

fn hookhost(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hookhost"))
        .args(args)
        .env("HOOKHOST_LOG", "warn")
        .output()
        .expect("run hookhost")
}

fn write(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

fn record_config(dir: &Path) -> String {
    let config = json!({"common": {"actions": {
        "execute_on": ["pre-upload", "pre-delete", "upload"], "hook": fixture("record")}}});
    write(dir, "config.json", &config)
}

#[test]
fn fire_prints_the_outcome_and_exits_by_decision() {
    let dir = tempfile::tempdir().unwrap();
    let config = record_config(dir.path());
    let target = dir.path().join("file.txt");
    let cases = [
        ("alice", "pre-upload", 0, "allow"),
        ("exit-1", "pre-upload", 1, "deny"),
        ("alice", "pre-delete", 0, "handled"),
        ("exit-1", "pre-delete", 0, "allow"),
        ("alice", "upload", 0, "allow"),
        ("exit-2", "upload", 1, "failed"),
    ];
    for (user, action, status, decision) in cases {
        let event = write(
            dir.path(),
            "event.json",
            &json!({"action": action, "username": user, "path": target, "protocol": "SFTP"}),
        );
        let out = hookhost(&["fire", "--config", &config, "--event", &event]);
        assert_eq!(out.status.code(), Some(status), "{user} {action}: {out:?}");
        let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        assert_eq!(printed["decision"], decision, "{printed}");
        assert_eq!(printed["action"], action);
        assert_eq!(printed["hooks"][0]["hook"], "record");
        assert_eq!(printed["hooks"][0]["kind"], "exec");
    }
}

#[test]
fn fire_runs_provider_events() {
    let dir = tempfile::tempdir().unwrap();
    // SFTPGo 2.1's provider hook: no execute_for yet, users only.
    let config = json!({"data_provider": {"actions": {"execute_on": ["add"], "hook": fixture("record")}},
        "hookhost": {"sftpgo_version": "2.1"}});
    let config = write(dir.path(), "config.json", &config);
    let user = write(
        dir.path(),
        "user.json",
        &json!({"id": 1, "username": "erin", "home_dir": dir.path()}),
    );
    let out = hookhost(&[
        "fire",
        "--config",
        &config,
        "--event",
        &user,
        "--provider-action",
        "add",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let argv = std::fs::read_to_string(dir.path().join("provider.argv")).unwrap();
    assert!(argv.starts_with("add\nerin\n1\n"), "{argv}");
}

#[test]
fn bad_config_exits_2_naming_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "bad.json",
        &json!({"common": {"actions": {"execute_on": ["upload"], "hook": "relative/hook"}}}),
    );
    for args in [
        vec!["check", "--config", &config],
        vec!["fire", "--config", &config, "--event", &config],
    ] {
        let out = hookhost(&args);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{config}: common.actions.hook")),
            "{stderr}"
        );
        assert!(stderr.contains("must be an absolute path"), "{stderr}");
    }
}

#[test]
fn bad_event_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = record_config(dir.path());
    let event = write(
        dir.path(),
        "event.json",
        &json!({"action": "upload", "username": "u", "protocol": "SFTP", "file_size": "big"}),
    );
    let out = hookhost(&["fire", "--config", &config, "--event", &event]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("event.json: file_size: invalid type"),
        "{stderr}"
    );
}

#[test]
fn check_reports_the_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let config = record_config(dir.path());
    let out = hookhost(&["check", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ok, hooks: 1 exec, 0 http, 0 wasm"),
        "{stdout}"
    );
}
