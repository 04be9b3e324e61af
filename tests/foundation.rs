//! Serving the seed APIs from their specs: every operation answers within its contract, and
//! every class of bad request gets an error in the API's own shape naming what is wrong.

use crate::common;

use common::{Server, ap_token, conforms, conforms_error, root};
use serde_json::json;
use std::process::Command;

const SP_KEY: &str = "sk_test_foundation";

#[test]
fn every_alternative_payments_operation_answers_within_its_contract() {
    let s = Server::bundled();
    let t = ap_token(&s);

    let list = s.get("/customers").bearer(&t).send().expect(200);
    let body = conforms(&s, "listCustomers", &list);
    let first = body["data"][0]["id"].as_str().unwrap().to_string();

    let created = s
        .post("/customers")
        .bearer(&t)
        .json(&json!({"name": "Acme", "email": "ops@acme.example"}))
        .send()
        .expect(201);
    let id = conforms(&s, "createCustomer", &created)["id"]
        .as_str()
        .unwrap()
        .to_string();

    conforms(
        &s,
        "getCustomer",
        &s.get(&format!("/customers/{id}")).bearer(&t).send().expect(200),
    );
    conforms(
        &s,
        "updateCustomer",
        &s.patch(&format!("/customers/{id}"))
            .bearer(&t)
            .json(&json!({"city": "Austin"}))
            .send()
            .expect(200),
    );
    conforms(
        &s,
        "archiveCustomer",
        &s.delete(&format!("/customers/{id}")).bearer(&t).send().expect(200),
    );
    conforms(
        &s,
        "restoreCustomer",
        &s.post(&format!("/customers/{id}/restore"))
            .bearer(&t)
            .send()
            .expect(200),
    );

    let methods = s
        .get(&format!("/customers/{first}/payment-methods"))
        .bearer(&t)
        .send()
        .expect(200);
    let methods = conforms(&s, "listPaymentMethods", &methods);
    let pm = methods["data"][0]["id"]
        .as_str()
        .expect("the first fixture customer has payment methods")
        .to_string();
    conforms(
        &s,
        "getPaymentMethod",
        &s.get(&format!("/customers/{first}/payment-methods/{pm}"))
            .bearer(&t)
            .send()
            .expect(200),
    );

    conforms(
        &s,
        "listCustomerUsers",
        &s.get(&format!("/customers/{first}/users"))
            .bearer(&t)
            .send()
            .expect(200),
    );
    let user = s
        .post(&format!("/customers/{first}/users"))
        .bearer(&t)
        .json(&json!({"email": "kim@acme.example", "first_name": "Kim"}))
        .send()
        .expect(201);
    conforms(&s, "createCustomerUser", &user);
}

#[test]
fn every_swisspay_operation_answers_within_its_contract() {
    let s = Server::bundled();
    let created = s
        .post("/api/v1/customers")
        .bearer(SP_KEY)
        .json(&json!({"email": "jane@example.com", "name": "Jane Doe", "locale": "de-CH", "billing_address": {"line1": "Bahnhofstrasse 1", "city": "Zürich", "postal_code": "8001", "country": "CH"}}))
        .send()
        .expect(201);
    let body = conforms(&s, "createCustomer", &created);
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("cus_"), "{id}");
    conforms(
        &s,
        "retrieveCustomer",
        &s.get(&format!("/api/v1/customers/{id}"))
            .bearer(SP_KEY)
            .send()
            .expect(200),
    );
    conforms(
        &s,
        "listCustomers",
        &s.get("/api/v1/customers").bearer(SP_KEY).send().expect(200),
    );
}

