//! Appends in batches: publishes that arrive while an append is in flight
//! go to Redis together, in one script call, as consecutive entries.
//!
//! One call per event made Redis run the script (read the version, add
//! the entry, store the version) and answer once per event: about 11 µs of
//! Redis time per event, and one reply for the publisher to wait on. With
//! many concurrent commits, most of that is per call, not per entry. A
//! single appender task takes whatever is waiting, so a lone commit still
//! goes out at once, and a busy process sends fewer, larger calls.
//!
//! An entry handed to the outbox is appended even if the publisher stops
//! waiting: its database change has committed, so other processes must
//! see it.

use parking_lot::Mutex;
use redis::aio::MultiplexedConnection;
use redis::RedisError;
use tokio::sync::{oneshot, Notify};

use super::{connection_broken, redis_error, BrokerError, Shared};

/// At most this many entries go in one call…
const MAX_ENTRIES: usize = 128;
/// …and at most about this many payload bytes (a single larger entry goes
/// alone), so one large batch does not hold up the entries behind it.
const MAX_BYTES: usize = 256 * 1024;

/// One event waiting to be appended.
struct Entry {
    kind: &'static str,
    payload: String,
    version: oneshot::Sender<Result<u64, BrokerError>>,
}

/// Events waiting for the appender task.
#[derive(Default)]
pub(super) struct Outbox {
    waiting: Mutex<Vec<Entry>>,
    ready: Notify,
}

impl Outbox {
    /// Appends an event through the appender task; returns its version.
    pub(super) async fn append(
        &self,
        kind: &'static str,
        payload: String,
    ) -> Result<u64, BrokerError> {
        let (version, appended) = oneshot::channel();
        self.waiting.lock().push(Entry {
            kind,
            payload,
            version,
        });
        // A permit is stored if the task is busy: no wakeup is lost.
        self.ready.notify_one();
        appended
            .await
            .unwrap_or_else(|_| Err(BrokerError("redis broker: the appender stopped".into())))
    }

    /// The next batch, oldest first; empty when nothing waits.
    fn take_batch(&self) -> Vec<Entry> {
        let mut waiting = self.waiting.lock();
        let mut bytes = 0;
        let count = waiting
            .iter()
            .take(MAX_ENTRIES)
            .take_while(|entry| {
                bytes += entry.payload.len();
                bytes <= MAX_BYTES
            })
            .count()
            .max(1)
            .min(waiting.len());
        waiting.drain(..count).collect()
    }
}

/// The appender task: sends what waits, one batch at a time, until the
/// broker is dropped (which aborts it).
pub(super) async fn append_forever(shared: std::sync::Arc<Shared>) {
    loop {
        shared.outbox.ready.notified().await;
        loop {
            let batch = shared.outbox.take_batch();
            if batch.is_empty() {
                break;
            }
            let result = match shared.publisher().await {
                Ok(mut conn) => {
                    let events = batch.iter().map(|e| (e.kind, e.payload.as_str()));
                    match shared.append(&mut conn, events).await {
                        Ok(first) => Ok(first),
                        Err(error) => {
                            if connection_broken(&error) {
                                shared.drop_publisher().await;
                            }
                            Err(redis_error("publish", error).0)
                        }
                    }
                }
                Err(error) => Err(error.0),
            };
            for (i, entry) in batch.into_iter().enumerate() {
                let version = match &result {
                    Ok(first) => Ok(first + i as u64),
                    Err(message) => Err(BrokerError(message.clone())),
                };
                // The publisher may have stopped waiting; the entry is in.
                let _ = entry.version.send(version);
            }
        }
    }
}

impl Shared {
    /// Appends events as consecutive entries in one script call; returns
    /// the first one's version.
    pub(super) async fn append<'a>(
        &self,
        conn: &mut MultiplexedConnection,
        events: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Result<u64, RedisError> {
        let floor = *self.delivered.borrow();
        let mut invocation = super::publish_script().key(&self.version_key);
        invocation
            .key(&self.stream_key)
            .arg(self.config.stream_max_len)
            .arg(floor);
        for (kind, payload) in events {
            invocation.arg(kind).arg(payload);
        }
        let version: String = invocation.invoke_async(conn).await?;
        version.parse().map_err(|_| {
            RedisError::from((
                redis::ErrorKind::Parse,
                "publish script returned a non-integer version",
            ))
        })
    }
}
