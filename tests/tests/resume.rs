//! Resume: a client that reconnects with the last version it saw receives
//! only what it missed (deletions and moves included), from another
//! process, whether that process holds the anchor hot (exact, from its
//! cache) or cold (from the broker's history); beyond history, or from a
//! version the server has not reached, it receives a full state.
//!
//! The Redis cases run two apps in this process, each with its own
//! `RedisBroker` on one namespace and its own pool on one SQLite file: two
//! processes in all but the address space.

mod redis_support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use board::state::Board;
use redis_support::{drop_namespace, namespace, redis_url, shared_db, with_namespace, TempDir};
use rxd::broker::{HistoryLimits, MemoryBroker, RedisBroker, RedisConfig};
use rxd::client::{Client, ClientState, LoadStats, ServerMessage};
use rxd::InstanceId;
use rxd_tests::TestServer;
use serde_json::{json, Map, Value};

const WAIT: Duration = Duration::from_secs(20);

/// The flat instances a client holds, without their versions.
type Flat = HashMap<InstanceId, Map<String, Value>>;

fn flat(state: &ClientState) -> Flat {
    state
        .instances()
        .iter()
        .map(|(id, instance)| (id.clone(), instance.fields.clone()))
        .collect()
}

/// Connects (resuming from `from` if given) and reads the initial state or
/// resume answer into `state`.
async fn connect(url: &str, from: Option<u64>, state: &mut ClientState) -> Client {
    let mut client = Client::connect_resuming(url, "ada-token", from)
        .await
        .expect("connect");
    let closed = tokio::time::timeout(WAIT, client.read_initial_state(state))
        .await
        .expect("initial state in time")
        .expect("initial state");
    assert_eq!(closed, None, "server closed instead of answering");
    client
}

/// Applies messages until the client's state equals a fresh load.
async fn converge(server: &TestServer, client: &mut Client, state: &mut ClientState) {
    let expected = fresh(server).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while state.rebuild::<Board>().expect("rebuild").as_ref() != Some(&expected) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.next_within(left).await.expect("converge in time") {
            ServerMessage::Closed { code, reason } => panic!("closed {code} {reason}"),
            message => {
                state.apply(&message).expect("apply");
            }
        }
    }
}

async fn fresh(server: &TestServer) -> Board {
    board::db::load_board(&server.db, 1)
        .await
        .expect("load")
        .expect("board 1")
}

async fn rest(server: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = server.rest(method.clone(), path, "ada-token", body).await;
    assert!(status.is_success(), "{method} {path}: {status} {answer}");
    answer
}

/// Board 1 gets 60 more cards, so that a full state is far larger than
/// what 50 changes touch. Returns every card id of board 1.
async fn seed(server: &TestServer) -> Vec<i64> {
    let mut ids = vec![1, 2, 3, 4];
    for n in 0..60 {
        let assignee = [Value::Null, json!(1), json!(2)][n % 3].clone();
        let card = rest(
            server,
            Method::POST,
            "/api/cards",
            Some(json!({"column_id": 1 + n % 3, "title": format!("Seed {n}"), "assignee_id": assignee})),
        )
        .await;
        ids.push(card["id"].as_i64().expect("card id"));
    }
    ids
}

/// 50 changes to board 1, none undoing another: 10 new cards, 12 renames,
/// 14 moves to another column, 2 moves to board 2 (they leave the state),
/// 12 deletes. Alternates between the two servers.
async fn fifty_changes(servers: [&TestServer; 2], cards: &[i64]) {
    let mut n = 0;
    let mut next = || {
        n += 1;
        servers[n % 2]
    };
    for i in 0..10 {
        let body = json!({"column_id": 1 + i % 3, "title": format!("New {i}")});
        rest(next(), Method::POST, "/api/cards", Some(body)).await;
    }
    let mut cards = cards.iter().copied();
    for i in 0..12 {
        let id = cards.next().expect("a card");
        let body = json!({"title": format!("Renamed {i}")});
        rest(
            next(),
            Method::PATCH,
            &format!("/api/cards/{id}"),
            Some(body),
        )
        .await;
    }
    for _ in 0..14 {
        let id = cards.next().expect("a card");
        let server = next();
        let column = column_of(server, id).await;
        let body = json!({"column_id": 1 + column % 3});
        rest(
            server,
            Method::PATCH,
            &format!("/api/cards/{id}"),
            Some(body),
        )
        .await;
    }
    for _ in 0..2 {
        let id = cards.next().expect("a card");
        let body = json!({"column_id": 4});
        rest(
            next(),
            Method::PATCH,
            &format!("/api/cards/{id}"),
            Some(body),
        )
        .await;
    }
    for _ in 0..12 {
        let id = cards.next().expect("a card");
        let (status, answer) = next()
            .rest(
                Method::DELETE,
                &format!("/api/cards/{id}"),
                "ada-token",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "delete {id}: {answer}");
    }
}

