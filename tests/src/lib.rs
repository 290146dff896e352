//! Support for hookhost's end-to-end tests: guest components built from
//! source (once per run, cached on disk by cargo), a loopback HTTP server
//! that records what hooks send, and configuration helpers.

pub mod daemon;
pub mod go;
pub mod goplugin;
pub mod guests;
pub mod nats;
pub mod recorder;
pub mod registry;
pub mod server;
pub mod sftpgo_rule;
pub mod tls;

use std::path::{Path, PathBuf};

use hookhost::event::{FsAction, FsEvent, Protocol};
use hookhost::{Config, Host};
use serde_json::{Value, json};

/// Whether `program` (a toolchain some tests need, such as componentize-py)
/// can run. Without it the test fails, naming the install command, unless
/// `HOOKHOST_ALLOW_MISSING_TOOLS=1` (not under `CI=true`) skips it, saying
/// so on stderr.
pub fn tool_available(program: &str, install: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    required(found, program, install)
}

/// Like [`tool_available`], for programs without a `--version` (Go's
/// tools, wrk): whether `program` is a file on the PATH.
pub fn program_on_path(program: &str, install: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    required(found, program, install)
}

/// Whether Python can import `modules` (comma separated), as
/// [`tool_available`] for a program.
pub fn python_modules_available(modules: &str, install: &str) -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|out| out.status.success());
    required(found, &format!("python3 modules {modules}"), install)
}

fn required(found: bool, program: &str, install: &str) -> bool {
    if !found {
        // A missing tool fails the test (a green run must mean it ran),
        // unless the run opts out — never under CI.
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        let allowed = std::env::var("HOOKHOST_ALLOW_MISSING_TOOLS").is_ok_and(|v| v == "1");
        assert!(
            allowed && !ci,
            "{program} is required but not installed ({install}); .ci/run installs every tool, \
             or set HOOKHOST_ALLOW_MISSING_TOOLS=1 to skip the tests that need it (not under CI=true)"
        );
        eprintln!("SKIPPED: {program} is not installed ({install})");
    }
    found
}

/// The whole compiled components in a compile cache directory (its
/// `.cwasm` entries; Cranelift's functions live under `functions/`).
pub fn compiled_components(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("the cache directory")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        })
        .count()
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Settings every test host gets unless the test overrides them: a shared
/// on-disk compile cache (so each component compiles once per machine) and a
/// small instance pool (many hosts live at once in a test run).
pub fn test_settings() -> Value {
    json!({
        "cache_dir": repo_root().join("target/test-compile-cache"),
        "wasm": {"max_instances": 32}
    })
}

/// A configuration with `fs_hooks` in `common.actions.hooks` and
/// `provider_hooks` in `data_provider.actions.hooks`.
pub fn config_with(fs_hooks: Value, provider_hooks: Value) -> Value {
    json!({
        "common": {"actions": {"execute_on": [], "hook": "", "hooks": fs_hooks}},
        "data_provider": {"actions": {"execute_on": [], "hook": "", "hooks": provider_hooks}},
        "hookhost": test_settings(),
    })
}

/// Validate and build a host (inside the test's Tokio runtime).
pub async fn host(config: Value) -> Host {
    let config = Config::from_value(config, &repo_root()).unwrap_or_else(|e| panic!("config: {e}"));
    Host::new(config)
        .await
        .unwrap_or_else(|e| panic!("host: {e}"))
}

/// Build a host whose plugins select their variables from `env` instead of
/// the process environment.
pub async fn host_with_env(config: Value, env: &[(&str, &str)]) -> Host {
    let config = Config::from_value(config, &repo_root()).unwrap_or_else(|e| panic!("config: {e}"));
    let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    Host::builder(config)
        .plugin_env(env)
        .build()
        .await
        .unwrap_or_else(|e| panic!("host: {e}"))
}

/// A configuration with only `plugins`.
pub fn plugins_config(plugins: Value) -> Value {
    json!({"plugins": plugins, "hookhost": test_settings()})
}

