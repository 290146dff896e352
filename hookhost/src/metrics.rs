//! Prometheus metrics.
//!
//! Hook metrics are created once per hook when a host is built, so
//! recording an event is an atomic increment, not a label lookup. They live
//! in a [`Metrics`] that can outlive a host, so counters continue across hot
//! reloads. Plugin, notifier, cache and queue figures are read from the
//! running host at scrape time.
//!
//! | metric | labels |
//! |---|---|
//! | `hookhost_hook_calls_total` | `hook`, `kind` (exec, http, wasm, native), `key` (the configuration key it serves: `fs_actions`, `provider_actions`, `pre_login`, `external_auth`, `check_password`, `keyboard_interactive`, `post_login`, `post_connect`, `post_disconnect`, `startup`), `outcome` (allow, deny, handled, answered, timeout, out_of_fuel, memory_limit, memory_budget, trap, bad_component, error) |
//! | `hookhost_hook_duration_seconds` (histogram) | `hook`, `kind`, `key` |
//! | `hookhost_shadow_runs_total`, `hookhost_shadow_disagreements_total`, `hookhost_shadow_dropped_total` | `hook` (a hook entry's `shadow`) |
//! | `hookhost_record_written_total`, `hookhost_record_dropped_total` (with `hookhost.record`) | |
//! | `hookhost_plugin_calls_total`, `_failures_total`, `_restarts_total` | `plugin`, `kind` |
//! | `hookhost_notifier_delivered_total`, `_retries_total`, `_dropped_total`, `hookhost_notifier_queue_depth` | `plugin` |
//! | `hookhost_compile_cache_hits_total`, `hookhost_compile_cache_compiled_total` | |
//! | `hookhost_async_in_flight` | |
//! | `hookhost_outbound_http_requests_total`, `hookhost_outbound_http_response_bytes_total` | |
//! | `hookhost_outbound_http_refused_total` | `reason` (not_granted, internal_address, unresolved, deadline, call_limit, host_budget; TCP connects too) |
//! | `hookhost_wasm_spares_served_total`, `hookhost_wasm_spares_missed_total`, `hookhost_wasm_spares_init_failed_total`, `hookhost_wasm_spares_ready` | |
//! | `hookhost_journal_{appended,removed,replayed,commits,failures}_total`, `hookhost_journal_commit_seconds_total`, `hookhost_journal_depth` (with `hookhost.state_dir`) | |
//! | `hookhost_queue_{published,acked,redelivered,dead_letters}_total` (with `hookhost.queue`) | |
//! | `hookhost_http_requests_total` | `route`, `status` (from `hookhost serve`) |
//! | `hookhost_serve_connections_refused_per_ip_total`, `hookhost_serve_connections_evicted_total` (from `hookhost serve`) | |
//! | `hookhost_keyboard_exchanges_open`, `hookhost_keyboard_exchanges_expired_total` (from `hookhost serve`) | |
//! | `hookhost_keyboard_rounds_refused_total` (from `hookhost serve`) | `reason` (request_id, capacity, per_ip, not_its_exchange, unknown) |

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::hook::shadow::ShadowMetrics;
use crate::hook::{HookKind, HookResult, OUTCOMES, outcome_index};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShadowLabels {
    hook: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookCallLabels {
    hook: String,
    kind: &'static str,
    key: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookLabels {
    hook: String,
    kind: &'static str,
    key: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Keyboard-interactive exchanges held by `hookhost serve`.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyboardMetrics {
    /// Exchanges waiting for their next round.
    pub(crate) open: Gauge,
    /// Exchanges forgotten without a final round (idle or past the hook's
    /// limit).
    pub(crate) expired: Counter,
    refused: Family<ReasonLabels, Counter>,
}

impl KeyboardMetrics {
    /// Count a round refused before any hook saw it.
    #[cfg(feature = "serve")]
    pub(crate) fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&ReasonLabels { reason }).inc();
    }
}

/// Connections `hookhost serve` closed to stay answering.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnMetrics {
    /// Closed at once: their address held its share.
    pub(crate) refused_per_ip: Counter,
    /// Idle, closed to make room for a new one.
    pub(crate) evicted: Counter,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

/// One hook's metric handles.
#[derive(Debug)]
pub(crate) struct HookMetrics {
    outcomes: [Counter; OUTCOMES.len()],
    duration: Histogram,
}

impl HookMetrics {
    /// Count one call and its duration.
    pub(crate) fn record(&self, result: &HookResult, duration: Duration) {
        self.outcomes[outcome_index(result)].inc();
        self.duration.observe(duration.as_secs_f64());
    }
}

/// Figures read from the running host at scrape time.
pub(crate) trait Snapshot: Send + Sync {
    /// Write the current figures.
    fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error>;
}

struct SnapshotCollector(Arc<Mutex<Option<Box<dyn Snapshot>>>>);

impl std::fmt::Debug for SnapshotCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SnapshotCollector")
    }
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        match &*self.0.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(snapshot) => snapshot.encode(&mut encoder),
            None => Ok(()),
        }
    }
}

