//! Fixture files are user input too: any YAML/JSON text as `fixtures/<spec>/x.{yaml,json}` must
//! load or be refused with an error, never panic. A file that loads is then served: a fresh app
//! is built from it (the full `build_app`) and a few reads are sent through the handler.
//!
//! Input: the first byte picks the spec and format (`b % 4`: 0 alternative-payments YAML,
//! 1 swisspay YAML, 2 alternative-payments JSON, 3 swisspay JSON, so seeds start with '0'..'3');
//! the rest is the file's text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use specbox::exchange::Req;
use specbox::http::dispatch as handle;
use specbox::model::Api;
use specbox::startup::{build_app, load_api};
use std::path::PathBuf;
use std::sync::OnceLock;

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| fresh_api())
}

fn fresh_api() -> Api {
    match load_api(&[PathBuf::from(specbox_fuzz::SPECS_DIR)], &[]) {
        Ok(api) => api,
        Err(e) => panic!("fuzz setup: the bundled specs do not load: {e:?}"),
    }
}

const STEMS: [&str; 2] = ["alternative-payments", "swisspay"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let stem = STEMS[usize::from(selector % 2)];
    let ext = if selector % 4 >= 2 { "json" } else { "yaml" };
    let root = specbox_fuzz::scratch_dir("fixtures");
    let _ = std::fs::remove_dir_all(&root);
    let dir = root.join(stem);
    if std::fs::create_dir_all(&dir).is_err() || std::fs::write(dir.join(format!("x.{ext}")), text).is_err() {
        return;
    }
    // The part of build_app that reads the files, against a shared model (cheap).
    if specbox::state::fixtures::load(api(), Some(&root)).is_err() {
        return;
    }
    // It loaded: build the whole app from it and read everything back.
    let (app, _) = match build_app(fresh_api(), &root, specbox_fuzz::fuzz_options()) {
        Ok(x) => x,
        Err(e) => panic!("fixtures::load accepted the file but build_app refused it: {e:?}"),
    };
    let mut paths = vec![
        "/customers".to_string(),
        "/api/v1/customers".to_string(),
        "/api/v1/payments".to_string(),
    ];
    for id in specbox_fuzz::FIXTURE_IDS.iter().take(6) {
        paths.push(format!("/customers/{id}"));
        paths.push(format!("/customers/{id}/users"));
        paths.push(format!("/customers/{id}/payment-methods"));
        paths.push(format!("/api/v1/customers/{id}"));
    }
    // Alternative Payments wants a token from its own endpoint (any client, unless the file
    // names clients); SwissPay any sk_test_ bearer token.
    let mut form = hyper::HeaderMap::new();
    form.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let token_req = Req {
        method: hyper::Method::POST,
        path: "/oauth/token".into(),
        query: "".into(),
        headers: form,
        body: bytes::Bytes::from_static(
            b"grant_type=client_credentials&client_id=sandbox_client&client_secret=sandbox_secret",
        ),
    };
    let reply = handle(&app, &token_req);
    specbox_fuzz::check_reply(&token_req, &reply);
    let oauth = serde_json::from_slice::<serde_json::Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("access_token").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "none".into());
    for path in paths {
        let bearer = if path.starts_with("/api/v1") {
            "Bearer sk_test_fuzz".to_string()
        } else {
            format!("Bearer {oauth}")
        };
        let mut headers = hyper::HeaderMap::new();
        if let Ok(v) = hyper::header::HeaderValue::from_str(&bearer) {
            headers.insert("authorization", v);
        }
        for query in ["", "limit=1", "per_page=1&page=2"] {
            let req = Req {
                method: hyper::Method::GET,
                path: path.as_str().into(),
                query: query.into(),
                headers: headers.clone(),
                body: bytes::Bytes::new(),
            };
            let reply = handle(&app, &req);
            specbox_fuzz::check_reply(&req, &reply);
        }
    }
});
