//! SFTPGo's `command` section: what SFTPGo (2.3 and later) gives the
//! programs it runs as hooks.
//!
//! ```json
//! {"command": {"timeout": 30, "env": ["LANG=C"],
//!   "commands": [{"path": "/usr/local/bin/audit", "timeout": 10,
//!                 "env": ["AUDIT_DIR=/var/audit"], "args": ["--json"], "hook": "fs_actions"}]}}
//! ```
//!
//! `timeout` is 1–300 s (default 30); an entry's `timeout` 0 inherits it.
//! `env` entries are `KEY=VALUE`. An entry applies to the program whose
//! configured path is the **same string** as its `path`, and, when its
//! `hook` is set, only to that hook; the first matching entry wins.
//! Validated as SFTPGo validates it at start.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::event::named_enum;

named_enum! {
    /// SFTPGo's names for its hooks in `command.commands[].hook`.
    CommandHook, "hook name" {
        FsActions = "fs_actions",
        ProviderActions = "provider_actions",
        Startup = "startup",
        PostConnect = "post_connect",
        PostDisconnect = "post_disconnect",
        DataRetention = "data_retention",
        CheckPassword = "check_password",
        PreLogin = "pre_login",
        PostLogin = "post_login",
        ExternalAuth = "external_auth",
        KeyboardInteractive = "keyboard_interactive",
    }
}

/// SFTPGo's default program timeout.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// SFTPGo's bounds for program timeouts, in seconds.
const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=300;

#[derive(Deserialize)]
#[serde(default)]
pub(super) struct RawCommandConfig {
    timeout: u64,
    env: Vec<String>,
    commands: Vec<RawCommand>,
}

impl Default for RawCommandConfig {
    fn default() -> Self {
        RawCommandConfig {
            timeout: DEFAULT_COMMAND_TIMEOUT.as_secs(),
            env: Vec::new(),
            commands: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct RawCommand {
    #[serde(default)]
    path: String,
    #[serde(default)]
    timeout: u64,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    hook: String,
}

/// One `command.commands[]` entry, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandEntry {
    /// The program path, compared as a string with the hook's.
    pub path: String,
    /// Its timeout (the global one when the entry gave 0).
    pub timeout: Duration,
    /// Variables added after the global ones.
    pub env: Vec<(String, String)>,
    /// The program's argv (after `argv[0]`).
    pub args: Vec<String>,
    /// The hook it is limited to, if any.
    pub hook: Option<CommandHook>,
}

/// The `command` section, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandConfig {
    /// Timeout of every program without an entry of its own.
    pub timeout: Duration,
    /// Variables every program gets.
    pub env: Vec<(String, String)>,
    /// Per-program settings.
    pub commands: Vec<CommandEntry>,
}

impl Default for CommandConfig {
    fn default() -> Self {
        CommandConfig {
            timeout: DEFAULT_COMMAND_TIMEOUT,
            env: Vec::new(),
            commands: Vec::new(),
        }
    }
}

/// What one program gets from the `command` section as one hook.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgramCommand {
    /// Its time limit.
    pub timeout: Duration,
    /// `command.env`, then its entry's `env`.
    pub env: Vec<(String, String)>,
    /// Its entry's `args`.
    pub args: Vec<String>,
}

impl CommandConfig {
    /// SFTPGo's `command.GetConfig(path, hook)`.
    pub fn for_program(&self, path: &str, hook: Option<CommandHook>) -> ProgramCommand {
        let mut program = ProgramCommand {
            timeout: self.timeout,
            env: self.env.clone(),
            args: Vec::new(),
        };
        if let Some(entry) = self
            .commands
            .iter()
            .find(|c| c.path == path && c.hook.is_none_or(|h| Some(h) == hook))
        {
            program.timeout = entry.timeout;
            program.env.extend(entry.env.iter().cloned());
            program.args = entry.args.clone();
        }
        program
    }
}

fn timeout(seconds: u64, field: &str) -> Result<Duration, ConfigError> {
    if TIMEOUT_RANGE.contains(&seconds) {
        Ok(Duration::from_secs(seconds))
    } else {
        Err(ConfigError::field(
            field,
            format!("{seconds} is not a timeout SFTPGo accepts (1 to 300 seconds)"),
        ))
    }
}

