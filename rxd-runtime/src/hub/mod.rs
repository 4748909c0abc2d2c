//! The hub: where writes enter ([`Batch`]) and where change events meet the
//! hot anchors of this process.
//!
//! Every change event of the deployment reaches [`Hub`] through the broker.
//! The hub finds the hot anchors it touches through a reverse index
//! (instance → anchors), updates their flat caches, and queues one frame per
//! anchor to each subscribed connection. Frames with the same content are
//! encoded once per event and shared, whatever the number of anchors and
//! connections. Cold anchors are not touched: their next connect loads them.

mod anchor;
mod batch;
mod control;
mod history;
mod layers;
mod lookup;
pub(crate) mod queue;
mod revoke;
mod signal;
mod watch;

pub use batch::{Batch, CommitError};
pub use control::SendError;

pub(crate) use control::{Inbox, Notice};
pub use layers::LayerNameCollision;
pub(crate) use revoke::{Order, Orders};
pub(crate) use signal::Signal;

pub(crate) use layers::LayerRegistry;
pub(crate) use watch::Watch;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Weak};

use indexmap::IndexMap;
use parking_lot::Mutex;
use serde_json::Value;

use self::anchor::{AnchorChange, AnchorState};
use crate::app::Limits;
use crate::broker::{Broker, ChangeEvent, ControlEvent, EventSink, History};
use crate::channel::LoadError;
use crate::connection::frames::{self, Frame};
use crate::state::{flatten_value, InstanceId, Layer};

/// The write side of rxd, and the owner of this process's hot anchors.
/// Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    pub(crate) inner: Arc<HubInner>,
}

pub(crate) struct HubInner {
    pub(crate) broker: Arc<dyn Broker>,
    layers: LayerRegistry,
    limits: Limits,
    state: Mutex<HubState>,
    mailboxes: control::Mailboxes,
    /// Connection limits and revoked tokens.
    pub(crate) gate: crate::limits::Gate,
    /// The app's metrics; the hub outlives every connection that counts.
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
}

#[derive(Default)]
struct HubState {
    /// The version of the last event applied.
    applied: u64,
    anchors: HashMap<InstanceId, HotAnchor>,
    /// Instance → the hot anchors whose state contains it.
    index: HashMap<InstanceId, Vec<InstanceId>>,
    /// Events that arrived while a cold load ran, by load id.
    loads: HashMap<u64, Vec<Arc<ChangeEvent>>>,
    next_id: u64,
    /// How many times the broker made this hub resync: a cold load that
    /// spans one may have missed events, and fails.
    resyncs: u64,
    /// Anchors being loaded cold, each with the receiver that tells when.
    in_flight: HashMap<InstanceId, tokio::sync::watch::Receiver<()>>,
    /// List connections with auto-update, by the layer type they show.
    watchers: HashMap<Arc<str>, Vec<watch::Watcher>>,
}

struct HotAnchor {
    state: AnchorState,
    /// Subscription id → the connection's feed. Keyed so that a
    /// disconnect is one `swap_remove`: scanning a list made a disconnect
    /// storm on a busy anchor quadratic, under the hub's lock.
    subscribers: IndexMap<u64, Feed>,
    /// The initial-state frames for `state.version`, built on first use.
    snapshot: Option<Arc<[Frame]>>,
    /// Counts the times the anchor was left without subscribers: an idle
    /// timer drops the anchor only if no one came and left since it started.
    idle_generation: u64,
    /// What left the anchor lately, for clients that resume.
    tombstones: history::Tombstones,
}

/// Where the hub queues one connection's frames, whatever the number of
/// anchors it shows (a list channel shows many): one queue, so that the
/// connection's writes stay in the order the hub applied events.
#[derive(Clone)]
pub(crate) struct Feed {
    frames: queue::Sender<Frame>,
    signals: Arc<FeedSignals>,
}

/// The initial state a subscription starts with.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Initial {
    /// Encoded frames (`instances`, `ready`), shared by every connection
    /// of the anchor's version; only what was missed after `resume_from`
    /// when the hub can tell.
    Frames { resume_from: Option<u64> },
    /// The flat instances, for a list's `anchors` message, which carries
    /// them inside the new list.
    Instances,
}

/// What a connection's [`Feed`] tells it besides frames.
#[derive(Default)]
pub(crate) struct FeedSignals {
    /// The connection fell more than `max_pending_frames` behind and was
    /// dropped from its anchors.
    pub(crate) overflow: Signal,
    /// A resync dropped an anchor it showed: it must reload.
    pub(crate) dropped: Signal,
}

