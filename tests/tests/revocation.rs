//! Revocation and permission re-checks over real sockets: in one server,
//! and across servers that share a real Redis.

mod redis_support;

use std::time::{Duration, Instant};

use axum::http::Method;
use board::state::Board;
use rxd::client::{Client, ClientState, ServerMessage};
use rxd_tests::{close_code, TestServer};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

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

/// A second token for Ada: revoking it must leave her first one alone.
async fn add_token(db: &board::Db, token: &str, user: i64) {
    sqlx::query("INSERT INTO tokens (token, user_id) VALUES (?, ?)")
        .bind(token)
        .bind(user)
        .execute(db)
        .await
        .expect("insert a token");
}

/// Reads the close; returns its code and how long it took since `since`.
async fn closed(client: &mut Client, since: Instant) -> (u16, Duration) {
    let code = close_code(client).await;
    (code, since.elapsed())
}

/// Writes a card of board 1 and expects every client to receive the
/// delta: their connections are still open.
async fn still_open(server: &TestServer, clients: &mut [&mut Client], title: &str) {
    let (status, _) = server
        .rest(
            Method::PATCH,
            "/api/cards/1",
            "ada-token",
            Some(json!({ "title": title })),
        )
        .await;
    assert!(status.is_success(), "PATCH failed: {status}");
    for client in clients.iter_mut() {
        match client.next_within(WAIT).await.unwrap() {
            ServerMessage::Delta { instances, .. } => assert_eq!(instances[0]["title"], title),
            other => panic!("expected a delta, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_revoked_token_closes_with_4030_and_is_refused_afterwards() {
    let server = TestServer::start().await;
    add_token(&server.db, "ada-phone", 1).await;
    let url = server.board_url(1);
    let mut laptop = open(&url, "ada-token").await;
    let mut phone = open(&url, "ada-phone").await;
    let mut phone_again = open(&url, "ada-phone").await;

    let start = Instant::now();
    server.app.hub().revoke_token("ada-phone").await.unwrap();
    let (code, took) = closed(&mut phone, start).await;
    assert_eq!(code, 4030);
    assert_eq!(closed(&mut phone_again, start).await.0, 4030);
    eprintln!("revoked token: closed after {took:?}");

    assert_eq!(try_open(&url, "ada-phone").await.err(), Some(4030));
    // The same principal with another token is untouched.
    still_open(&server, &mut [&mut laptop], "after the phone was revoked").await;
    let _laptop_again = open(&url, "ada-token").await;
}

#[tokio::test]
async fn disconnecting_a_principal_closes_all_its_connections_with_4030() {
    let server = TestServer::start().await;
    add_token(&server.db, "ada-phone", 1).await;
    let url = server.board_url(1);
    let mut laptop = open(&url, "ada-token").await;
    let mut phone = open(&server.board_url(2), "ada-phone").await;
    let mut grace = open(&url, "grace-token").await;
    assert_eq!(server.app.hub().principal_connections("user:1"), 2);

    let start = Instant::now();
    server
        .app
        .hub()
        .disconnect_principal("user:1")
        .await
        .unwrap();
    assert_eq!(closed(&mut laptop, start).await.0, 4030);
    assert_eq!(closed(&mut phone, start).await.0, 4030);
    still_open(&server, &mut [&mut grace], "Grace stays").await;
    // A disconnect is not a ban: the principal may connect again.
    let _back = open(&url, "ada-token").await;
}

#[tokio::test]
async fn a_recheck_closes_the_connections_whose_permission_was_withdrawn() {
    let server = TestServer::start().await;
    let url = server.board_url(1);
    let mut grace = open(&url, "grace-token").await;
    let mut ada = open(&url, "ada-token").await;

    // Ada's permission did not change: a re-check keeps her.
    server.app.hub().recheck("user:1").await.unwrap();
    // Grace's did, but nobody said so yet: she stays too.
    sqlx::query("DELETE FROM board_members WHERE board_id = 1 AND user_id = 2")
        .execute(&server.db)
        .await
        .unwrap();
    still_open(&server, &mut [&mut ada, &mut grace], "before the recheck").await;

    server.app.hub().recheck("user:2").await.unwrap();
    assert_eq!(close_code(&mut grace).await, 4003);
    still_open(&server, &mut [&mut ada], "after the recheck").await;
    assert_eq!(try_open(&url, "grace-token").await.err(), Some(4003));
}

mod over_redis {
    use super::redis_support::{namespace, redis_url, with_namespace, PrivateRedis};
    use super::*;

    async fn app_server(db: &board::Db, url: &str) -> TestServer {
        app_server_with(db, url, rxd::Limits::default()).await
    }

    async fn app_server_with(db: &board::Db, url: &str, limits: rxd::Limits) -> TestServer {
        let config = rxd::broker::RedisConfig::new(url).unwrap();
        let broker = rxd::broker::RedisBroker::connect(config)
            .await
            .expect("a Redis server for the tests (RXD_TEST_REDIS_URL)");
        let app = board::app_builder(db.clone())
            .limits(limits)
            .broker(broker)
            .build();
        TestServer::serve(app, db.clone()).await
    }

    #[tokio::test]
    async fn while_redis_is_away_revocations_seen_here_hold_and_limits_fail_closed() {
        let mut redis = PrivateRedis::start().await;
        let db = board::db::open("sqlite::memory:").await.unwrap();
        add_token(&db, "ada-phone", 1).await;
        let open_door = app_server(&db, &redis.url()).await;
        let limited = rxd::Limits {
            max_connections_per_principal: Some(5),
            ..rxd::Limits::default()
        };
        let counted = app_server_with(&db, &redis.url(), limited).await;
        open_door.app.hub().revoke_token("ada-phone").await.unwrap();

        redis.kill().await;
        // The revocation reached both processes before Redis went away.
        for server in [&open_door, &counted] {
            assert_eq!(
                try_open(&server.board_url(1), "ada-phone").await.err(),
                Some(4030)
            );
        }
        // Without a limit to count, other tokens are served from the
        // database as before; with one, the connect cannot be counted.
        let _served = open(&open_door.board_url(1), "ada-token").await;
        assert_eq!(
            try_open(&counted.board_url(1), "ada-token").await.err(),
            Some(4011)
        );
    }

    #[tokio::test]
    async fn a_revocation_reaches_every_process_and_outlives_the_event() {
        let url = with_namespace(&redis_url(), &namespace("revocation"));
        let db = board::db::open("sqlite::memory:").await.unwrap();
        add_token(&db, "ada-phone", 1).await;
        let a = app_server(&db, &url).await;
        let b = app_server(&db, &url).await;
        let mut on_a = open(&a.board_url(1), "ada-phone").await;
        let mut on_b = open(&b.board_url(1), "ada-phone").await;
        let mut laptop = open(&b.board_url(1), "ada-token").await;

        let start = Instant::now();
        a.app.hub().revoke_token("ada-phone").await.unwrap();
        let (code_a, took_a) = closed(&mut on_a, start).await;
        let (code_b, took_b) = closed(&mut on_b, start).await;
        assert_eq!((code_a, code_b), (4030, 4030));
        eprintln!("revoked token over redis: closed after {took_a:?} (a), {took_b:?} (b)");

        assert_eq!(
            try_open(&b.board_url(1), "ada-phone").await.err(),
            Some(4030)
        );
        // A process that starts after the event still refuses the token.
        let c = app_server(&db, &url).await;
        assert_eq!(
            try_open(&c.board_url(1), "ada-phone").await.err(),
            Some(4030)
        );
        still_open(&b, &mut [&mut laptop], "laptop stays").await;
    }

    #[tokio::test]
    async fn a_principal_is_disconnected_and_rechecked_in_every_process() {
        let url = with_namespace(&redis_url(), &namespace("revocation-principal"));
        let db = board::db::open("sqlite::memory:").await.unwrap();
        let a = app_server(&db, &url).await;
        let b = app_server(&db, &url).await;
        let mut ada_a = open(&a.board_url(1), "ada-token").await;
        let mut ada_b = open(&b.board_url(2), "ada-token").await;
        let mut grace_a = open(&a.board_url(1), "grace-token").await;
        let mut grace_b = open(&b.board_url(1), "grace-token").await;

        let start = Instant::now();
        b.app.hub().disconnect_principal("user:1").await.unwrap();
        let (code_a, took_a) = closed(&mut ada_a, start).await;
        let (code_b, took_b) = closed(&mut ada_b, start).await;
        assert_eq!((code_a, code_b), (4030, 4030));
        eprintln!("disconnected principal over redis: {took_a:?} (a), {took_b:?} (b)");

        sqlx::query("DELETE FROM board_members WHERE board_id = 1 AND user_id = 2")
            .execute(&db)
            .await
            .unwrap();
        a.app.hub().recheck("user:2").await.unwrap();
        assert_eq!(close_code(&mut grace_a).await, 4003);
        assert_eq!(close_code(&mut grace_b).await, 4003);
    }
}
