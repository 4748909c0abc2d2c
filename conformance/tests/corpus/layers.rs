//! State layers (`#[derive(ContextState)]`): their nested JSON, and their
//! input shape when a client sends one (an action parameter).

use rxd::ContextState;
use rxd_conformance::{both, Case};
use serde::{Deserialize, Serialize};

use super::enums::Color;

/// A board: the anchor layer.
#[derive(ContextState, Serialize, Deserialize)]
pub struct LBoard {
    pub id: i64,
    pub title: String,
    pub columns: Vec<LColumn>,
    pub owner: Option<LUser>,
}

#[derive(ContextState, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LColumn {
    pub id: i64,
    #[rxd(parent = LBoard::columns)]
    pub board_id: i64,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
}

/// A layer whose input shape is its output shape.
#[derive(ContextState, Serialize, Deserialize)]
#[rxd(name = "LPerson")]
pub struct LUser {
    pub id: String,
    pub name: String,
}

pub fn cases() -> Vec<Case> {
    let board = LBoard {
        id: 1,
        title: "Launch".into(),
        columns: vec![
            LColumn {
                id: 10,
                board_id: 1,
                display_name: "Todo".into(),
                color: None,
            },
            LColumn {
                id: 11,
                board_id: 1,
                display_name: "Done".into(),
                color: Some(Color::Green),
            },
        ],
        owner: Some(LUser {
            id: "u1".into(),
            name: "Ada".into(),
        }),
    };
    vec![
        both(
            "LBoard",
            &[
                board,
                LBoard {
                    id: 2,
                    title: String::new(),
                    columns: vec![],
                    owner: None,
                },
            ],
        )
        .wrong(r#"{ id: 1, title: "t", columns: [10], owner: null }"#)
        .wrong(r#"{ id: 1, title: "t", columns: [] }"#)
        .wrong(r#"{ id: 1, title: "t", columns: [{ id: 10, board_id: 1, displayName: "x" }], owner: null }"#)
        .input(r#"{"id": 3, "title": "t", "columns": [{"id": 1, "boardId": 3, "displayName": "c"}]}"#)
        .wrong_input(r#"{"id": 3, "title": "t", "columns": [{"id": 1, "displayName": "c"}]}"#),
        both(
            "LUser",
            &[LUser {
                id: "u".into(),
                name: "n".into(),
            }],
        )
        .wrong(r#"{ id: 1, name: "n" }"#)
        .wrong_input(r#"{"id": "u"}"#),
    ]
}
