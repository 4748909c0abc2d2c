//! The Redis broker: every process of a deployment appends its change
//! events to one Redis stream and reads them all back from it, in the
//! stream's order.
//!
//! # Keys
//!
//! With namespace `ns` (default `rxd`):
//!
//! - `{ns}:version`: the last version given out (a string integer);
//! - `{ns}:events`: a stream, one entry per event: `v` (its version), `k`
//!   (`change`, `control` or `resync`) and `e` (the change or the control
//!   event, JSON). Trimmed with
//!   `MAXLEN ~ stream_max_len`.
//!
//! Both keys share the hash tag `{ns}`, so one script may touch both on a
//! Redis Cluster too. Connection limits and revoked tokens add
//! `{ns}:proc:*`, `{ns}:conns:*` and `{ns}:revoked:*` (see `redis/leases.rs`).
//!
//! # Order
//!
//! One Lua script reads the version, appends entries with the next
//! versions and stores the last one; publishes made while one is in flight
//! go together in the next call (`redis/outbox.rs`). Scripts run
//! atomically, so the stream's order is the version order and consecutive
//! entries carry consecutive versions. Each
//! process runs one reader task that `XREAD`s the stream from the last
//! entry it saw and hands every entry to the hub in that order: every
//! process sees every event, in one order.
//!
//! # Losing Redis
//!
//! The reader reconnects with backoff and resumes after the last entry it
//! delivered. Because versions are consecutive, a missed entry shows as a
//! jump: if the stream no longer holds what the reader missed (trimmed, or
//! the server restarted without its data) the reader tells the hub to
//! resync (drop its hot anchors; their clients reload).
//!
//! A publish that fails returns an error to `batch.commit()`. Its database
//! transaction has committed already, so clients anywhere may now be stale:
//! the process remembers it and, once Redis answers again, appends a
//! `resync` entry that makes every process resync.
//!
//! When the version key is missing or behind what this process has seen
//! (Redis lost data), the scripts restart it at the Redis server's clock in
//! microseconds (or the process's last version if that is larger), so
//! versions never go back as long as the deployment makes fewer than a
//! million events per second.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use redis::aio::MultiplexedConnection;
use redis::streams::StreamReadReply;
use redis::{AsyncConnectionConfig, Client, RedisError, Script};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::{
    Broker, BrokerError, ChangeEvent, ChangeSet, ControlEvent, EventSink, History, HistoryLimits,
};
use crate::channel::BoxFuture;
use crate::state::{FlatInstance, InstanceId};

/// Where the Redis broker connects and how it behaves. See `docs/DEPLOY.md`.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// The Redis URL without rxd's own parameters, e.g.
    /// `redis://127.0.0.1:6379/0`.
    pub url: String,
    /// Prefix of every key, so that several deployments (or test runs)
    /// share a server. Default `rxd`.
    pub namespace: String,
    /// Approximate number of events the stream keeps (`MAXLEN ~`): how
    /// long a process may lose Redis and still catch up without a resync.
    /// Default 10 000.
    pub stream_max_len: u64,
    /// Timeout of one Redis command, and of connecting. Default 3 s.
    pub command_timeout: Duration,
    /// How long `publish` waits for its event to come back to this
    /// process's hub before it fails. Default 5 s.
    pub delivery_timeout: Duration,
    /// How long one `XREAD` blocks. Default 2 s.
    pub read_block: Duration,
    /// First reconnect delay; doubles up to `reconnect_max`. Default 100 ms.
    pub reconnect_min: Duration,
    /// Largest reconnect delay. Default 2 s.
    pub reconnect_max: Duration,
    /// How far back a resuming client may come: the newest `max_events`
    /// stream entries (never more than the stream keeps), none older than
    /// `max_age`. Default 1 000 events, 5 minutes.
    pub history: HistoryLimits,
    /// How long a connection's slot (per-principal limits) outlives the
    /// last renewal of its process: a process that dies frees its slots
    /// after at most this long. Renewed every third of it. Default 10 s.
    pub lease_ttl: Duration,
}

