//! Loading specs as vendors publish them, proved over HTTP: `$ref`s to other files everywhere
//! (DigitalOcean), numbers beyond 64 bits, a `$ref` to nothing as a warning (Square) and `--strict`,
//! Swagger 2.0 (single and multi-file), OpenAPI 3.2, specs and `$ref`s fetched from a URL, and overlays.

use crate::common;

use common::{Server, conforms, root};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};

const NO_FIXTURES: [&str; 2] = ["--fixtures", "/nonexistent"];

/// `specbox check` on `args`: exit code, stdout, stderr.
fn check(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_specbox"))
        .current_dir(root())
        .arg("check")
        .args(args)
        .args(NO_FIXTURES)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn digitalocean_operations_written_as_refs_to_other_files_are_served() {
    let s = Server::start(
        &["tests/corpus/digitalocean/specification/DigitalOcean-public.v2.yaml"],
        &NO_FIXTURES,
    );
    let log = s.log_text();
    assert!(log.contains("mounted DigitalOcean API 2.0 at /"), "{log}");
    // An operation defined in resources/account/account_get.yml, its response in another file.
    let r = s.get("/v2/account").bearer("dop_v1_test").send().expect(200);
    let account = conforms(&s, "account_get", &r);
    assert!(account["account"]["email"].is_string(), "{account:#}");
    // Its security came along: without a token, 401.
    s.get("/v2/account").send().expect(401);
    // Parameters from a shared file (`parameters.yml#/oneClicks_type`) are validated.
    let r = s
        .get("/v2/1-clicks?type=droplet")
        .bearer("dop_v1_test")
        .send()
        .expect(200);
    conforms(&s, "oneClicks_list", &r);
    s.get("/v2/1-clicks?type=nonsense")
        .bearer("dop_v1_test")
        .send()
        .expect(400);
    // Every operation's `default` response is a `$ref` to a shared file: an error no other status
    // covers answers in its shape (it was once taken for a schema's literal `default`, left
    // unresolved, and answered with no body).
    let bad = s
        .delete("/v2/add-ons/saas/not-a-uuid")
        .bearer("dop_v1_test")
        .send()
        .expect(400);
    let error = conforms(&s, "addons_delete", &bad);
    assert!(error["id"].is_string() && error["message"].is_string(), "{error}");
}

#[test]
fn integers_beyond_64_bits_load_as_bounds() {
    // DigitalOcean's mysql `group_concat_max_len` (in the body of `databases_patch_config`) has
    // `maximum: 18446744073709552000`, which once failed the whole spec in YAML parsing. How such a
    // number is kept is checked in `spec::read`'s unit tests.
    let (code, out, err) = check(
        &["tests/corpus/digitalocean/specification/DigitalOcean-public.v2.yaml"],
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("databases_patch_config"), "{out}");
    assert!(out.contains("0 warning(s): ok"), "{out}");
}

#[test]
fn a_ref_to_nothing_is_a_warning_naming_file_and_pointer_and_strict_makes_it_fatal() {
    let spec = "tests/corpus/square/api.json";
    let pointer = "tests/corpus/square/api.json#/components/schemas/CatalogModifierOverride/properties/on_by_default_override/$ref";
    let (code, out, err) = check(&[spec], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains(&format!("warning: {pointer}")), "{err}");
    assert!(err.contains("CatalogModifierToggleOverrideType"), "{err}");
    assert!(out.contains("5 warning(s): ok"), "{out}");

    let (code, _, err) = check(&[spec, "--strict"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("error: {pointer}")), "{err}");
    assert!(err.contains("5 problem(s); nothing is served"), "{err}");
    // Refused over another spec's error, the warnings are still told, as warnings.
    let (code, _, err) = check(&[spec, "tests/specs/broken/admin-clash.yaml"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("warning: {pointer}")), "{err}");
    assert!(err.contains("error: tests/specs/broken/admin-clash.yaml"), "{err}");
    assert!(err.contains("1 problem(s); nothing is served"), "{err}");
    let (code, _, err) = check(&[spec], &[("SPECBOX_STRICT", "true")]);
    assert_eq!(code, Some(2), "{err}");

    // Served, the warning is logged and the schema behind the `$ref` accepts anything.
    let s = Server::start(&[spec], &["--no-auth", "--fixtures", "/nonexistent"]);
    assert!(s.log_text().contains(pointer), "{}", s.log_text());
    let r = s
        .post("/v2/catalog/object")
        .json(&json!({
            "idempotency_key": "k1",
            "object": {"type": "ITEM", "id": "#item", "item_data": {"name": "Tea", "modifier_list_info": [
                {"modifier_list_id": "m1", "allow_quantities": {"any": ["thing"]}}
            ]}}
        }))
        .send();
    assert!(r.status < 300, "{} {}", r.status, r.text());
}

#[test]
fn paths_that_differ_only_in_parameter_names_are_a_warning_and_a_request_goes_to_the_one_it_fits() {
    // Published specs have such pairs (`/Contacts/{ContactNumber}`, any text, before
    // `/Contacts/{ContactID}`, a UUID): all are served.
    let spec = "tests/specs/broken/duplicate-route.yaml";
    let later = [
        "tests/specs/broken/duplicate-route.yaml#/paths/~1things~1{id}/get",
        "tests/specs/broken/duplicate-route.yaml#/paths/~1things~1{thingId}/get",
    ];
    let (code, out, err) = check(&[spec], &[]);
    assert_eq!(code, Some(0), "{err}");
    for pointer in later {
        assert!(err.contains(&format!("warning: {pointer}")), "{err}");
    }
    assert!(err.contains("same as /paths/~1things~1{thingName}/get"), "{err}");
    assert!(out.contains("2 warning(s): ok"), "{out}");
    let (code, _, err) = check(&[spec, "--strict"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("error: {}", later[0])), "{err}");

    let s = Server::start(&[spec], &["--no-auth", "--fixtures", "/nonexistent"]);
    assert!(s.log_text().contains(later[1]), "{}", s.log_text());
    let answered_by = |path: &str| {
        s.get(path).send().expect(200);
        let journal = s.get("/__specbox/requests").send().expect(200).json();
        journal["requests"][0]["operationId"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // The paths that constrain their parameter first, though the spec lists the open one first.
    assert_eq!(
        answered_by("/things/3fa85f64-5717-4562-b3fc-2c963f66afa6"),
        "getThingById"
    );
    assert_eq!(answered_by("/things/42"), "getThingByThingId");
    assert_eq!(answered_by("/things/blue-widget"), "getThingByName");
}

#[test]
fn swagger_2_petstore_is_converted_and_served() {
    let s = Server::start(
        &["tests/corpus/oai/v2.0/yaml/petstore-expanded.yaml"],
        &["--no-auth", "--fixtures", "/nonexistent"],
    );
    assert!(
        s.log_text().contains("mounted Swagger Petstore 1.0.0 at /api"),
        "{}",
        s.log_text()
    );
    let created = s.post("/api/pets").json(&json!({"name": "Rex", "tag": "dog"})).send();
    assert!(created.status == 200 || created.status == 201, "{}", created.text());
    let pet = conforms(&s, "addPet", &created);
    assert_eq!(pet["name"], "Rex");
    // `name` is required by the converted body schema.
    s.post("/api/pets").json(&json!({"tag": "dog"})).send().expect(400);
    // The `tags` query parameter (collectionFormat csv) and `limit` (int32) are validated.
    let r = s.get("/api/pets?tags=dog,cat&limit=5").send().expect(200);
    conforms(&s, "findPets", &r);
    s.get("/api/pets?limit=many").send().expect(400);

    let s = Server::start(
        &["tests/corpus/oai/v2.0/yaml/api-with-examples.yaml"],
        &["--no-auth", "--fixtures", "/nonexistent"],
    );
    // The example given for application/json, a JSON text in Swagger, is served as JSON.
    let r = s.get("/").send().expect(200);
    let body = conforms(&s, "listVersionsv2", &r);
    assert_eq!(body["versions"][0]["id"], "v2.0", "{body:#}");
}

#[test]
fn swagger_2_split_over_files_is_converted_and_served() {
    let s = Server::start(&["tests/specs/loading/swagger-multi/api.yaml"], &["--no-auth"]);
    // `definitions.yaml#/definitions/NewPet`: its `required` and `minLength` apply.
    s.post("/v1/pets").json(&json!({"name": ""})).send().expect(400);
    let created = s
        .post("/v1/pets")
        .json(&json!({"name": "Rex", "tag": null}))
        .send()
        .expect(201);
    let pet = conforms(&s, "addPet", &created);
    assert_eq!(pet["name"], "Rex");
    assert!(pet["id"].is_i64(), "{pet:#}");
    // `parameters.yaml#/parameters/limit`: an integer up to 100.
    let list = s.get("/v1/pets?limit=10").send().expect(200);
    conforms(&s, "listPets", &list);
    s.get("/v1/pets?limit=101").send().expect(400);
    // `/pets/{id}` is a path item in paths/pet.yaml, with its own `#/definitions/Error` and a
    // `../definitions.yaml` reference: converted like the rest.
    let id = pet["id"].as_i64().unwrap();
    let r = s.get(&format!("/v1/pets/{id}")).send().expect(200);
    assert_eq!(conforms(&s, "getPet", &r)["name"], "Rex");
    s.get("/v1/pets/rex").send().expect(400);
    s.delete(&format!("/v1/pets/{id}")).send().expect(204);
    let gone = s.get(&format!("/v1/pets/{id}")).send().expect(404);
    conforms(&s, "getPet", &gone);
}

#[test]
fn openapi_3_2_methods_and_the_tags_example_are_served() {
    let s = Server::start(
        &["tests/specs/loading/v32.yaml"],
        &["--no-auth", "--fixtures", "/nonexistent"],
    );
    let r = s
        .request("QUERY", "/things")
        .json(&json!({"name": "x"}))
        .send()
        .expect(200);
    assert_eq!(r.json(), json!([{"id": "t1", "name": "found"}]));
    let r = s.request("COPY", "/things/t1").send().expect(201);
    assert_eq!(r.json(), json!({"id": "t2", "name": "copy"}));
    s.request("MOVE", "/things/t1").send().expect(405);
    // A `querystring` parameter is accepted (not validated); an `itemSchema` response is served.
    s.get("/stream?name=a&anything=else").send().expect(200);

    let s = Server::start(
        &["tests/corpus/oai/v3.2/3.2-tags-example.yaml"],
        &["--no-auth", "--fixtures", "/nonexistent"],
    );
    assert!(
        s.log_text().contains("mounted Flight API 1.0.0 at / (4 operations)"),
        "{}",
        s.log_text()
    );
    s.get("/flights/delayed").send().expect(200);
}

/// A tiny HTTP/1.1 file server on 127.0.0.1 for the duration of a test: `files` by path; anything
/// else is a 404. It records the paths asked for.
fn file_server(files: HashMap<&'static str, &'static str>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
            seen.lock().unwrap().push(path.clone());
            let (status, body) = match files.get(path.as_str()) {
                Some(b) => ("200 OK", *b),
                None => ("404 Not Found", "not here"),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, asked)
}

const REMOTE_SPEC: &str = r#"
openapi: 3.1.0
info: {title: Remote, version: "1"}
paths:
  /greeting:
    get:
      operationId: getGreeting
      parameters:
        - $ref: 'shared/parameters.yaml#/lang'
      responses:
        "200":
          description: a greeting
          content:
            application/json:
              schema: {$ref: 'schemas/greeting.json'}
              example: {text: hello, lang: en}
"#;

#[test]
fn a_spec_and_its_relative_refs_are_fetched_from_a_url() {
    let (base, asked) = file_server(HashMap::from([
        ("/api/openapi.yaml", REMOTE_SPEC),
        (
            "/api/schemas/greeting.json",
            r#"{"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}, "lang": {"type": "string"}}}"#,
        ),
        (
            "/api/shared/parameters.yaml",
            "lang: {name: lang, in: query, schema: {type: string, enum: [en, de]}}\n",
        ),
    ]));
    let url = format!("{base}/api/openapi.yaml");
    let s = Server::start(&[url.as_str()], &["--no-auth", "--fixtures", "/nonexistent"]);
    assert!(
        s.log_text()
            .contains(&format!("mounted Remote 1 at / (1 operations) from {url}")),
        "{}",
        s.log_text()
    );
    let r = s.get("/greeting?lang=en").send().expect(200);
    assert_eq!(r.json(), json!({"text": "hello", "lang": "en"}));
    s.get("/greeting?lang=fr").send().expect(400);
    let asked = asked.lock().unwrap().clone();
    for path in [
        "/api/openapi.yaml",
        "/api/schemas/greeting.json",
        "/api/shared/parameters.yaml",
    ] {
        assert!(asked.iter().any(|a| a == path), "{path} not fetched: {asked:?}");
    }
}

#[test]
fn a_url_that_cannot_be_fetched_is_a_clear_error() {
    // A port nothing listens on.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/openapi.yaml");
    let (code, _, err) = check(&[url.as_str()], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("error: {url}: cannot fetch {url}")), "{err}");

    // A `$ref` to a file the server does not have: the error names it, the status and the `$ref`.
    let (base, _) = file_server(HashMap::from([("/api/openapi.yaml", REMOTE_SPEC)]));
    let url = format!("{base}/api/openapi.yaml");
    let (code, _, err) = check(&[url.as_str()], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "cannot fetch {base}/api/shared/parameters.yaml: HTTP 404 Not Found"
        )),
        "{err}"
    );
    assert!(
        err.contains("reached by $ref \"shared/parameters.yaml#/lang\""),
        "{err}"
    );
}

