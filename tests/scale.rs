//! Scale-out: `serve --shard K/N` replicas and `serve --state-file` restarts, run as real
//! processes against the fake API.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use pantheon_metrics::fake::{FakeServer, RouteKind};
use pantheon_metrics::serve::Shard;
use support::*;

/// A long interval, and a tick (the round robin's and the state file's cadence) long
/// enough that backfills and catch-ups are done before any refresh turn comes.
const QUIET: [&str; 4] = ["--refresh-interval", "1h", "--tick", "5s"];

/// Site names in a `/metrics` body, with how many `pantheon_visits` samples each has.
fn visits_per_site(text: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (labels, _, _) in samples(text, "pantheon_visits") {
        let name = labels
            .split("name=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        *out.entry(name).or_default() += 1;
    }
    out
}

fn complete(text: &str, sites: usize) -> bool {
    let per = visits_per_site(text);
    per.len() == sites && per.values().all(|&n| n == 28)
}

async fn wait_exit(serve: &mut Serve) {
    serve.signal("TERM");
    let status = tokio::time::timeout(Duration::from_secs(6), serve.child.wait())
        .await
        .expect("exited within 6 s")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Waits until the state file holds `sites` sites with 28 days each.
async fn wait_state(path: &Path, sites: usize) -> serde_json::Value {
    let start = Instant::now();
    loop {
        if let Ok(bytes) = std::fs::read(path) {
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
            let held = v["sites"].as_array().unwrap();
            if held.len() == sites
                && held
                    .iter()
                    .all(|s| s["days"].as_array().unwrap().len() == 28)
            {
                return v;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "state file never complete"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn three_shards_split_the_sites_and_fetch_each_once() {
    let config = single_account_world(15);
    let tokens = tokens_of(&config);
    let all: BTreeSet<String> = config.sites.iter().map(|s| s.name.clone()).collect();
    let owned: Vec<BTreeSet<String>> = (1..=3)
        .map(|k| {
            let shard = Shard::new(k, 3).unwrap();
            config
                .sites
                .iter()
                .filter(|s| shard.owns(&s.id))
                .map(|s| s.name.clone())
                .collect()
        })
        .collect();
    assert!(
        owned.iter().all(|o| !o.is_empty()),
        "every shard owns some of the test sites: {owned:?}"
    );
    let fake = FakeServer::start(config.clone()).await.unwrap();
    let mut replicas = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let mut args = vec!["--shard", shard.as_str()];
        args.extend_from_slice(&QUIET);
        replicas.push(Serve::start(&fake.url(), &tokens, &args).await);
    }
    let mut union = BTreeSet::new();
    for (i, serve) in replicas.iter().enumerate() {
        let text = serve
            .wait_metrics(Duration::from_secs(30), |t| complete(t, owned[i].len()))
            .await;
        let names: BTreeSet<String> = visits_per_site(&text).into_keys().collect();
        assert_eq!(
            names,
            owned[i],
            "replica {} exports exactly its sites",
            i + 1
        );
        assert!(
            names.is_disjoint(&union),
            "replica {} overlaps another",
            i + 1
        );
        union.extend(names);
        assert!(
            text.contains(&format!(
                "pantheon_exporter_shard{{of=\"3\",shard=\"{}\"}} 1",
                i + 1
            )),
            "{text}"
        );
        let page = serve.get("/").await.text();
        assert!(
            page.contains(&format!("Shard <b>{}</b> of <b>3</b>", i + 1)),
            "{page}"
        );
    }
    assert_eq!(union, all, "together the replicas export every site");

    let log = fake.log();
    for site in &config.sites {
        let backfills = log
            .of(RouteKind::Traffic)
            .filter(|e| e.site_id.as_deref() == Some(site.id.as_str()))
            .filter(|e| e.query_param("duration") == Some("28d"))
            .count();
        assert_eq!(
            backfills, 1,
            "{}'s history was fetched by exactly one replica, once",
            site.name
        );
    }
    // Every replica listed the sites itself.
    assert!(log.count(RouteKind::UserSites) >= 3);
}

#[tokio::test]
async fn a_bad_shard_is_a_usage_error() {
    for bad in ["0/3", "4/3", "2", "a/b"] {
        let run = run_env(
            "http://127.0.0.1:9/api",
            &["mt-x".into()],
            &["serve", "--shard", bad],
            &[],
        )
        .await;
        assert_eq!(run.code, 2, "{bad}: {run:?}");
        assert!(run.stderr.contains("--shard"), "{}", run.stderr);
    }
}

#[tokio::test]
async fn a_state_file_in_a_missing_folder_is_a_usage_error() {
    let run = run_env(
        "http://127.0.0.1:9/api",
        &["mt-x".into()],
        &["serve", "--state-file", "/nonexistent-folder/state.json"],
        &[],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

#[tokio::test]
async fn restart_with_a_state_file_serves_everything_at_once_and_refetches_nothing() {
    let config = single_account_world(5);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap().to_string();
    let mut args = vec!["--state-file", state_arg.as_str()];
    args.extend_from_slice(&QUIET);

    let mut first = Serve::start(&fake.url(), &tokens, &args).await;
    first
        .wait_metrics(Duration::from_secs(20), |t| complete(t, 5))
        .await;
    let saved = wait_state(&state, 5).await;
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["environment"], "live");
    wait_exit(&mut first).await;

    fake.reset_log();
    let second = Serve::start(&fake.url(), &tokens, &args).await;
    let text = second.get("/metrics").await.text();
    assert!(
        complete(&text, 5),
        "the first scrape after the restart is complete:\n{text}\n{}",
        second.log_text()
    );
    let start = Instant::now();
    while second.get("/readyz").await.status != 200 {
        assert!(start.elapsed() < Duration::from_secs(15), "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = fake.log();
    assert!(
        log.count(RouteKind::UserSites) >= 1,
        "the sites were listed"
    );
    // Sites held and refreshed within the interval wait for their round-robin turn (a
    // refresh of --refresh-duration); nothing fetches their history again.
    let traffic: Vec<_> = log
        .of(RouteKind::Traffic)
        .filter(|e| e.query_param("duration") != Some("2d"))
        .collect();
    assert!(
        traffic.is_empty(),
        "the restart fetched history it held: {traffic:?}"
    );
    assert!(complete(&second.get("/metrics").await.text(), 5));
}

#[tokio::test]
async fn restart_with_stale_state_fetches_only_the_missing_days() {
    let config = single_account_world(4);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap().to_string();
    let mut args = vec!["--state-file", state_arg.as_str()];
    args.extend_from_slice(&QUIET);

    let mut first = Serve::start(&fake.url(), &tokens, &args).await;
    first
        .wait_metrics(Duration::from_secs(20), |t| complete(t, 4))
        .await;
    let mut saved = wait_state(&state, 4).await;
    wait_exit(&mut first).await;

    // As if the exporter had been down for four days: the newest four days are missing
    // and the last refresh is old.
    let long_ago = fake.now() - 4 * 86_400;
    for site in saved["sites"].as_array_mut().unwrap() {
        let days = site["days"].as_array_mut().unwrap();
        days.truncate(24);
        site["last_refresh"] = long_ago.into();
    }
    std::fs::write(&state, serde_json::to_vec(&saved).unwrap()).unwrap();

    fake.reset_log();
    let second = Serve::start(&fake.url(), &tokens, &args).await;
    let early = second.get("/metrics").await.text();
    let per = visits_per_site(&early);
    assert_eq!(per.len(), 4, "restored sites are served at once");
    assert!(per.values().all(|&n| n == 24), "{per:?}");
    second
        .wait_metrics(Duration::from_secs(20), |t| complete(t, 4))
        .await;
    let log = fake.log();
    let durations: Vec<&str> = log
        .of(RouteKind::Traffic)
        .filter_map(|e| e.query_param("duration"))
        .collect();
    // Held through 5 days ago; the fake's newest day is yesterday: 5 days fill the gap
    // (the newest held day is fetched again, as a refresh would).
    assert_eq!(durations, ["6d"; 4], "{}", second.log_text());
}

#[tokio::test]
async fn a_corrupt_state_file_is_set_aside_and_start_up_goes_on() {
    let config = single_account_world(2);
    let tokens = tokens_of(&config);
    let fake = FakeServer::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, b"{\"version\":1,\"written_at\":17").unwrap();
    let state_arg = state.to_str().unwrap().to_string();
    let mut args = vec!["--state-file", state_arg.as_str()];
    args.extend_from_slice(&QUIET);
    let serve = Serve::start(&fake.url(), &tokens, &args).await;
    serve
        .wait_metrics(Duration::from_secs(20), |t| complete(t, 2))
        .await;
    let aside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("state.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(serve.log_text().contains("state file not usable"));
    wait_state(&state, 2).await;
}
