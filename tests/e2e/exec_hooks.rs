//! Exec hooks: SFTPGo's argv and environment, exit-status semantics, limits.

use std::path::Path;
use std::time::{Duration, Instant};

use hookhost::Decision;
use hookhost::event::{
    FsAction, FsEvent, FsProvider, ObjectType, Protocol, ProviderAction, ProviderEvent, Status,
};
use hookhost::hook::{Answer, Failure};
use hookhost_tests::{config_with, exec_fixture, host, lines};
use serde_json::{Value, json};

fn exec_hook(script: &str, on: Value, extra: Value) -> Value {
    let mut hook = json!({"name": script, "hook": exec_fixture(script), "execute_on": on});
    if let (Value::Object(h), Value::Object(e)) = (&mut hook, extra) {
        h.extend(e);
    }
    hook
}

fn all_actions() -> Value {
    json!(FsAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>())
}

fn event_in(dir: &Path, action: FsAction) -> FsEvent {
    let path = dir.join(action.as_str());
    FsEvent::new(action, "alice", path.to_str().unwrap(), Protocol::Sftp)
}

#[tokio::test]
async fn fs_argv_and_env_are_the_references_for_every_action() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(config_with(
        json!([exec_hook("record", all_actions(), json!({}))]),
        json!([]),
    ))
    .await;
    for &action in FsAction::ALL {
        let mut event = event_in(dir.path(), action);
        match action {
            FsAction::Rename => event.target_path = Some("/srv/alice/new.txt".into()),
            FsAction::SshCmd => event.ssh_cmd = Some("sha256sum /a.txt".into()),
            FsAction::Upload | FsAction::Download | FsAction::Delete | FsAction::PreUpload => {
                event.file_size = 4096
            }
            _ => {}
        }
        let outcome = host.dispatch(event.clone()).wait_for_all().await;
        assert!(outcome.decision.is_success(), "{action}: {outcome:?}");
        let argv = lines(format!("{}.argv", event.path));
        let target = event.target_path.clone().unwrap_or_default();
        let ssh_cmd = event.ssh_cmd.clone().unwrap_or_default();
        assert_eq!(
            argv,
            [action.as_str(), "alice", &event.path, &target, &ssh_cmd],
            "{action}"
        );
        let env = lines(format!("{}.env", event.path));
        let expected = [
            format!("SFTPGO_ACTION={action}"),
            "SFTPGO_ACTION_BUCKET=".into(),
            "SFTPGO_ACTION_ENDPOINT=".into(),
            format!("SFTPGO_ACTION_FILE_SIZE={}", event.file_size),
            "SFTPGO_ACTION_FS_PROVIDER=0".into(),
            "SFTPGO_ACTION_OPEN_FLAGS=0".into(),
            format!("SFTPGO_ACTION_PATH={}", event.path),
            "SFTPGO_ACTION_PROTOCOL=SFTP".into(),
            format!("SFTPGO_ACTION_SSH_CMD={ssh_cmd}"),
            "SFTPGO_ACTION_STATUS=1".into(),
            format!("SFTPGO_ACTION_TARGET={target}"),
            "SFTPGO_ACTION_USERNAME=alice".into(),
        ];
        assert_eq!(env, expected, "{action}");
    }
}

