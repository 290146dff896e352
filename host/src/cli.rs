//! The subcommands' bodies: read input, call the library, print.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hookhost::event::exec::decode_fs_exec;
use hookhost::event::json::decode_fs_event;
use hookhost::event::{FsAction, ObjectType, ProviderAction, ProviderEvent};
use hookhost::hook::{Answer, HookKind};
use hookhost::serve::ServeOptions;
use hookhost::{Config, Decision, HookReport, Host, Outcome};
use serde_json::{Value, json};

/// Load and build a host, with the error as the message to print.
async fn build_host(path: &Path) -> Result<Host, String> {
    let config = Config::from_file(path).map_err(|e| e.to_string())?;
    Host::new(config).await.map_err(|e| e.to_string())
}

pub async fn check(config: &Path) -> Result<ExitCode, String> {
    let host = build_host(config).await?;
    let count = |kind: HookKind| {
        let cfg = host.config();
        cfg.fs_actions
            .hooks
            .iter()
            .map(|h| &h.spec)
            .chain(cfg.provider_actions.hooks.iter().map(|h| &h.spec))
            .filter(|spec| kind_of(&spec.target) == kind)
            .count()
    };
    let stats = host.cache_stats();
    println!(
        "{}: ok, hooks: {} exec, {} http, {} wasm; compile cache: {} hits, {} compiled",
        config.display(),
        count(HookKind::Exec),
        count(HookKind::Http),
        count(HookKind::Wasm),
        stats.hits,
        stats.compiled,
    );
    host.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

fn kind_of(target: &hookhost::config::HookTarget) -> HookKind {
    match target {
        hookhost::config::HookTarget::Exec(_) => HookKind::Exec,
        hookhost::config::HookTarget::Http(_) => HookKind::Http,
        hookhost::config::HookTarget::Wasm(_) => HookKind::Wasm,
    }
}

pub async fn fire(
    config: &Path,
    event: &Path,
    provider_action: Option<&str>,
    object_type: &str,
) -> Result<ExitCode, String> {
    let body = std::fs::read(event).map_err(|e| format!("{}: {e}", event.display()))?;
    let host = build_host(config).await?;
    let (action, outcome) = match provider_action {
        None => {
            let ev = decode_fs_event(&body).map_err(|e| format!("{}: {e}", event.display()))?;
            (ev.action.as_str().to_owned(), host.run_fs(&ev).await)
        }
        Some(action) => {
            let action: ProviderAction = action
                .parse()
                .map_err(|e| format!("--provider-action: {e}"))?;
            let object_type: ObjectType = object_type
                .parse()
                .map_err(|e| format!("--object-type: {e}"))?;
            let object: Value =
                serde_json::from_slice(&body).map_err(|e| format!("{}: {e}", event.display()))?;
            let ev = ProviderEvent::new(action, object_type, object);
            (action.as_str().to_owned(), host.run_provider(&ev).await)
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
    config: PathBuf,
    listen: SocketAddr,
    token_file: Option<PathBuf>,
    max_body_bytes: usize,
    watch_config: bool,
) -> Result<ExitCode, String> {
    let token = match token_file {
        Some(file) => Some(
            std::fs::read_to_string(&file)
                .map_err(|e| format!("--token-file {}: {e}", file.display()))?
                .trim()
                .to_owned(),
        ),
        None => std::env::var("HOOKHOST_TOKEN").ok(),
    }
    .filter(|t| !t.is_empty());
    let options = ServeOptions {
        config,
        listen,
        token,
        max_body_bytes,
        watch_config,
    };
    hookhost::serve::run(options, |address| {
        // The one line on stdout: scripts and tests read the address here.
        println!("hookhost listening on http://{address}");
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

/// The provider event SFTPGo describes in the environment, if it is one:
/// the reference's `SFTPGO_USER_ACTION`/`SFTPGO_USER`, or current releases'
/// `SFTPGO_PROVIDER_*` variables.
fn provider_event_from_env() -> Result<Option<ProviderEvent>, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(action) = var("SFTPGO_PROVIDER_ACTION").or_else(|| var("SFTPGO_USER_ACTION")) else {
        return Ok(None);
    };
    let action: ProviderAction = action
        .parse()
        .map_err(|e| format!("SFTPGO_USER_ACTION: {e}"))?;
    let object_type: ObjectType = var("SFTPGO_PROVIDER_OBJECT_TYPE")
        .unwrap_or_else(|| "user".to_owned())
        .parse()
        .map_err(|e| format!("SFTPGO_PROVIDER_OBJECT_TYPE: {e}"))?;
    let (name, json) = match var("SFTPGO_PROVIDER_OBJECT") {
        Some(json) => ("SFTPGO_PROVIDER_OBJECT", json),
        None => (
            "SFTPGO_USER",
            var("SFTPGO_USER").unwrap_or_else(|| "{}".to_owned()),
        ),
    };
    let object: Value = serde_json::from_str(&json).map_err(|e| format!("{name}: {e}"))?;
    let mut event = ProviderEvent::new(action, object_type, object);
    if let Some(object_name) = var("SFTPGO_PROVIDER_OBJECT_NAME") {
        event = event.with_name(object_name);
    }
    Ok(Some(event))
}

pub async fn exec(config: Option<PathBuf>, args: &[String]) -> Result<ExitCode, String> {
    let path = exec_config(config);
    let mut config = Config::from_file(&path).map_err(|e| e.to_string())?;
    // One event per process: skip reserving an instance pool.
    config.settings.wasm.pooling = false;
    let host = Host::new(config).await.map_err(|e| e.to_string())?;
    let (pre_delete, outcome) = match provider_event_from_env()? {
        Some(event) => (false, host.run_provider(&event).await),
        None => {
            let event =
                decode_fs_exec(|name| std::env::var(name).ok(), args).map_err(|e| e.to_string())?;
            (
                event.action == FsAction::PreDelete,
                host.run_fs(&event).await,
            )
        }
    };
    host.shutdown().await;
    let allowed = match &outcome.decision {
        Decision::Handled => true,
        // For pre-delete, exit 0 means "handled": SFTPGo would skip its delete.
        Decision::Allow | Decision::Queued => !pre_delete,
        Decision::Deny(reason) | Decision::Failed(reason) => {
            eprintln!("hookhost: {reason}");
            false
        }
    };
    Ok(if allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
