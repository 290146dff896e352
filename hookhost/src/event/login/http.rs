//! The URL form of login events: the request SFTPGo makes (a query, a
//! JSON body) and, for `serve`, the same request read back.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{
    Connection, Disconnection, ExternalAuth, KbdRound, Login, LoginEvent, LoginHook, status_flag,
    user_json, username_of,
};
use crate::error::FieldError;
use crate::event::go::go_marshal;
use crate::event::{Change, Contract};

/// How a URL hook is called for an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpForm {
    /// GET (else POST, with a JSON body).
    pub get: bool,
    /// Query parameters added to the URL's own.
    pub query: Vec<(&'static str, String)>,
    /// The JSON body of a POST.
    pub body: Vec<u8>,
    /// Whether SFTPGo retries it (its retrying client).
    pub retried: bool,
}

impl LoginEvent {
    /// The request SFTPGo of `contract` makes to a URL hook.
    pub fn http(&self, contract: &Contract) -> HttpForm {
        let post = |query, body, retried| HttpForm {
            get: false,
            query,
            body,
            retried,
        };
        let get = |query| HttpForm {
            get: true,
            query,
            body: Vec::new(),
            retried: true,
        };
        match self {
            LoginEvent::PreLogin { login, user } => {
                post(login_query(login, None), user.as_bytes().to_vec(), false)
            }
            LoginEvent::PostLogin {
                login,
                succeeded,
                user,
            } => post(
                login_query(login, Some(*succeeded)),
                user.as_bytes().to_vec(),
                true,
            ),
            LoginEvent::ExternalAuth(auth) => {
                post(Vec::new(), external_auth_body(auth, contract), false)
            }
            LoginEvent::CheckPassword(check) => post(Vec::new(), go_marshal(check), false),
            LoginEvent::PostConnect(c) => {
                get(vec![("ip", c.ip.clone()), ("protocol", c.protocol.clone())])
            }
            LoginEvent::PostDisconnect(d) => get(vec![
                ("ip", d.ip.clone()),
                ("protocol", d.protocol.clone()),
                ("username", d.username.clone()),
                ("connection_duration", d.duration_ms.to_string()),
            ]),
            LoginEvent::Startup => get(Vec::new()),
            LoginEvent::DataRetention(report) => {
                post(Vec::new(), report.json.as_bytes().to_vec(), true)
            }
            // An Event Manager HTTP action: the documented body, no retry.
            LoginEvent::Rule(rule) => post(Vec::new(), rule.params.body(), false),
        }
    }
}

fn login_query(login: &Login, status: Option<bool>) -> Vec<(&'static str, String)> {
    let mut query = vec![
        ("login_method", login.method.clone()),
        ("ip", login.ip.clone()),
        ("protocol", login.protocol.clone()),
    ];
    if let Some(succeeded) = status {
        query.push(("status", status_flag(succeeded).to_owned()));
    }
    query
}

/// SFTPGo's external-auth body: a Go map, so its keys sorted; the stored
/// user as a JSON object from 2.3, as a JSON string before.
pub(super) fn external_auth_body(a: &ExternalAuth, contract: &Contract) -> Vec<u8> {
    let kbd = if a.keyboard_interactive { "1" } else { "" };
    let mut fields: Vec<(&str, Vec<u8>)> = vec![
        ("ip", go_marshal(&a.ip)),
        ("keyboard_interactive", go_marshal(&kbd)),
        ("password", go_marshal(&a.password)),
        ("protocol", go_marshal(&a.protocol)),
        ("public_key", go_marshal(&a.public_key)),
        ("tls_cert", go_marshal(&a.tls_cert)),
    ];
    if let Some(user) = &a.user {
        let value = if contract.has(Change::ExternalAuthUserObject) {
            user.as_bytes().to_vec()
        } else {
            go_marshal(&user.as_ref())
        };
        fields.push(("user", value));
    }
    fields.push(("username", go_marshal(&a.username)));
    let mut out = vec![b'{'];
    for (i, (key, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend(go_marshal(&key));
        out.push(b':');
        out.extend(value);
    }
    out.push(b'}');
    out
}

/// SFTPGo's keyboard-interactive request, field for field (omitted when
/// empty, `step` from 2.2).
#[derive(Serialize, Deserialize)]
struct KbdRequestWire {
    request_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    step: Option<u32>,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    ip: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    password: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    answers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    questions: Vec<String>,
}

impl KbdRound {
    /// The body SFTPGo of `contract` posts for this round.
    pub fn http_body(&self, contract: &Contract) -> Vec<u8> {
        go_marshal(&KbdRequestWire {
            request_id: self.request_id.clone(),
            step: contract
                .has(Change::KeyboardInteractiveStep)
                .then_some(self.step),
            username: self.username.clone(),
            ip: if self.step <= 1 {
                self.ip.clone()
            } else {
                String::new()
            },
            password: self.password.clone(),
            answers: self.answers.clone(),
            questions: self.questions.clone(),
        })
    }

    /// A round as SFTPGo posts it; whether it has today's form (`step`).
    pub fn decode(body: &[u8]) -> Result<(KbdRound, bool), FieldError> {
        let wire: KbdRequestWire = crate::json::from_json(body)?;
        if wire.request_id.is_empty() {
            return Err(FieldError::new("request_id", "missing"));
        }
        let current = wire.step.is_some();
        Ok((
            KbdRound {
                request_id: wire.request_id,
                // Before 2.2 there is no step: the first round is the one
                // without answers.
                step: wire
                    .step
                    .unwrap_or(if wire.answers.is_empty() { 1 } else { 2 }),
                username: wire.username,
                password: wire.password,
                ip: wire.ip,
                answers: wire.answers,
                questions: wire.questions,
            },
            current,
        ))
    }
}

fn query<'a>(q: &'a HashMap<String, String>, key: &str) -> &'a str {
    q.get(key).map(String::as_str).unwrap_or("")
}