impl RedisConfig {
    /// A configuration with defaults. `url` may carry rxd's own query
    /// parameters, which are taken out of it: `namespace=NAME` and
    /// `stream_max_len=N` (for example
    /// `redis://127.0.0.1:6379/?namespace=prod`).
    pub fn new(url: &str) -> Result<RedisConfig, BrokerError> {
        let mut config = RedisConfig {
            url: url.to_owned(),
            namespace: "rxd".to_owned(),
            stream_max_len: 10_000,
            command_timeout: Duration::from_secs(3),
            delivery_timeout: Duration::from_secs(5),
            read_block: Duration::from_secs(2),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(2),
            history: HistoryLimits::default(),
            lease_ttl: Duration::from_secs(10),
        };
        if let Some((base, query)) = url.split_once('?') {
            let mut kept = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                match name {
                    "namespace" => config.namespace = value.to_owned(),
                    "lease_ttl_ms" => {
                        let ms: u64 = value.parse().map_err(|_| {
                            BrokerError(format!("lease_ttl_ms={value} is not a number"))
                        })?;
                        config.lease_ttl = Duration::from_millis(ms);
                    }
                    "stream_max_len" => {
                        config.stream_max_len = value.parse().map_err(|_| {
                            BrokerError(format!("stream_max_len={value} is not a number"))
                        })?;
                    }
                    _ => kept.push(pair),
                }
            }
            config.url = if kept.is_empty() {
                base.to_owned()
            } else {
                format!("{base}?{}", kept.join("&"))
            };
        }
        config.check()?;
        Ok(config)
    }

    /// Sets the namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets the stream's approximate length.
    pub fn stream_max_len(mut self, len: u64) -> Self {
        self.stream_max_len = len;
        self
    }

    fn check(&self) -> Result<(), BrokerError> {
        let ns = &self.namespace;
        if ns.is_empty()
            || ns
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}')
        {
            return Err(BrokerError(format!(
                "namespace {ns:?} must be non-empty, without spaces or braces"
            )));
        }
        if self.lease_ttl < Duration::from_millis(30) {
            return Err(BrokerError("lease_ttl must be at least 30 ms".into()));
        }
        if self.stream_max_len == 0 {
            return Err(BrokerError("stream_max_len must be at least 1".into()));
        }
        Ok(())
    }
}

/// The broker for several processes: one Redis stream orders and carries
/// every change event. `docs/DESIGN.md` ("Scaling out with Redis") has the
/// keys, the scripts and the failure behavior; `docs/DEPLOY.md` the
/// settings.
///
/// Each process holds two Redis connections whatever its number of
/// WebSocket clients: one pipelined connection that publishes, one that
/// blocks reading the stream.
pub struct RedisBroker {
    shared: Arc<Shared>,
    reader: AbortHandle,
    admission: Arc<leases::RedisAdmission>,
    renewer: AbortHandle,
    appender: AbortHandle,
}

struct Shared {
    config: RedisConfig,
    client: Client,
    version_key: String,
    stream_key: String,
    /// The last version delivered to this process (or skipped past by a
    /// resync). Publishers wait on it.
    delivered: watch::Sender<u64>,
    /// Whether the reader has read the stream's position once.
    started: watch::Sender<bool>,
    delivery: Mutex<Delivery>,
    publisher: tokio::sync::Mutex<Publisher>,
    /// Events waiting to be appended, in batches (`redis/outbox.rs`).
    outbox: outbox::Outbox,
    /// A publish failed after its database change committed: every
    /// process must resync once Redis answers.
    owe_resync: AtomicBool,
    /// Times the reader lost Redis, for the metrics.
    reconnects: std::sync::atomic::AtomicU64,
}

struct Delivery {
    sink: Option<Arc<dyn EventSink>>,
    last: u64,
}

struct Publisher {
    conn: Option<MultiplexedConnection>,
    retry_at: Option<Instant>,
    backoff: Duration,
}

/// The change as it travels in the stream: instances without their
/// version (the entry's `v` is it).
#[derive(Serialize, Deserialize)]
struct WireChange {
    #[serde(rename = "s")]
    saved: Vec<WireInstance>,
    #[serde(rename = "d")]
    deleted: Vec<InstanceId>,
}

#[derive(Serialize, Deserialize)]
struct WireInstance {
    #[serde(rename = "i")]
    id: InstanceId,
    #[serde(rename = "f")]
    fields: Map<String, Value>,
}

impl From<ChangeSet> for WireChange {
    fn from(changes: ChangeSet) -> Self {
        WireChange {
            saved: changes
                .saved
                .into_iter()
                .map(|i| WireInstance {
                    id: i.id,
                    fields: i.fields,
                })
                .collect(),
            deleted: changes.deleted,
        }
    }
}

