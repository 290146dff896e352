//! `hookhost fire`: run the hooks for one event and print the outcome.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hookhost::event::fs::http::decode_fs_event_as;
use hookhost::event::{ObjectType, ProviderAction, ProviderEvent, VersionSetting};
use hookhost::hook::Answer;
use hookhost::{Config, HookReport, Host, Outcome};
use serde_json::{Value, json};

use super::{Journal, build_host};

/// Run the hooks for one event and print the outcome as JSON.
#[derive(clap::Args)]
pub struct FireArgs {
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
}

impl FireArgs {
    /// `--hook` asks for every guest log line.
    pub fn tries_a_hook_alone(&self) -> bool {
        self.hook.is_some()
    }

    pub async fn run(self) -> Result<ExitCode, String> {
        let target = match (self.config, self.hook) {
            (Some(config), _) => FireTarget::Config(config),
            (None, Some(hook)) => FireTarget::Hook {
                hook,
                grant_dirs: self.grant_dir,
                grant_http: self.grant_http,
                args: self.args,
                env: self.env,
            },
            (None, None) => unreachable!("clap requires --config or --hook"),
        };
        fire(
            target,
            &self.event,
            self.provider_action.as_deref(),
            &self.object_type,
        )
        .await
    }
}

/// What `fire` runs: a configuration, or one component alone.
enum FireTarget {
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

async fn fire(
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
