//! Brokers move change events between server processes and give every
//! event its version. The hub of each process receives every event, in one
//! order, through its [`EventSink`].
//!
//! [`MemoryBroker`] (the default) serves one process.

mod memory;

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
    fn deliver(&self, event: Arc<ChangeEvent>);
}

/// Moves change events between processes.
pub trait Broker: Send + Sync + 'static {
    /// Gives the change set a version and delivers it to every process's
    /// sink. Resolves once the event is ordered (and, in this process,
    /// delivered).
    fn publish(&self, changes: ChangeSet) -> BoxFuture<'_, Result<u64, BrokerError>>;

    /// Sets this process's sink. Called once, by the hub.
    fn attach(&self, sink: Arc<dyn EventSink>);
}

/// The broker could not order or deliver an event.
#[derive(Debug, thiserror::Error)]
#[error("broker: {0}")]
pub struct BrokerError(pub String);