impl Feed {
    /// A connection's queue: the feed the hub writes to, and its receiver.
    pub(crate) fn new(capacity: usize) -> (Feed, queue::Receiver<Frame>) {
        let (frames, rx) = queue::bounded(capacity);
        let feed = Feed {
            frames,
            signals: Arc::default(),
        };
        (feed, rx)
    }

    pub(crate) fn signals(&self) -> &Arc<FeedSignals> {
        &self.signals
    }

    /// Queues a frame; `false` when the connection is gone or too far
    /// behind (and then told so).
    fn offer(&self, frame: Frame) -> bool {
        match self.frames.try_send(frame) {
            Ok(()) => true,
            Err(queue::SendError::Full) => {
                self.signals.overflow.raise();
                false
            }
            Err(queue::SendError::Closed) => false,
        }
    }
}

/// A connection's place on a hot anchor. Dropping it unsubscribes.
pub(crate) struct Subscription {
    hub: Hub,
    id: u64,
    anchor: InstanceId,
    /// The initial state: `instances` frames and `ready`. Deltas after it
    /// go to the connection's [`Feed`], in order. Empty for
    /// [`Initial::Instances`]. The connection takes it once it is sent.
    pub(crate) snapshot: Arc<[Frame]>,
    /// For [`Initial::Instances`], the anchor's instances, root first.
    pub(crate) instances: Vec<Arc<crate::state::FlatInstance>>,
    /// The version the initial state is at.
    pub(crate) version: u64,
}

impl Subscription {
    /// The root instance of the anchor this subscription shows.
    pub(crate) fn anchor(&self) -> &InstanceId {
        &self.anchor
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.anchor, self.id);
    }
}

struct Sink(Weak<HubInner>);

impl EventSink for Sink {
    fn deliver(&self, event: Arc<ChangeEvent>) {
        if let Some(inner) = self.0.upgrade() {
            Hub { inner }.apply(event);
        }
    }

    fn resync(&self) {
        if let Some(inner) = self.0.upgrade() {
            Hub { inner }.resync_all();
        }
    }

    fn control(&self, _version: u64, event: Arc<ControlEvent>) {
        if let Some(inner) = self.0.upgrade() {
            Hub { inner }.deliver_control(&event);
        }
    }
}

/// Removes a cold load's event buffer if the load ends early (an error, a
/// panic, a dropped connection).
/// A cold load in progress: connections that want the same anchor wait for
/// it. Dropping it (however the load ends) wakes them.
struct InFlight<'a> {
    hub: &'a Hub,
    anchor: &'a InstanceId,
    _done: tokio::sync::watch::Sender<()>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.hub.inner.state.lock().in_flight.remove(self.anchor);
    }
}

struct LoadGuard<'a> {
    hub: &'a Hub,
    id: u64,
}

impl LoadGuard<'_> {
    /// Takes the buffered events under the caller's lock and disarms the
    /// guard (whose drop would take the lock again).
    fn finish(self, state: &mut HubState) -> Vec<Arc<ChangeEvent>> {
        let buffered = state.loads.remove(&self.id).unwrap_or_default();
        std::mem::forget(self);
        buffered
    }
}

impl Drop for LoadGuard<'_> {
    fn drop(&mut self) {
        self.hub.inner.state.lock().loads.remove(&self.id);
    }
}

impl Hub {
    pub(crate) fn new(broker: Arc<dyn Broker>, layers: LayerRegistry, limits: Limits) -> Hub {
        let admission = broker
            .admission()
            .unwrap_or_else(|| Arc::new(crate::limits::MemoryAdmission::default()));
        let hub = Hub {
            inner: Arc::new(HubInner {
                broker,
                layers,
                limits,
                state: Mutex::new(HubState::default()),
                mailboxes: control::Mailboxes::default(),
                gate: crate::limits::Gate::new(admission),
                metrics: Arc::default(),
            }),
        };
        hub.inner
            .broker
            .attach(Arc::new(Sink(Arc::downgrade(&hub.inner))));
        hub
    }

    /// Starts a batch of writes.
    pub fn batch(&self) -> Batch {
        Batch::new(self.clone())
    }

    /// How many anchors are hot in this process.
    pub fn hot_anchors(&self) -> usize {
        self.inner.state.lock().anchors.len()
    }

    /// How many times the broker lost events and made this hub drop its
    /// hot anchors.
    pub(crate) fn resyncs(&self) -> u64 {
        self.inner.state.lock().resyncs
    }

