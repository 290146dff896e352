//! SFTPGo's own ways of configuring, for the keys hookhost reads: the
//! configuration file in JSON, YAML or TOML, the `env.d` files beside it,
//! and `SFTPGO_<SECTION>__<KEY>` environment overrides — with SFTPGo's
//! precedence (environment over file over defaults), so hookhost sees the
//! configuration SFTPGo sees (container deployments configure it this way).
//!
//! As SFTPGo (viper) reads them:
//!
//! - a key `common.actions.hook` is overridden by `SFTPGO_COMMON__ACTIONS__HOOK`,
//!   set even when empty; a list (`execute_on`, `ca_certificates`,
//!   `command.env`) is the value split on `,`; numbers and booleans are
//!   parsed, and one that does not parse refuses the configuration naming
//!   the variable (SFTPGo refuses to start). `common.startup_hook` has no
//!   default in SFTPGo, so it is overridden only when the file has it.
//! - lists of objects take indexed variables, `0` to `9`:
//!   `SFTPGO_PLUGINS__0__CMD`, `__TYPE`, `__ARGS`, `__SHA256SUM`,
//!   `__AUTO_MTLS`, `__ENV_PREFIX`, `__ENV_VARS`,
//!   `__NOTIFIER_OPTIONS__{FS_EVENTS,PROVIDER_EVENTS,PROVIDER_OBJECTS,LOG_EVENTS,RETRY_MAX_TIME,RETRY_QUEUE_MAX_SIZE}`,
//!   `__KMS_OPTIONS__{SCHEME,ENCRYPTED_STATUS}`, `__AUTH_OPTIONS__SCOPE`;
//!   `SFTPGO_COMMAND__COMMANDS__0__{PATH,TIMEOUT,ENV,ARGS}` (an entry needs
//!   a path); `SFTPGO_HTTP__HEADERS__0__{KEY,VALUE,URL}` (key and value);
//!   `SFTPGO_HTTP__CERTIFICATES__0__{CERT,KEY}` (both). Each overrides the
//!   fields of the file's entry at that index, or appends one; values that
//!   do not parse are ignored there, as SFTPGo ignores them.
//! - files in `env.d/` beside the configuration file (`KEY=VALUE` lines)
//!   set variables the environment does not already have.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::ConfigError;

/// How an overridable key's value is read from a variable.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Float,
    Bool,
    List,
}

/// The scalar keys hookhost reads, and whether SFTPGo has a default for
/// each (viper overrides a key without one only when the file has it).
const KEYS: &[(&str, Kind, bool)] = &[
    ("common.actions.execute_on", Kind::List, true),
    ("common.actions.execute_sync", Kind::List, true),
    ("common.actions.hook", Kind::Text, true),
    ("common.post_connect_hook", Kind::Text, true),
    ("common.post_disconnect_hook", Kind::Text, true),
    ("common.startup_hook", Kind::Text, false),
    ("common.data_retention_hook", Kind::Text, true),
    ("data_provider.actions.execute_on", Kind::List, true),
    ("data_provider.actions.execute_for", Kind::List, true),
    ("data_provider.actions.hook", Kind::Text, true),
    ("data_provider.external_auth_hook", Kind::Text, true),
    ("data_provider.external_auth_scope", Kind::Int, true),
    ("data_provider.pre_login_hook", Kind::Text, true),
    ("data_provider.post_login_hook", Kind::Text, true),
    ("data_provider.post_login_scope", Kind::Int, true),
    ("data_provider.check_password_hook", Kind::Text, true),
    ("data_provider.check_password_scope", Kind::Int, true),
    ("sftpd.keyboard_interactive_auth_hook", Kind::Text, true),
    ("http.timeout", Kind::Float, true),
    ("http.retry_wait_min", Kind::Int, true),
    ("http.retry_wait_max", Kind::Int, true),
    ("http.retry_max", Kind::Int, true),
    ("http.ca_certificates", Kind::List, true),
    ("http.skip_tls_verify", Kind::Bool, true),
    ("command.timeout", Kind::Int, true),
    ("command.env", Kind::List, true),
];

