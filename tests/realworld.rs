//! What published provider specs need from the engine, each on a small spec written the way they
//! are (tests/specs/realworld/shop.yaml): answers start from the spec's examples, envelopes, keys
//! that follow the path, fields that change naming style and type, readOnly and writeOnly,
//! RPC-style POSTs, anonymous access, and errors with documented statuses only. The published specs
//! themselves are exercised by tests/corpus.rs.

use crate::common;

use common::{Resp as Response, Server};
use serde_json::{Value, json};

const SPEC: &str = "tests/specs/realworld/shop.yaml";

fn shop() -> Server {
    Server::start(&[SPEC], &["--fixtures", "none"])
}

/// The tenants of the journal's entries for one operation, newest first.
fn journal_tenants(s: &Server, operation_id: &str) -> Vec<String> {
    let journal = s
        .get(&format!("/__specbox/requests?operationId={operation_id}"))
        .send()
        .expect(200)
        .json();
    journal["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["tenant"].as_str().unwrap_or("").to_string())
        .collect()
}

fn form(s: &Server, key: &str, body: &str) -> Response {
    s.post("/v1/orders")
        .header("X-Api-Key", key)
        .raw("application/x-www-form-urlencoded", body.as_bytes())
        .send()
}

#[test]
fn the_specs_examples_are_the_starting_state() {
    let s = shop();
    // The list example shows order 7: it exists, in every tenant, before anything is created.
    let page = s.get("/v1/orders").header("X-Api-Key", "a").send().expect(200).json();
    assert_eq!(page["orders"][0]["number"], 7, "{page}");
    // Envelope fields the engine does not keep answer as the example shows them, their links
    // to the spec's server pointing at the sandbox instead.
    assert_eq!(page["self"], format!("http://{}/v1/orders", s.addr), "{page}");
    assert_eq!(
        page["orders"][0]["html_url"],
        format!("http://{}/v1/orders/7", s.addr),
        "{page}"
    );
    let one = s.get("/v1/orders/7").header("X-Api-Key", "b").send().expect(200).json();
    assert_eq!(one, json!({"order": page["orders"][0].clone()}));
}

#[test]
fn a_create_answers_like_the_example_with_what_was_sent_under_the_responses_names_and_types() {
    let s = shop();
    let r = form(&s, "a", "Total=2500&Gift=true&CardNumber=4111111111111111&Number=99");
    let created = r.expect(201).json();
    let order = &created["order"];
    // The item is wrapped as the spec wraps it; the key follows the sequence after the example's 7
    // (the client's readOnly `Number` is ignored).
    assert_eq!(order["number"], 8, "{created}");
    // Form strings stored under the representation's names, as its types.
    assert_eq!(order["total"], 2500, "{created}");
    assert_eq!(order["gift"], true, "{created}");
    // What the server sets comes from the example, its link naming the new item.
    assert_eq!(order["status"], "open", "{created}");
    assert_eq!(order["html_url"], format!("http://{}/v1/orders/8", s.addr), "{created}");
    // A field the client may send but did not: null where the schema allows it.
    assert_eq!(order["note"], Value::Null, "{created}");
    // writeOnly: kept, never sent.
    assert!(
        order.get("card_number").is_none() && order.get("CardNumber").is_none(),
        "{created}"
    );
    let read = s.get("/v1/orders/8").header("X-Api-Key", "a").send().expect(200).json();
    assert_eq!(read, created);
    // Another tenant does not see it (the read documents no 404, so it answers as the spec does,
    // with a generated order that is not this one).
    let other = s.get("/v1/orders/8").header("X-Api-Key", "b").send().expect(200).json();
    assert_ne!(other, created);
}

#[test]
fn a_post_with_no_list_or_item_beside_it_answers_from_the_spec_and_keeps_nothing() {
    let s = shop();
    for _ in 0..2 {
        let r = s
            .post("/v1/orders/search")
            .header("X-Api-Key", "a")
            .json(&json!({"q": "x"}))
            .send()
            .expect(200)
            .json();
        assert_eq!(r, json!({"matches": 3, "took_ms": 12}));
    }
    let page = s.get("/v1/orders").header("X-Api-Key", "a").send().expect(200).json();
    assert_eq!(page["orders"].as_array().map(Vec::len), Some(1), "{page}");
}

#[test]
fn errors_use_documented_statuses_and_carry_the_error_examples_fields() {
    let s = shop();
    let r = form(&s, "a", "Note=no%20total");
    let body = r.expect(400).json();
    assert_eq!(body["request_id"], "req_123", "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("Total")), "{body}");
    // A missing order where only 200 is documented: answered as the spec does, and said once.
    s.get("/v1/orders/404").header("X-Api-Key", "a").send().expect(200);
    s.get("/v1/orders/405").header("X-Api-Key", "a").send().expect(200);
    // Another operation's warning comes after both in the log, so once it is there every line
    // the two reads caused is there too.
    s.post("/v1/orders/999/lines")
        .header("X-Api-Key", "a")
        .json(&json!({"sku": "x"}))
        .send()
        .expect(201);
    let log = s.log_with("/v1/orders/{order_number}/lines documents no status");
    assert_eq!(
        log.matches("/v1/orders/{order_number} documents no status for").count(),
        1,
        "{log}"
    );
}

#[test]
fn anonymous_operations_see_the_tenant_of_a_credential_sent_anyway() {
    let s = shop();
    s.get("/v1/whoami").header("X-Api-Key", "tenant-one").send().expect(200);
    s.get("/v1/whoami").send().expect(200);
    let tenants = journal_tenants(&s, "whoami");
    assert_eq!(tenants.len(), 2, "{tenants:?}");
    assert!(tenants.iter().any(|t| t == "default"), "{tenants:?}");
    assert!(tenants.iter().any(|t| t != "default"), "{tenants:?}");
}

#[test]
fn an_object_with_an_object_field_is_no_envelope_and_a_child_names_its_parent_from_the_path() {
    let s = shop();
    let note = s
        .post("/v1/notes")
        .header("X-Api-Key", "a")
        .json(&json!({"title": "t", "data": {"color": "red"}}))
        .send()
        .expect(201)
        .json();
    assert_eq!(note["title"], "t", "{note}");
    assert_eq!(note["data"]["color"], "red", "{note}");
    // A line created under order 8 says so, not the example's order 7.
    form(&s, "a", "Total=1").expect(201);
    let line = s
        .post("/v1/orders/8/lines")
        .header("X-Api-Key", "a")
        .json(&json!({"sku": "x"}))
        .send()
        .expect(201)
        .json();
    assert_eq!(line["order_number"], 8, "{line}");
}

#[test]
fn a_parents_generic_id_parameter_is_not_the_childs_own_key() {
    // `/customers/{id}/users`: the parent's `{id}` must not become each user's `id`, or a second
    // user under one customer would "already exist".
    let s = Server::bundled();
    let t = common::ap_token(&s);
    let customer = "f38b2ffc-80a4-4f5a-91c9-bc701e7ea419";
    let mut ids = Vec::new();
    for email in ["one@example.com", "two@example.com"] {
        let user = s
            .post(&format!("/customers/{customer}/users"))
            .bearer(&t)
            .json(&json!({"email": email, "first_name": "A"}))
            .send()
            .expect(201)
            .json();
        ids.push(user["id"].clone());
    }
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[0], json!(customer));
}

#[test]
fn sent_values_reach_the_answer_exactly_or_not_at_all() {
    let s = shop();
    // `label` belongs to the body's other shape: it came unchecked with the first one, and the
    // answer's schema (a string of at most 5) would not take it, so it is not kept. An integer
    // beyond 64 bits is answered as it was sent, not as a float.
    let body = r#"{"box": 1, "label": 123456, "weight": 123456789012345678901234567890}"#;
    let r = s
        .post("/v1/parcels")
        .header("X-Api-Key", "a")
        .raw("application/json", body.as_bytes())
        .send();
    let created = r.expect(201);
    let text = created.text();
    assert!(text.contains(r#""weight":123456789012345678901234567890"#), "{text}");
    let parcel = created.json();
    assert_eq!(parcel["box"], 1, "{parcel}");
    assert!(
        parcel["label"].is_string() || parcel["label"].is_null() || parcel.get("label").is_none(),
        "{parcel}"
    );
    let list = s.get("/v1/parcels").header("X-Api-Key", "a").send().expect(200);
    assert!(
        list.text().contains("123456789012345678901234567890"),
        "{}",
        list.text()
    );
    // A field the schema requires but never declares is there, as any value.
    assert!(list.json()[0].get("tracking").is_some(), "{}", list.text());
    // A delete whose answer is a status object answers it as the spec shows, not the item.
    let id = parcel["id"].clone();
    let gone = s
        .delete(&format!("/v1/parcels/{id}"))
        .header("X-Api-Key", "a")
        .send()
        .expect(200)
        .json();
    assert_eq!(gone, json!({"status": "DELETED"}));
    s.get(&format!("/v1/parcels/{id}"))
        .header("X-Api-Key", "a")
        .send()
        .expect(404);
}

const PLANETS: &str = "tests/specs/realworld/planets.yaml";

#[test]
fn public_reads_see_what_credentials_wrote_and_a_meta_object_pages() {
    let s = Server::start(&[PLANETS], &["--fixtures", "none"]);
    let create = |token: &str, name: &str| {
        let made = s
            .post("/planets")
            .bearer(token)
            .json(&json!({"name": name}))
            .send()
            .expect(201);
        common::conforms(&s, "createPlanet", &made)
    };
    let mars = create("alice", "Mars");
    create("bob", "Venus");
    // Its link to itself leads to the sandbox, not to the spec's server; behind a proxy that
    // terminates TLS, to where the proxy was called; never to a host that is no plain host.
    let path = format!("/planets/{}", mars["id"]);
    assert_eq!(mars["url"], format!("http://{}{path}", s.addr), "{mars}");
    let proxied = s
        .get(&path)
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "sandbox.ci.example:8443")
        .send()
        .expect(200)
        .json();
    assert_eq!(
        proxied["url"],
        format!("https://sandbox.ci.example:8443{path}"),
        "{proxied}"
    );
    let odd = s
        .get(&path)
        .header("X-Forwarded-Host", "a\"b")
        .send()
        .expect(200)
        .json();
    assert_eq!(odd["url"], format!("https://planets.example.com{path}"), "{odd}");
    // A read that needs no credential sees what any credential wrote, with one or without.
    let path = format!("/planets/{}", mars["id"]);
    let anonymous = s.get(&path).send().expect(200);
    assert_eq!(common::conforms(&s, "getPlanet", &anonymous)["name"], "Mars");
    assert_eq!(s.get(&path).bearer("bob").send().expect(200).json()["name"], "Mars");
    // Writes still need one.
    s.post("/planets").json(&json!({"name": "Pluto"})).send().expect(401);
    // The request stays its caller's: one idempotency key used by two credentials is two creates,
    // and the journal names each credential.
    let keyed = |token: &str, name: &str| {
        s.post("/planets")
            .bearer(token)
            .header("Idempotency-Key", "same-key")
            .json(&json!({"name": name}))
            .send()
            .expect(201)
            .json()
    };
    let (a, b) = (keyed("alice", "Ceres"), keyed("bob", "Eris"));
    assert_eq!((&a["name"], &b["name"]), (&json!("Ceres"), &json!("Eris")));
    let tenants = journal_tenants(&s, "createPlanet");
    assert!(
        tenants.iter().any(|t| t == "alice") && tenants.iter().any(|t| t == "bob"),
        "{tenants:?}"
    );
    // The list pages in its `meta` object; `meta.links` holds no page count and is left out.
    let first = s.get("/planets?limit=1").send().expect(200);
    let first = common::conforms(&s, "listPlanets", &first);
    assert_eq!(first["data"].as_array().map(Vec::len), Some(1), "{first}");
    assert_eq!(first["meta"], json!({"limit": 1, "offset": 0, "total": 4}), "{first}");
    let second = s.get("/planets?limit=1&offset=1").send().expect(200).json();
    assert_eq!(second["meta"], json!({"limit": 1, "offset": 1, "total": 4}), "{second}");
    assert_eq!(second["data"][0]["name"], "Venus", "{second}");
}

#[test]
fn an_error_schema_that_accepts_any_body_gets_a_problem_object_not_a_bare_string() {
    let s = Server::start(&[PLANETS], &["--fixtures", "none"]);
    let missing = s.get("/planets/999").send().expect(404);
    let body = common::conforms(&s, "getPlanet", &missing);
    assert_eq!(
        (&body["status"], &body["title"], &body["code"]),
        (&json!(404), &json!("Not Found"), &json!("not_found")),
        "{body}"
    );
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("999")), "{body}");
    let bad = s
        .post("/planets")
        .bearer("alice")
        .json(&json!({"name": 7}))
        .send()
        .expect(400);
    let body = common::conforms(&s, "createPlanet", &bad);
    assert_eq!(body["errors"][0]["field"], "name", "{body}");
    assert_eq!(body["status"], 400, "{body}");
    // A 404 documented with no content has none; the note says why.
    let gone = s.delete("/planets/999").bearer("alice").send().expect(404);
    assert_eq!(gone.body.len(), 0, "{}", gone.text());
    let note = gone.header("x-specbox-note").unwrap_or_default().to_string();
    assert!(note.contains("999"), "{note:?}");
}

