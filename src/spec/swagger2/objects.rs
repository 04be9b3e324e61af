//! The parts of an operation in OpenAPI 3 form: parameters and their schemas, request bodies (from `in: body` and
//! `in: formData`), responses and headers, schemas, and security schemes.

use serde_json::{Map, Value};

use crate::spec::swagger2::common::*;
use crate::spec::swagger2::convert::{Converter, Resolved};

impl<'a> Converter<'a> {
    /// A query, header or path parameter: a reference stays a reference (to `#/components/parameters/`), an inline
    /// one is converted.
    pub(super) fn parameter(&self, param: &Resolved<'_>) -> Value {
        if let Some(reference) = param.reference {
            let mut out = Map::new();
            out.insert("$ref".to_owned(), Value::String(self.rewrite(reference)));
            return Value::Object(out);
        }
        let Some(def) = param.def else {
            return Value::Object(Map::new());
        };
        let location = def.get("in").and_then(Value::as_str).unwrap_or_default();
        let mut out = Map::new();
        copy_fields(def, &mut out, &["name", "in", "description"]);
        if location == "path" {
            // OpenAPI 3 requires it for path parameters (Swagger did too, but it is often left out).
            out.insert("required".to_owned(), Value::Bool(true));
        } else {
            copy_fields(def, &mut out, &["required"]);
        }
        copy_fields(def, &mut out, &["deprecated"]);
        if location == "query" {
            // OpenAPI 3 allows `allowEmptyValue` only on query parameters; Swagger also allowed it on form fields.
            copy_fields(def, &mut out, &["allowEmptyValue"]);
        }
        if def.get("type").and_then(Value::as_str) == Some("array") {
            let format = def.get("collectionFormat").and_then(Value::as_str);
            let (style, explode, exact) = collection_style(location, format);
            out.insert("style".to_owned(), Value::String(style.to_owned()));
            out.insert("explode".to_owned(), Value::Bool(explode));
            if let (false, Some(format)) = (exact, format) {
                out.insert("x-collectionFormat".to_owned(), Value::String(format.to_owned()));
            }
        }
        out.insert("schema".to_owned(), Value::Object(self.simple_schema(def)));
        if let Some(example) = def.get("x-example").or_else(|| def.get("example")) {
            out.insert("example".to_owned(), example.clone());
        }
        copy_extensions(def, &mut out, &["x-example", "x-nullable"]);
        Value::Object(out)
    }

    /// The schema part of a non-body parameter, a header or an `items` object.
    pub(super) fn simple_schema(&self, def: &Map<String, Value>) -> Map<String, Value> {
        if let Some(reference) = def.get("$ref").and_then(Value::as_str) {
            // `items` pointing at a definition is not Swagger, but it is common and means the obvious thing.
            let mut out = Map::new();
            out.insert("$ref".to_owned(), Value::String(self.rewrite(reference)));
            return out;
        }
        let mut schema = Map::new();
        for key in SCHEMA_KEYWORDS {
            let Some(value) = def.get(key) else {
                continue;
            };
            let converted = match (key, value) {
                ("items", Value::Object(items)) => Value::Object(self.simple_schema(items)),
                _ => value.clone(),
            };
            schema.insert(key.to_owned(), converted);
        }
        if schema.get("type").and_then(Value::as_str) == Some("file") {
            schema.insert("type".to_owned(), Value::String("string".to_owned()));
            schema.insert("format".to_owned(), Value::String("binary".to_owned()));
        }
        if let Some(nullable) = def.get("x-nullable").and_then(Value::as_bool) {
            schema.insert("nullable".to_owned(), Value::Bool(nullable));
        }
        schema
    }

    /// An `in: body` parameter → `requestBody`, one media type per `consumes` entry.
    pub(super) fn body_request(&self, param: &Resolved<'_>, consumes: &[String]) -> Value {
        let Some(def) = param.def else {
            return Value::Object(Map::new());
        };
        let schema = def.get("schema").map(|schema| self.schema(schema));
        let media = media_or_default(consumes);
        let content = build_content(
            &media,
            schema.as_ref(),
            def.get("x-examples").and_then(Value::as_object),
            def.get("x-example"),
            true,
        );
        let mut out = Map::new();
        copy_fields(def, &mut out, &["description"]);
        out.insert("content".to_owned(), Value::Object(content));
        copy_fields(def, &mut out, &["required"]);
        copy_extensions(def, &mut out, &["x-examples", "x-example"]);
        Value::Object(out)
    }

