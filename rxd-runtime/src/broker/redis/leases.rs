//! Per-principal connection limits and revoked tokens, shared by every
//! process through Redis.
//!
//! # Keys
//!
//! With namespace `ns`:
//!
//! - `{ns}:proc:<process>`: this process is alive; expires after
//!   `lease_ttl` unless renewed. `<process>` is a random id per broker.
//! - `{ns}:conns:<principal>`: a set of `<process>|<connection>`, one
//!   member per connection that holds a slot. A member counts only while
//!   its process key exists: the leases of a process that died expire with
//!   its one key, whatever its number of connections. The set itself
//!   expires `lease_ttl` after its last renewal, so a principal whose
//!   processes all died leaves nothing behind.
//! - `{ns}:revoked:<sha-256 of a token>`: the token is refused; expires
//!   after `Limits::revoked_token_ttl`.
//!
//! All keys carry the hash tag `{ns}`: the acquire script reads process
//! keys it cannot declare in advance, which Redis Cluster allows within
//! one slot.
//!
//! # Cost
//!
//! One script per connect (check the revocation, count the live members,
//! add one), one `SREM` per close, and one renewal script per process per
//! `lease_ttl / 3` that touches the process key and the sets it holds
//! members in, whatever the number of WebSockets.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use redis::Script;

use super::{connection_broken, redis_error, Shared};
use crate::broker::BrokerError;
use crate::channel::BoxFuture;
use crate::limits::{Admission, Admit, SlotRequest};

/// KEYS: the principal's set, the token's revocation key, this process's
/// key. ARGV: member, max (-1: none), the process-key prefix, lease ttl
/// in ms. Returns `revoked`, `full` or `ok`.
const ACQUIRE: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 'revoked' end
local max = tonumber(ARGV[2])
if max < 0 then return 'ok' end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
local live = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local p = string.match(m, '^([^|]+)|')
  if p and redis.call('EXISTS', ARGV[3] .. p) == 1 then
    live = live + 1
  else
    redis.call('SREM', KEYS[1], m)
  end
end
if live >= max then return 'full' end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 'ok'
";

/// KEYS: this process's key, then the sets it holds members in. ARGV:
/// lease ttl in ms.
const RENEW: &str = r"
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
for i = 2, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return #KEYS
";

fn acquire_script() -> &'static Script {
    static SCRIPT: std::sync::OnceLock<Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(ACQUIRE))
}

fn renew_script() -> &'static Script {
    static SCRIPT: std::sync::OnceLock<Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(RENEW))
}

/// The Redis broker's [`Admission`].
pub(super) struct RedisAdmission {
    shared: Arc<Shared>,
    /// This process's id among the deployment's (random per broker).
    process: String,
    process_key: String,
    process_prefix: String,
    conns_prefix: String,
    revoked_prefix: String,
    state: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    /// Principal → this process's connections holding one of its slots.
    slots: HashMap<String, usize>,
    /// Members whose `SREM` failed (Redis away): retried at each renewal,
    /// since this process's live key would otherwise keep them counted.
    unreleased: Vec<(String, String)>,
}

