//! Webhooks and callbacks on their way out: subscriptions, the deliveries log, and the tasks
//! that send them.
//!
//! The request path only hands an event over: [`Webhooks::fire`] is a `try_send` on a bounded
//! channel (a full channel drops the event and counts it), and only for operations the model
//! marked as firing something. A dispatcher task builds each payload ([`payload`]), finds the
//! subscriptions that hear it, and queues one delivery per subscription. Each subscription has
//! its own task and bounded queue, so deliveries to one receiver go out in order and a slow
//! receiver holds up no other. Callbacks go where their runtime expression says, each on its own
//! task. Sending, signing and retrying are in [`send`]; the log's entries are in [`delivery`].
//!
//! Subscriptions and the log live beside the engine (in the application, like the journal), so
//! a reload (`--watch`) keeps them: a fired event carries the model's hooks it needs with it.

pub mod delivery;
pub mod payload;
pub mod send;

use crate::exchange::TenantName;
use crate::model::hooks::{Hook, Kind};
use crate::traffic::proxy::HttpClient;
use crate::traffic::webhooks::delivery::{Attempt, Delivery, Job, Retry, Shared, State};
use crate::traffic::webhooks::payload::Exchange;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// Events waiting for the dispatcher; beyond this they are dropped (and counted).
const EVENT_QUEUE: usize = 4096;
/// Deliveries waiting for one subscription's task.
const SUBSCRIPTION_QUEUE: usize = 1024;

/// How webhooks are sent (`--webhook-url`, `--webhook-retries`).
#[derive(Debug, Clone)]
pub struct Options {
    /// Subscribers to every event, from the command line.
    pub urls: Vec<String>,
    pub retry: Retry,
    /// Deliveries the log keeps (the oldest go first).
    pub log_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            urls: Vec::new(),
            retry: Retry {
                retries: 5,
                timeout: Duration::from_secs(5),
                backoff: Duration::from_millis(200),
            },
            log_size: 1000,
        }
    }
}

/// An event the engine handed over: the hooks its operation fires and what they need.
pub struct Fired {
    pub hooks: Arc<[Arc<Hook>]>,
    /// The resource that changed (an index into the model the hooks came from).
    pub res: Option<usize>,
    /// The changed object, as stored.
    pub object: Option<Bytes>,
    pub tenant: Option<TenantName>,
    /// The exchange, for callbacks' runtime expressions (only when a hook is a callback).
    pub exchange: Option<Box<Exchange>>,
    /// When it happened by the sandbox clock (`None`: now).
    pub at: Option<SystemTime>,
}

/// A receiver of webhooks.
pub struct Subscription {
    pub id: String,
    pub url: String,
    /// Names, `prefix.*`, or `*`.
    pub events: Vec<String>,
    pub tenant: Option<String>,
    pub secret: Option<String>,
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl Subscription {
    fn hears(&self, event: &str, tenant: Option<&str>) -> bool {
        let tenant_ok = self.tenant.as_deref().is_none_or(|t| Some(t) == tenant);
        tenant_ok && self.events.iter().any(|p| matches(p, event))
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "url": self.url,
            "events": self.events,
            "tenant": self.tenant,
            "secret": self.secret.is_some(),
        })
    }
}

/// Whether an event name matches a pattern: itself, `prefix.*`, or `*`.
fn matches(pattern: &str, event: &str) -> bool {
    pattern == "*"
        || pattern.trim_start_matches('/') == event
        || pattern
            .strip_suffix('*')
            .is_some_and(|prefix| event.starts_with(prefix.trim_start_matches('/')))
}

/// Where attempts are reported (set by the server: the journal and the recording).
pub type Sink = Arc<dyn Fn(&Attempt) + Send + Sync>;

/// Everything about sending webhooks and callbacks.
pub struct Webhooks {
    opts: Options,
    subs: RwLock<Vec<Arc<Subscription>>>,
    log: Mutex<VecDeque<Shared>>,
    next_sub: AtomicU64,
    next_delivery: AtomicU64,
    next_event: AtomicU64,
    dropped: AtomicU64,
    tx: mpsc::Sender<Fired>,
    rx: Mutex<Option<mpsc::Receiver<Fired>>>,
    /// Set by [`Webhooks::start`], inside the runtime.
    running: OnceLock<Running>,
}

struct Running {
    runtime: tokio::runtime::Handle,
    client: HttpClient,
    sink: Sink,
}

