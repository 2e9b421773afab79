//! JSON output of the `fetch` and `sites` commands, for scripts (`jq`).
//!
//! The shapes are a public contract: exactly the documented keys, written in the
//! documented order, and absent data as `null` rather than a made-up zero.

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use super::families::FAMILIES;
use crate::model::{
    AccountSite, Day, SeriesOrder, SiteTraffic, format_date, format_rfc3339, sort_series,
};

#[derive(Serialize)]
struct TrafficOut<'a> {
    account: &'a str,
    site: SiteRef<'a>,
    environment: &'a str,
    points: Vec<Point<'a>>,
}

#[derive(Serialize)]
struct SiteRef<'a> {
    id: &'a str,
    name: &'a str,
    label: &'a str,
    plan: &'a str,
}

/// One day: `timestamp`, `date`, then each family's value under its key ([`FAMILIES`]
/// order), `null` where a family has no value that day.
struct Point<'a>(&'a Day);

impl Serialize for Point<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let day = self.0;
        let mut point = serializer.serialize_struct("Point", 2 + FAMILIES.len())?;
        point.serialize_field("timestamp", &day.timestamp)?;
        point.serialize_field("date", &format_date(day.timestamp))?;
        for family in &FAMILIES {
            point.serialize_field(family.key, &family.value(day))?;
        }
        point.end()
    }
}

#[derive(Serialize)]
struct SiteOut<'a> {
    account: &'a str,
    id: &'a str,
    name: &'a str,
    label: &'a str,
    plan: &'a str,
    framework: &'a str,
    region: &'a str,
    organization: &'a str,
    frozen: bool,
    created: String,
}

fn sorted<T: SeriesOrder>(items: &[T]) -> Vec<&T> {
    let mut sorted: Vec<&T> = items.iter().collect();
    sort_series(&mut sorted);
    sorted
}

/// Pretty-printed JSON array of the sites' traffic, sorted by account, name, id; ends in a
/// newline.
///
/// Each element: `{"account", "site": {"id","name","label","plan"}, "environment",
/// "points": [{"timestamp" (Unix seconds), "date" (YYYY-MM-DD, UTC), "visits",
/// "pages_served", "cache_hits", "cache_misses", "cache_hit_ratio" (percent, 2 decimals,
/// or null when nothing was served)}]}`, points oldest first.
pub fn traffic(sites: &[SiteTraffic]) -> String {
    let out: Vec<TrafficOut<'_>> = sorted(sites)
        .into_iter()
        .map(|t| TrafficOut {
            account: &t.account,
            site: SiteRef {
                id: &t.site.id,
                name: &t.site.name,
                label: &t.site.label,
                plan: &t.site.plan,
            },
            environment: &t.environment,
            points: t.days.iter().map(Point).collect(),
        })
        .collect();
    to_pretty(&out)
}

/// Pretty-printed JSON array of sites, sorted by account, name, id; ends in a newline.
///
/// Each element has exactly `account`, `id`, `name`, `label`, `plan`, `framework`,
/// `region`, `organization` (empty for user-held sites), `frozen` and `created`
/// (RFC 3339 UTC).
pub fn sites(sites: &[AccountSite]) -> String {
    let out: Vec<SiteOut<'_>> = sorted(sites)
        .into_iter()
        .map(|s| SiteOut {
            account: &s.account,
            id: &s.site.id,
            name: &s.site.name,
            label: &s.site.label,
            plan: &s.site.plan,
            framework: &s.site.framework,
            region: &s.site.region,
            organization: &s.site.organization,
            frozen: s.site.frozen,
            created: format_rfc3339(s.site.created),
        })
        .collect();
    to_pretty(&out)
}

fn to_pretty<T: Serialize>(value: &T) -> String {
    // Serializing plain structs of strings and numbers cannot fail.
    let mut s = serde_json::to_string_pretty(value).expect("JSON of plain data");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testutil::{self, HOSTILE_LABEL};
    use serde_json::{Value, json};

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    /// Pins the bytes (key order, number forms, escaping), which the checks below read
    /// only through a parser.
    #[test]
    fn golden_json() {
        let list: Vec<AccountSite> = testutil::sites()
            .into_iter()
            .map(|t| AccountSite {
                account: t.account,
                site: t.site,
            })
            .collect();
        testutil::assert_golden("traffic.json", &traffic(&testutil::sites()));
        testutil::assert_golden("sites.json", &sites(&list));
    }

    #[test]
    fn traffic_has_exact_keys_null_ratio_and_dates() {
        let out = traffic(&testutil::sites());
        assert!(out.ends_with("]\n"));
        let v: Value = serde_json::from_str(&out).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 2);
        let mut top = keys(&arr[0]);
        top.sort_unstable();
        assert_eq!(top, ["account", "environment", "points", "site"]);
        let mut site = keys(&arr[0]["site"]);
        site.sort_unstable();
        assert_eq!(site, ["id", "label", "name", "plan"]);

        // Sorted: agency@ (zeta-shop, hostile label intact) before ops@ (acme-blog).
        assert_eq!(arr[0]["site"]["label"], HOSTILE_LABEL);
        assert_eq!(arr[1]["account"], "ops@example.com");
        assert_eq!(arr[1]["environment"], "live");
        assert_eq!(
            arr[1]["points"],
            json!([
                {"timestamp": 1762560000, "date": "2025-11-08", "visits": 837, "pages_served": 3081,
                 "cache_hits": 119, "cache_misses": 2962, "cache_hit_ratio": 3.86},
                {"timestamp": 1762646400, "date": "2025-11-09", "visits": 0, "pages_served": 0,
                 "cache_hits": 0, "cache_misses": 0, "cache_hit_ratio": null},
                {"timestamp": 1762732800, "date": "2025-11-10", "visits": 900, "pages_served": 1000,
                 "cache_hits": 1000, "cache_misses": 0, "cache_hit_ratio": 100.0},
            ])
        );
        // Key order in the text is the documented one, for humans reading it.
        let point = out.find("\"timestamp\"").unwrap();
        assert!(out[point..].find("\"date\"") < out[point..].find("\"cache_hit_ratio\""));
        assert!(out.find("\"account\"") < out.find("\"points\""));
        assert_eq!(traffic(&[]), "[]\n");
    }

    #[test]
    fn sites_have_exact_keys_sorted_with_rfc3339() {
        let list: Vec<AccountSite> = testutil::sites()
            .into_iter()
            .map(|t| AccountSite {
                account: t.account,
                site: t.site,
            })
            .collect();
        let v: Value = serde_json::from_str(&sites(&list)).unwrap();
        let arr = v.as_array().unwrap();
        let mut k = keys(&arr[0]);
        k.sort_unstable();
        assert_eq!(
            k,
            [
                "account",
                "created",
                "framework",
                "frozen",
                "id",
                "label",
                "name",
                "organization",
                "plan",
                "region"
            ]
        );
        assert_eq!(arr[0]["name"], "zeta-shop");
        assert_eq!(arr[0]["frozen"], true);
        assert_eq!(arr[0]["created"], "2023-11-14T22:13:20Z");
        assert_eq!(
            arr[1],
            json!({
                "account": "ops@example.com", "id": "11111111-1111-1111-1111-111111111111",
                "name": "acme-blog", "label": "Acme Blog", "plan": "Basic", "framework": "wordpress",
                "region": "us", "organization": "", "frozen": false, "created": "2015-04-10T23:09:05Z"
            })
        );
    }
}
