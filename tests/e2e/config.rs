//! Configuration: SFTPGo's own file loads as it is; bad input is refused
//! with the field at fault.

use std::path::Path;

use hookhost::Config;
use hookhost::config::HookTarget;
use hookhost::event::{FsAction, ObjectType, ProviderAction};
use hookhost_tests::guests::wasm;
use hookhost_tests::{config_with, exec_fixture, host_error, repo_root};
use serde_json::json;

#[test]
fn real_world_sftpgo_json_loads_as_it_is() {
    let config = Config::from_file(&repo_root().join("tests/fixtures/sftpgo.json")).unwrap();
    let fs = &config.fs_actions;
    assert_eq!(fs.hooks.len(), 1);
    assert!(
        matches!(&fs.hooks[0].spec.target, HookTarget::Http(url) if url.as_str() == "http://127.0.0.1:9/v1/actions/fs")
    );
    assert_eq!(
        fs.hooks[0].execute_on,
        [
            FsAction::Upload,
            FsAction::PreUpload,
            FsAction::PreDelete,
            FsAction::Delete,
            FsAction::Rename
        ]
    );
    assert_eq!(fs.execute_sync, [FsAction::Upload]);
    let provider = &config.provider_actions.hooks[0];
    assert_eq!(
        provider.execute_on,
        [
            ProviderAction::Add,
            ProviderAction::Update,
            ProviderAction::Delete
        ]
    );
    assert_eq!(provider.execute_for, [ObjectType::User, ObjectType::Admin]);
    assert_eq!(config.http.retry_max, 3);
    assert_eq!(config.http.headers[0].key, "X-SFTPGo-Node");
    assert_eq!(fs.hooks[0].spec.reference_limit.as_secs(), 30);
    assert_eq!(provider.spec.reference_limit.as_secs(), 15);
}

#[test]
fn sftpgo_defaults_apply_to_the_http_section() {
    let config = Config::from_slice(b"{}", Path::new(".")).unwrap();
    assert_eq!(config.http.timeout, 20.0);
    assert_eq!(
        (
            config.http.retry_wait_min,
            config.http.retry_wait_max,
            config.http.retry_max
        ),
        (2, 30, 3)
    );
    assert!(!config.http.skip_tls_verify);
}

#[test]
fn plain_hook_and_extension_hooks_coexist() {
    let config = json!({"common": {"actions": {
        "execute_on": ["upload"], "hook": exec_fixture("record"),
        "hooks": [{"hook": wasm("deny-exe"), "execute_on": ["pre-upload"]}]}}});
    let config = Config::from_value(config, &repo_root()).unwrap();
    let names: Vec<&str> = config
        .fs_actions
        .hooks
        .iter()
        .map(|h| h.spec.name.as_str())
        .collect();
    assert_eq!(names, ["record", "deny_exe"]);
    assert_eq!(config.fs_actions.hooks[0].execute_on, [FsAction::Upload]);
    assert_eq!(config.fs_actions.hooks[1].execute_on, [FsAction::PreUpload]);
}

#[test]
fn one_program_for_both_sections_gets_distinct_names() {
    let program = exec_fixture("record");
    let config = json!({
        "common": {"actions": {"execute_on": ["upload"], "hook": program,
            "hooks": [{"hook": program, "execute_on": ["download"]}, {"name": "record-2", "hook": "http://x/", "execute_on": ["mkdir"]}]}},
        "data_provider": {"actions": {"execute_on": ["add"], "hook": program}}});
    let config = Config::from_value(config, &repo_root()).unwrap();
    let mut names: Vec<&str> = config
        .fs_actions
        .hooks
        .iter()
        .map(|h| h.spec.name.as_str())
        .collect();
    names.extend(
        config
            .provider_actions
            .hooks
            .iter()
            .map(|h| h.spec.name.as_str()),
    );
    assert_eq!(names, ["record", "record-3", "record-2", "record-4"]);
}

