use rxd::ContextState;
use serde::{Deserialize, Serialize};

#[derive(ContextState, Serialize, Deserialize)]
pub struct Page<T> {
    pub id: i64,
    pub items: Vec<T>,
}

fn main() {}
