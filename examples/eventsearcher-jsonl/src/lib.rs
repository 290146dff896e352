//! `eventsearcher-jsonl`: an eventsearcher plugin over the files the
//! `notifier-jsonl` example writes. Its first argument is the directory's
//! guest path; grant it read-only:
//!
//! ```json
//! {"type": "eventsearcher", "cmd": "eventsearcher_jsonl.wasm", "args": ["/events"],
//!  "grants": {"dirs": [{"host": "/var/lib/hookhost/events", "guest": "/events"}]}}
//! ```
//!
//! Filters follow SFTPGo's: a time range (nanoseconds, inclusive, 0 for no
//! bound), actions, username, IP, protocols, statuses, provider, bucket,
//! endpoint, SSH command; object name and types for provider events; event
//! codes and protocols for log events; `limit` (100 when 0, at most 1000)
//! and `order`. Paging works both ways SFTPGo has paged: today's `from-id`
//! (the page continues after that event, in the search's order; an id not
//! found starts from the first match) and the earlier `exclude-ids` with the
//! last timestamp as the new bound (the result lists the ids sharing its
//! first and last timestamps for that).

use hookhost_guest::search::{
    CommonSearch, EventSearcher, FsEventSearch, LogEventSearch, Order, ProviderEventSearch,
    SearchResult,
};
use serde_json::Value;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

fn read_events(file: &str) -> Result<Vec<Value>, String> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/events".to_owned());
    let path = format!("{dir}/{file}");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{path}: {e}")),
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

fn text<'a>(event: &'a Value, key: &str) -> &'a str {
    event.get(key).and_then(Value::as_str).unwrap_or("")
}

fn int(event: &Value, key: &str) -> i64 {
    event.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// The filters both searches share.
fn common_matches(event: &Value, f: &CommonSearch) -> bool {
    let ts = int(event, "timestamp");
    (f.start_timestamp == 0 || ts >= f.start_timestamp)
        && (f.end_timestamp == 0 || ts <= f.end_timestamp)
        && (f.actions.is_empty() || f.actions.iter().any(|a| a == text(event, "action")))
        && (f.username.is_empty() || f.username == text(event, "username"))
        && (f.ip.is_empty() || f.ip == text(event, "ip"))
        && (f.role.is_empty() || f.role == text(event, "role"))
        && !f.exclude_ids.iter().any(|id| id == text(event, "id"))
}

/// Order, continue after `from-id`, limit, and report the ids sharing the
/// edge timestamps.
fn page(mut events: Vec<Value>, f: &CommonSearch) -> SearchResult {
    events.sort_by_key(|e| (int(e, "timestamp"), text(e, "id").to_owned()));
    if f.order == Order::Descending {
        events.reverse();
    }
    if !f.from_id.is_empty()
        && let Some(at) = events.iter().position(|e| text(e, "id") == f.from_id)
    {
        events.drain(..=at);
    }
    let limit = match f.limit as usize {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    };
    events.truncate(limit);
    let ids_at = |ts: Option<i64>| -> Vec<String> {
        ts.map(|ts| {
            events
                .iter()
                .filter(|e| int(e, "timestamp") == ts)
                .map(|e| text(e, "id").to_owned())
                .collect()
        })
        .unwrap_or_default()
    };
    let first = events.first().map(|e| int(e, "timestamp"));
    let last = events.last().map(|e| int(e, "timestamp"));
    SearchResult {
        same_ts_at_start: ids_at(first),
        same_ts_at_end: ids_at(last),
        events: Value::Array(events).to_string(),
    }
}

struct JsonLinesSearch;

impl EventSearcher for JsonLinesSearch {
    fn search_fs_events(filter: FsEventSearch) -> Result<SearchResult, String> {
        let events = read_events("fs.jsonl")?
            .into_iter()
            .filter(|e| common_matches(e, &filter.common))
            .filter(|e| filter.ssh_cmd.is_empty() || filter.ssh_cmd == text(e, "ssh_cmd"))
            .filter(|e| {
                filter.protocols.is_empty()
                    || filter.protocols.iter().any(|p| p == text(e, "protocol"))
            })
            .filter(|e| {
                filter.statuses.is_empty() || filter.statuses.contains(&(int(e, "status") as i32))
            })
            .filter(|e| {
                filter
                    .fs_provider
                    .is_none_or(|p| i64::from(p) == int(e, "fs_provider"))
            })
            .filter(|e| filter.bucket.is_empty() || filter.bucket == text(e, "bucket"))
            .filter(|e| filter.endpoint.is_empty() || filter.endpoint == text(e, "endpoint"))
            .collect();
        Ok(page(events, &filter.common))
    }

    fn search_provider_events(filter: ProviderEventSearch) -> Result<SearchResult, String> {
        let events = read_events("provider.jsonl")?
            .into_iter()
            .filter(|e| common_matches(e, &filter.common))
            .filter(|e| {
                filter.object_name.is_empty() || filter.object_name == text(e, "object_name")
            })
            .filter(|e| {
                filter.object_types.is_empty()
                    || filter
                        .object_types
                        .iter()
                        .any(|t| t == text(e, "object_type"))
            })
            .map(|mut e| {
                if filter.omit_object_data
                    && let Some(object) = e.as_object_mut()
                {
                    object.remove("object_data");
                }
                e
            })
            .collect();
        Ok(page(events, &filter.common))
    }

    fn search_log_events(filter: LogEventSearch) -> Result<SearchResult, String> {
        let events = read_events("log.jsonl")?
            .into_iter()
            .filter(|e| common_matches(e, &filter.common))
            .filter(|e| {
                filter.events.is_empty() || filter.events.contains(&(int(e, "event") as i32))
            })
            .filter(|e| {
                filter.protocols.is_empty()
                    || filter.protocols.iter().any(|p| p == text(e, "protocol"))
            })
            .collect();
        Ok(page(events, &filter.common))
    }
}

hookhost_guest::export_eventsearcher!(JsonLinesSearch);
