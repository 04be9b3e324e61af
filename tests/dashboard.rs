//! The dashboard (`/__specbox/ui`): its endpoints over plain HTTP, then the page itself in a real
//! browser (headless Chromium driven over WebDriver by `fantoccini`).
//!
//! The browser test needs `chromium` and `chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them). Where they cannot be found it says so loudly and
//! returns, so that `cargo test` still runs on a machine without a browser.

use crate::common;

use common::Server;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "dash-s3cret";
const KEY: &str = "sk_test_dashboard";

fn admin<'a>(server: &'a Server, method: &str, path: &str) -> common::Req<'a> {
    server.request(method, path).header("X-Specbox-Admin-Token", TOKEN)
}

fn customer(email: &str, country: &str) -> Value {
    json!({"email": email, "name": "Dash Board",
           "billing_address": {"line1": "Bahnhofstrasse 1", "city": "Zürich", "postal_code": "8001", "country": country}})
}

#[test]
fn the_page_is_small_html_and_protected_like_the_admin_api() {
    let server = Server::start(&["specs"], &["--fixtures", "fixtures", "--admin-token", TOKEN]);
    server.get("/__specbox/ui").send().expect(401);
    server.get("/__specbox/ui?token=wrong").send().expect(401);
    let page = server.get(&format!("/__specbox/ui?token={TOKEN}")).send().expect(200);
    assert!(
        page.header("content-type").unwrap().starts_with("text/html"),
        "{:?}",
        page.headers
    );
    assert!(
        page.body.len() < 200 * 1024,
        "the page weighs {} bytes",
        page.body.len()
    );
    let html = page.text();
    assert!(
        html.contains("<script>") && html.contains("X-Specbox-Admin-Token"),
        "the script is inlined"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing from the network"
    );
    // The header works as for every admin endpoint; the URL token only opens the page.
    admin(&server, "GET", "/__specbox/ui").send().expect(200);
    server
        .get(&format!("/__specbox/routes?token={TOKEN}"))
        .send()
        .expect(401);

    let open = Server::start(&["specs"], &["--fixtures", "fixtures"]);
    open.get("/__specbox/ui/").send().expect(200);
    let off = Server::start(&["specs"], &["--fixtures", "fixtures", "--no-admin"]);
    off.get("/__specbox/ui").send().expect(404);
}

