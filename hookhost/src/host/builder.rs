//! [`HostBuilder`]: a configuration, plus what an embedder adds to it,
//! turned into a running [`Host`].

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::ResolvedComponent;
use super::{Error, Host, Inner};
use crate::config::{Candidate, OciRef};
use crate::config::{Config, ConfigError, HookSpec, HookTarget, Limits, NotifierOptions};
use crate::dispatch::remote::Remote;
use crate::dispatch::{Route, Router};
use crate::event::login::LoginHook;
use crate::event::{FsAction, ObjectType, ProviderAction};
use crate::hook::exec::{ExecHook, ProgramLimits};
use crate::hook::http::{HttpClient, HttpHook};
use crate::hook::shadow::Shadowed;
use crate::hook::wasm::{Mode, WasmHook, World};
use crate::hook::{Hook, SharedHook};
use crate::journal::{Journal, Table};
use crate::loopguard::LoopGuard;
use crate::metrics::Metrics;
use crate::plugin::{NativeNotifier, Plugins};
use crate::queue::NatsQueue;
use crate::sandbox::ComponentFile;
use crate::sandbox::Sandbox;

/// A native hook and where it runs.
#[derive(Clone)]
enum Native {
    Fs(SharedHook, Vec<FsAction>),
    Provider(SharedHook, Vec<ProviderAction>, Vec<ObjectType>),
    Login(SharedHook, LoginHook),
}

/// What a builder adds to any configuration; kept by a
/// [`crate::ReloadableHost`] and applied to every configuration it loads.
#[derive(Clone)]
pub(crate) struct Template {
    plugin_env: Option<Vec<(String, String)>>,
    loop_guard: LoopGuard,
    hooks: Vec<Native>,
    notifiers: Vec<(Arc<dyn NativeNotifier>, NotifierOptions)>,
}

impl Default for Template {
    fn default() -> Self {
        Template {
            plugin_env: None,
            loop_guard: LoopGuard::for_this_process(),
            hooks: Vec::new(),
            notifiers: Vec::new(),
        }
    }
}

/// Builds a [`Host`] from a configuration, with what an embedder adds:
/// native Rust hooks and notifiers beside the configured ones, the
/// environment plugins select from, what counts as this hookhost.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use hookhost::{Config, Host};
/// # use hookhost::event::FsAction;
/// # async fn demo(config: Config, my_hook: impl hookhost::hook::Hook) -> Result<(), hookhost::Error> {
/// let host = Host::builder(config)
///     .fs_hook(my_hook, &[FsAction::PreUpload])
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
pub struct HostBuilder {
    config: Config,
    template: Template,
    metrics: Option<Arc<Metrics>>,
    sandbox: Option<Arc<Sandbox>>,
    journal: Option<Arc<Journal>>,
}

impl HostBuilder {
    pub(super) fn new(config: Config) -> Self {
        HostBuilder {
            config,
            template: Template::default(),
            metrics: None,
            sandbox: None,
            journal: None,
        }
    }

    pub(crate) fn from_template(config: Config, template: Template) -> Self {
        HostBuilder {
            template,
            ..HostBuilder::new(config)
        }
    }

    /// What counts as this hookhost (by default: the running program): a
    /// configured hook that points at it is skipped, with a warning naming
    /// its key, so one `sftpgo.json` can hold SFTPGo's `hook` (pointing at
    /// hookhost) and hookhost's own `hooks`.
    pub fn loop_guard(mut self, guard: LoopGuard) -> Self {
        self.template.loop_guard = guard;
        self
    }

