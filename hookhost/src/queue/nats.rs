//! The queue on NATS JetStream (feature `nats`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use futures::StreamExt;

use super::{HOOK_HEADER, QueueStats};
use crate::config::{HookRetry, NatsSettings, QueueSettings};

/// A connected queue.
pub struct NatsQueue {
    settings: NatsSettings,
    prefix: String,
    client: async_nats::Client,
    js: jetstream::Context,
    stream: jetstream::stream::Stream,
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

    /// The event record (`crate::event::record`).
    pub(crate) fn record(&self) -> &[u8] {
        &self.message.payload
    }
}

impl NatsQueue {
    /// Connect, and create the stream and the consumer when missing.
    pub(crate) async fn connect(settings: &QueueSettings) -> Result<Arc<Self>, String> {
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
        let js = jetstream::new(client.clone());
        let stream = js
            .get_or_create_stream(jetstream::stream::Config {
                name: nats.stream.clone(),
                subjects: vec![format!("{prefix}.>")],
                storage: jetstream::stream::StorageType::File,
                // A message leaves the stream when its hook is done: the
                // stream holds unfinished work (and dead letters), not
                // every event ever accepted.
                retention: jetstream::stream::RetentionPolicy::WorkQueue,
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
                    // Unlimited here: each hook's limit is enforced by the
                    // node that receives its message (see `over_limit`).
                    max_deliver: -1,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| fail("cannot create the consumer", &e))?;
        Ok(Arc::new(NatsQueue {
            settings: nats.clone(),
            prefix,
            client,
            js,
            stream,
            consumer,
            stats: QueueStats::default(),
        }))
    }

    /// Counters.
    pub fn stats(&self) -> &QueueStats {
        &self.stats
    }

    /// Whether the connection to the NATS server is up now.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Ask JetStream how much work is unfinished and how old the oldest
    /// is, into [`QueueStats`].
    pub(crate) async fn sample(&self) -> Result<(), String> {
        let info = self
            .consumer
            .get_info()
            .await
            .map_err(|e| format!("cannot read the consumer's state: {e}"))?;
        let unfinished = info.num_pending + info.num_ack_pending as u64;
        let oldest = if unfinished == 0 {
            0
        } else {
            // The first message at or after the consumer's ack floor is
            // the oldest not acknowledged.
            match self
                .stream
                .get_first_raw_message_by_subject(
                    format!("{}.events", self.prefix),
                    info.ack_floor.stream_sequence + 1,
                )
                .await
            {
                Ok(message) => (message.time.unix_timestamp_nanos() / 1_000_000) as i64,
                Err(_) => 0,
            }
        };
        self.stats.unfinished.store(unfinished, Ordering::Relaxed);
        self.stats.oldest_ms.store(oldest, Ordering::Relaxed);
        self.stats.sampled.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Publish `record` once per hook in `hooks`; done when JetStream has
    /// stored every message.
    pub(crate) async fn publish(&self, hooks: &[&str], record: &[u8]) -> Result<(), String> {
        let subject = format!("{}.events", self.prefix);
        let payload = bytes::Bytes::copy_from_slice(record);
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

    /// How many times this message has been delivered (this one included).
    fn attempts(delivery: &Delivery) -> i64 {
        delivery
            .message
            .info()
            .map(|info| info.delivered)
            .unwrap_or(1)
    }

    /// The delivery limit of a hook retried per `retry`.
    fn limit(&self, retry: &HookRetry) -> i64 {
        retry.max_deliver.unwrap_or(self.settings.max_deliver)
    }

    /// A message delivered more often than its hook allows without being
    /// done (nodes died or timed out holding it): dead-letter it without
    /// running the hook again. The delivery back when it is within the
    /// limit.
    pub(crate) async fn over_limit(
        &self,
        delivery: Delivery,
        retry: &HookRetry,
    ) -> Option<Delivery> {
        let attempts = Self::attempts(&delivery);
        if attempts <= self.limit(retry) {
            return Some(delivery);
        }
        let reason = format!("delivered {attempts} times without finishing");
        self.dead_letter(delivery, &reason, attempts).await;
        None
    }

    /// The hook failed with `reason`: redeliver later (after the hook's
    /// backoff, doubled each attempt), or after its last attempt publish it
    /// to the dead-letter subject and stop.
    pub(crate) async fn failed(&self, delivery: Delivery, reason: &str, retry: &HookRetry) {
        let attempts = Self::attempts(&delivery);
        if attempts < self.limit(retry) {
            let backoff = retry
                .backoff_ms
                .unwrap_or(self.settings.backoff_ms)
                .saturating_mul(1 << (attempts - 1).clamp(0, 16));
            let kind = AckKind::Nak(Some(Duration::from_millis(backoff)));
            if let Err(e) = delivery.message.ack_with(kind).await {
                tracing::warn!(error = %e, "cannot hand a queue message back");
            }
            self.stats.redelivered.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.dead_letter(delivery, reason, attempts).await;
    }

    /// Publish to the dead-letter subject, then terminate the message.
    async fn dead_letter(&self, delivery: Delivery, reason: &str, attempts: i64) {
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
