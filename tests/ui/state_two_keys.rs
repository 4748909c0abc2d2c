use rxd::ContextState;
use serde::{Deserialize, Serialize};

#[derive(ContextState, Serialize, Deserialize)]
pub struct Tag {
    #[rxd(key)]
    pub slug: String,
    #[rxd(key)]
    pub code: String,
}

fn main() {}
