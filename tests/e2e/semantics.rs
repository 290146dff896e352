//! Dispatch semantics: sync vs async, pre-* rules with several hooks,
//! provider filtering, shutdown draining async work.

use std::path::Path;

use hookhost::Decision;
use hookhost::event::{FsAction, FsEvent, ObjectType, Protocol, ProviderAction, ProviderEvent};
use hookhost::hook::Answer;
use hookhost_tests::guests::wasm;
use hookhost_tests::{config_with, exec_fixture, host, lines};
use serde_json::{Value, json};

fn record(on: Value) -> Value {
    json!({"name": "record", "hook": exec_fixture("record"), "execute_on": on})
}

fn slow_upload(dir: &Path) -> FsEvent {
    let path = dir.join("upload");
    FsEvent::new(
        FsAction::Upload,
        "slow-0.3",
        path.to_str().unwrap(),
        Protocol::Sftp,
    )
}

#[tokio::test]
async fn async_actions_are_queued_and_shutdown_waits_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(config_with(json!([record(json!(["upload"]))]), json!([]))).await;
    let event = slow_upload(dir.path());
    let outcome = host.dispatch(event.clone()).await;
    assert_eq!(outcome.decision, Decision::Queued);
    assert!(outcome.reports.is_empty());
    // The hook sleeps 0.3 s before recording: it cannot have finished yet.
    assert!(!Path::new(&format!("{}.argv", event.path)).exists());
    host.shutdown().await;
    assert_eq!(lines(format!("{}.argv", event.path))[0], "upload");
    assert_eq!(host.async_in_flight(), 0);
}

#[tokio::test]
async fn execute_sync_makes_the_caller_wait() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_with(json!([record(json!(["upload"]))]), json!([]));
    config["common"]["actions"]["execute_sync"] = json!(["upload"]);
    let host = host(config).await;
    let event = slow_upload(dir.path());
    let outcome = host.dispatch(event.clone()).await;
    assert_eq!(outcome.decision, Decision::Allow);
    assert_eq!(outcome.reports.len(), 1);
    assert_eq!(lines(format!("{}.argv", event.path))[0], "upload");
}

#[tokio::test]
async fn failing_sync_notification_is_reported_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_with(json!([record(json!(["upload"]))]), json!([]));
    config["common"]["actions"]["execute_sync"] = json!(["upload"]);
    let host = host(config).await;
    let path = dir.path().join("f");
    let event = FsEvent::new(
        FsAction::Upload,
        "exit-3",
        path.to_str().unwrap(),
        Protocol::Sftp,
    );
    assert_eq!(
        host.dispatch(event).await.decision,
        Decision::Failed("record: exit status 3".into())
    );
}

#[tokio::test]
async fn pre_actions_are_synchronous_without_execute_sync() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(config_with(
        json!([record(json!(["pre-upload", "pre-download", "pre-delete"]))]),
        json!([]),
    ))
    .await;
    for action in [
        FsAction::PreUpload,
        FsAction::PreDownload,
        FsAction::PreDelete,
    ] {
        let path = dir.path().join(action.as_str());
        let outcome = host
            .dispatch(FsEvent::new(
                action,
                "alice",
                path.to_str().unwrap(),
                Protocol::Ftp,
            ))
            .await;
        assert_ne!(outcome.decision, Decision::Queued, "{action}");
        assert_eq!(outcome.reports.len(), 1, "{action}");
    }
}

#[tokio::test]
async fn first_refusing_pre_upload_hook_wins_and_later_hooks_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = json!([
        {"name": "allow", "hook": wasm("probe"), "execute_on": ["pre-upload"], "grants": {"args": ["allow"]}},
        {"name": "deny", "hook": wasm("probe"), "execute_on": ["pre-upload"], "grants": {"args": ["deny"]}},
        record(json!(["pre-upload"])),
    ]);
    let host = host(config_with(hooks, json!([]))).await;
    let path = dir.path().join("f");
    let outcome = host
        .dispatch(FsEvent::new(
            FsAction::PreUpload,
            "alice",
            path.to_str().unwrap(),
            Protocol::Sftp,
        ))
        .await;
    assert_eq!(
        outcome.decision,
        Decision::Deny("deny: probe says no".into())
    );
    let ran: Vec<&str> = outcome.reports.iter().map(|r| &*r.hook).collect();
    assert_eq!(ran, ["allow", "deny"]);
    assert!(
        !Path::new(&format!("{}.argv", path.display())).exists(),
        "the exec hook must not run"
    );
}