impl WireChange {
    fn into_event(self, version: u64) -> ChangeEvent {
        ChangeEvent {
            version,
            saved: self
                .saved
                .into_iter()
                .map(|i| {
                    Arc::new(FlatInstance {
                        id: i.id,
                        version,
                        fields: i.fields,
                    })
                })
                .collect(),
            deleted: self.deleted,
        }
    }
}

/// Restarts the version from the server's clock when the key is missing
/// or behind the caller's floor. Shared by both scripts.
const SEED: &str = r"
local function seed(v, floor)
  if v == 0 or v < floor then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
    if now > floor then return now, 1 end
    return floor, 1
  end
  return v, 0
end
";

/// KEYS: version, stream. ARGV: max length, floor, then the kind and
/// payload of each entry. Appends the entries with consecutive versions;
/// returns the first one's.
const PUBLISH: &str = r"
local v = seed(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[2]))
local first = string.format('%d', v + 1)
for i = 3, #ARGV, 2 do
  v = v + 1
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'v', string.format('%d', v), 'k', ARGV[i], 'e', ARGV[i + 1])
end
redis.call('SET', KEYS[1], string.format('%d', v))
return first
";

/// KEYS: version, stream. ARGV: floor, the last entry id read ('' for
/// none). Returns the current version, whether it was restarted, the id of
/// the stream's last entry ('' when empty), and the version of the first
/// entry after the given id ('' when none).
const POSITION: &str = r"
local v, reseeded = seed(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[1]))
v = string.format('%d', v)
if reseeded == 1 then redis.call('SET', KEYS[1], v) end
local last_id = ''
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 then last_id = last[1][1] end
local next_v = ''
if ARGV[2] ~= '' then
  local after = redis.call('XRANGE', KEYS[2], '(' .. ARGV[2], '+', 'COUNT', 1)
  if #after > 0 then
    local fields = after[1][2]
    for i = 1, #fields, 2 do
      if fields[i] == 'v' then next_v = fields[i + 1] end
    end
  end
end
return {v, reseeded, last_id, next_v}
";

fn publish_script() -> &'static Script {
    static SCRIPT: std::sync::OnceLock<Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(&format!("{SEED}{PUBLISH}")))
}

fn position_script() -> &'static Script {
    static SCRIPT: std::sync::OnceLock<Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(&format!("{SEED}{POSITION}")))
}

fn redis_error(context: &str, error: RedisError) -> BrokerError {
    BrokerError(format!("redis {context}: {error}"))
}

/// Whether the connection that returned `error` should be replaced.
fn connection_broken(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_timeout()
        || error.is_unrecoverable_error()
}

impl RedisBroker {
    /// Creates the broker and starts its reader task in the background;
    /// Redis is reached later, with backoff. Must be called inside a Tokio
    /// runtime. Prefer [`connect`](RedisBroker::connect), which fails when
    /// Redis does not answer.
    pub fn new(config: RedisConfig) -> Result<RedisBroker, BrokerError> {
        config.check()?;
        let client = Client::open(config.url.as_str())
            .map_err(|e| BrokerError(format!("redis url {:?}: {e}", config.url)))?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| BrokerError("RedisBroker needs a Tokio runtime".into()))?;
        let ns = &config.namespace;
        let shared = Arc::new(Shared {
            version_key: format!("{{{ns}}}:version"),
            stream_key: format!("{{{ns}}}:events"),
            delivered: watch::Sender::new(0),
            started: watch::Sender::new(false),
            delivery: Mutex::new(Delivery {
                sink: None,
                last: 0,
            }),
            publisher: tokio::sync::Mutex::new(Publisher {
                conn: None,
                retry_at: None,
                backoff: config.reconnect_min,
            }),
            outbox: outbox::Outbox::default(),
            owe_resync: AtomicBool::new(false),
            reconnects: std::sync::atomic::AtomicU64::new(0),
            client,
            config,
        });
        let reader = runtime.spawn(read_forever(shared.clone())).abort_handle();
        let appender = runtime
            .spawn(outbox::append_forever(shared.clone()))
            .abort_handle();
        let admission = leases::RedisAdmission::new(shared.clone());
        let renewer = runtime
            .spawn(leases::renew_forever(
                Arc::downgrade(&admission),
                shared.config.lease_ttl / 3,
            ))
            .abort_handle();
        Ok(RedisBroker {
            shared,
            reader,
            admission,
            renewer,
            appender,
        })
    }

    /// Creates the broker and waits until it has connected both its
    /// publishing connection and its reader; fails if Redis does not answer
    /// within the command timeout.
    pub async fn connect(config: RedisConfig) -> Result<RedisBroker, BrokerError> {
        let broker = RedisBroker::new(config)?;
        let shared = &broker.shared;
        shared.publisher().await?;
        let mut started = shared.started.subscribe();
        let wait = shared.config.command_timeout * 2;
        let ready = matches!(
            tokio::time::timeout(wait, started.wait_for(|s| *s)).await,
            Ok(Ok(_))
        );
        if ready {
            Ok(broker)
        } else {
            Err(BrokerError(format!(
                "redis reader did not start within {wait:?}"
            )))
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &RedisConfig {
        &self.shared.config
    }
}

impl Drop for RedisBroker {
    fn drop(&mut self) {
        self.reader.abort();
        self.renewer.abort();
        self.appender.abort();
    }
}

impl Broker for RedisBroker {
    fn publish(&self, changes: ChangeSet) -> BoxFuture<'_, Result<u64, BrokerError>> {
        Box::pin(self.shared.publish(changes))
    }

    fn publish_control(&self, event: ControlEvent) -> BoxFuture<'_, Result<u64, BrokerError>> {
        Box::pin(self.shared.publish_control(event))
    }

    fn admission(&self) -> Option<Arc<dyn crate::limits::Admission>> {
        Some(self.admission.clone())
    }

    fn reconnects(&self) -> u64 {
        self.shared.reconnects.load(Ordering::Relaxed)
    }

    fn attach(&self, sink: Arc<dyn EventSink>) {
        let mut delivery = self.shared.delivery.lock();
        if delivery.last > 0 {
            sink.deliver(Arc::new(ChangeEvent::empty(delivery.last)));
        }
        delivery.sink = Some(sink);
    }

    fn history(&self, after: u64) -> BoxFuture<'_, Result<History, BrokerError>> {
        Box::pin(self.shared.history(after))
    }
}

