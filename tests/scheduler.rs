//! The scheduler and the renderer in-process on tokio's paused clock, against the fake API
//! (real HTTP on 127.0.0.1) in the same current-thread runtime: refresh intervals, the
//! rebuild retry and session lifetimes pass in virtual time, so these tests neither sleep
//! nor depend on the machine being idle.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use pantheon_metrics::fake::{FakeSite, RouteKind};
use pantheon_metrics::serve::{REBUILD_RETRY, batch_size};
use support::*;
use tokio::time::Instant;

fn full_history(text: &str, sites: usize) -> bool {
    samples(text, "pantheon_visits").len() == sites * 28
}

/// Starts `sites` sites with `interval` and `tick`, and waits for their backfill.
async fn backfilled(sites: usize, interval: Duration, tick: Duration) -> InProcess {
    let ex = InProcess::start(
        single_account_world(sites),
        InProcess::settings(interval, tick),
        InProcess::client(),
    )
    .await;
    ex.wait_metrics(Duration::from_secs(10), |t| full_history(t, sites))
        .await;
    let log = ex.fake.log();
    assert_eq!(
        log.count(RouteKind::Traffic),
        sites,
        "one backfill per site"
    );
    assert!(
        log.of(RouteKind::Traffic)
            .all(|e| e.query_param("duration") == Some("28d"))
    );
    ex
}

/// Traffic requests per site id in `[from, to)`.
fn traffic_between(ex: &InProcess, from: Instant, to: Instant) -> BTreeMap<String, usize> {
    let mut per_site = BTreeMap::new();
    for e in ex.fake.log().of(RouteKind::Traffic) {
        if e.at >= from.into_std() && e.at < to.into_std() {
            *per_site.entry(e.site_id.clone().unwrap()).or_default() += 1;
        }
    }
    per_site
}

