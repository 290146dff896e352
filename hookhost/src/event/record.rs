//! An accepted event as bytes — a *record*: the event for the hooks, its
//! id, the SFTPGo release whose contract it is handled in and when it was
//! accepted. The journal keeps records in its hook table; the shared queue
//! publishes one per hook. A file-system event is kept as today's SFTPGo
//! JSON body (every field), a provider event as its parts with the
//! object's JSON exactly as hooks receive it.

use std::str::FromStr;
use std::sync::Arc;

use serde_json::{Value, json};

use super::fs::http::{decode_fs_event_as, encode_fs_event};
use super::login::{Disconnection, Login, LoginEvent};
use super::{
    Contract, FsEvent, ObjectType, ProviderAction, ProviderEvent, SftpgoVersion, VersionSetting,
};

/// An accepted event for the hooks.
#[derive(Debug, PartialEq)]
pub(crate) enum Record {
    Fs(Box<FsEvent>, Contract),
    Provider(ProviderEvent, Contract),
    /// A post-login or post-disconnect event (the queued login events).
    Login(Box<LoginEvent>, Contract),
}

/// A record and its event's id.
#[derive(Debug, PartialEq)]
pub(crate) struct Decoded {
    pub(crate) id: Arc<str>,
    pub(crate) record: Record,
}

/// The record of a file-system event.
pub(crate) fn encode_fs(event: &FsEvent, contract: Contract, id: &str) -> Vec<u8> {
    let body = encode_fs_event(event, &Contract::NEWEST);
    let mut entry = format!(
        r#"{{"kind":"fs","id":{},"contract":"{}","accepted_ms":{},"event":"#,
        serde_json::Value::from(id),
        contract.version(),
        crate::clock::now_ms()
    )
    .into_bytes();
    entry.extend_from_slice(&body);
    entry.push(b'}');
    entry
}

/// The record of a provider event.
pub(crate) fn encode_provider(event: &ProviderEvent, contract: Contract, id: &str) -> Vec<u8> {
    let mut entry = provider_json(event);
    entry["kind"] = "provider".into();
    entry["id"] = id.into();
    entry["contract"] = contract.version().to_string().into();
    entry["accepted_ms"] = crate::clock::now_ms().into();
    entry.to_string().into_bytes()
}

/// The record of a queued login event (post-login, post-disconnect; `None`
/// for the others, which are answered at once).
pub(crate) fn encode_login(event: &LoginEvent, contract: Contract, id: &str) -> Option<Vec<u8>> {
    let event = match event {
        LoginEvent::PostLogin {
            login,
            succeeded,
            user,
        } => json!({"hook": "post_login", "username": login.username, "method": login.method,
            "ip": login.ip, "protocol": login.protocol, "succeeded": succeeded, "user": &**user}),
        LoginEvent::PostDisconnect(d) => json!({"hook": "post_disconnect", "username": d.username,
            "ip": d.ip, "protocol": d.protocol, "duration_ms": d.duration_ms}),
        _ => return None,
    };
    Some(
        json!({"kind": "login", "id": id, "contract": contract.version().to_string(),
            "accepted_ms": crate::clock::now_ms(), "event": event})
        .to_string()
        .into_bytes(),
    )
}

fn login_from(value: &Value) -> Result<LoginEvent, String> {
    let field = |name: &str| text(value, name).map_err(|e| format!("event.{e}"));
    match value["hook"].as_str() {
        Some("post_login") => Ok(LoginEvent::PostLogin {
            login: Login {
                username: field("username")?,
                method: field("method")?,
                ip: field("ip")?,
                protocol: field("protocol")?,
            },
            succeeded: value["succeeded"]
                .as_bool()
                .ok_or("event.succeeded: missing")?,
            user: Arc::from(field("user")?),
        }),
        Some("post_disconnect") => Ok(LoginEvent::PostDisconnect(Disconnection {
            username: field("username")?,
            ip: field("ip")?,
            protocol: field("protocol")?,
            duration_ms: value["duration_ms"]
                .as_i64()
                .ok_or("event.duration_ms: missing")?,
        })),
        other => Err(format!("event.hook: unknown {other:?}")),
    }
}

pub(crate) fn provider_json(event: &ProviderEvent) -> Value {
    json!({
        "action": event.action.as_str(),
        "object_type": event.object_type.as_str(),
        "object_name": event.object_name,
        "object": &*event.object_json,
        "executor": event.executor,
        "ip": event.ip,
        "role": event.role,
        "timestamp": event.timestamp,
    })
}

pub(crate) fn text(value: &Value, field: &str) -> Result<String, String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{field}: missing"))
}

pub(crate) fn optional(value: &Value, field: &str) -> Option<String> {
    value[field].as_str().map(str::to_owned)
}

/// Read a record back, with its event's id.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let id = Arc::from(text(&value, "id")?);
    let version = SftpgoVersion::from_str(&text(&value, "contract")?)
        .map_err(|e| format!("contract: {e}"))?;
    let contract = Contract::of(version);
    let record = match value["kind"].as_str() {
        Some("fs") => Record::Fs(Box::new(fs_from(&value["event"])?), contract),
        Some("provider") => Record::Provider(provider_from(&value)?, contract),
        Some("login") => Record::Login(Box::new(login_from(&value["event"])?), contract),
        other => return Err(format!("kind: unknown {other:?}")),
    };
    Ok(Decoded { id, record })
}

