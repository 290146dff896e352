//! `proto.Notifier`: SFTPGo's events, delivered to the notifier component.
//!
//! SFTPGo already chose the events it sends (its `notifier_options`), so
//! every one is delivered. With `retry_max_time` 0 in hookhost's entry (the
//! default) the call waits for the component and a refusal comes back as
//! the error, which makes SFTPGo queue and retry the event by its own
//! options; with `retry_max_time` set, hookhost queues and retries instead
//! and answers at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{invalid, non_empty, status};
use crate::Host;
use crate::event::{
    Contract, FsAction, FsEvent, FsProvider, LogEvent, LogEventKind, ObjectType, Protocol,
    ProviderAction, ProviderEvent,
};
use crate::gateway::proto::sftpgo as pb;
use crate::plugin::Payload;

pub(super) struct NotifierService {
    pub(super) host: Arc<Host>,
}

impl NotifierService {
    async fn deliver(&self, payload: Payload) -> Result<Response<()>, Status> {
        self.host.plugins().deliver(payload).await.map_err(status)?;
        Ok(Response::new(()))
    }
}

#[tonic::async_trait]
impl pb::notifier_server::Notifier for NotifierService {
    async fn send_fs_event(&self, request: Request<pb::FsEvent>) -> Result<Response<()>, Status> {
        let event = fs_event(request.into_inner())?;
        self.deliver(Payload::Fs(Arc::new(event))).await
    }

    async fn send_provider_event(
        &self,
        request: Request<pb::ProviderEvent>,
    ) -> Result<Response<()>, Status> {
        let event = provider_event(request.into_inner())?;
        self.deliver(Payload::Provider(Arc::new(event))).await
    }

    async fn send_log_event(&self, request: Request<pb::LogEvent>) -> Result<Response<()>, Status> {
        let event = log_event(request.into_inner())?;
        self.deliver(Payload::Log(Arc::new(event))).await
    }
}

fn timestamp(ns: i64) -> Option<i64> {
    (ns != 0).then_some(ns)
}

/// SFTPGo's fs event. Plugins came with SFTPGo 2.2, whose `status` is
/// today's numbering (1 ok, 2 error, 3 quota exceeded).
fn fs_event(e: pb::FsEvent) -> Result<FsEvent, Status> {
    let action: FsAction = e.action.parse().map_err(|err| invalid("action", err))?;
    let status = match e.status {
        0 => crate::event::Status::Ok,
        code => crate::event::Status::from_code_in(i64::from(code), &Contract::NEWEST)
            .ok_or_else(|| invalid("status", format!("unknown status {code}")))?,
    };
    let fs_provider = u32::try_from(e.fs_provider)
        .map(FsProvider::from_code)
        .map_err(|_| invalid("fs_provider", format!("{} is negative", e.fs_provider)))?;
    Ok(FsEvent {
        action,
        username: e.username,
        path: e.fs_path,
        target_path: non_empty(e.fs_target_path),
        virtual_path: Some(e.virtual_path),
        virtual_target_path: non_empty(e.virtual_target_path),
        ssh_cmd: non_empty(e.ssh_cmd),
        file_size: e.file_size,
        fs_provider,
        bucket: non_empty(e.bucket),
        endpoint: non_empty(e.endpoint),
        status,
        protocol: Protocol::parse(&e.protocol),
        open_flags: e.open_flags,
        timestamp: timestamp(e.timestamp),
        ip: non_empty(e.ip),
        session_id: non_empty(e.session_id),
        role: non_empty(e.role),
        elapsed: e.elapsed,
        metadata: e.metadata.into_iter().collect::<BTreeMap<_, _>>(),
        // Plugins came with SFTPGo 2.2.
        sent_by: Some(crate::event::Releases::since(
            crate::event::Change::VirtualPathIpTimestamp.since(),
        )),
    })
}

fn provider_event(e: pb::ProviderEvent) -> Result<ProviderEvent, Status> {
    let action: ProviderAction = e.action.parse().map_err(|err| invalid("action", err))?;
    let object_type: ObjectType = e
        .object_type
        .parse()
        .map_err(|err| invalid("object_type", err))?;
    let event = if e.object_data.is_empty() {
        ProviderEvent::new(action, object_type, serde_json::json!({}))
    } else {
        ProviderEvent::from_json(action, object_type, &e.object_data)
            .map_err(|err| invalid("object_data", err))?
    };
    let mut event = event.with_name(e.object_name);
    event.executor = non_empty(e.username);
    event.ip = non_empty(e.ip);
    event.role = non_empty(e.role);
    event.timestamp = timestamp(e.timestamp);
    Ok(event)
}

fn log_event(e: pb::LogEvent) -> Result<LogEvent, Status> {
    let kind = LogEventKind::from_code(i64::from(e.event))
        .ok_or_else(|| invalid("event", format!("unknown log event {}", e.event)))?;
    Ok(LogEvent {
        kind,
        protocol: Protocol::parse(&e.protocol),
        username: e.username,
        ip: e.ip,
        message: e.message,
        timestamp: timestamp(e.timestamp),
        role: non_empty(e.role),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_fs_event_keeps_every_field_sftpgo_sends() {
        let event = fs_event(pb::FsEvent {
            timestamp: 1_700_000_000_000_000_000,
            action: "rename".into(),
            username: "alice".into(),
            fs_path: "/srv/alice/a".into(),
            fs_target_path: "/srv/alice/b".into(),
            protocol: "SFTP".into(),
            status: 3,
            ip: "10.0.0.1".into(),
            virtual_path: "/a".into(),
            virtual_target_path: "/b".into(),
            session_id: "SFTP_1".into(),
            fs_provider: 1,
            bucket: "bkt".into(),
            role: "ops".into(),
            elapsed: 12,
            metadata: [("k".to_owned(), "v".to_owned())].into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(event.action, FsAction::Rename);
        assert_eq!(event.target_path.as_deref(), Some("/srv/alice/b"));
        assert_eq!(event.status, crate::event::Status::QuotaExceeded);
        assert_eq!(event.fs_provider, FsProvider::S3);
        assert_eq!(event.timestamp, Some(1_700_000_000_000_000_000));
        assert_eq!(event.metadata["k"], "v");
        assert_eq!(event.ssh_cmd, None);
    }

    #[test]
    fn unreadable_requests_name_the_field() {
        let bad = fs_event(pb::FsEvent {
            action: "teleport".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(bad.code(), tonic::Code::InvalidArgument);
        assert!(bad.message().starts_with("action: "), "{}", bad.message());
        let bad = log_event(pb::LogEvent {
            event: 9,
            ..Default::default()
        })
        .unwrap_err();
        assert!(bad.message().contains("unknown log event 9"));
    }

    #[test]
    fn a_provider_event_names_its_object_as_sent() {
        let event = provider_event(pb::ProviderEvent {
            action: "update".into(),
            object_type: "folder".into(),
            object_name: "shared".into(),
            object_data: br#"{"name":"shared","mapped_path":"/srv/shared"}"#.to_vec(),
            username: "admin".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(event.object_name, "shared");
        assert_eq!(event.executor.as_deref(), Some("admin"));
        assert_eq!(
            &*event.object_json,
            r#"{"name":"shared","mapped_path":"/srv/shared"}"#
        );
    }
}
