//! Plugin calls: a notifier's event, a KMS encrypt or decrypt, an IP
//! filter's check or reload, an event search. The requests are SFTPGo's:
//! its plugin messages' fields as JSON (KMS, log events), its REST API's
//! query for searches, the hook bodies for fs and provider events.

use hookhost::Host;
use hookhost::event::{Event, LogEvent, LogEventKind, Protocol};
use hookhost::plugin::PluginError;
use hookhost::plugin::kms::Secret;
use hookhost::plugin::search::{
    CommonSearch, FsEventSearch, LogEventSearch, Order, ProviderEventSearch, SearchResult,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Call, Printed, Request, fs};

/// A plugin's answer: ok (with what it returned) or its error.
fn answered(call: Call, result: Result<Value, PluginError>) -> Printed {
    match result {
        Ok(mut value) => {
            if !value.is_object() {
                value = json!({});
            }
            value["call"] = json!(call.name());
            value["answer"] = json!("ok");
            Printed {
                value,
                success: true,
            }
        }
        Err(err) => Printed {
            value: json!({"call": call.name(), "answer": "error", "reason": err.to_string()}),
            success: false,
        },
    }
}

/// SFTPGo's notifier log event (`proto.LogEvent`), as JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogEventRequest {
    /// 1 login failed, 2 login with a user that does not exist, 3 no login
    /// tried, 4 algorithm negotiation failed, 5 login ok.
    event: i64,
    #[serde(default)]
    protocol: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    timestamp: i64,
}

/// Deliver the event to every notifier, now.
pub(super) async fn notify(host: &Host, call: Call, request: &Request) -> Result<Printed, String> {
    let event = match call {
        Call::Fs => Event::Fs(fs::fs_event(request, host.sftpgo_version())?),
        Call::Provider => Event::Provider(fs::provider_event(request)?),
        _ => {
            let r: LogEventRequest =
                serde_json::from_slice(request.body(call)?).map_err(|e| request.in_body(e))?;
            let kind = LogEventKind::from_code(r.event).ok_or_else(|| {
                request.in_body(format!("event: {} is not a log event (1 to 5)", r.event))
            })?;
            Event::Log(LogEvent {
                kind,
                protocol: Protocol::parse(&r.protocol),
                username: r.username,
                ip: r.ip,
                message: r.message,
                timestamp: (r.timestamp != 0).then_some(r.timestamp),
                role: (!r.role.is_empty()).then_some(r.role),
            })
        }
    };
    let result = host.plugins().notify(event).await.map(|()| json!({}));
    Ok(answered(call, result))
}

/// SFTPGo's KMS requests (`proto.EncryptRequest`, `proto.DecryptRequest`)
/// as JSON: `payload` (the plaintext, or the ciphertext to decrypt),
/// `additional_data`, `url`, `master_key`; to decrypt also the `key` and
/// `mode` the encryption returned.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KmsRequest {
    payload: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    additional_data: String,
    #[serde(default)]
    mode: i32,
    #[serde(default)]
    url: String,
    #[serde(default)]
    master_key: String,
}

pub(super) async fn kms(host: &Host, call: Call, request: &Request) -> Result<Printed, String> {
    let r: KmsRequest =
        serde_json::from_slice(request.body(call)?).map_err(|e| request.in_body(e))?;
    // The first KMS plugin's scheme and status: as SFTPGo picked it.
    let options = host
        .config()
        .plugins
        .iter()
        .find_map(|p| match &p.kind {
            hookhost::config::PluginKind::Kms(options) => Some(options.clone()),
            _ => None,
        })
        .ok_or("no KMS plugin is configured")?;
    let plugins = host.plugins();
    let result = if call == Call::Encrypt {
        let secret = Secret::plain(r.payload, r.additional_data);
        plugins
            .kms_encrypt(&options.scheme, &secret, &r.url, &r.master_key)
            .await
            .map(|e| json!({"payload": e.payload, "key": e.key, "mode": e.mode}))
    } else {
        let secret = Secret {
            status: options.encrypted_status.clone(),
            payload: r.payload,
            key: r.key,
            additional_data: r.additional_data,
            mode: r.mode,
        };
        plugins
            .kms_decrypt(&secret, &r.url, &r.master_key)
            .await
            .map(|payload| json!({"payload": payload}))
    };
    Ok(answered(call, result))
}

