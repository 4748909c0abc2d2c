//! Resume: what a client that held an anchor's state at version `from`
//! missed. `docs/PROTOCOL.md` ("Resume") has the wire side and
//! `docs/DESIGN.md` the rules; in short:
//!
//! - **Exact**, from the hot cache: when the cache has been hot (and its
//!   tombstones complete) since before `from`, the client missed exactly
//!   the instances whose `_v` is greater than `from` and the removals
//!   recorded after it.
//! - **From the broker's history**: otherwise, the events after `from`
//!   name what may have changed; the client receives the current value of
//!   each named instance that the anchor holds, what it needs to have every
//!   relation right, and `deleted` for named instances the anchor no longer
//!   holds. It may receive more than it missed, never less.
//! - **Full state**: beyond history, a version from the future, or history
//!   that does not reach what this process has applied.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use super::anchor::AnchorState;
use super::layers::LayerRegistry;
use crate::broker::{ChangeEvent, History, HistoryLimits};
use crate::state::{FlatInstance, InstanceId, Key};

/// The instances that left one hot anchor, with the version that removed
/// them, bounded by [`HistoryLimits`].
#[derive(Debug)]
pub(super) struct Tombstones {
    entries: VecDeque<(u64, Instant, InstanceId)>,
    /// Every removal after this version is recorded: the version at which
    /// the cache became hot, raised when old entries are forgotten.
    floor: u64,
}

impl Tombstones {
    pub(super) fn new(floor: u64) -> Tombstones {
        Tombstones {
            entries: VecDeque::new(),
            floor,
        }
    }

    pub(super) fn record(&mut self, version: u64, removed: &[InstanceId], limits: &HistoryLimits) {
        let now = Instant::now();
        for id in removed {
            self.entries.push_back((version, now, id.clone()));
        }
        self.trim(now, limits);
    }

    fn trim(&mut self, now: Instant, limits: &HistoryLimits) {
        while self.entries.len() > limits.max_events
            || self
                .entries
                .front()
                .is_some_and(|(_, at, _)| now.duration_since(*at) > limits.max_age)
        {
            match self.entries.pop_front() {
                // Removals at this version may be partly forgotten.
                Some((version, _, _)) => self.floor = self.floor.max(version),
                None => break,
            }
        }
    }

    /// Whether every removal after `from` is still recorded.
    fn complete_since(&mut self, from: u64, limits: &HistoryLimits) -> bool {
        self.trim(Instant::now(), limits);
        from >= self.floor
    }

    fn after(&self, from: u64) -> impl Iterator<Item = &InstanceId> {
        self.entries
            .iter()
            .filter(move |(v, _, _)| *v > from)
            .map(|(_, _, id)| id)
    }
}

/// What a resuming client receives.
pub(super) enum Plan {
    /// The whole state, as for a first connection.
    Full,
    /// Only what the client may have missed.
    Missed {
        changed: Vec<Arc<FlatInstance>>,
        deleted: Vec<InstanceId>,
        /// Whether it came from the hot cache (exactly what was missed)
        /// rather than from the broker's history.
        exact: bool,
    },
    /// The broker's history is needed (or a fresher one: it ends before
    /// `applied`).
    NeedHistory,
}

/// Decides how to answer a client that resumes from `from`, given the
/// anchor's cache and tombstones, the version this process has applied,
/// and the broker's history if it was fetched. `settle`: never ask for
/// history again (answer a full state instead).
#[allow(clippy::too_many_arguments)]
pub(super) fn plan(
    state: &AnchorState,
    tombstones: &mut Tombstones,
    limits: &HistoryLimits,
    layers: &LayerRegistry,
    applied: u64,
    from: u64,
    history: Option<&History>,
    settle: bool,
) -> Plan {
    if from > applied {
        // A version this process has not reached: the client saw a newer
        // process, or made the number up. Its state cannot be checked.
        return Plan::Full;
    }
    if tombstones.complete_since(from, limits) {
        return exact(state, tombstones, layers, from);
    }
    match history {
        Some(History::Beyond) => Plan::Full,
        Some(History::Events(events)) => {
            let reaches = events.last().map_or(from, |e| e.version) >= applied;
            if reaches {
                from_events(state, events, layers, applied)
            } else if settle {
                Plan::Full
            } else {
                Plan::NeedHistory
            }
        }
        None if settle => Plan::Full,
        None => Plan::NeedHistory,
    }
}

