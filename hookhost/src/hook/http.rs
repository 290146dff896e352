//! HTTP hooks: a POST per event, through the global HTTP client, as the
//! SFTPGo release of the event's [`Contract`] sends it.
//!
//! File-system events are posted as that release's JSON body. Provider
//! events are posted with the object's JSON as the body to the hook URL
//! with, in its query, `action` (the reference) or `action`, `username`
//! (the executor), `ip`, `object_type`, `object_name`, `role` (when set,
//! 2.5+) and `timestamp` (ns) — merged with the URL's own query and
//! re-encoded as Go's `url.Values.Encode` does (keys sorted). Only status
//! 200 is success.
//!
//! The client follows SFTPGo's `http` section (go-retryablehttp's policy):
//! each attempt has `timeout`; connection errors, 429 and 5xx (except 501)
//! are retried up to `retry_max` times, waiting `retry_wait_min * 2^n`
//! capped at `retry_wait_max` (or the server's `Retry-After` for 429/503);
//! other statuses are final. A response whose body is cut off (connection
//! reset) counts as a connection error. That policy is what bounds an HTTP
//! hook, as in SFTPGo (the 30 s / 15 s limits are for programs); a hook's
//! own `limits.timeout_ms` caps the whole call, retries included.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use super::{Answer, EventRef, Exchange, Failure, Hook, HookKind, HookResult};
use crate::config::HttpClientConfig;
use crate::error::FieldError;
use crate::event::login::{KbdReply, KbdRound, LoginHook};

use crate::event::fs::http::encode_fs_event;
use crate::event::{Contract, ProviderEvent};

/// The shared HTTP client with SFTPGo's retry policy and extra headers.
pub struct HttpClient {
    client: reqwest::Client,
    slots: tokio::sync::Semaphore,
    retry_max: u32,
    wait_min: Duration,
    wait_max: Duration,
    headers: Vec<(HeaderName, HeaderValue, String)>,
}

impl HttpClient {
    /// Build the client from the `http` section. Certificate files are read
    /// here, so a missing or malformed one is reported at start.
    pub fn new(config: &HttpClientConfig) -> Result<Self, FieldError> {
        // rustls needs a process-wide crypto provider; ring is the one we
        // build. A second install (another Host in the process) is harmless.
        let _ = crate::crypto::ring_provider().install_default();
        let err = |field: &str, message: String| FieldError {
            field: if field.is_empty() {
                "http".to_owned()
            } else {
                format!("http.{field}")
            },
            message,
        };
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout())
            .danger_accept_invalid_certs(config.skip_tls_verify)
            .pool_idle_timeout(Duration::from_secs(30));
        for (i, path) in config.ca_certificates.iter().enumerate() {
            let pem = crate::files::read_regular(path).map_err(|e| {
                err(
                    &format!("ca_certificates[{i}]"),
                    format!("{}: {e}", path.display()),
                )
            })?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                err(
                    &format!("ca_certificates[{i}]"),
                    format!("{}: {e}", path.display()),
                )
            })? {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some((i, pair)) = config.certificates.iter().enumerate().next() {
            let field = format!("certificates[{i}]");
            let mut pem = crate::files::read_regular(&pair.cert)
                .map_err(|e| err(&field, format!("cert {}: {e}", pair.cert.display())))?;
            pem.extend(
                crate::files::read_regular(&pair.key)
                    .map_err(|e| err(&field, format!("key {}: {e}", pair.key.display())))?,
            );
            let identity =
                reqwest::Identity::from_pem(&pem).map_err(|e| err(&field, e.to_string()))?;
            builder = builder.identity(identity);
        }
        let mut headers = Vec::new();
        for (i, h) in config.headers.iter().enumerate() {
            let field = format!("headers[{i}]");
            let name = HeaderName::from_bytes(h.key.as_bytes())
                .map_err(|e| err(&field, format!("key {:?}: {e}", h.key)))?;
            let value =
                HeaderValue::from_str(&h.value).map_err(|e| err(&field, format!("value: {e}")))?;
            headers.push((name, value, h.url.clone()));
        }
        let client = builder
            .build()
            .map_err(|e| err("", format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpClient {
            client,
            slots: tokio::sync::Semaphore::new(HTTP_CONCURRENCY),
            retry_max: config.retry_max,
            wait_min: Duration::from_secs(config.retry_wait_min),
            wait_max: Duration::from_secs(config.retry_wait_max),
            headers,
        })
    }

    /// Wait before retry number `attempt` (0-based): exponential from
    /// `retry_wait_min`, capped at `retry_wait_max`; `Retry-After` wins for
    /// 429 and 503.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let factor = 2u32.saturating_pow(attempt);
        self.wait_min.saturating_mul(factor).min(self.wait_max)
    }

    /// Send `request`, retrying per the policy when it is a retried one.
    /// Returns the final status and body (read up to [`MAX_RESPONSE`], as
    /// SFTPGo reads hook answers), or the last connection error.
    pub(crate) async fn send(
        &self,
        request: Outgoing,
    ) -> Result<(StatusCode, bytes::Bytes), String> {
        let _slot = self.slots.acquire().await.map_err(|e| e.to_string())?;
        let Outgoing {
            get,
            url,
            body,
            retried,
        } = request;
        let retry_max = if retried { self.retry_max } else { 0 };
        let body = bytes::Bytes::from(body);
        let event_id = crate::event::id::current();
        let mut attempt = 0;
        loop {
            let mut request = if get {
                self.client.get(url.clone())
            } else {
                self.client
                    .post(url.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone())
            };
            for (name, value, prefix) in &self.headers {
                if prefix.is_empty() || url.as_str().starts_with(prefix.as_str()) {
                    request = request.header(name.clone(), value.clone());
                }
            }
            if let Some(id) = &event_id {
                request = request.header(crate::event::id::HEADER, &**id);
            }
            let retry_after;
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED);
                    retry_after = match status {
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => response
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| retry_after_wait(v, std::time::SystemTime::now())),
                        _ => None,
                    };
                    // Read the body: the connection can then be reused, and
                    // an answer cut off mid-body is no answer.
                    match read_limited(response).await {
                        Ok(body) if !retryable || attempt >= retry_max => {
                            return Ok((status, body));
                        }
                        Ok(_) => {
                            tracing::debug!(%url, %status, attempt, "HTTP hook answered a retryable status")
                        }
                        Err(err) if attempt >= retry_max => {
                            return Err(format!("the response was cut off: {}", error_chain(&err)));
                        }
                        Err(err) => {
                            tracing::debug!(%url, attempt, error = %error_chain(&err), "HTTP hook response cut off");
                        }
                    }
                }
                Err(err) => {
                    if attempt >= retry_max || err.is_builder() || is_certificate_error(&err) {
                        return Err(error_chain(&err));
                    }
                    tracing::debug!(%url, attempt, error = %error_chain(&err), "HTTP hook request failed");
                    retry_after = None;
                }
            }
            tokio::time::sleep(self.backoff(attempt, retry_after)).await;
            attempt += 1;
        }
    }
}

