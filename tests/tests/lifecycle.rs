//! A connection's life beyond the happy path: heartbeats and shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use board::db::{self, Db};
use board::state::{Board, User};
use rxd::client::{Client, ClientState, ServerMessage};
use rxd::{ActionError, Connect, Ctx, Load, LoadError, Reject};
use rxd_tests::{close_code, TestServer};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

struct Slow;

/// How many times the channel loaded from the database.
#[derive(Default, Clone)]
struct Loads(Arc<AtomicUsize>);

/// How many times the channel's `ready` and `disconnect` ran.
#[derive(Default, Clone)]
struct Hooks {
    ready: Arc<AtomicUsize>,
    disconnect: Arc<AtomicUsize>,
}

impl Hooks {
    /// Waits until `n` connections ended, then a little longer to catch a
    /// second run of the hook; each admitted connection ran `ready` once.
    async fn expect(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.disconnect.load(Ordering::SeqCst) < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "disconnect ran {} times, expected {n}",
                self.disconnect.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            self.disconnect.load(Ordering::SeqCst),
            n,
            "disconnect ran once per connection"
        );
        assert_eq!(
            self.ready.load(Ordering::SeqCst),
            n,
            "ready ran once per connection"
        );
    }
}

#[rxd::channel(state = Board, route = "/ws/slow/{board_id}")]
impl Slow {
    async fn connect(_ctx: &Connect, _user: User, board_id: i64) -> Result<Self, Reject> {
        let _ = board_id;
        Ok(Slow)
    }

    async fn load(&self, ctx: &Load) -> Result<Board, LoadError> {
        ctx.data::<Loads>()?.0.fetch_add(1, Ordering::SeqCst);
        db::load_board(ctx.data::<Db>()?, 1)
            .await?
            .ok_or(LoadError::NotFound)
    }

