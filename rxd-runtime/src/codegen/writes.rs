//! The TypeScript of a channel's browser writes: per writable type a
//! `<Channel><Type>Patch` (what `.save` accepts) and `<Channel><Type>New`
//! (what `.create` accepts), both holding only `#[rxd(writable)]` fields,
//! and `<Channel><Type>` interfaces for every type on the way from the
//! anchor to a writable one, with `.save` / `.delete` and relation lists
//! typed `WritableList<...>` where `.create` applies.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::collect::Model;
use super::print::{indent, property_name, string_literal, Printer};
use super::CodegenError;
use crate::channel::{ChannelDescriptor, WriteDescriptor};
use crate::state::{Cardinality, FieldType, Layer};

/// What a channel's writes add to `<app>.channels.ts`.
pub(super) struct ChannelWrites {
    /// The interface declarations, to print before the class.
    pub decls: String,
    /// The state type the class is generic over (`BoardChannelBoard`), or
    /// the anchor's own interface when the channel declares no writes.
    pub state: String,
    /// The `writes` entry of the class's model, or empty.
    pub model: String,
    /// Whether the declarations use `WritableList`.
    pub uses_list: bool,
}

/// The declarations for `channel`, whose reachable layers are `layers`.
pub(super) fn render(
    channel: &ChannelDescriptor,
    layers: &BTreeMap<Arc<str>, &'static Layer>,
    printer: &mut Printer,
    model: &Model,
) -> Result<ChannelWrites, CodegenError> {
    let anchor = (channel.state)();
    if channel.writes.is_empty() {
        return Ok(ChannelWrites {
            decls: String::new(),
            state: anchor.type_name.to_string(),
            model: String::new(),
            uses_list: false,
        });
    }
    let declared: BTreeMap<Arc<str>, &WriteDescriptor> = channel
        .writes
        .iter()
        .map(|w| ((w.layer)().type_name.clone(), w))
        .collect();
    // Which layers get a channel-specific interface: writable ones, those
    // with a creatable list, and those above either.
    let mut live: BTreeMap<Arc<str>, bool> = BTreeMap::new();
    for name in layers.keys() {
        is_live(name, layers, &declared, &mut live, &mut Vec::new());
    }
    let live_name = |type_name: &str| format!("{}{type_name}", channel.name);
    let collision = |name: &str| -> Result<(), CodegenError> {
        match model.names.get(name) {
            Some(first) => Err(CodegenError::NameCollision {
                name: name.to_owned(),
                first: first.clone(),
                second: format!("channel {}", channel.name),
            }),
            None => Ok(()),
        }
    };
    collision("WritableList")?;

    let mut decls = String::new();
    let mut uses_list = false;
    for (name, layer) in layers {
        if !live.get(name).copied().unwrap_or(false) {
            continue;
        }
        let write = declared.get(name);
        let own = live_name(name);
        collision(&own)?;
        if let Some(write) = write.filter(|w| w.save) {
            let patch = format!("{own}Patch");
            collision(&patch)?;
            let _ = writeln!(
                decls,
                "\n/** The fields of `{name}` that `.save` may change through `{}`. */",
                channel.name
            );
            let _ = writeln!(decls, "export interface {patch} {{");
            for (field, ts) in writable_fields(layer) {
                let _ = writeln!(
                    decls,
                    "{}{}?: {};",
                    indent(1),
                    property_name(field),
                    printer.ty(ts, 1)
                );
            }
            decls.push_str("}\n");
            let _ = write;
        }
        if write.is_some_and(|w| w.create) {
            let new = format!("{own}New");
            collision(&new)?;
            let parent_field = layer.parent.as_ref().map(|p| p.field.as_str());
            let _ = writeln!(
                decls,
                "\n/** A new `{name}` for `.create` through `{}`; its parent comes from the list. */",
                channel.name
            );
            let _ = writeln!(decls, "export interface {new} {{");
            for (field, ts) in writable_fields(layer) {
                if Some(field) == parent_field {
                    continue;
                }
                let optional = layer.field(field).is_some_and(|f| f.optional)
                    || super::channels::accepts_null(ts);
                let _ = writeln!(
                    decls,
                    "{}{}{}: {};",
                    indent(1),
                    property_name(field),
                    if optional { "?" } else { "" },
                    printer.ty(ts, 1)
                );
            }
            decls.push_str("}\n");
        }

        // The live interface: relation fields retyped, methods added.
        let mut overrides = Vec::new();
        for (field, relation) in layer.relations() {
            let target = (relation.target)();
            let target_live = live.get(&target.type_name).copied().unwrap_or(false);
            let creatable = relation.cardinality == Cardinality::Many
                && declared.get(&target.type_name).is_some_and(|w| w.create)
                && target.parent.as_ref().is_some_and(|p| {
                    (p.parent)().type_name == layer.type_name && p.relation == field
                });
            if !target_live && !creatable {
                continue;
            }
            let element = if target_live {
                live_name(&target.type_name)
            } else {
                printer.refs.insert(target.type_name.clone());
                target.type_name.to_string()
            };
            let ty = match relation.cardinality {
                Cardinality::Many if creatable => {
                    uses_list = true;
                    format!(
                        "WritableList<{element}, {}New>",
                        live_name(&target.type_name)
                    )
                }
                Cardinality::Many => format!("{element}[]"),
                Cardinality::One => element,
                Cardinality::Optional => format!("{element} | null"),
            };
            overrides.push((field, ty));
        }
        printer.refs.insert(layer.type_name.clone());
        let base = if overrides.is_empty() {
            name.to_string()
        } else {
            let omitted: Vec<String> = overrides.iter().map(|(f, _)| string_literal(f)).collect();
            format!("Omit<{name}, {}>", omitted.join(" | "))
        };
        let _ = writeln!(
            decls,
            "\n/** `{name}` as `{}` shows it, with the writes it allows. */",
            channel.name
        );
        let _ = writeln!(decls, "export interface {own} extends {base} {{");
        for (field, ty) in &overrides {
            let _ = writeln!(decls, "{}{}: {ty};", indent(1), property_name(field));
        }
        if let Some(write) = write {
            if write.save {
                let _ = writeln!(
                    decls,
                    "{}/** Changes writable fields: shown at once, rolled back if the server refuses. */",
                    indent(1)
                );
                let _ = writeln!(
                    decls,
                    "{}save(patch: {own}Patch): Promise<void>;",
                    indent(1)
                );
            }
            if write.delete {
                let _ = writeln!(
                    decls,
                    "{}/** Deletes it: gone at once, back in place if the server refuses. */",
                    indent(1)
                );
                let _ = writeln!(decls, "{}delete(): Promise<void>;", indent(1));
            }
        }
        decls.push_str("}\n");
    }

    let mut entries = Vec::new();
    for (name, write) in &declared {
        let layer = (write.layer)();
        let parent = match &layer.parent {
            Some(link) => format!(
                "{{ type: {}, field: {}, relation: {} }}",
                string_literal(&(link.parent)().type_name),
                string_literal(&link.field),
                string_literal(&link.relation)
            ),
            None => "null".to_owned(),
        };
        entries.push(format!(
            "{}: {{ save: {}, create: {}, delete: {}, parent: {parent} }}",
            property_name(name),
            write.save,
            write.create,
            write.delete
        ));
    }
    let model = format!("{}writes: {{ {} }},\n", indent(2), entries.join(", "));
    let state = if live.get(&anchor.type_name).copied().unwrap_or(false) {
        live_name(&anchor.type_name)
    } else {
        anchor.type_name.to_string()
    };
    Ok(ChannelWrites {
        decls,
        state,
        model,
        uses_list,
    })
}

