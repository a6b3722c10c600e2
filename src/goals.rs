//! Keeping goals' progress in step with stored snapshots: the shell around
//! [`crate::domain::tracking`]. A goal's budget_sync entries are always what
//! tracking its user's current snapshots from its start gives, so creating a
//! goal backfills, and a correction or an out-of-order month recomputes.

use crate::domain::goal::{Goal, GoalStatus};
use crate::domain::preferences::Preferences;
use crate::domain::tracking::{AlertMode, Alerting, Prior, Raised, SnapshotAt, track};
use crate::domain::{GoalId, GoalType, Period, SnapshotSummary, UserId};
use crate::storage::{AlertStorage, FileProgress, NewSnapshot, PlannedAlert, SyncState};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Logs the entries that counted a missing linked debt account as paid off.
fn log_paid_off(entries: &[crate::domain::goal::NewProgress]) {
    for e in entries.iter().filter(|e| e.note.is_some()) {
        tracing::info!(goal = %e.goal_id, period = %e.period, "linked debt account missing from the snapshot: counted as paid off");
    }
}

/// What a resync did to one goal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resynced {
    pub entries: usize,
    pub completed: bool,
    pub alerts: usize,
}

/// Turns raised alerts into stored ones: whether each is emailed follows
/// its user's preferences, read once per run.
#[derive(Debug, Clone, Default)]
pub struct Alerter {
    /// `[email] base_url`, for action links.
    pub base_url: String,
    prefs: HashMap<String, Preferences>,
}

impl Alerter {
    pub fn new(base_url: &str) -> Alerter {
        Alerter {
            base_url: base_url.to_owned(),
            prefs: HashMap::new(),
        }
    }

    /// The alerts to store for `raised` (goal, user, alert), each emailed when
    /// its user's preferences say so.
    pub async fn plan<S: AlertStorage>(
        &mut self,
        store: &S,
        raised: Vec<(GoalId, UserId, Raised)>,
    ) -> anyhow::Result<Vec<PlannedAlert>> {
        let unknown: Vec<&str> = raised
            .iter()
            .map(|(_, u, _)| u.as_str())
            .filter(|u| !self.prefs.contains_key(*u))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !unknown.is_empty() {
            let found = store.preferences(&unknown).await?;
            self.prefs.extend(found);
        }
        Ok(raised
            .into_iter()
            .map(|(goal_id, user_id, r)| {
                let email = self
                    .prefs
                    .get(user_id.as_str())
                    .is_some_and(|p| p.emails(r.alert.alert_type));
                PlannedAlert {
                    goal_id,
                    user_id,
                    alert: r.alert,
                    card: r.card,
                    email,
                }
            })
            .collect())
    }
}

/// Recomputes a goal's budget_sync entries from its start (an active goal
/// only: paused, completed and abandoned goals are not synced). Alerts are
/// raised by the newest entry against the newest one before (so a backfill
/// or a correction raises what changed, never the whole history again).
pub async fn resync<S: AlertStorage>(
    store: &S,
    alerter: &mut Alerter,
    goal: &Goal,
    now: DateTime<Utc>,
) -> anyhow::Result<Resynced> {
    if goal.status != GoalStatus::Active {
        return Ok(Resynced::default());
    }
    let Some(start) = Period::of_date(goal.start_date) else {
        return Ok(Resynced::default());
    };
    // One month earlier too: the first entry's contribution is measured from it.
    let from = start.add_months(-1).unwrap_or(start);
    let snapshots = store.user_snapshots(&goal.user_id, from).await?;
    let at: Vec<SnapshotAt<'_>> = snapshots
        .iter()
        .map(|(id, period, summary)| SnapshotAt {
            snapshot_id: Some(*id),
            period: *period,
            summary,
        })
        .collect();
    let before = store.sync_states(&[goal.id.as_str()]).await?;
    let previous = before.get(goal.id.as_str()).and_then(|s| s.last_standing);
    let alerting = Alerting {
        mode: AlertMode::NewestAgainst(previous),
        base_url: &alerter.base_url,
    };
    let tracked = track(goal, Prior::default(), &at, Some(alerting));
    log_paid_off(&tracked.entries);
    let raised = tracked
        .alerts
        .into_iter()
        .map(|r| (goal.id.clone(), goal.user_id.clone(), r))
        .collect();
    let alerts = alerter.plan(store, raised).await?;
    let completed_at = tracked.completed_in.map(|_| now);
    // Replace every sync entry, not only those from the start: the start may
    // have moved later.
    store
        .replace_sync_progress(&goal.id, Period::MIN, &tracked.entries, &alerts, completed_at, now)
        .await?;
    if let Some(period) = tracked.completed_in {
        tracing::info!(goal = %goal.id, %period, "goal completed");
    }
    Ok(Resynced {
        entries: tracked.entries.len(),
        completed: tracked.completed_in.is_some(),
        alerts: alerts.len(),
    })
}

