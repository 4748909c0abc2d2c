//! The anchors one connection shows: one for most channels, a list that
//! changes at run time for list channels (`state = Vec<T>`). All of them
//! feed one queue, so the connection writes deltas in the hub's order.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::Instrument;

use super::frames::{self, Frame};
use super::Ending;
use crate::app::AppInner;
use crate::channel::{At, Channel, Load, LoadError};
use crate::hub::{Feed, FeedSignals, Subscription};
use crate::state::{ContextState, InstanceId, Key};

pub(super) struct Anchors {
    feed: Feed,
    /// Deltas of every anchor, in the order the hub applied them.
    pub(super) frames: mpsc::Receiver<Frame>,
    list: bool,
    /// The anchors in the order the client shows them.
    order: Vec<InstanceId>,
    subscriptions: HashMap<InstanceId, Subscription>,
}

impl Anchors {
    pub(super) fn new(capacity: usize, list: bool) -> Anchors {
        let (feed, frames) = Feed::new(capacity, list);
        Anchors {
            feed,
            frames,
            list,
            order: Vec::new(),
            subscriptions: HashMap::new(),
        }
    }

    pub(super) fn signals(&self) -> &Arc<FeedSignals> {
        self.feed.signals()
    }

    /// The root of every anchor shown, in order.
    pub(super) fn ids(&self) -> &[InstanceId] {
        &self.order
    }

    pub(super) fn shows(&self, key: &Key) -> bool {
        self.order.iter().any(|id| &id.key == key)
    }

    /// Subscribes to the anchor `key`, loading it cold with the channel's
    /// `load` if no connection of this process shows it. Does nothing when
    /// it is shown already.
    pub(super) async fn join<C: Channel>(
        &mut self,
        app: &AppInner,
        channel: &C,
        key: Key,
        resume_from: Option<u64>,
        at: At,
    ) -> Result<Option<&Subscription>, LoadError> {
        let layer = <C::State as ContextState>::layer();
        let anchor = InstanceId::new(layer.type_name.clone(), key);
        if self.subscriptions.contains_key(&anchor) {
            return Ok(None);
        }
        let load = Load::new(app.data.clone());
        let subscription = app
            .hub
            .subscribe(layer, anchor.clone(), resume_from, &self.feed, || {
                async {
                    app.hub.inner.metrics.anchor_loads.inc();
                    let state = channel.rxd_load(&load, &anchor.key).await?;
                    serde_json::to_value(&state).map_err(LoadError::from)
                }
                .instrument(tracing::info_span!("rxd.load"))
            })
            .await?;
        match at {
            At::Start => self.order.insert(0, anchor.clone()),
            At::End => self.order.push(anchor.clone()),
        }
        Ok(Some(
            self.subscriptions.entry(anchor).or_insert(subscription),
        ))
    }

    /// The initial state's frames: the one anchor's snapshot, or every
    /// listed anchor's instances followed by a `ready` with the list.
    pub(super) fn initial_frames(&self, budget: usize) -> Vec<Frame> {
        if !self.list {
            return self
                .order
                .first()
                .and_then(|id| self.subscriptions.get(id))
                .map(|s| s.snapshot.to_vec())
                .unwrap_or_default();
        }
        let subscriptions = || {
            self.order
                .iter()
                .filter_map(|id| self.subscriptions.get(id))
        };
        let instances: Vec<_> = subscriptions()
            .flat_map(|s| s.instances.iter().cloned())
            .collect();
        let version = subscriptions().map(|s| s.version).max().unwrap_or_default();
        let mut out = Vec::new();
        if let Some(first) = self.order.first() {
            out = frames::snapshot(first, version, &instances, budget);
            // `snapshot` ends with a single anchor's `ready`.
            out.pop();
        }
        out.push(frames::list_ready(&self.order, version));
        out
    }

    /// The `anchors` frame after `key` was added: the list with the new
    /// anchor's state.
    pub(super) fn added_frame(&self, key: &Key) -> Frame {
        let instances = self
            .order
            .iter()
            .find(|id| &id.key == key)
            .and_then(|id| self.subscriptions.get(id))
            .map_or(&[][..], |s| &s.instances[..]);
        frames::anchors(&self.order, instances)
    }

    /// Unsubscribes from the anchor `key`; `None` when it was not shown,
    /// else the `anchors` frame with the new list.
    pub(super) fn remove(&mut self, key: &Key) -> Option<Frame> {
        let position = self.order.iter().position(|id| &id.key == key)?;
        let id = self.order.remove(position);
        self.subscriptions.remove(&id);
        Some(frames::anchors(&self.order, &[]))
    }
}

/// A failed load of one anchor, as the connection ends.
pub(super) fn load_failed(error: LoadError) -> Ending {
    use super::Close;
    match error {
        LoadError::NotFound => Ending::new(Close::NotFound, "not found"),
        LoadError::Internal(error) => {
            tracing::error!(%error, "load failed");
            Ending::new(Close::ServerError, "load failed")
        }
    }
}
