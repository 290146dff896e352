//! Data-provider events: an object (user, folder, admin, ...) was added,
//! updated or deleted.
//!
//! Hooks see objects with their secrets hidden the way SFTPGo hides them
//! before calling a hook ([`hide_secrets`]): the user's and admin's
//! password hash dropped, an API key's key dropped, a share's password
//! replaced by `[**redacted**]`, and every KMS secret (filesystem
//! credentials, TOTP secrets, recovery codes, ...) stripped of its `key` and
//! `additional_data` while its `status`, encrypted `payload` and `mode`
//! stay. An object that already came from SFTPGo is therefore unchanged and
//! is passed on byte for byte, its keys in SFTPGo's order. As a safeguard
//! for objects that did not come through SFTPGo (an embedder's), a secret
//! in plain text (status `Plain` or none) and a string under a secret's name
//! are dropped: SFTPGo never renders either.
//!
//! Internal updates (last login, quota counters) and changes made by external
//! authentication are not events in SFTPGo's contract. An embedder that
//! routes every write of its data provider through hookhost marks those with
//! [`ProviderEvent::internal`]: dispatching an internal event runs no hook.
//! hookhost never derives provider events on its own.

use std::sync::Arc;

use serde_json::{Map, Value};

pub mod exec;
pub mod http;

use super::go::go_marshal;
use super::named_enum;
use crate::error::FieldError;

named_enum! {
    /// What happened to the object.
    ProviderAction, "provider action" {
        Add = "add",
        Update = "update",
        Delete = "delete",
    }
}

named_enum! {
    /// Kind of data-provider object, spelled as SFTPGo's `object_type`.
    ObjectType, "object type" {
        User = "user",
        Folder = "folder",
        Group = "group",
        Admin = "admin",
        ApiKey = "api_key",
        Share = "share",
        EventAction = "event_action",
        EventRule = "event_rule",
        Role = "role",
        IpListEntry = "ip_list_entry",
        Configs = "configs",
    }
}

impl ObjectType {
    /// The field of the object's JSON that holds its unique name.
    fn name_field(self) -> &'static str {
        match self {
            ObjectType::User | ObjectType::Admin => "username",
            ObjectType::ApiKey | ObjectType::Share => "id",
            ObjectType::IpListEntry => "ipornet",
            ObjectType::Configs => "",
            ObjectType::Folder
            | ObjectType::Group
            | ObjectType::EventAction
            | ObjectType::EventRule
            | ObjectType::Role => "name",
        }
    }
}

/// Field names under which SFTPGo objects hold secrets: account and
/// filesystem passwords, private keys and their passphrases, cloud
/// credentials, TOTP secrets, OAuth2 secrets and tokens.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "private_key",
    "key_passphrase",
    "passphrase",
    "access_secret",
    "sse_customer_key",
    "credentials",
    "account_key",
    "sas_url",
    "api_key",
    "secret",
    "client_secret",
    "refresh_token",
];

/// The fields of SFTPGo's `kms.Secret` JSON.
const SECRET_KEYS: &[&str] = &["status", "payload", "key", "additional_data", "mode"];

/// What SFTPGo writes in place of a share's password.
pub const REDACTED: &str = "[**redacted**]";

/// Whether `value`, found under `field`, is a `kms.Secret`.
fn is_secret(field: &str, map: &Map<String, Value>) -> bool {
    map.keys().all(|k| SECRET_KEYS.contains(&k.as_str()))
        && (map.contains_key("status")
            || map.contains_key("payload")
            || SECRET_FIELDS.contains(&field))
}

/// Hide a `kms.Secret` as SFTPGo's `Secret.Hide` does; `false` when it must
/// go altogether (empty, or in plain text).
fn hide_secret(map: &mut Map<String, Value>) -> bool {
    map.remove("key");
    map.remove("additional_data");
    let text = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or("");
    let (status, payload) = (text("status"), text("payload"));
    let empty = status.is_empty() && payload.is_empty();
    let plain = status.is_empty() || status == "Plain";
    !(empty || plain)
}

fn hide_nested(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|field, value| match value {
                Value::Object(inner) if is_secret(field, inner) => hide_secret(inner),
                Value::String(_) => !SECRET_FIELDS.contains(&field.as_str()),
                _ => true,
            });
            map.values_mut().for_each(hide_nested);
        }
        Value::Array(items) => items.iter_mut().for_each(hide_nested),
        _ => {}
    }
}

/// Hide an SFTPGo object's secrets as SFTPGo does before calling a hook (see
/// the module docs).
pub fn hide_secrets(object: &mut Value, object_type: ObjectType) {
    let Value::Object(map) = object else {
        return;
    };
    let share_password = match object_type {
        ObjectType::User | ObjectType::Admin => {
            map.remove("password");
            None
        }
        ObjectType::ApiKey => {
            map.remove("key");
            None
        }
        ObjectType::Share => match map.remove("password") {
            Some(Value::String(p)) if !p.is_empty() => Some(Value::String(REDACTED.into())),
            _ => None,
        },
        _ => None,
    };
    hide_nested(object);
    if let (Some(redacted), Value::Object(map)) = (share_password, object) {
        map.insert("password".into(), redacted);
    }
}

