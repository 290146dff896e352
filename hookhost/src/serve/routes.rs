//! The routes: SFTPGo's hook contracts answered by the host.
//!
//! Status codes are chosen so SFTPGo reads them right and does not retry
//! what must not be retried (its client retries 429 and 5xx but 501):
//!
//! - `POST /v1/actions/fs`: 200 allow / handled / queued; 403 deny;
//!   424 a synchronous notification failed. For a `pre-delete` from an
//!   SFTPGo before 2.5, 202 when no hook handled the file (any non-200 tells
//!   that SFTPGo to delete it itself); from 2.5 on, 200 allows the delete
//!   and 403 refuses it; in `auto`, an allowed pre-delete whose request does
//!   not tell 2.2–2.4 from 2.5+ (no `role`) gets 409, never 200 by
//!   accident. See [`Reply`].
//! - `POST /v1/actions/provider?action=...`: 200 once queued; today's
//!   query (`username`, `ip`, `object_type`, `object_name`, `role`,
//!   `timestamp`) is read.
//! - the login and connection routes (pre-login, external auth,
//!   check-password, keyboard-interactive, post-login, post-connect,
//!   post-disconnect, startup): see [`super::login`].
//!
//! Bad input gets 400 (with the field at fault), 413 (body too large) or
//! 415 (not JSON), with a JSON `{"error": ...}` body.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::App;
use super::respond::{answer_by, bad_request, error, json_body, reply};
use crate::dispatch::Reply;
use crate::event::fs::http::decode_fs_event_as;
use crate::event::provider::http::decode_provider_request;

/// The HTTP status that tells SFTPGo `reply`. None is one SFTPGo's client
/// retries (429, 5xx), so an answer is never re-run by a retry.
fn status_of(reply: Reply) -> StatusCode {
    match reply {
        Reply::Success => StatusCode::OK,
        Reply::NotHandled => StatusCode::ACCEPTED,
        Reply::Undated => StatusCode::CONFLICT,
        Reply::Denied => StatusCode::FORBIDDEN,
        Reply::Failed => StatusCode::FAILED_DEPENDENCY,
    }
}

pub(super) async fn fs_action(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let host = app.host.lease().await;
    let versions = host.sftpgo_version();
    let event = json_body(&headers, &body, |body| decode_fs_event_as(body, versions))?;
    let http = &host.config().http;
    let (limit, window) = (answer_by(http), super::replay::retry_window(http));
    let key = super::replay::key("fs", "", &body, event.timestamp.is_some());
    let work = async move {
        let outcome = host.dispatch(event).answer_within(limit).await;
        fs_reply(&outcome)
    };
    Ok(app.replays.once(key, window, work).await)
}

/// The answer to an fs event's request.
pub(super) fn fs_reply(outcome: &crate::Outcome) -> Response {
    match outcome.reply() {
        Reply::Undated => error(StatusCode::CONFLICT, UNDATED),
        told => reply(status_of(told), &outcome.decision),
    }
}

/// Why an allowed pre-delete is told as not handled.
const UNDATED: &str = "the hooks allowed this pre-delete, but its request fits both SFTPGo 2.2-2.4 (where 200 means 'handled, do not delete') and 2.5+ (where it means 'allowed'): answered as not handled, so 2.2-2.4 delete the file and 2.5+ refuse the delete; set hookhost.sftpgo_version to the release in front";

pub(super) async fn provider_action(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let event = json_body(&headers, &body, |body| {
        decode_provider_request(&query, body)
    })?;
    let host = app.host.lease().await;
    let http = &host.config().http;
    let window = super::replay::retry_window(http);
    let stamped = event.timestamp.is_some();
    let query = uri.query().unwrap_or("");
    let key = super::replay::key("provider", query, &body, stamped);
    let work = async move {
        let outcome = host.dispatch(event).await;
        reply(status_of(outcome.reply()), &outcome.decision)
    };
    Ok(app.replays.once(key, window, work).await)
}

/// `POST /v1/events`: an SFTPGo Event Manager rule's HTTP action, in the
/// documented form (a JSON body, or for SFTPGo 2.4–2.5.0 the query string
/// and the object as the body). SFTPGo reads 200–204 as the action's
/// success and anything else as its failure (a sync `pre-*` rule then
/// refuses the operation, a sync `upload` rule removes the file).
pub(super) async fn event_rule(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    use crate::event::rule::{RuleParams, RuleRequest};
    let params = if query.contains_key("event") {
        RuleParams::from_query(&query, &body).map_err(bad_request)?
    } else {
        json_body(&headers, &body, RuleParams::from_body)?
    };
    let request = params.classify().map_err(bad_request)?;
    let host = app.host.lease().await;
    let limit = answer_by(&host.config().http);
    Ok(match request {
        RuleRequest::Fs(event) => {
            let outcome = host.dispatch(event).answer_within(limit).await;
            fs_reply(&outcome)
        }
        RuleRequest::Provider(event) => {
            let outcome = host.dispatch(event).await;
            reply(status_of(outcome.reply()), &outcome.decision)
        }
        RuleRequest::Rule(event) => {
            let event = crate::event::login::LoginEvent::Rule(Box::new(event));
            let outcome = host.login(event).answer_within(limit).await;
            super::login::answer(crate::event::login::LoginHook::EventRule, outcome)
        }
    })
}

pub(super) async fn healthz(State(app): State<Arc<App>>) -> Response {
    let host = app.host.lease().await;
    let mut body = json!({"status": "ok", "generation": app.host.generation(),
        "keyboard_exchanges": app.sessions.len()});
    let mut status = StatusCode::OK;
    if !host.resolved().is_empty() {
        // The digest in force of every `oci://` reference.
        body["components"] = host
            .resolved()
            .iter()
            .map(|r| json!({"entry": r.field, "reference": r.reference, "digest": r.digest, "from": r.source}))
            .collect();
    }
    if let Some(depth) = host.journal_depth() {
        body["journal"] = json!({"unfinished": depth,
            "oldest_age_seconds": host.journal_oldest_age().map_or(0.0, |d| d.as_secs_f64()),
            "writable": true});
        if let Some(crate::journal::JournalHealth::Failing(error)) = host.journal_health() {
            // Every asynchronous event would be refused (424): not ready.
            body["journal"]["writable"] = json!(false);
            body["journal"]["error"] = json!(error);
            body["status"] = json!("unavailable");
            status = StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    if let Some(queue) = host.queue_health() {
        body["queue"] = json!({"kind": "nats", "connected": queue.connected,
            "unfinished": queue.unfinished,
            "oldest_age_seconds": queue.oldest_age.map_or(0.0, |d| d.as_secs_f64())});
        if !queue.connected {
            // Every asynchronous event would be refused (424): not ready.
            body["status"] = json!("unavailable");
            status = StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    reply(status, body)
}

pub(super) async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        StatusCode::OK,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        app.host.metrics().encode(),
    )
        .into_response()
}