    /// The variables the plugins' `env_prefix`/`env_vars` rules select from,
    /// instead of the process environment.
    pub fn plugin_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.template.plugin_env = Some(vars.into_iter().collect());
        self
    }

    /// Run a native hook on `actions`, after the configured hooks of each
    /// (its [`Hook::kind`] is best [`crate::hook::HookKind::Native`]).
    pub fn fs_hook(mut self, hook: impl Hook, actions: &[FsAction]) -> Self {
        self.template
            .hooks
            .push(Native::Fs(Arc::new(hook), actions.to_vec()));
        self
    }

    /// Run a native hook on provider `actions` for the object types
    /// `objects`, after the configured hooks.
    pub fn provider_hook(
        mut self,
        hook: impl Hook,
        actions: &[ProviderAction],
        objects: &[ObjectType],
    ) -> Self {
        self.template.hooks.push(Native::Provider(
            Arc::new(hook),
            actions.to_vec(),
            objects.to_vec(),
        ));
        self
    }

    /// Run a native hook as one of `kind`'s hooks (pre-login, external
    /// auth, check-password, ...), after the configured ones: it gets the
    /// same events and its answers mean what theirs mean (see
    /// [`crate::Host::login`]). As the Event Manager hook it gets
    /// every trigger; as the keyboard-interactive hook it must implement
    /// [`Hook::exchange`].
    pub fn login_hook(mut self, hook: impl Hook, kind: LoginHook) -> Self {
        self.template
            .hooks
            .push(Native::Login(Arc::new(hook), kind));
        self
    }

    /// Add a native notifier, beside the configured notifier plugins: it
    /// gets the events `options` select, with the same retry queue.
    pub fn notifier(mut self, notifier: impl NativeNotifier, options: NotifierOptions) -> Self {
        self.template.notifiers.push((Arc::new(notifier), options));
        self
    }

    /// Record into `metrics` (e.g. to keep counters across reloads) instead
    /// of a registry of the host's own.
    pub(crate) fn metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Reuse a running sandbox (its engine, compiled components and instance
    /// pool) when its settings match this configuration's; a reload then
    /// neither re-creates the engine nor recompiles unchanged components.
    pub(crate) fn reuse_sandbox(mut self, sandbox: Option<Arc<Sandbox>>) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// Keep the running journal across a reload when the state directory is
    /// unchanged: a journal is opened once per process (the file is locked)
    /// and its unfinished entries are replayed only then.
    pub(crate) fn reuse_journal(mut self, journal: Option<Arc<Journal>>) -> Self {
        self.journal = journal;
        self
    }

    /// Build on an existing sandbox (hookhost's own tests).
    #[cfg(feature = "internals")]
    #[doc(hidden)]
    pub fn with_sandbox(self, sandbox: Arc<Sandbox>) -> Self {
        self.reuse_sandbox(Some(sandbox))
    }

    /// What this builder adds to a configuration.
    pub(crate) fn template(&self) -> Template {
        self.template.clone()
    }

    /// Compile every component (or load it from the compile cache), start
    /// the plugins and the async workers. Must run inside a Tokio runtime.
    pub async fn build(self) -> Result<Host, Error> {
        let mut config = self.config;
        let resolved = match resolve_references(&mut config).await {
            Ok(resolved) => resolved,
            Err(e) => {
                return Err(match &config.file {
                    Some(file) => Error::Config(e.in_file(file)),
                    None => Error::Config(e),
                });
            }
        };
        let template = self.template;
        let in_file = |err: Error| match (err, &config.file) {
            (Error::Config(e), Some(file)) => Error::Config(e.in_file(file)),
            (err, _) => err,
        };
        let metrics = self.metrics.unwrap_or_default();
        let reusable = self.sandbox.filter(|s| {
            s.settings() == &config.settings.wasm
                && s.cache_dir() == config.settings.resolved_cache_dir().as_deref()
        });
        let mut builder = Parts {
            config: &config,
            metrics: &metrics,
            sandbox: reusable,
            http: None,
            exec_slots: Arc::new(tokio::sync::Semaphore::new(
                config.settings.exec_concurrency,
            )),
        };
        let mut router = Router::default();
        // Open the journal (or keep the running one) and read what a
        // previous run left unfinished, before any new event is taken.
        let (journal, pending, notices) = match &config.settings.state_dir {
            None => (None, Vec::new(), Vec::new()),
            Some(dir) => match self
                .journal
                .filter(|j| j.path().parent() == Some(dir.as_path()))
            {
                Some(running) => (Some(running), Vec::new(), Vec::new()),
                None => {
                    let journal = Journal::open(dir).map_err(|e| {
                        in_file(ConfigError::field("hookhost.state_dir", e.to_string()).into())
                    })?;
                    let unreadable =
                        |e| in_file(ConfigError::field("hookhost.state_dir", e).into());
                    let pending = journal
                        .unfinished(Table::Records, crate::event::record::decode)
                        .map_err(unreadable)?;
                    let notices = journal
                        .unfinished(Table::Notices, crate::journal::notice::decode)
                        .map_err(unreadable)?;
                    (Some(journal), pending, notices)
                }
            },
        };
        router.keeper.journal = journal.clone();
        if let Some(queue) = &config.settings.queue {
            let connected = NatsQueue::connect(queue)
                .await
                .map_err(|e| in_file(ConfigError::field("hookhost.queue", e).into()))?;
            router.keeper.remote = Some(Remote::new(connected, config.settings.async_workers));
        }
        let is_self = |spec: &HookSpec| match template.loop_guard.points_at_self(&spec.target) {
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
            router.routes.add_fs(built, &hook.execute_on);
        }
        for action in &config.fs_actions.execute_sync {
            router.routes.set_sync(*action);
        }
        for hook in &config.provider_actions.hooks {
            if is_self(&hook.spec) {
                continue;
            }
            let built = builder
                .route(&hook.spec, World::Provider)
                .map_err(in_file)?;
            router
                .routes
                .add_provider(built, &hook.execute_on, &hook.execute_for);
        }
        let login = &config.login_hooks;
        router.routes.login.external_auth_scope = login.external_auth_scope;
        router.routes.login.check_password_scope = login.check_password_scope;
        router.routes.login.post_login_scope = login.post_login_scope;
        for &kind in LoginHook::ALL {
            for (i, spec) in login.of(kind).iter().enumerate() {
                if is_self(spec) {
                    continue;
                }
                let built = builder.route(spec, World::Login(kind)).map_err(in_file)?;
                match kind {
                    LoginHook::EventRule => router
                        .routes
                        .login
                        .add_rule(built, &login.event_rule_triggers[i]),
                    _ => router.routes.login.add(kind, built),
                }
            }
        }
        router.routes.login.keyboard_share = keyboard_share(&config, &template.loop_guard);
        for native in &template.hooks {
            match native {
                Native::Fs(hook, actions) => router
                    .routes
                    .add_fs(builder.wrap(hook.clone(), World::Fs.key()), actions),
                Native::Provider(hook, actions, objects) => router.routes.add_provider(
                    builder.wrap(hook.clone(), World::Provider.key()),
                    actions,
                    objects,
                ),
                Native::Login(hook, kind) => {
                    let route = builder.wrap(hook.clone(), World::Login(*kind).key());
                    match kind {
                        LoginHook::EventRule => router
                            .routes
                            .login
                            .add_rule(route, crate::event::rule::RuleTrigger::ALL),
                        _ => router.routes.login.add(*kind, route),
                    }
                }
            }
        }
        for entry in &config.plugins_left_to_sftpgo {
            tracing::info!(
                plugin = %entry,
                "not a WebAssembly component: one of SFTPGo's own plugins, which SFTPGo runs; hookhost leaves it"
            );
        }
        let mut plugins = if config.plugins.is_empty() {
            Plugins::default()
        } else {
            let sandbox = builder.sandbox().map_err(in_file)?;
            let env = template
                .plugin_env
                .clone()
                .unwrap_or_else(|| std::env::vars().collect());
            Plugins::start(&config.plugins, &sandbox, &env, journal.as_ref())
                .await
                .map_err(|e| in_file(e.into()))?
        };
        for (notifier, options) in &template.notifiers {
            plugins.add_native_notifier(notifier.clone(), options.clone(), journal.as_ref());
        }
        if let Some(journal) = &journal {
            plugins.replay(journal, notices);
        }
        let sandbox = builder.sandbox;
        let recorder = match &config.settings.record {
            Some(record) => Some(
                crate::recorder::Recorder::start(
                    record,
                    metrics.record_written.clone(),
                    metrics.record_dropped.clone(),
                )
                .map_err(|e| in_file(ConfigError::field("hookhost.record.file", e).into()))?,
            ),
            None => None,
        };
        let host = Host {
            inner: Arc::new(Inner {
                versions: config.settings.sftpgo_version,
                contradiction_logged: AtomicBool::new(false),
                undated_logged: AtomicBool::new(false),
                config,
                router,
                sandbox,
                plugins,
                metrics,
                resolved,
                recorder,
            }),
        };
        host.inner.metrics.set_snapshot(host.snapshot());
        if let Some(remote) = &host.inner.router.keeper.remote {
            remote.start(Arc::downgrade(&host.inner), |inner| &inner.router);
        }
        if !pending.is_empty() {
            let replaying = host.clone();
            tokio::spawn(async move { replaying.inner.router.replay(pending).await });
        }
        Ok(host)
    }
}

