//! Login and connection events: what SFTPGo's login-related hooks receive
//! (pre-login, external auth, check-password, keyboard-interactive,
//! post-login, post-connect, post-disconnect, startup), how each form
//! carries them (a program's environment, a URL's query and body), and how
//! SFTPGo reads the answers.
//!
//! Encodings follow the release of the [`Contract`]: the keyboard-interactive
//! `step` from 2.2, the external-auth `user` as a JSON object from 2.3 (a
//! JSON string before). Everything else has not changed since 2.1. Bodies
//! are what Go's `encoding/json` writes (HTML characters escaped; a map's
//! keys sorted), queries what `url.Values.Encode` writes.
//!
//! The reverse, for hookhost's fronts: the same forms read back from a
//! request (`serve`) or an environment (`hookhost exec`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::go::go_marshal;
use super::{Change, Contract, named_enum};
use crate::error::FieldError;

named_enum! {
    /// SFTPGo's login and connection hooks, by their `command.commands[].hook` names.
    LoginHook, "login hook" {
        PreLogin = "pre_login",
        ExternalAuth = "external_auth",
        CheckPassword = "check_password",
        KeyboardInteractive = "keyboard_interactive",
        PostLogin = "post_login",
        PostConnect = "post_connect",
        PostDisconnect = "post_disconnect",
        Startup = "startup",
        DataRetention = "data_retention",
        EventRule = "event_rule",
    }
}

impl LoginHook {
    /// SFTPGo 2.1's fixed limit for this hook's programs (from 2.3 the
    /// `command` timeout applies).
    pub fn reference_limit(self) -> Duration {
        Duration::from_secs(match self {
            LoginHook::PreLogin | LoginHook::ExternalAuth | LoginHook::CheckPassword => 30,
            LoginHook::KeyboardInteractive | LoginHook::Startup => 60,
            LoginHook::EventRule => 30,
            LoginHook::PostLogin
            | LoginHook::PostConnect
            | LoginHook::PostDisconnect
            | LoginHook::DataRetention => 20,
        })
    }

    /// Whether the hook answers with its output (a program's stdout, a
    /// URL's body): pre-login, external auth, check-password.
    pub fn answers_with_output(self) -> bool {
        matches!(
            self,
            LoginHook::PreLogin | LoginHook::ExternalAuth | LoginHook::CheckPassword
        )
    }

    /// Whether SFTPGo waits for it (the others it fires and forgets).
    pub fn synchronous(self) -> bool {
        !matches!(
            self,
            LoginHook::PostLogin
                | LoginHook::PostDisconnect
                | LoginHook::Startup
                | LoginHook::DataRetention
                | LoginHook::EventRule
        )
    }

    /// Whether its hooks run queued, the caller answered at once
    /// (post-login, post-disconnect; startup and data retention also run
    /// unwaited by SFTPGo, but hookhost runs them now to report the result).
    pub fn queued(self) -> bool {
        matches!(self, LoginHook::PostLogin | LoginHook::PostDisconnect)
    }

    /// The WIT world a component for this hook implements.
    pub fn world(self) -> &'static str {
        match self {
            LoginHook::PreLogin => "pre-login-hook",
            LoginHook::ExternalAuth => "external-auth-hook",
            LoginHook::CheckPassword => "check-password-hook",
            LoginHook::KeyboardInteractive => "keyboard-interactive-hook",
            LoginHook::PostLogin => "post-login-hook",
            LoginHook::PostConnect => "post-connect-hook",
            LoginHook::PostDisconnect => "post-disconnect-hook",
            LoginHook::Startup => "startup-hook",
            LoginHook::DataRetention => "data-retention-hook",
            LoginHook::EventRule => "event-rule-hook",
        }
    }
}

/// One login attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Login {
    /// The user (from the user JSON for pre-login and post-login).
    pub username: String,
    /// SFTPGo's login method (`password`, `publickey`, ... or empty).
    pub method: String,
    /// Client IP.
    pub ip: String,
    /// `SSH`, `FTP`, `DAV`, `HTTP` or `OIDC`.
    pub protocol: String,
}

