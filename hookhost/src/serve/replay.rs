//! SFTPGo's retried attempts, recognised, so a hook never runs twice for
//! one event.
//!
//! SFTPGo calls its fs, provider and data-retention hooks through a
//! retrying client: an attempt that times out or loses its connection is
//! sent again, up to `http.retry_max` times. `serve` answers within the
//! attempt's time ([`crate::Dispatch::answer_within`]) and never with a
//! status that client retries (429, 5xx), so a retry only follows a
//! transport failure — and then hookhost may already have run the hooks.
//!
//! A retry resends the very same bytes, and today's SFTPGo stamps each
//! event with its time in nanoseconds (the fs body's `timestamp`, the
//! provider query's `timestamp`, the retention report's `start_time`), so
//! two events never share a request while an event and its retries always
//! do. A request that carries such a stamp is run once, in a task of its
//! own (a dropped connection does not stop it): a repeat that comes while
//! it runs waits for its answer, one that comes after gets the same answer,
//! for as long as SFTPGo could still be retrying (every attempt's timeout
//! plus every wait, from the `http` section). A request without a stamp
//! (SFTPGo 2.1's bodies) cannot be told from a new event and is run.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::config::HttpClientConfig;

/// An answer kept for repeats.
#[derive(Clone, Debug)]
pub(super) struct Answer {
    status: StatusCode,
    json: bool,
    body: Bytes,
}

impl Answer {
    /// Take a response apart (its body read whole: answers are small).
    pub(super) async fn of(response: Response) -> Answer {
        let status = response.status();
        let json = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        Answer { status, json, body }
    }

    fn response(self) -> Response {
        if self.json {
            (self.status, [(CONTENT_TYPE, "application/json")], self.body).into_response()
        } else {
            (self.status, self.body).into_response()
        }
    }
}

struct Entry {
    since: Instant,
    answer: watch::Receiver<Option<Answer>>,
}

/// Requests answered (or being answered) recently, by digest.
pub(super) struct Replays {
    remembered: Mutex<Remembered>,
    /// Requests remembered at most: past it, new ones are run unremembered.
    capacity: usize,
}

impl Default for Replays {
    fn default() -> Self {
        Replays::with_capacity(MAX_ENTRIES)
    }
}

/// The entries and the order they came in, oldest first: expired ones
/// leave from the front, a constant cost per request. (Scanning the whole
/// table for expired entries, as before, cost every request a pass over
/// 65,536 entries once SFTPGo had sent that many within its retry window:
/// from ~700 events/s sustained with SFTPGo's default 94 s.)
#[derive(Default)]
struct Remembered {
    entries: HashMap<[u8; 32], Entry>,
    order: VecDeque<(Instant, [u8; 32])>,
}

impl Remembered {
    /// Forget the requests older than `window`.
    fn expire(&mut self, window: Duration) {
        while let Some(&(since, key)) = self.order.front() {
            if since.elapsed() < window {
                break;
            }
            self.order.pop_front();
            // A key remembered again since then has a newer entry: kept.
            if self.entries.get(&key).is_some_and(|e| e.since == since) {
                self.entries.remove(&key);
            }
        }
    }
}

/// Requests remembered at most by default.
const MAX_ENTRIES: usize = 65_536;

/// How long SFTPGo may go on retrying one request: every attempt's timeout
/// and every wait between them (go-retryablehttp's backoff).
pub(super) fn retry_window(http: &HttpClientConfig) -> Duration {
    let attempts = http.timeout().saturating_mul(http.retry_max + 1);
    let waits: Duration = (0..http.retry_max)
        .map(|i| {
            Duration::from_secs(http.retry_wait_min)
                .saturating_mul(2u32.saturating_pow(i))
                .min(Duration::from_secs(http.retry_wait_max))
        })
        .sum();
    attempts + waits
}

/// The digest of a request on `route`, when its bytes name one event
/// (`stamped`: it carries today's SFTPGo's timestamp).
pub(super) fn key(route: &str, query: &str, body: &[u8], stamped: bool) -> Option<[u8; 32]> {
    if !stamped {
        return None;
    }
    let mut sha = Sha256::new();
    for part in [route.as_bytes(), query.as_bytes(), body] {
        sha.update((part.len() as u64).to_le_bytes());
        sha.update(part);
    }
    Some(sha.finalize().into())
}

impl Replays {
    /// At most `capacity` requests remembered at once.
    pub(super) fn with_capacity(capacity: usize) -> Replays {
        Replays {
            remembered: Mutex::default(),
            capacity,
        }
    }

