//! Plan usage in `serve`, in-process on tokio's paused clock against the fake API: the
//! monthly series is fetched once per site per UTC day plus at backfill, through the same
//! round robin, and the usage gauges carry the demo's statuses; an unknown allowance has no
//! sample, never a 0.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use pantheon_metrics::allowances::Allowances;
use pantheon_metrics::fake::{FakeConfig, RouteKind, traffic_for};
use pantheon_metrics::model::{DAY_SECONDS, day_start};
use pantheon_metrics::serve::{PlanUsage, Settings};
use pantheon_metrics::usage::report::GAUGES;
use support::*;

const MTD: &str = "pantheon_month_to_date_visits";
const PROJECTED: &str = "pantheon_month_projected_visits";
const ALLOWANCE: &str = "pantheon_month_allowance_visits";
const MONTHS_OVER: &str = "pantheon_allowance_exceeded_months";

fn with_usage(interval: Duration, tick: Duration, allowances: Allowances) -> Settings {
    Settings {
        usage: Some(PlanUsage {
            allowances: Arc::new(allowances),
            watch: 0.8,
        }),
        ..InProcess::settings(interval, tick)
    }
}

/// Monthly (`12m`) requests per site id so far.
fn monthly_requests(ex: &InProcess) -> BTreeMap<String, Vec<i64>> {
    let mut per_site: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let started = tokio::time::Instant::now();
    let now = ex.shared.clock.now();
    for e in ex.fake.log().of(RouteKind::Traffic) {
        if e.query_param("duration") == Some("12m") {
            // When it was asked, on the exporter's clock.
            let ago = started.into_std().saturating_duration_since(e.at);
            per_site
                .entry(e.site_id.clone().unwrap())
                .or_default()
                .push(now - ago.as_secs() as i64);
        }
    }
    per_site
}

/// Value of `metric` for the site named `name`, if it has a sample.
fn value_of(text: &str, metric: &str, name: &str) -> Option<f64> {
    parsed_samples(text, metric)
        .into_iter()
        .find(|s| s.label("name") == name)
        .map(|s| s.number())
}

