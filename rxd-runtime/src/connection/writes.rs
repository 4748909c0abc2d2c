//! The `write` message: a browser's save, create or delete of one instance.
//! This file holds the checks that need no app code, in the documented
//! order (see `docs/PROTOCOL.md`, "Writes"): declared, inside the anchor,
//! writable fields with values that deserialize. The channel's hook and the
//! app's persistence run afterwards, in the generated `rxd_write`.

use serde_json::{Map, Value};

use crate::channel::write::{bad_field, forbidden, Patch, Write, WriteDescriptor, WriteOp};
use crate::channel::ActionError;
use crate::state::{InstanceId, Key, Layer};

/// `bad_write`: the message is not a well-formed write.
fn bad_write(message: &str) -> ActionError {
    ActionError::new("bad_write", message)
}

/// Checks a `write` message (its `id` already taken) against the
/// channel's declarations and the connection's anchors (`holds`: whether
/// one of them holds an instance, in the hub's hot state). No database is
/// touched: everything here reads the message and the hub's hot state.
pub(crate) fn check(
    declared: &[WriteDescriptor],
    holds: impl Fn(&InstanceId) -> bool,
    mut object: Map<String, Value>,
) -> Result<Write, ActionError> {
    let op = match object.get("op").and_then(Value::as_str) {
        Some("save") => WriteOp::Save,
        Some("create") => WriteOp::Create,
        Some("delete") => WriteOp::Delete,
        _ => {
            return Err(bad_write(
                "a write needs \"op\": \"save\", \"create\" or \"delete\"",
            ))
        }
    };
    let Some(type_name) = object.get("_type").and_then(Value::as_str) else {
        return Err(bad_write("a write needs a string \"_type\""));
    };
    // 1. Declared for this type and operation.
    let layer = declared
        .iter()
        .map(|d| ((d.layer)(), d))
        .find(|(layer, _)| &*layer.type_name == type_name)
        .filter(|(_, d)| d.allows(op))
        .map(|(layer, _)| layer)
        .ok_or_else(forbidden)?;

    // 2. The target belongs to this connection's anchor (one of them, on a
    // list channel).
    let inside = |id: &InstanceId| -> Result<(), ActionError> {
        if holds(id) {
            Ok(())
        } else {
            Err(forbidden())
        }
    };
    let read_key = |field: &str| -> Result<Key, ActionError> {
        object
            .get(field)
            .and_then(Key::from_json)
            .ok_or_else(|| bad_write(&format!("a {} needs a \"{field}\" key", op.as_str())))
    };
    let (key, parent) = match op {
        WriteOp::Save | WriteOp::Delete => {
            let key = read_key("key")?;
            let id = InstanceId::new(layer.type_name.clone(), key.clone());
            inside(&id)?;
            (Some(key), None)
        }
        WriteOp::Create => {
            let parent = read_key("parent")?;
            // `App::try_build` refused a creatable layer without a parent link.
            let link = layer.parent.as_ref().ok_or_else(forbidden)?;
            let id = InstanceId::new((link.parent)().type_name.clone(), parent.clone());
            inside(&id)?;
            (None, Some(parent))
        }
    };

    // 3. Only writable fields, each with a value that deserializes.
    let fields = match (op, object.remove("fields")) {
        (WriteOp::Delete, _) | (_, None) => Map::new(),
        (_, Some(Value::Object(fields))) => fields,
        (_, Some(_)) => return Err(bad_write("\"fields\" must be an object")),
    };
    let mut fields = check_fields(layer, fields)?;
    if let Some(link) = &layer.parent {
        match (op, fields.get(&link.field)) {
            // Moving an instance: its new parent must be in the anchor too,
            // or a client could move its card onto another board.
            (WriteOp::Save, Some(value)) => {
                let parent_key =
                    Key::from_json(value).ok_or_else(|| bad_field(&link.field, "not a key"))?;
                let id = InstanceId::new((link.parent)().type_name.clone(), parent_key);
                inside(&id)?;
            }
            (WriteOp::Create, Some(_)) => {
                return Err(bad_field(
                    &link.field,
                    "set by the parent a create names; leave it out",
                ));
            }
            _ => {}
        }
        if let (WriteOp::Create, Some(parent)) = (op, &parent) {
            fields.insert(link.field.clone(), parent.to_json());
        }
    }
    Ok(Write {
        op,
        type_name: layer.type_name.clone(),
        key,
        parent,
        patch: Patch::new(fields),
    })
}

/// Every field must be `#[rxd(writable)]` and its value must deserialize
/// as the field's type; the first that is not is named.
fn check_fields(
    layer: &Layer,
    fields: Map<String, Value>,
) -> Result<Map<String, Value>, ActionError> {
    for (name, value) in &fields {
        let Some(writable) = layer.field(name).and_then(|f| f.writable) else {
            return Err(bad_field(name, "not a writable field"));
        };
        (writable.check)(value.clone()).map_err(|reason| bad_field(name, &reason))?;
    }
    Ok(fields)
}
