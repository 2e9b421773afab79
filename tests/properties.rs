//! Property tests: arbitrary JSON never panics the API decoders, and arbitrary label text
//! always renders to exposition text that parses back to the same labels.

use std::sync::Arc;

use pantheon_metrics::model::{Day, Site, SiteTraffic};
use pantheon_metrics::pantheon::wire;
use pantheon_metrics::render;
use proptest::prelude::*;
use serde_json::Value;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        // Values under the keys the decoders look for, so the interesting paths run.
        prop_oneof![
            Just("id"),
            Just("timestamp"),
            Just("1762732800"),
            Just("-5")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let keys = prop_oneof![
            Just("id".to_string()),
            Just("name".to_string()),
            Just("label".to_string()),
            Just("site".to_string()),
            Just("timeseries".to_string()),
            Just("timestamp".to_string()),
            Just("visits".to_string()),
            Just("pages_served".to_string()),
            Just("attributes".to_string()),
            Just("organization".to_string()),
            Just("profile".to_string()),
            Just("session".to_string()),
            Just("expires_at".to_string()),
            Just("user_id".to_string()),
            Just("created".to_string()),
            ".{0,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoders_never_panic(v in arb_json()) {
        let _ = wire::site(&v);
        let _ = wire::membership_site(&v);
        let _ = wire::org_membership(&v);
        let _ = wire::login(&v);
        let _ = wire::email(&v);
        let _ = wire::site_name_id(&v);
        let _ = wire::wrapper_id(&v);
        if let Ok((days, _)) = wire::traffic(&v) {
            prop_assert!(days.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            let _ = wire::traffic(&v);
            let _ = wire::site(&v);
        }
    }
}

/// A strict reader of one sample line: `name{k="v",...} value [timestamp]`, unescaping
/// label values. `None` for anything that is not exactly that.
/// One parsed sample: name, labels, value, timestamp.
type Sample = (String, Vec<(String, String)>, f64, Option<i64>);

fn parse_line(line: &str) -> Option<Sample> {
    let brace = line.find('{')?;
    let name = &line[..brace];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    let mut labels = Vec::new();
    let mut chars = line[brace + 1..].char_indices().peekable();
    let rest_start;
    loop {
        let mut key = String::new();
        loop {
            let (_, c) = chars.next()?;
            match c {
                '=' => break,
                c if c.is_ascii_alphanumeric() || c == '_' => key.push(c),
                _ => return None,
            }
        }
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut value = String::new();
        loop {
            let (_, c) = chars.next()?;
            match c {
                '"' => break,
                '\\' => match chars.next()?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    _ => return None,
                },
                '\n' => return None,
                c => value.push(c),
            }
        }
        labels.push((key, value));
        match chars.next()? {
            (_, ',') => continue,
            (i, '}') => {
                rest_start = brace + 1 + i + 1;
                break;
            }
            _ => return None,
        }
    }
    let rest = line[rest_start..].strip_prefix(' ')?;
    let mut parts = rest.split(' ');
    let value: f64 = parts.next()?.parse().ok()?;
    let ts = match parts.next() {
        Some(t) => Some(t.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((name.to_string(), labels, value, ts))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn any_label_text_renders_parseable_exposition(
        account in "\\PC{0,8}|.{0,8}",
        label in any::<String>(),
        name in "[a-z0-9\"\\\\\n-]{1,12}",
        plan in any::<String>(),
        visits in any::<u32>(),
    ) {
        let site = Site { id: "id-1".into(), name: name.clone(), label: label.clone(), plan: plan.clone(), ..Site::default() };
        let day = |i: i64| Day { timestamp: 1_762_732_800 + i * 86_400, visits: visits as u64, pages_served: 10, cache_hits: 3, cache_misses: 7 };
        let traffic = vec![SiteTraffic { account: Arc::from(account.as_str()), site: Arc::new(site), environment: Arc::from("live"), days: vec![day(0), day(1)] }];
        for (text, ts_expected) in [
            (String::from_utf8(render::prometheus(&traffic, false)).unwrap(), true),
            (String::from_utf8(render::openmetrics(&traffic)).unwrap(), true),
            (String::from_utf8(render::prometheus(&traffic, true)).unwrap(), false),
        ] {
            let mut samples = 0;
            for line in text.lines() {
                if line.starts_with('#') {
                    continue;
                }
                let (_, labels, _, ts) = parse_line(line).unwrap_or_else(|| panic!("unparseable line {line:?}"));
                let got: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                prop_assert_eq!(got, vec![("account", account.as_str()), ("label", label.as_str()), ("name", name.as_str()), ("plan", plan.as_str())]);
                if !ts_expected {
                    prop_assert!(ts.is_none());
                }
                samples += 1;
            }
            prop_assert!(samples >= 5);
        }
    }
}
