//! The domain types every step of the data path shares: sites, days of traffic, durations.
//!
//! A [`Day`] is a fixed-width record (no strings, no maps) so that a store holding thousands
//! of sites times 28 days stays small and cheap to copy.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Seconds in one UTC day.
pub const DAY_SECONDS: i64 = 86_400;

/// The most daily points the traffic endpoint gives, and the history the exporter keeps.
pub const MAX_DAYS: u32 = 28;

/// A Pantheon site, as discovered through a membership list or `GET /sites/{id}`.
///
/// Only the fields the commands show are kept; everything else in the API's site object
/// is ignored on decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// Stable UUID; used for every API call.
    pub id: String,
    /// Machine name (slug), unique across Pantheon.
    pub name: String,
    /// Display label, falling back to `attributes.label` and then `name`.
    pub label: String,
    /// Plan display name, falling back to `service_level`.
    pub plan: String,
    pub framework: String,
    /// Region (`preferred_zone`), empty when unknown.
    pub region: String,
    /// Owning organization UUID, empty for user-held sites.
    pub organization: String,
    pub frozen: bool,
    /// Creation time, Unix seconds (0 when unknown).
    pub created: i64,
}

/// A site together with the account (the `account` label) that sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSite {
    pub account: Arc<str>,
    pub site: Arc<Site>,
}

/// The position of a site's series in every output: account, then site name, then site id.
///
/// The one sort order of the project: the renderers, the `fetch` command and the exporter's
/// store (whose key orders the same fields the same way) all follow it, so every output is
/// deterministic whatever order discovery or fetching finished in.
pub type SeriesKey<'a> = (&'a str, &'a str, &'a str);

/// The [`SeriesKey`] of `site` as seen by `account`.
pub fn series_key<'a>(account: &'a str, site: &'a Site) -> SeriesKey<'a> {
    (account, &site.name, &site.id)
}

/// Anything shown as one site's series (or row), so it can be put in series order.
pub trait SeriesOrder {
    fn sort_key(&self) -> SeriesKey<'_>;
}

impl SeriesOrder for AccountSite {
    fn sort_key(&self) -> SeriesKey<'_> {
        series_key(&self.account, &self.site)
    }
}

impl SeriesOrder for SiteTraffic {
    fn sort_key(&self) -> SeriesKey<'_> {
        series_key(&self.account, &self.site)
    }
}

impl<T: SeriesOrder + ?Sized> SeriesOrder for &T {
    fn sort_key(&self) -> SeriesKey<'_> {
        (**self).sort_key()
    }
}

/// Sorts `items` into series order (stable).
///
/// ```
/// use std::sync::Arc;
/// use pantheon_metrics::model::{AccountSite, Site, sort_series};
/// let row = |account: &str, name: &str, id: &str| AccountSite {
///     account: Arc::from(account),
///     site: Arc::new(Site { name: name.into(), id: id.into(), ..Site::default() }),
/// };
/// let mut rows = vec![row("b@x", "a", "1"), row("a@x", "z", "2"), row("a@x", "z", "1"), row("a@x", "m", "9")];
/// sort_series(&mut rows);
/// let order: Vec<_> = rows.iter().map(|r| (&*r.account, &*r.site.name, &*r.site.id)).collect();
/// assert_eq!(order, [("a@x", "m", "9"), ("a@x", "z", "1"), ("a@x", "z", "2"), ("b@x", "a", "1")]);
/// ```
pub fn sort_series<T: SeriesOrder>(items: &mut [T]) {
    items.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// One bucket of traffic as the API reports it: counters for the day starting at `timestamp`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Day {
    /// Start of the bucket, Unix seconds, 00:00 UTC for daily buckets.
    pub timestamp: i64,
    pub visits: u64,
    pub pages_served: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
}

impl Day {
    /// Cache hit ratio as a percentage rounded to 2 decimals; `None` when nothing was served
    /// (a ratio of 0/0 is "no data", not zero).
    ///
    /// ```
    /// use pantheon_metrics::model::Day;
    /// let day = Day { timestamp: 0, visits: 837, pages_served: 3081, cache_hits: 119, cache_misses: 2962 };
    /// assert_eq!(day.cache_hit_ratio(), Some(3.86));
    /// assert_eq!(Day::default().cache_hit_ratio(), None);
    /// ```
    pub fn cache_hit_ratio(&self) -> Option<f64> {
        if self.pages_served == 0 {
            return None;
        }
        let pct = self.cache_hits as f64 * 100.0 / self.pages_served as f64;
        Some((pct * 100.0).round() / 100.0)
    }

    /// True when every counter is zero (what the API answers during its daily rebuild).
    pub fn is_zero(&self) -> bool {
        self.visits == 0 && self.pages_served == 0 && self.cache_hits == 0 && self.cache_misses == 0
    }

