//! The client library against the fake API, without the binary: session sharing, the
//! request-rate cap, and decoding of recorded answer shapes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pantheon_metrics::fake::{FakeAccount, FakeConfig, FakeServer, FakeSite, fake_uuid};
use pantheon_metrics::model::TrafficDuration;
use pantheon_metrics::pantheon::{Account, Client, ClientOptions, Secret, wire};

fn world(n: usize) -> FakeConfig {
    let sites: Vec<FakeSite> = (0..n)
        .map(|i| FakeSite::new(&format!("s-{i:02}")))
        .collect();
    let account = FakeAccount {
        token: "mt-client-test-token-0123456789abcdef".into(),
        user_id: fake_uuid("user:client"),
        email: "client@example.com".into(),
        site_ids: sites.iter().map(|s| s.id.clone()).collect(),
        orgs: Vec::new(),
    };
    FakeConfig {
        accounts: vec![account],
        sites,
        ..FakeConfig::default()
    }
}

fn client(server: &FakeServer, concurrency: usize, max_rps: f64) -> Client {
    Client::new(ClientOptions {
        base_url: server.url(),
        concurrency,
        max_rps,
        backoff_base: Duration::from_millis(10),
        ..ClientOptions::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_on_a_revoked_session_trigger_one_login() {
    let config = world(8);
    let server = FakeServer::start(config.clone()).await.unwrap();
    let client = client(&server, 8, 0.0);
    let account = Arc::new(Account::new(
        1,
        Secret::new(config.accounts[0].token.as_str()),
    ));
    assert_eq!(
        &*client.identify(&account).await.unwrap(),
        "client@example.com"
    );
    server.revoke_sessions();
    server.reset_log();
    let d = TrafficDuration::days(2).unwrap();
    let calls = config.sites.iter().map(|s| {
        let (client, account, id) = (client.clone(), account.clone(), s.id.clone());
        tokio::spawn(async move { client.traffic(&account, &id, "live", d).await })
    });
    for call in futures::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap().days.len(), 2);
    }
    let log = server.log();
    assert_eq!(
        log.count(pantheon_metrics::fake::RouteKind::Login),
        1,
        "one re-login for eight 401s"
    );
}

#[tokio::test]
async fn max_rps_spaces_request_starts() {
    let config = world(6);
    let server = FakeServer::start(config.clone()).await.unwrap();
    let client = client(&server, 4, 5.0);
    let account = Account::new(1, Secret::new(config.accounts[0].token.as_str()));
    let start = Instant::now();
    let d = TrafficDuration::days(1).unwrap();
    for site in &config.sites {
        client.traffic(&account, &site.id, "live", d).await.unwrap();
    }
    // 7 requests (login + 6) at 5 per second: the last starts at least 1.2 s after the first.
    assert!(
        start.elapsed() >= Duration::from_millis(1150),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn an_unknown_token_is_a_login_error_naming_only_its_fingerprint() {
    let server = FakeServer::start(world(1)).await.unwrap();
    let client = client(&server, 2, 0.0);
    let token = "mt-nobody-knows-me-5555666677778888";
    let account = Account::new(3, Secret::new(token));
    let err = client.identify(&account).await.unwrap_err().to_string();
    assert!(err.contains("token #3 (sha256:"), "{err}");
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains("5555666677778888"), "{err}");
}

fn fixture(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn recorded_site_shapes_decode() {
    // 2016 shape: no top-level label, no plan_name, php_version a number.
    let old = fixture("site-2016.json");
    let site = wire::site(&old).unwrap();
    assert_eq!(site.label, "Acme Legacy");
    assert_eq!(site.plan, "free");
    // 2025 shape: label and plan_name at the top, upstream an object.
    let new = fixture("site-2025.json");
    let site = wire::site(&new).unwrap();
    assert_eq!(
        (
            site.label.as_str(),
            site.plan.as_str(),
            site.region.as_str()
        ),
        ("Acme Blog", "Basic", "us-central1")
    );
    assert_eq!(site.created, 1_700_000_000);
}

#[test]
fn recorded_membership_pages_decode() {
    let page = fixture("user-site-memberships.json");
    let sites: Vec<_> = page
        .as_array()
        .unwrap()
        .iter()
        .filter_map(wire::membership_site)
        .collect();
    assert_eq!(sites.len(), 2, "the null site is skipped");
    let orgs = fixture("user-org-memberships.json");
    let org = wire::org_membership(&orgs[0]).unwrap();
    assert_eq!(
        (org.name.as_str(), org.role.as_str()),
        ("Acme Digital Agency", "admin")
    );
}

#[test]
fn recorded_traffic_decodes() {
    let (days, skipped) = wire::traffic(&fixture("traffic-2d.json")).unwrap();
    assert_eq!(skipped, 0);
    assert_eq!(days.len(), 2);
    assert_eq!(days[0].timestamp, 1_762_732_800);
    assert_eq!(days[0].cache_hit_ratio(), Some(3.86));
}
