//! `hookhost plugin` + a wasm component against the native Go plugin an
//! SFTPGo admin would write (bench/go-plugin: the same IP-range check as
//! `ipfilter-cidr`, the same bcrypt user file as `auth-file`). Both are
//! launched and called by go-plugin's own client — the tests' Go host
//! (tests/fixtures/goplugin-host), whose `bench` step makes the calls and
//! times them — over go-plugin's unix socket without AutoMTLS, as SFTPGo
//! does by default. Rounds alternate Go, hookhost, Go, hookhost…; each
//! figure is the median of its rounds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hookhost_tests::goplugin::{Launch, go_grpc_build, goplugin_host, run_script};
use serde_json::{Value, json};

use crate::rows::{fmt_duration, median_f64};

/// A bcrypt hash (cost 6) of "correct horse", as tests/fixtures/users has.
const HASH: &str = "$2b$06$/psylW4pjq/hDp/n3ZdiTu7ycbaNVRkGOakuD6fnKoTo6U3YSa5Xe";

/// One check measured both ways.
struct Check {
    name: &'static str,
    kind: &'static str,
    call: &'static str,
    request: Value,
    /// The Go plugin's arguments.
    go_args: Vec<String>,
    /// hookhost's plugin entry.
    entry: Value,
    /// Calls per measurement at one caller and at `CALLERS`.
    calls: usize,
}

/// Callers at once for the throughput figure.
const CALLERS: usize = 8;

/// What one `bench` step of the Go host answered.
#[derive(Clone, Copy)]
struct Figures {
    p50: Duration,
    per_second: f64,
}

/// The go-plugin client's script for one round: a warm-up, then one
/// caller (latency), then `CALLERS` (throughput).
fn script(check: &Check) -> Value {
    let step = |count: usize, callers: usize| {
        json!({"method": "bench", "call": check.call, "request": check.request,
               "count": count, "callers": callers})
    };
    json!([
        step(check.calls / 10 + CALLERS, CALLERS),
        step(check.calls, 1),
        step(check.calls, CALLERS),
        {"method": "kill"}
    ])
}

fn figures(result: &Value) -> Result<Figures, String> {
    if result["code"] != "OK" {
        return Err(format!(
            "the go-plugin client's bench step failed: {result}"
        ));
    }
    let response = &result["response"];
    let p50 = response["p50_ns"]
        .as_u64()
        .ok_or_else(|| format!("no p50 in {result}"))?;
    let calls = response["calls"].as_f64().unwrap_or(0.0);
    let seconds = response["seconds"].as_f64().unwrap_or(f64::INFINITY);
    Ok(Figures {
        p50: Duration::from_nanos(p50),
        per_second: calls / seconds,
    })
}

/// One round against one plugin command: (one caller, `CALLERS`).
fn round(host: &Path, check: &Check, command: Vec<String>) -> Result<(Figures, Figures), String> {
    let launch = Launch {
        kind: check.kind,
        auto_mtls: false,
        sha256: None,
        command,
        env: vec![("HOOKHOST_LOG".into(), "error".into())],
    };
    let (results, log) = run_script(host, &launch, &script(check));
    let benches: Vec<&Value> = results.iter().filter(|r| r["method"] == "bench").collect();
    match benches.as_slice() {
        [_, one, many] => Ok((figures(one)?, figures(many)?)),
        _ => Err(format!("the go-plugin client answered {results:?}\n{log}")),
    }
}

/// The medians of a side's rounds: (p50 at one caller, calls/s at one
/// caller, calls/s at `CALLERS`).
fn medians(rounds: &[(Figures, Figures)]) -> (Duration, f64, f64) {
    let p50 = median_f64(rounds.iter().map(|r| r.0.p50.as_secs_f64()).collect());
    let one = median_f64(rounds.iter().map(|r| r.0.per_second).collect());
    let many = median_f64(rounds.iter().map(|r| r.1.per_second).collect());
    (Duration::from_secs_f64(p50), one, many)
}