/// Recomputes every active goal of these users from their stored snapshots
/// (`goalkeeper goals sync`, the operator's repair). An inbox run does not
/// come here: it tracks new months with [`RunSync`].
pub async fn sync_users<S: AlertStorage>(
    store: &S,
    alerter: &mut Alerter,
    users: &[UserId],
    now: DateTime<Utc>,
) -> anyhow::Result<SyncSummary> {
    let mut summary = SyncSummary::default();
    for user in users {
        for goal in store.list_goals(Some(user), Some(GoalStatus::Active)).await? {
            let done = resync(store, alerter, &goal, now).await?;
            summary.goals += 1;
            summary.entries += done.entries;
            summary.completed += usize::from(done.completed);
            summary.alerts += done.alerts;
        }
    }
    Ok(summary)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncSummary {
    pub goals: usize,
    pub entries: usize,
    pub completed: usize,
    /// Alerts raised (stored only if new).
    pub alerts: usize,
}

/// Where tracking of one goal stands during a run.
#[derive(Debug, Clone)]
struct GoalTrack {
    prior: Prior,
    last_period: Option<Period>,
}

impl GoalTrack {
    fn from_state(goal: &Goal, state: Option<&SyncState>) -> GoalTrack {
        let Some(state) = state else {
            return GoalTrack {
                prior: Prior::default(),
                last_period: None,
            };
        };
        let last = state.recent.last();
        GoalTrack {
            prior: Prior {
                last_value: last.map(|(_, v, _)| *v),
                recent_contributions: state.recent.iter().map(|(_, _, c)| *c).collect(),
                baseline: (goal.goal_type == GoalType::ExpenseReduction)
                    .then_some(state.first_value)
                    .flatten(),
                // Entries exist, so the linked accounts were there to measure.
                seen_debt_accounts: goal.links.accounts.clone(),
                last_standing: state.last_standing,
            },
            last_period: last.map(|(p, _, _)| *p),
        }
    }
}

impl crate::storage::GoalWrites for FilePlan {
    fn progress(&self) -> &[FileProgress] {
        &self.progress
    }

    fn completed(&self) -> &[GoalId] {
        &self.completed
    }

    fn alerts(&self) -> &[PlannedAlert] {
        &self.alerts
    }
}

/// Sync during one inbox run: each file's new months are tracked from the
/// summaries its first pass built and the state cached from earlier files,
/// and stored in the file's own transaction. Goals whose stored entries go
/// past a file's months (a correction, a month arriving late) are recomputed
/// in full after the file is stored.
pub struct RunSync {
    /// Users with active goals when the run started: whose summaries to build.
    pub wanted: Arc<HashSet<String>>,
    pub alerter: Alerter,
    goals: HashMap<String, Vec<Arc<Goal>>>,
    tracks: HashMap<GoalId, GoalTrack>,
    /// The next file's plan, started while this one is stored (see [`RunSync::speculate`]).
    ahead: Option<(String, PendingPlan)>,
}

/// What sync will do with one file.
#[derive(Debug, Default)]
pub struct FilePlan {
    pub progress: Vec<FileProgress>,
    pub completed: Vec<GoalId>,
    /// Alerts the file's new entries raise.
    pub alerts: Vec<PlannedAlert>,
    /// Goals to recompute in full once the file is stored.
    pub resync: Vec<Arc<Goal>>,
    goals: usize,
    updates: Vec<(GoalId, GoalTrack)>,
    /// Completed goals by user, to drop from the run's cache.
    finished: Vec<(String, GoalId)>,
}

/// One user's snapshots in a file (indices, in period order) and their
/// active goals with where tracking stands.
struct UserWork {
    indices: Vec<usize>,
    goals: Vec<(Arc<Goal>, Option<GoalTrack>)>,
}

/// Alerts raised by tracking: (goal, user, alert).
type RaisedAlerts = Vec<(GoalId, UserId, Raised)>;

/// A file's plan whose tracking is under way (see [`RunSync::start_plan`]).
pub struct PendingPlan {
    job: tokio::task::JoinHandle<(FilePlan, RaisedAlerts)>,
}

impl PendingPlan {
    /// Waits for tracking and turns the alerts it raised into the ones to store.
    pub async fn finish<S: AlertStorage>(self, store: &S, alerter: &mut Alerter) -> anyhow::Result<FilePlan> {
        let (mut plan, raised) = self
            .job
            .await
            .map_err(|e| anyhow::anyhow!("goal tracking stopped: {e}"))?;
        plan.alerts = alerter.plan(store, raised).await?;
        Ok(plan)
    }
}

/// Tracks every goal of a file's users over their new snapshots.
fn track_file(
    work: Vec<UserWork>,
    periods: &[Period],
    summaries: &[Option<SnapshotSummary>],
    base_url: &str,
) -> (FilePlan, RaisedAlerts) {
    let mut plan = FilePlan::default();
    let mut raised = Vec::new();
    let alerting = Alerting {
        mode: AlertMode::EveryEntry,
        base_url,
    };
    for UserWork { indices, goals } in work {
        let first = periods[indices[0]];
        let at: Option<Vec<SnapshotAt<'_>>> = indices
            .iter()
            .map(|&i| {
                summaries.get(i)?.as_ref().map(|summary| SnapshotAt {
                    snapshot_id: None,
                    period: periods[i],
                    summary,
                })
            })
            .collect();
        for (goal, state) in goals {
            plan.goals += 1;
            let in_order = state
                .as_ref()
                .is_some_and(|t| t.last_period.is_none_or(|last| last < first));
            let (Some(at), true, Some(state)) = (&at, in_order, state) else {
                plan.resync.push(goal);
                continue;
            };
            let tracked = track(&goal, state.prior, at, Some(alerting));
            log_paid_off(&tracked.entries);
            raised.extend(
                tracked
                    .alerts
                    .into_iter()
                    .map(|r| (goal.id.clone(), goal.user_id.clone(), r)),
            );
            for entry in tracked.entries {
                // `at` and `indices` are in the same order: the entry's snapshot is found by period.
                let snapshot = indices.iter().copied().find(|&i| periods[i] == entry.period);
                if let Some(snapshot) = snapshot {
                    plan.progress.push(FileProgress { snapshot, entry });
                }
            }
            if tracked.completed_in.is_some() {
                plan.completed.push(goal.id.clone());
                plan.finished.push((goal.user_id.to_string(), goal.id.clone()));
            }
            let last_period = at.last().map(|a| a.period).or(state.last_period);
            plan.updates.push((
                goal.id.clone(),
                GoalTrack {
                    prior: tracked.prior,
                    last_period,
                },
            ));
        }
    }
    // In index order: each month adds an entry to every goal, and inserting
    // them sorted keeps SQLite's B-tree cursor close to where it was.
    plan.progress.sort_by(|a, b| a.entry.goal_id.cmp(&b.entry.goal_id));
    (plan, raised)
}

impl RunSync {
    pub async fn start<S: AlertStorage>(store: &S, alerter: Alerter) -> anyhow::Result<RunSync> {
        Ok(RunSync {
            wanted: Arc::new(store.users_with_active_goals().await?),
            alerter,
            goals: HashMap::new(),
            tracks: HashMap::new(),
            ahead: None,
        })
    }

    /// The plan [`speculate`](Self::speculate) started for the file `name`, if
    /// any; a plan started for another file is dropped (its goals are read
    /// from storage again when next needed).
    pub fn take_speculation(&mut self, name: &str) -> Option<PendingPlan> {
        match self.ahead.take() {
            Some((for_file, plan)) if for_file == name => Some(plan),
            _ => None,
        }
    }

    /// Called once `plan` (this file's) is computed, while the file is still
    /// being stored: starts tracking the next file (`name`, already read and
    /// valid) from where `plan` leaves its goals, so the tracking overlaps
    /// with storing this file instead of waiting for its commit. Only when
    /// nothing needs storage: every user of the next file has its goals and
    /// their tracks in memory, and this file recomputes no goal. The next
    /// file uses it only if this one commits ([`take_speculation`](Self::take_speculation)
    /// after [`committed`](Self::committed)); otherwise it is dropped.
    pub fn speculate(
        &mut self,
        plan: &FilePlan,
        name: &str,
        snapshots: &[NewSnapshot],
        summaries: &mut Vec<Option<SnapshotSummary>>,
    ) -> bool {
        self.ahead = None;
        if !plan.resync.is_empty() || snapshots.is_empty() {
            return false;
        }
        let by_user = self.by_user(snapshots);
        let updated: HashMap<&GoalId, &GoalTrack> = plan.updates.iter().map(|(id, t)| (id, t)).collect();
        let finished: HashSet<&GoalId> = plan.finished.iter().map(|(_, id)| id).collect();
        let ready = by_user.keys().all(|u| {
            self.goals.get(*u).is_some_and(|goals| {
                goals
                    .iter()
                    .all(|g| finished.contains(&g.id) || updated.contains_key(&g.id) || self.tracks.contains_key(&g.id))
            })
        });
        if !ready {
            return false;
        }
        let work: Vec<UserWork> = by_user
            .into_values()
            .map(|mut indices| {
                indices.sort_by_key(|&i| snapshots[i].period);
                let user = snapshots[indices[0]].user_id.as_str();
                let goals = self
                    .goals
                    .get(user)
                    .into_iter()
                    .flatten()
                    .filter(|g| !finished.contains(&g.id))
                    .map(|g| {
                        let track = match updated.get(&g.id) {
                            Some(t) => Some((*t).clone()),
                            None => self.tracks.remove(&g.id),
                        };
                        (g.clone(), track)
                    })
                    .collect();
                UserWork { indices, goals }
            })
            .collect();
        let summaries = std::mem::take(summaries);
        self.ahead = Some((name.to_owned(), self.spawn_tracking(work, snapshots, summaries)));
        true
    }

    /// Groups a file's snapshots of users with active goals by user.
    fn by_user<'s>(&self, snapshots: &'s [NewSnapshot]) -> BTreeMap<&'s str, Vec<usize>> {
        let mut by_user: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, s) in snapshots.iter().enumerate() {
            if self.wanted.contains(s.user_id.as_str()) {
                by_user.entry(s.user_id.as_str()).or_default().push(i);
            }
        }
        by_user
    }

    fn spawn_tracking(
        &self,
        work: Vec<UserWork>,
        snapshots: &[NewSnapshot],
        summaries: Vec<Option<SnapshotSummary>>,
    ) -> PendingPlan {
        let periods: Vec<Period> = snapshots.iter().map(|s| s.period).collect();
        let base_url = self.alerter.base_url.clone();
        let job = tokio::task::spawn_blocking(move || track_file(work, &periods, &summaries, &base_url));
        PendingPlan { job }
    }

    /// Starts planning the progress entries for a file's snapshots;
    /// `summaries` holds a summary for each snapshot of a user in `wanted`.
    /// What the goals need from storage is read here; tracking them runs on a
    /// blocking thread, so it overlaps with storing the file's lines, and
    /// [`PendingPlan::finish`] collects it.
    pub async fn start_plan<S: AlertStorage>(
        &mut self,
        store: &S,
        snapshots: &[NewSnapshot],
        summaries: Vec<Option<SnapshotSummary>>,
    ) -> anyhow::Result<PendingPlan> {
        self.ahead = None;
        let by_user = self.by_user(snapshots);
        let unknown: Vec<&str> = by_user
            .keys()
            .copied()
            .filter(|u| !self.goals.contains_key(*u))
            .collect();
        if !unknown.is_empty() {
            for u in &unknown {
                self.goals.insert((*u).to_owned(), Vec::new());
            }
            // A monthly file names most users with goals: then one query for
            // every active goal beats many lookups by user.
            let goals = if unknown.len() * 2 > self.wanted.len() {
                store.list_goals(None, Some(GoalStatus::Active)).await?
            } else {
                store.active_goals_of(&unknown).await?
            };
            let unknown: HashSet<&str> = unknown.into_iter().collect();
            for goal in goals {
                if unknown.contains(goal.user_id.as_str()) {
                    self.goals
                        .entry(goal.user_id.to_string())
                        .or_default()
                        .push(Arc::new(goal));
                }
            }
        }
        let untracked: Vec<&str> = by_user
            .keys()
            .flat_map(|u| self.goals.get(*u).into_iter().flatten())
            .filter(|g| !self.tracks.contains_key(&g.id))
            .map(|g| g.id.as_str())
            .collect();
        if !untracked.is_empty() {
            let states = store.sync_states(&untracked).await?;
            let goals: Vec<&Arc<Goal>> = by_user
                .keys()
                .flat_map(|u| self.goals.get(*u).into_iter().flatten())
                .collect();
            for goal in goals {
                if !self.tracks.contains_key(&goal.id) {
                    let track = GoalTrack::from_state(goal, states.get(goal.id.as_str()));
                    self.tracks.insert(goal.id.clone(), track);
                }
            }
        }

        // Taken out of the cache, put back by `committed`: a file that fails
        // leaves them out, and they are read from storage again.
        let work: Vec<UserWork> = by_user
            .into_values()
            .map(|mut indices| {
                indices.sort_by_key(|&i| snapshots[i].period);
                let user = snapshots[indices[0]].user_id.as_str();
                let goals = self
                    .goals
                    .get(user)
                    .into_iter()
                    .flatten()
                    .map(|g| (g.clone(), self.tracks.remove(&g.id)))
                    .collect();
                UserWork { indices, goals }
            })
            .collect();
        Ok(self.spawn_tracking(work, snapshots, summaries))
    }

    /// After the file's transaction committed: remember where each goal
    /// stands, recompute the goals that needed it, forget completed ones.
    pub async fn committed<S: AlertStorage>(
        &mut self,
        store: &S,
        plan: FilePlan,
        now: DateTime<Utc>,
    ) -> anyhow::Result<SyncSummary> {
        let mut summary = SyncSummary {
            goals: plan.goals,
            entries: plan.progress.len(),
            completed: plan.completed.len(),
            alerts: plan.alerts.len(),
        };
        for (id, track) in plan.updates {
            self.tracks.insert(id, track);
        }
        let mut finished = plan.finished;
        for goal in &plan.resync {
            let done = resync(store, &mut self.alerter, goal, now).await?;
            summary.entries += done.entries;
            summary.alerts += done.alerts;
            if done.completed {
                summary.completed += 1;
                finished.push((goal.user_id.to_string(), goal.id.clone()));
            }
            // Read back from storage the next time it is needed.
            self.tracks.remove(&goal.id);
        }
        for (user, id) in finished {
            self.tracks.remove(&id);
            if let Some(goals) = self.goals.get_mut(&user) {
                goals.retain(|g| g.id != id);
            }
        }
        Ok(summary)
    }
}
