//! Login and connection hooks, every key in each form (program, URL,
//! component), through `serve` and `hookhost exec`: each hook gets exactly
//! what SFTPGo would give it (fact sheet §3), and SFTPGo gets the hook's
//! answer in the form it reads.

use std::path::Path;

use hookhost_tests::guests::wasm;
use hookhost_tests::recorder::Recorder;
use hookhost_tests::server::Server;
use hookhost_tests::{exec_fixture, hookhost_bin, lines, test_settings, write_config};
use serde_json::{Value, json};

/// The stored user SFTPGo sends (pre-login, post-login, external auth).
const USER: &str =
    r#"{"id":7,"status":1,"username":"alice","home_dir":"/srv/alice","permissions":{"/":["*"]}}"#;
/// A data-retention check's report (SFTPGo 2.2-2.6's `data_retention_hook`).
const REPORT: &str = r#"{"details":[{"path":"/","retention":24,"deleted_files":1,"deleted_size":5,"elapsed":2,"info":"","error":""}],"elapsed":3,"start_time":1700000000000,"status":1,"total_deleted_files":1,"total_deleted_size":5,"username":"alice"}"#;
/// A user a hook answers with.
const ANSWERED: &str =
    r#"{"username":"alice","status":1,"home_dir":"/new/alice","permissions":{"/":["list"]}}"#;

