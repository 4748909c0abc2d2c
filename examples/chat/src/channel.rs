//! The room channel and the token authenticator.

use std::sync::Arc;
use std::time::Duration;

use rxd::{ActionError, AuthError, Authenticator, Connect, Ctx, Load, LoadError, Reject};
use serde::Serialize;

use crate::db::{self, Db};
use crate::presence::{now_millis, Presence};
use crate::state::{Member, Message, Room, User};

/// Authenticates tokens against the `tokens` table.
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
    type Principal = User;

    async fn authenticate(&self, token: &str) -> Result<User, AuthError> {
        db::user_by_token(&self.db, token)
            .await
            .map_err(|e| AuthError::Internal(Box::new(e)))?
            .ok_or(AuthError::InvalidToken)
    }
}

/// How much of a room the state holds and how fast a user may send.
#[derive(Clone, Copy, Debug)]
pub struct ChatSettings {
    /// Messages in a room's state; older ones come from `history`.
    pub window: i64,
    /// At most `max_messages` per user in any `per` (across rooms and
    /// processes: it is counted in the database).
    pub max_messages: i64,
    pub per: Duration,
}

impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            window: 50,
            max_messages: 10,
            per: Duration::from_secs(10),
        }
    }
}

/// The `details` of a `rate_limited` error.
#[derive(Serialize, rxd::TypeScript, Debug)]
pub struct RateLimited {
    /// When the oldest message of the window stops counting.
    pub retry_after_ms: i64,
    pub max_messages: i64,
    pub per_ms: i64,
}

/// The longest message body, in characters.
pub const MAX_BODY: usize = 2_000;
/// The most messages one `history` call returns.
pub const MAX_PAGE: u32 = 100;

/// One room, live: its latest messages and who is here.
pub struct RoomChannel {
    room_id: i64,
    user: User,
    /// This connection's presence id (its `Member`'s key).
    connection: String,
    db: Db,
    presence: Arc<Presence>,
    settings: ChatSettings,
}

impl RoomChannel {
    fn member(&self, typing: bool) -> Member {
        Member {
            connection: self.connection.clone(),
            room_id: self.room_id,
            user: self.user.clone(),
            typing,
        }
    }
}

#[rxd::channel(state = Room, route = "/ws/rooms/{room_id}")]
impl RoomChannel {
    /// Deny by default: only the room's members may enter it. Whether a
    /// room exists is not hidden (rooms are listed publicly).
    async fn connect(ctx: &Connect, user: User, room_id: i64) -> Result<Self, Reject> {
        let db = ctx.data::<Db>()?.clone();
        match db::room_access(&db, room_id, user.id).await? {
            None => Err(Reject::NotFound),
            Some(false) => Err(Reject::Forbidden),
            Some(true) => {
                let presence = ctx.data::<Arc<Presence>>()?.clone();
                Ok(RoomChannel {
                    room_id,
                    user,
                    connection: presence.connection_id(),
                    db,
                    settings: *ctx.data::<ChatSettings>()?,
                    presence,
                })
            }
        }
    }

    async fn load(&self, _ctx: &Load) -> Result<Room, LoadError> {
        db::load_room(&self.db, self.room_id, self.settings.window, now_millis())
            .await?
            .ok_or(LoadError::NotFound)
    }

    /// Enters the room's presence once the client has its state, so that it
    /// sees itself arrive like everyone else.
    async fn ready(&self, ctx: &Ctx) {
        if let Err(error) = self.presence.join(ctx.hub(), &self.member(false)).await {
            tracing::warn!(%error, connection = %self.connection, "presence: join failed");
        }
    }

    async fn disconnect(&self, ctx: &Ctx) {
        self.presence.leave(ctx.hub(), &self.connection).await;
    }

