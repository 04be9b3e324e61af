//! Whether a spec's schemas compile, known without compiling them.
//!
//! Startup must refuse a schema that no validator can be compiled from, naming the keyword at
//! fault ([`crate::model::schema::SchemaCompiler::check`]). Compiling every schema a spec hands
//! out, to learn that, was a quarter of the startup of a large spec: for the generated 13 MB
//! spec of `bench/`, 63 ms to build one validator over its 1,000 schemas and 9 ms to drop it,
//! where this module takes about 20 ms for the same answer.
//!
//! jsonschema refuses to compile a schema for three reasons: a keyword whose value its draft's
//! meta-schema does not allow (its compile errors are, in its own words, "defensive checks,
//! normally caught by metaschema validation"), a `pattern` (or a `patternProperties` name) that
//! is no regular expression, and a `$ref` it cannot resolve. So [`surely_compiles`] validates
//! every schema the given ones reach against the 2020-12 meta-schema, compiles each distinct
//! pattern once, and follows every `$ref` through the document. It answers `true` only when all
//! of that holds and nothing could change how the document is read: no `$id`, anchor, dynamic or
//! recursive reference, `$schema`, or reference that is not local. Anything else, and every
//! failure, goes to the build it stands in for, which decides and names the keyword as before:
//! a `false` here costs time, never a different answer.

use crate::spec::pointer::{SCOPE_KEYWORDS, Subschemas, lookup_through, percent_decode, subschemas};
use serde_json::Value;
use std::collections::HashSet;

type Set<T> = HashSet<T, foldhash::fast::RandomState>;

/// Whether an object says where the references in it lead, or how its schemas are read.
fn resolving(map: &serde_json::Map<String, Value>) -> bool {
    map.contains_key("$schema") || SCOPE_KEYWORDS.iter().any(|k| map.contains_key(*k))
}

/// Whether every schema at `pointers` in `root` compiles, as far as can be known without
/// compiling it (see the module's documentation): `true` only if it certainly does.
pub fn surely_compiles(root: &Value, pointers: &[&str]) -> bool {
    if root.get("$schema").is_some() {
        return false;
    }
    let meta = jsonschema::draft202012::meta::validator();
    let mut walk = Walk::default();
    let mut todo: Vec<String> = pointers.iter().map(|p| p.to_string()).collect();
    let mut seen: Set<String> = Set::default();
    while let Some(pointer) = todo.pop() {
        if seen.contains(&pointer) {
            continue;
        }
        // A schema the pointer passes through may say where references resolve.
        let plain = |v: &Value| v.as_object().is_none_or(|m| !resolving(m));
        let Some(schema) = lookup_through(root, &pointer, plain) else {
            return false;
        };
        if !meta.is_valid(schema) || !walk.schema(schema, &mut todo, 0) {
            return false;
        }
        seen.insert(pointer);
    }
    walk.patterns.into_iter().all(crate::model::generate::pattern_compiles)
}

/// Whether `fragment` holds only what a URI fragment may (RFC 3986: unreserved characters,
/// percent escapes, sub-delimiters, `:`, `@`, `/` and `?`): jsonschema parses a `$ref` as a URI
/// reference, and refuses one with a space, a brace or a second `#`.
fn in_fragment(fragment: &str) -> bool {
    fragment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@/?".contains(&b))
}

/// What a walk over schemas collects: the patterns to compile.
#[derive(Default)]
struct Walk<'a> {
    patterns: Set<&'a str>,
}

/// Deeper than any document is read (`spec::read` stops at 128 levels).
const MAX_DEPTH: usize = 256;

