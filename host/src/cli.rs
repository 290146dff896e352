//! The subcommands' bodies: read input, call the library, print.

use std::path::Path;
use std::process::ExitCode;

use hookhost::event::json::decode_fs_event;
use hookhost::event::{ObjectType, ProviderAction, ProviderEvent};
use hookhost::hook::{Answer, HookKind};
use hookhost::{HookReport, Outcome};
use serde_json::{Value, json};

use crate::build_host;

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
        "hook": report.hook,
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
