//! The metrics path over HTTP, on a real server: counts move with
//! connects, actions, batches and closes, and the exposition parses.

use std::time::Duration;

use board::db::{self, Db};
use board::state::{Board, Card, User};
use rxd::client::{Client, ClientState, ServerMessage};
use rxd::{ActionError, Connect, Ctx, Load, LoadError, Reject};
use rxd_tests::{close_code, scrape, Exposition, TestServer};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(5);

/// A channel whose actions fail on purpose.
struct Ops;

#[rxd::channel(state = Board, route = "/ws/ops/{board_id}")]
impl Ops {
    async fn connect(_ctx: &Connect, _user: User, board_id: i64) -> Result<Self, Reject> {
        let _ = board_id;
        Ok(Ops)
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
    async fn refuse(&self, _ctx: &Ctx) -> Result<(), ActionError> {
        Err(ActionError::new("invalid", "refused on purpose"))
    }
}

async fn server() -> TestServer {
    let db = db::open("sqlite::memory:").await.unwrap();
    let app = board::app_builder(db.clone())
        .channel::<Ops>()
        .metrics_path("/metrics")
        .build();
    TestServer::serve(app, db).await
}

async fn watch(url: &str, token: &str) -> Client {
    let mut client = Client::connect(url, token).await.expect("connect");
    let mut state = ClientState::new::<Board>();
    assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
    client
}

/// Reads until the reply to `id`.
async fn reply(client: &mut Client, id: u64) -> Result<Value, ActionError> {
    loop {
        match client.next_within(WAIT).await.expect("a message in time") {
            ServerMessage::Reply { id: got, result } if got == id => return result,
            ServerMessage::Closed { code, reason } => panic!("closed {code} {reason}"),
            _ => {}
        }
    }
}

/// Scrapes until `done` holds (a connection's end is counted when its task
/// finishes, just after the client sees the close).
async fn scrape_until(server: &TestServer, done: impl Fn(&Exposition) -> bool) -> Exposition {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let metrics = scrape(server.addr, "/metrics").await;
        if done(&metrics) {
            return metrics;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "metrics never got there: {metrics:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn counts_move_with_connects_actions_batches_and_closes() {
    let server = server().await;
    let before = scrape(server.addr, "/metrics").await;
    assert_eq!(before.get("rxd_connections_open"), 0.0);
    assert_eq!(before.get("rxd_connections_opened_total"), 0.0);
    assert_eq!(before.get("rxd_anchors_hot"), 0.0);
    assert_eq!(before.get("rxd_frames_out_total"), 0.0);
    assert_eq!(before.get("rxd_actions_total{outcome=\"ok\"}"), 0.0);
    assert_eq!(before.get("rxd_action_duration_seconds_count"), 0.0);
    assert_eq!(before.get("rxd_broker_reconnects_total"), 0.0);

    // Connects: one cold load, then a second client joins the hot anchor.
    let mut ada = watch(&server.board_url(1), "ada-token").await;
    let mut grace = watch(&server.board_url(1), "grace-token").await;
    let mut ops = watch(&server.ws("/ws/ops/1"), "ada-token").await;
    let connected = scrape(server.addr, "/metrics").await;
    assert_eq!(connected.get("rxd_connections_open"), 3.0);
    assert_eq!(connected.get("rxd_connections_opened_total"), 3.0);
    assert_eq!(
        connected.get("rxd_anchors_hot"),
        1.0,
        "both channels anchor Board 1"
    );
    assert_eq!(connected.get("rxd_anchor_loads_total"), 1.0);
    // Each client sent its auth message and received instances + ready.
    assert!(connected.get("rxd_frames_in_total") >= 3.0);
    assert!(connected.get("rxd_bytes_in_total") > 0.0);
    assert!(connected.get("rxd_frames_out_total") >= 6.0);
    assert!(connected.get("rxd_bytes_out_total") > connected.get("rxd_frames_out_total"));

    // Actions: ok (and its batch), an app error, a panic, and refusals.
    ada.call(1, "rename_card", vec![json!(1), json!("Renamed")])
        .await
        .unwrap();
    assert!(reply(&mut ada, 1).await.is_ok());
    ada.call(2, "rename_card", vec![json!(999_999), json!("nope")])
        .await
        .unwrap();
    assert_eq!(reply(&mut ada, 2).await.unwrap_err().code, "not_found");
    ops.call(3, "boom", vec![]).await.unwrap();
    assert_eq!(reply(&mut ops, 3).await.unwrap_err().code, "internal");
    ops.call(4, "refuse", vec![]).await.unwrap();
    assert_eq!(reply(&mut ops, 4).await.unwrap_err().code, "invalid");
    ops.call(5, "no_such_action", vec![]).await.unwrap();
    assert_eq!(reply(&mut ops, 5).await.unwrap_err().code, "unknown_action");
    ops.call(6, "refuse", vec![json!("extra")]).await.unwrap();
    assert_eq!(reply(&mut ops, 6).await.unwrap_err().code, "bad_arguments");

    // A batch from outside any action: two cards saved, one deleted.
    let board = db::load_board(&server.db, 1).await.unwrap().unwrap();
    let mut batch = server.app.hub().batch();
    for card in board.columns[0].cards.iter().take(2) {
        let card = Card {
            title: format!("{} (batch)", card.title),
            ..card.clone()
        };
        batch.save(&card).unwrap();
    }
    batch.delete::<Card>(424_242_i64);
    batch.commit().await.unwrap().expect("a version");
    // Grace saw the action's delta and the batch's: both reached the wire.
    let mut deltas = 0;
    while deltas < 2 {
        if let ServerMessage::Delta { .. } = grace.next_within(WAIT).await.unwrap() {
            deltas += 1;
        }
    }

    let acted = scrape(server.addr, "/metrics").await;
    assert_eq!(acted.get("rxd_actions_total{outcome=\"ok\"}"), 1.0);
    assert_eq!(
        acted.get("rxd_actions_total{outcome=\"error\"}"),
        2.0,
        "not_found and invalid"
    );
    assert_eq!(acted.get("rxd_actions_total{outcome=\"panic\"}"), 1.0);
    assert_eq!(acted.get("rxd_actions_total{outcome=\"rejected\"}"), 2.0);
    assert_eq!(acted.get("rxd_actions_total{outcome=\"internal\"}"), 0.0);
    // Every call that ran is timed; refusals never ran. (bad_arguments is
    // raised inside the generated call, so it is timed too.)
    let ran = acted.get("rxd_action_duration_seconds_count");
    assert!((4.0..=5.0).contains(&ran), "timed calls: {ran}");
    assert!(acted.get("rxd_action_duration_seconds_sum") > 0.0);
    // The rename's batch and ours.
    assert_eq!(acted.get("rxd_batches_committed_total"), 2.0);
    assert_eq!(acted.get("rxd_batch_commit_duration_seconds_count"), 2.0);
    assert!(
        acted.get("rxd_batch_instances_total") >= 4.0,
        "1 renamed + 2 saved + 1 deleted"
    );
    assert_eq!(acted.get("rxd_batches_failed_total"), 0.0);
    assert!(acted.get("rxd_hub_events_applied_total") >= 2.0);
    assert!(acted.get("rxd_frames_out_total") > connected.get("rxd_frames_out_total"));
    assert!(acted.get("rxd_frames_in_total") >= connected.get("rxd_frames_in_total") + 6.0);

    // Closes: by the client, and by the server with 4003 and 4001.
    ada.close().await.unwrap();
    let mut linus = Client::connect(&server.board_url(1), "linus-token")
        .await
        .unwrap();
    assert_eq!(close_code(&mut linus).await, 4003);
    let mut stranger = Client::connect(&server.board_url(1), "no-such-token")
        .await
        .unwrap();
    assert_eq!(close_code(&mut stranger).await, 4001);

    let closed = scrape_until(&server, |m| m.get("rxd_connections_open") == 2.0).await;
    assert_eq!(closed.get("rxd_connections_opened_total"), 5.0);
    assert_eq!(
        closed.get("rxd_connections_closed_total{code=\"client\"}"),
        1.0
    );
    assert_eq!(
        closed.get("rxd_connections_closed_total{code=\"4003\"}"),
        1.0
    );
    assert_eq!(
        closed.get("rxd_connections_closed_total{code=\"4001\"}"),
        1.0
    );
    assert_eq!(
        closed.get_or_zero("rxd_connections_closed_total{code=\"4008\"}"),
        0.0
    );
    drop((grace, ops));
}

#[tokio::test]
async fn two_apps_in_one_process_count_apart_and_metrics_are_off_by_default() {
    let counted = server().await;
    let plain = TestServer::start().await;
    let _client = watch(&plain.board_url(1), "ada-token").await;

    let (status, _, _) = rxd_tests::http_get(plain.addr, "/metrics").await;
    assert_eq!(status, 404, "no metrics path unless one is set");
    // The other app's connection is not counted here, yet it is counted
    // by its own app.
    let metrics = scrape(counted.addr, "/metrics").await;
    assert_eq!(metrics.get("rxd_connections_opened_total"), 0.0);
    assert!(plain
        .app
        .metrics()
        .contains("\nrxd_connections_opened_total 1\n"));
}

#[test]
fn a_metrics_path_must_be_absolute_and_free() {
    let build = |path: &str| {
        let db = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(db::open("sqlite::memory:"))
            .unwrap();
        board::app_builder(db).metrics_path(path).try_build()
    };
    assert!(matches!(
        build("metrics"),
        Err(rxd::app::BuildError::MetricsPath(_))
    ));
    assert!(matches!(
        build("/ws/boards/{board_id}"),
        Err(rxd::app::BuildError::DuplicateRoute(_))
    ));
    assert!(build("/metrics").is_ok());
}