/// Each case: a configuration and the field plus words its error must name.
#[tokio::test]
async fn bad_configurations_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let not_exec = dir.path().join("not-executable");
    std::fs::write(&not_exec, "#!/bin/sh\n").unwrap();
    let cases = vec![
        (
            json!({"common": {"actions": {"execute_on": ["upload", "uplaod"], "hook": "http://x/"}}}),
            "common.actions.execute_on[1]: unknown action \"uplaod\"",
        ),
        (
            json!({"common": {"actions": {"execute_on": ["upload"], "execute_sync": ["bogus"]}}}),
            "common.actions.execute_sync[0]: unknown action \"bogus\"",
        ),
        (
            json!({"common": {"actions": {"execute_on": ["upload"], "hook": "bin/hook.sh"}}}),
            "common.actions.hook: \"bin/hook.sh\": an exec hook must be an absolute path",
        ),
        (
            json!({"common": {"actions": {"execute_on": ["upload"], "hook": "/nonexistent/hook"}}}),
            "common.actions.hook: /nonexistent/hook: No such file or directory",
        ),
        (
            json!({"common": {"actions": {"execute_on": ["upload"], "hook": not_exec}}}),
            "not executable",
        ),
        (
            json!({"common": {"actions": {"execute_on": ["upload"], "hook": "http://exa mple/"}}}),
            "common.actions.hook: \"http://exa mple/\" is not a valid URL",
        ),
        (
            json!({"data_provider": {"actions": {"execute_on": ["add"], "execute_for": ["usr"], "hook": "http://x/"}}}),
            "data_provider.actions.execute_for[0]: unknown object type \"usr\"",
        ),
        (
            json!({"data_provider": {"actions": {"execute_on": ["insert"], "hook": "http://x/"}}}),
            "data_provider.actions.execute_on[0]: unknown provider action \"insert\"",
        ),
        (
            json!({"common": {"actions": {"execute_on": "upload"}}}),
            "common.actions.execute_on: invalid type",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "x.wasm", "execute_on": ["upload"], "limits": {"timeout_ms": 60000}}]}}}),
            "common.actions.hooks[0].limits.timeout_ms: 60000 is above this section's limit of 30000 ms",
        ),
        (
            json!({"data_provider": {"actions": {"hooks": [{"hook": "x.wasm", "execute_on": ["add"], "limits": {"timeout_ms": 20000}}]}}}),
            "data_provider.actions.hooks[0].limits.timeout_ms: 20000 is above this section's limit of 15000 ms",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "http://x/", "execute_on": ["upload"], "limits": {"timeout_ms": 300001}}]}}}),
            "common.actions.hooks[0].limits.timeout_ms: 300001 is above the longest SFTPGo lets a hook run, of 300000 ms",
        ),
        (
            json!({"command": {"timeout": 0}}),
            "command.timeout: 0 is not a timeout SFTPGo accepts (1 to 300 seconds)",
        ),
        (
            json!({"command": {"commands": [{"path": "/bin/true", "env": ["NO_EQUALS"]}]}}),
            "command.commands[0].env[0]: \"NO_EQUALS\" is not of the form KEY=VALUE",
        ),
        // Numbers that used to panic (Duration::from_secs_f64, overflowing
        // products) or make a zero-sized channel.
        (
            json!({"http": {"timeout": 1e300}}),
            "http.timeout: must be a positive number of seconds, at most a day",
        ),
        (
            json!({"hookhost": {"wasm": {"max_memory_mib": 18446744073709551615u64}}}),
            "hookhost.wasm.max_memory_mib: 18446744073709551615 is out of range (from 1 to 4096)",
        ),
        // Above what a 64-bit address space holds the pool could not be
        // reserved, and hookhost used to run without it, quietly.
        (
            json!({"hookhost": {"wasm": {"max_instances": 100_000}}}),
            "hookhost.wasm.max_instances: 100000 is out of range (from 1 to 10000: each instance of the pool reserves about 9 GiB",
        ),
        (
            json!({"hookhost": {"async_queue_size": 0}}),
            "hookhost.async_queue_size: 0 is out of range (from 1 to 1000000)",
        ),
        (
            json!({"hookhost": {"wasm": {"epoch_tick_ms": 0}}}),
            "hookhost.wasm.epoch_tick_ms: 0 is out of range (from 1 to 1000)",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "x.wasm", "execute_on": ["upload"], "limits": {"output_kib": 18446744073709551615u64}}]}}}),
            "common.actions.hooks[0].limits.output_kib: 18446744073709551615 is above 1048576",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "x.wasm", "execute_on": ["upload"], "grants": {"dirs": [{"host": ".", "guest": "/d", "quota_mib": 5}]}}]}}}),
            "common.actions.hooks[0].grants.dirs[0].quota_mib: only a writable grant takes a quota",
        ),
        // A NUL would be cut by the guest's C-string argv/environ.
        (
            json!({"common": {"actions": {"hooks": [{"hook": "x.wasm", "execute_on": ["upload"],
                "grants": {"env": {"TOKEN": "abc\u{0}def"}}}]}}}),
            "common.actions.hooks[0].grants.env.TOKEN: contains a NUL character",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "x.wasm", "execute_on": ["upload"],
                "grants": {"args": ["ok", "exe\u{0}.bat"]}}]}}}),
            "common.actions.hooks[0].grants.args[1]: contains a NUL character",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "x.wasm", "execute_on": ["upload"],
                "grants": {"env": {"A=B": "c"}}}]}}}),
            "common.actions.hooks[0].grants.env.A=B: a variable name must be non-empty, without `=` or NUL",
        ),
        (
            json!({"plugins": [{"type": "notifier", "cmd": "p.wasm", "notifier_options": {"fs_events": ["upload"]}, "env_vars": ["K=v\u{0}w"]}]}),
            "plugins[0].env_vars.K: contains a NUL character",
        ),
        (
            json!({"hookhost": {"sftpgo_version": "2.0"}}),
            "hookhost.sftpgo_version: \"2.0\": hookhost speaks the contracts of SFTPGo 2.1 and later",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "http://x/", "execute_on": ["upload"], "limits": {"fuel": 10}}]}}}),
            "common.actions.hooks[0].limits.fuel: only wasm hooks take this setting",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "http://x/", "execute_on": ["upload"], "timeout": 5}]}}}),
            "common.actions.hooks[0].timeout: unknown field `timeout`",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "x.wasm", "execute_on": ["upload"],
                "grants": {"dirs": [{"host": "/nonexistent-dir", "guest": "/d"}]}}]}}}),
            "common.actions.hooks[0].grants.dirs[0].host: /nonexistent-dir is not a directory",
        ),
        (
            json!({"common": {"actions": {"hooks": [
                {"name": "dup", "hook": "http://x/", "execute_on": ["upload"]},
                {"name": "dup", "hook": "http://y/", "execute_on": ["upload"]}]}}}),
            "common.actions.hooks[1].name: hook name \"dup\" is used twice",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "http://x/", "execute_on": ["upload"], "reuse": {}}]}}}),
            "common.actions.hooks[0].reuse: only wasm hooks take this setting",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "x.wasm", "execute_on": ["upload"], "reuse": {"max_calls": 0}}]}}}),
            "common.actions.hooks[0].reuse: max_calls and pool must be at least 1",
        ),
        (
            json!({"http": {"retry_wait_min": 40}}),
            "http.retry_wait_min: 40 is above retry_wait_max (30)",
        ),
        (
            json!({"http": {"ca_certificates": ["/nonexistent/ca.pem"]}}),
            "http.ca_certificates[0]: /nonexistent/ca.pem: No such file",
        ),
        (
            json!({"http": {"certificates": [{"cert": "/nonexistent/c.pem", "key": "/nonexistent/k.pem"}]}}),
            "http.certificates[0].cert: /nonexistent/c.pem: No such file",
        ),
        (
            json!({"hookhost": {"wasm": {"max_instnces": 3}}}),
            "hookhost.wasm.max_instnces: unknown field",
        ),
        (
            json!({"common": {"actions": {"hooks": [{"hook": "http://x/", "execute_on": ["upload"],
                "queue": {"max_deliver": 3}}]}}}),
            "common.actions.hooks[0].queue: retries through the shared queue need hookhost.queue",
        ),
        (
            json!({"hookhost": {"queue": {"kind": "nats", "url": "nats://127.0.0.1:1"}},
                "common": {"actions": {"hooks": [{"hook": "http://x/", "execute_on": ["upload"],
                "queue": {"max_deliver": 0}}]}}}),
            "common.actions.hooks[0].queue.max_deliver: 0: must be between 1 and 1000",
        ),
        (
            json!({"hookhost": {"queue": {"kind": "nats", "url": "nats://127.0.0.1:1"}},
                "common": {"actions": {"hooks": [{"hook": "http://x/", "execute_on": ["upload"],
                "queue": {"max_delivr": 2}}]}}}),
            "common.actions.hooks[0].queue.max_delivr: unknown field",
        ),
        (
            json!({"hookhost": {"queue": {"kind": "nats", "url": "nats://127.0.0.1:1", "backoff_ms": 100_000_000_u64}}}),
            "hookhost.queue.backoff_ms: 100000000 is more than a day",
        ),
        (
            json!({"hookhost": {"queue": {"kind": "nats", "url": "nats://127.0.0.1:1"}},
                "data_provider": {"post_login_hooks": [{"hook": "http://y/", "queue": {"max_deliver": 2}}]}}),
            "data_provider.post_login_hooks[0].queue: login and connection hooks answer or run at once",
        ),
    ];
    for (config, expected) in cases {
        let err = host_error(config.clone()).await;
        assert!(
            err.contains(expected),
            "for {config}\n  got: {err}\n  expected: {expected}"
        );
    }
}

