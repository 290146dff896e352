//! Capabilities a guest may be granted. Nothing is granted by default: no
//! filesystem, no environment, no arguments but its name, no network, no
//! inherited stdio. Each grant below maps to one `WasiCtxBuilder` call in
//! [`wasi_ctx`], the only place a guest's WASI context is built.
//!
//! Directory grants are cap-std preopens: the guest can reach nothing
//! outside them, whether through `..`, absolute paths or symlinks; the
//! symlinks it may create and the bytes it may write in a writable grant are
//! further bounded by [`super::fsguard`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::output::OutputCapture;

/// What a guest may reach beyond its own memory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Host directories preopened for the guest.
    #[serde(default)]
    pub dirs: Vec<DirGrant>,
    /// Environment variables the guest sees (and only these).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Arguments after argv[0] (which is the hook's name).
    #[serde(default)]
    pub args: Vec<String>,
    /// Read-only access to the file the event names, through the
    /// `event-file` import.
    #[serde(default)]
    pub event_file: bool,
}

/// One preopened directory.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirGrant {
    /// Directory on the host (relative paths are resolved against the
    /// configuration file's directory).
    pub host: PathBuf,
    /// Path the guest opens it under, e.g. `/data`.
    pub guest: String,
    /// Whether the guest may create, write and delete files (default: read
    /// only).
    #[serde(default)]
    pub writable: bool,
    /// For a writable grant: the most the directory may hold, in MiB; a
    /// write past it fails (see [`super::fsguard`]).
    #[serde(default)]
    pub quota_mib: Option<u64>,
}

/// Build a guest's WASI context from its grants: the one place that decides
/// what a guest can reach.
pub(crate) fn wasi_ctx(
    name: &str,
    grants: &Grants,
    stdout: &OutputCapture,
    stderr: &OutputCapture,
) -> std::io::Result<WasiCtx> {
    let mut builder = WasiCtxBuilder::new();
    builder.arg(name).args(&grants.args);
    for (key, value) in &grants.env {
        builder.env(key, value);
    }
    for dir in &grants.dirs {
        let perms = if dir.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        builder
            .preopened_dir(&dir.host, &dir.guest, perms)
            .map_err(|err| std::io::Error::other(format!("{}: {err:#}", dir.host.display())))?;
    }
    builder
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    Ok(builder.build())
}
