//! The users resource against a real server: real HTTP/1.1 over a loopback
//! socket for REST, `rxd::client::Client` over a real WebSocket for the
//! channel.

use std::net::SocketAddr;
use std::time::Duration;

use profile::state::User;
use rxd::client::{Client, ClientState, ServerMessage};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a test waits for a message it expects.
const WAIT: Duration = Duration::from_secs(5);

struct Server {
    addr: SocketAddr,
    db: profile::Db,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Server {
    let db = profile::db::open("sqlite::memory:").await.expect("open");
    let app = profile::app(db.clone());
    let router = profile::router(&app, db.clone(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    Server { addr, db, task }
}

impl Server {
    /// One HTTP/1.1 request on its own connection; the status and the JSON
    /// body (`Null` when empty).
    async fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if let Some(token) = token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
            .await
            .expect("response in time")
            .expect("read");
        let text = String::from_utf8(response).expect("utf-8 response");
        let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        };
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {body}"))
        };
        (status, json)
    }

    async fn send(&self, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.http(method, path, Some(token), Some(&body.to_string()))
            .await
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.http("GET", path, Some(token), None).await
    }

    fn ws(&self, user: i64) -> String {
        format!("ws://{}/ws/users/{user}", self.addr)
    }

    /// Connects and reads the initial state.
    async fn watch(&self, user: i64, token: &str) -> (Client, ClientState) {
        let mut client = Client::connect(&self.ws(user), token)
            .await
            .expect("connect");
        let mut state = ClientState::new::<User>();
        let closed = client
            .read_initial_state(&mut state)
            .await
            .expect("initial state");
        assert_eq!(closed, None, "closed instead of sending state");
        (client, state)
    }

