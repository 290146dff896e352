//! hookhost in front of today's SFTPGo: `serve` and `exec` driven with
//! today's requests, answering so that SFTPGo reads them right; one
//! `sftpgo.json` for both; `hookhost exec` in SFTPGo's cleared environment.

use std::path::Path;
use std::time::Duration;

use hookhost_tests::guests::wasm;
use hookhost_tests::server::Server;
use hookhost_tests::{exec_fixture, hookhost_bin, lines, test_settings, write_config};
use serde_json::{Value, json};

/// A configuration with `hooks` in `common.actions` and a `command` section
/// that gives the record-all program a RECORD_DIR.
fn config(dir: &Path, hooks: Value) -> Value {
    json!({
        "common": {"actions": {"execute_on": [], "hook": "", "hooks": hooks}},
        "command": {"env": [format!("RECORD_DIR={}", dir.display())]},
        "hookhost": test_settings(),
    })
}

fn record_all(on: &[&str]) -> Value {
    json!({"name": "record-all", "hook": exec_fixture("record-all"), "execute_on": on})
}

/// An fs event as today's SFTPGo POSTs it.
fn todays_body(action: &str, user: &str, path: &str) -> String {
    json!({"action": action, "username": user, "path": path, "virtual_path": "/f",
        "fs_provider": 0, "status": 1, "protocol": "SFTP", "ip": "10.0.0.1",
        "session_id": "SFTP_x", "timestamp": 1_700_000_000_000_000_000i64})
    .to_string()
}

#[tokio::test]
async fn todays_pre_delete_is_allowed_with_200_and_refused_with_403() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = json!([
        record_all(&["pre-delete"]),
        {"name": "deny-exe", "hook": wasm("deny-exe"), "execute_on": ["pre-delete"], "grants": {"args": ["exe"]}},
    ]);
    let mut cfg = config(dir.path(), hooks);
    cfg["hookhost"]["sftpgo_version"] = json!("2.7");
    let cfg = write_config(dir.path(), &cfg);
    let server = Server::start(&cfg, &[], &[]).await;
    let (status, body) = server
        .post(
            "/v1/actions/fs",
            todays_body("pre-delete", "alice", "/srv/a.txt"),
        )
        .await;
    assert_eq!(status, 200, "allowed: SFTPGo deletes the file ({body})");
    assert_eq!(
        lines(dir.path().join("pre-delete.argv")),
        Vec::<String>::new(),
        "no argv from today's SFTPGo"
    );
    let (status, body) = server
        .post(
            "/v1/actions/fs",
            todays_body("pre-delete", "exit-1", "/srv/a.txt"),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("record-all: exit status 1"), "{body}");
    let (status, body) = server
        .post(
            "/v1/actions/fs",
            todays_body("pre-delete", "alice", "/srv/a.exe"),
        )
        .await;
    assert_eq!(status, 403, "a wasm deny refuses the delete ({body})");
}

