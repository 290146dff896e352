//! The `hookhost` command: a thin shell over the library. Each subcommand
//! is a module of [`cmd`] with its arguments and its `run`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cmd;
mod eventmanager;
mod log;
mod scaffold;

/// Run SFTPGo-style hooks: exec programs, HTTP URLs and WebAssembly components.
#[derive(Parser)]
#[command(
    name = "hookhost",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("HOOKHOST_COMMIT"), ")"),
    about
)]
struct Args {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = log::LogFormat::Text, global = true)]
    log_format: log::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a ready project for a hook or plugin: a manifest, a handler,
    /// a configuration that runs it, test events and a README of three
    /// commands (build, check, fire).
    New(cmd::new::NewArgs),
    /// Validate a configuration and compile (and cache) every component.
    Check(cmd::check::CheckArgs),
    /// Sign a component for `hookhost.trust` (embedded, or FILE.sig with
    /// --detached), or make a key pair with --new-key. The format is the
    /// wasmsign2 CLI's: each verifies the other's signatures.
    Sign(cmd::sign::SignArgs),
    /// Call the hooks or plugins for one event and print the answer as JSON.
    ///
    /// Exit status 0 when the operation or login may proceed (allow,
    /// handled, ok), 1 when it is refused or a hook that decides failed, 2
    /// on bad input.
    ///
    /// With --hook instead of --config, the component alone is tried, with
    /// default limits and the grants given here, as its world (read from
    /// its exports) is called: the event is the request SFTPGo sends (the
    /// body as --event, the query as --query); its log lines are printed
    /// (all levels).
    Fire(cmd::fire::FireArgs),
    /// Push a component to an OCI registry as a wasm artifact; prints the
    /// manifest's digest.
    Push(cmd::push::PushArgs),
    /// Pull a component from an OCI registry into the cache; prints the
    /// manifest's digest (and, on stderr, the cached file).
    Pull(cmd::pull::PullArgs),
    /// Run recorded file-system events (one event body per line, as `fire`
    /// takes) through a hook, or two to compare: each disagreement and a
    /// summary are printed as JSON lines; exit 1 when they disagree.
    Replay(cmd::replay::ReplayArgs),
    /// Serve SFTPGo's hook contracts over HTTP (actions, and every login
    /// and connection hook) plus /healthz and /metrics.
    Serve(cmd::serve::ServeArgs),
    /// Run as one of SFTPGo's plugins: SFTPGo launches this process
    /// (its `plugins` entry: `"cmd": "/path/to/hookhost", "args": ["plugin",
    /// "--config", FILE, CMD]`) and talks to it over go-plugin's gRPC.
    ///
    /// Serves the entry of FILE's `plugins` list whose `cmd` is CMD (as
    /// written there, or a path to the same file). Logs go to stderr as
    /// hclog JSON, which SFTPGo writes to its own log. Run by hand (without
    /// SFTPGo's magic cookie) it says so and exits 1.
    Plugin(cmd::plugin::PluginArgs),
    /// What to give SFTPGo's Event Manager so that its event rules call
    /// hookhost (README: "SFTPGo's Event Manager").
    Sftpgo(cmd::sftpgo::SftpgoArgs),
    /// Inspect or act on the journal of accepted asynchronous events
    /// (`hookhost.state_dir`), with no server using it.
    Queue(cmd::queue::QueueArgs),
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
    Exec(cmd::exec::ExecArgs),
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
            log_format: log::LogFormat::Text,
            command: Command::Exec(cmd::exec::ExecArgs::from_argv(
                std::env::args_os().skip(1).collect(),
            )),
        }
    } else {
        Args::parse()
    };
    let target = match &args.command {
        Command::Plugin(_) => log::Target::GoPlugin,
        Command::Fire(fire) if fire.tries_a_hook_alone() => log::Target::FireAlone,
        _ => log::Target::Operator,
    };
    log::init(args.log_format, target);
    // One-shot commands start fast on one thread; the server uses them all.
    let runtime = match args.command {
        Command::Serve(_) | Command::Plugin(_) => tokio::runtime::Builder::new_multi_thread()
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
            Command::New(new) => new.run().await,
            Command::Check(check) => check.run().await,
            Command::Sign(sign) => sign.run().await,
            Command::Fire(fire) => fire.run().await,
            Command::Replay(replay) => replay.run().await,
            Command::Push(push) => push.run().await,
            Command::Pull(pull) => pull.run().await,
            Command::Serve(serve) => serve.run(env_token).await,
            Command::Plugin(plugin) => plugin.run().await,
            Command::Sftpgo(sftpgo) => sftpgo.run(env_token).await,
            Command::Queue(queue) => queue.run().await,
            Command::Exec(exec) => exec.run().await,
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