fn env(entries: &[String], field: &str) -> Result<Vec<(String, String)>, ConfigError> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            entry
                .split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    ConfigError::field(
                        format!("{field}[{i}]"),
                        format!("{entry:?} is not of the form KEY=VALUE"),
                    )
                })
        })
        .collect()
}

pub(super) fn validate(
    raw: RawCommandConfig,
    versions: crate::event::VersionSetting,
) -> Result<CommandConfig, ConfigError> {
    let global = timeout(raw.timeout, "command.timeout")?;
    let mut commands = Vec::with_capacity(raw.commands.len());
    for (i, cmd) in raw.commands.into_iter().enumerate() {
        let field = format!("command.commands[{i}]");
        if cmd.path.is_empty() {
            return Err(ConfigError::field(format!("{field}.path"), "missing"));
        }
        let hook = match cmd.hook.as_str() {
            "" => None,
            name => Some(
                name.parse::<CommandHook>()
                    .map_err(|e| ConfigError::field(format!("{field}.hook"), e.to_string()))?,
            ),
        };
        if let (Some(CommandHook::DataRetention), crate::event::VersionSetting::Pinned(version)) =
            (hook, versions)
            && crate::event::Contract::of(version)
                .has(crate::event::Change::DataRetentionHookRemoved)
        {
            return Err(ConfigError::field(
                format!("{field}.hook"),
                format!(
                    "SFTPGo {version} refuses \"data_retention\" at start: its data retention hook is gone since 2.7.0 (an Event Manager rule replaces it)"
                ),
            ));
        }
        commands.push(CommandEntry {
            timeout: match cmd.timeout {
                0 => global,
                seconds => timeout(seconds, &format!("{field}.timeout"))?,
            },
            env: env(&cmd.env, &format!("{field}.env"))?,
            args: cmd.args,
            hook,
            path: cmd.path,
        });
    }
    Ok(CommandConfig {
        timeout: global,
        env: env(&raw.env, "command.env")?,
        commands,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> Result<CommandConfig, ConfigError> {
        validate(
            serde_json::from_value(json).unwrap(),
            crate::event::VersionSetting::Auto,
        )
    }

    #[test]
    fn the_first_entry_for_the_path_and_hook_wins() {
        let c = config(
            serde_json::json!({"timeout": 20, "env": ["A=1"], "commands": [
                {"path": "/bin/h", "hook": "provider_actions", "timeout": 5, "args": ["p"]},
                {"path": "/bin/h", "env": ["B=2=3"], "args": ["any"]},
            ]}),
        )
        .unwrap();
        let fs = c.for_program("/bin/h", Some(CommandHook::FsActions));
        assert_eq!(fs.timeout, Duration::from_secs(20));
        assert_eq!(fs.args, ["any"]);
        assert_eq!(
            fs.env,
            [("A".into(), "1".into()), ("B".into(), "2=3".into())]
        );
        let provider = c.for_program("/bin/h", Some(CommandHook::ProviderActions));
        assert_eq!(
            (provider.timeout, provider.args),
            (Duration::from_secs(5), vec!["p".to_owned()])
        );
        let other = c.for_program("/bin/other", Some(CommandHook::FsActions));
        assert!(other.args.is_empty() && other.env.len() == 1);
    }

    #[test]
    fn bad_values_are_refused_like_sftpgo_does() {
        let err = |json| config(json).unwrap_err().to_string();
        assert!(err(serde_json::json!({"timeout": 0})).contains("command.timeout"));
        assert!(err(serde_json::json!({"timeout": 301})).contains("1 to 300"));
        assert!(
            err(serde_json::json!({"env": ["NOEQUALS"]})).starts_with("command.env[0]"),
            "{}",
            err(serde_json::json!({"env": ["NOEQUALS"]}))
        );
        assert!(
            err(serde_json::json!({"commands": [{"path": "/x", "hook": "fs"}]}))
                .starts_with("command.commands[0].hook")
        );
        assert!(err(serde_json::json!({"commands": [{"timeout": 3}]})).contains("path"));
    }
}
