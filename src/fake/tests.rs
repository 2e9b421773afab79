//! Talks to the fake over real HTTP, as the client will.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::*;
use crate::model::{DAY_SECONDS, day_start};

/// 2025-11-12 00:00 UTC (a Wednesday).
const TODAY: i64 = 1_762_905_600;

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// One account holding `n` generated sites.
fn sites_config(n: usize) -> FakeConfig {
    let mut c = FakeConfig::generated(1, n);
    c.today = Some(TODAY);
    c
}

struct Api {
    server: FakeServer,
    http: Client,
}

impl Api {
    async fn new(config: FakeConfig) -> Api {
        Api {
            server: FakeServer::start(config).await.expect("start"),
            http: client(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    async fn login_raw(&self, token: &str) -> reqwest::Response {
        self.http
            .post(self.url("/authorize/machine-token"))
            .json(&serde_json::json!({"machine_token": token, "client": "test"}))
            .send()
            .await
            .expect("login request")
    }

    /// (session, user id) of account `i`.
    async fn login(&self, i: usize) -> (String, String) {
        let token = self.server.config().accounts[i].token.clone();
        let r = self.login_raw(&token).await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.expect("login json");
        (
            v["session"].as_str().expect("session").to_string(),
            v["user_id"].as_str().expect("user_id").to_string(),
        )
    }

    async fn get(&self, session: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(session)
            .send()
            .await
            .expect("request")
    }

    async fn get_json(&self, session: &str, path: &str) -> (StatusCode, Value) {
        let r = self.get(session, path).await;
        let status = r.status();
        let v = r.json().await.unwrap_or(Value::Null);
        (status, v)
    }

    /// Walks a paged list as the robust client should; returns (ids, page sizes).
    async fn walk(&self, session: &str, path: &str) -> (Vec<String>, Vec<usize>) {
        let mut ids: Vec<String> = Vec::new();
        let mut sizes = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..50 {
            let q = match &cursor {
                None => format!("{path}?limit=100"),
                Some(c) => format!("{path}?limit=100&start={c}"),
            };
            let (status, v) = self.get_json(session, &q).await;
            assert_eq!(status, StatusCode::OK, "{q}");
            let page = v.as_array().expect("array").clone();
            sizes.push(page.len());
            let before = ids.len();
            for w in &page {
                let id = w["id"].as_str().expect("id").to_string();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            if page.is_empty() || ids.len() == before {
                break;
            }
            cursor = page
                .last()
                .and_then(|w| w["id"].as_str())
                .map(str::to_string);
        }
        (ids, sizes)
    }
}

fn traffic_path(site: &str, env: &str, duration: &str) -> String {
    format!("/sites/{site}/environments/{env}/traffic?duration={duration}")
}

#[tokio::test]
async fn login_and_whoami() {
    let api = Api::new(FakeConfig::demo()).await;
    let account = api.server.config().accounts[0].clone();
    let r = api.login_raw(&account.token).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(
        r.headers()["cache-control"],
        "private, max-age=0, no-cache, no-store"
    );
    assert_eq!(r.headers()["x-pantheon-trace-id"].len(), 36);
    let v: Value = r.json().await.expect("json");
    let session = v["session"].as_str().expect("session");
    let parts: Vec<&str> = session.split(':').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0], account.user_id);
    assert_eq!(parts[1].len(), 36);
    assert_eq!(parts[2].len(), 21);
    assert!(parts[2].chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(!session.contains(&account.token));
    let expires = v["expires_at"].as_i64().expect("expires_at");
    assert!((expires - api.server.now() - 86_400).abs() <= 2);

    // A second login gives another session.
    let (other, _) = api.login(0).await;
    assert_ne!(other, session);

    let (status, me) = api
        .get_json(session, &format!("/users/{}", account.user_id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], account.email.as_str());
    assert_eq!(me["id"], account.user_id.as_str());
    assert!(me["profile"].is_object());
    let beta = api.server.config().accounts[1].user_id.clone();
    let (status, _) = api.get_json(session, &format!("/users/{beta}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Bad tokens, bad bodies, legacy 500.
    let r = api.login_raw("not-a-token").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.text().await.expect("body"),
        "\"Authorization failed. Please check that your machine token is valid.\""
    );
    let r = api
        .http
        .post(api.url("/authorize/machine-token"))
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    api.server.with_config(|c| c.login_legacy_500 = true);
    assert_eq!(api.login_raw("nope").await.status(), 500);

    // The log knows who logged in but never holds a secret.
    let log = api.server.log();
    assert_eq!(log.count(RouteKind::Login), 5);
    assert_eq!(log.count_account(RouteKind::Login, 0), 2);
    assert_eq!(log.count_status(RouteKind::Login, 401), 1);
    let dump = format!("{log:?}");
    assert!(!dump.contains(&account.token) && !dump.contains(session));
}

#[tokio::test]
async fn sessions_are_required_and_expire() {
    let mut config = FakeConfig::demo();
    config.session_ttl = Duration::from_secs(600);
    let api = Api::new(config).await;
    let (session, user) = api.login(0).await;
    let path = format!("/users/{user}/memberships/sites");

    let r = api.http.get(api.url(&path)).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("x-pantheon-trace-id"));
    assert_eq!(api.get(&format!("{user}:x:y"), &path).await.status(), 401);
    let r = api
        .http
        .get(api.url(&path))
        .header("authorization", "Basic abc")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(api.get(&session, &path).await.status(), 200);

    // Expiry on the fake clock.
    api.server.advance_clock(Duration::from_secs(599));
    assert_eq!(api.get(&session, &path).await.status(), 200);
    api.server.advance_clock(Duration::from_secs(2));
    assert_eq!(api.get(&session, &path).await.status(), 401);
    assert_eq!(api.server.session_count(), 0);

    // Revocation before expires_at.
    let (session, _) = api.login(0).await;
    assert_eq!(api.get(&session, &path).await.status(), 200);
    api.server.revoke_sessions();
    assert_eq!(api.get(&session, &path).await.status(), 401);

    // Disabled token: login fails and live sessions die; re-enabling restores login.
    let (session, _) = api.login(0).await;
    let token = api.server.config().accounts[0].token.clone();
    api.server.set_token_enabled(&token, false);
    assert_eq!(api.get(&session, &path).await.status(), 401);
    assert_eq!(api.login_raw(&token).await.status(), 401);
    api.server.set_token_enabled(&token, true);
    api.login(0).await;
}

#[tokio::test]
async fn real_ttl_expires() {
    let mut config = FakeConfig::demo();
    config.session_ttl = Duration::from_millis(1200);
    let api = Api::new(config).await;
    let (session, user) = api.login(0).await;
    assert_eq!(
        api.get(&session, &format!("/users/{user}")).await.status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        api.get(&session, &format!("/users/{user}")).await.status(),
        401
    );
}

#[tokio::test]
async fn unknown_routes_are_plain_404() {
    let api = Api::new(FakeConfig::demo()).await;
    let (session, _) = api.login(0).await;
    for path in [
        "/nope",
        "/sites",
        "/authorize/machine-token",
        "/users/x/memberships/sites/extra",
    ] {
        let r = api.get(&session, path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/plain")
        );
        assert_eq!(r.text().await.expect("text"), "404 page not found\n");
    }
    let r = api
        .http
        .get(format!("http://{}/other", api.server.addr()))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    assert_eq!(api.server.log().count(RouteKind::Unknown), 5);
}

#[tokio::test]
async fn paging_exclusive() {
    for (n, expect) in [
        (250, vec![100, 100, 50, 0]),
        (100, vec![100, 0]),
        (0, vec![0]),
    ] {
        let api = Api::new(sites_config(n)).await;
        let (session, user) = api.login(0).await;
        let path = format!("/users/{user}/memberships/sites");
        let (ids, sizes) = api.walk(&session, &path).await;
        assert_eq!(sizes, expect, "{n} sites");
        assert_eq!(ids.len(), n);
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "sorted by id");
        let log = api.server.log();
        assert_eq!(log.count(RouteKind::UserSites), expect.len());
        if n == 250 {
            let last = log.of(RouteKind::UserSites).last().expect("entry");
            assert_eq!(last.query_param("limit"), Some("100"));
            assert_eq!(last.query_param("start"), Some(ids[249].as_str()));
            // limit: default 100, capped at 100, smaller honoured, garbage ignored.
            for (q, len) in [
                ("", 100),
                ("?limit=500", 100),
                ("?limit=7", 7),
                ("?limit=x&page=2", 100),
            ] {
                let (_, v) = api.get_json(&session, &format!("{path}{q}")).await;
                assert_eq!(v.as_array().map(Vec::len), Some(len), "{q}");
            }
        }
    }
}

#[tokio::test]
async fn paging_quirks() {
    let mut config = sites_config(250);
    config.paging = PagingMode::Inclusive;
    let api = Api::new(config).await;
    let (session, user) = api.login(0).await;
    let path = format!("/users/{user}/memberships/sites");
    let (ids, sizes) = api.walk(&session, &path).await;
    assert_eq!(ids.len(), 250);
    // Each page repeats the cursor; the last page brings nothing new.
    assert_eq!(sizes, vec![100, 100, 52, 1]);
    let (_, first) = api.get_json(&session, &format!("{path}?limit=100")).await;
    let cursor = first[99]["id"].as_str().expect("id").to_string();
    let (_, second) = api
        .get_json(&session, &format!("{path}?limit=100&start={cursor}"))
        .await;
    assert_eq!(second[0]["id"], cursor.as_str());

    api.server
        .with_config(|c| c.paging = PagingMode::IgnoreStart);
    let (_, again) = api
        .get_json(&session, &format!("{path}?limit=100&start={cursor}"))
        .await;
    assert_eq!(again, first);
    let (ids, sizes) = api.walk(&session, &path).await;
    assert_eq!((ids.len(), sizes), (100, vec![100, 100]));

    api.server.with_config(|c| {
        c.paging = PagingMode::ShortPages;
        c.accounts[0].site_ids.truncate(0);
    });
    for i in 0..400 {
        api.server.add_site(0, FakeSite::new(&format!("short-{i}")));
    }
    let (ids, sizes) = api.walk(&session, &path).await;
    assert_eq!(ids.len(), 400);
    assert_eq!(sizes, vec![100, 100, 50, 100, 50, 0]);
}

#[tokio::test]
async fn memberships_and_organizations() {
    let api = Api::new(FakeConfig::demo()).await;
    let config = api.server.config();
    let (session, user) = api.login(0).await;

    let (status, sites) = api
        .get_json(
            &session,
            &format!("/users/{user}/memberships/sites?limit=100"),
        )
        .await;
    assert_eq!(status, 200);
    let sites = sites.as_array().expect("array").clone();
    // 12 sites + the null wrapper.
    assert_eq!(sites.len(), 13);
    let null_wrappers = sites.iter().filter(|w| w["site"].is_null()).count();
    assert_eq!(null_wrappers, 1);
    for w in sites.iter().filter(|w| !w["site"].is_null()) {
        assert_eq!(w["id"], w["site_id"]);
        assert_eq!(w["id"], w["site"]["id"]);
        assert_eq!(w["key"], user.as_str());
        assert_eq!(w["role"], "team_member");
        assert_eq!(w["archived"], false);
    }
    let hostile = sites
        .iter()
        .find(|w| w["site"]["name"] == "ada-best-blog")
        .expect("hostile site");
    assert_eq!(hostile["site"]["label"], HOSTILE_LABEL);
    let legacy = sites
        .iter()
        .find(|w| w["site"]["name"] == "legacy-intranet")
        .expect("legacy site");
    assert!(legacy["site"].get("label").is_none());
    assert!(legacy["site"].get("plan_name").is_none());
    assert!(legacy["site"]["attributes"]["label"].is_string());
    let drift = sites
        .iter()
        .find(|w| w["site"]["name"] == "drifting-types")
        .expect("drift site");
    assert!(drift["site"]["php_version"].is_number());
    assert!(drift["site"]["upstream"].is_object());

    let (status, orgs) = api
        .get_json(
            &session,
            &format!("/users/{user}/memberships/organizations"),
        )
        .await;
    assert_eq!(status, 200);
    let orgs = orgs.as_array().expect("array").clone();
    assert_eq!(orgs.len(), 2);
    for w in &orgs {
        assert_eq!(w["id"], w["organization"]["id"]);
        let org_id = w["id"].as_str().expect("id");
        let path = format!("/organizations/{org_id}/memberships/sites");
        let (status, list) = api.get_json(&session, &path).await;
        if w["role"] == "unprivileged" {
            assert_eq!(status, 403);
            assert!(list.is_string());
        } else {
            assert_eq!(status, 200);
            let org = config.orgs.iter().find(|o| o.id == org_id).expect("org");
            assert_eq!(list.as_array().map(Vec::len), Some(org.site_ids.len()));
            assert_eq!(list[0]["organization_id"], org_id);
            assert!(list[0]["tags"].is_array());
        }
    }
    // A foreign org and an unknown org.
    let initech = &config.orgs[2].id;
    let (status, _) = api
        .get_json(
            &session,
            &format!("/organizations/{initech}/memberships/sites"),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = api
        .get_json(&session, "/organizations/nope/memberships/sites")
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .get_json(
            &session,
            &format!("/users/{}/memberships/sites", config.accounts[1].user_id),
        )
        .await;
    assert_eq!(status, 403);

    // Site lookup and site info.
    let (status, v) = api.get_json(&session, "/site-names/ada-best-blog").await;
    assert_eq!(status, 200);
    let ada = v["id"].as_str().expect("id").to_string();
    let (status, v) = api.get_json(&session, "/site-names/no%20such").await;
    assert_eq!(
        (status.as_u16(), v),
        (404, Value::from("A site named no such was not found."))
    );
    let (status, v) = api.get_json(&session, &format!("/sites/{ada}")).await;
    assert_eq!(status, 200);
    assert!(v["settings"].is_object() && v["name"] == "ada-best-blog");
    let globex_site = &config.orgs[1].site_ids[0];
    assert_eq!(
        api.get(&session, &format!("/sites/{globex_site}"))
            .await
            .status(),
        403
    );
    assert_eq!(api.get(&session, "/sites/unknown").await.status(), 404);
}

#[tokio::test]
async fn traffic_shape_and_determinism() {
    let mut config = FakeConfig::demo();
    config.today = Some(TODAY);
    let api = Api::new(config).await;
    let config = api.server.config();
    let (session, _) = api.login(0).await;
    let site = config.accounts[0].site_ids[0].clone();

    let r = api.get(&session, &traffic_path(&site, "live", "28d")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert!(r.headers().contains_key("x-pantheon-notices"));
    let v: Value = r.json().await.expect("json");
    let points = v["timeseries"].as_array().expect("timeseries");
    assert_eq!(points.len(), 28);
    for (i, p) in points.iter().enumerate() {
        let ts = p["timestamp"].as_i64().expect("timestamp");
        assert_eq!(ts, TODAY - (27 - i as i64) * DAY_SECONDS);
        assert_eq!(p["time"], crate::model::format_rfc3339(ts).as_str());
        let day = traffic_for(&site, "live", ts);
        assert_eq!(p["visits"], day.visits);
        assert_eq!(p["pages_served"], day.pages_served);
        assert_eq!(p["cache_hits"], day.cache_hits);
        assert_eq!(p["cache_misses"], day.cache_misses);
        assert_eq!(day.cache_hits + day.cache_misses, day.pages_served);
    }
    let (_, again) = api
        .get_json(&session, &traffic_path(&site, "live", "28d"))
        .await;
    assert_eq!(again, v);
    let (_, one) = api
        .get_json(&session, &traffic_path(&site, "live", "1d"))
        .await;
    assert_eq!(one["timeseries"][0], points[27]);

    // The spotty demo site has zero days; the new site has no data at all.
    let spotty = config
        .site_by_name("spotty-traffic")
        .expect("spotty")
        .id
        .clone();
    let (_, v) = api
        .get_json(&session, &traffic_path(&spotty, "live", "28d"))
        .await;
    let zeros = v["timeseries"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|p| p["pages_served"] == 0)
        .count();
    assert!(zeros >= 5, "{zeros}");
    let new = config
        .site_by_name("brand-new-site")
        .expect("new")
        .id
        .clone();
    let (_, v) = api
        .get_json(&session, &traffic_path(&new, "live", "28d"))
        .await;
    assert_eq!(v, serde_json::json!({"timeseries": []}));

    // Site-wide traffic sums the environments; weeks and months sum days.
    let (_, all) = api
        .get_json(&session, &format!("/sites/{site}/traffic?duration=3d"))
        .await;
    let sum: u64 = ENVIRONMENTS
        .iter()
        .map(|e| traffic_for(&site, e, TODAY).pages_served)
        .sum();
    assert_eq!(all["timeseries"][2]["pages_served"], sum);
    let (_, weeks) = api
        .get_json(&session, &traffic_path(&site, "live", "12w"))
        .await;
    let weeks = weeks["timeseries"].as_array().expect("weeks").clone();
    assert_eq!(weeks.len(), 12);
    assert_eq!(weeks[11]["timestamp"], TODAY - 2 * DAY_SECONDS);
    let week: u64 = (0..3)
        .map(|d| traffic_for(&site, "live", TODAY - d * DAY_SECONDS).visits)
        .sum();
    assert_eq!(weeks[11]["visits"], week);
    let (_, months) = api
        .get_json(&session, &traffic_path(&site, "live", "12m"))
        .await;
    assert_eq!(months["timeseries"].as_array().map(Vec::len), Some(12));

    // Rebuild window: same timestamps, all zeros.
    api.server.set_rebuild(true);
    let (_, zero) = api
        .get_json(&session, &traffic_path(&site, "live", "28d"))
        .await;
    let zero = zero["timeseries"].as_array().expect("array").clone();
    assert_eq!(zero.len(), 28);
    for (z, p) in zero.iter().zip(points) {
        assert_eq!(z["timestamp"], p["timestamp"]);
        assert_eq!(
            (z["visits"].as_u64(), z["pages_served"].as_u64()),
            (Some(0), Some(0))
        );
    }
    api.server.set_rebuild(false);

    // Optional extras.
    api.server.with_config(|c| c.traffic_summary = true);
    let (_, v) = api
        .get_json(&session, &traffic_path(&site, "live", "2d"))
        .await;
    assert!(v.get("summary").is_some_and(Value::is_null));
}

#[tokio::test]
async fn traffic_default_today_and_partial() {
    let api = Api::new(FakeConfig::demo()).await;
    let site = api.server.config().accounts[0].site_ids[0].clone();
    let (session, _) = api.login(0).await;
    let (_, v) = api
        .get_json(&session, &traffic_path(&site, "live", "2d"))
        .await;
    let yesterday = day_start(api.server.now()) - DAY_SECONDS;
    assert_eq!(v["timeseries"][1]["timestamp"], yesterday);
    api.server.advance_clock(Duration::from_secs(86_400));
    // A day later the 24 h session is gone too.
    assert_eq!(
        api.get(&session, &traffic_path(&site, "live", "2d"))
            .await
            .status(),
        401
    );
    let (session, _) = api.login(0).await;
    let (_, v) = api
        .get_json(&session, &traffic_path(&site, "live", "2d"))
        .await;
    assert_eq!(v["timeseries"][1]["timestamp"], yesterday + DAY_SECONDS);

    api.server.with_config(|c| c.partial_today = true);
    let (_, v) = api
        .get_json(&session, &traffic_path(&site, "live", "2d"))
        .await;
    let today = &v["timeseries"][1];
    assert_eq!(today["timestamp"], day_start(api.server.now()));
    let full = traffic_for(&site, "live", day_start(api.server.now()));
    assert!(today["visits"].as_u64() <= Some(full.visits));
    assert_eq!(
        today["cache_hits"].as_u64().unwrap_or(0) + today["cache_misses"].as_u64().unwrap_or(0),
        today["pages_served"].as_u64().unwrap_or(1)
    );
}

#[tokio::test]
async fn traffic_errors() {
    let api = Api::new(FakeConfig::demo()).await;
    let config = api.server.config();
    let (session, _) = api.login(0).await;
    let site = config.accounts[0].site_ids[0].clone();
    for bad in [
        "0d",
        "29d",
        "13w",
        "13m",
        "0m",
        "abc",
        "",
        "28",
        "%2028d",
        "-1d",
        "99999999999999999999d",
    ] {
        let (status, v) = api
            .get_json(&session, &traffic_path(&site, "live", bad))
            .await;
        assert_eq!(status, 400, "{bad:?}");
        assert!(v.is_string());
    }
    let (status, _) = api
        .get_json(
            &session,
            &format!("/sites/{site}/environments/live/traffic"),
        )
        .await;
    assert_eq!(status, 400);
    for ok in ["1d", "28d", "1w", "12w", "1m", "12m"] {
        let (status, _) = api
            .get_json(&session, &traffic_path(&site, "live", ok))
            .await;
        assert_eq!(status, 200, "{ok}");
    }
    let (status, v) = api
        .get_json(&session, &traffic_path(&site, "multidev1", "1d"))
        .await;
    assert_eq!((status.as_u16(), v.is_string()), (404, true));
    let (status, v) = api
        .get_json(&session, &traffic_path("no-such-site", "live", "1d"))
        .await;
    assert_eq!((status.as_u16(), v.is_string()), (404, true));
    // Visible to gamma only, and a Globex site nobody may read.
    let gamma_site = &config.accounts[2].site_ids[1];
    assert_eq!(
        api.get(&session, &traffic_path(gamma_site, "live", "1d"))
            .await
            .status(),
        403
    );
    let globex_site = &config.orgs[1].site_ids[0];
    assert_eq!(
        api.get(&session, &traffic_path(globex_site, "live", "1d"))
            .await
            .status(),
        403
    );
    // Org sites are visible through the org.
    let acme_site = &config.orgs[0].site_ids[0];
    assert_eq!(
        api.get(&session, &traffic_path(acme_site, "live", "1d"))
            .await
            .status(),
        200
    );

    api.server.set_site_status(&site, Some(404));
    assert_eq!(
        api.get(&session, &traffic_path(&site, "live", "1d"))
            .await
            .status(),
        404
    );
    api.server.set_site_status(&site, Some(403));
    assert_eq!(
        api.get(&session, &traffic_path(&site, "live", "1d"))
            .await
            .status(),
        403
    );
    api.server.set_site_status(&site, None);
    assert_eq!(
        api.get(&session, &traffic_path(&site, "live", "1d"))
            .await
            .status(),
        200
    );

    api.server.remove_site(&site);
    assert_eq!(
        api.get(&session, &traffic_path(&site, "live", "1d"))
            .await
            .status(),
        404
    );
    let mut new = FakeSite::new("added-at-runtime");
    new.label = Some("Added".into());
    let new_id = new.id.clone();
    api.server.add_site(0, new);
    assert_eq!(
        api.get(&session, &traffic_path(&new_id, "live", "1d"))
            .await
            .status(),
        200
    );
    let log = api.server.log();
    assert_eq!(log.count_site(RouteKind::Traffic, &new_id), 1);
    assert_eq!(
        log.count_account(RouteKind::Traffic, 0),
        log.count(RouteKind::Traffic)
    );
}

#[tokio::test]
async fn hostile_requests_do_not_break_the_fake() {
    let api = Api::new(FakeConfig::demo()).await;
    let (session, user) = api.login(0).await;
    let long = "x".repeat(20_000);
    for path in [
        "/sites/%ff%00%zz/environments/%2e%2e/traffic?duration=%ff".to_string(),
        format!("/sites/{long}/traffic?duration=1d"),
        "/site-names/%22%3Cscript%3E".to_string(),
        format!("/users/{user}/memberships/sites?limit=-5&start=%00&limit=999999999999999999999"),
        "/organizations/%/memberships/sites".to_string(),
    ] {
        let r = api.get(&session, &path).await;
        assert!(
            r.status().is_client_error() || r.status().is_success(),
            "{path}: {}",
            r.status()
        );
    }
    // Still alive.
    assert_eq!(
        api.get(&session, &format!("/users/{user}")).await.status(),
        200
    );
}

#[tokio::test]
async fn status_faults_count_down() {
    let api = Api::new(FakeConfig::demo()).await;
    let (session, user) = api.login(0).await;
    let path = format!("/users/{user}");
    api.server.add_fault(FaultRule::new(
        RouteKind::Whoami,
        FaultAction::Status {
            status: 503,
            retry_after: Some("7".into()),
            body: "\"Service unavailable\"".into(),
        },
        Some(2),
    ));
    for _ in 0..2 {
        let r = api.get(&session, &path).await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "7");
        assert_eq!(r.headers()["content-type"], "application/json");
    }
    assert_eq!(api.get(&session, &path).await.status(), 200);
    // Other routes are untouched; a permanent 409 with an object body.
    api.server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::Status {
            status: 409,
            retry_after: None,
            body: r#"{"message": "unsupported site"}"#.into(),
        },
        None,
    ));
    let site = api.server.config().accounts[0].site_ids[0].clone();
    for _ in 0..3 {
        let (status, v) = api
            .get_json(&session, &traffic_path(&site, "live", "1d"))
            .await;
        assert_eq!(
            (status.as_u16(), &v["message"]),
            (409, &Value::from("unsupported site"))
        );
    }
    api.server.clear_faults();
    assert_eq!(
        api.get(&session, &traffic_path(&site, "live", "1d"))
            .await
            .status(),
        200
    );
    // Faults apply to the login too, and without a session.
    api.server.add_fault(FaultRule::new(
        RouteKind::Any,
        FaultAction::status(502),
        Some(1),
    ));
    let token = api.server.config().accounts[0].token.clone();
    assert_eq!(api.login_raw(&token).await.status(), 502);
    let log = api.server.log();
    assert_eq!(log.count_status(RouteKind::Whoami, 503), 2);
    assert_eq!(log.count_status(RouteKind::Traffic, 409), 3);
    assert_eq!(log.count_status(RouteKind::Login, 502), 1);
}

#[tokio::test]
async fn probabilistic_faults_are_seeded() {
    async fn run() -> Vec<u16> {
        let api = Api::new(FakeConfig::demo()).await;
        let (session, user) = api.login(0).await;
        let mut rule = FaultRule::new(RouteKind::Whoami, FaultAction::status(500), None);
        rule.probability = 0.5;
        api.server.add_fault(rule);
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(
                api.get(&session, &format!("/users/{user}"))
                    .await
                    .status()
                    .as_u16(),
            );
        }
        out
    }
    let a = run().await;
    assert_eq!(a, run().await);
    assert!(a.contains(&500) && a.contains(&200));
}

