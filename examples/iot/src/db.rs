//! SQL for the IoT example (SQLite).

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

use crate::state::{Access, Grant, Token};

/// The database handle.
pub type Db = SqlitePool;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS tokens (
        id INTEGER PRIMARY KEY,
        token TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        max_connections INTEGER,
        operator INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS grants (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token_id INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
        pattern TEXT NOT NULL,
        access TEXT NOT NULL CHECK (access IN ('read', 'read-write')))",
];

/// The demo's tokens: a dashboard that reads every sensor, two devices that
/// each write their own topics (one socket each), and an operator.
const SEED: &[&str] = &[
    "INSERT OR IGNORE INTO tokens (id, token, name, max_connections, operator) VALUES
        (1, 'dashboard-token', 'dashboard', NULL, 0),
        (2, 'device-1-token', 'device 1', 1, 0),
        (3, 'device-2-token', 'device 2', 1, 0),
        (4, 'operator-token', 'operator', NULL, 1)",
    "INSERT INTO grants (token_id, pattern, access)
        SELECT 1, 'sensors/#', 'read' WHERE NOT EXISTS (SELECT 1 FROM grants)
        UNION ALL SELECT 2, 'sensors/1/#', 'read-write' WHERE NOT EXISTS (SELECT 1 FROM grants)
        UNION ALL SELECT 3, 'sensors/2/#', 'read-write' WHERE NOT EXISTS (SELECT 1 FROM grants)
        UNION ALL SELECT 3, 'commands/2', 'read' WHERE NOT EXISTS (SELECT 1 FROM grants)",
];

/// Opens (and sets up) a database; `sqlite::memory:` is fresh demo data.
pub async fn open(url: &str) -> Result<Db, sqlx::Error> {
    let options: SqliteConnectOptions = url
        .parse::<SqliteConnectOptions>()?
        .create_if_missing(true)
        .foreign_keys(true);
    let mut pool = SqlitePoolOptions::new().max_connections(4);
    if url.contains(":memory:") {
        // An in-memory database lives as long as its one connection.
        pool = pool
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    let db = pool.connect_with(options).await?;
    for statement in SCHEMA.iter().chain(SEED) {
        sqlx::query(statement).execute(&db).await?;
    }
    Ok(db)
}

/// A token's holder, as the authenticator gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub token_id: i64,
    pub name: String,
    pub max_connections: Option<i64>,
    pub operator: bool,
}

/// Who holds `token`.
pub async fn holder(db: &Db, token: &str) -> Result<Option<Holder>, sqlx::Error> {
    let row = sqlx::query("SELECT id, name, max_connections, operator FROM tokens WHERE token = ?")
        .bind(token)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| Holder {
        token_id: r.get(0),
        name: r.get(1),
        max_connections: r.get(2),
        operator: r.get::<i64, _>(3) != 0,
    }))
}

fn access_of(text: &str) -> Access {
    if text == "read-write" {
        Access::ReadWrite
    } else {
        Access::Read
    }
}

/// A token with its grants.
pub async fn token(db: &Db, id: i64) -> Result<Option<Token>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT id, name, max_connections FROM tokens WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await?
    else {
        return Ok(None);
    };
    let grants = sqlx::query(
        "SELECT id, token_id, pattern, access FROM grants WHERE token_id = ? ORDER BY id",
    )
    .bind(id)
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| Grant {
        id: r.get(0),
        token_id: r.get(1),
        pattern: r.get(2),
        access: access_of(&r.get::<String, _>(3)),
    })
    .collect();
    Ok(Some(Token {
        id: row.get(0),
        name: row.get(1),
        max_connections: row.get(2),
        grants,
    }))
}

/// Replaces a token's grants; `false` when there is no such token.
pub async fn set_grants(
    db: &Db,
    id: i64,
    grants: &[(String, Access)],
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let exists = sqlx::query("SELECT 1 FROM tokens WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !exists {
        return Ok(false);
    }
    sqlx::query("DELETE FROM grants WHERE token_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for (pattern, access) in grants {
        let access = match access {
            Access::Read => "read",
            Access::ReadWrite => "read-write",
        };
        sqlx::query("INSERT INTO grants (token_id, pattern, access) VALUES (?, ?, ?)")
            .bind(id)
            .bind(pattern)
            .bind(access)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Deletes a token (and its grants); returns its secret, to revoke it.
pub async fn delete_token(db: &Db, id: i64) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("DELETE FROM tokens WHERE id = ? RETURNING token")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| r.get(0)))
}
