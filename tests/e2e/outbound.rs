//! Outbound HTTP from components (`wasi:http`), by grant only: a real
//! loopback server, the `http-probe` component (GET its first argument,
//! allow on 200, deny with the status or the error).

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header::LOCATION};
use hookhost::Decision;
use hookhost::event::FsAction;
use hookhost_tests::guests::wasm;
use hookhost_tests::{config_with, fs_event, host, host_error};
use serde_json::{Value, json};

/// A loopback server: `/ok` 200, `/slow` after 10 s, `/big` a 17 MiB body,
/// `/hold` 200 with a body that never ends, `/redirect?to=URL` a 302 to
/// URL. Returns its base URL.
async fn server() -> String {
    use axum::extract::Query;
    use axum::routing::get;
    use std::collections::HashMap;
    let app = axum::Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        )
        .route("/big", get(|| async { vec![b'x'; 17 << 20] }))
        // Headers at once, then a body that never ends: the connection
        // stays open while the guest holds the response.
        .route(
            "/hold",
            get(|| async {
                axum::body::Body::from_stream(futures::stream::pending::<
                    Result<bytes::Bytes, std::io::Error>,
                >())
            }),
        )
        .route(
            "/redirect",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let mut headers = HeaderMap::new();
                headers.insert(LOCATION, q["to"].parse().unwrap());
                (StatusCode::FOUND, headers)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

fn probe(url: &str, http: Value, limits: Value) -> Value {
    json!({"name": "probe", "hook": wasm("http-probe"), "execute_on": ["pre-upload"],
        "limits": limits, "grants": {"args": [url], "http": http}})
}

/// The decision for one pre-upload, and how long it took.
async fn fetch(url: &str, http: Value, limits: Value) -> (Decision, Duration, hookhost::Host) {
    let host = host(config_with(json!([probe(url, http, limits)]), json!([]))).await;
    let started = Instant::now();
    let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/a.txt")).await;
    (outcome.decision, started.elapsed(), host)
}

fn denied_with(decision: &Decision, text: &str) -> bool {
    matches!(decision, Decision::Deny(reason) if reason.contains(text))
}

#[tokio::test]
async fn only_granted_origins_are_reached() {
    let base = server().await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let ok = format!("{base}/ok");
    let (decision, ..) = fetch(&ok, json!([base]), json!({})).await;
    assert_eq!(decision, Decision::Allow);
    let (decision, ..) = fetch(&ok, json!([]), json!({})).await;
    assert!(
        denied_with(
            &decision,
            &format!(
                "HttpRequestDenied (GET {ok} refused (not_granted): \
                 {base} is not among the hook's grants.http)"
            )
        ),
        "no grant, the host's words with the code: {decision:?}"
    );
    let (decision, ..) = fetch(&ok, json!(["https://127.0.0.1"]), json!({})).await;
    assert!(
        denied_with(&decision, "HttpRequestDenied"),
        "another scheme and port: {decision:?}"
    );
    // A granted name that resolves to loopback is refused unless the
    // address itself is granted.
    let by_name = format!("http://localhost:{port}/ok");
    let (decision, ..) = fetch(
        &by_name,
        json!([format!("http://localhost:{port}")]),
        json!({}),
    )
    .await;
    assert!(
        denied_with(
            &decision,
            &format!(
                "DestinationIpProhibited (GET {by_name} refused (internal_address): localhost is "
            )
        ),
        "{decision:?}"
    );
    // Granted, and nobody listens: the network's error, in the host's words too.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let (decision, ..) = fetch(&format!("{closed}/ok"), json!([closed]), json!({})).await;
    assert!(
        denied_with(
            &decision,
            &format!(
                "ConnectionRefused (GET {closed}/ok failed: connection error: Connection refused"
            )
        ),
        "{decision:?}"
    );
}

#[tokio::test]
async fn each_redirect_is_checked() {
    let base = server().await;
    let granted = json!([base]);
    let within = format!("{base}/redirect?to={base}/ok");
    let (decision, ..) = fetch(&within, granted.clone(), json!({})).await;
    assert_eq!(
        decision,
        Decision::Allow,
        "a redirect to a granted origin is followed"
    );
    let outside = format!("{base}/redirect?to=http://127.0.0.1:9/ok");
    let (decision, _, host) = fetch(&outside, granted, json!({})).await;
    assert!(
        denied_with(
            &decision,
            "HttpRequestDenied (GET http://127.0.0.1:9/ok refused (not_granted)"
        ),
        "the redirect's own request is named: {decision:?}"
    );
    let metrics = host.metrics().encode();
    for line in [
        r#"hookhost_outbound_http_refused_total{reason="not_granted"} 1"#,
        "hookhost_outbound_http_requests_total 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn a_request_ends_with_its_hooks_deadline() {
    let base = server().await;
    let (decision, took, _) = fetch(
        &format!("{base}/slow"),
        json!([base]),
        json!({"timeout_ms": 500}),
    )
    .await;
    assert!(matches!(decision, Decision::Deny(_)), "{decision:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test]
async fn a_response_body_is_capped() {
    let base = server().await;
    let (decision, ..) = fetch(
        &format!("{base}/big"),
        json!([base]),
        json!({"memory_mib": 128}),
    )
    .await;
    assert!(denied_with(&decision, "body size exceeds"), "{decision:?}");
    assert!(
        denied_with(
            &decision,
            &format!("(GET {base}/big: the response body passed 16777216 bytes (the host's cap))")
        ),
        "the host's words with the code: {decision:?}"
    );
}

#[tokio::test]
async fn a_bad_origin_is_refused_naming_the_entry() {
    for (origin, why) in [
        ("ftp://example.com", "scheme"),
        ("https://example.com/path", "without path"),
        ("https://ex*mple.com", "first label"),
        ("https://example.com:99999", "port"),
    ] {
        let err = host_error(config_with(
            json!([probe("x", json!([origin]), json!({}))]),
            json!([]),
        ))
        .await;
        assert!(
            err.contains("common.actions.hooks[0].grants.http[0]"),
            "{err}"
        );
        assert!(err.contains(why), "{origin}: {err}");
    }
}

#[tokio::test]
async fn the_upload_webhook_example_posts_each_upload() {
    let recorder = hookhost_tests::recorder::Recorder::start(&[200, 500], 200).await;
    let url = format!("{}/hooks/T000", recorder.url);
    let hook = json!({"name": "webhook", "hook": wasm("upload-webhook"), "execute_on": ["upload"],
        "grants": {"args": [url], "http": [recorder.url]}});
    let host = host(config_with(json!([hook]), json!([]))).await;
    let mut event = fs_event(FsAction::Upload, "/srv/alice/q3.pdf");
    event.file_size = 18230;
    let outcome = host.dispatch(event.clone()).wait_for_all().await;
    assert_eq!(outcome.decision, Decision::Allow);
    let posted = recorder.next().await;
    assert_eq!(posted.uri.path(), "/hooks/T000");
    assert_eq!(
        posted.json(),
        json!({"text": "alice uploaded /srv/alice/q3.pdf (18230 bytes)", "username": "alice",
            "path": "/srv/alice/q3.pdf", "size": 18230, "protocol": "SFTP"})
    );
    assert_eq!(posted.headers["content-type"], "application/json");
    assert_eq!(
        posted
            .headers
            .get("content-length")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some(posted.body.len().to_string()),
        "a known body is sent with its length, not chunked"
    );
    assert!(posted.headers.get("transfer-encoding").is_none());
    // The webhook fails: the upload's hook failed (logged, counted).
    let outcome = host.dispatch(event).wait_for_all().await;
    assert!(
        matches!(&outcome.decision, Decision::Failed(reason) if reason.contains("answered 500")),
        "{:?}",
        outcome.decision
    );
}

/// A clamd-compatible scanner on loopback: INSTREAM chunks in, `stream: OK`
/// or `stream: Eicar-Test-Signature FOUND` out. Returns its address.
async fn fake_clamd() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut command = [0u8; 10];
                socket.read_exact(&mut command).await.unwrap();
                assert_eq!(&command, b"zINSTREAM\0");
                let mut data = Vec::new();
                loop {
                    let len = socket.read_u32().await.unwrap() as usize;
                    if len == 0 {
                        break;
                    }
                    let mut chunk = vec![0u8; len];
                    socket.read_exact(&mut chunk).await.unwrap();
                    data.extend(chunk);
                }
                let infected = data.windows(5).any(|w| w == b"EICAR");
                let reply: &[u8] = if infected {
                    b"stream: Eicar-Test-Signature FOUND\0"
                } else {
                    b"stream: OK\0"
                };
                socket.write_all(reply).await.unwrap();
            });
        }
    });
    address
}

