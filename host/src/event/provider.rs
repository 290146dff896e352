//! Data-provider events: an object (user, folder, admin, ...) was added,
//! updated or deleted.
//!
//! Secrets never reach a hook: [`ProviderEvent::new`] removes them from the
//! object before anything else sees it (see [`remove_secrets`]).
//!
//! Internal updates (last login, quota counters) and changes made by external
//! authentication are not events in SFTPGo's contract. An embedder that
//! routes every write of its data provider through hookhost marks those with
//! [`ProviderEvent::internal`]: dispatching an internal event runs no hook.
//! hookhost never derives provider events on its own.

use std::sync::Arc;

use serde_json::Value;

use super::named_enum;

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

/// Field names that hold secrets anywhere in an SFTPGo object: account and
/// filesystem passwords, private keys and their passphrases, cloud
/// credentials, TOTP secrets and recovery codes, OAuth2 secrets and tokens.
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
    "recovery_codes",
    "client_secret",
    "refresh_token",
];

/// Remove every secret from an SFTPGo object, at any depth. For API keys the
/// top-level `key` (the key itself) is removed too.
pub fn remove_secrets(object: &mut Value, object_type: ObjectType) {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|k, _| !SECRET_FIELDS.contains(&k.as_str()));
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(object);
    if object_type == ObjectType::ApiKey
        && let Value::Object(map) = object
    {
        map.remove("key");
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
    /// The object with its secrets removed.
    pub object: Arc<Value>,
    /// `object` serialized once, as every hook receives it (Go's
    /// `json.Marshal` escaping, as SFTPGo sends it).
    pub object_json: Arc<str>,
    /// Who performed the action, when the server sent it.
    pub executor: Option<String>,
    /// The executor's IP, when the server sent it.
    pub ip: Option<String>,
    /// Event time in nanoseconds since the Unix epoch, when the server sent it.
    pub timestamp: Option<i64>,
    /// An internal update (last login, quota fields, external-auth refresh):
    /// not an event in SFTPGo's contract, so no hook runs for it.
    pub internal: bool,
}

impl ProviderEvent {
    /// Build an event from the object's JSON. Secrets are removed here; the
    /// name is taken from the object's name field (`username` for users and
    /// admins, `name` for folders and groups, `id` for API keys and shares).
    pub fn new(action: ProviderAction, object_type: ObjectType, mut object: Value) -> Self {
        remove_secrets(&mut object, object_type);
        let object_name = match object.get(object_type.name_field()) {
            Some(Value::String(name)) => name.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let json = super::json::go_marshal(&object);
        let object_json: Arc<str> =
            Arc::from(String::from_utf8(json).expect("serde_json writes UTF-8"));
        ProviderEvent {
            action,
            object_type,
            object_name,
            object: Arc::new(object),
            object_json,
            executor: None,
            ip: None,
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
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_removed_at_any_depth() {
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
            "recovery_codes",
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
    fn api_key_value_is_removed_and_id_names_it() {
        let key = json!({"id": "kid1", "name": "ci", "key": "kid1.secretpart"});
        let ev = ProviderEvent::new(ProviderAction::Add, ObjectType::ApiKey, key);
        assert_eq!(ev.object_name, "kid1");
        assert!(!ev.object_json.contains("secretpart"));
    }

    #[test]
    fn unknown_object_type_is_named() {
        let err = "gruop".parse::<ObjectType>().unwrap_err();
        assert!(err.to_string().contains("gruop") && err.to_string().contains("group"));
    }
}
