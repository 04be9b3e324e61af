//! The generator's own tests: determinism, and the checks jsonschema now makes.

use serde_json::{Value, json};

use super::{compiled, generate, generate_dynamic, generate_dynamic_with, memoised};

fn validates(doc: &Value, schema: &Value, value: &Value) -> bool {
    compiled::whole(doc, schema).unwrap().is_valid(value)
}

fn doc() -> Value {
    json!({
        "openapi": "3.1.0",
        "paths": {"/pets": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}
        }}}}}}},
        "components": {"schemas": {
            "Pet": {
                "type": "object",
                "required": ["id", "name", "kind"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string", "minLength": 2, "pattern": "^[A-Z][a-z]+$"},
                    "kind": {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]},
                    "tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}
                }
            },
            "Cat": {"type": "object", "required": ["meows"], "properties": {"meows": {"type": "boolean"}}},
            "Dog": {"type": "object", "required": ["barks"], "properties": {"barks": {"type": "integer", "minimum": 3}}}
        }}
    })
}

#[test]
fn the_same_schema_gives_the_same_value_and_a_seed_its_own() {
    let doc = doc();
    let schema = doc
        .pointer("/paths/~1pets/get/responses/200/content/application~1json/schema")
        .unwrap();
    let value = generate(schema, &doc);
    assert_eq!(value, generate(schema, &doc));
    assert!(validates(&doc, schema, &value), "{value}");
    for seed in 0..8 {
        let varied = generate_dynamic(schema, &doc, seed);
        assert_eq!(varied, generate_dynamic(schema, &doc, seed));
        assert!(validates(&doc, schema, &varied), "{varied}");
    }
}

#[test]
fn the_whole_schema_is_compiled_against_the_document() {
    let doc = doc();
    // A `$ref` through an escaped path, and one into `components`.
    let schema = json!({"$ref": "#/paths/~1pets/get/responses/200/content/application~1json/schema"});
    let validator = compiled::whole(&doc, &schema).unwrap();
    assert!(validator.is_valid(&json!([])));
    assert!(!validator.is_valid(&json!([{"id": "x"}])));
    // A `$ref` in an enum is data, not a reference to follow.
    let data = json!({"enum": [{"$ref": "#/components/schemas/Cat"}]});
    let validator = compiled::whole(&doc, &data).unwrap();
    assert!(validator.is_valid(&json!({"$ref": "#/components/schemas/Cat"})));
    assert!(!validator.is_valid(&json!({"meows": true})));
    // Names a URI fragment cannot hold as they are, written raw in the `$ref`.
    let doc = json!({
        "paths": {"/pets/{id}": {"get": {"x": {"type": "integer"}}}},
        "components": {"schemas": {"Zürich plz": {"type": "integer"}}}
    });
    for reference in [
        "#/paths/~1pets~1{id}/get/x",
        "#/components/schemas/Zürich plz",
        "#/components/schemas/Z%C3%BCrich%20plz",
    ] {
        let validator = compiled::whole(&doc, &json!({"$ref": reference})).unwrap();
        assert!(
            validator.is_valid(&json!(8001)) && !validator.is_valid(&json!("8001")),
            "{reference}"
        );
    }
    // A `$ref` to nothing does not compile: the built-in checker is then the root check.
    assert!(compiled::whole(&doc, &json!({"$ref": "#/components/schemas/Nothing"})).is_none());
}

#[test]
fn a_root_value_judged_by_a_compiled_validator_satisfies_what_the_builders_do_not_model() {
    // The built-in checker does not know `dependentSchemas`: a value with `kind` "a" and `extra`
    // passes it. Judged by a compiled validator (as a `dynamic=true` answer is, by its response's
    // own), it is refused, and a variant that satisfies the dependency is served instead, the same
    // for the same seed.
    let doc = json!({});
    let schema = json!({
        "type": "object",
        "required": ["kind", "extra"],
        "properties": {"kind": {"enum": ["a", "b"]}, "extra": {"type": "string"}},
        "dependentSchemas": {"extra": {"properties": {"kind": {"const": "b"}}}}
    });
    let accepts = |v: &Value| validates(&doc, &schema, v);
    let value = generate_dynamic_with(&schema, &doc, 7, &accepts);
    assert_eq!(value["kind"], "b", "{value}");
    assert!(validates(&doc, &schema, &value));
    assert_eq!(value, generate_dynamic_with(&schema, &doc, 7, &accepts));
}

