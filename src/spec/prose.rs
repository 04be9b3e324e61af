//! Dropping the prose of a loaded document: `description`, `summary` and `externalDocs`.
//!
//! Nothing after loading reads them: validation ignores annotations, answers come from examples
//! and schemas, and errors name pointers. Yet prose is most of a published spec's text (two
//! fifths of one in the corpus, more than half of some generated ones), and the document stays loaded for
//! as long as specbox serves. So once overlays (whose JSONPath filters may select by description)
//! are applied and the document is bundled, the prose goes.
//!
//! Only annotations go, never data: literal values (examples, enums, defaults, link request
//! bodies) and extensions (`x-*`) are left as they are, and below a key that holds a map of names
//! (`properties`, `paths`, `responses`, ...) a name such as `description` is a name, not prose.

use crate::spec::inline::{is_literal, names_below};
use serde_json::Value;

/// Drops every `description` and `summary` string and `externalDocs` object of `root`.
pub fn drop_prose(root: &mut Value) {
    strip(root, false);
}

fn strip(v: &mut Value, named: bool) {
    match v {
        Value::Object(map) => {
            if !named {
                map.retain(|k, v| match k.as_str() {
                    "description" | "summary" => !v.is_string(),
                    "externalDocs" => !v.is_object(),
                    _ => true,
                });
            }
            for (k, child) in map.iter_mut() {
                if named {
                    strip(child, false);
                } else if !(is_literal(k, child)
                    || k.starts_with("x-")
                    || matches!(k.as_str(), "links" | "dataValue" | "serializedValue"))
                {
                    strip(child, names_below(k));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                strip(item, false);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prose_goes_names_literals_and_extensions_stay() {
        let mut doc = json!({
            "info": {"title": "t", "description": "about", "version": "1"},
            "externalDocs": {"url": "https://x"},
            "paths": {"/a": {"get": {
                "summary": "s", "description": "d",
                "parameters": [{"name": "q", "in": "query", "description": "d", "example": {"description": "kept"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"type": "object", "description": "d", "properties": {
                        "description": {"type": "string", "description": "d", "default": {"summary": "kept"}},
                        "summary": {"enum": [{"description": "kept"}]}
                    }},
                    "examples": {"one": {"summary": "s", "value": {"description": "kept", "summary": "kept"}}}
                }}}}
            }}},
            "x-specbox-thing": {"description": "kept"},
            "components": {"schemas": {"description": {"description": 5}}}
        });
        drop_prose(&mut doc);
        assert_eq!(
            doc,
            json!({
                "info": {"title": "t", "version": "1"},
                "paths": {"/a": {"get": {
                    "parameters": [{"name": "q", "in": "query", "example": {"description": "kept"}}],
                    "responses": {"200": {"content": {"application/json": {
                        "schema": {"type": "object", "properties": {
                            "description": {"type": "string", "default": {"summary": "kept"}},
                            "summary": {"enum": [{"description": "kept"}]}
                        }},
                        "examples": {"one": {"value": {"description": "kept", "summary": "kept"}}}
                    }}}}
                }}},
                "x-specbox-thing": {"description": "kept"},
                "components": {"schemas": {"description": {"description": 5}}}
            })
        );
    }
}
