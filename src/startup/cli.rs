//! Command-line interface: flags, subcommands, `SPECBOX_*` environment variables.
//!
//! Every serve option can also come from the environment (clap's `env`), which is how CI
//! service containers are usually configured. `specbox` alone serves `specs/` with `fixtures/`
//! on 127.0.0.1:4010, Prism's port, so a team can switch without rewiring anything.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "specbox",
    version,
    about = "A stateful sandbox for HTTP APIs, driven by their OpenAPI specs",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the specs (the default when no subcommand is given).
    Serve(Box<ServeArgs>),
    /// Load specs and fixtures without serving; print the route table; exit non-zero on any problem.
    Check(CheckArgs),
    /// Ask a running specbox whether it is healthy (for container HEALTHCHECKs: no shell or curl needed).
    Health(HealthArgs),
    /// Serve the responses of a HAR recording; requests it does not hold go to the stateful engine.
    Replay(Box<ReplayArgs>),
    /// Turn the resources seen in a HAR recording into fixture files.
    Fixtures(FixturesArgs),
    /// Prism's command line: `specbox mock SPEC [-h HOST] [-p PORT] [-d] [--errors]` behaves as
    /// `prism mock` does for those flags (see the README for every Prism flag).
    Mock(Box<MockArgs>),
}

/// `prism mock`'s flags, so a Prism user swaps the command and nothing else.
#[derive(Debug, Args, Clone)]
#[command(disable_help_flag = true)]
pub struct MockArgs {
    /// The spec: a file, a directory of specs, or an http(s) URL.
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    /// Address to listen on (`-h`, as in Prism; help is `--help`).
    #[arg(short = 'h', long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on.
    #[arg(short, long, default_value_t = 4010)]
    pub port: u16,
    /// Answer with bodies generated from the schemas, not the examples (Prism's `--dynamic`).
    #[arg(short, long)]
    pub dynamic: bool,
    /// Answer invalid requests with errors. Without it, as in Prism, an invalid request is
    /// answered from the spec and its violations listed in an `sl-violations` header.
    #[arg(long)]
    pub errors: bool,
    /// Send CORS headers and answer preflight requests (Prism's `--cors`, on by default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub cors: bool,
    /// Fixture directory (specbox's own; Prism has none).
    #[arg(long, default_value = "fixtures")]
    pub fixtures: PathBuf,
    /// Log filter (Prism's `--verboseLevel`).
    #[arg(long, default_value = "info")]
    pub log: String,
    /// HTTPS (specbox's own; Prism has none).
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

impl MockArgs {
    /// The serve options this stands for: specbox's defaults, with Prism's choices on top.
    pub fn into_serve(self) -> ServeArgs {
        let mut serve = Cli::parse_from(["specbox"]).serve;
        serve.specs = self.specs;
        serve.host = self.host;
        serve.port = self.port;
        serve.no_cors = !self.cors;
        serve.fixtures = self.fixtures;
        serve.log = self.log;
        serve.dynamic = self.dynamic;
        serve.lenient = !self.errors;
        serve.tls = self.tls;
        serve
    }
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Spec files, http(s) URLs, or directories of specs (every *.yaml, *.yml, *.json directly inside).
    #[arg(env = "SPECBOX_SPECS", value_delimiter = ',', default_value = "specs")]
    pub specs: Vec<PathBuf>,

    /// Fixture directory: fixtures/<spec file stem>/*.yaml seeds each spec's state.
    #[arg(long, env = "SPECBOX_FIXTURES", default_value = "fixtures")]
    pub fixtures: PathBuf,

    /// Where state lives: `memory` (the default: this process alone) or a Redis (or Valkey) URL,
    /// `redis://HOST:PORT/DB` (`rediss://` for TLS), shared by every specbox process given the
    /// same URL and prefix: they act as one sandbox, and a restart loses nothing.
    #[arg(long, env = "SPECBOX_STORE", default_value = "memory")]
    pub store: String,

    /// The prefix of every Redis key, so several sandboxes can share one Redis.
    #[arg(long, env = "SPECBOX_STORE_PREFIX", default_value = "specbox")]
    pub store_prefix: String,

    /// The CA certificate (PEM) that signed a `rediss://` server's certificate, when the system's
    /// and the public roots do not include it.
    #[arg(long, env = "SPECBOX_STORE_CA")]
    pub store_ca: Option<PathBuf>,

    /// Address to listen on.
    #[arg(long, env = "SPECBOX_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one and logs it).
    #[arg(short, long, env = "SPECBOX_PORT", default_value_t = 4010)]
    pub port: u16,

    /// Mount a spec somewhere else than its first server URL's path: NAME=/prefix (NAME is the file stem).
    #[arg(long = "mount", env = "SPECBOX_MOUNT", value_delimiter = ',', value_parser = parse_mount)]
    pub mounts: Vec<(String, String)>,

    /// Do not check credentials; every request shares one tenant.
    #[arg(long, env = "SPECBOX_NO_AUTH")]
    pub no_auth: bool,

