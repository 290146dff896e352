//! The text log's writer: one record per line, whatever the fields hold.

use std::io::Write;

/// A writer for the text log: every control character of a record but its
/// final newline is written escaped (`\n`, `\r`, `\t`, `\x1b`, ...), so one
/// record stays one line and no terminal escape gets through, whatever a
/// guest or a client put in a field. The fmt layer hands each record over
/// in one write.
pub struct EscapingWriter<W>(pub W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (body, end) = match buf.split_last() {
            Some((b'\n', body)) => (body, &b"\n"[..]),
            _ => (buf, &b""[..]),
        };
        if !body.iter().any(|b| b.is_ascii_control()) {
            self.0.write_all(buf)?;
            return Ok(buf.len());
        }
        let mut out = Vec::with_capacity(buf.len() + 16);
        for &byte in body {
            match byte {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                byte if byte.is_ascii_control() => {
                    out.extend_from_slice(format!("\\x{byte:02x}").as_bytes())
                }
                byte => out.push(byte),
            }
        }
        out.extend_from_slice(end);
        self.0.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_stays_one_line_without_escapes() {
        let mut out = EscapingWriter(Vec::new());
        out.write_all(b"INFO msg=evil\n2026 INFO forged \x1b[2J\tend\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "INFO msg=evil\\n2026 INFO forged \\x1b[2J\\tend\n"
        );
    }
}
