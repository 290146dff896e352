//! The event model: what a server reports, independent of how it is encoded.
//!
//! The types follow SFTPGo's "custom actions" contract, as it stands today
//! (a superset of the reference's). One module per kind — [`fs`],
//! [`provider`], [`login`] — holds its model and its encodings (the HTTP
//! hook's body, an exec hook's argv and environment), each in the contract
//! of the SFTPGo release at the other end ([`version`]); [`exec`] tells
//! which kind a program's environment carries (`hookhost exec`); [`rule`]
//! is SFTPGo's Event Manager.

pub mod exec;
pub mod fs;
pub(crate) mod go;
pub mod id;
mod log;
pub mod login;
pub mod provider;
pub(crate) mod record;
pub mod rule;
pub mod version;

pub use fs::{FsAction, FsEvent, FsProvider, Protocol, Status};
pub use log::{LogEvent, LogEventKind};
pub use provider::{ObjectType, ProviderAction, ProviderEvent};
pub use version::{Change, Contract, Releases, SftpgoVersion, VersionSetting};

/// Error for a value that does not name a known action, protocol, ...
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (expected one of: {expected})")]
pub struct UnknownName {
    /// What kind of name was expected ("action", "object type", ...).
    pub what: &'static str,
    /// The value that was given.
    pub value: String,
    /// The accepted values, comma separated.
    pub expected: String,
}

/// Declares a fieldless enum with its wire names and the `FromStr`/`Display`
/// pair that goes with them, so each list of names is written exactly once.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* #[doc = concat!("`", $wire, "`")] $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name as SFTPGo spells it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Position in [`Self::ALL`], for table lookups.
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::event::UnknownName;
            fn from_str(s: &str) -> Result<Self, $crate::event::UnknownName> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err($crate::event::UnknownName {
                        what: $what,
                        value: s.to_owned(),
                        expected: [$($wire),+].join(", "),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use named_enum;

/// Any event a host dispatches.
// Moved once into a dispatch: boxing the large variant would only add an
// allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A file-system action.
    Fs(FsEvent),
    /// A data-provider change.
    Provider(ProviderEvent),
    /// A login-related event (for notifier plugins only).
    Log(LogEvent),
}

impl From<FsEvent> for Event {
    fn from(event: FsEvent) -> Self {
        Event::Fs(event)
    }
}

impl From<ProviderEvent> for Event {
    fn from(event: ProviderEvent) -> Self {
        Event::Provider(event)
    }
}

impl From<LogEvent> for Event {
    fn from(event: LogEvent) -> Self {
        Event::Log(event)
    }
}

/// Treat an empty string as absent, as SFTPGo's `omitempty` does.
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}
