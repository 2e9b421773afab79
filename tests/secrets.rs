//! No machine token or session string, nor any 8+ character piece of one, may reach any
//! output: stdout, stderr (with --debug), written files, /metrics or the page.

mod support;

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use pantheon_metrics::fake::{
    FakeConfig, FakeServer, FaultAction, FaultRule, HOSTILE_LABEL, RouteKind,
};
use pantheon_metrics::pantheon::{Scrubber, redact_json_text};
use proptest::prelude::*;
use support::*;

/// Every 8-character window of every secret. Sessions start with the user id, which is not
/// secret (it is in every URL): only the part after it counts. A window that is also part of
/// a public id (a site, user or organization UUID, printed on purpose) is left out: the
/// session's random UUID shares such a window with one of them now and then by chance, and
/// a real leak still shows in the session's other windows.
fn secret_pieces(tokens: &[String], sessions: &[String], public: &[String]) -> Vec<String> {
    let mut pieces = Vec::new();
    let secret_parts =
        tokens
            .iter()
            .cloned()
            .chain(sessions.iter().map(|s| match s.split_once(':') {
                Some((_user, rest)) => rest.to_string(),
                None => s.clone(),
            }));
    for secret in secret_parts {
        let chars: Vec<char> = secret.chars().collect();
        for w in chars.windows(8) {
            let piece: String = w.iter().collect();
            // Shared boilerplate such as the "mt-" prefix is not secret material.
            if piece.chars().filter(|c| c.is_ascii_alphanumeric()).count() >= 6
                && !public.iter().any(|id| id.contains(&piece))
            {
                pieces.push(piece);
            }
        }
    }
    pieces
}

/// The ids the fake hands out on purpose: they appear in URLs, labels and logs.
fn public_ids(config: &FakeConfig) -> Vec<String> {
    let sites = config.sites.iter().map(|s| s.id.clone());
    let users = config.accounts.iter().map(|a| a.user_id.clone());
    let orgs = config.orgs.iter().map(|o| o.id.clone());
    sites.chain(users).chain(orgs).collect()
}

fn assert_clean(what: &str, text: &str, pieces: &[String]) {
    // A set of windows rather than a search per piece: the logs are long and the pieces many.
    let set: HashSet<&[u8]> = pieces.iter().map(|p| p.as_bytes()).collect();
    let lengths: BTreeSet<usize> = pieces.iter().map(|p| p.len()).collect();
    for len in lengths {
        if let Some(w) = text.as_bytes().windows(len).find(|w| set.contains(w)) {
            panic!(
                "{what} contains a piece of a secret ({:?})",
                String::from_utf8_lossy(w)
            );
        }
    }
}

