//! Actions over a real socket: replies, deltas, errors, concurrency,
//! cancellation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use board::db::{self, Db};
use board::state::{Board, User};
use rxd::client::{Client, ClientState, ServerMessage};
use rxd::{ActionError, Connect, Ctx, Load, LoadError, Reject};
use rxd_tests::TestServer;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(5);

async fn watch(server: &TestServer, url: &str, token: &str) -> (Client, ClientState) {
    let mut client = Client::connect(url, token).await.expect("connect");
    let mut state = ClientState::new::<Board>();
    assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
    let _ = server;
    (client, state)
}

/// A lab connection, past its initial runtime state.
async fn watch_lab(server: &TestServer) -> Client {
    let (mut client, _) = watch(server, &server.ws("/ws/lab/1"), "ada-token").await;
    match client.next_within(WAIT).await.unwrap() {
        ServerMessage::Runtime(state) => assert_eq!(state, json!({"calls": 0, "last": null})),
        other => panic!("expected the initial runtime state, got {other:?}"),
    }
    client
}

/// Reads until the reply to `id`; returns it and the messages before it.
async fn reply(client: &mut Client, id: u64) -> (Result<Value, ActionError>, Vec<ServerMessage>) {
    let mut before = Vec::new();
    loop {
        match client.next_within(WAIT).await.expect("a message in time") {
            ServerMessage::Reply { id: got, result } if got == id => return (result, before),
            ServerMessage::Closed { code, reason } => panic!("closed {code} {reason}"),
            other => before.push(other),
        }
    }
}

fn code(result: &Result<Value, ActionError>) -> &str {
    match result {
        Ok(_) => "ok",
        Err(error) => &error.code,
    }
}

#[tokio::test]
async fn an_action_commits_and_every_client_sees_the_delta_the_caller_before_its_reply() {
    let server = TestServer::start().await;
    let url = server.board_url(1);
    let (mut ada, _) = watch(&server, &url, "ada-token").await;
    let (mut grace, mut grace_state) = watch(&server, &url, "grace-token").await;

    ada.call(1, "rename_card", vec![json!(1), json!("Renamed by action")])
        .await
        .unwrap();
    let (result, before) = reply(&mut ada, 1).await;
    let card = result.expect("renamed");
    assert_eq!(card["title"], "Renamed by action");
    assert!(
        matches!(&before[..], [ServerMessage::Delta { .. }]),
        "the delta comes before the reply: {before:?}"
    );

    let message = grace.next_within(WAIT).await.unwrap();
    grace_state.apply(&message).unwrap();
    let board = grace_state.rebuild::<Board>().unwrap().unwrap();
    assert_eq!(board.columns[0].cards[0].title, "Renamed by action");
}

#[tokio::test]
async fn every_card_action_converges_with_the_database() {
    let server = TestServer::start().await;
    let (mut client, mut state) = watch(&server, &server.board_url(1), "ada-token").await;
    let calls = [
        (
            "create_card",
            vec![json!(2), json!("Two args: no assignee")],
        ),
        ("create_card", vec![json!(1), json!("Assigned"), json!(2)]),
        ("move_card", vec![json!(1), json!(3)]),
        ("delete_card", vec![json!(2)]),
    ];
    for (i, (action, args)) in calls.into_iter().enumerate() {
        let id = i as u64 + 1;
        client.call(id, action, args).await.unwrap();
        let (result, before) = reply(&mut client, id).await;
        assert!(result.is_ok(), "{action}: {result:?}");
        for message in &before {
            state.apply(message).unwrap();
        }
    }
    let expected = db::load_board(&server.db, 1).await.unwrap();
    assert_eq!(state.rebuild::<Board>().unwrap(), expected);
}

