//! Go programs of the standard library only, built here with Debian's
//! `golang-go` (the sftpgo-rule fixture, the benchmark's Go webhook).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::repo_root;

/// A Go program of the standard library only (`source`, one file) built
/// in GOPATH mode as `target/NAME/HASH/NAME`, once per version of the
/// source.
pub fn go_build(source: &Path, name: &str) -> Result<PathBuf, String> {
    let root = repo_root();
    let text = std::fs::read(source).map_err(|e| format!("{}: {e}", source.display()))?;
    let key: String = Sha256::digest(&text)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = root.join("target").join(name).join(key);
    let binary = dir.join(name);
    if binary.is_file() {
        return Ok(binary);
    }
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let partial = dir.join(format!("{name}.partial"));
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&partial)
        .arg(source)
        .env("GO111MODULE", "off")
        .env("GOCACHE", root.join("target/gocache"))
        .env("GOFLAGS", "")
        .output()
        .map_err(|e| format!("go build: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    std::fs::rename(&partial, &binary).map_err(|e| e.to_string())?;
    Ok(binary)
}

/// Whether `go` is on the PATH; without it this fails (naming what to
/// install) unless skipping was asked for (never under CI=true).
pub fn go_available() -> bool {
    crate::goplugin::on_path("go")
}
