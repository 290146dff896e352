//! A hook author's first hour, as the README tells it: `hookhost new`, the
//! generated README's build command, `hookhost check`, then `hookhost fire
//! --hook` allowing and denying — in Rust and in Python; and every kind
//! `new` knows builds and passes `check`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hookhost_tests::{hookhost_bin, repo_root};

fn hookhost(dir: &Path, args: &[&str]) -> Output {
    Command::new(hookhost_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("HOOKHOST_LOG")
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The generated README's build line, run as written (without the comment).
fn build_as_readme_says(project: &Path, target_dir: Option<&Path>) {
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo build") || l.starts_with("componentize-py"))
        .expect("a build command in the README");
    let command = line.split('#').next().unwrap().trim();
    let mut words = command.split_whitespace();
    let mut cmd = Command::new(words.next().unwrap());
    cmd.args(words)
        .current_dir(project)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    match target_dir {
        Some(dir) => cmd.env("CARGO_TARGET_DIR", dir),
        None => cmd.env_remove("CARGO_TARGET_DIR"),
    };
    let out = cmd.env_remove("RUSTFLAGS").output().unwrap();
    ok(&out, command);
}

/// The README's build, in the guests' target directory (the SDK and its
/// dependencies are compiled there already, with the versions of the
/// project's Cargo.lock), the component then copied to where the README
/// says it is.
fn build_shared(project: &Path, file: &str) {
    let target = repo_root().join("target/guests");
    build_as_readme_says(project, Some(&target));
    let built: PathBuf = target.join("wasm32-wasip2/release").join(file);
    let expected = project.join("target/wasm32-wasip2/release");
    std::fs::create_dir_all(&expected).unwrap();
    std::fs::copy(&built, expected.join(file)).unwrap();
}

fn fire(project: &Path, wasm: &str, event: &str) -> Output {
    hookhost(
        project,
        &[
            "fire", "--hook", wasm, "--arg", "10485760", "--event", event,
        ],
    )
}

fn size_guard_works(project: &Path, wasm: &str) {
    ok(
        &hookhost(project, &["check", "--config", "hookhost.json"]),
        "check",
    );
    let small = fire(project, wasm, "events/upload-small.json");
    ok(&small, "fire small");
    let big = fire(project, wasm, "events/upload-big.json");
    assert_eq!(big.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&big.stdout);
    assert!(stdout.contains("over the limit"), "{stdout}");
    let stderr = String::from_utf8_lossy(&big.stderr);
    assert!(
        stderr.contains("upload over the limit"),
        "the guest's log line is printed: {stderr}"
    );
    assert!(
        stderr.contains("WARN hookhost::dispatch: hook failed"),
        "a deny of a notification is a failure (the WIT's error): {stderr}"
    );
}

#[test]
fn a_new_rust_fs_hook_builds_checks_and_fires_as_its_readme_says() {
    let dir = tempfile::tempdir().unwrap();
    ok(
        &hookhost(dir.path(), &["new", "fs-hook", "size-guard"]),
        "new",
    );
    let project = dir.path().join("size-guard");
    assert!(
        project.join("Cargo.lock").is_file(),
        "the versions hookhost's guests are tested with"
    );
    build_shared(&project, "size_guard.wasm");
    size_guard_works(&project, "target/wasm32-wasip2/release/size_guard.wasm");
    assert!(
        !hookhost(dir.path(), &["new", "fs-hook", "size-guard"])
            .status
            .success(),
        "an existing project is never overwritten"
    );
}

#[test]
fn a_new_python_fs_hook_builds_checks_and_fires_as_its_readme_says() {
    if !hookhost_tests::tool_available("componentize-py", "pip install componentize-py==0.25.1") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    ok(
        &hookhost(
            dir.path(),
            &["new", "fs-hook", "py-guard", "--lang", "python"],
        ),
        "new",
    );
    let project = dir.path().join("py-guard");
    build_as_readme_says(&project, None);
    size_guard_works(&project, "py_guard.wasm");
}

#[test]
fn every_kind_new_knows_builds_and_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let kinds = [
        "fs-hook",
        "provider-hook",
        "pre-login-hook",
        "external-auth-hook",
        "check-password-hook",
        "keyboard-interactive-hook",
        "post-login-hook",
        "post-connect-hook",
        "post-disconnect-hook",
        "startup-hook",
        "notifier-plugin",
        "kms-plugin",
        "auth-plugin",
        "eventsearcher-plugin",
        "ipfilter-plugin",
    ];
    for kind in kinds {
        let name = format!("my-{kind}");
        ok(&hookhost(dir.path(), &["new", kind, &name]), kind);
        let project = dir.path().join(&name);
        build_shared(&project, &format!("{}.wasm", name.replace('-', "_")));
        ok(
            &hookhost(&project, &["check", "--config", "hookhost.json"]),
            &format!("{kind}: check"),
        );
    }
    let js = hookhost(dir.path(), &["new", "fs-hook", "js-guard", "--lang", "js"]);
    assert_eq!(js.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&js.stderr).contains("not supported yet"));
    let unknown = hookhost(dir.path(), &["new", "fs-hok", "x"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("expected one of: fs-hook"));
}

// --- what the tools say -------------------------------------------------------

fn check_says(dir: &Path, config: &str) -> String {
    let path = dir.join("c.json");
    std::fs::write(&path, config).unwrap();
    let out = hookhost(dir, &["check", "--config", "c.json"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    stdout + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn bad_files_are_named_plainly() {
    let dir = tempfile::tempdir().unwrap();
    assert!(check_says(dir.path(), "").contains("c.json: JSON: empty: expected a JSON document"));
    let says = check_says(dir.path(), r#"{"common": {"actions": {}},}"#);
    assert!(
        says.contains("c.json: JSON: trailing comma at line 1"),
        "{says}"
    );
    std::fs::write(dir.path().join("bad.wasm"), "garbage!").unwrap();
    let says = check_says(
        dir.path(),
        r#"{"common": {"actions": {"hooks": [{"hook": "bad.wasm", "execute_on": ["upload"]}]}}}"#,
    );
    assert!(says.contains("bad.wasm is not WebAssembly"), "{says}");
    assert!(!says.contains("0x"), "no byte dump: {says}");
}

#[test]
fn check_counts_plugins_and_logs_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let filter = hookhost_tests::guests::wasm("ipfilter-cidr");
    let deny = hookhost_tests::guests::wasm("deny-exe");
    let config = serde_json::json!({
        "plugins": [{"type": "ipfilter", "cmd": filter, "args": ["10.0.0.0/8"]}],
        "common": {"actions": {"hooks": [{"hook": deny, "execute_on": ["pre-upload"]}]}},
    });
    let says = check_says(dir.path(), &config.to_string());
    assert!(says.contains("1 wasm; plugins: 1;"), "{says}");
    let event = dir.path().join("e.json");
    std::fs::write(
        &event,
        r#"{"action": "pre-upload", "username": "a", "path": "/x.exe", "fs_provider": 0, "status": 1, "protocol": "SFTP"}"#,
    )
    .unwrap();
    let fire = |log: Option<&str>| {
        let mut cmd = Command::new(hookhost_bin());
        cmd.current_dir(dir.path())
            .args(["fire", "--config", "c.json", "--event", "e.json"]);
        match log {
            Some(filter) => cmd.env("HOOKHOST_LOG", filter),
            None => cmd.env_remove("HOOKHOST_LOG"),
        };
        String::from_utf8_lossy(&cmd.output().unwrap().stderr).into_owned()
    };
    let quiet = fire(None);
    assert!(!quiet.contains("plugin started"), "{quiet}");
    let debug = fire(Some("debug"));
    assert!(
        debug.contains("plugin started"),
        "hookhost's own debug lines: {debug}"
    );
    let foreign: Vec<&str> = debug
        .lines()
        .filter(|l| l.contains(" DEBUG wasmtime") || l.contains(" DEBUG cranelift"))
        .collect();
    assert!(
        foreign.is_empty(),
        "no engine internals at debug: {foreign:?}"
    );
}
