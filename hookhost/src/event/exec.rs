//! `hookhost exec`: which event a program SFTPGo started carries, read
//! from its environment and argv — a file-system event
//! ([`fs::exec`](super::fs::exec)), a provider event
//! ([`provider::exec`](super::provider::exec)), or a login or connection
//! hook ([`login`](super::login)) — each decoded by its kind's module.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;

use super::fs::exec::decode_fs_exec;
use super::login::{ExecLogin, LoginEvent, RetentionReport, decode_exec_login};
use super::provider::exec::decode_provider_exec;
use super::{FsEvent, ProviderEvent, VersionSetting};
use crate::error::FieldError;

/// The environment SFTPGo started a program with, as `hookhost exec` reads
/// it: values as bytes, so that one that is not UTF-8 (a file name an SFTP
/// client chose) is refused by name rather than read as absent.
#[derive(Debug, Default)]
pub struct ExecEnv {
    vars: HashMap<String, OsString>,
    /// Variables read whose value is not UTF-8.
    not_utf8: RefCell<Vec<String>>,
}

impl ExecEnv {
    /// This process's environment.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars_os())
    }

    /// An environment of `vars` (names that are not UTF-8 are none of
    /// SFTPGo's, and left out).
    pub fn from_vars<K: Into<OsString>, V: Into<OsString>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        ExecEnv {
            vars: vars
                .into_iter()
                .filter_map(|(k, v)| k.into().into_string().ok().map(|k| (k, v.into())))
                .collect(),
            not_utf8: RefCell::default(),
        }
    }

    /// Whether `name` is set (to anything, even empty or not UTF-8).
    pub fn is_set(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// The value of `name`; a value that is not UTF-8 reads as absent here
    /// and is refused by [`decode_exec`].
    pub fn get(&self, name: &str) -> Option<String> {
        let value = self.vars.get(name)?;
        match value.to_str() {
            Some(text) => Some(text.to_owned()),
            None => {
                self.not_utf8.borrow_mut().push(name.to_owned());
                None
            }
        }
    }

    /// `decoded`, unless a variable it read was not UTF-8: hookhost's
    /// events hold text, and reading such a value as empty would hand hooks
    /// another file than SFTPGo's (a `pre-upload` of `setup\xff.exe` with an
    /// empty path).
    fn checked<T>(&self, decoded: Result<T, FieldError>) -> Result<T, FieldError> {
        if let Some(name) = self.not_utf8.borrow().first() {
            return Err(FieldError::new(
                name.as_str(),
                "not valid UTF-8: hookhost cannot pass it on unchanged, so the event is refused",
            ));
        }
        decoded
    }
}

/// What `hookhost exec` was started for.
// One per process: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ExecRequest {
    /// A file-system action.
    Fs(FsEvent),
    /// A data-provider action.
    Provider(ProviderEvent),
    /// A login, connection, startup or data-retention hook.
    Login(ExecLogin),
}

/// The variable that marks each of SFTPGo's hook programs, and which hook
/// it is: SFTPGo sets it for that hook only.
const MARKERS: &[(&str, &str)] = &[
    ("SFTPGO_ACTION", "a file-system action"),
    ("SFTPGO_PROVIDER_ACTION", "a provider action"),
    ("SFTPGO_USER_ACTION", "a provider action (SFTPGo 2.1)"),
    ("SFTPGO_LOGIND_USER", "pre-login or post-login"),
    (
        "SFTPGO_AUTHD_USERNAME",
        "external auth, check-password or keyboard-interactive",
    ),
    ("SFTPGO_CONNECTION_IP", "post-connect or post-disconnect"),
    ("SFTPGO_DATA_RETENTION_RESULT", "data retention"),
    (
        super::rule::ENV_MARKER,
        "an Event Manager rule's Command action",
    ),
];