/// An external-auth request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalAuth {
    /// The login name.
    pub username: String,
    /// Client IP.
    pub ip: String,
    /// Client protocol.
    pub protocol: String,
    /// The password, or empty.
    pub password: String,
    /// The public key (an authorized_keys line, with its newline), or empty.
    pub public_key: String,
    /// A keyboard-interactive login.
    pub keyboard_interactive: bool,
    /// The client certificate (PEM), or empty.
    pub tls_cert: String,
    /// The stored user's JSON, for a user SFTPGo knows.
    pub user: Option<Arc<str>>,
}

impl ExternalAuth {
    /// The auth scope bit of its credential (1 password, 2 public key, 4
    /// keyboard-interactive, 8 TLS certificate).
    pub fn scope_bit(&self) -> u32 {
        if !self.tls_cert.is_empty() {
            8
        } else if !self.public_key.is_empty() {
            2
        } else if self.keyboard_interactive {
            4
        } else {
            1
        }
    }
}

/// A check-password request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordCheck {
    /// The user.
    pub username: String,
    /// Client IP.
    #[serde(default)]
    pub ip: String,
    /// The password given.
    pub password: String,
    /// Client protocol.
    #[serde(default)]
    pub protocol: String,
}

/// A new connection (post-connect).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    /// Client IP.
    pub ip: String,
    /// `SSH`, `FTP`, `DAV`, `HTTP` or `OIDC`.
    pub protocol: String,
}

/// A closed connection (post-disconnect).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disconnection {
    /// Client IP.
    pub ip: String,
    /// `SFTP`, `SCP`, `SSH` or `FTP`.
    pub protocol: String,
    /// The user, empty when the client never logged in.
    pub username: String,
    /// How long the connection lasted, in milliseconds.
    pub duration_ms: i64,
}

/// An event of a login or connection hook (keyboard-interactive rounds are
/// [`KbdRound`]s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginEvent {
    /// Before a login the provider checks.
    PreLogin {
        /// The attempt.
        login: Login,
        /// The stored user's JSON as SFTPGo loaded it (`id` 0 and only the
        /// username for a user it does not know).
        user: Arc<str>,
    },
    /// Authenticate a login.
    ExternalAuth(ExternalAuth),
    /// Check a stored user's password.
    CheckPassword(PasswordCheck),
    /// After a login.
    PostLogin {
        /// The attempt.
        login: Login,
        /// Whether it succeeded.
        succeeded: bool,
        /// The user's JSON.
        user: Arc<str>,
    },
    /// A new connection.
    PostConnect(Connection),
    /// A closed connection.
    PostDisconnect(Disconnection),
    /// The server started.
    Startup,
    /// A data-retention check finished (`common.data_retention_hook`,
    /// SFTPGo 2.2 to 2.6).
    DataRetention(RetentionReport),
    /// An Event Manager rule of a trigger legacy hooks never had (IP
    /// blocked, certificate renewal, schedule, on demand, IDP login).
    Rule(Box<super::rule::RuleEvent>),
}

/// The report of a data-retention check, as SFTPGo 2.2–2.6 send it to their
/// `data_retention_hook`: a JSON object with `username`, `start_time`,
/// `elapsed` (ms), `status` (1 ok, 0 error), `total_deleted_files`,
/// `total_deleted_size` and `details` (one entry per folder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionReport {
    /// The user whose files were checked.
    pub username: String,
    /// The report's JSON, as SFTPGo wrote it.
    pub json: Arc<str>,
}

