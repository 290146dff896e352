//! SFTPGo's Event Manager (2.4 and later): what an event rule's action
//! sends hookhost, and the events it carries.
//!
//! An event rule runs actions when its trigger fires: a file-system event,
//! a provider event, a schedule, an IP the defender blocked, a certificate
//! renewal, a manual (on-demand) run, a login through the identity
//! provider. Its HTTP action posts a body whose `{{.Placeholders}}`
//! SFTPGo fills in (`internal/common/eventmanager.go`,
//! `getStringReplacements`); its Command action runs a program with
//! variables set from the same placeholders. hookhost documents one form of
//! each ([`body_template`], [`query_template`], [`env_template`]) and reads it back
//! into its own model ([`RuleParams::classify`]):
//!
//! - a file-system trigger gives an [`FsEvent`], which the `common.actions`
//!   hooks serve as they serve SFTPGo's legacy hook;
//! - a provider trigger gives a [`ProviderEvent`], for the
//!   `data_provider.actions` hooks;
//! - the triggers legacy hooks never had give a [`RuleEvent`], for the
//!   `common.event_manager.hooks`.
//!
//! The body's form depends on the release ([`Form::of`]): from 2.7 the
//! placeholders are `{{.Name}}`, before `{{Name}}`; from 2.5.1 a JSON body
//! (with a `Content-Type` of `application/json`) gets its values
//! JSON-escaped, while 2.4 and 2.5.0 escape nothing, so for them the
//! values go in the query string (which SFTPGo URL-encodes) and the body
//! carries the object alone. Placeholders a release does not have are left
//! out of its form.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::go::go_marshal;
use super::{
    Change, FsAction, FsEvent, FsProvider, ObjectType, Protocol, ProviderAction, ProviderEvent,
    Releases, SftpgoVersion, Status, named_enum, non_empty,
};
use crate::error::FieldError;

named_enum! {
    /// The Event Manager triggers legacy hooks never had, by the name a
    /// hook's `execute_on` gives them.
    RuleTrigger, "rule trigger" {
        IpBlocked = "ip-blocked",
        CertificateRenewal = "certificate-renewal",
        Schedule = "schedule",
        OnDemand = "on-demand",
        IdpLogin = "idp-login",
    }
}

impl RuleTrigger {
    /// SFTPGo's trigger number (`EventTrigger*`).
    pub fn code(self) -> i32 {
        match self {
            RuleTrigger::Schedule => 3,
            RuleTrigger::IpBlocked => 4,
            RuleTrigger::CertificateRenewal => 5,
            RuleTrigger::OnDemand => 6,
            RuleTrigger::IdpLogin => 7,
        }
    }
}

/// What SFTPGo's placeholders hold for one event (`EventParams`), read from
/// hookhost's documented action.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleParams {
    /// `{{.Event}}`: the fs action, the provider action, `IP Blocked`,
    /// `Certificate renewal`, `Schedule`, `IDP login user`/`admin`, or
    /// empty for an on-demand run.
    pub event: String,
    /// `{{.Name}}`: the user, the provider event's executor, the rule's
    /// name (schedule), the domains (certificate).
    pub name: String,
    /// `{{.Status}}`: 1 ok, 2 error, 3 quota exceeded.
    pub status: i64,
    /// `{{.VirtualPath}}`.
    pub virtual_path: String,
    /// `{{.FsPath}}`.
    pub fs_path: String,
    /// `{{.VirtualTargetPath}}`.
    pub virtual_target_path: String,
    /// `{{.FsTargetPath}}`.
    pub fs_target_path: String,
    /// `{{.ObjectName}}`: the file's base name, or the provider object's name.
    pub object_name: String,
    /// `{{.ObjectType}}`: the provider object's type.
    pub object_type: String,
    /// `{{.FileSize}}`.
    pub file_size: i64,
    /// `{{.Elapsed}}` (ms; 2.5+).
    pub elapsed: i64,
    /// `{{.Protocol}}`.
    pub protocol: String,
    /// `{{.IP}}`.
    pub ip: String,
    /// `{{.Role}}` (2.5+).
    pub role: String,
    /// `{{.Email}}` (2.5.2+).
    pub email: String,
    /// `{{.Timestamp}}`, ns (for an on-demand run, Go's zero time).
    pub timestamp: i64,
    /// `{{.UID}}` (2.6+): the event's unique id, where SFTPGo made one.
    pub uid: String,
    /// `{{.ErrorString}}`: what failed, comma-separated.
    pub error: String,
    /// `{{.ObjectData}}`: the provider object's JSON, if any.
    pub object_data: Option<String>,
    /// `{{.Metadata}}` (2.6+).
    pub metadata: BTreeMap<String, String>,
}

