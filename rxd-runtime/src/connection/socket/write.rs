//! The write half: frames are queued by reference to their shared bytes and
//! written with one vectored write per flush, so nothing is copied and no
//! buffer outlives the flush.
//!
//! Every write is bounded in time: a flush that makes no progress within
//! `stall` means the peer stopped reading (close 4008). Without that bound
//! a client that stops reading would park its connection in a write
//! forever: the hub drops it from the anchor once `max_pending_frames` are
//! queued (so memory stays bounded), but the task, its queue and its socket
//! would live on, and neither the overflow nor the heartbeat is noticed
//! while the write waits.

use std::future::{poll_fn, Future};
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWrite;

use super::{CLOSE, MAX_CONTROL_PAYLOAD, PING, PONG, TEXT};
use crate::connection::frames::Frame;
use crate::metrics::Metrics;

/// Frames handed to one vectored write: two slices each (header, payload),
/// well under any system's `IOV_MAX`.
const FRAMES_PER_WRITE: usize = 32;

/// A flushed queue that grew past this many slots is given back, so a
/// burst's queue is not held by an idle connection.
const KEPT_QUEUE_SLOTS: usize = 4;

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    /// The peer took no bytes for the whole stall window.
    #[error("the client did not take a write in time")]
    Stalled,
    /// The connection is gone.
    #[error("write failed: {0}")]
    Io(std::io::Error),
}

/// One frame waiting to be written.
struct Outgoing {
    opcode: u8,
    payload: Bytes,
}

impl Outgoing {
    fn wire_len(&self) -> usize {
        header_len(self.payload.len()) + self.payload.len()
    }
}

/// The write half of a socket, counting frames and bytes for the metrics
/// (added to the app's counters once per flush, not per frame).
pub(crate) struct Writer<W> {
    io: W,
    /// Frames fed and not yet fully written: `queue[head..]`.
    queue: Vec<Outgoing>,
    head: usize,
    /// Bytes of `queue[head]` (header included) already written.
    written: usize,
    metrics: Arc<Metrics>,
    frames: u64,
    bytes: u64,
    stall: Duration,
    /// Armed when a write first waits; disarmed when it progresses. The
    /// fast path (the socket accepts at once) never touches a timer.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// A close frame was queued: nothing may follow it.
    closing: bool,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub(crate) fn new(io: W, metrics: Arc<Metrics>, stall: Duration) -> Writer<W> {
        Writer {
            io,
            queue: Vec::new(),
            head: 0,
            written: 0,
            metrics,
            frames: 0,
            bytes: 0,
            stall,
            deadline: None,
            closing: false,
        }
    }

    /// Queues a text frame for the next flush.
    pub(crate) fn feed(&mut self, frame: &Frame) {
        self.push(TEXT, frame.bytes().clone());
    }

    /// Writes everything queued.
    pub(crate) async fn flush(&mut self) -> Result<(), WriteError> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Sends a ping (the heartbeat).
    pub(crate) async fn ping(&mut self) -> Result<(), WriteError> {
        self.push(PING, Bytes::new());
        self.flush().await
    }

    /// Answers a client's ping with its payload.
    pub(crate) async fn pong(&mut self, payload: Bytes) -> Result<(), WriteError> {
        self.push(PONG, payload);
        self.flush().await
    }

    /// Sends what is queued, then a close frame (`None`: one without a
    /// code), then ends the stream. Call it once: later frames are dropped.
    pub(crate) async fn close(&mut self, close: Option<(u16, &str)>) -> Result<(), WriteError> {
        let mut payload = Vec::new();
        if let Some((code, reason)) = close {
            payload.extend_from_slice(&code.to_be_bytes());
            payload.extend_from_slice(truncate(reason, MAX_CONTROL_PAYLOAD - 2).as_bytes());
        }
        self.push(CLOSE, Bytes::from(payload));
        self.closing = true;
        self.flush().await?;
        poll_fn(|cx| {
            let poll = Pin::new(&mut self.io).poll_shutdown(cx);
            self.bounded(cx, poll)
        })
        .await
    }

    fn push(&mut self, opcode: u8, payload: Bytes) {
        if self.closing {
            return;
        }
        self.frames += 1;
        self.bytes += payload.len() as u64;
        self.queue.push(Outgoing { opcode, payload });
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        while self.head < self.queue.len() {
            let pending = &self.queue[self.head..];
            let count = pending.len().min(FRAMES_PER_WRITE);
            let mut headers = [[0u8; MAX_HEADER]; FRAMES_PER_WRITE];
            let mut slices = [IoSlice::new(&[]); 2 * FRAMES_PER_WRITE];
            let mut used = 0;
            let mut skip = self.written;
            for (frame, header) in pending[..count].iter().zip(headers.iter_mut()) {
                let len = encode_header(frame.opcode, frame.payload.len(), header);
                for part in [&header[..len], &frame.payload[..]] {
                    let taken = skip.min(part.len());
                    skip -= taken;
                    let part = &part[taken..];
                    if !part.is_empty() {
                        slices[used] = IoSlice::new(part);
                        used += 1;
                    }
                }
            }
            let poll = Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..used]);
            match ready!(self.bounded(cx, poll)) {
                Ok(0) => {
                    let error = std::io::Error::from(std::io::ErrorKind::WriteZero);
                    return Poll::Ready(Err(WriteError::Io(error)));
                }
                Ok(n) => self.advance(n),
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
        if self.queue.capacity() > KEPT_QUEUE_SLOTS {
            self.queue = Vec::new();
        } else {
            self.queue.clear();
        }
        self.head = 0;
        self.publish();
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.bounded(cx, poll)
    }

    /// Marks `n` more bytes written.
    fn advance(&mut self, n: usize) {
        self.written += n;
        while let Some(frame) = self.queue.get(self.head) {
            let len = frame.wire_len();
            if self.written < len {
                break;
            }
            self.written -= len;
            self.head += 1;
        }
    }

    /// Maps a write's poll through the stall deadline.
    fn bounded<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<std::io::Result<T>>,
    ) -> Poll<Result<T, WriteError>> {
        match poll {
            Poll::Ready(result) => {
                self.deadline = None;
                Poll::Ready(result.map_err(WriteError::Io))
            }
            Poll::Pending => {
                let stall = self.stall;
                let deadline = self
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        // A later write (the close frame) gets a new window.
                        self.deadline = None;
                        Poll::Ready(Err(WriteError::Stalled))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<W> Writer<W> {
    fn publish(&mut self) {
        if self.frames > 0 {
            self.metrics
                .frames_out
                .add(std::mem::take(&mut self.frames));
            self.metrics.bytes_out.add(std::mem::take(&mut self.bytes));
        }
    }
}

impl<W> Drop for Writer<W> {
    fn drop(&mut self) {
        self.publish();
    }
}

/// The longest header a server writes: no mask, a 64-bit length.
const MAX_HEADER: usize = 10;

fn header_len(payload: usize) -> usize {
    match payload {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

/// Writes a final frame's header into `out`; returns its length.
fn encode_header(opcode: u8, payload: usize, out: &mut [u8; MAX_HEADER]) -> usize {
    out[0] = 0x80 | opcode;
    match payload {
        0..=125 => {
            out[1] = payload as u8;
            2
        }
        126..=0xFFFF => {
            out[1] = 126;
            out[2..4].copy_from_slice(&(payload as u16).to_be_bytes());
            4
        }
        _ => {
            out[1] = 127;
            out[2..10].copy_from_slice(&(payload as u64).to_be_bytes());
            10
        }
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
