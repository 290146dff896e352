//! SFTPGo's `plugins` list, where each `cmd` is a WebAssembly component.
//!
//! The keys are SFTPGo's: `type`, `notifier_options`, `kms_options`,
//! `auth_options`, `cmd`, `args`, `sha256sum`, `auto_mtls`, `env_prefix`,
//! `env_vars`. hookhost adds `limits` (per call: `timeout_ms`, default 10 s;
//! `fuel`, `memory_mib`, `output_kib`), `grants.dirs` (preopened
//! directories; a plugin's args and environment come from `args` and the env
//! rules), `sha256` (the same as `sha256sum`, as hook entries spell it),
//! `signed_by` (the keys of `hookhost.trust` its signature must be by),
//! `instances` (the size of its pool: calls run concurrently, one
//! per instance; default one per CPU core, `1` for a single stateful
//! instance), and `notifier_options.retry_interval_ms` (SFTPGo's fixed 30 s).
//!
//! Rules taken from SFTPGo: a notifier must select some events; KMS schemes
//! and encrypted statuses are unique; only one eventsearcher; with several
//! ipfilters only the last one is used (a warning names the others).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use super::HostSettings;
use super::grants::{DirGrant, HttpRule, TcpAddr};
use super::wasm::Limits;
use crate::event::{FsAction, LogEventKind, ObjectType, ProviderAction};

/// Default wall-clock limit of one plugin call.
pub const PLUGIN_CALL_LIMIT: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
pub(super) struct RawPlugin {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    notifier_options: RawNotifierOptions,
    #[serde(default)]
    kms_options: KmsOptions,
    #[serde(default)]
    auth_options: AuthOptions,
    #[serde(default)]
    cmd: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    sha256sum: String,
    /// hookhost's name for `sha256sum`, as on hook entries.
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    signed_by: Vec<PathBuf>,
    #[serde(default)]
    auto_mtls: bool,
    #[serde(default)]
    env_prefix: String,
    #[serde(default)]
    env_vars: Vec<String>,
    #[serde(default)]
    limits: RawPluginLimits,
    #[serde(default)]
    grants: RawPluginGrants,
    #[serde(default)]
    instances: Option<usize>,
}

#[derive(Deserialize, Default)]
struct RawNotifierOptions {
    #[serde(default)]
    fs_events: Vec<String>,
    #[serde(default)]
    provider_events: Vec<String>,
    #[serde(default)]
    provider_objects: Vec<String>,
    #[serde(default)]
    log_events: Vec<i64>,
    #[serde(default)]
    retry_max_time: u64,
    #[serde(default)]
    retry_queue_max_size: usize,
    #[serde(default)]
    retry_interval_ms: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPluginLimits {
    timeout_ms: Option<u64>,
    fuel: Option<u64>,
    memory_mib: Option<u64>,
    output_kib: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPluginGrants {
    #[serde(default)]
    dirs: Vec<DirGrant>,
    #[serde(default)]
    http: Arc<[HttpRule]>,
    #[serde(default)]
    tcp: Arc<[TcpAddr]>,
}

/// `kms_options`: the scheme a KMS plugin serves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct KmsOptions {
    /// URL scheme of the KMS secrets it handles: one of SFTPGo's
    /// ([`KMS_SCHEMES`]).
    #[serde(default)]
    pub scheme: String,
    /// The secret status it writes: one of SFTPGo's ([`KMS_STATUSES`]).
    #[serde(default)]
    pub encrypted_status: String,
}

/// `auth_options`: which authentications an auth plugin handles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuthOptions {
    /// Bit mask: 1 password, 2 public key, 4 keyboard-interactive, 8 TLS
    /// certificate (3 = password and public key, ...).
    #[serde(default)]
    pub scope: u32,
}

/// Auth scope bits, as SFTPGo defines them.
pub mod auth_scope {
    /// Password.
    pub const PASSWORD: u32 = 1;
    /// Public key.
    pub const PUBLIC_KEY: u32 = 2;
    /// Keyboard-interactive.
    pub const KEYBOARD_INTERACTIVE: u32 = 4;
    /// TLS certificate.
    pub const TLS_CERTIFICATE: u32 = 8;
}

/// `notifier_options`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifierOptions {
    /// File-system actions notified (`pre-*` included, as SFTPGo does).
    pub fs_events: Vec<FsAction>,
    /// Provider actions notified.
    pub provider_events: Vec<ProviderAction>,
    /// Provider object types notified.
    pub provider_objects: Vec<ObjectType>,
    /// Log events notified.
    pub log_events: Vec<LogEventKind>,
    /// How old an undelivered event may get before it is dropped; zero: no
    /// retry at all.
    pub retry_max_time: Duration,
    /// Largest retry queue; 0 for no limit.
    pub retry_queue_max_size: usize,
    /// How often queued events are re-sent (SFTPGo: 30 s).
    pub retry_interval: Duration,
}