/// An event of a trigger legacy hooks never had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleEvent {
    /// Which trigger fired.
    pub trigger: RuleTrigger,
    /// What the action sent.
    pub params: RuleParams,
}

/// What an event rule's action carried, in hookhost's model.
// One per request: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum RuleRequest {
    /// A file-system trigger.
    Fs(FsEvent),
    /// A provider trigger.
    Provider(ProviderEvent),
    /// Any other trigger.
    Rule(RuleEvent),
}

/// How a value is written into a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A JSON string: `"{{.X}}"`.
    Text,
    /// A JSON number: `{{.X}}`.
    Number,
    /// JSON as it is: `{{.X}}`.
    Json,
}

/// One field of the documented action: its key, SFTPGo's placeholder, and
/// the first release with that placeholder.
struct Field {
    key: &'static str,
    placeholder: &'static str,
    kind: Kind,
    since: SftpgoVersion,
}

const fn v(major: u16, minor: u16, patch: u16) -> SftpgoVersion {
    SftpgoVersion {
        major,
        minor,
        patch,
    }
}

/// The first release with the Event Manager.
pub const FIRST: SftpgoVersion = v(2, 4, 0);
/// The first release whose HTTP action JSON-escapes the values of a body
/// with a JSON `Content-Type` and leaves `{{ObjectData}}` a string there
/// (e10487ad): the body form.
const JSON_BODY: SftpgoVersion = v(2, 5, 1);
/// The first release whose `{{ObjectData}}` is raw JSON in a JSON body
/// (`{}` without an object), with `{{ObjectDataString}}` beside it.
const RAW_OBJECT_DATA: SftpgoVersion = v(2, 6, 0);
/// The first release with `{{.Name}}` placeholders (0da8adb7).
const DOTTED: SftpgoVersion = v(2, 7, 0);
/// The first release with sync `pre-*` rules (which suppress the legacy
/// `pre-*` hook).
pub const SYNC_PRE_RULES: SftpgoVersion = v(2, 5, 0);

/// The fields of the documented action, in its order.
const FIELDS: &[Field] = &[
    Field {
        key: "event",
        placeholder: "Event",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "name",
        placeholder: "Name",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "status",
        placeholder: "Status",
        kind: Kind::Number,
        since: FIRST,
    },
    Field {
        key: "virtual_path",
        placeholder: "VirtualPath",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "fs_path",
        placeholder: "FsPath",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "virtual_target_path",
        placeholder: "VirtualTargetPath",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "fs_target_path",
        placeholder: "FsTargetPath",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "object_name",
        placeholder: "ObjectName",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "object_type",
        placeholder: "ObjectType",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "file_size",
        placeholder: "FileSize",
        kind: Kind::Number,
        since: FIRST,
    },
    Field {
        key: "elapsed",
        placeholder: "Elapsed",
        kind: Kind::Number,
        since: v(2, 5, 0),
    },
    Field {
        key: "protocol",
        placeholder: "Protocol",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "ip",
        placeholder: "IP",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "role",
        placeholder: "Role",
        kind: Kind::Text,
        since: v(2, 5, 0),
    },
    Field {
        key: "email",
        placeholder: "Email",
        kind: Kind::Text,
        since: v(2, 5, 2),
    },
    Field {
        key: "timestamp",
        placeholder: "Timestamp",
        kind: Kind::Number,
        since: FIRST,
    },
    Field {
        key: "uid",
        placeholder: "UID",
        kind: Kind::Text,
        since: v(2, 6, 0),
    },
    Field {
        key: "error",
        placeholder: "ErrorString",
        kind: Kind::Text,
        since: FIRST,
    },
    Field {
        key: "metadata",
        placeholder: "Metadata",
        kind: Kind::Json,
        since: v(2, 6, 0),
    },
];