#[tokio::test]
async fn bad_calls_answer_errors_and_keep_the_socket_open() {
    let server = TestServer::start().await;
    let (mut client, _) = watch(&server, &server.board_url(1), "ada-token").await;

    client.call(1, "no_such_action", vec![]).await.unwrap();
    assert_eq!(code(&reply(&mut client, 1).await.0), "unknown_action");

    client
        .call(2, "delete_card", vec![json!(1), json!(2)])
        .await
        .unwrap();
    assert_eq!(code(&reply(&mut client, 2).await.0), "bad_arguments");

    client
        .call(3, "rename_card", vec![json!("one"), json!("title")])
        .await
        .unwrap();
    let (result, _) = reply(&mut client, 3).await;
    let error = result.unwrap_err();
    assert_eq!(error.code, "bad_arguments");
    assert_eq!(
        error.details.unwrap()["param"],
        "card_id",
        "names the parameter"
    );

    // A required parameter left out.
    client.call(4, "rename_card", vec![json!(1)]).await.unwrap();
    let error = reply(&mut client, 4).await.0.unwrap_err();
    assert_eq!(error.details.unwrap()["param"], "title");

    // The app's own errors: a card of another board does not exist here.
    client
        .call(5, "rename_card", vec![json!(5), json!("hijack")])
        .await
        .unwrap();
    assert_eq!(code(&reply(&mut client, 5).await.0), "not_found");
    client
        .call(6, "rename_card", vec![json!(1), json!("   ")])
        .await
        .unwrap();
    let error = reply(&mut client, 6).await.0.unwrap_err();
    assert_eq!(error.code, "invalid");
    assert!(error.details.unwrap()["fields"]["title"].is_string());
    client
        .call(7, "move_card", vec![json!(1), json!(4)])
        .await
        .unwrap();
    assert_eq!(
        code(&reply(&mut client, 7).await.0),
        "forbidden",
        "column 4 is on board 2"
    );

    // Malformed calls.
    client
        .send_json(&json!({"type": "call", "action": "delete_card"}))
        .await
        .unwrap();
    match client.next_within(WAIT).await.unwrap() {
        ServerMessage::Error { code, .. } => assert_eq!(code, "bad_call"),
        other => panic!("{other:?}"),
    }
    client
        .send_json(&json!({"type": "call", "id": 9007199254740992_u64, "action": "x"}))
        .await
        .unwrap();
    match client.next_within(WAIT).await.unwrap() {
        ServerMessage::Error { code, .. } => assert_eq!(code, "bad_call", "id above 2^53-1"),
        other => panic!("{other:?}"),
    }
    client
        .send_json(
            &json!({"type": "call", "id": 8, "action": "delete_card", "args": {"card_id": 1}}),
        )
        .await
        .unwrap();
    assert_eq!(code(&reply(&mut client, 8).await.0), "bad_call");

    client.send_json(&json!({"type": "ping"})).await.unwrap();
    assert_eq!(client.next_within(WAIT).await.unwrap(), ServerMessage::Pong);
}

/// The lab's per-connection runtime state.
#[derive(Default, serde::Serialize, rxd::TypeScript)]
struct LabRuntime {
    calls: u32,
    last: Option<String>,
}

/// A channel with actions that misbehave on purpose.
struct Lab {
    finished: Arc<AtomicBool>,
}

#[rxd::channel(state = Board, route = "/ws/lab/{board_id}", runtime = LabRuntime)]
impl Lab {
    async fn connect(ctx: &Connect, _user: User, board_id: i64) -> Result<Self, Reject> {
        let _ = board_id;
        Ok(Lab {
            finished: ctx.data::<Arc<AtomicBool>>()?.clone(),
        })
    }

    async fn load(&self, ctx: &Load) -> Result<Board, LoadError> {
        db::load_board(ctx.data::<Db>()?, 1)
            .await?
            .ok_or(LoadError::NotFound)
    }

    #[action]
    async fn boom(&self, _ctx: &Ctx) -> Result<(), ActionError> {
        panic!("deliberate panic in an action");
    }

    #[action]
    async fn slow(&self, _ctx: &Ctx, millis: u64) -> Result<u64, ActionError> {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        self.finished.store(true, Ordering::SeqCst);
        Ok(millis)
    }

