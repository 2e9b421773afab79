//! Prometheus text format (0.0.4) and OpenMetrics exposition.
//!
//! Rendering is two steps: [`SiteFragments::render`] turns one site into its sample lines,
//! one chunk per family of [`FAMILIES`]; [`assemble`] then writes each family's `# HELP`/
//! `# TYPE` header followed by that family's chunk of every site. [`prometheus()`] and
//! [`openmetrics`] do both for the one-shot CLI commands. The exporter
//! (`serve::exposition`) renders fragments for the sites whose data changed and keeps the
//! concatenated chunks of runs of sites, not the fragments themselves.
//!
//! The series of a family are written site by site, so a caller that assembles must pass
//! fragments in series order ([`crate::model::sort_series`]) to match the whole-output
//! functions byte for byte.

use std::io::Write as _;

use super::families::{DayValue, FAMILIES, Family};
use super::format::{Format, TimestampMode};
use crate::model::{Day, Site, SiteTraffic, sort_series};

impl TimestampMode {
    /// The format whose output fragments rendered in this mode belong to.
    pub fn format(self) -> Format {
        match self {
            TimestampMode::Prometheus | TimestampMode::None => Format::Prometheus,
            TimestampMode::OpenMetricsSeconds => Format::OpenMetrics,
        }
    }
}

/// One site's rendered sample lines, one chunk per family of [`FAMILIES`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteFragments {
    /// The lines of all five families back to back, each line ending in `\n`.
    buf: Vec<u8>,
    /// End offset in `buf` of each family's chunk; family `i` starts where `i - 1` ends.
    ends: [usize; FAMILIES.len()],
    /// Checked by [`assemble`] in debug builds: fragments of two formats do not mix.
    mode: TimestampMode,
}

impl SiteFragments {
    /// Renders the samples of `days` (oldest first; the caller picks which days to expose)
    /// for one site under `account`.
    ///
    /// The label set is escaped once and reused for every line. A site without days
    /// renders to nothing, and a day with no pages served has no ratio sample.
    pub fn render(account: &str, site: &Site, days: &[Day], mode: TimestampMode) -> Self {
        let days = match mode {
            TimestampMode::None => &days[days.len().saturating_sub(1)..],
            TimestampMode::Prometheus | TimestampMode::OpenMetricsSeconds => days,
        };
        let mut labels = Vec::with_capacity(
            48 + account.len() + site.label.len() + site.name.len() + site.plan.len(),
        );
        write_labels(&mut labels, account, site);

        // Name (<= 24) + labels + value (<= 20) + timestamp (<= 20) + separators.
        let mut buf = Vec::with_capacity(days.len() * FAMILIES.len() * (labels.len() + 68));
        let mut ends = [0; FAMILIES.len()];
        let newest = days.len().saturating_sub(1);
        for (f, family) in FAMILIES.iter().enumerate() {
            for (i, day) in days.iter().enumerate() {
                // No sample where the family has no value (a ratio when nothing was served).
                let Some(value) = family.value(day) else {
                    continue;
                };
                buf.extend_from_slice(family.name.as_bytes());
                buf.extend_from_slice(&labels);
                buf.push(b' ');
                match value {
                    DayValue::Count(n) => write_u64(&mut buf, n),
                    DayValue::Percent(p) => write_f64(&mut buf, p),
                }
                match mode {
                    TimestampMode::Prometheus if i != newest => {
                        buf.push(b' ');
                        write_i64(&mut buf, day.timestamp.saturating_mul(1000));
                    }
                    TimestampMode::OpenMetricsSeconds => {
                        buf.push(b' ');
                        write_i64(&mut buf, day.timestamp);
                    }
                    TimestampMode::Prometheus | TimestampMode::None => {}
                }
                buf.push(b'\n');
            }
            ends[f] = buf.len();
        }
        SiteFragments { buf, ends, mode }
    }

    /// The sample lines of family `index` (of [`FAMILIES`]), each ending in `\n`.
    ///
    /// # Panics
    /// When `index >= FAMILIES.len()`.
    pub fn family(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.buf[start..self.ends[index]]
    }

