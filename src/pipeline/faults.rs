//! Injected failures: what a request asks for with `Prefer`, and what is decided for it.
//!
//! Prism's `Prefer` syntax (`code=500`, `example=name`, `dynamic=true`) is honoured so that a
//! test suite written against Prism runs unchanged; `delay=` and `fault=` extend it. The outcome
//! of this module is a plain [`Directives`] value that the rest of the pipeline follows.

use crate::exchange::NetFault;
use std::time::Duration;

/// What `Prefer` asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefer {
    pub code: Option<u16>,
    pub example: Option<String>,
    pub dynamic: bool,
    pub delay: Option<Duration>,
    pub fault: Option<NetFault>,
}

impl Prefer {
    /// Parses `code=500, example=foo; dynamic=true` (commas or semicolons, spaces ignored).
    /// Unknown preferences are ignored, as RFC 7240 asks.
    pub fn parse<'a>(values: impl Iterator<Item = &'a str>) -> Prefer {
        let mut p = Prefer::default();
        for value in values {
            for part in value.split([',', ';']) {
                let Some((k, v)) = part.trim().split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "code" => p.code = v.parse().ok().filter(|c| (100..600).contains(c)),
                    "example" => p.example = Some(v.to_string()),
                    "dynamic" => p.dynamic = v.eq_ignore_ascii_case("true"),
                    "delay" => p.delay = v.parse::<u64>().ok().map(Duration::from_millis),
                    "fault" => p.fault = NetFault::parse(&v.to_ascii_lowercase()),
                    _ => {}
                }
            }
        }
        p
    }
}

// ---------------------------------------------------------------------------------------------
// Fault rules and seeded chaos
// ---------------------------------------------------------------------------------------------

use crate::state::store::Store;
use dashmap::DashMap;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The statuses a rule or `Prefer: code=` may force.
pub const FORCEABLE: &[u16] = &[400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504];

/// What a rule does when it fires.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effect {
    pub status: Option<u16>,
    pub delay: Option<Duration>,
    pub fault: Option<NetFault>,
}

/// A fault rule: which requests it matches, what it does, how often.
#[derive(Debug)]
pub struct Rule {
    pub id: u64,
    pub operation_id: Option<String>,
    pub method: Option<String>,
    /// A path template as the route table shows it (`/pets/{petId}`), or a concrete path.
    pub path: Option<String>,
    pub tenant: Option<String>,
    pub effect: Effect,
    /// Let this many matching requests through first ("the third call fails": skip 2).
    pub skip: u64,
    /// Fire for this many matching requests (after `skip`), then stop; `None`: no limit.
    pub times: Option<u64>,
    pub probability: Option<f64>,
    matched: AtomicU64,
    fired: AtomicU64,
}

