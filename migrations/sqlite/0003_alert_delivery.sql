-- Alerts and their delivery (issue 4).
--
-- Each progress entry keeps how many periods in a row its goal has been off
-- track (0 when on track): the next evaluation compares with the entry before
-- it, and a suggested adjustment needs the streak.
ALTER TABLE goal_progress ADD COLUMN off_track_streak INTEGER NOT NULL DEFAULT 0;

-- What the alert's email shows of its goal, as the evaluation saw it (JSON):
-- name, current and target amounts, progress, required per month, projected
-- completion. Sending never has to recompute a goal.
ALTER TABLE alerts ADD COLUMN card TEXT;

-- Why a delivery waits (quiet hours, daily cap, minimum gap, retry backoff).
ALTER TABLE email_deliveries ADD COLUMN hold_reason TEXT;

-- The dispatcher's questions: what is due (email_deliveries_due), and what a
-- user was sent lately (caps and gaps).
CREATE INDEX email_deliveries_by_user ON email_deliveries (user_id, sent_at);
