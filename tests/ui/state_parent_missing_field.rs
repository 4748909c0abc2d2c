use rxd::ContextState;
use serde::{Deserialize, Serialize};

#[derive(ContextState, Serialize, Deserialize)]
pub struct Board {
    pub id: i64,
    pub columns: Vec<Column>,
}

#[derive(ContextState, Serialize, Deserialize)]
pub struct Column {
    pub id: i64,
    #[rxd(parent = Board::colums)]
    pub board_id: i64,
}

fn main() {}
