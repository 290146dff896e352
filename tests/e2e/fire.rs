//! `hookhost fire --hook` for every world: the login and connection hooks
//! with the requests `serve`'s routes take (body and query), and the
//! plugins' calls — the real binary, real components.

use std::path::Path;
use std::process::Output;

use hookhost_tests::guests::wasm;
use hookhost_tests::{hookhost_in, lines, repo_root};
use serde_json::{Value, json};

/// `hookhost fire ARGS` in `dir`.
fn fire(dir: &Path, args: &[&str]) -> Output {
    hookhost_in(dir).arg("fire").args(args).output().unwrap()
}

/// The JSON `fire` printed, and its exit code.
fn answer(out: &Output) -> (Value, i32) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not one JSON line ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (value, out.status.code().unwrap())
}

fn write(dir: &Path, file: &str, value: &Value) -> String {
    std::fs::write(dir.join(file), value.to_string()).unwrap();
    file.to_owned()
}

/// The test component that exports every login interface, with its
/// record directory granted.
fn probe_args(out: &Path) -> Vec<String> {
    vec![
        "--hook".into(),
        wasm("login-probe").display().to_string(),
        "--grant-dir".into(),
        format!("{}:/out:rw", out.display()),
    ]
}

fn probe(dir: &Path, out: &Path, args: &[&str]) -> (Value, i32) {
    let mut all = probe_args(out);
    all.extend(args.iter().map(|s| (*s).to_owned()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    answer(&fire(dir, &all))
}

#[test]
fn every_login_call_reads_serves_request_and_prints_sftpgos_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (d, out) = (dir.path(), dir.path().join("out"));
    std::fs::create_dir(&out).unwrap();
    let alice = write(d, "alice.json", &json!({"id": 0, "username": "alice"}));
    let refused = write(d, "deny.json", &json!({"id": 0, "username": "deny"}));
    let login = "login_method=password&ip=192.0.2.10&protocol=SSH";

    let (pre, code) = probe(
        d,
        &out,
        &["--call", "pre-login", "--event", &alice, "--query", login],
    );
    assert_eq!(code, 0, "{pre}");
    assert_eq!(pre["answer"], "user");
    assert_eq!(pre["user"]["home_dir"], "/probe/alice");
    let seen: Value = serde_json::from_str(&lines(out.join("pre_login.jsonl"))[0]).unwrap();
    assert_eq!(
        (
            &seen["login"]["method"],
            &seen["login"]["ip"],
            &seen["login"]["protocol"]
        ),
        (&json!("password"), &json!("192.0.2.10"), &json!("SSH")),
        "the query's fields reach the hook: {seen}"
    );
    let (no, code) = probe(
        d,
        &out,
        &["--call", "pre-login", "--event", &refused, "--query", login],
    );
    assert_eq!((code, &no["answer"]), (1, &json!("deny")), "{no}");

    let right = write(
        d,
        "right.json",
        &json!({"username": "alice", "password": "right", "ip": "192.0.2.10", "protocol": "SSH"}),
    );
    let (check, code) = probe(d, &out, &["--call", "check-password", "--event", &right]);
    assert_eq!((code, &check["status"]), (0, &json!(1)), "{check}");
    let (auth, code) = probe(d, &out, &["--call", "external-auth", "--event", &right]);
    assert_eq!((code, &auth["answer"]), (0, &json!("user")), "{auth}");

    // Keyboard-interactive: rounds until the answer is 42.
    let first = write(
        d,
        "round.json",
        &json!({"request_id": "cu1f0rbo1sm1ad6vb2bg", "step": 1, "username": "alice", "ip": "192.0.2.10"}),
    );
    std::fs::write(d.join("answers.txt"), "[\"7\"]\n\n[\"42\"]\n").unwrap();
    let (kbd, code) = probe(
        d,
        &out,
        &[
            "--call",
            "keyboard-interactive",
            "--event",
            &first,
            "--answers",
            "answers.txt",
        ],
    );
    assert_eq!((code, &kbd["answer"]), (0, &json!("accept")), "{kbd}");
    let rounds = kbd["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3, "{kbd}");
    assert_eq!(rounds[0]["reply"]["questions"], json!(["Token: "]));
    assert_eq!(rounds[2]["reply"]["auth_result"], 1);
    let (short, code) = probe(
        d,
        &out,
        &["--call", "keyboard-interactive", "--event", &first],
    );
    assert_eq!(
        (code, &short["answer"]),
        (1, &json!("another_round")),
        "{short}"
    );

    let (connect, code) = probe(
        d,
        &out,
        &[
            "--call",
            "post-connect",
            "--query",
            "ip=10.1.2.3&protocol=FTP",
        ],
    );
    assert_eq!(
        (code, &connect["answer"]),
        (0, &json!("allow")),
        "{connect}"
    );
    let (refused, code) = probe(
        d,
        &out,
        &[
            "--call",
            "post-connect",
            "--query",
            "ip=192.0.2.10&protocol=FTP",
        ],
    );
    assert_eq!((code, &refused["answer"]), (1, &json!("deny")), "{refused}");

    let (post, code) = probe(
        d,
        &out,
        &[
            "--call",
            "post-login",
            "--event",
            &alice,
            "--query",
            &format!("{login}&status=1"),
        ],
    );
    assert_eq!((code, &post["answer"]), (0, &json!("allow")), "{post}");
    let failing = write(d, "fail.json", &json!({"id": 1, "username": "fail"}));
    let (failed, code) = probe(
        d,
        &out,
        &[
            "--call",
            "post-login",
            "--event",
            &failing,
            "--query",
            &format!("{login}&status=0"),
        ],
    );
    assert_eq!(code, 1, "{failed}");
    assert_eq!(
        failed["hooks"][0]["outcome"], "error",
        "a post-login hook's error is a failure, not a refusal: {failed}"
    );
    let (gone, code) = probe(
        d,
        &out,
        &[
            "--call",
            "post-disconnect",
            "--query",
            "ip=192.0.2.10&protocol=SSH&username=alice&connection_duration=4200",
        ],
    );
    assert_eq!((code, &gone["answer"]), (0, &json!("allow")), "{gone}");
    let seen: Value = serde_json::from_str(&lines(out.join("post_disconnect.jsonl"))[0]).unwrap();
    assert_eq!(seen["duration_ms"], 4200, "{seen}");
    let (start, code) = probe(d, &out, &["--call", "startup"]);
    assert_eq!((code, &start["answer"]), (0, &json!("allow")), "{start}");
}

#[test]
fn what_fire_cannot_call_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let (d, out) = (dir.path(), dir.path().join("out"));
    std::fs::create_dir(&out).unwrap();
    let said = |args: &[String]| {
        let out = fire(d, &args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let mut args = probe_args(&out);
    let several = said(&args);
    assert!(
        several.contains("several worlds (pre-login-hook, external-auth-hook")
            && several.contains("--call"),
        "{several}"
    );
    args.extend(["--call".into(), "encrypt".into()]);
    let wrong = said(&args);
    assert!(
        wrong.contains("--call encrypt: a pre-login-hook"),
        "{wrong}"
    );
    args.truncate(args.len() - 1);
    args.push("pre-login".into());
    let no_body = said(&args);
    assert!(
        no_body.contains("the request body is missing (--event FILE)"),
        "{no_body}"
    );
    args.truncate(args.len() - 1);
    args.push("post-connect".into());
    let no_ip = said(&args);
    assert!(no_ip.contains("--query needs ip"), "{no_ip}");
    let kms = wasm("kms-aesgcm").display().to_string();
    let which = said(&["--hook".into(), kms]);
    assert!(
        which.contains("--call encrypt or --call decrypt"),
        "{which}"
    );
    let not_a_component = said(&["--hook".into(), "answers.txt".into()]);
    assert!(not_a_component.contains("answers.txt"), "{not_a_component}");
}

#[test]
fn plugins_answer_fire_as_they_answer_sftpgo() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // KMS: what encrypt returns, decrypt reads back.
    let kms = wasm("kms-aesgcm").display().to_string();
    let key = format!("KMS_AESGCM_KEY={}", "01".repeat(32));
    let plain = write(
        d,
        "plain.json",
        &json!({"payload": "s3cret", "additional_data": "alice"}),
    );
    let (sealed, code) = answer(&fire(
        d,
        &[
            "--hook", &kms, "--env", &key, "--call", "encrypt", "--event", &plain,
        ],
    ));
    assert_eq!((code, &sealed["answer"]), (0, &json!("ok")), "{sealed}");
    assert_ne!(sealed["payload"], "s3cret");
    let back = write(
        d,
        "sealed.json",
        &json!({"payload": sealed["payload"], "key": sealed["key"], "mode": sealed["mode"], "additional_data": "alice"}),
    );
    let (opened, code) = answer(&fire(
        d,
        &[
            "--hook", &kms, "--env", &key, "--call", "decrypt", "--event", &back,
        ],
    ));
    assert_eq!(
        (code, &opened["payload"]),
        (0, &json!("s3cret")),
        "{opened}"
    );
    let (no_key, code) = answer(&fire(
        d,
        &["--hook", &kms, "--call", "encrypt", "--event", &plain],
    ));
    assert_eq!((code, &no_key["answer"]), (1, &json!("error")), "{no_key}");
    assert!(
        no_key["reason"]
            .as_str()
            .unwrap()
            .contains("KMS_AESGCM_KEY is not set")
    );

    // IP filter: its ranges are its arguments.
    let ipf = wasm("ipfilter-cidr").display().to_string();
    let check = |ip: &str| {
        answer(&fire(
            d,
            &[
                "--hook",
                &ipf,
                "--arg",
                "10.0.0.0/8",
                "--query",
                &format!("ip={ip}&protocol=SSH"),
            ],
        ))
    };
    assert_eq!(check("10.9.8.7").1, 0);
    let (refused, code) = check("192.0.2.10");
    assert_eq!(
        (code, &refused["call"]),
        (1, &json!("check-ip")),
        "{refused}"
    );

    // Auth: the users file granted, the password checked.
    let auth = wasm("auth-file").display().to_string();
    let users = format!(
        "{}:/users",
        repo_root().join("tests/fixtures/users").display()
    );
    let login = |password: &str| {
        let file = write(
            d,
            "login.json",
            &json!({"username": "alice", "password": password, "ip": "192.0.2.10", "protocol": "SSH"}),
        );
        answer(&fire(
            d,
            &[
                "--hook",
                &auth,
                "--arg",
                "/users/users.json",
                "--grant-dir",
                &users,
                "--event",
                &file,
            ],
        ))
    };
    let (good, code) = login("correct horse");
    assert_eq!(
        (code, &good["answer"], &good["user"]["username"]),
        (0, &json!("user"), &json!("alice")),
        "{good}"
    );
    assert_eq!(login("wrong").1, 1);

    // Notifier, then the searcher over what it wrote.
    let events = d.join("events");
    std::fs::create_dir(&events).unwrap();
    let grant = format!("{}:/events:rw", events.display());
    let notifier = wasm("notifier-jsonl").display().to_string();
    let upload = repo_root()
        .join("examples/events/upload.json")
        .display()
        .to_string();
    let (told, code) = answer(&fire(
        d,
        &[
            "--hook",
            &notifier,
            "--arg",
            "/events",
            "--grant-dir",
            &grant,
            "--event",
            &upload,
        ],
    ));
    assert_eq!((code, &told["call"]), (0, &json!("fs")), "{told}");
    let log = write(
        d,
        "log.json",
        &json!({"event": 1, "protocol": "SSH", "username": "mallory", "ip": "192.0.2.66", "message": "wrong password"}),
    );
    let (told, code) = answer(&fire(
        d,
        &[
            "--hook",
            &notifier,
            "--arg",
            "/events",
            "--grant-dir",
            &grant,
            "--call",
            "log-event",
            "--event",
            &log,
        ],
    ));
    assert_eq!((code, &told["answer"]), (0, &json!("ok")), "{told}");
    assert_eq!(lines(events.join("fs.jsonl")).len(), 1);
    let searcher = wasm("eventsearcher-jsonl").display().to_string();
    let read_only = format!("{}:/events", events.display());
    let search = |call: &str, query: &str| {
        answer(&fire(
            d,
            &[
                "--hook",
                &searcher,
                "--arg",
                "/events",
                "--grant-dir",
                &read_only,
                "--call",
                call,
                "--query",
                query,
            ],
        ))
    };
    let (found, code) = search("search-fs", "limit=10&actions=upload");
    assert_eq!(code, 0, "{found}");
    assert_eq!(found["events"].as_array().unwrap().len(), 1, "{found}");
    let (found, _) = search("search-log", "username=mallory&events=1");
    assert_eq!(found["events"][0]["ip"], "192.0.2.66", "{found}");
    let bad = fire(
        d,
        &[
            "--hook",
            &searcher,
            "--call",
            "search-fs",
            "--query",
            "limit=0",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("limit is out of the 1-1000 range"),
        "read as SFTPGo's REST API reads it"
    );
}
