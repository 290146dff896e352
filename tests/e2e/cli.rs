//! The `hookhost` binary with wasm hooks: the compile cache across runs.

use hookhost_tests::guests::wasm;
use hookhost_tests::hookhost_bin;
use serde_json::json;

#[test]
fn check_compiles_once_and_the_next_run_uses_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let config = json!({
        "common": {"actions": {"hooks": [
            {"hook": wasm("deny-exe"), "execute_on": ["pre-upload"]},
            {"hook": wasm("upload-audit"), "execute_on": ["upload"]}]}},
        "hookhost": {"cache_dir": cache, "wasm": {"max_instances": 8}}
    });
    let file = dir.path().join("config.json");
    std::fs::write(&file, config.to_string()).unwrap();
    let run = || {
        let out = std::process::Command::new(hookhost_bin())
            .args(["check", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run().contains("2 wasm; compile cache: 0 hits, 2 compiled"));
    assert!(run().contains("2 wasm; compile cache: 2 hits, 0 compiled"));
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);
}

#[test]
fn bench_quick_runs_and_prints_its_tables() {
    let guests = wasm("deny-exe").parent().unwrap().to_path_buf();
    let out = std::process::Command::new(hookhost_bin())
        .args(["bench", "--quick", "--guests"])
        .arg(&guests)
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
        "| wasm hook, reused instance |",
        "| exec hook (/bin/sh script) |",
        "| HTTP hook (loopback, keep-alive) |",
        "p50 ratios, same run",
        "| `hookhost exec` |",
        "in-flight instances raised RSS",
        "starvation:",
        "| epoch + fuel |",
    ] {
        assert!(stdout.contains(row), "{row:?} missing from:\n{stdout}");
    }
}