/// Builds each configured hook, sharing the sandbox and HTTP client.
struct Parts<'a> {
    config: &'a Config,
    metrics: &'a Metrics,
    sandbox: Option<Arc<Sandbox>>,
    http: Option<Arc<HttpClient>>,
    exec_slots: Arc<tokio::sync::Semaphore>,
}

impl Parts<'_> {
    fn sandbox(&mut self) -> Result<Arc<Sandbox>, Error> {
        if let Some(sandbox) = &self.sandbox {
            return Ok(sandbox.clone());
        }
        let settings = &self.config.settings;
        let mut sandbox = Sandbox::new(&settings.wasm, settings.resolved_cache_dir())
            .map_err(|err| Error::Engine(err.into()))?;
        if let Some(trust) = &settings.trust {
            sandbox = sandbox.with_trust(crate::signature::Keyring::load(trust)?);
        }
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

    /// A hook with its metric handles and async lane.
    fn wrap(&self, hook: SharedHook, key: &'static str) -> Route {
        let metrics = Arc::new(self.metrics.hook(hook.name(), hook.kind(), key));
        let settings = &self.config.settings;
        Route::new(
            hook,
            metrics,
            settings.async_workers,
            settings.async_queue_size,
        )
    }

    fn route(&mut self, spec: &HookSpec, world: World) -> Result<Route, Error> {
        let hook = self.hook(spec, world)?;
        Ok(self.wrap(hook, world.key()).with_retry(spec.queue))
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
            HookTarget::Oci(reference) => return Err(unresolved(spec, "hook", reference)),
            HookTarget::Wasm(path) => {
                let sandbox = self.sandbox()?;
                let settings = &self.config.settings.wasm;
                let limits = Limits {
                    timeout: spec.wasm_timeout(),
                    fuel: spec.wasm.fuel.unwrap_or(settings.default_fuel),
                    memory_bytes: spec.wasm.memory_mib.unwrap_or(settings.default_memory_mib) << 20,
                    output_bytes: spec.output_bytes,
                    http_in_flight: spec
                        .wasm
                        .http_in_flight
                        .unwrap_or(crate::config::DEFAULT_HTTP_IN_FLIGHT),
                    tcp_connections: spec
                        .wasm
                        .tcp_connections
                        .unwrap_or(crate::config::DEFAULT_TCP_CONNECTIONS),
                };
                let file = ComponentFile {
                    path,
                    sha256: spec.wasm.sha256.as_deref(),
                    signed_by: &spec.wasm.signed_by,
                };
                let mode = |spares| match spec.wasm.reuse {
                    Some(reuse) => Mode::Reuse(reuse),
                    None => Mode::Fresh { spares },
                };
                let hook = WasmHook::new(
                    &spec.name,
                    sandbox.clone(),
                    file,
                    world,
                    limits.clone(),
                    spec.wasm.grants.clone(),
                    mode(spec.wasm.spares.unwrap_or(settings.default_spares)),
                )
                .map_err(|message| ConfigError::field(format!("{}.hook", spec.field), message))?;
                let places = settings
                    .max_shadow_instances_per_hook
                    .min(settings.instances_per_hook()) as usize;
                let candidate = match &spec.wasm.shadow {
                    None => return Ok(Arc::new(hook)),
                    Some(Candidate::File(path)) => path,
                    Some(Candidate::Oci(reference)) => {
                        return Err(unresolved(spec, "shadow", reference));
                    }
                };
                // The candidate: the same grants and limits, no spares (it
                // must not take instances from the hooks that decide).
                let file = ComponentFile {
                    path: candidate,
                    sha256: None,
                    signed_by: &spec.wasm.signed_by,
                };
                let shadow = WasmHook::new(
                    &format!("{} (shadow)", spec.name),
                    sandbox,
                    file,
                    world,
                    limits,
                    spec.wasm.grants.clone(),
                    mode(0),
                )
                .map_err(|message| ConfigError::field(format!("{}.shadow", spec.field), message))?;
                Arc::new(Shadowed::new(
                    Arc::new(hook),
                    Arc::new(shadow),
                    self.metrics.shadow(&spec.name),
                    places,
                ))
            }
        })
    }
}

