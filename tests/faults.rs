//! Fault survival: the scheduler and the renderer against the fake API with each fault the
//! API and the network can throw, and all of them at once, for several refresh cycles. For
//! each: the exporter keeps running; reachable sites end with 28 days; no held day is lost
//! or zeroed; errors are counted and shown; retries stay bounded.
//!
//! They run in-process on tokio's paused clock (see `support::InProcess`), so hangs,
//! timeouts, `Retry-After` waits and session lifetimes cost no real time. What only the
//! binary shows (the page, signals) is tested in `tests/serve.rs`.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use pantheon_metrics::fake::{FakeConfig, FakeServer, FaultAction, FaultRule, RouteKind};
use pantheon_metrics::pantheon::ClientOptions;
use support::*;
use tokio::time::Instant;

const SITES: usize = 6;
/// `--refresh-interval 2s --tick 500ms`.
const INTERVAL: Duration = Duration::from_secs(2);
const TICK: Duration = Duration::from_millis(500);

/// Every timestamped sample held: (metric, labels, timestamp) -> value.
fn held(text: &str) -> HashMap<(String, String, String), String> {
    let mut out = HashMap::new();
    for family in FAMILY_NAMES {
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
    ex: InProcess,
    started: Instant,
}

async fn rig(config: FakeConfig) -> Rig {
    rig_with(config, InProcess::client()).await
}

async fn rig_with(config: FakeConfig, client: ClientOptions) -> Rig {
    let ex = InProcess::start(config, InProcess::settings(INTERVAL, TICK), client).await;
    Rig {
        ex,
        started: Instant::now(),
    }
}

impl Rig {
    async fn full(&self, sites: usize) -> String {
        self.ex
            .wait_metrics(Duration::from_secs(30), |t| complete(t, sites))
            .await
    }

    /// Runs `secs` seconds of cycles, checking after each second that the exporter runs,
    /// is ready, and holds on to everything in `before`.
    async fn ride(
        &self,
        secs: u64,
        before: &HashMap<(String, String, String), String>,
        what: &str,
    ) -> String {
        let mut last = String::new();
        for _ in 0..secs {
            tokio::time::sleep(Duration::from_secs(1)).await;
            assert!(self.ex.alive(), "{what}: the scheduler died");
            assert!(self.ex.shared.ready(), "{what}: not ready");
            last = self.ex.metrics();
            assert_kept(before, &last, what);
        }
        last
    }

    /// Traffic requests per site stay within (fetches × 6 attempts) since the rig started.
    fn retries_bounded(&self) {
        let secs = self.started.elapsed().as_secs() as usize;
        let log = self.ex.fake.log();
        let fetch_rounds = (secs / 2 + 2) * 2; // refreshes per site over the run, with slack
        for site in &self.ex.config.sites {
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

#[tokio::test(start_paused = true)]
async fn survives_5xx_bursts() {
    let r = rig(single_account_world(SITES)).await;
    let before = held(&r.full(SITES).await);
    for status in [500, 502, 503, 504] {
        r.ex.fake
            .add_fault(rule(RouteKind::Any, FaultAction::status(status), 0.025));
    }
    let after = r.ride(8, &before, "5xx").await;
    assert!(complete(&after, SITES));
    assert!(
        api_requests(&after, |c| c.starts_with('5')) > 0.0,
        "5xx are counted"
    );
    r.retries_bounded();
}

#[tokio::test(start_paused = true)]
async fn survives_429_with_and_without_retry_after() {
    let r = rig(single_account_world(SITES)).await;
    let before = held(&r.full(SITES).await);
    let too_many = |ra: Option<&str>| FaultAction::Status {
        status: 429,
        retry_after: ra.map(str::to_string),
        body: "\"slow down\"".into(),
    };
    r.ex.fake.add_fault(FaultRule::new(
        RouteKind::Traffic,
        too_many(Some("2")),
        Some(1),
    ));
    r.ex.fake
        .add_fault(rule(RouteKind::Traffic, too_many(None), 0.2));
    let after = r.ride(8, &before, "429").await;
    assert!(api_requests(&after, |c| c == "429") >= 1.0);
    // The 429 with Retry-After: 2 was followed by that site's retry no sooner than 2 s later.
    let log = r.ex.fake.log();
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
    r.retries_bounded();
}

#[tokio::test(start_paused = true)]
async fn survives_hangs_and_resets() {
    // A short timeout, so hangs are cut off (and retried).
    let client = ClientOptions {
        timeout: Duration::from_secs(1),
        ..InProcess::client()
    };
    let r = rig_with(single_account_world(SITES), client).await;
    let before = held(&r.full(SITES).await);
    r.ex.fake.add_fault(rule(
        RouteKind::Traffic,
        FaultAction::Hang(Duration::from_secs(40)),
        0.1,
    ));
    r.ex.fake
        .add_fault(rule(RouteKind::Any, FaultAction::ResetMidBody, 0.1));
    let after = r.ride(8, &before, "hangs").await;
    assert!(complete(&after, SITES));
    assert!(
        api_requests(&after, |c| c == "error") >= 1.0,
        "timeouts and resets are counted"
    );
    r.retries_bounded();
}

#[tokio::test(start_paused = true)]
async fn survives_broken_bodies_on_lists_traffic_and_login() {
    let mut config = single_account_world(SITES);
    config.session_ttl = Duration::from_secs(2); // logins keep happening
    let r = rig(config).await;
    let before = held(&r.full(SITES).await);
    for route in [RouteKind::UserSites, RouteKind::Traffic, RouteKind::Login] {
        r.ex.fake
            .add_fault(rule(route, FaultAction::Truncated, 0.1));
        r.ex.fake.add_fault(rule(route, FaultAction::NotJson, 0.1));
    }
    let after = r.ride(10, &before, "broken bodies").await;
    assert!(complete(&after, SITES));
    r.retries_bounded();
    // Retries hide most broken answers; one that outlasts them is counted, shown with the
    // site, and changes nothing held.
    r.ex.fake.clear_faults();
    r.ex.fake
        .add_fault(rule(RouteKind::Traffic, FaultAction::NotJson, 1.0));
    let failed =
        r.ex.wait_metrics(INTERVAL * 2, |t| {
            counter(t, "pantheon_exporter_site_refresh_errors_total") >= 1.0
        })
        .await;
    assert_kept(&before, &failed, "a broken answer");
    let shown: Vec<String> =
        r.ex.config
            .sites
            .iter()
            .filter_map(|s| r.ex.site_error(&s.id))
            .collect();
    assert!(
        shown.iter().any(|e| e.contains("not valid JSON")),
        "a broken answer's error is shown: {shown:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn survives_expiring_and_revoked_sessions() {
    let mut config = single_account_world(SITES);
    config.session_ttl = Duration::from_secs(2);
    let r = rig(config).await;
    let before = held(&r.full(SITES).await);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        r.ex.fake.revoke_sessions();
    }
    let after = r.ride(4, &before, "sessions").await;
    assert_eq!(
        counter(&after, "pantheon_exporter_site_refresh_errors_total"),
        0.0
    );
    let logins = r.ex.fake.log().count(RouteKind::Login);
    assert!((3..=20).contains(&logins), "{logins} logins");
}

#[tokio::test(start_paused = true)]
async fn a_token_that_stops_working_keeps_its_sites_and_comes_back() {
    let config = shared_world();
    let sites = config.sites.len();
    let r = rig(config).await;
    let before = held(&r.full(sites).await);
    let beta = r.ex.config.accounts[1].token.clone();
    r.ex.fake.set_token_enabled(&beta, false);
    let during = r.ride(5, &before, "token disabled").await;
    assert!(
        complete(&during, sites),
        "the account's sites keep their data"
    );
    assert!(
        during.contains("pantheon_exporter_account_up{account=\"beta@example.com\"} 0"),
        "{during}"
    );
    let states = r.ex.account_states();
    assert!(
        states
            .iter()
            .any(|(name, up, _)| name == "beta@example.com" && *up == Some(false)),
        "the page shows the account down: {states:?}"
    );
    r.ex.fake.set_token_enabled(&beta, true);
    let back =
        r.ex.wait_metrics(Duration::from_secs(15), |t| {
            t.contains("pantheon_exporter_account_up{account=\"beta@example.com\"} 1")
        })
        .await;
    assert_kept(&before, &back, "token back");
}

#[tokio::test(start_paused = true)]
async fn a_site_answering_404_is_kept_stale_then_dropped_when_unlisted() {
    let config = single_account_world(SITES);
    let victim = config.sites[2].clone();
    let r = rig(config).await;
    let before = held(&r.full(SITES).await);
    r.ex.fake.set_site_status(&victim.id, Some(404));
    let after = r.ride(6, &before, "site 404").await;
    assert!(complete(&after, SITES), "the site keeps its data");
    assert!(counter(&after, "pantheon_exporter_site_refresh_errors_total") >= 1.0);
    assert!(r.ex.site_stale(&victim.id), "the page shows the site stale");
    r.ex.fake.remove_site(&victim.id);
    r.ex.wait_metrics(Duration::from_secs(15), |t| {
        !t.contains(&format!("name=\"{}\"", victim.name))
    })
    .await;
    assert_eq!(r.ex.sites_held(), SITES - 1);
}

#[tokio::test(start_paused = true)]
async fn a_rebuild_window_over_several_cycles_changes_nothing() {
    let r = rig(single_account_world(SITES)).await;
    let first = r.full(SITES).await;
    let before = held(&first);
    let newest_before: Vec<_> = samples(&first, "pantheon_visits")
        .into_iter()
        .filter(|s| s.2.is_none())
        .map(|s| s.1.to_string())
        .collect();
    r.ex.fake.set_rebuild(true);
    let after = r.ride(7, &before, "rebuild").await;
    let newest_after: Vec<_> = samples(&after, "pantheon_visits")
        .into_iter()
        .filter(|s| s.2.is_none())
        .map(|s| s.1.to_string())
        .collect();
    assert_eq!(newest_before, newest_after, "the newest day was zeroed");
    assert!(counter(&after, "pantheon_exporter_rebuild_responses_ignored_total") >= SITES as f64);
    r.ex.fake.set_rebuild(false);
}

#[tokio::test(start_paused = true)]
async fn a_restart_of_the_api_on_the_same_port_is_survived() {
    let mut r = rig(single_account_world(SITES)).await;
    let before = held(&r.full(SITES).await);
    let addr = r.ex.fake.addr();
    let config = r.ex.config.clone();
    let fake = std::mem::replace(
        &mut r.ex.fake,
        FakeServer::start(FakeConfig::default()).await.unwrap(),
    );
    fake.shutdown().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    r.ex.fake = FakeServer::start_on(addr, config).await.unwrap();
    let after = r.ride(5, &before, "API restart").await;
    assert!(complete(&after, SITES));
    // Sessions died with the old API: the exporter logged in again.
    assert!(r.ex.fake.log().count(RouteKind::Login) >= 1);
}

#[tokio::test(start_paused = true)]
async fn survives_every_fault_at_once() {
    let mut config = shared_world();
    config.session_ttl = Duration::from_secs(3);
    let sites = config.sites.len();
    let client = ClientOptions {
        timeout: Duration::from_secs(1),
        concurrency: 8,
        ..InProcess::client()
    };
    let r = rig_with(config, client).await;
    let before = held(&r.full(sites).await);
    for status in [500, 502, 503, 504] {
        r.ex.fake
            .add_fault(rule(RouteKind::Any, FaultAction::status(status), 0.025));
    }
    r.ex.fake.add_fault(rule(
        RouteKind::Traffic,
        FaultAction::Status {
            status: 429,
            retry_after: Some("1".into()),
            body: "\"x\"".into(),
        },
        0.05,
    ));
    r.ex.fake.add_fault(rule(
        RouteKind::Traffic,
        FaultAction::Hang(Duration::from_secs(40)),
        0.05,
    ));
    r.ex.fake
        .add_fault(rule(RouteKind::Any, FaultAction::ResetMidBody, 0.05));
    r.ex.fake
        .add_fault(rule(RouteKind::Any, FaultAction::Truncated, 0.05));
    r.ex.fake
        .add_fault(rule(RouteKind::UserSites, FaultAction::NotJson, 0.1));
    r.ex.fake.set_rebuild(true);
    let mid = r.ride(6, &before, "all faults").await;
    r.ex.fake.revoke_sessions();
    r.ex.fake.set_rebuild(false);
    let end = r.ride(6, &held(&mid), "all faults, later").await;
    assert!(complete(&end, sites), "sites lost data");
    assert_eq!(r.ex.sites_held(), sites, "the page lists every site");
    assert!(
        api_requests(&end, |c| c != "200") > 0.0,
        "failed attempts are counted"
    );
    r.retries_bounded();
}

#[tokio::test(start_paused = true)]
async fn regression_failed_org_list_keeps_its_sites_with_their_account() {
    let config = shared_world();
    let sites = config.sites.len();
    let r = rig(config).await;
    let first = r.full(sites).await;
    let before = held(&first);
    // Every organization list now fails (after retries): the org's sites must stay under
    // alpha, not hop to beta (which sees the same org) or vanish.
    r.ex.fake.add_fault(FaultRule::new(
        RouteKind::OrgSites,
        FaultAction::status(503),
        None,
    ));
    let after = r.ride(6, &before, "org list failing").await;
    assert!(complete(&after, sites));
    assert!(
        r.ex.fake.log().count_status(RouteKind::OrgSites, 503) >= 6,
        "the org list was retried and failed"
    );
    let states = r.ex.account_states();
    assert!(
        states.iter().any(|(_, _, e)| e
            .as_deref()
            .is_some_and(|e| e.contains("organization list(s) failed"))),
        "the page shows the failed org list: {states:?}"
    );
}
