//! Golden tests: what a program or URL behind hookhost receives, per SFTPGo
//! release, byte for byte, written out from the fact sheet
//! (`../shared/reference/sftpgo-current.md`) rather than computed by the
//! code under test.

use std::path::Path;
use std::time::Duration;

use hookhost::Decision;
use hookhost::event::{
    FsAction, FsEvent, FsProvider, ObjectType, Protocol, ProviderAction, ProviderEvent, Status,
};
use hookhost::hook::Failure;
use hookhost_tests::recorder::Recorder;
use hookhost_tests::{exec_fixture, host, lines, test_settings};
use serde_json::{Value, json};

/// The configuration of every golden run: one hook for every action, a
/// `command` section that names it, the release pinned.
fn pinned(version: &str, fs_hook: Value, provider_hook: Value, record_dir: &Path) -> Value {
    let all: Vec<&str> = FsAction::ALL.iter().map(|a| a.as_str()).collect();
    let mut settings = test_settings();
    settings["sftpgo_version"] = json!(version);
    json!({
        "common": {"actions": {"execute_on": all, "hook": fs_hook}},
        "data_provider": {"actions": {"execute_on": ["add", "update", "delete"],
            "execute_for": ["user"], "hook": provider_hook}},
        "command": {
            "timeout": 20,
            "env": [format!("RECORD_DIR={}", record_dir.display()), "HOOK_SITE=lab"],
            "commands": [
                {"path": exec_fixture("record-all"), "hook": "fs_actions",
                 "args": ["--from-command"], "env": ["HOOK_KIND=fs"]},
                {"path": exec_fixture("record-all"), "hook": "provider_actions",
                 "args": ["--provider"], "env": ["HOOK_KIND=provider"]},
            ]
        },
        "http": {"timeout": 5, "retry_wait_min": 0, "retry_wait_max": 0, "retry_max": 0},
        "hookhost": settings,
    })
}

/// An upload with every field today's SFTPGo sends set.
fn full_event(action: FsAction, dir: &Path) -> FsEvent {
    let path = dir.join("in").join("a.txt");
    let mut event = FsEvent::new(action, "alice", path.to_str().unwrap(), Protocol::Sftp);
    event.virtual_path = Some("/in/a.txt".into());
    event.file_size = 4096;
    event.fs_provider = FsProvider::S3;
    event.bucket = Some("bkt".into());
    event.endpoint = Some("https://s3.example.com".into());
    event.status = Status::QuotaExceeded;
    event.ip = Some("10.0.0.7".into());
    event.session_id = Some("SFTP_cn5pdqbkj4vc73b5lk0g".into());
    event.timestamp = Some(1_700_000_000_123_456_789);
    event.role = Some("ops".into());
    event.elapsed = 250;
    event.metadata = [("etag".to_owned(), "x<y".to_owned())].into();
    match action {
        FsAction::Rename | FsAction::Copy => {
            event.target_path = Some(dir.join("out.txt").display().to_string());
            event.virtual_target_path = Some("/out.txt".into());
        }
        FsAction::SshCmd => event.ssh_cmd = Some("sha256sum /in/a.txt".into()),
        FsAction::PreUpload => event.open_flags = 578,
        _ => {}
    }
    event
}

