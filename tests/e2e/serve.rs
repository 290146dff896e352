//! `hookhost serve` as SFTPGo calls it, and `hookhost exec` as SFTPGo runs it.

use std::path::Path;

use hookhost_tests::guests::wasm;
use hookhost_tests::server::Server;
use hookhost_tests::{exec_fixture, hookhost_bin, lines, repo_root, test_settings, write_config};
use serde_json::{Value, json};

fn deny_exts(exts: &[&str]) -> Value {
    json!({"name": "deny_exe", "hook": wasm("deny-exe"), "execute_on": ["pre-upload"], "grants": {"args": exts}})
}

/// A configuration with only the deny-exe hook, refusing `exts`.
fn deny_config(exts: &[&str]) -> Value {
    config(json!([deny_exts(exts)]), json!([]), json!([]))
}

fn config(fs_hooks: Value, provider_hooks: Value, plugins: Value) -> Value {
    json!({
        "common": {"actions": {"execute_on": [], "hook": "", "hooks": fs_hooks}},
        "data_provider": {"actions": {"execute_on": [], "hook": "", "hooks": provider_hooks}},
        "plugins": plugins,
        "hookhost": test_settings(),
    })
}

fn fs_event(action: &str, user: &str, path: &str) -> String {
    json!({"action": action, "username": user, "path": path, "fs_provider": 0, "status": 1, "protocol": "SFTP"}).to_string()
}

/// The HTTP status `server` answers a pre-upload of `path` with.
async fn pre_upload(server: &Server, path: &str) -> u16 {
    server
        .post("/v1/actions/fs", fs_event("pre-upload", "u", path))
        .await
        .0
}

fn record(on: &[&str]) -> Value {
    json!({"hook": exec_fixture("record"), "execute_on": on})
}

#[tokio::test]
async fn pre_upload_allow_and_deny_through_wasm_and_exec_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &config(
            json!([deny_exts(&["exe"]), record(&["pre-download"])]),
            json!([]),
            json!([]),
        ),
    );
    let server = Server::start(&cfg, &[], &[]).await;
    let (status, body) = server
        .post(
            "/v1/actions/fs",
            fs_event("pre-upload", "alice", "/srv/setup.exe"),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"decision": "deny", "reason": "deny_exe: .exe files are not allowed"})
    );
    assert_eq!(
        server
            .post(
                "/v1/actions/fs",
                fs_event("pre-upload", "alice", "/srv/notes.txt")
            )
            .await
            .0,
        200
    );
    let target = dir.path().join("dl").display().to_string();
    assert_eq!(
        server
            .post("/v1/actions/fs", fs_event("pre-download", "alice", &target))
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .post(
                "/v1/actions/fs",
                fs_event("pre-download", "exit-1", &target)
            )
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn current_sftpgo_bodies_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &deny_config(&["exe"]));
    let server = Server::start(&cfg, &[], &[]).await;
    let body = json!({"action": "pre-upload", "username": "alice", "path": "/srv/a.exe", "virtual_path": "/a.exe",
        "fs_provider": 0, "status": 1, "protocol": "HTTPShare", "ip": "10.1.1.1", "session_id": "abc",
        "timestamp": 1_700_000_000_000_000_000i64, "role": "", "open_flags": 578});
    assert_eq!(server.post("/v1/actions/fs", body.to_string()).await.0, 403);
}

#[tokio::test]
async fn pre_delete_handled_is_200_and_unhandled_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &config(json!([record(&["pre-delete"])]), json!([]), json!([])),
    );
    let server = Server::start(&cfg, &[], &[]).await;
    let target = dir.path().join("gone").display().to_string();
    assert_eq!(
        server
            .post("/v1/actions/fs", fs_event("pre-delete", "alice", &target))
            .await
            .0,
        200
    );
    let (status, body) = server
        .post("/v1/actions/fs", fs_event("pre-delete", "exit-1", &target))
        .await;
    assert_eq!(
        status, 202,
        "not handled: SFTPGo must delete the file itself ({body})"
    );
}

