//! `hookhost plugin`: one of SFTPGo's plugins, over go-plugin's gRPC.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use hookhost::gateway::{GatewayError, GatewayOptions, Network};

/// Run as one of SFTPGo's plugins.
#[derive(clap::Args)]
pub struct PluginArgs {
    /// Configuration file (SFTPGo JSON format) with the `plugins` entry.
    #[arg(long)]
    config: PathBuf,
    /// Listen on a unix socket (go-plugin's way) or loopback TCP.
    #[arg(long, value_enum, default_value_t = PluginNetwork::Unix)]
    network: PluginNetwork,
    /// The entry's `cmd`: its WebAssembly component.
    cmd: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PluginNetwork {
    Unix,
    Tcp,
}

impl PluginArgs {
    /// 0 after a clean shutdown, 1 when it cannot serve (as a go-plugin
    /// server exits when run by hand).
    pub async fn run(self) -> Result<ExitCode, String> {
        let network = match self.network {
            PluginNetwork::Unix => Network::Unix,
            PluginNetwork::Tcp => Network::Tcp,
        };
        Ok(plugin(GatewayOptions {
            config: self.config,
            cmd: self.cmd,
            network,
        })
        .await)
    }
}

/// `hookhost plugin`: 0 after a clean shutdown, 1 when it cannot serve (as
/// a go-plugin server exits when run by hand).
async fn plugin(options: GatewayOptions) -> ExitCode {
    match hookhost::gateway::run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(GatewayError::NotLaunched(message)) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
        Err(error) => {
            tracing::error!(error = %error, "hookhost plugin cannot serve");
            ExitCode::from(1)
        }
    }
}