/// One hook key and what SFTPGo sends it.
struct Case {
    /// `pre_login`, ... (the record names of the fixtures).
    hook: &'static str,
    /// Section and key in sftpgo.json.
    section: &'static str,
    key: &'static str,
    /// The request SFTPGo makes to `serve`: GET when `body` is None.
    path: String,
    body: Option<String>,
    /// The variables SFTPGo gives a program.
    env: Vec<(&'static str, String)>,
    /// What a URL hook gets: GET or POST, the query, the body.
    url_get: bool,
    url_query: &'static str,
    url_body: Option<Value>,
    /// What the program and the URL answer, and what serve (status, body)
    /// and exec (stdout) say for it.
    answer: Option<&'static str>,
    serve_status: u16,
    serve_body: Option<Value>,
    stdout: &'static str,
    /// What the component records, and the status serve gives its answer.
    component_record: Value,
    component_status: u16,
}

fn cases() -> Vec<Case> {
    let user: Value = serde_json::from_str(USER).unwrap();
    let answered: Value = serde_json::from_str(ANSWERED).unwrap();
    vec![
        Case {
            hook: "pre_login",
            section: "data_provider",
            key: "pre_login_hook",
            path: "/v1/pre-login?login_method=password&ip=10.0.0.1&protocol=SSH".into(),
            body: Some(USER.into()),
            env: vec![
                ("SFTPGO_LOGIND_USER", USER.into()),
                ("SFTPGO_LOGIND_METHOD", "password".into()),
                ("SFTPGO_LOGIND_IP", "10.0.0.1".into()),
                ("SFTPGO_LOGIND_PROTOCOL", "SSH".into()),
            ],
            url_get: false,
            url_query: "ip=10.0.0.1&login_method=password&protocol=SSH",
            url_body: Some(user.clone()),
            answer: Some(ANSWERED),
            serve_status: 200,
            serve_body: Some(answered.clone()),
            stdout: ANSWERED,
            component_record: json!({"login": {"username": "alice", "method": "password",
                "ip": "10.0.0.1", "protocol": "SSH"}, "user": USER}),
            component_status: 200,
        },
        Case {
            hook: "external_auth",
            section: "data_provider",
            key: "external_auth_hook",
            path: "/v1/auth/external".into(),
            body: Some(
                json!({"username": "alice", "ip": "10.0.0.1", "password": "pw", "public_key": "",
                    "protocol": "SSH", "keyboard_interactive": "", "tls_cert": "", "user": user})
                .to_string(),
            ),
            env: vec![
                ("SFTPGO_AUTHD_USERNAME", "alice".into()),
                ("SFTPGO_AUTHD_USER", USER.into()),
                ("SFTPGO_AUTHD_IP", "10.0.0.1".into()),
                ("SFTPGO_AUTHD_PASSWORD", "pw".into()),
                ("SFTPGO_AUTHD_PUBLIC_KEY", String::new()),
                ("SFTPGO_AUTHD_PROTOCOL", "SSH".into()),
                ("SFTPGO_AUTHD_TLS_CERT", String::new()),
                ("SFTPGO_AUTHD_KEYBOARD_INTERACTIVE", String::new()),
            ],
            url_get: false,
            url_query: "",
            url_body: Some(
                json!({"ip": "10.0.0.1", "keyboard_interactive": "", "password": "pw",
                "protocol": "SSH", "public_key": "", "tls_cert": "", "user": user, "username": "alice"}),
            ),
            answer: Some(ANSWERED),
            serve_status: 200,
            serve_body: Some(answered.clone()),
            stdout: ANSWERED,
            component_record: json!({"username": "alice", "ip": "10.0.0.1", "protocol": "SSH",
                "password": "pw", "public_key": "", "keyboard_interactive": false, "tls_cert": "",
                "user": USER}),
            component_status: 200,
        },
        Case {
            hook: "check_password",
            section: "data_provider",
            key: "check_password_hook",
            path: "/v1/auth/check-password".into(),
            body: Some(
                json!({"username": "alice", "ip": "10.0.0.1", "password": "pw123456", "protocol": "FTP"})
                    .to_string(),
            ),
            env: vec![
                ("SFTPGO_AUTHD_USERNAME", "alice".into()),
                ("SFTPGO_AUTHD_PASSWORD", "pw123456".into()),
                ("SFTPGO_AUTHD_IP", "10.0.0.1".into()),
                ("SFTPGO_AUTHD_PROTOCOL", "FTP".into()),
            ],
            url_get: false,
            url_query: "",
            url_body: Some(
                json!({"username": "alice", "ip": "10.0.0.1", "password": "pw123456", "protocol": "FTP"}),
            ),
            answer: Some(r#"{"status":2,"to_verify":"pw"}"#),
            serve_status: 200,
            serve_body: Some(json!({"status": 2, "to_verify": "pw"})),
            stdout: r#"{"status":2,"to_verify":"pw"}"#,
            component_record: json!({"username": "alice", "password": "pw123456",
                "ip": "10.0.0.1", "protocol": "FTP"}),
            component_status: 200,
        },
        Case {
            hook: "post_login",
            section: "data_provider",
            key: "post_login_hook",
            path: "/v1/post-login?login_method=publickey&ip=10.0.0.1&protocol=SSH&status=1".into(),
            body: Some(USER.into()),
            env: vec![
                ("SFTPGO_LOGIND_USER", USER.into()),
                ("SFTPGO_LOGIND_IP", "10.0.0.1".into()),
                ("SFTPGO_LOGIND_METHOD", "publickey".into()),
                ("SFTPGO_LOGIND_STATUS", "1".into()),
                ("SFTPGO_LOGIND_PROTOCOL", "SSH".into()),
            ],
            url_get: false,
            url_query: "ip=10.0.0.1&login_method=publickey&protocol=SSH&status=1",
            url_body: Some(user.clone()),
            answer: None,
            serve_status: 200,
            serve_body: Some(json!({"decision": "queued"})),
            stdout: "",
            component_record: json!({"login": {"username": "alice", "method": "publickey",
                "ip": "10.0.0.1", "protocol": "SSH"}, "succeeded": true, "user": USER}),
            component_status: 200,
        },
        Case {
            hook: "post_connect",
            section: "common",
            key: "post_connect_hook",
            path: "/v1/post-connect?ip=10.0.0.1&protocol=FTP".into(),
            body: None,
            env: vec![
                ("SFTPGO_CONNECTION_IP", "10.0.0.1".into()),
                ("SFTPGO_CONNECTION_PROTOCOL", "FTP".into()),
            ],
            url_get: true,
            url_query: "ip=10.0.0.1&protocol=FTP",
            url_body: None,
            answer: None,
            serve_status: 200,
            serve_body: Some(json!({"decision": "allow"})),
            stdout: "",
            component_record: json!({"ip": "10.0.0.1", "protocol": "FTP"}),
            component_status: 200,
        },
        Case {
            hook: "post_disconnect",
            section: "common",
            key: "post_disconnect_hook",
            path: "/v1/post-disconnect?ip=10.0.0.1&protocol=SFTP&username=alice&connection_duration=1500"
                .into(),
            body: None,
            env: vec![
                ("SFTPGO_CONNECTION_IP", "10.0.0.1".into()),
                ("SFTPGO_CONNECTION_USERNAME", "alice".into()),
                ("SFTPGO_CONNECTION_DURATION", "1500".into()),
                ("SFTPGO_CONNECTION_PROTOCOL", "SFTP".into()),
            ],
            url_get: true,
            url_query: "connection_duration=1500&ip=10.0.0.1&protocol=SFTP&username=alice",
            url_body: None,
            answer: None,
            serve_status: 200,
            serve_body: Some(json!({"decision": "queued"})),
            stdout: "",
            component_record: json!({"ip": "10.0.0.1", "protocol": "SFTP", "username": "alice",
                "duration_ms": 1500}),
            component_status: 200,
        },
        Case {
            hook: "startup",
            section: "common",
            key: "startup_hook",
            path: "/v1/startup".into(),
            body: None,
            env: vec![],
            url_get: true,
            url_query: "",
            url_body: None,
            answer: None,
            serve_status: 200,
            serve_body: Some(json!({"decision": "allow"})),
            stdout: "",
            component_record: json!({}),
            component_status: 200,
        },
        Case {
            hook: "data_retention",
            section: "common",
            key: "data_retention_hook",
            path: "/v1/data-retention".into(),
            body: Some(REPORT.into()),
            env: vec![("SFTPGO_DATA_RETENTION_RESULT", REPORT.into())],
            url_get: false,
            url_query: "",
            url_body: Some(serde_json::from_str(REPORT).unwrap()),
            answer: None,
            serve_status: 200,
            serve_body: Some(json!({"decision": "allow"})),
            stdout: "",
            component_record: json!({"report": REPORT}),
            component_status: 200,
        },
    ]
}

#[derive(Clone, Copy, Debug)]
enum Form {
    Program,
    Url,
    Component,
}

/// A configuration with one hook per key, all in `form`.
fn config(dir: &Path, form: Form, url: &str) -> Value {
    let mut cfg = json!({
        "common": {"actions": {"execute_on": [], "hook": ""}},
        "data_provider": {"actions": {"execute_on": [], "hook": ""}},
        "sftpd": {},
        "command": {"env": [format!("RECORD_DIR={}", dir.display())]},
        "hookhost": test_settings(),
    });
    for case in cases().iter().map(|c| (c.section, c.key, c.hook)).chain([(
        "sftpd",
        "keyboard_interactive_auth_hook",
        "keyboard_interactive",
    )]) {
        let (section, key, hook) = case;
        match form {
            Form::Program => cfg[section][key] = json!(exec_fixture("login-record")),
            Form::Url => cfg[section][key] = json!(format!("{url}/{hook}")),
            Form::Component => {
                cfg[section][format!("{key}s")] = json!([{
                    "name": format!("probe-{hook}"),
                    "hook": wasm("login-probe"),
                    "grants": {"dirs": [{"host": dir, "guest": "/out", "writable": true}]},
                }]);
            }
        }
    }
    cfg
}

/// The SFTPGO_* lines of a recorded environment.
fn sftpgo_env(dir: &Path, hook: &str) -> Vec<String> {
    lines(dir.join(format!("{hook}.env")))
        .into_iter()
        .filter(|l| l.starts_with("SFTPGO_"))
        .collect()
}

fn expected_env(case: &Case) -> Vec<String> {
    let mut env: Vec<String> = case.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    env.sort();
    env
}

fn component_records(dir: &Path, hook: &str) -> Vec<Value> {
    lines(dir.join(format!("{hook}.jsonl")))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn call(server: &Server, case: &Case) -> (u16, String) {
    match &case.body {
        Some(body) => server.post(&case.path, body.clone()).await,
        None => server.get(&case.path).await,
    }
}

fn check_response(case: &Case, status: u16, body: &str, want_status: u16) {
    assert_eq!(status, want_status, "{}: {body}", case.hook);
    if let Some(want) = &case.serve_body {
        let got: Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{}: {e}: {body:?}", case.hook));
        assert_eq!(&got, want, "{}", case.hook);
    }
}

async fn check_url_request(recorder: &Recorder, case: &Case) {
    let request = recorder.next().await;
    assert_eq!(request.uri.path(), format!("/{}", case.hook));
    assert_eq!(
        request.method,
        if case.url_get { "GET" } else { "POST" },
        "{}",
        case.hook
    );
    assert_eq!(
        request.uri.query().unwrap_or(""),
        case.url_query,
        "{}",
        case.hook
    );
    match &case.url_body {
        Some(body) => assert_eq!(&request.json(), body, "{}", case.hook),
        None => assert!(request.body.is_empty(), "{}", case.hook),
    }
}

/// Write the program's answer files for `case`.
fn program_answers(dir: &Path, case: &Case) {
    if let Some(answer) = case.answer {
        std::fs::write(dir.join(format!("{}.answer", case.hook)), answer).unwrap();
    }
}

fn url_replies(cases: &[Case]) -> Vec<(u16, &'static str)> {
    cases
        .iter()
        .map(|c| (200, c.answer.unwrap_or("")))
        .collect()
}

#[tokio::test]
async fn every_key_as_a_program_through_serve() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    for case in &cases {
        program_answers(dir.path(), case);
    }
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Program, ""));
    let mut server = Server::start(&cfg, &[], &[]).await;
    for case in &cases {
        let (status, body) = call(&server, case).await;
        check_response(case, status, &body, case.serve_status);
    }
    // Queued hooks (post-login, post-disconnect) have run once the server
    // has drained its lanes on shutdown.
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
    for case in &cases {
        assert_eq!(
            sftpgo_env(dir.path(), case.hook),
            expected_env(case),
            "{}",
            case.hook
        );
        let env = lines(dir.path().join(format!("{}.env", case.hook)));
        assert!(
            env.iter().any(|l| l.starts_with("RECORD_DIR=")),
            "{}: the command env is passed: {env:?}",
            case.hook
        );
        assert!(
            !env.iter().any(|l| l.starts_with("CARGO")),
            "{}: today's SFTPGo clears the environment: {env:?}",
            case.hook
        );
    }
}

