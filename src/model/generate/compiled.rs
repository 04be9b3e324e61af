//! The `jsonschema` validators the generator leans on: one per `format`, and one per `pattern`;
//! and, for the unit tests, a whole schema compiled against the document (at startup the root
//! value is judged by the built-in checker or a caller's compiled validator: see `Generator::root`).
//!
//! One file, below everything that checks, so that every check made while generating uses the
//! same engine and options as request validation (`model::schema`): 2020-12, formats asserted,
//! ECMA-262 patterns. Why the rest of checking is not done by compiled validators is measured
//! and written down in `check.rs`.

use std::sync::LazyLock;

#[cfg(test)]
use jsonschema::Registry;
use jsonschema::{Draft, ValidationOptions, Validator};
use serde_json::{Value, json};

/// The base URI the document is registered under; a schema's `#/...` references are made
/// absolute against it.
#[cfg(test)]
const BASE: &str = "specbox://generate/doc.json";

fn options<'i>() -> ValidationOptions<'i> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
}

/// `schema` compiled with its local `$ref`s resolved in `doc`; `None` if it does not compile (an
/// invalid `pattern`, a `$ref` to nothing), which leaves the caller to check another way.
///
/// The document is registered borrowed, not copied, and indexing it is cheap (its top level is
/// no schema, so nothing under `components` is walked until a `$ref` reaches it). A `$ref` in the
/// schema means the document (`#/components/...`), not the schema, so those are made absolute
/// against the registered document first.
#[cfg(test)]
pub(super) fn whole(doc: &Value, schema: &Value) -> Option<Validator> {
    let registry = Registry::new()
        .draft(Draft::Draft202012)
        .add(BASE, doc)
        .ok()?
        .prepare()
        .ok()?;
    let mut schema = schema.clone();
    absolute_refs(&mut schema);
    options().with_registry(&registry).build(&schema).ok()
}

/// Characters a URI fragment cannot hold as they are, but a `$ref` the generator resolves may
/// (`{id}` of a path template, a space, anything beyond ASCII). `%` stays: it already escapes.
#[cfg(test)]
const FRAGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'[')
    .add(b']');

/// Makes the local `$ref`s of `schema` absolute against [`BASE`], escaped for a URI. Only
/// subschema positions are followed: a `$ref` inside `const`, `enum` or an example is data.
#[cfg(test)]
fn absolute_refs(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    for (key, value) in map.iter_mut() {
        match (key.as_str(), value) {
            ("$ref", Value::String(reference)) => {
                if let Some(fragment) = reference.strip_prefix('#') {
                    let fragment = percent_encoding::utf8_percent_encode(fragment, FRAGMENT);
                    *reference = format!("{BASE}#{fragment}");
                }
            }
            (
                "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas",
                Value::Object(schemas),
            ) => schemas.values_mut().for_each(absolute_refs),
            ("allOf" | "anyOf" | "oneOf" | "prefixItems" | "items", Value::Array(schemas)) => {
                schemas.iter_mut().for_each(absolute_refs);
            }
            (
                "items"
                | "additionalItems"
                | "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames"
                | "unevaluatedItems"
                | "unevaluatedProperties"
                | "contentSchema",
                value,
            ) => absolute_refs(value),
            _ => {}
        }
    }
}

/// The formats jsonschema asserts under 2020-12. Any other name is an annotation, as it is to
/// jsonschema.
const FORMATS: [&str; 19] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uri-template",
    "uuid",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// One validator per format, compiled on first use and shared by every generation after.
static FORMAT_VALIDATORS: LazyLock<Vec<(&'static str, Validator)>> = LazyLock::new(|| {
    FORMATS
        .iter()
        .filter_map(|name| Some((*name, options().build(&json!({ "format": name })).ok()?)))
        .collect()
});

/// Whether `text` is a valid `format` string. `url`, common in OpenAPI documents though no JSON
/// Schema format, is held to `uri`.
pub(super) fn format_ok(format: &str, text: &str) -> bool {
    let format = if format == "url" { "uri" } else { format };
    FORMAT_VALIDATORS
        .iter()
        .find(|(name, _)| *name == format)
        .is_none_or(|(_, validator)| validator.is_valid(&Value::String(text.to_owned())))
}

/// A validator for strings that must match `pattern`; `None` if the pattern does not compile.
pub(super) fn pattern(pattern: &str) -> Option<Validator> {
    options().build(&json!({ "pattern": pattern })).ok()
}
