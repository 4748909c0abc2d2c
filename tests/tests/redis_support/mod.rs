//! Support for the Redis tests: real `board` server processes sharing one
//! SQLite file and one Redis, a private `redis-server` that a test may stop,
//! a minimal HTTP/1.1 client and clients that reconnect like the browser's.
//!
//! The server is the board example's binary. The first test that needs it
//! runs `cargo build -p board` (a no-op when it is fresh) and takes
//! `target/<profile>/board` next to the test executable; set
//! `RXD_BOARD_BIN` to use another binary. Redis is `RXD_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379/`); every test uses its own namespace.
//! Server logs (warnings, without the REST errors that the failure test
//! causes on purpose; `RXD_TEST_SERVER_LOG` sets another filter) are copied
//! to the test's output.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use board::state::Board;
use rxd::client::{Client, ClientState, ServerMessage};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// How long anything may take before the test calls it hung.
pub const WAIT: Duration = Duration::from_secs(20);

/// The shared Redis of the tests.
pub fn redis_url() -> String {
    std::env::var("RXD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// A namespace no other test run uses.
pub fn namespace(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("test:{test}:{}:{nanos}", std::process::id())
}

/// `url` with `?namespace=ns`.
pub fn with_namespace(url: &str, ns: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}namespace={ns}")
}

/// The board binary, built once per test executable.
pub fn board_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(path) = std::env::var("RXD_BOARD_BIN") {
            return PathBuf::from(path);
        }
        let exe = std::env::current_exe().expect("test executable");
        // <target>/<profile>/deps/<test>-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .to_path_buf();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = std::process::Command::new(cargo);
        build
            .args(["build", "--quiet", "-p", "board", "--bin", "board"])
            .current_dir(root);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build -p board");
        assert!(status.success(), "cargo build -p board failed");
        let bin = profile_dir.join(format!("board{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "no board binary at {}", bin.display());
        bin
    })
    .clone()
}

/// A temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("rxd-{}", namespace(test).replace(':', "-")));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The shared SQLite file, created with the demo data and in WAL mode
/// (several processes write it).
pub async fn shared_db(dir: &TempDir) -> (String, board::Db) {
    let url = format!("sqlite://{}", dir.0.join("board.db").display());
    let db = board::db::open(&url)
        .await
        .expect("open the shared database");
    sqlx::query("PRAGMA journal_mode=WAL")
        .execute(&db)
        .await
        .expect("WAL");
    (url, db)
}

/// One `board serve` process.
pub struct Server {
    pub addr: SocketAddr,
    child: Child,
}

impl Server {
    pub async fn start(db_url: &str, redis_url: &str) -> Server {
        Self::start_with_args(db_url, redis_url, &[]).await
    }

    /// Starts a server with more `board serve` arguments.
    pub async fn start_with_args(db_url: &str, redis_url: &str, args: &[&str]) -> Server {
        let log = std::env::var("RXD_TEST_SERVER_LOG")
            .unwrap_or_else(|_| "warn,board::api=off,tower_http=off".into());
        let mut child = Command::new(board_bin())
            .args(["serve", "--addr", "127.0.0.1:0", "--db", db_url])
            .args(["--redis", redis_url])
            .args(["--metrics", "/metrics"])
            .args(args)
            .env("RUST_LOG", log)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start board serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(rest) = line.strip_prefix("listening on http://") {
                    return rest.trim().parse::<SocketAddr>().expect("address");
                }
            }
            panic!("board serve exited before listening");
        })
        .await
        .expect("board serve did not start in time");
        // The server logs to stdout: pass it on to the test's output (shown
        // when a test fails), and never let the process block on it.
        let pid = child.id().unwrap_or(0);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[board {pid}] {line}");
            }
        });
        Server { addr, child }
    }

    pub fn board_url(&self, board: i64) -> String {
        format!("ws://{}/ws/boards/{board}", self.addr)
    }

    /// Calls the REST API over a fresh HTTP/1.1 connection; returns the
    /// status and the JSON body (`Null` when empty). Panics if the server
    /// does not answer within [`WAIT`].
    pub async fn rest(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        tokio::time::timeout(WAIT, http(self.addr, method, path, token, body))
            .await
            .unwrap_or_else(|_| panic!("{method} {path} on {} hung", self.addr))
    }

    /// Kills the process with SIGKILL: it cleans nothing up.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill board serve");
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
}

async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad response: {text}"));
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, json)
}

/// A `redis-server` of the test's own on a free port, without persistence,
/// that the test may stop and start again.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub async fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut redis = PrivateRedis { port, child: None };
        redis.restart().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server (again) and waits until it answers.
    pub async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed (.ci/run installs it)");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if redis_ping(self.port).await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the server: everything it held is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis-server");
        }
    }
}

