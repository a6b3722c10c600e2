//! The SQL both backends share. sqlx accepts `$N` placeholders on SQLite as on
//! PostgreSQL, and everything here is in the dialect both speak, so one body
//! serves both; `impl_storage!` instantiates it for a backend's pool type.
//! What differs lives in the backend modules (how a write transaction starts).
//! The goal and progress helpers both backends build on are in [`super::goal_sql`]; the row types
//! and their conversions are in [`super::rows`], re-exported here so the macro's
//! `$crate::storage::sql::...` paths name one module.

pub(super) use super::rows::*;

/// Implements [`Storage`](super::Storage) for `$store`, whose `pool` field is a
/// `sqlx::Pool<$db>` and which has `async fn begin_write(&self)`.
macro_rules! impl_storage {
    ($store:ty, $db:ty, $backend:expr, $migrator:expr) => {
        impl $crate::storage::Storage for $store {
            fn backend(&self) -> $crate::storage::Backend {
                $backend
            }

            async fn migrate(&self) -> anyhow::Result<()> {
                use anyhow::Context as _;
                $migrator
                    .run(&self.pool)
                    .await
                    .context("applying database migrations")
            }

            async fn close(&self) {
                self.before_close().await;
                self.pool.close().await;
            }

            async fn add_user(
                &self,
                user: &$crate::domain::User,
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<$crate::storage::AddOutcome> {
                let done = sqlx::query(
                    "INSERT INTO users (id, email, display_name, timezone, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO NOTHING",
                )
                .bind(user.id.as_str())
                .bind(user.email.as_ref().map(|e| e.as_str()))
                .bind(user.display_name.as_deref())
                .bind(user.timezone.name())
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(if done.rows_affected() == 1 {
                    $crate::storage::AddOutcome::Created
                } else {
                    $crate::storage::AddOutcome::AlreadyExists
                })
            }

            async fn upsert_users(
                &self,
                users: &[$crate::domain::User],
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<$crate::storage::UpsertCounts> {
                let mut tx = self.begin_write().await?;
                let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
                let mut existing = std::collections::HashSet::new();
                for chunk in ids.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("SELECT id FROM users WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    let full = chunk.len() == $crate::storage::sql::KEY_CHUNK;
                    for id in q
                        .build_query_scalar::<String>()
                        .persistent(full)
                        .fetch_all(&mut *tx)
                        .await?
                    {
                        existing.insert(id);
                    }
                }
                for chunk in users.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = $crate::storage::sql::insert_users::<$db>(
                        chunk,
                        now,
                        "DO UPDATE SET email = excluded.email, display_name = excluded.display_name, \
                         timezone = excluded.timezone, updated_at = excluded.updated_at",
                    );
                    q.build()
                        .persistent(chunk.len() == $crate::storage::sql::KEY_CHUNK)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                let updated = users.iter().filter(|u| existing.contains(u.id.as_str())).count();
                Ok($crate::storage::UpsertCounts {
                    created: users.len() - updated,
                    updated,
                })
            }

            async fn list_users(&self) -> anyhow::Result<Vec<$crate::domain::User>> {
                let rows: Vec<(String, Option<String>, Option<String>, String)> =
                    sqlx::query_as("SELECT id, email, display_name, timezone FROM users ORDER BY id")
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter()
                    .map(|(id, email, name, tz)| $crate::storage::sql::user_from_parts(id, email, name, tz))
                    .collect()
            }

            async fn users_after(&self, after: &str, limit: i64) -> anyhow::Result<Vec<$crate::domain::User>> {
                let rows: Vec<(String, Option<String>, Option<String>, String)> = sqlx::query_as(
                    "SELECT id, email, display_name, timezone FROM users WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(id, email, name, tz)| $crate::storage::sql::user_from_parts(id, email, name, tz))
                    .collect()
            }

            async fn get_user(&self, id: &$crate::domain::UserId) -> anyhow::Result<Option<$crate::domain::User>> {
                let row: Option<(String, Option<String>, Option<String>, String)> =
                    sqlx::query_as("SELECT id, email, display_name, timezone FROM users WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(|(id, email, name, tz)| $crate::storage::sql::user_from_parts(id, email, name, tz))
                    .transpose()
            }

            async fn known_user_ids(&self, ids: &[&str]) -> anyhow::Result<std::collections::HashSet<String>> {
                let mut known = std::collections::HashSet::new();
                for chunk in ids.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("SELECT id FROM users WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    let full = chunk.len() == $crate::storage::sql::KEY_CHUNK;
                    known.extend(
                        q.build_query_scalar::<String>()
                            .persistent(full)
                            .fetch_all(&self.pool)
                            .await?,
                    );
                }
                Ok(known)
            }

            async fn find_ingested_file(&self, sha256: &str) -> anyhow::Result<Option<$crate::storage::IngestedFile>> {
                let row: Option<(i64, String, chrono::DateTime<chrono::Utc>)> =
                    sqlx::query_as("SELECT id, file_name, ingested_at FROM ingested_files WHERE sha256 = $1")
                        .bind(sha256)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(
                    row.map(|(id, file_name, ingested_at)| $crate::storage::IngestedFile {
                        id,
                        file_name,
                        ingested_at,
                    }),
                )
            }

            async fn ingest_file(
                &self,
                batch: $crate::storage::IngestBatch<'_>,
                lines: &mut $crate::storage::LineChunks,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::storage::IngestOutcome, $crate::storage::IngestError> {
                let goals = $crate::storage::BatchGoals {
                    progress: batch.progress,
                    completed: batch.completed,
                    alerts: batch.alerts,
                };
                self.ingest_file_planned(batch, lines, std::future::ready(Ok(goals)), now)
                    .await
                    .map(|(outcome, _)| outcome)
            }

            async fn ingest_file_planned<
                P: $crate::storage::GoalWrites,
                F: std::future::Future<Output = anyhow::Result<P>> + Send,
            >(
                &self,
                batch: $crate::storage::IngestBatch<'_>,
                lines: &mut $crate::storage::LineChunks,
                planned: F,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<($crate::storage::IngestOutcome, P), $crate::storage::IngestError> {
                let $crate::storage::IngestBatch { file, create_users, snapshots, .. } = batch;
                use $crate::storage::IngestError;
                use $crate::storage::sql::{KEY_CHUNK, to_i64};
                let db = |e: sqlx::Error| IngestError::Database(e.into());
                let started = std::time::Instant::now();
                let mut tx = self.begin_write().await.map_err(IngestError::Database)?;

                let file_id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO ingested_files \
                     (sha256, file_name, size_bytes, line_count, snapshots, corrections, ingested_at) \
                     VALUES ($1, $2, $3, $4, 0, 0, $5) ON CONFLICT (sha256) DO NOTHING RETURNING id",
                )
                .bind(&file.sha256)
                .bind(&file.file_name)
                .bind(to_i64(file.size_bytes))
                .bind(to_i64(file.line_count))
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                let Some(file_id) = file_id else {
                    return Err(IngestError::AlreadyIngested);
                };

                for chunk in create_users.chunks(KEY_CHUNK) {
                    let mut q = $crate::storage::sql::insert_users::<$db>(chunk, now, "DO NOTHING");
                    q.build()
                        .persistent(chunk.len() == KEY_CHUNK)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }

                // The current version of each (user, period) this file corrects.
                let periods: Vec<String> = snapshots.iter().map(|s| s.period.to_string()).collect();
                let mut index: std::collections::HashMap<(&str, &str), usize> =
                    std::collections::HashMap::with_capacity(snapshots.len());
                for (i, s) in snapshots.iter().enumerate() {
                    index.insert((s.user_id.as_str(), periods[i].as_str()), i);
                }
                let mut previous: Vec<Option<(i64, i64)>> = vec![None; snapshots.len()];
                for (n, chunk) in snapshots.chunks(KEY_CHUNK).enumerate() {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT s.id, s.user_id, s.period, s.version FROM snapshots s JOIN (",
                    );
                    q.push_values(chunk.iter().enumerate(), |mut row, (i, s)| {
                        row.push_bind(s.user_id.as_str())
                            .push_bind(periods[n * KEY_CHUNK + i].as_str());
                    });
                    q.push(") AS k ON s.user_id = k.column1 AND s.period = k.column2 WHERE s.is_current");
                    let rows: Vec<(i64, String, String, i64)> = q
                        .build_query_as()
                        .persistent(chunk.len() == KEY_CHUNK)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db)?;
                    for (id, user, period, version) in rows {
                        if let Some(&i) = index.get(&(user.as_str(), period.as_str())) {
                            previous[i] = Some((id, version));
                        }
                    }
                }
                let superseded: Vec<i64> = previous.iter().flatten().map(|(id, _)| *id).collect();
                for chunk in superseded.chunks(KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE snapshots SET is_current = FALSE WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    q.build()
                        .persistent(chunk.len() == KEY_CHUNK)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }

                let versions_ms = started.elapsed().as_millis();
                let rows: Vec<$crate::storage::sql::SnapshotInsert<'_>> = snapshots
                    .iter()
                    .enumerate()
                    .map(|(i, snapshot)| $crate::storage::sql::SnapshotInsert {
                        snapshot,
                        period: &periods[i],
                        version: previous[i].map_or(1, |(_, v)| v + 1),
                    })
                    .collect();
                let ids = self.insert_snapshots(&mut tx, file_id, &rows, now).await?;

                let snapshots_ms = started.elapsed().as_millis();
                let stored_lines = self.insert_lines(&mut tx, &ids, lines).await?;
                let lines_ms = started.elapsed().as_millis();
                let goals = planned.await.map_err(IngestError::Database)?;
                let (progress, completed, alerts) = (goals.progress(), goals.completed(), goals.alerts());
                let planned_ms = started.elapsed().as_millis();

                self.insert_file_progress(&mut tx, progress, &ids, now).await?;
                let progress_ms = started.elapsed().as_millis();
                for chunk in completed.chunks(KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE goals SET status = 'completed', completed_at = ");
                    q.push_bind(now).push(", updated_at = ").push_bind(now);
                    q.push(" WHERE status = 'active' AND id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(id.as_str());
                    }
                    q.push(")");
                    q.build().persistent(false).execute(&mut *tx).await.map_err(db)?;
                }

                Self::insert_alerts(&mut tx, alerts, now).await.map_err(IngestError::Database)?;
                let alerts_ms = started.elapsed().as_millis();

                sqlx::query("UPDATE ingested_files SET snapshots = $1, corrections = $2 WHERE id = $3")
                    .bind(to_i64(snapshots.len() as u64))
                    .bind(to_i64(superseded.len() as u64))
                    .bind(file_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                self.checkpoint_in_background();
                tracing::debug!(
                    versions_ms,
                    snapshots_ms,
                    lines_ms,
                    planned_ms,
                    progress_ms,
                    alerts_ms,
                    commit_ms = started.elapsed().as_millis(),
                    "ingest transaction (cumulative milliseconds)"
                );
                let outcome = $crate::storage::IngestOutcome {
                    file_id,
                    snapshots: snapshots.len(),
                    corrections: superseded.len(),
                    lines: stored_lines,
                };
                Ok((outcome, goals))
            }

            async fn list_snapshots(
                &self,
                user: Option<&$crate::domain::UserId>,
            ) -> anyhow::Result<Vec<$crate::storage::SnapshotRow>> {
                let rows: Vec<SnapshotRowTuple> = sqlx::query_as(&format!(
                    "{SNAPSHOT_ROW_SELECT} WHERE ($1 IS NULL OR s.user_id = $1) \
                     ORDER BY s.period DESC, s.user_id, s.version DESC"
                ))
                .bind(user.map(|u| u.as_str()))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(snapshot_row).collect()
            }

            async fn get_snapshot(
                &self,
                user: &$crate::domain::UserId,
                period: $crate::domain::Period,
            ) -> anyhow::Result<Option<$crate::storage::StoredSnapshot>> {
                let period = period.to_string();
                let row: Option<SnapshotRowTuple> = sqlx::query_as(&format!(
                    "{SNAPSHOT_ROW_SELECT} WHERE s.user_id = $1 AND s.period = $2 AND s.is_current"
                ))
                .bind(user.as_str())
                .bind(&period)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let row = snapshot_row(row)?;
                let versions: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM snapshots WHERE user_id = $1 AND period = $2")
                        .bind(user.as_str())
                        .bind(&period)
                        .fetch_one(&self.pool)
                        .await?;
                let raw: Vec<(String, Option<String>, String, i64, Option<String>, Option<i64>)> = sqlx::query_as(
                    "SELECT kind, account, category, amount, rate, min_payment FROM snapshot_lines \
                     WHERE snapshot_id = $1 ORDER BY line_no",
                )
                .bind(row.id)
                .fetch_all(&self.pool)
                .await?;
                let lines = raw
                    .into_iter()
                    .map(|(k, a, c, amount, r, m)| $crate::storage::sql::line_from_parts(&k, a, c, amount, r, m))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let summary = $crate::domain::SnapshotSummary::of_lines(&lines)?;
                Ok(Some($crate::storage::StoredSnapshot {
                    row,
                    versions,
                    lines,
                    summary,
                }))
            }

            async fn user_snapshots(
                &self,
                user: &$crate::domain::UserId,
                from: $crate::domain::Period,
            ) -> anyhow::Result<Vec<(i64, $crate::domain::Period, $crate::domain::SnapshotSummary)>> {
                let heads: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT id, period FROM snapshots WHERE user_id = $1 AND is_current AND period >= $2 ORDER BY period",
                )
                .bind(user.as_str())
                .bind(from.to_string())
                .fetch_all(&self.pool)
                .await?;
                let raw: Vec<(i64, String, Option<String>, String, i64, Option<String>, Option<i64>)> = sqlx::query_as(
                    "SELECT l.snapshot_id, l.kind, l.account, l.category, l.amount, l.rate, l.min_payment \
                     FROM snapshot_lines l JOIN snapshots s ON s.id = l.snapshot_id \
                     WHERE s.user_id = $1 AND s.is_current AND s.period >= $2 ORDER BY l.snapshot_id, l.line_no",
                )
                .bind(user.as_str())
                .bind(from.to_string())
                .fetch_all(&self.pool)
                .await?;
                let mut by_snapshot: std::collections::HashMap<i64, Vec<$crate::domain::SnapshotLine>> =
                    std::collections::HashMap::new();
                for (id, k, a, c, amount, r, m) in raw {
                    let line = $crate::storage::sql::line_from_parts(&k, a, c, amount, r, m)?;
                    by_snapshot.entry(id).or_default().push(line);
                }
                heads
                    .into_iter()
                    .map(|(id, period)| {
                        let lines = by_snapshot.remove(&id).unwrap_or_default();
                        let summary = $crate::domain::SnapshotSummary::of_lines(&lines)?;
                        Ok((id, $crate::storage::sql::parse_period(&period)?, summary))
                    })
                    .collect()
            }

            async fn snapshots_at(
                &self,
                months: &[(&str, $crate::domain::Period)],
            ) -> anyhow::Result<
                std::collections::HashMap<(String, $crate::domain::Period), (i64, $crate::domain::SnapshotSummary)>,
            > {
                let wanted: std::collections::HashSet<(&str, $crate::domain::Period)> = months.iter().copied().collect();
                let mut heads: Vec<(i64, String, $crate::domain::Period)> = Vec::new();
                let users: Vec<&str> = {
                    let mut users: Vec<&str> = months.iter().map(|(u, _)| *u).collect();
                    users.sort_unstable();
                    users.dedup();
                    users
                };
                let mut periods: Vec<String> = months.iter().map(|(_, p)| p.to_string()).collect();
                periods.sort_unstable();
                periods.dedup();
                for chunk in users.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT id, user_id, period FROM snapshots WHERE is_current AND user_id IN (",
                    );
                    let mut list = q.separated(", ");
                    for u in chunk {
                        list.push_bind(*u);
                    }
                    q.push(") AND period IN (");
                    let mut list = q.separated(", ");
                    for p in &periods {
                        list.push_bind(p.as_str());
                    }
                    q.push(")");
                    let rows: Vec<(i64, String, String)> = q.build_query_as().persistent(false).fetch_all(&self.pool).await?;
                    for (id, user, period) in rows {
                        let period = $crate::storage::sql::parse_period(&period)?;
                        // The query asks for every pairing of these users and months: keep the ones wanted.
                        if wanted.contains(&(user.as_str(), period)) {
                            heads.push((id, user, period));
                        }
                    }
                }
                let mut by_snapshot: std::collections::HashMap<i64, Vec<$crate::domain::SnapshotLine>> =
                    std::collections::HashMap::new();
                for chunk in heads.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT snapshot_id, kind, account, category, amount, rate, min_payment FROM snapshot_lines \
                         WHERE snapshot_id IN (",
                    );
                    let mut list = q.separated(", ");
                    for (id, _, _) in chunk {
                        list.push_bind(*id);
                    }
                    q.push(") ORDER BY snapshot_id, line_no");
                    let raw: Vec<(i64, String, Option<String>, String, i64, Option<String>, Option<i64>)> =
                        q.build_query_as().persistent(false).fetch_all(&self.pool).await?;
                    for (id, k, a, c, amount, r, m) in raw {
                        let line = $crate::storage::sql::line_from_parts(&k, a, c, amount, r, m)?;
                        by_snapshot.entry(id).or_default().push(line);
                    }
                }
                heads
                    .into_iter()
                    .map(|(id, user, period)| {
                        let lines = by_snapshot.remove(&id).unwrap_or_default();
                        let summary = $crate::domain::SnapshotSummary::of_lines(&lines)?;
                        Ok(((user, period), (id, summary)))
                    })
                    .collect()
            }

            async fn add_goal(&self, goal: &$crate::domain::Goal) -> anyhow::Result<$crate::storage::AddOutcome> {
                let mut tx = self.begin_write().await?;
                let exists: Option<String> = sqlx::query_scalar("SELECT id FROM goals WHERE id = $1")
                    .bind(goal.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_some() {
                    return Ok($crate::storage::AddOutcome::AlreadyExists);
                }
                Self::write_goals(&mut tx, std::slice::from_ref(goal)).await?;
                tx.commit().await?;
                Ok($crate::storage::AddOutcome::Created)
            }

            async fn upsert_goals(&self, goals: &[$crate::domain::Goal]) -> anyhow::Result<$crate::storage::UpsertCounts> {
                let mut tx = self.begin_write().await?;
                let mut existing = std::collections::HashSet::new();
                for chunk in goals.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("SELECT id FROM goals WHERE id IN (");
                    let mut list = q.separated(", ");
                    for g in chunk {
                        list.push_bind(g.id.as_str());
                    }
                    q.push(")");
                    let full = chunk.len() == $crate::storage::sql::KEY_CHUNK;
                    existing.extend(q.build_query_scalar::<String>().persistent(full).fetch_all(&mut *tx).await?);
                }
                Self::write_goals(&mut tx, goals).await?;
                tx.commit().await?;
                let updated = goals.iter().filter(|g| existing.contains(g.id.as_str())).count();
                Ok($crate::storage::UpsertCounts { created: goals.len() - updated, updated })
            }

            async fn update_goal(&self, goal: &$crate::domain::Goal) -> anyhow::Result<bool> {
                let mut tx = self.begin_write().await?;
                let exists: Option<String> = sqlx::query_scalar("SELECT id FROM goals WHERE id = $1")
                    .bind(goal.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Ok(false);
                }
                Self::write_goals(&mut tx, std::slice::from_ref(goal)).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn delete_goal(&self, id: &$crate::domain::GoalId) -> anyhow::Result<bool> {
                let mut tx = self.begin_write().await?;
                // Children first: alerts and deliveries cascade from goals, but
                // SQLite only cascades with foreign keys on, which they are.
                let done = sqlx::query("DELETE FROM goals WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn get_goal(&self, id: &$crate::domain::GoalId) -> anyhow::Result<Option<$crate::domain::Goal>> {
                let rows: Vec<$crate::storage::sql::GoalRow> =
                    sqlx::query_as(&format!("{} WHERE id = $1", $crate::storage::sql::GOAL_SELECT))
                        .bind(id.as_str())
                        .fetch_all(&self.pool)
                        .await?;
                let links = self.goal_links(&rows).await?;
                Ok($crate::storage::sql::goals_from_rows(rows, links)?.into_iter().next())
            }

            async fn list_goals(
                &self,
                user: Option<&$crate::domain::UserId>,
                status: Option<$crate::domain::GoalStatus>,
            ) -> anyhow::Result<Vec<$crate::domain::Goal>> {
                let (rows, links) = self.read_goals(user, status).await?;
                $crate::storage::sql::goals_from_rows(rows, links)
            }

            async fn progress_history(
                &self,
                goal: &$crate::domain::GoalId,
            ) -> anyhow::Result<Vec<$crate::domain::goal::ProgressEntry>> {
                let rows: Vec<$crate::storage::sql::ProgressRow> = sqlx::query_as(
                    "SELECT id, goal_id, period, value, contribution, progress_ratio, on_track, off_track_streak, \
                     principal_paid, interest_paid, source, snapshot_id, recorded_at, note FROM goal_progress WHERE goal_id = $1 \
                     ORDER BY period, source, id",
                )
                .bind(goal.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map($crate::storage::sql::ProgressRow::into_entry).collect()
            }

            async fn progress_histories(
                &self,
                goals: &[&str],
            ) -> anyhow::Result<std::collections::HashMap<String, Vec<$crate::domain::goal::ProgressEntry>>> {
                self.read_progress_histories(goals).await
            }

            async fn latest_snapshots(
                &self,
                users: &[&str],
            ) -> anyhow::Result<
                std::collections::HashMap<String, ($crate::domain::Period, $crate::domain::SnapshotSummary)>,
            > {
                self.read_latest_snapshots(users).await
            }

            async fn add_progress(
                &self,
                entry: &$crate::domain::goal::NewProgress,
                alerts: &[$crate::storage::PlannedAlert],
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO goal_progress (goal_id, period, source, value, contribution, progress_ratio, \
                     on_track, snapshot_id, note, recorded_at, off_track_streak) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (goal_id, period, source) DO UPDATE SET value = excluded.value, \
                     contribution = excluded.contribution, progress_ratio = excluded.progress_ratio, \
                     on_track = excluded.on_track, note = excluded.note, recorded_at = excluded.recorded_at, \
                     off_track_streak = excluded.off_track_streak",
                )
                .bind(entry.goal_id.as_str())
                .bind(entry.period.to_string())
                .bind(entry.source.as_str())
                .bind(entry.value.cents())
                .bind(entry.contribution.cents())
                .bind(if entry.progress.is_finite() { entry.progress } else { 0.0 })
                .bind(entry.on_track)
                .bind(entry.snapshot_id)
                .bind(entry.note.as_deref())
                .bind(now)
                .bind(i64::from(entry.off_track_streak))
                .execute(&mut *tx)
                .await?;
                Self::insert_alerts(&mut tx, alerts, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn replace_sync_progress(
                &self,
                goal: &$crate::domain::GoalId,
                from: $crate::domain::Period,
                entries: &[$crate::domain::goal::NewProgress],
                alerts: &[$crate::storage::PlannedAlert],
                completed_at: Option<chrono::DateTime<chrono::Utc>>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM goal_progress WHERE goal_id = $1 AND source = 'budget_sync' AND period >= $2")
                    .bind(goal.as_str())
                    .bind(from.to_string())
                    .execute(&mut *tx)
                    .await?;
                Self::insert_progress(&mut tx, entries, now).await?;
                Self::insert_alerts(&mut tx, alerts, now).await?;
                if let Some(at) = completed_at {
                    sqlx::query(
                        "UPDATE goals SET status = 'completed', completed_at = $1, updated_at = $2 \
                         WHERE id = $3 AND status = 'active'",
                    )
                    .bind(at)
                    .bind(now)
                    .bind(goal.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn users_with_goals(
                &self,
                status: $crate::domain::GoalStatus,
            ) -> anyhow::Result<std::collections::HashSet<String>> {
                let ids: Vec<String> = sqlx::query_scalar("SELECT DISTINCT user_id FROM goals WHERE status = $1")
                    .bind(status.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                Ok(ids.into_iter().collect())
            }

            async fn goals_of(
                &self,
                users: &[&str],
                status: $crate::domain::GoalStatus,
            ) -> anyhow::Result<Vec<$crate::domain::Goal>> {
                let mut rows: Vec<$crate::storage::sql::GoalRow> = Vec::new();
                for chunk in users.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new($crate::storage::sql::GOAL_SELECT);
                    q.push(" WHERE status = ");
                    q.push_bind(status.as_str());
                    q.push(" AND user_id IN (");
                    let mut list = q.separated(", ");
                    for u in chunk {
                        list.push_bind(*u);
                    }
                    q.push(") ORDER BY user_id, id");
                    let full = chunk.len() == $crate::storage::sql::KEY_CHUNK;
                    rows.extend(q.build_query_as::<$crate::storage::sql::GoalRow>().persistent(full).fetch_all(&self.pool).await?);
                }
                let links = self.goal_links(&rows).await?;
                $crate::storage::sql::goals_from_rows(rows, links)
            }

            async fn sync_states(
                &self,
                goals: &[&str],
            ) -> anyhow::Result<std::collections::HashMap<String, $crate::storage::SyncState>> {
                let mut states: std::collections::HashMap<String, $crate::storage::SyncState> =
                    std::collections::HashMap::new();
                // Many goals: one pass over every goal's latest entries beats
                // many lookups by id (the filter keeps the ones asked for).
                if goals.len() > 4 * $crate::storage::sql::KEY_CHUNK {
                    let wanted: std::collections::HashSet<&str> = goals.iter().copied().collect();
                    let rows: Vec<$crate::storage::sql::SyncRow> = sqlx::query_as(
                        "SELECT goal_id, period, value, contribution, progress_ratio, on_track, off_track_streak, debt_seen, \
                         rn_desc, rn_asc FROM (SELECT goal_id, period, value, contribution, progress_ratio, on_track, \
                         off_track_streak, debt_seen, ROW_NUMBER() OVER (PARTITION BY goal_id ORDER BY period DESC) AS rn_desc, \
                         ROW_NUMBER() OVER (PARTITION BY goal_id ORDER BY period ASC) AS rn_asc FROM goal_progress \
                         WHERE source = 'budget_sync') AS t WHERE rn_desc <= 3 OR rn_asc = 1 ORDER BY goal_id, period",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    for row in rows.into_iter().filter(|r| wanted.contains(r.0.as_str())) {
                        $crate::storage::sql::add_sync_row(&mut states, row)?;
                    }
                    return Ok(states);
                }
                for chunk in goals.chunks($crate::storage::sql::KEY_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT goal_id, period, value, contribution, progress_ratio, on_track, off_track_streak, debt_seen, \
                         rn_desc, rn_asc FROM (SELECT goal_id, period, value, contribution, progress_ratio, on_track, \
                         off_track_streak, debt_seen, ROW_NUMBER() OVER (PARTITION BY goal_id ORDER BY period DESC) AS rn_desc, \
                         ROW_NUMBER() OVER (PARTITION BY goal_id ORDER BY period ASC) AS rn_asc FROM goal_progress \
                         WHERE source = 'budget_sync' AND goal_id IN (",
                    );
                    let mut list = q.separated(", ");
                    for g in chunk {
                        list.push_bind(*g);
                    }
                    q.push(")) AS t WHERE rn_desc <= 3 OR rn_asc = 1 ORDER BY goal_id, period");
                    let full = chunk.len() == $crate::storage::sql::KEY_CHUNK;
                    let rows: Vec<$crate::storage::sql::SyncRow> =
                        q.build_query_as().persistent(full).fetch_all(&self.pool).await?;
                    for row in rows {
                        $crate::storage::sql::add_sync_row(&mut states, row)?;
                    }
                }
                Ok(states)
            }
        }

        super::goal_sql::impl_goal_sql!($store, $db);
    };
}

pub(super) use impl_storage;
