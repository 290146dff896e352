//! The WebAssembly sandbox: one shared engine, compiled-component cache,
//! per-call stores with hard limits and deny-by-default capabilities.
//!
//! A call gets a fresh store ([`Sandbox::new_store`]) holding its WASI
//! context (built from its [`Grants`]), its memory [`Limiter`] and captured
//! output; [`Sandbox::call`] then sets the wall-clock deadline and the fuel
//! budget, runs the guest, and turns any error into a [`Failure`]. Long-lived
//! plugin instances reuse their store and go through the same `call`.
//!
//! Admission: an instance holds a [`Slot`] while it lives: a place in its
//! hook's [`Share`] (at most `max_instances_per_hook` at once) and one in
//! the pool (`max_instances`). Waiting for a slot counts against the
//! caller's deadline. With the store limits of [`limits`], the instances
//! admitted always fit the pooling allocator, whatever their components.
//!
//! - [`engine`]: engine configuration and the epoch ticker;
//! - [`cache`]: on-disk cache of compiled components;
//! - [`limits`]: limits and failure classification;
//! - [`grants`]: capabilities → WASI context;
//! - [`state`]: store data and the host functions guests import;
//! - [`output`]: bounded capture of guest stdout/stderr;
//! - [`bindings`]: generated bindings for `wit/`.

#[allow(missing_docs)]
pub mod bindings;
pub mod cache;
pub mod convert;
pub mod engine;
mod fsguard;
pub mod grants;
mod guards;
pub mod limits;
pub mod outbound;
mod output;
pub mod state;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

pub use cache::CacheStats;
pub use engine::Allocation;
pub use limits::{DeadlineExceeded, Limiter, MemoryBudget};
pub use state::State;

use crate::config::{Grants, Limits, WasmSettings};
use crate::failure::Failure;
use output::OutputCapture;

/// A future borrowing the store for the length of one guest call.
pub type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

/// One hook's (or plugin's) share of the instance pool.
pub type Share = Arc<Semaphore>;

/// The right to keep one instance alive: a place in its share and in the
/// pool, given back on drop.
pub struct Slot {
    _share: Option<OwnedSemaphorePermit>,
    _pool: OwnedSemaphorePermit,
}

/// An instance kept across calls (a plugin, a reused hook instance): its
/// store, what instantiating it gave (`bound`: bindings or exports) and the
/// slot it holds.
pub struct Live<B> {
    /// The instance's store.
    pub store: Store<State>,
    /// What instantiation returned.
    pub bound: B,
    _slot: Slot,
}

impl<B> Live<B> {
    /// The same instance, with what instantiation gave turned by `f`.
    pub fn map<C>(self, f: impl FnOnce(B) -> C) -> Live<C> {
        Live {
            store: self.store,
            bound: f(self.bound),
            _slot: self._slot,
        }
    }
}

/// Spare instances of all hooks: events served by a spare or (none ready)
/// by an instance made inline, and spares ready now.
#[derive(Debug, Default)]
pub struct SpareStats {
    /// Events that found a spare ready.
    pub served: AtomicU64,
    /// Events of hooks with spares that found none and instantiated inline.
    pub missed: AtomicU64,
    /// Spares ready now, all hooks together.
    pub ready: AtomicU64,
    /// Spares discarded because their `init` export failed (the hook then
    /// makes no more).
    pub init_failed: AtomicU64,
}

/// The shared WebAssembly runtime of a host.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<State>,
    cache: cache::CompileCache,
    cache_dir: Option<PathBuf>,
    components: Mutex<HashMap<String, Component>>,
    permits: Arc<Semaphore>,
    budget: Arc<MemoryBudget>,
    quotas: guards::Quotas,
    outbound: Arc<outbound::OutboundStats>,
    /// Places for all guests' outbound connections.
    net_budget: Arc<Semaphore>,
    spares: SpareStats,
    settings: WasmSettings,
    allocation: Allocation,
    /// The trusted keys (`hookhost.trust`), if signatures are checked.
    keyring: Option<crate::signature::Keyring>,
    /// What was loaded from each file: the digest and signers in force.
    provenance: Mutex<std::collections::BTreeMap<PathBuf, Provenance>>,
}

/// A component file, with what its bytes must be: the sha256 an entry pins
/// (`"sha256"`) and the keys its signature must be by (`"signed_by"`,
/// within `hookhost.trust`). A `&Path` is a file with neither.
#[derive(Clone, Copy, Debug)]
pub struct ComponentFile<'a> {
    /// The file.
    pub path: &'a Path,
    /// Its sha256, lowercase hex.
    pub sha256: Option<&'a str>,
    /// The trusted keys its signature must be by; empty: any trusted key.
    pub signed_by: &'a [PathBuf],
}