    /// Drops every hot anchor, because the broker lost events that may have
    /// changed them. Each subscriber's frame queue closes, so its
    /// connection ends with close 1001 (going away) after the frames
    /// already queued, and the client reconnects and loads afresh. Cold
    /// loads running now fail (close 4011; the client reconnects too).
    fn resync_all(&self) {
        let mut state = self.inner.state.lock();
        state.resyncs += 1;
        state.index.clear();
        let dropped = std::mem::take(&mut state.anchors);
        drop(state);
        for feed in dropped.values().flat_map(|hot| hot.subscribers.values()) {
            feed.signals.dropped.raise();
        }
        if !dropped.is_empty() {
            tracing::warn!(anchors = dropped.len(), "hub: resync; hot anchors dropped");
        }
    }

    /// Applies one change event to every hot anchor it touches.
    fn apply(&self, event: Arc<ChangeEvent>) {
        let layers = &self.inner.layers;
        let mut guard = self.inner.state.lock();
        let state = &mut *guard;
        state.applied = event.version;
        self.inner.metrics.events_applied.inc();
        for buffer in state.loads.values_mut() {
            buffer.push(event.clone());
        }

        let mut candidates: HashSet<&InstanceId> = HashSet::new();
        let mut candidate_anchors = |id: &InstanceId| {
            if let Some(anchors) = state.index.get(id) {
                candidates.extend(anchors.iter());
            }
        };
        for instance in &event.saved {
            candidate_anchors(&instance.id);
            if let Some(link) = layers
                .get(&instance.id.type_name)
                .and_then(|l| l.parent.as_ref())
            {
                if let Some(key) = instance
                    .fields
                    .get(&link.field)
                    .and_then(crate::Key::from_json)
                {
                    candidate_anchors(&InstanceId::new((link.parent)().type_name.clone(), key));
                }
            }
        }
        for id in &event.deleted {
            candidate_anchors(id);
        }
        let candidates: Vec<InstanceId> = candidates.into_iter().cloned().collect();

        let mut encoded: HashMap<(Vec<InstanceId>, Vec<InstanceId>), Frame> = HashMap::new();
        for anchor_id in candidates {
            let Some(hot) = state.anchors.get_mut(&anchor_id) else {
                continue;
            };
            let change = hot.state.apply(&event, layers);
            if change.is_empty() {
                continue;
            }
            hot.snapshot = None;
            hot.tombstones.record(
                event.version,
                &change.removed,
                &self.inner.limits.resume_history,
            );
            reindex(&mut state.index, &anchor_id, &change);
            let content = (
                change.changed.iter().map(|i| i.id.clone()).collect(),
                change.removed.clone(),
            );
            let frame = encoded
                .entry(content)
                .or_insert_with(|| frames::delta(event.version, &change.changed, &change.removed))
                .clone();
            hot.subscribers.retain(|_, feed| feed.offer(frame.clone()));
        }
        self.offer_to_watchers(state, &event);
    }