    /// The bucket's UTC date as `YYYY-MM-DD`.
    ///
    /// ```
    /// use pantheon_metrics::model::Day;
    /// let day = Day { timestamp: 1762732800, ..Day::default() };
    /// assert_eq!(day.date(), "2025-11-10");
    /// ```
    pub fn date(&self) -> String {
        format_date(self.timestamp)
    }
}

/// `YYYY-MM-DD` of a Unix timestamp, in UTC.
pub fn format_date(timestamp: i64) -> String {
    match chrono::DateTime::from_timestamp(timestamp, 0) {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => "invalid-date".to_string(),
    }
}

/// RFC 3339 UTC (`2015-04-10T23:09:05Z`) of a Unix timestamp.
pub fn format_rfc3339(timestamp: i64) -> String {
    match chrono::DateTime::from_timestamp(timestamp, 0) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "invalid-date".to_string(),
    }
}

/// 00:00 UTC of the day holding `timestamp`.
pub fn day_start(timestamp: i64) -> i64 {
    timestamp.div_euclid(DAY_SECONDS) * DAY_SECONDS
}

/// One site's traffic history as the renderers take it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteTraffic {
    pub account: Arc<str>,
    pub site: Arc<Site>,
    pub environment: Arc<str>,
    /// Oldest first, at most one entry per timestamp.
    pub days: Vec<Day>,
}

/// The bucket size of a traffic request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    fn suffix(self) -> char {
        match self {
            Granularity::Day => 'd',
            Granularity::Week => 'w',
            Granularity::Month => 'm',
        }
    }

    fn max(self) -> u32 {
        match self {
            Granularity::Day => MAX_DAYS,
            Granularity::Week | Granularity::Month => 12,
        }
    }
}

/// The `duration` of a traffic request: `Nd` (1-28), `Nw` (1-12) or `Nm` (1-12).
///
/// ```
/// use pantheon_metrics::model::{TrafficDuration, Granularity};
/// let d: TrafficDuration = "28d".parse().unwrap();
/// assert_eq!((d.count(), d.granularity()), (28, Granularity::Day));
/// assert!("29d".parse::<TrafficDuration>().is_err());
/// assert!("0w".parse::<TrafficDuration>().is_err());
/// assert_eq!(d.to_string(), "28d");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrafficDuration {
    count: u32,
    granularity: Granularity,
}

impl TrafficDuration {
    /// A daily duration; `count` must be 1-28.
    pub fn days(count: u32) -> Result<Self, DurationError> {
        Self::new(count, Granularity::Day)
    }

    pub fn new(count: u32, granularity: Granularity) -> Result<Self, DurationError> {
        let max = granularity.max();
        if count == 0 || count > max {
            return Err(DurationError::OutOfRange {
                value: format!("{count}{}", granularity.suffix()),
                max,
                unit: granularity.suffix(),
            });
        }
        Ok(TrafficDuration { count, granularity })
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    pub fn is_daily(&self) -> bool {
        self.granularity == Granularity::Day
    }
}

impl fmt::Display for TrafficDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.granularity.suffix())
    }
}

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration {0:?}: expected a number followed by d, w or m (e.g. 28d, 12w, 6m)")]
    Malformed(String),
    #[error("duration {value} is out of range: {unit} takes 1 to {max}")]
    OutOfRange { value: String, max: u32, unit: char },
}

impl FromStr for TrafficDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let malformed = || DurationError::Malformed(s.to_string());
        let unit = s.chars().last().ok_or_else(malformed)?;
        let granularity = match unit {
            'd' | 'D' => Granularity::Day,
            'w' | 'W' => Granularity::Week,
            'm' | 'M' => Granularity::Month,
            _ => return Err(malformed()),
        };
        let digits = &s[..s.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let count: u32 = digits.parse().map_err(|_| DurationError::OutOfRange {
            value: s.to_string(),
            max: granularity.max(),
            unit: granularity.suffix(),
        })?;
        TrafficDuration::new(count, granularity)
    }
}

impl TryFrom<String> for TrafficDuration {
    type Error = DurationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<TrafficDuration> for String {
    fn from(value: TrafficDuration) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_validate_each_unit_range() {
        for ok in ["1d", "28d", "1w", "12w", "1m", "12m", " 7d "] {
            assert!(ok.parse::<TrafficDuration>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "d",
            "0d",
            "29d",
            "13w",
            "13m",
            "-1d",
            "1.5d",
            "10x",
            "28",
            "99999999999d",
            "d28",
        ] {
            assert!(bad.parse::<TrafficDuration>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hit_ratio_rounds_to_two_decimals() {
        let day = Day {
            timestamp: 0,
            visits: 1,
            pages_served: 3,
            cache_hits: 1,
            cache_misses: 2,
        };
        assert_eq!(day.cache_hit_ratio(), Some(33.33));
    }

    #[test]
    fn day_start_truncates_to_midnight_utc() {
        assert_eq!(day_start(1762732800 + 3600), 1762732800);
        assert_eq!(day_start(-1), -DAY_SECONDS);
    }
}
