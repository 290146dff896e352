//! The HTTP hook's native anchor under a real load generator: `wrk` (a
//! process of its own, as SFTPGo would be) against the `hookhost serve`
//! binary and the Go net/http webhook (bench/go-webhook, all cores), each
//! a process of its own on the same machine. Two figures per server:
//! requests/s at 16 connections (2 wrk threads) and the p50 at one
//! connection. Every request is a new pre-upload event (a path never sent
//! before, every other one an `.exe`), and the count of 403s is checked,
//! so a row where the check did not run cannot pass for a fast one.
//! Rounds alternate between the servers; each figure is the median of its
//! rounds.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hookhost::event::{Contract, FsAction};
use serde_json::{Value, json};

use crate::rows::{fmt_duration, median_f64};

/// Connections (and wrk threads) of the throughput figure.
const CONNECTIONS: usize = 16;
const THREADS: usize = 2;

/// What wrk reported of one run.
pub(crate) struct Wrk {
    pub(crate) per_second: f64,
    p50: Duration,
    requests: u64,
    refused: u64,
}

/// The wrk script: event bodies with a path unique to the thread and the
/// request, every other one an `.exe`.
pub(crate) fn script(dir: &Path, path: &str) -> Result<std::path::PathBuf, String> {
    let event = crate::setup::event(0, FsAction::PreUpload);
    let body = hookhost::event::fs::http::encode_fs_event(&event, &Contract::NEWEST);
    let template = String::from_utf8(body)
        .map_err(|e| e.to_string())?
        .replace("/srv/alice/file0.exe", "/srv/alice/PLACEHOLDER");
    if !template.contains("PLACEHOLDER") {
        return Err("the event body has no path to vary".into());
    }
    let text = format!(
        r#"local template = [==[{template}]==]
local headers = {{["Content-Type"] = "application/json"}}
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
local counter = 0
function request()
  counter = counter + 1
  local ext = (counter % 2 == 0) and "exe" or "txt"
  local body = template:gsub("PLACEHOLDER", string.format("t%d-%d.%s", id, counter, ext))
  return wrk.format("POST", "{path}", headers, body)
end
"#
    );
    let file = dir.join(format!("wrk{}.lua", path.replace('/', "-")));
    std::fs::write(&file, text).map_err(|e| e.to_string())?;
    Ok(file)
}

fn duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let value: f64 = text[..split].parse().ok()?;
    let scale = match &text[split..] {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(value * scale))
}

