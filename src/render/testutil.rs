//! Test helpers shared by every test of the exposition: one strict reader of what this
//! crate writes ([`parse_sample`], [`parse_exposition`]), used by the renderer unit tests,
//! the exporter's tests and (through the library, hence public but hidden) the integration
//! tests; and, for unit tests only, the renderer fixtures, golden files and a `proptest`
//! strategy of hostile strings.
//!
//! Not part of the supported API.

use super::families::FAMILIES;
use super::format::Format;

/// One sample line, label values unescaped.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    /// The value as written.
    pub value: String,
    pub timestamp: Option<i64>,
}

impl Sample {
    /// The value of label `name`; panics when the sample has none.
    pub fn label(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no label {name} in {self:?}"))
    }

    /// The value as a number.
    pub fn number(&self) -> f64 {
        self.value
            .parse()
            .unwrap_or_else(|_| panic!("value of {self:?} is no number"))
    }
}

/// Which sample values a line may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// What this crate writes: a plain decimal, no exponent, no `NaN`/`Inf`.
    Exact,
    /// Any float of the text format (`1.5e+06`, `NaN`, `+Inf`), for text another tool
    /// re-encoded (node_exporter's textfile collector).
    TextFormat,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit()
}

/// Strict parser for the sample lines this crate writes (a subset of the text format):
/// `name{label="escaped",...} value[ timestamp]`, single spaces, decimal value without
/// exponent, integer timestamp, only `\\` `\"` `\n` escapes, no raw newline.
pub fn parse_sample(line: &str) -> Result<Sample, String> {
    parse_sample_with(line, Values::Exact)
}

/// [`parse_sample`] with a choice of value syntax; everything else is as strict.
pub fn parse_sample_with(line: &str, values: Values) -> Result<Sample, String> {
    if line.contains('\n') {
        return Err("raw newline".into());
    }
    let mut chars = line.char_indices().peekable();
    let name_end = line
        .find(|c: char| !is_name_char(c))
        .ok_or("no labels or value")?;
    let name = &line[..name_end];
    if !name.starts_with(is_name_start) {
        return Err(format!("bad metric name {name:?}"));
    }
    while chars.peek().is_some_and(|&(i, _)| i < name_end) {
        chars.next();
    }
    let mut labels = Vec::new();
    if chars.peek().map(|&(_, c)| c) == Some('{') {
        chars.next();
        loop {
            let (start, c) = chars.next().ok_or("unterminated labels")?;
            if c == '}' && labels.is_empty() {
                break;
            }
            if !is_name_start(c) {
                return Err(format!("bad label name start {c:?}"));
            }
            let mut end = start + c.len_utf8();
            while let Some(&(i, c)) = chars.peek() {
                if !is_name_char(c) {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            let label = line[start..end].to_string();
            if chars.next().map(|(_, c)| c) != Some('=') {
                return Err("expected =".into());
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("expected opening quote".into());
            }
            let mut value = String::new();
            loop {
                match chars.next().ok_or("unterminated value")?.1 {
                    '"' => break,
                    '\\' => match chars.next().ok_or("dangling backslash")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        c => return Err(format!("bad escape \\{c}")),
                    },
                    c => value.push(c),
                }
            }
            if labels.iter().any(|(l, _)| *l == label) {
                return Err(format!("label {label} twice"));
            }
            labels.push((label, value));
            match chars.next().ok_or("unterminated labels")?.1 {
                ',' => continue,
                '}' => break,
                c => return Err(format!("expected , or }} got {c:?}")),
            }
        }
    }
    if chars.next().map(|(_, c)| c) != Some(' ') {
        return Err("expected a space before the value".into());
    }
    let rest: String = chars.map(|(_, c)| c).collect();
    let mut parts = rest.split(' ');
    let value = parts.next().unwrap_or_default().to_string();
    let decimal = |s: &str| {
        let s = s.strip_prefix('-').unwrap_or(s);
        let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
        !int.is_empty()
            && !frac.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
    };
    let valid = match values {
        Values::Exact => decimal(&value),
        Values::TextFormat => {
            matches!(value.as_str(), "NaN" | "+Inf" | "-Inf")
                || (value.parse::<f64>().is_ok_and(f64::is_finite)
                    && value.bytes().all(|b| b"0123456789.eE+-".contains(&b)))
        }
    };
    if !valid {
        return Err(format!("bad value {value:?}"));
    }
    let timestamp = match parts.next() {
        None => None,
        Some(ts) => Some(
            ts.parse::<i64>()
                .map_err(|_| format!("bad timestamp {ts:?}"))?,
        ),
    };
    if parts.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
        timestamp,
    })
}

