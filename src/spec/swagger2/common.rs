//! What the Swagger 2.0 converter's two halves share: the version it writes, media types, component naming and
//! `$ref` rewriting (which [`super::convert_fragment`] needs without a converter), and small helpers for copying
//! fields and building `content`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
/// The OpenAPI version every converted document declares.
pub const OPENAPI_VERSION: &str = "3.0.3";

/// Swagger 2.0 lets `consumes`/`produces` be absent everywhere; JSON is what such APIs nearly always speak, and the
/// media type OpenAPI 3 tooling assumes too.
pub(super) const JSON: &str = "application/json";
pub(super) const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";
pub(super) const MULTIPART: &str = "multipart/form-data";

/// The operations a Swagger 2.0 path item can hold (OpenAPI 3.0 adds `trace`, which Swagger never had).
pub(super) const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// The fields a Swagger non-body parameter, header or `items` object shares with a schema. OpenAPI 3 moves them into
/// the parameter's or header's `schema`.
pub(super) const SCHEMA_KEYWORDS: [&str; 16] = [
    "type",
    "format",
    "items",
    "default",
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
    "enum",
    "multipleOf",
];

/// The three Swagger sections of reusable objects, which OpenAPI 3 moves under `components`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Section {
    Definitions,
    Parameters,
    Responses,
}

impl Section {
    pub(super) const ALL: [Section; 3] = [Section::Definitions, Section::Parameters, Section::Responses];

    pub(super) fn swagger(self) -> &'static str {
        match self {
            Section::Definitions => "definitions",
            Section::Parameters => "parameters",
            Section::Responses => "responses",
        }
    }

    pub(super) fn components(self) -> &'static str {
        match self {
            Section::Definitions => "schemas",
            Section::Parameters => "parameters",
            Section::Responses => "responses",
        }
    }

    pub(super) fn from_swagger(name: &str) -> Option<Self> {
        Section::ALL.into_iter().find(|section| section.swagger() == name)
    }
}

/// The name each reusable object gets under `components`.
///
/// Swagger 2.0 allows any string as a definition name, and generated specs use that freely
/// (`ResponseEntity«Pet»`, `Pet Response`); OpenAPI 3 restricts component names to `^[a-zA-Z0-9._-]+$`. Invalid
/// names are rewritten (each bad character becomes `_`) and every reference follows the new name, so the result is
/// valid OpenAPI 3. Names that are already valid are kept first, so a rename can never take a valid name's place.
#[derive(Debug, Default)]
pub(super) struct ComponentNames {
    renamed: HashMap<(Section, String), String>,
}

impl ComponentNames {
    pub(super) fn build(root: &Map<String, Value>) -> Self {
        let mut renamed = HashMap::new();
        for section in Section::ALL {
            let Some(entries) = root.get(section.swagger()).and_then(Value::as_object) else {
                continue;
            };
            let mut taken: HashSet<String> = entries.keys().filter(|k| is_component_name(k)).cloned().collect();
            for name in entries.keys().filter(|k| !is_component_name(k)) {
                let base = sanitize_component_name(name);
                let mut candidate = base.clone();
                let mut n = 2;
                while taken.contains(&candidate) {
                    candidate = format!("{base}_{n}");
                    n += 1;
                }
                taken.insert(candidate.clone());
                renamed.insert((section, name.clone()), candidate);
            }
        }
        Self { renamed }
    }

    /// The component name for a Swagger name of this document.
    pub(super) fn get(&self, section: Section, name: &str) -> String {
        self.renamed
            .get(&(section, name.to_owned()))
            .cloned()
            .unwrap_or_else(|| sanitize_component_name(name))
    }
}