/// What kind of plugin, with its options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginKind {
    /// Receives events.
    Notifier(NotifierOptions),
    /// Encrypts and decrypts secrets for a scheme.
    Kms(KmsOptions),
    /// Authenticates users.
    Auth(AuthOptions),
    /// Searches stored events.
    EventSearcher,
    /// Allows or refuses client IPs.
    IpFilter,
}

impl PluginKind {
    /// SFTPGo's name for the type.
    pub fn as_str(&self) -> &'static str {
        match self {
            PluginKind::Notifier(_) => "notifier",
            PluginKind::Kms(_) => "kms",
            PluginKind::Auth(_) => "auth",
            PluginKind::EventSearcher => "eventsearcher",
            PluginKind::IpFilter => "ipfilter",
        }
    }
}

/// One plugin, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginConfig {
    /// Where it is in the configuration (`plugins[2]`).
    pub field: String,
    /// Name for logs and metrics: the component's file stem.
    pub name: String,
    /// Type and options.
    pub kind: PluginKind,
    /// The component (for an `oci://` one, the file it resolved to once
    /// the host is built).
    pub cmd: PathBuf,
    /// The registry reference `cmd` was given as, if any.
    pub oci: Option<super::OciRef>,
    /// Its WASI argv after `argv[0]`.
    pub args: Vec<String>,
    /// Expected sha256 of `cmd`, hex.
    pub sha256sum: Option<String>,
    /// The keys (of `hookhost.trust.public_keys`) its signature must be
    /// by; empty: any of them.
    pub signed_by: Vec<PathBuf>,
    /// Accepted for compatibility; in-process components need no transport.
    pub auto_mtls: bool,
    /// SFTPGo's `env_prefix` as configured.
    pub env_prefix: String,
    /// Extra variable names passed to the plugin.
    pub env_vars: Vec<String>,
    /// Per-call limits.
    pub limits: Limits,
    /// Preopened directories.
    pub dirs: Vec<DirGrant>,
    /// Granted HTTP origins.
    pub http: Arc<[HttpRule]>,
    /// Granted TCP addresses.
    pub tcp: Arc<[TcpAddr]>,
    /// Instances in its pool: calls run concurrently, one per instance (1:
    /// a single stateful instance).
    pub instances: usize,
}

