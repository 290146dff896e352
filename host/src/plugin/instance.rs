//! A plugin's long-lived instance.
//!
//! Unlike a hook, a plugin keeps one instance (and its state) across calls.
//! Each call still runs under the plugin's limits, refilled per call. A call
//! that traps or hits a limit poisons the instance: it is dropped and a new
//! one is instantiated before the next call; rebuilds are counted and logged.
//! Calls to one plugin are serialized (one instance, one call at a time).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::Mutex;
use wasmtime::Store;
use wasmtime::component::InstancePre;

use crate::hook::Failure;
use crate::sandbox::bindings::{
    auth_plugin, eventsearcher_plugin, ipfilter_plugin, kms_plugin, notifier_plugin,
};
use crate::sandbox::{CallFuture, Grants, Limits, Live, Sandbox, State};

/// A world a plugin implements.
pub(crate) trait PluginWorld: Send + Sync + 'static {
    /// The pre-instantiated component.
    type Pre: Send + Sync + 'static;
    /// The instantiated bindings.
    type Bindings: Send + Sync + 'static;
    /// The world's name in `wit/`.
    const WORLD: &'static str;
    fn prepare(pre: InstancePre<State>) -> wasmtime::Result<Self::Pre>;
    fn instantiate<'a>(
        store: &'a mut Store<State>,
        pre: &'a Self::Pre,
    ) -> CallFuture<'a, Self::Bindings>;
}

macro_rules! plugin_world {
    ($marker:ident, $module:ident :: $bindings:ident, $pre:ident, $world:literal) => {
        pub(crate) struct $marker;
        impl PluginWorld for $marker {
            type Pre = $module::$pre<State>;
            type Bindings = $module::$bindings;
            const WORLD: &'static str = $world;
            fn prepare(pre: InstancePre<State>) -> wasmtime::Result<Self::Pre> {
                $module::$pre::new(pre)
            }
            fn instantiate<'a>(
                store: &'a mut Store<State>,
                pre: &'a Self::Pre,
            ) -> CallFuture<'a, Self::Bindings> {
                Box::pin(pre.instantiate_async(store))
            }
        }
    };
}

plugin_world!(
    NotifierWorld,
    notifier_plugin::NotifierPlugin,
    NotifierPluginPre,
    "notifier-plugin"
);
plugin_world!(KmsWorld, kms_plugin::KmsPlugin, KmsPluginPre, "kms-plugin");
plugin_world!(
    AuthWorld,
    auth_plugin::AuthPlugin,
    AuthPluginPre,
    "auth-plugin"
);
plugin_world!(
    SearcherWorld,
    eventsearcher_plugin::EventsearcherPlugin,
    EventsearcherPluginPre,
    "eventsearcher-plugin"
);
plugin_world!(
    IpFilterWorld,
    ipfilter_plugin::IpfilterPlugin,
    IpfilterPluginPre,
    "ipfilter-plugin"
);

/// Counters of one plugin.
#[derive(Debug, Default)]
pub struct PluginStats {
    /// Calls made.
    pub calls: AtomicU64,
    /// Calls that trapped or hit a limit.
    pub failures: AtomicU64,
    /// Instances rebuilt after a poisoning failure.
    pub restarts: AtomicU64,
}

pub(crate) struct PluginInstance<W: PluginWorld> {
    name: Arc<str>,
    sandbox: Arc<Sandbox>,
    pre: W::Pre,
    limits: Limits,
    grants: Grants,
    live: Mutex<Option<Live<W::Bindings>>>,
    pub(crate) stats: Arc<PluginStats>,
}

impl<W: PluginWorld> PluginInstance<W> {
    /// Load the component, check it implements the world and instantiate it
    /// once (a plugin that cannot start is refused at start).
    pub(crate) async fn start(
        name: &str,
        sandbox: Arc<Sandbox>,
        cmd: &std::path::Path,
        sha256: Option<&str>,
        limits: Limits,
        grants: Grants,
    ) -> Result<Self, String> {
        let pre = sandbox.prepare(cmd, sha256, W::WORLD, W::prepare)?;
        let instance = PluginInstance {
            name: Arc::from(name),
            sandbox,
            pre,
            limits,
            grants,
            live: Mutex::new(None),
            stats: Arc::new(PluginStats::default()),
        };
        let live = instance
            .instantiate()
            .await
            .map_err(|failure| format!("{} failed to start: {failure}", cmd.display()))?;
        *instance.live.lock().await = Some(live);
        Ok(instance)
    }

    async fn instantiate(&self) -> Result<Live<W::Bindings>, Failure> {
        self.sandbox
            .instantiate(
                &self.name,
                &self.limits,
                &self.grants,
                None,
                Instant::now() + self.limits.timeout,
                &self.pre,
                W::instantiate,
            )
            .await
    }

    /// Call the plugin: rebuild the instance first if a previous call
    /// poisoned it, and poison it if this call fails.
    pub(crate) async fn call<R, F>(&self, body: F) -> Result<R, Failure>
    where
        F: for<'a> FnOnce(&'a mut Store<State>, &'a W::Bindings) -> CallFuture<'a, R>,
    {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let mut live = self.live.lock().await;
        if live.is_none() {
            let rebuilt = self.instantiate().await;
            let restarts = self.stats.restarts.fetch_add(1, Ordering::Relaxed) + 1;
            match rebuilt {
                Ok(instance) => {
                    tracing::warn!(plugin = %self.name, restarts, "plugin instance rebuilt");
                    *live = Some(instance);
                }
                Err(failure) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(plugin = %self.name, restarts, error = %failure, "plugin instance cannot be rebuilt");
                    return Err(failure);
                }
            }
        }
        let Live { store, bound, .. } = live.as_mut().expect("an instance is live here");
        let deadline = Instant::now() + self.limits.timeout;
        let result = self
            .sandbox
            .call(store, &self.limits, deadline, &*bound, body)
            .await;
        if let Err(failure) = &result {
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(plugin = %self.name, error = %failure, "plugin call failed; the instance is rebuilt before the next call");
            *live = None;
        }
        result
    }
}
