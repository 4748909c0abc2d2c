-- Demo data: two boards; Ada sees both, Grace sees only "Launch".
INSERT INTO users (id, name) VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Linus');
INSERT INTO tokens (token, user_id) VALUES ('ada-token', 1), ('grace-token', 2), ('linus-token', 3);

INSERT INTO boards (id, title, owner_id) VALUES (1, 'Launch', 1), (2, 'Research', 1);
INSERT INTO board_members (board_id, user_id) VALUES (1, 1), (1, 2), (2, 1);

INSERT INTO columns (id, board_id, name, position) VALUES
    (1, 1, 'Todo', 1), (2, 1, 'Doing', 2), (3, 1, 'Done', 3),
    (4, 2, 'Ideas', 1), (5, 2, 'Experiments', 2);

INSERT INTO cards (id, column_id, title, assignee_id, position) VALUES
    (1, 1, 'Write the press release', 2, 1),
    (2, 1, 'Book the venue', NULL, 2),
    (3, 2, 'Fix the signup bug', 1, 3),
    (4, 3, 'Pick a name', 1, 4),
    (5, 4, 'Faster fan-out', 1, 5);
