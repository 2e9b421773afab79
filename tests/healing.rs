//! History that heals (in-process, on tokio's paused clock): Pantheon's daily rebuild
//! window answers every traffic request with zeros for 20-40 minutes. A site that holds no
//! traffic yet must not take those zeros as its history, and zeros held from elsewhere (an
//! older state file) are repaired by one full fetch.

mod support;

use std::time::Duration;

use pantheon_metrics::fake::{FakeConfig, FakeSite, RouteKind, traffic_for};
use pantheon_metrics::serve::state_file::StateFile;
use support::*;

const INTERVAL: Duration = Duration::from_secs(60);
const TICK: Duration = Duration::from_secs(5);

/// A world with sites that have zero days of their own ("spotty" in the fake), so a wrong
/// zero and a real one can be told apart.
fn world(sites: usize) -> FakeConfig {
    single_account_world(sites)
}

/// Every day held, per site, checked against the fake: `Err` names the first difference.
fn held_days_match(ex: &InProcess, want_days: usize) -> Result<(), String> {
    let snapshot = ex.shared.store.lock().unwrap().snapshot();
    if snapshot.sites.len() != ex.config.sites.len() {
        return Err(format!("{} sites held", snapshot.sites.len()));
    }
    for e in &snapshot.sites {
        if e.days.len() != want_days {
            return Err(format!("{}: {} days held", e.site.name, e.days.len()));
        }
        for s in &e.days {
            let want = traffic_for(&e.site.id, "live", s.day.timestamp);
            if s.day != want {
                return Err(format!(
                    "{} {}: held {:?}, API {:?}",
                    e.site.name, s.day.timestamp, s.day, want
                ));
            }
        }
    }
    Ok(())
}

/// Fails when a day held (and so served) is zero while the API has traffic for it.
fn assert_no_wrong_zero(ex: &InProcess) {
    let snapshot = ex.shared.store.lock().unwrap().snapshot();
    for e in &snapshot.sites {
        for s in &e.days {
            let want = traffic_for(&e.site.id, "live", s.day.timestamp);
            assert!(
                !s.day.is_zero() || want.is_zero(),
                "{} served a zero for {} where the API has {:?}",
                e.site.name,
                s.day.timestamp,
                want
            );
        }
    }
}

/// Advances tokio's clock by `d` in small steps, checking on every step that no wrong
/// zero is held.
async fn run_checking(ex: &InProcess, d: Duration) {
    let step = Duration::from_millis(500);
    let mut passed = Duration::ZERO;
    while passed < d {
        tokio::time::sleep(step).await;
        passed += step;
        assert_no_wrong_zero(ex);
        assert!(ex.alive(), "the scheduler ended");
    }
}

