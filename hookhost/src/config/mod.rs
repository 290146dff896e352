//! Configuration: SFTPGo's own JSON file, plus hookhost's extensions.
//!
//! The SFTPGo sections are read as SFTPGo reads them, and every other
//! section (`sftpd`, `ftpd`, `httpd`, `smtp`, ...) is ignored, so a real
//! `sftpgo.json` loads as it is:
//!
//! - `common.actions`: `execute_on`, `execute_sync`, `hook`;
//! - `data_provider.actions`: `execute_on`, `execute_for`, `hook`;
//! - `http`: the HTTP client used by HTTP hooks (see [`HttpClientConfig`]);
//! - `command`: timeouts, environment and arguments of programs (see
//!   [`CommandConfig`]), applied from SFTPGo 2.3 on.
//!
//! A `hook` is an absolute program path (exec hook), an `http://` or
//! `https://` URL (HTTP hook), or a path ending in `.wasm` (wasm hook,
//! relative to the configuration file).
//!
//! Extensions, in keys SFTPGo ignores:
//!
//! - `common.actions.hooks` and `data_provider.actions.hooks`: more hooks,
//!   each `{"name", "hook", "execute_on", "execute_for", "limits",
//!   "grants"}` (see [`HookSpec`]);
//! - `hookhost`: engine, cache and worker settings (see [`HostSettings`]).
//!
//! `plugins` is SFTPGo's plugin list: each entry whose `cmd` is a
//! WebAssembly component is hookhost's (see [`PluginConfig`]); SFTPGo's own
//! plugins (go-plugin programs) are left to SFTPGo.
//!
//! Every error names the file and the field at fault.

mod command;
mod grants;
mod hooks;
mod http;
mod login;
mod oci;
mod plugins;
mod queue;
mod sftpgo_env;
mod wasm;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use command::{CommandConfig, CommandEntry, CommandHook, ProgramCommand};
pub use grants::{DirGrant, Grants, HttpRule, TcpAddr};
pub use hooks::{
    Candidate, FsActions, FsHookSpec, HookSpec, HookTarget, ProviderActions, ProviderHookSpec,
    Reuse, WasmOptions,
};
pub use http::{CertificatePair, HeaderRule, HttpClientConfig};
pub use login::LoginHooks;
pub use oci::{OciRef, Registries, RegistrySettings};
pub use plugins::{
    AuthOptions, KMS_SCHEMES, KMS_STATUSES, KmsOptions, NotifierOptions, PLUGIN_CALL_LIMIT,
    PluginConfig, PluginKind, auth_scope,
};
pub use queue::{HookRetry, NatsSettings, QueueSettings};
pub use wasm::{
    DEFAULT_HTTP_IN_FLIGHT, DEFAULT_TCP_CONNECTIONS, Limits, MAX_CONNECTIONS_PER_CALL,
    MAX_INSTANCES, MAX_MEMORY_MIB, MAX_SPARES, WasmSettings,
};

use crate::error::FieldError;
use crate::event::VersionSetting;

/// hookhost's own secrets in its environment: never passed to a hook or a
/// plugin, whatever their rules say.
pub const HOST_SECRET_VARS: &[&str] = &["HOOKHOST_TOKEN"];

/// A configuration that cannot be used: the field at fault, in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{error}", .file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
pub struct ConfigError {
    /// The configuration file, when it came from one.
    pub file: Option<PathBuf>,
    /// The field at fault (its JSON path, `common.actions.execute_on[2]`)
    /// and what is wrong with it.
    pub error: FieldError,
}

impl ConfigError {
    /// An error about `field`.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError::new(field, message).into()
    }

    /// Attach the file the configuration was read from.
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_path_buf());
        self
    }
}

impl From<FieldError> for ConfigError {
    fn from(error: FieldError) -> Self {
        ConfigError { file: None, error }
    }
}

