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
use crate::event::{self, FsEvent, ProviderEvent};
use crate::sandbox::bindings::{fs_hook, provider_hook, wit};
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
            World::Fs => Prepared::Fs(sandbox.prepare(path, "fs-hook", fs_hook::FsHookPre::new)?),
            World::Provider => Prepared::Provider(sandbox.prepare(
                path,
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
                let pre = pre.clone();
                let verdict = self
                    .sandbox
                    .call(&mut store, &self.limits, |store| {
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
                let pre = pre.clone();
                let result = self
                    .sandbox
                    .call(&mut store, &self.limits, |store| {
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

/// The WIT form of an fs event.
pub(crate) fn to_wit_fs(ev: &FsEvent) -> wit::FsEvent {
    use event::{FsAction as A, FsProvider as P, Protocol as Pr, Status as S};
    wit::FsEvent {
        action: match ev.action {
            A::Download => wit::FsAction::Download,
            A::PreDownload => wit::FsAction::PreDownload,
            A::Upload => wit::FsAction::Upload,
            A::PreUpload => wit::FsAction::PreUpload,
            A::Delete => wit::FsAction::Delete,
            A::PreDelete => wit::FsAction::PreDelete,
            A::Rename => wit::FsAction::Rename,
            A::SshCmd => wit::FsAction::SshCmd,
            A::Mkdir => wit::FsAction::Mkdir,
            A::Rmdir => wit::FsAction::Rmdir,
        },
        username: ev.username.clone(),
        path: ev.path.clone(),
        target_path: ev.target_path.clone(),
        ssh_cmd: ev.ssh_cmd.clone(),
        file_size: ev.file_size,
        fs_provider: match ev.fs_provider {
            P::Local => wit::FsProvider::Local,
            P::S3 => wit::FsProvider::S3,
            P::Gcs => wit::FsProvider::Gcs,
            P::AzureBlob => wit::FsProvider::AzureBlob,
            P::LocalEncrypted => wit::FsProvider::LocalEncrypted,
            P::Sftp => wit::FsProvider::Sftp,
            P::Other(code) => wit::FsProvider::Other(code),
        },
        bucket: ev.bucket.clone(),
        endpoint: ev.endpoint.clone(),
        status: match ev.status {
            S::GenericError => wit::Status::GenericError,
            S::Ok => wit::Status::Ok,
            S::QuotaExceeded => wit::Status::QuotaExceeded,
        },
        protocol: match &ev.protocol {
            Pr::Ssh => wit::Protocol::Ssh,
            Pr::Sftp => wit::Protocol::Sftp,
            Pr::Scp => wit::Protocol::Scp,
            Pr::Ftp => wit::Protocol::Ftp,
            Pr::Dav => wit::Protocol::Dav,
            Pr::Http => wit::Protocol::Http,
            Pr::Other(name) => wit::Protocol::Other(name.clone()),
        },
        open_flags: ev.open_flags,
        timestamp: ev.timestamp,
        ip: ev.ip.clone(),
        session_id: ev.session_id.clone(),
    }
}

/// The WIT form of a provider event.
pub(crate) fn to_wit_provider(ev: &ProviderEvent) -> wit::ProviderEvent {
    use event::{ObjectType as O, ProviderAction as A};
    wit::ProviderEvent {
        action: match ev.action {
            A::Add => wit::ProviderAction::Add,
            A::Update => wit::ProviderAction::Update,
            A::Delete => wit::ProviderAction::Delete,
        },
        object_type: match ev.object_type {
            O::User => wit::ObjectType::User,
            O::Folder => wit::ObjectType::Folder,
            O::Group => wit::ObjectType::Group,
            O::Admin => wit::ObjectType::Admin,
            O::ApiKey => wit::ObjectType::ApiKey,
            O::Share => wit::ObjectType::Share,
            O::EventAction => wit::ObjectType::EventAction,
            O::EventRule => wit::ObjectType::EventRule,
            O::Role => wit::ObjectType::Role,
            O::IpListEntry => wit::ObjectType::IpListEntry,
            O::Configs => wit::ObjectType::Configs,
        },
        object_name: ev.object_name.clone(),
        object_data: ev.object_json.to_string(),
        executor: ev.executor.clone(),
        ip: ev.ip.clone(),
        timestamp: ev.timestamp,
    }
}
