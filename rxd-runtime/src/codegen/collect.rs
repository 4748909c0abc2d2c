//! Walking the descriptors: every layer and named declaration the output
//! needs, with the checks that keep the TypeScript namespace sound.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::print::{is_type_name, JSON_VALUE};
use super::CodegenError;
use crate::state::ts::{TsDecl, TsType};
use crate::state::{FieldType, Layer};

/// What `.interfaces.ts` declares.
#[derive(Default)]
pub(super) struct Model {
    /// Every reachable layer, by instance type name.
    pub layers: BTreeMap<Arc<str>, &'static Layer>,
    /// Every named declaration, by name.
    pub decls: BTreeMap<Arc<str>, TsDecl>,
    /// Whether `JsonValue` is referenced.
    pub json_value: bool,
    /// Every declared TypeScript name with where it comes from (a Rust path).
    pub names: BTreeMap<String, String>,
}

/// The Rust path reported for the `JsonValue` alias.
const JSON_VALUE_ORIGIN: &str = "serde_json::Value";

#[derive(Default)]
pub(super) struct Collector {
    model: Model,
    /// The `declare` functions already called, per name, as addresses: a
    /// generic type's `declare` may be a different function per
    /// instantiation, and each is called once.
    declared: HashMap<Arc<str>, Vec<usize>>,
}

impl Collector {
    /// Adds `layer` and everything it reaches: relation targets, and the
    /// types of its value fields.
    pub fn layer(&mut self, layer: &'static Layer) -> Result<(), CodegenError> {
        if let Some(existing) = self.model.layers.get(&layer.type_name) {
            if existing.rust_path == layer.rust_path {
                return Ok(());
            }
            return Err(CodegenError::NameCollision {
                name: layer.type_name.to_string(),
                first: existing.rust_path.clone(),
                second: layer.rust_path.clone(),
            });
        }
        if !is_type_name(&layer.type_name) {
            return Err(CodegenError::InvalidName {
                name: layer.type_name.to_string(),
                rust_path: layer.rust_path.clone(),
            });
        }
        for reserved in ["_type", "_v"] {
            if layer.field(reserved).is_some() {
                return Err(CodegenError::ReservedField {
                    field: reserved.to_owned(),
                    rust_path: layer.rust_path.clone(),
                });
            }
        }
        self.model.layers.insert(layer.type_name.clone(), layer);
        for field in &layer.fields {
            match &field.ty {
                FieldType::Value(ty) => self.ty(ty)?,
                FieldType::Relation(relation) => self.layer((relation.target)())?,
            }
        }
        Ok(())
    }

    /// Adds the declarations that `ty` refers to.
    pub fn ty(&mut self, ty: &TsType) -> Result<(), CodegenError> {
        match ty {
            TsType::Number
            | TsType::Integer
            | TsType::String
            | TsType::Boolean
            | TsType::Null
            | TsType::Unknown
            | TsType::StringLiteral(_)
            | TsType::NumericString
            | TsType::Param(_)
            | TsType::Raw(_) => Ok(()),
            TsType::JsonValue => {
                self.model.json_value = true;
                Ok(())
            }
            TsType::Array(inner) => self.ty(inner),
            TsType::Record(key, value) => {
                self.ty(key)?;
                self.ty(value)
            }
            TsType::Tuple(items) | TsType::Union(items) | TsType::Intersection(items) => {
                items.iter().try_for_each(|t| self.ty(t))
            }
            TsType::Object(fields) => fields.iter().try_for_each(|f| self.ty(&f.ty)),
            TsType::Layer(layer) => self.layer(layer()),
            TsType::Named(named) => {
                named.args.iter().try_for_each(|t| self.ty(t))?;
                let address = named.declare as usize;
                let seen = self.declared.entry(named.name.clone()).or_default();
                if seen.contains(&address) {
                    return Ok(());
                }
                seen.push(address);
                let mut decl = (named.declare)();
                // The reference's name is what the output uses.
                decl.name = named.name.clone();
                if let Some(existing) = self.model.decls.get(&decl.name) {
                    if existing.rust_path == decl.rust_path {
                        return Ok(());
                    }
                    return Err(CodegenError::NameCollision {
                        name: decl.name.to_string(),
                        first: existing.rust_path.clone(),
                        second: decl.rust_path,
                    });
                }
                if let Some(bad) = std::iter::once(&*decl.name)
                    .chain(decl.params.iter().map(String::as_str))
                    .find(|n| !is_type_name(n))
                {
                    return Err(CodegenError::InvalidName {
                        name: bad.to_owned(),
                        rust_path: decl.rust_path,
                    });
                }
                let body = decl.ty.clone();
                self.model.decls.insert(decl.name.clone(), decl);
                self.ty(&body)
            }
        }
    }

    /// Checks that every declared name is declared once, and returns the
    /// model.
    pub fn finish(mut self) -> Result<Model, CodegenError> {
        let mut entries: Vec<(String, String)> = Vec::new();
        for layer in self.model.layers.values() {
            entries.push((layer.type_name.to_string(), layer.rust_path.clone()));
            entries.push((
                format!("{}Instance", layer.type_name),
                format!("{} (its flat instance interface)", layer.rust_path),
            ));
        }
        for decl in self.model.decls.values() {
            entries.push((decl.name.to_string(), decl.rust_path.clone()));
        }
        if self.model.json_value {
            entries.push((JSON_VALUE.to_owned(), JSON_VALUE_ORIGIN.to_owned()));
        }
        for (name, origin) in entries {
            if let Some(first) = self.model.names.get(&name) {
                return Err(CodegenError::NameCollision {
                    name,
                    first: first.clone(),
                    second: origin,
                });
            }
            self.model.names.insert(name, origin);
        }
        Ok(self.model)
    }
}
