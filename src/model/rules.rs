//! The plain data lifecycles and outcomes compile to (see [`crate::model::lifecycle`]), apart
//! from the compiling so that an [`crate::model::operation::Operation`] can hold them.

use serde_json::Value;
use std::time::Duration;

/// A resource's lifecycle: where its state is kept, where it starts, and what moves it by time.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub res: usize,
    /// The field (top level of the stored object) that holds the state.
    pub field: String,
    pub initial: Option<String>,
    pub timed: Vec<Timed>,
    /// Every state it names (for webhooks named after one: `charge.succeeded`).
    pub states: Vec<String>,
}

/// A transition the sandbox clock makes: `after` in state `from`, the item moves `to`.
#[derive(Debug, Clone)]
pub struct Timed {
    pub from: String,
    pub to: String,
    pub after: Duration,
}

/// An operation that moves its parent item from some states to one.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The resource whose item moves (the operation's parent).
    pub res: usize,
    /// The path parameter that names the item.
    pub param: String,
    pub field: String,
    /// Allowed current states (empty: any).
    pub from: Vec<String>,
    pub to: String,
    /// The status of a transition the current state does not allow (one the operation documents).
    pub status: u16,
}

/// How an outcome's `when` compares one value of the request body.
#[derive(Debug, Clone)]
pub enum Matcher {
    Equals(Value),
    Pattern(regex::Regex),
}

impl Matcher {
    fn matches(&self, v: &Value) -> bool {
        match self {
            // A number sent as text (or the reverse) still matches: a card number is written
            // either way in specs and clients.
            Matcher::Equals(want) => {
                want == v
                    || match (want, v) {
                        (Value::String(a), Value::Number(b)) | (Value::Number(b), Value::String(a)) => {
                            *a == b.to_string()
                        }
                        _ => false,
                    }
            }
            Matcher::Pattern(re) => match v {
                Value::String(s) => re.is_match(s),
                Value::Number(n) => re.is_match(&n.to_string()),
                _ => false,
            },
        }
    }
}

/// One rule of `x-specbox-outcomes`.
#[derive(Debug, Clone)]
pub struct OutcomeRule {
    /// JSON pointers into the request body and what each must be (all must match).
    pub when: Vec<(String, Matcher)>,
    pub status: Option<u16>,
    /// The answer's example (for an operation that keeps no state), with `set` applied.
    pub body: Option<Value>,
    /// A create: the example's top-level fields, laid under what the client sent (as the default
    /// example's are).
    pub base: Vec<(String, Value)>,
    /// JSON pointers into the answer (a create: into the stored object) and their values.
    pub set: Vec<(String, Value)>,
    pub state: Option<String>,
}

impl OutcomeRule {
    pub fn matches(&self, body: Option<&Value>) -> bool {
        self.when.iter().all(|(ptr, m)| {
            body.and_then(|b| if ptr.is_empty() { Some(b) } else { b.pointer(ptr) })
                .is_some_and(|v| m.matches(v))
        })
    }
}

/// What lifecycles and outcomes make of one operation.
#[derive(Debug, Clone, Default)]
pub struct OpRules {
    pub transition: Option<Transition>,
    pub outcomes: Vec<OutcomeRule>,
    /// A create in a resource with a lifecycle: its state field and initial state.
    pub initial: Option<(String, Option<String>)>,
    /// An action on an item that keeps no state (`POST /x/{id}/captures`): the resource and the
    /// path parameter of the item that must exist.
    pub parent: Option<(usize, String)>,
}

impl OpRules {
    /// The first outcome whose `when` matches the body.
    pub fn outcome(&self, body: Option<&Value>) -> Option<&OutcomeRule> {
        self.outcomes.iter().find(|o| o.matches(body))
    }
}

/// Sets `pointer` in `target` to `value`, creating objects on the way (array indices must exist).
pub fn set_pointer(target: &mut Value, pointer: &str, value: Value) {
    if pointer.is_empty() {
        *target = value;
        return;
    }
    let mut at = target;
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, path)) = parts.split_last() else {
        return;
    };
    for p in path {
        if at.is_null() {
            *at = Value::Object(Default::default());
        }
        let next = match at {
            Value::Object(m) => m.entry(p.clone()).or_insert(Value::Null),
            Value::Array(a) => match p.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
        at = next;
    }
    if at.is_null() {
        *at = Value::Object(Default::default());
    }
    match at {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *slot = value;
            }
        }
        _ => {}
    }
}

/// `2s`, `500ms`, `3d`, `1h30m` (humantime), or a number of seconds.
pub fn parse_duration(v: &Value) -> Option<Duration> {
    match v {
        Value::Number(n) => n.as_f64().filter(|s| *s >= 0.0).map(Duration::from_secs_f64),
        Value::String(s) => humantime::parse_duration(s.trim()).ok(),
        _ => None,
    }
}
