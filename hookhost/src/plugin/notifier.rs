//! Notifier plugins: events filtered by `notifier_options`, delivered by one
//! worker per plugin, with SFTPGo's retry queue.
//!
//! An event the plugin refuses (returns an error) or cannot take (its
//! instance is down) goes to the retry queue, unless `retry_max_time` is 0,
//! the event is already older than `retry_max_time` (its age counted from
//! when hookhost received it, by hookhost's clock), or the queue holds
//! `retry_queue_max_size` events (0: no limit); those events are dropped,
//! counted and logged. Every `retry_interval` (SFTPGo: 30 s) the queue is
//! re-sent in order; a pass stops at the first failure (the plugin is still
//! down) and keeps the rest queued. Events outgrowing `retry_max_time`
//! while queued are dropped and counted. Nothing inside those bounds is
//! lost: on shutdown the worker delivers what it has and makes one last pass
//! over the queue before counting the remainder as dropped.
//!
//! With a journal (`hookhost.state_dir`), an event a notifier takes is
//! written to it first (a plugin-gateway call is answered, and `serve`'s 200
//! sent, once it is on disk) and removed when delivered or dropped by the
//! rules above. What is still queued at shutdown stays in the journal
//! instead of being dropped: the next start, or the configuration a reload
//! brings in, delivers it (to the notifier of the same name), still aged
//! from when hookhost first received it.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::instance::{NotifierWorld, PluginInstance, PluginStats};
use crate::clock::{age_since_ms, now_ms, now_ns};
use crate::config::NotifierOptions;
use crate::event::{Event, FsEvent, LogEvent, ProviderEvent};
use crate::failure::Failure;
use crate::journal::notice::{Notice, encode_notice};
use crate::journal::{Journal, Table};
use crate::sandbox::convert::{to_wit_fs, to_wit_log, to_wit_provider};

/// Events waiting for the worker before their first delivery attempt;
/// more wait in tasks of their own (see [`Notifier::submit`]).
const INBOX: usize = 4096;

/// Delivery counters of one notifier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NotifierStats {
    /// Events delivered.
    pub delivered: u64,
    /// Delivery attempts of queued events.
    pub retries: u64,
    /// Events dropped (too old, queue full, retry disabled, or left at shutdown).
    pub dropped: u64,
    /// Events in the retry queue now.
    pub queued: u64,
    /// New events waiting for room in the inbox (the worker is behind).
    pub waiting: u64,
}

/// An event on its way to a notifier, timestamped.
#[derive(Clone)]
pub(crate) enum Payload {
    Fs(Arc<FsEvent>),
    Provider(Arc<ProviderEvent>),
    Log(Arc<LogEvent>),
}

impl Payload {
    /// With its timestamp set to now if the server sent none.
    fn stamped(self) -> Self {
        fn stamp<T: Clone>(
            event: Arc<T>,
            timestamp: impl Fn(&mut T) -> &mut Option<i64>,
        ) -> Arc<T> {
            let mut event = Arc::unwrap_or_clone(event);
            timestamp(&mut event).get_or_insert_with(now_ns);
            Arc::new(event)
        }
        match self {
            Payload::Fs(e) => Payload::Fs(stamp(e, |e| &mut e.timestamp)),
            Payload::Provider(e) => Payload::Provider(stamp(e, |e| &mut e.timestamp)),
            Payload::Log(e) => Payload::Log(stamp(e, |e| &mut e.timestamp)),
        }
    }

    fn notice(&self) -> Notice<'_> {
        match self {
            Payload::Fs(e) => Notice::Fs(e),
            Payload::Provider(e) => Notice::Provider(e),
            Payload::Log(e) => Notice::Log(e),
        }
    }
}

impl From<Event> for Payload {
    fn from(event: Event) -> Self {
        match event {
            Event::Fs(e) => Payload::Fs(Arc::new(e)),
            Event::Provider(e) => Payload::Provider(Arc::new(e)),
            Event::Log(e) => Payload::Log(Arc::new(e)),
        }
    }
}

