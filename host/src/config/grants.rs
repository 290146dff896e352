//! What a guest may reach beyond its own memory (`grants` of a hook or
//! plugin). Pure data: the sandbox turns it into a WASI context.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

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
    /// Arguments after `argv[0]` (which is the hook's name).
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
    /// write past it fails (see `sandbox::fsguard`).
    #[serde(default)]
    pub quota_mib: Option<u64>,
}
