//! SQL for the chat example, on SQLite (the default) or PostgreSQL: one
//! dialect both accept (`$n` parameters, `ON CONFLICT`, `RETURNING`),
//! through sqlx's `Any` driver.

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::state::{Member, Message, Room, User};

/// The database handle the channel, the presence task and the tests share.
pub type Db = AnyPool;

/// Tables both backends create, in order; `{id}` is the auto-increment key.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS users (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id))",
    "CREATE TABLE IF NOT EXISTS rooms (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS room_members (
        room_id BIGINT NOT NULL REFERENCES rooms (id),
        user_id BIGINT NOT NULL REFERENCES users (id),
        PRIMARY KEY (room_id, user_id))",
    "CREATE TABLE IF NOT EXISTS messages (
        id {id},
        room_id BIGINT NOT NULL REFERENCES rooms (id),
        author_id BIGINT NOT NULL REFERENCES users (id),
        body TEXT NOT NULL,
        client_id TEXT NOT NULL,
        sent_at BIGINT NOT NULL,
        UNIQUE (author_id, client_id))",
    "CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room_id, id)",
    "CREATE INDEX IF NOT EXISTS messages_by_author ON messages (author_id, sent_at)",
    // One row per open connection; a process refreshes `expires_at` of its
    // rows on every heartbeat, and any process deletes expired ones.
    "CREATE TABLE IF NOT EXISTS presence (
        connection TEXT PRIMARY KEY,
        room_id BIGINT NOT NULL,
        user_id BIGINT NOT NULL,
        process TEXT NOT NULL,
        typing BIGINT NOT NULL DEFAULT 0,
        expires_at BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS presence_by_room ON presence (room_id)",
    "CREATE INDEX IF NOT EXISTS presence_by_process ON presence (process)",
];

/// The demo's users, their tokens, the rooms and who may enter them.
const SEED: &[&str] = &[
    "INSERT INTO users (id, name) VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Linus') ON CONFLICT DO NOTHING",
    "INSERT INTO tokens (token, user_id) VALUES ('ada-token', 1), ('grace-token', 2), ('linus-token', 3) ON CONFLICT DO NOTHING",
    "INSERT INTO rooms (id, name) VALUES (1, 'general'), (2, 'compilers') ON CONFLICT DO NOTHING",
    "INSERT INTO room_members (room_id, user_id) VALUES (1, 1), (1, 2), (1, 3), (2, 1), (2, 2) ON CONFLICT DO NOTHING",
];

/// How many earlier messages the demo's `general` room starts with, so that
/// its history has pages.
pub const SEEDED_MESSAGES: i64 = 80;

/// Opens a database, creates the tables and the demo data where missing.
///
/// `sqlite::memory:` is a fresh database per process; `sqlite://chat.db?mode=rwc`
/// a file; `postgres://127.0.0.1/chat` a server that several processes share.
pub async fn open(url: &str) -> Result<Db, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let postgres = url.starts_with("postgres");
    let mut options = AnyPoolOptions::new().max_connections(8);
    if url.contains(":memory:") {
        // An in-memory database lives as long as its one connection.
        options = options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    let db = options.connect(url).await?;
    let id = if postgres {
        "BIGSERIAL PRIMARY KEY"
    } else {
        "INTEGER PRIMARY KEY AUTOINCREMENT"
    };
    for statement in SCHEMA {
        sqlx::query(&statement.replace("{id}", id))
            .execute(&db)
            .await?;
    }
    for statement in SEED {
        sqlx::query(statement).execute(&db).await?;
    }
    // Client ids make the seed idempotent, also when processes start at once.
    for n in 1..=SEEDED_MESSAGES {
        sqlx::query(
            "INSERT INTO messages (room_id, author_id, body, client_id, sent_at)
             VALUES (1, $1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(1 + n % 3)
        .bind(format!("Earlier message #{n}"))
        .bind(format!("seed-{n}"))
        .bind(1_767_225_600_000 + n * 60_000)
        .execute(&db)
        .await?;
    }
    Ok(db)
}

/// The user a token acts for.
pub async fn user_by_token(db: &Db, token: &str) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.name FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token = $1",
    )
    .bind(token)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| User {
        id: r.get(0),
        name: r.get(1),
    }))
}

/// Whether room `room_id` exists, and whether `user_id` may enter it.
pub async fn room_access(db: &Db, room_id: i64, user_id: i64) -> Result<Option<bool>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM room_members WHERE room_id = $1 AND user_id = $2)
         FROM rooms WHERE id = $1",
    )
    .bind(room_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.get::<i64, _>(0) > 0))
}

const MESSAGE_COLUMNS: &str =
    "m.id, m.room_id, m.author_id, u.name, m.body, m.client_id, m.sent_at FROM messages m JOIN users u ON u.id = m.author_id";

