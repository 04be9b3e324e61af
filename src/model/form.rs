//! Form bodies (`application/x-www-form-urlencoded`, `multipart/form-data`) as the JSON objects
//! their schemas describe, so that they validate, are stored and are answered as JSON would be.
//!
//! A field's text is typed by the schema of the property it fills (`"2"` is `2` where an integer
//! is declared), and a name sent twice is an array. Names may be bracketed, as form-encoding
//! APIs and their client libraries write nested values (OpenAPI's `deepObject` style):
//! `labels[size]=xl` is `{"labels": {"size": "xl"}}`, `lines[0][sku]=p` is
//! `{"lines": [{"sku": "p"}]}` and `tags[]=a&tags[]=b` is `{"tags": ["a", "b"]}`. A name that the
//! schema declares as it is (`a[b]` as a property) stays flat.
//!
//! Indices are keys until every field is read: an array is made from them in their order, with
//! no gaps, so `items[999999999]=x` is one item, not a billion.

use crate::model::schema::Coerce;
use crate::spec::pointer::{Field, resolve};
use serde_json::{Map, Value};

/// How deep brackets nest (`a[b][c]...`): deeper names are kept flat, as sent.
const MAX_DEPTH: usize = 32;

/// Parses an `application/x-www-form-urlencoded` body into an object, coercing each field by the
/// body schema's property types so it validates like JSON would.
pub fn parse_form(root: &Value, schema: Option<&Value>, body: &[u8]) -> Value {
    form_value(root, schema, crate::exchange::parts::form_pairs(body), false)
}

/// A `multipart/form-data` body as a JSON object, typed like [`parse_form`]'s (a file part is its
/// file's name); `None` when the body is not made of parts.
pub fn parse_multipart(root: &Value, schema: Option<&Value>, content_type: &str, body: &[u8]) -> Option<Value> {
    let parts = crate::exchange::parts::multipart_parts(content_type, body)?;
    Some(form_value(
        root,
        schema,
        parts.into_iter().map(|p| (p.name, p.value)),
        true,
    ))
}

/// Form fields as a JSON object (see the module's documentation). In a multipart body an object
/// or array may also come as one part of JSON text (OpenAPI's default encoding of an object there
/// is `application/json`).
fn form_value(
    root: &Value,
    schema: Option<&Value>,
    pairs: impl Iterator<Item = (String, String)>,
    multipart: bool,
) -> Value {
    // Grouped by name in the order names first come, through an index: a body of many names
    // (`items[0][price]`, `items[1][price]`, ...) is read in linear time.
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize, foldhash::fast::RandomState> = Default::default();
    for (k, v) in pairs {
        match index.get(&k) {
            Some(&i) => {
                if let Some((_, values)) = grouped.get_mut(i) {
                    values.push(v);
                }
            }
            None => {
                index.insert(k.clone(), grouped.len());
                grouped.push((k, vec![v]));
            }
        }
    }
    let schema = schema.map(|s| resolve(root, s));
    let mut out = Value::Object(Map::new());
    let mut nested = false;
    for (k, values) in grouped {
        let declared = schema.and_then(|s| property(root, s, &k));
        let path = match declared {
            Some(_) => None,
            None => bracketed(&k),
        };
        let Some(keys) = path else {
            let typing = declared.or_else(|| schema.and_then(|s| child(root, s, &k)));
            let value = typed(root, typing, &values, multipart);
            // A name sent both plain and bracketed (`a=1&a[b]=2`, in either order): the
            // bracketed one wins.
            if let Value::Object(o) = &mut out {
                o.entry(k).or_insert(value);
            }
            continue;
        };
        nested = true;
        place(root, &mut out, schema, &keys, &values);
    }
    if nested {
        arrays(root, &mut out, schema, 0);
    }
    out
}

/// A `deepObject` query parameter (`when[gte]=1&when[lt]=9`) from the query's pairs: those
/// named `name[...]`, nested and typed as a form body's bracketed names are. `None` when there
/// are none.
pub fn deep_object<'q>(
    root: &Value,
    name: &str,
    schema: Option<&Value>,
    pairs: impl Iterator<Item = (&'q str, &'q str)>,
) -> Option<Value> {
    let schema = schema.map(|s| resolve(root, s));
    let mut out: Option<Value> = None;
    for (key, value) in pairs {
        let Some(keys) = bracketed(key).filter(|keys| keys.first() == Some(&name)) else {
            continue;
        };
        let target = out.get_or_insert(Value::Null);
        place(
            root,
            target,
            schema,
            keys.get(1..).unwrap_or_default(),
            &[value.to_string()],
        );
    }
    let mut out = out?;
    arrays(root, &mut out, schema, 0);
    Some(out)
}

