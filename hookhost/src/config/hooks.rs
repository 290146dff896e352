//! The hooks of `common.actions` and `data_provider.actions`.
//!
//! SFTPGo's form is one `hook` string for the whole section. hookhost adds a
//! `hooks` list in the same section; each entry may narrow `execute_on` (and
//! `execute_for`), lower the time limit and, for wasm hooks, set fuel,
//! memory, output limits and capability grants:
//!
//! ```json
//! {"name": "deny-exe", "hook": "deny_exe.wasm", "execute_on": ["pre-upload"],
//!  "limits": {"timeout_ms": 2000, "fuel": 100000000, "memory_mib": 16},
//!  "grants": {"args": ["exe", "bat"], "dirs": [{"host": "/var/audit", "guest": "/audit", "writable": true}]}}
//! ```
//!
//! `"reuse": {"max_calls": 10000, "pool": 16}` declares a wasm hook
//! stateless-safe: warm instances are reused (see [`crate::hook::wasm`]).
//! Otherwise every event gets a fresh instance, and `"spares": N` (default
//! `hookhost.wasm.default_spares`, 0 turns it off) keeps that many fresh
//! instances ready off the events' path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::command::{CommandConfig, CommandHook, ProgramCommand};
use super::grants::{DirGrant, Grants};
use super::{ConfigError, HostSettings, MAX_SPARES};
use crate::event::{FsAction, ObjectType, ProviderAction};

/// The reference's (SFTPGo 2.1's) limit for file-system programs, and the
/// default limit of wasm file-system hooks.
pub const FS_HOOK_LIMIT: Duration = Duration::from_secs(30);
/// The reference's limit for provider programs, and the default limit of
/// wasm provider hooks.
pub const PROVIDER_HOOK_LIMIT: Duration = Duration::from_secs(15);
/// The longest any SFTPGo release lets a program run (`command.timeout`'s
/// upper bound): the ceiling of a program's or URL's own `timeout_ms`.
pub const LONGEST_HOOK_LIMIT: Duration = Duration::from_secs(300);
/// The most output (stdout, stderr) a hook may have kept per call, in KiB.
pub const MAX_OUTPUT_KIB: u64 = 1 << 20;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawFsActions {
    execute_on: Vec<String>,
    execute_sync: Vec<String>,
    hook: String,
    hooks: Vec<RawHook>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawProviderActions {
    execute_on: Vec<String>,
    execute_for: Option<Vec<String>>,
    hook: String,
    hooks: Vec<RawHook>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHook {
    #[serde(default)]
    name: Option<String>,
    hook: String,
    #[serde(default)]
    pub(super) execute_on: Option<Vec<String>>,
    #[serde(default)]
    pub(super) execute_for: Option<Vec<String>>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    grants: Option<Grants>,
    #[serde(default)]
    reuse: Option<Reuse>,
    #[serde(default)]
    spares: Option<u32>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    signed_by: Option<Vec<PathBuf>>,
    #[serde(default)]
    shadow: Option<String>,
    #[serde(default)]
    queue: Option<super::HookRetry>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    timeout_ms: Option<u64>,
    fuel: Option<u64>,
    memory_mib: Option<u64>,
    output_kib: Option<u64>,
    http_in_flight: Option<u32>,
    tcp_connections: Option<u32>,
}

/// Where a hook goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookTarget {
    /// An external program (absolute path).
    Exec(PathBuf),
    /// An HTTP(S) URL.
    Http(Url),
    /// A WebAssembly component file.
    Wasm(PathBuf),
    /// A WebAssembly component in an OCI registry: pulled when the host is
    /// built, then run as [`HookTarget::Wasm`] from the cache.
    Oci(super::OciRef),
}

/// Options only wasm hooks take.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WasmOptions {
    /// Fuel budget per call (default: `hookhost.wasm.default_fuel`).
    pub fuel: Option<u64>,
    /// Memory limit in MiB (default: `hookhost.wasm.default_memory_mib`).
    pub memory_mib: Option<u64>,
    /// Outbound HTTP requests one call holds at once (default:
    /// [`super::DEFAULT_HTTP_IN_FLIGHT`]).
    pub http_in_flight: Option<u32>,
    /// TCP connections one call makes (default:
    /// [`super::DEFAULT_TCP_CONNECTIONS`]).
    pub tcp_connections: Option<u32>,
    /// Capabilities.
    pub grants: Grants,
    /// Reuse instances (the hook is declared stateless-safe).
    pub reuse: Option<Reuse>,
    /// Fresh instances kept ready (default: `hookhost.wasm.default_spares`).
    pub spares: Option<u32>,
    /// The sha256 the component's bytes must have (lowercase hex), if pinned.
    pub sha256: Option<String>,
    /// The keys (of `hookhost.trust.public_keys`) its signature must be
    /// by; empty: any of them.
    pub signed_by: Vec<PathBuf>,
    /// A candidate component run on the same events after the hook has
    /// answered, never deciding; its disagreements are counted and logged.
    pub shadow: Option<Candidate>,
}

