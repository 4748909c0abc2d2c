//! The board channel and the token authenticator.

use rxd::{
    ActionError, AuthError, Authenticator, Batch, Connect, Ctx, Key, Load, LoadError, Patch,
    Reject, Write,
};

use crate::cards::{self, CardPatch, InvalidFields, NewCard, Writer};
use crate::db::{self, Db};
use crate::state::{Board, Card, User};

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

    /// A user is one principal whatever token they use: limits count their
    /// connections, and `hub.disconnect_principal("user:1")` closes them.
    fn principal_id(&self, user: &User) -> Option<String> {
        Some(format!("user:{}", user.id))
    }
}

/// One board, live, for one of its members.
pub struct BoardChannel {
    board_id: i64,
    db: Db,
    user: User,
    /// Read-only members watch; their browser writes are refused.
    can_write: bool,
}

/// One board, live. The browser renames, moves (a save of `column_id`),
/// adds and deletes its cards directly; read-only members are refused.
#[rxd::channel(
    state = Board,
    route = "/ws/boards/{board_id}",
    writable(Card(save, create, delete))
)]
impl BoardChannel {
    /// Members of a board may watch it; everyone else is refused.
    async fn connect(ctx: &Connect, user: User, board_id: i64) -> Result<Self, Reject> {
        let db = ctx.data::<Db>()?.clone();
        match db::is_member(&db, board_id, user.id).await? {
            None => Err(Reject::NotFound),
            Some(false) => Err(Reject::Forbidden),
            Some(true) => {
                let can_write = db::can_write(&db, board_id, user.id).await?;
                Ok(BoardChannel {
                    board_id,
                    db,
                    user,
                    can_write,
                })
            }
        }
    }

    async fn load(&self, _ctx: &Load) -> Result<Board, LoadError> {
        db::load_board(&self.db, self.board_id)
            .await?
            .ok_or(LoadError::NotFound)
    }

    /// Browser saves: members with write access.
    async fn can_save(&self, _ctx: &Ctx, _write: &Write) -> bool {
        self.can_write
    }

    /// Browser creates: members with write access.
    async fn can_create(&self, _ctx: &Ctx, _write: &Write) -> bool {
        self.can_write
    }

    /// Browser deletes: members with write access.
    async fn can_delete(&self, _ctx: &Ctx, _write: &Write) -> bool {
        self.can_write
    }

    /// Adds a card at the end of a column of this board.
    #[action(details = InvalidFields)]
    async fn create_card(
        &self,
        ctx: &Ctx,
        column_id: i64,
        title: String,
        assignee_id: Option<i64>,
    ) -> Result<Card, ActionError> {
        let new = NewCard {
            column_id,
            title,
            assignee_id,
        };
        Ok(cards::create(&self.db, ctx.hub(), &self.writer(), new).await?)
    }

    /// Renames a card of this board.
    #[action(details = InvalidFields)]
    async fn rename_card(
        &self,
        ctx: &Ctx,
        card_id: i64,
        title: String,
    ) -> Result<Card, ActionError> {
        let change = CardPatch {
            title: Some(title),
            ..CardPatch::default()
        };
        Ok(cards::update(&self.db, ctx.hub(), &self.writer(), card_id, change).await?)
    }

    /// Moves a card to the end of another column of this board.
    #[action(details = InvalidFields)]
    async fn move_card(
        &self,
        ctx: &Ctx,
        card_id: i64,
        column_id: i64,
    ) -> Result<Card, ActionError> {
        let change = CardPatch {
            column_id: Some(column_id),
            ..CardPatch::default()
        };
        Ok(cards::update(&self.db, ctx.hub(), &self.writer(), card_id, change).await?)
    }

    /// Deletes a card of this board.
    #[action]
    async fn delete_card(&self, ctx: &Ctx, card_id: i64) -> Result<(), ActionError> {
        Ok(cards::delete(&self.db, ctx.hub(), &self.writer(), card_id).await?)
    }
}

/// A card key from the browser; the board's keys are integers.
fn card_id(key: &Key) -> Result<i64, ActionError> {
    match key {
        Key::Int(id) => Ok(*id),
        Key::Str(_) => Err(ActionError::new("not_found", "no such card")),
    }
}

impl rxd::PersistSave<BoardChannel> for Card {
    async fn save(
        channel: &BoardChannel,
        _ctx: &Ctx,
        key: Key,
        patch: Patch,
        batch: &mut Batch,
    ) -> Result<(), ActionError> {
        let change: CardPatch = patch.parse()?;
        cards::update_in(
            &channel.db,
            batch,
            &channel.writer(),
            card_id(&key)?,
            change,
        )
        .await?;
        Ok(())
    }
}

impl rxd::PersistCreate<BoardChannel> for Card {
    async fn create(
        channel: &BoardChannel,
        _ctx: &Ctx,
        _parent: Key,
        patch: Patch,
        batch: &mut Batch,
    ) -> Result<Key, ActionError> {
        let new: NewCard = patch.parse()?;
        let card = cards::create_in(&channel.db, batch, &channel.writer(), new).await?;
        Ok(Key::Int(card.id))
    }
}

impl rxd::PersistDelete<BoardChannel> for Card {
    async fn delete(
        channel: &BoardChannel,
        _ctx: &Ctx,
        key: Key,
        batch: &mut Batch,
    ) -> Result<(), ActionError> {
        cards::delete_in(&channel.db, batch, &channel.writer(), card_id(&key)?).await?;
        Ok(())
    }
}

impl BoardChannel {
    /// Actions write as the connected user, to this board only.
    fn writer(&self) -> Writer {
        Writer {
            user: self.user.clone(),
            board: Some(self.board_id),
        }
    }
}

/// The state of [`MyBoardsChannel`]'s connections.
pub struct MyBoardsChannel {
    user_id: i64,
    db: Db,
}

/// The boards a user may see, live: the board picker. Each board is its own
/// anchor, shared with the board page's channel; a board created with the
/// user as its owner joins the list by itself.
#[rxd::channel(state = Vec<Board>, route = "/ws/my-boards")]
impl MyBoardsChannel {
    async fn connect(ctx: &Connect, user: User) -> Result<Self, Reject> {
        Ok(MyBoardsChannel {
            user_id: user.id,
            db: ctx.data::<Db>()?.clone(),
        })
    }

    async fn anchors(&self, _ctx: &Load) -> Result<Vec<i64>, LoadError> {
        let boards = db::boards_of(&self.db, self.user_id).await?;
        Ok(boards.into_iter().map(|(id, _)| id).collect())
    }

    async fn load(&self, _ctx: &Load, board_id: i64) -> Result<Board, LoadError> {
        db::load_board(&self.db, board_id)
            .await?
            .ok_or(LoadError::NotFound)
    }

    /// A new board is shown to its owner. (Membership changes would add
    /// the board with `ctx.add_anchor` from a consumer.)
    async fn is_visible(&self, _ctx: &Ctx, offer: &rxd::Offer) -> bool {
        offer.field::<i64>("owner") == Some(self.user_id)
    }
}
