//! Conveniences on the event types.

use crate::{FsAction, FsEvent, FsProvider, ObjectType, Protocol, ProviderAction, Status};

impl FsAction {
    /// The action as SFTPGo spells it (`pre-upload`, `ssh_cmd`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            FsAction::Download => "download",
            FsAction::PreDownload => "pre-download",
            FsAction::Upload => "upload",
            FsAction::PreUpload => "pre-upload",
            FsAction::Delete => "delete",
            FsAction::PreDelete => "pre-delete",
            FsAction::Rename => "rename",
            FsAction::SshCmd => "ssh_cmd",
            FsAction::Mkdir => "mkdir",
            FsAction::Rmdir => "rmdir",
            FsAction::FirstUpload => "first-upload",
            FsAction::FirstDownload => "first-download",
            FsAction::Copy => "copy",
        }
    }
}

impl FsProvider {
    /// SFTPGo's numeric code (0 local ... 5 sftp, 6 http).
    pub fn code(&self) -> u32 {
        match self {
            FsProvider::Local => 0,
            FsProvider::S3 => 1,
            FsProvider::Gcs => 2,
            FsProvider::AzureBlob => 3,
            FsProvider::LocalEncrypted => 4,
            FsProvider::Sftp => 5,
            FsProvider::HttpFs => 6,
            FsProvider::Other(code) => *code,
        }
    }
}

impl Status {
    /// The reference's numeric code (0 error, 1 ok, 2 quota exceeded).
    pub fn code(&self) -> i32 {
        match self {
            Status::GenericError => 0,
            Status::Ok => 1,
            Status::QuotaExceeded => 2,
        }
    }

    /// The code of SFTPGo 2.2 and later (1 ok, 2 error, 3 quota exceeded):
    /// what its plugins and its event search use.
    pub fn current_code(&self) -> i32 {
        match self {
            Status::Ok => 1,
            Status::GenericError => 2,
            Status::QuotaExceeded => 3,
        }
    }
}

impl Protocol {
    /// The protocol as SFTPGo spells it (`SFTP`, `DAV`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Protocol::Ssh => "SSH",
            Protocol::Sftp => "SFTP",
            Protocol::Scp => "SCP",
            Protocol::Ftp => "FTP",
            Protocol::Dav => "DAV",
            Protocol::Http => "HTTP",
            Protocol::Other(name) => name,
        }
    }
}

impl ProviderAction {
    /// `add`, `update` or `delete`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProviderAction::Add => "add",
            ProviderAction::Update => "update",
            ProviderAction::Delete => "delete",
        }
    }
}

impl ObjectType {
    /// The object type as SFTPGo spells it (`user`, `api_key`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            ObjectType::User => "user",
            ObjectType::Folder => "folder",
            ObjectType::Group => "group",
            ObjectType::Admin => "admin",
            ObjectType::ApiKey => "api_key",
            ObjectType::Share => "share",
            ObjectType::EventAction => "event_action",
            ObjectType::EventRule => "event_rule",
            ObjectType::Role => "role",
            ObjectType::IpListEntry => "ip_list_entry",
            ObjectType::Configs => "configs",
        }
    }
}

impl FsEvent {
    /// The last component of `path`.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }

    /// The file name's extension, lower-cased, without the dot.
    pub fn extension(&self) -> Option<String> {
        let name = self.file_name();
        let (stem, ext) = name.rsplit_once('.')?;
        (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
    }

    /// The event as JSON: the reference's fields and inclusion rules, plus
    /// `virtual_path`, `virtual_target_path`, `timestamp`, `ip`,
    /// `session_id`, `role` and `elapsed` when set (the status in the
    /// reference numbering).
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        let mut field = |name: &str, value: String| {
            if out.len() > 1 {
                out.push(',');
            }
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            out.push_str(&value);
        };
        field("action", quote(self.action.as_str()));
        field("username", quote(&self.username));
        field("path", quote(&self.path));
        if let Some(target) = &self.target_path {
            field("target_path", quote(target));
        }
        if let Some(path) = &self.virtual_path {
            field("virtual_path", quote(path));
        }
        if let Some(target) = &self.virtual_target_path {
            field("virtual_target_path", quote(target));
        }
        if let Some(cmd) = &self.ssh_cmd {
            field("ssh_cmd", quote(cmd));
        }
        if self.file_size > 0 {
            field("file_size", self.file_size.to_string());
        }
        field("fs_provider", self.fs_provider.code().to_string());
        if let Some(bucket) = &self.bucket {
            field("bucket", quote(bucket));
        }
        if let Some(endpoint) = &self.endpoint {
            field("endpoint", quote(endpoint));
        }
        field("status", self.status.code().to_string());
        field("protocol", quote(self.protocol.as_str()));
        if self.open_flags != 0 {
            field("open_flags", self.open_flags.to_string());
        }
        if let Some(ts) = self.timestamp {
            field("timestamp", ts.to_string());
        }
        if let Some(ip) = &self.ip {
            field("ip", quote(ip));
        }
        if let Some(id) = &self.session_id {
            field("session_id", quote(id));
        }
        if let Some(role) = &self.role {
            field("role", quote(role));
        }
        if self.elapsed != 0 {
            field("elapsed", self.elapsed.to_string());
        }
        out.push('}');
        out
    }
}

/// A JSON string literal.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl crate::LogEventKind {
    /// SFTPGo's code: 1 login failed ... 5 login succeeded.
    pub fn code(&self) -> u8 {
        match self {
            crate::LogEventKind::LoginFailed => 1,
            crate::LogEventKind::LoginNoUser => 2,
            crate::LogEventKind::NoLoginTried => 3,
            crate::LogEventKind::NotNegotiated => 4,
            crate::LogEventKind::LoginOk => 5,
        }
    }
}
