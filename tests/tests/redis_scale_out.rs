//! Several real `board` processes share one Redis and one SQLite file: a
//! write on one reaches the clients of all, a client that moves to another
//! process gets a correct state, and Redis work does not grow with
//! WebSocket connections. See `redis_support` for how servers are started.

mod redis_support;

use redis_support::*;
use serde_json::json;

#[tokio::test]
async fn a_write_on_one_process_reaches_clients_on_the_others() {
    let dir = TempDir::new("fanout");
    let (db_url, db) = shared_db(&dir).await;
    let ns = namespace("fanout");
    let redis = with_namespace(&redis_url(), &ns);
    let a = Server::start(&db_url, &redis).await;
    let b = Server::start(&db_url, &redis).await;
    let c = Server::start(&db_url, &redis).await;

    let (mut on_a, mut on_a_state) = watch_board(&a.board_url(1), "ada-token").await;
    let (mut on_b, mut on_b_state) = watch_board(&b.board_url(1), "grace-token").await;
    let (mut on_c, mut on_c_state) = watch_board(&c.board_url(1), "ada-token").await;
    let (mut other, mut other_state) = watch_board(&c.board_url(2), "ada-token").await;

    let writes = [
        (
            "PATCH",
            "/api/cards/1",
            Some(json!({"title": "Renamed on A"})),
            200,
        ),
        (
            "POST",
            "/api/cards",
            Some(json!({"column_id": 2, "title": "Created on A", "assignee_id": 1})),
            201,
        ),
        ("PATCH", "/api/cards/2", Some(json!({"column_id": 3})), 200),
        ("DELETE", "/api/cards/4", None, 204),
    ];
    for (method, path, body, expected) in writes {
        let (status, answer) = a.rest(method, path, "ada-token", body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
    }

    converge(&db, 1, &mut on_a, &mut on_a_state).await;
    converge(&db, 1, &mut on_b, &mut on_b_state).await;
    converge(&db, 1, &mut on_c, &mut on_c_state).await;
    for state in [&on_a_state, &on_b_state, &on_c_state] {
        assert_eq!(state.deltas_applied(), 4, "one delta per write, no reloads");
    }
    // Every process numbers the deltas alike.
    assert_eq!(on_a_state.version(), on_b_state.version());
    assert_eq!(on_b_state.version(), on_c_state.version());
    converge(&db, 2, &mut other, &mut other_state).await;
    assert_eq!(other_state.deltas_applied(), 0, "board 2 saw none of it");
    drop_namespace(&redis_url(), &ns).await;
}

#[tokio::test]
async fn a_client_that_moves_to_another_process_gets_a_fresh_state() {
    let dir = TempDir::new("moves");
    let (db_url, db) = shared_db(&dir).await;
    let ns = namespace("moves");
    let redis = with_namespace(&redis_url(), &ns);
    let a = Server::start(&db_url, &redis).await;
    let b = Server::start(&db_url, &redis).await;
    let c = Server::start(&db_url, &redis).await;

    let (mut client, mut state) = watch_board(&a.board_url(1), "ada-token").await;
    let (status, _) = b
        .rest(
            "PATCH",
            "/api/cards/1",
            "ada-token",
            Some(json!({"title": "Seen"})),
        )
        .await;
    assert_eq!(status, 200);
    converge(&db, 1, &mut client, &mut state).await;
    let seen = state.version();
    client.close().await.expect("close");

    // Missed while away: a rename, a move, a delete and a new card.
    for (method, path, body) in [
        ("PATCH", "/api/cards/1", Some(json!({"title": "Missed"}))),
        ("PATCH", "/api/cards/3", Some(json!({"column_id": 1}))),
        ("DELETE", "/api/cards/2", None),
        (
            "POST",
            "/api/cards",
            Some(json!({"column_id": 3, "title": "New while away"})),
        ),
    ] {
        let (status, answer) = b.rest(method, path, "ada-token", body).await;
        assert!((200..300).contains(&status), "{method} {path}: {answer}");
    }

    let (mut client, mut state) = watch_board(&c.board_url(1), "ada-token").await;
    assert_eq!(
        state.rebuild::<board::state::Board>().unwrap().as_ref(),
        Some(&fresh(&db, 1).await),
        "the state on reconnect is a fresh load"
    );
    assert!(
        state.version() > seen,
        "versions agree across processes: {} after {seen}",
        state.version()
    );
    // And it keeps receiving deltas there, from a write on yet another
    // process.
    let (status, _) = a
        .rest(
            "PATCH",
            "/api/cards/1",
            "ada-token",
            Some(json!({"title": "Later"})),
        )
        .await;
    assert_eq!(status, 200);
    converge(&db, 1, &mut client, &mut state).await;
    assert_eq!(state.deltas_applied(), 1);
    drop_namespace(&redis_url(), &ns).await;
}

#[tokio::test]
async fn redis_connections_do_not_grow_with_websockets() {
    let dir = TempDir::new("conns");
    let (db_url, db) = shared_db(&dir).await;
    let ns = namespace("conns");
    let redis = with_namespace(&redis_url(), &ns);
    let a = Server::start(&db_url, &redis).await;
    let b = Server::start(&db_url, &redis).await;

    let before = redis_clients(&redis_url(), &ns).await;
    assert_eq!(
        before.len(),
        4,
        "a publisher and a reader per process: {before:#?}"
    );
    for server in [&a, &b] {
        let mine = before
            .iter()
            .filter(|l| l.contains(&format!(":{} ", server.pid())))
            .count();
        assert_eq!(mine, 2, "two connections for process {}", server.pid());
    }

    let mut clients = Vec::new();
    for i in 0..60 {
        let server = if i % 2 == 0 { &a } else { &b };
        let board = if i % 3 == 0 { 2 } else { 1 };
        clients.push((
            board,
            watch_board(&server.board_url(board), "ada-token").await,
        ));
    }
    for i in 0..5 {
        let (status, _) = a
            .rest(
                "PATCH",
                "/api/cards/1",
                "ada-token",
                Some(json!({"title": format!("title {i}")})),
            )
            .await;
        assert_eq!(status, 200);
    }
    for (board, (client, state)) in &mut clients {
        converge(&db, *board, client, state).await;
    }

    let after = redis_clients(&redis_url(), &ns).await;
    assert_eq!(after.len(), before.len(), "{after:#?}");
    drop_namespace(&redis_url(), &ns).await;
}
