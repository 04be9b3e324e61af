//! The hyper accept loop: limits, network faults, graceful shutdown.
//!
//! HTTP/1.1 and h2c are served by hyper-util's auto builder; with `--tls` (see [`tls`]), the
//! same over TLS, h2 and HTTP/1.1 offered in ALPN. Each connection's stream is wrapped in
//! [`FaultyIo`] so that a request can ask for a transport failure (`fault=reset|empty|malformed`):
//! the service records the wish and fails, hyper drops the connection without a response, and
//! the wrapper's `Drop` turns that into a TCP reset (linger 0), a plain close, or garbage bytes.
//! That is the only way to produce real transport errors that a client's HTTP stack sees.
//!
//! Over TLS, [`FaultyIo`] wraps the TLS stream, not the socket under it: it sees what hyper
//! sees (the HTTP/2 preface that exempts a connection from the watchdog), it coalesces
//! plaintext so a batch of responses is encrypted as one record rather than one per response,
//! and garbage is sent inside a valid TLS record, so the client's HTTP parser meets it, as it
//! does without TLS. A reset still resets the TCP connection underneath; a close sends no
//! `close_notify`, which TLS clients report as an unexpected end of the connection.
//!
//! Writes are coalesced per tick of the runtime (see [`FaultyIo`]'s `AsyncWrite`): responses
//! leave together once every ready task has run, so a client reading many connections wakes once
//! per batch. A request without a body is answered while hyper hands it over ([`serve_now`]),
//! which lets hyper reuse its read buffer.
//!
//! Before the (synchronous) engine, a request may be answered from a recording ([`Replay`]) or
//! forwarded to the real API ([`Proxy`]), both async and both optional; admin paths never are.
//! Every exchange is then journaled and, with `--record`, queued for the recording before its
//! response leaves, so a response a client saw is in the file once specbox has stopped. Before
//! that, the engine's answer has its links to the spec's servers pointed at the address the
//! request came to ([`relink`]): only here is that address known (the Host, and whether the
//! connection is TLS), and the journal and the recording keep what the client got.
//!
//! Shutdown: on the signal the listener is dropped, in-flight requests get a bounded time to
//! finish, then the process exits.
//!
//! Owns: sockets and hyper, and the one choice per request of who answers it (a replay, the proxy,
//! the admin API or the engine, see `dispatch`). It is the top layer: nothing below imports it.

pub mod events;
pub mod tls;
pub mod watchdog;

use crate::admin;
use crate::exchange::{NetFault, Reply, Req};
use crate::http::watchdog::{Watch, Watchdog};
use crate::pipeline::{self, Engine};
use crate::startup::App;
use crate::traffic::proxy::Proxy;
use crate::traffic::record::{Exchange, Notes, Recorder};
use crate::traffic::replay::Replay;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::header::{CONTENT_LOCATION, HeaderValue, LINK, LOCATION};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body: usize,
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub max_headers: usize,
    pub shutdown_grace: Duration,
}

/// hyper's HTTP/1 limit on header fields when none is set (`DEFAULT_MAX_HEADERS` in hyper).
const HYPER_MAX_HEADERS: usize = 100;

/// What happens to traffic besides the engine: answered from a recording, forwarded upstream,
/// recorded. Each is optional; the default is none.
#[derive(Default)]
pub struct Traffic {
    pub replay: Option<Replay>,
    pub proxy: Option<Proxy>,
    pub recorder: Option<Recorder>,
}