#[tokio::test]
async fn provider_route_queues_and_sigterm_drains_async_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &config(
            json!([record(&["upload"])]),
            json!([{"hook": exec_fixture("record"), "execute_on": ["add"], "execute_for": ["user"]}]),
            json!([]),
        ),
    );
    let mut server = Server::start(&cfg, &[], &[]).await;
    let user = json!({"id": 9, "username": "dora", "home_dir": dir.path(), "password": "secret", "status": 1});
    let (status, body) = server
        .post("/v1/actions/provider?action=add", user.to_string())
        .await;
    assert_eq!((status, body.as_str()), (200, r#"{"decision":"queued"}"#));
    let upload = dir.path().join("up").display().to_string();
    assert_eq!(
        server
            .post("/v1/actions/fs", fs_event("upload", "slow-0.5", &upload))
            .await
            .0,
        200
    );
    // The upload hook sleeps 0.5 s first: SIGTERM arrives while it runs.
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
    assert_eq!(
        lines(format!("{upload}.argv"))[0],
        "upload",
        "the in-flight async hook finished"
    );
    let argv = lines(dir.path().join("provider.argv"));
    assert_eq!(
        argv[..3],
        ["add".to_owned(), "dora".to_owned(), "9".to_owned()]
    );
    let env = std::fs::read_to_string(dir.path().join("provider.env")).unwrap();
    assert!(!env.contains("secret"), "{env}");
}

#[tokio::test]
async fn post_connect_answers_with_the_ipfilter() {
    let dir = tempfile::tempdir().unwrap();
    let plugins =
        json!([{"type": "ipfilter", "cmd": wasm("ipfilter-cidr"), "args": ["10.0.0.0/8"]}]);
    let cfg = write_config(dir.path(), &config(json!([]), json!([]), plugins));
    let server = Server::start(&cfg, &[], &[]).await;
    assert_eq!(
        server
            .get("/v1/post-connect?ip=10.1.2.3&protocol=SSH")
            .await
            .0,
        200
    );
    let (status, body) = server.get("/v1/post-connect?ip=8.8.8.8&protocol=FTP").await;
    assert_eq!(status, 403);
    assert!(body.contains("not in an allowed range"), "{body}");
    assert_eq!(server.get("/v1/post-connect?protocol=SSH").await.0, 400);
}

#[tokio::test]
async fn external_auth_and_check_password_follow_sftpgo() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = json!([{"type": "auth", "cmd": wasm("auth-file"), "args": ["/users/users.json"],
        "auth_options": {"scope": 7},
        "grants": {"dirs": [{"host": repo_root().join("tests/fixtures/users"), "guest": "/users"}]}}]);
    let cfg = write_config(dir.path(), &config(json!([]), json!([]), plugins));
    let server = Server::start(&cfg, &[], &[]).await;
    let login = |extra: Value| {
        let mut body = json!({"username": "alice", "ip": "10.0.0.1", "protocol": "SSH"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body.to_string()
    };
    let (status, body) = server
        .post(
            "/v1/auth/external",
            login(json!({"password": "correct horse"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let user: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(user["username"], "alice");
    assert!(user.get("password").is_none());
    assert_eq!(
        server
            .post("/v1/auth/external", login(json!({"password": "wrong"})))
            .await
            .0,
        403
    );
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHookHostTestKeyAliceAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        server
            .post("/v1/auth/external", login(json!({"public_key": key})))
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .post("/v1/auth/external", login(json!({"tls_cert": "PEM"})))
            .await
            .0,
        403,
        "no plugin with the TLS scope"
    );
    // No credential at all is the hooks' to judge, as in SFTPGo: here
    // nothing covers a password login.
    assert_eq!(
        server.post("/v1/auth/external", login(json!({}))).await.0,
        403
    );

    let check = |password: &str| {
        json!({"username": "alice", "password": password, "ip": "10.0.0.1", "protocol": "FTP"})
            .to_string()
    };
    let (status, body) = server
        .post("/v1/auth/check-password", check("correct horse"))
        .await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (200, json!({"status": 1, "to_verify": ""}))
    );
    let (status, body) = server.post("/v1/auth/check-password", check("nope")).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (200, json!({"status": 0, "to_verify": ""}))
    );
}

#[tokio::test]
async fn bad_requests_get_4xx_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &deny_config(&["exe"]));
    let server = Server::start(&cfg, &[], &[]).await;
    let cases = [
        (
            "/v1/actions/fs",
            "{\"action\": ".to_owned(),
            400,
            "EOF while parsing",
        ),
        (
            "/v1/actions/fs",
            fs_event("uplod", "a", "/x"),
            400,
            "action: unknown action \\\"uplod\\\"",
        ),
        (
            "/v1/actions/fs",
            r#"{"action":"upload","username":"u","protocol":"SFTP","file_size":"big"}"#.to_owned(),
            400,
            "file_size: invalid type",
        ),
        (
            "/v1/actions/provider?action=nope",
            "{}".to_owned(),
            400,
            "action: unknown provider action",
        ),
        (
            "/v1/actions/provider",
            "{}".to_owned(),
            400,
            "action: missing",
        ),
        (
            "/v1/actions/provider?action=add&object_type=usr",
            "{}".to_owned(),
            400,
            "object_type: unknown object type",
        ),
        (
            "/v1/actions/provider?action=add",
            "[1]".to_owned(),
            400,
            "expected the object",
        ),
        ("/v1/nowhere", "{}".to_owned(), 404, "no such route"),
    ];
    for (path, body, status, text) in cases {
        let (got, reply) = server.post(path, body).await;
        assert_eq!(got, status, "{path}: {reply}");
        assert!(reply.contains(text), "{path}: {reply}");
    }
    let form = server
        .client
        .post(format!("{}/v1/actions/fs", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=upload")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 415);
    // The server closes the connection after refusing a body this large;
    // send it on a connection of its own.
    let big = reqwest::Client::new()
        .post(format!("{}/v1/actions/fs", server.url))
        .header("content-type", "application/json")
        .body("x".repeat(2 << 20))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status().as_u16(), 413);
    let error: Value = serde_json::from_slice(&big.bytes().await.unwrap())
        .expect("a 413 is JSON like every error");
    assert!(error["error"].as_str().is_some(), "{error}");
    assert_eq!(pre_upload(&server, "/ok.txt").await, 200, "still serving");
}

#[tokio::test]
async fn metrics_counters_move() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &deny_config(&["exe"]));
    let server = Server::start(&cfg, &[], &[]).await;
    for path in ["/a.exe", "/b.exe", "/c.txt"] {
        pre_upload(&server, path).await;
    }
    let (status, text) = server.get("/metrics").await;
    assert_eq!(status, 200);
    for line in [
        r#"hookhost_hook_calls_total{hook="deny_exe",kind="wasm",key="fs_actions",outcome="deny"} 2"#,
        r#"hookhost_hook_calls_total{hook="deny_exe",kind="wasm",key="fs_actions",outcome="allow"} 1"#,
        r#"hookhost_hook_duration_seconds_count{hook="deny_exe",kind="wasm",key="fs_actions"} 3"#,
        r#"hookhost_http_requests_total{route="actions_fs",status="403"} 2"#,
        "hookhost_async_in_flight 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
}

#[tokio::test]
async fn bearer_token_is_required_except_for_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(json!([]), json!([]), json!([])));
    let server = Server::start(&cfg, &[], &[("HOOKHOST_TOKEN", "t0k3n")]).await;
    let event = fs_event("upload", "u", "/x");
    assert_eq!(server.post("/v1/actions/fs", event.clone()).await.0, 401);
    let with = |token: &str| {
        server
            .client
            .post(format!("{}/v1/actions/fs", server.url))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(event.clone())
            .send()
    };
    assert_eq!(with("wrong").await.unwrap().status().as_u16(), 401);
    assert_eq!(with("t0k3n").await.unwrap().status().as_u16(), 200);
    assert_eq!(server.get("/healthz").await.0, 200);
    assert_eq!(server.get("/metrics").await.0, 401);
}