#[tokio::test]
async fn the_clamd_scan_example_refuses_infected_uploads_over_granted_tcp() {
    let clamd = fake_clamd().await.to_string();
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("report.pdf");
    std::fs::write(&clean, vec![b'a'; 200_000]).unwrap();
    let infected = dir.path().join("eicar.com");
    std::fs::write(
        &infected,
        b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    )
    .unwrap();
    let scan = |tcp: Value| {
        json!({"name": "clamd", "hook": wasm("clamd-scan"), "execute_on": ["upload"],
            "grants": {"args": [clamd], "tcp": tcp, "event_file": true}})
    };
    let scanning = host(config_with(json!([scan(json!([clamd]))]), json!([]))).await;
    let upload = |path: &std::path::Path| fs_event(FsAction::Upload, path.to_str().unwrap());
    let outcome = scanning.dispatch(upload(&clean)).wait_for_all().await;
    assert_eq!(outcome.decision, Decision::Allow);
    let outcome = scanning.dispatch(upload(&infected)).wait_for_all().await;
    assert!(
        matches!(&outcome.decision, Decision::Failed(r) if r.contains("infected: Eicar-Test-Signature")),
        "{:?}",
        outcome.decision
    );
    // Without the grant, the scanner is unreachable: refused, not let
    // through unscanned.
    let ungranted = host(config_with(json!([scan(json!([]))]), json!([]))).await;
    let outcome = ungranted.dispatch(upload(&clean)).wait_for_all().await;
    assert!(
        matches!(&outcome.decision, Decision::Failed(r) if r.contains("cannot reach the scanner")),
        "{:?}",
        outcome.decision
    );
}

