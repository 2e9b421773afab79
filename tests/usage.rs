//! `pantheon-metrics usage` (and `fetch --format csv`) against the fake API: statuses,
//! order, exit codes, bad allowance files and CSV round trips.

mod support;

use std::path::PathBuf;

use chrono::NaiveDate;
use pantheon_metrics::fake::{FakeConfig, FakeServer, HOSTILE_LABEL, RouteKind, traffic_for};
use serde_json::Value;
use support::*;

/// The report's date in these tests, and the fake's newest (complete) day before it.
const TODAY: &str = "2026-03-15";

fn ts(date: &str) -> i64 {
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp()
}

/// The demo world, with its newest day pinned to the day before `today`.
fn demo_world(today: &str) -> FakeConfig {
    FakeConfig {
        today: Some(ts(today) - 86_400),
        ..FakeConfig::demo()
    }
}

fn demo_allowances() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/usage/demo-allowances.yml")
}

/// Runs `usage` with the demo's allowances file, pinned to `TODAY`.
async fn usage(server: &FakeServer, config: &FakeConfig, extra: &[&str]) -> Run {
    let allowances = demo_allowances();
    let mut args = vec![
        "usage",
        "--today",
        TODAY,
        "--allowances",
        allowances.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(server, &tokens_of(config), &args).await
}

fn row<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["site"]["name"] == name)
        .unwrap_or_else(|| panic!("no row for {name}"))
}

