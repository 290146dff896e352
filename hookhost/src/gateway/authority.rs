//! A client's `:authority`, made one the HTTP/2 server accepts.
//!
//! go-plugin's Go client names a unix socket's authority `localhost`; a
//! grpc-core client (Python's grpcio, C++, Ruby ...) sends the socket's
//! path percent-encoded (`%2Ftmp%2Fplugin123`), which is not an authority by
//! RFC 3986 and which the HTTP/2 server (h2) answers with `RST_STREAM
//! PROTOCOL_ERROR` before a service sees the call. No gRPC service reads the
//! authority, so hookhost takes it as go-plugin's client would send it.
//!
//! [`AuthorityFix`] sits between the connection and the HTTP/2 server and
//! reads the client's frames: every header block is decoded (HPACK keeps
//! state across a connection); a block whose `:authority` is not a valid
//! authority is sent on re-encoded with `localhost` in its place. Blocks
//! re-encoded use no dynamic table entries (literals without indexing), so
//! the server's decoder never goes out of step with the blocks passed on as
//! they came. Anything it cannot read (a malformed block) is passed on
//! unchanged for the server to refuse.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The client connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An HTTP/2 frame header's length.
const FRAME_HEADER: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// The largest frame payload every HTTP/2 peer takes (SETTINGS_MAX_FRAME_SIZE's
/// initial value).
const MAX_FRAME: usize = 16_384;
/// What replaces an authority the server would refuse.
const LOCALHOST: &[u8] = b"localhost";

/// A header block being read: its HEADERS frame, then CONTINUATIONs.
struct Block {
    stream: u32,
    end_stream: bool,
    priority: Option<[u8; 5]>,
    fragment: Vec<u8>,
    /// The frames as they came.
    original: BytesMut,
}

/// The client side of an HTTP/2 connection, its header blocks mended where
/// their `:authority` would be refused (see the module docs).
pub(crate) struct AuthorityFix<S> {
    inner: S,
    /// Read from `inner`, not yet passed on.
    raw: BytesMut,
    /// Ready for the server.
    out: BytesMut,
    preface_seen: bool,
    block: Option<Block>,
    decoder: loona_hpack::Decoder<'static>,
    /// Something could not be read: pass everything on as it comes.
    passthrough: bool,
    eof: bool,
}

impl<S> AuthorityFix<S> {
    pub(crate) fn new(inner: S) -> Self {
        AuthorityFix {
            inner,
            raw: BytesMut::new(),
            out: BytesMut::new(),
            preface_seen: false,
            block: None,
            decoder: loona_hpack::Decoder::new(),
            passthrough: false,
            eof: false,
        }
    }

    /// Move what can be judged from `raw` to `out`.
    fn process(&mut self) {
        if self.passthrough {
            self.out.extend_from_slice(&self.raw.split());
            return;
        }
        if !self.preface_seen {
            let seen = self.raw.len().min(PREFACE.len());
            if self.raw[..seen] != PREFACE[..seen] {
                // Not HTTP/2 with prior knowledge: the server will say so.
                self.passthrough = true;
                return self.process();
            }
            if seen < PREFACE.len() {
                return;
            }
            self.out
                .extend_from_slice(&self.raw.split_to(PREFACE.len()));
            self.preface_seen = true;
        }
        while self.raw.len() >= FRAME_HEADER {
            let length = (usize::from(self.raw[0]) << 16)
                | (usize::from(self.raw[1]) << 8)
                | usize::from(self.raw[2]);
            if self.raw.len() < FRAME_HEADER + length {
                return;
            }
            let frame = self.raw.split_to(FRAME_HEADER + length);
            self.frame(frame);
            if self.passthrough {
                return self.process();
            }
        }
    }

