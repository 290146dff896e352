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

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::instance::{NotifierWorld, PluginInstance, PluginStats};
use crate::config::NotifierOptions;
use crate::event::{FsEvent, LogEvent, ProviderEvent};
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
}

/// A notifier written in Rust, beside the WebAssembly ones: it gets the
/// events its options select, with the same retry queue. An error makes the
/// host queue the event and retry it.
#[async_trait::async_trait]
pub trait NativeNotifier: Send + Sync + 'static {
    /// Its name, for logs and metrics.
    fn name(&self) -> &str;
    /// A file-system event (its timestamp set).
    async fn notify_fs(&self, event: &FsEvent) -> Result<(), String>;
    /// A provider event (its timestamp set).
    async fn notify_provider(&self, event: &ProviderEvent) -> Result<(), String>;
    /// A log event (its timestamp set).
    async fn notify_log(&self, event: &LogEvent) -> Result<(), String>;
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
        if result.is_err() {
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

struct Pending {
    payload: Payload,
    /// When hookhost received it, by its own clock: what ages the event.
    /// (A timestamp sent by a client says nothing trustworthy about age: a
    /// future one would never expire, a past one could never be retried.)
    received: std::time::Instant,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
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

    /// Queue a failed event if the rules allow, else drop it.
    fn requeue(&self, pending: Pending, why: &str) {
        let reason = if self.options.retry_max_time.is_zero() {
            Some("retry is disabled (retry_max_time 0)")
        } else if self.too_old(&pending) {
            Some("older than retry_max_time")
        } else {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            let max = self.options.retry_queue_max_size;
            if max > 0 && queue.len() >= max {
                Some("retry queue full")
            } else {
                queue.push_back(pending);
                None
            }
        };
        match reason {
            None => self.update(|_| {}),
            Some(reason) => {
                tracing::warn!(plugin = %self.name, reason, error = why, "notifier event dropped");
                self.update(|s| s.dropped += 1);
            }
        }
    }

    async fn send(&self, pending: &Pending) -> Result<(), String> {
        self.sink.deliver(&pending.payload).await
    }

    /// First delivery attempt of a new event.
    async fn deliver(&self, pending: Pending) {
        match self.send(&pending).await {
            Ok(()) => self.update(|s| s.delivered += 1),
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
                self.update(|s| s.dropped += 1);
                continue;
            }
            self.update(|s| s.retries += 1);
            match self.send(&pending).await {
                Ok(()) => self.update(|s| s.delivered += 1),
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

/// A running notifier plugin.
pub(crate) struct Notifier {
    shared: Arc<Shared>,
    inbox: std::sync::Mutex<Option<mpsc::Sender<Pending>>>,
    worker: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    stats: watch::Receiver<NotifierStats>,
}

impl Notifier {
    /// A notifier backed by a component.
    pub(crate) fn wasm(
        name: &str,
        options: NotifierOptions,
        instance: PluginInstance<NotifierWorld>,
    ) -> Self {
        let stats = instance.stats.clone();
        let instances = instance.size();
        Self::start(name, options, Box::new(instance), stats, instances)
    }

    /// A notifier backed by Rust code.
    pub(crate) fn native(notifier: Arc<dyn NativeNotifier>, options: NotifierOptions) -> Self {
        let stats = Arc::new(PluginStats::default());
        let name = notifier.name().to_owned();
        let sink = Native {
            notifier,
            stats: stats.clone(),
        };
        Self::start(&name, options, Box::new(sink), stats, 1)
    }

    fn start(
        name: &str,
        options: NotifierOptions,
        sink: Box<dyn Deliver>,
        plugin_stats: Arc<PluginStats>,
        instances: usize,
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
            // pass over the queue, then whatever is left is dropped.
            shared.retry_pass().await;
            let left =
                std::mem::take(&mut *shared.queue.lock().unwrap_or_else(|e| e.into_inner())).len();
            if left > 0 {
                tracing::warn!(plugin = %shared.name, dropped = left, "notifier events still undelivered at shutdown were dropped");
                shared.update(|s| s.dropped += left as u64);
            }
        });
        Notifier {
            shared,
            inbox: std::sync::Mutex::new(Some(sender)),
            worker: tokio::sync::Mutex::new(Some(worker)),
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

    fn submit(&self, payload: Payload) {
        let pending = Pending {
            payload,
            received: std::time::Instant::now(),
        };
        let inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(inbox) = inbox else {
            tracing::warn!(plugin = %self.shared.name, "notifier event after shutdown dropped");
            self.shared.update(|s| s.dropped += 1);
            return;
        };
        if let Err(mpsc::error::TrySendError::Full(pending)) = inbox.try_send(pending) {
            // The worker is behind. As SFTPGo does (a goroutine per event
            // waiting for a sending slot), the event waits for room rather
            // than being dropped before its first attempt; the caller does
            // not wait. Shutdown waits for these too (they hold the inbox).
            self.shared.update(|s| s.waiting += 1);
            let shared = self.shared.clone();
            tokio::spawn(async move {
                let _ = inbox.send(pending).await;
                shared.update(|s| s.waiting -= 1);
            });
        }
    }

    pub(crate) fn notify_fs(&self, event: &FsEvent) {
        if self.shared.options.fs_events.contains(&event.action) {
            self.submit(Payload::Fs(Arc::new(event.clone())).stamped());
        }
    }

    pub(crate) fn notify_provider(&self, event: &ProviderEvent) {
        let o = &self.shared.options;
        if o.provider_events.contains(&event.action)
            && o.provider_objects.contains(&event.object_type)
        {
            self.submit(Payload::Provider(Arc::new(event.clone())).stamped());
        }
    }

    pub(crate) fn notify_log(&self, event: &LogEvent) {
        if self.shared.options.log_events.contains(&event.kind) {
            self.submit(Payload::Log(Arc::new(event.clone())).stamped());
        }
    }

    /// Deliver one event the server in front already chose (its options
    /// select nothing here). With a retry queue (`retry_max_time` > 0) the
    /// event goes the way of every event and this answers at once; without
    /// one, the plugin is called now and its error returned, for the caller
    /// to retry (SFTPGo queues a refused event itself).
    pub(crate) async fn deliver(&self, payload: Payload) -> Result<(), String> {
        let payload = payload.stamped();
        if !self.shared.options.retry_max_time.is_zero() {
            self.submit(payload);
            return Ok(());
        }
        let result = self.shared.sink.deliver(&payload).await;
        if result.is_ok() {
            self.shared.update(|s| s.delivered += 1);
        }
        result
    }

    /// Stop taking events, deliver what is pending (within the rules) and
    /// wait for the worker.
    pub(crate) async fn shutdown(&self) {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(worker) = self.worker.lock().await.take() {
            let _ = worker.await;
        }
    }
}
