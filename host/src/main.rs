//! The `hookhost` command: a thin shell over the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod bench;
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
    /// Serve SFTPGo's hook contracts over HTTP (actions, post-connect,
    /// external auth, check password) plus /healthz and /metrics.
    Serve {
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
    },
    /// Run as SFTPGo's exec hook: the event comes from SFTPGo's argv and
    /// SFTPGO_* environment; exit 0 allows (or, for pre-delete, means
    /// handled), anything else denies.
    ///
    /// SFTPGo passes no options, so the configuration comes from --config,
    /// else $HOOKHOST_CONFIG, else /etc/hookhost/hookhost.json. Installed as a
    /// `hookhost-exec` symlink, the program behaves as `hookhost exec`.
    Exec {
        /// Configuration file (SFTPGo JSON format).
        #[arg(long)]
        config: Option<PathBuf>,
        /// SFTPGo's arguments (action username path target_path ssh_cmd).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Measure dispatch latency and throughput: native call, wasm (fresh and
    /// reused instances), exec and HTTP hooks, start-up, memory, metering.
    Bench {
        /// A few events of each kind: a smoke test, not a measurement.
        #[arg(long)]
        quick: bool,
        /// Directory with deny_exe.wasm, minimal_deny.wasm and probe.wasm.
        #[arg(long, default_value = "target/guests/wasm32-wasip2/release")]
        guests: PathBuf,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOOKHOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// `hookhost-exec ARGS...` is `hookhost exec ARGS...`.
fn invoked_as_exec() -> bool {
    std::env::args_os()
        .next()
        .and_then(|arg0| {
            PathBuf::from(arg0)
                .file_name()
                .map(|n| n == "hookhost-exec")
        })
        .unwrap_or(false)
}

fn main() -> ExitCode {
    let args = if invoked_as_exec() {
        Args {
            log_format: LogFormat::Text,
            command: Command::Exec {
                config: None,
                args: std::env::args().skip(1).collect(),
            },
        }
    } else {
        Args::parse()
    };
    init_logging(args.log_format);
    if let Command::Bench { quick, guests } = &args.command {
        // The benchmark builds its own runtimes (one and two workers).
        return bench::run(*quick, guests).unwrap_or_else(|message| {
            eprintln!("hookhost: {message}");
            ExitCode::from(2)
        });
    }
    // One-shot commands start fast on one thread; the server uses them all.
    let runtime = match args.command {
        Command::Serve { .. } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("hookhost: cannot start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match args.command {
            Command::Check { config } => cli::check(&config).await,
            Command::Fire {
                config,
                event,
                provider_action,
                object_type,
            } => cli::fire(&config, &event, provider_action.as_deref(), &object_type).await,
            Command::Serve {
                config,
                listen,
                token_file,
                max_body_bytes,
                no_watch,
            } => cli::serve(config, listen, token_file, max_body_bytes, !no_watch).await,
            Command::Exec { config, args } => cli::exec(config, &args).await,
            Command::Bench { .. } => unreachable!("run above"),
        }
    });
    result.unwrap_or_else(|message| {
        eprintln!("hookhost: {message}");
        ExitCode::from(2)
    })
}
