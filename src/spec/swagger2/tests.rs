// Long because the converter has many cases: one test per Swagger 2.0 feature, each with the documents it checks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::spec::swagger2::common::*;
use serde_json::json;

const PETSTORE_EXPANDED: &str = include_str!("../../../tests/corpus/oai/v2.0/yaml/petstore-expanded.yaml");
const API_WITH_EXAMPLES: &str = include_str!("../../../tests/corpus/oai/v2.0/yaml/api-with-examples.yaml");

/// YAML → JSON value the way specbox reads specs: merge keys applied, then converted.
fn yaml(text: &str) -> Value {
    let mut value: yaml_serde::Value = yaml_serde::from_str(text).expect("test YAML parses");
    value.apply_merge().expect("merge keys apply");
    serde_json::to_value(value).expect("YAML converts to JSON")
}

fn convert_ok(doc: &Value) -> Value {
    match convert(doc) {
        Ok(out) => {
            assert_valid_oas30(&out);
            out
        }
        Err(problems) => panic!("unexpected problems: {problems:#?}"),
    }
}

fn convert_err(doc: &Value) -> Vec<Problem> {
    match convert(doc) {
        Ok(out) => panic!("expected problems, got {out:#}"),
        Err(problems) => problems,
    }
}

/// A structural check of the parts of OpenAPI 3.0 that conversion produces, and that every internal `$ref`
/// resolves inside the document.
fn assert_valid_oas30(doc: &Value) {
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["info"].is_object(), "info");
    assert!(doc["paths"].is_object(), "paths");
    for key in [
        "swagger",
        "definitions",
        "securityDefinitions",
        "host",
        "basePath",
        "schemes",
        "consumes",
    ] {
        assert!(doc.get(key).is_none(), "Swagger-only field `{key}` left in the result");
    }
    for server in doc["servers"].as_array().expect("servers") {
        assert!(server["url"].is_string());
    }
    if let Some(components) = doc.get("components") {
        for (section, entries) in components.as_object().unwrap() {
            for name in entries.as_object().unwrap().keys() {
                assert!(is_component_name(name), "invalid component name {section}/{name}");
            }
        }
        for parameter in components
            .get("parameters")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            assert_parameter(parameter.1);
        }
        for body in components
            .get("requestBodies")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            assert_request_body(body.1);
        }
        for response in components
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            assert_response(response.1);
        }
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.starts_with("x-") {
            continue;
        }
        assert!(path.starts_with('/'), "path {path}");
        for parameter in item.get("parameters").and_then(Value::as_array).into_iter().flatten() {
            assert_parameter(parameter);
        }
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            for key in ["consumes", "produces", "schemes"] {
                assert!(op.get(key).is_none(), "{path} {method} still has {key}");
            }
            for parameter in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
                assert_parameter(parameter);
            }
            if let Some(body) = op.get("requestBody") {
                assert_request_body(body);
            }
            for (code, response) in op["responses"].as_object().expect("responses") {
                assert!(
                    code == "default" || code.len() == 3 || code.starts_with("x-"),
                    "status {code}"
                );
                assert_response(response);
            }
        }
    }
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    for reference in refs {
        let fragment = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external ref {reference}"));
        assert!(
            doc.pointer(&percent_decode(fragment)).is_some(),
            "unresolved {reference}"
        );
    }
    assert_schemas_converted(doc);
}

fn assert_parameter(parameter: &Value) {
    if parameter.get("$ref").is_some() {
        return;
    }
    let location = parameter["in"].as_str().expect("in");
    assert!(
        ["query", "header", "path", "cookie"].contains(&location),
        "in: {location}"
    );
    assert!(parameter["name"].is_string());
    assert!(parameter.get("schema").is_some() || parameter.get("content").is_some());
    for key in [
        "type",
        "format",
        "items",
        "collectionFormat",
        "enum",
        "default",
        "x-example",
    ] {
        assert!(parameter.get(key).is_none(), "parameter keeps {key}: {parameter}");
    }
    if location == "path" {
        assert_eq!(parameter["required"], true);
    }
}

fn assert_request_body(body: &Value) {
    if body.get("$ref").is_some() {
        return;
    }
    let content = body["content"].as_object().expect("requestBody.content");
    assert!(!content.is_empty());
    assert!(body.get("schema").is_none() && body.get("name").is_none() && body.get("in").is_none());
}

