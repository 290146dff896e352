//! How an exec hook receives a file-system event: argv and environment,
//! exactly as the SFTPGo release of the [`Contract`] gives them; and the
//! reverse, for `hookhost exec`.
//!
//! The reference (2.1): argv `action username path target_path ssh_cmd`
//! and twelve `SFTPGO_ACTION*` variables. From 2.2: no argv of SFTPGo's own
//! and the variables of SFTPGo's `notificationAsEnvVars` (virtual paths,
//! IP, session id, timestamp, and later role, elapsed, metadata). Every
//! variable is always set, empty or `0` when it does not apply, except
//! `SFTPGO_ACTION_METADATA`. The lists are in the order SFTPGo builds them.

use super::{FsAction, FsEvent, FsProvider, Protocol, Status};
use crate::clock::now_ns;
use crate::error::FieldError;
use crate::event::go::go_marshal;
use crate::event::{Change, Contract, Releases, VersionSetting, non_empty};

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
) -> Result<FsEvent, FieldError> {
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
        FieldError::new(
            action_src,
            "missing: set SFTPGO_ACTION or pass the action as the first argument",
        )
    })?;
    let action = action
        .parse::<FsAction>()
        .map_err(|e| FieldError::new(action_src, e.to_string()))?;
    let username =
        get("SFTPGO_ACTION_USERNAME", 1).ok_or_else(|| FieldError::new(user_src, "missing"))?;

    let int = |name: &'static str| -> Result<i64, FieldError> {
        match var(name).filter(|v| !v.is_empty()) {
            None => Ok(0),
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| FieldError::new(name, format!("not an integer: {v:?}"))),
        }
    };
    let timestamp = match var("SFTPGO_ACTION_TIMESTAMP") {
        None => None,
        Some(_) => Some(int("SFTPGO_ACTION_TIMESTAMP")?),
    };
    let sent_by = releases_of_env(&var, timestamp.is_some());
    let contract = setting.contract(sent_by.unwrap_or(Releases::REFERENCE));
    let status = match var("SFTPGO_ACTION_STATUS").filter(|v| !v.is_empty()) {
        None => Status::Ok,
        Some(_) => {
            let code = int("SFTPGO_ACTION_STATUS")?;
            Status::from_code_in(code, &contract).ok_or_else(|| {
                FieldError::new(
                    "SFTPGO_ACTION_STATUS",
                    format!("unknown status {code} in the numbering of {contract}"),
                )
            })?
        }
    };
    let fs_provider = u32::try_from(int("SFTPGO_ACTION_FS_PROVIDER")?)
        .map_err(|_| FieldError::new("SFTPGO_ACTION_FS_PROVIDER", "negative provider code"))?;
    let open_flags = i32::try_from(int("SFTPGO_ACTION_OPEN_FLAGS")?)
        .map_err(|_| FieldError::new("SFTPGO_ACTION_OPEN_FLAGS", "out of range"))?;
    let metadata = match var("SFTPGO_ACTION_METADATA").filter(|v| !v.is_empty()) {
        None => Default::default(),
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            FieldError::new(
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
        sent_by,
    })
}

/// The releases whose programs get this set of `SFTPGO_ACTION_*`
/// variables: each release sets every variable it has, empty or not, so the
/// ones missing rule later releases out (2.1: no `_TIMESTAMP`; 2.2.0: no
/// `_SESSION_ID`; before 2.5: no `_ROLE` nor `_ELAPSED`). `None` for the
/// reference's, which the fields tell.
fn releases_of_env(var: &impl Fn(&str) -> Option<String>, today: bool) -> Option<Releases> {
    if !today {
        return None;
    }
    Some(releases_of_today_env(var))
}

fn releases_of_today_env(var: &impl Fn(&str) -> Option<String>) -> Releases {
    let set = |name: &str| var(name).is_some();
    let since = |change: Change| change.since();
    if set("SFTPGO_ACTION_ROLE") || set("SFTPGO_ACTION_ELAPSED") {
        return Releases::since(since(Change::Role));
    }
    let before_role = Some(since(Change::Role));
    if set("SFTPGO_ACTION_SESSION_ID") {
        return Releases {
            since: since(Change::SessionId),
            before: before_role,
        };
    }
    Releases {
        since: since(Change::VirtualPathIpTimestamp),
        before: Some(since(Change::SessionId)),
    }
}
