//! `--watch`: a real specbox serving a spec copied to a temporary directory, edited under it.
//!
//! Every wait is a bounded poll of what the server answers (a new route, a new entry in
//! `GET /__specbox/reloads`), never a sleep that assumes how long a reload takes.

use crate::common;

use common::{Server, poll};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SPEC: &str = r##"openapi: 3.1.0
info: {title: Shop, version: "1"}
paths:
  /widgets:
    get:
      operationId: listWidgets
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Widget'}}}}}
    post:
      operationId: createWidget
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/NewWidget'}}}}
      responses:
        '201': {description: created, content: {application/json: {schema: {$ref: '#/components/schemas/Widget'}}}}
  /widgets/{id}:
    get:
      operationId: getWidget
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Widget'}}}}
        '404': {description: not found}
  /gadgets:
    post:
      operationId: createGadget
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/NewGadget'}}}}
      responses:
        '201': {description: created, content: {application/json: {schema: {$ref: '#/components/schemas/Gadget'}}}}
  /gadgets/{id}:
    get:
      operationId: getGadget
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Gadget'}}}}
        '404': {description: not found}
#EXTRA_PATHS
components:
  schemas:
    Widget:
      type: object
      required: [id, name]
      properties: {id: {type: string}, name: {type: string}}
    NewWidget:
      type: object
      required: [name]
      properties: {name: {type: string}}
    Gadget:
      type: object
      required: [id, name]
      properties: {id: {type: string}, name: {type: string}#GADGET_FIELDS
      }
    NewGadget:
      type: object
      required: [name]
      properties: {name: {type: string}}
"##;

const STATUS_PATH: &str = r##"  /status:
    get:
      operationId: getStatus
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}, example: {healthy: true}}}}
"##;

fn fixtures(widget_name: &str) -> String {
    format!(
        "resources:\n  /widgets:\n    - {{id: w_fix, name: {widget_name}}}\n  /gadgets:\n    - {{id: g_fix, name: Fixed gadget}}\n"
    )
}

/// A directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("specbox-watch-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("fixtures/shop")).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spec(extra_paths: &str, gadget_fields: &str) -> String {
    SPEC.replace("#EXTRA_PATHS\n", extra_paths)
        .replace("#GADGET_FIELDS", gadget_fields)
}

/// One HTTP/1.1 connection kept open across requests (the harness's client closes each).
struct KeepAlive {
    reader: BufReader<TcpStream>,
    addr: String,
}

impl KeepAlive {
    fn open(addr: &str) -> KeepAlive {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        KeepAlive {
            reader: BufReader::new(stream),
            addr: addr.to_string(),
        }
    }

    /// Sends a request and reads its response (status and body) off the same connection.
    fn send(&mut self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        assert!(
            line.starts_with("HTTP/1.1 "),
            "not a response on the kept connection: {line:?}"
        );
        let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            assert!(
                !lower.starts_with("connection: close"),
                "the server closed the kept connection"
            );
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut buf = vec![0; length];
        self.reader.read_exact(&mut buf).unwrap();
        (status, serde_json::from_slice(&buf).unwrap_or(Value::Null))
    }
}

/// How long a reload is given (it takes well under a second; the bound only keeps a broken watcher
/// from hanging the suite).
const WAIT: Duration = Duration::from_secs(20);

fn reloads(server: &Server) -> Vec<Value> {
    let body = server.get("/__specbox/reloads").send().expect(200).json();
    body["reloads"].as_array().cloned().unwrap_or_default()
}

/// The next reload after the `seen` first ones.
fn next_reload(server: &Server, seen: usize) -> Value {
    poll(WAIT, "a new entry in /__specbox/reloads", || {
        reloads(server).get(seen).cloned()
    })
}

fn names(v: &Value) -> Vec<&str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