#[test]
fn examples_are_checked_with_jsonschema_formats_and_patterns() {
    let doc = json!({});
    let host = json!({"type": "string", "format": "hostname", "examples": ["not a host!", "api.example.org"]});
    assert_eq!(generate(&host, &doc), "api.example.org");
    // A lookbehind, which the regex crate cannot compile (so nothing used to be rejected).
    let tail = json!({"type": "string", "pattern": "^[a-z]+(?<!x)$", "examples": ["abx", "abc"]});
    assert_eq!(generate(&tail, &doc), "abc");
    // `url` is no JSON Schema format; it is held to `uri` when choosing an example.
    let url = json!({"type": "string", "format": "url", "examples": ["example dot com", "https://example.org"]});
    assert_eq!(generate(&url, &doc), "https://example.org");
}

#[test]
fn a_schema_jsonschema_cannot_compile_still_gets_a_value() {
    let doc = json!({});
    let broken = json!({"type": "string", "pattern": "(("});
    assert!(compiled::whole(&doc, &broken).is_none());
    assert_eq!(generate(&broken, &doc), "example");
}

/// A memoised generation answers a schema asked for again from memory, per document: the same
/// schema text against another document (where its `$ref` means something else) is made anew,
/// and once `memoised` returns nothing is kept.
#[test]
fn memoised_generation_is_per_document() {
    let schema = json!({"$ref": "#/components/schemas/X"});
    let a = json!({"components": {"schemas": {"X": {"type": "object", "required": ["a"], "properties": {"a": {"const": 1}}}}}});
    let b = json!({"components": {"schemas": {"X": {"type": "object", "required": ["b"], "properties": {"b": {"const": 2}}}}}});
    let (first, again, other) = memoised(|| (generate(&schema, &a), generate(&schema, &a), generate(&schema, &b)));
    assert_eq!(first, json!({"a": 1}));
    assert_eq!(again, first);
    assert_eq!(other, json!({"b": 2}));
    super::MEMO.with_borrow(|memo| assert!(memo.is_none()));
}

