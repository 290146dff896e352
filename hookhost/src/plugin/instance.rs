//! A plugin's long-lived instances.
//!
//! Unlike a hook, a plugin keeps its instances (and their state) across
//! calls. A plugin has a pool of `instances` of them (default: one per CPU
//! core; `1` keeps a single stateful instance): calls run concurrently, one
//! per instance, so one slow call does not hold up the others. Instances are
//! created as calls need them; the first at start, so a plugin that cannot
//! start is refused then. Each call runs under the plugin's limits, refilled
//! per call; waiting for an instance counts against the call's deadline. A
//! call that traps or hits a limit poisons its instance: it is dropped and a
//! new one is instantiated for the next call on that place; rebuilds are
//! counted and logged. A call whose caller gives up midway (its future
//! dropped: a client past its deadline, a closed connection) discards its
//! instance the same way. A call may ask for affinity (keyboard-interactive
//! rounds of one request): calls with the same key always go to the same
//! instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::{Mutex, Semaphore};
use wasmtime::Store;
use wasmtime::component::InstancePre;

use crate::config::{Grants, Limits};
use crate::failure::Failure;
use crate::sandbox::bindings::{
    auth_plugin, eventsearcher_plugin, ipfilter_plugin, kms_plugin, notifier_plugin,
};
use crate::sandbox::{CallFuture, Guest, Live, Sandbox, State};

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

/// One place of a plugin's pool.
struct Place<B> {
    live: Option<Live<B>>,
    /// Whether it ever held an instance (a new one is then a rebuild).
    used: bool,
}

impl<B> Place<B> {
    const EMPTY: Place<B> = Place {
        live: None,
        used: false,
    };
}

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
    grants: Arc<Grants>,
    /// The pool: each place holds an instance, or none until one is needed
    /// (or after a failure poisoned it).
    places: Vec<Mutex<Place<W::Bindings>>>,
    /// Places not in use by a call.
    free: Semaphore,
    pub(crate) stats: Arc<PluginStats>,
}

impl<W: PluginWorld> PluginInstance<W> {
    /// Load the component, check it implements the world and instantiate it
    /// once (a plugin that cannot start is refused at start). The pool has
    /// `instances` places (at least 1).
    pub(crate) async fn start(
        name: &str,
        sandbox: Arc<Sandbox>,
        cmd: crate::sandbox::ComponentFile<'_>,
        limits: Limits,
        grants: Grants,
        instances: usize,
    ) -> Result<Self, String> {
        let path = cmd.path;
        let pre = sandbox.prepare(cmd, W::WORLD, W::prepare)?;
        let instances = instances.max(1);
        let instance = PluginInstance {
            name: Arc::from(name),
            sandbox,
            pre,
            limits,
            grants: Arc::new(grants),
            places: (0..instances).map(|_| Mutex::new(Place::EMPTY)).collect(),
            free: Semaphore::new(instances),
            stats: Arc::new(PluginStats::default()),
        };
        let live = instance
            .instantiate()
            .await
            .map_err(|failure| format!("{} failed to start: {failure}", path.display()))?;
        *instance.places[0].lock().await = Place {
            live: Some(live),
            used: true,
        };
        Ok(instance)
    }

    /// Instances in the pool.
    pub(crate) fn size(&self) -> usize {
        self.places.len()
    }

    async fn instantiate(&self) -> Result<Live<W::Bindings>, Failure> {
        self.sandbox
            .instantiate(
                Guest {
                    name: &self.name,
                    limits: &self.limits,
                    grants: &self.grants,
                },
                None,
                Instant::now() + self.limits.timeout,
                &self.pre,
                W::instantiate,
            )
            .await
    }

    /// Call the plugin on a free instance (see [`Self::call_on`]).
    pub(crate) async fn call<R, F>(&self, body: F) -> Result<R, Failure>
    where
        F: for<'a> FnOnce(&'a mut Store<State>, &'a W::Bindings) -> CallFuture<'a, R>,
    {
        self.call_on(None, body).await
    }

    /// Call the plugin: on the instance `affinity` maps to, or any free one;
    /// create the instance first if its place is empty (or a previous call
    /// poisoned it), and poison it if this call fails. Waiting counts
    /// against the call's deadline.
    pub(crate) async fn call_on<R, F>(&self, affinity: Option<&str>, body: F) -> Result<R, Failure>
    where
        F: for<'a> FnOnce(&'a mut Store<State>, &'a W::Bindings) -> CallFuture<'a, R>,
    {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + self.limits.timeout;
        let too_late = || Failure::Timeout(self.limits.timeout);
        let tokio_deadline = tokio::time::Instant::from_std(deadline);
        let _free = tokio::time::timeout_at(tokio_deadline, self.free.acquire())
            .await
            .map_err(|_| too_late())?
            .expect("never closed");
        let mut place = match affinity {
            Some(key) => {
                let index = affinity_index(key, self.places.len());
                tokio::time::timeout_at(tokio_deadline, self.places[index].lock())
                    .await
                    .map_err(|_| too_late())?
            }
            // Holding a `free` permit, some place is unlocked: every
            // holder of a lock holds a permit too.
            None => self
                .places
                .iter()
                .find_map(|place| place.try_lock().ok())
                .expect("a free permit means a free place"),
        };
        if place.live.is_none() {
            match self.instantiate().await {
                Ok(instance) => {
                    if place.used {
                        let restarts = self.stats.restarts.fetch_add(1, Ordering::Relaxed) + 1;
                        tracing::warn!(plugin = %self.name, restarts, "plugin instance rebuilt");
                    }
                    place.live = Some(instance);
                    place.used = true;
                }
                Err(failure) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(plugin = %self.name, error = %failure, "plugin instance cannot be created");
                    return Err(failure);
                }
            }
        }
        // Out of its place for the call: if the caller gives up (its future
        // is dropped mid-call), the interrupted instance goes with it and
        // the place is empty for the next call, never half-run.
        let mut live = place.live.take().expect("an instance is live here");
        let Live { store, bound, .. } = &mut live;
        let result = self
            .sandbox
            .call(store, &self.limits, deadline, &*bound, body)
            .await;
        match &result {
            Ok(_) => place.live = Some(live),
            Err(failure) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(plugin = %self.name, error = %failure, "plugin call failed; the instance is rebuilt before its next call");
            }
        }
        result
    }
}

/// The place calls with this affinity key go to.
fn affinity_index(key: &str, places: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % places as u64) as usize
}
