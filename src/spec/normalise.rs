//! OpenAPI 3.0 → JSON Schema 2020-12: every schema of a 3.0 document rewritten in place once, at
//! load (`nullable`, boolean `exclusiveMinimum`/`exclusiveMaximum`, `$ref` siblings), so that one
//! 2020-12 validator reads every spec. A schema's `example` stays as it is: to a validator it is
//! an annotation like `examples`, and what reads examples reads both (a one-item `examples` list
//! made for each cost 90 kB of idle memory for a published spec with 2,100 of them).

use crate::spec::pointer::{escape_pointer, lookup, lookup_mut, operations, percent_decode};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Pointers into the document (thousands in a large spec, hashed without SipHash).
type Pointers = HashSet<String, foldhash::fast::RandomState>;

/// Rewrites every schema of a 3.0 document in place so that a 2020-12 validator reads it as 3.0
/// meant it: `nullable` becomes a `null` type, boolean `exclusiveMinimum`/`exclusiveMaximum`
/// become numeric ones, and `$ref` siblings (ignored by 3.0) go.
pub fn normalise_30(root: &mut Value) {
    let mut found = Pointers::default();
    collect_schema_positions(root, &mut found);
    // Inner schemas first: rewriting a schema may move what it holds (a `nullable` schema
    // without a type becomes `anyOf: [<itself>, null]`), where an inner schema would no longer
    // be found at its pointer. A pointer inside another is the longer of the two.
    let mut found: Vec<String> = found.into_iter().collect();
    found.sort_unstable_by_key(|p| std::cmp::Reverse(p.len()));
    for pointer in found {
        if let Some(Value::Object(schema)) = lookup_mut(root, &pointer) {
            normalise_schema_30(schema);
        }
    }
}

fn normalise_schema_30(s: &mut Map<String, Value>) {
    if s.contains_key("$ref") {
        s.retain(|k, _| k == "$ref" || k == "description" || k == "summary");
        return;
    }
    for (bound, flag) in [("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")] {
        match s.get(flag) {
            Some(Value::Bool(true)) => {
                if let Some(limit) = s.remove(bound) {
                    s.insert(flag.into(), limit);
                } else {
                    s.remove(flag);
                }
            }
            Some(Value::Bool(false)) => {
                s.remove(flag);
            }
            _ => {}
        }
    }
    if s.remove("nullable") == Some(Value::Bool(true)) {
        match s.get_mut("type") {
            Some(Value::String(t)) => {
                let t = std::mem::take(t);
                s.insert("type".into(), serde_json::json!([t, "null"]));
            }
            Some(Value::Array(types)) => {
                if !types.iter().any(|t| t == "null") {
                    types.push("null".into());
                }
            }
            _ => {
                // No type to widen (a bare allOf/oneOf): allow null beside the whole schema.
                let inner = Value::Object(std::mem::take(s));
                s.insert("anyOf".into(), serde_json::json!([inner, {"type": "null"}]));
                return;
            }
        }
        if let Some(Value::Array(values)) = s.get_mut("enum")
            && !values.iter().any(Value::is_null)
        {
            values.push(Value::Null);
        }
    }
}