/// A pre-login or post-login request as SFTPGo sends it to a URL.
pub fn decode_login_request(
    hook: LoginHook,
    q: &HashMap<String, String>,
    body: &[u8],
) -> Result<LoginEvent, FieldError> {
    let user = user_json(body, "body")?;
    let login = Login {
        username: username_of(&user),
        method: query(q, "login_method").to_owned(),
        ip: query(q, "ip").to_owned(),
        protocol: query(q, "protocol").to_owned(),
    };
    Ok(match hook {
        LoginHook::PreLogin => LoginEvent::PreLogin { login, user },
        _ => LoginEvent::PostLogin {
            login,
            succeeded: match query(q, "status") {
                "1" => true,
                "0" => false,
                other => {
                    return Err(FieldError::new(
                        "status",
                        format!("expected 1 or 0, got {other:?}"),
                    ));
                }
            },
            user,
        },
    })
}

#[derive(Deserialize)]
struct ExternalAuthWire {
    username: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    public_key: String,
    #[serde(default)]
    protocol: String,
    #[serde(default)]
    keyboard_interactive: String,
    #[serde(default)]
    tls_cert: String,
    #[serde(default)]
    user: Option<Box<serde_json::value::RawValue>>,
}

/// An external-auth body, from either generation (the user as a JSON
/// object, or as a JSON string before 2.3); whether the user came as an
/// object (`None`: no user).
pub fn decode_external_auth(body: &[u8]) -> Result<(ExternalAuth, Option<bool>), FieldError> {
    let wire: ExternalAuthWire = crate::json::from_json(body)?;
    let (user, object) = match wire.user.as_deref().map(|raw| raw.get().trim()) {
        None | Some("null") | Some("\"\"") => (None, None),
        Some(raw) if raw.starts_with('"') => {
            let text: String =
                serde_json::from_str(raw).map_err(|e| FieldError::new("user", e.to_string()))?;
            (Some(user_json(text.as_bytes(), "user")?), Some(false))
        }
        Some(raw) => (Some(user_json(raw.as_bytes(), "user")?), Some(true)),
    };
    Ok((
        ExternalAuth {
            username: wire.username,
            ip: wire.ip,
            protocol: wire.protocol,
            password: wire.password,
            public_key: wire.public_key,
            keyboard_interactive: !wire.keyboard_interactive.is_empty(),
            tls_cert: wire.tls_cert,
            user,
        },
        object,
    ))
}

/// A post-connect, post-disconnect or startup request (a GET's query).
pub fn decode_connection_request(
    hook: LoginHook,
    q: &HashMap<String, String>,
) -> Result<LoginEvent, FieldError> {
    let (ip, protocol) = (query(q, "ip").to_owned(), query(q, "protocol").to_owned());
    Ok(match hook {
        LoginHook::PostConnect => LoginEvent::PostConnect(Connection { ip, protocol }),
        LoginHook::PostDisconnect => LoginEvent::PostDisconnect(Disconnection {
            ip,
            protocol,
            username: query(q, "username").to_owned(),
            duration_ms: match query(q, "connection_duration") {
                "" => 0,
                text => text.parse().map_err(|_| {
                    FieldError::new("connection_duration", format!("not an integer: {text:?}"))
                })?,
            },
        }),
        _ => LoginEvent::Startup,
    })
}