/// hookhost's own settings (the `hookhost` section).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostSettings {
    /// The SFTPGo release in front of hookhost: `auto` (each event tells)
    /// or a version such as `2.1`, `2.4`, `2.7` (see
    /// [`crate::event::version`]).
    pub sftpgo_version: VersionSetting,
    /// Directory of the compile cache. Unset: `$HOOKHOST_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/hookhost`, else `$HOME/.cache/hookhost`, else (a
    /// cleared environment, as SFTPGo gives its programs) `.cache/hookhost`
    /// under the user's home directory from the password database, else
    /// `/var/tmp/hookhost-<uid>`. Empty string: no on-disk cache.
    pub cache_dir: Option<PathBuf>,
    /// Tasks running one hook's asynchronous events at once (each hook has
    /// its own, so a slow hook delays only its own events).
    pub async_workers: usize,
    /// One hook's asynchronous events waiting for a worker; when full,
    /// dispatch waits (back-pressure) rather than drop an event.
    pub async_queue_size: usize,
    /// Exec-hook processes running at once; more wait for a slot (within
    /// their time limit).
    pub exec_concurrency: usize,
    /// WebAssembly engine settings.
    pub wasm: WasmSettings,
    /// Where hookhost keeps state across restarts: with it set, accepted
    /// asynchronous events are journaled there (`journal.redb`) until their
    /// hooks are done, and replayed after a crash. Relative to the
    /// configuration file's directory. Unset: in memory only.
    pub state_dir: Option<PathBuf>,
    /// A queue shared by several nodes (NATS JetStream) for accepted
    /// asynchronous work; unset: each node's own lanes (and journal).
    pub queue: Option<QueueSettings>,
    /// The keys components are signed with; unset: signatures are not
    /// checked.
    pub trust: Option<TrustSettings>,
    /// Record every file-system event seen, for `hookhost replay`.
    pub record: Option<RecordSettings>,
    /// Settings of the OCI registries `oci://` references name, by
    /// `HOST[:PORT]`; a registry not listed is reached over HTTPS,
    /// anonymously or with `~/.docker/config.json`'s credentials.
    pub registries: Registries,
}

/// `hookhost.record`: where the events a node sees are recorded.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSettings {
    /// The file (relative to the configuration file); rotated into
    /// `FILE.1`.
    pub file: PathBuf,
    /// The most the file and `FILE.1` hold together, in MiB (default 64).
    #[serde(default = "default_record_mib")]
    pub max_mib: u64,
}

fn default_record_mib() -> u64 {
    64
}

/// `hookhost.trust`: the public keys components are signed with
/// (signatures as `wasmsign2` writes them, embedded or in `FILE.sig`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSettings {
    /// Ed25519 public key files (wasmsign2's, PEM, DER or OpenSSH),
    /// relative to the configuration file.
    pub public_keys: Vec<PathBuf>,
    /// Every component must carry a signature one of the keys verifies;
    /// without it only a present signature is checked (a bad one refused).
    #[serde(default)]
    pub require_signatures: bool,
}

impl Default for HostSettings {
    fn default() -> Self {
        HostSettings {
            sftpgo_version: VersionSetting::Auto,
            cache_dir: None,
            async_workers: 16,
            async_queue_size: 1024,
            exec_concurrency: 64,
            wasm: WasmSettings::default(),
            state_dir: None,
            queue: None,
            trust: None,
            record: None,
            registries: Registries::new(),
        }
    }
}

/// An entry's `signed_by`: key files, relative to the configuration file,
/// each one of `hookhost.trust.public_keys`.
fn signed_by(
    field: &str,
    files: Vec<PathBuf>,
    base_dir: &Path,
    settings: &HostSettings,
) -> Result<Vec<PathBuf>, ConfigError> {
    let trusted = settings
        .trust
        .as_ref()
        .map(|t| t.public_keys.as_slice())
        .unwrap_or_default();
    files
        .into_iter()
        .enumerate()
        .map(|(i, file)| {
            let file = base_dir.join(file);
            if trusted.contains(&file) {
                Ok(file)
            } else {
                Err(ConfigError::field(
                    format!("{field}.signed_by[{i}]"),
                    format!(
                        "{} is not one of hookhost.trust.public_keys (signed_by narrows those keys)",
                        file.display()
                    ),
                ))
            }
        })
        .collect()
}

/// A pinned sha256 as written in the configuration: 64 hex digits, given
/// back in lowercase.
fn sha256_hex(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "{text:?} is not a sha256 (64 hex digits; `sha256sum FILE` prints it)"
        ))
    }
}

/// `value` must lie in `range`, else an error naming `field`.
fn bounded<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::field(
            field,
            format!(
                "{value} is out of range (from {} to {})",
                range.start(),
                range.end()
            ),
        ))
    }
}

