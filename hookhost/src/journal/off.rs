//! Built without the `journal` feature: there is no journal, and a
//! configuration asking for one (`hookhost.state_dir`) is refused at load
//! with that reason. [`Journal`] has no value, so every use of one is
//! unreachable code the compiler checks.

use std::path::Path;
use std::sync::Arc;

use super::{JournalError, JournalHealth, JournalStats, Table};

/// No journal in this build (see the `journal` feature).
pub enum Journal {}

impl Journal {
    /// Refused: this build has no journal.
    pub fn open(dir: &Path) -> Result<Arc<Self>, JournalError> {
        Err(JournalError(format!(
            "{}: this hookhost was built without the `journal` feature",
            dir.display()
        )))
    }

    /// Never called: there is no journal.
    pub fn health(&self) -> JournalHealth {
        match *self {}
    }

    /// Never called: there is no journal.
    pub fn path(&self) -> &Path {
        match *self {}
    }

    /// Never called: there is no journal.
    pub fn stats(&self) -> &JournalStats {
        match *self {}
    }

    /// Never called: there is no journal.
    pub fn purge(&self) -> Result<usize, JournalError> {
        match *self {}
    }

    /// Never called: there is no journal.
    pub fn pending(&self) -> Result<Vec<(u64, Vec<u8>)>, JournalError> {
        match *self {}
    }

    /// Never called: there is no journal.
    pub fn oldest_age(&self) -> Option<std::time::Duration> {
        match *self {}
    }

    pub(crate) fn replayed(&self, _n: u64, _what: &str) {
        match *self {}
    }

    pub(crate) async fn append(&self, _table: Table, _entry: Vec<u8>) -> Result<u64, String> {
        match *self {}
    }

    pub(crate) fn append_now(
        &self,
        _table: Table,
        _entry: Vec<u8>,
    ) -> impl Future<Output = Result<u64, String>> + Send + 'static {
        match *self {}
        #[allow(unreachable_code)]
        std::future::ready(Ok(0))
    }

    pub(crate) fn remove(&self, _table: Table, _id: u64) {
        match *self {}
    }

    pub(crate) async fn flush(&self) {
        match *self {}
    }

    pub(crate) fn unfinished<T>(
        &self,
        _table: Table,
        _decode: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Vec<(u64, T)>, String> {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[tokio::test]
    async fn a_state_dir_is_refused_at_load_naming_the_feature() {
        let config = crate::Config::from_value(
            json!({"hookhost": {"state_dir": "/tmp/hookhost-no-journal", "cache_dir": ""}}),
            std::path::Path::new("/"),
        )
        .unwrap();
        let error = crate::Host::new(config).await.err().expect("refused");
        let message = error.to_string();
        assert!(
            message.contains("hookhost.state_dir") && message.contains("`journal` feature"),
            "{message}"
        );
    }
}
