//! The operations of a spec as the corpus harness reads them: walked from `paths` (path items
//! and operations may be `$ref`s into other files), for Swagger 2.0 and OpenAPI 3.x alike.

use super::openapi::{Docs, Loc, SchemaSrc, Version};
use serde_json::{Map, Value, json};

pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
];

pub struct Param {
    pub name: String,
    /// `path`, `query`, `header` or `cookie`.
    pub location: String,
    pub required: bool,
    pub schema: Option<SchemaSrc>,
    /// The parameter's own examples (`example`, `examples`).
    pub examples: Vec<Value>,
    pub style: String,
    pub explode: bool,
    /// Sent as JSON (a parameter with `content` instead of `schema`).
    pub json: bool,
}

pub struct Media {
    /// Lowercased, without parameters.
    pub media_type: String,
    pub schema: Option<SchemaSrc>,
    /// Media-level examples: `example`, and the values of `examples` (by name).
    pub examples: Vec<(String, Value)>,
}

pub struct Body {
    pub required: bool,
    pub media: Vec<Media>,
}

pub struct Response {
    /// `200`, `2XX` or `default`.
    pub key: String,
    pub media: Vec<Media>,
}

pub struct Op {
    pub id: String,
    /// Uppercase.
    pub method: String,
    pub template: String,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub responses: Vec<Response>,
    /// Alternatives, each the names of the schemes it needs together. Empty: none needed.
    pub security: Vec<Vec<String>>,
}

impl Op {
    pub fn label(&self) -> String {
        format!("{} {} ({})", self.method, self.template, self.id)
    }

    /// The response documented for a status: exact, then a range (`2XX`), then `default`.
    pub fn response_for(&self, status: u16) -> Option<&Response> {
        let code = status.to_string();
        self.responses
            .iter()
            .find(|r| r.key == code)
            .or_else(|| {
                self.responses.iter().find(|r| {
                    r.key.len() == 3
                        && r.key.as_bytes()[0] == code.as_bytes()[0]
                        && r.key[1..].eq_ignore_ascii_case("xx")
                })
            })
            .or_else(|| self.responses.iter().find(|r| r.key == "default"))
    }

    /// The lowest documented 2xx response.
    pub fn success(&self) -> Option<&Response> {
        let mut ok: Vec<&Response> = self.responses.iter().filter(|r| r.key.starts_with('2')).collect();
        ok.sort_by(|a, b| a.key.cmp(&b.key));
        ok.into_iter().next()
    }
}

#[derive(Debug, Clone)]
pub enum Scheme {
    Basic,
    Bearer,
    ApiKey {
        location: String,
        name: String,
    },
    /// OAuth2 with a client-credentials flow: tokens come from the token endpoint (a path).
    OAuth2Issued {
        token_path: String,
    },
    /// Other OAuth2 flows, OpenID Connect: a bearer token.
    OAuth2Any,
    MutualTls,
}

pub struct Api {
    /// Where the spec is served: its first server URL's path (`basePath` for 2.0).
    pub mount: String,
    pub ops: Vec<Op>,
    pub schemes: Vec<(String, Scheme)>,
}

impl Api {
    pub fn read(docs: &Docs) -> Api {
        let root = docs.root();
        let mount = match docs.version {
            Version::Swagger2 => root.get("basePath").and_then(Value::as_str).unwrap_or("/").to_string(),
            _ => server_path(root),
        };
        let mount = normalise_mount(&mount);
        let schemes = schemes(docs);
        let mut ops = Vec::new();
        let paths = Loc::new(0, "/paths");
        for template in root
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            let Some((item_loc, item)) = docs.deref(&paths.child(template)) else {
                continue;
            };
            let mut methods: Vec<(String, Loc)> = METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_string(), item_loc.child(m)))
                .collect();
            // 3.2: other methods, by their own (case-sensitive) names.
            for (m, _) in item
                .get("additionalOperations")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                methods.push((m.clone(), item_loc.child("additionalOperations").child(m)));
            }
            for (method, op_loc) in methods {
                let Some((op_loc, op)) = docs.deref(&op_loc) else {
                    continue;
                };
                ops.push(match docs.version {
                    Version::Swagger2 => op_2(docs, template, &method, &item_loc, item, &op_loc, op),
                    _ => op_3(docs, template, &method, &item_loc, item, &op_loc, op),
                });
            }
        }
        Api { mount, ops, schemes }
    }

    pub fn scheme(&self, name: &str) -> Option<&Scheme> {
        self.schemes.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// A request path: the mount, then the template with its parameters filled in.
    pub fn route(&self, template: &str) -> String {
        let t = if template.starts_with('/') {
            template.to_string()
        } else {
            format!("/{template}")
        };
        if self.mount == "/" {
            t
        } else {
            format!("{}{t}", self.mount)
        }
    }
}

