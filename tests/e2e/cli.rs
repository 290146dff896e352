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
    assert!(run().contains("2 wasm; plugins: 0; compile cache: 0 hits, 2 compiled"));
    assert!(run().contains("2 wasm; plugins: 0; compile cache: 2 hits, 0 compiled"));
    assert_eq!(hookhost_tests::compiled_components(&cache), 2);
    assert!(cache.join("functions").is_dir(), "compiled functions kept");
}

/// The library's embedding example (built by `cargo test` for the
/// `hookhost` package): a native hook, a wasm hook, a native notifier, a
/// reload.
#[test]
fn the_embedding_example_runs_a_native_and_a_wasm_hook() {
    // cargo builds examples for `cargo test`, next to the test binaries.
    let deps = std::env::current_exe().unwrap();
    let example = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/embed");
    let out = std::process::Command::new(&example)
        .arg(wasm("deny-exe"))
        .env("HOOKHOST_LOG", "warn")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (a plain `cargo test` builds the examples)",
                example.display()
            )
        });
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "pre-upload /srv/alice/report.pdf: Allow",
        "pre-upload /srv/alice/my report.pdf: Deny(\"no-spaces: file names may not contain spaces\")",
        "pre-upload /srv/alice/setup.exe: Deny(\"deny-exe: .exe files are not allowed\")",
        "pre-download /srv/alice/report.pdf: Deny(\"deny-downloads: exit status 1\")",
        "delete /srv/alice/report.pdf: Queued",
        "rename /srv/alice/report.pdf: Failed(\"check-renames: exit status 1\")",
        "provider add: Allow",
        "check_ip: allowed",
        "after reload 2: pre-download /srv/alice/report.pdf: Allow",
        "after reload 2: pre-upload /srv/alice/my report.pdf: Deny(\"no-spaces: file names may not contain spaces\")",
        "journal: [\"pre-upload /srv/alice/report.pdf\", \"pre-upload /srv/alice/my report.pdf\", \"pre-upload /srv/alice/setup.exe\", \"pre-upload /srv/alice/my report.pdf\"]",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
}