#[tokio::test]
async fn every_key_as_a_url_through_serve() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let recorder = Recorder::start_replies(&url_replies(&cases), 200).await;
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Url, &recorder.url));
    let server = Server::start(&cfg, &[], &[]).await;
    for case in &cases {
        let (status, body) = call(&server, case).await;
        check_response(case, status, &body, case.serve_status);
        check_url_request(&recorder, case).await;
    }
}

#[tokio::test]
async fn every_key_as_a_component_through_serve() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Component, ""));
    let mut server = Server::start(&cfg, &[], &[]).await;
    for case in &cases {
        let (status, body) = call(&server, case).await;
        assert_eq!(status, case.component_status, "{}: {body}", case.hook);
    }
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
    for case in &cases {
        assert_eq!(
            component_records(dir.path(), case.hook),
            vec![case.component_record.clone()],
            "{}",
            case.hook
        );
    }
}

/// `hookhost exec` as SFTPGo starts a hook program: cleared environment,
/// the case's variables and the `command` env.
async fn exec(cfg: &Path, env: &[(&'static str, String)]) -> std::process::Output {
    tokio::process::Command::new(hookhost_bin())
        .args(["exec", "--config"])
        .arg(cfg)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .unwrap()
}

fn check_exec(case: &Case, out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        case.hook,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        case.stdout,
        "{}",
        case.hook
    );
}

#[tokio::test]
async fn every_key_as_a_program_through_exec() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Program, ""));
    for case in &cases {
        program_answers(dir.path(), case);
        let out = exec(&cfg, &case.env).await;
        check_exec(case, &out);
        assert_eq!(
            sftpgo_env(dir.path(), case.hook),
            expected_env(case),
            "{}",
            case.hook
        );
    }
}

#[tokio::test]
async fn every_key_as_a_url_through_exec() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let recorder = Recorder::start_replies(&url_replies(&cases), 200).await;
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Url, &recorder.url));
    for case in &cases {
        let out = exec(&cfg, &case.env).await;
        check_exec(case, &out);
        check_url_request(&recorder, case).await;
    }
}

#[tokio::test]
async fn every_key_as_a_component_through_exec() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Component, ""));
    for case in &cases {
        let out = exec(&cfg, &case.env).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            case.hook,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            component_records(dir.path(), case.hook),
            vec![case.component_record.clone()],
            "{}",
            case.hook
        );
    }
    // The component's answers, as SFTPGo reads them from a program.
    let pre_login = exec(&cfg, &cases[0].env).await;
    let user: Value = serde_json::from_slice(&pre_login.stdout).unwrap();
    assert_eq!(
        (user["id"].clone(), user["home_dir"].clone()),
        (json!(7), json!("/probe/alice"))
    );
}

