//! The generated Rust client (`examples/board/clients/rust`, written by
//! `rxd::codegen::write_rust`) against a real board server: typed state,
//! typed actions and their deltas, errors, refusals and a list channel. The
//! client crate does not depend on the server's: its types are generated.

use std::time::Duration;

use axum::http::Method;
use board_client::{BoardChannel, Card, InvalidFields, MyBoardsChannel};
use rxd::client::{CallError, Change, SessionError};
use rxd_tests::TestServer;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

fn base(server: &TestServer) -> String {
    format!("ws://{}", server.addr)
}

#[tokio::test]
async fn a_typed_client_reads_state_and_calls_actions_whose_deltas_reach_everyone() {
    let server = TestServer::start().await;
    let mut ada = BoardChannel::connect(&base(&server), 1, "ada-token")
        .await
        .unwrap();
    let board = ada.state().unwrap().expect("board 1");
    assert_eq!((board.id, board.title.as_str()), (1, "Launch"));
    let names: Vec<&str> = board.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Todo", "Doing", "Done"]);
    let first = &board.columns[0].cards[0];
    assert_eq!(first.title, "Write the press release");
    assert_eq!(
        first.assignee.as_ref().map(|u| u.name.as_str()),
        Some("Grace")
    );
    assert_eq!(board.owner.name, "Ada");

    let mut grace = BoardChannel::connect(&base(&server), 1, "grace-token")
        .await
        .unwrap();
    let renamed: Card = ada
        .rename_card(1, "Press release, final".into())
        .await
        .unwrap();
    assert_eq!(
        (renamed.id, renamed.title.as_str()),
        (1, "Press release, final")
    );
    // The caller's state has the change when the call returns.
    let title = |b: &board_client::Board| b.columns[0].cards[0].title.clone();
    assert_eq!(
        title(&ada.state().unwrap().unwrap()),
        "Press release, final"
    );
    // The other client's next change is that delta.
    assert_eq!(grace.next_change().await.unwrap(), Change::State);
    assert_eq!(
        title(&grace.state().unwrap().unwrap()),
        "Press release, final"
    );

    // Trailing `Option` parameters are `Option`s; a `()` result is `()`.
    let created = ada.create_card(2, "From Rust".into(), None).await.unwrap();
    assert_eq!(created.assignee, None);
    let seen = grace
        .wait_for(
            |b| {
                b.as_ref()
                    .is_some_and(|b| b.columns[1].cards.iter().any(|c| c.id == created.id))
            },
            WAIT,
        )
        .await
        .unwrap();
    assert!(seen.is_some());
    ada.delete_card(created.id).await.unwrap();
    grace
        .wait_for(
            |b| {
                b.as_ref()
                    .is_some_and(|b| b.columns[1].cards.iter().all(|c| c.id != created.id))
            },
            WAIT,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn errors_are_typed_and_the_channel_goes_on() {
    let server = TestServer::start().await;
    let mut ada = BoardChannel::connect(&base(&server), 1, "ada-token")
        .await
        .unwrap();
    match ada.rename_card(1, "   ".into()).await {
        Err(CallError::Action(error)) => {
            assert_eq!(error.code, "invalid");
            let details: InvalidFields = serde_json::from_value(error.details.unwrap()).unwrap();
            assert!(details.fields.contains_key("title"), "{details:?}");
        }
        other => panic!("expected an invalid answer, got {other:?}"),
    }
    match ada.rename_card(999, "x".into()).await {
        Err(CallError::Action(error)) => assert_eq!(error.code, "not_found"),
        other => panic!("expected not_found, got {other:?}"),
    }
    // Still open, still in sync.
    ada.rename_card(2, "Book the hall".into()).await.unwrap();

    // Refusals come back as the close code.
    for (board, token, code) in [
        (2, "grace-token", 4003),
        (99, "ada-token", 4004),
        (1, "nobody", 4001),
    ] {
        match BoardChannel::connect(&base(&server), board, token).await {
            Err(SessionError::Closed { code: got, .. }) => {
                assert_eq!(got, code, "board {board} as {token}")
            }
            Err(other) => panic!("board {board} as {token}: {other}"),
            Ok(_) => panic!("board {board} as {token} was admitted"),
        }
    }
}

#[tokio::test]
async fn a_list_channel_is_a_typed_vec_that_follows_new_anchors() {
    let server = TestServer::start().await;
    let mut boards = MyBoardsChannel::connect(&base(&server), "ada-token")
        .await
        .unwrap();
    let titles =
        |list: &[board_client::Board]| list.iter().map(|b| b.title.clone()).collect::<Vec<_>>();
    assert_eq!(titles(&boards.state().unwrap()), ["Launch", "Research"]);
    let (status, _) = server
        .rest(
            Method::POST,
            "/api/boards",
            "ada-token",
            Some(json!({"title": "From REST"})),
        )
        .await;
    assert!(status.is_success(), "{status}");
    let list = boards
        .wait_for(|list| list.iter().any(|b| b.title == "From REST"), WAIT)
        .await
        .unwrap();
    assert_eq!(titles(&list), ["Launch", "Research", "From REST"]);
    boards.close().await.unwrap();
}
