//! Plugins as WebAssembly components: notifier, kms, auth, eventsearcher,
//! ipfilter (SFTPGo's plugin types), each a long-lived instance.
//!
//! With several plugins of one type, SFTPGo's rules apply:
//!
//! - notifiers: every notifier receives the events its options select;
//! - kms: each plugin serves its `scheme` (encrypt) and `encrypted_status`
//!   (decrypt); both are unique across plugins;
//! - auth: a check goes to the first plugin (in configuration order) whose
//!   `scope` includes it; keyboard-interactive rounds go to the first plugin
//!   with the keyboard-interactive scope;
//! - eventsearcher: at most one;
//! - ipfilter: the last one configured (earlier ones are ignored with a
//!   warning). A failing filter call (trap, timeout) refuses the IP.
//!
//! `auto_mtls` in hookhost's own entry has no effect: in-process there is
//! no transport to protect, and `hookhost plugin` ([`crate::gateway`]) does
//! what the launching client asks (SFTPGo's `auto_mtls`).

mod env;
mod instance;
pub(crate) mod metrics;
mod notifier;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

pub use instance::PluginStats;
#[cfg(feature = "gateway")]
pub(crate) use notifier::Payload;
pub use notifier::{NativeNotifier, NotifierStats};

use crate::config::Grants;
use crate::config::{PluginConfig, PluginKind, auth_scope};
use crate::event::{FsEvent, LogEvent, ProviderEvent};
use crate::failure::Failure;
use crate::journal::Table;
use crate::journal::notice::Noticed;
use crate::sandbox::Sandbox;
use instance::{AuthWorld, IpFilterWorld, KmsWorld, PluginInstance, SearcherWorld};
use notifier::Notifier;

/// KMS types (SFTPGo's secret and what encryption returns).
pub mod kms {
    pub use crate::sandbox::bindings::kms_plugin::exports::hookhost::hooks::kms::{
        Encrypted, Secret,
    };

    impl Secret {
        /// A secret to encrypt, as SFTPGo's `EncryptRequest` gives it.
        pub fn plain(payload: String, additional_data: String) -> Secret {
            Secret {
                status: "Plain".into(),
                payload,
                key: String::new(),
                additional_data,
                mode: 0,
            }
        }
    }
}

/// Auth types (keyboard-interactive rounds).
pub mod auth {
    pub use crate::sandbox::bindings::auth_plugin::exports::hookhost::hooks::auth::{
        CheckPasswordResult, KeyboardRequest, KeyboardResponse,
    };
}

/// Event-search types (SFTPGo's filters and results).
pub mod search {
    pub use crate::sandbox::bindings::eventsearcher_plugin::exports::hookhost::hooks::eventsearcher::{
        CommonSearch, FsEventSearch, LogEventSearch, Order, ProviderEventSearch, SearchResult,
    };
}

/// What a login presents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A password.
    Password(String),
    /// A public key, in authorized_keys format.
    PublicKey(String),
    /// A TLS client certificate, PEM.
    TlsCertificate(String),
    /// The start of keyboard-interactive authentication (its rounds go
    /// through [`Plugins::send_keyboard_auth_request`]).
    KeyboardInteractive,
}

impl Credential {
    /// The auth scope that handles it, and its name for errors.
    fn scope(&self) -> (u32, &'static str) {
        match self {
            Credential::Password(_) => (auth_scope::PASSWORD, "password authentication"),
            Credential::PublicKey(_) => (auth_scope::PUBLIC_KEY, "public key authentication"),
            Credential::TlsCertificate(_) => (
                auth_scope::TLS_CERTIFICATE,
                "TLS certificate authentication",
            ),
            Credential::KeyboardInteractive => (
                auth_scope::KEYBOARD_INTERACTIVE,
                "keyboard-interactive authentication",
            ),
        }
    }
}

