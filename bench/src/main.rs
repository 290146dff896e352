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
mod journal;
mod load;
mod login;
mod outbound;
mod plugin_grpc;
mod rows;
mod setup;
mod shadow;

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
}

fn main() -> ExitCode {
    let args = Args::parse();
    let hookhost = args.hookhost.unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("hookhost")))
            .unwrap_or_else(|| PathBuf::from("hookhost"))
    });
    let go = args.go_webhook.as_deref();
    bench::run(args.quick, args.load_only, &args.guests, &hookhost, go).unwrap_or_else(|message| {
        eprintln!("hookhost-bench: {message}");
        ExitCode::from(2)
    })
}
