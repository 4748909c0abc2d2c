//! The board's state tree: boards → columns → cards, with users shared
//! as owners and assignees.

use serde::{Deserialize, Serialize};

/// A kanban board: one board is one channel context.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Board {
    pub id: i64,
    pub title: String,
    pub columns: Vec<Column>,
    pub owner: User,
}

/// A column of cards.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Column {
    pub id: i64,
    #[rxd(parent = Board::columns)]
    pub board_id: i64,
    pub name: String,
    pub cards: Vec<Card>,
}

/// A card; moving it is saving it with another `column_id`.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Card {
    pub id: i64,
    /// Writable: the browser moves a card by saving its column.
    #[rxd(parent = Column::cards, writable)]
    pub column_id: i64,
    #[rxd(writable)]
    pub title: String,
    pub assignee: Option<User>,
}

/// A user; the same user under two boards is one instance.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct User {
    pub id: i64,
    pub name: String,
}