/// One data-provider event.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderEvent {
    /// What happened.
    pub action: ProviderAction,
    /// Kind of object.
    pub object_type: ObjectType,
    /// The object's unique name (username, folder name, key id, ...).
    pub object_name: String,
    /// The object with its secrets hidden.
    pub object: Arc<Value>,
    /// `object` as every hook receives it: the bytes SFTPGo sent when they
    /// needed no hiding, else Go's `json.Marshal` of `object`.
    pub object_json: Arc<str>,
    /// Who performed the action (SFTPGo's `username`: an admin, `__self__`
    /// or `__system__`), when the server sent it.
    pub executor: Option<String>,
    /// The executor's IP, when the server sent it.
    pub ip: Option<String>,
    /// The executor's role (SFTPGo 2.5 and later), when the server sent it.
    pub role: Option<String>,
    /// Event time in nanoseconds since the Unix epoch, when the server sent it.
    pub timestamp: Option<i64>,
    /// An internal update (last login, quota fields, external-auth refresh):
    /// not an event in SFTPGo's contract, so no hook runs for it.
    pub internal: bool,
}

/// SFTPGo's executor when nobody performed the action.
pub const EXECUTOR_SYSTEM: &str = "__system__";

impl ProviderEvent {
    /// Build an event from the object's JSON. Secrets are hidden here; the
    /// name is taken from the object's name field (`username` for users and
    /// admins, `name` for folders and groups, `id` for API keys and shares).
    pub fn new(action: ProviderAction, object_type: ObjectType, mut object: Value) -> Self {
        hide_secrets(&mut object, object_type);
        let json = String::from_utf8(go_marshal(&object)).expect("serde_json writes UTF-8");
        Self::assemble(action, object_type, object, Arc::from(json))
    }

    /// Build an event from the object's JSON text as a server sent it: if
    /// it needs no hiding (SFTPGo already hid its secrets) hooks get these
    /// very bytes.
    pub fn from_json(
        action: ProviderAction,
        object_type: ObjectType,
        json: &[u8],
    ) -> Result<Self, FieldError> {
        let received: Value = crate::json::from_json(json)?;
        if !received.is_object() {
            return Err(FieldError::new(
                "body",
                "expected the object as a JSON object",
            ));
        }
        let mut object = received.clone();
        hide_secrets(&mut object, object_type);
        let text = match std::str::from_utf8(json) {
            Ok(text) if object == received => text.to_owned(),
            _ => String::from_utf8(go_marshal(&object)).expect("serde_json writes UTF-8"),
        };
        Ok(Self::assemble(action, object_type, object, Arc::from(text)))
    }

    fn assemble(
        action: ProviderAction,
        object_type: ObjectType,
        object: Value,
        object_json: Arc<str>,
    ) -> Self {
        let object_name = match object.get(object_type.name_field()) {
            Some(Value::String(name)) => name.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        ProviderEvent {
            action,
            object_type,
            object_name,
            object: Arc::new(object),
            object_json,
            executor: None,
            ip: None,
            role: None,
            timestamp: None,
            internal: false,
        }
    }

    /// Mark the event as an internal update (see the module docs): dispatch
    /// then runs no hook for it.
    pub fn internal(mut self) -> Self {
        self.internal = true;
        self
    }

    /// Override the object name (servers that send it separately).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.object_name = name.into();
        self
    }

    /// The executor as SFTPGo names it: [`EXECUTOR_SYSTEM`] when none.
    pub fn executor_or_system(&self) -> &str {
        self.executor.as_deref().unwrap_or(EXECUTOR_SYSTEM)
    }

    /// Whether the event has the form of today's SFTPGo (an executor, IP or
    /// timestamp, which 2.1 never sends).
    pub fn is_current_form(&self) -> bool {
        self.timestamp.is_some() || self.executor.is_some() || self.ip.is_some()
    }

    /// The SFTPGo releases that send a provider event of this form: the
    /// reference without an executor, IP or timestamp; 2.2 and later with
    /// them (2.5 and later with a role).
    pub fn releases(&self) -> super::Releases {
        use super::{Change, Releases};
        if !self.is_current_form() {
            return Releases::REFERENCE;
        }
        let today = Releases::since(Change::ProviderCurrentForm.since());
        if self.role.as_deref().is_some_and(|r| !r.is_empty()) {
            today.at_least(Change::Role.since())
        } else {
            today
        }
    }

