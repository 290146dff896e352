//! The three hook kinds behind one trait.
//!
//! A hook receives one event, with the [`Contract`] of the SFTPGo release
//! the event came from, and answers ([`Answer`]) or fails ([`Failure`]).
//! A program or URL hook is called exactly as that release would call it.
//! What an answer means for the operation (allow, deny, handled) is decided
//! by the host's dispatch ([`crate::Decision`]), not by the hook.
//!
//! The kinds a configuration names: an external program, called with
//! SFTPGo's argv and environment; an HTTP POST with SFTPGo's JSON body; a
//! WebAssembly component run in hookhost's sandbox. An embedder adds its own
//! by implementing [`Hook`] ([`crate::HostBuilder::fs_hook`]).

pub(crate) mod exec;
pub(crate) mod http;
pub(crate) mod shadow;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod wasm;
#[cfg(not(feature = "internals"))]
pub(crate) mod wasm;
mod world;

use std::sync::Arc;

use serde::Serialize;

use crate::event::login::{KbdReply, KbdRound, LoginEvent};
use crate::event::{Change, Contract, FsAction, FsEvent, ProviderEvent};
pub use crate::failure::Failure;
/// The attribute for implementing [`Hook`] (and
/// [`crate::plugin::NativeNotifier`]): `#[hookhost::hook::async_trait]`.
pub use async_trait::async_trait;
pub use world::{World, WorldError, worlds_of};

/// The kind of a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HookKind {
    /// An external program.
    Exec,
    /// An HTTP(S) URL.
    Http,
    /// A WebAssembly component.
    Wasm,
    /// Rust code an embedder registered ([`crate::HostBuilder::fs_hook`]).
    Native,
}

impl HookKind {
    /// Lower-case name, as used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::Exec => "exec",
            HookKind::Http => "http",
            HookKind::Wasm => "wasm",
            HookKind::Native => "native",
        }
    }
}

/// What a hook answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Success: exit status 0, HTTP 200, or a wasm hook's `allow`.
    Allow,
    /// Refusal: a non-zero exit status, another HTTP status, or a wasm
    /// hook's `deny(reason)`.
    Deny(String),
    /// `pre-delete` only: the hook already deleted or moved the file. Exec and
    /// HTTP hooks answer this by succeeding on a `pre-delete` event.
    Handled,
    /// Pre-login, external auth and check-password: success, with the answer
    /// as SFTPGo reads it (a program's stdout, a URL's body: user JSON,
    /// `{"status":...}`, or nothing). A component's answer is written in the
    /// same form.
    Reply(Vec<u8>),
}

/// A hook's result for one event.
pub type HookResult = Result<Answer, Failure>;

/// Outcome labels, in [`outcome_index`] order.
pub(crate) const OUTCOMES: [&str; 11] = [
    "allow",
    "deny",
    "handled",
    "answered",
    "timeout",
    "out_of_fuel",
    "memory_limit",
    "memory_budget",
    "trap",
    "bad_component",
    "error",
];

pub(crate) fn outcome_index(result: &HookResult) -> usize {
    use Failure::*;
    match result {
        Ok(Answer::Allow) => 0,
        Ok(Answer::Deny(_)) => 1,
        Ok(Answer::Handled) => 2,
        Ok(Answer::Reply(_)) => 3,
        Err(Timeout(_)) => 4,
        Err(OutOfFuel) => 5,
        Err(MemoryLimit(_)) => 6,
        Err(MemoryBudget(_)) => 7,
        Err(Trap(_)) => 8,
        Err(BadComponent(_)) => 9,
        Err(Error(_)) => 10,
    }
}

/// The outcome label of a hook's result (`allow`, `deny`, `trap`, ...).
pub(crate) fn outcome_label(result: &HookResult) -> &'static str {
    OUTCOMES[outcome_index(result)]
}

/// The event a hook is called with.
#[derive(Clone, Copy, Debug)]
pub enum EventRef<'a> {
    /// A file-system event.
    Fs(&'a FsEvent),
    /// A data-provider event.
    Provider(&'a ProviderEvent),
    /// A login or connection event.
    Login(&'a LoginEvent),
}

impl EventRef<'_> {
    /// The answer a program's exit 0 or a URL's 200 means for this event in
    /// `contract`: `Handled` for a pre-delete before SFTPGo 2.5 (the hook
    /// deleted or moved the file), else `Allow`.
    pub fn success_answer(&self, contract: &Contract) -> Answer {
        match self {
            EventRef::Fs(ev)
                if ev.action == FsAction::PreDelete && !contract.has(Change::PreDeleteCanDeny) =>
            {
                Answer::Handled
            }
            _ => Answer::Allow,
        }
    }
}

/// One hook: an exec program, an HTTP URL or a wasm component.
///
/// Implementations never panic on a bad event or a misbehaving hook: every
/// problem comes back as a [`Failure`]. Each implementation enforces its own
/// wall-clock limit.
#[async_trait::async_trait]
pub trait Hook: Send + Sync + 'static {
    /// The hook's name in the configuration, for logs and metrics.
    fn name(&self) -> &str;

    /// The hook's kind.
    fn kind(&self) -> HookKind;

    /// Run the hook for one event, which came from the SFTPGo release of
    /// `contract`.
    async fn call(&self, event: EventRef<'_>, contract: &Contract) -> HookResult;

    /// Start a keyboard-interactive exchange, in the form of the SFTPGo
    /// release of `contract` (only hooks configured as
    /// `keyboard_interactive_auth_hook` are asked). By default a hook cannot.
    async fn exchange(&self, _contract: &Contract) -> Result<Box<dyn Exchange>, Failure> {
        Err(Failure::BadComponent(format!(
            "{} cannot answer keyboard-interactive rounds",
            self.name()
        )))
    }
}

/// One keyboard-interactive exchange with a hook: its rounds go to the same
/// program, component instance or URL conversation, which keeps the
/// exchange's state. Dropping it ends the exchange (a program is killed, an
/// instance released).
#[async_trait::async_trait]
pub trait Exchange: Send + 'static {
    /// Send one round; the hook's reply (checked by the caller).
    async fn round(&mut self, round: &KbdRound) -> Result<KbdReply, Failure>;

    /// When the exchange can no longer be answered (a program's limit runs
    /// for the whole exchange); `None`: only the server's idle limit ends it.
    fn deadline(&self) -> Option<tokio::time::Instant> {
        None
    }
}

/// A shared, type-erased hook.
pub type SharedHook = Arc<dyn Hook>;
