//! Reading a loaded document: JSON pointers, local `$ref`s, canonical JSON text, and the methods
//! a path item may hold.

use serde_json::Value;
use std::borrow::Cow;

/// Where the bundler is in a file: a path of segments on the stack, made a JSON pointer only
/// when a message needs one.
pub(super) struct At<'a> {
    pub(super) parent: Option<&'a At<'a>>,
    pub(super) segment: Segment<'a>,
}

pub(super) enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

impl At<'_> {
    pub(super) fn pointer(at: Option<&At<'_>>) -> String {
        let mut segments = Vec::new();
        let mut current = at;
        while let Some(a) = current {
            segments.push(&a.segment);
            current = a.parent;
        }
        let mut out = String::new();
        for s in segments.iter().rev() {
            out.push('/');
            match s {
                Segment::Key(k) => out.push_str(&escape_pointer(k)),
                Segment::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }
}

/// Looks a JSON pointer up (`""` is the whole document), exactly as `Value::pointer` does but
/// without its two string allocations per segment: startup resolves tens of thousands of
/// pointers into a large document, and those allocations were most of the cost.
pub fn lookup<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let rest = pointer.strip_prefix('/')?;
    rest.split('/').try_fold(root, |target, raw| {
        let token: Cow<'_, str> = if raw.contains('~') {
            Cow::Owned(raw.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(raw)
        };
        match target {
            Value::Object(map) => map.get(token.as_ref()),
            Value::Array(list) => array_index(&token).and_then(|i| list.get(i)),
            _ => None,
        }
    })
}

/// An array index token as `Value::pointer` reads it: no sign, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

/// JSON text with object keys sorted at every level: equal values give equal text, whatever the
/// key order (documents keep insertion order), so requests can be compared and fingerprinted.
pub fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        Value::String(k.clone()),
                        map.get(k).map_or_else(String::new, canonical_json)
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Escapes one JSON pointer segment.
pub fn escape_pointer(segment: &str) -> String {
    if segment.contains(['~', '/']) {
        segment.replace('~', "~0").replace('/', "~1")
    } else {
        segment.to_string()
    }
}

/// Percent-decodes `s` (invalid UTF-8 becomes U+FFFD). Text without a `%` is returned as it is,
/// skipping the decoder's byte-by-byte scan and UTF-8 re-validation: path parameters, `$ref`s and
/// credentials rarely need decoding, and path parameters are decoded on every request.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

/// Follows a chain of local `$ref`s (bounded, so a reference loop cannot hang).
pub fn resolve<'a>(root: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) if r.starts_with('#') => match lookup(root, &percent_decode(&r[1..])) {
                Some(target) => value = target,
                None => return value,
            },
            _ => return value,
        }
    }
    value
}

/// The pointer a (possibly `$ref`) value finally resolves to, given the pointer it was found at.
pub fn resolve_pointer(root: &Value, mut pointer: String) -> String {
    for _ in 0..32 {
        match lookup(root, &pointer)
            .and_then(|v| v.get("$ref"))
            .and_then(Value::as_str)
        {
            Some(r) if r.starts_with('#') => pointer = percent_decode(&r[1..]).into_owned(),
            _ => break,
        }
    }
    pointer
}

/// [`resolve_pointer`] given `value`, the value at `pointer`, which the caller already holds: the
/// document is walked only when `value` is itself a `$ref` (otherwise the pointer stays).
pub fn resolve_pointer_of(root: &Value, value: &Value, pointer: String) -> String {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with('#') => resolve_pointer(root, pointer),
        _ => pointer,
    }
}

/// The HTTP methods an OpenAPI path item may hold, in the order they are reported.
pub const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];
