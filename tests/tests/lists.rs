//! List channels (`state = Vec<Board>`) over real sockets: the initial list,
//! deltas of every listed anchor, anchors added and removed at run time,
//! auto-update through `is_visible` (with 1,000 connections), and the
//! connection machinery (system messages, revocation) on list connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use board::db::{self, Db};
use board::state::{Board, Column, User};
use rxd::broker::SystemLevel;
use rxd::client::{Client, ClientState, ServerMessage};
use rxd::{ActionError, At, Connect, Ctx, InstanceId, Key, Load, LoadError, Offer, Reject};
use rxd_tests::TestServer;

const WAIT: Duration = Duration::from_secs(10);

/// The boards a user owns or is a member of, and boards they come to own.
struct MyBoards {
    user_id: i64,
}

#[rxd::channel(state = Vec<Board>, route = "/ws/owned-boards")]
impl MyBoards {
    async fn connect(_ctx: &Connect, user: User) -> Result<Self, Reject> {
        Ok(MyBoards { user_id: user.id })
    }

    async fn anchors(&self, ctx: &Load) -> Result<Vec<i64>, LoadError> {
        let boards = db::boards_of(ctx.data::<Db>()?, self.user_id).await?;
        Ok(boards.into_iter().map(|(id, _)| id).collect())
    }

    async fn load(&self, ctx: &Load, board_id: i64) -> Result<Board, LoadError> {
        ctx.data::<Loads>()?.0.fetch_add(1, Ordering::Relaxed);
        db::load_board(ctx.data::<Db>()?, board_id)
            .await?
            .ok_or(LoadError::NotFound)
    }

    /// A board saved with this user as its owner joins the list.
    async fn is_visible(&self, _ctx: &Ctx, offer: &Offer) -> bool {
        offer.field::<i64>("owner") == Some(self.user_id)
    }

    #[action]
    async fn show(&self, ctx: &Ctx, board_id: i64, first: bool) -> Result<(), ActionError> {
        ctx.add_anchor(board_id, if first { At::Start } else { At::End });
        Ok(())
    }

    #[action]
    async fn hide(&self, ctx: &Ctx, board_id: i64) -> Result<(), ActionError> {
        ctx.remove_anchor(board_id);
        Ok(())
    }
}

/// How many times `MyBoards::load` ran, per server.
#[derive(Clone, Default)]
struct Loads(Arc<AtomicUsize>);

async fn server() -> TestServer {
    server_counting_loads().await.0
}

async fn server_counting_loads() -> (TestServer, Arc<AtomicUsize>) {
    let db = db::open("sqlite::memory:").await.unwrap();
    let loads = Loads::default();
    let app = board::app_builder(db.clone())
        .data(loads.clone())
        .channel::<MyBoards>()
        .build();
    (TestServer::serve(app, db).await, loads.0)
}

fn board_id(id: i64) -> InstanceId {
    InstanceId::new("Board", Key::Int(id))
}

/// A list connection past its initial state.
async fn join(server: &TestServer, token: &str) -> (Client, ClientState) {
    let mut client = Client::connect(&server.ws("/ws/owned-boards"), token)
        .await
        .expect("connect");
    let mut state = ClientState::new::<Board>();
    assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
    (client, state)
}

/// Applies messages until one satisfies `done`, which is returned.
async fn until(
    client: &mut Client,
    state: &mut ClientState,
    done: impl Fn(&ServerMessage) -> bool,
) -> ServerMessage {
    loop {
        let message = client.next_within(WAIT).await.expect("a message in time");
        state.apply(&message).unwrap();
        if let ServerMessage::Closed { .. } = message {
            panic!("closed while waiting: {message:?}");
        }
        if done(&message) {
            return message;
        }
    }
}

fn titles(state: &ClientState) -> Vec<String> {
    state
        .rebuild_list::<Board>()
        .unwrap()
        .into_iter()
        .map(|b| b.title)
        .collect()
}

fn new_board(id: i64, owner: User) -> Board {
    Board {
        id,
        title: format!("Board {id}"),
        columns: vec![Column {
            id: 100 + id,
            board_id: id,
            name: "Inbox".into(),
            cards: Vec::new(),
        }],
        owner,
    }
}

