//! Reading a loaded document: JSON pointers, local `$ref`s, canonical JSON text, and the methods
//! a path item may hold.

use serde_json::{Map, Value};
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

/// One reference token of a JSON pointer, unescaped (`~1` is `/`, `~0` is `~`); borrowed when
/// it has no escapes, as nearly every token has none.
#[inline]
fn unescape_token(raw: &str) -> Cow<'_, str> {
    // Tokens are a few bytes: a plain loop, not a `memchr` call.
    if !raw.bytes().any(|b| b == b'~') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    unescape_into(raw, &mut out);
    Cow::Owned(out)
}

/// `raw` unescaped onto the end of `out`, in one pass (path templates put a `~1` in every
/// pointer under `paths`).
fn unescape_into(raw: &str, out: &mut String) {
    let mut rest = raw;
    while let Some(i) = rest.find('~') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let after = rest.get(i + 1..).unwrap_or_default();
        match after.as_bytes().first() {
            Some(b'1') => out.push('/'),
            Some(b'0') => out.push('~'),
            // Not an escape: kept as it is, as `Value::pointer` keeps it.
            _ => {
                out.push('~');
                rest = after;
                continue;
            }
        }
        rest = after.get(1..).unwrap_or_default();
    }
    out.push_str(rest);
}

/// Looks a JSON pointer up (`""` is the whole document), exactly as `Value::pointer` does but
/// without its two string allocations per segment: startup resolves tens of thousands of
/// pointers into a large document, and those allocations were most of the cost.
///
/// An escaped token (`~1`, in every pointer under `paths`) is unescaped into one buffer that
/// the whole look-up reuses.
pub fn lookup<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    lookup_through(root, pointer, |_| true)
}

/// [`lookup`], where every value the pointer passes through (the root included, the target not)
/// is first shown to `pass`, and the look-up finds nothing where `pass` says `false`.
#[inline]
pub fn lookup_through<'a>(
    root: &'a Value,
    pointer: &str,
    mut pass: impl FnMut(&'a Value) -> bool,
) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let rest = pointer.strip_prefix('/')?;
    let mut unescaped = String::new();
    tokens(rest).try_fold(root, |target, raw| {
        if !pass(target) {
            return None;
        }
        let token = if raw.bytes().any(|b| b == b'~') {
            unescaped.clear();
            unescape_into(raw, &mut unescaped);
            unescaped.as_str()
        } else {
            raw
        };
        match target {
            Value::Object(map) => member(map, token),
            Value::Array(list) => array_index(token).and_then(|i| list.get(i)),
            _ => None,
        }
    })
}

/// [`lookup`] for changing what is found (as `Value::pointer_mut`, without its allocations).
pub fn lookup_mut<'a>(root: &'a mut Value, pointer: &str) -> Option<&'a mut Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let rest = pointer.strip_prefix('/')?;
    tokens(rest).try_fold(root, |target, raw| {
        let token = unescape_token(raw);
        match target {
            Value::Object(map) => member_mut(map, token.as_ref()),
            Value::Array(list) => array_index(&token).and_then(|i| list.get_mut(i)),
            _ => None,
        }
    })
}

/// The raw tokens of a pointer (less its leading `/`), split at each `/` byte: tokens are a few
/// bytes long, where a byte loop costs less than `str::split`'s searcher (a twentieth of a large
/// spec's startup went to finding the slashes).
fn tokens(rest: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(rest);
    std::iter::from_fn(move || {
        let now = rest?;
        match now.bytes().position(|b| b == b'/') {
            // `/` is ASCII, so both sides of it are on character boundaries.
            Some(i) => {
                rest = Some(&now[i + 1..]);
                Some(&now[..i])
            }
            None => {
                rest = None;
                Some(now)
            }
        }
    })
}

/// Objects of at most this many members are searched in order rather than through their hash
/// table (see [`member`]).
const SCAN: usize = 8;

/// An object's member by name, as `Map::get`, comparing names in order when the object is small.
///
/// A document's maps hash their keys with SipHash (serde_json's map is an `IndexMap` with the
/// standard hasher, which it does not let us change), and startup reads hundreds of thousands of
/// members of small maps (a schema, an operation, a response): hashing the name cost more than
/// comparing it with a handful of keys, most of which differ in length at once. Found entries are
/// the same either way, since an object's names are unique.
///
/// Always inlined: it is the inner step of every look-up, and where a build left it a call of
/// its own, a large spec's startup took 4% more instructions.
#[inline(always)]
pub fn member<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if map.len() <= SCAN {
        map.iter().find_map(|(k, v)| (k == name).then_some(v))
    } else {
        map.get(name)
    }
}