/// Indexed entries of lists of objects SFTPGo reads from the environment.
const INDEXES: usize = 10;

/// The variable that overrides `key`.
fn variable(key: &str) -> String {
    format!("SFTPGO_{}", key.to_ascii_uppercase().replace('.', "__"))
}

/// viper's `,` split (mapstructure's `StringToSliceHookFunc`): an empty
/// value is an empty list.
fn split(value: &str) -> Value {
    if value.is_empty() {
        return json!([]);
    }
    json!(value.split(',').collect::<Vec<_>>())
}

/// SFTPGo's `lookupStringListFromEnv`: split, trimmed, empties dropped.
fn trimmed_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse(kind: Kind, name: &str, value: &str) -> Result<Value, ConfigError> {
    let bad = |what: &str| ConfigError::field(name, format!("{value:?} is not {what}"));
    Ok(match kind {
        Kind::Text => json!(value),
        Kind::List => split(value),
        Kind::Int => json!(value.trim().parse::<i64>().map_err(|_| bad("an integer"))?),
        Kind::Float => json!(value.trim().parse::<f64>().map_err(|_| bad("a number"))?),
        // Go's strconv.ParseBool, as mapstructure's weak decoding uses it.
        Kind::Bool => json!(match value.trim() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
            "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => false,
            _ => return Err(bad("a boolean")),
        }),
    })
}

/// The object at `path` in `root`, made when missing (a non-object there
/// is replaced, as the variable wins).
fn object_at<'a>(root: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut at = root;
    for part in path {
        if !at.is_object() {
            *at = json!({});
        }
        at = at
            .as_object_mut()
            .expect("made an object")
            .entry(part.to_string())
            .or_insert_with(|| json!({}));
    }
    if !at.is_object() {
        *at = json!({});
    }
    at.as_object_mut().expect("made an object")
}

fn has_path(root: &Value, path: &[&str]) -> bool {
    let mut at = root;
    for part in path {
        match at.get(part) {
            Some(next) => at = next,
            None => return false,
        }
    }
    true
}

/// The `index`th entry of the list at `path`, appended (as an empty
/// object) when the list is shorter (SFTPGo appends, so an index past the
/// end lands at the list's end).
fn entry_at<'a>(root: &'a mut Value, path: &[&str], index: usize) -> &'a mut Map<String, Value> {
    let (last, parents) = path.split_last().expect("a path");
    let parent = object_at(root, parents);
    let list = parent.entry(last.to_string()).or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    let list = list.as_array_mut().expect("made an array");
    let index = index.min(list.len());
    if index == list.len() {
        list.push(json!({}));
    }
    if !list[index].is_object() {
        list[index] = json!({});
    }
    list[index].as_object_mut().expect("made an object")
}

/// Apply SFTPGo's environment overrides to the configuration `root` (as
/// read from its file).
pub(super) fn apply(root: &mut Value, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    if !root.is_object() {
        return Ok(());
    }
    for (key, kind, defaulted) in KEYS {
        let name = variable(key);
        let Some(value) = env.get(&name) else {
            continue;
        };
        let path: Vec<&str> = key.split('.').collect();
        if !defaulted && !has_path(root, &path) {
            continue;
        }
        let parsed = parse(*kind, &name, value)?;
        let (last, parents) = path.split_last().expect("a key");
        object_at(root, parents).insert(last.to_string(), parsed);
    }
    for index in 0..INDEXES {
        plugin(root, env, index);
        command(root, env, index);
        header(root, env, index);
        certificate(root, env, index);
    }
    Ok(())
}

fn lookup<'a>(env: &'a BTreeMap<String, String>, prefix: &str, field: &str) -> Option<&'a str> {
    env.get(&format!("{prefix}{field}")).map(String::as_str)
}

