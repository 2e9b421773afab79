//! `pantheon-metrics fetch` against the fake API: formats, values, faults and exit codes.

mod support;

use std::time::Duration;

use pantheon_metrics::fake::{FakeServer, FaultAction, FaultRule, RouteKind, traffic_for};
use support::*;

/// Every (name, timestamp, visits) of a `--format json` answer, checked against the fake's
/// deterministic data on the way.
fn check_json(stdout: &str, config: &pantheon_metrics::fake::FakeConfig) -> usize {
    let v: serde_json::Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let mut points = 0;
    for site in v.as_array().unwrap() {
        let id = site["site"]["id"].as_str().unwrap();
        assert!(config.site(id).is_some(), "unknown site {id}");
        assert_eq!(site["environment"], "live");
        for p in site["points"].as_array().unwrap() {
            let ts = p["timestamp"].as_i64().unwrap();
            let want = traffic_for(id, "live", ts);
            assert_eq!(p["visits"].as_u64().unwrap(), want.visits);
            assert_eq!(p["pages_served"].as_u64().unwrap(), want.pages_served);
            assert_eq!(p["cache_hits"].as_u64().unwrap(), want.cache_hits);
            match want.cache_hit_ratio() {
                Some(r) => assert!((p["cache_hit_ratio"].as_f64().unwrap() - r).abs() < 1e-9),
                None => assert!(p["cache_hit_ratio"].is_null()),
            }
            points += 1;
        }
    }
    points
}

