//! Login and connection events: what SFTPGo's login-related hooks receive
//! (pre-login, external auth, check-password, keyboard-interactive,
//! post-login, post-connect, post-disconnect, startup), how each form
//! carries them (a program's environment, a URL's query and body), and how
//! SFTPGo reads the answers.
//!
//! Encodings follow the release of the [`Contract`](super::Contract): the
//! keyboard-interactive `step` from 2.2, the external-auth `user` as a JSON
//! object from 2.3 (a JSON string before). Everything else has not changed
//! since 2.1. Bodies
//! are what Go's `encoding/json` writes (HTML characters escaped; a map's
//! keys sorted), queries what `url.Values.Encode` writes.
//!
//! The reverse, for hookhost's fronts: the same forms read back from a
//! request (`serve`) or an environment (`hookhost exec`).

mod exec;
mod http;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::go::go_marshal;
use super::named_enum;
use crate::error::FieldError;

pub use exec::{ExecLogin, decode_exec_login};
pub use http::{HttpForm, decode_connection_request, decode_external_auth, decode_login_request};

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
}

fn status_flag(succeeded: bool) -> &'static str {
    if succeeded { "1" } else { "0" }
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::http::external_auth_body;
    use super::*;
    use crate::event::{Change, Contract};

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