/// The default size of a plugin's pool: one instance per CPU core.
pub fn default_plugin_instances() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn notifier_options(raw: RawNotifierOptions, field: &str) -> Result<NotifierOptions, ConfigError> {
    // pre-* events included: SFTPGo notifies them too, before running the
    // hook that decides them.
    let fs_events =
        super::hooks::parse_names::<FsAction>(&raw.fs_events, &format!("{field}.fs_events"))?;
    let provider_events = super::hooks::parse_names::<ProviderAction>(
        &raw.provider_events,
        &format!("{field}.provider_events"),
    )?;
    let provider_objects = super::hooks::parse_names::<ObjectType>(
        &raw.provider_objects,
        &format!("{field}.provider_objects"),
    )?;
    let log_events = raw
        .log_events
        .iter()
        .enumerate()
        .map(|(i, code)| {
            LogEventKind::from_code(*code).ok_or_else(|| {
                ConfigError::field(
                    format!("{field}.log_events[{i}]"),
                    format!("unknown log event {code}, expected 1 to 5"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let has_events = !fs_events.is_empty()
        || (!provider_events.is_empty() && !provider_objects.is_empty())
        || !log_events.is_empty();
    if !has_events {
        return Err(ConfigError::field(
            field,
            "no events to notify: set fs_events, log_events, or provider_events with provider_objects",
        ));
    }
    let retry_interval = match raw.retry_interval_ms {
        Some(0) => {
            return Err(ConfigError::field(
                format!("{field}.retry_interval_ms"),
                "must be positive",
            ));
        }
        Some(ms) => Duration::from_millis(ms),
        None => Duration::from_secs(30),
    };
    Ok(NotifierOptions {
        fs_events,
        provider_events,
        provider_objects,
        log_events,
        retry_max_time: Duration::from_secs(raw.retry_max_time),
        retry_queue_max_size: raw.retry_queue_max_size,
        retry_interval,
    })
}

/// The KMS schemes SFTPGo accepts for a plugin (`validKMSSchemes`): a
/// plugin takes over the secrets of one of the KMSs it knows.
pub const KMS_SCHEMES: &[&str] = &[
    "awskms",
    "gcpkms",
    "hashivault",
    "azurekeyvault",
    "ocikeyvault",
];

/// The encrypted statuses SFTPGo accepts for a KMS plugin
/// (`validKMSEncryptedStatuses`).
pub const KMS_STATUSES: &[&str] = &[
    "VaultTransit",
    "AWS",
    "GCP",
    "AzureKeyVault",
    "OracleKeyVault",
];

/// Whether `cmd` names a WebAssembly component (a `.wasm` file, or a file
/// that starts as one); anything else — a native program, a path of
/// SFTPGo's machine — is one of SFTPGo's own plugins.
fn is_component(cmd: &Path) -> bool {
    if cmd.extension().is_some_and(|e| e == "wasm") {
        return true;
    }
    let mut magic = [0u8; 4];
    crate::files::open_regular(cmd)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| &magic == b"\0asm")
}

/// The validated components of `plugins`, and the entries left to SFTPGo
/// (its own plugins, not components: `plugins[2] (/usr/local/bin/x)`).
pub(super) fn validate(
    raw: Vec<RawPlugin>,
    base_dir: &Path,
    settings: &HostSettings,
) -> Result<(Vec<PluginConfig>, Vec<String>), ConfigError> {
    let mut left_to_sftpgo = Vec::new();
    let mut plugins = Vec::with_capacity(raw.len());
    let mut schemes = HashSet::new();
    let mut statuses = HashSet::new();
    let mut names = HashSet::new();
    let mut searcher: Option<String> = None;
    for (i, raw) in raw.into_iter().enumerate() {
        let field = format!("plugins[{i}]");
        let err =
            |key: &str, message: String| ConfigError::field(format!("{field}.{key}"), message);
        let kind = match raw.kind.as_str() {
            "notifier" => PluginKind::Notifier(notifier_options(
                raw.notifier_options,
                &format!("{field}.notifier_options"),
            )?),
            "kms" => {
                let kms = raw.kms_options;
                if kms.scheme.is_empty() || kms.encrypted_status.is_empty() {
                    return Err(err(
                        "kms_options",
                        "a KMS plugin needs a scheme and an encrypted_status".into(),
                    ));
                }
                if !KMS_SCHEMES.contains(&kms.scheme.as_str()) {
                    return Err(err(
                        "kms_options.scheme",
                        format!(
                            "{:?} is not a scheme SFTPGo accepts (one of: {}; a KMS plugin takes over one of the KMSs SFTPGo knows)",
                            kms.scheme,
                            KMS_SCHEMES.join(", ")
                        ),
                    ));
                }
                if !KMS_STATUSES.contains(&kms.encrypted_status.as_str()) {
                    return Err(err(
                        "kms_options.encrypted_status",
                        format!(
                            "{:?} is not an encrypted status SFTPGo accepts (one of: {})",
                            kms.encrypted_status,
                            KMS_STATUSES.join(", ")
                        ),
                    ));
                }
                if !schemes.insert(kms.scheme.clone()) {
                    return Err(err(
                        "kms_options.scheme",
                        format!("duplicated scheme {:?}", kms.scheme),
                    ));
                }
                if !statuses.insert(kms.encrypted_status.clone()) {
                    return Err(err(
                        "kms_options.encrypted_status",
                        format!("duplicated encrypted status {:?}", kms.encrypted_status),
                    ));
                }
                PluginKind::Kms(kms)
            }
            "auth" => {
                let scope = raw.auth_options.scope;
                if scope == 0 || scope > 15 {
                    return Err(err(
                        "auth_options.scope",
                        format!(
                            "{scope} is not a scope: combine 1 password, 2 public key, 4 keyboard-interactive, 8 TLS certificate"
                        ),
                    ));
                }
                PluginKind::Auth(raw.auth_options)
            }
            "eventsearcher" => {
                if let Some(first) = &searcher {
                    return Err(err(
                        "type",
                        format!("only one eventsearcher plugin can be defined ({first} is one)"),
                    ));
                }
                searcher = Some(field.clone());
                PluginKind::EventSearcher
            }
            "ipfilter" => PluginKind::IpFilter,
            other => {
                return Err(err(
                    "type",
                    format!(
                        "unknown plugin type {other:?} (expected one of: notifier, kms, auth, eventsearcher, ipfilter)"
                    ),
                ));
            }
        };
        if raw.cmd.is_empty() {
            return Err(err(
                "cmd",
                "missing: the plugin's program or .wasm component".into(),
            ));
        }
        let oci = match raw.cmd.starts_with("oci://") {
            true => Some(super::OciRef::parse(&raw.cmd).map_err(|why| err("cmd", why))?),
            false => None,
        };
        let cmd = match &oci {
            // Resolved to the pulled file when the host is built.
            Some(_) => PathBuf::from(&raw.cmd),
            None => base_dir.join(&raw.cmd),
        };
        if oci.is_none() && !is_component(&cmd) {
            // SFTPGo's own plugin (a go-plugin program): SFTPGo starts it;
            // its options were checked above as SFTPGo checks them.
            left_to_sftpgo.push(format!("{field} ({})", cmd.display()));
            continue;
        }
        let pinned = |key: &str, text: &str| match text.trim() {
            "" => Ok(None),
            text => super::sha256_hex(text)
                .map(Some)
                .map_err(|why| err(key, why)),
        };
        let signed_by = super::signed_by(&field, raw.signed_by, base_dir, settings)?;
        let sha256sum = match (
            pinned("sha256sum", &raw.sha256sum)?,
            pinned("sha256", &raw.sha256)?,
        ) {
            (Some(a), Some(b)) if a != b => {
                return Err(err(
                    "sha256",
                    format!("{b} is not the sha256sum given beside it ({a})"),
                ));
            }
            (a, b) => a.or(b),
        };
        let limits = {
            let l = raw.limits;
            let timeout = match l.timeout_ms {
                Some(ms) if !(1..=3_600_000).contains(&ms) => {
                    return Err(err(
                        "limits.timeout_ms",
                        format!("{ms} is out of range (from 1 to 3600000)"),
                    ));
                }
                Some(ms) => Duration::from_millis(ms),
                None => PLUGIN_CALL_LIMIT,
            };
            let output_kib = l.output_kib.unwrap_or(settings.wasm.default_output_kib);
            if output_kib > super::hooks::MAX_OUTPUT_KIB {
                return Err(err(
                    "limits.output_kib",
                    format!("{output_kib} is above {}", super::hooks::MAX_OUTPUT_KIB),
                ));
            }
            let memory_mib = l.memory_mib.unwrap_or(settings.wasm.default_memory_mib);
            if memory_mib == 0 || memory_mib > settings.wasm.max_memory_mib {
                return Err(err(
                    "limits.memory_mib",
                    format!(
                        "must be between 1 and hookhost.wasm.max_memory_mib ({})",
                        settings.wasm.max_memory_mib
                    ),
                ));
            }
            Limits {
                timeout,
                fuel: l.fuel.unwrap_or(settings.wasm.default_fuel),
                memory_bytes: memory_mib << 20,
                output_bytes: usize::try_from(output_kib << 10).unwrap_or(usize::MAX),
                http_in_flight: super::DEFAULT_HTTP_IN_FLIGHT,
                tcp_connections: super::DEFAULT_TCP_CONNECTIONS,
            }
        };
        let instances = match raw.instances {
            None => default_plugin_instances(),
            Some(n @ 1..=64) => n,
            Some(n) => {
                return Err(err(
                    "instances",
                    format!("{n} is out of range (from 1 to 64)"),
                ));
            }
        };
        let mut dirs = raw.grants.dirs;
        super::hooks::validate_dirs(&mut dirs, base_dir, &format!("{field}.grants"))?;
        // `env_vars` entries are `K=V` or `K` (SFTPGo 2.6.3+); the name
        // is what comes before the first `=`.
        super::hooks::validate_cli(
            &field,
            &raw.args,
            "env_vars",
            raw.env_vars
                .iter()
                .map(|entry| match entry.split_once('=') {
                    Some((key, value)) => (key, Some(value)),
                    None => (entry.as_str(), None),
                }),
        )?;
        let stem = match &oci {
            Some(reference) => reference.name().to_owned(),
            None => cmd
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| raw.cmd.clone()),
        };
        let name = if names.insert(stem.clone()) {
            stem
        } else {
            format!("{stem}#{i}")
        };
        plugins.push(PluginConfig {
            field,
            name,
            kind,
            cmd,
            oci,
            args: raw.args,
            sha256sum,
            signed_by,
            auto_mtls: raw.auto_mtls,
            env_prefix: raw.env_prefix,
            env_vars: raw.env_vars,
            limits,
            dirs,
            http: raw.grants.http,
            tcp: raw.grants.tcp,
            instances,
        });
    }
    let filters: Vec<&PluginConfig> = plugins
        .iter()
        .filter(|p| p.kind == PluginKind::IpFilter)
        .collect();
    if let Some((last, ignored)) = filters.split_last()
        && !ignored.is_empty()
    {
        let ignored: Vec<&str> = ignored.iter().map(|p| p.field.as_str()).collect();
        tracing::warn!(used = %last.field, ignored = ?ignored, "several ipfilter plugins: only the last one is used, as in SFTPGo");
    }
    Ok((plugins, left_to_sftpgo))
}
