//! Per-call limits and how a limit hit is told apart from other failures.
//!
//! Wall clock: epoch interruption. A ticker advances the engine's epoch
//! every tick; at each tick a running guest's callback compares the time
//! with its deadline, yields to the async executor if time is left (so a
//! busy guest never monopolizes a worker thread) and traps with
//! [`DeadlineExceeded`] once it is past. A Tokio timeout slightly above the
//! limit backs this up for a guest blocked inside a host call.
//!
//! CPU: fuel, refilled to the hook's budget before every call.
//!
//! Memory: [`Limiter`] refuses growth past the hook's limit. The guest sees a
//! failed `memory.grow` (a Rust guest using `try_reserve` can recover and
//! keep working); if it then traps, the failure is reported as
//! [`Failure::MemoryLimit`] rather than as a bare trap.

use std::time::Duration;

use wasmtime::Trap;

use crate::hook::Failure;

/// Limits for one call of a guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Fuel budget (roughly one unit per wasm instruction). Ignored when the
    /// engine runs without fuel metering.
    pub fuel: u64,
    /// Maximum linear memory, in bytes.
    pub memory_bytes: u64,
    /// Maximum bytes of stdout and of stderr kept for the log, per call.
    pub output_bytes: usize,
}

/// The error the epoch callback raises when a guest runs past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("wall-clock deadline exceeded")]
pub struct DeadlineExceeded;

/// Refuses memory and table growth past the configured limits and remembers
/// that it did.
#[derive(Debug)]
pub struct Limiter {
    memory_bytes: usize,
    table_elements: usize,
    /// Set when a growth request was refused during the current call.
    pub hit: bool,
}

impl Limiter {
    /// A limiter for `memory_bytes` of linear memory per memory.
    pub fn new(memory_bytes: u64) -> Self {
        Limiter {
            memory_bytes: usize::try_from(memory_bytes).unwrap_or(usize::MAX),
            // Function tables of real components stay far below this; it
            // only stops a guest growing a table without bound.
            table_elements: 1_000_000,
            hit: false,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }
}

/// Turn a guest error into the failure it stands for.
pub(crate) fn classify(
    err: &wasmtime::Error,
    limiter_hit: bool,
    limits: &Limits,
    stderr_tail: &str,
) -> Failure {
    if err.is::<DeadlineExceeded>() {
        return Failure::Timeout(limits.timeout);
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Failure::Trap(format!("guest exited with status {}", exit.0));
    }
    let trap = err.downcast_ref::<Trap>().copied();
    match trap {
        Some(Trap::OutOfFuel) => Failure::OutOfFuel,
        Some(Trap::Interrupt) => Failure::Timeout(limits.timeout),
        _ if limiter_hit => Failure::MemoryLimit(limits.memory_bytes),
        _ => {
            // The root cause, without the wasm backtrace wasmtime attaches.
            let mut message = match trap {
                Some(trap) => trap.to_string(),
                None => err.root_cause().to_string(),
            };
            if !stderr_tail.is_empty() {
                message.push_str("; guest stderr: ");
                message.push_str(stderr_tail);
            }
            Failure::Trap(message)
        }
    }
}