impl<'a> From<&'a Path> for ComponentFile<'a> {
    fn from(path: &'a Path) -> Self {
        ComponentFile {
            path,
            sha256: None,
            signed_by: &[],
        }
    }
}

impl<'a> From<&'a PathBuf> for ComponentFile<'a> {
    fn from(path: &'a PathBuf) -> Self {
        ComponentFile::from(path.as_path())
    }
}

/// What a loaded component file held: its digest and who signed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The sha256 of the bytes compiled, lowercase hex.
    pub sha256: String,
    /// The trusted key files that verify its signature (empty: unsigned, or
    /// signatures not checked).
    pub signed_by: Vec<PathBuf>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct RefusedLabels {
    reason: &'static str,
}

/// The guest a store is for: its name (logs, metrics), its limits and its
/// grants.
#[derive(Clone, Copy)]
pub struct Guest<'a> {
    /// The hook's or plugin's name.
    pub name: &'a Arc<str>,
    /// Its limits.
    pub limits: &'a Limits,
    /// What it may reach.
    pub grants: &'a Arc<Grants>,
}

impl Sandbox {
    /// Write the sandbox's metrics: outbound HTTP and spare instances.
    pub(crate) fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::DescriptorEncoder<'_>,
    ) -> crate::prom::Encoded {
        use crate::prom::{encode_counters, gauge, plain_counters};
        use std::sync::atomic::Ordering;
        let stats = self.outbound_stats();
        let spares = self.spare_stats();
        plain_counters(
            encoder,
            [
                (
                    "outbound_http_requests",
                    "Outbound HTTP requests guests sent (granted, checked)",
                    &stats.requests,
                ),
                (
                    "outbound_http_response_bytes",
                    "Response body bytes guests received",
                    &stats.bytes,
                ),
                (
                    "wasm_spares_served",
                    "Events served by a fresh instance made ahead (a spare)",
                    &spares.served,
                ),
                (
                    "wasm_spares_missed",
                    "Events of hooks with spares that found none ready and instantiated inline",
                    &spares.missed,
                ),
                (
                    "wasm_spares_init_failed",
                    "Spares discarded because their init export failed (the hook makes no more)",
                    &spares.init_failed,
                ),
            ],
        )?;
        gauge(
            encoder,
            "wasm_spares_ready",
            "Fresh instances made ahead and ready now, all hooks",
            spares.ready.load(Ordering::Relaxed) as i64,
        )?;
        encode_counters(
            encoder,
            "outbound_http_refused",
            "Outbound HTTP requests refused, by reason",
            outbound::Refusal::ALL
                .iter()
                .zip(&stats.refused)
                .map(|(reason, n)| {
                    (
                        RefusedLabels {
                            reason: reason.as_str(),
                        },
                        n.load(Ordering::Relaxed),
                    )
                }),
        )
    }

    /// Create the engine (and its epoch ticker) and the linker that provides
    /// WASI preview 2 and hookhost's imports. `cache_dir` enables the on-disk
    /// compile cache.
    pub fn new(settings: &WasmSettings, cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let functions = cache_dir
            .as_deref()
            .map(|dir| Arc::new(cache::FunctionCache::new(dir)));
        let (engine, allocation) = engine::build_engine(settings, functions.as_ref())?;
        engine::start_epoch_ticker(
            &engine,
            Duration::from_millis(settings.epoch_tick_ms.max(1)),
        )
        .map_err(|err| anyhow::anyhow!("cannot start the epoch ticker thread: {err}"))?;
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        // Linked for every guest; each request is checked against its grants.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)?;
        fsguard::add_to_linker(&mut linker).map_err(anyhow::Error::from)?;
        grants::add_environment_to_linker(&mut linker).map_err(anyhow::Error::from)?;
        bindings::shared::HostImports::add_to_linker::<_, wasmtime::component::HasSelf<State>>(
            &mut linker,
            |state| state,
        )
        .map_err(anyhow::Error::from)?;
        Ok(Sandbox {
            cache: cache::CompileCache::new(cache_dir.clone(), functions, &engine),
            cache_dir,
            engine,
            linker,
            components: Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(settings.max_instances.max(1) as usize)),
            budget: Arc::new(MemoryBudget::new(settings.memory_budget_bytes())),
            quotas: guards::Quotas::default(),
            outbound: Arc::default(),
            net_budget: Arc::new(Semaphore::new(outbound::descriptor_budget())),
            spares: SpareStats::default(),
            settings: settings.clone(),
            allocation,
            keyring: None,
            provenance: Mutex::default(),
        })
    }

    /// Check components' signatures against `keyring` from now on.
    pub fn with_trust(mut self, keyring: crate::signature::Keyring) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// The digest and signers of every component file loaded, as last
    /// loaded.
    pub fn provenance(&self) -> Vec<(PathBuf, Provenance)> {
        self.provenance
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(path, p)| (path.clone(), p.clone()))
            .collect()
    }

    /// The engine (for hookhost's own tests).
    #[cfg(feature = "internals")]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker with every import a hookhost guest may use (for
    /// hookhost's own tests).
    #[cfg(feature = "internals")]
    pub fn linker(&self) -> &Linker<State> {
        &self.linker
    }

    /// Engine-wide settings.
    pub fn settings(&self) -> &WasmSettings {
        &self.settings
    }

    /// Whether instances come from the pooling allocator.
    pub fn pooling(&self) -> bool {
        self.allocation == Allocation::Pooled
    }

    /// How instances are allocated, and why not pooled when not.
    pub fn allocation(&self) -> &Allocation {
        &self.allocation
    }

    /// The on-disk compile cache directory, if any.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    /// Compile-cache counters.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Outbound HTTP counters of all guests.
    pub fn outbound_stats(&self) -> &outbound::OutboundStats {
        &self.outbound
    }

    /// Spare-instance counters of all hooks.
    pub fn spare_stats(&self) -> &SpareStats {
        &self.spares
    }

    /// The memory budget of all running guests (for hookhost's own tests).
    #[cfg(feature = "internals")]
    pub fn memory_budget(&self) -> &MemoryBudget {
        &self.budget
    }

    /// A new share of the pool for one hook: at most
    /// `max_instances_per_hook` of its instances live at once.
    pub fn new_share(&self) -> Share {
        Arc::new(Semaphore::new(self.settings.instances_per_hook() as usize))
    }

    /// Load and compile a component (or take it from the in-memory or
    /// on-disk cache). Errors name the file and say what is wrong with it.
    #[cfg(feature = "internals")]
    pub fn load(&self, path: &Path) -> Result<Component, String> {
        self.load_checked(path.into())
    }

    /// Like [`Sandbox::load`], refusing a file whose sha256 is not the one
    /// `file` pins, or whose signature the trusted keys (`file.signed_by`)
    /// do not verify. The bytes checked are the bytes compiled.
    pub fn load_checked(&self, file: ComponentFile<'_>) -> Result<Component, String> {
        let path = file.path;
        let wasm = crate::files::read_regular(path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let sha256 = crate::signature::sha256_hex(&wasm);
        if let Some(expected) = file.sha256
            && !expected.eq_ignore_ascii_case(&sha256)
        {
            return Err(format!(
                "sha256 mismatch for {}: configured {expected}, file has {sha256}",
                path.display()
            ));
        }
        let signed_by = match &self.keyring {
            Some(keyring) => keyring.verify(path, &wasm, file.signed_by)?,
            None => Vec::new(),
        };
        self.provenance
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                path.to_owned(),
                Provenance {
                    sha256: sha256.clone(),
                    signed_by,
                },
            );
        if let Some(component) = self.cached(&sha256) {
            return Ok(component);
        }
        if !wasm.starts_with(b"\0asm") {
            let kind = if wasm.is_empty() {
                "an empty file"
            } else {
                "not WebAssembly"
            };
            return Err(format!(
                "{} is {kind} (a component starts with the bytes \\0asm; build it with `cargo build --target wasm32-wasip2` or componentize-py)",
                path.display()
            ));
        }
        if wasmparser_is_core_module(&wasm) {
            return Err(format!(
                "{} is a core WebAssembly module, not a component (build it for wasm32-wasip2, or wrap it with `wasm-tools component new`)",
                path.display()
            ));
        }
        // Compiled without the lock held: other loads go on meanwhile (two
        // loads of one new component may both compile it; the cache keeps
        // one).
        let component = self
            .cache
            .load(&self.engine, &wasm, &sha256)
            .map_err(|err| {
                format!(
                    "{} is not a valid WebAssembly component: {err:#}",
                    path.display()
                )
            })?;
        check_fits(&component).map_err(|why| format!("{} {why}", path.display()))?;
        self.components
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(sha256)
            .or_insert(component.clone());
        Ok(component)
    }

    fn cached(&self, sha256: &str) -> Option<Component> {
        self.components
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sha256)
            .cloned()
    }

    /// Load a component ([`Sandbox::load_checked`]) and check it against a
    /// world ([`Sandbox::check_world`]).
    pub fn prepare<P>(
        &self,
        file: ComponentFile<'_>,
        world: &str,
        make: impl FnOnce(wasmtime::component::InstancePre<State>) -> wasmtime::Result<P>,
    ) -> Result<P, String> {
        let component = self.load_checked(file)?;
        self.check_world(&component, file.path, world, make)
    }

    /// Check a loaded component (from `path`) against a world: its imports
    /// must all be provided and `make` must find the world's exports.
    pub fn check_world<P>(
        &self,
        component: &Component,
        path: &Path,
        world: &str,
        make: impl FnOnce(wasmtime::component::InstancePre<State>) -> wasmtime::Result<P>,
    ) -> Result<P, String> {
        let wrong_world = |err: wasmtime::Error| {
            format!(
                "{} does not implement the `{world}` world: {err:#}",
                path.display()
            )
        };
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(wrong_world)?;
        make(pre).map_err(wrong_world)
    }

    /// A place in `share` and in the pool for a spare instance, only if one
    /// is free now and at least half of the pool and of the memory budget
    /// stay free: spares never make an event wait, nor hold what events
    /// need when the host is busy.
    pub fn spare_slot(&self, share: &Share) -> Option<Slot> {
        let pool_free = self.permits.available_permits();
        if pool_free <= self.settings.max_instances.max(1) as usize / 2
            || self.budget.used() > self.budget.limit() / 2
        {
            return None;
        }
        let share = share.clone().try_acquire_owned().ok()?;
        let pool = self.permits.clone().try_acquire_owned().ok()?;
        Some(Slot {
            _share: Some(share),
            _pool: pool,
        })
    }

    /// Wait, until `deadline` at the latest, for a place in `share` (if
    /// any) and in the pool. `None` when the deadline passed first.
    pub async fn slot(&self, share: Option<&Share>, deadline: Instant) -> Option<Slot> {
        let deadline = tokio::time::Instant::from_std(deadline);
        let share = match share {
            Some(share) => Some(
                tokio::time::timeout_at(deadline, share.clone().acquire_owned())
                    .await
                    .ok()?
                    .expect("shares are never closed"),
            ),
            None => None,
        };
        let pool = tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .ok()?
            .expect("the pool semaphore is never closed");
        Some(Slot {
            _share: share,
            _pool: pool,
        })
    }

    /// A fresh store for one guest: WASI context from `grants`, memory
    /// limiter, captured output, epoch callback.
    pub fn new_store(
        &self,
        name: &Arc<str>,
        limits: &Limits,
        grants: &Arc<Grants>,
    ) -> Result<Store<State>, Failure> {
        let stdout = OutputCapture::new(limits.output_bytes);
        let stderr = OutputCapture::new(limits.output_bytes);
        let gate = outbound::NetGate::new(
            name.clone(),
            self.net_budget.clone(),
            limits.http_in_flight,
            limits.tcp_connections,
            self.outbound.clone(),
        );
        let wasi = grants::Wasi::new(name, grants, &stdout, &stderr, &gate)
            .map_err(|err| Failure::Error(format!("cannot grant capabilities: {err}")))?;
        let state = State::new(
            name.clone(),
            wasi,
            Limiter::new(limits.memory_bytes, self.budget.clone()),
            stdout,
            stderr,
            self.quotas.guards(grants),
            outbound::Outbound {
                name: name.clone(),
                rules: grants.http.clone(),
                deadline: Instant::now(),
                stats: self.outbound.clone(),
                gate,
            },
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                Err(DeadlineExceeded.into())
            } else {
                // Tokio's own yield, not wasmtime's: wasmtime's wakes the
                // call at once, so on a busy runtime it is polled again
                // before tasks whose wake-ups Tokio defers (a task out of
                // coop budget, a `yield_now`) until its next driver poll —
                // every 61 polls on a current-thread runtime: a busy guest
                // then held other events back ~60 ms at a time.
                Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ))
            }
        });
        Ok(store)
    }

    /// Instantiate a guest to keep: wait (until `deadline`) for a slot in
    /// `share` and the pool, build its store for `guest`, and run
    /// `instantiate` (given `context`, e.g. a pre-instance) under the
    /// guest's limits, as a call, by the same deadline.
    pub async fn instantiate<C: ?Sized, B, F>(
        &self,
        guest: Guest<'_>,
        share: Option<&Share>,
        deadline: Instant,
        context: &C,
        instantiate: F,
    ) -> Result<Live<B>, Failure>
    where
        F: for<'a> FnOnce(&'a mut Store<State>, &'a C) -> CallFuture<'a, B>,
    {
        let slot = self
            .slot(share, deadline)
            .await
            .ok_or(Failure::Timeout(guest.limits.timeout))?;
        self.instantiate_in(slot, guest, deadline, context, instantiate)
            .await
    }

    /// [`Sandbox::instantiate`] in a slot already held.
    pub async fn instantiate_in<C: ?Sized, B, F>(
        &self,
        slot: Slot,
        guest: Guest<'_>,
        deadline: Instant,
        context: &C,
        instantiate: F,
    ) -> Result<Live<B>, Failure>
    where
        F: for<'a> FnOnce(&'a mut Store<State>, &'a C) -> CallFuture<'a, B>,
    {
        let mut store = self.new_store(guest.name, guest.limits, guest.grants)?;
        let bound = self
            .call(&mut store, guest.limits, deadline, context, instantiate)
            .await?;
        Ok(Live {
            store,
            bound,
            _slot: slot,
        })
    }

    /// How long past a deadline the Tokio timeout waits before dropping a
    /// call: long enough for the epoch callback to trap a guest running
    /// wasm (which reports it cleanly), short enough that a guest parked in
    /// a host call is stopped at its deadline too.
    fn backstop(&self) -> Duration {
        Duration::from_millis(2 * self.settings.epoch_tick_ms.max(1) + 5)
    }

    /// Run one guest call under `limits`, ending by `deadline`: fuel,
    /// deadline (epochs, then a Tokio timeout for a guest parked in a host
    /// call), output flushed to the log, errors classified. `context` (a
    /// pre-instance, a plugin's bindings) is lent to `body` for the call.
    pub async fn call<C: ?Sized, R, F>(
        &self,
        store: &mut Store<State>,
        limits: &Limits,
        deadline: Instant,
        context: &C,
        body: F,
    ) -> Result<R, Failure>
    where
        F: for<'a> FnOnce(&'a mut Store<State>, &'a C) -> CallFuture<'a, R>,
    {
        let _ticking = engine::running();
        store.data_mut().begin_call(deadline);
        if self.settings.fuel
            && let Err(err) = store.set_fuel(limits.fuel)
        {
            return Err(Failure::Error(format!("cannot set fuel: {err}")));
        }
        // Check the deadline at the next tick (see `limits`).
        store.set_epoch_deadline(1);
        let stop = tokio::time::Instant::from_std(deadline + self.backstop());
        let result = tokio::time::timeout_at(stop, body(store, context)).await;
        let state = store.data_mut();
        let failure = match &result {
            Err(_) => {
                tracing::debug!(hook = %state.name, "stopped at its deadline inside a host call");
                Some(Failure::Timeout(limits.timeout))
            }
            Ok(Err(err)) => Some(limits::classify(
                err,
                state.limiter.hit,
                limits,
                &self.budget,
                &state.stderr.tail(300),
            )),
            Ok(Ok(_)) => None,
        };
        state.end_call();
        match (result, failure) {
            (Ok(Ok(value)), None) => Ok(value),
            (_, Some(failure)) => Err(failure),
            _ => unreachable!("a failure is computed for every error"),
        }
    }
}

