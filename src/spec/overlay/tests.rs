// The overlay applier's unit tests, one per rule of Overlay 1.0 and per problem it reports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use serde_json::json;

fn yaml(text: &str) -> Value {
    let mut value: yaml_serde::Value = yaml_serde::from_str(text).expect("test YAML parses");
    value.apply_merge().expect("merge keys apply");
    serde_json::to_value(value).expect("YAML converts to JSON")
}

fn overlay(actions: Value) -> Value {
    json!({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": actions})
}

fn api() -> Value {
    yaml(
        r#"
openapi: 3.0.3
info:
  title: Shop
  version: "1"
tags:
  - name: customers
paths:
  /customers:
    get:
      operationId: listCustomers
      parameters:
        - name: limit
          in: query
        - name: dummy
          in: query
        - name: offset
          in: query
        - name: dummy2
          in: query
      responses:
        "200":
          description: OK
    post:
      operationId: createCustomer
      responses:
        "201":
          description: Created
  /orders:
    get:
      operationId: listOrders
      parameters:
        - name: dummy
          in: query
      responses:
        "200":
          description: OK
components:
  schemas:
    Customer:
      type: object
      required: [id]
      properties:
        id:
          type: string
"#,
    )
}

/// The warnings' messages (their pointers are checked in `warnings_point_into_the_overlay`).
fn apply_ok(doc: &mut Value, overlay: &Value) -> Vec<String> {
    match apply(doc, overlay) {
        Ok(warnings) => warnings.into_iter().map(|w| w.message).collect(),
        Err(problems) => panic!("unexpected problems: {problems:#?}"),
    }
}

fn apply_err(doc: &mut Value, overlay: &Value) -> Vec<Problem> {
    let before = doc.clone();
    match apply(doc, overlay) {
        Ok(warnings) => panic!("expected problems, got warnings {warnings:?} and {doc:#}"),
        Err(problems) => {
            assert_eq!(*doc, before, "a failed overlay must leave the document unchanged");
            problems
        }
    }
}

fn pointers(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.pointer.as_str()).collect()
}

#[test]
fn updates_merge_into_objects_recursively() {
    let mut doc = api();
    let warnings = apply_ok(
        &mut doc,
        &overlay(json!([
            {"target": "$.paths['/customers'].post", "description": "Document creation",
             "update": {"summary": "Create a customer", "responses": {"201": {"description": "Created it"},
                                                                      "409": {"description": "Exists"}}}},
            {"target": "$.info", "update": {"title": "Shop API", "x-sandbox": true}}
        ])),
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let post = &doc["paths"]["/customers"]["post"];
    assert_eq!(post["summary"], "Create a customer");
    assert_eq!(post["operationId"], "createCustomer");
    assert_eq!(post["responses"]["201"], json!({"description": "Created it"}));
    assert_eq!(post["responses"]["409"], json!({"description": "Exists"}));
    assert_eq!(
        doc["info"],
        json!({"title": "Shop API", "version": "1", "x-sandbox": true})
    );
    // Order is kept: existing members stay where they were, new ones come last.
    let keys: Vec<&String> = post.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["operationId", "responses", "summary"]);
}

#[test]
fn structured_update_at_the_root() {
    let mut doc = api();
    let warnings = apply_ok(
        &mut doc,
        &yaml(
            r"
overlay: 1.0.0
info:
  title: Structured Overlay
  version: 1.0.0
actions:
  - target: '$'
    update:
      info:
        x-overlay-applied: structured-overlay
      paths:
        /customers:
          get:
            summary: List customers
            x-rate-limit: 100
      components:
      tags:
",
        ),
    );
    assert_eq!(doc["info"]["x-overlay-applied"], "structured-overlay");
    assert_eq!(doc["paths"]["/customers"]["get"]["summary"], "List customers");
    assert_eq!(doc["paths"]["/customers"]["get"]["operationId"], "listCustomers");
    // Empty YAML keys are nulls; they leave the existing objects and arrays alone, with a warning each.
    assert!(doc["components"]["schemas"]["Customer"].is_object());
    assert_eq!(doc["tags"], json!([{"name": "customers"}]));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("/components"), "{warnings:?}");
}

