//! `serve --state-file PATH`: what the exporter holds, kept on disk so a restart serves
//! complete data at once and fetches only what is missing or stale.
//!
//! The format is JSON, version 1:
//!
//! ```json
//! {
//!   "version": 1,
//!   "written_at": 1762905600,
//!   "environment": "live",
//!   "sites": [
//!     {
//!       "account": "ops@example.com",
//!       "owner": 1,
//!       "site": {"id": "…", "name": "blog", "label": "Blog", "plan": "Basic",
//!                "framework": "drupal", "region": "", "organization": "",
//!                "frozen": false, "created": 1600000000},
//!       "days": [{"timestamp": 1762732800, "visits": 837, "pages_served": 3081,
//!                 "cache_hits": 119, "cache_misses": 2962, "learned_at": 1762740000}],
//!       "last_refresh": 1762905000,
//!       "backfilled": true,
//!       "zeros_checked": true,
//!       "monthly": {"months": [{"timestamp": 1761955200, "visits": 9120, "pages_served": 33100,
//!                               "cache_hits": 1500, "cache_misses": 31600}],
//!                   "fetched_at": 1762905000, "today_visits": 410}
//!     }
//!   ]
//! }
//! ```
//!
//! Times are Unix seconds; `owner` is the 1-based position of the site's token (fixed up
//! by the first site listing). Unknown fields are ignored; a file with a higher `version`,
//! or one that does not parse, is renamed to `PATH.corrupt-<unix seconds>` and start-up
//! goes on without it. The file is replaced atomically (temporary file in the same folder,
//! written, synced, renamed) after each change, at most once per scheduler tick, and once
//! more on shutdown.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{Shared, lock};
use crate::model::{Day, Site};
use crate::store::{Monthly, Restored, SiteEntry, Store, StoredDay};

/// The format version this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// The whole file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    pub version: u32,
    pub written_at: i64,
    pub environment: String,
    pub sites: Vec<SiteState>,
}

/// One site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteState {
    pub account: String,
    pub owner: usize,
    pub site: Site,
    pub days: Vec<DayState>,
    #[serde(default)]
    pub last_refresh: Option<i64>,
    #[serde(default)]
    pub backfilled: bool,
    /// The zero days held were confirmed by a full fetch (absent in older files: a restart
    /// then checks them with one full fetch).
    #[serde(default)]
    pub zeros_checked: bool,
    /// The monthly series of plan usage; absent in older files and when plan usage is off
    /// (a restart then fetches it with the site's next refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly: Option<Monthly>,
}

/// One day with when its value was learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayState {
    pub timestamp: i64,
    pub visits: u64,
    pub pages_served: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub learned_at: i64,
}

/// Why a state file was not used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the state file is not valid (corrupt or truncated): {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error(
        "the state file has format version {0}; this build reads version {STATE_VERSION} \
         (written by a newer pantheon-metrics?)"
    )]
    FutureVersion(u32),
}

impl StateFile {
    /// A snapshot of the store.
    pub fn of(store: &Store, environment: &str, now: i64) -> StateFile {
        StateFile::of_sites(store.iter().map(|(_, e)| e), environment, now)
    }