/// A notifier written in Rust, beside the WebAssembly ones: it gets the
/// events its options select, with the same retry queue. An error (a
/// [`Failure`], as a native hook's) makes the host queue the event and
/// retry it.
#[async_trait::async_trait]
pub trait NativeNotifier: Send + Sync + 'static {
    /// Its name, for logs and metrics.
    fn name(&self) -> &str;
    /// A file-system event (its timestamp set).
    async fn notify_fs(&self, event: &FsEvent) -> Result<(), Failure>;
    /// A provider event (its timestamp set).
    async fn notify_provider(&self, event: &ProviderEvent) -> Result<(), Failure>;
    /// A log event (its timestamp set).
    async fn notify_log(&self, event: &LogEvent) -> Result<(), Failure>;
}

/// Where a notifier's events go: a component or a native notifier.
#[async_trait::async_trait]
pub(crate) trait Deliver: Send + Sync + 'static {
    async fn deliver(&self, payload: &Payload) -> Result<(), String>;
}

#[async_trait::async_trait]
impl Deliver for PluginInstance<NotifierWorld> {
    async fn deliver(&self, payload: &Payload) -> Result<(), String> {
        let payload = payload.clone();
        let result = self
            .call(move |store, n| {
                Box::pin(async move {
                    let notifier = n.hookhost_hooks_notifier();
                    match &payload {
                        Payload::Fs(event) => {
                            notifier
                                .call_notify_fs_event(store, &to_wit_fs(event))
                                .await
                        }
                        Payload::Provider(event) => {
                            notifier
                                .call_notify_provider_event(store, &to_wit_provider(event))
                                .await
                        }
                        Payload::Log(event) => {
                            let timestamp = event.timestamp.unwrap_or_default();
                            notifier
                                .call_notify_log_event(store, &to_wit_log(event, timestamp))
                                .await
                        }
                    }
                })
            })
            .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(message),
            Err(failure) => Err(failure.to_string()),
        }
    }
}

/// A native notifier with the counters a plugin has.
pub(crate) struct Native {
    pub(crate) notifier: Arc<dyn NativeNotifier>,
    pub(crate) stats: Arc<PluginStats>,
}

#[async_trait::async_trait]
impl Deliver for Native {
    async fn deliver(&self, payload: &Payload) -> Result<(), String> {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let result = match payload {
            Payload::Fs(event) => self.notifier.notify_fs(event).await,
            Payload::Provider(event) => self.notifier.notify_provider(event).await,
            Payload::Log(event) => self.notifier.notify_log(event).await,
        };
        result.map_err(|failure| {
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
            failure.to_string()
        })
    }
}

/// An event a notifier took and has not delivered or dropped yet.
pub(crate) struct Pending {
    payload: Payload,
    /// When hookhost received it, by its own clock: what ages the event.
    /// (A timestamp sent by a client says nothing trustworthy about age: a
    /// future one would never expire, a past one could never be retried.)
    received: Instant,
    /// Its journal entry, when the host keeps one.
    entry: Option<u64>,
}

impl Pending {
    /// An event read back from the journal (entry `entry`), received at
    /// `received_ms` (Unix milliseconds).
    pub(crate) fn from_journal(event: Event, received_ms: i64, entry: u64) -> Self {
        Pending {
            payload: Payload::from(event),
            received: Instant::now()
                .checked_sub(age_since_ms(received_ms))
                .unwrap_or_else(Instant::now),
            entry: Some(entry),
        }
    }
}

/// State shared by the handle and the worker.
struct Shared {
    name: String,
    options: NotifierOptions,
    sink: Box<dyn Deliver>,
    plugin_stats: Arc<PluginStats>,
    instances: usize,
    queue: Mutex<VecDeque<Pending>>,
    stats: watch::Sender<NotifierStats>,
    journal: Option<Arc<Journal>>,
}

