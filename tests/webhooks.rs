//! Webhooks and callbacks, seen from a receiver: a real HTTP listener on an ephemeral port that
//! records what specbox sends it. Nothing sleeps: tests poll `GET /__specbox/deliveries` (or the
//! receiver) with a bound.

use crate::common;

use common::Server;
use common::receiver::Receiver;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::time::{Duration, Instant};

const SHOP: &str = "tests/specs/webhooks/shop.yaml";

/// The deliveries matching `query` once `done` holds for them (polled, up to 20 s).
fn deliveries_when(s: &Server, query: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = s
            .get(&format!("/__specbox/deliveries?{query}"))
            .send()
            .expect(200)
            .json();
        let list = body["deliveries"].as_array().cloned().unwrap_or_default();
        if done(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "deliveries never settled: {list:#?}");
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

fn subscribe(s: &Server, body: Value) -> String {
    let r = s.post("/__specbox/webhooks").json(&body).send().expect(201).json();
    r["id"].as_str().unwrap().to_string()
}

#[test]
fn a_create_fires_the_webhook_named_after_its_resource_with_the_object_in_place() {
    let rx = Receiver::start(0);
    let s = Server::start(&[SHOP], &["--webhook-url", &rx.url("/all")]);
    let created = s
        .post("/accountHolders")
        .json(&json!({"name": "Ann", "country": "CH"}))
        .send()
        .expect(201)
        .json();
    let got = rx.wait_for(1);
    let hook = &got[0];
    assert_eq!(hook.target, "/all");
    assert_eq!(
        hook.header("x-specbox-event"),
        Some("balancePlatform.accountHolder.created")
    );
    let body = hook.json();
    assert_eq!(body["data"]["accountHolder"], created, "{body}");
    assert_eq!(body["type"], "balancePlatform.accountHolder.created");
    assert!(body["id"].as_str().unwrap().starts_with("evt_"), "{body}");
    assert_ne!(body["createdAt"], "2020-01-01T00:00:00Z");

    // update and delete too, in order, and the log says each validated.
    let id = created["id"].as_str().unwrap();
    s.patch(&format!("/accountHolders/{id}"))
        .json(&json!({"name": "Ann", "country": "DE"}))
        .send()
        .expect(200);
    s.delete(&format!("/accountHolders/{id}")).send().expect(204);
    let got = rx.wait_for(3);
    let events: Vec<&str> = got.iter().map(|r| r.header("x-specbox-event").unwrap()).collect();
    assert_eq!(
        events,
        [
            "balancePlatform.accountHolder.created",
            "balancePlatform.accountHolder.updated",
            "balancePlatform.accountHolder.deleted"
        ]
    );
    assert_eq!(got[1].json()["data"]["accountHolder"]["country"], "DE");
    assert_eq!(got[2].json()["data"]["accountHolder"]["id"], id);
    let list = deliveries_when(&s, "status=delivered", |l| l.len() == 3);
    assert!(list.iter().all(|d| d["violations"] == json!([])), "{list:#?}");
    // A refused request fires nothing.
    s.post("/accountHolders")
        .json(&json!({"country": "x"}))
        .send()
        .expect(400);
    let journal = s.get("/__specbox/requests").send().expect(200).json();
    let sent: Vec<&Value> = journal["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["webhook"].is_string())
        .collect();
    assert_eq!(sent.len(), 3, "deliveries are in the journal: {journal:#}");
    assert_eq!(rx.got.lock().unwrap().len(), 3);
}

#[test]
fn a_declared_event_fires_on_its_collection_and_filters_by_name_and_tenant() {
    let rx = Receiver::start(0);
    let s = Server::start(&[SHOP], &[]);
    subscribe(&s, json!({"url": rx.url("/invoices"), "events": ["invoiceReady"]}));
    subscribe(
        &s,
        json!({"url": rx.url("/other-tenant"), "events": ["*"], "tenant": "someone-else"}),
    );
    subscribe(&s, json!({"url": rx.url("/holders"), "events": ["balancePlatform.*"]}));
    let listed = s.get("/__specbox/webhooks").send().expect(200).json();
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 3);

    let invoice = s
        .post("/invoices")
        .json(&json!({"amount": 500}))
        .send()
        .expect(201)
        .json();
    s.post("/accountHolders")
        .json(&json!({"name": "Bo"}))
        .send()
        .expect(201);
    let got = rx.wait_for(2);
    let mut targets: Vec<&str> = got.iter().map(|r| r.target.as_str()).collect();
    targets.sort();
    assert_eq!(targets, ["/holders", "/invoices"]);
    let inv = got.iter().find(|r| r.target == "/invoices").unwrap().json();
    assert_eq!(inv["invoice"], invoice);
    assert!(inv["occurredAt"].as_u64().unwrap() > 1_700_000_000, "{inv}");
    assert!(inv["eventId"].as_str().unwrap().starts_with("evt_"));
    let list = deliveries_when(&s, "event=invoiceReady", |l| {
        l.len() == 1 && l[0]["state"] == "delivered"
    });
    assert_eq!(list[0]["payload"], inv);
    // The other tenant's subscription heard nothing; it hears its own tenant's events.
    assert!(deliveries_when(&s, "tenant=someone-else", |_| true).is_empty());
    s.post("/__specbox/events")
        .json(&json!({"event": "invoiceReady", "tenant": "someone-else"}))
        .send()
        .expect(202);
    // Heard by the tenant's own subscription and by the one for every tenant.
    let list = deliveries_when(&s, "tenant=someone-else", |l| {
        l.len() == 2 && l.iter().all(|d| d["state"] == "delivered")
    });
    let mut urls: Vec<&str> = list.iter().map(|d| d["url"].as_str().unwrap()).collect();
    urls.sort();
    assert!(
        urls[0].ends_with("/invoices") && urls[1].ends_with("/other-tenant"),
        "{urls:?}"
    );
    // Removed: hears nothing more.
    let id = subscribe(&s, json!({"url": rx.url("/gone")}));
    s.delete(&format!("/__specbox/webhooks/{id}")).send().expect(204);
    s.delete(&format!("/__specbox/webhooks/{id}")).send().expect(404);
}

#[test]
fn a_callback_resolves_its_runtime_expressions_after_the_response() {
    let rx = Receiver::start(0);
    let s = Server::start(&[SHOP], &[]);
    let r = s
        .post("/subscriptions?channel=c1")
        .json(&json!({"callbackUrl": rx.url("/cb")}))
        .send()
        .expect(201)
        .json();
    assert_eq!(r["id"], "sub_42");
    let got = rx.wait_for(1);
    assert_eq!(got[0].target, "/cb/sub_42?channel=c1&via=POST");
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].json()["message"], "new data");
    let list = deliveries_when(&s, "kind=callback", |l| l.len() == 1 && l[0]["state"] == "delivered");
    assert_eq!(list[0]["event"], "onData");
}

