//! The close codes of `docs/PROTOCOL.md`, one by one.

/// A reason to end a connection, with its WebSocket close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// 1001: the server is shutting down.
    GoingAway,
    /// 4001: missing, invalid or expired token; no `auth` in time.
    Unauthorized,
    /// 4002: malformed message, first message not `auth`, binary frame.
    ProtocolError,
    /// 4003: `connect` denied this principal.
    Forbidden,
    /// 4004: the anchor does not exist, or a route parameter does not parse.
    NotFound,
    /// 4008: the client did not read its frames in time.
    TooSlow,
    /// 4009: a client message over `max_message_bytes`.
    MessageTooBig,
    /// 4010: the client answered no heartbeat within `heartbeat_timeout`.
    Timeout,
    /// 4011: the server failed while loading or authenticating.
    ServerError,
    /// 4029: a connection limit was reached.
    TooManyConnections,
    /// 4030: the token or principal was revoked.
    Revoked,
}

impl Close {
    /// The WebSocket close code.
    pub fn code(self) -> u16 {
        match self {
            Close::GoingAway => 1001,
            Close::Unauthorized => 4001,
            Close::ProtocolError => 4002,
            Close::Forbidden => 4003,
            Close::NotFound => 4004,
            Close::TooSlow => 4008,
            Close::MessageTooBig => 4009,
            Close::Timeout => 4010,
            Close::ServerError => 4011,
            Close::TooManyConnections => 4029,
            Close::Revoked => 4030,
        }
    }

    /// The close code's documented name.
    pub fn name(self) -> &'static str {
        match self {
            Close::GoingAway => "going away",
            Close::Unauthorized => "unauthorized",
            Close::ProtocolError => "protocol error",
            Close::Forbidden => "forbidden",
            Close::NotFound => "not found",
            Close::TooSlow => "too slow",
            Close::MessageTooBig => "message too big",
            Close::Timeout => "timed out",
            Close::ServerError => "server error",
            Close::TooManyConnections => "too many connections",
            Close::Revoked => "revoked",
        }
    }

    /// The close reason for a code, if it is one of ours.
    pub fn from_code(code: u16) -> Option<Close> {
        [
            Close::GoingAway,
            Close::Unauthorized,
            Close::ProtocolError,
            Close::Forbidden,
            Close::NotFound,
            Close::TooSlow,
            Close::MessageTooBig,
            Close::Timeout,
            Close::ServerError,
            Close::TooManyConnections,
            Close::Revoked,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}