#[tokio::test]
async fn broken_bodies() {
    let api = Api::new(FakeConfig::demo()).await;
    let (session, _) = api.login(0).await;
    let site = api.server.config().accounts[0].site_ids[0].clone();
    let path = traffic_path(&site, "live", "28d");

    api.server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::Truncated,
        Some(1),
    ));
    let r = api.get(&session, &path).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("complete short body");
    assert!(text.starts_with("{\"timeseries\":["));
    assert!(serde_json::from_str::<Value>(&text).is_err());

    // Cut anywhere: a proper, non-empty prefix of the normal body.
    let full = api.get(&session, &path).await.text().await.expect("body");
    let mut cuts = Vec::new();
    for _ in 0..8 {
        api.server.add_fault(FaultRule::new(
            RouteKind::Traffic,
            FaultAction::TruncatedAnywhere,
            Some(1),
        ));
        let r = api.get(&session, &path).await;
        assert_eq!(r.status(), 200);
        let text = r.text().await.expect("complete short body");
        assert!(
            !text.is_empty() && text.len() < full.len(),
            "{}",
            text.len()
        );
        assert!(full.starts_with(&text));
        cuts.push(text.len());
    }
    cuts.sort_unstable();
    cuts.dedup();
    assert!(cuts.len() > 1, "the cut point varies: {cuts:?}");

    api.server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::NotJson,
        Some(1),
    ));
    let r = api.get(&session, &path).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    assert!(r.json::<Value>().await.is_err());

    api.server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::ResetMidBody,
        Some(1),
    ));
    let r = api.get(&session, &path).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-length").is_none());
    assert!(r.bytes().await.is_err(), "reset must surface as an error");

    // Back to normal, on a fresh connection.
    assert_eq!(api.get(&session, &path).await.status(), 200);

    // Hang: slow but correct.
    api.server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::Hang(Duration::from_millis(300)),
        Some(1),
    ));
    let t = Instant::now();
    assert_eq!(api.get(&session, &path).await.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    // A client timeout shorter than the hang fails.
    api.server.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::Hang(Duration::from_millis(500)),
        Some(1),
    ));
    let r = api
        .http
        .get(api.url(&path))
        .bearer_auth(&session)
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
}

