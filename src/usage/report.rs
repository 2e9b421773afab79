//! The `usage` report as a terminal table, JSON and the Prometheus text format (CSV is in
//! [`crate::render::csv`]). Rows come in the order given: the command sorts them most at
//! risk first ([`super::sort_by_risk`]); the exposition puts them in series order.

use std::fmt::Write as _;

use chrono::NaiveDate;
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde::Serialize;

use super::{PROJECTION_NOTE, SiteUsage, Status, Usage};
use crate::model::sort_series;
use crate::render::prom::{write_f64, write_labels};
use crate::render::table::sanitize;

/// What every output says about the report itself.
#[derive(Clone, Copy, Debug)]
pub struct ReportInfo {
    /// The day the report is for (UTC).
    pub today: NaiveDate,
    /// The watch threshold as a share (0.8 = 80%).
    pub watch: f64,
}

impl ReportInfo {
    fn month(&self) -> String {
        self.today.format("%Y-%m").to_string()
    }
}

/// A count, or `-` when unknown.
fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// The report table, most at risk first as given, then how the projection is made.
pub fn table(rows: &[SiteUsage], info: &ReportInfo) -> String {
    let year = info.today.format("%Y");
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "Account".to_string(),
            "Site".to_string(),
            "Plan".to_string(),
            "Allowance".to_string(),
            "Month to date".to_string(),
            "Projected".to_string(),
            "Projected %".to_string(),
            format!("Months over {year}"),
            "Status".to_string(),
        ]);
    for row in rows {
        let u = &row.usage;
        table.add_row(vec![
            sanitize(&row.account).into_owned(),
            sanitize(&row.site.name).into_owned(),
            sanitize(&row.site.plan).into_owned(),
            or_dash(u.allowance),
            u.month_to_date.to_string(),
            u.projected.to_string(),
            u.projected_percent()
                .map_or_else(|| "-".to_string(), |p| format!("{p:.1}%")),
            or_dash(u.months_over),
            u.status.to_string(),
        ]);
    }
    for index in 3..8 {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan usage for {} (UTC), as of {}; watch at {}% of the allowance",
        info.month(),
        info.today,
        percent(info.watch)
    );
    if rows.is_empty() {
        out.push_str("(no sites)\n");
    } else {
        let _ = writeln!(out, "{table}");
    }
    let _ = writeln!(out, "{PROJECTION_NOTE}");
    if rows.iter().any(|r| r.usage.status == Status::Unknown) {
        out.push_str(
            "unknown: no allowance for the site's plan or the site in the allowances file\n",
        );
    }
    out
}

/// A share as a percentage without trailing zeros (`80`, `87.5`).
fn percent(share: f64) -> String {
    let mut buf = Vec::new();
    write_f64(&mut buf, (share * 1000.0).round() / 10.0);
    String::from_utf8(buf).unwrap_or_default()
}

#[derive(Serialize)]
struct ReportOut<'a> {
    month: String,
    date: String,
    watch_percent: f64,
    projection: &'static str,
    sites: Vec<RowOut<'a>>,
}

#[derive(Serialize)]
struct RowOut<'a> {
    account: &'a str,
    site: SiteOut<'a>,
    allowance: Option<u64>,
    month_to_date: u64,
    projected: u64,
    projected_percent: Option<f64>,
    months_over_this_year: Option<u32>,
    status: Status,
    daily_average: f64,
    average_days: usize,
    days_left: u32,
}

#[derive(Serialize)]
struct SiteOut<'a> {
    id: &'a str,
    name: &'a str,
    label: &'a str,
    plan: &'a str,
}