/// Checks a whole exposition of the traffic families as this crate renders it and returns
/// its samples in order.
///
/// Every line is checked: the five families of [`FAMILIES`] each exactly once and in order,
/// each as its `# HELP` line (exact text), its `# TYPE … gauge` line, then only samples of
/// that family in the strict grammar of [`parse_sample`]; no blank line; every line ends in
/// `\n`; OpenMetrics ends in `# EOF` and Prometheus has none.
pub fn parse_exposition(text: &str, format: Format) -> Result<Vec<Sample>, String> {
    let body = match format {
        Format::Prometheus => text,
        Format::OpenMetrics => text.strip_suffix("# EOF\n").ok_or("no final # EOF")?,
    };
    let lines = match body.strip_suffix('\n') {
        Some(body) => body.split('\n').collect(),
        None if body.is_empty() => Vec::new(),
        None => return Err("last line does not end in a newline".into()),
    };
    let mut samples = Vec::new();
    let mut next_family = FAMILIES.iter();
    let mut family = None;
    let mut typed = false;
    for line in lines {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let expected = next_family
                .next()
                .ok_or_else(|| format!("a sixth family: {line:?}"))?;
            if rest != format!("{} {}", expected.name, expected.help) {
                return Err(format!("{line:?} where {} was due", expected.name));
            }
            family = Some(expected);
            typed = false;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let f = family.filter(|_| !typed).ok_or("# TYPE without # HELP")?;
            if rest != format!("{} gauge", f.name) {
                return Err(format!("bad type line {line:?}"));
            }
            typed = true;
        } else if line.is_empty() || line.starts_with('#') {
            return Err(format!("unexpected line {line:?}"));
        } else {
            let sample = parse_sample(line).map_err(|e| format!("bad line {line:?}: {e}"))?;
            match family {
                Some(f) if typed && f.name == sample.name => samples.push(sample),
                _ => return Err(format!("sample outside its family: {line:?}")),
            }
        }
    }
    if let Some(missing) = next_family.next() {
        return Err(format!("family {} missing", missing.name));
    }
    if !typed {
        return Err("last family has no # TYPE".into());
    }
    Ok(samples)
}

