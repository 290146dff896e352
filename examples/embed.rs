//! Embedding hookhost in a Rust program.
//!
//! Run with `cargo run --release -p hookhost --example embed`.
//!
//! A host is built from a configuration (here a JSON value; `Config::from_file`
//! reads SFTPGo's file), events are dispatched and their decisions read,
//! plugins are called, the configuration is reloaded while the host runs,
//! and the host shuts down cleanly (draining asynchronous hooks).

use hookhost::event::{FsAction, FsEvent, ObjectType, Protocol, ProviderAction, ProviderEvent};
use hookhost::{Config, Decision, ReloadableHost};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Two exec hooks with SFTPGo's semantics: exit 0 allows, anything else denies.
    let config = json!({"common": {"actions": {"hooks": [
        {"name": "allow-uploads", "hook": "/bin/true", "execute_on": ["pre-upload"]},
        {"name": "deny-downloads", "hook": "/bin/false", "execute_on": ["pre-download"]}
    ]}}});
    let host = ReloadableHost::new(Config::from_value(config, ".".as_ref())?, None).await?;

    for action in [FsAction::PreUpload, FsAction::PreDownload] {
        let event = FsEvent::new(action, "alice", "/srv/alice/report.pdf", Protocol::Sftp);
        let outcome = host.lease().await.dispatch_fs(event).await;
        println!("{action}: {:?}", outcome.decision);
    }

    // Provider events run asynchronously, as in SFTPGo.
    let user = json!({"username": "bob", "password": "never passed to hooks"});
    let outcome = host
        .lease()
        .await
        .dispatch_provider(ProviderEvent::new(
            ProviderAction::Add,
            ObjectType::User,
            user,
        ))
        .await;
    println!("provider add: {:?}", outcome.decision);

    // Plugins (none configured here: every IP is allowed).
    let ip = host
        .current()
        .plugins()
        .check_ip("203.0.113.7", "SSH")
        .await;
    println!(
        "check_ip: {}",
        if ip.is_ok() { "allowed" } else { "refused" }
    );

    // Reload: downloads are allowed from now on; the old host drains.
    let reloaded = json!({"common": {"actions": {"hooks": [
        {"name": "allow-downloads", "hook": "/bin/true", "execute_on": ["pre-download"]}
    ]}}});
    let generation = host
        .reload(Config::from_value(reloaded, ".".as_ref())?)
        .await?;
    let event = FsEvent::new(
        FsAction::PreDownload,
        "alice",
        "/srv/alice/report.pdf",
        Protocol::Sftp,
    );
    let decision = host.lease().await.dispatch_fs(event).await.decision;
    println!("after reload {generation}: pre-download: {decision:?}");
    assert_eq!(decision, Decision::Allow);

    host.shutdown().await;
    Ok(())
}