/// The report as one JSON object: the month, the date, the threshold, how the projection
/// is made, and the rows in the order given. Unknown numbers are `null`, never 0.
pub fn json(rows: &[SiteUsage], info: &ReportInfo) -> String {
    let out = ReportOut {
        month: info.month(),
        date: info.today.to_string(),
        watch_percent: (info.watch * 1000.0).round() / 10.0,
        projection: PROJECTION_NOTE,
        sites: rows
            .iter()
            .map(|r| RowOut {
                account: &r.account,
                site: SiteOut {
                    id: &r.site.id,
                    name: &r.site.name,
                    label: &r.site.label,
                    plan: &r.site.plan,
                },
                allowance: r.usage.allowance,
                month_to_date: r.usage.month_to_date,
                projected: r.usage.projected,
                projected_percent: r.usage.projected_percent(),
                months_over_this_year: r.usage.months_over,
                status: r.usage.status,
                daily_average: r.usage.daily_average,
                average_days: r.usage.average_days,
                days_left: r.usage.days_left,
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&out).expect("the report serializes");
    text.push('\n');
    text
}

/// One usage gauge: name, `# HELP` text, and its value for a site (`None`: no sample).
pub type Gauge = (&'static str, &'static str, fn(&Usage) -> Option<u64>);

/// The usage gauges, in exposition order: the one table the `usage --format prom` output,
/// `serve`'s `/metrics` and remote write all read. Named after the Prometheus guidelines:
/// one application prefix, the unit (visits, months) last, no type in the name.
pub const GAUGES: [Gauge; 4] = [
    (
        "pantheon_month_to_date_visits",
        "Visits this calendar month (UTC) so far, from the monthly series",
        |u| Some(u.month_to_date),
    ),
    (
        "pantheon_month_projected_visits",
        "Visits projected to the end of this calendar month: month-to-date plus the 7-day average times the days left",
        |u| Some(u.projected),
    ),
    (
        "pantheon_month_allowance_visits",
        "Monthly visits the site's plan allows, from the allowances file (absent when unknown)",
        |u| u.allowance,
    ),
    (
        "pantheon_allowance_exceeded_months",
        "Complete months of this calendar year whose visits exceeded the allowance (absent when unknown)",
        |u| u.months_over.map(u64::from),
    ),
];

/// Appends the `# HELP` and `# TYPE` lines of gauge `index` (of [`GAUGES`]).
pub fn write_gauge_header(out: &mut Vec<u8>, index: usize) {
    let (name, help, _) = GAUGES[index];
    let _ = writeln!(Bytes(out), "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// Appends a site's sample of gauge `index`, untimestamped, after its label set `labels`
/// (already escaped, braces included); nothing when the gauge has no value for it.
pub fn write_gauge_sample(out: &mut Vec<u8>, index: usize, labels: &[u8], usage: &Usage) {
    let (name, _, value) = GAUGES[index];
    if let Some(v) = value(usage) {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(labels);
        let _ = writeln!(Bytes(out), " {v}");
    }
}

/// The report as Prometheus gauges without timestamps (current values, for node_exporter's
/// textfile collector), in series order, with the same labels as the traffic gauges. A
/// site without an allowance has no allowance and months-over sample, never a 0.
pub fn prometheus(rows: &[SiteUsage]) -> Vec<u8> {
    let mut sorted: Vec<&SiteUsage> = rows.iter().collect();
    sort_series(&mut sorted);
    let labels: Vec<Vec<u8>> = sorted
        .iter()
        .map(|row| {
            let mut l = Vec::new();
            write_labels(&mut l, &row.account, &row.site);
            l
        })
        .collect();
    let mut out = Vec::new();
    for index in 0..GAUGES.len() {
        write_gauge_header(&mut out, index);
        for (row, labels) in sorted.iter().zip(&labels) {
            write_gauge_sample(&mut out, index, labels, &row.usage);
        }
    }
    out
}

/// `write!` into a byte buffer.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl crate::model::SeriesOrder for SiteUsage {
    fn sort_key(&self) -> crate::model::SeriesKey<'_> {
        crate::model::series_key(&self.account, &self.site)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::Site;
    use crate::render::testutil::{HOSTILE_LABEL, parse_sample};

    fn row(name: &str, label: &str, allowance: Option<u64>, status: Status) -> SiteUsage {
        SiteUsage {
            account: Arc::from("ops@example.com"),
            site: Arc::new(Site {
                id: format!("id-{name}"),
                name: name.into(),
                label: label.into(),
                plan: "Performance Small".into(),
                ..Site::default()
            }),
            usage: Usage {
                allowance,
                month_to_date: 1_200,
                projected: 2_500,
                daily_average: 100.0,
                average_days: 7,
                days_left: 13,
                months_over: allowance.map(|_| 2),
                status,
            },
        }
    }

    fn info() -> ReportInfo {
        ReportInfo {
            today: NaiveDate::from_ymd_opt(2025, 11, 18).unwrap(),
            watch: 0.875,
        }
    }

    #[test]
    fn table_says_how_the_projection_is_made_and_shows_unknown_as_dash() {
        let text = table(
            &[
                row("a", "A", Some(2_000), Status::ProjectedOver),
                row("b\nx", "B", None, Status::Unknown),
            ],
            &info(),
        );
        assert!(
            text.starts_with("Plan usage for 2025-11 (UTC), as of 2025-11-18; watch at 87.5%"),
            "{text}"
        );
        assert!(text.contains(PROJECTION_NOTE), "{text}");
        assert!(text.contains("Months over 2025"), "{text}");
        assert!(
            text.contains("125.0%") && text.contains("projected-over"),
            "{text}"
        );
        assert!(text.contains("b\\nx"), "labels are sanitized: {text}");
        let unknown = text.lines().find(|l| l.contains("b\\nx")).unwrap();
        assert_eq!(
            unknown.matches(" - ").count(),
            3,
            "allowance, %, months over: {unknown}"
        );
        assert!(!unknown.contains(" 0 "), "{unknown}");
    }

    #[test]
    fn json_keeps_order_and_nulls() {
        let rows = [
            row("z", "Z", Some(2_000), Status::Over),
            row("a", "A", None, Status::Unknown),
        ];
        let v: serde_json::Value = serde_json::from_str(&json(&rows, &info())).unwrap();
        assert_eq!(v["month"], "2025-11");
        assert_eq!(v["date"], "2025-11-18");
        assert_eq!(v["watch_percent"], 87.5);
        assert_eq!(v["projection"], PROJECTION_NOTE);
        assert_eq!(v["sites"][0]["site"]["name"], "z", "the order given");
        assert_eq!(v["sites"][0]["status"], "over");
        assert_eq!(v["sites"][0]["projected_percent"], 125.0);
        assert_eq!(v["sites"][0]["months_over_this_year"], 2);
        for key in ["allowance", "projected_percent", "months_over_this_year"] {
            assert!(v["sites"][1][key].is_null(), "{key}");
        }
        assert_eq!(v["sites"][1]["status"], "unknown");
    }

    #[test]
    fn exposition_parses_with_hostile_labels_and_omits_unknowns() {
        let rows = [
            row("b", HOSTILE_LABEL, None, Status::Unknown),
            row("a", HOSTILE_LABEL, Some(2_000), Status::ProjectedOver),
        ];
        let text = String::from_utf8(prometheus(&rows)).unwrap();
        let mut samples = Vec::new();
        let mut headers = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                headers.push(line);
            } else {
                samples.push(parse_sample(line).unwrap_or_else(|e| panic!("{e}: {line:?}")));
            }
        }
        assert_eq!(headers.len(), 2 * GAUGES.len(), "{text}");
        assert!(text.ends_with('\n'));
        assert_eq!(samples.len(), 2 + 2 + 1 + 1, "{text}");
        for s in &samples {
            assert_eq!(s.label("label"), HOSTILE_LABEL);
            assert_eq!(s.timestamp, None);
        }
        let of = |name: &str, site: &str| {
            samples
                .iter()
                .find(|s| s.name == name && s.label("name") == site)
                .map(|s| s.number())
        };
        assert_eq!(of("pantheon_month_to_date_visits", "b"), Some(1_200.0));
        assert_eq!(of("pantheon_month_projected_visits", "a"), Some(2_500.0));
        assert_eq!(of("pantheon_month_allowance_visits", "a"), Some(2_000.0));
        assert_eq!(of("pantheon_month_allowance_visits", "b"), None);
        assert_eq!(of("pantheon_allowance_exceeded_months", "b"), None);
        // Series order within each family.
        let first = samples
            .iter()
            .find(|s| s.name == "pantheon_month_to_date_visits")
            .unwrap();
        assert_eq!(first.label("name"), "a");
    }
}
