//! Which SFTPGo release a hook talks to, and what that release's contract
//! is.
//!
//! SFTPGo's hook contracts changed between 2.1 (the reference documents)
//! and today's releases: argv, environment, `status` numbering, body fields,
//! the meaning of a `pre-delete` answer, timeouts. Every such change is one
//! row of [`CHANGES`], with the release it shipped in; a [`Contract`] is a
//! release, and asks the table whether a change applies to it. Nothing else
//! in hookhost compares version numbers.
//!
//! `hookhost.sftpgo_version` is `"auto"` (the default, [`VersionSetting::Auto`])
//! or a release such as `"2.1"`, `"2.4"`, `"2.7.5"`. In `auto`, each event
//! tells its own release, as far as its form can ([`Releases`]): a body or
//! event carrying `timestamp`, `session_id` or `virtual_path` (an exec
//! hook: `SFTPGO_ACTION_TIMESTAMP`) comes from today's SFTPGo and gets the
//! newest rules ([`SftpgoVersion::NEWEST`]); anything else is the reference
//! ([`SftpgoVersion::REFERENCE`], 2.1).
//!
//! Where a form fits releases that read an answer differently, the
//! [`Contract`] says so: its [`Contract::floor`] is the oldest release the
//! form fits, and [`Contract::proves`] tells a change the request proved
//! from one it is only assumed to have. The one answer this decides is a
//! `pre-delete`'s: SFTPGo 2.2–2.4 read 200 as "handled, do not delete" and
//! 2.5+ as "allowed", and a 2.5+ body without `role` looks like 2.2–2.4's.

use std::fmt;
use std::str::FromStr;

/// An SFTPGo release, `major.minor.patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SftpgoVersion {
    /// Major version (2).
    pub major: u16,
    /// Minor version.
    pub minor: u16,
    /// Patch version.
    pub patch: u16,
}

const fn v(major: u16, minor: u16, patch: u16) -> SftpgoVersion {
    SftpgoVersion {
        major,
        minor,
        patch,
    }
}

impl SftpgoVersion {
    /// The release the reference documents describe.
    pub const REFERENCE: SftpgoVersion = v(2, 1, 0);
    /// The newest release whose contracts hookhost knows (the fact sheet's).
    pub const NEWEST: SftpgoVersion = v(2, 7, 5);
}

impl SftpgoVersion {
    /// The newest release before `version`: the patch before it, or the
    /// previous minor series as `2.4.x` (a form that rules a change out
    /// without naming its exact release).
    pub const fn newest_before(version: SftpgoVersion) -> SftpgoVersion {
        if version.patch > 0 {
            v(version.major, version.minor, version.patch - 1)
        } else {
            v(version.major, version.minor - 1, ANY_PATCH)
        }
    }
}

/// The patch of `2.4.x`: any release of the minor series.
const ANY_PATCH: u16 = u16::MAX;

impl fmt::Display for SftpgoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.patch == ANY_PATCH {
            write!(f, "{}.{}.x", self.major, self.minor)
        } else {
            write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
        }
    }
}

impl FromStr for SftpgoVersion {
    type Err = String;

    /// `2.4`, `2.6.4` or `v2.6.4`; releases before 2.1 are refused.
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{text:?} is not an SFTPGo version (expected e.g. \"2.1\", \"2.4\", \"2.7.5\" or \"auto\")"
            )
        };
        let digits = text.trim().strip_prefix('v').unwrap_or(text.trim());
        let parts: Vec<&str> = digits.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let number = |s: &str| s.parse::<u16>().map_err(|_| bad());
        let patch = match parts.get(2) {
            None => 0,
            Some(&"x") => ANY_PATCH,
            Some(p) => number(p)?,
        };
        let version = v(number(parts[0])?, number(parts[1])?, patch);
        if version.major != 2 || version < Self::REFERENCE {
            return Err(format!(
                "{text:?}: hookhost speaks the contracts of SFTPGo 2.1 and later"
            ));
        }
        Ok(version)
    }
}

