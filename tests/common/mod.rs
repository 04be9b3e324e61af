//! Test harness: a real specbox process on an ephemeral port, a plain HTTP/1.1 client, and a
//! conformance check of every response against the schema its spec declares.
//!
//! The client is a few lines over `std::net::TcpStream` on purpose: it sends exactly what a test
//! says (malformed bodies, odd headers), sees transport faults as they are, and costs nothing to
//! compile. No test waits on a timer: the server is ready when it prints its address.
//!
//! `redis` starts a `redis-server` of a test's own; `cluster` runs several specbox replicas on
//! one store (memory, or that Redis), for the state tests of tests/store.rs.

#![allow(dead_code)]

pub mod cluster;
pub mod conformance;
pub mod instance;
pub mod openapi;
pub mod operations;
pub mod receiver;
pub mod redis;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

/// Polls `check` until it gives a value; panics, naming `what`, once `bound` has passed. The bound
/// only keeps a broken server from hanging the suite: nothing waits on it when things work.
pub fn poll<T>(bound: std::time::Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + bound;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "waited {bound:?} for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running specbox, killed on drop.
pub struct Server {
    child: Child,
    pub addr: String,
    pub log: Arc<Mutex<Vec<String>>>,
    /// Spec files it serves, for conformance checks.
    specs: Vec<PathBuf>,
    api: OnceLock<specbox::model::Api>,
}

impl Server {
    /// The bundled specs and fixtures, as `cargo run` serves them.
    pub fn bundled() -> Server {
        Server::start(&["specs"], &["--fixtures", "fixtures"])
    }

    /// Starts specbox with spec paths (relative to the repo) and extra flags.
    pub fn start(specs: &[&str], flags: &[&str]) -> Server {
        Server::try_start(specs, flags).unwrap_or_else(|log| panic!("specbox did not start:\n{log}"))
    }

    /// Like [`Server::start`], but a server that does not start is an `Err` with its log.
    pub fn try_start(specs: &[&str], flags: &[&str]) -> Result<Server, String> {
        let mut args: Vec<&str> = specs.to_vec();
        args.extend(["--host", "127.0.0.1", "--port", "0", "--log", "info"]);
        args.extend(flags);
        Server::try_start_raw(&args, specs)
    }

    /// Starts specbox with exactly these arguments (which must make it listen on 127.0.0.1, port
    /// 0); `specs` are the spec files, for conformance checks.
    pub fn try_start_raw(args: &[&str], specs: &[&str]) -> Result<Server, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_specbox"));
        cmd.current_dir(root()).args(args);
        cmd.stdout(Stdio::null()).stderr(Stdio::piped()).stdin(Stdio::null());
        let mut child = cmd.spawn().expect("spawn specbox");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut reader = BufReader::new(stderr);
        let mut addr = None;
        let mut line = String::new();
        // Read until the server says where it listens (or dies).
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            log.lock().unwrap().push(line.clone());
            // http:// or, with --tls, https://: `addr` is host:port either way.
            let start = ["listening on http://", "listening on https://"]
                .iter()
                .find_map(|p| line.find(p).map(|i| i + p.len()));
            if let Some(start) = start {
                let rest = &line[start..];
                addr = Some(rest.split_whitespace().next().unwrap_or("").to_string());
                break;
            }
            line.clear();
        }
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(log.lock().unwrap().join(""));
        };
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push(line.clone());
                line.clear();
            }
        });
        let specs = specs.iter().map(|s| root().join(s)).collect();
        Ok(Server {
            child,
            addr,
            log,
            specs,
            api: OnceLock::new(),
        })
    }

    pub fn request(&self, method: &str, path: &str) -> Req<'_> {
        Req {
            server: self,
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: std::time::Duration::from_secs(120),
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.request("GET", path)
    }
    pub fn post(&self, path: &str) -> Req<'_> {
        self.request("POST", path)
    }
    pub fn patch(&self, path: &str) -> Req<'_> {
        self.request("PATCH", path)
    }
    pub fn put(&self, path: &str) -> Req<'_> {
        self.request("PUT", path)
    }
    pub fn delete(&self, path: &str) -> Req<'_> {
        self.request("DELETE", path)
    }

    /// The compiled model of the specs this server runs (for conformance checks).
    pub fn api(&self) -> &specbox::model::Api {
        self.api
            .get_or_init(|| specbox::startup::load_api(&self.specs, &[]).unwrap_or_else(|e| panic!("{e:?}")))
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id();
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        self.child.wait().expect("wait")
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("")
    }

    /// The log once it holds `needle` (the server writes its log through a pipe that a thread
    /// reads, so a line may arrive after the answer it follows); polled, up to 30 s, then a panic.
    pub fn log_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let text = self.log_text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the log never said {needle:?}:\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failing test shows what the server said and what its threads were doing: a request
        // that was never answered is then told apart from one the server never saw.
        if std::thread::panicking() {
            eprintln!("{}", self.post_mortem());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's last log lines and the state of each of its threads (from /proc: `S` and
    /// the kernel function it waits in, such as `futex_wait` or `ep_poll`).
    pub fn post_mortem(&self) -> String {
        let mut out = String::from("--- specbox log (last 40 lines) ---\n");
        if let Ok(log) = self.log.lock() {
            for line in log.iter().rev().take(40).collect::<Vec<_>>().into_iter().rev() {
                out.push_str(line);
            }
        }
        out.push_str("--- specbox threads ---\n");
        let task = format!("/proc/{}/task", self.child.id());
        for entry in std::fs::read_dir(&task).into_iter().flatten().flatten() {
            let dir = entry.path();
            let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
            let stat = read("stat");
            // The state is the field after the parenthesised command name.
            let state = stat
                .rsplit_once(") ")
                .map_or("?", |(_, rest)| &rest[..1.min(rest.len())]);
            out.push_str(&format!(
                "{} {} {} {}\n",
                entry.file_name().to_string_lossy(),
                read("comm").trim(),
                state,
                read("wchan")
            ));
        }
        out
    }
}