const VOICES: &str = "tests/specs/realworld/voices.yaml";

/// A `multipart/form-data` body: text fields, then a file part.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str)>) -> Vec<u8> {
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--BoUnD\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    if let Some((name, file)) = file {
        body.push_str(&format!(
            "--BoUnD\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: audio/wav\r\n\r\nRIFF....WAVE\r\n"
        ));
    }
    body.push_str("--BoUnD--\r\n");
    body.into_bytes()
}

#[test]
fn a_multipart_create_keeps_its_fields_and_stamps_unix_time_where_the_schema_says_integer() {
    let s = Server::start(&[VOICES], &["--fixtures", "none"]);
    let post = |boundary: &str, body: &[u8]| {
        s.post("/v1/consents")
            .bearer("k")
            .raw(&format!("multipart/form-data; boundary={boundary}"), body)
            .send()
    };
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = multipart(
        &[
            ("name", "My voice"),
            ("language", "de-CH"),
            ("tags", r#"["a","b"]"#),
            ("attempts", "3"),
        ],
        Some(("recording", "consent.wav")),
    );
    let made = post("BoUnD", &body).expect(200);
    let consent = common::conforms(&s, "createConsent", &made);
    assert_eq!(
        (
            &consent["name"],
            &consent["language"],
            &consent["tags"],
            &consent["attempts"]
        ),
        (&json!("My voice"), &json!("de-CH"), &json!(["a", "b"]), &json!(3)),
        "{consent}"
    );
    // `created_at` is an integer of Unix seconds, of now.
    let at = consent["created_at"].as_u64().expect("Unix seconds");
    assert!(at >= before && at < before + 3600, "{consent}");
    let id = consent["id"].as_str().unwrap();
    assert_ne!(id, "cons_1234", "a new key, not the example's");
    let read = s.get(&format!("/v1/consents/{id}")).bearer("k").send().expect(200);
    assert_eq!(common::conforms(&s, "getConsent", &read), consent);
    // The parts are validated: a missing file is named; a body without the boundary is refused.
    let no_file = multipart(&[("name", "x"), ("language", "en")], None);
    let bad = post("BoUnD", &no_file).expect(400);
    assert_eq!(
        common::conforms(&s, "createConsent", &bad)["error"]["param"],
        "recording"
    );
    post("Other", &body).expect(400);
    // A required `param` that may be null is null where nothing is at fault.
    let missing = s.get("/v1/consents/cons_nope").bearer("k").send().expect(404);
    let error = common::conforms(&s, "getConsent", &missing);
    assert_eq!(error["error"]["param"], Value::Null, "{error}");
}

#[test]
fn an_answer_that_wraps_the_item_beside_required_fields_answers_them_too() {
    let s = Server::start(&[VOICES], &["--fixtures", "none"]);
    let made = s
        .post("/v1/projects/p1/roles")
        .bearer("k")
        .json(&json!({"role_id": "owner"}))
        .send()
        .expect(200);
    let answer = common::conforms(&s, "assignRole", &made);
    assert_eq!(answer["object"], "project.role", "{answer}");
    assert!(answer["project"]["id"].is_string(), "{answer}");
    let role = &answer["role"];
    let read = s
        .get(&format!("/v1/projects/p1/roles/{}", role["id"].as_str().unwrap()))
        .bearer("k")
        .send()
        .expect(200);
    assert_eq!(&common::conforms(&s, "getRole", &read), role);
}

#[test]
fn an_item_of_several_shapes_is_keyed_enveloped_and_typed_through_them() {
    let s = Server::start(&[VOICES], &["--fixtures", "none"]);
    let create = |body: Value| {
        let made = s.post("/v1/memberships").bearer("k").json(&body).send().expect(201);
        common::conforms(&s, "createMembership", &made)["data"].clone()
    };
    let one = create(json!({"data": {"member": "u1", "parent": "g1", "access_level": "bogus"}}));
    let gid = one["gid"].as_str().unwrap().to_string();
    assert_ne!(gid, "12345", "a new key, not the example's: {one}");
    // A gid sent where the answer holds an object, and a level no shape lists, are not stored.
    assert!(one["member"].is_object() && one["access_level"] != "bogus", "{one}");
    let read = s.get(&format!("/v1/memberships/{gid}")).bearer("k").send().expect(200);
    assert_eq!(common::conforms(&s, "getMembership", &read)["data"], one);
    let two = create(json!({"data": {"member": "u2", "parent": "g1", "access_level": "viewer"}}));
    assert_eq!(two["access_level"], "viewer", "{two}");
    assert_ne!(two["gid"], one["gid"]);
}

const REPOS: &str = "tests/specs/realworld/repos.yaml";

#[test]
fn answers_that_are_no_stored_item_come_from_the_spec_and_stored_fields_keep_their_shape() {
    let s = Server::start(&[REPOS], &["--fixtures", "none"]);
    // A create that answers a list of items keeps no one item: the spec's answer.
    let added = s
        .post("/user/emails")
        .json(&json!({"emails": ["a@example.com"]}))
        .send()
        .expect(201);
    assert!(common::conforms(&s, "addEmails", &added).is_array());
    // A list of names beside a read of objects lists no stored objects.
    let names = s.get("/templates").send().expect(200);
    assert_eq!(common::conforms(&s, "listTemplates", &names), json!(["C", "Rust"]));
    // The path's `{owner}` is no value for the fork's `owner`, which holds a user.
    let fork = s.post("/repos/octocat/Hello-World/forks").send().expect(202);
    let fork = common::conforms(&s, "createFork", &fork);
    assert!(fork["owner"].is_object(), "{fork}");
    assert!(
        fork["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("http://{}/", s.addr))),
        "{fork}"
    );
    // A request's default (`""`) that the answer's `format: uri` refuses: the example's URL stands.
    let status = s
        .post("/repos/octocat/Hello-World/statuses")
        .json(&json!({"state": "pending"}))
        .send()
        .expect(201);
    let status = common::conforms(&s, "createStatus", &status);
    assert_eq!(
        (&status["state"], &status["target_url"]),
        (&json!("pending"), &json!("https://ci.example/builds/1")),
        "{status}"
    );
}

#[test]
fn an_example_that_leaves_out_required_fields_is_answered_with_them() {
    let s = Server::start(&[REPOS], &["--fixtures", "none"]);
    let info = s.get("/dnd.info").send().expect(200);
    let info = common::conforms(&s, "dndInfo", &info);
    assert_eq!(info["ok"], true, "{info}");
    assert!(
        info["dnd_enabled"].is_boolean() && info["next_dnd_start_ts"].is_i64(),
        "{info}"
    );
}

#[test]
fn a_query_in_a_path_key_tells_operations_on_one_path_apart() {
    let s = Server::start(&["tests/specs/realworld/dispatch.yaml"], &["--fixtures", "none"]);
    let reply = |path: &str, operation_id: &str| {
        let r = s.post(path).json(&json!({"text": "hi"})).send().expect(200);
        common::conforms(&s, operation_id, &r)["object"].clone()
    };
    assert_eq!(reply("/replies", "createReply"), "reply");
    assert_eq!(reply("/replies?beta=true", "betaCreateReply"), "beta.reply");
    assert_eq!(
        reply("/replies?stream=false&beta=true", "betaCreateReply"),
        "beta.reply"
    );
    assert_eq!(reply("/replies?beta=false", "createReply"), "reply");
    // Both versions are one resource: what the beta create made, either read finds.
    let made = s
        .post("/replies?beta=true")
        .json(&json!({"text": "kept"}))
        .send()
        .expect(200)
        .json();
    let id = made["id"].as_str().unwrap();
    assert_ne!(id, "r_1", "{made}");
    for (path, operation_id) in [
        (format!("/replies/{id}"), "getReply"),
        (format!("/replies/{id}?beta=true"), "betaGetReply"),
    ] {
        let got = common::conforms(&s, operation_id, &s.get(&path).send().expect(200));
        assert_eq!(
            (&got["id"], &got["text"]),
            (&made["id"], &json!("kept")),
            "{path}: {got}"
        );
    }
    // The journal names the operation that answered.
    assert_eq!(journal_tenants(&s, "betaCreateReply").len(), 3);
    // A path whose only route carries a query takes the request without it too.
    let compact = s.post("/replies/compact").send().expect(200).json();
    assert_eq!(compact["compacted"], 3);
    // One path, an operation per value of one parameter.
    assert_eq!(s.get("/?Action=CountThings").send().expect(200).json()["count"], 2);
    let things = s.get("/?Version=2&Action=DescribeThings").send().expect(200).json();
    assert_eq!(things["things"], json!(["a", "b"]));
    s.get("/?Action=DeleteEverything").send().expect(404);
    s.get("/").send().expect(404);
}

#[test]
fn a_parameter_example_kept_once_still_names_the_parent_of_the_example_items() {
    let s = Server::start(&["tests/specs/realworld/accounts.yaml"], &["--fixtures", "none"]);
    let listed = s.get("/accounts/AC123/calls").send().expect(200).json();
    let sids: Vec<&str> = listed["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["sid"].as_str())
        .collect();
    assert_eq!(sids, ["CA1", "CA2"], "{listed}");
}

const KEYED: &str = "tests/specs/realworld/keyed_pages.yaml";

#[test]
fn a_list_pages_from_an_items_key_and_names_the_keys_at_its_ends() {
    let s = Server::start(&[KEYED], &["--fixtures", "none"]);
    // Creates one item at `path` per body; their keys.
    let create = |path: &str, bodies: Vec<Value>| -> Vec<String> {
        bodies
            .iter()
            .map(|b| {
                s.post(path).json(b).send().expect(200).json()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let created = create(
        "/v1/customers",
        (0..5).map(|i| json!({"name": format!("c{i}")})).collect(),
    );

    // A client pages with the last item's key until there is no more.
    let (mut seen, mut after) = (Vec::new(), None::<String>);
    for _ in 0..created.len() {
        let url = match &after {
            Some(a) => format!("/v1/customers?limit=2&starting_after={a}"),
            None => "/v1/customers?limit=2".to_string(),
        };
        let page = common::conforms(&s, "listCustomers", &s.get(&url).send().expect(200));
        seen.extend(common::ids(&page));
        if page["has_more"] != true {
            break;
        }
        after = seen.last().cloned();
    }
    assert_eq!(seen, created);
    // New keys look like the key's example: its prefix, then something unique.
    assert!(
        created.iter().all(|k| k.starts_with("cus_") && k.len() > 20),
        "{created:?}"
    );
    // `ending_before` an item: the page just before it.
    let back = s
        .get(&format!("/v1/customers?limit=2&ending_before={}", created[3]))
        .send()
        .expect(200)
        .json();
    assert_eq!(common::ids(&back), created[1..3]);
    // A key that names no item is the client's mistake, named.
    let bad = s.get("/v1/customers?starting_after=cus_gone").send().expect(400);
    assert!(bad.text().contains("starting_after"), "{}", bad.text());

    // An empty page has no ends: its required `first_id` and `last_id` still answer (as the
    // example shows them), and its optional cursor is left out, not the example's, which a client
    // paging until no cursor comes would send back.
    let empty = common::conforms(&s, "listFiles", &s.get("/v1/files").send().expect(200));
    assert_eq!(
        (&empty["first_id"], &empty["last_id"]),
        (&json!("file-a1b2c3"), &json!("file-d4e5f6"))
    );
    assert!(empty.get("next_cursor").is_none(), "{empty}");
    // `first_id` and `last_id` name the page's ends, and `after=<last_id>` goes on from there.
    let files = create(
        "/v1/files",
        (0..3).map(|i| json!({"filename": format!("f{i}.jsonl")})).collect(),
    );
    // Shown only by the create's example (`file-abc123`), the look is the same.
    assert!(
        files.iter().all(|k| k.starts_with("file-") && k.len() > 20),
        "{files:?}"
    );
    let first = common::conforms(&s, "listFiles", &s.get("/v1/files?limit=2").send().expect(200));
    assert_eq!(common::ids(&first), files[..2]);
    assert_eq!(first["first_id"], files[0].as_str());
    assert_eq!(first["last_id"], files[1].as_str());
    assert_eq!(first["has_more"], true);
    let next = s
        .get(&format!(
            "/v1/files?limit=2&after={}",
            first["last_id"].as_str().unwrap()
        ))
        .send()
        .expect(200);
    let next = common::conforms(&s, "listFiles", &next);
    assert_eq!(common::ids(&next), files[2..]);
    assert_eq!(
        (&next["first_id"], &next["last_id"]),
        (&json!(files[2]), &json!(files[2]))
    );
    assert_eq!(next["has_more"], false);

    // Keys that are numbers are named as text where the envelope's schema says so, and such a
    // name is a cursor too.
    let batches: Vec<Value> = (0..3)
        .map(|_| {
            s.post("/v1/batches")
                .json(&json!({"label": "b"}))
                .send()
                .expect(201)
                .json()["id"]
                .clone()
        })
        .collect();
    assert!(batches.iter().all(Value::is_u64), "{batches:?}");
    let page = common::conforms(&s, "listBatches", &s.get("/v1/batches").send().expect(200));
    assert_eq!(page["last_id"], json!(batches[2].to_string()));
    let after_first = s
        .get(&format!("/v1/batches?after={}", page["first_id"].as_str().unwrap()))
        .send()
        .expect(200)
        .json();
    assert_eq!(after_first["data"].as_array().unwrap().len(), 2, "{after_first}");
}

const FORMS: &str = "tests/specs/realworld/forms.yaml";

fn form_post(s: &Server, path: &str, body: &str) -> Response {
    s.post(path)
        .header("Authorization", "Basic c2tfdGVzdF8xOg==")
        .raw("application/x-www-form-urlencoded", body.as_bytes())
        .send()
}

/// With no example to show them, what the server sets on a new item is what the schema must
/// have: no invented discount or preferences, and metadata and items not sent are empty.
#[test]
fn a_new_item_of_a_spec_without_examples_invents_nothing_optional() {
    let s = Server::start(&[FORMS], &["--fixtures", "none"]);
    let plain = form_post(&s, "/v1/customers", "email=bo%40example.test").expect(200);
    let plain = common::conforms(&s, "PostCustomers", &plain);
    assert_eq!(
        (&plain["discount"], &plain["preferences"], &plain["metadata"]),
        (&Value::Null, &json!({}), &json!({})),
        "{plain}"
    );
    assert_eq!(plain["items"], json!([]), "{plain}");
    assert!(plain["delinquent"].is_boolean(), "{plain}");
    assert_eq!(plain["email"], "bo@example.test");
}

#[test]
fn bracketed_form_names_nest_and_a_post_to_an_item_updates_it() {
    let s = Server::start(&[FORMS], &["--fixtures", "none"]);
    let body = "email=ann%40example.test&balance=12&metadata[plan]=pro&metadata[seats]=3\
                &items[0][price]=price_1&items[0][quantity]=2&items[1][price]=price_2&expand[]=items";
    let made = common::conforms(&s, "PostCustomers", &form_post(&s, "/v1/customers", body).expect(200));
    assert_eq!(made["email"], "ann@example.test");
    assert_eq!(made["balance"], 12, "typed by the schema: {made}");
    assert_eq!(made["metadata"], json!({"plan": "pro", "seats": "3"}));
    assert_eq!(
        made["items"],
        json!([{"price": "price_1", "quantity": 2}, {"price": "price_2"}])
    );
    // A name the body does not declare is still refused, bracketed or not.
    form_post(&s, "/v1/customers", "nickname[x]=1").expect(400);

    // A POST to the item updates it, and a read returns the update.
    let id = made["id"].as_str().unwrap();
    let path = format!("/v1/customers/{id}");
    let updated = form_post(&s, &path, "name=Ann%20B&metadata[plan]=team").expect(200);
    let updated = common::conforms(&s, "PostCustomersCustomer", &updated);
    assert_eq!(updated["name"], "Ann B");
    let read = s
        .get(&path)
        .header("Authorization", "Basic c2tfdGVzdF8xOg==")
        .send()
        .expect(200)
        .json();
    assert_eq!(read["name"], "Ann B");
    assert_eq!(read["email"], "ann@example.test", "kept from the create: {read}");
    // A free-form map is merged into, as a JSON merge patch does: `seats` stays.
    assert_eq!(read["metadata"], json!({"plan": "team", "seats": "3"}), "{read}");
    assert_eq!(read["balance"], 12);

    // A list filters by a field, and by a range sent as a `deepObject` (`created[gte]=...`).
    form_post(&s, "/v1/customers", "name=Other").expect(200);
    let list = |query: &str| {
        let r = s
            .get(&format!("/v1/customers?{query}"))
            .header("Authorization", "Basic c2tfdGVzdF8xOg==")
            .send();
        let page = common::conforms(&s, "GetCustomers", &r.expect(200));
        page["data"].as_array().unwrap().len()
    };
    let created = read["created"].as_i64().unwrap();
    assert_eq!(list("email=ann%40example.test"), 1);
    assert_eq!(list(&format!("created[gte]={created}")), 2);
    assert_eq!(list(&format!("created%5Blt%5D={created}")), 0);
    assert_eq!(
        list(&format!("created[gt]={}&created[lte]={}", created - 1, created + 3600)),
        2
    );
    let bad = s
        .get("/v1/customers?created[gte]=soon")
        .header("Authorization", "Basic c2tfdGVzdF8xOg==")
        .send()
        .expect(400);
    assert!(bad.text().contains("created"), "{}", bad.text());

    // A delete that answers a status object names the item it removed.
    let gone = s
        .delete(&path)
        .header("Authorization", "Basic c2tfdGVzdF8xOg==")
        .send()
        .expect(200);
    let gone = common::conforms(&s, "DeleteCustomersCustomer", &gone);
    assert_eq!((&gone["id"], &gone["deleted"]), (&json!(id), &json!(true)));
}

#[test]
fn a_published_form_api_updates_an_item_by_a_post_to_its_path() {
    // Twilio's 2010 API updates an account with `POST /Accounts/{Sid}.json`, its fields sent in
    // the request's naming style (`FriendlyName`) and stored in the answer's (`friendly_name`).
    let s = Server::start(&["tests/corpus/twilio/twilio_api_v2010.json"], &["--fixtures", "none"]);
    let auth = ("Authorization", "Basic QUN0ZXN0OnRva2Vu");
    let send = |path: &str, body: &str| {
        s.post(path)
            .header(auth.0, auth.1)
            .raw("application/x-www-form-urlencoded", body.as_bytes())
            .send()
    };
    let made = send("/2010-04-01/Accounts.json", "FriendlyName=First").json();
    let sid = made["sid"].as_str().unwrap();
    let path = format!("/2010-04-01/Accounts/{sid}.json");
    let updated = send(&path, "FriendlyName=Second&Status=suspended").expect(200);
    common::conforms(&s, "UpdateAccount", &updated);
    let read = s.get(&path).header(auth.0, auth.1).send().expect(200).json();
    assert_eq!(
        (&read["friendly_name"], &read["status"]),
        (&json!("Second"), &json!("suspended"))
    );
    assert_eq!(read["sid"], sid);
    // Its `date_created` and `date_updated` (`format: date-time-rfc-2822`) are the server's
    // clock in RFC 2822, not the example's 2015 date.
    let example = "Thu, 30 Jul 2015 20:00:00 +0000";
    for field in ["date_created", "date_updated"] {
        let date = read[field].as_str().unwrap();
        let shaped = date.len() == example.len() && date.ends_with(" +0000") && date.as_bytes()[3] == b',';
        assert!(shaped && date != example, "{field}: {date}");
    }
    assert_eq!(made["date_created"], read["date_created"]);
}

#[test]
fn a_list_answers_the_members_its_example_shows_beyond_its_schema_where_the_schema_leaves_them_free() {
    let s = Server::start(
        &["tests/specs/realworld/undeclared_paging.yaml"],
        &["--fixtures", "none"],
    );
    let page = common::conforms(&s, "listIncidents", &s.get("/incidents?limit=1").send().expect(200));
    assert_eq!(
        page["incidents"],
        json!([{"id": "INC1", "title": "Disk full"}]),
        "{page}"
    );
    // Counted from the page, not copied from the example.
    assert_eq!(page["limit"], 1, "{page}");
    assert_eq!(page["offset"], 0, "{page}");
    assert_eq!(page["total"], 2, "{page}");
    assert_eq!(page["more"], true, "{page}");
    // What pages nothing, as the example shows it.
    assert_eq!(page["provider"], "pager", "{page}");
    let next = s.get("/incidents?limit=1&offset=1").send().expect(200).json();
    assert_eq!((&next["offset"], &next["more"]), (&json!(1), &json!(false)), "{next}");

    // A schema that allows no other member gets none.
    let notes = common::conforms(&s, "listNotes", &s.get("/notes").send().expect(200));
    assert_eq!(notes, json!({"notes": [{"id": "N1", "text": "hello"}]}));
    // A paging name of a type the page cannot give answers as the example shows it.
    let locks = common::conforms(&s, "listLocks", &s.get("/locks").send().expect(200));
    assert_eq!(locks, json!({"entries": [{"id": "L1"}], "limit": "1000"}));
    // The example's own cursors are no cursors of this list; a page size no parameter sets is the
    // example's.
    let alerts = common::conforms(&s, "listAlerts", &s.get("/alerts?limit=5").send().expect(200));
    assert_eq!(alerts, json!({"alerts": [{"id": "A1"}], "limit": 5}));
    let events = common::conforms(&s, "listEvents", &s.get("/events").send().expect(200));
    assert_eq!(events, json!({"events": [{"id": "E1"}], "limit": 25}));
}

#[test]
fn a_post_that_sends_and_answers_the_collections_list_is_a_batch_answered_from_the_spec() {
    let s = Server::start(&["tests/specs/realworld/batches.yaml"], &["--fixtures", "none"]);
    let before = common::conforms(&s, "getWidgets", &s.get("/Widgets").send().expect(200));
    let sent = json!({"Widgets": [{"Name": "Cog"}, {"Name": "Wheel"}]});
    let answer = common::conforms(
        &s,
        "updateOrCreateWidgets",
        &s.post("/Widgets").json(&sent).send().expect(200),
    );
    assert_eq!(answer["Id"], "7c4d7a7e-5b86-4d1b-9c55-2f7e1f1f0a10", "{answer}");
    assert_eq!(answer["Widgets"][0]["Name"], "Gear", "{answer}");
    // Nothing was stored: the list is as it was, with no wrapper among its items.
    let after = common::conforms(&s, "getWidgets", &s.get("/Widgets").send().expect(200));
    assert_eq!(after["Widgets"], before["Widgets"], "{after}");
    let routes = s.get("/__specbox/routes").send().expect(200).json();
    let post = routes
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["operationId"] == "updateOrCreateWidgets")
        .unwrap();
    assert_eq!(post["action"], "example", "{post}");
}

#[test]
fn a_create_carries_its_examples_fields_beyond_its_schema_names_itself_in_nested_links_and_stamps_its_time() {
    let s = Server::start(&["tests/specs/realworld/sessions.yaml"], &["--fixtures", "none"]);
    let made = s.post("/sessions").json(&json!({"amount": "5.00"})).send().expect(201);
    let made = common::conforms(&s, "createSession", &made);
    assert_eq!(made["amount"], "5.00", "{made}");
    assert_eq!(made["expiresAt"], "2024-01-01T00:00:00Z", "{made}");
    assert_eq!(made["mode"], "live", "{made}");
    assert_ne!(made["id"], "sess_8Jx2", "{made}");
    let id = made["id"].as_str().unwrap();
    assert_eq!(
        made["_links"]["self"]["href"],
        format!("http://{}/sessions/{id}", s.addr),
        "{made}"
    );
    assert_ne!(made["createdAt"], "2024-03-20T09:13:37+00:00", "{made}");
    assert!(made["createdAt"].as_str().unwrap().starts_with("20"), "{made}");
    let sent = json!({"amount": "6.00", "expiresAt": "2030-05-01T12:00:00Z"});
    let made = s.post("/sessions").json(&sent).send().expect(201).json();
    assert_eq!(made["expiresAt"], "2030-05-01T12:00:00Z", "{made}");
    let read = s
        .get(&format!("/sessions/{}", made["id"].as_str().unwrap()))
        .send()
        .expect(200);
    assert_eq!(
        common::conforms(&s, "getSession", &read)["expiresAt"],
        "2030-05-01T12:00:00Z"
    );
}

#[test]
fn a_generated_create_answer_fills_an_object_built_with_all_of_and_empties_only_free_maps() {
    let s = Server::start(&["tests/specs/realworld/playlists.yaml"], &["--fixtures", "none"]);
    let made = s
        .post("/playlists")
        .json(&json!({"name": "Road trip"}))
        .send()
        .expect(201);
    let made = common::conforms(&s, "createPlaylist", &made);
    assert!(made["tracks"]["href"].is_string(), "{made}");
    assert_eq!(made["metadata"], json!({}), "{made}");
}

#[test]
fn a_wrapper_with_pagination_and_a_problem_beside_the_item_is_an_envelope() {
    let s = Server::start(&["tests/specs/realworld/leaves.yaml"], &["--fixtures", "none"]);
    let sent = json!({"employeeID": "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "days": 2});
    let made = common::conforms(
        &s,
        "createSickLeave",
        &s.post("/Leaves/Sick").json(&sent).send().expect(200),
    );
    let leave = &made["statutorySickLeave"];
    assert_eq!(
        (&leave["employeeID"], &leave["days"]),
        (&sent["employeeID"], &json!(2)),
        "{made}"
    );
    let id = leave["sickLeaveID"].as_str().unwrap();
    assert_ne!(id, "a2b5a1fb-ae21-47b4-876d-0b61fa6b37ab", "{made}");
    let read = s.get(&format!("/Leaves/Sick/{id}")).send().expect(200);
    let read = common::conforms(&s, "getSickLeave", &read);
    assert_eq!(read["statutorySickLeave"], *leave, "{read}");
}
