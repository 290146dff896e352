//! A `hookhost serve` process for tests: started on an ephemeral loopback
//! port, its address read from its one stdout line, its log lines (JSON)
//! available to await, signals sent to it.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::hookhost_bin;

/// A running server.
pub struct Server {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    logs: mpsc::UnboundedReceiver<String>,
    /// An HTTP client for requests to it.
    pub client: reqwest::Client,
}

impl Server {
    /// Start `hookhost serve --config <config>` with `args` and `env`, on an
    /// ephemeral loopback port; logs in JSON, at `HOOKHOST_LOG=info` unless
    /// `env` sets it.
    pub async fn start(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Self::start_on("127.0.0.1:0", config, args, env).await
    }

    /// A loopback port free right now (for a configuration that must name
    /// the server's own address before it starts).
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("an ephemeral port")
            .port()
    }

    /// Start `hookhost serve` listening on `listen`.
    pub async fn start_on(
        listen: &str,
        config: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut child = Command::new(hookhost_bin())
            .args([
                "--log-format",
                "json",
                "serve",
                "--listen",
                listen,
                "--config",
            ])
            .arg(config)
            .args(args)
            .env("HOOKHOST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start hookhost serve");
        let (sender, mut logs) = mpsc::unbounded_channel();
        let stderr = child.stderr.take().expect("stderr");
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = sender.send(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        let read = tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).read_line(&mut first),
        )
        .await;
        if !matches!(read, Ok(Ok(n)) if n > 0) {
            let mut log = Vec::new();
            while let Ok(line) = logs.try_recv() {
                log.push(line);
            }
            panic!("hookhost serve did not start: {}", log.join("\n"));
        }
        let url = first.trim().rsplit(' ').next().expect("address").to_owned();
        // reqwest is built without a default crypto provider (as hookhost is).
        let _ = crate::tls::ring_provider().install_default();
        Server {
            child,
            url,
            logs,
            client: reqwest::Client::new(),
        }
    }

    /// Wait (at most 20 s) for a log line containing `needle`; returns it.
    pub async fn wait_log(&mut self, needle: &str) -> String {
        let found = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = self.logs.recv().await {
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!("no log line containing {needle:?}"),
        }
    }

    /// POST a JSON body to `path`.
    pub async fn post(&self, path: &str, body: impl Into<String>) -> (u16, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.into())
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.child.id().expect("running") as i32
    }

    /// Send a signal (`libc::SIGHUP`, `libc::SIGTERM`, ...).
    pub fn signal(&self, signal: i32) {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    /// Wait (at most 40 s) for the process to exit.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        tokio::time::timeout(Duration::from_secs(40), self.child.wait())
            .await
            .expect("the server did not exit")
            .expect("wait")
    }
}
