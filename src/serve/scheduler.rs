//! The refresh queue: site lists every interval, new sites backfilled at once, and every
//! tick a small, even batch of sites refreshed in round-robin order, so each site is
//! refreshed once per interval and the API never sees a burst.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::{Shared, lock};
use crate::discovery::{self, Discovery, DiscoveryOptions, Found};
use crate::model::{DAY_SECONDS, MAX_DAYS, TrafficDuration, day_start};
use crate::pantheon::{Account, Client};
use crate::store::Merge;
use crate::traffic;

/// After a rebuild answer (all zeros), the site is asked again this much later (or after
/// the refresh interval, when that is shorter).
pub const REBUILD_RETRY: Duration = Duration::from_secs(600);

/// The most sites refreshed in one tick: `ceil(sites / (interval / tick))`. The scheduler
/// spreads `sites / (interval / tick)` per tick with a running remainder, so each site is
/// refreshed exactly once per interval and no tick takes more than this.
///
/// ```
/// use std::time::Duration;
/// use pantheon_metrics::serve::batch_size;
/// assert_eq!(batch_size(100, Duration::from_secs(3600), Duration::from_secs(60)), 2);
/// assert_eq!(batch_size(0, Duration::from_secs(3600), Duration::from_secs(60)), 0);
/// assert_eq!(batch_size(5, Duration::from_secs(30), Duration::from_secs(60)), 5);
/// ```
pub fn batch_size(sites: usize, interval: Duration, tick: Duration) -> usize {
    let ticks = (interval.as_secs_f64() / tick.as_secs_f64().max(1e-3)).max(1.0);
    (sites as f64 / ticks).ceil() as usize
}

/// One tick of the even spread: with `credit` owed from earlier ticks, how many sites to
/// refresh now, and the credit left. Never more than [`batch_size`].
///
/// ```
/// use std::time::Duration;
/// use pantheon_metrics::serve::spread;
/// let (hour, minute) = (Duration::from_secs(3600), Duration::from_secs(60));
/// let mut credit = 0.0;
/// let mut per_tick = Vec::new();
/// for _ in 0..60 {
///     let (take, left) = spread(credit, 100, hour, minute);
///     per_tick.push(take);
///     credit = left;
/// }
/// assert_eq!(per_tick.iter().sum::<usize>(), 100); // each site once per interval
/// assert!(per_tick.iter().all(|&n| n <= 2));       // never a burst
/// let (take, _) = spread(0.0, 5, hour, minute);
/// assert_eq!(take, 0); // 5 sites an hour: one every 12 minutes, not one a minute
/// ```
pub fn spread(credit: f64, sites: usize, interval: Duration, tick: Duration) -> (usize, f64) {
    let ticks = (interval.as_secs_f64() / tick.as_secs_f64().max(1e-3)).max(1.0);
    let max = batch_size(sites, interval, tick);
    let owed = credit + sites as f64 / ticks;
    let take = ((owed + 1e-9).floor() as usize).min(max);
    // What is left stays owed, bounded so a stall never turns into a burst later.
    (take, (owed - take as f64).clamp(0.0, max as f64))
}

pub struct Scheduler {
    shared: Arc<Shared>,
    client: Client,
    accounts: Vec<Arc<Account>>,
    discovery: DiscoveryOptions,
    /// The last discovery: a failing account or organization keeps its sites.
    discovered: Option<Discovery>,
    /// The sites this replica fetches, by id, each with its account.
    sites: HashMap<String, Found>,
    queue: VecDeque<String>,
    retries: Arc<Mutex<HashMap<String, Instant>>>,
    in_flight: InFlight,
    tasks: JoinSet<()>,
    /// Fractional sites owed to the round robin (see [`batch_size`]).
    credit: f64,
}

/// The sites being fetched right now, so that no site is fetched twice at once.
#[derive(Clone, Debug, Default)]
struct InFlight(Arc<Mutex<HashSet<String>>>);

impl InFlight {
    /// Marks `id` as being fetched, or `None` when it already is. The mark goes with the
    /// returned guard, however its task ends (a panic included).
    fn claim(&self, id: &str) -> Option<Claim> {
        lock(&self.0).insert(id.to_string()).then(|| Claim {
            set: self.clone(),
            id: id.to_string(),
        })
    }

    #[cfg(test)]
    fn contains(&self, id: &str) -> bool {
        lock(&self.0).contains(id)
    }
}

