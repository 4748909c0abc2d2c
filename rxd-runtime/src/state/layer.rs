use std::sync::Arc;

use super::ts::TsType;

/// The descriptor of one layer type, built by `#[derive(ContextState)]`.
///
/// Field names are the names serde writes (after `rename` / `rename_all`);
/// fields that serde skips are absent.
#[derive(Debug)]
pub struct Layer {
    /// The Rust type's name (`Board`).
    pub rust_name: &'static str,
    /// The Rust type's path (`board::state::Board`), for error messages.
    pub rust_path: String,
    /// The instance type name, `_type` on the wire (`#[rxd(name = "...")]`,
    /// else the Rust name).
    pub type_name: Arc<str>,
    /// The serialized name of the key field.
    pub key_field: String,
    /// Every serialized field, in declaration order.
    pub fields: Vec<LayerField>,
    /// Where a new instance of this layer belongs (`#[rxd(parent = ...)]`).
    pub parent: Option<ParentLink>,
    /// The struct's doc comment, carried into the generated TypeScript.
    pub doc: Option<String>,
}

/// One serialized field of a layer.
#[derive(Debug)]
pub struct LayerField {
    /// The serialized field name.
    pub name: String,
    /// A plain value or a nested layer.
    pub ty: FieldType,
    /// Whether serde may leave the field out (`skip_serializing_if`).
    pub optional: bool,
    /// The field's doc comment.
    pub doc: Option<String>,
    /// `#[rxd(writable)]`: the browser may write this field, in channels
    /// that declare its layer writable.
    pub writable: Option<WritableField>,
}

/// What rxd knows of a writable field.
#[derive(Debug, Clone, Copy)]
pub struct WritableField {
    /// Whether a client's value deserializes as the field's type; the
    /// error is serde's, for the client.
    pub check: fn(serde_json::Value) -> Result<(), String>,
}

/// What a field holds.
#[derive(Debug)]
pub enum FieldType {
    /// A plain value, kept in the flat instance as serde serialized it.
    Value(TsType),
    /// A nested layer, replaced by keys in the flat instance.
    Relation(Relation),
}

/// A field that nests another layer.
#[derive(Debug, Clone, Copy)]
pub struct Relation {
    /// The nested layer.
    pub target: fn() -> &'static Layer,
    /// `Vec<T>`, `T` or `Option<T>`.
    pub cardinality: Cardinality,
}

/// How many instances a relation field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    /// `Vec<T>`: a list of keys.
    Many,
    /// `T`: exactly one key.
    One,
    /// `Option<T>`: a key or `null`.
    Optional,
}

/// `#[rxd(parent = Board::columns)]` on `board_id`: a saved instance whose
/// `board_id` names a board belongs in that board's `columns`.
#[derive(Debug, Clone)]
pub struct ParentLink {
    /// The serialized name of the field holding the parent's key.
    pub field: String,
    /// The parent layer.
    pub parent: fn() -> &'static Layer,
    /// The serialized name of the relation field in the parent.
    pub relation: String,
}

impl Layer {
    /// The field with this serialized name.
    pub fn field(&self, name: &str) -> Option<&LayerField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The relation fields, in declaration order.
    pub fn relations(&self) -> impl Iterator<Item = (&str, &Relation)> {
        self.fields.iter().filter_map(|f| match &f.ty {
            FieldType::Relation(r) => Some((f.name.as_str(), r)),
            FieldType::Value(_) => None,
        })
    }

    /// The TypeScript type of the key field.
    pub fn key_ts(&self) -> TsType {
        match self.field(&self.key_field).map(|f| &f.ty) {
            Some(FieldType::Value(ts)) => ts.clone(),
            _ => TsType::Integer,
        }
    }
}
