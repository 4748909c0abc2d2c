//! The chat's state: one room is one channel context.

use serde::{Deserialize, Serialize};

/// A room as every member's window shows it: the latest messages and who is
/// here now.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Room {
    pub id: i64,
    pub name: String,
    /// The latest messages, oldest first: the last `window` at load, then
    /// each new one; the oldest leave the state (not the database) as new
    /// ones arrive. Older ones come from the `history` action.
    pub messages: Vec<Message>,
    /// One entry per open connection in the room, on any process.
    pub members: Vec<Member>,
}

/// One message, stored in the database.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Message {
    pub id: i64,
    #[rxd(parent = Room::messages)]
    pub room_id: i64,
    pub author: User,
    pub body: String,
    /// The id the sending client chose: a retry with the same id is the
    /// same message, and the sender's window matches its pending copy by it.
    pub client_id: String,
    /// Milliseconds since the Unix epoch.
    pub sent_at: i64,
}

/// One open connection in a room: a user with two tabs is two members, and
/// the browser's presence hook shows each user once.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Member {
    /// The connection's id (process id and a counter): unique across
    /// processes, so a join and a leave never race over one instance.
    #[rxd(key)]
    pub connection: String,
    #[rxd(parent = Room::members)]
    pub room_id: i64,
    pub user: User,
    pub typing: bool,
}

/// A chat user: the principal of a token, and a message's author.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
}
