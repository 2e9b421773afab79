//! Which samples to push for a site's days, so that no store ever sees two values at one
//! timestamp of a series.
//!
//! - A day is *final* once it is older than the refresh window (its start is before
//!   `today - refresh_days`): refreshes no longer read it, so its value no longer changes.
//!   It is pushed once, at its own 00:00 UTC timestamp: the whole history on backfill, then
//!   each day as it ages out of the window (checked on every update and every minute).
//! - The newest day, while it still changes, is pushed as the series' current value stamped
//!   with the push time, the way a scrape would stamp it (strictly increasing per site).
//!   Days between the two are not pushed until they are final.
//! - A final all-zero day may be the daily rebuild's: it is held back until the site shows
//!   traffic and a full fetch confirmed the zeros ([`SiteUpdate::settled`]), so a repaired
//!   day is pushed with its real value, never the zero first.
//! - The plan-usage gauges ([`crate::usage::report::GAUGES`]) are current values too: with
//!   every update that carries usage they are pushed stamped with the push time, like the
//!   newest day (an allowance or months-over value that is unknown is not pushed).
//! - A site whose labels change starts over (new series get the whole history).

use std::collections::HashMap;
use std::sync::Arc;

use super::proto::{Label, Sample, SeriesSamples, labels};
use crate::model::{DAY_SECONDS, Day, Site, day_start};
use crate::render::FAMILIES;
use crate::usage::Usage;
use crate::usage::report::GAUGES;

/// Series per site: the five families, then the usage gauges.
const SERIES: usize = FAMILIES.len() + GAUGES.len();

/// A site's days as held after a successful fetch.
#[derive(Clone, Debug)]
pub struct SiteUpdate {
    pub id: String,
    pub account: Arc<str>,
    pub site: Arc<Site>,
    /// Oldest first.
    pub days: Vec<Day>,
    /// The zero days among `days` were confirmed by a full fetch; until then they may be a
    /// rebuild's zeros, and are not pushed as final.
    pub settled: bool,
    /// The site's plan usage as held now (`serve` with plan usage on, once its monthly
    /// series was fetched); pushed as current values.
    pub usage: Option<Usage>,
}

/// What the scheduler tells the remote writer.
#[derive(Clone, Debug)]
pub enum Event {
    Update(SiteUpdate),
    /// The site left the site lists (or this replica's shard).
    Removed(String),
}

struct Planned {
    account: Arc<str>,
    site: Arc<Site>,
    series: Vec<Arc<Vec<Label>>>,
    days: Vec<Day>,
    /// Every day up to this start was pushed as final.
    final_through: Option<i64>,
    /// From the latest update: its zero days are confirmed.
    settled: bool,
    last_live_ms: i64,
}

impl Planned {
    fn new(account: Arc<str>, site: Arc<Site>) -> Planned {
        let series = FAMILIES
            .iter()
            .map(|f| f.name)
            .chain(GAUGES.iter().map(|g| g.0))
            .map(|name| {
                Arc::new(labels(&[
                    ("__name__", name),
                    ("account", &account),
                    ("label", &site.label),
                    ("name", &site.name),
                    ("plan", &site.plan),
                ]))
            })
            .collect();
        Planned {
            account,
            site,
            series,
            days: Vec::new(),
            final_through: None,
            settled: false,
            last_live_ms: i64::MIN,
        }
    }

    fn same_labels(&self, account: &str, site: &Site) -> bool {
        *self.account == *account
            && self.site.label == site.label
            && self.site.name == site.name
            && self.site.plan == site.plan
    }
}

/// Turns site updates into samples; one per exporter, shared by all receivers.
pub struct Planner {
    refresh_days: i64,
    sites: HashMap<String, Planned>,
}

impl Planner {
    /// `refresh_days`: the `--refresh-duration` in days; days inside it still change.
    pub fn new(refresh_days: u32) -> Planner {
        Planner {
            refresh_days: i64::from(refresh_days.max(1)),
            sites: HashMap::new(),
        }
    }