// --- keyboard-interactive ---------------------------------------------------

/// A round as today's SFTPGo posts it.
fn round(id: &str, step: u32, questions: &[&str], answers: &[&str]) -> String {
    round_of(id, step, "alice", "10.0.0.1", questions, answers)
}

/// A round of `user`'s login from `ip` (sent in the first round only).
fn round_of(
    id: &str,
    step: u32,
    user: &str,
    ip: &str,
    questions: &[&str],
    answers: &[&str],
) -> String {
    let mut body = json!({"request_id": id, "step": step, "username": user,
        "password": "$2a$10$stored"});
    if step == 1 {
        body["ip"] = json!(ip);
    }
    if !questions.is_empty() {
        body["questions"] = json!(questions);
        body["answers"] = json!(answers);
    }
    body.to_string()
}

async fn kbd(server: &Server, body: String) -> Value {
    let (status, reply) = server.post("/v1/auth/keyboard-interactive", body).await;
    assert_eq!(status, 200, "{reply}");
    serde_json::from_str(&reply).unwrap()
}

async fn open_exchanges(server: &Server) -> u64 {
    let (_, health) = server.get("/healthz").await;
    serde_json::from_str::<Value>(&health).unwrap()["keyboard_exchanges"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn keyboard_interactive_program_keeps_its_state_over_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Program, ""));
    let server = Server::start(&cfg, &[], &[]).await;
    let reply = kbd(&server, round("r1", 1, &[], &[])).await;
    assert_eq!(
        (
            reply["questions"].clone(),
            reply["echos"].clone(),
            reply["check_password"].clone()
        ),
        (json!(["Password: "]), json!([false]), json!(1))
    );
    assert_eq!(open_exchanges(&server).await, 1);
    // SFTPGo checked the password itself and forwards `OK`.
    let reply = kbd(&server, round("r1", 2, &["Password: "], &["OK"])).await;
    assert_eq!(reply["instruction"], "code, try 1");
    let reply = kbd(&server, round("r1", 3, &["Code: "], &["7"])).await;
    assert_eq!(
        (reply["instruction"].clone(), reply["auth_result"].clone()),
        (json!("code, try 2"), json!(0)),
        "a wrong code: asked again, by the same process"
    );
    let reply = kbd(&server, round("r1", 4, &["Code: "], &["42"])).await;
    assert_eq!(reply["auth_result"], 1);
    assert_eq!(open_exchanges(&server).await, 0, "released at the end");
    assert_eq!(
        lines(dir.path().join("keyboard_interactive.stdin")),
        ["OK", "7", "42"],
        "one answer per line on stdin"
    );
    assert_eq!(
        sftpgo_env(dir.path(), "keyboard_interactive"),
        [
            "SFTPGO_AUTHD_IP=10.0.0.1",
            "SFTPGO_AUTHD_PASSWORD=$2a$10$stored",
            "SFTPGO_AUTHD_USERNAME=alice"
        ]
    );
    // A round after the end, or of an exchange hookhost never saw: refused.
    let reply = kbd(&server, round("r1", 5, &["Code: "], &["42"])).await;
    assert_eq!(reply["auth_result"], -1);
}

#[tokio::test]
async fn keyboard_interactive_components_keep_one_instance_per_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Component, ""));
    let server = Server::start(&cfg, &[], &[]).await;
    // Two logins interleaved: each exchange has its own instance.
    assert_eq!(
        kbd(&server, round("a", 1, &[], &[])).await["instruction"],
        "asked 1"
    );
    assert_eq!(
        kbd(&server, round("b", 1, &[], &[])).await["instruction"],
        "asked 1"
    );
    assert_eq!(
        kbd(&server, round("a", 2, &["Token: "], &["41"])).await["instruction"],
        "asked 2",
        "a wrong answer: the same instance asks again"
    );
    assert_eq!(
        kbd(&server, round("b", 2, &["Token: "], &["42"])).await["auth_result"],
        1
    );
    assert_eq!(
        kbd(&server, round("a", 3, &["Token: "], &["41"])).await["instruction"],
        "asked 3"
    );
    assert_eq!(
        kbd(&server, round("a", 4, &["Token: "], &["no"])).await["auth_result"],
        -1
    );
    assert_eq!(open_exchanges(&server).await, 0);
    let rounds = component_records(dir.path(), "keyboard_interactive");
    assert_eq!(rounds.len(), 6);
    assert_eq!(rounds[0]["ip"], "10.0.0.1");
    assert_eq!(
        rounds[2]["ip"], "",
        "SFTPGo sends the IP in the first round only"
    );
    assert_eq!(
        (
            rounds[2]["step"].clone(),
            rounds[2]["answers"].clone(),
            rounds[2]["questions"].clone()
        ),
        (json!(2), json!(["41"]), json!(["Token: "]))
    );
}

#[tokio::test]
async fn keyboard_interactive_url_gets_each_round_as_sftpgo_posts_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = r#"{"instruction":"hi","questions":["Code: "],"echos":[true],"auth_result":0,"check_password":0}"#;
    let recorder = Recorder::start_replies(
        &[
            (200, first),
            (200, first),
            (200, r#"{"auth_result":1}"#),
            (500, ""),
        ],
        200,
    )
    .await;
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Url, &recorder.url));
    let server = Server::start(&cfg, &[], &[]).await;
    assert_eq!(
        kbd(&server, round("x", 1, &[], &[])).await["instruction"],
        "hi"
    );
    assert_eq!(
        recorder.next().await.json(),
        json!({"request_id": "x", "step": 1, "username": "alice", "ip": "10.0.0.1",
            "password": "$2a$10$stored"})
    );
    kbd(&server, round("x", 2, &["Code: "], &["1"])).await;
    assert_eq!(
        recorder.next().await.json(),
        json!({"request_id": "x", "step": 2, "username": "alice", "password": "$2a$10$stored",
            "answers": ["1"], "questions": ["Code: "]})
    );
    assert_eq!(
        kbd(&server, round("x", 3, &["Code: "], &["2"])).await["auth_result"],
        1
    );
    recorder.next().await;
    // The URL fails: the login fails (no retry of a round).
    assert_eq!(
        kbd(&server, round("y", 1, &[], &[])).await["auth_result"],
        -1
    );
    recorder.next().await;
    assert_eq!(recorder.pending().await, 0);
}