pub(super) fn is_component_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The component name for a name in another file. Other files are converted separately by [`convert_fragment`], so
/// only this deterministic part of the renaming can be shared with them.
pub(super) fn sanitize_component_name(name: &str) -> String {
    if name.is_empty() {
        return "_".to_owned();
    }
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Rewrites one `$ref`: `#/definitions/X` → `#/components/schemas/X` and likewise for parameters and responses,
/// whether the reference is internal or into another file (`pet.yaml#/definitions/Pet`). Anything else is returned
/// unchanged.
pub(super) fn rewrite_ref(reference: &str, names: &ComponentNames) -> String {
    let Some((base, fragment)) = reference.split_once('#') else {
        return reference.to_owned();
    };
    let Some(rest) = fragment.strip_prefix('/') else {
        return reference.to_owned();
    };
    let mut tokens = rest.splitn(3, '/');
    let Some(section) = tokens.next().and_then(Section::from_swagger) else {
        return reference.to_owned();
    };
    let mut out = format!("{base}#/components/{}", section.components());
    if let Some(token) = tokens.next() {
        let name = unescape_token(&percent_decode(token));
        let new_name = if base.is_empty() {
            names.get(section, &name)
        } else {
            sanitize_component_name(&name)
        };
        out.push('/');
        out.push_str(&escape_token(&new_name));
        if let Some(tail) = tokens.next() {
            out.push('/');
            out.push_str(tail);
        }
    }
    out
}

/// Keys whose values are data (examples, defaults, enumerations), in which a `"$ref"` key is just data and must not
/// be rewritten.
pub(super) const DATA_KEYS: [&str; 7] = [
    "example",
    "examples",
    "x-example",
    "x-examples",
    "default",
    "enum",
    "const",
];

/// Keys whose values are maps from user-chosen names to objects: inside them a key such as `example` is a name (a
/// property called `example`), not data.
pub(super) const NAMED_MAPS: [&str; 8] = [
    "properties",
    "patternProperties",
    "definitions",
    "parameters",
    "responses",
    "headers",
    "paths",
    "securityDefinitions",
];

/// Rewrites every `$ref` in a value of unknown shape (a fragment file), leaving example data alone.
pub(super) fn rewrite_refs_deep(value: &Value, names: &ComponentNames, in_named_map: bool) -> Value {
    match value {
        Value::Object(obj) => {
            let mut out = Map::new();
            for (key, child) in obj {
                let new_child = if in_named_map {
                    rewrite_refs_deep(child, names, false)
                } else if key == "$ref" {
                    match child.as_str() {
                        Some(reference) => Value::String(rewrite_ref(reference, names)),
                        None => child.clone(),
                    }
                } else if DATA_KEYS.contains(&key.as_str()) {
                    child.clone()
                } else {
                    rewrite_refs_deep(child, names, NAMED_MAPS.contains(&key.as_str()) && child.is_object())
                };
                out.insert(key.clone(), new_child);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|item| rewrite_refs_deep(item, names, false)).collect()),
        other => other.clone(),
    }
}

/// Decodes `%XX` escapes: a `$ref` is a URI, so a name with spaces or non-ASCII letters arrives percent-encoded.
pub(super) fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            let high = bytes.get(i + 1).and_then(|b| hex_value(*b));
            let low = bytes.get(i + 2).and_then(|b| hex_value(*b));
            if let (Some(high), Some(low)) = (high, low) {
                out.push(high * 16 + low);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

pub(super) fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

pub(super) fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

pub(super) fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The pointer to a child of the object at `pointer`.
pub(super) fn child(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", escape_token(token))
}

pub(super) fn is_extension(key: &str) -> bool {
    key.starts_with("x-")
}

/// Copies the `x-` extensions of `from` into `to`, except those the conversion has already turned into real fields.
pub(super) fn copy_extensions(from: &Map<String, Value>, to: &mut Map<String, Value>, except: &[&str]) {
    for (key, value) in from {
        if is_extension(key) && !except.contains(&key.as_str()) {
            to.insert(key.clone(), value.clone());
        }
    }
}

pub(super) fn copy_fields(from: &Map<String, Value>, to: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(value) = from.get(*key) {
            to.insert((*key).to_owned(), value.clone());
        }
    }
}

/// The media type without its parameters, lower-cased, for comparisons.
pub(super) fn media_base(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

pub(super) fn is_json_media(media_type: &str) -> bool {
    let base = media_base(media_type);
    base == JSON || base == "text/json" || base.ends_with("+json")
}

/// A `consumes` or `produces` list, or `None` when the field is absent (an empty list is a real override).
pub(super) fn media_list(value: Option<&Value>) -> Option<Vec<String>> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
}

/// Swagger examples are often JSON written as a string (the text of the response). For a JSON media type such a
/// string is parsed, so that the example is the JSON value it shows and a mock answer built from it is that JSON,
/// not a JSON string holding JSON text.
pub(super) fn example_value(media_type: &str, example: &Value) -> Value {
    if let Value::String(text) = example {
        let trimmed = text.trim_start();
        let looks_like_json = trimmed.starts_with('{') || trimmed.starts_with('[');
        let parsed = (looks_like_json && is_json_media(media_type))
            .then(|| serde_json::from_str::<Value>(text).ok())
            .flatten();
        if let Some(parsed) = parsed {
            return parsed;
        }
    }
    example.clone()
}

/// How a Swagger `collectionFormat` is said in OpenAPI 3: `(style, explode, exact)`, `exact` false when OpenAPI 3 has
/// no equivalent (`tsv`, or `ssv`/`pipes`/`multi` outside a query) and the nearest style is used; the original
/// format is then kept in `x-collectionFormat`. Swagger's default is `csv`, which differs from OpenAPI 3's default
/// for query parameters (`form` with explode), so the style is always written out.
pub(super) fn collection_style(location: &str, collection_format: Option<&str>) -> (&'static str, bool, bool) {
    match (location, collection_format.unwrap_or("csv")) {
        ("query", "csv") => ("form", false, true),
        ("query", "multi") => ("form", true, true),
        ("query", "ssv") => ("spaceDelimited", false, true),
        ("query", "pipes") => ("pipeDelimited", false, true),
        ("query", _) => ("form", false, false),
        (_, "csv") => ("simple", false, true),
        _ => ("simple", false, false),
    }
}

pub(super) fn media_or_default(media: &[String]) -> Vec<String> {
    if media.is_empty() {
        vec![JSON.to_owned()]
    } else {
        media.to_vec()
    }
}

/// The `content` of a request body or response.
///
/// `always`: create the media type entries even without a schema or example (a request body must have content).
/// `keyed_examples` (Swagger's `examples` / `x-examples`, keyed by media type) may name a media type missing from
/// the list; it is added, since an example in that type says the API can answer in it.
pub(super) fn build_content(
    media: &[String],
    schema: Option<&Value>,
    keyed_examples: Option<&Map<String, Value>>,
    single_example: Option<&Value>,
    always: bool,
) -> Map<String, Value> {
    let media_entry = |media_type: &str, example: Option<&Value>| {
        let mut entry = Map::new();
        if let Some(schema) = schema {
            entry.insert("schema".to_owned(), schema.clone());
        }
        if let Some(example) = example {
            entry.insert("example".to_owned(), example_value(media_type, example));
        }
        entry
    };
    let mut content = Map::new();
    if always || schema.is_some() || single_example.is_some() {
        for media_type in media {
            content.insert(
                media_type.clone(),
                Value::Object(media_entry(media_type, single_example)),
            );
        }
    }
    for (media_type, example) in keyed_examples.into_iter().flatten() {
        match content.get_mut(media_type) {
            Some(Value::Object(entry)) => {
                entry.insert("example".to_owned(), example_value(media_type, example));
            }
            _ => {
                content.insert(
                    media_type.clone(),
                    Value::Object(media_entry(media_type, Some(example))),
                );
            }
        }
    }
    content
}
