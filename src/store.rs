//! The exporter's memory: every site's days, merged by timestamp, guarded against the API's
//! daily rebuild zeros, trimmed to the history window.
//!
//! The merge rules live in [`merge_days`], a pure function, so they are tested without any
//! server; [`Store`] adds the per-site bookkeeping that `serve` shows and renders.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{DAY_SECONDS, Day, MAX_DAYS, Site, day_start};

/// A day as held, with when its current value was learned (for `--history bootstrap`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDay {
    pub day: Day,
    /// Unix seconds when this value was first seen.
    pub learned_at: i64,
}

/// What a merge did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// Days were added or changed (how many).
    Changed(usize),
    /// Nothing new.
    Unchanged,
    /// The answer was the daily rebuild's zeros over days we hold with traffic: ignored.
    Rebuild,
    /// All zeros for a site that holds no days yet: maybe the rebuild, maybe a site
    /// without visitors. Held back (nothing stored) until it has lasted longer than a
    /// rebuild does ([`REBUILD_LASTS`]).
    HeldBack,
}

/// How long Pantheon's daily rebuild of its numbers lasts at most (20-40 minutes, with a
/// margin): all-zero answers for a site without traffic are taken as real only after this.
pub const REBUILD_LASTS: i64 = 45 * 60;

/// The oldest day start still kept at `now`: 28 days back from today.
pub fn keep_from(now: i64) -> i64 {
    day_start(now) - i64::from(MAX_DAYS) * DAY_SECONDS
}

/// Merges `fresh` into `held` (both sorted by timestamp) and drops days before `keep_from`.
///
/// Rules: a day is replaced only by a different value; an all-zero day never replaces a day
/// with traffic (that is the rebuild, not a real change), and an answer that is all zeros
/// where we hold traffic is reported as [`Merge::Rebuild`] with nothing touched. Days not in
/// `fresh` are kept: a 2-day refresh never erases older history.
///
/// ```
/// use pantheon_metrics::model::Day;
/// use pantheon_metrics::store::{merge_days, Merge};
/// let d = |ts: i64, v: u64| Day { timestamp: ts, visits: v, pages_served: v, cache_hits: 0, cache_misses: v };
/// let mut held = Vec::new();
/// assert_eq!(merge_days(&mut held, &[d(0, 5), d(86400, 6)], 100, 0), Merge::Changed(2));
/// assert_eq!(merge_days(&mut held, &[d(86400, 0)], 200, 0), Merge::Rebuild);
/// assert_eq!(merge_days(&mut held, &[d(86400, 7), d(172800, 1)], 300, 0), Merge::Changed(2));
/// assert_eq!(held.len(), 3);
/// ```
pub fn merge_days(held: &mut Vec<StoredDay>, fresh: &[Day], now: i64, keep_from: i64) -> Merge {
    let held_has_traffic = |ts: i64, held: &[StoredDay]| {
        held.binary_search_by_key(&ts, |s| s.day.timestamp)
            .is_ok_and(|i| !held[i].day.is_zero())
    };
    let relevant: Vec<&Day> = fresh.iter().filter(|d| d.timestamp >= keep_from).collect();
    if !relevant.is_empty()
        && relevant.iter().all(|d| d.is_zero())
        && relevant.iter().any(|d| held_has_traffic(d.timestamp, held))
    {
        return Merge::Rebuild;
    }
    let mut changed = 0;
    for day in relevant {
        match held.binary_search_by_key(&day.timestamp, |s| s.day.timestamp) {
            Ok(i) => {
                let old = held[i].day;
                // Zeros over a day with traffic are the rebuild, never a real change.
                let rebuild_zeros = day.is_zero() && !old.is_zero();
                if old != *day && !rebuild_zeros {
                    held[i] = StoredDay {
                        day: *day,
                        learned_at: now,
                    };
                    changed += 1;
                }
            }
            Err(i) => {
                held.insert(
                    i,
                    StoredDay {
                        day: *day,
                        learned_at: now,
                    },
                );
                changed += 1;
            }
        }
    }
    let before = held.len();
    held.retain(|s| s.day.timestamp >= keep_from);
    changed += before - held.len();
    if changed > 0 {
        Merge::Changed(changed)
    } else {
        Merge::Unchanged
    }
}