/// Build a host, expecting it to be refused; returns the error text.
pub async fn host_error(config: Value) -> String {
    match Config::from_value(config, &repo_root()) {
        Err(err) => err.to_string(),
        Ok(config) => match Host::new(config).await {
            Err(err) => err.to_string(),
            Ok(_) => panic!("the configuration was accepted"),
        },
    }
}

/// Write `config` as `hookhost.json` into `dir`; returns its path.
pub fn write_config(dir: &Path, config: &Value) -> PathBuf {
    let path = dir.join("hookhost.json");
    std::fs::write(&path, serde_json::to_string_pretty(config).unwrap()).unwrap();
    path
}

/// A simple SFTP event.
pub fn fs_event(action: FsAction, path: &str) -> FsEvent {
    FsEvent::new(action, "alice", path, Protocol::Sftp)
}

/// A checked-in exec-hook fixture script (`tests/fixtures/exec/<name>`).
pub fn exec_fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/exec").join(name)
}

/// The `hookhost` binary of this build (cargo builds it for the `hookhost`
/// package's own CLI tests, before any test runs).
pub fn hookhost_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let bin = dir.join("hookhost");
    assert!(
        bin.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` (scripts/test.sh)",
        bin.display()
    );
    bin
}

/// `hookhost` in `dir`, as an author runs it: the tests' shared compile
/// cache, hookhost's default log level.
pub fn hookhost_in(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(hookhost_bin());
    cmd.current_dir(dir)
        .env(
            "HOOKHOST_CACHE_DIR",
            repo_root().join("target/test-compile-cache"),
        )
        .env_remove("HOOKHOST_LOG");
    cmd
}

/// sha256 of `bytes` (for checking plugin digests).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Read a file a hook wrote, as lines.
pub fn lines(path: impl AsRef<Path>) -> Vec<String> {
    let path = path.as_ref();
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Log lines emitted on this thread while `f` runs (formatted, no colour).
/// The tests run on a current-thread runtime, so this sees the host's logs.
pub async fn capture_logs<F: std::future::IntoFuture>(f: F) -> (F::Output, String) {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let output = f.await;
    drop(guard);
    let text = String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned();
    (output, text)
}

/// A component in another language answers like the Rust `deny-exe` given
/// the same `grants`: `other` runs first, then `deny-exe`, on each of
/// `cases` (path, denied); a refusal stops the run there, an allow lets
/// both answer; and a refusal reads the same from both.
pub async fn assert_answers_like_deny_exe(
    other: &Path,
    grants: serde_json::Value,
    cases: &[(&str, bool)],
) {
    use hookhost::hook::Answer;
    let entry = |name: &str, hook: &Path| json!({"name": name, "hook": hook, "execute_on": ["pre-upload"], "grants": grants});
    let rust = guests::wasm("deny-exe");
    let both = host(config_with(
        json!([entry("other", other), entry("rust", &rust)]),
        json!([]),
    ))
    .await;
    for (path, denied) in cases {
        let outcome = both
            .dispatch(fs_event(FsAction::PreUpload, path))
            .wait_for_all()
            .await;
        let answers: Vec<&Answer> = outcome
            .reports
            .iter()
            .map(|r| r.result.as_ref().expect("no failure"))
            .collect();
        assert_eq!(
            matches!(answers[0], Answer::Deny(_)),
            *denied,
            "{path}: {answers:?}"
        );
        if *denied {
            assert_eq!(answers.len(), 1, "the first refusal stops the run");
        } else {
            assert_eq!(answers, [&Answer::Allow, &Answer::Allow], "{path}");
        }
    }
    let rust_only = host(config_with(json!([entry("rust", &rust)]), json!([]))).await;
    let refused = |host: Host| async move {
        host.dispatch(fs_event(FsAction::PreUpload, "/srv/setup.exe"))
            .wait_for_all()
            .await
            .reports[0]
            .result
            .clone()
    };
    assert_eq!(
        refused(rust_only).await,
        refused(both).await,
        "same reasons"
    );
}

/// Make a FIFO at `path` (a hostile stand-in for a file hookhost reads).
pub fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.to_str().expect("UTF-8 path")).expect("no NUL");
    // SAFETY: a valid NUL-terminated path for mkfifo(3).
    assert_eq!(
        unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) },
        0,
        "mkfifo {}",
        path.display()
    );
}
