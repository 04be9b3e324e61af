//! What replicas on one Redis share beyond items (issue 18): fault rules and their counts, and the
//! sandbox clock with the lifecycles' timed transitions it runs. Two replicas, requests to each in
//! turn; every wait is a poll with a bound. Skipped loudly where no `redis-server` is installed.

use crate::common;

use common::cluster::{Cluster, Store};
use common::redis::RedisServer;
use common::{Server, poll};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const CHARGES: &str = "tests/specs/lifecycle/charges.yaml";
const SP: &str = "sk_test_shared";

/// How long a replica is given to see what another did (it reads Redis in the background).
const WAIT: Duration = Duration::from_secs(10);

fn rules(s: &Server) -> Vec<Value> {
    s.get("/__specbox/faults").send().expect(200).json()["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_fault_rule_added_on_one_replica_fires_on_all_and_counts_once() {
    let Some(c) = Cluster::redis(2) else { return };
    let (a, b) = (c.at(0), c.at(1));
    // The second request to listCustomers fails, then the third: counted across both replicas.
    let rule = a
        .post("/__specbox/faults")
        .json(&json!({"operationId": "listCustomers", "status": 503, "skip": 1, "times": 2}))
        .send()
        .expect(201)
        .json();
    let id = rule["id"].as_u64().unwrap();
    poll(WAIT, "the rule on the other replica", || {
        rules(b).iter().any(|r| r["id"] == id).then_some(())
    });
    let list = |s: &Server| s.get("/api/v1/customers?per_page=1").bearer(SP).send().status;
    // Requests alternate: a, b, a, b.
    let got = [list(a), list(b), list(a), list(b)];
    assert_eq!(
        got,
        [200, 503, 503, 200],
        "skip 1, then 2 failures, counted once for both"
    );
    let seen = rules(b).into_iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(
        (seen["matched"].as_u64(), seen["fired"].as_u64()),
        (Some(4), Some(2)),
        "{seen}"
    );

    // Removed on the other replica: gone from both.
    b.request("DELETE", &format!("/__specbox/faults/{id}"))
        .send()
        .expect(204);
    poll(WAIT, "the rule gone from the first replica", || {
        rules(a).is_empty().then_some(())
    });
    assert_eq!(list(a), 200);
}

#[test]
fn the_clock_moved_on_one_replica_moves_for_all_and_runs_each_timer_once() {
    let Some(redis) = RedisServer::start() else { return };
    let c = Cluster::start(
        Store::Redis {
            redis: Arc::new(redis),
            prefix: None,
        },
        2,
        &[CHARGES],
        &[],
    );
    let (a, b) = (c.at(0), c.at(1));
    let charge = a
        .post("/charges")
        .json(&json!({"amount": 100}))
        .send()
        .expect(201)
        .json();
    let id = charge["id"].as_str().unwrap();
    assert_eq!(charge["status"], "pending");

    // Two days on, moved through the other replica: pending → succeeded → paid_out, once.
    let moved = b
        .post("/__specbox/clock")
        .json(&json!({"advance": "2d"}))
        .send()
        .expect(200)
        .json();
    let transitions: Vec<&Value> = moved["transitions"].as_array().unwrap().iter().collect();
    assert_eq!(
        transitions
            .iter()
            .map(|t| t["to"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["succeeded", "paid_out"],
        "{moved:#}"
    );
    assert_eq!(
        a.get(&format!("/charges/{id}")).send().expect(200).json()["status"],
        "paid_out"
    );
    // The first replica's clock follows (it reads the offset in the background).
    poll(WAIT, "the first replica's clock to move", || {
        let clock = a.get("/__specbox/clock").send().expect(200).json();
        (clock["ahead_ms"].as_u64() >= Some(2 * 24 * 3600 * 1000)).then_some(())
    });
    // Nothing is left to run, on either replica.
    let again = a
        .post("/__specbox/clock")
        .json(&json!({"advance": "1s"}))
        .send()
        .expect(200)
        .json();
    assert_eq!(again["transitions"], json!([]), "{again:#}");
}

#[test]
fn a_reload_keeps_serving_the_state_in_redis() {
    let Some(redis) = RedisServer::start() else { return };
    // A copy of the charges spec to edit (the repository's stays as it is).
    let dir = std::env::temp_dir().join(format!("specbox-shared-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("charges.yaml");
    let text = std::fs::read_to_string(common::root().join(CHARGES)).unwrap();
    std::fs::write(&spec, &text).unwrap();
    let path = spec.to_str().unwrap().to_string();
    let c = Cluster::start(
        Store::Redis {
            redis: Arc::new(redis),
            prefix: None,
        },
        1,
        &[&path],
        &["--watch"],
    );
    let s = c.at(0);
    let id = s.post("/charges").json(&json!({"amount": 7})).send().expect(201).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&spec, format!("{text}\n# edited\n")).unwrap();
    poll(WAIT, "the reload", || {
        let body = s.get("/__specbox/reloads").send().expect(200).json();
        (!body["reloads"].as_array()?.is_empty()).then_some(())
    });
    // The new engine reads the same Redis: the charge is there, and writes still land.
    let read = s.get(&format!("/charges/{id}")).send().expect(200).json();
    assert_eq!(read["amount"], 7, "{read}");
    s.post("/charges").json(&json!({"amount": 8})).send().expect(201);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A throwaway CA and a certificate it signs for 127.0.0.1 and localhost: (CA, certificate, key),
/// as PEM.
fn tls_files() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn rediss_with_a_private_ca_is_a_store_too() {
    let Some(bin) = common::redis::find_redis_server() else {
        common::redis::skipped("redis-server not found");
        return;
    };
    let dir = std::env::temp_dir().join(format!("specbox-rediss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = tls_files();
    for (name, text) in [("ca.pem", &ca), ("cert.pem", &cert), ("key.pem", &key)] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let file = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let port = common::redis::free_port();
    let mut redis = std::process::Command::new(bin)
        .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--tls-cert-file", &file("cert.pem"), "--tls-key-file", &file("key.pem")])
        .args(["--tls-ca-cert-file", &file("ca.pem"), "--tls-auth-clients", "no"])
        .args(["--save", "", "--appendonly", "no", "--dir", &file("")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("rediss://localhost:{port}/0");
    let s = Server::start(&[], &["--store", &url, "--store-ca", &file("ca.pem")]);
    // The server may start before Redis listens: it keeps trying, and health says when it is in.
    let health = poll(WAIT, "a healthy store over TLS", || {
        let h = s.get("/__specbox/health").send();
        (h.status == 200).then(|| h.json())
    });
    assert_eq!(health["store"]["kind"], "redis", "{health}");
    let made = s
        .post("/api/v1/customers")
        .bearer(SP)
        .json(&json!({"email": "tls@example.com", "name": "Over TLS"}))
        .send()
        .expect(201)
        .json();
    let id = made["id"].as_str().unwrap();
    assert_eq!(
        s.get(&format!("/api/v1/customers/{id}"))
            .bearer(SP)
            .send()
            .expect(200)
            .json()["name"],
        "Over TLS"
    );
    let _ = redis.kill();
    let _ = redis.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_forged_token_is_refused_by_the_shared_store() {
    use base64::Engine;
    let Some(c) = Cluster::redis(2) else { return };
    let (a, b) = (c.at(0), c.at(1));
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    // A real token works on either replica.
    let real = common::ap_token(a);
    b.get("/customers?limit=1").bearer(&real).send().expect(200);
    // One that names a client and never expires, with a short tag guessed byte by byte: refused,
    // whatever the byte (a tag must be the full 16 bytes).
    let payload = b64(b"0|99999999999999|sandbox_client");
    for byte in 0..=255u8 {
        let forged = format!("sbx_at_{payload}.{}", b64(&[byte]));
        let status = b.get("/customers?limit=1").bearer(&forged).send().status;
        assert_eq!(status, 401, "a one-byte tag ({byte}) was accepted");
    }
}