/// SFTPGo's `lookupIntFromEnv`: an integer, or nothing.
fn int(value: Option<&str>) -> Option<i64> {
    value.and_then(|v| v.trim().parse().ok())
}

/// SFTPGo's `lookupBoolFromEnv`: a boolean, or nothing.
fn boolean(value: Option<&str>) -> Option<bool> {
    match value?.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// `SFTPGO_PLUGINS__<index>__*` (`getPluginsFromEnv`).
fn plugin(root: &mut Value, env: &BTreeMap<String, String>, index: usize) {
    let prefix = format!("SFTPGO_PLUGINS__{index}__");
    let get = |field: &str| lookup(env, &prefix, field);
    let mut fields: Vec<(&str, Option<&str>, Value)> = Vec::new();
    let mut set = |path: &'static str, value: Value| fields.push((path, None, value));
    if let Some(v) = get("TYPE") {
        set("type", json!(v));
    }
    for (var, key) in [
        ("NOTIFIER_OPTIONS__FS_EVENTS", "fs_events"),
        ("NOTIFIER_OPTIONS__PROVIDER_EVENTS", "provider_events"),
        ("NOTIFIER_OPTIONS__PROVIDER_OBJECTS", "provider_objects"),
    ] {
        if let Some(v) = get(var) {
            fields.push(("notifier_options", Some(key), json!(trimmed_list(v))));
        }
    }
    if let Some(v) = get("NOTIFIER_OPTIONS__LOG_EVENTS") {
        let events: Vec<i64> = trimmed_list(v)
            .iter()
            .filter_map(|e| e.parse().ok())
            .collect();
        if !events.is_empty() {
            fields.push(("notifier_options", Some("log_events"), json!(events)));
        }
    }
    for (var, key) in [
        ("NOTIFIER_OPTIONS__RETRY_MAX_TIME", "retry_max_time"),
        (
            "NOTIFIER_OPTIONS__RETRY_QUEUE_MAX_SIZE",
            "retry_queue_max_size",
        ),
    ] {
        if let Some(n) = int(get(var)) {
            fields.push(("notifier_options", Some(key), json!(n)));
        }
    }
    for (var, key) in [
        ("KMS_OPTIONS__SCHEME", "scheme"),
        ("KMS_OPTIONS__ENCRYPTED_STATUS", "encrypted_status"),
    ] {
        if let Some(v) = get(var) {
            fields.push(("kms_options", Some(key), json!(v)));
        }
    }
    if let Some(n) = int(get("AUTH_OPTIONS__SCOPE")) {
        fields.push(("auth_options", Some("scope"), json!(n)));
    }
    let mut set = |path: &'static str, value: Value| fields.push((path, None, value));
    if let Some(v) = get("CMD") {
        set("cmd", json!(v));
    }
    if let Some(v) = get("ARGS") {
        set("args", json!(trimmed_list(v)));
    }
    if let Some(v) = get("SHA256SUM") {
        set("sha256sum", json!(v));
    }
    if let Some(b) = boolean(get("AUTO_MTLS")) {
        set("auto_mtls", json!(b));
    }
    if let Some(v) = get("ENV_PREFIX") {
        set("env_prefix", json!(v));
    }
    if let Some(v) = get("ENV_VARS") {
        set("env_vars", json!(trimmed_list(v)));
    }
    if fields.is_empty() {
        return;
    }
    let entry = entry_at(root, &["plugins"], index);
    for (key, inner, value) in fields {
        match inner {
            None => {
                entry.insert(key.to_owned(), value);
            }
            Some(inner) => {
                let options = entry.entry(key.to_owned()).or_insert_with(|| json!({}));
                if !options.is_object() {
                    *options = json!({});
                }
                options
                    .as_object_mut()
                    .expect("made an object")
                    .insert(inner.to_owned(), value);
            }
        }
    }
}

/// Merge `fields` into the entry at `index` of `path`, when `keep` says the
/// merged entry is one SFTPGo keeps.
fn merge(
    root: &mut Value,
    path: &[&str],
    index: usize,
    fields: Vec<(&str, Value)>,
    keep: impl Fn(&Map<String, Value>) -> bool,
) {
    if fields.is_empty() {
        return;
    }
    let existing = root
        .pointer(&format!("/{}/{index}", path.join("/")))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut merged = existing;
    for (key, value) in fields {
        merged.insert(key.to_owned(), value);
    }
    if keep(&merged) {
        *entry_at(root, path, index) = merged;
    }
}

fn text_of<'a>(entry: &'a Map<String, Value>, key: &str) -> &'a str {
    entry.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `SFTPGO_COMMAND__COMMANDS__<index>__*` (`getCommandConfigsFromEnv`): an