#[tokio::test]
async fn cloud_backend_quota_and_open_flags_reach_the_env() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(config_with(
        json!([exec_hook(
            "record",
            json!(["upload", "pre-upload"]),
            json!({})
        )]),
        json!([]),
    ))
    .await;
    let mut upload = event_in(dir.path(), FsAction::Upload);
    upload.fs_provider = FsProvider::S3;
    upload.bucket = Some("my-bucket".into());
    upload.endpoint = Some("https://s3.example.com".into());
    upload.status = Status::QuotaExceeded;
    upload.protocol = Protocol::Dav;
    host.dispatch(upload.clone()).wait_for_all().await;
    let env = lines(format!("{}.env", upload.path));
    for expected in [
        "SFTPGO_ACTION_FS_PROVIDER=1",
        "SFTPGO_ACTION_BUCKET=my-bucket",
        "SFTPGO_ACTION_ENDPOINT=https://s3.example.com",
        "SFTPGO_ACTION_STATUS=2",
        "SFTPGO_ACTION_FILE_SIZE=0",
        "SFTPGO_ACTION_PROTOCOL=DAV",
    ] {
        assert!(
            env.iter().any(|l| l == expected),
            "{expected} missing from {env:?}"
        );
    }
    let mut pre = event_in(dir.path(), FsAction::PreUpload);
    pre.open_flags = 0o1102; // O_RDWR | O_CREAT | O_TRUNC
    pre.file_size = 77;
    host.dispatch(pre.clone()).wait_for_all().await;
    let env = lines(format!("{}.env", pre.path));
    assert!(
        env.contains(&"SFTPGO_ACTION_OPEN_FLAGS=578".to_owned()),
        "{env:?}"
    );
    assert!(
        env.contains(&"SFTPGO_ACTION_FILE_SIZE=77".to_owned()),
        "{env:?}"
    );
}

#[tokio::test]
async fn process_environment_is_inherited() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(config_with(
        json!([exec_hook("record", json!(["upload"]), json!({}))]),
        json!([]),
    ))
    .await;
    let event = event_in(dir.path(), FsAction::Upload);
    host.dispatch(event.clone()).wait_for_all().await;
    assert_eq!(
        lines(format!("{}.inherited", event.path)),
        [env!("CARGO_MANIFEST_DIR")]
    );
}

#[tokio::test]
async fn provider_argv_and_env_are_the_references() {
    let home = tempfile::tempdir().unwrap();
    // SFTPGo 2.1: no execute_for yet, provider hooks for users.
    let mut config = config_with(
        json!([]),
        json!([exec_hook(
            "record",
            json!(["add", "update", "delete"]),
            json!({})
        )]),
    );
    config["hookhost"]["sftpgo_version"] = json!("2.1");
    let host = host(config).await;
    let user = json!({
        "id": 7, "username": "alice", "status": 1, "expiration_date": 1700000000000u64,
        "home_dir": home.path(), "uid": 1000, "gid": 1001, "password": "$2a$10$secrethash",
        "filters": {"totp_config": {"secret": {"payload": "totp-secret"}}}
    });
    let event = ProviderEvent::new(ProviderAction::Update, ObjectType::User, user);
    let outcome = host.dispatch(event.clone()).wait_for_all().await;
    assert_eq!(outcome.decision, Decision::Allow);
    let argv = lines(home.path().join("provider.argv"));
    let home_dir = home.path().to_str().unwrap();
    assert_eq!(
        argv,
        [
            "update",
            "alice",
            "7",
            "1",
            "1700000000000",
            home_dir,
            "1000",
            "1001"
        ]
    );
    let env = lines(home.path().join("provider.env"));
    assert!(
        env.contains(&"SFTPGO_USER_ACTION=update".to_owned()),
        "{env:?}"
    );
    let user_line = env
        .iter()
        .find(|l| l.starts_with("SFTPGO_USER="))
        .expect("SFTPGO_USER");
    let user: Value = serde_json::from_str(&user_line["SFTPGO_USER=".len()..]).unwrap();
    assert_eq!(user["username"], "alice");
    assert!(user.get("password").is_none(), "password leaked: {user}");
    assert!(
        !user_line.contains("totp-secret"),
        "TOTP secret leaked: {user_line}"
    );
}

#[tokio::test]
async fn pre_upload_is_allowed_by_exit_0_and_denied_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(config_with(
        json!([exec_hook(
            "record",
            json!(["pre-upload", "pre-download"]),
            json!({})
        )]),
        json!([]),
    ))
    .await;
    for action in [FsAction::PreUpload, FsAction::PreDownload] {
        let mut event = event_in(dir.path(), action);
        assert_eq!(host.dispatch(event.clone()).await.decision, Decision::Allow);
        event.username = "exit-1".into();
        assert_eq!(
            host.dispatch(event.clone()).await.decision,
            Decision::Deny("record: exit status 1".into())
        );
        event.username = "exit-42".into();
        assert_eq!(
            host.dispatch(event).await.decision,
            Decision::Deny("record: exit status 42".into())
        );
    }
}