/// A request being built.
pub struct Req<'a> {
    server: &'a Server,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: std::time::Duration,
}

impl Req<'_> {
    /// How long the answer may take (default 120 s); past it, `try_send` is an `Err`.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = timeout;
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }
    pub fn json(mut self, v: &Value) -> Self {
        self.body = serde_json::to_vec(v).unwrap();
        self.header("Content-Type", "application/json")
    }
    pub fn raw(mut self, content_type: &str, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self.header("Content-Type", content_type)
    }
    pub fn body_bytes(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    pub fn send(self) -> Resp {
        self.try_send().unwrap_or_else(|e| panic!("request failed: {e}"))
    }

    /// Sends the request; a transport failure is an `Err` (for fault tests).
    pub fn try_send(self) -> std::io::Result<Resp> {
        let mut stream = TcpStream::connect(&self.server.addr)?;
        // A bound, not a timing: an answer that never comes fails the test instead of hanging CI.
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.method, self.path, self.server.addr
        );
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !self.body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        // A server may answer (413) and close before a large body is written: read its answer.
        let wrote = stream.write_all(&self.body);
        let mut raw = Vec::new();
        let read = stream.read_to_end(&mut raw);
        if raw.is_empty() {
            wrote?;
            read?;
        }
        Resp::parse(&raw, self.method, self.path).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP response: {:?}", String::from_utf8_lossy(&raw)),
            )
        })
    }
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub method: String,
    pub path: String,
}

impl Resp {
    fn parse(raw: &[u8], method: String, path: String) -> Option<Resp> {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&raw[..split]).ok()?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?;
        if !status_line.starts_with("HTTP/1.") {
            return None;
        }
        let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Some(Resp {
            status,
            headers,
            body,
            method,
            path,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} {}: body is not JSON ({e}): {}", self.method, self.path, self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status, showing the body when it differs.
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status,
            status,
            "{} {} answered {}: {}",
            self.method,
            self.path,
            self.status,
            self.text()
        );
        self
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&body[..eol]).unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
    out
}

/// The operation a response answered, found the way the server finds it (by method and path),
/// and checked to be the one the test meant.
fn find_op<'a>(
    api: &'a specbox::model::Api,
    resp: &Resp,
    operation_id: &str,
) -> &'a specbox::model::operation::Operation {
    let (path, query) = resp.path.split_once('?').unwrap_or((&resp.path, ""));
    let method = hyper::Method::from_bytes(resp.method.as_bytes()).unwrap();
    let op = match api.router.find_in(&method, path, query) {
        specbox::model::router::Match::Found { target, .. } => api.op(target),
        // 404/405 answers: the operation named by the test, within the spec the path falls under.
        _ => {
            let spec = api.router.spec_for_path(path);
            api.ops.iter().find(|o| o.id == operation_id && Some(o.spec) == spec)
        }
    };
    let op = op.unwrap_or_else(|| panic!("no operation for {} {path}", resp.method));
    assert_eq!(op.id, operation_id, "{} {path} is served by {}", resp.method, op.id);
    op
}

/// Asserts that a response validates against the schema its spec declares for the operation
/// and status (found by operationId); returns the JSON body.
/// The `id`s of a list page's `data` items, in order.
pub fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array: {body}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

pub fn conforms(server: &Server, operation_id: &str, resp: &Resp) -> Value {
    let api = server.api();
    let op = find_op(api, resp, operation_id);
    let spec = &api.specs[op.spec];
    let declared = op.response_for(resp.status);
    let declared = declared.unwrap_or_else(|| {
        panic!(
            "{operation_id} answered {} which it does not declare: {}",
            resp.status,
            resp.text()
        )
    });
    let Some(validator) = declared.validator(&spec.compiler) else {
        return if resp.body.is_empty() { Value::Null } else { resp.json() };
    };
    let body = resp.json();
    let violations = validator.violations(spec.root(), &body, specbox::model::schema::Location::Body, "");
    assert!(
        violations.is_empty(),
        "{operation_id} {} body does not match its schema: {violations:?}\n{body:#}",
        resp.status
    );
    body
}

/// Asserts that an error response validates against the schema the operation declares for its
/// status or, where it declares none, the API's common error schema.
pub fn conforms_error(server: &Server, operation_id: &str, resp: &Resp) -> Value {
    let api = server.api();
    let op = find_op(api, resp, operation_id);
    if op.documents(resp.status) {
        return conforms(server, operation_id, resp);
    }
    let spec = &api.specs[op.spec];
    let pointer = spec.errors.common.as_ref().expect("the spec has a common error schema");
    let schema = spec.compiler.compile(pointer).unwrap();
    let body = resp.json();
    let violations = schema.violations(spec.root(), &body, specbox::model::schema::Location::Body, "");
    assert!(
        violations.is_empty(),
        "{operation_id} {} error does not match {pointer}: {violations:?}\n{body:#}",
        resp.status
    );
    body
}

/// An OAuth2 access token for the Alternative Payments sandbox client.
pub fn ap_token(server: &Server) -> String {
    let resp = server
        .post("/oauth/token")
        .raw(
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&client_id=sandbox_client&client_secret=sandbox_secret",
        )
        .send()
        .expect(200);
    resp.json()["access_token"].as_str().unwrap().to_string()
}
