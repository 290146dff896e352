//! Write hookhost hooks and plugins in Rust (the repository's README says
//! how to build and try them).
//!
//! A hook is a type implementing one trait, exported with one macro, built
//! with `cargo build --release --target wasm32-wasip2` (the output `.wasm`
//! is already a component):
//!
//! ```ignore
//! use hookhost_guest::{FsEvent, FsHook, Verdict};
//!
//! struct DenyExe;
//!
//! impl FsHook for DenyExe {
//!     fn handle(event: FsEvent) -> Verdict {
//!         match event.extension().as_deref() {
//!             Some("exe") => Verdict::Deny("executables are not allowed".into()),
//!             _ => Verdict::Allow,
//!         }
//!     }
//! }
//!
//! hookhost_guest::export_fs_hook!(DenyExe);
//! ```
//!
//! with, in `Cargo.toml`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! hookhost-guest = { path = "../guest-sdk" }
//! ```
//!
//! and in the host's configuration:
//!
//! ```json
//! {"common": {"actions": {"hooks": [
//!   {"hook": "deny_exe.wasm", "execute_on": ["pre-upload"]}]}}}
//! ```
//!
//! What a hook can do is what its configuration grants: by default nothing
//! beyond computing on the event and logging through [`log`]. Grants add
//! preopened directories (`std::fs` then works under their guest paths),
//! environment variables and arguments (`std::env`), and read-only access to
//! the event's file through [`EventFile`].
//!
//! Worlds and their macros:
//!
//! | world | trait | macro |
//! |---|---|---|
//! | `fs-hook` | [`FsHook`] | [`export_fs_hook!`] |
//! | `provider-hook` | [`ProviderHook`] | [`export_provider_hook!`] |
//! | `notifier-plugin` | [`Notifier`] | [`export_notifier!`] |
//! | `kms-plugin` | [`kms::Kms`] | [`export_kms!`] |
//! | `auth-plugin` | [`auth::Auth`] | [`export_auth!`] |
//! | `eventsearcher-plugin` | [`search::EventSearcher`] | [`export_eventsearcher!`] |
//! | `ipfilter-plugin` | [`ipfilter::IpFilter`] | [`export_ipfilter!`] |
//! | `pre-login-hook` | [`login::PreLogin`] | [`export_pre_login_hook!`] |
//! | `external-auth-hook` | [`login::ExternalAuth`] | [`export_external_auth_hook!`] |
//! | `check-password-hook` | [`login::CheckPassword`] | [`export_check_password_hook!`] |
//! | `keyboard-interactive-hook` | [`login::KeyboardInteractive`] | [`export_keyboard_interactive_hook!`] |
//! | `post-login-hook` | [`login::PostLogin`] | [`export_post_login_hook!`] |
//! | `post-connect-hook` | [`login::PostConnect`] | [`export_post_connect_hook!`] |
//! | `post-disconnect-hook` | [`login::PostDisconnect`] | [`export_post_disconnect_hook!`] |
//! | `startup-hook` | [`login::Startup`] | [`export_startup_hook!`] |
//! | `data-retention-hook` | [`login::DataRetention`] | [`export_data_retention_hook!`] |
//! | `event-rule-hook` | [`rules::EventRule`] | [`export_event_rule_hook!`] |
//!
//! Hooks get a fresh instance per event (a keyboard-interactive hook: one
//! per login, kept across its rounds); plugins keep one instance (and
//! whatever state they hold) across calls, until a trap or a limit hit makes
//! the host rebuild it.
#![warn(missing_docs)]

extern crate self as hookhost_guest;

mod event;
pub use event::quote as json_quote;
mod event_file;
#[cfg(feature = "http")]
pub mod http;
pub mod log;

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// The JSON library the SDK uses for SFTPGo's user objects.
pub use serde_json;

pub use event_file::EventFile;

/// The id of the asynchronous event being handled (file-system and provider
/// hooks): made when hookhost accepted the event, the same on every
/// delivery of it — a replay after a crash, a redelivery on another node —
/// so a hook that must not act twice can de-duplicate on it (delivery is
/// at least once). `None` for a synchronous call (`pre-*`,
/// `execute_sync`), which is never repeated.
pub fn event_id() -> Option<String> {
    bindings::shared::hookhost::hooks::event_info::id()
}

