//! The topic channel and the token authenticator.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use rxd::{ActionError, AuthError, Authenticator, Connect, Ctx, Load, LoadError, Reject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::{self, Db, Holder};
use crate::state::{Access, Dropped, Feed, Publication, Token};
use crate::topics::{self, WILDCARD_GROUP};

/// Authenticates tokens against the `tokens` table, and gives each its
/// own connection cap.
pub struct TokenAuth {
    db: Db,
}

impl TokenAuth {
    /// An authenticator over `db`.
    pub fn new(db: Db) -> TokenAuth {
        TokenAuth { db }
    }
}

impl Authenticator for TokenAuth {
    type Principal = Holder;

    async fn authenticate(&self, token: &str) -> Result<Holder, AuthError> {
        db::holder(&self.db, token)
            .await
            .map_err(|e| AuthError::Internal(Box::new(e)))?
            .ok_or(AuthError::InvalidToken)
    }

    fn principal_id(&self, holder: &Holder) -> Option<String> {
        Some(format!("token:{}", holder.token_id))
    }

    fn max_connections(&self, holder: &Holder) -> Option<usize> {
        holder
            .max_connections
            .map(|max| usize::try_from(max).unwrap_or(0))
    }
}

/// One grant as the channel checks it, and as a grant change carries it.
#[derive(Serialize, Deserialize, rxd::TypeScript, Clone, Debug, PartialEq)]
pub struct Rule {
    pub pattern: String,
    pub access: Access,
}

impl From<&Token> for Vec<Rule> {
    fn from(token: &Token) -> Self {
        token
            .grants
            .iter()
            .map(|g| Rule {
                pattern: g.pattern.clone(),
                access: g.access,
            })
            .collect()
    }
}

/// The most subscriptions one connection holds.
pub const MAX_SUBSCRIPTIONS: usize = 100;
/// The largest payload, as JSON, in bytes.
pub const MAX_PAYLOAD: usize = 4_096;
/// How many dropped subscriptions a connection's feed remembers.
const DROPPED_KEPT: usize = 20;

/// A topic connection: subscribe to patterns, publish to topics, within
/// the token's grants. Its state is the token itself (with its grants,
/// live); what it receives is in its runtime state, the `Feed`.
pub struct TopicsChannel {
    holder: Holder,
    grants: Mutex<Vec<Rule>>,
    subscriptions: Mutex<Vec<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The group a token's grant changes go to.
pub fn token_group(token_id: i64) -> String {
    format!("token.{token_id}")
}

#[rxd::channel(state = Vec<Token>, route = "/ws/topics", runtime = Feed)]
impl TopicsChannel {
    /// Any valid token may connect; what it may do is in its grants.
    async fn connect(ctx: &Connect, holder: Holder) -> Result<Self, Reject> {
        let token = db::token(ctx.data::<Db>()?, holder.token_id)
            .await?
            .ok_or(Reject::NotFound)?;
        ctx.join(token_group(holder.token_id));
        Ok(TopicsChannel {
            grants: Mutex::new((&token).into()),
            holder,
            subscriptions: Mutex::new(Vec::new()),
        })
    }

    /// The connection shows one anchor: its own token.
    async fn anchors(&self, _ctx: &Load) -> Result<Vec<i64>, LoadError> {
        Ok(vec![self.holder.token_id])
    }

    async fn load(&self, ctx: &Load, token_id: i64) -> Result<Token, LoadError> {
        db::token(ctx.data::<Db>()?, token_id)
            .await?
            .ok_or(LoadError::NotFound)
    }

    /// Subscribes to a pattern (`sensors/+/temperature`, `sensors/#`) that
    /// one of the token's grants covers; returns every subscription.
    /// Errors: `invalid_pattern`, `not_granted`, `too_many_subscriptions`.
    #[action]
    async fn subscribe_to(&self, ctx: &Ctx, pattern: String) -> Result<Vec<String>, ActionError> {
        topics::check_pattern(&pattern)
            .map_err(|e| ActionError::new("invalid_pattern", e.to_string()))?;
        if !lock(&self.grants)
            .iter()
            .any(|g| topics::covers(&g.pattern, &pattern))
        {
            return Err(ActionError::new(
                "not_granted",
                format!("no grant of this token covers {pattern:?}"),
            ));
        }
        let subscriptions = {
            let mut subscriptions = lock(&self.subscriptions);
            if !subscriptions.contains(&pattern) {
                if subscriptions.len() >= MAX_SUBSCRIPTIONS {
                    return Err(ActionError::new(
                        "too_many_subscriptions",
                        format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection"),
                    ));
                }
                subscriptions.push(pattern.clone());
            }
            subscriptions.clone()
        };
        ctx.join(&topics::group_of_pattern(&pattern));
        self.show(ctx, &subscriptions, None)?;
        Ok(subscriptions)
    }