/// A shadow's component: a file, or a registry reference pulled when the
/// host is built (then a file in the cache).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// A component file.
    File(PathBuf),
    /// A component in an OCI registry.
    Oci(super::OciRef),
}

/// Instance reuse for a stateless-safe hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Reuse {
    /// Events one instance serves before it is replaced.
    pub max_calls: u32,
    /// Warm instances kept between events.
    pub pool: usize,
}

impl Default for Reuse {
    fn default() -> Self {
        Reuse {
            max_calls: 10_000,
            pool: 16,
        }
    }
}

/// One hook, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookSpec {
    /// Unique name, for logs and metrics.
    pub name: String,
    /// Whether the configuration gave the name (else it was derived).
    pub explicit_name: bool,
    /// Where in the configuration it was defined (for error messages).
    pub field: String,
    /// What it runs.
    pub target: HookTarget,
    /// The hook's own wall-clock cap (`limits.timeout_ms`), if any. A wasm
    /// hook without one gets `reference_limit`; a program runs under
    /// SFTPGo's limit for it (see `command`), capped by this; a URL runs
    /// under the `http` section's per-attempt timeout and retries, capped by
    /// this.
    pub timeout_cap: Option<Duration>,
    /// SFTPGo 2.1's limit for programs of this section (30 s fs, 15 s
    /// provider).
    pub reference_limit: Duration,
    /// What the `command` section gives this program (exec hooks; applies
    /// from SFTPGo 2.3 on).
    pub command: ProgramCommand,
    /// Bytes of stdout/stderr kept for the log.
    pub output_bytes: usize,
    /// Wasm-only options.
    pub wasm: WasmOptions,
    /// How the shared queue (`hookhost.queue`) retries it.
    pub queue: super::HookRetry,
}

impl HookSpec {
    /// A wasm hook's wall-clock limit.
    pub fn wasm_timeout(&self) -> Duration {
        self.timeout_cap.unwrap_or(self.reference_limit)
    }
}

/// A file-system hook and the actions it runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsHookSpec {
    /// The hook.
    pub spec: HookSpec,
    /// Actions that run it.
    pub execute_on: Vec<FsAction>,
}

/// `common.actions`, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsActions {
    /// SFTPGo's own `execute_on`: the actions it sends to its `hook` (and,
    /// when that is hookhost, to hookhost).
    pub execute_on: Vec<FsAction>,
    /// Non-`pre-*` actions whose hooks run synchronously.
    pub execute_sync: Vec<FsAction>,
    /// Every hook of the section (the plain `hook` first).
    pub hooks: Vec<FsHookSpec>,
}

/// A provider hook and what it runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderHookSpec {
    /// The hook.
    pub spec: HookSpec,
    /// Actions that run it.
    pub execute_on: Vec<ProviderAction>,
    /// Object types that run it.
    pub execute_for: Vec<ObjectType>,
}

/// `data_provider.actions`, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderActions {
    /// Every hook of the section (the plain `hook` first).
    pub hooks: Vec<ProviderHookSpec>,
}

pub(super) struct Context<'a> {
    pub(super) base_dir: &'a Path,
    pub(super) settings: &'a HostSettings,
    pub(super) command: &'a CommandConfig,
}

impl Context<'_> {
    /// Whether provider actions follow SFTPGo 2.2+'s rules (`auto` takes
    /// today's; only a pinned 2.1 does not).
    fn provider_current_form(&self) -> bool {
        match self.settings.sftpgo_version {
            crate::event::VersionSetting::Auto => true,
            crate::event::VersionSetting::Pinned(version) => {
                crate::event::Contract::of(version).has(crate::event::Change::ProviderCurrentForm)
            }
        }
    }
}

