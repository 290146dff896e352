//! SFTPGo's login and connection hook keys, read from the same file as the
//! actions: `data_provider.pre_login_hook`, `external_auth_hook` (+
//! `external_auth_scope`), `check_password_hook` (+ `check_password_scope`),
//! `post_login_hook` (+ `post_login_scope`); `sftpd.keyboard_interactive_auth_hook`;
//! `common.post_connect_hook`, `post_disconnect_hook`, `startup_hook`,
//! `data_retention_hook` (SFTPGo 2.2 to 2.6).
//!
//! Each key names a program, a URL or a `.wasm` component, as the action
//! hooks do. hookhost adds a list beside each key, named like it with an
//! `s` (`pre_login_hooks`, `external_auth_hooks`, ...), whose entries take
//! the same settings as the actions' `hooks` (name, limits, grants, reuse)
//! but no `execute_on`:
//!
//! ```json
//! {"data_provider": {"pre_login_hook": "",
//!   "pre_login_hooks": [{"hook": "pre_login_groups.wasm", "grants": {"dirs": [...]}}]}}
//! ```
//!
//! A keyboard-interactive exchange has one hook: at most one in all.

use serde::Deserialize;

use super::ConfigError;
use super::command::CommandHook;
use super::hooks::{Context, HookSpec, RawHook, Section, entries, spec};
use crate::event::login::LoginHook;
use crate::event::rule::RuleTrigger;

/// The login keys of `data_provider`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawProviderLogin {
    pre_login_hook: String,
    pre_login_hooks: Vec<RawHook>,
    external_auth_hook: String,
    external_auth_hooks: Vec<RawHook>,
    external_auth_scope: u32,
    check_password_hook: String,
    check_password_hooks: Vec<RawHook>,
    check_password_scope: u32,
    post_login_hook: String,
    post_login_hooks: Vec<RawHook>,
    post_login_scope: u32,
}

/// The connection keys of `common`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawCommonLogin {
    post_connect_hook: String,
    post_connect_hooks: Vec<RawHook>,
    post_disconnect_hook: String,
    post_disconnect_hooks: Vec<RawHook>,
    startup_hook: String,
    startup_hooks: Vec<RawHook>,
    data_retention_hook: String,
    data_retention_hooks: Vec<RawHook>,
    event_manager: RawEventManager,
}

/// `common.event_manager`: SFTPGo's own keys (`enabled_commands`) and
/// hookhost's `hooks`, for the Event Manager triggers legacy hooks never
/// had.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawEventManager {
    hooks: Vec<RawHook>,
}

/// The `sftpd` section's keyboard-interactive key.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawSftpd {
    keyboard_interactive_auth_hook: String,
    keyboard_interactive_auth_hooks: Vec<RawHook>,
}

/// The login and connection hooks, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginHooks {
    /// `pre_login_hook` and `pre_login_hooks`, in order.
    pub pre_login: Vec<HookSpec>,
    /// `external_auth_hook` and `external_auth_hooks`.
    pub external_auth: Vec<HookSpec>,
    /// 0 every method; else bits: 1 password, 2 public key, 4
    /// keyboard-interactive, 8 TLS certificate.
    pub external_auth_scope: u32,
    /// `check_password_hook` and `check_password_hooks`.
    pub check_password: Vec<HookSpec>,
    /// 0 every protocol (HTTP included); else bits: 1 SSH, 2 FTP, 4 WebDAV.
    pub check_password_scope: u32,
    /// `sftpd.keyboard_interactive_auth_hook` (or the one entry of its list).
    pub keyboard_interactive: Option<HookSpec>,
    /// `post_login_hook` and `post_login_hooks`.
    pub post_login: Vec<HookSpec>,
    /// 0 every login, 1 failed ones, 2 successful ones.
    pub post_login_scope: u32,
    /// `common.post_connect_hook` and `post_connect_hooks`.
    pub post_connect: Vec<HookSpec>,
    /// `common.post_disconnect_hook` and `post_disconnect_hooks`.
    pub post_disconnect: Vec<HookSpec>,
    /// `common.startup_hook` and `startup_hooks`.
    pub startup: Vec<HookSpec>,
    /// `common.data_retention_hook` and `data_retention_hooks` (SFTPGo 2.2
    /// to 2.6).
    pub data_retention: Vec<HookSpec>,
    /// `common.event_manager.hooks`: for the Event Manager triggers legacy
    /// hooks never had (IP blocked, certificate renewal, schedule, on
    /// demand, IDP login).
    pub event_rules: Vec<HookSpec>,
    /// The triggers each of `event_rules` runs on (its `execute_on`; all
    /// when absent).
    pub event_rule_triggers: Vec<Vec<RuleTrigger>>,
}

