//! `hookhost sftpgo`: what to give SFTPGo's Event Manager so its rules call
//! hookhost — an event action (`POST /api/v2/eventactions`), the event
//! rules for the events a configuration handles (`POST
//! /api/v2/eventrules`), or both as a backup to load (`--loaddata-from`,
//! `POST /api/v2/loaddata`).
//!
//! The JSON is SFTPGo's own types' (`internal/dataprovider/eventrule.go`:
//! `BaseEventAction`, `EventActionHTTPConfig`, `EventActionCommandConfig`,
//! `KeyValue`, `EventRule`, `EventConditions`, `EventAction` with its
//! `relation_options`; `dataprovider.go`: `BackupData`), in the form of the
//! release in front: the body and placeholders of
//! [`hookhost::event::rule`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hookhost::Config;
use hookhost::event::rule::{self, Form, RuleTrigger};
use hookhost::event::{Contract, FsAction, ProviderAction, SftpgoVersion, VersionSetting};
use serde::Serialize;
use serde_json::{Value, json};

/// SFTPGo's `KeyValue`.
#[derive(Serialize)]
struct KeyValue {
    key: String,
    value: String,
}

fn key_values<K: Into<String>>(pairs: impl IntoIterator<Item = (K, String)>) -> Vec<KeyValue> {
    pairs
        .into_iter()
        .map(|(key, value)| KeyValue {
            key: key.into(),
            value,
        })
        .collect()
}

/// What the action calls: `serve`'s URL, or the `hookhost-exec` program.
pub enum Target {
    Url { url: String, token: Option<String> },
    Command { program: PathBuf, config: PathBuf },
}

/// The release the output is for: `--sftpgo-version`, else the
/// configuration's pinned one, else today's.
pub fn release(flag: Option<&str>, config: Option<&Config>) -> Result<SftpgoVersion, String> {
    if let Some(text) = flag {
        return text
            .parse()
            .map_err(|e: String| format!("--sftpgo-version: {e}"));
    }
    Ok(match config.map(|c| c.settings.sftpgo_version) {
        Some(VersionSetting::Pinned(version)) => version,
        _ => SftpgoVersion::NEWEST,
    })
}

/// `serve`'s URL for rules: `URL` as given when it has a path, else
/// `URL/v1/events`. SFTPGo's HTTP action takes `http://` and `https://`.
fn events_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            format!("--url {url:?}: SFTPGo's HTTP action takes http:// or https:// URLs")
        })?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("--url {url:?}: no host"));
    }
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    Ok(if path.is_empty() || path == "/" {
        format!("{}/v1/events", url.trim_end_matches('/'))
    } else {
        url.to_owned()
    })
}

/// The event action (`BaseEventAction`) named `name`, for `version`.
/// `timeout` is the HTTP action's (1–180 s) or the program's (1–120 s).
pub fn action(
    name: &str,
    target: &Target,
    version: SftpgoVersion,
    timeout: u64,
) -> Result<Value, String> {
    let form = Form::of(version).map_err(|e| e.message)?;
    let description = "hookhost: runs the hooks of hookhost's configuration for this rule's events (hookhost sftpgo event-action)";
    Ok(match target {
        Target::Url { url, token } => {
            let mut headers = vec![("Content-Type", "application/json".to_owned())];
            if let Some(token) = token {
                headers.push(("Authorization", format!("Bearer {token}")));
            }
            let mut http = json!({
                "endpoint": events_url(url)?,
                "headers": key_values(headers),
                "timeout": timeout.clamp(1, 180),
                "method": "POST",
                "body": rule::body_template(version),
            });
            if form == Form::Query {
                http["query_parameters"] = json!(key_values(rule::query_template(version)));
            }
            json!({"name": name, "description": description, "type": 1,
                   "options": {"http_config": http}})
        }
        Target::Command { program, config } => {
            let mut args = Vec::new();
            if program.file_name().is_none_or(|n| n != "hookhost-exec") {
                args.push("exec".to_owned());
            }
            args.extend(["--config".to_owned(), config.display().to_string()]);
            json!({"name": name, "description": description, "type": 2,
            "options": {"cmd_config": {
                "cmd": program,
                "args": args,
                "timeout": timeout.clamp(1, 120),
                "env_vars": key_values(rule::env_template(version)),
            }}})
        }
    })
}

/// One rule calling `action`.
fn rule(
    name: &str,
    description: &str,
    trigger: i32,
    conditions: Value,
    action: &str,
    sync: bool,
) -> Value {
    json!({
        "name": name,
        "status": 1,
        "description": description,
        "trigger": trigger,
        "conditions": conditions,
        "actions": [{"name": action, "order": 1, "relation_options": {
            "is_failure_action": false, "stop_on_failure": false, "execute_sync": sync}}],
    })
}

