//! Values that satisfy a schema, for building valid requests: the spec's own examples where it
//! gives them, otherwise values made from `type`, `format`, `pattern` (simple ones), bounds,
//! `enum` and `const`. The caller validates what comes out: this is a best effort, not a proof.

use super::openapi::{Docs, SchemaSrc};
use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{Map, Value, json};

/// How a value is made.
#[derive(Clone, Copy)]
pub struct Gen<'a> {
    pub docs: &'a Docs,
    /// Use `example`/`examples`/`default` found on schemas.
    pub examples: bool,
    /// Optional properties are filled down to this depth (0: required ones only).
    pub optional_depth: usize,
    /// Which `oneOf`/`anyOf` branch to take at the top level.
    pub branch: usize,
}

/// A property: its name, whether required, and its schema with the file it is read in.
struct Prop<'a> {
    name: String,
    file: usize,
    schema: &'a Value,
}

impl<'a> Gen<'a> {
    pub fn new(docs: &'a Docs) -> Self {
        Gen {
            docs,
            examples: true,
            optional_depth: 2,
            branch: 0,
        }
    }

    pub fn value(&self, schema: &SchemaSrc) -> Value {
        match schema {
            SchemaSrc::At(loc) => match self.docs.get(loc) {
                Some(v) => self.make(loc.file, v, 0, self.branch),
                None => json!("value"),
            },
            SchemaSrc::Inline(f, v) => self.make(*f, v, 0, self.branch),
        }
    }

    fn make(&self, file: usize, s: &Value, depth: usize, branch: usize) -> Value {
        let Some((file, s)) = self.docs.deref_value(file, s) else {
            // A dangling reference allows anything.
            return json!("value");
        };
        if depth > 14 {
            return Value::Null;
        }
        if let Some(c) = s.get("const") {
            return c.clone();
        }
        if self.examples {
            if let Some(e) = example_of(self.docs, file, s) {
                return e;
            }
            if let Some(d) = s.get("default") {
                return d.clone();
            }
        }
        if let Some(Value::Array(values)) = s.get("enum")
            && let Some(v) = values.iter().find(|v| !v.is_null()).or(values.first())
        {
            return v.clone();
        }
        let ty = type_of(s);
        let alternatives = s.get("oneOf").or_else(|| s.get("anyOf")).and_then(Value::as_array);
        if ty.as_deref() == Some("object") || (ty.is_none() && self.objectish(file, s, 0)) {
            return self.object(file, s, depth, branch);
        }
        if ty.is_none() {
            if let Some(all) = s.get("allOf").and_then(Value::as_array) {
                // An allOf of non-objects: the first branch, refined by the rest at validation.
                if let Some(first) = all.first() {
                    return self.make(file, first, depth + 1, 0);
                }
            }
            if let Some(alts) = alternatives {
                return self.alternative(file, s, alts, depth, branch);
            }
            if s.get("items").is_some() || s.get("prefixItems").is_some() {
                return self.array(file, s, depth);
            }
            return json!("value");
        }
        match ty.as_deref() {
            Some("array") => self.array(file, s, depth),
            Some("string") => json!(string(s)),
            Some("integer") => number(s, true),
            Some("number") => number(s, false),
            Some("boolean") => json!(true),
            Some("null") => Value::Null,
            // Swagger 2.0 `file`.
            _ => json!("value"),
        }
    }

    /// Whether a schema without `type` describes objects: it has properties, or an `allOf`
    /// branch does.
    fn objectish(&self, file: usize, s: &Value, depth: usize) -> bool {
        let Some((file, s)) = self.docs.deref_value(file, s) else {
            return false;
        };
        if type_of(s).as_deref() == Some("object")
            || s.get("properties").is_some()
            || s.get("additionalProperties").is_some()
            || s.get("required").is_some()
        {
            return true;
        }
        depth < 8
            && s.get("allOf")
                .and_then(Value::as_array)
                .is_some_and(|all| all.iter().any(|b| self.objectish(file, b, depth + 1)))
    }

    /// The branches in turn from `branch`, keeping the first that satisfies the whole schema.
    fn alternative(&self, file: usize, s: &Value, alts: &[Value], depth: usize, branch: usize) -> Value {
        let whole = SchemaSrc::Inline(file, s.clone());
        let mut first = None;
        for i in 0..alts.len() {
            let alt = &alts[(branch + i) % alts.len()];
            let v = self.make(file, alt, depth + 1, 0);
            if depth > 6 || self.docs.is_valid(&whole, &v) {
                return v;
            }
            first.get_or_insert(v);
        }
        first.unwrap_or(Value::Null)
    }

