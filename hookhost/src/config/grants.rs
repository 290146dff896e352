//! What a guest may reach beyond its own memory (`grants` of a hook or
//! plugin). Pure data: the sandbox turns it into a WASI context.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

/// What a guest may reach beyond its own memory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Host directories preopened for the guest.
    #[serde(default)]
    pub dirs: Vec<DirGrant>,
    /// Environment variables the guest sees (and only these).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Arguments after `argv[0]` (which is the hook's name).
    #[serde(default)]
    pub args: Vec<String>,
    /// Read-only access to the file the event names, through the
    /// `event-file` import.
    #[serde(default)]
    pub event_file: bool,
    /// Origins the guest may send HTTP requests to through
    /// `wasi:http/outgoing-handler` (`https://hooks.example.com`,
    /// `http://127.0.0.1:3310`, `https://*.example.com`); none by default.
    #[serde(default)]
    pub http: Arc<[HttpRule]>,
    /// Addresses the guest may open TCP connections to through
    /// `wasi:sockets` (`127.0.0.1:3310`, `[::1]:3310`); no listening, no
    /// UDP, no name lookups.
    #[serde(default)]
    pub tcp: Arc<[TcpAddr]>,
}

/// One preopened directory.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirGrant {
    /// Directory on the host (relative paths are resolved against the
    /// configuration file's directory).
    pub host: PathBuf,
    /// Path the guest opens it under, e.g. `/data`.
    pub guest: String,
    /// Whether the guest may create, write and delete files (default: read
    /// only).
    #[serde(default)]
    pub writable: bool,
    /// For a writable grant: the most the directory may hold, in MiB; a
    /// write past it fails (see `sandbox::fsguard`).
    #[serde(default)]
    pub quota_mib: Option<u64>,
}

/// A granted TCP address, read from `ADDRESS:PORT` (names are not
/// resolved).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TcpAddr(pub SocketAddr);

impl TryFrom<String> for TcpAddr {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse().map(TcpAddr).map_err(|_| {
            format!(
                "{text:?}: expected ADDRESS:PORT (e.g. 127.0.0.1:3310 or [::1]:3310; names are not resolved)"
            )
        })
    }
}

/// One granted origin: scheme, host (or `*.` + a domain), port; read from
/// `scheme://host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct HttpRule {
    /// `http` or `https`.
    pub scheme: String,
    /// A lowercase name or an address; with `wildcard`, the domain whose
    /// subdomains match.
    pub host: String,
    /// `*.` matched any subdomain (not the domain itself).
    pub wildcard: bool,
    /// The port (the scheme's default when not written).
    pub port: u16,
}

impl TryFrom<String> for HttpRule {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        HttpRule::parse(&text)
    }
}

impl HttpRule {
    /// Parse `scheme://host[:port]` (a trailing `/` is allowed; no path,
    /// query, user or other scheme).
    pub(crate) fn parse(text: &str) -> Result<HttpRule, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("{text:?}: expected scheme://host[:port]"))?;
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            other => {
                return Err(format!(
                    "{text:?}: scheme {other:?} (expected http or https)"
                ));
            }
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) || rest.is_empty() {
            return Err(format!(
                "{text:?}: an origin is scheme://host[:port], without path, query or user"
            ));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, _)) if !host.ends_with(']') && host.contains(':') => (rest, None),
            Some((host, port)) => (
                host,
                Some(
                    port.parse::<u16>()
                        .map_err(|_| format!("{text:?}: port {port:?} is not a number"))?,
                ),
            ),
            None => (rest, None),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let (wildcard, host) = match host.strip_prefix("*.") {
            Some(domain) => (true, domain.to_owned()),
            None => (false, host),
        };
        if host.is_empty() || host.contains('*') {
            return Err(format!(
                "{text:?}: `*` only as the first label (`*.example.com`)"
            ));
        }
        if wildcard && host.parse::<IpAddr>().is_ok() {
            return Err(format!("{text:?}: a wildcard needs a domain name"));
        }
        Ok(HttpRule {
            scheme: scheme.to_owned(),
            host,
            wildcard,
            port: port.unwrap_or(default_port),
        })
    }

    /// Whether a request to `scheme://host:port` is granted by this rule.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host_ok = if self.wildcard {
            host.strip_suffix(&self.host)
                .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1)
        } else {
            host == self.host
        };
        self.scheme == scheme && self.port == port && host_ok
    }

    /// The address this rule grants by itself, if it names one: only such
    /// a rule lets a request reach a loopback or private address.
    pub fn address(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}