/// Which section a hook is in: its reference limit and its name in
/// `command.commands[].hook`.
#[derive(Clone, Copy)]
pub(super) struct Section {
    pub(super) limit: Duration,
    /// Its name in `command.commands[].hook` (none: an Event Manager
    /// rule's hooks, which SFTPGo's `command` section does not name).
    pub(super) command_hook: Option<CommandHook>,
    /// Whether its asynchronous events can go through the shared queue.
    pub(super) queued: bool,
}

const FS_SECTION: Section = Section {
    limit: FS_HOOK_LIMIT,
    command_hook: Some(CommandHook::FsActions),
    queued: true,
};
const PROVIDER_SECTION: Section = Section {
    limit: PROVIDER_HOOK_LIMIT,
    command_hook: Some(CommandHook::ProviderActions),
    queued: true,
};

/// A list of event/action/object names, each checked; an unknown one is
/// reported as `field[i]`.
pub(super) fn parse_names<T: std::str::FromStr<Err = crate::event::UnknownName>>(
    names: &[String],
    field: &str,
) -> Result<Vec<T>, ConfigError> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            name.parse::<T>()
                .map_err(|e| ConfigError::field(format!("{field}[{i}]"), e.to_string()))
        })
        .collect()
}

/// Strings a guest receives as arguments or environment: WASI hands them
/// to C-string APIs (wasi-libc's `argv`/`environ`), where a NUL would
/// silently cut the value, and a name with `=` (or none) would be read as
/// another variable. Refused at load, naming the field.
pub(super) fn validate_cli<'a>(
    field: &str,
    args: impl IntoIterator<Item = &'a String>,
    env_field: &str,
    env: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<(), ConfigError> {
    for (i, arg) in args.into_iter().enumerate() {
        if arg.contains('\0') {
            return Err(ConfigError::field(
                format!("{field}.args[{i}]"),
                "contains a NUL character, which the guest would see as the end of the argument",
            ));
        }
    }
    for (key, value) in env {
        let at = format!("{field}.{env_field}.{key}");
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(ConfigError::field(
                at,
                "a variable name must be non-empty, without `=` or NUL",
            ));
        }
        if value.is_some_and(|v| v.contains('\0')) {
            return Err(ConfigError::field(
                at,
                "contains a NUL character, which the guest would see as the end of the value",
            ));
        }
    }
    Ok(())
}