fn security(op: &Value, root: &Value) -> Vec<Vec<String>> {
    let raw = op.get("security").or_else(|| root.get("security"));
    raw.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|alt| alt.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default())
        .collect()
}

fn op_id(op: &Value, method: &str, template: &str) -> String {
    op.get("operationId")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{} {template}", method.to_ascii_uppercase()))
}

/// Path-item parameters, overridden by the operation's own (same name and location).
fn merged_params<'a>(docs: &'a Docs, item_loc: &Loc, item: &Value, op_loc: &Loc, op: &Value) -> Vec<(Loc, &'a Value)> {
    let mut out: Vec<(Loc, &Value)> = Vec::new();
    for (base, list) in [(item_loc, item.get("parameters")), (op_loc, op.get("parameters"))] {
        let list_loc = base.child("parameters");
        for (i, _) in list.and_then(Value::as_array).into_iter().flatten().enumerate() {
            let Some((loc, p)) = docs.deref(&list_loc.index(i)) else {
                continue;
            };
            let key = |v: &Value| (v.get("name").cloned(), v.get("in").cloned());
            out.retain(|(_, q)| key(q) != key(p));
            out.push((loc, p));
        }
    }
    out
}

fn op_3(docs: &Docs, template: &str, method: &str, item_loc: &Loc, item: &Value, op_loc: &Loc, op: &Value) -> Op {
    let mut params = Vec::new();
    for (loc, p) in merged_params(docs, item_loc, item, op_loc, op) {
        let location = p.get("in").and_then(Value::as_str).unwrap_or("query").to_string();
        let style = p
            .get("style")
            .and_then(Value::as_str)
            .unwrap_or(if location == "path" || location == "header" {
                "simple"
            } else {
                "form"
            })
            .to_string();
        let explode = p.get("explode").and_then(Value::as_bool).unwrap_or(style == "form");
        let (schema, json) = if p.get("schema").is_some() {
            (Some(SchemaSrc::At(loc.child("schema"))), false)
        } else if let Some((mt, _)) = p
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.iter().next())
        {
            (
                Some(SchemaSrc::At(loc.child("content").child(mt).child("schema"))),
                true,
            )
        } else {
            (None, false)
        };
        let mut examples: Vec<Value> = p
            .get("example")
            .map(|e| docs.literal(loc.file, e))
            .into_iter()
            .collect();
        examples.extend(named_examples(docs, &loc, p).into_iter().map(|(_, v)| v));
        params.push(Param {
            name: p.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            required: location == "path" || p.get("required") == Some(&Value::Bool(true)),
            location,
            schema,
            examples,
            style,
            explode,
            json,
        });
    }
    let body = docs.deref(&op_loc.child("requestBody")).map(|(loc, rb)| Body {
        required: rb.get("required") == Some(&Value::Bool(true)),
        media: media_map(docs, &loc, rb),
    });
    let mut responses = Vec::new();
    for (key, _) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
        let Some((loc, r)) = docs.deref(&op_loc.child("responses").child(key)) else {
            responses.push(Response {
                key: key.clone(),
                media: Vec::new(),
            });
            continue;
        };
        responses.push(Response {
            key: key.clone(),
            media: media_map(docs, &loc, r),
        });
    }
    Op {
        id: op_id(op, method, template),
        method: method.to_ascii_uppercase(),
        template: template.to_string(),
        params,
        body,
        responses,
        security: security(op, docs.root()),
    }
}

