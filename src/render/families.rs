//! The five traffic gauges of the exposition contract, in one table.
//!
//! Each [`Family`] owns its metric name, its `# HELP` text, its JSON key, its table column
//! and how its value comes from a [`Day`], so the Prometheus, OpenMetrics, JSON and table
//! renderers and the remote-write planner all read the same row and cannot drift apart.

use serde::{Serialize, Serializer};

use crate::model::Day;

/// One family's value on one day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DayValue {
    /// A counter of the day (visits, pages served, …), written as an integer.
    Count(u64),
    /// A percentage rounded to 2 decimals (the cache hit ratio).
    Percent(f64),
}

impl DayValue {
    /// The value as a float, as remote write sends it.
    pub fn as_f64(self) -> f64 {
        match self {
            DayValue::Count(n) => n as f64,
            DayValue::Percent(p) => p,
        }
    }
}

/// JSON: a count is an integer, a percentage a float (`100.0`, `3.86`).
impl Serialize for DayValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            DayValue::Count(n) => serializer.serialize_u64(n),
            DayValue::Percent(p) => serializer.serialize_f64(p),
        }
    }
}

/// One metric family of the exposition contract.
///
/// Only [`FAMILIES`] makes them: the value function is private so that the table stays the
/// one place that maps a family to a [`Day`] field.
#[derive(Clone, Copy, Debug)]
pub struct Family {
    /// Metric name, e.g. `pantheon_visits`.
    pub name: &'static str,
    /// `# HELP` text (needs no escaping in either format).
    pub help: &'static str,
    /// Key of the value in a JSON point, e.g. `visits`.
    pub key: &'static str,
    /// Column header in the traffic table, e.g. `Visits`.
    pub column: &'static str,
    value: fn(&Day) -> Option<DayValue>,
}

impl Family {
    /// The family's value on `day`; `None` when the family has no sample that day (a hit
    /// ratio when nothing was served: 0/0 is "no data", not zero).
    pub fn value(&self, day: &Day) -> Option<DayValue> {
        (self.value)(day)
    }
}

/// The five gauges, in the order they are exposed (and the order of JSON keys and table
/// columns).
pub const FAMILIES: [Family; 5] = [
    Family {
        name: "pantheon_visits",
        help: "Number of visits",
        key: "visits",
        column: "Visits",
        value: |d| Some(DayValue::Count(d.visits)),
    },
    Family {
        name: "pantheon_pages_served",
        help: "Number of pages served",
        key: "pages_served",
        column: "Pages served",
        value: |d| Some(DayValue::Count(d.pages_served)),
    },
    Family {
        name: "pantheon_cache_hits",
        help: "Number of cache hits",
        key: "cache_hits",
        column: "Cache hits",
        value: |d| Some(DayValue::Count(d.cache_hits)),
    },
    Family {
        name: "pantheon_cache_misses",
        help: "Number of cache misses",
        key: "cache_misses",
        column: "Cache misses",
        value: |d| Some(DayValue::Count(d.cache_misses)),
    },
    Family {
        name: "pantheon_cache_hit_ratio",
        help: "Cache hit ratio as percentage",
        key: "cache_hit_ratio",
        column: "Hit ratio",
        value: |d| d.cache_hit_ratio().map(DayValue::Percent),
    },
];

/// The family called `name`, if it is one of the five.
pub fn family(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins every row independently of the renderers that use the table: a swapped field
    /// here would otherwise pass every round-trip test.
    #[test]
    fn each_family_reads_its_own_field() {
        let day = Day {
            timestamp: 0,
            visits: 1,
            pages_served: 8,
            cache_hits: 2,
            cache_misses: 6,
        };
        let rows: Vec<_> = FAMILIES
            .iter()
            .map(|f| (f.name, f.key, f.column, f.value(&day)))
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "pantheon_visits",
                    "visits",
                    "Visits",
                    Some(DayValue::Count(1))
                ),
                (
                    "pantheon_pages_served",
                    "pages_served",
                    "Pages served",
                    Some(DayValue::Count(8))
                ),
                (
                    "pantheon_cache_hits",
                    "cache_hits",
                    "Cache hits",
                    Some(DayValue::Count(2))
                ),
                (
                    "pantheon_cache_misses",
                    "cache_misses",
                    "Cache misses",
                    Some(DayValue::Count(6))
                ),
                (
                    "pantheon_cache_hit_ratio",
                    "cache_hit_ratio",
                    "Hit ratio",
                    Some(DayValue::Percent(25.0))
                ),
            ]
        );
        let empty = Day::default();
        let values: Vec<_> = FAMILIES.iter().map(|f| f.value(&empty)).collect();
        assert_eq!(
            values,
            [
                Some(DayValue::Count(0)),
                Some(DayValue::Count(0)),
                Some(DayValue::Count(0)),
                Some(DayValue::Count(0)),
                None
            ]
        );
        assert_eq!(DayValue::Count(7).as_f64(), 7.0);
        assert_eq!(DayValue::Percent(3.86).as_f64(), 3.86);
        assert_eq!(
            family("pantheon_cache_hits").map(|f| f.key),
            Some("cache_hits")
        );
        assert!(family("pantheon_exporter_up").is_none());
    }

    #[test]
    fn names_are_the_json_keys_under_the_pantheon_prefix() {
        for f in FAMILIES {
            assert_eq!(f.name, format!("pantheon_{}", f.key));
        }
    }
}
