//! [`Host`]: a configuration turned into running hooks and plugins.

mod builder;
mod login;
mod snapshot;

use std::future::{Future, IntoFuture};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use builder::HostBuilder;
pub(crate) use builder::Template;
pub use login::LoginDispatch;

use crate::config::{Config, ConfigError};
use crate::dispatch::{Decision, Outcome, Reply, Router};
use crate::event::{Contract, Event, FsAction, Releases, SftpgoVersion, VersionSetting};
use crate::metrics::{Metrics, Snapshot};
use crate::plugin::Plugins;
use crate::sandbox::{Allocation, CacheStats, Sandbox};

/// Why a host could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration (or a file it names, a component among them) is
    /// unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The WebAssembly engine could not start.
    #[error("cannot start the WebAssembly engine")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

pub(crate) struct Inner {
    config: Config,
    versions: VersionSetting,
    /// Whether a request contradicting a pinned version was logged.
    contradiction_logged: AtomicBool,
    /// Whether an undatable pre-delete was logged.
    undated_logged: AtomicBool,
    router: Router,
    sandbox: Option<Arc<Sandbox>>,
    plugins: Plugins,
    metrics: Arc<Metrics>,
    resolved: Vec<ResolvedComponent>,
    recorder: Option<crate::recorder::Recorder>,
}

/// A hook's `oci://` reference, as resolved when the host was built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedComponent {
    /// The configuration key (`common.actions.hooks[0].hook`).
    pub field: String,
    /// The reference as configured.
    pub reference: String,
    /// The manifest's digest in force (`sha256:…`).
    pub digest: String,
    /// The component's file in the cache.
    pub path: PathBuf,
    /// Where it came from: `registry`, or the cache and why.
    pub source: String,
}

/// A running set of hooks and plugins: dispatch events to it, shut it down
/// when done.
///
/// Cloning is cheap and every clone drives the same hooks.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

impl Host {
    /// Start building a host from a validated configuration.
    pub fn builder(config: Config) -> HostBuilder {
        HostBuilder::new(config)
    }

    /// Build a host from a validated configuration (see
    /// [`HostBuilder::build`]).
    pub async fn new(config: Config) -> Result<Host, Error> {
        Host::builder(config).build().await
    }

    /// Read, validate and build a configuration file.
    pub async fn from_file(path: &Path) -> Result<Host, Error> {
        Host::new(Config::from_file(path)?).await
    }

    /// The metrics this host records into (`encode` for `/metrics`).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The plugins: notifiers, KMS, auth, event search, IP filter.
    pub fn plugins(&self) -> &Plugins {
        &self.inner.plugins
    }

    /// The configuration this host runs.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Every `oci://` reference, with the digest in force.
    pub fn resolved(&self) -> &[ResolvedComponent] {
        &self.inner.resolved
    }

    /// Every component file loaded, with the digest and signers in force.
    pub fn components(&self) -> Vec<(PathBuf, crate::sandbox::Provenance)> {
        self.inner
            .sandbox
            .as_ref()
            .map(|s| s.provenance())
            .unwrap_or_default()
    }

    /// Compile-cache counters (zero when no component is configured).
    pub fn cache_stats(&self) -> CacheStats {
        self.inner
            .sandbox
            .as_ref()
            .map(|s| s.cache_stats())
            .unwrap_or_default()
    }

    /// How guest instances are allocated (`None` when no component is
    /// configured): `check` reports a pool that could not be reserved.
    pub fn wasm_allocation(&self) -> Option<(Allocation, u32)> {
        self.inner
            .sandbox
            .as_ref()
            .map(|s| (s.allocation().clone(), s.settings().max_instances))
    }

    /// The WebAssembly sandbox, if any component is configured.
    #[cfg(feature = "internals")]
    pub fn sandbox(&self) -> Option<&Arc<Sandbox>> {
        self.inner.sandbox.as_ref()
    }

    pub(crate) fn shared_sandbox(&self) -> Option<Arc<Sandbox>> {
        self.inner.sandbox.clone()
    }

