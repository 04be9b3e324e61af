//! The `specbox` binary: parse the command line, start up, serve.

use clap::Parser;
use specbox::http::{self, Limits, Traffic};
use specbox::pipeline::Settings;
use specbox::pipeline::faults::ChaosConfig;
use specbox::spec::error::SpecError;
use specbox::startup::cli::{CheckArgs, Cli, Command, FixturesArgs, HealthArgs, ServeArgs};
use specbox::startup::reload::Inputs;
use specbox::startup::{self, AppOptions, LoadOptions};
use specbox::traffic::proxy::Proxy;
use specbox::traffic::record::Recorder;
use specbox::traffic::redact::Redactor;
use specbox::traffic::replay::Replay;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

// The allocator: mimalloc. A request allocates a few dozen small, short-lived blocks (headers,
// parsed bodies, JSON text), and with glibc's malloc those showed as 10-15% of the profile; with
// mimalloc every benchmark scenario gained 10-30% (bench/RESULTS.md).
#[global_allocator]
static GLOBAL: specbox::heap::Allocator = specbox::heap::Allocator;

// mimalloc commits its arenas eagerly on Linux by default, which kept pages freed at startup
// (spec parsing, fixture loading) resident: idle RSS went from 13 MB to 23 MB. Committing on
// demand keeps it at 13 MB. The option has to be set before the first allocation, which
// happens in Rust's runtime set-up before `main`, so it is set from an ELF constructor. (Other
// systems have no overcommit, where mimalloc's default is already to commit on demand.)
//
// What startup frees is given back to the system when it is over (`allocator::serving`).
#[cfg(target_os = "linux")]
mod allocator {
    unsafe extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
        fn mi_collect(force: bool);
    }

    /// Numbers in mimalloc.h's `mi_option_t` (the same in mimalloc 2 and 3).
    const MI_OPTION_ARENA_EAGER_COMMIT: std::ffi::c_int = 4;

    extern "C" fn set() {
        // SAFETY: mi_option_set only stores a value in mimalloc's option table; this runs once,
        // before any thread exists.
        unsafe {
            mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        }
    }

    #[used]
    #[unsafe(link_section = ".init_array")]
    static SET: extern "C" fn() = set;

    /// Startup is over: what it freed goes back to the system now.
    ///
    /// mimalloc gives a freed page back `purge_delay` ms after it became free (1 s in mimalloc 3),
    /// and only when the allocator is next called. Startup frees a great deal (the text of every
    /// file once parsed, the document once cut, validators compiled for its checks), and an idle
    /// server calls the allocator for nothing, so all of that would stay resident: for a 13 MB
    /// spec, tens of MB. Until then the delay stands: a page startup frees is taken again by
    /// what it builds next, where given back at once it cost a page fault to take again (a
    /// twentieth of a 13 MB spec's startup, whose 13 MB of text, once parsed, made room for the
    /// document cut to what requests read).
    pub fn serving() {
        // SAFETY: mi_collect frees only what no heap uses; with `force`, every page waiting for
        // its delay is given back now.
        unsafe {
            mi_collect(true);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod allocator {
    pub fn serving() {}
}

/// Exit code for a configuration problem (bad spec, bad fixture, unwritable file).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check(args)) => check(args),
        Some(Command::Health(args)) => health(args),
        Some(Command::Serve(args)) => serve(*args),
        Some(Command::Replay(args)) => {
            let args = *args;
            let mut serve_args = args.serve;
            serve_args.replay = Some(args.file);
            serve(serve_args)
        }
        Some(Command::Fixtures(args)) => fixtures(args),
        Some(Command::Mock(args)) => serve(args.into_serve()),
        None => serve(cli.serve),
    }
}

fn report(errors: &[SpecError]) -> ExitCode {
    for e in errors {
        eprintln!("{}: {e}", if e.warning { "warning" } else { "error" });
    }
    let problems = errors.iter().filter(|e| !e.warning).count();
    eprintln!("specbox: {problems} problem(s); nothing is served");
    ExitCode::from(EXIT_CONFIG)
}

