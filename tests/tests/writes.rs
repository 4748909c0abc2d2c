//! Browser writes over a real socket: every check in its documented order
//! (declared, inside the anchor, writable fields with good values, the
//! channel's hook), then persistence and the broadcast.

use std::time::Duration;

use board::db;
use board::state::Board;
use rxd::client::{Client, ClientState, ServerMessage};
use rxd::ActionError;
use rxd_tests::TestServer;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(5);

async fn watch(server: &TestServer, board: i64, token: &str) -> (Client, ClientState) {
    let mut client = Client::connect(&server.board_url(board), token)
        .await
        .expect("connect");
    let mut state = ClientState::new::<Board>();
    assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
    (client, state)
}

/// Sends a write and reads until its reply; returns the reply and the
/// messages before it.
async fn write(
    client: &mut Client,
    id: u64,
    message: Value,
) -> (Result<Value, ActionError>, Vec<ServerMessage>) {
    let mut message = message;
    message["type"] = json!("write");
    message["id"] = json!(id);
    client.send_json(&message).await.unwrap();
    let mut before = Vec::new();
    loop {
        match client.next_within(WAIT).await.expect("a message in time") {
            ServerMessage::Reply { id: got, result } if got == id => return (result, before),
            ServerMessage::Closed { code, reason } => panic!("closed {code} {reason}"),
            other => before.push(other),
        }
    }
}

fn error(result: &Result<Value, ActionError>) -> &ActionError {
    result.as_ref().expect_err("the write fails")
}

/// Card 1 ("Write the press release") is in column 1 of board 1; card 5
/// and column 4 belong to board 2, which Grace cannot see.
#[tokio::test]
async fn refused_writes_are_checked_in_order_and_touch_no_database() {
    let server = TestServer::start().await;
    let (mut ada, _) = watch(&server, 1, "ada-token").await;
    let (mut vera, _) = watch(&server, 1, "viewer-token").await;
    // From here on, any database access fails (`internal`): every refusal
    // below must come from a check that needs no database.
    server.db.close().await;

    // 1. Not declared: a type the channel does not declare, an operation
    //    it does not declare for a declared type.
    let (result, _) = write(
        &mut ada,
        1,
        json!({"op": "save", "_type": "Column", "key": 1, "fields": {"name": "x"}}),
    )
    .await;
    assert_eq!(error(&result).code, "forbidden");
    let (result, _) = write(
        &mut ada,
        2,
        json!({"op": "save", "_type": "User", "key": 1, "fields": {}}),
    )
    .await;
    assert_eq!(error(&result).code, "forbidden");
    // Declared checks come first: even a malformed payload of an
    // undeclared type is just forbidden.
    let (result, _) = write(
        &mut ada,
        3,
        json!({"op": "delete", "_type": "Board", "key": 1}),
    )
    .await;
    assert_eq!(error(&result).code, "forbidden");

    // 2. Outside the anchor, even with a guessed id of another board or an
    //    id that exists nowhere; a bad field does not get past this check.
    for (id, message) in [
        (
            4,
            json!({"op": "save", "_type": "Card", "key": 5, "fields": {"title": "mine now"}}),
        ),
        (
            5,
            json!({"op": "save", "_type": "Card", "key": 5, "fields": {"nope": 1}}),
        ),
        (6, json!({"op": "delete", "_type": "Card", "key": 5})),
        (7, json!({"op": "delete", "_type": "Card", "key": 999})),
        (
            8,
            json!({"op": "create", "_type": "Card", "parent": 4, "fields": {"title": "x"}}),
        ),
        // Moving a card of this board onto another board's column.
        (
            9,
            json!({"op": "save", "_type": "Card", "key": 1, "fields": {"column_id": 4}}),
        ),
    ] {
        let (result, _) = write(&mut ada, id, message).await;
        assert_eq!(error(&result).code, "forbidden", "write {id}");
    }

    // 3. Fields: only writable ones, each with a value that deserializes;
    //    the error names the field.
    for (id, fields, field) in [
        (10, json!({"id": 7}), "id"),
        (11, json!({"assignee": null}), "assignee"),
        (12, json!({"color": "red"}), "color"),
        (13, json!({"title": 42}), "title"),
        (14, json!({"column_id": "two"}), "column_id"),
    ] {
        let (result, _) = write(
            &mut ada,
            id,
            json!({"op": "save", "_type": "Card", "key": 1, "fields": fields}),
        )
        .await;
        let error = error(&result);
        assert_eq!(error.code, "bad_field", "write {id}: {error:?}");
        assert_eq!(error.details.as_ref().unwrap()["field"], field);
    }
    // A create names its parent; the parent field is not the client's.
    let (result, _) = write(&mut ada, 15, json!({"op": "create", "_type": "Card", "parent": 1, "fields": {"title": "x", "column_id": 2}})).await;
    assert_eq!(
        error(&result).details.as_ref().unwrap()["field"],
        "column_id"
    );

    // 4. The channel's hook: a read-only member is denied, for each
    //    operation, with a valid write.
    for (id, message) in [
        (
            16,
            json!({"op": "save", "_type": "Card", "key": 1, "fields": {"title": "viewer"}}),
        ),
        (
            17,
            json!({"op": "create", "_type": "Card", "parent": 1, "fields": {"title": "viewer"}}),
        ),
        (18, json!({"op": "delete", "_type": "Card", "key": 1})),
    ] {
        let (result, _) = write(&mut vera, id, message).await;
        assert_eq!(error(&result).code, "forbidden", "write {id}");
    }

    // Malformed writes answer `bad_write`; the socket stays open.
    let (result, _) = write(&mut ada, 19, json!({"op": "upsert", "_type": "Card"})).await;
    assert_eq!(error(&result).code, "bad_write");
    let (result, _) = write(
        &mut ada,
        20,
        json!({"op": "save", "_type": "Card", "key": [1]}),
    )
    .await;
    assert_eq!(error(&result).code, "bad_write");
    ada.send_json(&json!({"type": "ping"})).await.unwrap();
    assert!(matches!(
        ada.next_within(WAIT).await.unwrap(),
        ServerMessage::Pong
    ));

    // Only now does a write reach the database, which is closed.
    let (result, _) = write(
        &mut ada,
        21,
        json!({"op": "save", "_type": "Card", "key": 1, "fields": {"title": "x"}}),
    )
    .await;
    assert_eq!(error(&result).code, "internal");
}

