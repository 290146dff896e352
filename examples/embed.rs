//! Embedding hookhost in a Rust program: the sandbox, the hooks and the
//! dispatcher alone (`hookhost = { default-features = false }`: no HTTP
//! server, no gRPC, no journal, no NATS).
//!
//! Run with `cargo run --release -p hookhost --no-default-features
//! --example embed -- [COMPONENT.wasm]`; with a component (e.g. the
//! `deny-exe` example, built by `cargo build --release --target
//! wasm32-wasip2` in `examples/`), it also runs as a wasm hook on
//! pre-upload.
//!
//! A host is built from a configuration (here a JSON value; `Config::from_file`
//! reads SFTPGo's file) plus what the program adds itself: a native Rust hook
//! and a native notifier. Events are dispatched and their decisions read,
//! plugins are called, the configuration is reloaded while the host runs (the
//! native parts stay), and the host shuts down cleanly. `embed_serve` shows
//! hookhost's HTTP routes nested in a program's own axum router.

use std::sync::{Arc, Mutex};

use hookhost::config::NotifierOptions;
use hookhost::event::{
    Contract, FsAction, FsEvent, LogEvent, ObjectType, Protocol, ProviderAction, ProviderEvent,
};
use hookhost::hook::{Answer, EventRef, Hook, HookKind, HookResult};
use hookhost::plugin::NativeNotifier;
use hookhost::{Config, Failure, Host, ReloadableHost};
use serde_json::json;

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

    async fn notify_fs(&self, event: &FsEvent) -> Result<(), Failure> {
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", event.action, event.path));
        Ok(())
    }

    async fn notify_provider(&self, _event: &ProviderEvent) -> Result<(), Failure> {
        Ok(())
    }

    async fn notify_log(&self, _event: &LogEvent) -> Result<(), Failure> {
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Two exec hooks with SFTPGo's semantics: exit 0 allows, anything else
    // denies. `pre-*` events are synchronous; any other event (`upload`,
    // `delete`...) runs its hooks in the background and is allowed at once,
    // unless listed in `execute_sync` (as in SFTPGo): then its hooks'
    // answer is the decision.
    let mut hooks = vec![
        json!({"name": "allow-uploads", "hook": "/bin/true", "execute_on": ["pre-upload"]}),
        json!({"name": "deny-downloads", "hook": "/bin/false", "execute_on": ["pre-download"]}),
        json!({"name": "audit-deletes", "hook": "/bin/false", "execute_on": ["delete"]}),
        json!({"name": "check-renames", "hook": "/bin/false", "execute_on": ["rename"]}),
    ];
    // A WebAssembly component, run in-process under hookhost's limits.
    if let Some(component) = std::env::args().nth(1) {
        hooks.push(
            json!({"name": "deny-exe", "hook": component, "execute_on": ["pre-upload"],
            "limits": {"memory_mib": 16, "timeout_ms": 1000}}),
        );
    }
    let config = json!({"common": {"actions": {"hooks": hooks, "execute_sync": ["rename"]}}});
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
        (FsAction::PreUpload, "/srv/alice/setup.exe"),
        (FsAction::PreDownload, "/srv/alice/report.pdf"),
        // Asynchronous: queued at once, the failing hook only logged.
        (FsAction::Delete, "/srv/alice/report.pdf"),
        // In `execute_sync`: the failing hook's answer is the decision.
        (FsAction::Rename, "/srv/alice/report.pdf"),
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
