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
}

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
    /// Bumped on every change of `days` or labels, so renderers know what to redo.
    #[serde(skip)]
    pub version: u64,
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
                version: 0,
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
        days: Vec<StoredDay>,
        last_refresh: Option<i64>,
        backfilled: bool,
    ) -> bool {
        if !self.upsert_site(account, owner, site.clone()) {
            return false;
        }
        if let Some(entry) = self.entry_mut(&site.id) {
            entry.days = days;
            entry.last_refresh = last_refresh;
            entry.backfilled = backfilled;
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

    /// Records a successful fetch. `full` marks a full-history fetch (backfill done).
    pub fn record_fetch(&mut self, id: &str, fresh: &[Day], full: bool, now: i64) -> Option<Merge> {
        let entry = self.entry_mut(id)?;
        let merge = merge_days(&mut entry.days, fresh, now, keep_from(now));
        entry.last_error = None;
        let mut backfilled = false;
        if merge != Merge::Rebuild {
            entry.last_refresh = Some(now);
            if full && !entry.backfilled {
                entry.backfilled = true;
                backfilled = true;
            }
        }
        let changed = matches!(merge, Merge::Changed(_));
        if changed {
            entry.version += 1;
            self.generation += 1;
        }
        if backfilled {
            self.pending -= 1;
        }
        Some(merge)
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
            held.clone(),
            Some(9),
            true
        ));
        let e = store.get("1").unwrap();
        assert_eq!(
            (e.days.clone(), e.last_refresh, e.backfilled),
            (held, Some(9), true)
        );
        assert!(!store.restore_site(Arc::from("a@x"), 1, site("1", "s"), Vec::new(), None, false));
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
        store.restore_site(Arc::from("a@x"), 1, site("1", "s"), held, Some(9), true);
        // Restored without it: pending until a full fetch succeeds.
        store.restore_site(Arc::from("a@x"), 1, site("2", "t"), vec![], None, false);
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
                s.restore_site(Arc::from("a@x"), 1, site("2", "b"), vec![], Some(1), true);
            },
            &|s| {
                s.restore_site(Arc::from("a@x"), 1, site("3", "c"), vec![], None, false);
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
