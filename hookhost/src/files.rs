//! Reading the files a configuration names (the configuration itself, its
//! `env.d`, components, certificates): regular files only. Opening a FIFO
//! for reading blocks until a writer comes, and reading a device never
//! ends; either, put where a configuration file was, used to freeze a
//! reload. The file is opened non-blocking and checked with `fstat` before
//! a byte is read, so anything else is refused at once, by name.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The most a configuration-named file may hold: far above any real
/// configuration, certificate bundle or component.
const MAX_BYTES: u64 = 512 << 20;

/// Open `path` for reading if it is a regular file (after symlinks).
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    let what = if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file"),
    ))
}

/// The bytes of `path`, a regular file of at most 512 MiB.
pub(crate) fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_BYTES >> 20),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_at_once_and_a_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_regular(&fifo).unwrap_err();
        assert_eq!(err.to_string(), "a FIFO, not a regular file");
        let err = read_regular(dir.path()).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        let err = read_regular(Path::new("/dev/zero")).unwrap_err();
        assert!(err.to_string().contains("a device"), "{err}");
        let file = dir.path().join("f");
        std::fs::write(&file, b"{}").unwrap();
        assert_eq!(read_regular(&file).unwrap(), b"{}");
    }
}
