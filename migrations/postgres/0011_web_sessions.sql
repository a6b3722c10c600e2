-- Sign-in without passwords for the web pages (issue 15). A login link's
-- token and a session's id are 256 random bits shown once (in the link, in
-- the cookie); only their SHA-256 (lowercase hex) is kept here. A link is
-- single use (used_at) and short-lived (expires_at); a session has an
-- absolute expiry (expires_at), an idle expiry computed from last_seen_at, and
-- can be revoked (`goalkeeper users logout USER`). Both go with their user.
CREATE TABLE login_links (
    token_sha256  TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ                  -- NULL: not used yet
);

CREATE INDEX login_links_by_user ON login_links (user_id);

CREATE TABLE web_sessions (
    session_sha256  TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,      -- written at most once a minute
    expires_at      TIMESTAMPTZ NOT NULL,      -- the absolute expiry
    revoked_at      TIMESTAMPTZ                -- NULL: not signed out
);

CREATE INDEX web_sessions_by_user ON web_sessions (user_id);
