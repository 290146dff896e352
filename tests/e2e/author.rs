//! A hook author's first hour, as the README tells it: `hookhost new`, the
//! generated README's commands run as written — the build, `hookhost
//! check`, then every `hookhost fire` line with the exit status it gives —
//! for every kind `new` knows, in Rust, Python and JavaScript.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hookhost_tests::{hookhost_bin, hookhost_in, repo_root};

/// Every kind `new` knows.
const KINDS: [&str; 15] = [
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

fn hookhost(dir: &Path, args: &[&str]) -> Output {
    hookhost_in(dir).args(args).output().unwrap()
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A README command line's words, as a shell splits them (single quotes
/// only: the READMEs quote queries that way), without its comment.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut word, mut quoted, mut any) = (String::new(), false, false);
    for c in line.chars() {
        match c {
            '\'' => (quoted, any) = (!quoted, true),
            '#' if !quoted && word.is_empty() => break,
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => (word.push(c), any = true).0,
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// The README's command block.
fn readme_lines(project: &Path) -> Vec<String> {
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a command block in the README");
    block.lines().map(str::to_owned).collect()
}

/// Run `line` as written in `project`, where `program` is found.
fn run(project: &Path, line: &str) -> Output {
    let words = words(line);
    let mut cmd = match words[0].as_str() {
        "hookhost" => hookhost_in(project),
        program => {
            let mut cmd = Command::new(program);
            cmd.current_dir(project);
            cmd
        }
    };
    cmd.args(&words[1..])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap()
}

/// The README's build, then `check`, then each `fire` line with the exit
/// status its comment gives. `build` runs a build line its own way (Rust
/// builds in the guests' target directory; JavaScript's `npm install` is
/// the tools' copy of componentize-js).
fn readme_works(project: &Path, build: impl Fn(&str) -> Option<Output>) {
    for line in readme_lines(project) {
        if let Some(fire) = line.strip_prefix("hookhost fire ") {
            let expected: i32 = fire
                .rsplit_once("# exit ")
                .and_then(|(_, rest)| rest.split(':').next())
                .and_then(|code| code.parse().ok())
                .unwrap_or_else(|| panic!("{line}: no `# exit N` comment"));
            let out = run(project, &line);
            assert_eq!(
                out.status.code(),
                Some(expected),
                "{}: {line}\n{}\n{}",
                project.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        } else if line.starts_with("hookhost check") {
            ok(
                &run(project, &line),
                &format!("{}: {line}", project.display()),
            );
        } else if let Some(out) = build(&line) {
            ok(&out, &format!("{}: {line}", project.display()));
        }
    }
}

/// `hookhost new KIND NAME --lang LANG` in `dir`.
fn new(dir: &Path, kind: &str, name: &str, lang: &str) -> PathBuf {
    ok(
        &hookhost(dir, &["new", kind, name, "--lang", lang]),
        &format!("new {kind} --lang {lang}"),
    );
    dir.join(name)
}

/// An argument the size guard cannot read refuses the upload, naming it.
fn unreadable_limit_is_refused(project: &Path, wasm: &str) {
    let out = hookhost(
        project,
        &[
            "fire",
            "--hook",
            wasm,
            "--arg",
            "10 MB",
            "--event",
            "events/upload-small.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(r#"the limit argument \"10 MB\" is not a number of bytes"#),
        "{stdout}"
    );
}

/// The README's Rust build, in the guests' target directory (the SDK and
/// its dependencies are compiled there already, with the versions of the
/// project's Cargo.lock), the component then copied to where the README
/// says it is.
fn rust_build(project: &Path, line: &str) -> Option<Output> {
    if !line.starts_with("cargo build") {
        return None;
    }
    let target = repo_root().join("target/guests");
    let words = words(line);
    let out = Command::new(&words[0])
        .args(&words[1..])
        .current_dir(project)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    if out.status.success() {
        let file = format!(
            "{}.wasm",
            project
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace('-', "_")
        );
        let expected = project.join("target/wasm32-wasip2/release");
        std::fs::create_dir_all(&expected).unwrap();
        std::fs::copy(
            target.join("wasm32-wasip2/release").join(&file),
            expected.join(&file),
        )
        .unwrap();
    }
    Some(out)
}

#[test]
fn every_kind_in_rust_builds_checks_and_fires_as_its_readme_says() {
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let project = new(dir.path(), kind, &format!("my-{kind}"), "rust");
        readme_works(&project, |line| rust_build(&project, line));
    }
    let guard = dir.path().join("my-fs-hook");
    assert!(
        guard.join("Cargo.lock").is_file(),
        "the versions hookhost's guests are tested with"
    );
    let wasm = "target/wasm32-wasip2/release/my_fs_hook.wasm";
    unreadable_limit_is_refused(&guard, wasm);
    let big = hookhost(
        &guard,
        &[
            "fire",
            "--hook",
            wasm,
            "--arg",
            "10485760",
            "--event",
            "events/upload-big.json",
        ],
    );
    let stderr = String::from_utf8_lossy(&big.stderr);
    assert!(
        stderr.contains("upload over the limit"),
        "the guest's log line is printed: {stderr}"
    );
    assert!(
        stderr.contains("WARN hookhost::dispatch: hook failed"),
        "a deny of a notification is a failure (the WIT's error): {stderr}"
    );
    assert!(
        !hookhost(dir.path(), &["new", "fs-hook", "my-fs-hook"])
            .status
            .success(),
        "an existing project is never overwritten"
    );
    let unknown = hookhost(dir.path(), &["new", "fs-hok", "x"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("expected one of: fs-hook"));
}

#[test]
fn every_kind_in_python_builds_checks_and_fires_as_its_readme_says() {
    if !hookhost_tests::tool_available("componentize-py", "pip install componentize-py==0.25.1") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let project = new(dir.path(), kind, &format!("py-{kind}"), "python");
        readme_works(&project, |line| {
            line.starts_with("componentize-py")
                .then(|| run(&project, line))
        });
    }
    unreadable_limit_is_refused(&dir.path().join("py-fs-hook"), "py_fs_hook.wasm");
}

#[test]
fn every_kind_in_javascript_builds_checks_and_fires_as_its_readme_says() {
    let tools = repo_root().join("target/js/node_modules");
    if !hookhost_tests::tool_available(
        tools.join(".bin/componentize-js").to_str().unwrap(),
        "npm install --prefix target/js @bytecodealliance/componentize-js@0.23.0",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let project = new(dir.path(), kind, &format!("js-{kind}"), "js");
        // What `npm install` gives it: the tools' componentize-js, the
        // version package.json names.
        std::os::unix::fs::symlink(&tools, project.join("node_modules")).unwrap();
        readme_works(&project, |line| match line {
            l if l.starts_with("npm install") => None,
            l if l.starts_with("npm run build") => Some(run(&project, l)),
            _ => None,
        });
    }
    unreadable_limit_is_refused(&dir.path().join("js-fs-hook"), "js_fs_hook.wasm");
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