    /// Changes the runtime state twice: the client sees the last value,
    /// before the reply.
    #[action]
    async fn count(&self, ctx: &Ctx, label: String) -> Result<u32, ActionError> {
        ctx.update_runtime(|runtime: &mut LabRuntime| runtime.calls += 1)?;
        let mut calls = 0;
        ctx.update_runtime(|runtime: &mut LabRuntime| {
            runtime.last = Some(label);
            calls = runtime.calls;
        })?;
        Ok(calls)
    }

    #[action(name = "echo")]
    async fn echo_back(&self, _ctx: &Ctx, value: Value) -> Result<Value, ActionError> {
        Ok(value)
    }
}

async fn lab() -> (TestServer, Arc<AtomicBool>) {
    let db = db::open("sqlite::memory:").await.unwrap();
    let finished = Arc::new(AtomicBool::new(false));
    let app = rxd::App::builder()
        .auth(board::TokenAuth::new(db.clone()))
        .data(db.clone())
        .data(finished.clone())
        .limits(rxd::Limits {
            max_calls_in_flight: 2,
            ..rxd::Limits::default()
        })
        .channel::<Lab>()
        .build();
    (TestServer::serve(app, db).await, finished)
}

#[tokio::test]
async fn a_panicking_action_answers_internal_and_the_socket_lives_on() {
    let (server, _) = lab().await;
    let mut client = watch_lab(&server).await;
    client.call(1, "boom", vec![]).await.unwrap();
    let error = reply(&mut client, 1).await.0.unwrap_err();
    assert_eq!(error.code, "internal");
    assert!(!error.message.contains("deliberate"), "no internals leak");
    client
        .call(2, "echo", vec![json!({"a": [1]})])
        .await
        .unwrap();
    assert_eq!(reply(&mut client, 2).await.0.unwrap(), json!({"a": [1]}));
}

#[tokio::test]
async fn calls_run_concurrently_and_answer_by_id_in_any_order() {
    let (server, _) = lab().await;
    let mut client = watch_lab(&server).await;
    client.call(1, "slow", vec![json!(400)]).await.unwrap();
    client.call(2, "echo", vec![json!("fast")]).await.unwrap();
    match client.next_within(WAIT).await.unwrap() {
        ServerMessage::Reply { id, .. } => assert_eq!(id, 2, "the fast call answers first"),
        other => panic!("{other:?}"),
    }
    assert_eq!(reply(&mut client, 1).await.0.unwrap(), json!(400));
}

#[tokio::test]
async fn more_calls_than_the_limit_are_refused() {
    let (server, _) = lab().await;
    let mut client = watch_lab(&server).await;
    client.call(1, "slow", vec![json!(300)]).await.unwrap();
    client.call(2, "slow", vec![json!(300)]).await.unwrap();
    client.call(3, "slow", vec![json!(300)]).await.unwrap();
    assert_eq!(code(&reply(&mut client, 3).await.0), "too_many_calls");
    assert_eq!(code(&reply(&mut client, 1).await.0), "ok");
}

#[tokio::test]
async fn a_call_still_running_when_the_socket_closes_is_cancelled() {
    let (server, finished) = lab().await;
    let mut client = watch_lab(&server).await;
    client.call(1, "slow", vec![json!(300)]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.close().await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!finished.load(Ordering::SeqCst), "the call ran to the end");
}

#[tokio::test]
async fn runtime_state_is_sent_on_connect_and_after_each_change_before_the_reply() {
    let (server, _) = lab().await;
    let mut client = watch_lab(&server).await;
    client.call(1, "count", vec![json!("first")]).await.unwrap();
    let (result, before) = reply(&mut client, 1).await;
    assert_eq!(result.unwrap(), json!(1));
    assert_eq!(
        before.last(),
        Some(&ServerMessage::Runtime(
            json!({"calls": 1, "last": "first"})
        )),
        "the last runtime state came before the reply: {before:?}"
    );
    // A board channel declares no runtime state and sends none.
    let server = TestServer::start().await;
    let (mut client, _) = watch(&server, &server.board_url(1), "ada-token").await;
    client.send_json(&json!({"type": "ping"})).await.unwrap();
    assert_eq!(client.next_within(WAIT).await.unwrap(), ServerMessage::Pong);
}