/// Directory grants: each host directory resolved (against `base_dir`,
/// then canonically, so guards compare real paths), existing, with a guest
/// path, and a quota only where writes can happen.
pub(super) fn validate_dirs(
    dirs: &mut [DirGrant],
    base_dir: &Path,
    field: &str,
) -> Result<(), ConfigError> {
    for (i, dir) in dirs.iter_mut().enumerate() {
        let dir_field = format!("{field}.dirs[{i}]");
        if dir.host.is_relative() {
            dir.host = base_dir.join(&dir.host);
        }
        dir.host = match dir.host.canonicalize() {
            Ok(host) if host.is_dir() => host,
            _ => {
                return Err(ConfigError::field(
                    format!("{dir_field}.host"),
                    format!("{} is not a directory", dir.host.display()),
                ));
            }
        };
        if dir.guest.is_empty() {
            return Err(ConfigError::field(
                format!("{dir_field}.guest"),
                "must not be empty",
            ));
        }
        match dir.quota_mib {
            Some(_) if !dir.writable => {
                return Err(ConfigError::field(
                    format!("{dir_field}.quota_mib"),
                    "only a writable grant takes a quota",
                ));
            }
            Some(0) => {
                return Err(ConfigError::field(
                    format!("{dir_field}.quota_mib"),
                    "must be at least 1",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn target(hook: &str, field: &str, base_dir: &Path) -> Result<HookTarget, ConfigError> {
    let err = |message: String| ConfigError::field(field, message);
    let url = |hook: &str| -> Result<HookTarget, ConfigError> {
        let url = Url::parse(hook).map_err(|e| err(format!("{hook:?} is not a valid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(err(format!(
                "{hook:?}: only http and https URLs are supported"
            )));
        }
        Ok(HookTarget::Http(url))
    };
    // An http(s) URL first; then a component (even one named `http...`);
    // then SFTPGo's rule: anything else starting with "http" is a URL.
    let lower = hook.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return url(hook);
    }
    if hook.ends_with(".wasm") {
        return Ok(HookTarget::Wasm(base_dir.join(hook)));
    }
    if hook.starts_with("oci://") {
        return super::OciRef::parse(hook).map(HookTarget::Oci).map_err(err);
    }
    if hook.starts_with("http") {
        return url(hook);
    }
    let program = PathBuf::from(hook);
    if !program.is_absolute() {
        return Err(err(format!(
            "{hook:?}: an exec hook must be an absolute path (or use an http(s) URL, or a .wasm component)"
        )));
    }
    let meta = std::fs::metadata(&program).map_err(|e| err(format!("{hook}: {e}")))?;
    use std::os::unix::fs::PermissionsExt;
    if !meta.is_file() {
        return Err(err(format!("{hook}: not a regular file")));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(err(format!("{hook}: not executable")));
    }
    Ok(HookTarget::Exec(program))
}

fn default_name(target: &HookTarget) -> String {
    match target {
        HookTarget::Exec(path) | HookTarget::Wasm(path) => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string()),
        HookTarget::Http(url) => format!("{}{}", url.host_str().unwrap_or(""), url.path()),
        HookTarget::Oci(reference) => reference.name().to_owned(),
    }
}

pub(super) fn spec(
    raw: RawHook,
    field: &str,
    section: Section,
    ctx: &Context<'_>,
) -> Result<HookSpec, ConfigError> {
    let target = target(&raw.hook, &format!("{field}.hook"), ctx.base_dir)?;
    let is_wasm = matches!(target, HookTarget::Wasm(_) | HookTarget::Oci(_));
    let limits = raw.limits;
    // A wasm hook's limit is hookhost's own (the section's, or lower); a
    // program's or URL's cap may go as high as SFTPGo ever lets a hook run.
    let ceiling = if is_wasm {
        section.limit
    } else {
        LONGEST_HOOK_LIMIT
    };
    let timeout_cap = match limits.timeout_ms {
        None => None,
        Some(0) => {
            return Err(ConfigError::field(
                format!("{field}.limits.timeout_ms"),
                "must be positive",
            ));
        }
        Some(ms) if Duration::from_millis(ms) > ceiling => {
            let whose = if is_wasm {
                "this section's limit"
            } else {
                "the longest SFTPGo lets a hook run,"
            };
            return Err(ConfigError::field(
                format!("{field}.limits.timeout_ms"),
                format!(
                    "{ms} is above {whose} of {} ms; a hook may only lower it",
                    ceiling.as_millis()
                ),
            ));
        }
        Some(ms) => Some(Duration::from_millis(ms)),
    };
    let command = match &target {
        HookTarget::Exec(_) => ctx.command.for_program(&raw.hook, section.command_hook),
        _ => ProgramCommand::default(),
    };
    let wasm_only = |key: &str, set: bool| {
        if set && !is_wasm {
            Err(ConfigError::field(
                format!("{field}.{key}"),
                "only wasm hooks take this setting",
            ))
        } else {
            Ok(())
        }
    };
    wasm_only("limits.fuel", limits.fuel.is_some())?;
    wasm_only("limits.memory_mib", limits.memory_mib.is_some())?;
    wasm_only("limits.http_in_flight", limits.http_in_flight.is_some())?;
    wasm_only("limits.tcp_connections", limits.tcp_connections.is_some())?;
    wasm_only("sha256", raw.sha256.is_some())?;
    wasm_only("signed_by", raw.signed_by.is_some())?;
    wasm_only("shadow", raw.shadow.is_some())?;
    let shadow = match raw.shadow.as_deref() {
        None => None,
        Some(candidate) if candidate.ends_with(".wasm") => {
            Some(Candidate::File(ctx.base_dir.join(candidate)))
        }
        Some(candidate) if candidate.starts_with("oci://") => Some(Candidate::Oci(
            super::OciRef::parse(candidate)
                .map_err(|why| ConfigError::field(format!("{field}.shadow"), why))?,
        )),
        Some(other) => {
            return Err(ConfigError::field(
                format!("{field}.shadow"),
                format!(
                    "{other:?} is neither a .wasm component nor an oci:// reference (a shadow is a candidate component)"
                ),
            ));
        }
    };
    let signed_by = super::signed_by(
        field,
        raw.signed_by.unwrap_or_default(),
        ctx.base_dir,
        ctx.settings,
    )?;
    let sha256 = raw
        .sha256
        .as_deref()
        .map(|hex| {
            super::sha256_hex(hex).map_err(|why| ConfigError::field(format!("{field}.sha256"), why))
        })
        .transpose()?;
    for (key, value) in [
        ("http_in_flight", limits.http_in_flight),
        ("tcp_connections", limits.tcp_connections),
    ] {
        if let Some(n) = value
            && !(1..=super::MAX_CONNECTIONS_PER_CALL).contains(&n)
        {
            return Err(ConfigError::field(
                format!("{field}.limits.{key}"),
                format!("must be between 1 and {}", super::MAX_CONNECTIONS_PER_CALL),
            ));
        }
    }
    wasm_only("grants", raw.grants.is_some())?;
    wasm_only("reuse", raw.reuse.is_some())?;
    wasm_only("spares", raw.spares.is_some())?;
    if let Some(spares) = raw.spares {
        if raw.reuse.is_some() && spares > 0 {
            return Err(ConfigError::field(
                format!("{field}.spares"),
                "spares are fresh instances made ahead; a hook with `reuse` keeps warm instances instead (set one or the other)",
            ));
        }
        if spares > MAX_SPARES {
            return Err(ConfigError::field(
                format!("{field}.spares"),
                format!("{spares} is above {MAX_SPARES}"),
            ));
        }
    }
    if let Some(reuse) = &raw.reuse
        && (reuse.max_calls == 0 || reuse.pool == 0)
    {
        return Err(ConfigError::field(
            format!("{field}.reuse"),
            "max_calls and pool must be at least 1",
        ));
    }
    if let Some(mib) = limits.memory_mib
        && (mib == 0 || mib > ctx.settings.wasm.max_memory_mib)
    {
        return Err(ConfigError::field(
            format!("{field}.limits.memory_mib"),
            format!(
                "must be between 1 and hookhost.wasm.max_memory_mib ({})",
                ctx.settings.wasm.max_memory_mib
            ),
        ));
    }
    if let Some(retry) = &raw.queue {
        let at = format!("{field}.queue");
        if !section.queued {
            return Err(ConfigError::field(
                at,
                "login and connection hooks answer or run at once; only file-system and provider hooks go through the shared queue",
            ));
        }
        if ctx.settings.queue.is_none() {
            return Err(ConfigError::field(
                at,
                "retries through the shared queue need hookhost.queue; without one an asynchronous event runs its hook once, as in SFTPGo",
            ));
        }
        super::queue::validate_retry(&at, retry.max_deliver, retry.backoff_ms)?;
    }
    let mut grants = raw.grants.unwrap_or_default();
    validate_dirs(&mut grants.dirs, ctx.base_dir, &format!("{field}.grants"))?;
    validate_cli(
        &format!("{field}.grants"),
        &grants.args,
        "env",
        grants
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_str()))),
    )?;
    let output_kib = limits
        .output_kib
        .unwrap_or(ctx.settings.wasm.default_output_kib);
    if output_kib > MAX_OUTPUT_KIB {
        return Err(ConfigError::field(
            format!("{field}.limits.output_kib"),
            format!("{output_kib} is above {MAX_OUTPUT_KIB}"),
        ));
    }
    Ok(HookSpec {
        explicit_name: raw.name.is_some(),
        name: raw.name.unwrap_or_else(|| default_name(&target)),
        field: field.to_owned(),
        target,
        timeout_cap,
        reference_limit: section.limit,
        command,
        output_bytes: usize::try_from(output_kib.saturating_mul(1024)).unwrap_or(usize::MAX),
        wasm: WasmOptions {
            fuel: limits.fuel,
            memory_mib: limits.memory_mib,
            http_in_flight: limits.http_in_flight,
            tcp_connections: limits.tcp_connections,
            grants,
            reuse: raw.reuse,
            spares: raw.spares,
            sha256,
            signed_by,
            shadow,
        },
        queue: raw.queue.unwrap_or_default(),
    })
}

