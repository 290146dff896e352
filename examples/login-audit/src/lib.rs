//! `login-audit`: a post-login and post-disconnect hook appending one JSON
//! line per event to `logins.jsonl` in a granted directory. One component
//! serves both keys:
//!
//! ```json
//! {"data_provider": {"post_login_hooks": [{"hook": "login_audit.wasm", "grants": {"dirs":
//!     [{"host": "/var/log/hookhost", "guest": "/audit", "writable": true}]}}]},
//!  "common": {"post_disconnect_hooks": [{"hook": "login_audit.wasm", "grants": {"dirs":
//!     [{"host": "/var/log/hookhost", "guest": "/audit", "writable": true}]}}]}}
//! ```
//!
//! `AUDIT_DIR` (a granted variable) defaults to `/audit`.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use hookhost_guest::log;
use hookhost_guest::login::{Login, PostDisconnect, PostLogin};
use serde_json::{Value, json};

fn append(mut line: Value) -> Result<(), String> {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    line["at"] = json!(at);
    let dir = std::env::var("AUDIT_DIR").unwrap_or_else(|_| "/audit".to_owned());
    let path = format!("{dir}/logins.jsonl");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()))
        .map_err(|err| {
            log::error(
                "cannot append the audit line",
                &[("file", &path), ("error", &err.to_string())],
            );
            format!("cannot write {path}: {err}")
        })
}

struct LoginAudit;

impl PostLogin for LoginAudit {
    fn post_login(login: Login, succeeded: bool, _user: String) -> Result<(), String> {
        append(json!({
            "event": "post-login",
            "username": login.username,
            "method": login.method,
            "ip": login.ip,
            "protocol": login.protocol,
            "succeeded": succeeded,
        }))
    }
}

impl PostDisconnect for LoginAudit {
    fn post_disconnect(
        ip: String,
        protocol: String,
        username: String,
        duration_ms: i64,
    ) -> Result<(), String> {
        append(json!({
            "event": "post-disconnect",
            "username": username,
            "ip": ip,
            "protocol": protocol,
            "duration_ms": duration_ms,
        }))
    }
}

hookhost_guest::export_post_login_hook!(LoginAudit);
hookhost_guest::export_post_disconnect_hook!(LoginAudit);