    /// The close code a connection gets instead of a state.
    async fn refused(&self, user: i64, token: &str) -> u16 {
        let mut client = Client::connect(&self.ws(user), token)
            .await
            .expect("connect");
        let mut state = ClientState::new::<User>();
        match client
            .read_initial_state(&mut state)
            .await
            .expect("a message")
        {
            Some(ServerMessage::Closed { code, .. }) => code,
            other => panic!("expected a close, got {other:?}"),
        }
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").expect("chunk size");
        let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

/// Applies messages until the client's state equals `expected`; returns
/// how many deltas that took.
async fn converge(client: &mut Client, state: &mut ClientState, expected: Option<&User>) -> usize {
    let before = state.deltas_applied();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if state.rebuild::<User>().expect("rebuild").as_ref() == expected {
            return state.deltas_applied() - before;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.next_within(left).await {
            Ok(ServerMessage::Closed { code, reason }) => panic!("closed {code} {reason}"),
            Ok(message) => {
                state.apply(&message).expect("apply");
            }
            Err(error) => panic!(
                "did not converge: {error}\nclient: {:?}\nexpected: {expected:?}",
                state.rebuild::<User>()
            ),
        }
    }
}

async fn in_db(server: &Server, id: i64) -> Option<User> {
    profile::db::user(&server.db, id).await.expect("query")
}

fn ada() -> Value {
    json!({"id": 1, "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
}

#[tokio::test]
async fn reads_answer_200_404_401_403() {
    let server = start().await;
    let (status, list) = server.get("/api/users/", "ada-token").await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [1, 2, 3], "an admin lists everyone");
    let (status, list) = server.get("/api/users", "grace-token").await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(list[0]["first_name"], "Grace");

    assert_eq!(server.get("/api/users/1/", "ada-token").await, (200, ada()));
    assert_eq!(server.get("/api/users/1", "ada-token").await, (200, ada()));
    assert_eq!(
        server.get("/api/users/999/", "ada-token").await,
        (404, json!({"error": "not_found"}))
    );
    assert_eq!(server.get("/api/users/abc/", "ada-token").await.0, 404);
    assert_eq!(
        server.get("/api/users/1/", "grace-token").await,
        (403, json!({"error": "forbidden"}))
    );
    assert_eq!(
        server.http("GET", "/api/users/1/", None, None).await,
        (401, json!({"error": "unauthorized"}))
    );
    assert_eq!(server.get("/api/users/1/", "nobody").await.0, 401);
}

#[tokio::test]
async fn patch_validates_every_field_and_answers_400_per_field() {
    let server = start().await;
    let (status, body) = server
        .send(
            "PATCH",
            "/api/users/1/",
            "ada-token",
            json!({"first_name": "   ", "last_name": "x".repeat(101), "email": "nope"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"errors": {
            "first_name": "may not be blank",
            "last_name": "must be at most 100 characters",
            "email": "must be an email address",
        }})
    );
    // A type error or null names its field; an unknown field does not.
    let (status, body) = server
        .send(
            "PATCH",
            "/api/users/1/",
            "ada-token",
            json!({"first_name": 7}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["first_name"].is_string(), "{body}");
    let (status, body) = server
        .send(
            "PATCH",
            "/api/users/1/",
            "ada-token",
            json!({"last_name": null}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["last_name"].is_string(), "{body}");
    let (status, body) = server
        .send(
            "PATCH",
            "/api/users/1/",
            "ada-token",
            json!({"nickname": "A"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"]["non_field_errors"]
            .as_str()
            .unwrap_or("")
            .contains("nickname"),
        "{body}"
    );
    let (status, body) = server
        .http(
            "PATCH",
            "/api/users/1/",
            Some("ada-token"),
            Some("{not json"),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["non_field_errors"].is_string(), "{body}");
    // Another user's email is taken.
    assert_eq!(
        server
            .send(
                "PATCH",
                "/api/users/1/",
                "ada-token",
                json!({"email": "grace@example.com"})
            )
            .await,
        (400, json!({"errors": {"email": "is already taken"}}))
    );
    // Nothing was written.
    assert_eq!(
        serde_json::to_value(in_db(&server, 1).await).unwrap(),
        ada()
    );

    // Missing users and other users' profiles.
    assert_eq!(
        server
            .send(
                "PATCH",
                "/api/users/999/",
                "ada-token",
                json!({"first_name": "X"})
            )
            .await
            .0,
        404
    );
    assert_eq!(
        server
            .send(
                "PATCH",
                "/api/users/1/",
                "grace-token",
                json!({"first_name": "X"})
            )
            .await
            .0,
        403
    );

    // A valid patch changes only its fields, trimmed.
    let (status, body) = server
        .send(
            "PATCH",
            "/api/users/1/",
            "ada-token",
            json!({"first_name": "  Augusta "}),
        )
        .await;
    assert_eq!(status, 200);
    let mut expected = ada();
    expected["first_name"] = json!("Augusta");
    assert_eq!(body, expected);
    assert_eq!(
        serde_json::to_value(in_db(&server, 1).await).unwrap(),
        expected
    );
    // Grace may patch herself.
    assert_eq!(
        server
            .send(
                "PATCH",
                "/api/users/2",
                "grace-token",
                json!({"last_name": "Murray Hopper"})
            )
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn post_creates_a_user_for_admins_only() {
    let server = start().await;
    let new =
        json!({"first_name": " Barbara ", "last_name": "Liskov", "email": "barbara@example.com"});
    assert_eq!(
        server
            .send("POST", "/api/users/", "grace-token", new.clone())
            .await
            .0,
        403
    );
    let (status, created) = server.send("POST", "/api/users/", "ada-token", new).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("an id");
    assert_eq!(created["first_name"], "Barbara");
    assert_eq!(
        server.get(&format!("/api/users/{id}/"), "ada-token").await,
        (200, created.clone())
    );
    // The new user can be watched at once.
    let (_client, state) = server.watch(id, "ada-token").await;
    assert_eq!(
        serde_json::to_value(state.rebuild::<User>().unwrap()).unwrap(),
        created
    );

    // Every missing field is named.
    assert_eq!(
        server
            .send(
                "POST",
                "/api/users/",
                "ada-token",
                json!({"first_name": "A", "last_name": "B"})
            )
            .await,
        (400, json!({"errors": {"email": "is required"}}))
    );
    assert_eq!(
        server
            .send(
                "POST",
                "/api/users/",
                "ada-token",
                json!({"first_name": "", "last_name": "B", "email": "ada@example.com"})
            )
            .await,
        (400, json!({"errors": {"first_name": "may not be blank"}}))
    );
}

#[tokio::test]
async fn a_patch_reaches_every_window_on_that_user_and_no_other() {
    let server = start().await;
    let (mut one, mut one_state) = server.watch(1, "ada-token").await;
    let (mut two, mut two_state) = server.watch(1, "ada-token").await;
    let (mut grace, mut grace_state) = server.watch(2, "grace-token").await;

    // A refused patch commits nothing; the valid one after it is the
    // first and only delta.
    let refused = server
        .send(
            "PATCH",
            "/api/users/1/",
            "ada-token",
            json!({"last_name": ""}),
        )
        .await;
    assert_eq!(refused.0, 400);
    assert_eq!(
        server
            .send(
                "PATCH",
                "/api/users/1/",
                "ada-token",
                json!({"first_name": "Augusta"})
            )
            .await
            .0,
        200
    );
    let expected = in_db(&server, 1).await.expect("user 1");
    assert_eq!(expected.first_name, "Augusta");
    assert_eq!(converge(&mut one, &mut one_state, Some(&expected)).await, 1);
    assert_eq!(converge(&mut two, &mut two_state, Some(&expected)).await, 1);

    // The other direction, from the other field.
    assert_eq!(
        server
            .send(
                "PATCH",
                "/api/users/1",
                "ada-token",
                json!({"last_name": "King"})
            )
            .await
            .0,
        200
    );
    let expected = in_db(&server, 1).await.expect("user 1");
    assert_eq!(converge(&mut one, &mut one_state, Some(&expected)).await, 1);
    assert_eq!(converge(&mut two, &mut two_state, Some(&expected)).await, 1);

    // Grace's own patch reaches her window; user 1's windows saw nothing of
    // user 2: their next message is the delta of the next patch to user 1.
    server
        .send(
            "PATCH",
            "/api/users/2/",
            "grace-token",
            json!({"first_name": "Amazing Grace"}),
        )
        .await;
    let grace_now = in_db(&server, 2).await;
    converge(&mut grace, &mut grace_state, grace_now.as_ref()).await;
    server
        .send(
            "PATCH",
            "/api/users/1/",
            "ada-token",
            json!({"email": "countess@example.com"}),
        )
        .await;
    let expected = in_db(&server, 1).await;
    assert_eq!(
        converge(&mut one, &mut one_state, expected.as_ref()).await,
        1
    );
}

#[tokio::test]
async fn delete_answers_204_then_404_and_watchers_see_null() {
    let server = start().await;
    let (mut admin, mut admin_state) = server.watch(2, "ada-token").await;
    let (mut own, mut own_state) = server.watch(2, "grace-token").await;
    assert_eq!(server.get("/api/users/2/", "ada-token").await.0, 200);

    assert_eq!(
        server
            .http("DELETE", "/api/users/2/", Some("ada-token"), None)
            .await,
        (204, Value::Null)
    );
    converge(&mut admin, &mut admin_state, None).await;
    converge(&mut own, &mut own_state, None).await;
    assert_eq!(server.get("/api/users/2/", "ada-token").await.0, 404);
    assert_eq!(
        server
            .http("DELETE", "/api/users/2/", Some("ada-token"), None)
            .await
            .0,
        404
    );
    // A new window on the deleted user is refused; Grace's token went with her.
    assert_eq!(server.refused(2, "ada-token").await, 4004);
    assert_eq!(server.refused(2, "grace-token").await, 4001);
    // Only admins and the user themselves may delete.
    assert_eq!(
        server
            .http("DELETE", "/api/users/1/", Some("linus-token"), None)
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn the_channel_denies_by_default() {
    let server = start().await;
    assert_eq!(server.refused(1, "grace-token").await, 4003);
    assert_eq!(
        server.refused(999, "grace-token").await,
        4003,
        "no hint that 999 is missing"
    );
    assert_eq!(server.refused(999, "ada-token").await, 4004);
    assert_eq!(server.refused(1, "not-a-token").await, 4001);
    let (_client, state) = server.watch(3, "linus-token").await;
    assert_eq!(
        state.rebuild::<User>().unwrap().map(|u| u.last_name),
        Some("Torvalds".into())
    );
}
