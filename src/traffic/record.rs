//! Recordings: every exchange specbox serves, written as HAR 1.2, and read back.
//!
//! The file is a complete, valid HAR document at every moment, so a crash loses at most the
//! exchanges still in flight and any tool can open a recording that is still growing. That is
//! done without rewriting the file: it always ends with the same closing text (`]}}`), and a new
//! entry is written by seeking back over that suffix and writing `,<entry>` plus the suffix
//! again. One writer thread owns the file, fed by a bounded channel; entries are serialised (and
//! redacted) by the request's own task, so the writer only copies bytes and a slow disk pushes
//! back on the requests instead of growing memory.
//!
//! HAR has no place for what specbox knows about an exchange, so entries carry custom fields
//! (HAR wants them to start with `_`): `_operationId`, `_spec` (the spec's file stem), `_tenant`
//! (a fingerprint of the credential, never the credential), `_injected`, `_upstream`,
//! `_contractViolations`, `_timeout` and `_replayed`.

use crate::traffic::redact::{MARKER, Redactor};
use base64::Engine;
use hyper::HeaderMap;
use serde_json::{Value, json};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// What the file always ends with; every write puts it back.
const SUFFIX: &[u8] = b"\n]}}\n";

/// How many serialised entries may wait for the writer before requests wait for it.
const QUEUE: usize = 4096;

/// What specbox learned about an exchange beyond the request and the response.
#[derive(Debug, Default, Clone)]
pub struct Notes {
    /// The upstream base URL a proxied request went to.
    pub upstream: Option<String>,
    /// The upstream did not answer within `--proxy-timeout`.
    pub timeout: bool,
    /// Ways the upstream's response breaks the spec.
    pub contract_violations: Vec<String>,
    /// The response came from a recording.
    pub replayed: bool,
    /// A webhook or callback specbox sent: the event's name (`_webhook`), and the URL it went to.
    pub webhook: Option<(String, String)>,
}

/// One exchange, borrowed from the server's request and reply.
pub struct Exchange<'a> {
    pub started: SystemTime,
    pub took: Duration,
    pub http_version: &'a str,
    /// `host[:port]` the client addressed (for the request URL).
    pub host: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub request_headers: &'a HeaderMap,
    pub request_body: &'a [u8],
    pub status: u16,
    pub response_headers: &'a [(String, String)],
    pub response_body: &'a [u8],
    pub operation_id: Option<&'a str>,
    pub spec: Option<&'a str>,
    pub tenant: Option<&'a str>,
    pub injected: Option<&'a str>,
    pub notes: &'a Notes,
}