fn serve(args: ServeArgs) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();

    let started = Instant::now();
    let opts = LoadOptions {
        mounts: args.mounts.clone(),
        strict: args.strict,
        overlays: args.overlays.clone(),
    };
    let watch_inputs = args.watch.then(|| Inputs {
        specs: args.specs.clone(),
        fixtures: args.fixtures.clone(),
        load: opts.clone(),
    });
    let (api, loaded_files) = match startup::load(&args.specs, &opts) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                tracing::warn!("{w}");
            }
            // The files are watched with --watch only (1,500 paths for a spec of many files).
            (loaded.api, if args.watch { loaded.files } else { Vec::new() })
        }
        Err(e) => return report(&e),
    };
    let opts = AppOptions {
        settings: Settings {
            max_depth: args.max_depth,
            cors: !args.no_cors,
            admin: !args.no_admin,
            admin_token: args.admin_token.clone(),
            dynamic: args.dynamic,
            lenient: args.lenient,
        },
        auth_enabled: !args.no_auth,
        token_ttl: args.token_ttl,
        chaos: ChaosConfig {
            rate: args.chaos_rate,
            latency: args.latency,
            seed: args.seed,
        },
        journal_size: args.journal_size,
        webhooks: specbox::traffic::webhooks::Options {
            urls: args.webhook_urls.clone(),
            retry: specbox::traffic::webhooks::delivery::Retry {
                retries: args.webhook_retries,
                ..specbox::traffic::webhooks::Options::default().retry
            },
            ..Default::default()
        },
        store: match args.store.as_str() {
            "memory" | "" => None,
            url => Some(specbox::state::redis::Config {
                url: url.to_string(),
                prefix: args.store_prefix.clone(),
                ca: args.store_ca.clone(),
            }),
        },
    };
    let (app, items) = match startup::build_app(api, &args.fixtures, opts) {
        Ok(a) => a,
        Err(e) => return report(&e),
    };
    let engine = app.engine.load_full();
    for spec in &engine.api.specs {
        let ops = engine
            .api
            .ops
            .iter()
            .filter(|o| std::ptr::eq(&engine.api.specs[o.spec], spec))
            .count();
        tracing::info!(
            "mounted {} {} at {} ({} operations) from {}",
            spec.title,
            spec.version,
            spec.mount,
            ops,
            spec.doc.path.display()
        );
    }
    tracing::info!("{} fixture items loaded from {}", items, args.fixtures.display());
    let traffic = match traffic(&engine, &args) {
        Ok(t) => Arc::new(t),
        Err(problems) => {
            for p in &problems {
                eprintln!("error: {p}");
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };

    // Before anything listens, as every other configuration problem: a certificate that does not
    // load must not surface on the first handshake.
    let tls = match http::tls::from_args(&args.tls, &args.host) {
        Ok(tls) => tls,
        Err(problems) => {
            for p in &problems {
                eprintln!("error: {p}");
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    allocator::serving();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let limits = Limits {
        max_body: args.max_body,
        header_read_timeout: args.header_timeout,
        max_connections: args.max_connections,
        max_headers: args.max_headers,
        shutdown_grace: args.shutdown_grace,
    };
    let serving = traffic.clone();
    let result = runtime.block_on(async move {
        let traffic = serving;
        let listener = match tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {}:{}: {e}", args.host, args.port);
                return Err(ExitCode::from(EXIT_CONFIG));
            }
        };
        // A shared store connects (and gets the fixtures) before the first request, or keeps
        // trying in the background: requests are answered 503 until it is there.
        app.engine.load().store.start(std::time::Duration::from_secs(5)).await;
        // Watching before saying "listening": an edit made once a client sees the server is seen.
        let app = Arc::new(app);
        if let Some(inputs) = watch_inputs
            && let Err(e) = startup::watch::start(app.clone(), inputs, &loaded_files)
        {
            eprintln!("error: {e}");
            return Err(ExitCode::from(EXIT_CONFIG));
        }
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        if let Some(tls) = &tls {
            tracing::info!("HTTPS (h2 and http/1.1 by ALPN): {}", tls.summary);
        }
        tracing::info!(
            "listening on {}://{addr} (ready in {} ms)",
            if tls.is_some() { "https" } else { "http" },
            started.elapsed().as_millis()
        );
        http::run(
            app,
            traffic.clone(),
            listener,
            limits,
            tls.map(|t| t.config),
            http::shutdown_signal(),
        )
        .await
        .map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        })
    });
    // In-flight requests have finished (or had their grace); what they queued reaches the disk.
    if let Some(recorder) = &traffic.recorder {
        recorder.finish();
        tracing::info!("recording written to {}", recorder.path().display());
    }
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// Replay, proxy and recording, from the flags. Every problem is a configuration error, found
/// before anything listens: an unwritable recording must not surface on the first request.
fn traffic(engine: &specbox::pipeline::Engine, args: &ServeArgs) -> Result<Traffic, Vec<String>> {
    let redactor = Redactor::new(&args.redact_headers, &args.redact_fields);
    let mut problems = Vec::new();
    let mut traffic = Traffic::default();
    if let Some(file) = &args.replay {
        match Replay::load(file, redactor.clone()) {
            Ok(r) => {
                tracing::info!(
                    "replaying {} recorded request(s) from {} ({} left to the engine: their responses were redacted)",
                    r.len(),
                    file.display(),
                    r.skipped
                );
                traffic.replay = Some(r);
            }
            Err(e) => problems.push(e),
        }
    }
    if !args.proxy.is_empty() {
        match Proxy::new(&engine.api, &args.proxy, args.proxy_timeout) {
            Ok(p) => {
                for (mount, url) in p.routes(&engine.api) {
                    tracing::info!("proxying {mount} to {url}");
                }
                traffic.proxy = Some(p);
            }
            Err(mut e) => problems.append(&mut e),
        }
    }
    // Last, so that a configuration error elsewhere does not truncate an existing recording.
    if let (true, Some(file)) = (problems.is_empty(), &args.record) {
        match Recorder::open(file, redactor) {
            Ok(r) => {
                tracing::info!("recording to {}", file.display());
                traffic.recorder = Some(r);
            }
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(traffic)
    } else {
        Err(problems)
    }
}

/// `specbox fixtures FILE --out DIR [SPECS...]`: a recording's resources as fixture files.
fn fixtures(args: FixturesArgs) -> ExitCode {
    let opts = LoadOptions {
        mounts: args.mounts.clone(),
        strict: false,
        overlays: args.overlays.clone(),
    };
    let api = match startup::load(&args.specs, &opts) {
        Ok(loaded) => {
            print_warnings(&loaded.warnings);
            loaded.api
        }
        Err(e) => return report(&e),
    };
    let entries = match specbox::traffic::record::read(&args.file) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let harvest = specbox::traffic::har_fixtures::harvest(&api, &entries);
    for w in &harvest.warnings {
        eprintln!("warning: {w}");
    }
    let files = match specbox::traffic::har_fixtures::write(&args.out, &harvest) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    println!(
        "{} entries read, {} about state, {} warning(s)",
        entries.len(),
        harvest.used,
        harvest.warnings.len()
    );
    for (spec, file) in harvest.specs.iter().zip(&files) {
        println!("{}:", file.display());
        for (collection, n) in &spec.counts {
            println!("  {collection:<40} {n} item(s)");
        }
    }
    if files.is_empty() {
        println!("no resources in the recording; nothing written");
    }
    // The directory as a whole must load (another file there may clash with the new one).
    if let Err(errors) = specbox::state::fixtures::load(&api, Some(&args.out)) {
        for e in &errors {
            eprintln!("error: {e}");
        }
        eprintln!(
            "specbox: {} does not load as a fixture directory ({} problem(s))",
            args.out.display(),
            errors.len()
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    ExitCode::SUCCESS
}

/// Warnings for a command run by hand (`check`, `fixtures`): on stderr, as errors are.
fn print_warnings(warnings: &[SpecError]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn check(args: CheckArgs) -> ExitCode {
    let opts = LoadOptions {
        mounts: args.mounts.clone(),
        strict: args.strict,
        overlays: args.overlays.clone(),
    };
    let (api, warnings) = match startup::load(&args.specs, &opts) {
        Ok(loaded) => {
            print_warnings(&loaded.warnings);
            (loaded.api, loaded.warnings.len())
        }
        Err(e) => return report(&e),
    };
    let (app, items) = match startup::build_app(api, &args.fixtures, AppOptions::default()) {
        Ok(a) => a,
        Err(e) => return report(&e),
    };
    let engine = app.engine.load_full();
    for spec in &engine.api.specs {
        println!(
            "{} {} at {} ({})",
            spec.title,
            spec.version,
            spec.mount,
            spec.doc.path.display()
        );
    }
    println!();
    let routes = specbox::admin::routes(&engine.api);
    let width = routes
        .iter()
        .filter_map(|r| r["path"].as_str())
        .map(str::len)
        .max()
        .unwrap_or(10);
    for r in &routes {
        println!(
            "{:<7} {:<width$}  {:<28} {}",
            r["method"].as_str().unwrap_or(""),
            r["path"].as_str().unwrap_or(""),
            r["operationId"].as_str().unwrap_or(""),
            r["action"].as_str().unwrap_or(""),
        );
    }
    println!(
        "\n{} operations, {} fixture items, {warnings} warning(s): ok",
        routes.len(),
        items
    );
    ExitCode::SUCCESS
}

/// A tiny HTTP/1.1 GET of /__specbox/health, with no dependency on a shell or curl. Over TLS
/// for an https:// URL, and also when an http:// URL gets no HTTP answer: then the server speaks
/// TLS (`--tls` given to the container's server, the image's HEALTHCHECK unchanged).
fn health(args: HealthArgs) -> ExitCode {
    let url = args.url.trim_end_matches('/');
    let (https, rest) = match url.strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => (false, url.strip_prefix("http://").unwrap_or(url)),
    };
    let (hostport, base) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let addr = match std::net::ToSocketAddrs::to_socket_addrs(&hostport)
        .ok()
        .and_then(|mut a| a.next())
    {
        Some(a) => a,
        None => {
            eprintln!("unhealthy: cannot resolve {hostport}");
            return ExitCode::FAILURE;
        }
    };
    let identity = match (&args.cert, &args.key) {
        (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
        _ => None,
    };
    let probe = Probe {
        addr,
        hostport,
        path: if base.is_empty() {
            "/__specbox/health".to_string()
        } else {
            format!("/{base}/__specbox/health")
        },
        timeout: args.timeout,
    };
    let over_tls = || -> std::io::Result<String> {
        let config = http::tls::probe_client(identity).map_err(std::io::Error::other)?;
        probe.get(Some(config))
    };
    let answer = if https {
        over_tls()
    } else {
        match probe.get(None) {
            Ok(resp) if resp.starts_with("HTTP/") => Ok(resp),
            plain => over_tls().map_err(|tls| {
                let plain = plain.map_or_else(|e| e.to_string(), |_| "not an HTTP answer".into());
                std::io::Error::other(format!("{plain}; over TLS: {tls}"))
            }),
        }
    };
    match answer {
        Ok(resp) if resp.starts_with("HTTP/1.1 200") => {
            println!("healthy");
            ExitCode::SUCCESS
        }
        Ok(resp) => {
            eprintln!("unhealthy: {}", resp.lines().next().unwrap_or(""));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where `specbox health` asks, and how long it waits.
struct Probe<'a> {
    addr: std::net::SocketAddr,
    hostport: &'a str,
    path: String,
    timeout: std::time::Duration,
}

impl Probe<'_> {
    /// The whole answer to one GET, over TLS with `tls`.
    fn get(&self, tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>) -> std::io::Result<String> {
        use std::io::{Read, Write};
        let s = std::net::TcpStream::connect_timeout(&self.addr, self.timeout)?;
        s.set_read_timeout(Some(self.timeout))?;
        s.set_write_timeout(Some(self.timeout))?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.path, self.hostport
        );
        let mut out = Vec::new();
        let Some(config) = tls else {
            let mut s = s;
            s.write_all(request.as_bytes())?;
            s.read_to_end(&mut out)?;
            return Ok(String::from_utf8_lossy(&out).into_owned());
        };
        let host = self.hostport.rsplit_once(':').map_or(self.hostport, |(h, _)| h);
        let name = rustls_pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
            .map_err(std::io::Error::other)?;
        let conn = tokio_rustls::rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
        let mut stream = tokio_rustls::rustls::StreamOwned::new(conn, s);
        stream.write_all(request.as_bytes())?;
        // What came before an unclean end still counts: the status line is all that is read.
        if let Err(e) = stream.read_to_end(&mut out)
            && out.is_empty()
        {
            return Err(e);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
