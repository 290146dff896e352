//! WebAssembly settings: the engine's (`hookhost.wasm`) and one guest's
//! limits. Pure data: the sandbox applies them.

use std::time::Duration;

use serde::Deserialize;

const MIB: u64 = 1024 * 1024;

/// Engine-wide settings (`hookhost.wasm` in the configuration file).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WasmSettings {
    /// Meter CPU with fuel. Costs a few percent on loops and more on
    /// call-heavy code; without it only the wall-clock limit bounds a guest.
    pub fuel: bool,
    /// Use the pooling instance allocator: instances come from preallocated
    /// slots, which makes a fresh instance per event several times cheaper.
    /// Falls back to on-demand allocation if the pool cannot be reserved
    /// (e.g. a small `ulimit -v`).
    pub pooling: bool,
    /// Guest instances alive at once (pool size). Calls beyond it wait for a
    /// free slot, within their deadline, instead of failing.
    pub max_instances: u32,
    /// The share of `max_instances` one hook may hold at once, so that a
    /// flood of one hook's events cannot starve the others. Unset: half the
    /// pool.
    pub max_instances_per_hook: Option<u32>,
    /// Linear memory all running guests may commit together, in MiB: a
    /// growth past it is refused (the guest fails with `memory_budget`).
    pub memory_budget_mib: u64,
    /// Ceiling for any guest's memory limit, in MiB (the pool's slot size).
    pub max_memory_mib: u64,
    /// Epoch tick in milliseconds: how often running guests check their
    /// deadline and yield to other work.
    pub epoch_tick_ms: u64,
    /// Fuel budget of a call unless the hook sets `limits.fuel`.
    pub default_fuel: u64,
    /// Memory limit of a guest unless the hook sets `limits.memory_mib`.
    pub default_memory_mib: u64,
    /// Bytes of stdout and of stderr logged per call unless the hook sets
    /// `limits.output_kib`, in KiB.
    pub default_output_kib: u64,
    /// Fresh instances each wasm hook keeps ready unless it sets `spares`:
    /// made and torn down between events, off their path, so an event
    /// waits only for its call. Each holds a pool slot and its initial
    /// memory; spares are made only while the pool and the memory budget
    /// are less than half used, and only with the pooling allocator.
    pub default_spares: u32,
    /// Instances of one hook's shadow (`"shadow"` on its entry) alive at
    /// once; an event that finds them all busy is skipped for the shadow
    /// (counted). Kept small: each live shadow holds a pool slot and
    /// memory, and hundreds of them slow the hooks that decide (measured
    /// in docs/performance.md).
    pub max_shadow_instances_per_hook: u32,
    /// Not configurable (always on): `hookhost bench` turns it off to
    /// measure what it costs. Without it no wall-clock limit can stop a busy
    /// guest.
    #[serde(skip)]
    pub epoch_interruption: bool,
}

impl Default for WasmSettings {
    fn default() -> Self {
        WasmSettings {
            fuel: true,
            pooling: true,
            max_instances: 1000,
            max_instances_per_hook: None,
            memory_budget_mib: 2048,
            max_memory_mib: 1024,
            epoch_tick_ms: 1,
            // About ten seconds of busy CPU for compiled code: generous for
            // any hook, yet a runaway loop ends long before its wall limit
            // when the limit is high.
            default_fuel: 10_000_000_000,
            default_memory_mib: 64,
            default_output_kib: 64,
            default_spares: 2,
            max_shadow_instances_per_hook: 4,
            epoch_interruption: true,
        }
    }
}

/// The most spares a hook may keep (`spares`, `default_spares`).
pub const MAX_SPARES: u32 = 64;

/// Most guest instances alive at once (`hookhost.wasm.max_instances`):
/// what the pooling allocator can reserve in a 64-bit address space.
pub const MAX_INSTANCES: u32 = 10_000;

/// The largest `max_memory_mib`: a 32-bit linear memory cannot pass 4 GiB.
pub const MAX_MEMORY_MIB: u64 = 4096;

impl WasmSettings {
    /// The largest memory limit a guest may be given, in bytes.
    pub fn max_memory_bytes(&self) -> u64 {
        self.max_memory_mib.min(MAX_MEMORY_MIB) * MIB
    }

    /// Instances one hook may hold at once.
    pub fn instances_per_hook(&self) -> u32 {
        self.max_instances_per_hook
            .unwrap_or(self.max_instances / 2)
            .clamp(1, self.max_instances.max(1))
    }

    /// The memory budget of all running guests, in bytes.
    pub fn memory_budget_bytes(&self) -> u64 {
        self.memory_budget_mib.saturating_mul(MIB)
    }
}

/// Limits for one call of a guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Fuel budget (roughly one unit per wasm instruction). Ignored when the
    /// engine runs without fuel metering.
    pub fuel: u64,
    /// Maximum linear memory of the whole instance, in bytes.
    pub memory_bytes: u64,
    /// Maximum bytes of stdout and of stderr kept for the log, per call.
    pub output_bytes: usize,
    /// Outbound HTTP requests (`grants.http`) one call holds at once.
    pub http_in_flight: u32,
    /// TCP connections (`grants.tcp`) one call makes.
    pub tcp_connections: u32,
}

/// A call's outbound HTTP requests in flight, by default: far above what a
/// webhook needs, far below the descriptors a flood would take.
pub const DEFAULT_HTTP_IN_FLIGHT: u32 = 16;
/// A call's TCP connections, by default.
pub const DEFAULT_TCP_CONNECTIONS: u32 = 16;
/// The most `limits.http_in_flight` / `limits.tcp_connections` may be.
pub const MAX_CONNECTIONS_PER_CALL: u32 = 1024;
