//! The stateful sandbox: resources inferred from the spec, fixtures, isolation, idempotency,
//! OAuth2, and the seed APIs' business rules, all seen from an HTTP client.

use crate::common;

use common::{Server, ap_token, conforms, conforms_error, ids, root};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::process::Command;

const SP: &str = "sk_test_state";

#[test]
fn alternative_payments_full_lifecycle() {
    let s = Server::bundled();
    let t = ap_token(&s);
    let before = ids(&s.get("/customers").bearer(&t).send().expect(200).json());

    let created = s
        .post("/customers")
        .bearer(&t)
        .json(&json!({"name": "Lifecycle Co", "email": "life@cycle.example", "city": "Denver", "unknown_field": "dropped"}))
        .send()
        .expect(201);
    let c = conforms(&s, "createCustomer", &created);
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["name"], "Lifecycle Co");
    assert!(
        c.get("unknown_field").is_none(),
        "undeclared fields are not stored: {c}"
    );
    assert!(c["created_at"].as_str().unwrap().ends_with('Z'));

    let read = conforms(
        &s,
        "getCustomer",
        &s.get(&format!("/customers/{id}")).bearer(&t).send().expect(200),
    );
    assert_eq!(read, c);

    // PATCH merges declared fields only: PatchCustomerRequest has no `email`.
    let patched = s
        .patch(&format!("/customers/{id}"))
        .bearer(&t)
        .json(&json!({"city": "Boulder", "email": "changed@x.example"}))
        .send()
        .expect(200);
    let p = conforms(&s, "updateCustomer", &patched);
    assert_eq!(p["city"], "Boulder");
    assert_eq!(p["name"], "Lifecycle Co");
    assert_eq!(p["email"], "life@cycle.example");

    let listed = ids(&s.get("/customers?limit=100").bearer(&t).send().expect(200).json());
    assert_eq!(listed.len(), before.len() + 1);
    assert_eq!(listed.last(), Some(&id), "creation order");

    // Archive: out of lists, still readable; archiving twice is a 400.
    conforms(
        &s,
        "archiveCustomer",
        &s.delete(&format!("/customers/{id}")).bearer(&t).send().expect(200),
    );
    assert!(!ids(&s.get("/customers?limit=100").bearer(&t).send().json()).contains(&id));
    s.get(&format!("/customers/{id}")).bearer(&t).send().expect(200);
    let again = s.delete(&format!("/customers/{id}")).bearer(&t).send().expect(400);
    assert!(
        conforms(&s, "archiveCustomer", &again)["message"]
            .as_str()
            .unwrap()
            .contains("archived")
    );

    // Restore brings it back; restoring an active customer is a 400.
    conforms(
        &s,
        "restoreCustomer",
        &s.post(&format!("/customers/{id}/restore"))
            .bearer(&t)
            .send()
            .expect(200),
    );
    assert!(ids(&s.get("/customers?limit=100").bearer(&t).send().json()).contains(&id));
    conforms(
        &s,
        "restoreCustomer",
        &s.post(&format!("/customers/{id}/restore"))
            .bearer(&t)
            .send()
            .expect(400),
    );
    s.delete("/customers/no-such-id").bearer(&t).send().expect(404);
}