/// The metrics registry of a host (or of a server across reloads).
pub struct Metrics {
    registry: Registry,
    hook_calls: Family<HookCallLabels, Counter>,
    hook_duration: Family<HookLabels, Histogram, fn() -> Histogram>,
    // Written by `serve` only (registered in every build: a scrape shows
    // the same families whatever the features).
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    requests: Family<RequestLabels, Counter>,
    shadow_runs: Family<ShadowLabels, Counter>,
    shadow_disagreements: Family<ShadowLabels, Counter>,
    shadow_dropped: Family<ShadowLabels, Counter>,
    pub(crate) record_written: Counter,
    pub(crate) record_dropped: Counter,
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    pub(crate) keyboard: KeyboardMetrics,
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    pub(crate) connections: ConnMetrics,
    snapshot: Arc<Mutex<Option<Box<dyn Snapshot>>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn duration_histogram() -> Histogram {
    // 10 µs to 30 s: from an in-process wasm hook to an exec hook at its limit.
    Histogram::new([
        0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty registry with hookhost's metric families.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hookhost");
        let hook_calls = Family::<HookCallLabels, Counter>::default();
        let hook_duration =
            Family::<HookLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                duration_histogram,
            );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("hook_calls", "Hook calls by outcome", hook_calls.clone());
        registry.register(
            "hook_duration_seconds",
            "Hook call duration",
            hook_duration.clone(),
        );
        registry.register(
            "http_requests",
            "Requests served by hookhost serve",
            requests.clone(),
        );
        let shadow_runs = Family::<ShadowLabels, Counter>::default();
        let shadow_disagreements = Family::<ShadowLabels, Counter>::default();
        let shadow_dropped = Family::<ShadowLabels, Counter>::default();
        registry.register(
            "shadow_runs",
            "Events a hook's shadow candidate ran on",
            shadow_runs.clone(),
        );
        registry.register(
            "shadow_disagreements",
            "Events on which a hook's shadow candidate answered otherwise",
            shadow_disagreements.clone(),
        );
        registry.register(
            "shadow_dropped",
            "Events a hook's shadow candidate skipped: all its places were busy",
            shadow_dropped.clone(),
        );
        let record_written = Counter::default();
        let record_dropped = Counter::default();
        registry.register(
            "record_written",
            "Events written to hookhost.record's file",
            record_written.clone(),
        );
        registry.register(
            "record_dropped",
            "Events not recorded: the writer was behind",
            record_dropped.clone(),
        );
        let keyboard = KeyboardMetrics::default();
        registry.register(
            "keyboard_exchanges_open",
            "Keyboard-interactive exchanges waiting for their next round",
            keyboard.open.clone(),
        );
        registry.register(
            "keyboard_exchanges_expired",
            "Keyboard-interactive exchanges forgotten without a final round",
            keyboard.expired.clone(),
        );
        registry.register(
            "keyboard_rounds_refused",
            "Keyboard-interactive rounds refused before any hook saw them",
            keyboard.refused.clone(),
        );
        let connections = ConnMetrics::default();
        registry.register(
            "serve_connections_refused_per_ip",
            "Connections closed at once: their address held its share",
            connections.refused_per_ip.clone(),
        );
        registry.register(
            "serve_connections_evicted",
            "Idle connections closed to make room for a new one",
            connections.evicted.clone(),
        );
        let snapshot = Arc::new(Mutex::new(None));
        registry.register_collector(Box::new(SnapshotCollector(snapshot.clone())));
        Metrics {
            registry,
            hook_calls,
            hook_duration,
            requests,
            shadow_runs,
            shadow_disagreements,
            shadow_dropped,
            record_written,
            record_dropped,
            keyboard,
            connections,
            snapshot,
        }
    }

    /// The shadow counters of hook `name`.
    pub(crate) fn shadow(&self, name: &str) -> ShadowMetrics {
        let labels = ShadowLabels {
            hook: name.to_owned(),
        };
        ShadowMetrics {
            runs: self.shadow_runs.get_or_create(&labels).clone(),
            disagreements: self.shadow_disagreements.get_or_create(&labels).clone(),
            dropped: self.shadow_dropped.get_or_create(&labels).clone(),
        }
    }

    /// The handles of one hook (created on first use; shared after).
    pub(crate) fn hook(&self, name: &str, kind: HookKind, key: &'static str) -> HookMetrics {
        let kind = kind.as_str();
        HookMetrics {
            outcomes: OUTCOMES.map(|outcome| {
                self.hook_calls
                    .get_or_create(&HookCallLabels {
                        hook: name.to_owned(),
                        kind,
                        key,
                        outcome,
                    })
                    .clone()
            }),
            duration: self
                .hook_duration
                .get_or_create(&HookLabels {
                    hook: name.to_owned(),
                    kind,
                    key,
                })
                .clone(),
        }
    }

    /// Count a request served by `hookhost serve`.
    #[cfg(feature = "serve")]
    pub(crate) fn request(&self, route: &'static str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
    }

    /// Where scrape-time figures come from (the current host).
    pub(crate) fn set_snapshot(&self, snapshot: Box<dyn Snapshot>) {
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = Some(snapshot);
    }

    /// Everything in Prometheus' text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}