    /// Sends a message. Idempotent: `client_id` (any string of 1 to 64
    /// characters, unique per sender, such as a UUID) names the message, and
    /// a retry with the same id returns the stored message instead of a
    /// second one; a retry is never rate limited.
    #[action(details = RateLimited)]
    async fn send(
        &self,
        ctx: &Ctx,
        client_id: String,
        body: String,
    ) -> Result<Message, ActionError> {
        let body = body.trim();
        if client_id.is_empty() || client_id.chars().count() > 64 {
            return Err(ActionError::new(
                "invalid",
                "client_id must have 1 to 64 characters",
            ));
        }
        if body.is_empty() || body.chars().count() > MAX_BODY {
            return Err(ActionError::new(
                "invalid",
                format!("a message has 1 to {MAX_BODY} characters"),
            ));
        }
        if let Some(stored) = db::message_by_client_id(&self.db, self.user.id, &client_id).await? {
            return self.resend(ctx, stored).await;
        }
        let now = now_millis();
        let per = i64::try_from(self.settings.per.as_millis()).unwrap_or(i64::MAX);
        let (sent, oldest) = db::sent_since(&self.db, self.user.id, now - per).await?;
        if sent >= self.settings.max_messages {
            let retry_after_ms = oldest.map_or(per, |oldest| (oldest + per - now).max(1));
            return Err(ActionError::new(
                "rate_limited",
                format!(
                    "at most {} messages per {} s; try again in {} ms",
                    self.settings.max_messages,
                    per / 1000,
                    retry_after_ms
                ),
            )
            .with_details(RateLimited {
                retry_after_ms,
                max_messages: self.settings.max_messages,
                per_ms: per,
            }));
        }
        let Some(id) =
            db::insert_message(&self.db, self.room_id, self.user.id, body, &client_id, now).await?
        else {
            // The original committed while this retry was checking.
            let stored = db::message_by_client_id(&self.db, self.user.id, &client_id)
                .await?
                .ok_or_else(ActionError::internal)?;
            return self.resend(ctx, stored).await;
        };
        let message = Message {
            id,
            room_id: self.room_id,
            author: self.user.clone(),
            body: body.to_owned(),
            client_id,
            sent_at: now,
        };
        let mut batch = ctx.hub().batch();
        batch.save(&message)?;
        // The state keeps the latest `window` messages: the one that fell out
        // leaves it (it stays in the database and in `history`).
        if let Some(old) =
            db::just_out_of_window(&self.db, self.room_id, self.settings.window).await?
        {
            batch.delete::<Message>(old);
        }
        batch.commit().await?;
        Ok(message)
    }

    /// Up to `limit` (default 50, at most 100) messages older than message
    /// `before`, oldest first. An empty page means the room's beginning.
    #[action]
    async fn history(
        &self,
        _ctx: &Ctx,
        before: i64,
        limit: Option<u32>,
    ) -> Result<Vec<Message>, ActionError> {
        let limit = limit.unwrap_or(50).clamp(1, MAX_PAGE);
        Ok(db::history(&self.db, self.room_id, before, i64::from(limit)).await?)
    }

    /// Shows or hides this connection's typing indicator.
    #[action]
    async fn typing(&self, ctx: &Ctx, active: bool) -> Result<(), ActionError> {
        self.presence
            .set_typing(ctx.hub(), &self.member(active))
            .await
            .map_err(|error| {
                tracing::warn!(%error, "presence: typing failed");
                ActionError::internal()
            })
    }
}

impl RoomChannel {
    /// A retry of a stored message: it must be this room's, and while it is
    /// in the window it is saved to the hub again (an identical value),
    /// which covers an original whose database commit succeeded but whose
    /// broadcast was lost with its process.
    async fn resend(&self, ctx: &Ctx, stored: Message) -> Result<Message, ActionError> {
        if stored.room_id != self.room_id {
            return Err(ActionError::new(
                "invalid",
                "this client_id was used for a message in another room",
            ));
        }
        // One that already left the window stays out of the state.
        let out = db::just_out_of_window(&self.db, self.room_id, self.settings.window).await?;
        if out.is_none_or(|out| out < stored.id) {
            let mut batch = ctx.hub().batch();
            batch.save(&stored)?;
            batch.commit().await?;
        }
        Ok(stored)
    }
}
