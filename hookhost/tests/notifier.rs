//! A native notifier through the public API: the events its options select
//! reach it in order, a refused one is retried from the queue, and the
//! counters say so. In memory (no component, no process).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use hookhost::config::NotifierOptions;
use hookhost::event::{FsAction, FsEvent, LogEvent, Protocol, ProviderEvent};
use hookhost::plugin::NativeNotifier;
use hookhost::{Config, Host};
use serde_json::json;
use tokio::sync::mpsc;

/// Refuses its first `refusals` events, then takes each one and sends its
/// action and path on.
struct Flaky {
    refusals: Mutex<usize>,
    seen: mpsc::UnboundedSender<String>,
}

#[hookhost::hook::async_trait]
impl NativeNotifier for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }

    async fn notify_fs(&self, event: &FsEvent) -> Result<(), String> {
        {
            let mut refusals = self.refusals.lock().unwrap();
            if *refusals > 0 {
                *refusals -= 1;
                return Err("not now".into());
            }
        }
        let _ = self.seen.send(format!("{} {}", event.action, event.path));
        Ok(())
    }

    async fn notify_provider(&self, _: &ProviderEvent) -> Result<(), String> {
        Ok(())
    }

    async fn notify_log(&self, _: &LogEvent) -> Result<(), String> {
        Ok(())
    }
}

fn options(fs_events: Vec<FsAction>, retry_interval: Duration) -> NotifierOptions {
    NotifierOptions {
        fs_events,
        provider_events: vec![],
        provider_objects: vec![],
        log_events: vec![],
        retry_max_time: Duration::from_secs(60),
        retry_queue_max_size: 10,
        retry_interval,
    }
}

async fn host_with(
    refusals: usize,
    options: NotifierOptions,
) -> (Host, mpsc::UnboundedReceiver<String>) {
    let (seen, received) = mpsc::unbounded_channel();
    let config =
        Config::from_value(json!({"hookhost": {"cache_dir": ""}}), Path::new("/")).unwrap();
    let host = Host::builder(config)
        .notifier(
            Flaky {
                refusals: Mutex::new(refusals),
                seen,
            },
            options,
        )
        .build()
        .await
        .unwrap();
    (host, received)
}

fn event(action: FsAction, path: &str) -> FsEvent {
    FsEvent::new(action, "alice", path, Protocol::Sftp)
}

#[tokio::test]
async fn only_the_selected_events_reach_a_notifier_in_order() {
    let (host, mut seen) = host_with(
        0,
        options(
            vec![FsAction::Upload, FsAction::Delete],
            Duration::from_secs(30),
        ),
    )
    .await;
    for (action, path) in [
        (FsAction::Download, "/a"),
        (FsAction::Upload, "/b"),
        (FsAction::PreUpload, "/c"),
        (FsAction::Delete, "/d"),
    ] {
        host.dispatch(event(action, path)).await;
    }
    // One inbox per notifier: had the download been sent, it would come first.
    assert_eq!(seen.recv().await.unwrap(), "upload /b");
    assert_eq!(seen.recv().await.unwrap(), "delete /d");
    // Shutdown delivers what is pending: nothing else was sent.
    host.shutdown().await;
    assert!(seen.try_recv().is_err(), "nothing else");
}

#[tokio::test]
async fn a_refused_event_is_queued_and_retried_until_taken() {
    let (host, mut seen) = host_with(
        2,
        options(vec![FsAction::Upload], Duration::from_millis(20)),
    )
    .await;
    host.dispatch(event(FsAction::Upload, "/b")).await;
    // Refused twice, then taken from the retry queue.
    assert_eq!(seen.recv().await.unwrap(), "upload /b");
    let info = host.plugins().info();
    let mut stats = info[0].notifier.clone().expect("a notifier's counters");
    let stats = *stats
        .wait_for(|s| s.delivered == 1 && s.queued == 0)
        .await
        .unwrap();
    assert!(stats.retries >= 2, "{stats:?}");
    assert_eq!(stats.dropped, 0, "{stats:?}");
    host.shutdown().await;
}