/// [`member`] for changing what is found.
#[inline]
pub fn member_mut<'a>(map: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    if map.len() <= SCAN {
        map.iter_mut().find_map(|(k, v)| (k == name).then_some(v))
    } else {
        map.get_mut(name)
    }
}

/// [`member`] as a method, for any value: `schema.field("type")` reads as `schema.field("type")` does,
/// without hashing the name when the object is small.
pub trait Field {
    fn field(&self, name: &str) -> Option<&Value>;
}

impl Field for Value {
    #[inline]
    fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(map) => member(map, name),
            _ => None,
        }
    }
}

impl Field for Map<String, Value> {
    #[inline]
    fn field(&self, name: &str) -> Option<&Value> {
        member(self, name)
    }
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

/// A JSON pointer as a URI fragment (without the `#`): each segment percent-encoded where a
/// fragment may not hold the character as it is (path templates bring `{` and `}`).
pub fn encode_fragment(pointer: &str) -> String {
    // `/` is not in the set, so the pointer is encoded whole, segment separators and all.
    percent_encoding::utf8_percent_encode(pointer, FRAGMENT).to_string()
}

/// Characters that must be escaped in a URI fragment.
const FRAGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'%')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'[')
    .add(b']');

/// Escapes one JSON pointer segment.
pub fn escape_pointer(segment: &str) -> String {
    if segment.contains(['~', '/']) {
        segment.replace('~', "~0").replace('/', "~1")
    } else {
        segment.to_string()
    }
}

/// Appends `/segment`, escaped, to `pointer` (with no copy of the segment on the way).
pub fn push_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    if segment.contains(['~', '/']) {
        for c in segment.chars() {
            match c {
                '~' => pointer.push_str("~0"),
                '/' => pointer.push_str("~1"),
                c => pointer.push(c),
            }
        }
    } else {
        pointer.push_str(segment);
    }
}

/// Percent-decodes `s` (invalid UTF-8 becomes U+FFFD). Text without a `%` is returned as it is,
/// skipping the decoder's byte-by-byte scan and UTF-8 re-validation: path parameters, `$ref`s and
/// credentials rarely need decoding, and path parameters are decoded on every request.
#[inline]
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

/// Follows a chain of local `$ref`s (bounded, so a reference loop cannot hang).
pub fn resolve<'a>(root: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match value.field("$ref").and_then(Value::as_str) {
            Some(r) if r.starts_with('#') => match lookup(root, &percent_decode(&r[1..])) {
                Some(target) => value = target,
                None => return value,
            },
            _ => return value,
        }
    }
    value
}

/// Whether `null` is a valid value for the schema (a `null` type that its `enum` and `const`, if
/// any, allow too, or a `null` branch of its `anyOf`/`oneOf`), `$ref`s followed. Read by the
/// resources and by the error templates alike.
pub fn allows_null(root: &Value, schema: &Value) -> bool {
    let s = resolve(root, schema);
    let null_type = match s.field("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
        _ => false,
    };
    // `type: [string, "null"]` beside an `enum` of strings only still refuses `null`.
    let null_value = s
        .field("enum")
        .and_then(Value::as_array)
        .is_none_or(|values| values.iter().any(Value::is_null))
        && s.field("const").is_none_or(Value::is_null);
    null_type && null_value
        || ["anyOf", "oneOf"]
            .iter()
            .filter_map(|k| s.get(*k).and_then(Value::as_array))
            .flatten()
            .any(|b| allows_null(root, b))
}

/// The pointer a (possibly `$ref`) value finally resolves to, given the pointer it was found at.
///
/// A pointer that leads nowhere is tried once more as a path through schemas: `$ref`s along it
/// are followed, and a `properties/<name>` that a schema declares through `allOf` is found in the
/// branch that declares it. The model reads a schema's properties through `allOf` and `$ref` (as
/// validation does), so the pointer it makes for such a property (`<schema>/properties/tags`)
/// names where the property is, not where it is written (`<schema>/allOf/0/properties/tags`).
pub fn resolve_pointer(root: &Value, mut pointer: String) -> String {
    let mut retried = false;
    for _ in 0..32 {
        match lookup(root, &pointer) {
            Some(v) => match v.field("$ref").and_then(Value::as_str) {
                Some(r) if r.starts_with('#') => pointer = percent_decode(&r[1..]).into_owned(),
                _ => break,
            },
            None if !retried => {
                retried = true;
                match through_schemas(root, &pointer) {
                    Some(found) => pointer = found,
                    None => break,
                }
            }
            None => break,
        }
    }
    pointer
}

