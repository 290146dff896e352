//! `hookhost.queue`: where accepted asynchronous work waits when several
//! hookhost nodes share it (NATS JetStream).

use serde::Deserialize;

use super::ConfigError;

/// How the shared queue retries one hook: `"queue": {"max_deliver": N,
/// "backoff_ms": M}` on a hook entry, each falling back to
/// `hookhost.queue`'s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookRetry {
    /// Deliveries of this hook's event before it is dead-lettered.
    pub max_deliver: Option<i64>,
    /// First redelivery delay after this hook failed, doubled each time.
    pub backoff_ms: Option<u64>,
}

/// Most deliveries of one event to one hook.
const MAX_DELIVER: i64 = 1000;
/// Longest first backoff: a day.
const MAX_BACKOFF_MS: u64 = 86_400_000;

/// Check `max_deliver` and `backoff_ms` set at `field` (`….queue`).
pub(super) fn validate_retry(
    field: &str,
    max_deliver: Option<i64>,
    backoff_ms: Option<u64>,
) -> Result<(), ConfigError> {
    if let Some(n) = max_deliver
        && !(1..=MAX_DELIVER).contains(&n)
    {
        return Err(ConfigError::field(
            format!("{field}.max_deliver"),
            format!("{n}: must be between 1 and {MAX_DELIVER}"),
        ));
    }
    if let Some(ms) = backoff_ms
        && ms > MAX_BACKOFF_MS
    {
        return Err(ConfigError::field(
            format!("{field}.backoff_ms"),
            format!("{ms} is more than a day"),
        ));
    }
    Ok(())
}

/// A shared queue for accepted asynchronous work.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum QueueSettings {
    /// NATS JetStream: accepted work is published to a stream (its ack is
    /// what allows the answer) and consumed by a durable pull consumer
    /// shared by every node.
    Nats(NatsSettings),
}

/// `{"kind": "nats", ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsSettings {
    /// Server URL, `nats://host:4222` (or `tls://`).
    pub url: String,
    /// Stream name (created when missing; subjects `hookhost.<stream>.>`).
    pub stream: String,
    /// Durable pull consumer shared by all nodes.
    pub consumer: String,
    /// How long a node may hold a message before JetStream gives it to
    /// another node (a node that died mid-event), in milliseconds.
    pub ack_wait_ms: u64,
    /// Deliveries of one hook's event before it goes to the dead-letter
    /// subject `hookhost.<stream>.dead` (a hook's own `queue.max_deliver`
    /// overrides it).
    pub max_deliver: i64,
    /// Delay before redelivering a failed hook's event, doubled at each
    /// attempt, in milliseconds.
    pub backoff_ms: u64,
}

impl Default for NatsSettings {
    fn default() -> Self {
        NatsSettings {
            url: String::new(),
            stream: "HOOKHOST".into(),
            consumer: "hookhost".into(),
            ack_wait_ms: 30_000,
            max_deliver: 5,
            backoff_ms: 1_000,
        }
    }
}

impl QueueSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let QueueSettings::Nats(nats) = self;
        let field = |name: &str| format!("hookhost.queue.{name}");
        if !(nats.url.starts_with("nats://") || nats.url.starts_with("tls://")) {
            return Err(ConfigError::field(
                field("url"),
                format!(
                    "{:?}: expected nats://host:port or tls://host:port",
                    nats.url
                ),
            ));
        }
        for (name, value) in [("stream", &nats.stream), ("consumer", &nats.consumer)] {
            if value.is_empty()
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(ConfigError::field(
                    field(name),
                    format!("{value:?}: letters, digits, '_' and '-' only"),
                ));
            }
        }
        if nats.ack_wait_ms < 100 {
            return Err(ConfigError::field(field("ack_wait_ms"), "at least 100"));
        }
        validate_retry(
            "hookhost.queue",
            Some(nats.max_deliver),
            Some(nats.backoff_ms),
        )
    }

    /// The subject prefix of this queue's stream.
    pub fn subject_prefix(&self) -> String {
        let QueueSettings::Nats(nats) = self;
        format!("hookhost.{}", nats.stream)
    }
}