    async fn ready(&self, ctx: &Ctx) {
        if let Ok(hooks) = ctx.data::<Hooks>() {
            hooks.ready.fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn disconnect(&self, ctx: &Ctx) {
        if let Ok(hooks) = ctx.data::<Hooks>() {
            assert_eq!(
                hooks.ready.load(Ordering::SeqCst),
                hooks.disconnect.load(Ordering::SeqCst) + 1,
                "ready ran first"
            );
            hooks.disconnect.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Sleeps, then renames card 1 (so the caller also gets a delta).
    #[action]
    async fn slow_rename(&self, ctx: &Ctx, millis: u64) -> Result<u64, ActionError> {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        let db = ctx.data::<Db>()?;
        let mut card = db::load_board(db, 1)
            .await?
            .ok_or_else(ActionError::internal)?
            .columns[0]
            .cards[0]
            .clone();
        card.title = format!("after {millis} ms");
        let mut batch = ctx.hub().batch();
        batch.save(&card)?;
        batch.commit().await?;
        Ok(millis)
    }
}

async fn start(limits: rxd::Limits) -> TestServer {
    start_counting(limits, Loads::default()).await
}

async fn start_counting(limits: rxd::Limits, loads: Loads) -> TestServer {
    start_with(limits, loads, Hooks::default()).await
}

async fn start_with(limits: rxd::Limits, loads: Loads, hooks: Hooks) -> TestServer {
    let db = db::open("sqlite::memory:").await.unwrap();
    let app = rxd::App::builder()
        .auth(board::TokenAuth::new(db.clone()))
        .data(db.clone())
        .data(loads)
        .data(hooks)
        .limits(limits)
        .channel::<Slow>()
        .build();
    TestServer::serve(app, db).await
}

async fn connect(server: &TestServer) -> Client {
    let mut client = Client::connect(&server.ws("/ws/slow/1"), "ada-token")
        .await
        .unwrap();
    let mut state = ClientState::new::<Board>();
    assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
    client
}

#[tokio::test]
async fn ready_and_disconnect_run_once_for_every_admitted_connection_however_it_ends() {
    let hooks = Hooks::default();
    let server = start_with(
        rxd::Limits {
            heartbeat_interval: Duration::from_millis(100),
            heartbeat_timeout: Duration::from_millis(300),
            ..rxd::Limits::default()
        },
        Loads::default(),
        hooks.clone(),
    )
    .await;
    // The client closes.
    connect(&server).await.close().await.unwrap();
    hooks.expect(1).await;
    // The client goes silent: closed by the heartbeat.
    let _silent = connect(&server).await;
    hooks.expect(2).await;
    // A running call is cancelled by the close; the hook still runs.
    let mut calling = connect(&server).await;
    calling
        .call(1, "slow_rename", vec![json!(5_000)])
        .await
        .unwrap();
    calling.close().await.unwrap();
    hooks.expect(3).await;
    // A refused connection was never admitted: nothing to clean up.
    let mut refused = Client::connect(&server.ws("/ws/slow/1"), "no-such-token")
        .await
        .unwrap();
    assert_eq!(close_code(&mut refused).await, 4001);
    hooks.expect(3).await;
}

#[tokio::test]
async fn a_client_that_answers_no_heartbeat_is_closed_and_freed() {
    let server = start(rxd::Limits {
        heartbeat_interval: Duration::from_millis(100),
        heartbeat_timeout: Duration::from_millis(300),
        idle_anchor_ttl: Duration::ZERO,
        ..rxd::Limits::default()
    })
    .await;
    let mut silent = connect(&server).await;
    assert_eq!(server.app.hub().hot_anchors(), 1);
    // Not reading means not answering pings.
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.app.open_connections() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the silent client is still open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        server.app.hub().hot_anchors(),
        0,
        "the anchor's memory is freed"
    );
    // Reading now, the client first answers the pings it missed; that write
    // may meet the closed socket before the close frame is read.
    match silent.next_within(WAIT).await {
        Ok(ServerMessage::Closed { code, .. }) => assert_eq!(code, 4010),
        Err(rxd::client::ClientError::Socket(_)) => {}
        other => panic!("expected the connection to be closed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_that_reads_answers_heartbeats_and_stays() {
    let server = start(rxd::Limits {
        heartbeat_interval: Duration::from_millis(100),
        heartbeat_timeout: Duration::from_millis(300),
        ..rxd::Limits::default()
    })
    .await;
    let mut client = connect(&server).await;
    // Reading answers the server's pings (tungstenite replies with pongs).
    let until = tokio::time::Instant::now() + Duration::from_millis(800);
    while tokio::time::Instant::now() < until {
        match client.next_within(Duration::from_millis(50)).await {
            Err(rxd::client::ClientError::Timeout) => continue,
            Ok(ServerMessage::Closed { code, .. }) => panic!("closed {code}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    client.send_json(&json!({"type": "ping"})).await.unwrap();
    assert_eq!(client.next_within(WAIT).await.unwrap(), ServerMessage::Pong);
}

#[tokio::test]
async fn shutdown_lets_running_actions_finish_then_closes_1001_and_refuses_newcomers() {
    let server = start(rxd::Limits::default()).await;
    let mut client = connect(&server).await;
    client
        .call(1, "slow_rename", vec![json!(300)])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let app = server.app.clone();
    let shutdown = tokio::spawn(async move { app.shutdown().await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.call(2, "slow_rename", vec![json!(1)]).await.unwrap();

    let mut seen = Vec::new();
    let code = loop {
        match client.next_within(WAIT).await.unwrap() {
            ServerMessage::Closed { code, .. } => break code,
            message => seen.push(message),
        }
    };
    assert_eq!(code, 1001);
    let refused = seen.iter().any(|m| {
        matches!(m, ServerMessage::Reply { id: 2, result: Err(e) } if e.code == "shutting_down")
    });
    assert!(refused, "a call after the shutdown is refused: {seen:?}");
    let delta = seen
        .iter()
        .position(|m| matches!(m, ServerMessage::Delta { .. }));
    let reply = seen.iter().position(|m| {
        matches!(
            m,
            ServerMessage::Reply {
                id: 1,
                result: Ok(_)
            }
        )
    });
    assert!(
        delta.is_some() && delta < reply,
        "the running action finished, its delta before its reply: {seen:?}"
    );
    tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("shutdown resolves once connections closed")
        .unwrap();
    assert_eq!(server.app.open_connections(), 0);

    let mut late = Client::connect(&server.ws("/ws/slow/1"), "ada-token")
        .await
        .unwrap();
    assert_eq!(close_code(&mut late).await, 1001);
}

#[tokio::test]
async fn shutdown_cancels_actions_that_outlive_the_deadline() {
    let server = start(rxd::Limits {
        shutdown_deadline: Duration::from_millis(200),
        ..rxd::Limits::default()
    })
    .await;
    let mut client = connect(&server).await;
    client
        .call(1, "slow_rename", vec![json!(5_000)])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = tokio::time::Instant::now();
    server.app.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the deadline held"
    );
    assert_eq!(close_code(&mut client).await, 1001);
}

#[tokio::test]
async fn an_idle_anchor_stays_hot_for_its_ttl_then_is_dropped() {
    let loads = Loads::default();
    let server = start_counting(
        rxd::Limits {
            idle_anchor_ttl: Duration::from_millis(300),
            ..rxd::Limits::default()
        },
        loads.clone(),
    )
    .await;
    connect(&server).await.close().await.unwrap();
    // A reload right away finds the anchor hot: no second load.
    connect(&server).await.close().await.unwrap();
    assert_eq!(loads.0.load(Ordering::SeqCst), 1);
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.app.hub().hot_anchors() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the idle anchor was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    connect(&server).await.close().await.unwrap();
    assert_eq!(
        loads.0.load(Ordering::SeqCst),
        2,
        "dropped, so loaded again"
    );
}
