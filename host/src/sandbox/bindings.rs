//! Host-side bindings for the WIT package in `wit/`. The shared interfaces
//! (types, log, event-file) are generated once, in [`shared`]; each world
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
            "hookhost:hooks/event-file": super::shared::hookhost::hooks::event_file,
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
        },
        exports: { default: async },
    });
}

/// A plugin world: the shared interfaces it uses reused, its export
/// generated.
macro_rules! plugin_world {
    ($module:ident, $world:literal $(, $shared:literal => $path:ident)*) => {
        #[doc = concat!("The `", $world, "` world.")]
        pub mod $module {
            wasmtime::component::bindgen!({
                world: $world,
                path: "../wit",
                with: {
                    "hookhost:hooks/log": super::shared::hookhost::hooks::log,
                    $($shared: super::shared::hookhost::hooks::$path,)*
                },
                exports: { default: async },
            });
        }
    };
}

plugin_world!(notifier_plugin, "notifier-plugin", "hookhost:hooks/types" => types);
plugin_world!(kms_plugin, "kms-plugin");
plugin_world!(auth_plugin, "auth-plugin");
plugin_world!(eventsearcher_plugin, "eventsearcher-plugin");
plugin_world!(ipfilter_plugin, "ipfilter-plugin");

pub use shared::hookhost::hooks::types as wit;
