//! Recording, proxying and replaying, against real processes: a specbox in front of another
//! specbox (the upstream), HAR files on disk, and the `replay` and `fixtures` subcommands.

use crate::common;

use common::{Server, ap_token, conforms, conforms_error, root};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh path in the temp directory, unique per process and call.
fn temp_path(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("specbox-test-{}-{n}-{name}", std::process::id()))
}

/// A recording file that is removed when the test ends.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> TempFile {
        TempFile(temp_path(name))
    }
    fn arg(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
    fn text(&self) -> String {
        std::fs::read_to_string(&self.0).expect("read the recording")
    }
    fn har(&self) -> Value {
        serde_json::from_str(&self.text()).expect("the recording is valid JSON")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn entries(har: &Value) -> &Vec<Value> {
    har["log"]["entries"].as_array().expect("log.entries")
}

/// (method, path without the query) of every entry.
fn exchanges(har: &Value) -> Vec<(String, String)> {
    entries(har)
        .iter()
        .map(|e| {
            let url = e["request"]["url"].as_str().expect("url");
            let after_host = url.splitn(4, '/').nth(3).unwrap_or("");
            let path = format!("/{}", after_host.split('?').next().unwrap_or(""));
            (e["request"]["method"].as_str().expect("method").to_string(), path)
        })
        .collect()
}

fn recorder(upstream: Option<&Server>, record: &TempFile, extra: &[&str]) -> Server {
    let mut flags: Vec<String> = vec![
        "--fixtures".into(),
        "fixtures".into(),
        "--record".into(),
        record.arg().into(),
    ];
    if let Some(up) = upstream {
        flags.push("--proxy".into());
        flags.push(format!("http://{}", up.addr));
    }
    flags.extend(extra.iter().map(|s| s.to_string()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    Server::start(&["specs"], &flags)
}

fn swisspay_customer(email: &str) -> Value {
    json!({
        "email": email, "name": "Rec Order", "locale": "de-CH",
        "billing_address": {"line1": "Bahnhofstrasse 1", "city": "Zürich", "postal_code": "8001", "country": "CH"}
    })
}

#[test]
fn a_proxied_session_is_recorded_in_full_without_its_secrets() {
    let upstream = Server::bundled();
    let file = TempFile::new("session.har");
    let rec = recorder(Some(&upstream), &file, &[]);
    let key = "sk_test_recordsecret4711";

    // SwissPay: create, retrieve, list.
    let created = rec
        .post("/api/v1/customers")
        .bearer(key)
        .json(&swisspay_customer("rec.session@example.com"))
        .send()
        .expect(201);
    let id = conforms(&rec, "createCustomer", &created)["id"]
        .as_str()
        .expect("id")
        .to_string();
    let got = rec
        .get(&format!("/api/v1/customers/{id}"))
        .bearer(key)
        .send()
        .expect(200);
    assert_eq!(
        conforms(&rec, "retrieveCustomer", &got)["email"],
        "rec.session@example.com"
    );
    // The state lives upstream: the upstream itself has the customer.
    upstream
        .get(&format!("/api/v1/customers/{id}"))
        .bearer(key)
        .send()
        .expect(200);
    rec.get("/api/v1/customers?limit=2").bearer(key).send().expect(200);

    // Alternative Payments: a token (client_secret in a form body), create, get.
    let token = ap_token(&rec);
    let ap = rec
        .post("/customers")
        .bearer(&token)
        .json(&json!({"name": "Recorded Co", "email": "rec@co.example"}))
        .send()
        .expect(201);
    let ap_id = conforms(&rec, "createCustomer", &ap)["id"]
        .as_str()
        .expect("id")
        .to_string();
    rec.get(&format!("/customers/{ap_id}"))
        .bearer(&token)
        .send()
        .expect(200);

    let status = rec.terminate();
    assert!(status.success(), "recorder exit: {status:?}");

    let text = file.text();
    let har = file.har();
    assert_eq!(har["log"]["version"], "1.2");
    assert_eq!(har["log"]["creator"]["name"], "specbox");
    let expected: Vec<(String, String)> = [
        ("POST", "/api/v1/customers".to_string()),
        ("GET", format!("/api/v1/customers/{id}")),
        ("GET", "/api/v1/customers".to_string()),
        ("POST", "/oauth/token".to_string()),
        ("POST", "/customers".to_string()),
        ("GET", format!("/customers/{ap_id}")),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_string(), p))
    .collect();
    assert_eq!(exchanges(&har), expected);

    for secret in [key, "sandbox_secret", token.as_str()] {
        assert!(!text.contains(secret), "the recording contains the secret {secret:?}");
    }
    assert!(text.contains("[REDACTED]"));
    assert!(
        text.contains("client_secret=%5BREDACTED%5D"),
        "the token request's form body is redacted"
    );
    let list = entries(&har);
    assert_eq!(list[0]["_operationId"], "createCustomer");
    assert_eq!(list[0]["_spec"], "swisspay");
    assert_eq!(list[0]["response"]["status"], 201);
    assert!(
        list[0]["_upstream"]
            .as_str()
            .is_some_and(|u| u.contains(&upstream.addr))
    );
    assert_eq!(
        list[3]["response"]["content"]["text"]
            .as_str()
            .map(|t| t.contains("[REDACTED]")),
        Some(true)
    );
    // The request body is kept (minus secrets), and so is the response.
    let body: Value =
        serde_json::from_str(list[0]["request"]["postData"]["text"].as_str().expect("postData")).expect("json");
    assert_eq!(body["email"], "rec.session@example.com");
    let stored: Value =
        serde_json::from_str(list[1]["response"]["content"]["text"].as_str().expect("content")).expect("json");
    assert_eq!(stored["id"], id.as_str());
}

/// A GET over a fresh connection; the response counts only when it arrived whole.
fn fetch(addr: &str, path: &str, token: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let broken = || std::io::Error::new(std::io::ErrorKind::InvalidData, "incomplete response");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(broken)?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let body = raw[split + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(broken)?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .ok_or_else(broken)?;
    if body.len() != length {
        return Err(broken());
    }
    Ok((status, body))
}

#[test]
fn sigterm_under_load_keeps_every_exchange_a_client_saw() {
    let file = TempFile::new("load.har");
    let rec = recorder(None, &file, &[]);
    let addr = rec.addr.clone();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let addr = addr.clone();
            let done = done_tx.clone();
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for i in 0..200 {
                    let marker = format!("m{t}x{i}");
                    match fetch(
                        &addr,
                        &format!("/api/v1/customers?limit=1&marker={marker}"),
                        "sk_test_load",
                    ) {
                        Ok((200, _)) => {
                            seen.push(marker);
                            let _ = done.send(());
                        }
                        Ok((status, body)) => panic!("{status}: {}", String::from_utf8_lossy(&body)),
                        Err(_) => break,
                    }
                }
                seen
            })
        })
        .collect();
    drop(done_tx);
    for _ in 0..50 {
        done_rx.recv().expect("at least 50 responses before the clients stop");
    }
    let status = rec.terminate();
    assert!(status.success(), "recorder exit: {status:?}");
    let seen: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect();
    assert!(seen.len() >= 50);

    let har = file.har();
    let recorded: HashSet<String> = entries(&har)
        .iter()
        .filter_map(|e| e["request"]["url"].as_str())
        .filter_map(|u| u.split("marker=").nth(1).map(str::to_string))
        .collect();
    let missing: Vec<&String> = seen.iter().filter(|m| !recorded.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered requests are not in the recording: {missing:?}",
        missing.len(),
        seen.len()
    );
}

