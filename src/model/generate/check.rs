//! The built-in checker: whether a candidate (an example, an enum member, a `oneOf`/`anyOf`
//! branch's value, a tie broken by dropping a property, a `uniqueItems` variant) satisfies the
//! schema node it was generated for, while the value is still being built. It also says whether
//! it met anything it does not judge as jsonschema does ([`Checker::sure`]): where it did not,
//! its answer is jsonschema's, and startup seeds example items on it (`Judge`).
//!
//! What jsonschema does instead: a root value generated for a request (`dynamic=true`) is judged
//! by the response's own compiled validator (`generate_dynamic_with`); at startup the root is
//! checked here, since compiling a validator per generation doubled the startup of large specs;
//! and inside this checker, `format` and `pattern` are
//! jsonschema's validators (`compiled::format_ok`, `pattern::Patterns`), so the rules for
//! strings are the ones request validation and clients apply. The built-in format checks and
//! the regex-crate lookahead matcher this file and `pattern.rs` used to hold are gone: a format
//! validator is compiled once per process (the 19 of 2020-12 took 0.55 ms together) and checks
//! in about the time the hand-written one did, and compiling the 46 distinct patterns of the
//! corpus below took 13.1 ms with jsonschema against 13.7 ms with the `regex` crate, matching
//! the same.
//!
//! Why the structural checking stays here, measured (debug build, one shared 2-core machine,
//! the 2,835 schemas of the 17 loadable specs under `specs/`, `tests/specs/` and `tests/corpus/`,
//! one canonical generation each): the generations made 13,669 candidate checks against 2,170
//! distinct schema nodes. This checker did them all in 100-110 ms (about 8 µs each). Compiling
//! a jsonschema validator per candidate, with the document registered once per generation, took
//! 1.5-1.8 s (120-145 µs each, 15-18 times as much); compiling once per distinct node and reusing
//! it still took 0.9-1.1 s, when the generations themselves, root check included, took about
//! 1.4 s: generation would have been about two thirds slower, and `dynamic=true` bodies are
//! generated per request (21,134 checks: 164 ms here, 1.5 s compiled per node). The root check
//! is worth its cost: 65-70 ms to register the document, 0.87-1.19 s to compile and 50-60 ms to
//! validate, about 0.35-0.47 ms per generation where this checker took 0.17 ms (worst single
//! schema 25 ms, a payment request body of a published spec whose generation took 21 ms), and it sees what this
//! checker does not (`unevaluated*`, `dependentSchemas`). On this corpus the two never disagreed,
//! at the root or on a candidate. This checker is also the root check when the schema does not
//! compile (a broken response schema does not stop startup, and its bodies are still served).

use crate::spec::pointer::{Field, SCOPE_KEYWORDS};
use serde_json::{Map, Value};

use super::compiled::format_ok;
use super::keywords::{json_eq, resolve, type_names, usize_keyword};
use super::numbers::NumericBounds;
use super::pattern::Patterns;

/// How deep the checker follows a schema before it gives the value the benefit of the doubt.
const MAX_CHECK_DEPTH: usize = 256;

/// Keywords this checker does not judge, besides those that change where a `$ref` leads
/// ([`SCOPE_KEYWORDS`]): where one is met, its answer may not be jsonschema's (see
/// [`Checker::sure`]).
const NOT_JUDGED: [&str; 6] = [
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentSchemas",
    "dependencies",
    "additionalItems",
    "$schema",
];

/// Whether the checker does not judge `keyword` (asked of every member of every schema checked:
/// the first byte rules out most).
fn not_judged(keyword: &str) -> bool {
    matches!(keyword.as_bytes().first(), Some(b'u' | b'd' | b'a' | b'$'))
        && (NOT_JUDGED.contains(&keyword) || SCOPE_KEYWORDS.contains(&keyword))
}

/// Integers past this lose digits as `f64`, which bounds are compared in.
const EXACT_F64: f64 = 9_007_199_254_740_992.0;

/// Whether `value` holds, at any depth, a number that `f64` does not hold exactly.
fn past_f64(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_f64().is_none_or(|x| x.abs() >= EXACT_F64),
        Value::Array(items) => items.iter().any(past_f64),
        Value::Object(map) => map.values().any(past_f64),
        _ => false,
    }
}

/// One check: the document for `$ref`s, the generation's compiled patterns, and the (schema,
/// value) addresses entered through `$ref`, to cut reference cycles.
pub(super) struct Checker<'a, 'd> {
    doc: &'d Value,
    patterns: &'a mut Patterns,
    checking: Vec<(usize, usize)>,
    /// Something was met that this checker gives the benefit of the doubt, or judges otherwise
    /// than jsonschema (a keyword of [`NOT_JUDGED`], a `$ref` or a pattern it cannot follow,
    /// a reference cycle, the depth limit, `url` held to `uri`, an integer past `f64`).
    unsure: bool,
}