/// The sorted `SFTPGO_ACTION*` lines a program gets for `event`, per the
/// fact sheet's tables for the release (`since_*` say which fields it has).
fn expected_fs_env(event: &FsEvent, release: &str) -> Vec<String> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let reference = release == "2.1";
    let has = |since: &str| !reference && version_at_least(release, since);
    let status = if reference { "2" } else { "3" };
    let mut env = vec![
        format!("SFTPGO_ACTION={}", event.action),
        format!("SFTPGO_ACTION_BUCKET={}", text(&event.bucket)),
        format!("SFTPGO_ACTION_ENDPOINT={}", text(&event.endpoint)),
        format!("SFTPGO_ACTION_FILE_SIZE={}", event.file_size),
        "SFTPGO_ACTION_FS_PROVIDER=1".to_owned(),
        format!("SFTPGO_ACTION_OPEN_FLAGS={}", event.open_flags),
        format!("SFTPGO_ACTION_PATH={}", event.path),
        "SFTPGO_ACTION_PROTOCOL=SFTP".to_owned(),
        format!("SFTPGO_ACTION_SSH_CMD={}", text(&event.ssh_cmd)),
        format!("SFTPGO_ACTION_STATUS={status}"),
        format!("SFTPGO_ACTION_TARGET={}", text(&event.target_path)),
        "SFTPGO_ACTION_USERNAME=alice".to_owned(),
    ];
    if has("2.2") {
        env.push("SFTPGO_ACTION_IP=10.0.0.7".into());
        env.push("SFTPGO_ACTION_TIMESTAMP=1700000000123456789".into());
        env.push("SFTPGO_ACTION_VIRTUAL_PATH=/in/a.txt".into());
        env.push(format!(
            "SFTPGO_ACTION_VIRTUAL_TARGET={}",
            text(&event.virtual_target_path)
        ));
    }
    if has("2.2.1") {
        env.push("SFTPGO_ACTION_SESSION_ID=SFTP_cn5pdqbkj4vc73b5lk0g".into());
    }
    if has("2.5") {
        env.push("SFTPGO_ACTION_ELAPSED=250".into());
        env.push("SFTPGO_ACTION_ROLE=ops".into());
    }
    if has("2.6") {
        env.push(r#"SFTPGO_ACTION_METADATA={"etag":"x\u003cy"}"#.into());
    }
    env.sort();
    env
}

fn version_at_least(release: &str, since: &str) -> bool {
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap()).collect() };
    let (mut a, mut b) = (parse(release), parse(since));
    a.resize(3, 0);
    b.resize(3, 0);
    a >= b
}

#[tokio::test]
async fn programs_get_each_releases_argv_and_environment_for_every_action() {
    for release in ["2.1", "2.2", "2.3", "2.4", "2.5", "2.7.5"] {
        let dir = tempfile::tempdir().unwrap();
        let host = host(pinned(
            release,
            json!(exec_fixture("record-all")),
            json!(""),
            dir.path(),
        ))
        .await;
        std::fs::create_dir_all(dir.path().join("in")).unwrap();
        for &action in FsAction::ALL {
            let event = full_event(action, dir.path());
            let outcome = host.dispatch(event.clone()).wait_for_all().await;
            assert!(
                outcome.decision.is_success(),
                "{release} {action}: {outcome:?}"
            );
            // Before 2.3 the program writes next to the file; from 2.3
            // into RECORD_DIR, which only `command.env` gives it.
            let out = if version_at_least(release, "2.3") {
                dir.path().to_path_buf()
            } else {
                dir.path().join("in")
            };
            let argv = lines(out.join(format!("{action}.argv")));
            let env = lines(out.join(format!("{action}.env")));
            let expected_argv: Vec<String> = match release {
                "2.1" => vec![
                    action.to_string(),
                    "alice".into(),
                    event.path.clone(),
                    event.target_path.clone().unwrap_or_default(),
                    event.ssh_cmd.clone().unwrap_or_default(),
                ],
                "2.2" | "2.3" => vec![],
                _ => vec!["--from-command".into()],
            };
            assert_eq!(argv, expected_argv, "{release} {action}: argv");
            let expected_env = expected_fs_env(&event, release);
            if version_at_least(release, "2.4") {
                // A cleared environment: the command section's variables
                // and SFTPGo's, nothing else.
                let mut all = expected_env.clone();
                all.extend([
                    format!("RECORD_DIR={}", dir.path().display()),
                    "HOOK_SITE=lab".into(),
                    "HOOK_KIND=fs".into(),
                ]);
                all.sort();
                assert_eq!(env, all, "{release} {action}: environment");
            } else {
                // Inherited: hookhost's own environment underneath.
                let sftpgo: Vec<String> = env
                    .iter()
                    .filter(|l| l.starts_with("SFTPGO_"))
                    .cloned()
                    .collect();
                assert_eq!(sftpgo, expected_env, "{release} {action}: SFTPGO_*");
                assert!(env.iter().any(|l| l.starts_with("PATH=")), "{release}");
                let command_env = env.iter().any(|l| l == "HOOK_SITE=lab");
                assert_eq!(command_env, release == "2.3", "{release}: command.env");
            }
        }
    }
}

