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

pub(crate) mod entry;

pub use entry::describe;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};
use tokio::sync::oneshot;

const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");

/// The most writes grouped into one transaction.
const BATCH: usize = 4096;

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
}

enum Write {
    Append(Vec<u8>, oneshot::Sender<Result<u64, String>>),
    Remove(u64),
    /// Commit durably what came before (removals included).
    Flush(oneshot::Sender<()>),
}

/// An open journal. One per process and directory: redb locks the file.
pub struct Journal {
    path: PathBuf,
    db: Arc<Database>,
    writes: mpsc::Sender<Write>,
    writer: Option<std::thread::JoinHandle<()>>,
    stats: Arc<JournalStats>,
}

impl Drop for Journal {
    /// Let the writer finish what was sent and close the file, so the
    /// directory can be opened again as soon as this returns.
    fn drop(&mut self) {
        self.writes = mpsc::channel().0;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn err(path: &Path, what: &str, error: impl std::fmt::Display) -> String {
    format!("journal {}: {what}: {error}", path.display())
}

impl Journal {
    /// Open (or create) the journal in `dir`.
    pub fn open(dir: &Path) -> Result<Arc<Self>, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("hookhost.state_dir {}: {e}", dir.display()))?;
        let path = dir.join("journal.redb");
        let db = Database::create(&path).map_err(|e| {
            let hint = if matches!(e, redb::DatabaseError::DatabaseAlreadyOpen) {
                " (another hookhost process uses this state_dir: stop it first)"
            } else {
                ""
            };
            err(&path, "cannot open", format!("{e}{hint}"))
        })?;
        let txn = db.begin_write().map_err(|e| err(&path, "write", e))?;
        txn.open_table(ENTRIES)
            .map_err(|e| err(&path, "table", e))?;
        txn.commit().map_err(|e| err(&path, "commit", e))?;
        let (next, depth) = {
            let read = db.begin_read().map_err(|e| err(&path, "read", e))?;
            let table = read
                .open_table(ENTRIES)
                .map_err(|e| err(&path, "table", e))?;
            let last = table
                .last()
                .map_err(|e| err(&path, "read", e))?
                .map(|(key, _)| key.value());
            let depth = table.len().map_err(|e| err(&path, "read", e))?;
            (last.map_or(1, |id| id + 1), depth)
        };
        let db = Arc::new(db);
        let stats = Arc::new(JournalStats::default());
        stats.depth.store(depth, Ordering::Relaxed);
        let (sender, receiver) = mpsc::channel();
        let writer = {
            let (db, stats, at) = (db.clone(), stats.clone(), path.clone());
            std::thread::Builder::new()
                .name("hookhost-journal".into())
                .spawn(move || writer(&db, &receiver, next, &stats, &at))
                .map_err(|e| err(&path, "cannot start its writer thread", e))?
        };
        Ok(Arc::new(Journal {
            path,
            db,
            writes: sender,
            writer: Some(writer),
            stats,
        }))
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counters.
    pub fn stats(&self) -> &JournalStats {
        &self.stats
    }

    /// Count `n` unfinished entries of `what` replayed at start, and say so.
    pub(crate) fn replayed(&self, n: u64, what: &str) {
        self.stats.replayed.fetch_add(n, Ordering::Relaxed);
        if n > 0 {
            tracing::info!(replayed = n, journal = %self.path.display(), "unfinished {what} replayed from the journal");
        }
    }

    fn send(&self, write: Write) -> Result<(), String> {
        self.writes
            .send(write)
            .map_err(|_| err(&self.path, "write", "the writer thread is gone"))
    }

    /// Write `entry` durably; its id once it is on disk.
    pub async fn append(&self, entry: Vec<u8>) -> Result<u64, String> {
        self.append_now(entry).await
    }

    /// Send `entry` to the writer now; the returned future resolves to its
    /// id once it is on disk (for a caller that has other work meanwhile).
    pub(crate) fn append_now(
        &self,
        entry: Vec<u8>,
    ) -> impl Future<Output = Result<u64, String>> + Send + 'static {
        let (done, answer) = oneshot::channel();
        let sent = self.send(Write::Append(entry, done));
        let gone = err(&self.path, "write", "the writer thread is gone");
        async move {
            sent?;
            answer.await.map_err(|_| gone)?
        }
    }

    /// Forget entry `id` (its event is done).
    pub fn remove(&self, id: u64) {
        if let Err(error) = self.send(Write::Remove(id)) {
            tracing::warn!(%error, id, "cannot remove a journal entry; it will be replayed");
        }
    }

    /// Wait until every earlier write, removals included, is on disk.
    pub async fn flush(&self) {
        let (done, answer) = oneshot::channel();
        if self.send(Write::Flush(done)).is_ok() {
            let _ = answer.await;
        }
    }

    /// Remove every entry; how many there were. For an operator
    /// (`hookhost queue purge`), with no server using the journal.
    pub fn purge(&self) -> Result<usize, String> {
        let txn = self
            .db
            .begin_write()
            .map_err(|e| err(&self.path, "write", e))?;
        let removed = {
            let mut table = txn
                .open_table(ENTRIES)
                .map_err(|e| err(&self.path, "table", e))?;
            let n = table.len().map_err(|e| err(&self.path, "read", e))?;
            table
                .retain(|_, _| false)
                .map_err(|e| err(&self.path, "write", e))?;
            n as usize
        };
        txn.commit().map_err(|e| err(&self.path, "commit", e))?;
        self.stats.depth.store(0, Ordering::Relaxed);
        Ok(removed)
    }