    /// Bytes of all sample lines together.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when the site exposes nothing (it had no days).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// The exact number of bytes [`assemble`] writes for these fragments, so a caller can size
/// a buffer (or a `Content-Length`) up front.
pub fn assembled_len<'a>(
    fragments: impl Iterator<Item = &'a SiteFragments>,
    format: Format,
) -> usize {
    let headers: usize = FAMILIES.iter().map(|f| header_len(f, format)).sum();
    let eof = match format {
        Format::Prometheus => 0,
        Format::OpenMetrics => EOF.len(),
    };
    headers + eof + fragments.map(SiteFragments::len).sum::<usize>()
}

const EOF: &[u8] = b"# EOF\n";

/// Appends a whole exposition to `out`: per family its `# HELP` and `# TYPE` lines, then
/// that family's chunk of every fragment in iteration order; `# EOF` for OpenMetrics.
///
/// The iterator is walked once per family (hence `Clone`), plus once to reserve the exact
/// size. Every fragment must have been rendered in a mode of `format`
/// ([`TimestampMode::format`]); mixing them yields an invalid exposition.
pub fn assemble<'a, I>(fragments: I, format: Format, out: &mut Vec<u8>)
where
    I: Iterator<Item = &'a SiteFragments> + Clone,
{
    out.reserve(assembled_len(fragments.clone(), format));
    for (f, family) in FAMILIES.iter().enumerate() {
        write_header(out, family, format);
        for fragment in fragments.clone() {
            debug_assert_eq!(fragment.mode.format(), format, "fragment of another format");
            out.extend_from_slice(fragment.family(f));
        }
    }
    if format == Format::OpenMetrics {
        out.extend_from_slice(EOF);
    }
}

/// The Prometheus text exposition of `sites`, given in any order.
///
/// Series are sorted by account, site name, then site id. With `no_timestamps` only each
/// site's newest day is exposed, untimestamped (node_exporter's textfile collector);
/// otherwise every day is, older ones with their millisecond timestamps.
///
/// ```
/// use std::sync::Arc;
/// use pantheon_metrics::model::{Day, Site, SiteTraffic};
///
/// let site = Site { name: "acme-blog".into(), label: "Acme Blog".into(), plan: "Basic".into(), ..Site::default() };
/// let day = |timestamp, visits| Day { timestamp, visits, pages_served: 3081, cache_hits: 119, cache_misses: 2962 };
/// let traffic = SiteTraffic {
///     account: Arc::from("ops@example.com"),
///     site: Arc::new(site),
///     environment: Arc::from("live"),
///     days: vec![day(1762646400, 790), day(1762732800, 837)],
/// };
///
/// let text = String::from_utf8(pantheon_metrics::render::prometheus(&[traffic], false)).unwrap();
/// let labels = r#"{account="ops@example.com",label="Acme Blog",name="acme-blog",plan="Basic"}"#;
/// assert!(text.starts_with("# HELP pantheon_visits Number of visits\n# TYPE pantheon_visits gauge\n"));
/// assert!(text.contains(&format!("pantheon_visits{labels} 790 1762646400000\n")));
/// assert!(text.contains(&format!("pantheon_visits{labels} 837\n")));
/// assert!(text.ends_with(&format!("pantheon_cache_hit_ratio{labels} 3.86\n")));
/// ```
pub fn prometheus(sites: &[SiteTraffic], no_timestamps: bool) -> Vec<u8> {
    let mode = if no_timestamps {
        TimestampMode::None
    } else {
        TimestampMode::Prometheus
    };
    render_all(sites, mode)
}

/// The OpenMetrics exposition of `sites`, given in any order: every day timestamped in
/// seconds, ending in `# EOF`. Suited to `promtool tsdb create-blocks-from openmetrics`.
pub fn openmetrics(sites: &[SiteTraffic]) -> Vec<u8> {
    render_all(sites, TimestampMode::OpenMetricsSeconds)
}