/// The key of a 2.7 body that carries the pre-2.7 spelling
/// `{{ObjectData}}`: SFTPGo 2.7's HTTP action renders `{{.ObjectData}}`
/// only when its body contains that spelling (`HasObjectData` still looks
/// for it). hookhost ignores the key.
pub const OBJECT_DATA_SWITCH: &str = "sftpgo_object_data_switch";

/// How an action of release `version` carries the placeholders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// 2.4 to 2.5.0: the values in the query string, the object as the
    /// body (nothing is JSON-escaped there).
    Query,
    /// 2.5.1 and later: a JSON body with `Content-Type: application/json`.
    Body,
}

impl Form {
    /// The form for `version` (an error before 2.4: no Event Manager).
    pub fn of(version: SftpgoVersion) -> Result<Form, crate::error::FieldError> {
        if version < FIRST {
            return Err(crate::error::FieldError::new(
                "sftpgo_version",
                format!(
                    "SFTPGo {version} has no Event Manager (it came with 2.4.0): use its legacy hooks"
                ),
            ));
        }
        Ok(if version < JSON_BODY {
            Form::Query
        } else {
            Form::Body
        })
    }
}

/// `{{Name}}` or, from 2.7, `{{.Name}}`.
fn placeholder(name: &str, version: SftpgoVersion) -> String {
    if version >= DOTTED {
        format!("{{{{.{name}}}}}")
    } else {
        format!("{{{{{name}}}}}")
    }
}

/// The fields release `version` has.
fn fields_of(version: SftpgoVersion) -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(move |f| f.since <= version)
}

/// The documented HTTP action's body for release `version` (body form), or
/// its whole body (query form: the object alone).
pub fn body_template(version: SftpgoVersion) -> String {
    if Form::of(version) == Ok(Form::Query) {
        return placeholder("ObjectData", version);
    }
    let mut body = String::from("{");
    for field in fields_of(version) {
        let value = placeholder(field.placeholder, version);
        let value = match field.kind {
            Kind::Text => format!("\"{value}\""),
            Kind::Number | Kind::Json => value,
        };
        body.push_str(&format!("\"{}\":{value},", field.key));
    }
    let object_data = placeholder("ObjectData", version);
    if version >= DOTTED {
        body.push_str(&format!(
            "\"object_data\":{object_data},\"{OBJECT_DATA_SWITCH}\":\"{{{{ObjectData}}}}\"}}"
        ));
    } else if version >= RAW_OBJECT_DATA {
        body.push_str(&format!("\"object_data\":{object_data}}}"));
    } else {
        // 2.5.1 to 2.5.6 JSON-escape it in a JSON body: a string.
        body.push_str(&format!("\"object_data\":\"{object_data}\"}}"));
    }
    body
}

/// The documented HTTP action's query parameters for release `version`
/// (query form; none in the body form).
pub fn query_template(version: SftpgoVersion) -> Vec<(&'static str, String)> {
    if Form::of(version) != Ok(Form::Query) {
        return Vec::new();
    }
    fields_of(version)
        .filter(|f| f.kind != Kind::Json)
        .map(|f| (f.key, placeholder(f.placeholder, version)))
        .collect()
}