/// The recording in progress.
pub struct Recorder {
    path: PathBuf,
    redactor: Redactor,
    tx: parking_lot::RwLock<Option<SyncSender<Vec<u8>>>>,
    writer: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl Recorder {
    /// Creates (or truncates) the file and writes an empty HAR document, so a path that cannot
    /// be written is reported at startup rather than on the first request.
    pub fn open(path: &Path, redactor: Redactor) -> Result<Recorder, String> {
        let fail = |e: std::io::Error| format!("cannot write the recording {}: {e}", path.display());
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(fail)?;
        let creator = json!({"name": "specbox", "version": env!("CARGO_PKG_VERSION")});
        let prefix = format!(r#"{{"log":{{"version":"1.2","creator":{creator},"pages":[],"entries":["#);
        file.write_all(prefix.as_bytes()).map_err(fail)?;
        file.write_all(SUFFIX).map_err(fail)?;
        file.flush().map_err(fail)?;
        let (tx, rx) = sync_channel(QUEUE);
        let end = prefix.len() as u64;
        let shown = path.display().to_string();
        let writer = std::thread::Builder::new()
            .name("specbox-recorder".into())
            .spawn(move || write_loop(file, rx, end, &shown))
            .map_err(|e| format!("cannot start the recorder: {e}"))?;
        Ok(Recorder {
            path: path.to_path_buf(),
            redactor,
            tx: parking_lot::RwLock::new(Some(tx)),
            writer: parking_lot::Mutex::new(Some(writer)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues one exchange. Called before the response leaves, so a client that saw a response
    /// can count on its exchange being in the file once specbox has stopped.
    pub fn record(&self, ex: &Exchange) {
        let entry = entry(ex, &self.redactor);
        let bytes = match serde_json::to_vec(&entry) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("cannot serialise a recorded exchange: {e}");
                return;
            }
        };
        let guard = self.tx.read();
        let Some(tx) = guard.as_ref() else {
            tracing::warn!("recording already closed; {} {} not recorded", ex.method, ex.path);
            return;
        };
        // Full queue: wait for the disk (a lost entry is worse than a slower response).
        match tx.try_send(bytes) {
            Ok(()) => {}
            Err(TrySendError::Full(bytes)) => {
                if tx.send(bytes).is_err() {
                    tracing::error!("the recorder stopped; {} {} not recorded", ex.method, ex.path);
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("the recorder stopped; {} {} not recorded", ex.method, ex.path);
            }
        }
    }

    /// Closes the queue and waits until everything queued is on disk. Exchanges that finish
    /// after this are not recorded.
    pub fn finish(&self) {
        drop(self.tx.write().take());
        if let Some(writer) = self.writer.lock().take()
            && writer.join().is_err()
        {
            tracing::error!("the recorder's writer thread failed");
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish();
    }
}

fn write_loop(mut file: File, rx: Receiver<Vec<u8>>, mut end: u64, path: &str) {
    let mut wrote_any = false;
    let mut failed = false;
    while let Ok(entry) = rx.recv() {
        // Take whatever else is already waiting: one write and one flush for a burst.
        let mut batch = vec![entry];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let mut buf = Vec::with_capacity(batch.iter().map(|e| e.len() + 2).sum::<usize>() + SUFFIX.len());
        for (i, e) in batch.iter().enumerate() {
            buf.extend_from_slice(if i == 0 && !wrote_any { b"\n" } else { b",\n" });
            buf.extend_from_slice(e);
        }
        let written = buf.len() as u64;
        buf.extend_from_slice(SUFFIX);
        let result = file
            .seek(SeekFrom::Start(end))
            .and_then(|_| file.write_all(&buf))
            // After a failed write the file may hold a longer, broken tail: cut it off.
            .and_then(|_| {
                if failed {
                    file.set_len(end + buf.len() as u64)
                } else {
                    Ok(())
                }
            })
            .and_then(|_| file.flush());
        match result {
            Ok(()) => {
                end += written;
                wrote_any = true;
                failed = false;
            }
            // Keep serving (a full disk must not take the sandbox down); say so once per outage.
            Err(e) => {
                if !failed {
                    tracing::error!("cannot write to the recording {path}: {e}");
                }
                failed = true;
            }
        }
    }
    if let Err(e) = file.sync_data() {
        tracing::error!("cannot sync the recording {path}: {e}");
    }
}

/// A HAR entry for one exchange, with secrets redacted.
fn entry(ex: &Exchange, redactor: &Redactor) -> Value {
    use har::v1_2 as h;
    let (query, _) = redactor.form(ex.query);
    let url = if let Some((_, url)) = &ex.notes.webhook {
        url.clone()
    } else if query.is_empty() {
        format!("http://{}{}", ex.host, ex.path)
    } else {
        format!("http://{}{}?{query}", ex.host, ex.path)
    };
    let query_string = crate::exchange::parts::form_pairs(query.as_bytes())
        .map(|(name, value)| h::QueryString {
            name,
            value,
            comment: None,
        })
        .collect();
    let request_headers: Vec<h::Headers> = ex
        .request_headers
        .iter()
        .map(|(k, v)| h::Headers {
            name: k.as_str().to_string(),
            value: redactor
                .header(k.as_str(), &String::from_utf8_lossy(v.as_bytes()))
                .to_string(),
            comment: None,
        })
        .collect();
    let request_type = ex.request_headers.get("content-type").and_then(|v| v.to_str().ok());
    let post_data = (!ex.request_body.is_empty()).then(|| {
        let (body, _) = redactor.body(request_type, ex.request_body);
        h::PostData {
            mime_type: request_type.unwrap_or("").to_string(),
            text: Some(String::from_utf8_lossy(&body).into_owned()),
            params: None,
            comment: None,
        }
    });
    let response_type = ex
        .response_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.as_str());
    let (body, _) = redactor.body(response_type, ex.response_body);
    let (text, encoding) = match String::from_utf8(body) {
        Ok(t) => (t, None),
        Err(e) => (
            base64::engine::general_purpose::STANDARD.encode(e.as_bytes()),
            Some("base64".to_string()),
        ),
    };
    let response_headers: Vec<h::Headers> = ex
        .response_headers
        .iter()
        .map(|(k, v)| h::Headers {
            name: k.clone(),
            value: redactor.header(k, v).to_string(),
            comment: None,
        })
        .collect();
    let location = ex
        .response_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map_or(String::new(), |(_, v)| v.clone());
    // Microsecond precision is plenty, and keeps float noise (0.6685340000000001) out of the file.
    let ms = (ex.took.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let har_entry = h::Entries {
        pageref: None,
        started_date_time: humantime::format_rfc3339_millis(ex.started).to_string(),
        time: ms,
        request: h::Request {
            method: ex.method.to_string(),
            url,
            http_version: ex.http_version.to_string(),
            cookies: Vec::new(),
            headers: request_headers,
            query_string,
            post_data,
            headers_size: -1,
            body_size: ex.request_body.len() as i64,
            comment: None,
        },
        response: h::Response {
            status: i64::from(ex.status),
            status_text: crate::model::errors::reason(ex.status).to_string(),
            http_version: ex.http_version.to_string(),
            cookies: Vec::new(),
            headers: response_headers,
            content: h::Content {
                size: ex.response_body.len() as i64,
                compression: None,
                mime_type: Some(response_type.unwrap_or("").to_string()),
                text: (!text.is_empty()).then_some(text),
                encoding,
                comment: None,
            },
            redirect_url: Some(location),
            headers_size: -1,
            body_size: ex.response_body.len() as i64,
            comment: None,
        },
        cache: h::Cache::default(),
        timings: h::Timings {
            blocked: None,
            dns: None,
            connect: None,
            send: 0.0,
            wait: ms,
            receive: 0.0,
            ssl: None,
            comment: None,
        },
        server_ip_address: None,
        connection: None,
        comment: None,
    };
    let mut value = serde_json::to_value(&har_entry).unwrap_or(Value::Null);
    if let Some(obj) = value.as_object_mut() {
        let mut put = |k: &str, v: Value| {
            obj.insert(k.to_string(), v);
        };
        if let Some(op) = ex.operation_id {
            put("_operationId", op.into());
        }
        if let Some(spec) = ex.spec {
            put("_spec", spec.into());
        }
        if let Some(tenant) = ex.tenant {
            put("_tenant", tenant_label(tenant).into());
        }
        if let Some(injected) = ex.injected {
            put("_injected", injected.into());
        }
        if let Some((event, _)) = &ex.notes.webhook {
            put("_webhook", event.as_str().into());
        }
        if let Some(up) = &ex.notes.upstream {
            put("_upstream", up.as_str().into());
        }
        if !ex.notes.contract_violations.is_empty() {
            put("_contractViolations", json!(ex.notes.contract_violations));
        }
        if ex.notes.timeout {
            put("_timeout", true.into());
        }
        if ex.notes.replayed {
            put("_replayed", true.into());
        }
    }
    value
}

/// Tenants are named by their credential (an API key is its own tenant), which must not reach
/// the file. A fingerprint still groups one tenant's exchanges; the shared tenant keeps its name.
fn tenant_label(tenant: &str) -> String {
    use std::hash::{Hash, Hasher};
    if tenant == crate::pipeline::auth::DEFAULT_TENANT {
        return tenant.to_string();
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tenant.hash(&mut h);
    format!("tenant-{:016x}", h.finish())
}

// ---------------------------------------------------------------------------------------------
// Reading recordings back
// ---------------------------------------------------------------------------------------------

/// One entry of a recording, with what `replay` and `fixtures` need from it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub index: usize,
    pub method: String,
    pub path: String,
    /// The raw query string, as recorded (secrets already redacted).
    pub query: String,
    pub request_type: Option<String>,
    pub request_body: Vec<u8>,
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
    pub response_type: Option<String>,
    pub response_body: Vec<u8>,
}

impl Recorded {
    /// True when redaction removed something from the response body (a token endpoint's
    /// answer): such a response is not what the API said and cannot be served as if it were.
    pub fn response_redacted(&self) -> bool {
        let needle = format!("\"{MARKER}\"");
        self.response_body.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    pub fn response_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.response_body).ok()
    }
}

/// Reads a HAR file (1.2, or any version whose entries have the 1.2 fields).
pub fn read(path: &Path) -> Result<Vec<Recorded>, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc: Value = serde_json::from_slice(&text).map_err(|e| format!("{} is not a HAR file: {e}", path.display()))?;
    let entries = doc
        .pointer("/log/entries")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{} is not a HAR file: no log.entries", path.display()))?;
    let mut out = Vec::with_capacity(entries.len());
    for (index, raw) in entries.iter().enumerate() {
        // A webhook specbox sent is not a request it served: replay and fixtures skip it.
        if raw.get("_webhook").is_some() {
            continue;
        }
        let e: har::v1_2::Entries = serde_json::from_value(raw.clone())
            .map_err(|err| format!("{}#/log/entries/{index}: {err}", path.display()))?;
        out.push(from_har(index, e));
    }
    Ok(out)
}

fn from_har(index: usize, e: har::v1_2::Entries) -> Recorded {
    let (path, query) = split_url(&e.request.url);
    let (request_type, request_body) = match e.request.post_data {
        Some(pd) => (
            Some(pd.mime_type).filter(|m| !m.is_empty()),
            pd.text.unwrap_or_default().into_bytes(),
        ),
        None => (None, Vec::new()),
    };
    let content = e.response.content;
    let text = content.text.unwrap_or_default();
    let response_body = if content.encoding.as_deref() == Some("base64") {
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .unwrap_or_default()
    } else {
        text.into_bytes()
    };
    Recorded {
        index,
        method: e.request.method.to_ascii_uppercase(),
        path,
        query,
        request_type,
        request_body,
        status: u16::try_from(e.response.status).unwrap_or(0),
        response_headers: e.response.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        response_type: content.mime_type.filter(|m| !m.is_empty()),
        response_body,
    }
}

/// `http://host:1/a/b?x=1#f` → (`/a/b`, `x=1`); a bare `/a?x` works too.
fn split_url(url: &str) -> (String, String) {
    let after_scheme = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    };
    let without_fragment = after_scheme.split('#').next().unwrap_or("");
    match without_fragment.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (without_fragment.to_string(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_path_and_query() {
        assert_eq!(
            split_url("http://h:1/a/b?x=1&y#f"),
            ("/a/b".to_string(), "x=1&y".to_string())
        );
        assert_eq!(split_url("https://h"), ("/".to_string(), String::new()));
        assert_eq!(split_url("/a?x"), ("/a".to_string(), "x".to_string()));
    }

    #[test]
    fn the_file_is_valid_har_after_every_entry() {
        let path = std::env::temp_dir().join(format!("specbox-unit-{}.har", std::process::id()));
        let rec = Recorder::open(&path, Redactor::default()).expect("open");
        let empty: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("valid when empty");
        assert_eq!(empty["log"]["entries"], json!([]));
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer sk_secret".parse().expect("header"));
        let notes = Notes::default();
        for i in 0..3 {
            let path_i = format!("/things/{i}");
            rec.record(&Exchange {
                started: SystemTime::now(),
                took: Duration::from_millis(1),
                http_version: "HTTP/1.1",
                host: "localhost",
                method: "POST",
                path: &path_i,
                query: "",
                request_headers: &headers,
                request_body: br#"{"password":"hunter2"}"#,
                status: 201,
                response_headers: &[("content-type".into(), "application/json".into())],
                response_body: br#"{"id":1}"#,
                operation_id: Some("create"),
                spec: Some("things"),
                tenant: Some("sk_secret"),
                injected: None,
                notes: &notes,
            });
        }
        rec.finish();
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("sk_secret") && !text.contains("hunter2"), "{text}");
        // Other tools read it too: the har crate's own parser accepts it.
        let parsed = har::from_path(&path).expect("a HAR document");
        assert_eq!(parsed.version(), har::HarVersion::V1_2);
        let entries = read(&path).expect("parse");
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].path, "/things/2");
        let _ = std::fs::remove_file(&path);
    }
}
