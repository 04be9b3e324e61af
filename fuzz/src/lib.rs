//! Shared pieces of specbox's fuzz targets: the in-process app built once from the repo's
//! `specs/` and `fixtures/`, a per-process scratch directory, and the invariants every reply
//! must keep.

use specbox::exchange::{Reply, Req};
use specbox::http::dispatch as handle;
use specbox::startup::App;
use specbox::startup::{AppOptions, build_app, load_api};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const SPECS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs");
pub const FIXTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// Ids that exist in the bundled fixtures, so generated paths reach real items.
pub const FIXTURE_IDS: &[&str] = &[
    "f38b2ffc-80a4-4f5a-91c9-bc701e7ea419",
    "f3f49249-dc28-4f90-a5ae-c7978306d03b",
    "e5121482-3929-4d22-a255-accb1a466884",
    "6bad6be2-8e7a-46e9-9f19-950499dd251d",
    "d7a7a3cc-8c3d-4f16-9293-de8fc88b2875",
    "cus_01KEEE5J9R84G7ZWYRD6Z1RV0W",
    "cus_01KFGKGM7R355QAKGD2AVSQWH2",
    "cus_01KGH8JMRRF8QY40YGECYYS9E9",
    "cus_01KHPHF77GFK6SY9541SJ3EQHB",
    "pay_01KFGM2A6Y3S5W7B9D1F3H5K7M",
    "pay_01KGH9B1C2D3E4F5G6H7J8K9M0",
    "pm_01KESF85Z09XXBSPV775XG3DNE",
    "pm_01KG1ZK3309PABRJV2BRWE853B",
    "usr_01KESD8MRG2D19H0WA1WHWXEC7",
    "usr_01KFE8AK2GRYTCCS3VWW2MCFZC",
];

/// The app under test and an access token issued by the Alternative Payments token endpoint.
pub struct Fixture {
    pub app: App,
    pub oauth_token: String,
}

/// Options for the fuzzed app: defaults, with a small journal so `/__specbox/requests` stays cheap.
pub fn fuzz_options() -> AppOptions {
    AppOptions {
        journal_size: 32,
        ..AppOptions::default()
    }
}

/// Builds the app once per process from the repo's specs and fixtures.
pub fn fixture() -> &'static Fixture {
    static APP: OnceLock<Fixture> = OnceLock::new();
    APP.get_or_init(|| {
        let api = match load_api(&[PathBuf::from(SPECS_DIR)], &[]) {
            Ok(api) => api,
            Err(errors) => panic!("fuzz setup: the bundled specs do not load: {errors:?}"),
        };
        let (app, _) = match build_app(api, Path::new(FIXTURES_DIR), fuzz_options()) {
            Ok(x) => x,
            Err(errors) => panic!("fuzz setup: the bundled fixtures do not load: {errors:?}"),
        };
        let mut headers = hyper::HeaderMap::new();
        headers.insert(
            "content-type",
            hyper::header::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let reply = handle(
            &app,
            &Req {
                method: hyper::Method::POST,
                path: "/oauth/token".into(),
                query: "".into(),
                headers,
                body: bytes::Bytes::from_static(
                    b"grant_type=client_credentials&client_id=sandbox_client&client_secret=sandbox_secret",
                ),
            },
        );
        let token = serde_json::from_slice::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|v| v.get("access_token").and_then(|t| t.as_str()).map(str::to_string));
        let Some(oauth_token) = token else {
            panic!(
                "fuzz setup: /oauth/token answered {} {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        };
        Fixture { app, oauth_token }
    })
}

/// A directory of this process's own (fuzzers may run in parallel jobs).
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("specbox-fuzz-{}-{name}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// What every reply must satisfy, whatever the request.
pub fn check_reply(req: &Req, reply: &Reply) {
    assert!(
        hyper::StatusCode::from_u16(reply.status).is_ok() && (100..600).contains(&reply.status),
        "invalid status {} for {} {}",
        reply.status,
        req.method,
        req.path
    );
    // Header names and values are valid by their types; one that could not be made is logged
    // where it is dropped (`Reply::push_header`).
    let content_type = reply.header_value("content-type").unwrap_or_default();
    if content_type.to_ascii_lowercase().contains("json") {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&reply.body) {
            panic!(
                "status {} with content-type {content_type:?} but the body is not JSON ({e}) for {} {}: {:?}",
                reply.status,
                req.method,
                req.path,
                String::from_utf8_lossy(&reply.body)
            );
        }
    }
    if reply.status == 204 || reply.status == 304 {
        assert!(
            reply.body.is_empty(),
            "status {} with a body for {} {}",
            reply.status,
            req.method,
            req.path
        );
    }
}
