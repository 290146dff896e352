//! The answers every route builds: JSON replies, errors naming the field,
//! the bound on a synchronous answer. Below the routes, so no route module
//! imports another for them.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::FieldError;

/// A JSON response, encoded straight from `body` (no intermediate
/// `Value`).
pub(super) fn reply(status: StatusCode, body: impl serde::Serialize) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        serde_json::to_string(&body).expect("answers serialize"),
    )
        .into_response()
}

/// A 4xx with `{"error": message}`.
pub(super) fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    reply(status, json!({"error": message.to_string()}))
}

pub(super) fn bad_request(err: FieldError) -> Response {
    error(StatusCode::BAD_REQUEST, err)
}

/// The body of a JSON route, decoded: a body with another content type gets
/// 415, one that does not decode gets 400 naming the field at fault.
// The error is the reply itself, built once per bad request: boxing it
// would buy nothing.
#[allow(clippy::result_large_err)]
pub(super) fn json_body<'a, T>(
    headers: &HeaderMap,
    body: &'a [u8],
    decode: impl FnOnce(&'a [u8]) -> Result<T, FieldError>,
) -> Result<T, Response> {
    if let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
        && !ct
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {ct:?}: the body must be application/json"),
        ));
    }
    decode(body).map_err(bad_request)
}

/// The time a synchronous answer must come within: below SFTPGo's
/// per-attempt `http.timeout` (read from the same file), so its client
/// never gives up on an attempt hookhost is still working on and sends it
/// again.
pub(super) fn answer_by(http: &crate::config::HttpClientConfig) -> std::time::Duration {
    http.timeout().mul_f64(0.9)
}
