//! HTTPS for the listener: the rustls configuration, from certificate files or from a certificate
//! generated at startup, with client certificates required when a client CA is given.
//!
//! rustls with the ring provider, as the proxy uses: no system OpenSSL, nothing to install in a
//! `scratch` image. ALPN offers `h2` and `http/1.1`; hyper's auto builder then tells the two apart
//! by the client's first bytes, exactly as it does for h2c, so nothing above the socket changes.
//!
//! The certificate of `--tls` alone is not one self-signed certificate but a throwaway CA and a
//! server certificate it signs (as mkcert does): webpki-based clients (rustls, Go) refuse a CA
//! certificate presented as a server's own, and a self-signed server certificate given as a trust
//! anchor is refused by others, while a CA file is what every client's "trust this CA" option
//! takes (`curl --cacert`, `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`). The CA's key is never kept:
//! it signs once, at startup.
//!
//! Every problem (a missing file, a file with no certificate, a key that does not match) is a
//! startup error that names the flag and the file; nothing here panics.

use crate::startup::cli::TlsArgs;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};

/// What clients are offered in ALPN, preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// How long a generated certificate is valid: a year is within every client's limit for
/// certificates from a private CA (Apple's is 825 days), and no specbox runs that long.
const GENERATED_VALIDITY: time::Duration = time::Duration::days(365);

/// The crypto provider for serving and probing: ring, the only one compiled in.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The listener's TLS, ready to accept with.
pub struct Tls {
    pub config: Arc<ServerConfig>,
    /// What the log says about the certificate at startup.
    pub summary: String,
    /// The generated certificate's CA (PEM), for clients to trust; `None` for certificate files.
    pub ca_pem: Option<String>,
}

/// The TLS configuration the flags ask for: `None` for plain HTTP, else the server configuration,
/// or every problem found (each naming its flag and file). `host` is the `--host` value, a name
/// the generated certificate is also valid for.
pub fn from_args(args: &TlsArgs, host: &str) -> Result<Option<Tls>, Vec<String>> {
    let mut problems = Vec::new();
    if !args.enabled() {
        for (given, flag) in [
            (args.tls_ca_out.is_some(), "--tls-ca-out"),
            (!args.tls_sans.is_empty(), "--tls-san"),
            (args.tls_client_ca.is_some(), "--tls-client-ca"),
        ] {
            if given {
                problems.push(format!("{flag} needs HTTPS: add --tls, or --tls-cert and --tls-key"));
            }
        }
        return if problems.is_empty() { Ok(None) } else { Err(problems) };
    }
    let mut ca_pem = None;
    let (chain, key, summary) = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            for (given, flag) in [
                (args.tls_ca_out.is_some(), "--tls-ca-out"),
                (!args.tls_sans.is_empty(), "--tls-san"),
            ] {
                if given {
                    problems.push(format!(
                        "{flag} is for the generated certificate (--tls alone); with --tls-cert, clients trust your own CA"
                    ));
                }
            }
            let chain = read_certs(cert, "--tls-cert").map_err(|e| problems.push(e)).ok();
            let key = read_key(key).map_err(|e| problems.push(e)).ok();
            let summary = format!("certificate from {}", cert.display());
            match (chain, key) {
                (Some(chain), Some(key)) if problems.is_empty() => (chain, key, summary),
                _ => return Err(problems),
            }
        }
        (Some(_), None) => {
            return Err(vec![
                "--tls-cert needs --tls-key (the certificate's private key)".into(),
            ]);
        }
        (None, Some(_)) => {
            return Err(vec![
                "--tls-key needs --tls-cert (the certificate it is the key of)".into(),
            ]);
        }
        (None, None) => {
            let names = names(host, &args.tls_sans);
            let generated = generate(&names).map_err(|e| vec![e])?;
            let mut summary = format!("generated certificate for {}", names.join(", "));
            match &args.tls_ca_out {
                Some(out) => {
                    std::fs::write(out, &generated.ca_pem)
                        .map_err(|e| vec![format!("--tls-ca-out {}: cannot write: {e}", out.display())])?;
                    summary.push_str(&format!("; its CA is in {}", out.display()));
                }
                None => summary
                    .push_str(" (no --tls-ca-out: clients cannot verify it and must skip verification, e.g. curl -k)"),
            }
            ca_pem = Some(generated.ca_pem);
            (generated.chain, generated.key, summary)
        }
    };
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| vec![format!("TLS: {e}")])?;
    let (builder, summary) = match &args.tls_client_ca {
        Some(file) => {
            let verifier = read_certs(file, "--tls-client-ca").and_then(|certs| {
                let mut roots = RootCertStore::empty();
                for cert in certs {
                    roots
                        .add(cert)
                        .map_err(|e| format!("--tls-client-ca {}: not a usable CA certificate: {e}", file.display()))?;
                }
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                    .build()
                    .map_err(|e| format!("--tls-client-ca {}: {e}", file.display()))
            });
            let verifier = verifier.map_err(|e| vec![e])?;
            let summary = format!("{summary}; client certificates required (CA {})", file.display());
            (builder.with_client_cert_verifier(verifier), summary)
        }
        None => (builder.with_no_client_auth(), summary),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        vec![match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => format!(
                "--tls-key {} does not go with --tls-cert {}: {e}",
                key.display(),
                cert.display()
            ),
            _ => format!("the generated certificate: {e}"),
        }]
    })?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Some(Tls {
        config: Arc::new(config),
        summary,
        ca_pem,
    }))
}