async fn column_of(server: &TestServer, card: i64) -> i64 {
    let board = fresh(server).await;
    board
        .columns
        .iter()
        .find(|c| c.cards.iter().any(|k| k.id == card))
        .map(|c| c.id)
        .expect("the card is on board 1")
}

/// What a client holding `before` must receive to hold `after`: the
/// instances that are new or different, and the ones that are gone.
fn missed(before: &Flat, after: &Flat) -> (usize, usize) {
    let changed = after
        .iter()
        .filter(|(id, fields)| before.get(*id) != Some(*fields))
        .count();
    let gone = before.keys().filter(|id| !after.contains_key(*id)).count();
    (changed, gone)
}

async fn redis_app(db_url: &str, redis: &str) -> TestServer {
    let db = board::db::open(db_url).await.expect("open the shared db");
    let config = RedisConfig::new(redis).expect("redis config");
    let broker = RedisBroker::connect(config).await.expect("redis broker");
    let app = board::app_builder(db.clone()).broker(broker).build();
    TestServer::serve(app, db).await
}

/// The scenario of issue #4 on two Redis-sharing apps: the client leaves A,
/// 50 changes commit, it resumes on B. `hot`: another client keeps board 1
/// hot on B throughout (the exact path); else B loads it cold (history).
async fn resume_on_another_process(hot: bool) -> (LoadStats, usize, (usize, usize)) {
    let dir = TempDir::new("resume");
    let (db_url, _db) = shared_db(&dir).await;
    let ns = namespace("resume");
    let redis = with_namespace(&redis_url(), &ns);
    let a = redis_app(&db_url, &redis).await;
    let b = redis_app(&db_url, &redis).await;
    let cards = seed(&a).await;

    let mut keeper = ClientState::new::<Board>();
    let mut keeper_client = if hot {
        Some(connect(&b.board_url(1), None, &mut keeper).await)
    } else {
        None
    };
    let mut state = ClientState::new::<Board>();
    let mut client = connect(&a.board_url(1), None, &mut state).await;
    converge(&a, &mut client, &mut state).await;
    let full_size = state.instances().len();
    let before = flat(&state);
    let version = state.version();
    client.close().await.expect("close");

    // Cards 5.. are the seeded ones, in three columns.
    fifty_changes([&a, &b], &cards[4..]).await;
    if let Some(keeper_client) = &mut keeper_client {
        converge(&b, keeper_client, &mut keeper).await;
    }

    let client = connect(&b.board_url(1), Some(version), &mut state).await;
    let load = state.last_load().expect("an answer");
    assert_eq!(
        state.rebuild::<Board>().expect("rebuild"),
        Some(fresh(&b).await),
        "the resumed state is a fresh load's"
    );
    let after = flat(&state);
    if hot {
        assert_eq!(after, flat(&keeper), "exactly the instances B holds");
    }
    // Nothing more arrives that the answer should have carried.
    client.close().await.expect("close");
    drop_namespace(&redis_url(), &ns).await;
    let missed = missed(&before, &after);
    eprintln!(
        "hot: {hot}; answer: {load:?}; missed (changed, gone): {missed:?}; full state: {full_size}"
    );
    (load, full_size, missed)
}

#[tokio::test]
async fn a_client_resumes_exactly_on_a_process_that_holds_the_anchor_hot() {
    let (load, full_size, (changed, gone)) = resume_on_another_process(true).await;
    assert!(load.resumed, "a resume, not a full state: {load:?}");
    assert_eq!(
        (load.instances, load.deleted),
        (changed, gone),
        "exactly the missed instances (a full state has {full_size})"
    );
    assert_eq!(gone, 14, "12 deleted cards and 2 moved to board 2");
}

#[tokio::test]
async fn a_client_resumes_from_redis_history_on_a_process_where_the_anchor_is_cold() {
    let (load, full_size, (changed, gone)) = resume_on_another_process(false).await;
    assert!(load.resumed, "a resume, not a full state: {load:?}");
    assert!(
        load.instances >= changed && load.deleted >= gone,
        "at least what was missed: {load:?} vs {changed} changed, {gone} gone"
    );
    assert!(
        load.instances < full_size,
        "less than a full state ({full_size}): {load:?}"
    );
}

/// A single app on the in-memory broker with the given history limits.
async fn memory_app(history: HistoryLimits, limits: rxd::Limits) -> TestServer {
    let db = board::db::open("sqlite::memory:").await.expect("db");
    let app = board::app_builder(db.clone())
        .broker(MemoryBroker::with_history(history))
        .limits(limits)
        .build();
    TestServer::serve(app, db).await
}

