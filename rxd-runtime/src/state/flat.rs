use std::collections::{HashMap, HashSet};

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::{Cardinality, ContextState, InstanceId, Key, Layer};

/// One instance of a layer, flat: plain fields as serde wrote them, nested
/// layers replaced by keys (`columns: [3, 4]`, `owner: 7`, `null`).
///
/// Serializes as the wire object: `_type`, `_v`, then the fields.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatInstance {
    /// `(_type, key)`.
    pub id: InstanceId,
    /// The version of the change that wrote this value (`_v`).
    pub version: u64,
    /// The fields, without `_type` and `_v`.
    pub fields: Map<String, Value>,
}

impl Serialize for FlatInstance {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.fields.len() + 2))?;
        map.serialize_entry("_type", &*self.id.type_name)?;
        map.serialize_entry("_v", &self.version)?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl FlatInstance {
    /// Parses a wire object (`_type`, `_v`, fields) given the key field of
    /// its layer.
    pub fn from_wire(mut object: Map<String, Value>, key_field: &str) -> Option<FlatInstance> {
        let type_name = match object.remove("_type")? {
            Value::String(s) => s,
            _ => return None,
        };
        let version = object.remove("_v").and_then(|v| v.as_u64()).unwrap_or(0);
        let key = Key::from_json(object.get(key_field)?)?;
        Some(FlatInstance {
            id: InstanceId::new(type_name, key),
            version,
            fields: object,
        })
    }
}

/// What went wrong turning a tree into instances or back.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// serde could not serialize or deserialize the value.
    #[error("serde: {0}")]
    Serde(#[from] serde_json::Error),
    /// The value of a layer did not serialize to a JSON object.
    #[error("{layer} did not serialize to a JSON object")]
    NotAnObject {
        /// The layer's Rust name.
        layer: &'static str,
    },
    /// The key field is missing or not an integer or string.
    #[error("{layer}.{field}: the key must be an integer or a string")]
    BadKey {
        /// The layer's Rust name.
        layer: &'static str,
        /// The key field.
        field: String,
    },
    /// A relation field does not hold what its cardinality says.
    #[error("{layer}.{field}: expected {expected}")]
    BadRelation {
        /// The layer's Rust name.
        layer: &'static str,
        /// The relation field.
        field: String,
        /// What was expected.
        expected: &'static str,
    },
    /// Rebuilding met a key with no instance.
    #[error("missing instance {0}")]
    Missing(InstanceId),
    /// Rebuilding met an instance inside itself.
    #[error("instance {0} contains itself")]
    Cycle(InstanceId),
}

/// Flattens a tree into its instances, parents before children; an instance
/// that appears twice (a shared owner) is emitted once.
pub fn flatten<S: ContextState>(root: &S, version: u64) -> Result<Vec<FlatInstance>, StateError> {
    flatten_value(S::layer(), serde_json::to_value(root)?, version)
}

/// [`flatten`] for a value already serialized to JSON.
pub fn flatten_value(
    layer: &'static Layer,
    value: Value,
    version: u64,
) -> Result<Vec<FlatInstance>, StateError> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    flatten_into(layer, value, version, &mut out, &mut seen)?;
    Ok(out)
}

fn object_key(layer: &Layer, object: &Map<String, Value>) -> Result<Key, StateError> {
    object
        .get(&layer.key_field)
        .and_then(Key::from_json)
        .ok_or_else(|| StateError::BadKey {
            layer: layer.rust_name,
            field: layer.key_field.clone(),
        })
}