/// The variables the documented Command action sets, each from its
/// placeholder: `SFTPGO_RULE_EVENT` (set even when empty: the marker
/// `hookhost exec` knows it by), `SFTPGO_RULE_NAME`, ... For release
/// `version`: the placeholders it has.
pub fn env_template(version: SftpgoVersion) -> Vec<(&'static str, String)> {
    fields_of(version)
        .map(|f| (env_name(f.key), placeholder(f.placeholder, version)))
        .chain(std::iter::once((
            env_name("object_data"),
            placeholder("ObjectData", version),
        )))
        .collect()
}

/// The variable of a documented field: `SFTPGO_RULE_<KEY>`.
pub fn env_name(key: &str) -> &'static str {
    match key {
        "event" => "SFTPGO_RULE_EVENT",
        "name" => "SFTPGO_RULE_NAME",
        "status" => "SFTPGO_RULE_STATUS",
        "virtual_path" => "SFTPGO_RULE_VIRTUAL_PATH",
        "fs_path" => "SFTPGO_RULE_FS_PATH",
        "virtual_target_path" => "SFTPGO_RULE_VIRTUAL_TARGET_PATH",
        "fs_target_path" => "SFTPGO_RULE_FS_TARGET_PATH",
        "object_name" => "SFTPGO_RULE_OBJECT_NAME",
        "object_type" => "SFTPGO_RULE_OBJECT_TYPE",
        "file_size" => "SFTPGO_RULE_FILE_SIZE",
        "elapsed" => "SFTPGO_RULE_ELAPSED",
        "protocol" => "SFTPGO_RULE_PROTOCOL",
        "ip" => "SFTPGO_RULE_IP",
        "role" => "SFTPGO_RULE_ROLE",
        "email" => "SFTPGO_RULE_EMAIL",
        "timestamp" => "SFTPGO_RULE_TIMESTAMP",
        "uid" => "SFTPGO_RULE_UID",
        "error" => "SFTPGO_RULE_ERROR",
        "metadata" => "SFTPGO_RULE_METADATA",
        "object_data" => "SFTPGO_RULE_OBJECT_DATA",
        other => unreachable!("a documented field: {other}"),
    }
}

/// The variable `hookhost exec` recognises a Command action by.
pub const ENV_MARKER: &str = "SFTPGO_RULE_EVENT";

/// The body's fields, any of them absent (a release without that
/// placeholder), numbers as numbers or text.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Wire {
    event: Option<String>,
    name: Option<String>,
    status: Option<Value>,
    virtual_path: Option<String>,
    fs_path: Option<String>,
    virtual_target_path: Option<String>,
    fs_target_path: Option<String>,
    object_name: Option<String>,
    object_type: Option<String>,
    file_size: Option<Value>,
    elapsed: Option<Value>,
    protocol: Option<String>,
    ip: Option<String>,
    role: Option<String>,
    email: Option<String>,
    timestamp: Option<Value>,
    uid: Option<String>,
    error: Option<String>,
    object_data: Option<Value>,
    metadata: Option<Value>,
}

/// A number as a placeholder gave it: a JSON number, or text (the query
/// form); empty is 0.
fn number(field: &str, value: Option<&Value>) -> Result<i64, FieldError> {
    match value {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| FieldError::new(field, format!("{n} is not an integer"))),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(0),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| FieldError::new(field, format!("not an integer: {s:?}"))),
        Some(other) => Err(FieldError::new(
            field,
            format!("expected an integer, got {other}"),
        )),
    }
}

/// The object data as sent: a JSON object (2.6+), a string holding one
/// (2.5.1–2.5.6, or a variable), or nothing (`{}`, `""`).
fn object_data(value: Option<&Value>) -> Result<Option<String>, FieldError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map_err(|e| FieldError::new("object_data", format!("not JSON: {e}")))?,
        Some(other) => other.clone(),
    };
    match object {
        Value::Object(map) if map.is_empty() => Ok(None),
        Value::Object(_) => Ok(Some(object.to_string())),
        other => Err(FieldError::new(
            "object_data",
            format!("expected a JSON object, got {other}"),
        )),
    }
}