impl HostSettings {
    /// Every number within the range it is used in: nothing later can
    /// overflow, divide by zero or allocate without bound.
    fn validate(&self) -> Result<(), ConfigError> {
        bounded("hookhost.async_workers", self.async_workers, 1..=10_000)?;
        bounded(
            "hookhost.async_queue_size",
            self.async_queue_size,
            1..=1_000_000,
        )?;
        bounded(
            "hookhost.exec_concurrency",
            self.exec_concurrency,
            1..=10_000,
        )?;
        let w = &self.wasm;
        // Each pooled instance reserves address space for its memories
        // (measured: 0x4ebc42000000 bytes for 10,000, about 9 GiB each): 10,000 is what the
        // 128 TiB of a 64-bit process holds with room to spare (measured:
        // the pool could not be reserved from about 11,000 on). Above it
        // the pool would fail and hookhost would quietly run without it.
        if !(1..=MAX_INSTANCES).contains(&w.max_instances) {
            return Err(ConfigError::field(
                "hookhost.wasm.max_instances",
                format!(
                    "{} is out of range (from 1 to {MAX_INSTANCES}: each instance of the pool reserves about 9 GiB of address space, and a process has 128 TiB)",
                    w.max_instances
                ),
            ));
        }
        bounded(
            "hookhost.wasm.max_shadow_instances_per_hook",
            w.max_shadow_instances_per_hook,
            1..=w.max_instances,
        )?;
        if let Some(per_hook) = w.max_instances_per_hook {
            bounded(
                "hookhost.wasm.max_instances_per_hook",
                per_hook,
                1..=w.max_instances,
            )?;
        }
        bounded(
            "hookhost.wasm.max_memory_mib",
            w.max_memory_mib,
            1..=MAX_MEMORY_MIB,
        )?;
        bounded(
            "hookhost.wasm.default_memory_mib",
            w.default_memory_mib,
            1..=w.max_memory_mib,
        )?;
        bounded(
            "hookhost.wasm.memory_budget_mib",
            w.memory_budget_mib,
            1..=u64::from(u32::MAX),
        )?;
        bounded("hookhost.wasm.epoch_tick_ms", w.epoch_tick_ms, 1..=1000)?;
        bounded(
            "hookhost.wasm.default_spares",
            w.default_spares,
            0..=wasm::MAX_SPARES,
        )?;
        bounded(
            "hookhost.wasm.default_output_kib",
            w.default_output_kib,
            0..=1 << 20,
        )?;
        Ok(())
    }

    /// The compile-cache directory to use, if any.
    pub fn resolved_cache_dir(&self) -> Option<PathBuf> {
        match &self.cache_dir {
            Some(dir) if dir.as_os_str().is_empty() => None,
            Some(dir) => Some(dir.clone()),
            None => default_cache_dir(),
        }
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    let env = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("HOOKHOST_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("hookhost")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("hookhost")))
        .or_else(|| {
            passwd_home()
                .filter(|home| home != Path::new("/") && writable(home))
                .map(|home| home.join(".cache").join("hookhost"))
        })
        .or_else(|| {
            // SAFETY: getuid has no preconditions and cannot fail.
            let uid = unsafe { libc::getuid() };
            Some(PathBuf::from(format!("/var/tmp/hookhost-{uid}")))
        })
}

/// Whether this process may create entries in `dir` (where `.cache` would
/// go).
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let cache = dir.join(".cache");
    let probe = if cache.is_dir() {
        cache
    } else {
        dir.to_path_buf()
    };
    let Ok(path) = std::ffi::CString::new(probe.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is a valid NUL-terminated string for the call.
    unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// The home directory of the user running hookhost, from the password
/// database: what a program started with an empty environment (SFTPGo's
/// hooks since 2.4) has instead of `$HOME`.
fn passwd_home() -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for getpwuid_r to fill.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; getpwuid_r writes the
    // entry's strings into `buffer`, which outlives their use below.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() || entry.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir points at a NUL-terminated string inside `buffer`.
    let dir = unsafe { CStr::from_ptr(entry.pw_dir) };
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes())))
}

