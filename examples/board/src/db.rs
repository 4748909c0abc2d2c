//! SQL for the board example: loading state trees and writing cards.

use std::collections::HashMap;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::state::{Board, Card, Column, User};

/// The database handle the example shares between REST and channels.
pub type Db = SqlitePool;

/// Opens (and migrates) a database. `sqlite::memory:` gives a fresh
/// in-memory database with the demo data.
pub async fn open(url: &str) -> Result<Db, sqlx::Error> {
    let options: SqliteConnectOptions = url
        .parse::<SqliteConnectOptions>()?
        .create_if_missing(true)
        .foreign_keys(true);
    // An in-memory database lives in one connection.
    let max = if url.contains(":memory:") { 1 } else { 4 };
    let db = SqlitePoolOptions::new()
        .max_connections(max)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&db).await?;
    Ok(db)
}

/// The user that owns a token.
pub async fn user_by_token(db: &Db, token: &str) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT users.id, users.name FROM tokens JOIN users ON users.id = tokens.user_id
         WHERE tokens.token = ?",
    )
    .bind(token)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| User {
        id: r.get(0),
        name: r.get(1),
    }))
}

/// Whether a user may see a board. `None`: there is no such board.
pub async fn is_member<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    board_id: i64,
    user_id: i64,
) -> Result<Option<bool>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT EXISTS(SELECT 1 FROM board_members WHERE board_id = ?1 AND user_id = ?2)
         FROM boards WHERE id = ?1",
    )
    .bind(board_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.get::<bool, _>(0)))
}

/// Whether a member of a board may change it (viewers may not).
pub async fn can_write(db: &Db, board_id: i64, user_id: i64) -> Result<bool, sqlx::Error> {
    let row =
        sqlx::query("SELECT can_write FROM board_members WHERE board_id = ?1 AND user_id = ?2")
            .bind(board_id)
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    Ok(row.is_some_and(|r| r.get::<bool, _>(0)))
}

/// The boards a user may see, as `(id, title)`.
pub async fn boards_of(db: &Db, user_id: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT boards.id, boards.title FROM boards
         JOIN board_members ON board_members.board_id = boards.id
         WHERE board_members.user_id = ? ORDER BY boards.id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

async fn users(db: &mut SqliteConnection) -> Result<HashMap<i64, User>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name FROM users")
        .fetch_all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let user = User {
                id: r.get(0),
                name: r.get(1),
            };
            (user.id, user)
        })
        .collect())
}

/// The whole tree of one board, children in position order.
pub async fn load_board(db: &Db, board_id: i64) -> Result<Option<Board>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    let Some(board) = sqlx::query("SELECT id, title, owner_id FROM boards WHERE id = ?")
        .bind(board_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let users = users(&mut conn).await?;
    let user = |id: i64| {
        users.get(&id).cloned().unwrap_or(User {
            id,
            name: String::new(),
        })
    };
    let columns = sqlx::query(
        "SELECT id, board_id, name FROM columns WHERE board_id = ? ORDER BY position, id",
    )
    .bind(board_id)
    .fetch_all(&mut *conn)
    .await?;
    let cards = sqlx::query(
        "SELECT cards.id, cards.column_id, cards.title, cards.assignee_id FROM cards
         JOIN columns ON columns.id = cards.column_id
         WHERE columns.board_id = ? ORDER BY cards.position, cards.id",
    )
    .bind(board_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut cards_by_column: HashMap<i64, Vec<Card>> = HashMap::new();
    for row in &cards {
        let card = Card {
            id: row.get(0),
            column_id: row.get(1),
            title: row.get(2),
            assignee: row.get::<Option<i64>, _>(3).map(user),
        };
        cards_by_column
            .entry(card.column_id)
            .or_default()
            .push(card);
    }
    Ok(Some(Board {
        id: board.get(0),
        title: board.get(1),
        owner: user(board.get(2)),
        columns: columns
            .iter()
            .map(|row| {
                let id: i64 = row.get(0);
                Column {
                    id,
                    board_id: row.get(1),
                    name: row.get(2),
                    cards: cards_by_column.remove(&id).unwrap_or_default(),
                }
            })
            .collect(),
    }))
}

/// One card with its assignee, inside a transaction.
pub async fn card(conn: &mut SqliteConnection, id: i64) -> Result<Option<Card>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT cards.id, cards.column_id, cards.title, users.id, users.name
         FROM cards LEFT JOIN users ON users.id = cards.assignee_id WHERE cards.id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Card {
        id: r.get(0),
        column_id: r.get(1),
        title: r.get(2),
        assignee: r
            .get::<Option<i64>, _>(3)
            .map(|id| User { id, name: r.get(4) }),
    }))
}

/// The board a column belongs to.
pub async fn board_of_column(
    conn: &mut SqliteConnection,
    column_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT board_id FROM columns WHERE id = ?")
        .bind(column_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// The position after the last card of a column: where the hub appends.
pub async fn next_card_position(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT COALESCE(MAX(position), 0) + 1 FROM cards")
        .fetch_one(conn)
        .await?;
    Ok(row.get(0))
}