impl<'a, 'd> Checker<'a, 'd> {
    pub(super) fn new(doc: &'d Value, patterns: &'a mut Patterns) -> Self {
        Self {
            doc,
            patterns,
            checking: Vec::new(),
            unsure: false,
        }
    }

    /// Whether every answer given so far is the one jsonschema gives: nothing was met that
    /// this checker does not judge as jsonschema does.
    pub(super) fn sure(&self) -> bool {
        !self.unsure
    }

    pub(super) fn is_valid(&mut self, schema: &Value, value: &Value) -> bool {
        self.check(schema, value, 0)
    }

    /// A compact JSON Schema validator for the keywords that matter to generated values. It
    /// decides between candidates, so it errs towards "valid" only where it cannot tell
    /// (uncommon formats, uncompilable patterns, unresolvable `$ref`s, `unevaluated*`).
    fn check(&mut self, schema: &Value, value: &Value, depth: usize) -> bool {
        let map = match schema {
            Value::Bool(allowed) => return *allowed,
            Value::Object(map) => map,
            _ => {
                self.unsure = true;
                return true;
            }
        };
        if depth > MAX_CHECK_DEPTH {
            self.unsure = true;
            return true;
        }
        let depth = depth + 1;
        if !self.unsure && map.keys().any(|k| not_judged(k)) {
            self.unsure = true;
        }
        if let Some(reference) = map.field("$ref") {
            match reference.as_str().and_then(|r| resolve(self.doc, r)) {
                Some(target) => {
                    let key = (std::ptr::from_ref(target).addr(), std::ptr::from_ref(value).addr());
                    // Re-entering the same schema for the same value cannot change the answer.
                    if self.checking.contains(&key) {
                        self.unsure = true;
                    } else {
                        self.checking.push(key);
                        let valid = self.check(target, value, depth);
                        self.checking.pop();
                        if !valid {
                            return false;
                        }
                    }
                }
                None => self.unsure = true,
            }
        }
        self.check_applicators(map, value, depth)
            && self.check_generic(map, value)
            && match value {
                Value::Number(number) => number.as_f64().is_none_or(|x| {
                    if x.abs() >= EXACT_F64 {
                        self.unsure = true;
                    }
                    NumericBounds::of(map).admits(x)
                }),
                Value::String(text) => self.check_string(map, text),
                Value::Array(items) => self.check_array(map, items, depth),
                Value::Object(entries) => self.check_object(map, entries, depth),
                _ => true,
            }
    }

    fn check_applicators(&mut self, map: &Map<String, Value>, value: &Value, depth: usize) -> bool {
        let list = |key: &str| map.field(key).and_then(Value::as_array);
        if let Some(parts) = list("allOf")
            && !parts.iter().all(|part| self.check(part, value, depth))
        {
            return false;
        }
        if let Some(branches) = list("anyOf")
            && !branches.iter().any(|branch| self.check(branch, value, depth))
        {
            return false;
        }
        if let Some(branches) = list("oneOf") {
            let mut matching = 0;
            for branch in branches {
                if self.check(branch, value, depth) {
                    matching += 1;
                    if matching > 1 {
                        break;
                    }
                }
            }
            if matching != 1 {
                return false;
            }
        }
        if let Some(negated) = map.field("not")
            && self.check(negated, value, depth)
        {
            return false;
        }
        if let Some(condition) = map.field("if") {
            let branch = if self.check(condition, value, depth) {
                map.field("then")
            } else {
                map.field("else")
            };
            if let Some(branch) = branch {
                return self.check(branch, value, depth);
            }
        }
        true
    }

    fn check_generic(&mut self, map: &Map<String, Value>, value: &Value) -> bool {
        // Equality is decided in `f64`, where integers past 2^53 that differ compare equal.
        if !self.unsure
            && (map.field("const").is_some() || map.field("enum").is_some())
            && (past_f64(value) || map.field("const").is_some_and(past_f64) || map.field("enum").is_some_and(past_f64))
        {
            self.unsure = true;
        }
        let type_ok = map.field("type").is_none_or(|t| type_matches(t, value));
        let const_ok = map.field("const").is_none_or(|c| json_eq(c, value));
        let enum_ok = map
            .field("enum")
            .and_then(Value::as_array)
            .is_none_or(|members| members.iter().any(|m| json_eq(m, value)));
        type_ok && const_ok && enum_ok
    }

