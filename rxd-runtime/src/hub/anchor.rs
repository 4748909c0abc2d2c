//! One hot anchor: the flat instances of its state and how a change event
//! changes them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::layers::LayerRegistry;
use crate::broker::ChangeEvent;
use crate::state::{Cardinality, FlatInstance, InstanceId, Key, Layer};

/// What one event did to one anchor: the instances to send (current values)
/// and the ones that left the anchor's state.
#[derive(Debug, Default)]
pub(crate) struct AnchorChange {
    pub(crate) changed: Vec<Arc<FlatInstance>>,
    pub(crate) removed: Vec<InstanceId>,
}

impl AnchorChange {
    pub(crate) fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }
}

/// The flat state of one anchor.
#[derive(Debug)]
pub(crate) struct AnchorState {
    pub(crate) root: InstanceId,
    pub(crate) version: u64,
    pub(crate) instances: HashMap<InstanceId, Arc<FlatInstance>>,
}

/// An ordered set of instance ids: what an event touched, in first-touch
/// order.
#[derive(Default)]
struct Touched {
    order: Vec<InstanceId>,
    seen: HashSet<InstanceId>,
}

impl Touched {
    fn insert(&mut self, id: &InstanceId) {
        if self.seen.insert(id.clone()) {
            self.order.push(id.clone());
        }
    }
}

impl AnchorState {
    pub(crate) fn new(root: InstanceId, version: u64, instances: Vec<FlatInstance>) -> Self {
        AnchorState {
            root,
            version,
            instances: instances
                .into_iter()
                .map(|i| (i.id.clone(), Arc::new(i)))
                .collect(),
        }
    }

    /// The parent instance that `instance`'s parent link names, if the
    /// layer has one and the field holds a key.
    fn linked_parent(layer: &Layer, instance: &FlatInstance) -> Option<(InstanceId, &'static str)> {
        let link = layer.parent.as_ref()?;
        let parent_layer = (link.parent)();
        let key = Key::from_json(instance.fields.get(&link.field)?)?;
        let relation = parent_layer
            .field(&link.relation)
            .map(|f| f.name.as_str())?;
        Some((
            InstanceId::new(parent_layer.type_name.clone(), key),
            relation,
        ))
    }

    /// Rewrites one relation field of an instance in the cache.
    fn edit_relation(
        &mut self,
        parent: &InstanceId,
        relation: &str,
        version: u64,
        edit: impl FnOnce(&mut Value) -> bool,
    ) -> bool {
        let Some(current) = self.instances.get(parent) else {
            return false;
        };
        let mut updated = FlatInstance::clone(current);
        let changed = edit(
            updated
                .fields
                .entry(relation.to_owned())
                .or_insert(Value::Null),
        );
        if changed {
            updated.version = version;
            self.instances.insert(parent.clone(), Arc::new(updated));
        }
        changed
    }

    /// Applies one change event. Saved instances belong to this anchor when
    /// they are already in it, when a parent link names an instance in it,
    /// or when an instance saved into it by this event refers to them.
    pub(crate) fn apply(&mut self, event: &ChangeEvent, layers: &LayerRegistry) -> AnchorChange {
        let mut touched = Touched::default();
        let mut referenced: HashSet<InstanceId> = HashSet::new();
        let mut removed: Vec<InstanceId> = Vec::new();
        let mut shape_changed = false;

        for instance in &event.saved {
            let Some(layer) = layers.get(&instance.id.type_name) else {
                continue;
            };
            let previous = self.instances.get(&instance.id).cloned();
            if previous
                .as_ref()
                .is_some_and(|p| p.fields == instance.fields)
            {
                // Saved again as it was (an assignee saved with its card):
                // nothing to send, and no client object to renew.
                continue;
            }
            let new_parent = Self::linked_parent(layer, instance);
            let belongs = previous.is_some()
                || referenced.contains(&instance.id)
                || new_parent
                    .as_ref()
                    .is_some_and(|(p, _)| self.instances.contains_key(p));
            if !belongs {
                continue;
            }
            let old_parent = previous
                .as_deref()
                .and_then(|p| Self::linked_parent(layer, p));
            if previous.is_none() || old_parent != new_parent {
                let key = instance.id.key.to_json();
                if let Some((parent, relation)) = old_parent.filter(|_| previous.is_some()) {
                    if self.edit_relation(&parent, relation, event.version, |list| {
                        remove_key(list, &key)
                    }) {
                        touched.insert(&parent);
                    }
                }
                if let Some((parent, relation)) = &new_parent {
                    if self.edit_relation(parent, relation, event.version, |list| {
                        append_key(list, &key)
                    }) {
                        touched.insert(parent);
                    }
                }
                shape_changed = true;
            }
            referenced.extend(children(layer, instance));
            let relations_differ = layer.relations().any(|(name, _)| {
                previous.as_ref().and_then(|p| p.fields.get(name)) != instance.fields.get(name)
            });
            shape_changed |= relations_differ;
            self.instances.insert(instance.id.clone(), instance.clone());
            touched.insert(&instance.id);
        }

        for id in &event.deleted {
            if self.instances.remove(id).is_none() {
                continue;
            }
            shape_changed = true;
            removed.push(id.clone());
            self.detach_from_parents(id, event.version, layers, &mut touched);
        }

        if shape_changed {
            removed.extend(self.collect_unreachable(layers));
        }

        let gone: HashSet<&InstanceId> = removed.iter().collect();
        let changed = touched
            .order
            .iter()
            .filter(|id| !gone.contains(id))
            .filter_map(|id| self.instances.get(id).cloned())
            .collect::<Vec<_>>();
        let change = AnchorChange { changed, removed };
        if !change.is_empty() {
            self.version = event.version;
        }
        change
    }

