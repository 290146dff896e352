//! `proto.Searcher`: SFTPGo's event searches, answered by the component.
//!
//! Two SFTPGo generations share the wire (see `proto/sftpgo/search.proto`):
//! today's sends one `from_id`, earlier ones a list of `exclude_ids` in the
//! same field. A single id is handed over as both `from-id` and
//! `exclude-ids`, a list as `exclude-ids` only; the answer always carries
//! the events and the ids at both ends.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::status;
use crate::Host;
use crate::gateway::proto::sftpgo as pb;
use crate::plugin::search::{
    CommonSearch, FsEventSearch, LogEventSearch, Order, ProviderEventSearch, SearchResult,
};

pub(super) struct SearcherService {
    pub(super) host: Arc<Host>,
}

/// The cursor, in both generations' terms: one id is today's `from_id`
/// and also an exclusion list of one; several ids are an exclusion list.
fn cursor(ids: Vec<String>) -> (String, Vec<String>) {
    match ids.as_slice() {
        [one] => (one.clone(), ids),
        _ => (String::new(), ids),
    }
}

/// The fields every filter has, from any of the three filter messages.
macro_rules! common {
    ($f:ident, actions: $actions:expr, ascending: $ascending:expr) => {{
        let (from_id, exclude_ids) = cursor($f.from_id);
        CommonSearch {
            start_timestamp: $f.start_timestamp,
            end_timestamp: $f.end_timestamp,
            actions: $actions,
            username: $f.username,
            ip: $f.ip,
            instance_ids: $f.instance_ids,
            from_id,
            exclude_ids,
            limit: u32::try_from($f.limit).unwrap_or(0),
            order: if $ascending {
                Order::Ascending
            } else {
                Order::Descending
            },
            role: $f.role,
        }
    }};
}

fn reply(result: SearchResult) -> Response<pb::SearchResponse> {
    Response::new(pb::SearchResponse {
        data: result.events.into_bytes(),
        same_ts_at_start: result.same_ts_at_start,
        same_ts_at_end: result.same_ts_at_end,
    })
}

#[tonic::async_trait]
impl pb::searcher_server::Searcher for SearcherService {
    async fn search_fs_events(
        &self,
        request: Request<pb::FsEventsFilter>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let f = request.into_inner();
        let ascending = f.order() == pb::fs_events_filter::Order::Asc;
        let filter = FsEventSearch {
            common: common!(f, actions: f.actions, ascending: ascending),
            ssh_cmd: f.ssh_cmd,
            protocols: f.protocols,
            statuses: f.statuses,
            // SFTPGo sends -1 for "any provider".
            fs_provider: u32::try_from(f.fs_provider).ok(),
            bucket: f.bucket,
            endpoint: f.endpoint,
        };
        let result = self.host.plugins().search_fs_events(&filter).await;
        result.map(reply).map_err(status)
    }

    async fn search_provider_events(
        &self,
        request: Request<pb::ProviderEventsFilter>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let f = request.into_inner();
        let ascending = f.order() == pb::provider_events_filter::Order::Asc;
        let filter = ProviderEventSearch {
            common: common!(f, actions: f.actions, ascending: ascending),
            object_name: f.object_name,
            object_types: f.object_types,
            omit_object_data: f.omit_object_data,
        };
        let result = self.host.plugins().search_provider_events(&filter).await;
        result.map(reply).map_err(status)
    }

    async fn search_log_events(
        &self,
        request: Request<pb::LogEventsFilter>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let f = request.into_inner();
        let ascending = f.order() == pb::log_events_filter::Order::Asc;
        let filter = LogEventSearch {
            common: common!(f, actions: Vec::new(), ascending: ascending),
            events: f.events,
            protocols: f.protocols,
        };
        let result = self.host.plugins().search_log_events(&filter).await;
        result.map(reply).map_err(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(from_id: &[&str]) -> CommonSearch {
        let f = pb::FsEventsFilter {
            start_timestamp: 1,
            end_timestamp: 2,
            limit: -5,
            from_id: from_id.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        common!(f, actions: vec![], ascending: true)
    }

    #[test]
    fn one_id_is_both_generations_cursor_and_a_list_only_the_old_one() {
        let today = common(&["e7"]);
        assert_eq!((today.from_id.as_str(), today.exclude_ids.len()), ("e7", 1));
        let earlier = common(&["e7", "e8"]);
        assert_eq!(earlier.from_id, "");
        assert_eq!(earlier.exclude_ids, ["e7", "e8"]);
        assert_eq!(earlier.limit, 0);
        assert_eq!(earlier.order, Order::Ascending);
    }
}
