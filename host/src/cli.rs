//! The subcommands' bodies: read input, call the library, print.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::ffi::OsString;

use hookhost::event::exec::{ExecEnv, ExecRequest, decode_exec};
use hookhost::event::json::decode_fs_event_as;
use hookhost::event::{Contract, ObjectType, ProviderAction, ProviderEvent, VersionSetting};
use hookhost::hook::{Answer, HookKind};
use hookhost::serve::ServeOptions;
use hookhost::{Config, Decision, HookReport, Host, Outcome, Reply};
use serde_json::{Value, json};

/// Load and build a host, with the error as the message to print.
async fn build_host(path: &Path, journal: Journal) -> Result<Host, String> {
    let mut config = Config::from_file(path).map_err(|e| e.to_string())?;
    if journal == Journal::Skip {
        skip_journal(&mut config);
    }
    Host::new(config).await.map_err(|e| e.to_string())
}

/// Whether a subcommand opens `hookhost.state_dir`'s journal.
#[derive(PartialEq)]
enum Journal {
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
fn skip_journal(config: &mut Config) {
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

/// The journal of `config`'s `hookhost.state_dir`.
fn journal_of(config: &Path) -> Result<std::sync::Arc<hookhost::journal::Journal>, String> {
    let config = Config::from_file(config).map_err(|e| e.to_string())?;
    let dir = config.settings.state_dir.ok_or_else(|| {
        "hookhost.state_dir is not set: accepted events are kept in memory only, there is no journal"
            .to_owned()
    })?;
    hookhost::journal::Journal::open(&dir)
}

pub fn queue_ls(config: &Path) -> Result<ExitCode, String> {
    let journal = journal_of(config)?;
    let pending = journal.pending()?;
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

pub fn queue_purge(config: &Path) -> Result<ExitCode, String> {
    let journal = journal_of(config)?;
    let removed = journal.purge()?;
    println!(
        "{removed} unfinished event(s) forgotten in {}",
        journal.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn queue_replay(config: &Path) -> Result<ExitCode, String> {
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

pub async fn check(config: &Path) -> Result<ExitCode, String> {
    progress(
        "validating and compiling (a new component takes a few seconds; then it is cached)...",
    );
    let mut loaded = Config::from_file(config).map_err(|e| e.to_string())?;
    let state_dir = loaded.settings.state_dir.clone();
    skip_journal(&mut loaded);
    let host = Host::new(loaded).await.map_err(|e| e.to_string())?;
    let count = |kind: HookKind| {
        let cfg = host.config();
        cfg.fs_actions
            .hooks
            .iter()
            .map(|h| &h.spec)
            .chain(cfg.provider_actions.hooks.iter().map(|h| &h.spec))
            .chain(cfg.login_hooks.specs())
            .filter(|spec| kind_of(&spec.target) == kind)
            .count()
    };
    let stats = host.cache_stats();
    let cache_dir = host
        .config()
        .settings
        .resolved_cache_dir()
        .map(|dir| dir.display().to_string())
        .unwrap_or_else(|| "off".into());
    println!(
        "{}: ok, hooks: {} exec, {} http, {} wasm; plugins: {}; compile cache: {} hits, {} compiled (in {cache_dir})",
        config.display(),
        count(HookKind::Exec),
        count(HookKind::Http),
        count(HookKind::Wasm),
        host.config().plugins.len(),
        stats.hits,
        stats.compiled,
    );
    println!("{}", era(host.sftpgo_version()));
    if let Some((allocation, slots)) = host.wasm_allocation() {
        use hookhost::Allocation;
        match allocation {
            Allocation::Pooled => println!("wasm instances: pooled ({slots} slots)"),
            Allocation::OnDemand => println!("wasm instances: on demand (pooling: false)"),
            Allocation::PoolUnavailable(why) => eprintln!(
                "hookhost: warning: wasm instances on demand: a pool of {slots} could not be reserved ({why}); lower hookhost.wasm.max_instances or raise the address-space limit (ulimit -v)"
            ),
        }
    }
    if let Some(dir) = state_dir {
        println!(
            "journal: {} (opened by `hookhost serve` and `hookhost queue` only)",
            dir.join("journal.redb").display()
        );
    }
    for entry in &host.config().plugins_left_to_sftpgo {
        println!("{entry}: SFTPGo's own plugin (not a component): left to SFTPGo");
    }
    for advice in host.config().advisories() {
        eprintln!("hookhost: warning: {advice}");
    }
    host.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The contract `check` says is in force.
fn era(versions: VersionSetting) -> String {
    match versions {
        VersionSetting::Auto => format!(
            "sftpgo_version: auto (events in the reference's form: the contract of {}; in today's form, with timestamp/session_id/virtual_path: {})",
            Contract::REFERENCE,
            Contract::NEWEST
        ),
        VersionSetting::Pinned(version) => {
            format!(
                "sftpgo_version: {version} (pinned: every event in the contract of SFTPGo {version})"
            )
        }
    }
}

fn kind_of(target: &hookhost::config::HookTarget) -> HookKind {
    match target {
        hookhost::config::HookTarget::Exec(_) => HookKind::Exec,
        hookhost::config::HookTarget::Http(_) => HookKind::Http,
        hookhost::config::HookTarget::Wasm(_) => HookKind::Wasm,
    }
}

/// What `fire` runs: a configuration, or one component alone.
pub enum FireTarget {
    Config(PathBuf),
    Hook {
        hook: PathBuf,
        grant_dirs: Vec<String>,
        grant_http: Vec<String>,
        args: Vec<String>,
        env: Vec<String>,
    },
}

/// A configuration running `hook` alone on `action` (for provider events,
/// on `action` of `object_type`).
fn solo_config(
    hook: &Path,
    grant_dirs: &[String],
    grant_http: &[String],
    args: &[String],
    env: &[String],
    fs_action: Option<&str>,
    provider: Option<(&str, &str)>,
) -> Result<Config, String> {
    let mut dirs = Vec::new();
    for grant in grant_dirs {
        let parts: Vec<&str> = grant.split(':').collect();
        let (host_dir, guest, writable) = match parts.as_slice() {
            [h, g] => (*h, *g, false),
            [h, g, "rw"] => (*h, *g, true),
            [h, g, "ro"] => (*h, *g, false),
            _ => {
                return Err(format!(
                    "--grant-dir {grant:?}: expected HOST:GUEST or HOST:GUEST:rw"
                ));
            }
        };
        let host_dir =
            std::path::absolute(host_dir).map_err(|e| format!("--grant-dir {grant:?}: {e}"))?;
        dirs.push(json!({"host": host_dir, "guest": guest, "writable": writable}));
    }
    let mut vars = serde_json::Map::new();
    for pair in env {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--env {pair:?}: expected NAME=VALUE"))?;
        vars.insert(name.to_owned(), json!(value));
    }
    let name = hook
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hook".into());
    let hook = std::path::absolute(hook).map_err(|e| format!("--hook: {e}"))?;
    let mut entry = json!({"name": name, "hook": hook,
        "grants": {"dirs": dirs, "args": args, "env": vars, "http": grant_http}});
    let value = match (fs_action, provider) {
        (Some(action), _) => {
            entry["execute_on"] = json!([action]);
            json!({"common": {"actions": {"hooks": [entry]}}})
        }
        (None, Some((action, object_type))) => {
            entry["execute_on"] = json!([action]);
            entry["execute_for"] = json!([object_type]);
            json!({"data_provider": {"actions": {"hooks": [entry]}}})
        }
        (None, None) => unreachable!("an fs or a provider event"),
    };
    Config::from_value(value, Path::new("/")).map_err(|e| e.to_string())
}

pub async fn fire(
    target: FireTarget,
    event: &Path,
    provider_action: Option<&str>,
    object_type: &str,
) -> Result<ExitCode, String> {
    let body = std::fs::read(event).map_err(|e| format!("{}: {e}", event.display()))?;
    let host = match &target {
        FireTarget::Config(config) => build_host(config, Journal::Skip).await?,
        FireTarget::Hook {
            hook,
            grant_dirs,
            grant_http,
            args,
            env,
        } => {
            let (fs_action, provider) = match provider_action {
                None => {
                    let ev = decode_fs_event_as(&body, VersionSetting::Auto)
                        .map_err(|e| format!("{}: {e}", event.display()))?;
                    (Some(ev.action.as_str().to_owned()), None)
                }
                Some(action) => (None, Some((action, object_type))),
            };
            let config = solo_config(
                hook,
                grant_dirs,
                grant_http,
                args,
                env,
                fs_action.as_deref(),
                provider,
            )?;
            Host::new(config).await.map_err(|e| e.to_string())?
        }
    };
    let (action, outcome) = match provider_action {
        None => {
            let versions = host.sftpgo_version();
            let ev = decode_fs_event_as(&body, versions)
                .map_err(|e| format!("{}: {e}", event.display()))?;
            (
                ev.action.as_str().to_owned(),
                host.dispatch(ev).wait_for_all().await,
            )
        }
        Some(action) => {
            let action: ProviderAction = action
                .parse()
                .map_err(|e| format!("--provider-action: {e}"))?;
            let object_type: ObjectType = object_type
                .parse()
                .map_err(|e| format!("--object-type: {e}"))?;
            let ev = ProviderEvent::from_json(action, object_type, &body)
                .map_err(|e| format!("{}: {e}", event.display()))?;
            (
                action.as_str().to_owned(),
                host.dispatch(ev).wait_for_all().await,
            )
        }
    };
    println!("{}", outcome_json(&action, &outcome));
    host.shutdown().await;
    Ok(if outcome.decision.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn report_json(report: &HookReport) -> Value {
    let (outcome, reason) = match &report.result {
        Ok(Answer::Allow) => ("allow", None),
        Ok(Answer::Handled) => ("handled", None),
        Ok(Answer::Reply(_)) => ("answered", None),
        Ok(Answer::Deny(reason)) => ("deny", Some(reason.clone())),
        Err(failure) => (failure.label(), Some(failure.to_string())),
    };
    let mut value = json!({
        "hook": &*report.hook,
        "kind": report.kind,
        "outcome": outcome,
        "duration_us": report.duration.as_micros() as u64,
    });
    if let Some(reason) = reason {
        value["reason"] = json!(reason);
    }
    value
}

/// The outcome as printed by `fire`.
pub fn outcome_json(action: &str, outcome: &Outcome) -> Value {
    let mut value = serde_json::to_value(&outcome.decision).expect("decisions serialize");
    value["action"] = json!(action);
    value["hooks"] = outcome.reports.iter().map(report_json).collect();
    value
}

pub async fn serve(
    mut options: ServeOptions,
    token_file: Option<PathBuf>,
    env_token: Option<String>,
) -> Result<ExitCode, String> {
    let token = match token_file {
        Some(file) => Some(
            std::fs::read_to_string(&file)
                .map_err(|e| format!("--token-file {}: {e}", file.display()))?
                .trim()
                .to_owned(),
        ),
        None => env_token,
    }
    .filter(|t| !t.is_empty());
    options.token = token;
    progress("loading the configuration and compiling its components...");
    hookhost::serve::run(options, |address, tls| {
        // The one line on stdout: scripts and tests read the address here.
        let scheme = if tls { "https" } else { "http" };
        println!("hookhost listening on {scheme}://{address}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Where `hookhost exec` finds its configuration.
fn exec_config(config: Option<PathBuf>) -> PathBuf {
    config
        .or_else(|| std::env::var_os("HOOKHOST_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/etc/hookhost/hookhost.json"))
}

pub async fn exec(config: Option<PathBuf>, args: &[OsString]) -> Result<ExitCode, String> {
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
            ExecRequest::Login(login) => return crate::exec_login::run(config, login).await,
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

/// `hookhost plugin`: 0 after a clean shutdown, 1 when it cannot serve (as
/// a go-plugin server exits when run by hand).
pub async fn plugin(options: hookhost::gateway::GatewayOptions) -> ExitCode {
    match hookhost::gateway::run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(hookhost::gateway::GatewayError::NotLaunched(message)) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
        Err(error) => {
            tracing::error!(error = %error, "hookhost plugin cannot serve");
            ExitCode::from(1)
        }
    }
}
