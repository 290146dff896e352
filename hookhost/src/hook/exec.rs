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

use super::{Answer, EventRef, Exchange, Failure, Hook, HookKind, HookResult};
use crate::config::{HOST_SECRET_VARS, ProgramCommand};
use crate::event::fs::exec::{fs_args, fs_env};
use crate::event::login::{KbdReply, KbdRound};
use crate::event::provider::exec::{provider_args, provider_env};
use crate::event::{Change, Contract};
use crate::text::CappedBuffer;

/// How long output readers may lag behind the program's exit. A background
/// child that inherited stdout can keep the pipe open forever; the hook's
/// answer must not wait for it.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// The largest answer kept from a login hook's stdout (SFTPGo reads it
/// whole; a user's JSON is far smaller).
pub(crate) const REPLY_CAP: usize = 16 << 20;

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

    /// The program as the release of `contract` starts it, before the
    /// event's own variables and the standard streams.
    fn command(&self, contract: &Contract) -> Command {
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
        cmd.process_group(0).kill_on_drop(true);
        cmd
    }

    fn event_command(&self, event: EventRef<'_>, contract: &Contract) -> Command {
        let mut cmd = self.command(contract);
        match event {
            EventRef::Fs(ev) => {
                cmd.args(fs_args(ev, contract)).envs(fs_env(ev, contract));
            }
            EventRef::Provider(ev) => {
                cmd.args(provider_args(ev, contract))
                    .envs(provider_env(ev, contract));
            }
            EventRef::Login(ev) => {
                cmd.envs(ev.env());
            }
        }
        if let Some(id) = crate::event::id::current() {
            cmd.env(crate::event::id::ENV, &*id);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
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
        let mut child = self.event_command(event, contract).spawn().map_err(|err| {
            Failure::Error(format!("cannot start {}: {err}", self.program.display()))
        })?;
        let mut guard = GroupGuard(child.id().map(|pid| pid as i32));
        // A login hook that answers does so on stdout: kept whole (up to
        // REPLY_CAP), not logged.
        let answers = matches!(event, EventRef::Login(ev) if ev.hook().answers_with_output());
        let stdout_cap = if answers { REPLY_CAP } else { self.output_cap };
        let stdout = Arc::new(Mutex::new(CappedBuffer::new(stdout_cap)));
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
        let reply = if answers {
            // As SFTPGo logs an answering program's stderr: at WARN.
            let (text, dropped) = stderr.lock().await.take();
            let text = String::from_utf8_lossy(&text);
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                tracing::warn!(hook = %self.name, stream = "stderr", "{line}");
            }
            if dropped > 0 {
                tracing::warn!(hook = %self.name, stream = "stderr", dropped_bytes = dropped, "stderr cut");
            }
            Some(stdout.lock().await.take())
        } else {
            stdout.lock().await.flush_to_log(&self.name, "stdout");
            stderr.lock().await.flush_to_log(&self.name, "stderr");
            None
        };

        match waited {
            Err(_) => Err(Failure::Timeout(limit)),
            Ok(Err(err)) => Err(Failure::Error(format!("waiting for the hook: {err}"))),
            Ok(Ok(status)) if status.success() => match reply {
                None => Ok(event.success_answer(contract)),
                Some((_, dropped)) if dropped > 0 => Err(Failure::Error(format!(
                    "its answer is larger than {} MiB",
                    REPLY_CAP >> 20
                ))),
                Some((answer, _)) => Ok(Answer::Reply(answer)),
            },
            Ok(Ok(status)) if status.code().is_some() => Ok(Answer::Deny(describe(status))),
            Ok(Ok(status)) => Err(Failure::Error(describe(status))),
        }
    }

    async fn exchange(&self, contract: &Contract) -> Result<Box<dyn Exchange>, Failure> {
        Ok(Box::new(ExecExchange {
            name: self.name.clone(),
            program: self.program.clone(),
            command: self.command(contract),
            limit: self.limits.limit(contract),
            slots: self.slots.clone(),
            running: None,
        }))
    }
}

/// A keyboard-interactive exchange with a program, as SFTPGo runs one: the
/// program starts at the first round with the exchange's variables, writes
/// one JSON reply per line on stdout, and reads the answers of each later
/// round on stdin, one per line. The whole exchange runs under the
/// program's limit; dropping it kills the program.
struct ExecExchange {
    name: String,
    program: PathBuf,
    command: Command,
    limit: Duration,
    slots: Arc<Semaphore>,
    running: Option<Running>,
}

struct Running {
    _child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::BufReader<tokio::process::ChildStdout>,
    _guard: GroupGuard,
    deadline: tokio::time::Instant,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl ExecExchange {
    async fn start(&mut self, round: &KbdRound) -> Result<&mut Running, Failure> {
        let deadline = tokio::time::Instant::now() + self.limit;
        let slot = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| Failure::Timeout(self.limit))?
            .expect("exec slots are never closed");
        self.command
            .envs(round.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().map_err(|err| {
            Failure::Error(format!("cannot start {}: {err}", self.program.display()))
        })?;
        let guard = GroupGuard(child.id().map(|pid| pid as i32));
        if let Some(stderr) = child.stderr.take() {
            let name = self.name.clone();
            tokio::spawn(async move {
                let buffer = Arc::new(Mutex::new(CappedBuffer::new(64 << 10)));
                capture(stderr, buffer.clone()).await;
                buffer.lock().await.flush_to_log(&name, "stderr");
            });
        }
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(Failure::Error("no pipes to the program".into()));
        };
        Ok(self.running.insert(Running {
            _child: child,
            stdin,
            stdout: tokio::io::BufReader::new(stdout),
            _guard: guard,
            deadline,
            _slot: slot,
        }))
    }
}

#[async_trait::async_trait]
impl Exchange for ExecExchange {
    async fn round(&mut self, round: &KbdRound) -> Result<KbdReply, Failure> {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let limit = self.limit;
        let running = match self.running.take() {
            None => self.start(round).await?,
            Some(running) => {
                let running = self.running.insert(running);
                let mut lines = String::new();
                for answer in &round.answers {
                    lines.push_str(answer);
                    lines.push('\n');
                }
                let written = tokio::time::timeout_at(running.deadline, async {
                    running.stdin.write_all(lines.as_bytes()).await?;
                    running.stdin.flush().await
                })
                .await;
                match written {
                    Err(_) => return Err(Failure::Timeout(limit)),
                    Ok(Err(err)) => {
                        return Err(Failure::Error(format!("writing the answers: {err}")));
                    }
                    Ok(Ok(())) => running,
                }
            }
        };
        let mut line = Vec::new();
        let read = tokio::time::timeout_at(
            running.deadline,
            (&mut running.stdout)
                .take(REPLY_CAP as u64)
                .read_until(b'\n', &mut line),
        )
        .await;
        match read {
            Err(_) => Err(Failure::Timeout(limit)),
            Ok(Err(err)) => Err(Failure::Error(format!("reading its reply: {err}"))),
            Ok(Ok(0)) => Err(Failure::Error(
                "the program ended without a final answer".into(),
            )),
            Ok(Ok(_)) => serde_json::from_slice::<KbdReply>(&line)
                .map_err(|err| Failure::Error(format!("its reply is not SFTPGo's JSON: {err}"))),
        }
    }

    fn deadline(&self) -> Option<tokio::time::Instant> {
        self.running.as_ref().map(|running| running.deadline)
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