pub(crate) fn fs_from(value: &Value) -> Result<FsEvent, String> {
    let body = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    decode_fs_event_as(&body, VersionSetting::Auto).map_err(|e| format!("event: {e}"))
}

pub(crate) fn provider_from(value: &Value) -> Result<ProviderEvent, String> {
    let action =
        ProviderAction::from_str(&text(value, "action")?).map_err(|e| format!("action: {e}"))?;
    let object_type = ObjectType::from_str(&text(value, "object_type")?)
        .map_err(|e| format!("object_type: {e}"))?;
    let object = text(value, "object")?;
    let mut event = ProviderEvent::from_json(action, object_type, object.as_bytes())
        .map_err(|e| format!("object: {e}"))?;
    event.object_name = text(value, "object_name")?;
    event.executor = optional(value, "executor");
    event.ip = optional(value, "ip");
    event.role = optional(value, "role");
    event.timestamp = value["timestamp"].as_i64();
    Ok(event)
}

/// One line describing a record, for an operator (`hookhost queue ls`):
/// kind, action, what it is about, the SFTPGo release.
pub(crate) fn describe(record: &Record) -> String {
    match record {
        Record::Fs(event, contract) => format!(
            "fs {} {} {} (SFTPGo {})",
            event.action.as_str(),
            event.username,
            event.path,
            contract.version()
        ),
        Record::Provider(event, contract) => format!(
            "provider {} {} {} (SFTPGo {})",
            event.action.as_str(),
            event.object_type.as_str(),
            event.object_name,
            contract.version()
        ),
        Record::Login(event, contract) => format!(
            "login {} {} (SFTPGo {})",
            event.hook(),
            event.username(),
            contract.version()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{FsAction, Protocol};

    #[test]
    fn queued_login_events_come_back_as_they_went_in() {
        let contract = Contract::of("2.3".parse().unwrap());
        let events = [
            LoginEvent::PostLogin {
                login: Login {
                    username: "alice".into(),
                    method: "publickey".into(),
                    ip: "10.0.0.1".into(),
                    protocol: "SSH".into(),
                },
                succeeded: false,
                user: Arc::from(r#"{"id":1,"username":"alice"}"#),
            },
            LoginEvent::PostDisconnect(Disconnection {
                ip: "10.0.0.2".into(),
                protocol: "FTP".into(),
                username: String::new(),
                duration_ms: 1500,
            }),
        ];
        for event in events {
            let decoded = decode(&encode_login(&event, contract, "e9").unwrap()).unwrap();
            assert_eq!(&*decoded.id, "e9");
            assert_eq!(decoded.record, Record::Login(Box::new(event), contract));
        }
        assert!(encode_login(&LoginEvent::Startup, contract, "e").is_none());
    }

    #[test]
    fn events_come_back_as_they_went_in() {
        let mut fs = FsEvent::new(FsAction::Rename, "alice", "/srv/a b.txt", Protocol::Sftp);
        fs.target_path = Some("/srv/c \"d\".txt".into());
        fs.virtual_path = Some("/a b.txt".into());
        fs.virtual_target_path = Some("/c \"d\".txt".into());
        fs.file_size = 42;
        fs.timestamp = Some(1_700_000_000_000_000_000);
        fs.ip = Some("192.0.2.1".into());
        fs.session_id = Some("s1".into());
        fs.role = Some("ops".into());
        let contract = Contract::of("2.4".parse().unwrap());
        let decoded = decode(&encode_fs(&fs, contract, "e1")).unwrap();
        assert_eq!(&*decoded.id, "e1");
        match decoded.record {
            Record::Fs(back, c) => {
                assert_eq!(c, contract);
                assert_eq!(back.action, fs.action);
                assert_eq!(back.path, fs.path);
                assert_eq!(back.target_path, fs.target_path);
                assert_eq!(back.virtual_target_path, fs.virtual_target_path);
                assert_eq!(back.file_size, 42);
                assert_eq!(back.timestamp, fs.timestamp);
                assert_eq!(back.role, fs.role);
                assert_eq!(back.session_id, fs.session_id);
            }
            other => panic!("{other:?}"),
        }
        let mut provider = ProviderEvent::from_json(
            ProviderAction::Update,
            ObjectType::User,
            br#"{"username":"bob","status":1,"password":"$2a$10$x"}"#,
        )
        .unwrap();
        provider.executor = Some("admin".into());
        provider.timestamp = Some(7);
        let back = decode(&encode_provider(&provider, Contract::NEWEST, "e2")).unwrap();
        assert_eq!(
            back,
            Decoded {
                id: Arc::from("e2"),
                record: Record::Provider(provider, Contract::NEWEST)
            }
        );
        assert!(decode(br#"{"kind":"nope","id":"x","contract":"2.7"}"#).is_err());
    }
}
