//! Events in their WIT form, as guests (hooks and plugins) receive them.

use super::bindings::wit;
use crate::event::{self, FsEvent, LogEvent, ProviderEvent};

/// The WIT form of an fs event.
pub fn to_wit_fs(ev: &FsEvent) -> wit::FsEvent {
    use event::{FsAction as A, FsProvider as P, Status as S};
    wit::FsEvent {
        action: match ev.action {
            A::Download => wit::FsAction::Download,
            A::PreDownload => wit::FsAction::PreDownload,
            A::Upload => wit::FsAction::Upload,
            A::PreUpload => wit::FsAction::PreUpload,
            A::Delete => wit::FsAction::Delete,
            A::PreDelete => wit::FsAction::PreDelete,
            A::Rename => wit::FsAction::Rename,
            A::SshCmd => wit::FsAction::SshCmd,
            A::Mkdir => wit::FsAction::Mkdir,
            A::Rmdir => wit::FsAction::Rmdir,
            A::FirstUpload => wit::FsAction::FirstUpload,
            A::FirstDownload => wit::FsAction::FirstDownload,
            A::Copy => wit::FsAction::Copy,
        },
        username: ev.username.clone(),
        path: ev.path.clone(),
        target_path: ev.target_path.clone(),
        virtual_path: ev.virtual_path.clone(),
        virtual_target_path: ev.virtual_target_path.clone(),
        ssh_cmd: ev.ssh_cmd.clone(),
        file_size: ev.file_size,
        fs_provider: match ev.fs_provider {
            P::Local => wit::FsProvider::Local,
            P::S3 => wit::FsProvider::S3,
            P::Gcs => wit::FsProvider::Gcs,
            P::AzureBlob => wit::FsProvider::AzureBlob,
            P::LocalEncrypted => wit::FsProvider::LocalEncrypted,
            P::Sftp => wit::FsProvider::Sftp,
            P::HttpFs => wit::FsProvider::HttpFs,
            P::Other(code) => wit::FsProvider::Other(code),
        },
        bucket: ev.bucket.clone(),
        endpoint: ev.endpoint.clone(),
        status: match ev.status {
            S::GenericError => wit::Status::GenericError,
            S::Ok => wit::Status::Ok,
            S::QuotaExceeded => wit::Status::QuotaExceeded,
        },
        protocol: to_wit_protocol(&ev.protocol),
        open_flags: ev.open_flags,
        timestamp: ev.timestamp,
        ip: ev.ip.clone(),
        session_id: ev.session_id.clone(),
        role: ev.role.clone(),
        elapsed: ev.elapsed,
        metadata: ev
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// The WIT form of a provider event.
pub fn to_wit_provider(ev: &ProviderEvent) -> wit::ProviderEvent {
    use event::{ObjectType as O, ProviderAction as A};
    wit::ProviderEvent {
        action: match ev.action {
            A::Add => wit::ProviderAction::Add,
            A::Update => wit::ProviderAction::Update,
            A::Delete => wit::ProviderAction::Delete,
        },
        object_type: match ev.object_type {
            O::User => wit::ObjectType::User,
            O::Folder => wit::ObjectType::Folder,
            O::Group => wit::ObjectType::Group,
            O::Admin => wit::ObjectType::Admin,
            O::ApiKey => wit::ObjectType::ApiKey,
            O::Share => wit::ObjectType::Share,
            O::EventAction => wit::ObjectType::EventAction,
            O::EventRule => wit::ObjectType::EventRule,
            O::Role => wit::ObjectType::Role,
            O::IpListEntry => wit::ObjectType::IpListEntry,
            O::Configs => wit::ObjectType::Configs,
        },
        object_name: ev.object_name.clone(),
        object_data: ev.object_json.to_string(),
        executor: ev.executor.clone(),
        ip: ev.ip.clone(),
        timestamp: ev.timestamp,
        role: ev.role.clone(),
    }
}

/// The WIT form of a protocol.
fn to_wit_protocol(protocol: &event::Protocol) -> wit::Protocol {
    use event::Protocol as Pr;
    match protocol {
        Pr::Ssh => wit::Protocol::Ssh,
        Pr::Sftp => wit::Protocol::Sftp,
        Pr::Scp => wit::Protocol::Scp,
        Pr::Ftp => wit::Protocol::Ftp,
        Pr::Dav => wit::Protocol::Dav,
        Pr::Http => wit::Protocol::Http,
        Pr::Other(name) => wit::Protocol::Other(name.clone()),
    }
}

/// The WIT form of a log event, with its timestamp settled.
pub fn to_wit_log(ev: &LogEvent, timestamp: i64) -> wit::LogEvent {
    use event::LogEventKind as K;
    wit::LogEvent {
        kind: match ev.kind {
            K::LoginFailed => wit::LogEventKind::LoginFailed,
            K::LoginNoUser => wit::LogEventKind::LoginNoUser,
            K::NoLoginTried => wit::LogEventKind::NoLoginTried,
            K::NotNegotiated => wit::LogEventKind::NotNegotiated,
            K::LoginOk => wit::LogEventKind::LoginOk,
        },
        protocol: to_wit_protocol(&ev.protocol),
        username: ev.username.clone(),
        ip: ev.ip.clone(),
        message: ev.message.clone(),
        timestamp,
        role: ev.role.clone(),
    }
}
