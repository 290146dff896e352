//! [`Host`]: a configuration turned into running hooks.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Limits;
use crate::config::{Config, ConfigError, HookSpec, HookTarget};
use crate::dispatch::{Decision, Outcome, Route, Router};
use crate::event::{Contract, FsEvent, LogEvent, ProviderEvent, VersionSetting};
use crate::hook::SharedHook;
use crate::hook::exec::{ExecHook, ProgramLimits};
use crate::hook::http::{HttpClient, HttpHook};
use crate::hook::wasm::{WasmHook, World};
use crate::loopguard::LoopGuard;
use crate::metrics::{Metrics, Snapshot, encode_counters, encode_gauges};
use crate::plugin::Plugins;
use crate::sandbox::{CacheStats, Sandbox};
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Why a host could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration (or a file it names) is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The runtime could not start (no Tokio runtime, engine creation, ...).
    #[error("{0}")]
    Runtime(String),
}

struct Inner {
    config: Config,
    versions: VersionSetting,
    /// Whether a request contradicting a pinned version was logged.
    contradiction_logged: AtomicBool,
    router: Router,
    sandbox: Option<Arc<Sandbox>>,
    plugins: Plugins,
    metrics: Arc<Metrics>,
}

/// A running set of hooks: dispatch events to it, shut it down when done.
///
/// Cloning is cheap and every clone drives the same hooks.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

/// Builds each configured hook, sharing the sandbox and HTTP client.
struct Builder<'a> {
    config: &'a Config,
    metrics: &'a Metrics,
    sandbox: Option<Arc<Sandbox>>,
    http: Option<Arc<HttpClient>>,
    exec_slots: Arc<tokio::sync::Semaphore>,
}

impl Builder<'_> {
    fn sandbox(&mut self) -> Result<Arc<Sandbox>, Error> {
        if let Some(sandbox) = &self.sandbox {
            return Ok(sandbox.clone());
        }
        let settings = &self.config.settings;
        let sandbox =
            Sandbox::new(&settings.wasm, settings.resolved_cache_dir()).map_err(|err| {
                Error::Runtime(format!("cannot start the WebAssembly engine: {err:#}"))
            })?;
        Ok(self.sandbox.insert(Arc::new(sandbox)).clone())
    }

    fn http(&mut self) -> Result<Arc<HttpClient>, Error> {
        if let Some(http) = &self.http {
            return Ok(http.clone());
        }
        let client = HttpClient::new(&self.config.http)
            .map_err(|e| ConfigError::field(e.field, e.message))?;
        Ok(self.http.insert(Arc::new(client)).clone())
    }

    /// A hook with its metric handles.
    fn route(&mut self, spec: &HookSpec, world: World) -> Result<Route, Error> {
        let hook = self.hook(spec, world)?;
        let metrics = Arc::new(self.metrics.hook(&spec.name, hook.kind()));
        let settings = &self.config.settings;
        Ok(Route::new(
            hook,
            metrics,
            settings.async_workers,
            settings.async_queue_size,
        ))
    }

    /// The one place a hook spec becomes a hook of its kind.
    fn hook(&mut self, spec: &HookSpec, world: World) -> Result<SharedHook, Error> {
        Ok(match &spec.target {
            HookTarget::Exec(program) => Arc::new(ExecHook::new(
                &spec.name,
                program.clone(),
                ProgramLimits {
                    reference_limit: spec.reference_limit,
                    command: spec.command.clone(),
                    cap: spec.timeout_cap,
                },
                spec.output_bytes,
                self.exec_slots.clone(),
            )),
            HookTarget::Http(url) => Arc::new(HttpHook::new(
                &spec.name,
                url.clone(),
                self.http()?,
                spec.timeout_cap,
            )),
            HookTarget::Wasm(path) => {
                let sandbox = self.sandbox()?;
                let settings = &self.config.settings.wasm;
                let limits = Limits {
                    timeout: spec.wasm_timeout(),
                    fuel: spec.wasm.fuel.unwrap_or(settings.default_fuel),
                    memory_bytes: spec.wasm.memory_mib.unwrap_or(settings.default_memory_mib)
                        * 1024
                        * 1024,
                    output_bytes: spec.output_bytes,
                };
                let hook = WasmHook::new(
                    &spec.name,
                    sandbox,
                    path,
                    world,
                    limits,
                    spec.wasm.grants.clone(),
                    spec.wasm.reuse,
                )
                .map_err(|message| ConfigError::field(format!("{}.hook", spec.field), message))?;
                Arc::new(hook)
            }
        })
    }
}