#[test]
fn errors_from_a_file_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sftpgo.json");
    std::fs::write(
        &file,
        r#"{"common": {"actions": {"execute_on": ["nope"]}}}"#,
    )
    .unwrap();
    let err = Config::from_file(&file).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: common.actions.execute_on[0]", file.display())),
        "{err}"
    );
    std::fs::write(&file, "{ not json").unwrap();
    let err = Config::from_file(&file).unwrap_err().to_string();
    assert!(
        err.starts_with(&file.display().to_string()) && err.contains("key must be a string"),
        "{err}"
    );
}

#[test]
fn hook_limit_can_only_be_lowered() {
    let config = config_with(
        json!([{"hook": "http://127.0.0.1:9/", "execute_on": ["upload"], "limits": {"timeout_ms": 1500}}]),
        json!([]),
    );
    let config = Config::from_value(config, &repo_root()).unwrap();
    assert_eq!(
        config.fs_actions.hooks[0].spec.timeout_cap,
        Some(std::time::Duration::from_millis(1500))
    );
}

/// `hookhost fire --config FILE` of an upload, with `env` as the only
/// environment (as a container passes SFTPGo's settings).
fn fire_upload(config: &Path, event_dir: &Path, env: &[(&str, String)]) -> std::process::Output {
    let event = event_dir.join("upload.json");
    std::fs::write(
        &event,
        json!({"action": "upload", "username": "alice", "path": "/srv/a.txt", "virtual_path": "/a.txt",
            "fs_provider": 0, "status": 1, "protocol": "SFTP", "ip": "10.0.0.1", "timestamp": 1})
        .to_string(),
    )
    .unwrap();
    std::process::Command::new(hookhost_tests::hookhost_bin())
        .args(["fire", "--config"])
        .arg(config)
        .arg("--event")
        .arg(&event)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap()
}

