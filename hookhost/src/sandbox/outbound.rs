//! Outbound HTTP for guests (`wasi:http/outgoing-handler`), denied unless
//! granted (`grants.http`):
//!
//! - every request — a redirect the guest follows is a new request — must
//!   match a granted origin (scheme, host or `*.` domain, port);
//! - the name is resolved here, and a name that resolves to a loopback,
//!   private, link-local or otherwise internal address is refused unless a
//!   granted origin names that address itself (`http://127.0.0.1:3310`);
//! - connect, first-byte and between-bytes timeouts are cut to what is
//!   left of the call's deadline, so a request never outlives its hook;
//! - the response body is capped ([`MAX_RESPONSE_BYTES`]); past it the
//!   guest reads an error;
//! - a call holds at most `limits.http_in_flight` requests (16) and makes
//!   at most `limits.tcp_connections` TCP connections (16); every
//!   connection of every guest also takes a place in the host-wide
//!   descriptor budget (half the process's open-file limit), so guests can
//!   never take the descriptors `serve` needs to answer ([`NetGate`]);
//! - requests, refusals by reason and bytes received are counted
//!   ([`OutboundStats`], in the metrics).
//!
//! The connection itself resolves the name again (wasmtime's sender): a
//! DNS answer that changes between the check and the connect is not
//! caught (see docs/security.md).

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::config::HttpRule;

/// The most a guest may receive in one response body.
pub const MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// Why a request was refused (the `reason` label of the metric).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No granted origin matches.
    NotGranted,
    /// The name resolves to an internal address no origin names.
    InternalAddress,
    /// The name does not resolve.
    Unresolved,
    /// The call's deadline left no time.
    Deadline,
    /// The call already holds as many connections as its limits allow.
    CallLimit,
    /// The host-wide descriptor budget is spent.
    HostBudget,
}

impl Refusal {
    /// Every reason, in metric order.
    pub const ALL: [Refusal; 6] = [
        Refusal::NotGranted,
        Refusal::InternalAddress,
        Refusal::Unresolved,
        Refusal::Deadline,
        Refusal::CallLimit,
        Refusal::HostBudget,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NotGranted => "not_granted",
            Refusal::InternalAddress => "internal_address",
            Refusal::Unresolved => "unresolved",
            Refusal::Deadline => "deadline",
            Refusal::CallLimit => "call_limit",
            Refusal::HostBudget => "host_budget",
        }
    }
}

/// Counters of all guests' outbound requests.
#[derive(Debug, Default)]
pub struct OutboundStats {
    /// Requests sent.
    pub requests: AtomicU64,
    /// Refused, by [`Refusal::ALL`] index.
    pub refused: [AtomicU64; Refusal::ALL.len()],
    /// Response body bytes received.
    pub bytes: AtomicU64,
}

impl OutboundStats {
    fn count(&self, reason: Refusal) {
        let index = Refusal::ALL
            .iter()
            .position(|r| *r == reason)
            .expect("every reason is listed");
        self.refused[index].fetch_add(1, Ordering::Relaxed);
    }

    fn refuse(&self, reason: Refusal) -> Error {
        self.count(reason);
        match reason {
            Refusal::NotGranted => Error::HttpRequestDenied,
            Refusal::InternalAddress => Error::DestinationIpProhibited,
            Refusal::Unresolved => Error::DestinationNotFound,
            Refusal::Deadline => Error::ConnectionTimeout,
            Refusal::CallLimit | Refusal::HostBudget => Error::ConnectionLimitReached,
        }
    }
}

/// The descriptors all guests' outbound connections may hold at once: half
/// the process's open-file limit (read when the sandbox is made; `serve`
/// raises it to the hard limit first), at least 64.
pub(crate) fn descriptor_budget() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit with a valid rlimit struct.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
    } else {
        1024
    };
    (soft / 2).clamp(64, 1 << 20)
}

/// One guest's outbound connections (one store): its caps and its places in
/// the host-wide descriptor budget.
pub(crate) struct NetGate {
    name: Arc<str>,
    budget: Arc<Semaphore>,
    http_in_flight: Arc<Semaphore>,
    tcp_limit: usize,
    /// The TCP connections made in this call, each holding its place in
    /// the budget until the store ends (or, for a reused instance, until
    /// its next call: wasi gives no word when a socket closes).
    tcp_held: Mutex<Vec<OwnedSemaphorePermit>>,
    /// Why the call's last outbound request or connect failed, in words
    /// (`outbound.last-error`).
    last_error: Mutex<Option<String>>,
    http_limit: u32,
    stats: Arc<OutboundStats>,
}