/// The values of an `examples` map (each an Example object, possibly a `$ref`), by name.
fn named_examples(docs: &Docs, owner: &Loc, owner_value: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, _) in owner_value
        .get("examples")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some((loc, ex)) = docs.deref(&owner.child("examples").child(name))
            && let Some(v) = ex.get("value")
        {
            out.push((name.clone(), docs.literal(loc.file, v)));
        }
    }
    out
}

fn media_map(docs: &Docs, owner: &Loc, owner_value: &Value) -> Vec<Media> {
    let mut out = Vec::new();
    for (mt, m) in owner_value
        .get("content")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let loc = owner.child("content").child(mt);
        let mut examples: Vec<(String, Value)> = m
            .get("example")
            .map(|e| ("example".to_string(), docs.literal(loc.file, e)))
            .into_iter()
            .collect();
        examples.extend(named_examples(docs, &loc, m));
        out.push(Media {
            media_type: bare_media_type(mt),
            schema: m.get("schema").map(|_| SchemaSrc::At(loc.child("schema"))),
            examples,
        });
    }
    out
}

/// Swagger 2.0: body and form parameters become a request body; `produces` and a response's
/// `schema`/`examples` become its media.
fn op_2(docs: &Docs, template: &str, method: &str, item_loc: &Loc, item: &Value, op_loc: &Loc, op: &Value) -> Op {
    let root = docs.root();
    let list = |k: &str| -> Vec<String> {
        op.get(k)
            .or_else(|| root.get(k))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(bare_media_type).collect())
            .unwrap_or_else(|| vec!["application/json".to_string()])
    };
    let consumes = list("consumes");
    let produces = list("produces");
    let mut params = Vec::new();
    let mut body = None;
    let mut form = Map::new();
    let mut form_required = Vec::new();
    let mut multipart = consumes.iter().any(|c| c == "multipart/form-data");
    for (loc, p) in merged_params(docs, item_loc, item, op_loc, op) {
        let location = p.get("in").and_then(Value::as_str).unwrap_or("query").to_string();
        let name = p.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let required = location == "path" || p.get("required") == Some(&Value::Bool(true));
        if location == "body" {
            body = Some(Body {
                required,
                media: consumes
                    .iter()
                    .map(|mt| Media {
                        media_type: mt.clone(),
                        schema: Some(SchemaSrc::At(loc.child("schema"))),
                        examples: Vec::new(),
                    })
                    .collect(),
            });
            continue;
        }
        let schema = param_schema_2(p);
        if location == "formData" {
            multipart |= p.get("type").and_then(Value::as_str) == Some("file");
            form.insert(name.clone(), schema);
            if required {
                form_required.push(Value::String(name));
            }
            continue;
        }
        let format = p.get("collectionFormat").and_then(Value::as_str).unwrap_or("csv");
        let (style, explode) = match format {
            "multi" => ("form", true),
            "ssv" => ("spaceDelimited", false),
            "pipes" => ("pipeDelimited", false),
            _ if location == "query" => ("form", false),
            _ => ("simple", false),
        };
        params.push(Param {
            name,
            location,
            required,
            schema: Some(SchemaSrc::Inline(loc.file, schema)),
            examples: p.get("x-example").cloned().into_iter().collect(),
            style: style.to_string(),
            explode,
            json: false,
        });
    }
    if !form.is_empty() {
        let media_type = if multipart {
            "multipart/form-data"
        } else {
            "application/x-www-form-urlencoded"
        };
        body = Some(Body {
            required: !form_required.is_empty(),
            media: vec![Media {
                media_type: media_type.to_string(),
                schema: Some(SchemaSrc::Inline(
                    op_loc.file,
                    json!({"type": "object", "properties": form, "required": form_required}),
                )),
                examples: Vec::new(),
            }],
        });
    }
    let mut responses = Vec::new();
    for (key, _) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
        let mut media = Vec::new();
        if let Some((loc, r)) = docs.deref(&op_loc.child("responses").child(key)) {
            let examples = r.get("examples").and_then(Value::as_object);
            for mt in &produces {
                let example = examples.and_then(|e| e.iter().find(|(k, _)| bare_media_type(k) == *mt));
                if r.get("schema").is_none() && example.is_none() {
                    continue;
                }
                media.push(Media {
                    media_type: mt.clone(),
                    schema: r.get("schema").map(|_| SchemaSrc::At(loc.child("schema"))),
                    examples: example
                        .map(|(_, v)| ("example".to_string(), v.clone()))
                        .into_iter()
                        .collect(),
                });
            }
        }
        responses.push(Response {
            key: key.clone(),
            media,
        });
    }
    Op {
        id: op_id(op, method, template),
        method: method.to_ascii_uppercase(),
        template: template.to_string(),
        params,
        body,
        responses,
        security: security(op, root),
    }
}

