//! The login and connection routes, in SFTPGo's own forms (its URLs go
//! straight into `sftpgo.json`):
//!
//! - `POST /v1/pre-login?login_method=&ip=&protocol=` (body: the user):
//!   200 + the user JSON to create or replace; 204 no change; 403 refused;
//!   424 a hook failed.
//! - `POST /v1/auth/external` (SFTPGo's external-auth body): 200 + the user
//!   JSON; 200 with an empty body (the stored user, unchanged); 403
//!   refused; 424 a hook or plugin failed.
//! - `POST /v1/auth/check-password`: 200 `{"status", "to_verify"}`; 424 a
//!   hook or plugin failed ("unable to check credentials").
//! - `POST /v1/auth/keyboard-interactive`: one request per round; the
//!   rounds of one `request_id` go to the same program, component instance
//!   or URL conversation, released at the final reply or after
//!   [`KEYBOARD_IDLE`] (`--keyboard-idle-secs`) without a round, or at the
//!   program's own limit. At most [`KEYBOARD_MAX_OPEN`] exchanges are open,
//!   [`KEYBOARD_MAX_PER_IP`] per client IP, and a program or component
//!   holds at most half its hook's slots; a round of another user or IP
//!   than the exchange's is refused without ending it. 200 + the reply (`auth_result` -1
//!   when the hook refused or failed); 403 when nothing answers
//!   keyboard-interactive logins.
//! - `POST /v1/post-login?login_method=&ip=&protocol=&status=`: 200 once
//!   queued.
//! - `GET /v1/post-connect?ip=&protocol=`: 200 allowed; 403 refused; 424
//!   a hook or the IP filter failed.
//! - `GET /v1/post-disconnect?ip=&protocol=&username=&connection_duration=`:
//!   200 once queued.
//! - `GET /v1/startup`: 200 when every startup hook succeeded; 424 when one
//!   failed.
//! - `POST /v1/data-retention` (SFTPGo 2.2–2.6's `data_retention_hook`,
//!   body: the check's report): 200 when every hook succeeded; 424 when one
//!   failed (SFTPGo logs it).
//!
//! None of these statuses is one SFTPGo's retrying client repeats (429,
//! 5xx), so no hook runs twice for one call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::time::Instant;

use super::App;
use super::respond::{answer_by, error, json_body, reply};
use crate::dispatch::login::{KeyboardSession, LoginAnswer, LoginOutcome};
use crate::event::login::{
    KbdReply, KbdRound, LoginHook, decode_connection_request, decode_external_auth,
    decode_login_request,
};
use crate::json::from_json;
use crate::metrics::KeyboardMetrics;

/// How long a keyboard-interactive exchange waits for its next round before
/// it is released (its program killed, its instance dropped).
pub const KEYBOARD_IDLE: Duration = Duration::from_secs(120);
/// Keyboard-interactive exchanges open at once, by default.
pub const KEYBOARD_MAX_OPEN: usize = 256;
/// Keyboard-interactive exchanges open at once for one client IP, by default.
pub const KEYBOARD_MAX_PER_IP: usize = 16;
/// The longest `request_id` taken: SFTPGo's are 20-character xids.
pub const MAX_REQUEST_ID: usize = 128;

/// The bounds on keyboard-interactive exchanges.
#[derive(Clone, Copy, Debug)]
pub struct KeyboardLimits {
    /// How long an exchange waits for its next round (a program's own
    /// limit, when shorter, ends it sooner).
    pub idle: Duration,
    /// Exchanges open at once.
    pub max_open: usize,
    /// Exchanges open at once for one client IP (SFTPGo's `ip`).
    pub max_per_ip: usize,
}

impl Default for KeyboardLimits {
    fn default() -> Self {
        KeyboardLimits {
            idle: KEYBOARD_IDLE,
            max_open: KEYBOARD_MAX_OPEN,
            max_per_ip: KEYBOARD_MAX_PER_IP,
        }
    }
}

type Shared = Arc<tokio::sync::Mutex<Option<KeyboardSession>>>;

