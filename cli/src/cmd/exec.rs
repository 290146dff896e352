//! `hookhost exec` (or `hookhost-exec`): SFTPGo's exec hook for every
//! event, login and connection hook.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use hookhost::event::exec::{ExecEnv, ExecRequest, decode_exec};
use hookhost::{Config, Decision, Host, Reply};

use super::skip_journal;

/// Run as SFTPGo's exec hook.
#[derive(clap::Args)]
pub struct ExecArgs {
    /// Configuration file (SFTPGo JSON format).
    #[arg(long)]
    config: Option<PathBuf>,
    /// SFTPGo 2.1's arguments (action username path target_path ssh_cmd).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

impl ExecArgs {
    /// `hookhost-exec [--config FILE] [SFTPGo 2.1 argv]`: everything but a
    /// leading `--config` is SFTPGo's.
    pub fn from_argv(mut args: Vec<OsString>) -> Self {
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
        ExecArgs { config, args }
    }

    pub async fn run(self) -> Result<ExitCode, String> {
        exec(self.config, &self.args).await
    }
}

/// Where `hookhost exec` finds its configuration.
fn exec_config(config: Option<PathBuf>) -> PathBuf {
    config
        .or_else(|| std::env::var_os("HOOKHOST_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/etc/hookhost/hookhost.json"))
}

async fn exec(config: Option<PathBuf>, args: &[OsString]) -> Result<ExitCode, String> {
    let path = exec_config(config);
    let mut config = Config::from_file(&path).map_err(|e| e.to_string())?;
    // One event per process: skip reserving an instance pool, and run it
    // to the end without the journal (another process may hold it).
    config.settings.wasm.pooling = false;
    skip_journal(&mut config);
    let versions = config.settings.sftpgo_version;
    // Decode before building: bad input is refused without compiling.
    let env = ExecEnv::from_process();
    let event: hookhost::event::Event =
        match decode_exec(&env, args, versions).map_err(|e| e.to_string())? {
            ExecRequest::Login(login) => return super::exec_login::run(config, login).await,
            ExecRequest::Fs(event) => event.into(),
            ExecRequest::Provider(event) => event.into(),
        };
    let host = Host::new(config).await.map_err(|e| e.to_string())?;
    let outcome = host.dispatch(event).wait_for_all().await;
    host.shutdown().await;
    if let Decision::Deny(reason) | Decision::Failed(reason) = &outcome.decision {
        eprintln!("hookhost: {reason}");
    }
    // Exit 0 is what SFTPGo reads as the hook's success (for a pre-delete
    // before 2.5: "handled, do not delete").
    Ok(match outcome.reply() {
        Reply::Success => ExitCode::SUCCESS,
        Reply::NotHandled | Reply::Undated | Reply::Denied | Reply::Failed => ExitCode::from(1),
    })
}
