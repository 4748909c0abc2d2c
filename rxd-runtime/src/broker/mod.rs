//! Brokers move events between server processes and give every event its
//! version. The hub of each process receives every event, in one order,
//! through its [`EventSink`]: change events (what a committed batch changed)
//! and control events (system messages, consumer events), which share one
//! sequence so that every process sees both in the same order.
//!
//! [`MemoryBroker`] (the default) serves one process. `RedisBroker`
//! (feature `redis`) serves several processes that share a Redis server.

mod history;
mod memory;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "redis")]
pub use self::redis::{RedisBroker, RedisConfig};
pub use history::{History, HistoryLimits};
pub use memory::MemoryBroker;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::channel::BoxFuture;
use crate::state::{FlatInstance, InstanceId};

/// What a committed batch changed, before it has a version.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    /// Saved instances, parents before children; `_v` is filled in by the
    /// broker.
    pub saved: Vec<FlatInstance>,
    /// Deleted instances.
    pub deleted: Vec<InstanceId>,
}

impl ChangeSet {
    /// Whether the set changes nothing.
    pub fn is_empty(&self) -> bool {
        self.saved.is_empty() && self.deleted.is_empty()
    }
}

/// A change set with its version, as every process receives it.
#[derive(Debug)]
pub struct ChangeEvent {
    /// Deployment-wide, strictly increasing.
    pub version: u64,
    /// Saved instances, each with `version` as `_v`.
    pub saved: Vec<Arc<FlatInstance>>,
    /// Deleted instances.
    pub deleted: Vec<InstanceId>,
}

/// An event that changes no state but must reach every process, in the
/// same order as change events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ControlEvent {
    /// A message for every connection of the deployment.
    System(SystemMessage),
    /// An event for the consumers of `kind` on the connections that joined
    /// `group` or one of `also`, each connection once.
    Group {
        /// The group the connections joined (`ctx.join(group)`).
        group: String,
        /// Further groups (`Hub::send_event_to_groups`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        also: Vec<String>,
        /// Which `#[consumer("kind")]` method receives it.
        #[serde(rename = "type")]
        kind: String,
        /// The event, as serde serialized it.
        event: Value,
    },
    /// Close every connection of a principal (4030).
    Disconnect {
        /// The principal's id (`Authenticator::principal_id`).
        principal: String,
    },
    /// Close every connection that authenticated with a token (4030).
    RevokeToken {
        /// The token's SHA-256 in hex (`rxd::auth::token_hash`).
        token_hash: String,
    },
    /// Run `connect` again for every connection of a principal; a refusal
    /// closes it (4003 or 4004).
    Recheck {
        /// The principal's id (`Authenticator::principal_id`).
        principal: String,
    },
}

/// A message from the operators to every connected client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemMessage {
    /// How the client should treat it.
    pub level: SystemLevel,
    /// Text for people.
    pub message: String,
}

/// The kind of a [`SystemMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemLevel {
    /// For information.
    Info,
    /// Something may go wrong soon.
    Warning,
    /// The server is going down for maintenance: clients reconnect, with
    /// backoff, to whichever process serves them next.
    Maintenance,
}

impl std::str::FromStr for SystemLevel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "info" => Ok(SystemLevel::Info),
            "warning" => Ok(SystemLevel::Warning),
            "maintenance" => Ok(SystemLevel::Maintenance),
            other => Err(format!(
                "unknown level {other:?}: expected info, warning or maintenance"
            )),
        }
    }
}

impl ChangeEvent {
    /// An event that changes nothing: where a process starts reading, a
    /// resync, or the place a control event takes in the sequence.
    pub fn empty(version: u64) -> ChangeEvent {
        ChangeEvent {
            version,
            saved: Vec::new(),
            deleted: Vec::new(),
        }
    }
}

/// Receives every event of the deployment, in version order.
pub trait EventSink: Send + Sync + 'static {
    /// Called once per event, never concurrently, in version order.
    ///
    /// An event may be empty: a broker that joins a running deployment (or
    /// resyncs) delivers an empty event with the deployment's current
    /// version, so that what the sink builds next starts from it.
    fn deliver(&self, event: Arc<ChangeEvent>);

    /// Called once per control event, in the same sequence as
    /// [`deliver`](EventSink::deliver) (never concurrently with it).
    /// `version` is the event's place in that sequence.
    fn control(&self, version: u64, event: Arc<ControlEvent>);

    /// The broker lost events that this process should have received (its
    /// connection was down longer than the history it can replay, or the
    /// shared server lost data). Everything built from earlier events is
    /// suspect: drop it, and make whoever holds a copy reload. Called
    /// between deliveries, never concurrently with them; the next
    /// delivery carries the version to start from.
    fn resync(&self);
}

/// Moves change events between processes.
pub trait Broker: Send + Sync + 'static {
    /// Gives the change set a version and delivers it to every process's
    /// sink. Resolves once the event is ordered and delivered to this
    /// process's sink. An error means the change may reach no one: the
    /// broker then makes sure every process resyncs once it can.
    fn publish(&self, changes: ChangeSet) -> BoxFuture<'_, Result<u64, BrokerError>>;

    /// Orders a control event and delivers it to every process's sink.
    /// Resolves once it is ordered and delivered to this process's sink.
    /// An error means it may reach no process; nothing depends on it, so
    /// no resync follows.
    fn publish_control(&self, event: ControlEvent) -> BoxFuture<'_, Result<u64, BrokerError>>;

    /// Sets this process's sink. Called once, by the hub.
    fn attach(&self, sink: Arc<dyn EventSink>);

    /// The events after version `after`, for a client that resumes from
    /// it (see [`History`]). A broker without history answers
    /// [`History::Beyond`], and its resuming clients get a full state.
    fn history(&self, after: u64) -> BoxFuture<'_, Result<History, BrokerError>> {
        let _ = after;
        Box::pin(std::future::ready(Ok(History::Beyond)))
    }

    /// Where per-principal connection limits and revoked tokens are kept
    /// for the whole deployment. `None` (the default): in this process's
    /// memory, which is right for a broker that serves one process.
    fn admission(&self) -> Option<Arc<dyn crate::limits::Admission>> {
        None
    }

    /// How many times this broker lost its server and reconnected, for the
    /// metrics. A broker with no server to lose keeps the default, 0.
    fn reconnects(&self) -> u64 {
        0
    }
}

/// The broker could not order or deliver an event.
#[derive(Debug, thiserror::Error)]
#[error("broker: {0}")]
pub struct BrokerError(pub String);