#[test]
fn sftpgos_yaml_and_toml_files_and_environment_overrides_are_read_as_sftpgo_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let record = exec_fixture("record-all");
    // YAML, as many container deployments write sftpgo.yaml.
    let yaml = dir.path().join("sftpgo.yaml");
    std::fs::write(
        &yaml,
        format!(
            "common:\n  actions:\n    execute_on: [upload]\n    hook: {}\ncommand:\n  env: [\"RECORD_DIR={}\"]\nhookhost:\n  cache_dir: \"\"\n",
            record.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let out = fire_upload(&yaml, dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path().join("upload.env").exists(),
        "the YAML's hook ran"
    );
    std::fs::remove_file(dir.path().join("upload.env")).unwrap();

    // TOML whose hook is off; the environment turns it on and sets where it
    // writes (SFTPGo's precedence: the variable wins over the file).
    let toml = dir.path().join("sftpgo.toml");
    std::fs::write(
        &toml,
        "[common.actions]\nexecute_on = []\nhook = \"\"\n\n[hookhost]\ncache_dir = \"\"\n",
    )
    .unwrap();
    let other = tempfile::tempdir().unwrap();
    let env = [
        (
            "SFTPGO_COMMON__ACTIONS__EXECUTE_ON",
            "upload,download".to_owned(),
        ),
        ("SFTPGO_COMMON__ACTIONS__HOOK", record.display().to_string()),
        (
            "SFTPGO_COMMAND__ENV",
            format!("RECORD_DIR={}", other.path().display()),
        ),
    ];
    let out = fire_upload(&toml, dir.path(), &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        other.path().join("upload.env").exists(),
        "the variables' hook ran"
    );

    // env.d beside the file sets what the environment does not.
    std::fs::create_dir(dir.path().join("env.d")).unwrap();
    std::fs::write(
        dir.path().join("env.d/hooks.env"),
        format!(
            "# SFTPGo's env.d\nSFTPGO_COMMON__ACTIONS__EXECUTE_ON=upload\nSFTPGO_COMMON__ACTIONS__HOOK={}\nSFTPGO_COMMAND__ENV=RECORD_DIR={}\n",
            record.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let out = fire_upload(&toml, dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("upload.env").exists(), "env.d's hook ran");

    // A number that does not parse refuses the configuration, naming it.
    let out = fire_upload(
        &toml,
        dir.path(),
        &[("SFTPGO_HTTP__RETRY_MAX", "many".into())],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SFTPGO_HTTP__RETRY_MAX"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
