//! `serve --remote-write URL`: pushes every day the exporter learns into Prometheus,
//! Mimir, VictoriaMetrics or any other receiver of the remote-write 1.0 protocol.
//!
//! The scheduler sends each site's days after every successful fetch as an [`Event`]
//! through a bounded channel; the [`Planner`] turns them into samples (final days at their
//! own timestamp, once; the newest day as a current value) and hands them to every
//! receiver's bounded [`queue::Queue`]; one task per receiver sends its queue in order.

mod client;
pub mod planner;
pub mod proto;
pub mod queue;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use client::{Auth, Metrics, Options, Remote, display_url};
pub use planner::{Event, Planner, SiteUpdate};

/// Events waiting for the planner; the scheduler waits when it is full (the planner does
/// no I/O, so it never is for long).
const EVENT_BUFFER: usize = 1024;
/// How often days are checked for having become final (they do at midnight UTC).
const AGE_EVERY: Duration = Duration::from_secs(60);

/// The scheduler's handle on the remote writer.
#[derive(Clone, Debug)]
pub struct RemoteWrite {
    tx: mpsc::Sender<Event>,
}

impl RemoteWrite {
    /// Starts the planner and one sender per receiver on `tracker`; they stop on `cancel`.
    pub fn start(
        remotes: Vec<Arc<Remote>>,
        refresh_days: u32,
        tracker: &TaskTracker,
        cancel: &CancellationToken,
    ) -> RemoteWrite {
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        for remote in &remotes {
            tracker.spawn(remote.clone().run(cancel.clone()));
        }
        tracker.spawn(plan(
            rx,
            Planner::new(refresh_days),
            remotes,
            cancel.clone(),
        ));
        RemoteWrite { tx }
    }

    /// Hands an event to the planner (waits while its buffer is full).
    pub async fn send(&self, event: Event) {
        let _ = self.tx.send(event).await;
    }
}

