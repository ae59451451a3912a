-- Disabled users (PostgreSQL): a user with a row here can neither log in
-- nor use a session or an API token; the row is deleted when the user is
-- enabled again. Proven by row digests, as users are.
CREATE TABLE disabled_users (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT NOT NULL UNIQUE REFERENCES users (id),
    disabled_at TEXT NOT NULL
);
