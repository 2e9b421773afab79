//! Renderer benchmarks: `cargo bench --bench render` (see BENCHMARKS.md).
//!
//! - `prom/*`: the one-shot renderers the CLI uses (full render of N sites × 28 days, one
//!   site's fragments, assembly of N fragments).
//! - `serve_render/*`: the exporter's [`Renderer`]: a full render (cold) against a re-render
//!   after one site changed (warm), the number the exporter pays per refresh.
//! - `gzip/*`: compressing a whole body in one go (what a per-scrape gzip would cost), the
//!   exporter's gzip of a cold body, of a body after one change, and per scrape once warm.
//! - `scrape/*`: the per-scrape work of a plain `/metrics` answer (the chunk list).
//!
//! Set `BENCH_SIZES=1000` (comma-separated) to choose the store sizes; default 1000,10000.

use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pantheon_metrics::model::{DAY_SECONDS, Day, Site, SiteTraffic, day_start};
use pantheon_metrics::render::{self, Format, SiteFragments, TimestampMode};
use pantheon_metrics::serve::HistoryMode;
use pantheon_metrics::serve::Renderer;
use pantheon_metrics::store::Store;

const TAIL: &[u8] = b"# HELP pantheon_exporter_backfill_pending_sites x\npantheon_exporter_backfill_pending_sites 0\n";

fn sizes() -> Vec<usize> {
    std::env::var("BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1_000, 10_000])
}

/// A fixed "now": an hour into a day, 28 days of history before it.
fn now() -> i64 {
    day_start(1_762_732_800 + 40 * DAY_SECONDS) + 3600
}

fn site(i: usize) -> Arc<Site> {
    Arc::new(Site {
        id: format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            i * 2654435761 % (1 << 32),
            i % 65536,
            i % 4096,
            (i * 7) % 4096,
            i * 97
        ),
        name: format!("client-site-{i:05}"),
        label: format!("Client Site {i} (Production)"),
        plan: ["Basic", "Performance Small", "Elite"][i % 3].to_string(),
        framework: "wordpress".into(),
        ..Site::default()
    })
}

fn account(i: usize) -> Arc<str> {
    Arc::from(format!("ops-team-{}@example.com", i % 2).as_str())
}

fn days(i: usize, now: i64, bump: u64) -> Vec<Day> {
    let today = day_start(now);
    (0..28)
        .map(|d| {
            let pages = 1_000 + ((i * 31 + d as usize * 17) % 9_000) as u64 + bump;
            let hits = pages * ((i + d as usize) % 100) as u64 / 100;
            Day {
                timestamp: today - (28 - d) * DAY_SECONDS,
                visits: pages / 3,
                pages_served: pages,
                cache_hits: hits,
                cache_misses: pages - hits,
            }
        })
        .collect()
}

fn store(n: usize) -> Store {
    let now = now();
    let mut store = Store::new();
    for i in 0..n {
        let s = site(i);
        store.upsert_site(account(i), i % 2, s.clone());
        store.record_fetch(&s.id, &days(i, now, 0), true, now);
    }
    store
}

fn traffic(store: &Store) -> Vec<SiteTraffic> {
    store
        .iter()
        .map(|(_, e)| SiteTraffic {
            account: e.account.clone(),
            site: e.site.clone(),
            environment: Arc::from("live"),
            days: e.days().copied().collect(),
        })
        .collect()
}

/// Changes the newest day of one site (a refresh that found new numbers).
fn touch(store: &mut Store, i: usize, round: u64) {
    let now = now();
    let d = days(i, now, round + 1);
    store.record_fetch(&site(i).id, &d[27..], false, now);
}

