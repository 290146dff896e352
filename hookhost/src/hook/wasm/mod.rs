//! Wasm hooks: a WebAssembly component, by default a fresh instance per
//! event.
//!
//! The component is compiled once and pre-instantiated (imports resolved,
//! exports checked against the world) when the host is built; each event then
//! instantiates it in a new store under the hook's [`Limits`] and
//! [`Grants`], calls its handler, and drops the store.
//!
//! A hook whose configuration declares it stateless-safe (`reuse`) keeps a
//! small pool of warm instances instead: an instance serves up to
//! `max_calls` events and is dropped after any failure, so a hook that traps
//! or hits a limit never serves again from a damaged state. Limits still
//! apply per call.
//!
//! Without `reuse`, a hook keeps a few fresh instances ready ([`spares`]):
//! still a never-used instance per event, made between events.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, Instance, InstancePre};

mod init;
mod login;
mod spares;

use super::{Answer, EventRef, Exchange, Failure, Hook, HookKind, HookResult};
use crate::config::{Grants, Limits, Reuse};
use crate::event::login::{LoginEvent, LoginHook};
use crate::event::{Contract, FsEvent};
use crate::sandbox::bindings::{fs_hook, provider_hook, wit};
use crate::sandbox::convert::{to_wit_fs, to_wit_provider};
use crate::sandbox::{ComponentFile, Guest, Live, Sandbox, Share, Slot, State};
use spares::Spares;

/// Which world a component implements: where its exports are.
enum Exports {
    Fs(fs_hook::FsHookIndices),
    Provider(provider_hook::ProviderHookIndices),
    Login(login::LoginExports),
}

/// An instantiated component.
enum Bound {
    Fs(fs_hook::FsHook),
    Provider(provider_hook::ProviderHook),
    Login(login::LoginBound),
}

/// An event in the form the world takes.
enum Input {
    Fs(Box<wit::FsEvent>),
    Provider(wit::ProviderEvent),
    Login(LoginEvent),
}

impl Exports {
    /// The world's exports in `instance`.
    fn load(&self, store: &mut Store<State>, instance: &Instance) -> wasmtime::Result<Bound> {
        Ok(match self {
            Exports::Fs(indices) => Bound::Fs(indices.load(store, instance)?),
            Exports::Provider(indices) => Bound::Provider(indices.load(store, instance)?),
            Exports::Login(indices) => Bound::Login(indices.load(store, instance)?),
        })
    }

    /// The world's name.
    fn world(&self) -> &'static str {
        match self {
            Exports::Fs(_) => "fs-hook",
            Exports::Provider(_) => "provider-hook",
            Exports::Login(login) => login.hook().world(),
        }
    }
}

/// Call the component's handler. The world and the input always match
/// (checked before).
async fn invoke(
    store: &mut Store<State>,
    bound: &Bound,
    input: &Input,
) -> wasmtime::Result<Answer> {
    Ok(match (bound, input) {
        (Bound::Fs(hook), Input::Fs(event)) => {
            match hook
                .hookhost_hooks_fs_handler()
                .call_handle(store, event)
                .await?
            {
                wit::Verdict::Allow => Answer::Allow,
                wit::Verdict::Deny(reason) => Answer::Deny(clip_reason(reason)),
                wit::Verdict::Handled => Answer::Handled,
            }
        }
        (Bound::Provider(hook), Input::Provider(event)) => {
            match hook
                .hookhost_hooks_provider_handler()
                .call_handle(store, event)
                .await?
            {
                Ok(()) => Answer::Allow,
                Err(message) => Answer::Deny(clip_reason(message)),
            }
        }
        (Bound::Login(hook), Input::Login(event)) => login::invoke(store, hook, event).await?,
        _ => unreachable!("the event family was checked against the world"),
    })
}