#[tokio::test]
async fn pre_delete_exit_0_means_handled() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(config_with(
        json!([exec_hook("record", json!(["pre-delete"]), json!({}))]),
        json!([]),
    ))
    .await;
    let mut event = event_in(dir.path(), FsAction::PreDelete);
    assert_eq!(
        host.dispatch(event.clone()).await.decision,
        Decision::Handled
    );
    event.username = "exit-1".into();
    let outcome = host.dispatch(event).await;
    assert_eq!(
        outcome.decision,
        Decision::Allow,
        "not handled: the server deletes the file itself"
    );
    assert_eq!(
        outcome.reports[0].result,
        Ok(Answer::Deny("exit status 1".into()))
    );
}

#[tokio::test]
async fn hanging_hook_is_stopped_at_its_limit_and_denies() {
    let host = host(config_with(
        json!([exec_hook(
            "hang",
            json!(["pre-upload"]),
            json!({"limits": {"timeout_ms": 300}})
        )]),
        json!([]),
    ))
    .await;
    let start = Instant::now();
    let outcome = host
        .dispatch(FsEvent::new(FsAction::PreUpload, "u", "/x", Protocol::Sftp))
        .await;
    assert_eq!(
        outcome.reports[0].result,
        Err(Failure::Timeout(Duration::from_millis(300)))
    );
    assert!(matches!(outcome.decision, Decision::Deny(_)));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

/// Whether a process is gone (or a zombie waiting to be reaped).
fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn forking_hook_is_killed_with_its_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(config_with(
        json!([exec_hook(
            "fork-sleeper",
            json!(["pre-upload"]),
            json!({"limits": {"timeout_ms": 500}})
        )]),
        json!([]),
    ))
    .await;
    let event = event_in(dir.path(), FsAction::PreUpload);
    let outcome = host.dispatch(event.clone()).await;
    assert_eq!(
        outcome.reports[0].result,
        Err(Failure::Timeout(Duration::from_millis(500)))
    );
    let pid: u32 = std::fs::read_to_string(format!("{}.pid", event.path))
        .expect("the hook recorded its child's pid")
        .trim()
        .parse()
        .unwrap();
    // SIGKILL was sent to the group before the hook's answer; the kernel
    // finishes tearing the child down within moments.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !is_dead(pid) {
        assert!(
            Instant::now() < deadline,
            "child {pid} of the hook survived the limit"
        );
        std::thread::yield_now();
    }
}

#[tokio::test]
async fn megabytes_of_output_neither_block_nor_change_the_answer() {
    let host = host(config_with(
        json!([exec_hook("chatty", json!(["pre-upload"]), json!({}))]),
        json!([]),
    ))
    .await;
    let outcome = host
        .dispatch(FsEvent::new(FsAction::PreUpload, "u", "/x", Protocol::Sftp))
        .await;
    assert_eq!(outcome.decision, Decision::Allow);
}

#[tokio::test]
async fn program_missing_at_run_time_is_a_failure_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("gone");
    std::fs::copy(exec_fixture("record"), &program).unwrap();
    let host = host(config_with(
        json!([{"hook": program, "execute_on": ["pre-upload"]}]),
        json!([]),
    ))
    .await;
    std::fs::remove_file(&program).unwrap();
    let outcome = host
        .dispatch(FsEvent::new(FsAction::PreUpload, "u", "/x", Protocol::Sftp))
        .await;
    match &outcome.reports[0].result {
        Err(Failure::Error(message)) => assert!(message.contains("cannot start"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(outcome.decision, Decision::Deny(_)));
}
