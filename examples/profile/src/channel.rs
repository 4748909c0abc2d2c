//! The user channel and the token authenticator.

use rxd::{AuthError, Authenticator, Connect, Load, LoadError, Reject};

use crate::db::{self, Db};
use crate::state::{Account, User};

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
    type Principal = Account;

    async fn authenticate(&self, token: &str) -> Result<Account, AuthError> {
        db::account_by_token(&self.db, token)
            .await
            .map_err(|e| AuthError::Internal(Box::new(e)))?
            .ok_or(AuthError::InvalidToken)
    }
}

/// One user's profile, live. Writes come over REST (see [`crate::api`]);
/// the channel only watches.
pub struct UserChannel {
    user_id: i64,
    db: Db,
}

#[rxd::channel(state = User, route = "/ws/users/{user_id}")]
impl UserChannel {
    /// Deny by default: a user may watch themselves, an admin anyone.
    /// Whether another user exists is not told to those who may not see it.
    async fn connect(ctx: &Connect, account: Account, user_id: i64) -> Result<Self, Reject> {
        if !account.may_access(user_id) {
            return Err(Reject::Forbidden);
        }
        let db = ctx.data::<Db>()?.clone();
        match db::user(&db, user_id).await? {
            Some(_) => Ok(UserChannel { user_id, db }),
            None => Err(Reject::NotFound),
        }
    }

    async fn load(&self, _ctx: &Load) -> Result<User, LoadError> {
        db::user(&self.db, self.user_id)
            .await?
            .ok_or(LoadError::NotFound)
    }
}
