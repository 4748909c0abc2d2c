-- The profile example's schema: users, and the tokens that act for them.
-- An admin token may read and write every user; any other token only its
-- own user.
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    email       TEXT NOT NULL UNIQUE
);

CREATE TABLE tokens (
    token    TEXT PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    admin    INTEGER NOT NULL DEFAULT 0
);