impl RetentionReport {
    /// Read a report (SFTPGo's JSON object); `field` names its source in
    /// errors.
    pub fn from_json(bytes: &[u8], field: &str) -> Result<Self, FieldError> {
        let json = user_json(bytes, field)
            .map_err(|e| FieldError::new(field, e.message.replace("the user", "the report")))?;
        Ok(RetentionReport {
            username: username_of(&json),
            json,
        })
    }
}

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
    /// Which hook it is for.
    pub fn hook(&self) -> LoginHook {
        match self {
            LoginEvent::PreLogin { .. } => LoginHook::PreLogin,
            LoginEvent::ExternalAuth(_) => LoginHook::ExternalAuth,
            LoginEvent::CheckPassword(_) => LoginHook::CheckPassword,
            LoginEvent::PostLogin { .. } => LoginHook::PostLogin,
            LoginEvent::PostConnect(_) => LoginHook::PostConnect,
            LoginEvent::PostDisconnect(_) => LoginHook::PostDisconnect,
            LoginEvent::Startup => LoginHook::Startup,
            LoginEvent::DataRetention(_) => LoginHook::DataRetention,
            LoginEvent::Rule(_) => LoginHook::EventRule,
        }
    }

    /// The user it is about (empty when none: a connection, startup).
    pub fn username(&self) -> &str {
        match self {
            LoginEvent::PreLogin { login, .. } | LoginEvent::PostLogin { login, .. } => {
                &login.username
            }
            LoginEvent::ExternalAuth(a) => &a.username,
            LoginEvent::CheckPassword(c) => &c.username,
            LoginEvent::PostDisconnect(d) => &d.username,
            LoginEvent::DataRetention(r) => &r.username,
            LoginEvent::Rule(rule) => rule.username(),
            LoginEvent::PostConnect(_) | LoginEvent::Startup => "",
        }
    }

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

    /// The variables SFTPGo gives a program for this event, in its order.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            LoginEvent::PreLogin { login, user } => vec![
                ("SFTPGO_LOGIND_USER", user.to_string()),
                ("SFTPGO_LOGIND_METHOD", login.method.clone()),
                ("SFTPGO_LOGIND_IP", login.ip.clone()),
                ("SFTPGO_LOGIND_PROTOCOL", login.protocol.clone()),
            ],
            LoginEvent::PostLogin {
                login,
                succeeded,
                user,
            } => vec![
                ("SFTPGO_LOGIND_USER", user.to_string()),
                ("SFTPGO_LOGIND_IP", login.ip.clone()),
                ("SFTPGO_LOGIND_METHOD", login.method.clone()),
                ("SFTPGO_LOGIND_STATUS", status_flag(*succeeded).to_owned()),
                ("SFTPGO_LOGIND_PROTOCOL", login.protocol.clone()),
            ],
            LoginEvent::ExternalAuth(a) => vec![
                ("SFTPGO_AUTHD_USERNAME", a.username.clone()),
                (
                    "SFTPGO_AUTHD_USER",
                    a.user.as_deref().unwrap_or_default().to_owned(),
                ),
                ("SFTPGO_AUTHD_IP", a.ip.clone()),
                ("SFTPGO_AUTHD_PASSWORD", a.password.clone()),
                ("SFTPGO_AUTHD_PUBLIC_KEY", a.public_key.clone()),
                ("SFTPGO_AUTHD_PROTOCOL", a.protocol.clone()),
                ("SFTPGO_AUTHD_TLS_CERT", a.tls_cert.replace('\n', "\\n")),
                (
                    "SFTPGO_AUTHD_KEYBOARD_INTERACTIVE",
                    if a.keyboard_interactive { "1" } else { "" }.to_owned(),
                ),
            ],
            LoginEvent::CheckPassword(c) => vec![
                ("SFTPGO_AUTHD_USERNAME", c.username.clone()),
                ("SFTPGO_AUTHD_PASSWORD", c.password.clone()),
                ("SFTPGO_AUTHD_IP", c.ip.clone()),
                ("SFTPGO_AUTHD_PROTOCOL", c.protocol.clone()),
            ],
            LoginEvent::PostConnect(c) => vec![
                ("SFTPGO_CONNECTION_IP", c.ip.clone()),
                ("SFTPGO_CONNECTION_PROTOCOL", c.protocol.clone()),
            ],
            LoginEvent::PostDisconnect(d) => vec![
                ("SFTPGO_CONNECTION_IP", d.ip.clone()),
                ("SFTPGO_CONNECTION_USERNAME", d.username.clone()),
                ("SFTPGO_CONNECTION_DURATION", d.duration_ms.to_string()),
                ("SFTPGO_CONNECTION_PROTOCOL", d.protocol.clone()),
            ],
            LoginEvent::Startup => Vec::new(),
            LoginEvent::DataRetention(report) => {
                vec![("SFTPGO_DATA_RETENTION_RESULT", report.json.to_string())]
            }
            // An Event Manager Command action: the documented variables.
            LoginEvent::Rule(rule) => rule.params.env(),
        }
    }
}

