use rxd::ContextState;
use serde::{Deserialize, Serialize};

#[derive(ContextState, Serialize, Deserialize)]
pub struct Card {
    #[rxd(writable)]
    pub id: i64,
    pub title: String,
}

fn main() {}
