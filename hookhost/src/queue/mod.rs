//! A queue on NATS JetStream shared by several hookhost nodes.
//!
//! An accepted asynchronous event becomes one message per hook on
//! `hookhost.<stream>.events` (header `Hookhost-Hook`: the hook's name;
//! body: an event record, the format of the journal's hook table), and the event counts as accepted once
//! JetStream has acknowledged every one. Each node pulls from one durable
//! consumer shared by all nodes; a message is acknowledged when its hook has
//! finished, redelivered (with a doubling delay) when the hook failed, and
//! after the hook's `max_deliver` attempts (its own `queue.max_deliver`, else
//! the queue's) published to `hookhost.<stream>.dead` and
//! terminated. A node that dies holding messages lets JetStream give them to
//! another node after `ack_wait_ms`. Delivery is at least once.

#[cfg(feature = "nats")]
mod nats;
#[cfg(not(feature = "nats"))]
mod off;

#[cfg(feature = "nats")]
pub(crate) use nats::Delivery;
pub use nats_or_off::NatsQueue;
#[cfg(not(feature = "nats"))]
pub(crate) use off::Delivery;

#[cfg(feature = "nats")]
use nats as nats_or_off;
#[cfg(not(feature = "nats"))]
use off as nats_or_off;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::DescriptorEncoder;

use crate::prom::{Encoded, age, gauge, plain_counters};

/// The header naming the hook a message is for.
#[cfg(feature = "nats")]
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
    /// Messages not yet done, all nodes (JetStream's count of messages not
    /// yet delivered plus delivered but not acknowledged), last sampled.
    pub unfinished: AtomicU64,
    /// When the oldest unfinished message was published (Unix ms; 0: none),
    /// last sampled.
    pub oldest_ms: AtomicI64,
    /// Whether a sample has been taken since the queue was connected.
    pub sampled: AtomicBool,
}

impl QueueStats {
    /// Write the queue's metrics: these counters, whether the connection
    /// is up, and the depth and oldest age last sampled.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>, connected: bool) -> Encoded {
        plain_counters(
            encoder,
            [
                (
                    "queue_published",
                    "Messages published to the shared queue (one per hook of an accepted event)",
                    &self.published,
                ),
                (
                    "queue_acked",
                    "Queue messages whose hook finished on this node",
                    &self.acked,
                ),
                (
                    "queue_redelivered",
                    "Queue messages handed back for redelivery after a failed hook",
                    &self.redelivered,
                ),
                (
                    "queue_dead_letters",
                    "Queue messages sent to the dead-letter subject after their last attempt",
                    &self.dead,
                ),
            ],
        )?;
        gauge(
            encoder,
            "queue_connected",
            "Whether the connection to the NATS server is up (1) or not (0)",
            i64::from(connected),
        )?;
        if self.sampled.load(Ordering::Relaxed) {
            gauge(
                encoder,
                "queue_depth",
                "Queue messages not yet done on all nodes (JetStream's count, sampled every 2 s)",
                self.unfinished.load(Ordering::Relaxed) as i64,
            )?;
        }
        age(
            encoder,
            "queue_oldest_age_seconds",
            "Age of the oldest queue message not yet done (0: none)",
            self.oldest_age(),
        )
    }

    /// Age of the oldest unfinished message, last sampled.
    pub fn oldest_age(&self) -> Option<Duration> {
        match self.oldest_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(crate::clock::age_since_ms(ms)),
        }
    }
}