/// A guest's reason, clipped: it goes into logs and HTTP answers.
fn clip_reason(reason: String) -> String {
    crate::text::clip(reason, crate::text::REASON_BYTES, crate::text::Clip::Reason)
}

/// The event family a wasm hook serves (selects its world).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    /// `fs-hook`.
    Fs,
    /// `provider-hook`.
    Provider,
    /// The world of a login or connection hook (`pre-login-hook`, ...).
    Login(LoginHook),
}

impl World {
    /// The configuration key whose hooks serve it (`command.commands[].hook`
    /// names): `fs_actions`, `provider_actions`, `pre_login`, ...
    pub fn key(self) -> &'static str {
        match self {
            World::Fs => "fs_actions",
            World::Provider => "provider_actions",
            World::Login(hook) => hook.as_str(),
        }
    }
}

/// A warm instance and the events it served.
struct Warm {
    live: Live<Bound>,
    calls: u32,
}

/// What it takes to make and call an instance of one hook's component:
/// shared by the hook and the keyboard-interactive exchanges it starts.
struct Instances {
    name: Arc<str>,
    sandbox: Arc<Sandbox>,
    /// This hook's share of the instance pool.
    share: Share,
    pre: InstancePre<State>,
    exports: Exports,
    /// The component's optional `init` export.
    init: Option<ComponentExportIndex>,
    limits: Limits,
    grants: Arc<Grants>,
}

impl Instances {
    /// An instance to keep across calls (warm reuse, an exchange): a slot
    /// and the instantiation, by `deadline`.
    async fn keep(&self, deadline: Instant) -> Result<Live<Bound>, Failure> {
        let slot = self
            .sandbox
            .slot(Some(&self.share), deadline)
            .await
            .ok_or(Failure::Timeout(self.limits.timeout))?;
        Ok(self.make_in(slot, deadline).await?.map(|(_, bound)| bound))
    }

    /// Instantiate in `store` and find the world's exports.
    async fn instantiate(&self, store: &mut Store<State>) -> wasmtime::Result<(Instance, Bound)> {
        let instance = self.pre.instantiate_async(&mut *store).await?;
        let bound = self.exports.load(store, &instance)?;
        Ok((instance, bound))
    }

    /// A fresh instance in a slot already held, by `deadline`.
    async fn make_in(
        &self,
        slot: Slot,
        deadline: Instant,
    ) -> Result<Live<(Instance, Bound)>, Failure> {
        self.sandbox
            .instantiate_in(
                slot,
                Guest {
                    name: &self.name,
                    limits: &self.limits,
                    grants: &self.grants,
                },
                deadline,
                self,
                |store, core: &Instances| Box::pin(core.instantiate(store)),
            )
            .await
    }
}

/// How a wasm hook gets its instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A fresh instance per event, with up to `spares` made ahead (0: each
    /// made on the event's path). Spares need the pooling allocator.
    Fresh {
        /// Instances kept ready.
        spares: u32,
    },
    /// Warm instances reused across events (a stateless-safe hook).
    Reuse(Reuse),
}

/// Where a hook's instances come from between events.
enum Instancing {
    Fresh(Option<Arc<Spares>>),
    Warm(Reuse, Mutex<Vec<Warm>>),
}

/// A WebAssembly component run for each event.
pub struct WasmHook {
    core: Arc<Instances>,
    instancing: Instancing,
}

impl Drop for WasmHook {
    fn drop(&mut self) {
        if let Instancing::Fresh(Some(spares)) = &self.instancing {
            spares.close();
        }
    }
}