/// Refuse at load a component no instance of which could ever be created
/// within the store limits of [`limits`].
fn check_fits(component: &Component) -> Result<(), String> {
    let Some(needs) = component.resources_required() else {
        return Err("imports core modules: a hookhost guest must bring its own".into());
    };
    if needs.num_memories as usize > limits::MAX_MEMORIES {
        return Err(format!(
            "needs {} linear memories; a guest may have at most {}",
            needs.num_memories,
            limits::MAX_MEMORIES
        ));
    }
    if needs.num_tables as usize > limits::MAX_TABLES {
        return Err(format!(
            "needs {} tables; a guest may have at most {}",
            needs.num_tables,
            limits::MAX_TABLES
        ));
    }
    Ok(())
}

/// The memory one instance of `component` needs just to be created, in
/// bytes: at least its largest initial memory.
pub fn initial_memory_bytes(component: &Component) -> u64 {
    component
        .resources_required()
        .and_then(|needs| needs.max_initial_memory_size)
        .unwrap_or(0)
        .saturating_mul(64 * 1024)
}

/// A core module starts with version 1 in its preamble; a component with the
/// component-model layer (0x0d 0x00 0x01 0x00).
fn wasmparser_is_core_module(wasm: &[u8]) -> bool {
    wasm.len() >= 8 && wasm[..4] == *b"\0asm" && wasm[4..8] == [1, 0, 0, 0]
}