#[tokio::test(start_paused = true)]
async fn each_site_is_refreshed_exactly_once_per_interval_and_no_tick_bursts() {
    const SITES: usize = 10;
    let (interval, tick) = (Duration::from_secs(60), Duration::from_secs(5));
    let ex = backfilled(SITES, interval, tick).await;
    ex.fake.reset_log();
    let start = Instant::now();
    tokio::time::sleep(interval * 3).await;

    let log = ex.fake.log();
    let refreshes: Vec<_> = log.of(RouteKind::Traffic).collect();
    assert!(
        refreshes
            .iter()
            .all(|e| e.query_param("duration") == Some("2d")),
        "refreshes fetch --refresh-duration"
    );
    // Every site exactly once in each interval.
    for n in 0..3 {
        let from = start + interval * n;
        let per_site = traffic_between(&ex, from, from + interval);
        assert_eq!(per_site.len(), SITES, "interval {n}: {per_site:?}");
        assert!(
            per_site.values().all(|&c| c == 1),
            "interval {n}: {per_site:?}"
        );
    }
    // Requests start on ticks, never more than a batch per tick.
    let max = batch_size(SITES, interval, tick);
    assert_eq!(max, 1);
    let mut per_tick: BTreeMap<u128, usize> = BTreeMap::new();
    for e in &refreshes {
        let since = e.at.duration_since(start.into_std());
        *per_tick
            .entry(since.as_millis() / tick.as_millis())
            .or_default() += 1;
    }
    assert!(
        per_tick.values().all(|&n| n <= max),
        "more than {max} site(s) in a tick: {per_tick:?}"
    );
    assert_eq!(per_tick.values().sum::<usize>(), SITES * 3);
    // Refreshes merge: the history is still complete, and nothing failed.
    let text = ex.metrics();
    assert!(full_history(&text, SITES));
    assert_eq!(
        scalar(&text, "pantheon_exporter_site_refresh_errors_total"),
        Some(0.0)
    );
    ex.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_batch_of_several_sites_per_tick_stays_within_batch_size() {
    const SITES: usize = 25;
    let (interval, tick) = (Duration::from_secs(60), Duration::from_secs(10));
    let ex = backfilled(SITES, interval, tick).await;
    ex.fake.reset_log();
    let start = Instant::now();
    tokio::time::sleep(interval * 2).await;
    let max = batch_size(SITES, interval, tick);
    assert_eq!(max, 5);
    let mut per_tick: BTreeMap<u128, usize> = BTreeMap::new();
    for e in ex.fake.log().of(RouteKind::Traffic) {
        let since = e.at.duration_since(start.into_std());
        *per_tick
            .entry(since.as_millis() / tick.as_millis())
            .or_default() += 1;
    }
    assert!(per_tick.values().all(|&n| n <= max), "{per_tick:?}");
    for n in 0..2 {
        let from = start + interval * n;
        let per_site = traffic_between(&ex, from, from + interval);
        assert_eq!(per_site.len(), SITES, "interval {n}");
        assert!(per_site.values().all(|&c| c == 1), "{per_site:?}");
    }
    ex.stop().await;
}

#[tokio::test(start_paused = true)]
async fn new_sites_are_backfilled_at_once_and_removed_sites_are_dropped() {
    // One site list a minute, a tick every 10 s: 3 sites are refreshed only every 20 s.
    let (interval, tick) = (Duration::from_secs(60), Duration::from_secs(10));
    let ex = backfilled(3, interval, tick).await;
    let gone = ex.config.sites[1].clone();
    ex.fake.add_site(0, FakeSite::new("newcomer"));
    ex.fake.remove_site(&gone.id);
    ex.fake.reset_log();
    let text = ex
        .wait_metrics(interval * 2, |t| {
            samples(t, "pantheon_visits")
                .iter()
                .filter(|(l, _, _)| l.contains("name=\"newcomer\""))
                .count()
                == 28
        })
        .await;
    assert!(
        !text.contains(&format!("name=\"{}\"", gone.name)),
        "the removed site is dropped with the same site list"
    );
    assert!(text.contains("name=\"site-000\""));
    let log = ex.fake.log();
    let list = log.of(RouteKind::UserSites).next().expect("a site list");
    let newcomer = FakeSite::new("newcomer").id;
    let backfill = log
        .of(RouteKind::Traffic)
        .find(|e| e.site_id.as_deref() == Some(newcomer.as_str()))
        .expect("the new site was fetched");
    assert_eq!(backfill.query_param("duration"), Some("28d"));
    assert!(
        backfill.at - list.at < tick,
        "backfilled {:?} after the list, not at once",
        backfill.at - list.at
    );
    // Once a site list no longer has it, nothing asks for the removed site again.
    let dropped_at = list.at;
    tokio::time::sleep(interval * 2).await;
    let after: Vec<_> = ex
        .fake
        .log()
        .of(RouteKind::Traffic)
        .filter(|e| e.site_id.as_deref() == Some(gone.id.as_str()) && e.at >= dropped_at)
        .map(|e| e.at - dropped_at)
        .collect();
    assert!(
        after.is_empty(),
        "the removed site is still fetched: {after:?}"
    );
    assert_eq!(ex.shared.store.lock().unwrap().len(), 3);
    ex.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_rebuild_answer_is_asked_again_after_rebuild_retry() {
    // One site, the default hour and minute: the round robin refreshes it once an hour.
    let (interval, tick) = (Duration::from_secs(3600), Duration::from_secs(60));
    let ex = backfilled(1, interval, tick).await;
    let before = ex.metrics();
    ex.fake.set_rebuild(true);
    ex.fake.reset_log();
    let text = ex
        .wait_metrics(interval + tick, |t| {
            scalar(t, "pantheon_exporter_rebuild_responses_ignored_total") == Some(1.0)
        })
        .await;
    assert_eq!(
        samples(&text, "pantheon_visits"),
        samples(&before, "pantheon_visits"),
        "the all-zero answer changed held data"
    );
    ex.fake.set_rebuild(false);
    let rebuilt = ex.fake.log().of(RouteKind::Traffic).next().unwrap().at;
    tokio::time::sleep(REBUILD_RETRY + tick).await;
    let log = ex.fake.log();
    let asked: Vec<_> = log.of(RouteKind::Traffic).map(|e| e.at - rebuilt).collect();
    assert_eq!(asked.len(), 2, "one refresh, one retry: {asked:?}");
    assert!(
        asked[1] >= REBUILD_RETRY && asked[1] <= REBUILD_RETRY + tick,
        "retried after {:?}",
        asked[1]
    );
    assert_eq!(
        scalar(
            &ex.metrics(),
            "pantheon_exporter_rebuild_responses_ignored_total"
        ),
        Some(1.0),
        "the retry got real numbers"
    );
    ex.stop().await;
}

#[tokio::test(start_paused = true)]
async fn sessions_are_renewed_before_they_expire() {
    let mut config = single_account_world(4);
    config.session_ttl = Duration::from_secs(120);
    let ex = InProcess::start(
        config,
        InProcess::settings(Duration::from_secs(60), Duration::from_secs(5)),
        InProcess::client(),
    )
    .await;
    ex.wait_metrics(Duration::from_secs(10), |t| full_history(t, 4))
        .await;
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    let log = ex.fake.log();
    // A 2-minute session is renewed 30 s before it ends: a login every 90 s or so, and
    // never a request the API refuses for an expired session.
    let logins = log.count(RouteKind::Login);
    assert!((18..=25).contains(&logins), "{logins} logins in 30 min");
    assert_eq!(log.count_status(RouteKind::Any, 401), 0);
    assert_eq!(
        scalar(&ex.metrics(), "pantheon_exporter_site_refresh_errors_total"),
        Some(0.0)
    );
    ex.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_revoked_session_is_replaced_with_one_login_and_no_errors() {
    let ex = backfilled(4, Duration::from_secs(8), Duration::from_secs(1)).await;
    ex.fake.reset_log();
    ex.fake.revoke_sessions();
    tokio::time::sleep(Duration::from_secs(16)).await;
    let log = ex.fake.log();
    assert_eq!(log.count(RouteKind::Login), 1, "one login for every caller");
    assert!(log.count_status(RouteKind::Any, 401) >= 1);
    assert_eq!(
        scalar(&ex.metrics(), "pantheon_exporter_site_refresh_errors_total"),
        Some(0.0)
    );
    ex.stop().await;
}

#[tokio::test(start_paused = true)]
async fn days_pass_on_the_paused_clock() {
    let ex = backfilled(1, Duration::from_secs(3600), Duration::from_secs(60)).await;
    let newest = |t: &str| -> i64 {
        samples(t, "pantheon_visits")
            .iter()
            .filter_map(|(_, _, ts)| ts.map(|ts| ts.parse::<i64>().unwrap()))
            .max()
            .unwrap()
    };
    let first = newest(&ex.metrics());
    tokio::time::sleep(Duration::from_secs(2 * 86_400)).await;
    let text = ex.metrics();
    assert_eq!(newest(&text) - first, 2 * 86_400_000, "two days later");
    assert!(full_history(&text, 1), "28 days kept, the oldest trimmed");
    ex.stop().await;
}