/// Serves until `shutdown` completes, then drains in-flight requests (bounded by the grace time).
/// With `tls`, every connection is HTTPS.
pub async fn run(
    app: Arc<App>,
    traffic: Arc<Traffic>,
    listener: TcpListener,
    limits: Limits,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    app.webhooks.start(events::sink(app.clone(), traffic.clone()));
    // Timed transitions (lifecycles) fall due in real time too: looked at ten times a second,
    // off the request path.
    let ticking = app.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_millis(100));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            crate::admin::clock::tick(&ticking).await;
        }
    });
    let tls = tls.map(TlsAcceptor::from);
    let handshake_timeout = limits.header_read_timeout;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // No header-read timeout from hyper: the watchdog does that job for every connection at once
    // (see `watchdog` for why).
    // hyper's own limit is 100, kept in arrays on the stack; an explicit limit, even the same
    // one, makes it fill two 100-slot vectors per request instead.
    if limits.max_headers != HYPER_MAX_HEADERS {
        builder.http1().max_headers(limits.max_headers);
    }
    let watchdog = Watchdog::new(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: keep serving the connections we have.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let ctl = Arc::new(ConnCtl {
            fault: Mutex::new(None),
            watch: watchdog.watch(),
            https: tls.is_some(),
        });
        let io_ctl = ctl.clone();
        let app = app.clone();
        let traffic = traffic.clone();
        let limits = limits.clone();
        let service = service_fn(move |req| {
            let now = serve_now(&app, &traffic, req, &ctl);
            let app = app.clone();
            let traffic = traffic.clone();
            let ctl = ctl.clone();
            let limits = limits.clone();
            async move {
                match now {
                    Now::Done(response) => response,
                    Now::Delayed(answered, engine, delay) => {
                        serve_delayed(app, &engine, &traffic, *answered, delay, &ctl).await
                    }
                    Now::Later(req) => serve(app, &traffic, req, &limits, &ctl).await,
                }
            }
        });
        let Some(acceptor) = &tls else {
            let io = TokioIo::new(FaultyIo::new(stream, io_ctl));
            let conn = builder.serve_connection_with_upgrades(io, service).into_owned();
            let watched = graceful.watch(conn);
            tokio::spawn(async move {
                let _ = watched.await;
                drop(permit);
            });
            continue;
        };
        // The handshake runs on the connection's own task, so a slow one holds up no other.
        let handshake = acceptor.accept(stream);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            if let Some(stream) = handshake_within(handshake, handshake_timeout, peer).await {
                let io = TokioIo::new(FaultyIo::new(stream, io_ctl));
                let _ = watcher.watch(builder.serve_connection_with_upgrades(io, service)).await;
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "some connections were still busy after {:?}; closing them",
            limits.shutdown_grace
        );
    }
    Ok(())
}

/// The TLS handshake, bounded by `--header-timeout` (the watchdog starts with the first
/// request, so a client that stalls its handshake is the timer's to catch). A failure is the
/// client's business (a client that does not trust the certificate, or has no certificate to
/// show where one is required): logged at debug level.
async fn handshake_within(
    handshake: tokio_rustls::Accept<TcpStream>,
    timeout: Duration,
    peer: std::net::SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    let done = if timeout.is_zero() {
        Ok(handshake.await)
    } else {
        tokio::time::timeout(timeout, handshake).await
    };
    match done {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            tracing::debug!("TLS handshake with {peer} failed: {e}");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake with {peer} took longer than {timeout:?}; closed");
            None
        }
    }
}

/// Counts a request as in flight until dropped (also when the client goes away mid-request).
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Raised by the service to make hyper drop a connection without answering.
#[derive(Debug)]
struct InjectedFault;

impl std::fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected network fault")
    }
}

impl std::error::Error for InjectedFault {}

/// What only the journal and the recording read of a request: when it came, and its head beyond
/// what the engine reads ([`Req`]).
struct Arrival {
    started: std::time::Instant,
    wall: std::time::SystemTime,
    version: hyper::Version,
    uri: hyper::Uri,
}

/// When a request came: the clock for its duration, the wall clock for its journal entry.
fn now() -> (std::time::Instant, std::time::SystemTime) {
    (std::time::Instant::now(), std::time::SystemTime::now())
}

/// Takes a request's head apart into the engine's [`Req`] and the rest.
fn take_apart(
    parts: hyper::http::request::Parts,
    body: Bytes,
    (started, wall): (std::time::Instant, std::time::SystemTime),
) -> (Req, Arrival) {
    let request = Req {
        method: parts.method,
        path: parts.uri.path().into(),
        query: parts.uri.query().unwrap_or("").into(),
        headers: parts.headers,
        body,
    };
    let arrival = Arrival {
        started,
        wall,
        version: parts.version,
        uri: parts.uri,
    };
    (request, arrival)
}

/// One exchange between the engine's answer and the response: what the journal and the recording
/// need, and what is left to do (a delay to wait out, a network fault to carry out).
struct Answered {
    arrival: Arrival,
    request: Req,
    reply: Reply,
    notes: Notes,
}

/// How far a request got while hyper was handing it over.
enum Now {
    /// Answered: the response, or a fault to carry out.
    Done(Result<Response<Full<Bytes>>, InjectedFault>),
    /// Answered (by this engine), with a delay to wait out before the response leaves.
    Delayed(Box<Answered>, Arc<Engine>, Duration),
    /// Needs waiting (a body to read, an upstream to ask): served by [`serve`].
    Later(Request<Incoming>),
}

