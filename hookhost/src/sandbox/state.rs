//! The data of one guest's store, and the host functions a guest imports
//! (`log`, `event-file`, `event-info`, `outbound`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtxView, WasiView};

use super::bindings::shared::hookhost::hooks::{
    event_file, event_info, log, login_types, outbound, types,
};
use super::grants::Wasi;
use super::guards::GrantGuard;
use super::limits::Limiter;
use super::output::OutputCapture;

/// Log lines a guest may emit per call; further lines are counted and
/// reported once, so a guest cannot flood the host's log.
const LOG_LINES_PER_CALL: u32 = 1000;
/// Bytes of log a guest may emit per call, all lines together.
const LOG_BYTES_PER_CALL: usize = 64 * 1024;
/// Bytes of one guest log message (and of its fields) kept.
const LOG_LINE_BYTES: usize = 4096;
/// Largest read through `event-file.read`.
const EVENT_FILE_READ_MAX: u32 = 1 << 20;

/// Everything a guest's store holds.
pub struct State {
    pub(crate) wasi: Wasi,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) deadline: Instant,
    pub(crate) name: Arc<str>,
    /// The event's file, when the guest is granted `event_file`.
    pub(crate) event_file: Option<PathBuf>,
    /// The id of the asynchronous event of the current call.
    event_id: Option<Arc<str>>,
    pub(crate) stdout: OutputCapture,
    pub(crate) stderr: OutputCapture,
    /// The writable grants, for the symlink and quota guards.
    pub(crate) guards: Arc<[GrantGuard]>,
    /// `wasi:http` state, and the hooks that check outbound requests.
    pub(crate) http: wasmtime_wasi_http::WasiHttpCtx,
    pub(crate) outbound: super::outbound::Outbound,
    log_budget: u32,
    log_bytes: usize,
    log_dropped: u64,
}

impl State {
    pub(crate) fn new(
        name: Arc<str>,
        wasi: Wasi,
        limiter: Limiter,
        stdout: OutputCapture,
        stderr: OutputCapture,
        guards: Arc<[GrantGuard]>,
        outbound: super::outbound::Outbound,
    ) -> Self {
        State {
            guards,
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            outbound,
            wasi,
            table: ResourceTable::new(),
            limiter,
            deadline: Instant::now(),
            name,
            event_file: None,
            event_id: None,
            stdout,
            stderr,
            log_budget: LOG_LINES_PER_CALL,
            log_bytes: LOG_BYTES_PER_CALL,
            log_dropped: 0,
        }
    }

    /// Build the WASI context now if it was deferred: for an instance made
    /// ahead of its event (a spare), whose guest may well call WASI.
    pub(crate) fn prepare_wasi(&mut self) {
        self.wasi.get();
    }

    /// Reset per-call counters before a call.
    pub(crate) fn begin_call(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.outbound.deadline = deadline;
        self.outbound.gate.begin_call();
        self.event_id = crate::event::id::current();
        self.limiter.hit = None;
        self.log_budget = LOG_LINES_PER_CALL;
        self.log_bytes = LOG_BYTES_PER_CALL;
        self.log_dropped = 0;
    }

    /// Flush captured output and report suppressed log lines after a call.
    pub(crate) fn end_call(&mut self) {
        self.stdout.flush_to_log(&self.name, "stdout");
        self.stderr.flush_to_log(&self.name, "stderr");
        if self.log_dropped > 0 {
            crate::text::count(crate::text::Clip::LogVolume);
            tracing::warn!(hook = %self.name, dropped_lines = self.log_dropped, "guest log lines over the per-call limit (1000 lines, 64 KiB) were dropped");
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: self.wasi.get(),
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_http::WasiHttpView for State {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl types::Host for State {}

impl event_info::Host for State {
    fn id(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.event_id.as_deref().map(str::to_owned))
    }
}
impl login_types::Host for State {}

impl outbound::Host for State {
    fn last_error(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.outbound.gate.last_error())
    }
}

/// One piece of a guest log line, clipped (and counted when clipped).
fn clip(text: &str) -> &str {
    if text.len() > LOG_LINE_BYTES {
        crate::text::count(crate::text::Clip::LogLine);
    }
    crate::text::prefix(text, LOG_LINE_BYTES)
}

impl log::Host for State {
    fn log(
        &mut self,
        level: log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        if self.log_budget == 0 || self.log_bytes == 0 {
            self.log_dropped += 1;
            return Ok(());
        }
        let enabled = match level {
            log::Level::Trace => {
                tracing::enabled!(target: "hookhost::guest", tracing::Level::TRACE)
            }
            log::Level::Debug => {
                tracing::enabled!(target: "hookhost::guest", tracing::Level::DEBUG)
            }
            log::Level::Info => tracing::enabled!(target: "hookhost::guest", tracing::Level::INFO),
            log::Level::Warn => tracing::enabled!(target: "hookhost::guest", tracing::Level::WARN),
            log::Level::Error => {
                tracing::enabled!(target: "hookhost::guest", tracing::Level::ERROR)
            }
        };
        if !enabled {
            return Ok(());
        }
        self.log_budget -= 1;
        let hook = &*self.name;
        let message = clip(&message);
        let fields = fields
            .iter()
            .map(|(k, v)| format!("{}={}", clip(k), clip(v)))
            .collect::<Vec<_>>()
            .join(" ");
        let fields = clip(&fields);
        self.log_bytes = self.log_bytes.saturating_sub(message.len() + fields.len());
        match level {
            log::Level::Trace => {
                tracing::trace!(target: "hookhost::guest", hook, fields, "{message}")
            }
            log::Level::Debug => {
                tracing::debug!(target: "hookhost::guest", hook, fields, "{message}")
            }
            log::Level::Info => {
                tracing::info!(target: "hookhost::guest", hook, fields, "{message}")
            }
            log::Level::Warn => {
                tracing::warn!(target: "hookhost::guest", hook, fields, "{message}")
            }
            log::Level::Error => {
                tracing::error!(target: "hookhost::guest", hook, fields, "{message}")
            }
        }
        Ok(())
    }
}

impl State {
    fn granted_event_file(&self) -> Result<PathBuf, String> {
        self.event_file.clone().ok_or_else(|| {
            "event file access is not granted to this hook (grant \"event_file\")".to_owned()
        })
    }
}

/// Open the event's file read-only: not through a symlink in its last
/// component, without blocking (a FIFO would block the open, and every read,
/// forever), and only if it is a regular file (not a FIFO, socket or
/// device).
fn open_event_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

impl event_file::Host for State {
    async fn size(&mut self) -> Result<u64, String> {
        let path = self.granted_event_file()?;
        tokio::task::spawn_blocking(move || {
            open_event_file(&path)
                .and_then(|f| f.metadata())
                .map(|m| m.len())
                .map_err(|e| format!("{}: {e}", path.display()))
        })
        .await
        .map_err(|e| e.to_string())?
    }

    async fn read(&mut self, offset: u64, len: u32) -> Result<Vec<u8>, String> {
        use std::os::unix::fs::FileExt;
        let path = self.granted_event_file()?;
        let len = len.min(EVENT_FILE_READ_MAX) as usize;
        tokio::task::spawn_blocking(move || {
            let file = open_event_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut buf = vec![0u8; len];
            let mut filled = 0;
            while filled < len {
                match file.read_at(&mut buf[filled..], offset + filled as u64) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(format!("{}: {e}", path.display())),
                }
            }
            buf.truncate(filled);
            Ok(buf)
        })
        .await
        .map_err(|e| e.to_string())?
    }
}
