//! SFTPGo's event-rule actions carried out as SFTPGo does it: a small Go
//! program (`tests/fixtures/sftpgo-rule/main.go`, standard library only)
//! that fills in an action's placeholders with each release's rules and
//! sends the request (or runs the command). Built once per run, cached
//! under `target/sftpgo-rule` by the source's hash.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;

use serde_json::Value;

use crate::repo_root;

static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();

/// The program, or `None` when Go is missing and skipping was asked for
/// (HOOKHOST_ALLOW_MISSING_TOOLS=1, never under CI=true).
pub fn program() -> Option<PathBuf> {
    BUILT
        .get_or_init(|| {
            crate::go::go_available()
                .then(|| build().unwrap_or_else(|e| panic!("building sftpgo-rule: {e}")))
        })
        .clone()
}

fn build() -> Result<PathBuf, String> {
    crate::go::go_build(
        &repo_root().join("tests/fixtures/sftpgo-rule/main.go"),
        "sftpgo-rule",
    )
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