/// Answers a request that needs no waiting on the spot, while hyper is handing it over.
///
/// Why not in the service's future like the rest: as soon as the service returns its future,
/// hyper reads ahead on the connection (to notice a client that hangs up) before polling it, and
/// it can reuse its read buffer only when nothing points into it any more. A request held by a
/// future does (its URI and header values are slices of that buffer), and hyper then allocates a
/// fresh 8 KB buffer for every request. Most requests have no body (hyper knows from the head),
/// so most are answered here and the buffer is reused. (HTTP/1 only: see below.)
fn serve_now(app: &App, traffic: &Traffic, req: Request<Incoming>, ctl: &ConnCtl) -> Now {
    // HTTP/2 calls the service on the connection's own task and spawns only the future it gets
    // back: answering there would serve one connection's streams one after another.
    // A store that waits for its answers (Redis), and the admin API (whose clock waits for the
    // ticker), are served in the future too.
    if !req.body().is_end_stream()
        || traffic.proxy.is_some()
        || req.version() >= hyper::Version::HTTP_2
        || admin::is_admin_path(req.uri().path())
    {
        return Now::Later(req);
    }
    // The engine serving now: loaded once, so the whole exchange sees one version of the specs.
    let engine = app.engine.load();
    if !engine.store.is_local() {
        return Now::Later(req);
    }
    let (parts, _) = req.into_parts();
    let (request, arrival) = take_apart(parts, Bytes::new(), now());
    let _counted = InFlight::enter(&app.in_flight);
    let _serving = ctl.watch.serving();
    let (reply, notes) = answer_here(app, &engine, traffic, &request);
    let answered = Answered {
        arrival,
        request,
        reply,
        notes,
    };
    match answered.reply.directives.delay {
        Some(delay) => Now::Delayed(Box::new(answered), arc_swap::Guard::into_inner(engine), delay),
        None => Now::Done(finish(app, &engine, traffic, answered, ctl)),
    }
}

/// Serves a request that needs waiting: its body read (bounded by `--max-body`), or its answer
/// from the upstream.
async fn serve(
    app: Arc<App>,
    traffic: &Traffic,
    req: Request<Incoming>,
    limits: &Limits,
    ctl: &ConnCtl,
) -> Result<Response<Full<Bytes>>, InjectedFault> {
    let came = now();
    // The engine serving now, held to the end: the exchange sees one version of the specs even
    // if a reload swaps in another while its body is read or the upstream answers.
    let engine = app.engine.load_full();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let _counted = (!admin::is_admin_path(path)).then(|| InFlight::enter(&app.in_flight));
    let (body, unreadable) = match Limited::new(body, limits.max_body).collect().await {
        Ok(b) => (b.to_bytes(), None),
        Err(e) => {
            let too_large = e.downcast_ref::<http_body_util::LengthLimitError>().is_some();
            let (status, kind, msg) = if too_large {
                (
                    413,
                    crate::model::errors::ErrorKind::PayloadTooLarge,
                    format!("request body is larger than {} bytes", limits.max_body),
                )
            } else {
                (
                    400,
                    crate::model::errors::ErrorKind::MalformedBody,
                    format!("could not read the request body: {}", with_causes(&*e)),
                )
            };
            let err = crate::model::errors::ApiError::new(status, kind, msg);
            let spec = engine
                .api
                .router
                .spec_for_path(path)
                .and_then(|i| engine.api.specs.get(i));
            (Bytes::new(), Some(pipeline::render_error(spec, None, &err)))
        }
    };
    // From here until the response is handed to hyper, waiting on the client is not its silence.
    let _serving = ctl.watch.serving();
    let (request, arrival) = take_apart(parts, body, came);
    let admin = admin::is_admin_path(&request.path);
    let upstream = match (&traffic.proxy, admin) {
        (Some(proxy), false) => proxy.upstream_for(&engine.api, &request.path),
        _ => None,
    };
    let (reply, notes) = if let Some(reply) = unreadable {
        (reply, Notes::default())
    } else if let Some(reply) = replayed(traffic, &engine, &request) {
        (reply, replay_notes())
    } else if let (Some(proxy), Some((spec, up))) = (&traffic.proxy, upstream) {
        Box::pin(proxy.forward(&engine.api, spec, up, &request)).await
    } else {
        (dispatch(&app, &engine, &request).await, Notes::default())
    };
    if let Some(delay) = reply.directives.delay {
        tokio::time::sleep(delay).await;
    }
    let answered = Answered {
        arrival,
        request,
        reply,
        notes,
    };
    finish(&app, &engine, traffic, answered, ctl)
}