/// Writes a file whole, as editors that save by rename do: the watcher never reads it half
/// written (a truncate-then-write save can be caught between the two on a loaded machine, which
/// is a refused reload that the next event repairs, and this test counts reloads).
fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn edits_reload_live_keeping_state_and_connections() {
    let dir = TempDir::new("edits");
    let spec_file = dir.0.join("shop.yaml");
    let fixture_file = dir.0.join("fixtures/shop/items.yaml");
    write(&spec_file, &spec("", ""));
    write(&fixture_file, &fixtures("Fixed widget"));
    let spec_arg = spec_file.to_str().unwrap();
    let fixtures_arg = dir.0.join("fixtures");
    let server = Server::start(&[spec_arg], &["--watch", "--fixtures", fixtures_arg.to_str().unwrap()]);
    assert!(reloads(&server).is_empty());

    let mut conn = KeepAlive::open(&server.addr);
    let (status, widget) = conn.send("POST", "/widgets", Some(&json!({"name": "made by a client"})));
    assert_eq!(status, 201, "{widget}");
    let widget_id = widget["id"].as_str().unwrap().to_string();
    let gadget = server
        .post("/gadgets")
        .json(&json!({"name": "g"}))
        .send()
        .expect(201)
        .json();
    let gadget_id = gadget["id"].as_str().unwrap().to_string();
    server.get("/status").send().expect(404);
    let rule = json!({"operationId": "getGadget", "status": 503, "skip": 1000});
    server.post("/__specbox/faults").json(&rule).send().expect(201);

    // A new path: served once the reload is in, with what clients created still there.
    write(&spec_file, &spec(STATUS_PATH, ""));
    let status = poll(WAIT, "the new route to answer", || {
        let r = server.get("/status").send();
        (r.status == 200).then(|| r.json())
    });
    assert_eq!(status, json!({"healthy": true}));
    let (code, got) = conn.send("GET", &format!("/widgets/{widget_id}"), None);
    assert_eq!((code, got["name"].as_str()), (200, Some("made by a client")));
    server.get(&format!("/gadgets/{gadget_id}")).send().expect(200);
    let first = next_reload(&server, 0);
    assert_eq!(first["ok"], true, "{first}");
    assert!(
        names(&first["files"]).iter().any(|f| f.ends_with("shop.yaml")),
        "{first}"
    );
    assert_eq!(names(&first["kept"]), ["shop:/widgets", "shop:/gadgets"], "{first}");
    assert!(names(&first["reset"]).is_empty(), "{first}");
    assert!(first["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{first}");
    let faults = server.get("/__specbox/faults").send().expect(200).json();
    assert_eq!(
        faults["rules"][0]["operationId"], "getGadget",
        "fault rules survive: {faults}"
    );

    // A broken edit (invalid YAML): the running version keeps serving; the error names the file.
    write(&spec_file, "openapi: 3.1.0\npaths: [unclosed\n");
    let broken = next_reload(&server, 1);
    assert_eq!(broken["ok"], false, "{broken}");
    let error = broken["error"].as_str().unwrap_or_default();
    assert!(error.contains("shop.yaml"), "{broken}");
    server.get("/status").send().expect(200);
    let (code, _) = conn.send("GET", &format!("/widgets/{widget_id}"), None);
    assert_eq!(code, 200);

    // A spec the loader refuses: the error has the file and the JSON pointer, in the log too.
    let refused = spec(STATUS_PATH, "").replace("in: path, required: true", "in: body, required: true");
    write(&spec_file, &refused);
    let broken = next_reload(&server, 2);
    assert_eq!(broken["ok"], false, "{broken}");
    let error = broken["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("shop.yaml#/paths/~1widgets~1{id}/get/parameters/0"),
        "{broken}"
    );
    let logged = server.log_with("reload refused");
    assert!(logged.contains("shop.yaml#/paths/"), "{logged}");
    server.get("/status").send().expect(200);

    // A schema change to gadgets: they start from the fixtures again; widgets are kept.
    write(&spec_file, &spec(STATUS_PATH, ", color: {type: string}"));
    let changed = next_reload(&server, 3);
    assert_eq!(changed["ok"], true, "{changed}");
    assert_eq!(names(&changed["kept"]), ["shop:/widgets"], "{changed}");
    assert_eq!(names(&changed["reset"]), ["shop:/gadgets"], "{changed}");
    server.get(&format!("/gadgets/{gadget_id}")).send().expect(404);
    server.get("/gadgets/g_fix").send().expect(200);
    let (code, _) = conn.send("GET", &format!("/widgets/{widget_id}"), None);
    assert_eq!(code, 200);

    // A fixture edit: the resource it seeds starts from the new fixtures.
    write(&fixture_file, &fixtures("Renamed widget"));
    let renamed = poll(WAIT, "the edited fixture to be served", || {
        let (code, body) = conn.send("GET", "/widgets/w_fix", None);
        (code == 200 && body["name"] == "Renamed widget").then_some(body)
    });
    assert_eq!(renamed["id"], "w_fix");
    let fixture_reload = next_reload(&server, 4);
    assert!(
        names(&fixture_reload["files"])
            .iter()
            .any(|f| f.ends_with("items.yaml")),
        "{fixture_reload}"
    );
    assert_eq!(names(&fixture_reload["reset"]), ["shop:/widgets"], "{fixture_reload}");
    assert_eq!(names(&fixture_reload["kept"]), ["shop:/gadgets"], "{fixture_reload}");
    let (code, _) = conn.send("GET", &format!("/widgets/{widget_id}"), None);
    assert_eq!(code, 404);

    // The journal kept every request across the reloads, with the operations named.
    let journal = server
        .get("/__specbox/requests?operationId=createWidget")
        .send()
        .expect(200)
        .json();
    assert_eq!(journal["requests"].as_array().map(Vec::len), Some(1), "{journal}");
    assert_eq!(journal["requests"][0]["spec"], "Shop");
    assert_eq!(reloads(&server).len(), 5);
}

/// A multi-file spec with an overlay: the file a `$ref` leads to and the overlay are watched too.
#[test]
fn referenced_files_and_overlays_are_watched() {
    let dir = TempDir::new("refs");
    let spec_file = dir.0.join("shop.yaml");
    let schemas = dir.0.join("schemas.yaml");
    let overlay = dir.0.join("shop.overlay.yaml");
    let multi = spec("", "").replace("$ref: '#/components/schemas/Widget'", "$ref: './schemas.yaml#/Widget'");
    write(&spec_file, &multi);
    let widget = |extra: &str| {
        format!(
            "Widget:\n  type: object\n  required: [id, name]\n  properties: {{id: {{type: string}}, name: {{type: string}}{extra}}}\n"
        )
    };
    write(&schemas, &widget(""));
    let overlay_text = |v: u16| {
        format!(
            "overlay: 1.0.0\ninfo: {{title: t, version: '1'}}\nactions:\n  - target: $.paths\n    update:\n      /ping:\n        get:\n          responses: {{'200': {{description: ok, content: {{application/json: {{schema: {{type: object}}, example: {{v: {v}}}}}}}}}}}\n"
        )
    };
    write(&overlay, &overlay_text(1));
    let fixtures_arg = dir.0.join("fixtures");
    let server = Server::start(
        &[spec_file.to_str().unwrap()],
        &["--watch", "--fixtures", fixtures_arg.to_str().unwrap()],
    );
    let id = server
        .post("/widgets")
        .json(&json!({"name": "w"}))
        .send()
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(server.get("/ping").send().expect(200).json(), json!({"v": 1}));

    // The overlay changes the example the added operation answers with.
    write(&overlay, &overlay_text(2));
    let first = next_reload(&server, 0);
    assert_eq!(first["ok"], true, "{first}");
    assert!(
        names(&first["files"]).iter().any(|f| f.ends_with("shop.overlay.yaml")),
        "{first}"
    );
    assert_eq!(server.get("/ping").send().expect(200).json(), json!({"v": 2}));
    server.get(&format!("/widgets/{id}")).send().expect(200);

    // The schema in the referenced file changes: widgets start afresh.
    write(&schemas, &widget(", size: {type: integer}"));
    let second = next_reload(&server, 1);
    assert!(
        names(&second["files"]).iter().any(|f| f.ends_with("schemas.yaml")),
        "{second}"
    );
    assert_eq!(names(&second["reset"]), ["shop:/widgets"], "{second}");
    server.get(&format!("/widgets/{id}")).send().expect(404);

    // The referenced file gone: refused, naming the spec's $ref; the running version stays.
    std::fs::remove_file(&schemas).unwrap();
    let third = next_reload(&server, 2);
    assert_eq!(third["ok"], false, "{third}");
    assert!(
        third["error"].as_str().unwrap_or_default().contains("schemas.yaml"),
        "{third}"
    );
    server
        .post("/widgets")
        .json(&json!({"name": "w", "size": 3}))
        .send()
        .expect(201);
}
