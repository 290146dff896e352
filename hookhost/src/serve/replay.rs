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

use std::collections::HashMap;
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
#[derive(Default)]
pub(super) struct Replays {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

/// Requests remembered at most: past it, new ones are run unremembered.
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
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let running = entries
                .get(&key)
                .filter(|entry| entry.since.elapsed() < window)
                .map(|entry| entry.answer.clone());
            if running.is_some() {
                (None, running)
            } else {
                if entries.len() >= MAX_ENTRIES {
                    entries.retain(|_, entry| entry.since.elapsed() < window);
                }
                if entries.len() >= MAX_ENTRIES {
                    (None, None)
                } else {
                    let (sender, receiver) = watch::channel(None);
                    entries.insert(
                        key,
                        Entry {
                            since: Instant::now(),
                            answer: receiver,
                        },
                    );
                    (Some(sender), None)
                }
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
        self.entries.lock().unwrap().len()
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
