//! A cold load subscribes before it loads: a change committed while the
//! load runs is not lost.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use board::db::{self, Db};
use board::state::{Board, User};
use rxd::client::{Client, ClientState, ServerMessage};
use rxd::{Connect, Load, LoadError, Reject};
use rxd_tests::TestServer;
use serde_json::json;
use tokio::sync::Notify;

/// Lets the test act between the database read and the end of `load`.
#[derive(Default)]
struct LoadGate {
    read: Notify,
    release: Notify,
}

struct SlowBoard {
    board_id: i64,
    db: Db,
}

#[rxd::channel(state = Board, route = "/ws/slow/{board_id}")]
impl SlowBoard {
    async fn connect(ctx: &Connect, _user: User, board_id: i64) -> Result<Self, Reject> {
        let db = ctx.data::<Db>()?.clone();
        Ok(SlowBoard { board_id, db })
    }

    async fn load(&self, ctx: &Load) -> Result<Board, LoadError> {
        let board = db::load_board(&self.db, self.board_id)
            .await?
            .ok_or(LoadError::NotFound)?;
        let gate = ctx.data::<Arc<LoadGate>>()?;
        gate.read.notify_one();
        gate.release.notified().await;
        Ok(board)
    }
}

#[tokio::test]
async fn a_change_committed_during_a_slow_load_is_not_lost() {
    let db = db::open("sqlite::memory:").await.unwrap();
    let gate = Arc::new(LoadGate::default());
    let app = rxd::App::builder()
        .auth(board::TokenAuth::new(db.clone()))
        .data(db.clone())
        .data(gate.clone())
        .channel::<SlowBoard>()
        .build();
    let server = TestServer::serve(app, db).await;

    let url = server.ws("/ws/slow/1");
    let watcher = tokio::spawn(async move {
        let mut client = Client::connect(&url, "ada-token").await.unwrap();
        let mut state = ClientState::new::<Board>();
        assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
        (client, state)
    });

    // The load has read the database; commit a rename before it finishes.
    tokio::time::timeout(Duration::from_secs(5), gate.read.notified())
        .await
        .expect("load started");
    let (status, _) = server
        .rest(
            Method::PATCH,
            "/api/cards/1",
            "ada-token",
            Some(json!({"title": "During the load"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    gate.release.notify_one();

    let (mut client, mut state) = watcher.await.unwrap();
    let expected = db::load_board(&server.db, 1).await.unwrap().unwrap();
    // Either the snapshot already holds the rename, or a delta follows.
    while state.rebuild::<Board>().unwrap().as_ref() != Some(&expected) {
        match client.next_within(Duration::from_secs(2)).await {
            Ok(ServerMessage::Closed { code, .. }) => panic!("closed {code}"),
            Ok(message) => {
                state.apply(&message).unwrap();
            }
            Err(_) => panic!(
                "the rename was lost: {:#?}",
                state.rebuild::<Board>().unwrap()
            ),
        }
    }
}