    /// Journaled events whose hooks are not all done (`None` without
    /// `hookhost.state_dir`).
    pub fn journal_depth(&self) -> Option<u64> {
        self.inner
            .router
            .keeper
            .journal
            .as_ref()
            .map(|j| j.stats().depth.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub(crate) fn shared_journal(&self) -> Option<Arc<crate::journal::Journal>> {
        self.inner.router.keeper.journal.clone()
    }

    /// How old the journal's oldest unfinished entry is (`None`: no
    /// journal, or nothing unfinished).
    pub fn journal_oldest_age(&self) -> Option<std::time::Duration> {
        self.inner.router.keeper.journal.as_ref()?.oldest_age()
    }

    /// Whether the journal can write (`None` without `hookhost.state_dir`).
    pub fn journal_health(&self) -> Option<crate::journal::JournalHealth> {
        Some(self.inner.router.keeper.journal.as_ref()?.health())
    }

    /// The shared queue's state (`None` without `hookhost.queue`).
    pub fn queue_health(&self) -> Option<QueueHealth> {
        let queue = &self.inner.router.keeper.remote.as_ref()?.queue;
        let stats = queue.stats();
        let sampled = stats.sampled.load(std::sync::atomic::Ordering::Relaxed);
        Some(QueueHealth {
            connected: queue.connected(),
            unfinished: sampled
                .then(|| stats.unfinished.load(std::sync::atomic::Ordering::Relaxed)),
            oldest_age: stats.oldest_age(),
        })
    }

    /// Take over what the notifiers of `retired` (shut down, same journal)
    /// kept undelivered.
    pub(crate) fn adopt_from(&self, retired: &Host) {
        self.inner.plugins.adopt_from(&retired.inner.plugins);
    }

    /// The `hookhost.sftpgo_version` this host runs with.
    pub fn sftpgo_version(&self) -> VersionSetting {
        self.inner.versions
    }

    /// The figures of this host read at scrape time.
    pub(crate) fn snapshot(&self) -> Box<dyn Snapshot> {
        Box::new(snapshot::WeakHost(Arc::downgrade(&self.inner)))
    }

    /// The contract an event sent by one of `releases` is handled in; a
    /// form that contradicts a pinned version is logged (once).
    fn contract(&self, releases: Releases) -> Contract {
        let versions = self.inner.versions;
        if versions.contradicts(releases)
            && !self
                .inner
                .contradiction_logged
                .swap(true, Ordering::Relaxed)
        {
            let form = if releases.is_reference() {
                "the reference's form (no timestamp, session_id or virtual_path)".to_owned()
            } else {
                match releases.before {
                    Some(before) => format!(
                        "a form SFTPGo {} to {} sends",
                        releases.since,
                        SftpgoVersion::newest_before(before)
                    ),
                    None => format!("a form only SFTPGo {} and later send", releases.since),
                }
            };
            tracing::warn!(
                sftpgo_version = %versions,
                "an event in {form} contradicts the pinned hookhost.sftpgo_version; it is handled as SFTPGo {versions} (logged once)"
            );
        }
        versions.contract(releases)
    }

    /// Say, once, that an allowed pre-delete could not be told as such.
    fn log_undated_once(&self) {
        if !self.inner.undated_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "an allowed pre-delete came in a form both SFTPGo 2.2-2.4 and 2.5+ send (no role): 200 would mean 'handled, do not delete' to the first and 'allowed' to the second, so it is answered as not handled (2.2-2.4 delete the file, 2.5+ refuse the delete); set hookhost.sftpgo_version to the release in front (logged once)"
            );
        }
    }

