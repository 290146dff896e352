//! [`ReloadableHost`]: a host that can be replaced while it runs.
//!
//! A reload builds the new host in the background (the old one keeps
//! serving), swaps it in, then retires the old host: work that holds a
//! [`HostLease`] on it finishes first, then its asynchronous hooks drain and
//! its notifiers flush. A configuration that cannot be built is refused and
//! the running host stays. Metrics continue across reloads, and the engine,
//! its instance pool and compiled components are reused when the engine
//! settings did not change.

use std::ops::Deref;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::{Mutex, OwnedRwLockReadGuard, RwLock};

use crate::config::Config;
use crate::host::{Error, Host, HostBuilder, Template};
use crate::metrics::Metrics;

struct Slot {
    host: Host,
    generation: u64,
    gate: Arc<RwLock<()>>,
}

/// The current host, held for the length of a piece of work (a request).
pub struct HostLease {
    slot: Arc<Slot>,
    _guard: OwnedRwLockReadGuard<()>,
}

impl Deref for HostLease {
    type Target = Host;
    fn deref(&self) -> &Host {
        &self.slot.host
    }
}

/// A host that can be reloaded with a new configuration.
pub struct ReloadableHost {
    slot: Arc<ArcSwap<Slot>>,
    metrics: Arc<Metrics>,
    /// What the builder added to the first configuration, added to every
    /// later one.
    template: Template,
    reloading: Mutex<()>,
    /// Generations being retired: shutdown waits for them too.
    retiring: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl ReloadableHost {
    /// Build the first host from `builder`; what the builder adds to its
    /// configuration (native hooks and notifiers, plugin environment, loop
    /// guard) applies to every configuration loaded later.
    pub async fn build(builder: HostBuilder) -> Result<Self, Error> {
        let metrics = Arc::new(Metrics::new());
        let template = builder.template();
        let host = builder.metrics(metrics.clone()).build().await?;
        Ok(ReloadableHost {
            slot: Arc::new(ArcSwap::from_pointee(Slot {
                host,
                generation: 1,
                gate: Arc::new(RwLock::new(())),
            })),
            metrics,
            template,
            reloading: Mutex::new(()),
            retiring: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Hold the current host for a piece of work; a reload waits for it
    /// before retiring that host. Never a host already retired: if a reload
    /// swapped it out while the lease waited, the lease is taken on the new
    /// one.
    pub async fn lease(&self) -> HostLease {
        loop {
            let slot = self.slot.load_full();
            let guard = slot.gate.clone().read_owned().await;
            if Arc::ptr_eq(&slot, &self.slot.load()) {
                return HostLease {
                    slot,
                    _guard: guard,
                };
            }
        }
    }

    /// How many configurations have been loaded (1 at start).
    pub fn generation(&self) -> u64 {
        self.slot.load().generation
    }

    /// The metrics all generations record into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Build a host from `config` and swap it in. On error nothing changes.
    /// The previous host is retired in the background.
    pub async fn reload(&self, config: Config) -> Result<u64, Error> {
        let _one_at_a_time = self.reloading.lock().await;
        let previous = self.slot.load_full();
        let host = HostBuilder::from_template(config, self.template.clone())
            .metrics(self.metrics.clone())
            .reuse_sandbox(previous.host.shared_sandbox())
            .reuse_journal(previous.host.shared_journal())
            .build()
            .await?;
        let generation = previous.generation + 1;
        let old = self.slot.swap(Arc::new(Slot {
            host,
            generation,
            gate: Arc::new(RwLock::new(())),
        }));
        let mut retiring = self.retiring.lock().unwrap_or_else(|e| e.into_inner());
        retiring.retain(|task| !task.is_finished());
        let current = self.slot.clone();
        retiring.push(tokio::spawn(async move {
            retire(&old).await;
            // What the old notifiers kept (journaled) goes to the current
            // configuration's.
            current.load().host.adopt_from(&old.host);
        }));
        Ok(generation)
    }

    /// Wait for the work in progress, then shut the current host down
    /// (drain its asynchronous hooks, flush its notifiers), and wait for
    /// every earlier generation still being retired.
    pub async fn shutdown(&self) {
        retire(&self.slot.load_full()).await;
        let retiring =
            std::mem::take(&mut *self.retiring.lock().unwrap_or_else(|e| e.into_inner()));
        for task in retiring {
            let _ = task.await;
        }
    }
}

async fn retire(slot: &Slot) {
    let _no_more_leases = slot.gate.write().await;
    slot.host.shutdown().await;
}
