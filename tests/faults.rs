//! Fault survival: `serve` against the fake API with each fault the API and the network can
//! throw, and all of them at once, for several refresh cycles. For each: the process stays
//! up and answers; reachable sites end with 28 days; no held day is lost or zeroed; errors
//! are counted and shown; retries stay bounded.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pantheon_metrics::fake::{FakeConfig, FakeServer, FaultAction, FaultRule, RouteKind};
use support::*;

const SITES: usize = 6;
const ARGS: [&str; 4] = ["--refresh-interval", "2s", "--tick", "500ms"];
const FAMILIES: [&str; 5] = [
    "pantheon_visits",
    "pantheon_pages_served",
    "pantheon_cache_hits",
    "pantheon_cache_misses",
    "pantheon_cache_hit_ratio",
];

/// Every timestamped sample held: (metric, labels, timestamp) -> value.
fn held(text: &str) -> HashMap<(String, String, String), String> {
    let mut out = HashMap::new();
    for family in FAMILIES {
        for (labels, value, ts) in samples(text, family) {
            if let Some(ts) = ts {
                out.insert(
                    (family.to_string(), labels.to_string(), ts.to_string()),
                    value.to_string(),
                );
            }
        }
    }
    out
}

fn assert_kept(before: &HashMap<(String, String, String), String>, after: &str, what: &str) {
    let now = held(after);
    for (key, value) in before {
        match now.get(key) {
            Some(v) => assert_eq!(v, value, "{what}: {key:?} changed"),
            None => panic!("{what}: {key:?} was lost"),
        }
    }
}

fn complete(text: &str, sites: usize) -> bool {
    samples(text, "pantheon_visits").len() == sites * 28
}

fn rule(route: RouteKind, action: FaultAction, probability: f64) -> FaultRule {
    FaultRule {
        probability,
        ..FaultRule::new(route, action, None)
    }
}

struct Rig {
    fake: FakeServer,
    serve: Serve,
    tokens: Vec<String>,
    config: FakeConfig,
}

async fn rig(config: FakeConfig, extra: &[&str]) -> Rig {
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config.clone()).await.unwrap();
    let mut args: Vec<&str> = ARGS.to_vec();
    args.extend_from_slice(extra);
    let serve = Serve::start(&fake.url(), &tokens, &args).await;
    Rig {
        fake,
        serve,
        tokens,
        config,
    }
}

impl Rig {
    async fn full(&self, sites: usize) -> String {
        self.serve
            .wait_metrics(Duration::from_secs(30), |t| complete(t, sites))
            .await
    }

    /// Runs `secs` seconds of cycles, checking after each second that the exporter answers
    /// and holds on to everything in `before`.
    async fn ride(
        &mut self,
        secs: u64,
        before: &HashMap<(String, String, String), String>,
        what: &str,
    ) -> String {
        let mut last = String::new();
        for _ in 0..secs {
            tokio::time::sleep(Duration::from_secs(1)).await;
            assert!(
                self.serve.child.try_wait().unwrap().is_none(),
                "{what}: serve died: {}",
                self.serve.log_text()
            );
            last = self.serve.get("/metrics").await.text();
            assert_kept(before, &last, what);
            assert_eq!(self.serve.get("/").await.status, 200);
        }
        last
    }

    /// Traffic requests per site stay within (fetches × 6 attempts).
    fn retries_bounded(&self, secs: u64) {
        let log = self.fake.log();
        let fetch_rounds = (secs as usize / 2 + 2) * 2; // refreshes per site over the run, with slack
        for site in &self.config.sites {
            let n = log.count_site(RouteKind::Traffic, &site.id);
            assert!(n <= fetch_rounds * 6, "{}: {n} traffic requests", site.name);
        }
    }
}

fn counter(text: &str, name: &str) -> f64 {
    scalar(text, name).unwrap_or(0.0)
}

