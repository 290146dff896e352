//! HTTP hooks against a real loopback server: SFTPGo's bodies, status
//! semantics and the global client's retry policy.

use std::time::Duration;

use hookhost::Decision;
use hookhost::event::{
    FsAction, FsEvent, FsProvider, ObjectType, Protocol, ProviderAction, ProviderEvent, Status,
};
use hookhost::hook::{Answer, Failure};
use hookhost_tests::recorder::Recorder;
use hookhost_tests::{config_with, host};
use serde_json::{Value, json};

/// A config with one HTTP hook to `url` on `on`, and an `http` section with
/// immediate retries (`retry_max` as given).
fn http_config(url: &str, on: Value, retry_max: u32, extra_http: Value) -> Value {
    let mut config = config_with(
        json!([{"name": "web", "hook": url, "execute_on": on}]),
        json!([]),
    );
    let mut http =
        json!({"timeout": 5, "retry_wait_min": 0, "retry_wait_max": 0, "retry_max": retry_max});
    if let (Value::Object(h), Value::Object(e)) = (&mut http, extra_http) {
        h.extend(e);
    }
    config["http"] = http;
    config
}

fn event(action: FsAction) -> FsEvent {
    FsEvent::new(action, "alice", "/srv/alice/file.txt", Protocol::Sftp)
}

#[tokio::test]
async fn fs_body_is_the_references_for_every_action() {
    let server = Recorder::start(&[], 200).await;
    let all: Vec<&str> = FsAction::ALL.iter().map(|a| a.as_str()).collect();
    let host = host(http_config(&server.url, json!(all), 0, json!({}))).await;
    for &action in FsAction::ALL {
        let mut ev = event(action);
        match action {
            FsAction::Rename => ev.target_path = Some("/srv/alice/new.txt".into()),
            FsAction::SshCmd => {
                ev.ssh_cmd = Some("md5sum file.txt".into());
                ev.protocol = Protocol::Ssh;
            }
            FsAction::Upload | FsAction::Download | FsAction::Delete | FsAction::PreUpload => {
                ev.file_size = 10
            }
            _ => {}
        }
        host.dispatch(ev.clone()).wait_for_all().await;
        let request = server.next().await;
        assert_eq!(request.method, "POST");
        assert_eq!(request.headers["content-type"], "application/json");
        let body = request.json();
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = vec!["action", "username", "path"];
        if action == FsAction::Rename {
            expected.push("target_path");
        }
        if action == FsAction::SshCmd {
            expected.push("ssh_cmd");
        }
        if ev.file_size > 0 {
            expected.push("file_size");
        }
        expected.extend(["fs_provider", "status", "protocol"]);
        let mut sorted_keys = keys.clone();
        sorted_keys.sort();
        expected.sort();
        assert_eq!(sorted_keys, expected, "{action}");
        assert_eq!(body["action"], action.as_str());
    }
}

#[tokio::test]
async fn fs_body_bytes_match_sftpgo() {
    let server = Recorder::start(&[], 200).await;
    let host = host(http_config(
        &server.url,
        json!(["upload", "pre-upload"]),
        0,
        json!({}),
    ))
    .await;
    let mut upload = event(FsAction::Upload);
    upload.file_size = 65536;
    upload.fs_provider = FsProvider::S3;
    upload.bucket = Some("bucket".into());
    upload.endpoint = Some("https://s3.example.com".into());
    upload.status = Status::QuotaExceeded;
    host.dispatch(upload.clone()).wait_for_all().await;
    assert_eq!(
        std::str::from_utf8(&server.next().await.body).unwrap(),
        "{\"action\":\"upload\",\"username\":\"alice\",\"path\":\"/srv/alice/file.txt\",\"file_size\":65536,\"fs_provider\":1,\"bucket\":\"bucket\",\"endpoint\":\"https://s3.example.com\",\"status\":2,\"protocol\":\"SFTP\"}\n"
    );
    let mut pre = event(FsAction::PreUpload);
    pre.open_flags = 578;
    host.dispatch(pre.clone()).wait_for_all().await;
    assert_eq!(
        std::str::from_utf8(&server.next().await.body).unwrap(),
        "{\"action\":\"pre-upload\",\"username\":\"alice\",\"path\":\"/srv/alice/file.txt\",\"fs_provider\":0,\"status\":1,\"protocol\":\"SFTP\",\"open_flags\":578}\n"
    );
}

#[tokio::test]
async fn quota_aborted_upload_has_status_2_and_no_size() {
    let server = Recorder::start(&[], 200).await;
    let host = host(http_config(&server.url, json!(["upload"]), 0, json!({}))).await;
    let mut upload = event(FsAction::Upload);
    upload.status = Status::QuotaExceeded;
    upload.file_size = 0;
    host.dispatch(upload.clone()).wait_for_all().await;
    let body = server.next().await.json();
    assert_eq!(body["status"], 2);
    assert!(body.get("file_size").is_none(), "{body}");
}

