//! Read-only access to the file an event names.

use std::io;

use crate::bindings::shared::hookhost::hooks::event_file as wit;

/// The event's file, readable with [`std::io::Read`]. Works only for hooks
/// whose configuration grants `"event_file": true`; otherwise every call
/// fails with an error saying so.
///
/// ```ignore
/// use std::io::Read;
/// let mut head = [0u8; 2];
/// hookhost_guest::EventFile::open().read_exact(&mut head)?;
/// if &head == b"MZ" { /* a Windows executable */ }
/// ```
#[derive(Debug, Default)]
pub struct EventFile {
    offset: u64,
}

impl EventFile {
    /// Start reading at the beginning of the event's file.
    pub fn open() -> Self {
        EventFile { offset: 0 }
    }

    /// Size of the file in bytes.
    pub fn size(&self) -> io::Result<u64> {
        wit::size().map_err(io::Error::other)
    }
}

impl io::Read for EventFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let data = wit::read(self.offset, want).map_err(io::Error::other)?;
        buf[..data.len()].copy_from_slice(&data);
        self.offset += data.len() as u64;
        Ok(data.len())
    }
}
