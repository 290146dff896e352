//! The connections `serve` holds: at most `--max-connections` in all, and
//! at most `--max-connections-per-ip` silent ones (no request in their
//! first second) from one address; when all are taken, a new
//! connection makes room by evicting one that never carried a request
//! (silent, or still sending its first headers) of the address holding the
//! most, oldest first. A client's keep-alive connection is never evicted
//! (its next request could race the close); the header timeout ends those
//! when idle. A flood of silent or idle
//! connections therefore takes at most its address's share, and `/healthz`
//! and `/metrics` keep answering the other addresses (SFTPGo, a probe).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::metrics::ConnMetrics;
use tokio::time::Instant;

/// How long a new connection may stay silent before it can be evicted: a
/// real client sends its request at once.
const EVICT_GRACE: Duration = Duration::from_secs(1);

/// The default number of connections one address may hold.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 256;

/// One served connection, as the registry sees it.
pub(super) struct Conn {
    /// A request is being handled (not evictable).
    pub(super) busy: AtomicBool,
    /// A request came on it: a client's keep-alive connection, which it
    /// may reuse at any moment (never evicted: closing it would race the
    /// client's next request).
    pub(super) served: AtomicBool,
    /// Told to close (evicted).
    pub(super) evict: Notify,
}

struct Entry {
    peer: IpAddr,
    opened: Instant,
    conn: Arc<Conn>,
}

impl Entry {
    /// Opened before `since` and never carried a request.
    fn silent(&self, since: Option<Instant>) -> bool {
        !self.conn.busy.load(Ordering::Acquire)
            && !self.conn.served.load(Ordering::Acquire)
            && since.is_some_and(|since| self.opened <= since)
    }
}

/// The connections of one server.
pub(super) struct Conns {
    slots: Arc<Semaphore>,
    per_ip: usize,
    open: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
    pub(super) stats: ConnMetrics,
    grace: Duration,
}

/// A connection's place; dropped when it closes.
pub(super) struct Place {
    conns: Arc<Conns>,
    id: u64,
    _slot: OwnedSemaphorePermit,
    pub(super) conn: Arc<Conn>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.conns.lock().remove(&self.id);
    }
}

impl Conns {
    pub(super) fn new(max: usize, per_ip: usize, stats: ConnMetrics) -> Arc<Self> {
        Self::with_grace(max, per_ip, stats, EVICT_GRACE)
    }

    fn with_grace(max: usize, per_ip: usize, stats: ConnMetrics, grace: Duration) -> Arc<Self> {
        Arc::new(Conns {
            grace,
            slots: Arc::new(Semaphore::new(max.max(1))),
            per_ip: per_ip.max(1),
            open: Mutex::default(),
            next: AtomicU64::new(0),
            stats,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a new connection from `peer`: `None` when its address
    /// holds its share already. When all are taken it waits for one (as in
    /// the listen backlog), making room by evicting a silent connection
    /// every `retry` while there is one.
    pub(super) async fn admit(self: &Arc<Self>, peer: IpAddr, retry: Duration) -> Option<Place> {
        // Only silent connections count toward an address's share: a
        // client's keep-alive connections (and a burst of new ones still
        // sending their first request) are never refused or reset.
        let held = {
            let silent_since = Instant::now().checked_sub(self.grace);
            self.lock()
                .values()
                .filter(|e| e.peer == peer && e.silent(silent_since))
                .count()
        };
        if held >= self.per_ip {
            self.stats.refused_per_ip.inc();
            tracing::debug!(%peer, held, "connection refused: its address holds its share");
            return None;
        }
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => loop {
                self.evict_one();
                if let Ok(slot) =
                    tokio::time::timeout(retry, self.slots.clone().acquire_owned()).await
                {
                    break slot.expect("never closed");
                }
            },
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            busy: AtomicBool::new(false),
            served: AtomicBool::new(false),
            evict: Notify::new(),
        });
        self.lock().insert(
            id,
            Entry {
                peer,
                opened: Instant::now(),
                conn: conn.clone(),
            },
        );
        Some(Place {
            conns: self.clone(),
            id,
            _slot: slot,
            conn,
        })
    }

    /// Tell the oldest idle connection of the address holding the most to
    /// close.
    fn evict_one(&self) {
        let open = self.lock();
        let mut per_peer: HashMap<IpAddr, usize> = HashMap::new();
        for entry in open.values() {
            *per_peer.entry(entry.peer).or_default() += 1;
        }
        // Silent past the grace: a real client sends its request at once.
        let silent_since = Instant::now().checked_sub(self.grace);
        let victim = open
            .values()
            .filter(|e| e.silent(silent_since))
            .max_by_key(|e| (per_peer[&e.peer], std::cmp::Reverse(e.opened)));
        if let Some(victim) = victim {
            self.stats.evicted.inc();
            victim.conn.evict.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_server_evicts_an_idle_connection_of_the_busiest_address() {
        // No grace: every connection here is as old as it needs to be.
        let conns = Conns::with_grace(3, 2, ConnMetrics::default(), Duration::ZERO);
        let (flooder, other) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let wait = Duration::from_secs(5);
        let first = conns.admit(flooder, wait).await.unwrap();
        let second = conns.admit(flooder, wait).await.unwrap();
        assert!(conns.admit(flooder, wait).await.is_none(), "its share");
        let busy = conns.admit(other, wait).await.unwrap();
        busy.conn.busy.store(true, Ordering::Release);
        // A keep-alive connection that carried a request is not a victim.
        second.conn.served.store(true, Ordering::Release);
        // Full: a newcomer makes the flooder's oldest idle connection go.
        let evicted = {
            let conn = first.conn.clone();
            tokio::spawn(async move {
                conn.evict.notified().await;
                drop(first);
            })
        };
        let newcomer = tokio::spawn({
            let conns = conns.clone();
            async move { conns.admit(other, wait).await.is_some() }
        });
        evicted.await.unwrap();
        assert!(newcomer.await.unwrap());
        assert_eq!(conns.stats.evicted.get(), 1);
        assert_eq!(conns.stats.refused_per_ip.get(), 1);
        drop((second, busy));
    }

    #[tokio::test]
    async fn a_clients_keep_alive_connections_do_not_count_toward_its_share() {
        let conns = Conns::with_grace(8, 2, ConnMetrics::default(), Duration::ZERO);
        let client = "10.0.0.1".parse().unwrap();
        let wait = Duration::from_secs(5);
        let mut held = Vec::new();
        for _ in 0..5 {
            let place = conns
                .admit(client, wait)
                .await
                .expect("a client's connection");
            place.conn.served.store(true, Ordering::Release);
            held.push(place);
        }
        // Silent ones still do.
        held.push(conns.admit(client, wait).await.unwrap());
        held.push(conns.admit(client, wait).await.unwrap());
        assert!(conns.admit(client, wait).await.is_none());
        assert_eq!(conns.stats.refused_per_ip.get(), 1);
    }
}