#[test]
fn update_appends_to_arrays() {
    let mut doc = api();
    apply_ok(
        &mut doc,
        &overlay(json!([
            {"target": "$.paths.*.get.parameters", "update": {"name": "newParam", "in": "query"}},
            {"target": "$.tags", "update": [{"name": "orders"}, {"name": "admin"}]},
            {"target": "$.components.schemas.Customer.required", "update": "name"}
        ])),
    );
    let names = |path: &str| -> Vec<String> {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("/customers"), ["limit", "dummy", "offset", "dummy2", "newParam"]);
    assert_eq!(names("/orders"), ["dummy", "newParam"]);
    // An array update is concatenated, not nested as one element.
    assert_eq!(
        doc["tags"],
        json!([{"name": "customers"}, {"name": "orders"}, {"name": "admin"}])
    );
    assert_eq!(
        doc["components"]["schemas"]["Customer"]["required"],
        json!(["id", "name"])
    );
}

#[test]
fn nested_arrays_are_concatenated_and_primitives_replaced() {
    let mut doc = api();
    apply_ok(
        &mut doc,
        &overlay(json!([{
            "target": "$.paths['/customers'].get",
            "update": {"parameters": [{"name": "top", "in": "query"}], "operationId": "allCustomers",
                       "deprecated": true}
        }])),
    );
    let get = &doc["paths"]["/customers"]["get"];
    assert_eq!(get["parameters"].as_array().unwrap().len(), 5);
    assert_eq!(get["parameters"][4]["name"], "top");
    assert_eq!(get["operationId"], "allCustomers");
    assert_eq!(get["deprecated"], true);
}

#[test]
fn removes_several_elements_of_one_array() {
    let mut doc = api();
    apply_ok(
        &mut doc,
        &overlay(json!([
            {"target": "$.paths.*.get.parameters[?@.name == 'dummy' || @.name == 'dummy2']", "remove": true}
        ])),
    );
    assert_eq!(
        doc["paths"]["/customers"]["get"]["parameters"],
        json!([{"name": "limit", "in": "query"}, {"name": "offset", "in": "query"}])
    );
    assert_eq!(doc["paths"]["/orders"]["get"]["parameters"], json!([]));

    let mut doc = json!({"list": [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]});
    apply_ok(
        &mut doc,
        &overlay(json!([{"target": "$.list[0, 3, 1, 3]", "remove": true}])),
    );
    assert_eq!(doc["list"], json!([{"n": 2}, {"n": 4}]));
}

#[test]
fn removes_nested_selections_and_object_members() {
    // `$..[?@.drop]` selects a node and one of its descendants; removing the descendant first keeps every
    // location valid.
    let mut doc = json!({"a": {"drop": true, "inner": [{"drop": true}, {"keep": 1}]}, "b": {"keep": 2}, "c": 3});
    apply_ok(&mut doc, &overlay(json!([{"target": "$..[?@.drop]", "remove": true}])));
    assert_eq!(doc, json!({"b": {"keep": 2}, "c": 3}));

    let mut doc = api();
    apply_ok(
        &mut doc,
        &overlay(json!([{"target": "$.paths['/customers'].post", "remove": true}])),
    );
    assert!(doc["paths"]["/customers"].get("post").is_none());
    assert!(doc["paths"]["/customers"].get("get").is_some());
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["openapi", "info", "tags", "paths", "components"]);
}

#[test]
fn actions_apply_in_order_to_the_previous_result() {
    let mut doc = api();
    apply_ok(
        &mut doc,
        &overlay(json!([
            {"target": "$.paths", "update": {"/health": {"get": {"responses": {"200": {"description": "up"}}}}}},
            {"target": "$.paths['/health'].get", "update": {"operationId": "health"}},
            {"target": "$.paths['/orders']", "remove": true},
            {"target": "$.paths", "update": {"/orders": {"get": {"operationId": "newOrders"}}}}
        ])),
    );
    assert_eq!(doc["paths"]["/health"]["get"]["operationId"], "health");
    assert_eq!(doc["paths"]["/orders"], json!({"get": {"operationId": "newOrders"}}));
}