impl WasmHook {
    /// Load `file` and check it implements `world` and can be instantiated
    /// within `limits`. The error names the file and what is wrong (missing,
    /// not the pinned sha256, not signed as required, not a component, wrong
    /// world, needs more memory than allowed).
    pub fn new<'a>(
        name: &str,
        sandbox: Arc<Sandbox>,
        file: impl Into<ComponentFile<'a>>,
        world: World,
        limits: Limits,
        grants: Grants,
        mode: Mode,
    ) -> Result<Self, String> {
        let file = file.into();
        let path = file.path;
        let component = sandbox.load_checked(file)?;
        let initial = crate::sandbox::initial_memory_bytes(&component);
        if initial > limits.memory_bytes {
            return Err(format!(
                "{} needs {} MiB of memory to start, above its limit of {} MiB (limits.memory_mib)",
                path.display(),
                initial.div_ceil(1 << 20),
                limits.memory_bytes >> 20
            ));
        }
        let (pre, exports) = match world {
            World::Fs => sandbox.check_world(&component, path, "fs-hook", |pre| {
                let exports = Exports::Fs(fs_hook::FsHookIndices::new(&pre)?);
                Ok((pre, exports))
            })?,
            World::Provider => sandbox.check_world(&component, path, "provider-hook", |pre| {
                let exports = Exports::Provider(provider_hook::ProviderHookIndices::new(&pre)?);
                Ok((pre, exports))
            })?,
            World::Login(hook) => {
                let (pre, exports) =
                    login::LoginExports::prepare(&sandbox, &component, path, hook)?;
                (pre, Exports::Login(exports))
            }
        };
        let init = init::find(pre.component(), path)?;
        let instancing = match mode {
            Mode::Fresh { spares } if spares > 0 && sandbox.pooling() => {
                Instancing::Fresh(Some(Arc::new(Spares::new(spares))))
            }
            Mode::Fresh { .. } => Instancing::Fresh(None),
            Mode::Reuse(reuse) => Instancing::Warm(reuse, Mutex::new(Vec::new())),
        };
        Ok(WasmHook {
            core: Arc::new(Instances {
                name: Arc::from(name),
                share: sandbox.new_share(),
                sandbox,
                pre,
                exports,
                init,
                limits,
                grants: Arc::new(grants),
            }),
            instancing,
        })
    }

    /// The number of spares ready now and its changes (`None` without
    /// spares): lets a test wait until they are made.
    #[cfg(feature = "internals")]
    pub fn spares_ready(&self) -> Option<tokio::sync::watch::Receiver<usize>> {
        match &self.instancing {
            Instancing::Fresh(Some(spares)) => Some(spares.watch()),
            _ => None,
        }
    }

    fn event_file(&self, event: &FsEvent) -> Option<PathBuf> {
        (self.core.grants.event_file && !event.path.is_empty()).then(|| PathBuf::from(&event.path))
    }

    fn input(&self, event: EventRef<'_>) -> Result<Input, Failure> {
        match (&self.core.exports, event) {
            (Exports::Fs(_), EventRef::Fs(ev)) => Ok(Input::Fs(Box::new(to_wit_fs(ev)))),
            (Exports::Provider(_), EventRef::Provider(ev)) => {
                Ok(Input::Provider(to_wit_provider(ev)))
            }
            (Exports::Login(login), EventRef::Login(ev)) if login.hook() == ev.hook() => {
                Ok(Input::Login(ev.clone()))
            }
            (exports, event) => {
                let what = match event {
                    EventRef::Fs(_) => "fs events".to_owned(),
                    EventRef::Provider(_) => "provider events".to_owned(),
                    EventRef::Login(ev) => format!("{} events", ev.hook()),
                };
                Err(Failure::BadComponent(format!(
                    "a {} component cannot handle {what}",
                    exports.world()
                )))
            }
        }
    }

    /// Fresh instance: wait for a slot, instantiate and call, all under one
    /// deadline, then drop.
    async fn call_fresh(
        &self,
        deadline: Instant,
        event_file: Option<PathBuf>,
        input: Input,
    ) -> HookResult {
        let _slot = self
            .core
            .sandbox
            .slot(Some(&self.core.share), deadline)
            .await
            .ok_or(Failure::Timeout(self.core.limits.timeout))?;
        let mut store =
            self.core
                .sandbox
                .new_store(&self.core.name, &self.core.limits, &self.core.grants)?;
        store.data_mut().event_file = event_file;
        self.core
            .sandbox
            .call(
                &mut store,
                &self.core.limits,
                deadline,
                &*self.core,
                |store, core| {
                    Box::pin(async move {
                        let (_, bound) = core.instantiate(&mut *store).await?;
                        invoke(store, &bound, &input).await
                    })
                },
            )
            .await
    }

    /// A spare if one is ready (dropped off the path after the call),
    /// otherwise a fresh instance made inline.
    async fn call_spare(
        &self,
        spares: &Arc<Spares>,
        deadline: Instant,
        event_file: Option<PathBuf>,
        input: Input,
    ) -> HookResult {
        let Some(mut live) = spares.take(&self.core) else {
            return self.call_fresh(deadline, event_file, input).await;
        };
        let result = self.call_live(&mut live, deadline, event_file, input).await;
        spares.retire(live);
        result
    }

    /// Call an instance already made (a spare, a warm one).
    async fn call_live(
        &self,
        live: &mut Live<Bound>,
        deadline: Instant,
        event_file: Option<PathBuf>,
        input: Input,
    ) -> HookResult {
        let Live { store, bound, .. } = live;
        store.data_mut().event_file = event_file;
        self.core
            .sandbox
            .call(
                store,
                &self.core.limits,
                deadline,
                &*bound,
                |store, bound| Box::pin(async move { invoke(store, bound, &input).await }),
            )
            .await
    }

    /// Warm instance: take one from the pool (or make one), call, give it
    /// back unless it failed or served its `max_calls`.
    async fn call_warm(
        &self,
        reuse: &Reuse,
        idle: &Mutex<Vec<Warm>>,
        deadline: Instant,
        event_file: Option<PathBuf>,
        input: Input,
    ) -> HookResult {
        let taken = idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut warm = match taken {
            Some(warm) => warm,
            None => Warm {
                live: self.core.keep(deadline).await?,
                calls: 0,
            },
        };
        let result = self
            .call_live(&mut warm.live, deadline, event_file, input)
            .await;
        warm.calls += 1;
        if result.is_ok() && warm.calls < reuse.max_calls {
            let mut idle = idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < reuse.pool {
                idle.push(warm);
            }
        }
        result
    }
}