fn metadata(value: Option<&Value>) -> Result<BTreeMap<String, String>, FieldError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(BTreeMap::new()),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map_err(|e| FieldError::new("metadata", format!("not JSON: {e}")))?,
        Some(other) => other.clone(),
    };
    serde_json::from_value(object)
        .map_err(|e| FieldError::new("metadata", format!("not an object of strings: {e}")))
}

impl Wire {
    fn into_params(self) -> Result<RuleParams, FieldError> {
        Ok(RuleParams {
            status: number("status", self.status.as_ref())?,
            file_size: number("file_size", self.file_size.as_ref())?,
            elapsed: number("elapsed", self.elapsed.as_ref())?,
            timestamp: number("timestamp", self.timestamp.as_ref())?,
            object_data: object_data(self.object_data.as_ref())?,
            metadata: metadata(self.metadata.as_ref())?,
            event: self.event.unwrap_or_default(),
            name: self.name.unwrap_or_default(),
            virtual_path: self.virtual_path.unwrap_or_default(),
            fs_path: self.fs_path.unwrap_or_default(),
            virtual_target_path: self.virtual_target_path.unwrap_or_default(),
            fs_target_path: self.fs_target_path.unwrap_or_default(),
            object_name: self.object_name.unwrap_or_default(),
            object_type: self.object_type.unwrap_or_default(),
            protocol: self.protocol.unwrap_or_default(),
            ip: self.ip.unwrap_or_default(),
            role: self.role.unwrap_or_default(),
            email: self.email.unwrap_or_default(),
            uid: self.uid.unwrap_or_default(),
            error: self.error.unwrap_or_default(),
        })
    }

    /// The fields named by `lookup` (a query, an environment).
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Wire {
        let text = |key: &str| lookup(key);
        let value = |key: &str| lookup(key).map(Value::String);
        Wire {
            event: text("event"),
            name: text("name"),
            status: value("status"),
            virtual_path: text("virtual_path"),
            fs_path: text("fs_path"),
            virtual_target_path: text("virtual_target_path"),
            fs_target_path: text("fs_target_path"),
            object_name: text("object_name"),
            object_type: text("object_type"),
            file_size: value("file_size"),
            elapsed: value("elapsed"),
            protocol: text("protocol"),
            ip: text("ip"),
            role: text("role"),
            email: text("email"),
            timestamp: value("timestamp"),
            uid: text("uid"),
            error: text("error"),
            object_data: value("object_data"),
            metadata: value("metadata"),
        }
    }
}

impl RuleParams {
    /// The documented body form: a JSON object (unknown keys ignored).
    pub fn from_body(bytes: &[u8]) -> Result<RuleParams, FieldError> {
        let wire: Wire = crate::json::from_json(bytes)?;
        wire.into_params()
    }

    /// The documented query form (2.4, 2.5.0): the values in `query`, the
    /// provider object (or nothing) as `body`.
    pub fn from_query(
        query: &HashMap<String, String>,
        body: &[u8],
    ) -> Result<RuleParams, FieldError> {
        let mut wire = Wire::from_lookup(|key| query.get(key).cloned());
        let text = std::str::from_utf8(body).map_err(|_| FieldError::new("body", "not UTF-8"))?;
        wire.object_data = Some(Value::String(text.to_owned()));
        wire.into_params()
    }