#[tokio::test]
async fn fetch_all_sites_json_matches_the_api() {
    let config = shared_world();
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config.clone()).await.unwrap();
    let run = run(
        &server,
        &tokens,
        &["fetch", "--format", "json", "--duration", "7d"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(check_json(&run.stdout, &config), 8 * 7);
    // One traffic request per site, each with the asked duration.
    let log = server.log();
    assert_eq!(log.count(RouteKind::Traffic), 8);
    assert!(
        log.of(RouteKind::Traffic)
            .all(|e| e.query_param("duration") == Some("7d"))
    );
}

#[tokio::test]
async fn named_sites_need_no_list_walk() {
    let config = shared_world();
    let tokens = tokens_of(&config);
    let by_uuid = config.sites[7].id.clone(); // beta-001, only beta sees it
    let server = FakeServer::start(config.clone()).await.unwrap();
    let run = run(
        &server,
        &tokens,
        &[
            "fetch",
            "alpha-001",
            &by_uuid,
            "--format",
            "json",
            "--duration",
            "3d",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(check_json(&run.stdout, &config), 6);
    let log = server.log();
    assert_eq!(
        log.count(RouteKind::UserSites) + log.count(RouteKind::OrgSites),
        0,
        "walked a list"
    );
    assert_eq!(log.count(RouteKind::SiteNames), 1, "a UUID needs no lookup");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let owner = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site"]["id"] == by_uuid.as_str())
        .unwrap();
    assert_eq!(owner["account"], "beta@example.com");
}

#[tokio::test]
async fn unknown_site_name_exits_1() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let run = run(&server, &tokens, &["fetch", "no-such-site"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("no-such-site"), "{}", run.stderr);
}

#[tokio::test]
async fn prom_output_follows_the_exposition_contract() {
    let config = single_account_world(3);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let run = run(
        &server,
        &tokens,
        &["fetch", "--format", "prom", "--duration", "5d"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let text = &run.stdout;
    for (name, help) in [
        ("pantheon_visits", "Number of visits"),
        ("pantheon_pages_served", "Number of pages served"),
        ("pantheon_cache_hits", "Number of cache hits"),
        ("pantheon_cache_misses", "Number of cache misses"),
        ("pantheon_cache_hit_ratio", "Cache hit ratio as percentage"),
    ] {
        assert!(
            text.contains(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n")),
            "{name}"
        );
    }
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let visits: Vec<_> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "pantheon_visits")
        .collect();
    assert_eq!(visits.len(), 15);
    // Newest day per site without a timestamp, older days with their own.
    let untimestamped = text
        .lines()
        .filter(|l| {
            l.starts_with("pantheon_visits{")
                && l.rsplit_once('}').unwrap().1.split_whitespace().count() == 1
        })
        .count();
    assert_eq!(untimestamped, 3);
    let first = text
        .lines()
        .find(|l| l.starts_with("pantheon_visits{"))
        .unwrap();
    assert!(first.starts_with("pantheon_visits{account=\"ops@example.com\",label=\"Site 000\",name=\"site-000\",plan=\"Basic\"} "), "{first}");
}

#[tokio::test]
async fn prom_no_timestamps_writes_the_newest_day_atomically() {
    let config = single_account_world(2);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pantheon.prom");
    std::fs::write(&path, "old\n").unwrap();
    let run = run(
        &server,
        &tokens,
        &[
            "fetch",
            "--format",
            "prom",
            "--no-timestamps",
            "--output",
            path.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    let samples: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("pantheon_visits{"))
        .collect();
    assert_eq!(samples.len(), 2);
    assert!(
        samples
            .iter()
            .all(|l| l.rsplit_once('}').unwrap().1.split_whitespace().count() == 1)
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[tokio::test]
async fn failed_fetch_keeps_the_old_output_file() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::status(403),
        None,
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pantheon.prom");
    std::fs::write(&path, "old\n").unwrap();
    let run = run(
        &server,
        &tokens,
        &[
            "fetch",
            "--format",
            "prom",
            "--output",
            path.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
}

#[tokio::test]
async fn openmetrics_timestamps_every_day_in_seconds_and_ends_with_eof() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let run = run(
        &server,
        &tokens,
        &["fetch", "--format", "openmetrics", "--duration", "4d"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.ends_with("# EOF\n"));
    assert!(!run.stdout.contains("\n\n"));
    let visits: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("pantheon_visits{"))
        .collect();
    assert_eq!(visits.len(), 4);
    for l in visits {
        let ts: i64 = l.rsplit(' ').next().unwrap().parse().unwrap();
        assert_eq!(ts % 86_400, 0, "{l}");
        assert!(ts < 10_000_000_000, "seconds, not milliseconds: {l}");
    }
}

#[tokio::test]
async fn table_shows_percent_and_dashes() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let run = run(&server, &tokens, &["fetch", "--duration", "28d"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("site-000"), "{}", run.stdout);
    assert!(run.stdout.contains('%'), "{}", run.stdout);
}

#[tokio::test]
async fn usage_errors_exit_2_before_any_request() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    for args in [
        &["fetch", "--duration", "29d"][..],
        &["fetch", "--duration", "13w"],
        &["fetch", "--duration", "abc"],
        &["fetch", "--format", "prom", "--duration", "4w"],
        &["fetch", "--format", "openmetrics", "--duration", "2m"],
        &["fetch", "--format", "json", "--no-timestamps"],
        &["fetch", "--format", "yaml"],
        &["--concurrency", "0", "fetch"],
        &["--env", "../etc", "fetch"],
        &["--timeout", "soon", "fetch"],
    ] {
        let run = run(&server, &tokens, args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    assert_eq!(server.log().count(RouteKind::Any), 0);
}

#[tokio::test]
async fn transient_5xx_are_retried() {
    let config = single_account_world(2);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config.clone()).await.unwrap();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::status(503),
        Some(3),
    ));
    server.add_fault(FaultRule::new(
        RouteKind::UserSites,
        FaultAction::status(502),
        Some(1),
    ));
    let run = run(
        &server,
        &tokens,
        &["fetch", "--format", "json", "--duration", "2d"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(check_json(&run.stdout, &config), 4);
    assert_eq!(server.log().count(RouteKind::Traffic), 5);
}

#[tokio::test]
async fn retries_are_bounded_and_the_error_is_clear() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::status(500),
        None,
    ));
    let run = run(&server, &tokens, &["fetch", "--format", "json"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        server.log().count(RouteKind::Traffic),
        6,
        "1 try + 5 retries"
    );
    assert!(run.stderr.contains("500"), "{}", run.stderr);
}

#[tokio::test]
async fn other_4xx_fail_at_once_with_status_and_body() {
    let config = single_account_world(2);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::Status {
            status: 409,
            retry_after: None,
            body: "{\"message\": \"unsupported site\"}".into(),
        },
        Some(1),
    ));
    let run = run(&server, &tokens, &["fetch", "--format", "json"]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(server.log().count(RouteKind::Traffic), 2);
    assert!(
        run.stderr.contains("409") && run.stderr.contains("unsupported site"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::Status {
            status: 429,
            retry_after: Some("2".into()),
            body: "\"slow down\"".into(),
        },
        Some(1),
    ));
    let run = run(&server, &tokens, &["fetch", "--format", "json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let log = server.log();
    let times: Vec<_> = log.of(RouteKind::Traffic).map(|e| e.at).collect();
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - times[0] >= Duration::from_secs(2),
        "waited only {:?}",
        times[1] - times[0]
    );
}

#[tokio::test]
async fn a_401_logs_in_again_once() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::status(401),
        Some(1),
    ));
    let run = run(&server, &tokens, &["fetch", "--format", "json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let log = server.log();
    assert_eq!(log.count(RouteKind::Login), 2);
    assert_eq!(log.count(RouteKind::Traffic), 2);
}

#[tokio::test]
async fn a_second_401_is_final() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::status(401),
        None,
    ));
    let run = run(&server, &tokens, &["fetch", "--format", "json"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(server.log().count(RouteKind::Traffic), 2);
}

#[tokio::test]
async fn expired_sessions_are_renewed_before_use() {
    let mut config = single_account_world(16);
    config.session_ttl = Duration::from_secs(4);
    config.latency = Duration::from_millis(300);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config.clone()).await.unwrap();
    let run = run(
        &server,
        &tokens,
        &[
            "--concurrency",
            "1",
            "fetch",
            "--format",
            "json",
            "--duration",
            "1d",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(check_json(&run.stdout, &config), 16);
    let log = server.log();
    assert!(
        log.count(RouteKind::Login) >= 2,
        "the 4 s session outlived a 5 s run"
    );
    // Renewed a quarter of the lifetime early, not after 401s; one 401 is tolerated for a
    // request delayed past the margin on a loaded machine.
    assert!(
        log.count_status(RouteKind::Any, 401) <= 1,
        "renewed after 401s instead of before expiry"
    );
}

#[tokio::test]
async fn timeouts_are_retried() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::Hang(Duration::from_secs(2)),
        Some(1),
    ));
    let started = std::time::Instant::now();
    let run = run(
        &server,
        &tokens,
        &["--timeout", "500ms", "fetch", "--format", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "did not give up on the hung request"
    );
    // The fake logs a request when it answers: wait for the hung one to finish.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.log().count(RouteKind::Traffic), 2);
}

#[tokio::test]
async fn malformed_json_is_a_clear_error() {
    let config = single_account_world(2);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::NotJson,
        None,
    ));
    let run = run(&server, &tokens, &["fetch", "--format", "json"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("not valid JSON"), "{}", run.stderr);
    assert_eq!(
        server.log().count(RouteKind::Traffic),
        2 * 6,
        "each site retried within the bound (1 + 5 retries)"
    );

    server.clear_faults();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::Truncated,
        Some(1),
    ));
    let before = server.log().count(RouteKind::Traffic);
    let run2 = support::run(&server, &tokens, &["fetch", "--format", "json"]).await;
    assert_eq!(run2.code, 0, "a cut answer is retried like a 5xx: {run2:?}");
    assert_eq!(server.log().count(RouteKind::Traffic) - before, 3);
}

