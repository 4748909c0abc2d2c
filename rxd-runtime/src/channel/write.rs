//! Optimistic writes from the browser: which layers a channel lets the
//! browser save, create and delete (`#[rxd::channel(writable(...))]`), the
//! checked request the app's hooks and persistence code receive, and the
//! traits through which the app persists a write.
//!
//! The runtime checks every write in a fixed order before any app code
//! runs: declared for this type and operation, the instance (or, for a
//! create, the parent) belongs to this connection's anchor, and the payload
//! holds only `#[rxd(writable)]` fields whose values deserialize. Then the
//! channel's `can_save` / `can_create` / `can_delete` hook (deny when
//! absent), then the app's [`PersistSave`] / [`PersistCreate`] /
//! [`PersistDelete`] code with a [`Batch`] that rxd commits when it
//! returns `Ok`.

use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{ActionError, ChannelDescriptor, Ctx};
use crate::hub::Batch;
use crate::state::{ContextState, FieldType, Key, Layer};

/// What the browser asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOp {
    /// Change writable fields of an instance of the anchor.
    Save,
    /// Add an instance under a parent of the anchor.
    Create,
    /// Delete an instance of the anchor.
    Delete,
}

impl WriteOp {
    /// The name on the wire: `save`, `create`, `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteOp::Save => "save",
            WriteOp::Create => "create",
            WriteOp::Delete => "delete",
        }
    }
}

/// A layer a channel lets the browser write, and how.
#[derive(Debug, Clone, Copy)]
pub struct WriteDescriptor {
    /// The writable layer.
    pub layer: fn() -> &'static Layer,
    /// `save`: change writable fields of an instance.
    pub save: bool,
    /// `create`: add an instance under its `#[rxd(parent = ...)]` relation.
    pub create: bool,
    /// `delete`: delete an instance.
    pub delete: bool,
}

impl WriteDescriptor {
    /// Whether `op` is declared.
    pub fn allows(&self, op: WriteOp) -> bool {
        match op {
            WriteOp::Save => self.save,
            WriteOp::Create => self.create,
            WriteOp::Delete => self.delete,
        }
    }
}

/// A write that passed rxd's checks, as the channel's hooks and the app's
/// persistence code see it.
#[derive(Debug, Clone)]
pub struct Write {
    /// The operation.
    pub op: WriteOp,
    /// The layer's instance type name (`_type`).
    pub type_name: Arc<str>,
    /// The instance's key, for `save` and `delete`.
    pub key: Option<Key>,
    /// The parent's key, for `create`.
    pub parent: Option<Key>,
    /// The fields the browser sent (for `create`, with the parent field
    /// set to the parent's key).
    pub patch: Patch,
}

impl Write {
    /// Whether this write targets layer `S`.
    pub fn is<S: ContextState>(&self) -> bool {
        *self.type_name == *S::layer().type_name
    }
}

/// The writable fields a browser sent, each checked to deserialize as its
/// field's type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    fields: Map<String, Value>,
}

impl Patch {
    pub(crate) fn new(fields: Map<String, Value>) -> Patch {
        Patch { fields }
    }

    /// The fields, by serialized name.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// Whether the browser sent this field.
    pub fn contains(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// One field, deserialized; `Ok(None)` when the browser did not send
    /// it. An error (the app asked for another type than the field's) is
    /// `bad_field`, naming the field.
    pub fn get<T: DeserializeOwned>(&self, field: &str) -> Result<Option<T>, ActionError> {
        match self.fields.get(field) {
            None => Ok(None),
            Some(value) => serde_json::from_value(value.clone())
                .map(Some)
                .map_err(|error| bad_field(field, &error.to_string())),
        }
    }

    /// The whole patch as one type: a struct of `Option` fields for a
    /// save, or the new row for a create. A missing or bad field is an
    /// `invalid` error.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ActionError> {
        serde_json::from_value(Value::Object(self.fields.clone())).map_err(|error| {
            ActionError::new("invalid", error.to_string())
                .with_details(serde_json::json!({"reason": error.to_string()}))
        })
    }
}

/// `forbidden`: the write is not declared, targets an instance outside the
/// connection's anchor, or a hook denied it. The three look alike, so a
/// client learns nothing about instances it may not see.
pub fn forbidden() -> ActionError {
    ActionError::new("forbidden", "this write is not allowed")
}

