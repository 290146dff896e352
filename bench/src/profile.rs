//! A CPU profile of the serve path (`hookhost-bench --profile-serve KIND`,
//! `scripts/profile-serve.sh`): the `hookhost serve` binary under wrk at 16
//! connections, every request a new pre-upload event, sampled by `perf
//! record` (the `cpu-clock` software event: shared VMs expose no hardware
//! counters; stacks unwound from DWARF call frame information, so the
//! release binary needs no frame pointers). Writes `perf.data`, the
//! report by function (`report.txt`: each function's own share of the
//! samples) and, when inferno is installed, a flame graph (`serve.svg`).
//! (`--no-inline`: perf would otherwise run addr2line for every frame,
//! which takes longer than the recording.)

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

/// Which serve to profile.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum Kind {
    /// No hook configured: serve's own path.
    None,
    /// deny-exe, a fresh instance per event (spares on, the default).
    Fresh,
    /// deny-exe, a reused instance.
    Reused,
}

fn run(command: &mut Command, what: &str) -> Result<std::process::Output, String> {
    let out = command.output().map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out)
}

pub(crate) fn profile(
    kind: Kind,
    seconds: u32,
    hookhost: &Path,
    deny_exe: &Path,
    out: &Path,
) -> Result<(), String> {
    if !hookhost_tests::program_on_path("perf", "apt-get install linux-perf")
        || !hookhost_tests::program_on_path("wrk", "apt-get install wrk")
    {
        return Err("perf and wrk are needed".into());
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let out = std::path::absolute(out).map_err(|e| e.to_string())?;
    let cache = std::env::temp_dir().join("hookhost-bench-cache");
    let on = json!(["pre-upload"]);
    let (name, hooks) = match kind {
        Kind::None => ("no hook", json!([])),
        Kind::Fresh => ("wasm fresh", json!([{"hook": deny_exe, "execute_on": on}])),
        Kind::Reused => (
            "wasm reused",
            json!([{"hook": deny_exe, "execute_on": on, "reuse": {"max_calls": 1_000_000, "pool": 4}}]),
        ),
    };
    let server = crate::wrk::serve(hookhost, &out, &cache, name, hooks)?;
    let script = crate::wrk::script(&out, "/v1/actions/fs")?;
    // A warm-up, so the profile holds the steady state.
    crate::wrk::wrk(&server.url, &script, 16, 1)?;
    let data = out.join("perf.data");
    let mut perf = Command::new("perf")
        .args([
            "record",
            "-e",
            "cpu-clock",
            "-F",
            "499",
            "--call-graph",
            "dwarf,16384",
            "-o",
        ])
        .arg(&data)
        .arg("-p")
        .arg(server.pid().to_string())
        .args(["--", "sleep"])
        .arg(seconds.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("perf record: {e}"))?;
    let load = crate::wrk::wrk(&server.url, &script, 16, seconds)?;
    let recorded = perf.wait().map_err(|e| e.to_string())?;
    if !recorded.success() {
        return Err(format!("perf record exited with {recorded}"));
    }
    drop(server);
    let report = run(
        Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--no-inline",
                "--no-children",
                "--sort",
                "dso,symbol",
                "-g",
                "none",
                "-i",
            ])
            .arg(&data),
        "perf report",
    )?;
    std::fs::write(out.join("report.txt"), &report.stdout).map_err(|e| e.to_string())?;
    println!(
        "serve ({name}) under wrk, 16 connections, {seconds} s: {:.0} requests/s while sampled",
        load.per_second
    );
    println!(
        "{}: each function's own share of the samples",
        out.join("report.txt").display()
    );
    let have_inferno = Command::new("inferno-flamegraph")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    if have_inferno {
        let script = run(
            Command::new("perf")
                .args(["script", "--no-inline", "-i"])
                .arg(&data),
            "perf script",
        )?;
        let stacks = out.join("stacks.txt");
        let collapsed = out.join("collapsed.txt");
        std::fs::write(&stacks, &script.stdout).map_err(|e| e.to_string())?;
        let folded = run(
            Command::new("inferno-collapse-perf").arg(&stacks),
            "inferno-collapse-perf",
        )?;
        std::fs::write(&collapsed, &folded.stdout).map_err(|e| e.to_string())?;
        let svg = run(
            Command::new("inferno-flamegraph")
                .args([
                    "--title",
                    &format!("hookhost serve ({name}) under wrk, 16 connections"),
                ])
                .arg(&collapsed),
            "inferno-flamegraph",
        )?;
        std::fs::write(out.join("serve.svg"), &svg.stdout).map_err(|e| e.to_string())?;
        println!("{}: the flame graph", out.join("serve.svg").display());
    } else {
        println!("(no flame graph: cargo install inferno)");
    }
    Ok(())
}