    fn check_string(&mut self, map: &Map<String, Value>, text: &str) -> bool {
        let min = usize_keyword(map, "minLength").unwrap_or(0);
        let max = usize_keyword(map, "maxLength");
        let pattern = map.field("pattern").and_then(Value::as_str);
        let format = map.field("format").and_then(Value::as_str);
        if pattern.is_some_and(|p| !self.patterns.compiles(p)) {
            self.unsure = true;
        }
        let format_fits = format.is_none_or(|f| {
            let fits = format_ok(f, text);
            // jsonschema knows no `url`: it lets every text through.
            if !fits && f == "url" {
                self.unsure = true;
            }
            fits
        });
        self.patterns.fits(text, min, max, pattern) && format_fits
    }

    fn check_array(&mut self, map: &Map<String, Value>, items: &[Value], depth: usize) -> bool {
        // A list of schemas under `items` is an older draft's; 2020-12 reads it otherwise.
        if map.field("items").is_some_and(Value::is_array) {
            self.unsure = true;
        }
        let (prefix, rest): (&[Value], Option<&Value>) = match (map.field("prefixItems"), map.field("items")) {
            (Some(Value::Array(prefix)), items) => (prefix, items),
            (None, Some(Value::Array(prefix))) => (prefix, map.field("additionalItems")),
            (_, items) => (&[], items),
        };
        for (index, item) in items.iter().enumerate() {
            if let Some(schema) = prefix.get(index).or(rest)
                && !self.check(schema, item, depth)
            {
                return false;
            }
        }
        let len = items.len();
        if usize_keyword(map, "minItems").is_some_and(|min| len < min)
            || usize_keyword(map, "maxItems").is_some_and(|max| len > max)
        {
            return false;
        }
        if map.field("uniqueItems") == Some(&Value::Bool(true)) {
            if !self.unsure && items.iter().any(past_f64) {
                self.unsure = true;
            }
            for (index, item) in items.iter().enumerate() {
                if items.iter().skip(index + 1).any(|other| json_eq(item, other)) {
                    return false;
                }
            }
        }
        if let Some(contains) = map.field("contains") {
            let mut count = 0;
            for item in items {
                if self.check(contains, item, depth) {
                    count += 1;
                }
            }
            let min = usize_keyword(map, "minContains").unwrap_or(1);
            let max = usize_keyword(map, "maxContains");
            if count < min || max.is_some_and(|max| count > max) {
                return false;
            }
        }
        true
    }

    fn check_object(&mut self, map: &Map<String, Value>, entries: &Map<String, Value>, depth: usize) -> bool {
        let properties = map.field("properties").and_then(Value::as_object);
        let patterns: Vec<(&String, &Value)> = map
            .field("patternProperties")
            .and_then(Value::as_object)
            .map(|p| p.iter().collect())
            .unwrap_or_default();
        for (key, value) in entries {
            let mut declared = false;
            if let Some(schema) = properties.and_then(|p| p.field(key)) {
                declared = true;
                if !self.check(schema, value, depth) {
                    return false;
                }
            }
            for (pattern, schema) in &patterns {
                match self.patterns.matches(pattern, key) {
                    Some(true) => {
                        declared = true;
                        if !self.check(schema, value, depth) {
                            return false;
                        }
                    }
                    // Cannot tell, so do not let `additionalProperties` reject the key.
                    None => {
                        declared = true;
                        self.unsure = true;
                    }
                    Some(false) => {}
                }
            }
            if !declared
                && let Some(additional) = map.field("additionalProperties")
                && !self.check(additional, value, depth)
            {
                return false;
            }
            if let Some(names) = map.field("propertyNames")
                && !self.check(names, &Value::String(key.clone()), depth)
            {
                return false;
            }
        }
        let has_required = map.field("required").and_then(Value::as_array).is_none_or(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .all(|name| entries.field(name).is_some())
        });
        let dependencies_met = map
            .field("dependentRequired")
            .and_then(Value::as_object)
            .is_none_or(|deps| {
                deps.iter()
                    .filter(|(key, _)| entries.field(key).is_some())
                    .all(|(_, needed)| {
                        needed
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .all(|name| entries.field(name).is_some())
                    })
            });
        let len = entries.len();
        has_required
            && dependencies_met
            && usize_keyword(map, "minProperties").is_none_or(|min| len >= min)
            && usize_keyword(map, "maxProperties").is_none_or(|max| len <= max)
    }
}

fn type_matches(declared: &Value, value: &Value) -> bool {
    let names = type_names(declared);
    names.is_empty()
        || names.iter().any(|name| match *name {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "number" => value.is_number(),
            "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|x| x.fract() == 0.0),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        })
}
