//! SFTPGo's JSON body for file-system events.
//!
//! [`encode_fs_event`] writes the body an SFTPGo release sends to an HTTP
//! hook: that release's fields, inclusion rules and `status` numbering, in
//! its field order, with the bytes of Go's `json.Encoder` (HTML-safe
//! escaping and a trailing newline).
//!
//! [`decode_fs_event_as`] reads what a server POSTs: the reference body or
//! the richer body of today's releases (`virtual_path`, `timestamp`, `ip`,
//! `session_id`, `role`, `elapsed`, `metadata`, ...). `status` is read in
//! the numbering of the release the [`VersionSetting`] names; in `auto`, a
//! body carrying any field only today's releases send is read in theirs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{FsAction, FsEvent, FsProvider, Protocol, Status};
use crate::error::FieldError;
use crate::event::go::go_json;
use crate::event::{Change, Contract, Releases, VersionSetting, non_empty};
use crate::json::from_json;

#[derive(Deserialize)]
struct Body {
    action: String,
    username: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    target_path: Option<String>,
    #[serde(default)]
    ssh_cmd: Option<String>,
    #[serde(default)]
    file_size: i64,
    #[serde(default)]
    fs_provider: u32,
    #[serde(default)]
    bucket: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    status: Option<i64>,
    protocol: String,
    #[serde(default)]
    open_flags: i32,
    // Sent only by today's SFTPGo releases.
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    virtual_path: Option<String>,
    #[serde(default)]
    virtual_target_path: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    elapsed: Option<i64>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
}

/// Decode the JSON body SFTPGo POSTs to an HTTP hook, from whichever release
/// sent it (`status` numbering told by the body's form).
pub fn decode_fs_event(bytes: &[u8]) -> Result<FsEvent, FieldError> {
    decode_fs_event_as(bytes, VersionSetting::Auto)
}

/// Decode the JSON body SFTPGo POSTs to an HTTP hook, reading `status` in
/// the numbering of the release `setting` names.
pub fn decode_fs_event_as(bytes: &[u8], setting: VersionSetting) -> Result<FsEvent, FieldError> {
    let body: Body = from_json(bytes)?;
    let action = body
        .action
        .parse::<FsAction>()
        .map_err(|e| FieldError::new("action", e.to_string()))?;
    // An `ip` or `role` sent empty still marks today's form.
    let sent_today = body.ip.is_some() || body.role.is_some();
    let mut event = FsEvent {
        action,
        username: body.username,
        path: body.path,
        target_path: non_empty(body.target_path),
        virtual_path: body.virtual_path,
        virtual_target_path: non_empty(body.virtual_target_path),
        ssh_cmd: non_empty(body.ssh_cmd),
        file_size: body.file_size,
        fs_provider: FsProvider::from_code(body.fs_provider),
        bucket: non_empty(body.bucket),
        endpoint: non_empty(body.endpoint),
        status: Status::Ok,
        protocol: Protocol::parse(&body.protocol),
        open_flags: body.open_flags,
        timestamp: body.timestamp,
        ip: non_empty(body.ip),
        session_id: non_empty(body.session_id),
        role: non_empty(body.role),
        elapsed: body.elapsed.unwrap_or(0),
        metadata: body.metadata.unwrap_or_default(),
        sent_by: None,
    };
    if sent_today && event.releases().is_reference() {
        event.sent_by = Some(Releases::since(Change::VirtualPathIpTimestamp.since()));
    }
    let contract = setting.contract(event.releases());
    if let Some(code) = body.status {
        event.status = Status::from_code_in(code, &contract).ok_or_else(|| {
            let expected = if contract.has(Change::StatusRenumbered) {
                format!("1 (ok), 2 (error) or 3 (quota exceeded), the numbering of {contract}")
            } else {
                format!("0 (error), 1 (ok) or 2 (quota exceeded), the numbering of {contract}")
            };
            FieldError::new(
                "status",
                format!("unknown status {code}, expected {expected}"),
            )
        })?;
    }
    Ok(event)
}