    /// Lifetime of access tokens issued by OAuth2 token endpoints.
    #[arg(long, env = "SPECBOX_TOKEN_TTL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,

    /// Do not send CORS headers or answer preflight requests.
    #[arg(long, env = "SPECBOX_NO_CORS")]
    pub no_cors: bool,

    /// Switch the /__specbox/ admin API off.
    #[arg(long, env = "SPECBOX_NO_ADMIN")]
    pub no_admin: bool,

    /// Require this token (Authorization: Bearer or X-Specbox-Admin-Token) on the admin API.
    #[arg(long, env = "SPECBOX_ADMIN_TOKEN")]
    pub admin_token: Option<String>,

    /// Largest request body accepted (bytes; k/m suffixes allowed); larger ones get 413.
    #[arg(long, env = "SPECBOX_MAX_BODY", default_value = "1m", value_parser = parse_size)]
    pub max_body: usize,

    /// Deepest nesting of arrays and objects accepted in a JSON request body (deeper: 400).
    #[arg(long, env = "SPECBOX_MAX_DEPTH", default_value_t = 64)]
    pub max_depth: usize,

    /// Most header fields in one request.
    #[arg(long, env = "SPECBOX_MAX_HEADERS", default_value_t = 100)]
    pub max_headers: usize,

    /// How long a client may stay silent while specbox waits for its request (0: no limit).
    #[arg(long, env = "SPECBOX_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,

    /// Most connections served at once (more wait to be accepted).
    #[arg(long, env = "SPECBOX_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,

    /// How long in-flight requests may take to finish after SIGINT/SIGTERM.
    #[arg(long, env = "SPECBOX_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// Answer this share of requests (0 to 1) with one of the operation's documented error statuses.
    #[arg(long, env = "SPECBOX_CHAOS_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub chaos_rate: f64,

    /// Add a uniform random delay to every request, e.g. 20ms..200ms.
    #[arg(long, env = "SPECBOX_LATENCY", value_parser = crate::pipeline::faults::parse_latency)]
    pub latency: Option<(Duration, Duration)>,

    /// Seed for chaos, latency and probabilistic rules: the same seed and request sequence inject the same faults.
    #[arg(long, env = "SPECBOX_SEED", default_value_t = 0)]
    pub seed: u64,

    /// How many recent requests the journal (GET /__specbox/requests) keeps.
    #[arg(long, env = "SPECBOX_JOURNAL_SIZE", default_value_t = 1000)]
    pub journal_size: usize,

    /// Log filter (error, warn, info, debug, or a tracing filter such as specbox=debug).
    #[arg(long, env = "SPECBOX_LOG", default_value = "info")]
    pub log: String,

    /// Answer every request with a body generated from its response schema, keeping no state
    /// (as `Prefer: dynamic=true` on every request).
    #[arg(long, env = "SPECBOX_DYNAMIC")]
    pub dynamic: bool,

    /// Answer invalid requests from the spec, listing the violations in `sl-violations` (set by
    /// `specbox mock` without `--errors`).
    #[arg(skip)]
    pub lenient: bool,

    /// Record every exchange to this HAR 1.2 file (created or truncated at startup).
    #[arg(long, env = "SPECBOX_RECORD")]
    pub record: Option<PathBuf>,

    /// Also redact this header in recordings (repeatable; Authorization, Cookie, X-Api-Key... always are).
    #[arg(long = "redact-header", env = "SPECBOX_REDACT_HEADER", value_delimiter = ',')]
    pub redact_headers: Vec<String>,

    /// Also redact this field in recorded JSON and form bodies and query strings (repeatable).
    #[arg(long = "redact-field", env = "SPECBOX_REDACT_FIELD", value_delimiter = ',')]
    pub redact_fields: Vec<String>,

    /// Forward requests to the real API: URL (every spec) or NAME=URL (the spec with that file stem; repeatable).
    #[arg(long = "proxy", env = "SPECBOX_PROXY", value_delimiter = ',', value_parser = crate::traffic::proxy::parse_target)]
    pub proxy: Vec<crate::traffic::proxy::ProxyTarget>,

    /// How long the upstream may take to answer before the client gets a 504.
    #[arg(long, env = "SPECBOX_PROXY_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub proxy_timeout: Duration,

    /// Send every webhook event to this URL (repeatable; more subscribers: POST /__specbox/webhooks).
    #[arg(long = "webhook-url", env = "SPECBOX_WEBHOOK_URL", value_delimiter = ',')]
    pub webhook_urls: Vec<String>,

    /// How often a webhook or callback is retried after a non-2xx answer, a timeout (5 s) or a refused connection.
    #[arg(long, env = "SPECBOX_WEBHOOK_RETRIES", default_value_t = 5)]
    pub webhook_retries: u32,

    /// Answer requests recorded in this HAR file with their recorded responses.
    #[arg(long, env = "SPECBOX_REPLAY")]
    pub replay: Option<PathBuf>,

    /// Make every loading warning (a $ref to nothing, an overlay action that selects nothing) an error.
    #[arg(long, env = "SPECBOX_STRICT")]
    pub strict: bool,

