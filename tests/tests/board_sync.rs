//! The spine, end to end: real server, real sockets, REST writes, deltas.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use board::state::Board;
use rxd::client::{Client, ClientState, ServerMessage};
use rxd_tests::TestServer;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

/// Connects and reads the initial state.
async fn watch(server: &TestServer, board: i64, token: &str) -> (Client, ClientState) {
    let mut client = Client::connect(&server.board_url(board), token)
        .await
        .expect("connect");
    let mut state = ClientState::new::<Board>();
    let closed = client
        .read_initial_state(&mut state)
        .await
        .expect("initial state");
    assert_eq!(closed, None, "server closed instead of sending state");
    (client, state)
}

/// Applies messages until the client's state equals the database's.
async fn converge(server: &TestServer, board: i64, client: &mut Client, state: &mut ClientState) {
    let expected = board::db::load_board(&server.db, board)
        .await
        .expect("load")
        .expect("board exists");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if state.rebuild::<Board>().expect("rebuild").as_ref() == Some(&expected) {
            return;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.next_within(left).await {
            Ok(ServerMessage::Closed { code, reason }) => panic!("closed {code} {reason}"),
            Ok(message) => {
                state.apply(&message).expect("apply");
            }
            Err(error) => panic!(
                "did not converge: {error}\nclient: {:#?}\ndatabase: {expected:#?}",
                state.rebuild::<Board>()
            ),
        }
    }
}

#[tokio::test]
async fn initial_state_is_the_loaded_board() {
    let server = TestServer::start().await;
    let (_client, state) = watch(&server, 1, "ada-token").await;
    let expected = board::db::load_board(&server.db, 1).await.unwrap();
    assert_eq!(state.rebuild::<Board>().unwrap(), expected);
    // Ada owns the board and is assigned cards: one User instance.
    let users = state
        .instances()
        .keys()
        .filter(|id| &*id.type_name == "User")
        .count();
    assert_eq!(users, 2, "Ada and Grace, each once");
}

#[tokio::test]
async fn authorization_header_authenticates_without_a_first_message() {
    let server = TestServer::start().await;
    let mut client = Client::connect_with_header(&server.board_url(1), "grace-token")
        .await
        .unwrap();
    let mut state = ClientState::new::<Board>();
    assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
    assert_eq!(state.rebuild::<Board>().unwrap().unwrap().title, "Launch");
}

