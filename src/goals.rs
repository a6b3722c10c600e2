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
use std::sync::{Arc, Mutex, MutexGuard};

/// Logs what the entries counted for linked debts that were missing or never
/// seen (the entry's note, word for word).
fn log_debt_notes(entries: &[crate::domain::goal::NewProgress]) {
    for e in entries {
        if let Some(note) = &e.note {
            tracing::info!(goal = %e.goal_id, period = %e.period, "{note}");
        }
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

    /// Forgets the preferences read so far: a pass that pages through users keeps only its page's.
    pub fn forget_preferences(&mut self) {
        self.prefs.clear();
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
    recompute(store, alerter, goal, None, now).await
}

/// Recomputes a goal that sync completed, after a month up to its completion
/// arrived late or was corrected: its entries become what tracking its
/// current snapshots up to `until` (its newest entry's month) gives, as for
/// a goal added after those files. It stays completed whatever they say (a
/// completion is never taken back), and it gains no month after `until`.
async fn resync_completed<S: AlertStorage>(
    store: &S,
    alerter: &mut Alerter,
    goal: &Goal,
    until: Period,
    now: DateTime<Utc>,
) -> anyhow::Result<Resynced> {
    recompute(store, alerter, goal, Some(until), now).await
}

async fn recompute<S: AlertStorage>(
    store: &S,
    alerter: &mut Alerter,
    goal: &Goal,
    until: Option<Period>,
    now: DateTime<Utc>,
) -> anyhow::Result<Resynced> {
    let Some(start) = Period::of_date(goal.start_date) else {
        return Ok(Resynced::default());
    };
    // One month earlier too: the first entry's contribution is measured from it.
    let from = start.add_months(-1).unwrap_or(start);
    let snapshots = store.user_snapshots(&goal.user_id, from).await?;
    let at: Vec<SnapshotAt<'_>> = snapshots
        .iter()
        .filter(|(_, period, _)| until.is_none_or(|u| *period <= u))
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
    log_debt_notes(&tracked.entries);
    let raised = tracked
        .alerts
        .into_iter()
        .map(|r| (goal.id.clone(), goal.user_id.clone(), r))
        .collect();
    let alerts = alerter.plan(store, raised).await?;
    // A goal completed already is not completed again.
    let completed_in = tracked.completed_in.filter(|_| until.is_none());
    let completed_at = completed_in.map(|_| now);
    // Replace every sync entry, not only those from the start: the start may
    // have moved later.
    store
        .replace_sync_progress(&goal.id, Period::MIN, &tracked.entries, &alerts, completed_at, now)
        .await?;
    if let Some(period) = completed_in {
        tracing::info!(goal = %goal.id, %period, "goal completed");
    }
    Ok(Resynced {
        entries: tracked.entries.len(),
        completed: completed_in.is_some(),
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
}

impl GoalTrack {
    /// Where storage says the goal stands: its newest entries, or for a goal
    /// without entries `base` (what its month before the start showed, if
    /// stored; see [`bases`]).
    fn from_state(goal: &Goal, state: Option<&SyncState>, base: Option<&Prior>) -> GoalTrack {
        let Some(state) = state else {
            return GoalTrack {
                prior: base.cloned().unwrap_or_default(),
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
                debt_seen: state.debt_seen.clone(),
                last_standing: state.last_standing,
                last_period: last.map(|(p, _, _)| *p),
            },
        }
    }
}

/// Where tracking starts for the goals among `goals` that have no entries
/// yet (absent from `states`) and whose month before the start is stored: what
/// tracking that month gives (the value the first contribution is measured
/// from, the debts seen). A goal followed in memory since that month has the
/// same; without this, a goal read back from storage would not.
async fn bases<S: AlertStorage>(
    store: &S,
    goals: &[&Goal],
    states: &HashMap<String, SyncState>,
) -> anyhow::Result<HashMap<GoalId, Prior>> {
    let before_start = |g: &Goal| Period::of_date(g.start_date).and_then(|s| s.add_months(-1));
    let without: Vec<(&Goal, Period)> = goals
        .iter()
        .filter(|g| g.goal_type != GoalType::Custom && !states.contains_key(g.id.as_str()))
        .filter_map(|g| Some((*g, before_start(g)?)))
        .collect();
    if without.is_empty() {
        return Ok(HashMap::new());
    }
    let months: Vec<(&str, Period)> = without.iter().map(|(g, p)| (g.user_id.as_str(), *p)).collect();
    let found = store.snapshots_at(&months).await?;
    let mut bases = HashMap::new();
    for (goal, period) in without {
        if let Some((id, summary)) = found.get(&(goal.user_id.to_string(), period)) {
            let at = SnapshotAt {
                snapshot_id: Some(*id),
                period,
                summary,
            };
            bases.insert(goal.id.clone(), track(goal, Prior::default(), &[at], None).prior);
        }
    }
    Ok(bases)
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
    /// Users with a completed goal: a month of theirs arriving late may
    /// recompute one (see [`RunSync::committed`]).
    finished_users: HashSet<String>,
    pub alerter: Alerter,
    /// Shared with the tracking jobs, which take the tracks they need out of
    /// it and (when tracking ahead) put the previous file's back.
    cache: Arc<Mutex<Cache>>,
    /// The next file's tracking, started while this one is stored (see [`RunSync::speculate`]).
    ahead: Option<Speculation>,
    /// Every active goal with its sync state, being read for the first file
    /// (see [`RunSync::prefetch_for`]).
    prefetch: Option<Prefetch>,
}

type Prefetch =
    tokio::task::JoinHandle<anyhow::Result<(Vec<Goal>, HashMap<String, SyncState>, HashMap<GoalId, Prior>)>>;

impl Drop for RunSync {
    fn drop(&mut self) {
        // A run that planned no file leaves no read behind it.
        if let Some(prefetch) = &self.prefetch {
            prefetch.abort();
        }
    }
}

/// About how many bytes a user's month takes in a snapshot file: a dozen
/// lines of some 50 bytes (the generated benchmark files: 600).
const BYTES_PER_USER_MONTH: u64 = 600;

/// Where goals stand during a run: the active goals of the users seen so far
/// and where tracking left each of them.
#[derive(Default)]
struct Cache {
    goals: HashMap<String, Vec<Arc<Goal>>>,
    tracks: HashMap<GoalId, GoalTrack>,
}

impl Cache {
    /// What a file's tracking left: the new tracks; completed goals forgotten.
    fn apply(&mut self, updates: Vec<(GoalId, GoalTrack)>, finished: &[(String, GoalId)]) {
        for (id, track) in updates {
            self.tracks.insert(id, track);
        }
        for (user, id) in finished {
            self.tracks.remove(id);
            if let Some(goals) = self.goals.get_mut(user) {
                goals.retain(|g| g.id != *id);
            }
        }
    }

    /// Makes `users` known, each with their goals among `goals` (goals of
    /// other users are left out).
    fn add_users(&mut self, users: &HashSet<&str>, goals: Vec<Goal>) {
        for user in users {
            self.goals.insert((*user).to_owned(), Vec::new());
        }
        for goal in goals.into_iter().filter(|g| users.contains(g.user_id.as_str())) {
            self.goals
                .entry(goal.user_id.to_string())
                .or_default()
                .push(Arc::new(goal));
        }
    }

    /// Tracks these goals from where storage says they stand (`bases`: see [`bases`]).
    fn track_from(&mut self, goals: &[Arc<Goal>], states: &HashMap<String, SyncState>, bases: &HashMap<GoalId, Prior>) {
        for goal in goals {
            let track = GoalTrack::from_state(goal, states.get(goal.id.as_str()), bases.get(&goal.id));
            self.tracks.insert(goal.id.clone(), track);
        }
    }

    /// Whether every goal of these users is known and tracked: tracking
    /// their file needs nothing from storage.
    fn covers<'u>(&self, mut users: impl Iterator<Item = &'u str>) -> bool {
        users.all(|u| {
            self.goals
                .get(u)
                .is_some_and(|goals| goals.iter().all(|g| self.tracks.contains_key(&g.id)))
        })
    }

    /// The users' goals with their tracks, taken out of the cache: a file
    /// that does not commit leaves them out, and they are read from storage
    /// again.
    fn take_work(&mut self, by_user: BTreeMap<&str, Vec<usize>>, periods: &[Period]) -> Vec<UserWork> {
        by_user
            .into_iter()
            .map(|(user, mut indices)| {
                indices.sort_by_key(|&i| periods[i]);
                let goals = match self.goals.get(user) {
                    Some(goals) => goals.iter().map(|g| (g.clone(), self.tracks.remove(&g.id))).collect(),
                    None => Vec::new(),
                };
                UserWork { indices, goals }
            })
            .collect()
    }
}

/// The cache, even after a tracking job panicked while holding it: then it
/// is emptied, and everything is read from storage again.
fn lock(cache: &Mutex<Cache>) -> MutexGuard<'_, Cache> {
    match cache.lock() {
        Ok(guard) => guard,
        Err(poisoned) => {
            let mut guard = poisoned.into_inner();
            *guard = Cache::default();
            cache.clear_poison();
            guard
        }
    }
}

/// A file's snapshots of users with active goals, by user.
fn group_by_user<'s>(wanted: &HashSet<String>, users: impl Iterator<Item = &'s str>) -> BTreeMap<&'s str, Vec<usize>> {
    let mut by_user: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, user) in users.enumerate() {
        if wanted.contains(user) {
            by_user.entry(user).or_default().push(i);
        }
    }
    by_user
}