#[cfg(test)]
#[test]
fn strict_parser_rejects_malformed_lines() {
    for bad in [
        "m{a=\"x\"}",
        "m{a=\"x\"} 1 2 3",
        "m{a=\"x} 1",
        "m{a=\"\\t\"} 1",
        "m{a=\"x\",} 1",
        "m{a=\"x\"}  1",
        "m{a=\"x\"} 1e3",
        "m{a=\"x\"} 1 1.5",
        "m{a=\"x\",a=\"y\"} 1",
        "1m 1",
    ] {
        assert!(parse_sample(bad).is_err(), "{bad:?}");
    }
    let ok = parse_sample(r#"m_1{a="q\"\\\n",b=""} -3.5 -1000"#).unwrap();
    assert_eq!(ok.labels[0].1, "q\"\\\n");
    assert_eq!(ok.labels[1].1, "");
    assert_eq!((ok.value.as_str(), ok.timestamp), ("-3.5", Some(-1000)));
    assert_eq!(ok.number(), -3.5);

    for (line, exact, text_format) in [
        ("m 1.5e+06", false, true),
        ("m NaN", false, true),
        ("m +Inf", false, true),
        ("m inf", false, false),
        ("m 0x10", false, false),
        ("m 12", true, true),
    ] {
        assert_eq!(parse_sample(line).is_ok(), exact, "{line}");
        assert_eq!(
            parse_sample_with(line, Values::TextFormat).is_ok(),
            text_format,
            "{line}"
        );
    }
}

#[cfg(test)]
#[test]
fn exposition_checker_rejects_what_the_renderers_never_write() {
    let good = String::from_utf8(super::prometheus(&sites(), false)).unwrap();
    assert_eq!(
        parse_exposition(&good, Format::Prometheus).unwrap().len(),
        29
    );
    let om = String::from_utf8(super::openmetrics(&sites())).unwrap();
    assert!(parse_exposition(&om, Format::OpenMetrics).is_ok());
    assert!(
        parse_exposition(&om, Format::Prometheus).is_err(),
        "# EOF in text format"
    );
    assert!(
        parse_exposition(&good, Format::OpenMetrics).is_err(),
        "no # EOF"
    );
    let broken = [
        good.replacen("\n", "\n\n", 1),
        good.trim_end().to_string(),
        good.replacen("# TYPE pantheon_visits gauge\n", "", 1),
        good.replacen("gauge", "counter", 1),
        good.replacen("Number of visits", "Visits", 1),
        good.replacen(
            "# HELP pantheon_pages_served",
            "# HELP pantheon_cache_hits",
            1,
        ),
        good.replacen("pantheon_cache_hits{", "pantheon_visits{", 1),
        good[..good.find("# HELP pantheon_cache_hit_ratio").unwrap()].to_string(),
        format!("{good}# HELP pantheon_visits Number of visits\n"),
        format!("{good}# a comment\n"),
    ];
    for text in broken {
        assert!(
            parse_exposition(&text, Format::Prometheus).is_err(),
            "accepted:\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Unit tests only: fixtures, golden files, strategies.

#[cfg(test)]
pub use fixtures::*;

#[cfg(test)]
mod fixtures {
    use std::sync::Arc;

    use proptest::prelude::*;

    use crate::model::{Day, Site, SiteTraffic};

    /// Everything a label could use to break out of its context: quotes, backslashes, a
    /// newline, markup, non-ASCII.
    pub const HOSTILE_LABEL: &str = "Zeta \"Shop\" \\ <script>alert(1)</script>\nÜber ☃";

    fn day(
        timestamp: i64,
        visits: u64,
        pages_served: u64,
        cache_hits: u64,
        cache_misses: u64,
    ) -> Day {
        Day {
            timestamp,
            visits,
            pages_served,
            cache_hits,
            cache_misses,
        }
    }

    /// Two sites, three days each, deliberately NOT in output order (acme-blog's account sorts
    /// after zeta-shop's). acme-blog's middle day served nothing (no ratio sample).
    pub fn sites() -> Vec<SiteTraffic> {
        let acme = Site {
            id: "11111111-1111-1111-1111-111111111111".into(),
            name: "acme-blog".into(),
            label: "Acme Blog".into(),
            plan: "Basic".into(),
            framework: "wordpress".into(),
            region: "us".into(),
            organization: String::new(),
            frozen: false,
            created: 1428707345,
        };
        let zeta = Site {
            id: "22222222-2222-2222-2222-222222222222".into(),
            name: "zeta-shop".into(),
            label: HOSTILE_LABEL.into(),
            plan: "Performance Small".into(),
            framework: "drupal10".into(),
            region: "eu".into(),
            organization: "33333333-3333-3333-3333-333333333333".into(),
            frozen: true,
            created: 1700000000,
        };
        vec![
            SiteTraffic {
                account: Arc::from("ops@example.com"),
                site: Arc::new(acme),
                environment: Arc::from("live"),
                days: vec![
                    day(1762560000, 837, 3081, 119, 2962),
                    day(1762646400, 0, 0, 0, 0),
                    day(1762732800, 900, 1000, 1000, 0),
                ],
            },
            SiteTraffic {
                account: Arc::from("agency@example.com"),
                site: Arc::new(zeta),
                environment: Arc::from("live"),
                days: vec![
                    day(1762560000, 12, 40, 0, 40),
                    day(1762646400, 5, 7, 2, 5),
                    day(1762732800, 3, 3, 1, 2),
                ],
            },
        ]
    }

    /// 0 to 12 characters, heavy on the ones exposition and terminals treat specially.
    pub fn hostile_string() -> impl Strategy<Value = String> {
        const ALPHABET: &[&str] = &[
            "\"", "\\", "\n", "\r", "\t", "{", "}", ",", "=", " ", "#", "a", "Z", "0", "é", "☃",
            "😀", "\u{0}", "\u{1b}", "\u{7f}", "\u{202e}", "\\n", "\\\"", "<", ">", "&", "'",
        ];
        prop::collection::vec(prop::sample::select(ALPHABET), 0..13)
            .prop_map(|parts| parts.concat())
    }

    /// Compares `actual` with `testdata/render/<name>`; with `UPDATE_GOLDEN=1` in the
    /// environment, rewrites the file instead (then review the diff before committing).
    pub fn assert_golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/render")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
        if actual != expected {
            panic!(
                "{} differs (UPDATE_GOLDEN=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}",
                path.display()
            );
        }
    }
}