#[tokio::test]
async fn rate_limit() {
    let api = Api::new(FakeConfig::demo()).await;
    let (alpha, user) = api.login(0).await;
    let (beta, beta_user) = api.login(1).await;
    api.server.set_rate_limit(Some(RateLimit {
        per_second: 5.0,
        burst: 3,
        retry_after: Some(2),
    }));
    let path = format!("/users/{user}");
    for _ in 0..3 {
        assert_eq!(api.get(&alpha, &path).await.status(), 200);
    }
    let r = api.get(&alpha, &path).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    // Per account: beta still has its burst.
    assert_eq!(
        api.get(&beta, &format!("/users/{beta_user}"))
            .await
            .status(),
        200
    );
    // Refill at 5/s.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(api.get(&alpha, &path).await.status(), 200);

    api.server.set_rate_limit(Some(RateLimit {
        per_second: 0.0,
        burst: 1,
        retry_after: None,
    }));
    assert_eq!(api.get(&alpha, &path).await.status(), 200);
    let r = api.get(&alpha, &path).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());
    api.server.set_rate_limit(None);
    assert_eq!(api.get(&alpha, &path).await.status(), 200);
    assert_eq!(api.server.log().count_status(RouteKind::Whoami, 429), 2);
}

#[tokio::test]
async fn log_counts_peak_in_flight() {
    let mut config = FakeConfig::demo();
    config.latency = Duration::from_millis(200);
    let api = Api::new(config).await;
    let (session, user) = api.login(0).await;
    api.server.reset_log();
    let t = Instant::now();
    let path = format!("/users/{user}");
    let calls = (0..6).map(|_| api.get(&session, &path));
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| r.status() == 200));
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "concurrent, not serial"
    );
    let log = api.server.log();
    assert_eq!(log.count(RouteKind::Any), 6);
    assert_eq!(log.count_account(RouteKind::Whoami, 0), 6);
    assert_eq!(log.peak_in_flight, 6);
    assert!(log.entries.windows(2).all(|w| w[0].at <= w[1].at));

    api.server.set_latency(Duration::ZERO);
    api.server.reset_log();
    api.get(&session, &path).await;
    assert_eq!(api.server.log().peak_in_flight, 1);
}