/// Waits out an injected delay, then lets the response go.
async fn serve_delayed(
    app: Arc<App>,
    engine: &Engine,
    traffic: &Traffic,
    answered: Answered,
    delay: Duration,
    ctl: &ConnCtl,
) -> Result<Response<Full<Bytes>>, InjectedFault> {
    let _counted = (!admin::is_admin_path(&answered.request.path)).then(|| InFlight::enter(&app.in_flight));
    let _serving = ctl.watch.serving();
    tokio::time::sleep(delay).await;
    finish(&app, engine, traffic, answered, ctl)
}

/// The reply from a recording, when replaying and the recording has this request.
fn replayed(traffic: &Traffic, engine: &Engine, request: &Req) -> Option<Reply> {
    match &traffic.replay {
        Some(replay) if !admin::is_admin_path(&request.path) => replay.answer(&engine.api, request),
        _ => None,
    }
}

/// The answer from this process to a request with no body, on a store that never waits (in
/// memory): a recording's, else the engine's. The engine's future is ready when first polled, so
/// it runs inline rather than hopping threads; were it not (it cannot be: [`serve_now`] sends
/// requests to a waiting store to [`serve`]), the request would be answered 503 rather than
/// blocked on.
fn answer_here(app: &App, engine: &Engine, traffic: &Traffic, request: &Req) -> (Reply, Notes) {
    match replayed(traffic, engine, request) {
        Some(reply) => (reply, replay_notes()),
        None => {
            let mut future = std::pin::pin!(dispatch(app, engine, request));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match future.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(reply) => (reply, Notes::default()),
                std::task::Poll::Pending => (Reply::empty(503), Notes::default()),
            }
        }
    }
}

/// The one place that decides between the admin API and the API engine: admin needs the whole
/// application (journal, state, faults), the engine only its own part, so neither calls the other.
/// `engine` is the one the exchange loaded from `app` (see [`App::engine`]).
pub async fn dispatch(app: &App, engine: &Engine, request: &Req) -> Reply {
    if admin::is_admin_path(&request.path) {
        admin::handle(app, engine, request).await
    } else {
        pipeline::handle(engine, request).await
    }
}

fn replay_notes() -> Notes {
    Notes {
        replayed: true,
        ..Notes::default()
    }
}

/// Points the links in an answer of the engine that lead to one of its spec's servers at the
/// address the request came to (see [`crate::model::links`]): in the body, and in a `Location`,
/// `Content-Location` or `Link` header. A proxied or replayed answer is left as it came.
fn relink(
    engine: &Engine,
    reply: &mut Reply,
    notes: &Notes,
    headers: &hyper::HeaderMap,
    https: bool,
    host: &dyn Fn() -> String,
) {
    if notes.upstream.is_some() || notes.replayed {
        return;
    }
    let Some(spec) = reply
        .meta
        .operation
        .and_then(|i| engine.api.ops.get(i))
        .and_then(|o| engine.api.specs.get(o.spec))
        .filter(|s| !s.links.is_empty())
    else {
        return;
    };
    // Behind a proxy that terminates TLS (a CI job's gateway), the address the client called is
    // the one the proxy says it was called at.
    let forwarded = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let https = match forwarded("x-forwarded-proto") {
        Some(p) if p.eq_ignore_ascii_case("https") => true,
        Some(p) if p.eq_ignore_ascii_case("http") => false,
        _ => https,
    };
    // The host is the client's text: only a plain host[:port] goes into a body (a `"` in a
    // Host header would break the JSON around it).
    let host = forwarded("x-forwarded-host").map_or_else(host, str::to_string);
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) {
        return;
    }
    let base = || {
        let mount = if spec.mount == "/" { "" } else { spec.mount.as_str() };
        format!("{}://{host}{mount}", if https { "https" } else { "http" })
    };
    if let Some(body) = spec.links.rewrite(&reply.body, base) {
        reply.body = Bytes::from(body);
    }
    for (name, value) in reply.headers.iter_mut() {
        if [LOCATION, CONTENT_LOCATION, LINK].contains(name)
            && let Some(v) = spec.links.rewrite(value.as_bytes(), base)
            && let Ok(v) = HeaderValue::from_bytes(&v)
        {
            *value = v;
        }
    }
}