/// Connects, leaves, lets `changes` cards be renamed, and resumes; the
/// anchor goes cold when the client leaves, so the broker's history
/// answers.
async fn resume_after(server: &TestServer, changes: i64, from: impl Fn(u64) -> u64) -> LoadStats {
    let mut state = ClientState::new::<Board>();
    let client = connect(&server.board_url(1), None, &mut state).await;
    let version = state.version();
    client.close().await.expect("close");
    tokio::time::sleep(Duration::from_millis(50)).await;
    for i in 0..changes {
        let id = 1 + i % 4;
        let body = json!({"title": format!("Rename {i}")});
        rest(
            server,
            Method::PATCH,
            &format!("/api/cards/{id}"),
            Some(body),
        )
        .await;
    }
    let _client = connect(&server.board_url(1), Some(from(version)), &mut state).await;
    assert_eq!(
        state.rebuild::<Board>().expect("rebuild"),
        Some(fresh(server).await)
    );
    state.last_load().expect("an answer")
}

fn cold_limits() -> rxd::Limits {
    rxd::Limits {
        idle_anchor_ttl: Duration::ZERO,
        ..Default::default()
    }
}

#[tokio::test]
async fn within_the_memory_brokers_history_a_cold_anchor_resumes() {
    let history = HistoryLimits {
        max_events: 5,
        max_age: Duration::from_secs(60),
    };
    let server = memory_app(history, cold_limits()).await;
    let load = resume_after(&server, 5, |v| v).await;
    assert!(load.resumed, "{load:?}");
    assert_eq!(load.deleted, 0);
}

#[tokio::test]
async fn control_events_in_between_do_not_break_the_history() {
    let server = memory_app(HistoryLimits::default(), cold_limits()).await;
    let hub = server.app.hub();
    let mut state = ClientState::new::<Board>();
    let client = connect(&server.board_url(1), None, &mut state).await;
    let version = state.version();
    client.close().await.expect("close");
    tokio::time::sleep(Duration::from_millis(50)).await;
    hub.system(rxd::broker::SystemLevel::Info, "in between")
        .await
        .expect("a system message");
    let body = json!({"title": "Renamed between control events"});
    rest(&server, Method::PATCH, "/api/cards/1", Some(body)).await;
    hub.send_event("nobody", "nothing", &json!(null))
        .await
        .expect("an event");
    let _client = connect(&server.board_url(1), Some(version), &mut state).await;
    let load = state.last_load().expect("an answer");
    assert!(load.resumed, "control events take versions too: {load:?}");
    assert_eq!(
        state.rebuild::<Board>().expect("rebuild"),
        Some(fresh(&server).await)
    );
}

#[tokio::test]
async fn beyond_the_memory_brokers_history_a_client_gets_a_full_state() {
    let history = HistoryLimits {
        max_events: 5,
        max_age: Duration::from_secs(60),
    };
    let server = memory_app(history, cold_limits()).await;
    let load = resume_after(&server, 6, |v| v).await;
    assert!(!load.resumed, "event 1 of 6 is gone: {load:?}");
    assert_eq!(
        load.instances, 10,
        "the whole board: board, 3 columns, 4 cards, 2 users"
    );
}

#[tokio::test]
async fn a_version_from_the_future_gets_a_full_state() {
    let server = memory_app(HistoryLimits::default(), rxd::Limits::default()).await;
    let load = resume_after(&server, 1, |v| v + 1_000).await;
    assert!(!load.resumed, "{load:?}");
    assert_eq!(load.instances, 10);
}

#[tokio::test]
async fn forgotten_tombstones_fall_back_to_history() {
    // The anchor stays hot, but remembers only two removals: a client from
    // before three deletes cannot be answered from the cache alone.
    let limits = rxd::Limits {
        resume_history: HistoryLimits {
            max_events: 2,
            max_age: Duration::from_secs(60),
        },
        ..Default::default()
    };
    let server = memory_app(HistoryLimits::default(), limits).await;
    let mut keeper = ClientState::new::<Board>();
    let _keeper = connect(&server.board_url(1), None, &mut keeper).await;
    let mut state = ClientState::new::<Board>();
    let client = connect(&server.board_url(1), None, &mut state).await;
    let version = state.version();
    client.close().await.expect("close");
    for id in [1, 2, 3] {
        server
            .rest(
                Method::DELETE,
                &format!("/api/cards/{id}"),
                "ada-token",
                None,
            )
            .await;
    }
    let _client = connect(&server.board_url(1), Some(version), &mut state).await;
    let load = state.last_load().expect("an answer");
    assert!(load.resumed, "{load:?}");
    assert_eq!(load.deleted, 3, "every delete, from history: {load:?}");
    assert_eq!(
        state.rebuild::<Board>().expect("rebuild"),
        Some(fresh(&server).await)
    );
    let ids: HashSet<&InstanceId> = state.instances().keys().collect();
    assert!(ids
        .iter()
        .all(|id| &*id.type_name != "Card" || id.key == rxd::Key::Int(4)));
}

#[tokio::test]
async fn a_malformed_last_version_is_a_protocol_error() {
    let server = memory_app(HistoryLimits::default(), rxd::Limits::default()).await;
    let mut client = Client::connect_raw(&server.board_url(1))
        .await
        .expect("connect");
    client
        .send_json(&json!({"type": "auth", "token": "ada-token", "last_version": "41"}))
        .await
        .expect("send");
    assert_eq!(rxd_tests::close_code(&mut client).await, 4002);
}