/// Why a plugin call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// No plugin of that kind (or for that scheme or scope) is configured.
    #[error("no plugin configured for {0}")]
    NotConfigured(String),
    /// The plugin answered with an error (a refused login, an unknown key).
    #[error("{plugin}: {message}")]
    Refused {
        /// The plugin's name.
        plugin: String,
        /// Its message.
        message: String,
    },
    /// The call failed (trap, timeout, out of fuel, ...); the instance is
    /// rebuilt before the next call.
    #[error("{plugin}: {failure}")]
    Failed {
        /// The plugin's name.
        plugin: String,
        /// What went wrong.
        failure: Failure,
    },
}

/// Counters of one plugin, for operators and tests.
#[derive(Clone, Debug)]
pub struct PluginInfo {
    /// The plugin's name (its component's file stem).
    pub name: String,
    /// SFTPGo's type name.
    pub kind: &'static str,
    /// Instances in its pool.
    pub instances: usize,
    /// Call counters.
    pub stats: Arc<PluginStats>,
    /// Delivery counters (notifiers only).
    pub notifier: Option<watch::Receiver<NotifierStats>>,
}

struct Named<W: instance::PluginWorld, O> {
    name: String,
    options: O,
    instance: PluginInstance<W>,
}

impl<W: instance::PluginWorld, O> Named<W, O> {
    /// Call the plugin; an error string from the guest is its refusal.
    async fn ask<T, F>(&self, body: F) -> Result<T, PluginError>
    where
        F: for<'a> FnOnce(
            &'a mut wasmtime::Store<crate::sandbox::State>,
            &'a W::Bindings,
        ) -> crate::sandbox::CallFuture<'a, Result<T, String>>,
    {
        self.ask_on(None, body).await
    }

    /// [`Self::ask`] on the instance `affinity` maps to (calls that share
    /// state, such as keyboard-interactive rounds).
    async fn ask_on<T, F>(&self, affinity: Option<&str>, body: F) -> Result<T, PluginError>
    where
        F: for<'a> FnOnce(
            &'a mut wasmtime::Store<crate::sandbox::State>,
            &'a W::Bindings,
        ) -> crate::sandbox::CallFuture<'a, Result<T, String>>,
    {
        answer(&self.name, self.instance.call_on(affinity, body).await)
    }
}

/// Wait until every notifier has taken an event; a failure was logged
/// already (the event is delivered from memory).
fn taken(
    taking: impl Iterator<Item = notifier::Taking>,
) -> impl Future<Output = ()> + Send + 'static {
    let taking: Vec<_> = taking.collect();
    async move {
        if !taking.is_empty() {
            futures::future::join_all(taking).await;
        }
    }
}

/// The running plugins of a host.
#[derive(Default)]
pub struct Plugins {
    notifiers: Vec<Notifier>,
    kms: Vec<Named<KmsWorld, crate::config::KmsOptions>>,
    auths: Vec<Named<AuthWorld, u32>>,
    searcher: Option<Named<SearcherWorld, ()>>,
    ipfilter: Option<Named<IpFilterWorld, ()>>,
}

fn answer<T>(plugin: &str, result: Result<Result<T, String>, Failure>) -> Result<T, PluginError> {
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(PluginError::Refused {
            plugin: plugin.to_owned(),
            message: crate::text::clip(
                message,
                crate::text::REASON_BYTES,
                crate::text::Clip::Reason,
            ),
        }),
        Err(failure) => Err(PluginError::Failed {
            plugin: plugin.to_owned(),
            failure,
        }),
    }
}

