//! Deterministic traffic numbers, so tests can compute what the fake will answer.

use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};

use crate::model::{DAY_SECONDS, Day, Granularity, TrafficDuration, day_start};

/// The environments every fake site has.
pub const ENVIRONMENTS: [&str; 3] = ["dev", "test", "live"];

struct Profile {
    base_visits: f64,
    hit_ratio: f64,
    spotty: bool,
    phase: i64,
}

fn profile(site_id: &str) -> Profile {
    let h = Sha256::digest(format!("profile\0{site_id}").as_bytes());
    Profile {
        base_visits: 20.0 + f64::from(u16::from_be_bytes([h[0], h[1]]) % 2500),
        hit_ratio: 0.02 + f64::from(h[2]) / 255.0 * 0.85,
        spotty: h[3] % 6 == 0,
        phase: i64::from(h[4] % 5),
    }
}

/// True for sites that have an all-zero day every fifth day (about one site in six).
pub fn is_spotty(site_id: &str) -> bool {
    profile(site_id).spotty
}

fn unit(bytes: &[u8]) -> f64 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[..4]);
    f64::from(u32::from_be_bytes(b)) / f64::from(u32::MAX)
}

/// The demo sites with steady live traffic, and their pace: each day of a month with `D`
/// days brings `round(pace / (D - 0.5))` visits, so a month brings a little more than
/// `pace`, yet the month's last complete day still leaves its total at or below `pace`.
/// With the demo's allowances (`src/usage/demo-allowances.yml`) this puts one site over,
/// one projected over, one on watch and one at ok on every day but the 1st of a month.
pub const STEADY_SITES: [(&str, u64); 4] = [
    ("gamma-site-1", 60_000),
    ("gamma-site-2", 30_000),
    ("gamma-site-3", 27_000),
    ("gamma-site-4", 12_000),
];

/// The pace of a steady site (see [`STEADY_SITES`]).
fn steady_pace(site_id: &str) -> Option<u64> {
    static IDS: std::sync::OnceLock<Vec<(String, u64)>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        STEADY_SITES
            .iter()
            .map(|(name, pace)| (super::fake_uuid(&format!("site:{name}")), *pace))
            .collect()
    })
    .iter()
    .find(|(id, _)| id == site_id)
    .map(|(_, pace)| *pace)
}

/// A steady site's live day: the same visits every day of a month, two pages per visit,
/// 60% of them from the cache.
fn steady_day(pace: u64, ts: i64) -> Day {
    let days = chrono::DateTime::from_timestamp(ts, 0).map_or(30, |t| {
        let first = t.date_naive().with_day(1).expect("day 1 exists");
        let next = first + chrono::Months::new(1);
        (next - first).num_days()
    });
    let visits = (pace as f64 / (days as f64 - 0.5)).round() as u64;
    let pages = visits * 2;
    let hits = pages * 3 / 5;
    Day {
        timestamp: ts,
        visits,
        pages_served: pages,
        cache_hits: hits,
        cache_misses: pages - hits,
    }
}

/// Deterministic traffic: the same (site id, env, day) always gives the same numbers, with
/// hits + misses == pages_served, and some days with pages_served == 0 for some sites.
///
/// `day_start` is truncated to 00:00 UTC. Unknown environments get a tiny share of traffic.
pub fn traffic_for(site_id: &str, env: &str, day_start_ts: i64) -> Day {
    let ts = day_start(day_start_ts);
    let day_index = ts.div_euclid(DAY_SECONDS);
    if env == "live" {
        if let Some(pace) = steady_pace(site_id) {
            return steady_day(pace, ts);
        }
    }
    let p = profile(site_id);
    let zero = Day {
        timestamp: ts,
        ..Day::default()
    };
    if p.spotty && (day_index + p.phase).rem_euclid(5) == 0 {
        return zero;
    }
    let env_factor = match env {
        "live" => 1.0,
        "test" => 0.04,
        "dev" => 0.015,
        _ => 0.01,
    };
    let h = Sha256::digest(format!("day\0{site_id}\0{env}\0{day_index}").as_bytes());
    // 1970-01-01 was a Thursday: +3 makes Monday 0.
    let weekday = (day_index + 3).rem_euclid(7);
    let weekend = if weekday >= 5 { 0.7 } else { 1.0 };
    let visits = (p.base_visits * env_factor * weekend * (0.7 + 0.6 * unit(&h[0..4]))).round();
    if visits < 1.0 {
        return zero;
    }
    let visits = visits as u64;
    let pages = visits + (visits as f64 * (0.5 + 3.0 * unit(&h[4..8]))).round() as u64;
    let ratio = (p.hit_ratio + (unit(&h[8..12]) - 0.5) * 0.1).clamp(0.0, 1.0);
    let hits = ((pages as f64 * ratio).round() as u64).min(pages);
    Day {
        timestamp: ts,
        visits,
        pages_served: pages,
        cache_hits: hits,
        cache_misses: pages - hits,
    }
}

/// One day of a site in `env`, or summed over all environments when `env` is `None`.
fn day_of(site_id: &str, env: Option<&str>, ts: i64) -> Day {
    match env {
        Some(env) => traffic_for(site_id, env, ts),
        None => ENVIRONMENTS.iter().fold(
            Day {
                timestamp: ts,
                ..Day::default()
            },
            |acc, e| add(acc, traffic_for(site_id, e, ts)),
        ),
    }
}

