//! The client side of each system's protocol: rxd (`docs/PROTOCOL.md`),
//! Socket.IO 4 (Engine.IO v4 over a WebSocket, no polling) and the Django
//! Channels peer (rxd's message shapes on a Channels consumer).
//!
//! Only the framing is interpreted: frames are matched by their first
//! bytes and stamps found by byte search, never parsed as JSON.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::sys::connect_from;

/// Which wire protocol a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proto {
    /// rxd protocol version 1.
    Rxd,
    /// Socket.IO 4 (Engine.IO 4, WebSocket transport).
    SocketIo,
    /// The Django Channels peer: rxd's message shapes.
    Channels,
}

/// A client failure, as text (the load generator only counts and shows
/// them).
#[derive(Debug, Clone, PartialEq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(format!("io: {e}"))
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for Error {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        Error(format!("websocket: {e}"))
    }
}

/// Where and how to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The protocol.
    pub proto: Proto,
    /// The server.
    pub addr: SocketAddr,
}

impl Target {
    /// The WebSocket URL of one anchor.
    pub fn url(&self, anchor: u64) -> String {
        let addr = self.addr;
        match self.proto {
            Proto::Rxd => format!("ws://{addr}/ws/anchors/{anchor}"),
            Proto::SocketIo => {
                format!("ws://{addr}/socket.io/?EIO=4&transport=websocket&anchor={anchor}")
            }
            Proto::Channels => format!("ws://{addr}/ws/anchors/{anchor}/"),
        }
    }
}

/// What arrived on a connection.
#[derive(Debug)]
pub enum Incoming {
    /// An application text frame (protocol pings are answered and skipped).
    Data(Utf8Bytes),
    /// The server closed, with its close code if it sent one.
    Closed(Option<u16>),
}

/// One client connection.
pub struct Conn {
    ws: WebSocketStream<TcpStream>,
    proto: Proto,
    next_call: u64,
    /// Bytes of text received so far.
    pub bytes: u64,
}

/// The token every bench server accepts.
pub const TOKEN: &str = "bench-token";