#[test]
fn bad_requests_get_alternative_payments_errors_naming_the_field() {
    let s = Server::bundled();
    let t = ap_token(&s);

    // 401: no credentials, and an unknown token.
    let r = s.get("/customers").send().expect(401);
    let e = common::conforms_error(&s, "listCustomers", &r);
    assert!(e["message"].as_str().unwrap().contains("bearer"), "{e}");
    assert!(r.header("www-authenticate").is_some());
    s.get("/customers").bearer("made-up").send().expect(401);

    // 400: malformed JSON.
    let r = s
        .post("/customers")
        .bearer(&t)
        .raw("application/json", b"{\"name\": ")
        .send()
        .expect(400);
    assert!(
        conforms(&s, "createCustomer", &r)["message"]
            .as_str()
            .unwrap()
            .contains("JSON")
    );

    // 422: a wrong type, where the operation declares 422; the field is named.
    let r = s
        .post("/customers")
        .bearer(&t)
        .json(&json!({"name": 42}))
        .send()
        .expect(422);
    let e = conforms(&s, "createCustomer", &r);
    assert!(e["validation_errors"]["name"].is_string(), "{e}");

    // 400 for a schema violation where the operation declares no 422.
    let r = s
        .patch("/customers/f38b2ffc-80a4-4f5a-91c9-bc701e7ea419")
        .bearer(&t)
        .json(&json!({"city": ["x"]}))
        .send()
        .expect(400);
    assert!(conforms(&s, "updateCustomer", &r)["validation_errors"]["city"].is_string());

    // 400 for a query parameter of the wrong type.
    let r = s.get("/customers?limit=abc").bearer(&t).send().expect(400);
    let e = conforms_error(&s, "listCustomers", &r);
    assert!(e["validation_errors"]["limit"].is_string(), "{e}");

    // 404: an unknown customer, in HttpError's shape.
    let r = s.get("/customers/nope").bearer(&t).send().expect(404);
    assert!(
        conforms(&s, "getCustomer", &r)["message"]
            .as_str()
            .unwrap()
            .contains("nope")
    );

    // 405 with Allow.
    let r = s.put("/customers").bearer(&t).json(&json!({})).send().expect(405);
    let allow = r.header("allow").unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert!(conforms_error(&s, "listCustomers", &r)["message"].is_string());

    // 415: a content type the operation does not declare.
    let r = s
        .post("/customers")
        .bearer(&t)
        .raw("text/plain", b"name=x")
        .send()
        .expect(415);
    assert!(
        conforms_error(&s, "createCustomer", &r)["message"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
}

#[test]
fn bad_requests_get_swisspay_errors_with_param() {
    let s = Server::bundled();
    let post = |body: serde_json::Value| s.post("/api/v1/customers").bearer(SP_KEY).json(&body).send();

    let r = s.get("/api/v1/customers").send().expect(401);
    assert_eq!(
        conforms_error(&s, "listCustomers", &r)["error"]["type"],
        "authentication_error"
    );
    s.get("/api/v1/customers").bearer("pk_live_nope").send().expect(401);

    let e = conforms(&s, "createCustomer", &post(json!({"name": "no email"})).expect(422));
    assert_eq!(e["error"]["code"], "invalid_params");
    assert_eq!(e["error"]["param"], "email");

    let e = conforms(
        &s,
        "createCustomer",
        &post(json!({"email": "a@example.com", "billing_address": {"country": "XX"}})).expect(422),
    );
    assert_eq!(e["error"]["param"], "billing_address.country");

    let r = s
        .post("/api/v1/customers")
        .bearer(SP_KEY)
        .raw("application/json", b"[1,")
        .send()
        .expect(400);
    assert_eq!(
        conforms(&s, "createCustomer", &r)["error"]["type"],
        "invalid_request_error"
    );

    let r = s.get("/api/v1/customers/cus_unknown").bearer(SP_KEY).send().expect(404);
    assert_eq!(
        conforms(&s, "retrieveCustomer", &r)["error"]["code"],
        "resource_missing"
    );

    let r = s.delete("/api/v1/customers").bearer(SP_KEY).send().expect(405);
    assert!(conforms_error(&s, "listCustomers", &r)["error"]["message"].is_string());

    let r = s
        .post("/api/v1/customers")
        .bearer(SP_KEY)
        .raw("application/xml", b"<x/>")
        .send()
        .expect(415);
    assert!(
        conforms_error(&s, "createCustomer", &r)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );

    let e = conforms(
        &s,
        "listCustomers",
        &s.get("/api/v1/customers?per_page=101")
            .bearer(SP_KEY)
            .send()
            .expect(422),
    );
    assert_eq!(e["error"]["param"], "per_page");
}

#[test]
fn unknown_paths_are_404_in_the_shape_of_the_mount_they_fall_under() {
    let s = Server::bundled();
    let r = s.get("/api/v1/nothing-here").bearer(SP_KEY).send().expect(404);
    assert!(
        conforms_error(&s, "retrieveCustomer", &r)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/api/v1/nothing-here")
    );
    let r = s.get("/nothing-here").send().expect(404);
    assert!(conforms_error(&s, "getCustomer", &r)["message"].is_string());
}

#[test]
fn cors_preflight_and_headers_are_on_by_default_and_can_be_switched_off() {
    let s = Server::bundled();
    let r = s
        .request("OPTIONS", "/api/v1/customers")
        .header("Origin", "http://app.local")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .expect(204);
    assert!(r.header("access-control-allow-methods").unwrap().contains("POST"));
    let r = s
        .get("/api/v1/customers")
        .bearer(SP_KEY)
        .header("Origin", "http://app.local")
        .send()
        .expect(200);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://app.local"));

    let quiet = Server::start(&["specs"], &["--no-cors"]);
    let r = quiet
        .get("/api/v1/customers")
        .bearer(SP_KEY)
        .header("Origin", "http://app.local")
        .send()
        .expect(200);
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[test]
fn a_30_petstore_loads_and_serves_within_its_contract() {
    let s = Server::start(
        &["tests/specs/petstore-3.0/petstore.yaml"],
        &["--fixtures", "tests/specs/petstore-3.0/fixtures"],
    );
    let key = [("X-Api-Key", "petstore-key")];
    let get = |p: &str| s.get(p).header(key[0].0, key[0].1).send();
    conforms(&s, "health", &s.get("/v2/health").send().expect(200));
    s.get("/v2/pets").send().expect(401);
    let pets = conforms(&s, "listPets", &get("/v2/pets").expect(200));
    assert!(pets.as_array().unwrap().len() >= 2, "{pets}");
    let inventory = conforms(&s, "getInventory", &get("/v2/store/inventory").expect(200));
    assert!(inventory.is_object());
    // 3.0's boolean exclusiveMinimum: weight 0 is rejected, nullable tag accepts null.
    let bad = s
        .post("/v2/pets")
        .header("X-Api-Key", "k")
        .json(&json!({"name": "Rex", "status": "available", "weight": 0}))
        .send();
    assert!(bad.status == 400 || bad.status == 422, "{}", bad.text());
    let ok = s
        .post("/v2/pets")
        .header("X-Api-Key", "k")
        .json(&json!({"name": "Rex", "status": "available", "weight": 1.5, "tag": null}))
        .send()
        .expect(201);
    conforms(&s, "createPet", &ok);
}

#[test]
fn a_multi_file_spec_loads_and_serves() {
    let s = Server::start(
        &["tests/specs/multi-file/openapi.yaml"],
        &["--fixtures", "tests/specs/multi-file/fixtures"],
    );
    let list = conforms(&s, "listBooks", &s.get("/library/books?limit=2").send().expect(200));
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let r = s
        .get("/library/books/3fa85f64-5717-4562-b3fc-2c963f66afa6")
        .send()
        .expect(404);
    // The multi-file spec's errors are RFC 7807-like: the shape is inferred from its schema.
    let e = conforms(&s, "getBook", &r);
    assert_eq!(e["status"], 404);
}

#[test]
fn broken_specs_stop_startup_naming_the_file_and_pointer() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["bad-yaml.yaml"], &["bad-yaml.yaml", "line 13"]),
        (&["bad-json.json"], &["bad-json.json", "line 9"]),
        (
            &["unresolved-ref.yaml"],
            &[
                "unresolved-ref.yaml#/paths/~1things/get/responses/200/content/application~1json/schema",
                "Missing",
            ],
        ),
        (
            &["unresolved-external-ref.yaml"],
            &["unresolved-external-ref.yaml#/paths/~1things/get", "nope.yaml"],
        ),
        (&["swagger2.yaml"], &["swagger2.yaml#/swagger", "Swagger 2.0"]),
        (
            &["duplicate-route.yaml"],
            &[
                "duplicate-route.yaml#/paths/~1things~1{thingId}/get",
                "~1things~1{thingName}",
            ],
        ),
        (&["admin-clash.yaml"], &["admin-clash.yaml#/paths/~1__specbox~1health"]),
        (
            &["conflict-a.yaml", "conflict-b.yaml"],
            &[
                "conflict-a.yaml#/paths/~1widgets/get",
                "conflict-b.yaml#/paths/~1widgets/get",
            ],
        ),
    ];
    for (files, expected) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_specbox"))
            .current_dir(root().join("tests/specs/broken"))
            .args(*files)
            .args(["--port", "0", "--fixtures", "none", "--strict"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{files:?}: {stderr}");
        for e in *expected {
            assert!(stderr.contains(e), "{files:?}: expected {e:?} in:\n{stderr}");
        }
    }
}

#[test]
fn check_prints_the_route_table_and_fails_on_problems() {
    let ok = Command::new(env!("CARGO_BIN_EXE_specbox"))
        .current_dir(root())
        .args(["check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{text}");
    assert!(
        text.contains("POST    /customers/{id}/restore") && text.contains("restoreCustomer"),
        "{text}"
    );
    assert!(text.contains("/api/v1/customers/{id}"), "{text}");
    let bad = Command::new(env!("CARGO_BIN_EXE_specbox"))
        .current_dir(root())
        .args(["check", "tests/specs/broken/swagger2.yaml"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn startup_logs_each_mounted_spec_and_the_address() {
    let s = Server::bundled();
    let log = s.log_text();
    assert!(
        log.contains("mounted Alternative Payments 1.1.0 at / (10 operations)"),
        "{log}"
    );
    assert!(
        log.contains("mounted SwissPay 1.0.0 at /api/v1 (6 operations)"),
        "{log}"
    );
    assert!(log.contains(&format!("listening on http://{}", s.addr)), "{log}");
}

#[test]
fn environment_variables_configure_the_server() {
    let out = Command::new(env!("CARGO_BIN_EXE_specbox"))
        .current_dir(root())
        .env("SPECBOX_SPECS", "tests/specs/broken/swagger2.yaml")
        .args(["--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("swagger2.yaml"));
}
