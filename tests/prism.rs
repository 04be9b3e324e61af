//! `specbox mock`: Prism's command line, for a Prism user who swaps the command and nothing else.

use crate::common;

use common::Server;
use serde_json::json;

fn mock(extra: &[&str]) -> Server {
    let mut args = vec!["mock", "specs/swisspay.yaml", "-h", "127.0.0.1", "-p", "0"];
    args.extend(extra);
    Server::try_start_raw(&args, &["specs/swisspay.yaml"]).unwrap_or_else(|log| panic!("did not start:\n{log}"))
}

#[test]
fn h_is_the_host_and_invalid_requests_are_answered_with_their_violations_listed() {
    let s = mock(&[]);
    let r = s
        .post("/api/v1/customers")
        .bearer("sk_test_prism")
        .json(&json!({"name": "no email"}))
        .send();
    // As Prism without --errors: answered from the spec, the violations in `sl-violations`.
    assert_eq!(r.status, 201, "{}", r.text());
    let violations = r.header("sl-violations").unwrap_or_default().to_string();
    assert!(violations.contains("email"), "{violations}");
}

#[test]
fn errors_turns_violations_into_error_answers() {
    let s = mock(&["--errors"]);
    let r = s
        .post("/api/v1/customers")
        .bearer("sk_test_prism")
        .json(&json!({"name": "no email"}))
        .send();
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.header("sl-violations").is_none());
}

#[test]
fn d_answers_with_bodies_generated_from_the_schemas() {
    let s = mock(&["-d"]);
    let first = s
        .get("/api/v1/customers")
        .bearer("sk_test_prism")
        .send()
        .expect(200)
        .json();
    let second = s
        .get("/api/v1/customers")
        .bearer("sk_test_prism")
        .send()
        .expect(200)
        .json();
    // Generated afresh each time (the fixtures' customers are not what answers).
    assert_ne!(first, second);
    common::conforms(
        &s,
        "listCustomers",
        &s.get("/api/v1/customers").bearer("sk_test_prism").send(),
    );
}

#[test]
fn help_is_still_help() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_specbox"))
        .args(["mock", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("--errors") && text.contains("-h, --host"), "{text}");
}
