//! specbox as a library, for a project's own `cargo test`: a running sandbox on an ephemeral
//! 127.0.0.1 port, its URL, its journal and its admin calls as methods, stopped when dropped.
//!
//! ```
//! use std::io::{Read, Write};
//!
//! // Any OpenAPI document; this one is written here so that the example stands alone.
//! let dir = std::env::temp_dir().join(format!("specbox-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let spec = dir.join("pets.yaml");
//! std::fs::write(&spec, "openapi: 3.1.0
//! info: {title: Pets, version: '1'}
//! paths:
//!   /pets:
//!     get:
//!       operationId: listPets
//!       responses:
//!         '200':
//!           description: the pets
//!           content:
//!             application/json:
//!               schema: {type: array, items: {type: object}}
//! ").unwrap();
//! let sandbox = specbox::Sandbox::builder()
//!     .spec(&spec)
//!     .fixtures(dir.join("fixtures")) // none: state starts from the spec's examples
//!     .start()
//!     .expect("the sandbox starts");
//! // Point the client under test at `sandbox.url()`; here, a bare HTTP/1.1 request.
//! let addr = sandbox.url().trim_start_matches("http://").to_string();
//! let mut conn = std::net::TcpStream::connect(&addr).unwrap();
//! write!(conn, "GET /pets HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
//! let mut answer = String::new();
//! conn.read_to_string(&mut answer).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
//! // Then ask the sandbox what it saw.
//! assert_eq!(sandbox.requests("listPets"), 1);
//! // Dropping it stops it.
//! ```
//!
//! It is the top layer: it builds what `startup` builds and runs what `http` runs, on a thread of
//! its own with its own runtime, so a synchronous test needs no async runtime of its own, and an
//! async one is not blocked by the server.

use crate::http::{self, Limits, Traffic};
use crate::spec::error::SpecError;
use crate::startup::{self, App, AppOptions, LoadOptions};
use crate::traffic::journal::{Filter, JournalEntry};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What a sandbox serves and how (see [`Sandbox::builder`]).
#[derive(Default)]
pub struct Builder {
    specs: Vec<PathBuf>,
    fixtures: Option<PathBuf>,
    overlays: Vec<PathBuf>,
    no_auth: bool,
    tls: bool,
}

impl Builder {
    /// A spec file or directory to serve (more than one may be given).
    pub fn spec(mut self, path: impl Into<PathBuf>) -> Builder {
        self.specs.push(path.into());
        self
    }

    /// The fixtures directory (`<dir>/<spec file stem>/*.yaml`); none by default.
    pub fn fixtures(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.fixtures = Some(dir.into());
        self
    }

    /// An OpenAPI Overlay 1.0 file to apply (as `--overlay`).
    pub fn overlay(mut self, path: impl Into<PathBuf>) -> Builder {
        self.overlays.push(path.into());
        self
    }

    /// Accept requests without credentials (as `--no-auth`).
    pub fn no_auth(mut self) -> Builder {
        self.no_auth = true;
        self
    }

    /// Serve HTTPS (h2 and HTTP/1.1) with a certificate generated for 127.0.0.1 and localhost,
    /// as `--tls`; the client under test trusts [`Sandbox::ca_pem`].
    pub fn tls(mut self) -> Builder {
        self.tls = true;
        self
    }

    /// Loads everything and starts serving; every problem with the specs or fixtures is returned,
    /// with file and pointer, as `specbox check` reports them.
    pub fn start(self) -> Result<Sandbox, Vec<SpecError>> {
        let load = LoadOptions {
            overlays: self.overlays,
            ..LoadOptions::default()
        };
        let loaded = startup::load(&self.specs, &load)?;
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        let defaults = AppOptions::default();
        let opts = AppOptions {
            auth_enabled: !self.no_auth,
            ..defaults
        };
        let fixtures = self
            .fixtures
            .unwrap_or_else(|| PathBuf::from("/nonexistent/specbox-fixtures"));
        let (app, _) = startup::build_app(loaded.api, &fixtures, opts)?;
        let app = Arc::new(app);
        let io = |e: std::io::Error| {
            vec![SpecError::new(
                std::path::Path::new("127.0.0.1"),
                "",
                format!("cannot serve: {e}"),
            )]
        };
        let tls_args = crate::startup::cli::TlsArgs {
            tls: self.tls,
            ..Default::default()
        };
        let tls = http::tls::from_args(&tls_args, "127.0.0.1").map_err(|problems| {
            let at = std::path::Path::new("--tls");
            problems
                .into_iter()
                .map(|p| SpecError::new(at, "", p))
                .collect::<Vec<_>>()
        })?;
        let ca_pem = tls.as_ref().and_then(|t| t.ca_pem.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().map_err(io)?);
        let tls = tls.map(|t| t.config);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = app.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(io)?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let limits = Limits {
                    max_body: 1 << 20,
                    header_read_timeout: Duration::from_secs(10),
                    max_connections: 4096,
                    max_headers: 100,
                    shutdown_grace: Duration::from_secs(5),
                };
                let shutdown = async {
                    let _ = stopped.await;
                };
                if let Err(e) = http::run(serving, Arc::new(Traffic::default()), listener, limits, tls, shutdown).await
                {
                    tracing::error!("the sandbox stopped: {e}");
                }
            });
        });
        Ok(Sandbox {
            url,
            ca_pem,
            app,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// A running sandbox; dropped, it stops (in-flight requests get a few seconds to finish).
pub struct Sandbox {
    url: String,
    ca_pem: Option<String>,
    app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sandbox {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// `http://127.0.0.1:<port>` (`https://` with [`Builder::tls`]); a spec is served under its
    /// mount (`/api/v1`, say) below it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// With [`Builder::tls`]: the CA certificate (PEM) the client under test must trust.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The journal's entries for an operation (newest first), as `GET /__specbox/requests` lists them.
    pub fn journal(&self, operation_id: &str) -> Vec<JournalEntry> {
        let query = format!("operationId={operation_id}");
        match Filter::from_query(&query) {
            Ok(filter) => self.app.journal.query(&filter),
            Err(_) => Vec::new(),
        }
    }

    /// How many requests the operation has had.
    pub fn requests(&self, operation_id: &str) -> usize {
        self.journal(operation_id).len()
    }

    /// Restores the fixtures (and the spec's example items) for every tenant.
    pub fn reset(&self) {
        let engine = self.app.engine.load_full();
        if let Ok(Err(e)) = block_on(engine.store.reset(None)) {
            tracing::warn!("reset: {}", e.message);
        }
    }

    /// Adds a fault rule, as `POST /__specbox/faults` takes it (`{"operationId": ..., "status": 503}`);
    /// returns the rule as stored, or why it is refused.
    pub fn fault(&self, rule: Value) -> Result<Value, String> {
        let engine = self.app.engine.load_full();
        block_on(engine.faults.add(&engine.store, &rule))?
    }
}

/// Runs one of the engine's async calls (a Redis store waits for its answers) for a caller of this
/// synchronous API, which has no runtime of its own: on a small one made for the call.
fn block_on<T>(f: impl std::future::Future<Output = T>) -> Result<T, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok(rt.block_on(f))
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
