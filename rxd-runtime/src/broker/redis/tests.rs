//! The Redis broker against a real Redis (`RXD_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379/`), each test in its own namespace.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::*;
use crate::state::Key;

fn redis_url() -> String {
    std::env::var("RXD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

fn config(test: &str) -> RedisConfig {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut config = RedisConfig::new(&redis_url())
        .unwrap()
        .namespace(format!("test:{test}:{}:{nanos}", std::process::id()));
    config.read_block = Duration::from_millis(200);
    config.reconnect_min = Duration::from_millis(20);
    config.reconnect_max = Duration::from_millis(200);
    config
}

async fn admin() -> MultiplexedConnection {
    Client::open(redis_url().as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("a Redis server for the tests (RXD_TEST_REDIS_URL)")
}

#[derive(Debug, Clone)]
enum Seen {
    Event(Arc<ChangeEvent>),
    Control(u64, Arc<ControlEvent>),
    Resync,
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Seen>>);

impl EventSink for Recorder {
    fn deliver(&self, event: Arc<ChangeEvent>) {
        self.0.lock().push(Seen::Event(event));
    }
    fn resync(&self) {
        self.0.lock().push(Seen::Resync);
    }
    fn control(&self, version: u64, event: Arc<ControlEvent>) {
        self.0.lock().push(Seen::Control(version, event));
    }
}

impl Recorder {
    fn seen(&self) -> Vec<Seen> {
        self.0.lock().clone()
    }

    /// Versions of the non-empty events, in delivery order.
    fn changes(&self) -> Vec<u64> {
        self.seen()
            .iter()
            .filter_map(|s| match s {
                Seen::Event(e) if !e.saved.is_empty() || !e.deleted.is_empty() => Some(e.version),
                _ => None,
            })
            .collect()
    }

    /// The version of the last delivery.
    fn last_version(&self) -> u64 {
        self.seen()
            .iter()
            .filter_map(|s| match s {
                Seen::Event(e) => Some(e.version),
                Seen::Control(version, _) => Some(*version),
                Seen::Resync => None,
            })
            .max()
            .unwrap_or(0)
    }

    fn resyncs(&self) -> usize {
        self.seen()
            .iter()
            .filter(|s| matches!(s, Seen::Resync))
            .count()
    }

    async fn wait(&self, what: &str, done: impl Fn(&Recorder) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:#?}",
                self.seen()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn broker(config: &RedisConfig) -> (RedisBroker, Arc<Recorder>) {
    let broker = RedisBroker::connect(config.clone()).await.expect("connect");
    let recorder = Arc::new(Recorder::default());
    broker.attach(recorder.clone());
    (broker, recorder)
}

fn card(id: i64, title: &str) -> ChangeSet {
    let fields = json!({"id": id, "column_id": 1, "title": title});
    let serde_json::Value::Object(fields) = fields else {
        unreachable!()
    };
    ChangeSet {
        saved: vec![FlatInstance {
            id: InstanceId::new("Card", id),
            version: 0,
            fields,
        }],
        deleted: vec![InstanceId::new("Card", Key::from("gone"))],
    }
}

async fn cleanup(config: &RedisConfig) {
    let ns = &config.namespace;
    let _: Result<(), _> = redis::cmd("DEL")
        .arg(format!("{{{ns}}}:version"))
        .arg(format!("{{{ns}}}:events"))
        .query_async(&mut admin().await)
        .await;
}

#[test]
fn the_url_carries_namespace_and_length() {
    let config = RedisConfig::new(
        "redis://127.0.0.1:6379/2?namespace=prod&protocol=resp3&stream_max_len=50",
    )
    .unwrap();
    assert_eq!(config.url, "redis://127.0.0.1:6379/2?protocol=resp3");
    assert_eq!(config.namespace, "prod");
    assert_eq!(config.stream_max_len, 50);
    assert_eq!(
        RedisConfig::new("redis://h/").unwrap().namespace,
        "rxd",
        "default namespace"
    );
    assert!(RedisConfig::new("redis://h/?namespace=a%20b{x}").is_err());
    assert!(RedisConfig::new("redis://h/?stream_max_len=many").is_err());
}

#[test]
fn the_url_carries_the_lease_ttl() {
    let config = RedisConfig::new("redis://h/?lease_ttl_ms=1500&namespace=x").unwrap();
    assert_eq!(config.lease_ttl, Duration::from_millis(1500));
    assert_eq!(config.url, "redis://h/");
    assert_eq!(
        RedisConfig::new("redis://h/").unwrap().lease_ttl,
        Duration::from_secs(10)
    );
    assert!(RedisConfig::new("redis://h/?lease_ttl_ms=soon").is_err());
    assert!(RedisConfig::new("redis://h/?lease_ttl_ms=5").is_err());
}

#[test]
fn a_change_survives_the_wire() {
    let change = card(7, "Seven");
    let expected = change.saved[0].fields.clone();
    let text = serde_json::to_string(&WireChange::from(change)).unwrap();
    let event = serde_json::from_str::<WireChange>(&text)
        .unwrap()
        .into_event(42);
    assert_eq!(event.version, 42);
    assert_eq!(event.saved[0].id, InstanceId::new("Card", 7));
    assert_eq!(event.saved[0].version, 42);
    assert_eq!(event.saved[0].fields, expected);
    assert_eq!(
        event.deleted,
        vec![InstanceId::new("Card", Key::from("gone"))]
    );
}

#[tokio::test]
async fn publish_resolves_once_this_process_has_the_event() {
    let config = config("own");
    let (broker, recorder) = broker(&config).await;
    for i in 0..20 {
        let version = broker.publish(card(i, "x")).await.unwrap();
        // Delivered before publish resolved: no waiting here.
        assert_eq!(recorder.changes().last(), Some(&version));
    }
    let changes = recorder.changes();
    assert!(
        changes.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive: {changes:?}"
    );
    cleanup(&config).await;
}

#[tokio::test]
async fn every_process_sees_every_event_in_one_order() {
    let config = config("order");
    let (a, seen_a) = broker(&config).await;
    let (b, seen_b) = broker(&config).await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let broker = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            broker.publish(card(i, &format!("card {i}"))).await.unwrap()
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap());
    }
    versions.sort_unstable();
    for seen in [&seen_a, &seen_b] {
        seen.wait("40 events", |r| r.changes().len() == 40).await;
        assert_eq!(seen.changes(), versions, "every event, in version order");
        assert_eq!(seen.resyncs(), 0);
    }
    let titles = |r: &Recorder| -> Vec<Value> {
        r.seen()
            .iter()
            .filter_map(|s| match s {
                Seen::Event(e) => e.saved.first().map(|i| i.fields["title"].clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(titles(&seen_a), titles(&seen_b), "same content, same order");
    cleanup(&config).await;
}

#[tokio::test]
async fn concurrent_publishes_go_in_batches_and_each_gets_its_own_version() {
    let config = config("batches");
    let (broker, seen) = broker(&config).await;
    let broker = Arc::new(broker);
    // More than one batch holds, by count and (the large ones) by bytes.
    let large = "L".repeat(100 * 1024);
    let mut tasks = Vec::new();
    for i in 0..300 {
        let broker = broker.clone();
        let title = if i % 50 == 7 {
            format!("{i} {large}")
        } else {
            format!("{i}")
        };
        tasks.push(tokio::spawn(async move {
            (broker.publish(card(i, &title)).await.unwrap(), i)
        }));
    }
    let mut published = Vec::new();
    for task in tasks {
        published.push(task.await.unwrap());
    }
    published.sort_unstable();
    assert!(
        published.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "consecutive versions"
    );
    seen.wait("300 events", |r| r.changes().len() == 300).await;
    let delivered: Vec<(u64, i64)> = seen
        .seen()
        .iter()
        .filter_map(|s| match s {
            Seen::Event(e) => {
                let title = e.saved.first()?.fields["title"].as_str()?.to_owned();
                Some((e.version, title.split(' ').next()?.parse().ok()?))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        delivered, published,
        "the version a publish returned is the one its event carries"
    );
    cleanup(&config).await;
}

#[tokio::test]
async fn control_events_share_the_order_of_change_events() {
    let config = config("control");
    let (a, seen_a) = broker(&config).await;
    let (b, seen_b) = broker(&config).await;
    let first = a.publish(card(1, "one")).await.unwrap();
    let system = ControlEvent::System(crate::broker::SystemMessage {
        level: crate::broker::SystemLevel::Maintenance,
        message: "back soon".into(),
    });
    let control = b.publish_control(system.clone()).await.unwrap();
    let last = a.publish(card(2, "two")).await.unwrap();
    assert_eq!((control, last), (first + 1, first + 2), "one sequence");
    for seen in [&seen_a, &seen_b] {
        seen.wait("three events", |r| r.last_version() == last)
            .await;
        let order: Vec<String> = seen
            .seen()
            .iter()
            .filter_map(|s| match s {
                Seen::Event(e) if !e.saved.is_empty() => Some(format!("change {}", e.version)),
                Seen::Control(v, event) => {
                    assert_eq!(**event, system, "the event survives the wire");
                    Some(format!("control {v}"))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            order,
            [
                format!("change {first}"),
                format!("control {control}"),
                format!("change {last}")
            ]
        );
        assert_eq!(seen.resyncs(), 0, "a control event is no gap");
    }
    cleanup(&config).await;
}

#[tokio::test]
async fn a_late_process_starts_at_the_current_version() {
    let config = config("late");
    let (a, _) = broker(&config).await;
    let mut last = 0;
    for i in 0..3 {
        last = a.publish(card(i, "x")).await.unwrap();
    }
    let (b, seen_b) = broker(&config).await;
    match seen_b.seen().first() {
        Some(Seen::Event(e)) => {
            assert_eq!(e.version, last);
            assert!(
                e.saved.is_empty() && e.deleted.is_empty(),
                "a position only"
            );
        }
        other => panic!("expected the position first, got {other:?}"),
    }
    let next = b.publish(card(9, "y")).await.unwrap();
    assert_eq!(next, last + 1);
    cleanup(&config).await;
}

/// The client id of the (one) reader of namespace `ns`.
async fn reader_id(admin: &mut MultiplexedConnection, ns: &str) -> u64 {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(admin)
        .await
        .unwrap();
    let needle = format!("name=rxd:{ns}:reader:");
    let line = list
        .lines()
        .find(|l| l.contains(&needle))
        .expect("the reader's connection");
    line.split(' ')
        .find_map(|f| f.strip_prefix("id="))
        .and_then(|id| id.parse().ok())
        .expect("client id")
}

/// A reader whose connection drops resumes after the last entry it
/// delivered: what was published meanwhile arrives, in order, and nothing
/// resyncs.
#[tokio::test]
async fn a_reader_that_reconnects_resumes_where_it_was() {
    let config = config("resume");
    let (a, seen_a) = broker(&config).await;
    let (b, _) = broker(&config).await;
    let first = a.publish(card(1, "x")).await.unwrap();
    let mut admin = admin().await;
    let readers: Vec<u64> = {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut admin)
            .await
            .unwrap();
        let needle = format!("name=rxd:{}:reader:", config.namespace);
        list.lines()
            .filter(|l| l.contains(&needle))
            .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
            .filter_map(|id| id.parse().ok())
            .collect()
    };
    assert_eq!(readers.len(), 2, "one reader per broker");
    for id in readers {
        let _: () = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut admin)
            .await
            .unwrap();
    }
    // Published while (or right after) the readers were away.
    let mut versions = vec![first];
    for i in 2..=6 {
        versions.push(b.publish(card(i, "meanwhile")).await.unwrap());
    }
    seen_a
        .wait("every event", |r| r.changes() == versions)
        .await;
    assert_eq!(seen_a.resyncs(), 0, "{:#?}", seen_a.seen());
    cleanup(&config).await;
}

/// Kills the reader's connection and, in the same transaction, appends two
/// entries it will never see (trimmed at once).
#[tokio::test]
async fn events_trimmed_while_disconnected_make_the_reader_resync() {
    let config = config("trimmed");
    let (a, seen_a) = broker(&config).await;
    let last = a.publish(card(1, "x")).await.unwrap();
    let ns = &config.namespace;
    let (version, stream) = (format!("{{{ns}}}:version"), format!("{{{ns}}}:events"));
    let payload = serde_json::to_string(&WireChange::from(card(2, "lost"))).unwrap();
    let mut admin = admin().await;
    let reader = reader_id(&mut admin, ns).await;
    let _: () = redis::pipe()
        .atomic()
        .cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(reader)
        .ignore()
        .cmd("XADD")
        .arg(&stream)
        .arg("*")
        .arg("v")
        .arg(last + 1)
        .arg("k")
        .arg("change")
        .arg("e")
        .arg(&payload)
        .ignore()
        .cmd("XADD")
        .arg(&stream)
        .arg("*")
        .arg("v")
        .arg(last + 2)
        .arg("k")
        .arg("change")
        .arg("e")
        .arg(&payload)
        .ignore()
        .cmd("XTRIM")
        .arg(&stream)
        .arg("MAXLEN")
        .arg(1)
        .ignore()
        .cmd("SET")
        .arg(&version)
        .arg(last + 2)
        .ignore()
        .query_async(&mut admin)
        .await
        .unwrap();
    seen_a.wait("a resync", |r| r.resyncs() == 1).await;
    // It goes on from the stream's position: the next event arrives.
    let (b, _) = broker(&config).await;
    let next = b.publish(card(3, "after")).await.unwrap();
    assert_eq!(next, last + 3);
    seen_a
        .wait("the event after the resync", |r| {
            r.changes().last() == Some(&next)
        })
        .await;
    assert_eq!(seen_a.resyncs(), 1);
    drop(a);
    cleanup(&config).await;
}

/// Redis loses its data (a restart without persistence): the next version
/// is above every old one, and every reader resyncs.
#[tokio::test]
async fn lost_redis_data_restarts_versions_above_the_old_ones() {
    let config = config("flushed");
    let (a, seen_a) = broker(&config).await;
    let (b, seen_b) = broker(&config).await;
    let old = a.publish(card(1, "x")).await.unwrap();
    seen_b
        .wait("the first event", |r| r.changes() == [old])
        .await;
    cleanup(&config).await;
    let new = b.publish(card(2, "y")).await.unwrap();
    assert!(new > old + 1, "{new} after {old}");
    // The new stream may start with smaller ids than the old one ended
    // with (same millisecond): then the reader learns of it after a quiet
    // block, and resyncs instead of delivering the event. Either way it
    // resyncs once and is at the new version.
    for seen in [&seen_a, &seen_b] {
        seen.wait("the new version", |r| r.last_version() == new)
            .await;
        assert_eq!(seen.resyncs(), 1, "{:#?}", seen.seen());
    }
    drop(a);
    cleanup(&config).await;
}

/// A publish that fails (Redis paused past the command timeout) returns an
/// error, and once Redis answers every process resyncs.
#[tokio::test]
async fn a_failed_publish_makes_every_process_resync() {
    let mut config = config("failed");
    config.command_timeout = Duration::from_millis(300);
    let (a, seen_a) = broker(&config).await;
    let (_b, seen_b) = broker(&config).await;
    a.publish(card(1, "x")).await.unwrap();
    let mut admin = admin().await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1000)
        .arg("WRITE")
        .query_async(&mut admin)
        .await
        .unwrap();
    let failed = a.publish(card(2, "y")).await;
    assert!(failed.is_err(), "{failed:?}");
    for seen in [&seen_a, &seen_b] {
        seen.wait("a resync", |r| r.resyncs() >= 1).await;
    }
    // And publishing works again.
    let version = a.publish(card(3, "z")).await.unwrap();
    seen_b
        .wait("the next event", |r| r.changes().last() == Some(&version))
        .await;
    cleanup(&config).await;
}

#[tokio::test]
async fn connecting_to_nothing_fails_and_publishing_without_redis_errs() {
    let mut config = RedisConfig::new("redis://127.0.0.1:1/").unwrap();
    config.command_timeout = Duration::from_millis(200);
    assert!(RedisBroker::connect(config.clone()).await.is_err());
    let broker = RedisBroker::new(config).unwrap();
    let error = broker.publish(card(1, "x")).await.unwrap_err();
    assert!(error.0.contains("redis"), "{error}");
    // Within the backoff it fails at once.
    let started = Instant::now();
    assert!(broker.publish(card(1, "x")).await.is_err());
    assert!(started.elapsed() < Duration::from_millis(100));
}