#[test]
fn an_overlay_beside_a_spec_changes_what_is_served() {
    // catalog.overlay.yaml sets `x-specbox-mount: /sandbox` and replaces the example; it is not
    // itself loaded as a spec from the directory.
    let s = Server::start(
        &["tests/specs/loading/overlay"],
        &["--no-auth", "--fixtures", "/nonexistent"],
    );
    let log = s.log_text();
    assert!(log.contains("mounted Catalog 1 at /sandbox (1 operations)"), "{log}");
    assert_eq!(log.matches("mounted").count(), 1, "{log}");
    let r = s.get("/sandbox/status").send().expect(200);
    assert_eq!(r.json(), json!({"state": "overlaid"}));
    s.get("/status").send().expect(404);
}

#[test]
fn overlay_flag_applies_to_the_spec_extends_names_and_warns_of_targets_that_select_nothing() {
    let s = Server::start(
        &[
            "tests/specs/loading/overlay/catalog.yaml",
            "tests/specs/loading/v32.yaml",
        ],
        &[
            "--no-auth",
            "--fixtures",
            "/nonexistent",
            "--overlay",
            "tests/specs/loading/overlays/extra.yaml",
        ],
    );
    let r = s.get("/sandbox/extra").send().expect(200);
    assert_eq!(r.json(), json!({"extra": true}));
    let log = s.log_text();
    assert!(
        log.contains("tests/specs/loading/overlays/extra.yaml#/actions/1/target: action 1 (a route that is not there"),
        "{log}"
    );
    assert!(log.contains("the target selects nothing"), "{log}");

    // With --strict that warning stops startup; SPECBOX_OVERLAY names the overlay too.
    let (code, _, err) = check(
        &["tests/specs/loading/overlay/catalog.yaml", "--strict"],
        &[("SPECBOX_OVERLAY", "tests/specs/loading/overlays/extra.yaml")],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("extra.yaml#/actions/1/target"), "{err}");
}

