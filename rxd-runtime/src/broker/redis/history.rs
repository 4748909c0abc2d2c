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
                _ => ChangeEvent {
                    version,
                    saved: Vec::new(),
                    deleted: Vec::new(),
                },
            };
            newest_first.push(Arc::new(event));
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