impl NetGate {
    pub(crate) fn new(
        name: Arc<str>,
        budget: Arc<Semaphore>,
        http_in_flight: u32,
        tcp_connections: u32,
        stats: Arc<OutboundStats>,
    ) -> Arc<Self> {
        Arc::new(NetGate {
            name,
            budget,
            http_in_flight: Arc::new(Semaphore::new(http_in_flight as usize)),
            tcp_limit: tcp_connections as usize,
            tcp_held: Mutex::default(),
            last_error: Mutex::default(),
            http_limit: http_in_flight,
            stats,
        })
    }

    /// A new call: its TCP count starts again, its last error is gone.
    pub(crate) fn begin_call(&self) {
        self.tcp_held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Why the call's last outbound request or connect failed.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn failed(&self, words: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(words);
    }

    /// A limit's refusal in words.
    fn limit_words(&self, reason: Refusal) -> String {
        match reason {
            Refusal::CallLimit => format!(
                "the call already has {} requests in flight (limits.http_in_flight)",
                self.http_limit
            ),
            Refusal::HostBudget => "the host's budget of outbound connections is spent".to_owned(),
            _ => reason.as_str().to_owned(),
        }
    }

    fn budget_place(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        self.budget
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::HostBudget)
    }

    /// Places for one HTTP request: the call's and the host's.
    fn http_places(&self) -> Result<[OwnedSemaphorePermit; 2], Refusal> {
        let call = self
            .http_in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::CallLimit)?;
        Ok([call, self.budget_place()?])
    }

    /// Whether a granted TCP connect may go ahead (its place taken).
    pub(crate) fn tcp_connect(&self, address: std::net::SocketAddr) -> bool {
        let mut held = self.tcp_held.lock().unwrap_or_else(|e| e.into_inner());
        let place = if held.len() >= self.tcp_limit {
            Err(Refusal::CallLimit)
        } else {
            self.budget_place()
        };
        match place {
            Ok(place) => {
                held.push(place);
                true
            }
            Err(reason) => {
                self.stats.count(reason);
                tracing::warn!(hook = %self.name, %address, reason = reason.as_str(), limit = self.tcp_limit, "outbound TCP connection refused");
                let words = match reason {
                    Refusal::CallLimit => format!(
                        "the call already made {} TCP connections (limits.tcp_connections)",
                        self.tcp_limit
                    ),
                    _ => self.limit_words(reason),
                };
                self.failed(format!(
                    "TCP connect to {address} refused ({}): {words}",
                    reason.as_str()
                ));
                false
            }
        }
    }
}

/// The hooks of one guest's store.
pub struct Outbound {
    pub(crate) name: Arc<str>,
    pub(crate) rules: Arc<[HttpRule]>,
    pub(crate) deadline: Instant,
    pub(crate) stats: Arc<OutboundStats>,
    pub(crate) gate: Arc<NetGate>,
}

/// Addresses a request must not reach unless an origin names them.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let first = segments[0];
            // An IPv4 address carried in IPv6 is judged as that address:
            // mapped (::ffff:a.b.c.d), the deprecated compatible form
            // (::a.b.c.d), NAT64 (64:ff9b::/96, RFC 6052), 6to4 (2002::/16).
            let embedded = v6.to_ipv4_mapped().or_else(|| {
                let v4 = |hi: u16, lo: u16| {
                    std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
                };
                match segments {
                    [0, 0, 0, 0, 0, 0, hi, lo] if (hi, lo) > (0, 1) => Some(v4(hi, lo)),
                    [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
                    [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
                    _ => None,
                }
            });
            if let Some(v4) = embedded {
                return is_internal(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || (first & 0xffc0) == 0xfec0 // site local (deprecated)
                || (first == 0x2001 && segments[1] == 0x0db8) // documentation
                || (first == 0x0100 && segments[1..4] == [0, 0, 0]) // discard-only
        }
    }
}

/// The granted target of a request, or why not (the reason and, in words,
/// what made it).
async fn check(
    rules: &[HttpRule],
    uri: &http::Uri,
    deadline: Instant,
) -> Result<(), (Refusal, String)> {
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri
        .host()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "http" { 80 } else { 443 });
    if !rules.iter().any(|rule| rule.allows(scheme, &host, port)) {
        return Err((
            Refusal::NotGranted,
            format!("{scheme}://{host}:{port} is not among the hook's grants.http"),
        ));
    }
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, tokio::net::lookup_host((host.as_str(), port))).await {
                Err(_) => {
                    return Err((
                        Refusal::Deadline,
                        format!("the hook's deadline came while resolving {host}"),
                    ));
                }
                Ok(Err(_)) => {
                    return Err((Refusal::Unresolved, format!("{host} does not resolve")));
                }
                Ok(Ok(found)) => found.map(|addr| addr.ip()).collect(),
            }
        }
    };
    if addresses.is_empty() {
        return Err((Refusal::Unresolved, format!("{host} does not resolve")));
    }
    let named = |ip: IpAddr| {
        rules
            .iter()
            .any(|rule| rule.address() == Some(ip) && rule.scheme == scheme && rule.port == port)
    };
    if let Some(ip) = addresses
        .iter()
        .find(|ip| is_internal(**ip) && !named(**ip))
    {
        return Err((
            Refusal::InternalAddress,
            format!(
                "{host} is {ip}, an internal address (loopback, private, link-local, ...) \
                 that no granted origin names"
            ),
        ));
    }
    Ok(())
}

