//! [`Session`]: one channel's connection with its state kept, calls
//! matched to their replies. What the generated Rust clients
//! (`rxd::codegen::generate_rust`) are a thin typed layer over.

use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{Client, ClientError, ClientState, ServerMessage};
use crate::broker::SystemMessage;
use crate::state::ContextState;
use crate::ActionError;

/// A channel that ended, or never started.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The socket or the protocol failed, or a wait timed out.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The server closed the channel (`docs/PROTOCOL.md` lists the codes:
    /// 4001 unauthorized, 4003 forbidden, 4004 not found, ...).
    #[error("the server closed the channel: {code} {reason}")]
    Closed {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
}

/// A failed action call.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The server answered an error (`code`, `message`, `details`); the
    /// channel goes on.
    #[error("{}: {}", .0.code, .0.message)]
    Action(ActionError),
    /// The channel ended before the reply: the action may or may not have
    /// run.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// An argument did not serialize.
    #[error("an argument did not serialize: {0}")]
    Argument(serde_json::Error),
    /// The reply is not of the action's type: client and server disagree.
    #[error("the reply does not have the action's type: {0}")]
    Reply(serde_json::Error),
}

impl From<ClientError> for CallError {
    fn from(error: ClientError) -> Self {
        CallError::Session(SessionError::Client(error))
    }
}

/// What [`Session::next_change`] saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The state changed (a delta, a list's new anchors, a resync).
    State,
    /// The connection's runtime state, whole.
    Runtime(Value),
    /// A message from the operators.
    System(SystemMessage),
}

/// One channel's connection: its state (anchor layer `S`), kept by the
/// protocol's rules, and typed calls.
pub struct Session<S> {
    client: Client,
    state: ClientState,
    runtime: Option<Value>,
    next_call: u64,
    _state: PhantomData<fn() -> S>,
}

/// An action argument as JSON.
pub fn arg<T: Serialize + ?Sized>(value: &T) -> Result<Value, CallError> {
    serde_json::to_value(value).map_err(CallError::Argument)
}

/// A route parameter as the server parses it: a string percent-encoded
/// (slashes too, unless `wildcard`), anything else as its JSON text.
pub fn segment<T: Serialize + ?Sized>(value: &T, wildcard: bool) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => {
            let mut out = String::with_capacity(text.len());
            for byte in text.bytes() {
                let keep = byte.is_ascii_alphanumeric()
                    || matches!(byte, b'-' | b'.' | b'_' | b'~')
                    || (wildcard && byte == b'/');
                if keep {
                    out.push(char::from(byte));
                } else {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            out
        }
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

impl<S: ContextState + DeserializeOwned> Session<S> {
    /// Connects to `url`, authenticates with `token` and reads the initial
    /// state. A refusal is [`SessionError::Closed`] with its code.
    pub async fn connect(url: &str, token: &str) -> Result<Session<S>, SessionError> {
        Session::start(Client::connect(url, token).await?).await
    }

    /// [`Session::connect`], with the token in an `Authorization: Bearer`
    /// header instead of the first message, as devices and other
    /// non-browser clients may.
    pub async fn connect_with_header(url: &str, token: &str) -> Result<Session<S>, SessionError> {
        Session::start(Client::connect_with_header(url, token).await?).await
    }

    async fn start(mut client: Client) -> Result<Session<S>, SessionError> {
        let mut state = ClientState::new::<S>();
        match client.read_initial_state(&mut state).await? {
            Some(ServerMessage::Closed { code, reason }) => {
                Err(SessionError::Closed { code, reason })
            }
            _ => Ok(Session {
                client,
                state,
                runtime: None,
                next_call: 1,
                _state: PhantomData,
            }),
        }
    }

    /// The nested state; `None` once the anchor was deleted.
    pub fn state(&self) -> Result<Option<S>, ClientError> {
        self.state.rebuild()
    }

    /// A list channel's anchors' states, in order.
    pub fn list(&self) -> Result<Vec<S>, ClientError> {
        self.state.rebuild_list()
    }

    /// The connection's runtime state, once the server sent it.
    pub fn runtime(&self) -> Option<&Value> {
        self.runtime.as_ref()
    }

    /// The flat state underneath (versions, instances).
    pub fn raw(&self) -> &ClientState {
        &self.state
    }

    /// Applies one message; `Some` when it is a change to report.
    fn apply(&mut self, message: ServerMessage) -> Result<Option<Change>, SessionError> {
        match message {
            ServerMessage::Closed { code, reason } => Err(SessionError::Closed { code, reason }),
            ServerMessage::Runtime(value) => {
                self.runtime = Some(value.clone());
                Ok(Some(Change::Runtime(value)))
            }
            ServerMessage::System(message) => Ok(Some(Change::System(message))),
            other => Ok(self.state.apply(&other)?.then_some(Change::State)),
        }
    }

    /// Waits for the next change, applying everything that comes.
    pub async fn next_change(&mut self) -> Result<Change, SessionError> {
        loop {
            let message = self.client.next().await?;
            if let Some(change) = self.apply(message)? {
                return Ok(change);
            }
        }
    }

    /// Waits until `done` holds for the state (checked now, then after each
    /// change), for at most `timeout`.
    pub async fn wait_for(
        &mut self,
        done: impl Fn(&Session<S>) -> bool,
        timeout: Duration,
    ) -> Result<(), SessionError> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.client.next_within(left).await?;
            self.apply(message)?;
        }
        Ok(())
    }

    /// Calls an action and waits for its reply, applying what comes first:
    /// the deltas an action caused arrive before its reply, so the state
    /// shows them when this returns.
    pub async fn call<T: DeserializeOwned>(
        &mut self,
        action: &str,
        args: Vec<Value>,
    ) -> Result<T, CallError> {
        let id = self.next_call;
        self.next_call += 1;
        self.client.call(id, action, args).await?;
        loop {
            match self.client.next().await? {
                ServerMessage::Reply { id: got, result } if got == id => {
                    let value = result.map_err(CallError::Action)?;
                    return serde_json::from_value(value).map_err(CallError::Reply);
                }
                other => {
                    self.apply(other)?;
                }
            }
        }
    }

    /// Closes the socket normally.
    pub async fn close(self) -> Result<(), ClientError> {
        self.client.close().await
    }
}
