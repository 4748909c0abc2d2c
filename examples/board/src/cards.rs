//! Card writes, shared by the REST API and the channel's actions: each
//! checks permission, writes in a transaction, commits it, then commits a
//! hub batch so every browser on the board sees the change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;

use crate::db::{self, Db};
use crate::state::{Card, User};

/// Why a write was refused.
#[derive(Debug)]
pub enum WriteError {
    /// The caller may not write there.
    Forbidden,
    /// No such card.
    NotFound,
    /// Field errors, by field name.
    Invalid(InvalidFields),
    /// The server failed.
    Internal(String),
}

/// The `details` of an `invalid` answer: what is wrong, by field name.
#[derive(Debug, Clone, PartialEq, Serialize, rxd::TypeScript)]
pub struct InvalidFields {
    /// Field name → message.
    pub fields: BTreeMap<String, String>,
}

impl WriteError {
    fn invalid(field: &str, message: &str) -> WriteError {
        WriteError::Invalid(InvalidFields {
            fields: BTreeMap::from([(field.to_owned(), message.to_owned())]),
        })
    }
}

impl From<sqlx::Error> for WriteError {
    fn from(error: sqlx::Error) -> Self {
        WriteError::Internal(error.to_string())
    }
}

impl From<rxd::CommitError> for WriteError {
    fn from(error: rxd::CommitError) -> Self {
        WriteError::Internal(error.to_string())
    }
}

impl From<rxd::state::StateError> for WriteError {
    fn from(error: rxd::state::StateError) -> Self {
        WriteError::Internal(error.to_string())
    }
}

impl From<WriteError> for rxd::ActionError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Forbidden => rxd::ActionError::new("forbidden", "not allowed"),
            WriteError::NotFound => rxd::ActionError::new("not_found", "no such card"),
            WriteError::Invalid(fields) => {
                rxd::ActionError::new("invalid", "invalid input").with_details(fields)
            }
            WriteError::Internal(message) => {
                tracing::error!(%message, "card write failed");
                rxd::ActionError::internal()
            }
        }
    }
}

/// Who writes, and where they may: a REST caller may write to any board
/// they are a member of; a channel's actions only to the channel's board.
#[derive(Debug, Clone)]
pub struct Writer {
    pub user: User,
    pub board: Option<i64>,
}

impl Writer {
    /// Fails unless the writer may write to the board of `column_id`.
    async fn check_column(
        &self,
        conn: &mut SqliteConnection,
        column_id: i64,
    ) -> Result<(), WriteError> {
        let board = db::board_of_column(&mut *conn, column_id)
            .await?
            .ok_or_else(|| WriteError::invalid("column_id", "no such column"))?;
        if self.board.is_some_and(|b| b != board) {
            return Err(WriteError::Forbidden);
        }
        match db::is_member(conn, board, self.user.id).await? {
            Some(true) => Ok(()),
            _ => Err(WriteError::Forbidden),
        }
    }

    /// The card, if the writer may write to it.
    async fn card(&self, conn: &mut SqliteConnection, id: i64) -> Result<Card, WriteError> {
        let card = db::card(&mut *conn, id)
            .await?
            .ok_or(WriteError::NotFound)?;
        match self.check_column(conn, card.column_id).await {
            // Another board's card does not exist, as far as a channel knows.
            Err(WriteError::Forbidden) if self.board.is_some() => Err(WriteError::NotFound),
            other => other.map(|()| card),
        }
    }
}

fn check_title(title: &str) -> Result<String, WriteError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(WriteError::invalid("title", "must be 1 to 200 characters"));
    }
    Ok(title.to_owned())
}

/// A new card.
#[derive(Debug, Deserialize)]
pub struct NewCard {
    pub column_id: i64,
    pub title: String,
    #[serde(default)]
    pub assignee_id: Option<i64>,
}

/// A change to a card; absent fields stay as they are.
#[derive(Debug, Default, Deserialize)]
pub struct CardPatch {
    pub title: Option<String>,
    pub column_id: Option<i64>,
}

/// Commits the transaction and puts the card as it now is into `batch`,
/// which the caller commits next.
async fn publish(
    batch: &mut rxd::Batch,
    mut tx: sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
) -> Result<Card, WriteError> {
    let card = db::card(&mut tx, id).await?.ok_or(WriteError::NotFound)?;
    batch.save(&card)?;
    tx.commit().await?;
    Ok(card)
}

/// Creates a card at the end of its column.
pub async fn create(
    db: &Db,
    hub: &rxd::Hub,
    writer: &Writer,
    new: NewCard,
) -> Result<Card, WriteError> {
    let mut batch = hub.batch();
    let card = create_in(db, &mut batch, writer, new).await?;
    batch.commit().await?;
    Ok(card)
}

/// Creates a card and commits its transaction; the change is in `batch`,
/// for the caller to commit (a browser's write: rxd commits it).
pub async fn create_in(
    db: &Db,
    batch: &mut rxd::Batch,
    writer: &Writer,
    new: NewCard,
) -> Result<Card, WriteError> {
    let title = check_title(&new.title)?;
    let mut tx = db.begin().await?;
    writer.check_column(&mut tx, new.column_id).await?;
    let position = db::next_card_position(&mut tx).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cards (column_id, title, assignee_id, position) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(new.column_id)
    .bind(&title)
    .bind(new.assignee_id)
    .bind(position)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(ref d) if d.is_foreign_key_violation() => {
            WriteError::invalid("assignee_id", "no such user")
        }
        other => other.into(),
    })?;
    publish(batch, tx, id).await
}

/// Renames and/or moves a card; a moved card goes to the end of its new
/// column.
pub async fn update(
    db: &Db,
    hub: &rxd::Hub,
    writer: &Writer,
    id: i64,
    change: CardPatch,
) -> Result<Card, WriteError> {
    let mut batch = hub.batch();
    let card = update_in(db, &mut batch, writer, id, change).await?;
    batch.commit().await?;
    Ok(card)
}

/// [`update`], with the change put into `batch` for the caller to commit.
pub async fn update_in(
    db: &Db,
    batch: &mut rxd::Batch,
    writer: &Writer,
    id: i64,
    change: CardPatch,
) -> Result<Card, WriteError> {
    let mut tx = db.begin().await?;
    let card = writer.card(&mut tx, id).await?;
    if let Some(title) = &change.title {
        sqlx::query("UPDATE cards SET title = ? WHERE id = ?")
            .bind(check_title(title)?)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(column_id) = change.column_id.filter(|c| *c != card.column_id) {
        writer.check_column(&mut tx, column_id).await?;
        let position = db::next_card_position(&mut tx).await?;
        sqlx::query("UPDATE cards SET column_id = ?, position = ? WHERE id = ?")
            .bind(column_id)
            .bind(position)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    publish(batch, tx, id).await
}

/// Deletes a card.
pub async fn delete(db: &Db, hub: &rxd::Hub, writer: &Writer, id: i64) -> Result<(), WriteError> {
    let mut batch = hub.batch();
    delete_in(db, &mut batch, writer, id).await?;
    batch.commit().await?;
    Ok(())
}

/// [`delete`], with the change put into `batch` for the caller to commit.
pub async fn delete_in(
    db: &Db,
    batch: &mut rxd::Batch,
    writer: &Writer,
    id: i64,
) -> Result<(), WriteError> {
    let mut tx = db.begin().await?;
    writer.card(&mut tx, id).await?;
    sqlx::query("DELETE FROM cards WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    batch.delete::<Card>(id);
    tx.commit().await?;
    Ok(())
}