/// `values` sent under one name, typed by `schema` (text where there is none).
fn typed(root: &Value, schema: Option<&Value>, values: &[String], multipart: bool) -> Value {
    let coerce = schema.map_or(Coerce::String, |s| Coerce::for_schema(root, s, true));
    if let ([one], true, Coerce::Array(..) | Coerce::Json) = (values, multipart, &coerce)
        && let Ok(v @ (Value::Array(_) | Value::Object(_))) = serde_json::from_str::<Value>(one)
    {
        return v;
    }
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    coerce.apply(&refs)
}

/// `a[b][0][]` as the keys `["a", "b", "0", ""]`; `None` for a name without brackets, with
/// malformed ones (`a[b`, `a]b[`), or nested deeper than [`MAX_DEPTH`].
fn bracketed(name: &str) -> Option<Vec<&str>> {
    let open = name.find('[')?;
    if open == 0 || !name.ends_with(']') {
        return None;
    }
    let mut segments = vec![&name[..open]];
    let mut rest = &name[open..];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        let segment = &inner[..close];
        if segment.contains('[') || segments.len() > MAX_DEPTH {
            return None;
        }
        segments.push(segment);
        rest = &inner[close + 1..];
    }
    Some(segments)
}

/// Puts `values` at `keys` below `target` (an object), making objects on the way; an empty key
/// (`tags[]`) appends each value to an array there.
fn place(root: &Value, target: &mut Value, schema: Option<&Value>, keys: &[&str], values: &[String]) {
    let Some((key, rest)) = keys.split_first() else {
        *target = typed(root, schema, values, false);
        return;
    };
    if key.is_empty() {
        let items = schema.and_then(|s| items(root, s));
        if !target.is_array() {
            *target = Value::Array(Vec::new());
        }
        if let Value::Array(list) = target {
            for v in values {
                let mut slot = Value::Null;
                place(root, &mut slot, items, rest, std::slice::from_ref(v));
                list.push(slot);
            }
        }
        return;
    }
    if !target.is_object() {
        // A name sent both plain and bracketed (`a=1&a[b]=2`): the bracketed one wins.
        *target = Value::Object(Map::new());
    }
    let below = schema.and_then(|s| child(root, s, key).or_else(|| items(root, s)));
    if let Value::Object(map) = target {
        let slot = map.entry(key.to_string()).or_insert(Value::Null);
        place(root, slot, below, rest, values);
    }
}

/// Turns each object whose keys are all indices into an array, in the order of its indices,
/// where the schema there says array (or says nothing and the keys are `0`, `1`, ...).
fn arrays(root: &Value, value: &mut Value, schema: Option<&Value>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let below = schema.and_then(|s| child(root, s, k).or_else(|| items(root, s)));
                arrays(root, v, below, depth + 1);
            }
            let indices: Option<Vec<usize>> = map.keys().map(|k| k.parse::<usize>().ok()).collect();
            let Some(mut order) = indices.filter(|i| !i.is_empty()) else {
                return;
            };
            let says_array = schema.is_some_and(|s| items(root, s).is_some());
            let says_object = schema.is_some_and(|s| child(root, s, "0").is_some() && items(root, s).is_none());
            order.sort_unstable();
            let counted = order.iter().enumerate().all(|(i, n)| i == *n);
            if says_array || (!says_object && counted) {
                let mut entries: Vec<(usize, Value)> = std::mem::take(map)
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
                    .collect();
                entries.sort_by_key(|(i, _)| *i);
                *value = Value::Array(entries.into_iter().map(|(_, v)| v).collect());
            }
        }
        Value::Array(list) => {
            let below = schema.and_then(|s| items(root, s));
            for v in list {
                arrays(root, v, below, depth + 1);
            }
        }
        _ => {}
    }
}

/// How deep [`property`], [`child`] and [`items`] look into composed branches: a schema may be
/// a branch of itself.
const MAX_BRANCHING: usize = 16;

/// The property `key` of an object `schema` describes, looked for in composed branches too.
fn property<'a>(root: &'a Value, schema: &'a Value, key: &str) -> Option<&'a Value> {
    property_at(root, schema, key, 0)
}

fn property_at<'a>(root: &'a Value, schema: &'a Value, key: &str, depth: usize) -> Option<&'a Value> {
    let s = resolve(root, schema);
    if let Some(p) = s.field("properties").and_then(|p| p.get(key)) {
        return Some(p);
    }
    (depth < MAX_BRANCHING)
        .then(|| branches(s).find_map(|b| property_at(root, b, key, depth + 1)))
        .flatten()
}

/// The schema of member `key` of an object `schema` describes: a property, else the schema of
/// other members (`additionalProperties`), looked for in composed branches too.
fn child<'a>(root: &'a Value, schema: &'a Value, key: &str) -> Option<&'a Value> {
    property(root, schema, key).or_else(|| extra_at(root, schema, 0))
}