/// Where the reader stands in the stream.
struct Cursor {
    id: String,
    version: u64,
}

impl Shared {
    async fn connect(&self, role: &str) -> Result<MultiplexedConnection, RedisError> {
        let timeout = self.config.command_timeout;
        let response = match role {
            // The reader's XREAD blocks on purpose.
            "reader" => timeout + self.config.read_block,
            _ => timeout,
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(response));
        let mut conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let name = format!(
            "rxd:{}:{role}:{}",
            self.config.namespace,
            std::process::id()
        );
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(name)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(conn)
    }

    /// The publishing connection, connecting it if needed (at most once per
    /// backoff period while Redis is away).
    async fn publisher(&self) -> Result<MultiplexedConnection, BrokerError> {
        let mut publisher = self.publisher.lock().await;
        if let Some(conn) = &publisher.conn {
            return Ok(conn.clone());
        }
        if let Some(at) = publisher.retry_at {
            if Instant::now() < at {
                return Err(BrokerError(
                    "redis unavailable (reconnecting with backoff)".into(),
                ));
            }
        }
        match self.connect("publisher").await {
            Ok(conn) => {
                publisher.conn = Some(conn.clone());
                publisher.retry_at = None;
                publisher.backoff = self.config.reconnect_min;
                Ok(conn)
            }
            Err(error) => {
                publisher.retry_at = Some(Instant::now() + publisher.backoff);
                publisher.backoff = (publisher.backoff * 2).min(self.config.reconnect_max);
                Err(redis_error("connect", error))
            }
        }
    }

    async fn drop_publisher(&self) {
        self.publisher.lock().await.conn = None;
    }

    /// Appends one change with the next version and waits until this
    /// process's reader has delivered it.
    async fn publish(&self, changes: ChangeSet) -> Result<u64, BrokerError> {
        let version = match self.order(changes).await {
            Ok(version) => version,
            Err(error) => {
                // The caller's database change has committed but may reach
                // no one: every process must reload once Redis answers.
                self.owe_resync.store(true, Ordering::SeqCst);
                return Err(error);
            }
        };
        // Ordered: it reaches every process (or their resync covers it),
        // so a slow delivery here needs no resync.
        self.delivered_here(version).await
    }

    /// Appends one control event and waits until this process's reader
    /// has delivered it. A failure needs no resync: no state depends on
    /// control events.
    async fn publish_control(&self, event: ControlEvent) -> Result<u64, BrokerError> {
        let payload = serde_json::to_string(&event)
            .map_err(|e| BrokerError(format!("serialize control event: {e}")))?;
        let version = self.outbox.append("control", payload).await?;
        self.delivered_here(version).await
    }

