//! The `/metrics` body, rendered when data changes and never per scrape.
//!
//! The body is kept as a list of shared chunks, never as one contiguous copy: per family its
//! `# HELP`/`# TYPE` header, then that family's lines of every site, in runs of consecutive
//! sites ("groups", about [`GROUP_SPREAD`] sites each). A site whose data (or, with
//! `--history bootstrap`, whose window) changes re-renders only its group; every other
//! group's bytes are reused as they are, so an update costs one group, not the whole body,
//! and a scrape hands out reference-counted chunks without copying.
//!
//! Group boundaries depend on the site ids only (a site starts a group when a hash of its id
//! says so), so adding or removing a site disturbs its own group and no other.
//!
//! The gzip form is made of independently compressed, sync-flushed deflate segments, one per
//! group and family, then concatenated the way pigz joins blocks; the CRC is combined from
//! the segments' CRCs. A group is compressed when it is rendered, and the compressed body is
//! copied into large chunks when the body is made (cheap next to compressing, and far
//! cheaper for the HTTP layer than thousands of small ones), so all of that happens in the
//! renderer, off the request path: a gzip scrape only appends the self-metrics tail
//! (compressed at most once a second) and the trailer.
//!
//! After the five traffic families come the plan-usage gauges
//! ([`crate::usage::report::GAUGES`]) when plan usage is on: the same chunking, one more
//! chunk per gauge and group, computed from what each site holds (so they change with its
//! version, like its days).
//!
//! The renderer works on a [`Snapshot`] of the store, never under the store's lock.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use tokio_util::sync::CancellationToken;

use crate::model::Day;
use crate::render::{FAMILIES, Format, SiteFragments, TimestampMode, assemble};
use crate::serve::settings::{HistoryMode, PlanUsage};
use crate::store::{SiteEntry, Snapshot, Store};
use crate::usage::report::{GAUGES, write_gauge_header, write_gauge_sample};

use super::{Shared, lock};

/// Sites per group on average: small enough that re-rendering a group after one site
/// changes is cheap, large enough that chunks (and deflate segments) are tens of KB with
/// 28 days of history.
pub const GROUP_SPREAD: u64 = 8;
/// A group never holds more sites than this, whatever the ids hash to.
const GROUP_MAX: usize = 4 * GROUP_SPREAD as usize;

const NFAM: usize = FAMILIES.len();
/// The sections of a body: the traffic families, then the usage gauges (empty when plan
/// usage is off).
const NSEC: usize = NFAM + GAUGES.len();

/// One compressed piece of the gzip body.
struct Segment {
    /// Sync-flushed raw deflate data (byte-aligned, not final).
    data: Bytes,
    /// CRC-32 of the uncompressed bytes.
    crc: crc32fast::Hasher,
}

impl Segment {
    fn of(raw: &[u8]) -> Segment {
        let mut crc = crc32fast::Hasher::new();
        if raw.is_empty() {
            return Segment {
                data: Bytes::new(),
                crc,
            };
        }
        crc.update(raw);
        let mut enc = DeflateEncoder::new(Vec::with_capacity(raw.len() / 8), Compression::fast());
        // Writing to a Vec cannot fail.
        let _ = enc.write_all(raw);
        let _ = enc.flush(); // sync flush: byte-aligned, not final
        let mut data = std::mem::take(enc.get_mut());
        data.shrink_to_fit();
        Segment {
            data: Bytes::from(data),
            crc,
        }
    }
}

/// The `# HELP`/`# TYPE` lines of each section, plain and compressed (made once).
struct Headers {
    plain: [Bytes; NSEC],
    deflated: [Segment; NSEC],
}

