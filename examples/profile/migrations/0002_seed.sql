-- Demo data: Ada is an admin (every user); Grace and Linus see themselves.
INSERT INTO users (id, first_name, last_name, email) VALUES
    (1, 'Ada', 'Lovelace', 'ada@example.com'),
    (2, 'Grace', 'Hopper', 'grace@example.com'),
    (3, 'Linus', 'Torvalds', 'linus@example.com');
INSERT INTO tokens (token, user_id, admin) VALUES
    ('ada-token', 1, 1), ('grace-token', 2, 0), ('linus-token', 3, 0);