    /// Answer the request `key` names by running `work` once: a repeat
    /// within `window` gets the first run's answer (waiting for it).
    pub(super) async fn once(
        &self,
        key: Option<[u8; 32]>,
        window: Duration,
        work: impl Future<Output = Response> + Send + 'static,
    ) -> Response {
        let Some(key) = key else {
            return work.await;
        };
        let (sender, running) = {
            let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
            remembered.expire(window);
            let running = remembered
                .entries
                .get(&key)
                .filter(|entry| entry.since.elapsed() < window)
                .map(|entry| entry.answer.clone());
            if running.is_some() {
                (None, running)
            } else if remembered.entries.len() >= self.capacity {
                (None, None)
            } else {
                let (sender, receiver) = watch::channel(None);
                let since = Instant::now();
                remembered.entries.insert(
                    key,
                    Entry {
                        since,
                        answer: receiver,
                    },
                );
                remembered.order.push_back((since, key));
                (Some(sender), None)
            }
        };
        if let Some(mut answer) = running {
            tracing::info!(
                "a repeated request (SFTPGo retrying it): answered as the first, its hooks not run again"
            );
            let first = answer.wait_for(Option::is_some).await.map(|a| a.clone());
            return match first {
                Ok(answer) => answer.expect("waited for it").response(),
                // The first run's task ended without an answer (it
                // panicked): run this one.
                Err(_) => work.await,
            };
        }
        let Some(sender) = sender else {
            return work.await;
        };
        // A task of its own: the client going away does not stop the
        // hooks half-way, and its retry gets their answer.
        let run = tokio::spawn(async move {
            let answer = Answer::of(work.await).await;
            let _ = sender.send(Some(answer.clone()));
            answer
        });
        match run.await {
            Ok(answer) => answer.response(),
            Err(_) => crate::serve::respond::error(
                StatusCode::FAILED_DEPENDENCY,
                "the request's handling failed",
            ),
        }
    }

    /// Requests remembered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.remembered.lock().unwrap().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn sftpgos_default_client_retries_for_94_seconds() {
        assert_eq!(
            retry_window(&HttpClientConfig::default()),
            Duration::from_secs(4 * 20 + 2 + 4 + 8)
        );
    }

    #[tokio::test]
    async fn a_repeat_gets_the_first_answer_and_runs_nothing() {
        let replays = Replays::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let work = |runs: Arc<AtomicUsize>| async move {
            let n = runs.fetch_add(1, Ordering::SeqCst);
            (StatusCode::OK, format!("run {n}")).into_response()
        };
        let key = key("fs", "", b"{\"timestamp\":1}", true);
        let window = Duration::from_secs(60);
        let first = replays.once(key, window, work(runs.clone())).await;
        let again = replays.once(key, window, work(runs.clone())).await;
        let body = |r: Response| async { Answer::of(r).await.body };
        assert_eq!(body(first).await, body(again).await);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Another event, or one without a stamp: run.
        let other = self::key("fs", "", b"{\"timestamp\":2}", true);
        replays.once(other, window, work(runs.clone())).await;
        replays.once(None, window, work(runs.clone())).await;
        replays.once(None, window, work(runs.clone())).await;
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        assert_eq!(replays.len(), 2);
        // Past the window a request is new again.
        replays.once(key, Duration::ZERO, work(runs.clone())).await;
        assert_eq!(runs.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn a_full_table_runs_new_requests_unremembered_until_old_ones_expire() {
        let replays = Replays::with_capacity(2);
        let runs = Arc::new(AtomicUsize::new(0));
        let work = |runs: Arc<AtomicUsize>| async move {
            runs.fetch_add(1, Ordering::SeqCst);
            (StatusCode::OK, "").into_response()
        };
        let window = Duration::from_secs(60);
        let [a, b, c] = [b"a", b"b", b"c"].map(|body| key("fs", "", body, true));
        for k in [a, b, c, c] {
            replays.once(k, window, work(runs.clone())).await;
        }
        // a and b remembered; c found the table full, twice: run twice.
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        assert_eq!(replays.len(), 2);
        replays.once(a, window, work(runs.clone())).await;
        assert_eq!(runs.load(Ordering::SeqCst), 4, "a is a repeat");
        // A request whose window has passed for everything: a and b leave
        // from the front of the order, c is remembered.
        replays.once(c, Duration::ZERO, work(runs.clone())).await;
        assert_eq!(runs.load(Ordering::SeqCst), 5);
        assert_eq!(replays.len(), 1);
        replays.once(c, window, work(runs.clone())).await;
        assert_eq!(runs.load(Ordering::SeqCst), 5, "c is remembered now");
        assert_eq!(replays.remembered.lock().unwrap().order.len(), 1);
    }

    #[tokio::test]
    async fn a_repeat_while_the_first_runs_waits_for_it() {
        let replays = Arc::new(Replays::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let key = key("fs", "", b"x", true);
        let window = Duration::from_secs(60);
        let first = {
            let (replays, runs) = (replays.clone(), runs.clone());
            tokio::spawn(async move {
                replays
                    .once(key, window, async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        let _ = released.await;
                        (StatusCode::FORBIDDEN, "denied").into_response()
                    })
                    .await
            })
        };
        // The first is registered once its entry exists.
        while replays.len() == 0 {
            tokio::task::yield_now().await;
        }
        let runs2 = runs.clone();
        let second = tokio::spawn({
            let replays = replays.clone();
            async move {
                replays
                    .once(key, window, async move {
                        runs2.fetch_add(1, Ordering::SeqCst);
                        (StatusCode::OK, "").into_response()
                    })
                    .await
            }
        });
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(second.await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
