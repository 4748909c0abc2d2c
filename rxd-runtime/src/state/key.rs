use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The key of an instance: an integer or a string (UUIDs, slugs), as the key
/// field serializes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Key {
    /// An integer key (`id: i64`, `u32`, ...).
    Int(i64),
    /// A string key (`String`, `Uuid`, ...).
    Str(Arc<str>),
}

impl Key {
    /// Reads a key from the JSON that a key field serialized to.
    ///
    /// Returns `None` for anything but an integer that fits `i64` or a string.
    pub fn from_json(value: &Value) -> Option<Key> {
        match value {
            Value::Number(n) => n.as_i64().map(Key::Int),
            Value::String(s) => Some(Key::Str(Arc::from(s.as_str()))),
            _ => None,
        }
    }

    /// The key as JSON, as it appears in a relation list.
    pub fn to_json(&self) -> Value {
        match self {
            Key::Int(i) => Value::from(*i),
            Key::Str(s) => Value::from(&**s),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(i) => write!(f, "{i}"),
            Key::Str(s) => f.write_str(s),
        }
    }
}

macro_rules! int_keys {
    ($($t:ty),*) => {$(
        impl From<$t> for Key {
            fn from(value: $t) -> Self {
                Key::Int(i64::from(value))
            }
        }
    )*};
}
int_keys!(i8, i16, i32, i64, u8, u16, u32);

impl From<String> for Key {
    fn from(value: String) -> Self {
        Key::Str(Arc::from(value))
    }
}

impl From<&str> for Key {
    fn from(value: &str) -> Self {
        Key::Str(Arc::from(value))
    }
}

impl From<&String> for Key {
    fn from(value: &String) -> Self {
        Key::Str(Arc::from(value.as_str()))
    }
}

/// The identity of an instance: its type name (`_type`) and its key.
///
/// The same `InstanceId` under two anchors is one instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InstanceId {
    /// The instance type name (`_type`).
    #[serde(rename = "_type")]
    pub type_name: Arc<str>,
    /// The instance key.
    pub key: Key,
}

impl InstanceId {
    /// An instance id from a type name and a key.
    pub fn new(type_name: impl Into<Arc<str>>, key: impl Into<Key>) -> Self {
        InstanceId {
            type_name: type_name.into(),
            key: key.into(),
        }
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.type_name, self.key)
    }
}