    /// A top-level field of the object rendered as SFTPGo renders it in an
    /// exec hook's arguments: integers as digits, strings as they are,
    /// anything absent as `default`.
    pub fn field_text(&self, field: &str, default: &str) -> String {
        match self.object.get(field) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => default.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exec::decode_provider_exec;
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_hidden_as_sftpgo_hides_them() {
        let user = json!({
            "id": 7, "username": "alice", "password": "$2a$10$hash", "status": 1,
            "public_keys": ["ssh-ed25519 AAAA"],
            "filesystem": {"provider": 1, "s3config": {"bucket": "b", "access_secret": {"status": "Plain", "payload": "x"}},
                           "sftpconfig": {"password": {"payload": "p"}, "private_key": {"payload": "k"}, "key_passphrase": {}}},
            "filters": {"totp_config": {"enabled": true, "config_name": "Default", "secret": {"payload": "s"}},
                        "recovery_codes": [{"secret": {"payload": "r"}}]}
        });
        let ev = ProviderEvent::new(ProviderAction::Add, ObjectType::User, user);
        let text = ev.object_json.to_string();
        for secret in [
            "$2a$10$hash",
            "\"x\"",
            "\"p\"",
            "\"k\"",
            "\"s\"",
            "\"r\"",
            "key_passphrase",
        ] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
        assert!(
            text.contains("ssh-ed25519 AAAA"),
            "public keys are not secret"
        );
        assert!(text.contains("\"bucket\":\"b\""));
        assert_eq!(ev.object_name, "alice");
    }

    #[test]
    fn encrypted_secrets_keep_status_payload_and_mode() {
        let folder = json!({"name": "f", "filesystem": {"s3config": {"access_secret":
            {"status": "Secretbox", "payload": "ENC", "key": "k1", "additional_data": "f", "mode": 1}}}});
        let ev = ProviderEvent::new(ProviderAction::Add, ObjectType::Folder, folder);
        assert_eq!(
            ev.object["filesystem"]["s3config"]["access_secret"],
            json!({"status": "Secretbox", "payload": "ENC", "mode": 1})
        );
    }

    #[test]
    fn share_password_is_redacted_and_api_key_dropped() {
        let share = json!({"id": "s1", "name": "n", "password": "$2a$hash", "scope": 1});
        let ev = ProviderEvent::new(ProviderAction::Add, ObjectType::Share, share);
        assert_eq!(ev.object["password"], REDACTED);
        let key = json!({"id": "kid1", "name": "ci", "key": "kid1.secretpart"});
        let ev = ProviderEvent::new(ProviderAction::Add, ObjectType::ApiKey, key);
        assert_eq!(ev.object_name, "kid1");
        assert!(!ev.object_json.contains("secretpart"));
    }

    #[test]
    fn an_object_sftpgo_already_hid_is_passed_on_byte_for_byte() {
        let sent = br#"{"id":1,"status":1,"username":"bob","filesystem":{"provider":0},"filters":{"totp_config":{"secret":{"status":"Secretbox","payload":"abc"}}},"description":"a\u0026b"}"#;
        let ev = ProviderEvent::from_json(ProviderAction::Update, ObjectType::User, sent).unwrap();
        assert_eq!(ev.object_json.as_bytes(), sent);
        let with_hash = br#"{"username":"bob","password":"$2a$x","status":1}"#;
        let ev =
            ProviderEvent::from_json(ProviderAction::Update, ObjectType::User, with_hash).unwrap();
        assert_eq!(&*ev.object_json, r#"{"username":"bob","status":1}"#);
    }

    #[test]
    fn program_environment_decodes_in_both_forms() {
        let current = |name: &str| {
            match name {
                "SFTPGO_PROVIDER_ACTION" => Some("updates"),
                "SFTPGO_PROVIDER_OBJECT_TYPE" => Some("folder"),
                "SFTPGO_PROVIDER_OBJECT_NAME" => Some("shared"),
                "SFTPGO_PROVIDER_USERNAME" => Some("admin"),
                "SFTPGO_PROVIDER_TIMESTAMP" => Some("1700000000123"),
                "SFTPGO_PROVIDER_OBJECT" => Some(r#"{"name":"shared"}"#),
                _ => None,
            }
            .map(str::to_owned)
        };
        let ev = decode_provider_exec(current).unwrap().unwrap();
        assert_eq!(ev.action, ProviderAction::Update);
        assert_eq!(ev.object_type, ObjectType::Folder);
        assert_eq!(ev.executor.as_deref(), Some("admin"));
        assert_eq!(ev.timestamp, Some(1_700_000_000_123_000_000));
        assert!(ev.is_current_form());
        let reference = |name: &str| match name {
            "SFTPGO_USER_ACTION" => Some("add".to_owned()),
            "SFTPGO_USER" => Some(r#"{"username":"u","id":3}"#.to_owned()),
            _ => None,
        };
        let ev = decode_provider_exec(reference).unwrap().unwrap();
        assert_eq!(
            (ev.object_name.as_str(), ev.is_current_form()),
            ("u", false)
        );
        assert!(decode_provider_exec(|_| None).unwrap().is_none());
    }

    #[test]
    fn unknown_object_type_is_named() {
        let err = "gruop".parse::<ObjectType>().unwrap_err();
        assert!(err.to_string().contains("gruop") && err.to_string().contains("group"));
    }
}