/// From the hot cache: the instances written after `from` (their `_v`) and
/// the ones removed after it that are not back.
fn exact(state: &AnchorState, tombstones: &Tombstones, layers: &LayerRegistry, from: u64) -> Plan {
    let changed: Vec<Arc<FlatInstance>> = state
        .ordered(layers)
        .into_iter()
        .filter(|i| i.version > from)
        .collect();
    let mut seen = HashSet::new();
    let deleted = tombstones
        .after(from)
        .filter(|id| !state.instances.contains_key(*id) && seen.insert((*id).clone()))
        .cloned()
        .collect();
    Plan::Missed {
        changed,
        deleted,
        exact: true,
    }
}

/// From the events after `from` (up to at least `applied`; later ones reach
/// the client as deltas). An event names instances: the ones it saved or
/// deleted, and the parents its saved instances link to. The client gets:
///
/// - each saved or deleted instance the anchor holds, with its whole
///   subtree (it may have moved in from elsewhere with children the client
///   never saw); the root only with its direct relations, or every resume
///   would be a full state;
/// - each linked parent the anchor holds (its relation list changed);
/// - every instance of a parent layer of a saved child that has a parent
///   link (it may have moved out of a parent the event does not name, whose
///   relation list changed), and of every layer with a relation to a
///   deleted instance's layer (the delete edited the holder's relation);
/// - `deleted` for each named instance the anchor does not hold.
fn from_events(
    state: &AnchorState,
    events: &[Arc<ChangeEvent>],
    layers: &LayerRegistry,
    applied: u64,
) -> Plan {
    let mut named: HashSet<InstanceId> = HashSet::new();
    // Parents that saved children link to: their relation list changed, not
    // their subtree.
    let mut linked: HashSet<InstanceId> = HashSet::new();
    let mut parent_types: HashSet<Arc<str>> = HashSet::new();
    for event in events.iter().filter(|e| e.version <= applied) {
        for instance in &event.saved {
            named.insert(instance.id.clone());
            let Some(link) = layers
                .get(&instance.id.type_name)
                .and_then(|l| l.parent.as_ref())
            else {
                continue;
            };
            let parent = (link.parent)();
            parent_types.insert(parent.type_name.clone());
            if let Some(key) = instance.fields.get(&link.field).and_then(Key::from_json) {
                linked.insert(InstanceId::new(parent.type_name.clone(), key));
            }
        }
        for id in &event.deleted {
            named.insert(id.clone());
            // Whoever held it had its relation edited.
            for layer in layers.all() {
                if layer
                    .relations()
                    .any(|(_, r)| (r.target)().type_name == id.type_name)
                {
                    parent_types.insert(layer.type_name.clone());
                }
            }
        }
    }

    let mut include: HashSet<InstanceId> = HashSet::new();
    let mut expanded: HashSet<InstanceId> = HashSet::new();
    let mut queue: Vec<(InstanceId, bool)> = named
        .iter()
        .filter(|id| state.instances.contains_key(*id))
        .map(|id| (id.clone(), *id != state.root))
        .collect();
    while let Some((id, deep)) = queue.pop() {
        include.insert(id.clone());
        if !expanded.insert(id.clone()) {
            continue;
        }
        let Some(instance) = state.instances.get(&id) else {
            continue;
        };
        let Some(layer) = layers.get(&id.type_name) else {
            continue;
        };
        for (name, relation) in layer.relations() {
            let target = (relation.target)().type_name.clone();
            for key in instance
                .fields
                .get(name)
                .map(super::anchor::relation_keys)
                .unwrap_or_default()
            {
                let child = InstanceId::new(target.clone(), key);
                if deep {
                    queue.push((child, true));
                } else {
                    // The root's direct relations: included, not descended.
                    include.insert(child);
                }
            }
        }
    }
    let changed: Vec<Arc<FlatInstance>> = state
        .ordered(layers)
        .into_iter()
        .filter(|i| {
            include.contains(&i.id)
                || linked.contains(&i.id)
                || parent_types.contains(&i.id.type_name)
        })
        .collect();
    // A linked parent the anchor does not hold was never the client's.
    let mut deleted: Vec<InstanceId> = named
        .into_iter()
        .filter(|id| !state.instances.contains_key(id))
        .collect();
    deleted.sort_by_key(ToString::to_string);
    Plan::Missed {
        changed,
        deleted,
        exact: false,
    }
}
