//! How an exec hook receives an event: argv and environment, exactly as the
//! reference defines them; and the reverse, for `hookhost exec`.
//!
//! File-system events: argv `action username path target_path ssh_cmd`, and
//! `SFTPGO_ACTION*` variables that are always set (empty or `0` when they do
//! not apply), as SFTPGo sets them.
//!
//! Provider events: argv `action username ID status expiration_date home_dir
//! uid gid`, `SFTPGO_USER_ACTION` and `SFTPGO_USER` (the object as JSON, its
//! secrets removed). As an extension taken from current SFTPGo releases,
//! `SFTPGO_PROVIDER_OBJECT_TYPE` and `SFTPGO_PROVIDER_OBJECT_NAME` tell a hook
//! configured for several object types which one it got.

use super::json::DecodeError;
use super::{FsAction, FsEvent, FsProvider, Protocol, ProviderEvent, Status, non_empty};

/// The argv of an fs exec hook (after the program): action, username, path,
/// target_path, ssh_cmd.
pub fn fs_args(event: &FsEvent) -> [String; 5] {
    [
        event.action.as_str().to_owned(),
        event.username.clone(),
        event.path.clone(),
        event.target_path.clone().unwrap_or_default(),
        event.ssh_cmd.clone().unwrap_or_default(),
    ]
}

