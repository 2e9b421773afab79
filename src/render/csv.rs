//! CSV (RFC 4180: comma separated, CRLF line ends, fields quoted when they hold a comma, a
//! quote or a line break) for spreadsheets: `fetch` one row per site and day, `usage` one
//! row per site. One header row each; an unknown value is an empty field, never 0.
//!
//! Labels are written exactly as the API gives them (the `csv` crate does the quoting), so a
//! reader gets back the same bytes.

use super::families::{DayValue, FAMILIES};
use crate::model::{SiteTraffic, format_date, sort_series};
use crate::usage::SiteUsage;

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

fn finish(writer: csv::Writer<Vec<u8>>) -> Vec<u8> {
    // Writing to memory cannot fail.
    writer
        .into_inner()
        .expect("an in-memory CSV writer flushes")
}

fn value(v: Option<DayValue>) -> String {
    match v {
        Some(DayValue::Count(n)) => n.to_string(),
        Some(DayValue::Percent(p)) => p.to_string(),
        None => String::new(),
    }
}

/// The header of [`traffic`]: the site's fields, the day, then one column per family key.
pub fn traffic_header() -> Vec<&'static str> {
    let mut header = vec![
        "account",
        "site_id",
        "site",
        "label",
        "plan",
        "environment",
        "date",
        "timestamp",
    ];
    header.extend(FAMILIES.iter().map(|f| f.key));
    header
}

/// One row per site and day, sites in series order, days oldest first. A site without
/// days has no row.
pub fn traffic(sites: &[SiteTraffic]) -> Vec<u8> {
    let mut sorted: Vec<&SiteTraffic> = sites.iter().collect();
    sort_series(&mut sorted);
    let mut w = writer();
    w.write_record(traffic_header()).expect("in memory");
    for t in sorted {
        for day in &t.days {
            let mut record = vec![
                t.account.to_string(),
                t.site.id.clone(),
                t.site.name.clone(),
                t.site.label.clone(),
                t.site.plan.clone(),
                t.environment.to_string(),
                format_date(day.timestamp),
                day.timestamp.to_string(),
            ];
            record.extend(FAMILIES.iter().map(|f| value(f.value(day))));
            w.write_record(&record).expect("in memory");
        }
    }
    finish(w)
}

/// The header of [`usage`].
pub const USAGE_HEADER: [&str; 12] = [
    "account",
    "site_id",
    "site",
    "label",
    "plan",
    "allowance",
    "month_to_date",
    "projected",
    "projected_percent",
    "months_over_this_year",
    "status",
    "days_left",
];

/// One row per site, in the order given (the command sorts them most at risk first).
pub fn usage(rows: &[SiteUsage]) -> Vec<u8> {
    let mut w = writer();
    w.write_record(USAGE_HEADER).expect("in memory");
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in rows {
        let u = &r.usage;
        w.write_record([
            r.account.to_string(),
            r.site.id.clone(),
            r.site.name.clone(),
            r.site.label.clone(),
            r.site.plan.clone(),
            opt(u.allowance.map(|a| a.to_string())),
            u.month_to_date.to_string(),
            u.projected.to_string(),
            opt(u.projected_percent().map(|p| p.to_string())),
            opt(u.months_over.map(|m| m.to_string())),
            u.status.to_string(),
            u.days_left.to_string(),
        ])
        .expect("in memory");
    }
    finish(w)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::model::Site;
    use crate::render::testutil::{self, HOSTILE_LABEL, hostile_string};
    use crate::usage::{Status, Usage};

    fn read(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
        let mut r = csv::ReaderBuilder::new().from_reader(bytes);
        let header = r.headers().unwrap().iter().map(str::to_string).collect();
        let rows = r
            .records()
            .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
            .collect();
        (header, rows)
    }

    #[test]
    fn traffic_has_one_header_and_a_row_per_site_and_day() {
        let sites = testutil::sites();
        let bytes = traffic(&sites);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with("account,site_id,site,label,plan,environment,date,timestamp,visits,")
        );
        assert!(text.ends_with("\r\n"));
        let (header, rows) = read(&bytes);
        assert_eq!(header, traffic_header());
        let days: usize = sites.iter().map(|s| s.days.len()).sum();
        assert_eq!(rows.len(), days);
        // Round trip: every label and count comes back as it went in.
        for t in &sites {
            let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[1] == t.site.id).collect();
            assert_eq!(mine.len(), t.days.len());
            for (row, day) in mine.into_iter().zip(&t.days) {
                assert_eq!(row[3], t.site.label);
                assert_eq!(row[7], day.timestamp.to_string());
                assert_eq!(row[8], day.visits.to_string());
                let ratio = &row[header.len() - 1];
                match day.cache_hit_ratio() {
                    Some(r) => assert_eq!(ratio.parse::<f64>().unwrap(), r),
                    None => assert_eq!(ratio, "", "no ratio is an empty field"),
                }
            }
        }
        assert!(sites.iter().any(|s| s.site.label == HOSTILE_LABEL));
    }

    #[test]
    fn usage_rows_keep_order_and_leave_unknowns_empty() {
        let row = |name: &str, allowance: Option<u64>, status| SiteUsage {
            account: Arc::from("ops@example.com"),
            site: Arc::new(Site {
                id: format!("id-{name}"),
                name: name.into(),
                label: HOSTILE_LABEL.into(),
                plan: "Basic, old".into(),
                ..Site::default()
            }),
            usage: Usage {
                allowance,
                month_to_date: 10,
                projected: 30,
                daily_average: 1.0,
                average_days: 7,
                days_left: 20,
                months_over: allowance.map(|_| 1),
                status,
            },
        };
        let rows = [
            row("z", Some(20), Status::ProjectedOver),
            row("a", None, Status::Unknown),
        ];
        let (header, got) = read(&usage(&rows));
        assert_eq!(header, USAGE_HEADER);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0][2], "z");
        assert_eq!(got[0][3], HOSTILE_LABEL);
        assert_eq!(got[0][4], "Basic, old");
        assert_eq!(
            &got[0][5..11],
            ["20", "10", "30", "150", "1", "projected-over"]
        );
        assert_eq!(&got[1][5..11], ["", "10", "30", "", "", "unknown"]);
    }

    proptest! {
        #[test]
        fn hostile_labels_round_trip(label in hostile_string(), name in hostile_string()) {
            let mut sites = testutil::sites();
            Arc::make_mut(&mut sites[0].site).label = label.clone();
            Arc::make_mut(&mut sites[0].site).name = name.clone();
            let (header, rows) = read(&traffic(&sites));
            prop_assert_eq!(header.len(), traffic_header().len());
            let id = &sites[0].site.id;
            let mine: Vec<_> = rows.iter().filter(|r| &r[1] == id).collect();
            prop_assert_eq!(mine.len(), sites[0].days.len());
            for row in mine {
                prop_assert_eq!(row.len(), header.len());
                prop_assert_eq!(&row[2], &name);
                prop_assert_eq!(&row[3], &label);
            }
        }
    }
}
