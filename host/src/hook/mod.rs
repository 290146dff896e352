//! The three hook kinds behind one trait.
//!
//! A hook receives one event, with the [`Contract`] of the SFTPGo release
//! the event came from, and answers ([`Answer`]) or fails ([`Failure`]).
//! A program or URL hook is called exactly as that release would call it.
//! What an answer means for the operation (allow, deny, handled) is decided
//! by [`crate::dispatch`], not by the hook.
//!
//! - [`exec`]: an external program, called with SFTPGo's argv and env;
//! - [`http`]: an HTTP POST with SFTPGo's JSON body;
//! - [`wasm`]: a WebAssembly component run in the [`crate::sandbox`].

pub mod exec;
pub mod http;
pub mod wasm;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::event::{Change, Contract, FsAction, FsEvent, ProviderEvent};

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
}

impl HookKind {
    /// Lower-case name, as used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::Exec => "exec",
            HookKind::Http => "http",
            HookKind::Wasm => "wasm",
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
}

/// Why a hook gave no answer. Each failure is its own case so that logs,
/// metrics and tests can tell them apart.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The hook ran past its wall-clock limit and was stopped (for exec hooks,
    /// its whole process group was killed).
    #[error("timed out after {} ms", .0.as_millis())]
    Timeout(Duration),
    /// A wasm hook used up its fuel (CPU budget).
    #[error("out of fuel")]
    OutOfFuel,
    /// A wasm hook tried to grow its memory past its limit and failed.
    #[error("memory limit of {} MiB reached", .0 / (1024 * 1024))]
    MemoryLimit(u64),
    /// A wasm hook tried to grow its memory while the host's memory budget
    /// for all running guests was used up.
    #[error("the host's memory budget of {} MiB for running guests is used up", .0 / (1024 * 1024))]
    MemoryBudget(u64),
    /// A wasm hook trapped (guest panic, stack overflow, unreachable, ...).
    #[error("trap: {0}")]
    Trap(String),
    /// The component cannot serve this event (wrong world, not a component).
    #[error("bad component: {0}")]
    BadComponent(String),
    /// Anything else: a program that cannot be started or was killed by a
    /// signal, an HTTP connection error, ...
    #[error("{0}")]
    Error(String),
}

impl Failure {
    /// Short stable name for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Failure::Timeout(_) => "timeout",
            Failure::OutOfFuel => "out_of_fuel",
            Failure::MemoryLimit(_) => "memory_limit",
            Failure::MemoryBudget(_) => "memory_budget",
            Failure::Trap(_) => "trap",
            Failure::BadComponent(_) => "bad_component",
            Failure::Error(_) => "error",
        }
    }
}

/// A hook's result for one event.
pub type HookResult = Result<Answer, Failure>;

/// The event a hook is called with.
#[derive(Clone, Copy, Debug)]
pub enum EventRef<'a> {
    /// A file-system event.
    Fs(&'a FsEvent),
    /// A data-provider event.
    Provider(&'a ProviderEvent),
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
}

/// A shared, type-erased hook.
pub type SharedHook = Arc<dyn Hook>;

/// Keep the first `cap` bytes of a hook's output and count the rest, so a
/// hook that prints megabytes cannot grow the host's memory.
#[derive(Debug, Default)]
pub(crate) struct CappedBuffer {
    data: Vec<u8>,
    dropped: u64,
    cap: usize,
}

impl CappedBuffer {
    pub(crate) fn new(cap: usize) -> Self {
        CappedBuffer {
            data: Vec::new(),
            dropped: 0,
            cap,
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let room = self.cap.saturating_sub(self.data.len());
        let take = room.min(bytes.len());
        self.data.extend_from_slice(&bytes[..take]);
        self.dropped += (bytes.len() - take) as u64;
    }

    /// The last `max` bytes of the captured text, lines joined by spaces.
    pub(crate) fn tail(&self, max: usize) -> String {
        let text = String::from_utf8_lossy(&self.data);
        let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut start = joined.len().saturating_sub(max);
        while !joined.is_char_boundary(start) {
            start += 1;
        }
        joined[start..].to_owned()
    }

    /// Log the captured text (one event per stream) and reset the buffer.
    pub(crate) fn flush_to_log(&mut self, hook: &str, stream: &'static str) {
        if self.data.is_empty() && self.dropped == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&self.data);
        let text = text.trim_end();
        if self.dropped > 0 {
            tracing::info!(hook, stream, dropped_bytes = self.dropped, "{text}");
        } else {
            tracing::info!(hook, stream, "{text}");
        }
        self.data.clear();
        self.dropped = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::CappedBuffer;

    #[test]
    fn capped_buffer_keeps_the_head_and_counts_the_rest() {
        let mut buffer = CappedBuffer::new(8);
        buffer.push(b"hello ");
        buffer.push(b"world, and more");
        assert_eq!(buffer.data, b"hello wo");
        assert_eq!(buffer.dropped, 13);
        assert_eq!(buffer.tail(5), "lo wo");
        buffer.flush_to_log("test", "stdout");
        assert!(buffer.data.is_empty() && buffer.dropped == 0);
    }
}