#[test]
fn a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt_and_order_is_kept() {
    let rx = Receiver::start(2);
    let s = Server::start(&[SHOP], &["--webhook-retries", "3"]);
    subscribe(
        &s,
        json!({"url": rx.url("/flaky"), "events": ["balancePlatform.accountHolder.*"]}),
    );
    for name in ["first", "second", "third"] {
        s.post("/accountHolders")
            .json(&json!({"name": name}))
            .send()
            .expect(201);
    }
    let list = deliveries_when(&s, "", |l| l.len() == 3 && l.iter().all(|d| d["state"] == "delivered"));
    // Newest first: the first event took three attempts, the others one each.
    let attempts: Vec<u64> = list.iter().rev().map(|d| d["attempts"].as_u64().unwrap()).collect();
    assert_eq!(attempts, [3, 1, 1]);
    let got = rx.wait_for(5);
    let names: Vec<String> = got
        .iter()
        .map(|r| r.json()["data"]["accountHolder"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["first", "first", "first", "second", "third"]);
    // Each attempt is a journal entry with the receiver's answer.
    let journal = s.get("/__specbox/requests").send().expect(200).json();
    let statuses: Vec<u64> = journal["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["webhook"].is_string())
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 2, "{statuses:?}");
}

#[test]
fn a_refused_connection_is_retried_then_failed() {
    // A port that nobody listens on: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = Server::start(&[SHOP], &["--webhook-retries", "1"]);
    subscribe(&s, json!({"url": format!("http://127.0.0.1:{port}/nobody")}));
    s.post("/accountHolders").json(&json!({"name": "x"})).send().expect(201);
    let list = deliveries_when(&s, "status=failed", |l| l.len() == 1);
    assert_eq!(list[0]["attempts"], 2);
    assert!(list[0]["error"].as_str().unwrap().contains("onnect"), "{}", list[0]);
    assert_eq!(list[0]["status"], Value::Null);
}

#[test]
fn signatures_are_hmac_sha256_over_the_timestamp_and_body() {
    use hmac::{Hmac, Mac};
    let rx = Receiver::start(0);
    let s = Server::start(&[SHOP], &[]);
    subscribe(&s, json!({"url": rx.url("/signed"), "secret": "whsec_test"}));
    subscribe(&s, json!({"url": rx.url("/unsigned")}));
    s.post("/accountHolders")
        .json(&json!({"name": "Sig"}))
        .send()
        .expect(201);
    let got = rx.wait_for(2);
    let signed = got.iter().find(|r| r.target == "/signed").unwrap();
    let unsigned = got.iter().find(|r| r.target == "/unsigned").unwrap();
    assert_eq!(unsigned.header("shop-signature"), None);
    let header = signed.header("shop-signature").expect("signed");
    let (t, v1) = header.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"whsec_test").unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&signed.body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v1, expected);
}

