//! Inputs found by fuzzing (fuzz/regressions/), replayed against a real server.

use crate::common;

use common::{Server, ap_token, root};
use std::process::Command;

#[test]
fn self_referencing_array_schemas_neither_crash_startup_nor_requests() {
    let s = Server::start(
        &["tests/specs/regressions/recursive-array-query-param.yaml"],
        &["--fixtures", "none"],
    );
    let r = s.get("/things?q=1&q=2").send();
    assert!(r.status == 200 || r.status == 400, "{}", r.text());
    let f = Server::start(
        &["tests/specs/regressions/recursive-array-form-field.yaml"],
        &["--fixtures", "none"],
    );
    let r = f
        .post("/f")
        .raw("application/x-www-form-urlencoded", b"a=1&a=2&a=3")
        .send();
    assert!(r.status < 500, "{} {}", r.status, r.text());
    f.get("/__specbox/health").send().expect(200);
}

#[test]
fn a_ref_to_a_device_file_is_refused_at_startup() {
    let out = Command::new(env!("CARGO_BIN_EXE_specbox"))
        .current_dir(root())
        .args(["tests/specs/regressions/ref-dev-zero.yaml", "--port", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn a_cursor_past_every_item_is_an_empty_page() {
    let s = Server::bundled();
    let t = ap_token(&s);
    let cursor = specbox::pipeline::act::list::encode_cursor(usize::MAX);
    let page = s
        .get(&format!("/customers?after={cursor}"))
        .bearer(&t)
        .send()
        .expect(200)
        .json();
    assert_eq!(page["data"], serde_json::json!([]));
    assert_eq!(page["has_next_page"], false);
}

#[test]
fn an_enormous_token_ttl_does_not_break_the_token_endpoint() {
    let s = Server::start(&["specs"], &["--token-ttl", "400000000000years"]);
    let t = ap_token(&s);
    s.get("/customers").bearer(&t).send().expect(200);
}
