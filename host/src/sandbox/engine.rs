//! The one wasmtime `Engine`, configured in one place, and its epoch ticker.

use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::config::WasmSettings;

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