impl Shared {
    fn update(&self, change: impl FnOnce(&mut NotifierStats)) {
        self.stats.send_modify(|stats| {
            change(stats);
            stats.queued = self.queue.lock().unwrap_or_else(|e| e.into_inner()).len() as u64;
        });
    }

    fn too_old(&self, pending: &Pending) -> bool {
        pending.received.elapsed() > self.options.retry_max_time
    }

    /// The event is delivered or dropped: forget its journal entry.
    fn finish(&self, pending: &Pending) {
        if let (Some(journal), Some(entry)) = (&self.journal, pending.entry) {
            journal.remove(Table::Notices, entry);
        }
    }

    fn drop_event(&self, pending: &Pending) {
        self.finish(pending);
        self.update(|s| s.dropped += 1);
    }

    fn delivered(&self, pending: &Pending) {
        self.finish(pending);
        self.update(|s| s.delivered += 1);
    }

    /// Queue a failed event if the rules allow, else drop it.
    fn requeue(&self, pending: Pending, why: &str) {
        let reason = if self.options.retry_max_time.is_zero() {
            "retry is disabled (retry_max_time 0)"
        } else if self.too_old(&pending) {
            "older than retry_max_time"
        } else {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            let max = self.options.retry_queue_max_size;
            if max == 0 || queue.len() < max {
                queue.push_back(pending);
                drop(queue);
                self.update(|_| {});
                return;
            }
            "retry queue full"
        };
        tracing::warn!(plugin = %self.name, reason, error = why, "notifier event dropped");
        self.drop_event(&pending);
    }

    async fn send(&self, pending: &Pending) -> Result<(), String> {
        self.sink.deliver(&pending.payload).await
    }

    /// First delivery attempt of a new event.
    async fn deliver(&self, pending: Pending) {
        match self.send(&pending).await {
            Ok(()) => self.delivered(&pending),
            Err(error) => {
                tracing::warn!(plugin = %self.name, %error, "notifier refused an event; queuing it for retry");
                self.requeue(pending, &error);
            }
        }
    }

    /// Re-send the queue in order, stopping at the first failure.
    async fn retry_pass(&self) {
        let mut batch = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()));
        while let Some(pending) = batch.pop_front() {
            if self.too_old(&pending) {
                tracing::warn!(plugin = %self.name, "queued notifier event dropped: older than retry_max_time");
                self.drop_event(&pending);
                continue;
            }
            self.update(|s| s.retries += 1);
            match self.send(&pending).await {
                Ok(()) => self.delivered(&pending),
                Err(error) => {
                    // Still down: keep this one and the rest, in order, ahead
                    // of anything queued meanwhile.
                    let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                    let newer = std::mem::take(&mut *queue);
                    queue.push_back(pending);
                    queue.extend(batch);
                    queue.extend(newer);
                    drop(queue);
                    tracing::debug!(plugin = %self.name, %error, "notifier still refusing; retry later");
                    self.update(|_| {});
                    return;
                }
            }
        }
    }
}

/// Waits for a notifier to have taken an event (on disk, with a journal).
pub(crate) type Taking = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'static>>;

/// A running notifier plugin.
pub(crate) struct Notifier {
    shared: Arc<Shared>,
    inbox: std::sync::Mutex<Option<mpsc::Sender<Pending>>>,
    worker: tokio::sync::Mutex<Option<JoinHandle<Vec<Pending>>>>,
    /// What was still queued at shutdown and is kept in the journal.
    left: Mutex<Vec<Pending>>,
    stats: watch::Receiver<NotifierStats>,
}

impl Notifier {
    /// A notifier backed by a component.
    pub(crate) fn wasm(
        name: &str,
        options: NotifierOptions,
        instance: PluginInstance<NotifierWorld>,
        journal: Option<Arc<Journal>>,
    ) -> Self {
        let stats = instance.stats.clone();
        let instances = instance.size();
        Self::start(name, options, Box::new(instance), stats, instances, journal)
    }