#[tokio::test(start_paused = true)]
async fn monthly_series_once_per_site_per_utc_day_plus_the_backfill() {
    const SITES: usize = 4;
    let (interval, tick) = (Duration::from_secs(3600), Duration::from_secs(60));
    let ex = InProcess::start(
        single_account_world(SITES),
        with_usage(interval, tick, Allowances::default()),
        InProcess::client(),
    )
    .await;
    let text = ex
        .wait_metrics(Duration::from_secs(30), |t| {
            samples(t, MTD).len() == SITES && samples(t, "pantheon_visits").len() == SITES * 28
        })
        .await;
    // Without an allowance: month-to-date and projection, no allowance and months over.
    assert_eq!(samples(&text, PROJECTED).len(), SITES);
    assert!(samples(&text, ALLOWANCE).is_empty(), "unknown is no sample");
    assert!(
        samples(&text, MONTHS_OVER).is_empty(),
        "unknown is no sample"
    );
    for (name, help, _) in GAUGES {
        assert!(
            text.contains(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n")),
            "{name}"
        );
    }
    let at_backfill = monthly_requests(&ex);
    assert_eq!(at_backfill.len(), SITES, "{at_backfill:?}");
    assert!(
        at_backfill.values().all(|t| t.len() == 1),
        "{at_backfill:?}"
    );

    // Move to a midnight at least two refresh intervals away, checking on the way that no
    // site is asked for its months again the same day.
    let now = ex.shared.clock.now();
    let mut midnight = day_start(now) + DAY_SECONDS;
    if midnight - now < 2 * interval.as_secs() as i64 {
        midnight += DAY_SECONDS;
    }
    let first_day = day_start(now);
    tokio::time::sleep(Duration::from_secs((midnight - now - 60) as u64)).await;
    let before = monthly_requests(&ex);
    for (site, asked) in &before {
        // The backfill, then (when the wait crossed a midnight first) once that next day.
        let days: std::collections::BTreeSet<i64> = asked.iter().map(|t| day_start(*t)).collect();
        assert_eq!(
            asked.len(),
            days.len(),
            "{site}: twice in one day: {asked:?}"
        );
        assert!(days.iter().all(|d| *d >= first_day), "{site}: {asked:?}");
    }
    let counted: usize = before.values().map(Vec::len).sum();

    // Across the boundary: each site once more within one refresh interval, then no more.
    tokio::time::sleep(interval + tick * 2 + Duration::from_secs(60)).await;
    let after = monthly_requests(&ex);
    assert_eq!(after.values().map(Vec::len).sum::<usize>(), counted + SITES);
    for (site, asked) in &after {
        let new_day: Vec<&i64> = asked.iter().filter(|t| **t >= midnight).collect();
        assert_eq!(new_day.len(), 1, "{site}: {asked:?}");
    }
    tokio::time::sleep(interval * 3).await;
    let later = monthly_requests(&ex);
    assert_eq!(later, after, "the same UTC day: no more monthly requests");
    // Daily refreshes went on as before: 2 days each, one per site per interval.
    let daily = ex
        .fake
        .log()
        .of(RouteKind::Traffic)
        .filter(|e| e.query_param("duration") == Some("2d"))
        .count();
    assert!(daily >= SITES * 20, "{daily} refreshes");
    ex.stop().await;
}

/// The day the exporter's clock is on, as a date.
fn date_of(ts: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap()
        .date_naive()
}

#[tokio::test(start_paused = true)]
async fn the_demo_shows_every_status_and_unknown_allowances_have_no_sample() {
    let config = FakeConfig::demo();
    let ex = InProcess::start(
        config.clone(),
        with_usage(
            Duration::from_secs(3600),
            Duration::from_secs(60),
            Allowances::demo(),
        ),
        InProcess::client(),
    )
    .await;
    let sites = config.sites.len();
    let text = ex
        .wait_metrics(Duration::from_secs(60), |t| {
            [
                "gamma-site-1",
                "gamma-site-2",
                "gamma-site-3",
                "gamma-site-4",
            ]
            .iter()
            .all(|n| value_of(t, PROJECTED, n).is_some())
                && value_of(t, MTD, "alpha-docs").is_some()
                && value_of(t, MTD, "frozen-archive").is_some()
        })
        .await;
    assert!(samples(&text, MTD).len() <= sites);

    let today = date_of(ex.shared.clock.now());
    let month_start = today.with_day(1).unwrap();
    let ts = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
    for name in [
        "gamma-site-1",
        "gamma-site-2",
        "gamma-site-3",
        "gamma-site-4",
    ] {
        let site = config.site_by_name(name).unwrap();
        // The fake's newest day is yesterday: the month so far is the 1st to yesterday.
        let mut mtd = 0;
        let mut d = month_start;
        while d < today {
            mtd += traffic_for(&site.id, "live", ts(d)).visits;
            d = d.succ_opt().unwrap();
        }
        assert_eq!(value_of(&text, MTD, name), Some(mtd as f64), "{name}");
        let allowance = value_of(&text, ALLOWANCE, name).unwrap();
        let projected = value_of(&text, PROJECTED, name).unwrap();
        assert!(projected >= mtd as f64, "{name}");
        assert!(value_of(&text, MONTHS_OVER, name).is_some(), "{name}");
        let first = today.day() == 1;
        match name {
            // Over: month-to-date above the allowance (on the 1st nothing is reported yet).
            "gamma-site-1" if !first => assert!(mtd as f64 > allowance, "{mtd} {allowance}"),
            "gamma-site-1" => assert!(projected > allowance),
            // Projected over, not over yet.
            "gamma-site-2" if !first => {
                assert!(
                    mtd as f64 <= allowance && projected > allowance,
                    "{projected}"
                )
            }
            // Watch: the projection between 80% and 100% of the allowance.
            "gamma-site-3" => assert!(
                projected >= 0.8 * allowance && projected <= allowance,
                "{projected} of {allowance}"
            ),
            // Ok: below 80%.
            "gamma-site-4" => assert!(projected < 0.8 * allowance, "{projected}"),
            _ => {}
        }
        assert_eq!(
            (name, allowance),
            (
                name,
                if name == "gamma-site-1" {
                    1_000.0
                } else {
                    30_000.0
                }
            )
        );
    }
    // Sandbox (listed without a number) and Elite without a site entry: unknown, so no
    // allowance and no months-over sample, never a 0; month-to-date is still shown.
    for name in ["frozen-archive", "alpha-docs"] {
        assert_eq!(value_of(&text, ALLOWANCE, name), None, "{name}");
        assert_eq!(value_of(&text, MONTHS_OVER, name), None, "{name}");
        assert!(value_of(&text, PROJECTED, name).is_some(), "{name}");
    }
    // A site with an allowance from its plan has one.
    let with_plan = parsed_samples(&text, ALLOWANCE).len();
    assert!(with_plan > 4, "{with_plan}");
    let _ = month_start;
    ex.stop().await;
}