    /// Ends a subscription (one it does not hold is no error); returns the
    /// rest.
    #[action]
    async fn unsubscribe_from(
        &self,
        ctx: &Ctx,
        pattern: String,
    ) -> Result<Vec<String>, ActionError> {
        let subscriptions = {
            let mut subscriptions = lock(&self.subscriptions);
            subscriptions.retain(|s| *s != pattern);
            subscriptions.clone()
        };
        self.leave_unused(ctx, &subscriptions, [pattern]);
        self.show(ctx, &subscriptions, None)?;
        Ok(subscriptions)
    }

    /// Publishes `payload` (any JSON, at most 4 KB) to a topic that a
    /// read-write grant matches. Errors: `invalid_topic`, `read_only` (only
    /// a read grant matches), `not_granted`, `too_large`.
    #[action]
    async fn publish(&self, ctx: &Ctx, topic: String, payload: Value) -> Result<(), ActionError> {
        topics::check_topic(&topic)
            .map_err(|e| ActionError::new("invalid_topic", e.to_string()))?;
        let access = lock(&self.grants)
            .iter()
            .filter(|g| topics::matches(&g.pattern, &topic))
            .map(|g| g.access)
            .max_by_key(|a| *a == Access::ReadWrite);
        match access {
            Some(Access::ReadWrite) => {}
            Some(Access::Read) => {
                return Err(ActionError::new(
                    "read_only",
                    format!("this token may read {topic:?} but not publish to it"),
                ))
            }
            None => {
                return Err(ActionError::new(
                    "not_granted",
                    format!("no grant of this token matches {topic:?}"),
                ))
            }
        }
        let size = serde_json::to_string(&payload).map_or(usize::MAX, |s| s.len());
        if size > MAX_PAYLOAD {
            return Err(ActionError::new(
                "too_large",
                format!("a payload has at most {MAX_PAYLOAD} bytes of JSON"),
            ));
        }
        let publication = Publication {
            topic,
            payload,
            from: self.holder.name.clone(),
            at: now_millis(),
        };
        // To the topic's first-level group and to the group of patterns
        // that start with a wildcard, as one event: a connection in both
        // runs its consumer once.
        let group = topics::group_of_topic(&publication.topic);
        ctx.hub()
            .send_event_to_groups(&[&group, WILDCARD_GROUP], PUBLICATION, &publication)
            .await?;
        Ok(())
    }

    /// A publication to a group this connection joined.
    #[consumer("iot.publication")]
    async fn on_publication(&self, ctx: &Ctx, publication: Publication) {
        let subscriptions = lock(&self.subscriptions).clone();
        if !subscriptions
            .iter()
            .any(|s| topics::matches(s, &publication.topic))
        {
            return;
        }
        let _ = ctx.update_runtime(|feed: &mut Feed| {
            feed.received += 1;
            feed.latest.insert(publication.topic.clone(), publication);
        });
    }

    /// An operator changed this token's grants: subscriptions no grant
    /// covers any more end, and the client is told in its feed.
    #[consumer("iot.grants")]
    async fn on_grants(&self, ctx: &Ctx, grants: Vec<Rule>) {
        let (kept, lost) = {
            let mut subscriptions = lock(&self.subscriptions);
            let (kept, lost): (Vec<String>, Vec<String>) = subscriptions
                .drain(..)
                .partition(|s| grants.iter().any(|g| topics::covers(&g.pattern, s)));
            subscriptions.clone_from(&kept);
            (kept, lost)
        };
        *lock(&self.grants) = grants;
        if lost.is_empty() {
            return;
        }
        self.leave_unused(ctx, &kept, lost.iter().cloned());
        let dropped = lost
            .into_iter()
            .map(|pattern| Dropped {
                pattern,
                reason: "the token's grants no longer cover it".into(),
            })
            .collect();
        let _ = self.show(ctx, &kept, Some(dropped));
    }
}

/// The kind of a publication event.
const PUBLICATION: &str = "iot.publication";

impl TopicsChannel {
    /// Leaves the groups of `removed` patterns that no kept one needs.
    fn leave_unused(&self, ctx: &Ctx, kept: &[String], removed: impl IntoIterator<Item = String>) {
        for pattern in removed {
            let group = topics::group_of_pattern(&pattern);
            if !kept.iter().any(|s| topics::group_of_pattern(s) == group) {
                ctx.leave(&group);
            }
        }
    }

    /// Puts the subscriptions in the feed, forgets the latest values no
    /// subscription matches any more, and records `dropped` ones.
    fn show(
        &self,
        ctx: &Ctx,
        subscriptions: &[String],
        dropped: Option<Vec<Dropped>>,
    ) -> Result<(), ActionError> {
        ctx.update_runtime(|feed: &mut Feed| {
            feed.subscriptions = subscriptions.to_vec();
            feed.latest
                .retain(|topic, _| subscriptions.iter().any(|s| topics::matches(s, topic)));
            if let Some(dropped) = dropped {
                feed.dropped.extend(dropped);
                let extra = feed.dropped.len().saturating_sub(DROPPED_KEPT);
                feed.dropped.drain(..extra);
            }
        })
        .map_err(|_| ActionError::internal())
    }
}
