//! File-system events: the model, and its two encodings — the HTTP hook's
//! JSON body ([`http`]) and an exec hook's argv and environment ([`exec`]).

pub mod exec;
pub mod http;

use std::collections::BTreeMap;
use std::fmt;

use super::{Change, Contract, Releases, SftpgoVersion, named_enum};

named_enum! {
    /// A file-system action, spelled as SFTPGo's `action` field.
    FsAction, "action" {
        Download = "download",
        PreDownload = "pre-download",
        Upload = "upload",
        PreUpload = "pre-upload",
        Delete = "delete",
        PreDelete = "pre-delete",
        Rename = "rename",
        SshCmd = "ssh_cmd",
        Mkdir = "mkdir",
        Rmdir = "rmdir",
        FirstUpload = "first-upload",
        FirstDownload = "first-download",
        Copy = "copy",
    }
}

impl FsAction {
    /// `pre-*` actions are always synchronous and their answer decides the
    /// operation.
    pub fn is_pre(self) -> bool {
        matches!(
            self,
            FsAction::PreDownload | FsAction::PreUpload | FsAction::PreDelete
        )
    }

    /// Whether the SFTPGo release of `contract` fires this action.
    pub fn fired_by(self, contract: &Contract) -> bool {
        match self {
            FsAction::Mkdir | FsAction::Rmdir => contract.has(Change::MkdirRmdirEvents),
            FsAction::FirstUpload | FsAction::FirstDownload => {
                contract.has(Change::FirstUploadDownloadEvents)
            }
            FsAction::Copy => contract.has(Change::CopyEvents),
            _ => true,
        }
    }
}

/// Storage backend of the user (`fs_provider`), numbered as SFTPGo numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FsProvider {
    /// 0: local filesystem.
    #[default]
    Local,
    /// 1: S3.
    S3,
    /// 2: Google Cloud Storage.
    Gcs,
    /// 3: Azure Blob Storage.
    AzureBlob,
    /// 4: local encrypted.
    LocalEncrypted,
    /// 5: SFTP.
    Sftp,
    /// 6: HTTP (SFTPGo 2.4 and later).
    HttpFs,
    /// A code this version does not know, kept as received.
    Other(u32),
}

impl FsProvider {
    /// SFTPGo's numeric code.
    pub fn code(self) -> u32 {
        match self {
            FsProvider::Local => 0,
            FsProvider::S3 => 1,
            FsProvider::Gcs => 2,
            FsProvider::AzureBlob => 3,
            FsProvider::LocalEncrypted => 4,
            FsProvider::Sftp => 5,
            FsProvider::HttpFs => 6,
            FsProvider::Other(code) => code,
        }
    }

    /// The provider for a numeric code; unknown codes are kept as `Other`.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => FsProvider::Local,
            1 => FsProvider::S3,
            2 => FsProvider::Gcs,
            3 => FsProvider::AzureBlob,
            4 => FsProvider::LocalEncrypted,
            5 => FsProvider::Sftp,
            6 => FsProvider::HttpFs,
            other => FsProvider::Other(other),
        }
    }
}

/// Outcome of the reported operation (`status`). SFTPGo numbered it
/// differently over time (see [`Status::code_in`]); the model holds the
/// meaning, not a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Status {
    /// Reference code 0, today's 2.
    GenericError,
    /// Code 1 in every release.
    #[default]
    Ok,
    /// Reference code 2, today's 3: the upload hit the quota; with file size
    /// 0 the partial file has already been removed.
    QuotaExceeded,
}

impl Status {
    /// The reference numbering: 0 error, 1 ok, 2 quota.
    pub fn code(self) -> i32 {
        match self {
            Status::GenericError => 0,
            Status::Ok => 1,
            Status::QuotaExceeded => 2,
        }
    }

    /// The code the SFTPGo release of `contract` uses.
    pub fn code_in(self, contract: &Contract) -> i32 {
        if !contract.has(Change::StatusRenumbered) {
            return self.code();
        }
        match self {
            Status::Ok => 1,
            Status::GenericError => 2,
            Status::QuotaExceeded => 3,
        }
    }

    /// Decode a code in the numbering of the release of `contract`.
    pub fn from_code_in(code: i64, contract: &Contract) -> Option<Self> {
        if contract.has(Change::StatusRenumbered) {
            Self::from_current_code(code)
        } else {
            Self::from_reference_code(code)
        }
    }

    /// Decode a code in the reference numbering (0 error, 1 ok, 2 quota).
    pub fn from_reference_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Status::GenericError),
            1 => Some(Status::Ok),
            2 => Some(Status::QuotaExceeded),
            _ => None,
        }
    }

    /// Decode a code in the numbering of current SFTPGo releases
    /// (1 ok, 2 error, 3 quota).
    pub fn from_current_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Status::Ok),
            2 => Some(Status::GenericError),
            3 => Some(Status::QuotaExceeded),
            _ => None,
        }
    }
}

/// Protocol the client used.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `SSH` (SSH commands).
    Ssh,
    /// `SFTP`.
    Sftp,
    /// `SCP`.
    Scp,
    /// `FTP`.
    Ftp,
    /// `DAV`.
    Dav,
    /// `HTTP`.
    Http,
    /// Any other name a newer server sends (`HTTPShare`, `DataRetention`, ...).
    Other(String),
}

impl Protocol {
    /// The name as SFTPGo spells it.
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

