//! The journal on disk: a redb database written by one thread that groups
//! concurrent writes into one durable commit (feature `journal`).

use super::{JournalError, JournalHealth, JournalStats, Table, notice};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::time::{Duration, Instant};

use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};
use tokio::sync::oneshot;

/// The hooks' records (one per accepted event, removed when its hooks are
/// all done).
const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
/// The notifiers' notices (one per event and notifier, removed when
/// delivered or given up).
const NOTICES: TableDefinition<u64, &[u8]> = TableDefinition::new("notices");

/// A table's definition. Ids are one sequence across both tables.
fn definition(table: Table) -> TableDefinition<'static, u64, &'static [u8]> {
    match table {
        Table::Records => RECORDS,
        Table::Notices => NOTICES,
    }
}
/// `next`: the next entry id; `probe`: the last write probing a re-opened
/// journal; `tables`: 2 once notices have their own table.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// How often a journal that cannot write tries again.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The most writes grouped into one transaction.
const BATCH: usize = 4096;

enum Write {
    Append(Table, Vec<u8>, oneshot::Sender<Result<u64, String>>),
    Remove(Table, u64),
    /// Commit durably what came before (removals included).
    Flush(oneshot::Sender<()>),
}

/// An open journal. One per process and directory: redb locks the file.
pub struct Journal {
    path: PathBuf,
    /// `None` only while the writer re-opens it.
    db: Arc<RwLock<Option<Database>>>,
    writes: mpsc::Sender<Write>,
    writer: Option<std::thread::JoinHandle<()>>,
    stats: Arc<JournalStats>,
    failing: Arc<Mutex<Option<String>>>,
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

/// The file beside the database holding the next id after the last
/// durable commit.
fn next_file(path: &Path) -> PathBuf {
    path.with_extension("next")
}

fn read_next_file(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(next_file(path)).ok()?;
    Some(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// Open the database file, creating its tables; the next id to hand out
/// (never one handed out before, whatever redb kept), logging and counting
/// accepted entries that are not on disk.
fn open_db(path: &Path, stats: &JournalStats) -> Result<(Database, u64), String> {
    let fell_back = Arc::new(AtomicBool::new(false));
    let mut builder = Database::builder();
    {
        let fell_back = fell_back.clone();
        // redb reports the repair of a damaged last commit at 0.3: it
        // falls back to the commit before (an unclean shutdown alone
        // reports 0.0, 0.6, 0.9).
        builder.set_repair_callback(move |session| {
            if (session.progress() - 0.3).abs() < 0.01 {
                fell_back.store(true, Ordering::Relaxed);
            }
        });
    }
    let db = builder.create(path).map_err(|e| {
        let hint = if matches!(e, redb::DatabaseError::DatabaseAlreadyOpen) {
            " (another hookhost process uses this state_dir: stop it first)"
        } else {
            ""
        };
        err(path, "cannot open", format!("{e}{hint}"))
    })?;
    let txn = db.begin_write().map_err(|e| err(path, "write", e))?;
    txn.open_table(RECORDS).map_err(|e| err(path, "table", e))?;
    txn.open_table(NOTICES).map_err(|e| err(path, "table", e))?;
    txn.open_table(META).map_err(|e| err(path, "table", e))?;
    txn.commit().map_err(|e| err(path, "commit", e))?;
    let moved = move_notices(&db).map_err(|e| err(path, "moving notices to their table", e))?;
    if moved > 0 {
        tracing::info!(moved, journal = %path.display(), "journal: notifier notices moved to their own table");
    }
    let (on_disk, depth) = {
        let read = db.begin_read().map_err(|e| err(path, "read", e))?;
        let mut last = None;
        let mut depth = 0;
        for table in [Table::Records, Table::Notices] {
            let table = read
                .open_table(definition(table))
                .map_err(|e| err(path, "table", e))?;
            let table_last = table
                .last()
                .map_err(|e| err(path, "read", e))?
                .map(|(key, _)| key.value());
            last = last.max(table_last);
            depth += table.len().map_err(|e| err(path, "read", e))?;
        }
        let meta = read.open_table(META).map_err(|e| err(path, "table", e))?;
        let recorded = meta
            .get("next")
            .map_err(|e| err(path, "read", e))?
            .map(|v| v.value());
        (
            last.map_or(1, |id| id + 1).max(recorded.unwrap_or(1)),
            depth,
        )
    };
    stats.depth.store(depth, Ordering::Relaxed);
    let acknowledged = read_next_file(path).unwrap_or(on_disk);
    let lost = acknowledged.saturating_sub(on_disk);
    if lost > 0 {
        stats.lost.fetch_add(lost, Ordering::Relaxed);
        tracing::error!(lost, journal = %path.display(), first_id = on_disk, "journal rolled back: up to {lost} accepted event(s) of the last commit are not on disk and will not run (redb fell back to an earlier commit after damage)");
    } else if fell_back.load(Ordering::Relaxed) {
        tracing::warn!(journal = %path.display(), "journal repaired: its last commit was damaged and redb fell back to the one before; no accepted event was in it");
    }
    Ok((db, on_disk.max(acknowledged)))
}

/// Journals written before notices had a table of their own kept them
/// among the records: move them (ids unchanged) and mark the journal as
/// split, in one transaction; how many. A marked journal is not scanned
/// again.
fn move_notices(db: &Database) -> Result<usize, redb::Error> {
    let found: Vec<(u64, Vec<u8>)> = {
        let read = db.begin_read()?;
        if read.open_table(META)?.get("tables")?.map(|v| v.value()) == Some(2) {
            return Ok(0);
        }
        let records = read.open_table(RECORDS)?;
        let mut found = Vec::new();
        for item in records.iter()? {
            let (key, value) = item?;
            if notice::is_notice(value.value()) {
                found.push((key.value(), value.value().to_vec()));
            }
        }
        found
    };
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    {
        let mut records = txn.open_table(RECORDS)?;
        let mut notices = txn.open_table(NOTICES)?;
        for (id, bytes) in &found {
            notices.insert(*id, bytes.as_slice())?;
            records.remove(*id)?;
        }
        txn.open_table(META)?.insert("tables", 2)?;
    }
    txn.commit()?;
    Ok(found.len())
}

impl Journal {
    /// Open (or create) the journal in `dir`.
    pub fn open(dir: &Path) -> Result<Arc<Self>, JournalError> {
        Self::open_in(dir).map_err(JournalError)
    }

    fn open_in(dir: &Path) -> Result<Arc<Self>, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("hookhost.state_dir {}: {e}", dir.display()))?;
        let path = dir.join("journal.redb");
        let stats = Arc::new(JournalStats::default());
        let (db, next) = open_db(&path, &stats)?;
        let db = Arc::new(RwLock::new(Some(db)));
        let failing = Arc::new(Mutex::new(None));
        let (sender, receiver) = mpsc::channel();
        let writer = {
            let writer = Writer {
                db: db.clone(),
                path: path.clone(),
                stats: stats.clone(),
                failing: failing.clone(),
                next,
                removals: Vec::new(),
                volatile: Vec::new(),
            };
            std::thread::Builder::new()
                .name("hookhost-journal".into())
                .spawn(move || writer.run(&receiver))
                .map_err(|e| err(&path, "cannot start its writer thread", e))?
        };
        Ok(Arc::new(Journal {
            path,
            db,
            writes: sender,
            writer: Some(writer),
            stats,
            failing,
        }))
    }

    /// Whether the journal can write now.
    pub fn health(&self) -> JournalHealth {
        match &*self.failing.lock().unwrap_or_else(|e| e.into_inner()) {
            None => JournalHealth::Writable,
            Some(error) => JournalHealth::Failing(error.clone()),
        }
    }

    /// Run `read` on the open database.
    fn with_db<T>(&self, read: impl FnOnce(&Database) -> Result<T, String>) -> Result<T, String> {
        let db = self.db.read().unwrap_or_else(|e| e.into_inner());
        match &*db {
            Some(db) => read(db),
            None => Err(err(
                &self.path,
                "read",
                "being re-opened after a failed write",
            )),
        }
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

    /// Write `entry` to `table` durably; its id once it is on disk.
    pub(crate) async fn append(&self, table: Table, entry: Vec<u8>) -> Result<u64, String> {
        self.append_now(table, entry).await
    }

    /// Send `entry` to the writer now; the returned future resolves to its
    /// id once it is on disk (for a caller that has other work meanwhile).
    pub(crate) fn append_now(
        &self,
        table: Table,
        entry: Vec<u8>,
    ) -> impl Future<Output = Result<u64, String>> + Send + 'static {
        let (done, answer) = oneshot::channel();
        let sent = self.send(Write::Append(table, entry, done));
        let gone = err(&self.path, "write", "the writer thread is gone");
        async move {
            sent?;
            answer.await.map_err(|_| gone)?
        }
    }

    /// Forget entry `id` of `table` (its work is done).
    pub(crate) fn remove(&self, table: Table, id: u64) {
        if let Err(error) = self.send(Write::Remove(table, id)) {
            tracing::warn!(%error, id, "cannot remove a journal entry; it will be replayed");
        }
    }

    /// Wait until every earlier write, removals included, is on disk.
    pub(crate) async fn flush(&self) {
        let (done, answer) = oneshot::channel();
        if self.send(Write::Flush(done)).is_ok() {
            let _ = answer.await;
        }
    }

    /// Remove every entry; how many there were. For an operator
    /// (`hookhost queue purge`), with no server using the journal.
    pub fn purge(&self) -> Result<usize, JournalError> {
        self.with_db(|db| self.purge_in(db)).map_err(JournalError)
    }

    fn purge_in(&self, db: &Database) -> Result<usize, String> {
        let txn = db.begin_write().map_err(|e| err(&self.path, "write", e))?;
        let mut removed = 0;
        for table in [Table::Records, Table::Notices] {
            let mut table = txn
                .open_table(definition(table))
                .map_err(|e| err(&self.path, "table", e))?;
            removed += table.len().map_err(|e| err(&self.path, "read", e))? as usize;
            table
                .retain(|_, _| false)
                .map_err(|e| err(&self.path, "write", e))?;
        }
        txn.commit().map_err(|e| err(&self.path, "commit", e))?;
        self.stats.depth.store(0, Ordering::Relaxed);
        Ok(removed)
    }

    /// Every entry on disk, hooks' records and notifiers' notices, oldest
    /// first (see [`super::describe`]).
    pub fn pending(&self) -> Result<Vec<(u64, Vec<u8>)>, JournalError> {
        let mut entries = self
            .with_db(|db| {
                // One snapshot of both tables.
                let read = db.begin_read().map_err(|e| err(&self.path, "read", e))?;
                let mut entries = self.pending_in(&read, Table::Records)?;
                entries.extend(self.pending_in(&read, Table::Notices)?);
                Ok(entries)
            })
            .map_err(JournalError)?;
        entries.sort_by_key(|(id, _)| *id);
        Ok(entries)
    }

    fn pending_in(
        &self,
        read: &ReadTransaction,
        table: Table,
    ) -> Result<Vec<(u64, Vec<u8>)>, String> {
        let table = read
            .open_table(definition(table))
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
        self.with_db(|db| {
            let read = db.begin_read().map_err(|e| err(&self.path, "read", e))?;
            let first_ms = |table: Table| {
                let table = read.open_table(definition(table)).ok()?;
                let (_, first) = table.first().ok()??;
                accepted_ms(first.value())
            };
            let oldest = [Table::Records, Table::Notices]
                .into_iter()
                .filter_map(first_ms)
                .min();
            Ok(oldest.map(crate::clock::age_since_ms))
        })
        .ok()
        .flatten()
    }

    /// Every readable entry of `table`, oldest first, decoded; an
    /// unreadable one is logged and kept (for an operator to look at).
    pub(crate) fn unfinished<T>(
        &self,
        table: Table,
        decode: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Vec<(u64, T)>, String> {
        Ok(self
            .with_db(|db| {
                let read = db.begin_read().map_err(|e| err(&self.path, "read", e))?;
                self.pending_in(&read, table)
            })?
            .into_iter()
            .filter_map(|(id, bytes)| match decode(&bytes) {
                Ok(decoded) => Some((id, decoded)),
                Err(error) => {
                    tracing::error!(id, %error, journal = %self.path.display(), "cannot read a journal entry; it is kept");
                    None
                }
            })
            .collect())
    }
}

/// The writer thread's state.
struct Writer {
    db: Arc<RwLock<Option<Database>>>,
    path: PathBuf,
    stats: Arc<JournalStats>,
    failing: Arc<Mutex<Option<String>>>,
    next: u64,
    /// Removals not yet written (their batch failed): written with the
    /// next batch that can be, so their events do not run again.
    removals: Vec<(Table, u64)>,
    /// Removals committed without `fsync` since the last durable commit:
    /// redb forgets them when it is re-opened after a failure, so they are
    /// written again then.
    volatile: Vec<(Table, u64)>,
}

impl Writer {
    fn is_failing(&self) -> bool {
        self.failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn set_failing(&self, error: Option<String>) {
        *self.failing.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }

    /// Group commit: take every write waiting, apply them in one
    /// transaction, commit once (durably when the batch appends), answer
    /// the appenders. While failing, wake every [`PROBE_EVERY`] to re-open.
    fn run(mut self, writes: &mpsc::Receiver<Write>) {
        loop {
            let first = if self.is_failing() {
                match writes.recv_timeout(PROBE_EVERY) {
                    Ok(write) => Some(write),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match writes.recv() {
                    Ok(write) => Some(write),
                    Err(_) => break,
                }
            };
            if self.is_failing() {
                self.reopen();
            }
            let Some(first) = first else { continue };
            let mut batch: Vec<Write> = self
                .removals
                .drain(..)
                .map(|(table, id)| Write::Remove(table, id))
                .collect();
            batch.push(first);
            while batch.len() < BATCH {
                match writes.try_recv() {
                    Ok(write) => batch.push(write),
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
        // Closing: removals that could not be written stay replays.
    }

    /// Re-open the database after a failed write and probe it with a
    /// durable write; writable again when that succeeds.
    fn reopen(&mut self) {
        let mut slot = self.db.write().unwrap_or_else(|e| e.into_inner());
        // redb refuses every write after an I/O error until re-opened, and
        // the re-opened database is its last durable commit.
        *slot = None;
        self.removals.append(&mut self.volatile);
        let opened = open_db(&self.path, &self.stats).and_then(|(db, next)| {
            self.next = self.next.max(next);
            let probe = (|| -> Result<(), redb::Error> {
                let mut txn = db.begin_write()?;
                txn.set_durability(Durability::Immediate)?;
                {
                    let mut meta = txn.open_table(META)?;
                    meta.insert("probe", crate::clock::now_ms().max(0) as u64)?;
                }
                txn.commit()?;
                Ok(())
            })();
            *slot = Some(db);
            probe.map_err(|e| err(&self.path, "write", e))
        });
        self.stats.reopens.fetch_add(1, Ordering::Relaxed);
        match opened {
            Ok(()) => {
                tracing::info!(journal = %self.path.display(), "journal writable again");
                self.set_failing(None);
            }
            Err(error) => self.set_failing(Some(error)),
        }
    }

    fn commit(&mut self, batch: Vec<Write>) {
        let appends = batch
            .iter()
            .filter(|w| matches!(w, Write::Append(..)))
            .count();
        let durable = appends > 0 || batch.iter().any(|w| matches!(w, Write::Flush(_)));
        let started = Instant::now();
        let first_id = self.next;
        let result = match self
            .failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            // Still failing after this round's probe: refuse at once.
            Some(error) => Err(error),
            None => {
                let db = self.db.read().unwrap_or_else(|e| e.into_inner());
                match &*db {
                    Some(db) => write_batch(db, &batch, first_id, durable)
                        .map_err(|e| err(&self.path, "write", e)),
                    None => Err(err(&self.path, "write", "not open")),
                }
            }
        };
        let stats = &self.stats;
        match result {
            Ok(removed) => {
                self.next += appends as u64;
                if durable {
                    self.volatile.clear();
                } else {
                    self.volatile.extend(batch.iter().filter_map(|w| match w {
                        Write::Remove(table, id) => Some((*table, *id)),
                        _ => None,
                    }));
                }
                if durable {
                    stats.commits.fetch_add(1, Ordering::Relaxed);
                    stats
                        .commit_nanos
                        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                if appends > 0 {
                    // Not synced: it only has to outlive the process, to
                    // tell a later open which ids were acknowledged.
                    let _ = std::fs::write(next_file(&self.path), self.next.to_le_bytes());
                }
                stats.appended.fetch_add(appends as u64, Ordering::Relaxed);
                stats.removed.fetch_add(removed as u64, Ordering::Relaxed);
                stats.depth.fetch_add(appends as u64, Ordering::Relaxed);
                stats.depth.fetch_sub(removed as u64, Ordering::Relaxed);
                let mut id = first_id;
                for write in batch {
                    match write {
                        Write::Append(_, _, done) => {
                            let _ = done.send(Ok(id));
                            id += 1;
                        }
                        Write::Flush(done) => {
                            let _ = done.send(());
                        }
                        Write::Remove(..) => {}
                    }
                }
            }
            Err(message) => {
                if !self.is_failing() {
                    tracing::error!(error = %message, "journal write failed; asynchronous events are refused until it can write again (re-opened and probed every second)");
                    self.set_failing(Some(message.clone()));
                }
                stats.failures.fetch_add(appends as u64, Ordering::Relaxed);
                for write in batch {
                    match write {
                        Write::Append(_, _, done) => {
                            let _ = done.send(Err(message.clone()));
                        }
                        Write::Remove(table, id) => self.removals.push((table, id)),
                        // A failed flush just returns: the entries stay.
                        Write::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            }
        }
    }
}

/// When an entry's work was accepted (a record) or received (a notice),
/// Unix ms, if the entry says.
fn accepted_ms(bytes: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Times {
        accepted_ms: Option<i64>,
        received_ms: Option<i64>,
    }
    let times: Times = serde_json::from_slice(bytes).ok()?;
    times.accepted_ms.or(times.received_ms)
}

/// One transaction for `batch`: appends from `first_id` on, removals; how
/// many entries it removed.
fn write_batch(
    db: &Database,
    batch: &[Write],
    first_id: u64,
    durable: bool,
) -> Result<usize, redb::Error> {
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
        let mut records = txn.open_table(RECORDS)?;
        let mut notices = txn.open_table(NOTICES)?;
        let mut id = first_id;
        for write in batch {
            match write {
                Write::Append(which, bytes, _) => {
                    let table = match which {
                        Table::Records => &mut records,
                        Table::Notices => &mut notices,
                    };
                    table.insert(id, bytes.as_slice())?;
                    id += 1;
                }
                Write::Remove(which, id) => {
                    let table = match which {
                        Table::Records => &mut records,
                        Table::Notices => &mut notices,
                    };
                    if table.remove(id)?.is_some() {
                        removed += 1;
                    }
                }
                Write::Flush(_) => {}
            }
        }
        if id > first_id {
            txn.open_table(META)?.insert("next", id)?;
        }
    }
    txn.commit()?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::record::encode_fs;
    use crate::event::{Contract, FsAction, FsEvent, Protocol};
    use crate::journal::notice::{Notice, encode_notice};

    #[tokio::test]
    async fn a_commit_rolled_back_is_logged_as_lost_and_its_ids_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let event = FsEvent::new(FsAction::Upload, "alice", "/a", Protocol::Sftp);
        let entry = |id: &str| encode_fs(&event, Contract::NEWEST, id);
        let path = dir.path().join("journal.redb");
        let before = {
            let journal = Journal::open(dir.path()).unwrap();
            assert_eq!(
                journal.append(Table::Records, entry("e1")).await.unwrap(),
                1
            );
            let before = std::fs::read(&path).unwrap();
            assert_eq!(
                journal.append(Table::Records, entry("e2")).await.unwrap(),
                2
            );
            before
        };
        // The file as it was before e2's commit (redb falling back to the
        // commit before a damaged one; a restored snapshot): e2 was
        // acknowledged and is gone.
        std::fs::write(&path, before).unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let left: Vec<u64> = journal
            .pending()
            .unwrap()
            .iter()
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(left, [1]);
        assert_eq!(
            journal.stats().lost.load(Ordering::Relaxed),
            1,
            "counted (and logged)"
        );
        assert_eq!(
            journal.append(Table::Records, entry("e3")).await.unwrap(),
            3,
            "the lost id is not handed out again"
        );
    }

    #[tokio::test]
    async fn the_oldest_entry_ages_until_it_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        assert_eq!(journal.oldest_age(), None);
        let event = FsEvent::new(FsAction::Upload, "alice", "/a", Protocol::Sftp);
        let first = journal
            .append(Table::Records, encode_fs(&event, Contract::NEWEST, "e1"))
            .await
            .unwrap();
        let second = journal
            .append(Table::Records, encode_fs(&event, Contract::NEWEST, "e2"))
            .await
            .unwrap();
        let age = journal.oldest_age().expect("an entry says when");
        assert!(age < std::time::Duration::from_secs(60), "{age:?}");
        journal.remove(Table::Records, first);
        journal.remove(Table::Records, second);
        journal.flush().await;
        assert_eq!(journal.oldest_age(), None);
        assert_eq!(journal.stats().depth.load(Ordering::Relaxed), 0);
    }

    type Records = Vec<(u64, crate::event::record::Decoded)>;
    type Notices = Vec<(u64, crate::journal::notice::Noticed)>;

    /// The unfinished records and notices, each table decoded as its kind.
    fn both_tables(journal: &Journal) -> (Records, Notices) {
        (
            journal
                .unfinished(Table::Records, crate::event::record::decode)
                .unwrap(),
            journal
                .unfinished(Table::Notices, crate::journal::notice::decode)
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn records_and_notices_live_in_two_tables_with_one_id_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let event = FsEvent::new(FsAction::Upload, "alice", "/a", Protocol::Sftp);
        let record = encode_fs(&event, Contract::NEWEST, "e1");
        let notice = encode_notice("audit", Notice::Fs(&event), 1);
        let r = journal.append(Table::Records, record).await.unwrap();
        let n = journal.append(Table::Notices, notice).await.unwrap();
        assert_eq!((r, n), (1, 2));
        let (records, notices) = both_tables(&journal);
        assert_eq!(records.len(), 1, "no reader of records sees a notice");
        assert_eq!(records[0].0, 1);
        assert_eq!(notices.len(), 1);
        assert_eq!((notices[0].0, notices[0].1.notifier.as_str()), (2, "audit"));
        // A removal names its table: the same id in the other one stays.
        journal.remove(Table::Notices, 1);
        journal.flush().await;
        assert_eq!(journal.pending().unwrap().len(), 2);
        journal.remove(Table::Notices, 2);
        journal.flush().await;
        assert_eq!(journal.pending().unwrap().len(), 1);
        assert_eq!(journal.stats().depth.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn notices_of_a_journal_from_before_the_split_move_to_their_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.redb");
        let event = FsEvent::new(FsAction::Upload, "alice", "/a", Protocol::Sftp);
        {
            // The one-table layout: notices among the records.
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut records = txn.open_table(RECORDS).unwrap();
                records
                    .insert(1, encode_fs(&event, Contract::NEWEST, "e1").as_slice())
                    .unwrap();
                records
                    .insert(2, encode_notice("audit", Notice::Fs(&event), 7).as_slice())
                    .unwrap();
                let mut meta = txn.open_table(META).unwrap();
                meta.insert("next", 3).unwrap();
            }
            txn.commit().unwrap();
        }
        let journal = Journal::open(dir.path()).unwrap();
        let (records, notices) = both_tables(&journal);
        assert_eq!(records.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [1]);
        assert_eq!(notices.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [2]);
        assert_eq!(notices[0].1.received_ms, 7);
        assert_eq!(journal.stats().depth.load(Ordering::Relaxed), 2);
        assert_eq!(
            journal
                .append(Table::Records, Vec::from(&b"{}"[..]))
                .await
                .unwrap(),
            3
        );
    }
}
