//! The JSON bodies, shaped as in sections 2-4 of the API notes.

use serde_json::{Map, Value, json};

use super::config::{FakeAccount, FakeConfig, FakeOrg, FakeSite, fake_uuid};
use crate::model::{Day, format_rfc3339};

fn zone_label(zone: &str) -> &'static str {
    match zone {
        "us-central1" => "United States",
        "europe-west4" => "European Union",
        "australia-southeast1" => "Australia",
        "northamerica-northeast1" => "Canada",
        _ => "",
    }
}

/// A site object as nested in membership wrappers.
pub(crate) fn site(s: &FakeSite) -> Value {
    let owner = fake_uuid(&format!("owner:{}", s.id));
    let mut m = Map::new();
    m.insert("id".into(), json!(s.id));
    m.insert("name".into(), json!(s.name));
    if let Some(label) = &s.label {
        m.insert("label".into(), json!(label));
    }
    let mut attributes = Map::new();
    if let Some(label) = &s.attributes_label {
        attributes.insert("label".into(), json!(label));
    }
    m.insert("attributes".into(), Value::Object(attributes));
    if let Some(plan) = &s.plan_name {
        m.insert("plan_name".into(), json!(plan));
    }
    m.insert("service_level".into(), json!(s.service_level));
    m.insert("framework".into(), json!(s.framework));
    m.insert("organization".into(), json!(s.organization));
    let (holder_type, holder_id) = if s.organization.is_empty() {
        ("user", owner.as_str())
    } else {
        ("organization", s.organization.as_str())
    };
    m.insert("holder_type".into(), json!(holder_type));
    m.insert("holder_id".into(), json!(holder_id));
    m.insert("owner".into(), json!(owner));
    m.insert("created".into(), json!(s.created));
    m.insert("created_by_user_id".into(), json!(owner));
    m.insert("user_in_charge_id".into(), json!(owner));
    m.insert("frozen".into(), json!(s.frozen));
    m.insert("preferred_zone".into(), json!(s.region));
    m.insert("preferred_zone_label".into(), json!(zone_label(&s.region)));
    m.insert("product_id".into(), json!(fake_uuid(&s.framework)));
    m.insert(
        "last_code_push".into(),
        json!({"timestamp": "2025-10-01T12:00:00", "user_uuid": null}),
    );
    let upstream_url = format!("https://github.com/pantheon-systems/{}", s.framework);
    if s.drift {
        m.insert("php_version".into(), json!(74));
        m.insert(
            "upstream".into(),
            json!({"product_id": fake_uuid(&s.framework), "url": upstream_url, "branch": "master"}),
        );
        m.insert("is_frozen".into(), json!(s.frozen));
        m.insert("instrument".into(), json!(null));
        m.insert("drush_version".into(), json!(10));
        m.insert(
            "x_future_field".into(),
            json!({"nested": [1, "two", null, {"deep": true}], "ratio": 0.5}),
        );
        m.insert(
            "upstream_updates_by_environment".into(),
            json!({"dev": {"has_code": true, "is_up_to_date_with_upstream": false}}),
        );
    } else {
        m.insert("php_version".into(), json!("83"));
        m.insert(
            "upstream".into(),
            json!(format!("{}: {upstream_url}", fake_uuid(&s.framework))),
        );
    }
    Value::Object(m)
}

/// `GET /sites/{id}`: the site object plus the settings a dashboard reads.
pub(crate) fn site_info(s: &FakeSite) -> Value {
    let mut v = site(s);
    if let Value::Object(m) = &mut v {
        m.insert(
            "settings".into(),
            json!({"allow_domains": false, "max_num_cdes": 10, "min_backups": 0}),
        );
        m.insert(
            "holder".into(),
            json!({"id": m.get("holder_id").cloned().unwrap_or(Value::Null)}),
        );
        m.insert("add_ons".into(), json!([]));
    }
    v
}

/// A wrapper of `GET /users/{id}/memberships/sites`; `site` `None` gives `"site": null`.
pub(crate) fn user_site_wrapper(id: &str, account: &FakeAccount, s: Option<&FakeSite>) -> Value {
    json!({
        "id": id,
        "key": account.user_id,
        "site_id": id,
        "user_id": account.user_id,
        "role": "team_member",
        "archived": false,
        "invited_by_id": account.user_id,
        "site": s.map(site),
    })
}

/// A wrapper of `GET /users/{id}/memberships/organizations`. Orgs at odd positions of the
/// config send their logo sizes as strings (a type drift seen in real data).
pub(crate) fn org_wrapper(
    org: &FakeOrg,
    position: usize,
    account: &FakeAccount,
    role: &str,
) -> Value {
    let size = if position % 2 == 1 {
        json!("85")
    } else {
        json!(85)
    };
    json!({
        "id": org.id,
        "key": account.user_id,
        "organization_id": org.id,
        "user_id": account.user_id,
        "role": role,
        "admin": role == "admin",
        "archived": false,
        "invited_by_id": null,
        "organization": {
            "id": org.id,
            "profile": {
                "name": org.name,
                "machine_name": org.machine_name,
                "email_domain": null,
                "base_domain": null,
                "billing_url": null,
                "change_service_url": null,
                "terms_of_service": null,
                "org_logo": null,
                "org_logo_width": size,
                "org_logo_height": size,
            }
        }
    })
}

/// A wrapper of `GET /organizations/{id}/memberships/sites`.
pub(crate) fn org_site_wrapper(org: &FakeOrg, account: &FakeAccount, s: &FakeSite) -> Value {
    json!({
        "id": s.id,
        "key": account.user_id,
        "organization_id": org.id,
        "site_id": s.id,
        "role": "team_member",
        "archived": false,
        "invited_by_id": null,
        "tags": [],
        "site": site(s),
    })
}

/// `GET /users/{id}`.
pub(crate) fn user(account: &FakeAccount, config: &FakeConfig, index: usize) -> Value {
    let local = account.email.split('@').next().unwrap_or_default();
    let first = local.split(['-', '.', '_']).next().unwrap_or_default();
    json!({
        "id": account.user_id,
        "user_id": account.user_id,
        "email": account.email,
        "created_at": 1_428_707_345 + index as i64 * 1000,
        "profile": {
            "firstname": first,
            "lastname": "Ops",
            "full_name": format!("{first} Ops"),
            "email": "",
            "utm_source": null,
            "web_services_business": false,
        },
        "feature_flags": [],
        "dev_sites_count": config.visible_site_ids(index).len(),
    })
}

/// `{"timeseries": [...]}`, optionally with `"summary": null`.
pub(crate) fn timeseries(days: &[Day], summary: bool) -> Value {
    let points: Vec<Value> = days
        .iter()
        .map(|d| {
            json!({
                "timestamp": d.timestamp,
                "time": format_rfc3339(d.timestamp),
                "visits": d.visits,
                "pages_served": d.pages_served,
                "cache_hits": d.cache_hits,
                "cache_misses": d.cache_misses,
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("timeseries".into(), Value::Array(points));
    if summary {
        m.insert("summary".into(), Value::Null);
    }
    Value::Object(m)
}