async fn redis_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await,
        Ok(Ok(n)) if buf[..n].starts_with(b"+PONG")
    )
}

/// The Redis clients whose name says they belong to namespace `ns`.
pub async fn redis_clients(url: &str, ns: &str) -> Vec<String> {
    let client = redis::Client::open(url).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("a Redis server for the tests (RXD_TEST_REDIS_URL)");
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut conn)
        .await
        .expect("CLIENT LIST");
    let needle = format!("name=rxd:{ns}:");
    list.lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

/// Deletes a namespace's keys.
pub async fn drop_namespace(url: &str, ns: &str) {
    if let Ok(client) = redis::Client::open(url) {
        if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
            let _: Result<(), _> = redis::cmd("DEL")
                .arg(format!("{{{ns}}}:version"))
                .arg(format!("{{{ns}}}:events"))
                .query_async(&mut conn)
                .await;
        }
    }
}

/// Connects and reads the initial state.
pub async fn watch_board(url: &str, token: &str) -> (Client, ClientState) {
    let mut client = Client::connect(url, token).await.expect("connect");
    let mut state = ClientState::new::<Board>();
    let closed = tokio::time::timeout(WAIT, client.read_initial_state(&mut state))
        .await
        .expect("initial state in time")
        .expect("initial state");
    assert_eq!(closed, None, "server closed instead of sending state");
    (client, state)
}

/// The board as a fresh load from the database sees it.
pub async fn fresh(db: &board::Db, board: i64) -> Board {
    board::db::load_board(db, board)
        .await
        .expect("load")
        .expect("board exists")
}

/// Applies messages until the client's state equals a fresh load.
pub async fn converge(db: &board::Db, board: i64, client: &mut Client, state: &mut ClientState) {
    let expected = fresh(db, board).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if state.rebuild::<Board>().expect("rebuild").as_ref() == Some(&expected) {
            return;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.next_within(left).await {
            Ok(ServerMessage::Closed { code, reason }) => panic!("closed {code} {reason}"),
            Ok(message) => {
                state.apply(&message).expect("apply");
            }
            Err(error) => panic!(
                "did not converge: {error}\nclient: {:#?}\ndatabase: {expected:#?}",
                state.rebuild::<Board>()
            ),
        }
    }
}

/// A client that stays on a board the way the browser's does: when the
/// server closes the socket it reconnects (to the next URL) and reloads.
pub struct Follower {
    pub board: Arc<watch::Sender<Option<Board>>>,
    pub reconnects: Arc<AtomicUsize>,
    pub closes: Arc<Mutex<Vec<u16>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    /// Starts following and waits for the first state.
    pub async fn start(urls: Vec<String>, token: &'static str) -> Follower {
        let board = Arc::new(watch::Sender::new(None));
        let reconnects = Arc::new(AtomicUsize::new(0));
        let closes = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(follow(
            urls,
            token,
            board.clone(),
            reconnects.clone(),
            closes.clone(),
        ));
        let mut seen = board.subscribe();
        tokio::time::timeout(WAIT, seen.wait_for(Option::is_some))
            .await
            .expect("a first state in time")
            .expect("follower alive");
        Follower {
            board,
            reconnects,
            closes,
            task,
        }
    }

    /// Waits until the follower shows `expected`.
    pub async fn converge(&self, expected: &Board, name: &str) {
        let mut seen = self.board.subscribe();
        let done =
            tokio::time::timeout(WAIT, seen.wait_for(|b| b.as_ref() == Some(expected))).await;
        assert!(
            matches!(done, Ok(Ok(_))),
            "{name} did not converge (reconnects {}, closes {:?})\nclient: {:#?}\ndatabase: {expected:#?}",
            self.reconnects.load(Ordering::SeqCst),
            self.closes.lock().unwrap(),
            self.board.borrow(),
        );
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn follow(
    urls: Vec<String>,
    token: &'static str,
    board: Arc<watch::Sender<Option<Board>>>,
    reconnects: Arc<AtomicUsize>,
    closes: Arc<Mutex<Vec<u16>>>,
) {
    let mut attempt = 0usize;
    loop {
        let url = &urls[attempt % urls.len()];
        attempt += 1;
        if let Ok(mut client) = Client::connect(url, token).await {
            let mut state = ClientState::new::<Board>();
            loop {
                match client.next().await {
                    Ok(ServerMessage::Closed { code, .. }) => {
                        closes.lock().unwrap().push(code);
                        break;
                    }
                    Ok(message) => {
                        let changed = state.apply(&message).expect("apply");
                        if changed {
                            board.send_replace(state.rebuild::<Board>().expect("rebuild"));
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        reconnects.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
