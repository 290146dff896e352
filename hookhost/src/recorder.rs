//! `hookhost.record`: the events a node sees, one per line — the format
//! `hookhost replay` takes — so a candidate hook can be tried on real
//! traffic later. A file-system event is its JSON body (what `hookhost fire
//! --event` takes); a provider, login or connection event is the request a
//! URL hook gets, `{"call": …, "query": …, "event": …}` (`fire`'s `--call`,
//! `--query`, `--event`).
//!
//! The events are written by a thread of their own, never on the event's
//! path: an event is handed over a bounded channel, and one that finds it
//! full is dropped and counted (`hookhost_record_dropped_total`, a warning
//! now and then). The file is rotated at half of `max_mib` into `FILE.1`
//! (replacing the one before), so the two together stay within `max_mib`.
//! The bodies hold what SFTPGo sends a hook, secrets hidden as in provider
//! objects; events that carry credentials (external auth, check-password,
//! keyboard-interactive answers) are not recorded.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use prometheus_client::metrics::counter::Counter;
use serde_json::Value;

use crate::config::RecordSettings;
use crate::event::fs::http::encode_fs_event;
use crate::event::login::{LoginEvent, LoginHook};
use crate::event::provider::hide_secrets;
use crate::event::{Contract, FsEvent, ObjectType, ProviderEvent};
use crate::hook::http::go_query;

/// Events waiting for the writer.
const BACKLOG: usize = 4096;

/// Hands events to the writer thread.
pub(crate) struct Recorder {
    tx: Mutex<Option<SyncSender<Vec<u8>>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    dropped: Counter,
}

impl Recorder {
    /// Open (append to) the file and start the writer.
    pub(crate) fn start(
        settings: &RecordSettings,
        written: Counter,
        dropped: Counter,
    ) -> Result<Recorder, String> {
        let limit = settings.max_mib.saturating_mul(1 << 20) / 2;
        let file = open(&settings.file)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let (tx, rx) = sync_channel(BACKLOG);
        let path = settings.file.clone();
        let writer = std::thread::Builder::new()
            .name("hookhost-record".into())
            .spawn(move || write_all(rx, path, file, size, limit, written))
            .map_err(|e| format!("cannot start the recording thread: {e}"))?;
        Ok(Recorder {
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            dropped,
        })
    }

    /// Stop taking events and wait until those taken are on disk.
    pub(crate) async fn close(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = writer {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
    }

    /// Record one file-system event, as its sender's release sends it: the
    /// body alone.
    pub(crate) fn fs(&self, event: &FsEvent, contract: &Contract) {
        let mut line = encode_fs_event(event, contract);
        if line.last() != Some(&b'\n') {
            line.push(b'\n');
        }
        self.send(line);
    }

    /// Record one provider event as its sender's release posts it to a
    /// hook's URL: `{"call": "provider", "query": …, "event": object}`.
    /// An internal update is not recorded (SFTPGo never sends one).
    pub(crate) fn provider(&self, event: &ProviderEvent, contract: &Contract) {
        if event.internal {
            return;
        }
        let query = go_query(&event.http_query(contract));
        self.send(envelope("provider", &query, &event.object_json));
    }

    /// Record a login or connection event in the request its URL hook gets
    /// (`{"call": "pre-login", "query": …, "event": user}`): pre-login,
    /// post-login (the user's secrets hidden as in provider objects),
    /// post-connect, post-disconnect. Events carrying credentials
    /// (external auth, check-password, keyboard-interactive answers) and
    /// server events are not recorded.
    pub(crate) fn login(&self, event: &LoginEvent, contract: &Contract) {
        let call = match event.hook() {
            LoginHook::PreLogin => "pre-login",
            LoginHook::PostLogin => "post-login",
            LoginHook::PostConnect => "post-connect",
            LoginHook::PostDisconnect => "post-disconnect",
            _ => return,
        };
        let form = event.http(contract);
        let query = go_query(&form.query);
        let body = match serde_json::from_slice::<Value>(&form.body) {
            Ok(mut user) if user.is_object() => {
                hide_secrets(&mut user, ObjectType::User);
                user.to_string()
            }
            _ => "null".to_owned(),
        };
        self.send(envelope(call, &query, &body));
    }

    fn send(&self, line: Vec<u8>) {
        let sent = match &*self.tx.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(tx) => tx.try_send(line),
            None => return,
        };
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.inc();
                let dropped = self.dropped.get();
                if dropped.is_power_of_two() {
                    tracing::warn!(
                        dropped,
                        "recording: events dropped, the writer is behind (hookhost.record)"
                    );
                }
            }
        }
    }
}

/// One recorded request that is not a bare fs body: what `fire` takes as
/// `--call`, `--query` and `--event`.
fn envelope(call: &str, query: &str, event: &str) -> Vec<u8> {
    let mut line = format!(
        "{{\"call\":{},\"query\":{},\"event\":",
        Value::from(call),
        Value::from(query)
    );
    // The event's bytes as they were sent, unless they span lines (a
    // pretty-printed body): then the same JSON written on one line.
    let event = event.trim();
    if event.contains(['\n', '\r'])
        && let Ok(value) = serde_json::from_str::<Value>(event)
    {
        line.push_str(&value.to_string());
    } else {
        line.push_str(event);
    }
    line.push_str("}\n");
    line.into_bytes()
}

fn open(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {} for appending: {e}", path.display()))
}

fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// The writer: lines in arrival order, flushed whenever the channel is
/// empty, the file rotated before it would pass `limit`.
fn write_all(
    rx: Receiver<Vec<u8>>,
    path: PathBuf,
    file: File,
    mut size: u64,
    limit: u64,
    written: Counter,
) {
    let mut out = BufWriter::new(file);
    while let Ok(mut line) = rx.recv() {
        loop {
            let len = line.len() as u64;
            if size > 0 && size + len > limit {
                let _ = out.flush();
                match std::fs::rename(&path, rotated(&path))
                    .map_err(|e| e.to_string())
                    .and_then(|()| open(&path))
                {
                    Ok(file) => {
                        out = BufWriter::new(file);
                        size = 0;
                    }
                    Err(error) => {
                        tracing::warn!(file = %path.display(), %error, "recording: cannot rotate; recording stops");
                        return;
                    }
                }
            }
            if let Err(error) = out.write_all(&line) {
                tracing::warn!(file = %path.display(), %error, "recording: cannot write; recording stops");
                return;
            }
            size += len;
            written.inc();
            match rx.try_recv() {
                Ok(next) => line = next,
                Err(_) => break,
            }
        }
        let _ = out.flush();
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::envelope;

    #[test]
    fn a_recorded_request_is_one_line_even_from_a_pretty_printed_body() {
        let line = envelope(
            "provider",
            "action=add",
            "{\n  \"username\": \"alice\"\n}\n",
        );
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "{\"call\":\"provider\",\"query\":\"action=add\",\"event\":{\"username\":\"alice\"}}\n"
        );
        let line = envelope("post-connect", "ip=10.0.0.5&protocol=SSH", "null");
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "{\"call\":\"post-connect\",\"query\":\"ip=10.0.0.5&protocol=SSH\",\"event\":null}\n"
        );
    }
}