async fn plan(
    mut rx: mpsc::Receiver<Event>,
    mut planner: Planner,
    remotes: Vec<Arc<Remote>>,
    cancel: CancellationToken,
) {
    // Days become final by tokio's clock, so a test on a paused clock can cross midnight.
    let clock = crate::clock::Clock::new();
    let mut age = tokio::time::interval(AGE_EVERY);
    age.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let series = tokio::select! {
            _ = cancel.cancelled() => return,
            event = rx.recv() => match event {
                Some(event) => planner.handle(event, clock.now_ms()),
                None => return,
            },
            _ = age.tick() => planner.age(clock.now_ms()),
        };
        if series.is_empty() {
            continue;
        }
        if let Some((last, rest)) = remotes.split_last() {
            for remote in rest {
                remote.enqueue(series.clone());
            }
            last.enqueue(series);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::proto::{Sample, SeriesSamples, decode, labels};
    use super::*;
    use std::sync::Mutex;
    use warp::Filter;

    /// A receiver that records decoded requests and refuses (400) any request holding a
    /// sample with value 666, and answers 503 to the first `fail_first` requests.
    type Received = Vec<(Vec<(String, String)>, proto::WriteRequest)>;

    struct Receiver {
        url: reqwest::Url,
        got: Arc<Mutex<Received>>,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    async fn receiver(fail_first: usize) -> Receiver {
        let got: Arc<Mutex<Vec<_>>> = Arc::default();
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let g = got.clone();
        let route = warp::post()
            .and(warp::path!("api" / "v1" / "write"))
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .map(move |headers: http::HeaderMap, body: bytes::Bytes| {
                let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n < fail_first {
                    return warp::reply::with_status("down", http::StatusCode::SERVICE_UNAVAILABLE);
                }
                let req = decode(&body).expect("a valid body");
                let poisoned = req
                    .timeseries
                    .iter()
                    .any(|t| t.samples.iter().any(|s| s.value == 666.0));
                if poisoned {
                    return warp::reply::with_status(
                        "duplicate sample",
                        http::StatusCode::BAD_REQUEST,
                    );
                }
                let hs = headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                g.lock().unwrap().push((hs, req));
                warp::reply::with_status("", http::StatusCode::NO_CONTENT)
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(
            warp::serve(route)
                .incoming(listener)
                .graceful(async move {
                    let _ = stopped.await;
                })
                .run(),
        );
        Receiver {
            url: format!("http://{addr}/api/v1/write").parse().unwrap(),
            got,
            _stop: stop,
        }
    }

    fn series(n: usize, poison_at: Option<usize>) -> Vec<SeriesSamples> {
        (0..n)
            .map(|i| SeriesSamples {
                labels: Arc::new(labels(&[
                    ("__name__", "pantheon_visits"),
                    ("name", &format!("s{i}")),
                ])),
                samples: vec![Sample {
                    value: if poison_at == Some(i) {
                        666.0
                    } else {
                        i as f64
                    },
                    timestamp: 1000 + i as i64,
                }],
            })
            .collect()
    }

    fn fast() -> Options {
        Options {
            max_samples: 10,
            min_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            linger: Duration::from_millis(5),
            ..Options::default()
        }
    }

    /// Polls `f` every 10 ms of tokio time (the tests run on a paused clock, with the
    /// receiver in the same runtime).
    async fn until(f: impl Fn() -> bool) {
        for _ in 0..500 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("condition not met within 5 s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_sample_is_isolated_and_the_rest_delivered() {
        let rx = receiver(2).await;
        let metrics = Metrics::detached();
        let remote = Arc::new(
            Remote::new(
                1,
                rx.url.clone(),
                Some(Auth::Bearer(crate::pantheon::Secret::new("s3cr3t"))),
                fast(),
                metrics.clone(),
            )
            .unwrap(),
        );
        let cancel = CancellationToken::new();
        let task = tokio::spawn(remote.clone().run(cancel.clone()));
        remote.enqueue(series(25, Some(13)));
        until(|| metrics.sent.get() + metrics.failed.get() == 25).await;
        assert_eq!(metrics.failed.get(), 1);
        assert_eq!(metrics.sent.get(), 24);
        assert!(metrics.last_success.get() > 0.0);
        let got = rx.got.lock().unwrap().clone();
        let mut values: Vec<f64> = got
            .iter()
            .flat_map(|(_, r)| r.timeseries.iter().map(|t| t.samples[0].value))
            .collect();
        values.sort_by(f64::total_cmp);
        let expected: Vec<f64> = (0..25).filter(|&i| i != 13).map(|i| i as f64).collect();
        assert_eq!(values, expected);
        let (headers, _) = &got[0];
        let h = |k: &str| {
            headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(h("content-encoding"), Some("snappy"));
        assert_eq!(h("content-type"), Some("application/x-protobuf"));
        assert_eq!(h("x-prometheus-remote-write-version"), Some("0.1.0"));
        assert_eq!(h("authorization"), Some("Bearer s3cr3t"));
        assert!(h("user-agent").unwrap().starts_with("pantheon-metrics/"));
        cancel.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_down_receiver_keeps_the_newest_batches_within_the_bound() {
        // Nothing listens here: every attempt fails to connect.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url: reqwest::Url = format!("http://127.0.0.1:{port}/api/v1/write")
            .parse()
            .unwrap();
        let metrics = Metrics::detached();
        let opts = Options {
            max_batches: 3,
            ..fast()
        };
        let remote = Arc::new(Remote::new(2, url, None, opts, metrics.clone()).unwrap());
        let cancel = CancellationToken::new();
        let task = tokio::spawn(remote.clone().run(cancel.clone()));
        for _ in 0..10 {
            remote.enqueue(series(10, None));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // One batch is being retried, three wait, the rest were dropped oldest first.
        assert_eq!(remote.queued(), 30);
        assert_eq!(metrics.dropped.get(), 60);
        assert_eq!(metrics.queue_length.get(), 30);
        assert_eq!(metrics.sent.get(), 0);
        assert_eq!(
            metrics.failed.get(),
            0,
            "connection failures are retried, not failed"
        );
        cancel.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_receiver_that_comes_back_gets_the_queue_once_and_in_order() {
        let rx = receiver(3).await;
        let metrics = Metrics::detached();
        let remote =
            Arc::new(Remote::new(3, rx.url.clone(), None, fast(), metrics.clone()).unwrap());
        let cancel = CancellationToken::new();
        let task = tokio::spawn(remote.clone().run(cancel.clone()));
        remote.enqueue(series(30, None));
        until(|| metrics.sent.get() == 30).await;
        assert_eq!(metrics.failed.get(), 0, "a 503 is retried, not failed");
        assert_eq!(remote.queued(), 0);
        let got = rx.got.lock().unwrap().clone();
        assert_eq!(got.len(), 3, "three batches of ten");
        let values: Vec<f64> = got
            .iter()
            .flat_map(|(_, r)| r.timeseries.iter().map(|t| t.samples[0].value))
            .collect();
        let expected: Vec<f64> = (0..30).map(f64::from).collect();
        assert_eq!(values, expected, "delivered once each, in order");
        cancel.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_day_turns_final_at_midnight_on_tokio_clock() {
        use crate::model::{DAY_SECONDS, Day, Site, day_start};
        let rx = receiver(0).await;
        let metrics = Metrics::detached();
        let remote =
            Arc::new(Remote::new(4, rx.url.clone(), None, fast(), metrics.clone()).unwrap());
        let tracker = TaskTracker::new();
        let cancel = CancellationToken::new();
        let writer = RemoteWrite::start(vec![remote], 2, &tracker, &cancel);
        let today = day_start(crate::clock::Clock::new().now());
        let days: Vec<Day> = (0..28)
            .rev()
            .map(|k| Day {
                timestamp: today - k * DAY_SECONDS,
                visits: 100 + k as u64,
                ..Day::default()
            })
            .collect();
        writer
            .send(Event::Update(SiteUpdate {
                id: "id-1".into(),
                account: Arc::from("ops@example.com"),
                site: Arc::new(Site {
                    id: "id-1".into(),
                    name: "blog".into(),
                    ..Site::default()
                }),
                days,
                settled: true,
                usage: None,
            }))
            .await;
        let visits_at = |ts: i64| {
            rx.got
                .lock()
                .unwrap()
                .iter()
                .flat_map(|(_, r)| r.timeseries.iter())
                .filter(|t| t.labels.iter().any(|l| l.value == "pantheon_visits"))
                .flat_map(|t| t.samples.iter())
                .filter(|x| x.timestamp == ts * 1000)
                .count()
        };
        let final_tomorrow = today - 2 * DAY_SECONDS;
        until(|| metrics.sent.get() > 0).await;
        assert_eq!(visits_at(today - 3 * DAY_SECONDS), 1, "final days pushed");
        assert_eq!(
            visits_at(final_tomorrow),
            0,
            "a day in the window is not final"
        );
        // A day later (on the paused clock) the planner's minute check finds it final.
        tokio::time::sleep(Duration::from_secs(DAY_SECONDS as u64) + AGE_EVERY).await;
        until(|| visits_at(final_tomorrow) == 1).await;
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
    }

    #[test]
    fn credentials_files_are_read_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let basic = dir.path().join("basic");
        std::fs::write(&basic, "user:pa:ss\n").unwrap();
        let auth = Auth::basic_from_file(&basic).unwrap();
        assert_eq!(format!("{auth:?}"), "Basic(user:[REDACTED])");
        std::fs::write(&basic, "no-colon\n").unwrap();
        assert!(Auth::basic_from_file(&basic).is_err());
        let bearer = dir.path().join("bearer");
        std::fs::write(&bearer, "\n").unwrap();
        assert!(Auth::bearer_from_file(&bearer).is_err());
        std::fs::write(&bearer, " tok \n").unwrap();
        let auth = Auth::bearer_from_file(&bearer).unwrap();
        assert!(!format!("{auth:?}").contains("tok"));
        assert!(Auth::bearer_from_file(&dir.path().join("missing")).is_err());
    }
}
