//! How an exec hook receives an event: argv and environment, exactly as the
//! SFTPGo release of the [`Contract`] gives them; and the reverse, for
//! `hookhost exec`.
//!
//! File-system events. The reference (2.1): argv `action username path
//! target_path ssh_cmd` and twelve `SFTPGO_ACTION*` variables. From 2.2:
//! no argv of SFTPGo's own and the variables of SFTPGo's
//! `notificationAsEnvVars` (virtual paths, IP, session id, timestamp, and
//! later role, elapsed, metadata). Every variable is always set, empty or
//! `0` when it does not apply, except `SFTPGO_ACTION_METADATA`.
//!
//! Provider events. The reference: argv `action username ID status
//! expiration_date home_dir uid gid`, `SFTPGO_USER_ACTION` and
//! `SFTPGO_USER` (the object as JSON). From 2.2: no argv and the
//! `SFTPGO_PROVIDER_*` variables, the timestamp in milliseconds.
//!
//! The lists are in the order SFTPGo builds them.

use super::json::{DecodeError, go_marshal, now_ns};
use super::{
    Change, Contract, FsAction, FsEvent, FsProvider, Protocol, ProviderEvent, Status,
    VersionSetting, non_empty,
};

/// The argv SFTPGo gives an fs program of its own (after the program): the
/// reference's `action username path target_path ssh_cmd`, none from 2.2 on.
pub fn fs_args(event: &FsEvent, contract: &Contract) -> Vec<String> {
    if contract.has(Change::FsProgramWithoutArgv) {
        return Vec::new();
    }
    vec![
        event.action.as_str().to_owned(),
        event.username.clone(),
        event.path.clone(),
        event.target_path.clone().unwrap_or_default(),
        event.ssh_cmd.clone().unwrap_or_default(),
    ]
}

/// The `SFTPGO_ACTION*` variables of an fs program, in SFTPGo's order.
pub fn fs_env(event: &FsEvent, contract: &Contract) -> Vec<(&'static str, String)> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let since = |change: Change| contract.has(change);
    let status = event.status.code_in(contract).to_string();
    if !since(Change::VirtualPathIpTimestamp) {
        return vec![
            ("SFTPGO_ACTION", event.action.as_str().to_owned()),
            ("SFTPGO_ACTION_USERNAME", event.username.clone()),
            ("SFTPGO_ACTION_PATH", event.path.clone()),
            ("SFTPGO_ACTION_TARGET", text(&event.target_path)),
            ("SFTPGO_ACTION_SSH_CMD", text(&event.ssh_cmd)),
            ("SFTPGO_ACTION_FILE_SIZE", event.file_size.to_string()),
            (
                "SFTPGO_ACTION_FS_PROVIDER",
                event.fs_provider.code().to_string(),
            ),
            ("SFTPGO_ACTION_BUCKET", text(&event.bucket)),
            ("SFTPGO_ACTION_ENDPOINT", text(&event.endpoint)),
            ("SFTPGO_ACTION_STATUS", status),
            ("SFTPGO_ACTION_PROTOCOL", event.protocol.as_str().to_owned()),
            ("SFTPGO_ACTION_OPEN_FLAGS", event.open_flags.to_string()),
        ];
    }
    let mut env = vec![
        ("SFTPGO_ACTION", event.action.as_str().to_owned()),
        ("SFTPGO_ACTION_USERNAME", event.username.clone()),
        ("SFTPGO_ACTION_PATH", event.path.clone()),
        ("SFTPGO_ACTION_TARGET", text(&event.target_path)),
        ("SFTPGO_ACTION_VIRTUAL_PATH", text(&event.virtual_path)),
        (
            "SFTPGO_ACTION_VIRTUAL_TARGET",
            text(&event.virtual_target_path),
        ),
        ("SFTPGO_ACTION_SSH_CMD", text(&event.ssh_cmd)),
        ("SFTPGO_ACTION_FILE_SIZE", event.file_size.to_string()),
    ];
    if since(Change::Elapsed) {
        env.push(("SFTPGO_ACTION_ELAPSED", event.elapsed.to_string()));
    }
    env.extend([
        (
            "SFTPGO_ACTION_FS_PROVIDER",
            event.fs_provider.code().to_string(),
        ),
        ("SFTPGO_ACTION_BUCKET", text(&event.bucket)),
        ("SFTPGO_ACTION_ENDPOINT", text(&event.endpoint)),
        ("SFTPGO_ACTION_STATUS", status),
        ("SFTPGO_ACTION_PROTOCOL", event.protocol.as_str().to_owned()),
        ("SFTPGO_ACTION_IP", text(&event.ip)),
    ]);
    if since(Change::SessionId) {
        env.push(("SFTPGO_ACTION_SESSION_ID", text(&event.session_id)));
    }
    env.push(("SFTPGO_ACTION_OPEN_FLAGS", event.open_flags.to_string()));
    env.push((
        "SFTPGO_ACTION_TIMESTAMP",
        event.timestamp.unwrap_or_else(now_ns).to_string(),
    ));
    if since(Change::Role) {
        env.push(("SFTPGO_ACTION_ROLE", text(&event.role)));
    }
    if since(Change::Metadata) && !event.metadata.is_empty() {
        let json = String::from_utf8(go_marshal(&event.metadata)).expect("JSON is UTF-8");
        env.push(("SFTPGO_ACTION_METADATA", json));
    }
    env
}

