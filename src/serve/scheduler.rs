//! The refresh queue: site lists every interval, new sites backfilled at once, and every
//! tick a small, even batch of sites refreshed in round-robin order, so each site is
//! refreshed once per interval and the API never sees a burst.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::{Shared, lock};
use crate::discovery::{self, AccountListing, DiscoveryOptions};
use crate::model::{MAX_DAYS, TrafficDuration};
use crate::pantheon::{Account, Client};
use crate::store::Merge;

/// After a rebuild answer (all zeros), the site is asked again this much later.
pub const REBUILD_RETRY: Duration = Duration::from_secs(600);

/// Sites refreshed per tick: `ceil(sites / (interval / tick))`.
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

pub struct Scheduler {
    shared: Arc<Shared>,
    client: Client,
    accounts: Vec<Arc<Account>>,
    discovery: DiscoveryOptions,
    /// The last good listing of each account (token order): a failing account keeps its sites.
    listings: Vec<Option<AccountListing>>,
    queue: VecDeque<String>,
    retries: Arc<std::sync::Mutex<HashMap<String, Instant>>>,
    fetch_slots: Arc<Semaphore>,
    tasks: JoinSet<()>,
}

/// Which traffic a fetch asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// 28 days: a new site, or one whose backfill has not succeeded yet.
    Backfill,
    /// `--refresh-duration` (unless the site still lacks its history).
    Refresh,
}

impl Scheduler {
    pub fn new(
        shared: Arc<Shared>,
        client: Client,
        accounts: Vec<Arc<Account>>,
        discovery: DiscoveryOptions,
    ) -> Scheduler {
        let slots = shared.settings.concurrency.max(1);
        Scheduler {
            listings: accounts.iter().map(|_| None).collect(),
            shared,
            client,
            accounts,
            discovery,
            queue: VecDeque::new(),
            retries: Arc::default(),
            fetch_slots: Arc::new(Semaphore::new(slots)),
            tasks: JoinSet::new(),
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
                Some(_) = self.tasks.join_next() => {}
            }
        }
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Re-reads every account's site list (concurrently), then adds, relabels and removes
    /// sites in the store. New sites are backfilled at once.
    async fn list_cycle(&mut self) {
        let results = join_all(
            self.accounts
                .iter()
                .map(|a| discovery::account_sites(&self.client, a, &self.discovery)),
        )
        .await;
        let now = self.shared.clock.now();
        {
            let mut states = lock(&self.shared.accounts);
            for ((slot, result), state) in
                self.listings.iter_mut().zip(results).zip(states.iter_mut())
            {
                match result {
                    Ok(listing) => {
                        state.name = listing.label.to_string();
                        state.up = Some(true);
                        state.last_error = if listing.failed_orgs.is_empty() {
                            None
                        } else {
                            Some(format!(
                                "{} organization list(s) failed",
                                listing.failed_orgs.len()
                            ))
                        };
                        *slot = Some(listing);
                    }
                    Err(e) => {
                        let message = self.client.scrub(&e.to_string());
                        tracing::warn!(account = %state.name, error = %message, "site list failed; keeping the sites already held");
                        state.up = Some(false);
                        state.last_error = Some(message);
                    }
                }
            }
        }
        let merged = discovery::merge(self.listings.iter().flatten(), self.discovery.site_limit);
        let wanted: HashSet<&str> = merged.iter().map(|f| f.site.site.id.as_str()).collect();
        let mut added = Vec::new();
        let mut per_account: HashMap<usize, usize> = HashMap::new();
        {
            let mut store = lock(&self.shared.store);
            for id in store.ids() {
                if !wanted.contains(id.as_str()) {
                    store.remove(&id);
                    tracing::info!(site = %id, "site left the site lists; dropped");
                }
            }
            for found in &merged {
                *per_account.entry(found.owner).or_default() += 1;
                if store.upsert_site(
                    found.site.account.clone(),
                    found.owner,
                    found.site.site.clone(),
                ) {
                    added.push(found.site.site.id.clone());
                }
            }
            store.trim(now);
        }
        self.queue.retain(|id| wanted.contains(id.as_str()));
        self.queue.extend(added.iter().cloned());
        lock(&self.retries).retain(|id, _| wanted.contains(id.as_str()));

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
            self.spawn_fetch(id, Kind::Backfill);
        }
        self.update_pending();
    }

    /// One tick: the next batch of the round robin, plus sites whose rebuild retry is due.
    fn on_tick(&mut self) {
        let s = &self.shared.settings;
        let batch = batch_size(self.queue.len(), s.refresh_interval, s.tick);
        for _ in 0..batch.min(self.queue.len()) {
            if let Some(id) = self.queue.pop_front() {
                self.queue.push_back(id.clone());
                self.spawn_fetch(id, Kind::Refresh);
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
            self.spawn_fetch(id, Kind::Refresh);
        }
        self.update_pending();
    }

    fn update_pending(&self) {
        let pending = lock(&self.shared.store)
            .iter()
            .filter(|(_, e)| !e.backfilled)
            .count();
        self.shared.telemetry.backfill_pending.set(pending as i64);
    }

    fn spawn_fetch(&mut self, id: String, kind: Kind) {
        if !lock(&self.shared.in_flight).insert(id.clone()) {
            return; // already being fetched
        }
        let shared = self.shared.clone();
        let client = self.client.clone();
        let accounts = self.accounts.clone();
        let slots = self.fetch_slots.clone();
        let retries = self.retries.clone();
        self.tasks.spawn(async move {
            let _permit = slots.acquire_owned().await;
            fetch_site(&shared, &client, &accounts, &retries, &id, kind).await;
            lock(&shared.in_flight).remove(&id);
        });
    }
}

async fn fetch_site(
    shared: &Shared,
    client: &Client,
    accounts: &[Arc<Account>],
    retries: &std::sync::Mutex<HashMap<String, Instant>>,
    id: &str,
    kind: Kind,
) {
    let Some((owner, backfilled, name)) = lock(&shared.store)
        .get(id)
        .map(|e| (e.owner, e.backfilled, e.site.name.clone()))
    else {
        return; // removed meanwhile
    };
    let Some(account) = accounts.iter().find(|a| a.index() == owner) else {
        return;
    };
    let full = kind == Kind::Backfill || !backfilled;
    let duration = if full {
        TrafficDuration::days(MAX_DAYS).unwrap_or(shared.settings.refresh_duration)
    } else {
        shared.settings.refresh_duration
    };
    let result = client
        .traffic(account, id, &shared.settings.environment, duration)
        .await;
    let now = shared.clock.now();
    let telemetry = &shared.telemetry;
    match result {
        Ok(traffic) => {
            let (merge, pending) = {
                let mut store = lock(&shared.store);
                (
                    store.record_fetch(id, &traffic.days, full, now),
                    store.pending_backfill(),
                )
            };
            telemetry.backfill_pending.set(pending as i64);
            match merge {
                Some(Merge::Rebuild) => {
                    telemetry.rebuild_ignored.inc();
                    lock(retries).insert(id.to_string(), Instant::now() + REBUILD_RETRY);
                    tracing::info!(site = %name, "all-zero answer over days with traffic (Pantheon's daily rebuild); kept the stored values");
                }
                Some(Merge::Changed(_)) => shared.changed.notify_one(),
                Some(Merge::Unchanged) | None => {}
            }
        }
        Err(e) => {
            telemetry.refresh_errors.inc();
            let message = client.scrub(&e.to_string());
            tracing::warn!(site = %name, error = %message, "site refresh failed; keeping its last data");
            lock(&shared.store).record_error(id, message);
        }
    }
}