impl LoginHooks {
    /// The hooks of one key, in order.
    pub fn of(&self, hook: LoginHook) -> &[HookSpec] {
        match hook {
            LoginHook::PreLogin => &self.pre_login,
            LoginHook::ExternalAuth => &self.external_auth,
            LoginHook::CheckPassword => &self.check_password,
            LoginHook::KeyboardInteractive => self.keyboard_interactive.as_slice(),
            LoginHook::PostLogin => &self.post_login,
            LoginHook::PostConnect => &self.post_connect,
            LoginHook::PostDisconnect => &self.post_disconnect,
            LoginHook::Startup => &self.startup,
            LoginHook::DataRetention => &self.data_retention,
            LoginHook::EventRule => &self.event_rules,
        }
    }

    /// Every login and connection hook.
    pub fn specs(&self) -> impl Iterator<Item = &HookSpec> {
        LoginHook::ALL.iter().flat_map(|&hook| self.of(hook))
    }

    /// Every hook, mutably (for naming).
    pub(crate) fn specs_mut(&mut self) -> impl Iterator<Item = &mut HookSpec> {
        self.pre_login
            .iter_mut()
            .chain(&mut self.external_auth)
            .chain(&mut self.check_password)
            .chain(&mut self.keyboard_interactive)
            .chain(&mut self.post_login)
            .chain(&mut self.post_connect)
            .chain(&mut self.post_disconnect)
            .chain(&mut self.startup)
            .chain(&mut self.data_retention)
            .chain(&mut self.event_rules)
    }
}

/// The hook's name in `command.commands[].hook` (an Event Manager rule's
/// hooks have none).
fn command_hook(hook: LoginHook) -> Option<CommandHook> {
    (hook != LoginHook::EventRule).then(|| {
        hook.as_str()
            .parse()
            .expect("every other login hook is a command.commands[].hook name")
    })
}

/// The specs of one key: the plain string, then the list.
fn key(
    hook: LoginHook,
    section: &str,
    plain: String,
    list: Vec<RawHook>,
    ctx: &Context<'_>,
) -> Result<Vec<HookSpec>, ConfigError> {
    let name = hook.as_str();
    let (plain_key, list_key) = if hook == LoginHook::KeyboardInteractive {
        (
            format!("{section}.keyboard_interactive_auth_hook"),
            format!("{section}.keyboard_interactive_auth_hooks"),
        )
    } else {
        (
            format!("{section}.{name}_hook"),
            format!("{section}.{name}_hooks"),
        )
    };
    let limits = Section {
        limit: hook.reference_limit(),
        command_hook: command_hook(hook),
        queued: false,
    };
    entries(&plain_key, plain, &list_key, list)
        .into_iter()
        .map(|(field, raw)| {
            if raw.execute_on.is_some() || raw.execute_for.is_some() {
                return Err(ConfigError::field(
                    field,
                    "a login or connection hook runs for every event of its key: no execute_on or execute_for",
                ));
            }
            spec(raw, &field, limits, ctx)
        })
        .collect()
}