impl Headers {
    fn new(usage: bool) -> Headers {
        // The empty exposition is the five headers back to back, two lines each.
        let mut all = Vec::new();
        assemble(std::iter::empty(), Format::Prometheus, &mut all);
        let all = Bytes::from(all);
        let mut plain: [Bytes; NSEC] = Default::default();
        let mut start = 0;
        let mut newlines = 0;
        let mut f = 0;
        for (i, &b) in all.iter().enumerate() {
            if b == b'\n' {
                newlines += 1;
                if newlines % 2 == 0 && f < NFAM {
                    plain[f] = all.slice(start..i + 1);
                    start = i + 1;
                    f += 1;
                }
            }
        }
        if usage {
            for (g, header) in plain[NFAM..].iter_mut().enumerate() {
                let mut buf = Vec::new();
                write_gauge_header(&mut buf, g);
                *header = Bytes::from(buf);
            }
        }
        let deflated = std::array::from_fn(|f| Segment::of(&plain[f]));
        Headers { plain, deflated }
    }
}

/// The lines of a run of consecutive sites, per section, plain and compressed.
struct Group {
    families: [Bytes; NSEC],
    deflated: [Segment; NSEC],
}

impl Group {
    fn len(&self) -> usize {
        self.families.iter().map(Bytes::len).sum()
    }
}

/// One rendered body of site metrics.
pub struct Exposition {
    /// The store generation it was rendered from.
    pub generation: u64,
    /// `None` only for [`Exposition::empty`] (nothing rendered yet: an empty body).
    headers: Option<Arc<Headers>>,
    groups: Vec<Arc<Group>>,
    len: usize,
    /// The compressed body, made with the body.
    gzip: Gzipped,
}

/// The deflated body joined into chunks of at least [`GZIP_CHUNK`] bytes: the segments are
/// small (a few KB), and handing out thousands of them costs the HTTP layer more per scrape
/// than one copy costs per body.
struct Gzipped {
    chunks: Vec<Bytes>,
    /// CRC-32 of the whole body, combined from the segments' CRCs.
    crc: crc32fast::Hasher,
}

const GZIP_CHUNK: usize = 256 * 1024;

impl Gzipped {
    /// Joins the segments of a body, in order, into large chunks.
    fn join<'a>(segments: impl Iterator<Item = &'a Segment>) -> Gzipped {
        let mut crc = crc32fast::Hasher::new();
        let mut chunks = Vec::new();
        let mut run: Vec<u8> = Vec::new();
        for segment in segments {
            crc.combine(&segment.crc);
            if segment.data.len() >= GZIP_CHUNK && run.is_empty() {
                chunks.push(segment.data.clone());
                continue;
            }
            run.extend_from_slice(&segment.data);
            if run.len() >= GZIP_CHUNK {
                chunks.push(Bytes::from(std::mem::take(&mut run)));
            }
        }
        if !run.is_empty() {
            chunks.push(Bytes::from(run));
        }
        Gzipped { chunks, crc }
    }
}

/// The ten-byte gzip member header: deflate, no name, no mtime, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl Exposition {
    /// The body before the first render: empty.
    pub fn empty() -> Exposition {
        Exposition {
            generation: 0,
            headers: None,
            groups: Vec::new(),
            len: 0,
            gzip: Gzipped::join(std::iter::empty()),
        }
    }

    /// Bytes in the body.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first render.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The body's chunks in order (shared, not copied); empty chunks are left out.
    pub fn chunks(&self) -> impl Iterator<Item = &Bytes> + '_ {
        self.headers.iter().flat_map(move |h| {
            (0..NSEC).flat_map(move |f| {
                std::iter::once(&h.plain[f])
                    .chain(self.groups.iter().map(move |g| &g.families[f]))
                    .filter(|b| !b.is_empty())
            })
        })
    }

    /// The body as one contiguous copy (for tests and tools; scrapes never need it).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for chunk in self.chunks() {
            out.extend_from_slice(chunk);
        }
        out
    }

    /// The chunks of a plain response: the body, then `tail`.
    pub fn plain_with_tail(&self, tail: Bytes) -> Vec<Bytes> {
        let mut parts = Vec::with_capacity(NSEC * (self.groups.len() + 1) + 1);
        parts.extend(self.chunks().cloned());
        parts.push(tail);
        parts
    }

    /// The chunks of a gzip response whose decompressed content is the body then `tail`.
    pub fn gzip_with_tail(&self, tail: &[u8]) -> Vec<Bytes> {
        self.gzip_with(&DeflatedTail::new(tail))
    }

    /// As [`Exposition::gzip_with_tail`], with a tail compressed ahead (it can be shared by
    /// the scrapes of a second, so a scrape compresses nothing).
    pub fn gzip_with(&self, tail: &DeflatedTail) -> Vec<Bytes> {
        let body = &self.gzip;
        let mut end = tail.data.to_vec();
        let mut crc = body.crc.clone();
        crc.combine(&tail.crc);
        let total = (self.len as u64).wrapping_add(tail.len as u64);
        end.extend_from_slice(&crc.finalize().to_le_bytes());
        end.extend_from_slice(&(total as u32).to_le_bytes());
        let mut parts = Vec::with_capacity(body.chunks.len() + 2);
        parts.push(Bytes::from_static(&GZIP_HEADER));
        parts.extend(body.chunks.iter().cloned());
        parts.push(Bytes::from(end));
        parts
    }
}