/// How a call is written, per protocol: rxd's `call` (`docs/PROTOCOL.md`,
/// "Actions"), the same shape for the Channels peer, a Socket.IO event
/// with an acknowledgement.
pub fn call_frame(proto: Proto, id: u64) -> String {
    match proto {
        Proto::Rxd | Proto::Channels => {
            format!(r#"{{"type":"call","id":{id},"action":"echo","args":[{id},"hello"]}}"#)
        }
        Proto::SocketIo => format!(r#"42{id}["call",{{"action":"echo","args":[{id},"hello"]}}]"#),
    }
}

/// Whether `frame` answers call `id`.
pub fn is_answer(proto: Proto, frame: &[u8], id: u64) -> bool {
    match proto {
        Proto::SocketIo => {
            let head = format!("43{id}[");
            frame.starts_with(head.as_bytes())
        }
        Proto::Rxd | Proto::Channels => {
            let id_field = format!(r#""id":{id}"#);
            // JSON escapes quotes inside strings, so the pattern can only be
            // a real key and value, wherever the server put the key.
            memchr::memmem::find(frame, br#""type":"reply""#).is_some()
                && memchr::memmem::find_iter(frame, id_field.as_bytes()).any(|at| {
                    !frame
                        .get(at + id_field.len())
                        .is_some_and(u8::is_ascii_digit)
                })
        }
    }
}

/// Whether a reply reports a failed call.
pub fn is_error_answer(frame: &[u8]) -> bool {
    memchr::memmem::find(frame, br#""error":"#).is_some()
}

/// Whether `frame` ends the initial state.
pub fn is_ready(proto: Proto, frame: &[u8]) -> bool {
    match proto {
        Proto::SocketIo => frame.starts_with(br#"42["ready""#),
        // Anywhere in the frame: see `is_answer`.
        Proto::Rxd | Proto::Channels => memchr::memmem::find(frame, br#""type":"ready""#).is_some(),
    }
}

impl Conn {
    /// Connects from `source` and authenticates. `read_buffer` sizes the
    /// client's WebSocket read buffer.
    pub async fn open(
        target: &Target,
        anchor: u64,
        source: Ipv4Addr,
        read_buffer: usize,
    ) -> Result<Conn, Error> {
        let stream = connect_from(source, target.addr).await?;
        let config = WebSocketConfig::default()
            .read_buffer_size(read_buffer)
            .write_buffer_size(0);
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(target.url(anchor), stream, Some(config))
                .await?;
        let mut conn = Conn {
            ws,
            proto: target.proto,
            next_call: 0,
            bytes: 0,
        };
        match target.proto {
            Proto::Rxd | Proto::Channels => {
                conn.send(format!(r#"{{"type":"auth","token":"{TOKEN}"}}"#))
                    .await?;
            }
            Proto::SocketIo => {
                // Engine.IO open packet, then connect to "/" with auth.
                match conn.next().await? {
                    Incoming::Data(open) if open.starts_with('0') => {}
                    other => return Err(Error(format!("engine.io: expected open, got {other:?}"))),
                }
                conn.send(format!(r#"40{{"token":"{TOKEN}"}}"#)).await?;
                match conn.next().await? {
                    Incoming::Data(ok) if ok.starts_with("40") => {}
                    other => {
                        return Err(Error(format!("socket.io: expected connect, got {other:?}")))
                    }
                }
            }
        }
        Ok(conn)
    }

    /// Sends a text frame.
    pub async fn send(&mut self, text: String) -> Result<(), Error> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    /// Reads until the initial state is complete; returns the frames read.
    pub async fn read_initial(&mut self) -> Result<usize, Error> {
        let mut frames = 0;
        loop {
            match self.next().await? {
                Incoming::Data(text) => {
                    frames += 1;
                    if is_ready(self.proto, text.as_bytes()) {
                        return Ok(frames);
                    }
                }
                Incoming::Closed(code) => {
                    return Err(Error(format!(
                        "closed before ready (code {})",
                        code.map_or_else(|| "none".into(), |c| c.to_string())
                    )))
                }
            }
        }
    }

    /// The next application frame. Answers Socket.IO pings on the way.
    pub async fn next(&mut self) -> Result<Incoming, Error> {
        loop {
            let message = match self.ws.next().await {
                None => return Ok(Incoming::Closed(None)),
                Some(Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed)) => {
                    return Ok(Incoming::Closed(None))
                }
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(m)) => m,
            };
            match message {
                Message::Text(text) => {
                    self.bytes += text.len() as u64;
                    if self.proto == Proto::SocketIo && text.as_str() == "2" {
                        self.send("3".to_owned()).await?;
                        continue;
                    }
                    return Ok(Incoming::Data(text));
                }
                Message::Close(frame) => {
                    return Ok(Incoming::Closed(frame.map(|f| u16::from(f.code))));
                }
                Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// One action call, waiting for its answer.
    pub async fn call(&mut self) -> Result<(), Error> {
        self.next_call += 1;
        let id = self.next_call;
        self.send(call_frame(self.proto, id)).await?;
        loop {
            match self.next().await? {
                Incoming::Data(text) => {
                    if is_answer(self.proto, text.as_bytes(), id) {
                        if self.proto == Proto::Rxd && is_error_answer(text.as_bytes()) {
                            return Err(Error(format!(
                                "call failed: {}",
                                &text.as_str()[..text.len().min(200)]
                            )));
                        }
                        return Ok(());
                    }
                    if memchr::memmem::find(text.as_bytes(), br#""type":"error""#).is_some() {
                        return Err(Error(format!(
                            "call refused: {}",
                            &text.as_str()[..text.len().min(200)]
                        )));
                    }
                }
                Incoming::Closed(code) => {
                    return Err(Error(format!("closed during a call ({code:?})")))
                }
            }
        }
    }

    /// Closes the connection (best effort).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let t = |proto| Target { proto, addr };
        assert_eq!(t(Proto::Rxd).url(3), "ws://127.0.0.1:4000/ws/anchors/3");
        assert_eq!(
            t(Proto::SocketIo).url(3),
            "ws://127.0.0.1:4000/socket.io/?EIO=4&transport=websocket&anchor=3"
        );
        assert_eq!(
            t(Proto::Channels).url(3),
            "ws://127.0.0.1:4000/ws/anchors/3/"
        );
    }

    #[test]
    fn ready_frames() {
        assert!(is_ready(
            Proto::Rxd,
            br#"{"type":"ready","v":4,"anchor":{"_type":"Anchor","key":1}}"#
        ));
        assert!(!is_ready(
            Proto::Rxd,
            br#"{"type":"instances","instances":[]}"#
        ));
        assert!(is_ready(Proto::SocketIo, br#"42["ready",{"v":1}]"#));
        assert!(!is_ready(Proto::SocketIo, br#"42["instances",{}]"#));
        assert!(is_ready(Proto::Channels, br#"{"type":"ready","v":1}"#));
    }

    #[test]
    fn answers() {
        assert!(is_answer(Proto::SocketIo, br#"431[{"n":1}]"#, 1));
        assert!(!is_answer(Proto::SocketIo, br#"4312[{"n":1}]"#, 1));
        assert!(is_answer(
            Proto::Channels,
            br#"{"type":"reply","id":7,"result":[7,"hello"]}"#,
            7
        ));
        assert!(!is_answer(
            Proto::Channels,
            br#"{"type":"delta","id":7}"#,
            7
        ));
        assert!(!is_answer(
            Proto::Channels,
            br#"{"type":"reply","id":70,"result":{}}"#,
            7
        ));
        assert!(call_frame(Proto::SocketIo, 5).starts_with(r#"425["call","#));
    }
}
