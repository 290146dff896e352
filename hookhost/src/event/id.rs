//! The id of an accepted asynchronous event: made once when the event is
//! accepted, kept in its journal entry or queue message, so every delivery
//! of the event — a replay after a crash, a redelivery on another node —
//! carries the same id. Hooks get it to de-duplicate (delivery is at least
//! once): programs as `HOOKHOST_EVENT_ID`, URLs as the `Hookhost-Event-Id`
//! header. Synchronous calls have none.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable a program hook finds the id in.
pub const ENV: &str = "HOOKHOST_EVENT_ID";
/// The header a URL hook finds the id in.
pub const HEADER: &str = "hookhost-event-id";

tokio::task_local! {
    static CURRENT: Arc<str>;
}

/// A new id: unique across processes and nodes (this process's start time
/// and pid, and a counter), 32 hex digits.
pub(crate) fn new_id() -> Arc<str> {
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let start = *START.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        nanos ^ (u64::from(std::process::id()) << 40)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Arc::from(format!("{start:016x}{n:016x}"))
}

/// Run `work` (a hook's call) with `id` as the current event id.
pub(crate) async fn with<F: Future>(id: Arc<str>, work: F) -> F::Output {
    CURRENT.scope(id, work).await
}

/// The id of the event whose hook is running, if it has one.
pub(crate) fn current() -> Option<Arc<str>> {
    CURRENT.try_with(Arc::clone).ok()
}