/// The schema of members that are not properties (`additionalProperties`, if a schema).
fn extra_at<'a>(root: &'a Value, schema: &'a Value, depth: usize) -> Option<&'a Value> {
    let s = resolve(root, schema);
    if let Some(extra) = s.field("additionalProperties").filter(|a| a.is_object()) {
        return Some(extra);
    }
    (depth < MAX_BRANCHING)
        .then(|| branches(s).find_map(|b| extra_at(root, b, depth + 1)))
        .flatten()
}

/// The schema of an array's items, where `schema` (or one of its composed branches) is an array.
fn items<'a>(root: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    items_at(root, schema, 0)
}

fn items_at<'a>(root: &'a Value, schema: &'a Value, depth: usize) -> Option<&'a Value> {
    let s = resolve(root, schema);
    if let Some(i) = s.field("items") {
        return Some(i);
    }
    (depth < MAX_BRANCHING)
        .then(|| branches(s).find_map(|b| items_at(root, b, depth + 1)))
        .flatten()
}

fn branches(s: &Value) -> impl Iterator<Item = &Value> {
    ["anyOf", "oneOf", "allOf"]
        .into_iter()
        .filter_map(|k| s.field(k).and_then(Value::as_array))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(schema: Value, body: &str) -> Value {
        parse_form(&Value::Null, Some(&schema), body.as_bytes())
    }

    #[test]
    fn bracketed_names_nest_objects_and_arrays_typed_by_the_schema() {
        let schema = json!({"type": "object", "properties": {
            "email": {"type": "string"},
            "labels": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"enum": [""]}]},
            "lines": {"type": "array", "items": {"type": "object", "properties": {
                "sku": {"type": "string"}, "quantity": {"type": "integer"}}}},
            "tags": {"type": "array", "items": {"type": "string"}},
            "a[b]": {"type": "string"}
        }});
        let body = "email=a%40b.c&labels[size]=xl&labels[seats]=3&lines[1][sku]=p2&lines[0][sku]=p1\
                    &lines[0][quantity]=2&tags[]=red&tags[]=blue&a[b]=flat";
        assert_eq!(
            form(schema, body),
            json!({
                "email": "a@b.c",
                "labels": {"size": "xl", "seats": "3"},
                "lines": [{"sku": "p1", "quantity": 2}, {"sku": "p2"}],
                "tags": ["red", "blue"],
                "a[b]": "flat"
            })
        );
    }

    #[test]
    fn indices_are_an_array_in_their_order_without_gaps_and_malformed_names_stay_flat() {
        let schema = json!({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}});
        assert_eq!(
            form(schema.clone(), "tags[999999999]=b&tags[3]=a"),
            json!({"tags": ["a", "b"]})
        );
        // With no schema, counted indices are a list and other keys an object.
        assert_eq!(
            form(json!({}), "x[0]=a&x[1]=b&y[2]=c&z[k]=v"),
            json!({"x": ["a", "b"], "y": {"2": "c"}, "z": {"k": "v"}})
        );
        // Plain and bracketed under one name: the bracketed one, in either order.
        assert_eq!(form(json!({}), "a=1&a[b]=2"), json!({"a": {"b": "2"}}));
        assert_eq!(form(json!({}), "a[b]=2&a=1"), json!({"a": {"b": "2"}}));
        assert_eq!(
            form(json!({}), "a[b=1&c]d[=2&[e]=3"),
            json!({"a[b": "1", "c]d[": "2", "[e]": "3"})
        );
        let deep = format!("d{}=1", "[x]".repeat(MAX_DEPTH + 1));
        assert!(form(json!({}), &deep).get(deep.trim_end_matches("=1")).is_some());
    }

    #[test]
    fn a_deep_object_parameter_is_its_bracketed_pairs() {
        let schema = json!({"anyOf": [
            {"type": "object", "properties": {"gte": {"type": "integer"}, "lt": {"type": "integer"}}},
            {"type": "integer"}
        ]});
        let pairs = [
            ("created[gte]", "10"),
            ("limit", "3"),
            ("created[lt]", "20"),
            ("createdx[a]", "1"),
        ];
        assert_eq!(
            deep_object(&Value::Null, "created", Some(&schema), pairs.into_iter()),
            Some(json!({"gte": 10, "lt": 20}))
        );
        assert_eq!(
            deep_object(&Value::Null, "other", Some(&schema), pairs.into_iter()),
            None
        );
    }

    #[test]
    fn a_schema_that_is_its_own_branch_ends() {
        let root = json!({"components": {"schemas": {"A": {"anyOf": [{"$ref": "#/components/schemas/A"}]}}}});
        let schema = json!({"$ref": "#/components/schemas/A"});
        let v = parse_form(&root, Some(&schema), b"a[b][0]=1&c[]=2");
        assert_eq!(v, json!({"a": {"b": ["1"]}, "c": ["2"]}));
    }
}
