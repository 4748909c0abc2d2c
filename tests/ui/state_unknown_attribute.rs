use rxd::ContextState;
use serde::{Deserialize, Serialize};

#[derive(ContextState, Serialize, Deserialize)]
pub struct Card {
    pub id: i64,
    #[rxd(optional)]
    pub title: String,
}

fn main() {}