#[tokio::test]
async fn sighup_reloads_a_good_config_and_refuses_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &deny_config(&["exe"]));
    let mut server = Server::start(&cfg, &["--no-watch"], &[]).await;
    assert_eq!(
        (
            pre_upload(&server, "/a.exe").await,
            pre_upload(&server, "/a.iso").await
        ),
        (403, 200)
    );

    write_config(dir.path(), &deny_config(&["iso"]));
    server.signal(libc::SIGHUP);
    server.wait_log("configuration reloaded").await;
    assert_eq!(
        (
            pre_upload(&server, "/a.exe").await,
            pre_upload(&server, "/a.iso").await
        ),
        (200, 403)
    );
    assert!(server.get("/healthz").await.1.contains("\"generation\":2"));

    let mut broken = deny_config(&["exe"]);
    broken["common"]["actions"]["hooks"][0]["execute_on"] = json!(["pre-uplod"]);
    write_config(dir.path(), &broken);
    server.signal(libc::SIGHUP);
    let refusal = server.wait_log("configuration reload refused").await;
    assert!(
        refusal.contains("common.actions.hooks[0].execute_on[0]"),
        "{refusal}"
    );
    assert_eq!(
        (
            pre_upload(&server, "/a.exe").await,
            pre_upload(&server, "/a.iso").await
        ),
        (200, 403),
        "the running configuration stays"
    );
}

