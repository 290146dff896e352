//! Per-call limits and how a limit hit is told apart from other failures.
//!
//! Wall clock: epoch interruption. A ticker advances the engine's epoch
//! every tick; at each tick a running guest's callback compares the time
//! with its deadline, yields to the async executor if time is left (so a
//! busy guest never monopolizes a worker thread) and traps with
//! [`DeadlineExceeded`] once it is past. A guest parked inside a host call
//! (a sleep, a blocking read) sees no epoch: a Tokio timeout a couple of
//! ticks past the same deadline stops it there.
//!
//! CPU: fuel, refilled to the hook's budget before every call.
//!
//! Memory: [`Limiter`] accounts for the instance as a whole. Its limit
//! (`memory_mib`) bounds the sum of every linear memory of every core
//! instance in the component, not each memory alone; table elements are
//! summed the same way; and a store may create at most
//! [`MAX_CORE_INSTANCES`] core instances, [`MAX_MEMORIES`] memories and
//! [`MAX_TABLES`] tables, whatever the allocator. On top, every byte of
//! linear memory is charged to the sandbox's [`MemoryBudget`], shared by all
//! live instances, so many large guests at once cannot exhaust the host. A
//! refused growth makes `memory.grow` fail in the guest (a Rust guest using
//! `try_reserve` can recover); if it then traps, the failure is reported as
//! [`Failure::MemoryLimit`] or [`Failure::MemoryBudget`] rather than a bare
//! trap — unless the guest's own panic message says otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Trap;

use crate::config::Limits;
use crate::failure::Failure;

/// Core instances one guest's store may create (a Rust component has 3, a
/// Python one 14).
pub const MAX_CORE_INSTANCES: usize = 32;
/// Linear memories one guest's store may create (Rust and Python
/// components have 1).
pub const MAX_MEMORIES: usize = 2;
/// Tables one guest's store may create (Rust and Python components have 2).
pub const MAX_TABLES: usize = 16;
/// Table elements one guest may hold, all tables together: far above what
/// real components use, it only stops a guest growing tables without bound.
const TABLE_ELEMENTS: usize = 1_000_000;

/// The error the epoch callback raises when a guest runs past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("wall-clock deadline exceeded")]
pub struct DeadlineExceeded;

/// Linear memory committed by every live instance of a sandbox, against one
/// budget (`hookhost.wasm.memory_budget_mib`).
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        MemoryBudget {
            limit,
            used: AtomicU64::new(0),
        }
    }

    /// The budget, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes charged now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    fn try_charge(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn release(&self, bytes: u64) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Which limit refused a growth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitHit {
    /// The instance's own memory limit, or its table limit.
    Instance,
    /// The sandbox-wide memory budget.
    Budget,
}

/// Accounts for one guest's memories and tables as a whole, charges its
/// memory to the shared budget, and remembers what it refused.
#[derive(Debug)]
pub struct Limiter {
    memory_limit: u64,
    memory_used: u64,
    table_used: usize,
    budget: Arc<MemoryBudget>,
    /// Set when a growth request was refused during the current call.
    pub hit: Option<LimitHit>,
}

impl Limiter {
    /// A limiter for `memory_bytes` of linear memory in all, charging
    /// `budget`.
    pub fn new(memory_bytes: u64, budget: Arc<MemoryBudget>) -> Self {
        Limiter {
            memory_limit: memory_bytes,
            memory_used: 0,
            table_used: 0,
            budget,
            hit: None,
        }
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        self.budget.release(self.memory_used);
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            // It fails anyway; nothing to account for.
            return Ok(false);
        }
        let added = desired.saturating_sub(current) as u64;
        if self.memory_used.saturating_add(added) > self.memory_limit {
            self.hit = Some(LimitHit::Instance);
            return Ok(false);
        }
        if !self.budget.try_charge(added) {
            self.hit = Some(LimitHit::Budget);
            return Ok(false);
        }
        self.memory_used += added;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let added = desired.saturating_sub(current);
        if self.table_used.saturating_add(added) > TABLE_ELEMENTS {
            self.hit = Some(LimitHit::Instance);
            return Ok(false);
        }
        self.table_used += added;
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// Turn a guest error into the failure it stands for.
pub(crate) fn classify(
    err: &wasmtime::Error,
    hit: Option<LimitHit>,
    limits: &Limits,
    budget: &MemoryBudget,
    stderr_tail: &str,
) -> Failure {
    if err.is::<DeadlineExceeded>() {
        return Failure::Timeout(limits.timeout);
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Failure::Trap(format!("guest exited with status {}", exit.0));
    }
    let trap = err.downcast_ref::<Trap>().copied();
    // A guest that panics for a reason of its own after a refused growth
    // (its panic message is on stderr) is a trap with that message.
    let own_panic = stderr_tail.contains("panicked at");
    match (trap, hit) {
        (Some(Trap::OutOfFuel), _) => Failure::OutOfFuel,
        (Some(Trap::Interrupt), _) => Failure::Timeout(limits.timeout),
        (_, Some(LimitHit::Instance)) if !own_panic => Failure::MemoryLimit(limits.memory_bytes),
        (_, Some(LimitHit::Budget)) if !own_panic => Failure::MemoryBudget(budget.limit()),
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
            if let Some(hit) = hit {
                message.push_str(match hit {
                    LimitHit::Instance => " (after its memory limit refused a growth)",
                    LimitHit::Budget => " (after the host's memory budget refused a growth)",
                });
            }
            Failure::Trap(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    const MIB: usize = 1 << 20;

    #[test]
    fn memories_are_limited_in_sum_and_charged_to_the_budget() {
        let budget = Arc::new(MemoryBudget::new(24 * MIB as u64));
        let mut a = Limiter::new(16 * MIB as u64, budget.clone());
        assert!(a.memory_growing(0, 10 * MIB, None).unwrap());
        // A second memory of the same instance: 10 + 10 > 16.
        assert!(!a.memory_growing(0, 10 * MIB, None).unwrap());
        assert_eq!(a.hit, Some(LimitHit::Instance));
        assert!(a.memory_growing(0, 6 * MIB, None).unwrap());
        let mut b = Limiter::new(16 * MIB as u64, budget.clone());
        // 16 MiB charged already; 10 more would pass the 24 MiB budget.
        assert!(!b.memory_growing(0, 10 * MIB, None).unwrap());
        assert_eq!(b.hit, Some(LimitHit::Budget));
        drop(a);
        assert_eq!(budget.used(), 0);
        assert!(b.memory_growing(0, 10 * MIB, None).unwrap());
    }
}