/// Why this call's last outbound HTTP request or TCP connect failed, in
/// the host's words (what it was, then what refused or broke it: a grant, a
/// limit, the network). `None` when nothing failed in this call so far.
/// The SDK's `http` client (feature `http`) puts it in its errors.
pub fn last_outbound_error() -> Option<String> {
    bindings::shared::hookhost::hooks::outbound::last_error()
}

/// Generated bindings. Use the re-exports at the crate root instead.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    /// The interfaces every world shares.
    pub mod shared {
        wit_bindgen::generate!({
            world: "host-imports",
            path: "../wit",
            runtime_path: "hookhost_guest::__wit_bindgen::rt",
            generate_unused_types: true,
        });
    }

    /// The `fs-hook` world.
    pub mod fs_hook {
        wit_bindgen::generate!({
            world: "fs-hook",
            path: "../wit",
            with: {
                "hookhost:hooks/types@0.2.0": crate::bindings::shared::hookhost::hooks::types,
                "hookhost:hooks/log@0.2.0": crate::bindings::shared::hookhost::hooks::log,
                "hookhost:hooks/outbound@0.2.0": crate::bindings::shared::hookhost::hooks::outbound,
                "hookhost:hooks/event-file@0.2.0": crate::bindings::shared::hookhost::hooks::event_file,
                "hookhost:hooks/event-info@0.2.0": crate::bindings::shared::hookhost::hooks::event_info,
            },
            pub_export_macro: true,
            export_macro_name: "export_fs_hook",
            default_bindings_module: "hookhost_guest::bindings::fs_hook",
            runtime_path: "hookhost_guest::__wit_bindgen::rt",
        });
    }

    /// A plugin world: the shared interfaces it uses reused, its export
    /// macro public.
    macro_rules! plugin_world {
        ($module:ident, $world:literal, $export:literal, $default:literal $(, $shared:literal => $path:ident)*) => {
            #[doc = concat!("The `", $world, "` world.")]
            pub mod $module {
                wit_bindgen::generate!({
                    world: $world,
                    path: "../wit",
                    with: {
                        "hookhost:hooks/log@0.2.0": crate::bindings::shared::hookhost::hooks::log,
                        "hookhost:hooks/outbound@0.2.0": crate::bindings::shared::hookhost::hooks::outbound,
                "hookhost:hooks/outbound@0.2.0": crate::bindings::shared::hookhost::hooks::outbound,
                        $($shared: crate::bindings::shared::hookhost::hooks::$path,)*
                    },
                    pub_export_macro: true,
                    export_macro_name: $export,
                    default_bindings_module: $default,
                    runtime_path: "hookhost_guest::__wit_bindgen::rt",
                });
            }
        };
    }

    plugin_world!(
        notifier_plugin,
        "notifier-plugin",
        "export_notifier",
        "hookhost_guest::bindings::notifier_plugin",
        "hookhost:hooks/types@0.2.0" => types
    );
    plugin_world!(
        kms_plugin,
        "kms-plugin",
        "export_kms",
        "hookhost_guest::bindings::kms_plugin"
    );
    plugin_world!(
        auth_plugin,
        "auth-plugin",
        "export_auth",
        "hookhost_guest::bindings::auth_plugin"
    );
    plugin_world!(
        eventsearcher_plugin,
        "eventsearcher-plugin",
        "export_eventsearcher",
        "hookhost_guest::bindings::eventsearcher_plugin"
    );
    plugin_world!(
        ipfilter_plugin,
        "ipfilter-plugin",
        "export_ipfilter",
        "hookhost_guest::bindings::ipfilter_plugin"
    );

    plugin_world!(
        pre_login_hook,
        "pre-login-hook",
        "export_pre_login_hook",
        "hookhost_guest::bindings::pre_login_hook",
        "hookhost:hooks/login-types@0.2.0" => login_types
    );
    plugin_world!(
        external_auth_hook,
        "external-auth-hook",
        "export_external_auth_hook",
        "hookhost_guest::bindings::external_auth_hook"
    );
    plugin_world!(
        check_password_hook,
        "check-password-hook",
        "export_check_password_hook",
        "hookhost_guest::bindings::check_password_hook"
    );
    plugin_world!(
        keyboard_interactive_hook,
        "keyboard-interactive-hook",
        "export_keyboard_interactive_hook",
        "hookhost_guest::bindings::keyboard_interactive_hook"
    );
    plugin_world!(
        post_login_hook,
        "post-login-hook",
        "export_post_login_hook",
        "hookhost_guest::bindings::post_login_hook",
        "hookhost:hooks/login-types@0.2.0" => login_types
    );
    plugin_world!(
        post_connect_hook,
        "post-connect-hook",
        "export_post_connect_hook",
        "hookhost_guest::bindings::post_connect_hook"
    );
    plugin_world!(
        post_disconnect_hook,
        "post-disconnect-hook",
        "export_post_disconnect_hook",
        "hookhost_guest::bindings::post_disconnect_hook"
    );
    plugin_world!(
        startup_hook,
        "startup-hook",
        "export_startup_hook",
        "hookhost_guest::bindings::startup_hook"
    );
    plugin_world!(
        data_retention_hook,
        "data-retention-hook",
        "export_data_retention_hook",
        "hookhost_guest::bindings::data_retention_hook"
    );
    plugin_world!(
        event_rule_hook,
        "event-rule-hook",
        "export_event_rule_hook",
        "hookhost_guest::bindings::event_rule_hook"
    );

    /// The `hook-init` world: a hook's optional `init` export.
    pub mod hook_init {
        wit_bindgen::generate!({
            world: "hook-init",
            path: "../wit",
            pub_export_macro: true,
            export_macro_name: "export_init",
            default_bindings_module: "hookhost_guest::bindings::hook_init",
            runtime_path: "hookhost_guest::__wit_bindgen::rt",
        });
    }

    /// The `provider-hook` world.
    pub mod provider_hook {
        wit_bindgen::generate!({
            world: "provider-hook",
            path: "../wit",
            with: {
                "hookhost:hooks/types@0.2.0": crate::bindings::shared::hookhost::hooks::types,
                "hookhost:hooks/log@0.2.0": crate::bindings::shared::hookhost::hooks::log,
                "hookhost:hooks/outbound@0.2.0": crate::bindings::shared::hookhost::hooks::outbound,
                "hookhost:hooks/event-info@0.2.0": crate::bindings::shared::hookhost::hooks::event_info,
            },
            pub_export_macro: true,
            export_macro_name: "export_provider_hook",
            default_bindings_module: "hookhost_guest::bindings::provider_hook",
            runtime_path: "hookhost_guest::__wit_bindgen::rt",
        });
    }
}