impl<'a> Walk<'a> {
    /// Walks one schema and every schema inside it, queueing the targets of its `$ref`s;
    /// `false` where it cannot vouch for it.
    fn schema(&mut self, schema: &'a Value, todo: &mut Vec<String>, depth: usize) -> bool {
        let Value::Object(map) = schema else {
            // The meta-schema allows only booleans besides objects.
            return true;
        };
        if depth > MAX_DEPTH {
            return false;
        }
        for (keyword, value) in map {
            let keyword = keyword.as_str();
            let fine = match keyword {
                "$ref" => match value.as_str().and_then(|r| r.strip_prefix('#')) {
                    Some(fragment) if (fragment.is_empty() || fragment.starts_with('/')) && in_fragment(fragment) => {
                        let pointer = percent_decode(fragment);
                        // A `%` that decodes to no UTF-8 is an error to jsonschema.
                        let exact = !pointer.contains('\u{FFFD}');
                        todo.push(pointer.into_owned());
                        exact
                    }
                    _ => false,
                },
                _ if keyword == "$schema" || SCOPE_KEYWORDS.contains(&keyword) => false,
                "pattern" => {
                    if let Some(p) = value.as_str() {
                        self.patterns.insert(p);
                    }
                    true
                }
                // jsonschema compiles an older draft's `dependencies` in any draft: names mapped
                // to schemas or to lists of names.
                _ => match subschemas(keyword).or((keyword == "dependencies").then_some(Subschemas::Map)) {
                    // One schema, or (an older draft's `items`) a list of them.
                    Some(Subschemas::One) => match value {
                        Value::Array(items) => items.iter().all(|s| self.schema(s, todo, depth + 1)),
                        other => self.schema(other, todo, depth + 1),
                    },
                    Some(Subschemas::List) => value
                        .as_array()
                        .is_none_or(|items| items.iter().all(|s| self.schema(s, todo, depth + 1))),
                    Some(Subschemas::Map) => value.as_object().is_none_or(|members| {
                        if keyword == "patternProperties" {
                            self.patterns.extend(members.keys().map(String::as_str));
                        }
                        members.values().all(|s| self.schema(s, todo, depth + 1))
                    }),
                    // Annotations, data (`enum`, `examples`, `default`) and keywords no draft
                    // knows: a validator reads nothing in them.
                    None => true,
                },
            };
            if !fine {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(schemas: Value) -> Value {
        json!({"openapi": "3.1.0", "components": {"schemas": schemas}})
    }

    #[test]
    fn schemas_that_compile_are_vouched_for() {
        let root = doc(json!({
            "A": {"type": "object", "properties": {
                "b": {"$ref": "#/components/schemas/B"},
                "pattern": {"type": "string", "pattern": "^[a-z]+$"},
                "default": {"allOf": [{"$ref": "#/components/schemas/C"}]}},
                "patternProperties": {"^x-": true},
                "example": {"$ref": "not/a/reference", "pattern": "("}},
            "B": {"type": "string", "enum": [{"$id": "data"}]},
            "C": {"type": "integer", "minimum": 1}
        }));
        assert!(surely_compiles(&root, &["/components/schemas/A"]));
    }

    #[test]
    fn what_might_not_compile_is_left_to_the_build() {
        let cases = [
            // The meta-schema refuses it.
            json!({"A": {"type": "number", "exclusiveMinimum": true}}),
            json!({"A": {"minLength": "x"}}),
            json!({"A": {"type": "nothing"}}),
            // A pattern, anywhere a schema is, that is no regular expression.
            json!({"A": {"pattern": "("}}),
            json!({"A": {"properties": {"default": {"pattern": "(?<"}}}}),
            json!({"A": {"patternProperties": {"[": true}}}),
            json!({"A": {"items": {"$ref": "#/components/schemas/B"}}, "B": {"pattern": "("}}),
            // A reference to nothing, or one a pointer cannot follow.
            json!({"A": {"$ref": "#/components/schemas/Missing"}}),
            json!({"A": {"$ref": "other.json#/x"}}),
            json!({"A": {"$ref": "#anchor"}}),
            json!({"A": {"$id": "https://example.com/a", "type": "string"}}),
            json!({"A": {"anyOf": [{"$dynamicRef": "#meta"}]}}),
            // Inside `dependencies`, a map of schemas.
            json!({"A": {"dependencies": {"a": {"pattern": "("}}}}),
            json!({"A": {"dependencies": {"a": {"$ref": "#/nowhere"}}}}),
            // References that are no URI reference, or whose escapes are no UTF-8.
            json!({"A": {"$ref": "#/components/schemas/a b"}, "a b": {}}),
            json!({"A": {"$ref": "#/components/schemas/{x}"}, "{x}": {}}),
            json!({"A": {"$ref": "#/components/schemas/a#b"}, "a#b": {}}),
            json!({"A": {"$ref": "#/components/schemas/%FF"}, "\u{FFFD}": {}}),
            // Through a schema with an `$id`, `#/...` resolves against it.
            json!({"A": {"$ref": "#/components/schemas/X/properties/a"},
                   "X": {"$id": "http://x.example/", "properties": {"a": {"type": "string"}}}}),
        ];
        for schemas in cases {
            let root = doc(schemas.clone());
            assert!(!surely_compiles(&root, &["/components/schemas/A"]), "{schemas}");
        }
        let with_dialect = json!({"$schema": "http://json-schema.org/draft-07/schema#", "a": {}});
        assert!(!surely_compiles(&with_dialect, &["/a"]));
        assert!(!surely_compiles(&doc(json!({})), &["/components/schemas/Missing"]));
    }

    /// Every keyword of 2020-12 (and a few of other drafts and of OpenAPI) with values of every
    /// kind, alone, nested, and behind a `$ref`: whatever is vouched for compiles.
    #[test]
    fn what_is_vouched_for_compiles() {
        let keywords = [
            "type",
            "enum",
            "const",
            "multipleOf",
            "maximum",
            "exclusiveMaximum",
            "minimum",
            "exclusiveMinimum",
            "maxLength",
            "minLength",
            "pattern",
            "maxItems",
            "minItems",
            "uniqueItems",
            "maxContains",
            "minContains",
            "maxProperties",
            "minProperties",
            "required",
            "dependentRequired",
            "items",
            "prefixItems",
            "contains",
            "additionalProperties",
            "properties",
            "patternProperties",
            "propertyNames",
            "dependentSchemas",
            "allOf",
            "anyOf",
            "oneOf",
            "not",
            "if",
            "then",
            "else",
            "unevaluatedItems",
            "unevaluatedProperties",
            "format",
            "contentEncoding",
            "contentMediaType",
            "contentSchema",
            "$ref",
            "$defs",
            "$comment",
            "title",
            "description",
            "default",
            "deprecated",
            "readOnly",
            "writeOnly",
            "examples",
            "dependencies",
            "additionalItems",
            "definitions",
            "nullable",
            "discriminator",
            "example",
            "$vocabulary",
        ];
        let values = [
            json!("x"),
            json!("("),
            json!("^a$"),
            json!("string"),
            json!("date-time"),
            json!("#/x"),
            json!(-1),
            json!(0),
            json!(1),
            json!(1.5),
            json!(1.0),
            json!(-2.5),
            json!(1e300),
            json!(18446744073709552000.0),
            json!([]),
            json!(["a"]),
            json!(["a", "a"]),
            json!([1]),
            json!([{}]),
            json!([true]),
            json!(["string", "null"]),
            json!({}),
            json!({"a": 1}),
            json!({"a": {}}),
            json!({"(": {}}),
            json!({"a": ["b"]}),
            json!({"a": {"pattern": "("}}),
            json!({"a": {"$ref": "#/nowhere"}}),
            json!({"a": {"type": "x"}}),
            json!(true),
            json!(false),
            json!(null),
        ];
        let mut vouched = 0;
        for keyword in keywords {
            for value in &values {
                let schema = json!({ keyword: value });
                for root in [
                    doc(json!({"A": schema})),
                    doc(json!({"A": {"properties": {"p": schema}}})),
                    doc(json!({"A": {"items": {"$ref": "#/components/schemas/B"}}, "B": schema})),
                ] {
                    let pointer = "/components/schemas/A";
                    if !surely_compiles(&root, &[pointer]) {
                        continue;
                    }
                    vouched += 1;
                    let compiler = crate::model::schema::SchemaCompiler::new(
                        &std::sync::Arc::new(root.clone()),
                        std::path::Path::new("t.json"),
                    )
                    .expect("registers");
                    if let Err(e) = compiler.compile(pointer) {
                        panic!("vouched for {root} but: {}", e.message);
                    }
                }
            }
        }
        // Not a check that vouches for nothing.
        assert!(vouched > 1000, "{vouched}");
    }
}