/// Journals and records an answered exchange, then hands hyper its response (or the fault).
fn finish(
    app: &App,
    engine: &Engine,
    traffic: &Traffic,
    answered: Answered,
    ctl: &ConnCtl,
) -> Result<Response<Full<Bytes>>, InjectedFault> {
    let Answered {
        arrival: Arrival {
            started,
            wall,
            version,
            uri,
        },
        request,
        mut reply,
        notes,
    } = answered;
    let head = request.method == hyper::Method::HEAD;
    if !admin::is_admin_path(&request.path) {
        let host = || {
            uri.authority()
                .map(|a| a.as_str().to_string())
                .or_else(|| {
                    request
                        .headers
                        .get("host")
                        .and_then(|h| h.to_str().ok())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "localhost".into())
        };
        relink(engine, &mut reply, &notes, &request.headers, ctl.https, &host);
        if reply
            .meta
            .operation
            .is_some_and(|op| engine.api.hooks.for_op(op).is_some())
        {
            events::hand_off(
                app,
                engine,
                &request,
                &reply,
                &host(),
                uri.scheme_str() == Some("https"),
            );
        }
        if let Some(recorder) = &traffic.recorder {
            let version = format!("{version:?}");
            let host = host();
            let (operation_id, spec) = names(engine, &request, &reply);
            recorder.record(&Exchange {
                started: wall,
                took: started.elapsed(),
                http_version: &version,
                host: &host,
                method: request.method.as_str(),
                path: &request.path,
                query: &request.query,
                request_headers: &request.headers,
                request_body: &request.body,
                status: reply.status,
                response_headers: &reply.header_texts(),
                // HEAD sends no body; record what the client got.
                response_body: if head { &[] } else { &reply.body },
                operation_id,
                spec,
                tenant: reply.meta.tenant.as_deref(),
                injected: reply.meta.injected.as_deref(),
                notes: &notes,
            });
        }
        // Last, because the journal keeps the request (its headers move into the entry).
        journal(app, engine, request, &mut reply, wall, started.elapsed());
    }
    if let Some(fault) = reply.directives.fault {
        if let Ok(mut f) = ctl.fault.lock() {
            *f = Some(fault);
        }
        return Err(InjectedFault);
    }
    Ok(to_response(reply, head))
}

/// The operation id and the spec's file stem of an exchange, as far as they are known.
fn names<'a>(engine: &'a Engine, req: &Req, reply: &Reply) -> (Option<&'a str>, Option<&'a str>) {
    let op = reply.meta.operation.and_then(|i| engine.api.ops.get(i));
    let spec = op
        .map(|o| o.spec)
        .or_else(|| engine.api.router.spec_for_path(&req.path))
        .and_then(|i| engine.api.specs.get(i));
    (op.map(|o| o.id.as_str()), spec.map(|s| s.doc.name.as_str()))
}

/// An error and what caused it, as one line: hyper's own text is only "error reading a body from
/// connection"; the cause says why.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn journal(app: &App, engine: &Engine, req: Req, reply: &mut Reply, at: std::time::SystemTime, took: Duration) {
    if app.journal.capacity() == 0 {
        return;
    }
    app.journal.record(crate::traffic::journal::JournalEntry::of(
        req,
        reply,
        &engine.api,
        at,
        took,
    ));
}

fn to_response(reply: Reply, head: bool) -> Response<Full<Bytes>> {
    let body = if head { Bytes::new() } else { reply.body };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    for (name, value) in reply.headers {
        headers.append(name, value);
    }
    resp
}

/// What a request asked to happen to its connection.
struct ConnCtl {
    fault: Mutex<Option<NetFault>>,
    watch: Arc<Watch>,
    /// The connection is TLS: links in answers are `https://` (see [`relink`]).
    https: bool,
}

/// A connection's stream: a TCP socket, or TLS over one.
trait Transport: AsyncRead + AsyncWrite + Unpin {
    /// The TCP socket underneath (to reset it).
    fn socket(&self) -> &TcpStream;
    /// Sends as much of `bytes` as can go without waiting (on drop: best effort).
    fn send_now(&mut self, bytes: &[u8]);
}

impl Transport for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
    fn send_now(&mut self, bytes: &[u8]) {
        let _ = self.try_write(bytes);
    }
}

impl Transport for TlsStream<TcpStream> {
    fn socket(&self) -> &TcpStream {
        self.get_ref().0
    }
    fn send_now(&mut self, bytes: &[u8]) {
        // tokio-rustls encrypts into its buffer and writes what the socket takes at once; with
        // a waker that never wakes, whatever does not fit is given up.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let _ = Pin::new(&mut *self).poll_write(&mut cx, bytes);
        let _ = Pin::new(&mut *self).poll_flush(&mut cx);
    }
}

