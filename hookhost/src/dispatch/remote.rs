//! Asynchronous work on a shared queue ([`NatsQueue`]): accepted events are
//! published instead of queued in the local lanes, and every node runs a
//! consumer that pulls messages and runs the hook each one names.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{EventBox, Router, run_hook};
use crate::event::record::{self, Record};
use crate::hook::Answer;
use crate::queue::{Delivery, NatsQueue};

/// A node's side of the shared queue: the connection and its consumer task.
pub(crate) struct Remote {
    pub(crate) queue: Arc<NatsQueue>,
    /// Messages handled at once by this node.
    workers: usize,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Remote {
    pub(crate) fn new(queue: Arc<NatsQueue>, workers: usize) -> Self {
        Remote {
            queue,
            workers: workers.max(1),
            stop: watch::Sender::new(false),
            task: Mutex::new(None),
        }
    }

    /// Start consuming for the router `router(&owner)` (the host that owns
    /// it); stopped by [`Remote::stop`], or when the owner is gone. The
    /// consumer holds the owner weakly, and strongly only while it handles
    /// a batch: no reference cycle keeps a dropped host alive.
    pub(crate) fn start<T: Send + Sync + 'static>(
        &self,
        owner: Weak<T>,
        router: fn(&T) -> &Router,
    ) {
        let stop = self.stop.subscribe();
        let queue = self.queue.clone();
        let workers = self.workers;
        let task = tokio::spawn(async move { consume(queue, workers, owner, router, stop).await });
        *self.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        tokio::spawn(sample(self.queue.clone(), self.stop.subscribe()));
    }

    /// Stop pulling; the messages being handled finish (and are
    /// acknowledged), the rest stay in the stream.
    pub(crate) async fn stop(&self) {
        self.stop.send_replace(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

/// How often the queue's depth and oldest age are asked of JetStream.
const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// Keep the queue's depth and oldest age current for `/metrics` and
/// `/healthz`, until stopped.
async fn sample(queue: Arc<NatsQueue>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        if let Err(error) = queue.sample().await {
            tracing::debug!(%error, "queue: cannot sample its depth");
        }
    }
}

async fn consume<T>(
    queue: Arc<NatsQueue>,
    workers: usize,
    owner: Weak<T>,
    router: fn(&T) -> &Router,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let batch = tokio::select! {
            batch = queue.fetch(workers, Duration::from_secs(1)) => batch,
            _ = stop.changed() => break,
        };
        match batch {
            Ok(batch) => {
                // Messages pulled after the host went are redelivered to
                // another node once their ack_wait passes.
                let Some(owner) = owner.upgrade() else {
                    return;
                };
                let router = router(&owner);
                futures::future::join_all(
                    batch
                        .into_iter()
                        .map(|delivery| handle(router, &queue, delivery)),
                )
                .await;
            }
            Err(error) => {
                tracing::warn!(%error, "queue: pulling failed; trying again in 1 s");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => break,
                }
            }
        }
    }
}

/// Run the hook a message names on its event; acknowledge, or hand it back.
async fn handle(router: &Router, queue: &NatsQueue, delivery: Delivery) {
    let Some(route) = delivery
        .hook()
        .and_then(|name| router.routes.route_named(name))
    else {
        let reason = format!(
            "no hook named {:?} on this node",
            delivery.hook().unwrap_or("")
        );
        tracing::warn!(%reason, "queue message for an unknown hook");
        queue.failed(delivery, &reason, &Default::default()).await;
        return;
    };
    let retry = route.retry;
    let Some(delivery) = queue.over_limit(delivery, &retry).await else {
        return;
    };
    let decoded = match record::decode(delivery.record()) {
        Ok(decoded) => decoded,
        Err(error) => {
            queue
                .failed(delivery, &format!("unreadable record: {error}"), &retry)
                .await;
            return;
        }
    };
    let (event, contract) = match decoded.record {
        Record::Fs(event, contract) => (EventBox::Fs(Arc::new(*event)), contract),
        Record::Provider(event, contract) => (EventBox::Provider(Arc::new(event)), contract),
        Record::Login(event, contract) => (EventBox::Login(Arc::new(*event)), contract),
    };
    let report =
        crate::event::id::with(decoded.id, run_hook(route, event.as_ref(), &contract)).await;
    match &report.result {
        Ok(Answer::Allow | Answer::Handled | Answer::Reply(_)) => queue.done(delivery).await,
        Ok(Answer::Deny(reason)) => queue.failed(delivery, reason, &retry).await,
        Err(failure) => queue.failed(delivery, &failure.to_string(), &retry).await,
    }
}