impl Rule {
    /// Parses a rule from its JSON form; an error names the bad field.
    pub fn from_json(id: u64, v: &Value) -> Result<Rule, String> {
        let obj = v.as_object().ok_or("the rule must be a JSON object")?;
        let known = [
            "operationId",
            "method",
            "path",
            "tenant",
            "status",
            "delay",
            "delay_ms",
            "fault",
            "skip",
            "after",
            "times",
            "count",
            "probability",
            "match",
            "action",
        ];
        if let Some(unknown) = obj.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("{unknown}: unknown field (known: {})", known.join(", ")));
        }
        // Accept both flat rules and `{match: {...}, action: {...}}`.
        let m = obj.get("match").unwrap_or(v);
        let a = obj.get("action").unwrap_or(v);
        let text = |src: &Value, key: &str| -> Result<Option<String>, String> {
            match src.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(_) => Err(format!("{key}: must be a non-empty string")),
            }
        };
        let uint = |src: &Value, key: &str| -> Result<Option<u64>, String> {
            match src.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(n) => n
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| format!("{key}: must be a non-negative integer")),
            }
        };
        let operation_id = text(m, "operationId")?;
        let method = text(m, "method")?.map(|s| s.to_ascii_uppercase());
        let path = text(m, "path")?;
        if operation_id.is_none() && path.is_none() {
            return Err("operationId: a rule needs operationId, or method and path".into());
        }
        let status = match uint(a, "status")? {
            Some(s) if FORCEABLE.contains(&(s as u16)) && s < 600 => Some(s as u16),
            Some(s) => return Err(format!("status: {s} cannot be injected (one of {FORCEABLE:?})")),
            None => None,
        };
        let delay = match a.get("delay") {
            Some(Value::String(s)) => Some(humantime::parse_duration(s).map_err(|e| format!("delay: {e}"))?),
            Some(Value::Number(_)) => uint(a, "delay")?.map(Duration::from_millis),
            Some(Value::Null) | None => uint(a, "delay_ms")?.map(Duration::from_millis),
            Some(_) => return Err("delay: milliseconds or a duration such as \"2s\"".into()),
        };
        let fault = match text(a, "fault")? {
            Some(f) => {
                Some(NetFault::parse(&f).ok_or_else(|| format!("fault: {f:?} is not one of reset, empty, malformed"))?)
            }
            None => None,
        };
        if status.is_none() && delay.is_none() && fault.is_none() {
            return Err("status: a rule needs a status, a delay or a fault".into());
        }
        let probability = match obj.get("probability") {
            None | Some(Value::Null) => None,
            Some(p) => match p.as_f64() {
                Some(p) if (0.0..=1.0).contains(&p) => Some(p),
                _ => return Err("probability: must be a number from 0 to 1".into()),
            },
        };
        Ok(Rule {
            id,
            operation_id,
            method,
            path,
            tenant: text(m, "tenant")?,
            effect: Effect { status, delay, fault },
            skip: uint(v, "skip")?.or(uint(v, "after")?).unwrap_or(0),
            times: uint(v, "times")?.or(uint(v, "count")?),
            probability,
            matched: AtomicU64::new(0),
            fired: AtomicU64::new(0),
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "operationId": self.operation_id,
            "method": self.method,
            "path": self.path,
            "tenant": self.tenant,
            "status": self.effect.status,
            "delay_ms": self.effect.delay.map(|d| d.as_millis() as u64),
            "fault": self.effect.fault.map(NetFault::as_str),
            "skip": self.skip,
            "times": self.times,
            "probability": self.probability,
            "matched": self.matched.load(Ordering::Relaxed),
            "fired": self.fired.load(Ordering::Relaxed),
        })
    }

    fn matches(&self, req: &RequestFacts) -> bool {
        self.operation_id.as_deref().is_none_or(|o| o == req.operation_id)
            && self.method.as_deref().is_none_or(|m| m == req.method)
            && self.path.as_deref().is_none_or(|p| p == req.template || p == req.path)
            && self.tenant.as_deref().is_none_or(|t| t == req.tenant)
    }
}

/// What a fault decision needs to know about a request.
pub struct RequestFacts<'a> {
    pub operation_id: &'a str,
    pub method: &'a str,
    /// The route template (mount included) and the concrete path.
    pub template: &'a str,
    pub path: &'a str,
    pub tenant: &'a str,
    /// Error statuses the operation documents.
    /// The operation's declared responses (its documented error statuses feed chaos).
    pub responses: &'a [crate::model::operation::Response],
}

/// Startup chaos: a share of requests fails, every request waits a random while.
#[derive(Debug, Clone, Default)]
pub struct ChaosConfig {
    pub rate: f64,
    pub latency: Option<(Duration, Duration)>,
    pub seed: u64,
}

/// Rules and chaos. Consulted once per request, without a global lock: rules live in a
/// `DashMap` behind an "any rules?" flag, and random decisions hash the seed with a sequence
/// number instead of sharing one RNG, so the same seed and the same request sequence inject
/// the same faults.
pub struct Faults {
    rules: DashMap<u64, Rule>,
    /// With a shared store: the version of its rules this copy was made from.
    synced: AtomicU64,
    any_rules: AtomicBool,
    next_id: AtomicU64,
    sequence: AtomicU64,
    chaos: Chaos,
}

/// Chaos as the running server keeps it: atomics, so the dashboard can change it while requests
/// read it without a lock (a reader may see one field changed before another; each is valid).
struct Chaos {
    /// `f64` bits.
    rate: AtomicU64,
    /// Microseconds; `lo > hi` means no added latency.
    latency_lo: AtomicU64,
    latency_hi: AtomicU64,
    seed: AtomicU64,
}

impl Chaos {
    fn new(c: &ChaosConfig) -> Chaos {
        let chaos = Chaos {
            rate: AtomicU64::new(0),
            latency_lo: AtomicU64::new(1),
            latency_hi: AtomicU64::new(0),
            seed: AtomicU64::new(0),
        };
        chaos.set(c);
        chaos
    }

    fn set(&self, c: &ChaosConfig) {
        self.rate.store(c.rate.to_bits(), Ordering::Relaxed);
        let (lo, hi) = match c.latency {
            Some((lo, hi)) => (lo.as_micros() as u64, hi.as_micros() as u64),
            None => (1, 0),
        };
        self.latency_lo.store(lo, Ordering::Relaxed);
        self.latency_hi.store(hi, Ordering::Relaxed);
        self.seed.store(c.seed, Ordering::Relaxed);
    }

