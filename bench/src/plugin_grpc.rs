//! `hookhost plugin` as SFTPGo calls it: the process launched as go-plugin
//! launches it (the magic cookie in a cleared environment; no AutoMTLS),
//! called over its unix socket.
//!
//! - The cost of the gateway: an IP-filter `CheckIP` (`ipfilter-cidr`, a
//!   trivial check) from one caller, against the exec and HTTP hooks of
//!   the same run.
//! - Concurrency: SFTPGo's auth `CheckUserAndPass` to the `auth-file`
//!   example (a bcrypt check, cost 6) with a pool of one instance and with
//!   the default pool (one per core), at 1, 8 and 64 callers at once.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hookhost::gateway::proto::goplugin::Empty;
use hookhost::gateway::proto::goplugin::grpc_controller_client::GrpcControllerClient;
use hookhost::gateway::proto::sftpgo::auth_client::AuthClient;
use hookhost::gateway::proto::sftpgo::ip_filter_client::IpFilterClient;
use hookhost::gateway::proto::sftpgo::{CheckIpRequest, CheckUserAndPassRequest};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tonic::transport::Channel;

use crate::rows::{Row, fmt_duration, row};

/// A bcrypt hash (cost 6) of "correct horse", as tests/fixtures/users has.
const HASH: &str = "$2b$06$/psylW4pjq/hDp/n3ZdiTu7ycbaNVRkGOakuD6fnKoTo6U3YSa5Xe";

/// Callers at once.
const LEVELS: [usize; 3] = [1, 8, 64];

/// A running `hookhost plugin` and a channel to it.
struct Plugin {
    child: tokio::process::Child,
    channel: Channel,
}

impl Plugin {
    /// Serve `entry` (written to a configuration in `dir` as `name`) as a
    /// plugin of `kind`, as go-plugin would launch it.
    async fn start(
        hookhost: &Path,
        dir: &Path,
        name: &str,
        entry: Value,
        cookie: (&str, &str),
    ) -> Result<Plugin, String> {
        let config = dir.join(format!("{name}.json"));
        let cmd = entry["cmd"].as_str().unwrap_or_default().to_owned();
        let text = json!({"plugins": [entry], "hookhost": {"cache_dir": dir.join("cache")}});
        std::fs::write(&config, text.to_string()).map_err(|e| e.to_string())?;
        let mut child = tokio::process::Command::new(hookhost)
            .args(["plugin", "--config"])
            .arg(&config)
            .arg(cmd)
            .env_clear()
            .env(cookie.0, cookie.1)
            .env("PLUGIN_PROTOCOL_VERSIONS", "1")
            .env("HOOKHOST_LOG", "error")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{}: {e}", hookhost.display()))?;
        let mut line = String::new();
        tokio::io::BufReader::new(child.stdout.as_mut().expect("piped"))
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        let socket = line
            .trim_end()
            .split('|')
            .nth(3)
            .ok_or_else(|| format!("not a handshake line: {line:?}"))?
            .to_owned();
        let channel = hookhost_tests::goplugin::unix_channel(socket)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Plugin { child, channel })
    }

    /// Ask it to shut down, as go-plugin's `Kill` does.
    async fn stop(mut self) -> Result<(), String> {
        GrpcControllerClient::new(self.channel)
            .shutdown(Empty {})
            .await
            .map_err(|e| e.to_string())?;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        Ok(())
    }
}