/// The document in `path`, by its extension: YAML, TOML, else JSON.
fn parse_document(path: &Path, bytes: &[u8]) -> Result<serde_json::Value, ConfigError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let invalid = |format: &str, err: String| ConfigError::field(format, err);
    match extension.as_str() {
        "yaml" | "yml" => {
            serde_norway::from_slice(bytes).map_err(|e| invalid("YAML", e.to_string()))
        }
        "toml" => {
            let text =
                std::str::from_utf8(bytes).map_err(|_| invalid("TOML", "not UTF-8".into()))?;
            toml::from_str(text).map_err(|e| invalid("TOML", e.to_string()))
        }
        "hcl" | "env" | "properties" | "props" | "prop" => Err(ConfigError::field(
            "file",
            format!(
                "SFTPGo reads .{extension} files too; hookhost reads JSON, YAML and TOML: convert it"
            ),
        )),
        _ => crate::json::from_json::<serde_json::Value>(bytes).map_err(|e| {
            let field = if e.field == "body" {
                "JSON".to_owned()
            } else {
                e.field
            };
            ConfigError::field(field, e.message)
        }),
    }
}

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from, if any.
    pub file: Option<PathBuf>,
    /// Directory relative paths are resolved against.
    pub base_dir: PathBuf,
    /// `common.actions`.
    pub fs_actions: FsActions,
    /// `data_provider.actions`.
    pub provider_actions: ProviderActions,
    /// The login and connection hooks (`data_provider.pre_login_hook`, ...).
    pub login_hooks: LoginHooks,
    /// `http`.
    pub http: HttpClientConfig,
    /// `command`.
    pub command: CommandConfig,
    /// `plugins` whose `cmd` is a WebAssembly component.
    pub plugins: Vec<PluginConfig>,
    /// The other `plugins` entries, SFTPGo's own (go-plugin programs): SFTPGo
    /// runs them, hookhost leaves them (`plugins[1] (/usr/local/bin/x)`).
    pub plugins_left_to_sftpgo: Vec<String>,
    /// `hookhost`.
    pub settings: HostSettings,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConfig {
    common: RawCommon,
    data_provider: RawDataProvider,
    sftpd: login::RawSftpd,
    http: HttpClientConfig,
    command: command::RawCommandConfig,
    plugins: Vec<plugins::RawPlugin>,
    hookhost: HostSettings,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawCommon {
    actions: hooks::RawFsActions,
    #[serde(flatten)]
    login: login::RawCommonLogin,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawDataProvider {
    actions: hooks::RawProviderActions,
    #[serde(flatten)]
    login: login::RawProviderLogin,
}

impl Config {
    /// What in a valid configuration is likely not what its author meant,
    /// one sentence each: `hookhost check` prints them, `serve` logs them at
    /// start.
    pub fn advisories(&self) -> Vec<String> {
        use crate::event::{Change, Contract, FsAction};
        let mut said = Vec::new();
        let versions = self.settings.sftpgo_version;
        let pre_delete_hooks = self
            .fs_actions
            .hooks
            .iter()
            .any(|h| h.execute_on.contains(&FsAction::PreDelete));
        let sent = self.fs_actions.execute_on.contains(&FsAction::PreDelete);
        let legacy_pre: Vec<&str> = self
            .fs_actions
            .execute_on
            .iter()
            .filter(|a| a.is_pre())
            .map(|a| a.as_str())
            .collect();
        let rules_possible = match versions {
            VersionSetting::Auto => true,
            VersionSetting::Pinned(version) => version >= crate::event::rule::SYNC_PRE_RULES,
        };
        if !legacy_pre.is_empty() && rules_possible {
            said.push(format!(
                "common.actions.execute_on has {}: in SFTPGo 2.5 and later, an Event Manager rule with a sync action on such an event makes SFTPGo skip this legacy hook for it (internal/common/actions.go) — serve each pre-* event through one of them, the legacy hook or a rule (hookhost sftpgo event-rule), not both",
                legacy_pre.join(", ")
            ));
        }
        for hook in &self.provider_actions.hooks {
            if hook.execute_for.is_empty() && !hook.execute_on.is_empty() {
                said.push(format!(
                    "{}: no object type in execute_for: as in SFTPGo 2.2 and later, this provider hook runs for none (set e.g. \"execute_for\": [\"user\"])",
                    hook.spec.field
                ));
            }
        }
        match versions {
            VersionSetting::Auto if pre_delete_hooks || sent => said.push(
                "hookhost.sftpgo_version is \"auto\" and pre-delete is configured: SFTPGo 2.2-2.4 read an answer of 200 as 'handled, do not delete' and 2.5+ as 'allowed', and a 2.5+ request without a role looks like 2.2-2.4's, so such a pre-delete the hooks allow is answered 409 (2.2-2.4 delete the file, 2.5+ refuse the delete); set hookhost.sftpgo_version to the release in front".to_owned(),
            ),
            VersionSetting::Pinned(version) => {
                let contract = Contract::of(version);
                for hook in &self.fs_actions.hooks {
                    for action in hook.execute_on.iter().filter(|a| !a.fired_by(&contract)) {
                        said.push(format!(
                            "{}: SFTPGo {version} never fires {action}",
                            hook.spec.field
                        ));
                    }
                }
                let retention = &self.login_hooks.data_retention;
                if !contract.has(Change::DataRetentionHook)
                    || contract.has(Change::DataRetentionHookRemoved)
                {
                    for hook in retention {
                        said.push(format!(
                            "{}: SFTPGo {version} has no data_retention_hook (2.2 to 2.6 only; from 2.7 an Event Manager rule replaces it)",
                            hook.field
                        ));
                    }
                }
            }
            VersionSetting::Auto => {}
        }
        said
    }

    /// Read and validate a configuration file, as SFTPGo reads its own:
    /// JSON, YAML (`.yaml`, `.yml`) or TOML (`.toml`), with SFTPGo's
    /// `SFTPGO_<SECTION>__<KEY>` environment overrides and the `env.d`
    /// files beside it (see [`Config::from_file_with_env`]).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with("SFTPGO_"))
            .collect();
        Self::from_file_with_env(path, env)
    }

    /// [`Config::from_file`] with `env` as the environment: SFTPGo's
    /// precedence — a variable over the file over the defaults — for the
    /// keys hookhost reads (the `sftpgo_env` module lists them), plus the
    /// variables `env.d/*` beside the file sets where `env` has none.
    pub fn from_file_with_env(
        path: &Path,
        env: std::collections::BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let in_file = |e: ConfigError| e.in_file(path);
        let bytes = crate::files::read_regular(path).map_err(|err| {
            ConfigError::field("file", format!("cannot read: {err}")).in_file(path)
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let mut value = parse_document(path, &bytes).map_err(in_file)?;
        let env = sftpgo_env::with_env_files(env, &base_dir).map_err(in_file)?;
        sftpgo_env::apply(&mut value, &env).map_err(in_file)?;
        let json = serde_json::to_vec(&value).expect("a JSON value serializes");
        let mut config = Self::from_slice(&json, &base_dir).map_err(in_file)?;
        config.file = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parse and validate JSON text; relative paths resolve against `base_dir`.
    pub fn from_slice(json: &[u8], base_dir: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = crate::json::from_json(json).map_err(|e| {
            // A document that does not parse has no field at fault.
            let field = if e.field == "body" {
                "JSON".to_owned()
            } else {
                e.field
            };
            ConfigError::field(field, e.message)
        })?;
        Self::validate(raw, base_dir)
    }

    /// Validate a JSON value; relative paths resolve against `base_dir`.
    pub fn from_value(json: serde_json::Value, base_dir: &Path) -> Result<Config, ConfigError> {
        Self::from_slice(json.to_string().as_bytes(), base_dir)
    }

    fn validate(raw: RawConfig, base_dir: &Path) -> Result<Config, ConfigError> {
        let mut settings = raw.hookhost;
        settings.validate()?;
        if let Some(queue) = &settings.queue {
            queue.validate()?;
        }
        if let Some(dir) = &mut settings.state_dir {
            if dir.as_os_str().is_empty() {
                return Err(ConfigError::field(
                    "hookhost.state_dir",
                    "empty: give a directory, or leave the key out to keep events in memory only",
                ));
            }
            *dir = base_dir.join(&*dir);
        }
        if let Some(trust) = &mut settings.trust {
            if trust.public_keys.is_empty() {
                return Err(ConfigError::field(
                    "hookhost.trust.public_keys",
                    "empty: list the public key files components are signed with",
                ));
            }
            for key in &mut trust.public_keys {
                *key = base_dir.join(&*key);
            }
        }
        if let Some(record) = &mut settings.record {
            bounded("hookhost.record.max_mib", record.max_mib, 1..=1 << 20)?;
            if record.file.as_os_str().is_empty() {
                return Err(ConfigError::field("hookhost.record.file", "empty"));
            }
            record.file = base_dir.join(&record.file);
        }
        for settings in settings.registries.values_mut() {
            if let Some(file) = &mut settings.password_file {
                *file = base_dir.join(&*file);
            }
        }
        let command = command::validate(raw.command, settings.sftpgo_version)?;
        let ctx = hooks::Context {
            base_dir,
            settings: &settings,
            command: &command,
        };
        let mut fs_actions = hooks::validate_fs(raw.common.actions, &ctx)?;
        let mut provider_actions = hooks::validate_provider(raw.data_provider.actions, &ctx)?;
        let mut login_hooks =
            login::validate(raw.data_provider.login, raw.common.login, raw.sftpd, &ctx)?;
        hooks::make_names_unique(
            fs_actions
                .hooks
                .iter_mut()
                .map(|h| &mut h.spec)
                .chain(provider_actions.hooks.iter_mut().map(|h| &mut h.spec))
                .chain(login_hooks.specs_mut()),
        )?;
        let http = raw.http.validated(base_dir)?;
        let (plugins, plugins_left_to_sftpgo) =
            plugins::validate(raw.plugins, base_dir, &settings)?;
        Ok(Config {
            file: None,
            base_dir: base_dir.to_path_buf(),
            fs_actions,
            provider_actions,
            login_hooks,
            http,
            command,
            plugins,
            plugins_left_to_sftpgo,
            settings,
        })
    }
}
