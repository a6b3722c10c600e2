//! The goal and progress SQL the [`Storage`](super::Storage) implementation builds on, shared by
//! both backends: goals with their links, progress histories and latest snapshots read through
//! sqlx, and the bulk writes of goals and progress entries. `impl_storage!` (in [`super::sql`])
//! instantiates it for a backend with `impl_goal_sql!($store, $db)`.

/// Implements the shared goal and progress helpers on `$store` (a backend with a `pool` field).
macro_rules! impl_goal_sql {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Goals (of `user`, with `status`; any when None) ordered by user and id, with their links.
            #[allow(dead_code)]
            async fn sqlx_goals(
                &self,
                user: Option<&$crate::domain::UserId>,
                status: Option<$crate::domain::GoalStatus>,
            ) -> anyhow::Result<(Vec<$crate::storage::sql::GoalRow>, $crate::storage::sql::LinkMap)> {
                // One user's goals by the user index (`$1 IS NULL OR user_id = $1` scans them all
                // under a generic plan).
                let status = status.map(|s| s.as_str());
                let rows: Vec<$crate::storage::sql::GoalRow> = match user {
                    Some(user) => {
                        sqlx::query_as(&format!(
                            "{} WHERE user_id = $1 AND ($2 IS NULL OR status = $2) ORDER BY user_id, id",
                            $crate::storage::sql::GOAL_SELECT
                        ))
                        .bind(user.as_str())
                        .bind(status)
                        .fetch_all(&self.pool)
                        .await?
                    }
                    None => {
                        sqlx::query_as(&format!(
                            "{} WHERE ($1 IS NULL OR status = $1) ORDER BY user_id, id",
                            $crate::storage::sql::GOAL_SELECT
                        ))
                        .bind(status)
                        .fetch_all(&self.pool)
                        .await?
                    }
                };
                let links = self.goal_links(&rows).await?;
                Ok((rows, links))
            }

            #[allow(dead_code)]
            async fn sqlx_progress_histories(
                &self,
                goals: &[&str],
            ) -> anyhow::Result<std::collections::HashMap<String, Vec<$crate::domain::goal::ProgressEntry>>> {
                let mut out: std::collections::HashMap<String, Vec<$crate::domain::goal::ProgressEntry>> =
                    std::collections::HashMap::with_capacity(goals.len());
                for chunk in goals.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT id, goal_id, period, value, contribution, progress_ratio, on_track, off_track_streak, \
                         principal_paid, interest_paid, source, snapshot_id, recorded_at, note FROM goal_progress \
                         WHERE goal_id IN (",
                    );
                    let mut list = q.separated(", ");
                    for g in chunk {
                        list.push_bind(*g);
                    }
                    q.push(") ORDER BY goal_id, period, source, id");
                    let full = chunk.len() == $crate::storage::sql::KEY_CHUNK;
                    let rows: Vec<$crate::storage::sql::ProgressRow> =
                        q.build_query_as().persistent(full).fetch_all(&self.pool).await?;
                    for row in rows {
                        let entry = row.into_entry()?;
                        match out.get_mut(entry.goal_id.as_str()) {
                            Some(history) => history.push(entry),
                            None => {
                                out.insert(entry.goal_id.to_string(), vec![entry]);
                            }
                        }
                    }
                }
                Ok(out)
            }

            #[allow(dead_code)]
            async fn sqlx_latest_snapshots(
                &self,
                users: &[&str],
            ) -> anyhow::Result<
                std::collections::HashMap<String, ($crate::domain::Period, $crate::domain::SnapshotSummary)>,
            > {
                let mut out = std::collections::HashMap::with_capacity(users.len());
                for chunk in users.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT s.user_id, s.period, l.kind, l.account, l.category, l.amount, l.rate, l.min_payment \
                         FROM snapshots s LEFT JOIN snapshot_lines l ON l.snapshot_id = s.id \
                         WHERE s.is_current AND s.period = (SELECT MAX(m.period) FROM snapshots m \
                         WHERE m.user_id = s.user_id AND m.is_current) AND s.user_id IN (",
                    );
                    let mut list = q.separated(", ");
                    for u in chunk {
                        list.push_bind(*u);
                    }
                    q.push(") ORDER BY s.user_id, l.line_no");
                    let full = chunk.len() == $crate::storage::sql::KEY_CHUNK;
                    // Nullable line columns: a snapshot without lines still has a summary.
                    type Row = (String, String, Option<String>, Option<String>, Option<String>, Option<i64>, Option<String>, Option<i64>);
                    let rows: Vec<Row> = q.build_query_as().persistent(full).fetch_all(&self.pool).await?;
                    let mut current: Option<(String, String, Vec<$crate::domain::SnapshotLine>)> = None;
                    let mut finish = |done: Option<(String, String, Vec<$crate::domain::SnapshotLine>)>| -> anyhow::Result<()> {
                        if let Some((user, period, lines)) = done {
                            let summary = $crate::domain::SnapshotSummary::of_lines(&lines)?;
                            out.insert(user, ($crate::storage::sql::parse_period(&period)?, summary));
                        }
                        Ok(())
                    };
                    for (user, period, k, a, c, amount, r, m) in rows {
                        if !current.as_ref().is_some_and(|(u, _, _)| *u == user) {
                            finish(current.replace((user, period, Vec::new())))?;
                        }
                        if let (Some((_, _, lines)), Some(k), Some(c), Some(amount)) = (&mut current, k, c, amount) {
                            lines.push($crate::storage::sql::line_from_parts(&k, a, c, amount, r, m)?);
                        }
                    }
                    finish(current)?;
                }
                Ok(out)
            }


                async fn goal_links(&self, rows: &[$crate::storage::sql::GoalRow]) -> anyhow::Result<$crate::storage::sql::LinkMap> {
            let mut links = $crate::storage::sql::LinkMap::new();
            // Many goals: one pass over every link beats many lookups by id.
            if rows.len() > 4 * $crate::storage::sql::KEY_CHUNK {
                let wanted: std::collections::HashSet<&str> = rows.iter().map(|r| r.id()).collect();
                let all: Vec<(String, String, String)> =
                    sqlx::query_as("SELECT goal_id, link_kind, value FROM goal_links ORDER BY goal_id, link_kind, value")
                        .fetch_all(&self.pool)
                        .await?;
                for (goal, kind, value) in all.into_iter().filter(|(g, _, _)| wanted.contains(g.as_str())) {
                    let entry = links.entry(goal).or_default();
                    if kind == "account" {
                        entry.accounts.push(value);
                    } else {
                        entry.categories.push(value);
                    }
                }
                return Ok(links);
            }
            for chunk in rows.chunks($crate::storage::sql::KEY_CHUNK) {
                let mut q = sqlx::QueryBuilder::<$db>::new("SELECT goal_id, link_kind, value FROM goal_links WHERE goal_id IN (");
                let mut list = q.separated(", ");
                for r in chunk {
                    list.push_bind(r.id());
                }
                q.push(") ORDER BY goal_id, link_kind, value");
                let found: Vec<(String, String, String)> =
                    q.build_query_as().persistent(chunk.len() == $crate::storage::sql::KEY_CHUNK).fetch_all(&self.pool).await?;
                for (goal, kind, value) in found {
                    let entry = links.entry(goal).or_default();
                    if kind == "account" {
                        entry.accounts.push(value);
                    } else {
                        entry.categories.push(value);
                    }
                }
            }
            Ok(links)
        }

                /// Writes goals (insert or replace) and replaces their links, inside `tx`.
                async fn write_goals(tx: &mut sqlx::Transaction<'static, $db>, goals: &[$crate::domain::Goal]) -> anyhow::Result<()> {
            // 19 columns: 100 goals a statement stays far below both parameter limits.
            for chunk in goals.chunks(100) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO goals (id, user_id, name, description, goal_type, target_value, target_date, start_date, \
                     original_balance, is_recurring, recurrence_period, tracking_frequency, reminder_enabled, reminder_day, \
                     status, template_id, completed_at, created_at, updated_at) ",
                );
                q.push_values(chunk, |mut row, g| {
                    row.push_bind(g.id.as_str())
                        .push_bind(g.user_id.as_str())
                        .push_bind(g.name.as_str())
                        .push_bind(g.description.as_deref())
                        .push_bind(g.goal_type.as_str())
                        .push_bind(g.target.cents())
                        .push_bind(g.target_date)
                        .push_bind(g.start_date)
                        .push_bind(g.original_balance.map($crate::domain::Money::cents))
                        .push_bind(g.is_recurring)
                        .push_bind(g.recurrence_period.map(|p| p.as_str()))
                        .push_bind(g.tracking_frequency.as_str())
                        .push_bind(g.reminder_enabled)
                        .push_bind(i64::from(g.reminder_day))
                        .push_bind(g.status.as_str())
                        .push_bind(g.template_id.as_deref())
                        .push_bind(g.completed_at)
                        .push_bind(g.created_at)
                        .push_bind(g.updated_at);
                });
                q.push(
                    " ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, name = excluded.name, \
                     description = excluded.description, goal_type = excluded.goal_type, target_value = excluded.target_value, \
                     target_date = excluded.target_date, start_date = excluded.start_date, \
                     original_balance = excluded.original_balance, is_recurring = excluded.is_recurring, \
                     recurrence_period = excluded.recurrence_period, tracking_frequency = excluded.tracking_frequency, \
                     reminder_enabled = excluded.reminder_enabled, reminder_day = excluded.reminder_day, \
                     status = excluded.status, template_id = excluded.template_id, completed_at = excluded.completed_at, \
                     updated_at = excluded.updated_at",
                );
                q.build().persistent(chunk.len() == 100).execute(&mut **tx).await?;

                let mut q = sqlx::QueryBuilder::<$db>::new("DELETE FROM goal_links WHERE goal_id IN (");
                let mut list = q.separated(", ");
                for g in chunk {
                    list.push_bind(g.id.as_str());
                }
                q.push(")");
                q.build().persistent(false).execute(&mut **tx).await?;

                let links: Vec<(&str, &str, &str)> = chunk
                    .iter()
                    .flat_map(|g| {
                        let accounts = g.links.accounts.iter().map(|a| (g.id.as_str(), "account", a.as_str()));
                        let categories = g.links.categories.iter().map(|c| (g.id.as_str(), "category", c.as_str()));
                        accounts.chain(categories)
                    })
                    .collect();
                for part in links.chunks(1000) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO goal_links (goal_id, link_kind, value) ");
                    q.push_values(part, |mut row, (goal, kind, value)| {
                        row.push_bind(*goal).push_bind(*kind).push_bind(*value);
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().persistent(false).execute(&mut **tx).await?;
                }
            }
            Ok(())
        }

                async fn insert_progress(
                    tx: &mut sqlx::Transaction<'static, $db>,
                    entries: &[$crate::domain::goal::NewProgress],
                    now: chrono::DateTime<chrono::Utc>,
                ) -> anyhow::Result<()> {
            for chunk in entries.chunks(500) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO goal_progress (goal_id, period, source, value, contribution, progress_ratio, on_track, \
                     snapshot_id, note, recorded_at, off_track_streak, debt_seen) ",
                );
                q.push_values(chunk, |mut row, e| {
                    row.push_bind(e.goal_id.as_str())
                        .push_bind(e.period.to_string())
                        .push_bind(e.source.as_str())
                        .push_bind(e.value.cents())
                        .push_bind(e.contribution.cents())
                        .push_bind(if e.progress.is_finite() { e.progress } else { 0.0 })
                        .push_bind(e.on_track)
                        .push_bind(e.snapshot_id)
                        .push_bind(e.note.as_deref())
                        .push_bind(now)
                        .push_bind(i64::from(e.off_track_streak))
                        .push_bind($crate::storage::sql::debt_seen_text(&e.debt_seen));
                });
                // A month stored twice (two runs racing) keeps its first entry.
                q.push(" ON CONFLICT DO NOTHING");
                q.build().persistent(chunk.len() == 500).execute(&mut **tx).await?;
            }
            Ok(())
        }
        }
    };
}

pub(super) use impl_goal_sql;
