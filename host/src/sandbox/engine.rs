//! The one wasmtime `Engine`, configured in one place, and its epoch ticker.

use std::time::Duration;

use serde::Deserialize;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

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
            epoch_interruption: true,
        }
    }
}

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

fn base_config(settings: &WasmSettings) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        // Wall-clock limits and cooperative yielding (see `limits`).
        .epoch_interruption(settings.epoch_interruption)
        .consume_fuel(settings.fuel)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true);
    config
}

fn pooling(settings: &WasmSettings) -> PoolingAllocationConfig {
    use super::limits::{MAX_CORE_INSTANCES, MAX_MEMORIES, MAX_TABLES};
    let n = settings.max_instances.max(1);
    let per = |count: usize| u32::try_from(count).expect("small constants");
    let mut pool = PoolingAllocationConfig::new();
    // Every total is `max_instances` times what one instance may hold (the
    // store limits of `limits`, checked per component at load too): however
    // a component is built, the instances the sandbox admits always fit, so
    // one hook's crafted component cannot exhaust the pool for the others.
    // A Rust component instantiates 3 core modules, a Python one 14. Pool
    // sizes are virtual reservations, committed only when used.
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(per(MAX_CORE_INSTANCES)))
        .total_memories(n.saturating_mul(per(MAX_MEMORIES)))
        .total_tables(n.saturating_mul(per(MAX_TABLES)))
        .total_stacks(n)
        .max_core_instances_per_component(per(MAX_CORE_INSTANCES))
        .max_memories_per_component(per(MAX_MEMORIES))
        .max_tables_per_component(per(MAX_TABLES))
        .max_memory_size(usize::try_from(settings.max_memory_bytes()).unwrap_or(usize::MAX));
    // Resetting a slot for its next instance is the largest cost of a fresh
    // instance per event. By default wasmtime madvises the whole memory
    // away: every event then pays page faults, and the TLB shootdowns of
    // madvise make two cores slower than one. With PAGEMAP_SCAN (Linux 6.7+;
    // `Auto` falls back elsewhere) it finds the pages the guest dirtied and
    // restores only those with memcpy, up to `keep_resident` bytes; a small
    // hook's working set (stack, data, heap: a few hundred KiB) stays
    // resident. Measured on the benchmark's deny-exe: 41 µs -> 19 µs per
    // event (docs/performance.md).
    pool.pagemap_scan(wasmtime::Enabled::Auto)
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10);
    pool
}

/// Build the engine: pooling allocation when asked for and possible,
/// on-demand otherwise. Returns whether pooling is in use.
pub(crate) fn build_engine(settings: &WasmSettings) -> anyhow::Result<(Engine, bool)> {
    if settings.pooling {
        let mut config = base_config(settings);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(settings)));
        match Engine::new(&config) {
            Ok(engine) => return Ok((engine, true)),
            Err(err) => {
                tracing::warn!(error = %err, "pooling allocator unavailable, using on-demand allocation");
            }
        }
    }
    let engine = Engine::new(&base_config(settings)).map_err(anyhow::Error::from)?;
    Ok((engine, false))
}

/// Advance the engine's epoch every `tick`. The thread holds only a weak
/// reference and ends once the engine is dropped. Without a ticker no
/// deadline would fire inside wasm code, so failing to start one is an
/// error, not a warning.
pub(crate) fn start_epoch_ticker(engine: &Engine, tick: Duration) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("hookhost-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
}
