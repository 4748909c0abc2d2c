//! What a topic connection shows: its own token and grants, live.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A token: devices and dashboards each hold one. The connection's state
/// is its token, so a grant an operator changes shows at once.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Token {
    pub id: i64,
    pub name: String,
    /// At most this many open connections across every process; `None`
    /// for no cap of its own.
    pub max_connections: Option<i64>,
    pub grants: Vec<Grant>,
}

/// What a token may do with the topics a pattern matches.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Grant {
    pub id: i64,
    #[rxd(parent = Token::grants)]
    pub token_id: i64,
    pub pattern: String,
    pub access: Access,
}

/// `read`: subscribe. `read-write`: subscribe and publish.
#[derive(Serialize, Deserialize, rxd::TypeScript, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    Read,
    ReadWrite,
}

/// One message published to a topic.
#[derive(Serialize, Deserialize, rxd::TypeScript, Clone, Debug, PartialEq)]
pub struct Publication {
    pub topic: String,
    pub payload: serde_json::Value,
    /// The publishing token's name.
    pub from: String,
    /// Milliseconds since the Unix epoch, on the publishing server.
    pub at: i64,
}

/// A subscription an operator's change took away.
#[derive(Serialize, Deserialize, rxd::TypeScript, Clone, Debug, PartialEq)]
pub struct Dropped {
    pub pattern: String,
    pub reason: String,
}

/// Per connection: its subscriptions and the last publication of each
/// topic they matched.
#[derive(Serialize, Deserialize, rxd::TypeScript, Clone, Debug, Default, PartialEq)]
pub struct Feed {
    pub subscriptions: Vec<String>,
    pub latest: BTreeMap<String, Publication>,
    /// How many publications this connection received.
    pub received: u64,
    /// Subscriptions taken away by a grant change, most recent last (at
    /// most 20 kept).
    pub dropped: Vec<Dropped>,
}