/// `pointer` read as a path through schemas (see [`resolve_pointer`]); `None` if nothing is there.
fn through_schemas(root: &Value, pointer: &str) -> Option<String> {
    let segments: Vec<&str> = pointer.strip_prefix('/')?.split('/').collect();
    let mut at = String::new();
    let mut rest = segments.as_slice();
    while let Some((segment, after)) = rest.split_first() {
        at = follow_refs(root, at);
        if *segment == "properties"
            && let Some((name, after_name)) = after.split_first()
        {
            at = declared_property(root, &at, name, 0)?;
            rest = after_name;
            continue;
        }
        at = format!("{at}/{segment}");
        lookup(root, &at)?;
        rest = after;
    }
    Some(at)
}

/// `pointer` with the `$ref` chain at it followed (no retry through schemas).
fn follow_refs(root: &Value, pointer: String) -> String {
    follow_local_refs(root, pointer, false)
}

/// Where a schema written as a lone `$ref` (`{"$ref": "#/components/schemas/Pet"}`, as most
/// are) really is: it validates as its target does. A `$ref` beside other keywords is not
/// followed, as those keywords count too, nor one that leads nowhere.
pub fn follow_lone_refs(root: &Value, pointer: String) -> String {
    follow_local_refs(root, pointer, true)
}

/// Follows local `$ref`s from `pointer` (at most 32); with `lone`, only a `$ref` that is its
/// object's only member and leads somewhere.
fn follow_local_refs(root: &Value, mut pointer: String, lone: bool) -> String {
    for _ in 0..32 {
        let Some(at) = lookup(root, &pointer).and_then(Value::as_object) else {
            break;
        };
        let Some(r) = at
            .field("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        else {
            break;
        };
        let target = percent_decode(r).into_owned();
        if lone && (at.len() != 1 || lookup(root, &target).is_none()) {
            break;
        }
        pointer = target;
    }
    pointer
}

/// The pointer of property `name` (a pointer segment, escaped) of the schema at `schema`, declared
/// there or in one of its `allOf` branches (depth-first, bounded).
fn declared_property(root: &Value, schema: &str, name: &str, depth: usize) -> Option<String> {
    let schema = follow_refs(root, schema.to_string());
    let direct = format!("{schema}/properties/{name}");
    if lookup(root, &direct).is_some() {
        return Some(direct);
    }
    if depth > 16 {
        return None;
    }
    let branches = lookup(root, &format!("{schema}/allOf")).and_then(Value::as_array)?;
    (0..branches.len()).find_map(|i| declared_property(root, &format!("{schema}/allOf/{i}"), name, depth + 1))
}

/// [`resolve_pointer`] given `value`, the value at `pointer`, which the caller already holds: the
/// document is walked only when `value` is itself a `$ref` (otherwise the pointer stays).
pub fn resolve_pointer_of(root: &Value, value: &Value, pointer: String) -> String {
    match value.field("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with('#') => resolve_pointer(root, pointer),
        _ => pointer,
    }
}

/// [`resolve_pointer_of`] for a schema: where what the schema at `pointer` (`value`) accepts is
/// written. A local `$ref` is followed where the keywords beside it only annotate (nearly every
/// `$ref` of a spec: alone, or with a `description`), and not where they constrain too (OpenAPI
/// 3.1's `{"$ref": "#/…/Pet", "unevaluatedProperties": false}`): its target alone would accept
/// what the schema refuses, and a validator or generator given the schema itself follows the
/// `$ref` and keeps the keywords beside it. (3.0's siblings of a `$ref` are gone by now:
/// `spec::normalise`.)
pub fn resolve_schema_pointer_of(root: &Value, value: &Value, pointer: String) -> String {
    let (mut pointer, mut value) = (pointer, value);
    for _ in 0..32 {
        let Some(object) = value.as_object() else { break };
        let Some(r) = object
            .field("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        else {
            break;
        };
        if object.keys().any(|k| k != "$ref" && !annotates(k)) {
            break;
        }
        let target = percent_decode(r).into_owned();
        let Some(next) = lookup(root, &target) else {
            // A target that is no plain pointer: read as [`resolve_pointer`] reads it.
            return resolve_pointer(root, pointer);
        };
        (pointer, value) = (target, next);
    }
    pointer
}