/// `hookhost plugin --config CONFIG CMD` for `entry`, its configuration
/// written to `dir`.
fn hookhost_command(hookhost: &Path, dir: &Path, name: &str, entry: &Value) -> Vec<String> {
    let config = dir.join(format!("native-{name}.json"));
    let text = json!({"plugins": [entry], "hookhost": {"cache_dir": dir.join("cache")}});
    std::fs::write(&config, text.to_string()).expect("the scratch directory is writable");
    vec![
        hookhost.display().to_string(),
        "plugin".into(),
        "--config".into(),
        config.display().to_string(),
        entry["cmd"].as_str().unwrap_or_default().to_owned(),
    ]
}

fn checks(guests: &Path, scratch: &Path, quick: bool) -> Result<Vec<Check>, String> {
    let users = scratch.join("native-users");
    std::fs::create_dir_all(&users).map_err(|e| e.to_string())?;
    let user =
        json!([{"username": "alice", "password": HASH, "status": 1, "home_dir": "/srv/alice"}]);
    let file = users.join("users.json");
    std::fs::write(&file, user.to_string()).map_err(|e| e.to_string())?;
    let (trivial, bcrypt) = if quick { (40, 16) } else { (5_000, 400) };
    Ok(vec![
        Check {
            name: "ipfilter CheckIP (an IP range)",
            kind: "ipfilter",
            call: "/proto.IPFilter/CheckIP",
            request: json!({"ip": "10.0.0.1", "protocol": "SSH"}),
            go_args: vec!["10.0.0.0/8".into()],
            entry: json!({"type": "ipfilter", "cmd": guests.join("ipfilter_cidr.wasm"),
                          "args": ["10.0.0.0/8"]}),
            calls: trivial,
        },
        Check {
            name: "auth CheckUserAndPass (bcrypt, cost 6)",
            kind: "auth",
            call: "/proto.Auth/CheckUserAndPass",
            request: json!({"username": "alice", "password": "correct horse",
                            "ip": "10.0.0.1", "protocol": "SSH"}),
            go_args: vec![file.display().to_string()],
            entry: json!({"type": "auth", "cmd": guests.join("auth_file.wasm"),
                          "args": ["/users/users.json"], "auth_options": {"scope": 1},
                          "grants": {"dirs": [{"host": users, "guest": "/users"}]}}),
            calls: bcrypt,
        },
    ])
}

/// Measure and print the table; without Go (when skipping missing tools
/// was asked for: see hookhost_tests) a line says why there is none.
pub fn run(quick: bool, hookhost: &Path, guests: &Path, scratch: &Path) -> Result<(), String> {
    let Some(host) = goplugin_host() else {
        println!(
            "(no native Go plugin rows: Go, go-plugin or protoc is missing; scripts/tools.sh installs them)"
        );
        return Ok(());
    };
    let source = hookhost_tests::repo_root().join("bench/go-plugin/main.go");
    let native: PathBuf = go_grpc_build(&source, "go-plugin")?;
    let rounds = if quick { 1 } else { 3 };
    println!();
    println!(
        "| through go-plugin's client (unix socket, no TLS), medians of {rounds} alternating round(s) | p50, 1 caller | calls/s, 1 caller | calls/s, {CALLERS} callers |"
    );
    println!("|---|---:|---:|---:|");
    let mut ratios = Vec::new();
    for check in checks(guests, scratch, quick)? {
        let go_command = |check: &Check| {
            let mut command = vec![
                native.display().to_string(),
                "-kind".into(),
                check.kind.into(),
            ];
            command.extend(check.go_args.iter().cloned());
            command
        };
        let ours = hookhost_command(hookhost, scratch, check.kind, &check.entry);
        let (mut go, mut hh) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            go.push(round(&host, &check, go_command(&check))?);
            hh.push(round(&host, &check, ours.clone())?);
        }
        let (go, hh) = (medians(&go), medians(&hh));
        for (who, (p50, one, many)) in [("native Go plugin", go), ("hookhost plugin + wasm", hh)] {
            println!(
                "| {}: {who} | {} | {one:.0} | {many:.0} |",
                check.name,
                fmt_duration(p50)
            );
        }
        ratios.push(format!(
            "{}: p50 {:.2}×, calls/s {:.2}× (1 caller), {:.2}× ({CALLERS} callers)",
            check.kind,
            hh.0.as_secs_f64() / go.0.as_secs_f64(),
            hh.1 / go.1,
            hh.2 / go.2
        ));
    }
    println!(
        "hookhost plugin + wasm against the native Go plugin, same run: {}.",
        ratios.join("; ")
    );
    Ok(())
}