/// Reads what is left of a request body that will not be sent, until the
/// guest ends it, drops it or the call's deadline comes.
///
/// A guest's body write then ends as it would on the wire, and the refusal
/// reaches it as the response's error. Dropping the body at once instead
/// fails the guest's write while it may still be writing: componentize-js
/// 0.23's fetch() then aborts its event loop and the instance traps, or
/// not, depending on which of the two it sees first.
async fn drain(mut body: WasiBody, deadline: Instant) {
    use http_body_util::BodyExt;
    let _ = tokio::time::timeout_at(deadline.into(), async {
        while let Some(Ok(_)) = body.frame().await {}
    })
    .await;
}

/// A request body lent to the sender, taken back if the request fails
/// before the sender has read it all (to [`drain`] it).
#[derive(Clone)]
struct Lent(Arc<Mutex<Option<WasiBody>>>);

impl Lent {
    fn new(body: WasiBody) -> Self {
        Lent(Arc::new(Mutex::new(Some(body))))
    }

    fn take(&self) -> Option<WasiBody> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Body for Lent {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_none_or(|body| body.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |body| body.size_hint())
    }
}

/// A response body counted and capped.
struct Capped {
    inner: WasiBody,
    left: u64,
    stats: Arc<OutboundStats>,
    gate: Arc<NetGate>,
    said: String,
}