/// The wait a `Retry-After` asks for, as go-retryablehttp reads it:
/// seconds, or an HTTP-date (a date past is no wait); `None` for anything
/// else (then the backoff applies).
fn retry_after_wait(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return u64::try_from(seconds).ok().map(Duration::from_secs);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Whether a request failed on the server's certificate, which
/// go-retryablehttp does not retry (another attempt meets the same
/// certificate).
fn is_certificate_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(cause) = source {
        if let Some(rustls::Error::InvalidCertificate(_)) = cause.downcast_ref::<rustls::Error>() {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && is_certificate_error(inner)
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The most of a response body kept (SFTPGo's `maxHookResponseSize`: the
/// rest is not read).
pub const MAX_RESPONSE: usize = 1 << 20;

/// A response body, up to [`MAX_RESPONSE`].
async fn read_limited(mut response: reqwest::Response) -> Result<bytes::Bytes, reqwest::Error> {
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_RESPONSE - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_RESPONSE {
            break;
        }
    }
    Ok(body.freeze())
}

/// One request to a hook URL.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// GET (else a POST of `body` as JSON).
    pub get: bool,
    /// The URL, query included.
    pub url: Url,
    /// The POST body.
    pub body: Vec<u8>,
    /// Whether SFTPGo's retrying client sends it (else one attempt).
    pub retried: bool,
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Go's `url.QueryEscape`: unreserved bytes as they are, space as `+`,
/// everything else `%XX` (upper-case hex).
fn go_query_escape(text: &str, out: &mut String) {
    for &byte in text.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
}

/// `url` with `pairs` added to its query the way SFTPGo does it: parse the
/// URL's query, add the pairs, `Encode` (sorted by key, stable for equal
/// keys).
fn with_go_query(url: &Url, pairs: &[(&str, String)]) -> Url {
    let mut all: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    all.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let query = go_query(&all);
    let mut url = url.clone();
    url.set_query((!query.is_empty()).then_some(query.as_str()));
    url
}

/// `pairs` as Go's `url.Values.Encode` writes them: sorted by key (stable
/// for equal keys), escaped as `QueryEscape` does.
pub(crate) fn go_query<K: AsRef<str>>(pairs: &[(K, String)]) -> String {
    let mut sorted: Vec<&(K, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    let mut query = String::new();
    for (i, (key, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            query.push('&');
        }
        go_query_escape(key.as_ref(), &mut query);
        query.push('=');
        go_query_escape(value, &mut query);
    }
    query
}

/// The URL a provider event is posted to in `contract`.
pub fn provider_url(hook: &Url, event: &ProviderEvent, contract: &Contract) -> Url {
    with_go_query(hook, &event.http_query(contract))
}

/// A URL posted to once per event.
pub struct HttpHook {
    name: String,
    url: Url,
    client: Arc<HttpClient>,
    cap: Option<Duration>,
}

/// Requests in flight at once across a host's HTTP hooks: enough for any
/// real load, and far below the file-descriptor limit of a default process.
pub const HTTP_CONCURRENCY: usize = 256;

impl HttpHook {
    /// A hook posting to `url` through `client`; `cap`, when set, bounds the
    /// whole call (retries included).
    pub fn new(
        name: impl Into<String>,
        url: Url,
        client: Arc<HttpClient>,
        cap: Option<Duration>,
    ) -> Self {
        HttpHook {
            name: name.into(),
            url,
            client,
            cap,
        }
    }

    fn request(&self, event: EventRef<'_>, contract: &Contract) -> Outgoing {
        let post = |url, body| Outgoing {
            get: false,
            url,
            body,
            retried: true,
        };
        match event {
            EventRef::Fs(ev) => post(self.url.clone(), encode_fs_event(ev, contract)),
            EventRef::Provider(ev) => post(
                provider_url(&self.url, ev, contract),
                ev.object_json.as_bytes().to_vec(),
            ),
            EventRef::Login(ev) => {
                let form = ev.http(contract);
                Outgoing {
                    get: form.get,
                    url: with_go_query(&self.url, &form.query),
                    body: form.body,
                    retried: form.retried,
                }
            }
        }
    }

    /// The whole call under the hook's own cap, if any.
    async fn send(&self, request: Outgoing) -> Result<(StatusCode, bytes::Bytes), Failure> {
        let sent = match self.cap {
            Some(cap) => tokio::time::timeout(cap, self.client.send(request))
                .await
                .map_err(|_| Failure::Timeout(cap))?,
            None => self.client.send(request).await,
        };
        sent.map_err(Failure::Error)
    }
}

/// A keyboard-interactive exchange with a URL: one POST per round, without
/// retry; any status but 200 fails the login.
struct HttpExchange {
    url: Url,
    client: Arc<HttpClient>,
    cap: Option<Duration>,
    contract: Contract,
}

#[async_trait::async_trait]
impl Exchange for HttpExchange {
    async fn round(&mut self, round: &KbdRound) -> Result<KbdReply, Failure> {
        let request = Outgoing {
            get: false,
            url: self.url.clone(),
            body: round.http_body(&self.contract),
            retried: false,
        };
        let sent = match self.cap {
            Some(cap) => tokio::time::timeout(cap, self.client.send(request))
                .await
                .map_err(|_| Failure::Timeout(cap))?,
            None => self.client.send(request).await,
        };
        match sent.map_err(Failure::Error)? {
            (StatusCode::OK, body) => serde_json::from_slice(&body)
                .map_err(|err| Failure::Error(format!("its reply is not SFTPGo's JSON: {err}"))),
            (status, _) => Err(Failure::Error(format!("HTTP status {}", status.as_u16()))),
        }
    }
}

#[async_trait::async_trait]
impl Hook for HttpHook {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> HookKind {
        HookKind::Http
    }

    async fn call(&self, event: EventRef<'_>, contract: &Contract) -> HookResult {
        let (status, body) = self.send(self.request(event, contract)).await?;
        let answers = match event {
            EventRef::Login(ev) => Some(ev.hook()).filter(|h| h.answers_with_output()),
            _ => None,
        };
        match (status, answers) {
            (StatusCode::OK, None) => Ok(event.success_answer(contract)),
            (StatusCode::OK, Some(_)) => Ok(Answer::Reply(body.to_vec())),
            // A pre-login hook's "no change".
            (StatusCode::NO_CONTENT, Some(LoginHook::PreLogin)) => Ok(Answer::Reply(Vec::new())),
            (status, _) => Ok(Answer::Deny(format!("HTTP status {}", status.as_u16()))),
        }
    }

    async fn exchange(&self, contract: &Contract) -> Result<Box<dyn Exchange>, Failure> {
        Ok(Box::new(HttpExchange {
            url: self.url.clone(),
            client: self.client.clone(),
            cap: self.cap,
            contract: *contract,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_merged_and_encoded_as_go_does() {
        let url = Url::parse("http://h/p?token=a%20b&z=1").unwrap();
        let merged = with_go_query(&url, &[("action", "add".into()), ("ip", "::1 *~".into())]);
        assert_eq!(
            merged.as_str(),
            "http://h/p?action=add&ip=%3A%3A1+%2A~&token=a+b&z=1"
        );
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after_wait(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(retry_after_wait(&later, now), Some(Duration::from_secs(90)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(retry_after_wait(&past, now), Some(Duration::ZERO));
        assert_eq!(retry_after_wait("-3", now), None);
        assert_eq!(retry_after_wait("soon", now), None);
    }

    #[test]
    fn backoff_doubles_from_the_minimum_up_to_the_maximum() {
        let client = HttpClient::new(&HttpClientConfig::default()).unwrap();
        let waits: Vec<u64> = (0..6).map(|n| client.backoff(n, None).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 30, 30]);
        assert_eq!(
            client.backoff(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }
}