#[tokio::test]
async fn restart_on_same_port_and_drop() {
    let server = FakeServer::start(FakeConfig::demo()).await.expect("start");
    let addr = server.addr();
    let http = client();
    let token = server.config().accounts[0].token.clone();
    let login = |url: String| {
        let http = http.clone();
        let token = token.clone();
        async move {
            http.post(format!("{url}/authorize/machine-token"))
                .json(&serde_json::json!({"machine_token": token, "client": "t"}))
                .send()
                .await
        }
    };
    let url = server.url();
    assert_eq!(login(url.clone()).await.expect("up").status(), 200);
    server.shutdown().await;
    assert!(login(url.clone()).await.is_err());

    let server = FakeServer::start_on(addr, FakeConfig::demo())
        .await
        .expect("restart");
    assert_eq!(server.url(), url);
    assert_eq!(login(url.clone()).await.expect("up again").status(), 200);
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(login(url).await.is_err());
}

#[tokio::test]
async fn demo_world_is_consistent() {
    let demo = FakeConfig::demo();
    assert_eq!(demo.accounts.len(), 3);
    assert!(
        (38..=45).contains(&demo.sites.len()),
        "{}",
        demo.sites.len()
    );
    let mut ids: Vec<&str> = demo.sites.iter().map(|s| s.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), demo.sites.len(), "unique site ids");
    for a in &demo.accounts {
        assert!(a.token.len() > 40 && a.token.starts_with("demo-token-"));
        assert!(a.site_ids.iter().all(|id| demo.site(id).is_some()));
    }
    for o in &demo.orgs {
        assert!(o.site_ids.iter().all(|id| demo.site(id).is_some()));
    }
    // Shared between accounts.
    let alpha = demo.visible_site_ids(0);
    let beta = demo.visible_site_ids(1);
    assert!(alpha.iter().filter(|id| beta.contains(id)).count() >= 9);
    assert!(
        demo.sites
            .iter()
            .any(|s| s.label.as_deref() == Some(HOSTILE_LABEL))
    );
    assert!(is_spotty(
        &demo.site_by_name("spotty-traffic").expect("spotty").id
    ));
    let big = FakeConfig::generated(2, 500);
    assert_eq!(big.sites.len(), 1000);
    assert_eq!(big.visible_site_ids(1).len(), 500);
}

