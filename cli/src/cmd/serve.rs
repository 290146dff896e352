//! `hookhost serve`: SFTPGo's hook contracts over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use hookhost::serve::{ServeOptions, TlsFiles, login::KeyboardLimits};

use super::progress;

/// Serve SFTPGo's hook contracts over HTTP.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Configuration file (SFTPGo JSON format); reloaded on SIGHUP.
    #[arg(long)]
    config: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = hookhost::serve::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// File holding the bearer token clients must send (else the
    /// HOOKHOST_TOKEN environment variable; else no token).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = hookhost::serve::DEFAULT_MAX_BODY)]
    max_body_bytes: usize,
    /// Do not reload when the configuration file changes (SIGHUP still does).
    #[arg(long)]
    no_watch: bool,
    /// Milliseconds a client has to send a request's headers; also how
    /// long an idle connection stays open.
    #[arg(long, default_value_t = hookhost::serve::DEFAULT_HEADER_READ_TIMEOUT.as_millis() as u64)]
    header_timeout_ms: u64,
    /// Connections served at once (more wait in the listen backlog).
    #[arg(long, default_value_t = hookhost::serve::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Silent connections (no request in their first second) one client
    /// address may hold (more from it are closed at once; a client's
    /// keep-alive connections do not count); when all are taken, a
    /// silent connection of the address holding the most is closed.
    #[arg(long, default_value_t = hookhost::serve::DEFAULT_MAX_CONNECTIONS_PER_IP)]
    max_connections_per_ip: usize,
    /// Seconds a keyboard-interactive exchange waits for its next round
    /// before it is released (its program killed).
    #[arg(long, default_value_t = hookhost::serve::login::KEYBOARD_IDLE.as_secs())]
    keyboard_idle_secs: u64,
    /// Keyboard-interactive exchanges open at once (more first rounds
    /// are refused).
    #[arg(long, default_value_t = hookhost::serve::login::KEYBOARD_MAX_OPEN)]
    keyboard_max_open: usize,
    /// Keyboard-interactive exchanges open at once for one client IP.
    #[arg(long, default_value_t = hookhost::serve::login::KEYBOARD_MAX_PER_IP)]
    keyboard_max_per_ip: usize,
    /// Serve a non-loopback address without a token (refused otherwise).
    #[arg(long)]
    insecure: bool,
    /// Serve HTTPS: the certificate chain (PEM); reloaded on SIGHUP.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates chaining to these CAs (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
}

impl ServeArgs {
    pub async fn run(self, env_token: Option<String>) -> Result<ExitCode, String> {
        let options = ServeOptions {
            token: super::token(self.token_file.as_deref(), env_token)?,
            config: self.config,
            listen: self.listen,
            max_body_bytes: self.max_body_bytes,
            watch_config: !self.no_watch,
            header_read_timeout: Duration::from_millis(self.header_timeout_ms.max(1)),
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            keyboard: KeyboardLimits {
                idle: Duration::from_secs(self.keyboard_idle_secs.max(1)),
                max_open: self.keyboard_max_open.max(1),
                max_per_ip: self.keyboard_max_per_ip.max(1),
            },
            insecure: self.insecure,
            tls: self.tls_cert.zip(self.tls_key).map(|(cert, key)| TlsFiles {
                cert,
                key,
                client_ca: self.tls_client_ca,
            }),
        };
        progress("loading the configuration and compiling its components...");
        hookhost::serve::run(options, |address, tls| {
            // The one line on stdout: scripts and tests read the address here.
            let scheme = if tls { "https" } else { "http" };
            println!("hookhost listening on {scheme}://{address}");
            use std::io::Write;
            let _ = std::io::stdout().flush();
        })
        .await
        .map_err(|e| e.to_string())?;
        Ok(ExitCode::SUCCESS)
    }
}
