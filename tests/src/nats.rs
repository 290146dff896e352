//! A `nats-server -js` on a loopback port for the fleet tests (Debian's
//! `nats-server` package; `scripts/tools.sh` installs it).

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
        let mut command = Command::new("nats-server");
        command
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path());
        let child = crate::daemon::spawn_ready(command, "Server is ready", "nats-server").await;
        Some(NatsServer {
            _child: child,
            _store: store,
            url: format!("nats://127.0.0.1:{port}"),
        })
    }
}