#[test]
fn upstream_drift_is_reported_in_a_header_the_log_and_the_recording() {
    let upstream = Server::start(
        &["tests/specs/drift/swisspay.yaml"],
        &["--fixtures", "tests/specs/drift/none"],
    );
    let file = TempFile::new("drift.har");
    let rec = recorder(Some(&upstream), &file, &[]);
    let direct = upstream.get("/api/v1/customers/x").send().expect(200);
    let proxied = rec
        .get("/api/v1/customers/x")
        .bearer("sk_test_drift")
        .send()
        .expect(200);
    assert_eq!(
        proxied.json(),
        direct.json(),
        "the upstream's body is passed on unchanged"
    );
    assert_eq!(proxied.json()["id"], "not-a-cus-id");
    let summary = proxied
        .header("x-specbox-contract-violations")
        .expect("a contract-violations header")
        .to_string();
    assert!(summary.contains("violation"), "{summary}");
    assert!(rec.terminate().success());
    let har = file.har();
    let violations = entries(&har)[0]["_contractViolations"]
        .as_array()
        .expect("_contractViolations")
        .clone();
    let text = violations
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("id") && text.contains("name"), "{text}");
}

#[test]
fn keywords_beside_an_answers_ref_count_when_an_upstream_answer_is_checked() {
    let upstream = Server::start(
        &["tests/specs/siblings/upstream/pets.yaml"],
        &["--fixtures", "tests/specs/drift/none"],
    );
    let up = format!("http://{}", upstream.addr);
    let proxy = Server::start(
        &["tests/specs/siblings/pets.yaml"],
        &["--fixtures", "tests/specs/drift/none", "--proxy", &up],
    );
    let answer = proxy.get("/v1/pets/pet-1").send().expect(200);
    assert_eq!(answer.json()["nickname"], "Rexy", "the upstream's body is passed on");
    let summary = answer
        .header("x-specbox-contract-violations")
        .unwrap_or_else(|| panic!("no contract-violations header: {:?}", answer.json()))
        .to_string();
    assert!(summary.contains("nickname"), "{summary}");
}

