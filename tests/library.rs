//! specbox as a library (`specbox::Sandbox`): started in-process on an ephemeral port, answering
//! over HTTP, with its journal, fault rules and reset as methods, stopped when dropped.

use serde_json::json;
use std::io::{Read, Write};

fn send(url: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer sk_test_lib\r\nConnection: close\r\n"
    );
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).expect("send");
    if let Some(b) = body {
        conn.write_all(b.as_bytes()).expect("send body");
    }
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read");
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn a_sandbox_serves_remembers_fails_on_demand_resets_and_stops_when_dropped() {
    let sandbox = specbox::Sandbox::builder()
        .spec("specs/swisspay.yaml")
        .fixtures("fixtures")
        .start()
        .expect("starts");
    let url = sandbox.url().to_string();
    let (status, body) = send(
        &url,
        "POST",
        "/api/v1/customers",
        Some(r#"{"email": "lib@example.com", "name": "Lib"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).expect("json");
    let id = created["id"].as_str().expect("an id").to_string();
    assert_eq!(sandbox.requests("createCustomer"), 1);
    assert_eq!(send(&url, "GET", &format!("/api/v1/customers/{id}"), None).0, 200);

    sandbox
        .fault(json!({"operationId": "retrieveCustomer", "status": 503, "times": 1}))
        .expect("a valid rule");
    assert_eq!(send(&url, "GET", &format!("/api/v1/customers/{id}"), None).0, 503);
    assert!(sandbox.fault(json!({"status": "soon"})).is_err());

    sandbox.reset();
    assert_eq!(send(&url, "GET", &format!("/api/v1/customers/{id}"), None).0, 404);

    drop(sandbox);
    let addr = url.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still listening after drop"
    );
}

#[test]
fn a_broken_spec_is_refused_with_its_problems() {
    let problems = match specbox::Sandbox::builder().spec("tests/specs/broken").start() {
        Ok(_) => panic!("a broken spec started"),
        Err(p) => p,
    };
    assert!(!problems.is_empty());
}
