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
use crate::hub::{Feed, FeedSignals, Initial, Subscription};
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
        let (feed, frames) = Feed::new(capacity);
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
    /// it is shown already (and then returns `false`).
    pub(super) async fn join<C: Channel>(
        &mut self,
        app: &AppInner,
        channel: &C,
        key: Key,
        initial: Initial,
        at: At,
    ) -> Result<bool, LoadError> {
        let layer = <C::State as ContextState>::layer();
        let anchor = InstanceId::new(layer.type_name.clone(), key);
        if self.subscriptions.contains_key(&anchor) {
            return Ok(false);
        }
        let load = Load::new(app.data.clone());
        let subscription = app
            .hub
            .subscribe(layer, anchor.clone(), initial, &self.feed, || {
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
        self.subscriptions.insert(anchor, subscription);
        Ok(true)
    }

    /// The initial state's frames: the one anchor's snapshot, or every
    /// listed anchor's `instances` frames (shared with every connection of
    /// that anchor) followed by one `ready` with the list.
    pub(super) fn initial_frames(&self) -> Vec<Frame> {
        let subscriptions = self
            .order
            .iter()
            .filter_map(|id| self.subscriptions.get(id));
        if !self.list {
            return subscriptions
                .flat_map(|s| s.snapshot.iter().cloned())
                .collect();
        }
        let mut frames = Vec::new();
        let mut version = 0;
        for subscription in subscriptions {
            // Each snapshot ends with its own anchor's `ready`.
            let instances = subscription
                .snapshot
                .split_last()
                .map_or(&[][..], |(_, rest)| rest);
            frames.extend(instances.iter().cloned());
            version = version.max(subscription.version);
        }
        frames.push(frames::list_ready(&self.order, version));
        frames
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
