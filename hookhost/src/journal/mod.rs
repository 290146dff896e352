//! The journal: accepted asynchronous work kept on disk until its hooks are
//! done, so a crash, an OOM kill or a deploy loses none of it.
//!
//! With `hookhost.state_dir` set, every file-system or provider event queued
//! for asynchronous hooks is written to `state_dir/journal.redb` (an
//! embedded [redb] database) *before* the caller is told it was accepted —
//! `serve`'s 200 means "on disk". Writes from concurrent events are grouped
//! into one transaction and one `fsync` (group commit) by a writer thread,
//! so the added latency is bounded by one commit, not one per event. An
//! entry is removed once every hook of its event has finished or given up
//! per its own limits (removals are committed lazily: a removal lost in a
//! crash only means a replay). On start, unfinished entries are replayed
//! through the configured hooks.
//!
//! Delivery is therefore at least once: an event whose hooks ran but whose
//! removal was not yet on disk runs again after a crash.
//!
//! Two tables, one id sequence: the hooks' *records* (one per accepted
//! event, [`crate::event`]'s record format, the shared queue's too) and the
//! notifiers' *notices* (one per event and notifier plugin). A journal
//! from before the split, with notices among the records, has them moved
//! at open.
//!
//! Faults: after a failed write (a full disk, a file-size limit) redb
//! refuses every later one until the database is re-opened. The writer
//! then re-opens it and probes with a small durable write every second
//! until one succeeds ([`Journal::health`] says it cannot write meanwhile,
//! and `serve`'s `/healthz` answers 503); appends are refused in between
//! (the caller is told), removals are kept and written once it can, so no
//! accepted event runs twice. Every durable commit also leaves the next id
//! in `journal.next` beside the database: at open, ids accepted but not on
//! disk (redb fell back to an earlier commit after damage) are logged and
//! counted as lost, and never handed out again.

pub(crate) mod notice;
#[cfg(not(feature = "journal"))]
mod off;
#[cfg(feature = "journal")]
mod store;

#[cfg(not(feature = "journal"))]
pub use off::Journal;
#[cfg(feature = "journal")]
pub use store::Journal;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use prometheus_client::encoding::DescriptorEncoder;

use crate::prom::{Encoded, age, counter, gauge, plain_counters};

/// The journal's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    /// The hooks' records.
    Records,
    /// The notifiers' notices.
    Notices,
}

/// One line describing an entry of [`Journal::pending`], for an operator
/// (`hookhost queue ls`): what it is for, its action, what it is about and
/// (for a hook's record) the SFTPGo release.
pub fn describe(bytes: &[u8]) -> String {
    let described = if notice::is_notice(bytes) {
        notice::decode(bytes).map(|n| notice::describe(&n))
    } else {
        crate::event::record::decode(bytes).map(|d| crate::event::record::describe(&d.record))
    };
    described.unwrap_or_else(|error| format!("unreadable: {error}"))
}

/// A journal that cannot be opened or read; the message names its file.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct JournalError(pub(crate) String);

/// Journal counters, read at scrape time.
#[derive(Debug, Default)]
pub struct JournalStats {
    /// Entries written.
    pub appended: AtomicU64,
    /// Entries removed (their event done).
    pub removed: AtomicU64,
    /// Entries found unfinished at start and replayed.
    pub replayed: AtomicU64,
    /// Durable commits (each one `fsync`).
    pub commits: AtomicU64,
    /// Time spent in durable commits, nanoseconds.
    pub commit_nanos: AtomicU64,
    /// Writes that failed (the event was refused).
    pub failures: AtomicU64,
    /// Entries on disk now.
    pub depth: AtomicU64,
    /// Accepted entries found missing at open (redb fell back to an
    /// earlier commit).
    pub lost: AtomicU64,
    /// Re-opens after a failed write.
    pub reopens: AtomicU64,
}

impl JournalStats {
    /// Write the journal's metrics: these counters, whether it can write
    /// now and the age of its oldest entry.
    pub(crate) fn encode(
        &self,
        encoder: &mut DescriptorEncoder<'_>,
        writable: bool,
        oldest_age: Option<std::time::Duration>,
    ) -> Encoded {
        plain_counters(
            encoder,
            [
                (
                    "journal_appended",
                    "Accepted asynchronous events written to the journal",
                    &self.appended,
                ),
                (
                    "journal_removed",
                    "Journal entries removed: every hook of their event done",
                    &self.removed,
                ),
                (
                    "journal_replayed",
                    "Unfinished journal entries replayed at start",
                    &self.replayed,
                ),
                (
                    "journal_commits",
                    "Durable journal commits (one fsync, shared by the events grouped into it)",
                    &self.commits,
                ),
                (
                    "journal_failures",
                    "Events refused because the journal could not write them",
                    &self.failures,
                ),
                (
                    "journal_reopens",
                    "Journal re-opens after a failed write (one per probe)",
                    &self.reopens,
                ),
                (
                    "journal_lost",
                    "Accepted events found missing at open (redb fell back to an earlier commit)",
                    &self.lost,
                ),
            ],
        )?;
        counter(
            encoder,
            "journal_commit_seconds",
            "Time spent in durable journal commits (fsync included)",
            self.commit_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        )?;
        gauge(
            encoder,
            "journal_writable",
            "1 when the journal can write, 0 while its writes fail",
            i64::from(writable),
        )?;
        gauge(
            encoder,
            "journal_depth",
            "Journal entries whose hooks are not all done",
            self.depth.load(Ordering::Relaxed) as i64,
        )?;
        age(
            encoder,
            "journal_oldest_age_seconds",
            "Age of the oldest journal entry not yet done (0: none)",
            oldest_age,
        )
    }
}

/// Whether the journal can write now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalHealth {
    /// Writes succeed.
    Writable,
    /// The last write failed (with this error); appends are refused until
    /// a probe succeeds.
    Failing(String),
}

/// One journaled event's hooks still to finish: the last one to finish
/// removes the entry. Dropped unfinished (a shutdown that discarded the
/// job), the entry stays and is replayed at the next start.
pub(crate) struct Ticket {
    journal: Arc<Journal>,
    id: u64,
    left: AtomicUsize,
}

impl Ticket {
    pub(crate) fn new(journal: Arc<Journal>, id: u64, hooks: usize) -> Arc<Self> {
        Arc::new(Ticket {
            journal,
            id,
            left: AtomicUsize::new(hooks),
        })
    }

    /// One hook finished (or gave up).
    pub(crate) fn done(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.journal.remove(Table::Records, self.id);
        }
    }
}