/// What a state file kept of a site (see [`Store::restore_site`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Restored {
    /// Sorted by timestamp, one per day.
    pub days: Vec<StoredDay>,
    pub last_refresh: Option<i64>,
    pub backfilled: bool,
    pub zeros_checked: bool,
    /// The monthly series, when the file kept one (older files do not).
    pub monthly: Option<Monthly>,
}

/// A site's monthly series (`12m`) for plan usage, fetched at most once a UTC day: the
/// month-to-date and the months over the allowance come from it, the projection from the
/// daily days held beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monthly {
    /// The monthly buckets as the API answered them, oldest first.
    pub months: Vec<Day>,
    /// Unix seconds of the fetch; the usage numbers are those of its UTC day.
    pub fetched_at: i64,
    /// Visits of that day's partial day as held when the months were recorded: the month's
    /// bucket holds exactly this much of the day, so the projection takes out this and not
    /// a later, larger value of the same day.
    pub today_visits: Option<u64>,
}

impl Monthly {
    /// True when these months were fetched on an earlier UTC day than `now`.
    pub fn is_due(&self, now: i64) -> bool {
        day_start(self.fetched_at) < day_start(now)
    }
}

/// Sort key of a site in the exposition: account, then name, then id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SiteKey {
    pub account: Arc<str>,
    pub name: String,
    pub id: String,
}

/// Everything held about one site.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SiteEntry {
    pub account: Arc<str>,
    /// [`crate::pantheon::Account::index`] of the token that fetches it.
    pub owner: usize,
    pub site: Arc<Site>,
    pub days: Vec<StoredDay>,
    /// Unix seconds of the last successful fetch.
    pub last_refresh: Option<i64>,
    /// The last fetch's error, cleared by a success.
    pub last_error: Option<String>,
    /// True once a full-history fetch succeeded.
    pub backfilled: bool,
    /// Since when (Unix seconds) every answer was all zeros while the site held no days:
    /// the answers are held back, and the site shows as waiting.
    #[serde(skip)]
    pub zero_since: Option<i64>,
    /// The zero days held were confirmed by a full fetch (a backfill or a repair) since they
    /// were restored or contradicted; until then they may be a rebuild's zeros.
    #[serde(skip)]
    pub zeros_checked: bool,
    /// Bumped on every change of `days`, `monthly` or labels, so renderers know what to
    /// redo.
    #[serde(skip)]
    pub version: u64,
    /// The monthly series for plan usage (`serve` with plan usage on); `None` until fetched.
    #[serde(default)]
    pub monthly: Option<Monthly>,
}

impl SiteEntry {
    pub fn days(&self) -> impl Iterator<Item = &Day> + '_ {
        self.days.iter().map(|s| &s.day)
    }

    /// Stale: the last fetch failed and nothing succeeded for longer than `max_age` seconds.
    /// Its data is still served (it is the best there is) until the site leaves the lists.
    pub fn is_stale(&self, now: i64, max_age: i64) -> bool {
        self.last_error.is_some() && self.last_refresh.is_none_or(|t| now - t > max_age)
    }

    /// Why the site has no data to show yet although its fetches succeed.
    pub fn waiting(&self) -> Option<&'static str> {
        self.zero_since
            .map(|_| "all-zero answers held back: Pantheon may be rebuilding its daily metrics")
    }

    /// True when the held days should be fetched in full once: a zero day that a fetch
    /// contradicted, or zero days nobody confirmed (restored from a state file, or older
    /// than the refresh window of a site that has traffic).
    fn suspect_zeros(&self) -> bool {
        !self.zeros_checked && self.days.iter().any(|d| d.day.is_zero())
    }
}

