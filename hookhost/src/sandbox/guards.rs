//! The writable grants of one guest as the filesystem guards see them
//! ([`super::fsguard`]): each one's root and byte quota. Quotas are shared
//! by every instance with the grant.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::config::Grants;

/// A writable grant as the guards see it.
#[derive(Clone, Debug)]
pub(crate) struct GrantGuard {
    /// The granted directory on the host (canonical).
    pub(crate) root: PathBuf,
    pub(crate) quota: Option<Arc<Quota>>,
}

/// A grant's byte quota, shared by every instance that has the grant.
#[derive(Debug)]
pub(crate) struct Quota {
    pub(crate) limit: u64,
    /// Bytes written by streams still open (not yet in the directory's size
    /// as measured at their start).
    pub(crate) pending: AtomicU64,
}

/// The quotas of one sandbox, by granted directory.
#[derive(Default)]
pub(crate) struct Quotas(std::sync::Mutex<HashMap<PathBuf, Arc<Quota>>>);

impl Quotas {
    /// The guards for `grants`' writable directories.
    pub(crate) fn guards(&self, grants: &Grants) -> Arc<[GrantGuard]> {
        grants
            .dirs
            .iter()
            .filter(|dir| dir.writable)
            .map(|dir| {
                // Canonical already: the configuration resolves grant paths.
                let root = dir.host.clone();
                let quota = dir.quota_mib.map(|mib| {
                    self.0
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(root.clone())
                        .or_insert_with(|| {
                            Arc::new(Quota {
                                limit: mib.saturating_mul(1 << 20),
                                pending: AtomicU64::new(0),
                            })
                        })
                        .clone()
                });
                GrantGuard { root, quota }
            })
            .collect()
    }
}
