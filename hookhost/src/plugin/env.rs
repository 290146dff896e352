//! Which host environment variables a plugin sees: SFTPGo's `env_prefix` /
//! `env_vars` rules, and nothing else.
//!
//! - `env_prefix: "none"`: no variable by prefix;
//! - `env_prefix: "*"`: every variable of the host process;
//! - `env_prefix: ""`: the prefix derived from the plugin's name (the
//!   component's file stem), upper-cased, `-` turned into `_`, `_` appended:
//!   `sftpgo-plugin-eventsearch.wasm` → `SFTPGO_PLUGIN_EVENTSEARCH_`;
//! - any other value: that prefix.
//!
//! `env_vars` adds the named variables, as SFTPGo does from 2.6.3: `K=V`,
//! or `K=` for one the host does not have.
//!
//! hookhost's own secrets (`HOOKHOST_TOKEN`) are never passed, whatever the
//! rules say.

use std::collections::BTreeMap;
use std::path::Path;

/// The prefix an empty `env_prefix` stands for.
pub fn derived_prefix(cmd: &Path) -> String {
    let stem = cmd
        .file_stem()
        .map(|s| s.to_string_lossy())
        .unwrap_or_default();
    format!("{}_", stem.to_uppercase().replace('-', "_"))
}

/// The variables a plugin gets from `host_env`.
pub fn plugin_env(
    env_prefix: &str,
    env_vars: &[String],
    cmd: &Path,
    host_env: &[(String, String)],
) -> BTreeMap<String, String> {
    let prefix = match env_prefix {
        "none" => None,
        "" => Some(derived_prefix(cmd)),
        other => Some(other.to_owned()),
    };
    let by_prefix = |key: &str| match prefix.as_deref() {
        None => false,
        Some("*") => true,
        Some(prefix) => key.starts_with(prefix),
    };
    let secret = |key: &str| crate::config::HOST_SECRET_VARS.contains(&key);
    let named = env_vars
        .iter()
        .filter(|name| !secret(name))
        .map(|name| (name.clone(), String::new()));
    let mut env: BTreeMap<String, String> = named.collect();
    env.extend(
        host_env
            .iter()
            .filter(|(key, _)| !secret(key))
            .filter(|(key, _)| by_prefix(key) || env_vars.contains(key))
            .cloned()
            .collect::<Vec<_>>(),
    );
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_env() -> Vec<(String, String)> {
        [
            ("SFTPGO_PLUGIN_EVENTSEARCH_DSN", "postgres://"),
            ("SFTPGO_PLUGIN_EVENTSEARCH_LEVEL", "debug"),
            ("MYKMS_KEY", "k"),
            ("HOME", "/root"),
            ("AWS_SECRET_ACCESS_KEY", "leak-me-not"),
            ("HOOKHOST_TOKEN", "never"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    fn keys(env: BTreeMap<String, String>) -> Vec<String> {
        env.into_keys().collect()
    }

    #[test]
    fn empty_prefix_is_derived_from_the_plugin_name() {
        let cmd = Path::new("/opt/plugins/sftpgo-plugin-eventsearch.wasm");
        assert_eq!(derived_prefix(cmd), "SFTPGO_PLUGIN_EVENTSEARCH_");
        assert_eq!(
            keys(plugin_env("", &[], cmd, &host_env())),
            [
                "SFTPGO_PLUGIN_EVENTSEARCH_DSN",
                "SFTPGO_PLUGIN_EVENTSEARCH_LEVEL"
            ]
        );
    }

    #[test]
    fn none_passes_only_env_vars_an_unset_one_empty_as_sftpgo() {
        let cmd = Path::new("p.wasm");
        assert!(plugin_env("none", &[], cmd, &host_env()).is_empty());
        let env = plugin_env("none", &["HOME".into(), "UNSET".into()], cmd, &host_env());
        assert_eq!(
            env.into_iter().collect::<Vec<_>>(),
            [
                ("HOME".to_owned(), "/root".to_owned()),
                ("UNSET".to_owned(), String::new())
            ]
        );
    }

    #[test]
    fn star_passes_everything_and_explicit_prefix_selects() {
        let cmd = Path::new("p.wasm");
        assert_eq!(plugin_env("*", &[], cmd, &host_env()).len(), 5);
        assert!(
            plugin_env("HOOKHOST_", &["HOOKHOST_TOKEN".into()], cmd, &host_env()).is_empty(),
            "hookhost's token never reaches a plugin"
        );
        assert_eq!(
            keys(plugin_env("MYKMS_", &[], cmd, &host_env())),
            ["MYKMS_KEY"]
        );
    }
}