fn flatten_into(
    layer: &'static Layer,
    value: Value,
    version: u64,
    out: &mut Vec<FlatInstance>,
    seen: &mut HashSet<InstanceId>,
) -> Result<Key, StateError> {
    let Value::Object(mut object) = value else {
        return Err(StateError::NotAnObject {
            layer: layer.rust_name,
        });
    };
    let key = object_key(layer, &object)?;
    let mut children: Vec<(&'static Layer, Value)> = Vec::new();
    for (name, relation) in layer.relations() {
        let target = (relation.target)();
        let bad = |expected| StateError::BadRelation {
            layer: layer.rust_name,
            field: name.to_owned(),
            expected,
        };
        let nested = object.get_mut(name).map(Value::take).unwrap_or(Value::Null);
        let keys = match (relation.cardinality, nested) {
            (Cardinality::Many, Value::Array(items)) => {
                let mut keys = Vec::with_capacity(items.len());
                for item in items {
                    let child = item.as_object().ok_or_else(|| bad("a list of objects"))?;
                    keys.push(object_key(target, child)?.to_json());
                    children.push((target, item));
                }
                Value::Array(keys)
            }
            (Cardinality::Optional, Value::Null) => Value::Null,
            (Cardinality::One | Cardinality::Optional, item @ Value::Object(_)) => {
                let child = item.as_object().ok_or_else(|| bad("an object"))?;
                let child_key = object_key(target, child)?.to_json();
                children.push((target, item));
                child_key
            }
            (Cardinality::Many, _) => return Err(bad("a list")),
            (Cardinality::One, _) => return Err(bad("an object")),
            (Cardinality::Optional, _) => return Err(bad("an object or null")),
        };
        object.insert(name.to_owned(), keys);
    }
    let id = InstanceId::new(layer.type_name.clone(), key.clone());
    if seen.insert(id.clone()) {
        out.push(FlatInstance {
            id,
            version,
            fields: object,
        });
        for (target, child) in children {
            flatten_into(target, child, version, out, seen)?;
        }
    }
    Ok(key)
}

/// Rebuilds the nested tree of `root` from flat instances.
pub fn rebuild<S: ContextState>(
    root: &Key,
    instances: &HashMap<InstanceId, FlatInstance>,
) -> Result<S, StateError> {
    Ok(serde_json::from_value(rebuild_value(
        S::layer(),
        root,
        instances,
    )?)?)
}

/// [`rebuild`] to JSON, without deserializing.
pub fn rebuild_value(
    layer: &'static Layer,
    root: &Key,
    instances: &HashMap<InstanceId, FlatInstance>,
) -> Result<Value, StateError> {
    let mut path = Vec::new();
    rebuild_into(layer, root, instances, &mut path)
}

fn rebuild_into(
    layer: &'static Layer,
    key: &Key,
    instances: &HashMap<InstanceId, FlatInstance>,
    path: &mut Vec<InstanceId>,
) -> Result<Value, StateError> {
    let id = InstanceId::new(layer.type_name.clone(), key.clone());
    if path.contains(&id) {
        return Err(StateError::Cycle(id));
    }
    let instance = instances
        .get(&id)
        .ok_or_else(|| StateError::Missing(id.clone()))?;
    let mut object = instance.fields.clone();
    path.push(id);
    for (name, relation) in layer.relations() {
        let target = (relation.target)();
        let bad = |expected| StateError::BadRelation {
            layer: layer.rust_name,
            field: name.to_owned(),
            expected,
        };
        let nested = match object.get(name).unwrap_or(&Value::Null) {
            Value::Null if relation.cardinality == Cardinality::Optional => Value::Null,
            Value::Array(keys) if relation.cardinality == Cardinality::Many => {
                let mut items = Vec::with_capacity(keys.len());
                for k in keys {
                    let k = Key::from_json(k).ok_or_else(|| bad("a list of keys"))?;
                    items.push(rebuild_into(target, &k, instances, path)?);
                }
                Value::Array(items)
            }
            k if relation.cardinality != Cardinality::Many => {
                let k = Key::from_json(k).ok_or_else(|| bad("a key"))?;
                rebuild_into(target, &k, instances, path)?
            }
            _ => return Err(bad("a list of keys")),
        };
        object.insert(name.to_owned(), nested);
    }
    path.pop();
    Ok(Value::Object(object))
}