    /// The file for these sites (in store order, e.g. from a [`crate::store::Snapshot`]).
    pub fn of_sites<'a>(
        sites: impl Iterator<Item = &'a SiteEntry>,
        environment: &str,
        now: i64,
    ) -> StateFile {
        let sites = sites
            .map(|e| SiteState {
                account: e.account.to_string(),
                owner: e.owner,
                site: (*e.site).clone(),
                days: e
                    .days
                    .iter()
                    .map(|s| DayState {
                        timestamp: s.day.timestamp,
                        visits: s.day.visits,
                        pages_served: s.day.pages_served,
                        cache_hits: s.day.cache_hits,
                        cache_misses: s.day.cache_misses,
                        learned_at: s.learned_at,
                    })
                    .collect(),
                last_refresh: e.last_refresh,
                backfilled: e.backfilled,
                zeros_checked: e.zeros_checked,
                monthly: e.monthly.clone(),
            })
            .collect();
        StateFile {
            version: STATE_VERSION,
            written_at: now,
            environment: environment.to_string(),
            sites,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Plain data: serialising it cannot fail.
        let mut out = serde_json::to_vec(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Parses a file's bytes; a newer version is refused before its content is looked at.
    pub fn decode(bytes: &[u8]) -> Result<StateFile, StateError> {
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let v: Version = serde_json::from_slice(bytes)?;
        if v.version > STATE_VERSION {
            return Err(StateError::FutureVersion(v.version));
        }
        Ok(serde_json::from_slice(bytes)?)
    }

    /// Loads `path`; `Ok(None)` when there is no file yet.
    pub fn load(path: &Path) -> Result<Option<StateFile>, StateError> {
        match std::fs::read(path) {
            Ok(bytes) => StateFile::decode(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Puts the sites into `store` (sites already held are left alone). Days are sorted
    /// and de-duplicated whatever the file says; days that fell out of the 28-day window by
    /// `now` are dropped, and a site left with none is backfilled again. Returns how many
    /// sites were added.
    pub fn restore_into(self, store: &mut Store, now: i64) -> usize {
        let from = crate::store::keep_from(now);
        let mut added = 0;
        for s in self.sites {
            if s.site.id.is_empty() {
                continue;
            }
            let mut days: Vec<StoredDay> = s
                .days
                .iter()
                .map(|d| StoredDay {
                    day: Day {
                        timestamp: d.timestamp,
                        visits: d.visits,
                        pages_served: d.pages_served,
                        cache_hits: d.cache_hits,
                        cache_misses: d.cache_misses,
                    },
                    learned_at: d.learned_at,
                })
                .collect();
            days.retain(|d| d.day.timestamp >= from);
            days.sort_by_key(|d| d.day.timestamp);
            days.dedup_by_key(|d| d.day.timestamp);
            let backfilled = s.backfilled && !days.is_empty();
            if store.restore_site(
                Arc::from(s.account.as_str()),
                s.owner,
                Arc::new(s.site),
                Restored {
                    days,
                    last_refresh: s.last_refresh,
                    backfilled,
                    zeros_checked: s.zeros_checked,
                    monthly: s.monthly,
                },
            ) {
                added += 1;
            }
        }
        added
    }
}

/// Renames a file that could not be used to `PATH.corrupt-<unix seconds>`.
pub fn set_aside(path: &Path, now: i64) -> std::io::Result<PathBuf> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".corrupt-{now}"));
    let aside = PathBuf::from(name);
    std::fs::rename(path, &aside)?;
    Ok(aside)
}

/// Loads the state file into the store at start-up. A file that cannot be used is logged
/// and set aside; start-up goes on without it. Returns the sites restored.
pub async fn restore(shared: &Shared, path: &Path) -> usize {
    let now = shared.clock.now();
    let owned = path.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || StateFile::load(&owned))
        .await
        .unwrap_or_else(|e| Err(StateError::Io(std::io::Error::other(e.to_string()))));
    let state = match loaded {
        Ok(Some(state)) => state,
        Ok(None) => {
            tracing::info!(path = %path.display(), "no state file yet; starting empty");
            return 0;
        }
        Err(e) => {
            let aside = match e {
                StateError::Io(_) => None,
                _ => Some(set_aside(path, now)),
            };
            match aside {
                Some(Ok(to)) => {
                    tracing::warn!(path = %path.display(), error = %e, moved_to = %to.display(), "state file not usable; set it aside and starting empty")
                }
                Some(Err(rename)) => {
                    tracing::warn!(path = %path.display(), error = %e, rename_error = %rename, "state file not usable (and could not be renamed); starting empty")
                }
                None => {
                    tracing::warn!(path = %path.display(), error = %e, "state file not readable; starting empty")
                }
            }
            return 0;
        }
    };
    if state.environment != *shared.settings.environment {
        tracing::warn!(path = %path.display(), held = %state.environment, wanted = %shared.settings.environment, "state file holds another environment's traffic; ignoring it");
        return 0;
    }
    let mut store = lock(&shared.store);
    let restored = state.restore_into(&mut store, now);
    tracing::info!(path = %path.display(), sites = restored, "restored the state file");
    restored
}

/// Writes the state after changes, at most once per `every`, and once more at shutdown.
pub async fn persist_loop(
    shared: Arc<Shared>,
    path: PathBuf,
    every: std::time::Duration,
    cancel: CancellationToken,
) {
    let mut written = shared.state_changes.load(Ordering::SeqCst);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = cancel.cancelled() => true,
            _ = ticks.tick() => false,
        };
        let changes = shared.state_changes.load(Ordering::SeqCst);
        if changes != written {
            // Only the snapshot is taken under the lock; building and encoding the file
            // happen on the blocking thread that writes it.
            let snapshot = lock(&shared.store).snapshot();
            let environment = shared.settings.environment.clone();
            let now = shared.clock.now();
            let target = path.clone();
            let result = tokio::task::spawn_blocking(move || {
                let state =
                    StateFile::of_sites(snapshot.sites.iter().map(|e| &**e), &environment, now);
                crate::output::write_atomic(&target, &state.encode())
            })
            .await;
            match result {
                Ok(Ok(())) => written = changes,
                Ok(Err(e)) => {
                    tracing::warn!(path = %path.display(), error = %e, "could not write the state file")
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "could not write the state file")
                }
            }
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DAY_SECONDS;

    const T0: i64 = 1_762_732_800;

    fn store() -> Store {
        let mut store = Store::new();
        for i in 0..3 {
            let id = format!("id-{i}");
            store.upsert_site(
                Arc::from("ops@example.com"),
                1,
                Arc::new(Site {
                    id: id.clone(),
                    name: format!("site-{i}"),
                    label: format!("Site \"{i}\"\n"),
                    plan: "Basic".into(),
                    ..Site::default()
                }),
            );
            let days: Vec<Day> = (0..4)
                .map(|d| Day {
                    timestamp: T0 + d * DAY_SECONDS,
                    visits: 10 + d as u64,
                    pages_served: 20,
                    cache_hits: 5,
                    cache_misses: 15,
                })
                .collect();
            store.record_fetch(&id, &days, i != 2, T0 + 4 * DAY_SECONDS);
        }
        store
    }

    #[test]
    fn state_round_trips_through_the_file_format() {
        let now = T0 + 4 * DAY_SECONDS;
        let original = store();
        let state = StateFile::of(&original, "live", now);
        let bytes = state.encode();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\"version\":1,"), "{text}");
        let back = StateFile::decode(&bytes).unwrap();
        assert_eq!(back, state);
        let mut restored = Store::new();
        assert_eq!(back.restore_into(&mut restored, now), 3);
        for ((_, a), (_, b)) in original.iter().zip(restored.iter()) {
            assert_eq!(a.site, b.site);
            assert_eq!(a.days, b.days);
            assert_eq!(a.last_refresh, b.last_refresh);
            assert_eq!(a.backfilled, b.backfilled);
            assert_eq!(a.owner, b.owner);
        }
        assert!(!restored.get("id-2").unwrap().backfilled);
    }

    #[test]
    fn monthly_series_round_trip_and_older_files_have_none() {
        let now = T0 + 4 * DAY_SECONDS;
        let mut original = store();
        let months = [Day {
            timestamp: 1_761_955_200,
            visits: 9_120,
            ..Day::default()
        }];
        original.record_monthly("id-1", &months, now);
        let text = String::from_utf8(StateFile::of(&original, "live", now).encode()).unwrap();
        assert_eq!(
            text.matches("\"monthly\"").count(),
            1,
            "only where held: {text}"
        );
        let mut restored = Store::new();
        StateFile::decode(text.as_bytes())
            .unwrap()
            .restore_into(&mut restored, now);
        assert_eq!(
            restored.get("id-1").unwrap().monthly,
            original.get("id-1").unwrap().monthly
        );
        assert!(!restored.monthly_due("id-1", now), "fetched today already");
        // A file of an older build (no monthly field) restores with none: fetched later.
        let old = text.replace(",\"monthly\":", ",\"ignored\":");
        let mut restored = Store::new();
        StateFile::decode(old.as_bytes())
            .unwrap()
            .restore_into(&mut restored, now);
        assert!(restored.get("id-1").unwrap().monthly.is_none());
        assert!(restored.monthly_due("id-1", now));
    }

    #[test]
    fn corrupt_truncated_and_future_files_are_refused() {
        let bytes = StateFile::of(&store(), "live", T0).encode();
        let truncated = &bytes[..bytes.len() / 2];
        assert!(matches!(
            StateFile::decode(truncated),
            Err(StateError::Corrupt(_))
        ));
        assert!(matches!(
            StateFile::decode(b"\x00\x01garbage"),
            Err(StateError::Corrupt(_))
        ));
        assert!(matches!(
            StateFile::decode(b"{\"sites\": []}"),
            Err(StateError::Corrupt(_))
        ));
        let future =
            String::from_utf8(bytes.clone())
                .unwrap()
                .replacen("\"version\":1", "\"version\":2", 1);
        assert!(matches!(
            StateFile::decode(future.as_bytes()),
            Err(StateError::FutureVersion(2))
        ));
        // A future version whose content this build could not read either: still "future".
        assert!(matches!(
            StateFile::decode(b"{\"version\": 7, \"sites\": \"elsewhere\"}"),
            Err(StateError::FutureVersion(7))
        ));
    }

    #[test]
    fn days_past_the_window_are_dropped_and_emptied_sites_backfilled_again() {
        let state = StateFile::of(&store(), "live", T0);
        let mut restored = Store::new();
        // 40 days later every day is out of the window.
        state.restore_into(&mut restored, T0 + 40 * DAY_SECONDS);
        let e = restored.get("id-0").unwrap();
        assert!(e.days.is_empty());
        assert!(!e.backfilled);
    }

    #[test]
    fn unusable_files_are_set_aside_and_missing_files_are_no_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(StateFile::load(&path).unwrap().is_none());
        std::fs::write(&path, b"{\"version\":1,\"sit").unwrap();
        assert!(StateFile::load(&path).is_err());
        let aside = set_aside(&path, 1234).unwrap();
        assert_eq!(aside, dir.path().join("state.json.corrupt-1234"));
        assert!(!path.exists());
        assert!(aside.exists());
    }

    #[test]
    fn unsorted_and_duplicate_days_are_repaired_on_restore() {
        let mut state = StateFile::of(&store(), "live", T0);
        let days = &mut state.sites[0].days;
        days.reverse();
        let first = days[0];
        days.push(first);
        let mut restored = Store::new();
        state.restore_into(&mut restored, T0 + 4 * DAY_SECONDS);
        let held: Vec<i64> = restored
            .get("id-0")
            .unwrap()
            .days()
            .map(|d| d.timestamp)
            .collect();
        assert_eq!(
            held,
            (0..4).map(|d| T0 + d * DAY_SECONDS).collect::<Vec<_>>()
        );
    }
}
