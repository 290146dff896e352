//! Plugins as components, through the host API, with the example plugins.

use std::path::Path;
use std::time::Duration;

use hookhost::event::{
    FsAction, FsEvent, LogEvent, LogEventKind, ObjectType, Protocol, ProviderAction, ProviderEvent,
};
use hookhost::hook::Failure;
use hookhost::plugin::Credential::{KeyboardInteractive, Password, PublicKey, TlsCertificate};
use hookhost::plugin::kms::Secret;
use hookhost::plugin::search::{CommonSearch, FsEventSearch, Order, ProviderEventSearch};
use hookhost::plugin::{NotifierStats, PluginError};
use hookhost::{Config, Host, ReloadableHost};
use hookhost_tests::guests::wasm;
use hookhost_tests::{host, host_error, host_with_env, plugins_config, repo_root};
use serde_json::{Value, json};

/// A stored provider event's object: base64 bytes, as SFTPGo's event store
/// keeps them.
fn object_data(event: &Value) -> Value {
    use base64::Engine;
    let text = event["object_data"]
        .as_str()
        .expect("object_data is base64 text");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("object_data is base64");
    serde_json::from_slice(&bytes).expect("object_data is the object's JSON")
}

fn notifier(dir: &Path, options: Value) -> Value {
    json!({"type": "notifier", "cmd": wasm("notifier-jsonl"), "args": ["/events"],
           "notifier_options": options,
           "grants": {"dirs": [{"host": dir, "guest": "/events", "writable": true}]}})
}

fn upload(user: &str, path: &str, timestamp: i64) -> FsEvent {
    let mut event = FsEvent::new(FsAction::Upload, user, path, Protocol::Sftp);
    event.timestamp = Some(timestamp);
    event.file_size = 10;
    event
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn jsonl(path: impl AsRef<Path>) -> Vec<Value> {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Wait (at most 10 s) until the first notifier's counters satisfy `done`.
async fn wait_notifier(host: &Host, done: impl FnMut(&NotifierStats) -> bool) -> NotifierStats {
    let mut stats = host.plugins().info()[0]
        .notifier
        .clone()
        .expect("a notifier");
    let result = tokio::time::timeout(Duration::from_secs(10), stats.wait_for(done)).await;
    *result
        .expect("notifier counters never got there")
        .expect("notifier running")
}

#[tokio::test]
async fn notifier_receives_the_events_its_options_select() {
    let dir = tempfile::tempdir().unwrap();
    let options = json!({"fs_events": ["upload"], "provider_events": ["add"], "provider_objects": ["user"],
                         "log_events": [1, 5], "retry_max_time": 60});
    let host = host(plugins_config(json!([notifier(dir.path(), options)]))).await;
    host.dispatch(upload("alice", "/a.txt", 1_000)).await;
    host.dispatch(FsEvent::new(
        FsAction::Download,
        "alice",
        "/a.txt",
        Protocol::Sftp,
    ))
    .await;
    host.dispatch(ProviderEvent::new(
        ProviderAction::Add,
        ObjectType::User,
        json!({"username": "bob", "password": "x"}),
    ))
    .await;
    host.dispatch(ProviderEvent::new(
        ProviderAction::Add,
        ObjectType::Folder,
        json!({"name": "f"}),
    ))
    .await;
    host.dispatch(ProviderEvent::new(
        ProviderAction::Delete,
        ObjectType::User,
        json!({"username": "bob"}),
    ))
    .await;
    let login = |kind| LogEvent {
        kind,
        protocol: Protocol::Ssh,
        username: "mallory".into(),
        ip: "10.0.0.9".into(),
        message: "wrong password".into(),
        timestamp: None,
        role: None,
    };
    host.dispatch(login(LogEventKind::LoginFailed)).await;
    host.dispatch(login(LogEventKind::NoLoginTried)).await;
    host.shutdown().await;

    let fs = jsonl(dir.path().join("fs.jsonl"));
    assert_eq!(fs.len(), 1);
    assert_eq!(
        (
            fs[0]["action"].as_str(),
            fs[0]["fs_path"].as_str(),
            fs[0]["timestamp"].as_i64()
        ),
        (Some("upload"), Some("/a.txt"), Some(1_000))
    );
    let provider = jsonl(dir.path().join("provider.jsonl"));
    assert_eq!(provider.len(), 1);
    assert_eq!(provider[0]["object_name"], "bob");
    assert!(
        object_data(&provider[0]).get("password").is_none(),
        "secrets never reach plugins"
    );
    assert!(
        provider[0]["timestamp"].as_i64().unwrap() > 1_600_000_000_000_000_000,
        "the host timestamps events"
    );
    let log = jsonl(dir.path().join("log.jsonl"));
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0]["event"].as_i64(), log[0]["ip"].as_str()),
        (Some(1), Some("10.0.0.9"))
    );
}

