//! Starting a helper server (a registry, a NATS server) the tests talk to:
//! spawned, and ready once its stderr says so.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Spawn `command` (killed on drop) and wait, at most 20 s, for a line of
/// its stderr containing `ready`; stderr is drained afterwards so the
/// server never blocks on a full pipe. Panics naming `what` otherwise.
pub async fn spawn_ready(mut command: Command, ready: &str, what: &str) -> Child {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("start {what}: {err}"));
    let stderr = child.stderr.take().expect("stderr");
    let mut seen = Vec::new();
    let started = tokio::time::timeout(Duration::from_secs(20), async {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(ready) {
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return true;
            }
            seen.push(line);
        }
        false
    })
    .await;
    assert!(
        matches!(started, Ok(true)),
        "{what} did not start:\n{}",
        seen.join("\n")
    );
    child
}