fn status_flag(succeeded: bool) -> &'static str {
    if succeeded { "1" } else { "0" }
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
fn external_auth_body(a: &ExternalAuth, contract: &Contract) -> Vec<u8> {
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

/// SFTPGo's test for "no answer": nothing, `\n` or `\r\n`.
pub fn is_empty_answer(output: &[u8]) -> bool {
    matches!(output, b"" | b"\n" | b"\r\n")
}

/// One keyboard-interactive round, as SFTPGo sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KbdRound {
    /// The same in every round of one login.
    pub request_id: String,
    /// 1 for the first round (SFTPGo sends it from 2.2).
    pub step: u32,
    /// The user.
    pub username: String,
    /// The stored password hash.
    pub password: String,
    /// Client IP (SFTPGo sends it in the first round only).
    pub ip: String,
    /// The client's answers to the previous round's questions.
    pub answers: Vec<String>,
    /// The previous round's questions.
    pub questions: Vec<String>,
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

    /// The variables SFTPGo gives the program of an exchange.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SFTPGO_AUTHD_USERNAME", self.username.clone()),
            ("SFTPGO_AUTHD_IP", self.ip.clone()),
            ("SFTPGO_AUTHD_PASSWORD", self.password.clone()),
        ]
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

/// A keyboard-interactive answer, as SFTPGo reads it (a URL's body, one
/// line of a program's stdout).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbdReply {
    /// Shown to the client.
    #[serde(default)]
    pub instruction: String,
    /// The questions of the next round.
    #[serde(default)]
    pub questions: Vec<String>,
    /// Whether each answer may be echoed.
    #[serde(default)]
    pub echos: Vec<bool>,
    /// 1 authenticated, 0 another round, anything else refused.
    #[serde(default)]
    pub auth_result: i32,
    /// 1: the server checks the one answer as the password; 2: as a TOTP
    /// passcode.
    #[serde(default, rename = "check_password")]
    pub check_password: i32,
}

impl KbdReply {
    /// Refused.
    pub fn denied() -> Self {
        KbdReply {
            auth_result: -1,
            ..KbdReply::default()
        }
    }

    /// SFTPGo's checks of a reply that asks another round: questions and
    /// as many echos. (`check_password` with other than one question is
    /// not an error: SFTPGo ignores it and passes the answers on.)
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.auth_result != 0 {
            return Ok(());
        }
        if self.questions.is_empty() {
            return Err("interactive auth error: response does not contain questions".into());
        }
        if self.questions.len() != self.echos.len() {
            return Err(format!(
                "interactive auth error: response questions don't match echos: {} {}",
                self.questions.len(),
                self.echos.len()
            ));
        }
        Ok(())
    }

    /// The line a program writes (and `serve` answers).
    pub fn to_json(&self) -> Vec<u8> {
        go_marshal(self)
    }
}

/// SFTPGo's check-password answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordAnswer {
    /// 1 right, 2 partly right (check `to_verify`), else wrong.
    pub status: i32,
    /// For status 2: what to check against the stored password.
    #[serde(default)]
    pub to_verify: String,
}

impl PasswordAnswer {
    /// The JSON a hook answers.
    pub fn to_json(&self) -> Vec<u8> {
        go_marshal(self)
    }
}

// --- Reading the forms back (hookhost's fronts) --------------------------

fn query<'a>(q: &'a HashMap<String, String>, key: &str) -> &'a str {
    q.get(key).map(String::as_str).unwrap_or("")
}

/// The username in a user JSON (empty when there is none).
fn username_of(user: &str) -> String {
    serde_json::from_str::<Value>(user)
        .ok()
        .and_then(|v| v.get("username").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

fn user_json(body: &[u8], field: &str) -> Result<Arc<str>, FieldError> {
    let text = std::str::from_utf8(body).map_err(|_| FieldError::new(field, "not UTF-8"))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(_)) => Ok(Arc::from(text)),
        Ok(_) => Err(FieldError::new(field, "expected the user as a JSON object")),
        Err(e) => Err(FieldError::new(field, e.to_string())),
    }
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

/// What `hookhost exec` was started for, read from SFTPGo's environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecLogin {
    /// A login or connection hook's event.
    Event(LoginEvent),
    /// A keyboard-interactive exchange (rounds come on stdin).
    KeyboardInteractive {
        /// The user.
        username: String,
        /// Client IP.
        ip: String,
        /// The stored password hash.
        password: String,
    },
}