#[tokio::test]
async fn malformed_login_answer_skips_the_account() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    server.add_fault(FaultRule::new(RouteKind::Login, FaultAction::NotJson, None));
    let run = run(&server, &tokens, &["fetch", "--format", "json"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("token #1 (sha256:"), "{}", run.stderr);
    assert_eq!(
        server.log().count(RouteKind::Login),
        6,
        "a broken login is retried, within the bound (1 + 5 retries)"
    );
}

#[tokio::test]
async fn connection_resets_are_retried() {
    let config = single_account_world(1);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::ResetMidBody,
        Some(2),
    ));
    let run = run(&server, &tokens, &["fetch", "--format", "json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(server.log().count(RouteKind::Traffic), 3);
}

#[tokio::test]
async fn concurrency_bounds_requests_in_flight() {
    let mut config = single_account_world(12);
    config.latency = Duration::from_millis(100);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let run = run(
        &server,
        &tokens,
        &[
            "--concurrency",
            "3",
            "fetch",
            "--format",
            "json",
            "--duration",
            "1d",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let peak = server.log().peak_in_flight;
    assert!((2..=3).contains(&peak), "peak {peak}");
}

#[tokio::test]
async fn closed_pipe_ends_quietly() {
    use std::process::Stdio;
    let config = single_account_world(30);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    // `| head -1`: the reader goes away after one line.
    let script = format!(
        "'{BIN}' --api-url '{}' fetch --format prom | head -1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
        server.url()
    );
    let out = tokio::process::Command::new("bash")
        .args(["-c", &script])
        .env("PANTHEON_MACHINE_TOKENS", tokens.join(" "))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{out:?}"
    );
}

/// A cut answer on any route is retried like a 5xx: one more request gets a whole answer,
/// and the run ends as if nothing had happened, within the retry bound.
#[tokio::test]
async fn cut_answers_on_every_route_are_retried() {
    let config = shared_world();
    let tokens = tokens_of(&config);
    let all = ["fetch", "--format", "json", "--duration", "3d"];
    let named = ["fetch", "--format", "json", "--duration", "3d", "alpha-000"];
    for (route, args) in [
        (RouteKind::Login, &all[..]),
        (RouteKind::Whoami, &all[..]),
        (RouteKind::UserSites, &all[..]),
        (RouteKind::UserOrgs, &all[..]),
        (RouteKind::OrgSites, &all[..]),
        (RouteKind::Traffic, &all[..]),
        (RouteKind::SiteNames, &named[..]),
        (RouteKind::SiteInfo, &named[..]),
    ] {
        let server = FakeServer::start(config.clone()).await.unwrap();
        let clean = run(&server, &tokens, args).await;
        assert_eq!(clean.code, 0, "{route:?} without faults: {clean:?}");
        let requests = server.log().count(route);
        assert!(requests > 0, "{route:?} is not used by {args:?}");
        // Every answer of this route is cut once, then whole.
        server.add_fault(FaultRule::new(
            route,
            FaultAction::Truncated,
            Some(requests as u32),
        ));
        let cut = run(&server, &tokens, args).await;
        assert_eq!(cut.code, 0, "{route:?} cut once: {cut:?}");
        assert_eq!(
            check_json(&cut.stdout, &config),
            check_json(&clean.stdout, &config)
        );
        let retried = server.log().count(route) - 2 * requests;
        assert!(
            retried >= 1 && retried <= requests * 5,
            "{route:?}: {retried} extra requests for {requests} cut answers"
        );
    }
}

/// During Pantheon's rebuild window every answer is all zeros: `fetch` names the sites and
/// says why, and with `--output` keeps the last good file rather than a file of zeros.
#[tokio::test]
async fn rebuild_zeros_warn_and_keep_the_previous_output() {
    let config = single_account_world(3);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pantheon.prom");
    let out = path.to_str().unwrap();
    let good = run(
        &server,
        &tokens,
        &["fetch", "--format", "prom", "--output", out],
    )
    .await;
    assert_eq!(good.code, 0, "{good:?}");
    let before = std::fs::read(&path).unwrap();

    server.set_rebuild(true);
    let zeros = run(
        &server,
        &tokens,
        &["fetch", "--format", "prom", "--output", out],
    )
    .await;
    assert_eq!(zeros.code, 3, "{zeros:?}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the previous file is kept"
    );
    assert!(
        zeros.stderr.contains("Pantheon may be rebuilding"),
        "{}",
        zeros.stderr
    );
    for name in ["site-000", "site-001", "site-002"] {
        assert!(
            zeros.stderr.contains(name),
            "{name} not named: {}",
            zeros.stderr
        );
    }
    let shown = run(&server, &tokens, &["fetch", "--format", "json"]).await;
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(
        shown.stderr.contains("Pantheon may be rebuilding"),
        "{}",
        shown.stderr
    );
}