fn add(mut a: Day, b: Day) -> Day {
    a.visits += b.visits;
    a.pages_served += b.pages_served;
    a.cache_hits += b.cache_hits;
    a.cache_misses += b.cache_misses;
    a
}

/// Scales a day's counters to a fraction of the day (the "today grows" behaviour), keeping
/// hits + misses == pages_served.
fn scale(day: Day, fraction: f64) -> Day {
    let f = |v: u64| (v as f64 * fraction).floor() as u64;
    let hits = f(day.cache_hits);
    let misses = f(day.cache_misses);
    Day {
        timestamp: day.timestamp,
        visits: f(day.visits),
        pages_served: hits + misses,
        cache_hits: hits,
        cache_misses: misses,
    }
}

/// What a traffic request asks for, besides the site.
pub(crate) struct SeriesSpec<'a> {
    /// `None`: the site-wide sum over all environments.
    pub env: Option<&'a str>,
    pub duration: TrafficDuration,
    /// 00:00 UTC of the newest day.
    pub newest: i64,
    /// Fraction of the newest day that has elapsed, when it is today's partial day.
    pub partial: Option<f64>,
    /// The daily rebuild window: same timestamps, all counters zero.
    pub zero: bool,
}

/// The buckets of a traffic answer, oldest first.
pub(crate) fn series(site_id: &str, spec: &SeriesSpec<'_>) -> Vec<Day> {
    let newest = day_start(spec.newest);
    let day = |ts: i64| -> Day {
        if spec.zero {
            return Day {
                timestamp: ts,
                ..Day::default()
            };
        }
        let d = day_of(site_id, spec.env, ts);
        match spec.partial {
            Some(fraction) if ts == newest => scale(d, fraction),
            _ => d,
        }
    };
    let sum = |from: i64, to: i64| -> Day {
        let mut total = Day {
            timestamp: from,
            ..Day::default()
        };
        let mut ts = from;
        while ts <= to {
            total = add(total, day(ts));
            ts += DAY_SECONDS;
        }
        total
    };
    let n = i64::from(spec.duration.count());
    match spec.duration.granularity() {
        Granularity::Day => (0..n)
            .rev()
            .map(|k| day(newest - k * DAY_SECONDS))
            .collect(),
        Granularity::Week => {
            let weekday = (newest.div_euclid(DAY_SECONDS) + 3).rem_euclid(7);
            let monday = newest - weekday * DAY_SECONDS;
            (0..n)
                .rev()
                .map(|k| {
                    let start = monday - k * 7 * DAY_SECONDS;
                    sum(start, (start + 6 * DAY_SECONDS).min(newest))
                })
                .collect()
        }
        Granularity::Month => {
            let Some(date) = chrono::DateTime::from_timestamp(newest, 0).map(|t| t.date_naive())
            else {
                return Vec::new();
            };
            let month_index = i64::from(date.year()) * 12 + i64::from(date.month0());
            (0..n)
                .rev()
                .filter_map(|k| {
                    let start = month_start(month_index - k)?;
                    let next = month_start(month_index - k + 1)?;
                    Some(sum(start, (next - DAY_SECONDS).min(newest)))
                })
                .collect()
        }
    }
}

/// 00:00 UTC of the first day of the month `year * 12 + month0`.
fn month_start(month_index: i64) -> Option<i64> {
    let year = i32::try_from(month_index.div_euclid(12)).ok()?;
    let month = u32::try_from(month_index.rem_euclid(12)).ok()? + 1;
    let date = NaiveDate::from_ymd_opt(year, month, 1)?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_is_deterministic_and_consistent() {
        let mut zero_days = 0;
        for site in 0..50 {
            let id = super::super::fake_uuid(&format!("t{site}"));
            for d in 0..28 {
                let ts = 1_762_732_800 + d * DAY_SECONDS;
                let a = traffic_for(&id, "live", ts);
                assert_eq!(a, traffic_for(&id, "live", ts + 5));
                assert_eq!(a.timestamp, ts);
                assert_eq!(a.cache_hits + a.cache_misses, a.pages_served);
                assert!(a.pages_served >= a.visits || a.pages_served == 0);
                if a.pages_served == 0 {
                    zero_days += 1;
                }
            }
        }
        assert!(zero_days > 0);
    }

    #[test]
    fn weeks_and_months_sum_days() {
        let id = "3f2a9c1e-7b4d-4e8a-9c0f-1d2e3f4a5b6c";
        // 2025-11-12 is a Wednesday.
        let newest = 1_762_905_600;
        let spec = |d: &str| SeriesSpec {
            env: Some("live"),
            duration: d.parse().expect("valid duration"),
            newest,
            partial: None,
            zero: false,
        };
        let weeks = series(id, &spec("2w"));
        assert_eq!(weeks.len(), 2);
        // Monday 2025-11-10 .. Wednesday.
        assert_eq!(weeks[1].timestamp, 1_762_732_800);
        let days = series(id, &spec("3d"));
        assert_eq!(days[0].timestamp, 1_762_732_800);
        let total: u64 = days.iter().map(|d| d.pages_served).sum();
        assert_eq!(weeks[1].pages_served, total);
        let months = series(id, &spec("12m"));
        assert_eq!(months.len(), 12);
        assert_eq!(months[11].timestamp, 1_761_955_200); // 2025-11-01
        assert_eq!(months[0].timestamp, 1_733_011_200); // 2024-12-01
    }
}
