-- API bearer tokens (issue 14, per-user access). Only the SHA-256 of a token
-- is kept (lowercase hex): the token itself is shown once, when created, and
-- cannot be recovered from the database. A user token belongs to one user
-- (deleted with them); an admin (operator) token has no user. Rows are never
-- deleted: a revoked or expired token stays listed, so `tokens list` shows
-- what was issued and when it was used last. AUTOINCREMENT: an id is never
-- reused, so `tokens revoke ID` can never hit a later token.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       TEXT REFERENCES users(id) ON DELETE CASCADE,
    is_admin      INTEGER NOT NULL,
    name          TEXT,
    token_sha256  TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,                 -- NULL: never expires
    revoked_at    TEXT,                 -- NULL: not revoked
    last_used_at  TEXT,                 -- updated at most once a minute
    CHECK ((is_admin = 1 AND user_id IS NULL) OR (is_admin = 0 AND user_id IS NOT NULL))
);

CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
