//! Support for the workspace integration tests: a real board server on a
//! loopback port, and REST calls through the same router.

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::serve::ListenerExt;
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;

/// Reads until the server closes the socket; returns the close code. Fails
/// the test if no close comes within five seconds.
pub async fn close_code(client: &mut rxd::client::Client) -> u16 {
    loop {
        match client.next_within(std::time::Duration::from_secs(5)).await {
            Ok(rxd::client::ServerMessage::Closed { code, .. }) => return code,
            Ok(_) => continue,
            Err(error) => panic!("no close frame in time: {error}"),
        }
    }
}

/// A board example server listening on 127.0.0.1 with a fresh database.
pub struct TestServer {
    pub addr: SocketAddr,
    pub app: rxd::App,
    pub db: board::Db,
    pub router: Router,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Starts the board example with default limits.
    pub async fn start() -> TestServer {
        Self::start_with(rxd::Limits::default()).await
    }

    /// Starts the board example with the given limits.
    pub async fn start_with(limits: rxd::Limits) -> TestServer {
        let db = board::db::open("sqlite::memory:")
            .await
            .expect("open the test database");
        let app = board::app_builder(db.clone()).limits(limits).build();
        Self::serve(app, db).await
    }

    /// Serves an app built by the test.
    pub async fn serve(app: rxd::App, db: board::Db) -> TestServer {
        let router = board::router(&app, db.clone(), None);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let serving = router.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, serving).await.expect("serve");
        });
        TestServer {
            addr,
            app,
            db,
            router,
            task,
        }
    }

    /// The WebSocket URL of a route.
    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// The WebSocket URL of a board.
    pub fn board_url(&self, board: i64) -> String {
        self.ws(&format!("/ws/boards/{board}"))
    }

    /// Calls the REST API through the router; returns the status and the
    /// JSON body (`Null` when empty).
    pub async fn rest(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router is infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, json)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