/// The argv SFTPGo gives a provider program of its own: the reference's
/// `action username ID status expiration_date home_dir uid gid` (fields an
/// object does not have are `0`, or empty for home_dir), none from 2.2 on.
pub fn provider_args(event: &ProviderEvent, contract: &Contract) -> Vec<String> {
    if contract.has(Change::ProviderCurrentForm) {
        return Vec::new();
    }
    vec![
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

/// The environment of a provider program, in SFTPGo's order.
pub fn provider_env(event: &ProviderEvent, contract: &Contract) -> Vec<(&'static str, String)> {
    if !contract.has(Change::ProviderCurrentForm) {
        return vec![
            ("SFTPGO_USER_ACTION", event.action.as_str().to_owned()),
            ("SFTPGO_USER", event.object_json.to_string()),
        ];
    }
    let mut env = vec![
        (
            "SFTPGO_PROVIDER_ACTION",
            format!("{}{}", event.action, contract.provider_action_suffix()),
        ),
        (
            "SFTPGO_PROVIDER_OBJECT_TYPE",
            event.object_type.as_str().to_owned(),
        ),
        ("SFTPGO_PROVIDER_OBJECT_NAME", event.object_name.clone()),
        (
            "SFTPGO_PROVIDER_USERNAME",
            event.executor_or_system().to_owned(),
        ),
        ("SFTPGO_PROVIDER_IP", event.ip.clone().unwrap_or_default()),
    ];
    if contract.has(Change::Role) {
        env.push((
            "SFTPGO_PROVIDER_ROLE",
            event.role.clone().unwrap_or_default(),
        ));
    }
    // Milliseconds here, although the HTTP query has nanoseconds: SFTPGo's
    // code does so (`util.GetTimeAsMsSinceEpoch`).
    let millis = event.timestamp.unwrap_or_else(now_ns) / 1_000_000;
    env.push(("SFTPGO_PROVIDER_TIMESTAMP", millis.to_string()));
    env.push(("SFTPGO_PROVIDER_OBJECT", event.object_json.to_string()));
    env
}

/// Rebuild an fs event the way an exec hook sees it: from `SFTPGO_ACTION*`
/// variables when `SFTPGO_ACTION` is set (every release sets them),
/// otherwise from the reference's argv (`action username path target_path
/// ssh_cmd`).
///
/// `var` looks a variable up; `args` are the arguments after the program.
/// `status` is read in the numbering of the release `setting` names; in
/// `auto`, `SFTPGO_ACTION_TIMESTAMP` (which 2.1 never sets) means today's.
pub fn decode_fs_exec(
    var: impl Fn(&str) -> Option<String>,
    args: &[String],
    setting: VersionSetting,
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
    let timestamp = match var("SFTPGO_ACTION_TIMESTAMP") {
        None => None,
        Some(_) => Some(int("SFTPGO_ACTION_TIMESTAMP")?),
    };
    let contract = setting.contract(timestamp.is_some());
    let status = match var("SFTPGO_ACTION_STATUS").filter(|v| !v.is_empty()) {
        None => Status::Ok,
        Some(_) => {
            let code = int("SFTPGO_ACTION_STATUS")?;
            Status::from_code_in(code, &contract).ok_or_else(|| {
                DecodeError::new(
                    "SFTPGO_ACTION_STATUS",
                    format!("unknown status {code} in the numbering of {contract}"),
                )
            })?
        }
    };
    let fs_provider = u32::try_from(int("SFTPGO_ACTION_FS_PROVIDER")?)
        .map_err(|_| DecodeError::new("SFTPGO_ACTION_FS_PROVIDER", "negative provider code"))?;
    let open_flags = i32::try_from(int("SFTPGO_ACTION_OPEN_FLAGS")?)
        .map_err(|_| DecodeError::new("SFTPGO_ACTION_OPEN_FLAGS", "out of range"))?;
    let metadata = match var("SFTPGO_ACTION_METADATA").filter(|v| !v.is_empty()) {
        None => Default::default(),
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            DecodeError::new(
                "SFTPGO_ACTION_METADATA",
                format!("not a JSON object of strings: {e}"),
            )
        })?,
    };
    Ok(FsEvent {
        action,
        username,
        path: get("SFTPGO_ACTION_PATH", 2).unwrap_or_default(),
        target_path: non_empty(get("SFTPGO_ACTION_TARGET", 3)),
        virtual_path: var("SFTPGO_ACTION_VIRTUAL_PATH"),
        virtual_target_path: non_empty(var("SFTPGO_ACTION_VIRTUAL_TARGET")),
        ssh_cmd: non_empty(get("SFTPGO_ACTION_SSH_CMD", 4)),
        file_size: int("SFTPGO_ACTION_FILE_SIZE")?,
        fs_provider: FsProvider::from_code(fs_provider),
        bucket: non_empty(var("SFTPGO_ACTION_BUCKET")),
        endpoint: non_empty(var("SFTPGO_ACTION_ENDPOINT")),
        status,
        protocol: Protocol::parse(&var("SFTPGO_ACTION_PROTOCOL").unwrap_or_default()),
        open_flags,
        timestamp,
        ip: non_empty(var("SFTPGO_ACTION_IP")),
        session_id: non_empty(var("SFTPGO_ACTION_SESSION_ID")),
        role: non_empty(var("SFTPGO_ACTION_ROLE")),
        elapsed: int("SFTPGO_ACTION_ELAPSED")?,
        metadata,
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

    #[test]
    fn missing_action_is_named() {
        let err = decode_fs_exec(|_| None, &[], VersionSetting::Auto).unwrap_err();
        assert!(err.to_string().contains("action"), "{err}");
    }
}
