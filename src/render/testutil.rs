//! Fixtures and a strict exposition line parser shared by the renderer tests.

use std::sync::Arc;

use crate::model::{Day, Site, SiteTraffic};

/// Everything a label could use to break out of its context: quotes, backslashes, a
/// newline, markup, non-ASCII.
pub const HOSTILE_LABEL: &str = "Zeta \"Shop\" \\ <script>alert(1)</script>\nÜber ☃";

fn day(timestamp: i64, visits: u64, pages_served: u64, cache_hits: u64, cache_misses: u64) -> Day {
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

/// A tiny deterministic PRNG (xorshift64*), so property tests need no crate and replay.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 0 to 12 characters, heavy on the ones exposition and terminals treat specially.
    pub fn hostile_string(&mut self) -> String {
        const ALPHABET: &[&str] = &[
            "\"", "\\", "\n", "\r", "\t", "{", "}", ",", "=", " ", "#", "a", "Z", "0", "é", "☃",
            "😀", "\u{0}", "\u{1b}", "\u{7f}", "\u{202e}", "\\n", "\\\"", "<", ">", "&", "'",
        ];
        let len = self.next() % 13;
        (0..len)
            .map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize])
            .collect()
    }
}

/// One sample line, values unescaped.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: String,
    pub timestamp: Option<i64>,
}

impl Sample {
    pub fn label(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no label {name} in {self:?}"))
    }
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
    if !decimal(&value) {
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
        "1m 1",
    ] {
        assert!(parse_sample(bad).is_err(), "{bad:?}");
    }
    let ok = parse_sample(r#"m_1{a="q\"\\\n",b=""} -3.5 -1000"#).unwrap();
    assert_eq!(ok.labels[0].1, "q\"\\\n");
    assert_eq!(ok.labels[1].1, "");
    assert_eq!((ok.value.as_str(), ok.timestamp), ("-3.5", Some(-1000)));
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