impl Plugins {
    /// Start every configured plugin. `sandbox` gives the shared engine;
    /// `host_env` is the environment the env rules select from.
    pub(crate) async fn start(
        configs: &[PluginConfig],
        sandbox: &Arc<Sandbox>,
        host_env: &[(String, String)],
        journal: Option<&Arc<crate::journal::Journal>>,
    ) -> Result<Plugins, crate::config::ConfigError> {
        let mut plugins = Plugins::default();
        if configs.iter().any(|c| c.auto_mtls) {
            tracing::info!(
                "auto_mtls in hookhost's configuration has no effect (in-process: no transport; `hookhost plugin`: the client decides)"
            );
        }
        for config in configs {
            let grants = Grants {
                dirs: config.dirs.clone(),
                env: env::plugin_env(&config.env_prefix, &config.env_vars, &config.cmd, host_env),
                args: config.args.clone(),
                event_file: false,
                http: config.http.clone(),
                tcp: config.tcp.clone(),
            };
            let name = config.name.clone();
            let fail = |message: String| {
                crate::config::ConfigError::field(format!("{}.cmd", config.field), message)
            };
            macro_rules! instance {
                ($world:ty) => {
                    PluginInstance::<$world>::start(
                        &name,
                        sandbox.clone(),
                        crate::sandbox::ComponentFile {
                            path: &config.cmd,
                            sha256: config.sha256sum.as_deref(),
                            signed_by: &config.signed_by,
                        },
                        config.limits.clone(),
                        grants,
                        config.instances,
                    )
                    .await
                    .map_err(fail)?
                };
            }
            match &config.kind {
                PluginKind::Notifier(options) => {
                    let instance = instance!(instance::NotifierWorld);
                    plugins.notifiers.push(Notifier::wasm(
                        &name,
                        options.clone(),
                        instance,
                        journal.cloned(),
                    ));
                }
                PluginKind::Kms(options) => plugins.kms.push(Named {
                    name: name.clone(),
                    options: options.clone(),
                    instance: instance!(KmsWorld),
                }),
                PluginKind::Auth(options) => plugins.auths.push(Named {
                    name: name.clone(),
                    options: options.scope,
                    instance: instance!(AuthWorld),
                }),
                PluginKind::EventSearcher => {
                    plugins.searcher = Some(Named {
                        name: name.clone(),
                        options: (),
                        instance: instance!(SearcherWorld),
                    })
                }
                PluginKind::IpFilter => {
                    plugins.ipfilter = Some(Named {
                        name: name.clone(),
                        options: (),
                        instance: instance!(IpFilterWorld),
                    })
                }
            }
            tracing::debug!(plugin = %name, kind = config.kind.as_str(), "plugin started");
        }
        Ok(plugins)
    }

    /// Add a native notifier (see [`crate::HostBuilder::notifier`]).
    pub(crate) fn add_native_notifier(
        &mut self,
        notifier: Arc<dyn NativeNotifier>,
        options: crate::config::NotifierOptions,
        journal: Option<&Arc<crate::journal::Journal>>,
    ) {
        self.notifiers
            .push(Notifier::native(notifier, options, journal.cloned()));
    }