    fn get(&self) -> ChaosConfig {
        let (lo, hi) = (
            self.latency_lo.load(Ordering::Relaxed),
            self.latency_hi.load(Ordering::Relaxed),
        );
        ChaosConfig {
            rate: f64::from_bits(self.rate.load(Ordering::Relaxed)),
            latency: (lo <= hi).then(|| (Duration::from_micros(lo), Duration::from_micros(hi))),
            seed: self.seed.load(Ordering::Relaxed),
        }
    }
}

/// A decision for one request, with a label for the injected-header and the journal.
#[derive(Debug, Default)]
pub struct Decision {
    pub effect: Effect,
    pub labels: Vec<String>,
}

impl Faults {
    pub fn new(chaos: ChaosConfig) -> Self {
        Faults {
            rules: DashMap::new(),
            synced: AtomicU64::new(0),
            any_rules: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            sequence: AtomicU64::new(0),
            chaos: Chaos::new(&chaos),
        }
    }

    /// The chaos settings in force.
    pub fn chaos(&self) -> ChaosConfig {
        self.chaos.get()
    }

    /// Changes the chaos settings from a JSON object (`rate`, `latency` as `"20ms..200ms"` or
    /// null, `seed`); fields left out keep their value. A bad field is an `Err` naming it.
    pub fn set_chaos(&self, v: &Value) -> Result<ChaosConfig, String> {
        let mut c = self.chaos.get();
        let Some(map) = v.as_object() else {
            return Err("the chaos settings must be a JSON object".into());
        };
        for (k, v) in map {
            match k.as_str() {
                "rate" => match v.as_f64() {
                    Some(r) if (0.0..=1.0).contains(&r) => c.rate = r,
                    _ => return Err("rate: a number from 0 to 1".into()),
                },
                "latency" => match v {
                    Value::Null => c.latency = None,
                    Value::String(s) if s.trim().is_empty() => c.latency = None,
                    Value::String(s) => c.latency = Some(parse_latency(s).map_err(|e| format!("latency: {e}"))?),
                    _ => return Err("latency: a duration or a range such as \"20ms..200ms\"".into()),
                },
                "seed" => c.seed = v.as_u64().ok_or("seed: a non-negative integer")?,
                other => return Err(format!("{other}: unknown setting (rate, latency, seed)")),
            }
        }
        self.chaos.set(&c);
        Ok(c)
    }

    /// Adds a rule (for every process, with a shared store); returns it as stored.
    pub async fn add(&self, store: &Store, v: &Value) -> Result<Value, String> {
        let id = match store.shared() {
            None => self.next_id.fetch_add(1, Ordering::Relaxed),
            Some(shared) => {
                Rule::from_json(0, v)?;
                shared.rule_add(v).await.map_err(|e| e.message)?
            }
        };
        let rule = Rule::from_json(id, v)?;
        let out = rule.to_json();
        self.rules.insert(id, rule);
        self.any_rules.store(true, Ordering::Release);
        Ok(out)
    }