#[test]
fn an_overlay_that_fits_no_spec_or_is_invalid_stops_startup() {
    let (code, _, err) = check(
        &[
            "tests/specs/loading/v32.yaml",
            "tests/corpus/oai/v3.1/tictactoe.yaml",
            "--overlay",
            "tests/specs/loading/overlays/broken.yaml",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("broken.yaml: cannot tell which spec this overlay applies to"),
        "{err}"
    );

    let (code, _, err) = check(
        &[
            "tests/specs/loading/v32.yaml",
            "--overlay",
            "tests/specs/loading/overlays/broken.yaml",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("tests/specs/loading/overlays/broken.yaml#/actions/0/target: action 0: `$.paths[` is not a valid RFC 9535 JSONPath query"),
        "{err}"
    );
}

#[test]
fn every_corpus_spec_loads() {
    let specs = [
        "tests/corpus/adyen/CheckoutService-v71.json",
        "tests/corpus/adyen/Webhooks-v1.json",
        "tests/corpus/twilio/twilio_api_v2010.json",
        "tests/corpus/square/api.json",
        "tests/corpus/oai/v2.0/yaml/petstore-expanded.yaml",
        "tests/corpus/oai/v2.0/yaml/api-with-examples.yaml",
        "tests/corpus/oai/v3.0/callback-example.yaml",
        "tests/corpus/oai/v3.0/link-example.yaml",
        "tests/corpus/oai/v3.0/uspto.yaml",
        "tests/corpus/oai/v3.1/tictactoe.yaml",
        "tests/corpus/oai/v3.1/webhook-example.yaml",
        "tests/corpus/oai/v3.2/3.2-tags-example.yaml",
    ];
    for spec in specs {
        let (code, out, err) = check(&[spec], &[]);
        assert_eq!(code, Some(0), "{spec}:\n{err}");
        assert!(out.contains(": ok"), "{spec}:\n{out}");
    }
}

#[test]
fn vendor_extensions_and_prose_are_dropped_but_names_and_examples_stay() {
    // Two operations whose code samples are `$ref`s to files that do not exist: only an
    // extension names them, so they are never read, and the spec loads.
    let s = Server::start(&["tests/specs/loading/extensions/api.yaml"], &NO_FIXTURES);
    // The security scheme called `x-api-key` is a name, not an extension: still required.
    s.get("/widgets").send().expect(401);
    let key = ("X-Api-Key", "k");
    let r = s.get("/widgets").header(key.0, key.1).send().expect(200);
    let list = conforms(&s, "listWidgets", &r);
    // An example is data: its `description` and `x-tag` stay.
    let seeded = &list["data"][0];
    assert_eq!(
        seeded["description"], "An example's own description is data, and stays.",
        "{list:#}"
    );
    assert_eq!(seeded["x-tag"], 3, "{list:#}");
    // The property called `x-tag` (in a file of its own) is a property: required, and an integer.
    s.post("/widgets")
        .header(key.0, key.1)
        .json(&json!({"name": "a"}))
        .send()
        .expect(400);
    s.post("/widgets")
        .header(key.0, key.1)
        .json(&json!({"name": "a", "x-tag": "three"}))
        .send()
        .expect(400);
    let made = s
        .post("/widgets")
        .header(key.0, key.1)
        .json(&json!({"name": "a", "x-tag": 4, "description": "mine"}))
        .send()
        .expect(201);
    let widget = conforms(&s, "createWidget", &made);
    assert_eq!(
        (&widget["x-tag"], &widget["description"]),
        (&json!(4), &json!("mine")),
        "{widget:#}"
    );
    // What nothing reads is gone from the served document; the names are there.
    let root = s.api().specs[0].root().to_string();
    for gone in [
        "x-codeSamples",
        "x-logo",
        "x-tagGroups",
        "x-go-type",
        "x-internal",
        "Every widget.",
    ] {
        assert!(!root.contains(gone), "{gone} is still in {root}");
    }
    assert!(root.contains("\"x-api-key\"") && root.contains("\"x-tag\""), "{root}");
}

#[test]
fn a_keyword_no_validator_reads_is_ignored_with_a_warning_and_strict_refuses_it() {
    let spec = "tests/specs/loading/keywords/jobs.yaml";
    let minimum = "jobs.yaml#/components/schemas/NewJob/properties/rate/oneOf/1/exclusiveMinimum";
    let pattern = "jobs.yaml#/paths/~1jobs~1{id}/get/parameters/0/schema/pattern";
    let (code, out, err) = check(&[spec], &[]);
    assert_eq!(code, Some(0), "{err}");
    for pointer in [minimum, pattern] {
        assert!(err.contains(&format!("warning: {spec}")), "{err}");
        assert!(err.contains(pointer), "{pointer} in {err}");
    }
    assert!(err.contains("the keyword is ignored"), "{err}");
    assert!(out.contains("2 warning(s): ok"), "{out}");

    let (code, _, err) = check(&[spec, "--strict"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "error: tests/specs/{}",
            minimum.replace("jobs.yaml", "loading/keywords/jobs.yaml")
        )),
        "{err}"
    );
    assert!(err.contains("(an error with --strict)"), "{err}");

    // Served, the rest of each schema still holds.
    let s = Server::start(&[spec], &NO_FIXTURES);
    assert!(s.log_text().contains(minimum), "{}", s.log_text());
    let made = s
        .post("/jobs")
        .json(&json!({"model": "m", "rate": 0.5}))
        .send()
        .expect(201);
    let job = conforms(&s, "createJob", &made);
    assert_eq!((&job["model"], &job["rate"]), (&json!("m"), &json!(0.5)), "{job}");
    s.post("/jobs").json(&json!({"rate": 0.5})).send().expect(400);
    s.post("/jobs")
        .json(&json!({"model": "m", "rate": -1}))
        .send()
        .expect(400);
    s.post("/jobs")
        .json(&json!({"model": "m", "rate": "fast"}))
        .send()
        .expect(400);
    let id = job["id"].as_str().unwrap();
    conforms(&s, "getJob", &s.get(&format!("/jobs/{id}")).send().expect(200));
}

#[test]
fn a_root_extension_naming_a_file_that_is_not_there_is_not_read() {
    let spec = "tests/specs/loading/extensions/policies.yaml";
    let (code, out, err) = check(&[spec], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("0 warning(s): ok"), "{out}");
    let s = Server::start(&[spec], &NO_FIXTURES);
    let albums = s.get("/albums").send().expect(200);
    assert_eq!(conforms(&s, "listAlbums", &albums), json!(["Abbey Road"]));
}
