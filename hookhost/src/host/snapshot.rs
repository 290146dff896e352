//! What a host reports to `/metrics` at scrape time: each part (plugins,
//! compile cache, clipped texts, queue, journal, sandbox) encodes its own
//! statistics; the host adds its asynchronous work.

use std::sync::Weak;

use prometheus_client::encoding::DescriptorEncoder;

use super::{Host, Inner};
use crate::metrics::Snapshot;

/// A host as the metrics see it: weakly, so that the metrics (which a
/// `ReloadableHost` keeps across generations) never keep a retired host
/// alive.
pub(super) struct WeakHost(pub(super) Weak<Inner>);

impl Snapshot for WeakHost {
    fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        // A host that is gone has nothing more to report.
        let Some(inner) = self.0.upgrade() else {
            return Ok(());
        };
        let host = Host { inner };
        crate::plugin::metrics::encode(&host.plugins().info(), encoder)?;
        host.cache_stats().encode(encoder)?;
        crate::text::encode_clipped(encoder)?;
        if let Some(remote) = &host.inner.router.keeper.remote {
            remote
                .queue
                .stats()
                .encode(encoder, remote.queue.connected())?;
        }
        if let Some(journal) = host.shared_journal() {
            let writable = journal.health() == crate::journal::JournalHealth::Writable;
            journal
                .stats()
                .encode(encoder, writable, journal.oldest_age())?;
        }
        if let Some(sandbox) = host.shared_sandbox() {
            sandbox.encode(encoder)?;
        }
        crate::prom::gauge(
            encoder,
            "async_in_flight",
            "Asynchronous hook jobs queued or running",
            host.async_in_flight() as i64,
        )
    }
}
