//! Built without the `nats` feature: a configuration asking for the queue
//! (`hookhost.queue`) is refused at load with that reason. [`NatsQueue`]
//! has no value, so every use of one is unreachable code the compiler
//! checks.

use std::sync::Arc;
use std::time::Duration;

use super::QueueStats;
use crate::config::{HookRetry, QueueSettings};

/// No NATS queue in this build (see the `nats` feature).
pub enum NatsQueue {}

/// No message can be pulled.
pub(crate) enum Delivery {}

impl Delivery {
    pub(crate) fn hook(&self) -> Option<&str> {
        match *self {}
    }

    pub(crate) fn record(&self) -> &[u8] {
        match *self {}
    }
}

impl NatsQueue {
    pub(crate) async fn connect(_settings: &QueueSettings) -> Result<Arc<Self>, String> {
        Err("hookhost.queue: this hookhost was built without the `nats` feature".into())
    }

    /// Never called: there is no queue.
    pub fn stats(&self) -> &QueueStats {
        match *self {}
    }

    /// Never called: there is no queue.
    pub fn connected(&self) -> bool {
        match *self {}
    }

    pub(crate) async fn sample(&self) -> Result<(), String> {
        match *self {}
    }

    pub(crate) async fn publish(&self, _hooks: &[&str], _record: &[u8]) -> Result<(), String> {
        match *self {}
    }

    pub(crate) async fn fetch(&self, _n: usize, _wait: Duration) -> Result<Vec<Delivery>, String> {
        match *self {}
    }

    pub(crate) async fn done(&self, delivery: Delivery) {
        match delivery {}
    }

    pub(crate) async fn over_limit(
        &self,
        delivery: Delivery,
        _retry: &HookRetry,
    ) -> Option<Delivery> {
        match delivery {}
    }

    pub(crate) async fn failed(&self, delivery: Delivery, _reason: &str, _retry: &HookRetry) {
        match delivery {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[tokio::test]
    async fn a_queue_is_refused_at_load_naming_the_feature() {
        let config = crate::Config::from_value(
            json!({"hookhost": {"cache_dir": "",
                "queue": {"kind": "nats", "url": "nats://127.0.0.1:4222"}}}),
            std::path::Path::new("/"),
        )
        .unwrap();
        let error = crate::Host::new(config).await.err().expect("refused");
        assert!(error.to_string().contains("`nats` feature"), "{error}");
    }
}
