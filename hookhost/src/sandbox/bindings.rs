//! Host-side bindings for the WIT package in `wit/`. The shared interfaces
//! (types, log, event-file, event-info, outbound) are generated once, in [`shared`]; each world
//! reuses them through `with`, so one Rust type stands for each WIT type.

/// The interfaces every world shares.
pub mod shared {
    wasmtime::component::bindgen!({
        world: "host-imports",
        path: "../wit",
        imports: {
            "hookhost:hooks/event-file": async,
            default: trappable,
        },
    });
}

/// The `fs-hook` world.
pub mod fs_hook {
    wasmtime::component::bindgen!({
        world: "fs-hook",
        path: "../wit",
        with: {
            "hookhost:hooks/types": super::shared::hookhost::hooks::types,
            "hookhost:hooks/log": super::shared::hookhost::hooks::log,
            "hookhost:hooks/outbound": super::shared::hookhost::hooks::outbound,
            "hookhost:hooks/event-file": super::shared::hookhost::hooks::event_file,
            "hookhost:hooks/event-info": super::shared::hookhost::hooks::event_info,
        },
        exports: { default: async },
    });
}

/// The `provider-hook` world.
pub mod provider_hook {
    wasmtime::component::bindgen!({
        world: "provider-hook",
        path: "../wit",
        with: {
            "hookhost:hooks/types": super::shared::hookhost::hooks::types,
            "hookhost:hooks/log": super::shared::hookhost::hooks::log,
            "hookhost:hooks/outbound": super::shared::hookhost::hooks::outbound,
            "hookhost:hooks/event-info": super::shared::hookhost::hooks::event_info,
        },
        exports: { default: async },
    });
}

/// A world that imports `log` (and the shared interfaces named): the shared
/// interfaces reused, its export generated. Plugins and login hooks.
macro_rules! export_world {
    ($module:ident, $world:literal $(, $shared:literal => $path:ident)*) => {
        #[doc = concat!("The `", $world, "` world.")]
        pub mod $module {
            wasmtime::component::bindgen!({
                world: $world,
                path: "../wit",
                with: {
                    "hookhost:hooks/log": super::shared::hookhost::hooks::log,
                    "hookhost:hooks/outbound": super::shared::hookhost::hooks::outbound,
            "hookhost:hooks/outbound": super::shared::hookhost::hooks::outbound,
                    $($shared: super::shared::hookhost::hooks::$path,)*
                },
                exports: { default: async },
            });
        }
    };
}

export_world!(notifier_plugin, "notifier-plugin", "hookhost:hooks/types" => types);
export_world!(kms_plugin, "kms-plugin");
export_world!(auth_plugin, "auth-plugin");
export_world!(eventsearcher_plugin, "eventsearcher-plugin");
export_world!(ipfilter_plugin, "ipfilter-plugin");
export_world!(pre_login_hook, "pre-login-hook");
export_world!(external_auth_hook, "external-auth-hook");
export_world!(check_password_hook, "check-password-hook");
export_world!(keyboard_interactive_hook, "keyboard-interactive-hook");
export_world!(post_login_hook, "post-login-hook");
export_world!(post_connect_hook, "post-connect-hook");
export_world!(post_disconnect_hook, "post-disconnect-hook");
export_world!(startup_hook, "startup-hook");
export_world!(data_retention_hook, "data-retention-hook");
export_world!(event_rule_hook, "event-rule-hook");

pub use shared::hookhost::hooks::types as wit;