/// One change of SFTPGo's hook contracts (see [`CHANGES`] for the release
/// each shipped in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// File-system programs get no argv of SFTPGo's own (before: `action
    /// username path target_path ssh_cmd`).
    FsProgramWithoutArgv,
    /// `status` is 1 ok, 2 error, 3 quota exceeded (before: 0 error, 1 ok,
    /// 2 quota exceeded).
    StatusRenumbered,
    /// `virtual_path`, `virtual_target_path`, `ip` and `timestamp` (ns) in
    /// the fs body and environment.
    VirtualPathIpTimestamp,
    /// `mkdir` and `rmdir` are fired.
    MkdirRmdirEvents,
    /// Provider hooks in today's form: a program gets no argv and the
    /// `SFTPGO_PROVIDER_*` variables (before: argv and `SFTPGO_USER*`); a URL
    /// gets `username`, `ip`, `object_type`, `object_name`, `timestamp` in
    /// its query (before: `action` only).
    ProviderCurrentForm,
    /// `session_id` in the fs body and environment.
    SessionId,
    /// The `command` section: program timeouts come from `command.timeout`
    /// (default 30 s, 1–300) or the program's own entry, and programs get
    /// `command.env` (before: fixed 30 s for fs, 15 s for provider hooks).
    CommandSection,
    /// `command.commands[].args` become the program's argv.
    CommandArgs,
    /// Programs start with an empty environment (before: SFTPGo's own).
    ClearedEnvironment,
    /// `first-upload` and `first-download` are fired.
    FirstUploadDownloadEvents,
    /// `fs_provider` 6 (HTTP filesystem) exists.
    HttpFsProvider,
    /// A failing synchronous `upload` hook makes SFTPGo remove the file.
    SyncUploadFailureRemovesFile,
    /// `SFTPGO_PROVIDER_ACTION` carries a stray trailing `s` (`adds`).
    ProviderActionTrailingS,
    /// The stray `s` is gone again.
    ProviderActionTrailingSFixed,
    /// `pre-delete`: a failing hook denies the delete; success lets SFTPGo
    /// delete the file and fire `delete` (before: success meant "handled,
    /// do not delete", failure "delete it yourself").
    PreDeleteCanDeny,
    /// `copy` is fired.
    CopyEvents,
    /// `role` in the fs body and environment, and for provider events.
    Role,
    /// `elapsed` (ms) in the fs body and environment.
    Elapsed,
    /// `metadata` in the fs body and environment.
    Metadata,
    /// Keyboard-interactive rounds carry `step`.
    KeyboardInteractiveStep,
    /// `common.post_disconnect_hook` exists.
    PostDisconnectHook,
    /// The external-auth body carries the stored user as a JSON object,
    /// only for a user that exists (before: a JSON string).
    ExternalAuthUserObject,
    /// `common.data_retention_hook` exists.
    DataRetentionHook,
    /// `common.data_retention_hook` is gone (an Event Manager rule replaces
    /// it), and `command.commands[].hook` refuses `data_retention`.
    DataRetentionHookRemoved,
}

/// Every change, with the first release that has it. The one table.
pub const CHANGES: &[(Change, SftpgoVersion)] = &[
    (Change::FsProgramWithoutArgv, v(2, 2, 0)),
    (Change::StatusRenumbered, v(2, 2, 0)),
    (Change::VirtualPathIpTimestamp, v(2, 2, 0)),
    (Change::MkdirRmdirEvents, v(2, 2, 0)),
    (Change::ProviderCurrentForm, v(2, 2, 0)),
    (Change::SessionId, v(2, 2, 1)),
    (Change::CommandSection, v(2, 3, 0)),
    (Change::CommandArgs, v(2, 4, 0)),
    (Change::ClearedEnvironment, v(2, 4, 0)),
    (Change::FirstUploadDownloadEvents, v(2, 4, 0)),
    (Change::HttpFsProvider, v(2, 4, 0)),
    (Change::SyncUploadFailureRemovesFile, v(2, 4, 0)),
    (Change::ProviderActionTrailingS, v(2, 4, 0)),
    (Change::ProviderActionTrailingSFixed, v(2, 6, 5)),
    (Change::PreDeleteCanDeny, v(2, 5, 0)),
    (Change::CopyEvents, v(2, 5, 0)),
    (Change::Role, v(2, 5, 0)),
    (Change::Elapsed, v(2, 5, 0)),
    (Change::Metadata, v(2, 6, 0)),
    (Change::KeyboardInteractiveStep, v(2, 2, 0)),
    (Change::PostDisconnectHook, v(2, 2, 0)),
    (Change::ExternalAuthUserObject, v(2, 3, 0)),
    (Change::DataRetentionHook, v(2, 2, 0)),
    (Change::DataRetentionHookRemoved, v(2, 7, 0)),
];

impl Change {
    /// The first release with this change.
    pub fn since(self) -> SftpgoVersion {
        self.since_const()
    }

