//! Exec hooks: an external program per event, as SFTPGo runs it.
//!
//! The program is started as the SFTPGo release of the event's [`Contract`]
//! starts it:
//!
//! - argv: the reference's (`action username path ...`) before 2.2; none of
//!   SFTPGo's own after, but from 2.4 the `command` entry's `args`;
//! - environment: the event's `SFTPGO_*` variables on top of hookhost's own
//!   environment before 2.4, on top of nothing from 2.4 (SFTPGo clears it);
//!   from 2.3 with `command.env` and the entry's `env` first. hookhost's own
//!   secrets (`HOOKHOST_TOKEN`) are never passed on;
//! - time limit: 30 s (fs) or 15 s (provider) before 2.3, the `command`
//!   timeout from 2.3; lowered by the hook's own `limits.timeout_ms`.
//!
//! stdin is closed and stdout/stderr are captured into the log (bounded).
//! It runs in its own process group; at the limit the whole group is killed,
//! so a child the hook forked cannot outlive it. Exit status 0 is success,
//! anything else a refusal.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::{Mutex, Semaphore};

use super::{Answer, EventRef, Failure, Hook, HookKind, HookResult};
use crate::config::{HOST_SECRET_VARS, ProgramCommand};
use crate::event::exec::{fs_args, fs_env, provider_args, provider_env};
use crate::event::{Change, Contract};
use crate::text::CappedBuffer;

/// How long output readers may lag behind the program's exit. A background
/// child that inherited stdout can keep the pipe open forever; the hook's
/// answer must not wait for it.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// How SFTPGo limits a program: its reference limit and what the `command`
/// section gives it, plus the hook's own cap.
#[derive(Clone, Debug)]
pub struct ProgramLimits {
    /// SFTPGo 2.1's limit for this kind of hook (30 s fs, 15 s provider).
    pub reference_limit: Duration,
    /// The `command` section's settings for this program (SFTPGo 2.3+).
    pub command: ProgramCommand,
    /// The hook's own cap (`limits.timeout_ms`).
    pub cap: Option<Duration>,
}

impl ProgramLimits {
    /// The wall-clock limit of one run in `contract`.
    pub fn limit(&self, contract: &Contract) -> Duration {
        let sftpgo = if contract.has(Change::CommandSection) {
            self.command.timeout
        } else {
            self.reference_limit
        };
        self.cap.map_or(sftpgo, |cap| cap.min(sftpgo))
    }
}

/// An external program run once per event.
pub struct ExecHook {
    name: String,
    program: PathBuf,
    limits: ProgramLimits,
    output_cap: usize,
    slots: Arc<Semaphore>,
}

impl ExecHook {
    /// A hook running `program` (an absolute path) under `limits`, keeping
    /// at most `output_cap` bytes of each of stdout and stderr for the log.
    ///
    /// `slots` bounds the processes running at once across the host's exec
    /// hooks; waiting for a slot counts against the limit.
    pub fn new(
        name: impl Into<String>,
        program: PathBuf,
        limits: ProgramLimits,
        output_cap: usize,
        slots: Arc<Semaphore>,
    ) -> Self {
        ExecHook {
            name: name.into(),
            program,
            limits,
            output_cap,
            slots,
        }
    }