#[tokio::test]
async fn rest_writes_reach_every_client_on_the_board() {
    let server = TestServer::start().await;
    let (mut ada, mut ada_state) = watch(&server, 1, "ada-token").await;
    let (mut grace, mut grace_state) = watch(&server, 1, "grace-token").await;
    let (mut other, mut other_state) = watch(&server, 2, "ada-token").await;

    let (status, _) = server
        .rest(
            Method::PATCH,
            "/api/cards/1",
            "ada-token",
            Some(json!({"title": "Renamed"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, created) = server
        .rest(
            Method::POST,
            "/api/cards",
            "grace-token",
            Some(json!({"column_id": 2, "title": "Brand new", "assignee_id": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, _) = server
        .rest(
            Method::PATCH,
            "/api/cards/2",
            "ada-token",
            Some(json!({"column_id": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .rest(Method::DELETE, "/api/cards/4", "ada-token", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    converge(&server, 1, &mut ada, &mut ada_state).await;
    converge(&server, 1, &mut grace, &mut grace_state).await;
    let board = ada_state.rebuild::<Board>().unwrap().unwrap();
    let titles: Vec<&str> = board
        .columns
        .iter()
        .flat_map(|c| c.cards.iter().map(|card| card.title.as_str()))
        .collect();
    assert!(titles.contains(&"Renamed") && titles.contains(&"Brand new"));
    assert!(!board.columns[2].cards.iter().any(|c| c.id == 4), "deleted");
    assert_eq!(
        board.columns[2].cards.last().map(|c| c.id),
        Some(2),
        "moved"
    );
    assert_eq!(ada_state.deltas_applied(), 4, "one delta per batch");

    // Board 2 saw none of it.
    converge(&server, 2, &mut other, &mut other_state).await;
    assert_eq!(other_state.deltas_applied(), 0);
}

#[tokio::test]
async fn a_card_moved_to_another_board_leaves_one_and_reaches_the_other() {
    let server = TestServer::start().await;
    let (mut one, mut one_state) = watch(&server, 1, "ada-token").await;
    let (mut two, mut two_state) = watch(&server, 2, "ada-token").await;
    let (status, _) = server
        .rest(
            Method::PATCH,
            "/api/cards/3",
            "ada-token",
            Some(json!({"column_id": 4})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    converge(&server, 1, &mut one, &mut one_state).await;
    converge(&server, 2, &mut two, &mut two_state).await;
    assert!(!one_state
        .instances()
        .keys()
        .any(|id| &*id.type_name == "Card" && id.key == rxd::Key::Int(3)));
}

#[tokio::test]
async fn rest_refuses_what_the_caller_may_not_do() {
    let server = TestServer::start().await;
    let (status, _) = server
        .rest(
            Method::PATCH,
            "/api/cards/5",
            "grace-token",
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "card 5 is on board 2");
    let (status, _) = server
        .rest(
            Method::PATCH,
            "/api/cards/1",
            "nobody",
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = server
        .rest(
            Method::PATCH,
            "/api/cards/1",
            "ada-token",
            Some(json!({"title": "  "})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["fields"]["title"].is_string(), "{body}");
    let (status, _) = server
        .rest(Method::DELETE, "/api/cards/999", "ada-token", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ping_is_answered_and_unknown_messages_keep_the_socket_open() {
    let server = TestServer::start().await;
    let (mut client, mut state) = watch(&server, 1, "ada-token").await;
    client.send_json(&json!({"type": "ping"})).await.unwrap();
    assert_eq!(client.next_within(WAIT).await.unwrap(), ServerMessage::Pong);
    client
        .send_json(&json!({"type": "subscribe"}))
        .await
        .unwrap();
    match client.next_within(WAIT).await.unwrap() {
        ServerMessage::Error { code, .. } => assert_eq!(code, "unknown_type"),
        other => panic!("expected an error, got {other:?}"),
    }
    client
        .send_json(&json!({"type": "auth", "token": "ada-token"}))
        .await
        .unwrap();
    match client.next_within(WAIT).await.unwrap() {
        ServerMessage::Error { code, .. } => assert_eq!(code, "already_authenticated"),
        other => panic!("expected an error, got {other:?}"),
    }
    // Still subscribed.
    server
        .rest(
            Method::PATCH,
            "/api/cards/1",
            "ada-token",
            Some(json!({"title": "Still here"})),
        )
        .await;
    converge(&server, 1, &mut client, &mut state).await;
}

/// A random sequence of creates, renames, moves and deletes through the
/// REST API, with clients joining mid-sequence: at the end every client's
/// state equals a fresh load.
#[tokio::test]
async fn random_writes_converge_on_every_client() {
    let server = TestServer::start().await;
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        // xorshift: reproducible without a dependency.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut clients = vec![
        watch(&server, 1, "ada-token").await,
        watch(&server, 2, "ada-token").await,
    ];
    let mut boards = vec![1, 2];
    let mut cards: Vec<i64> = vec![1, 2, 3, 4, 5];
    let columns = [1_i64, 2, 3, 4, 5];
    for step in 0..120 {
        if step % 30 == 15 {
            let board = 1 + (step / 30) as i64 % 2;
            clients.push(watch(&server, board, "ada-token").await);
            boards.push(board);
        }
        let column = columns[next(columns.len() as u64) as usize];
        match next(4) {
            0 => {
                let (status, card) = server
                    .rest(
                        Method::POST,
                        "/api/cards",
                        "ada-token",
                        Some(json!({"column_id": column, "title": format!("card {step}"), "assignee_id": next(3) + 1})),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED);
                cards.push(card["id"].as_i64().unwrap());
            }
            _ if cards.is_empty() => {}
            1 => {
                let card = cards[next(cards.len() as u64) as usize];
                let (status, _) = server
                    .rest(
                        Method::PATCH,
                        &format!("/api/cards/{card}"),
                        "ada-token",
                        Some(json!({"title": format!("renamed {step}")})),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK);
            }
            2 => {
                let card = cards[next(cards.len() as u64) as usize];
                let (status, _) = server
                    .rest(
                        Method::PATCH,
                        &format!("/api/cards/{card}"),
                        "ada-token",
                        Some(json!({"column_id": column})),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK);
            }
            _ => {
                let card = cards.remove(next(cards.len() as u64) as usize);
                let (status, _) = server
                    .rest(
                        Method::DELETE,
                        &format!("/api/cards/{card}"),
                        "ada-token",
                        None,
                    )
                    .await;
                assert_eq!(status, StatusCode::NO_CONTENT);
            }
        }
    }
    for ((client, state), board) in clients.iter_mut().zip(&boards) {
        converge(&server, *board, client, state).await;
    }
}

#[tokio::test]
async fn a_batch_is_one_delta_where_the_last_save_wins_and_a_dropped_batch_sends_nothing() {
    let server = TestServer::start().await;
    let (mut client, mut state) = watch(&server, 1, "ada-token").await;
    let hub = server.app.hub();
    let mut card = state.rebuild::<Board>().unwrap().unwrap().columns[0].cards[0].clone();

    let mut dropped = hub.batch();
    card.title = "never sent".into();
    dropped.save(&card).unwrap();
    drop(dropped);

    let mut batch = hub.batch();
    for i in 0..5 {
        card.title = format!("save {i}");
        batch.save(&card).unwrap();
    }
    batch.commit().await.unwrap();
    // The empty batch commits nothing.
    assert_eq!(hub.batch().commit().await.unwrap(), None);

    // A ping after the commits: everything sent before it is already queued.
    client.send_json(&json!({"type": "ping"})).await.unwrap();
    let mut deltas = Vec::new();
    loop {
        match client.next_within(WAIT).await.unwrap() {
            ServerMessage::Pong => break,
            message => {
                state.apply(&message).unwrap();
                deltas.push(message);
            }
        }
    }
    assert_eq!(deltas.len(), 1, "{deltas:?}");
    let ServerMessage::Delta { instances, .. } = &deltas[0] else {
        panic!("{deltas:?}")
    };
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0]["title"], "save 4");
}