    /// Every entry on disk, oldest first.
    pub fn pending(&self) -> Result<Vec<(u64, Vec<u8>)>, String> {
        let read = self
            .db
            .begin_read()
            .map_err(|e| err(&self.path, "read", e))?;
        let table = read
            .open_table(ENTRIES)
            .map_err(|e| err(&self.path, "table", e))?;
        let mut entries = Vec::new();
        for item in table.iter().map_err(|e| err(&self.path, "read", e))? {
            let (key, value) = item.map_err(|e| err(&self.path, "read", e))?;
            entries.push((key.value(), value.value().to_vec()));
        }
        Ok(entries)
    }

    /// How long ago the oldest entry on disk was accepted (None: the
    /// journal is empty, or its oldest entry does not say).
    pub fn oldest_age(&self) -> Option<std::time::Duration> {
        let read = self.db.begin_read().ok()?;
        let table = read.open_table(ENTRIES).ok()?;
        let (_, first) = table.first().ok()??;
        let accepted = entry::accepted_ms(first.value())?;
        Some(crate::event::json::age_since_ms(accepted))
    }

    /// Every readable entry on disk, oldest first, decoded; an unreadable
    /// one is logged and kept (for an operator to look at).
    pub(crate) fn unfinished(&self) -> Result<Vec<(u64, entry::Decoded)>, String> {
        Ok(self
            .pending()?
            .into_iter()
            .filter_map(|(id, bytes)| match entry::decode(&bytes) {
                Ok(decoded) => Some((id, decoded)),
                Err(error) => {
                    tracing::error!(id, %error, journal = %self.path.display(), "cannot read a journal entry; it is kept");
                    None
                }
            })
            .collect())
    }
}

/// Group commit: take every write waiting, apply them in one transaction,
/// commit once (durably when the batch appends), answer the appenders.
fn writer(
    db: &Database,
    writes: &mpsc::Receiver<Write>,
    mut next: u64,
    stats: &JournalStats,
    path: &Path,
) {
    while let Ok(first) = writes.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match writes.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let appends = batch
            .iter()
            .filter(|w| matches!(w, Write::Append(..)))
            .count();
        let durable = appends > 0 || batch.iter().any(|w| matches!(w, Write::Flush(_)));
        let started = Instant::now();
        let first_id = next;
        let result = (|| -> Result<usize, redb::Error> {
            let mut txn = db.begin_write()?;
            // Appends must be on disk before they are acknowledged; a lost
            // removal only replays a finished event.
            txn.set_durability(if durable {
                Durability::Immediate
            } else {
                Durability::None
            })?;
            let mut removed = 0;
            {
                let mut table = txn.open_table(ENTRIES)?;
                let mut id = first_id;
                for write in &batch {
                    match write {
                        Write::Append(bytes, _) => {
                            table.insert(id, bytes.as_slice())?;
                            id += 1;
                        }
                        Write::Remove(id) => {
                            if table.remove(id)?.is_some() {
                                removed += 1;
                            }
                        }
                        Write::Flush(_) => {}
                    }
                }
            }
            txn.commit()?;
            Ok(removed)
        })();
        match result {
            Ok(removed) => {
                next += appends as u64;
                if durable {
                    stats.commits.fetch_add(1, Ordering::Relaxed);
                    stats
                        .commit_nanos
                        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                stats.appended.fetch_add(appends as u64, Ordering::Relaxed);
                stats.removed.fetch_add(removed as u64, Ordering::Relaxed);
                stats.depth.fetch_add(appends as u64, Ordering::Relaxed);
                stats.depth.fetch_sub(removed as u64, Ordering::Relaxed);
                let mut id = first_id;
                for write in batch {
                    match write {
                        Write::Append(_, done) => {
                            let _ = done.send(Ok(id));
                            id += 1;
                        }
                        Write::Flush(done) => {
                            let _ = done.send(());
                        }
                        Write::Remove(_) => {}
                    }
                }
            }
            Err(error) => {
                let message = err(path, "write", error);
                tracing::error!(error = %message, "journal write failed");
                stats.failures.fetch_add(appends as u64, Ordering::Relaxed);
                for write in batch {
                    // A failed flush just returns: the entries stay.
                    if let Write::Append(_, done) = write {
                        let _ = done.send(Err(message.clone()));
                    }
                }
            }
        }
    }
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
            self.journal.remove(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Contract, FsAction, FsEvent, Protocol};

    #[tokio::test]
    async fn the_oldest_entry_ages_until_it_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        assert_eq!(journal.oldest_age(), None);
        let event = FsEvent::new(FsAction::Upload, "alice", "/a", Protocol::Sftp);
        let first = journal
            .append(entry::encode_fs(&event, Contract::NEWEST, "e1"))
            .await
            .unwrap();
        let second = journal
            .append(entry::encode_fs(&event, Contract::NEWEST, "e2"))
            .await
            .unwrap();
        let age = journal.oldest_age().expect("an entry says when");
        assert!(age < std::time::Duration::from_secs(60), "{age:?}");
        journal.remove(first);
        journal.remove(second);
        journal.flush().await;
        assert_eq!(journal.oldest_age(), None);
        assert_eq!(journal.stats().depth.load(Ordering::Relaxed), 0);
    }
}
