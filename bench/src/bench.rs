//! The benchmark: the same pre-upload check run as a native Rust call (the
//! floor), a wasm hook (fresh instance, reused instance; the std `deny-exe`,
//! a `no_std` guest importing no function at all, and a std SDK guest that
//! reads nothing: the std floor), an exec hook and an
//! HTTP hook, in one run, with ratios computed against exec and HTTP; then
//! start-up, memory per in-flight instance, starvation by a busy hook, the
//! cost of epoch and fuel metering, and `hookhost plugin` under concurrent
//! callers (`plugin_grpc`).
//!
//! Figures are latencies of single events dispatched through the public API
//! (`Host::dispatch_fs`), one after the other on one thread unless a row
//! says otherwise. The machine is shared and noisy: read ratios, not
//! absolutes. `--quick` runs a few events of each kind (a smoke test).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookhost::config::{Grants, Limits, Reuse, WasmSettings};
use hookhost::event::{FsAction, FsEvent, Protocol};
use hookhost::hook::wasm::{Mode, WasmHook, World};
use hookhost::hook::{EventRef, Hook};
use hookhost::sandbox::Sandbox;
use hookhost::{Decision, Host};
use serde_json::{Value, json};

use crate::cases::{Case, MakeEvent, ROUNDS, sequential, two_workers};
use crate::rows::{Row, fmt_duration, percentile, print_table, reset_peak_rss, row, status_kib};
use crate::setup::{config, event};

/// How much to run.
struct Sizes {
    floor: usize,
    wasm: usize,
    reused: usize,
    exec: usize,
    http: usize,
    processes: usize,
    in_flight: usize,
    metering_runs: usize,
    loop_iterations: u64,
    fib: u64,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Sizes {
                floor: 10_000,
                wasm: 300,
                reused: 1_000,
                exec: 20,
                http: 100,
                processes: 3,
                in_flight: 100,
                metering_runs: 1,
                loop_iterations: 1_000_000,
                fib: 15,
            }
        } else {
            Sizes {
                floor: 1_000_000,
                wasm: 20_000,
                reused: 100_000,
                exec: 500,
                http: 5_000,
                processes: 30,
                in_flight: 1_000,
                metering_runs: 15,
                loop_iterations: 50_000_000,
                fib: 27,
            }
        }
    }
}

/// Event `i` of an allow-only run: no executables.
fn allowed_event(i: usize, action: FsAction) -> FsEvent {
    FsEvent::new(
        action,
        "alice",
        format!("/srv/alice/file{i}.txt"),
        Protocol::Sftp,
    )
}

/// The check every row performs: refuse common Windows executables.
fn refuse_native(path: &str) -> bool {
    const REFUSED: &[&str] = &["exe", "bat", "cmd", "com", "msi", "scr"];
    let name = path.rsplit('/').next().unwrap_or("");
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            REFUSED.iter().any(|r| ext.eq_ignore_ascii_case(r))
        }
        _ => false,
    }
}

