//! `hookhost queue`: the journal of accepted asynchronous events.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use hookhost::Config;

use super::{Journal, build_host};

/// Inspect or act on the journal of accepted asynchronous events.
#[derive(clap::Args)]
pub struct QueueArgs {
    #[command(subcommand)]
    action: QueueAction,
}

impl QueueArgs {
    pub async fn run(self) -> Result<ExitCode, String> {
        match self.action {
            QueueAction::Ls { config } => queue_ls(&config),
            QueueAction::Replay { config } => queue_replay(&config).await,
            QueueAction::Purge { config } => queue_purge(&config),
        }
    }
}

#[derive(Subcommand)]
pub enum QueueAction {
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

/// The journal of `config`'s `hookhost.state_dir`.
fn journal_of(config: &Path) -> Result<std::sync::Arc<hookhost::journal::Journal>, String> {
    let config = Config::from_file(config).map_err(|e| e.to_string())?;
    let dir = config.settings.state_dir.ok_or_else(|| {
        "hookhost.state_dir is not set: accepted events are kept in memory only, there is no journal"
            .to_owned()
    })?;
    hookhost::journal::Journal::open(&dir).map_err(|e| e.to_string())
}

fn queue_ls(config: &Path) -> Result<ExitCode, String> {
    let journal = journal_of(config)?;
    let pending = journal.pending().map_err(|e| e.to_string())?;
    for (id, entry) in &pending {
        println!("{id}\t{}", hookhost::journal::describe(entry));
    }
    println!(
        "{} unfinished event(s) in {}",
        pending.len(),
        journal.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

fn queue_purge(config: &Path) -> Result<ExitCode, String> {
    let journal = journal_of(config)?;
    let removed = journal.purge().map_err(|e| e.to_string())?;
    println!(
        "{removed} unfinished event(s) forgotten in {}",
        journal.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn queue_replay(config: &Path) -> Result<ExitCode, String> {
    let host = build_host(config, Journal::Open).await?;
    let Some(start) = host.journal_depth() else {
        return Err("hookhost.state_dir is not set: there is no journal to replay".into());
    };
    eprintln!("hookhost: replaying {start} unfinished event(s)...");
    // Building the host queued them. Wait until their hooks are all done
    // and the notifiers have either delivered theirs or queued them for a
    // retry (their plugin refuses them now: the last pass at shutdown tries
    // once more, and what is still refused stays in the journal).
    let retrying = || -> u64 {
        host.plugins()
            .info()
            .iter()
            .filter_map(|p| p.notifier.as_ref().map(|n| n.borrow().queued))
            .sum()
    };
    loop {
        let depth = host.journal_depth().unwrap_or(0);
        if depth == 0 || (host.async_in_flight() == 0 && retrying() >= depth) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    host.shutdown().await;
    let left = host.journal_depth().unwrap_or(0);
    if left == 0 {
        println!("{start} event(s) replayed; the journal is empty");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{start} event(s) replayed; {left} still refused by their notifier are kept in the journal"
    );
    Ok(ExitCode::FAILURE)
}