/// A host whose notifier plugin (`options`) starts paused: its deliveries
/// fail until the `paused` file in the returned directory is removed.
async fn paused_notifier(options: Value) -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("paused"), "").unwrap();
    let host = host(plugins_config(json!([notifier(dir.path(), options)]))).await;
    (dir, host)
}

/// The paths of the fs events the notifier in `dir` delivered, in order.
fn delivered_paths(dir: &Path) -> Vec<String> {
    jsonl(dir.join("fs.jsonl"))
        .iter()
        .map(|e| e["fs_path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn notifier_down_then_recovering_gets_every_queued_event_once() {
    let (dir, host) = paused_notifier(
        json!({"fs_events": ["upload"], "retry_max_time": 60, "retry_interval_ms": 50}),
    )
    .await;
    let now = now_ns();
    for i in 0..5 {
        host.dispatch(upload("alice", &format!("/f{i}"), now + i))
            .await;
    }
    let stats = wait_notifier(&host, |s| s.queued == 5).await;
    assert_eq!((stats.delivered, stats.dropped), (0, 0));
    std::fs::remove_file(dir.path().join("paused")).unwrap();
    let stats = wait_notifier(&host, |s| s.delivered == 5).await;
    assert_eq!((stats.queued, stats.dropped), (0, 0));
    let paths = delivered_paths(dir.path());
    assert_eq!(
        paths,
        ["/f0", "/f1", "/f2", "/f3", "/f4"],
        "each event once, in order"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn queued_events_age_by_the_hosts_clock_not_the_clients_timestamp() {
    let (_dir, host) = paused_notifier(
        json!({"fs_events": ["upload"], "retry_max_time": 1, "retry_interval_ms": 100}),
    )
    .await;
    let now = now_ns();
    let hour = 3_600_000_000_000;
    // Dated now, an hour ago and an hour ahead: all three are queued (a
    // past date is no reason to drop an event before any retry) ...
    for (i, ts) in [now, now - hour, now + hour].into_iter().enumerate() {
        host.dispatch(upload("alice", &format!("/f{i}"), ts)).await;
    }
    let stats = wait_notifier(&host, |s| s.queued == 3).await;
    assert_eq!(stats.dropped, 0);
    // ... and all three age out after retry_max_time of hookhost's time (a
    // future date would have kept one queued forever).
    let stats = wait_notifier(&host, |s| s.dropped == 3).await;
    assert_eq!((stats.queued, stats.delivered), (0, 0));
    host.shutdown().await;
}

#[tokio::test]
async fn a_full_retry_queue_drops_and_counts_the_overflow() {
    let (dir, host) = paused_notifier(json!({"fs_events": ["upload"], "retry_max_time": 60, "retry_queue_max_size": 2, "retry_interval_ms": 50})).await;
    let now = now_ns();
    for i in 0..5 {
        host.dispatch(upload("alice", &format!("/f{i}"), now + i))
            .await;
    }
    let stats = wait_notifier(&host, |s| s.queued + s.dropped == 5).await;
    assert_eq!((stats.queued, stats.dropped), (2, 3));
    std::fs::remove_file(dir.path().join("paused")).unwrap();
    let stats = wait_notifier(&host, |s| s.delivered == 2).await;
    assert_eq!(stats.dropped, 3);
    host.shutdown().await;
    let paths = delivered_paths(dir.path());
    assert_eq!(
        paths,
        ["/f0", "/f1"],
        "the queued events, each exactly once; the overflow dropped"
    );
}

#[tokio::test]
async fn a_burst_beyond_the_inbox_waits_instead_of_being_dropped() {
    // 6,000 events in one go, with no retry at all: before SFTPGo-like
    // back-pressure, the 1,904 that found the inbox full were dropped on
    // their first try.
    let dir = tempfile::tempdir().unwrap();
    let host = host(plugins_config(json!([notifier(
        dir.path(),
        json!({"fs_events": ["upload"]})
    )])))
    .await;
    let now = now_ns();
    for i in 0..6000 {
        host.dispatch(upload("alice", &format!("/f{i}"), now + i))
            .await;
    }
    let stats = wait_notifier(&host, |s| s.delivered == 6000).await;
    assert_eq!((stats.dropped, stats.waiting), (0, 0));
    host.shutdown().await;
    assert_eq!(delivered_paths(dir.path()).len(), 6000);
}

#[tokio::test]
async fn pre_actions_are_notified_as_sftpgo_does() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(plugins_config(json!([notifier(
        dir.path(),
        json!({"fs_events": ["pre-upload", "pre-delete", "first-upload", "copy"]})
    )])))
    .await;
    for action in [
        FsAction::PreUpload,
        FsAction::PreDelete,
        FsAction::FirstUpload,
        FsAction::Copy,
        FsAction::Upload,
    ] {
        let event = FsEvent::new(action, "alice", "/f", Protocol::Sftp);
        host.dispatch(event).await;
    }
    wait_notifier(&host, |s| s.delivered == 4).await;
    host.shutdown().await;
    let actions: Vec<String> = jsonl(dir.path().join("fs.jsonl"))
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        ["pre-upload", "pre-delete", "first-upload", "copy"]
    );
}

#[tokio::test]
async fn retry_max_time_zero_means_no_retry() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("paused"), "").unwrap();
    let host = host(plugins_config(json!([notifier(
        dir.path(),
        json!({"fs_events": ["upload"]})
    )])))
    .await;
    host.dispatch(upload("alice", "/f", now_ns())).await;
    let stats = wait_notifier(&host, |s| s.dropped == 1).await;
    assert_eq!(stats.queued, 0);
    host.shutdown().await;
}