fn message_of(row: &AnyRow) -> Message {
    Message {
        id: row.get(0),
        room_id: row.get(1),
        author: User {
            id: row.get(2),
            name: row.get(3),
        },
        body: row.get(4),
        client_id: row.get(5),
        sent_at: row.get(6),
    }
}

/// A room with its last `window` messages and its members that have not
/// expired at `now`.
pub async fn load_room(
    db: &Db,
    room_id: i64,
    window: i64,
    now: i64,
) -> Result<Option<Room>, sqlx::Error> {
    let Some(room) = sqlx::query("SELECT id, name FROM rooms WHERE id = $1")
        .bind(room_id)
        .fetch_optional(db)
        .await?
    else {
        return Ok(None);
    };
    let mut messages = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} WHERE m.room_id = $1 ORDER BY m.id DESC LIMIT $2"
    ))
    .bind(room_id)
    .bind(window)
    .fetch_all(db)
    .await?
    .iter()
    .map(message_of)
    .collect::<Vec<_>>();
    messages.reverse();
    let members = sqlx::query(
        "SELECT p.connection, p.room_id, u.id, u.name, p.typing FROM presence p
         JOIN users u ON u.id = p.user_id
         WHERE p.room_id = $1 AND p.expires_at >= $2 ORDER BY p.connection",
    )
    .bind(room_id)
    .bind(now)
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| Member {
        connection: r.get(0),
        room_id: r.get(1),
        user: User {
            id: r.get(2),
            name: r.get(3),
        },
        typing: r.get::<i64, _>(4) != 0,
    })
    .collect();
    Ok(Some(Room {
        id: room.get(0),
        name: room.get(1),
        messages,
        members,
    }))
}

/// The message `author_id` sent with `client_id`, if it was stored.
pub async fn message_by_client_id(
    db: &Db,
    author_id: i64,
    client_id: &str,
) -> Result<Option<Message>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} WHERE m.author_id = $1 AND m.client_id = $2"
    ))
    .bind(author_id)
    .bind(client_id)
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(message_of))
}

/// Stores a message; `None` when the author already stored one with this
/// client id (a retry that raced its original).
pub async fn insert_message(
    db: &Db,
    room_id: i64,
    author_id: i64,
    body: &str,
    client_id: &str,
    sent_at: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO messages (room_id, author_id, body, client_id, sent_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(room_id)
    .bind(author_id)
    .bind(body)
    .bind(client_id)
    .bind(sent_at)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.get(0)))
}

/// How many messages `author_id` sent since `since`, and when the oldest of
/// them was sent.
pub async fn sent_since(
    db: &Db,
    author_id: i64,
    since: i64,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*), MIN(sent_at) FROM messages WHERE author_id = $1 AND sent_at > $2",
    )
    .bind(author_id)
    .bind(since)
    .fetch_one(db)
    .await?;
    Ok((row.get(0), row.get(1)))
}

/// The message that just fell out of a room's window of `window` messages.
pub async fn just_out_of_window(
    db: &Db,
    room_id: i64,
    window: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id FROM messages WHERE room_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2",
    )
    .bind(room_id)
    .bind(window)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Up to `limit` messages of a room older than message `before`, oldest
/// first.
pub async fn history(
    db: &Db,
    room_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let mut page = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} WHERE m.room_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3"
    ))
    .bind(room_id)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?
    .iter()
    .map(message_of)
    .collect::<Vec<_>>();
    page.reverse();
    Ok(page)
}

/// Records an open connection until `expires_at`.
pub async fn insert_presence(
    db: &Db,
    member: &Member,
    process: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO presence (connection, room_id, user_id, process, typing, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&member.connection)
    .bind(member.room_id)
    .bind(member.user.id)
    .bind(process)
    .bind(i64::from(member.typing))
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Sets a connection's typing flag; `false` when its row is gone.
pub async fn set_typing(db: &Db, connection: &str, typing: bool) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE presence SET typing = $1 WHERE connection = $2")
        .bind(i64::from(typing))
        .bind(connection)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Forgets a connection.
pub async fn delete_presence(db: &Db, connection: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM presence WHERE connection = $1")
        .bind(connection)
        .execute(db)
        .await?;
    Ok(())
}

/// Extends every connection of `process` until `expires_at`.
pub async fn refresh_presence(db: &Db, process: &str, expires_at: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE presence SET expires_at = $1 WHERE process = $2")
        .bind(expires_at)
        .bind(process)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes the connections that expired before `now` (their process
/// stopped refreshing them) and returns them.
pub async fn sweep_presence(db: &Db, now: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("DELETE FROM presence WHERE expires_at < $1 RETURNING connection")
        .bind(now)
        .fetch_all(db)
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Deletes every connection of `process` (it is shutting down) and returns
/// them.
pub async fn delete_process_presence(db: &Db, process: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("DELETE FROM presence WHERE process = $1 RETURNING connection")
        .bind(process)
        .fetch_all(db)
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