    /// The documented Command action's variables (`SFTPGO_RULE_*`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<RuleParams, FieldError> {
        Wire::from_lookup(|key| var(env_name(key)))
            .into_params()
            .map_err(|e| {
                let field = match e.field.as_str() {
                    "body" => e.field,
                    key => env_name(key).to_owned(),
                };
                FieldError::new(field, e.message)
            })
    }

    /// The event in hookhost's model: an fs event, a provider event, or one
    /// of the other triggers.
    pub fn classify(self) -> Result<RuleRequest, FieldError> {
        if !self.object_type.is_empty() {
            let action: ProviderAction = self
                .event
                .parse()
                .map_err(|e: super::UnknownName| FieldError::new("event", e.to_string()))?;
            let object_type: ObjectType = self
                .object_type
                .parse()
                .map_err(|e: super::UnknownName| FieldError::new("object_type", e.to_string()))?;
            let json = self.object_data.as_deref().unwrap_or("{}");
            let mut event = ProviderEvent::from_json(action, object_type, json.as_bytes())
                .map_err(|e| FieldError::new("object_data", e.message))?;
            if !self.object_name.is_empty() {
                event.object_name = self.object_name;
            }
            event.executor = Some(self.name);
            event.ip = Some(self.ip);
            event.role = non_empty(Some(self.role));
            event.timestamp = Some(self.timestamp);
            return Ok(RuleRequest::Provider(event));
        }
        if let Ok(action) = self.event.parse::<FsAction>() {
            return self.fs_event(action).map(RuleRequest::Fs);
        }
        let trigger = match self.event.as_str() {
            "IP Blocked" => RuleTrigger::IpBlocked,
            "Certificate renewal" => RuleTrigger::CertificateRenewal,
            "Schedule" => RuleTrigger::Schedule,
            "IDP login user" | "IDP login admin" => RuleTrigger::IdpLogin,
            "" => RuleTrigger::OnDemand,
            other => {
                return Err(FieldError::new(
                    "event",
                    format!(
                        "unknown event {other:?} (expected a file-system or provider action, \"IP Blocked\", \"Certificate renewal\", \"Schedule\", \"IDP login user\", \"IDP login admin\", or empty for an on-demand run)"
                    ),
                ));
            }
        };
        Ok(RuleRequest::Rule(RuleEvent {
            trigger,
            params: self,
        }))
    }

    fn fs_event(self, action: FsAction) -> Result<FsEvent, FieldError> {
        // Rules came with 2.4 (today's status numbering); pre-* rules with
        // 2.5 (today's pre-delete).
        let since = if action.is_pre() {
            SYNC_PRE_RULES
        } else {
            FIRST
        };
        let status = match self.status {
            0 => Status::Ok,
            code => Status::from_current_code(code).ok_or_else(|| {
                FieldError::new(
                    "status",
                    format!(
                        "unknown status {code}, expected 1 (ok), 2 (error) or 3 (quota exceeded)"
                    ),
                )
            })?,
        };
        Ok(FsEvent {
            action,
            username: self.name,
            path: self.fs_path,
            target_path: non_empty(Some(self.fs_target_path)),
            virtual_path: Some(self.virtual_path),
            virtual_target_path: non_empty(Some(self.virtual_target_path)),
            ssh_cmd: None,
            file_size: self.file_size,
            fs_provider: FsProvider::Local,
            bucket: None,
            endpoint: None,
            status,
            protocol: Protocol::parse(&self.protocol),
            open_flags: 0,
            timestamp: Some(self.timestamp),
            ip: non_empty(Some(self.ip)),
            session_id: None,
            role: non_empty(Some(self.role)),
            elapsed: self.elapsed,
            metadata: self.metadata,
            sent_by: Some(Releases::since(
                since.max(Change::VirtualPathIpTimestamp.since()),
            )),
        })
    }

    /// The documented body, as SFTPGo 2.7 fills it in for this event: what
    /// a URL hook behind hookhost receives (the bytes of Go's JSON
    /// escaping).
    pub fn body(&self) -> Vec<u8> {
        let text = |s: &str| String::from_utf8(go_marshal(&s)).expect("JSON is UTF-8");
        let mut out = String::from("{");
        for field in FIELDS {
            let value = match field.key {
                "event" => text(&self.event),
                "name" => text(&self.name),
                "status" => self.status.to_string(),
                "virtual_path" => text(&self.virtual_path),
                "fs_path" => text(&self.fs_path),
                "virtual_target_path" => text(&self.virtual_target_path),
                "fs_target_path" => text(&self.fs_target_path),
                "object_name" => text(&self.object_name),
                "object_type" => text(&self.object_type),
                "file_size" => self.file_size.to_string(),
                "elapsed" => self.elapsed.to_string(),
                "protocol" => text(&self.protocol),
                "ip" => text(&self.ip),
                "role" => text(&self.role),
                "email" => text(&self.email),
                "timestamp" => self.timestamp.to_string(),
                "uid" => text(&self.uid),
                "error" => text(&self.error),
                "metadata" if self.metadata.is_empty() => "{}".to_owned(),
                "metadata" => String::from_utf8(go_marshal(&self.metadata)).expect("UTF-8"),
                other => unreachable!("a documented field: {other}"),
            };
            out.push_str(&format!("\"{}\":{value},", field.key));
        }
        let object = self.object_data.as_deref().unwrap_or("{}");
        out.push_str(&format!(
            "\"object_data\":{object},\"{OBJECT_DATA_SWITCH}\":\"{{{{ObjectData}}}}\"}}"
        ));
        out.into_bytes()
    }

    /// The documented Command action's variables, as SFTPGo 2.7 sets them
    /// for this event: what a program behind hookhost receives.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let metadata = if self.metadata.is_empty() {
            "{}".to_owned()
        } else {
            String::from_utf8(go_marshal(&self.metadata)).expect("UTF-8")
        };
        [
            ("event", self.event.clone()),
            ("name", self.name.clone()),
            ("status", self.status.to_string()),
            ("virtual_path", self.virtual_path.clone()),
            ("fs_path", self.fs_path.clone()),
            ("virtual_target_path", self.virtual_target_path.clone()),
            ("fs_target_path", self.fs_target_path.clone()),
            ("object_name", self.object_name.clone()),
            ("object_type", self.object_type.clone()),
            ("file_size", self.file_size.to_string()),
            ("elapsed", self.elapsed.to_string()),
            ("protocol", self.protocol.clone()),
            ("ip", self.ip.clone()),
            ("role", self.role.clone()),
            ("email", self.email.clone()),
            ("timestamp", self.timestamp.to_string()),
            ("uid", self.uid.clone()),
            ("error", self.error.clone()),
            ("metadata", metadata),
            (
                "object_data",
                self.object_data.clone().unwrap_or_else(|| "{}".to_owned()),
            ),
        ]
        .into_iter()
        .map(|(key, value)| (env_name(key), value))
        .collect()
    }
}

