//! SFTPGo's event-rule actions carried out as SFTPGo does it: a small Go
//! program (`tests/fixtures/sftpgo-rule/main.go`, standard library only)
//! that fills in an action's placeholders with each release's rules and
//! sends the request (or runs the command). Built once per run, cached
//! under `target/sftpgo-rule` by the source's hash.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::repo_root;

static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();

/// The program, or `None` when Go is missing and skipping was asked for
/// (HOOKHOST_ALLOW_MISSING_TOOLS=1, never under CI=true).
pub fn program() -> Option<PathBuf> {
    BUILT
        .get_or_init(|| {
            crate::goplugin::on_path("go")
                .then(|| build().unwrap_or_else(|e| panic!("building sftpgo-rule: {e}")))
        })
        .clone()
}

fn build() -> Result<PathBuf, String> {
    go_build(
        &repo_root().join("tests/fixtures/sftpgo-rule/main.go"),
        "sftpgo-rule",
    )
}

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
        .env("GOCACHE", root.join("target").join(name).join("gocache"))
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

/// Carry out `input` (`{"version", "action", "params", "send"}`): the
/// request or command SFTPGo makes, and with `send` its outcome. Async: the
/// servers it reaches may run on the caller's runtime.
pub async fn run(program: &PathBuf, input: &Value) -> Value {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sftpgo-rule starts");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "sftpgo-rule failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("sftpgo-rule prints JSON")
}
