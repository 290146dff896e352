//! A hook with a shadow: a candidate component (`"shadow"` on the entry)
//! that runs on the same events with the same grants and limits, after the
//! hook has answered, and never decides. Its answers are compared with the
//! hook's: runs and disagreements are counted, each disagreement logged
//! with both answers and the event. A shadow never waits for a place: when
//! all of its places are busy the event is skipped for it and counted.
//!
//! Shadows run on a thread of their own ([`ShadowThread`]) at the lowest
//! CPU priority: a slow or busy candidate neither waits in the queues of
//! the workers that serve the hooks that decide, nor takes CPU time they
//! would use, and handing it over makes no system call on their path.

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use super::{Answer, EventRef, Exchange, Failure, Hook, HookKind, HookResult, SharedHook};
use crate::event::fs::http::encode_fs_event;
use crate::event::login::LoginEvent;
use crate::event::{Contract, FsEvent, ProviderEvent};
use prometheus_client::metrics::counter::Counter;

use super::outcome_label;

/// The counters of one hook's shadow (`"shadow"` on its entry).
#[derive(Clone, Debug, Default)]
pub(crate) struct ShadowMetrics {
    pub(crate) runs: Counter,
    pub(crate) disagreements: Counter,
    pub(crate) dropped: Counter,
}

/// A hook and its shadow.
pub(crate) struct Shadowed {
    primary: SharedHook,
    shadow: SharedHook,
    metrics: ShadowMetrics,
    places: Arc<Semaphore>,
}

impl Shadowed {
    /// `primary` answers; `shadow` runs after it on at most `places` events
    /// at once.
    pub(crate) fn new(
        primary: SharedHook,
        shadow: SharedHook,
        metrics: ShadowMetrics,
        places: usize,
    ) -> Self {
        Shadowed {
            primary,
            shadow,
            metrics,
            places: Arc::new(Semaphore::new(places.max(1))),
        }
    }
}

/// A shadow's run, handed to the shadow thread.
type Job = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The thread shadows run on: one for the process, with a runtime of its
/// own, niced to 19 (Linux nices threads one by one) so the scheduler gives
/// it only the CPU time the serving threads leave.
///
/// Handing a run over costs the serving thread a lock and a push, never a
/// system call while shadows are coming: the shadow thread takes what has
/// queued once per [`BATCH`], and only when a whole batch found nothing
/// does it sleep until the next run wakes it.
struct ShadowThread {
    queue: std::sync::Mutex<Vec<Job>>,
    idle: std::sync::atomic::AtomicBool,
    wake: tokio::sync::Notify,
}

/// How often the shadow thread takes the runs queued meanwhile.
const BATCH: std::time::Duration = std::time::Duration::from_millis(1);

impl ShadowThread {
    /// The process's shadow thread, started on first use; `None` if it
    /// cannot be started (shadows then run on the caller's runtime).
    fn get() -> Option<&'static Arc<ShadowThread>> {
        static THREAD: OnceLock<Option<Arc<ShadowThread>>> = OnceLock::new();
        THREAD.get_or_init(ShadowThread::start).as_ref()
    }

    fn start() -> Option<Arc<ShadowThread>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let thread = Arc::new(ShadowThread {
            queue: std::sync::Mutex::new(Vec::new()),
            idle: std::sync::atomic::AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
        });
        let shared = thread.clone();
        std::thread::Builder::new()
            .name("hookhost-shadow".into())
            .spawn(move || {
                // SAFETY: setpriority and gettid take plain integers; a
                // failure leaves the thread at the normal priority.
                unsafe {
                    libc::setpriority(libc::PRIO_PROCESS as _, libc::gettid() as _, 19);
                }
                runtime.block_on(shared.run());
            })
            .ok()?;
        Some(thread)
    }

    /// Hand `job` over.
    fn submit(&self, job: Job) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(job);
        if self.idle.swap(false, std::sync::atomic::Ordering::AcqRel) {
            self.wake.notify_one();
        }
    }

    /// The shadow thread's loop: start what has queued, batch by batch.
    async fn run(&self) {
        use std::sync::atomic::Ordering::AcqRel;
        loop {
            let jobs = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()));
            if jobs.is_empty() {
                // Nothing for a whole batch: sleep until a run comes (a
                // run queued after the look below finds `idle` set and
                // wakes; Notify keeps a wake-up that comes early).
                self.idle.store(true, std::sync::atomic::Ordering::Release);
                if self
                    .queue
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_empty()
                {
                    self.wake.notified().await;
                }
                self.idle.swap(false, AcqRel);
                continue;
            }
            for job in jobs {
                tokio::spawn(job);
            }
            tokio::time::sleep(BATCH).await;
        }
    }
}

