//! `auth-file`: an auth plugin with its users in a JSON file: a list of
//! SFTPGo user objects whose `password` is a bcrypt hash (SFTPGo's default;
//! `$2a$`, `$2b$` or `$2y$`) and whose `public_keys` are authorized_keys
//! lines. Its first argument is the file's guest path; grant its directory
//! read-only:
//!
//! ```json
//! {"type": "auth", "cmd": "auth_file.wasm", "args": ["/users/users.json"],
//!  "auth_options": {"scope": 7},
//!  "grants": {"dirs": [{"host": "/etc/hookhost/users", "guest": "/users"}]}}
//! ```
//!
//! It also answers SFTPGo's check-password hook (status 1 or 0).
//!
//! A successful check answers the user's object without its password. The
//! file is read at each check, so edits apply at once. Keyboard-interactive
//! authentication asks for the password in one round. TLS certificates are
//! not supported (the check answers an error).

use hookhost_guest::auth::{Auth, CheckPasswordResult, KeyboardRequest, KeyboardResponse};
use serde_json::Value;

const INVALID: &str = "invalid credentials";

fn users() -> Result<Vec<Value>, String> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/users/users.json".to_owned());
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    match value {
        Value::Array(users) => Ok(users),
        _ => Err(format!("{path}: expected a JSON list of users")),
    }
}

fn find(username: &str) -> Result<Value, String> {
    users()?
        .into_iter()
        .find(|u| u.get("username").and_then(Value::as_str) == Some(username))
        .ok_or_else(|| INVALID.to_owned())
}

/// The user without its password hash, as the login answer.
fn answer(mut user: Value) -> Option<String> {
    if let Value::Object(map) = &mut user {
        map.remove("password");
    }
    Some(user.to_string())
}

fn password_ok(user: &Value, password: &str) -> bool {
    let Some(hash) = user.get("password").and_then(Value::as_str) else {
        return false;
    };
    !password.is_empty() && bcrypt::verify(password, hash).unwrap_or(false)
}

/// The key type and body of an authorized_keys line, ignoring options and comment.
fn key_body(line: &str) -> Option<(&str, &str)> {
    let mut fields = line
        .split_whitespace()
        .skip_while(|f| !f.starts_with("ssh-") && !f.starts_with("ecdsa-"));
    Some((fields.next()?, fields.next()?))
}

struct FileAuth;

impl Auth for FileAuth {
    fn check_user_and_pass(
        username: String,
        password: String,
        _ip: String,
        _protocol: String,
        _user: Option<String>,
    ) -> Result<Option<String>, String> {
        let user = find(&username)?;
        if password_ok(&user, &password) {
            Ok(answer(user))
        } else {
            Err(INVALID.into())
        }
    }

    fn check_user_and_public_key(
        username: String,
        public_key: String,
        _ip: String,
        _protocol: String,
        _user: Option<String>,
    ) -> Result<Option<String>, String> {
        let user = find(&username)?;
        let offered = key_body(&public_key).ok_or_else(|| INVALID.to_owned())?;
        let known = user
            .get("public_keys")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if known
            .iter()
            .filter_map(Value::as_str)
            .any(|k| key_body(k) == Some(offered))
        {
            Ok(answer(user))
        } else {
            Err(INVALID.into())
        }
    }

    fn check_user_and_tls_cert(
        _username: String,
        _tls_cert: String,
        _ip: String,
        _protocol: String,
        _user: Option<String>,
    ) -> Result<Option<String>, String> {
        Err("TLS certificate authentication is not supported by auth-file".into())
    }

    fn check_user_and_keyboard_interactive(
        username: String,
        _ip: String,
        _protocol: String,
        _user: Option<String>,
    ) -> Result<Option<String>, String> {
        find(&username).map(answer)
    }

    fn send_keyboard_auth_request(request: KeyboardRequest) -> Result<KeyboardResponse, String> {
        match request.step {
            1 => Ok(KeyboardResponse {
                instruction: String::new(),
                questions: vec!["Password: ".into()],
                echos: vec![false],
                auth_result: 0,
                check_password: 0,
            }),
            2 => {
                let user = find(&request.username)?;
                let answer = request.answers.first().map(String::as_str).unwrap_or("");
                if password_ok(&user, answer) {
                    Ok(KeyboardResponse {
                        instruction: String::new(),
                        questions: Vec::new(),
                        echos: Vec::new(),
                        auth_result: 1,
                        check_password: 0,
                    })
                } else {
                    Err(INVALID.into())
                }
            }
            step => Err(format!("unexpected keyboard-interactive step {step}")),
        }
    }

    fn check_password(
        username: String,
        password: String,
        _ip: String,
        _protocol: String,
    ) -> Result<CheckPasswordResult, String> {
        let status = match find(&username) {
            Ok(user) if password_ok(&user, &password) => 1,
            _ => 0,
        };
        Ok(CheckPasswordResult {
            status,
            to_verify: String::new(),
        })
    }
}

hookhost_guest::export_auth!(FileAuth);
