//! The converter of a whole Swagger 2.0 document: the document, its components, paths, path items and operations.
//! What an operation is made of (parameters, request bodies, responses, headers, schemas, security schemes) is
//! converted in [`super::objects`], a second `impl` block of the same [`Converter`].

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::spec::error::Problem;
use crate::spec::swagger2::common::*;

/// A parameter entry once an internal `#/parameters/...` reference is followed.
pub(super) struct Resolved<'a> {
    /// The parameter object; `None` for a reference into another file, which cannot be followed here.
    pub(super) def: Option<&'a Map<String, Value>>,
    /// The `$ref` as written, when the entry was a reference.
    pub(super) reference: Option<&'a str>,
    /// Pointer (in the Swagger document) to the parameter object, for problems found in it.
    pub(super) pointer: String,
}

impl Resolved<'_> {
    pub(super) fn location(&self) -> Option<&str> {
        self.def.and_then(|def| def.get("in")).and_then(Value::as_str)
    }

    pub(super) fn is_request_body(&self) -> bool {
        matches!(self.location(), Some("body" | "formData"))
    }

    /// A parameter is identified by name and location; an operation's parameter overrides the path's one with the
    /// same identity.
    pub(super) fn key(&self) -> Option<(String, String)> {
        let def = self.def?;
        let name = def.get("name").and_then(Value::as_str)?;
        Some((name.to_owned(), self.location()?.to_owned()))
    }
}

pub(super) struct Converter<'a> {
    pub(super) root: &'a Value,
    pub(super) doc: &'a Map<String, Value>,
    pub(super) names: ComponentNames,
    /// Global `consumes`, used where an operation has none.
    pub(super) consumes: Vec<String>,
    /// Global `produces`, used where an operation has none.
    pub(super) produces: Vec<String>,
    pub(super) problems: Vec<Problem>,
}

impl<'a> Converter<'a> {
    pub(super) fn new(root: &'a Value, doc: &'a Map<String, Value>) -> Self {
        Self {
            root,
            doc,
            names: ComponentNames::build(doc),
            consumes: media_list(doc.get("consumes")).unwrap_or_default(),
            produces: media_list(doc.get("produces")).unwrap_or_default(),
            problems: Vec::new(),
        }
    }