#[test]
fn filter_expressions_select_operations() {
    let mut doc = api();
    let warnings = apply_ok(
        &mut doc,
        &overlay(json!([
            {"target": "$.paths.*[?@.operationId == 'listOrders']", "update": {"x-selected": 1}},
            // A filter selects *children* of what precedes it (RFC 9535): after `.get` those are the
            // operation's members, none of which has an operationId, so this selects nothing.
            {"target": "$.paths.*.get[?@.operationId == 'listOrders']", "update": {"x-selected": 2}},
            {"target": "$.paths.*[?@.operationId == 'createCustomer' || @.operationId == 'listCustomers']",
             "update": {"x-customers": true}},
            {"target": "$.paths[?@.get.operationId == 'listOrders'].get", "update": {"x-via-path": true}}
        ])),
    );
    assert_eq!(doc["paths"]["/orders"]["get"]["x-selected"], 1);
    assert_eq!(doc["paths"]["/orders"]["get"]["x-via-path"], true);
    assert_eq!(doc["paths"]["/customers"]["get"]["x-customers"], true);
    assert_eq!(doc["paths"]["/customers"]["post"]["x-customers"], true);
    assert!(doc["paths"]["/customers"]["get"].get("x-selected").is_none());
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("action 1 (target `$.paths.*.get[?@.operationId == 'listOrders']`)"));
}

#[test]
fn target_selecting_nothing_is_a_warning() {
    let mut doc = api();
    let before = doc.clone();
    let warnings = apply_ok(
        &mut doc,
        &overlay(json!([
            {"target": "$.paths['/nowhere'].get", "description": "Hide the legacy route", "remove": true},
            {"target": "$.webhooks", "update": {"a": {}}}
        ])),
    );
    assert_eq!(doc, before);
    assert_eq!(
        warnings,
        [
            "action 0 (Hide the legacy route, target `$.paths['/nowhere'].get`): the target selects nothing",
            "action 1 (target `$.webhooks`): the target selects nothing",
        ]
    );
}

#[test]
fn invalid_jsonpath_is_a_problem_naming_the_action() {
    let mut doc = api();
    let problems = apply_err(
        &mut doc,
        &overlay(json!([
            {"target": "$.info", "update": {"title": "x"}},
            {"target": "$.paths[?@.get", "update": {}},
            {"target": "paths.get", "remove": true},
            {"target": "$.paths.*.get[?@.x-oai-traits.paged]", "update": {}}
        ])),
    );
    assert_eq!(
        pointers(&problems),
        ["/actions/1/target", "/actions/2/target", "/actions/3/target"]
    );
    assert!(
        problems[0]
            .message
            .starts_with("action 1: `$.paths[?@.get` is not a valid RFC 9535 JSONPath")
    );
    assert!(problems[1].message.contains("action 2"));
    // The first, valid action was not applied either.
    assert_eq!(doc["info"]["title"], "Shop");
}

#[test]
fn invalid_overlay_documents_are_problems() {
    let mut doc = api();
    let problems = apply_err(&mut doc, &json!([]));
    assert_eq!(pointers(&problems), [""]);

    let problems = apply_err(&mut doc, &json!({}));
    assert_eq!(pointers(&problems), ["/overlay", "/info", "/actions"]);

    let problems = apply_err(&mut doc, &yaml("overlay: 1.0\ninfo: {title: t}\nactions: []\n"));
    assert_eq!(pointers(&problems), ["/overlay", "/info/version", "/actions"]);
    assert!(problems[0].message.contains("quote"));

    let problems = apply_err(
        &mut doc,
        &json!({"overlay": "1.1.0", "info": {"title": 1, "version": "1"}, "extends": 3, "actions": {}}),
    );
    assert_eq!(pointers(&problems), ["/overlay", "/info/title", "/extends", "/actions"]);
    assert!(problems[0].message.contains("1.1.0"));

    let problems = apply_err(
        &mut doc,
        &overlay(json!([
            "not an action",
            {"description": "no target", "remove": true},
            {"target": 7, "remove": true},
            {"target": "$.info"},
            {"target": "$.info", "remove": false},
            {"target": "$.info", "remove": "yes"},
            {"target": "$.info", "description": 5, "update": {}},
            {"target": "$.info", "copy": "$.tags"}
        ])),
    );
    assert_eq!(
        pointers(&problems),
        [
            "/actions/0",
            "/actions/1/target",
            "/actions/2/target",
            "/actions/3",
            "/actions/4",
            "/actions/5/remove",
            "/actions/6/description",
            "/actions/7",
        ]
    );
    assert!(problems[3].message.contains("neither `update` nor `remove: true`"));
}

