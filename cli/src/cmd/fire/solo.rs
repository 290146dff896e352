//! The configuration that runs one component alone: in its world's place,
//! with the grants of the command line and default limits.

use hookhost::Config;
use hookhost::event::{FsAction, ObjectType, VersionSetting};
use hookhost::hook::World;
use serde_json::{Map, Value, json};

use super::{Request, Solo, fs, parse_config};
use crate::scaffold::{login_config, with};

/// The KMS scheme and encrypted status a component tried alone is
/// configured with (what it sees as a decrypted secret's `status`):
/// HashiCorp Vault's, one of those SFTPGo knows.
const KMS_SCHEME: &str = "hashivault";
const KMS_STATUS: &str = "VaultTransit";

/// The variables `--env` gives a plugin, as its host environment.
pub(super) fn plugin_env(solo: &Solo) -> Vec<(String, String)> {
    solo.env
        .iter()
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// `solo` in its world's place.
pub(super) fn config(solo: &Solo, request: &Request) -> Result<Config, String> {
    let hook = std::path::absolute(&solo.hook).map_err(|e| format!("--hook: {e}"))?;
    let name = solo
        .hook
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hook".into());
    let grants = grants(solo)?;
    let entry = json!({"name": name, "hook": hook, "grants": grants});
    // A plugin entry has SFTPGo's `args` and `env_vars` (the names; the
    // values come from the host's environment: `plugin_env`), and
    // hookhost's `grants` for directories and HTTP.
    let env = grants["env"].as_object().cloned().unwrap_or_default();
    let plugin = |kind: &str, options: Value| {
        let plugin = json!({"type": kind, "cmd": hook, "args": solo.args,
            "env_prefix": "none", "env_vars": env.keys().collect::<Vec<_>>(),
            "grants": {"dirs": grants["dirs"], "http": grants["http"]}});
        json!({"plugins": [with(plugin, options)]})
    };
    let value = match solo.world {
        World::Fs => {
            // Run on the event's own action, read as SFTPGo today sends it
            // (its fields name the release it came from either way).
            let action = fs::fs_event(request, VersionSetting::Auto)?.action;
            let entry = with(entry, json!({"execute_on": [action.as_str()]}));
            json!({"common": {"actions": {"hooks": [entry]}}})
        }
        World::Provider => {
            let event = fs::provider_event(request)?;
            let entry = with(
                entry,
                json!({"execute_on": [event.action.as_str()], "execute_for": [event.object_type.as_str()]}),
            );
            json!({"data_provider": {"actions": {"hooks": [entry]}}})
        }
        World::Login(hook) => login_config(hook, entry),
        // Called directly, every event (the server in front chose it), once.
        World::Notifier => plugin(
            "notifier",
            json!({"notifier_options": {
                    "fs_events": FsAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                    "provider_events": ["add", "update", "delete"],
                    "provider_objects": ObjectType::ALL.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
                    "log_events": [1, 2, 3, 4, 5],
                    "retry_max_time": 0}}),
        ),
        World::Kms => plugin(
            "kms",
            json!({"kms_options": {"scheme": KMS_SCHEME, "encrypted_status": KMS_STATUS}}),
        ),
        // Every method: the call picks the check.
        World::Auth => plugin("auth", json!({"auth_options": {"scope": 15}})),
        World::EventSearcher => plugin("eventsearcher", json!({})),
        World::IpFilter => plugin("ipfilter", json!({})),
    };
    parse_config(value)
}

/// The `grants` object of a hook entry from the command line.
pub(crate) fn grants(solo: &Solo) -> Result<Value, String> {
    let mut dirs = Vec::new();
    for grant in &solo.grant_dirs {
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
    let mut vars = Map::new();
    for pair in &solo.env {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--env {pair:?}: expected NAME=VALUE"))?;
        vars.insert(name.to_owned(), json!(value));
    }
    Ok(json!({"dirs": dirs, "args": solo.args, "env": vars, "http": solo.grant_http}))
}