/// The journal's entries left in `state` (no host using it).
fn journal_left(state: &Path) -> usize {
    hookhost::journal::Journal::open(state)
        .unwrap()
        .pending()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_journaled_notifier_keeps_what_it_could_not_deliver_across_restarts_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    std::fs::create_dir(&events).unwrap();
    std::fs::write(events.join("paused"), "").unwrap();
    let state = dir.path().join("state");
    let with_interval = |ms: u64| {
        let options = json!({"fs_events": ["upload"], "provider_events": ["add"],
            "provider_objects": ["user"], "log_events": [1],
            "retry_max_time": 60, "retry_interval_ms": ms});
        let mut config = plugins_config(json!([notifier(&events, options)]));
        config["hookhost"]["state_dir"] = json!(state);
        Config::from_value(config, &repo_root()).unwrap()
    };

    // The plugin is down: three events of three kinds are taken, refused,
    // queued; the shutdown's last pass fails too. Without a journal they
    // would be dropped now; with one they are kept.
    let first = Host::new(with_interval(3_600_000)).await.unwrap();
    first.dispatch(upload("alice", "/a.txt", 1_000)).await;
    first
        .dispatch(ProviderEvent::new(
            ProviderAction::Add,
            ObjectType::User,
            json!({"username": "bob", "password": "x"}),
        ))
        .await;
    first
        .dispatch(LogEvent {
            kind: LogEventKind::LoginFailed,
            protocol: Protocol::Ftp,
            username: "mallory".into(),
            ip: "10.0.0.9".into(),
            message: "wrong password".into(),
            timestamp: Some(7),
            role: Some("ops".into()),
        })
        .await;
    wait_notifier(&first, |s| s.queued == 3).await;
    first.shutdown().await;
    let stats = *first.plugins().info()[0]
        .notifier
        .as_ref()
        .unwrap()
        .borrow();
    assert_eq!(
        (stats.delivered, stats.dropped),
        (0, 0),
        "kept, not dropped"
    );
    drop(first);
    assert_eq!(journal_left(&state), 3);

    // A restart (plugin still down) replays them into the notifier's queue;
    // a reload hands the queue to the new configuration's notifier.
    let reloadable = ReloadableHost::build(Host::builder(with_interval(3_600_000)))
        .await
        .unwrap();
    wait_notifier(&*reloadable.lease().await, |s| s.queued == 3).await;
    reloadable.reload(with_interval(50)).await.unwrap();
    // The old configuration retires in the background; its notifier's
    // events arrive in the new one's queue.
    wait_notifier(&*reloadable.lease().await, |s| s.queued == 3).await;
    std::fs::remove_file(events.join("paused")).unwrap();
    let stats = wait_notifier(&*reloadable.lease().await, |s| s.delivered == 3).await;
    assert_eq!((stats.dropped, stats.queued), (0, 0));
    reloadable.shutdown().await;
    drop(reloadable);
    assert_eq!(
        journal_left(&state),
        0,
        "delivered events leave the journal"
    );

    // Each delivered once, as it was first received.
    let fs = jsonl(events.join("fs.jsonl"));
    assert_eq!(fs.len(), 1);
    assert_eq!(
        (fs[0]["fs_path"].as_str(), fs[0]["timestamp"].as_i64()),
        (Some("/a.txt"), Some(1_000))
    );
    let provider = jsonl(events.join("provider.jsonl"));
    assert_eq!(provider.len(), 1);
    assert_eq!(provider[0]["object_name"], "bob");
    assert!(object_data(&provider[0]).get("password").is_none());
    let log = jsonl(events.join("log.jsonl"));
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            log[0]["event"].as_i64(),
            log[0]["protocol"].as_str(),
            log[0]["timestamp"].as_i64()
        ),
        (Some(1), Some("FTP"), Some(7))
    );
}

