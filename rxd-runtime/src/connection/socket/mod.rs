//! The WebSocket framing of RFC 6455 for the server side, on the upgraded
//! HTTP connection.
//!
//! rxd frames the socket itself rather than through tungstenite because of
//! what a general codec keeps per connection: its write buffer keeps the
//! capacity of the largest frame it ever wrote (an idle connection held a
//! copy of its initial state), and its read buffer is allocated for the
//! socket's life. Here a frame is written straight from the shared bytes
//! the hub encoded once, in one vectored write with whatever else is queued,
//! and an idle connection holds no buffer in either direction: reads go
//! through a stack buffer, and only a partial frame is kept on the heap.
//!
//! No extension is negotiated (so no compression and no reserved bits),
//! and a server never masks.

mod read;
mod write;

pub(crate) use read::{ReadError, Reader, Received};
pub(crate) use write::{WriteError, Writer};

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::io::{ReadHalf, WriteHalf};

use crate::metrics::Metrics;

/// The upgraded connection's byte stream.
pub(crate) type Io = TokioIo<hyper::upgrade::Upgraded>;

/// Opcodes (RFC 6455, section 5.2).
const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// The largest payload of a control frame (close, ping, pong).
const MAX_CONTROL_PAYLOAD: usize = 125;

/// Whether a close code may be sent in a close frame (RFC 6455, 7.4): the
/// ones that only report a missing or broken close may not.
pub(crate) fn sendable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Splits an upgraded connection into its two framed halves. A client
/// message (all its fragments together) over `max_message` bytes fails the
/// read with [`ReadError::TooBig`]; a write that waits longer than `stall`
/// fails with [`WriteError::Stalled`].
pub(crate) fn split(
    io: hyper::upgrade::Upgraded,
    metrics: Arc<Metrics>,
    max_message: usize,
    stall: Duration,
) -> (Writer<WriteHalf<Io>>, Reader<ReadHalf<Io>>) {
    let (read, write) = tokio::io::split(TokioIo::new(io));
    (
        Writer::new(write, metrics.clone(), stall),
        Reader::new(read, metrics, max_message),
    )
}

#[cfg(test)]
mod tests;