/// `bad_field`: a field that is not writable, or a value that does not
/// deserialize; `details.field` names it.
pub fn bad_field(field: &str, reason: &str) -> ActionError {
    let shown: String = field.chars().take(64).collect();
    ActionError::new("bad_field", format!("{shown}: {reason}"))
        .with_details(serde_json::json!({"field": shown, "reason": reason}))
}

/// Persists a browser's `save` of layer `Self` through channel `C`.
///
/// Runs after every check and the channel's `can_save` hook. Write the
/// database in a transaction, commit it, put what changed into `batch`
/// (`batch.save(&card)`), and return `Ok`: rxd then commits the batch, and
/// the caller's reply follows its delta. An `Err` answers the browser,
/// which rolls the change back; nothing in `batch` is sent.
pub trait PersistSave<C>: ContextState {
    /// Applies `patch` to the instance with key `key`.
    fn save(
        channel: &C,
        ctx: &Ctx,
        key: Key,
        patch: Patch,
        batch: &mut Batch,
    ) -> impl Future<Output = Result<(), ActionError>> + Send;
}

/// Persists a browser's `create` of layer `Self` through channel `C`: a new
/// instance under the parent with key `parent` (the layer's
/// `#[rxd(parent = ...)]` relation). Returns the new instance's key, which
/// the browser receives in the reply. See [`PersistSave`] for the batch.
pub trait PersistCreate<C>: ContextState {
    /// Creates the instance from `patch`, whose parent field holds
    /// `parent`.
    fn create(
        channel: &C,
        ctx: &Ctx,
        parent: Key,
        patch: Patch,
        batch: &mut Batch,
    ) -> impl Future<Output = Result<Key, ActionError>> + Send;
}

/// Persists a browser's `delete` of layer `Self` through channel `C`. See
/// [`PersistSave`] for the batch.
pub trait PersistDelete<C>: ContextState {
    /// Deletes the instance with key `key`.
    fn delete(
        channel: &C,
        ctx: &Ctx,
        key: Key,
        batch: &mut Batch,
    ) -> impl Future<Output = Result<(), ActionError>> + Send;
}

/// Commits a write's batch and builds its reply: `{"key": ...}` for a
/// create, `null` otherwise. Called by the code `#[rxd::channel]` emits.
#[doc(hidden)]
pub async fn finish_write(batch: Batch, key: Option<Key>) -> Result<Value, ActionError> {
    batch.commit().await.map_err(|error| {
        tracing::error!(%error, "committing a write's batch failed");
        ActionError::internal()
    })?;
    Ok(match key {
        Some(key) => serde_json::json!({ "key": key.to_json() }),
        None => Value::Null,
    })
}

/// Checks a channel's write declarations against its state, for
/// `App::try_build`: every writable layer is part of the state, a creatable
/// one has a parent link, and no relation field is marked writable.
pub(crate) fn check_declarations(descriptor: &ChannelDescriptor) -> Result<(), String> {
    let state = (descriptor.state)();
    for write in &descriptor.writes {
        let layer = (write.layer)();
        if !reachable(state, layer) {
            return Err(format!(
                "{} declares {} writable, but {} is not part of its state {}",
                descriptor.name, layer.rust_name, layer.rust_name, state.rust_name
            ));
        }
        if write.create && layer.parent.is_none() {
            return Err(format!(
                "{} declares {}(create), but {} has no #[rxd(parent = ...)] field that says where a new one belongs",
                descriptor.name, layer.rust_name, layer.rust_name
            ));
        }
    }
    Ok(())
}

/// Fails on a relation field marked `#[rxd(writable)]`: a layer may only
/// change through its own writes.
pub(crate) fn check_writable_fields(layer: &Layer) -> Result<(), String> {
    for field in &layer.fields {
        if field.writable.is_some() && matches!(field.ty, FieldType::Relation(_)) {
            return Err(format!(
                "{}.{}: a relation field cannot be #[rxd(writable)]; write the nested layer itself",
                layer.rust_path, field.name
            ));
        }
    }
    Ok(())
}

/// Whether `target` is `root` or nested in it, at any depth.
fn reachable(root: &'static Layer, target: &'static Layer) -> bool {
    let mut stack = vec![root];
    let mut seen: Vec<*const Layer> = Vec::new();
    while let Some(layer) = stack.pop() {
        if std::ptr::eq(layer, target) || layer.type_name == target.type_name {
            return true;
        }
        if seen.contains(&(layer as *const Layer)) {
            continue;
        }
        seen.push(layer);
        stack.extend(layer.relations().map(|(_, r)| (r.target)()));
    }
    false
}
