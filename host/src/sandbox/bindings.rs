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

pub use shared::hookhost::hooks::types as wit;