impl RuleEvent {
    /// The user it is about (an IDP login's), else empty.
    pub fn username(&self) -> &str {
        match self.trigger {
            RuleTrigger::IdpLogin => &self.params.name,
            _ => "",
        }
    }

    /// Whether an IDP login is an admin's.
    pub fn is_admin_login(&self) -> bool {
        self.params.event == "IDP login admin"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_release_gets_the_placeholders_it_has_in_its_spelling() {
        let v = |s: &str| s.parse::<SftpgoVersion>().unwrap();
        let body = body_template(v("2.7.5"));
        assert!(
            body.starts_with(r#"{"event":"{{.Event}}","name":"{{.Name}}","status":{{.Status}},"#)
        );
        assert!(
            body.ends_with(
                r#""object_data":{{.ObjectData}},"sftpgo_object_data_switch":"{{ObjectData}}"}"#
            ),
            "{body}"
        );
        let six = body_template(v("2.6.6"));
        assert!(
            six.contains(r#""uid":"{{UID}}""#) && six.ends_with(r#""object_data":{{ObjectData}}}"#),
            "{six}"
        );
        let five = body_template(v("2.5.1"));
        assert!(
            !five.contains("Email")
                && !five.contains("UID")
                && five.ends_with(r#""object_data":"{{ObjectData}}"}"#),
            "{five}"
        );
        assert!(body_template(v("2.5.2")).contains(r#""email":"{{Email}}""#));
        assert_eq!(body_template(v("2.4.6")), "{{ObjectData}}");
        let query = query_template(v("2.4.0"));
        assert_eq!(query[0], ("event", "{{Event}}".to_owned()));
        assert!(!query.iter().any(|(k, _)| *k == "role" || *k == "elapsed"));
        assert!(query_template(v("2.5.0")).iter().any(|(k, _)| *k == "role"));
        assert!(query_template(v("2.5.1")).is_empty());
        assert!(Form::of(v("2.3.6")).unwrap_err().message.contains("2.4.0"));
    }

    #[test]
    fn each_trigger_is_told_apart() {
        let kind = |event: &str, object_type: &str| {
            let params = RuleParams {
                event: event.into(),
                object_type: object_type.into(),
                status: 1,
                ..RuleParams::default()
            };
            match params.classify().unwrap() {
                RuleRequest::Fs(ev) => format!("fs {}", ev.action),
                RuleRequest::Provider(ev) => format!("provider {} {}", ev.action, ev.object_type),
                RuleRequest::Rule(ev) => format!("rule {}", ev.trigger),
            }
        };
        assert_eq!(kind("pre-upload", ""), "fs pre-upload");
        assert_eq!(kind("delete", ""), "fs delete");
        assert_eq!(kind("delete", "user"), "provider delete user");
        assert_eq!(kind("IP Blocked", ""), "rule ip-blocked");
        assert_eq!(kind("Certificate renewal", ""), "rule certificate-renewal");
        assert_eq!(kind("Schedule", ""), "rule schedule");
        assert_eq!(kind("IDP login admin", ""), "rule idp-login");
        assert_eq!(kind("", ""), "rule on-demand");
        let err = RuleParams {
            event: "teleport".into(),
            ..RuleParams::default()
        }
        .classify()
        .unwrap_err();
        assert_eq!(err.field, "event");
    }

    #[test]
    fn object_data_is_read_in_every_releases_form() {
        let raw = br#"{"event":"add","object_type":"user","object_name":"bob","name":"admin","object_data":{"username":"bob","password":"$2a$x"}}"#;
        let escaped = br#"{"event":"add","object_type":"user","object_name":"bob","name":"admin","object_data":"{\"username\":\"bob\",\"password\":\"$2a$x\"}"}"#;
        for body in [&raw[..], &escaped[..]] {
            match RuleParams::from_body(body).unwrap().classify().unwrap() {
                RuleRequest::Provider(ev) => {
                    assert_eq!(ev.object_name, "bob");
                    assert_eq!(ev.executor.as_deref(), Some("admin"));
                    assert!(!ev.object_json.contains("$2a$x"), "secrets hidden");
                }
                other => panic!("{other:?}"),
            }
        }
        let query: HashMap<String, String> = [
            ("event", "upload"),
            ("name", "alice"),
            ("status", "2"),
            ("file_size", ""),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let params = RuleParams::from_query(&query, b"").unwrap();
        assert_eq!(
            (params.status, params.file_size, &params.object_data),
            (2, 0, &None)
        );
        match params.classify().unwrap() {
            RuleRequest::Fs(ev) => assert_eq!(ev.status, Status::GenericError),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_body_and_environment_round_trip() {
        let params = RuleParams {
            event: "IDP login user".into(),
            name: "al\"ice\n<é>".into(),
            status: 1,
            ip: "10.0.0.1".into(),
            protocol: "OIDC".into(),
            timestamp: 1_700_000_000_000_000_000,
            metadata: [("k".to_owned(), "v".to_owned())].into(),
            ..RuleParams::default()
        };
        assert_eq!(RuleParams::from_body(&params.body()).unwrap(), params);
        let env: HashMap<&str, String> = params.env().into_iter().collect();
        assert_eq!(
            RuleParams::from_env(|k| env.get(k).cloned()).unwrap(),
            params
        );
    }
}