fn assert_response(response: &Value) {
    if response.get("$ref").is_some() {
        return;
    }
    assert!(response.get("schema").is_none(), "response keeps schema");
    assert!(response.get("examples").is_none(), "response keeps examples");
    for header in response.get("headers").and_then(Value::as_object).into_iter().flatten() {
        assert!(
            header.1.get("schema").is_some() && header.1.get("type").is_none(),
            "header {}",
            header.0
        );
    }
    for media in response.get("content").and_then(Value::as_object).into_iter().flatten() {
        assert!(media.1.is_object());
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(obj) => {
            for (key, child) in obj {
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => refs.push(reference.clone()),
                    ("example" | "examples" | "default" | "enum", _) => {}
                    _ => collect_refs(child, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

/// No schema anywhere keeps a Swagger-only construct.
fn assert_schemas_converted(value: &Value) {
    match value {
        Value::Object(obj) => {
            assert!(obj.get("type") != Some(&json!("file")), "type: file left in {value}");
            assert!(!obj.contains_key("x-nullable"), "x-nullable left in {value}");
            if let Some(discriminator) = obj.get("discriminator") {
                assert!(discriminator.is_object(), "discriminator not an object");
            }
            for (key, child) in obj {
                if !matches!(key.as_str(), "example" | "examples" | "default" | "enum") {
                    assert_schemas_converted(child);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(assert_schemas_converted),
        _ => {}
    }
}

fn base(extra: Value) -> Value {
    let mut doc = json!({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}});
    for (key, value) in extra.as_object().unwrap() {
        doc[key] = value.clone();
    }
    doc
}

#[test]
fn petstore_expanded_converts() {
    let out = convert_ok(&yaml(PETSTORE_EXPANDED));
    assert_eq!(out["servers"], json!([{"url": "http://petstore.swagger.io/api"}]));
    assert_eq!(out["info"]["title"], "Swagger Petstore");
    assert_eq!(out["info"]["license"]["name"], "Apache 2.0");

    let find = &out["paths"]["/pets"]["get"];
    assert_eq!(
        find["parameters"][0],
        json!({
            "name": "tags", "in": "query", "description": "tags to filter by", "required": false,
            "style": "form", "explode": false,
            "schema": {"type": "array", "items": {"type": "string"}}
        })
    );
    assert_eq!(
        find["parameters"][1]["schema"],
        json!({"type": "integer", "format": "int32"})
    );
    assert_eq!(
        find["responses"]["200"]["content"]["application/json"]["schema"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/Pet"}})
    );
    assert_eq!(
        find["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Error"
    );

    let add = &out["paths"]["/pets"]["post"];
    assert!(add.get("parameters").is_none());
    assert_eq!(
        add["requestBody"],
        json!({
            "description": "Pet to add to the store",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewPet"}}},
            "required": true
        })
    );
    let by_id = &out["paths"]["/pets/{id}"]["get"];
    assert_eq!(
        by_id["parameters"][0]["schema"],
        json!({"type": "integer", "format": "int64"})
    );
    assert_eq!(by_id["parameters"][0]["required"], true);
    assert!(
        out["paths"]["/pets/{id}"]["delete"]["responses"]["204"]
            .get("content")
            .is_none()
    );

    assert_eq!(
        out["components"]["schemas"]["Pet"]["allOf"][0]["$ref"],
        "#/components/schemas/NewPet"
    );
    assert_eq!(out["components"]["schemas"]["NewPet"]["required"], json!(["name"]));
}

#[test]
fn api_with_examples_converts() {
    let out = convert_ok(&yaml(API_WITH_EXAMPLES));
    // No host and no basePath: the API is at the root of wherever the document is served.
    assert_eq!(out["servers"], json!([{"url": "/"}]));
    let ok = &out["paths"]["/"]["get"]["responses"]["200"];
    assert_eq!(ok["description"], "200 300 response");
    // The JSON text of the example becomes the JSON value it shows.
    let example = &ok["content"]["application/json"]["example"];
    assert_eq!(example["versions"][0]["id"], "v2.0");
    assert_eq!(example["versions"][1]["status"], "EXPERIMENTAL");
    assert!(ok["content"]["application/json"].get("schema").is_none());
    assert_eq!(
        out["paths"]["/v2"]["get"]["responses"]["203"]["content"]["application/json"]["example"]["version"]["id"],
        "v2.0"
    );
}

#[test]
fn detects_swagger2() {
    assert!(is_swagger2(&json!({"swagger": "2.0"})));
    assert!(is_swagger2(&yaml("swagger: 2.0\n")));
    assert!(!is_swagger2(&json!({"openapi": "3.0.3"})));
    assert!(!is_swagger2(&json!({"swagger": "1.2"})));
    assert!(!is_swagger2(&json!([])));
}

#[test]
fn rejects_non_swagger_documents() {
    let problems = convert_err(&json!({"openapi": "3.0.0"}));
    assert_eq!(problems[0].pointer, "/swagger");
    let problems = convert_err(&json!("swagger"));
    assert_eq!(problems[0].pointer, "");
}

#[test]
fn servers_from_host_base_path_and_schemes() {
    let out = convert_ok(&base(
        json!({"host": "api.example.com", "basePath": "/v1/", "schemes": ["https", "http"]}),
    ));
    assert_eq!(
        out["servers"],
        json!([{"url": "https://api.example.com/v1"}, {"url": "http://api.example.com/v1"}])
    );
    let out = convert_ok(&base(json!({"host": "api.example.com:8443"})));
    assert_eq!(out["servers"], json!([{"url": "https://api.example.com:8443"}]));
    let out = convert_ok(&base(json!({"basePath": "/api"})));
    assert_eq!(out["servers"], json!([{"url": "/api"}]));
    let out = convert_ok(&base(json!({"basePath": "v2"})));
    assert_eq!(out["servers"], json!([{"url": "/v2"}]));
}

#[test]
fn operation_schemes_become_operation_servers() {
    let doc = base(json!({
        "host": "h.example", "schemes": ["http"],
        "paths": {"/a": {"get": {"schemes": ["wss"], "responses": {"200": {"description": "ok"}}}}}
    }));
    let out = convert_ok(&doc);
    assert_eq!(
        out["paths"]["/a"]["get"]["servers"],
        json!([{"url": "wss://h.example"}])
    );
}

#[test]
fn top_level_fields_are_kept() {
    let doc = base(json!({
        "tags": [{"name": "pets", "description": "Pets"}],
        "externalDocs": {"url": "https://docs.example.com"},
        "security": [{"key": []}],
        "securityDefinitions": {"key": {"type": "apiKey", "name": "X-Key", "in": "header"}},
        "x-logo": {"url": "logo.png"},
        "paths": {"x-internal": {"a": 1}}
    }));
    let out = convert_ok(&doc);
    assert_eq!(out["tags"], doc["tags"]);
    assert_eq!(out["externalDocs"], doc["externalDocs"]);
    assert_eq!(out["security"], doc["security"]);
    assert_eq!(out["x-logo"], doc["x-logo"]);
    assert_eq!(out["paths"]["x-internal"], json!({"a": 1}));
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys[0], "openapi");
}

#[test]
fn consumes_and_produces_global_and_per_operation() {
    let doc = base(json!({
        "consumes": ["application/json", "application/xml"],
        "produces": ["application/xml"],
        "paths": {"/a": {
            "post": {
                "parameters": [{"name": "b", "in": "body", "schema": {"type": "object"}}],
                "responses": {"200": {"description": "ok", "schema": {"type": "string"}}}
            },
            "put": {
                "consumes": ["text/plain"], "produces": ["application/json", "text/csv"],
                "parameters": [{"name": "b", "in": "body", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "schema": {"type": "string"}}}
            }
        }}
    }));
    let out = convert_ok(&doc);
    let post = &out["paths"]["/a"]["post"];
    let media: Vec<&String> = post["requestBody"]["content"].as_object().unwrap().keys().collect();
    assert_eq!(media, ["application/json", "application/xml"]);
    let media: Vec<&String> = post["responses"]["200"]["content"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(media, ["application/xml"]);
    let put = &out["paths"]["/a"]["put"];
    let media: Vec<&String> = put["requestBody"]["content"].as_object().unwrap().keys().collect();
    assert_eq!(media, ["text/plain"]);
    let media: Vec<&String> = put["responses"]["200"]["content"].as_object().unwrap().keys().collect();
    assert_eq!(media, ["application/json", "text/csv"]);
}

#[test]
fn body_parameter_with_examples() {
    let doc = base(json!({"paths": {"/a": {"post": {
            "parameters": [{
                "name": "payload", "in": "body", "description": "The thing", "required": true,
                "schema": {"$ref": "#/definitions/Thing"},
                "x-examples": {"application/json": "{\"id\": 1}", "application/xml": "<thing/>"},
                "x-origin": "kept"
            }],
            "consumes": ["application/json"],
            "responses": {"201": {"description": "created"}}
        }}}, "definitions": {"Thing": {"type": "object"}}}));
    let out = convert_ok(&doc);
    let body = &out["paths"]["/a"]["post"]["requestBody"];
    assert_eq!(body["description"], "The thing");
    assert_eq!(body["required"], true);
    assert_eq!(body["x-origin"], "kept");
    assert!(body.get("x-examples").is_none());
    assert_eq!(body["content"]["application/json"]["example"], json!({"id": 1}));
    assert_eq!(
        body["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Thing"
    );
    // An example in a media type the operation does not list says it accepts that type too.
    assert_eq!(body["content"]["application/xml"]["example"], "<thing/>");
    assert_eq!(
        body["content"]["application/xml"]["schema"]["$ref"],
        "#/components/schemas/Thing"
    );

    let doc = base(json!({"paths": {"/a": {"post": {
        "parameters": [{"name": "p", "in": "body", "schema": {"type": "string"}, "x-example": "hello"}],
        "consumes": ["text/plain", "application/json"],
        "responses": {"200": {"description": "ok"}}
    }}}}));
    let out = convert_ok(&doc);
    let content = &out["paths"]["/a"]["post"]["requestBody"]["content"];
    assert_eq!(content["text/plain"]["example"], "hello");
    assert_eq!(content["application/json"]["example"], "hello");
}

#[test]
fn form_data_becomes_urlencoded_body() {
    let doc = base(json!({"paths": {"/login": {"post": {
        "parameters": [
            {"name": "user", "in": "formData", "type": "string", "required": true, "description": "Who"},
            {"name": "remember", "in": "formData", "type": "boolean", "default": false, "x-example": true},
            {"name": "roles", "in": "formData", "type": "array", "items": {"type": "string"},
             "collectionFormat": "multi"},
            {"name": "q", "in": "query", "type": "string"}
        ],
        "responses": {"200": {"description": "ok"}}
    }}}}));
    let out = convert_ok(&doc);
    let op = &out["paths"]["/login"]["post"];
    assert_eq!(op["parameters"].as_array().unwrap().len(), 1);
    assert_eq!(
        op["requestBody"],
        json!({
            "content": {"application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "user": {"type": "string", "description": "Who"},
                        "remember": {"type": "boolean", "default": false, "example": true},
                        "roles": {"type": "array", "items": {"type": "string"}}
                    },
                    "required": ["user"]
                },
                "encoding": {"roles": {"style": "form", "explode": true}}
            }},
            "required": true
        })
    );
}

#[test]
fn form_data_with_file_or_multipart_consumes_becomes_multipart() {
    let doc = base(json!({"paths": {"/upload": {"post": {
        "parameters": [
            {"name": "file", "in": "formData", "type": "file", "required": true},
            {"name": "note", "in": "formData", "type": "string"}
        ],
        "responses": {"200": {"description": "ok"}}
    }}}}));
    let out = convert_ok(&doc);
    let content = out["paths"]["/upload"]["post"]["requestBody"]["content"]
        .as_object()
        .unwrap();
    assert_eq!(content.keys().collect::<Vec<_>>(), ["multipart/form-data"]);
    assert_eq!(
        content["multipart/form-data"]["schema"]["properties"]["file"],
        json!({"type": "string", "format": "binary"})
    );

    let doc = base(json!({"consumes": ["multipart/form-data"], "paths": {"/m": {"post": {
        "parameters": [{"name": "note", "in": "formData", "type": "string"}],
        "responses": {"200": {"description": "ok"}}
    }}}}));
    let out = convert_ok(&doc);
    let content = out["paths"]["/m"]["post"]["requestBody"]["content"]
        .as_object()
        .unwrap();
    assert_eq!(content.keys().collect::<Vec<_>>(), ["multipart/form-data"]);
    assert!(out["paths"]["/m"]["post"]["requestBody"].get("required").is_none());
}

#[test]
fn non_body_parameters_move_constraints_into_schema() {
    let doc = base(json!({"paths": {"/items/{id}": {"get": {
        "parameters": [
            {"name": "id", "in": "path", "type": "string", "pattern": "^[a-z]+$", "maxLength": 8},
            {"name": "size", "in": "query", "type": "integer", "minimum": 1, "maximum": 100,
             "exclusiveMaximum": true, "default": 10, "multipleOf": 5, "x-example": 20, "x-custom": 1},
            {"name": "sort", "in": "query", "type": "string", "enum": ["asc", "desc"], "allowEmptyValue": true},
            {"name": "X-Trace", "in": "header", "type": "string", "format": "uuid", "required": true,
             "x-nullable": true}
        ],
        "responses": {"200": {"description": "ok"}}
    }}}}));
    let out = convert_ok(&doc);
    let params = &out["paths"]["/items/{id}"]["get"]["parameters"];
    assert_eq!(
        params[0],
        json!({"name": "id", "in": "path", "required": true,
                   "schema": {"type": "string", "maxLength": 8, "pattern": "^[a-z]+$"}})
    );
    assert_eq!(
        params[1],
        json!({"name": "size", "in": "query",
                   "schema": {"type": "integer", "default": 10, "maximum": 100, "exclusiveMaximum": true,
                              "minimum": 1, "multipleOf": 5},
                   "example": 20, "x-custom": 1})
    );
    assert_eq!(params[2]["allowEmptyValue"], true);
    assert_eq!(params[2]["schema"]["enum"], json!(["asc", "desc"]));
    assert_eq!(
        params[3],
        json!({"name": "X-Trace", "in": "header", "required": true,
                   "schema": {"type": "string", "format": "uuid", "nullable": true}})
    );
}

#[test]
fn collection_formats_become_styles() {
    let array = |name: &str, location: &str, format: Option<&str>| {
        let mut param = json!({"name": name, "in": location, "type": "array", "items": {"type": "string"}});
        if location == "path" {
            param["required"] = json!(true);
        }
        if let Some(format) = format {
            param["collectionFormat"] = json!(format);
        }
        param
    };
    let doc = base(json!({"paths": {"/a/{p}/{q}": {"get": {
        "parameters": [
            array("csv", "query", Some("csv")),
            array("default", "query", None),
            array("multi", "query", Some("multi")),
            array("ssv", "query", Some("ssv")),
            array("pipes", "query", Some("pipes")),
            array("tsv", "query", Some("tsv")),
            array("p", "path", Some("csv")),
            array("q", "path", Some("pipes")),
            array("X-List", "header", None)
        ],
        "responses": {"200": {"description": "ok"}}
    }}}}));
    let out = convert_ok(&doc);
    let params = out["paths"]["/a/{p}/{q}"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .clone();
    let style = |i: usize| {
        (
            params[i]["style"].as_str().unwrap().to_owned(),
            params[i]["explode"].as_bool().unwrap(),
            params[i].get("x-collectionFormat").cloned(),
        )
    };
    assert_eq!(style(0), ("form".to_owned(), false, None));
    assert_eq!(style(1), ("form".to_owned(), false, None));
    assert_eq!(style(2), ("form".to_owned(), true, None));
    assert_eq!(style(3), ("spaceDelimited".to_owned(), false, None));
    assert_eq!(style(4), ("pipeDelimited".to_owned(), false, None));
    assert_eq!(style(5), ("form".to_owned(), false, Some(json!("tsv"))));
    assert_eq!(style(6), ("simple".to_owned(), false, None));
    assert_eq!(style(7), ("simple".to_owned(), false, Some(json!("pipes"))));
    assert_eq!(style(8), ("simple".to_owned(), false, None));
    assert!(
        params
            .iter()
            .all(|p| p.get("collectionFormat").is_none() && p["schema"]["type"] == "array")
    );
}

#[test]
fn path_level_parameters() {
    let doc = base(json!({"paths": {"/things/{id}": {
        "parameters": [
            {"name": "id", "in": "path", "required": true, "type": "integer"},
            {"name": "body", "in": "body", "schema": {"type": "object"}}
        ],
        "get": {"responses": {"200": {"description": "ok"}}},
        "put": {
            "parameters": [{"name": "body", "in": "body", "schema": {"type": "string"}, "required": true}],
            "responses": {"200": {"description": "ok"}}
        },
        "patch": {"responses": {"200": {"description": "ok"}}}
    }}}));
    let out = convert_ok(&doc);
    let item = &out["paths"]["/things/{id}"];
    assert_eq!(
        item["parameters"],
        json!([{"name": "id", "in": "path", "required": true,
                                               "schema": {"type": "integer"}}])
    );
    // A shared body parameter is every operation's request body, unless the operation overrides it.
    assert_eq!(
        item["get"]["requestBody"]["content"]["application/json"]["schema"]["type"],
        "object"
    );
    assert_eq!(
        item["patch"]["requestBody"]["content"]["application/json"]["schema"]["type"],
        "object"
    );
    assert_eq!(
        item["put"]["requestBody"]["content"]["application/json"]["schema"]["type"],
        "string"
    );
    assert_eq!(item["put"]["requestBody"]["required"], true);
}

#[test]
fn global_parameters_and_responses_become_components() {
    let doc = base(json!({
        "parameters": {
            "limit": {"name": "limit", "in": "query", "type": "integer", "x-example": 5},
            "Pet Body": {"name": "pet", "in": "body", "schema": {"$ref": "#/definitions/Pet"}},
            "token": {"name": "token", "in": "formData", "type": "string", "required": true}
        },
        "responses": {
            "NotFound": {"description": "missing", "schema": {"$ref": "#/definitions/Error"},
                         "headers": {"X-Rate": {"type": "integer", "description": "left"}}}
        },
        "definitions": {"Pet": {"type": "object"}, "Error": {"type": "object"}},
        "paths": {"/pets": {"post": {
            "parameters": [
                {"$ref": "#/parameters/limit"},
                {"$ref": "#/parameters/Pet%20Body"}
            ],
            "responses": {"404": {"$ref": "#/responses/NotFound"}, "200": {"description": "ok"}}
        }, "put": {
            "parameters": [{"$ref": "#/parameters/token"}],
            "responses": {"200": {"description": "ok"}}
        }}}
    }));
    let out = convert_ok(&doc);
    let components = &out["components"];
    assert_eq!(
        components["parameters"]["limit"],
        json!({"name": "limit", "in": "query", "schema": {"type": "integer"}, "example": 5})
    );
    assert!(components["parameters"].get("token").is_none());
    assert_eq!(
        components["requestBodies"]["Pet_Body"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Pet"
    );
    assert_eq!(
        components["responses"]["NotFound"],
        json!({"description": "missing",
                   "headers": {"X-Rate": {"description": "left", "schema": {"type": "integer"}}},
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    );
    let post = &out["paths"]["/pets"]["post"];
    assert_eq!(post["parameters"], json!([{"$ref": "#/components/parameters/limit"}]));
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Pet"
    );
    assert_eq!(
        post["responses"]["404"],
        json!({"$ref": "#/components/responses/NotFound"})
    );
    let put = &out["paths"]["/pets"]["put"];
    assert_eq!(
        put["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["required"],
        json!(["token"])
    );
}

#[test]
fn responses_with_headers_and_examples() {
    let doc = base(
        json!({"produces": ["application/json", "application/xml"], "paths": {"/a": {"get": {
            "responses": {
                "200": {
                    "description": "ok",
                    "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
                    "examples": {"application/json": {"id": 7}, "text/plain": "id=7"},
                    "headers": {
                        "X-Ids": {"type": "array", "items": {"type": "integer"}, "collectionFormat": "pipes"},
                        "X-Limit": {"type": "integer", "format": "int32", "x-example": 10}
                    },
                    "x-extra": true
                },
                "default": {"description": "error", "schema": {"type": "file"}},
                "x-ignored": {"anything": 1}
            }
        }}}}),
    );
    let out = convert_ok(&doc);
    let responses = &out["paths"]["/a"]["get"]["responses"];
    let ok = &responses["200"];
    assert_eq!(ok["content"]["application/json"]["example"], json!({"id": 7}));
    assert_eq!(
        ok["content"]["application/xml"]["schema"]["properties"]["id"]["type"],
        "integer"
    );
    assert!(ok["content"]["application/xml"].get("example").is_none());
    assert_eq!(ok["content"]["text/plain"]["example"], "id=7");
    assert_eq!(
        ok["headers"]["X-Ids"]["schema"],
        json!({"type": "array", "items": {"type": "integer"}})
    );
    assert_eq!(ok["headers"]["X-Ids"]["x-collectionFormat"], "pipes");
    assert_eq!(
        ok["headers"]["X-Limit"],
        json!({"schema": {"type": "integer", "format": "int32"}, "example": 10})
    );
    assert_eq!(ok["x-extra"], true);
    assert_eq!(
        responses["default"]["content"]["application/json"]["schema"],
        json!({"type": "string", "format": "binary"})
    );
    assert_eq!(responses["x-ignored"], json!({"anything": 1}));
}

#[test]
fn security_definitions_become_security_schemes() {
    let doc = base(json!({
        "securityDefinitions": {
            "basicAuth": {"type": "basic", "description": "user:pass"},
            "key": {"type": "apiKey", "name": "api_key", "in": "query"},
            "implicit": {"type": "oauth2", "flow": "implicit", "authorizationUrl": "https://a/auth",
                         "scopes": {"read": "Read"}},
            "password": {"type": "oauth2", "flow": "password", "tokenUrl": "https://a/token", "scopes": {}},
            "app": {"type": "oauth2", "flow": "application", "tokenUrl": "https://a/token",
                    "x-vendor": 1},
            "code": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "https://a/auth",
                     "tokenUrl": "https://a/token", "scopes": {"write": "Write"}}
        },
        "security": [{"basicAuth": []}],
        "paths": {"/a": {"get": {"security": [{"code": ["write"]}], "responses": {"200": {"description": "ok"}}}}}
    }));
    let out = convert_ok(&doc);
    let schemes = &out["components"]["securitySchemes"];
    assert_eq!(
        schemes["basicAuth"],
        json!({"type": "http", "scheme": "basic", "description": "user:pass"})
    );
    assert_eq!(
        schemes["key"],
        json!({"type": "apiKey", "name": "api_key", "in": "query"})
    );
    assert_eq!(
        schemes["implicit"],
        json!({"type": "oauth2", "flows": {"implicit": {"authorizationUrl": "https://a/auth",
                                                            "scopes": {"read": "Read"}}}})
    );
    assert_eq!(
        schemes["password"]["flows"]["password"],
        json!({"tokenUrl": "https://a/token", "scopes": {}})
    );
    assert_eq!(
        schemes["app"],
        json!({"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://a/token", "scopes": {}}},
                   "x-vendor": 1})
    );
    assert_eq!(
        schemes["code"]["flows"]["authorizationCode"],
        json!({"authorizationUrl": "https://a/auth", "tokenUrl": "https://a/token", "scopes": {"write": "Write"}})
    );
    assert_eq!(out["security"], json!([{"basicAuth": []}]));
    assert_eq!(out["paths"]["/a"]["get"]["security"], json!([{"code": ["write"]}]));
}

#[test]
fn schema_level_conversions() {
    let doc = base(json!({"definitions": {
        "Animal": {
            "type": "object", "discriminator": "kind", "required": ["kind"],
            "properties": {
                "kind": {"type": "string"},
                "photo": {"type": "file"},
                "nick": {"type": "string", "x-nullable": true, "x-example": "Rex"},
                "owner": {"$ref": "#/definitions/Owner"},
                "tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
                "extra": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Tag"}},
                "example": {"type": "string", "example": {"$ref": "not a reference"}}
            }
        },
        "Dog": {"allOf": [{"$ref": "#/definitions/Animal"}, {"type": "object"}]},
        "Owner": {"type": "object", "x-nullable": false},
        "Tag": {"type": "string"}
    }}));
    let out = convert_ok(&doc);
    let schemas = &out["components"]["schemas"];
    let animal = &schemas["Animal"];
    assert_eq!(animal["discriminator"], json!({"propertyName": "kind"}));
    assert_eq!(
        animal["properties"]["photo"],
        json!({"type": "string", "format": "binary"})
    );
    assert_eq!(
        animal["properties"]["nick"],
        json!({"type": "string", "nullable": true, "example": "Rex"})
    );
    assert_eq!(animal["properties"]["owner"]["$ref"], "#/components/schemas/Owner");
    assert_eq!(
        animal["properties"]["tags"]["items"]["$ref"],
        "#/components/schemas/Tag"
    );
    assert_eq!(
        animal["properties"]["extra"]["additionalProperties"]["$ref"],
        "#/components/schemas/Tag"
    );
    // Example data is data: a "$ref" key inside it is not touched.
    assert_eq!(
        animal["properties"]["example"]["example"],
        json!({"$ref": "not a reference"})
    );
    assert_eq!(schemas["Dog"]["allOf"][0]["$ref"], "#/components/schemas/Animal");
    assert_eq!(schemas["Owner"], json!({"type": "object", "nullable": false}));
}

#[test]
fn invalid_component_names_are_renamed_with_their_references() {
    let doc = base(json!({
        "definitions": {
            "ResponseEntity«Pet»": {"type": "object", "properties": {"pet": {"$ref": "#/definitions/Pet_Body"}}},
            "Pet Body": {"type": "object"},
            "Pet_Body": {"type": "string"}
        },
        "paths": {"/a": {"get": {"responses": {
            "200": {"description": "ok", "schema": {"$ref": "#/definitions/ResponseEntity%C2%ABPet%C2%BB"}},
            "201": {"description": "ok", "schema": {"$ref": "#/definitions/Pet%20Body"}},
            "202": {"description": "ok", "schema": {"$ref": "other.yaml#/definitions/Pet%20Body"}}
        }}}}
    }));
    let out = convert(&doc).unwrap();
    let schemas = out["components"]["schemas"].as_object().unwrap();
    assert_eq!(
        schemas.keys().collect::<Vec<_>>(),
        ["ResponseEntity_Pet_", "Pet_Body_2", "Pet_Body"]
    );
    let responses = &out["paths"]["/a"]["get"]["responses"];
    let schema_ref = |code: &str| responses[code]["content"]["application/json"]["schema"]["$ref"].clone();
    assert_eq!(schema_ref("200"), "#/components/schemas/ResponseEntity_Pet_");
    assert_eq!(schema_ref("201"), "#/components/schemas/Pet_Body_2");
    // Another file's names are renamed by the same rule, without knowledge of its other names.
    assert_eq!(schema_ref("202"), "other.yaml#/components/schemas/Pet_Body");
    assert_eq!(
        schemas["ResponseEntity_Pet_"]["properties"]["pet"]["$ref"],
        "#/components/schemas/Pet_Body"
    );
}

#[test]
fn external_references_are_rewritten() {
    let doc = base(json!({"paths": {
        "/a": {"$ref": "paths.yaml#/a"},
        "/b": {"get": {
            "parameters": [{"$ref": "common.yaml#/parameters/limit"}],
            "responses": {
                "200": {"description": "ok", "schema": {"$ref": "models.yaml#/definitions/Pet/properties/id"}},
                "404": {"$ref": "common.yaml#/responses/NotFound"},
                "500": {"description": "e", "schema": {"$ref": "error.yaml"}}
            }
        }}
    }}));
    let out = convert(&doc).unwrap();
    assert_eq!(out["paths"]["/a"], json!({"$ref": "paths.yaml#/a"}));
    let op = &out["paths"]["/b"]["get"];
    assert_eq!(op["parameters"][0]["$ref"], "common.yaml#/components/parameters/limit");
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "models.yaml#/components/schemas/Pet/properties/id"
    );
    assert_eq!(
        op["responses"]["404"]["$ref"],
        "common.yaml#/components/responses/NotFound"
    );
    assert_eq!(
        op["responses"]["500"]["content"]["application/json"]["schema"]["$ref"],
        "error.yaml"
    );
}

#[test]
fn problems_are_reported_with_pointers() {
    let doc = base(json!({
        "securityDefinitions": {
            "weird": {"type": "digest"},
            "flowless": {"type": "oauth2", "flow": "device"}
        },
        "paths": {"/a": {
            "post": {
                "parameters": [
                    {"name": "a", "in": "body", "schema": {}},
                    {"name": "b", "in": "body", "schema": {}}
                ],
                "responses": {"200": {"description": "ok"}}
            },
            "put": {
                "parameters": [
                    {"name": "a", "in": "body", "schema": {}},
                    {"name": "f", "in": "formData", "type": "string"}
                ],
                "responses": {"200": {"description": "ok"}}
            },
            "get": {
                "parameters": [
                    {"$ref": "#/parameters/missing"},
                    {"name": "c", "in": "cookie", "type": "string"},
                    {"name": "d", "type": "string"},
                    "not a parameter"
                ],
                "responses": {"200": {"description": "ok"}}
            },
            "delete": {
                "parameters": [{"in": "formData", "type": "string"}],
                "responses": {"200": {"description": "ok"}}
            }
        }}
    }));
    let problems = convert_err(&doc);
    let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/paths/~1a/post/parameters",
            "/paths/~1a/put/parameters",
            "/paths/~1a/get/parameters/0/$ref",
            "/paths/~1a/get/parameters/1/in",
            "/paths/~1a/get/parameters/2",
            "/paths/~1a/get/parameters/3",
            "/paths/~1a/delete/parameters/0",
            "/securityDefinitions/weird/type",
            "/securityDefinitions/flowless/flow",
        ]
    );
    assert!(problems[0].message.contains("only one"));
    assert!(problems[3].message.contains("cookie"));
    assert!(
        problems[2]
            .to_string()
            .starts_with("/paths/~1a/get/parameters/0/$ref: ")
    );
}

#[test]
fn shared_problem_is_reported_once() {
    let doc = base(json!({
        "parameters": {"bad": {"name": "x", "in": "nowhere", "type": "string"}},
        "paths": {"/a": {
            "get": {"parameters": [{"$ref": "#/parameters/bad"}], "responses": {"200": {"description": "ok"}}},
            "put": {"parameters": [{"$ref": "#/parameters/bad"}], "responses": {"200": {"description": "ok"}}}
        }}
    }));
    let problems = convert_err(&doc);
    assert_eq!(
        problems,
        vec![Problem::new("/parameters/bad/in", problems[0].message.clone())]
    );
}

#[test]
fn fragment_references_are_rewritten_and_sections_made_reachable() {
    let fragment = json!({
        "definitions": {
            "Pet": {"type": "object", "x-nullable": true,
                    "properties": {"owner": {"$ref": "#/definitions/Owner"},
                                   "toy": {"$ref": "toys.yaml#/definitions/Toy"},
                                   "example": {"$ref": "#/definitions/Owner"}},
                    "example": {"$ref": "#/definitions/Owner"}},
            "Owner": {"type": "object"}
        },
        "parameters": {
            "limit": {"name": "limit", "in": "query", "type": "integer"},
            "body": {"name": "body", "in": "body", "schema": {"$ref": "#/definitions/Pet"}}
        },
        "responses": {"NotFound": {"description": "nope", "schema": {"$ref": "#/definitions/Owner"}}}
    });
    let out = convert_fragment(&fragment);
    // The originals stay, with their references rewritten.
    let pet = &out["definitions"]["Pet"];
    assert_eq!(pet["properties"]["owner"]["$ref"], "#/components/schemas/Owner");
    assert_eq!(pet["properties"]["toy"]["$ref"], "toys.yaml#/components/schemas/Toy");
    assert_eq!(pet["properties"]["example"]["$ref"], "#/components/schemas/Owner");
    assert_eq!(pet["example"], json!({"$ref": "#/definitions/Owner"}));
    // The converted sections are reachable at the OpenAPI 3 pointers.
    assert_eq!(out.pointer("/components/schemas/Pet/nullable"), Some(&json!(true)));
    assert_eq!(
        out["components"]["schemas"]["Pet"]["properties"]["owner"]["$ref"],
        "#/components/schemas/Owner"
    );
    assert_eq!(
        out["components"]["parameters"]["limit"],
        json!({"name": "limit", "in": "query", "schema": {"type": "integer"}})
    );
    assert_eq!(
        out["components"]["requestBodies"]["body"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Pet"
    );
    assert_eq!(
        out["components"]["responses"]["NotFound"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Owner"
    );
    let mut refs = Vec::new();
    collect_refs(&out, &mut refs);
    for reference in refs.iter().filter(|r| r.starts_with('#')) {
        assert!(out.pointer(&reference[1..]).is_some(), "unresolved {reference}");
    }
}

#[test]
fn fragment_without_sections_only_has_references_rewritten() {
    let schema = json!({"type": "object", "properties": {"a": {"$ref": "common.yaml#/definitions/A"}},
                            "allOf": [{"$ref": "#/definitions/B"}]});
    let out = convert_fragment(&schema);
    assert_eq!(out["properties"]["a"]["$ref"], "common.yaml#/components/schemas/A");
    assert_eq!(out["allOf"][0]["$ref"], "#/components/schemas/B");
    assert!(out.get("components").is_none());
    assert_eq!(convert_fragment(&json!("text")), json!("text"));
}

#[test]
fn references_rewrite_only_swagger_sections() {
    let names = ComponentNames::default();
    assert_eq!(rewrite_ref("#/definitions/Pet", &names), "#/components/schemas/Pet");
    assert_eq!(rewrite_ref("#/definitions", &names), "#/components/schemas");
    assert_eq!(rewrite_ref("#/parameters/a~1b", &names), "#/components/parameters/a_b");
    assert_eq!(rewrite_ref("#/paths/~1a", &names), "#/paths/~1a");
    assert_eq!(rewrite_ref("pet.yaml", &names), "pet.yaml");
    assert_eq!(rewrite_ref("#foo", &names), "#foo");
    assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
}
