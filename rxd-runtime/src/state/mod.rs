//! The state model: layer descriptors, flat instances, and the two
//! transformations between a nested state tree and its flat instances.
//!
//! A state tree (`Board` with `columns: Vec<Column>` with `cards: Vec<Card>`)
//! is split into *layers*, one per type that derives
//! [`ContextState`](crate::ContextState). Each value of a layer becomes one
//! [`FlatInstance`]: its plain fields as serde serializes them, its nested
//! layer fields replaced by keys, identified by `(_type, key)`.
//!
//! Flattening works on the `serde_json::Value` that serde produces, guided by
//! the [`Layer`] descriptors that the derive builds. Every serde attribute on
//! plain fields is therefore honored for free: the flat instance holds exactly
//! what serde wrote.

mod flat;
mod key;
mod layer;
pub mod ts;

pub use flat::{flatten, flatten_value, rebuild, rebuild_value, FlatInstance, StateError};
pub use key::{InstanceId, Key};
pub use layer::{Cardinality, FieldType, Layer, LayerField, ParentLink, Relation, WritableField};

use serde::{de::DeserializeOwned, Serialize};

/// A type that is one layer of a state tree.
///
/// Derive it with `#[derive(ContextState)]`; the derive builds the [`Layer`]
/// descriptor from the struct's fields and serde attributes.
pub trait ContextState: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The descriptor of this layer, built once.
    fn layer() -> &'static Layer;
}