/// The structure of a JSON value: object keys and value types, with the shapes of all
/// elements of an array merged (so optional keys and drifting types show up).
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).reduce(merge).into_iter().collect()),
        Value::String(_) => "string".into(),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "bool".into(),
        Value::Null => "null".into(),
    }
}

fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut a), Value::Object(b)) => {
            for (k, v) in b {
                let merged = match a.remove(&k) {
                    Some(old) => merge(old, v),
                    None => v,
                };
                a.insert(k, merged);
            }
            Value::Object(a)
        }
        (Value::Array(a), Value::Array(b)) => {
            Value::Array(a.into_iter().chain(b).reduce(merge).into_iter().collect())
        }
        (a, b) if a == b => a,
        // A nullable object or array (e.g. `"site": null`) keeps its structure.
        (x @ (Value::Object(_) | Value::Array(_)), n)
        | (n, x @ (Value::Object(_) | Value::Array(_)))
            if n == "null" =>
        {
            x
        }
        (a, b) => {
            let mut kinds: Vec<String> = [a, b]
                .iter()
                .flat_map(|v| match v {
                    Value::String(s) => s.split('|').map(str::to_string).collect(),
                    other => vec![other.to_string()],
                })
                .collect();
            kinds.sort();
            kinds.dedup();
            Value::String(kinds.join("|"))
        }
    }
}