/// An `oci://` reference met where a file was expected: `build` resolves
/// every one before it makes hooks.
fn unresolved(spec: &HookSpec, key: &str, reference: &OciRef) -> Error {
    ConfigError::field(
        format!("{}.{key}", spec.field),
        format!("{reference}: not resolved (HostBuilder::build resolves references)"),
    )
    .into()
}

/// Half the slots the keyboard-interactive hook's exchanges hold between
/// rounds (a program's exec slot, a component's instance): abandoned
/// half-logins can never starve the other hooks (a pre-upload) of them.
fn keyboard_share(
    config: &Config,
    loop_guard: &LoopGuard,
) -> Option<(Arc<tokio::sync::Semaphore>, usize)> {
    let spec = config
        .login_hooks
        .of(LoginHook::KeyboardInteractive)
        .iter()
        .find(|spec| loop_guard.points_at_self(&spec.target).is_none())?;
    let slots = match spec.target {
        HookTarget::Exec(_) => config.settings.exec_concurrency,
        HookTarget::Wasm(_) | HookTarget::Oci(_) => config.settings.wasm.max_instances as usize,
        HookTarget::Http(_) => return None,
    };
    let share = (slots / 2).max(1);
    Some((Arc::new(tokio::sync::Semaphore::new(share)), share))
}