pub use bindings::shared::hookhost::hooks::types::{
    FsAction, FsEvent, FsProvider, LogEvent, LogEventKind, ObjectType, Protocol, ProviderAction,
    ProviderEvent, Status, Verdict,
};

/// A file-system hook: called once per event on a fresh instance.
///
/// `handle` answers the event: for `pre-upload`/`pre-download`, `Allow`
/// lets it proceed and `Deny(reason)` refuses it; for `pre-delete`,
/// `Handled` means the hook already deleted or moved the file. For other
/// actions the answer is only logged (`Deny` counts as a failure). What
/// each field holds for each action: docs/writing-hooks.md.
///
/// ```ignore
/// use hookhost_guest::{FsAction, FsEvent, FsHook, Verdict};
///
/// struct SizeGuard; // on `upload` with execute_sync: see `hookhost new fs-hook`
///
/// impl FsHook for SizeGuard {
///     fn handle(event: FsEvent) -> Verdict {
///         match event.action {
///             FsAction::Upload if event.file_size > 10 << 20 => Verdict::Deny("too big".into()),
///             _ => Verdict::Allow,
///         }
///     }
/// }
/// hookhost_guest::export_fs_hook!(SizeGuard);
/// ```
pub use bindings::fs_hook::exports::hookhost::hooks::fs_handler::Guest as FsHook;

/// A data-provider hook: called once per event (user, folder, admin ...
/// added, updated or deleted). Return `Err(message)` to report a failure.
///
/// ```ignore
/// use hookhost_guest::{ProviderEvent, ProviderHook, log};
///
/// struct Changes;
///
/// impl ProviderHook for Changes {
///     fn handle(event: ProviderEvent) -> Result<(), String> {
///         log::info("changed", &[("object", &event.object_name), ("action", event.action.as_str())]);
///         Ok(())
///     }
/// }
/// hookhost_guest::export_provider_hook!(Changes);
/// ```
pub use bindings::provider_hook::exports::hookhost::hooks::provider_handler::Guest as ProviderHook;