/// Creates a board owned by Ada the way an app does: the rows first, then
/// the batch that tells every process.
async fn create_board(server: &TestServer, id: i64) {
    let board = new_board(id, ada());
    sqlx::query("INSERT INTO boards (id, title, owner_id) VALUES (?1, ?2, 1)")
        .bind(id)
        .bind(&board.title)
        .execute(&server.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO columns (id, board_id, name, position) VALUES (?1, ?2, 'Inbox', 1)")
        .bind(100 + id)
        .bind(id)
        .execute(&server.db)
        .await
        .unwrap();
    let mut batch = server.app.hub().batch();
    batch.save(&board).unwrap();
    batch.commit().await.unwrap();
}

fn ada() -> User {
    User {
        id: 1,
        name: "Ada".into(),
    }
}

#[tokio::test]
async fn the_initial_list_and_the_deltas_of_every_anchor() {
    let server = server().await;
    let (mut client, mut state) = join(&server, "ada-token").await;
    assert_eq!(state.list(), Some(&[board_id(1), board_id(2)][..]));
    assert_eq!(titles(&state), ["Launch", "Research"]);
    let boards = state.rebuild_list::<Board>().unwrap();
    assert_eq!(boards[0].columns.len(), 3);
    assert_eq!(boards[1].columns[0].name, "Ideas");

    // Grace is a member of board 1 only.
    let (_grace, grace_state) = join(&server, "grace-token").await;
    assert_eq!(titles(&grace_state), ["Launch"]);

    // One batch that changes both anchors: each sends its delta under the
    // same version, and the list applies both.
    let hub = server.app.hub();
    let mut boards = state.rebuild_list::<Board>().unwrap();
    boards[0].title = "Launch!".into();
    boards[1].title = "Research!".into();
    let mut batch = hub.batch();
    batch.save(&boards[0]).unwrap().save(&boards[1]).unwrap();
    batch.commit().await.unwrap();
    while titles(&state) != ["Launch!", "Research!"] {
        until(&mut client, &mut state, |m| {
            matches!(m, ServerMessage::Delta { .. })
        })
        .await;
    }
}

#[tokio::test]
async fn anchors_added_at_either_end_and_removed_at_run_time() {
    let server = server().await;
    let (mut client, mut state) = join(&server, "ada-token").await;

    client.call(1, "hide", vec![1.into()]).await.unwrap();
    until(&mut client, &mut state, |m| {
        matches!(m, ServerMessage::Anchors { .. })
    })
    .await;
    assert_eq!(titles(&state), ["Research"]);
    // A change to the removed anchor no longer reaches this connection.
    // (A column: saving the board itself would offer it to `is_visible`,
    // which would add it back.)
    let mut launch = db::load_board(&server.db, 1).await.unwrap().unwrap();
    launch.columns[0].name = "unseen".into();
    let mut batch = server.app.hub().batch();
    batch.save(&launch.columns[0]).unwrap();
    batch.commit().await.unwrap();

    client
        .call(2, "show", vec![1.into(), true.into()])
        .await
        .unwrap();
    let added = until(&mut client, &mut state, |m| {
        matches!(m, ServerMessage::Anchors { .. })
    })
    .await;
    let ServerMessage::Anchors { anchors, instances } = added else {
        unreachable!()
    };
    assert_eq!(anchors, [board_id(1), board_id(2)]);
    // The added anchor comes whole: the board, its columns, cards, users.
    assert!(instances.len() > 3, "{instances:?}");
    assert_eq!(titles(&state), ["Launch", "Research"]);
    let boards = state.rebuild_list::<Board>().unwrap();
    assert_eq!(boards[0].columns[0].name, "unseen");

    // At the end; then adding one the list shows changes nothing.
    client.call(3, "hide", vec![2.into()]).await.unwrap();
    client
        .call(4, "show", vec![2.into(), false.into()])
        .await
        .unwrap();
    client
        .call(5, "show", vec![2.into(), false.into()])
        .await
        .unwrap();
    until(
        &mut client,
        &mut state,
        |m| matches!(m, ServerMessage::Anchors { anchors, .. } if anchors.len() == 2),
    )
    .await;
    assert_eq!(titles(&state), ["Launch", "Research"]);

    // An anchor that does not exist is not added, and the client is told.
    client
        .call(6, "show", vec![99.into(), false.into()])
        .await
        .unwrap();
    let error = until(&mut client, &mut state, |m| {
        matches!(m, ServerMessage::Error { .. })
    })
    .await;
    assert!(matches!(error, ServerMessage::Error { code, .. } if code == "anchor_not_added"));
    assert_eq!(state.list().map(<[_]>::len), Some(2));
}

#[tokio::test]
async fn auto_update_offers_new_anchors_to_is_visible() {
    let server = server().await;
    let (mut ada_client, mut ada_state) = join(&server, "ada-token").await;
    let (mut grace, mut grace_state) = join(&server, "grace-token").await;

    create_board(&server, 3).await;
    until(&mut ada_client, &mut ada_state, |m| {
        matches!(m, ServerMessage::Anchors { .. })
    })
    .await;
    assert_eq!(titles(&ada_state), ["Launch", "Research", "Board 3"]);
    let boards = ada_state.rebuild_list::<Board>().unwrap();
    assert_eq!(boards[2].columns[0].name, "Inbox");

    // Grace does not own board 3: her list is unchanged, and the next
    // thing she sees is the ping reply, not an `anchors` frame.
    grace
        .send_json(&serde_json::json!({"type": "ping"}))
        .await
        .unwrap();
    let next = until(&mut grace, &mut grace_state, |m| {
        matches!(m, ServerMessage::Pong | ServerMessage::Anchors { .. })
    })
    .await;
    assert!(matches!(next, ServerMessage::Pong), "{next:?}");
    assert_eq!(titles(&grace_state), ["Launch"]);

    // An update of an anchor the list shows is a delta, not an offer.
    let mut board = new_board(3, ada());
    board.title = "Renamed".into();
    let mut batch = server.app.hub().batch();
    batch.save(&board).unwrap();
    batch.commit().await.unwrap();
    until(&mut ada_client, &mut ada_state, |m| {
        matches!(m, ServerMessage::Delta { .. })
    })
    .await;
    assert_eq!(titles(&ada_state), ["Launch", "Research", "Renamed"]);
    assert_eq!(ada_state.list().map(<[_]>::len), Some(3));
}

#[tokio::test]
async fn system_messages_and_revocation_reach_list_connections() {
    let server = server().await;
    let (mut client, mut state) = join(&server, "ada-token").await;
    let hub = server.app.hub();
    hub.system(SystemLevel::Info, "hello lists").await.unwrap();
    let message = until(&mut client, &mut state, |m| {
        matches!(m, ServerMessage::System(_))
    })
    .await;
    assert!(matches!(message, ServerMessage::System(s) if s.message == "hello lists"));

    hub.revoke_token("ada-token").await.unwrap();
    assert_eq!(rxd_tests::close_code(&mut client).await, 4030);
}

/// 1,000 list connections with auto-update: one new board is offered to
/// each, and every one of them adds it. The time it takes is printed, not
/// asserted (see `docs/GUIDE.md`, "List channels", for the cost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_update_with_a_thousand_connections() {
    const CONNECTIONS: usize = 1_000;
    let (server, loads) = server_counting_loads().await;
    let url = server.ws("/ws/owned-boards");
    let mut clients = Vec::with_capacity(CONNECTIONS);
    for chunk in 0..CONNECTIONS / 100 {
        let joins = (0..100).map(|_| {
            let url = url.clone();
            async move {
                let mut client = Client::connect(&url, "ada-token").await.expect("connect");
                let mut state = ClientState::new::<Board>();
                assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
                (client, state)
            }
        });
        clients.extend(futures_util::future::join_all(joins).await);
        assert_eq!(clients.len(), (chunk + 1) * 100);
    }

    let loads_before = loads.load(Ordering::Relaxed);
    let started = Instant::now();
    create_board(&server, 3).await;
    let waits = clients.iter_mut().map(|(client, state)| async move {
        until(client, state, |m| {
            matches!(m, ServerMessage::Anchors { .. })
        })
        .await;
        state.list().map(<[_]>::len)
    });
    let lengths = futures_util::future::join_all(waits).await;
    let elapsed = started.elapsed();
    assert!(lengths.iter().all(|l| *l == Some(3)), "{lengths:?}");
    // 1,000 connections added the cold board at once: one of them loaded
    // it, the others waited for that load.
    assert_eq!(loads.load(Ordering::Relaxed) - loads_before, 1);
    eprintln!("auto-update: {CONNECTIONS} list connections added a new anchor in {elapsed:?}");
}
