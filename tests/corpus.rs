//! Conformance over real published specs (`tests/corpus/`, see its README): for each spec, a
//! specbox serving it alone (no fixtures), and for every operation a valid request built from the
//! spec, whose answer must be documented, match its schema, carry the documented example's keys,
//! and, for collections, be readable back after a create. See `tests/common/conformance.rs` for
//! the checks and `tests/corpus/EXCEPTIONS.md` for the spec self-contradictions that are skipped.
//!
//! Run: `cargo test --test integration corpus::` (one spec: `cargo test --test integration corpus::twilio`). Each failing
//! test lists every failure of its spec, grouped by check. `CORPUS_OUT=<dir>` also writes every
//! request and answer, the failures, and where the spec's own examples break its schemas, per
//! spec, as JSON into that folder. `conformance::check_spec_served` serves a patched copy of a
//! spec while judging by the published one (to see what fails past a startup refusal).

use crate::common::conformance::{check_spec, judge};

#[test]
fn adyen_checkout() {
    check_spec("adyen-checkout", "tests/corpus/adyen/CheckoutService-v71.json");
}

#[test]
fn adyen_webhooks() {
    check_spec("adyen-webhooks", "tests/corpus/adyen/Webhooks-v1.json");
}

#[test]
fn twilio() {
    check_spec("twilio", "tests/corpus/twilio/twilio_api_v2010.json");
}

#[test]
fn square() {
    check_spec("square", "tests/corpus/square/api.json");
}

#[test]
fn digitalocean() {
    check_spec(
        "digitalocean",
        "tests/corpus/digitalocean/specification/DigitalOcean-public.v2.yaml",
    );
}

#[test]
fn scalar_galaxy() {
    check_spec("scalar-galaxy", "tests/corpus/scalar/galaxy-3.1.yaml");
}

#[test]
fn swagger_petstore_3() {
    check_spec("swagger-petstore", "tests/corpus/swagger-petstore/openapi.yaml");
}

#[test]
fn oai_swagger2_petstore_expanded() {
    check_spec(
        "oai-petstore-expanded",
        "tests/corpus/oai/v2.0/yaml/petstore-expanded.yaml",
    );
}

#[test]
fn oai_swagger2_api_with_examples() {
    check_spec(
        "oai-api-with-examples",
        "tests/corpus/oai/v2.0/yaml/api-with-examples.yaml",
    );
}

#[test]
fn oai_callback_example() {
    check_spec("oai-callback-example", "tests/corpus/oai/v3.0/callback-example.yaml");
}

#[test]
fn oai_link_example() {
    check_spec("oai-link-example", "tests/corpus/oai/v3.0/link-example.yaml");
}

#[test]
fn oai_uspto() {
    check_spec("oai-uspto", "tests/corpus/oai/v3.0/uspto.yaml");
}

#[test]
fn oai_tictactoe() {
    check_spec("oai-tictactoe", "tests/corpus/oai/v3.1/tictactoe.yaml");
}

#[test]
fn oai_webhook_example() {
    check_spec("oai-webhook-example", "tests/corpus/oai/v3.1/webhook-example.yaml");
}

#[test]
fn oai_tags_example_3_2() {
    check_spec("oai-tags-example", "tests/corpus/oai/v3.2/3.2-tags-example.yaml");
}

/// The harness itself: answers made up for the USPTO spec's `list-data-sets` (documented: 200,
/// JSON, an object example with `total` and `apis`) are judged as they must be.
#[test]
fn the_harness_flags_what_it_must() {
    const USPTO: &str = "tests/corpus/oai/v3.0/uspto.yaml";
    let checks = |status, ct, body| -> Vec<String> {
        let mut c: Vec<String> = judge(USPTO, "list-data-sets", status, ct, body)
            .into_iter()
            .map(|(check, _)| check)
            .collect();
        c.sort();
        c
    };
    let json = Some("application/json");
    let good = r#"{"total": 1, "apis": [{"apiKey": "k", "apiUrl": "https://example.com/x"}]}"#;
    assert_eq!(checks(200, json, good), Vec::<String>::new());
    assert_eq!(
        checks(200, Some("application/json; charset=utf-8"), good),
        Vec::<String>::new()
    );
    assert_eq!(checks(418, json, good), ["status"]);
    assert_eq!(checks(200, Some("text/html"), "<p>hi</p>"), ["media"]);
    assert_eq!(checks(200, json, "{not json"), ["media"]);
    assert_eq!(checks(200, None, ""), ["media"]);
    // Wrong type for `total`, and only half the example's keys.
    assert_eq!(checks(200, json, r#"{"total": "two"}"#), ["example-keys", "schema"]);
    assert_eq!(checks(200, json, r#"{"total": 2, "apis": "none"}"#), ["schema"]);
    assert_eq!(checks(200, json, "[]"), ["example-keys", "schema"]);
    // An operation that documents no responses must succeed.
    let tags = "tests/corpus/oai/v3.2/3.2-tags-example.yaml";
    assert!(judge(tags, "GET /flights", 200, None, "").is_empty());
    assert_eq!(judge(tags, "GET /flights", 404, None, "").len(), 1);
}