/// A site's in-flight mark; dropping it clears the mark.
#[derive(Debug)]
struct Claim {
    set: InFlight,
    id: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        lock(&self.set.0).remove(&self.id);
    }
}

/// Which traffic a fetch asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// 28 days: a new site, or one whose backfill has not succeeded yet.
    Backfill,
    /// `--refresh-duration`, or more when days are missing (see [`fetch_span`]).
    Refresh,
}

/// What a fetch asks for: `(duration, full)`, where `full` marks a 28-day backfill.
///
/// A site without its history (or without any day held) gets 28 days. Otherwise the
/// fetch covers `--refresh-duration`, or more when days are missing between the newest
/// day held and today (after downtime or a restart from the state file), up to 28 days.
///
/// ```
/// use pantheon_metrics::model::TrafficDuration;
/// use pantheon_metrics::serve::fetch_span;
/// let two = TrafficDuration::days(2).unwrap();
/// let today = 1_762_905_600; // 2025-11-12 00:00 UTC
/// let now = today + 3600;
/// let d = |n: i64| Some(today - n * 86_400);
/// assert_eq!(fetch_span(true, d(1), now, two), (two, false));
/// assert_eq!(fetch_span(true, d(5), now, two).0.to_string(), "6d");
/// assert_eq!(fetch_span(true, d(40), now, two).0.to_string(), "28d");
/// assert_eq!(fetch_span(false, d(1), now, two).0.to_string(), "28d");
/// assert_eq!(fetch_span(true, None, now, two), (two, false));
/// ```
pub fn fetch_span(
    backfilled: bool,
    newest_held: Option<i64>,
    now: i64,
    refresh: TrafficDuration,
) -> (TrafficDuration, bool) {
    let full = TrafficDuration::days(MAX_DAYS).unwrap_or(refresh);
    if !backfilled {
        return (full, true);
    }
    let Some(newest) = newest_held else {
        // Backfilled, and the API had no days: nothing is missing.
        return (refresh, false);
    };
    let gap = (day_start(now) - day_start(newest)).div_euclid(DAY_SECONDS) + 1;
    let want = i64::from(refresh.count()).max(gap);
    if want >= i64::from(MAX_DAYS) {
        return (full, true);
    }
    match TrafficDuration::days(want as u32) {
        Ok(d) if want > i64::from(refresh.count()) => (d, false),
        _ => (refresh, false),
    }
}

impl Scheduler {
    pub fn new(
        shared: Arc<Shared>,
        client: Client,
        accounts: Vec<Arc<Account>>,
        discovery: DiscoveryOptions,
    ) -> Scheduler {
        Scheduler {
            shared,
            client,
            accounts,
            discovery,
            discovered: None,
            sites: HashMap::new(),
            queue: VecDeque::new(),
            retries: Arc::default(),
            in_flight: InFlight::default(),
            tasks: JoinSet::new(),
            credit: 0.0,
        }
    }