#[tokio::test]
async fn a_config_file_replaced_by_a_fifo_is_refused_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &deny_config(&["exe"]));
    let mut server = Server::start(&cfg, &["--no-watch"], &[]).await;
    // Before: the reload's read blocked a runtime worker in open(2) for
    // good; /healthz stopped answering and SIGTERM did not end the process.
    std::fs::remove_file(&cfg).unwrap();
    hookhost_tests::mkfifo(&cfg);
    server.signal(libc::SIGHUP);
    let refusal = server.wait_log("configuration reload refused").await;
    assert!(refusal.contains("not a regular file"), "{refusal}");
    assert_eq!(server.get("/healthz").await.0, 200);
    assert_eq!(
        pre_upload(&server, "/a.exe").await,
        403,
        "the running configuration stays"
    );
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
}

#[test]
fn check_refuses_a_config_that_is_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("hookhost.json");
    hookhost_tests::mkfifo(&fifo);
    let out = std::process::Command::new(hookhost_bin())
        .args(["check", "--config"])
        .arg(&fifo)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

#[tokio::test]
async fn a_changed_config_file_is_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &deny_config(&["exe"]));
    let mut server = Server::start(&cfg, &[], &[]).await;
    assert_eq!(pre_upload(&server, "/a.iso").await, 200);
    // A different mtime is what the watcher looks for; make sure it moves.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    write_config(dir.path(), &deny_config(&["iso"]));
    std::fs::File::options()
        .write(true)
        .open(&cfg)
        .unwrap()
        .set_modified(later)
        .unwrap();
    server.wait_log("configuration file changed").await;
    assert_eq!(pre_upload(&server, "/a.iso").await, 403);
}

/// Run `hookhost exec` (or the `hookhost-exec` link) as SFTPGo would.
fn run_exec(program: &Path, args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    std::process::Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("HOOKHOST_LOG", "warn")
        .output()
        .expect("run hookhost exec")
}

fn sftpgo_env(
    action: &str,
    path: &str,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("SFTPGO_ACTION", action.to_owned()),
        ("SFTPGO_ACTION_USERNAME", "alice".to_owned()),
        ("SFTPGO_ACTION_PATH", path.to_owned()),
        ("SFTPGO_ACTION_TARGET", String::new()),
        ("SFTPGO_ACTION_SSH_CMD", String::new()),
        ("SFTPGO_ACTION_FILE_SIZE", "0".to_owned()),
        ("SFTPGO_ACTION_FS_PROVIDER", "0".to_owned()),
        ("SFTPGO_ACTION_BUCKET", String::new()),
        ("SFTPGO_ACTION_ENDPOINT", String::new()),
        ("SFTPGO_ACTION_STATUS", "1".to_owned()),
        ("SFTPGO_ACTION_PROTOCOL", "SFTP".to_owned()),
        ("SFTPGO_ACTION_OPEN_FLAGS", "0".to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    env
}

#[tokio::test]
async fn exec_check_and_fire_run_beside_serve_on_one_state_dir() {
    // The one configuration for both: serve holds the journal; before,
    // every exec opened and locked it too, so concurrent pre-uploads exited
    // 2 (SFTPGo denied the upload) and async uploads were dropped.
    let dir = tempfile::tempdir().unwrap();
    let hooks = json!([
        deny_exts(&["exe"]),
        {"name": "rec", "hook": exec_fixture("record"), "execute_on": ["upload"]},
    ]);
    let mut value = config(hooks, json!([]), json!([]));
    value["hookhost"]["state_dir"] = json!(dir.path().join("state"));
    let cfg = write_config(dir.path(), &value);
    let server = Server::start(&cfg, &["--no-watch"], &[]).await;
    let bin = hookhost_bin();
    let cfg_arg = cfg.to_str().unwrap().to_owned();
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let mut runs = Vec::new();
    for i in 0..8 {
        let (bin, cfg_arg) = (bin.clone(), cfg_arg.clone());
        let ext = if i % 2 == 0 { "exe" } else { "txt" };
        let path = format!("/srv/p{i}.{ext}");
        runs.push(std::thread::spawn(move || {
            let out = run_exec(
                &bin,
                &["exec", "--config", &cfg_arg],
                &sftpgo_env("pre-upload", &path, &[]),
            );
            (path, if ext == "exe" { 1 } else { 0 }, out)
        }));
    }
    for i in 0..3 {
        let (bin, cfg_arg) = (bin.clone(), cfg_arg.clone());
        let path = files.join(format!("u{i}.bin")).to_str().unwrap().to_owned();
        runs.push(std::thread::spawn(move || {
            let out = run_exec(
                &bin,
                &["exec", "--config", &cfg_arg],
                &sftpgo_env("upload", &path, &[]),
            );
            (path, 0, out)
        }));
    }
    for run in runs {
        let (path, code, out) = run.join().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for i in 0..3 {
        assert!(
            files.join(format!("u{i}.bin.argv")).exists(),
            "upload {i} ran its hook"
        );
    }
    let check = std::process::Command::new(&bin)
        .args(["check", "--config", &cfg_arg])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        stdout.contains("opened by `hookhost serve` and `hookhost queue` only"),
        "{stdout}"
    );
    let event = dir.path().join("event.json");
    std::fs::write(&event, fs_event("pre-upload", "alice", "/b.exe")).unwrap();
    let fire = std::process::Command::new(&bin)
        .args(["fire", "--config", &cfg_arg, "--event"])
        .arg(&event)
        .output()
        .unwrap();
    assert_eq!(
        fire.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&fire.stderr)
    );
    // serve's journal is untouched and still takes events.
    assert_eq!(pre_upload(&server, "/a.exe").await, 403);
    assert!(server.get("/healthz").await.1.contains("\"unfinished\""));
}