#[tokio::test]
async fn no_secret_reaches_any_output() {
    let mut config = shared_world();
    config.sites[0].label = Some(HOSTILE_LABEL.to_string());
    config.session_ttl = Duration::from_secs(2);
    let mut tokens = tokens_of(&config);
    tokens.push("mt-bad-token-9f8e7d6c5b4a39281706f5e4d3c2b1a0".to_string());
    let fake = FakeServer::start(config.clone()).await.unwrap();
    // Faults so that error paths (status bodies, retries, re-logins) are exercised too.
    fake.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::status(503),
        Some(2),
    ));
    fake.add_fault(FaultRule::new(
        RouteKind::Traffic,
        FaultAction::status(401),
        Some(1),
    ));

    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("pantheon.prom");
    let mut outputs: Vec<(String, String)> = Vec::new();
    for args in [
        vec!["--debug", "sites"],
        vec!["--debug", "sites", "--format", "json"],
        vec!["--debug", "fetch", "--duration", "3d"],
        vec!["--debug", "fetch", "--format", "json"],
        vec!["--debug", "fetch", "--format", "prom"],
        vec!["--debug", "fetch", "--format", "openmetrics"],
        vec![
            "--debug",
            "fetch",
            "alpha-000",
            "--format",
            "prom",
            "--no-timestamps",
            "--output",
            out_file.to_str().unwrap(),
        ],
        vec![
            "--debug",
            "--log-format",
            "json",
            "fetch",
            "org-001",
            &config.sites[7].id,
        ],
    ] {
        let run = run(&fake, &tokens, &args).await;
        assert!(run.code == 0 || run.code == 3, "{args:?}: {run:?}");
        outputs.push((format!("{args:?}"), run.all_output()));
    }
    outputs.push((
        "written file".into(),
        std::fs::read_to_string(&out_file).unwrap(),
    ));

    let serve = Serve::start(
        &fake.url(),
        &tokens,
        &["--refresh-interval", "3s", "--tick", "1s"],
    )
    .await;
    // Run --debug too: the serve helper passes global flags before `serve`; use RUST_LOG-free
    // --debug through a second process started by hand.
    serve
        .wait_metrics(Duration::from_secs(20), |t| {
            samples(t, "pantheon_visits").len() == 8 * 28
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await; // sessions expire and renew
    outputs.push(("/metrics".into(), serve.get("/metrics").await.text()));
    outputs.push(("/".into(), serve.get("/").await.text()));
    outputs.push(("serve logs".into(), serve.log_text()));

    let debug_serve = {
        let port = free_port();
        let logs = tempfile::NamedTempFile::new().unwrap();
        let mut child = tokio::process::Command::new(BIN)
            .env_clear()
            .env("PANTHEON_MACHINE_TOKENS", tokens.join(" "))
            .args([
                "--api-url",
                &fake.url(),
                "--debug",
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--refresh-interval",
                "2s",
                "--tick",
                "1s",
            ])
            .stdout(logs.reopen().unwrap())
            .stderr(logs.reopen().unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let page = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        child.kill().await.unwrap();
        let text = std::fs::read_to_string(logs.path()).unwrap();
        assert!(
            text.contains("API request"),
            "--debug logged no request: {text}"
        );
        format!("{text}\n{page}")
    };
    outputs.push(("serve --debug".into(), debug_serve));

    let sessions = fake.issued_sessions();
    assert!(
        sessions.len() >= 4,
        "sessions were issued and renewed: {}",
        sessions.len()
    );
    let pieces = secret_pieces(&tokens, &sessions, &public_ids(&config));
    for (what, text) in &outputs {
        assert_clean(what, text, &pieces);
    }
    // The debug logs do show the redaction markers, so the check above is not vacuous.
    assert!(outputs.iter().any(|(_, t)| t.contains("[REDACTED]")));
}

/// A version-4 UUID, as Pantheon's user ids and the middle of its sessions are.
const UUID: &str = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

/// A login answer as the API (and the fake) sends it, compact or pretty.
fn login_body(user: &str, session: &str, expires_at: i64, pretty: bool) -> String {
    let value = serde_json::json!({
        "session": session,
        "expires_at": expires_at,
        "user_id": user,
    });
    if pretty {
        serde_json::to_string_pretty(&value).unwrap()
    } else {
        value.to_string()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A login answer cut at any byte is logged without any piece of its session, although
    /// the session was never parsed and so never registered with the scrubber.
    #[test]
    fn a_login_answer_cut_anywhere_shows_no_session(
        user in UUID,
        middle in UUID,
        tail in "[A-Za-z0-9]{21}",
        expires_at in 1_700_000_000i64..1_900_000_000,
        pretty in any::<bool>(),
    ) {
        let session = format!("{user}:{middle}:{tail}");
        let body = login_body(&user, &session, expires_at, pretty);
        let pieces = secret_pieces(&[], std::slice::from_ref(&session), &[]);
        let scrubber = Scrubber::default();
        for cut in 0..=body.len() {
            let cut_body = &body[..cut];
            let logged = redact_json_text(cut_body, &scrubber);
            let scrubbed = scrubber.scrub(cut_body);
            for p in &pieces {
                prop_assert!(!logged.contains(p.as_str()), "cut at {}: {:?}", cut, logged);
                prop_assert!(!scrubbed.contains(p.as_str()), "cut at {}: {:?}", cut, scrubbed);
            }
        }
    }

    /// A session-shaped string anywhere in a text (an error body, a message) is scrubbed
    /// whether or not it was registered, wherever the text is cut.
    #[test]
    fn a_session_shaped_string_is_scrubbed_anywhere(
        prefix in "[ -~]{0,30}",
        user in UUID,
        middle in UUID,
        tail in "[A-Za-z0-9]{21}",
        suffix in "[ \"',;)\\]}][ -~]{0,20}",
    ) {
        let session = format!("{user}:{middle}:{tail}");
        let text = format!("{prefix}{session}{suffix}");
        let pieces = secret_pieces(&[], std::slice::from_ref(&session), &[]);
        let scrubber = Scrubber::default();
        for cut in 0..=text.len() {
            let out = scrubber.scrub(&text[..cut]);
            for p in &pieces {
                prop_assert!(!out.contains(p.as_str()), "cut at {}: {:?}", cut, out);
            }
        }
        // Text around the session is kept.
        let whole = scrubber.scrub(&text);
        prop_assert!(whole.starts_with(&prefix), "{:?}", whole);
        prop_assert!(whole.ends_with(&suffix), "{:?}", whole);
    }
}

/// Faults on the login route only: the first login answers 400 with a cut login answer as
/// its body (so it is quoted in an error), the next is cut in the middle of its session,
/// and then half of them are cut at a random offset drawn from `seed`.
async fn fake_with_cut_logins(seed: u64, error_body: &str) -> FakeServer {
    let config = FakeConfig {
        seed,
        session_ttl: Duration::from_secs(2),
        ..shared_world()
    };
    let fake = FakeServer::start(config).await.unwrap();
    fake.add_fault(FaultRule::new(
        RouteKind::Login,
        FaultAction::Status {
            status: 400,
            retry_after: None,
            body: error_body.to_string(),
        },
        Some(1),
    ));
    fake.add_fault(FaultRule::new(
        RouteKind::Login,
        FaultAction::Truncated,
        Some(1),
    ));
    fake.add_fault(FaultRule {
        probability: 0.5,
        ..FaultRule::new(RouteKind::Login, FaultAction::TruncatedAnywhere, None)
    });
    fake
}

/// Every command, with and without `--debug`, in both log formats, against login answers
/// that are cut or broken: no piece of any session the fake issued (nor of the one quoted
/// in an error body) reaches stdout, stderr, a written file, `/metrics` or `/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_login_answers_leak_no_session() {
    const SEEDS: [u64; 3] = [11, 22, 33];
    let globals: [&[&str]; 4] = [
        &["--debug"],
        &["--debug", "--log-format", "json"],
        &[],
        &["--log-format", "json"],
    ];
    // A session that only ever appears in an error body (never issued, never registered).
    let quoted_user = "5b0c6d2e-8f3a-4c1e-9d7b-2a4f6e8c0b1d";
    let quoted_session =
        format!("{quoted_user}:0c1d2e3f-4a5b-41ef-9c8d-42010a800102:Xk4pQ9sLm2Vt7RbN3cJwe");
    let full = login_body(quoted_user, &quoted_session, 1_763_580_000, false);
    let error_body = full[..full.len() * 2 / 3].to_string();

    let dir = tempfile::tempdir().unwrap();
    let cli_runs = SEEDS.iter().map(|&seed| {
        let dir = dir.path().to_path_buf();
        let error_body = error_body.clone();
        async move {
            let fake = fake_with_cut_logins(seed, &error_body).await;
            let tokens = tokens_of(&fake.config());
            let mut outputs: Vec<(String, String)> = Vec::new();
            for (g, global) in globals.iter().enumerate() {
                let out_file = dir.join(format!("{seed}-{g}.prom"));
                let out_path = out_file.to_str().unwrap().to_string();
                let commands: [&[&str]; 7] = [
                    &["sites"],
                    &["sites", "--format", "json"],
                    &["fetch", "--duration", "3d"],
                    &["fetch", "--format", "json"],
                    &["fetch", "--format", "prom"],
                    &["fetch", "--format", "openmetrics"],
                    &["fetch", "--format", "prom", "--output", &out_path],
                ];
                for command in commands {
                    let args: Vec<&str> = global.iter().chain(command).copied().collect();
                    let run = run(&fake, &tokens, &args).await;
                    assert!(
                        [0, 1, 3].contains(&run.code),
                        "seed {seed} {args:?}: {run:?}"
                    );
                    outputs.push((format!("seed {seed} {args:?}"), run.all_output()));
                }
                if let Ok(text) = std::fs::read_to_string(&out_file) {
                    outputs.push((format!("seed {seed} written file {g}"), text));
                }
            }
            (fake.issued_sessions(), outputs)
        }
    });

    let serve_runs = globals.iter().enumerate().map(|(g, global)| {
        let error_body = error_body.clone();
        async move {
            let fake = fake_with_cut_logins(100 + g as u64, &error_body).await;
            let tokens = tokens_of(&fake.config());
            let serve = Serve::start_with(
                &fake.url(),
                &tokens,
                global,
                &["--refresh-interval", "2s", "--tick", "1s"],
            )
            .await;
            // Enough logins that cut answers, renewals and good answers all happen.
            let deadline = std::time::Instant::now() + Duration::from_secs(12);
            while fake.log().count(RouteKind::Login) < 8 && std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let metrics = serve.get("/metrics").await.text();
            let page = serve.get("/").await.text();
            let mut serve = serve;
            serve.child.kill().await.unwrap();
            let outputs = vec![
                (format!("serve {global:?} /metrics"), metrics),
                (format!("serve {global:?} /"), page),
                (format!("serve {global:?} logs"), serve.log_text()),
            ];
            (fake.issued_sessions(), outputs)
        }
    });

    let (cli, served) = tokio::join!(
        futures::future::join_all(cli_runs),
        futures::future::join_all(serve_runs)
    );
    let mut sessions = vec![quoted_session];
    let mut outputs = Vec::new();
    for (issued, outs) in cli.into_iter().chain(served) {
        sessions.extend(issued);
        outputs.extend(outs);
    }
    assert!(sessions.len() > 20, "sessions issued: {}", sessions.len());
    let pieces = secret_pieces(&[], &sessions, &public_ids(&shared_world()));
    for (what, text) in &outputs {
        assert_clean(what, text, &pieces);
    }
    // Not vacuous: debug logs did show login answers, in their redacted form, and the error
    // body was quoted.
    assert!(
        outputs
            .iter()
            .any(|(_, t)| t.contains(r#""session":"[REDACTED]"#)),
        "no login answer was logged"
    );
    assert!(
        outputs
            .iter()
            .any(|(_, t)| t.contains("login answered HTTP 400")),
        "the error body was never quoted"
    );
}