impl RedisAdmission {
    pub(super) fn new(shared: Arc<Shared>) -> Arc<RedisAdmission> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let process = format!("{nanos:x}-{:x}-{count:x}", std::process::id());
        let ns = &shared.config.namespace;
        Arc::new(RedisAdmission {
            process_key: format!("{{{ns}}}:proc:{process}"),
            process_prefix: format!("{{{ns}}}:proc:"),
            conns_prefix: format!("{{{ns}}}:conns:"),
            revoked_prefix: format!("{{{ns}}}:revoked:"),
            process,
            shared,
            state: Mutex::new(Held::default()),
        })
    }

    fn member(&self, connection: u64) -> String {
        format!("{}|{connection}", self.process)
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.shared.config.lease_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, BrokerError> {
        let mut conn = self.shared.publisher().await?;
        match invocation.invoke_async(&mut conn).await {
            Ok(value) => Ok(value),
            Err(error) => {
                if connection_broken(&error) {
                    self.shared.drop_publisher().await;
                }
                Err(redis_error("connection limits", error))
            }
        }
    }

    async fn acquire_inner(&self, request: SlotRequest<'_>) -> Result<Admit, BrokerError> {
        let max = request
            .max
            .map_or(-1, |m| i64::try_from(m).unwrap_or(i64::MAX));
        let mut invocation = acquire_script().prepare_invoke();
        invocation
            .key(format!("{}{}", self.conns_prefix, request.principal))
            .key(format!("{}{}", self.revoked_prefix, request.token_hash))
            .key(&self.process_key)
            .arg(self.member(request.connection))
            .arg(max)
            .arg(&self.process_prefix)
            .arg(self.ttl_ms());
        let answer: String = self.run(&invocation).await?;
        match answer.as_str() {
            "revoked" => Ok(Admit::Revoked),
            "full" => Ok(Admit::Full),
            "ok" => {
                if request.max.is_some() {
                    *self
                        .state
                        .lock()
                        .slots
                        .entry(request.principal.to_owned())
                        .or_default() += 1;
                }
                Ok(Admit::Admitted)
            }
            other => Err(BrokerError(format!(
                "connection limits: unexpected answer {other:?}"
            ))),
        }
    }

    async fn remove(&self, principal: &str, member: &str) -> Result<(), BrokerError> {
        let mut conn = self.shared.publisher().await?;
        let key = format!("{}{principal}", self.conns_prefix);
        let removed: Result<i64, _> = redis::cmd("SREM")
            .arg(key)
            .arg(member)
            .query_async(&mut conn)
            .await;
        match removed {
            Ok(_) => Ok(()),
            Err(error) => {
                if connection_broken(&error) {
                    self.shared.drop_publisher().await;
                }
                Err(redis_error("release a connection slot", error))
            }
        }
    }

    /// Renews this process's leases and retries releases that failed.
    async fn renew(&self) -> Result<(), BrokerError> {
        let (principals, unreleased) = {
            let mut held = self.state.lock();
            let principals: Vec<String> = held.slots.keys().cloned().collect();
            (principals, std::mem::take(&mut held.unreleased))
        };
        for (i, (principal, member)) in unreleased.iter().enumerate() {
            if let Err(error) = self.remove(principal, member).await {
                self.state
                    .lock()
                    .unreleased
                    .extend(unreleased[i..].iter().cloned());
                return Err(error);
            }
        }
        if principals.is_empty() {
            return Ok(());
        }
        let mut invocation = renew_script().prepare_invoke();
        invocation.key(&self.process_key);
        for principal in &principals {
            invocation.key(format!("{}{principal}", self.conns_prefix));
        }
        invocation.arg(self.ttl_ms());
        self.run::<i64>(&invocation).await.map(drop)
    }
}

impl Admission for RedisAdmission {
    fn acquire<'a>(
        &'a self,
        request: SlotRequest<'a>,
    ) -> BoxFuture<'a, Result<Admit, BrokerError>> {
        Box::pin(self.acquire_inner(request))
    }

    fn release(self: Arc<Self>, principal: &str, connection: u64) {
        {
            let mut held = self.state.lock();
            if let Some(count) = held.slots.get_mut(principal) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    held.slots.remove(principal);
                }
            }
        }
        let member = self.member(connection);
        let principal = principal.to_owned();
        let this = self;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            this.state.lock().unreleased.push((principal, member));
            return;
        };
        runtime.spawn(async move {
            if let Err(error) = this.remove(&principal, &member).await {
                tracing::warn!(%error, "redis broker: a connection slot will be released later");
                this.state.lock().unreleased.push((principal, member));
            }
        });
    }

    fn revoke(&self, token_hash: &str, ttl: Duration) -> BoxFuture<'_, Result<(), BrokerError>> {
        let key = format!("{}{token_hash}", self.revoked_prefix);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        Box::pin(async move {
            let mut conn = self.shared.publisher().await?;
            let set: Result<(), _> = redis::cmd("SET")
                .arg(key)
                .arg("1")
                .arg("PX")
                .arg(ttl_ms)
                .query_async(&mut conn)
                .await;
            set.map_err(|error| redis_error("revoke a token", error))
        })
    }
}

/// The renewal task: one script per `lease_ttl / 3`, for as long as the
/// broker lives.
pub(super) async fn renew_forever(admission: std::sync::Weak<RedisAdmission>, period: Duration) {
    let mut tick = tokio::time::interval(period.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        let Some(admission) = admission.upgrade() else {
            return;
        };
        match admission.renew().await {
            Ok(()) => failing = false,
            Err(error) if !failing => {
                tracing::warn!(%error, "redis broker: could not renew connection leases");
                failing = true;
            }
            Err(_) => {}
        }
    }
}