fn floor_row(sizes: &Sizes) -> Row {
    reset_peak_rss();
    let mut latencies = Vec::with_capacity(sizes.floor);
    let started = Instant::now();
    for i in 0..sizes.floor {
        let event = event(i, FsAction::PreUpload);
        let t = Instant::now();
        std::hint::black_box(refuse_native(std::hint::black_box(&event.path)));
        latencies.push(t.elapsed());
    }
    row("rust call (floor)", latencies, started.elapsed())
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Measure `cases` on one thread, round by round: each round runs a tenth of
/// every row's events, so a neighbour's load on the shared machine hits all
/// rows alike and the ratios between them stay meaningful. A row's peak RSS
/// is the process's peak while that row's events ran.
fn interleaved(cases: &[Case], cache: &Path) -> Result<Vec<Row>, String> {
    current_thread().block_on(async {
        let mut hosts = Vec::with_capacity(cases.len());
        for case in cases {
            hosts.push(case.warm_host(cache).await?);
        }
        let mut latencies = vec![Vec::new(); cases.len()];
        let mut elapsed = vec![Duration::ZERO; cases.len()];
        let mut peak_kib = vec![0.0_f64; cases.len()];
        for round in 0..ROUNDS {
            for (i, (case, host)) in cases.iter().zip(&hosts).enumerate() {
                // The last round takes the remainder.
                let remainder = if round + 1 == ROUNDS {
                    case.n % ROUNDS
                } else {
                    0
                };
                let n = case.n / ROUNDS + remainder;
                reset_peak_rss();
                let (chunk, took) = sequential(host, n, FsAction::PreUpload, case.make).await;
                peak_kib[i] = peak_kib[i].max(status_kib("VmHWM:"));
                latencies[i].extend(chunk);
                elapsed[i] += took;
            }
        }
        for host in &hosts {
            host.shutdown().await;
        }
        Ok(cases
            .iter()
            .zip(latencies)
            .zip(elapsed)
            .zip(peak_kib)
            .map(|(((case, latencies), elapsed), peak)| Row {
                peak_rss_mib: peak / 1024.0,
                ..row(case.name, latencies, elapsed)
            })
            .collect())
    })
}

/// `case` on a two-worker runtime with two callers.
fn two_core_row(case: &Case, cache: &Path) -> Result<Row, String> {
    let (n, make) = (case.n, case.make);
    let runtime = two_workers()?;
    runtime.block_on(async {
        let host = case.warm_host(cache).await?;
        reset_peak_rss();
        let started = Instant::now();
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let host = host.clone();
                tokio::spawn(
                    async move { sequential(&host, n / 2, FsAction::PreUpload, make).await.0 },
                )
            })
            .collect();
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.map_err(|e| e.to_string())?);
        }
        let elapsed = started.elapsed();
        host.shutdown().await;
        Ok(row(case.name, latencies, elapsed))
    })
}

