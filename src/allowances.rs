//! Plan allowances: the monthly visits each site may have, from a YAML file the user keeps.
//!
//! Pantheon changes its plans and prices, so the project ships no numbers as facts: the
//! file maps plan names (as the API reports them) and single sites (by name or id, for
//! contract and Elite plans) to monthly visits. A site whose plan is not in the file has no
//! allowance, which every output shows as unknown, never as 0.
//!
//! ```yaml
//! plans:
//!   Basic: 25000
//!   Performance Small: 35000
//!   Sandbox: ~            # listed, but no allowance
//! sites:
//!   acme-shop: 120000     # a negotiated number, by site name
//! ```
//!
//! The file is checked whole before any API request: a malformed file, an unknown key, a
//! negative or non-integer number, or two plan names that mean the same plan is an error
//! naming the file, the line and what is wrong.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::model::Site;

/// The environment variable naming the allowances file.
pub const ALLOWANCES_ENV: &str = "PANTHEON_ALLOWANCES_FILE";

/// The allowances the `--demo` shows, chosen with the demo's traffic so that every status
/// appears (see `FakeConfig::demo`).
pub const DEMO_ALLOWANCES: &str = include_str!("usage/demo-allowances.yml");

/// Why an allowances file was refused.
#[derive(Debug, thiserror::Error)]
pub enum AllowanceError {
    #[error("cannot read the allowances file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// `line` is 1-based; 0 when the parser could not tell.
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

/// Monthly visits per plan and per site.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowances {
    /// Keyed by [`plan_key`]; `None`: listed without a number (no allowance).
    plans: HashMap<String, Option<u64>>,
    /// Keyed by site name or lowercase id, as written.
    sites: HashMap<String, Option<u64>>,
}

impl Allowances {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Allowances, AllowanceError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AllowanceError::Read {
            path: shown.clone(),
            source,
        })?;
        Allowances::parse(&text, &shown)
    }

    /// The allowances embedded for `--demo`.
    pub fn demo() -> Allowances {
        Allowances::parse(DEMO_ALLOWANCES, "demo-allowances.yml")
            .expect("the embedded demo allowances are valid")
    }

    /// Parses the YAML `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Allowances, AllowanceError> {
        let invalid = |line: usize, message: String| AllowanceError::Invalid {
            path: origin.to_string(),
            line,
            message,
        };
        if text.trim().is_empty() {
            // An empty document is no mapping at all; say so rather than a parser message.
            return Err(invalid(
                1,
                "the file is empty: expected `plans:` and/or `sites:`".into(),
            ));
        }
        let file: FileDoc = serde_yaml_ng::from_str(text).map_err(|e| {
            let line = e.location().map_or(0, |l| l.line());
            invalid(line, strip_location(&e.to_string()))
        })?;
        let plans = file
            .plans
            .0
            .into_iter()
            .map(|e| (plan_key(&e.key), e.visits));
        let sites = file
            .sites
            .0
            .into_iter()
            .map(|e| (site_key(&e.key), e.visits));
        Ok(Allowances {
            plans: plans.collect(),
            sites: sites.collect(),
        })
    }

    /// The monthly visits `site` may have: its own entry (by id, then by name) when it has
    /// one, else its plan's; `None` when neither is known.
    ///
    /// ```
    /// use pantheon_metrics::allowances::Allowances;
    /// use pantheon_metrics::model::Site;
    /// let a = Allowances::parse("plans:\n  performance_small: 35000\nsites:\n  big: 90000\n", "a.yml").unwrap();
    /// let site = |name: &str, plan: &str| Site { name: name.into(), plan: plan.into(), ..Site::default() };
    /// assert_eq!(a.for_site(&site("x", "Performance Small")), Some(35000));
    /// assert_eq!(a.for_site(&site("big", "Performance Small")), Some(90000));
    /// assert_eq!(a.for_site(&site("x", "Elite")), None);
    /// ```
    pub fn for_site(&self, site: &Site) -> Option<u64> {
        let by_site = self
            .sites
            .get(&site_key(&site.id))
            .or_else(|| self.sites.get(&site_key(&site.name)));
        match by_site {
            Some(visits) => *visits,
            None => self.plans.get(&plan_key(&site.plan)).copied().flatten(),
        }
    }

    /// True when the file gives no number at all (every site will be unknown).
    pub fn is_empty(&self) -> bool {
        self.plans
            .values()
            .chain(self.sites.values())
            .all(Option::is_none)
    }
}

