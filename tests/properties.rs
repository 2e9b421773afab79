//! Property tests: arbitrary JSON never panics the API decoders, and arbitrary label text
//! always renders to exposition text that parses back to the same labels.

use std::sync::Arc;

use pantheon_metrics::model::{Day, Site, SiteTraffic};
use pantheon_metrics::pantheon::wire;
use pantheon_metrics::render::testutil::parse_exposition;
use pantheon_metrics::render::{self, FAMILIES, Format};
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
        for (text, format, timestamps) in [
            (render::prometheus(&traffic, false), Format::Prometheus, Timestamps::AllButNewest),
            (render::openmetrics(&traffic), Format::OpenMetrics, Timestamps::All),
            (render::prometheus(&traffic, true), Format::Prometheus, Timestamps::None),
        ] {
            let text = String::from_utf8(text).unwrap();
            // The whole document, every line, through the crate's strict reader.
            let samples = parse_exposition(&text, format)
                .unwrap_or_else(|e| panic!("{e} in:\n{text}"));
            let days = if timestamps == Timestamps::None { 1 } else { 2 };
            prop_assert_eq!(samples.len(), FAMILIES.len() * days);
            for (i, s) in samples.iter().enumerate() {
                let got: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                prop_assert_eq!(got, vec![("account", account.as_str()), ("label", label.as_str()), ("name", name.as_str()), ("plan", plan.as_str())]);
                let newest = i % days == days - 1;
                let timestamped = match timestamps {
                    Timestamps::All => true,
                    Timestamps::AllButNewest => !newest,
                    Timestamps::None => false,
                };
                prop_assert_eq!(s.timestamp.is_some(), timestamped, "{:?}", s);
            }
        }
    }
}

/// Which samples of a site carry a timestamp.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Timestamps {
    All,
    AllButNewest,
    None,
}
