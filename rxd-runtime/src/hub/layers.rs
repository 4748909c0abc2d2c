use std::collections::HashMap;
use std::sync::Arc;

use crate::state::Layer;

/// Every layer type the app's channels can show, by instance type name.
#[derive(Debug, Default, Clone)]
pub(crate) struct LayerRegistry {
    by_name: HashMap<Arc<str>, &'static Layer>,
}

/// Two Rust types claim one instance type name.
#[derive(Debug, thiserror::Error)]
#[error(
    "two layers are named {name:?}: {first} and {second}; rename one with #[rxd(name = \"...\")]"
)]
pub struct LayerNameCollision {
    /// The instance type name.
    pub name: Arc<str>,
    /// The first Rust path.
    pub first: String,
    /// The second Rust path.
    pub second: String,
}

impl LayerRegistry {
    /// Adds a layer and every layer reachable from it.
    pub(crate) fn add(&mut self, root: &'static Layer) -> Result<(), LayerNameCollision> {
        let mut stack = vec![root];
        while let Some(layer) = stack.pop() {
            match self.by_name.get(&layer.type_name) {
                Some(known) if std::ptr::eq(*known, layer) => continue,
                Some(known) => {
                    return Err(LayerNameCollision {
                        name: layer.type_name.clone(),
                        first: known.rust_path.clone(),
                        second: layer.rust_path.clone(),
                    })
                }
                None => {
                    self.by_name.insert(layer.type_name.clone(), layer);
                }
            }
            stack.extend(layer.relations().map(|(_, r)| (r.target)()));
        }
        Ok(())
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &'static Layer> + '_ {
        self.by_name.values().copied()
    }

    pub(crate) fn get(&self, type_name: &str) -> Option<&'static Layer> {
        self.by_name.get(type_name).copied()
    }
}