/// Start-up work a hook can have done before its event, off the event's
/// path: reading its arguments, environment or granted files, building a
/// table. Export it with [`export_init!`] next to the hook's own macro.
///
/// The host calls `init` when it makes a fresh instance ahead of its event
/// (a spare, between events; `hookhost.wasm.spares`), so that work is not
/// on the event's path. An instance made on the event's path (no spare
/// ready, spares off, `reuse`) is not initialised first. So `init` runs at
/// most once per instance and always before its event, never sees an
/// event, and the hook must answer the same whether it ran or not: do the
/// work in a `std::sync::OnceLock` that both `init` and `handle` use.
/// A trap in `init` discards the instance, and the host makes no more
/// spares for the hook.
///
/// ```ignore
/// use std::sync::OnceLock;
/// use hookhost_guest::{FsEvent, FsHook, Init, Verdict};
///
/// fn refused() -> &'static [String] {
///     static LIST: OnceLock<Vec<String>> = OnceLock::new();
///     LIST.get_or_init(|| std::env::args().skip(1).collect())
/// }
///
/// struct DenyExe;
///
/// impl Init for DenyExe {
///     fn init() {
///         refused();
///     }
/// }
///
/// impl FsHook for DenyExe {
///     fn handle(event: FsEvent) -> Verdict {
///         match event.extension() {
///             Some(ext) if refused().contains(&ext) => Verdict::Deny("refused".into()),
///             _ => Verdict::Allow,
///         }
///     }
/// }
///
/// hookhost_guest::export_fs_hook!(DenyExe);
/// hookhost_guest::export_init!(DenyExe);
/// ```
pub use bindings::hook_init::exports::hookhost::hooks::init::Guest as Init;

/// Export a type implementing [`Init`] as the component's optional `init`.
pub use bindings::hook_init::export_init;

/// Export a type implementing [`FsHook`] as the component's `fs-hook` world.
///
/// ```ignore
/// hookhost_guest::export_fs_hook!(MyHook);
/// ```
pub use bindings::fs_hook::export_fs_hook;

/// Export a type implementing [`ProviderHook`] as the component's
/// `provider-hook` world.
pub use bindings::provider_hook::export_provider_hook;

/// Export a [`Notifier`] as the component's `notifier-plugin` world.
pub use bindings::notifier_plugin::export_notifier;
/// A notifier plugin: one long-lived instance receives the events its
/// `notifier_options` select. Return `Err` to have the host queue the event
/// and retry it later.
///
/// ```ignore
/// use hookhost_guest::{FsEvent, LogEvent, Notifier, ProviderEvent};
///
/// struct Forward;
///
/// impl Notifier for Forward {
///     fn notify_fs_event(event: FsEvent) -> Result<(), String> {
///         std::fs::write(format!("/spool/{}", event.timestamp.unwrap_or(0)), event.to_json())
///             .map_err(|e| e.to_string()) // an error: queued and retried
///     }
///     fn notify_provider_event(_: ProviderEvent) -> Result<(), String> { Ok(()) }
///     fn notify_log_event(_: LogEvent) -> Result<(), String> { Ok(()) }
/// }
/// hookhost_guest::export_notifier!(Forward);
/// ```
pub use bindings::notifier_plugin::exports::hookhost::hooks::notifier::Guest as Notifier;

/// KMS plugins: [`kms::Kms`] and [`export_kms!`]. A compiled skeleton:
/// `hookhost new kms-plugin NAME`; a complete one: `examples/kms-aesgcm`.
///
/// ```ignore
/// use hookhost_guest::kms::{Encrypted, Kms, Secret};
///
/// struct Vault;
///
/// impl Kms for Vault {
///     fn encrypt(secret: Secret, _url: String, _master_key: String) -> Result<Encrypted, String> {
///         Ok(Encrypted { payload: secret.payload.chars().rev().collect(), key: String::new(), mode: 0 })
///     }
///     fn decrypt(secret: Secret, _url: String, _master_key: String) -> Result<String, String> {
///         Ok(secret.payload.chars().rev().collect())
///     }
/// }
/// hookhost_guest::export_kms!(Vault);
/// ```
pub mod kms {
    pub use crate::bindings::kms_plugin::exports::hookhost::hooks::kms::{
        Encrypted, Guest as Kms, Secret,
    };
}
/// Export a [`kms::Kms`] as the component's `kms-plugin` world.
pub use bindings::kms_plugin::export_kms;