/// `common.event_manager.hooks`, each with the triggers it runs on.
fn event_rule_hooks(
    raw: Vec<RawHook>,
    ctx: &Context<'_>,
) -> Result<Vec<(HookSpec, Vec<RuleTrigger>)>, ConfigError> {
    let section = Section {
        limit: LoginHook::EventRule.reference_limit(),
        command_hook: None,
        queued: false,
    };
    raw.into_iter()
        .enumerate()
        .map(|(i, mut raw)| {
            let field = format!("common.event_manager.hooks[{i}]");
            if raw.execute_for.is_some() {
                return Err(ConfigError::field(
                    format!("{field}.execute_for"),
                    "only provider hooks take execute_for",
                ));
            }
            let on = match raw.execute_on.take() {
                Some(names) => super::hooks::parse_names::<RuleTrigger>(
                    &names,
                    &format!("{field}.execute_on"),
                )?,
                None => RuleTrigger::ALL.to_vec(),
            };
            Ok((spec(raw, &field, section, ctx)?, on))
        })
        .collect()
}

fn scope(value: u32, max: u32, field: &str, meaning: &str) -> Result<u32, ConfigError> {
    if value > max {
        return Err(ConfigError::field(
            field,
            format!("{value} is not a scope: {meaning}"),
        ));
    }
    Ok(value)
}

pub(super) fn validate(
    provider: RawProviderLogin,
    common: RawCommonLogin,
    sftpd: RawSftpd,
    ctx: &Context<'_>,
) -> Result<LoginHooks, ConfigError> {
    let dp = "data_provider";
    let rules = event_rule_hooks(common.event_manager.hooks, ctx)?;
    let mut keyboard = key(
        LoginHook::KeyboardInteractive,
        "sftpd",
        sftpd.keyboard_interactive_auth_hook,
        sftpd.keyboard_interactive_auth_hooks,
        ctx,
    )?;
    if keyboard.len() > 1 {
        return Err(ConfigError::field(
            "sftpd.keyboard_interactive_auth_hooks",
            format!(
                "{} keyboard-interactive hooks ({} and {}): an exchange has one hook",
                keyboard.len(),
                keyboard[0].field,
                keyboard[1].field
            ),
        ));
    }
    Ok(LoginHooks {
        pre_login: key(
            LoginHook::PreLogin,
            dp,
            provider.pre_login_hook,
            provider.pre_login_hooks,
            ctx,
        )?,
        external_auth: key(
            LoginHook::ExternalAuth,
            dp,
            provider.external_auth_hook,
            provider.external_auth_hooks,
            ctx,
        )?,
        external_auth_scope: scope(
            provider.external_auth_scope,
            15,
            "data_provider.external_auth_scope",
            "0 for every method, else combine 1 password, 2 public key, 4 keyboard-interactive, 8 TLS certificate",
        )?,
        check_password: key(
            LoginHook::CheckPassword,
            dp,
            provider.check_password_hook,
            provider.check_password_hooks,
            ctx,
        )?,
        check_password_scope: scope(
            provider.check_password_scope,
            7,
            "data_provider.check_password_scope",
            "0 for every protocol, else combine 1 SSH, 2 FTP, 4 WebDAV",
        )?,
        keyboard_interactive: keyboard.pop(),
        post_login: key(
            LoginHook::PostLogin,
            dp,
            provider.post_login_hook,
            provider.post_login_hooks,
            ctx,
        )?,
        post_login_scope: scope(
            provider.post_login_scope,
            2,
            "data_provider.post_login_scope",
            "0 every login, 1 failed ones, 2 successful ones",
        )?,
        post_connect: key(
            LoginHook::PostConnect,
            "common",
            common.post_connect_hook,
            common.post_connect_hooks,
            ctx,
        )?,
        post_disconnect: key(
            LoginHook::PostDisconnect,
            "common",
            common.post_disconnect_hook,
            common.post_disconnect_hooks,
            ctx,
        )?,
        startup: key(
            LoginHook::Startup,
            "common",
            common.startup_hook,
            common.startup_hooks,
            ctx,
        )?,
        data_retention: key(
            LoginHook::DataRetention,
            "common",
            common.data_retention_hook,
            common.data_retention_hooks,
            ctx,
        )?,
        event_rules: rules.iter().map(|(spec, _)| spec.clone()).collect(),
        event_rule_triggers: rules.into_iter().map(|(_, on)| on).collect(),
    })
}
