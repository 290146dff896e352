//! A queue on NATS JetStream shared by several hookhost nodes.
//!
//! An accepted asynchronous event becomes one message per hook on
//! `hookhost.<stream>.events` (header `Hookhost-Hook`: the hook's name;
//! body: the journal's entry format), and the event counts as accepted once
//! JetStream has acknowledged every one. Each node pulls from one durable
//! consumer shared by all nodes; a message is acknowledged when its hook has
//! finished, redelivered (with a doubling delay) when the hook failed, and
//! after `max_deliver` attempts published to `hookhost.<stream>.dead` and
//! terminated. A node that dies holding messages lets JetStream give them to
//! another node after `ack_wait_ms`. Delivery is at least once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use futures::StreamExt;

use crate::config::{NatsSettings, QueueSettings};

/// The header naming the hook a message is for.
pub(crate) const HOOK_HEADER: &str = "Hookhost-Hook";

/// Queue counters, read at scrape time.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Messages published (one per hook of each accepted event).
    pub published: AtomicU64,
    /// Messages whose hook finished (acknowledged).
    pub acked: AtomicU64,
    /// Messages handed back for redelivery after a failed hook.
    pub redelivered: AtomicU64,
    /// Messages sent to the dead-letter subject.
    pub dead: AtomicU64,
}

/// A connected queue.
pub struct NatsQueue {
    settings: NatsSettings,
    prefix: String,
    js: jetstream::Context,
    consumer: PullConsumer,
    stats: QueueStats,
}

/// One message pulled from the queue.
pub(crate) struct Delivery {
    message: jetstream::Message,
}

impl Delivery {
    /// The hook it is for.
    pub(crate) fn hook(&self) -> Option<&str> {
        self.message
            .headers
            .as_ref()?
            .get(HOOK_HEADER)
            .map(|v| v.as_str())
    }

    /// The entry (the journal's format).
    pub(crate) fn entry(&self) -> &[u8] {
        &self.message.payload
    }
}

impl NatsQueue {
    /// Connect, and create the stream and the consumer when missing.
    pub async fn connect(settings: &QueueSettings) -> Result<Arc<Self>, String> {
        let QueueSettings::Nats(nats) = settings;
        let prefix = settings.subject_prefix();
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            format!("hookhost.queue ({}): {what}: {e}", nats.url)
        };
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(&nats.url)
            .await
            .map_err(|e| fail("cannot connect", &e))?;
        let js = jetstream::new(client);
        let stream = js
            .get_or_create_stream(jetstream::stream::Config {
                name: nats.stream.clone(),
                subjects: vec![format!("{prefix}.>")],
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| fail("cannot create the stream", &e))?;
        let consumer = stream
            .get_or_create_consumer(
                &nats.consumer,
                jetstream::consumer::pull::Config {
                    durable_name: Some(nats.consumer.clone()),
                    filter_subject: format!("{prefix}.events"),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_millis(nats.ack_wait_ms),
                    max_deliver: nats.max_deliver,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| fail("cannot create the consumer", &e))?;
        Ok(Arc::new(NatsQueue {
            settings: nats.clone(),
            prefix,
            js,
            consumer,
            stats: QueueStats::default(),
        }))
    }

    /// Counters.
    pub fn stats(&self) -> &QueueStats {
        &self.stats
    }

    /// Publish `entry` once per hook in `hooks`; done when JetStream has
    /// stored every message.
    pub(crate) async fn publish(&self, hooks: &[&str], entry: &[u8]) -> Result<(), String> {
        let subject = format!("{}.events", self.prefix);
        let payload = bytes::Bytes::copy_from_slice(entry);
        let mut acks = Vec::with_capacity(hooks.len());
        for hook in hooks {
            let mut headers = HeaderMap::new();
            headers.insert(HOOK_HEADER, *hook);
            let ack = self
                .js
                .publish_with_headers(subject.clone(), headers, payload.clone())
                .await
                .map_err(|e| format!("cannot publish to JetStream: {e}"))?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await
                .map_err(|e| format!("JetStream did not store the event: {e}"))?;
        }
        self.stats
            .published
            .fetch_add(hooks.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Up to `n` messages, waiting at most `wait` for the first.
    pub(crate) async fn fetch(&self, n: usize, wait: Duration) -> Result<Vec<Delivery>, String> {
        let mut messages = self
            .consumer
            .fetch()
            .max_messages(n)
            .expires(wait)
            .messages()
            .await
            .map_err(|e| format!("cannot pull from JetStream: {e}"))?;
        let mut batch = Vec::new();
        while let Some(message) = messages.next().await {
            match message {
                Ok(message) => batch.push(Delivery { message }),
                Err(e) => return Err(format!("cannot pull from JetStream: {e}")),
            }
        }
        Ok(batch)
    }

    /// The hook finished (or gave up for good): acknowledge.
    pub(crate) async fn done(&self, delivery: Delivery) {
        if let Err(e) = delivery.message.double_ack().await {
            tracing::warn!(error = %e, "cannot acknowledge a queue message; it will be redelivered");
        }
        self.stats.acked.fetch_add(1, Ordering::Relaxed);
    }

    /// The hook failed with `reason`: redeliver later, or after the last
    /// attempt publish it to the dead-letter subject and stop.
    pub(crate) async fn failed(&self, delivery: Delivery, reason: &str) {
        let attempts = delivery
            .message
            .info()
            .map(|info| info.delivered)
            .unwrap_or(1);
        if attempts < self.settings.max_deliver {
            let backoff = self
                .settings
                .backoff_ms
                .saturating_mul(1 << (attempts - 1).clamp(0, 16));
            let kind = AckKind::Nak(Some(Duration::from_millis(backoff)));
            if let Err(e) = delivery.message.ack_with(kind).await {
                tracing::warn!(error = %e, "cannot hand a queue message back");
            }
            self.stats.redelivered.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut headers = delivery.message.headers.clone().unwrap_or_default();
        headers.insert("Hookhost-Reason", reason);
        let dead = self
            .js
            .publish_with_headers(
                format!("{}.dead", self.prefix),
                headers,
                delivery.message.payload.clone(),
            )
            .await;
        let stored = match dead {
            Ok(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = stored {
            // Not acknowledged: JetStream keeps it and tries again.
            tracing::error!(error = %e, "cannot dead-letter a queue message");
            return;
        }
        tracing::warn!(
            hook = delivery.hook().unwrap_or("?"),
            attempts,
            reason,
            "hook gave up after its last attempt; event sent to the dead-letter subject"
        );
        if let Err(e) = delivery.message.ack_with(AckKind::Term).await {
            tracing::warn!(error = %e, "cannot terminate a dead-lettered message");
        }
        self.stats.dead.fetch_add(1, Ordering::Relaxed);
    }
}
