//! Any document, as YAML or JSON: parsing, loading (bundling, `$ref` checks, 3.0 normalisation)
//! and compiling into an `Api` (routes, validators, resources) must never panic; errors are fine.
//! A document that compiles is then served: an app is built from it (no fixtures, auth off, so
//! requests get past credentials) and every operation gets a few requests (plain, with every
//! query parameter set, with a JSON or form body, and with `Prefer: dynamic=true`), whose replies
//! must keep `specbox_fuzz::check_reply`'s invariants.
#![no_main]

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method};
use libfuzzer_sys::fuzz_target;
use specbox::exchange::Req;
use specbox::http::dispatch as handle;
use specbox::model::Api;
use specbox::model::schema::Location;
use specbox::spec::load;
use specbox::spec::read::parse_text;
use specbox::startup::{AppOptions, build_app};
use std::path::Path;

/// `/a/{id}/b/{x}` → `/a/x1/b/x1`.
fn fill_template(route: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in route.chars() {
        match c {
            '{' => in_param = true,
            '}' if in_param => {
                in_param = false;
                out.push_str("x1");
            }
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

fn serve(api: Api) {
    let ops: Vec<(Method, String, String, Vec<String>)> = api
        .ops
        .iter()
        .take(12)
        .map(|op| {
            let query = op
                .params
                .iter()
                .filter(|p| p.location == Location::Query)
                .map(|p| format!("{0}=1&{0}=a,2", p.name))
                .collect::<Vec<_>>()
                .join("&");
            let media = op
                .body
                .iter()
                .flat_map(|b| b.media.iter().map(|m| m.media_type.clone()))
                .collect();
            (op.method.clone(), fill_template(&op.route), query, media)
        })
        .collect();
    let opts = AppOptions {
        auth_enabled: false,
        ..specbox_fuzz::fuzz_options()
    };
    let Ok((app, _)) = build_app(api, Path::new("/nonexistent-specbox-fixtures"), opts) else {
        return;
    };
    let send = |method: &Method,
                path: &str,
                query: &str,
                ct: Option<&str>,
                prefer: Option<&'static str>,
                body: &'static str| {
        let mut headers = HeaderMap::new();
        if let Some(ct) = ct.and_then(|c| HeaderValue::from_str(c).ok()) {
            headers.insert("content-type", ct);
        }
        if let Some(p) = prefer {
            headers.insert("prefer", HeaderValue::from_static(p));
        }
        let req = Req {
            method: method.clone(),
            path: path.into(),
            query: query.into(),
            headers,
            body: Bytes::from_static(body.as_bytes()),
        };
        let reply = handle(&app, &req);
        specbox_fuzz::check_reply(&req, &reply);
    };
    for (method, path, query, media) in &ops {
        send(method, path, "", None, None, "");
        send(method, path, query, None, Some("dynamic=true"), "");
        if !query.is_empty() {
            send(method, path, query, None, None, "");
        }
        for m in media.iter().take(3) {
            let body = if m.contains("form") {
                "a=1&b=x&b=2"
            } else {
                "{\"a\":1,\"id\":\"x1\"}"
            };
            send(method, path, "", Some(m), None, body);
            send(method, path, "", Some(m), Some("dynamic=true"), body);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = specbox_fuzz::scratch_dir("spec");
    for name in ["fuzz.yaml", "fuzz.json"] {
        let Ok(value) = parse_text(Path::new(name), text) else {
            continue;
        };
        if !value.is_object() {
            continue;
        }
        let file = dir.join(name);
        if std::fs::write(&file, text).is_err() {
            continue;
        }
        let Ok(doc) = load(&file) else {
            continue;
        };
        if let Ok(api) = Api::build(vec![doc], &Default::default()) {
            serve(api);
        }
    }
});
