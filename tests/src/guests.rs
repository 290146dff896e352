//! Guest components, built from source for wasm32-wasip2.
//!
//! The first call builds the guest workspace (`examples/`, which holds the
//! test components of `tests/fixtures/` too) and the `no_std`
//! `tests/fixtures/minimal-deny/` into `target/guests`
//! (cargo skips the work when nothing changed); later calls in the same run
//! reuse the result.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::repo_root;

static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Every workspace of guests (scripts/guests.sh builds the same list).
const GUEST_WORKSPACES: [&str; 2] = ["examples", "tests/fixtures/minimal-deny"];

fn build_all() -> Result<PathBuf, String> {
    let root = repo_root();
    let target_dir = root.join("target/guests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for workspace in GUEST_WORKSPACES {
        let manifest = root.join(workspace).join("Cargo.toml");
        let output = Command::new(&cargo)
            .args([
                "build",
                "--release",
                "--locked",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target_dir)
            .env_remove("RUSTFLAGS")
            .output()
            .map_err(|e| format!("cannot run {cargo}: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "building the guests of {workspace} failed (is the target installed? `rustup target add wasm32-wasip2`):\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(target_dir.join("wasm32-wasip2/release"))
}

/// The component built from crate `name` (`deny-exe`, `probe`, ...).
pub fn wasm(name: &str) -> PathBuf {
    let dir = BUILT
        .get_or_init(build_all)
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("{}.wasm", name.replace('-', "_")));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}