    /// Waits until the reader has delivered `version` to this process.
    async fn delivered_here(&self, version: u64) -> Result<u64, BrokerError> {
        let mut delivered = self.delivered.subscribe();
        let wait = delivered.wait_for(|d| *d >= version);
        if matches!(
            tokio::time::timeout(self.config.delivery_timeout, wait).await,
            Ok(Ok(_))
        ) {
            Ok(version)
        } else {
            Err(BrokerError(format!(
                "event {version} was ordered but did not reach this process within {:?}",
                self.config.delivery_timeout
            )))
        }
    }

    /// Appends one change entry; returns its version.
    async fn order(&self, changes: ChangeSet) -> Result<u64, BrokerError> {
        let payload = serde_json::to_string(&WireChange::from(changes))
            .map_err(|e| BrokerError(format!("serialize change: {e}")))?;
        self.outbox.append("change", payload).await
    }

    /// Delivers one change event to the sink, after a resync if `resync`.
    fn deliver(&self, event: ChangeEvent, resync: bool) {
        let version = event.version;
        self.hand_over(version, resync, |sink| sink.deliver(Arc::new(event)));
    }

    /// Delivers one control event to the sink, after a resync if `resync`.
    fn deliver_control(&self, version: u64, event: ControlEvent, resync: bool) {
        self.hand_over(version, resync, |sink| {
            sink.control(version, Arc::new(event));
        });
    }

    /// Gives the sink the event at `version` (unless it was delivered
    /// already), after a resync if `resync`, and tells publishers waiting
    /// for it.
    fn hand_over(&self, version: u64, resync: bool, give: impl FnOnce(&Arc<dyn EventSink>)) {
        let mut delivery = self.delivery.lock();
        if let Some(sink) = &delivery.sink {
            if resync {
                sink.resync();
            }
            if version > delivery.last {
                give(sink);
            }
        }
        delivery.last = delivery.last.max(version);
        let last = delivery.last;
        drop(delivery);
        self.delivered.send_replace(last);
    }

    /// One connection's life: find where to resume, then read until the
    /// connection fails.
    async fn read(
        &self,
        cursor: &mut Option<Cursor>,
        connected: &mut bool,
    ) -> Result<std::convert::Infallible, RedisError> {
        let mut conn = self.connect("reader").await?;
        self.locate(&mut conn, cursor, true).await?;
        *connected = true;
        self.started.send_replace(true);

        let block_ms = u64::try_from(self.config.read_block.as_millis()).unwrap_or(u64::MAX);
        loop {
            if self.owe_resync.swap(false, Ordering::SeqCst) {
                let empty = serde_json::to_string(&WireChange::from(ChangeSet::default()))
                    .unwrap_or_default();
                let entry = std::iter::once(("resync", empty.as_str()));
                if let Err(error) = self.append(&mut conn, entry).await {
                    self.owe_resync.store(true, Ordering::SeqCst);
                    return Err(error);
                }
                tracing::warn!(
                    "redis broker: a publish failed earlier; asked every process to resync"
                );
            }
            let at = cursor.as_mut().expect("set above");
            let reply: Option<StreamReadReply> = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(512)
                .arg("BLOCK")
                .arg(block_ms)
                .arg("STREAMS")
                .arg(&self.stream_key)
                .arg(&at.id)
                .query_async(&mut conn)
                .await?;
            let Some(reply) = reply else {
                // Quiet for a whole block: check that the stream is still
                // the one the cursor points into (it may have been lost and
                // started again with smaller ids).
                self.locate(&mut conn, cursor, false).await?;
                continue;
            };
            for entry in reply.keys.into_iter().flat_map(|k| k.ids) {
                self.receive(at, entry.id, entry.map);
            }
        }
    }