/// Builds a [`Host`]; lets an embedder choose the environment plugins
/// select their variables from (the process environment by default).
pub struct HostBuilder {
    config: Config,
    plugin_env: Option<Vec<(String, String)>>,
    metrics: Option<Arc<Metrics>>,
    sandbox: Option<Arc<Sandbox>>,
    loop_guard: LoopGuard,
}

impl HostBuilder {
    /// What counts as this hookhost (by default: the running program): a
    /// configured hook that points at it is skipped, with a warning naming
    /// its key, so one `sftpgo.json` can hold SFTPGo's `hook` (pointing at
    /// hookhost) and hookhost's own `hooks`.
    pub fn loop_guard(mut self, guard: LoopGuard) -> Self {
        self.loop_guard = guard;
        self
    }

    /// The variables the plugins' `env_prefix`/`env_vars` rules select from,
    /// instead of the process environment.
    pub fn plugin_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.plugin_env = Some(vars.into_iter().collect());
        self
    }

    /// Record into `metrics` (e.g. to keep counters across reloads) instead
    /// of a registry of the host's own.
    pub fn metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Reuse a running sandbox (its engine, compiled components and instance
    /// pool) when its settings match this configuration's; a reload then
    /// neither re-creates the engine nor recompiles unchanged components.
    pub fn reuse_sandbox(mut self, sandbox: Option<Arc<Sandbox>>) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// Compile every component (or load it from the compile cache), start
    /// the plugins and the async workers. Must run inside a Tokio runtime.
    pub async fn build(self) -> Result<Host, Error> {
        let config = self.config;
        let in_file = |err: Error| match (err, &config.file) {
            (Error::Config(e), Some(file)) => Error::Config(e.in_file(file)),
            (err, _) => err,
        };
        let metrics = self.metrics.unwrap_or_default();
        let reusable = self.sandbox.filter(|s| {
            s.settings() == &config.settings.wasm
                && s.cache_dir() == config.settings.resolved_cache_dir().as_deref()
        });
        let mut builder = Builder {
            config: &config,
            metrics: &metrics,
            sandbox: reusable,
            http: None,
            exec_slots: Arc::new(tokio::sync::Semaphore::new(
                config.settings.exec_concurrency,
            )),
        };
        let mut router = Router::default();
        let is_self = |spec: &HookSpec| match self.loop_guard.points_at_self(&spec.target) {
            Some(why) => {
                tracing::warn!(
                    key = %format!("{}.hook", spec.field),
                    "{why}: skipped (it is SFTPGo's way to reach hookhost; hookhost runs the `hooks` of the section)"
                );
                true
            }
            None => false,
        };
        for hook in &config.fs_actions.hooks {
            if is_self(&hook.spec) {
                continue;
            }
            if hook.execute_on.is_empty() {
                tracing::warn!(hook = %hook.spec.name, "hook has no execute_on actions and will never run");
            }
            let built = builder.route(&hook.spec, World::Fs).map_err(in_file)?;
            router.add_fs(built, &hook.execute_on);
        }
        for action in &config.fs_actions.execute_sync {
            router.set_sync(*action);
        }
        for hook in &config.provider_actions.hooks {
            if is_self(&hook.spec) {
                continue;
            }
            let built = builder
                .route(&hook.spec, World::Provider)
                .map_err(in_file)?;
            router.add_provider(built, &hook.execute_on, &hook.execute_for);
        }
        let plugins = if config.plugins.is_empty() {
            Plugins::default()
        } else {
            let sandbox = builder.sandbox().map_err(in_file)?;
            let env = self
                .plugin_env
                .unwrap_or_else(|| std::env::vars().collect());
            Plugins::start(&config.plugins, &sandbox, &env)
                .await
                .map_err(|e| in_file(e.into()))?
        };
        let sandbox = builder.sandbox;
        Ok(Host {
            inner: Arc::new(Inner {
                versions: config.settings.sftpgo_version,
                contradiction_logged: AtomicBool::new(false),
                config,
                router,
                sandbox,
                plugins,
                metrics,
            }),
        })
    }
}