/// Auth plugins: [`auth::Auth`] and [`export_auth!`]. Each check answers
/// `Ok(Some(user JSON))` (log this user in), `Ok(None)` (the stored user,
/// unchanged) or `Err(reason)` (refused). A compiled skeleton: `hookhost
/// new auth-plugin NAME`; a complete one: `examples/auth-file`.
pub mod auth {
    pub use crate::bindings::auth_plugin::exports::hookhost::hooks::auth::{
        CheckPasswordResult, Guest as Auth, KeyboardRequest, KeyboardResponse,
    };
}
/// Export an [`auth::Auth`] as the component's `auth-plugin` world.
pub use bindings::auth_plugin::export_auth;

/// Event-search plugins: [`search::EventSearcher`] and [`export_eventsearcher!`].
/// Each search answers the matching events as the JSON array SFTPGo's REST
/// API returns. A compiled skeleton: `hookhost new eventsearcher-plugin
/// NAME`; a complete one: `examples/eventsearcher-jsonl`.
pub mod search {
    pub use crate::bindings::eventsearcher_plugin::exports::hookhost::hooks::eventsearcher::{
        CommonSearch, FsEventSearch, Guest as EventSearcher, LogEventSearch, Order,
        ProviderEventSearch, SearchResult,
    };
}
/// Export a [`search::EventSearcher`] as the component's `eventsearcher-plugin` world.
pub use bindings::eventsearcher_plugin::export_eventsearcher;

/// IP-filter plugins: [`ipfilter::IpFilter`] and [`export_ipfilter!`].
///
/// ```ignore
/// use hookhost_guest::ipfilter::IpFilter;
///
/// struct Lan;
///
/// impl IpFilter for Lan {
///     fn check_ip(ip: String, _protocol: String) -> Result<(), String> {
///         if ip.starts_with("10.") { Ok(()) } else { Err(format!("{ip} is outside the LAN")) }
///     }
///     fn reload() -> Result<(), String> { Ok(()) }
/// }
/// hookhost_guest::export_ipfilter!(Lan);
/// ```
pub mod ipfilter {
    pub use crate::bindings::ipfilter_plugin::exports::hookhost::hooks::ipfilter::Guest as IpFilter;
}
/// Export an [`ipfilter::IpFilter`] as the component's `ipfilter-plugin` world.
pub use bindings::ipfilter_plugin::export_ipfilter;

/// Login and connection hooks: one trait per SFTPGo hook key, each
/// exported with its macro ([`export_pre_login_hook!`], ...). Users come and
/// go as SFTPGo's user JSON; [`login::user_field`] reads a field of one. A
/// compiled skeleton of each: `hookhost new pre-login-hook NAME` (and
/// `external-auth-hook`, `check-password-hook`,
/// `keyboard-interactive-hook`, `post-login-hook`, `post-connect-hook`,
/// `post-disconnect-hook`, `startup-hook`); complete ones:
/// `examples/pre-login-groups`, `examples/kbd-code`, `examples/login-audit`.
///
/// ```ignore
/// use hookhost_guest::login::{Login, PreLogin, PreLoginAnswer, user_field};
///
/// struct JustInTime;
///
/// impl PreLogin for JustInTime {
///     fn pre_login(login: Login, user: String) -> PreLoginAnswer {
///         let known = user_field(&user, "id").and_then(|id| id.as_i64()).unwrap_or(0) != 0;
///         if known {
///             return PreLoginAnswer::NoChange;
///         }
///         PreLoginAnswer::Replace(format!(
///             r#"{{"username":{},"status":1,"home_dir":"/srv/{}","permissions":{{"/":["*"]}}}}"#,
///             hookhost_guest::json_quote(&login.username),
///             login.username
///         ))
///     }
/// }
/// hookhost_guest::export_pre_login_hook!(JustInTime);
/// ```
pub mod login {
    pub use crate::bindings::check_password_hook::exports::hookhost::hooks::check_password::{
        Guest as CheckPassword, PasswordCheck,
    };
    pub use crate::bindings::external_auth_hook::exports::hookhost::hooks::external_auth::{
        AuthAnswer, Credentials, Guest as ExternalAuth,
    };
    pub use crate::bindings::keyboard_interactive_hook::exports::hookhost::hooks::keyboard_interactive::{
        Challenge, Guest as KeyboardInteractive, Round, RoundAnswer,
    };
    pub use crate::bindings::post_connect_hook::exports::hookhost::hooks::post_connect::Guest as PostConnect;
    pub use crate::bindings::post_disconnect_hook::exports::hookhost::hooks::post_disconnect::Guest as PostDisconnect;
    pub use crate::bindings::post_login_hook::exports::hookhost::hooks::post_login::Guest as PostLogin;
    pub use crate::bindings::pre_login_hook::exports::hookhost::hooks::pre_login::{
        Guest as PreLogin, PreLoginAnswer,
    };
    pub use crate::bindings::shared::hookhost::hooks::login_types::Login;
    pub use crate::bindings::startup_hook::exports::hookhost::hooks::startup::Guest as Startup;
    pub use crate::bindings::data_retention_hook::exports::hookhost::hooks::data_retention::Guest as DataRetention;

