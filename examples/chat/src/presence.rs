//! Presence: who is in each room, across processes.
//!
//! Each open connection is a row in `presence` and a [`Member`] in its
//! room's state. The connection's `ready` adds both, its `disconnect`
//! removes both. A process that dies runs no `disconnect`: its rows stop
//! being refreshed, and the next heartbeat of any live process deletes them
//! and their members, so a dead process's users leave within
//! `timeout + heartbeat`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rxd::Hub;

use crate::db::{self, Db};
use crate::state::Member;

/// How often a process refreshes its connections, and how long a row lives
/// without a refresh.
#[derive(Clone, Copy, Debug)]
pub struct PresenceConfig {
    pub heartbeat: Duration,
    pub timeout: Duration,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig {
            heartbeat: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
        }
    }
}

/// This process's side of presence; one per process, in the app's data.
pub struct Presence {
    db: Db,
    config: PresenceConfig,
    /// Unique among the processes sharing the database.
    process: String,
    next_connection: AtomicU64,
    /// Connections whose row could not be deleted: retried every heartbeat,
    /// since this process would otherwise refresh them forever.
    failed_leaves: Mutex<Vec<String>>,
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Presence {
    /// A process's presence over `db`.
    pub fn new(db: Db, config: PresenceConfig) -> Presence {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Presence {
            db,
            config,
            process: format!("{:x}-{:x}", std::process::id(), started),
            next_connection: AtomicU64::new(1),
            failed_leaves: Mutex::new(Vec::new()),
        }
    }

    /// This process's id in the `presence` table.
    pub fn process(&self) -> &str {
        &self.process
    }

    /// A new connection id, unique across processes.
    pub fn connection_id(&self) -> String {
        let n = self.next_connection.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.process)
    }

    fn expires_at(&self) -> i64 {
        now_millis().saturating_add(millis(self.config.timeout))
    }

    /// A connection entered its room.
    pub async fn join(&self, hub: &Hub, member: &Member) -> Result<(), Box<dyn std::error::Error>> {
        db::insert_presence(&self.db, member, &self.process, self.expires_at()).await?;
        let mut batch = hub.batch();
        batch.save(member)?;
        batch.commit().await?;
        Ok(())
    }

    /// A connection's typing flag changed.
    pub async fn set_typing(
        &self,
        hub: &Hub,
        member: &Member,
    ) -> Result<(), Box<dyn std::error::Error>> {
        // A row already swept (this process stalled past the timeout) stays
        // gone: the member must not come back half-present.
        if db::set_typing(&self.db, &member.connection, member.typing).await? {
            let mut batch = hub.batch();
            batch.save(member)?;
            batch.commit().await?;
        }
        Ok(())
    }

    /// A connection left. Errors are logged: the member leaves the state
    /// anyway, and a row that could not be deleted is retried.
    pub async fn leave(&self, hub: &Hub, connection: &str) {
        if let Err(error) = db::delete_presence(&self.db, connection).await {
            tracing::warn!(%error, connection, "presence: leave failed; retrying on the next heartbeat");
            self.lock_failed().push(connection.to_owned());
        }
        self.remove_members(hub, [connection.to_owned()]).await;
    }

    fn lock_failed(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A panic while holding the list leaves a list, still usable.
        self.failed_leaves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn remove_members(&self, hub: &Hub, connections: impl IntoIterator<Item = String>) {
        let mut batch = hub.batch();
        for connection in connections {
            batch.delete::<Member>(connection);
        }
        if batch.is_empty() {
            return;
        }
        if let Err(error) = batch.commit().await {
            tracing::warn!(%error, "presence: broadcasting leaves failed");
        }
    }

    /// One heartbeat: retry failed leaves, extend this process's rows, then
    /// delete every expired row (of any process) with its member.
    pub async fn beat(&self, hub: &Hub) -> Result<(), sqlx::Error> {
        let retry = std::mem::take(&mut *self.lock_failed());
        for connection in retry {
            if db::delete_presence(&self.db, &connection).await.is_err() {
                self.lock_failed().push(connection);
            }
        }
        db::refresh_presence(&self.db, &self.process, self.expires_at()).await?;
        let expired = db::sweep_presence(&self.db, now_millis()).await?;
        if !expired.is_empty() {
            tracing::info!(
                count = expired.len(),
                "presence: connections of a stopped process expired"
            );
        }
        self.remove_members(hub, expired).await;
        Ok(())
    }

    /// Runs [`Presence::beat`] every heartbeat until the task is aborted.
    pub async fn run(self: std::sync::Arc<Self>, hub: Hub) {
        let mut tick = tokio::time::interval(self.config.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(error) = self.beat(&hub).await {
                tracing::warn!(%error, "presence: heartbeat failed");
            }
        }
    }

    /// The process stops: its connections leave at once, not after the
    /// timeout.
    pub async fn shut_down(&self, hub: &Hub) {
        match db::delete_process_presence(&self.db, &self.process).await {
            Ok(left) => self.remove_members(hub, left).await,
            Err(error) => {
                tracing::warn!(%error, "presence: could not remove this process's connections")
            }
        }
    }
}