/// An event the shadow runs on after the call has returned.
enum Owned {
    Fs(Box<FsEvent>),
    Provider(Box<ProviderEvent>),
    Login(Box<LoginEvent>),
}

impl Owned {
    fn of(event: EventRef<'_>) -> Owned {
        match event {
            EventRef::Fs(e) => Owned::Fs(Box::new(e.clone())),
            EventRef::Provider(e) => Owned::Provider(Box::new(e.clone())),
            EventRef::Login(e) => Owned::Login(Box::new(e.clone())),
        }
    }

    fn as_ref(&self) -> EventRef<'_> {
        match self {
            Owned::Fs(e) => EventRef::Fs(e),
            Owned::Provider(e) => EventRef::Provider(e),
            Owned::Login(e) => EventRef::Login(e),
        }
    }

    /// The event as the log shows it: a file-system event as SFTPGo's
    /// body (what `fire` and `replay` take), a provider event as its parts.
    fn text(&self, contract: &Contract) -> String {
        match self {
            Owned::Fs(e) => String::from_utf8_lossy(&encode_fs_event(e, contract))
                .trim_end()
                .to_owned(),
            Owned::Provider(e) => crate::event::record::provider_json(e).to_string(),
            Owned::Login(e) => format!("{e:?}"),
        }
    }
}

/// An answer as the disagreement log line shows it.
pub(crate) fn verdict(result: &HookResult) -> String {
    match result {
        Ok(Answer::Deny(reason)) => format!("deny: {reason}"),
        Ok(Answer::Reply(bytes)) => format!("answered: {}", String::from_utf8_lossy(bytes)),
        Ok(_) => outcome_label(result).to_owned(),
        Err(failure) => format!("{}: {failure}", outcome_label(result)),
    }
}

/// Whether two answers decide alike: the same outcome, and for a reply the
/// same bytes (a deny's reason may differ).
pub(crate) fn agree(a: &HookResult, b: &HookResult) -> bool {
    match (a, b) {
        (Ok(Answer::Reply(x)), Ok(Answer::Reply(y))) => x == y,
        _ => outcome_label(a) == outcome_label(b),
    }
}

#[async_trait::async_trait]
impl Hook for Shadowed {
    fn name(&self) -> &str {
        self.primary.name()
    }

    fn kind(&self) -> HookKind {
        self.primary.kind()
    }

    async fn call(&self, event: EventRef<'_>, contract: &Contract) -> HookResult {
        let result = self.primary.call(event, contract).await;
        let Ok(place) = self.places.clone().try_acquire_owned() else {
            self.metrics.dropped.inc();
            tracing::debug!(
                hook = self.primary.name(),
                "shadow skipped: all its places are busy"
            );
            return result;
        };
        let owned = Owned::of(event);
        let contract = *contract;
        let answered = result.clone();
        let shadow = self.shadow.clone();
        let metrics = self.metrics.clone();
        let name = self.primary.name().to_owned();
        let run = async move {
            let _place = place;
            let candidate = shadow.call(owned.as_ref(), &contract).await;
            metrics.runs.inc();
            let agreed = agree(&answered, &candidate);
            if !agreed {
                metrics.disagreements.inc();
                tracing::warn!(
                    hook = %name,
                    primary = %verdict(&answered),
                    shadow = %verdict(&candidate),
                    event = %owned.text(&contract),
                    "shadow disagrees"
                );
            }
            tracing::debug!(hook = %name, agreed, "shadow ran");
        };
        match ShadowThread::get() {
            Some(thread) => thread.submit(Box::pin(run)),
            None => drop(tokio::spawn(run)),
        }
        result
    }

    async fn exchange(&self, contract: &Contract) -> Result<Box<dyn Exchange>, Failure> {
        self.primary.exchange(contract).await
    }
}