pub(super) async fn ipfilter(
    host: &Host,
    call: Call,
    request: &Request,
) -> Result<Printed, String> {
    let plugins = host.plugins();
    let result = if call == Call::Reload {
        plugins.reload_ip_filter().await
    } else {
        let ip = request.param("ip");
        if ip.is_empty() {
            return Err(
                "--call check-ip: --query needs ip (and protocol): ip=192.0.2.10&protocol=SSH"
                    .into(),
            );
        }
        plugins.check_ip(ip, request.param("protocol")).await
    };
    Ok(answered(call, result.map(|()| json!({}))))
}

/// A comma-separated query parameter, as SFTPGo's REST API reads one.
fn list(request: &Request, key: &str) -> Vec<String> {
    request
        .param(key)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An integer query parameter, if given.
fn int<T: std::str::FromStr>(request: &Request, key: &str) -> Result<Option<T>, String> {
    match request.query.get(key) {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| format!("--query: {key}: not an integer: {text:?}")),
    }
}

/// The parameters every search has, as SFTPGo's REST API reads them:
/// `limit` 1 to 1000 (100 when absent), `order` ASC or DESC (DESC),
/// `start_timestamp`, `end_timestamp` (ns), `username`, `ip`,
/// `instance_ids`, `from_id`, `role`.
fn common(request: &Request, actions: Vec<String>) -> Result<CommonSearch, String> {
    let limit = int::<u32>(request, "limit")?.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(format!(
            "--query: limit is out of the 1-1000 range: {limit}"
        ));
    }
    let order = match request.param("order") {
        "" | "DESC" => Order::Descending,
        "ASC" => Order::Ascending,
        other => return Err(format!("--query: invalid order {other:?} (ASC or DESC)")),
    };
    let from_id = request.param("from_id").to_owned();
    Ok(CommonSearch {
        start_timestamp: int(request, "start_timestamp")?.unwrap_or(0),
        end_timestamp: int(request, "end_timestamp")?.unwrap_or(0),
        actions,
        username: request.param("username").trim().to_owned(),
        ip: request.param("ip").trim().to_owned(),
        instance_ids: list(request, "instance_ids"),
        // Today's SFTPGo sends one id as `from_id`; the plugin also sees
        // it as a list of one, as earlier releases sent it.
        exclude_ids: if from_id.is_empty() {
            Vec::new()
        } else {
            vec![from_id.clone()]
        },
        from_id,
        limit,
        order,
        role: request.param("role").to_owned(),
    })
}

/// Integers of a comma-separated parameter.
fn ints(request: &Request, key: &str) -> Result<Vec<i32>, String> {
    list(request, key)
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| format!("--query: {key}: not an integer: {s:?}"))
        })
        .collect()
}

pub(super) async fn search(host: &Host, call: Call, request: &Request) -> Result<Printed, String> {
    let plugins = host.plugins();
    let result = match call {
        Call::SearchFs => {
            let filter = FsEventSearch {
                common: common(request, list(request, "actions"))?,
                ssh_cmd: request.param("ssh_cmd").trim().to_owned(),
                protocols: list(request, "protocols"),
                statuses: ints(request, "statuses")?,
                fs_provider: int::<i64>(request, "fs_provider")?
                    .and_then(|p| u32::try_from(p).ok()),
                bucket: request.param("bucket").trim().to_owned(),
                endpoint: request.param("endpoint").trim().to_owned(),
            };
            plugins.search_fs_events(&filter).await
        }
        Call::SearchProvider => {
            let filter = ProviderEventSearch {
                common: common(request, list(request, "actions"))?,
                object_name: request.param("object_name").trim().to_owned(),
                object_types: list(request, "object_types"),
                omit_object_data: false,
            };
            plugins.search_provider_events(&filter).await
        }
        _ => {
            let filter = LogEventSearch {
                common: common(request, Vec::new())?,
                events: ints(request, "events")?,
                protocols: list(request, "protocols"),
            };
            plugins.search_log_events(&filter).await
        }
    };
    Ok(answered(call, result.map(found)))
}

/// A search's result: the events (parsed when they are JSON) and the ids
/// at both ends.
fn found(result: SearchResult) -> Value {
    let events = serde_json::from_str::<Value>(&result.events).unwrap_or(json!(result.events));
    json!({"events": events, "same_ts_at_start": result.same_ts_at_start,
        "same_ts_at_end": result.same_ts_at_end})
}
