//! fs and provider events: the hooks' outcome, as `serve` decides it.

use hookhost::event::fs::http::decode_fs_event_as;
use hookhost::event::provider::http::decode_provider_request;
use hookhost::event::{ProviderEvent, VersionSetting};
use hookhost::{Host, Outcome};
use serde_json::{Value, json};

use super::{Call, Printed, Request, report_json};

/// The fs event in the body, read as SFTPGo `versions` sends it.
pub(super) fn fs_event(
    request: &Request,
    versions: VersionSetting,
) -> Result<hookhost::event::FsEvent, String> {
    decode_fs_event_as(request.body(Call::Fs)?, versions).map_err(|e| request.in_body(e))
}

/// The provider event: the object in the body, `--provider-action` and
/// `--object-type` (or the query's `action` and `object_type`), and the
/// rest of the query as SFTPGo sends it (`username`, `ip`, `object_name`,
/// `role`, `timestamp`).
pub(super) fn provider_event(request: &Request) -> Result<ProviderEvent, String> {
    let mut query = request.query.clone();
    let action = request
        .provider_action
        .clone()
        .ok_or("a provider event needs --provider-action add, update or delete")?;
    query.insert("action".into(), action);
    query.insert("object_type".into(), request.object_type.clone());
    decode_provider_request(&query, request.body(Call::Provider)?).map_err(|e| {
        match e.field.as_str() {
            "action" => format!("--provider-action: {}", e.message),
            "object_type" => format!("--object-type: {}", e.message),
            "timestamp" => format!("--query: timestamp: {}", e.message),
            _ => request.in_body(e),
        }
    })
}

pub(super) async fn fs(host: &Host, request: &Request) -> Result<Printed, String> {
    let event = fs_event(request, host.sftpgo_version())?;
    let action = event.action.as_str().to_owned();
    Ok(printed(
        &action,
        &host.dispatch(event).wait_for_all().await,
        true,
    ))
}

pub(super) async fn provider(host: &Host, request: &Request) -> Result<Printed, String> {
    let event = provider_event(request)?;
    let action = event.action.as_str().to_owned();
    // A provider hook cannot refuse: its error is a failure.
    Ok(printed(
        &action,
        &host.dispatch(event).wait_for_all().await,
        false,
    ))
}

fn printed(action: &str, outcome: &Outcome, decides: bool) -> Printed {
    Printed {
        value: outcome_json(action, outcome, decides),
        success: outcome.decision.is_success(),
    }
}

/// The outcome as printed by `fire`.
fn outcome_json(action: &str, outcome: &Outcome, decides: bool) -> Value {
    let mut value = serde_json::to_value(&outcome.decision).expect("decisions serialize");
    value["action"] = json!(action);
    value["hooks"] = outcome
        .reports
        .iter()
        .map(|r| report_json(r, decides))
        .collect();
    value
}
