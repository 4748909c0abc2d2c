//! The read half: client frames, unmasked and reassembled into messages.
//!
//! Bytes are read through a stack buffer and only what is not consumed at
//! once (a partial frame, or frames behind the one returned) is kept on the
//! heap, so a connection waiting for its next message holds no buffer.

use std::future::poll_fn;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, ReadBuf};

use super::{BINARY, CLOSE, CONTINUATION, MAX_CONTROL_PAYLOAD, PING, PONG, TEXT};
use crate::metrics::Metrics;

/// Bytes taken from the socket per read.
const READ_CHUNK: usize = 4096;

/// A client message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    Text(String),
    /// rxd's protocol has no binary messages; their content is not kept.
    Binary,
    Ping(Bytes),
    Pong,
    /// The client's close frame, with its code if it gave one. Nothing is
    /// read after it.
    Close(Option<u16>),
}

/// Why reading failed. Nothing is read after an error.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReadError {
    /// A message over the limit, refused from its frame header on.
    #[error("message larger than max_message_bytes")]
    TooBig,
    /// The client broke RFC 6455.
    #[error("{0}")]
    Protocol(&'static str),
    /// The connection failed.
    #[error("the connection failed")]
    Gone,
}

/// The read half of a socket, counting messages and bytes for the metrics.
pub(crate) struct Reader<R> {
    io: R,
    /// Bytes read and not yet consumed: `buffered[consumed..]`.
    buffered: Vec<u8>,
    consumed: usize,
    /// A fragmented message so far: its opcode and payload.
    fragments: Option<(u8, Vec<u8>)>,
    max_message: usize,
    metrics: Arc<Metrics>,
    done: bool,
}

/// A frame's header, parsed.
struct Head {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Header bytes, mask included.
    len: usize,
    payload: u64,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    pub(crate) fn new(io: R, metrics: Arc<Metrics>, max_message: usize) -> Reader<R> {
        Reader {
            io,
            buffered: Vec::new(),
            consumed: 0,
            fragments: None,
            max_message,
            metrics,
            done: false,
        }
    }

    /// The next message; `None` once the stream ended (after a close frame,
    /// an error, or the peer's end of stream). Cancel-safe: dropping the
    /// future loses nothing.
    pub(crate) async fn next(&mut self) -> Option<Result<Received, ReadError>> {
        if self.done {
            return None;
        }
        loop {
            match self.parse() {
                Ok(Some(received)) => {
                    self.metrics.frames_in.inc();
                    self.metrics.bytes_in.add(payload_len(&received));
                    self.done = matches!(received, Received::Close(_));
                    return Some(Ok(received));
                }
                Ok(None) => {}
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
            match self.fill().await {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(_) => {
                    self.done = true;
                    return Some(Err(ReadError::Gone));
                }
            }
        }
    }

    /// The heap the buffer holds, for tests of what an idle reader keeps.
    #[cfg(test)]
    pub(crate) fn buffered_capacity(&self) -> usize {
        self.buffered.capacity()
    }

    /// Appends what the socket has (at most one chunk) to the buffer.
    async fn fill(&mut self) -> std::io::Result<usize> {
        poll_fn(|cx| {
            let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
            let mut chunk = ReadBuf::uninit(&mut chunk);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut chunk))?;
            if self.consumed > 0 {
                self.buffered.drain(..self.consumed);
                self.consumed = 0;
            }
            self.buffered.extend_from_slice(chunk.filled());
            Poll::Ready(Ok(chunk.filled().len()))
        })
        .await
    }

    /// Consumes buffered frames until one completes a message; `Ok(None)`:
    /// more bytes are needed.
    fn parse(&mut self) -> Result<Option<Received>, ReadError> {
        loop {
            let Some(head) = parse_head(&self.buffered[self.consumed..])? else {
                return Ok(None);
            };
            let so_far = self.fragments.as_ref().map_or(0, |(_, m)| m.len() as u64);
            if head.opcode < CLOSE && so_far + head.payload > self.max_message as u64 {
                return Err(ReadError::TooBig);
            }
            // Within `max_message` (or 125 bytes for a control frame), so
            // it fits a `usize`.
            let payload_len = head.payload as usize;
            let start = self.consumed + head.len;
            if self.buffered.len() - start < payload_len {
                return Ok(None);
            }
            let end = start + payload_len;
            unmask(&mut self.buffered[start..end], head.mask);
            self.consumed = end;
            let payload = &self.buffered[start..end];
            let received = match head.opcode {
                TEXT | BINARY if self.fragments.is_some() => {
                    return Err(ReadError::Protocol(
                        "a new message before the fragmented one ended",
                    ));
                }
                TEXT | BINARY if head.fin => Some(message(head.opcode, payload.to_vec())?),
                TEXT | BINARY => {
                    self.fragments = Some((head.opcode, payload.to_vec()));
                    None
                }
                CONTINUATION => {
                    let Some((_, message_so_far)) = &mut self.fragments else {
                        return Err(ReadError::Protocol(
                            "a continuation frame outside a message",
                        ));
                    };
                    message_so_far.extend_from_slice(payload);
                    match self.fragments.take() {
                        Some((opcode, whole)) if head.fin => Some(message(opcode, whole)?),
                        unfinished => {
                            self.fragments = unfinished;
                            None
                        }
                    }
                }
                CLOSE => match payload {
                    [] => Some(Received::Close(None)),
                    [_] => return Err(ReadError::Protocol("a close frame of one byte")),
                    [high, low, ..] => {
                        Some(Received::Close(Some(u16::from_be_bytes([*high, *low]))))
                    }
                },
                PING => Some(Received::Ping(Bytes::copy_from_slice(payload))),
                PONG => Some(Received::Pong),
                _ => unreachable!("parse_head refuses other opcodes"),
            };
            if self.consumed == self.buffered.len() {
                // Given back, not kept: an idle connection holds no buffer.
                self.buffered = Vec::new();
                self.consumed = 0;
            }
            if received.is_some() {
                return Ok(received);
            }
        }
    }
}