    /// [`Self::since`], usable in constants.
    pub const fn since_const(self) -> SftpgoVersion {
        let mut i = 0;
        while i < CHANGES.len() {
            if CHANGES[i].0 as u8 == self as u8 {
                return CHANGES[i].1;
            }
            i += 1;
        }
        panic!("every change has a row in CHANGES")
    }
}

/// The contract of one SFTPGo release: what its hooks receive and how it
/// reads their answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Contract {
    version: SftpgoVersion,
    /// The oldest release the request fits (the version itself when
    /// pinned or told exactly).
    floor: SftpgoVersion,
}

impl Contract {
    /// The contract of `version`.
    pub const fn of(version: SftpgoVersion) -> Self {
        Contract {
            version,
            floor: version,
        }
    }

    /// The reference's contract (SFTPGo 2.1).
    pub const REFERENCE: Contract = Contract::of(SftpgoVersion::REFERENCE);

    /// Today's contract (the newest release hookhost knows).
    pub const NEWEST: Contract = Contract::of(SftpgoVersion::NEWEST);

    /// The release.
    pub fn version(&self) -> SftpgoVersion {
        self.version
    }

    /// The oldest release the request fits: below [`Self::version`] when
    /// `auto` took the newest release for a form that older ones send too.
    pub fn floor(&self) -> SftpgoVersion {
        self.floor
    }

    /// Whether `change` applies to this release.
    pub fn has(&self, change: Change) -> bool {
        self.version >= change.since()
    }

    /// Whether the request proved `change` applies: every release it fits
    /// has it (always so for a pinned release).
    pub fn proves(&self, change: Change) -> bool {
        self.floor >= change.since()
    }

    /// `SFTPGO_PROVIDER_ACTION`'s stray `s` (2.4.0 to 2.6.4).
    pub fn provider_action_suffix(&self) -> &'static str {
        if self.has(Change::ProviderActionTrailingS)
            && !self.has(Change::ProviderActionTrailingSFixed)
        {
            "s"
        } else {
            ""
        }
    }
}

/// The releases whose requests have an event's form: `since` up to, not
/// including, `before`. What `auto` goes by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Releases {
    /// The oldest release that sends this form.
    pub since: SftpgoVersion,
    /// The first release that no longer does, if any.
    pub before: Option<SftpgoVersion>,
}

impl Releases {
    /// The reference's form (2.1: none of the fields later releases added).
    pub const REFERENCE: Releases = Releases {
        since: SftpgoVersion::REFERENCE,
        before: Some(Change::VirtualPathIpTimestamp.since_const()),
    };

    /// Today's form, sent by `since` and every later release.
    pub const fn since(since: SftpgoVersion) -> Releases {
        Releases {
            since,
            before: None,
        }
    }

    /// Whether `version` sends this form.
    pub fn contains(&self, version: SftpgoVersion) -> bool {
        self.since <= version && self.before.is_none_or(|before| version < before)
    }

    /// Whether it is the reference's form.
    pub fn is_reference(&self) -> bool {
        self.before
            .is_some_and(|before| before <= Change::VirtualPathIpTimestamp.since())
    }

    /// The same releases, narrowed to those from `since` on.
    pub fn at_least(self, since: SftpgoVersion) -> Releases {
        Releases {
            since: self.since.max(since),
            ..self
        }
    }
}

impl Default for Contract {
    fn default() -> Self {
        Contract::REFERENCE
    }
}

impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SFTPGo {}", self.version)
    }
}

/// `hookhost.sftpgo_version`: the release in front of hookhost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VersionSetting {
    /// Each event tells its release (see the module docs).
    #[default]
    Auto,
    /// Every event is read and answered in this release's contract.
    Pinned(SftpgoVersion),
}

impl FromStr for VersionSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.trim().eq_ignore_ascii_case("auto") {
            Ok(VersionSetting::Auto)
        } else {
            text.parse().map(VersionSetting::Pinned)
        }
    }
}

impl<'de> serde::Deserialize<'de> for VersionSetting {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for VersionSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSetting::Auto => f.write_str("auto"),
            VersionSetting::Pinned(version) => write!(f, "{version}"),
        }
    }
}

impl VersionSetting {
    /// The contract for an event sent by one of `releases`: the pinned
    /// release; in `auto`, the newest release of the range (and the
    /// range's oldest as its [`Contract::floor`]).
    pub fn contract(&self, releases: Releases) -> Contract {
        match self {
            VersionSetting::Pinned(version) => Contract::of(*version),
            VersionSetting::Auto if releases.is_reference() => Contract::REFERENCE,
            VersionSetting::Auto => {
                let version = match releases.before {
                    Some(before) if before <= SftpgoVersion::NEWEST => {
                        SftpgoVersion::newest_before(before)
                    }
                    _ => SftpgoVersion::NEWEST,
                };
                Contract {
                    version,
                    floor: releases.since.min(version),
                }
            }
        }
    }

