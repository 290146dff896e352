//! An OCI registry on a loopback port for the deployment tests: Debian's
//! `docker-registry` (the CNCF distribution), storing under a temporary
//! directory; `scripts/tools.sh` installs it.

use tokio::process::{Child, Command};

/// The user a private registry ([`Registry::start_private`]) answers.
pub const USER: &str = "hooks";
/// Its password.
pub const PASSWORD: &str = "hookhost-test-secret";
/// bcrypt (cost 5) of [`PASSWORD`], as htpasswd stores it.
const PASSWORD_BCRYPT: &str = "$2b$05$n.CdVqyvYUGUMrS6NhkqHuT7FQeKmOWkYLJ6RZlbdVGncKNMLhD9O";

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
        Registry::start_with(false).await
    }

    /// One that answers only [`USER`] with [`PASSWORD`] (htpasswd basic
    /// auth, as a private registry does).
    pub async fn start_private() -> Option<Registry> {
        Registry::start_with(true).await
    }

    async fn start_with(private: bool) -> Option<Registry> {
        if !crate::tool_available("docker-registry", "apt-get install docker-registry") {
            return None;
        }
        let store = tempfile::tempdir().expect("a store directory");
        let port = crate::server::Server::free_port();
        let host = format!("127.0.0.1:{port}");
        let config = store.path().join("config.yml");
        let htpasswd = store.path().join("htpasswd");
        let auth = match private {
            true => format!(
                "auth:\n  htpasswd:\n    realm: hookhost-tests\n    path: {}\n",
                htpasswd.display()
            ),
            false => String::new(),
        };
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n{}",
                store.path().join("data").display(),
                auth
            ),
        )
        .expect("the registry's configuration");
        std::fs::write(&htpasswd, format!("{USER}:{PASSWORD_BCRYPT}\n"))
            .expect("the registry's htpasswd");
        let mut command = Command::new("docker-registry");
        command.arg("serve").arg(&config);
        let child = crate::daemon::spawn_ready(command, "listening on", "docker-registry").await;
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
