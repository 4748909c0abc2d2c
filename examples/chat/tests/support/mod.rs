//! A chat client for the tests: the protocol client with the room's state
//! applied as messages arrive.

#![allow(dead_code)] // each test file uses its own part

use std::time::Duration;

use chat::state::Room;
use rxd::client::{Client, ClientState, ServerMessage};
use rxd::ActionError;
use serde_json::Value;

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(10);

/// One connection to a room, with its state.
pub struct Peer {
    pub client: Client,
    pub state: ClientState,
    next_id: u64,
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
        let url = format!("{base}/ws/rooms/{room}");
        let mut client = Client::connect(&url, token).await.expect("connect");
        let mut state = ClientState::new::<Room>();
        match client
            .read_initial_state(&mut state)
            .await
            .expect("initial state")
        {
            Some(ServerMessage::Closed { code, .. }) => Err(code),
            Some(other) => panic!("unexpected {other:?}"),
            None => Ok(Peer {
                client,
                state,
                next_id: 1,
            }),
        }
    }

    /// The room as this client holds it.
    pub fn room(&self) -> Room {
        self.state
            .rebuild::<Room>()
            .expect("rebuild")
            .expect("a room")
    }

    /// Reads and applies messages until `done` holds for the room.
    pub async fn until(&mut self, done: impl Fn(&Room) -> bool) -> Room {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let room = self.room();
            if done(&room) {
                return room;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self
                .client
                .next_within(left)
                .await
                .unwrap_or_else(|e| panic!("waiting for the room ({e}); it is {room:#?}"));
            self.apply(&message);
        }
    }

    fn apply(&mut self, message: &ServerMessage) {
        if let ServerMessage::Closed { code, reason } = message {
            panic!("the server closed the socket: {code} {reason}");
        }
        self.state.apply(message).expect("apply");
    }

    /// Calls an action and returns its reply, applying what comes first
    /// (an action's deltas come before its reply).
    pub async fn call(&mut self, action: &str, args: Vec<Value>) -> Result<Value, ActionError> {
        let id = self.next_id;
        self.next_id += 1;
        self.client.call(id, action, args).await.expect("send");
        loop {
            let message = self.client.next_within(WAIT).await.expect("a reply");
            match message {
                ServerMessage::Reply { id: got, result } if got == id => return result,
                other => self.apply(&other),
            }
        }
    }

    /// Reads for `quiet` and returns how many deltas arrived.
    pub async fn deltas_within(&mut self, quiet: Duration) -> usize {
        let mut deltas = 0;
        while let Ok(message) = self.client.next_within(quiet).await {
            if matches!(message, ServerMessage::Delta { .. }) {
                deltas += 1;
            }
            self.apply(&message);
        }
        deltas
    }
}

/// The users present in a room, by name, each once, sorted.
pub fn present(room: &Room) -> Vec<String> {
    let mut names: Vec<String> = room.members.iter().map(|m| m.user.name.clone()).collect();
    names.sort();
    names.dedup();
    names
}