#[tokio::test]
async fn provider_post_of_the_reference_has_only_action_in_query_and_no_secrets() {
    let server = Recorder::start(&[], 200).await;
    let mut config = config_with(
        json!([]),
        json!([{"hook": format!("{}/hooks/provider?token=abc", server.url), "execute_on": ["add", "update", "delete"]}]),
    );
    config["http"] = json!({"retry_max": 0});
    // SFTPGo 2.1: no execute_for yet, provider hooks for users.
    config["hookhost"]["sftpgo_version"] = json!("2.1");
    let host = host(config).await;
    let user = json!({"id": 1, "username": "bob", "password": "plain-secret", "status": 1});
    host.dispatch(ProviderEvent::new(
        ProviderAction::Update,
        ObjectType::User,
        user,
    ))
    .wait_for_all()
    .await;
    let request = server.next().await;
    assert_eq!(request.method, "POST");
    // SFTPGo 2.1 adds `action` to the URL's query and re-encodes it the Go
    // way (keys sorted).
    assert_eq!(
        request.uri.to_string(),
        "/hooks/provider?action=update&token=abc"
    );
    let body = request.json();
    assert_eq!(body, json!({"id": 1, "username": "bob", "status": 1}));
}

#[tokio::test]
async fn only_status_200_allows_a_pre_upload() {
    for (status, expected) in [
        (200, Decision::Allow),
        (201, Decision::Deny("web: HTTP status 201".into())),
        (204, Decision::Deny("web: HTTP status 204".into())),
        (403, Decision::Deny("web: HTTP status 403".into())),
    ] {
        let server = Recorder::start(&[], status).await;
        let host = host(http_config(
            &server.url,
            json!(["pre-upload"]),
            0,
            json!({}),
        ))
        .await;
        assert_eq!(
            host.dispatch(event(FsAction::PreUpload)).await.decision,
            expected,
            "{status}"
        );
    }
}

#[tokio::test]
async fn pre_delete_200_means_handled() {
    let server = Recorder::start(&[200, 500], 500).await;
    let host = host(http_config(
        &server.url,
        json!(["pre-delete"]),
        0,
        json!({}),
    ))
    .await;
    assert_eq!(
        host.dispatch(event(FsAction::PreDelete)).await.decision,
        Decision::Handled
    );
    assert_eq!(
        host.dispatch(event(FsAction::PreDelete)).await.decision,
        Decision::Allow
    );
}

#[tokio::test]
async fn retries_5xx_and_429_then_succeeds() {
    let server = Recorder::start(&[500, 503, 429], 200).await;
    let host = host(http_config(
        &server.url,
        json!(["pre-upload"]),
        3,
        json!({}),
    ))
    .await;
    let outcome = host.dispatch(event(FsAction::PreUpload)).await;
    assert_eq!(outcome.decision, Decision::Allow);
    for _ in 0..4 {
        server.next().await;
    }
    assert_eq!(server.pending().await, 0);
}

#[tokio::test]
async fn gives_up_after_retry_max() {
    let server = Recorder::start(&[], 502).await;
    let host = host(http_config(
        &server.url,
        json!(["pre-upload"]),
        2,
        json!({}),
    ))
    .await;
    let outcome = host.dispatch(event(FsAction::PreUpload)).await;
    assert_eq!(
        outcome.decision,
        Decision::Deny("web: HTTP status 502".into())
    );
    for _ in 0..3 {
        server.next().await;
    }
    assert_eq!(server.pending().await, 0, "1 attempt + 2 retries");
}

#[tokio::test]
async fn other_4xx_and_501_are_not_retried() {
    for status in [400, 404, 501] {
        let server = Recorder::start(&[], status).await;
        let host = host(http_config(
            &server.url,
            json!(["pre-upload"]),
            3,
            json!({}),
        ))
        .await;
        host.dispatch(event(FsAction::PreUpload)).await;
        server.next().await;
        assert_eq!(server.pending().await, 0, "{status} retried");
    }
}