/// entry needs a path. (`hook` has no variable.)
fn command(root: &mut Value, env: &BTreeMap<String, String>, index: usize) {
    let prefix = format!("SFTPGO_COMMAND__COMMANDS__{index}__");
    let get = |field: &str| lookup(env, &prefix, field);
    let mut fields = Vec::new();
    if let Some(v) = get("PATH") {
        fields.push(("path", json!(v)));
    }
    if let Some(n) = int(get("TIMEOUT")) {
        fields.push(("timeout", json!(n)));
    }
    if let Some(v) = get("ENV") {
        fields.push(("env", json!(trimmed_list(v))));
    }
    if let Some(v) = get("ARGS") {
        fields.push(("args", json!(trimmed_list(v))));
    }
    merge(root, &["command", "commands"], index, fields, |e| {
        !text_of(e, "path").is_empty()
    });
}

/// `SFTPGO_HTTP__HEADERS__<index>__*`: a header needs a key and a value.
fn header(root: &mut Value, env: &BTreeMap<String, String>, index: usize) {
    let prefix = format!("SFTPGO_HTTP__HEADERS__{index}__");
    let fields: Vec<(&str, Value)> = ["KEY", "VALUE", "URL"]
        .iter()
        .filter_map(|f| {
            lookup(env, &prefix, f).map(|v| {
                let key = match *f {
                    "KEY" => "key",
                    "VALUE" => "value",
                    _ => "url",
                };
                (key, json!(v))
            })
        })
        .collect();
    merge(root, &["http", "headers"], index, fields, |e| {
        !text_of(e, "key").is_empty() && !text_of(e, "value").is_empty()
    });
}

/// `SFTPGO_HTTP__CERTIFICATES__<index>__*`: a pair needs both files.
fn certificate(root: &mut Value, env: &BTreeMap<String, String>, index: usize) {
    let prefix = format!("SFTPGO_HTTP__CERTIFICATES__{index}__");
    let fields: Vec<(&str, Value)> = [("CERT", "cert"), ("KEY", "key")]
        .iter()
        .filter_map(|(f, key)| lookup(env, &prefix, f).map(|v| (*key, json!(v))))
        .collect();
    merge(root, &["http", "certificates"], index, fields, |e| {
        !text_of(e, "cert").is_empty() && !text_of(e, "key").is_empty()
    });
}