impl Host {
    /// Start building a host from a validated configuration.
    pub fn builder(config: Config) -> HostBuilder {
        HostBuilder {
            config,
            plugin_env: None,
            metrics: None,
            sandbox: None,
            loop_guard: LoopGuard::for_this_process(),
        }
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

    /// The metrics this host records into.
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

    /// Compile-cache counters (zero when no wasm hook is configured).
    pub fn cache_stats(&self) -> CacheStats {
        self.inner
            .sandbox
            .as_ref()
            .map(|s| s.cache_stats())
            .unwrap_or_default()
    }

    /// The WebAssembly sandbox, if any wasm hook is configured.
    pub fn sandbox(&self) -> Option<&Arc<Sandbox>> {
        self.inner.sandbox.as_ref()
    }

    /// The `hookhost.sftpgo_version` this host runs with.
    pub fn sftpgo_version(&self) -> VersionSetting {
        self.inner.versions
    }

    /// The contract an event of this form is handled in; a form that
    /// contradicts a pinned version is logged (once).
    fn contract(&self, current_form: bool) -> Contract {
        let versions = self.inner.versions;
        if versions.contradicts(current_form)
            && !self
                .inner
                .contradiction_logged
                .swap(true, Ordering::Relaxed)
        {
            let form = if current_form {
                "today's (it has timestamp, session_id or virtual_path)"
            } else {
                "the reference's (no timestamp, session_id or virtual_path)"
            };
            tracing::warn!(
                sftpgo_version = %versions,
                "an event in {form} form contradicts the pinned hookhost.sftpgo_version; it is handled as SFTPGo {versions} (logged once)"
            );
        }
        versions.contract(current_form)
    }

    /// Dispatch a file-system event as the server would: `pre-*` and
    /// `execute_sync` actions run now and return their decision; other
    /// actions are queued for the async workers ([`Decision::Queued`]).
    /// The event is handled in the contract of the SFTPGo release it came
    /// from (see [`crate::event::version`]).
    ///
    /// Notifier plugins receive every event their options select, `pre-*`
    /// included, first (as SFTPGo notifies them).
    pub async fn dispatch_fs(&self, event: FsEvent) -> Outcome {
        let contract = self.contract(event.is_current_form());
        self.inner.plugins.notify_fs(&event);
        let router = &self.inner.router;
        if router.fs_hooks(event.action).is_empty() {
            return Outcome::new(Decision::Allow, Vec::new(), contract);
        }
        if router.is_sync(event.action) {
            return router.run_fs(&event, contract).await;
        }
        let decision = router.queue_fs(event, contract).await;
        Outcome::new(decision, Vec::new(), contract)
    }

    /// Run every hook of a file-system event now and wait for them, whatever
    /// the action's mode (used by `hookhost fire` and `hookhost exec`).
    pub async fn run_fs(&self, event: &FsEvent) -> Outcome {
        let contract = self.contract(event.is_current_form());
        self.inner.plugins.notify_fs(event);
        self.inner.router.run_fs(event, contract).await
    }

    /// Dispatch a provider event: queued for the async workers, as SFTPGo
    /// runs provider actions.
    pub async fn dispatch_provider(&self, event: ProviderEvent) -> Outcome {
        let contract = self.contract(event.is_current_form());
        self.inner.plugins.notify_provider(&event);
        if !self.inner.router.has_provider_hooks(&event) {
            return Outcome::new(Decision::Allow, Vec::new(), contract);
        }
        let decision = self.inner.router.queue_provider(event, contract).await;
        Outcome::new(decision, Vec::new(), contract)
    }

    /// Run every hook of a provider event now and wait for them.
    pub async fn run_provider(&self, event: &ProviderEvent) -> Outcome {
        let contract = self.contract(event.is_current_form());
        self.inner.plugins.notify_provider(event);
        self.inner.router.run_provider(event, contract).await
    }

    /// Asynchronous jobs queued or running.
    pub fn async_in_flight(&self) -> usize {
        self.inner.router.in_flight()
    }

    /// Send a log event (login, failed login, ...) to the notifier plugins.
    pub fn notify_log(&self, event: &LogEvent) {
        self.inner.plugins.notify_log(event);
    }

    /// Stop accepting asynchronous events and wait for the queued and running
    /// ones (each bounded by its hooks' limits), then flush the notifiers
    /// (per their retry rules).
    pub async fn shutdown(&self) {
        self.inner.router.shutdown().await;
        self.inner.plugins.shutdown().await;
    }
}

/// A host as the metrics see it: weakly, so that the metrics (which a
/// `ReloadableHost` keeps across generations) never keep a retired host
/// alive.
struct WeakHost(std::sync::Weak<Inner>);

impl Host {
    /// The figures of this host read at scrape time, for
    /// [`Metrics::set_snapshot`].
    pub fn snapshot(&self) -> Box<dyn Snapshot> {
        Box::new(WeakHost(Arc::downgrade(&self.inner)))
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClippedLabels {
    what: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifierLabels {
    plugin: String,
}

impl Snapshot for WeakHost {
    fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        // A host that is gone has nothing more to report.
        let Some(inner) = self.0.upgrade() else {
            return Ok(());
        };
        let host = Host { inner };
        let info = host.plugins().info();
        let plugin = |p: &crate::plugin::PluginInfo| PluginLabels {
            plugin: p.name.clone(),
            kind: p.kind,
        };
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        encode_counters(
            encoder,
            "plugin_calls",
            "Plugin calls",
            info.iter().map(|p| (plugin(p), load(&p.stats.calls))),
        )?;
        encode_counters(
            encoder,
            "plugin_failures",
            "Plugin calls that trapped or hit a limit",
            info.iter().map(|p| (plugin(p), load(&p.stats.failures))),
        )?;
        encode_counters(
            encoder,
            "plugin_restarts",
            "Plugin instances rebuilt after a failure",
            info.iter().map(|p| (plugin(p), load(&p.stats.restarts))),
        )?;
        let notifiers: Vec<_> = info
            .iter()
            .filter_map(|p| {
                p.notifier.as_ref().map(|n| {
                    (
                        NotifierLabels {
                            plugin: p.name.clone(),
                        },
                        *n.borrow(),
                    )
                })
            })
            .collect();
        encode_counters(
            encoder,
            "notifier_delivered",
            "Events delivered to notifiers",
            notifiers.iter().map(|(l, s)| (l.clone(), s.delivered)),
        )?;
        encode_counters(
            encoder,
            "notifier_retries",
            "Re-sends of queued notifier events",
            notifiers.iter().map(|(l, s)| (l.clone(), s.retries)),
        )?;
        encode_counters(
            encoder,
            "notifier_dropped",
            "Notifier events dropped",
            notifiers.iter().map(|(l, s)| (l.clone(), s.dropped)),
        )?;
        encode_gauges(
            encoder,
            "notifier_queue_depth",
            "Notifier events waiting for a retry",
            notifiers.iter().map(|(l, s)| (l.clone(), s.queued as i64)),
        )?;
        let cache = host.cache_stats();
        let hits = ConstCounter::new(cache.hits);
        hits.encode(encoder.encode_descriptor(
            "compile_cache_hits",
            "Components loaded from the compile cache",
            None,
            hits.metric_type(),
        )?)?;
        let compiled = ConstCounter::new(cache.compiled);
        compiled.encode(encoder.encode_descriptor(
            "compile_cache_compiled",
            "Components compiled",
            None,
            compiled.metric_type(),
        )?)?;
        encode_counters(
            encoder,
            "clipped",
            "Texts from guests and clients clipped to their cap (process-wide)",
            crate::text::clipped().into_iter().map(|(what, n)| {
                (
                    ClippedLabels {
                        what: what.as_str(),
                    },
                    n,
                )
            }),
        )?;
        let in_flight = ConstGauge::new(host.async_in_flight() as i64);
        in_flight.encode(encoder.encode_descriptor(
            "async_in_flight",
            "Asynchronous hook jobs queued or running",
            None,
            in_flight.metric_type(),
        )?)?;
        Ok(())
    }
}