    pub async fn run(mut self, cancel: CancellationToken) {
        let interval = self.shared.settings.refresh_interval;
        let tick = self.shared.settings.tick;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = self.list_cycle() => {}
        }
        let mut lists = tokio::time::interval_at(Instant::now() + interval, interval);
        lists.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut ticks = tokio::time::interval_at(Instant::now() + tick, tick);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = lists.tick() => {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = self.list_cycle() => {}
                    }
                }
                _ = ticks.tick() => self.on_tick(),
                Some(done) = self.tasks.join_next() => {
                    if let Err(e) = done {
                        if e.is_panic() {
                            tracing::error!("a site fetch panicked; the site stays in the round robin");
                        }
                    }
                }
            }
        }
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Re-discovers every account's sites (the same discovery as `sites` and `fetch`), then
    /// adds, relabels and removes sites in the store. New sites are backfilled at once.
    async fn list_cycle(&mut self) {
        let found = discovery::discover(
            &self.client,
            &self.accounts,
            &self.discovery,
            self.discovered.take(),
        )
        .await;
        let now = self.shared.clock.now();
        {
            let mut states = lock(&self.shared.accounts);
            for (outcome, state) in found.accounts.iter().zip(states.iter_mut()) {
                match (&outcome.error, &outcome.listing) {
                    (None, Some(listing)) => {
                        state.name = listing.label.to_string();
                        state.up = Some(true);
                        state.last_error = (!listing.failed_orgs.is_empty()).then(|| {
                            format!("{} organization list(s) failed", listing.failed_orgs.len())
                        });
                    }
                    (error, _) => {
                        let message = error
                            .as_ref()
                            .map(|e| self.client.scrub(&e.to_string()))
                            .unwrap_or_default();
                        tracing::warn!(account = %state.name, error = %message, "site list failed; keeping the sites already held");
                        state.up = Some(false);
                        state.last_error = Some(message);
                    }
                }
            }
        }
        let shard = self.shared.settings.shard;
        self.sites = found
            .sites
            .iter()
            .filter(|f| shard.owns(&f.site.site.id))
            .map(|f| (f.site.site.id.clone(), f.clone()))
            .collect();
        let merged: Vec<&Found> = found
            .sites
            .iter()
            .filter(|f| self.sites.contains_key(&f.site.site.id))
            .collect();
        let mut added = Vec::new();
        let mut removed = Vec::new();
        let mut per_account: HashMap<usize, usize> = HashMap::new();
        {
            let mut store = lock(&self.shared.store);
            for id in store.ids() {
                if !self.sites.contains_key(&id) {
                    store.remove(&id);
                    tracing::info!(site = %id, "site left the site lists; dropped");
                    removed.push(id);
                }
            }
            for found in &merged {
                *per_account.entry(found.account.index()).or_default() += 1;
                if store.upsert_site(
                    found.site.account.clone(),
                    found.account.index(),
                    found.site.site.clone(),
                ) {
                    added.push(found.site.site.id.clone());
                }
            }
            store.trim(now);
        }
        let sites = &self.sites;
        self.queue.retain(|id| sites.contains_key(id));
        // Every site held joins the round robin once: new ones, and those restored from the
        // state file, which are fetched now only when stale (`catch_up`).
        let queued: HashSet<&str> = self.queue.iter().map(String::as_str).collect();
        let new: HashSet<&str> = added.iter().map(String::as_str).collect();
        let joining: Vec<String> = merged
            .iter()
            .map(|f| f.site.site.id.as_str())
            .filter(|id| !queued.contains(id))
            .map(str::to_string)
            .collect();
        let stale_after = now - self.shared.settings.refresh_interval.as_secs() as i64;
        let catch_up: Vec<String> = {
            let store = lock(&self.shared.store);
            joining
                .iter()
                .filter(|id| !new.contains(id.as_str()))
                .filter(|id| {
                    store.get(id).is_some_and(|e| {
                        !e.backfilled || e.last_refresh.is_none_or(|t| t <= stale_after)
                    })
                })
                .cloned()
                .collect()
        };
        self.queue.extend(joining);
        lock(&self.retries).retain(|id, _| sites.contains_key(id));
        self.discovered = Some(found);
        if let Some(remote) = &self.shared.remote {
            for id in removed {
                remote.send(crate::remote_write::Event::Removed(id)).await;
            }
        }
        self.shared.touch();

        let telemetry = &self.shared.telemetry;
        {
            let mut states = lock(&self.shared.accounts);
            telemetry.account_up.reset();
            telemetry.sites.reset();
            for state in states.iter_mut() {
                state.sites = per_account.get(&state.index).copied().unwrap_or(0);
                telemetry
                    .account_up
                    .with_label_values(&[&state.name])
                    .set(i64::from(state.up == Some(true)));
                telemetry
                    .sites
                    .with_label_values(&[&state.name])
                    .set(state.sites as i64);
            }
        }
        telemetry.last_list_refresh.set(now as f64);
        self.shared.changed.notify_one();
        if !added.is_empty() {
            tracing::info!(sites = added.len(), "backfilling new sites");
        }
        for id in added {
            self.spawn_fetch(&id, Kind::Backfill);
        }
        if !catch_up.is_empty() {
            tracing::info!(
                sites = catch_up.len(),
                "catching up sites restored with stale or missing days"
            );
        }
        for id in catch_up {
            self.spawn_fetch(&id, Kind::Refresh);
        }
        self.update_pending();
    }

    /// One tick: the next batch of the round robin, plus sites whose rebuild retry is due.
    fn on_tick(&mut self) {
        let s = &self.shared.settings;
        let (take, credit) = spread(self.credit, self.queue.len(), s.refresh_interval, s.tick);
        self.credit = credit;
        for _ in 0..take.min(self.queue.len()) {
            if let Some(id) = self.queue.pop_front() {
                self.spawn_fetch(&id, Kind::Refresh);
                self.queue.push_back(id);
            }
        }
        let now = Instant::now();
        let due: Vec<String> = {
            let mut retries = lock(&self.retries);
            let due: Vec<String> = retries
                .iter()
                .filter(|(_, t)| **t <= now)
                .map(|(id, _)| id.clone())
                .collect();
            for id in &due {
                retries.remove(id);
            }
            due
        };
        for id in due {
            self.spawn_fetch(&id, Kind::Refresh);
        }
        self.update_pending();
    }

    fn update_pending(&self) {
        let pending = lock(&self.shared.store).pending_backfill();
        self.shared.telemetry.backfill_pending.set(pending as i64);
    }

    /// Starts one site's fetch, unless it is being fetched already. No bound here: the
    /// client's `--concurrency` semaphore is the one limit on requests in flight.
    fn spawn_fetch(&mut self, id: &str, kind: Kind) {
        let Some(found) = self.sites.get(id).cloned() else {
            return; // left the lists meanwhile
        };
        let Some(claim) = self.in_flight.claim(id) else {
            return; // already being fetched
        };
        let shared = self.shared.clone();
        let client = self.client.clone();
        let retries = self.retries.clone();
        self.tasks.spawn(async move {
            let _claim = claim;
            fetch_site(&shared, &client, &retries, &found, kind).await;
        });
    }
}