/// A plan name reduced to what identifies it: lowercase, without spaces, underscores or
/// dashes, since the API spells the same plan `Performance Small` and `performance_small`.
///
/// ```
/// use pantheon_metrics::allowances::plan_key;
/// assert_eq!(plan_key("Performance Small"), plan_key("performance_small"));
/// assert_eq!(plan_key(" ELITE "), "elite");
/// ```
pub fn plan_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Site names are slugs and ids UUIDs: both compared trimmed and lowercase.
fn site_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// serde_yaml_ng appends ` at line L column C`; the line is shown in front instead.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    plans: Entries<true>,
    #[serde(default)]
    sites: Entries<false>,
}

struct Entry {
    key: String,
    visits: Option<u64>,
}

/// A mapping of plan names (`PLANS`) or site names to visits, in file order. Duplicates
/// are refused here, while the parser still knows the line.
#[derive(Default)]
struct Entries<const PLANS: bool>(Vec<Entry>);

impl<'de, const PLANS: bool> Deserialize<'de> for Entries<PLANS> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries<PLANS>, D::Error> {
        struct EntriesVisitor<const PLANS: bool>;
        impl<'de, const PLANS: bool> Visitor<'de> for EntriesVisitor<PLANS> {
            type Value = Entries<PLANS>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names to monthly visits")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Entries<PLANS>, E> {
                Ok(Entries(Vec::new()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<PLANS>, A::Error> {
                let mut entries = Vec::new();
                let mut seen: HashMap<String, String> = HashMap::new();
                while let Some(key) = map.next_key_seed(KeySeed::<PLANS>(&mut seen))? {
                    let visits: Visits = map.next_value_seed(VisitsSeed(&key))?;
                    entries.push(Entry {
                        key,
                        visits: visits.0,
                    });
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_any(EntriesVisitor::<PLANS>)
    }
}

/// Reads a name and refuses an empty one or a repeat. The check runs inside the visitor,
/// where the parser still points at the key's own line.
struct KeySeed<'a, const PLANS: bool>(&'a mut HashMap<String, String>);

impl<'de, const PLANS: bool> de::DeserializeSeed<'de> for KeySeed<'_, PLANS> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<const PLANS: bool> KeySeed<'_, PLANS> {
    fn check<E: de::Error>(self, key: String) -> Result<String, E> {
        let normal = if PLANS {
            plan_key(&key)
        } else {
            site_key(&key)
        };
        if normal.is_empty() {
            return Err(E::custom("an empty name"));
        }
        if let Some(first) = self.0.insert(normal, key.clone()) {
            return Err(E::custom(if PLANS {
                format!(
                    "{key:?} is the same plan as {first:?} (plan names are matched ignoring \
                     case, spaces, underscores and dashes)"
                )
            } else {
                format!("{key:?} is listed twice")
            }));
        }
        Ok(key)
    }
}

impl<const PLANS: bool> Visitor<'_> for KeySeed<'_, PLANS> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if PLANS {
            "a plan name"
        } else {
            "a site name or id"
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        self.check(v.to_string())
    }
}

/// Monthly visits: a whole number ≥ 0, or `~`/nothing for "no allowance".
struct Visits(Option<u64>);

struct VisitsSeed<'a>(&'a str);

impl<'de> de::DeserializeSeed<'de> for VisitsSeed<'_> {
    type Value = Visits;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Visits, D::Error> {
        deserializer.deserialize_any(VisitsVisitor(self.0))
    }
}

struct VisitsVisitor<'a>(&'a str);

impl VisitsVisitor<'_> {
    fn refuse<E: de::Error>(&self, what: fmt::Arguments<'_>) -> E {
        E::custom(format_args!(
            "{:?}: {what}; monthly visits must be a whole number of 0 or more, or ~ for none",
            self.0
        ))
    }
}

