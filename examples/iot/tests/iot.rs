//! The IoT example over real sockets: devices (header auth) publish,
//! dashboards subscribe, and every path through the grants, the per-token
//! connection cap, live grant changes and token deletion.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::serve::ListenerExt;
use axum::Router;
use iot::state::{Access, Feed, Token};
use rxd::client::{CallError, Session, SessionError};
use serde_json::{json, Value};
use tower::ServiceExt;

const WAIT: Duration = Duration::from_secs(5);

struct Server {
    base: String,
    router: Router,
}

async fn start() -> Server {
    start_on(None).await
}

/// A server on its own database, on Redis when `redis` names a namespace
/// there: two such servers are two processes of one deployment.
async fn start_on(redis: Option<&str>) -> Server {
    let db = iot::db::open("sqlite::memory:").await.expect("open");
    let builder = iot::app_builder(db.clone());
    let app = match redis {
        Some(namespace) => {
            let url =
                std::env::var("IOT_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let config = rxd::broker::RedisConfig::new(&url)
                .expect("a Redis URL")
                .namespace(namespace);
            let broker = rxd::broker::RedisBroker::connect(config)
                .await
                .unwrap_or_else(|e| panic!("Redis at {url} is needed: {e}"));
            builder.broker(broker).build()
        }
        None => builder.build(),
    };
    let router = iot::router(&app, db, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let serving = router.clone();
    tokio::spawn(async move { axum::serve(listener, serving).await.expect("serve") });
    Server {
        base: format!("ws://{addr}"),
        router,
    }
}

impl Server {
    fn url(&self) -> String {
        format!("{}/ws/topics", self.base)
    }

    /// A dashboard: first-message auth, as a browser.
    async fn dashboard(&self) -> Session<Token> {
        Session::connect(&self.url(), "dashboard-token")
            .await
            .expect("dashboard")
    }

    /// A device: `Authorization` header.
    async fn device(&self, n: u32) -> Result<Session<Token>, SessionError> {
        Session::connect_with_header(&self.url(), &format!("device-{n}-token")).await
    }

    /// `PUT /api/tokens/{id}/grants` as the operator.
    async fn put_grants(&self, id: i64, grants: Value) -> (StatusCode, Value) {
        let path = format!("/api/tokens/{id}/grants");
        self.operator(Method::PUT, &path, Some("operator-token"), Some(grants))
            .await
    }

    /// `DELETE /api/tokens/{id}` as the operator.
    async fn delete_token(&self, id: i64) -> (StatusCode, Value) {
        let path = format!("/api/tokens/{id}");
        self.operator(Method::DELETE, &path, Some("operator-token"), None)
            .await
    }

    async fn operator(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

/// Reads until the server closes the session; its close code.
async fn close_code(session: &mut Session<Token>) -> u16 {
    loop {
        match tokio::time::timeout(WAIT, session.next_change())
            .await
            .expect("closed in time")
        {
            Ok(_) => continue,
            Err(SessionError::Closed { code, .. }) => return code,
            Err(other) => panic!("expected a close, got {other}"),
        }
    }
}

fn feed(session: &Session<Token>) -> Feed {
    session
        .runtime()
        .map(|v| serde_json::from_value(v.clone()).expect("a feed"))
        .unwrap_or_default()
}

async fn code_of<T: std::fmt::Debug>(
    call: impl std::future::Future<Output = Result<T, CallError>>,
) -> String {
    match call.await {
        Err(CallError::Action(error)) => error.code,
        other => panic!("expected an error answer, got {other:?}"),
    }
}

async fn publish(
    session: &mut Session<Token>,
    topic: &str,
    payload: Value,
) -> Result<(), CallError> {
    session
        .call::<()>("publish", vec![json!(topic), payload])
        .await
}

async fn subscribe(session: &mut Session<Token>, pattern: &str) -> Result<Vec<String>, CallError> {
    session.call("subscribe_to", vec![json!(pattern)]).await
}

#[tokio::test]
async fn a_dashboard_sees_what_its_pattern_matches_from_a_device() {
    let server = start().await;
    let mut dashboard = server.dashboard().await;
    let token = &dashboard.list().unwrap()[0];
    assert_eq!(token.name, "dashboard");
    assert_eq!(token.grants[0].pattern, "sensors/#");
    assert_eq!(
        subscribe(&mut dashboard, "sensors/+/temperature")
            .await
            .unwrap(),
        ["sensors/+/temperature"]
    );

    let mut device = server.device(1).await.expect("device 1");
    publish(
        &mut device,
        "sensors/1/temperature",
        json!({"celsius": 21.5}),
    )
    .await
    .unwrap();
    publish(&mut device, "sensors/1/humidity", json!({"percent": 40}))
        .await
        .unwrap();
    publish(
        &mut device,
        "sensors/1/temperature",
        json!({"celsius": 22.0}),
    )
    .await
    .unwrap();
    dashboard
        .wait_for(|s| feed(s).received == 2, WAIT)
        .await
        .unwrap();
    let seen = feed(&dashboard);
    assert_eq!(seen.latest.len(), 1, "humidity does not match: {seen:?}");
    let last = &seen.latest["sensors/1/temperature"];
    assert_eq!(
        (last.payload["celsius"].as_f64(), last.from.as_str()),
        (Some(22.0), "device 1")
    );

    // A connection in both groups of a topic (`sensors/...` and `+/...`)
    // counts each publication once. (`+/+/temperature` needs a grant of
    // `#`: `sensors/#` does not cover it.)
    let (status, _) = server
        .put_grants(1, json!([{"pattern": "#", "access": "read"}]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut both = server.dashboard().await;
    subscribe(&mut both, "sensors/#").await.unwrap();
    subscribe(&mut both, "+/+/temperature").await.unwrap();
    publish(
        &mut device,
        "sensors/1/temperature",
        json!({"celsius": 23.0}),
    )
    .await
    .unwrap();
    both.wait_for(|s| feed(s).received >= 1, WAIT)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = tokio::time::timeout(Duration::from_millis(200), both.next_change()).await;
    assert_eq!(feed(&both).received, 1);

    // Unsubscribing forgets what only that pattern matched.
    let left: Vec<String> = dashboard
        .call("unsubscribe_from", vec![json!("sensors/+/temperature")])
        .await
        .unwrap();
    assert!(left.is_empty());
    assert!(feed(&dashboard).latest.is_empty());
}

#[tokio::test]
async fn every_refusal_has_its_code() {
    let server = start().await;
    let mut dashboard = server.dashboard().await;
    let mut device1 = server.device(1).await.unwrap();
    let mut device2 = server.device(2).await.unwrap();
    // Subscriptions: outside the grants, or not a pattern.
    assert_eq!(
        code_of(subscribe(&mut dashboard, "commands/#")).await,
        "not_granted"
    );
    assert_eq!(code_of(subscribe(&mut dashboard, "#")).await, "not_granted");
    assert_eq!(
        code_of(subscribe(&mut dashboard, "sensors/#/x")).await,
        "invalid_pattern"
    );
    assert_eq!(
        code_of(subscribe(&mut dashboard, "sensors/te+")).await,
        "invalid_pattern"
    );
    assert_eq!(
        code_of(subscribe(&mut dashboard, "")).await,
        "invalid_pattern"
    );
    // `sensors/1/#` does not cover `sensors/#` nor `sensors/+/temperature`.
    assert_eq!(
        code_of(subscribe(&mut device1, "sensors/#")).await,
        "not_granted"
    );
    assert_eq!(
        code_of(subscribe(&mut device1, "sensors/+/temperature")).await,
        "not_granted"
    );
    // A read-write grant lets its holder read, `sensors/1/#` its parent too.
    subscribe(&mut device1, "sensors/1/#").await.unwrap();
    subscribe(&mut device1, "sensors/1").await.unwrap();
    // Publishing: a read grant is not enough; outside every grant; bad topics.
    assert_eq!(
        code_of(publish(&mut dashboard, "sensors/1/temperature", json!(1))).await,
        "read_only"
    );
    assert_eq!(
        code_of(publish(&mut device2, "commands/2", json!("reboot"))).await,
        "read_only"
    );
    assert_eq!(
        code_of(publish(&mut device1, "sensors/2/temperature", json!(1))).await,
        "not_granted"
    );
    assert_eq!(
        code_of(publish(&mut device1, "sensors/1/+", json!(1))).await,
        "invalid_topic"
    );
    assert_eq!(
        code_of(publish(&mut device1, "", json!(1))).await,
        "invalid_topic"
    );
    let big = json!("x".repeat(iot::channel::MAX_PAYLOAD));
    assert_eq!(
        code_of(publish(&mut device1, "sensors/1/blob", big)).await,
        "too_large"
    );
    // An empty level is a level, inside `sensors/1/#`.
    publish(&mut device1, "sensors/1//raw", json!(1))
        .await
        .unwrap();
    // Unknown tokens never get in.
    match Session::<Token>::connect(&server.url(), "nobody").await {
        Err(SessionError::Closed { code, .. }) => assert_eq!(code, 4001),
        other => panic!("an unknown token: {:?}", other.err()),
    }
}

#[tokio::test]
async fn a_token_capped_at_one_connection_gets_one() {
    let server = start().await;
    let first = server.device(1).await.expect("the first socket");
    match server.device(1).await {
        Err(SessionError::Closed { code, .. }) => assert_eq!(code, 4029),
        other => panic!("a second socket: {:?}", other.err()),
    }
    // Other tokens are not affected, and the slot frees with the socket.
    let _dashboards = (server.dashboard().await, server.dashboard().await);
    first.close().await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match server.device(1).await {
            Ok(_) => break,
            Err(SessionError::Closed { code: 4029, .. })
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(other) => panic!("after the first closed: {other}"),
        }
    }
}

#[tokio::test]
async fn the_cap_and_a_deletion_hold_across_processes_sharing_redis() {
    let namespace = format!(
        "iot-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let (one, two) = (
        start_on(Some(&namespace)).await,
        start_on(Some(&namespace)).await,
    );
    let mut device = one.device(2).await.expect("device 2 on the first process");
    match two.device(2).await {
        Err(SessionError::Closed { code, .. }) => {
            assert_eq!(code, 4029, "one socket per token, deployment-wide")
        }
        other => panic!("a second socket on the other process: {:?}", other.err()),
    }
    // The operator deletes the token on the second process: the socket on
    // the first closes.
    let (status, _) = two.delete_token(3).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(close_code(&mut device).await, 4030);
}

#[tokio::test]
async fn a_grant_change_drops_what_it_no_longer_covers_at_once() {
    let server = start().await;
    let mut dashboard = server.dashboard().await;
    subscribe(&mut dashboard, "sensors/+/temperature")
        .await
        .unwrap();
    subscribe(&mut dashboard, "sensors/2/#").await.unwrap();

    let (status, body) = server
        .put_grants(1, json!([{"pattern": "sensors/2/#", "access": "read"}]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The client is told: its state shows the new grants, its feed the
    // subscription that ended; the other one stays.
    dashboard
        .wait_for(
            |s| {
                let grants = s.list().map(|t| {
                    t[0].grants
                        .iter()
                        .map(|g| g.pattern.clone())
                        .collect::<Vec<_>>()
                });
                grants.is_ok_and(|g| g == ["sensors/2/#"])
                    && feed(s).subscriptions == ["sensors/2/#"]
            },
            WAIT,
        )
        .await
        .unwrap();
    let dropped = feed(&dashboard).dropped;
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].pattern, "sensors/+/temperature");
    // What it lost it no longer receives; what it kept it does.
    let mut device1 = server.device(1).await.unwrap();
    let mut device2 = server.device(2).await.unwrap();
    publish(&mut device1, "sensors/1/temperature", json!(1))
        .await
        .unwrap();
    publish(&mut device2, "sensors/2/temperature", json!(2))
        .await
        .unwrap();
    dashboard
        .wait_for(|s| feed(s).received == 1, WAIT)
        .await
        .unwrap();
    assert!(feed(&dashboard)
        .latest
        .contains_key("sensors/2/temperature"));
    assert_eq!(
        code_of(subscribe(&mut dashboard, "sensors/1/temperature")).await,
        "not_granted"
    );
    // The new grant is read-only for the dashboard, and a write grant
    // given to device 1 for `commands/#` works at once.
    let (status, _) = server
        .put_grants(
            2,
            json!([{"pattern": "commands/#", "access": "read-write"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let deadline = tokio::time::Instant::now() + WAIT;
    while publish(&mut device1, "commands/2", json!("reboot"))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new grant did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        code_of(publish(&mut device1, "sensors/1/temperature", json!(1))).await,
        "not_granted"
    );
}

#[tokio::test]
async fn a_deleted_token_is_closed_and_stays_out() {
    let server = start().await;
    let mut device = server.device(2).await.unwrap();
    let (status, _) = server.delete_token(3).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(close_code(&mut device).await, 4030);
    match server.device(2).await {
        Err(SessionError::Closed { code, .. }) => assert!(code == 4030 || code == 4001, "{code}"),
        other => panic!("a deleted token came back: {:?}", other.err()),
    }
}

#[tokio::test]
async fn the_operator_api_refuses_everyone_else() {
    let server = start().await;
    let put = |token| server.operator(Method::PUT, "/api/tokens/1/grants", token, Some(json!([])));
    assert_eq!(put(None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(put(Some("nobody")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(put(Some("dashboard-token")).await.0, StatusCode::FORBIDDEN);
    let (status, body) = server
        .put_grants(1, json!([{"pattern": "a/#/b", "access": "read"}]))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_pattern"))
    );
    let (status, _) = server.put_grants(99, json!([])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = server
        .operator(Method::GET, "/api/tokens/2", Some("operator-token"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let token: Token = serde_json::from_value(body).unwrap();
    assert_eq!(token.max_connections, Some(1));
    assert_eq!(token.grants[0].access, Access::ReadWrite);
}
