//! Outbound HTTP over `wasi:http` (feature `http`): a small blocking client.
//!
//! The host sends a request only to an origin the hook's configuration
//! grants (`"grants": {"http": ["https://hooks.example.com"]}`), refuses
//! names that resolve to internal addresses unless granted by address, and
//! ends every request by the hook's own deadline. Redirects are followed
//! (up to five), each one a new request the host checks.
//!
//! ```ignore
//! let reply = hookhost_guest::http::post(
//!     "https://hooks.example.com/upload",
//!     "application/json",
//!     br#"{"text": "report.pdf arrived"}"#,
//! )?;
//! if reply.status != 200 { /* ... */ }
//! ```

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use wasip2::io::streams::StreamError;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// A response, read whole.
#[derive(Clone, Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The headers, names in lowercase.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lowercase), as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Why a request failed: the host's refusal (`HttpRequestDenied` for an
/// origin not granted, `DestinationIpProhibited` for an internal address)
/// or a network error — each followed by the host's words for it — or a
/// malformed URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A `wasi:http` error code, with the host's words for it when it has
/// some: `HttpRequestDenied (POST http://10.0.0.5/ refused (not_granted):
/// http://10.0.0.5:80 is not among the hook's grants.http)`.
fn code(error: ErrorCode) -> Error {
    with_words(format!("{error:?}"))
}

fn with_words(what: String) -> Error {
    match crate::last_outbound_error() {
        Some(words) => Error(format!("{what} ({words})")),
        None => Error(what),
    }
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, Error> {
    send("GET", url, &[], &[])
}

/// `POST url` with `body` of `content_type`.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Result<Response, Error> {
    send("POST", url, &[("content-type", content_type)], body)
}

/// Send a request and read the whole response, following redirects.
pub fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, Error> {
    let mut method = method.to_owned();
    let mut url = url.to_owned();
    let mut body = body.to_vec();
    for _ in 0..=MAX_REDIRECTS {
        let response = once(&method, &url, headers, &body)?;
        let Some(location) = (matches!(response.status, 301 | 302 | 303 | 307 | 308))
            .then(|| response.header("location"))
            .flatten()
        else {
            return Ok(response);
        };
        url = resolve(&url, &location)?;
        if response.status == 303 || (matches!(response.status, 301 | 302) && method == "POST") {
            method = "GET".into();
            body.clear();
        }
    }
    Err(Error(format!("more than {MAX_REDIRECTS} redirects")))
}

/// The parts of an absolute URL: scheme, authority, path and query.
fn split(url: &str) -> Result<(&str, &str, &str), Error> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Error(format!("{url:?}: not an absolute URL")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Ok((scheme, authority, path))
}

/// A `Location` against the URL it came from.
fn resolve(base: &str, location: &str) -> Result<String, Error> {
    if location.contains("://") {
        return Ok(location.to_owned());
    }
    let (scheme, authority, path) = split(base)?;
    if location.starts_with('/') {
        return Ok(format!("{scheme}://{authority}{location}"));
    }
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    Ok(format!("{scheme}://{authority}{dir}{location}"))
}

fn once(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Response, Error> {
    let (scheme, authority, path) = split(url)?;
    let fields = Fields::new();
    for (name, value) in headers {
        fields
            .append(name, value.as_bytes())
            .map_err(|e| Error(format!("header {name}: {e:?}")))?;
    }
    // The body is known whole: say its length, rather than send it chunked
    // (which simple receivers read as empty).
    let sets_length = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
    if !sets_length && (!body.is_empty() || !matches!(method, "GET" | "HEAD" | "DELETE")) {
        fields
            .append("content-length", body.len().to_string().as_bytes())
            .map_err(|e| Error(format!("header content-length: {e:?}")))?;
    }
    let request = OutgoingRequest::new(fields);
    let method = match method {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "HEAD" => Method::Head,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_owned()),
    };
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    };
    let invalid = |what: &str| Error(format!("{url:?}: invalid {what}"));
    request
        .set_method(&method)
        .map_err(|()| invalid("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| invalid("authority"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| invalid("path"))?;
    let outgoing = request.body().map_err(|()| invalid("body"))?;
    let pending = outgoing_handler::handle(request, None).map_err(code)?;
    {
        let stream = outgoing.write().map_err(|()| invalid("body stream"))?;
        for chunk in body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| Error(format!("sending the body: {e:?}")))?;
        }
    }
    OutgoingBody::finish(outgoing, None).map_err(code)?;
    let response = loop {
        match pending.get() {
            Some(result) => break result,
            None => pending.subscribe().block(),
        }
    };
    let response = response
        .map_err(|()| Error("the response was already taken".into()))?
        .map_err(code)?;
    let status = response.status();
    let headers = response.headers().entries();
    let incoming = response
        .consume()
        .map_err(|()| Error("the body was already taken".into()))?;
    let mut body = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| Error("the body stream was already taken".into()))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(error)) => {
                    return Err(match wasip2::http::types::http_error_code(&error) {
                        Some(error) => code(error),
                        None => with_words(error.to_debug_string()),
                    });
                }
            }
        }
    }
    drop(IncomingBody::finish(incoming));
    Ok(Response {
        status,
        headers,
        body,
    })
}