    fn object(&self, file: usize, s: &Value, depth: usize, branch: usize) -> Value {
        let mut props = Vec::new();
        let mut required = Vec::new();
        self.collect(file, s, branch, &mut props, &mut required, 0);
        let mut out = Map::new();
        for p in &props {
            if out.contains_key(&p.name) {
                continue;
            }
            let is_required = required.contains(&p.name);
            let read_only = flag(self.docs, p.file, p.schema, "readOnly");
            if !is_required && (depth >= self.optional_depth || read_only) {
                continue;
            }
            out.insert(p.name.clone(), self.make(p.file, p.schema, depth + 1, 0));
        }
        for name in &required {
            if !out.contains_key(name) {
                out.insert(name.clone(), json!("value"));
            }
        }
        let min = s.get("minProperties").and_then(Value::as_u64).unwrap_or(0) as usize;
        let extra = s
            .get("additionalProperties")
            .filter(|a| !matches!(a, Value::Bool(false)));
        let mut n = 0;
        while out.len() < min && extra.is_some() {
            n += 1;
            let v = match extra {
                Some(schema @ Value::Object(_)) => self.make(file, schema, depth + 1, 0),
                _ => json!("value"),
            };
            out.insert(format!("key{n}"), v);
        }
        let value = Value::Object(out);
        // An object with alternatives of its own: try other branches when this one does not fit.
        if depth <= 6
            && let Some(alts) = s.get("oneOf").or_else(|| s.get("anyOf")).and_then(Value::as_array)
            && alts.len() > 1
            && branch == self.branch
        {
            let whole = SchemaSrc::Inline(file, s.clone());
            if !self.docs.is_valid(&whole, &value) {
                for b in 1..alts.len() {
                    let other = self.object(file, s, depth, branch + b);
                    if self.docs.is_valid(&whole, &other) {
                        return other;
                    }
                }
            }
        }
        value
    }

    /// Properties and required names of an object schema, through `allOf` and the chosen
    /// `oneOf`/`anyOf` branch.
    fn collect(
        &self,
        file: usize,
        s: &'a Value,
        branch: usize,
        props: &mut Vec<Prop<'a>>,
        required: &mut Vec<String>,
        depth: usize,
    ) {
        let Some((file, s)) = self.docs.deref_value(file, s) else {
            return;
        };
        if depth > 12 {
            return;
        }
        if let Some(map) = s.get("properties").and_then(Value::as_object) {
            for (name, schema) in map {
                props.push(Prop {
                    name: name.clone(),
                    file,
                    schema,
                });
            }
        }
        for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(r) = r.as_str()
                && !required.iter().any(|x| x == r)
            {
                required.push(r.to_string());
            }
        }
        for sub in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.collect(file, sub, 0, props, required, depth + 1);
        }
        if let Some(alts) = s.get("oneOf").or_else(|| s.get("anyOf")).and_then(Value::as_array)
            && !alts.is_empty()
        {
            self.collect(file, &alts[branch % alts.len()], 0, props, required, depth + 1);
        }
    }

    fn array(&self, file: usize, s: &Value, depth: usize) -> Value {
        let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = s.get("maxItems").and_then(Value::as_u64).map(|m| m as usize);
        let mut n = min.max(1);
        if let Some(m) = max {
            n = n.min(m);
        }
        if depth > 8 {
            n = min;
        }
        let mut out = Vec::new();
        if let Some(prefix) = s.get("prefixItems").and_then(Value::as_array) {
            for p in prefix {
                out.push(self.make(file, p, depth + 1, 0));
            }
        }
        if let Some(items) = s.get("items").filter(|i| i.is_object()) {
            while out.len() < n {
                let mut v = self.make(file, items, depth + 1, 0);
                // uniqueItems: vary scalar strings and numbers.
                if out.contains(&v) {
                    v = match v {
                        Value::String(t) => json!(format!("{t}{}", out.len())),
                        Value::Number(x) => json!(x.as_f64().unwrap_or(0.0) + out.len() as f64),
                        other => other,
                    };
                }
                out.push(v);
            }
        }
        Value::Array(out)
    }
}

/// The schema's example (read in `file`): 3.0 `example`, or the first of 3.1 `examples`.
pub fn example_of(docs: &Docs, file: usize, s: &Value) -> Option<Value> {
    let e = s
        .get("example")
        .or_else(|| s.get("examples").and_then(Value::as_array).and_then(|a| a.first()))?;
    Some(docs.literal(file, e))
}

/// Whether a schema (or what its `$ref` names) sets a boolean keyword.
pub fn flag(docs: &Docs, file: usize, s: &Value, key: &str) -> bool {
    s.get(key) == Some(&Value::Bool(true))
        || docs
            .deref_value(file, s)
            .is_some_and(|(_, t)| t.get(key) == Some(&Value::Bool(true)))
}

