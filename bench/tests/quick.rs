//! The benchmark's quick mode as a smoke test: every table prints; no
//! figure is asserted (speed is measured by the benchmark, never by tests).

use hookhost_tests::guests::wasm;
use hookhost_tests::hookhost_bin;

#[test]
fn bench_quick_runs_and_prints_its_tables() {
    let guests = wasm("deny-exe").parent().unwrap().to_path_buf();
    // The Go anchor (scripts/bench.sh builds it the same way).
    let go = hookhost_tests::go::go_available();
    let go_webhook = go.then(|| {
        let source = hookhost_tests::repo_root().join("bench/go-webhook/main.go");
        hookhost_tests::go::go_build(&source, "go-webhook")
            .unwrap_or_else(|e| panic!("go build bench/go-webhook: {e}"))
    });
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hookhost-bench"));
    if let Some(go_webhook) = &go_webhook {
        command.arg("--go-webhook").arg(go_webhook);
    }
    let out = command
        .args(["--quick", "--guests"])
        .arg(&guests)
        .arg("--hookhost")
        .arg(hookhost_bin())
        .env("HOOKHOST_LOG", "error")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "| rust call (floor) |",
        "| wasm hook, fresh instance |",
        "| wasm fresh, no_std guest, no imports |",
        "| wasm fresh, std SDK guest reading nothing |",
        "fresh, against the no_std guest without imports",
        "| wasm hook, reused instance |",
        "| exec hook (/bin/sh script) |",
        "| HTTP hook (loopback, keep-alive) |",
        "p50 ratios, same run",
        "| `hookhost exec` |",
        "in-flight instances raised RSS",
        "starvation:",
        "| epoch + fuel |",
        "| deny-exe + shadow sleeping 5 ms per event (4 places, default) |",
        "shadow, p50 against the hook alone in the same run",
        "| 1 instance(s), 64 caller(s) |",
        "| ipfilter CheckIP over gRPC (trivial check), 1 caller |",
        "a trivial plugin call over gRPC, p50 in the same run",
        "the pool of",
        "| Go net/http webhook, native check (GOMAXPROCS=1) |",
        "the Go webhook's p50",
        "| ipfilter CheckIP (an IP range): native Go plugin |",
        "| auth CheckUserAndPass (bcrypt, cost 6): native Go plugin |",
        "hookhost plugin + wasm against the native Go plugin, same run",
        "| hookhost serve + wasm, fresh instance |",
        "| Go net/http webhook, native check (all cores) |",
        "against the Go webhook, same run: serve + wasm fresh",
    ] {
        if !go && (row.contains("Go") || row.contains("go-plugin")) {
            continue;
        }
        assert!(stdout.contains(row), "{row:?} missing from:\n{stdout}");
    }
}
