//! Relations between resources: SwissPay payments that refer to a customer by id, or carry an
//! inline customer that is matched by email and created when absent.

use crate::common;

use common::{Server, conforms, root};
use serde_json::{Value, json};
use std::process::Command;

const SP: &str = "sk_test_relations";

fn pay(s: &Server, customer: Value) -> common::Resp {
    s.post("/api/v1/payments")
        .bearer(SP)
        .json(&json!({"amount": 2500, "currency": "CHF", "customer": customer}))
        .send()
}

fn customers_with(s: &Server, email: &str) -> Vec<Value> {
    let q = email.replace('@', "%40");
    s.get(&format!("/api/v1/customers?email={q}"))
        .bearer(SP)
        .send()
        .expect(200)
        .json()["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn payment_count(s: &Server) -> u64 {
    s.get("/api/v1/payments").bearer(SP).send().expect(200).json()["total_count"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_payment_refers_to_an_existing_customer_by_id_and_carries_the_snapshot() {
    let s = Server::bundled();
    let c = s
        .post("/api/v1/customers")
        .bearer(SP)
        .json(&json!({"email": "byid@example.com", "date_of_birth": "1980-01-02",
                      "delivery_address": {"line1": "Rue 1", "city": "Genève", "postal_code": "1201", "country": "CH"}}))
        .send()
        .expect(201)
        .json();
    let id = c["id"].as_str().unwrap();
    let p = conforms(&s, "createPayment", &pay(&s, json!(id)).expect(201));
    assert_eq!(p["customer"], id);
    assert!(p["id"].as_str().unwrap().starts_with("pay_"));
    assert_eq!(p["customer_details"]["date_of_birth"], "1980-01-02");
    assert_eq!(p["customer_details"]["delivery_address"]["city"], "Genève");
    let read = conforms(
        &s,
        "retrievePayment",
        &s.get(&format!("/api/v1/payments/{}", p["id"].as_str().unwrap()))
            .bearer(SP)
            .send()
            .expect(200),
    );
    assert_eq!(read, p);
    conforms(
        &s,
        "listPayments",
        &s.get("/api/v1/payments").bearer(SP).send().expect(200),
    );
}

#[test]
fn an_unknown_customer_id_is_invalid_params_naming_the_field() {
    let s = Server::bundled();
    let before = payment_count(&s);
    let e = conforms(
        &s,
        "createPayment",
        &pay(&s, json!("cus_01NOSUCHCUSTOMER0000000000")).expect(422),
    );
    assert_eq!(e["error"]["code"], "invalid_params");
    assert_eq!(e["error"]["param"], "customer");
    assert_eq!(payment_count(&s), before);
    // Another tenant's customer is unknown here too.
    let theirs = s
        .post("/api/v1/customers")
        .bearer("sk_test_someone_else")
        .json(&json!({"email": "theirs@example.com"}))
        .send()
        .expect(201)
        .json();
    pay(&s, theirs["id"].clone()).expect(422);
}

#[test]
fn an_inline_new_customer_is_created_and_listed() {
    let s = Server::bundled();
    let p = conforms(
        &s,
        "createPayment",
        &pay(
            &s,
            json!({"email": "inline.new@example.com", "name": "Inline", "date_of_birth": "1991-03-04"}),
        )
        .expect(201),
    );
    let listed = customers_with(&s, "inline.new@example.com");
    assert_eq!(listed.len(), 1);
    assert_eq!(p["customer"], listed[0]["id"]);
    assert_eq!(listed[0]["name"], "Inline");
    assert_eq!(p["customer_details"]["date_of_birth"], "1991-03-04");
    assert!(p["customer_details"]["delivery_address"].is_null());
}

#[test]
fn an_inline_existing_customer_is_matched_case_insensitively_without_a_duplicate() {
    let s = Server::bundled();
    let existing = s
        .post("/api/v1/customers")
        .bearer(SP)
        .json(&json!({"email": "match.me@example.com"}))
        .send()
        .expect(201)
        .json();
    let p = conforms(
        &s,
        "createPayment",
        &pay(&s, json!({"email": "MATCH.me@Example.com", "name": "ignored"})).expect(201),
    );
    assert_eq!(p["customer"], existing["id"]);
    assert_eq!(customers_with(&s, "match.me@example.com").len(), 1);
}

#[test]
fn an_invalid_inline_customer_or_payment_creates_nothing() {
    let s = Server::bundled();
    let before = payment_count(&s);
    let e = conforms(
        &s,
        "createPayment",
        &pay(&s, json!({"email": "bad.locale@example.com", "locale": "de_CH"})).expect(422),
    );
    assert_eq!(e["error"]["code"], "invalid_params");
    assert_eq!(e["error"]["param"], "customer.locale");
    let e = conforms(
        &s,
        "createPayment",
        &pay(
            &s,
            json!({"email": "bad.country@example.com", "billing_address": {"country": "XX"}}),
        )
        .expect(422),
    );
    assert_eq!(e["error"]["param"], "customer.billing_address.country");
    // The payment itself is invalid: its inline customer must not be created either.
    let r = s
        .post("/api/v1/payments")
        .bearer(SP)
        .json(&json!({"amount": 0, "currency": "CHF", "customer": {"email": "never@example.com"}}))
        .send()
        .expect(422);
    assert_eq!(conforms(&s, "createPayment", &r)["error"]["param"], "amount");
    let r = s
        .post("/api/v1/payments")
        .bearer(SP)
        .json(&json!({"amount": 10, "currency": "chf", "customer": {"email": "never@example.com"}}))
        .send()
        .expect(422);
    assert_eq!(r.json()["error"]["param"], "currency");
    assert_eq!(payment_count(&s), before);
    for email in ["bad.locale@example.com", "bad.country@example.com", "never@example.com"] {
        assert!(customers_with(&s, email).is_empty(), "{email} was created");
    }
}

#[test]
fn concurrent_inline_creates_of_one_new_email_make_exactly_one_customer() {
    let s = Server::bundled();
    let ids: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let s = &s;
                scope.spawn(move || {
                    let email = if i % 2 == 0 {
                        "crowd@example.com"
                    } else {
                        "Crowd@Example.com"
                    };
                    pay(s, json!({"email": email})).expect(201).json()["customer"].clone()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(customers_with(&s, "crowd@example.com").len(), 1);
}

#[test]
fn an_idempotency_key_covers_the_payment_and_its_inline_customer() {
    let s = Server::bundled();
    let body = json!({"amount": 990, "currency": "CHF", "customer": {"email": "idem.pay@example.com"}});
    let first = s
        .post("/api/v1/payments")
        .bearer(SP)
        .header("Idempotency-Key", "pay-1")
        .json(&body)
        .send()
        .expect(201)
        .json();
    let again = s
        .post("/api/v1/payments")
        .bearer(SP)
        .header("Idempotency-Key", "pay-1")
        .json(&body)
        .send()
        .expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], first["id"]);
    assert_eq!(customers_with(&s, "idem.pay@example.com").len(), 1);
}

#[test]
fn fixture_payments_carry_their_snapshot_and_dangling_references_stop_startup() {
    let s = Server::bundled();
    let list = conforms(
        &s,
        "listPayments",
        &s.get("/api/v1/payments").bearer(SP).send().expect(200),
    );
    let with_dob = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["customer_details"]["date_of_birth"].is_string())
        .expect("a fixture payment with a snapshot");
    let customer = s
        .get(&format!("/api/v1/customers/{}", with_dob["customer"].as_str().unwrap()))
        .bearer(SP)
        .send()
        .expect(200)
        .json();
    assert_eq!(customer["date_of_birth"], with_dob["customer_details"]["date_of_birth"]);
    let filtered = s
        .get(&format!(
            "/api/v1/payments?customer={}",
            with_dob["customer"].as_str().unwrap()
        ))
        .bearer(SP)
        .send()
        .expect(200)
        .json();
    assert!(
        filtered["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["customer"] == with_dob["customer"])
    );

    let out = Command::new(env!("CARGO_BIN_EXE_specbox"))
        .current_dir(root())
        .args([
            "specs/swisspay.yaml",
            "--fixtures",
            "tests/specs/dangling-fixtures",
            "--port",
            "0",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("dangling-fixtures/swisspay/payments.yaml#/resources/~1payments/0/customer"),
        "{err}"
    );
}
