//! A room connection for the tests: `rxd::client::Session` with the
//! panics a test wants instead of errors.

#![allow(dead_code)] // each test file uses its own part

use std::time::Duration;

use chat::state::Room;
use rxd::client::{CallError, Session, SessionError};
use rxd::ActionError;
use serde_json::Value;

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(10);

/// One connection to a room, with its state.
pub struct Peer {
    pub session: Session<Room>,
}

impl Peer {
    /// Connects to `{base}/ws/rooms/{room}` and reads the initial state
    /// (its own member arrives after it, as a delta).
    pub async fn open(base: &str, room: i64, token: &str) -> Peer {
        Peer::connect(base, room, token)
            .await
            .unwrap_or_else(|code| panic!("{token} could not enter room {room}: closed {code}"))
    }

    /// Connects and reads the initial state, or returns the close code.
    pub async fn connect(base: &str, room: i64, token: &str) -> Result<Peer, u16> {
        match Session::connect(&format!("{base}/ws/rooms/{room}"), token).await {
            Ok(session) => Ok(Peer { session }),
            Err(SessionError::Closed { code, .. }) => Err(code),
            Err(other) => panic!("connect: {other}"),
        }
    }

    /// The room as this client holds it.
    pub fn room(&self) -> Room {
        self.session.state().expect("rebuild").expect("a room")
    }

    /// Reads and applies messages until `done` holds for the room.
    pub async fn until(&mut self, done: impl Fn(&Room) -> bool) -> Room {
        let held = |s: &Session<Room>| s.state().ok().flatten().is_some_and(|room| done(&room));
        if let Err(error) = self.session.wait_for(held, WAIT).await {
            panic!("waiting for the room ({error}); it is {:#?}", self.room());
        }
        self.room()
    }

    /// Calls an action and returns its reply (its deltas are applied
    /// first); only an error answer is an `Err`.
    pub async fn call(&mut self, action: &str, args: Vec<Value>) -> Result<Value, ActionError> {
        match self.session.call(action, args).await {
            Ok(value) => Ok(value),
            Err(CallError::Action(error)) => Err(error),
            Err(other) => panic!("{action}: {other}"),
        }
    }

    /// Closes the socket normally.
    pub async fn close(self) {
        self.session.close().await.expect("close");
    }
}

/// The users present in a room, by name, each once, sorted.
pub fn present(room: &Room) -> Vec<String> {
    let mut names: Vec<String> = room.members.iter().map(|m| m.user.name.clone()).collect();
    names.sort();
    names.dedup();
    names
}