    /// Parse a protocol name; names outside the reference list are kept.
    pub fn parse(name: &str) -> Self {
        match name {
            "SSH" => Protocol::Ssh,
            "SFTP" => Protocol::Sftp,
            "SCP" => Protocol::Scp,
            "FTP" => Protocol::Ftp,
            "DAV" => Protocol::Dav,
            "HTTP" => Protocol::Http,
            other => Protocol::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One file-system event: SFTPGo's action notification, with every field
/// today's releases send (the reference sends a subset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsEvent {
    /// What happened.
    pub action: FsAction,
    /// The SFTPGo user.
    pub username: String,
    /// Full filesystem path; can be empty for some SSH commands.
    pub path: String,
    /// Target of a rename or copy, or of the `sftpgo-copy` SSH command.
    pub target_path: Option<String>,
    /// The path as the user sees it (today's releases; `Some("")` when the
    /// server sent it empty).
    pub virtual_path: Option<String>,
    /// The target as the user sees it.
    pub virtual_target_path: Option<String>,
    /// The SSH command, for `ssh_cmd`.
    pub ssh_cmd: Option<String>,
    /// File size in bytes (0 when unknown or not applicable). On
    /// `pre-upload` it is the size of the file being overwritten (0 for a
    /// new file), not the size of the upload.
    pub file_size: i64,
    /// Storage backend.
    pub fs_provider: FsProvider,
    /// Bucket (S3, GCS) or container (Azure).
    pub bucket: Option<String>,
    /// Endpoint (S3, SFTP, Azure).
    pub endpoint: Option<String>,
    /// Outcome of the operation.
    pub status: Status,
    /// Client protocol.
    pub protocol: Protocol,
    /// File open flags (pre-upload).
    pub open_flags: i32,
    /// Event time in nanoseconds since the Unix epoch, when the server sent it.
    pub timestamp: Option<i64>,
    /// Client IP, when the server sent it.
    pub ip: Option<String>,
    /// Protocol session id, when the server sent it.
    pub session_id: Option<String>,
    /// The user's role (SFTPGo 2.5 and later).
    pub role: Option<String>,
    /// Duration of the operation in milliseconds (0 when not sent).
    pub elapsed: i64,
    /// Object metadata from storage backends that expose it (downloads).
    pub metadata: BTreeMap<String, String>,
    /// The releases that could have sent the event, when its encoding tells
    /// more than its fields ([`Self::releases`]): `hookhost exec` reads it
    /// off SFTPGo's variables, since a program gets every variable of its
    /// release, empty or not. `None`: the fields tell.
    pub sent_by: Option<Releases>,
}

impl FsEvent {
    /// A minimal event: everything but action, user, path and protocol at its
    /// default (local provider, status ok, no size).
    pub fn new(
        action: FsAction,
        username: impl Into<String>,
        path: impl Into<String>,
        protocol: Protocol,
    ) -> Self {
        FsEvent {
            action,
            username: username.into(),
            path: path.into(),
            target_path: None,
            virtual_path: None,
            virtual_target_path: None,
            ssh_cmd: None,
            file_size: 0,
            fs_provider: FsProvider::Local,
            bucket: None,
            endpoint: None,
            status: Status::Ok,
            protocol,
            open_flags: 0,
            timestamp: None,
            ip: None,
            session_id: None,
            role: None,
            elapsed: 0,
            metadata: BTreeMap::new(),
            sent_by: None,
        }
    }

    /// The SFTPGo releases that send an event of this form, what
    /// [`VersionSetting::Auto`](crate::event::VersionSetting::Auto) goes by: the reference (2.1) without any
    /// field later releases added (`timestamp`, `session_id`,
    /// `virtual_path`, `ip`, ...); otherwise 2.2 and later, narrowed by the
    /// fields and actions of later releases (`session_id` 2.2.1;
    /// `first-upload`, `first-download`, `fs_provider` 6 2.4; `copy`,
    /// `role`, `elapsed` 2.5; `metadata` 2.6) and by [`Self::sent_by`].
    pub fn releases(&self) -> Releases {
        let today = self.timestamp.is_some()
            || self.session_id.is_some()
            || self.virtual_path.is_some()
            || self.virtual_target_path.is_some()
            || self.ip.is_some()
            || self.role.is_some()
            || self.elapsed != 0
            || !self.metadata.is_empty();
        let told = match self.sent_by {
            Some(sent_by) => sent_by,
            None if today => Releases::since(Change::VirtualPathIpTimestamp.since()),
            None => return Releases::REFERENCE,
        };
        if told.is_reference() {
            return told;
        }
        let evidence = [
            (self.session_id.is_some(), Change::SessionId),
            (
                matches!(self.action, FsAction::FirstUpload | FsAction::FirstDownload),
                Change::FirstUploadDownloadEvents,
            ),
            (
                self.fs_provider == FsProvider::HttpFs,
                Change::HttpFsProvider,
            ),
            (self.action == FsAction::Copy, Change::CopyEvents),
            (self.role.is_some(), Change::Role),
            (self.elapsed != 0, Change::Elapsed),
            (!self.metadata.is_empty(), Change::Metadata),
        ];
        let since = evidence
            .iter()
            .filter(|(seen, _)| *seen)
            .map(|(_, change)| change.since())
            .fold(told.since, SftpgoVersion::max);
        match told.before {
            // What the fields prove wins over a range they contradict.
            Some(before) if since >= before => Releases::since(since),
            _ => told.at_least(since),
        }
    }

    /// Whether the event has the form of today's SFTPGo (any field 2.1
    /// never sends, see [`Self::releases`]).
    pub fn is_current_form(&self) -> bool {
        !self.releases().is_reference()
    }
}