#[tokio::test]
async fn statuses_order_and_numbers_match_the_api() {
    let config = demo_world(TODAY);
    let server = FakeServer::start(config.clone()).await.unwrap();
    let run = usage(&server, &config, &["--format", "json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["month"], "2026-03");
    assert_eq!(report["date"], TODAY);
    assert!(
        report["projection"]
            .as_str()
            .unwrap()
            .contains("7 complete days")
    );

    for (name, status) in [
        ("gamma-site-1", "over"),
        ("gamma-site-2", "projected-over"),
        ("gamma-site-3", "watch"),
        ("gamma-site-4", "ok"),
        ("frozen-archive", "unknown"), // Sandbox: listed without a number
        ("alpha-docs", "unknown"),     // Elite without a site entry
    ] {
        assert_eq!(row(&report, name)["status"], status, "{name}");
    }
    let unknown = row(&report, "alpha-docs");
    for key in ["allowance", "projected_percent", "months_over_this_year"] {
        assert!(
            unknown[key].is_null(),
            "{key} of an unknown site is null, not 0"
        );
    }

    // Month-to-date is the monthly bucket, and on the fake it is the sum of the month's days.
    let site = config.site_by_name("gamma-site-2").unwrap();
    let march: u64 = (1..15)
        .map(|d| traffic_for(&site.id, "live", ts(&format!("2026-03-{d:02}"))).visits)
        .sum();
    let r = row(&report, "gamma-site-2");
    assert_eq!(r["month_to_date"], march);
    assert_eq!(r["days_left"], 17);
    let last7: u64 = (8..15)
        .map(|d| traffic_for(&site.id, "live", ts(&format!("2026-03-{d:02}"))).visits)
        .sum();
    let projected = march + (last7 as f64 / 7.0 * 17.0).round() as u64;
    assert_eq!(r["projected"], projected);
    assert_eq!(r["months_over_this_year"], 2, "January and February");

    // Most at risk first; unknown last.
    let shares: Vec<Option<f64>> = report["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["projected_percent"].as_f64())
        .collect();
    let known = shares.iter().take_while(|s| s.is_some()).count();
    assert!(shares[known..].iter().all(Option::is_none), "{shares:?}");
    assert!(known > 4 && known < shares.len());
    assert!(
        shares[..known].windows(2).all(|w| w[0] >= w[1]),
        "{shares:?}"
    );

    // Every site once, through the one traffic path: a 12m and an 8d request each.
    let sites = shares.len();
    let log = server.log();
    assert_eq!(log.count(RouteKind::Traffic), 2 * sites);
    for duration in ["12m", "8d"] {
        let n = log
            .of(RouteKind::Traffic)
            .filter(|e| e.query_param("duration") == Some(duration))
            .count();
        assert_eq!(n, sites, "{duration}");
    }
}

#[tokio::test]
async fn the_table_says_how_the_projection_is_made() {
    let config = demo_world(TODAY);
    let server = FakeServer::start(config.clone()).await.unwrap();
    let run = usage(&server, &config, &["gamma-site-3", "gamma-site-1"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(
        out.contains("month-to-date + average of the last 7 complete days"),
        "{out}"
    );
    let first = out.find("gamma-site-1").unwrap();
    assert!(
        first < out.find("gamma-site-3").unwrap(),
        "most at risk first: {out}"
    );
    assert!(out.contains("Months over 2026"), "{out}");
}

#[tokio::test]
async fn fail_on_exits_4_at_or_past_the_status_and_wins_over_3() {
    let config = demo_world(TODAY);
    let server = FakeServer::start(config.clone()).await.unwrap();
    let cases: [(&[&str], i32); 7] = [
        (&["gamma-site-3", "--fail-on", "watch"], 4),
        (&["gamma-site-3", "--fail-on", "projected-over"], 0),
        (&["gamma-site-2", "--fail-on", "projected-over"], 4),
        (&["gamma-site-2", "--fail-on", "over"], 0),
        (&["gamma-site-4", "gamma-site-3"], 0),
        // A site that cannot be found makes the run partial (3), unless a threshold is hit.
        (&["gamma-site-4", "no-such-site", "--fail-on", "watch"], 3),
        (&["gamma-site-1", "no-such-site", "--fail-on", "over"], 4),
    ];
    for (args, code) in cases {
        let run = usage(&server, &config, args).await;
        assert_eq!(run.code, code, "{args:?}: {run:?}");
    }
    // A higher watch threshold takes gamma-site-3 (about 92%) off watch.
    let run = usage(
        &server,
        &config,
        &[
            "gamma-site-3",
            "--fail-on",
            "watch",
            "--watch-threshold",
            "95%",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
}

#[tokio::test]
async fn bad_allowance_files_exit_2_before_any_request() {
    let config = demo_world(TODAY);
    let server = FakeServer::start(config.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "negative.yml",
            "plans:\n  Basic: 100\n  Elite: -5\n",
            3,
            "negative",
        ),
        (
            "float.yml",
            "plans:\n  Basic: 1.5\n",
            2,
            "not a whole number",
        ),
        ("text.yml", "sites:\n  acme: lots\n", 2, "not a number"),
        (
            "unknown-key.yml",
            "plans:\n  Basic: 1\nplan:\n  Elite: 2\n",
            3,
            "unknown field `plan`",
        ),
        ("malformed.yml", "plans:\n  Basic: [1\n", 0, ""),
        (
            "twice.yml",
            "plans:\n  Basic: 1\n  basic: 2\n",
            3,
            "same plan",
        ),
    ];
    for (file, text, line, what) in cases {
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        let shown = path.display().to_string();
        for via_env in [false, true] {
            let run = if via_env {
                run_env(
                    &server.url(),
                    &tokens_of(&config),
                    &["usage"],
                    &[("PANTHEON_ALLOWANCES_FILE", &shown)],
                )
                .await
            } else {
                run(
                    &server,
                    &tokens_of(&config),
                    &["usage", "--allowances", &shown],
                )
                .await
            };
            assert_eq!(run.code, 2, "{file}: {run:?}");
            assert!(run.stderr.contains(&shown), "names the file: {run:?}");
            if line > 0 {
                assert!(
                    run.stderr.contains(&format!("{shown}:{line}:")),
                    "{file}: {run:?}"
                );
            }
            assert!(run.stderr.contains(what), "{file}: {run:?}");
        }
    }
    let missing = dir.path().join("missing.yml");
    let run = run(
        &server,
        &tokens_of(&config),
        &["usage", "--allowances", missing.to_str().unwrap()],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        server.log().count(RouteKind::Any),
        0,
        "no API request at all"
    );
}

#[tokio::test]
async fn csv_round_trips_and_matches_json() {
    let config = demo_world(TODAY);
    let server = FakeServer::start(config.clone()).await.unwrap();
    let json = usage(&server, &config, &["--format", "json"]).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("usage.csv");
    let csv_run = usage(
        &server,
        &config,
        &["--format", "csv", "--output", out.to_str().unwrap()],
    )
    .await;
    assert_eq!((json.code, csv_run.code), (0, 0), "{csv_run:?}");
    assert!(csv_run.stdout.is_empty(), "--output writes the file only");
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.ends_with(b"\r\n"));
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..3], ["account", "site_id", "site"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let sites = report["sites"].as_array().unwrap();
    assert_eq!(rows.len(), sites.len());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (row, site) in rows.iter().zip(sites) {
        assert_eq!(row[col("site")], site["site"]["name"]);
        assert_eq!(row[col("label")], site["site"]["label"]);
        assert_eq!(row[col("status")], site["status"]);
        assert_eq!(row[col("month_to_date")], site["month_to_date"].to_string());
        match site["allowance"].as_u64() {
            Some(a) => assert_eq!(row[col("allowance")], a.to_string()),
            None => assert_eq!(&row[col("allowance")], "", "unknown is empty, not 0"),
        }
    }
    let hostile = rows
        .iter()
        .find(|r| &r[col("site")] == "ada-best-blog")
        .unwrap();
    assert_eq!(&hostile[col("label")], HOSTILE_LABEL);
}

#[tokio::test]
async fn fetch_csv_has_a_row_per_site_and_day_with_hostile_labels_intact() {
    let config = demo_world(TODAY);
    let server = FakeServer::start(config.clone()).await.unwrap();
    let run = run(
        &server,
        &tokens_of(&config),
        &[
            "fetch",
            "ada-best-blog",
            "alpha-shop",
            "--format",
            "csv",
            "--duration",
            "5d",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "account",
            "site_id",
            "site",
            "label",
            "plan",
            "environment",
            "date",
            "timestamp"
        ]
        .into_iter()
        .chain(pantheon_metrics::render::FAMILIES.iter().map(|f| f.key))
        .collect::<Vec<_>>()
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2 * 5);
    for row in &rows {
        let site = config.site_by_name(&row[2]).unwrap();
        let day = traffic_for(&site.id, "live", row[7].parse().unwrap());
        assert_eq!(row[8], day.visits.to_string());
        if &row[2] == "ada-best-blog" {
            assert_eq!(&row[3], HOSTILE_LABEL);
        }
    }
}

/// Where the daily series covers a whole month (February 2026: 28 days, all within the
/// 28-day series), the fake's monthly bucket is exactly the sum of its days.
#[tokio::test]
async fn monthly_bucket_equals_the_days_of_a_whole_month() {
    let config = demo_world("2026-03-01");
    let server = FakeServer::start(config.clone()).await.unwrap();
    let tokens = tokens_of(&config);
    let names = ["gamma-site-2", "alpha-shop", "spotty-traffic"];
    let fetch = |duration: &'static str| {
        let (server, tokens) = (&server, &tokens);
        async move {
            let mut args = vec!["fetch", "--format", "csv", "--duration", duration];
            args.extend(names);
            run(server, tokens, &args).await
        }
    };
    let (days, months) = (fetch("28d").await, fetch("12m").await);
    assert_eq!((days.code, months.code), (0, 0), "{days:?} {months:?}");
    let sums = |text: &str, from: &str| -> std::collections::BTreeMap<String, u64> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut out = std::collections::BTreeMap::new();
        for row in reader.records().map(Result::unwrap) {
            if &row[6] >= from {
                *out.entry(row[2].to_string()).or_default() += row[8].parse::<u64>().unwrap();
            }
        }
        out
    };
    let daily = sums(&days.stdout, "2026-02-01");
    let monthly = sums(&months.stdout, "2026-02-01");
    assert_eq!(daily.len(), names.len());
    assert_eq!(daily, monthly);
}
