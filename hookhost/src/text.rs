//! Text that comes from guests and clients, made safe to keep and to log:
//! clipped to a size, and (for the text log) with control characters
//! escaped so that nobody can forge a log line or send a terminal escape.
//!
//! Clipping is counted per kind ([`Clip`]) and exported as
//! `hookhost_clipped_total{what}`.

use std::sync::atomic::{AtomicU64, Ordering};

/// What was clipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clip {
    /// A deny reason or a plugin's refusal message.
    Reason,
    /// One guest log line (message or fields).
    LogLine,
    /// A guest's log lines past its per-call volume.
    LogVolume,
}

impl Clip {
    /// Every kind.
    pub const ALL: [Clip; 3] = [Clip::Reason, Clip::LogLine, Clip::LogVolume];

    /// The label in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Clip::Reason => "reason",
            Clip::LogLine => "log_line",
            Clip::LogVolume => "log_volume",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

static CLIPPED: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

/// Count one clipping of `what` (process-wide).
pub fn count(what: Clip) {
    CLIPPED[what.index()].fetch_add(1, Ordering::Relaxed);
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct ClippedLabels {
    what: &'static str,
}

/// Write the clipped-text counters (process-wide).
pub(crate) fn encode_clipped(
    encoder: &mut prometheus_client::encoding::DescriptorEncoder<'_>,
) -> crate::prom::Encoded {
    crate::prom::encode_counters(
        encoder,
        "clipped",
        "Texts from guests and clients clipped to their cap (process-wide)",
        clipped().into_iter().map(|(what, n)| {
            (
                ClippedLabels {
                    what: what.as_str(),
                },
                n,
            )
        }),
    )
}

/// How many times each kind was clipped in this process.
pub fn clipped() -> [(Clip, u64); 3] {
    Clip::ALL.map(|what| (what, CLIPPED[what.index()].load(Ordering::Relaxed)))
}

/// The largest deny reason or refusal message kept, in bytes.
pub const REASON_BYTES: usize = 4096;

/// `text` cut to at most `max` bytes (on a character boundary), with a note
/// of how much was cut; counted as `what` when cut.
pub fn clip(mut text: String, max: usize, what: Clip) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text.len() - end;
    text.truncate(end);
    text.push_str(&format!("… [{cut} more bytes]"));
    count(what);
    text
}

/// A borrowed `text` cut to at most `max` bytes on a character boundary
/// (no note, not counted): for fields clipped once more as a whole.
pub fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Keep the first `cap` bytes of a hook's output and count the rest, so a
/// hook that prints megabytes cannot grow the host's memory.
#[derive(Debug, Default)]
pub(crate) struct CappedBuffer {
    data: Vec<u8>,
    dropped: u64,
    cap: usize,
}

impl CappedBuffer {
    pub(crate) fn new(cap: usize) -> Self {
        CappedBuffer {
            data: Vec::new(),
            dropped: 0,
            cap,
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let room = self.cap.saturating_sub(self.data.len());
        let take = room.min(bytes.len());
        self.data.extend_from_slice(&bytes[..take]);
        self.dropped += (bytes.len() - take) as u64;
    }

    /// What was kept, and how many bytes were not.
    pub(crate) fn take(&mut self) -> (Vec<u8>, u64) {
        let dropped = std::mem::take(&mut self.dropped);
        (std::mem::take(&mut self.data), dropped)
    }

    /// The last `max` bytes of the captured text, lines joined by spaces.
    pub(crate) fn tail(&self, max: usize) -> String {
        let text = String::from_utf8_lossy(&self.data);
        let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut start = joined.len().saturating_sub(max);
        while !joined.is_char_boundary(start) {
            start += 1;
        }
        joined[start..].to_owned()
    }

    /// Log the captured text (one event per stream) and reset the buffer.
    pub(crate) fn flush_to_log(&mut self, hook: &str, stream: &'static str) {
        if self.data.is_empty() && self.dropped == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&self.data);
        let text = text.trim_end();
        if self.dropped > 0 {
            tracing::info!(hook, stream, dropped_bytes = self.dropped, "{text}");
        } else {
            tracing::info!(hook, stream, "{text}");
        }
        self.data.clear();
        self.dropped = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_buffer_keeps_the_head_and_counts_the_rest() {
        let mut buffer = CappedBuffer::new(8);
        buffer.push(b"hello ");
        buffer.push(b"world, and more");
        assert_eq!(buffer.data, b"hello wo");
        assert_eq!(buffer.dropped, 13);
        assert_eq!(buffer.tail(5), "lo wo");
        buffer.flush_to_log("test", "stdout");
        assert!(buffer.data.is_empty() && buffer.dropped == 0);
    }

    #[test]
    fn clip_keeps_the_head_on_a_char_boundary_and_says_how_much_went() {
        assert_eq!(clip("short".into(), 10, Clip::Reason), "short");
        let clipped = clip("ééééé".into(), 5, Clip::Reason);
        assert_eq!(clipped, "éé… [6 more bytes]");
    }
}