/// A tail (the self-metrics) compressed as the final deflate segment of a gzip body.
pub struct DeflatedTail {
    data: Bytes,
    crc: crc32fast::Hasher,
    len: usize,
}

impl DeflatedTail {
    pub fn new(tail: &[u8]) -> DeflatedTail {
        let mut enc =
            DeflateEncoder::new(Vec::with_capacity(tail.len() / 4 + 64), Compression::fast());
        let _ = enc.write_all(tail);
        let data = enc.finish().unwrap_or_default();
        let mut crc = crc32fast::Hasher::new();
        crc.update(tail);
        DeflatedTail {
            data: Bytes::from(data),
            crc,
            len: tail.len(),
        }
    }
}

struct Cached {
    version: u64,
    /// Unique per rendering of this site's content; groups are keyed by their sites' serials.
    serial: u64,
    /// With `--history bootstrap`: when a day's window ends and this must be redone.
    valid_until: Option<i64>,
    /// This site begins a new group.
    starts_group: bool,
}

/// Keeps each site's render state and the rendered groups, and makes bodies.
pub struct Renderer {
    history: HistoryMode,
    window: i64,
    cache: FastMap<String, Cached>,
    /// The groups of the last body, by the serials of their sites.
    groups: FastMap<Box<[u64]>, Arc<Group>>,
    headers: Arc<Headers>,
    next_serial: u64,
    /// Plan usage: the usage gauges after the families.
    usage: Option<PlanUsage>,
}

/// The render walk looks up every site and group on every render; FNV-1a is cheaper than
/// SipHash for these keys, which come from us.
type FastMap<K, V> = HashMap<K, V, crate::hash::BuildFnv1a>;

impl Renderer {
    pub fn new(history: HistoryMode, window_secs: i64) -> Renderer {
        Renderer {
            history,
            window: window_secs.max(1),
            cache: FastMap::default(),
            groups: FastMap::default(),
            headers: Arc::new(Headers::new(false)),
            next_serial: 0,
            usage: None,
        }
    }

    /// With plan usage: the usage gauges of every site whose monthly series is held follow
    /// the five families.
    pub fn with_usage(mut self, usage: Option<PlanUsage>) -> Renderer {
        self.headers = Arc::new(Headers::new(usage.is_some()));
        self.usage = usage;
        self.cache.clear();
        self.groups.clear();
        self
    }

    /// As [`Renderer::render_snapshot`] on a snapshot of `store` taken now.
    pub fn render(&mut self, store: &Store, now: i64) -> (Exposition, Option<i64>) {
        self.render_snapshot(&store.snapshot(), now)
    }

