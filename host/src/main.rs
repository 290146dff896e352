//! The `hookhost` command: a thin shell over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hookhost::{Config, Host};

mod cli;

/// Run SFTPGo-style hooks: exec programs, HTTP URLs and WebAssembly components.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a configuration and compile (and cache) every component.
    Check {
        /// Configuration file (SFTPGo JSON format).
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the hooks for one event and print the outcome as JSON.
    ///
    /// Exit status 0 when the operation may proceed (allow, handled, ok),
    /// 1 when it is denied or a synchronous hook failed, 2 on bad input.
    Fire {
        /// Configuration file (SFTPGo JSON format).
        #[arg(long)]
        config: PathBuf,
        /// The event: SFTPGo's HTTP hook JSON body. With --provider-action,
        /// the provider object's JSON instead.
        #[arg(long)]
        event: PathBuf,
        /// Fire a provider event (add, update, delete) for the object in --event.
        #[arg(long)]
        provider_action: Option<String>,
        /// Object type of a provider event.
        #[arg(long, default_value = "user")]
        object_type: String,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOOKHOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_format);
    let result = match args.command {
        Command::Check { config } => cli::check(&config).await,
        Command::Fire {
            config,
            event,
            provider_action,
            object_type,
        } => cli::fire(&config, &event, provider_action.as_deref(), &object_type).await,
    };
    result.unwrap_or_else(|message| {
        eprintln!("hookhost: {message}");
        ExitCode::from(2)
    })
}

/// Load and build a host, with the error as the message to print.
async fn build_host(path: &std::path::Path) -> Result<Host, String> {
    let config = Config::from_file(path).map_err(|e| e.to_string())?;
    Host::new(config).await.map_err(|e| e.to_string())
}