#[tokio::test]
async fn an_abandoned_keyboard_exchange_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Program, ""));
    let server = Server::start(&cfg, &["--keyboard-idle-secs", "1"], &[]).await;
    kbd(&server, round("gone", 1, &[], &[])).await;
    let pid: i32 = lines(dir.path().join("keyboard_interactive.pid"))[0]
        .parse()
        .unwrap();
    let alive = |pid: i32| unsafe { libc::kill(pid, 0) } == 0;
    assert!(alive(pid));
    // The client never answers: after the idle time the exchange goes and
    // its program is killed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while open_exchanges(&server).await > 0 || alive(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "the exchange was not released"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let reply = kbd(&server, round("gone", 2, &["Password: "], &["OK"])).await;
    assert_eq!(reply["auth_result"], -1, "a late round is refused");
}

/// A metric's value in `/metrics`, by its line's start.
async fn metric(server: &Server, line_start: &str) -> f64 {
    let (_, text) = server.get("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in\n{text}"))
}

#[tokio::test]
async fn keyboard_exchanges_are_bounded_per_ip_and_in_all_and_bound_to_their_user() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Program, ""));
    let server = Server::start(
        &cfg,
        &["--keyboard-max-open", "3", "--keyboard-max-per-ip", "2"],
        &[],
    )
    .await;
    let first = |id: &'static str, ip: &'static str| round_of(id, 1, "alice", ip, &[], &[]);
    // Before: every half-login held its program (and exec slot) for 120 s,
    // with no bound: 64 of them starved every exec hook.
    assert_eq!(
        kbd(&server, first("a1", "10.0.0.1")).await["auth_result"],
        0
    );
    assert_eq!(
        kbd(&server, first("a2", "10.0.0.1")).await["auth_result"],
        0
    );
    assert_eq!(
        kbd(&server, first("a3", "10.0.0.1")).await["auth_result"],
        -1,
        "a third from one IP"
    );
    assert_eq!(
        kbd(&server, first("b1", "10.0.0.2")).await["auth_result"],
        0
    );
    assert_eq!(
        kbd(&server, first("c1", "10.0.0.3")).await["auth_result"],
        -1,
        "a fourth in all"
    );
    assert_eq!(open_exchanges(&server).await, 3);
    assert_eq!(
        metric(&server, "hookhost_keyboard_exchanges_open ").await,
        3.0
    );
    for reason in ["per_ip", "capacity"] {
        let line = format!("hookhost_keyboard_rounds_refused_total{{reason=\"{reason}\"}} ");
        assert_eq!(metric(&server, &line).await, 1.0, "{reason}");
    }
    // Another user's round (SFTPGo's request_ids are predictable xids) is
    // refused and leaves the exchange to its own user.
    let stolen = round_of("a1", 2, "mallory", "", &["Password: "], &["OK"]);
    assert_eq!(kbd(&server, stolen).await["auth_result"], -1);
    let own = round_of("a1", 2, "alice", "", &["Password: "], &["OK"]);
    assert_eq!(kbd(&server, own).await["instruction"], "code, try 1");
    // A request_id far longer than SFTPGo's 20-character xids.
    let (status, body) = server
        .post(
            "/v1/auth/keyboard-interactive",
            round_of(&"x".repeat(200), 1, "alice", "10.0.0.9", &[], &[]),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("request_id"), "{body}");
    assert_eq!(open_exchanges(&server).await, 3);
}

#[tokio::test]
async fn keyboard_programs_hold_half_the_exec_slots_at_most_and_end_at_their_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), Form::Program, "");
    cfg["sftpd"]["keyboard_interactive_auth_hook"] = json!("");
    cfg["sftpd"]["keyboard_interactive_auth_hooks"] =
        json!([{"hook": exec_fixture("login-record"), "limits": {"timeout_ms": 1500}}]);
    cfg["hookhost"]["exec_concurrency"] = json!(2);
    cfg["common"]["actions"]["hooks"] =
        json!([{"name": "rec", "hook": exec_fixture("record"), "execute_on": ["pre-upload"]}]);
    let cfg = write_config(dir.path(), &cfg);
    let server = Server::start(&cfg, &[], &[]).await;
    let first = |id: &'static str, ip: &'static str| round_of(id, 1, "alice", ip, &[], &[]);
    assert_eq!(
        kbd(&server, first("e1", "10.0.0.1")).await["auth_result"],
        0
    );
    assert_eq!(
        kbd(&server, first("e2", "10.0.0.2")).await["auth_result"],
        -1,
        "one of the two exec slots is kept for the other hooks"
    );
    let upload = json!({"action": "pre-upload", "username": "alice",
        "path": dir.path().join("f.bin"), "fs_provider": 0, "status": 1, "protocol": "SFTP"});
    let (status, body) = server.post("/v1/actions/fs", upload.to_string()).await;
    assert_eq!(status, 200, "the pre-upload gets the other slot: {body}");
    // Idle time 120 s, but the program's own limit is 1.5 s: released then.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while open_exchanges(&server).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "not released at its limit"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        metric(&server, "hookhost_keyboard_exchanges_expired_total ").await,
        1.0
    );
    assert_eq!(
        kbd(&server, first("e3", "10.0.0.2")).await["auth_result"],
        0,
        "its slot is free again"
    );
}