    fn frame(&mut self, frame: BytesMut) {
        let (kind, flags) = (frame[3], frame[4]);
        let stream = u32::from_be_bytes([frame[5], frame[6], frame[7], frame[8]]) & 0x7fff_ffff;
        let payload = &frame[FRAME_HEADER..];
        match (kind, self.block.as_mut()) {
            (CONTINUATION, Some(block)) if block.stream == stream => {
                block.fragment.extend_from_slice(payload);
                block.original.extend_from_slice(&frame);
                if flags & END_HEADERS != 0 {
                    self.finish();
                }
            }
            (HEADERS, None) => {
                let mut at = 0;
                let mut pad = 0;
                if flags & PADDED != 0 {
                    let Some(&p) = payload.first() else {
                        return self.give_up(frame);
                    };
                    pad = usize::from(p);
                    at = 1;
                }
                let mut priority = None;
                if flags & PRIORITY != 0 {
                    let Some(bytes) = payload.get(at..at + 5) else {
                        return self.give_up(frame);
                    };
                    priority = Some(<[u8; 5]>::try_from(bytes).expect("five bytes"));
                    at += 5;
                }
                let Some(fragment) = payload
                    .len()
                    .checked_sub(pad)
                    .and_then(|end| payload.get(at..end))
                else {
                    return self.give_up(frame);
                };
                self.block = Some(Block {
                    stream,
                    end_stream: flags & END_STREAM != 0,
                    priority,
                    fragment: fragment.to_vec(),
                    original: frame,
                });
                if flags & END_HEADERS != 0 {
                    self.finish();
                }
            }
            // A frame interleaved with a header block, or a CONTINUATION
            // without one: the server refuses the connection for it.
            (_, Some(_)) | (CONTINUATION, None) => self.give_up(frame),
            _ => self.out.extend_from_slice(&frame),
        }
    }

    /// Stop reading and pass on what was held and `frame`.
    fn give_up(&mut self, frame: BytesMut) {
        if let Some(block) = self.block.take() {
            self.out.extend_from_slice(&block.original);
        }
        self.out.extend_from_slice(&frame);
        self.passthrough = true;
    }

    /// A whole header block: passed on as it came, or re-encoded with a
    /// valid authority.
    fn finish(&mut self) {
        let block = self.block.take().expect("a block is being read");
        let mut headers = Vec::new();
        let decoded = self.decoder.decode_with_cb(&block.fragment, |name, value| {
            headers.push((name.into_owned(), value.into_owned()))
        });
        if decoded.is_err() {
            self.out.extend_from_slice(&block.original);
            self.passthrough = true;
            return;
        }
        let refused = headers.iter().any(|(name, value)| {
            name.as_slice() == b":authority"
                && http::uri::Authority::try_from(value.as_slice()).is_err()
        });
        if !refused {
            self.out.extend_from_slice(&block.original);
            return;
        }
        tracing::debug!(
            stream = block.stream,
            "an :authority the HTTP/2 server would refuse (a grpc-core client's socket path): taken as localhost"
        );
        let mut encoded = Vec::new();
        for (name, value) in &headers {
            let value = if name.as_slice() == b":authority" {
                LOCALHOST
            } else {
                value.as_slice()
            };
            literal(name, value, &mut encoded);
        }
        self.write_block(&block, &encoded);
    }

    /// `encoded` as a HEADERS frame and CONTINUATIONs of the block's stream.
    fn write_block(&mut self, block: &Block, encoded: &[u8]) {
        let first_room = MAX_FRAME - if block.priority.is_some() { 5 } else { 0 };
        let (first, mut rest) = encoded.split_at(encoded.len().min(first_room));
        let mut flags = if block.end_stream { END_STREAM } else { 0 };
        if block.priority.is_some() {
            flags |= PRIORITY;
        }
        if rest.is_empty() {
            flags |= END_HEADERS;
        }
        let priority = block.priority.as_ref().map_or(&[][..], |p| &p[..]);
        self.frame_header(priority.len() + first.len(), HEADERS, flags, block.stream);
        self.out.put_slice(priority);
        self.out.put_slice(first);
        while !rest.is_empty() {
            let (chunk, left) = rest.split_at(rest.len().min(MAX_FRAME));
            let flags = if left.is_empty() { END_HEADERS } else { 0 };
            self.frame_header(chunk.len(), CONTINUATION, flags, block.stream);
            self.out.put_slice(chunk);
            rest = left;
        }
    }

    fn frame_header(&mut self, length: usize, kind: u8, flags: u8, stream: u32) {
        let length = u32::try_from(length).expect("at most MAX_FRAME");
        self.out.put_slice(&length.to_be_bytes()[1..]);
        self.out.put_u8(kind);
        self.out.put_u8(flags);
        self.out.put_u32(stream);
    }
}

/// HPACK's "literal header field without indexing — new name", no Huffman.
fn literal(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.push(0x00);
    for text in [name, value] {
        integer(text.len(), 7, 0x00, out);
        out.extend_from_slice(text);
    }
}

