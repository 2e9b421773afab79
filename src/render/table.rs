//! Terminal tables of the `fetch` and `sites` commands.
//!
//! Site labels are set by whoever owns the site, so every text cell goes through
//! [`sanitize`]: a label must not be able to forge table lines or send terminal escape
//! sequences. Tables have a fixed layout (no terminal-width arrangement) so output is the
//! same in a pipe, a test and a terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use super::families::{DayValue, FAMILIES};
use crate::model::{AccountSite, SiteTraffic, format_date, sort_series};

/// Shows control characters and invisible reordering/line-separator characters as
/// escapes (`\n`, `\t`, `\r`, `\u{1b}`, `\u{202e}`); everything else, including other
/// non-ASCII, is kept as is.
///
/// ```
/// use pantheon_metrics::render::table::sanitize;
/// assert_eq!(sanitize("Acme\n\u{1b}[31mBlog"), "Acme\\n\\u{1b}[31mBlog");
/// assert_eq!(sanitize("Über ☃"), "Über ☃");
/// ```
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200e}' | '\u{200f}'          // left-to-right / right-to-left marks
            | '\u{2028}' | '\u{2029}'        // line / paragraph separators
            | '\u{202a}'..='\u{202e}'        // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
        )
}

fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    table
}

/// `Date`, then one column per family of [`FAMILIES`].
fn traffic_header() -> [&'static str; 1 + FAMILIES.len()] {
    std::array::from_fn(|i| {
        if i == 0 {
            "Date"
        } else {
            FAMILIES[i - 1].column
        }
    })
}

/// A count as is, a percentage with 2 decimals (`3.86%`), no value as `--`.
fn cell(value: Option<DayValue>) -> String {
    match value {
        Some(DayValue::Count(n)) => n.to_string(),
        Some(DayValue::Percent(p)) => format!("{p:.2}%"),
        None => "--".to_string(),
    }
}

/// Per site (sorted by account, name, id) a header line
/// `name (label) · account A · plan P · env E` and a table of its days, oldest first;
/// sites separated by a blank line. The hit ratio reads `3.86%`, or `--` when nothing was
/// served that day.
pub fn traffic(sites: &[SiteTraffic]) -> String {
    let mut sorted: Vec<&SiteTraffic> = sites.iter().collect();
    sort_series(&mut sorted);
    let mut out = String::new();
    for (i, t) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{} ({}) · account {} · plan {} · env {}",
            sanitize(&t.site.name),
            sanitize(&t.site.label),
            sanitize(&t.account),
            sanitize(&t.site.plan),
            sanitize(&t.environment),
        );
        if t.days.is_empty() {
            out.push_str("(no traffic data)\n");
            continue;
        }
        let header = traffic_header();
        let mut table = new_table(&header);
        for day in &t.days {
            let mut row = vec![format_date(day.timestamp)];
            row.extend(FAMILIES.iter().map(|f| cell(f.value(day))));
            table.add_row(row);
        }
        for index in 1..header.len() {
            if let Some(column) = table.column_mut(index) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        let _ = writeln!(out, "{table}");
    }
    out
}

/// One table of sites sorted by account, name, id, with columns account, name, label,
/// plan, framework, region, id.
pub fn sites(sites: &[AccountSite]) -> String {
    let mut sorted: Vec<&AccountSite> = sites.iter().collect();
    sort_series(&mut sorted);
    let mut table = new_table(&[
        "Account",
        "Name",
        "Label",
        "Plan",
        "Framework",
        "Region",
        "ID",
    ]);
    for AccountSite { account, site } in sorted {
        table.add_row(
            [
                &**account,
                &site.name,
                &site.label,
                &site.plan,
                &site.framework,
                &site.region,
                &site.id,
            ]
            .map(|cell| sanitize(cell).into_owned()),
        );
    }
    format!("{table}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testutil::{self, hostile_string};
    use proptest::prelude::*;

    #[test]
    fn traffic_table_formats_ratios_and_sanitizes_labels() {
        let out = traffic(&testutil::sites());
        testutil::assert_golden("traffic.txt", &out);
        assert!(out.contains(" 3.86% "));
        assert!(out.contains(" 100.00% "));
        assert!(out.contains(" -- "));
        assert!(out.contains(
            "zeta-shop (Zeta \"Shop\" \\ <script>alert(1)</script>\\nÜber ☃) · account agency@example.com"
        ));
        // Blank line between the two sites only.
        assert_eq!(out.matches("\n\n").count(), 1);
    }

    #[test]
    fn traffic_table_right_aligns_numbers() {
        let out = traffic(&testutil::sites());
        let row = out
            .lines()
            .find(|l| l.contains("2025-11-09") && l.contains("--"))
            .unwrap();
        // Narrow values sit at the right edge of their columns.
        let cells: Vec<&str> = row.split(['│', '┆']).collect();
        assert_eq!(cells.len(), 8);
        for cell in &cells[2..cells.len() - 1] {
            assert!(cell.ends_with("0 ") || cell.ends_with("-- "), "{cell:?}");
            assert!(cell.starts_with("  "), "{cell:?}");
        }
    }

    #[test]
    fn site_without_days_says_so() {
        let mut sites = testutil::sites();
        sites[0].days.clear();
        assert!(traffic(&sites).contains("env live\n(no traffic data)\n"));
        assert_eq!(traffic(&[]), "");
    }

    #[test]
    fn sites_table_is_sorted_and_sanitized() {
        let list: Vec<AccountSite> = testutil::sites()
            .into_iter()
            .map(|t| AccountSite {
                account: t.account,
                site: t.site,
            })
            .collect();
        let out = sites(&list);
        testutil::assert_golden("sites.txt", &out);
        assert!(out.find("zeta-shop") < out.find("acme-blog"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn hostile_strings_never_break_lines_or_emit_escapes(hostile in hostile_string()) {
            let clean = sanitize(&hostile);
            prop_assert!(!clean.chars().any(needs_escape), "{:?} -> {:?}", hostile, clean);
            let mut all = testutil::sites();
            let mut site = (*all[0].site).clone();
            site.label = hostile.clone();
            site.plan = hostile.clone();
            all[0].site = site.into();
            all[0].environment = hostile.as_str().into();
            let sites_list: Vec<AccountSite> = all
                .iter()
                .map(|t| AccountSite {
                    account: t.account.clone(),
                    site: t.site.clone(),
                })
                .collect();
            let (traffic_out, sites_out) = (traffic(&all), sites(&sites_list));
            // Line count does not depend on the label: 2 sites x (header + 7 table lines)
            // + separator, and 2 rows + 5 frame lines.
            for (out, expected_lines) in [(traffic_out, 17), (sites_out, 6)] {
                prop_assert!(
                    !out.chars().any(|c| c != '\n' && needs_escape(c)),
                    "{:?}", out
                );
                prop_assert_eq!(out.lines().count(), expected_lines, "{}", out);
            }
        }
    }
}