/// A 2.0 non-body parameter carries its schema keywords itself.
fn param_schema_2(p: &Value) -> Value {
    let mut s = Map::new();
    for (k, v) in p.as_object().into_iter().flatten() {
        if !matches!(
            k.as_str(),
            "name" | "in" | "required" | "description" | "collectionFormat" | "allowEmptyValue"
        ) && !k.starts_with("x-")
        {
            s.insert(k.clone(), v.clone());
        }
    }
    if s.get("type").and_then(Value::as_str) == Some("file") {
        s.insert("type".into(), json!("string"));
        s.insert("format".into(), json!("binary"));
    }
    Value::Object(s)
}

fn schemes(docs: &Docs) -> Vec<(String, Scheme)> {
    let root = docs.root();
    let (base, map) = match docs.version {
        Version::Swagger2 => (Loc::new(0, "/securityDefinitions"), root.get("securityDefinitions")),
        _ => (
            Loc::new(0, "/components/securitySchemes"),
            root.pointer("/components/securitySchemes"),
        ),
    };
    let mut out = Vec::new();
    for (name, _) in map.and_then(Value::as_object).into_iter().flatten() {
        let Some((_, s)) = docs.deref(&base.child(name)) else {
            continue;
        };
        let str_of = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let kind = match str_of("type").as_str() {
            "basic" => Scheme::Basic,
            "http" if str_of("scheme").eq_ignore_ascii_case("basic") => Scheme::Basic,
            "http" => Scheme::Bearer,
            "apiKey" => Scheme::ApiKey {
                location: str_of("in"),
                name: str_of("name"),
            },
            "oauth2" => {
                let token_url = s
                    .pointer("/flows/clientCredentials/tokenUrl")
                    .and_then(Value::as_str)
                    .or_else(|| {
                        (str_of("flow") == "application")
                            .then(|| s.get("tokenUrl").and_then(Value::as_str))
                            .flatten()
                    });
                match token_url {
                    Some(url) => Scheme::OAuth2Issued {
                        token_path: url_path(url, &Map::new()),
                    },
                    None => Scheme::OAuth2Any,
                }
            }
            "mutualTLS" => Scheme::MutualTls,
            _ => Scheme::OAuth2Any,
        };
        out.push((name.clone(), kind));
    }
    out
}

/// The path of the first server URL, server variables at their defaults.
fn server_path(root: &Value) -> String {
    let Some(server) = root.pointer("/servers/0") else {
        return "/".into();
    };
    let url = server.get("url").and_then(Value::as_str).unwrap_or("/");
    let vars = server
        .get("variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    url_path(url, &vars)
}

fn url_path(url: &str, vars: &Map<String, Value>) -> String {
    let mut url = url.to_string();
    for (k, v) in vars {
        if let Some(d) = v.get("default").and_then(Value::as_str) {
            url = url.replace(&format!("{{{k}}}"), d);
        }
    }
    let rest = match url.split_once("://") {
        Some((_, after)) => after.find('/').map_or("", |i| &after[i..]).to_string(),
        None => url,
    };
    rest.split(['?', '#']).next().unwrap_or("").to_string()
}

fn normalise_mount(m: &str) -> String {
    let t = m.trim().trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else if t.starts_with('/') {
        t.into()
    } else {
        format!("/{t}")
    }
}

/// `Application/JSON; charset=utf-8` → `application/json`.
pub fn bare_media_type(mt: &str) -> String {
    mt.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

pub fn is_json_media(mt: &str) -> bool {
    let mt = bare_media_type(mt);
    mt == "application/json" || mt.ends_with("+json") || mt == "text/json"
}