/// A connection's stream that carries out an injected fault when hyper drops it.
struct FaultyIo<S: Transport> {
    inner: S,
    ctl: Arc<ConnCtl>,
    /// Nothing has been read yet: the first bytes tell HTTP/2 (exempt from the watchdog).
    first_read: bool,
    /// Written bytes held until the end of the runtime's tick (see `poll_flush`).
    held: Vec<u8>,
    /// `held` has waited for the tick to end: the next flush sends it.
    waited: bool,
}

/// The most bytes held back for coalescing; a larger write goes straight to the socket.
const HOLD_MAX: usize = 64 * 1024;

/// The most room a connection keeps for holding between responses.
const HOLD_KEEP: usize = 16 * 1024;

impl<S: Transport> FaultyIo<S> {
    fn new(inner: S, ctl: Arc<ConnCtl>) -> Self {
        FaultyIo {
            inner,
            ctl,
            first_read: true,
            held: Vec::new(),
            waited: false,
        }
    }
}

impl<S: Transport> Drop for FaultyIo<S> {
    fn drop(&mut self) {
        // hyper flushes before it closes a connection in the normal course. Something can still
        // be held when it drops one for an error (a client that half-closes while its response
        // waits for the tick) or hands the socket to an upgrade: that much is sent as far as the
        // socket takes it without waiting, best effort.
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.inner.send_now(&held);
        }
        let fault = self.ctl.fault.lock().ok().and_then(|f| *f);
        match fault {
            Some(NetFault::Reset) => {
                // Linger 0: close() sends RST instead of FIN.
                let _ = socket_linger_zero(self.inner.socket());
            }
            Some(NetFault::Malformed) => {
                self.inner
                    .send_now(b"\x00\x13GARBAGE specbox malformed response \xff\xfe\r\n\r\n");
            }
            Some(NetFault::Empty) | None => {}
        }
    }
}

#[allow(deprecated)]
fn socket_linger_zero(s: &TcpStream) -> io::Result<()> {
    s.set_linger(Some(Duration::ZERO))
}

impl<S: Transport> AsyncRead for FaultyIo<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Pending => self.ctl.watch.on_pending(cx.waker()),
            ready => {
                if self.first_read {
                    self.first_read = false;
                    if buf
                        .filled()
                        .get(before..)
                        .is_some_and(|b| b.starts_with(b"PRI * HTTP/2"))
                    {
                        self.ctl.watch.exempt();
                    }
                }
                self.ctl.watch.heard();
                ready
            }
        }
    }
}

impl<S: Transport> FaultyIo<S> {
    /// Sends what is held.
    fn poll_release(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.held.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.held))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.held.drain(..n);
        }
        self.waited = false;
        // An idle connection keeps no large buffer from one large response.
        if self.held.capacity() > HOLD_KEEP {
            self.held = Vec::new();
        }
        Poll::Ready(Ok(()))
    }

    /// Holds `bufs` if they fit, else sends what is held so they can go straight out.
    fn poll_hold(&mut self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<Option<usize>>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if self.held.len() + total <= HOLD_MAX {
            for b in bufs {
                self.held.extend_from_slice(b);
            }
            return Poll::Ready(Ok(Some(total)));
        }
        ready!(self.poll_release(cx))?;
        Poll::Ready(Ok(None))
    }
}

/// Writes are coalesced per tick of the runtime, the way Netty's flush consolidation does it:
/// a response is held until the runtime has run every other task that was ready, then sent. One
/// tick answers every connection whose request arrived meanwhile, so their responses leave
/// back to back, and a client reading many connections (a load generator, a pooled async
/// client) wakes once for the lot instead of once per response. Each wake-up is an interrupt to
/// the client's CPU, paid by the sender, and on a virtual machine it was the largest kernel cost
/// of a create (2.4 µs of 25). A lone request waits for nothing: with no other task ready, the
/// tick ends at once.
impl<S: Transport> AsyncWrite for FaultyIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(n) = ready!(self.poll_hold(cx, &[io::IoSlice::new(buf)]))? {
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(n) = ready!(self.poll_hold(cx, bufs))? {
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.held.is_empty() {
            if !self.waited {
                self.waited = true;
                // `yield_now` hands the waker to the scheduler, which wakes it once it has run
                // out of ready tasks and polled for I/O: the end of the tick.
                let tick = std::pin::pin!(tokio::task::yield_now());
                if tick.poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            ready!(self.poll_release(cx))?;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_release(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
