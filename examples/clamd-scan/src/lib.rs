//! `clamd-scan`: streams each uploaded file to a clamd-compatible scanner
//! (clamd's `INSTREAM` command over TCP) and refuses it on a finding.
//!
//! It runs on `upload` with `execute_sync`: SFTPGo 2.4+ removes a file
//! whose synchronous upload hook fails. The scanner's address is the first
//! argument and must be granted; the file is read through `event_file`:
//!
//! ```json
//! {"common": {"actions": {"execute_sync": ["upload"], "hooks": [
//!   {"hook": "clamd_scan.wasm", "execute_on": ["upload"],
//!    "grants": {"args": ["127.0.0.1:3310"], "tcp": ["127.0.0.1:3310"], "event_file": true}}]}}}
//! ```
//!
//! An unreachable scanner refuses too: a file is never let through
//! unscanned.

use std::io::{Read, Write};
use std::net::TcpStream;

use hookhost_guest::{EventFile, FsAction, FsEvent, FsHook, Verdict, log};

/// Bytes sent per INSTREAM chunk.
const CHUNK: usize = 64 * 1024;

fn scan(address: &str) -> Result<String, String> {
    let mut scanner = TcpStream::connect(address)
        .map_err(|e| format!("cannot reach the scanner at {address}: {e}"))?;
    scanner
        .write_all(b"zINSTREAM\0")
        .map_err(|e| e.to_string())?;
    let mut file = EventFile::open();
    file.size()
        .map_err(|e| format!("cannot read the upload: {e}"))?;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        scanner
            .write_all(&(n as u32).to_be_bytes())
            .and_then(|()| scanner.write_all(&chunk[..n]))
            .map_err(|e| e.to_string())?;
    }
    scanner
        .write_all(&0u32.to_be_bytes())
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    scanner.read_to_end(&mut reply).map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&reply);
    Ok(reply.trim_end_matches(['\0', '\n']).to_owned())
}

struct ClamdScan;

impl FsHook for ClamdScan {
    fn handle(event: FsEvent) -> Verdict {
        if !matches!(event.action, FsAction::Upload) {
            return Verdict::Allow;
        }
        let address = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:3310".into());
        match scan(&address) {
            Ok(reply) if reply.ends_with("OK") => Verdict::Allow,
            Ok(reply) if reply.ends_with("FOUND") => {
                let finding = reply
                    .trim_start_matches("stream: ")
                    .trim_end_matches(" FOUND");
                log::warn(
                    "infected upload",
                    &[("path", &event.path), ("finding", finding)],
                );
                Verdict::Deny(format!("infected: {finding}"))
            }
            Ok(reply) => Verdict::Deny(format!("the scanner answered {reply:?}")),
            Err(error) => Verdict::Deny(error),
        }
    }
}

hookhost_guest::export_fs_hook!(ClamdScan);