#[tokio::test]
async fn pre_delete_stops_at_the_first_handled() {
    let hooks = json!([
        {"name": "not-mine", "hook": wasm("probe"), "execute_on": ["pre-delete"], "grants": {"args": ["allow"]}},
        {"name": "mover", "hook": wasm("probe"), "execute_on": ["pre-delete"], "grants": {"args": ["handled"]}},
        {"name": "never", "hook": wasm("probe"), "execute_on": ["pre-delete"], "grants": {"args": ["panic"]}},
    ]);
    let host = host(config_with(hooks, json!([]))).await;
    let outcome = host
        .dispatch(FsEvent::new(
            FsAction::PreDelete,
            "alice",
            "/srv/a",
            Protocol::Sftp,
        ))
        .await;
    assert_eq!(outcome.decision, Decision::Handled);
    let ran: Vec<&str> = outcome.reports.iter().map(|r| &*r.hook).collect();
    assert_eq!(ran, ["not-mine", "mover"]);
}

#[tokio::test]
async fn notification_hooks_all_run() {
    let hooks = json!([
        {"name": "a", "hook": wasm("probe"), "execute_on": ["rename"], "grants": {"args": ["allow"]}},
        {"name": "b", "hook": wasm("probe"), "execute_on": ["rename"], "grants": {"args": ["deny"]}},
        {"name": "c", "hook": wasm("probe"), "execute_on": ["rename"], "grants": {"args": ["allow"]}},
    ]);
    let host = host(config_with(hooks, json!([]))).await;
    let outcome = host
        .dispatch(FsEvent::new(
            FsAction::Rename,
            "alice",
            "/a",
            Protocol::Sftp,
        ))
        .wait_for_all()
        .await;
    assert_eq!(outcome.reports.len(), 3);
    assert_eq!(
        outcome.decision,
        Decision::Failed("b: probe says no".into())
    );
}

#[tokio::test]
async fn unconfigured_actions_run_nothing() {
    let host = host(config_with(json!([record(json!(["upload"]))]), json!([]))).await;
    let outcome = host
        .dispatch(FsEvent::new(FsAction::PreUpload, "a", "/x", Protocol::Sftp))
        .await;
    assert_eq!(outcome.decision, Decision::Allow);
    assert!(outcome.reports.is_empty());
}

fn user(home: &Path) -> Value {
    json!({"id": 3, "username": "carol", "home_dir": home, "status": 1})
}

#[tokio::test]
async fn provider_hooks_fire_only_for_configured_actions_and_objects() {
    let home = tempfile::tempdir().unwrap();
    let mut config = config_with(json!([]), json!([record(json!(["add"]))]));
    config["data_provider"]["actions"]["execute_for"] = json!(["user", "admin"]);
    let host = host(config).await;
    let add = ProviderEvent::new(ProviderAction::Add, ObjectType::User, user(home.path()));
    assert_eq!(
        host.dispatch(add.clone())
            .wait_for_all()
            .await
            .reports
            .len(),
        1
    );
    let delete = ProviderEvent::new(ProviderAction::Delete, ObjectType::User, user(home.path()));
    assert!(
        host.dispatch(delete.clone())
            .wait_for_all()
            .await
            .reports
            .is_empty()
    );
    let folder = ProviderEvent::new(
        ProviderAction::Add,
        ObjectType::Folder,
        json!({"name": "f"}),
    );
    assert!(
        host.dispatch(folder.clone())
            .wait_for_all()
            .await
            .reports
            .is_empty()
    );
    let admin = ProviderEvent::new(
        ProviderAction::Add,
        ObjectType::Admin,
        json!({"username": "root", "home_dir": home.path()}),
    );
    assert_eq!(
        host.dispatch(admin.clone())
            .wait_for_all()
            .await
            .reports
            .len(),
        1
    );
    assert_eq!(host.dispatch(add).await.decision, Decision::Queued);
    host.shutdown().await;
}

