//! A `nats-server -js` on a loopback port for the fleet tests (Debian's
//! `nats-server` package; `scripts/tools.sh` installs it).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running JetStream server, killed on drop.
pub struct NatsServer {
    _child: Child,
    _store: tempfile::TempDir,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
}

impl NatsServer {
    /// Start one, or `None` when `nats-server` is not installed and the run
    /// allows skipping (see [`crate::tool_available`]).
    pub async fn start() -> Option<NatsServer> {
        if !crate::tool_available("nats-server", "apt-get install nats-server") {
            return None;
        }
        let store = tempfile::tempdir().expect("a store directory");
        let port = crate::server::Server::free_port();
        let mut child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start nats-server");
        let stderr = child.stderr.take().expect("stderr");
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Server is ready") {
                    // Keep draining, so the server never blocks on a full pipe.
                    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(ready, Ok(true)), "nats-server did not start");
        Some(NatsServer {
            _child: child,
            _store: store,
            url: format!("nats://127.0.0.1:{port}"),
        })
    }
}