/// Tell which hook SFTPGo ran `hookhost exec` as, and read its event.
///
/// Each hook has a variable of its own: `SFTPGO_ACTION`
/// (file-system actions, every release), `SFTPGO_PROVIDER_ACTION` (provider
/// actions from 2.2: no argv) or `SFTPGO_USER_ACTION` (2.1),
/// `SFTPGO_LOGIND_USER`, `SFTPGO_AUTHD_USERNAME`, `SFTPGO_CONNECTION_IP`,
/// `SFTPGO_DATA_RETENTION_RESULT` (2.2–2.6), and `SFTPGO_RULE_EVENT` for
/// the documented Event Manager Command action ([`super::rule`]). None of
/// them: SFTPGo 2.1's
/// fs argv when there are `args`, else the startup hook (it gets no
/// variable of SFTPGo's). Two of them: refused, naming both, rather than
/// guessing which hook ran.
pub fn decode_exec(
    env: &ExecEnv,
    args: &[OsString],
    setting: VersionSetting,
) -> Result<ExecRequest, FieldError> {
    let set: Vec<&(&str, &str)> = MARKERS
        .iter()
        .filter(|(name, _)| env.is_set(name))
        .collect();
    if let [first, second, ..] = set.as_slice() {
        return Err(FieldError::new(
            format!("{} and {}", first.0, second.0),
            format!(
                "both set: the variables of two hooks ({}; {}); refusing to guess which one SFTPGo ran",
                first.1, second.1
            ),
        ));
    }
    let var = |name: &str| env.get(name);
    let decoded = match set.first().map(|(name, _)| *name) {
        Some("SFTPGO_ACTION") => decode_fs_exec(var, &[], setting).map(ExecRequest::Fs),
        Some("SFTPGO_PROVIDER_ACTION" | "SFTPGO_USER_ACTION") => decode_provider_exec(var)
            .and_then(|event| {
                event.ok_or_else(|| FieldError::new("SFTPGO_PROVIDER_ACTION", "empty"))
            })
            .map(ExecRequest::Provider),
        Some(super::rule::ENV_MARKER) => super::rule::RuleParams::from_env(var)
            .and_then(|params| params.classify())
            .map(|request| match request {
                super::rule::RuleRequest::Fs(event) => ExecRequest::Fs(event),
                super::rule::RuleRequest::Provider(event) => ExecRequest::Provider(event),
                super::rule::RuleRequest::Rule(event) => {
                    ExecRequest::Login(ExecLogin::Event(LoginEvent::Rule(Box::new(event))))
                }
            }),
        Some("SFTPGO_DATA_RETENTION_RESULT") => {
            let report = var("SFTPGO_DATA_RETENTION_RESULT").unwrap_or_default();
            RetentionReport::from_json(report.as_bytes(), "SFTPGO_DATA_RETENTION_RESULT").map(
                |report| ExecRequest::Login(ExecLogin::Event(LoginEvent::DataRetention(report))),
            )
        }
        Some(marker) => decode_exec_login(var)
            // The marker is set: only a value that is not UTF-8 reads as
            // absent (and `checked` names it).
            .unwrap_or_else(|| Err(FieldError::new(marker, "not valid UTF-8")))
            .map(ExecRequest::Login),
        None if args.is_empty() => Ok(ExecRequest::Login(ExecLogin::Event(LoginEvent::Startup))),
        None => {
            let args = args
                .iter()
                .enumerate()
                .map(|(i, arg)| {
                    arg.to_str().map(str::to_owned).ok_or_else(|| {
                        FieldError::new(
                            format!("argv[{}]", i + 1),
                            "not valid UTF-8: hookhost cannot pass it on unchanged, so the event is refused",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            decode_fs_exec(var, &args, setting).map(ExecRequest::Fs)
        }
    };
    env.checked(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::fs::exec::fs_env;
    use crate::event::{Change, Contract, FsAction, FsProvider, Protocol, Status};
    use std::collections::HashMap;

    fn lookup<'a>(env: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
        let map: HashMap<&str, &String> = env.iter().map(|(k, v)| (*k, v)).collect();
        move |name| map.get(name).map(|v| (*v).clone())
    }

    #[test]
    fn env_is_always_complete_with_reference_emptiness() {
        let ev = FsEvent::new(FsAction::Download, "u", "/f", Protocol::Scp);
        let env = fs_env(&ev, &Contract::REFERENCE);
        let get = lookup(&env);
        assert_eq!(get("SFTPGO_ACTION_TARGET").as_deref(), Some(""));
        assert_eq!(get("SFTPGO_ACTION_FILE_SIZE").as_deref(), Some("0"));
        assert_eq!(get("SFTPGO_ACTION_STATUS").as_deref(), Some("1"));
        assert_eq!(get("SFTPGO_ACTION_PROTOCOL").as_deref(), Some("SCP"));
        assert_eq!(get("SFTPGO_ACTION_OPEN_FLAGS").as_deref(), Some("0"));
    }

    #[test]
    fn env_round_trips() {
        let mut ev = FsEvent::new(FsAction::PreUpload, "u", "/f", Protocol::Sftp);
        ev.file_size = 10;
        ev.open_flags = 512 | 64;
        ev.status = Status::QuotaExceeded;
        ev.fs_provider = FsProvider::Gcs;
        ev.bucket = Some("b".into());
        let env = fs_env(&ev, &Contract::REFERENCE);
        assert_eq!(
            decode_fs_exec(lookup(&env), &[], VersionSetting::Auto).unwrap(),
            ev
        );
    }

    #[test]
    fn argv_alone_is_enough() {
        let args: Vec<String> = ["rename", "u", "/a", "/b", ""].map(String::from).to_vec();
        let ev = decode_fs_exec(|_| None, &args, VersionSetting::Auto).unwrap();
        assert_eq!(ev.action, FsAction::Rename);
        assert_eq!(ev.target_path.as_deref(), Some("/b"));
        assert_eq!(ev.ssh_cmd, None);
    }

    #[test]
    fn current_release_variables_switch_status_numbering() {
        let env = [
            ("SFTPGO_ACTION", "upload".to_owned()),
            ("SFTPGO_ACTION_USERNAME", "u".to_owned()),
            ("SFTPGO_ACTION_STATUS", "2".to_owned()),
            ("SFTPGO_ACTION_TIMESTAMP", "1".to_owned()),
        ];
        assert_eq!(
            decode_fs_exec(lookup(&env), &[], VersionSetting::Auto)
                .unwrap()
                .status,
            Status::GenericError
        );
    }

    fn env(vars: &[(&str, &str)]) -> ExecEnv {
        ExecEnv::from_vars(vars.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn a_provider_program_without_argv_is_a_provider_event_not_startup() {
        // SFTPGo 2.2+ runs the provider program with no argv, only these.
        let vars = env(&[
            ("SFTPGO_PROVIDER_ACTION", "add"),
            ("SFTPGO_PROVIDER_OBJECT_TYPE", "user"),
            ("SFTPGO_PROVIDER_OBJECT_NAME", "alice"),
            ("SFTPGO_PROVIDER_USERNAME", "admin"),
            ("SFTPGO_PROVIDER_IP", "10.0.0.1"),
            ("SFTPGO_PROVIDER_ROLE", ""),
            ("SFTPGO_PROVIDER_TIMESTAMP", "1700000000000"),
            ("SFTPGO_PROVIDER_OBJECT", r#"{"username":"alice","id":1}"#),
        ]);
        match decode_exec(&vars, &[], VersionSetting::Auto).unwrap() {
            ExecRequest::Provider(event) => {
                assert_eq!(event.object_name, "alice");
                assert_eq!(event.executor.as_deref(), Some("admin"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decode_exec(&env(&[]), &[], VersionSetting::Auto).unwrap(),
            ExecRequest::Login(ExecLogin::Event(LoginEvent::Startup))
        );
    }

    #[test]
    fn a_data_retention_program_gets_its_report() {
        let report = r#"{"details":[],"elapsed":3,"start_time":1,"status":1,"total_deleted_files":2,"total_deleted_size":10,"username":"bob"}"#;
        let vars = env(&[("SFTPGO_DATA_RETENTION_RESULT", report)]);
        match decode_exec(&vars, &[], VersionSetting::Auto).unwrap() {
            ExecRequest::Login(ExecLogin::Event(LoginEvent::DataRetention(r))) => {
                assert_eq!((r.username.as_str(), &*r.json), ("bob", report));
            }
            other => panic!("{other:?}"),
        }
        let bad = env(&[("SFTPGO_DATA_RETENTION_RESULT", "[1]")]);
        let err = decode_exec(&bad, &[], VersionSetting::Auto).unwrap_err();
        assert_eq!(err.field, "SFTPGO_DATA_RETENTION_RESULT");
    }

    #[test]
    fn two_hooks_variables_are_refused_naming_both() {
        let vars = env(&[
            ("SFTPGO_ACTION", "pre-upload"),
            ("SFTPGO_ACTION_USERNAME", "u"),
            ("SFTPGO_LOGIND_USER", r#"{"username":"u"}"#),
        ]);
        let err = decode_exec(&vars, &[], VersionSetting::Auto).unwrap_err();
        assert_eq!(err.field, "SFTPGO_ACTION and SFTPGO_LOGIND_USER");
        assert!(err.message.contains("refusing to guess"), "{err}");
    }

    #[test]
    fn a_value_that_is_not_utf8_is_refused_by_name_never_read_as_empty() {
        use std::os::unix::ffi::OsStringExt;
        let path = OsString::from_vec(b"/srv/u/setup\xff.exe".to_vec());
        let vars = ExecEnv::from_vars([
            (
                OsString::from("SFTPGO_ACTION"),
                OsString::from("pre-upload"),
            ),
            (
                OsString::from("SFTPGO_ACTION_USERNAME"),
                OsString::from("u"),
            ),
            (OsString::from("SFTPGO_ACTION_PATH"), path),
        ]);
        let err = decode_exec(&vars, &[], VersionSetting::Auto).unwrap_err();
        assert_eq!(err.field, "SFTPGO_ACTION_PATH");
        let user = ExecEnv::from_vars([
            (OsString::from("SFTPGO_ACTION"), OsString::from("upload")),
            (
                OsString::from("SFTPGO_ACTION_USERNAME"),
                OsString::from_vec(vec![b'u', 0xff]),
            ),
        ]);
        let err = decode_exec(&user, &[], VersionSetting::Auto).unwrap_err();
        assert_eq!(err.field, "SFTPGO_ACTION_USERNAME");
        assert!(err.message.contains("UTF-8"), "{err}");
        let argv = [
            OsString::from("upload"),
            OsString::from("u"),
            OsString::from_vec(vec![b'/', 0xff]),
        ];
        let err = decode_exec(&env(&[]), &argv, VersionSetting::Auto).unwrap_err();
        assert_eq!(err.field, "argv[3]");
    }

    #[test]
    fn a_programs_variables_tell_its_release_apart() {
        let base = [
            ("SFTPGO_ACTION", "pre-delete"),
            ("SFTPGO_ACTION_USERNAME", "u"),
            ("SFTPGO_ACTION_TIMESTAMP", "1"),
            ("SFTPGO_ACTION_SESSION_ID", "SFTP_1"),
        ];
        let decode = |extra: &[(&str, &str)]| {
            let vars: Vec<(&str, &str)> = base.iter().chain(extra).copied().collect();
            match decode_exec(&env(&vars), &[], VersionSetting::Auto).unwrap() {
                ExecRequest::Fs(event) => VersionSetting::Auto.contract(event.releases()),
                other => panic!("{other:?}"),
            }
        };
        // 2.5+ sets SFTPGO_ACTION_ROLE always, empty or not.
        let today = decode(&[("SFTPGO_ACTION_ROLE", ""), ("SFTPGO_ACTION_ELAPSED", "0")]);
        assert!(today.proves(Change::PreDeleteCanDeny));
        let older = decode(&[]);
        assert!(!older.has(Change::PreDeleteCanDeny), "{older}");
        assert!(older.has(Change::SessionId));
    }

    #[test]
    fn missing_action_is_named() {
        let err = decode_fs_exec(|_| None, &[], VersionSetting::Auto).unwrap_err();
        assert!(err.to_string().contains("action"), "{err}");
    }
}
