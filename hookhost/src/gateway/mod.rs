//! `hookhost plugin`: hookhost as one of SFTPGo's plugin processes.
//!
//! SFTPGo runs each entry of its `plugins` list as a process through
//! hashicorp/go-plugin over gRPC. With `cmd` pointing at the hookhost
//! binary and `args` `["plugin", "--config", FILE, CMD]`, hookhost serves
//! the entry of FILE's `plugins` list whose `cmd` is CMD: one WebAssembly
//! component, with that entry's limits, grants, env rules and pool size.
//!
//! The server side of go-plugin, as its client expects it:
//!
//! - the magic cookie of SFTPGo's SDK for the plugin type (without one the
//!   process says it is a plugin and exits 1; a type other than the
//!   entry's is refused, naming both);
//! - the app protocol version from `PLUGIN_PROTOCOL_VERSIONS`;
//! - a unix socket (in `PLUGIN_UNIX_SOCKET_DIR`, else `$TMPDIR` or `/tmp`;
//!   group-writable for `PLUGIN_UNIX_SOCKET_GROUP`) or, with
//!   [`Network::Tcp`], 127.0.0.1 within `PLUGIN_MIN_PORT`..`PLUGIN_MAX_PORT`;
//! - AutoMTLS when `PLUGIN_CLIENT_CERT` is set (see `mtls.rs`);
//! - the handshake line on stdout, `1|1|unix|/tmp/plugin…|grpc|<cert>`, and
//!   nothing else there;
//! - gRPC health (`plugin` SERVING), `plugin.GRPCController/Shutdown`
//!   (stop accepting, finish the calls in flight, flush the notifier's
//!   queue, exit 0: go-plugin kills the process 2 s after asking),
//!   `plugin.GRPCBroker` and `plugin.GRPCStdio`;
//! - the SDK service of the type (`proto.Notifier`, `proto.KMS`,
//!   `proto.Auth`, `proto.Searcher`, `proto.IPFilter`);
//! - logs on stderr as hclog JSON lines, which go-plugin's client re-logs at
//!   their level in SFTPGo's log (the `hookhost` binary formats them).
//!
//! SFTPGo routes: it only sends what its own entry selects (a notifier's
//! events, an auth plugin's scope, a KMS scheme), so hookhost serves every
//! call it gets. SIGINT is ignored, as go-plugin servers do (a terminal's
//! Ctrl-C reaches the whole process group; SFTPGo decides); SIGTERM, or
//! SFTPGo going away, shuts down as `Shutdown` does.

mod authority;
mod codec;
mod handshake;
mod listen;
mod mtls;
mod services;

/// The generated gRPC code (hookhost's own tests and benchmark call the
/// services through its clients, with the `internals` feature).
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod proto;
#[cfg(not(feature = "internals"))]
mod proto;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use listen::Network;

use crate::config::{AuthOptions, Config, PluginConfig, PluginKind, auth_scope};
use crate::host::Host;
use handshake::Launch;
use services::control::{self, Stop};

/// What `hookhost plugin` serves.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// hookhost's configuration file.
    pub config: PathBuf,
    /// The `cmd` of the `plugins` entry to serve.
    pub cmd: PathBuf,
    /// Unix socket (go-plugin's way) or loopback TCP.
    pub network: Network,
}