#[tokio::test]
async fn a_wasm_handled_pre_delete_is_allowed_and_skips_later_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = json!([
        {"name": "mover", "hook": wasm("probe"), "execute_on": ["pre-delete"], "grants": {"args": ["handled"]}},
        record_all(&["pre-delete"]),
    ]);
    let cfg = write_config(dir.path(), &config(dir.path(), hooks));
    let server = Server::start(&cfg, &[], &[]).await;
    let (status, body) = server
        .post(
            "/v1/actions/fs",
            todays_body("pre-delete", "exit-1", "/srv/a.txt"),
        )
        .await;
    assert_eq!((status, body.as_str()), (200, r#"{"decision":"handled"}"#));
    assert!(!dir.path().join("pre-delete.argv").exists());
}

#[tokio::test]
async fn first_upload_first_download_and_copy_are_served_and_executed() {
    let dir = tempfile::tempdir().unwrap();
    let events = ["first-upload", "first-download", "copy", "mkdir", "rmdir"];
    let cfg = write_config(
        dir.path(),
        &config(dir.path(), json!([record_all(&events)])),
    );
    let mut server = Server::start(&cfg, &[], &[]).await;
    for action in events {
        let (status, body) = server
            .post("/v1/actions/fs", todays_body(action, "alice", "/srv/f"))
            .await;
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"decision":"queued"}"#),
            "{action}"
        );
    }
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
    for action in events {
        let env = lines(dir.path().join(format!("{action}.env")));
        assert!(
            env.contains(&format!("SFTPGO_ACTION={action}")),
            "{action}: {env:?}"
        );
    }
    // hookhost exec, as SFTPGo runs it for a copy.
    let out = std::process::Command::new(hookhost_bin())
        .args(["exec", "--config"])
        .arg(&cfg)
        .env_clear()
        .envs([
            ("SFTPGO_ACTION", "copy"),
            ("SFTPGO_ACTION_USERNAME", "alice"),
            ("SFTPGO_ACTION_PATH", "/srv/f"),
            ("SFTPGO_ACTION_TARGET", "/srv/g"),
            ("SFTPGO_ACTION_STATUS", "1"),
            ("SFTPGO_ACTION_TIMESTAMP", "1700000000000000000"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lines(dir.path().join("copy.env")).contains(&"SFTPGO_ACTION_TARGET=/srv/g".to_owned()));
}

#[tokio::test]
async fn a_failing_synchronous_upload_is_answered_as_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), json!([record_all(&["upload"])]));
    cfg["common"]["actions"]["execute_sync"] = json!(["upload"]);
    let cfg = write_config(dir.path(), &cfg);
    let server = Server::start(&cfg, &[], &[]).await;
    let (status, body) = server
        .post("/v1/actions/fs", todays_body("upload", "exit-3", "/srv/f"))
        .await;
    // Not 200: SFTPGo 2.4+ then removes the uploaded file.
    assert_eq!(status, 424, "{body}");
    let (status, _) = server
        .post("/v1/actions/fs", todays_body("upload", "alice", "/srv/f"))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn programs_behind_serve_never_see_hookhosts_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), json!([record_all(&["upload"])]));
    cfg["common"]["actions"]["execute_sync"] = json!(["upload"]);
    let cfg = write_config(dir.path(), &cfg);
    let server = Server::start(
        &cfg,
        &[],
        &[("HOOKHOST_TOKEN", "s3cret"), ("SITE_VAR", "kept")],
    )
    .await;
    let post = |body: String| {
        server
            .client
            .post(format!("{}/v1/actions/fs", server.url))
            .bearer_auth("s3cret")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // Today's SFTPGo: a cleared environment, the command section's only.
    let response = post(todays_body("upload", "alice", "/srv/f"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let env = lines(dir.path().join("upload.env"));
    assert!(
        env.iter()
            .all(|l| l.starts_with("SFTPGO_") || l.starts_with("RECORD_DIR=")),
        "{env:?}"
    );
    // The reference: hookhost's environment is inherited, but not its token.
    let reference = json!({"action": "upload", "username": "alice",
        "path": dir.path().join("f"), "fs_provider": 0, "status": 1, "protocol": "SFTP"});
    let response = post(reference.to_string()).await.unwrap();
    assert_eq!(response.status(), 200);
    let env = lines(dir.path().join("upload.env"));
    assert!(env.contains(&"SITE_VAR=kept".to_owned()), "{env:?}");
    assert!(!env.iter().any(|l| l.contains("s3cret")), "{env:?}");
}

#[tokio::test]
async fn provider_requests_in_todays_form_reach_programs_in_todays_form() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = json!({
        "data_provider": {"actions": {"execute_on": ["update"], "execute_for": ["user"],
            "hook": exec_fixture("record-all")}},
        "command": {"env": [format!("RECORD_DIR={}", dir.path().display())]},
        "hookhost": test_settings(),
    });
    let cfg = write_config(dir.path(), &cfg);
    let mut server = Server::start(&cfg, &[], &[]).await;
    let object = r#"{"id":3,"status":1,"username":"bob","email":"b@example.com"}"#;
    let (status, _) = server
        .post(
            "/v1/actions/provider?action=update&ip=10.0.0.9&object_name=bob&object_type=user&role=ops&timestamp=1700000000123456789&username=admin",
            object,
        )
        .await;
    assert_eq!(status, 200);
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
    let env = lines(dir.path().join("update.env"));
    for expected in [
        "SFTPGO_PROVIDER_ACTION=update".to_owned(),
        "SFTPGO_PROVIDER_USERNAME=admin".to_owned(),
        "SFTPGO_PROVIDER_IP=10.0.0.9".to_owned(),
        "SFTPGO_PROVIDER_ROLE=ops".to_owned(),
        "SFTPGO_PROVIDER_TIMESTAMP=1700000000123".to_owned(),
        format!("SFTPGO_PROVIDER_OBJECT={object}"),
    ] {
        assert!(env.contains(&expected), "{expected} missing from {env:?}");
    }
}

#[tokio::test]
async fn one_sftpgo_json_for_sftpgo_and_hookhost_cannot_loop() {
    let dir = tempfile::tempdir().unwrap();
    let port = Server::free_port();
    let me = format!("http://127.0.0.1:{port}");
    // SFTPGo's keys point at hookhost; hookhost's own hooks are the `hooks`.
    let cfg = json!({
        "common": {"actions": {"execute_on": ["pre-upload", "upload"], "execute_sync": ["upload"],
            "hook": format!("{me}/v1/actions/fs"),
            "hooks": [{"name": "deny-exe", "hook": wasm("deny-exe"), "execute_on": ["pre-upload"], "grants": {"args": ["exe"]}}]}},
        "data_provider": {"actions": {"execute_on": ["add"], "execute_for": ["user"],
            "hook": format!("{me}/v1/actions/provider")}},
        "hookhost": test_settings(),
    });
    let cfg = write_config(dir.path(), &cfg);
    let mut server = Server::start_on(&format!("127.0.0.1:{port}"), &cfg, &[], &[]).await;
    let skipped = server.wait_log("own listener").await;
    assert!(skipped.contains("common.actions.hook"), "{skipped}");
    let request = |body: String| {
        let request = server
            .client
            .post(format!("{me}/v1/actions/fs"))
            .header("content-type", "application/json")
            .body(body)
            .timeout(Duration::from_secs(10))
            .send();
        async { request.await.expect("answered, not hung").status().as_u16() }
    };
    assert_eq!(
        request(todays_body("pre-upload", "alice", "/srv/a.exe")).await,
        403
    );
    assert_eq!(
        request(todays_body("pre-upload", "alice", "/srv/a.txt")).await,
        200
    );
    assert_eq!(
        request(todays_body("upload", "alice", "/srv/a.txt")).await,
        200
    );

    // hookhost exec: SFTPGo's `hook` is the hookhost-exec link itself.
    let link = dir.path().join("hookhost-exec");
    std::os::unix::fs::symlink(hookhost_bin(), &link).unwrap();
    let mut file_cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    file_cfg["common"]["actions"]["hook"] = json!(link);
    let cfg = write_config(dir.path(), &file_cfg);
    for (path, code) in [("/srv/a.exe", 1), ("/srv/a.txt", 0)] {
        let out = std::process::Command::new(&link)
            .args(["--config".as_ref(), cfg.as_os_str()])
            .env_clear()
            .envs([
                ("SFTPGO_ACTION", "pre-upload"),
                ("SFTPGO_ACTION_USERNAME", "alice"),
                ("SFTPGO_ACTION_PATH", path),
                ("SFTPGO_ACTION_TIMESTAMP", "1700000000000000000"),
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{path}: {stderr}");
        assert!(
            stderr.contains("common.actions.hook") && stderr.contains("own program"),
            "{stderr}"
        );
    }
}

#[test]
fn exec_in_a_cleared_environment_finds_its_config_and_uses_the_compile_cache() {
    let dir = tempfile::tempdir().unwrap();
    // No cache_dir: the default must work without HOME.
    let cfg = json!({
        "common": {"actions": {"hooks": [{"name": "deny-exe", "hook": wasm("deny-exe"),
            "execute_on": ["pre-upload"], "grants": {"args": ["exe"]}}]}},
    });
    let cfg = write_config(dir.path(), &cfg);
    let run = |path: &str| {
        // What SFTPGo 2.4+ gives a program: its command args, command.env
        // (here only a log level) and its own variables; nothing else.
        std::process::Command::new(hookhost_bin())
            .args(["exec", "--config"])
            .arg(&cfg)
            .env_clear()
            .envs([
                ("HOOKHOST_LOG", "hookhost=debug"),
                ("SFTPGO_ACTION", "pre-upload"),
                ("SFTPGO_ACTION_USERNAME", "alice"),
                ("SFTPGO_ACTION_PATH", path),
                ("SFTPGO_ACTION_TIMESTAMP", "1700000000000000000"),
            ])
            .output()
            .unwrap()
    };
    let first = run("/srv/a.exe");
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = run("/srv/a.txt");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("loaded from the compile cache") && !stderr.contains("component compiled"),
        "the second event must not compile: {stderr}"
    );
}

#[tokio::test]
async fn a_request_contradicting_a_pinned_version_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), json!([]));
    cfg["hookhost"]["sftpgo_version"] = json!("2.1");
    let cfg = write_config(dir.path(), &cfg);
    let mut server = Server::start(&cfg, &[], &[]).await;
    server
        .post("/v1/actions/fs", todays_body("upload", "alice", "/f"))
        .await;
    let line = server.wait_log("contradicts the pinned").await;
    assert!(line.contains("2.1.0"), "{line}");
}

