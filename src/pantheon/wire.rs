//! Lenient decoding of the API's JSON: only the fields we use, tolerant of type drift
//! (numbers sent as strings and back, objects where strings were, missing fields).
//!
//! The real API has broken strict decoders before (`upstream` turning from a string into an
//! object), so nothing here uses derived `Deserialize` on the wire shapes.

use serde_json::Value;

use crate::model::{Day, Site};

/// A string field that may arrive as a string or a number; anything else is absent.
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A non-empty string field.
fn non_empty(v: &Value, key: &str) -> Option<String> {
    text(v, key).filter(|s| !s.trim().is_empty())
}

/// An integer that may arrive as a number, a float or a numeric string.
pub(crate) fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| u.min(i64::MAX as u64) as i64))
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Decodes a site object (section 4 of the API notes). `None` when it has no usable id.
///
/// ```
/// use pantheon_metrics::pantheon::wire::site;
/// let v = serde_json::json!({"id": "abc", "name": "acme", "attributes": {"label": "Acme"},
///     "service_level": "pro", "php_version": 74, "upstream": {"url": "x"}});
/// let s = site(&v).unwrap();
/// assert_eq!((s.label.as_str(), s.plan.as_str()), ("Acme", "pro"));
/// ```
pub fn site(v: &Value) -> Option<Site> {
    if !v.is_object() {
        return None;
    }
    let id = non_empty(v, "id")?;
    let name = non_empty(v, "name").unwrap_or_else(|| id.clone());
    let label = non_empty(v, "label")
        .or_else(|| v.get("attributes").and_then(|a| non_empty(a, "label")))
        .unwrap_or_else(|| name.clone());
    let plan = non_empty(v, "plan_name")
        .or_else(|| non_empty(v, "service_level"))
        .unwrap_or_default();
    let frozen = v
        .get("frozen")
        .and_then(boolean)
        .or_else(|| v.get("is_frozen").and_then(boolean))
        .unwrap_or(false);
    Some(Site {
        id,
        name,
        label,
        plan,
        framework: text(v, "framework").unwrap_or_default(),
        region: non_empty(v, "preferred_zone")
            .or_else(|| non_empty(v, "preferred_zone_label"))
            .unwrap_or_default(),
        organization: text(v, "organization").unwrap_or_default(),
        frozen,
        created: v.get("created").and_then(integer).unwrap_or(0),
    })
}

/// The paging cursor of a membership wrapper (its `id`, which equals the site or org id).
pub fn wrapper_id(v: &Value) -> Option<String> {
    non_empty(v, "id")
}

/// The site inside a site-membership wrapper; `None` for `"site": null` or a broken site.
pub fn membership_site(wrapper: &Value) -> Option<Site> {
    wrapper.get("site").and_then(site)
}

/// An organization membership: the org id and the user's role in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgMembership {
    pub id: String,
    pub name: String,
    pub role: String,
}

pub fn org_membership(wrapper: &Value) -> Option<OrgMembership> {
    let org = wrapper.get("organization");
    let id = org
        .and_then(|o| non_empty(o, "id"))
        .or_else(|| non_empty(wrapper, "organization_id"))
        .or_else(|| non_empty(wrapper, "id"))?;
    let name = org
        .and_then(|o| o.get("profile"))
        .and_then(|p| non_empty(p, "name").or_else(|| non_empty(p, "machine_name")))
        .unwrap_or_else(|| id.clone());
    Some(OrgMembership {
        id,
        name,
        role: text(wrapper, "role").unwrap_or_default(),
    })
}

/// The login answer.
#[derive(Clone, Debug)]
pub struct LoginAnswer {
    pub session: String,
    pub expires_at: i64,
    pub user_id: String,
}

pub fn login(v: &Value) -> Option<LoginAnswer> {
    Some(LoginAnswer {
        session: non_empty(v, "session")?,
        // A missing expiry is treated as "already expired" by the session logic, which
        // then re-logs in on the next call; 0 keeps that explicit.
        expires_at: v.get("expires_at").and_then(integer).unwrap_or(0),
        user_id: non_empty(v, "user_id")?,
    })
}

/// The e-mail of `GET /users/{id}` (top-level `email`; `profile.email` is empty in practice).
pub fn email(v: &Value) -> Option<String> {
    non_empty(v, "email")
}

/// Why a traffic answer could not be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(pub String);