impl Webhooks {
    pub fn new(opts: Options) -> Webhooks {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let hooks = Webhooks {
            subs: RwLock::new(Vec::new()),
            log: Mutex::new(VecDeque::new()),
            next_sub: AtomicU64::new(1),
            next_delivery: AtomicU64::new(1),
            next_event: AtomicU64::new(1),
            dropped: AtomicU64::new(0),
            tx,
            rx: Mutex::new(Some(rx)),
            running: OnceLock::new(),
            opts,
        };
        for url in hooks.opts.urls.clone() {
            hooks.subscribe(url, vec!["*".into()], None, None);
        }
        hooks
    }

    /// Starts the dispatcher on the current runtime (once; later calls do nothing). `sink` hears
    /// every attempt.
    pub fn start(self: &Arc<Self>, sink: Sink) {
        let Some(mut rx) = self.rx.lock().take() else {
            return;
        };
        let running = Running {
            runtime: tokio::runtime::Handle::current(),
            client: crate::traffic::proxy::https_client(),
            sink,
        };
        if self.running.set(running).is_err() {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            while let Some(fired) = rx.recv().await {
                me.dispatch(fired);
            }
        });
    }

    /// Hands an event over without waiting: a full queue drops it (counted in `dropped`).
    pub fn fire(&self, fired: Fired) {
        if self.tx.try_send(fired).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Builds and queues the deliveries of one event; returns their ids.
    pub fn dispatch(&self, fired: Fired) -> Vec<String> {
        let object = fired
            .object
            .as_ref()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok());
        let mut ids = Vec::new();
        for hook in fired.hooks.iter() {
            let event_id = format!("evt_{}", self.next_event.fetch_add(1, Ordering::Relaxed));
            let at = fired.at.unwrap_or_else(SystemTime::now);
            let (body, violations) = payload::build(hook, fired.res, object.as_ref(), &event_id, at);
            if !violations.is_empty() {
                tracing::warn!(
                    "the payload of {} does not validate against its schema: {}",
                    hook.name,
                    violations.join("; ")
                );
            }
            let bytes = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
            let new = |url: String, subscription: Option<String>, callback: bool| Delivery {
                id: format!("dlv_{}", self.next_delivery.fetch_add(1, Ordering::Relaxed)),
                event: Arc::from(hook.name.as_str()),
                event_id: event_id.clone(),
                callback,
                subscription,
                method: hook.method.clone(),
                url,
                content_type: hook.content_type.clone(),
                tenant: fired.tenant.clone(),
                state: State::Pending,
                status: None,
                error: None,
                attempts: 0,
                payload: body.clone(),
                violations: violations.clone(),
                created: SystemTime::now(),
                updated: SystemTime::now(),
            };
            match &hook.kind {
                Kind::Webhook => {
                    let subs: Vec<Arc<Subscription>> = self
                        .subs
                        .read()
                        .iter()
                        .filter(|s| s.hears(&hook.name, fired.tenant.as_deref()))
                        .cloned()
                        .collect();
                    for sub in subs {
                        let d = self.log(new(sub.url.clone(), Some(sub.id.clone()), false));
                        ids.push(d.lock().id.clone());
                        let job = Job {
                            delivery: d.clone(),
                            body: bytes.clone(),
                            secret: sub.secret.clone(),
                            signature: hook.signature.clone(),
                        };
                        if !self.enqueue(&sub, job) {
                            d.lock().state = State::Dropped;
                            self.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Kind::Callback { url } => {
                    let Some(ex) = &fired.exchange else { continue };
                    let target = payload::resolve_url(url, ex);
                    let d = self.log(new(target.clone(), None, true));
                    ids.push(d.lock().id.clone());
                    if !target.starts_with("http://") && !target.starts_with("https://") {
                        let mut d = d.lock();
                        d.state = State::Failed;
                        d.error = Some(format!("{url} resolved to {target:?}, which is not an http(s) URL"));
                        continue;
                    }
                    let job = Job {
                        delivery: d,
                        body: bytes.clone(),
                        secret: None,
                        signature: None,
                    };
                    if let Some(run) = self.running.get() {
                        let (client, sink, retry) = (run.client.clone(), run.sink.clone(), self.opts.retry.clone());
                        run.runtime.spawn(async move {
                            send::deliver(&client, &retry, job, &*sink).await;
                        });
                    }
                }
            }
        }
        ids
    }

    /// Queues a job on a subscription's task (started on first use). `false`: the queue is full.
    fn enqueue(&self, sub: &Arc<Subscription>, job: Job) -> bool {
        let Some(run) = self.running.get() else {
            return false;
        };
        let tx = sub.queue.get_or_init(|| {
            let (tx, mut rx) = mpsc::channel::<Job>(SUBSCRIPTION_QUEUE);
            let (client, sink, retry) = (run.client.clone(), run.sink.clone(), self.opts.retry.clone());
            run.runtime.spawn(async move {
                // One at a time: a subscription's deliveries arrive in the order they were fired.
                while let Some(job) = rx.recv().await {
                    send::deliver(&client, &retry, job, &*sink).await;
                }
            });
            tx
        });
        tx.try_send(job).is_ok()
    }

    fn log(&self, d: Delivery) -> Shared {
        let shared = Arc::new(Mutex::new(d));
        let mut log = self.log.lock();
        if log.len() >= self.opts.log_size.max(1) {
            log.pop_front();
        }
        log.push_back(shared.clone());
        shared
    }

    /// Adds a subscription; returns it.
    pub fn subscribe(
        &self,
        url: String,
        events: Vec<String>,
        tenant: Option<String>,
        secret: Option<String>,
    ) -> Arc<Subscription> {
        let sub = Arc::new(Subscription {
            id: format!("wh_{}", self.next_sub.fetch_add(1, Ordering::Relaxed)),
            url,
            events: if events.is_empty() { vec!["*".into()] } else { events },
            tenant,
            secret,
            queue: OnceLock::new(),
        });
        self.subs.write().push(sub.clone());
        sub
    }

    /// Removes a subscription; what it had not sent yet is cancelled. `false`: no such id.
    pub fn unsubscribe(&self, id: &str) -> bool {
        let mut subs = self.subs.write();
        let before = subs.len();
        subs.retain(|s| s.id != id);
        let removed = subs.len() != before;
        drop(subs);
        if removed {
            for d in self.log.lock().iter() {
                let mut d = d.lock();
                if d.subscription.as_deref() == Some(id) && matches!(d.state, State::Pending | State::Retrying) {
                    d.state = State::Cancelled;
                }
            }
        }
        removed
    }

    pub fn subscriptions_json(&self) -> Value {
        let subs: Vec<Value> = self.subs.read().iter().map(|s| s.to_json()).collect();
        json!({ "webhooks": subs })
    }

    pub fn subscription_json(sub: &Subscription) -> Value {
        sub.to_json()
    }

    /// The deliveries, newest first, filtered by `event` (a name or pattern), `status` (a state
    /// such as `delivered`, or an HTTP status), `tenant`, `kind`.
    pub fn deliveries_json(&self, query: &str) -> Result<Value, String> {
        let mut event = None;
        let mut status = None;
        let mut tenant = None;
        let mut kind = None;
        for (k, v) in crate::exchange::parts::form_pairs(query.as_bytes()) {
            match &*k {
                "event" => event = Some(v.to_string()),
                "status" => status = Some(v.to_string()),
                "tenant" => tenant = Some(v.to_string()),
                "kind" => kind = Some(v.to_string()),
                other => return Err(format!("{other}: unknown parameter (event, status, tenant, kind)")),
            }
        }
        let log: Vec<Shared> = self.log.lock().iter().cloned().collect();
        let list: Vec<Value> = log
            .iter()
            .rev()
            .filter_map(|d| {
                let d = d.lock();
                let keep = event.as_deref().is_none_or(|e| matches(e, &d.event))
                    && status
                        .as_deref()
                        .is_none_or(|s| s == d.state.as_str() || d.status.is_some_and(|code| s == code.to_string()))
                    && tenant.as_deref().is_none_or(|t| d.tenant.as_deref() == Some(t))
                    && kind
                        .as_deref()
                        .is_none_or(|k| k == if d.callback { "callback" } else { "webhook" });
                keep.then(|| d.to_json())
            })
            .collect();
        Ok(json!({
            "deliveries": list,
            "dropped": self.dropped.load(Ordering::Relaxed),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns_match_names_prefixes_and_everything() {
        assert!(matches("*", "a.b"));
        assert!(matches("customer.created", "customer.created"));
        assert!(matches("customer.*", "customer.updated"));
        assert!(!matches("customer.*", "invoice.created"));
        assert!(matches("/CAPTURE", "CAPTURE"));
        assert!(!matches("customer.created", "customer.updated"));
    }
}
