//! The one wasmtime `Engine`, configured in one place, and its epoch ticker.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use super::cache::FunctionCache;
use crate::config::WasmSettings;

fn base_config(
    settings: &WasmSettings,
    functions: Option<&Arc<FunctionCache>>,
) -> anyhow::Result<Config> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        // Wall-clock limits and cooperative yielding (see `limits`).
        .epoch_interruption(settings.epoch_interruption)
        .consume_fuel(settings.fuel)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true);
    if let Some(functions) = functions {
        // Functions another component already compiled are reused.
        config
            .enable_incremental_compilation(functions.clone())
            .map_err(anyhow::Error::from)?;
    }
    Ok(config)
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

/// How guest instances are allocated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allocation {
    /// From the pooling allocator's preallocated slots.
    Pooled,
    /// On demand, because `pooling` is off in the settings.
    OnDemand,
    /// On demand, because the pool could not be reserved (e.g. a small
    /// `ulimit -v`); the reason is wasmtime's.
    PoolUnavailable(String),
}

/// Build the engine: pooling allocation when asked for and possible,
/// on-demand otherwise (logged at warn, and reported by `hookhost check`).
pub(crate) fn build_engine(
    settings: &WasmSettings,
    functions: Option<&Arc<FunctionCache>>,
) -> anyhow::Result<(Engine, Allocation)> {
    let mut allocation = Allocation::OnDemand;
    if settings.pooling {
        let mut config = base_config(settings, functions)?;
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(settings)));
        match Engine::new(&config) {
            Ok(engine) => return Ok((engine, Allocation::Pooled)),
            Err(err) => {
                tracing::warn!(
                    error = %err,
                    max_instances = settings.max_instances,
                    "pooling allocator unavailable (a pool of max_instances could not be reserved), using on-demand allocation: every event pays for a fresh instance's memory"
                );
                allocation = Allocation::PoolUnavailable(format!("{err:#}"));
            }
        }
    }
    let engine = Engine::new(&base_config(settings, functions)?).map_err(anyhow::Error::from)?;
    Ok((engine, allocation))
}

/// One thread advances the epoch of every engine in the process, each at
/// its own `tick`: a process with several hosts (an embedding, the
/// benchmark, a reload that changed the wasm settings) does not get a
/// thread, and its wake-ups, per engine. Epochs matter only while guest
/// code runs ([`running`]): after [`IDLE_AFTER`] without a call the thread
/// sleeps until the next one begins, so an idle host does not wake a CPU
/// every tick (1,000 times a second by default).
struct Ticker {
    engines: Mutex<Vec<Ticked>>,
    changed: Condvar,
    /// Guest calls running now, on any engine.
    running: AtomicUsize,
    /// Guest calls begun so far: a call that began and ended between two
    /// ticks still counts as activity.
    begun: AtomicU64,
    /// The thread waits for a call to begin: the first one wakes it.
    asleep: AtomicBool,
}

/// How long the ticker keeps ticking after the last guest call ended. A
/// host with at least an event a second never lets it sleep; below that,
/// the first call after a pause pays one wake-up of the ticker thread.
const IDLE_AFTER: Duration = Duration::from_secs(1);

/// One engine the ticker advances: held weakly, forgotten once dropped.
struct Ticked {
    engine: wasmtime::EngineWeak,
    tick: Duration,
    next: Instant,
}

static TICKER: OnceLock<std::io::Result<&'static Ticker>> = OnceLock::new();