    /// Counters of every plugin.
    pub fn info(&self) -> Vec<PluginInfo> {
        let mut info: Vec<PluginInfo> = self
            .notifiers
            .iter()
            .map(|n| PluginInfo {
                name: n.name().to_owned(),
                kind: "notifier",
                instances: n.instances(),
                stats: n.plugin_stats().clone(),
                notifier: Some(n.stats()),
            })
            .collect();
        let mut add = |name: &str, kind: &'static str, stats: &Arc<PluginStats>, instances| {
            info.push(PluginInfo {
                name: name.to_owned(),
                kind,
                instances,
                stats: stats.clone(),
                notifier: None,
            })
        };
        for p in &self.kms {
            add(&p.name, "kms", &p.instance.stats, p.instance.size());
        }
        for p in &self.auths {
            add(&p.name, "auth", &p.instance.stats, p.instance.size());
        }
        if let Some(p) = &self.searcher {
            add(
                &p.name,
                "eventsearcher",
                &p.instance.stats,
                p.instance.size(),
            );
        }
        if let Some(p) = &self.ipfilter {
            add(&p.name, "ipfilter", &p.instance.stats, p.instance.size());
        }
        info
    }

    /// Whether any notifier is configured.
    pub fn has_notifiers(&self) -> bool {
        !self.notifiers.is_empty()
    }

    /// Send a file-system event to the notifiers that select it. It is
    /// handed over now; the returned future resolves once every notifier
    /// has it on disk (with a journal; at once without). Delivery and
    /// retries happen in the background.
    pub(crate) fn notify_fs(&self, event: &FsEvent) -> impl Future<Output = ()> + Send + 'static {
        taken(self.notifiers.iter().filter_map(|n| n.notify_fs(event)))
    }

    /// Send a provider event to the notifiers that select it (as
    /// [`Self::notify_fs`]).
    pub(crate) fn notify_provider(
        &self,
        event: &ProviderEvent,
    ) -> impl Future<Output = ()> + Send + 'static {
        let notifiers = if event.internal {
            &[][..]
        } else {
            &self.notifiers[..]
        };
        taken(notifiers.iter().filter_map(|n| n.notify_provider(event)))
    }

    /// Send a log event to the notifiers that select it (as
    /// [`Self::notify_fs`]).
    pub(crate) fn notify_log(&self, event: &LogEvent) -> impl Future<Output = ()> + Send + 'static {
        taken(self.notifiers.iter().filter_map(|n| n.notify_log(event)))
    }

    /// Give each notifier its entries read back from the journal at start.
    /// An entry whose notifier is no longer configured is dropped (logged).
    pub(crate) fn replay(&self, journal: &crate::journal::Journal, notices: Vec<(u64, Noticed)>) {
        let mut replayed = 0;
        for (id, notice) in notices {
            let Noticed {
                notifier,
                event,
                received_ms,
            } = notice;
            match self.notifiers.iter().find(|n| n.name() == notifier) {
                Some(n) => {
                    n.adopt(vec![notifier::Pending::from_journal(
                        *event,
                        received_ms,
                        id,
                    )]);
                    replayed += 1;
                }
                None => {
                    tracing::warn!(id, plugin = %notifier, "a journaled notifier event has no notifier of that name configured any more; dropped");
                    journal.remove(Table::Notices, id);
                }
            }
        }
        journal.replayed(replayed, "notifier events");
    }

    /// Take what the notifiers of a retired configuration kept at their
    /// shutdown (see [`Self::shutdown`]): each event goes to the notifier
    /// of the same name here, or is dropped (logged) when there is none.
    pub(crate) fn adopt_from(&self, retired: &Plugins) {
        for old in &retired.notifiers {
            let left = old.take_left();
            if left.is_empty() {
                continue;
            }
            match self.notifiers.iter().find(|n| n.name() == old.name()) {
                Some(n) => n.adopt(left),
                None => {
                    tracing::warn!(plugin = %old.name(), dropped = left.len(), "the new configuration has no notifier of that name; its kept events are dropped");
                    for pending in &left {
                        old.forget(pending);
                    }
                }
            }
        }
    }

    /// Deliver an event to every notifier, whatever its options select: for
    /// a server that chose the event itself (SFTPGo filters before it sends
    /// to a plugin). A notifier with a retry queue takes the event and
    /// answers at once; one without is called now, and its refusal or
    /// failure is the answer.
    /// Deliver one event to every notifier now, as a server in front that
    /// chose it already does (the notifiers' `notifier_options` are not
    /// consulted): with a retry queue (`retry_max_time` > 0) it is taken
    /// like any event; without one, each notifier is called now and the
    /// first refusal is returned. `hookhost fire` calls notifiers this way.
    pub async fn notify(&self, event: crate::event::Event) -> Result<(), PluginError> {
        self.deliver(event.into()).await
    }

    pub(crate) async fn deliver(&self, event: notifier::Payload) -> Result<(), PluginError> {
        for notifier in &self.notifiers {
            notifier
                .deliver(event.clone())
                .await
                .map_err(|message| PluginError::Refused {
                    plugin: notifier.name().to_owned(),
                    message: crate::text::clip(
                        message,
                        crate::text::REASON_BYTES,
                        crate::text::Clip::Reason,
                    ),
                })?;
        }
        Ok(())
    }

    /// Encrypt a secret with the KMS plugin serving `scheme`.
    pub async fn kms_encrypt(
        &self,
        scheme: &str,
        secret: &kms::Secret,
        url: &str,
        master_key: &str,
    ) -> Result<kms::Encrypted, PluginError> {
        let (secret, url, master_key) = (secret.clone(), url.to_owned(), master_key.to_owned());
        let plugin = self
            .kms
            .iter()
            .find(|p| p.options.scheme == scheme)
            .ok_or_else(|| PluginError::NotConfigured(format!("KMS scheme {scheme:?}")))?;
        plugin
            .ask(move |store, k| {
                Box::pin(async move {
                    k.hookhost_hooks_kms()
                        .call_encrypt(store, &secret, &url, &master_key)
                        .await
                })
            })
            .await
    }

    /// Decrypt a secret with the KMS plugin whose encrypted status it has.
    pub async fn kms_decrypt(
        &self,
        secret: &kms::Secret,
        url: &str,
        master_key: &str,
    ) -> Result<String, PluginError> {
        let (owned, url, master_key) = (secret.clone(), url.to_owned(), master_key.to_owned());
        let plugin = self
            .kms
            .iter()
            .find(|p| p.options.encrypted_status == secret.status)
            .ok_or_else(|| {
                PluginError::NotConfigured(format!("KMS secrets with status {:?}", secret.status))
            })?;
        plugin
            .ask(move |store, k| {
                Box::pin(async move {
                    k.hookhost_hooks_kms()
                        .call_decrypt(store, &owned, &url, &master_key)
                        .await
                })
            })
            .await
    }

    /// Whether an auth plugin handles `scope` (see [`auth_scope`]).
    pub fn has_auth_scope(&self, scope: u32) -> bool {
        self.auths.iter().any(|p| p.options & scope != 0)
    }

    fn auth_for(&self, scope: u32, what: &str) -> Result<&Named<AuthWorld, u32>, PluginError> {
        self.auths
            .iter()
            .find(|p| p.options & scope != 0)
            .ok_or_else(|| PluginError::NotConfigured(what.to_owned()))
    }

    /// Authenticate a login with the first plugin whose scope covers the
    /// credential. `Ok(Some(user))`: log in this user (JSON); `Ok(None)`:
    /// log the known user (`user`) in unchanged; `Err(Refused)`: denied.
    pub async fn authenticate(
        &self,
        username: &str,
        credential: Credential,
        ip: &str,
        protocol: &str,
        user: Option<&str>,
    ) -> Result<Option<String>, PluginError> {
        let (scope, what) = credential.scope();
        let plugin = self.auth_for(scope, what)?;
        // SFTPGo always sends a user: for one it does not know, `id` 0 and
        // the username (`getUserAndJSONForHook`).
        let user = Some(match user {
            Some(user) => user.to_owned(),
            None => String::from_utf8(crate::event::go::go_marshal(
                &serde_json::json!({"id": 0, "username": username}),
            ))
            .expect("JSON is UTF-8"),
        });
        let (username, ip, protocol) = (username.to_owned(), ip.to_owned(), protocol.to_owned());
        plugin
            .ask(move |store, a| {
                Box::pin(async move {
                    let auth = a.hookhost_hooks_auth();
                    let (name, ip, protocol, user) = (&username, &ip, &protocol, user.as_deref());
                    match &credential {
                        Credential::Password(password) => {
                            auth.call_check_user_and_pass(store, name, password, ip, protocol, user)
                                .await
                        }
                        Credential::PublicKey(key) => {
                            auth.call_check_user_and_public_key(
                                store, name, key, ip, protocol, user,
                            )
                            .await
                        }
                        Credential::TlsCertificate(pem) => {
                            auth.call_check_user_and_tls_cert(store, name, pem, ip, protocol, user)
                                .await
                        }
                        Credential::KeyboardInteractive => {
                            auth.call_check_user_and_keyboard_interactive(
                                store, name, ip, protocol, user,
                            )
                            .await
                        }
                    }
                })
            })
            .await
    }

    /// One keyboard-interactive round.
    pub async fn send_keyboard_auth_request(
        &self,
        request: &auth::KeyboardRequest,
    ) -> Result<auth::KeyboardResponse, PluginError> {
        let owned = request.clone();
        let plugin = self.auth_for(
            auth_scope::KEYBOARD_INTERACTIVE,
            "keyboard-interactive authentication",
        )?;
        // Every round of one request on the same instance: a plugin keeps
        // the exchange's state in its memory.
        plugin
            .ask_on(Some(&request.request_id), move |store, a| {
                let request = owned;
                Box::pin(async move {
                    a.hookhost_hooks_auth()
                        .call_send_keyboard_auth_request(store, &request)
                        .await
                })
            })
            .await
    }

    /// Answer SFTPGo's check-password hook with the first plugin that has
    /// the password scope.
    pub async fn check_password(
        &self,
        username: &str,
        password: &str,
        ip: &str,
        protocol: &str,
    ) -> Result<auth::CheckPasswordResult, PluginError> {
        let plugin = self.auth_for(auth_scope::PASSWORD, "password checks")?;
        let (username, password, ip, protocol) = (
            username.to_owned(),
            password.to_owned(),
            ip.to_owned(),
            protocol.to_owned(),
        );
        plugin
            .ask(move |store, a| {
                Box::pin(async move {
                    a.hookhost_hooks_auth()
                        .call_check_password(store, &username, &password, &ip, &protocol)
                        .await
                })
            })
            .await
    }

    fn searcher(&self) -> Result<&Named<SearcherWorld, ()>, PluginError> {
        self.searcher
            .as_ref()
            .ok_or_else(|| PluginError::NotConfigured("event search".into()))
    }

    /// Search stored file-system events.
    pub async fn search_fs_events(
        &self,
        filter: &search::FsEventSearch,
    ) -> Result<search::SearchResult, PluginError> {
        let filter = filter.clone();
        let plugin = self.searcher()?;
        plugin
            .ask(move |store, s| {
                Box::pin(async move {
                    s.hookhost_hooks_eventsearcher()
                        .call_search_fs_events(store, &filter)
                        .await
                })
            })
            .await
    }

    /// Search stored provider events.
    pub async fn search_provider_events(
        &self,
        filter: &search::ProviderEventSearch,
    ) -> Result<search::SearchResult, PluginError> {
        let filter = filter.clone();
        let plugin = self.searcher()?;
        plugin
            .ask(move |store, s| {
                Box::pin(async move {
                    s.hookhost_hooks_eventsearcher()
                        .call_search_provider_events(store, &filter)
                        .await
                })
            })
            .await
    }

    /// Search stored log events.
    pub async fn search_log_events(
        &self,
        filter: &search::LogEventSearch,
    ) -> Result<search::SearchResult, PluginError> {
        let filter = filter.clone();
        let plugin = self.searcher()?;
        plugin
            .ask(move |store, s| {
                Box::pin(async move {
                    s.hookhost_hooks_eventsearcher()
                        .call_search_log_events(store, &filter)
                        .await
                })
            })
            .await
    }

    /// Whether an IP filter is configured.
    pub fn has_ip_filter(&self) -> bool {
        self.ipfilter.is_some()
    }

    /// Check a client IP: `Ok` allows it (also when no filter is configured),
    /// `Err` refuses it, with the filter's reason or its failure.
    pub async fn check_ip(&self, ip: &str, protocol: &str) -> Result<(), PluginError> {
        let Some(plugin) = &self.ipfilter else {
            return Ok(());
        };
        let (ip, protocol) = (ip.to_owned(), protocol.to_owned());
        plugin
            .ask(move |store, f| {
                Box::pin(async move {
                    f.hookhost_hooks_ipfilter()
                        .call_check_ip(store, &ip, &protocol)
                        .await
                })
            })
            .await
    }

    /// Ask the IP filter to reload its rules.
    pub async fn reload_ip_filter(&self) -> Result<(), PluginError> {
        let Some(plugin) = &self.ipfilter else {
            return Err(PluginError::NotConfigured("IP filtering".into()));
        };
        plugin
            .ask(|store, f| Box::pin(f.hookhost_hooks_ipfilter().call_reload(store)))
            .await
    }

    /// Flush the notifiers (per their retry rules) and stop them. With a
    /// journal, what they could not deliver stays in it.
    pub async fn shutdown(&self) {
        for notifier in &self.notifiers {
            notifier.shutdown().await;
        }
    }
}