    pub(super) fn problem(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(pointer, message));
    }

    /// Returns the document, or the problems, each once: a shared parameter with a problem is visited once per use.
    pub(super) fn finish(self, out: Value) -> Result<Value, Vec<Problem>> {
        if self.problems.is_empty() {
            return Ok(out);
        }
        let mut unique = Vec::new();
        for problem in self.problems {
            if !unique.contains(&problem) {
                unique.push(problem);
            }
        }
        Err(unique)
    }

    pub(super) fn rewrite(&self, reference: &str) -> String {
        rewrite_ref(reference, &self.names)
    }

    pub(super) fn document(&mut self) -> Value {
        let doc = self.doc;
        let mut out = Map::new();
        out.insert("openapi".to_owned(), Value::String(OPENAPI_VERSION.to_owned()));
        if let Some(info) = doc.get("info") {
            out.insert("info".to_owned(), info.clone());
        }
        out.insert("servers".to_owned(), Value::Array(self.servers(None)));
        for (key, value) in doc {
            match key.as_str() {
                "paths" => {
                    let paths = self.paths(value);
                    out.insert(key.clone(), paths);
                }
                "tags" | "externalDocs" | "security" => {
                    out.insert(key.clone(), value.clone());
                }
                k if is_extension(k) => {
                    out.insert(key.clone(), value.clone());
                }
                // Everything else is either converted below (definitions, parameters, responses,
                // securityDefinitions), folded into servers and media types (host, basePath, schemes, consumes,
                // produces), or not a Swagger 2.0 field at all.
                _ => {}
            }
        }
        if !out.contains_key("paths") {
            // Swagger requires `paths` as OpenAPI 3 does; an empty one costs nothing and keeps the result valid.
            out.insert("paths".to_owned(), Value::Object(Map::new()));
        }
        let components = self.components();
        if !components.is_empty() {
            out.insert("components".to_owned(), Value::Object(components));
        }
        Value::Object(out)
    }

    /// `host` + `basePath` + `schemes` → `servers`. With an explicit `schemes` list (an operation's, when given) one
    /// server per scheme. Without a host the server URL is just the base path, which OpenAPI 3 reads as relative to
    /// wherever the document is served from, as Swagger did.
    pub(super) fn servers(&self, schemes: Option<&Value>) -> Vec<Value> {
        let base_path = match self.doc.get("basePath").and_then(Value::as_str) {
            Some(path) if path.starts_with('/') => path.to_owned(),
            Some(path) => format!("/{path}"),
            None => "/".to_owned(),
        };
        let trimmed = base_path.trim_end_matches('/');
        let server = |url: String| {
            let mut server = Map::new();
            server.insert("url".to_owned(), Value::String(url));
            Value::Object(server)
        };
        let Some(host) = self.doc.get("host").and_then(Value::as_str) else {
            let url = if trimmed.is_empty() {
                "/".to_owned()
            } else {
                trimmed.to_owned()
            };
            return vec![server(url)];
        };
        let schemes: Vec<&str> = schemes
            .or_else(|| self.doc.get("schemes"))
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if schemes.is_empty() {
            // Swagger's default is "the scheme the definition was fetched with", which a document loaded from a
            // file does not have; https is the safe guess for an API with a real host.
            return vec![server(format!("https://{host}{trimmed}"))];
        }
        schemes
            .into_iter()
            .map(|scheme| server(format!("{scheme}://{host}{trimmed}")))
            .collect()
    }

    pub(super) fn components(&mut self) -> Map<String, Value> {
        let doc = self.doc;
        let mut components = Map::new();

        let mut schemas = Map::new();
        match doc.get("definitions") {
            Some(Value::Object(definitions)) => {
                for (name, schema) in definitions {
                    schemas.insert(self.names.get(Section::Definitions, name), self.schema(schema));
                }
            }
            Some(_) => self.problem("/definitions", "`definitions` must be an object"),
            None => {}
        }

        let mut parameters = Map::new();
        let mut request_bodies = Map::new();
        match doc.get("parameters") {
            Some(Value::Object(entries)) => {
                let consumes = self.consumes.clone();
                for (name, entry) in entries {
                    let Some(resolved) = self.resolve_parameter(entry, child("/parameters", name)) else {
                        continue;
                    };
                    let component_name = self.names.get(Section::Parameters, name);
                    match resolved.location() {
                        // A body parameter is a request body in OpenAPI 3; operations that reference it get it
                        // inlined (with their own media types), and it is also offered as a reusable request body.
                        Some("body") => {
                            request_bodies.insert(component_name, self.body_request(&resolved, &consumes));
                        }
                        // A form field is only part of a request body; it is inlined where it is used.
                        Some("formData") => {}
                        _ => {
                            parameters.insert(component_name, self.parameter(&resolved));
                        }
                    }
                }
            }
            Some(_) => self.problem("/parameters", "`parameters` must be an object"),
            None => {}
        }

        let mut responses = Map::new();
        match doc.get("responses") {
            Some(Value::Object(entries)) => {
                let produces = self.produces.clone();
                for (name, response) in entries {
                    let converted = self.response(response, &produces, &child("/responses", name));
                    responses.insert(self.names.get(Section::Responses, name), converted);
                }
            }
            Some(_) => self.problem("/responses", "`responses` must be an object"),
            None => {}
        }

        let mut security_schemes = Map::new();
        match doc.get("securityDefinitions") {
            Some(Value::Object(entries)) => {
                for (name, scheme) in entries {
                    let converted = self.security_scheme(scheme, &child("/securityDefinitions", name));
                    security_schemes.insert(name.clone(), converted);
                }
            }
            Some(_) => self.problem("/securityDefinitions", "`securityDefinitions` must be an object"),
            None => {}
        }

        for (key, section) in [
            ("schemas", schemas),
            ("parameters", parameters),
            ("requestBodies", request_bodies),
            ("responses", responses),
            ("securitySchemes", security_schemes),
        ] {
            if !section.is_empty() {
                components.insert(key.to_owned(), Value::Object(section));
            }
        }
        components
    }

    pub(super) fn paths(&mut self, paths: &'a Value) -> Value {
        let Some(entries) = paths.as_object() else {
            self.problem("/paths", "`paths` must be an object");
            return Value::Object(Map::new());
        };
        let mut out = Map::new();
        for (path, item) in entries {
            let converted = if is_extension(path) {
                item.clone()
            } else {
                self.path_item(item, &child("/paths", path))
            };
            out.insert(path.clone(), converted);
        }
        Value::Object(out)
    }

    pub(super) fn path_item(&mut self, item: &'a Value, pointer: &str) -> Value {
        let Some(entries) = item.as_object() else {
            self.problem(pointer, "a path item must be an object");
            return item.clone();
        };
        let shared = self.resolve_parameters(entries.get("parameters"), &child(pointer, "parameters"));
        let mut out = Map::new();
        for (key, value) in entries {
            match key.as_str() {
                "$ref" => {
                    let reference = value
                        .as_str()
                        .map_or_else(|| value.clone(), |r| Value::String(self.rewrite(r)));
                    out.insert(key.clone(), reference);
                }
                // Body and form parameters shared by the path become part of each operation's request body.
                "parameters" => {
                    let list: Vec<Value> = shared
                        .iter()
                        .filter(|p| !p.is_request_body())
                        .map(|p| self.parameter(p))
                        .collect();
                    if !list.is_empty() {
                        out.insert(key.clone(), Value::Array(list));
                    }
                }
                method if METHODS.contains(&method) => {
                    let operation = self.operation(value, &child(pointer, method), &shared);
                    out.insert(key.clone(), operation);
                }
                k if is_extension(k) => {
                    out.insert(key.clone(), value.clone());
                }
                _ => {}
            }
        }
        Value::Object(out)
    }

    pub(super) fn operation(&mut self, operation: &'a Value, pointer: &str, shared: &[Resolved<'a>]) -> Value {
        let Some(op) = operation.as_object() else {
            self.problem(pointer, "an operation must be an object");
            return operation.clone();
        };
        let consumes = media_list(op.get("consumes")).unwrap_or_else(|| self.consumes.clone());
        let produces = media_list(op.get("produces")).unwrap_or_else(|| self.produces.clone());
        let params_pointer = child(pointer, "parameters");
        let own = self.resolve_parameters(op.get("parameters"), &params_pointer);
        let own_keys: HashSet<(String, String)> = own.iter().filter_map(Resolved::key).collect();

        let mut bodies: Vec<&Resolved<'a>> = Vec::new();
        let mut forms: Vec<&Resolved<'a>> = Vec::new();
        let mut parameters = Vec::new();
        for param in &own {
            match param.location() {
                Some("body") => bodies.push(param),
                Some("formData") => forms.push(param),
                _ => parameters.push(self.parameter(param)),
            }
        }
        for param in shared {
            if param.key().is_some_and(|key| own_keys.contains(&key)) {
                continue;
            }
            match param.location() {
                Some("body") => bodies.push(param),
                Some("formData") => forms.push(param),
                // Other shared parameters stay on the path item, where OpenAPI 3 keeps them too.
                _ => {}
            }
        }

        let request_body = if bodies.len() > 1 {
            self.problem(&params_pointer, "an operation can have only one `in: body` parameter");
            None
        } else if !bodies.is_empty() && !forms.is_empty() {
            self.problem(
                &params_pointer,
                "an operation cannot have both `in: body` and `in: formData` parameters",
            );
            None
        } else if let Some(body) = bodies.first() {
            Some(self.body_request(body, &consumes))
        } else if forms.is_empty() {
            None
        } else {
            Some(self.form_request(&forms, &consumes))
        };

        let mut out = Map::new();
        let mut request_body = request_body;
        for (key, value) in op {
            match key.as_str() {
                "tags" | "summary" | "description" | "externalDocs" | "operationId" | "deprecated" | "security" => {
                    out.insert(key.clone(), value.clone());
                }
                "parameters" => {
                    if !parameters.is_empty() {
                        out.insert(key.clone(), Value::Array(std::mem::take(&mut parameters)));
                    }
                    if let Some(body) = request_body.take() {
                        out.insert("requestBody".to_owned(), body);
                    }
                }
                "responses" => {
                    if let Some(body) = request_body.take() {
                        out.insert("requestBody".to_owned(), body);
                    }
                    let responses = self.responses(value, &produces, &child(pointer, "responses"));
                    out.insert(key.clone(), responses);
                }
                // An operation's own schemes only mean something together with a host.
                "schemes" if self.doc.contains_key("host") => {
                    out.insert("servers".to_owned(), Value::Array(self.servers(Some(value))));
                }
                k if is_extension(k) => {
                    out.insert(key.clone(), value.clone());
                }
                _ => {}
            }
        }
        if let Some(body) = request_body {
            out.insert("requestBody".to_owned(), body);
        }
        Value::Object(out)
    }

    pub(super) fn resolve_parameters(&mut self, list: Option<&'a Value>, pointer: &str) -> Vec<Resolved<'a>> {
        match list {
            None => Vec::new(),
            Some(Value::Array(entries)) => entries
                .iter()
                .enumerate()
                .filter_map(|(i, entry)| self.resolve_parameter(entry, format!("{pointer}/{i}")))
                .collect(),
            Some(_) => {
                self.problem(pointer, "`parameters` must be an array");
                Vec::new()
            }
        }
    }

    /// Follows an internal `#/parameters/...` reference, because whether the parameter is a body or form parameter
    /// (which become a request body) or a real parameter decides where it goes. References into other files cannot
    /// be followed here and are taken to be ordinary parameters.
    pub(super) fn resolve_parameter(&mut self, entry: &'a Value, pointer: String) -> Option<Resolved<'a>> {
        let Some(obj) = entry.as_object() else {
            self.problem(pointer, "a parameter must be an object");
            return None;
        };
        let resolved = match obj.get("$ref").and_then(Value::as_str) {
            Some(reference) => match reference.strip_prefix('#') {
                Some(fragment) => {
                    let target_pointer = percent_decode(fragment);
                    match self.root.pointer(&target_pointer).and_then(Value::as_object) {
                        Some(def) => Resolved {
                            def: Some(def),
                            reference: Some(reference),
                            pointer: target_pointer,
                        },
                        None => {
                            self.problem(
                                child(&pointer, "$ref"),
                                format!("`{reference}` does not lead to a parameter in this document"),
                            );
                            return None;
                        }
                    }
                }
                None => Resolved {
                    def: None,
                    reference: Some(reference),
                    pointer,
                },
            },
            None => Resolved {
                def: Some(obj),
                reference: None,
                pointer,
            },
        };
        if resolved.def.is_some() {
            match resolved.location() {
                Some("body" | "formData" | "query" | "header" | "path") => {}
                Some(other) => {
                    self.problem(
                        child(&resolved.pointer, "in"),
                        format!("unknown parameter location `{other}`: expected body, formData, query, header or path"),
                    );
                    return None;
                }
                None => {
                    self.problem(&resolved.pointer, "a parameter needs `in`");
                    return None;
                }
            }
        }
        Some(resolved)
    }
}
