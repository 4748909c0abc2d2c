-- Read-only members: they watch a board, and the channel's write hooks
-- refuse their browser writes (which their browser then rolls back).
ALTER TABLE board_members ADD COLUMN can_write INTEGER NOT NULL DEFAULT 1;

INSERT INTO users (id, name) VALUES (4, 'Vera');
INSERT INTO tokens (token, user_id) VALUES ('viewer-token', 4);
INSERT INTO board_members (board_id, user_id, can_write) VALUES (1, 4, 0);