#[tokio::test]
async fn internal_updates_run_no_hook() {
    let home = tempfile::tempdir().unwrap();
    let host = host(config_with(json!([]), json!([record(json!(["update"]))]))).await;
    let last_login =
        ProviderEvent::new(ProviderAction::Update, ObjectType::User, user(home.path())).internal();
    let outcome = host.dispatch(last_login.clone()).await;
    assert_eq!(outcome.decision, Decision::Allow);
    assert!(outcome.reports.is_empty());
    assert!(
        host.dispatch(last_login.clone())
            .wait_for_all()
            .await
            .reports
            .is_empty()
    );
    assert!(!home.path().join("provider.argv").exists());
}

#[tokio::test]
async fn without_execute_for_provider_hooks_fire_for_no_object_as_in_sftpgo_2_2() {
    let host = host(config_with(json!([]), json!([record(json!(["add"]))]))).await;
    let home = tempfile::tempdir().unwrap();
    let add = ProviderEvent::new(ProviderAction::Add, ObjectType::User, user(home.path()));
    assert!(host.dispatch(add).wait_for_all().await.reports.is_empty());
}

#[tokio::test]
async fn without_execute_for_sftpgo_2_1s_provider_hooks_fire_for_users_only() {
    let mut config = config_with(json!([]), json!([record(json!(["add"]))]));
    config["hookhost"]["sftpgo_version"] = json!("2.1");
    let host = host(config).await;
    let folder = ProviderEvent::new(
        ProviderAction::Add,
        ObjectType::Folder,
        json!({"name": "f"}),
    );
    assert!(
        host.dispatch(folder.clone())
            .wait_for_all()
            .await
            .reports
            .is_empty()
    );
    let home = tempfile::tempdir().unwrap();
    let add = ProviderEvent::new(ProviderAction::Add, ObjectType::User, user(home.path()));
    assert_eq!(
        host.dispatch(add.clone())
            .wait_for_all()
            .await
            .reports
            .len(),
        1
    );
}

#[tokio::test]
async fn wasm_provider_hook_receives_the_sanitized_object() {
    let out = tempfile::tempdir().unwrap();
    let hooks = json!([
        {"name": "echo", "hook": wasm("provider-echo"), "execute_on": ["add", "update"], "execute_for": ["user", "folder"],
         "grants": {"dirs": [{"host": out.path(), "guest": "/out", "writable": true}]}},
        {"name": "failing", "hook": wasm("provider-echo"), "execute_on": ["delete"], "execute_for": ["user"], "grants": {"args": ["fail"]}},
    ]);
    let host = host(config_with(json!([]), hooks)).await;
    let event = ProviderEvent::new(
        ProviderAction::Update,
        ObjectType::User,
        json!({"username": "dave", "password": "hunter2", "status": 1}),
    );
    assert_eq!(
        host.dispatch(event.clone()).wait_for_all().await.decision,
        Decision::Allow
    );
    let folder = ProviderEvent::new(
        ProviderAction::Add,
        ObjectType::Folder,
        json!({"name": "shared"}),
    );
    assert_eq!(
        host.dispatch(folder.clone()).wait_for_all().await.decision,
        Decision::Allow
    );
    let log = lines(out.path().join("provider.log"));
    assert_eq!(
        log,
        [
            // SFTPGo's key order (as received), its password hash dropped.
            r#"update user dave {"username":"dave","status":1}"#,
            r#"add folder shared {"name":"shared"}"#
        ]
    );
    let delete = ProviderEvent::new(
        ProviderAction::Delete,
        ObjectType::User,
        json!({"username": "dave"}),
    );
    let outcome = host.dispatch(delete.clone()).wait_for_all().await;
    assert_eq!(
        outcome.reports[0].result,
        Ok(Answer::Deny("provider-echo fails on request".into()))
    );
}
