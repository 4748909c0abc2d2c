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

/// Fetches `path` from a server over plain HTTP/1.1 and returns the status,
/// the `content-type` and the body. (The tests need no HTTP client crate for
/// one GET.)
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect for GET");
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("send GET");
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.expect("read response");
    let response = String::from_utf8(response).expect("a UTF-8 response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a response with headers");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let content_type = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

/// A parsed Prometheus text exposition: samples by `name{labels}` exactly
/// as written.
pub struct Exposition {
    samples: std::collections::HashMap<String, f64>,
    text: String,
}

impl Exposition {
    /// Parses and checks the exposition: every line is a `# HELP`, a
    /// `# TYPE` or a sample `name{k="v",...} value`; every sample's family
    /// is typed before it; no sample appears twice; counters end in
    /// `_total`; histogram buckets are cumulative and end with `+Inf`
    /// equal to `_count`. Panics with the offending line otherwise.
    pub fn parse(text: &str) -> Exposition {
        let mut types: std::collections::HashMap<String, String> = Default::default();
        let mut samples = std::collections::HashMap::new();
        let mut last_bucket: Option<(String, f64)> = None;
        let valid_name = |name: &str| {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        };
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let (kind, name, value) = (parts.next(), parts.next(), parts.next());
                let (Some(kind), Some(name), Some(value)) = (kind, name, value) else {
                    panic!("bad comment line: {line:?}");
                };
                assert!(valid_name(name), "bad metric name in {line:?}");
                match kind {
                    "HELP" => {}
                    "TYPE" => {
                        assert!(
                            ["counter", "gauge", "histogram"].contains(&value),
                            "unknown type in {line:?}"
                        );
                        if value == "counter" {
                            assert!(name.ends_with("_total"), "counter without _total: {line:?}");
                        }
                        let previous = types.insert(name.to_owned(), value.to_owned());
                        assert!(previous.is_none(), "family typed twice: {line:?}");
                    }
                    _ => panic!("unknown comment {line:?}"),
                }
                continue;
            }
            let (key, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("sample without a value: {line:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad sample value: {line:?}"));
            let name = key.split('{').next().unwrap_or(key);
            assert!(valid_name(name), "bad sample name: {line:?}");
            if let Some(labels) = key.strip_prefix(name) {
                if !labels.is_empty() {
                    let inner = labels
                        .strip_prefix('{')
                        .and_then(|l| l.strip_suffix('}'))
                        .unwrap_or_else(|| panic!("bad label set: {line:?}"));
                    for pair in inner.split(',') {
                        let (label, quoted) = pair
                            .split_once('=')
                            .unwrap_or_else(|| panic!("bad label: {line:?}"));
                        assert!(valid_name(label), "bad label name: {line:?}");
                        assert!(
                            quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                            "unquoted label value: {line:?}"
                        );
                    }
                }
            }
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    let base = name.strip_suffix(suffix)?;
                    (types.get(base).map(String::as_str) == Some("histogram")).then_some(base)
                })
                .unwrap_or(name);
            assert!(
                types.contains_key(family),
                "sample before its TYPE: {line:?}"
            );
            if name.ends_with("_bucket") {
                if let Some((previous_family, previous)) = &last_bucket {
                    if previous_family == family {
                        assert!(value >= *previous, "buckets not cumulative: {line:?}");
                    }
                }
                last_bucket = Some((family.to_owned(), value));
            } else if name.ends_with("_count")
                && types.get(family).map(String::as_str) == Some("histogram")
            {
                let inf = samples.get(&format!("{family}_bucket{{le=\"+Inf\"}}"));
                assert_eq!(
                    inf,
                    Some(&value),
                    "+Inf bucket differs from _count: {line:?}"
                );
            }
            assert!(
                samples.insert(key.to_owned(), value).is_none(),
                "sample twice: {line:?}"
            );
        }
        Exposition {
            samples,
            text: text.to_owned(),
        }
    }

    /// The value of `key` (`name` or `name{labels}` as exposed); panics,
    /// showing the exposition, if it is missing.
    pub fn get(&self, key: &str) -> f64 {
        match self.samples.get(key) {
            Some(value) => *value,
            None => panic!("no sample {key} in:\n{}", self.text),
        }
    }

    /// The value of `key`, or 0 if it was never exposed (a labelled counter
    /// appears with its first count).
    pub fn get_or_zero(&self, key: &str) -> f64 {
        self.samples.get(key).copied().unwrap_or(0.0)
    }
}

impl std::fmt::Debug for Exposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Scrapes the metrics at `path` and parses them; checks the status and the
/// Prometheus content type.
pub async fn scrape(addr: SocketAddr, path: &str) -> Exposition {
    let (status, content_type, body) = http_get(addr, path).await;
    assert_eq!(status, 200, "scrape {path}: {body}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "content type {content_type:?}"
    );
    Exposition::parse(&body)
}
