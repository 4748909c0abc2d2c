//! Brokers move change events between server processes and give every
//! event its version. The hub of each process receives every event, in one
//! order, through its [`EventSink`].
//!
//! [`MemoryBroker`] (the default) serves one process. `RedisBroker`
//! (feature `redis`) serves several processes that share a Redis server.

mod memory;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "redis")]
pub use self::redis::{RedisBroker, RedisConfig};
pub use memory::MemoryBroker;

use std::sync::Arc;

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

/// Receives every change event of the deployment, in version order.
pub trait EventSink: Send + Sync + 'static {
    /// Called once per event, never concurrently, in version order.
    ///
    /// An event may be empty: a broker that joins a running deployment (or
    /// resyncs) delivers an empty event with the deployment's current
    /// version, so that what the sink builds next starts from it.
    fn deliver(&self, event: Arc<ChangeEvent>);

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

    /// Sets this process's sink. Called once, by the hub.
    fn attach(&self, sink: Arc<dyn EventSink>);

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
