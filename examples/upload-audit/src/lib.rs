//! `upload-audit`: appends one JSON line per event to `events.jsonl` in a
//! granted directory.
//!
//! Grant a writable directory and tell the hook its guest path with
//! `AUDIT_DIR` (default `/audit`):
//!
//! ```json
//! {"hook": "upload_audit.wasm", "execute_on": ["upload", "delete", "rename"],
//!  "grants": {"dirs": [{"host": "/var/log/hookhost", "guest": "/audit", "writable": true}]}}
//! ```
//!
//! Each line is the event's SFTPGo JSON body plus `recorded_at` (seconds
//! since the epoch, from the guest's clock) and, for an asynchronous event,
//! `event_id`: the same on every delivery of the event (a replay after a
//! crash), so a reader can drop the repeats.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use hookhost_guest::{FsEvent, FsHook, Verdict, log};

struct UploadAudit;

impl FsHook for UploadAudit {
    fn handle(event: FsEvent) -> Verdict {
        let dir = std::env::var("AUDIT_DIR").unwrap_or_else(|_| "/audit".to_owned());
        let path = format!("{dir}/events.jsonl");
        let recorded_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut line = event.to_json();
        line.pop();
        line.push_str(&format!(",\"recorded_at\":{recorded_at}"));
        if let Some(id) = hookhost_guest::event_id() {
            line.push_str(&format!(
                ",\"event_id\":{}",
                hookhost_guest::json_quote(&id)
            ));
        }
        line.push_str("}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        match written {
            Ok(()) => Verdict::Allow,
            Err(err) => {
                log::error(
                    "cannot append the audit line",
                    &[("file", &path), ("error", &err.to_string())],
                );
                Verdict::Deny(format!("cannot write {path}: {err}"))
            }
        }
    }
}

hookhost_guest::export_fs_hook!(UploadAudit);
