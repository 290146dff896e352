//! `hookhost sftpgo`: what to give SFTPGo's Event Manager.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::eventmanager as sftpgo;

/// What to give SFTPGo's Event Manager so that its event rules call
/// hookhost.
#[derive(clap::Args)]
pub struct SftpgoArgs {
    #[command(subcommand)]
    what: SftpgoCommand,
}

impl SftpgoArgs {
    pub async fn run(self, env_token: Option<String>) -> Result<ExitCode, String> {
        sftpgo_command(self.what, env_token)
    }
}

/// Where an event action sends events.
#[derive(clap::Args)]
pub struct TargetArgs {
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
pub enum SftpgoCommand {
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

/// `hookhost sftpgo ...`: print what SFTPGo's Event Manager takes.
fn sftpgo_command(what: SftpgoCommand, env_token: Option<String>) -> Result<ExitCode, String> {
    let target = |args: &TargetArgs,
                  config: Option<&std::path::Path>|
     -> Result<Option<sftpgo::Target>, String> {
        if let Some(url) = &args.url {
            let token = super::token(args.token_file.as_deref(), env_token.clone())?;
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
