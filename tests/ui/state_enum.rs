use rxd::ContextState;
use serde::{Deserialize, Serialize};

#[derive(ContextState, Serialize, Deserialize)]
pub enum Status {
    Open,
    Closed,
}

fn main() {}
