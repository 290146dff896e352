//! What a host reports to `/metrics` at scrape time: plugins, notifiers,
//! compile cache, asynchronous work, clipped texts.

use std::sync::Weak;
use std::sync::atomic::Ordering;

use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, EncodeMetric,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::{Host, Inner};
use crate::metrics::{Snapshot, encode_counters, encode_gauges};

/// A host as the metrics see it: weakly, so that the metrics (which a
/// `ReloadableHost` keeps across generations) never keep a retired host
/// alive.
pub(super) struct WeakHost(pub(super) Weak<Inner>);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusedLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClippedLabels {
    what: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifierLabels {
    plugin: String,
}

/// Counters read from atomics, each its own metric family.
fn plain_counters<const N: usize>(
    encoder: &mut DescriptorEncoder<'_>,
    counters: [(&str, &str, &std::sync::atomic::AtomicU64); N],
) -> Result<(), std::fmt::Error> {
    for (name, help, value) in counters {
        let counter = ConstCounter::new(value.load(Ordering::Relaxed));
        counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
    }
    Ok(())
}

/// One gauge, its own metric family.
fn gauge<N: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: N,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

/// An age in seconds (0 when there is nothing to age).
fn age(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: Option<std::time::Duration>,
) -> Result<(), std::fmt::Error> {
    gauge(encoder, name, help, value.map_or(0.0, |d| d.as_secs_f64()))
}

impl Snapshot for WeakHost {
    fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        // A host that is gone has nothing more to report.
        let Some(inner) = self.0.upgrade() else {
            return Ok(());
        };
        let host = Host { inner };
        let info = host.plugins().info();
        let plugin = |p: &crate::plugin::PluginInfo| PluginLabels {
            plugin: p.name.clone(),
            kind: p.kind,
        };
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        encode_counters(
            encoder,
            "plugin_calls",
            "Plugin calls",
            info.iter().map(|p| (plugin(p), load(&p.stats.calls))),
        )?;
        encode_counters(
            encoder,
            "plugin_failures",
            "Plugin calls that trapped or hit a limit",
            info.iter().map(|p| (plugin(p), load(&p.stats.failures))),
        )?;
        encode_counters(
            encoder,
            "plugin_restarts",
            "Plugin instances rebuilt after a failure",
            info.iter().map(|p| (plugin(p), load(&p.stats.restarts))),
        )?;
        let notifiers: Vec<_> = info
            .iter()
            .filter_map(|p| {
                p.notifier.as_ref().map(|n| {
                    (
                        NotifierLabels {
                            plugin: p.name.clone(),
                        },
                        *n.borrow(),
                    )
                })
            })
            .collect();
        encode_counters(
            encoder,
            "notifier_delivered",
            "Events delivered to notifiers",
            notifiers.iter().map(|(l, s)| (l.clone(), s.delivered)),
        )?;
        encode_counters(
            encoder,
            "notifier_retries",
            "Re-sends of queued notifier events",
            notifiers.iter().map(|(l, s)| (l.clone(), s.retries)),
        )?;
        encode_counters(
            encoder,
            "notifier_dropped",
            "Notifier events dropped",
            notifiers.iter().map(|(l, s)| (l.clone(), s.dropped)),
        )?;
        encode_gauges(
            encoder,
            "notifier_queue_depth",
            "Notifier events waiting for a retry",
            notifiers.iter().map(|(l, s)| (l.clone(), s.queued as i64)),
        )?;
        let cache = host.cache_stats();
        let hits = ConstCounter::new(cache.hits);
        hits.encode(encoder.encode_descriptor(
            "compile_cache_hits",
            "Components loaded from the compile cache",
            None,
            hits.metric_type(),
        )?)?;
        let compiled = ConstCounter::new(cache.compiled);
        compiled.encode(encoder.encode_descriptor(
            "compile_cache_compiled",
            "Components compiled",
            None,
            compiled.metric_type(),
        )?)?;
        encode_counters(
            encoder,
            "clipped",
            "Texts from guests and clients clipped to their cap (process-wide)",
            crate::text::clipped().into_iter().map(|(what, n)| {
                (
                    ClippedLabels {
                        what: what.as_str(),
                    },
                    n,
                )
            }),
        )?;
        if let Some(remote) = &host.inner.router.remote {
            let stats = remote.queue.stats();
            plain_counters(
                encoder,
                [
                    (
                        "queue_published",
                        "Messages published to the shared queue (one per hook of an accepted event)",
                        &stats.published,
                    ),
                    (
                        "queue_acked",
                        "Queue messages whose hook finished on this node",
                        &stats.acked,
                    ),
                    (
                        "queue_redelivered",
                        "Queue messages handed back for redelivery after a failed hook",
                        &stats.redelivered,
                    ),
                    (
                        "queue_dead_letters",
                        "Queue messages sent to the dead-letter subject after their last attempt",
                        &stats.dead,
                    ),
                ],
            )?;
        }
        if let Some(health) = host.queue_health() {
            gauge(
                encoder,
                "queue_connected",
                "Whether the connection to the NATS server is up (1) or not (0)",
                i64::from(health.connected),
            )?;
            if let Some(unfinished) = health.unfinished {
                gauge(
                    encoder,
                    "queue_depth",
                    "Queue messages not yet done on all nodes (JetStream's count, sampled every 2 s)",
                    unfinished as i64,
                )?;
            }
            age(
                encoder,
                "queue_oldest_age_seconds",
                "Age of the oldest queue message not yet done (0: none)",
                health.oldest_age,
            )?;
        }
        if let Some(journal) = host.shared_journal() {
            let stats = journal.stats();
            plain_counters(
                encoder,
                [
                    (
                        "journal_appended",
                        "Accepted asynchronous events written to the journal",
                        &stats.appended,
                    ),
                    (
                        "journal_removed",
                        "Journal entries removed: every hook of their event done",
                        &stats.removed,
                    ),
                    (
                        "journal_replayed",
                        "Unfinished journal entries replayed at start",
                        &stats.replayed,
                    ),
                    (
                        "journal_commits",
                        "Durable journal commits (one fsync, shared by the events grouped into it)",
                        &stats.commits,
                    ),
                    (
                        "journal_failures",
                        "Events refused because the journal could not write them",
                        &stats.failures,
                    ),
                    (
                        "journal_reopens",
                        "Journal re-opens after a failed write (one per probe)",
                        &stats.reopens,
                    ),
                    (
                        "journal_lost",
                        "Accepted events found missing at open (redb fell back to an earlier commit)",
                        &stats.lost,
                    ),
                ],
            )?;
            let seconds =
                ConstCounter::new(stats.commit_nanos.load(Ordering::Relaxed) as f64 / 1e9);
            seconds.encode(encoder.encode_descriptor(
                "journal_commit_seconds",
                "Time spent in durable journal commits (fsync included)",
                None,
                seconds.metric_type(),
            )?)?;
            gauge(
                encoder,
                "journal_writable",
                "1 when the journal can write, 0 while its writes fail",
                i64::from(journal.health() == crate::journal::JournalHealth::Writable),
            )?;
            gauge(
                encoder,
                "journal_depth",
                "Journal entries whose hooks are not all done",
                stats.depth.load(Ordering::Relaxed) as i64,
            )?;
            age(
                encoder,
                "journal_oldest_age_seconds",
                "Age of the oldest journal entry not yet done (0: none)",
                journal.oldest_age(),
            )?;
        }
        if let Some(sandbox) = host.shared_sandbox() {
            use std::sync::atomic::Ordering::Relaxed;
            let stats = sandbox.outbound_stats();
            let spares = sandbox.spare_stats();
            plain_counters(
                encoder,
                [
                    (
                        "outbound_http_requests",
                        "Outbound HTTP requests guests sent (granted, checked)",
                        &stats.requests,
                    ),
                    (
                        "outbound_http_response_bytes",
                        "Response body bytes guests received",
                        &stats.bytes,
                    ),
                    (
                        "wasm_spares_served",
                        "Events served by a fresh instance made ahead (a spare)",
                        &spares.served,
                    ),
                    (
                        "wasm_spares_missed",
                        "Events of hooks with spares that found none ready and instantiated inline",
                        &spares.missed,
                    ),
                    (
                        "wasm_spares_init_failed",
                        "Spares discarded because their init export failed (the hook makes no more)",
                        &spares.init_failed,
                    ),
                ],
            )?;
            gauge(
                encoder,
                "wasm_spares_ready",
                "Fresh instances made ahead and ready now, all hooks",
                spares.ready.load(Relaxed) as i64,
            )?;
            encode_counters(
                encoder,
                "outbound_http_refused",
                "Outbound HTTP requests refused, by reason",
                crate::sandbox::outbound::Refusal::ALL
                    .iter()
                    .zip(&stats.refused)
                    .map(|(reason, n)| {
                        (
                            RefusedLabels {
                                reason: reason.as_str(),
                            },
                            n.load(Relaxed),
                        )
                    }),
            )?;
        }
        gauge(
            encoder,
            "async_in_flight",
            "Asynchronous hook jobs queued or running",
            host.async_in_flight() as i64,
        )?;
        Ok(())
    }
}