#[test]
fn check_says_which_contract_is_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), json!([record_all(&["copy", "upload"])]));
    cfg["hookhost"]["sftpgo_version"] = json!("2.4");
    let cfg = write_config(dir.path(), &cfg);
    let out = std::process::Command::new(hookhost_bin())
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("sftpgo_version: 2.4.0 (pinned"), "{stdout}");
    assert!(stderr.contains("SFTPGo 2.4.0 never fires copy"), "{stderr}");
}

/// `hookhost exec` as SFTPGo runs a program: no argv of SFTPGo's, a cleared
/// environment holding `vars` and `RECORD_DIR` (its `command.env`).
fn exec_env_i(cfg: &Path, dir: &Path, vars: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(hookhost_bin())
        .args(["exec", "--config"])
        .arg(cfg)
        .env_clear()
        .env("RECORD_DIR", dir)
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn exec_as_the_provider_program_of_sftpgo_2_2_and_later_runs_the_provider_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = json!({
        "data_provider": {"actions": {"hooks": [{"name": "record-all", "hook": exec_fixture("record-all"),
            "execute_on": ["add"], "execute_for": ["user"]}]}},
        "common": {"startup_hooks": [{"hook": exec_fixture("login-record")}]},
        "command": {"env": [format!("RECORD_DIR={}", dir.path().display())]},
        "hookhost": test_settings(),
    });
    let cfg = write_config(dir.path(), &cfg);
    // SFTPGo 2.7.5's variables for a provider program, and nothing else.
    let out = exec_env_i(
        &cfg,
        dir.path(),
        &[
            ("SFTPGO_PROVIDER_ACTION", "add"),
            ("SFTPGO_PROVIDER_OBJECT_TYPE", "user"),
            ("SFTPGO_PROVIDER_OBJECT_NAME", "alice"),
            ("SFTPGO_PROVIDER_USERNAME", "admin"),
            ("SFTPGO_PROVIDER_IP", "10.0.0.1"),
            ("SFTPGO_PROVIDER_ROLE", ""),
            ("SFTPGO_PROVIDER_TIMESTAMP", "1700000000000"),
            (
                "SFTPGO_PROVIDER_OBJECT",
                r#"{"id":1,"username":"alice","status":1}"#,
            ),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = lines(dir.path().join("add.env"));
    assert!(
        env.contains(&"SFTPGO_PROVIDER_OBJECT_NAME=alice".to_owned()),
        "the provider hook ran: {env:?}"
    );
    assert!(
        !dir.path().join("startup.env").exists(),
        "the startup hooks must not run"
    );
}

#[test]
fn exec_as_the_data_retention_program_of_sftpgo_2_2_to_2_6_runs_its_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = json!({
        "common": {"data_retention_hooks": [{"hook": exec_fixture("login-record")}],
            "startup_hooks": [{"hook": exec_fixture("record-all")}]},
        "command": {"env": [format!("RECORD_DIR={}", dir.path().display())]},
        "hookhost": test_settings(),
    });
    let cfg = write_config(dir.path(), &cfg);
    let report = r#"{"details":[{"path":"/","retention":24,"deleted_files":2,"deleted_size":10,"elapsed":1,"info":"","error":""}],"elapsed":3,"start_time":1700000000000,"status":1,"total_deleted_files":2,"total_deleted_size":10,"username":"bob"}"#;
    let out = exec_env_i(
        &cfg,
        dir.path(),
        &[("SFTPGO_DATA_RETENTION_RESULT", report)],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = lines(dir.path().join("data_retention.env"));
    assert!(
        env.contains(&format!("SFTPGO_DATA_RETENTION_RESULT={report}")),
        "the report reaches the hook unchanged: {env:?}"
    );
    assert!(!dir.path().join(".env").exists(), "startup must not run");
    // A failing hook: SFTPGo logs the program's failure.
    std::fs::write(dir.path().join("data_retention.exit"), "3").unwrap();
    let out = exec_env_i(
        &cfg,
        dir.path(),
        &[("SFTPGO_DATA_RETENTION_RESULT", report)],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn exec_refuses_a_path_that_is_not_utf8_instead_of_reading_it_as_empty() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let cfg = json!({
        "common": {"actions": {"hooks": [{"name": "deny-exe", "hook": wasm("deny-exe"),
            "execute_on": ["pre-upload"], "grants": {"args": ["exe"]}}]}},
        "hookhost": test_settings(),
    });
    let cfg = write_config(dir.path(), &cfg);
    let out = std::process::Command::new(hookhost_bin())
        .args(["exec", "--config"])
        .arg(&cfg)
        .env_clear()
        .env("SFTPGO_ACTION", "pre-upload")
        .env("SFTPGO_ACTION_USERNAME", "alice")
        .env(
            "SFTPGO_ACTION_PATH",
            std::ffi::OsStr::from_bytes(b"/srv/alice/setup\xff.exe"),
        )
        .env("SFTPGO_ACTION_TIMESTAMP", "1700000000000000000")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "SFTPGo denies on non-zero: {stderr}"
    );
    assert!(
        stderr.contains("SFTPGO_ACTION_PATH") && stderr.contains("UTF-8"),
        "{stderr}"
    );
}

#[tokio::test]
async fn auto_answers_a_pre_delete_as_2_5_only_when_the_request_proves_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &config(dir.path(), json!([record_all(&["pre-delete"])])),
    );
    let server = Server::start(&cfg, &[], &[]).await;
    // No role: SFTPGo 2.2-2.4 send this body too, reading 200 as "handled,
    // do not delete". Not 200, then: 2.2-2.4 delete, 2.5+ refuse.
    let (status, body) = server
        .post(
            "/v1/actions/fs",
            todays_body("pre-delete", "alice", "/srv/a.txt"),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("sftpgo_version"), "{body}");
    // A role only 2.5+ sends: allowed.
    let mut with_role: Value =
        serde_json::from_str(&todays_body("pre-delete", "alice", "/srv/a.txt")).unwrap();
    with_role["role"] = json!("staff");
    let (status, body) = server.post("/v1/actions/fs", with_role.to_string()).await;
    assert_eq!(status, 200, "{body}");
    // A refusal reads as one in every release.
    let (status, _) = server
        .post(
            "/v1/actions/fs",
            todays_body("pre-delete", "exit-1", "/srv/a.txt"),
        )
        .await;
    assert_eq!(status, 403);
    // The reference's form keeps the reference's answer: no hook handled
    // the file (the program failed), so 202 and SFTPGo 2.1 deletes it.
    let reference = json!({"action": "pre-delete", "username": "exit-1",
        "path": dir.path().join("a.exe"), "fs_provider": 0, "status": 1, "protocol": "SFTP"});
    let (status, _) = server.post("/v1/actions/fs", reference.to_string()).await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn a_pre_delete_no_hook_runs_on_lets_sftpgo_before_2_5_delete_the_file() {
    // SFTPGo's execute_on has pre-delete; hookhost has no hook for it.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), json!([record_all(&["upload"])]));
    cfg["hookhost"]["sftpgo_version"] = json!("2.4");
    let cfg = write_config(dir.path(), &cfg);
    let server = Server::start(&cfg, &[], &[]).await;
    let (status, body) = server
        .post(
            "/v1/actions/fs",
            todays_body("pre-delete", "alice", "/srv/a.txt"),
        )
        .await;
    assert_eq!(
        status, 202,
        "not handled: SFTPGo 2.4 deletes the file ({body})"
    );
}

#[test]
fn check_warns_that_auto_cannot_date_a_pre_delete_and_2_7_has_no_data_retention_hook() {
    let dir = tempfile::tempdir().unwrap();
    let check = |cfg: &Value| {
        let cfg = write_config(dir.path(), cfg);
        let out = std::process::Command::new(hookhost_bin())
            .args(["check", "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // SFTPGo's own execute_on sends pre-delete; no hookhost hook needed.
    let mut cfg = config(dir.path(), json!([]));
    cfg["common"]["actions"]["execute_on"] = json!(["pre-delete"]);
    let (code, stderr) = check(&cfg);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("answered 409"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Event Manager rule with a sync action")
            && stderr.contains("skip this legacy hook"),
        "the pre-* rule trap: {stderr}"
    );
    cfg["hookhost"]["sftpgo_version"] = json!("2.7");
    let (_, stderr) = check(&cfg);
    assert!(
        !stderr.contains("409"),
        "pinned: nothing to warn about: {stderr}"
    );
    // 2.7 refuses a command entry for the data retention hook at start.
    cfg["command"]["commands"] = json!([{"path": "/usr/local/bin/x", "hook": "data_retention"}]);
    let (code, stderr) = check(&cfg);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("command.commands[0].hook") && stderr.contains("2.7"),
        "{stderr}"
    );
    cfg["command"]["commands"] = json!([]);
    cfg["common"]["data_retention_hooks"] = json!([{"hook": exec_fixture("login-record")}]);
    let (code, stderr) = check(&cfg);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("has no data_retention_hook"), "{stderr}");
}

#[tokio::test]
async fn a_slow_synchronous_hook_is_answered_within_sftpgos_attempt_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(
        dir.path(),
        json!([{"name": "hang", "hook": exec_fixture("hang"), "execute_on": ["pre-upload"]}]),
    );
    // SFTPGo gives each attempt 1 s; its client would retry one that takes
    // longer, running the hook again.
    cfg["http"] = json!({"timeout": 1});
    let cfg = write_config(dir.path(), &cfg);
    let server = Server::start(&cfg, &[], &[]).await;
    let (status, body) = server
        .post(
            "/v1/actions/fs",
            todays_body("pre-upload", "alice", "/srv/a.txt"),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("no answer within 900 ms"), "{body}");
}

#[tokio::test]
async fn a_retried_attempt_gets_the_first_answer_without_running_the_hooks_again() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        json!([{"name": "count", "hook": exec_fixture("count"), "execute_on": ["upload", "pre-download"]}]),
    );
    let cfg = write_config(dir.path(), &cfg);
    let mut server = Server::start(&cfg, &[], &[]).await;
    // The same bytes twice, as SFTPGo's retrying client resends them; then
    // another event (another timestamp).
    let upload = todays_body("upload", "alice", "/srv/a.txt");
    for _ in 0..2 {
        let (status, body) = server.post("/v1/actions/fs", upload.clone()).await;
        assert_eq!(status, 200, "{body}");
    }
    let mut another: Value = serde_json::from_str(&upload).unwrap();
    another["timestamp"] = json!(1_700_000_000_000_000_001i64);
    server.post("/v1/actions/fs", another.to_string()).await;
    let download = todays_body("pre-download", "alice", "/srv/b.txt");
    for _ in 0..2 {
        let (status, _) = server.post("/v1/actions/fs", download.clone()).await;
        assert_eq!(status, 200);
    }
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
    let mut calls = lines(dir.path().join("calls"));
    calls.sort();
    assert_eq!(
        calls,
        [
            "pre-download /srv/b.txt",
            "upload /srv/a.txt",
            "upload /srv/a.txt"
        ],
        "each event once: the repeats were answered from the first"
    );
}