/// Decodes `{"timeseries": [...]}`: points sorted oldest first, one per timestamp. A point
/// without a usable timestamp or with a negative counter is skipped and counted in the
/// second value, so one broken point does not throw away the rest.
pub fn traffic(v: &Value) -> Result<(Vec<Day>, usize), ShapeError> {
    let series = match v.get("timeseries") {
        Some(Value::Array(items)) => items,
        Some(Value::Null) => return Ok((Vec::new(), 0)),
        Some(_) => return Err(ShapeError("\"timeseries\" is not an array".into())),
        None if v.is_object() => return Err(ShapeError("no \"timeseries\" key".into())),
        None => return Err(ShapeError("the answer is not a JSON object".into())),
    };
    let mut skipped = 0;
    let mut days: Vec<Day> = Vec::with_capacity(series.len());
    for point in series {
        match traffic_point(point) {
            Some(day) => days.push(day),
            None => skipped += 1,
        }
    }
    days.sort_by_key(|d| d.timestamp);
    // Keep the last answer for a repeated timestamp.
    days.reverse();
    days.dedup_by_key(|d| d.timestamp);
    days.reverse();
    Ok((days, skipped))
}

fn traffic_point(v: &Value) -> Option<Day> {
    let counter = |key: &str| -> Option<u64> {
        match v.get(key) {
            None | Some(Value::Null) => Some(0),
            Some(x) => integer(x).and_then(|i| u64::try_from(i).ok()),
        }
    };
    Some(Day {
        timestamp: v.get("timestamp").and_then(integer)?,
        visits: counter("visits")?,
        pages_served: counter("pages_served")?,
        cache_hits: counter("cache_hits")?,
        cache_misses: counter("cache_misses")?,
    })
}

/// `GET /site-names/{name}` answers `{"id", "name"}`.
pub fn site_name_id(v: &Value) -> Option<String> {
    non_empty(v, "id")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn site_label_and_plan_fall_back() {
        let top = site(&json!({"id":"1","name":"n","label":"L","attributes":{"label":"A"},"plan_name":"Basic","service_level":"pro"})).unwrap();
        assert_eq!((top.label.as_str(), top.plan.as_str()), ("L", "Basic"));
        let attr =
            site(&json!({"id":"1","name":"n","attributes":{"label":"A"},"service_level":"pro"}))
                .unwrap();
        assert_eq!((attr.label.as_str(), attr.plan.as_str()), ("A", "pro"));
        let name = site(&json!({"id":"1","name":"n","label":""})).unwrap();
        assert_eq!(name.label, "n");
    }

    #[test]
    fn site_tolerates_type_drift() {
        let s = site(
            &json!({"id":"1","name":"n","created":"1428707345","is_frozen":"true",
            "php_version":53,"upstream":"x: y","framework":7}),
        )
        .unwrap();
        assert_eq!(s.created, 1428707345);
        assert!(s.frozen);
        assert_eq!(s.framework, "7");
        assert!(site(&json!({"name":"no-id"})).is_none());
        assert!(site(&json!(null)).is_none());
        assert!(site(&json!([1, 2])).is_none());
    }

    #[test]
    fn traffic_accepts_drift_and_skips_broken_points() {
        let (days, skipped) = traffic(&json!({"summary": null, "timeseries": [
            {"timestamp": 1762819200, "visits": "5", "pages_served": 4.0, "cache_hits": 1, "cache_misses": 3},
            {"timestamp": "1762732800", "visits": 1, "pages_served": 2, "cache_hits": 1, "cache_misses": 1},
            {"visits": 1},
            {"timestamp": 1, "visits": -3},
            "garbage"
        ]})).unwrap();
        assert_eq!(skipped, 3);
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].timestamp, 1762732800);
        assert_eq!(days[1].visits, 5);
        assert_eq!(days[1].pages_served, 4);
    }

    #[test]
    fn traffic_rejects_wrong_shapes() {
        assert!(traffic(&json!({"timeseries": {}})).is_err());
        assert!(traffic(&json!([])).is_err());
        assert!(traffic(&json!({})).is_err());
        assert_eq!(traffic(&json!({"timeseries": []})).unwrap().0.len(), 0);
    }

    #[test]
    fn org_membership_reads_nested_or_flat_ids() {
        let m = org_membership(&json!({"id":"w","organization_id":"o","role":"admin","organization":{"id":"o","profile":{"name":"Org"}}})).unwrap();
        assert_eq!(
            (m.id.as_str(), m.name.as_str(), m.role.as_str()),
            ("o", "Org", "admin")
        );
        let flat = org_membership(&json!({"id":"o2","role":"unprivileged"})).unwrap();
        assert_eq!(flat.id, "o2");
    }
}