#[tokio::test]
async fn a_bad_tcp_grant_is_refused_naming_the_entry() {
    let hook = json!({"hook": wasm("clamd-scan"), "execute_on": ["upload"],
        "grants": {"tcp": ["clamd.internal:3310"]}});
    let err = host_error(config_with(json!([hook]), json!([]))).await;
    assert!(
        err.contains("common.actions.hooks[0].grants.tcp[0]"),
        "{err}"
    );
    assert!(err.contains("names are not resolved"), "{err}");
}

#[tokio::test]
async fn plugins_take_the_same_grants() {
    let plugin = |http: Value| {
        json!([{"type": "ipfilter", "cmd": wasm("ipfilter-cidr"), "args": ["10.0.0.0/8"],
            "grants": {"http": http, "tcp": ["127.0.0.1:3310"]}}])
    };
    let err = host_error(hookhost_tests::plugins_config(plugin(json!([
        "https://a.example.com/x"
    ]))))
    .await;
    assert!(err.contains("plugins[0].grants.http[0]"), "{err}");
    // A valid grant loads (the plugin is linked with wasi:http like a hook).
    let host = host(hookhost_tests::plugins_config(plugin(json!([
        "https://a.example.com"
    ]))))
    .await;
    assert!(host.plugins().check_ip("10.1.2.3", "SSH").await.is_ok());
}

/// A pre-upload of the http-probe with `args` and `grants`, `limits`.
async fn flood(args: Value, grants: Value, limits: Value) -> (String, hookhost::Host) {
    let hook = json!({"name": "flood", "hook": wasm("http-probe"), "execute_on": ["pre-upload"],
        "limits": limits, "grants": grants});
    let mut grants_with_args = hook.clone();
    grants_with_args["grants"]["args"] = args;
    let host = host(config_with(json!([grants_with_args]), json!([]))).await;
    let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/a.txt")).await;
    match outcome.decision {
        Decision::Deny(reason) => (reason, host),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_call_holds_at_most_its_share_of_outbound_connections() {
    // Before: one call held as many connections as it opened (8,000 TCP
    // connections from one guest; 19.8k of 20k descriptors from 8 events),
    // and /healthz stopped answering.
    // Each response's body never ends, so its connection (and its place)
    // is held as long as the guest holds the response. (`/ok`'s connection
    // could end as soon as its 4-byte body was in: a place given back
    // while the guest still started requests, 17 to 27 held.)
    let url = server().await;
    let hold = format!("{url}/hold");
    let http = json!({"http": [url]});
    let (reason, host) = flood(json!([hold, "flood", "40"]), http.clone(), json!({})).await;
    assert!(reason.contains("held 16, refused 24"), "default: {reason}");
    assert!(reason.contains("ConnectionLimitReached"), "{reason}");
    assert!(
        host.metrics()
            .encode()
            .contains("hookhost_outbound_http_refused_total{reason=\"call_limit\"} 24"),
        "counted"
    );
    let (reason, _) = flood(
        json!([hold, "flood", "40"]),
        http,
        json!({"http_in_flight": 4}),
    )
    .await;
    assert!(reason.contains("held 4, refused 36"), "{reason}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let tcp = json!({"tcp": [address]});
    let (reason, _) = flood(json!([address, "tcp", "40"]), tcp.clone(), json!({})).await;
    assert!(reason.contains("held 16, refused 24"), "default: {reason}");
    let (reason, host) = flood(
        json!([address, "tcp", "40"]),
        tcp,
        json!({"tcp_connections": 3}),
    )
    .await;
    assert!(reason.contains("held 3, refused 37"), "{reason}");
    assert!(
        host.metrics()
            .encode()
            .contains("hookhost_outbound_http_refused_total{reason=\"call_limit\"} 37"),
        "TCP refusals are counted with the same reasons"
    );
}

#[tokio::test]
async fn outbound_limits_are_checked_and_wasm_only() {
    for (limits, says) in [
        (json!({"http_in_flight": 0}), "limits.http_in_flight"),
        (json!({"tcp_connections": 5000}), "limits.tcp_connections"),
    ] {
        let hook = json!({"hook": wasm("http-probe"), "execute_on": ["upload"], "limits": limits});
        let err = host_error(config_with(json!([hook]), json!([]))).await;
        assert!(
            err.contains(says) && err.contains("between 1 and 1024"),
            "{err}"
        );
    }
    let hook =
        json!({"hook": "/bin/true", "execute_on": ["upload"], "limits": {"tcp_connections": 4}});
    let err = host_error(config_with(json!([hook]), json!([]))).await;
    assert!(err.contains("only wasm hooks take this setting"), "{err}");
}
