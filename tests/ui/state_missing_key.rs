use rxd::ContextState;
use serde::{Deserialize, Serialize};

#[derive(ContextState, Serialize, Deserialize)]
pub struct Board {
    pub board_id: i64,
    pub title: String,
}

fn main() {}
