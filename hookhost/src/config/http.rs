//! SFTPGo's `http` section: the client every HTTP hook uses.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// The global HTTP client configuration, with SFTPGo's defaults.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default)]
pub struct HttpClientConfig {
    /// Timeout of one attempt, in seconds (fractions allowed).
    pub timeout: f64,
    /// Shortest wait before a retry, in seconds.
    pub retry_wait_min: u64,
    /// Longest wait before a retry, in seconds.
    pub retry_wait_max: u64,
    /// Retries after the first attempt.
    pub retry_max: u32,
    /// PEM files with extra CA certificates to trust.
    pub ca_certificates: Vec<PathBuf>,
    /// Client certificate and key for TLS client authentication.
    pub certificates: Vec<CertificatePair>,
    /// Accept any server certificate (testing only).
    pub skip_tls_verify: bool,
    /// Extra headers; each applies to URLs starting with its `url` (all
    /// URLs when empty).
    pub headers: Vec<HeaderRule>,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            timeout: 20.0,
            retry_wait_min: 2,
            retry_wait_max: 30,
            retry_max: 3,
            ca_certificates: Vec::new(),
            certificates: Vec::new(),
            skip_tls_verify: false,
            headers: Vec::new(),
        }
    }
}

/// A TLS client certificate and its key (PEM files).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CertificatePair {
    /// Certificate file.
    pub cert: PathBuf,
    /// Private key file.
    pub key: PathBuf,
}

/// An extra request header.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct HeaderRule {
    /// Header name.
    pub key: String,
    /// Header value.
    pub value: String,
    /// URL prefix the header applies to; empty for every URL.
    #[serde(default)]
    pub url: String,
}

impl HttpClientConfig {
    /// Timeout of one attempt.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout)
    }

    pub(super) fn validated(mut self, base_dir: &Path) -> Result<Self, ConfigError> {
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout <= 86_400.0) {
            return Err(ConfigError::field(
                "http.timeout",
                "must be a positive number of seconds, at most a day",
            ));
        }
        if self.retry_max > 100 {
            return Err(ConfigError::field(
                "http.retry_max",
                format!("{} retries is more than 100", self.retry_max),
            ));
        }
        if self.retry_wait_max > 3600 {
            return Err(ConfigError::field(
                "http.retry_wait_max",
                format!("{} s is more than an hour", self.retry_wait_max),
            ));
        }
        if self.retry_wait_min > self.retry_wait_max {
            return Err(ConfigError::field(
                "http.retry_wait_min",
                format!(
                    "{} is above retry_wait_max ({})",
                    self.retry_wait_min, self.retry_wait_max
                ),
            ));
        }
        if self.certificates.len() > 1 {
            return Err(ConfigError::field(
                "http.certificates",
                "only one client certificate is supported",
            ));
        }
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base_dir.join(&*p);
            }
        };
        self.ca_certificates.iter_mut().for_each(resolve);
        for pair in &mut self.certificates {
            resolve(&mut pair.cert);
            resolve(&mut pair.key);
        }
        // Checked at start, as SFTPGo does, even when no HTTP hook is set.
        let readable = |path: &Path, field: String| {
            crate::files::open_regular(path)
                .map(drop)
                .map_err(|e| ConfigError::field(field, format!("{}: {e}", path.display())))
        };
        for (i, path) in self.ca_certificates.iter().enumerate() {
            readable(path, format!("http.ca_certificates[{i}]"))?;
        }
        for (i, pair) in self.certificates.iter().enumerate() {
            readable(&pair.cert, format!("http.certificates[{i}].cert"))?;
            readable(&pair.key, format!("http.certificates[{i}].key"))?;
        }
        Ok(self)
    }
}
