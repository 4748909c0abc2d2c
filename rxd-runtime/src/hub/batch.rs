use std::collections::HashMap;

use tracing::Instrument;

use super::Hub;
use crate::broker::{BrokerError, ChangeSet};
use crate::state::{flatten, ContextState, FlatInstance, InstanceId, Key, StateError};

/// A deferred, deduplicated set of writes. Nothing is sent until
/// [`commit`](Batch::commit); a dropped batch sends nothing.
///
/// Commit it after the database transaction commits, so that clients never
/// see a change the database rolled back.
///
/// `save(&value)` writes the value and every layer nested in it: relation
/// lists are taken from the value as given. To change a row without its
/// children, save the leaf (a `Card`), not its parent.
#[must_use = "a batch sends nothing until it is committed"]
pub struct Batch {
    hub: Hub,
    saved: Vec<FlatInstance>,
    position: HashMap<InstanceId, usize>,
    deleted: Vec<InstanceId>,
}

/// A batch could not be committed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// A saved value could not be flattened.
    #[error(transparent)]
    State(#[from] StateError),
    /// The broker could not order the change.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

impl Batch {
    pub(super) fn new(hub: Hub) -> Batch {
        Batch {
            hub,
            saved: Vec::new(),
            position: HashMap::new(),
            deleted: Vec::new(),
        }
    }

    /// Upserts `value` and the layers nested in it. The last save of an
    /// instance in a batch wins; a new instance with a parent link is
    /// attached to its parent.
    pub fn save<S: ContextState>(&mut self, value: &S) -> Result<&mut Self, StateError> {
        for instance in flatten(value, 0)? {
            self.deleted.retain(|d| *d != instance.id);
            match self.position.get(&instance.id) {
                Some(&i) => self.saved[i] = instance,
                None => {
                    self.position.insert(instance.id.clone(), self.saved.len());
                    self.saved.push(instance);
                }
            }
        }
        Ok(self)
    }

    /// Deletes the instance of layer `S` with this key.
    pub fn delete<S: ContextState>(&mut self, key: impl Into<Key>) -> &mut Self {
        let id = InstanceId::new(S::layer().type_name.clone(), key);
        if let Some(i) = self.position.remove(&id) {
            self.saved.remove(i);
            for p in self.position.values_mut() {
                if *p > i {
                    *p -= 1;
                }
            }
        }
        if !self.deleted.contains(&id) {
            self.deleted.push(id);
        }
        self
    }

    /// Whether nothing was saved or deleted.
    pub fn is_empty(&self) -> bool {
        self.saved.is_empty() && self.deleted.is_empty()
    }

    /// Sends the batch as one change event. Returns its version, or `None`
    /// for an empty batch (which sends nothing).
    pub async fn commit(self) -> Result<Option<u64>, CommitError> {
        if self.is_empty() {
            return Ok(None);
        }
        let metrics = &self.hub.inner.metrics;
        let instances = (self.saved.len() + self.deleted.len()) as u64;
        let span = tracing::info_span!(
            "rxd.batch",
            saved = self.saved.len(),
            deleted = self.deleted.len(),
            version = tracing::field::Empty,
        );
        let changes = ChangeSet {
            saved: self.saved,
            deleted: self.deleted,
        };
        let started = std::time::Instant::now();
        let published = self
            .hub
            .inner
            .broker
            .publish(changes)
            .instrument(span.clone())
            .await;
        match &published {
            Ok(version) => {
                metrics.batches_committed.inc();
                metrics.batch_instances.add(instances);
                metrics.commit_seconds.observe(started.elapsed());
                span.record("version", version);
            }
            Err(_) => metrics.batches_failed.inc(),
        }
        Ok(Some(published?))
    }
}
