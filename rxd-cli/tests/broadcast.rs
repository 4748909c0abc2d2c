//! `rxd broadcast` end to end: the CLI process publishes through a real
//! Redis, a real `board serve` process delivers, a client receives.

#[path = "../../tests/tests/redis_support/mod.rs"]
mod redis_support;

use std::time::Duration;

use board::state::Board;
use redis_support::{namespace, redis_url, shared_db, with_namespace, Server, TempDir};
use rxd::broker::{SystemLevel, SystemMessage};
use rxd::client::{Client, ClientState, ServerMessage};
use serde_json::Value;
use tokio::process::Command;

async fn ready_client(url: &str) -> Client {
    let mut client = Client::connect(url, "ada-token").await.expect("connect");
    let mut state = ClientState::new::<Board>();
    assert_eq!(client.read_initial_state(&mut state).await.unwrap(), None);
    client
}

#[tokio::test]
async fn broadcast_reaches_the_clients_of_a_server_process() {
    let dir = TempDir::new("broadcast");
    let (db_url, _db) = shared_db(&dir).await;
    let ns = namespace("broadcast");
    let server = Server::start(&db_url, &with_namespace(&redis_url(), &ns)).await;
    let mut client = ready_client(&server.board_url(1)).await;

    for (level, text) in [
        ("warning", "Disk almost full"),
        ("maintenance", "Back in 5 minutes"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_rxd"))
            .args(["broadcast", "--redis", &redis_url(), "--namespace", &ns])
            .args(["--level", level, text])
            .output()
            .await
            .expect("run rxd");
        assert!(
            output.status.success(),
            "rxd broadcast failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
        assert_eq!(line["type"], "sent");
        assert!(line["version"].as_u64().is_some_and(|v| v > 0));

        let message = client
            .next_within(Duration::from_secs(10))
            .await
            .expect("the system message");
        assert_eq!(
            message,
            ServerMessage::System(SystemMessage {
                level: level.parse::<SystemLevel>().unwrap(),
                message: text.into(),
            })
        );
    }

    // The stream's versions stayed consecutive: the server did not resync,
    // so the client is still connected and still gets deltas.
    let (status, _) = server
        .rest(
            "PATCH",
            "/api/cards/1",
            "ada-token",
            Some(serde_json::json!({"title": "after the broadcast"})),
        )
        .await;
    assert_eq!(status, 200);
    match client.next_within(Duration::from_secs(10)).await.unwrap() {
        ServerMessage::Delta { instances, .. } => {
            assert_eq!(instances[0]["title"], "after the broadcast");
        }
        other => panic!("expected a delta, got {other:?}"),
    }
}

#[tokio::test]
async fn broadcast_refuses_an_unknown_level_and_an_unreachable_redis() {
    let output = Command::new(env!("CARGO_BIN_EXE_rxd"))
        .args([
            "broadcast",
            "--redis",
            &redis_url(),
            "--level",
            "panic",
            "hi",
        ])
        .output()
        .await
        .expect("run rxd");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("expected info, warning or maintenance"),
        "{stderr}"
    );

    // A port where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_rxd"))
        .args([
            "broadcast",
            "--redis",
            &format!("redis://127.0.0.1:{port}/"),
            "hi",
        ])
        .output()
        .await
        .expect("run rxd");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("rxd: "), "{stderr}");
}
