//! The summary page at `/`: first what an operator checks (accounts up or down, sites with
//! errors, stale data or waiting out a rebuild, backfill progress, the last refresh), then
//! the accounts, plan usage and every site.
//!
//! One small self-contained document: inline CSS, no script and no external asset, so it
//! works with JavaScript off and behind any proxy; its tables stack into cards at phone
//! widths with CSS alone. Everything that comes from the API or the configuration is
//! escaped; the page is built per request from a snapshot of the store rather than under
//! its lock, and never fetches anything itself.

use std::fmt::Write;

use super::settings::PlanUsage;
use super::{AccountState, Shared, lock};
use crate::model::format_rfc3339;
use crate::render::html::escape;
use crate::store::SiteEntry;
use crate::usage::{self, Status};

/// Rows of the "Needs attention" table at most; the sites table below lists them all.
const ATTENTION_ROWS: usize = 20;

/// The stylesheet. At narrow widths each table row becomes a wrapping card whose cells say
/// what they are (`data-l`), so nothing scrolls sideways on a phone.
const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;color:#222;margin:0 auto;padding:1em;max-width:90em}\
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.5em 0 .4em}.meta{color:#555;margin-top:0}\
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(15em,1fr));gap:.6em}\
.card{border:1px solid #ccc;border-left:.35em solid #999;border-radius:.3em;padding:.4em .7em}\
.card h2{font-size:.8em;margin:0;color:#555;text-transform:uppercase;letter-spacing:.04em}\
.card p{margin:.15em 0}.card.good{border-left-color:#070}.card.bad{border-left-color:#b00}.card.attn{border-left-color:#c80}\
.big{font-size:1.25em;font-weight:600}progress{width:100%}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}\
thead th{background:#eee}tbody tr:nth-child(even){background:#f8f8f8}td.t{font-weight:600}td.t,td.n,td.d{white-space:nowrap}td.n{text-align:right}\
.down{color:#b00;font-weight:600}.up{color:#070}.warn{color:#a60;font-weight:600}.dim{color:#666}\
@media (max-width:40em){body{padding:.5em}table,tbody,tr,td{display:block}thead{display:none}\
tr{display:flex;flex-wrap:wrap;gap:0 .9em;border:1px solid #ccc;border-radius:.3em;margin:.4em 0;padding:.3em .5em}\
td{border:0;padding:0;min-width:0;overflow-wrap:anywhere}td.t,td.n,td.d{white-space:normal}td.t,td.w{flex-basis:100%}td.n{text-align:left}\
td[data-l]::before{content:attr(data-l) \": \";color:#666;font-weight:400}}";

/// A site's state on the page, worst first (the order of the "Needs attention" table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SiteState {
    /// The last fetch failed and nothing succeeded for longer than the refresh interval.
    Stale,
    /// The last fetch failed; the data held is still recent.
    Error,
    /// All-zero answers held back (Pantheon rebuilding its daily metrics).
    Waiting,
    /// Not fetched yet.
    Pending,
    Ok,
}

impl SiteState {
    fn of(e: &SiteEntry, now: i64, max_age: i64) -> SiteState {
        if e.is_stale(now, max_age) {
            SiteState::Stale
        } else if e.last_error.is_some() {
            SiteState::Error
        } else if e.waiting().is_some() {
            SiteState::Waiting
        } else if e.last_refresh.is_none() {
            SiteState::Pending
        } else {
            SiteState::Ok
        }
    }

    /// The state's cell, coloured by its class.
    fn cell(self) -> &'static str {
        match self {
            SiteState::Stale => "<td data-l=\"state\" class=\"down\">stale</td>",
            SiteState::Error => "<td data-l=\"state\" class=\"down\">error</td>",
            SiteState::Waiting => "<td data-l=\"state\" class=\"warn\">waiting</td>",
            SiteState::Pending => "<td data-l=\"state\" class=\"dim\">pending</td>",
            SiteState::Ok => "<td data-l=\"state\" class=\"up\">ok</td>",
        }
    }
}

/// "12s ago", "4m ago", "3h ago", "2d ago": how old `t` is at `now`.
fn ago(now: i64, t: i64) -> String {
    let d = (now - t).max(0);
    match d {
        0..60 => format!("{d}s ago"),
        60..3600 => format!("{}m ago", d / 60),
        3600..86_400 => format!("{}h ago", d / 3600),
        _ => format!("{}d ago", d / 86_400),
    }
}

/// `t` as RFC 3339 with its age, or `never`.
fn when(now: i64, t: Option<i64>) -> String {
    t.map_or_else(
        || "never".into(),
        |t| format!("{} ({})", format_rfc3339(t), ago(now, t)),
    )
}

pub fn render(shared: &Shared) -> String {
    let s = &shared.settings;
    let mut out = String::with_capacity(24 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\"><title>pantheon-metrics · {}</title>\n<style>{STYLE}</style>\n",
        escape(&s.environment)
    );
    out.push_str("</head><body>\n<h1>pantheon-metrics exporter</h1>\n");
    let _ = writeln!(
        out,
        "<p class=\"meta\">Version {} · environment <b>{}</b> · history {} · refresh every {}s · <a href=\"/metrics\">/metrics</a></p>",
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

    // Only the snapshot is taken under the lock; everything below works on it.
    let sites = lock(&shared.store).snapshot().sites;
    let now = shared.clock.now();
    let max_age = s.refresh_interval.as_secs() as i64;
    let states: Vec<SiteState> = sites
        .iter()
        .map(|e| SiteState::of(e, now, max_age))
        .collect();
    let list_refresh = shared.telemetry.last_list_refresh.get() as i64;
    let list_refresh = (list_refresh > 0).then_some(list_refresh);

    overview(&mut out, &accounts, &sites, &states, now, list_refresh);
    attention(&mut out, &sites, &states, now);
    accounts_table(&mut out, &accounts);
    sites_table(&mut out, &sites, &states);
    if let Some(plan) = &s.usage {
        plan_usage(&mut out, &sites, plan);
    }
    out.push_str("</body></html>\n");
    out
}

/// The cards at the top: accounts, sites by state, backfill and the last refresh.
fn overview(
    out: &mut String,
    accounts: &[AccountState],
    sites: &[std::sync::Arc<SiteEntry>],
    states: &[SiteState],
    now: i64,
    list_refresh: Option<i64>,
) {
    out.push_str("<div class=\"cards\">\n");

    let up = accounts.iter().filter(|a| a.up == Some(true)).count();
    let loading = accounts.iter().filter(|a| a.up.is_none()).count();
    let down: Vec<&AccountState> = accounts.iter().filter(|a| a.up == Some(false)).collect();
    let class = match (down.len(), loading) {
        (0, 0) => "good",
        (0, _) => "attn",
        _ => "bad",
    };
    let _ = write!(
        out,
        "<section class=\"card {class}\" id=\"sum-accounts\"><h2>Accounts</h2><p class=\"big\">{up} of {} up</p>",
        accounts.len()
    );
    if loading > 0 {
        let _ = write!(out, "<p>{loading} loading</p>");
    }
    for a in &down {
        let _ = write!(out, "<p class=\"down\">down: {}</p>", escape(&a.name));
    }
    out.push_str("</section>\n");

    let count = |st: SiteState| states.iter().filter(|s| **s == st).count();
    let (stale, error, waiting, pending, ok) = (
        count(SiteState::Stale),
        count(SiteState::Error),
        count(SiteState::Waiting),
        count(SiteState::Pending),
        count(SiteState::Ok),
    );
    let class = if stale + error > 0 {
        "bad"
    } else if waiting + pending > 0 {
        "attn"
    } else {
        "good"
    };
    let _ = write!(
        out,
        "<section class=\"card {class}\" id=\"sum-sites\"><h2>Sites</h2><p class=\"big\">{ok} of {} ok</p>",
        sites.len()
    );
    for (n, what, class) in [
        (
            stale,
            "stale (failing longer than the refresh interval)",
            "down",
        ),
        (error, "with an error (data still recent)", "down"),
        (
            waiting,
            "waiting out a rebuild (all-zero answers held back)",
            "warn",
        ),
        (pending, "not fetched yet", "dim"),
    ] {
        if n > 0 {
            let _ = write!(out, "<p class=\"{class}\">{n} {what}</p>");
        }
    }
    out.push_str("</section>\n");

    let done = sites.iter().filter(|e| e.backfilled).count();
    let total = sites.len();
    let class = if done == total { "good" } else { "attn" };
    let _ = writeln!(
        out,
        "<section class=\"card {class}\" id=\"sum-backfill\"><h2>Backfill</h2><p class=\"big\">{done} of {total} sites</p>\
         <progress value=\"{done}\" max=\"{}\">{done} of {total}</progress><p>{}</p></section>",
        total.max(1),
        if done == total {
            "every site's full history is held"
        } else {
            "sites whose full history is still being fetched"
        }
    );

    let newest = sites.iter().filter_map(|e| e.last_refresh).max();
    let oldest = sites.iter().filter_map(|e| e.last_refresh).min();
    let _ = writeln!(
        out,
        "<section class=\"card\" id=\"sum-refresh\"><h2>Last refresh</h2><p class=\"big\">{}</p>\
         <p>oldest site: {}</p><p>site lists: {}</p></section>",
        newest.map_or_else(|| "never".into(), |t| ago(now, t)),
        when(now, oldest),
        when(now, list_refresh)
    );
    out.push_str("</div>\n");
}

/// The sites that are not fine (stale, failing or waiting), worst first, at most
/// [`ATTENTION_ROWS`] of them; nothing when every site is ok or pending.
fn attention(
    out: &mut String,
    sites: &[std::sync::Arc<SiteEntry>],
    states: &[SiteState],
    now: i64,
) {
    let mut rows: Vec<(SiteState, &SiteEntry)> = states
        .iter()
        .zip(sites)
        .filter(|(st, _)| **st < SiteState::Pending)
        .map(|(st, e)| (*st, &**e))
        .collect();
    if rows.is_empty() {
        return;
    }
    rows.sort_by_key(|(st, _)| *st);
    let _ = writeln!(out, "<h2>Needs attention ({})</h2>", rows.len());
    out.push_str("<table id=\"attention\"><thead><tr><th>site</th><th>account</th><th>state</th><th>last refresh</th><th>why</th></tr></thead><tbody>\n");
    for (st, e) in rows.iter().take(ATTENTION_ROWS) {
        let _ = writeln!(
            out,
            "<tr><td class=\"t\">{}</td><td data-l=\"account\" class=\"d\">{}</td>{}<td data-l=\"last refresh\" class=\"d\">{}</td><td class=\"w\">{}</td></tr>",
            escape(&e.site.name),
            escape(&e.account),
            st.cell(),
            when(now, e.last_refresh),
            escape(e.last_error.as_deref().or(e.waiting()).unwrap_or(""))
        );
    }
    out.push_str("</tbody></table>\n");
    if rows.len() > ATTENTION_ROWS {
        let _ = writeln!(
            out,
            "<p>… and {} more: see every site below.</p>",
            rows.len() - ATTENTION_ROWS
        );
    }
}

fn accounts_table(out: &mut String, accounts: &[AccountState]) {
    out.push_str("<h2>Accounts</h2>\n<table id=\"accounts\"><thead><tr><th>account</th><th>state</th><th>sites</th><th>last error</th></tr></thead><tbody>\n");
    for a in accounts {
        let state = match a.up {
            None => "<td data-l=\"state\" class=\"dim\">loading</td>",
            Some(true) => "<td data-l=\"state\" class=\"up\">up</td>",
            Some(false) => "<td data-l=\"state\" class=\"down\">down</td>",
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"t\">{}</td>{state}<td data-l=\"sites\">{}</td><td class=\"w\">{}</td></tr>",
            escape(&a.name),
            a.sites,
            escape(a.last_error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody></table>\n");
}

fn sites_table(out: &mut String, sites: &[std::sync::Arc<SiteEntry>], states: &[SiteState]) {
    let _ = writeln!(out, "<h2>Sites ({})</h2>", sites.len());
    out.push_str("<table id=\"sites\"><thead><tr><th>site</th><th>label</th><th>account</th><th>state</th><th>plan</th><th>days held</th><th>last refresh</th><th>last error</th></tr></thead><tbody>\n");
    for (e, st) in sites.iter().zip(states) {
        let _ = writeln!(
            out,
            "<tr><td class=\"t\">{}</td><td class=\"w\">{}</td><td data-l=\"account\" class=\"d\">{}</td>{}<td data-l=\"plan\">{}</td><td data-l=\"days\" class=\"n\">{}</td><td data-l=\"refreshed\" class=\"d\">{}</td><td class=\"w\">{}</td></tr>",
            escape(&e.site.name),
            escape(&e.site.label),
            escape(&e.account),
            st.cell(),
            escape(&e.site.plan),
            e.days.len(),
            e.last_refresh
                .map(format_rfc3339)
                .unwrap_or_else(|| "never".into()),
            escape(e.last_error.as_deref().or(e.waiting()).unwrap_or(""))
        );
    }
    out.push_str("</tbody></table>\n");
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
    out.push_str("<table id=\"usage\"><thead><tr><th>site</th><th>account</th><th>plan</th><th>allowance</th><th>month to date</th><th>projected</th><th>projected %</th><th>months over this year</th><th>status</th><th>as of</th></tr></thead><tbody>\n");
    let dash = || "-".to_string();
    for row in &rows {
        let u = &row.usage;
        let class = match u.status {
            Status::Over | Status::ProjectedOver => " class=\"down\"",
            Status::Watch => " class=\"warn\"",
            Status::Ok => " class=\"up\"",
            Status::Unknown => " class=\"dim\"",
        };
        let as_of = fetched
            .get(row.site.id.as_str())
            .map(|t| format_rfc3339(*t))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td class=\"t\">{}</td><td data-l=\"account\" class=\"d\">{}</td><td data-l=\"plan\">{}</td><td data-l=\"allowance\" class=\"n\">{}</td><td data-l=\"month to date\" class=\"n\">{}</td><td data-l=\"projected\" class=\"n\">{}</td><td data-l=\"projected %\" class=\"n\">{}</td><td data-l=\"months over\" class=\"n\">{}</td><td data-l=\"status\"{class}>{}</td><td data-l=\"as of\" class=\"d\">{}</td></tr>",
            escape(&row.site.name),
            escape(&row.account),
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
    out.push_str("</tbody></table>\n");
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
        let busy = table.find("<td class=\"t\">busy</td>").unwrap();
        let calm = table.find("<td class=\"t\">calm</td>").unwrap();
        assert!(busy < calm, "most at risk first: {table}");
        assert!(table.contains("&lt;b&gt;Basic&lt;/b&gt;"), "{table}");
        assert!(!page.contains("<b>Basic</b>"), "escaped everywhere");
        assert!(!page.contains("<script>"));
        assert!(
            table.contains("<td data-l=\"status\" class=\"down\">over</td>"),
            "{table}"
        );
        assert!(
            table.contains("<td data-l=\"status\" class=\"up\">ok</td>"),
            "{table}"
        );
    }

    /// The part of `page` from `start` to the next `end`.
    fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
        let from = page
            .find(start)
            .unwrap_or_else(|| panic!("no {start}: {page}"));
        let rest = &page[from..];
        &rest[..rest.find(end).unwrap_or(rest.len())]
    }

    #[test]
    fn overview_counts_states_and_lists_the_sites_in_trouble_worst_first() {
        let shared = Shared::new(
            Settings::default(),
            Arc::new(Telemetry::new()),
            vec![
                AccountState {
                    index: 0,
                    name: "ops@example.com".into(),
                    up: Some(true),
                    sites: 5,
                    last_error: None,
                },
                AccountState {
                    index: 1,
                    name: "<i>evil</i>@example.com".into(),
                    up: Some(false),
                    sites: 0,
                    last_error: Some("HTTP 401 <b>no</b>".into()),
                },
            ],
        );
        let now = shared.clock.now();
        let today = now - now.rem_euclid(DAY_SECONDS);
        let days = |visits: u64| -> Vec<Day> {
            (1..=3)
                .map(|k| Day {
                    timestamp: today - k * DAY_SECONDS,
                    visits,
                    ..Day::default()
                })
                .collect()
        };
        {
            let mut store = lock(&shared.store);
            for name in ["fine", "failing", "dead", "rebuilt", "fresh"] {
                store.upsert_site(
                    Arc::from("ops@example.com"),
                    0,
                    Arc::new(Site {
                        id: format!("id-{name}"),
                        name: name.into(),
                        label: format!("<{name}>"),
                        plan: "Basic".into(),
                        ..Site::default()
                    }),
                );
            }
            store.record_fetch("id-fine", &days(5), true, now - 60);
            store.record_fetch("id-failing", &days(5), true, now - 60);
            store.record_error("id-failing", "HTTP 500 <boom>".into());
            store.record_error("id-dead", "HTTP 403 forbidden".into());
            store.record_fetch("id-rebuilt", &days(0), true, now - 60);
        }
        let page = render(&shared);
        assert!(!page.contains("<i>") && !page.contains("<b>no") && !page.contains("<boom>"));
        assert!(!page.contains("<script"), "no script: {page}");

        let accounts = between(&page, "id=\"sum-accounts\"", "</section>");
        assert!(accounts.contains("1 of 2 up"), "{accounts}");
        assert!(
            accounts.contains("down: &lt;i&gt;evil&lt;/i&gt;@example.com"),
            "{accounts}"
        );
        assert!(
            page.contains("<section class=\"card bad\" id=\"sum-accounts\">"),
            "{accounts}"
        );

        let sites = between(&page, "id=\"sum-sites\"", "</section>");
        assert!(sites.contains("1 of 5 ok"), "{sites}");
        for line in [
            "1 stale",
            "1 with an error",
            "1 waiting out a rebuild",
            "1 not fetched yet",
        ] {
            assert!(sites.contains(line), "{line}: {sites}");
        }

        let backfill = between(&page, "id=\"sum-backfill\"", "</section>");
        assert!(backfill.contains("2 of 5 sites"), "{backfill}");
        assert!(
            backfill.contains("<progress value=\"2\" max=\"5\">"),
            "{backfill}"
        );

        let refresh = between(&page, "id=\"sum-refresh\"", "</section>");
        assert!(refresh.contains("<p class=\"big\">1m ago</p>"), "{refresh}");
        assert!(refresh.contains("site lists: never"), "{refresh}");

        let attention = between(&page, "<h2>Needs attention (3)</h2>", "</table>");
        let order: Vec<usize> = ["dead", "failing", "rebuilt"]
            .iter()
            .map(|n| {
                attention
                    .find(&format!("<td class=\"t\">{n}</td>"))
                    .unwrap_or_else(|| panic!("{n} in {attention}"))
            })
            .collect();
        assert!(order.is_sorted(), "worst first: {attention}");
        assert!(!attention.contains(">fine<") && !attention.contains(">fresh<"));
        assert!(attention.contains("HTTP 500 &lt;boom&gt;"), "{attention}");
        assert!(
            attention.contains("Pantheon may be rebuilding"),
            "{attention}"
        );

        let table = between(&page, "<h2>Sites (5)</h2>", "</table>");
        for (name, state) in [
            ("fine", "ok"),
            ("failing", "error"),
            ("dead", "stale"),
            ("rebuilt", "waiting"),
            ("fresh", "pending"),
        ] {
            let row = between(table, &format!("<td class=\"t\">{name}</td>"), "</tr>");
            assert!(
                row.contains(&format!("\">{state}</td>")),
                "{name} is {state}: {row}"
            );
            assert!(
                row.contains(&format!("&lt;{name}&gt;")),
                "label escaped: {row}"
            );
        }
    }

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        assert_eq!(ago(100, 100), "0s ago");
        assert_eq!(ago(159, 100), "59s ago");
        assert_eq!(ago(3_700, 100), "1h ago");
        assert_eq!(ago(400, 100), "5m ago");
        assert_eq!(ago(100 + 3 * 86_400, 100), "3d ago");
        assert_eq!(
            ago(100, 200),
            "0s ago",
            "a clock step back is no negative age"
        );
    }
}