    /// Finds where the stream stands and where this process resumes. The
    /// first time, that is the stream's end. Later, it is the cursor,
    /// unless the stream no longer holds the entry right after it (trimmed,
    /// or the data was lost): then the hub resyncs and reading goes on from
    /// the stream's end.
    async fn locate(
        &self,
        conn: &mut MultiplexedConnection,
        cursor: &mut Option<Cursor>,
        reconnected: bool,
    ) -> Result<(), RedisError> {
        let floor = cursor.as_ref().map_or(0, |c| c.version);
        let after = cursor.as_ref().map_or("", |c| c.id.as_str());
        let (current, reseeded, last_id, next): (String, i64, String, String) = position_script()
            .key(&self.version_key)
            .key(&self.stream_key)
            .arg(floor)
            .arg(after)
            .invoke_async(conn)
            .await?;
        let current: u64 = current.parse().unwrap_or(0);
        let last_id = if last_id.is_empty() {
            "0-0".to_owned()
        } else {
            last_id
        };
        match cursor {
            None => {
                tracing::info!(version = current, "redis broker: reading events");
                *cursor = Some(Cursor {
                    id: last_id,
                    version: current,
                });
                self.deliver(ChangeEvent::empty(current), false);
            }
            Some(at) => {
                let next: Option<u64> = next.parse().ok();
                let lost = reseeded == 1
                    || current < at.version
                    || (current > at.version && next != Some(at.version + 1));
                if lost {
                    tracing::warn!(
                        last = at.version,
                        current,
                        "redis broker: events this process missed are gone; resyncing"
                    );
                    *at = Cursor {
                        id: last_id,
                        version: current,
                    };
                    self.deliver(ChangeEvent::empty(current), true);
                } else if reconnected {
                    tracing::info!(version = at.version, "redis broker: reconnected; resuming");
                }
            }
        }
        Ok(())
    }

    /// Hands one stream entry to the sink.
    fn receive(&self, at: &mut Cursor, id: String, fields: HashMap<String, redis::Value>) {
        let text = |name: &str| -> Option<String> {
            fields
                .get(name)
                .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
        };
        at.id = id;
        let Some(version) = text("v").and_then(|v| v.parse::<u64>().ok()) else {
            tracing::error!(entry = %at.id, "redis broker: entry without a version; resyncing");
            self.deliver(ChangeEvent::empty(at.version), true);
            return;
        };
        if version <= at.version {
            tracing::error!(
                version,
                last = at.version,
                "redis broker: an entry went back in version; skipped"
            );
            return;
        }
        let gap = version != at.version + 1;
        if gap {
            tracing::warn!(
                last = at.version,
                version,
                "redis broker: events missing from the stream; resyncing"
            );
        }
        at.version = version;
        match text("k").as_deref() {
            Some("change") => {
                let parsed = text("e")
                    .ok_or_else(|| "no payload".to_owned())
                    .and_then(|e| {
                        serde_json::from_str::<WireChange>(&e).map_err(|e| e.to_string())
                    });
                match parsed {
                    Ok(change) => self.deliver(change.into_event(version), gap),
                    Err(error) => {
                        tracing::error!(version, %error, "redis broker: unreadable event; resyncing");
                        self.deliver(ChangeEvent::empty(version), true);
                    }
                }
            }
            Some("control") => {
                let parsed = text("e")
                    .ok_or_else(|| "no payload".to_owned())
                    .and_then(|e| {
                        serde_json::from_str::<ControlEvent>(&e).map_err(|e| e.to_string())
                    });
                match parsed {
                    Ok(event) => self.deliver_control(version, event, gap),
                    Err(error) => {
                        // A control event from a newer rxd, or a broken
                        // one: no state depends on it, so skip it.
                        tracing::error!(version, %error, "redis broker: unreadable control event; skipped");
                        self.deliver(ChangeEvent::empty(version), gap);
                    }
                }
            }
            Some("resync") => {
                tracing::warn!(version, "redis broker: a process asked for a resync");
                self.deliver(ChangeEvent::empty(version), true);
            }
            other => {
                tracing::error!(version, kind = ?other, "redis broker: unknown entry kind; resyncing");
                self.deliver(ChangeEvent::empty(version), true);
            }
        }
    }
}

/// The reader task: reads until the connection fails, then reconnects
/// with backoff, forever (until the broker is dropped).
async fn read_forever(shared: Arc<Shared>) {
    let mut cursor: Option<Cursor> = None;
    let mut backoff = shared.config.reconnect_min;
    let mut failing = false;
    loop {
        let mut connected = false;
        let Err(error) = shared.read(&mut cursor, &mut connected).await;
        if connected {
            backoff = shared.config.reconnect_min;
            failing = false;
        }
        if failing {
            tracing::debug!(%error, "redis broker: reconnect failed");
        } else {
            tracing::warn!(%error, "redis broker: reader lost redis; reconnecting");
            failing = true;
            shared.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(shared.config.reconnect_max);
    }
}

mod history;
mod leases;
mod outbox;
#[cfg(test)]
mod tests;