    /// Renders (and compresses) what changed since last time and makes a body. Returns the
    /// body and the earliest time at which it must be redone although no data changed (a
    /// bootstrap window ending). This is the slow part of `serve`: call it with no lock
    /// held and off the async runtime's workers.
    pub fn render_snapshot(&mut self, snapshot: &Snapshot, now: i64) -> (Exposition, Option<i64>) {
        let mut next: Option<i64> = None;
        let mut live = 0usize;
        let mut groups: Vec<Arc<Group>> = Vec::new();
        let mut kept: FastMap<Box<[u64]>, Arc<Group>> =
            FastMap::with_capacity_and_hasher(self.groups.len(), Default::default());
        let mut members: Vec<&SiteEntry> = Vec::with_capacity(GROUP_MAX);
        let mut serials: Vec<u64> = Vec::with_capacity(GROUP_MAX);
        for entry in snapshot.sites.iter().map(|e| &**e) {
            live += 1;
            let id = entry.site.id.as_str();
            let fresh = self.cache.get(id).is_some_and(|c| {
                c.version == entry.version && c.valid_until.is_none_or(|t| t > now)
            });
            if !fresh {
                let (_, _, valid_until) = select_days(self.history, self.window, entry, now);
                self.next_serial += 1;
                let cached = Cached {
                    version: entry.version,
                    serial: self.next_serial,
                    valid_until,
                    starts_group: crate::hash::fnv1a_64(id.as_bytes()) % GROUP_SPREAD == 0,
                };
                self.cache.insert(id.to_string(), cached);
            }
            let Some(c) = self.cache.get(id) else {
                continue;
            };
            if let Some(t) = c.valid_until {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
            if !members.is_empty() && (c.starts_group || members.len() >= GROUP_MAX) {
                groups.push(self.group(&members, &serials, &mut kept, now));
                members.clear();
                serials.clear();
            }
            members.push(entry);
            serials.push(c.serial);
        }
        if !members.is_empty() {
            groups.push(self.group(&members, &serials, &mut kept, now));
        }
        if self.cache.len() != live {
            let keep: std::collections::HashSet<&str> =
                snapshot.sites.iter().map(|e| e.site.id.as_str()).collect();
            self.cache.retain(|id, _| keep.contains(id.as_str()));
        }
        self.groups = kept;
        let len = self.headers.plain.iter().map(Bytes::len).sum::<usize>()
            + groups.iter().map(|g| g.len()).sum::<usize>();
        let gzip = Gzipped::join((0..NSEC).flat_map(|f| {
            std::iter::once(&self.headers.deflated[f])
                .chain(groups.iter().map(move |g| &g.deflated[f]))
        }));
        let exposition = Exposition {
            generation: snapshot.generation,
            headers: Some(self.headers.clone()),
            groups,
            len,
            gzip,
        };
        (exposition, next)
    }

    /// The group of these sites: the last body's when none of them changed, else rendered.
    fn group(
        &self,
        members: &[&SiteEntry],
        serials: &[u64],
        kept: &mut FastMap<Box<[u64]>, Arc<Group>>,
        now: i64,
    ) -> Arc<Group> {
        if let Some(group) = self.groups.get(serials) {
            kept.insert(serials.into(), group.clone());
            return group.clone();
        }
        let fragments: Vec<SiteFragments> = members
            .iter()
            .map(|entry| {
                let (days, mode, _) = select_days(self.history, self.window, entry, now);
                SiteFragments::render(&entry.account, &entry.site, &days, mode)
            })
            .collect();
        let mut usage = self.usage_lines(members);
        let families: [Bytes; NSEC] = std::array::from_fn(|f| {
            if f >= NFAM {
                return Bytes::from(std::mem::take(&mut usage[f - NFAM]));
            }
            let len = fragments.iter().map(|s| s.family(f).len()).sum();
            let mut buf = Vec::with_capacity(len);
            for fragment in &fragments {
                buf.extend_from_slice(fragment.family(f));
            }
            Bytes::from(buf)
        });
        let deflated = std::array::from_fn(|f| Segment::of(&families[f]));
        let group = Arc::new(Group { families, deflated });
        kept.insert(serials.into(), group.clone());
        group
    }
}

impl Renderer {
    /// The usage gauges' lines of these sites, one buffer per gauge (empty without plan
    /// usage, and for sites whose monthly series is not held yet).
    fn usage_lines(&self, members: &[&SiteEntry]) -> [Vec<u8>; GAUGES.len()] {
        let mut out: [Vec<u8>; GAUGES.len()] = Default::default();
        if let Some(plan) = &self.usage {
            let mut labels = Vec::new();
            for entry in members {
                let Some(usage) = crate::serve::usage::of_entry(entry, plan) else {
                    continue;
                };
                labels.clear();
                crate::render::prom::write_labels(&mut labels, &entry.account, &entry.site);
                for (g, buf) in out.iter_mut().enumerate() {
                    write_gauge_sample(buf, g, &labels, &usage);
                }
            }
        }
        out
    }
}

/// The days of a site the body shows, how they are timestamped, and (bootstrap) when that
/// selection changes next.
fn select_days(
    history: HistoryMode,
    window: i64,
    entry: &SiteEntry,
    now: i64,
) -> (Vec<Day>, TimestampMode, Option<i64>) {
    match history {
        HistoryMode::Always => (
            entry.days().copied().collect(),
            TimestampMode::Prometheus,
            None,
        ),
        HistoryMode::Off => (
            entry.days.last().map(|d| d.day).into_iter().collect(),
            TimestampMode::None,
            None,
        ),
        HistoryMode::Bootstrap => {
            let last = entry.days.len().saturating_sub(1);
            let mut until: Option<i64> = None;
            let days = entry
                .days
                .iter()
                .enumerate()
                .filter(|(i, d)| {
                    let ends = d.learned_at.saturating_add(window);
                    let shown = *i == last || ends > now;
                    if *i != last && ends > now {
                        until = Some(until.map_or(ends, |u| u.min(ends)));
                    }
                    shown
                })
                .map(|(_, d)| d.day)
                .collect();
            (days, TimestampMode::Prometheus, until)
        }
    }
}

/// Keeps `/metrics` current: re-renders after changes (gathered for a moment, so a backfill
/// of a thousand sites is not a thousand renders) and when a bootstrap window ends.
///
/// Only a [`crate::store::Snapshot`] is taken under the store's lock (one reference count
/// per site); rendering and compressing run on a blocking thread, so fetch tasks never wait
/// behind a render and scrapes keep the runtime's workers.
pub(super) async fn render_loop(shared: Arc<Shared>, cancel: CancellationToken) {
    const GATHER: Duration = Duration::from_millis(200);
    let new_renderer = || {
        Renderer::new(
            shared.settings.history,
            shared.settings.history_window.as_secs() as i64,
        )
        .with_usage(shared.settings.usage.clone())
    };
    let mut renderer = new_renderer();
    let mut rendered_generation = None;
    let mut due: Option<i64> = None;
    loop {
        let now = shared.clock.now();
        let snapshot = {
            let store = lock(&shared.store);
            let stale =
                rendered_generation != Some(store.generation()) || due.is_some_and(|t| t <= now);
            stale.then(|| store.snapshot())
        };
        if let Some(snapshot) = snapshot {
            let job = tokio::task::spawn_blocking(move || {
                let out = renderer.render_snapshot(&snapshot, now);
                (renderer, out)
            });
            match job.await {
                Ok((back, (exposition, next))) => {
                    renderer = back;
                    rendered_generation = Some(exposition.generation);
                    due = next;
                    shared.set_exposition(exposition);
                }
                Err(e) => {
                    // The render panicked and took its caches along: start over, and let
                    // the next change (or the window below) try again.
                    tracing::error!(error = %e, "rendering /metrics failed");
                    renderer = new_renderer();
                }
            }
        }
        let wait_for_window = async {
            match due {
                Some(t) => {
                    tokio::time::sleep(Duration::from_secs((t - shared.clock.now()).max(1) as u64))
                        .await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = shared.changed.notified() => {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(GATHER) => {}
                }
            }
            _ = wait_for_window => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DAY_SECONDS, Site, SiteTraffic};
    use crate::render::testutil::{Sample, parse_exposition};
    use std::io::Read;
    use std::sync::Arc;

    const T0: i64 = 1_762_732_800;

    fn store_with(n: usize, days: i64, now: i64) -> Store {
        let mut store = Store::new();
        for i in 0..n {
            let site = Arc::new(Site {
                id: format!("id-{i}"),
                name: format!("site-{i:03}"),
                label: format!("Site {i}"),
                plan: "Basic".into(),
                ..Site::default()
            });
            store.upsert_site(Arc::from("ops@example.com"), 1, site);
            let fresh: Vec<Day> = (0..days)
                .map(|d| Day {
                    timestamp: T0 + d * DAY_SECONDS,
                    visits: (i as u64 + 1) * 10 + d as u64,
                    pages_served: 100,
                    cache_hits: 40,
                    cache_misses: 60,
                })
                .collect();
            store.record_fetch(&format!("id-{i}"), &fresh, true, now);
        }
        store
    }

    /// The `pantheon_visits` samples of a body, every line checked by the strict reader.
    fn visits(body: &[u8]) -> Vec<Sample> {
        let text = std::str::from_utf8(body).unwrap();
        let samples = parse_exposition(text, Format::Prometheus).unwrap();
        samples
            .into_iter()
            .filter(|s| s.name == "pantheon_visits")
            .collect()
    }

    fn as_traffic(store: &Store) -> Vec<SiteTraffic> {
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

    #[test]
    fn a_snapshot_renders_as_taken_while_the_store_moves_on() {
        let now = T0 + 3 * DAY_SECONDS;
        let mut store = store_with(40, 3, now);
        let snapshot = store.snapshot();
        let expected = crate::render::prometheus(&as_traffic(&store), false);
        store.remove("id-3");
        store.record_fetch("id-5", &[bump(777)], false, now + 1);
        let mut r = Renderer::new(HistoryMode::Always, 7200);
        let (e, _) = r.render_snapshot(&snapshot, now + 1);
        assert_eq!(e.generation, snapshot.generation);
        assert_eq!(e.to_vec(), expected);
        let (later, _) = r.render(&store, now + 1);
        assert_body_matches(&later, &store);
    }

    fn bump(visits: u64) -> Day {
        Day {
            timestamp: T0 + 2 * DAY_SECONDS,
            visits,
            pages_served: 1,
            cache_hits: 1,
            cache_misses: 0,
        }
    }

    fn shared(sites: usize, now: i64) -> Arc<Shared> {
        let settings = crate::serve::Settings {
            refresh_interval: Duration::from_secs(60),
            ..crate::serve::Settings::default()
        };
        let shared = Shared::new(settings, Arc::new(super::super::Telemetry::new()), vec![]);
        *lock(&shared.store) = store_with(sites, 3, now);
        Arc::new(shared)
    }

    /// Waits (on tokio's clock) until the published body is of the store's generation.
    async fn published(shared: &Shared) -> Duration {
        let start = tokio::time::Instant::now();
        let generation = lock(&shared.store).generation();
        while shared.exposition().generation != generation {
            assert!(start.elapsed() < Duration::from_secs(5), "never published");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn render_loop_gathers_changes_then_publishes_them_gzipped() {
        let now = T0 + 3 * DAY_SECONDS;
        let shared = shared(30, now);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(render_loop(shared.clone(), cancel.clone()));
        published(&shared).await;
        assert_body_matches(&shared.exposition(), &lock(&shared.store));

        lock(&shared.store).record_fetch("id-7", &[bump(4242)], false, now + 1);
        shared.changed.notify_one();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_ne!(
            shared.exposition().generation,
            lock(&shared.store).generation(),
            "changes are gathered for a moment before a render"
        );
        let waited = published(&shared).await;
        assert!(waited <= Duration::from_millis(150), "{waited:?}");
        let e = shared.exposition();
        assert!(String::from_utf8_lossy(&e.to_vec()).contains("} 4242"));
        assert_body_matches(&e, &lock(&shared.store));

        cancel.cancel();
        task.await.unwrap();
    }

    #[test]
    fn assembled_body_equals_a_full_render_and_follows_changes() {
        let now = T0 + 3 * DAY_SECONDS;
        let mut store = store_with(5, 3, now);
        let mut r = Renderer::new(HistoryMode::Always, 7200);
        let (first, next) = r.render(&store, now);
        assert_eq!(next, None);
        assert_body_matches(&first, &store);
        let bumped = [Day {
            timestamp: T0 + 2 * DAY_SECONDS,
            visits: 999,
            pages_served: 1,
            cache_hits: 1,
            cache_misses: 0,
        }];
        store.record_fetch("id-3", &bumped, false, now + 1);
        let (second, _) = r.render(&store, now + 1);
        assert_ne!(first.to_vec(), second.to_vec());
        assert_body_matches(&second, &store);
        store.remove("id-0");
        let (third, _) = r.render(&store, now + 2);
        assert!(!String::from_utf8_lossy(&third.to_vec()).contains("site-000"));
        assert_eq!(r.cache.len(), 4);
    }

    #[test]
    fn bootstrap_serves_history_only_inside_the_window() {
        let now = T0 + 3 * DAY_SECONDS;
        let store = store_with(1, 3, now);
        let mut r = Renderer::new(HistoryMode::Bootstrap, 7200);
        let (early, next) = r.render(&store, now + 10);
        assert_eq!(next, Some(now + 7200));
        assert_eq!(visits(&early.to_vec()).len(), 3);
        let (late, next) = r.render(&store, now + 7200);
        assert_eq!(next, None);
        let late = visits(&late.to_vec());
        assert_eq!(late.len(), 1);
        assert!(late.iter().all(|s| s.timestamp.is_none()), "{late:?}");
    }

    #[test]
    fn history_off_serves_the_newest_day_untimestamped() {
        let now = T0 + 3 * DAY_SECONDS;
        let store = store_with(2, 3, now);
        let (e, _) = Renderer::new(HistoryMode::Off, 7200).render(&store, now);
        let samples = visits(&e.to_vec());
        assert_eq!(samples.len(), 2);
        assert!(samples.iter().all(|s| s.timestamp.is_none()), "{samples:?}");
    }

    #[test]
    fn gzip_with_tail_decompresses_to_body_then_tail() {
        let now = T0 + 3 * DAY_SECONDS;
        let store = store_with(20, 3, now);
        let (e, _) = Renderer::new(HistoryMode::Always, 7200).render(&store, now);
        for tail in [&b"# self metrics\nx 1\n"[..], b""] {
            let gz: Vec<u8> = e.gzip_with_tail(tail).concat();
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut out)
                .unwrap();
            let mut expected = e.to_vec();
            expected.extend_from_slice(tail);
            assert_eq!(out, expected);
        }
    }

    fn gunzip(parts: Vec<Bytes>) -> Vec<u8> {
        let gz: Vec<u8> = parts.concat();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// The body equals a one-shot render of the store, plain and through gzip.
    fn assert_body_matches(e: &Exposition, store: &Store) {
        let expected = crate::render::prometheus(&as_traffic(store), false);
        assert_eq!(e.len(), expected.len());
        assert_eq!(e.to_vec(), expected);
        let plain: Vec<u8> = e.plain_with_tail(Bytes::from_static(b"t 1\n")).concat();
        assert_eq!(&plain[..expected.len()], &expected[..]);
        let mut with_tail = expected;
        with_tail.extend_from_slice(b"t 1\n");
        assert_eq!(gunzip(e.gzip_with_tail(b"t 1\n")), with_tail);
    }

    #[test]
    fn usage_gauges_follow_the_families_and_their_sites_months() {
        use crate::usage::report;
        let now = T0 + 3 * DAY_SECONDS;
        let mut store = store_with(40, 3, now);
        let month = |visits| Day {
            timestamp: 1_761_955_200, // 2025-11-01
            visits,
            ..Day::default()
        };
        store.record_monthly("id-3", &[month(5_000)], now);
        store.record_monthly("id-30", &[month(7_000)], now);
        let plan = PlanUsage {
            allowances: Arc::new(
                crate::allowances::Allowances::parse("sites:\n  site-003: 6000\n", "a.yml")
                    .unwrap(),
            ),
            watch: 0.8,
        };
        let mut r = Renderer::new(HistoryMode::Always, 7200).with_usage(Some(plan.clone()));
        let expected = |store: &Store| {
            let mut body = crate::render::prometheus(&as_traffic(store), false);
            let rows = crate::serve::usage::rows(store.iter().map(|(_, e)| e), &plan);
            body.extend(report::prometheus(&rows));
            body
        };
        let (e, _) = r.render(&store, now);
        assert_eq!(e.to_vec(), expected(&store));
        let text = String::from_utf8(e.to_vec()).unwrap();
        // The strict reader knows the five families only: each line by itself here.
        let samples: Vec<Sample> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| crate::render::testutil::parse_sample(l).unwrap())
            .collect();
        let of = |name: &str| -> Vec<(String, f64)> {
            samples
                .iter()
                .filter(|s| s.name == name)
                .map(|s| (s.label("name").to_string(), s.number()))
                .collect()
        };
        assert_eq!(
            of("pantheon_month_to_date_visits"),
            [
                ("site-003".to_string(), 5_000.0),
                ("site-030".to_string(), 7_000.0)
            ]
        );
        assert_eq!(
            of("pantheon_month_allowance_visits"),
            [("site-003".to_string(), 6_000.0)],
            "no sample where the allowance is unknown"
        );
        let gz = gunzip(e.gzip_with_tail(b""));
        assert_eq!(gz, e.to_vec());

        // New months for one site: its group alone is redone, and the body stays exact.
        store.record_monthly("id-30", &[month(9_000)], now + 60);
        let (second, _) = r.render(&store, now + 60);
        assert_eq!(second.to_vec(), expected(&store));
        let reused = second
            .groups
            .iter()
            .filter(|g| e.groups.iter().any(|h| Arc::ptr_eq(g, h)))
            .count();
        assert_eq!(reused, second.groups.len() - 1);
        // Without plan usage, no usage header at all: the body is the traffic families'.
        let (plain, _) = Renderer::new(HistoryMode::Always, 7200).render(&store, now);
        assert_body_matches(&plain, &store);
    }

    #[test]
    fn one_change_re_renders_one_group_and_bodies_stay_exact() {
        let now = T0 + 3 * DAY_SECONDS;
        let mut store = store_with(300, 3, now);
        let mut r = Renderer::new(HistoryMode::Always, 7200);
        let (first, _) = r.render(&store, now);
        assert!(first.groups.len() > 5, "{} groups", first.groups.len());
        assert_body_matches(&first, &store);

        let bumped = [Day {
            timestamp: T0 + 2 * DAY_SECONDS,
            visits: 4242,
            pages_served: 7,
            cache_hits: 3,
            cache_misses: 4,
        }];
        store.record_fetch("id-150", &bumped, false, now + 1);
        let (second, _) = r.render(&store, now + 1);
        let reused = second
            .groups
            .iter()
            .filter(|g| first.groups.iter().any(|h| Arc::ptr_eq(g, h)))
            .count();
        assert_eq!(reused, second.groups.len() - 1);
        assert_body_matches(&second, &store);

        // A site leaves and another arrives: still exact, most groups untouched.
        store.remove("id-7");
        let site = Arc::new(Site {
            id: "id-new".into(),
            name: "site-150a".into(),
            label: "New".into(),
            plan: "Basic".into(),
            ..Site::default()
        });
        store.upsert_site(Arc::from("ops@example.com"), 1, site);
        store.record_fetch("id-new", &bumped, true, now + 2);
        let (third, _) = r.render(&store, now + 2);
        let reused = third
            .groups
            .iter()
            .filter(|g| second.groups.iter().any(|h| Arc::ptr_eq(g, h)))
            .count();
        assert!(
            reused + 2 >= third.groups.len(),
            "{reused} of {}",
            third.groups.len()
        );
        assert_body_matches(&third, &store);
        assert_eq!(r.cache.len(), 300);

        let empty = Store::new();
        let (none, _) = r.render(&empty, now + 3);
        assert_body_matches(&none, &empty);
        assert!(Exposition::empty().to_vec().is_empty());
        assert!(gunzip(Exposition::empty().gzip_with_tail(b"")).is_empty());
    }
}