    /// A field of a user JSON (`username`, `home_dir`, `filters`, ...):
    /// `None` when absent or when `user` is not a JSON object.
    pub fn user_field(user: &str, field: &str) -> Option<serde_json::Value> {
        match serde_json::from_str::<serde_json::Value>(user) {
            Ok(serde_json::Value::Object(mut map)) => map.remove(field),
            _ => None,
        }
    }
}

/// Export a [`login::CheckPassword`] as the component's `check-password-hook` world.
pub use bindings::check_password_hook::export_check_password_hook;
/// Export a [`login::ExternalAuth`] as the component's `external-auth-hook` world.
pub use bindings::external_auth_hook::export_external_auth_hook;
/// Export a [`login::KeyboardInteractive`] as the component's
/// `keyboard-interactive-hook` world.
pub use bindings::keyboard_interactive_hook::export_keyboard_interactive_hook;
/// Export a [`login::PostConnect`] as the component's `post-connect-hook` world.
pub use bindings::post_connect_hook::export_post_connect_hook;
/// Export a [`login::PostDisconnect`] as the component's `post-disconnect-hook` world.
pub use bindings::post_disconnect_hook::export_post_disconnect_hook;
/// Export a [`login::PostLogin`] as the component's `post-login-hook` world.
pub use bindings::post_login_hook::export_post_login_hook;
/// Export a [`login::PreLogin`] as the component's `pre-login-hook` world.
pub use bindings::pre_login_hook::export_pre_login_hook;
/// Export a [`login::Startup`] as the component's `startup-hook` world.
pub use bindings::startup_hook::export_startup_hook;
/// Export a [`login::DataRetention`] as the component's
/// `data-retention-hook` world (SFTPGo 2.2 to 2.6).
pub use bindings::data_retention_hook::export_data_retention_hook;

/// Hooks for SFTPGo's Event Manager triggers legacy hooks never had (IP
/// blocked, certificate renewal, schedule, on demand, IDP login): the
/// `event-rule-hook` world. A rule's file-system and provider events reach
/// [`FsHook`]s and [`ProviderHook`]s instead.
///
/// ```ignore
/// use hookhost_guest::rules::{EventRule, RuleEvent};
///
/// struct Audit;
///
/// impl EventRule for Audit {
///     fn handle(event: RuleEvent, timestamp: i64) -> Result<(), String> {
///         if let RuleEvent::IpBlocked(ip) = event {
///             hookhost_guest::log::info("blocked", &[("ip", &ip)]);
///         }
///         Ok(())
///     }
/// }
/// hookhost_guest::export_event_rule_hook!(Audit);
/// ```
pub mod rules {
    pub use crate::bindings::event_rule_hook::exports::hookhost::hooks::event_rule::{
        CertificateRenewal, Guest as EventRule, IdpAccount, IdpLogin, RuleEvent,
    };
}

/// Export a [`rules::EventRule`] as the component's `event-rule-hook` world.
pub use bindings::event_rule_hook::export_event_rule_hook;
