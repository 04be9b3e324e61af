//! What a webhook or callback carries, and where a callback goes.
//!
//! A payload starts from the hook's template (its example, else generated from its schema, see
//! [`crate::model::hooks`]); the changed object goes where the hook's schema has the resource's
//! schema, the event's id and times are stamped on the fields named for them, and the result is
//! validated against the hook's schema (violations are kept with the delivery, not hidden).

use crate::model::hooks::Hook;
use crate::model::schema::Location;
use crate::spec::pointer::lookup;
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method};
use serde_json::Value;
use std::time::SystemTime;

/// The exchange that set a callback off, for its runtime expressions.
pub struct Exchange {
    pub method: Method,
    /// The request's full URL (`http://host/path?query`).
    pub url: String,
    pub query: std::sync::Arc<str>,
    pub request_headers: HeaderMap,
    pub request_body: Bytes,
    pub status: u16,
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    pub response_body: Bytes,
}

/// Fields that carry an event's id (at the top of the body).
const ID_FIELDS: &[&str] = &["id", "eventId", "event_id", "webhookId", "webhook_id", "notificationId"];
/// Fields that carry when the event happened (anywhere outside the object).
const TIME_FIELDS: &[&str] = &[
    "created",
    "createdAt",
    "created_at",
    "timestamp",
    "eventDate",
    "event_date",
    "occurredAt",
    "occurred_at",
    "eventTime",
    "time",
];

/// A hook's body for one event, and what is wrong with it by the hook's schema.
///
/// An example that does not fit its own schema (published specs have them: an
/// example carrying a field its schema forbids) gives way to a body generated
/// from the schema, when that one fits.
pub fn build(
    hook: &Hook,
    res: Option<usize>,
    object: Option<&Value>,
    event_id: &str,
    at: SystemTime,
) -> (Value, Vec<String>) {
    let first = build_from(hook, hook.template.clone(), res, object, event_id, at);
    if first.1.is_empty() {
        return first;
    }
    let generated = hook.generated();
    if generated.as_ref() == hook.template.as_ref() {
        return first;
    }
    let second = build_from(hook, generated, res, object, event_id, at);
    if second.1.is_empty() { second } else { first }
}

fn build_from(
    hook: &Hook,
    template: Option<Value>,
    res: Option<usize>,
    object: Option<&Value>,
    event_id: &str,
    at: SystemTime,
) -> (Value, Vec<String>) {
    let mut body = template.unwrap_or(Value::Null);
    let place = res.and_then(|r| hook.object_pointer(r));
    stamp(&mut body, event_id, at, place.unwrap_or("\u{0}"), "", 0);
    name_event(hook, &mut body);
    if let (Some(at), Some(object)) = (place, object) {
        set_at(&mut body, at, object.clone());
    }
    for (at, value) in &hook.set {
        if let Some(v) = fill(value, object) {
            set_at(&mut body, at, v);
        }
    }
    let violations = hook
        .schema
        .as_ref()
        .map(|s| {
            s.violations(&hook.root.load(), &body, Location::Body, "")
                .into_iter()
                .map(|v| format!("{}: {}", if v.field.is_empty() { "body" } else { &v.field }, v.message))
                .collect()
        })
        .unwrap_or_default();
    (body, violations)
}

/// A value of `x-specbox-event.set`: `"{/field}"` alone is the object's value (of its type),
/// placeholders inside text are replaced by the values' text; a placeholder the object does not
/// have leaves the body's own value.
fn fill(value: &Value, object: Option<&Value>) -> Option<Value> {
    let Value::String(text) = value else {
        return Some(value.clone());
    };
    let get = |ptr: &str| object.and_then(|o| o.pointer(ptr));
    if let Some(ptr) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}'))
        && !ptr.contains('{')
    {
        return get(ptr).cloned();
    }
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some((before, after)) = rest.split_once('{') {
        out.push_str(before);
        let (ptr, tail) = after.split_once('}')?;
        match get(ptr)? {
            Value::String(s) => out.push_str(s),
            v => out.push_str(&v.to_string()),
        }
        rest = tail;
    }
    out.push_str(rest);
    Some(Value::String(out))
}