#[test]
fn the_archived_fixture_customer_is_readable_but_not_listed() {
    let s = Server::bundled();
    let t = ap_token(&s);
    let fixtures: Value = serde_json::to_value(
        specbox::spec::read::read_value(&root().join("fixtures/alternative-payments/customers.yaml")).unwrap(),
    )
    .unwrap();
    let archived = fixtures["resources"]["/customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["x-specbox-archived"] == true)
        .expect("an archived fixture customer")["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!ids(&s.get("/customers?limit=100").bearer(&t).send().json()).contains(&archived));
    s.get(&format!("/customers/{archived}")).bearer(&t).send().expect(200);
    s.post(&format!("/customers/{archived}/restore"))
        .bearer(&t)
        .send()
        .expect(200);
}

#[test]
fn sub_collections_belong_to_their_parent() {
    let s = Server::bundled();
    let t = ap_token(&s);
    let customers = ids(&s.get("/customers?limit=100").bearer(&t).send().json());
    let (a, b) = (&customers[0], &customers[1]);

    s.get("/customers/nope/users").bearer(&t).send().expect(404);
    s.post("/customers/nope/users")
        .bearer(&t)
        .json(&json!({"email": "x@y.example"}))
        .send()
        .expect(404);
    s.get("/customers/nope/payment-methods").bearer(&t).send().expect(404);

    let u = s
        .post(&format!("/customers/{a}/users"))
        .bearer(&t)
        .json(&json!({"email": "new@a.example", "first_name": "New"}))
        .send()
        .expect(201);
    let uid = conforms(&s, "createCustomerUser", &u)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let users_a = conforms(
        &s,
        "listCustomerUsers",
        &s.get(&format!("/customers/{a}/users")).bearer(&t).send().expect(200),
    );
    assert!(ids(&users_a).contains(&uid));
    let users_b = s
        .get(&format!("/customers/{b}/users"))
        .bearer(&t)
        .send()
        .expect(200)
        .json();
    assert!(!ids(&users_b).contains(&uid));

    // Payment methods come from fixtures only; one customer's are not reachable under another.
    let pms = s
        .get(&format!("/customers/{a}/payment-methods"))
        .bearer(&t)
        .send()
        .expect(200)
        .json();
    let pm = pms["data"][0]["id"]
        .as_str()
        .expect("fixture payment methods")
        .to_string();
    let types: HashSet<&str> = pms["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["type"].as_str())
        .collect();
    assert!(!types.is_empty());
    s.get(&format!("/customers/{a}/payment-methods/{pm}"))
        .bearer(&t)
        .send()
        .expect(200);
    let other = s
        .get(&format!("/customers/{b}/payment-methods/{pm}"))
        .bearer(&t)
        .send()
        .expect(404);
    conforms(&s, "getPaymentMethod", &other);
}

#[test]
fn a_cursor_walk_sees_every_item_exactly_once_while_others_insert() {
    let s = Server::bundled();
    let t = ap_token(&s);
    for i in 0..20 {
        s.post("/customers")
            .bearer(&t)
            .json(&json!({"name": format!("walk {i}")}))
            .send()
            .expect(201);
    }
    let all_before: Vec<String> = ids(&s.get("/customers?limit=1000").bearer(&t).send().json());
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for round in 0..100 {
        let q = match &after {
            Some(c) => format!("/customers?limit=7&after={c}"),
            None => "/customers?limit=7".to_string(),
        };
        let page = conforms(&s, "listCustomers", &s.get(&q).bearer(&t).send().expect(200));
        seen.extend(ids(&page));
        // Another client inserts while we page.
        s.post("/customers")
            .bearer(&t)
            .json(&json!({"name": format!("concurrent {round}")}))
            .send()
            .expect(201);
        if page["has_next_page"] != true {
            break;
        }
        after = Some(page["end_cursor"].as_str().unwrap().to_string());
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no item twice");
    for id in &all_before {
        assert!(unique.contains(id), "{id} was skipped");
    }

    // Backwards from the end: `before` returns the items just before the cursor.
    let first = s.get("/customers?limit=3").bearer(&t).send().json();
    let second = s
        .get(&format!(
            "/customers?limit=3&after={}",
            first["end_cursor"].as_str().unwrap()
        ))
        .bearer(&t)
        .send()
        .json();
    assert_eq!(second["has_previous_page"], true);
    let back = s
        .get(&format!(
            "/customers?limit=3&before={}",
            second["start_cursor"].as_str().unwrap()
        ))
        .bearer(&t)
        .send()
        .json();
    assert_eq!(ids(&back), ids(&first));
    assert_eq!(back["has_previous_page"], false);

    let bad = s.get("/customers?after=not-a-cursor").bearer(&t).send().expect(400);
    assert!(
        conforms_error(&s, "listCustomers", &bad)["message"]
            .as_str()
            .unwrap()
            .contains("after")
    );
}

#[test]
fn alternative_payments_filters() {
    let s = Server::bundled();
    let t = ap_token(&s);
    s.post("/customers")
        .bearer(&t)
        .json(&json!({"name": "Zebra Filtering Inc"}))
        .send()
        .expect(201);
    let found = s
        .get("/customers?company_name=zebra%20FILTER")
        .bearer(&t)
        .send()
        .expect(200)
        .json();
    assert_eq!(found["data"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["data"][0]["name"], "Zebra Filtering Inc");

    let all = s.get("/customers?limit=100").bearer(&t).send().json();
    let stamps: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["created_at"].as_str().unwrap())
        .collect();
    let cut = stamps[1];
    let later = s
        .get(&format!("/customers?limit=100&created_at_start={cut}"))
        .bearer(&t)
        .send()
        .expect(200)
        .json();
    assert!(
        later["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["created_at"].as_str().unwrap() >= cut)
    );
    assert_eq!(
        later["data"].as_array().unwrap().len(),
        stamps.iter().filter(|s| **s >= cut).count()
    );
    let earlier = s
        .get(&format!("/customers?limit=100&created_at_end={cut}"))
        .bearer(&t)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        earlier["data"].as_array().unwrap().len(),
        stamps.iter().filter(|s| **s <= cut).count()
    );
}

#[test]
fn swisspay_lifecycle_and_business_rules() {
    let s = Server::bundled();
    let post = |b: Value| s.post("/api/v1/customers").bearer(SP).json(&b).send();

    let full = json!({
        "email": "Jane.Rules@Example.com", "name": "Jane", "locale": "fr-CH", "external_id": "ext-rules",
        "billing_address": {"line1": "Bahnhofstrasse 1", "city": "Zürich", "postal_code": "8001", "country": "CH"},
        "delivery_address": {"line1": "Rue du Mont-Blanc 4", "city": "Genève", "postal_code": "1201", "country": "CH"},
        "date_of_birth": "1990-04-25", "metadata": {"plan": "pro"}
    });
    let c = conforms(&s, "createCustomer", &post(full).expect(201));
    let id = c["id"].as_str().unwrap().to_string();
    let read = conforms(
        &s,
        "retrieveCustomer",
        &s.get(&format!("/api/v1/customers/{id}")).bearer(SP).send().expect(200),
    );
    assert_eq!(read["delivery_address"]["city"], "Genève");
    assert_eq!(read["date_of_birth"], "1990-04-25");

    // Absent optional fields read back as null.
    let minimal = conforms(
        &s,
        "createCustomer",
        &post(json!({"email": "min@example.com"})).expect(201),
    );
    assert!(minimal["phone"].is_null() && minimal["delivery_address"].is_null() && minimal["date_of_birth"].is_null());

    // Uniqueness: email case-insensitively, external_id exactly.
    let e = conforms(
        &s,
        "createCustomer",
        &post(json!({"email": "jane.rules@example.COM"})).expect(422),
    );
    assert_eq!(e["error"]["code"], "customer_email_taken");
    assert_eq!(e["error"]["param"], "email");
    let e = conforms(
        &s,
        "createCustomer",
        &post(json!({"email": "other@example.com", "external_id": "ext-rules"})).expect(422),
    );
    assert_eq!(e["error"]["code"], "customer_external_id_taken");

    let invalid = |body: Value, param: &str| {
        let e = conforms(&s, "createCustomer", &post(body.clone()).expect(422));
        assert_eq!(e["error"]["code"], "invalid_params", "{body}");
        assert_eq!(e["error"]["param"], param, "{body}: {e}");
    };
    invalid(json!({"email": "l@example.com", "locale": "de_CH"}), "locale");
    invalid(json!({"email": "l@example.com", "locale": "DE-ch"}), "locale");
    for bad in ["XX", "ch", "CHE"] {
        invalid(
            json!({"email": "c@example.com", "billing_address": {"country": bad}}),
            "billing_address.country",
        );
        invalid(
            json!({"email": "c@example.com", "delivery_address": {"country": bad}}),
            "delivery_address.country",
        );
    }
    let many: serde_json::Map<String, Value> = (0..21).map(|i| (format!("k{i}"), json!("v"))).collect();
    invalid(json!({"email": "m@example.com", "metadata": many}), "metadata");
    invalid(
        json!({"email": "m@example.com", "metadata": {"long": "x".repeat(501)}}),
        "metadata",
    );
    invalid(
        json!({"email": "d@example.com", "date_of_birth": "25.04.1990"}),
        "date_of_birth",
    );
    invalid(
        json!({"email": "d@example.com", "date_of_birth": "1990-02-30"}),
        "date_of_birth",
    );
    post(json!({"email": "ok-country@example.com", "billing_address": {"country": "CH"}, "metadata": {"a": "x".repeat(500)}})).expect(201);

    // List by email: exact, case-insensitive; pages of `per_page` with the envelope.
    let by_email = conforms(
        &s,
        "listCustomers",
        &s.get("/api/v1/customers?email=JANE.RULES%40example.com")
            .bearer(SP)
            .send()
            .expect(200),
    );
    assert_eq!(ids(&by_email), vec![id.clone()]);
    assert_eq!(by_email["total_count"], 1);
    let page = conforms(
        &s,
        "listCustomers",
        &s.get("/api/v1/customers").bearer(SP).send().expect(200),
    );
    assert_eq!(page["per_page"], 20);
    assert_eq!(page["page"], 1);
    let total = page["total_count"].as_u64().unwrap();
    let p2 = s
        .get("/api/v1/customers?page=2&per_page=3")
        .bearer(SP)
        .send()
        .expect(200)
        .json();
    assert_eq!(p2["data"].as_array().unwrap().len(), 3);
    assert_eq!(p2["has_more"], json!(total > 6));
    let all = ids(&s.get("/api/v1/customers?per_page=100").bearer(SP).send().json());
    assert_eq!(ids(&p2), all[3..6].to_vec());
}

#[test]
fn sixty_four_concurrent_creates_with_one_email_give_exactly_one_customer() {
    let s = Server::bundled();
    let results: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let s = &s;
                scope.spawn(move || {
                    let email = if i % 2 == 0 {
                        "race@example.com"
                    } else {
                        "RACE@example.com"
                    };
                    let r = s
                        .post("/api/v1/customers")
                        .bearer(SP)
                        .json(&json!({"email": email, "name": format!("racer {i}")}))
                        .send();
                    (r.status, r.json())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|(st, _)| *st == 201).count(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|(st, _)| *st != 201)
            .all(|(st, b)| *st == 422 && b["error"]["code"] == "customer_email_taken")
    );
    let listed = s
        .get("/api/v1/customers?email=race%40example.com")
        .bearer(SP)
        .send()
        .json();
    assert_eq!(listed["total_count"], 1);
}

#[test]
fn each_credential_is_its_own_tenant() {
    let s = Server::bundled();
    let a = "sk_test_tenant_a";
    let b = "sk_test_tenant_b";
    let c = s
        .post("/api/v1/customers")
        .bearer(a)
        .json(&json!({"email": "mine@example.com"}))
        .send()
        .expect(201)
        .json();
    let id = c["id"].as_str().unwrap();
    s.get(&format!("/api/v1/customers/{id}")).bearer(b).send().expect(404);
    assert_eq!(
        s.get("/api/v1/customers?email=mine%40example.com")
            .bearer(b)
            .send()
            .json()["total_count"],
        0
    );
    // The same email is free in another tenant.
    s.post("/api/v1/customers")
        .bearer(b)
        .json(&json!({"email": "mine@example.com"}))
        .send()
        .expect(201);
    // Both start from the fixtures.
    let fixtures_a = s.get("/api/v1/customers?per_page=100").bearer(a).send().json()["total_count"]
        .as_u64()
        .unwrap();
    let fixtures_b = s.get("/api/v1/customers?per_page=100").bearer(b).send().json()["total_count"]
        .as_u64()
        .unwrap();
    assert_eq!(fixtures_a, fixtures_b);

    // Reset one tenant: its changes are gone, the other's stay.
    s.post("/__specbox/reset?tenant=sk_test_tenant_a").send().expect(200);
    s.get(&format!("/api/v1/customers/{id}")).bearer(a).send().expect(404);
    assert_eq!(
        s.get("/api/v1/customers?email=mine%40example.com")
            .bearer(b)
            .send()
            .json()["total_count"],
        1
    );
    s.post("/__specbox/reset").send().expect(200);
    assert_eq!(
        s.get("/api/v1/customers?email=mine%40example.com")
            .bearer(b)
            .send()
            .json()["total_count"],
        0
    );
}

#[test]
fn without_auth_everyone_shares_one_tenant() {
    let s = Server::start(&["specs"], &["--no-auth"]);
    let c = s
        .post("/api/v1/customers")
        .json(&json!({"email": "open@example.com"}))
        .send()
        .expect(201)
        .json();
    s.get(&format!("/api/v1/customers/{}", c["id"].as_str().unwrap()))
        .bearer("sk_test_anyone")
        .send()
        .expect(200);
    s.get("/customers").send().expect(200);
}

#[test]
fn idempotency_keys_replay_the_first_response() {
    let s = Server::bundled();
    let send = |key: &str, tenant: &str, body: Value| {
        s.post("/api/v1/customers")
            .bearer(tenant)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send("key-1", SP, json!({"email": "idem@example.com"})).expect(201);
    let again = send("key-1", SP, json!({"email": "idem@example.com"})).expect(201);
    assert_eq!(first.json()["id"], again.json()["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(
        s.get("/api/v1/customers?email=idem%40example.com")
            .bearer(SP)
            .send()
            .json()["total_count"],
        1
    );

    let reused = send("key-1", SP, json!({"email": "different@example.com"})).expect(422);
    assert_eq!(reused.json()["error"]["code"], "idempotency_key_reused");

    // Keys are per tenant.
    let other = send("key-1", "sk_test_other_tenant", json!({"email": "idem@example.com"})).expect(201);
    assert_ne!(other.json()["id"], first.json()["id"]);
}

#[test]
fn oauth2_client_credentials() {
    let s = Server::bundled();
    let form = |body: &str| {
        s.post("/oauth/token")
            .raw("application/x-www-form-urlencoded", body.as_bytes())
            .send()
    };
    let ok = form("grant_type=client_credentials&client_id=sandbox_client&client_secret=sandbox_secret")
        .expect(200)
        .json();
    assert_eq!(ok["token_type"], "Bearer");
    assert!(ok["expires_in"].as_u64().unwrap() > 0);
    let bad = form("grant_type=client_credentials&client_id=sandbox_client&client_secret=wrong")
        .expect(401)
        .json();
    assert_eq!(bad["error"], "invalid_client");
    assert_eq!(
        form("grant_type=password&client_id=a&client_secret=b")
            .expect(400)
            .json()["error"],
        "unsupported_grant_type"
    );
    // HTTP Basic client authentication.
    let basic = s
        .post("/oauth/token")
        .header("Authorization", "Basic c2FuZGJveF9jbGllbnQ6c2FuZGJveF9zZWNyZXQ=")
        .raw("application/x-www-form-urlencoded", b"grant_type=client_credentials")
        .send()
        .expect(200)
        .json();
    s.get("/customers")
        .bearer(basic["access_token"].as_str().unwrap())
        .send()
        .expect(200);
    // Tokens of one client share its state.
    let t1 = ap_token(&s);
    let t2 = ap_token(&s);
    let c = s
        .post("/customers")
        .bearer(&t1)
        .json(&json!({"name": "shared"}))
        .send()
        .expect(201)
        .json();
    s.get(&format!("/customers/{}", c["id"].as_str().unwrap()))
        .bearer(&t2)
        .send()
        .expect(200);

    let expired = Server::start(&["specs"], &["--token-ttl", "0s"]);
    let t = ap_token(&expired);
    let r = expired.get("/customers").bearer(&t).send().expect(401);
    assert!(r.json()["message"].as_str().unwrap().contains("expired"));
}

#[test]
fn a_bad_fixture_stops_startup_naming_file_item_and_pointer() {
    let out = Command::new(env!("CARGO_BIN_EXE_specbox"))
        .current_dir(root())
        .args([
            "specs/swisspay.yaml",
            "--fixtures",
            "tests/specs/bad-fixtures",
            "--port",
            "0",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad-fixtures/swisspay/customers.yaml#/resources/~1customers/1"),
        "{err}"
    );
}

#[test]
fn integer_ids_offset_paging_and_sub_collections() {
    let s = Server::start(
        &["tests/specs/integer-ids/inventory.json"],
        &["--fixtures", "tests/specs/integer-ids/fixtures"],
    );
    let t = "inventory-token";
    let w = conforms(
        &s,
        "createWarehouse",
        &s.post("/api/warehouses")
            .bearer(t)
            .json(&json!({"name": "Third", "city": "Bern"}))
            .send()
            .expect(201),
    );
    assert_eq!(w["id"], 3, "integer ids continue after the fixtures: {w}");
    conforms(
        &s,
        "getWarehouse",
        &s.get("/api/warehouses/3").bearer(t).send().expect(200),
    );
    let page = conforms(
        &s,
        "listWarehouses",
        &s.get("/api/warehouses?offset=1&limit=1").bearer(t).send().expect(200),
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], 2);
    assert_eq!(page["total"], 3);
    assert_eq!(page["offset"], 1);
    s.get("/api/warehouses/abc").bearer(t).send().expect(400);

    let items = conforms(
        &s,
        "listItems",
        &s.get("/api/warehouses/1/items").bearer(t).send().expect(200),
    );
    let sku = items["items"][0]["sku"].as_str().unwrap().to_string();
    let dup = s
        .post("/api/warehouses/1/items")
        .bearer(t)
        .json(&json!({"sku": sku, "name": "dup", "quantity": 1}))
        .send()
        .expect(409);
    assert_eq!(conforms(&s, "createItem", &dup)["error"], "sku_taken");
    // The same sku is fine under another warehouse (uniqueness is per collection).
    s.post("/api/warehouses/3/items")
        .bearer(t)
        .json(&json!({"sku": sku, "name": "ok", "quantity": 1}))
        .send()
        .expect(201);
    s.get("/api/warehouses/99/items").bearer(t).send().expect(404);
    s.delete("/api/warehouses/3").bearer(t).send().expect(204);
    s.get("/api/warehouses/3").bearer(t).send().expect(404);
}

#[test]
fn petstore_replace_bare_lists_and_enum_filters() {
    let s = Server::start(
        &["tests/specs/petstore-3.0/petstore.yaml"],
        &["--fixtures", "tests/specs/petstore-3.0/fixtures"],
    );
    let k = "X-Api-Key";
    let pets = s.get("/v2/pets").header(k, "a").send().expect(200).json();
    let id = pets[0]["id"].as_str().unwrap().to_string();
    let replaced = s
        .put(&format!("/v2/pets/{id}"))
        .header(k, "a")
        .json(&json!({"name": "Renamed", "status": "sold"}))
        .send()
        .expect(200);
    let r = conforms(&s, "replacePet", &replaced);
    assert_eq!(r["name"], "Renamed");
    assert_eq!(r["id"], id.as_str());
    let sold = s.get("/v2/pets?status=sold").header(k, "a").send().expect(200).json();
    assert!(sold.as_array().unwrap().iter().all(|p| p["status"] == "sold") && !sold.as_array().unwrap().is_empty());
    s.get("/v2/pets?status=nope").header(k, "a").send().expect(400);
    let limited = s.get("/v2/pets?limit=1").header(k, "a").send().expect(200).json();
    assert_eq!(limited.as_array().unwrap().len(), 1);
    let photo = s
        .post(&format!("/v2/pets/{id}/photos"))
        .header(k, "a")
        .json(&json!({"url": "https://img.example/1.png"}))
        .send()
        .expect(201);
    conforms(&s, "addPetPhoto", &photo);
    s.delete(&format!("/v2/pets/{id}")).header(k, "a").send().expect(204);
    s.get(&format!("/v2/pets/{id}/photos"))
        .header(k, "a")
        .send()
        .expect(404);
}

#[test]
fn archiving_keeps_page_arithmetic_right() {
    let s = Server::start(
        &["tests/specs/archive-pages/suppliers.yaml"],
        &["--fixtures", "tests/specs/archive-pages/fixtures"],
    );
    let page = |q: &str| {
        conforms(
            &s,
            "listSuppliers",
            &s.get(&format!("/s/suppliers?{q}")).send().expect(200),
        )
    };
    let names = |v: &Value| {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(page("per_page=2")["total_count"], 5);
    s.delete("/s/suppliers/2").send().expect(204);
    s.delete("/s/suppliers/2").send().expect(409);
    s.get("/s/suppliers/2").send().expect(200);
    let p1 = page("page=1&per_page=2");
    assert_eq!(
        (names(&p1), p1["total_count"].clone(), p1["has_more"].clone()),
        (vec![1, 3], json!(4), json!(true))
    );
    let p2 = page("page=2&per_page=2");
    assert_eq!((names(&p2), p2["has_more"].clone()), (vec![4, 5], json!(false)));
    s.delete("/s/suppliers/5").send().expect(204);
    assert_eq!(names(&page("page=2&per_page=2")), vec![4]);
    conforms(
        &s,
        "restoreSupplier",
        &s.post("/s/suppliers/2/restore").send().expect(200),
    );
    s.post("/s/suppliers/2/restore").send().expect(409);
    let all = page("per_page=10");
    assert_eq!((names(&all), all["total_count"].clone()), (vec![1, 2, 3, 4], json!(4)));
    let created = conforms(
        &s,
        "createSupplier",
        &s.post("/s/suppliers").json(&json!({"name": "Six"})).send().expect(201),
    );
    assert_eq!(created["id"], 6);
    assert_eq!(names(&page("page=3&per_page=2")), vec![6]);
}