#[test]
fn events_fire_on_demand_for_an_object_and_bad_requests_are_refused() {
    let rx = Receiver::start(0);
    let s = Server::start(&[SHOP], &[]);
    subscribe(
        &s,
        json!({"url": rx.url("/demand"), "events": ["balancePlatform.accountHolder.updated"]}),
    );
    let holder = s
        .post("/accountHolders")
        .bearer("tenant-a")
        .json(&json!({"name": "On demand"}))
        .send()
        .expect(201)
        .json();
    let id = holder["id"].as_str().unwrap();
    let tenant = deliveries_when(&s, "", |_| true);
    assert!(tenant.is_empty(), "the create event has no subscriber: {tenant:#?}");
    let tenant = s.get("/__specbox/requests?limit=1").send().expect(200).json()["requests"][0]["tenant"].clone();
    let r = s
        .post("/__specbox/events")
        .json(&json!({"event": "balancePlatform.accountHolder.updated", "collection": "/accountHolders", "id": id, "tenant": tenant}))
        .send()
        .expect(202)
        .json();
    assert_eq!(r["deliveries"].as_array().unwrap().len(), 1);
    let got = rx.wait_for(1);
    assert_eq!(got[0].json()["data"]["accountHolder"], holder);

    s.post("/__specbox/events")
        .json(&json!({"event": "nope"}))
        .send()
        .expect(404);
    s.post("/__specbox/events")
        .json(&json!({"event": "invoiceReady", "collection": "/accountHolders", "id": "missing"}))
        .send()
        .expect(404);
    s.post("/__specbox/webhooks")
        .json(&json!({"url": "ftp://x"}))
        .send()
        .expect(400);
    s.post("/__specbox/webhooks")
        .json(&json!({"events": ["*"]}))
        .send()
        .expect(400);
    s.get("/__specbox/deliveries?bogus=1").send().expect(400);
}

