//! The program form of login events: the variables SFTPGo sets for a
//! program and, for `hookhost exec`, the same variables read back.

use std::sync::Arc;

use super::{
    Connection, Disconnection, ExternalAuth, KbdRound, Login, LoginEvent, PasswordCheck,
    status_flag, user_json, username_of,
};
use crate::error::FieldError;

impl LoginEvent {
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

impl KbdRound {
    /// The variables SFTPGo gives the program of an exchange.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SFTPGO_AUTHD_USERNAME", self.username.clone()),
            ("SFTPGO_AUTHD_IP", self.ip.clone()),
            ("SFTPGO_AUTHD_PASSWORD", self.password.clone()),
        ]
    }
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
