//! Connection limits over real sockets: per principal and per process in
//! one server, per principal across servers that share a real Redis, and
//! the leases of a server process killed with SIGKILL.

mod redis_support;

use std::time::Duration;

use board::state::Board;
use rxd::client::{Client, ClientState, ServerMessage};
use rxd_tests::TestServer;

const WAIT: Duration = Duration::from_secs(20);

/// Connects and reads the initial state; `Err(code)` if the server closed
/// instead.
async fn try_open(url: &str, token: &str) -> Result<Client, u16> {
    let mut client = Client::connect(url, token).await.expect("connect");
    let mut state = ClientState::new::<Board>();
    match client.read_initial_state(&mut state).await.expect("read") {
        None => Ok(client),
        Some(ServerMessage::Closed { code, .. }) => Err(code),
        Some(other) => panic!("unexpected {other:?}"),
    }
}

async fn open(url: &str, token: &str) -> Client {
    match try_open(url, token).await {
        Ok(client) => client,
        Err(code) => panic!("{url} refused {token} with {code}"),
    }
}

/// Connects until the server admits the token (a freed slot is given back
/// when the server has seen the close, shortly after the client sent it).
/// Fails on any refusal other than 4029, or after [`WAIT`].
async fn open_once_freed(url: &str, token: &str) -> Client {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match try_open(url, token).await {
            Ok(client) => return client,
            Err(4029) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(code) => panic!("{url} still refuses {token}: {code}"),
        }
    }
}

fn limits(per_principal: Option<usize>, per_process: Option<usize>) -> rxd::Limits {
    rxd::Limits {
        max_connections_per_principal: per_principal,
        max_connections_per_process: per_process,
        ..rxd::Limits::default()
    }
}

#[tokio::test]
async fn a_principal_over_its_limit_is_refused_with_4029_until_a_slot_frees() {
    let server = TestServer::start_with(limits(Some(2), None)).await;
    let url = server.board_url(1);
    let first = open(&url, "ada-token").await;
    let _second = open(&url, "ada-token").await;
    assert_eq!(try_open(&url, "ada-token").await.err(), Some(4029));
    // Another principal has slots of its own.
    let _grace = open(&url, "grace-token").await;

    first.close().await.unwrap();
    let _third = open_once_freed(&url, "ada-token").await;
    assert_eq!(try_open(&url, "ada-token").await.err(), Some(4029));
}

#[tokio::test]
async fn the_process_limit_counts_every_principal() {
    let server = TestServer::start_with(limits(None, Some(2))).await;
    let url = server.board_url(1);
    let ada = open(&url, "ada-token").await;
    let _grace = open(&url, "grace-token").await;
    assert_eq!(try_open(&url, "grace-token").await.err(), Some(4029));
    ada.close().await.unwrap();
    let _again = open_once_freed(&url, "grace-token").await;
}

/// The board's authenticator without `principal_id`: principals are
/// their tokens.
struct PerToken(board::TokenAuth);

impl rxd::Authenticator for PerToken {
    type Principal = board::state::User;

    async fn authenticate(&self, token: &str) -> Result<Self::Principal, rxd::AuthError> {
        self.0.authenticate(token).await
    }
}

#[tokio::test]
async fn without_a_principal_id_the_limit_counts_connections_per_token() {
    let db = board::db::open("sqlite::memory:").await.unwrap();
    sqlx::query("INSERT INTO tokens (token, user_id) VALUES ('ada-phone', 1)")
        .execute(&db)
        .await
        .unwrap();
    let app = rxd::App::builder()
        .auth(PerToken(board::TokenAuth::new(db.clone())))
        .data(db.clone())
        .channel::<board::BoardChannel>()
        .limits(limits(Some(1), None))
        .build();
    let server = TestServer::serve(app, db).await;
    let url = server.board_url(1);
    let _laptop = open(&url, "ada-token").await;
    // Same user, another token: another principal.
    let _phone = open(&url, "ada-phone").await;
    assert_eq!(try_open(&url, "ada-token").await.err(), Some(4029));
    let token_id = format!("token:{}", rxd::auth::token_hash("ada-token"));
    assert_eq!(server.app.hub().principal_connections(&token_id), 1);
}

mod over_redis {
    use super::redis_support::{self, namespace, redis_url, with_namespace, Server, TempDir};
    use super::*;

    async fn app_server(db: &board::Db, url: &str, per_principal: usize) -> TestServer {
        let config = rxd::broker::RedisConfig::new(url).unwrap();
        let broker = rxd::broker::RedisBroker::connect(config)
            .await
            .expect("a Redis server for the tests (RXD_TEST_REDIS_URL)");
        let app = board::app_builder(db.clone())
            .limits(limits(Some(per_principal), None))
            .broker(broker)
            .build();
        TestServer::serve(app, db.clone()).await
    }

    #[tokio::test]
    async fn the_limit_holds_across_processes_and_frees_on_close() {
        let url = with_namespace(&redis_url(), &namespace("limits"));
        let db = board::db::open("sqlite::memory:").await.unwrap();
        let a = app_server(&db, &url, 2).await;
        let b = app_server(&db, &url, 2).await;
        let on_a = open(&a.board_url(1), "ada-token").await;
        let _on_b = open(&b.board_url(1), "ada-token").await;
        assert_eq!(
            try_open(&a.board_url(1), "ada-token").await.err(),
            Some(4029)
        );
        assert_eq!(
            try_open(&b.board_url(1), "ada-token").await.err(),
            Some(4029)
        );
        let _grace = open(&b.board_url(1), "grace-token").await;

        // A slot freed on one process is free for the other.
        on_a.close().await.unwrap();
        let _again = open_once_freed(&b.board_url(1), "ada-token").await;
        assert_eq!(
            try_open(&a.board_url(1), "ada-token").await.err(),
            Some(4029)
        );
    }

    #[tokio::test]
    async fn a_live_process_renews_its_leases() {
        let url = format!(
            "{}&lease_ttl_ms=900",
            with_namespace(&redis_url(), &namespace("limits-renew"))
        );
        let db = board::db::open("sqlite::memory:").await.unwrap();
        let a = app_server(&db, &url, 1).await;
        let b = app_server(&db, &url, 1).await;
        let _held = open(&a.board_url(1), "ada-token").await;
        // Several lease periods: only renewals keep the slot taken.
        tokio::time::sleep(Duration::from_millis(2_700)).await;
        assert_eq!(
            try_open(&b.board_url(1), "ada-token").await.err(),
            Some(4029)
        );
    }

    #[tokio::test]
    async fn the_slots_of_a_killed_process_expire_with_its_lease() {
        let dir = TempDir::new("limits-kill");
        let (db_url, db) = redis_support::shared_db(&dir).await;
        // A short lease, so that the test does not wait ten seconds.
        let url = format!(
            "{}&lease_ttl_ms=600",
            with_namespace(&redis_url(), &namespace("limits-kill"))
        );
        let doomed =
            Server::start_with_args(&db_url, &url, &["--max-connections-per-principal", "1"]).await;
        let survivor = app_server(&db, &url, 1).await;

        let _held = open(&doomed.board_url(1), "ada-token").await;
        assert_eq!(
            try_open(&survivor.board_url(1), "ada-token").await.err(),
            Some(4029)
        );

        // SIGKILL: the process releases nothing and stops renewing.
        doomed.kill().await;
        let _taken_over = open_once_freed(&survivor.board_url(1), "ada-token").await;
    }
}