/// Why `hookhost plugin` did not serve.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Not launched by a go-plugin client (no valid magic cookie): run by
    /// hand. The message is go-plugin's.
    #[error("{0}")]
    NotLaunched(String),
    /// The launch's environment cannot be used (the cookies of several
    /// plugin types, a malformed listener setting).
    #[error("{0}")]
    Launch(String),
    /// The configuration cannot be used.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// No usable `plugins` entry for the command, or one of another type
    /// than the client launched (the message names the file and entry).
    #[error("{0}")]
    Entry(String),
    /// The host for the entry could not be built.
    #[error("{file}: {source}")]
    Host {
        /// The configuration file.
        file: PathBuf,
        /// Why.
        source: crate::Error,
    },
    /// SFTPGo's `PLUGIN_CLIENT_CERT` (AutoMTLS) cannot be used.
    #[error("PLUGIN_CLIENT_CERT: {0}")]
    ClientCert(String),
    /// No socket or port to listen on.
    #[error("cannot listen: {0}")]
    Listen(#[source] std::io::Error),
    /// The process's own plumbing failed: watching signals, writing the
    /// handshake line on stdout.
    #[error("{what}: {source}")]
    Io {
        /// What it was doing.
        what: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The gRPC server stopped with an error.
    #[error("serving gRPC: {0}")]
    Serving(String),
}

impl From<handshake::LaunchError> for GatewayError {
    fn from(error: handshake::LaunchError) -> Self {
        match error {
            handshake::LaunchError::NotLaunched => GatewayError::NotLaunched(error.to_string()),
            other => GatewayError::Launch(other.to_string()),
        }
    }
}

/// Serve one plugin to the go-plugin client that launched this process,
/// until it asks to stop (or SIGTERM, or the client goes away). The
/// launch comes from the process environment.
pub async fn run(options: GatewayOptions) -> Result<(), GatewayError> {
    let env: HashMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let launch = Launch::from_env(&env)?;
    if let Some(offered) = &launch.unmatched_versions {
        tracing::warn!(
            offered = %offered,
            serving = launch.app_version,
            "the client accepts none of the plugin protocol versions hookhost speaks"
        );
    }
    let config = Config::from_file(&options.config)?;
    let entry = select(&config, &options.cmd).map_err(GatewayError::Entry)?;
    let config_name = options.config.display();
    if entry.kind.as_str() != launch.cookie.kind {
        return Err(GatewayError::Entry(format!(
            "{config_name}: {}: the client launched a {} plugin ({}), but {}.type is {:?}",
            options.cmd.display(),
            launch.cookie.kind,
            launch.cookie.key,
            entry.field,
            entry.kind.as_str()
        )));
    }
    let kind = entry.kind.clone();
    let name = entry.name.clone();
    let host = Host::builder(served(config, entry))
        .plugin_env(handshake::component_env(&env))
        .build()
        .await
        .map_err(|source| GatewayError::Host {
            file: options.config.clone(),
            source,
        })?;
    let host = Arc::new(host);
    let tls = match &launch.client_cert {
        Some(pem) => Some(mtls::AutoMtls::new(pem).map_err(GatewayError::ClientCert)?),
        None => None,
    };
    let listener = match options.network {
        Network::Unix => listen::Listener::unix(&launch.socket_dir, launch.socket_group.as_deref()),
        Network::Tcp => listen::Listener::tcp(launch.ports).await,
    }
    .map_err(GatewayError::Listen)?;
    let address = listener.address().map_err(GatewayError::Listen)?;
    let line = launch.line(
        listener.network(),
        &address,
        tls.as_ref().map(|t| t.server_cert.as_ref()),
    );

    let (stop, stopped) = watch::channel(false);
    let stop: Stop = Arc::new(stop);
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(
            control::HEALTH_SERVICE,
            tonic_health::ServingStatus::Serving,
        )
        .await;
    use proto::goplugin::{
        grpc_broker_server::GrpcBrokerServer, grpc_controller_server::GrpcControllerServer,
        grpc_stdio_server::GrpcStdioServer,
    };
    let router = tonic::transport::Server::builder()
        // A client that stops answering pings (gone without a close) has
        // its connection closed; SFTPGo's idle one answers them.
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(60)))
        .http2_keepalive_timeout(Some(std::time::Duration::from_secs(20)))
        .add_service(health_service)
        .add_service(GrpcControllerServer::new(control::Controller {
            stop: stop.clone(),
        }))
        .add_service(GrpcBrokerServer::new(control::Broker {
            stop: stop.clone(),
        }))
        .add_service(GrpcStdioServer::new(control::Stdio { stop: stop.clone() }));
    let router = services::add(router, &kind, host.clone());
    let incoming = listener.incoming(tls.map(|t| t.acceptor), stopped.clone());

    // Signals are watched before the client learns the address.
    let signals = Signals::watch().map_err(|source| GatewayError::Io {
        what: "cannot watch signals",
        source,
    })?;

    // The handshake: the only line hookhost writes on stdout.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|source| GatewayError::Io {
            what: "cannot write the handshake line on stdout",
            source,
        })?;
    drop(stdout);
    tracing::info!(
        plugin = %name,
        kind = kind.as_str(),
        network = %listen_name(options.network),
        address = %address,
        auto_mtls = launch.client_cert.is_some(),
        "serving the plugin"
    );

    tokio::spawn(signals.stop_on_term(stop.clone()));
    let mut until_stopped = stopped.clone();
    let serving = router.serve_with_incoming_shutdown(incoming, async move {
        let _ = until_stopped.wait_for(|stop| *stop).await;
    });
    let mut drain_over = stopped;
    let served = tokio::select! {
        served = serving => served,
        () = async move {
            let _ = drain_over.wait_for(|stop| *stop).await;
            tokio::time::sleep(DRAIN).await;
        } => {
            tracing::warn!(after_ms = DRAIN.as_millis() as u64, "calls still in flight at shutdown were cut");
            Ok(())
        }
    };
    health
        .set_service_status(
            control::HEALTH_SERVICE,
            tonic_health::ServingStatus::NotServing,
        )
        .await;
    // Stop accepting and finish the calls in flight (done above), then
    // deliver what the notifier still holds.
    host.shutdown().await;
    tracing::info!(plugin = %name, "plugin stopped");
    served.map_err(|e| GatewayError::Serving(e.to_string()))
}

