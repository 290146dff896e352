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
//! Each line carries an `id` (`<timestamp>-<sequence>`) that the
//! `eventsearcher-jsonl` example uses to continue searches.

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
        let record = object(serde_json::from_str(&event.to_json()).map_err(|e| e.to_string())?);
        append("fs.jsonl", timestamp, record)
    }

    fn notify_provider_event(event: ProviderEvent) -> Result<(), String> {
        let timestamp = event.timestamp.unwrap_or_default();
        let object_data: Value = serde_json::from_str(&event.object_data).unwrap_or(Value::Null);
        let record = object(json!({
            "action": event.action.as_str(),
            "object_type": event.object_type.as_str(),
            "object_name": event.object_name,
            "username": event.executor,
            "ip": event.ip,
            "object_data": object_data,
        }));
        append("provider.jsonl", timestamp, record)
    }

    fn notify_log_event(event: LogEvent) -> Result<(), String> {
        let record = object(json!({
            "event": event.kind.code(),
            "protocol": event.protocol.as_str(),
            "username": event.username,
            "ip": event.ip,
            "message": event.message,
            "role": event.role,
        }));
        append("log.jsonl", event.timestamp, record)
    }
}

hookhost_guest::export_notifier!(JsonLines);