/// The recorded answers in `testdata/fake/` still match what the fake sends (set
/// `FAKE_UPDATE_FIXTURES=1` to re-record them).
#[tokio::test]
async fn fixtures_match_shapes() {
    let mut config = FakeConfig::demo();
    config.today = Some(TODAY);
    let api = Api::new(config).await;
    let (session, user) = api.login(0).await;
    let config = api.server.config();
    let site = config
        .site_by_name("alpha-corporate")
        .expect("site")
        .id
        .clone();
    let acme = config.orgs[0].id.clone();
    let cases = [
        ("traffic-28d.json", traffic_path(&site, "live", "28d")),
        (
            "site-memberships-page.json",
            format!("/users/{user}/memberships/sites?limit=3"),
        ),
        (
            "org-memberships-page.json",
            format!("/users/{user}/memberships/organizations?limit=1"),
        ),
        (
            "org-site-memberships-page.json",
            format!("/organizations/{acme}/memberships/sites?limit=2"),
        ),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fake");
    let update = std::env::var_os("FAKE_UPDATE_FIXTURES").is_some();
    for (file, path) in cases {
        let (status, live) = api.get_json(&session, &path).await;
        assert_eq!(status, 200, "{path}");
        let file = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).expect("mkdir");
            let text = serde_json::to_string_pretty(&live).expect("json") + "\n";
            std::fs::write(&file, text).expect("write fixture");
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("fixture present");
        let recorded: Value = serde_json::from_str(&text).expect("fixture json");
        assert_eq!(shape(&recorded), shape(&live), "{}", file.display());
    }
}

#[test]
fn can_see_agrees_with_the_visible_list() {
    let demo = FakeConfig::demo();
    for account in 0..demo.accounts.len() {
        let visible = demo.visible_site_ids(account);
        for site in &demo.sites {
            assert_eq!(
                demo.can_see(account, &site.id),
                visible.contains(&site.id),
                "{} for {account}",
                site.name
            );
        }
    }
    assert!(!demo.can_see(99, &demo.sites[0].id));
}