#[tokio::test]
async fn eventsearcher_finds_what_the_notifier_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let options = json!({"fs_events": ["upload", "delete"], "provider_events": ["add", "update"],
                         "provider_objects": ["user", "admin"], "retry_max_time": 60});
    let searcher = json!({"type": "eventsearcher", "cmd": wasm("eventsearcher-jsonl"), "args": ["/events"],
                          "grants": {"dirs": [{"host": dir.path(), "guest": "/events"}]}});
    let host = host(plugins_config(json!([
        notifier(dir.path(), options),
        searcher
    ])))
    .await;
    for (i, user) in ["alice", "bob", "alice", "alice", "carol"]
        .iter()
        .enumerate()
    {
        host.dispatch(upload(user, &format!("/{user}/{i}"), 100 + i as i64 / 2))
            .await;
    }
    let mut removal = FsEvent::new(FsAction::Delete, "alice", "/alice/0", Protocol::Ftp);
    removal.timestamp = Some(500);
    host.dispatch(removal).await;
    let mut add = ProviderEvent::new(
        ProviderAction::Add,
        ObjectType::Admin,
        json!({"username": "root"}),
    );
    add.timestamp = Some(600);
    host.dispatch(add).await;
    let stats = wait_notifier(&host, |s| s.delivered == 7).await;
    assert_eq!(stats.dropped, 0);

    let common = |limit: u32, order: Order| CommonSearch {
        start_timestamp: 0,
        end_timestamp: 0,
        actions: vec![],
        username: "alice".into(),
        ip: String::new(),
        instance_ids: vec![],
        from_id: String::new(),
        exclude_ids: vec![],
        limit,
        order,
        role: String::new(),
    };
    let search = |common: CommonSearch| FsEventSearch {
        common,
        ssh_cmd: String::new(),
        protocols: vec![],
        statuses: vec![],
        fs_provider: None,
        bucket: String::new(),
        endpoint: String::new(),
    };
    let plugins = host.plugins();
    let all = plugins
        .search_fs_events(&search(common(0, Order::Ascending)))
        .await
        .unwrap();
    let events: Vec<Value> = serde_json::from_str(&all.events).unwrap();
    let paths: Vec<&str> = events
        .iter()
        .map(|e| e["fs_path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/alice/0", "/alice/2", "/alice/3", "/alice/0"]);

    // Page through alice's uploads two at a time, newest first.
    let mut filter = search(common(2, Order::Descending));
    filter.common.actions = vec!["upload".into()];
    let first = plugins.search_fs_events(&filter).await.unwrap();
    let page: Vec<Value> = serde_json::from_str(&first.events).unwrap();
    assert_eq!(
        page.iter()
            .map(|e| e["fs_path"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["/alice/3", "/alice/2"]
    );
    let first_ids: Vec<String> = page
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let last_ts = page[1]["timestamp"].as_i64().unwrap();
    filter.common.end_timestamp = last_ts;
    filter.common.exclude_ids = first.same_ts_at_end.clone();
    let second = plugins.search_fs_events(&filter).await.unwrap();
    let page: Vec<Value> = serde_json::from_str(&second.events).unwrap();
    assert_eq!(
        page.iter()
            .map(|e| e["fs_path"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["/alice/0"]
    );
    // Today's SFTPGo pages with from_id instead: after that event, in order.
    let mut filter = search(common(2, Order::Descending));
    filter.common.actions = vec!["upload".into()];
    filter.common.from_id = first_ids[1].clone();
    let second = plugins.search_fs_events(&filter).await.unwrap();
    let page: Vec<Value> = serde_json::from_str(&second.events).unwrap();
    assert_eq!(
        page.iter()
            .map(|e| e["fs_path"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["/alice/0"]
    );

    let providers = plugins
        .search_provider_events(&ProviderEventSearch {
            common: CommonSearch {
                username: String::new(),
                ..common(0, Order::Ascending)
            },
            object_name: String::new(),
            object_types: vec!["admin".into()],
            omit_object_data: false,
        })
        .await
        .unwrap();
    let events: Vec<Value> = serde_json::from_str(&providers.events).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["object_name"], "root");
    host.shutdown().await;
}

#[tokio::test]
async fn ipfilter_allows_the_configured_ranges_only() {
    let filter = json!({"type": "ipfilter", "cmd": wasm("ipfilter-cidr"), "args": ["10.0.0.0/8", "192.168.1.7", "fd00::/8"]});
    let host = host(plugins_config(json!([filter]))).await;
    let plugins = host.plugins();
    for allowed in ["10.1.2.3", "192.168.1.7", "fd12::1", "::ffff:10.9.9.9"] {
        assert_eq!(plugins.check_ip(allowed, "SSH").await, Ok(()), "{allowed}");
    }
    for refused in ["192.168.1.8", "11.0.0.1", "::1"] {
        match plugins.check_ip(refused, "FTP").await {
            Err(PluginError::Refused { message, .. }) => {
                assert!(message.contains("not in an allowed range"), "{message}")
            }
            other => panic!("{refused}: {other:?}"),
        }
    }
    assert_eq!(plugins.reload_ip_filter().await, Ok(()));
}

#[tokio::test]
async fn without_an_ipfilter_every_ip_is_allowed() {
    let host = host(plugins_config(json!([]))).await;
    assert_eq!(host.plugins().check_ip("203.0.113.1", "SSH").await, Ok(()));
}

fn auth_config() -> Value {
    plugins_config(
        json!([{"type": "auth", "cmd": wasm("auth-file"), "args": ["/users/users.json"],
        "auth_options": {"scope": 7},
        "grants": {"dirs": [{"host": repo_root().join("tests/fixtures/users"), "guest": "/users"}]}}]),
    )
}

#[tokio::test]
async fn auth_plugin_checks_passwords_against_bcrypt_hashes() {
    let host = host(auth_config()).await;
    let plugins = host.plugins();
    let user = plugins
        .authenticate(
            "alice",
            Password("correct horse".into()),
            "10.0.0.1",
            "SSH",
            None,
        )
        .await
        .unwrap();
    let user: Value = serde_json::from_str(&user.expect("the user's object")).unwrap();
    assert_eq!(user["home_dir"], "/srv/sftpgo/alice");
    assert!(
        user.get("password").is_none(),
        "the hash is not handed back"
    );
    for (name, password) in [
        ("alice", "battery staple"),
        ("nobody", "correct horse"),
        ("alice", ""),
    ] {
        let refused = plugins
            .authenticate(name, Password(password.into()), "10.0.0.1", "SSH", None)
            .await;
        assert!(
            matches!(refused, Err(PluginError::Refused { .. })),
            "{name}/{password}: {refused:?}"
        );
    }
    assert!(plugins.has_auth_scope(1) && plugins.has_auth_scope(2) && plugins.has_auth_scope(4));
    assert!(!plugins.has_auth_scope(8));
    let tls = plugins
        .authenticate(
            "alice",
            TlsCertificate("PEM".into()),
            "10.0.0.1",
            "FTP",
            None,
        )
        .await;
    assert!(matches!(tls, Err(PluginError::NotConfigured(_))), "{tls:?}");
}

#[tokio::test]
async fn auth_plugin_checks_public_keys_and_keyboard_interactive() {
    use hookhost::plugin::auth::KeyboardRequest;
    let host = host(auth_config()).await;
    let plugins = host.plugins();
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHookHostTestKeyAliceAAAAAAAAAAAAAAAAAAAA";
    assert!(
        plugins
            .authenticate("alice", PublicKey(key.into()), "::1", "SSH", None)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        plugins
            .authenticate("bob", PublicKey(key.into()), "::1", "SSH", None)
            .await
            .is_err()
    );
    assert!(
        plugins
            .authenticate("alice", KeyboardInteractive, "::1", "SSH", None)
            .await
            .is_ok()
    );
    let request = |step, answers: Vec<String>| KeyboardRequest {
        request_id: "r1".into(),
        username: "alice".into(),
        password: String::new(),
        ip: "::1".into(),
        answers,
        questions: vec![],
        step,
    };
    let first = plugins
        .send_keyboard_auth_request(&request(1, vec![]))
        .await
        .unwrap();
    assert_eq!(
        (
            first.questions.len(),
            first.echos.as_slice(),
            first.auth_result
        ),
        (1, [false].as_slice(), 0)
    );
    let second = plugins
        .send_keyboard_auth_request(&request(2, vec!["correct horse".into()]))
        .await
        .unwrap();
    assert_eq!(second.auth_result, 1);
    assert!(
        plugins
            .send_keyboard_auth_request(&request(2, vec!["nope".into()]))
            .await
            .is_err()
    );
}

fn kms_config(env_prefix: &str) -> Value {
    plugins_config(
        json!([{"type": "kms", "cmd": wasm("kms-aesgcm"), "env_prefix": env_prefix,
        "kms_options": {"scheme": "hashivault", "encrypted_status": "VaultTransit"}}]),
    )
}

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn secret(status: &str, payload: &str, aad: &str) -> Secret {
    Secret {
        status: status.into(),
        payload: payload.into(),
        key: String::new(),
        additional_data: aad.into(),
        mode: 0,
    }
}

#[tokio::test]
async fn kms_plugin_encrypts_and_decrypts_with_the_key_from_its_env() {
    let host = host_with_env(
        kms_config(""),
        &[("KMS_AESGCM_KEY", KEY), ("UNRELATED", "x")],
    )
    .await;
    let plugins = host.plugins();
    let sealed = plugins
        .kms_encrypt("hashivault", &secret("Plain", "s3cr3t", "alice"), "", "")
        .await
        .unwrap();
    assert!(!sealed.payload.contains("s3cr3t"));
    let stored = secret("VaultTransit", &sealed.payload, "alice");
    assert_eq!(
        plugins.kms_decrypt(&stored, "", "").await.unwrap(),
        "s3cr3t"
    );
    let moved = secret("VaultTransit", &sealed.payload, "mallory");
    assert!(matches!(
        plugins.kms_decrypt(&moved, "", "").await,
        Err(PluginError::Refused { .. })
    ));
    assert!(matches!(
        plugins
            .kms_encrypt("gcpkms", &secret("Plain", "x", ""), "", "")
            .await,
        Err(PluginError::NotConfigured(_))
    ));
}

#[tokio::test]
async fn kms_plugin_without_its_env_prefix_gets_no_key() {
    let host = host_with_env(kms_config("none"), &[("KMS_AESGCM_KEY", KEY)]).await;
    match host
        .plugins()
        .kms_encrypt("hashivault", &secret("Plain", "x", ""), "", "")
        .await
    {
        Err(PluginError::Refused { message, .. }) => {
            assert!(message.contains("KMS_AESGCM_KEY is not set"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

fn probe(extra: Value) -> Value {
    let mut plugin = json!({"type": "ipfilter", "cmd": wasm("plugin-probe")});
    if let (Value::Object(p), Value::Object(e)) = (&mut plugin, extra) {
        p.extend(e);
    }
    plugins_config(json!([plugin]))
}

/// The probe's environment variable names, as its `env` behaviour reports.
async fn probe_env(host: &Host) -> String {
    match host.plugins().check_ip("env", "SSH").await {
        Err(PluginError::Refused { message, .. }) => message,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn env_prefix_rules_decide_what_a_plugin_sees() {
    let env = [
        ("PLUGIN_PROBE_TOKEN", "1"),
        ("CUSTOM_A", "2"),
        ("OTHER", "3"),
        ("EXTRA", "4"),
        ("SECRET_KEY", "5"),
    ];
    let cases = [
        (json!({}), "PLUGIN_PROBE_TOKEN"),
        (json!({"env_vars": ["EXTRA"]}), "EXTRA,PLUGIN_PROBE_TOKEN"),
        (json!({"env_prefix": "none"}), ""),
        // SFTPGo passes a named variable the host lacks as `MISSING=`.
        (
            json!({"env_prefix": "none", "env_vars": ["EXTRA", "MISSING"]}),
            "EXTRA,MISSING",
        ),
        (json!({"env_prefix": "CUSTOM_"}), "CUSTOM_A"),
        (
            json!({"env_prefix": "*"}),
            "CUSTOM_A,EXTRA,OTHER,PLUGIN_PROBE_TOKEN,SECRET_KEY",
        ),
    ];
    for (settings, expected) in cases {
        let host = host_with_env(probe(settings.clone()), &env).await;
        assert_eq!(probe_env(&host).await, expected, "{settings}");
    }
}

#[tokio::test]
async fn plugin_keeps_state_and_a_trap_rebuilds_it() {
    let host = host(probe(json!({}))).await;
    let plugins = host.plugins();
    let count = || async { plugins.check_ip("count", "SSH").await };
    assert_eq!(
        count().await.unwrap_err().to_string(),
        "plugin_probe: count=1"
    );
    assert_eq!(
        count().await.unwrap_err().to_string(),
        "plugin_probe: count=2"
    );
    match plugins.check_ip("trap", "SSH").await {
        Err(PluginError::Failed {
            failure: Failure::Trap(message),
            ..
        }) => assert!(message.contains("traps on request"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        count().await.unwrap_err().to_string(),
        "plugin_probe: count=1",
        "a fresh instance"
    );
    let stats = &plugins.info()[0].stats;
    assert_eq!(stats.restarts.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(stats.failures.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn plugin_stuck_in_a_loop_is_stopped_at_its_limit() {
    let host = host(probe(json!({"limits": {"timeout_ms": 200}}))).await;
    let plugins = host.plugins();
    let result = plugins.check_ip("loop", "SSH").await;
    assert!(
        matches!(
            result,
            Err(PluginError::Failed {
                failure: Failure::Timeout(_),
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(
        plugins.check_ip("127.0.0.1", "SSH").await,
        Ok(()),
        "rebuilt and answering"
    );
    let fuel = host_error(probe(json!({"limits": {"fuel": 0}}))).await;
    assert!(
        fuel.contains("plugins[0].cmd") && fuel.contains("failed to start"),
        "{fuel}"
    );
}

#[tokio::test]
async fn a_caller_giving_up_mid_call_leaves_no_half_run_instance() {
    // A gRPC client past its deadline, a dropped connection: the caller's
    // future is dropped while the guest runs. The next call must get an
    // instance in a known state, not the interrupted one.
    let host = host(probe(
        json!({"instances": 1, "limits": {"timeout_ms": 5000}}),
    ))
    .await;
    let plugins = host.plugins();
    assert_eq!(
        plugins
            .check_ip("count", "SSH")
            .await
            .unwrap_err()
            .to_string(),
        "plugin_probe: count=1"
    );
    let gave_up =
        tokio::time::timeout(Duration::from_millis(100), plugins.check_ip("loop", "SSH")).await;
    assert!(gave_up.is_err(), "the loop was still running");
    assert_eq!(
        plugins
            .check_ip("count", "SSH")
            .await
            .unwrap_err()
            .to_string(),
        "plugin_probe: count=1",
        "a fresh instance"
    );
    let stats = &plugins.info()[0].stats;
    assert_eq!(stats.restarts.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn sha256sum_is_verified_before_loading() {
    let path = wasm("plugin-probe");
    let actual = {
        use std::fmt::Write;
        let digest = hookhost_tests::sha256(&std::fs::read(&path).unwrap());
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    assert_eq!(
        host(probe(json!({"sha256sum": actual.to_uppercase()})))
            .await
            .plugins()
            .check_ip("1.2.3.4", "SSH")
            .await,
        Ok(())
    );
    let wrong = "0".repeat(64);
    let err = host_error(probe(json!({"sha256sum": wrong}))).await;
    assert!(err.contains("plugins[0].cmd"), "{err}");
    assert!(
        err.contains(&format!("configured {wrong}")) && err.contains(&format!("file has {actual}")),
        "{err}"
    );
}

#[tokio::test]
async fn bad_plugin_configurations_are_refused_naming_the_field() {
    let n = wasm("notifier-jsonl");
    let cases = [
        (
            json!([{"type": "notifier", "cmd": n}]),
            "plugins[0].notifier_options: no events to notify",
        ),
        (
            json!([{"type": "notifier", "cmd": n, "notifier_options": {"fs_events": ["pre-uplaod"]}}]),
            "plugins[0].notifier_options.fs_events[0]: unknown action \"pre-uplaod\"",
        ),
        (
            json!([{"type": "notifier", "cmd": n, "notifier_options": {"log_events": [9]}}]),
            "plugins[0].notifier_options.log_events[0]: unknown log event 9",
        ),
        (
            json!([{"type": "notifer", "cmd": n}]),
            "plugins[0].type: unknown plugin type \"notifer\"",
        ),
        (
            json!([{"type": "kms", "cmd": n, "kms_options": {"scheme": "awskms", "encrypted_status": "AWS"}},
                {"type": "kms", "cmd": n, "kms_options": {"scheme": "awskms", "encrypted_status": "GCP"}}]),
            "plugins[1].kms_options.scheme: duplicated scheme \"awskms\"",
        ),
        (
            json!([{"type": "kms", "cmd": n, "kms_options": {"scheme": "aesgcm", "encrypted_status": "AWS"}}]),
            "plugins[0].kms_options.scheme: \"aesgcm\" is not a scheme SFTPGo accepts",
        ),
        (
            json!([{"type": "kms", "cmd": n, "kms_options": {"scheme": "awskms", "encrypted_status": "AES-256-GCM"}}]),
            "plugins[0].kms_options.encrypted_status: \"AES-256-GCM\" is not an encrypted status SFTPGo accepts",
        ),
        (
            json!([{"type": "auth", "cmd": n, "auth_options": {"scope": 16}}]),
            "plugins[0].auth_options.scope: 16 is not a scope",
        ),
        (
            json!([{"type": "eventsearcher", "cmd": n}, {"type": "eventsearcher", "cmd": n}]),
            "plugins[1].type: only one eventsearcher plugin",
        ),
        (
            json!([{"type": "ipfilter", "cmd": n, "sha256sum": "abc"}]),
            "plugins[0].sha256sum: \"abc\" is not a sha256 (64 hex digits; `sha256sum FILE` prints it)",
        ),
        (json!([{"type": "ipfilter", "cmd": n}]), "plugins[0].cmd: "),
        (json!([{"type": "ipfilter"}]), "plugins[0].cmd: missing"),
    ];
    for (plugins, expected) in cases {
        let err = host_error(plugins_config(plugins.clone())).await;
        assert!(
            err.contains(expected),
            "for {plugins}\n  got: {err}\n  expected: {expected}"
        );
    }
    let wrong_world = host_error(plugins_config(json!([{"type": "ipfilter", "cmd": n}]))).await;
    assert!(
        wrong_world.contains("does not implement the `ipfilter-plugin` world"),
        "{wrong_world}"
    );
}

#[test]
fn sftpgos_own_plugins_in_the_file_are_left_to_sftpgo() {
    // A real sftpgo.json: one of SFTPGo's Go plugins (a program, here not
    // even on this machine, as in a container of its own) beside a
    // component.
    let dir = tempfile::tempdir().unwrap();
    let cfg = json!({"plugins": [
        {"type": "auth", "cmd": "/usr/local/bin/sftpgo-plugin-auth", "args": ["serve"],
         "auth_options": {"scope": 5}, "auto_mtls": true},
        {"type": "ipfilter", "cmd": "/bin/true"},
        {"type": "notifier", "cmd": wasm("notifier-jsonl"), "args": ["/events"],
         "notifier_options": {"fs_events": ["upload"]},
         "grants": {"dirs": [{"host": dir.path(), "guest": "/events", "writable": true}]}},
    ], "hookhost": hookhost_tests::test_settings()});
    let cfg = hookhost_tests::write_config(dir.path(), &cfg);
    let out = std::process::Command::new(hookhost_tests::hookhost_bin())
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("plugins: 1;"), "one component: {stdout}");
    assert!(
        stdout.contains("plugins[0] (/usr/local/bin/sftpgo-plugin-auth): SFTPGo's own plugin")
            && stdout.contains("plugins[1] (/bin/true): SFTPGo's own plugin"),
        "{stdout}"
    );
    // SFTPGo's own checks still apply to its entries.
    let bad = json!({"plugins": [{"type": "auth", "cmd": "/usr/local/bin/sftpgo-plugin-auth",
        "auth_options": {"scope": 16}}]});
    let err = hookhost_tests::write_config(dir.path(), &bad);
    let out = std::process::Command::new(hookhost_tests::hookhost_bin())
        .args(["check", "--config"])
        .arg(&err)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plugins[0].auth_options.scope"));
}

#[tokio::test]
async fn an_auth_plugin_gets_a_user_with_id_0_for_one_sftpgo_does_not_know() {
    // SFTPGo always sends the auth plugin a user: for an unknown one, `id`
    // 0 and the username (getUserAndJSONForHook). In-process calls with no
    // stored user send the same.
    let host = host(plugins_config(
        json!([{"type": "auth", "cmd": wasm("plugin-probe"),
        "auth_options": {"scope": 1}}]),
    ))
    .await;
    let plugins = host.plugins();
    match plugins
        .authenticate("zed", Password("x".into()), "10.0.0.1", "SSH", None)
        .await
    {
        Err(PluginError::Refused { message, .. }) => {
            assert_eq!(message, r#"user={"id":0,"username":"zed"}"#)
        }
        other => panic!("{other:?}"),
    }
    let stored = r#"{"id":7,"username":"zed"}"#;
    match plugins
        .authenticate("zed", Password("x".into()), "10.0.0.1", "SSH", Some(stored))
        .await
    {
        Err(PluginError::Refused { message, .. }) => assert_eq!(message, format!("user={stored}")),
        other => panic!("{other:?}"),
    }
}
