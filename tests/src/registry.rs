//! An OCI registry on a loopback port for the deployment tests: Debian's
//! `docker-registry` (the CNCF distribution), storing under a temporary
//! directory; `scripts/tools.sh` installs it.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running registry, killed on drop (or by [`Registry::stop`]).
pub struct Registry {
    child: Child,
    _store: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl Registry {
    /// Start one, or `None` when `docker-registry` is not installed and the
    /// run allows skipping (see [`crate::tool_available`]).
    pub async fn start() -> Option<Registry> {
        if !crate::tool_available("docker-registry", "apt-get install docker-registry") {
            return None;
        }
        let store = tempfile::tempdir().expect("a store directory");
        let port = crate::server::Server::free_port();
        let host = format!("127.0.0.1:{port}");
        let config = store.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n",
                store.path().join("data").display()
            ),
        )
        .expect("the registry's configuration");
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start docker-registry");
        let stderr = child.stderr.take().expect("stderr");
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("listening on") {
                    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(ready, Ok(true)), "docker-registry did not start");
        Some(Registry {
            child,
            _store: store,
            host,
        })
    }

    /// Stop it (its port then refuses connections).
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}
