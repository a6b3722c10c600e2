-- goalkeeper schema, SQLite. The PostgreSQL twin is migrations/postgres/0001_initial.sql:
-- keep the two in step. Money is INTEGER minor units (cents); periods are 'YYYY-MM';
-- timestamps are UTC (sqlx stores them as RFC 3339 text here).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT,                          -- NULL only for users the inbox auto-created
    display_name  TEXT,
    timezone      TEXT NOT NULL,                 -- IANA name
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE alert_preferences (
    user_id                   TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    enabled_alerts            TEXT NOT NULL,     -- comma-separated alert types
    email_enabled             INTEGER NOT NULL DEFAULT 1,
    push_enabled              INTEGER NOT NULL DEFAULT 0,
    in_app_enabled            INTEGER NOT NULL DEFAULT 1,
    quiet_hours_start         TEXT,              -- 'HH:MM' local, NULL = no quiet hours
    quiet_hours_end           TEXT,
    max_alerts_per_day        INTEGER NOT NULL DEFAULT 5,
    min_hours_between_alerts  INTEGER NOT NULL DEFAULT 4,
    updated_at                TEXT NOT NULL
);

CREATE TABLE ingested_files (
    id           INTEGER PRIMARY KEY,
    sha256       TEXT NOT NULL UNIQUE,           -- hex digest of the file's bytes
    file_name    TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    line_count   INTEGER NOT NULL,
    snapshots    INTEGER NOT NULL,
    corrections  INTEGER NOT NULL,
    ingested_at  TEXT NOT NULL
);

CREATE TABLE snapshots (
    id                INTEGER PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    period            TEXT NOT NULL,
    version           INTEGER NOT NULL,          -- 1, then 2, 3 ... for corrections
    is_current        INTEGER NOT NULL,
    file_id           INTEGER NOT NULL REFERENCES ingested_files(id),
    line_count        INTEGER NOT NULL,
    total_income      INTEGER NOT NULL,
    total_expenses    INTEGER NOT NULL,
    surplus           INTEGER NOT NULL,
    savings_rate      REAL,                      -- fraction; NULL when income is 0
    total_savings     INTEGER NOT NULL,
    total_investment  INTEGER NOT NULL,
    total_assets      INTEGER NOT NULL,
    total_debt        INTEGER NOT NULL,
    net_worth         INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    UNIQUE (user_id, period, version)
);
CREATE UNIQUE INDEX snapshots_one_current ON snapshots (user_id, period) WHERE is_current;

-- No rowid: the primary key is the natural order of reading a snapshot back.
CREATE TABLE snapshot_lines (
    snapshot_id   INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    line_no       INTEGER NOT NULL,              -- line in the source file
    kind          TEXT NOT NULL,
    account       TEXT,
    category      TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    rate          TEXT,                          -- exact decimal percent, e.g. '21.9'
    min_payment   INTEGER,
    PRIMARY KEY (snapshot_id, line_no)
) WITHOUT ROWID;

CREATE TABLE goals (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    description         TEXT,
    goal_type           TEXT NOT NULL,
    target_value        INTEGER NOT NULL,        -- hundredths: cents, or basis points for rates
    target_date         TEXT,                    -- 'YYYY-MM-DD'
    start_date          TEXT NOT NULL,
    original_balance    INTEGER,                 -- debt goals
    is_recurring        INTEGER NOT NULL DEFAULT 0,
    recurrence_period   TEXT,
    tracking_frequency  TEXT NOT NULL DEFAULT 'monthly',
    reminder_enabled    INTEGER NOT NULL DEFAULT 1,
    reminder_day        INTEGER NOT NULL DEFAULT 1,
    status              TEXT NOT NULL DEFAULT 'active',
    template_id         TEXT,
    completed_at        TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX goals_by_user ON goals (user_id, status);

CREATE TABLE goal_links (
    goal_id    TEXT NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    link_kind  TEXT NOT NULL CHECK (link_kind IN ('account', 'category')),
    value      TEXT NOT NULL,
    PRIMARY KEY (goal_id, link_kind, value)
);

CREATE TABLE goal_progress (
    id                 INTEGER PRIMARY KEY,
    goal_id            TEXT NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    period             TEXT NOT NULL,
    source             TEXT NOT NULL,            -- budget_sync | manual | calculated
    value              INTEGER NOT NULL,
    contribution       INTEGER NOT NULL,
    progress_ratio     REAL NOT NULL,
    on_track           INTEGER NOT NULL,
    principal_paid     INTEGER,
    interest_paid      INTEGER,
    snapshot_id        INTEGER REFERENCES snapshots(id),
    note               TEXT,
    recorded_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX goal_progress_one_sync_per_period ON goal_progress (goal_id, period) WHERE source = 'budget_sync';
CREATE INDEX goal_progress_by_goal ON goal_progress (goal_id, period);

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    goal_id         TEXT NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    alert_type      TEXT NOT NULL,
    occurrence      TEXT NOT NULL,               -- '' for once-per-goal types, else e.g. the period
    priority        INTEGER NOT NULL,
    title           TEXT NOT NULL,
    message         TEXT NOT NULL,
    action_url      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    read_at         TEXT,
    UNIQUE (goal_id, alert_type, occurrence)     -- exactly-once generation
);
CREATE INDEX alerts_by_user ON alerts (user_id, created_at);

CREATE TABLE email_deliveries (
    id             INTEGER PRIMARY KEY,
    alert_id       INTEGER NOT NULL UNIQUE REFERENCES alerts(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status         TEXT NOT NULL,                -- pending | deferred | sending | sent | failed
    due_at         TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    message_id     TEXT,                         -- stable across retries
    claimed_by     TEXT,                         -- instance holding the claim, for shared PostgreSQL
    claimed_until  TEXT,
    sent_at        TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX email_deliveries_due ON email_deliveries (status, due_at);

CREATE TABLE job_runs (
    id           INTEGER PRIMARY KEY,
    job          TEXT NOT NULL,                  -- inbox | evaluate | dispatch
    instance     TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    ok           INTEGER,
    summary      TEXT                            -- JSON counts
);
CREATE INDEX job_runs_by_job ON job_runs (job, started_at);