    /// The start of the oldest day that may still change at `now_ms`; older days are final.
    ///
    /// ```
    /// use pantheon_metrics::remote_write::Planner;
    /// let p = Planner::new(2);
    /// // 2025-11-12 10:00 UTC: 11-10 and later still change, 11-09 is final.
    /// assert_eq!(p.final_before(1_762_941_600_000), 1_762_732_800);
    /// ```
    pub fn final_before(&self, now_ms: i64) -> i64 {
        day_start(now_ms.div_euclid(1000)) - self.refresh_days * DAY_SECONDS
    }

    /// Sites tracked.
    pub fn len(&self) -> usize {
        self.sites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    pub fn handle(&mut self, event: Event, now_ms: i64) -> Vec<SeriesSamples> {
        match event {
            Event::Update(u) => self.update(u, now_ms),
            Event::Removed(id) => {
                self.sites.remove(&id);
                Vec::new()
            }
        }
    }

    /// Samples for a site's new state: days that became final, and its current value.
    pub fn update(&mut self, u: SiteUpdate, now_ms: i64) -> Vec<SeriesSamples> {
        let cutoff = self.final_before(now_ms);
        let planned = self
            .sites
            .entry(u.id)
            .or_insert_with(|| Planned::new(u.account.clone(), u.site.clone()));
        if !planned.same_labels(&u.account, &u.site) {
            let last_live_ms = planned.last_live_ms;
            *planned = Planned::new(u.account, u.site);
            planned.last_live_ms = last_live_ms;
        }
        planned.days = u.days;
        planned.settled = u.settled;
        let mut out = vec![Vec::new(); SERIES];
        finals(planned, cutoff, &mut out);
        let newest = planned
            .days
            .last()
            .filter(|d| d.timestamp >= cutoff)
            .copied();
        if newest.is_some() || u.usage.is_some() {
            let ts = now_ms.max(planned.last_live_ms.saturating_add(1));
            planned.last_live_ms = ts;
            if let Some(newest) = newest {
                push_day(&mut out, &newest, ts);
            }
            if let Some(usage) = &u.usage {
                push_usage(&mut out[FAMILIES.len()..], usage, ts);
            }
        }
        collect(planned, out)
    }

    /// Days that became final since the last call (at midnight UTC), for every site.
    pub fn age(&mut self, now_ms: i64) -> Vec<SeriesSamples> {
        let cutoff = self.final_before(now_ms);
        let mut all = Vec::new();
        for planned in self.sites.values_mut() {
            let mut out = vec![Vec::new(); SERIES];
            finals(planned, cutoff, &mut out);
            all.extend(collect(planned, out));
        }
        all
    }
}

fn push_day(out: &mut [Vec<Sample>], day: &Day, timestamp: i64) {
    for (samples, family) in out.iter_mut().zip(&FAMILIES) {
        if let Some(value) = family.value(day) {
            samples.push(Sample {
                value: value.as_f64(),
                timestamp,
            });
        }
    }
}

/// The usage gauges' current values (`out`: one list per gauge of [`GAUGES`]).
fn push_usage(out: &mut [Vec<Sample>], usage: &Usage, timestamp: i64) {
    for (samples, (_, _, value)) in out.iter_mut().zip(&GAUGES) {
        if let Some(v) = value(usage) {
            samples.push(Sample {
                value: v as f64,
                timestamp,
            });
        }
    }
}

fn finals(planned: &mut Planned, cutoff: i64, out: &mut [Vec<Sample>]) {
    let any_traffic = planned.days.iter().any(|d| !d.is_zero());
    for day in &planned.days {
        if day.timestamp >= cutoff {
            break;
        }
        if planned.final_through.is_some_and(|t| day.timestamp <= t) {
            continue;
        }
        if day.is_zero() && !(any_traffic && planned.settled) {
            // Maybe the rebuild's zeros: wait until the site shows traffic and a full
            // fetch confirmed them (a repaired day is pushed with its real value).
            break;
        }
        push_day(out, day, day.timestamp * 1000);
        planned.final_through = Some(day.timestamp);
    }
}

fn collect(planned: &Planned, out: Vec<Vec<Sample>>) -> Vec<SeriesSamples> {
    out.into_iter()
        .zip(&planned.series)
        .filter(|(samples, _)| !samples.is_empty())
        .map(|(mut samples, labels)| {
            samples.sort_by_key(|s| s.timestamp);
            SeriesSamples {
                labels: labels.clone(),
                samples,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = DAY_SECONDS * 1000;
    /// 2025-11-12 00:00 UTC.
    const T: i64 = 1_762_905_600;

    fn day(ts: i64, v: u64) -> Day {
        Day {
            timestamp: ts,
            visits: v,
            pages_served: v * 2,
            cache_hits: v,
            cache_misses: v,
        }
    }

    fn update(days: Vec<Day>) -> SiteUpdate {
        SiteUpdate {
            id: "id-1".into(),
            account: Arc::from("ops@example.com"),
            site: Arc::new(Site {
                id: "id-1".into(),
                name: "blog".into(),
                label: "Blog".into(),
                plan: "Basic".into(),
                ..Site::default()
            }),
            days,
            settled: true,
            usage: None,
        }
    }

    #[test]
    fn unconfirmed_zero_days_wait_and_the_repaired_value_is_pushed() {
        let mut p = Planner::new(2);
        let now = T * 1000;
        // Five final days; the middle one is a rebuild's zero, not yet confirmed.
        let mut days: Vec<Day> = (3..=7).rev().map(|k| day(T - k * DAY_SECONDS, 4)).collect();
        days[2] = day(days[2].timestamp, 0);
        let out = p.update(
            SiteUpdate {
                settled: false,
                ..update(days.clone())
            },
            now,
        );
        let v = visits(&out);
        assert_eq!(v.len(), 2, "the days before the zero only: {v:?}");
        assert!(v.iter().all(|(_, value)| *value == 4.0), "{v:?}");
        // The repair brings the real value: pushed once, then the rest.
        days[2] = day(days[2].timestamp, 9);
        let v = visits(&p.update(update(days), now + 1));
        assert_eq!(v.len(), 3, "{v:?}");
        assert_eq!(v[0], (days_ms(T - 5 * DAY_SECONDS), 9.0));
    }

    fn days_ms(ts: i64) -> i64 {
        ts * 1000
    }

    fn visits(series: &[SeriesSamples]) -> Vec<(i64, f64)> {
        series
            .iter()
            .filter(|s| s.labels[0].value == "pantheon_visits")
            .flat_map(|s| s.samples.iter().map(|x| (x.timestamp, x.value)))
            .collect()
    }

    #[test]
    fn backfill_pushes_final_days_at_their_start_and_the_newest_as_current() {
        let mut p = Planner::new(2);
        let now = T * 1000 + 3_600_000;
        // 28 days ending yesterday.
        let days: Vec<Day> = (1..=28)
            .rev()
            .map(|k| day(T - k * DAY_SECONDS, k as u64))
            .collect();
        let out = p.update(update(days.clone()), now);
        let v = visits(&out);
        // Final: everything before T - 2 days (26 days), then the newest at push time.
        assert_eq!(v.len(), 27);
        assert_eq!(v[0], ((T - 28 * DAY_SECONDS) * 1000, 28.0));
        assert_eq!(v[25], ((T - 3 * DAY_SECONDS) * 1000, 3.0));
        assert_eq!(v[26], (now, 1.0));
        assert_eq!(out.len(), 5, "five families");
        let labels: Vec<&str> = out[0].labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(labels, ["__name__", "account", "label", "name", "plan"]);

        // A refresh changing the newest days: only the current value, never a final day again.
        let mut changed = days.clone();
        changed[27].visits = 50;
        changed[26].visits = 40;
        let out = p.update(update(changed.clone()), now + 1000);
        assert_eq!(visits(&out), [(now + 1000, 50.0)]);
        // Same millisecond again: the current value's timestamp still moves forward.
        let out = p.update(update(changed.clone()), now + 1000);
        assert_eq!(visits(&out), [(now + 1001, 50.0)]);

        // After midnight the day before yesterday becomes final, pushed at its own start.
        let out = p.age(now + DAY_MS);
        assert_eq!(visits(&out), [((T - 2 * DAY_SECONDS) * 1000, 40.0)]);
        assert!(p.age(now + DAY_MS).is_empty());
    }

    #[test]
    fn usage_gauges_are_pushed_as_current_values_and_unknowns_not_at_all() {
        let mut p = Planner::new(2);
        let now = T * 1000 + 3_600_000;
        let days: Vec<Day> = (1..=3).rev().map(|k| day(T - k * DAY_SECONDS, 5)).collect();
        let usage = |allowance: Option<u64>| Usage {
            allowance,
            month_to_date: 1_200,
            projected: 3_100,
            daily_average: 100.0,
            average_days: 7,
            days_left: 19,
            months_over: allowance.map(|_| 2),
            status: crate::usage::Status::Ok,
        };
        let out = p.update(
            SiteUpdate {
                usage: Some(usage(Some(4_000))),
                ..update(days.clone())
            },
            now,
        );
        let of = |out: &[SeriesSamples], name: &str| -> Vec<(i64, f64)> {
            out.iter()
                .filter(|s| s.labels[0].value == name)
                .flat_map(|s| s.samples.iter().map(|x| (x.timestamp, x.value)))
                .collect()
        };
        assert_eq!(of(&out, "pantheon_month_to_date_visits"), [(now, 1_200.0)]);
        assert_eq!(
            of(&out, "pantheon_month_projected_visits"),
            [(now, 3_100.0)]
        );
        assert_eq!(
            of(&out, "pantheon_month_allowance_visits"),
            [(now, 4_000.0)]
        );
        assert_eq!(of(&out, "pantheon_allowance_exceeded_months"), [(now, 2.0)]);
        assert_eq!(visits(&out).last(), Some(&(now, 5.0)), "the same push time");
        let labels: Vec<&str> = out
            .iter()
            .find(|s| s.labels[0].value == "pantheon_month_to_date_visits")
            .unwrap()
            .labels
            .iter()
            .map(|l| l.name.as_str())
            .collect();
        assert_eq!(labels, ["__name__", "account", "label", "name", "plan"]);

        // Unknown allowance: no allowance or months-over sample; time still moves forward.
        let out = p.update(
            SiteUpdate {
                usage: Some(usage(None)),
                ..update(days.clone())
            },
            now,
        );
        assert_eq!(
            of(&out, "pantheon_month_to_date_visits"),
            [(now + 1, 1_200.0)]
        );
        assert!(of(&out, "pantheon_month_allowance_visits").is_empty());
        assert!(of(&out, "pantheon_allowance_exceeded_months").is_empty());
        // No usage held (plan usage off, or months not fetched yet): no usage samples.
        let out = p.update(update(days), now + 5);
        assert!(of(&out, "pantheon_month_to_date_visits").is_empty());
    }

    #[test]
    fn zero_days_of_a_site_without_traffic_wait_for_traffic() {
        let mut p = Planner::new(2);
        let now = T * 1000;
        let zeros: Vec<Day> = (1..=5).rev().map(|k| day(T - k * DAY_SECONDS, 0)).collect();
        let out = p.update(update(zeros.clone()), now);
        assert_eq!(visits(&out), [(now, 0.0)], "only the current value");
        assert!(
            out.iter()
                .all(|s| s.labels[0].value != "pantheon_cache_hit_ratio"),
            "no ratio without pages served"
        );
        let mut real = zeros;
        for (i, d) in real.iter_mut().enumerate() {
            *d = day(d.timestamp, i as u64 % 2 * 7);
        }
        let out = p.update(update(real), now + 1);
        let v = visits(&out);
        assert_eq!(v.len(), 4, "three final days and the current value: {v:?}");
        assert_eq!(v[0], ((T - 5 * DAY_SECONDS) * 1000, 0.0));
    }

    #[test]
    fn relabelled_sites_get_their_history_again_and_removed_sites_are_forgotten() {
        let mut p = Planner::new(2);
        let now = T * 1000;
        let days: Vec<Day> = (1..=5).rev().map(|k| day(T - k * DAY_SECONDS, 3)).collect();
        assert_eq!(visits(&p.update(update(days.clone()), now)).len(), 4);
        assert_eq!(visits(&p.update(update(days.clone()), now + 1)).len(), 1);
        let mut u = update(days.clone());
        u.site = Arc::new(Site {
            label: "New label".into(),
            ..(*u.site).clone()
        });
        let out = p.update(u, now + 2);
        assert_eq!(visits(&out).len(), 4);
        assert!(out[0].labels.iter().any(|l| l.value == "New label"));
        p.handle(Event::Removed("id-1".into()), now);
        assert!(p.is_empty());
    }
}