/// Where a resolved reference goes.
#[cfg_attr(not(feature = "oci"), allow(dead_code))]
enum Target<'a> {
    Hook(&'a mut HookTarget),
    Shadow(&'a mut Option<Candidate>),
    Plugin(&'a mut std::path::PathBuf),
}

/// Every hook and plugin entry given as an `oci://` reference: its key,
/// the reference and where the file it resolves to goes.
fn references(config: &mut Config) -> Vec<(String, OciRef, Target<'_>)> {
    let plugins = config
        .plugins
        .iter_mut()
        .filter_map(|p| Some((format!("{}.cmd", p.field), p.oci.clone()?, &mut p.cmd)));
    let mut targets: Vec<(String, OciRef, Target<'_>)> = plugins
        .map(|(field, reference, cmd)| (field, reference, Target::Plugin(cmd)))
        .collect();
    let specs = config
        .fs_actions
        .hooks
        .iter_mut()
        .map(|h| &mut h.spec)
        .chain(
            config
                .provider_actions
                .hooks
                .iter_mut()
                .map(|h| &mut h.spec),
        )
        .chain(config.login_hooks.specs_mut());
    for spec in specs {
        if let HookTarget::Oci(reference) = &spec.target {
            targets.push((
                format!("{}.hook", spec.field),
                reference.clone(),
                Target::Hook(&mut spec.target),
            ));
        }
        if let Some(Candidate::Oci(reference)) = &spec.wasm.shadow {
            targets.push((
                format!("{}.shadow", spec.field),
                reference.clone(),
                Target::Shadow(&mut spec.wasm.shadow),
            ));
        }
    }
    targets
}

/// Without the `oci` feature a reference refuses the configuration.
#[cfg(not(feature = "oci"))]
async fn resolve_references(config: &mut Config) -> Result<Vec<ResolvedComponent>, ConfigError> {
    match references(config).into_iter().next() {
        Some((field, reference, _)) => Err(ConfigError::field(
            field,
            format!("{reference}: this build of hookhost reads no OCI registry (feature `oci`)"),
        )),
        None => Ok(Vec::new()),
    }
}

/// Every hook and plugin entry's `oci://` reference pulled (or taken from
/// the cache) and turned into the component file it resolved to.
#[cfg(feature = "oci")]
async fn resolve_references(config: &mut Config) -> Result<Vec<ResolvedComponent>, ConfigError> {
    use crate::registry::Source;
    let puller = crate::registry::Puller::new(
        &config.settings.registries,
        config.settings.resolved_cache_dir().as_deref(),
    );
    let mut resolved = Vec::new();
    for (field, reference, target) in references(config) {
        let pulled = puller
            .pull(&reference)
            .await
            .map_err(|why| ConfigError::field(&field, why))?;
        let source = match &pulled.source {
            Source::Registry => "the registry".to_owned(),
            Source::CachePinned => "the cache, pinned by digest".to_owned(),
            Source::CacheResolvedBefore(why) => {
                tracing::warn!(key = %field, reference = %reference, digest = %pulled.manifest, error = %why, "registry unreachable: starting from the cache, as the reference was resolved before");
                "the cache, as resolved before (the registry is unreachable)".to_owned()
            }
        };
        tracing::info!(key = %field, reference = %reference, digest = %pulled.manifest, from = %source, "component resolved");
        match target {
            Target::Hook(hook) => *hook = HookTarget::Wasm(pulled.path.clone()),
            Target::Shadow(shadow) => *shadow = Some(Candidate::File(pulled.path.clone())),
            Target::Plugin(cmd) => *cmd = pulled.path.clone(),
        }
        resolved.push(ResolvedComponent {
            field,
            reference: reference.to_string(),
            digest: pulled.manifest,
            path: pulled.path,
            source,
        });
    }
    Ok(resolved)
}