impl<'de> Visitor<'de> for VisitsVisitor<'_> {
    type Value = Visits;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number of monthly visits")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Visits, E> {
        Ok(Visits(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Visits, E> {
        Ok(Visits(None))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Visits, E> {
        Ok(Visits(Some(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Visits, E> {
        u64::try_from(v)
            .map(|v| Visits(Some(v)))
            .map_err(|_| self.refuse(format_args!("{v} is negative")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Visits, E> {
        Err(self.refuse(format_args!("{v} is not a whole number")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Visits, E> {
        Err(self.refuse(format_args!("{v:?} is not a number")))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Visits, E> {
        Err(self.refuse(format_args!("{v} is not a number")))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<Visits, A::Error> {
        Err(self.refuse(format_args!("a mapping is not a number")))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<Visits, A::Error> {
        Err(self.refuse(format_args!("a list is not a number")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str, id: &str, plan: &str) -> Site {
        Site {
            name: name.into(),
            id: id.into(),
            plan: plan.into(),
            ..Site::default()
        }
    }

    fn error(text: &str) -> (usize, String) {
        match Allowances::parse(text, "a.yml") {
            Err(AllowanceError::Invalid {
                path,
                line,
                message,
            }) => {
                assert_eq!(path, "a.yml");
                (line, message)
            }
            other => panic!("expected an error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn plans_match_ignoring_case_spaces_and_underscores() {
        let a = Allowances::parse(
            "plans:\n  Performance Small: 35000\n  BASIC: 25000\n  Sandbox: ~\n",
            "a.yml",
        )
        .unwrap();
        for plan in [
            "Performance Small",
            "performance_small",
            "PERFORMANCE-SMALL",
            "performancesmall",
        ] {
            assert_eq!(a.for_site(&site("s", "1", plan)), Some(35000), "{plan}");
        }
        assert_eq!(a.for_site(&site("s", "1", "basic")), Some(25000));
        assert_eq!(
            a.for_site(&site("s", "1", "Sandbox")),
            None,
            "listed without a number"
        );
        assert_eq!(a.for_site(&site("s", "1", "Elite")), None, "not listed");
        assert_eq!(a.for_site(&site("s", "1", "")), None, "no plan at all");
    }

    #[test]
    fn a_site_entry_wins_over_its_plan_by_id_or_name() {
        let id = "3f2a9c1e-7b4d-4e8a-9c0f-1d2e3f4a5b6c";
        let a = Allowances::parse(
            &format!(
                "plans:\n  Elite: 100\nsites:\n  acme-shop: 900\n  {}: 700\n  no-cap: ~\n",
                id.to_uppercase()
            ),
            "a.yml",
        )
        .unwrap();
        assert_eq!(a.for_site(&site("acme-shop", "x", "Elite")), Some(900));
        assert_eq!(a.for_site(&site("other", id, "Elite")), Some(700));
        assert_eq!(
            a.for_site(&site("acme-shop", id, "Elite")),
            Some(700),
            "id first"
        );
        assert_eq!(
            a.for_site(&site("no-cap", "y", "Elite")),
            None,
            "~ overrides the plan"
        );
        assert_eq!(a.for_site(&site("plain", "z", "Elite")), Some(100));
    }

    #[test]
    fn zero_is_an_allowance_and_the_empty_sections_are_fine() {
        let a = Allowances::parse("plans:\n  Basic: 0\nsites:\n", "a.yml").unwrap();
        assert_eq!(a.for_site(&site("s", "1", "Basic")), Some(0));
        assert!(!a.is_empty());
        assert!(
            Allowances::parse("plans: {}\n", "a.yml")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_files_name_the_line_and_the_fault() {
        let (line, msg) = error("plans:\n  Basic: 25000\n  Performance Small: -5\n");
        assert_eq!(line, 3, "{msg}");
        assert!(
            msg.contains("\"Performance Small\"") && msg.contains("-5 is negative"),
            "{msg}"
        );

        let (line, msg) = error("plans:\n  Basic: 2.5e4\n");
        assert_eq!(line, 2, "{msg}");
        assert!(msg.contains("not a whole number"), "{msg}");

        let (line, msg) = error("plans:\n  Basic: lots\n");
        assert_eq!(line, 2, "{msg}");
        assert!(msg.contains("\"lots\" is not a number"), "{msg}");

        let (line, msg) = error("plans:\n  Basic: 1\nsite:\n  x: 2\n");
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("unknown field `site`"), "{msg}");

        let (line, msg) = error("plans:\n  Basic: [1\n");
        assert!(line >= 2, "{line}: {msg}");

        let (line, msg) = error("plans:\n  Basic: 1\n  basic: 2\n");
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("same plan"), "{msg}");

        let (line, msg) = error("plans:\n  Performance Small: 1\n  performance_small: 2\n");
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("same plan"), "{msg}");

        let (line, msg) = error("  \n");
        assert_eq!(line, 1);
        assert!(msg.contains("empty"), "{msg}");

        let (_, msg) = error("- Basic\n");
        assert!(!msg.is_empty());
    }

    #[test]
    fn the_demo_and_example_files_load() {
        assert!(!Allowances::demo().is_empty());
        let example = include_str!("../deploy/allowances.example.yml");
        let a = Allowances::parse(example, "allowances.example.yml").unwrap();
        // Shipped without numbers: every plan is listed, none is given a value.
        assert!(a.is_empty());
        for (plan, level) in crate::fake::DEMO_PLANS {
            for name in [plan, level] {
                assert!(
                    a.plans.contains_key(&plan_key(name)),
                    "{name} missing from the example"
                );
            }
        }
    }
}