/// Sum of `pantheon_exporter_api_requests_total` for codes matching `pred`.
fn api_requests(text: &str, pred: impl Fn(&str) -> bool) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("pantheon_exporter_api_requests_total{"))
        .filter(|l| {
            l.split("code=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .is_some_and(&pred)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn survives_5xx_bursts() {
    let mut r = rig(single_account_world(SITES), &[]).await;
    let before = held(&r.full(SITES).await);
    for status in [500, 502, 503, 504] {
        r.fake
            .add_fault(rule(RouteKind::Any, FaultAction::status(status), 0.025));
    }
    let after = r.ride(8, &before, "5xx").await;
    assert!(complete(&after, SITES));
    assert!(
        api_requests(&after, |c| c.starts_with('5')) > 0.0,
        "5xx are counted"
    );
    r.retries_bounded(8);
}

#[tokio::test]
async fn survives_429_with_and_without_retry_after() {
    let mut r = rig(single_account_world(SITES), &[]).await;
    let before = held(&r.full(SITES).await);
    let too_many = |ra: Option<&str>| FaultAction::Status {
        status: 429,
        retry_after: ra.map(str::to_string),
        body: "\"slow down\"".into(),
    };
    r.fake.add_fault(FaultRule::new(
        RouteKind::Traffic,
        too_many(Some("2")),
        Some(1),
    ));
    r.fake
        .add_fault(rule(RouteKind::Traffic, too_many(None), 0.2));
    let after = r.ride(8, &before, "429").await;
    assert!(api_requests(&after, |c| c == "429") >= 1.0);
    // The 429 with Retry-After: 2 was followed by that site's retry no sooner than 2 s later.
    let log = r.fake.log();
    let first = log
        .of(RouteKind::Traffic)
        .find(|e| e.status == 429)
        .unwrap();
    let retry = log
        .of(RouteKind::Traffic)
        .find(|e| e.site_id == first.site_id && e.at > first.at)
        .expect("retried");
    assert!(
        retry.at - first.at >= Duration::from_secs(2),
        "waited {:?}",
        retry.at - first.at
    );
    r.retries_bounded(8);
}

#[tokio::test]
async fn survives_hangs_and_resets() {
    let mut r = rig(single_account_world(SITES), &[]).await;
    let before = held(&r.full(SITES).await);
    drop(r.serve);
    // Restart with a short timeout so hangs are cut off (and retried).
    r.serve = Serve::start_with(&r.fake.url(), &r.tokens, &["--timeout", "1s"], &ARGS).await;
    r.full(SITES).await;
    r.fake.add_fault(rule(
        RouteKind::Traffic,
        FaultAction::Hang(Duration::from_secs(40)),
        0.1,
    ));
    r.fake
        .add_fault(rule(RouteKind::Any, FaultAction::ResetMidBody, 0.1));
    let after = r.ride(8, &before, "hangs").await;
    assert!(complete(&after, SITES));
    assert!(
        api_requests(&after, |c| c == "error") >= 1.0,
        "timeouts and resets are counted"
    );
    r.retries_bounded(8);
}

#[tokio::test]
async fn survives_broken_bodies_on_lists_traffic_and_login() {
    let mut config = single_account_world(SITES);
    config.session_ttl = Duration::from_secs(2); // logins keep happening
    let mut r = rig(config, &[]).await;
    let before = held(&r.full(SITES).await);
    for route in [RouteKind::UserSites, RouteKind::Traffic, RouteKind::Login] {
        r.fake.add_fault(rule(route, FaultAction::Truncated, 0.1));
        r.fake.add_fault(rule(route, FaultAction::NotJson, 0.1));
    }
    let after = r.ride(10, &before, "broken bodies").await;
    assert!(complete(&after, SITES));
    let failures = counter(&after, "pantheon_exporter_site_refresh_errors_total");
    let page = r.serve.get("/").await.text();
    if failures > 0.0 {
        assert!(
            page.contains("not valid JSON"),
            "a broken answer's error is shown: {page}"
        );
    }
    r.retries_bounded(10);
}

#[tokio::test]
async fn survives_expiring_and_revoked_sessions() {
    let mut config = single_account_world(SITES);
    config.session_ttl = Duration::from_secs(2);
    let mut r = rig(config, &[]).await;
    let before = held(&r.full(SITES).await);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        r.fake.revoke_sessions();
    }
    let after = r.ride(4, &before, "sessions").await;
    assert_eq!(
        counter(&after, "pantheon_exporter_site_refresh_errors_total"),
        0.0,
        "{}",
        r.serve.log_text()
    );
    let logins = r.fake.log().count(RouteKind::Login);
    assert!((3..=20).contains(&logins), "{logins} logins");
}

#[tokio::test]
async fn a_token_that_stops_working_keeps_its_sites_and_comes_back() {
    let config = shared_world();
    let sites = config.sites.len();
    let mut r = rig(config, &[]).await;
    let before = held(&r.full(sites).await);
    let beta = r.config.accounts[1].token.clone();
    r.fake.set_token_enabled(&beta, false);
    let during = r.ride(5, &before, "token disabled").await;
    assert!(
        complete(&during, sites),
        "the account's sites keep their data"
    );
    assert!(
        during.contains("pantheon_exporter_account_up{account=\"beta@example.com\"} 0"),
        "{during}"
    );
    assert!(
        r.serve
            .get("/")
            .await
            .text()
            .contains("class=\"down\">down")
    );
    r.fake.set_token_enabled(&beta, true);
    let back = r
        .serve
        .wait_metrics(Duration::from_secs(15), |t| {
            t.contains("pantheon_exporter_account_up{account=\"beta@example.com\"} 1")
        })
        .await;
    assert_kept(&before, &back, "token back");
}

#[tokio::test]
async fn a_site_answering_403_is_kept_stale_then_dropped_when_unlisted() {
    let config = single_account_world(SITES);
    let victim = config.sites[2].clone();
    let mut r = rig(config, &[]).await;
    let before = held(&r.full(SITES).await);
    r.fake.set_site_status(&victim.id, Some(404));
    let after = r.ride(6, &before, "site 404").await;
    assert!(complete(&after, SITES), "the site keeps its data");
    assert!(counter(&after, "pantheon_exporter_site_refresh_errors_total") >= 1.0);
    let page = r.serve.get("/").await.text();
    assert!(page.contains("stale"), "{page}");
    r.fake.remove_site(&victim.id);
    r.serve
        .wait_metrics(Duration::from_secs(15), |t| {
            !t.contains(&format!("name=\"{}\"", victim.name))
        })
        .await;
}

#[tokio::test]
async fn a_rebuild_window_over_several_cycles_changes_nothing() {
    let mut r = rig(single_account_world(SITES), &[]).await;
    let first = r.full(SITES).await;
    let before = held(&first);
    let newest_before: Vec<_> = samples(&first, "pantheon_visits")
        .into_iter()
        .filter(|s| s.2.is_none())
        .map(|s| s.1.to_string())
        .collect();
    r.fake.set_rebuild(true);
    let after = r.ride(7, &before, "rebuild").await;
    let newest_after: Vec<_> = samples(&after, "pantheon_visits")
        .into_iter()
        .filter(|s| s.2.is_none())
        .map(|s| s.1.to_string())
        .collect();
    assert_eq!(newest_before, newest_after, "the newest day was zeroed");
    assert!(counter(&after, "pantheon_exporter_rebuild_responses_ignored_total") >= SITES as f64);
    r.fake.set_rebuild(false);
}

#[tokio::test]
async fn a_restart_of_the_api_on_the_same_port_is_survived() {
    let mut r = rig(single_account_world(SITES), &[]).await;
    let before = held(&r.full(SITES).await);
    let addr = r.fake.addr();
    let config = r.config.clone();
    let fake = std::mem::replace(
        &mut r.fake,
        FakeServer::start(FakeConfig::default()).await.unwrap(),
    );
    fake.shutdown().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    r.fake = FakeServer::start_on(addr, config).await.unwrap();
    let after = r.ride(5, &before, "API restart").await;
    assert!(complete(&after, SITES));
    // Sessions died with the old API: the exporter logged in again.
    assert!(r.fake.log().count(RouteKind::Login) >= 1);
}

#[tokio::test]
async fn survives_every_fault_at_once() {
    let mut config = shared_world();
    config.session_ttl = Duration::from_secs(3);
    let sites = config.sites.len();
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config.clone()).await.unwrap();
    let serve = Serve::start_with(
        &fake.url(),
        &tokens,
        &["--timeout", "1s", "--concurrency", "8"],
        &ARGS,
    )
    .await;
    let mut r = Rig {
        fake,
        serve,
        tokens,
        config,
    };
    let before = held(&r.full(sites).await);
    let started = Instant::now();
    for status in [500, 502, 503, 504] {
        r.fake
            .add_fault(rule(RouteKind::Any, FaultAction::status(status), 0.025));
    }
    r.fake.add_fault(rule(
        RouteKind::Traffic,
        FaultAction::Status {
            status: 429,
            retry_after: Some("1".into()),
            body: "\"x\"".into(),
        },
        0.05,
    ));
    r.fake.add_fault(rule(
        RouteKind::Traffic,
        FaultAction::Hang(Duration::from_secs(40)),
        0.05,
    ));
    r.fake
        .add_fault(rule(RouteKind::Any, FaultAction::ResetMidBody, 0.05));
    r.fake
        .add_fault(rule(RouteKind::Any, FaultAction::Truncated, 0.05));
    r.fake
        .add_fault(rule(RouteKind::UserSites, FaultAction::NotJson, 0.1));
    r.fake.set_rebuild(true);
    let mid = r.ride(6, &before, "all faults").await;
    r.fake.revoke_sessions();
    r.fake.set_rebuild(false);
    let end = r.ride(6, &held(&mid), "all faults, later").await;
    assert!(complete(&end, sites), "sites lost data");
    let page = r.serve.get("/").await.text();
    assert!(page.contains("Sites ("), "{page}");
    assert!(
        counter(&end, "pantheon_exporter_site_refresh_errors_total")
            + api_requests(&end, |c| c != "200")
            > 0.0
    );
    r.retries_bounded(started.elapsed().as_secs() + 2);
}

#[tokio::test]
async fn regression_failed_org_list_keeps_its_sites_with_their_account() {
    let config = shared_world();
    let sites = config.sites.len();
    let mut r = rig(config, &[]).await;
    let first = r.full(sites).await;
    let before = held(&first);
    // Every organization list now fails (after retries): the org's sites must stay under
    // alpha, not hop to beta (which sees the same org) or vanish.
    r.fake.add_fault(FaultRule::new(
        RouteKind::OrgSites,
        FaultAction::status(503),
        None,
    ));
    let after = r.ride(6, &before, "org list failing").await;
    assert!(complete(&after, sites));
    assert!(
        r.fake.log().count_status(RouteKind::OrgSites, 503) >= 6,
        "the org list was retried and failed"
    );
    let page = r.serve.get("/").await.text();
    assert!(page.contains("organization list(s) failed"), "{page}");
}
