//! Logs on stderr as go-plugin's client reads them: one hclog JSON object
//! per line (`@level`, `@message`, `@module`, `@timestamp` and the event's
//! fields). The client re-logs each record at its level through the host's
//! logger (SFTPGo's log, sender `plugins`); a line that is not such an
//! object (or whose timestamp is not in hclog's format) would only reach
//! the host's debug log.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// hclog's JSON line format, as a `tracing_subscriber` event formatter.
#[derive(Clone, Copy, Debug, Default)]
pub struct HclogFormat;

/// hclog's `@timestamp` layout (Go `2006-01-02T15:04:05.000000Z07:00`),
/// the only one go-plugin's client parses.
const TIMESTAMP: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
);

impl<S, N> FormatEvent<S, N> for HclogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writeln!(writer, "{}", record(event, time::OffsetDateTime::now_utc()))
    }
}

fn level(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// One record; serde_json escapes control characters, so a field cannot
/// break the line.
fn record(event: &Event<'_>, now: time::OffsetDateTime) -> Value {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let mut object = Map::new();
    object.insert("@level".into(), level(event.metadata().level()).into());
    object.insert("@message".into(), fields.message.unwrap_or_default().into());
    object.insert("@module".into(), "hookhost".into());
    let timestamp = now
        .to_offset(time::UtcOffset::UTC)
        .format(TIMESTAMP)
        .unwrap_or_default();
    object.insert("@timestamp".into(), timestamp.into());
    object.extend(fields.rest);
    Value::Object(object)
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    rest: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.rest.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn records_are_hclog_json_lines() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(HclogFormat)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(plugin = "auth", calls = 3u64, "line one\nline two");
            tracing::info!(ok = true, "started");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["@level"], "warn");
        assert_eq!(first["@message"], "line one\nline two");
        assert_eq!(first["@module"], "hookhost");
        assert_eq!(first["plugin"], "auth");
        assert_eq!(first["calls"], 3);
        let stamp = first["@timestamp"].as_str().unwrap();
        // 2026-11-25T10:00:00.123456Z
        assert_eq!(stamp.len(), 27, "{stamp}");
        assert_eq!(&stamp[10..11], "T");
        assert_eq!(&stamp[19..20], ".");
        assert!(stamp.ends_with('Z'));
        let second: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(
            (second["@level"].as_str(), second["ok"].as_bool()),
            (Some("info"), Some(true))
        );
    }
}