/// A loopback keep-alive server answering like the check: 403 for
/// executables, 200 otherwise. Runs on its own thread and runtime.
pub(crate) fn start_http_server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = current_thread();
        runtime.block_on(async move {
            let app = axum::Router::new().fallback(|body: axum::body::Bytes| async move {
                let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let path = event["path"].as_str().unwrap_or("");
                if refuse_native(path) {
                    axum::http::StatusCode::FORBIDDEN
                } else {
                    axum::http::StatusCode::OK
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(format!(
                "http://{}/hook",
                listener.local_addr().expect("address")
            ))
            .expect("send");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    rx.recv().expect("server address")
}

/// The check as an exec hook script.
pub(crate) fn write_exec_script(dir: &Path) -> PathBuf {
    let script = dir.join("refuse-exe.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\ncase \"$SFTPGO_ACTION_PATH\" in *.exe|*.EXE|*.bat|*.cmd|*.com|*.msi|*.scr) exit 1;; esac\nexit 0\n",
    )
    .expect("write the exec hook");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

fn time_process(command: &mut Command) -> Duration {
    let t = Instant::now();
    let status = command.status().expect("run");
    let elapsed = t.elapsed();
    assert!(status.code().is_some(), "{command:?} was killed");
    elapsed
}

struct Startup {
    fire: Duration,
    exec: Duration,
    shell: Duration,
}

fn startup(sizes: &Sizes, exe: &Path, dir: &Path, deny_exe: &Path, cache: &Path) -> Startup {
    let cfg = dir.join("startup.json");
    let hooks = json!([{"hook": deny_exe, "execute_on": ["pre-upload"]}]);
    std::fs::write(
        &cfg,
        json!({"common": {"actions": {"hooks": hooks}}, "hookhost": {"cache_dir": cache}})
            .to_string(),
    )
    .expect("write");
    let event = dir.join("event.json");
    std::fs::write(
        &event,
        r#"{"action":"pre-upload","username":"u","path":"/srv/a.txt","protocol":"SFTP"}"#,
    )
    .expect("write");
    let fire = || {
        let mut c = Command::new(exe);
        c.args(["fire", "--config"])
            .arg(&cfg)
            .arg("--event")
            .arg(&event)
            .stdout(std::process::Stdio::null());
        c.env("HOOKHOST_LOG", "error");
        c
    };
    let exec = || {
        let mut c = Command::new(exe);
        c.args(["exec", "--config"])
            .arg(&cfg)
            .args(["pre-upload", "u", "/srv/a.txt", "", ""]);
        c.env("HOOKHOST_LOG", "error")
            .env("SFTPGO_ACTION", "pre-upload")
            .env("SFTPGO_ACTION_PATH", "/srv/a.txt");
        c.env("SFTPGO_ACTION_USERNAME", "u")
            .env("SFTPGO_ACTION_PROTOCOL", "SFTP");
        c
    };
    let shell = || {
        let mut c = Command::new("/bin/sh");
        c.args([
            "-c",
            "case \"$SFTPGO_ACTION_PATH\" in *.exe) exit 1;; esac; exit 0",
        ]);
        c.env("SFTPGO_ACTION_PATH", "/srv/a.txt");
        c
    };
    // Warm the compile cache and the page cache.
    time_process(&mut fire());
    time_process(&mut exec());
    let runs = |make: &dyn Fn() -> Command| {
        median(
            (0..sizes.processes)
                .map(|_| time_process(&mut make()))
                .collect(),
        )
    };
    Startup {
        fire: runs(&fire),
        exec: runs(&exec),
        shell: runs(&shell),
    }
}

/// Peak RSS growth while `n` instances of a sleeping hook are in flight.
fn in_flight_memory(n: usize, probe: &Path, cache: &Path) -> Result<(f64, f64), String> {
    let runtime = two_workers()?;
    runtime.block_on(async {
        let hooks = json!([{"hook": probe, "execute_on": ["pre-upload"], "grants": {"args": ["sleep", "500"]}}]);
        let host = Host::new(config(hooks, cache, json!({"max_instances": n.max(16)}))).await.map_err(|e| e.to_string())?;
        host.dispatch(FsEvent::new(FsAction::PreUpload, "u", "/a", Protocol::Sftp)).await;
        reset_peak_rss();
        let before = status_kib("VmRSS:");
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let host = host.clone();
                tokio::spawn(async move { host.dispatch(FsEvent::new(FsAction::PreUpload, "u", "/a", Protocol::Sftp)).await })
            })
            .collect();
        for task in tasks {
            let outcome = task.await.map_err(|e| e.to_string())?;
            assert_eq!(outcome.decision, Decision::Allow);
        }
        let peak = status_kib("VmHWM:");
        host.shutdown().await;
        let grown = (peak - before).max(0.0) / 1024.0;
        Ok((grown, grown * 1000.0 / n as f64))
    })
}

/// Latency of quick events while a hook burns CPU until its deadline, on a
/// single-threaded runtime (the worst case: one worker for everything).
fn starvation(
    sizes: &Sizes,
    deny_exe: &Path,
    probe: &Path,
    cache: &Path,
) -> Result<(Duration, Duration), String> {
    let make: MakeEvent = event;
    current_thread().block_on(async {
        let hooks = json!([
            {"hook": deny_exe, "execute_on": ["pre-upload"]},
            {"hook": probe, "execute_on": ["pre-download"], "limits": {"timeout_ms": 1500}, "grants": {"args": ["loop"]}},
        ]);
        let host = Host::new(config(hooks, cache, json!({"fuel": false}))).await.map_err(|e| e.to_string())?;
        sequential(&host, 20, FsAction::PreUpload, make).await;
        let burner = {
            let host = host.clone();
            tokio::spawn(async move { host.dispatch(FsEvent::new(FsAction::PreDownload, "u", "/a", Protocol::Sftp)).await })
        };
        tokio::task::yield_now().await;
        // Measured from a spawned task, as a server's requests are: tasks
        // take turns; `block_on`'s own future would be polled less often.
        let n = sizes.wasm.min(2_000);
        let measured = {
            let host = host.clone();
            tokio::spawn(async move { sequential(&host, n, FsAction::PreUpload, make).await.0 })
        };
        let mut latencies = measured.await.map_err(|e| e.to_string())?;
        let burned = burner.await.map_err(|e| e.to_string())?;
        assert!(matches!(burned.decision, Decision::Deny(_)), "the burner ends at its deadline");
        host.shutdown().await;
        latencies.sort_unstable();
        Ok((percentile(&latencies, 0.5), percentile(&latencies, 0.99)))
    })
}

/// A hook doing `args` work on an engine with the given metering.
fn metered_hook(
    probe: &Path,
    cache: &Path,
    args: &[String],
    epoch: bool,
    fuel: bool,
) -> Result<WasmHook, String> {
    let settings = WasmSettings {
        fuel,
        epoch_interruption: epoch,
        max_instances: 4,
        ..WasmSettings::default()
    };
    let sandbox =
        Arc::new(Sandbox::new(&settings, Some(cache.to_path_buf())).map_err(|e| e.to_string())?);
    let limits = Limits {
        timeout: Duration::from_secs(60),
        fuel: u64::MAX / 2,
        memory_bytes: 64 << 20,
        output_bytes: 4096,
        http_in_flight: hookhost::config::DEFAULT_HTTP_IN_FLIGHT,
        tcp_connections: hookhost::config::DEFAULT_TCP_CONNECTIONS,
    };
    let grants = Grants {
        args: args.to_vec(),
        ..Grants::default()
    };
    let reuse = Mode::Reuse(Reuse {
        max_calls: u32::MAX,
        pool: 1,
    });
    WasmHook::new("work", sandbox, probe, World::Fs, limits, grants, reuse)
}

/// Median call time of each metering variant (none, epoch, fuel, both) for
/// `args` work. Variants are measured in turn, round after round, so drift
/// of the machine spreads over all of them.
fn metering(
    probe: &Path,
    cache: &Path,
    args: &[String],
    runs: usize,
) -> Result<Vec<Duration>, String> {
    current_thread().block_on(async {
        let variants = [(false, false), (true, false), (false, true), (true, true)];
        let hooks = variants
            .iter()
            .map(|(epoch, fuel)| metered_hook(probe, cache, args, *epoch, *fuel))
            .collect::<Result<Vec<_>, _>>()?;
        let event = FsEvent::new(FsAction::PreUpload, "u", "/a", Protocol::Sftp);
        for hook in &hooks {
            hook.call(EventRef::Fs(&event), &hookhost::event::Contract::REFERENCE)
                .await
                .map_err(|e| e.to_string())?;
        }
        let mut times = vec![Vec::new(); hooks.len()];
        for _ in 0..runs {
            for (hook, times) in hooks.iter().zip(&mut times) {
                let t = Instant::now();
                hook.call(EventRef::Fs(&event), &hookhost::event::Contract::REFERENCE)
                    .await
                    .map_err(|e| e.to_string())?;
                times.push(t.elapsed());
            }
        }
        Ok(times.into_iter().map(median).collect())
    })
}

/// Run the benchmark and print its tables.
pub fn run(
    quick: bool,
    load_only: bool,
    guests: &Path,
    hookhost: &Path,
    go_webhook: Option<&Path>,
) -> Result<ExitCode, String> {
    if !hookhost.is_file() {
        return Err(format!(
            "{} is missing: build hookhost first (scripts/bench.sh does), or point --hookhost at it",
            hookhost.display()
        ));
    }
    let guests = std::path::absolute(guests).map_err(|e| format!("{}: {e}", guests.display()))?;
    let deny_exe = guests.join("deny_exe.wasm");
    let minimal_deny = guests.join("minimal_deny.wasm");
    let sdk_allow = guests.join("sdk_allow.wasm");
    let probe = guests.join("probe.wasm");
    for needed in [&deny_exe, &minimal_deny, &sdk_allow, &probe] {
        if !needed.is_file() {
            return Err(format!(
                "{} is missing: build the guests first (scripts/bench.sh does), or point --guests at them",
                needed.display()
            ));
        }
    }
    let sizes = Sizes::new(quick);
    let scratch = std::env::temp_dir().join(format!("hookhost-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let cache = std::env::temp_dir().join("hookhost-bench-cache");
    let http_url = start_http_server();
    let script = write_exec_script(&scratch);
    let wasm_hook = json!([{"hook": deny_exe, "execute_on": ["pre-upload"]}]);
    let reused_hook = json!([{"hook": deny_exe, "execute_on": ["pre-upload"], "reuse": {"max_calls": 100_000, "pool": 4}}]);

    println!(
        "hookhost bench{} — {} CPUs",
        if quick { " --quick" } else { "" },
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    let load_sizes = crate::load::LoadSizes {
        capacity: if quick { 500 } else { 20_000 },
        seconds: if quick { 0.1 } else { 2.0 },
        // Quick is a smoke test: a low-rate cell need not last 2 s.
        min_events: if quick { 20 } else { 200 },
    };
    // The latency tables, which close every run (and are all of
    // --load-only).
    let latency_tables = || -> Result<ExitCode, String> {
        crate::journal::run(quick, &scratch)?;
        crate::load::run(
            &load_sizes,
            &deny_exe,
            &script,
            &http_url,
            &cache,
            go_webhook,
        )?;
        crate::wrk::run(quick, hookhost, &deny_exe, go_webhook, &scratch, &cache)?;
        let _ = std::fs::remove_dir_all(&scratch);
        Ok(ExitCode::SUCCESS)
    };
    if load_only {
        return latency_tables();
    }
    // The floor and the two-core row run on their own; the other rows are
    // measured interleaved, round by round (see `interleaved`).
    let floor = floor_row(&sizes);
    let two_cores = two_core_row(
        &Case::new("wasm fresh, 2 cores", wasm_hook.clone(), sizes.wasm),
        &cache,
    )?;
    let on_demand = Case {
        wasm: json!({"pooling": false}),
        ..Case::new(
            "wasm fresh, on-demand allocator",
            wasm_hook.clone(),
            sizes.wasm,
        )
    };
    let sdk_floor = Case {
        make: allowed_event,
        ..Case::new(
            "wasm fresh, std SDK guest reading nothing",
            json!([{"hook": sdk_allow, "execute_on": ["pre-upload"]}]),
            sizes.wasm,
        )
    };
    let reused_allow = Case {
        make: allowed_event,
        ..Case::new(
            "wasm hook, reused, allow path only",
            reused_hook.clone(),
            sizes.reused,
        )
    };
    let rows = interleaved(
        &[
            Case::new("wasm hook, fresh instance", wasm_hook, sizes.wasm),
            Case::new(
                "wasm fresh, no_std guest, no imports",
                json!([{"hook": minimal_deny, "execute_on": ["pre-upload"]}]),
                sizes.wasm,
            ),
            sdk_floor,
            Case::new("wasm hook, reused instance", reused_hook, sizes.reused),
            reused_allow,
            on_demand,
            Case::new(
                "exec hook (/bin/sh script)",
                json!([{"hook": script, "execute_on": ["pre-upload"]}]),
                sizes.exec,
            ),
            Case::new(
                "HTTP hook (loopback, keep-alive)",
                json!([{"hook": http_url, "execute_on": ["pre-upload"]}]),
                sizes.http,
            ),
        ],
        &cache,
    )?;
    let [fresh, minimal, sdk_floor, reused, _, _, exec, http] = &rows[..] else {
        unreachable!("one row per case")
    };
    // The table in the cases' order, the two rows measured alone among them.
    let mut table: Vec<&Row> = rows.iter().collect();
    table.insert(1, &two_cores);
    table.insert(0, &floor);
    print_table(&table);
    let ratio = |a: &Row, b: &Row| a.p50.as_secs_f64() / b.p50.as_secs_f64();
    println!();
    println!(
        "p50 ratios, same run: wasm fresh is {:.0}× faster than exec and {:.1}× faster than HTTP; reused {:.0}× / {:.0}×.",
        ratio(exec, fresh),
        ratio(http, fresh),
        ratio(exec, reused),
        ratio(http, reused)
    );
    println!(
        "the no_std guest without imports, fresh: {:.0}× faster than exec, {:.1}× faster than HTTP, {:.2}× the time of the std guest.",
        ratio(exec, minimal),
        ratio(http, minimal),
        ratio(minimal, fresh)
    );
    println!(
        "fresh, against the no_std guest without imports: the std deny-exe example {:.2}×, a std SDK guest reading nothing {:.2}×.",
        ratio(fresh, minimal),
        ratio(sdk_floor, minimal)
    );
    println!(
        "throughput: {:.0} events/s on one core, {:.0} on two ({:.2}×).",
        fresh.per_second,
        two_cores.per_second,
        two_cores.per_second / fresh.per_second
    );

    let start = startup(&sizes, hookhost, &scratch, &deny_exe, &cache);
    println!();
    println!("| start-up (one process per event, warm compile cache) | median |");
    println!("|---|---:|");
    println!("| `hookhost fire` | {} |", fmt_duration(start.fire));
    println!("| `hookhost exec` | {} |", fmt_duration(start.exec));
    println!(
        "| `/bin/sh -c` doing the same check | {} |",
        fmt_duration(start.shell)
    );
    println!(
        "`hookhost exec` adds {} over the shell.",
        fmt_duration(start.exec.saturating_sub(start.shell))
    );

    let (grown, per_thousand) = in_flight_memory(sizes.in_flight, &probe, &cache)?;
    println!();
    println!(
        "memory: {} in-flight instances raised RSS by {grown:.0} MiB ({per_thousand:.0} MiB per 1,000).",
        sizes.in_flight
    );

    let (p50, p99) = starvation(&sizes, &deny_exe, &probe, &cache)?;
    println!(
        "starvation: while a hook burns CPU to its deadline on the same single worker, other events: p50 {}, p99 {}.",
        fmt_duration(p50),
        fmt_duration(p99)
    );

    println!();
    println!("| metering | loop-heavy | call-heavy |");
    println!("|---|---:|---:|");
    let loop_args = vec!["work-loop".to_owned(), sizes.loop_iterations.to_string()];
    let call_args = vec!["work-calls".to_owned(), sizes.fib.to_string()];
    let loops = metering(&probe, &cache, &loop_args, sizes.metering_runs)?;
    let calls = metering(&probe, &cache, &call_args, sizes.metering_runs)?;
    let pct = |x: Duration, b: Duration| (x.as_secs_f64() / b.as_secs_f64() - 1.0) * 100.0;
    for (i, label) in ["none", "epoch", "fuel", "epoch + fuel"].iter().enumerate() {
        println!(
            "| {label} | {} ({:+.0} %) | {} ({:+.0} %) |",
            fmt_duration(loops[i]),
            pct(loops[i], loops[0]),
            fmt_duration(calls[i]),
            pct(calls[i], calls[0])
        );
    }
    crate::shadow::run(sizes.wasm.min(5_000), &deny_exe, &probe, &cache)?;
    crate::plugin_grpc::run(quick, hookhost, &guests, &scratch, exec, http)?;
    crate::native_plugin::run(quick, hookhost, &guests, &scratch)?;
    let fixtures = hookhost_tests::repo_root().join("tests/fixtures");
    crate::login::run(quick, &guests, &fixtures, &scratch)?;
    crate::outbound::run(quick, &guests, &scratch)?;
    latency_tables()
}
