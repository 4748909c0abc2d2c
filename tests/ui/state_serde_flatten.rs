use rxd::ContextState;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Audit {
    pub created_by: String,
}

#[derive(ContextState, Serialize, Deserialize)]
pub struct Card {
    pub id: i64,
    #[serde(flatten)]
    pub audit: Audit,
}

fn main() {}