/// Fields that carry the event's name (at the top of the body).
const TYPE_FIELDS: &[&str] = &["type", "eventType", "event_type", "event"];

/// Writes the hook's name into a top-level type field whose schema allows it (no `enum`, or one
/// that lists the name).
fn name_event(hook: &Hook, body: &mut Value) {
    let root = hook.root.load();
    let Some(schema) = hook.schema.as_ref().and_then(|s| lookup(&root, &s.pointer)) else {
        return;
    };
    let props = crate::model::operation::properties(&root, schema);
    let Some(map) = body.as_object_mut() else { return };
    for field in TYPE_FIELDS {
        let allowed = props
            .get(field)
            .map(|p| crate::spec::pointer::resolve(&root, p))
            .is_some_and(|p| {
                p.get("enum")
                    .and_then(Value::as_array)
                    .is_none_or(|e| e.iter().any(|v| v.as_str() == Some(hook.name.as_str())))
                    && p.get("const").is_none()
            });
        if let Some(Value::String(s)) = map.get_mut(*field)
            && allowed
        {
            *s = hook.name.clone();
            return;
        }
    }
}

/// Stamps the event's id (top level) and the time (`now`: by the sandbox clock) (anywhere but inside the placed object) on the
/// fields named for them, keeping each field's type: a number gets Unix seconds, text RFC 3339.
fn stamp(v: &mut Value, event_id: &str, now: SystemTime, skip: &str, at: &str, depth: usize) {
    if at == skip || depth > 4 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, field) in map.iter_mut() {
                let here = format!("{at}/{}", crate::spec::pointer::escape_pointer(k));
                if depth == 0 && ID_FIELDS.contains(&k.as_str()) && here != skip {
                    match field {
                        Value::String(s) => *s = event_id.to_string(),
                        Value::Number(_) => *field = Value::from(numeric_id(event_id)),
                        _ => {}
                    }
                } else if TIME_FIELDS.contains(&k.as_str()) && here != skip {
                    match field {
                        Value::String(s) => *s = humantime::format_rfc3339_seconds(now).to_string(),
                        Value::Number(_) => {
                            let secs = now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                            *field = Value::from(secs);
                        }
                        _ => {}
                    }
                } else {
                    stamp(field, event_id, now, skip, &here, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                stamp(item, event_id, now, skip, &format!("{at}/{i}"), depth + 1);
            }
        }
        _ => {}
    }
}

/// The number in an event id (`evt_17` → 17), for bodies whose id is an integer.
fn numeric_id(event_id: &str) -> u64 {
    event_id.rsplit('_').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// Puts `value` at `pointer` in `body`, making the objects on the way.
fn set_at(body: &mut Value, pointer: &str, value: Value) {
    if pointer.is_empty() {
        *body = value;
        return;
    }
    let mut here = body;
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if !here.is_object() && !here.is_array() {
            // An array's place is `/0`: a missing array is made with one item.
            *here = if seg.parse::<usize>().is_ok() {
                Value::Array(Vec::new())
            } else {
                Value::Object(Default::default())
            };
        }
        let next = match here {
            Value::Object(map) => map.entry(seg.clone()).or_insert(Value::Null),
            Value::Array(items) => {
                let idx = seg.parse::<usize>().unwrap_or(0).min(items.len());
                if idx == items.len() {
                    items.push(Value::Null);
                }
                match items.get_mut(idx) {
                    Some(v) => v,
                    None => return,
                }
            }
            _ => return,
        };
        if last {
            *next = value;
            return;
        }
        here = next;
    }
}

/// Resolves a URL with runtime expressions in braces (`{$request.body#/callbackUrl}?id={$response.body#/id}`).
pub fn resolve_url(template: &str, ex: &Exchange) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(rest.get(..start).unwrap_or(""));
        let after = rest.get(start + 1..).unwrap_or("");
        let Some(end) = after.find('}') else {
            out.push_str(rest.get(start..).unwrap_or(""));
            return out;
        };
        out.push_str(&expression(after.get(..end).unwrap_or(""), ex).unwrap_or_default());
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    // A whole URL that is one bare expression (`$request.body#/url`, no braces).
    if out.starts_with('$') {
        return expression(&out, ex).unwrap_or_default();
    }
    out
}