fn prom(c: &mut Criterion) {
    let mut g = c.benchmark_group("prom");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let one = site(7);
    let d = days(7, now(), 0);
    let len = SiteFragments::render("ops@example.com", &one, &d, TimestampMode::Prometheus).len();
    g.throughput(Throughput::Bytes(len as u64));
    g.bench_function("site_fragments/28d", |b| {
        b.iter(|| {
            SiteFragments::render(
                black_box("ops@example.com"),
                black_box(&one),
                black_box(&d),
                TimestampMode::Prometheus,
            )
        })
    });
    for n in sizes() {
        let traffic = traffic(&store(n));
        let body = render::prometheus(&traffic, false);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(BenchmarkId::new("full_render", n), &traffic, |b, t| {
            b.iter(|| render::prometheus(black_box(t), false))
        });
        let fragments: Vec<SiteFragments> = traffic
            .iter()
            .map(|t| SiteFragments::render(&t.account, &t.site, &t.days, TimestampMode::Prometheus))
            .collect();
        g.bench_with_input(BenchmarkId::new("assemble", n), &fragments, |b, f| {
            b.iter(|| {
                let mut out = Vec::new();
                render::assemble(f.iter(), Format::Prometheus, &mut out);
                out
            })
        });
    }
    g.finish();
}

fn serve_render(c: &mut Criterion) {
    let mut g = c.benchmark_group("serve_render");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for n in sizes() {
        let store = store(n);
        g.bench_function(BenchmarkId::new("full", n), |b| {
            b.iter(|| Renderer::new(HistoryMode::Always, 7200).render(black_box(&store), now()))
        });
        let mut renderer = Renderer::new(HistoryMode::Always, 7200);
        renderer.render(&store, now());
        g.bench_function(BenchmarkId::new("nothing_changed", n), |b| {
            b.iter(|| renderer.render(black_box(&store), now()))
        });
        let store = std::cell::RefCell::new(store);
        let mut round = 0u64;
        g.bench_function(BenchmarkId::new("one_site_changed", n), |b| {
            b.iter_batched(
                || {
                    round += 1;
                    touch(&mut store.borrow_mut(), (round as usize * 7919) % n, round);
                },
                |()| renderer.render(black_box(&store.borrow()), now()),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn gzip(c: &mut Criterion) {
    let mut g = c.benchmark_group("gzip");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for n in sizes() {
        let mut store = store(n);
        let body = render::prometheus(&traffic(&store), false);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(BenchmarkId::new("whole_body_fast", n), &body, |b, body| {
            b.iter(|| {
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.len() / 8),
                    flate2::Compression::fast(),
                );
                enc.write_all(body).unwrap();
                enc.finish().unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("exposition_cold", n), |b| {
            b.iter_batched(
                || {
                    Renderer::new(HistoryMode::Always, 7200)
                        .render(&store, now())
                        .0
                },
                |e| e.gzip_with_tail(TAIL),
                BatchSize::PerIteration,
            )
        });
        let mut renderer = Renderer::new(HistoryMode::Always, 7200);
        let (warm, _) = renderer.render(&store, now());
        warm.gzip_with_tail(TAIL);
        g.bench_function(BenchmarkId::new("exposition_per_scrape", n), |b| {
            b.iter(|| warm.gzip_with_tail(black_box(TAIL)))
        });
        let mut round = 0u64;
        g.bench_function(BenchmarkId::new("exposition_after_one_change", n), |b| {
            b.iter_batched(
                || {
                    round += 1;
                    touch(&mut store, (round as usize * 7919) % n, round);
                    let (e, _) = renderer.render(&store, now());
                    e
                },
                |e| e.gzip_with_tail(TAIL),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn scrape(c: &mut Criterion) {
    let mut g = c.benchmark_group("scrape");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for n in sizes() {
        let store = store(n);
        let (e, _) = Renderer::new(HistoryMode::Always, 7200).render(&store, now());
        g.bench_function(BenchmarkId::new("plain_chunks", n), |b| {
            b.iter(|| e.plain_with_tail(Bytes::from_static(TAIL)))
        });
    }
    g.finish();
}

criterion_group!(benches, prom, serve_render, gzip, scrape);
criterion_main!(benches);