/// Keywords of 2020-12 with bounds of several kinds, against values of every kind, alone, nested
/// and behind a `$ref`: what the judge is sure of, jsonschema agrees with.
#[test]
fn what_the_judge_is_sure_of_jsonschema_agrees_with() {
    let schemas = [
        json!({"type": "integer"}),
        json!({"type": ["string", "null"]}),
        json!({"type": "number", "minimum": 1.5}),
        json!({"exclusiveMaximum": 3}),
        json!({"multipleOf": 0.1}),
        json!({"multipleOf": 3}),
        json!({"minLength": 2, "maxLength": 3}),
        json!({"pattern": "^[a-z]+$"}),
        json!({"pattern": "(?=a)"}),
        json!({"format": "date-time"}),
        json!({"format": "email"}),
        json!({"format": "url"}),
        json!({"format": "uuid"}),
        json!({"format": "unknown-format"}),
        json!({"enum": [1, "a", null, {"a": [1]}]}),
        json!({"const": 1.0}),
        json!({"minItems": 1, "maxItems": 2, "uniqueItems": true}),
        json!({"items": {"type": "string"}}),
        json!({"prefixItems": [{"type": "integer"}], "items": false}),
        json!({"items": [{"type": "integer"}]}),
        json!({"contains": {"type": "integer"}, "minContains": 2}),
        json!({"required": ["a"]}),
        json!({"properties": {"a": {"type": "integer"}}, "additionalProperties": false}),
        json!({"patternProperties": {"^x": {"type": "string"}}, "additionalProperties": false}),
        json!({"propertyNames": {"maxLength": 1}}),
        json!({"minProperties": 1, "maxProperties": 1}),
        json!({"dependentRequired": {"a": ["b"]}}),
        json!({"dependentSchemas": {"a": {"required": ["b"]}}}),
        json!({"unevaluatedProperties": false, "properties": {"a": true}}),
        json!({"allOf": [{"type": "object"}, {"required": ["a"]}]}),
        json!({"anyOf": [{"type": "string"}, {"minimum": 2}]}),
        json!({"oneOf": [{"type": "integer"}, {"minimum": 2}]}),
        json!({"not": {"type": "string"}}),
        json!({"if": {"type": "integer"}, "then": {"minimum": 5}, "else": {"type": "string"}}),
        json!({"$ref": "#/components/schemas/Pet"}),
        json!({"$ref": "#/components/schemas/Missing"}),
        json!({"type": "object", "properties": {"self": {"$ref": "#/components/schemas/Tree"}}}),
        json!({"maximum": 9007199254740993_u64}),
        json!({"const": [9007199254740993_u64]}),
        json!({"enum": [{"a": 9007199254740993_u64}]}),
        json!({"not": {"uniqueItems": true}}),
        json!({"not": {"const": 9007199254740993_u64}}),
        json!(true),
        json!(false),
    ];
    let values = [
        json!(null),
        json!(true),
        json!(0),
        json!(1),
        json!(1.0),
        json!(2),
        json!(0.3),
        json!(5),
        json!(-7.5),
        json!(9007199254740993_u64),
        json!([9007199254740992_u64]),
        json!({"a": 9007199254740992_u64}),
        json!([[9007199254740993_u64], [9007199254740992_u64]]),
        json!(9007199254740992.0),
        json!(""),
        json!("a"),
        json!("ab"),
        json!("abcd"),
        json!("x1"),
        json!("2024-01-01T00:00:00Z"),
        json!("nobody@example.com"),
        json!("not a url"),
        json!("https://a.test/x"),
        json!("8c7d3f7e-6a3b-4f8e-9d3a-2b1c0e5f4a6d"),
        json!([]),
        json!([1]),
        json!([1, 1]),
        json!(["a", 2]),
        json!([1, 2, 3]),
        json!({}),
        json!({"a": 1}),
        json!({"a": "x"}),
        json!({"b": 1}),
        json!({"a": 1, "b": 2}),
        json!({"xa": "s"}),
        json!({"xa": 1}),
        json!({"ab": 1}),
        json!({"a": [1]}),
        json!({"id": "8c7d3f7e-6a3b-4f8e-9d3a-2b1c0e5f4a6d", "name": "Rex", "kind": {"barks": 4}}),
    ];
    let mut root = doc();
    root["components"]["schemas"]["Tree"] =
        json!({"type": "object", "properties": {"self": {"$ref": "#/components/schemas/Tree"}}});
    let mut judge = super::Judge::default();
    let (mut sure, mut checked) = (0, 0);
    for schema in &schemas {
        for wrapped in [
            schema.clone(),
            json!({"properties": {"p": schema}}),
            json!({"items": schema}),
        ] {
            for value in &values {
                let value = if wrapped == *schema {
                    value.clone()
                } else if wrapped.get("items").is_some() {
                    json!([value])
                } else {
                    json!({"p": value})
                };
                checked += 1;
                if judge.surely_valid(&root, &wrapped, &value) {
                    sure += 1;
                    if let Some(v) = compiled::whole(&root, &wrapped) {
                        assert!(
                            v.is_valid(&value),
                            "sure that {value} fits {wrapped}, jsonschema is not"
                        );
                    }
                }
            }
        }
    }
    // Not a judge that is never sure.
    assert!(sure > checked / 4, "{sure} of {checked}");
}
