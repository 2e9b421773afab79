//! Plan usage in `serve`: a held site's usage numbers, from its monthly series and the daily
//! days the store already holds (no fetch of its own), as of the UTC day the months were
//! fetched. The gauges, the page and remote write all compute it here.

use crate::model::{DAY_SECONDS, Day, day_start};
use crate::store::SiteEntry;
use crate::usage::{self, SiteUsage, Usage};

use super::settings::PlanUsage;

/// The usage of `entry`, or `None` until its monthly series was fetched (or while the API
/// has no monthly data for it).
///
/// The numbers are those of the day of the monthly fetch: its bucket is the month-to-date,
/// the complete days before it feed the average, and the partial day counts as much as the
/// bucket held of it. They depend only on what the entry holds, so they change with the
/// entry's version and never with the clock (after midnight the next refresh of the site
/// fetches the new day's months).
pub fn of_entry(entry: &SiteEntry, plan: &PlanUsage) -> Option<Usage> {
    // An empty answer (a site without data yet) is no usage, not a month of zeros.
    let monthly = entry.monthly.as_ref().filter(|m| !m.months.is_empty())?;
    let today_ts = day_start(monthly.fetched_at);
    let today = chrono::DateTime::from_timestamp(today_ts, 0)?.date_naive();
    // The last 7 complete days of the month at most, and the month's start: the days the
    // computation can use.
    let from = today_ts - 31 * DAY_SECONDS;
    let mut daily: Vec<Day> = entry
        .days()
        .filter(|d| d.timestamp >= from && d.timestamp < today_ts)
        .copied()
        .collect();
    if let Some(visits) = monthly.today_visits {
        daily.push(Day {
            timestamp: today_ts,
            visits,
            ..Day::default()
        });
    }
    Some(usage::compute(
        &monthly.months,
        &daily,
        plan.allowances.for_site(&entry.site),
        today,
        plan.watch,
    ))
}

/// The usage rows of every site that has its monthly series, in the order given.
pub fn rows<'a>(sites: impl Iterator<Item = &'a SiteEntry>, plan: &PlanUsage) -> Vec<SiteUsage> {
    sites
        .filter_map(|e| {
            of_entry(e, plan).map(|usage| SiteUsage {
                account: e.account.clone(),
                site: e.site.clone(),
                usage,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::allowances::Allowances;
    use crate::model::Site;
    use crate::store::Store;
    use crate::usage::Status;

    /// 2025-11-15 00:00 UTC.
    const NOV_15: i64 = 1_763_164_800;
    /// 2025-11-01 00:00 UTC.
    const NOV_1: i64 = 1_761_955_200;

    fn plan(yaml: &str) -> PlanUsage {
        PlanUsage {
            allowances: Arc::new(Allowances::parse(yaml, "t.yml").unwrap()),
            watch: 0.8,
        }
    }

    fn day(ts: i64, visits: u64) -> Day {
        Day {
            timestamp: ts,
            visits,
            pages_served: visits,
            cache_hits: 0,
            cache_misses: visits,
        }
    }

    /// A site holding 1,000 visits a day through the 14th and 400 of the 15th so far.
    fn store_at(now: i64) -> Store {
        let mut store = Store::new();
        store.upsert_site(
            Arc::from("ops@example.com"),
            1,
            Arc::new(Site {
                id: "id-1".into(),
                name: "blog".into(),
                plan: "Basic".into(),
                ..Site::default()
            }),
        );
        let mut days: Vec<Day> = (1..=20)
            .rev()
            .map(|k| day(NOV_15 - k * DAY_SECONDS, 1_000))
            .collect();
        days.push(day(NOV_15, 400));
        store.record_fetch("id-1", &days, true, now);
        store
    }

    #[test]
    fn numbers_are_those_of_the_fetch_day_and_a_later_partial_day_changes_nothing() {
        let now = NOV_15 + 10 * 3600;
        let mut store = store_at(now);
        assert!(of_entry(store.get("id-1").unwrap(), &plan("plans: {}")).is_none());
        assert!(store.monthly_due("id-1", now));
        assert_eq!(
            store.record_monthly("id-1", &[day(NOV_1, 14_400)], now),
            Some(true)
        );
        assert!(!store.monthly_due("id-1", now + 3600));
        assert!(store.monthly_due("id-1", NOV_15 + DAY_SECONDS));

        let p = plan("plans:\n  basic: 30000\n");
        let u = of_entry(store.get("id-1").unwrap(), &p).unwrap();
        assert_eq!(u.month_to_date, 14_400);
        assert_eq!(u.days_left, 16);
        assert_eq!(u.projected, 14_000 + 16 * 1_000);
        assert_eq!(u.allowance, Some(30_000));
        assert_eq!(u.status, Status::Watch);

        // Later that day the partial day grows; the months are not fetched again, and the
        // projection still takes out what the bucket held of the day (400), not 900.
        store.record_fetch("id-1", &[day(NOV_15, 900)], false, now + 3600);
        let later = of_entry(store.get("id-1").unwrap(), &p).unwrap();
        assert_eq!(later, u);

        // No allowance for the plan: unknown, never 0.
        let u = of_entry(store.get("id-1").unwrap(), &plan("plans:\n  elite: 1\n")).unwrap();
        assert_eq!(
            (u.allowance, u.months_over, u.status),
            (None, None, Status::Unknown)
        );
    }

    #[test]
    fn rebuild_zeros_never_replace_months_with_traffic() {
        let now = NOV_15 + 3600;
        let mut store = store_at(now);
        store.record_monthly("id-1", &[day(NOV_1, 14_400)], now);
        let version = store.get("id-1").unwrap().version;
        let tomorrow = NOV_15 + DAY_SECONDS + 600;
        assert_eq!(
            store.record_monthly("id-1", &[day(NOV_1, 0)], tomorrow),
            None
        );
        let e = store.get("id-1").unwrap();
        assert_eq!(e.version, version);
        assert_eq!(e.monthly.as_ref().unwrap().months[0].visits, 14_400);
        assert!(store.monthly_due("id-1", tomorrow), "asked again later");
        // The same months again the same day: no change, nothing re-rendered.
        assert_eq!(
            store.record_monthly("id-1", &[day(NOV_1, 14_400)], now + 60),
            Some(false)
        );
        assert_eq!(store.get("id-1").unwrap().version, version);
    }
}