/// Whether a schema keyword only annotates (says nothing about which values the schema accepts,
/// for validation): descriptions, examples, defaults, `readOnly`/`writeOnly` and extensions.
pub fn annotates(keyword: &str) -> bool {
    keyword.starts_with("x-")
        || matches!(
            keyword,
            "description"
                | "title"
                | "summary"
                | "$comment"
                | "example"
                | "examples"
                | "readOnly"
                | "writeOnly"
                | "deprecated"
                | "default"
                | "externalDocs"
                | "xml"
        )
}

/// The HTTP methods an OpenAPI path item may hold as fixed fields, in the order they are reported
/// (`query` is OpenAPI 3.2's; other methods are under 3.2's `additionalOperations`).
pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
];

/// One operation of a path item: the method as a request sends it (`GET`; an
/// `additionalOperations` name, such as `COPY`, as written), where it sits below the path item
/// (`get`, `additionalOperations/COPY`), and the operation as written (possibly a `$ref`).
pub struct ItemOperation<'a> {
    pub method: String,
    pub suffix: String,
    pub op: &'a Value,
}

/// The operations of a path item: its fixed method fields, then OpenAPI 3.2's `additionalOperations`.
pub fn operations(item: &Value) -> Vec<ItemOperation<'_>> {
    let mut out = Vec::new();
    for m in METHODS {
        if let Some(op) = item.get(*m) {
            out.push(ItemOperation {
                method: m.to_ascii_uppercase(),
                suffix: (*m).to_string(),
                op,
            });
        }
    }
    if let Some(more) = item.field("additionalOperations").and_then(Value::as_object) {
        for (name, op) in more {
            out.push(ItemOperation {
                method: name.clone(),
                suffix: format!("additionalOperations/{}", escape_pointer(name)),
                op,
            });
        }
    }
    out
}

/// The keywords that change where a `$ref` inside (or a reference to the place) leads: an
/// identifier, an anchor, a dynamic or recursive reference. A pointer cannot tell where a
/// `$ref` goes once one of these is set.
pub const SCOPE_KEYWORDS: [&str; 6] = [
    "$id",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
    "$recursiveAnchor",
];

/// How a schema keyword holds schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subschemas {
    /// One schema (`items`, `not`, `additionalProperties`...).
    One,
    /// A list of schemas (`allOf`, `prefixItems`...).
    List,
    /// Names mapped to schemas (`properties`, `$defs`...).
    Map,
}

/// Whether, and how, the schema keyword `keyword` holds schemas (`None`: an assertion, an
/// annotation, data, or a keyword no draft knows).
pub fn subschemas(keyword: &str) -> Option<Subschemas> {
    match keyword {
        "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => Some(Subschemas::Map),
        "allOf" | "anyOf" | "oneOf" | "prefixItems" => Some(Subschemas::List),
        "items"
        | "additionalProperties"
        | "not"
        | "contains"
        | "propertyNames"
        | "if"
        | "then"
        | "else"
        | "unevaluatedProperties"
        | "unevaluatedItems"
        | "additionalItems"
        | "contentSchema" => Some(Subschemas::One),
        _ => None,
    }
}

/// Whether the value under `key` is literal data (an example, an enum, a default), whose `$ref`
/// keys are data too: literal values may contain anything, including keys named `$ref`.
/// An example that is nothing but a `$ref` (`example: {$ref: examples.yml#/x}`, as some published specs
/// writes them, and as its tooling reads them) is a reference to the example, not an example of one.
pub(crate) fn is_data(key: &str, value: &Value) -> bool {
    // Only what reads as a reference to a document (`file.yml#/x`, `#/x`): an example whose data
    // merely has a `$ref` key stays data.
    let looks_like_ref = |r: &str| r.contains('#') || [".yml", ".yaml", ".json"].iter().any(|e| r.ends_with(e));
    let only_a_ref = || {
        value
            .as_object()
            .is_some_and(|m| m.len() == 1 && m.field("$ref").and_then(Value::as_str).is_some_and(looks_like_ref))
    };
    // A `responses` map's `default` is a response, not a schema's default value: a `$ref` to
    // one, or an object of a response's fields (a spec may name every operation's
    // `default: {$ref: ../../shared/responses/unexpected_error.yml}`).
    let a_response = || {
        only_a_ref()
            || value.as_object().is_some_and(|m| {
                m.field("description").is_some_and(Value::is_string)
                    && m.keys()
                        .all(|k| matches!(k.as_str(), "description" | "headers" | "content" | "links" | "summary"))
            })
    };
    // The key first: every member of a document is asked this.
    match key {
        "enum" | "const" => true,
        "default" => !a_response(),
        "examples" => value.is_array(),
        "example" | "value" => !only_a_ref(),
        _ => false,
    }
}