/// `hookhost exec` as SFTPGo runs a keyboard-interactive program: replies
/// read line by line from stdout, answers written to stdin.
async fn exec_keyboard(cfg: &Path, answers: &[&str]) -> Vec<Value> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut child = tokio::process::Command::new(hookhost_bin())
        .args(["exec", "--config"])
        .arg(cfg)
        .env_clear()
        .envs([
            ("SFTPGO_AUTHD_USERNAME", "alice"),
            ("SFTPGO_AUTHD_IP", "10.0.0.1"),
            ("SFTPGO_AUTHD_PASSWORD", "$2a$10$stored"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut replies = Vec::new();
    let mut answers = answers.iter();
    while let Some(line) = stdout.next_line().await.unwrap() {
        let reply: Value = serde_json::from_str(&line).unwrap();
        let done = reply["auth_result"] != 0;
        replies.push(reply);
        if done {
            break;
        }
        let answer = answers.next().expect("an answer for every question");
        stdin
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .unwrap();
    }
    assert!(child.wait().await.unwrap().success());
    replies
}

#[tokio::test]
async fn keyboard_interactive_through_exec_in_each_form() {
    let dir = tempfile::tempdir().unwrap();
    // A program behind hookhost exec.
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Program, ""));
    let replies = exec_keyboard(&cfg, &["OK", "7", "42"]).await;
    let results: Vec<&Value> = replies.iter().map(|r| &r["auth_result"]).collect();
    assert_eq!(results, [&json!(0), &json!(0), &json!(0), &json!(1)]);
    assert_eq!(replies[2]["instruction"], "code, try 2");
    // A component.
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Component, ""));
    let replies = exec_keyboard(&cfg, &["1", "no"]).await;
    assert_eq!(replies[1]["instruction"], "asked 2");
    assert_eq!(replies[2]["auth_result"], -1);
    // A URL: one request per round, one request_id, steps counted.
    let ask = r#"{"questions":["Q"],"echos":[false],"auth_result":0}"#;
    let recorder = Recorder::start_replies(&[(200, ask), (200, r#"{"auth_result":1}"#)], 500).await;
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Url, &recorder.url));
    let replies = exec_keyboard(&cfg, &["secret"]).await;
    assert_eq!(replies[1]["auth_result"], 1);
    let (first, second) = (recorder.next().await.json(), recorder.next().await.json());
    assert_eq!(
        (first["step"].clone(), second["step"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(first["request_id"], second["request_id"]);
    assert_eq!(second["answers"], json!(["secret"]));
}

// --- answers and failures ---------------------------------------------------

#[tokio::test]
async fn refusals_failures_and_no_change_reach_sftpgo_as_it_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let (pre_login, external_auth, post_connect) = (&cases[0], &cases[1], &cases[4]);
    // Programs: no output is "no change" / "the stored user"; exit 1 fails.
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Program, ""));
    let server = Server::start(&cfg, &[], &[]).await;
    assert_eq!(call(&server, pre_login).await.0, 204);
    assert_eq!(call(&server, external_auth).await, (200, String::new()));
    for hook in [
        "pre_login",
        "external_auth",
        "post_connect",
        "check_password",
    ] {
        std::fs::write(dir.path().join(format!("{hook}.exit")), "1").unwrap();
    }
    assert_eq!(call(&server, pre_login).await.0, 403);
    assert_eq!(call(&server, external_auth).await.0, 403);
    assert_eq!(call(&server, post_connect).await.0, 403);
    let (status, body) = call(&server, &cases[2]).await;
    assert_eq!(
        status, 403,
        "check-password: a failed hook fails the login ({body})"
    );
    let out = exec(&cfg, &pre_login.env).await;
    assert_eq!((out.status.code(), out.stdout.is_empty()), (Some(1), true));

    // URLs: 204 no change; other statuses fail the login.
    let recorder = Recorder::start_replies(&[(204, ""), (500, ""), (200, "not json")], 500).await;
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Url, &recorder.url));
    let server = Server::start(&cfg, &[], &[]).await;
    assert_eq!(call(&server, pre_login).await.0, 204);
    assert_eq!(
        call(&server, pre_login).await.0,
        403,
        "HTTP 500: refused, never let through"
    );
    let (status, body) = call(&server, &cases[2]).await;
    assert_eq!(status, 424, "unreadable check-password answer ({body})");
    assert!(body.contains("unable to check credentials"), "{body}");

    // Components: typed answers.
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Component, ""));
    let server = Server::start(&cfg, &[], &[]).await;
    let named = |name: &str| pre_login.path.clone() + "&x=" + name;
    let user = |name: &str| json!({"id": 0, "username": name}).to_string();
    assert_eq!(server.post(&named("keep"), user("keep")).await.0, 204);
    let (status, body) = server.post(&named("deny"), user("deny")).await;
    assert_eq!(status, 403);
    assert!(body.contains("denied by the probe"), "{body}");
    let auth = json!({"username": "deny", "password": "pw", "ip": "1.2.3.4", "protocol": "SSH"});
    assert_eq!(
        server.post("/v1/auth/external", auth.to_string()).await.0,
        403
    );
    let check = json!({"username": "a", "password": "partial:fixed", "ip": "", "protocol": "SSH"});
    let (_, body) = server
        .post("/v1/auth/check-password", check.to_string())
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": 2, "to_verify": "fixed"})
    );
    let (status, body) = server.get("/v1/post-connect?ip=8.8.8.8&protocol=SSH").await;
    assert_eq!(status, 403);
    assert!(body.contains("refused by the probe"), "{body}");
}