    /// Dispatch an event as the server would, and await its [`Outcome`]:
    ///
    /// - a file-system event: notifier plugins get it first (`pre-*`
    ///   included, as SFTPGo notifies them); `pre-*` and `execute_sync`
    ///   actions run now and return their decision; other actions are
    ///   queued for their hooks' asynchronous lanes ([`Decision::Queued`]);
    /// - a provider event: notifiers, then queued, as SFTPGo runs provider
    ///   actions;
    /// - a log event: notifiers only.
    ///
    /// The event is handled in the contract of the SFTPGo release it came
    /// from (see [`crate::event::version`]). `.wait_for_all()` runs every
    /// hook now and waits, whatever the action's mode (what `hookhost fire`
    /// and `hookhost exec` do).
    pub fn dispatch(&self, event: impl Into<Event>) -> Dispatch<'_> {
        Dispatch {
            host: self,
            event: event.into(),
            wait_for_all: false,
            answer_within: None,
        }
    }

    async fn run(
        &self,
        event: Event,
        wait_for_all: bool,
        answer_within: Option<std::time::Duration>,
    ) -> Outcome {
        let plugins = &self.inner.plugins;
        let router = &self.inner.router;
        match event {
            Event::Fs(event) => {
                let contract = self.contract(event.releases());
                if let Some(recorder) = &self.inner.recorder {
                    recorder.fs(&event, &contract);
                }
                // Handed to the notifiers now; with a journal, their writes
                // go on disk while the hooks run, and the answer waits for
                // both.
                let notified = plugins.notify_fs(&event);
                // A pre-delete is answered in its sender's terms even
                // without a hook: "allowed" is not 200 for every release.
                let outcome = if router.routes.fs_hooks(event.action).is_empty()
                    && event.action != FsAction::PreDelete
                {
                    Outcome::new(Decision::Allow, Vec::new(), contract)
                } else if wait_for_all || router.routes.is_sync(event.action) {
                    let run = router.run_fs(&event, contract);
                    let outcome = match answer_within {
                        None => run.await,
                        Some(limit) => match tokio::time::timeout(limit, run).await {
                            Ok(outcome) => outcome,
                            Err(_) => Router::unanswered(&event, contract, limit),
                        },
                    };
                    if outcome.reply() == Reply::Undated {
                        self.log_undated_once();
                    }
                    outcome
                } else {
                    let decision = router.queue_fs(event, contract).await;
                    Outcome::new(decision, Vec::new(), contract)
                };
                notified.await;
                outcome
            }
            Event::Provider(event) => {
                let contract = self.contract(event.releases());
                if let Some(recorder) = &self.inner.recorder {
                    recorder.provider(&event, &contract);
                }
                let notified = plugins.notify_provider(&event);
                let outcome = if !router.routes.has_provider_hooks(&event) {
                    Outcome::new(Decision::Allow, Vec::new(), contract)
                } else if wait_for_all {
                    router.run_provider(&event, contract).await
                } else {
                    let decision = router.queue_provider(event, contract).await;
                    Outcome::new(decision, Vec::new(), contract)
                };
                notified.await;
                outcome
            }
            Event::Log(event) => {
                plugins.notify_log(&event).await;
                Outcome::new(Decision::Allow, Vec::new(), Contract::NEWEST)
            }
        }
    }

    /// Asynchronous jobs queued or running.
    pub fn async_in_flight(&self) -> usize {
        self.inner.router.in_flight()
    }

    /// Stop accepting asynchronous events and wait for the queued and running
    /// ones (each bounded by its hooks' limits), then flush the notifiers
    /// (per their retry rules; with a journal, what they could not deliver
    /// stays in it).
    pub async fn shutdown(&self) {
        self.inner.router.shutdown().await;
        self.inner.plugins.shutdown().await;
        // The notifiers' last removals, on disk before the process ends.
        if let Some(journal) = &self.inner.router.keeper.journal {
            journal.flush().await;
        }
        if let Some(recorder) = &self.inner.recorder {
            recorder.close().await;
        }
    }
}

/// The shared queue's state, as [`Host::queue_health`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueHealth {
    /// Whether the connection to the NATS server is up.
    pub connected: bool,
    /// Messages not yet done on all nodes, as JetStream last reported it
    /// (sampled every 2 s; `None` before the first sample).
    pub unfinished: Option<u64>,
    /// Age of the oldest of them, last sampled.
    pub oldest_age: Option<std::time::Duration>,
}

/// One dispatch ([`Host::dispatch`]): await it for the [`Outcome`].
#[must_use = "a dispatch does nothing until awaited"]
pub struct Dispatch<'h> {
    host: &'h Host,
    event: Event,
    wait_for_all: bool,
    answer_within: Option<std::time::Duration>,
}

impl Dispatch<'_> {
    /// Run every hook of the event now and wait for them, whatever the
    /// action's mode (asynchronous actions included).
    pub fn wait_for_all(mut self) -> Self {
        self.wait_for_all = true;
        self
    }

    /// Answer a synchronous event within `limit` whatever its hooks' own
    /// limits: past it the hooks still running are stopped and the event
    /// is answered as their failure (a `pre-*` denied, a synchronous
    /// notification failed). `serve` sets it below SFTPGo's per-attempt
    /// `http.timeout`, so SFTPGo never times out and retries the request
    /// (running its hooks again) while hookhost works on it.
    pub fn answer_within(mut self, limit: std::time::Duration) -> Self {
        self.answer_within = Some(limit);
        self
    }
}

impl<'h> IntoFuture for Dispatch<'h> {
    type Output = Outcome;
    type IntoFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'h>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(
            self.host
                .run(self.event, self.wait_for_all, self.answer_within),
        )
    }
}
