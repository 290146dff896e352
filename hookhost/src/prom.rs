//! Writing Prometheus metric families at scrape time, from counters that
//! live with what they count: each statistics struct encodes its own
//! (`JournalStats`, `QueueStats`, the sandbox's, the plugins').

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, EncodeLabelSet, EncodeMetric,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// The result of writing metrics.
pub(crate) type Encoded = Result<(), std::fmt::Error>;

/// Write a counter family from `(labels, value)` pairs.
pub(crate) fn encode_counters<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    values: impl IntoIterator<Item = (L, u64)>,
) -> Encoded {
    let mut metric =
        encoder.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
    for (labels, value) in values {
        ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Write a gauge family from `(labels, value)` pairs.
pub(crate) fn encode_gauges<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    values: impl IntoIterator<Item = (L, i64)>,
) -> Encoded {
    let mut metric =
        encoder.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
    for (labels, value) in values {
        ConstGauge::new(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Counters read from atomics, each its own metric family.
pub(crate) fn plain_counters<const N: usize>(
    encoder: &mut DescriptorEncoder<'_>,
    counters: [(&str, &str, &AtomicU64); N],
) -> Encoded {
    for (name, help, value) in counters {
        counter(encoder, name, help, value.load(Ordering::Relaxed))?;
    }
    Ok(())
}

/// One gauge, its own metric family.
pub(crate) fn gauge<N: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: N,
) -> Encoded {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

/// An age in seconds (0 when there is nothing to age).
pub(crate) fn age(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: Option<std::time::Duration>,
) -> Encoded {
    gauge(encoder, name, help, value.map_or(0.0, |d| d.as_secs_f64()))
}

/// One counter, its own metric family.
pub(crate) fn counter<N: EncodeCounterValue>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: N,
) -> Encoded {
    let counter = ConstCounter::new(value);
    counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)
}
