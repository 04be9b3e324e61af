//! Lifecycles, the sandbox clock and outcomes, seen from a client and a webhook receiver (a real
//! HTTP listener on an ephemeral port). Nothing sleeps: tests poll with a bound.

use crate::common;

use common::Server;
use common::receiver::Receiver;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CHARGES: &str = "tests/specs/lifecycle/charges.yaml";
const CHECKOUT: &str = "tests/corpus/adyen/CheckoutService-v71.json";
const ADYEN_WEBHOOKS: &str = "tests/corpus/adyen/Webhooks-v1.json";

/// The deliveries of `event` once there are `n` delivered (polled, up to 20 s).
fn delivered(s: &Server, event: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = s
            .get(&format!("/__specbox/deliveries?event={event}"))
            .send()
            .expect(200)
            .json();
        let list: Vec<Value> = body["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d["state"] == "delivered")
            .collect();
        if list.len() >= n {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "{event}: {n} deliveries expected, got {body:#}"
        );
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

fn charge(s: &Server, body: Value) -> Value {
    s.post("/charges").json(&body).send().expect(201).json()
}

#[test]
fn the_clock_runs_due_transitions_in_order_and_fires_their_webhooks() {
    let rx = Receiver::start(0);
    let s = Server::start(&[CHARGES], &["--webhook-url", &rx.url("/hooks")]);
    let clock = s.get("/__specbox/clock").send().expect(200).json();
    assert_eq!(clock["ahead_ms"], 0);
    let a = charge(&s, json!({"amount": 100}));
    let b = charge(&s, json!({"amount": 200}));
    assert_eq!(a["status"], "pending");
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    // Not yet due: an hour has not passed.
    let moved = s
        .post("/__specbox/clock")
        .json(&json!({"advance": "30m"}))
        .send()
        .expect(200)
        .json();
    assert_eq!(moved["transitions"], json!([]));
    assert_eq!(
        s.get(&format!("/charges/{a_id}")).send().expect(200).json()["status"],
        "pending"
    );

    // Two days on: both succeed after an hour, then are paid out a day later, in that order.
    let moved = s
        .post("/__specbox/clock")
        .json(&json!({"advance": "2d"}))
        .send()
        .expect(200)
        .json();
    let steps: Vec<(String, String)> = moved["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["to"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (a_id.to_string(), "succeeded".to_string()),
            (b_id.to_string(), "succeeded".to_string()),
            (a_id.to_string(), "paid_out".to_string()),
            (b_id.to_string(), "paid_out".to_string()),
        ],
        "{moved:#}"
    );
    let now = s.get(&format!("/charges/{a_id}")).send().expect(200).json();
    assert_eq!(now["status"], "paid_out");
    // The item was written at the clock's time of the transition: a day and an hour on.
    let created = humantime::parse_rfc3339(now["created_at"].as_str().unwrap()).unwrap();
    let updated = humantime::parse_rfc3339(now["updated_at"].as_str().unwrap()).unwrap();
    assert_eq!(updated.duration_since(created).unwrap().as_secs(), 25 * 3600);
    // And what is written now carries the clock's time too.
    let c = charge(&s, json!({"amount": 300}));
    let c_created = humantime::parse_rfc3339(c["created_at"].as_str().unwrap()).unwrap();
    assert!(c_created.duration_since(created).unwrap() >= Duration::from_secs(2 * 86400 - 60));

    // Webhooks named after the states fire, each with the object as it moved, in order.
    delivered(&s, "charge.paid_out", 2);
    // A declared transition webhook fires too.
    let settled = delivered(&s, "settlement", 2);
    assert!(
        settled
            .iter()
            .all(|d| d["payload"]["data"]["object"]["status"] == "paid_out")
    );
    let got = rx.wait_for(3 + 2 + 2 + 2);
    let order: Vec<(String, String)> = got
        .iter()
        .filter(|r| {
            r.header("x-specbox-event")
                .is_some_and(|e| e.starts_with("charge.") && e != "charge.created")
        })
        .map(|r| {
            let v = r.json();
            (
                v["data"]["object"]["id"].as_str().unwrap_or("").to_string(),
                v["type"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            (a_id.to_string(), "charge.succeeded".to_string()),
            (b_id.to_string(), "charge.succeeded".to_string()),
            (a_id.to_string(), "charge.paid_out".to_string()),
            (b_id.to_string(), "charge.paid_out".to_string()),
        ]
    );
    s.post("/__specbox/clock")
        .json(&json!({"advance": "soon"}))
        .send()
        .expect(400);
}

#[test]
fn a_tenants_clock_moves_alone_and_its_events_carry_its_time() {
    let rx = Receiver::start(0);
    let s = Server::start(&[CHARGES], &["--webhook-url", &rx.url("/hooks")]);
    let mine = s
        .post("/charges")
        .header("X-Key", "alice")
        .json(&json!({"amount": 1}))
        .send()
        .expect(201)
        .json();
    let theirs = s
        .post("/charges")
        .header("X-Key", "bob")
        .json(&json!({"amount": 2}))
        .send()
        .expect(201)
        .json();
    let moved = s
        .post("/__specbox/clock")
        .json(&json!({"advance": "90m", "tenant": "alice"}))
        .send()
        .expect(200)
        .json();
    assert_eq!(moved["ahead_ms"], 90 * 60 * 1000);
    let ids: Vec<&Value> = moved["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(ids, vec![&mine["id"]], "{moved:#}");
    assert_eq!(
        s.get("/__specbox/clock?tenant=bob").send().expect(200).json()["ahead_ms"],
        0
    );
    let get = |key: &str, id: &Value| {
        s.get(&format!("/charges/{}", id.as_str().unwrap()))
            .header("X-Key", key)
            .send()
            .expect(200)
            .json()
    };
    assert_eq!(get("alice", &mine["id"])["status"], "succeeded");
    assert_eq!(get("bob", &theirs["id"])["status"], "pending");

    // The event says when it happened on alice's clock: an hour after the charge was made.
    let succeeded = delivered(&s, "charge.succeeded", 1);
    let created = humantime::parse_rfc3339(mine["created_at"].as_str().unwrap()).unwrap();
    let created = created.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let at = succeeded[0]["payload"]["created"].as_u64().unwrap();
    assert!((created + 3600..created + 3602).contains(&at), "{at} vs {created}");
}

#[test]
fn timed_transitions_run_by_themselves_in_real_time() {
    let s = Server::start(&[CHARGES], &[]);
    let t = s
        .post("/transfers")
        .json(&json!({"amount": 5}))
        .send()
        .expect(201)
        .json();
    assert_eq!(t["state"], "pending");
    let id = t["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = s.get(&format!("/transfers/{id}")).send().expect(200).json();
        if now["state"] == "paid" {
            break;
        }
        assert!(Instant::now() < deadline, "never paid: {now}");
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

#[test]
fn a_transition_the_state_does_not_allow_is_refused_in_the_apis_shape() {
    let rx = Receiver::start(0);
    let s = Server::start(&[CHARGES], &["--webhook-url", &rx.url("/hooks")]);
    let a = charge(&s, json!({"amount": 100}));
    let id = a["id"].as_str().unwrap();
    // Pending: neither a capture nor a refund.
    let refused = s.post(&format!("/charges/{id}/captures")).send().expect(409).json();
    assert_eq!(refused["error"]["code"], "invalid_state", "{refused}");
    assert!(
        refused["error"]["message"].as_str().unwrap().contains("pending"),
        "{refused}"
    );
    s.post(&format!("/charges/{id}/refunds")).send().expect(409);
    // No parent: a 404 in the API's shape.
    let missing = s.post("/charges/ch_nope/captures").send().expect(404).json();
    assert_eq!(missing["error"]["code"], "not_found", "{missing}");
    // An action on an item outside any lifecycle needs its item too.
    let missing = s.post("/charges/ch_nope/receipts").send().expect(404).json();
    assert_eq!(missing["error"]["code"], "not_found", "{missing}");
    assert_eq!(
        s.post(&format!("/charges/{id}/receipts")).send().expect(202).json(),
        json!({"sent": true})
    );

    s.post("/__specbox/clock")
        .json(&json!({"advance": "1h"}))
        .send()
        .expect(200);
    let captured = s.post(&format!("/charges/{id}/captures")).send().expect(201).json();
    assert_eq!(captured["status"], "captured");
    assert_eq!(
        s.get(&format!("/charges/{id}")).send().expect(200).json()["status"],
        "captured"
    );
    // Captured leaves `succeeded`, so the payout timer finds nothing to move.
    s.post(&format!("/charges/{id}/captures")).send().expect(409);
    let moved = s
        .post("/__specbox/clock")
        .json(&json!({"advance": "3d"}))
        .send()
        .expect(200)
        .json();
    assert_eq!(moved["transitions"], json!([]), "{moved:#}");
    s.post(&format!("/charges/{id}/refunds")).send().expect(201);
    assert_eq!(
        s.get(&format!("/charges/{id}")).send().expect(200).json()["status"],
        "refunded"
    );

    let refunded = delivered(&s, "charge.refunded", 1);
    assert_eq!(refunded[0]["payload"]["data"]["object"]["id"], id);
    assert_eq!(refunded[0]["payload"]["data"]["object"]["status"], "refunded");
    delivered(&s, "charge.captured", 1);
}

#[test]
fn outcomes_chosen_by_the_request_decide_status_example_fields_and_state() {
    let s = Server::start(&[CHARGES], &[]);
    let declined = s
        .post("/charges")
        .json(&json!({"amount": 100, "card": "4000000000000002"}))
        .send()
        .expect(402)
        .json();
    assert_eq!(declined["status"], "failed");
    assert_eq!(declined["failure_code"], "card_declined");
    assert_eq!(declined["amount"], 100);
    let id = declined["id"].as_str().unwrap();
    assert_eq!(
        s.get(&format!("/charges/{id}")).send().expect(200).json()["status"],
        "failed"
    );
    // A failed charge has no timer: nothing moves it.
    let moved = s
        .post("/__specbox/clock")
        .json(&json!({"advance": "2h"}))
        .send()
        .expect(200)
        .json();
    assert!(
        moved["transitions"].as_array().unwrap().iter().all(|t| t["id"] != id),
        "{moved:#}"
    );

    // A pattern: amounts of three nines or more are risky; the state stays the initial one.
    let risky = charge(&s, json!({"amount": 9999}));
    assert_eq!(risky["risk"], "high");
    assert_eq!(risky["status"], "pending");
    let plain = charge(&s, json!({"amount": 99}));
    assert_ne!(plain["risk"], "high");
}

#[test]
fn lifecycle_and_outcome_mistakes_stop_startup_naming_file_and_pointer() {
    let dir = std::env::temp_dir().join(format!("specbox-life-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = std::fs::read_to_string(common::root().join(CHARGES)).unwrap();
    let cases = [
        (
            "status: 402\n          example: declined",
            "status: 418\n          example: declined",
            "/paths/~1charges/post/x-specbox-outcomes/0/status",
            "does not document status 418",
        ),
        (
            "example: declined\n          state",
            "example: nope\n          state",
            "/paths/~1charges/post/x-specbox-outcomes/0/example",
            "no example \"nope\"",
        ),
        (
            "set: {/risk: high}",
            "set: {/risk: 12}",
            "/paths/~1charges/post/x-specbox-outcomes/1",
            "does not validate",
        ),
        (
            "{operation: captureCharge,",
            "{operation: chargeTwice,",
            "/paths/~1charges/x-specbox-lifecycle/transitions/2/operation",
            "no operation \"chargeTwice\"",
        ),
        (
            "collection: /charges, to: paid_out}",
            "collection: /charges, to: settled}",
            "/webhooks/settlement/post/x-specbox-event",
            "\"settled\" is no state",
        ),
    ];
    for (i, (from, to, pointer, message)) in cases.iter().enumerate() {
        assert!(spec.contains(from), "{from}");
        let path = dir.join(format!("bad{i}.yaml"));
        std::fs::write(&path, spec.replacen(from, to, 1)).unwrap();
        let log = match Server::try_start(&[path.to_str().unwrap()], &[]) {
            Ok(_) => panic!("started with {to:?}"),
            Err(log) => log,
        };
        assert!(log.contains(&format!("bad{i}.yaml")), "{log}");
        assert!(log.contains(pointer), "{pointer} not in {log}");
        assert!(log.contains(message), "{message} not in {log}");
    }
}

fn adyen() -> (Receiver, Server) {
    let rx = Receiver::start(0);
    let s = Server::start(
        &[CHECKOUT, ADYEN_WEBHOOKS],
        &[
            "--overlay",
            "examples/adyen/CheckoutService-v71.overlay.yaml",
            "--overlay",
            "examples/adyen/Webhooks-v1.overlay.yaml",
            "--webhook-url",
            &rx.url("/notifications"),
        ],
    );
    (rx, s)
}

fn pay(s: &Server, card: &str) -> Value {
    s.post("/v71/payments")
        .header("X-API-Key", "test_key")
        .json(&json!({
            "amount": {"currency": "EUR", "value": 1000},
            "merchantAccount": "TestMerchant",
            "reference": format!("order-{card}"),
            "returnUrl": "https://shop.example/return",
            "paymentMethod": {"type": "scheme", "number": card, "expiryMonth": "03",
                              "expiryYear": "2030", "cvc": "737", "holderName": "J Doe"}
        }))
        .send()
        .expect(200)
        .json()
}

fn modify(s: &Server, psp: &str, what: &str, status: u16) -> Value {
    s.post(&format!("/v71/payments/{psp}/{what}"))
        .header("X-API-Key", "test_key")
        .json(&json!({"amount": {"currency": "EUR", "value": 1000}, "merchantAccount": "TestMerchant"}))
        .send()
        .expect(status)
        .json()
}

fn item(v: &Value) -> &Value {
    &v["notificationItems"][0]["NotificationRequestItem"]
}

#[test]
fn adyen_payment_flow_authorise_or_refuse_by_card_capture_refund_with_notifications() {
    let (rx, s) = adyen();
    let ok = pay(&s, "4111111111111111");
    assert_eq!(ok["resultCode"], "Authorised", "{ok:#}");
    assert!(
        ok.get("action").is_none(),
        "an authorised card asks for no action: {ok:#}"
    );
    let refused = pay(&s, "4000000000000002");
    assert_eq!(refused["resultCode"], "Refused");
    assert_eq!(refused["refusalReason"], "Refused");
    let psp = ok["pspReference"].as_str().unwrap();
    let refused_psp = refused["pspReference"].as_str().unwrap();
    assert_ne!(psp, refused_psp);

    // A refund before the capture, and any capture of a refused payment, are refused (422, in
    // Adyen's ServiceError shape); an unknown payment is an error too.
    let early = modify(&s, psp, "refunds", 422);
    assert_eq!(early["errorCode"], "invalid_state", "{early:#}");
    let no = modify(&s, refused_psp, "captures", 422);
    assert!(no["message"].as_str().unwrap().contains("Refused"), "{no:#}");
    modify(&s, "NOSUCHPAYMENT", "captures", 422);

    let capture = modify(&s, psp, "captures", 201);
    assert_eq!(capture["paymentPspReference"], psp);
    assert_eq!(capture["status"], "received");
    // What the request said comes back where the answer has it (not the example's 2,000).
    assert_eq!(
        capture["amount"],
        json!({"currency": "EUR", "value": 1000}),
        "{capture}"
    );
    assert_eq!(capture["merchantAccount"], "TestMerchant", "{capture}");
    modify(&s, psp, "captures", 422);
    let refund = modify(&s, psp, "refunds", 201);
    assert_eq!(refund["paymentPspReference"], psp);

    // Each notification, valid against Adyen's schema, naming the payment.
    for event in ["AUTHORISATION", "CAPTURE", "REFUND"] {
        let n = if event == "AUTHORISATION" { 2 } else { 1 };
        for d in delivered(&s, event, n) {
            assert_eq!(d["violations"], json!([]), "{event}: {d:#}");
        }
    }
    let got = rx.wait_for(4);
    let by = |event: &str| {
        got.iter()
            .filter(|r| r.header("x-specbox-event") == Some(event))
            .map(|r| r.json())
            .collect::<Vec<_>>()
    };
    let auth = by("AUTHORISATION");
    let auth_of = |p: &str| auth.iter().find(|a| item(a)["pspReference"] == p).map(item).cloned();
    assert_eq!(auth_of(psp).unwrap()["success"], "true", "{auth:#?}");
    assert_eq!(auth_of(refused_psp).unwrap()["success"], "false", "{auth:#?}");
    let capture = by("CAPTURE");
    assert_eq!(capture.len(), 1);
    assert_eq!(item(&capture[0])["eventCode"], "CAPTURE");
    assert_eq!(item(&capture[0])["originalReference"], psp);
    assert_eq!(item(&capture[0])["merchantReference"], "order-4111111111111111");
    let refund = by("REFUND");
    assert_eq!(refund.len(), 1);
    assert_eq!(item(&refund[0])["originalReference"], psp);
    assert_eq!(item(&refund[0])["success"], "true");
    assert_eq!(item(&refund[0])["amount"]["value"], 1000);
}

#[test]
fn an_action_whose_answer_is_the_item_answers_the_item_as_stored() {
    let s = Server::start(&[CHARGES], &[]);
    let a = charge(&s, json!({"amount": 100}));
    let id = a["id"].as_str().unwrap();
    // Outside any lifecycle: the charge as stored, not the example's (`ch_example`, amount 1).
    let held = s.post(&format!("/charges/{id}/hold")).send().expect(200).json();
    assert_eq!(
        (&held["id"], &held["amount"], &held["status"]),
        (&a["id"], &json!(100), &json!("pending")),
        "{held}"
    );
    // With a transition: the charge after it, which a read then shows too.
    let confirmed = s.post(&format!("/charges/{id}/confirm")).send().expect(200).json();
    assert_eq!(
        (&confirmed["id"], &confirmed["status"]),
        (&a["id"], &json!("succeeded")),
        "{confirmed}"
    );
    assert_eq!(s.get(&format!("/charges/{id}")).send().expect(200).json(), confirmed);
    let refused = s.post(&format!("/charges/{id}/confirm")).send().expect(409).json();
    assert_eq!(refused["error"]["code"], "invalid_state", "{refused}");
    // An outcome the request chose answers as it says.
    let blocked = s
        .post(&format!("/charges/{id}/hold"))
        .json(&json!({"reason": "blocked"}))
        .send()
        .expect(409)
        .json();
    assert_eq!(blocked["error"]["code"], "blocked", "{blocked}");
    for action in ["hold", "confirm"] {
        let missing = s.post(&format!("/charges/ch_nope/{action}")).send().expect(404).json();
        assert_eq!(missing["error"]["code"], "not_found", "{action}: {missing}");
    }
}