#[tokio::test]
async fn writes_persist_and_reach_every_client_the_writer_before_its_reply() {
    let server = TestServer::start().await;
    let (mut ada, mut ada_state) = watch(&server, 1, "ada-token").await;
    let (mut grace, mut grace_state) = watch(&server, 1, "grace-token").await;

    let writes = [
        // Rename.
        json!({"op": "save", "_type": "Card", "key": 1, "fields": {"title": "Renamed"}}),
        // Move to another column of the board: a save of its column.
        json!({"op": "save", "_type": "Card", "key": 2, "fields": {"column_id": 3}}),
        // Add under a column.
        json!({"op": "create", "_type": "Card", "parent": 2, "fields": {"title": "Added"}}),
        // Delete.
        json!({"op": "delete", "_type": "Card", "key": 4}),
    ];
    let mut created = None;
    for (i, message) in writes.into_iter().enumerate() {
        let id = i as u64 + 1;
        let (result, before) = write(&mut ada, id, message).await;
        let value = result.unwrap_or_else(|e| panic!("write {id}: {e:?}"));
        if id == 3 {
            created = value["key"].as_i64();
        } else {
            assert_eq!(value, Value::Null);
        }
        assert!(
            matches!(&before[..], [ServerMessage::Delta { .. }]),
            "write {id}: the delta comes before the reply: {before:?}"
        );
        for message in &before {
            ada_state.apply(message).unwrap();
        }
        let message = grace.next_within(WAIT).await.unwrap();
        assert!(
            matches!(message, ServerMessage::Delta { .. }),
            "{message:?}"
        );
        grace_state.apply(&message).unwrap();
    }

    let expected = db::load_board(&server.db, 1).await.unwrap().unwrap();
    let cards: Vec<_> = expected.columns.iter().flat_map(|c| &c.cards).collect();
    assert!(cards.iter().any(|c| c.id == 1 && c.title == "Renamed"));
    assert!(cards.iter().any(|c| c.id == 2 && c.column_id == 3));
    let created = created.expect("a create replies with the new key");
    assert!(cards
        .iter()
        .any(|c| c.id == created && c.column_id == 2 && c.title == "Added"));
    assert!(!cards.iter().any(|c| c.id == 4));
    assert_eq!(
        ada_state.rebuild::<Board>().unwrap(),
        Some(expected.clone())
    );
    assert_eq!(grace_state.rebuild::<Board>().unwrap(), Some(expected));
}

#[tokio::test]
async fn the_apps_own_validation_answers_after_the_checks() {
    let server = TestServer::start().await;
    let (mut ada, _) = watch(&server, 1, "ada-token").await;
    // `title` deserializes as a String, but the app wants 1 to 200
    // characters: its own error comes back, nothing is broadcast.
    let (result, before) = write(
        &mut ada,
        1,
        json!({"op": "save", "_type": "Card", "key": 1, "fields": {"title": "  "}}),
    )
    .await;
    assert_eq!(error(&result).code, "invalid");
    assert!(before.is_empty(), "{before:?}");
    // A create without a required field.
    let (result, _) = write(
        &mut ada,
        2,
        json!({"op": "create", "_type": "Card", "parent": 1, "fields": {}}),
    )
    .await;
    assert_eq!(error(&result).code, "invalid");
}
