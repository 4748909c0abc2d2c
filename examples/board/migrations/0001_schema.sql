-- The board example's schema. Cards and columns carry a position so that
-- loading orders children the way the hub appends them: a new or moved
-- child goes to the end of its parent's list.
CREATE TABLE users (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL
);

CREATE TABLE tokens (
    token    TEXT PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE
);

CREATE TABLE boards (
    id        INTEGER PRIMARY KEY,
    title     TEXT NOT NULL,
    owner_id  INTEGER NOT NULL REFERENCES users(id)
);

CREATE TABLE board_members (
    board_id  INTEGER NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (board_id, user_id)
);

CREATE TABLE columns (
    id        INTEGER PRIMARY KEY,
    board_id  INTEGER NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    position  INTEGER NOT NULL
);

CREATE TABLE cards (
    id           INTEGER PRIMARY KEY,
    column_id    INTEGER NOT NULL REFERENCES columns(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    assignee_id  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    position     INTEGER NOT NULL
);

CREATE INDEX cards_by_column ON cards(column_id, position);
CREATE INDEX columns_by_board ON columns(board_id, position);