    fn command(&self, event: EventRef<'_>, contract: &Contract) -> Command {
        let mut cmd = Command::new(&self.program);
        if contract.has(Change::ClearedEnvironment) {
            cmd.env_clear();
        } else {
            for secret in HOST_SECRET_VARS {
                cmd.env_remove(secret);
            }
        }
        if contract.has(Change::CommandSection) {
            cmd.envs(self.limits.command.env.iter().map(|(k, v)| (k, v)));
        }
        if contract.has(Change::CommandArgs) {
            cmd.args(&self.limits.command.args);
        }
        match event {
            EventRef::Fs(ev) => {
                cmd.args(fs_args(ev, contract)).envs(fs_env(ev, contract));
            }
            EventRef::Provider(ev) => {
                cmd.args(provider_args(ev, contract))
                    .envs(provider_env(ev, contract));
            }
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        cmd
    }
}

/// Kills the hook's process group when dropped, unless disarmed: covers the
/// limit and a caller that gives up on the call.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: kill(2) with a negative pid signals the process group
            // created for this hook (process_group(0) made the child its
            // leader); it has no memory-safety preconditions.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn capture(mut reader: impl AsyncRead + Unpin, buffer: Arc<Mutex<CappedBuffer>>) {
    let mut chunk = [0u8; 8192];
    while let Ok(n) = reader.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        buffer.lock().await.push(&chunk[..n]);
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

#[async_trait::async_trait]
impl Hook for ExecHook {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> HookKind {
        HookKind::Exec
    }

    async fn call(&self, event: EventRef<'_>, contract: &Contract) -> HookResult {
        let started = Instant::now();
        let limit = self.limits.limit(contract);
        let Ok(Ok(_slot)) = tokio::time::timeout(limit, self.slots.acquire()).await else {
            return Err(Failure::Timeout(limit));
        };
        let mut child = self.command(event, contract).spawn().map_err(|err| {
            Failure::Error(format!("cannot start {}: {err}", self.program.display()))
        })?;
        let mut guard = GroupGuard(child.id().map(|pid| pid as i32));
        let stdout = Arc::new(Mutex::new(CappedBuffer::new(self.output_cap)));
        let stderr = Arc::new(Mutex::new(CappedBuffer::new(self.output_cap)));
        let readers = [
            child
                .stdout
                .take()
                .map(|r| tokio::spawn(capture(r, stdout.clone()))),
            child
                .stderr
                .take()
                .map(|r| tokio::spawn(capture(r, stderr.clone()))),
        ];

        let remaining = limit.saturating_sub(started.elapsed());
        let waited = tokio::time::timeout(remaining, child.wait()).await;
        if waited.is_err() {
            guard.kill();
            let _ = child.wait().await;
        } else {
            // Normal exit: children the hook left behind keep running, as
            // under SFTPGo; only the limit kills the group.
            guard.0 = None;
        }
        for reader in readers.into_iter().flatten() {
            let abort = reader.abort_handle();
            if tokio::time::timeout(OUTPUT_GRACE, reader).await.is_err() {
                abort.abort();
            }
        }
        stdout.lock().await.flush_to_log(&self.name, "stdout");
        stderr.lock().await.flush_to_log(&self.name, "stderr");

        match waited {
            Err(_) => Err(Failure::Timeout(limit)),
            Ok(Err(err)) => Err(Failure::Error(format!("waiting for the hook: {err}"))),
            Ok(Ok(status)) if status.success() => Ok(event.success_answer(contract)),
            Ok(Ok(status)) if status.code().is_some() => Ok(Answer::Deny(describe(status))),
            Ok(Ok(status)) => Err(Failure::Error(describe(status))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SftpgoVersion;

    #[test]
    fn a_program_is_timed_as_its_release_times_it() {
        let limits = ProgramLimits {
            reference_limit: Duration::from_secs(15),
            command: ProgramCommand {
                timeout: Duration::from_secs(120),
                ..ProgramCommand::default()
            },
            cap: None,
        };
        let at = |v: &str| limits.limit(&Contract::of(v.parse::<SftpgoVersion>().unwrap()));
        assert_eq!(at("2.2"), Duration::from_secs(15), "fixed before 2.3");
        assert_eq!(at("2.3"), Duration::from_secs(120), "`command` from 2.3");
        let capped = ProgramLimits {
            cap: Some(Duration::from_secs(5)),
            ..limits
        };
        assert_eq!(
            capped.limit(&Contract::NEWEST),
            Duration::from_secs(5),
            "the hook's own cap only lowers it"
        );
    }
}
