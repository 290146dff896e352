//! Go's JSON bytes, as SFTPGo's `encoding/json` writes them.

use serde::Serialize;

/// Serialize like Go's `json.NewEncoder(w).Encode(v)`: `json.Marshal` plus
/// a newline.
pub(crate) fn go_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = go_marshal(value);
    out.push(b'\n');
    out
}

/// Serialize like Go's `json.Marshal(v)`: HTML-safe escaping, no newline.
pub(crate) fn go_marshal<T: Serialize>(value: &T) -> Vec<u8> {
    let plain = serde_json::to_vec(value).expect("serializing plain data cannot fail");
    let mut out = Vec::with_capacity(plain.len() + 8);
    // These characters only occur inside JSON strings, so escaping them
    // byte-wise is safe; U+2028/U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
    let mut i = 0;
    while i < plain.len() {
        match plain[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if plain.get(i + 1) == Some(&0x80)
                && matches!(plain.get(i + 2), Some(0xA8 | 0xA9)) =>
            {
                out.extend_from_slice(if plain[i + 2] == 0xA8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    out
}