#[tokio::test]
async fn a_hook_naming_this_machine_by_its_host_name_is_recognised_as_hookhost_itself() {
    // In containers SFTPGo reaches hookhost by its service name; the same
    // file read by hookhost names hookhost through a name, not 127.0.0.1.
    let mut name = [0u8; 256];
    // SAFETY: gethostname writes at most name.len() bytes into the buffer.
    assert_eq!(
        unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) },
        0
    );
    let end = name.iter().position(|b| *b == 0).unwrap();
    let host = std::str::from_utf8(&name[..end]).unwrap().to_owned();
    use std::net::ToSocketAddrs;
    assert!(
        (host.as_str(), 80)
            .to_socket_addrs()
            .is_ok_and(|mut a| a.next().is_some()),
        "this machine's name {host:?} must resolve (/etc/hosts) for this test"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = Server::free_port();
    let cfg = json!({
        "common": {"actions": {"execute_on": ["upload"], "hook": format!("http://{host}:{port}/v1/actions/fs"),
            "hooks": [{"name": "count", "hook": exec_fixture("count"), "execute_on": ["upload"]}]}},
        "command": {"env": [format!("RECORD_DIR={}", dir.path().display())]},
        "hookhost": test_settings(),
    });
    let cfg = write_config(dir.path(), &cfg);
    let mut server = Server::start_on(&format!("0.0.0.0:{port}"), &cfg, &["--insecure"], &[]).await;
    let skipped = server.wait_log("own listener").await;
    assert!(skipped.contains("common.actions.hook"), "{skipped}");
    let (status, body) = server
        .post(
            "/v1/actions/fs",
            todays_body("upload", "alice", "/srv/a.txt"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
    assert_eq!(
        lines(dir.path().join("calls")),
        ["upload /srv/a.txt"],
        "no loop"
    );
}