#[tokio::test]
async fn scopes_choose_which_logins_reach_the_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), Form::Component, "");
    cfg["data_provider"]["external_auth_scope"] = json!(2);
    cfg["data_provider"]["check_password_scope"] = json!(1);
    cfg["data_provider"]["post_login_scope"] = json!(1);
    let cfg = write_config(dir.path(), &cfg);
    let mut server = Server::start(&cfg, &[], &[]).await;
    let auth = |credential: Value| {
        let mut body = json!({"username": "bob", "ip": "10.0.0.1", "protocol": "SSH"});
        body.as_object_mut()
            .unwrap()
            .extend(credential.as_object().unwrap().clone());
        body.to_string()
    };
    assert_eq!(
        server
            .post("/v1/auth/external", auth(json!({"password": "pw"})))
            .await
            .0,
        403,
        "a password login is outside scope 2"
    );
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\n";
    let (status, body) = server
        .post("/v1/auth/external", auth(json!({"public_key": key})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["home_dir"],
        "/probe/bob"
    );
    let check = |protocol: &str| {
        json!({"username": "bob", "password": "right", "ip": "", "protocol": protocol}).to_string()
    };
    assert_eq!(
        server.post("/v1/auth/check-password", check("SSH")).await.0,
        200
    );
    assert_eq!(
        server.post("/v1/auth/check-password", check("FTP")).await.0,
        403
    );
    for status in ["1", "0"] {
        let path = format!(
            "/v1/post-login?login_method=password&ip=10.0.0.1&protocol=SSH&status={status}"
        );
        assert_eq!(server.post(&path, USER).await.0, 200);
    }
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
    let logins = component_records(dir.path(), "post_login");
    assert_eq!(logins.len(), 1, "scope 1: failed logins only: {logins:?}");
    assert_eq!(logins[0]["succeeded"], false);
    assert_eq!(component_records(dir.path(), "external_auth").len(), 1);
    assert_eq!(component_records(dir.path(), "check_password").len(), 1);
}

#[tokio::test]
async fn reference_era_requests_are_forwarded_in_their_own_form() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::start_replies(&[(200, ""), (200, r#"{"auth_result":1}"#)], 200).await;
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Url, &recorder.url));
    let server = Server::start(&cfg, &[], &[]).await;
    // SFTPGo before 2.3 sends the stored user as a JSON string.
    let body = json!({"username": "alice", "password": "pw", "ip": "10.0.0.1", "protocol": "SSH",
        "public_key": "", "keyboard_interactive": "", "tls_cert": "", "user": USER});
    assert_eq!(
        server.post("/v1/auth/external", body.to_string()).await.0,
        200
    );
    assert_eq!(recorder.next().await.json()["user"], json!(USER));
    // SFTPGo before 2.2 sends no step.
    let round = json!({"request_id": "old", "username": "alice", "ip": "10.0.0.1"});
    let reply = kbd(&server, round.to_string()).await;
    assert_eq!(reply["auth_result"], 1);
    let sent = recorder.next().await.json();
    assert!(sent.get("step").is_none(), "{sent}");
}

#[tokio::test]
async fn login_hooks_are_counted_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let cfg = write_config(dir.path(), &config(dir.path(), Form::Component, ""));
    let server = Server::start(&cfg, &[], &[]).await;
    call(&server, &cases[0]).await;
    call(&server, &cases[4]).await;
    let (_, metrics) = server.get("/metrics").await;
    for (hook, outcome) in [("pre_login", "answered"), ("post_connect", "allow")] {
        let line = format!(
            "hookhost_hook_calls_total{{hook=\"probe-{hook}\",kind=\"wasm\",key=\"{hook}\",outcome=\"{outcome}\"}} 1"
        );
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn login_hook_configuration_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let probe = wasm("login-probe");
    let bad = [
        (
            json!({"sftpd": {"keyboard_interactive_auth_hook": "/bin/true",
                "keyboard_interactive_auth_hooks": [{"hook": "/bin/false"}]}}),
            "sftpd.keyboard_interactive_auth_hooks",
        ),
        (
            json!({"data_provider": {"external_auth_scope": 16}}),
            "data_provider.external_auth_scope",
        ),
        (
            json!({"data_provider": {"post_login_scope": 3}}),
            "data_provider.post_login_scope",
        ),
        (
            json!({"data_provider": {"pre_login_hooks": [{"hook": "/bin/true", "execute_on": ["upload"]}]}}),
            "data_provider.pre_login_hooks[0]",
        ),
        (
            json!({"common": {"startup_hooks": [{"hook": wasm("deny-exe")}]}}),
            "common.startup_hooks[0]",
        ),
        (
            json!({"common": {"post_connect_hook": probe.join("missing.wasm")}}),
            "common.post_connect_hook",
        ),
    ];
    for (cfg, field) in bad {
        let path = write_config(dir.path(), &cfg);
        let out = tokio::process::Command::new(hookhost_bin())
            .args(["check", "--config"])
            .arg(&path)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cfg}: {stderr}");
        assert!(
            stderr.contains(field),
            "{cfg}: expected {field} in {stderr}"
        );
    }
}

// --- the examples -------------------------------------------------------------

