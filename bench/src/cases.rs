//! What several tables share: a case (a host configuration and its
//! events), how its events are sent one after the other, and the runtimes
//! the rows run on.

use std::path::Path;
use std::time::{Duration, Instant};

use hookhost::event::{FsAction, FsEvent};
use hookhost::{Decision, Host};
use serde_json::{Value, json};

use crate::setup::{config, event};

/// Makes event `i` of a run.
pub(crate) type MakeEvent = fn(usize, FsAction) -> FsEvent;

/// Dispatch `n` events one after the other, checking every answer.
pub(crate) async fn sequential(
    host: &Host,
    n: usize,
    action: FsAction,
    make: MakeEvent,
) -> (Vec<Duration>, Duration) {
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let event = make(i, action);
        let exe = event.path.ends_with(".exe");
        let t = Instant::now();
        let outcome = host.dispatch(event).await;
        latencies.push(t.elapsed());
        assert_eq!(
            matches!(outcome.decision, Decision::Deny(_)),
            exe,
            "{:?}",
            outcome.decision
        );
    }
    (latencies, started.elapsed())
}

/// One row of an interleaved table: `n` pre-upload events through a
/// host built from `hooks` and engine settings `wasm`.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) hooks: Value,
    pub(crate) wasm: Value,
    pub(crate) n: usize,
    pub(crate) make: MakeEvent,
}

impl Case {
    pub(crate) fn new(name: &'static str, hooks: Value, n: usize) -> Self {
        Case {
            name,
            hooks,
            wasm: json!({}),
            n,
            make: event,
        }
    }

    /// The case's host, warmed up (caches, pools, connections).
    pub(crate) async fn warm_host(&self, cache: &Path) -> Result<Host, String> {
        let host = Host::new(config(self.hooks.clone(), cache, self.wasm.clone()))
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        sequential(&host, self.n.min(1_000), FsAction::PreUpload, self.make).await;
        Ok(host)
    }
}

/// Rounds each row is split into by the interleaved tables.
pub(crate) const ROUNDS: usize = 10;

pub(crate) fn two_workers() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}
