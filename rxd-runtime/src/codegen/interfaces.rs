//! `<app>.interfaces.ts`: nested state interfaces, flat instance interfaces,
//! named declarations.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::collect::Model;
use super::print::{
    indent, string_literal, write_doc, write_property, Printer, HEADER, JSON_VALUE, JSON_VALUE_DECL,
};
use crate::state::ts::{TsDecl, TsType};
use crate::state::{Cardinality, FieldType, Layer};

/// The text of `<app>.interfaces.ts`.
pub(super) fn render(model: &Model) -> String {
    // Every declaration by name, so that the file is sorted whatever kind
    // each one is.
    let mut blocks: BTreeMap<String, String> = BTreeMap::new();
    for layer in model.layers.values() {
        blocks.insert(layer.type_name.to_string(), nested_interface(layer));
        blocks.insert(
            format!("{}Instance", layer.type_name),
            instance_interface(layer),
        );
    }
    for decl in model.decls.values() {
        blocks.insert(decl.name.to_string(), declaration(decl));
    }
    if model.json_value {
        blocks.insert(JSON_VALUE.to_owned(), JSON_VALUE_DECL.to_owned());
    }
    let mut out = String::from(HEADER);
    if blocks.is_empty() {
        // Keep the file a module.
        out.push_str("\nexport {};\n");
    }
    for block in blocks.values() {
        out.push('\n');
        out.push_str(block);
    }
    out
}

/// `export interface Board { ... }`: the layer as the client rebuilds it.
fn nested_interface(layer: &Layer) -> String {
    let mut printer = Printer::default();
    let mut out = String::new();
    write_doc(&mut out, layer.doc.as_deref(), 0);
    let _ = writeln!(out, "export interface {} {{", layer.type_name);
    for field in &layer.fields {
        let ty = match &field.ty {
            FieldType::Value(ty) => printer.ty(ty, 1),
            FieldType::Relation(relation) => {
                let target = (relation.target)().type_name.to_string();
                match relation.cardinality {
                    Cardinality::Many => format!("{target}[]"),
                    Cardinality::One => target,
                    Cardinality::Optional => format!("{target} | null"),
                }
            }
        };
        write_property(
            &mut out,
            &field.name,
            field.optional,
            &ty,
            field.doc.as_deref(),
            1,
        );
    }
    out.push_str("}\n");
    out
}

/// `export interface BoardInstance { _type: "Board"; _v: number; ... }`:
/// the layer as it travels, relations replaced by keys.
///
/// Relation fields are never optional here: flattening always writes them
/// (`null` for an absent `Option`).
fn instance_interface(layer: &Layer) -> String {
    let mut printer = Printer::default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/** A flat `{}` instance, as it travels on the wire: nested layers replaced by keys. */",
        layer.type_name
    );
    let _ = writeln!(out, "export interface {}Instance {{", layer.type_name);
    let _ = writeln!(
        out,
        "{}_type: {};",
        indent(1),
        string_literal(&layer.type_name)
    );
    let _ = writeln!(out, "{}_v: number;", indent(1));
    for field in &layer.fields {
        let (ty, optional) = match &field.ty {
            FieldType::Value(ty) => (printer.ty(ty, 1), field.optional),
            FieldType::Relation(relation) => {
                let key = (relation.target)().key_ts();
                let ty = match relation.cardinality {
                    Cardinality::Many => printer.ty(&TsType::Array(Box::new(key)), 1),
                    Cardinality::One => printer.ty(&key, 1),
                    Cardinality::Optional => printer.ty(&TsType::nullable(key), 1),
                };
                (ty, false)
            }
        };
        write_property(
            &mut out,
            &field.name,
            optional,
            &ty,
            field.doc.as_deref(),
            1,
        );
    }
    out.push_str("}\n");
    out
}

/// `export interface X<P> { ... }` for an object, else `export type X<P> = ...;`.
fn declaration(decl: &TsDecl) -> String {
    let mut printer = Printer::default();
    let mut out = String::new();
    write_doc(&mut out, decl.doc.as_deref(), 0);
    let params = if decl.params.is_empty() {
        String::new()
    } else {
        format!("<{}>", decl.params.join(", "))
    };
    match &decl.ty {
        TsType::Object(fields) => {
            if fields.is_empty() {
                let _ = writeln!(
                    out,
                    "export interface {}{params} {{ [key: string]: never }}",
                    decl.name
                );
                return out;
            }
            let _ = writeln!(out, "export interface {}{params} {{", decl.name);
            for field in fields {
                let ty = printer.ty(&field.ty, 1);
                write_property(
                    &mut out,
                    &field.name,
                    field.optional,
                    &ty,
                    field.doc.as_deref(),
                    1,
                );
            }
            out.push_str("}\n");
        }
        other => {
            let _ = writeln!(
                out,
                "export type {}{params} = {};",
                decl.name,
                printer.ty(other, 0)
            );
        }
    }
    out
}

/// The declarations that some types need, and the types as they are
/// written beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declarations {
    /// A module declaring every layer, named type and alias that the types
    /// refer to, in the format of `<app>.interfaces.ts`.
    pub text: String,
    /// Each type, printed as a property type in that module.
    pub types: Vec<String>,
}

/// The declarations that `types` need (checked as `generate` checks them:
/// two Rust types with one TypeScript name are an error), and each type as
/// text. For tests and tools that type JSON outside a channel.
pub fn declarations(types: &[TsType]) -> Result<Declarations, super::CodegenError> {
    let mut collector = super::collect::Collector::default();
    for ty in types {
        collector.ty(ty)?;
    }
    let model = collector.finish()?;
    let mut printer = Printer::default();
    let printed = types.iter().map(|t| printer.ty(t, 0)).collect();
    Ok(Declarations {
        text: render(&model),
        types: printed,
    })
}
