//! Guest stdout/stderr: captured into a bounded buffer and logged with the
//! guest's name after each call. Writes past the cap are accepted and
//! counted, never refused, so a chatty guest is truncated rather than
//! trapped.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::text::CappedBuffer;

/// A bounded capture buffer shared by every stream the guest opens on it.
#[derive(Clone)]
pub(crate) struct OutputCapture(Arc<Mutex<CappedBuffer>>);

impl OutputCapture {
    pub(crate) fn new(cap: usize) -> Self {
        OutputCapture(Arc::new(Mutex::new(CappedBuffer::new(cap))))
    }

    fn push(&self, bytes: &[u8]) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(bytes);
    }

    /// Log what was captured, tagged with the guest's name, and clear it.
    pub(crate) fn flush_to_log(&self, name: &str, stream: &'static str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .flush_to_log(name, stream);
    }

    /// The end of the captured text (for trap messages: a Rust guest's
    /// panic message lands on stderr).
    pub(crate) fn tail(&self, max: usize) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).tail(max)
    }
}

impl IsTerminal for OutputCapture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for OutputCapture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for OutputCapture {
    async fn ready(&mut self) {}
}

impl OutputStream for OutputCapture {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1 << 20)
    }
}

impl tokio::io::AsyncWrite for OutputCapture {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