impl Body for Capped {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let len = data.len() as u64;
            self.stats.bytes.fetch_add(len, Ordering::Relaxed);
            if len > self.left {
                self.left = 0;
                self.gate.failed(format!(
                    "{}: the response body passed {MAX_RESPONSE_BYTES} bytes (the host's cap)",
                    self.said
                ));
                return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(
                    MAX_RESPONSE_BYTES,
                )))));
            }
            self.left -= len;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), Error>> + Send>,
                    ),
                    Error,
                >,
            > + Send,
    > {
        drop(fut);
        let rules = self.rules.clone();
        let deadline = self.deadline;
        let stats = self.stats.clone();
        let name = self.name.clone();
        let gate = self.gate.clone();
        let places = gate
            .http_places()
            .map_err(|reason| (reason, gate.limit_words(reason)));
        Box::new(async move {
            use http_body_util::BodyExt;
            let uri = request.uri().clone();
            let said = format!("{} {uri}", request.method());
            let checked = match places {
                Ok(places) => check(&rules, &uri, deadline).await.map(|()| places),
                Err(refused) => Err(refused),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let checked = checked.and_then(|places| match left.is_zero() {
                true => Err((
                    Refusal::Deadline,
                    "the hook's deadline left no time".to_owned(),
                )),
                false => Ok(places),
            });
            let places = match checked {
                Ok(places) => places,
                Err((reason, words)) => {
                    tracing::warn!(hook = %name, uri = %uri, reason = reason.as_str(), "outbound HTTP request refused");
                    gate.failed(format!("{said} refused ({}): {words}", reason.as_str()));
                    let refused = stats.refuse(reason);
                    drain(request.into_body(), deadline).await;
                    return Err(refused);
                }
            };
            let (parts, body) = request.into_parts();
            let lent = Lent::new(body);
            let request = http::Request::from_parts(parts, lent.clone().boxed_unsync());
            let cut =
                |given: Option<std::time::Duration>| Some(given.map_or(left, |d| d.min(left)));
            let options = options.unwrap_or_default();
            let options = RequestOptions {
                connect_timeout: cut(options.connect_timeout),
                first_byte_timeout: cut(options.first_byte_timeout),
                between_bytes_timeout: cut(options.between_bytes_timeout),
            };
            stats.requests.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(hook = %name, uri = %uri, "outbound HTTP request");
            let sent = tokio::time::timeout(
                left,
                wasmtime_wasi_http::default_send_request(request, Some(options)),
            )
            .await
            .map_err(|_| Error::ConnectionTimeout)
            .and_then(|sent| sent);
            let sent = match sent {
                Ok(sent) => sent,
                Err(error) => {
                    gate.failed(format!("{said} failed: {error}"));
                    if let Some(rest) = lent.take() {
                        drain(rest, deadline).await;
                    }
                    return Err(error);
                }
            };
            let (response, io) = sent;
            let response = response.map(|body| {
                Capped {
                    inner: body.boxed_unsync(),
                    left: MAX_RESPONSE_BYTES,
                    stats: stats.clone(),
                    gate: gate.clone(),
                    said: said.clone(),
                }
                .boxed_unsync()
            });
            // The connection holds its places until it ends.
            let io = async move {
                let _places = places;
                io.await
            };
            Ok((
                response,
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connection_takes_a_place_in_the_hosts_budget() {
        let budget = Arc::new(Semaphore::new(3));
        let stats = Arc::new(OutboundStats::default());
        let one = NetGate::new(Arc::from("one"), budget.clone(), 2, 8, stats.clone());
        let other = NetGate::new(Arc::from("other"), budget.clone(), 2, 8, stats.clone());
        let address = "127.0.0.1:1".parse().unwrap();
        assert!(one.tcp_connect(address) && one.tcp_connect(address));
        let held = other.http_places().expect("the budget's last place");
        assert!(!other.tcp_connect(address), "the budget is spent");
        assert_eq!(other.http_places().err(), Some(Refusal::HostBudget));
        drop(held);
        assert!(
            other.tcp_connect(address),
            "a closed connection gives back its place"
        );
        one.begin_call();
        assert_eq!(
            budget.available_permits(),
            2,
            "a new call releases the last one's"
        );
        let count = |reason: Refusal| {
            stats.refused[Refusal::ALL.iter().position(|r| *r == reason).unwrap()]
                .load(Ordering::Relaxed)
        };
        assert_eq!(
            count(Refusal::HostBudget),
            1,
            "TCP refusals are counted; HTTP's by refuse()"
        );
    }

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::127.0.0.1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "fec0::1",
            "ff02::1",
            "ff05::2",
            "224.0.0.251",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:4700::1111",
            "1.1.1.1",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn only_granted_origins_and_named_internal_addresses_pass() {
        let rules: Vec<HttpRule> = [
            "https://*.example.com",
            "http://127.0.0.1:3310",
            "http://localhost:8080",
        ]
        .iter()
        .map(|r| HttpRule::parse(r).unwrap())
        .collect();
        let far = Instant::now() + std::time::Duration::from_secs(5);
        let uri = |u: &str| u.parse::<http::Uri>().unwrap();
        assert_eq!(
            check(&rules, &uri("http://127.0.0.1:3310/scan"), far)
                .await
                .map_err(|(reason, _)| reason),
            Ok(())
        );
        assert_eq!(
            check(&rules, &uri("http://127.0.0.1:3311/"), far)
                .await
                .map_err(|(reason, _)| reason),
            Err(Refusal::NotGranted)
        );
        assert_eq!(
            check(&rules, &uri("https://example.com/"), far)
                .await
                .map_err(|(reason, _)| reason),
            Err(Refusal::NotGranted),
            "the wildcard is for subdomains"
        );
        assert_eq!(
            check(&rules, &uri("http://hooks.example.com/"), far)
                .await
                .map_err(|(reason, _)| reason),
            Err(Refusal::NotGranted),
            "scheme"
        );
        assert_eq!(
            check(&rules, &uri("http://localhost:8080/"), far)
                .await
                .map_err(|(reason, _)| reason),
            Err(Refusal::InternalAddress),
            "a granted name resolving to loopback"
        );
    }
}
