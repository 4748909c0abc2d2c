//! The socket's two halves, counted for the metrics, and the write side
//! bounded in time: a write (one frame, or one flush of what was queued)
//! that does not complete within `heartbeat_timeout` means the peer is too
//! slow (close 4008).
//!
//! Without that bound a client that stops reading would park its
//! connection in a write forever: the hub drops it from the anchor once
//! `max_pending_frames` are queued (so memory stays bounded), but the task,
//! its queue and its socket would live on, and neither the overflow nor the
//! heartbeat is noticed while the write waits.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{Sink, Stream};

use crate::metrics::Metrics;

/// The error a stalled write fails with; `feed` and `flush` turn it into
/// close 4008.
#[derive(Debug, thiserror::Error)]
#[error("the client did not take a write in time")]
pub(super) struct Stalled;

/// Whether a write failed because the client stopped reading.
pub(super) fn is_stall(error: &axum::Error) -> bool {
    std::error::Error::source(error).is_some_and(|e| e.is::<Stalled>())
}

/// The write half: counts frames and bytes (added to the app's metrics once
/// per flush, not per frame) and fails a write that does not complete
/// within `stall`.
pub(crate) struct MeteredSink {
    inner: SplitSink<WebSocket, Message>,
    metrics: Arc<Metrics>,
    frames: u64,
    bytes: u64,
    stall: Duration,
    /// Armed when a write first waits; disarmed when it progresses. The
    /// fast path (the socket accepts at once) never touches a timer.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl MeteredSink {
    pub(super) fn new(
        inner: SplitSink<WebSocket, Message>,
        metrics: Arc<Metrics>,
        stall: Duration,
    ) -> MeteredSink {
        MeteredSink {
            inner,
            metrics,
            frames: 0,
            bytes: 0,
            stall,
            deadline: None,
        }
    }

    /// Maps a write's poll through the stall deadline.
    fn bounded(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<Result<(), axum::Error>>,
    ) -> Poll<Result<(), axum::Error>> {
        match poll {
            Poll::Ready(result) => {
                self.deadline = None;
                Poll::Ready(result)
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
                        Poll::Ready(Err(axum::Error::new(Stalled)))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn publish(&mut self) {
        if self.frames > 0 {
            self.metrics
                .frames_out
                .add(std::mem::take(&mut self.frames));
            self.metrics.bytes_out.add(std::mem::take(&mut self.bytes));
        }
    }
}

impl Drop for MeteredSink {
    fn drop(&mut self) {
        self.publish();
    }
}

use std::future::Future as _;

impl Sink<Message> for MeteredSink {
    type Error = axum::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_ready(cx);
        this.bounded(cx, poll)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        let this = &mut *self;
        this.frames += 1;
        this.bytes += payload_len(&item);
        Pin::new(&mut this.inner).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        let poll = this.bounded(cx, poll);
        if poll.is_ready() {
            this.publish();
        }
        poll
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = &mut *self;
        this.publish();
        let poll = Pin::new(&mut this.inner).poll_close(cx);
        this.bounded(cx, poll)
    }
}

/// The read half: counts frames and bytes as they arrive.
pub(crate) struct MeteredStream {
    inner: SplitStream<WebSocket>,
    metrics: Arc<Metrics>,
}

impl MeteredStream {
    pub(super) fn new(inner: SplitStream<WebSocket>, metrics: Arc<Metrics>) -> MeteredStream {
        MeteredStream { inner, metrics }
    }
}

impl Stream for MeteredStream {
    type Item = Result<Message, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let poll = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(message))) = &poll {
            self.metrics.frames_in.inc();
            self.metrics.bytes_in.add(payload_len(message));
        }
        poll
    }
}

fn payload_len(message: &Message) -> u64 {
    let len = match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Close(_) => 0,
    };
    len as u64
}