fn render_all(sites: &[SiteTraffic], mode: TimestampMode) -> Vec<u8> {
    let mut sorted: Vec<&SiteTraffic> = sites.iter().collect();
    sort_series(&mut sorted);
    let fragments: Vec<SiteFragments> = sorted
        .iter()
        .map(|s| SiteFragments::render(&s.account, &s.site, &s.days, mode))
        .collect();
    let mut out = Vec::new();
    assemble(fragments.iter(), mode.format(), &mut out);
    out
}

fn write_header(out: &mut Vec<u8>, family: &Family, format: Format) {
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(family.name.as_bytes());
    out.push(b' ');
    escape_help(out, family.help, format);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(family.name.as_bytes());
    out.extend_from_slice(b" gauge\n");
}

fn header_len(family: &Family, format: Format) -> usize {
    let help: usize = family
        .help
        .bytes()
        .map(|b| help_escape(b, format).map_or(1, <[u8]>::len))
        .sum();
    "# HELP ".len()
        + family.name.len()
        + 1
        + help
        + "\n# TYPE ".len()
        + family.name.len()
        + " gauge\n".len()
}

/// HELP text escaping: `\` and newline in both formats, `"` too in OpenMetrics.
fn escape_help(out: &mut Vec<u8>, help: &str, format: Format) {
    for b in help.bytes() {
        match help_escape(b, format) {
            Some(escaped) => out.extend_from_slice(escaped),
            None => out.push(b),
        }
    }
}

fn help_escape(b: u8, format: Format) -> Option<&'static [u8]> {
    match b {
        b'\\' => Some(b"\\\\"),
        b'\n' => Some(b"\\n"),
        b'"' if format == Format::OpenMetrics => Some(b"\\\""),
        _ => None,
    }
}

/// `{account="…",label="…",name="…",plan="…"}` with escaped values.
pub(crate) fn write_labels(out: &mut Vec<u8>, account: &str, site: &Site) {
    let pairs = [
        ("account", account),
        ("label", site.label.as_str()),
        ("name", site.name.as_str()),
        ("plan", site.plan.as_str()),
    ];
    out.push(b'{');
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_label_value(out, value);
        out.push(b'"');
    }
    out.push(b'}');
}

/// Label value escaping, the same in both formats: `\` → `\\`, `"` → `\"`, newline → `\n`.
/// Works on bytes: the three are ASCII, so multi-byte UTF-8 sequences pass untouched.
fn escape_label_value(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'"' => b"\\\"",
            b'\n' => b"\\n",
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain..i]);
        out.extend_from_slice(escaped);
        plain = i + 1;
    }
    out.extend_from_slice(&bytes[plain..]);
}

fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn write_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Shortest round-tripping decimal without exponent; integral values without `.0`
/// (`3.86`, `100`).
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(match v {
            v if v.is_nan() => b"NaN",
            v if v > 0.0 => b"+Inf",
            _ => b"-Inf",
        });
        return;
    }
    let mut buffer = ryu::Buffer::new();
    let s = buffer.format_finite(v);
    if s.contains('e') {
        // Only for absurd ratios (hits far above pages served); Display never uses exponents.
        let _ = write!(out, "{v}");
    } else {
        out.extend_from_slice(s.strip_suffix(".0").unwrap_or(s).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testutil::{self, Sample, hostile_string};
    use proptest::prelude::*;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).expect("exposition is UTF-8")
    }

    #[test]
    fn golden_prometheus() {
        let out = text(prometheus(&testutil::sites(), false));
        testutil::assert_golden("traffic.prom", &out);
    }

    #[test]
    fn golden_prometheus_no_timestamps() {
        let out = text(prometheus(&testutil::sites(), true));
        testutil::assert_golden("traffic-no-timestamps.prom", &out);
    }

    #[test]
    fn golden_openmetrics() {
        let out = text(openmetrics(&testutil::sites()));
        testutil::assert_golden("traffic.om", &out);
    }

    /// Checks every line of `out` with the strict grammar and returns the samples.
    fn samples(out: &str, format: Format) -> Vec<Sample> {
        testutil::parse_exposition(out, format).unwrap_or_else(|e| panic!("{e} in:\n{out}"))
    }

    #[test]
    fn prometheus_output_round_trips_through_strict_parser() {
        let sites = testutil::sites();
        let out = text(prometheus(&sites, false));
        let samples = samples(&out, Format::Prometheus);
        // 2 sites x 3 days x 4 counters + 5 ratios (one day served nothing).
        assert_eq!(samples.len(), 29);
        let zeta = &samples[0];
        assert_eq!(
            zeta.labels,
            vec![
                ("account".to_string(), "agency@example.com".to_string()),
                ("label".to_string(), testutil::HOSTILE_LABEL.to_string()),
                ("name".to_string(), "zeta-shop".to_string()),
                ("plan".to_string(), "Performance Small".to_string()),
            ]
        );
        for s in &samples {
            let site = sites
                .iter()
                .find(|t| t.site.name == s.label("name"))
                .unwrap();
            assert_eq!(s.label("account"), &*site.account);
            assert_eq!(s.label("label"), site.site.label);
            assert_eq!(s.label("plan"), site.site.plan);
            let newest = site.days.last().unwrap();
            let day = match s.timestamp {
                None => newest,
                Some(ms) => {
                    assert_eq!(ms % 1000, 0);
                    let day = site.days.iter().find(|d| d.timestamp * 1000 == ms).unwrap();
                    assert_ne!(day, newest, "newest day is untimestamped");
                    day
                }
            };
            let expected = crate::render::families::family(&s.name)
                .and_then(|f| f.value(day))
                .expect("a sample only where its family has a value");
            assert_eq!(s.number(), expected.as_f64(), "{s:?}");
        }
    }

    #[test]
    fn prometheus_parse_crate_reads_benign_output() {
        // prometheus-parse neither unescapes nor copes with `,` `=` `}` in values, so feed
        // it only benign labels; the hostile ones go through testutil's strict parser.
        let sites: Vec<SiteTraffic> = testutil::sites()
            .into_iter()
            .map(|mut t| {
                let mut site = (*t.site).clone();
                site.label = format!("Label of {}", site.name);
                t.site = site.into();
                t
            })
            .collect();
        for no_timestamps in [false, true] {
            let out = text(prometheus(&sites, no_timestamps));
            let lines = out.lines().map(|l| Ok(l.to_string()));
            let now = chrono::DateTime::from_timestamp(2_000_000_000, 0).unwrap();
            let scrape = prometheus_parse::Scrape::parse_at(lines, now).unwrap();
            assert_eq!(scrape.docs.len(), 5);
            assert_eq!(
                scrape.docs["pantheon_cache_hit_ratio"],
                "Cache hit ratio as percentage"
            );
            assert_eq!(scrape.samples.len(), if no_timestamps { 10 } else { 29 });
            for s in &scrape.samples {
                assert!(matches!(s.value, prometheus_parse::Value::Gauge(_)));
                let t = sites
                    .iter()
                    .find(|t| t.site.name == s.labels["name"])
                    .unwrap();
                assert_eq!(s.labels["account"], *t.account);
                assert_eq!(s.labels["label"], t.site.label);
                assert_eq!(s.labels["plan"], t.site.plan);
                let day = t
                    .days
                    .iter()
                    .find(|d| d.timestamp == s.timestamp.timestamp())
                    .unwrap_or_else(|| {
                        assert_eq!(s.timestamp, now, "only the newest day is untimestamped");
                        t.days.last().unwrap()
                    });
                if s.metric == "pantheon_visits" {
                    assert_eq!(s.value, prometheus_parse::Value::Gauge(day.visits as f64));
                }
                if s.metric == "pantheon_cache_hit_ratio" {
                    let r = day.cache_hit_ratio().unwrap();
                    assert_eq!(s.value, prometheus_parse::Value::Gauge(r));
                }
            }
        }
    }

    #[test]
    fn no_timestamps_exposes_only_newest_day() {
        let sites = testutil::sites();
        let out = text(prometheus(&sites, true));
        let samples = samples(&out, Format::Prometheus);
        assert!(samples.iter().all(|s| s.timestamp.is_none()));
        assert_eq!(samples.len(), 10);
        let visits: Vec<_> = samples
            .iter()
            .filter(|s| s.name == "pantheon_visits")
            .map(|s| s.value.as_str())
            .collect();
        assert_eq!(visits, ["3", "900"]);
    }

    #[test]
    fn openmetrics_timestamps_every_day_in_seconds() {
        let sites = testutil::sites();
        let out = text(openmetrics(&sites));
        let samples = samples(&out, Format::OpenMetrics);
        assert_eq!(samples.len(), 29);
        for s in &samples {
            let ts = s
                .timestamp
                .expect("every OpenMetrics sample is timestamped");
            assert!(
                sites
                    .iter()
                    .flat_map(|t| &t.days)
                    .any(|d| d.timestamp == ts)
            );
        }
    }

    #[test]
    fn site_without_days_emits_nothing_and_empty_input_only_headers() {
        let mut sites = testutil::sites();
        sites[0].days.clear();
        let out = text(prometheus(&sites, false));
        assert!(!out.contains("acme-blog"));
        for mode in [
            TimestampMode::Prometheus,
            TimestampMode::None,
            TimestampMode::OpenMetricsSeconds,
        ] {
            let f = SiteFragments::render("a", &sites[0].site, &[], mode);
            assert!(f.is_empty());
        }
        let empty = text(prometheus(&[], false));
        assert_eq!(empty.lines().count(), 10);
        assert!(empty.lines().all(|l| l.starts_with('#')));
        assert!(text(openmetrics(&[])).ends_with("gauge\n# EOF\n"));
    }

    #[test]
    fn floats_are_short_and_exponent_free() {
        let cases = [
            (3.86, "3.86"),
            (100.0, "100"),
            (0.0, "0"),
            (0.01, "0.01"),
            (33.33, "33.33"),
            (1.8446744073709552e21, "1844674407370955200000"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            let mut out = Vec::new();
            write_f64(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn hostile_labels_round_trip_property(
            account in hostile_string(),
            id in hostile_string(),
            name in hostile_string(),
            label in hostile_string(),
            plan in hostile_string(),
        ) {
            let day = |timestamp| Day {
                timestamp,
                visits: 1,
                pages_served: 3,
                cache_hits: 1,
                cache_misses: 2,
            };
            let site = Site { id, name, label, plan, ..Site::default() };
            let days = [day(1762646400), day(1762732800)];
            for mode in [
                TimestampMode::Prometheus,
                TimestampMode::None,
                TimestampMode::OpenMetricsSeconds,
            ] {
                let frag = SiteFragments::render(&account, &site, &days, mode);
                let mut out = Vec::new();
                assemble(std::iter::once(&frag), mode.format(), &mut out);
                let out = text(out);
                let samples = samples(&out, mode.format());
                let per_family = if mode == TimestampMode::None { 1 } else { 2 };
                prop_assert_eq!(samples.len(), 5 * per_family);
                for s in samples {
                    prop_assert_eq!(s.label("account"), &account);
                    prop_assert_eq!(s.label("label"), &site.label);
                    prop_assert_eq!(s.label("name"), &site.name);
                    prop_assert_eq!(s.label("plan"), &site.plan);
                }
            }
        }
    }

    fn fragments_of(sites: &[SiteTraffic], mode: TimestampMode) -> Vec<SiteFragments> {
        let mut sorted: Vec<&SiteTraffic> = sites.iter().collect();
        sort_series(&mut sorted);
        sorted
            .into_iter()
            .map(|t| SiteFragments::render(&t.account, &t.site, &t.days, mode))
            .collect()
    }

    #[test]
    fn assemble_matches_full_render_and_precomputed_len() {
        let sites = testutil::sites();
        for mode in [
            TimestampMode::Prometheus,
            TimestampMode::None,
            TimestampMode::OpenMetricsSeconds,
        ] {
            let fragments = fragments_of(&sites, mode);
            let len = assembled_len(fragments.iter(), mode.format());
            let mut out = Vec::with_capacity(len);
            assemble(fragments.iter(), mode.format(), &mut out);
            assert_eq!(out.len(), len, "{mode:?}");
            let full = match mode {
                TimestampMode::Prometheus => prometheus(&sites, false),
                TimestampMode::None => prometheus(&sites, true),
                TimestampMode::OpenMetricsSeconds => openmetrics(&sites),
            };
            assert_eq!(out, full);
            // Appends rather than overwrites.
            let mut twice = out.clone();
            assemble(fragments.iter(), mode.format(), &mut twice);
            assert_eq!(twice.len(), 2 * len);
        }
        assert_eq!(
            assembled_len(std::iter::empty(), Format::Prometheus),
            prometheus(&[], false).len()
        );
        assert_eq!(
            assembled_len(std::iter::empty(), Format::OpenMetrics),
            openmetrics(&[]).len()
        );
    }

    #[test]
    fn replacing_one_fragment_equals_full_render_of_changed_data() {
        let mut sites = testutil::sites();
        let mode = TimestampMode::Prometheus;
        let mut fragments = fragments_of(&sites, mode);

        // The exporter's path: one site gets a new day, only its fragment is re-rendered.
        let acme = &mut sites[0];
        assert_eq!(acme.site.name, "acme-blog");
        acme.days.remove(0);
        acme.days.push(Day {
            timestamp: 1762819200,
            visits: 5,
            pages_served: 8,
            cache_hits: 3,
            cache_misses: 5,
        });
        let position = fragments
            .iter()
            .position(|f| String::from_utf8_lossy(f.family(0)).contains("acme-blog"))
            .unwrap();
        fragments[position] = SiteFragments::render(&acme.account, &acme.site, &acme.days, mode);

        let mut out = Vec::new();
        assemble(fragments.iter(), Format::Prometheus, &mut out);
        assert_eq!(text(out.clone()), text(prometheus(&sites, false)));
        assert!(text(out).contains("pantheon_cache_hit_ratio{account=\"ops@example.com\",label=\"Acme Blog\",name=\"acme-blog\",plan=\"Basic\"} 37.5\n"));
    }

    #[test]
    fn help_texts_need_no_escaping() {
        for format in [Format::Prometheus, Format::OpenMetrics] {
            for f in FAMILIES {
                let mut out = Vec::new();
                escape_help(&mut out, f.help, format);
                assert_eq!(out, f.help.as_bytes());
            }
        }
        let mut out = Vec::new();
        escape_help(&mut out, "a\\b\n\"c\"", Format::Prometheus);
        assert_eq!(out, b"a\\\\b\\n\"c\"");
        out.clear();
        escape_help(&mut out, "a\\b\n\"c\"", Format::OpenMetrics);
        assert_eq!(out, b"a\\\\b\\n\\\"c\\\"");
    }

    /// `promtool check metrics` and a backfill of the OpenMetrics output, on the hostile
    /// fixture. Needs promtool on PATH.
    #[cfg(feature = "e2e")]
    #[test]
    fn promtool_accepts_outputs() {
        use proptest::strategy::ValueTree;
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut sites = testutil::sites();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut hostile = || hostile_string().new_tree(&mut runner).unwrap().current();
        for i in 0..200 {
            let mut t = sites[i % 2].clone();
            let mut site = (*t.site).clone();
            site.name = format!("site-{i}");
            site.label = hostile();
            site.plan = hostile();
            t.site = site.into();
            t.account = hostile().into();
            sites.push(t);
        }
        for out in [prometheus(&sites, false), prometheus(&sites, true)] {
            let mut child = Command::new("promtool")
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("promtool on PATH");
            child.stdin.take().unwrap().write_all(&out).unwrap();
            let result = child.wait_with_output().unwrap();
            assert!(
                result.status.success(),
                "{}",
                String::from_utf8_lossy(&result.stderr)
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.om");
        std::fs::write(&input, openmetrics(&sites)).unwrap();
        let result = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(dir.path().join("blocks"))
            .output()
            .expect("promtool on PATH");
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
}
