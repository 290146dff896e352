//! The `hookhost` command: a thin shell over the library.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod exec_login;
mod scaffold;
mod sftpgo;

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

#[derive(Clone, Copy, ValueEnum)]
enum PluginNetwork {
    Unix,
    Tcp,
}

#[derive(Subcommand)]
enum QueueAction {
    /// List the unfinished events, oldest first.
    Ls {
        /// Configuration file (its `hookhost.state_dir`).
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the unfinished events through the configured hooks, wait until
    /// every one is done, and exit (e.g. a dead node's state_dir, by
    /// another machine).
    Replay {
        /// Configuration file (its hooks and `hookhost.state_dir`).
        #[arg(long)]
        config: PathBuf,
    },
    /// Forget every unfinished event (they will not run).
    Purge {
        /// Configuration file (its `hookhost.state_dir`).
        #[arg(long)]
        config: PathBuf,
    },
}

/// Where an event action sends events.
#[derive(clap::Args)]
struct TargetArgs {
    /// `hookhost serve`'s URL as SFTPGo reaches it (`/v1/events` is added
    /// to a URL without a path): an HTTP action.
    #[arg(long, conflicts_with = "command")]
    url: Option<String>,
    /// The `hookhost-exec` program SFTPGo runs instead: a Command action
    /// (list it in SFTPGo's `common.event_manager.enabled_commands`).
    #[arg(long)]
    command: Option<PathBuf>,
    /// With --url: the file holding serve's bearer token (else
    /// HOOKHOST_TOKEN; else none).
    #[arg(long, requires = "url")]
    token_file: Option<PathBuf>,
    /// The action's name.
    #[arg(long, default_value = "hookhost")]
    name: String,
}

#[derive(Subcommand)]
enum SftpgoCommand {
    /// Print an event action for SFTPGo's Event Manager that calls
    /// hookhost, as `POST /api/v2/eventactions` takes it (--url or
    /// --command).
    EventAction {
        #[command(flatten)]
        target: TargetArgs,
        /// The configuration: its `http.timeout` and pinned
        /// `sftpgo_version`; with --command, the file hookhost-exec reads.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The SFTPGo release the action is for (default: the
        /// configuration's pinned one, else the newest).
        #[arg(long)]
        sftpgo_version: Option<String>,
    },
    /// Print the event rules for the events a configuration has hooks for,
    /// as `POST /api/v2/eventrules` takes them (a JSON list, one per
    /// call); with --loaddata, the action (--url or --command) and the
    /// rules as one backup for SFTPGo's `loaddata`.
    EventRule {
        /// The configuration whose hooks the rules serve.
        #[arg(long)]
        config: PathBuf,
        /// The SFTPGo release the rules are for (default: the
        /// configuration's pinned one, else the newest).
        #[arg(long)]
        sftpgo_version: Option<String>,
        /// A schedule for `common.event_manager.hooks` on `schedule`:
        /// "HOUR DAY_OF_MONTH MONTH DAY_OF_WEEK" (cron fields). Repeatable.
        #[arg(long)]
        schedule: Vec<String>,
        /// Print the action and the rules as one backup file, for `sftpgo
        /// serve --loaddata-from` or `POST /api/v2/loaddata`.
        #[arg(long)]
        loaddata: bool,
        /// The action the rules call (--name), and with --loaddata where it
        /// sends events.
        #[command(flatten)]
        target: TargetArgs,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Write a ready project for a hook or plugin: a manifest, a handler,
    /// a configuration that runs it, test events and a README of three
    /// commands (build, check, fire).
    New {
        /// What to write: fs-hook, provider-hook, pre-login-hook,
        /// external-auth-hook, check-password-hook,
        /// keyboard-interactive-hook, post-login-hook, post-connect-hook,
        /// post-disconnect-hook, startup-hook, notifier-plugin, kms-plugin,
        /// auth-plugin, eventsearcher-plugin, ipfilter-plugin ("-hook" may
        /// be left out).
        kind: String,
        /// The project's name (its directory, crate and component).
        name: String,
        /// The language: rust (every kind), python (fs-hook,
        /// provider-hook).
        #[arg(long, value_enum, default_value = "rust")]
        lang: scaffold::Lang,
        /// Where to create the project directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The guest SDK (hookhost's guest-sdk/ directory); default: the one
        /// of the source tree this hookhost was built from.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
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
    ///
    /// With --hook instead of --config, the component alone is tried on the
    /// event, with default limits and the grants given here; its log lines
    /// are printed (all levels).
    Fire {
        /// Configuration file (SFTPGo JSON format).
        #[arg(long, required_unless_present = "hook", conflicts_with = "hook")]
        config: Option<PathBuf>,
        /// A component to try alone, without a configuration: it runs on
        /// the event's action (a provider event: its action and object type).
        #[arg(long)]
        hook: Option<PathBuf>,
        /// With --hook: grant a directory, HOST:GUEST (read-only) or
        /// HOST:GUEST:rw (writable). Repeatable.
        #[arg(long, requires = "hook")]
        grant_dir: Vec<String>,
        /// With --hook: an argument for the component (after argv[0]).
        /// Repeatable.
        #[arg(long = "arg", requires = "hook", allow_hyphen_values = true)]
        args: Vec<String>,
        /// With --hook: a variable for the component, NAME=VALUE. Repeatable.
        #[arg(long, requires = "hook")]
        env: Vec<String>,
        /// With --hook: an origin the component may send HTTP requests to
        /// (`https://hooks.example.com`). Repeatable.
        #[arg(long, requires = "hook")]
        grant_http: Vec<String>,
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
    /// Serve SFTPGo's hook contracts over HTTP (actions, and every login
    /// and connection hook) plus /healthz and /metrics.
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
    },
    /// Run as one of SFTPGo's plugins: SFTPGo launches this process
    /// (its `plugins` entry: `"cmd": "/path/to/hookhost", "args": ["plugin",
    /// "--config", FILE, CMD]`) and talks to it over go-plugin's gRPC.
    ///
    /// Serves the entry of FILE's `plugins` list whose `cmd` is CMD (as
    /// written there, or a path to the same file). Logs go to stderr as
    /// hclog JSON, which SFTPGo writes to its own log. Run by hand (without
    /// SFTPGo's magic cookie) it says so and exits 1.
    Plugin {
        /// Configuration file (SFTPGo JSON format) with the `plugins` entry.
        #[arg(long)]
        config: PathBuf,
        /// Listen on a unix socket (go-plugin's way) or loopback TCP.
        #[arg(long, value_enum, default_value_t = PluginNetwork::Unix)]
        network: PluginNetwork,
        /// The entry's `cmd`: its WebAssembly component.
        cmd: PathBuf,
    },
    /// What to give SFTPGo's Event Manager so that its event rules call
    /// hookhost (README: "SFTPGo's Event Manager").
    Sftpgo {
        #[command(subcommand)]
        what: SftpgoCommand,
    },
    /// Inspect or act on the journal of accepted asynchronous events
    /// (`hookhost.state_dir`), with no server using it.
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// Run as SFTPGo's exec hook: the event comes from SFTPGo's
    /// SFTPGO_* environment (and, from SFTPGo 2.1, its argv); exit 0 is
    /// success as that SFTPGo reads it (allowed; for a pre-delete from an
    /// SFTPGo before 2.5: handled), 1 denied or failed, 2 bad input.
    ///
    /// Also every login and connection hook, recognised from SFTPGo's
    /// SFTPGO_LOGIND_*, SFTPGO_AUTHD_* and SFTPGO_CONNECTION_* variables
    /// (none at all and no argument: the startup hook); answers go to
    /// stdout as SFTPGo reads them (keyboard-interactive: one JSON reply per
    /// line, answers read from stdin).
    ///
    /// The configuration comes from --config (SFTPGo 2.4+ can pass it with
    /// `command.commands[].args`), else $HOOKHOST_CONFIG (`command.env`),
    /// else /etc/hookhost/hookhost.json. Installed as a `hookhost-exec`
    /// symlink, the program behaves as `hookhost exec`.
    Exec {
        /// Configuration file (SFTPGo JSON format).
        #[arg(long)]
        config: Option<PathBuf>,
        /// SFTPGo 2.1's arguments (action username path target_path ssh_cmd).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

/// Libraries whose debug output drowns hookhost's own: quiet unless the
/// filter names them.
const NOISY: [&str; 8] = [
    "wasmtime",
    "cranelift",
    "wasmtime_cranelift",
    "cranelift_codegen",
    "hyper",
    "h2",
    "tonic",
    "rustls",
];

/// The log filter: `HOOKHOST_LOG` (default `info`), with the noisy
/// libraries held at `info` unless it names them; `fire --hook` shows every
/// guest line.
fn log_filter(command: &Command) -> tracing_subscriber::EnvFilter {
    let mut directives = std::env::var("HOOKHOST_LOG").unwrap_or_else(|_| "info".into());
    for library in NOISY {
        if !directives.contains(library) {
            directives.push_str(&format!(",{library}=info"));
        }
    }
    if let Command::Fire { hook: Some(_), .. } = command
        && !directives.contains("hookhost::guest")
    {
        directives.push_str(",hookhost::guest=trace");
    }
    tracing_subscriber::EnvFilter::try_new(&directives).unwrap_or_else(|err| {
        eprintln!("hookhost: HOOKHOST_LOG: {err}; using info");
        tracing_subscriber::EnvFilter::new("info")
    })
}

fn init_logging(format: LogFormat, command: &Command) {
    let filter = log_filter(command);
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if let Command::Plugin { .. } = command {
        // go-plugin's client reads stderr as hclog JSON lines.
        builder
            .event_format(hookhost::gateway::HclogFormat)
            .with_writer(std::io::stderr)
            .init();
        return;
    }
    match format {
        // Fields carry text from guests and clients: one record per line,
        // control characters escaped, so none can forge a line or send a
        // terminal escape (and so no colours either).
        LogFormat::Text => builder
            .with_ansi(false)
            .with_writer(|| hookhost::text::EscapingWriter(std::io::stderr()))
            .init(),
        LogFormat::Json => builder.with_writer(std::io::stderr).json().init(),
    }
}

/// `hookhost sftpgo ...`: print what SFTPGo's Event Manager takes.
fn sftpgo_command(what: SftpgoCommand, env_token: Option<String>) -> Result<ExitCode, String> {
    let target = |args: &TargetArgs,
                  config: Option<&std::path::Path>|
     -> Result<Option<sftpgo::Target>, String> {
        if let Some(url) = &args.url {
            let token = match &args.token_file {
                Some(file) => Some(
                    std::fs::read_to_string(file)
                        .map_err(|e| format!("--token-file {}: {e}", file.display()))?
                        .trim()
                        .to_owned(),
                ),
                None => env_token.clone(),
            }
            .filter(|t| !t.is_empty());
            return Ok(Some(sftpgo::Target::Url {
                url: url.clone(),
                token,
            }));
        }
        match (&args.command, config) {
            (Some(program), Some(config)) => Ok(Some(sftpgo::Target::Command {
                program: program.clone(),
                config: std::path::absolute(config).map_err(|e| e.to_string())?,
            })),
            (Some(_), None) => {
                Err("--command needs --config (the file hookhost-exec reads)".into())
            }
            (None, _) => Ok(None),
        }
    };
    let print = |value: serde_json::Value| {
        use std::io::Write;
        // A closed pipe (`| head`) is the reader's choice, not an error.
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            serde_json::to_string_pretty(&value).expect("JSON serializes")
        );
    };
    match what {
        SftpgoCommand::EventAction {
            target: args,
            config,
            sftpgo_version,
        } => {
            let loaded = config.as_deref().map(sftpgo::load).transpose()?;
            let version = sftpgo::release(sftpgo_version.as_deref(), loaded.as_ref())?;
            let target = target(&args, config.as_deref())?
                .ok_or("give --url (hookhost serve) or --command (hookhost-exec)")?;
            let timeout = sftpgo::timeout_for(loaded.as_ref());
            print(sftpgo::action(&args.name, &target, version, timeout)?);
        }
        SftpgoCommand::EventRule {
            config,
            sftpgo_version,
            schedule,
            loaddata,
            target: args,
        } => {
            let loaded = sftpgo::load(&config)?;
            let version = sftpgo::release(sftpgo_version.as_deref(), Some(&loaded))?;
            let mut notes = Vec::new();
            let rules = sftpgo::rules(&loaded, &args.name, version, &schedule, &mut notes)?;
            for note in notes {
                eprintln!("hookhost: {note}");
            }
            if loaddata {
                let target = target(&args, Some(&config))?
                    .ok_or("--loaddata needs --url (hookhost serve) or --command (hookhost-exec) for the action")?;
                let timeout = sftpgo::timeout_for(Some(&loaded));
                let action = sftpgo::action(&args.name, &target, version, timeout)?;
                print(sftpgo::backup(vec![action], rules, version));
            } else {
                print(serde_json::Value::Array(rules));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
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

/// `hookhost-exec [--config FILE] [SFTPGo 2.1 argv]`: everything but a
/// leading `--config` is SFTPGo's.
fn exec_args(mut args: Vec<OsString>) -> Command {
    let mut config = None;
    if let Some(first) = args.first() {
        use std::os::unix::ffi::OsStrExt;
        if let Some(path) = first.as_bytes().strip_prefix(b"--config=") {
            config = Some(PathBuf::from(std::ffi::OsStr::from_bytes(path)));
            args.remove(0);
        } else if first == "--config" && args.len() > 1 {
            config = Some(PathBuf::from(args.remove(1)));
            args.remove(0);
        }
    }
    Command::Exec { config, args }
}

/// Take hookhost's own secrets out of the process environment, so that no
/// program it starts and no plugin can inherit them. Returns the token.
fn take_secrets_from_env() -> Option<String> {
    let token = std::env::var("HOOKHOST_TOKEN").ok();
    for name in hookhost::config::HOST_SECRET_VARS {
        // SAFETY: called first thing in main, before any thread exists, so
        // nothing reads the environment concurrently.
        unsafe { std::env::remove_var(name) };
    }
    token
}

fn main() -> ExitCode {
    // A file-size limit reached makes the write fail (EFBIG), which the
    // journal handles, instead of killing the process.
    // SAFETY: setting a signal's disposition to ignore, before any thread.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let env_token = take_secrets_from_env();
    let args = if invoked_as_exec() {
        Args {
            log_format: LogFormat::Text,
            command: exec_args(std::env::args_os().skip(1).collect()),
        }
    } else {
        Args::parse()
    };
    init_logging(args.log_format, &args.command);
    // One-shot commands start fast on one thread; the server uses them all.
    let runtime = match args.command {
        Command::Serve { .. } | Command::Plugin { .. } => {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        }
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
            Command::New {
                kind,
                name,
                lang,
                dir,
                sdk,
            } => scaffold::new(&kind, &name, lang, &dir, sdk).map(|project| {
                println!("created {}", project.display());
                println!(
                    "next: cd {} and follow README.md (build, check, fire)",
                    project.display()
                );
                ExitCode::SUCCESS
            }),
            Command::Check { config } => cli::check(&config).await,
            Command::Sftpgo { what } => sftpgo_command(what, env_token),
            Command::Queue { action } => match action {
                QueueAction::Ls { config } => cli::queue_ls(&config),
                QueueAction::Replay { config } => cli::queue_replay(&config).await,
                QueueAction::Purge { config } => cli::queue_purge(&config),
            },
            Command::Fire {
                config,
                hook,
                grant_dir,
                args,
                env,
                grant_http,
                event,
                provider_action,
                object_type,
            } => {
                let target = match (config, hook) {
                    (Some(config), _) => cli::FireTarget::Config(config),
                    (None, Some(hook)) => cli::FireTarget::Hook {
                        hook,
                        grant_dirs: grant_dir,
                        grant_http,
                        args,
                        env,
                    },
                    (None, None) => unreachable!("clap requires --config or --hook"),
                };
                cli::fire(target, &event, provider_action.as_deref(), &object_type).await
            }
            Command::Serve {
                config,
                listen,
                token_file,
                max_body_bytes,
                no_watch,
                header_timeout_ms,
                max_connections,
                max_connections_per_ip,
                keyboard_idle_secs,
                keyboard_max_open,
                keyboard_max_per_ip,
                insecure,
                tls_cert,
                tls_key,
                tls_client_ca,
            } => {
                let options = hookhost::serve::ServeOptions {
                    config,
                    listen,
                    token: None,
                    max_body_bytes,
                    watch_config: !no_watch,
                    header_read_timeout: std::time::Duration::from_millis(header_timeout_ms.max(1)),
                    max_connections,
                    max_connections_per_ip,
                    keyboard: hookhost::serve::login::KeyboardLimits {
                        idle: std::time::Duration::from_secs(keyboard_idle_secs.max(1)),
                        max_open: keyboard_max_open.max(1),
                        max_per_ip: keyboard_max_per_ip.max(1),
                    },
                    insecure,
                    tls: tls_cert
                        .zip(tls_key)
                        .map(|(cert, key)| hookhost::serve::TlsFiles {
                            cert,
                            key,
                            client_ca: tls_client_ca,
                        }),
                };
                cli::serve(options, token_file, env_token).await
            }
            Command::Exec { config, args } => cli::exec(config, &args).await,
            Command::Plugin {
                config,
                network,
                cmd,
            } => {
                let network = match network {
                    PluginNetwork::Unix => hookhost::gateway::Network::Unix,
                    PluginNetwork::Tcp => hookhost::gateway::Network::Tcp,
                };
                Ok(cli::plugin(hookhost::gateway::GatewayOptions {
                    config,
                    cmd,
                    network,
                })
                .await)
            }
        }
    });
    // Everything the command started is done; a read stuck on a hung mount
    // (see serve's reload) must not keep the process from exiting.
    runtime.shutdown_background();
    result.unwrap_or_else(|message| {
        eprintln!("hookhost: {message}");
        ExitCode::from(2)
    })
}