#[test]
fn exec_mode_allows_and_denies_as_sftpgo_drives_it() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = json!([
        deny_exts(&["exe"]),
        {"name": "mover", "hook": wasm("probe"), "execute_on": ["pre-delete"], "grants": {"args": ["handled"]}},
    ]);
    let cfg = write_config(dir.path(), &config(hooks, json!([]), json!([])));
    let bin = hookhost_bin();
    let cfg_arg = cfg.to_str().unwrap();
    // The reference: argv and environment.
    for (path, code) in [("/srv/a.exe", 1), ("/srv/a.txt", 0)] {
        let out = run_exec(
            &bin,
            &[
                "exec",
                "--config",
                cfg_arg,
                "pre-upload",
                "alice",
                path,
                "",
                "",
            ],
            &sftpgo_env("pre-upload", path, &[]),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let denied = run_exec(
        &bin,
        &[
            "exec",
            "--config",
            cfg_arg,
            "pre-upload",
            "alice",
            "/srv/a.exe",
            "",
            "",
        ],
        &[],
    );
    assert_eq!(denied.status.code(), Some(1), "argv alone is enough");
    assert!(String::from_utf8_lossy(&denied.stderr).contains(".exe files are not allowed"));

    // Current releases: no argv, environment only, and SFTPGo runs the
    // configured program path directly: the hookhost-exec link.
    let link = dir.path().join("hookhost-exec");
    std::os::unix::fs::symlink(&bin, &link).unwrap();
    let with_config = |mut env: Vec<(&'static str, String)>| {
        env.push(("HOOKHOST_CONFIG", cfg_arg.to_owned()));
        env
    };
    let current = [
        ("SFTPGO_ACTION_TIMESTAMP", "1700000000000000000"),
        ("SFTPGO_ACTION_SESSION_ID", "s1"),
    ];
    let malformed = [("SFTPGO_ACTION_FILE_SIZE", "big")];
    for (action, path, extra, code, says) in [
        (
            "pre-upload",
            "/srv/x.exe",
            &current[..],
            1,
            ".exe files are not allowed",
        ),
        ("pre-upload", "/srv/x.pdf", &current[..], 0, ""),
        // pre-delete: exit 0 only when a hook handled the file.
        ("pre-delete", "/srv/x.pdf", &[][..], 0, ""),
        // Malformed input denies (fail closed), naming the variable.
        (
            "pre-upload",
            "/srv/x.pdf",
            &malformed[..],
            2,
            "SFTPGO_ACTION_FILE_SIZE",
        ),
    ] {
        let out = run_exec(&link, &[], &with_config(sftpgo_env(action, path, extra)));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{action} {path}: {stderr}");
        assert!(stderr.contains(says), "{action} {path}: {stderr}");
    }
}

#[test]
fn exec_mode_runs_provider_hooks_from_sftpgo_env() {
    let dir = tempfile::tempdir().unwrap();
    let provider = json!([{"name": "echo", "hook": wasm("provider-echo"), "execute_on": ["update"],
        "execute_for": ["user"], "grants": {"dirs": [{"host": dir.path(), "guest": "/out", "writable": true}]}}]);
    let cfg = write_config(dir.path(), &config(json!([]), provider, json!([])));
    let env = [
        ("SFTPGO_USER_ACTION", "update".to_owned()),
        (
            "SFTPGO_USER",
            json!({"username": "erin", "password": "pw", "status": 1}).to_string(),
        ),
        ("HOOKHOST_CONFIG", cfg.display().to_string()),
    ];
    let out = run_exec(
        &hookhost_bin(),
        &[
            "exec",
            "update",
            "erin",
            "1",
            "1",
            "0",
            "/home/erin",
            "0",
            "0",
        ],
        &env,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lines(dir.path().join("provider.log")),
        [r#"update user erin {"username":"erin","status":1}"#]
    );
}

/// xorshift64*: a deterministic stream of pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A malformed body: random bytes, or a valid body with bytes flipped,
/// cut short, or fields replaced by values of the wrong type.
fn garbage(rng: &mut Rng) -> Vec<u8> {
    let valid = fs_event("pre-upload", "alice", "/srv/a.txt").into_bytes();
    match rng.below(4) {
        0 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        1 => {
            let mut body = valid;
            for _ in 0..=rng.below(4) {
                let i = rng.below(body.len());
                body[i] = rng.next() as u8;
            }
            body
        }
        2 => valid[..rng.below(valid.len())].to_vec(),
        _ => {
            let mut value: Value = serde_json::from_slice(&valid).unwrap();
            let keys = [
                "action",
                "username",
                "path",
                "status",
                "fs_provider",
                "file_size",
                "protocol",
                "open_flags",
            ];
            let wrong = [
                json!(null),
                json!([1, 2]),
                json!({"a": 1}),
                json!(-1),
                json!(1e300),
                json!("x"),
                json!(true),
            ];
            value[keys[rng.below(keys.len())]] = wrong[rng.below(wrong.len())].clone();
            value.to_string().into_bytes()
        }
    }
}

#[tokio::test]
async fn random_malformed_requests_never_get_a_5xx_nor_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let plugins =
        json!([{"type": "ipfilter", "cmd": wasm("ipfilter-cidr"), "args": ["10.0.0.0/8"]}]);
    let cfg = write_config(
        dir.path(),
        &config(
            json!([deny_exts(&["exe"])]),
            json!([record(&["add"])]),
            plugins,
        ),
    );
    let server = Server::start(&cfg, &[], &[]).await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let routes = [
        "/v1/actions/fs",
        "/v1/actions/provider?action=update",
        "/v1/auth/external",
        "/v1/auth/check-password",
    ];
    for i in 0..400 {
        let route = routes[i % routes.len()];
        let body = garbage(&mut rng);
        let response = server
            .client
            .post(format!("{}{route}", server.url))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{route} {:?}: no answer: {e}",
                    String::from_utf8_lossy(&body)
                )
            });
        let status = response.status().as_u16();
        assert!(
            status < 500,
            "{route} {:?}: {status}",
            String::from_utf8_lossy(&body)
        );
    }
    for query in ["?ip=%ZZ", "?ip=", "?ip=999.1.1.1&protocol=SSH", "?ip=::::1"] {
        let status = server.get(&format!("/v1/post-connect{query}")).await.0;
        assert!(status == 400 || status == 403, "{query}: {status}");
    }
    assert_eq!(server.get("/healthz").await.0, 200);
    assert_eq!(pre_upload(&server, "/a.exe").await, 403, "still deciding");
}

