//! Spares: fresh instances of one hook made ready between events.
//!
//! An event takes a ready instance — never used before — and calls it; the
//! used instance is handed back to a background task that drops it and
//! makes the next spare, so instantiation and the slot's reset happen
//! between events instead of on their path. When no spare is ready (a
//! burst, or the pool or memory budget more than half used, see
//! [`Sandbox::spare_slot`](crate::sandbox::Sandbox::spare_slot)) the event
//! instantiates inline as without spares. A component exporting `init`
//! (`wit/hooks.wit`) has it run on each spare as it is made, so its start-up
//! work is off the event's path too. The task starts with the hook's first
//! event and ends when the hook is dropped (a reload).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{Notify, watch};

use super::{Bound, Instances};
use crate::failure::Failure;
use crate::sandbox::{Live, Slot, SpareStats};

pub(super) struct Spares {
    want: usize,
    ready: Mutex<Vec<Live<Bound>>>,
    /// Instances that served their event, to drop off the path.
    used: Mutex<Vec<Live<Bound>>>,
    wake: Notify,
    started: AtomicBool,
    closed: AtomicBool,
    /// How many are ready, for whoever wants to wait for it.
    count: watch::Sender<usize>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Spares {
    pub(super) fn new(want: u32) -> Self {
        Spares {
            want: want as usize,
            ready: Mutex::default(),
            used: Mutex::default(),
            wake: Notify::new(),
            started: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            count: watch::Sender::new(0),
        }
    }

    /// A ready instance, if any; starts the refill task on first use.
    pub(super) fn take(self: &Arc<Self>, core: &Arc<Instances>) -> Option<Live<Bound>> {
        if !self.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(refill(self.clone(), core.clone()));
        }
        let stats = core.sandbox.spare_stats();
        let mut ready = lock(&self.ready);
        let taken = ready.pop();
        // Published under the lock, so the count never goes stale.
        self.count.send_replace(ready.len());
        drop(ready);
        match taken {
            Some(live) => {
                stats.served.fetch_add(1, Ordering::Relaxed);
                stats.ready.fetch_sub(1, Ordering::Relaxed);
                Some(live)
            }
            None => {
                stats.missed.fetch_add(1, Ordering::Relaxed);
                self.wake.notify_one();
                None
            }
        }
    }

    /// Hand back an instance that served its event (or failed): the refill
    /// task drops it and makes the next spare. Beyond a few waiting, it is
    /// dropped here, so used instances never pile up holding slots.
    pub(super) fn retire(&self, live: Live<Bound>) {
        let mut used = lock(&self.used);
        if used.len() < self.want {
            used.push(live);
            drop(used);
        } else {
            drop(used);
            drop(live);
        }
        self.wake.notify_one();
    }

    /// Spares ready now, and every later change.
    #[cfg(feature = "internals")]
    pub(super) fn watch(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }

    /// Stop the refill task; it drops what it holds.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// Why a spare could not be made.
enum Unmade {
    /// Instantiating failed (the event that instantiates inline reports it).
    Instance(Failure),
    /// The component's `init` export failed.
    Init(Failure),
}

/// A spare in `slot`: a fresh instance, its WASI context built and its
/// `init` export run if it has one — while no event waits for it. One
/// deadline for all of it, as an event's covers instantiating and calling.
async fn make(core: &Instances, slot: Slot) -> Result<Live<Bound>, Unmade> {
    let deadline = Instant::now() + core.limits.timeout;
    let mut live = core
        .make_in(slot, deadline)
        .await
        .map_err(Unmade::Instance)?;
    live.store.data_mut().prepare_wasi();
    if let Some(init) = &core.init {
        let instance = live.bound.0;
        core.sandbox
            .call(
                &mut live.store,
                &core.limits,
                deadline,
                init,
                move |store, init| Box::pin(super::init::run(store, instance, init)),
            )
            .await
            .map_err(Unmade::Init)?;
    }
    Ok(live.map(|(_, bound)| bound))
}

/// Drop used instances, make spares up to the number wanted, sleep until
/// woken; on close, drop everything held.
async fn refill(spares: Arc<Spares>, core: Arc<Instances>) {
    let stats: &SpareStats = core.sandbox.spare_stats();
    while !spares.closed() {
        drop(std::mem::take(&mut *lock(&spares.used)));
        while lock(&spares.ready).len() < spares.want && !spares.closed() {
            let Some(slot) = core.sandbox.spare_slot(&core.share) else {
                break;
            };
            match make(&core, slot).await {
                Ok(live) => {
                    let mut ready = lock(&spares.ready);
                    ready.push(live);
                    stats.ready.fetch_add(1, Ordering::Relaxed);
                    spares.count.send_replace(ready.len());
                }
                Err(Unmade::Instance(failure)) => {
                    // The event that instantiates inline reports it.
                    tracing::debug!(hook = %core.name, error = %failure, "cannot make a spare instance");
                    break;
                }
                Err(Unmade::Init(failure)) => {
                    // Events never run `init` inline, so they may well
                    // succeed: stop paying for spares that cannot be made.
                    stats.init_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(hook = %core.name, error = %failure, "the hook's init export failed: no more spare instances for it, its events instantiate inline");
                    spares.close();
                    break;
                }
            }
            // Events queued meanwhile go first.
            tokio::task::yield_now().await;
        }
        spares.wake.notified().await;
    }
    let mut ready = lock(&spares.ready);
    let held = std::mem::take(&mut *ready);
    stats.ready.fetch_sub(held.len() as u64, Ordering::Relaxed);
    spares.count.send_replace(0);
    drop(ready);
    drop(held);
    drop(std::mem::take(&mut *lock(&spares.used)));
}
