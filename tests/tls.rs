//! HTTPS against real specbox processes: a generated certificate trusted through `--tls-ca-out`,
//! a certificate from files, mutual TLS, h2 and HTTP/1.1 chosen by ALPN, network faults over TLS,
//! `specbox health` over TLS, and startup errors for certificate files that do not load.
//!
//! The clients are real ones: hyper-util's client over hyper-rustls for requests, tokio-rustls
//! directly where a test needs the negotiated protocol or the raw bytes of a fault. Certificates
//! the tests need (a CA of their own, client certificates) are made with rcgen.

use crate::common;

use bytes::Bytes;
use common::Server;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Version};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A directory in the temp directory, removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("specbox-tls-{}-{n}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        Dir(dir)
    }
    /// The path of `name` in the directory, as an argument.
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().expect("utf-8 temp path").to_string()
    }
    /// Writes `text` to `name`; its path, as an argument.
    fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write a temp file");
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A test's own certificate authority.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A certificate and its key, both PEM.
struct Identity {
    cert: String,
    key: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A server certificate for `names`.
    fn server(&self, names: &[&str]) -> Identity {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        self.issue(
            CertificateParams::new(names).unwrap(),
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate.
    fn client(&self, name: &str) -> Identity {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        self.issue(params, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, mut params: CertificateParams, usage: ExtendedKeyUsagePurpose) -> Identity {
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        Identity {
            cert: params.signed_by(&key, &self.issuer).unwrap().pem(),
            key: key.serialize_pem(),
        }
    }
}

/// A client configuration that trusts the CAs in `roots` (PEM text) and, with `identity`,
/// shows that client certificate.
fn client_config(roots: &[&str], identity: Option<&Identity>) -> ClientConfig {
    let mut store = RootCertStore::empty();
    for pem in roots {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            store.add(cert.unwrap()).unwrap();
        }
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(tokio_rustls::rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store);
    match identity {
        Some(id) => {
            let chain = CertificateDer::pem_slice_iter(id.cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(id.key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    }
}

/// An answer, with the HTTP version it came in.
struct Answer {
    version: Version,
    status: u16,
    body: Value,
}

/// One request with hyper-util's client over hyper-rustls: HTTP/1.1 only, or h2 and HTTP/1.1
/// offered in ALPN (`h2`). A failure (handshake, transport) is an `Err` with its causes.
async fn send(config: &ClientConfig, method: &str, url: &str, h2: bool, body: Option<Value>) -> Result<Answer, String> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.clone())
        .https_only();
    let connector = if h2 {
        builder.enable_all_versions().build()
    } else {
        builder.enable_http1().build()
    };
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut req = Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", "Bearer sk_test_tls");
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let req = req.body(Full::new(body)).unwrap();
    // A bound, not a timing: an answer that never comes fails the test instead of hanging CI.
    let resp = tokio::time::timeout(Duration::from_secs(60), client.request(req))
        .await
        .map_err(|_| "no answer in 60 s".to_string())?
        .map_err(|e| causes(&e))?;
    let (version, status) = (resp.version(), resp.status().as_u16());
    let bytes = resp.into_body().collect().await.map_err(|e| causes(&e))?.to_bytes();
    Ok(Answer {
        version,
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    })
}

fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

fn port(server: &Server) -> &str {
    server.addr.rsplit_once(':').map(|(_, p)| p).unwrap()
}

/// A TLS connection made with tokio-rustls directly, offering `alpn`.
async fn connect(
    server: &Server,
    config: &ClientConfig,
    alpn: &[&[u8]],
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let mut config = config.clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(&server.addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

/// A new SwissPay customer, as JSON.
fn customer(email: &str) -> Value {
    json!({"email": email, "name": "Jane Doe"})
}

#[tokio::test]
async fn a_generated_certificate_serves_http1_and_h2_to_clients_that_trust_the_ca_out_file() {
    let dir = Dir::new("generated");
    let ca_file = dir.path("ca.pem");
    let server = Server::start(&["specs/swisspay.yaml"], &["--tls", "--tls-ca-out", &ca_file]);
    assert!(
        server.log_text().contains("listening on https://"),
        "{}",
        server.log_text()
    );
    let ca = std::fs::read_to_string(&ca_file).expect("--tls-ca-out was written");
    let trusting = client_config(&[&ca], None);
    let port = port(&server);

    // By name and by address (both in the certificate), over HTTP/1.1 and over h2, with a body
    // (read before the engine answers) and without.
    for (host, h2, version) in [
        ("localhost", false, Version::HTTP_11),
        ("127.0.0.1", true, Version::HTTP_2),
        ("localhost", true, Version::HTTP_2),
        ("127.0.0.1", false, Version::HTTP_11),
    ] {
        let base = format!("https://{host}:{port}/api/v1/customers");
        let email = format!("jane.{host}.{h2}@example.com");
        let created = send(&trusting, "POST", &base, h2, Some(customer(&email)))
            .await
            .unwrap_or_else(|e| panic!("POST over {version:?} to {host}: {e}"));
        assert_eq!((created.status, created.version), (201, version), "{}", created.body);
        let id = created.body["id"].as_str().expect("the customer's id").to_string();
        let read = send(&trusting, "GET", &format!("{base}/{id}"), h2, None).await.unwrap();
        assert_eq!((read.status, read.version), (200, version), "{}", read.body);
        assert_eq!(read.body["email"], json!(email));
    }

    // The server chooses by ALPN: h2 when offered, else HTTP/1.1.
    for (offered, chosen) in [
        (&[&b"h2"[..], b"http/1.1"][..], &b"h2"[..]),
        (&[&b"http/1.1"[..]][..], &b"http/1.1"[..]),
    ] {
        let conn = connect(&server, &trusting, offered).await.expect("handshake");
        assert_eq!(conn.get_ref().1.alpn_protocol(), Some(chosen));
    }

    // A client that trusts another CA is refused; plain HTTP on the port gets no HTTP answer.
    let stranger = client_config(&[&Ca::new("another CA").pem], None);
    let refused = send(
        &stranger,
        "GET",
        &format!("https://localhost:{port}/api/v1/customers"),
        true,
        None,
    )
    .await;
    assert!(
        refused.is_err(),
        "a client that does not trust the certificate got an answer"
    );
    let plain = server.get("/api/v1/customers").bearer("sk_test_tls").try_send();
    assert!(plain.is_err(), "plain HTTP was answered on the HTTPS port: {plain:?}");
}

#[tokio::test]
async fn a_certificate_and_key_from_files_are_served() {
    let dir = Dir::new("files");
    let ca = Ca::new("test CA");
    let id = ca.server(&["localhost"]);
    let cert = dir.write("cert.pem", &id.cert);
    let key = dir.write("key.pem", &id.key);
    let server = Server::start(&["specs/swisspay.yaml"], &["--tls-cert", &cert, "--tls-key", &key]);
    assert!(
        server.log_text().contains(&format!("certificate from {cert}")),
        "{}",
        server.log_text()
    );
    let trusting = client_config(&[&ca.pem], None);
    let url = format!("https://localhost:{}/api/v1/customers", port(&server));
    for (h2, version) in [(false, Version::HTTP_11), (true, Version::HTTP_2)] {
        let listed = send(&trusting, "GET", &url, h2, None).await.unwrap();
        assert_eq!((listed.status, listed.version), (200, version), "{}", listed.body);
    }
    // The certificate names localhost only.
    let by_ip = send(&trusting, "GET", &url.replace("localhost", "127.0.0.1"), false, None).await;
    assert!(by_ip.is_err(), "a certificate for localhost was accepted for 127.0.0.1");
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_from_the_client_ca() {
    let dir = Dir::new("mtls");
    let ca_file = dir.path("ca.pem");
    let clients = Ca::new("client CA");
    let client_ca = dir.write("clients.pem", &clients.pem);
    let server = Server::start(
        &["specs/swisspay.yaml"],
        &["--tls", "--tls-ca-out", &ca_file, "--tls-client-ca", &client_ca],
    );
    let ca = std::fs::read_to_string(&ca_file).unwrap();
    let url = format!("https://localhost:{}/api/v1/customers", port(&server));

    let member = clients.client("client-1");
    let with_cert = client_config(&[&ca], Some(&member));
    for (h2, version) in [(false, Version::HTTP_11), (true, Version::HTTP_2)] {
        let listed = send(&with_cert, "GET", &url, h2, None).await.unwrap();
        assert_eq!((listed.status, listed.version), (200, version), "{}", listed.body);
    }

    let outsider = Ca::new("another CA").client("client-2");
    for (who, config) in [
        ("no certificate", client_config(&[&ca], None)),
        ("a certificate from another CA", client_config(&[&ca], Some(&outsider))),
    ] {
        for h2 in [false, true] {
            let refused = send(&config, "GET", &url, h2, None).await;
            assert!(refused.is_err(), "a client with {who} got an answer");
        }
    }

    // `specbox health` shows a client certificate when given one.
    let health = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_specbox"))
            .args(["health", "--url", &format!("https://127.0.0.1:{}", port(&server))])
            .args(extra)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let cert = dir.write("client.pem", &member.cert);
    let key = dir.write("client.key", &member.key);
    let (healthy, said) = health(&["--cert", &cert, "--key", &key]);
    assert!(healthy, "{said}");
    let (healthy, said) = health(&[]);
    assert!(!healthy, "healthy without a client certificate");
    assert!(said.starts_with("unhealthy"), "{said}");
}

#[tokio::test]
async fn network_faults_happen_over_tls_too() {
    let dir = Dir::new("faults");
    let ca_file = dir.path("ca.pem");
    let server = Server::start(&["specs/swisspay.yaml"], &["--tls", "--tls-ca-out", &ca_file]);
    let config = client_config(&[&std::fs::read_to_string(&ca_file).unwrap()], None);
    let request = |fault: &str| {
        format!(
            "GET /api/v1/customers HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk_test_tls\r\nPrefer: fault={fault}\r\n\r\n"
        )
    };
    let exchange = |fault: &'static str| {
        let (server, config, request) = (&server, &config, request(fault));
        async move {
            let mut conn = connect(server, config, &[b"http/1.1"]).await.expect("handshake");
            conn.write_all(request.as_bytes()).await.unwrap();
            let mut got = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(60), conn.read_to_end(&mut got))
                .await
                .expect("the connection ends");
            (read, got)
        }
    };

    let (read, got) = exchange("reset").await;
    let kind = read.as_ref().map_err(std::io::Error::kind).err();
    assert_eq!(kind, Some(std::io::ErrorKind::ConnectionReset), "{read:?} {got:?}");

    // Garbage inside a valid TLS record, for the client's HTTP parser to meet; then the
    // connection ends without close_notify.
    let (read, got) = exchange("malformed").await;
    assert!(got.starts_with(b"\x00\x13GARBAGE"), "{read:?} {got:?}");

    let (read, got) = exchange("empty").await;
    assert!(got.is_empty(), "{got:?}");
    let kind = read.as_ref().map_err(std::io::Error::kind).err();
    assert_eq!(kind, Some(std::io::ErrorKind::UnexpectedEof), "{read:?}");

    // The connection that asked for nothing is answered.
    let (read, got) = exchange("none").await;
    assert!(read.is_ok(), "{read:?}");
    assert!(got.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&got));
}

#[test]
fn specbox_health_speaks_tls_to_an_https_server_given_an_http_url() {
    let server = Server::start(&["specs/swisspay.yaml"], &["--tls"]);
    assert!(server.log_text().contains("no --tls-ca-out"), "{}", server.log_text());
    for scheme in ["https", "http"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_specbox"))
            .args(["health", "--url", &format!("{scheme}://{}", server.addr)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{scheme}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn certificate_files_that_do_not_load_stop_startup_with_the_file_named() {
    let dir = Dir::new("bad");
    let ca = Ca::new("test CA");
    let id = ca.server(&["localhost"]);
    let other = ca.server(&["localhost"]);
    let cert = dir.write("cert.pem", &id.cert);
    let key = dir.write("key.pem", &id.key);
    let other_key = dir.write("other.key", &other.key);
    let missing = dir.path("missing.pem");
    let not_pem = "specs/swisspay.yaml".to_string();
    let no_dir = format!("{missing}/ca.pem");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--tls-cert", &missing, "--tls-key", &key],
            format!("--tls-cert {missing}: cannot read"),
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", &missing],
            format!("--tls-key {missing}: cannot read"),
        ),
        (
            vec!["--tls-cert", &not_pem, "--tls-key", &key],
            format!("--tls-cert {not_pem}: no certificate in it"),
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", &cert],
            format!("--tls-key {cert}: no private key in it"),
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", &other_key],
            format!("--tls-key {other_key} does not go with --tls-cert {cert}"),
        ),
        (vec!["--tls-cert", &cert], "--tls-cert needs --tls-key".into()),
        (
            vec!["--tls", "--tls-client-ca", &missing],
            format!("--tls-client-ca {missing}: cannot read"),
        ),
        (vec!["--tls-client-ca", &cert], "--tls-client-ca needs HTTPS".into()),
        (
            vec!["--tls", "--tls-ca-out", &no_dir],
            format!("--tls-ca-out {no_dir}: cannot write"),
        ),
    ];
    for (flags, expected) in cases {
        let log = match Server::try_start(&["specs/swisspay.yaml"], &flags) {
            Ok(_) => panic!("specbox started with {flags:?}"),
            Err(log) => log,
        };
        assert!(
            log.contains(&format!("error: {expected}")),
            "{flags:?}: expected {expected:?} in\n{log}"
        );
        assert!(!log.contains("panicked"), "{log}");
    }
}

#[tokio::test]
async fn specbox_mock_takes_the_same_tls_flags() {
    let dir = Dir::new("mock");
    let ca_file = dir.path("ca.pem");
    let args = [
        "mock",
        "specs/swisspay.yaml",
        "-h",
        "127.0.0.1",
        "-p",
        "0",
        "--tls",
        "--tls-ca-out",
        &ca_file,
    ];
    let server = Server::try_start_raw(&args, &["specs/swisspay.yaml"]).unwrap_or_else(|log| panic!("{log}"));
    let config = client_config(&[&std::fs::read_to_string(&ca_file).unwrap()], None);
    let url = format!("https://localhost:{}/api/v1/customers", port(&server));
    let listed = send(&config, "GET", &url, true, None).await.unwrap();
    assert_eq!(
        (listed.status, listed.version),
        (200, Version::HTTP_2),
        "{}",
        listed.body
    );
}

#[tokio::test]
async fn the_library_sandbox_serves_https_when_asked() {
    let sandbox = specbox::Sandbox::builder()
        .spec("specs/swisspay.yaml")
        .tls()
        .start()
        .expect("the sandbox starts");
    assert!(sandbox.url().starts_with("https://127.0.0.1:"), "{}", sandbox.url());
    let config = client_config(&[sandbox.ca_pem().expect("the generated CA")], None);
    let url = format!("{}/api/v1/customers", sandbox.url());
    let listed = send(&config, "GET", &url, true, None).await.unwrap();
    assert_eq!(
        (listed.status, listed.version),
        (200, Version::HTTP_2),
        "{}",
        listed.body
    );
    assert_eq!(sandbox.requests("listCustomers"), 1);
}

#[test]
fn a_client_that_stalls_its_handshake_is_disconnected_after_the_header_timeout() {
    use std::io::Read;
    let server = Server::start(&["specs/swisspay.yaml"], &["--tls", "--header-timeout", "200ms"]);
    let mut tcp = std::net::TcpStream::connect(&server.addr).unwrap();
    // A bound, not a timing: without the handshake's timeout this read would wait it out and fail.
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut byte = [0u8; 1];
    let read = tcp.read(&mut byte);
    assert!(matches!(read, Ok(0)), "the server kept a silent connection: {read:?}");
}

#[tokio::test]
async fn links_to_the_specs_server_lead_back_over_https() {
    let dir = Dir::new("links");
    let ca_file = dir.path("ca.pem");
    let server = Server::start(
        &["tests/specs/realworld/planets.yaml"],
        &["--tls", "--tls-ca-out", &ca_file, "--fixtures", "none"],
    );
    let ca = std::fs::read_to_string(&ca_file).expect("--tls-ca-out was written");
    let trusting = client_config(&[&ca], None);
    let port = port(&server);
    for h2 in [false, true] {
        let base = format!("https://localhost:{port}/planets");
        let made = send(&trusting, "POST", &base, h2, Some(json!({"name": "Mars"})))
            .await
            .unwrap();
        assert_eq!(made.status, 201, "{}", made.body);
        let expected = format!("{base}/{}", made.body["id"]);
        assert_eq!(made.body["url"], json!(expected), "h2 {h2}: {}", made.body);
    }
}
