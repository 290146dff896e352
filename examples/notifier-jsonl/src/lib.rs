//! `notifier-jsonl`: a notifier plugin that appends each event as one JSON
//! line to `fs.jsonl`, `provider.jsonl` or `log.jsonl` in a directory.
//!
//! Its first argument is the directory's guest path; grant it writable:
//!
//! ```json
//! {"type": "notifier", "cmd": "notifier_jsonl.wasm", "args": ["/events"],
//!  "notifier_options": {"fs_events": ["upload", "delete"], "retry_max_time": 60},
//!  "grants": {"dirs": [{"host": "/var/lib/hookhost/events", "guest": "/events", "writable": true}]}}
//! ```
//!
//! While a file named `paused` exists in the directory, the plugin refuses
//! events, so the host queues them and re-sends them once it is removed
//! (handy during backups or log rotation).
//!
//! Each line is an event as SFTPGo's own event store keeps it
//! (sftpgo-plugin-eventstore's `FsEvent`, `ProviderEvent`, `LogEvent`), so
//! SFTPGo's event search API and WebAdmin read what `eventsearcher-jsonl`
//! returns from it: `fs_path` and `fs_target_path` for the paths, the
//! status numbered as SFTPGo 2.2+ does (1 ok, 2 error, 3 quota), a
//! provider event's `object_data` as base64 bytes (Go's `[]byte`). Each
//! carries an `id` (`<timestamp>-<sequence>`) that the searcher uses to
//! continue searches.

use std::cell::Cell;
use std::io::Write;

use hookhost_guest::{FsEvent, LogEvent, Notifier, ProviderEvent};
use serde_json::{Map, Value, json};

thread_local! {
    static SEQUENCE: Cell<u64> = const { Cell::new(0) };
}

fn dir() -> String {
    std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/events".to_owned())
}

fn next_id(timestamp: i64) -> String {
    let seq = SEQUENCE.with(|s| {
        s.set(s.get() + 1);
        s.get()
    });
    format!("{timestamp}-{seq}")
}

fn append(file: &str, timestamp: i64, mut record: Map<String, Value>) -> Result<(), String> {
    let dir = dir();
    if std::path::Path::new(&format!("{dir}/paused")).exists() {
        return Err("paused".into());
    }
    record.insert("id".into(), json!(next_id(timestamp)));
    record.insert("timestamp".into(), json!(timestamp));
    let mut line = Value::Object(record).to_string();
    line.push('\n');
    let path = format!("{dir}/{file}");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| format!("{path}: {e}"))
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

struct JsonLines;

impl Notifier for JsonLines {
    fn notify_fs_event(event: FsEvent) -> Result<(), String> {
        let timestamp = event.timestamp.unwrap_or_default();
        let mut record = Map::new();
        let mut put = |key: &str, value: Value| {
            record.insert(key.to_owned(), value);
        };
        // The event store's fields, in its order; `omitempty` ones left out
        // when empty.
        put("action", json!(event.action.as_str()));
        put("username", json!(event.username));
        put("fs_path", json!(event.path));
        if let Some(target) = non_empty(&event.target_path) {
            put("fs_target_path", json!(target));
        }
        put("virtual_path", json!(event.virtual_path.unwrap_or_default()));
        if let Some(target) = non_empty(&event.virtual_target_path) {
            put("virtual_target_path", json!(target));
        }
        if let Some(cmd) = non_empty(&event.ssh_cmd) {
            put("ssh_cmd", json!(cmd));
        }
        if event.file_size != 0 {
            put("file_size", json!(event.file_size));
        }
        if event.elapsed != 0 {
            put("elapsed", json!(event.elapsed));
        }
        put("status", json!(event.status.current_code()));
        put("protocol", json!(event.protocol.as_str()));
        if let Some(ip) = non_empty(&event.ip) {
            put("ip", json!(ip));
        }
        put("session_id", json!(event.session_id.unwrap_or_default()));
        put("fs_provider", json!(event.fs_provider.code()));
        if let Some(bucket) = non_empty(&event.bucket) {
            put("bucket", json!(bucket));
        }
        if let Some(endpoint) = non_empty(&event.endpoint) {
            put("endpoint", json!(endpoint));
        }
        if event.open_flags != 0 {
            put("open_flags", json!(event.open_flags));
        }
        if let Some(role) = non_empty(&event.role) {
            put("role", json!(role));
        }
        append("fs.jsonl", timestamp, record)
    }

    fn notify_provider_event(event: ProviderEvent) -> Result<(), String> {
        use base64::Engine;
        let timestamp = event.timestamp.unwrap_or_default();
        let mut record = object(json!({
            "action": event.action.as_str(),
            "username": event.executor.unwrap_or_default(),
        }));
        if let Some(ip) = non_empty(&event.ip) {
            record.insert("ip".into(), json!(ip));
        }
        record.insert("object_type".into(), json!(event.object_type.as_str()));
        record.insert("object_name".into(), json!(event.object_name));
        // Go's []byte: base64, which SFTPGo's API passes on as it is.
        let data = base64::engine::general_purpose::STANDARD.encode(event.object_data);
        record.insert("object_data".into(), json!(data));
        if let Some(role) = non_empty(&event.role) {
            record.insert("role".into(), json!(role));
        }
        append("provider.jsonl", timestamp, record)
    }

    fn notify_log_event(event: LogEvent) -> Result<(), String> {
        let mut record = object(json!({"event": event.kind.code()}));
        for (key, value) in [
            ("protocol", event.protocol.as_str().to_owned()),
            ("username", event.username),
            ("ip", event.ip),
            ("message", event.message),
            ("role", event.role.unwrap_or_default()),
        ] {
            if !value.is_empty() {
                record.insert(key.into(), json!(value));
            }
        }
        append("log.jsonl", event.timestamp, record)
    }
}

hookhost_guest::export_notifier!(JsonLines);
