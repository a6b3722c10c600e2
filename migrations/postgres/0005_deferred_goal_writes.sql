-- An inbox run on SQLite stores a file's goal writes (progress entries,
-- completions, alerts) later, together with those of the run's other files
-- (see Storage::defers_goal_writes). Until they are stored the file is
-- marked: a run that stops first leaves the mark, and the next run
-- recomputes the goals of the file's users. Files stored before this
-- migration had their goal writes with them.
ALTER TABLE ingested_files ADD COLUMN goals_pending BOOLEAN NOT NULL DEFAULT FALSE;