    /// The contract for a login-related event: pinned, or the form's
    /// (`Some(true)` today's, `Some(false)` the reference's), or — when the
    /// event does not tell — today's.
    pub fn login_contract(&self, current_form: Option<bool>) -> Contract {
        match (self, current_form) {
            (VersionSetting::Pinned(version), _) => Contract::of(*version),
            (VersionSetting::Auto, Some(false)) => Contract::REFERENCE,
            (VersionSetting::Auto, _) => Contract::NEWEST,
        }
    }

    /// When pinned, whether an event sent by `releases` contradicts the
    /// pinned release (the pinned release never sends that form).
    pub fn contradicts(&self, releases: Releases) -> bool {
        match self {
            VersionSetting::Auto => false,
            VersionSetting::Pinned(version) => !releases.contains(*version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_in_short_and_long_form() {
        assert_eq!("2.1".parse::<SftpgoVersion>().unwrap(), v(2, 1, 0));
        assert_eq!("v2.6.4".parse::<SftpgoVersion>().unwrap(), v(2, 6, 4));
        assert!("2.0".parse::<SftpgoVersion>().unwrap_err().contains("2.1"));
        assert!("3.0".parse::<SftpgoVersion>().is_err());
        assert!("two".parse::<SftpgoVersion>().is_err());
        assert_eq!(
            "AUTO".parse::<VersionSetting>().unwrap(),
            VersionSetting::Auto
        );
    }

    #[test]
    fn each_change_applies_from_its_release() {
        let c = |s: &str| Contract::of(s.parse().unwrap());
        assert!(!c("2.1").has(Change::FsProgramWithoutArgv));
        assert!(c("2.2").has(Change::FsProgramWithoutArgv));
        assert!(!c("2.2").has(Change::SessionId));
        assert!(c("2.2.1").has(Change::SessionId));
        assert!(!c("2.4.9").has(Change::PreDeleteCanDeny));
        assert!(c("2.5").has(Change::PreDeleteCanDeny));
        assert_eq!(c("2.3").provider_action_suffix(), "");
        assert_eq!(c("2.4").provider_action_suffix(), "s");
        assert_eq!(c("2.6.4").provider_action_suffix(), "s");
        assert_eq!(c("2.6.5").provider_action_suffix(), "");
        for (change, _) in CHANGES {
            assert!(Contract::NEWEST.has(*change), "{change:?}");
            assert!(!Contract::REFERENCE.has(*change), "{change:?}");
        }
    }

    #[test]
    fn auto_follows_the_events_form_and_pinning_wins() {
        let today = Releases::since(v(2, 2, 0));
        let auto = VersionSetting::Auto.contract(today);
        assert_eq!(auto.version(), SftpgoVersion::NEWEST);
        assert_eq!(auto.floor(), v(2, 2, 0));
        assert!(auto.has(Change::PreDeleteCanDeny));
        assert!(
            !auto.proves(Change::PreDeleteCanDeny),
            "2.2-2.4 send it too"
        );
        let with_role = VersionSetting::Auto.contract(today.at_least(v(2, 5, 0)));
        assert!(with_role.proves(Change::PreDeleteCanDeny));
        assert_eq!(
            VersionSetting::Auto.contract(Releases::REFERENCE),
            Contract::REFERENCE
        );
        let before_2_5 = Releases {
            since: v(2, 2, 0),
            before: Some(v(2, 5, 0)),
        };
        let older = VersionSetting::Auto.contract(before_2_5);
        assert_eq!(older.version().to_string(), "2.4.x");
        assert!(!older.has(Change::PreDeleteCanDeny));
        assert!(older.has(Change::ClearedEnvironment));
        let pinned = VersionSetting::Pinned(v(2, 4, 0));
        assert_eq!(pinned.contract(Releases::REFERENCE).version(), v(2, 4, 0));
        assert!(pinned.contract(today).proves(Change::ClearedEnvironment));
        assert!(pinned.contradicts(Releases::REFERENCE));
        assert!(!pinned.contradicts(today));
        assert!(pinned.contradicts(today.at_least(v(2, 5, 0))));
        assert!(VersionSetting::Pinned(v(2, 1, 0)).contradicts(today));
        assert_eq!("2.4.x".parse::<SftpgoVersion>().unwrap(), older.version());
    }
}