    /// Subscribes to the hot anchor `anchor`, or loads it cold with `load`
    /// first. A client that held the state at version `resume_from` gets
    /// only what it missed when the hub can tell (see `history.rs`), else
    /// the full state.
    pub(crate) async fn subscribe<F, Fut>(
        &self,
        layer: &'static Layer,
        anchor: InstanceId,
        initial: Initial,
        feed: &Feed,
        load: F,
    ) -> Result<Subscription, LoadError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value, LoadError>>,
    {
        // If this ends before a subscriber joined (an error, the client
        // left while history was fetched), the anchor it may have made hot
        // gets the idle timer that an unsubscribe would start.
        struct Idle<'a>(&'a Hub, &'a InstanceId);
        impl Drop for Idle<'_> {
            fn drop(&mut self) {
                self.0.unsubscribe(self.1, 0);
            }
        }
        let _idle = Idle(self, &anchor);
        let resume_from = match initial {
            Initial::Frames { resume_from } => resume_from,
            Initial::Instances => None,
        };
        let mut load = Some(load);
        let mut history: Option<History> = None;
        let mut fetches = 0;
        loop {
            let hot = {
                let mut state = self.inner.state.lock();
                if state.anchors.contains_key(&anchor) {
                    // The history may end before what this process has
                    // applied; fetch it once more, then settle for a full
                    // state.
                    let resume = resume_from.map(|from| (from, history.as_ref(), fetches >= 2));
                    if let Some(subscription) =
                        self.join(&mut state, &anchor, resume, initial, feed)
                    {
                        return Ok(subscription);
                    }
                    true
                } else {
                    false
                }
            };
            if hot {
                let from = resume_from.unwrap_or_default();
                history = Some(match self.inner.broker.history(from).await {
                    Ok(history) => history,
                    Err(error) => {
                        tracing::debug!(%error, "hub: no broker history for a resume; full state");
                        History::Beyond
                    }
                });
                fetches += 1;
            } else if load.is_some() {
                self.load_cold(layer, &anchor, &mut load).await?;
            } else {
                return Err(LoadError::Internal(
                    format!("{anchor} was dropped (a resync) while a client joined; it reconnects")
                        .into(),
                ));
            }
        }
    }

    /// Makes `anchor` hot with the state `load` returns, unless it is hot
    /// already. While another connection loads it, waits for that load
    /// instead (a connect storm on a cold anchor runs one `load`, not one
    /// per connection) and leaves `load` untaken, so that if that load
    /// failed, the caller's next round runs its own.
    ///
    /// A cold load registers an event buffer before it starts, loads without
    /// holding any lock, then replays what arrived meanwhile: a change that
    /// commits during the load is never lost.
    async fn load_cold<F, Fut>(
        &self,
        layer: &'static Layer,
        anchor: &InstanceId,
        load: &mut Option<F>,
    ) -> Result<(), LoadError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value, LoadError>>,
    {
        let started = {
            let mut state = self.inner.state.lock();
            if state.anchors.contains_key(anchor) {
                return Ok(());
            }
            match state.in_flight.get(anchor) {
                Some(done) => Err(done.clone()),
                None => Ok(self.start_load(&mut state, anchor)),
            }
        };
        let (load_id, start, resyncs, _flight) = match started {
            Ok(started) => started,
            Err(mut done) => {
                // Resolves when the loader drops its sender: success,
                // failure or cancellation alike.
                let _ = done.changed().await;
                return Ok(());
            }
        };
        let Some(load) = load.take() else {
            return Ok(());
        };
        let guard = LoadGuard {
            hub: self,
            id: load_id,
        };
        let value = load().await?;
        let instances = flatten_value(layer, value, start)?;
        if instances.first().map(|i| &i.id) != Some(anchor) {
            return Err(LoadError::Internal(
                format!(
                    "load for {anchor} returned {}",
                    instances
                        .first()
                        .map_or_else(|| "nothing".to_owned(), |i| i.id.to_string())
                )
                .into(),
            ));
        }

        let mut state = self.inner.state.lock();
        let buffered = guard.finish(&mut state);
        // A load that spans a resync may have read the database before
        // events this process never received; an anchor made hot since
        // comes from a later load and may be joined.
        if state.resyncs != resyncs && !state.anchors.contains_key(anchor) {
            return Err(LoadError::Internal(
                format!("the broker lost events while {anchor} loaded; the client reloads").into(),
            ));
        }
        if !state.anchors.contains_key(anchor) {
            let mut anchor_state = AnchorState::new(anchor.clone(), start, instances);
            for event in &buffered {
                anchor_state.apply(event, &self.inner.layers);
            }
            for id in anchor_state.instances.keys() {
                state
                    .index
                    .entry(id.clone())
                    .or_default()
                    .push(anchor.clone());
            }
            let applied = state.applied;
            state.anchors.insert(
                anchor.clone(),
                HotAnchor {
                    state: anchor_state,
                    subscribers: IndexMap::new(),
                    snapshot: None,
                    idle_generation: 0,
                    tombstones: history::Tombstones::new(applied),
                },
            );
        }
        Ok(())
    }

    /// Registers a cold load of `anchor` under the hub's lock: its event
    /// buffer and the flight others wait for.
    fn start_load<'a>(
        &'a self,
        state: &mut HubState,
        anchor: &'a InstanceId,
    ) -> (u64, u64, u64, InFlight<'a>) {
        let (sender, receiver) = tokio::sync::watch::channel(());
        state.in_flight.insert(anchor.clone(), receiver);
        let flight = InFlight {
            hub: self,
            anchor,
            _done: sender,
        };
        state.next_id += 1;
        let id = state.next_id;
        state.loads.insert(id, Vec::new());
        (id, state.applied, state.resyncs, flight)
    }

    /// Adds a subscriber to a hot anchor and returns its snapshot, under the
    /// same lock, so that no delta falls between the two. `resume`: the
    /// version the client resumes from, the broker's history if fetched,
    /// and whether to settle for a full state rather than ask for (fresher)
    /// history, which is the only case that returns `None`.
    fn join(
        &self,
        state: &mut HubState,
        anchor: &InstanceId,
        resume: Option<(u64, Option<&History>, bool)>,
        initial: Initial,
        feed: &Feed,
    ) -> Option<Subscription> {
        let applied = state.applied;
        state.next_id += 1;
        let id = state.next_id;
        let hot = state
            .anchors
            .get_mut(anchor)
            .expect("join is called for hot anchors only");
        let limits = &self.inner.limits;
        let layers = &self.inner.layers;
        let plan = match resume {
            Some((from, history, settle)) => history::plan(
                &hot.state,
                &mut hot.tombstones,
                &limits.resume_history,
                layers,
                applied,
                from,
                history,
                settle,
            ),
            None => history::Plan::Full,
        };
        let mut instances = Vec::new();
        let snapshot: Arc<[Frame]> = match plan {
            history::Plan::NeedHistory => return None,
            history::Plan::Full if matches!(initial, Initial::Instances) => {
                instances = hot.state.ordered(layers);
                Arc::new([])
            }
            history::Plan::Missed {
                changed,
                deleted,
                exact,
            } => {
                let from = resume.map_or(0, |(from, _, _)| from);
                tracing::debug!(%anchor, from, applied, exact, changed = changed.len(), deleted = deleted.len(), "hub: resume");
                let mut frames = vec![frames::resume(from, &deleted)];
                frames.extend(frames::snapshot(
                    &hot.state.root,
                    applied,
                    &changed,
                    limits.initial_frame_bytes,
                ));
                frames.into()
            }
            history::Plan::Full => {
                let full = match &hot.snapshot {
                    Some(frames) => frames.clone(),
                    None => {
                        let frames: Arc<[Frame]> = frames::snapshot(
                            &hot.state.root,
                            hot.state.version,
                            &hot.state.ordered(layers),
                            limits.initial_frame_bytes,
                        )
                        .into();
                        hot.snapshot = Some(frames.clone());
                        frames
                    }
                };
                // `ready.v` is what this process has applied, not the
                // anchor's last change: a quiet anchor's clients then
                // resume from a recent version.
                if hot.state.version == applied {
                    full
                } else {
                    let mut frames = full.to_vec();
                    if let Some(ready) = frames.last_mut() {
                        *ready = frames::ready(&hot.state.root, applied);
                    }
                    frames.into()
                }
            }
        };
        hot.subscribers.insert(id, feed.clone());
        Some(Subscription {
            hub: self.clone(),
            id,
            anchor: anchor.clone(),
            snapshot,
            instances,
            version: applied,
        })
    }

    /// Removes a subscriber. An anchor left with none stays hot for
    /// `idle_anchor_ttl` (a reload or a reconnect finds it without a
    /// database load), then is dropped with its index entries.
    fn unsubscribe(&self, anchor: &InstanceId, id: u64) {
        let mut state = self.inner.state.lock();
        let Some(hot) = state.anchors.get_mut(anchor) else {
            return;
        };
        hot.subscribers.swap_remove(&id);
        if !hot.subscribers.is_empty() {
            return;
        }
        let ttl = self.inner.limits.idle_anchor_ttl;
        let runtime = tokio::runtime::Handle::try_current();
        match runtime {
            Ok(runtime) if !ttl.is_zero() => {
                hot.idle_generation += 1;
                let generation = hot.idle_generation;
                let (hub, anchor) = (self.clone(), anchor.clone());
                runtime.spawn(async move {
                    tokio::time::sleep(ttl).await;
                    let mut state = hub.inner.state.lock();
                    let still_idle = state.anchors.get(&anchor).is_some_and(|hot| {
                        hot.subscribers.is_empty() && hot.idle_generation == generation
                    });
                    if still_idle {
                        drop_anchor(&mut state, &anchor);
                    }
                });
            }
            _ => drop_anchor(&mut state, anchor),
        }
    }
}

/// Forgets a hot anchor and its reverse-index entries.
fn drop_anchor(state: &mut HubState, anchor: &InstanceId) {
    let Some(hot) = state.anchors.remove(anchor) else {
        return;
    };
    for instance in hot.state.instances.keys() {
        if let Some(anchors) = state.index.get_mut(instance) {
            anchors.retain(|a| a != anchor);
            if anchors.is_empty() {
                state.index.remove(instance);
            }
        }
    }
}

/// Keeps the reverse index true after a change to one anchor.
fn reindex(
    index: &mut HashMap<InstanceId, Vec<InstanceId>>,
    anchor: &InstanceId,
    change: &AnchorChange,
) {
    for instance in &change.changed {
        let anchors = index.entry(instance.id.clone()).or_default();
        if !anchors.contains(anchor) {
            anchors.push(anchor.clone());
        }
    }
    for id in &change.removed {
        if let Some(anchors) = index.get_mut(id) {
            anchors.retain(|a| a != anchor);
            if anchors.is_empty() {
                index.remove(id);
            }
        }
    }
}
