//! Embedding hookhost in a Rust program.
//!
//! Run with `cargo run --release -p hookhost --example embed`.
//!
//! A host is built from a configuration (here a JSON value; `Config::from_file`
//! reads SFTPGo's file) plus what the program adds itself: a native Rust hook
//! and a native notifier. Events are dispatched and their decisions read,
//! plugins are called, hookhost's HTTP routes are nested in the program's own
//! axum router, the configuration is reloaded while the host runs (the native
//! parts stay), and the host shuts down cleanly.

use std::sync::{Arc, Mutex};

use hookhost::config::NotifierOptions;
use hookhost::event::{
    Contract, FsAction, FsEvent, LogEvent, ObjectType, Protocol, ProviderAction, ProviderEvent,
};
use hookhost::hook::{Answer, EventRef, Hook, HookKind, HookResult};
use hookhost::plugin::NativeNotifier;
use hookhost::serve::RouterOptions;
use hookhost::{Config, Host, ReloadableHost};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A native hook: refuses file names with spaces, in Rust, in-process.
struct NoSpaces;

#[hookhost::hook::async_trait]
impl Hook for NoSpaces {
    fn name(&self) -> &str {
        "no-spaces"
    }

    fn kind(&self) -> HookKind {
        HookKind::Native
    }

    async fn call(&self, event: EventRef<'_>, _contract: &Contract) -> HookResult {
        Ok(match event {
            EventRef::Fs(ev) if ev.path.contains(' ') => {
                Answer::Deny("file names may not contain spaces".into())
            }
            _ => Answer::Allow,
        })
    }
}

/// A native notifier: keeps the actions it is told about.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

#[hookhost::hook::async_trait]
impl NativeNotifier for Journal {
    fn name(&self) -> &str {
        "journal"
    }

    async fn notify_fs(&self, event: &FsEvent) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", event.action, event.path));
        Ok(())
    }

    async fn notify_provider(&self, _event: &ProviderEvent) -> Result<(), String> {
        Ok(())
    }

    async fn notify_log(&self, _event: &LogEvent) -> Result<(), String> {
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Two exec hooks with SFTPGo's semantics: exit 0 allows, anything else denies.
    let config = json!({"common": {"actions": {"hooks": [
        {"name": "allow-uploads", "hook": "/bin/true", "execute_on": ["pre-upload"]},
        {"name": "deny-downloads", "hook": "/bin/false", "execute_on": ["pre-download"]}
    ]}}});
    let journal = Journal::default();
    let notifier_options = NotifierOptions {
        fs_events: vec![FsAction::PreUpload, FsAction::Upload],
        provider_events: vec![],
        provider_objects: vec![],
        log_events: vec![],
        retry_max_time: std::time::Duration::from_secs(60),
        retry_queue_max_size: 100,
        retry_interval: std::time::Duration::from_secs(30),
    };
    let builder = Host::builder(Config::from_value(config, ".".as_ref())?)
        .fs_hook(NoSpaces, &[FsAction::PreUpload])
        .notifier(journal.clone(), notifier_options);
    let host = Arc::new(ReloadableHost::build(builder).await?);

    for (action, path) in [
        (FsAction::PreUpload, "/srv/alice/report.pdf"),
        (FsAction::PreUpload, "/srv/alice/my report.pdf"),
        (FsAction::PreDownload, "/srv/alice/report.pdf"),
    ] {
        let event = FsEvent::new(action, "alice", path, Protocol::Sftp);
        let outcome = host.lease().await.dispatch(event).await;
        println!("{action} {path}: {:?}", outcome.decision);
    }

    // Provider events run asynchronously, as in SFTPGo.
    let user = json!({"username": "bob", "password": "never passed to hooks"});
    let outcome = host
        .lease()
        .await
        .dispatch(ProviderEvent::new(
            ProviderAction::Add,
            ObjectType::User,
            user,
        ))
        .await;
    println!("provider add: {:?}", outcome.decision);

    // Plugins (none configured here: every IP is allowed).
    let ip = host
        .lease()
        .await
        .plugins()
        .check_ip("203.0.113.7", "SSH")
        .await;
    println!(
        "check_ip: {}",
        if ip.is_ok() { "allowed" } else { "refused" }
    );

    // hookhost's routes nested in the program's own router, under /hooks.
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async { "the program's own page" }),
        )
        .nest(
            "/hooks",
            hookhost::serve::router(host.clone(), RouterOptions::default()),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let body =
        r#"{"action":"pre-upload","username":"alice","path":"/srv/a b.txt","protocol":"SFTP"}"#;
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream
        .write_all(
            format!(
                "POST /hooks/v1/actions/fs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    println!(
        "nested route: {}",
        answer.lines().next().unwrap_or_default()
    );

    // Reload: downloads are allowed from now on; the old host drains. The
    // native hook and notifier carry over.
    let reloaded = json!({"common": {"actions": {"hooks": [
        {"name": "allow-downloads", "hook": "/bin/true", "execute_on": ["pre-download"]}
    ]}}});
    let generation = host
        .reload(Config::from_value(reloaded, ".".as_ref())?)
        .await?;
    for (action, path) in [
        (FsAction::PreDownload, "/srv/alice/report.pdf"),
        (FsAction::PreUpload, "/srv/alice/my report.pdf"),
    ] {
        let event = FsEvent::new(action, "alice", path, Protocol::Sftp);
        let decision = host.lease().await.dispatch(event).await.decision;
        println!("after reload {generation}: {action} {path}: {decision:?}");
    }

    host.shutdown().await;
    println!("journal: {:?}", journal.0.lock().unwrap());
    Ok(())
}