#[tokio::test]
async fn example_login_components_provision_ask_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let (groups, codes, audit) = (
        dir.path().join("groups"),
        dir.path().join("codes"),
        dir.path().join("audit"),
    );
    for d in [&groups, &codes, &audit] {
        std::fs::create_dir(d).unwrap();
    }
    std::fs::write(
        groups.join("groups.json"),
        json!({"groups": {"engineering": {"home_dir": "/srv/sftp/{username}",
            "permissions": {"/": ["*"]}, "quota_size": 1024, "quota_files": 10,
            "members": {"alice": {"password": "$2a$10$alice"}, "bob": {}}}}})
        .to_string(),
    )
    .unwrap();
    std::fs::write(codes.join("codes.json"), r#"{"alice": "482913"}"#).unwrap();
    let grant = |host: &Path, guest: &str, writable: bool| json!({"dirs": [{"host": host, "guest": guest, "writable": writable}]});
    let audit_hook =
        json!([{"hook": wasm("login-audit"), "grants": grant(&audit, "/audit", true)}]);
    let cfg = json!({
        "data_provider": {
            "pre_login_hooks": [{"hook": wasm("pre-login-groups"), "grants": grant(&groups, "/groups", false)}],
            "post_login_hooks": audit_hook,
        },
        "common": {"post_disconnect_hooks": audit_hook},
        "sftpd": {"keyboard_interactive_auth_hooks": [{"hook": wasm("kbd-code"), "grants": grant(&codes, "/codes", false)}]},
        "hookhost": test_settings(),
    });
    let cfg = write_config(dir.path(), &cfg);
    let mut server = Server::start(&cfg, &[], &[]).await;
    let pre_login = |name: &str, id: u32| {
        let path = "/v1/pre-login?login_method=password&ip=10.0.0.1&protocol=SSH";
        (
            path,
            json!({"id": id, "username": name, "status": 0, "home_dir": "/old"}).to_string(),
        )
    };
    // A new member: created from the group, enabled, with their password.
    let (path, body) = pre_login("alice", 0);
    let (status, body) = server.post(path, body).await;
    assert_eq!(status, 200, "{body}");
    let user: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            &user["home_dir"],
            &user["status"],
            &user["quota_size"],
            &user["password"]
        ),
        (
            &json!("/srv/sftp/alice"),
            &json!(1),
            &json!(1024),
            &json!("$2a$10$alice")
        )
    );
    // A known member: updated, keeping SFTPGo's id and status.
    let (path, body) = pre_login("bob", 9);
    let (status, body) = server.post(path, body).await;
    assert_eq!(status, 200, "{body}");
    let user: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&user["id"], &user["status"], &user["home_dir"]),
        (&json!(9), &json!(0), &json!("/srv/sftp/bob"))
    );
    // Nobody's member: unknown refused, known left to SFTPGo.
    let (path, body) = pre_login("mallory", 0);
    assert_eq!(server.post(path, body).await.0, 403);
    let (path, body) = pre_login("carol", 3);
    assert_eq!(server.post(path, body).await.0, 204);

    // Keyboard-interactive: the password (server-checked), then the code,
    // one retry.
    let reply = kbd(&server, round("k", 1, &[], &[])).await;
    assert_eq!(
        (reply["check_password"].clone(), reply["echos"].clone()),
        (json!(1), json!([false]))
    );
    let reply = kbd(&server, round("k", 2, &["Password: "], &["OK"])).await;
    assert_eq!(reply["questions"], json!(["One-time code: "]));
    let reply = kbd(&server, round("k", 3, &["One-time code: "], &["000000"])).await;
    assert_eq!(reply["instruction"], "Wrong code, try again");
    let reply = kbd(&server, round("k", 4, &["One-time code: "], &["482913"])).await;
    assert_eq!(reply["auth_result"], 1);
    kbd(&server, round("m", 1, &[], &[])).await;
    kbd(&server, round("m", 2, &["Password: "], &["OK"])).await;
    kbd(&server, round("m", 3, &["One-time code: "], &["1"])).await;
    let reply = kbd(&server, round("m", 4, &["One-time code: "], &["2"])).await;
    assert_eq!(reply["auth_result"], -1, "two wrong codes");

    // Audit: one line per login and disconnection.
    let path = "/v1/post-login?login_method=keyboard-interactive&ip=10.0.0.1&protocol=SSH&status=1";
    assert_eq!(server.post(path, USER).await.0, 200);
    let path =
        "/v1/post-disconnect?ip=10.0.0.1&protocol=SFTP&username=alice&connection_duration=2500";
    assert_eq!(server.get(path).await.0, 200);
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().await.success());
    let mut lines: Vec<Value> = lines(audit.join("logins.jsonl"))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.sort_by_key(|l| l["event"].as_str().unwrap().to_owned());
    assert_eq!(
        (
            &lines[0]["event"],
            &lines[0]["duration_ms"],
            &lines[1]["event"],
            &lines[1]["method"]
        ),
        (
            &json!("post-disconnect"),
            &json!(2500),
            &json!("post-login"),
            &json!("keyboard-interactive")
        )
    );
}

#[tokio::test]
async fn without_a_hook_an_auth_plugin_answers_keyboard_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let users = hookhost_tests::repo_root().join("tests/fixtures/users");
    let cfg = json!({
        "plugins": [{"type": "auth", "cmd": wasm("auth-file"), "args": ["/users/users.json"],
            "auth_options": {"scope": 4},
            "grants": {"dirs": [{"host": users, "guest": "/users"}]}}],
        "hookhost": test_settings(),
    });
    let cfg = write_config(dir.path(), &cfg);
    let server = Server::start(&cfg, &[], &[]).await;
    assert_eq!(
        kbd(&server, round("p", 1, &[], &[])).await["questions"],
        json!(["Password: "])
    );
    let reply = kbd(&server, round("p", 2, &["Password: "], &["correct horse"])).await;
    assert_eq!(reply["auth_result"], 1);
    kbd(&server, round("q", 1, &[], &[])).await;
    let reply = kbd(&server, round("q", 2, &["Password: "], &["nope"])).await;
    assert_eq!(reply["auth_result"], -1);
    // Nothing answers password checks here: refused, not let through.
    let check = json!({"username": "alice", "password": "x", "ip": "", "protocol": "SSH"});
    assert_eq!(
        server
            .post("/v1/auth/check-password", check.to_string())
            .await
            .0,
        403
    );
}
