//! The subcommands, one module each: its arguments (`clap::Args`) and its
//! `run` — read input, call the library, print — plus what they share.

use std::path::Path;

use hookhost::{Config, Host};

pub mod check;
pub mod exec;
mod exec_login;
pub mod fire;
pub mod new;
pub mod plugin;
pub mod pull;
pub mod push;
pub mod queue;
pub mod replay;
pub mod serve;
pub mod sftpgo;
pub mod sign;

/// The registries' settings for `push` and `pull`: a configuration's
/// `hookhost.registries` and cache directory, `--insecure` for the
/// reference's registry.
pub(crate) fn registry_settings(
    config: Option<&Path>,
    reference: &hookhost::config::OciRef,
    insecure: bool,
) -> Result<hookhost::registry::Puller, String> {
    let settings = match config {
        Some(path) => Config::from_file(path).map_err(|e| e.to_string())?.settings,
        None => hookhost::config::HostSettings::default(),
    };
    let mut registries = settings.registries.clone();
    if insecure {
        registries
            .entry(reference.registry.clone())
            .or_default()
            .insecure = true;
    }
    Ok(hookhost::registry::Puller::new(
        &registries,
        settings.resolved_cache_dir().as_deref(),
    ))
}

/// Load and build a host, with the error as the message to print.
pub(crate) async fn build_host(path: &Path, journal: Journal) -> Result<Host, String> {
    let mut config = Config::from_file(path).map_err(|e| e.to_string())?;
    if journal == Journal::Skip {
        skip_journal(&mut config);
    }
    Host::new(config).await.map_err(|e| e.to_string())
}

/// Whether a subcommand opens `hookhost.state_dir`'s journal.
#[derive(PartialEq)]
pub(crate) enum Journal {
    /// It accepts asynchronous work or replays the journal's.
    Open,
    /// It runs its event to the end before exiting (or runs none).
    Skip,
}

/// Only the process that accepts asynchronous work (`serve`, `queue`)
/// opens the journal: redb locks the file, so `exec`, `check` and `fire`
/// run beside a `serve` on the same configuration (the one `sftpgo.json`
/// for both), or in many processes at once, without touching it. They run
/// their event to the end before exiting, so there is nothing to keep.
pub(crate) fn skip_journal(config: &mut Config) {
    config.settings.state_dir = None;
}

/// On a terminal, say that a slow step has started (compiling components
/// can take seconds each, the first time).
pub fn progress(message: &str) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprintln!("hookhost: {message}");
    }
}

/// The bearer token from `--token-file` (trimmed), else `env_token`; an
/// empty one is none.
pub(crate) fn token(
    file: Option<&Path>,
    env_token: Option<String>,
) -> Result<Option<String>, String> {
    let token = match file {
        Some(file) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| format!("--token-file {}: {e}", file.display()))?
                .trim()
                .to_owned(),
        ),
        None => env_token,
    };
    Ok(token.filter(|t| !t.is_empty()))
}
