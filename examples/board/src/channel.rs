//! The board channel and the token authenticator.

use rxd::{AuthError, Authenticator, Connect, Load, LoadError, Reject};

use crate::db::{self, Db};
use crate::state::{Board, User};

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

/// One board, live, for one of its members.
pub struct BoardChannel {
    board_id: i64,
    db: Db,
}

#[rxd::channel(state = Board, route = "/ws/boards/{board_id}")]
impl BoardChannel {
    /// Members of a board may watch it; everyone else is refused.
    async fn connect(ctx: &Connect, user: User, board_id: i64) -> Result<Self, Reject> {
        let db = ctx.data::<Db>()?.clone();
        match db::is_member(&db, board_id, user.id).await? {
            None => Err(Reject::NotFound),
            Some(false) => Err(Reject::Forbidden),
            Some(true) => Ok(BoardChannel { board_id, db }),
        }
    }

    async fn load(&self, _ctx: &Load) -> Result<Board, LoadError> {
        db::load_board(&self.db, self.board_id)
            .await?
            .ok_or(LoadError::NotFound)
    }
}
