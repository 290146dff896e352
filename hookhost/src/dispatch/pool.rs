//! The bounded pool that runs asynchronous hooks.
//!
//! Jobs wait in a bounded queue for one of a fixed number of workers. A full
//! queue makes `submit` wait (back-pressure on the caller) rather than drop
//! an event. `shutdown` closes the queue and waits until every queued and
//! running job is done; each job is bounded by its hooks' own limits.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::FutureExt;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

/// A unit of asynchronous work.
pub(crate) type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

pub(crate) struct AsyncPool {
    sender: std::sync::Mutex<Option<mpsc::Sender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    in_flight: Arc<AtomicUsize>,
}

impl AsyncPool {
    /// Start `workers` workers behind a queue of `queue_size` jobs. Must be
    /// called inside a Tokio runtime.
    pub(crate) fn new(workers: usize, queue_size: usize) -> Self {
        // A zero-sized channel panics; an embedder's settings may skip
        // validation.
        let (sender, receiver) = mpsc::channel::<Job>(queue_size.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let handles = (0..workers.max(1))
            .map(|_| {
                let receiver = receiver.clone();
                let in_flight = in_flight.clone();
                tokio::spawn(async move {
                    loop {
                        let job = receiver.lock().await.recv().await;
                        let Some(job) = job else { break };
                        if AssertUnwindSafe(job).catch_unwind().await.is_err() {
                            tracing::error!(
                                "an asynchronous hook job panicked; the worker keeps running"
                            );
                        }
                        in_flight.fetch_sub(1, Ordering::AcqRel);
                    }
                })
            })
            .collect();
        AsyncPool {
            sender: std::sync::Mutex::new(Some(sender)),
            workers: Mutex::new(handles),
            in_flight,
        }
    }

    /// Queue a job, waiting while the queue is full. Gives the job back when
    /// the pool is shutting down.
    pub(crate) async fn submit(&self, job: Job) -> Result<(), Job> {
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(sender) = sender else {
            return Err(job);
        };
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        sender.send(job).await.map_err(|returned| {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            returned.0
        })
    }

    /// Jobs queued or running.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Stop accepting jobs and wait for every queued and running one.
    pub(crate) async fn shutdown(&self) {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        let handles = std::mem::take(&mut *self.workers.lock().await);
        for handle in handles {
            let _ = handle.await;
        }
    }
}