/// The `SFTPGO_ACTION*` variables of an fs exec hook, in the reference's order.
pub fn fs_env(event: &FsEvent) -> [(&'static str, String); 12] {
    [
        ("SFTPGO_ACTION", event.action.as_str().to_owned()),
        ("SFTPGO_ACTION_USERNAME", event.username.clone()),
        ("SFTPGO_ACTION_PATH", event.path.clone()),
        (
            "SFTPGO_ACTION_TARGET",
            event.target_path.clone().unwrap_or_default(),
        ),
        (
            "SFTPGO_ACTION_SSH_CMD",
            event.ssh_cmd.clone().unwrap_or_default(),
        ),
        ("SFTPGO_ACTION_FILE_SIZE", event.file_size.to_string()),
        (
            "SFTPGO_ACTION_FS_PROVIDER",
            event.fs_provider.code().to_string(),
        ),
        (
            "SFTPGO_ACTION_BUCKET",
            event.bucket.clone().unwrap_or_default(),
        ),
        (
            "SFTPGO_ACTION_ENDPOINT",
            event.endpoint.clone().unwrap_or_default(),
        ),
        ("SFTPGO_ACTION_STATUS", event.status.code().to_string()),
        ("SFTPGO_ACTION_PROTOCOL", event.protocol.as_str().to_owned()),
        ("SFTPGO_ACTION_OPEN_FLAGS", event.open_flags.to_string()),
    ]
}

/// The argv of a provider exec hook: action, username (object name), ID,
/// status, expiration_date, home_dir, uid, gid. Fields an object does not
/// have are `0` (numbers) or empty (home_dir).
pub fn provider_args(event: &ProviderEvent) -> [String; 8] {
    [
        event.action.as_str().to_owned(),
        event.object_name.clone(),
        event.field_text("id", "0"),
        event.field_text("status", "0"),
        event.field_text("expiration_date", "0"),
        event.field_text("home_dir", ""),
        event.field_text("uid", "0"),
        event.field_text("gid", "0"),
    ]
}

/// The environment of a provider exec hook.
pub fn provider_env(event: &ProviderEvent) -> [(&'static str, String); 4] {
    [
        ("SFTPGO_USER_ACTION", event.action.as_str().to_owned()),
        ("SFTPGO_USER", event.object_json.to_string()),
        (
            "SFTPGO_PROVIDER_OBJECT_TYPE",
            event.object_type.as_str().to_owned(),
        ),
        ("SFTPGO_PROVIDER_OBJECT_NAME", event.object_name.clone()),
    ]
}

/// Rebuild an fs event the way an exec hook sees it: from `SFTPGO_ACTION*`
/// variables when `SFTPGO_ACTION` is set (the reference sets both, current
/// releases only the variables), otherwise from argv
/// (`action username path target_path ssh_cmd`).
///
/// `var` looks a variable up; `args` are the arguments after the program.
/// Variables only current releases set (`SFTPGO_ACTION_TIMESTAMP`,
/// `_SESSION_ID`, `_VIRTUAL_PATH`, ...) switch `status` to their numbering.
pub fn decode_fs_exec(
    var: impl Fn(&str) -> Option<String>,
    args: &[String],
) -> Result<FsEvent, DecodeError> {
    let from_env = var("SFTPGO_ACTION").is_some();
    let get = |name: &str, index: usize| -> Option<String> {
        if from_env {
            var(name)
        } else {
            args.get(index).cloned()
        }
    };
    let (action_src, user_src) = if from_env {
        ("SFTPGO_ACTION", "SFTPGO_ACTION_USERNAME")
    } else {
        ("argv[1] (action)", "argv[2] (username)")
    };
    let action = get("SFTPGO_ACTION", 0).ok_or_else(|| {
        DecodeError::new(
            action_src,
            "missing: set SFTPGO_ACTION or pass the action as the first argument",
        )
    })?;
    let action = action
        .parse::<FsAction>()
        .map_err(|e| DecodeError::new(action_src, e.to_string()))?;
    let username =
        get("SFTPGO_ACTION_USERNAME", 1).ok_or_else(|| DecodeError::new(user_src, "missing"))?;

    let int = |name: &'static str| -> Result<i64, DecodeError> {
        match var(name).filter(|v| !v.is_empty()) {
            None => Ok(0),
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| DecodeError::new(name, format!("not an integer: {v:?}"))),
        }
    };
    let current = [
        "SFTPGO_ACTION_TIMESTAMP",
        "SFTPGO_ACTION_SESSION_ID",
        "SFTPGO_ACTION_VIRTUAL_PATH",
        "SFTPGO_ACTION_IP",
    ]
    .iter()
    .any(|name| var(name).is_some());
    let status = match var("SFTPGO_ACTION_STATUS").filter(|v| !v.is_empty()) {
        None => Status::Ok,
        Some(_) => {
            let code = int("SFTPGO_ACTION_STATUS")?;
            let status = if current {
                Status::from_current_code(code)
            } else {
                Status::from_reference_code(code)
            };
            status.ok_or_else(|| {
                DecodeError::new("SFTPGO_ACTION_STATUS", format!("unknown status {code}"))
            })?
        }
    };
    let fs_provider = u32::try_from(int("SFTPGO_ACTION_FS_PROVIDER")?)
        .map_err(|_| DecodeError::new("SFTPGO_ACTION_FS_PROVIDER", "negative provider code"))?;
    let open_flags = i32::try_from(int("SFTPGO_ACTION_OPEN_FLAGS")?)
        .map_err(|_| DecodeError::new("SFTPGO_ACTION_OPEN_FLAGS", "out of range"))?;
    Ok(FsEvent {
        action,
        username,
        path: get("SFTPGO_ACTION_PATH", 2).unwrap_or_default(),
        target_path: non_empty(get("SFTPGO_ACTION_TARGET", 3)),
        ssh_cmd: non_empty(get("SFTPGO_ACTION_SSH_CMD", 4)),
        file_size: int("SFTPGO_ACTION_FILE_SIZE")?,
        fs_provider: FsProvider::from_code(fs_provider),
        bucket: non_empty(var("SFTPGO_ACTION_BUCKET")),
        endpoint: non_empty(var("SFTPGO_ACTION_ENDPOINT")),
        status,
        protocol: Protocol::parse(&var("SFTPGO_ACTION_PROTOCOL").unwrap_or_default()),
        open_flags,
        timestamp: var("SFTPGO_ACTION_TIMESTAMP").and_then(|v| v.parse().ok()),
        ip: non_empty(var("SFTPGO_ACTION_IP")),
        session_id: non_empty(var("SFTPGO_ACTION_SESSION_ID")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup<'a>(env: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
        let map: HashMap<&str, &String> = env.iter().map(|(k, v)| (*k, v)).collect();
        move |name| map.get(name).map(|v| (*v).clone())
    }

    #[test]
    fn env_is_always_complete_with_reference_emptiness() {
        let ev = FsEvent::new(FsAction::Download, "u", "/f", Protocol::Scp);
        let env = fs_env(&ev);
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
        let env = fs_env(&ev);
        assert_eq!(decode_fs_exec(lookup(&env), &[]).unwrap(), ev);
    }

    #[test]
    fn argv_alone_is_enough() {
        let args: Vec<String> = ["rename", "u", "/a", "/b", ""].map(String::from).to_vec();
        let ev = decode_fs_exec(|_| None, &args).unwrap();
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
            decode_fs_exec(lookup(&env), &[]).unwrap().status,
            Status::GenericError
        );
    }

    #[test]
    fn missing_action_is_named() {
        let err = decode_fs_exec(|_| None, &[]).unwrap_err();
        assert!(err.to_string().contains("action"), "{err}");
    }
}