/// Recognise a login-related hook from the variables SFTPGo sets: the
/// `SFTPGO_LOGIND_*` (pre-login; post-login with `_STATUS`),
/// `SFTPGO_AUTHD_*` (external auth with its `_KEYBOARD_INTERACTIVE`,
/// check-password with `_PROTOCOL`, else keyboard-interactive) and
/// `SFTPGO_CONNECTION_*` (post-disconnect with `_DURATION`, else
/// post-connect) families. `None` when none is present.
pub fn decode_exec_login(
    var: impl Fn(&str) -> Option<String>,
) -> Option<Result<ExecLogin, FieldError>> {
    let text = |name: &str| var(name).unwrap_or_default();
    let user =
        |name: &str| -> Result<Arc<str>, FieldError> { user_json(text(name).as_bytes(), name) };
    if var("SFTPGO_LOGIND_USER").is_some() {
        return Some((|| {
            let user = user("SFTPGO_LOGIND_USER")?;
            let login = Login {
                username: username_of(&user),
                method: text("SFTPGO_LOGIND_METHOD"),
                ip: text("SFTPGO_LOGIND_IP"),
                protocol: text("SFTPGO_LOGIND_PROTOCOL"),
            };
            Ok(ExecLogin::Event(match var("SFTPGO_LOGIND_STATUS") {
                None => LoginEvent::PreLogin { login, user },
                Some(status) => LoginEvent::PostLogin {
                    login,
                    succeeded: match status.as_str() {
                        "1" => true,
                        "0" => false,
                        other => {
                            return Err(FieldError::new(
                                "SFTPGO_LOGIND_STATUS",
                                format!("expected 1 or 0, got {other:?}"),
                            ));
                        }
                    },
                    user,
                },
            }))
        })());
    }
    if var("SFTPGO_AUTHD_USERNAME").is_some() {
        return Some((|| {
            if var("SFTPGO_AUTHD_KEYBOARD_INTERACTIVE").is_some()
                || var("SFTPGO_AUTHD_PUBLIC_KEY").is_some()
            {
                let stored = text("SFTPGO_AUTHD_USER");
                return Ok(ExecLogin::Event(LoginEvent::ExternalAuth(ExternalAuth {
                    username: text("SFTPGO_AUTHD_USERNAME"),
                    ip: text("SFTPGO_AUTHD_IP"),
                    protocol: text("SFTPGO_AUTHD_PROTOCOL"),
                    password: text("SFTPGO_AUTHD_PASSWORD"),
                    public_key: text("SFTPGO_AUTHD_PUBLIC_KEY"),
                    keyboard_interactive: !text("SFTPGO_AUTHD_KEYBOARD_INTERACTIVE").is_empty(),
                    tls_cert: text("SFTPGO_AUTHD_TLS_CERT").replace("\\n", "\n"),
                    user: if stored.is_empty() {
                        None
                    } else {
                        Some(user("SFTPGO_AUTHD_USER")?)
                    },
                })));
            }
            if var("SFTPGO_AUTHD_PROTOCOL").is_some() {
                return Ok(ExecLogin::Event(LoginEvent::CheckPassword(PasswordCheck {
                    username: text("SFTPGO_AUTHD_USERNAME"),
                    ip: text("SFTPGO_AUTHD_IP"),
                    password: text("SFTPGO_AUTHD_PASSWORD"),
                    protocol: text("SFTPGO_AUTHD_PROTOCOL"),
                })));
            }
            Ok(ExecLogin::KeyboardInteractive {
                username: text("SFTPGO_AUTHD_USERNAME"),
                ip: text("SFTPGO_AUTHD_IP"),
                password: text("SFTPGO_AUTHD_PASSWORD"),
            })
        })());
    }
    if var("SFTPGO_CONNECTION_IP").is_some() {
        return Some((|| {
            let (ip, protocol) = (
                text("SFTPGO_CONNECTION_IP"),
                text("SFTPGO_CONNECTION_PROTOCOL"),
            );
            Ok(ExecLogin::Event(match var("SFTPGO_CONNECTION_DURATION") {
                None => LoginEvent::PostConnect(Connection { ip, protocol }),
                Some(duration) => LoginEvent::PostDisconnect(Disconnection {
                    ip,
                    protocol,
                    username: text("SFTPGO_CONNECTION_USERNAME"),
                    duration_ms: duration.parse().map_err(|_| {
                        FieldError::new(
                            "SFTPGO_CONNECTION_DURATION",
                            format!("not an integer: {duration:?}"),
                        )
                    })?,
                }),
            }))
        })());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(user: Option<&str>) -> ExternalAuth {
        ExternalAuth {
            username: "alice".into(),
            ip: "10.0.0.1".into(),
            protocol: "SSH".into(),
            password: "p<w>&".into(),
            user: user.map(Arc::from),
            ..ExternalAuth::default()
        }
    }

    #[test]
    fn external_auth_body_is_a_sorted_go_map_with_the_user_per_release() {
        let user = r#"{"id":3,"username":"alice"}"#;
        let today = external_auth_body(&auth(Some(user)), &Contract::NEWEST);
        assert_eq!(
            String::from_utf8(today).unwrap(),
            r#"{"ip":"10.0.0.1","keyboard_interactive":"","password":"p\u003cw\u003e\u0026","protocol":"SSH","public_key":"","tls_cert":"","user":{"id":3,"username":"alice"},"username":"alice"}"#
        );
        let earlier = external_auth_body(&auth(Some(user)), &Contract::REFERENCE);
        assert!(
            String::from_utf8(earlier)
                .unwrap()
                .contains(r#""user":"{\"id\":3,\"username\":\"alice\"}""#)
        );
        let unknown = external_auth_body(&auth(None), &Contract::NEWEST);
        assert!(!String::from_utf8(unknown).unwrap().contains("\"user\""));
    }

    #[test]
    fn external_auth_reads_both_generations_back() {
        for contract in [Contract::NEWEST, Contract::REFERENCE] {
            let sent = auth(Some(r#"{"id":3,"username":"alice"}"#));
            let (read, object) =
                decode_external_auth(&external_auth_body(&sent, &contract)).unwrap();
            assert_eq!(read, sent);
            assert_eq!(object, Some(contract.has(Change::ExternalAuthUserObject)));
        }
        let (read, object) =
            decode_external_auth(br#"{"username":"bob","keyboard_interactive":"1"}"#).unwrap();
        assert_eq!(
            (read.keyboard_interactive, read.user.clone(), object),
            (true, None, None)
        );
        assert_eq!(read.scope_bit(), 4);
    }

    #[test]
    fn keyboard_rounds_omit_empty_fields_and_step_before_2_2() {
        let round = KbdRound {
            request_id: "r1".into(),
            step: 2,
            username: "alice".into(),
            ip: "10.0.0.1".into(),
            answers: vec!["OK".into()],
            questions: vec!["Password: ".into()],
            ..KbdRound::default()
        };
        assert_eq!(
            String::from_utf8(round.http_body(&Contract::NEWEST)).unwrap(),
            r#"{"request_id":"r1","step":2,"username":"alice","answers":["OK"],"questions":["Password: "]}"#,
            "ip only in step 1"
        );
        assert_eq!(
            String::from_utf8(round.http_body(&Contract::REFERENCE)).unwrap(),
            r#"{"request_id":"r1","username":"alice","answers":["OK"],"questions":["Password: "]}"#
        );
        let (back, current) = KbdRound::decode(&round.http_body(&Contract::REFERENCE)).unwrap();
        assert_eq!((back.step, current), (2, false));
    }

    #[test]
    fn replies_are_validated_as_sftpgo_does() {
        let ask = KbdReply {
            questions: vec!["Code: ".into()],
            echos: vec![],
            ..KbdReply::default()
        };
        assert!(ask.validate().unwrap_err().contains("don't match echos"));
        assert!(KbdReply::default().validate().is_err(), "no questions");
        assert!(KbdReply::denied().validate().is_ok());
        let two = KbdReply {
            questions: vec!["User: ".into(), "Code: ".into()],
            echos: vec![true, false],
            check_password: 1,
            ..KbdReply::default()
        };
        assert_eq!(two.validate(), Ok(()), "SFTPGo ignores check_password here");
        let json = KbdReply {
            instruction: "2FA".into(),
            questions: vec!["Code: ".into()],
            echos: vec![true],
            auth_result: 0,
            check_password: 0,
        }
        .to_json();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"instruction":"2FA","questions":["Code: "],"echos":[true],"auth_result":0,"check_password":0}"#
        );
    }

    #[test]
    fn login_queries_and_env_are_sftpgos() {
        let login = Login {
            username: "alice".into(),
            method: "password".into(),
            ip: "10.0.0.1".into(),
            protocol: "SSH".into(),
        };
        let event = LoginEvent::PostLogin {
            login,
            succeeded: false,
            user: Arc::from(r#"{"username":"alice"}"#),
        };
        let form = event.http(&Contract::NEWEST);
        assert!(!form.get && form.retried);
        assert_eq!(
            form.query,
            [
                ("login_method", "password".to_owned()),
                ("ip", "10.0.0.1".to_owned()),
                ("protocol", "SSH".to_owned()),
                ("status", "0".to_owned())
            ]
        );
        let names: Vec<&str> = event.env().iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "SFTPGO_LOGIND_USER",
                "SFTPGO_LOGIND_IP",
                "SFTPGO_LOGIND_METHOD",
                "SFTPGO_LOGIND_STATUS",
                "SFTPGO_LOGIND_PROTOCOL"
            ]
        );
    }

    #[test]
    fn exec_recognises_each_hook_from_its_variables() {
        let env = |vars: &[(&str, &str)]| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            decode_exec_login(|name| vars.get(name).cloned())
        };
        let kind = |vars: &[(&str, &str)]| match env(vars).unwrap().unwrap() {
            ExecLogin::Event(event) => event.hook().as_str(),
            ExecLogin::KeyboardInteractive { .. } => "keyboard_interactive",
        };
        let user = r#"{"username":"alice","id":0}"#;
        assert_eq!(kind(&[("SFTPGO_LOGIND_USER", user)]), "pre_login");
        assert_eq!(
            kind(&[("SFTPGO_LOGIND_USER", user), ("SFTPGO_LOGIND_STATUS", "1")]),
            "post_login"
        );
        assert_eq!(
            kind(&[
                ("SFTPGO_AUTHD_USERNAME", "a"),
                ("SFTPGO_AUTHD_PUBLIC_KEY", ""),
                ("SFTPGO_AUTHD_KEYBOARD_INTERACTIVE", "")
            ]),
            "external_auth"
        );
        assert_eq!(
            kind(&[
                ("SFTPGO_AUTHD_USERNAME", "a"),
                ("SFTPGO_AUTHD_PROTOCOL", "SSH")
            ]),
            "check_password"
        );
        assert_eq!(
            kind(&[("SFTPGO_AUTHD_USERNAME", "a")]),
            "keyboard_interactive"
        );
        assert_eq!(kind(&[("SFTPGO_CONNECTION_IP", "::1")]), "post_connect");
        assert_eq!(
            kind(&[
                ("SFTPGO_CONNECTION_IP", "::1"),
                ("SFTPGO_CONNECTION_DURATION", "12")
            ]),
            "post_disconnect"
        );
        assert!(env(&[("HOME", "/root")]).is_none());
        let bad = env(&[("SFTPGO_LOGIND_USER", "not json")]).unwrap();
        assert_eq!(bad.unwrap_err().field, "SFTPGO_LOGIND_USER");
    }

    #[test]
    fn the_tls_certificate_travels_with_literal_newlines_in_the_environment() {
        let event = LoginEvent::ExternalAuth(ExternalAuth {
            tls_cert: "-----BEGIN\nABC\n-----END\n".into(),
            ..auth(None)
        });
        let env = event.env();
        let cert = &env
            .iter()
            .find(|(k, _)| *k == "SFTPGO_AUTHD_TLS_CERT")
            .unwrap()
            .1;
        assert_eq!(cert, "-----BEGIN\\nABC\\n-----END\\n");
        let vars: HashMap<&str, String> = env.into_iter().collect();
        match decode_exec_login(|name| vars.get(name).cloned())
            .unwrap()
            .unwrap()
        {
            ExecLogin::Event(back) => assert_eq!(back, event),
            other => panic!("{other:?}"),
        }
    }
}
