//! The `/metrics` body, rendered when data changes and never per scrape.
//!
//! Each site keeps its rendered [`SiteFragments`] until its data (or, with `--history
//! bootstrap`, its window) changes; a new body is a memcpy-level assembly of the fragments.
//! The gzip form is compressed once per body, lazily, as a sync-flushed deflate stream,
//! so each scrape only compresses its small self-metrics tail and appends it (the way
//! pigz joins independently compressed blocks).

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::DeflateEncoder;

use crate::cli::HistoryMode;
use crate::model::Day;
use crate::render::{Format, SiteFragments, TimestampMode, assemble, assembled_len};
use crate::store::{SiteEntry, Store};

/// One rendered body of site metrics.
pub struct Exposition {
    pub body: Bytes,
    /// The store generation it was rendered from.
    pub generation: u64,
    deflated: OnceLock<Deflated>,
}

struct Deflated {
    data: Bytes,
    crc: crc32fast::Hasher,
}

/// The ten-byte gzip member header: deflate, no name, no mtime, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl Exposition {
    pub fn empty() -> Exposition {
        Exposition::new(Vec::new(), 0)
    }

    fn new(body: Vec<u8>, generation: u64) -> Exposition {
        Exposition {
            body: Bytes::from(body),
            generation,
            deflated: OnceLock::new(),
        }
    }

    fn deflated(&self) -> &Deflated {
        self.deflated.get_or_init(|| {
            let mut enc =
                DeflateEncoder::new(Vec::with_capacity(self.body.len() / 8), Compression::fast());
            // Writing to a Vec cannot fail.
            let _ = enc.write_all(&self.body);
            let _ = enc.flush(); // sync flush: byte-aligned, not final
            let data = std::mem::take(enc.get_mut());
            let mut crc = crc32fast::Hasher::new();
            crc.update(&self.body);
            Deflated {
                data: Bytes::from(data),
                crc,
            }
        })
    }

    /// The chunks of a gzip response whose decompressed content is `body` then `tail`.
    pub fn gzip_with_tail(&self, tail: &[u8]) -> Vec<Bytes> {
        let head = self.deflated();
        let mut enc =
            DeflateEncoder::new(Vec::with_capacity(tail.len() / 4 + 64), Compression::fast());
        let _ = enc.write_all(tail);
        let mut end = enc.finish().unwrap_or_default();
        let mut crc = head.crc.clone();
        let mut tail_crc = crc32fast::Hasher::new();
        tail_crc.update(tail);
        crc.combine(&tail_crc);
        let total = (self.body.len() as u64).wrapping_add(tail.len() as u64);
        end.extend_from_slice(&crc.finalize().to_le_bytes());
        end.extend_from_slice(&(total as u32).to_le_bytes());
        vec![
            Bytes::from_static(&GZIP_HEADER),
            head.data.clone(),
            Bytes::from(end),
        ]
    }
}

struct Cached {
    version: u64,
    fragments: SiteFragments,
    /// With `--history bootstrap`: when a day's window ends and this must be redone.
    valid_until: Option<i64>,
}

/// Keeps each site's fragments and assembles bodies.
pub struct Renderer {
    history: HistoryMode,
    window: i64,
    cache: HashMap<String, Cached>,
}

impl Renderer {
    pub fn new(history: HistoryMode, window_secs: i64) -> Renderer {
        Renderer {
            history,
            window: window_secs.max(1),
            cache: HashMap::new(),
        }
    }

