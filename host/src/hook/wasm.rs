//! Wasm hooks: a WebAssembly component, a fresh instance per event.
//!
//! The component is compiled once and pre-instantiated (imports resolved,
//! exports checked against the world) when the host is built; each event then
//! instantiates it in a new store under the hook's [`Limits`] and
//! [`Grants`], calls its handler, and drops the store.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{Answer, EventRef, Failure, Hook, HookKind, HookResult};
use crate::event::FsEvent;
use crate::sandbox::bindings::{fs_hook, provider_hook, wit};
use crate::sandbox::convert::{to_wit_fs, to_wit_provider};
use crate::sandbox::{Grants, Limits, Sandbox, State};

/// Which world a component implements, pre-instantiated.
enum Prepared {
    Fs(fs_hook::FsHookPre<State>),
    Provider(provider_hook::ProviderHookPre<State>),
}

/// The event family a wasm hook serves (selects its world).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    /// `fs-hook`.
    Fs,
    /// `provider-hook`.
    Provider,
}

/// A WebAssembly component run once per event.
pub struct WasmHook {
    name: Arc<str>,
    sandbox: Arc<Sandbox>,
    prepared: Prepared,
    limits: Limits,
    grants: Grants,
}

impl WasmHook {
    /// Load `path` and check it implements `world`. The error names the file
    /// and what is wrong (missing, not a component, wrong world).
    pub fn new(
        name: &str,
        sandbox: Arc<Sandbox>,
        path: &Path,
        world: World,
        limits: Limits,
        grants: Grants,
    ) -> Result<Self, String> {
        let prepared = match world {
            World::Fs => {
                Prepared::Fs(sandbox.prepare(path, None, "fs-hook", fs_hook::FsHookPre::new)?)
            }
            World::Provider => Prepared::Provider(sandbox.prepare(
                path,
                None,
                "provider-hook",
                provider_hook::ProviderHookPre::new,
            )?),
        };
        Ok(WasmHook {
            name: Arc::from(name),
            sandbox,
            prepared,
            limits,
            grants,
        })
    }

    fn event_file(&self, event: &FsEvent) -> Option<PathBuf> {
        (self.grants.event_file && !event.path.is_empty()).then(|| PathBuf::from(&event.path))
    }
}

#[async_trait::async_trait]
impl Hook for WasmHook {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> HookKind {
        HookKind::Wasm
    }

    fn limit(&self) -> Duration {
        self.limits.timeout
    }

    async fn call(&self, event: EventRef<'_>) -> HookResult {
        let _slot = self.sandbox.permit().await;
        let mut store = self
            .sandbox
            .new_store(&self.name, &self.limits, &self.grants)?;
        match (&self.prepared, event) {
            (Prepared::Fs(pre), EventRef::Fs(ev)) => {
                store.data_mut().event_file = self.event_file(ev);
                let input = to_wit_fs(ev);
                let verdict = self
                    .sandbox
                    .call(&mut store, &self.limits, pre, |store, pre| {
                        Box::pin(async move {
                            let hook = pre.instantiate_async(&mut *store).await?;
                            hook.hookhost_hooks_fs_handler()
                                .call_handle(&mut *store, &input)
                                .await
                        })
                    })
                    .await?;
                Ok(match verdict {
                    wit::Verdict::Allow => Answer::Allow,
                    wit::Verdict::Deny(reason) => Answer::Deny(reason),
                    wit::Verdict::Handled => Answer::Handled,
                })
            }
            (Prepared::Provider(pre), EventRef::Provider(ev)) => {
                let input = to_wit_provider(ev);
                let result = self
                    .sandbox
                    .call(&mut store, &self.limits, pre, |store, pre| {
                        Box::pin(async move {
                            let hook = pre.instantiate_async(&mut *store).await?;
                            hook.hookhost_hooks_provider_handler()
                                .call_handle(&mut *store, &input)
                                .await
                        })
                    })
                    .await?;
                Ok(match result {
                    Ok(()) => Answer::Allow,
                    Err(message) => Answer::Deny(message),
                })
            }
            (Prepared::Fs(_), EventRef::Provider(_)) => Err(Failure::BadComponent(
                "an fs-hook component cannot handle provider events".into(),
            )),
            (Prepared::Provider(_), EventRef::Fs(_)) => Err(Failure::BadComponent(
                "a provider-hook component cannot handle fs events".into(),
            )),
        }
    }
}
