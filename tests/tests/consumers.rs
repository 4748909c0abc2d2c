//! Consumers, groups and system messages over real sockets, with the
//! in-memory broker and across two apps that share a real Redis.

use std::time::Duration;

use board::db::{self, Db};
use board::state::{Board, User};
use rxd::broker::{SystemLevel, SystemMessage};
use rxd::client::{Client, ClientState, ServerMessage};
use rxd::{ActionError, Connect, Ctx, Load, LoadError, Reject};
use rxd_tests::TestServer;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

mod redis_support;

const WAIT: Duration = Duration::from_secs(5);

/// What the room's consumers have seen, per connection.
#[derive(Default, Serialize, rxd::TypeScript)]
struct RoomRuntime {
    notes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Note {
    text: String,
}

/// A channel whose connections join `board.{id}` when they connect, and
/// other groups when asked.
struct Room {
    board_id: i64,
}

#[rxd::channel(state = Board, route = "/ws/rooms/{board_id}", runtime = RoomRuntime)]
impl Room {
    async fn connect(ctx: &Connect, _user: User, board_id: i64) -> Result<Self, Reject> {
        ctx.join(format!("board.{board_id}"));
        Ok(Room { board_id })
    }

    async fn load(&self, ctx: &Load) -> Result<Board, LoadError> {
        db::load_board(ctx.data::<Db>()?, self.board_id)
            .await?
            .ok_or(LoadError::NotFound)
    }

    #[action]
    async fn follow(&self, ctx: &Ctx, group: String) -> Result<(), ActionError> {
        ctx.join(&group);
        Ok(())
    }

    #[action]
    async fn unfollow(&self, ctx: &Ctx, group: String) -> Result<(), ActionError> {
        ctx.leave(&group);
        Ok(())
    }

    /// Sends a note to a group from inside an action.
    #[action]
    async fn announce(&self, ctx: &Ctx, group: String, text: String) -> Result<(), ActionError> {
        ctx.hub()
            .send_event(&group, "note", &Note { text })
            .await
            .map_err(|e| ActionError::new("send_failed", e.to_string()))
    }

    #[consumer("note")]
    async fn on_note(&self, ctx: &Ctx, note: Note) {
        // Slow enough that events pile up behind it: order must hold.
        tokio::time::sleep(Duration::from_millis(2)).await;
        let _ = ctx.update_runtime(|runtime: &mut RoomRuntime| runtime.notes.push(note.text));
    }

    #[consumer("fail")]
    async fn on_fail(&self, _ctx: &Ctx, _event: Value) -> Result<(), String> {
        Err("this consumer always fails".into())
    }