/// Calls `visit` with the target of each local `$ref` in `value` (`#/a/b`), as a JSON pointer
/// (`/a/b`), in walk order.
pub(crate) fn local_refs(value: &Value, visit: &mut impl FnMut(&str)) {
    local_refs_outside(value, &|_| false, visit);
}

/// [`local_refs`], not looking below the keys that `skip` names.
pub(crate) fn local_refs_outside(value: &Value, skip: &impl Fn(&str) -> bool, visit: &mut impl FnMut(&str)) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.field("$ref")
                && let Some(fragment) = r.strip_prefix('#')
            {
                visit(&percent_decode(fragment));
            }
            for (k, v) in map {
                if !is_data(k, v) && !skip(k) {
                    local_refs_outside(v, skip, visit);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| local_refs_outside(v, skip, visit)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_is_allowed_where_the_type_and_every_listed_value_allow_it() {
        let root = json!({"components": {"schemas": {"Term": {"type": ["string", "null"], "enum": ["7 days", null]}}}});
        for (schema, allowed) in [
            (json!({"type": ["string", "null"]}), true),
            (json!({"type": "null"}), true),
            (
                json!({"type": ["string", "null"], "enum": ["7 days", "30 days"]}),
                false,
            ),
            (json!({"type": ["string", "null"], "enum": ["7 days", null]}), true),
            (json!({"type": ["string", "null"], "const": "x"}), false),
            (json!({"type": "string"}), false),
            (json!({"anyOf": [{"type": "string"}, {"type": "null"}]}), true),
            (json!({"$ref": "#/components/schemas/Term"}), true),
        ] {
            assert_eq!(allows_null(&root, &schema), allowed, "{schema}");
        }
    }

    #[test]
    fn a_responses_default_is_a_response_and_a_schemas_default_is_data() {
        assert!(!is_data("default", &json!({"$ref": "../responses/error.yml"})));
        assert!(!is_data("default", &json!({"description": "x", "content": {}})));
        assert!(is_data("default", &json!({"description": "x", "limit": 3})));
        assert!(is_data("default", &json!("text")));
        assert!(is_data("enum", &json!([{"$ref": "#/a"}])));
    }

    #[test]
    fn a_pushed_segment_reads_back_as_itself() {
        let doc = json!({"a/b~c": {"plain": 1}});
        let mut pointer = String::new();
        push_segment(&mut pointer, "a/b~c");
        push_segment(&mut pointer, "plain");
        assert_eq!(pointer, "/a~1b~0c/plain");
        assert_eq!(lookup(&doc, &pointer), Some(&json!(1)));
    }

    #[test]
    fn lookup_reads_pointers_as_value_pointer_does() {
        let doc = json!({
            "a": {"b/c": [10, {"d~e": true}], "": {"x": 1}, "~1": 2, "~/": 3, "~2": 4},
            "big": {"k0": 0, "k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9},
        });
        for pointer in [
            "",
            "/a",
            "/a/b~1c",
            "/a/b~1c/0",
            "/a/b~1c/1/d~0e",
            "/a/b~1c/01",
            "/a/b~1c/2",
            "/a/",
            "/a//x",
            "/big/k9",
            "/big/k0",
            "/big/nope",
            "/a/b~1c/1/d~0e/",
            "/a/~01",
            "/a/~~1",
            "/a/~2",
            "a",
            "/missing/x",
        ] {
            assert_eq!(lookup(&doc, pointer), doc.pointer(pointer), "{pointer:?}");
        }
        let mut changed = doc.clone();
        *lookup_mut(&mut changed, "/big/k8").unwrap() = json!("eight");
        *lookup_mut(&mut changed, "/a/b~1c/1/d~0e").unwrap() = json!(false);
        assert_eq!(changed["big"]["k8"], "eight");
        assert_eq!(changed["a"]["b/c"][1]["d~e"], false);
        assert_eq!(doc["big"].field("k3"), Some(&json!(3)));
        assert_eq!(doc["a"].field("b/c"), doc["a"].get("b/c"));
        assert_eq!(json!([1]).field("0"), None);
    }
}