/// The plain SFTPGo `hook` string as a hook entry.
fn plain(hook: String) -> Option<RawHook> {
    (!hook.is_empty()).then(|| RawHook {
        name: None,
        hook,
        execute_on: None,
        execute_for: None,
        limits: RawLimits::default(),
        grants: None,
        reuse: None,
        spares: None,
        sha256: None,
        signed_by: None,
        shadow: None,
        queue: None,
    })
}

/// The raw hooks of a section with their config paths: the plain `hook`
/// first, then the `hooks` list.
pub(super) fn entries(
    plain_key: &str,
    hook: String,
    list_key: &str,
    hooks: Vec<RawHook>,
) -> Vec<(String, RawHook)> {
    plain(hook)
        .map(|raw| (plain_key.to_owned(), raw))
        .into_iter()
        .chain(
            hooks
                .into_iter()
                .enumerate()
                .map(|(i, raw)| (format!("{list_key}[{i}]"), raw)),
        )
        .collect()
}

pub(super) fn validate_fs(raw: RawFsActions, ctx: &Context<'_>) -> Result<FsActions, ConfigError> {
    let section = "common.actions";
    let execute_on = parse_names::<FsAction>(&raw.execute_on, &format!("{section}.execute_on"))?;
    let execute_sync =
        parse_names::<FsAction>(&raw.execute_sync, &format!("{section}.execute_sync"))?;
    let mut hooks = Vec::new();
    let list = format!("{section}.hooks");
    for (field, entry) in entries(section, raw.hook, &list, raw.hooks) {
        if entry.execute_for.is_some() {
            return Err(ConfigError::field(
                format!("{field}.execute_for"),
                "only provider hooks take execute_for",
            ));
        }
        let on = match &entry.execute_on {
            Some(names) => parse_names::<FsAction>(names, &format!("{field}.execute_on"))?,
            None => execute_on.clone(),
        };
        hooks.push(FsHookSpec {
            spec: spec(entry, &field, FS_SECTION, ctx)?,
            execute_on: on,
        });
    }
    Ok(FsActions {
        execute_on,
        execute_sync,
        hooks,
    })
}