    /// Removes a deleted instance's key from every relation that holds it.
    fn detach_from_parents(
        &mut self,
        id: &InstanceId,
        version: u64,
        layers: &LayerRegistry,
        touched: &mut Touched,
    ) {
        let key = id.key.to_json();
        let key_ref = &key;
        let holders: Vec<(InstanceId, String, Cardinality)> = self
            .instances
            .values()
            .filter_map(|instance| {
                let layer = layers.get(&instance.id.type_name)?;
                Some(layer.relations().filter_map(move |(name, relation)| {
                    let holds = (relation.target)().type_name == id.type_name
                        && instance.fields.get(name).is_some_and(|v| match v {
                            Value::Array(keys) => keys.contains(key_ref),
                            single => single == key_ref,
                        });
                    holds.then(|| (instance.id.clone(), name.to_owned(), relation.cardinality))
                }))
            })
            .flatten()
            .collect();
        for (parent, relation, cardinality) in holders {
            let edited =
                self.edit_relation(&parent, &relation, version, |value| match cardinality {
                    Cardinality::Many => remove_key(value, &key),
                    Cardinality::Optional => {
                        *value = Value::Null;
                        true
                    }
                    // A required relation cannot be emptied: it keeps the key
                    // until the app saves the parent with a new one, and the
                    // client treats a dangling key as absent.
                    Cardinality::One => false,
                });
            if edited {
                touched.insert(&parent);
            }
        }
    }

    /// Drops instances no longer reachable from the root and returns them.
    fn collect_unreachable(&mut self, layers: &LayerRegistry) -> Vec<InstanceId> {
        let reachable: HashSet<InstanceId> = self
            .ordered(layers)
            .into_iter()
            .map(|i| i.id.clone())
            .collect();
        let unreachable: Vec<InstanceId> = self
            .instances
            .keys()
            .filter(|id| !reachable.contains(*id))
            .cloned()
            .collect();
        for id in &unreachable {
            self.instances.remove(id);
        }
        unreachable
    }

    /// The instances reachable from the root, root first then
    /// breadth-first: a reproducible snapshot order.
    pub(crate) fn ordered(&self, layers: &LayerRegistry) -> Vec<Arc<FlatInstance>> {
        let mut out = Vec::with_capacity(self.instances.len());
        let mut seen = HashSet::new();
        let mut queue = std::collections::VecDeque::from([self.root.clone()]);
        while let Some(id) = queue.pop_front() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let Some(instance) = self.instances.get(&id) else {
                continue;
            };
            if let Some(layer) = layers.get(&id.type_name) {
                queue.extend(children(layer, instance));
            }
            out.push(instance.clone());
        }
        out
    }
}

/// The instances that `instance`'s relation fields name.
fn children<'a>(
    layer: &'static Layer,
    instance: &'a FlatInstance,
) -> impl Iterator<Item = InstanceId> + 'a {
    layer.relations().flat_map(move |(name, relation)| {
        let target = (relation.target)().type_name.clone();
        instance
            .fields
            .get(name)
            .into_iter()
            .flat_map(relation_keys)
            .map(move |key| InstanceId::new(target.clone(), key))
    })
}

/// The keys a relation field holds: a list, one key, or none for `null`.
pub(crate) fn relation_keys(value: &Value) -> Vec<Key> {
    match value {
        Value::Array(items) => items.iter().filter_map(Key::from_json).collect(),
        single => Key::from_json(single).into_iter().collect(),
    }
}

fn remove_key(list: &mut Value, key: &Value) -> bool {
    match list {
        Value::Array(items) => {
            let before = items.len();
            items.retain(|k| k != key);
            items.len() != before
        }
        _ => false,
    }
}

fn append_key(list: &mut Value, key: &Value) -> bool {
    match list {
        Value::Array(items) if !items.contains(key) => {
            items.push(key.clone());
            true
        }
        Value::Array(_) => false,
        // A one or optional relation is set to the new child.
        single if single != key => {
            *single = key.clone();
            true
        }
        _ => false,
    }
}
