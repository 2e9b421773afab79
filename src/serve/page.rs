//! The summary page at `/`. Everything that comes from the API or the configuration is
//! escaped; the page is small enough to build per request, from a snapshot of the store
//! rather than under its lock.

use std::fmt::Write;

use super::settings::PlanUsage;
use super::{Shared, lock};
use crate::model::format_rfc3339;
use crate::render::html::escape;
use crate::store::SiteEntry;
use crate::usage::{self, Status};

pub fn render(shared: &Shared) -> String {
    let s = &shared.settings;
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pantheon-metrics</title>\n");
    out.push_str("<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}.down{color:#b00}.up{color:#070}.warn{color:#a60}td.n{text-align:right}</style>\n");
    out.push_str("</head><body>\n<h1>pantheon-metrics exporter</h1>\n");
    let _ = writeln!(
        out,
        "<p>Version {} · environment <b>{}</b> · history {} · refresh every {}s · <a href=\"/metrics\">/metrics</a></p>",
        env!("CARGO_PKG_VERSION"),
        escape(&s.environment),
        s.history.as_str(),
        s.refresh_interval.as_secs()
    );

    if s.shard.count() > 1 {
        let _ = writeln!(
            out,
            "<p>Shard <b>{}</b> of <b>{}</b>: this replica fetches and exports only the sites whose id hashes to it.</p>",
            s.shard.index(),
            s.shard.count()
        );
    }

    let accounts = lock(&shared.accounts).clone();
    let all_down = !accounts.is_empty() && accounts.iter().all(|a| a.up == Some(false));
    if all_down {
        out.push_str("<p class=\"down\"><b>Every account failed to list its sites.</b> The exporter keeps running and retries each refresh interval.</p>\n");
    }
    out.push_str("<h2>Accounts</h2>\n<table><tr><th>account</th><th>state</th><th>sites</th><th>last error</th></tr>\n");
    for a in &accounts {
        let state = match a.up {
            None => "<td>loading</td>",
            Some(true) => "<td class=\"up\">up</td>",
            Some(false) => "<td class=\"down\">down</td>",
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td>{state}<td>{}</td><td>{}</td></tr>",
            escape(&a.name),
            a.sites,
            escape(a.last_error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");

    // Only the snapshot is taken under the lock; the rows are written after it is released.
    let sites = lock(&shared.store).snapshot().sites;
    if let Some(plan) = &s.usage {
        plan_usage(&mut out, &sites, plan);
    }
    let _ = writeln!(out, "<h2>Sites ({})</h2>", sites.len());
    out.push_str("<table><tr><th>account</th><th>name</th><th>label</th><th>plan</th><th>days held</th><th>last refresh</th><th>state</th><th>last error</th></tr>\n");
    let now = shared.clock.now();
    let max_age = shared.settings.refresh_interval.as_secs() as i64;
    for e in &sites {
        let state = if e.is_stale(now, max_age) {
            "<td class=\"down\">stale</td>"
        } else if e.waiting().is_some() {
            "<td>waiting</td>"
        } else if e.last_refresh.is_none() {
            "<td>pending</td>"
        } else {
            "<td class=\"up\">ok</td>"
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{state}<td>{}</td></tr>",
            escape(&e.account),
            escape(&e.site.name),
            escape(&e.site.label),
            escape(&e.site.plan),
            e.days.len(),
            e.last_refresh
                .map(format_rfc3339)
                .unwrap_or_else(|| "never".into()),
            escape(e.last_error.as_deref().or(e.waiting()).unwrap_or(""))
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

/// The plan-usage table: every site whose monthly series is held, most at risk first
/// (projected share of its allowance; unknown allowances last), from the snapshot.
fn plan_usage(out: &mut String, sites: &[std::sync::Arc<SiteEntry>], plan: &PlanUsage) {
    let mut rows = super::usage::rows(sites.iter().map(|e| &**e), plan);
    usage::sort_by_risk(&mut rows);
    let waiting = sites.len() - rows.len();
    let fetched: std::collections::HashMap<&str, i64> = sites
        .iter()
        .filter_map(|e| Some((e.site.id.as_str(), e.monthly.as_ref()?.fetched_at)))
        .collect();
    let _ = writeln!(out, "<h2>Plan usage ({})</h2>", rows.len());
    let _ = writeln!(
        out,
        "<p>{}; watch at {}% of the allowance. Each site's monthly series is fetched once a day (UTC) with its refresh.{}</p>",
        escape(usage::PROJECTION_NOTE),
        (plan.watch * 1000.0).round() / 10.0,
        if waiting > 0 {
            format!(" {waiting} site(s) wait for their monthly series.")
        } else {
            String::new()
        }
    );
    out.push_str("<table><tr><th>account</th><th>site</th><th>plan</th><th>allowance</th><th>month to date</th><th>projected</th><th>projected %</th><th>months over this year</th><th>status</th><th>as of</th></tr>\n");
    let dash = || "-".to_string();
    for row in &rows {
        let u = &row.usage;
        let class = match u.status {
            Status::Over | Status::ProjectedOver => " class=\"down\"",
            Status::Watch => " class=\"warn\"",
            Status::Ok => " class=\"up\"",
            Status::Unknown => "",
        };
        let as_of = fetched
            .get(row.site.id.as_str())
            .map(|t| format_rfc3339(*t))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td{class}>{}</td><td>{}</td></tr>",
            escape(&row.account),
            escape(&row.site.name),
            escape(&row.site.plan),
            u.allowance.map_or_else(dash, |a| a.to_string()),
            u.month_to_date,
            u.projected,
            u.projected_percent()
                .map_or_else(dash, |p| format!("{p:.1}%")),
            u.months_over.map_or_else(dash, |m| m.to_string()),
            u.status,
            as_of
        );
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{DAY_SECONDS, Day, Site};
    use crate::serve::{Settings, Telemetry};

    #[test]
    fn plan_usage_table_is_escaped_and_most_at_risk_first() {
        let plan = PlanUsage {
            allowances: Arc::new(
                crate::allowances::Allowances::parse(
                    "sites:\n  calm: 100000\n  busy: 1000\n",
                    "a.yml",
                )
                .unwrap(),
            ),
            watch: 0.8,
        };
        let shared = Shared::new(
            Settings {
                usage: Some(plan),
                ..Settings::default()
            },
            Arc::new(Telemetry::new()),
            vec![],
        );
        let now = 1_763_164_800 + 3600; // 2025-11-15 01:00 UTC
        {
            let mut store = lock(&shared.store);
            for (name, label) in [
                ("calm", "Calm"),
                ("busy", "<script>x</script>"),
                ("new", "N"),
            ] {
                store.upsert_site(
                    Arc::from("ops@example.com"),
                    1,
                    Arc::new(Site {
                        id: format!("id-{name}"),
                        name: name.into(),
                        label: label.into(),
                        plan: "<b>Basic</b>".into(),
                        ..Site::default()
                    }),
                );
                let days: Vec<Day> = (1..=8)
                    .map(|k| Day {
                        timestamp: 1_763_164_800 - k * DAY_SECONDS,
                        visits: 500,
                        ..Day::default()
                    })
                    .collect();
                store.record_fetch(&format!("id-{name}"), &days, true, now);
            }
            for name in ["calm", "busy"] {
                let months = [Day {
                    timestamp: 1_761_955_200,
                    visits: 7_000,
                    ..Day::default()
                }];
                store.record_monthly(&format!("id-{name}"), &months, now);
            }
        }
        let page = render(&shared);
        let table = &page[page.find("<h2>Plan usage (2)</h2>").expect(&page)..];
        assert!(
            table.contains("1 site(s) wait for their monthly series"),
            "{table}"
        );
        let busy = table.find("<td>busy</td>").unwrap();
        let calm = table.find("<td>calm</td>").unwrap();
        assert!(busy < calm, "most at risk first: {table}");
        assert!(table.contains("&lt;b&gt;Basic&lt;/b&gt;"), "{table}");
        assert!(!page.contains("<b>Basic</b>"), "escaped everywhere");
        assert!(!page.contains("<script>"));
        assert!(table.contains("<td class=\"down\">over</td>"), "{table}");
        assert!(table.contains("<td class=\"up\">ok</td>"), "{table}");
    }
}
