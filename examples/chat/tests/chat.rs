//! The chat in one process, on SQLite: history, idempotent sends, the rate
//! limit and presence, over real sockets.

mod support;

use std::time::Duration;

use axum::serve::ListenerExt;
use chat::{ChatSettings, PresenceConfig, Server};
use serde_json::json;
use support::{present, Peer};

/// A chat server on a loopback port with a fresh in-memory database.
async fn start(settings: ChatSettings) -> (String, Server) {
    let (base, server, _) = start_on(settings).await;
    (base, server)
}

async fn start_on(settings: ChatSettings) -> (String, Server, chat::Db) {
    let db = chat::db::open("sqlite::memory:").await.expect("open");
    let presence = PresenceConfig {
        heartbeat: Duration::from_millis(100),
        timeout: Duration::from_millis(500),
    };
    let server = Server::start(db.clone(), settings, presence, None).expect("build");
    let router = chat::router(&server.app, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    (format!("ws://{addr}"), server, db)
}

fn small_window() -> ChatSettings {
    ChatSettings {
        window: 5,
        ..ChatSettings::default()
    }
}

#[tokio::test]
async fn a_room_holds_its_window_and_history_pages_through_the_rest() {
    let (base, _server) = start(small_window()).await;
    let ada = Peer::open(&base, 1, "ada-token").await;
    let room = ada.room();
    assert_eq!(room.name, "general");
    let bodies: Vec<&str> = room.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        bodies,
        (76..=80)
            .map(|n| format!("Earlier message #{n}"))
            .collect::<Vec<_>>()
    );

    // Page back to the beginning: every seeded message once, in order.
    let mut ada = ada;
    let mut before = room.messages[0].id;
    let mut older = Vec::new();
    loop {
        let page = ada
            .call("history", vec![json!(before), json!(30)])
            .await
            .unwrap();
        let page: Vec<chat::state::Message> = serde_json::from_value(page).unwrap();
        let Some(first) = page.first() else { break };
        assert!(page.len() <= 30);
        before = first.id;
        older.splice(0..0, page);
    }
    assert_eq!(older.len(), 75);
    assert!(
        older.windows(2).all(|w| w[0].id < w[1].id),
        "oldest first, no repeats"
    );
    assert_eq!(older[0].body, "Earlier message #1");
    // A page size beyond the cap is clamped, not refused.
    let page = ada
        .call("history", vec![json!(before + 1_000), json!(10_000)])
        .await
        .unwrap();
    assert_eq!(page.as_array().map(Vec::len), Some(80));
}

#[tokio::test]
async fn a_message_reaches_the_room_and_pushes_the_oldest_out_of_the_window() {
    let (base, _server) = start(small_window()).await;
    let mut ada = Peer::open(&base, 1, "ada-token").await;
    let mut grace = Peer::open(&base, 1, "grace-token").await;
    let sent = ada
        .call("send", vec![json!("c-1"), json!("  hello, Grace  ")])
        .await
        .unwrap();
    assert_eq!(sent["body"], "hello, Grace", "trimmed");
    assert_eq!(sent["author"]["name"], "Ada");
    // The caller's state has it when the reply arrives.
    assert_eq!(
        ada.room().messages.last().map(|m| m.body.as_str()),
        Some("hello, Grace")
    );
    let room = grace
        .until(|room| room.messages.last().is_some_and(|m| m.client_id == "c-1"))
        .await;
    assert_eq!(room.messages.len(), 5, "the window stays at 5");
    assert_eq!(room.messages[0].body, "Earlier message #77");
    // A newcomer loads the same window.
    let linus = Peer::open(&base, 1, "linus-token").await;
    assert_eq!(linus.room().messages, room.messages);
}

#[tokio::test]
async fn a_retried_send_is_one_message() {
    let (base, _server) = start(small_window()).await;
    let mut ada = Peer::open(&base, 1, "ada-token").await;
    let first = ada
        .call("send", vec![json!("retry-me"), json!("once")])
        .await
        .unwrap();
    // The client lost the reply and retries, on this socket or another.
    let again = ada
        .call("send", vec![json!("retry-me"), json!("once")])
        .await
        .unwrap();
    assert_eq!(first, again);
    let mut other = Peer::open(&base, 1, "ada-token").await;
    let third = other
        .call("send", vec![json!("retry-me"), json!("once")])
        .await
        .unwrap();
    assert_eq!(first, third);
    let room = other.room();
    assert_eq!(
        room.messages
            .iter()
            .filter(|m| m.client_id == "retry-me")
            .count(),
        1
    );
    let page = other
        .call("history", vec![json!(i64::MAX), json!(100)])
        .await
        .unwrap();
    let stored = page
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["client_id"] == "retry-me")
        .count();
    assert_eq!(stored, 1, "one row in the database");
    // The same client id in another room is refused, not merged.
    let mut elsewhere = Peer::open(&base, 2, "ada-token").await;
    let error = elsewhere
        .call("send", vec![json!("retry-me"), json!("once")])
        .await
        .unwrap_err();
    assert_eq!(error.code, "invalid");
}