#[tokio::test]
async fn urls_get_each_releases_body_in_sftpgos_field_order() {
    let expected = [
        (
            "2.1",
            r#"{"action":"upload","username":"alice","path":"PATH","file_size":4096,"fs_provider":1,"bucket":"bkt","endpoint":"https://s3.example.com","status":2,"protocol":"SFTP"}"#,
        ),
        (
            "2.2",
            r#"{"action":"upload","username":"alice","path":"PATH","virtual_path":"/in/a.txt","file_size":4096,"fs_provider":1,"bucket":"bkt","endpoint":"https://s3.example.com","status":3,"protocol":"SFTP","ip":"10.0.0.7","timestamp":1700000000123456789}"#,
        ),
        (
            "2.4",
            r#"{"action":"upload","username":"alice","path":"PATH","virtual_path":"/in/a.txt","file_size":4096,"fs_provider":1,"bucket":"bkt","endpoint":"https://s3.example.com","status":3,"protocol":"SFTP","ip":"10.0.0.7","session_id":"SFTP_cn5pdqbkj4vc73b5lk0g","timestamp":1700000000123456789}"#,
        ),
        (
            "2.5",
            r#"{"action":"upload","username":"alice","path":"PATH","virtual_path":"/in/a.txt","file_size":4096,"fs_provider":1,"bucket":"bkt","endpoint":"https://s3.example.com","status":3,"protocol":"SFTP","ip":"10.0.0.7","session_id":"SFTP_cn5pdqbkj4vc73b5lk0g","timestamp":1700000000123456789,"role":"ops","elapsed":250}"#,
        ),
        (
            "2.7",
            r#"{"action":"upload","username":"alice","path":"PATH","virtual_path":"/in/a.txt","file_size":4096,"fs_provider":1,"bucket":"bkt","endpoint":"https://s3.example.com","status":3,"protocol":"SFTP","ip":"10.0.0.7","session_id":"SFTP_cn5pdqbkj4vc73b5lk0g","timestamp":1700000000123456789,"role":"ops","elapsed":250,"metadata":{"etag":"x\u003cy"}}"#,
        ),
    ];
    let server = Recorder::start(&[], 200).await;
    let dir = tempfile::tempdir().unwrap();
    for (release, body) in expected {
        let host = host(pinned(release, json!(server.url), json!(""), dir.path())).await;
        let event = full_event(FsAction::Upload, dir.path());
        host.dispatch(event.clone()).wait_for_all().await;
        let got = server.next().await;
        assert_eq!(got.headers["content-type"], "application/json");
        let expected = format!("{}\n", body.replace("PATH", &event.path));
        assert_eq!(
            std::str::from_utf8(&got.body).unwrap(),
            expected,
            "{release}"
        );
        // Every other action: the same fields by the same rules.
        for &action in FsAction::ALL {
            let event = full_event(action, dir.path());
            host.dispatch(event.clone()).wait_for_all().await;
            let got = server.next().await.json();
            assert_eq!(got["action"], action.as_str(), "{release}");
            assert_eq!(
                got.get("virtual_path").is_some(),
                release != "2.1",
                "{release} {action}"
            );
            assert_eq!(
                got.get("open_flags").is_some(),
                action == FsAction::PreUpload,
                "{release} {action}"
            );
            assert_eq!(
                got.get("target_path").is_some(),
                matches!(action, FsAction::Rename | FsAction::Copy),
                "{release} {action}"
            );
        }
    }
}