#[test]
fn an_unreachable_upstream_is_a_502_and_a_slow_one_a_504_in_the_apis_shape() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let down = Server::start(
        &["specs"],
        &[
            "--fixtures",
            "fixtures",
            "--proxy",
            &format!("swisspay=http://127.0.0.1:{port}/api/v1"),
        ],
    );
    let r = down
        .get("/api/v1/customers/x")
        .bearer("sk_test_down")
        .send()
        .expect(502);
    let body = conforms_error(&down, "retrieveCustomer", &r);
    assert_eq!(body["error"]["code"], "bad_gateway");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("could not be reached"))
    );
    // Only the named spec is proxied: Alternative Payments is still served by the engine.
    let token = ap_token(&down);
    down.get("/customers?limit=1").bearer(&token).send().expect(200);

    let upstream = Server::bundled();
    let file = TempFile::new("timeout.har");
    let slow = recorder(Some(&upstream), &file, &["--proxy-timeout", "300ms"]);
    let r = slow
        .get("/api/v1/customers?limit=1")
        .bearer("sk_test_slow")
        .header("Prefer", "delay=3000")
        .send()
        .expect(504);
    let body = conforms_error(&slow, "listCustomers", &r);
    assert_eq!(body["error"]["code"], "gateway_timeout");
    assert!(slow.terminate().success());
    let har = file.har();
    assert_eq!(entries(&har)[0]["_timeout"], true);
    assert_eq!(entries(&har)[0]["response"]["status"], 504);
}

#[test]
fn an_unwritable_recording_is_a_startup_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_specbox"))
        .current_dir(root())
        .args(["specs", "--port", "0", "--record", "/nonexistent-dir/x.har"])
        .output()
        .expect("run specbox");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent-dir/x.har"), "{stderr}");
}

#[test]
fn a_recording_replays_and_unrecorded_requests_reach_the_engine() {
    let upstream = Server::bundled();
    let file = TempFile::new("replay.har");
    let rec = recorder(Some(&upstream), &file, &[]);
    let key = "sk_test_replay";
    let body = swisspay_customer("replayed@example.com");
    let created = rec.post("/api/v1/customers").bearer(key).json(&body).send().expect(201);
    let id = created.json()["id"].as_str().expect("id").to_string();
    rec.get(&format!("/api/v1/customers/{id}"))
        .bearer(key)
        .send()
        .expect(200);
    assert!(rec.terminate().success());
    drop(upstream);

    let replay = Server::start(&["replay", file.arg(), "specs"], &["--fixtures", "fixtures"]);
    // The same request, with its JSON keys in another order and another key: the recorded answer.
    let reordered: Value = serde_json::from_str(&format!(
        r#"{{"billing_address": {}, "name": "Rec Order", "locale": "de-CH", "email": "replayed@example.com"}}"#,
        body["billing_address"]
    ))
    .expect("json");
    let again = replay
        .post("/api/v1/customers")
        .bearer("sk_test_other")
        .json(&reordered)
        .send()
        .expect(201);
    assert_eq!(again.header("x-specbox-replayed"), Some("true"));
    // (The replay server's first arguments are not spec paths, so conformance is not checked here.)
    assert_eq!(again.json()["id"], id.as_str());
    let read = replay
        .get(&format!("/api/v1/customers/{id}"))
        .bearer(key)
        .send()
        .expect(200);
    assert_eq!(read.header("x-specbox-replayed"), Some("true"));

    // Not recorded: the stateful engine answers.
    let fresh = replay
        .post("/api/v1/customers")
        .bearer(key)
        .json(&swisspay_customer("not.recorded@example.com"))
        .send()
        .expect(201);
    assert_eq!(fresh.header("x-specbox-replayed"), None);
    let fresh_id = fresh.json()["id"].as_str().expect("id").to_string();
    assert_ne!(fresh_id, id);
}

#[test]
fn a_recording_becomes_fixtures_the_engine_loads() {
    let file = TempFile::new("fixtures.har");
    let rec = recorder(None, &file, &[]);
    let created = rec
        .post("/api/v1/customers")
        .bearer("sk_test_harvest")
        .json(&swisspay_customer("harvested@example.com"))
        .send()
        .expect(201);
    let id = created.json()["id"].as_str().expect("id").to_string();
    rec.get("/api/v1/customers?limit=3")
        .bearer("sk_test_harvest")
        .send()
        .expect(200);
    assert!(rec.terminate().success());

    let out_dir = TempFile::new("fixtures-out");
    let out = Command::new(env!("CARGO_BIN_EXE_specbox"))
        .current_dir(root())
        .args(["fixtures", file.arg(), "--out", out_dir.arg(), "specs"])
        .output()
        .expect("run specbox fixtures");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("/customers"), "{stdout}");
    let written: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.0.join("swisspay/recorded.json")).expect("recorded.json"),
    )
    .expect("json");
    assert!(
        written["resources"]["/customers"]
            .as_array()
            .is_some_and(|items| items.len() >= 3)
    );

    let seeded = Server::start(&["specs"], &["--fixtures", out_dir.arg()]);
    let got = seeded
        .get(&format!("/api/v1/customers/{id}"))
        .bearer("sk_test_anyone")
        .send()
        .expect(200);
    assert_eq!(
        conforms(&seeded, "retrieveCustomer", &got)["email"],
        "harvested@example.com"
    );
}