pub(super) fn validate_provider(
    raw: RawProviderActions,
    ctx: &Context<'_>,
) -> Result<ProviderActions, ConfigError> {
    let section = "data_provider.actions";
    let execute_on =
        parse_names::<ProviderAction>(&raw.execute_on, &format!("{section}.execute_on"))?;
    // SFTPGo 2.2+ fires for the objects listed, none when the list is
    // absent or empty; the reference (2.1) predates the key and fires for
    // users.
    let execute_for = match &raw.execute_for {
        Some(names) => parse_names::<ObjectType>(names, &format!("{section}.execute_for"))?,
        None if !ctx.provider_current_form() => vec![ObjectType::User],
        None => Vec::new(),
    };
    let mut hooks = Vec::new();
    let list = format!("{section}.hooks");
    for (field, entry) in entries(section, raw.hook, &list, raw.hooks) {
        let on = match &entry.execute_on {
            Some(names) => parse_names::<ProviderAction>(names, &format!("{field}.execute_on"))?,
            None => execute_on.clone(),
        };
        let for_ = match &entry.execute_for {
            Some(names) => parse_names::<ObjectType>(names, &format!("{field}.execute_for"))?,
            None => execute_for.clone(),
        };
        hooks.push(ProviderHookSpec {
            spec: spec(entry, &field, PROVIDER_SECTION, ctx)?,
            execute_on: on,
            execute_for: for_,
        });
    }
    Ok(ProviderActions { hooks })
}

/// Hook names label logs and metrics, so they must be unique. A name
/// derived from the hook (the same program in both sections, say) gets a
/// numeric suffix when taken; two explicit equal names are an error.
pub(super) fn make_names_unique<'a>(
    specs: impl IntoIterator<Item = &'a mut HookSpec>,
) -> Result<(), ConfigError> {
    let specs: Vec<&mut HookSpec> = specs.into_iter().collect();
    let explicit: HashSet<String> = specs
        .iter()
        .filter(|s| s.explicit_name)
        .map(|s| s.name.clone())
        .collect();
    let mut seen = HashSet::new();
    for spec in specs {
        if spec.explicit_name {
            if !seen.insert(spec.name.clone()) {
                return Err(ConfigError::field(
                    format!("{}.name", spec.field),
                    format!(
                        "hook name {:?} is used twice; give each hook a distinct \"name\"",
                        spec.name
                    ),
                ));
            }
            continue;
        }
        let base = spec.name.clone();
        let mut n = 1;
        while explicit.contains(&spec.name) || !seen.insert(spec.name.clone()) {
            n += 1;
            spec.name = format!("{base}-{n}");
        }
    }
    Ok(())
}
