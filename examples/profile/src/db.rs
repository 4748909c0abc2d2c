//! SQL for the profile example.

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqliteExecutor, SqlitePool};

use crate::state::{Account, User};

/// The database handle the example shares between REST and the channel.
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

/// The account a token acts for.
pub async fn account_by_token(db: &Db, token: &str) -> Result<Option<Account>, sqlx::Error> {
    let row = sqlx::query("SELECT user_id, admin FROM tokens WHERE token = ?")
        .bind(token)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| Account {
        user_id: r.get(0),
        admin: r.get::<bool, _>(1),
    }))
}

fn user_of(row: &sqlx::sqlite::SqliteRow) -> User {
    User {
        id: row.get(0),
        first_name: row.get(1),
        last_name: row.get(2),
        email: row.get(3),
    }
}

/// One user.
pub async fn user<'e>(db: impl SqliteExecutor<'e>, id: i64) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query("SELECT id, first_name, last_name, email FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.as_ref().map(user_of))
}

/// Every user the account may see, by id.
pub async fn users_for(db: &Db, account: &Account) -> Result<Vec<User>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, first_name, last_name, email FROM users WHERE ?1 OR id = ?2 ORDER BY id",
    )
    .bind(account.admin)
    .bind(account.user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(user_of).collect())
}