fn parse(output: &str) -> Option<Wrk> {
    let field = |prefix: &str| {
        output
            .lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .map(str::trim)
    };
    Some(Wrk {
        per_second: field("Requests/sec:")?.parse().ok()?,
        p50: duration(field("50%")?)?,
        requests: output
            .lines()
            .find(|line| line.contains("requests in"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?,
        refused: field("Non-2xx or 3xx responses:").map_or(Some(0), |n| n.parse().ok())?,
    })
}

pub(crate) fn wrk(
    url: &str,
    script: &Path,
    connections: usize,
    seconds: u32,
) -> Result<Wrk, String> {
    let threads = THREADS.min(connections);
    let out = Command::new("wrk")
        .args(["--latency", "-t"])
        .arg(threads.to_string())
        .arg("-c")
        .arg(connections.to_string())
        .arg("-d")
        .arg(format!("{seconds}s"))
        .arg("-s")
        .arg(script)
        .arg(url)
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk {url}: {}{text}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    parse(&text).ok_or_else(|| format!("wrk {url}: unexpected output:\n{text}"))
}

/// A server process and the URL its events go to.
pub(crate) struct Server {
    name: String,
    child: Child,
    pub(crate) url: String,
    /// Whether half of the events are refused (a check runs).
    checks: bool,
}

impl Server {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `command`, which prints its address as the last word of its
/// first line.
pub(crate) fn start(mut command: Command, what: &str) -> Result<(Child, String), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| format!("{what}: {e}"))?;
    let address = line.split_whitespace().last().unwrap_or_default();
    if address.is_empty() {
        let _ = child.kill();
        return Err(format!("{what}: printed no address"));
    }
    let address = address.trim_start_matches("http://").to_owned();
    Ok((child, address))
}

pub(crate) fn serve(
    hookhost: &Path,
    dir: &Path,
    cache: &Path,
    name: &str,
    hooks: Value,
) -> Result<Server, String> {
    let config = dir.join(format!("wrk-{}.json", name.replace([' ', ',', '+'], "-")));
    // SFTPGo's default `http` section: serve remembers each request for
    // SFTPGo's whole retry window (94 s), as it does in production.
    let text = json!({
        "common": {"actions": {"hooks": hooks}},
        "hookhost": {"cache_dir": cache},
    });
    std::fs::write(&config, text.to_string()).map_err(|e| e.to_string())?;
    let mut command = Command::new(hookhost);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("HOOKHOST_LOG", "error");
    let checks = hooks.as_array().is_some_and(|h| !h.is_empty());
    let (child, address) = start(command, name)?;
    Ok(Server {
        name: name.to_owned(),
        child,
        url: format!("http://{address}/v1/actions/fs"),
        checks,
    })
}

/// Measure and print the table; `go_webhook` is the anchor's program.
pub(crate) fn run(
    quick: bool,
    hookhost: &Path,
    deny_exe: &Path,
    go_webhook: Option<&Path>,
    scratch: &Path,
    cache: &Path,
) -> Result<(), String> {
    if !hookhost_tests::program_on_path("wrk", "apt-get install wrk") {
        println!("(no wrk table: wrk is missing; scripts/tools.sh installs it)");
        return Ok(());
    }
    let on = json!(["pre-upload"]);
    let mut servers = Vec::new();
    if let Some(program) = go_webhook {
        let (child, address) = start(Command::new(program), "--go-webhook")?;
        servers.push(Server {
            name: "Go net/http webhook, native check (all cores)".into(),
            child,
            url: format!("http://{address}/hook"),
            checks: true,
        });
    } else {
        println!(
            "(no Go webhook row in the wrk table: pass --go-webhook, as scripts/bench.sh does)"
        );
    }
    servers.push(serve(
        hookhost,
        scratch,
        cache,
        "hookhost serve, no hook",
        json!([]),
    )?);
    servers.push(serve(
        hookhost,
        scratch,
        cache,
        "hookhost serve + wasm, fresh instance",
        json!([{"hook": deny_exe, "execute_on": on}]),
    )?);
    servers.push(serve(
        hookhost,
        scratch,
        cache,
        "hookhost serve + wasm, reused instance",
        json!([{"hook": deny_exe, "execute_on": on, "reuse": {"max_calls": 1_000_000, "pool": 4}}]),
    )?);
    let (rounds, seconds) = if quick { (1, 1) } else { (3, 2) };
    let mut figures: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); servers.len()];
    // One script per route, written once.
    let scripts = servers
        .iter()
        .map(|server| {
            let path = server
                .url
                .split_once("//")
                .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]));
            script(scratch, path.unwrap_or("/"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    for _ in 0..rounds {
        for ((server, script), (throughput, p50)) in servers.iter().zip(&scripts).zip(&mut figures)
        {
            let many = wrk(&server.url, script, CONNECTIONS, seconds)?;
            let one = wrk(&server.url, script, 1, seconds)?;
            for run in [&many, &one] {
                // Half the events are executables: refused where a check runs.
                let expected = if server.checks { run.requests / 2 } else { 0 };
                if run.refused.abs_diff(expected) > 1 + run.requests / 100 {
                    return Err(format!(
                        "{}: {} of {} requests refused, expected about {expected}",
                        server.name, run.refused, run.requests
                    ));
                }
            }
            throughput.push(many.per_second);
            p50.push(one.p50.as_secs_f64());
        }
    }
    println!();
    println!(
        "| wrk, each server a process, medians of {rounds} alternating round(s) | requests/s, {CONNECTIONS} connections ({THREADS} wrk threads) | p50, 1 connection |"
    );
    println!("|---|---:|---:|");
    let medians: Vec<(f64, f64)> = figures
        .into_iter()
        .map(|(throughput, p50)| (median_f64(throughput), median_f64(p50)))
        .collect();
    for (server, (throughput, p50)) in servers.iter().zip(&medians) {
        println!(
            "| {} | {throughput:.0} | {} |",
            server.name,
            fmt_duration(Duration::from_secs_f64(*p50))
        );
    }
    if go_webhook.is_some() {
        let go = medians[0];
        let against = |i: usize| {
            format!(
                "throughput {:.2}×, p50 {:.2}×",
                medians[i].0 / go.0,
                medians[i].1 / go.1
            )
        };
        println!(
            "against the Go webhook, same run: serve + wasm fresh {}; reused {}; serve without a hook {}.",
            against(2),
            against(3),
            against(1)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_read() {
        let text = "Running 2s test @ http://127.0.0.1:1/hook\n  2 threads and 16 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   310.12us  102.01us   3.01ms   80.00%\n  Latency Distribution\n     50%  290.00us\n     75%  350.00us\n     90%  420.00us\n     99%    1.20ms\n  96001 requests in 2.00s, 6.87MB read\n  Non-2xx or 3xx responses: 48000\nRequests/sec:  48000.50\nTransfer/sec:      3.43MB\n";
        let wrk = parse(text).expect("parsed");
        assert_eq!(wrk.requests, 96001);
        assert_eq!(wrk.refused, 48000);
        assert_eq!(wrk.p50, Duration::from_micros(290));
        assert!((wrk.per_second - 48000.5).abs() < 1e-6);
        assert_eq!(duration("1.20ms"), Some(Duration::from_micros(1200)));
    }
}
