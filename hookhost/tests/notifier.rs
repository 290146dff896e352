//! A native notifier through the public API: the events its options select
//! reach it in order, a refused one is retried from the queue, and the
//! counters say so. In memory (no component, no process).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use hookhost::config::NotifierOptions;
use hookhost::event::{
    FsAction, FsEvent, LogEvent, LogEventKind, ObjectType, Protocol, ProviderAction, ProviderEvent,
};
use hookhost::plugin::NativeNotifier;
use hookhost::{Config, Failure, Host};
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

    async fn notify_fs(&self, event: &FsEvent) -> Result<(), Failure> {
        {
            let mut refusals = self.refusals.lock().unwrap();
            if *refusals > 0 {
                *refusals -= 1;
                return Err(Failure::Error("not now".into()));
            }
        }
        let _ = self.seen.send(format!("{} {}", event.action, event.path));
        Ok(())
    }

    async fn notify_provider(&self, _: &ProviderEvent) -> Result<(), Failure> {
        Ok(())
    }

    async fn notify_log(&self, _: &LogEvent) -> Result<(), Failure> {
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

/// A notifier that sends a line for every event it gets, tagged with its name.
struct Recorder {
    name: &'static str,
    seen: mpsc::UnboundedSender<String>,
}

#[hookhost::hook::async_trait]
impl NativeNotifier for Recorder {
    fn name(&self) -> &str {
        self.name
    }

    async fn notify_fs(&self, event: &FsEvent) -> Result<(), Failure> {
        let _ = self
            .seen
            .send(format!("{}: fs {}", self.name, event.action));
        Ok(())
    }

    async fn notify_provider(&self, event: &ProviderEvent) -> Result<(), Failure> {
        let _ = self.seen.send(format!(
            "{}: provider {} {}",
            self.name,
            event.action.as_str(),
            event.object_type.as_str()
        ));
        Ok(())
    }

    async fn notify_log(&self, event: &LogEvent) -> Result<(), Failure> {
        let _ = self
            .seen
            .send(format!("{}: log {}", self.name, event.kind.as_str()));
        Ok(())
    }
}

#[tokio::test]
async fn each_notifier_gets_what_its_own_options_select() {
    let (seen, mut received) = mpsc::unbounded_channel();
    let config =
        Config::from_value(json!({"hookhost": {"cache_dir": ""}}), Path::new("/")).unwrap();
    let users = NotifierOptions {
        provider_events: vec![ProviderAction::Update],
        provider_objects: vec![ObjectType::User],
        log_events: vec![LogEventKind::LoginFailed],
        ..options(vec![], Duration::from_secs(30))
    };
    let host = Host::builder(config)
        .notifier(
            Recorder {
                name: "files",
                seen: seen.clone(),
            },
            options(vec![FsAction::Upload], Duration::from_secs(30)),
        )
        .notifier(
            Recorder {
                name: "users",
                seen,
            },
            users,
        )
        .build()
        .await
        .unwrap();
    let object = |t| {
        ProviderEvent::from_json(ProviderAction::Update, t, br#"{"username":"u","name":"g"}"#)
            .unwrap()
    };
    let log = |kind| LogEvent {
        kind,
        protocol: Protocol::Sftp,
        username: "u".into(),
        ip: "192.0.2.1".into(),
        message: String::new(),
        timestamp: None,
        role: None,
    };
    host.dispatch(event(FsAction::Upload, "/a")).await;
    host.dispatch(event(FsAction::Download, "/a")).await;
    host.dispatch(object(ObjectType::Group)).await;
    host.dispatch(object(ObjectType::User)).await;
    host.dispatch(log(LogEventKind::LoginOk)).await;
    host.dispatch(log(LogEventKind::LoginFailed)).await;
    host.shutdown().await;
    let mut got = Vec::new();
    while let Ok(line) = received.try_recv() {
        got.push(line);
    }
    got.sort();
    assert_eq!(
        got,
        [
            "files: fs upload",
            "users: log login_failed",
            "users: provider update user"
        ]
    );
}

#[tokio::test]
async fn a_notice_left_undelivered_is_kept_in_the_journal_and_delivered_after_a_restart() {
    let state = tempfile::tempdir().unwrap();
    let config = || {
        Config::from_value(
            json!({"hookhost": {"cache_dir": "", "state_dir": state.path()}}),
            Path::new("/"),
        )
        .unwrap()
    };
    let (seen, mut received) = mpsc::unbounded_channel();
    let refusing = Flaky {
        refusals: Mutex::new(usize::MAX),
        seen: seen.clone(),
    };
    let host = Host::builder(config())
        .notifier(
            refusing,
            options(vec![FsAction::Upload], Duration::from_secs(30)),
        )
        .build()
        .await
        .unwrap();
    host.dispatch(event(FsAction::Upload, "/kept")).await;
    host.shutdown().await;
    assert_eq!(host.journal_depth(), Some(1), "kept at shutdown");
    drop(host);
    let taking = Flaky {
        refusals: Mutex::new(0),
        seen,
    };
    let host = Host::builder(config())
        .notifier(
            taking,
            options(vec![FsAction::Upload], Duration::from_secs(30)),
        )
        .build()
        .await
        .unwrap();
    assert_eq!(received.recv().await.unwrap(), "upload /kept");
    host.shutdown().await;
    assert_eq!(host.journal_depth(), Some(0));
}
