-- Disabled users: a user with a row here can neither log in nor use a
-- session or an API token; the row is deleted when the user is enabled
-- again. Proven by row digests, as users are.
CREATE TABLE disabled_users (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL UNIQUE REFERENCES users (id),
    disabled_at TEXT NOT NULL
);