/// Waits until every site holds its 28 days as the API has them.
async fn wait_healed(ex: &InProcess, limit: Duration) {
    let start = tokio::time::Instant::now();
    loop {
        assert_no_wrong_zero(ex);
        match held_days_match(ex, 28) {
            Ok(()) => return,
            Err(e) if start.elapsed() > limit => panic!("not healed within {limit:?}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

#[tokio::test(start_paused = true)]
async fn started_inside_a_rebuild_window_the_history_heals() {
    let ex = InProcess::start(
        world(12),
        InProcess::settings(INTERVAL, TICK),
        InProcess::client(),
    )
    .await;
    // The window is open before the first request (spawned tasks have not run yet).
    ex.fake.set_rebuild(true);
    run_checking(&ex, Duration::from_secs(15)).await;
    {
        let snapshot = ex.shared.store.lock().unwrap().snapshot();
        assert_eq!(snapshot.sites.len(), 12, "every site is listed");
        assert!(
            snapshot
                .sites
                .iter()
                .all(|e| e.days.is_empty() && e.waiting().is_some()),
            "sites wait instead of taking the zeros"
        );
    }
    assert!(
        scalar(
            &ex.metrics(),
            "pantheon_exporter_rebuild_responses_ignored_total"
        )
        .unwrap()
            >= 12.0
    );
    ex.fake.set_rebuild(false);
    // Within two refresh intervals of the window's end, every day equals the API's.
    wait_healed(&ex, INTERVAL * 2).await;
    let waiting = ex
        .shared
        .store
        .lock()
        .unwrap()
        .snapshot()
        .sites
        .iter()
        .filter(|e| e.waiting().is_some())
        .count();
    assert_eq!(waiting, 0);
    ex.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_site_added_during_a_window_waits_then_gets_its_history() {
    let ex = InProcess::start(
        world(4),
        InProcess::settings(INTERVAL, TICK),
        InProcess::client(),
    )
    .await;
    wait_healed(&ex, INTERVAL).await;
    ex.fake.set_rebuild(true);
    let late = FakeSite::new("late-site");
    let late_id = late.id.clone();
    ex.fake.add_site(0, late);
    // The next site list finds it; its backfill answers zeros.
    run_checking(&ex, INTERVAL + TICK * 2).await;
    {
        let store = ex.shared.store.lock().unwrap();
        let e = store.get(&late_id).expect("the new site is listed");
        assert!(
            e.days.is_empty(),
            "took the rebuild's zeros: {:?}",
            e.days.len()
        );
        assert!(e.waiting().is_some());
    }
    ex.fake.set_rebuild(false);
    let start = tokio::time::Instant::now();
    loop {
        assert_no_wrong_zero(&ex);
        let days = ex
            .shared
            .store
            .lock()
            .unwrap()
            .get(&late_id)
            .map_or(0, |e| e.days.len());
        if days == 28 {
            break;
        }
        assert!(
            start.elapsed() < INTERVAL * 2,
            "the new site has {days} days"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    ex.stop().await;
}

#[tokio::test(start_paused = true)]
async fn zeros_that_last_longer_than_a_rebuild_are_real() {
    // A site with no visitors at all: its zeros are shown once they outlast a rebuild.
    let ex = InProcess::start(
        world(2),
        InProcess::settings(Duration::from_secs(600), Duration::from_secs(30)),
        InProcess::client(),
    )
    .await;
    ex.fake.set_rebuild(true);
    tokio::time::sleep(Duration::from_secs(40 * 60)).await;
    assert!(
        ex.shared
            .store
            .lock()
            .unwrap()
            .snapshot()
            .sites
            .iter()
            .all(|e| e.days.is_empty())
    );
    tokio::time::sleep(Duration::from_secs(20 * 60)).await;
    let snapshot = ex.shared.store.lock().unwrap().snapshot();
    assert!(
        snapshot
            .sites
            .iter()
            .all(|e| e.days.len() == 28 && e.waiting().is_none()),
        "zeros for an hour are the site's real traffic: {:?}",
        snapshot
            .sites
            .iter()
            .map(|e| (e.days.len(), e.zero_since, e.last_refresh, e.backfilled))
            .collect::<Vec<_>>()
    );
    ex.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_state_file_written_during_a_window_holds_no_zero_and_zeros_restored_are_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    // Written during a window: the sites wait, so the file holds no day for them.
    let ex = InProcess::start(
        world(6),
        InProcess::settings(INTERVAL, TICK),
        InProcess::client(),
    )
    .await;
    ex.fake.set_rebuild(true);
    run_checking(&ex, Duration::from_secs(10)).await;
    let during = {
        let store = ex.shared.store.lock().unwrap();
        StateFile::of(&store, "live", ex.shared.clock.now())
    };
    assert_eq!(during.sites.len(), 6);
    assert!(
        during.sites.iter().all(|s| s.days.is_empty()),
        "a zero was saved"
    );
    ex.fake.set_rebuild(false);
    wait_healed(&ex, INTERVAL * 2).await;
    // An older build's file, written during a window: every site's days zeroed, the
    // newest day but one real (as a refresh after the window would have left it).
    let mut old = {
        let store = ex.shared.store.lock().unwrap();
        StateFile::of(&store, "live", ex.shared.clock.now())
    };
    ex.stop().await;
    for site in &mut old.sites {
        site.zeros_checked = false;
        let n = site.days.len();
        for d in &mut site.days[..n - 2] {
            (d.visits, d.pages_served, d.cache_hits, d.cache_misses) = (0, 0, 0, 0);
        }
    }
    std::fs::write(&path, serde_json::to_vec(&old).unwrap()).unwrap();
    let ex = InProcess::start_restored(
        world(6),
        InProcess::settings(INTERVAL, TICK),
        InProcess::client(),
        Some(&path),
    )
    .await;
    // The first listing checks the restored zeros with one full fetch per site.
    let start = tokio::time::Instant::now();
    loop {
        if held_days_match(&ex, 28).is_ok() {
            break;
        }
        assert!(
            start.elapsed() < INTERVAL * 2,
            "{:?}",
            held_days_match(&ex, 28)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let full = ex
        .fake
        .log()
        .of(RouteKind::Traffic)
        .filter(|e| e.query_param("duration") == Some("28d"))
        .count();
    assert!(full <= 6 * 2, "{full} full fetches for 6 sites");
    ex.stop().await;
}