/// The environment SFTPGo reads: `env` (the process's), plus what the
/// files in `dir/env.d` set that it does not have already.
pub(super) fn with_env_files(
    mut env: BTreeMap<String, String>,
    dir: &Path,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let envd = dir.join("env.d");
    let Ok(entries) = std::fs::read_dir(&envd) else {
        return Ok(env);
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in files {
        let field = || format!("{}", file.display());
        let bytes = crate::files::read_regular(&file)
            .map_err(|e| ConfigError::field(field(), e.to_string()))?;
        let iter = dotenvy::from_read_iter(bytes.as_slice());
        for item in iter {
            let (key, value) = item.map_err(|e| ConfigError::field(field(), e.to_string()))?;
            env.entry(key).or_insert(value);
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn scalar_keys_are_overridden_as_viper_does() {
        let mut root =
            json!({"common": {"actions": {"execute_on": ["upload"], "hook": "http://file/"}}});
        apply(
            &mut root,
            &env(&[
                ("SFTPGO_COMMON__ACTIONS__EXECUTE_ON", "pre-upload,upload"),
                ("SFTPGO_COMMON__ACTIONS__HOOK", ""),
                ("SFTPGO_HTTP__TIMEOUT", "5.5"),
                ("SFTPGO_HTTP__SKIP_TLS_VERIFY", "true"),
                ("SFTPGO_DATA_PROVIDER__EXTERNAL_AUTH_SCOPE", "5"),
                ("SFTPGO_COMMON__STARTUP_HOOK", "/bin/not-in-the-file"),
            ]),
        )
        .unwrap();
        assert_eq!(
            root,
            json!({"common": {"actions": {"execute_on": ["pre-upload", "upload"], "hook": ""}},
                   "http": {"timeout": 5.5, "skip_tls_verify": true},
                   "data_provider": {"external_auth_scope": 5}})
        );
        let mut with_startup = json!({"common": {"startup_hook": "/bin/a"}});
        apply(
            &mut with_startup,
            &env(&[("SFTPGO_COMMON__STARTUP_HOOK", "/bin/b")]),
        )
        .unwrap();
        assert_eq!(with_startup["common"]["startup_hook"], "/bin/b");
        let err = apply(&mut json!({}), &env(&[("SFTPGO_HTTP__RETRY_MAX", "many")])).unwrap_err();
        assert_eq!(err.error.field, "SFTPGO_HTTP__RETRY_MAX");
    }

    #[test]
    fn indexed_entries_override_fields_or_append() {
        let mut root = json!({"plugins": [{"type": "notifier", "cmd": "a.wasm", "notifier_options": {"fs_events": ["upload"]}}],
            "command": {"commands": [{"path": "/bin/x", "hook": "fs_actions"}]}});
        apply(
            &mut root,
            &env(&[
                ("SFTPGO_PLUGINS__0__CMD", "/srv/b.wasm"),
                ("SFTPGO_PLUGINS__0__NOTIFIER_OPTIONS__LOG_EVENTS", "1, 2,x"),
                ("SFTPGO_PLUGINS__1__TYPE", "auth"),
                ("SFTPGO_PLUGINS__1__AUTH_OPTIONS__SCOPE", "5"),
                ("SFTPGO_PLUGINS__1__ARGS", "serve, --x"),
                ("SFTPGO_COMMAND__COMMANDS__0__TIMEOUT", "9"),
                ("SFTPGO_COMMAND__COMMANDS__1__ENV", "A=1"),
                ("SFTPGO_HTTP__HEADERS__0__KEY", "Authorization"),
                ("SFTPGO_HTTP__HEADERS__0__VALUE", "Bearer t"),
                ("SFTPGO_HTTP__CERTIFICATES__0__CERT", "c.pem"),
            ]),
        )
        .unwrap();
        assert_eq!(
            root["plugins"],
            json!([{"type": "notifier", "cmd": "/srv/b.wasm",
                    "notifier_options": {"fs_events": ["upload"], "log_events": [1, 2]}},
                   {"type": "auth", "auth_options": {"scope": 5}, "args": ["serve", "--x"]}])
        );
        assert_eq!(
            root["command"]["commands"],
            json!([{"path": "/bin/x", "hook": "fs_actions", "timeout": 9}]),
            "an entry without a path is not added"
        );
        assert_eq!(
            root["http"],
            json!({"headers": [{"key": "Authorization", "value": "Bearer t"}]}),
            "a certificate needs its key too"
        );
    }
}