/// The keyboard-interactive exchanges in progress, by `request_id`.
pub(super) struct Sessions {
    open: Mutex<HashMap<String, Open>>,
    limits: KeyboardLimits,
    metrics: KeyboardMetrics,
}

struct Open {
    session: Shared,
    expires: Instant,
    /// Who the exchange is for: a round with another user or IP is not its.
    username: String,
    ip: String,
    /// When its hook stops answering, if before the idle time.
    deadline: Option<Instant>,
}

impl Sessions {
    pub(super) fn new(limits: KeyboardLimits, metrics: KeyboardMetrics) -> Self {
        Sessions {
            open: Mutex::default(),
            limits,
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forget an exchange (its program killed, its instance released).
    fn remove(&self, id: &str) {
        let mut open = self.lock();
        open.remove(id);
        self.metrics.open.set(open.len() as i64);
    }

    /// Forget an exchange when no round came for the idle time (or its
    /// hook's limit passed).
    fn expire_later(app: Weak<App>, id: String) {
        tokio::spawn(async move {
            loop {
                let Some(expires) = app
                    .upgrade()
                    .and_then(|app| app.sessions.lock().get(&id).map(|open| open.expires))
                else {
                    return;
                };
                tokio::time::sleep_until(expires).await;
                let Some(app) = app.upgrade() else { return };
                let sessions = &app.sessions;
                let mut open = sessions.lock();
                if open.get(&id).is_some_and(|o| o.expires <= Instant::now()) {
                    open.remove(&id);
                    sessions.metrics.open.set(open.len() as i64);
                    sessions.metrics.expired.inc();
                    tracing::info!(request_id = %id, "keyboard-interactive exchange abandoned: released");
                    return;
                }
            }
        });
    }

    /// The exchange `round` continues, if it is one of those open and the
    /// round is its user's; its idle time starts again.
    fn continued(&self, round: &KbdRound) -> Result<Option<Shared>, &'static str> {
        let mut open = self.lock();
        let Some(o) = open.get_mut(&round.request_id) else {
            return Ok(None);
        };
        if o.username != round.username || (!round.ip.is_empty() && o.ip != round.ip) {
            return Err("not_its_exchange");
        }
        o.expires = self.expiry(o.deadline);
        Ok(Some(o.session.clone()))
    }

    /// Open an exchange for `round` (a first round) if the bounds allow:
    /// its place is taken before the hook starts it.
    fn open(&self, round: &KbdRound) -> Result<Shared, &'static str> {
        let mut open = self.lock();
        if open.len() >= self.limits.max_open {
            return Err("capacity");
        }
        if open.values().filter(|o| o.ip == round.ip).count() >= self.limits.max_per_ip {
            return Err("per_ip");
        }
        let session = Shared::default();
        open.insert(
            round.request_id.clone(),
            Open {
                session: session.clone(),
                expires: Instant::now() + self.limits.idle,
                username: round.username.clone(),
                ip: round.ip.clone(),
                deadline: None,
            },
        );
        self.metrics.open.set(open.len() as i64);
        Ok(session)
    }

    /// After a round: the exchange ends at the idle time from now, or when
    /// its hook stops answering, whichever is first.
    fn touched(&self, id: &str, deadline: Option<Instant>) {
        if let Some(o) = self.lock().get_mut(id) {
            o.deadline = deadline;
            o.expires = self.expiry(deadline);
        }
    }

    /// The idle time from now, or the hook's deadline when sooner.
    fn expiry(&self, deadline: Option<Instant>) -> Instant {
        let idle = Instant::now() + self.limits.idle;
        deadline.map_or(idle, |d| d.min(idle))
    }

    /// Exchanges in progress.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// 200 with a JSON body a hook wrote (a user, a keyboard reply).
fn json_ok(body: impl Into<axum::body::Body>) -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.into(),
    )
        .into_response()
}