fn listen_name(network: Network) -> &'static str {
    match network {
        Network::Unix => "unix",
        Network::Tcp => "tcp",
    }
}

/// The entry whose `cmd` is `cmd`: as written in the file (relative to
/// the file's directory) or any path to the same file (relative to the
/// working directory).
fn select(config: &Config, cmd: &Path) -> Result<PluginConfig, String> {
    let wanted = config.base_dir.join(cmd);
    let same_file = |a: &Path, b: &Path| {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    };
    let matching: Vec<&PluginConfig> = config
        .plugins
        .iter()
        .filter(|p| p.cmd == wanted || same_file(&p.cmd, &wanted) || same_file(&p.cmd, cmd))
        .collect();
    let file = config.file.as_deref().map_or_else(
        || "the configuration".to_owned(),
        |f| f.display().to_string(),
    );
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let known: Vec<String> = config
                .plugins
                .iter()
                .map(|p| format!("{} ({})", p.cmd.display(), p.field))
                .collect();
            Err(format!(
                "{file}: no entry of `plugins` has cmd {} (entries: {})",
                cmd.display(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        }
        several => {
            let fields: Vec<&str> = several.iter().map(|p| p.field.as_str()).collect();
            Err(format!(
                "{file}: {} all have cmd {}: `hookhost plugin` serves one entry; give each its own file (a copy or a hard link)",
                fields.join(", "),
                cmd.display()
            ))
        }
    }
}

/// The configuration the plugin process runs: this entry alone, no hooks,
/// and the routing that SFTPGo does already opened wide (an auth entry
/// serves every method SFTPGo calls; SFTPGo only calls those its scope
/// selects).
fn served(mut config: Config, mut entry: PluginConfig) -> Config {
    if let PluginKind::Auth(_) = entry.kind {
        entry.kind = PluginKind::Auth(AuthOptions {
            scope: auth_scope::PASSWORD
                | auth_scope::PUBLIC_KEY
                | auth_scope::KEYBOARD_INTERACTIVE
                | auth_scope::TLS_CERTIFICATE,
        });
    }
    config.fs_actions.hooks.clear();
    config.provider_actions.hooks.clear();
    // No hooks run here, so no shared queue. A notifier keeps its journal
    // of its own: SFTPGo launches one process per plugin, and a journal is
    // one process's.
    config.settings.queue = None;
    config.settings.state_dir = match (&entry.kind, config.settings.state_dir.take()) {
        (PluginKind::Notifier(_), Some(dir)) => Some(plugin_state_dir(&dir, &entry.name)),
        _ => None,
    };
    config.plugins = vec![entry];
    config
}

/// Where the notifier plugin `name` served by `hookhost plugin` keeps its
/// journal: `state_dir/plugins/<name>`, the name's characters outside
/// `[A-Za-z0-9._-]` replaced by `_`.
fn plugin_state_dir(state_dir: &std::path::Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.chars().all(|c| c == '.') {
        format!("_{safe}")
    } else {
        safe
    };
    state_dir.join("plugins").join(safe)
}

/// How long calls in flight may take to finish once the process is asked to
/// stop: go-plugin kills it 2 s after asking, and the notifier's queue is
/// flushed after them.
const DRAIN: Duration = Duration::from_secs(1);

/// SIGTERM, SIGINT and the parent process, watched.
struct Signals {
    term: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    parent: i32,
}

impl Signals {
    fn watch() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            // SAFETY: getppid has no preconditions.
            parent: unsafe { libc::getppid() },
        })
    }

    /// SIGTERM, or the parent process (the client) going away: stop as
    /// `Shutdown` does. SIGINT: ignored, as go-plugin servers do.
    async fn stop_on_term(mut self, stop: Stop) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = self.term.recv() => {
                    tracing::info!("SIGTERM: shutting down");
                    break;
                }
                _ = self.interrupt.recv() => {
                    tracing::debug!("SIGINT ignored: the client decides when the plugin stops")
                }
                _ = tick.tick() => {
                    // SAFETY: getppid has no preconditions.
                    if unsafe { libc::getppid() } != self.parent {
                        tracing::warn!("the client process went away: shutting down");
                        break;
                    }
                }
            }
        }
        stop.send_replace(true);
    }
}