/// The type a value must have: the first non-null one when several are allowed.
pub fn type_of(s: &Value) -> Option<String> {
    match s.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or(ts.first().and_then(Value::as_str))
            .map(str::to_string),
        _ => None,
    }
}

fn string(s: &Value) -> String {
    let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = s.get("maxLength").and_then(Value::as_u64).map(|m| m as usize);
    if let Some(p) = s.get("pattern").and_then(Value::as_str)
        && let Some(v) = from_pattern(p, min, max)
    {
        return v;
    }
    let by_format = match s.get("format").and_then(Value::as_str).unwrap_or("") {
        "date-time" => Some("2024-01-15T10:30:00Z"),
        "date" => Some("2024-01-15"),
        "time" => Some("10:30:00Z"),
        "email" | "idn-email" => Some("user@example.com"),
        "uri" | "url" | "iri" | "uri-reference" | "iri-reference" => Some("https://example.com/corpus"),
        "uuid" => Some("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
        "ipv4" => Some("192.0.2.10"),
        "ipv6" => Some("2001:db8::10"),
        "hostname" | "idn-hostname" => Some("example.com"),
        "byte" => Some("Y29ycHVz"),
        "duration" => Some("P1D"),
        "json-pointer" => Some("/corpus"),
        "regex" => Some("^corpus$"),
        _ => None,
    };
    if let Some(v) = by_format {
        return v.to_string();
    }
    let mut v = String::from("corpus");
    while v.len() < min {
        v.push('x');
    }
    if let Some(m) = max {
        v.truncate(m);
    }
    v
}

fn number(s: &Value, integer: bool) -> Value {
    let f = |k: &str| s.get(k).and_then(Value::as_f64);
    let step = if integer { 1.0 } else { 0.5 };
    let mut lo = f("minimum");
    if let Some(x) = f("exclusiveMinimum") {
        lo = Some(lo.map_or(x + step, |l| l.max(x + step)));
    }
    let mut hi = f("maximum");
    if let Some(x) = f("exclusiveMaximum") {
        hi = Some(hi.map_or(x - step, |h| h.min(x - step)));
    }
    let mut v = match (lo, hi) {
        (Some(l), _) if l > 1.0 => l,
        (_, Some(h)) if h < 1.0 => h,
        _ => 1.0,
    };
    if let Some(m) = f("multipleOf").filter(|m| *m > 0.0) {
        v = (v / m).ceil() * m;
    }
    if integer {
        let v = v.ceil();
        if v.abs() < 9.0e15 { json!(v as i64) } else { json!(v) }
    } else if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// A string matching a simple pattern (literals, classes, repetitions, groups, alternations),
/// checked against the pattern before it is returned.
pub fn from_pattern(pattern: &str, min: usize, max: Option<usize>) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).ok()?;
    let re = regex::Regex::new(pattern).ok()?;
    for boost in [1u32, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64] {
        let mut out = String::new();
        emit(&hir, boost, &mut out);
        let n = out.chars().count();
        if re.is_match(&out) && n >= min && max.is_none_or(|m| n <= m) {
            return Some(out);
        }
    }
    None
}

fn emit(h: &Hir, boost: u32, out: &mut String) {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(l) => out.push_str(&String::from_utf8_lossy(&l.0)),
        HirKind::Class(Class::Unicode(c)) => {
            let has = |ch: char| c.ranges().iter().any(|r| r.start() <= ch && ch <= r.end());
            let pick = ['a', 'A', '0', '1', 'x', '_', '-']
                .into_iter()
                .find(|ch| has(*ch))
                .or_else(|| c.ranges().first().map(|r| r.start()));
            out.extend(pick);
        }
        HirKind::Class(Class::Bytes(c)) => {
            let has = |b: u8| c.ranges().iter().any(|r| r.start() <= b && b <= r.end());
            let pick = [b'a', b'A', b'0']
                .into_iter()
                .find(|b| has(*b))
                .or_else(|| c.ranges().first().map(|r| r.start()));
            if let Some(b) = pick.filter(u8::is_ascii) {
                out.push(b as char);
            }
        }
        HirKind::Repetition(r) => {
            // Once at least (`?`, `*` included), more when a minimum length asks for it.
            let mut n = r.min.max(boost);
            if let Some(m) = r.max {
                n = n.min(m);
            }
            for _ in 0..n {
                emit(&r.sub, boost, out);
            }
        }
        HirKind::Capture(c) => emit(&c.sub, boost, out),
        HirKind::Concat(parts) => {
            for p in parts {
                emit(p, boost, out);
            }
        }
        HirKind::Alternation(alts) => {
            if let Some(a) = alts.first() {
                emit(a, boost, out);
            }
        }
    }
}