    /// A notifier backed by Rust code.
    pub(crate) fn native(
        notifier: Arc<dyn NativeNotifier>,
        options: NotifierOptions,
        journal: Option<Arc<Journal>>,
    ) -> Self {
        let stats = Arc::new(PluginStats::default());
        let name = notifier.name().to_owned();
        let sink = Native {
            notifier,
            stats: stats.clone(),
        };
        Self::start(&name, options, Box::new(sink), stats, 1, journal)
    }

    fn start(
        name: &str,
        options: NotifierOptions,
        sink: Box<dyn Deliver>,
        plugin_stats: Arc<PluginStats>,
        instances: usize,
        journal: Option<Arc<Journal>>,
    ) -> Self {
        let (stats_tx, stats_rx) = watch::channel(NotifierStats::default());
        let interval = options.retry_interval;
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            options,
            sink,
            plugin_stats,
            instances,
            queue: Mutex::new(VecDeque::new()),
            stats: stats_tx,
            journal,
        });
        let (sender, mut receiver) = mpsc::channel::<Pending>(INBOX);
        let worker_shared = shared.clone();
        let worker = tokio::spawn(async move {
            let shared = worker_shared;
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                tokio::select! {
                    next = receiver.recv() => match next {
                        Some(pending) => shared.deliver(pending).await,
                        None => break,
                    },
                    _ = ticker.tick() => shared.retry_pass().await,
                }
            }
            // Shutdown: the inbox is drained (recv returned None); one last
            // pass over the queue. What is left is dropped, or, with a
            // journal, kept there for whoever comes next.
            shared.retry_pass().await;
            // (An event the journal could not take is in memory only.)
            let (kept, dropped): (Vec<Pending>, Vec<Pending>) =
                std::mem::take(&mut *shared.queue.lock().unwrap_or_else(|e| e.into_inner()))
                    .into_iter()
                    .partition(|p| p.entry.is_some());
            if !kept.is_empty() {
                tracing::warn!(plugin = %shared.name, kept = kept.len(), "notifier events still undelivered at shutdown are kept in the journal");
                shared.update(|_| {});
            }
            if !dropped.is_empty() {
                tracing::warn!(plugin = %shared.name, dropped = dropped.len(), "notifier events still undelivered at shutdown were dropped");
                shared.update(|s| s.dropped += dropped.len() as u64);
            }
            kept
        });
        Notifier {
            shared,
            inbox: std::sync::Mutex::new(Some(sender)),
            worker: tokio::sync::Mutex::new(Some(worker)),
            left: Mutex::new(Vec::new()),
            stats: stats_rx,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.shared.name
    }

    /// Its call counters.
    pub(crate) fn plugin_stats(&self) -> &Arc<PluginStats> {
        &self.shared.plugin_stats
    }

    /// Instances in its pool (1 for a native notifier).
    pub(crate) fn instances(&self) -> usize {
        self.shared.instances
    }

    /// Delivery counters, updated as they change.
    pub(crate) fn stats(&self) -> watch::Receiver<NotifierStats> {
        self.stats.clone()
    }

    /// Hand an event to the worker (returns at once).
    fn enqueue(&self, pending: Pending) {
        let inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner()).clone();
        enqueue(&self.shared, inbox, pending);
    }

    /// Take an event: written to the journal first when there is one (the
    /// returned future resolves once it is on disk), then handed to the
    /// worker. With `in_memory_on_failure`, an event the journal cannot
    /// take is still delivered (logged: a crash would lose it); without,
    /// the write's error is the answer and the event is not taken.
    fn take(&self, payload: Payload, in_memory_on_failure: bool) -> Taking {
        let pending = Pending {
            payload,
            received: Instant::now(),
            entry: None,
        };
        let Some(journal) = &self.shared.journal else {
            self.enqueue(pending);
            return Box::pin(std::future::ready(Ok(())));
        };
        let written = journal.append_now(
            Table::Notices,
            encode_notice(&self.shared.name, pending.payload.notice(), now_ms()),
        );
        let shared = self.shared.clone();
        let inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Box::pin(async move {
            let mut pending = pending;
            match written.await {
                Ok(entry) => pending.entry = Some(entry),
                Err(error) if in_memory_on_failure => {
                    tracing::error!(plugin = %shared.name, %error, "notifier event not journaled; delivering it from memory");
                }
                Err(error) => return Err(error),
            }
            enqueue(&shared, inbox, pending);
            Ok(())
        })
    }

    pub(crate) fn notify_fs(&self, event: &FsEvent) -> Option<Taking> {
        self.shared
            .options
            .fs_events
            .contains(&event.action)
            .then(|| self.take(Payload::Fs(Arc::new(event.clone())).stamped(), true))
    }

    pub(crate) fn notify_provider(&self, event: &ProviderEvent) -> Option<Taking> {
        let o = &self.shared.options;
        (o.provider_events.contains(&event.action)
            && o.provider_objects.contains(&event.object_type))
        .then(|| self.take(Payload::Provider(Arc::new(event.clone())).stamped(), true))
    }

    pub(crate) fn notify_log(&self, event: &LogEvent) -> Option<Taking> {
        self.shared
            .options
            .log_events
            .contains(&event.kind)
            .then(|| self.take(Payload::Log(Arc::new(event.clone())).stamped(), true))
    }

    /// Deliver one event the server in front already chose (its options
    /// select nothing here). With a retry queue (`retry_max_time` > 0) the
    /// event goes the way of every event and this answers once it is taken
    /// (on disk, with a journal; a journal that cannot take it is the
    /// answer, for the caller to retry); without one, the plugin is called
    /// now and its error returned, for the caller to retry (SFTPGo queues a
    /// refused event itself).
    pub(crate) async fn deliver(&self, payload: Payload) -> Result<(), String> {
        let payload = payload.stamped();
        if !self.shared.options.retry_max_time.is_zero() {
            return self.take(payload, false).await;
        }
        let result = self.shared.sink.deliver(&payload).await;
        if result.is_ok() {
            self.shared.update(|s| s.delivered += 1);
        }
        result
    }

    /// Take events read back from the journal, or kept by the notifier of
    /// the same name in the configuration before a reload: each gets a
    /// delivery attempt now and the retry rules after, aged from when it
    /// was first received.
    pub(crate) fn adopt(&self, pending: Vec<Pending>) {
        for pending in pending {
            self.enqueue(pending);
        }
    }

    /// Stop taking events, deliver what is pending (within the rules) and
    /// wait for the worker.
    pub(crate) async fn shutdown(&self) {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(worker) = self.worker.lock().await.take() {
            let left = worker.await.unwrap_or_default();
            self.left
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(left);
        }
    }

    /// Drop an event this notifier kept (counted, its entry removed).
    pub(crate) fn forget(&self, pending: &Pending) {
        self.shared.drop_event(pending);
    }

    /// What was still queued at shutdown, kept in the journal.
    pub(crate) fn take_left(&self) -> Vec<Pending> {
        std::mem::take(&mut *self.left.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Hand an event to the worker through `inbox` (None: shut down).
fn enqueue(shared: &Arc<Shared>, inbox: Option<mpsc::Sender<Pending>>, pending: Pending) {
    let Some(inbox) = inbox else {
        tracing::warn!(plugin = %shared.name, "notifier event after shutdown dropped");
        shared.drop_event(&pending);
        return;
    };
    if let Err(mpsc::error::TrySendError::Full(pending)) = inbox.try_send(pending) {
        // The worker is behind. As SFTPGo does (a goroutine per event
        // waiting for a sending slot), the event waits for room rather
        // than being dropped before its first attempt; the caller does
        // not wait. Shutdown waits for these too (they hold the inbox).
        shared.update(|s| s.waiting += 1);
        let shared = shared.clone();
        tokio::spawn(async move {
            let _ = inbox.send(pending).await;
            shared.update(|s| s.waiting -= 1);
        });
    }
}