/// One runtime expression (OpenAPI 3.x "Runtime Expressions").
pub fn expression(expr: &str, ex: &Exchange) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let json_at = |body: &Bytes, pointer: &str| -> Option<String> {
        let v: Value = serde_json::from_slice(body).ok()?;
        lookup(&v, pointer).map(text)
    };
    fn header<'h>(name: &str, mut headers: impl Iterator<Item = (&'h str, &'h [u8])>) -> Option<String> {
        headers
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
    match expr {
        "$url" => return Some(ex.url.clone()),
        "$method" => return Some(ex.method.to_string()),
        "$statusCode" => return Some(ex.status.to_string()),
        _ => {}
    }
    if let Some(p) = expr.strip_prefix("$request.body") {
        return json_at(&ex.request_body, p.strip_prefix('#').unwrap_or(p));
    }
    if let Some(p) = expr.strip_prefix("$response.body") {
        return json_at(&ex.response_body, p.strip_prefix('#').unwrap_or(p));
    }
    if let Some(name) = expr.strip_prefix("$request.query.") {
        return crate::exchange::parts::form_pairs(ex.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string());
    }
    if let Some(name) = expr.strip_prefix("$request.header.") {
        return header(name, ex.request_headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())));
    }
    if let Some(name) = expr.strip_prefix("$response.header.") {
        return header(
            name,
            ex.response_headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exchange() -> Exchange {
        let mut headers = HeaderMap::new();
        headers.insert("x-trace", HeaderValue::from_static("t-1"));
        Exchange {
            method: Method::POST,
            url: "http://h/subscribe?x=1".into(),
            query: "x=1&y=two%20words".into(),
            request_headers: headers,
            request_body: Bytes::from_static(br#"{"callbackUrl": "http://cb/hook", "n": 5}"#),
            status: 201,
            response_headers: Vec::new(),
            response_body: Bytes::from_static(br#"{"id": "sub_1"}"#),
        }
    }

    #[test]
    fn runtime_expressions_resolve() {
        let ex = exchange();
        assert_eq!(resolve_url("{$request.body#/callbackUrl}", &ex), "http://cb/hook");
        assert_eq!(
            resolve_url(
                "{$request.body#/callbackUrl}/{$response.body#/id}?y={$request.query.y}&m={$method}",
                &ex
            ),
            "http://cb/hook/sub_1?y=two words&m=POST"
        );
        assert_eq!(resolve_url("{$url}", &ex), "http://h/subscribe?x=1");
        assert_eq!(expression("$request.header.X-Trace", &ex).as_deref(), Some("t-1"));
        assert_eq!(expression("$request.body#/n", &ex).as_deref(), Some("5"));
        assert_eq!(expression("$request.body#/missing", &ex), None);
    }

    #[test]
    fn objects_are_placed_through_objects_and_arrays() {
        let mut v = json!({"data": {}});
        set_at(&mut v, "/data/object", json!({"id": 1}));
        assert_eq!(v, json!({"data": {"object": {"id": 1}}}));
        let mut v = json!({"items": [{"item": {"old": true}}]});
        set_at(&mut v, "/items/0/item", json!({"id": 2}));
        assert_eq!(v, json!({"items": [{"item": {"id": 2}}]}));
        let mut v = Value::Null;
        set_at(&mut v, "/list/0", json!(3));
        assert_eq!(v, json!({"list": [3]}));
    }

    #[test]
    fn ids_and_times_are_stamped_in_their_own_types() {
        let mut v =
            json!({"id": "x", "created": 1, "data": {"object": {"id": "keep", "created": 7}, "eventDate": "old"}});
        stamp(&mut v, "evt_12", std::time::SystemTime::now(), "/data/object", "", 0);
        assert_eq!(v["id"], "evt_12");
        assert!(v["created"].as_u64().unwrap() > 1_700_000_000);
        assert_eq!(v["data"]["object"], json!({"id": "keep", "created": 7}));
        assert_ne!(v["data"]["eventDate"], "old");
    }
}
