//! The URL form of provider events: the query SFTPGo adds to a provider
//! hook's URL (the object is the body) and, for `serve` and `replay`, the
//! same request read back.

use std::collections::HashMap;

use super::{ObjectType, ProviderAction, ProviderEvent};
use crate::clock::now_ns;
use crate::error::FieldError;
use crate::event::{Change, Contract};

impl ProviderEvent {
    /// The query parameters SFTPGo of `contract` adds to the hook's URL.
    pub fn http_query(&self, contract: &Contract) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("action", self.action.as_str().to_owned())];
        if contract.has(Change::ProviderCurrentForm) {
            pairs.extend([
                ("username", self.executor_or_system().to_owned()),
                ("ip", self.ip.clone().unwrap_or_default()),
                ("object_type", self.object_type.as_str().to_owned()),
                ("object_name", self.object_name.clone()),
            ]);
            if let Some(role) = self.role.as_ref().filter(|r| !r.is_empty())
                && contract.has(Change::Role)
            {
                pairs.push(("role", role.clone()));
            }
            pairs.push((
                "timestamp",
                self.timestamp.unwrap_or_else(now_ns).to_string(),
            ));
        }
        pairs
    }
}

/// The provider event of SFTPGo's request to a provider hook's URL: the
/// query (`action`; today's releases add `username`, `ip`, `object_type`,
/// `object_name`, `role`, `timestamp`) and the object as the body.
pub fn decode_provider_request(
    query: &HashMap<String, String>,
    body: &[u8],
) -> Result<ProviderEvent, FieldError> {
    let action: ProviderAction = query
        .get("action")
        .ok_or_else(|| FieldError::new("action", "missing (expected ?action=add|update|delete)"))?
        .parse()
        .map_err(|err| FieldError::new("action", format!("{err}")))?;
    let object_type: ObjectType = query
        .get("object_type")
        .map(String::as_str)
        .unwrap_or("user")
        .parse()
        .map_err(|err| FieldError::new("object_type", format!("{err}")))?;
    let mut event = ProviderEvent::from_json(action, object_type, body)?;
    if let Some(name) = query.get("object_name").filter(|n| !n.is_empty()) {
        event = event.with_name(name.clone());
    }
    // Today's SFTPGo always sends the executor (possibly `__system__`) and
    // the IP, even empty: their presence marks its form.
    event.executor = query.get("username").cloned();
    event.ip = query.get("ip").cloned();
    event.role = query.get("role").cloned().filter(|v| !v.is_empty());
    event.timestamp = match query.get("timestamp") {
        None => None,
        Some(text) => Some(
            text.parse()
                .map_err(|_| FieldError::new("timestamp", format!("not an integer: {text:?}")))?,
        ),
    };
    Ok(event)
}
