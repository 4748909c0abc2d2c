use rxd::ContextState;
use serde::{Deserialize, Serialize};

#[derive(ContextState, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub struct Card {
    pub id: i64,
    pub title: String,
}

fn main() {}