#[tokio::test]
async fn a_user_over_the_rate_limit_is_told_when_to_retry() {
    let (base, _server) = start(ChatSettings {
        window: 5,
        max_messages: 3,
        per: Duration::from_secs(60),
    })
    .await;
    let mut grace = Peer::open(&base, 1, "grace-token").await;
    for n in 0..3 {
        grace
            .call("send", vec![json!(format!("r-{n}")), json!("hi")])
            .await
            .unwrap();
    }
    let error = grace
        .call("send", vec![json!("r-3"), json!("hi")])
        .await
        .unwrap_err();
    assert_eq!(error.code, "rate_limited");
    let details = error.details.expect("details");
    assert_eq!(details["max_messages"], 3);
    assert_eq!(details["per_ms"], 60_000);
    let retry = details["retry_after_ms"].as_i64().unwrap();
    assert!(retry > 0 && retry <= 60_000, "retry after {retry} ms");
    // A retry of a message already stored is not a new message: allowed.
    grace
        .call("send", vec![json!("r-0"), json!("hi")])
        .await
        .unwrap();
    // Counted per user, across rooms: Grace is limited in room 2 too, Ada is not.
    let mut elsewhere = Peer::open(&base, 2, "grace-token").await;
    let error = elsewhere
        .call("send", vec![json!("r-4"), json!("hi")])
        .await
        .unwrap_err();
    assert_eq!(error.code, "rate_limited");
    let mut ada = Peer::open(&base, 1, "ada-token").await;
    ada.call("send", vec![json!("a-1"), json!("hi")])
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_sends_are_refused_with_a_reason() {
    let (base, _server) = start(small_window()).await;
    let mut ada = Peer::open(&base, 1, "ada-token").await;
    for (client_id, body) in [
        (json!("x"), json!("   ")),
        (json!(""), json!("hi")),
        (json!("y".repeat(65)), json!("hi")),
        (json!("z"), json!("w".repeat(chat::channel::MAX_BODY + 1))),
    ] {
        let error = ada.call("send", vec![client_id, body]).await.unwrap_err();
        assert_eq!(error.code, "invalid", "{}", error.message);
    }
    let error = ada
        .call("send", vec![json!(7), json!("hi")])
        .await
        .unwrap_err();
    assert_eq!(error.code, "bad_arguments");
}

#[tokio::test]
async fn only_a_rooms_members_may_enter_it() {
    let (base, _server) = start(small_window()).await;
    assert_eq!(
        Peer::connect(&base, 2, "linus-token").await.err(),
        Some(4003)
    );
    assert_eq!(
        Peer::connect(&base, 99, "ada-token").await.err(),
        Some(4004)
    );
    assert_eq!(Peer::connect(&base, 1, "nobody").await.err(), Some(4001));
}

#[tokio::test]
async fn presence_follows_joins_typing_and_leaves() {
    let (base, server, db) = start_on(small_window()).await;
    let mut ada = Peer::open(&base, 1, "ada-token").await;
    ada.until(|room| present(room) == ["Ada"]).await;
    let mut grace = Peer::open(&base, 1, "grace-token").await;
    grace.until(|room| present(room) == ["Ada", "Grace"]).await;
    ada.until(|room| present(room) == ["Ada", "Grace"]).await;

    grace.call("typing", vec![json!(true)]).await.unwrap();
    ada.until(|room| {
        room.members
            .iter()
            .any(|m| m.user.name == "Grace" && m.typing)
    })
    .await;
    grace.call("typing", vec![json!(false)]).await.unwrap();
    ada.until(|room| room.members.iter().all(|m| !m.typing))
        .await;

    // Two tabs are two members, one user.
    let tab = Peer::open(&base, 1, "grace-token").await;
    let room = ada.until(|room| room.members.len() == 3).await;
    assert_eq!(present(&room), ["Ada", "Grace"]);
    tab.close().await;
    ada.until(|room| room.members.len() == 2).await;
    grace.close().await;
    ada.until(|room| present(room) == ["Ada"]).await;

    // Heartbeats keep a live connection present past the timeout (500 ms).
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mut linus = Peer::open(&base, 1, "linus-token").await;
    assert_eq!(present(&linus.room()), ["Ada"], "loaded: Ada is still here");
    linus.until(|room| present(room) == ["Ada", "Linus"]).await;

    // A clean shutdown takes this process's connections out at once, not
    // after the timeout.
    server.shut_down().await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM presence")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}
