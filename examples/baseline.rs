//! The benchmark's yardstick: a bare hyper server that answers every request with one fixed JSON body.
//!
//! Same stack as specbox (hyper 1, hyper-util's auto builder, tokio's multi-thread runtime), none of
//! its work (routing, credentials, validation, state), so `bench/run.sh` can report specbox's
//! throughput as a fraction of what the HTTP stack alone does on the same machine.
//!
//! ```text
//! cargo run --release --example baseline -- PORT [BODY_FILE]
//! ```
//!
//! It listens on 127.0.0.1:PORT. The body is BODY_FILE's bytes when given (run.sh passes specbox's
//! own GET-one-customer response, so both send the same number of bytes), else a built-in copy of it.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::process::ExitCode;

/// Used when no body file is given: specbox's answer to `GET /customers/f38b2ffc-...` on the bundled
/// specs and fixtures (480 bytes).
const DEFAULT_BODY: &str = r#"{"city":"Chicago","country":"US","created_at":"2026-01-12T15:02:37Z","customer_integration_id":"qbo-1043","default_payment_method_id":"pm_01KESF85Z09XXBSPV775XG3DNE","ein":"84-2917364","email":"accounts.payable@northwind-logistics.example.com","external_id":"CUST-10021","id":"f38b2ffc-80a4-4f5a-91c9-bc701e7ea419","legal_name":"Northwind Logistics LLC","name":"Northwind Logistics","postal_code":"60607","state":"IL","street_address":"1450 W Fulton St","sub_premise":"Suite 300"}"#;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(port) = args.next().and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: baseline PORT [BODY_FILE]");
        return ExitCode::from(2);
    };
    let body = match args.next() {
        Some(path) => match std::fs::read(&path) {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                eprintln!("baseline: cannot read {path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => Bytes::from_static(DEFAULT_BODY.as_bytes()),
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("baseline: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("baseline: cannot listen on 127.0.0.1:{port}: {e}");
                return ExitCode::from(2);
            }
        };
        eprintln!(
            "baseline listening on http://127.0.0.1:{port} ({} byte body)",
            body.len()
        );
        let builder = auto::Builder::new(TokioExecutor::new());
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("baseline: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let body = body.clone();
            let builder = builder.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req: Request<Incoming>| {
                    let mut resp = Response::new(Full::new(body.clone()));
                    resp.headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = builder.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}