/// The `#[rxd(writable)]` fields of a layer with their TypeScript types.
fn writable_fields(layer: &Layer) -> impl Iterator<Item = (&str, &crate::state::ts::TsType)> {
    layer
        .fields
        .iter()
        .filter_map(|f| match (&f.ty, f.writable) {
            (FieldType::Value(ts), Some(_)) => Some((f.name.as_str(), ts)),
            _ => None,
        })
}

/// Whether a layer gets a live interface; `visiting` cuts cycles.
fn is_live(
    name: &Arc<str>,
    layers: &BTreeMap<Arc<str>, &'static Layer>,
    declared: &BTreeMap<Arc<str>, &WriteDescriptor>,
    live: &mut BTreeMap<Arc<str>, bool>,
    visiting: &mut Vec<Arc<str>>,
) -> bool {
    if let Some(known) = live.get(name) {
        return *known;
    }
    if visiting.contains(name) {
        return false;
    }
    let Some(layer) = layers.get(name) else {
        return false;
    };
    visiting.push(name.clone());
    let mut result = declared.get(name).is_some_and(|w| w.save || w.delete);
    for (field, relation) in layer.relations() {
        let target = (relation.target)();
        let creatable = relation.cardinality == Cardinality::Many
            && declared.get(&target.type_name).is_some_and(|w| w.create)
            && target
                .parent
                .as_ref()
                .is_some_and(|p| (p.parent)().type_name == layer.type_name && p.relation == field);
        if is_live(&target.type_name, layers, declared, live, visiting) || creatable {
            result = true;
        }
    }
    visiting.pop();
    live.insert(name.clone(), result);
    result
}
