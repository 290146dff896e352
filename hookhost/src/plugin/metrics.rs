//! The plugins' metrics, written at scrape time from their counters.

use std::sync::atomic::Ordering;

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};

use super::PluginInfo;
use crate::prom::{Encoded, encode_counters, encode_gauges};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifierLabels {
    plugin: String,
}

/// Write the plugins' metrics (calls, failures, restarts; notifier
/// deliveries and queues) from their `info`.
pub(crate) fn encode(info: &[PluginInfo], encoder: &mut DescriptorEncoder<'_>) -> Encoded {
    let plugin = |p: &PluginInfo| PluginLabels {
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
    )
}