/// The rules for the events `config` has hooks for, each calling `action`,
/// for `version`; what cannot be a rule is said in `notes`.
pub fn rules(
    config: &Config,
    action: &str,
    version: SftpgoVersion,
    schedules: &[String],
    notes: &mut Vec<String>,
) -> Result<Vec<Value>, String> {
    Form::of(version).map_err(|e| e.message)?;
    let contract = Contract::of(version);
    let handled: BTreeSet<FsAction> = config
        .fs_actions
        .hooks
        .iter()
        .flat_map(|h| h.execute_on.iter().copied())
        .collect();
    let sync_rules = version >= rule::SYNC_PRE_RULES;
    let mut sync = Vec::new();
    let mut not_sync = Vec::new();
    for action in &handled {
        if !action.fired_by(&contract) {
            notes.push(format!(
                "SFTPGo {version} never fires {action}: no rule for it"
            ));
            continue;
        }
        let answers = action.is_pre()
            || (*action == FsAction::Upload && config.fs_actions.execute_sync.contains(action));
        if action.is_pre() && !sync_rules {
            notes.push(format!(
                "SFTPGo {version} has no rules for {action} (they came with 2.5): keep the legacy hook for it"
            ));
        } else if answers {
            sync.push(action.as_str());
        } else {
            not_sync.push(action.as_str());
        }
    }
    let mut out = Vec::new();
    if !sync.is_empty() {
        out.push(rule(
            "hookhost-fs-sync",
            "hookhost answers these events: a sync rule waits for it (for pre-*: 2xx allows, anything else refuses)",
            1,
            json!({"fs_events": sync, "options": {}}),
            action,
            true,
        ));
    }
    if !not_sync.is_empty() {
        out.push(rule(
            "hookhost-fs",
            "hookhost's hooks for these file-system events",
            1,
            json!({"fs_events": not_sync, "options": {}}),
            action,
            false,
        ));
    }
    let provider_events: BTreeSet<ProviderAction> = config
        .provider_actions
        .hooks
        .iter()
        .flat_map(|h| h.execute_on.iter().copied())
        .collect();
    let objects: BTreeSet<&str> = config
        .provider_actions
        .hooks
        .iter()
        .flat_map(|h| h.execute_for.iter().map(|o| o.as_str()))
        .collect();
    if !provider_events.is_empty() && !objects.is_empty() {
        let events: Vec<&str> = provider_events.iter().map(|a| a.as_str()).collect();
        out.push(rule(
            "hookhost-provider",
            "hookhost's hooks for these provider events",
            2,
            json!({"provider_events": events, "options": {"provider_objects": objects}}),
            action,
            false,
        ));
    }
    let triggers: BTreeSet<RuleTrigger> = config
        .login_hooks
        .event_rule_triggers
        .iter()
        .flatten()
        .copied()
        .collect();
    for trigger in triggers {
        let name = format!("hookhost-{trigger}");
        let description = format!("hookhost's common.event_manager.hooks for {trigger}");
        match trigger {
            RuleTrigger::Schedule if schedules.is_empty() => notes.push(
                "common.event_manager.hooks run on schedule: give --schedule 'HOUR DAY_OF_MONTH MONTH DAY_OF_WEEK' (cron fields, e.g. '0 * * *') for a schedule rule".into(),
            ),
            RuleTrigger::Schedule => {
                let mut parsed = Vec::new();
                for spec in schedules {
                    let fields: Vec<&str> = spec.split_whitespace().collect();
                    let [hour, day_of_month, month, day_of_week] = fields[..] else {
                        return Err(format!(
                            "--schedule {spec:?}: expected 4 fields, HOUR DAY_OF_MONTH MONTH DAY_OF_WEEK (e.g. \"0 * * *\")"
                        ));
                    };
                    parsed.push(json!({"hour": hour, "day_of_week": day_of_week,
                        "day_of_month": day_of_month, "month": month}));
                }
                out.push(rule(&name, &description, trigger.code(), json!({"schedules": parsed, "options": {}}), action, false));
            }
            RuleTrigger::IdpLogin => out.push(rule(
                &name,
                &description,
                trigger.code(),
                json!({"idp_login_event": 0, "options": {}}),
                action,
                false,
            )),
            _ => out.push(rule(&name, &description, trigger.code(), json!({"options": {}}), action, false)),
        }
    }
    if out.is_empty() {
        notes.push("the configuration has no hook a rule would call".into());
    }
    Ok(out)
}

/// SFTPGo's dump version (`DumpVersion`) for `version`: what `loaddata`
/// expects.
fn dump_version(version: SftpgoVersion) -> u32 {
    let v = |s: &str| s.parse::<SftpgoVersion>().expect("a version");
    if version >= v("2.7.0") {
        17
    } else if version >= v("2.5.0") {
        16
    } else {
        13
    }
}

/// The backup form `loaddata` takes (`BackupData`), holding `actions` and
/// `rules` alone.
pub fn backup(actions: Vec<Value>, rules: Vec<Value>, version: SftpgoVersion) -> Value {
    json!({"event_actions": actions, "event_rules": rules, "version": dump_version(version)})
}

/// The HTTP action's timeout for `config`: its `http.timeout`, rounded up
/// (hookhost answers within 90 % of it).
pub fn timeout_for(config: Option<&Config>) -> u64 {
    config.map_or(20, |c| c.http.timeout.ceil() as u64)
}

/// Read a configuration for the generator.
pub fn load(path: &Path) -> Result<Config, String> {
    Config::from_file(path).map_err(|e| e.to_string())
}
