//! Login hooks: what a login waits for.
//!
//! - pre-login, one hook answering a user JSON: the `login-probe`
//!   component (it also appends a line to a granted file), a program
//!   printing `$SFTPGO_LOGIND_USER`, a loopback URL echoing the body. The
//!   program and the URL are the baselines of the same run.
//! - a keyboard-interactive exchange of four rounds (three questions, then
//!   accept): one component instance against one program process (the
//!   tests' `login-record`, a shell script reading its answers on stdin).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookhost::event::login::{KbdRound, Login, LoginEvent};
use hookhost::{Config, Host, LoginAnswer};
use serde_json::{Value, json};

use crate::rows::{Row, fmt_duration, print_table, row};

const USER: &str = r#"{"id":7,"username":"alice","status":1,"home_dir":"/srv/alice"}"#;

fn config(section: &str, key: &str, hook: Value, dir: &Path) -> Result<Config, String> {
    let mut cfg = json!({
        "command": {"env": [format!("RECORD_DIR={}", dir.display())]},
        "hookhost": {"cache_dir": dir.join("cache")},
    });
    cfg[section] = json!({ key: [hook] });
    Config::from_value(cfg, Path::new("/")).map_err(|e| e.to_string())
}

fn write_script(dir: &Path) -> Result<std::path::PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("pre-login.sh");
    std::fs::write(&script, "#!/bin/sh\nprintf '%s' \"$SFTPGO_LOGIND_USER\"\n")
        .map_err(|e| e.to_string())?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    Ok(script)
}

/// A loopback server answering each POST with its body.
async fn echo_server() -> Result<String, String> {
    let app = axum::Router::new().fallback(|body: axum::body::Bytes| async move { body });
    Ok(format!("{}/pre-login", crate::rows::loopback(app).await?))
}

async fn pre_login_row(name: &str, host: &Host, n: usize) -> Result<Row, String> {
    let user: Arc<str> = Arc::from(USER);
    let event = || LoginEvent::PreLogin {
        login: Login {
            username: "alice".into(),
            method: "password".into(),
            ip: "10.0.0.1".into(),
            protocol: "SSH".into(),
        },
        user: user.clone(),
    };
    // Warm up (compile cache, connection, page cache).
    host.login(event()).await;
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let outcome = host.login(event()).await;
        latencies.push(t.elapsed());
        if !matches!(outcome.answer, LoginAnswer::User(_)) {
            return Err(format!("{name}: {:?}", outcome.answer));
        }
    }
    Ok(row(name, latencies, started.elapsed()))
}

async fn keyboard_row(name: &str, host: &Host, answers: &[&str], n: usize) -> Result<Row, String> {
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n + 1 {
        let t = Instant::now();
        let mut session = host
            .keyboard_session(None)
            .await
            .ok_or("no keyboard-interactive hook")?;
        let mut round = KbdRound {
            request_id: format!("bench-{i}"),
            step: 1,
            username: "alice".into(),
            ip: "10.0.0.1".into(),
            ..KbdRound::default()
        };
        let mut answers = answers.iter();
        loop {
            let reply = session.round(&round).await;
            match reply.auth_result {
                0 => {}
                1 => break,
                other => return Err(format!("{name}: auth_result {other}")),
            }
            let answer = answers.next().ok_or("more rounds than answers")?;
            round = KbdRound {
                step: round.step + 1,
                answers: vec![(*answer).to_owned()],
                questions: reply.questions,
                ..round
            };
        }
        // The first exchange warms up.
        if i > 0 {
            latencies.push(t.elapsed());
        }
    }
    Ok(row(name, latencies, started.elapsed()))
}

pub(crate) fn run(
    quick: bool,
    guests: &Path,
    fixtures: &Path,
    scratch: &Path,
) -> Result<(), String> {
    let dir = scratch.join("login");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let probe = guests.join("login_probe.wasm");
    let grants = json!({"dirs": [{"host": dir, "guest": "/out", "writable": true}]});
    let n = if quick { 20 } else { 400 };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let build = |cfg: Config| async move { Host::new(cfg).await.map_err(|e| e.to_string()) };
        let dp = "data_provider";
        let wasm = build(config(
            dp,
            "pre_login_hooks",
            json!({"hook": probe, "grants": grants}),
            &dir,
        )?)
        .await?;
        let exec = build(config(
            dp,
            "pre_login_hooks",
            json!({"hook": write_script(&dir)?}),
            &dir,
        )?)
        .await?;
        let http = build(config(
            dp,
            "pre_login_hooks",
            json!({"hook": echo_server().await?}),
            &dir,
        )?)
        .await?;
        let wasm_row = pre_login_row("pre-login: component", &wasm, n).await?;
        let exec_row = pre_login_row("pre-login: program (baseline)", &exec, n).await?;
        let http_row = pre_login_row("pre-login: URL (baseline)", &http, n).await?;
        println!();
        println!("pre-login, one hook answering a user, {n} logins one after the other:");
        print_table(&[&wasm_row, &exec_row, &http_row]);
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "\na pre-login component, p50 in the same run: {:.2}× the program, {:.2}× the URL.",
            ratio(wasm_row.p50, exec_row.p50),
            ratio(wasm_row.p50, http_row.p50)
        );

        let kbd_n = if quick { 5 } else { 100 };
        let sftpd = "sftpd";
        let key = "keyboard_interactive_auth_hooks";
        let wasm = build(config(
            sftpd,
            key,
            json!({"hook": probe, "grants": grants}),
            &dir,
        )?)
        .await?;
        let exec = build(config(
            sftpd,
            key,
            json!({"hook": fixtures.join("exec/login-record")}),
            &dir,
        )?)
        .await?;
        let wasm_row = keyboard_row(
            "keyboard-interactive, 4 rounds: component",
            &wasm,
            &["1", "2", "42"],
            kbd_n,
        )
        .await?;
        let exec_row = keyboard_row(
            "keyboard-interactive, 4 rounds: program (baseline)",
            &exec,
            &["OK", "7", "42"],
            kbd_n,
        )
        .await?;
        println!();
        println!("a whole keyboard-interactive exchange (one login), {kbd_n} logins:");
        print_table(&[&wasm_row, &exec_row]);
        println!(
            "\na keyboard-interactive exchange with a component, p50: {:.2}× the program's ({} against {}).",
            ratio(wasm_row.p50, exec_row.p50),
            fmt_duration(wasm_row.p50),
            fmt_duration(exec_row.p50)
        );
        Ok(())
    })
}