impl Ticker {
    /// The process's ticker, its thread started on first use.
    fn get() -> std::io::Result<&'static Ticker> {
        match TICKER.get_or_init(|| {
            let ticker: &'static Ticker = Box::leak(Box::new(Ticker {
                engines: Mutex::new(Vec::new()),
                changed: Condvar::new(),
                running: AtomicUsize::new(0),
                begun: AtomicU64::new(0),
                asleep: AtomicBool::new(false),
            }));
            std::thread::Builder::new()
                .name("hookhost-epoch".into())
                .spawn(move || ticker.run())
                .map(|_| ticker)
        }) {
            Ok(ticker) => Ok(ticker),
            Err(err) => Err(std::io::Error::new(err.kind(), err.to_string())),
        }
    }

    /// Whether a call has run since `seen` (updated) or runs now.
    fn active(&self, seen: &mut u64) -> bool {
        let begun = self.begun.load(SeqCst);
        let active = begun != *seen || self.running.load(SeqCst) > 0;
        *seen = begun;
        active
    }

    fn run(&self) {
        let mut engines = self.engines.lock().unwrap_or_else(|e| e.into_inner());
        let mut seen = 0;
        let mut quiet_since = Instant::now();
        loop {
            let now = Instant::now();
            if self.active(&mut seen) {
                quiet_since = now;
            } else if now.duration_since(quiet_since) >= IDLE_AFTER {
                // Set before looking again: a call that begins after this
                // sees `asleep` and notifies, under the lock held until
                // `wait` releases it; one that began before is seen here.
                self.asleep.store(true, SeqCst);
                while !self.active(&mut seen) {
                    engines = self
                        .changed
                        .wait(engines)
                        .unwrap_or_else(|e| e.into_inner());
                }
                self.asleep.store(false, SeqCst);
                // A full tick for the calls that woke it: an immediate
                // tick would make each of them yield once for nothing.
                let now = Instant::now();
                for t in engines.iter_mut() {
                    t.next = now + t.tick;
                }
                quiet_since = now;
            }
            let now = Instant::now();
            engines.retain_mut(|t| {
                if t.next > now {
                    return true;
                }
                let Some(engine) = t.engine.upgrade() else {
                    return false;
                };
                engine.increment_epoch();
                // Behind (a suspended process): no burst of catch-up ticks.
                t.next = (t.next + t.tick).max(now);
                true
            });
            engines = match engines.iter().map(|t| t.next).min() {
                None => self
                    .changed
                    .wait(engines)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(next) => {
                    let wait = next.saturating_duration_since(Instant::now());
                    self.changed
                        .wait_timeout(engines, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

/// While held, a guest call is running: the ticker ticks (see [`Ticker`]).
pub(crate) struct Running(Option<&'static Ticker>);

/// Mark a guest call running until the guard is dropped. Cheap (three
/// atomic operations) unless the ticker sleeps, which this wakes.
pub(crate) fn running() -> Running {
    let Some(&Ok(ticker)) = TICKER.get() else {
        return Running(None);
    };
    ticker.running.fetch_add(1, SeqCst);
    ticker.begun.fetch_add(1, SeqCst);
    if ticker.asleep.load(SeqCst) {
        let _engines = ticker.engines.lock().unwrap_or_else(|e| e.into_inner());
        ticker.changed.notify_one();
    }
    Running(Some(ticker))
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(ticker) = self.0 {
            ticker.running.fetch_sub(1, SeqCst);
        }
    }
}

/// Advance `engine`'s epoch every `tick`, on the process's one ticker
/// thread (which holds it weakly: a dropped engine is forgotten). Without a
/// ticker no deadline would fire inside wasm code, so failing to start one
/// is an error, not a warning.
pub(crate) fn start_epoch_ticker(engine: &Engine, tick: Duration) -> std::io::Result<()> {
    let ticker = Ticker::get()?;
    ticker
        .engines
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Ticked {
            engine: engine.weak(),
            tick,
            next: Instant::now() + tick,
        });
    ticker.changed.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads of this process named `hookhost-epoch`.
    fn ticker_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim() == "hookhost-epoch")
            .count()
    }

    /// `(module (func (export "spin") (loop (br 0))))`.
    const SPIN: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
        0x03, 0x02, 0x01, 0x00, // func 0: type 0
        0x07, 0x08, 0x01, 0x04, b's', b'p', b'i', b'n', 0x00, 0x00, // export "spin"
        0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // loop br 0
    ];

    /// Spin in a store whose deadline is one tick away until the ticker's
    /// tick interrupts it. Returns whether a tick came within 10 s (a
    /// watchdog interrupts it otherwise, so a missing tick fails instead
    /// of hanging).
    fn spin_until_interrupted(engine: &Engine) -> bool {
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let watchdog = {
            let (engine, done) = (engine.clone(), done.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                while !done.load(SeqCst) {
                    if started.elapsed() > Duration::from_secs(10) {
                        engine.increment_epoch();
                        return true;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                false
            })
        };
        let mut store = wasmtime::Store::new(engine, ());
        store.set_epoch_deadline(1);
        let module = wasmtime::Module::from_binary(engine, SPIN).unwrap();
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .unwrap();
        let trap = spin.call(&mut store, ()).unwrap_err();
        done.store(true, SeqCst);
        assert_eq!(
            trap.downcast_ref::<wasmtime::Trap>(),
            Some(&wasmtime::Trap::Interrupt),
            "{trap:?}"
        );
        !watchdog.join().unwrap()
    }

    #[test]
    fn the_ticker_sleeps_without_calls_and_the_next_call_wakes_it() {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).unwrap();
        start_epoch_ticker(&engine, Duration::from_millis(1)).unwrap();
        let ticker = Ticker::get().unwrap();
        // Asleep once no call has run for IDLE_AFTER (other tests' calls in
        // this process may put it off).
        let started = Instant::now();
        while !ticker.asleep.load(SeqCst) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the ticker never slept"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let _running = running();
        assert!(
            spin_until_interrupted(&engine),
            "a call began, but the sleeping ticker did not wake to tick"
        );
    }

    #[test]
    fn one_thread_ticks_every_engine_at_its_own_pace() {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engines: Vec<Engine> = (0..8).map(|_| Engine::new(&config).unwrap()).collect();
        for (i, engine) in engines.iter().enumerate() {
            start_epoch_ticker(engine, Duration::from_millis(1 + i as u64)).unwrap();
        }
        // Every engine's epoch advances: a store whose deadline is one tick
        // away sees it pass (its epoch deadline callback would fire).
        let _running = running();
        for engine in &engines {
            assert!(spin_until_interrupted(engine), "no tick within 10 s");
        }
        // Counted only now: a thread takes its name when it starts running,
        // which the ticks above prove it did.
        assert_eq!(ticker_threads(), 1, "one ticker thread for the process");
        drop(engines);
        assert_eq!(ticker_threads(), 1);
    }
}