/// The response that tells SFTPGo a login answer, for `hook`.
pub(super) fn answer(hook: LoginHook, outcome: LoginOutcome) -> Response {
    match outcome.answer {
        LoginAnswer::User(user) => json_ok(user),
        LoginAnswer::Allow | LoginAnswer::NotConfigured if hook.queued() => {
            reply(StatusCode::OK, json!({"decision": "queued"}))
        }
        LoginAnswer::NoChange if hook == LoginHook::PreLogin => {
            StatusCode::NO_CONTENT.into_response()
        }
        LoginAnswer::NoChange => StatusCode::OK.into_response(),
        LoginAnswer::Password(answer) => reply(
            StatusCode::OK,
            json!({"status": answer.status, "to_verify": answer.to_verify}),
        ),
        LoginAnswer::Allow => reply(StatusCode::OK, json!({"decision": "allow"})),
        LoginAnswer::Deny(reason) => reply(
            StatusCode::FORBIDDEN,
            json!({"decision": "deny", "reason": reason}),
        ),
        LoginAnswer::Failed(reason) => reply(
            StatusCode::FAILED_DEPENDENCY,
            json!({"decision": "failed", "reason": reason}),
        ),
        LoginAnswer::NotConfigured => match hook {
            LoginHook::PreLogin => StatusCode::NO_CONTENT.into_response(),
            LoginHook::ExternalAuth | LoginHook::CheckPassword => error(
                StatusCode::FORBIDDEN,
                format!("no hook or plugin is configured for {hook}"),
            ),
            _ => reply(StatusCode::OK, json!({"decision": "allow"})),
        },
    }
}

/// Pre-login and post-login: the user JSON in the body, the login in the
/// query.
async fn user_request(
    app: &App,
    hook: LoginHook,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Response> {
    let event = json_body(headers, body, |body| {
        decode_login_request(hook, query, body)
    })?;
    let host = app.host.lease().await;
    let limit = answer_by(&host.config().http);
    Ok(answer(hook, host.login(event).answer_within(limit).await))
}

pub(super) async fn pre_login(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    user_request(&app, LoginHook::PreLogin, &query, &headers, &body).await
}

pub(super) async fn post_login(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    user_request(&app, LoginHook::PostLogin, &query, &headers, &body).await
}

pub(super) async fn external_auth(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    // An empty credential (an empty password, say) is the hook's to judge,
    // as SFTPGo leaves it to the hook.
    let (auth, user_object) = json_body(&headers, &body, decode_external_auth)?;
    let host = app.host.lease().await;
    let limit = answer_by(&host.config().http);
    let mut call = host
        .login(crate::event::login::LoginEvent::ExternalAuth(auth))
        .answer_within(limit);
    if let Some(current) = user_object {
        call = call.sent_in_current_form(current);
    }
    Ok(answer(LoginHook::ExternalAuth, call.await))
}

pub(super) async fn check_password(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let check = json_body(&headers, &body, from_json)?;
    let host = app.host.lease().await;
    let limit = answer_by(&host.config().http);
    let event = crate::event::login::LoginEvent::CheckPassword(check);
    Ok(answer(
        LoginHook::CheckPassword,
        host.login(event).answer_within(limit).await,
    ))
}

/// A GET hook's query, checked: `ip` is required where SFTPGo always sends
/// it.
#[allow(clippy::result_large_err)]
fn connection(
    hook: LoginHook,
    query: &HashMap<String, String>,
) -> Result<crate::event::login::LoginEvent, Response> {
    if hook != LoginHook::Startup && query.get("ip").is_none_or(|ip| ip.is_empty()) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "ip: missing (expected ?ip=...&protocol=...)",
        ));
    }
    decode_connection_request(hook, query).map_err(|err| error(StatusCode::BAD_REQUEST, err))
}

