//! `pantheon-metrics sites` against the fake API: paging quirks, de-duplication, filters,
//! label fallbacks, formats.

mod support;

use pantheon_metrics::fake::{FakeConfig, FakeServer, PagingMode, RouteKind};
use support::*;

async fn listed(config: FakeConfig, args: &[&str]) -> (Vec<(String, String)>, FakeServer, Run) {
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let mut all = vec!["sites", "--format", "json"];
    all.extend_from_slice(args);
    let run = run(&server, &tokens, &all).await;
    assert_eq!(run.code, 0, "{run:?}");
    (site_pairs(&run.stdout), server, run)
}

#[tokio::test]
async fn paging_reads_all_250_sites_in_four_requests() {
    let (pairs, server, _) = listed(single_account_world(250), &[]).await;
    assert_eq!(pairs.len(), 250);
    // 100 + 100 + 50, then the empty page that proves the end.
    assert_eq!(server.log().count(RouteKind::UserSites), 4);
}

#[tokio::test]
async fn paging_exactly_100_asks_once_more() {
    let (pairs, server, _) = listed(single_account_world(100), &[]).await;
    assert_eq!(pairs.len(), 100);
    let log = server.log();
    assert_eq!(log.count(RouteKind::UserSites), 2);
    let second = log.of(RouteKind::UserSites).nth(1).unwrap();
    assert!(second.query_param("start").is_some(), "{:?}", second.query);
}

#[tokio::test]
async fn paging_survives_an_inclusive_cursor() {
    let mut config = single_account_world(250);
    config.paging = PagingMode::Inclusive;
    let (pairs, server, _) = listed(config, &[]).await;
    assert_eq!(pairs.len(), 250);
    assert!(server.log().count(RouteKind::UserSites) <= 5);
}

#[tokio::test]
async fn paging_stops_when_start_is_ignored() {
    let mut config = single_account_world(250);
    config.paging = PagingMode::IgnoreStart;
    let (pairs, server, _) = listed(config, &[]).await;
    // The server only ever gives page one: we get it once, notice no new id, and stop.
    assert_eq!(pairs.len(), 100);
    assert_eq!(server.log().count(RouteKind::UserSites), 2);
}

#[tokio::test]
async fn paging_does_not_stop_at_a_short_page_mid_list() {
    let mut config = single_account_world(250);
    config.paging = PagingMode::ShortPages;
    let (pairs, _, _) = listed(config, &[]).await;
    assert_eq!(pairs.len(), 250);
}

#[tokio::test]
async fn sites_are_deduplicated_across_memberships_and_accounts() {
    let config = shared_world();
    let (pairs, _, _) = listed(config, &[]).await;
    let mut names: Vec<&str> = pairs.iter().map(|(_, n)| n.as_str()).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "a site listed twice: {pairs:?}");
    assert_eq!(names.len(), 8);
    // The first token owns what both see; the org's sites belong to alpha (listed first).
    for (account, name) in &pairs {
        let expected = if name.starts_with("beta") {
            "beta@example.com"
        } else {
            "alpha@example.com"
        };
        assert_eq!(account, expected, "{name}");
    }
}

#[tokio::test]
async fn org_filter_lists_only_that_organization() {
    let config = shared_world();
    let org_id = config.orgs[0].id.clone();
    let (pairs, server, _) = listed(config, &["--org-id", &org_id]).await;
    let mut names: Vec<&str> = pairs.iter().map(|(_, n)| n.as_str()).collect();
    names.sort();
    assert_eq!(names, ["org-000", "org-001", "org-002"]);
    let log = server.log();
    assert_eq!(
        log.count(RouteKind::UserSites),
        0,
        "--org-id must not walk the user lists"
    );
    assert_eq!(log.count(RouteKind::UserOrgs), 0);
}

#[tokio::test]
async fn site_limit_caps_the_total() {
    let (pairs, _, _) = listed(shared_world(), &["--site-limit", "5"]).await;
    assert_eq!(pairs.len(), 5);
}

#[tokio::test]
async fn labels_and_plans_fall_back_and_json_has_exact_keys() {
    let mut config = single_account_world(3);
    config.sites[0].label = None; // only attributes.label
    config.sites[0].attributes_label = Some("From Attributes".into());
    config.sites[1].label = None;
    config.sites[1].attributes_label = None; // falls back to the name
    config.sites[2].plan_name = None; // falls back to service_level
    config.sites[2].service_level = "pro".into();
    config.sites[2].drift = true;
    config.null_site_wrappers = true;
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let run = run(&server, &tokens, &["sites", "--format", "json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 3);
    let mut keys: Vec<&str> = items[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "account",
            "created",
            "framework",
            "frozen",
            "id",
            "label",
            "name",
            "organization",
            "plan",
            "region"
        ]
    );
    let by_name = |n: &str| items.iter().find(|s| s["name"] == n).unwrap();
    assert_eq!(by_name("site-000")["label"], "From Attributes");
    assert_eq!(by_name("site-001")["label"], "site-001");
    assert_eq!(by_name("site-002")["plan"], "pro");
    assert!(
        by_name("site-000")["created"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[tokio::test]
async fn table_is_sorted_by_account_then_name() {
    let config = shared_world();
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let run = run(&server, &tokens, &["sites"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let pos = |needle: &str| {
        run.stdout
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing:\n{}", run.stdout))
    };
    assert!(pos("alpha-000") < pos("alpha-002"));
    assert!(pos("alpha-002") < pos("org-000"));
    assert!(pos("org-002") < pos("beta-000"));
}

#[tokio::test]
async fn a_bad_token_skips_its_account_and_exits_partial() {
    let config = shared_world();
    let mut tokens = tokens_of(&config);
    tokens.insert(0, "mt-revoked-0123456789abcdef0123456789".into());
    let server = FakeServer::start(config).await.unwrap();
    let run = run(&server, &tokens, &["sites", "--format", "json"]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(site_pairs(&run.stdout).len(), 8);
    assert!(run.stderr.contains("token #1 (sha256:"), "{}", run.stderr);
    assert!(
        !run.all_output().contains("0123456789abcdef"),
        "token characters leaked"
    );
}

#[tokio::test]
async fn no_token_is_a_configuration_error() {
    let run = run_env("http://127.0.0.1:9/api", &[], &["sites"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("PANTHEON_MACHINE_TOKENS"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn tokens_file_is_read() {
    let config = single_account_world(2);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(
        &file,
        format!("# ops account\n\n{}\n", config.accounts[0].token),
    )
    .unwrap();
    let server = FakeServer::start(config).await.unwrap();
    let run = run_env(
        &server.url(),
        &[],
        &[
            "sites",
            "--format",
            "json",
            "--tokens-file",
            file.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(site_pairs(&run.stdout).len(), 2);
}

#[tokio::test]
async fn empty_environment_variables_count_as_unset() {
    let config = single_account_world(3);
    let tokens = tokens_of(&config);
    let server = FakeServer::start(config).await.unwrap();
    let run = run_env(
        &server.url(),
        &tokens,
        &["sites", "--format", "json"],
        &[
            ("ORG_ID", ""),
            ("SITE_LIMIT", ""),
            ("PANTHEON_ENV", ""),
            ("LOG_LEVEL", ""),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(site_pairs(&run.stdout).len(), 3);
}
