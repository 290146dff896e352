//! Reads of the configuration off the runtime: on a blocking-pool thread,
//! bounded in time, one at a time. A configuration file on a hung mount
//! then costs a refused reload and a log line, not a runtime worker (and
//! with it, on a two-core machine, half the server), and SIGTERM still
//! stops the server: the stuck thread is left behind (`main` shuts the
//! runtime down without waiting for it).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Duration;

/// How long a read of the configuration (and the files beside it) may take.
pub(super) const READ_LIMIT: Duration = Duration::from_secs(10);

/// Runs one blocking read at a time; while one is stuck, the next is
/// refused at once instead of piling up threads.
#[derive(Default)]
pub(super) struct Offload {
    busy: Arc<AtomicBool>,
}

/// Clears `busy` when the read returns, or panics.
struct Done(Arc<AtomicBool>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.store(false, SeqCst);
    }
}

impl Offload {
    /// Run `read` on a blocking thread; `what` names it in the error.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        what: &str,
        limit: Duration,
        read: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        if self.busy.swap(true, SeqCst) {
            return Err(format!(
                "{what}: an earlier read has still not returned (a hung mount?)"
            ));
        }
        let done = Done(self.busy.clone());
        let task = tokio::task::spawn_blocking(move || {
            let _done = done;
            read()
        });
        match tokio::time::timeout(limit, task).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(format!("{what}: the read panicked")),
            Err(_) => Err(format!(
                "{what}: no answer within {} s (a hung mount, or not a file?)",
                limit.as_secs_f64()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stuck_read_times_out_and_the_next_is_refused_until_it_returns() {
        let offload = Offload::default();
        let (release, stuck) = std::sync::mpsc::channel::<()>();
        let err = offload
            .run("reading x", Duration::from_millis(50), move || {
                stuck.recv().ok();
            })
            .await
            .unwrap_err();
        assert!(
            err.starts_with("reading x: no answer within 0.05 s"),
            "{err}"
        );
        let err = offload
            .run("reading x", Duration::from_millis(50), || ())
            .await
            .unwrap_err();
        assert!(
            err.contains("an earlier read has still not returned"),
            "{err}"
        );
        release.send(()).unwrap();
        // Once the stuck read returns, reads run again.
        loop {
            match offload.run("reading x", READ_LIMIT, || 7).await {
                Ok(v) => break assert_eq!(v, 7),
                Err(_) => tokio::task::yield_now().await,
            }
        }
    }
}
