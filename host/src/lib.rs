//! hookhost runs the hooks a file-transfer server fires: SFTPGo-style
//! "custom actions" (exec programs and HTTP POSTs, byte-compatible with
//! SFTPGo's contract) and WebAssembly components run in-process under hard
//! limits.
//!
//! The data path is `event → dispatch → hook → outcome`:
//!
//! - [`event`]: the event model and its SFTPGo encodings (JSON body, argv,
//!   environment);
//! - [`dispatch`]: which hooks run, synchronously or not, and what their
//!   answers mean (`pre-*` allow/deny, `pre-delete` "handled");
//! - [`hook`]: the three hook kinds behind one [`hook::Hook`] trait;
//! - [`sandbox`]: the wasmtime engine, limits and capabilities for components;
//! - [`plugin`]: notifier, kms, auth, eventsearcher and ipfilter plugins as
//!   long-lived components;
//! - [`config`]: SFTPGo's JSON configuration plus hookhost's extensions;
//! - [`Host`]: all of it assembled from a configuration.
//!
//! ```no_run
//! use hookhost::event::{FsAction, FsEvent, Protocol};
//! use hookhost::{Config, Decision, Host};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_file("hookhost.json".as_ref())?;
//! let host = Host::new(config).await?;
//! let event = FsEvent::new(FsAction::PreUpload, "alice", "/srv/alice/setup.exe", Protocol::Sftp);
//! let outcome = host.dispatch_fs(event).await;
//! if let Decision::Deny(reason) = &outcome.decision {
//!     println!("upload refused: {reason}");
//! }
//! host.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod config;
pub mod dispatch;
pub mod event;
mod failure;
pub mod hook;
mod host;
mod json;
pub mod loopguard;
pub mod metrics;
pub mod plugin;
mod reload;
pub mod sandbox;
pub mod serve;
pub mod text;

pub use config::{Config, ConfigError};
pub use dispatch::{Decision, HookReport, Outcome};
pub use host::{Error, Host, HostBuilder};
pub use reload::{HostLease, ReloadableHost};
