//! Bad input gets its documented answer and never takes the server down.

use std::time::Duration;

use board::state::Board;
use rxd::client::{Client, ClientState, ServerMessage};
use rxd_tests::{close_code, TestServer};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(5);

async fn assert_still_serving(server: &TestServer) {
    let mut client = Client::connect(&server.board_url(1), "ada-token")
        .await
        .unwrap();
    let mut state = ClientState::new::<Board>();
    assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
}

#[tokio::test]
async fn wrong_token_closes_4001() {
    let server = TestServer::start().await;
    let mut client = Client::connect(&server.board_url(1), "not-a-token")
        .await
        .unwrap();
    assert_eq!(close_code(&mut client).await, 4001);
    let mut client = Client::connect_with_header(&server.board_url(1), "not-a-token")
        .await
        .unwrap();
    assert_eq!(close_code(&mut client).await, 4001);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn a_board_the_user_may_not_see_closes_4003() {
    let server = TestServer::start().await;
    let mut client = Client::connect(&server.board_url(2), "grace-token")
        .await
        .unwrap();
    assert_eq!(close_code(&mut client).await, 4003);
}

#[tokio::test]
async fn a_board_that_does_not_exist_closes_4004() {
    let server = TestServer::start().await;
    let mut client = Client::connect(&server.board_url(99), "ada-token")
        .await
        .unwrap();
    assert_eq!(close_code(&mut client).await, 4004);
    let mut client = Client::connect(&server.ws("/ws/boards/not-a-number"), "ada-token")
        .await
        .unwrap();
    assert_eq!(close_code(&mut client).await, 4004);
}

#[tokio::test]
async fn a_malformed_first_message_closes_4002() {
    let server = TestServer::start().await;
    for text in [
        "not json",
        "[1,2]",
        r#"{"token":"ada-token"}"#,
        r#"{"type":"ping"}"#,
    ] {
        let mut client = Client::connect_raw(&server.board_url(1)).await.unwrap();
        client.send_text(text.into()).await.unwrap();
        assert_eq!(close_code(&mut client).await, 4002, "{text}");
    }
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn an_auth_without_a_string_token_closes_4001() {
    let server = TestServer::start().await;
    let mut client = Client::connect_raw(&server.board_url(1)).await.unwrap();
    client
        .send_json(&json!({"type": "auth", "token": 7}))
        .await
        .unwrap();
    assert_eq!(close_code(&mut client).await, 4001);
}

#[tokio::test]
async fn a_malformed_message_after_ready_closes_4002_and_spares_the_others() {
    let server = TestServer::start().await;
    let mut bystander = Client::connect(&server.board_url(1), "grace-token")
        .await
        .unwrap();
    let mut bystander_state = ClientState::new::<Board>();
    bystander
        .read_initial_state(&mut bystander_state)
        .await
        .unwrap();

    let mut client = Client::connect(&server.board_url(1), "ada-token")
        .await
        .unwrap();
    client
        .read_initial_state(&mut ClientState::new::<Board>())
        .await
        .unwrap();
    client.send_text("{broken".into()).await.unwrap();
    assert_eq!(close_code(&mut client).await, 4002);

    let mut binary = Client::connect(&server.board_url(1), "ada-token")
        .await
        .unwrap();
    binary
        .read_initial_state(&mut ClientState::new::<Board>())
        .await
        .unwrap();
    binary
        .send_message(Message::binary(vec![1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(close_code(&mut binary).await, 4002);

    bystander.send_json(&json!({"type": "ping"})).await.unwrap();
    assert_eq!(
        bystander.next_within(WAIT).await.unwrap(),
        ServerMessage::Pong
    );
}

#[tokio::test]
async fn an_oversized_message_closes_4009() {
    let server = TestServer::start().await;
    let mut client = Client::connect(&server.board_url(1), "ada-token")
        .await
        .unwrap();
    client
        .read_initial_state(&mut ClientState::new::<Board>())
        .await
        .unwrap();
    let huge = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(200_000));
    // The server may close while the frame is still being written.
    let _ = client.send_text(huge).await;
    assert_eq!(close_code(&mut client).await, 4009);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn silence_instead_of_auth_closes_4001() {
    let server = TestServer::start_with(rxd::Limits {
        auth_timeout: Duration::from_millis(200),
        ..rxd::Limits::default()
    })
    .await;
    let mut client = Client::connect_raw(&server.board_url(1)).await.unwrap();
    assert_eq!(close_code(&mut client).await, 4001);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_4008_not_buffered_forever() {
    let server = TestServer::start_with(rxd::Limits {
        max_pending_frames: 4,
        ..rxd::Limits::default()
    })
    .await;
    let mut client = Client::connect(&server.board_url(1), "ada-token")
        .await
        .unwrap();
    client
        .read_initial_state(&mut ClientState::new::<Board>())
        .await
        .unwrap();
    // Big frames fill the socket buffers; then the per-connection queue
    // fills and the hub drops the connection instead of growing it.
    let hub = server.app.hub();
    let mut card = board::db::load_board(&server.db, 1)
        .await
        .unwrap()
        .unwrap()
        .columns[0]
        .cards[0]
        .clone();
    for i in 0..400 {
        card.title = format!("{i}{}", "x".repeat(100_000));
        let mut batch = hub.batch();
        batch.save(&card).unwrap();
        batch.commit().await.unwrap();
    }
    assert_eq!(close_code(&mut client).await, 4008);
    assert_still_serving(&server).await;
}