#[test]
fn journal_entries_open_to_request_response_tenant_and_violations() {
    let server = Server::start(&["specs"], &["--fixtures", "fixtures", "--admin-token", TOKEN]);
    server
        .post("/api/v1/customers")
        .bearer(KEY)
        .json(&customer("journal@example.com", "CH"))
        .send()
        .expect(201);
    server
        .post("/api/v1/customers")
        .bearer(KEY)
        .json(&customer("bad@example.com", "XX"))
        .send()
        .expect(422);

    let all = admin(&server, "GET", "/__specbox/requests").send().expect(200).json();
    let list = all["requests"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{all:#}");
    let (newest, oldest) = (list[0]["seq"].as_u64().unwrap(), list[1]["seq"].as_u64().unwrap());
    assert!(newest > oldest);
    // The cursor: only what came after it.
    let after = admin(&server, "GET", &format!("/__specbox/requests?since={oldest}"))
        .send()
        .expect(200)
        .json();
    assert_eq!(after["requests"].as_array().unwrap().len(), 1, "{after:#}");
    assert_eq!(after["requests"][0]["seq"], newest);
    assert_eq!(after["next_seq"], newest + 1);

    let created = admin(&server, "GET", &format!("/__specbox/requests/{oldest}"))
        .send()
        .expect(200)
        .json();
    assert_eq!(created["status"], 201);
    assert_eq!(created["tenant"], KEY);
    assert!(
        created["request"]["body"]["text"]
            .as_str()
            .unwrap()
            .contains("journal@example.com")
    );
    assert!(
        created["response"]["body"]["text"]
            .as_str()
            .unwrap()
            .contains("journal@example.com")
    );
    let auth = created["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .unwrap();
    assert_eq!(auth[1], "[REDACTED]", "credentials are not shown");
    assert_eq!(created["violations"], json!([]));

    let refused = admin(&server, "GET", &format!("/__specbox/requests/{newest}"))
        .send()
        .expect(200)
        .json();
    assert_eq!(refused["status"], 422);
    assert_eq!(refused["tenant"], KEY, "a refused request keeps its tenant");
    let violations = refused["violations"].as_array().unwrap();
    assert!(
        violations
            .iter()
            .any(|v| v.as_str().unwrap().contains("billing_address.country")),
        "{refused:#}"
    );
    admin(&server, "GET", "/__specbox/requests/999999").send().expect(404);

    // A large body is kept cut short, with its real size.
    let big = format!("{{\"email\": \"{}@example.com\"}}", "x".repeat(100_000));
    server
        .post("/api/v1/customers")
        .bearer(KEY)
        .raw("application/json", big.as_bytes())
        .send();
    let seq = admin(&server, "GET", "/__specbox/requests?limit=1")
        .send()
        .expect(200)
        .json()["requests"][0]["seq"]
        .as_u64()
        .unwrap();
    let kept = admin(&server, "GET", &format!("/__specbox/requests/{seq}"))
        .send()
        .expect(200)
        .json();
    let body = &kept["request"]["body"];
    assert_eq!(body["size"], big.len());
    assert_eq!(body["truncated"], true);
    assert_eq!(body["text"].as_str().unwrap().len(), 64 * 1024);
}

#[test]
fn state_lists_tenants_collections_and_items_and_chaos_can_be_changed() {
    let server = Server::start(&["specs"], &["--fixtures", "fixtures", "--admin-token", TOKEN]);
    let made = server
        .post("/api/v1/customers")
        .bearer(KEY)
        .json(&customer("state@example.com", "CH"))
        .send()
        .expect(201)
        .json();
    let state = admin(&server, "GET", "/__specbox/state").send().expect(200).json();
    let tenant = state["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == KEY)
        .unwrap_or_else(|| panic!("{state:#}"));
    let customers = tenant["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["spec"] == "SwissPay" && c["collection"] == "/customers")
        .unwrap_or_else(|| panic!("{tenant:#}"));
    let fixtures = state["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == customers["resource"] && c["scope"] == "")
        .map_or(0, |c| c["count"].as_u64().unwrap());
    assert_eq!(customers["count"].as_u64().unwrap(), fixtures + 1, "{customers:#}");

    let query = format!(
        "/__specbox/state/items?tenant={KEY}&resource={}&limit=1000",
        customers["resource"]
    );
    let items = admin(&server, "GET", &query).send().expect(200).json();
    assert!(
        items["items"].as_array().unwrap().iter().any(|i| i["id"] == made["id"]),
        "{items:#}"
    );
    // Reset per tenant: back to the fixtures.
    admin(&server, "POST", &format!("/__specbox/reset?tenant={KEY}"))
        .send()
        .expect(200);
    let items = admin(&server, "GET", &query).send().expect(200).json();
    assert!(!items["items"].as_array().unwrap().iter().any(|i| i["id"] == made["id"]));

    assert_eq!(
        admin(&server, "GET", "/__specbox/chaos").send().expect(200).json(),
        json!({"rate": 0.0, "latency": null, "seed": 0})
    );
    admin(&server, "PUT", "/__specbox/chaos")
        .json(&json!({"rate": 1.0}))
        .send()
        .expect(200);
    let failed = server.get("/api/v1/customers").bearer(KEY).send();
    assert!(
        failed.status >= 500,
        "chaos at rate 1 fails every request: {}",
        failed.status
    );
    assert!(
        failed.header("x-specbox-injected").unwrap().contains("chaos"),
        "{:?}",
        failed.headers
    );
    let bad = admin(&server, "PUT", "/__specbox/chaos")
        .json(&json!({"rate": 3}))
        .send()
        .expect(400);
    assert!(bad.text().contains("rate"), "{}", bad.text());
    admin(&server, "PUT", "/__specbox/chaos")
        .json(&json!({"rate": 0}))
        .send()
        .expect(200);
    server.get("/api/v1/customers").bearer(KEY).send().expect(200);
}

// ---- the browser -----------------------------------------------------------------------------

/// An executable on the PATH.
fn find(names: &[&str]) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(exe: &std::path::Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        // Ready when it says so (it prints the line once it listens).
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let mut said = String::new();
        while out.read_line(&mut line).unwrap_or(0) > 0 {
            said.push_str(&line);
            if line.contains("started successfully") {
                break;
            }
            line.clear();
        }
        assert!(
            said.contains("started successfully"),
            "chromedriver did not start:\n{said}"
        );
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it returns `Some`, for up to 30 s (then panics with `what`).
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "the page never showed {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(client: &fantoccini::Client, css: &str) -> String {
    match client.find(fantoccini::Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_requests_and_its_fault_rules_fire() {
    let (Some(driver_exe), Some(_)) = (
        find(&["chromedriver"]),
        find(&["chromium", "chromium-browser", "google-chrome"]),
    ) else {
        eprintln!(
            "\n!!! SKIPPED the browser test of the dashboard: chromium and chromedriver were not found on PATH.\n\
             !!! Install them (Debian: apt-get install chromium chromium-driver); .ci/run does.\n"
        );
        return;
    };
    // A journal large enough for every request the test makes (1,000 of them to fill the page).
    let server = Server::start(
        &["specs"],
        &[
            "--fixtures",
            "fixtures",
            "--admin-token",
            TOKEN,
            "--journal-size",
            "2000",
        ],
    );
    server
        .post("/api/v1/customers")
        .bearer(KEY)
        .json(&customer("browser@example.com", "CH"))
        .send()
        .expect(201);
    server
        .post("/api/v1/customers")
        .bearer(KEY)
        .json(&customer("refused@example.com", "XX"))
        .send()
        .expect(422);
    server.get("/api/v1/customers?limit=2").bearer(KEY).send().expect(200);

    let driver = Driver::start(&driver_exe);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"]}),
    );
    let client = fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session");
    // Driven in a task, so that a failed assertion still ends the session: chromedriver's browser
    // outlives chromedriver when its session is not closed.
    let driving = client.clone();
    let outcome = tokio::spawn(async move { drive(&driving, &server).await }).await;
    let _ = client.close().await;
    drop(driver);
    match outcome {
        Ok(result) => result.unwrap(),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

async fn drive(client: &fantoccini::Client, server: &Server) -> Result<(), fantoccini::error::CmdError> {
    use fantoccini::Locator::Css;
    client
        .goto(&format!("http://{}/__specbox/ui?token={TOKEN}", server.addr))
        .await?;

    // The journal shows the requests, newest first.
    let rows = eventually("the three requests in the journal", || async move {
        let text = text_of(client, "#journal tbody").await;
        (text.matches("/api/v1/customers").count() >= 3).then_some(text)
    })
    .await;
    assert!(
        rows.contains("createCustomer") && rows.contains("422") && rows.contains(KEY),
        "{rows}"
    );

    // The refused request opens to its violations, request and response.
    let refused = client.find(Css("#journal tbody tr:nth-child(2)")).await?;
    refused.click().await?;
    let detail = eventually("the detail of the refused request", || async move {
        let text = text_of(client, "#detail-body").await;
        text.contains("billing_address.country").then_some(text)
    })
    .await;
    assert!(
        detail.contains("refused@example.com") && detail.contains("invalid_params"),
        "{detail}"
    );
    assert!(detail.contains("[REDACTED]"), "{detail}");

    // A fault rule added through the page's form...
    client.find(Css("nav button[data-tab=faults]")).await?.click().await?;
    let form = client.find(Css("#fault-form")).await?;
    form.find(Css("[name=operationId]"))
        .await?
        .send_keys("createCustomer")
        .await?;
    form.find(Css("[name=status]")).await?.select_by_value("503").await?;
    form.find(Css("[name=times]")).await?.send_keys("1").await?;
    client.find(Css("#fault-add")).await?.click().await?;
    eventually("the rule added", || async move {
        text_of(client, "#fault-msg").await.contains("added rule").then_some(())
    })
    .await;
    let rules = admin(server, "GET", "/__specbox/faults").send().expect(200).json();
    assert_eq!(rules["rules"][0]["operationId"], "createCustomer", "{rules:#}");
    assert_eq!(rules["rules"][0]["status"], 503);

    // ...fires on the next create, once.
    let injected = server
        .post("/api/v1/customers")
        .bearer(KEY)
        .json(&customer("fault@example.com", "CH"))
        .send()
        .expect(503);
    assert!(
        injected.header("x-specbox-injected").unwrap().contains("rule="),
        "{:?}",
        injected.headers
    );
    assert!(injected.text().contains("injected"), "{}", injected.text());
    server
        .post("/api/v1/customers")
        .bearer(KEY)
        .json(&customer("after@example.com", "CH"))
        .send()
        .expect(201);
    eventually("the rule having matched twice and fired once", || async move {
        let cells = client
            .execute(
                "return [...document.querySelectorAll('#faults tbody tr:first-child td')].map(td => td.textContent)",
                vec![],
            )
            .await
            .ok()?;
        // id, matches, does, skip, times, probability, matched, fired, (button)
        (cells[6] == "2" && cells[7] == "1").then_some(())
    })
    .await;

    // The journal shows the injected answer.
    client.find(Css("nav button[data-tab=journal]")).await?.click().await?;
    eventually("the injected 503 in the journal", || async move {
        let text = text_of(client, "#journal tbody").await;
        (text.contains("503") && text.contains("rule=")).then_some(())
    })
    .await;

    // The screenshot: every kind of answer in the journal, the refused request opened.
    client
        .find(Css("#journal tbody tr:nth-child(4)"))
        .await?
        .click()
        .await?;
    eventually("the refused request's detail again", || async move {
        text_of(client, "#detail-body")
            .await
            .contains("billing_address.country")
            .then_some(())
    })
    .await;
    let png = client.screenshot().await?;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let out = common::root().join("target");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("dashboard.png"), &png).unwrap();

    // A thousand entries: all rows there (the figure is printed, not asserted: no timed tests).
    for i in 0..1000 {
        server
            .get(&format!("/api/v1/customers?limit=1&n={i}"))
            .bearer(KEY)
            .send();
    }
    eventually("1,000 more rows", || async move {
        let n = client
            .execute("return document.querySelectorAll('#journal tbody tr').length", vec![])
            .await
            .ok()?
            .as_u64()?;
        (n >= 1005).then_some(())
    })
    .await;
    let took = client
        .execute(
            "const runs = []; for (let i = 0; i < 5; i++) { const t = performance.now(); renderJournal(); \
             document.body.offsetHeight; runs.push(performance.now() - t); } \
             return runs.sort((a, b) => a - b)[2];",
            vec![],
        )
        .await?;
    eprintln!("dashboard: re-rendering 1,005 journal rows took {took} ms (median of 5)");

    // Filtering: every word must match.
    client.find(Css("#journal-filter")).await?.send_keys("POST 201").await?;
    eventually("the filtered journal", || async move {
        let n = client
            .execute("return document.querySelectorAll('#journal tbody tr').length", vec![])
            .await
            .ok()?
            .as_u64()?;
        (n == 2).then_some(())
    })
    .await;
    Ok(())
}