fn provider_event() -> ProviderEvent {
    let object = br#"{"id":4,"status":1,"username":"bob","home_dir":"/srv/bob","filters":{"totp_config":{"secret":{"status":"Secretbox","payload":"ENC"}}}}"#;
    let mut event =
        ProviderEvent::from_json(ProviderAction::Update, ObjectType::User, object).unwrap();
    event.executor = Some("admin".into());
    event.ip = Some("10.0.0.9".into());
    event.role = Some("ops".into());
    event.timestamp = Some(1_700_000_000_123_456_789);
    event
}

const PROVIDER_OBJECT: &str = r#"{"id":4,"status":1,"username":"bob","home_dir":"/srv/bob","filters":{"totp_config":{"secret":{"status":"Secretbox","payload":"ENC"}}}}"#;

#[tokio::test]
async fn provider_programs_get_each_releases_environment() {
    for (release, action, role) in [
        ("2.4", "updates", false),
        ("2.6.4", "updates", true),
        ("2.6.5", "update", true),
        ("2.7", "update", true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let host = host(pinned(
            release,
            json!(""),
            json!(exec_fixture("record-all")),
            dir.path(),
        ))
        .await;
        let outcome = host.dispatch(provider_event()).wait_for_all().await;
        assert_eq!(outcome.decision, Decision::Allow, "{release}");
        let mut expected = vec![
            format!("SFTPGO_PROVIDER_ACTION={action}"),
            "SFTPGO_PROVIDER_IP=10.0.0.9".to_owned(),
            format!("SFTPGO_PROVIDER_OBJECT={PROVIDER_OBJECT}"),
            "SFTPGO_PROVIDER_OBJECT_NAME=bob".to_owned(),
            "SFTPGO_PROVIDER_OBJECT_TYPE=user".to_owned(),
            // Milliseconds, as SFTPGo's code writes it.
            "SFTPGO_PROVIDER_TIMESTAMP=1700000000123".to_owned(),
            "SFTPGO_PROVIDER_USERNAME=admin".to_owned(),
            format!("RECORD_DIR={}", dir.path().display()),
            "HOOK_SITE=lab".to_owned(),
            "HOOK_KIND=provider".to_owned(),
        ];
        if role {
            expected.push("SFTPGO_PROVIDER_ROLE=ops".into());
        }
        expected.sort();
        assert_eq!(
            lines(dir.path().join(format!("{action}.env"))),
            expected,
            "{release}"
        );
        assert_eq!(
            lines(dir.path().join(format!("{action}.argv"))),
            ["--provider"],
            "{release}"
        );
    }
}

#[tokio::test]
async fn provider_urls_get_each_releases_query_and_the_object_as_sent() {
    let server = Recorder::start(&[], 200).await;
    let dir = tempfile::tempdir().unwrap();
    let hook = format!("{}/p?token=a%20b", server.url);
    for (release, query) in [
        ("2.1", "action=update&token=a+b"),
        (
            "2.4",
            "action=update&ip=10.0.0.9&object_name=bob&object_type=user&timestamp=1700000000123456789&token=a+b&username=admin",
        ),
        (
            "2.7",
            "action=update&ip=10.0.0.9&object_name=bob&object_type=user&role=ops&timestamp=1700000000123456789&token=a+b&username=admin",
        ),
    ] {
        let host = host(pinned(release, json!(""), json!(hook), dir.path())).await;
        host.dispatch(provider_event()).wait_for_all().await;
        let got = server.next().await;
        assert_eq!(got.uri.to_string(), format!("/p?{query}"), "{release}");
        assert_eq!(&got.body[..], PROVIDER_OBJECT.as_bytes(), "{release}");
    }
}

#[tokio::test]
async fn the_command_section_times_programs_from_2_3_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = pinned("2.4", json!(""), json!(""), dir.path());
    config["common"]["actions"]["hook"] = json!(exec_fixture("hang"));
    config["command"]["commands"] = json!([{"path": exec_fixture("hang"), "timeout": 1}]);
    let host = host(config).await;
    let event = full_event(FsAction::PreUpload, dir.path());
    let outcome = host.dispatch(event.clone()).wait_for_all().await;
    assert_eq!(
        outcome.reports[0].result,
        Err(Failure::Timeout(Duration::from_secs(1)))
    );
}
