//! `pre-login-groups`: a pre-login hook that provisions users just in time
//! from a JSON file of groups, in a granted directory.
//!
//! ```json
//! {"groups": {
//!   "engineering": {
//!     "home_dir": "/srv/sftp/{username}",
//!     "permissions": {"/": ["*"]},
//!     "quota_size": 10737418240, "quota_files": 0,
//!     "members": {"alice": {"password": "$2a$10$..."},
//!                 "bob": {"public_keys": ["ssh-ed25519 AAAA..."]}}}}}
//! ```
//!
//! A member of a group (the first by name) gets the group's home
//! directory (`{username}` replaced), permissions and quota, plus the
//! password or keys given for them, over the user SFTPGo stores (its `id`,
//! counters and other fields kept); a new user is created enabled. A user
//! already as the file says is left unchanged. Someone in no group: a user
//! SFTPGo already knows is left to it; an unknown one is refused.
//!
//! Configuration (`GROUPS_FILE` defaults to `/groups/groups.json`):
//!
//! ```json
//! {"data_provider": {"pre_login_hook": "pre_login_groups.wasm",
//!   "pre_login_hooks": [], ...}}
//! ```
//! or, with grants, in `pre_login_hooks`:
//! `{"hook": "pre_login_groups.wasm", "grants": {"dirs": [{"host": "/etc/sftpgo/groups", "guest": "/groups"}]}}`.

use hookhost_guest::log;
use hookhost_guest::login::{Login, PreLogin, PreLoginAnswer};
use serde_json::{Map, Value, json};

struct Groups;

fn groups_file() -> String {
    std::env::var("GROUPS_FILE").unwrap_or_else(|_| "/groups/groups.json".to_owned())
}

/// The group (name, settings) listing `username` among its members.
fn group_of(groups: &Value, username: &str) -> Option<(String, Map<String, Value>)> {
    groups
        .get("groups")?
        .as_object()?
        .iter()
        .find(|(_, group)| {
            group
                .get("members")
                .and_then(Value::as_object)
                .is_some_and(|members| members.contains_key(username))
        })
        .and_then(|(name, group)| Some((name.clone(), group.as_object()?.clone())))
}

fn provision(
    login: &Login,
    stored: Map<String, Value>,
    group: &Map<String, Value>,
) -> Map<String, Value> {
    let mut user = stored;
    let username = login.username.as_str();
    let is_new = user.get("id").and_then(Value::as_i64).unwrap_or(0) == 0;
    user.insert("username".into(), json!(username));
    if is_new {
        user.insert("status".into(), json!(1));
    }
    if let Some(home) = group.get("home_dir").and_then(Value::as_str) {
        user.insert(
            "home_dir".into(),
            json!(home.replace("{username}", username)),
        );
    }
    for field in ["permissions", "quota_size", "quota_files"] {
        if let Some(value) = group.get(field) {
            user.insert(field.into(), value.clone());
        }
    }
    let member = group
        .get("members")
        .and_then(|m| m.get(username))
        .and_then(Value::as_object);
    for field in ["password", "public_keys"] {
        if let Some(value) = member.and_then(|m| m.get(field)) {
            user.insert(field.into(), value.clone());
        }
    }
    user
}

impl PreLogin for Groups {
    fn pre_login(login: Login, user: String) -> PreLoginAnswer {
        let path = groups_file();
        let groups: Value = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
        {
            Ok(groups) => groups,
            Err(err) => {
                log::error(
                    "cannot read the groups file",
                    &[("file", &path), ("error", &err)],
                );
                return PreLoginAnswer::Deny(format!("cannot read {path}: {err}"));
            }
        };
        let stored = match serde_json::from_str::<Value>(&user) {
            Ok(Value::Object(map)) => map,
            _ => return PreLoginAnswer::Deny("the stored user is not a JSON object".into()),
        };
        let known = stored.get("id").and_then(Value::as_i64).unwrap_or(0) != 0;
        let Some((group, settings)) = group_of(&groups, &login.username) else {
            if known {
                return PreLoginAnswer::NoChange;
            }
            return PreLoginAnswer::Deny(format!("{} is in no group", login.username));
        };
        let provisioned = provision(&login, stored.clone(), &settings);
        if provisioned == stored {
            return PreLoginAnswer::NoChange;
        }
        log::info(
            if known {
                "user updated from its group"
            } else {
                "user created from its group"
            },
            &[
                ("username", &login.username),
                ("group", &group),
                ("protocol", &login.protocol),
            ],
        );
        PreLoginAnswer::Replace(Value::Object(provisioned).to_string())
    }
}

hookhost_guest::export_pre_login_hook!(Groups);
