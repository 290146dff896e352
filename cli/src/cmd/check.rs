//! `hookhost check`: validate a configuration and compile its components.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hookhost::event::{Contract, VersionSetting};
use hookhost::hook::HookKind;
use hookhost::{Config, Host};

use super::{progress, skip_journal};

/// Validate a configuration and compile (and cache) every component.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Configuration file (SFTPGo JSON format).
    #[arg(long)]
    config: PathBuf,
}

impl CheckArgs {
    pub async fn run(self) -> Result<ExitCode, String> {
        check(&self.config).await
    }
}

async fn check(config: &Path) -> Result<ExitCode, String> {
    progress(
        "validating and compiling (a new component takes a few seconds; then it is cached)...",
    );
    let mut loaded = Config::from_file(config).map_err(|e| e.to_string())?;
    let state_dir = loaded.settings.state_dir.clone();
    skip_journal(&mut loaded);
    let host = Host::new(loaded).await.map_err(|e| e.to_string())?;
    let count = |kind: HookKind| {
        let cfg = host.config();
        cfg.fs_actions
            .hooks
            .iter()
            .map(|h| &h.spec)
            .chain(cfg.provider_actions.hooks.iter().map(|h| &h.spec))
            .chain(cfg.login_hooks.specs())
            .filter(|spec| kind_of(&spec.target) == kind)
            .count()
    };
    let stats = host.cache_stats();
    let cache_dir = host
        .config()
        .settings
        .resolved_cache_dir()
        .map(|dir| dir.display().to_string())
        .unwrap_or_else(|| "off".into());
    println!(
        "{}: ok, hooks: {} exec, {} http, {} wasm; plugins: {}; compile cache: {} hits, {} compiled (in {cache_dir})",
        config.display(),
        count(HookKind::Exec),
        count(HookKind::Http),
        count(HookKind::Wasm),
        host.config().plugins.len(),
        stats.hits,
        stats.compiled,
    );
    println!("{}", era(host.sftpgo_version()));
    if let Some((allocation, slots)) = host.wasm_allocation() {
        use hookhost::Allocation;
        match allocation {
            Allocation::Pooled => println!("wasm instances: pooled ({slots} slots)"),
            Allocation::OnDemand => println!("wasm instances: on demand (pooling: false)"),
            Allocation::PoolUnavailable(why) => eprintln!(
                "hookhost: warning: wasm instances on demand: a pool of {slots} could not be reserved ({why}); lower hookhost.wasm.max_instances or raise the address-space limit (ulimit -v)"
            ),
        }
    }
    if let Some(dir) = state_dir {
        println!(
            "journal: {} (opened by `hookhost serve` and `hookhost queue` only)",
            dir.join("journal.redb").display()
        );
    }
    for resolved in host.resolved() {
        println!(
            "{}: {} is {} (from {})",
            resolved.field, resolved.reference, resolved.digest, resolved.source
        );
    }
    for line in digests(&host) {
        println!("{line}");
    }
    for entry in &host.config().plugins_left_to_sftpgo {
        println!("{entry}: SFTPGo's own plugin (not a component): left to SFTPGo");
    }
    for advice in host.config().advisories() {
        eprintln!("hookhost: warning: {advice}");
    }
    host.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// One line per component: its entry, file and sha256 as loaded, whether
/// the entry pins it (`"sha256"`) and who signed it (`hookhost.trust`).
fn digests(host: &Host) -> Vec<String> {
    let cfg = host.config();
    let loaded = host.components();
    let hooks = cfg
        .fs_actions
        .hooks
        .iter()
        .map(|h| &h.spec)
        .chain(cfg.provider_actions.hooks.iter().map(|h| &h.spec))
        .chain(cfg.login_hooks.specs())
        .filter_map(|spec| match &spec.target {
            hookhost::config::HookTarget::Wasm(path) => {
                Some((&spec.field, path, spec.wasm.sha256.is_some()))
            }
            _ => None,
        });
    let plugins = cfg
        .plugins
        .iter()
        .map(|p| (&p.field, &p.cmd, p.sha256sum.is_some()));
    hooks
        .chain(plugins)
        .filter_map(|(field, path, pinned)| {
            let (_, provenance) = loaded.iter().find(|(p, _)| p == path)?;
            let pin = if pinned { "pinned" } else { "not pinned" };
            let signed = match (&cfg.settings.trust, provenance.signed_by.as_slice()) {
                (None, _) => String::new(),
                (Some(_), []) => ", unsigned".to_owned(),
                (Some(_), keys) => format!(
                    ", signed by {}",
                    keys.iter()
                        .map(|k| k.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            Some(format!(
                "{field}: {} sha256 {} ({pin}{signed})",
                path.display(),
                provenance.sha256
            ))
        })
        .collect()
}

/// The contract `check` says is in force.
fn era(versions: VersionSetting) -> String {
    match versions {
        VersionSetting::Auto => format!(
            "sftpgo_version: auto (events in the reference's form: the contract of {}; in today's form, with timestamp/session_id/virtual_path: {})",
            Contract::REFERENCE,
            Contract::NEWEST
        ),
        VersionSetting::Pinned(version) => {
            format!(
                "sftpgo_version: {version} (pinned: every event in the contract of SFTPGo {version})"
            )
        }
    }
}

fn kind_of(target: &hookhost::config::HookTarget) -> HookKind {
    match target {
        hookhost::config::HookTarget::Exec(_) => HookKind::Exec,
        hookhost::config::HookTarget::Http(_) => HookKind::Http,
        hookhost::config::HookTarget::Wasm(_) | hookhost::config::HookTarget::Oci(_) => {
            HookKind::Wasm
        }
    }
}