#[test]
fn adyen_notifications_fire_on_demand_with_valid_payloads() {
    let rx = Receiver::start(0);
    let s = Server::start(
        &[
            "tests/corpus/adyen/Webhooks-v1.json",
            "tests/corpus/adyen/CheckoutService-v71.json",
        ],
        &["--webhook-url", &rx.url("/adyen")],
    );
    let events = s.get("/__specbox/events").send().expect(200).json();
    let names: Vec<String> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() > 40, "{names:?}");
    for name in &names {
        s.post("/__specbox/events")
            .json(&json!({"event": name}))
            .send()
            .expect(202);
    }
    let list = deliveries_when(&s, "", |l| {
        l.len() == names.len() && l.iter().all(|d| d["state"] == "delivered")
    });
    for d in &list {
        assert_eq!(d["violations"], json!([]), "{} does not validate: {:#}", d["event"], d);
    }
    let got = rx.wait_for(names.len());
    let capture = got
        .iter()
        .find(|r| r.header("x-specbox-event") == Some("CAPTURE"))
        .unwrap();
    assert_eq!(
        capture.json()["notificationItems"][0]["NotificationRequestItem"]["eventCode"],
        "CAPTURE"
    );
}

#[test]
fn oai_examples_webhook_and_callback_are_served() {
    let rx = Receiver::start(0);
    let s = Server::start(
        &["tests/corpus/oai/v3.1/webhook-example.yaml"],
        &["--webhook-url", &rx.url("/pets")],
    );
    s.post("/__specbox/events")
        .json(&json!({"event": "newPet"}))
        .send()
        .expect(202);
    let got = rx.wait_for(1);
    let pet = got[0].json();
    assert!(pet["name"].is_string() && pet["id"].is_i64(), "{pet}");

    let rx = Receiver::start(0);
    let s = Server::start(&["tests/corpus/oai/v3.0/callback-example.yaml"], &[]);
    s.post(&format!("/streams?callbackUrl={}", rx.url("/stream")))
        .send()
        .expect(201);
    let got = rx.wait_for(1);
    assert_eq!(got[0].target, "/stream/data");
}

#[test]
fn deliveries_are_recorded_in_the_har_and_subscriptions_survive_a_reload() {
    let dir = std::env::temp_dir().join(format!("specbox-webhooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("shop.yaml");
    let text = std::fs::read_to_string(common::root().join(SHOP)).unwrap();
    std::fs::write(&spec, &text).unwrap();
    let har = dir.join("session.har");
    let rx = Receiver::start(0);
    let s = Server::start(
        &[spec.to_str().unwrap()],
        &["--watch", "--record", har.to_str().unwrap()],
    );
    subscribe(&s, json!({"url": rx.url("/kept"), "events": ["balancePlatform.*"]}));
    // A reload (the file written whole, by rename) builds a new engine; the subscription stays.
    let edited = text.replace("title: Hooked shop", "title: Hooked shop again");
    let tmp = dir.join("shop.yaml.tmp");
    std::fs::write(&tmp, edited).unwrap();
    std::fs::rename(&tmp, &spec).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.get("/__specbox/reloads").send().expect(200).json()["reloads"]
        .as_array()
        .is_none_or(|r| r.is_empty())
    {
        assert!(Instant::now() < deadline, "no reload");
        std::thread::park_timeout(Duration::from_millis(20));
    }
    s.post("/accountHolders")
        .json(&json!({"name": "Kept"}))
        .send()
        .expect(201);
    deliveries_when(&s, "status=delivered", |l| l.len() == 1);
    rx.wait_for(1);
    assert!(s.terminate().success());
    let recorded: Value = serde_json::from_slice(&std::fs::read(&har).unwrap()).unwrap();
    let entries = recorded["log"]["entries"].as_array().unwrap();
    let hook = entries
        .iter()
        .find(|e| e["_webhook"] == "balancePlatform.accountHolder.created")
        .unwrap_or_else(|| panic!("no webhook in {recorded:#}"));
    assert_eq!(hook["request"]["url"], rx.url("/kept"));
    assert_eq!(hook["response"]["status"], 200);
    let _ = std::fs::remove_dir_all(&dir);
}