    /// `in: formData` parameters → one `requestBody` whose schema is an object with a property per field.
    ///
    /// The media types are the form ones the operation `consumes`; without any, `multipart/form-data` when a field
    /// is a file (a file cannot be sent URL-encoded) and `application/x-www-form-urlencoded` otherwise.
    pub(super) fn form_request(&mut self, forms: &[&Resolved<'_>], consumes: &[String]) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut encoding = Map::new();
        let mut has_file = false;
        for param in forms {
            let Some(def) = param.def else {
                continue;
            };
            let Some(name) = def.get("name").and_then(Value::as_str) else {
                self.problem(
                    &param.pointer,
                    "a formData parameter needs a `name`: it becomes the form field's name",
                );
                continue;
            };
            has_file |= def.get("type").and_then(Value::as_str) == Some("file");
            let mut property = self.simple_schema(def);
            copy_fields(def, &mut property, &["description"]);
            if let Some(example) = def.get("x-example").or_else(|| def.get("example")) {
                property.insert("example".to_owned(), example.clone());
            }
            if def.get("required").and_then(Value::as_bool) == Some(true) {
                required.push(Value::String(name.to_owned()));
            }
            if def.get("type").and_then(Value::as_str) == Some("array") {
                let format = def.get("collectionFormat").and_then(Value::as_str);
                let (style, explode, exact) = collection_style("query", format);
                let mut field = Map::new();
                field.insert("style".to_owned(), Value::String(style.to_owned()));
                field.insert("explode".to_owned(), Value::Bool(explode));
                if let (false, Some(format)) = (exact, format) {
                    field.insert("x-collectionFormat".to_owned(), Value::String(format.to_owned()));
                }
                encoding.insert(name.to_owned(), Value::Object(field));
            }
            properties.insert(name.to_owned(), Value::Object(property));
        }

        let mut media: Vec<String> = Vec::new();
        for media_type in consumes {
            let base = media_base(media_type);
            if (base == FORM_URLENCODED || base == MULTIPART) && !media.contains(&base) {
                media.push(base);
            }
        }
        if has_file && !media.iter().any(|m| m == MULTIPART) {
            media.push(MULTIPART.to_owned());
        }
        if media.is_empty() {
            media.push(FORM_URLENCODED.to_owned());
        }

        let mut schema = Map::new();
        schema.insert("type".to_owned(), Value::String("object".to_owned()));
        schema.insert("properties".to_owned(), Value::Object(properties));
        let any_required = !required.is_empty();
        if any_required {
            schema.insert("required".to_owned(), Value::Array(required));
        }
        let mut content = Map::new();
        for media_type in media {
            let mut entry = Map::new();
            entry.insert("schema".to_owned(), Value::Object(schema.clone()));
            // style/explode in an encoding only apply to URL-encoded forms.
            if media_type == FORM_URLENCODED && !encoding.is_empty() {
                entry.insert("encoding".to_owned(), Value::Object(encoding.clone()));
            }
            content.insert(media_type, Value::Object(entry));
        }
        let mut out = Map::new();
        out.insert("content".to_owned(), Value::Object(content));
        if any_required {
            out.insert("required".to_owned(), Value::Bool(true));
        }
        Value::Object(out)
    }

    pub(super) fn responses(&mut self, responses: &'a Value, produces: &[String], pointer: &str) -> Value {
        let Some(entries) = responses.as_object() else {
            return responses.clone();
        };
        let mut out = Map::new();
        for (code, response) in entries {
            let converted = if is_extension(code) {
                response.clone()
            } else {
                self.response(response, produces, &child(pointer, code))
            };
            out.insert(code.clone(), converted);
        }
        Value::Object(out)
    }

    /// A response: `schema` and `examples` → `content` (one entry per `produces` media type, plus any media type an
    /// example is given for), `headers` → header objects with a `schema`.
    pub(super) fn response(&mut self, response: &'a Value, produces: &[String], pointer: &str) -> Value {
        let Some(def) = response.as_object() else {
            self.problem(pointer, "a response must be an object");
            return response.clone();
        };
        let mut out = Map::new();
        if let Some(reference) = def.get("$ref").and_then(Value::as_str) {
            out.insert("$ref".to_owned(), Value::String(self.rewrite(reference)));
            return Value::Object(out);
        }
        copy_fields(def, &mut out, &["description"]);
        if let Some(headers) = def.get("headers").and_then(Value::as_object) {
            let converted: Map<String, Value> = headers
                .iter()
                .map(|(name, header)| (name.clone(), self.header(header)))
                .collect();
            out.insert("headers".to_owned(), Value::Object(converted));
        }
        let schema = def.get("schema").map(|schema| self.schema(schema));
        let media = media_or_default(produces);
        let content = build_content(
            &media,
            schema.as_ref(),
            def.get("examples").and_then(Value::as_object),
            None,
            false,
        );
        if !content.is_empty() {
            out.insert("content".to_owned(), Value::Object(content));
        }
        copy_extensions(def, &mut out, &[]);
        Value::Object(out)
    }

    pub(super) fn header(&self, header: &Value) -> Value {
        let Some(def) = header.as_object() else {
            return header.clone();
        };
        let mut out = Map::new();
        copy_fields(def, &mut out, &["description"]);
        if def.get("type").and_then(Value::as_str) == Some("array") {
            // Headers are always `simple` in OpenAPI 3, which is Swagger's default `csv`.
            if let Some(format) = def
                .get("collectionFormat")
                .and_then(Value::as_str)
                .filter(|f| *f != "csv")
            {
                out.insert("x-collectionFormat".to_owned(), Value::String(format.to_owned()));
            }
        }
        out.insert("schema".to_owned(), Value::Object(self.simple_schema(def)));
        if let Some(example) = def.get("x-example").or_else(|| def.get("example")) {
            out.insert("example".to_owned(), example.clone());
        }
        copy_extensions(def, &mut out, &["x-example", "x-nullable"]);
        Value::Object(out)
    }

    /// A Swagger schema → an OpenAPI 3.0 schema: references rewritten, `x-nullable` → `nullable`, `type: file` →
    /// binary string, a `discriminator` property name → a Discriminator Object, recursively through every
    /// sub-schema. Example and default values are left exactly as written.
    pub(super) fn schema(&self, schema: &Value) -> Value {
        let Some(def) = schema.as_object() else {
            return schema.clone();
        };
        let mut out = Map::new();
        for (key, value) in def {
            let converted = match (key.as_str(), value) {
                ("$ref", Value::String(reference)) => Value::String(self.rewrite(reference)),
                ("x-nullable", Value::Bool(nullable)) => {
                    out.insert("nullable".to_owned(), Value::Bool(*nullable));
                    continue;
                }
                ("x-example", example) => {
                    if !def.contains_key("example") {
                        out.insert("example".to_owned(), example.clone());
                    }
                    continue;
                }
                ("discriminator", Value::String(property)) => {
                    let mut discriminator = Map::new();
                    discriminator.insert("propertyName".to_owned(), Value::String(property.clone()));
                    Value::Object(discriminator)
                }
                ("properties" | "patternProperties", Value::Object(properties)) => Value::Object(
                    properties
                        .iter()
                        .map(|(name, property)| (name.clone(), self.schema(property)))
                        .collect(),
                ),
                ("items" | "additionalProperties" | "not", Value::Object(_)) => self.schema(value),
                ("items" | "allOf" | "anyOf" | "oneOf", Value::Array(schemas)) => {
                    Value::Array(schemas.iter().map(|s| self.schema(s)).collect())
                }
                _ => value.clone(),
            };
            out.insert(key.clone(), converted);
        }
        if def.get("type").and_then(Value::as_str) == Some("file") {
            out.insert("type".to_owned(), Value::String("string".to_owned()));
            out.insert("format".to_owned(), Value::String("binary".to_owned()));
        }
        Value::Object(out)
    }

    pub(super) fn security_scheme(&mut self, scheme: &Value, pointer: &str) -> Value {
        let Some(def) = scheme.as_object() else {
            self.problem(pointer, "a security definition must be an object");
            return scheme.clone();
        };
        let mut out = Map::new();
        match def.get("type").and_then(Value::as_str) {
            Some("basic") => {
                out.insert("type".to_owned(), Value::String("http".to_owned()));
                out.insert("scheme".to_owned(), Value::String("basic".to_owned()));
            }
            Some("apiKey") => {
                out.insert("type".to_owned(), Value::String("apiKey".to_owned()));
                copy_fields(def, &mut out, &["name", "in"]);
            }
            Some("oauth2") => {
                let flow_name = match def.get("flow").and_then(Value::as_str) {
                    Some("implicit") => "implicit",
                    Some("password") => "password",
                    Some("application") => "clientCredentials",
                    Some("accessCode") => "authorizationCode",
                    other => {
                        self.problem(
                            child(pointer, "flow"),
                            format!(
                                "unknown oauth2 flow {}: expected implicit, password, application or accessCode",
                                other.map_or_else(|| "(none)".to_owned(), |f| format!("`{f}`"))
                            ),
                        );
                        return scheme.clone();
                    }
                };
                let mut flow = Map::new();
                if matches!(flow_name, "implicit" | "authorizationCode") {
                    copy_fields(def, &mut flow, &["authorizationUrl"]);
                }
                if matches!(flow_name, "password" | "clientCredentials" | "authorizationCode") {
                    copy_fields(def, &mut flow, &["tokenUrl"]);
                }
                let scopes = def.get("scopes").cloned().unwrap_or_else(|| Value::Object(Map::new()));
                flow.insert("scopes".to_owned(), scopes);
                let mut flows = Map::new();
                flows.insert(flow_name.to_owned(), Value::Object(flow));
                out.insert("type".to_owned(), Value::String("oauth2".to_owned()));
                out.insert("flows".to_owned(), Value::Object(flows));
            }
            other => {
                self.problem(
                    child(pointer, "type"),
                    format!(
                        "unknown security scheme type {}: expected basic, apiKey or oauth2",
                        other.map_or_else(|| "(none)".to_owned(), |t| format!("`{t}`"))
                    ),
                );
                return scheme.clone();
            }
        }
        copy_fields(def, &mut out, &["description"]);
        copy_extensions(def, &mut out, &[]);
        Value::Object(out)
    }
}
