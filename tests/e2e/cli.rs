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
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);
}