    #[consumer("panic")]
    async fn on_panic(&self, _ctx: &Ctx, _event: Value) {
        panic!("deliberate panic in a consumer");
    }
}

fn room_app(db: &Db, broker: Option<rxd::broker::RedisBroker>) -> rxd::App {
    let builder = rxd::App::builder()
        .auth(board::TokenAuth::new(db.clone()))
        .data(db.clone())
        .channel::<Room>()
        .channel::<board::BoardChannel>();
    match broker {
        Some(broker) => builder.broker(broker).build(),
        None => builder.build(),
    }
}

async fn room_server() -> TestServer {
    let db = db::open("sqlite::memory:").await.unwrap();
    TestServer::serve(room_app(&db, None), db).await
}

/// A room connection, past its initial state and runtime.
async fn join_room(url: &str) -> Client {
    let mut client = Client::connect(url, "ada-token").await.expect("connect");
    let mut state = ClientState::new::<Board>();
    assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
    match client.next_within(WAIT).await.unwrap() {
        ServerMessage::Runtime(runtime) => assert_eq!(runtime, json!({"notes": []})),
        other => panic!("expected the initial runtime state, got {other:?}"),
    }
    client
}

/// Reads runtime states until the notes are `expected`; fails on anything
/// else that arrives, or on a close.
async fn notes_become(client: &mut Client, expected: &[&str]) {
    loop {
        match client
            .next_within(WAIT)
            .await
            .expect("a runtime state in time")
        {
            ServerMessage::Runtime(runtime) => {
                let notes: Vec<String> = serde_json::from_value(runtime["notes"].clone()).unwrap();
                assert!(
                    expected.starts_with(&notes.iter().map(String::as_str).collect::<Vec<_>>()),
                    "notes arrive in order: {notes:?}, want {expected:?}"
                );
                if notes.len() == expected.len() {
                    return;
                }
            }
            other => panic!("expected runtime states, got {other:?}"),
        }
    }
}

/// Proves nothing arrived before now: a ping's pong comes next.
async fn nothing_pending(client: &mut Client) {
    client.send_json(&json!({"type": "ping"})).await.unwrap();
    assert_eq!(client.next_within(WAIT).await.unwrap(), ServerMessage::Pong);
}

async fn call(client: &mut Client, id: u64, action: &str, args: Vec<Value>) {
    client.call(id, action, args).await.unwrap();
    loop {
        match client.next_within(WAIT).await.unwrap() {
            ServerMessage::Reply { id: got, result } if got == id => {
                result.expect("the call succeeds");
                return;
            }
            ServerMessage::Runtime(_) => continue,
            other => panic!("expected the reply to {action}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn group_events_reach_the_consumers_of_the_group_in_order_and_no_one_else() {
    let server = room_server().await;
    let hub = server.app.hub();
    let mut first = join_room(&server.ws("/ws/rooms/1")).await;
    let mut second = join_room(&server.ws("/ws/rooms/1")).await;
    let mut elsewhere = join_room(&server.ws("/ws/rooms/2")).await;
    assert_eq!(hub.group_size("board.1"), 2);

    let sent: Vec<String> = (0..20).map(|i| format!("note {i}")).collect();
    for text in &sent {
        hub.send_event("board.1", "note", &Note { text: text.clone() })
            .await
            .unwrap();
    }
    let expected: Vec<&str> = sent.iter().map(String::as_str).collect();
    notes_become(&mut first, &expected).await;
    notes_become(&mut second, &expected).await;
    nothing_pending(&mut elsewhere).await;

    // A kind this channel has no consumer for is ignored.
    hub.send_event("board.1", "unheard", &json!({"x": 1}))
        .await
        .unwrap();
    nothing_pending(&mut first).await;

    drop(first);
    let deadline = tokio::time::Instant::now() + WAIT;
    while hub.group_size("board.1") != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed connection leaves its groups"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_connection_joins_and_leaves_groups_at_run_time() {
    let server = room_server().await;
    let mut client = join_room(&server.ws("/ws/rooms/1")).await;
    let mut sender = join_room(&server.ws("/ws/rooms/2")).await;

    call(&mut client, 1, "follow", vec![json!("news")]).await;
    call(
        &mut sender,
        1,
        "announce",
        vec![json!("news"), json!("first")],
    )
    .await;
    notes_become(&mut client, &["first"]).await;

    call(&mut client, 2, "unfollow", vec![json!("news")]).await;
    call(
        &mut sender,
        2,
        "announce",
        vec![json!("news"), json!("second")],
    )
    .await;
    // Still in its own board's group: this one arrives, "second" never did.
    call(
        &mut sender,
        3,
        "announce",
        vec![json!("board.1"), json!("third")],
    )
    .await;
    notes_become(&mut client, &["first", "third"]).await;
    nothing_pending(&mut client).await;
}

#[tokio::test]
async fn a_bad_event_a_failing_and_a_panicking_consumer_leave_the_connection_open() {
    let server = room_server().await;
    let hub = server.app.hub();
    let mut client = join_room(&server.ws("/ws/rooms/1")).await;

    hub.send_event("board.1", "note", &json!({"not": "a note"}))
        .await
        .unwrap();
    hub.send_event("board.1", "fail", &json!(null))
        .await
        .unwrap();
    hub.send_event("board.1", "panic", &json!(null))
        .await
        .unwrap();
    hub.send_event(
        "board.1",
        "note",
        &Note {
            text: "still here".into(),
        },
    )
    .await
    .unwrap();
    notes_become(&mut client, &["still here"]).await;
    nothing_pending(&mut client).await;
}

#[tokio::test]
async fn system_messages_reach_every_connection_of_every_channel() {
    let server = room_server().await;
    let mut room = join_room(&server.ws("/ws/rooms/1")).await;
    let mut board = Client::connect(&server.board_url(2), "ada-token")
        .await
        .unwrap();
    let mut state = ClientState::new::<Board>();
    board.read_initial_state(&mut state).await.unwrap();

    for (level, text) in [
        (SystemLevel::Info, "new version deployed"),
        (SystemLevel::Warning, "restart in 5 minutes"),
        (SystemLevel::Maintenance, "restarting now"),
    ] {
        server.app.hub().system(level, text).await.unwrap();
        let expected = SystemMessage {
            level,
            message: text.into(),
        };
        for client in [&mut room, &mut board] {
            assert_eq!(
                client.next_within(WAIT).await.unwrap(),
                ServerMessage::System(expected.clone())
            );
        }
    }
}

mod over_redis {
    use super::redis_support::{namespace as test_namespace, redis_url};
    use super::*;

    async fn server(db: &Db, namespace: &str) -> TestServer {
        let config = rxd::broker::RedisConfig::new(&redis_url())
            .unwrap()
            .namespace(namespace);
        let broker = rxd::broker::RedisBroker::connect(config)
            .await
            .expect("a Redis server for the tests (RXD_TEST_REDIS_URL)");
        TestServer::serve(room_app(db, Some(broker)), db.clone()).await
    }

    #[tokio::test]
    async fn events_and_system_messages_cross_processes_in_one_order() {
        let namespace = test_namespace("consumers");
        let db = db::open("sqlite::memory:").await.unwrap();
        let a = server(&db, &namespace).await;
        let b = server(&db, &namespace).await;
        let mut on_a = join_room(&a.ws("/ws/rooms/1")).await;
        let mut on_b = join_room(&b.ws("/ws/rooms/1")).await;

        // Sent alternately from both processes; each sender waits for its
        // event to be ordered, so this is the deployment's order too.
        let mut expected = Vec::new();
        for i in 0..10 {
            let (hub, text) = if i % 2 == 0 {
                (a.app.hub(), format!("from a {i}"))
            } else {
                (b.app.hub(), format!("from b {i}"))
            };
            hub.send_event("board.1", "note", &Note { text: text.clone() })
                .await
                .unwrap();
            expected.push(text);
        }
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        notes_become(&mut on_a, &expected).await;
        notes_become(&mut on_b, &expected).await;

        b.app
            .hub()
            .system(SystemLevel::Warning, "from b to all")
            .await
            .unwrap();
        for client in [&mut on_a, &mut on_b] {
            assert_eq!(
                client.next_within(WAIT).await.unwrap(),
                ServerMessage::System(SystemMessage {
                    level: SystemLevel::Warning,
                    message: "from b to all".into(),
                })
            );
        }
    }
}