/// `total` calls made by `callers` tasks at once; one row.
async fn load<F, Fut>(name: String, callers: usize, total: usize, call: F) -> Result<Row, String>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let (call, next) = (call.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let at = Instant::now();
                call().await?;
                latencies.push(at.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    Ok(row(name, latencies, started.elapsed()))
}

/// The trivial call from one caller.
async fn check_ip(hookhost: &Path, dir: &Path, guests: &Path, calls: usize) -> Result<Row, String> {
    let entry = json!({"type": "ipfilter", "cmd": guests.join("ipfilter_cidr.wasm"),
                       "args": ["10.0.0.0/8"], "instances": 1});
    let cookie = (
        "SFTPGO_PLUGIN_IPFILTER",
        "368dbdab-4839-4bec-b75f-fc74a2d50f24",
    );
    let plugin = Plugin::start(hookhost, dir, "ipfilter", entry, cookie).await?;
    let client = IpFilterClient::new(plugin.channel.clone());
    let request = CheckIpRequest {
        ip: "10.0.0.1".into(),
        protocol: "SSH".into(),
    };
    let call = move || {
        let (mut client, request) = (client.clone(), request.clone());
        async move {
            client
                .check_ip(request)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    };
    load("warm-up".into(), 1, calls / 10 + 1, call.clone()).await?;
    let measured = load(
        "ipfilter CheckIP over gRPC (trivial check), 1 caller".into(),
        1,
        calls,
        call,
    )
    .await?;
    plugin.stop().await?;
    Ok(measured)
}

/// One pool size's auth rows, one per level.
async fn auth(
    hookhost: &Path,
    dir: &Path,
    guests: &Path,
    instances: usize,
    calls: usize,
) -> Result<Vec<Row>, String> {
    let users = dir.join("users");
    std::fs::create_dir_all(&users).map_err(|e| e.to_string())?;
    let user =
        json!([{"username": "alice", "password": HASH, "status": 1, "home_dir": "/srv/alice"}]);
    std::fs::write(users.join("users.json"), user.to_string()).map_err(|e| e.to_string())?;
    let entry = json!({"type": "auth", "cmd": guests.join("auth_file.wasm"), "args": ["/users/users.json"],
        "auth_options": {"scope": 1}, "instances": instances,
        "grants": {"dirs": [{"host": users, "guest": "/users"}]}});
    let cookie = ("SFTPGO_PLUGIN_AUTH", "d1ed507d-d2be-4a38-a460-6fe0b2cc7efc");
    let name = format!("auth-{instances}");
    let plugin = Plugin::start(hookhost, dir, &name, entry, cookie).await?;
    let client = AuthClient::new(plugin.channel.clone());
    let request = CheckUserAndPassRequest {
        username: "alice".into(),
        password: "correct horse".into(),
        ip: "10.0.0.1".into(),
        protocol: "SSH".into(),
        user: Vec::new(),
    };
    let call = move || {
        let (mut client, request) = (client.clone(), request.clone());
        async move {
            client
                .check_user_and_pass(request)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    };
    // Warm up every instance of the pool.
    load("warm-up".into(), instances, instances * 2, call.clone()).await?;
    let mut rows = Vec::new();
    for callers in LEVELS {
        let name = format!("{instances} instance(s), {callers} caller(s)");
        rows.push(load(name, callers, calls.max(callers), call.clone()).await?);
    }
    plugin.stop().await?;
    Ok(rows)
}

/// Measure and print the table; `exec` and `http` are the same run's hook
/// rows, the baselines.
pub fn run(
    quick: bool,
    hookhost: &Path,
    guests: &Path,
    scratch: &Path,
    exec: &Row,
    http: &Row,
) -> Result<(), String> {
    for needed in ["auth_file.wasm", "ipfilter_cidr.wasm"] {
        if !guests.join(needed).is_file() {
            return Err(format!("{needed} is missing: build the guests first"));
        }
    }
    let (trivial_calls, auth_calls) = if quick { (50, 16) } else { (5_000, 512) };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (trivial, single, pool) = runtime.block_on(async {
        let trivial = check_ip(hookhost, scratch, guests, trivial_calls).await?;
        let single = auth(hookhost, scratch, guests, 1, auth_calls).await?;
        let pool = auth(hookhost, scratch, guests, cores, auth_calls).await?;
        Ok::<_, String>((trivial, single, pool))
    })?;
    println!();
    println!("| `hookhost plugin` (unix socket, no TLS) | p50 | p99 | calls/s |");
    println!("|---|---:|---:|---:|");
    let mut rows = vec![&trivial];
    rows.extend(single.iter().chain(&pool));
    for r in rows {
        println!(
            "| {} | {} | {} | {:.0} |",
            r.name,
            fmt_duration(r.p50),
            fmt_duration(r.p99),
            r.per_second
        );
    }
    let ratio = |a: &Row, b: &Row| a.p50.as_secs_f64() / b.p50.as_secs_f64();
    println!(
        "a trivial plugin call over gRPC, p50 in the same run: {:.2}× the HTTP hook, {:.2}× the exec hook.",
        ratio(&trivial, http),
        ratio(&trivial, exec)
    );
    let ratios: Vec<String> = single
        .iter()
        .zip(&pool)
        .zip(LEVELS)
        .map(|((s, p), callers)| format!("{:.2}× at {callers}", p.per_second / s.per_second))
        .collect();
    println!(
        "auth (bcrypt) checks/s, the pool of {cores} against one instance: {}.",
        ratios.join(", ")
    );
    Ok(())
}