/// HPACK's integer with an N-bit prefix.
fn integer(mut value: usize, prefix_bits: u8, first: u8, out: &mut Vec<u8>) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128 + 128) as u8);
        value /= 128;
    }
    out.push(value as u8);
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthorityFix<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.out.is_empty() {
                let n = this.out.len().min(buf.remaining());
                buf.put_slice(&this.out[..n]);
                this.out.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                // What is left cannot be judged: the server sees it as it is.
                if let Some(block) = this.block.take() {
                    this.out.extend_from_slice(&block.original);
                }
                this.out.extend_from_slice(&this.raw.split());
                if this.out.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) if read.filled().is_empty() => this.eof = true,
                Poll::Ready(Ok(())) => {
                    this.raw.extend_from_slice(read.filled());
                    this.process();
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthorityFix<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        out.extend([kind, flags]);
        out.extend(stream.to_be_bytes());
        out.extend(payload);
        out
    }

    async fn through(input: Vec<u8>) -> Vec<u8> {
        let mut fixed = AuthorityFix::new(&input[..]);
        let mut out = Vec::new();
        fixed.read_to_end(&mut out).await.unwrap();
        out
    }

    fn headers_of(out: &[u8]) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut decoder = loona_hpack::Decoder::new();
        let mut at = PREFACE.len();
        let mut blocks = Vec::new();
        let mut fragment = Vec::new();
        while at < out.len() {
            let length = (usize::from(out[at]) << 16)
                | (usize::from(out[at + 1]) << 8)
                | usize::from(out[at + 2]);
            let (kind, flags) = (out[at + 3], out[at + 4]);
            let payload = &out[at + 9..at + 9 + length];
            if kind == HEADERS || kind == CONTINUATION {
                let skip = if kind == HEADERS && flags & PRIORITY != 0 {
                    5
                } else {
                    0
                };
                fragment.extend_from_slice(&payload[skip..]);
                if flags & END_HEADERS != 0 {
                    blocks.push(decoder.decode(&fragment).unwrap());
                    fragment.clear();
                }
            }
            at += 9 + length;
        }
        blocks
    }

    #[tokio::test]
    async fn a_socket_path_authority_becomes_localhost_and_the_rest_stays() {
        // What grpc-core sends, split over a HEADERS and a CONTINUATION,
        // and then a block that refers to the dynamic table it filled.
        let mut encoder = loona_hpack::Encoder::new();
        let request: Vec<(&[u8], &[u8])> = vec![
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", b"/grpc.health.v1.Health/Check"),
            (b":authority", b"%2Ftmp%2Fplugin123"),
            (b"te", b"trailers"),
            (b"content-type", b"application/grpc"),
        ];
        let first = encoder.encode(request.iter().copied());
        let second = encoder.encode(request.iter().copied());
        let mut input = PREFACE.to_vec();
        input.extend(frame(0x4, 0, 0, &[])); // SETTINGS
        input.extend(frame(
            HEADERS,
            PRIORITY,
            1,
            &[&[0, 0, 0, 0, 15][..], &first[..4]].concat(),
        ));
        input.extend(frame(CONTINUATION, END_HEADERS, 1, &first[4..]));
        input.extend(frame(0x0, END_STREAM, 1, b"\0\0\0\0\0"));
        input.extend(frame(HEADERS, END_HEADERS | END_STREAM, 3, &second));
        let out = through(input).await;
        assert!(out.starts_with(PREFACE));
        let blocks = headers_of(&out);
        assert_eq!(blocks.len(), 2);
        for block in blocks {
            let authority: Vec<&[u8]> = block
                .iter()
                .filter(|(n, _)| n == b":authority")
                .map(|(_, v)| v.as_slice())
                .collect();
            assert_eq!(authority, [b"localhost"]);
            assert!(
                block
                    .iter()
                    .any(|(n, v)| n == b":path" && v == b"/grpc.health.v1.Health/Check")
            );
        }
    }

    #[tokio::test]
    async fn go_plugins_requests_pass_byte_for_byte() {
        let mut encoder = loona_hpack::Encoder::new();
        let block = encoder.encode([
            (&b":method"[..], &b"POST"[..]),
            (b":scheme", b"http"),
            (b":path", b"/plugin.GRPCController/Shutdown"),
            (b":authority", b"localhost"),
        ]);
        let mut input = PREFACE.to_vec();
        input.extend(frame(HEADERS, END_HEADERS, 1, &block));
        input.extend(frame(0x0, END_STREAM, 1, b"\0\0\0\0\0"));
        assert_eq!(through(input.clone()).await, input);
        // Not HTTP/2 at all: passed on for the server to refuse.
        assert_eq!(
            through(b"GET / HTTP/1.1\r\n\r\n".to_vec()).await,
            b"GET / HTTP/1.1\r\n\r\n"
        );
    }

    #[test]
    fn integers_have_hpacks_prefix_form() {
        let mut out = Vec::new();
        integer(10, 5, 0, &mut out);
        integer(1337, 5, 0, &mut out);
        assert_eq!(out, [10, 31, 154, 10], "RFC 7541 C.1.1 and C.1.2");
    }
}
