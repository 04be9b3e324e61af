//! specbox inside a project's own tests: start a sandbox from the bundled SwissPay spec, send it a
//! request as the code under test would, then check what it saw, inject a failure, and reset.
//!
//! Run with `cargo run --example sandbox_in_tests` (from the repository root, where `specs/` and
//! `fixtures/` are). In a project of your own, add specbox as a dev-dependency and write the same
//! lines in a `#[test]`.

use std::io::{Read, Write};

fn get(url: &str, path: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer sk_test_example\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).expect("send");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read");
    answer.lines().next().unwrap_or_default().to_string()
}

fn main() {
    let sandbox = specbox::Sandbox::builder()
        .spec("specs/swisspay.yaml")
        .fixtures("fixtures")
        .start()
        .unwrap_or_else(|problems| panic!("the sandbox did not start: {problems:?}"));
    println!("serving at {}", sandbox.url());

    println!("{}", get(sandbox.url(), "/api/v1/customers"));
    println!("listCustomers was called {} time(s)", sandbox.requests("listCustomers"));

    let rule = sandbox
        .fault(serde_json::json!({"operationId": "listCustomers", "status": 503, "times": 1}))
        .expect("a valid rule");
    println!("fault rule: {rule}");
    println!("{}", get(sandbox.url(), "/api/v1/customers"));
    println!("{}", get(sandbox.url(), "/api/v1/customers"));

    sandbox.reset();
    // Dropped here: the sandbox stops.
}