/// Fetches one site and merges the answer; then, when the merge found zero days that may
/// be a rebuild's (contradicted by traffic, or restored and never confirmed), fetches the
/// full history once more and merges it too. With plan usage on, the site's monthly series
/// follows when it was not fetched yet this UTC day ([`fetch_monthly`]).
async fn fetch_site(
    shared: &Shared,
    client: &Client,
    retries: &Mutex<HashMap<String, Instant>>,
    found: &Found,
    kind: Kind,
) {
    let id = found.site.site.id.as_str();
    let name = &found.site.site.name;
    let Some((backfilled, newest)) = lock(&shared.store)
        .get(id)
        .map(|e| (e.backfilled, e.days.last().map(|d| d.day.timestamp)))
    else {
        return; // removed meanwhile
    };
    let (duration, full) = fetch_span(
        backfilled && kind != Kind::Backfill,
        newest,
        shared.clock.now(),
        shared.settings.refresh_duration,
    );
    let (mut merge, repair) = fetch_and_merge(shared, client, retries, found, duration, full).await;
    if repair && !full {
        tracing::info!(site = %name, "held zero days contradicted or unconfirmed; fetching the full history once to repair them");
        let all = TrafficDuration::days(MAX_DAYS).unwrap_or(duration);
        merge = fetch_and_merge(shared, client, retries, found, all, true)
            .await
            .0;
    }
    // Only after a daily answer that was taken: a failing API or a rebuild's zeros would
    // make the monthly request wasted (or wrong).
    if shared.settings.usage.is_some()
        && matches!(merge, Some(Merge::Changed(_) | Merge::Unchanged))
    {
        fetch_monthly(shared, client, found).await;
    }
}

/// Fetches a site's monthly series (`12m`) when the store says it is due: never fetched,
/// or fetched on an earlier UTC day. It rides on the site's refresh, so it is spread through
/// the round robin like every refresh, and costs at most one request per site per day (a
/// failed or refused answer is asked again at the next refresh).
async fn fetch_monthly(shared: &Shared, client: &Client, found: &Found) {
    let id = found.site.site.id.as_str();
    if !lock(&shared.store).monthly_due(id, shared.clock.now()) {
        return;
    }
    let (monthly, _) = crate::usage::durations();
    let result = traffic::fetch_site(client, found, &shared.settings.environment, monthly).await;
    let now = shared.clock.now();
    let traffic = match result {
        Ok(traffic) => traffic,
        Err(e) => {
            shared.telemetry.refresh_errors.inc();
            let message = client.scrub(&e.to_string());
            tracing::warn!(site = %found.site.site.name, error = %message, "monthly series failed; plan usage keeps its last numbers");
            return;
        }
    };
    let (changed, update) = {
        let mut store = lock(&shared.store);
        let changed = store.record_monthly(id, &traffic.days, now);
        let update = match (&shared.remote, changed) {
            (Some(_), Some(true)) => store.get(id).map(|e| site_update(shared, e)),
            _ => None,
        };
        (changed, update)
    };
    match changed {
        Some(true) => {
            shared.touch();
            shared.changed.notify_one();
        }
        Some(false) => shared.touch(),
        None => {
            tracing::info!(site = %found.site.site.name, "all-zero monthly series over months with traffic (Pantheon's daily rebuild); kept the stored months");
        }
    }
    if let (Some(remote), Some(update)) = (&shared.remote, update) {
        remote
            .send(crate::remote_write::Event::Update(update))
            .await;
    }
}