#[tokio::test]
async fn refused_connection_fails_and_denies() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let host = host(http_config(
        &format!("http://127.0.0.1:{port}/hook"),
        json!(["pre-upload"]),
        1,
        json!({}),
    ))
    .await;
    let outcome = host.dispatch(event(FsAction::PreUpload)).await;
    match &outcome.reports[0].result {
        Err(Failure::Error(message)) => {
            assert!(message.to_lowercase().contains("connect"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(outcome.decision, Decision::Deny(_)));
}

#[tokio::test]
async fn slow_server_is_cut_at_the_hook_limit() {
    let server = Recorder::start_slow(&[], 200, Duration::from_secs(10)).await;
    let mut config = http_config(&server.url, json!(["pre-upload"]), 0, json!({}));
    config["common"]["actions"]["hooks"][0]["limits"] = json!({"timeout_ms": 300});
    let host = host(config).await;
    let outcome = host.dispatch(event(FsAction::PreUpload)).await;
    assert_eq!(
        outcome.reports[0].result,
        Err(Failure::Timeout(Duration::from_millis(300)))
    );
}

#[tokio::test]
async fn per_attempt_timeout_comes_from_the_http_section() {
    let server = Recorder::start_slow(&[], 200, Duration::from_secs(10)).await;
    let host = host(http_config(
        &server.url,
        json!(["pre-upload"]),
        0,
        json!({"timeout": 0.2}),
    ))
    .await;
    let outcome = host.dispatch(event(FsAction::PreUpload)).await;
    match &outcome.reports[0].result {
        Err(Failure::Error(message)) => assert!(message.contains("timed out"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn extra_headers_apply_by_url_prefix() {
    let server = Recorder::start(&[], 200).await;
    let headers = json!({"headers": [
        {"key": "X-Token", "value": "t0k3n", "url": server.url},
        {"key": "X-All", "value": "yes"},
        {"key": "X-Other", "value": "no", "url": "http://other.example"}
    ]});
    let host = host(http_config(&server.url, json!(["upload"]), 0, headers)).await;
    host.dispatch(event(FsAction::Upload)).wait_for_all().await;
    let request = server.next().await;
    assert_eq!(request.headers["x-token"], "t0k3n");
    assert_eq!(request.headers["x-all"], "yes");
    assert!(request.headers.get("x-other").is_none());
}

#[tokio::test]
async fn wasm_and_http_answers_are_reported_per_hook() {
    let server = Recorder::start(&[], 200).await;
    let host = host(http_config(
        &server.url,
        json!(["pre-upload"]),
        0,
        json!({}),
    ))
    .await;
    let outcome = host
        .dispatch(event(FsAction::PreUpload))
        .wait_for_all()
        .await;
    assert_eq!(outcome.reports.len(), 1);
    assert_eq!(&*outcome.reports[0].hook, "web");
    assert_eq!(outcome.reports[0].result, Ok(Answer::Allow));
}

mod tls {
    use super::*;
    use hookhost_tests::tls::TestPki;

    async fn pre_upload_through(url: &str, http: Value) -> Result<Answer, Failure> {
        let host = host(http_config(url, json!(["pre-upload"]), 0, http)).await;
        host.dispatch(event(FsAction::PreUpload))
            .wait_for_all()
            .await
            .reports[0]
            .result
            .clone()
    }

    #[tokio::test]
    async fn custom_ca_is_trusted_and_unknown_certificates_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(dir.path());
        let server = Recorder::start_tls(pki.server_config(false)).await;
        assert_eq!(
            pre_upload_through(&server.url, json!({"ca_certificates": [pki.ca]})).await,
            Ok(Answer::Allow)
        );
        server.next().await;
        match pre_upload_through(&server.url, json!({})).await {
            Err(Failure::Error(message)) => assert!(message.contains("certificate"), "{message}"),
            other => panic!("an unknown CA must be refused: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_certificate_error_is_not_retried() {
        // go-retryablehttp gives up at once on a certificate it cannot
        // verify: another attempt meets the same certificate. With a minute
        // between attempts, a retry would end in the hook's own 5 s cap (a
        // timeout) instead of the certificate error.
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(dir.path());
        let server = Recorder::start_tls(pki.server_config(false)).await;
        let mut cfg = http_config(
            &server.url,
            json!(["pre-upload"]),
            3,
            json!({"retry_wait_min": 60, "retry_wait_max": 60}),
        );
        cfg["common"]["actions"]["hooks"][0]["limits"] = json!({"timeout_ms": 5000});
        let host = host(cfg).await;
        let result = host
            .dispatch(event(FsAction::PreUpload))
            .wait_for_all()
            .await
            .reports[0]
            .result
            .clone();
        match result {
            Err(Failure::Error(message)) => assert!(message.contains("certificate"), "{message}"),
            other => panic!("the certificate error, at once: {other:?}"),
        }
    }

    #[tokio::test]
    async fn skip_tls_verify_accepts_any_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(dir.path());
        let server = Recorder::start_tls(pki.server_config(false)).await;
        assert_eq!(
            pre_upload_through(&server.url, json!({"skip_tls_verify": true})).await,
            Ok(Answer::Allow)
        );
    }

    #[tokio::test]
    async fn client_certificate_is_presented() {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(dir.path());
        let server = Recorder::start_tls(pki.server_config(true)).await;
        let with_cert = json!({"ca_certificates": [pki.ca], "certificates": [{"cert": pki.client_cert, "key": pki.client_key}]});
        assert_eq!(
            pre_upload_through(&server.url, with_cert).await,
            Ok(Answer::Allow)
        );
        server.next().await;
        let without = pre_upload_through(&server.url, json!({"ca_certificates": [pki.ca]})).await;
        assert!(matches!(without, Err(Failure::Error(_))), "{without:?}");
        assert_eq!(server.pending().await, 0);
    }
}