/// All sites held, sorted as the exposition wants them.
///
/// Each entry sits behind an `Arc` and is changed copy-on-write ([`Arc::make_mut`]), so a
/// [`Snapshot`] costs one reference count per site and readers (the renderer, the page, the
/// state file) do their work after the lock is gone; an entry a snapshot still holds is
/// copied once, on its next change.
#[derive(Default, Debug)]
pub struct Store {
    sites: BTreeMap<SiteKey, Arc<SiteEntry>>,
    by_id: HashMap<String, SiteKey>,
    /// Bumped on every change; a renderer compares it with what it rendered last.
    generation: u64,
    /// Sites held with `backfilled == false` (kept here so reading it costs nothing). Every
    /// path that adds, removes or backfills a site adjusts it, and tests compare it with a
    /// count of the entries.
    pending: usize,
}

/// The sites of a [`Store`] at one generation, in exposition order, shared rather than
/// copied: taking one under the store's lock costs one reference count per site.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// [`Store::generation`] when it was taken.
    pub generation: u64,
    pub sites: Vec<Arc<SiteEntry>>,
}

impl Snapshot {
    pub fn len(&self) -> usize {
        self.sites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Sites still waiting for a successful full-history fetch.
    pub fn pending_backfill(&self) -> usize {
        self.pending
    }

    pub fn len(&self) -> usize {
        self.sites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&SiteEntry> {
        self.by_id
            .get(id)
            .and_then(|k| self.sites.get(k))
            .map(|e| &**e)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&SiteKey, &SiteEntry)> + '_ {
        self.sites.iter().map(|(k, e)| (k, &**e))
    }

    /// Every site as it is now, for work done after the lock is released.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            generation: self.generation,
            sites: self.sites.values().cloned().collect(),
        }
    }

    /// The entry of `id`, ready to change (copied first if a snapshot still shares it).
    fn entry_mut(&mut self, id: &str) -> Option<&mut SiteEntry> {
        let key = self.by_id.get(id)?;
        self.sites.get_mut(key).map(Arc::make_mut)
    }

    /// Adds a site, or updates its labels and owner when it is already held (its days stay).
    /// Returns true when the site is new.
    pub fn upsert_site(&mut self, account: Arc<str>, owner: usize, site: Arc<Site>) -> bool {
        let key = SiteKey {
            account: account.clone(),
            name: site.name.clone(),
            id: site.id.clone(),
        };
        if let Some(old_key) = self.by_id.get(&site.id).cloned() {
            let same = self
                .sites
                .get(&old_key)
                .is_some_and(|e| e.owner == owner && e.site == site && e.account == account);
            if same {
                return false;
            }
            if let Some(mut shared) = self.sites.remove(&old_key) {
                let entry = Arc::make_mut(&mut shared);
                entry.account = account;
                entry.owner = owner;
                entry.site = site;
                entry.version += 1;
                self.by_id.insert(key.id.clone(), key.clone());
                self.sites.insert(key, shared);
                self.generation += 1;
            }
            return false;
        }
        self.by_id.insert(key.id.clone(), key.clone());
        self.sites.insert(
            key,
            Arc::new(SiteEntry {
                account,
                owner,
                site,
                days: Vec::new(),
                last_refresh: None,
                last_error: None,
                backfilled: false,
                zero_since: None,
                zeros_checked: false,
                version: 0,
                monthly: None,
            }),
        );
        self.pending += 1;
        self.generation += 1;
        true
    }

    /// Puts back a site as it was saved (`serve --state-file`): its days (sorted by
    /// timestamp, one per day), last refresh and backfill state. A site already held is
    /// left alone. Returns true when the site was added.
    pub fn restore_site(
        &mut self,
        account: Arc<str>,
        owner: usize,
        site: Arc<Site>,
        saved: Restored,
    ) -> bool {
        if !self.upsert_site(account, owner, site.clone()) {
            return false;
        }
        let backfilled = saved.backfilled;
        if let Some(entry) = self.entry_mut(&site.id) {
            entry.days = saved.days;
            entry.last_refresh = saved.last_refresh;
            entry.backfilled = saved.backfilled;
            entry.zeros_checked = saved.zeros_checked;
            entry.monthly = saved.monthly;
            entry.version += 1;
            // `upsert_site` counted the site as pending; a restored backfill is not.
            if backfilled {
                self.pending -= 1;
            }
            self.generation += 1;
        }
        true
    }

    /// Forgets a site (it left every site list).
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(key) = self.by_id.remove(id) else {
            return false;
        };
        if self.sites.remove(&key).is_some_and(|e| !e.backfilled) {
            self.pending -= 1;
        }
        self.generation += 1;
        true
    }

    /// Ids of every site held.
    pub fn ids(&self) -> Vec<String> {
        self.sites.values().map(|e| e.site.id.clone()).collect()
    }

    /// Records a successful fetch. `full` marks a full-history fetch (backfill or repair).
    ///
    /// An all-zero answer for a site that holds no days is held back ([`Merge::HeldBack`])
    /// until such answers have lasted [`REBUILD_LASTS`]: better no sample than a wrong zero.
    /// Check [`Store::needs_repair`] afterwards.
    pub fn record_fetch(&mut self, id: &str, fresh: &[Day], full: bool, now: i64) -> Option<Merge> {
        let entry = self.entry_mut(id)?;
        entry.last_error = None;
        let keep = keep_from(now);
        let answer_all_zero = {
            let mut relevant = fresh.iter().filter(|d| d.timestamp >= keep).peekable();
            relevant.peek().is_some() && relevant.all(Day::is_zero)
        };
        if answer_all_zero && entry.days.is_empty() {
            let since = *entry.zero_since.get_or_insert(now);
            if now - since < REBUILD_LASTS {
                return Some(Merge::HeldBack);
            }
            // Zeros for longer than a rebuild lasts: the site has no traffic.
        }
        let was_waiting = entry.zero_since.take().is_some();
        // A fetch that brings traffic for a complete day held as zero: the zeros held may be
        // a rebuild's, so the whole history is fetched again once. (Today's partial day
        // starts at zero every night; that contradicts nothing.)
        let today = day_start(now);
        let contradicts = fresh.iter().any(|d| {
            d.timestamp < today
                && !d.is_zero()
                && entry
                    .days
                    .binary_search_by_key(&d.timestamp, |s| s.day.timestamp)
                    .is_ok_and(|i| entry.days[i].day.is_zero())
        });
        let merge = merge_days(&mut entry.days, fresh, now, keep);
        let mut backfilled = false;
        if merge != Merge::Rebuild {
            entry.last_refresh = Some(now);
            if full {
                entry.zeros_checked = true;
                if !entry.backfilled {
                    entry.backfilled = true;
                    backfilled = true;
                }
            } else if contradicts {
                entry.zeros_checked = false;
            }
        }
        let changed = matches!(merge, Merge::Changed(_));
        if changed || was_waiting {
            entry.version += 1;
            self.generation += 1;
        }
        if backfilled {
            self.pending -= 1;
        }
        Some(merge)
    }

    /// True when the site's held zero days should be checked by a full fetch (see
    /// [`SiteEntry::waiting`] for the other half of the rebuild guard).
    pub fn needs_repair(&self, id: &str) -> bool {
        self.get(id).is_some_and(|e| {
            e.backfilled && e.suspect_zeros() && e.days.iter().any(|d| !d.day.is_zero())
        })
    }

    /// True when the site's monthly series should be fetched: it is held and has none yet,
    /// or only one fetched on an earlier UTC day than `now`.
    pub fn monthly_due(&self, id: &str, now: i64) -> bool {
        self.get(id)
            .is_some_and(|e| e.monthly.as_ref().is_none_or(|m| m.is_due(now)))
    }

    /// Records a site's monthly series, fetched at `now` right after its daily days were
    /// merged. Returns `Some(true)` when what is held changed, `Some(false)` when not, and
    /// `None` when the site is gone or the answer was refused: all zeros where the months
    /// held have traffic is Pantheon's daily rebuild, kept out like the daily zeros (the
    /// months stay due and are asked again at the next refresh).
    pub fn record_monthly(&mut self, id: &str, months: &[Day], now: i64) -> Option<bool> {
        let entry = self.entry_mut(id)?;
        let held_traffic = entry
            .monthly
            .as_ref()
            .is_some_and(|m| m.months.iter().any(|d| d.visits > 0));
        if held_traffic && months.iter().all(Day::is_zero) {
            return None;
        }
        let today = day_start(now);
        let today_visits = entry
            .days
            .binary_search_by_key(&today, |s| s.day.timestamp)
            .ok()
            .map(|i| entry.days[i].day.visits);
        let fresh = Monthly {
            months: months.to_vec(),
            fetched_at: now,
            today_visits,
        };
        // The fetch time alone moving on is no change; a new day, new months or a new
        // partial day is.
        let changed = entry.monthly.as_ref().is_none_or(|m| {
            m.months != fresh.months
                || m.today_visits != fresh.today_visits
                || day_start(m.fetched_at) != today
        });
        entry.monthly = Some(fresh);
        if changed {
            entry.version += 1;
            self.generation += 1;
        }
        Some(changed)
    }

    /// Records a failed fetch: the days stay, the error is shown.
    pub fn record_error(&mut self, id: &str, error: String) {
        if let Some(entry) = self.entry_mut(id) {
            entry.last_error = Some(error);
        }
    }

    /// Drops days that fell out of the window (called as days pass even without fetches).
    pub fn trim(&mut self, now: i64) {
        let from = keep_from(now);
        let mut changed = false;
        for shared in self.sites.values_mut() {
            // Look before writing, so entries with nothing to drop are not copied.
            if shared.days.first().is_none_or(|d| d.day.timestamp >= from) {
                continue;
            }
            let entry = Arc::make_mut(shared);
            entry.days.retain(|d| d.day.timestamp >= from);
            entry.version += 1;
            changed = true;
        }
        if changed {
            self.generation += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_762_732_800; // 2025-11-10

    fn d(i: i64, v: u64) -> Day {
        Day {
            timestamp: T0 + i * DAY_SECONDS,
            visits: v,
            pages_served: v * 2,
            cache_hits: v,
            cache_misses: v,
        }
    }

    fn site(id: &str, name: &str) -> Arc<Site> {
        Arc::new(Site {
            id: id.into(),
            name: name.into(),
            label: name.into(),
            ..Site::default()
        })
    }

    #[test]
    fn refresh_never_erases_older_days() {
        let mut held = Vec::new();
        let fresh: Vec<Day> = (0..28).map(|i| d(i, 10 + i as u64)).collect();
        assert_eq!(merge_days(&mut held, &fresh, 1, T0), Merge::Changed(28));
        assert_eq!(
            merge_days(&mut held, &[d(26, 99), d(27, 37)], 2, T0),
            Merge::Changed(1)
        );
        assert_eq!(held.len(), 28);
        assert_eq!(held[26].day.visits, 99);
        assert_eq!(held[26].learned_at, 2);
        assert_eq!(held[0].learned_at, 1);
    }

    #[test]
    fn rebuild_zeros_are_ignored_but_new_zero_sites_are_stored() {
        let mut held = Vec::new();
        assert_eq!(
            merge_days(&mut held, &[d(0, 0), d(1, 0)], 1, T0),
            Merge::Changed(2)
        );
        let mut busy = vec![];
        merge_days(&mut busy, &[d(0, 5), d(1, 6)], 1, T0);
        assert_eq!(
            merge_days(&mut busy, &[d(0, 0), d(1, 0)], 2, T0),
            Merge::Rebuild
        );
        assert_eq!(busy[1].day.visits, 6);
        // A zero day never overwrites a day with traffic, even beside real data.
        assert_eq!(
            merge_days(&mut busy, &[d(1, 0), d(2, 3)], 3, T0),
            Merge::Changed(1)
        );
        assert_eq!(busy[1].day.visits, 6);
        // A new all-zero day after days with traffic (no overlap) is real.
        assert_eq!(merge_days(&mut busy, &[d(3, 0)], 4, T0), Merge::Changed(1));
    }

    #[test]
    fn old_days_fall_out_of_the_window() {
        let mut held = Vec::new();
        merge_days(&mut held, &[d(0, 1), d(1, 1), d(2, 1)], 1, T0);
        assert_eq!(
            merge_days(&mut held, &[], 2, T0 + 2 * DAY_SECONDS),
            Merge::Changed(2)
        );
        assert_eq!(held.len(), 1);
        assert_eq!(keep_from(T0 + 3600), T0 - 28 * DAY_SECONDS);
    }

    #[test]
    fn store_orders_by_account_then_name_and_keeps_days_on_relabel() {
        let mut store = Store::new();
        assert!(store.upsert_site(Arc::from("b@x"), 2, site("1", "alpha")));
        assert!(store.upsert_site(Arc::from("a@x"), 1, site("2", "zulu")));
        assert!(store.upsert_site(Arc::from("a@x"), 1, site("3", "beta")));
        let names: Vec<_> = store.iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(names, ["beta", "zulu", "alpha"]);

        let now = T0 + DAY_SECONDS;
        store.record_fetch("1", &[d(0, 5)], true, now);
        let g = store.generation();
        assert!(!store.upsert_site(Arc::from("b@x"), 2, site("1", "alpha")));
        assert_eq!(store.generation(), g, "an unchanged site is no change");
        assert!(!store.upsert_site(Arc::from("b@x"), 2, site("1", "aardvark")));
        assert_eq!(store.get("1").unwrap().days.len(), 1);
        assert!(store.remove("1"));
        assert!(store.get("1").is_none());
    }

    /// `now` on day `i` (T0 + i days) at noon.
    fn noon(i: i64) -> i64 {
        T0 + i * DAY_SECONDS + DAY_SECONDS / 2
    }

    #[test]
    fn zeros_for_a_site_without_traffic_wait_longer_than_a_rebuild() {
        let mut store = Store::new();
        store.upsert_site(Arc::from("a@x"), 1, site("1", "s"));
        let zeros: Vec<Day> = (0..5).map(|i| d(i, 0)).collect();
        let t = noon(4);
        assert_eq!(
            store.record_fetch("1", &zeros, true, t),
            Some(Merge::HeldBack)
        );
        let e = store.get("1").unwrap();
        assert!(e.days.is_empty() && !e.backfilled && e.waiting().is_some());
        assert_eq!(
            store.record_fetch("1", &zeros, true, t + REBUILD_LASTS - 1),
            Some(Merge::HeldBack),
            "still inside a rebuild's length"
        );
        assert_eq!(
            store.record_fetch("1", &zeros, true, t + REBUILD_LASTS),
            Some(Merge::Changed(5)),
            "longer than any rebuild: the site has no traffic"
        );
        let e = store.get("1").unwrap();
        assert!(e.backfilled && e.waiting().is_none());
    }

    #[test]
    fn traffic_after_held_back_zeros_is_stored_at_once() {
        let mut store = Store::new();
        store.upsert_site(Arc::from("a@x"), 1, site("1", "s"));
        let t = noon(4);
        let zeros: Vec<Day> = (0..5).map(|i| d(i, 0)).collect();
        assert_eq!(
            store.record_fetch("1", &zeros, true, t),
            Some(Merge::HeldBack)
        );
        let real: Vec<Day> = (0..5).map(|i| d(i, 10 + i as u64)).collect();
        assert_eq!(
            store.record_fetch("1", &real, true, t + 600),
            Some(Merge::Changed(5))
        );
        let e = store.get("1").unwrap();
        assert!(e.waiting().is_none() && e.days.iter().all(|s| !s.day.is_zero()));
        assert!(!store.needs_repair("1"));
    }

    #[test]
    fn traffic_for_a_held_zero_day_asks_for_a_repair_once() {
        let mut store = Store::new();
        store.upsert_site(Arc::from("a@x"), 1, site("1", "s"));
        // Backfilled with two zero days among traffic: real as far as anyone knows.
        let mut days: Vec<Day> = (0..5).map(|i| d(i, 7)).collect();
        days[0] = d(0, 0);
        days[1] = d(1, 0);
        store.record_fetch("1", &days, true, noon(4));
        assert!(!store.needs_repair("1"), "a full fetch confirmed the zero");
        // A refresh of today only: today's partial day starting at zero contradicts nothing.
        store.record_fetch("1", &[d(4, 0)], false, noon(4) + 60);
        store.record_fetch("1", &[d(4, 9)], false, noon(4) + 120);
        assert!(!store.needs_repair("1"));
        // A refresh that brings traffic for a complete day held as zero.
        store.record_fetch("1", &[d(1, 3), d(2, 7)], false, noon(4) + 180);
        assert!(
            store.needs_repair("1"),
            "the other zero may be a rebuild's too"
        );
        store.record_fetch("1", &days, true, noon(4) + 240);
        assert!(!store.needs_repair("1"), "repaired once");
    }

    #[test]
    fn restored_zero_days_are_checked_by_one_full_fetch() {
        let mut store = Store::new();
        let held: Vec<StoredDay> = [d(0, 5), d(1, 0), d(2, 6)]
            .into_iter()
            .map(|day| StoredDay { day, learned_at: 1 })
            .collect();
        // An older state file, written before zero days were confirmed.
        store.restore_site(
            Arc::from("a@x"),
            1,
            site("1", "s"),
            Restored {
                days: held,
                last_refresh: Some(1),
                backfilled: true,
                zeros_checked: false,
                monthly: None,
            },
        );
        assert!(store.needs_repair("1"));
        let answer = [d(0, 5), d(1, 4), d(2, 6)];
        assert_eq!(
            store.record_fetch("1", &answer, true, noon(2)),
            Some(Merge::Changed(1))
        );
        assert!(!store.needs_repair("1"));
        assert_eq!(
            store.get("1").unwrap().days[1].day.visits,
            4,
            "the zero repaired"
        );
    }

    #[test]
    fn restored_sites_keep_their_days_and_do_not_replace_held_ones() {
        let mut store = Store::new();
        let held = vec![StoredDay {
            day: d(0, 5),
            learned_at: 7,
        }];
        assert!(store.restore_site(
            Arc::from("a@x"),
            1,
            site("1", "s"),
            Restored {
                days: held.clone(),
                last_refresh: Some(9),
                backfilled: true,
                zeros_checked: true,
                monthly: None,
            }
        ));
        let e = store.get("1").unwrap();
        assert_eq!(
            (e.days.clone(), e.last_refresh, e.backfilled),
            (held, Some(9), true)
        );
        assert!(!store.restore_site(
            Arc::from("a@x"),
            1,
            site("1", "s"),
            Restored {
                days: Vec::new(),
                last_refresh: None,
                backfilled: false,
                zeros_checked: true,
                monthly: None,
            }
        ));
        assert_eq!(store.get("1").unwrap().days.len(), 1);
    }

    /// The pending count as the entries say it.
    fn pending_recount(store: &Store) -> usize {
        store.iter().filter(|(_, e)| !e.backfilled).count()
    }

    #[test]
    fn regression_backfill_pending_overcounts_after_state_file_restore() {
        let mut store = Store::new();
        let held = vec![StoredDay {
            day: d(0, 5),
            learned_at: 7,
        }];
        // Restored with its full history: not pending.
        store.restore_site(
            Arc::from("a@x"),
            1,
            site("1", "s"),
            Restored {
                days: held,
                last_refresh: Some(9),
                backfilled: true,
                zeros_checked: true,
                monthly: None,
            },
        );
        // Restored without it: pending until a full fetch succeeds.
        store.restore_site(
            Arc::from("a@x"),
            1,
            site("2", "t"),
            Restored {
                days: vec![],
                last_refresh: None,
                backfilled: false,
                zeros_checked: true,
                monthly: None,
            },
        );
        assert_eq!(store.pending_backfill(), 1);
        store.record_fetch("2", &[d(0, 3)], true, T0);
        assert_eq!(store.pending_backfill(), 0);
        // A site that leaves before its backfill takes its count with it.
        store.upsert_site(Arc::from("a@x"), 1, site("3", "u"));
        assert_eq!(store.pending_backfill(), 1);
        assert!(store.remove("3"));
        assert_eq!(store.pending_backfill(), 0);
        assert!(store.remove("1"));
        assert_eq!(store.pending_backfill(), 0);
    }

    #[test]
    fn pending_backfill_always_equals_the_entries_not_backfilled() {
        let mut store = Store::new();
        let ops: [&dyn Fn(&mut Store); 10] = [
            &|s| {
                s.upsert_site(Arc::from("a@x"), 1, site("1", "a"));
            },
            &|s| {
                s.restore_site(
                    Arc::from("a@x"),
                    1,
                    site("2", "b"),
                    Restored {
                        days: vec![],
                        last_refresh: Some(1),
                        backfilled: true,
                        zeros_checked: true,
                        monthly: None,
                    },
                );
            },
            &|s| {
                s.restore_site(
                    Arc::from("a@x"),
                    1,
                    site("3", "c"),
                    Restored {
                        days: vec![],
                        last_refresh: None,
                        backfilled: false,
                        zeros_checked: true,
                        monthly: None,
                    },
                );
            },
            &|s| {
                s.record_fetch("1", &[d(0, 1)], false, T0);
            },
            &|s| {
                s.record_fetch("3", &[d(0, 1)], true, T0);
            },
            &|s| {
                s.record_fetch("1", &[d(0, 0)], true, T0);
            },
            &|s| {
                s.upsert_site(Arc::from("b@x"), 2, site("1", "a2"));
            },
            &|s| {
                s.remove("2");
            },
            &|s| {
                s.record_error("3", "HTTP 500".into());
            },
            &|s| {
                s.remove("1");
            },
        ];
        for (i, op) in ops.iter().enumerate() {
            op(&mut store);
            assert_eq!(
                store.pending_backfill(),
                pending_recount(&store),
                "after op {i}"
            );
        }
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_snapshot_keeps_what_it_saw_while_the_store_moves_on() {
        let mut store = Store::new();
        store.upsert_site(Arc::from("a@x"), 1, site("1", "s"));
        store.upsert_site(Arc::from("a@x"), 1, site("2", "t"));
        store.record_fetch("1", &[d(0, 5)], true, T0);
        let before = store.snapshot();
        assert_eq!(before.generation, store.generation());
        assert_eq!(before.len(), 2);

        store.record_fetch("1", &[d(1, 6)], false, T0);
        store.remove("2");
        let after = store.snapshot();
        assert_eq!(
            before.sites[0].days.len(),
            1,
            "the old snapshot is untouched"
        );
        assert_eq!(before.len(), 2);
        assert_eq!(after.sites[0].days.len(), 2);
        assert_eq!(after.len(), 1);
        assert!(after.generation > before.generation);
        // Unchanged entries are shared, not copied.
        let again = store.snapshot();
        assert!(Arc::ptr_eq(&after.sites[0], &again.sites[0]));
    }

    #[test]
    fn trim_drops_old_days_and_copies_only_the_entries_it_changes() {
        let mut store = Store::new();
        store.upsert_site(Arc::from("a@x"), 1, site("1", "old"));
        store.upsert_site(Arc::from("a@x"), 1, site("2", "new"));
        store.record_fetch("1", &[d(0, 5), d(1, 5)], true, T0 + DAY_SECONDS);
        store.record_fetch("2", &[d(1, 5)], true, T0 + DAY_SECONDS);
        let held = store.snapshot();
        let g = store.generation();
        store.trim(T0 + 29 * DAY_SECONDS);
        assert_eq!(store.get("1").unwrap().days.len(), 1);
        assert!(store.generation() > g);
        // In order: "new" (kept whole, shared) then "old" (trimmed, copied).
        let now = store.snapshot();
        assert!(Arc::ptr_eq(&held.sites[0], &now.sites[0]));
        assert!(!Arc::ptr_eq(&held.sites[1], &now.sites[1]));
        assert_eq!(held.sites[1].days.len(), 2);
    }

    #[test]
    fn failed_fetch_keeps_days() {
        let mut store = Store::new();
        store.upsert_site(Arc::from("a@x"), 1, site("1", "s"));
        store.record_fetch("1", &[d(0, 5)], true, T0);
        store.record_error("1", "HTTP 503".into());
        let e = store.get("1").unwrap();
        assert_eq!(e.days.len(), 1);
        assert_eq!(e.last_error.as_deref(), Some("HTTP 503"));
    }
}