    /// Renders what changed since last time and assembles a body. Returns the body and the
    /// earliest time at which it must be redone although no data changed (a bootstrap
    /// window ending).
    pub fn render(&mut self, store: &Store, now: i64) -> (Exposition, Option<i64>) {
        let mut next: Option<i64> = None;
        let mut live: Vec<&str> = Vec::with_capacity(store.len());
        for (_, entry) in store.iter() {
            let id = entry.site.id.as_str();
            live.push(id);
            let fresh = self.cache.get(id).is_some_and(|c| {
                c.version == entry.version && c.valid_until.is_none_or(|t| t > now)
            });
            if !fresh {
                let (fragments, valid_until) = self.render_site(entry, now);
                self.cache.insert(
                    id.to_string(),
                    Cached {
                        version: entry.version,
                        fragments,
                        valid_until,
                    },
                );
            }
            if let Some(t) = self.cache.get(id).and_then(|c| c.valid_until) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        if self.cache.len() != live.len() {
            let keep: std::collections::HashSet<&str> = live.iter().copied().collect();
            self.cache.retain(|id, _| keep.contains(id.as_str()));
        }
        let ordered = || {
            live.iter()
                .filter_map(|id| self.cache.get(*id))
                .map(|c| &c.fragments)
        };
        let mut body = Vec::with_capacity(assembled_len(ordered(), Format::Prometheus));
        assemble(ordered(), Format::Prometheus, &mut body);
        (Exposition::new(body, store.generation()), next)
    }

    fn render_site(&self, entry: &SiteEntry, now: i64) -> (SiteFragments, Option<i64>) {
        let (days, mode, valid_until): (Vec<Day>, TimestampMode, Option<i64>) = match self.history {
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
                        let ends = d.learned_at.saturating_add(self.window);
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
        };
        (
            SiteFragments::render(&entry.account, &entry.site, &days, mode),
            valid_until,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DAY_SECONDS, Site, SiteTraffic};
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

    /// A sample line has a timestamp when two fields follow the label set.
    fn has_timestamp(line: &str) -> bool {
        line.rsplit_once('}')
            .is_some_and(|(_, rest)| rest.split_whitespace().count() == 2)
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
    fn assembled_body_equals_a_full_render_and_follows_changes() {
        let now = T0 + 3 * DAY_SECONDS;
        let mut store = store_with(5, 3, now);
        let mut r = Renderer::new(HistoryMode::Always, 7200);
        let (first, next) = r.render(&store, now);
        assert_eq!(next, None);
        assert_eq!(
            first.body.as_ref(),
            crate::render::prometheus(&as_traffic(&store), false).as_slice()
        );
        let bumped = [Day {
            timestamp: T0 + 2 * DAY_SECONDS,
            visits: 999,
            pages_served: 1,
            cache_hits: 1,
            cache_misses: 0,
        }];
        store.record_fetch("id-3", &bumped, false, now + 1);
        let (second, _) = r.render(&store, now + 1);
        assert_ne!(first.body, second.body);
        assert_eq!(
            second.body.as_ref(),
            crate::render::prometheus(&as_traffic(&store), false).as_slice()
        );
        store.remove("id-0");
        let (third, _) = r.render(&store, now + 2);
        assert!(!String::from_utf8_lossy(&third.body).contains("site-000"));
        assert_eq!(r.cache.len(), 4);
    }

    #[test]
    fn bootstrap_serves_history_only_inside_the_window() {
        let now = T0 + 3 * DAY_SECONDS;
        let store = store_with(1, 3, now);
        let mut r = Renderer::new(HistoryMode::Bootstrap, 7200);
        let (early, next) = r.render(&store, now + 10);
        assert_eq!(next, Some(now + 7200));
        let visits = |b: &Bytes| {
            String::from_utf8_lossy(b)
                .lines()
                .filter(|l| l.starts_with("pantheon_visits{"))
                .count()
        };
        assert_eq!(visits(&early.body), 3);
        let (late, next) = r.render(&store, now + 7200);
        assert_eq!(next, None);
        assert_eq!(visits(&late.body), 1);
        assert!(
            !String::from_utf8_lossy(&late.body)
                .lines()
                .any(|l| l.starts_with("pantheon_visits{") && has_timestamp(l))
        );
    }

    #[test]
    fn history_off_serves_the_newest_day_untimestamped() {
        let now = T0 + 3 * DAY_SECONDS;
        let store = store_with(2, 3, now);
        let (e, _) = Renderer::new(HistoryMode::Off, 7200).render(&store, now);
        let text = String::from_utf8_lossy(&e.body).to_string();
        let samples: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("pantheon_visits{"))
            .collect();
        assert_eq!(samples.len(), 2);
        assert!(samples.iter().all(|l| !has_timestamp(l)), "{samples:?}");
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
            let mut expected = e.body.to_vec();
            expected.extend_from_slice(tail);
            assert_eq!(out, expected);
        }
    }
}