    pub async fn list(&self, store: &Store) -> Vec<Value> {
        self.sync(store);
        let counts = match store.shared() {
            Some(shared) => shared.rule_counts().await.unwrap_or_default(),
            None => Default::default(),
        };
        let mut rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                let mut v = r.to_json();
                if let (Some((matched, fired)), Some(obj)) = (counts.get(&r.id), v.as_object_mut()) {
                    obj.insert("matched".into(), Value::from(*matched));
                    obj.insert("fired".into(), Value::from(*fired));
                }
                v
            })
            .collect();
        rules.sort_by_key(|r| r["id"].as_u64());
        rules
    }

    pub async fn remove(&self, store: &Store, id: u64) -> bool {
        let removed = match store.shared() {
            Some(shared) => shared.rule_remove(Some(id)).await.unwrap_or(false),
            None => false,
        };
        let removed = self.rules.remove(&id).is_some() || removed;
        self.any_rules.store(!self.rules.is_empty(), Ordering::Release);
        removed
    }

    pub async fn clear(&self, store: &Store) {
        if let Some(shared) = store.shared() {
            let _ = shared.rule_remove(None).await;
        }
        self.rules.clear();
        self.any_rules.store(false, Ordering::Release);
    }

    /// With a shared store: replaces this copy of the rules when another process changed them
    /// (one atomic load per request when nothing changed; nothing at all in memory).
    fn sync(&self, store: &Store) {
        let version = store.rules_version();
        if version == self.synced.load(Ordering::Acquire) {
            return;
        }
        self.synced.store(version, Ordering::Release);
        let rules: Vec<Rule> = store
            .rules()
            .iter()
            .filter_map(|v| {
                let mut v = v.clone();
                let id = v.as_object_mut()?.remove("id")?.as_u64()?;
                Rule::from_json(id, &v).ok()
            })
            .collect();
        self.rules.retain(|id, _| rules.iter().any(|r| r.id == *id));
        for r in rules {
            self.rules.entry(r.id).or_insert(r);
        }
        self.any_rules.store(!self.rules.is_empty(), Ordering::Release);
    }

    /// The rule that fires for a request, counted where every process counts (a shared store),
    /// else here.
    async fn pick(&self, store: &Store, req: &RequestFacts<'_>, seed: u64) -> Option<u64> {
        let mut ids: Vec<u64> = self.rules.iter().filter(|r| r.matches(req)).map(|r| r.id).collect();
        ids.sort_unstable();
        let Some(shared) = store.shared() else {
            for id in ids {
                let Some(rule) = self.rules.get(&id) else { continue };
                let n = rule.matched.fetch_add(1, Ordering::Relaxed);
                if n < rule.skip || rule.times.is_some_and(|t| n >= rule.skip.saturating_add(t)) {
                    continue;
                }
                if let Some(p) = rule.probability
                    && unit(seed, id, n) >= p
                {
                    continue;
                }
                rule.fired.fetch_add(1, Ordering::Relaxed);
                return Some(id);
            }
            return None;
        };
        let mut rest: Vec<(u64, u64, Option<u64>, bool)> = ids
            .iter()
            .filter_map(|id| {
                self.rules
                    .get(id)
                    .map(|r| (r.id, r.skip, r.times, r.probability.is_some()))
            })
            .collect();
        while !rest.is_empty() {
            match shared.rule_pick(&rest).await.ok()? {
                None => return None,
                Some((id, None)) => return Some(id),
                Some((id, Some(n))) => {
                    let p = self.rules.get(&id).and_then(|r| r.probability).unwrap_or(1.0);
                    if unit(seed, id, n) < p {
                        let _ = shared.rule_fired(id).await;
                        return Some(id);
                    }
                    let at = rest.iter().position(|r| r.0 == id).map_or(rest.len(), |i| i + 1);
                    rest.drain(..at);
                }
            }
        }
        None
    }

    /// Decides what to inject into a request: the first rule that fires, then chaos.
    pub async fn decide(&self, store: &Store, req: &RequestFacts<'_>) -> Decision {
        self.sync(store);
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed);
        let chaos = self.chaos.get();
        let mut d = Decision::default();
        if self.any_rules.load(Ordering::Acquire)
            && let Some(id) = self.pick(store, req, chaos.seed).await
            && let Some(rule) = self.rules.get(&id)
        {
            d.effect = rule.effect.clone();
            d.labels.push(format!("rule={id}"));
        }
        if d.effect.status.is_none()
            && d.effect.fault.is_none()
            && chaos.rate > 0.0
            && unit(chaos.seed, u64::MAX, seq) < chaos.rate
        {
            // One of the operation's documented 5xx statuses, else its documented errors, else 500.
            let fives: Vec<u16> = req
                .responses
                .iter()
                .filter_map(|r| match r.status {
                    crate::model::operation::StatusKey::Exact(c) if c >= 500 => Some(c),
                    _ => None,
                })
                .collect();
            let pick = match fives.len() {
                0 => 500,
                n => fives
                    .get((mix(chaos.seed ^ seq.rotate_left(17)) % n as u64) as usize)
                    .copied()
                    .unwrap_or(500),
            };
            d.effect.status = Some(pick);
            d.labels.push("chaos".into());
        }
        if let Some((lo, hi)) = chaos.latency {
            let span = hi.saturating_sub(lo).as_micros() as f64;
            let extra = Duration::from_micros((unit(chaos.seed, u64::MAX - 1, seq) * span) as u64);
            d.effect.delay = Some(d.effect.delay.unwrap_or_default() + lo + extra);
            d.labels.push("latency".into());
        }
        d
    }
}

/// splitmix64: a good, cheap 64-bit mixer.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A reproducible number in [0, 1) for (seed, stream, n).
fn unit(seed: u64, stream: u64, n: u64) -> f64 {
    (mix(seed ^ mix(stream ^ mix(n))) >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses `20ms..200ms` (or a single duration).
pub fn parse_latency(s: &str) -> Result<(Duration, Duration), String> {
    let (lo, hi) = s.split_once("..").unwrap_or((s, s));
    let lo = humantime::parse_duration(lo.trim()).map_err(|e| format!("{lo}: {e}"))?;
    let hi = humantime::parse_duration(hi.trim()).map_err(|e| format!("{hi}: {e}"))?;
    if hi < lo {
        return Err(format!("{s}: the upper bound is below the lower one"));
    }
    Ok((lo, hi))
}
