//! The journal's notifier table: an event on its way to one notifier
//! plugin (a *notice*), with when hookhost received it — what ages it for
//! the notifier's `retry_max_time`.

use std::str::FromStr;

use serde_json::{Value, json};

use crate::event::fs::http::encode_fs_event;
use crate::event::record::{fs_from, optional, provider_from, provider_json, text};
use crate::event::{Contract, Event, FsEvent, LogEvent, LogEventKind, Protocol, ProviderEvent};

/// An event on its way to a notifier, borrowed.
#[derive(Clone, Copy)]
pub(crate) enum Notice<'a> {
    Fs(&'a FsEvent),
    Provider(&'a ProviderEvent),
    Log(&'a LogEvent),
}

/// A notice read back.
#[derive(Debug, PartialEq)]
pub(crate) struct Noticed {
    /// The notifier plugin it is for.
    pub(crate) notifier: String,
    pub(crate) event: Box<Event>,
    /// When hookhost received it (Unix milliseconds).
    pub(crate) received_ms: i64,
}

/// The notice of an event for the notifier `notifier`.
pub(crate) fn encode_notice(notifier: &str, notice: Notice<'_>, received_ms: i64) -> Vec<u8> {
    let (kind, event) = match notice {
        Notice::Fs(event) => {
            let mut body: Value =
                serde_json::from_slice(&encode_fs_event(event, &Contract::NEWEST))
                    .unwrap_or(Value::Null);
            // Today's body always has it; a notifier tells absent from empty.
            body["virtual_path"] = json!(event.virtual_path);
            ("fs", body)
        }
        Notice::Provider(event) => ("provider", provider_json(event)),
        Notice::Log(event) => ("log", log_json(event)),
    };
    json!({
        "kind": "notice",
        "id": "",
        "notifier": notifier,
        "received_ms": received_ms,
        "event_kind": kind,
        "event": event,
    })
    .to_string()
    .into_bytes()
}

fn log_json(event: &LogEvent) -> Value {
    json!({
        "event": event.kind.as_str(),
        "protocol": event.protocol.as_str(),
        "username": event.username,
        "ip": event.ip,
        "message": event.message,
        "timestamp": event.timestamp,
        "role": event.role,
    })
}

/// Read a notice back.
pub(crate) fn decode(bytes: &[u8]) -> Result<Noticed, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if value["kind"].as_str() != Some("notice") {
        return Err(format!(
            "kind: {:?} is not a notice",
            value["kind"].as_str()
        ));
    }
    let event = Box::new(match value["event_kind"].as_str() {
        Some("fs") => Event::Fs(fs_from(&value["event"])?),
        Some("provider") => Event::Provider(provider_from(&value["event"])?),
        Some("log") => Event::Log(log_from(&value["event"])?),
        other => return Err(format!("event_kind: unknown {other:?}")),
    });
    Ok(Noticed {
        notifier: text(&value, "notifier")?,
        event,
        received_ms: value["received_ms"]
            .as_i64()
            .ok_or("received_ms: missing")?,
    })
}

/// Whether `bytes` are a notice (the first journals kept notices among
/// the hooks' records).
pub(crate) fn is_notice(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(borrow)]
        kind: Option<&'a str>,
    }
    serde_json::from_slice::<Kind<'_>>(bytes).is_ok_and(|k| k.kind == Some("notice"))
}

fn log_from(value: &Value) -> Result<LogEvent, String> {
    Ok(LogEvent {
        kind: LogEventKind::from_str(&text(value, "event")?).map_err(|e| format!("event: {e}"))?,
        protocol: Protocol::parse(&text(value, "protocol")?),
        username: text(value, "username")?,
        ip: text(value, "ip")?,
        message: text(value, "message")?,
        timestamp: value["timestamp"].as_i64(),
        role: optional(value, "role"),
    })
}

/// One line describing a notice, for an operator (`hookhost queue ls`).
pub(crate) fn describe(notice: &Noticed) -> String {
    let notifier = &notice.notifier;
    match &*notice.event {
        Event::Fs(e) => format!(
            "notifier {notifier}: fs {} {} {}",
            e.action.as_str(),
            e.username,
            e.path
        ),
        Event::Provider(e) => format!(
            "notifier {notifier}: provider {} {} {}",
            e.action.as_str(),
            e.object_type.as_str(),
            e.object_name
        ),
        Event::Log(e) => format!(
            "notifier {notifier}: log {} {} {}",
            e.kind.as_str(),
            e.username,
            e.ip
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{FsAction, ObjectType, ProviderAction};

    #[test]
    fn notices_come_back_with_their_notifier_and_receive_time() {
        let mut fs = FsEvent::new(FsAction::Upload, "alice", "/a", Protocol::Ftp);
        fs.timestamp = Some(5);
        let provider =
            ProviderEvent::from_json(ProviderAction::Add, ObjectType::Group, br#"{"name":"g"}"#)
                .unwrap();
        let log = LogEvent {
            kind: LogEventKind::NotNegotiated,
            protocol: Protocol::Other("HTTPShare".into()),
            username: "u".into(),
            ip: "::1".into(),
            message: "no common algorithm".into(),
            timestamp: Some(9),
            role: None,
        };
        for (notice, event) in [
            (Notice::Fs(&fs), Event::Fs(fs.clone())),
            (
                Notice::Provider(&provider),
                Event::Provider(provider.clone()),
            ),
            (Notice::Log(&log), Event::Log(log.clone())),
        ] {
            let bytes = encode_notice("audit", notice, 1_700_000_000_000);
            assert!(is_notice(&bytes));
            assert_eq!(
                decode(&bytes).unwrap(),
                Noticed {
                    notifier: "audit".into(),
                    event: Box::new(event),
                    received_ms: 1_700_000_000_000
                }
            );
        }
    }
}