#[test]
fn accepted_versions_extends_and_extensions() {
    let mut doc = api();
    for version in ["1.0.0", "1.0.1", "1.0.12"] {
        let mut doc_copy = doc.clone();
        let mut ov = overlay(json!([{"target": "$.info", "update": {"x-v": version}}]));
        ov["overlay"] = json!(version);
        ov["extends"] = json!("./shop.yaml");
        ov["x-tool"] = json!("specbox");
        ov["info"]["x-owner"] = json!("qa");
        ov["actions"][0]["x-note"] = json!("fine");
        assert!(apply_ok(&mut doc_copy, &ov).is_empty());
        assert_eq!(doc_copy["info"]["x-v"], version);
    }
    for version in ["1.0", "1.0.x", "1.0.0-rc1", "2.0.0", "1.1.0", "1.0."] {
        let mut ov = overlay(json!([{"target": "$", "update": {}}]));
        ov["overlay"] = json!(version);
        assert_eq!(pointers(&apply_err(&mut doc, &ov)), ["/overlay"], "{version}");
    }
}

#[test]
fn unknown_fields_and_ignored_updates_are_warnings() {
    let mut doc = api();
    let mut ov = overlay(
        json!([{"target": "$.paths['/orders']", "remove": true, "update": {"a": 1},
                                 "comment": "?"}]),
    );
    ov["info"]["description"] = json!("1.1 field");
    ov["components"] = json!({});
    let warnings = apply_ok(&mut doc, &ov);
    assert!(doc["paths"].get("/orders").is_none());
    assert_eq!(
        warnings,
        [
            "info: unknown field `description` is ignored",
            "the overlay: unknown field `components` is ignored",
            "action 0: `update` is ignored because `remove` is true",
            "action 0: unknown field `comment` is ignored",
        ]
    );
}

#[test]
fn targets_must_select_objects_or_arrays() {
    let mut doc = api();
    let problems = apply_err(
        &mut doc,
        &overlay(json!([
            {"target": "$.info.title", "update": "New title"},
            {"target": "$.paths.*.*.operationId", "remove": true},
            {"target": "$", "remove": true}
        ])),
    );
    assert_eq!(
        pointers(&problems),
        [
            "/actions/0/target",
            "/actions/1/target",
            "/actions/1/target",
            "/actions/1/target",
            "/actions/2/target"
        ]
    );
    assert!(problems[0].message.contains("selects a string at /info/title"));
    assert!(problems[4].message.contains("root cannot be removed"));
}

#[test]
fn incompatible_updates_are_problems() {
    let mut doc = api();
    let problems = apply_err(
        &mut doc,
        &overlay(json!([
            {"target": "$.info", "update": "a string"},
            {"target": "$.paths['/customers']", "update": {"get": {"parameters": {"name": "x"}}}},
            {"target": "$.components", "update": {"schemas": {"Customer": {"required": "id"}}}},
            {"target": "$", "update": {"openapi": {"v": 3}}}
        ])),
    );
    assert_eq!(
        pointers(&problems),
        [
            "/actions/0/update",
            "/actions/1/update/get/parameters",
            "/actions/2/update/schemas/Customer/required",
            "/actions/3/update/openapi",
        ]
    );
    assert!(
        problems[1]
            .message
            .contains("cannot merge an object into an array at /paths/~1customers/get/parameters")
    );
    assert!(problems[3].message.contains("at /openapi"));
}

#[test]
fn null_document_values_take_the_update() {
    let mut doc = json!({"components": null, "info": {"description": null}});
    apply_ok(
        &mut doc,
        &overlay(json!([{"target": "$", "update": {"components": {"schemas": {}}, "info": {"description": "d"}}}])),
    );
    assert_eq!(
        doc,
        json!({"components": {"schemas": {}}, "info": {"description": "d"}})
    );
}

#[test]
fn duplicate_selections_are_applied_once() {
    let mut doc = json!({"list": [], "o": {"n": []}});
    apply_ok(
        &mut doc,
        &overlay(json!([{"target": "$['list','list']", "update": 1},
                                       {"target": "$.o['n','n']", "update": [2, 3]}])),
    );
    assert_eq!(doc, json!({"list": [1], "o": {"n": [2, 3]}}));
}

#[test]
fn warnings_point_into_the_overlay() {
    let mut doc = api();
    let mut ov = overlay(json!([
        {"target": "$.webhooks", "update": {"a": {}}},
        {"target": "$.paths['/orders']", "remove": true, "update": {"a": 1}, "comment": "?"},
        {"target": "$", "update": {"components": null}}
    ]));
    ov["info"]["description"] = json!("1.1 field");
    let pointers: Vec<String> = apply(&mut doc, &ov).unwrap().into_iter().map(|w| w.pointer).collect();
    assert_eq!(
        pointers,
        [
            "/info/description",
            "/actions/1/update",
            "/actions/1/comment",
            "/actions/0/target",
            "/actions/2/update/components",
        ]
    );
}