#[async_trait::async_trait]
impl Hook for WasmHook {
    fn name(&self) -> &str {
        &self.core.name
    }

    fn kind(&self) -> HookKind {
        HookKind::Wasm
    }

    async fn call(&self, event: EventRef<'_>, _contract: &Contract) -> HookResult {
        // The limit runs from here: waiting for a slot counts against it.
        let deadline = Instant::now() + self.core.limits.timeout;
        let input = self.input(event)?;
        let event_file = match event {
            EventRef::Fs(ev) => self.event_file(ev),
            EventRef::Provider(_) | EventRef::Login(_) => None,
        };
        match &self.instancing {
            Instancing::Fresh(None) => self.call_fresh(deadline, event_file, input).await,
            Instancing::Fresh(Some(spares)) => {
                self.call_spare(spares, deadline, event_file, input).await
            }
            Instancing::Warm(reuse, idle) => {
                self.call_warm(reuse, idle, deadline, event_file, input)
                    .await
            }
        }
    }

    async fn exchange(&self, _contract: &Contract) -> Result<Box<dyn Exchange>, Failure> {
        match &self.core.exports {
            Exports::Login(login) if login.hook() == LoginHook::KeyboardInteractive => {
                Ok(Box::new(login::WasmExchange {
                    core: self.core.clone(),
                    live: None,
                    failed: false,
                }))
            }
            exports => Err(Failure::BadComponent(format!(
                "a {} component cannot answer keyboard-interactive rounds",
                exports.world()
            ))),
        }
    }
}
