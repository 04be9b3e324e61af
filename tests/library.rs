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

    // Stopped when dropped: a connection kept open to it is closed by then. (Not "a new
    // connection is refused": the freed port may already be another test's server.) Drop joins
    // the server's thread, whose runtime and sockets are gone when it returns, so the close is
    // there to read at once; 3 s is well below the 10 s after which a running sandbox closes an
    // idle connection itself, which would let a sandbox that never stopped pass.
    let mut kept = kept_alive(url.trim_start_matches("http://"));
    drop(sandbox);
    kept.set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .expect("timeout");
    let mut rest = [0u8; 1];
    match kept.read(&mut rest) {
        Ok(0) => {}
        Ok(_) => panic!("the stopped sandbox sent more on a kept-alive connection"),
        Err(e) => assert!(
            !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
            "a connection to the dropped sandbox is still open"
        ),
    }
}

/// A connection that has had one complete answer (the health check) and is kept open, as
/// HTTP/1.1 does by default.
fn kept_alive(addr: &str) -> std::net::TcpStream {
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    conn.write_all(format!("GET /__specbox/health HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .expect("send");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        conn.read_exact(&mut byte).expect("the health check's head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .expect("a content-length");
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).expect("the health check's body");
    conn
}

#[test]
fn a_broken_spec_is_refused_with_its_problems() {
    let problems = match specbox::Sandbox::builder().spec("tests/specs/broken").start() {
        Ok(_) => panic!("a broken spec started"),
        Err(p) => p,
    };
    assert!(!problems.is_empty());
}