/// Collects the JSON pointers of every schema in the document, following `$ref`s from
/// non-schema positions (parameters, responses, ...) to what they point at.
fn collect_schema_positions(root: &Value, out: &mut Pointers) {
    let mut w = SchemaWalker {
        root,
        out,
        seen: Pointers::default(),
    };
    if let Some(schemas) = lookup(root, "/components/schemas").and_then(Value::as_object) {
        for k in schemas.keys() {
            w.schema(&format!("/components/schemas/{}", escape_pointer(k)));
        }
    }
    for (section, kind) in [
        ("parameters", Kind::Parameter),
        ("headers", Kind::Parameter),
        ("requestBodies", Kind::Content),
        ("responses", Kind::Response),
    ] {
        if let Some(m) = lookup(root, &format!("/components/{section}")).and_then(Value::as_object) {
            for k in m.keys() {
                w.visit(kind, &format!("/components/{section}/{}", escape_pointer(k)));
            }
        }
    }
    if let Some(paths) = root.get("paths").and_then(Value::as_object) {
        for k in paths.keys() {
            w.visit(Kind::PathItem, &format!("/paths/{}", escape_pointer(k)));
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    PathItem,
    Operation,
    Parameter,
    Content,
    Response,
}

struct SchemaWalker<'a> {
    root: &'a Value,
    out: &'a mut Pointers,
    seen: Pointers,
}

impl<'a> SchemaWalker<'a> {
    fn follow(&self, pointer: &str) -> Option<(String, &'a Value)> {
        let root: &'a Value = self.root;
        let v = lookup(root, pointer)?;
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) if r.starts_with('#') => {
                let target = percent_decode(&r[1..]).into_owned();
                lookup(root, &target).map(|t| (target, t))
            }
            _ => Some((pointer.to_string(), v)),
        }
    }

    fn visit(&mut self, kind: Kind, pointer: &str) {
        let Some((pointer, value)) = self.follow(pointer) else {
            return;
        };
        if !self.seen.insert(format!("{}{pointer}", kind as u8)) {
            return;
        }
        let Some(obj) = value.as_object() else { return };
        let obj_value = value;
        match kind {
            Kind::PathItem => {
                if obj.contains_key("parameters") {
                    self.list(Kind::Parameter, &format!("{pointer}/parameters"));
                }
                for o in operations(obj_value) {
                    self.visit(Kind::Operation, &format!("{pointer}/{}", o.suffix));
                }
            }
            Kind::Operation => {
                if obj.contains_key("parameters") {
                    self.list(Kind::Parameter, &format!("{pointer}/parameters"));
                }
                if obj.contains_key("requestBody") {
                    self.visit(Kind::Content, &format!("{pointer}/requestBody"));
                }
                if let Some(responses) = obj.get("responses").and_then(Value::as_object) {
                    for code in responses.keys() {
                        self.visit(Kind::Response, &format!("{pointer}/responses/{}", escape_pointer(code)));
                    }
                }
            }
            Kind::Parameter => {
                if obj.contains_key("schema") {
                    self.schema(&format!("{pointer}/schema"));
                }
                self.content(obj, &pointer);
            }
            Kind::Content => self.content(obj, &pointer),
            Kind::Response => {
                self.content(obj, &pointer);
                if let Some(headers) = obj.get("headers").and_then(Value::as_object) {
                    for h in headers.keys() {
                        self.visit(Kind::Parameter, &format!("{pointer}/headers/{}", escape_pointer(h)));
                    }
                }
            }
        }
    }

    fn list(&mut self, kind: Kind, pointer: &str) {
        let root: &'a Value = self.root;
        let n = lookup(root, pointer).and_then(Value::as_array).map_or(0, Vec::len);
        for i in 0..n {
            self.visit(kind, &format!("{pointer}/{i}"));
        }
    }

    fn content(&mut self, obj: &Map<String, Value>, pointer: &str) {
        if let Some(content) = obj.get("content").and_then(Value::as_object) {
            for (mt, media) in content {
                if media.get("schema").is_some() {
                    self.schema(&format!("{pointer}/content/{}/schema", escape_pointer(mt)));
                }
            }
        }
    }

    fn schema(&mut self, pointer: &str) {
        let root: &'a Value = self.root;
        if let Some(value) = lookup(root, pointer) {
            self.schema_at(pointer.to_string(), value);
        }
    }

    /// The schema `value`, at `pointer`, and every schema in it. Children are reached from the
    /// value in hand, not looked up again from the root, and only the pointers of subschemas are
    /// written out.
    fn schema_at(&mut self, pointer: String, value: &'a Value) {
        let Some(obj) = value.as_object() else {
            self.out.insert(pointer);
            return;
        };
        if !self.out.insert(pointer.clone()) {
            return;
        }
        if let Some(r) = obj.get("$ref").and_then(Value::as_str)
            && let Some(target) = r.strip_prefix('#')
        {
            self.schema(&percent_decode(target));
        }
        // The keywords matched below are plain names: none needs escaping in a pointer.
        for (k, v) in obj {
            match k.as_str() {
                "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                    if let Some(m) = v.as_object() {
                        for (name, s) in m {
                            self.schema_at(format!("{pointer}/{k}/{}", escape_pointer(name)), s);
                        }
                    }
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" | "items" if v.is_array() => {
                    for (i, s) in v.as_array().into_iter().flatten().enumerate() {
                        self.schema_at(format!("{pointer}/{k}/{i}"), s);
                    }
                }
                "items"
                | "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "propertyNames"
                | "contains"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "additionalItems"
                    if v.is_object() =>
                {
                    self.schema_at(format!("{pointer}/{k}"), v);
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_30;
    use serde_json::json;

    /// A schema inside a `nullable` one without a type is rewritten too, wherever the outer one's
    /// rewrite moves it (into `anyOf`): inner schemas go first.
    #[test]
    fn schemas_inside_a_nullable_one_without_a_type_are_normalised() {
        let mut doc = json!({"openapi": "3.0.3", "components": {"schemas": {"A": {
            "nullable": true,
            "allOf": [{"type": "object", "properties": {"y": {"type": "integer", "nullable": true}}}],
            "properties": {"x": {"type": "string", "nullable": true}},
        }}}});
        normalise_30(&mut doc);
        assert_eq!(
            doc["components"]["schemas"]["A"],
            json!({"anyOf": [{
                "allOf": [{"type": "object", "properties": {"y": {"type": ["integer", "null"]}}}],
                "properties": {"x": {"type": ["string", "null"]}},
            }, {"type": "null"}]})
        );
    }
}
