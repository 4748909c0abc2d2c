//! The Redis broker's history: the stream itself. A resuming client's
//! process reads the newest entries with `XREVRANGE` (at most
//! `history.max_events + 1` of them) back to the one it needs.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::streams::StreamRangeReply;

use super::{redis_error, Shared, WireChange};
use crate::broker::{BrokerError, ChangeEvent, History};

impl Shared {
    /// The events after `after`, or [`History::Beyond`] when the stream no
    /// longer holds all of them, holds a `resync` among them, or they are
    /// older than `history.max_age` (by this process's clock against the
    /// entry ids, which are Redis's clock in milliseconds).
    pub(super) async fn history(&self, after: u64) -> Result<History, BrokerError> {
        let limits = self.config.history;
        let mut conn = self.publisher().await?;
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&self.stream_key)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(limits.max_events.saturating_add(1))
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_error("history", e))?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let max_age_ms = u64::try_from(limits.max_age.as_millis()).unwrap_or(u64::MAX);

        let mut newest_first: Vec<Arc<ChangeEvent>> = Vec::new();
        let mut reached = false;
        for entry in reply.ids {
            let text = |name: &str| -> Option<String> {
                entry
                    .map
                    .get(name)
                    .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
            };
            // Entries without a version carry no change of state.
            let Some(version) = text("v").and_then(|v| v.parse::<u64>().ok()) else {
                continue;
            };
            if version <= after {
                // Newer than the newest entry: a version from the future.
                if version < after && newest_first.is_empty() {
                    return Ok(History::Beyond);
                }
                reached = true;
                break;
            }
            let millis = entry
                .id
                .split_once('-')
                .and_then(|(ms, _)| ms.parse::<u64>().ok())
                .unwrap_or(0);
            if now_ms.saturating_sub(millis) > max_age_ms {
                return Ok(History::Beyond);
            }
            let event = match text("k").as_deref() {
                Some("change") => {
                    let change = text("e")
                        .and_then(|e| serde_json::from_str::<WireChange>(&e).ok())
                        .ok_or_else(|| BrokerError(format!("unreadable event {version}")))?;
                    change.into_event(version)
                }
                // Every process dropped its caches here: what came before
                // cannot be vouched for.
                Some("resync") => return Ok(History::Beyond),
                // Another kind of entry (not a change of state) keeps the
                // versions consecutive and changes nothing.
                _ => ChangeEvent::empty(version),
            };
            newest_first.push(Arc::new(event));
        }
        if newest_first.len() > limits.max_events {
            return Ok(History::Beyond);
        }
        let oldest = newest_first.last().map(|e| e.version);
        // The entry at `after` itself may be trimmed; its successor suffices.
        if !reached && oldest != Some(after + 1) {
            return Ok(History::Beyond);
        }
        newest_first.reverse();
        Ok(History::consecutive(after, newest_first))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::broker::{Broker, ChangeSet, EventSink};
    use crate::state::{FlatInstance, InstanceId};

    struct Ignore;

    impl EventSink for Ignore {
        fn deliver(&self, _: Arc<ChangeEvent>) {}
        fn resync(&self) {}
        fn control(&self, _: u64, _: Arc<crate::broker::ControlEvent>) {}
    }

    fn config(test: &str) -> super::super::RedisConfig {
        let url = std::env::var("RXD_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut config = super::super::RedisConfig::new(&url)
            .expect("config")
            .namespace(format!("test:{test}:{}:{nanos}", std::process::id()));
        config.history.max_events = 5;
        config
    }

    fn change(id: i64) -> ChangeSet {
        let serde_json::Value::Object(fields) = serde_json::json!({"id": id}) else {
            unreachable!()
        };
        ChangeSet {
            saved: vec![FlatInstance {
                id: InstanceId::new("Card", id),
                version: 0,
                fields,
            }],
            deleted: Vec::new(),
        }
    }

    fn versions(history: &History) -> Option<Vec<u64>> {
        match history {
            History::Events(events) => Some(events.iter().map(|e| e.version).collect()),
            History::Beyond => None,
        }
    }

    async fn cleanup(config: &super::super::RedisConfig) {
        let client = redis::Client::open(config.url.as_str()).expect("client");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        let ns = &config.namespace;
        let _: Result<(), _> = redis::cmd("DEL")
            .arg(format!("{{{ns}}}:version"))
            .arg(format!("{{{ns}}}:events"))
            .query_async(&mut conn)
            .await;
    }

    #[tokio::test]
    async fn the_stream_answers_within_its_bounds_and_not_beyond() {
        let config = config("history");
        let broker = super::super::RedisBroker::connect(config.clone())
            .await
            .expect("connect");
        broker.attach(Arc::new(Ignore));
        let mut published = Vec::new();
        for id in 0..7 {
            published.push(broker.publish(change(id)).await.expect("publish"));
        }
        let last = published[6];
        let answer = broker.history(published[3]).await.expect("history");
        assert_eq!(versions(&answer), Some(published[4..].to_vec()));
        let History::Events(events) = &answer else {
            unreachable!()
        };
        assert_eq!(events[0].saved[0].id, InstanceId::new("Card", 4));
        assert_eq!(events[0].saved[0].version, published[4]);
        assert_eq!(
            versions(&broker.history(last).await.expect("h")),
            Some(vec![])
        );
        // Six events back is more than the five the history keeps.
        assert_eq!(
            versions(&broker.history(published[0]).await.expect("h")),
            None
        );
        assert_eq!(versions(&broker.history(last + 1).await.expect("h")), None);
        cleanup(&config).await;
    }

    #[tokio::test]
    async fn old_entries_are_beyond_history() {
        let mut config = config("history-age");
        config.history.max_age = Duration::from_millis(1);
        let broker = super::super::RedisBroker::connect(config.clone())
            .await
            .expect("connect");
        broker.attach(Arc::new(Ignore));
        let first = broker.publish(change(1)).await.expect("publish");
        broker.publish(change(2)).await.expect("publish");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(versions(&broker.history(first).await.expect("h")), None);
        cleanup(&config).await;
    }
}