#[tokio::test]
async fn an_edit_then_sighup_reloads_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &deny_config(&["exe"]));
    let mut server = Server::start(&cfg, &[], &[]).await;
    // Make sure the mtime moves, as an editor's save does.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_config(dir.path(), &deny_config(&["iso"]));
    server.signal(libc::SIGHUP);
    server.wait_log("configuration reloaded").await;
    // The watcher looks every 2 s: give it a look, then count the loads.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (_, health) = server.get("/healthz").await;
    assert!(
        health.contains("\"generation\":2"),
        "one edit, one SIGHUP: one reload ({health})"
    );
}

#[test]
fn a_non_loopback_listener_without_a_token_is_refused_unless_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &json!({"hookhost": test_settings()}));
    let out = std::process::Command::new(hookhost_bin())
        .args(["serve", "--listen", "0.0.0.0:0", "--config"])
        .arg(&cfg)
        .env_remove("HOOKHOST_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to serve 0.0.0.0:") && stderr.contains("--insecure"),
        "{stderr}"
    );
}

mod tls {
    //! `serve` over TLS, checked by clients that verify the chain.

    use super::*;
    use hookhost_tests::tls::TestPki;

    /// A client trusting `ca` only (webpki verification), with `identity`'s
    /// certificate and key when given.
    fn client(ca: &Path, identity: Option<(&Path, &Path)>) -> reqwest::Client {
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
        let mut builder = reqwest::Client::builder()
            .tls_certs_only([ca])
            .timeout(std::time::Duration::from_secs(10));
        if let Some((cert, key)) = identity {
            let mut pem = std::fs::read(cert).unwrap();
            pem.extend(std::fs::read(key).unwrap());
            builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        builder.build().unwrap()
    }

    async fn healthz(client: &reqwest::Client, url: &str) -> Result<u16, String> {
        client
            .get(format!("{url}/healthz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| format!("{e:?}"))
    }

    fn tls_args(pki: &TestPki) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            pki.server_cert.display().to_string(),
            "--tls-key".into(),
            pki.server_key.display().to_string(),
        ]
    }

    #[tokio::test]
    async fn serve_speaks_https_with_its_chain_and_reloads_it_on_sighup() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pki")).unwrap();
        let pki = TestPki::generate(&dir.path().join("pki"));
        let cfg = write_config(dir.path(), &json!({"hookhost": test_settings()}));
        let args = tls_args(&pki);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut server = Server::start(&cfg, &args, &[]).await;
        assert!(
            server.url.starts_with("https://127.0.0.1:"),
            "{}",
            server.url
        );
        assert_eq!(healthz(&client(&pki.ca, None), &server.url).await, Ok(200));
        // A client that trusts another CA refuses the certificate.
        let other = tempfile::tempdir().unwrap();
        let renewed = TestPki::generate(other.path());
        let untrusting = healthz(&client(&renewed.ca, None), &server.url).await;
        assert!(untrusting.is_err(), "{untrusting:?}");
        // The certificate renewed in place: taken on SIGHUP.
        std::fs::copy(&renewed.server_cert, &pki.server_cert).unwrap();
        std::fs::copy(&renewed.server_key, &pki.server_key).unwrap();
        server.signal(libc::SIGHUP);
        server.wait_log("TLS certificate reloaded").await;
        assert_eq!(
            healthz(&client(&renewed.ca, None), &server.url).await,
            Ok(200)
        );
        // A broken file is refused; the running certificate stays.
        std::fs::write(&pki.server_key, "not a key").unwrap();
        server.signal(libc::SIGHUP);
        let refused = server.wait_log("TLS certificate reload refused").await;
        assert!(refused.contains("--tls-key"), "{refused}");
        assert_eq!(
            healthz(&client(&renewed.ca, None), &server.url).await,
            Ok(200)
        );
    }

    #[tokio::test]
    async fn with_a_client_ca_only_clients_with_its_certificates_get_in() {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(dir.path());
        let cfg = write_config(dir.path(), &json!({"hookhost": test_settings()}));
        let mut args = tls_args(&pki);
        args.extend(["--tls-client-ca".into(), pki.ca.display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Server::start(&cfg, &args, &[]).await;
        let without = healthz(&client(&pki.ca, None), &server.url).await;
        assert!(without.is_err(), "no client certificate: {without:?}");
        let with = client(&pki.ca, Some((&pki.client_cert, &pki.client_key)));
        assert_eq!(healthz(&with, &server.url).await, Ok(200));
        // A client certificate authenticates SFTPGo: no token is needed on
        // a non-loopback address.
        let server = Server::start_on("0.0.0.0:0", &cfg, &args, &[]).await;
        let url = server.url.replace("0.0.0.0", "127.0.0.1");
        assert_eq!(healthz(&with, &url).await, Ok(200));
    }
}