/// Every certificate in a PEM file, in order; none is an error.
fn read_certs(file: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(file).map_err(|e| format!("{flag} {}: cannot read: {e}", file.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{flag} {}: not a PEM certificate file: {e}", file.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{flag} {}: no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)",
            file.display()
        ));
    }
    Ok(certs)
}

/// The first private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
fn read_key(file: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = std::fs::read(file).map_err(|e| format!("--tls-key {}: cannot read: {e}", file.display()))?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => format!(
            "--tls-key {}: no private key in it (expected PEM: -----BEGIN PRIVATE KEY-----)",
            file.display()
        ),
        e => format!("--tls-key {}: not a PEM private key: {e}", file.display()),
    })
}

/// The names a generated certificate is valid for: the loopback names, `--host` when it names a
/// host (not an unspecified address such as 0.0.0.0), and the extra names, without repeats.
fn names(host: &str, extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let unspecified = host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
    let candidates = std::iter::once(host)
        .filter(|h| !h.is_empty() && !unspecified)
        .chain(extra.iter().map(|s| s.trim()));
    for name in candidates {
        if !name.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.to_string());
        }
    }
    names
}

/// A generated server certificate and the CA that signed it.
struct Generated {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ca_pem: String,
}

/// A throwaway CA and a server certificate it signs for `names` (see the module comment).
fn generate(names: &[String]) -> Result<Generated, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let failed = |e: rcgen::Error| format!("cannot generate a certificate: {e}");
    let now = time::OffsetDateTime::now_utc();
    // An hour back, for clients whose clock is a little behind.
    let (from, until) = (now - time::Duration::hours(1), now + GENERATED_VALIDITY);

    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, format!("specbox local CA {}", now.unix_timestamp()));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    (ca.not_before, ca.not_after) = (from, until);
    let ca_key = KeyPair::generate().map_err(failed)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(failed)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(names.to_vec())
        .map_err(|e| format!("cannot generate a certificate for {}: {e}", names.join(", ")))?;
    leaf.distinguished_name.push(DnType::CommonName, "specbox");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    (leaf.not_before, leaf.not_after) = (from, until);
    let leaf_key = KeyPair::generate().map_err(failed)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(failed)?;

    let key = PrivateKeyDer::try_from(leaf_key.serialize_der()).map_err(|e| format!("cannot generate a key: {e}"))?;
    Ok(Generated {
        chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
        key,
        ca_pem: ca_cert.pem(),
    })
}

/// A client configuration for `specbox health`: it checks that the server answers, not who it
/// is, so it accepts any certificate (the server is usually this container's own, with a
/// generated certificate). With `identity`, it presents that client certificate and key, for a
/// server that requires one.
pub fn probe_client(identity: Option<(&Path, &Path)>) -> Result<Arc<ClientConfig>, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer(provider())));
    let mut config = match identity {
        Some((cert, key)) => {
            let chain = read_certs(cert, "--cert")?;
            let key = read_key(key).map_err(|e| e.replacen("--tls-key", "--key", 1))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                format!(
                    "--key {} does not go with --cert {}: {e}",
                    key_name(identity),
                    cert.display()
                )
            })?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn key_name(identity: Option<(&Path, &Path)>) -> String {
    identity.map(|(_, k)| k.display().to_string()).unwrap_or_default()
}

/// Accepts every server certificate; signatures are still checked, so the handshake is real.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_cover_loopback_and_the_host_but_not_an_unspecified_address() {
        assert_eq!(names("0.0.0.0", &[]), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(names("[::]", &[]), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(
            names("api.test", &["specbox".into(), "LOCALHOST".into(), "10.0.0.2".into()]),
            ["localhost", "127.0.0.1", "::1", "api.test", "specbox", "10.0.0.2"]
        );
    }

    #[test]
    fn flags_that_need_https_say_so_without_it() {
        let args = TlsArgs {
            tls_client_ca: Some("ca.pem".into()),
            ..TlsArgs::default()
        };
        let problems = from_args(&args, "127.0.0.1").err().unwrap_or_default();
        assert!(
            problems.iter().any(|p| p.starts_with("--tls-client-ca needs HTTPS")),
            "{problems:?}"
        );
        assert!(from_args(&TlsArgs::default(), "127.0.0.1").is_ok_and(|t| t.is_none()));
    }
}
