//! [`Failure`]: why a hook or plugin call gave no answer. Shared by the
//! sandbox (which classifies guest errors) and every hook kind.

use std::time::Duration;

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