/// The reference body, field for field and in the reference's order.
#[derive(Serialize)]
struct ReferenceBody<'a> {
    action: &'a str,
    username: &'a str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssh_cmd: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_size: Option<i64>,
    fs_provider: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<&'a str>,
    status: i32,
    protocol: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    open_flags: Option<i32>,
}

/// The body of releases from 2.2 on: SFTPGo SDK's `notifier.FsEvent`, in
/// its field order. A field the release does not have yet is `None`.
#[derive(Serialize)]
struct CurrentBody<'a> {
    action: &'a str,
    username: &'a str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_path: Option<&'a str>,
    virtual_path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    virtual_target_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssh_cmd: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_size: Option<i64>,
    fs_provider: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<&'a str>,
    status: i32,
    protocol: &'a str,
    ip: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    open_flags: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    elapsed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a BTreeMap<String, String>>,
}

/// Encode an event as the HTTP hook body of the release of `contract`.
///
/// The reference (2.1): `target_path`, `ssh_cmd`, `bucket` and `endpoint`
/// only when set, `file_size` only when greater than 0, `open_flags` only
/// when non-zero, `status` 0 error / 1 ok / 2 quota. From 2.2 on, SFTPGo
/// SDK's `FsEvent`: `virtual_path`, `ip` and `timestamp` always (a missing
/// timestamp is now), the fields of later releases as they arrived, Go's
/// `omitempty` for the optional ones, `status` 1 ok / 2 error / 3 quota.
/// The bytes match Go's `json.Encoder`: `<`, `>`, `&`, U+2028 and U+2029
/// are escaped and the document ends with a newline.
pub fn encode_fs_event(event: &FsEvent, contract: &Contract) -> Vec<u8> {
    fn opt(value: &Option<String>) -> Option<&str> {
        value.as_deref().filter(|v| !v.is_empty())
    }
    if !contract.has(Change::VirtualPathIpTimestamp) {
        return go_json(&ReferenceBody {
            action: event.action.as_str(),
            username: &event.username,
            path: &event.path,
            target_path: opt(&event.target_path),
            ssh_cmd: opt(&event.ssh_cmd),
            file_size: (event.file_size > 0).then_some(event.file_size),
            fs_provider: event.fs_provider.code(),
            bucket: opt(&event.bucket),
            endpoint: opt(&event.endpoint),
            status: event.status.code_in(contract),
            protocol: event.protocol.as_str(),
            open_flags: (event.open_flags != 0).then_some(event.open_flags),
        });
    }
    let since = |change: Change| contract.has(change);
    go_json(&CurrentBody {
        action: event.action.as_str(),
        username: &event.username,
        path: &event.path,
        target_path: opt(&event.target_path),
        virtual_path: event.virtual_path.as_deref().unwrap_or(""),
        virtual_target_path: opt(&event.virtual_target_path),
        ssh_cmd: opt(&event.ssh_cmd),
        file_size: (event.file_size != 0).then_some(event.file_size),
        fs_provider: event.fs_provider.code(),
        bucket: opt(&event.bucket),
        endpoint: opt(&event.endpoint),
        status: event.status.code_in(contract),
        protocol: event.protocol.as_str(),
        ip: event.ip.as_deref().unwrap_or(""),
        session_id: since(Change::SessionId).then(|| event.session_id.as_deref().unwrap_or("")),
        timestamp: event.timestamp.unwrap_or_else(crate::clock::now_ns),
        open_flags: (event.open_flags != 0).then_some(event.open_flags),
        role: opt(&event.role).filter(|_| since(Change::Role)),
        elapsed: (event.elapsed != 0 && since(Change::Elapsed)).then_some(event.elapsed),
        metadata: (!event.metadata.is_empty() && since(Change::Metadata))
            .then_some(&event.metadata),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload() -> FsEvent {
        let mut ev = FsEvent::new(
            FsAction::Upload,
            "alice",
            "/srv/alice/a.txt",
            Protocol::Sftp,
        );
        ev.file_size = 42;
        ev
    }

    #[test]
    fn encodes_reference_fields_in_order_with_go_newline() {
        let body = encode_fs_event(&upload(), &Contract::REFERENCE);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"action\":\"upload\",\"username\":\"alice\",\"path\":\"/srv/alice/a.txt\",\"file_size\":42,\"fs_provider\":0,\"status\":1,\"protocol\":\"SFTP\"}\n"
        );
    }

    #[test]
    fn omits_zero_size_and_includes_rename_target() {
        let mut ev = FsEvent::new(FsAction::Rename, "bob", "/a", Protocol::Ftp);
        ev.target_path = Some("/b".into());
        let text = String::from_utf8(encode_fs_event(&ev, &Contract::REFERENCE)).unwrap();
        assert!(text.contains("\"target_path\":\"/b\""));
        assert!(!text.contains("file_size"));
        assert!(!text.contains("ssh_cmd"));
        assert!(!text.contains("open_flags"));
    }

    #[test]
    fn escapes_html_characters_like_go() {
        let ev = FsEvent::new(FsAction::Delete, "a&b", "/x<y>\u{2028}", Protocol::Dav);
        let text = String::from_utf8(encode_fs_event(&ev, &Contract::REFERENCE)).unwrap();
        assert!(text.contains(r#""username":"a\u0026b""#), "{text}");
        assert!(text.contains(r#""path":"/x\u003cy\u003e\u2028""#), "{text}");
    }

    #[test]
    fn round_trips_reference_body() {
        let mut ev = upload();
        ev.status = Status::QuotaExceeded;
        ev.fs_provider = FsProvider::S3;
        ev.bucket = Some("bkt".into());
        assert_eq!(
            decode_fs_event(&encode_fs_event(&ev, &Contract::REFERENCE)).unwrap(),
            ev
        );
    }

    #[test]
    fn reads_current_release_body_and_renumbers_status() {
        let body = br#"{"action":"upload","username":"u","path":"/p","virtual_path":"/p",
            "fs_provider":6,"status":3,"protocol":"HTTPShare","ip":"10.0.0.1",
            "session_id":"s1","timestamp":1700000000000000000,"elapsed":12,"role":"r",
            "metadata":{"k":"v"}}"#;
        let ev = decode_fs_event(body).unwrap();
        assert_eq!(ev.status, Status::QuotaExceeded);
        assert_eq!(ev.fs_provider, FsProvider::HttpFs);
        assert_eq!(ev.protocol, Protocol::Other("HTTPShare".into()));
        assert_eq!(ev.ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(ev.timestamp, Some(1_700_000_000_000_000_000));
        let current_error = br#"{"action":"upload","username":"u","path":"/p","status":2,"protocol":"SFTP","session_id":"x"}"#;
        assert_eq!(
            decode_fs_event(current_error).unwrap().status,
            Status::GenericError
        );
        let reference_quota =
            br#"{"action":"upload","username":"u","path":"/p","status":2,"protocol":"SFTP"}"#;
        assert_eq!(
            decode_fs_event(reference_quota).unwrap().status,
            Status::QuotaExceeded
        );
    }

    #[test]
    fn errors_name_the_field() {
        let err = decode_fs_event(br#"{"action":"uplaod","username":"u","protocol":"SFTP"}"#)
            .unwrap_err();
        assert_eq!(err.field, "action");
        assert!(err.message.contains("uplaod"), "{err}");
        let err = decode_fs_event(
            br#"{"action":"upload","username":"u","protocol":"SFTP","file_size":"big"}"#,
        )
        .unwrap_err();
        assert_eq!(err.field, "file_size");
        let err = decode_fs_event(br#"{"action":"upload","protocol":"SFTP"}"#).unwrap_err();
        assert!(err.message.contains("username"), "{err}");
        let err =
            decode_fs_event(br#"{"action":"upload","username":"u","protocol":"SFTP","status":7}"#)
                .unwrap_err();
        assert_eq!(err.field, "status");
    }
}