    /// Apply this OpenAPI Overlay file (repeatable): to the spec its `extends` names, else to the spec
    /// NAME of a file NAME.overlay.yaml, else to the only spec. NAME.overlay.yaml beside NAME.yaml is
    /// always applied.
    #[arg(long = "overlay", env = "SPECBOX_OVERLAY", value_delimiter = ',')]
    pub overlays: Vec<PathBuf>,

    /// Reload when a spec, an overlay, a file a spec refers to or a fixture changes, keeping the
    /// state of resources whose schema did not change (a broken edit keeps the running version).
    #[arg(long, env = "SPECBOX_WATCH")]
    pub watch: bool,

    #[command(flatten)]
    pub tls: TlsArgs,
}

/// HTTPS: a certificate from files, or one generated at startup. Without any of these, specbox
/// speaks plain HTTP/1.1 and h2c. The checks that flags go together are made where the
/// certificate is loaded (`http::tls`), so that each problem reads the same from flags and from
/// `SPECBOX_*` variables.
#[derive(Debug, Args, Clone, Default)]
pub struct TlsArgs {
    /// Serve HTTPS with a certificate generated at startup (a throwaway CA and a certificate it
    /// signs for localhost, 127.0.0.1, ::1, --host and every --tls-san).
    #[arg(long, env = "SPECBOX_TLS")]
    pub tls: bool,

    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first); needs --tls-key.
    #[arg(long, env = "SPECBOX_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "SPECBOX_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// With --tls: write the generated CA certificate (PEM) here, for clients to trust.
    #[arg(long, env = "SPECBOX_TLS_CA_OUT", value_name = "FILE")]
    pub tls_ca_out: Option<PathBuf>,

    /// With --tls: another name (or IP address) the generated certificate is valid for (repeatable).
    #[arg(
        long = "tls-san",
        env = "SPECBOX_TLS_SAN",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub tls_sans: Vec<String>,

    /// Require client certificates signed by a CA in this PEM file (mutual TLS); a client without
    /// one is refused at the handshake.
    #[arg(long, env = "SPECBOX_TLS_CLIENT_CA", value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,
}

impl TlsArgs {
    /// Whether any flag asks for HTTPS.
    pub fn enabled(&self) -> bool {
        self.tls || self.tls_cert.is_some() || self.tls_key.is_some()
    }
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The HAR recording to serve.
    pub file: PathBuf,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Args)]
pub struct FixturesArgs {
    /// The HAR recording to read.
    pub file: PathBuf,
    /// Directory to write <spec file stem>/recorded.json into.
    #[arg(long)]
    pub out: PathBuf,
    /// Spec files or directories (default: specs).
    #[arg(default_value = "specs")]
    pub specs: Vec<PathBuf>,
    /// Mount a spec elsewhere (NAME=/prefix), as the specbox that recorded did.
    #[arg(long = "mount", value_delimiter = ',', value_parser = parse_mount)]
    pub mounts: Vec<(String, String)>,
    /// Apply this overlay file (repeatable), as the specbox that recorded did.
    #[arg(long = "overlay", env = "SPECBOX_OVERLAY", value_delimiter = ',')]
    pub overlays: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Spec files or directories (default: specs).
    #[arg(default_value = "specs")]
    pub specs: Vec<PathBuf>,
    /// Fixture directory to check with them.
    #[arg(long, default_value = "fixtures")]
    pub fixtures: PathBuf,
    #[arg(long = "mount", value_delimiter = ',', value_parser = parse_mount)]
    pub mounts: Vec<(String, String)>,
    /// Make every loading warning an error (exit 2).
    #[arg(long, env = "SPECBOX_STRICT")]
    pub strict: bool,
    /// Apply this overlay file (repeatable; see serve's --overlay).
    #[arg(long = "overlay", env = "SPECBOX_OVERLAY", value_delimiter = ',')]
    pub overlays: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Base URL of the specbox to ask.
    #[arg(long, env = "SPECBOX_HEALTH_URL", default_value = "http://127.0.0.1:4010")]
    pub url: String,
    /// Give up after this long.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// A client certificate (PEM) to show a server that requires one (--tls-client-ca); with --key.
    #[arg(long, env = "SPECBOX_HEALTH_CERT", value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, env = "SPECBOX_HEALTH_KEY", value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{s:?} is not a rate from 0 to 1")),
    }
}

fn parse_mount(s: &str) -> Result<(String, String), String> {
    let (name, prefix) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=/prefix, got {s:?}"))?;
    Ok((name.trim().to_string(), prefix.trim().to_string()))
}

/// `1048576`, `512k`, `1m`, `2MiB`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let lower = s.trim().to_ascii_lowercase();
    let digits: String = lower.chars().take_while(char::is_ascii_digit).collect();
    let unit = lower[digits.len()..].trim();
    let n: usize = digits.parse().map_err(|_| format!("invalid size {s:?}"))?;
    let mult = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => return Err(format!("invalid size unit in {s:?}")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("size {s:?} is too large"))
}