/// What the remote writer is told about a site as held now.
fn site_update(shared: &Shared, e: &crate::store::SiteEntry) -> crate::remote_write::SiteUpdate {
    crate::remote_write::SiteUpdate {
        id: e.site.id.clone(),
        account: e.account.clone(),
        site: e.site.clone(),
        days: e.days().copied().collect(),
        settled: e.zeros_checked,
        usage: shared
            .settings
            .usage
            .as_ref()
            .and_then(|plan| super::usage::of_entry(e, plan)),
    }
}

/// One fetch and its merge. Returns the merge (`None` after an error) and whether the
/// store asks for a repair.
async fn fetch_and_merge(
    shared: &Shared,
    client: &Client,
    retries: &Mutex<HashMap<String, Instant>>,
    found: &Found,
    duration: TrafficDuration,
    full: bool,
) -> (Option<Merge>, bool) {
    let id = found.site.site.id.as_str();
    let name = &found.site.site.name;
    let result = traffic::fetch_site(client, found, &shared.settings.environment, duration).await;
    let now = shared.clock.now();
    let telemetry = &shared.telemetry;
    let traffic = match result {
        Ok(traffic) => traffic,
        Err(e) => {
            telemetry.refresh_errors.inc();
            let message = client.scrub(&e.to_string());
            tracing::warn!(site = %name, error = %message, "site refresh failed; keeping its last data");
            lock(&shared.store).record_error(id, message);
            return (None, false);
        }
    };
    let (merge, update, pending, repair) = {
        let mut store = lock(&shared.store);
        let merge = store.record_fetch(id, &traffic.days, full, now);
        let repair = store.needs_repair(id);
        let update = match (&shared.remote, merge) {
            (Some(_), Some(Merge::Changed(_) | Merge::Unchanged)) => {
                store.get(id).map(|e| site_update(shared, e))
            }
            _ => None,
        };
        (merge, update, store.pending_backfill(), repair)
    };
    telemetry.backfill_pending.set(pending as i64);
    shared.touch();
    if let (Some(remote), Some(update)) = (&shared.remote, update) {
        remote
            .send(crate::remote_write::Event::Update(update))
            .await;
    }
    // Asked again after the smaller of 10 minutes and the refresh interval.
    let retry_at = Instant::now() + REBUILD_RETRY.min(shared.settings.refresh_interval);
    match merge {
        Some(Merge::Rebuild) => {
            telemetry.rebuild_ignored.inc();
            lock(retries).insert(id.to_string(), retry_at);
            tracing::info!(site = %name, "all-zero answer over days with traffic (Pantheon's daily rebuild); kept the stored values");
        }
        Some(Merge::HeldBack) => {
            telemetry.rebuild_ignored.inc();
            lock(retries).insert(id.to_string(), retry_at);
            shared.changed.notify_one(); // the page shows the site as waiting
            tracing::info!(site = %name, "all-zero answer for a site without days held back (Pantheon may be rebuilding its daily metrics); asking again later");
        }
        Some(Merge::Changed(_)) => shared.changed.notify_one(),
        Some(Merge::Unchanged) | None => {}
    }
    (merge, repair)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn regression_panicking_fetch_left_its_site_in_flight_for_ever() {
        let in_flight = InFlight::default();
        let claim = in_flight.claim("site-1").expect("free");
        assert!(in_flight.claim("site-1").is_none(), "claimed twice");
        let task = tokio::spawn(async move {
            let _claim = claim;
            panic!("a fetch that panics");
        });
        assert!(task.await.unwrap_err().is_panic());
        assert!(!in_flight.contains("site-1"));
        assert!(
            in_flight.claim("site-1").is_some(),
            "the site can be fetched again"
        );
    }
}
