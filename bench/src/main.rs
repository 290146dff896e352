//! `hookhost-bench`: measures hookhost's dispatch latency and throughput —
//! native call, wasm (fresh and reused instances), exec and HTTP hooks —
//! start-up, memory and metering, and prints one table per question.
//! `scripts/bench.sh` builds what it needs and runs it; see
//! docs/performance.md.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

// The `hookhost` binary's allocator: the rows measure what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod cases;
mod compare;
mod journal;
mod load;
mod login;
mod native_plugin;
mod outbound;
mod plugin_grpc;
mod profile;
mod rows;
mod setup;
mod shadow;
mod wrk;

/// Measure hookhost: every hook kind in one run, ratios against exec and
/// HTTP hooks.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// A few events of each kind: a smoke test, not a measurement.
    #[arg(long)]
    quick: bool,
    /// Only the latency tables: accepting with the journal, and under load.
    #[arg(long)]
    load_only: bool,
    /// Only the wrk table (the `hookhost` binary against the Go webhook):
    /// `scripts/bench.sh --compare` runs it with REV's binary.
    #[arg(long)]
    wrk_only: bool,
    /// Directory with deny_exe.wasm, minimal_deny.wasm, sdk_allow.wasm and probe.wasm.
    #[arg(long, default_value = "target/guests/wasm32-wasip2/release")]
    guests: PathBuf,
    /// The hookhost binary (for the start-up rows); default: next to this
    /// program.
    #[arg(long)]
    hookhost: Option<PathBuf>,
    /// The Go net/http webhook doing the same check natively
    /// (bench/go-webhook, built by scripts/bench.sh): a row of the serve
    /// table, the anchor hookhost's serve rows are read against.
    #[arg(long)]
    go_webhook: Option<PathBuf>,
    /// Print two saved runs' tables side by side instead of measuring
    /// (`scripts/bench.sh --compare REV`): each figure of NEW beside OLD's,
    /// the runs named by their file names.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
    side_by_side: Option<Vec<PathBuf>>,
    /// Profile `hookhost serve` under wrk instead of measuring
    /// (`scripts/profile-serve.sh`): perf record, a report by function and
    /// a flame graph in --out.
    #[arg(long, value_enum, value_name = "HOOK")]
    profile_serve: Option<profile::Kind>,
    /// Seconds the profile samples.
    #[arg(long, default_value_t = 8)]
    seconds: u32,
    /// Where the profile goes.
    #[arg(long, default_value = "target/profile")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(runs) = &args.side_by_side {
        return side_by_side(&runs[0], &runs[1]);
    }
    let hookhost = args.hookhost.unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("hookhost")))
            .unwrap_or_else(|| PathBuf::from("hookhost"))
    });
    if let Some(kind) = args.profile_serve {
        let deny_exe = std::path::absolute(args.guests.join("deny_exe.wasm")).unwrap_or_default();
        return match profile::profile(kind, args.seconds, &hookhost, &deny_exe, &args.out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("hookhost-bench: {message}");
                ExitCode::from(2)
            }
        };
    }
    let go = args.go_webhook.as_deref();
    if args.wrk_only {
        let guests = std::path::absolute(&args.guests).unwrap_or_default();
        let scratch = std::env::temp_dir().join(format!("hookhost-bench-{}", std::process::id()));
        let cache = std::env::temp_dir().join("hookhost-bench-cache");
        let measured = std::fs::create_dir_all(&scratch)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                wrk::run(
                    args.quick,
                    &hookhost,
                    &guests.join("deny_exe.wasm"),
                    go,
                    &scratch,
                    &cache,
                )
            });
        let _ = std::fs::remove_dir_all(&scratch);
        return match measured {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("hookhost-bench: {message}");
                ExitCode::from(2)
            }
        };
    }
    bench::run(args.quick, args.load_only, &args.guests, &hookhost, go).unwrap_or_else(|message| {
        eprintln!("hookhost-bench: {message}");
        ExitCode::from(2)
    })
}

fn side_by_side(old: &std::path::Path, new: &std::path::Path) -> ExitCode {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let name = |path: &std::path::Path| {
        path.file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
    };
    match (read(old), read(new)) {
        (Ok(a), Ok(b)) => {
            print!("{}", compare::side_by_side(&a, &b, &name(old), &name(new)));
            ExitCode::SUCCESS
        }
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("hookhost-bench: {message}");
            ExitCode::from(2)
        }
    }
}
