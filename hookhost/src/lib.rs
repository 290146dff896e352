//! hookhost runs the hooks a file-transfer server fires: SFTPGo-style
//! "custom actions" (programs and HTTP POSTs, called exactly as the SFTPGo
//! release in front would call them) and WebAssembly components run
//! in-process under hard limits, plus SFTPGo's plugins (notifier, kms,
//! auth, eventsearcher, ipfilter) as components.
//!
//! The data path is `event → dispatch → hook → outcome`:
//!
//! - [`event`]: the event model and its SFTPGo encodings (JSON body, argv,
//!   environment), per SFTPGo release ([`event::version`]);
//! - [`Host::dispatch`]: which hooks run, synchronously or not, and what
//!   their answers mean ([`Decision`], told to a server as a [`Reply`]);
//! - [`hook`]: the hook kinds behind one [`hook::Hook`] trait, which an
//!   embedder may implement too ([`HostBuilder::fs_hook`]);
//! - [`plugin`]: the plugins, called through [`Host::plugins`];
//! - [`config`]: SFTPGo's JSON configuration plus hookhost's extensions;
//! - [`serve`]: the HTTP front, as a whole server or an axum router to nest.
//!
//! ```no_run
//! use hookhost::event::{FsAction, FsEvent, Protocol};
//! use hookhost::{Config, Decision, Host};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_file("hookhost.json".as_ref())?;
//! let host = Host::new(config).await?;
//! let event = FsEvent::new(FsAction::PreUpload, "alice", "/srv/alice/setup.exe", Protocol::Sftp);
//! let outcome = host.dispatch(event).await;
//! if let Decision::Deny(reason) = &outcome.decision {
//!     println!("upload refused: {reason}");
//! }
//! host.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! All on by default. `serve`: the HTTP front ([`serve`]); `gateway`:
//! `hookhost plugin`, go-plugin's gRPC server; `journal`: accepted
//! asynchronous work on disk (`hookhost.state_dir`, redb); `nats`: the
//! queue shared by nodes (`hookhost.queue`). With `default-features =
//! false` the crate is the sandbox, the hooks, the plugins and the
//! dispatcher; a configuration that asks for a feature left out is
//! refused at load, naming it.
//!
//! # Errors
//!
//! Every public function returns a typed error: [`FieldError`] for input
//! (the field at fault and what is wrong), [`ConfigError`] for a
//! configuration (a [`FieldError`] in its file), or its module's own
//! ([`Error`] building a host, [`journal::JournalError`],
//! [`plugin::PluginError`], `serve::ServeError`, `gateway::GatewayError`).
//! `String` errors live only in private code.
//!
//! # Stability
//!
//! The crate is 0.x: minor versions may change the API. What is public is
//! deliberate: the types above, the event model, the configuration data
//! and the [`hook::Hook`] trait. wasmtime does not appear in it (its
//! version is an implementation detail), except through the plugin data
//! types generated from the WIT package ([`plugin::kms`], [`plugin::auth`],
//! [`plugin::search`]), whose fields follow the WIT. The `internals`
//! feature exposes the sandbox for hookhost's own tests and benchmark, with
//! no stability promise at all.
#![deny(missing_docs)]

mod clock;
pub mod config;
mod crypto;
mod dispatch;
mod error;
pub mod event;
mod failure;
mod files;
#[cfg(feature = "gateway")]
pub mod gateway;
pub mod hook;
mod host;
pub mod journal;
mod json;
mod loopguard;
pub mod metrics;
pub mod plugin;
mod prom;
mod queue;
mod recorder;
#[cfg(feature = "oci")]
pub mod registry;
mod reload;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod sandbox;
#[cfg(not(feature = "internals"))]
mod sandbox;
#[cfg(feature = "serve")]
pub mod serve;
pub mod signature;
mod text;

pub use config::{Config, ConfigError};
pub use dispatch::login::{KeyboardSession, LoginAnswer, LoginOutcome};
pub use dispatch::{Decision, HookReport, Outcome, Reply};
pub use error::FieldError;
pub use failure::Failure;
pub use host::{Dispatch, Error, Host, HostBuilder, LoginDispatch, QueueHealth, ResolvedComponent};
pub use loopguard::LoopGuard;
pub use reload::{HostLease, ReloadableHost};
pub use sandbox::{Allocation, CacheStats, ComponentFile, Provenance};