pub(super) async fn post_connect(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Response> {
    let event = connection(LoginHook::PostConnect, &query)?;
    let host = app.host.lease().await;
    let limit = answer_by(&host.config().http);
    Ok(answer(
        LoginHook::PostConnect,
        host.login(event).answer_within(limit).await,
    ))
}

pub(super) async fn post_disconnect(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Response> {
    let event = connection(LoginHook::PostDisconnect, &query)?;
    let host = app.host.lease().await;
    Ok(answer(LoginHook::PostDisconnect, host.login(event).await))
}

pub(super) async fn startup(State(app): State<Arc<App>>) -> Response {
    let host = app.host.lease().await;
    let limit = answer_by(&host.config().http);
    let outcome = host
        .login(crate::event::login::LoginEvent::Startup)
        .answer_within(limit)
        .await;
    answer(LoginHook::Startup, outcome)
}

pub(super) async fn data_retention(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let report = json_body(&headers, &body, |body| {
        crate::event::login::RetentionReport::from_json(body, "body")
    })?;
    let host = app.host.lease().await;
    let http = &host.config().http;
    let (limit, window) = (answer_by(http), super::replay::retry_window(http));
    // A report names its check by user and start time (ms).
    let key = super::replay::key("data_retention", "", &body, true);
    let event = crate::event::login::LoginEvent::DataRetention(report);
    let work = async move {
        let outcome = host.login(event).answer_within(limit).await;
        answer(LoginHook::DataRetention, outcome)
    };
    Ok(app.replays.once(key, window, work).await)
}

pub(super) async fn keyboard_interactive(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let (round, current) = json_body(&headers, &body, KbdRound::decode)?;
    let sessions = &app.sessions;
    let id = round.request_id.clone();
    if id.len() > MAX_REQUEST_ID {
        sessions.metrics.refused("request_id");
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("request_id: longer than {MAX_REQUEST_ID} bytes"),
        ));
    }
    let refuse = |reason: &'static str, why: &str| {
        sessions.metrics.refused(reason);
        tracing::warn!(request_id = %clip(&id), user = %clip(&round.username), ip = %round.ip, step = round.step, "keyboard-interactive round refused: {why}");
        json_ok(KbdReply::denied().to_json())
    };
    let (session, fresh) = match sessions.continued(&round) {
        Err(reason) => {
            // Left as it is: the exchange's own rounds may still come.
            return Ok(refuse(reason, "another user's or IP's exchange"));
        }
        Ok(Some(session)) => (session, false),
        Ok(None) if round.step > 1 => {
            return Ok(refuse(
                "unknown",
                "an exchange hookhost does not know (expired or from before a restart)",
            ));
        }
        Ok(None) => match sessions.open(&round) {
            Err("per_ip") => {
                return Ok(refuse(
                    "per_ip",
                    &format!(
                        "{} exchanges already open for this IP",
                        sessions.limits.max_per_ip
                    ),
                ));
            }
            Err(reason) => {
                return Ok(refuse(
                    reason,
                    &format!("{} exchanges already open", sessions.limits.max_open),
                ));
            }
            Ok(session) => (session, true),
        },
    };
    let limit = answer_by(&app.host.lease().await.config().http);
    let played = tokio::time::timeout(limit, async {
        let mut session = session.lock().await;
        if fresh {
            let host = app.host.lease().await;
            *session = host.keyboard_session(Some(current)).await;
        }
        let session = session.as_mut()?;
        let reply = session.round(&round).await;
        Some((reply, session.deadline()))
    })
    .await;
    let reply = match played {
        Ok(Some((reply, deadline))) => {
            sessions.touched(&id, deadline);
            if fresh {
                // Watched from its first expiry on (which only moves later).
                Sessions::expire_later(Arc::downgrade(&app), id.clone());
            }
            reply
        }
        Ok(None) => {
            sessions.remove(&id);
            return Err(error(
                StatusCode::FORBIDDEN,
                "no keyboard-interactive hook or auth plugin is configured",
            ));
        }
        Err(_) => {
            tracing::warn!(request_id = %id, "keyboard-interactive round unanswered within {} ms (below SFTPGo's http.timeout): login refused", limit.as_millis());
            KbdReply::denied()
        }
    };
    if reply.auth_result != 0 {
        sessions.remove(&id);
    }
    Ok(json_ok(reply.to_json()))
}

/// A client-chosen string, cut for a log line.
fn clip(text: &str) -> &str {
    match text.char_indices().nth(64) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}