/// Tracking started for the next file before this one committed.
struct Speculation {
    /// The file it is for.
    name: String,
    /// Whether the cache covered the file, sent before tracking starts; if
    /// not, the file's summaries come back with the answer.
    covered: tokio::sync::oneshot::Receiver<Result<(), Summaries>>,
    job: TrackingJob,
}

type TrackingJob = tokio::task::JoinHandle<Option<(FilePlan, RaisedAlerts)>>;

/// A file's snapshot summaries, for goal sync (see [`RunSync::start_plan`]).
pub type Summaries = Vec<Option<SnapshotSummary>>;

/// What became of the tracking started ahead for a file.
pub enum Speculated {
    /// Under way: collect it with [`PendingPlan::finish`].
    Tracking(PendingPlan),
    /// It could not start (the file's goals were not all in memory): plan
    /// the file with [`RunSync::start_plan`], from these summaries.
    NotStarted(Summaries),
    /// None was started for this file.
    None,
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
    job: TrackingJob,
}

impl PendingPlan {
    /// Waits for tracking and turns the alerts it raised into the ones to store.
    pub async fn finish<S: AlertStorage>(self, store: &S, alerter: &mut Alerter) -> anyhow::Result<FilePlan> {
        let (mut plan, raised) = self
            .job
            .await
            .map_err(|e| anyhow::anyhow!("goal tracking stopped: {e}"))?
            .ok_or_else(|| anyhow::anyhow!("goal tracking found goals it did not have"))?;
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
                .is_some_and(|t| t.prior.last_period.is_none_or(|last| last < first));
            let (Some(at), true, Some(state)) = (&at, in_order, state) else {
                plan.resync.push(goal);
                continue;
            };
            let tracked = track(&goal, state.prior, at, Some(alerting));
            log_debt_notes(&tracked.entries);
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
            plan.updates.push((goal.id.clone(), GoalTrack { prior: tracked.prior }));
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
            wanted: Arc::new(store.users_with_goals(GoalStatus::Active).await?),
            finished_users: store.users_with_goals(GoalStatus::Completed).await?,
            alerter,
            cache: Arc::new(Mutex::new(Cache::default())),
            ahead: None,
            prefetch: None,
        })
    }

    /// Starts reading every active goal and where its tracking stands, in
    /// the background, when the run's first file (`first_file_bytes` long)
    /// likely names more than half the users with goals, as a monthly file
    /// does: [`start_plan`](Self::start_plan) would read all of them for it
    /// anyway (see there), but only once the file is prepared, while storing
    /// it waits; now the reads overlap with preparing it. A small file reads
    /// only its own users' goals, as before.
    pub fn prefetch_for<S: AlertStorage>(&mut self, store: &S, first_file_bytes: u64) {
        let users = first_file_bytes / BYTES_PER_USER_MONTH;
        if self.wanted.is_empty() || users.saturating_mul(2) <= self.wanted.len() as u64 {
            return;
        }
        tracing::debug!(
            first_file_bytes,
            users_with_goals = self.wanted.len(),
            "reading every active goal while the first file is prepared"
        );
        let store = store.clone();
        self.prefetch = Some(tokio::spawn(async move {
            let goals = store.list_goals(None, Some(GoalStatus::Active)).await?;
            let ids: Vec<&str> = goals.iter().map(|g| g.id.as_str()).collect();
            let states = store.sync_states(&ids).await?;
            let all: Vec<&Goal> = goals.iter().collect();
            let bases = bases(&store, &all, &states).await?;
            Ok((goals, states, bases))
        }));
    }

    /// Puts what [`prefetch_for`](Self::prefetch_for) read in the cache.
    async fn take_prefetch(&mut self) -> anyhow::Result<()> {
        let Some(prefetch) = self.prefetch.take() else {
            return Ok(());
        };
        let (goals, states, bases) = prefetch
            .await
            .map_err(|e| anyhow::anyhow!("reading the goals stopped: {e}"))??;
        let mut cache = lock(&self.cache);
        // Users the cache knows already keep what it says (it is newer);
        // users without an active goal when the run started are not synced by it.
        let fresh: HashSet<&str> = self
            .wanted
            .iter()
            .map(String::as_str)
            .filter(|u| !cache.goals.contains_key(*u))
            .collect();
        cache.add_users(&fresh, goals);
        let added: Vec<Arc<Goal>> = fresh
            .iter()
            .flat_map(|u| cache.goals.get(*u).into_iter().flatten().cloned())
            .collect();
        cache.track_from(&added, &states, &bases);
        Ok(())
    }

    /// The tracking [`speculate`](Self::speculate) started for the file
    /// `name`, if it could. Tracking started for another file is waited for
    /// and dropped (its goals are read from storage again when next needed).
    pub async fn take_speculation(&mut self, name: &str) -> Speculated {
        let Some(mut ahead) = self.ahead.take() else {
            return Speculated::None;
        };
        let covered = (&mut ahead.covered).await;
        if ahead.name == name {
            match covered {
                Ok(Ok(())) => return Speculated::Tracking(PendingPlan { job: ahead.job }),
                Ok(Err(summaries)) => {
                    tracing::debug!("the goals of the file were not all in memory: planned after the commit");
                    return Speculated::NotStarted(summaries);
                }
                // The job stopped before answering: plan the file from storage.
                Err(_) => {}
            }
        }
        // Never left running: it changes the cache.
        let _ = ahead.job.await;
        Speculated::None
    }

    /// After a file whose plan was computed did not commit: the next file's
    /// tracking (if started) assumed it did, so it is dropped, and with it
    /// everything cached (read from storage again for the next file).
    pub async fn abandon(&mut self) {
        if let Some(ahead) = self.ahead.take() {
            let _ = ahead.job.await;
            *lock(&self.cache) = Cache::default();
        }
    }

    /// Called once `plan` (this file's) is computed, while the file is still
    /// being stored: starts tracking the next file (`name`, already read and
    /// valid) from where `plan` leaves its goals, on a blocking thread, so it
    /// overlaps with storing this file instead of waiting for its commit.
    /// The job puts `plan`'s tracks in the cache (so [`committed`](Self::committed)
    /// has nothing left to do with them) and goes on only if the cache then
    /// covers every goal of the next file; nothing is tried when this file
    /// recomputes goals after its commit. The next file uses the tracking if
    /// this one commits ([`take_speculation`](Self::take_speculation));
    /// otherwise see [`abandon`](Self::abandon).
    pub fn speculate(&mut self, plan: &mut FilePlan, name: &str, snapshots: &[NewSnapshot], summaries: &mut Summaries) {
        if !plan.resync.is_empty() || snapshots.is_empty() {
            return;
        }
        let updates = std::mem::take(&mut plan.updates);
        let finished = plan.finished.clone();
        let users: Vec<UserId> = snapshots.iter().map(|s| s.user_id.clone()).collect();
        let periods: Vec<Period> = snapshots.iter().map(|s| s.period).collect();
        let summaries = std::mem::take(summaries);
        let (cache, wanted, base_url) = (self.cache.clone(), self.wanted.clone(), self.alerter.base_url.clone());
        let (covered, covered_rx) = tokio::sync::oneshot::channel();
        let job = tokio::task::spawn_blocking(move || {
            let work = {
                let mut cache = lock(&cache);
                cache.apply(updates, &finished);
                let by_user = group_by_user(&wanted, users.iter().map(UserId::as_str));
                if !cache.covers(by_user.keys().copied()) {
                    let _ = covered.send(Err(summaries));
                    return None;
                }
                cache.take_work(by_user, &periods)
            };
            let _ = covered.send(Ok(()));
            Some(track_file(work, &periods, &summaries, &base_url))
        });
        self.ahead = Some(Speculation {
            name: name.to_owned(),
            covered: covered_rx,
            job,
        });
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
        summaries: Summaries,
    ) -> anyhow::Result<PendingPlan> {
        // Tracking ahead is always taken (take_speculation) before a file is
        // planned here; were one still under way, it must not run beside this.
        self.abandon().await;
        self.take_prefetch().await?;
        let by_user = group_by_user(&self.wanted, snapshots.iter().map(|s| s.user_id.as_str()));
        let unknown: Vec<&str> = {
            let cache = lock(&self.cache);
            by_user
                .keys()
                .copied()
                .filter(|u| !cache.goals.contains_key(*u))
                .collect()
        };
        if !unknown.is_empty() {
            // A monthly file names most users with goals: then one query for
            // every active goal beats many lookups by user.
            let goals = if unknown.len() * 2 > self.wanted.len() {
                store.list_goals(None, Some(GoalStatus::Active)).await?
            } else {
                store.goals_of(&unknown, GoalStatus::Active).await?
            };
            lock(&self.cache).add_users(&unknown.into_iter().collect(), goals);
        }
        let untracked: Vec<Arc<Goal>> = {
            let cache = lock(&self.cache);
            by_user
                .keys()
                .flat_map(|u| cache.goals.get(*u).into_iter().flatten())
                .filter(|g| !cache.tracks.contains_key(&g.id))
                .cloned()
                .collect()
        };
        if !untracked.is_empty() {
            let ids: Vec<&str> = untracked.iter().map(|g| g.id.as_str()).collect();
            let states = store.sync_states(&ids).await?;
            let goals: Vec<&Goal> = untracked.iter().map(|g| g.as_ref()).collect();
            let bases = bases(store, &goals, &states).await?;
            lock(&self.cache).track_from(&untracked, &states, &bases);
        }
        let periods: Vec<Period> = snapshots.iter().map(|s| s.period).collect();
        let work = lock(&self.cache).take_work(by_user, &periods);
        let base_url = self.alerter.base_url.clone();
        let job = tokio::task::spawn_blocking(move || Some(track_file(work, &periods, &summaries, &base_url)));
        Ok(PendingPlan { job })
    }

    /// Recomputes the completed goals of `snapshots`' users whose entries
    /// reach one of the snapshots' months (see [`resync_completed`]); returns
    /// the entries and alerts written.
    async fn resync_completed_goals<S: AlertStorage>(
        &mut self,
        store: &S,
        snapshots: &[NewSnapshot],
        skip: &HashSet<&GoalId>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(usize, usize)> {
        let mut earliest: HashMap<&str, Period> = HashMap::new();
        for s in snapshots
            .iter()
            .filter(|s| self.finished_users.contains(s.user_id.as_str()))
        {
            let first = earliest.entry(s.user_id.as_str()).or_insert(s.period);
            *first = (*first).min(s.period);
        }
        if earliest.is_empty() {
            return Ok((0, 0));
        }
        let users: Vec<&str> = earliest.keys().copied().collect();
        let goals: Vec<Goal> = store
            .goals_of(&users, GoalStatus::Completed)
            .await?
            .into_iter()
            .filter(|g| !skip.contains(&g.id) && !g.goal_type.is_recurring())
            .collect();
        if goals.is_empty() {
            return Ok((0, 0));
        }
        let ids: Vec<&str> = goals.iter().map(|g| g.id.as_str()).collect();
        let states = store.sync_states(&ids).await?;
        let (mut entries, mut alerts) = (0, 0);
        for goal in &goals {
            let Some(state) = states.get(goal.id.as_str()) else {
                continue;
            };
            let Some(&(until, _, _)) = state.recent.last() else {
                continue;
            };
            // Completed by sync: its newest entry reached the target (a goal
            // completed by hand or by a manual entry is left as it is).
            let by_sync = state.last_standing.is_some_and(|s| s.progress >= 1.0);
            if !by_sync || earliest.get(goal.user_id.as_str()).is_none_or(|first| *first > until) {
                continue;
            }
            tracing::debug!(goal = %goal.id, %until, "recomputing a completed goal's entries: a month up to its completion came late");
            let done = resync_completed(store, &mut self.alerter, goal, until, now).await?;
            entries += done.entries;
            alerts += done.alerts;
        }
        Ok((entries, alerts))
    }

    /// After the file's transaction committed: remember where each goal
    /// stands, recompute the goals that needed it, forget completed ones.
    ///
    /// `snapshots` are the file's: a goal that sync completed, of one of
    /// their users, whose entries reach one of their months (a month arriving
    /// late, a correction) is recomputed up to its completion too, so its
    /// history is what it would be had the months come in order.
    pub async fn committed<S: AlertStorage>(
        &mut self,
        store: &S,
        plan: FilePlan,
        snapshots: &[NewSnapshot],
        now: DateTime<Utc>,
    ) -> anyhow::Result<SyncSummary> {
        let mut summary = SyncSummary {
            goals: plan.goals,
            entries: plan.progress.len(),
            completed: plan.completed.len(),
            alerts: plan.alerts.len(),
        };
        let FilePlan {
            progress,
            alerts,
            resync: to_resync,
            updates,
            finished,
            ..
        } = plan;
        // The entries and alerts are stored: freed on a blocking thread, off the path of the next file.
        tokio::task::spawn_blocking(move || drop((progress, alerts)));
        lock(&self.cache).apply(updates, &finished);
        for goal in &to_resync {
            tracing::debug!(goal = %goal.id, "recomputing the goal's entries from its start");
            let done = resync(store, &mut self.alerter, goal, now).await?;
            summary.entries += done.entries;
            summary.alerts += done.alerts;
            // Read back from storage the next time it is needed.
            let mut cache = lock(&self.cache);
            cache.tracks.remove(&goal.id);
            if done.completed {
                summary.completed += 1;
                cache.apply(Vec::new(), &[(goal.user_id.to_string(), goal.id.clone())]);
                self.finished_users.insert(goal.user_id.to_string());
            }
        }
        // Goals completed by this file's entries or recomputes are up to date.
        let fresh: HashSet<&GoalId> = finished
            .iter()
            .map(|(_, id)| id)
            .chain(to_resync.iter().map(|g| &g.id))
            .collect();
        let (entries, alerts) = self.resync_completed_goals(store, snapshots, &fresh, now).await?;
        summary.entries += entries;
        summary.alerts += alerts;
        self.finished_users.extend(finished.into_iter().map(|(user, _)| user));
        Ok(summary)
    }
}
