//! How an exec hook receives a provider event: argv and environment, as the
//! SFTPGo release of the [`Contract`] gives them; and the reverse, for
//! `hookhost exec`. The reference: argv `action username ID status
//! expiration_date home_dir uid gid`, `SFTPGO_USER_ACTION` and `SFTPGO_USER`
//! (the object as JSON). From 2.2: no argv and the `SFTPGO_PROVIDER_*`
//! variables, the timestamp in milliseconds.

use super::{ObjectType, ProviderAction, ProviderEvent};
use crate::clock::now_ns;
use crate::error::FieldError;
use crate::event::{Change, Contract, UnknownName};

/// The argv SFTPGo gives a provider program of its own: the reference's
/// `action username ID status expiration_date home_dir uid gid` (fields an
/// object does not have are `0`, or empty for home_dir), none from 2.2 on.
pub fn provider_args(event: &ProviderEvent, contract: &Contract) -> Vec<String> {
    if contract.has(Change::ProviderCurrentForm) {
        return Vec::new();
    }
    vec![
        event.action.as_str().to_owned(),
        event.object_name.clone(),
        event.field_text("id", "0"),
        event.field_text("status", "0"),
        event.field_text("expiration_date", "0"),
        event.field_text("home_dir", ""),
        event.field_text("uid", "0"),
        event.field_text("gid", "0"),
    ]
}

/// The environment of a provider program, in SFTPGo's order.
pub fn provider_env(event: &ProviderEvent, contract: &Contract) -> Vec<(&'static str, String)> {
    if !contract.has(Change::ProviderCurrentForm) {
        return vec![
            ("SFTPGO_USER_ACTION", event.action.as_str().to_owned()),
            ("SFTPGO_USER", event.object_json.to_string()),
        ];
    }
    let mut env = vec![
        (
            "SFTPGO_PROVIDER_ACTION",
            format!("{}{}", event.action, contract.provider_action_suffix()),
        ),
        (
            "SFTPGO_PROVIDER_OBJECT_TYPE",
            event.object_type.as_str().to_owned(),
        ),
        ("SFTPGO_PROVIDER_OBJECT_NAME", event.object_name.clone()),
        (
            "SFTPGO_PROVIDER_USERNAME",
            event.executor_or_system().to_owned(),
        ),
        ("SFTPGO_PROVIDER_IP", event.ip.clone().unwrap_or_default()),
    ];
    if contract.has(Change::Role) {
        env.push((
            "SFTPGO_PROVIDER_ROLE",
            event.role.clone().unwrap_or_default(),
        ));
    }
    // Milliseconds here, although the HTTP query has nanoseconds: SFTPGo's
    // code does so (`util.GetTimeAsMsSinceEpoch`).
    let millis = event.timestamp.unwrap_or_else(now_ns) / 1_000_000;
    env.push(("SFTPGO_PROVIDER_TIMESTAMP", millis.to_string()));
    env.push(("SFTPGO_PROVIDER_OBJECT", event.object_json.to_string()));
    env
}

/// Rebuild a provider event the way a provider program sees it, for
/// `hookhost exec`: today's `SFTPGO_PROVIDER_*` variables (the action's
/// stray `s` of 2.4.0–2.6.4 accepted, the timestamp in milliseconds), or the
/// reference's `SFTPGO_USER_ACTION` and `SFTPGO_USER`. `None` when neither is
/// set (the event is a file-system one).
pub fn decode_provider_exec(
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<ProviderEvent>, FieldError> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    let (action_var, action) = match (var("SFTPGO_PROVIDER_ACTION"), var("SFTPGO_USER_ACTION")) {
        (Some(action), _) => ("SFTPGO_PROVIDER_ACTION", action),
        (None, Some(action)) => ("SFTPGO_USER_ACTION", action),
        (None, None) => return Ok(None),
    };
    let current = action_var == "SFTPGO_PROVIDER_ACTION";
    let parsed = action
        .parse::<ProviderAction>()
        .or_else(|err| action.strip_suffix('s').ok_or(err)?.parse())
        .map_err(|e| FieldError::new(action_var, e.to_string()))?;
    let object_type: ObjectType = var("SFTPGO_PROVIDER_OBJECT_TYPE")
        .unwrap_or_else(|| "user".to_owned())
        .parse()
        .map_err(|e: UnknownName| FieldError::new("SFTPGO_PROVIDER_OBJECT_TYPE", e.to_string()))?;
    let object_var = if current {
        "SFTPGO_PROVIDER_OBJECT"
    } else {
        "SFTPGO_USER"
    };
    let json = var(object_var).unwrap_or_else(|| "{}".to_owned());
    let mut event = ProviderEvent::from_json(parsed, object_type, json.as_bytes())
        .map_err(|e| FieldError::new(object_var, e.to_string()))?;
    if current {
        if let Some(name) = var("SFTPGO_PROVIDER_OBJECT_NAME") {
            event.object_name = name;
        }
        event.executor = Some(var("SFTPGO_PROVIDER_USERNAME").unwrap_or_default());
        event.ip = var("SFTPGO_PROVIDER_IP");
        event.role = var("SFTPGO_PROVIDER_ROLE");
        event.timestamp = match var("SFTPGO_PROVIDER_TIMESTAMP") {
            None => None,
            Some(ms) => Some(
                ms.parse::<i64>()
                    .map_err(|_| {
                        FieldError::new(
                            "SFTPGO_PROVIDER_TIMESTAMP",
                            format!("not an integer: {ms:?}"),
                        )
                    })?
                    .saturating_mul(1_000_000),
            ),
        };
    }
    Ok(Some(event))
}
