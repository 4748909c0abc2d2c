//! The anchors one connection shows: one for most channels, a list that
//! changes at run time for list channels (`state = Vec<T>`). All of them
//! feed one queue, so the connection writes deltas in the hub's order.

use std::sync::Arc;

use tracing::Instrument;

use super::frames::{self, Frame};
use super::Ending;
use crate::app::AppInner;
use crate::channel::{At, Channel, Load, LoadError};
use crate::hub::{queue, Feed, FeedSignals, Hub, Initial, Subscription};
use crate::state::{ContextState, InstanceId, Key};

pub(super) struct Anchors {
    feed: Feed,
    /// Deltas of every anchor, in the order the hub applied them.
    pub(super) frames: queue::Receiver<Frame>,
    list: bool,
    /// One subscription per anchor, in the order the client shows them.
    shown: Vec<Subscription>,
}

impl Anchors {
    pub(super) fn new(capacity: usize, list: bool) -> Anchors {
        let (feed, frames) = Feed::new(capacity);
        Anchors {
            feed,
            frames,
            list,
            // A single-anchor channel, the common case, holds one for its
            // life: growing from empty would reserve four.
            shown: if list {
                Vec::new()
            } else {
                Vec::with_capacity(1)
            },
        }
    }

    pub(super) fn signals(&self) -> &Arc<FeedSignals> {
        self.feed.signals()
    }

    /// The root of the first anchor shown.
    pub(super) fn first(&self) -> Option<&InstanceId> {
        self.shown.first().map(Subscription::anchor)
    }

    /// Whether an anchor shown holds the instance `id`.
    pub(super) fn hold(&self, hub: &Hub, id: &InstanceId) -> bool {
        self.shown
            .iter()
            .any(|s| hub.instance_in(s.anchor(), id).is_some())
    }

    fn position(&self, key: &Key) -> Option<usize> {
        self.shown.iter().position(|s| &s.anchor().key == key)
    }

    pub(super) fn shows(&self, key: &Key) -> bool {
        self.position(key).is_some()
    }

    /// The roots of the anchors shown, in order, for a list's messages.
    fn list(&self) -> Vec<&InstanceId> {
        self.shown.iter().map(Subscription::anchor).collect()
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
        if self.shows(&key) {
            return Ok(false);
        }
        let layer = <C::State as ContextState>::layer();
        let anchor = InstanceId::new(layer.type_name.clone(), key);
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
            At::Start => self.shown.insert(0, subscription),
            At::End => self.shown.push(subscription),
        }
        Ok(true)
    }

    /// The initial state's frames: the one anchor's snapshot, or every
    /// listed anchor's `instances` frames (shared with every connection of
    /// that anchor) followed by one `ready` with the list. The snapshots
    /// are sent once and taken here, so that a connection does not pin the
    /// encoded state of the version it joined at (the hub drops its cached
    /// copy on the anchor's next change; ~300 KB for a 1,000-instance
    /// tree), nor its own copy of the frame list when its `ready` was
    /// re-encoded.
    pub(super) fn initial_frames(&mut self) -> Vec<Frame> {
        let snapshots = self
            .shown
            .iter_mut()
            .map(|s| (std::mem::take(&mut s.snapshot), s.version));
        if !self.list {
            return snapshots
                .flat_map(|(snapshot, _)| snapshot.to_vec())
                .collect();
        }
        let mut frames = Vec::new();
        let mut version = 0;
        for (snapshot, subscription_version) in snapshots {
            // Each snapshot ends with its own anchor's `ready`.
            let instances = snapshot.split_last().map_or(&[][..], |(_, rest)| rest);
            frames.extend(instances.iter().cloned());
            version = version.max(subscription_version);
        }
        frames.push(frames::list_ready(&self.list(), version));
        frames
    }

    /// The `anchors` frame after `key` was added: the list with the new
    /// anchor's state.
    pub(super) fn added_frame(&self, key: &Key) -> Frame {
        let instances = self
            .position(key)
            .map_or(&[][..], |i| &self.shown[i].instances[..]);
        frames::anchors(&self.list(), instances)
    }

    /// Unsubscribes from the anchor `key`; `None` when it was not shown,
    /// else the `anchors` frame with the new list.
    pub(super) fn remove(&mut self, key: &Key) -> Option<Frame> {
        let position = self.position(key)?;
        self.shown.remove(position);
        Some(frames::anchors(&self.list(), &[]))
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
