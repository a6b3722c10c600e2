-- Which linked debts a debt goal's tracking has seen with a balance above
-- zero, and since which month (issue 19), kept with each budget_sync entry:
-- `ACCOUNT=YYYY-MM` separated by spaces, `*` for the linked debts together;
-- NULL when nothing was seen (and for every other goal type). The newest
-- entry's value is what tracking the next month starts from, so a goal read
-- back from the database counts a never-seen account as nothing paid, as it
-- does when followed in memory.
ALTER TABLE goal_progress ADD COLUMN debt_seen TEXT;