/// A frame's header from the start of `data`; `Ok(None)`: incomplete.
fn parse_head(data: &[u8]) -> Result<Option<Head>, ReadError> {
    let [first, second, rest @ ..] = data else {
        return Ok(None);
    };
    let fin = first & 0x80 != 0;
    if first & 0x70 != 0 {
        return Err(ReadError::Protocol("reserved bits set, but no extension"));
    }
    let opcode = first & 0x0F;
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return Err(ReadError::Protocol("an unknown opcode"));
    }
    if second & 0x80 == 0 {
        return Err(ReadError::Protocol("an unmasked client frame"));
    }
    let (payload, extended) = match second & 0x7F {
        126 => match rest {
            [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 2),
            _ => return Ok(None),
        },
        127 => match rest.get(..8) {
            Some(bytes) => {
                let mut len = [0u8; 8];
                len.copy_from_slice(bytes);
                (u64::from_be_bytes(len), 8)
            }
            None => return Ok(None),
        },
        short => (u64::from(short), 0),
    };
    if opcode >= CLOSE && (!fin || payload > MAX_CONTROL_PAYLOAD as u64) {
        return Err(ReadError::Protocol(
            "a control frame fragmented or over 125 bytes",
        ));
    }
    let Some(mask) = rest.get(extended..extended + 4) else {
        return Ok(None);
    };
    Ok(Some(Head {
        fin,
        opcode,
        mask: [mask[0], mask[1], mask[2], mask[3]],
        len: 2 + extended + 4,
        payload,
    }))
}

fn message(opcode: u8, payload: Vec<u8>) -> Result<Received, ReadError> {
    if opcode == BINARY {
        return Ok(Received::Binary);
    }
    String::from_utf8(payload)
        .map(Received::Text)
        .map_err(|_| ReadError::Protocol("a text message that is not UTF-8"))
}

fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i & 3];
    }
}

fn payload_len(received: &Received) -> u64 {
    let len = match received {
        Received::Text(text) => text.len(),
        Received::Ping(payload) => payload.len(),
        Received::Binary | Received::Pong | Received::Close(_) => 0,
    };
    len as u64
}
