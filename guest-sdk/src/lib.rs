//! Write [hookhost](https://example.invalid/hookhost) hooks in Rust.
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
#![warn(missing_docs)]

extern crate self as hookhost_guest;

mod event;
pub use event::quote as json_quote;
mod event_file;
pub mod log;

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub use event_file::EventFile;

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
                "hookhost:hooks/types@0.1.0": crate::bindings::shared::hookhost::hooks::types,
                "hookhost:hooks/log@0.1.0": crate::bindings::shared::hookhost::hooks::log,
                "hookhost:hooks/event-file@0.1.0": crate::bindings::shared::hookhost::hooks::event_file,
            },
            pub_export_macro: true,
            export_macro_name: "export_fs_hook",
            default_bindings_module: "hookhost_guest::bindings::fs_hook",
            runtime_path: "hookhost_guest::__wit_bindgen::rt",
        });
    }

    /// The `provider-hook` world.
    pub mod provider_hook {
        wit_bindgen::generate!({
            world: "provider-hook",
            path: "../wit",
            with: {
                "hookhost:hooks/types@0.1.0": crate::bindings::shared::hookhost::hooks::types,
                "hookhost:hooks/log@0.1.0": crate::bindings::shared::hookhost::hooks::log,
            },
            pub_export_macro: true,
            export_macro_name: "export_provider_hook",
            default_bindings_module: "hookhost_guest::bindings::provider_hook",
            runtime_path: "hookhost_guest::__wit_bindgen::rt",
        });
    }
}

pub use bindings::shared::hookhost::hooks::types::{
    FsAction, FsEvent, FsProvider, ObjectType, Protocol, ProviderAction, ProviderEvent, Status,
    Verdict,
};

/// A file-system hook: called once per event on a fresh instance.
///
/// `handle` answers the event: for `pre-upload`/`pre-download`, `Allow`
/// lets it proceed and `Deny(reason)` refuses it; for `pre-delete`,
/// `Handled` means the hook already deleted or moved the file. For other
/// actions the answer is only logged (`Deny` counts as a failure).
pub use bindings::fs_hook::exports::hookhost::hooks::fs_handler::Guest as FsHook;

/// A data-provider hook: called once per event (user, folder, admin ...
/// added, updated or deleted). Return `Err(message)` to report a failure.
pub use bindings::provider_hook::exports::hookhost::hooks::provider_handler::Guest as ProviderHook;

/// Export a type implementing [`FsHook`] as the component's `fs-hook` world.
///
/// ```ignore
/// hookhost_guest::export_fs_hook!(MyHook);
/// ```
pub use bindings::fs_hook::export_fs_hook;

/// Export a type implementing [`ProviderHook`] as the component's
/// `provider-hook` world.
pub use bindings::provider_hook::export_provider_hook;
