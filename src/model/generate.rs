//! Example values for mock response bodies, built from JSON Schema.
//!
//! This module owns turning a response schema (JSON Schema 2020-12 as OpenAPI 3.1 uses it; OpenAPI
//! 3.0 documents arrive already normalised) into a concrete JSON value the mock server can return.
//! `$ref`s are local JSON pointers into the whole OpenAPI document.
//!
//! Three properties drive the design:
//!
//! * **The value validates.** Clients and contract tests check mock responses against the same
//!   schema, so every constraint understood here is honoured. Where the generator has to choose
//!   (`examples`, `enum`, `oneOf`/`anyOf` branches, name hints, patterns) a small built-in checker
//!   re-validates the candidate before it is accepted, and the root value is checked once more.
//! * **The value is deterministic.** [`generate`] derives everything from the schema alone, so
//!   snapshots and contract tests see the same body on every run. [`generate_dynamic`] varies every
//!   free choice through a seeded PRNG (for `dynamic=true`), and is deterministic per seed.
//! * **The value looks real.** Where the schema leaves freedom, property names steer strings
//!   (`email` → `user@example.com`, `created_at` → a date-time) so bodies resemble what a real API
//!   would send, instead of `"string"` everywhere.
//!
//! Generation never panics and terminates on recursive schemas: optional recursion stops after a
//! `$ref` is open twice above the current value, and containers nested past a hard depth are emptied.
//!
//! Deliberately unsupported, because mock bodies rarely need them and they would cost far more than
//! they give: `$id`/`$anchor`/`$dynamicRef` and non-local `$ref`s (treated as `{}`); generating
//! for `not`, `if`/`then`/`else`, `contains`, `dependentSchemas` and `unevaluated*` schemas (the
//! checker understands most of them, and a failing root value is retried with variants); two
//! different `pattern`s merged through `allOf` (the first is generated from); `additionalProperties`
//! of one `allOf` part restricting another part's properties; lookarounds other than at the
//! anchored start of a pattern.

use std::collections::HashMap;

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{Map, Number, Value};

/// Containers nested deeper than this only get what their schema requires.
const SOFT_DEPTH: usize = 8;
/// Past this depth containers are emptied (or nulled), which ends even required self-references.
const HARD_DEPTH: usize = 16;
/// How often one `$ref` may be open above a value before optional recursion into it stops.
const RECURSION_LIMIT: usize = 2;
/// Cap on array items and object entries, whatever `minItems`/`minProperties` ask for.
const MAX_ENTRIES: usize = 1_000;
/// Cap on generated string length, whatever `minLength` or a pattern asks for.
const MAX_STRING: usize = 1 << 16;
/// How deep the checker follows a schema before it gives the value the benefit of the doubt.
const MAX_CHECK_DEPTH: usize = 256;
/// Variants tried per array item for `uniqueItems`, and at the root for a value that fails.
const VARIANT_ATTEMPTS: u64 = 16;
/// `oneOf`/`anyOf` branches tried after a first one failed, across one whole generation.
const MAX_CHOICE_RETRIES: usize = 256;

/// Generates a value for `schema`, resolving `$ref`s against `doc` (the whole OpenAPI document).
/// Deterministic: the same schema gives the same value. Never panics, terminates on recursive schemas.
pub fn generate(schema: &Value, doc: &Value) -> Value {
    Generator::new(doc, None).root(schema)
}

/// A value for the schema ignoring `examples`/`example`/`default`, built from the constraints alone,
/// varied by `seed` (different seeds give different but still valid values; used for `dynamic=true`).
pub fn generate_dynamic(schema: &Value, doc: &Value, seed: u64) -> Value {
    Generator::new(doc, Some(SplitMix64(seed))).root(schema)
}

/// The JSON types a schema can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "null" => Self::Null,
            "boolean" => Self::Boolean,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "string" => Self::String,
            "array" => Self::Array,
            "object" => Self::Object,
            _ => return None,
        })
    }
}

/// A schema with its `$ref`s and `allOf` parts merged into one set of keywords.
///
/// `oneOf`/`anyOf` cannot be merged up front (only one branch has to hold), so they stay as
/// choices and are resolved one group at a time while generating.
#[derive(Clone, Default)]
struct Flat {
    keywords: Map<String, Value>,
    choices: Vec<Vec<Value>>,
    /// Every `$ref` merged in, in order; also stops `allOf` cycles from being merged twice.
    refs: Vec<String>,
    /// How many of `refs` are already on the generator's open-reference stack.
    pushed: usize,
    /// The merged parts contradict each other (disjoint types, `false`, clashing `const`).
    conflict: bool,
}

/// Where a value is being generated: how deep, and under which property name.
#[derive(Clone, Copy)]
struct Ctx<'n> {
    depth: usize,
    name: Option<&'n str>,
}

impl Ctx<'_> {
    const ROOT: Ctx<'static> = Ctx { depth: 0, name: None };

    fn nested<'m>(self, name: Option<&'m str>) -> Ctx<'m> {
        Ctx {
            depth: self.depth + 1,
            name,
        }
    }
}

struct Generator<'d> {
    doc: &'d Value,
    /// `None` produces the canonical value; `Some` varies every free choice.
    rng: Option<SplitMix64>,
    /// `$ref`s whose values are being generated above the current position.
    open_refs: Vec<String>,
    /// Compiled `pattern`s, `None` for those that cannot be compiled.
    regexes: HashMap<String, Option<PatternMatcher>>,
    /// (schema, value) addresses the checker entered through `$ref`, to cut reference cycles.
    checking: Vec<(usize, usize)>,
    /// Branch retries left for `oneOf`/`anyOf`; nested choices that keep failing would
    /// otherwise multiply into exponential work.
    retries: usize,
    /// `oneOf`/`anyOf` groups no branch could satisfy so far; optional content whose
    /// generation raised it is left out rather than served invalid.
    unsatisfied: usize,
}

impl<'d> Generator<'d> {
    fn new(doc: &'d Value, rng: Option<SplitMix64>) -> Self {
        Self {
            doc,
            rng,
            open_refs: Vec::new(),
            regexes: HashMap::new(),
            checking: Vec::new(),
            retries: MAX_CHOICE_RETRIES,
            unsatisfied: 0,
        }
    }

    fn root(&mut self, schema: &Value) -> Value {
        let value = self.gen_value(schema, Ctx::ROOT);
        if self.is_valid(schema, &value) {
            return value;
        }
        // Something the builders do not model (`not`, `if`/`then`, `contains`, clashing `allOf`
        // parts) rejected the value; a few variants often get past it. If none does, the first
        // value is still the most readable one to return.
        for salt in 1..=VARIANT_ATTEMPTS {
            let candidate = self.with_variation(salt, |g| g.gen_value(schema, Ctx::ROOT));
            if self.is_valid(schema, &candidate) {
                return candidate;
            }
        }
        value
    }

    // ----- randomness -------------------------------------------------------------------------

    /// An index below `n`: always 0 for the canonical value, random when dynamic.
    fn pick(&mut self, n: usize) -> usize {
        match &mut self.rng {
            Some(rng) if n > 1 => usize::try_from(rng.next() % n as u64).unwrap_or(0),
            _ => 0,
        }
    }

    /// Random bits to vary a value with, or `None` for the canonical value.
    fn variant(&mut self) -> Option<u64> {
        self.rng.as_mut().map(SplitMix64::next)
    }

    /// Runs `f` in dynamic mode with a seed derived from `salt`, to get a value different from
    /// the one just produced (for `uniqueItems`, extra map keys, retries) without losing
    /// determinism.
    fn with_variation<T>(&mut self, salt: u64, f: impl FnOnce(&mut Self) -> T) -> T {
        let seed = match &mut self.rng {
            Some(rng) => rng.next() ^ salt,
            None => salt.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        };
        let saved = self.rng.replace(SplitMix64(seed));
        let out = f(self);
        self.rng = saved;
        out
    }

    // ----- schema flattening ------------------------------------------------------------------

    fn flatten(&self, schema: &Value) -> Flat {
        let mut flat = Flat::default();
        self.absorb(&mut flat, schema, true);
        flat
    }

    /// Merges `schema` into `flat`, following `$ref` (siblings first, so they take precedence)
    /// and `allOf`. Example-like annotations are only taken from the schema itself and the
    /// `$ref`s it aliases: an `allOf` part's example usually describes just that part.
    fn absorb(&self, flat: &mut Flat, schema: &Value, annotations: bool) {
        let map = match schema {
            Value::Object(map) => map,
            Value::Bool(false) => {
                flat.conflict = true;
                return;
            }
            _ => return,
        };
        for (key, value) in map {
            match key.as_str() {
                "$ref" | "allOf" => {}
                "oneOf" | "anyOf" => {
                    if let Some(branches) = value.as_array().filter(|b| !b.is_empty()) {
                        flat.choices.push(branches.clone());
                    }
                }
                "examples" | "example" | "default" if !annotations => {}
                _ => merge_keyword(&mut flat.keywords, key, value, &mut flat.conflict),
            }
        }
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            // A `$ref` already merged adds nothing new; skipping it is what makes
            // `allOf`/`oneOf` cycles (Pet → Cat → allOf Pet) terminate.
            if !flat.refs.iter().any(|r| r == reference) {
                flat.refs.push(reference.to_owned());
                if let Some(target) = resolve(self.doc, reference) {
                    self.absorb(flat, target, annotations);
                }
            }
        }
        if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.absorb(flat, part, false);
            }
        }
    }

    /// Whether `schema` sets the boolean `key` (`writeOnly`), directly or through `$ref`/`allOf`.
    fn has_flag(&self, schema: &Value, key: &str, hops: usize) -> bool {
        let Some(map) = schema.as_object() else {
            return false;
        };
        if map.get(key) == Some(&Value::Bool(true)) {
            return true;
        }
        if hops >= 8 {
            return false;
        }
        let via_ref = map
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| resolve(self.doc, r))
            .is_some_and(|target| self.has_flag(target, key, hops + 1));
        via_ref
            || map
                .get("allOf")
                .and_then(Value::as_array)
                .is_some_and(|parts| parts.iter().any(|p| self.has_flag(p, key, hops + 1)))
    }

    /// Whether following `schema` re-enters a `$ref` that is already open often enough that
    /// optional content should stop there (a tree's `children`, a list's `next`).
    fn recursion_saturated(&self, schema: &Value) -> bool {
        let saturated = |s: &Value| {
            s.get("$ref")
                .and_then(Value::as_str)
                .is_some_and(|r| self.open_refs.iter().filter(|open| *open == r).count() >= RECURSION_LIMIT)
        };
        saturated(schema)
            || ["allOf", "oneOf", "anyOf"].iter().any(|key| {
                schema
                    .get(*key)
                    .and_then(Value::as_array)
                    .is_some_and(|branches| branches.iter().any(saturated))
            })
    }

    /// Whether a `oneOf`/`anyOf` branch can only be `null`; such branches are tried last.
    fn only_null(&self, schema: &Value) -> bool {
        let flat = self.flatten(schema);
        let kw = &flat.keywords;
        declared_types(kw).is_some_and(|types| types == [Kind::Null])
            || kw.get("const") == Some(&Value::Null)
            || kw
                .get("enum")
                .and_then(Value::as_array)
                .is_some_and(|values| !values.is_empty() && values.iter().all(Value::is_null))
    }

    // ----- generation -------------------------------------------------------------------------

    fn gen_value(&mut self, schema: &Value, ctx: Ctx<'_>) -> Value {
        match schema {
            Value::Bool(false) => Value::Null,
            Value::Object(_) => {
                let flat = self.flatten(schema);
                if ctx.depth > HARD_DEPTH {
                    return self.minimal(&flat, ctx);
                }
                self.gen_flat(schema, flat, ctx)
            }
            _ => self.any_value(ctx),
        }
    }

    /// Generates from an already flattened `node`, keeping its `$ref`s open meanwhile.
    fn gen_flat(&mut self, node: &Value, mut flat: Flat, ctx: Ctx<'_>) -> Value {
        let base = self.open_refs.len();
        self.open_refs.extend(flat.refs.iter().skip(flat.pushed).cloned());
        flat.pushed = flat.refs.len();
        let value = match self.preset(node, &flat) {
            Some(value) => value,
            None if !flat.choices.is_empty() => self.gen_choice(node, flat, ctx),
            None => self.build(&flat.keywords, ctx),
        };
        self.open_refs.truncate(base);
        value
    }

    /// A value the schema spells out: `const`, an example, a default or an enum member.
    fn preset(&mut self, node: &Value, flat: &Flat) -> Option<Value> {
        let kw = &flat.keywords;
        if let Some(value) = kw.get("const") {
            return Some(value.clone());
        }
        if self.rng.is_none() {
            let examples = kw.get("examples").and_then(Value::as_array).into_iter().flatten();
            let candidates = examples.chain(kw.get("example")).chain(kw.get("default"));
            for candidate in candidates {
                if self.is_valid(node, candidate) {
                    return Some(candidate.clone());
                }
            }
        }
        let members = kw.get("enum")?.as_array()?;
        let mut valid = Vec::new();
        for member in members {
            if self.is_valid(node, member) {
                valid.push(member);
            }
        }
        // `null` in an enum is usually there for nullability, not as the interesting value.
        let non_null: Vec<&Value> = valid.iter().copied().filter(|v| !v.is_null()).collect();
        let pool = if non_null.is_empty() { valid } else { non_null };
        let chosen = pool.get(self.pick(pool.len())).copied();
        // If no member passes, the enum still has the final say over anything built by type.
        chosen.or_else(|| members.first()).cloned()
    }

    /// Resolves the first `oneOf`/`anyOf` group: tries branches (non-null ones first) until the
    /// value satisfies the whole node, which also enforces `oneOf`'s "exactly one".
    fn gen_choice(&mut self, node: &Value, mut flat: Flat, ctx: Ctx<'_>) -> Value {
        let branches = flat.choices.remove(0);
        let unsatisfied = self.unsatisfied;
        let mut failed = Vec::new();
        for index in self.branch_order(&branches) {
            let Some(branch) = branches.get(index) else {
                continue;
            };
            if !failed.is_empty() {
                match self.retries.checked_sub(1) {
                    Some(left) => self.retries = left,
                    None => break,
                }
            }
            let mut merged = flat.clone();
            self.absorb(&mut merged, branch, true);
            if merged.conflict {
                continue;
            }
            let value = self.gen_flat(node, merged, ctx);
            let tagged = self.tag_discriminator(&flat.keywords, branch, &value);
            for candidate in tagged.into_iter().chain([value]) {
                if self.is_valid(node, &candidate) {
                    // Whatever failed further down was fixed by this branch as a whole.
                    self.unsatisfied = unsatisfied;
                    return candidate;
                }
                failed.push(candidate);
            }
        }
        for value in failed.iter().take(4) {
            if let Some(value) = self.break_tie(node, value) {
                self.unsatisfied = unsatisfied;
                return value;
            }
        }
        self.unsatisfied = unsatisfied + 1;
        match failed.into_iter().next() {
            Some(value) => value,
            None => self.build(&flat.keywords, ctx),
        }
    }

    /// Overlapping `oneOf` branches (typical of error schemas whose properties are all
    /// optional) accept the same object; leaving out one property, preferably a late one,
    /// often yields a value only one branch accepts.
    fn break_tie(&mut self, node: &Value, value: &Value) -> Option<Value> {
        let entries = value.as_object()?;
        for key in entries.keys().rev() {
            let reduced: Map<String, Value> = entries
                .iter()
                .filter(|(other, _)| *other != key)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let reduced = Value::Object(reduced);
            if self.is_valid(node, &reduced) {
                return Some(reduced);
            }
        }
        None
    }

    /// Branch indices in the order to try them: ordinary branches first (rotated when
    /// dynamic), then `null`-only ones, and last those that re-enter a saturated recursion, so
    /// `next: anyOf [Node, null]` ends a linked list with `null` instead of nesting deeper.
    fn branch_order(&mut self, branches: &[Value]) -> Vec<usize> {
        let (mut ordinary, mut nulls, mut recursive) = (Vec::new(), Vec::new(), Vec::new());
        for (index, branch) in branches.iter().enumerate() {
            if self.only_null(branch) {
                nulls.push(index);
            } else if self.recursion_saturated(branch) {
                recursive.push(index);
            } else {
                ordinary.push(index);
            }
        }
        let shift = self.pick(ordinary.len());
        ordinary.rotate_left(shift);
        ordinary.append(&mut nulls);
        ordinary.append(&mut recursive);
        ordinary
    }

    /// Sets an OpenAPI discriminator property to the chosen branch's mapping key (or schema
    /// name), so consumers that dispatch on it see a consistent body.
    fn tag_discriminator(&self, keywords: &Map<String, Value>, branch: &Value, value: &Value) -> Option<Value> {
        let discriminator = keywords.get("discriminator")?;
        let property = discriminator.get("propertyName")?.as_str()?;
        let reference = branch.get("$ref")?.as_str()?;
        let mapped = discriminator
            .get("mapping")
            .and_then(Value::as_object)
            .and_then(|mapping| {
                mapping
                    .iter()
                    .find(|(_, target)| target.as_str() == Some(reference))
                    .map(|(tag, _)| tag.clone())
            });
        let tag = match mapped {
            Some(tag) => tag,
            None => reference.rsplit('/').next()?.to_owned(),
        };
        let mut tagged = value.clone();
        tagged.as_object_mut()?.insert(property.to_owned(), Value::String(tag));
        Some(tagged)
    }

    /// The smallest value for a schema at the hard depth limit; never descends further.
    fn minimal(&mut self, flat: &Flat, ctx: Ctx<'_>) -> Value {
        let kw = &flat.keywords;
        if let Some(value) = kw.get("const") {
            return value.clone();
        }
        let nullable = declared_types(kw).is_some_and(|types| types.contains(&Kind::Null))
            || flat.choices.iter().flatten().any(|b| self.only_null(b));
        if nullable {
            return Value::Null;
        }
        if let Some(first) = kw.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
            return first.clone();
        }
        match self.choose_kind(kw, ctx.name) {
            Kind::Object => Value::Object(Map::new()),
            Kind::Array => Value::Array(Vec::new()),
            _ => self.build(kw, ctx),
        }
    }

    /// A value for `true`/`{}`: a realistic string if the property name suggests one.
    fn any_value(&mut self, ctx: Ctx<'_>) -> Value {
        let variant = self.variant();
        match ctx.name.and_then(|name| name_hint(name, variant)) {
            Some(text) => Value::String(text),
            None => Value::Object(Map::new()),
        }
    }

    fn choose_kind(&self, kw: &Map<String, Value>, name: Option<&str>) -> Kind {
        if let Some(types) = declared_types(kw) {
            return types
                .iter()
                .copied()
                .find(|kind| *kind != Kind::Null)
                .unwrap_or(Kind::Null);
        }
        let has = |keys: &[&str]| keys.iter().any(|key| kw.contains_key(*key));
        let format = kw.get("format").and_then(Value::as_str);
        if has(&[
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "minProperties",
            "maxProperties",
            "propertyNames",
        ]) {
            Kind::Object
        } else if has(&["items", "prefixItems", "minItems", "maxItems", "uniqueItems"]) {
            Kind::Array
        } else if matches!(format, Some("int32" | "int64")) {
            Kind::Integer
        } else if matches!(format, Some("float" | "double")) {
            Kind::Number
        } else if has(&["minLength", "maxLength", "pattern", "format"]) {
            Kind::String
        } else if has(&[
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
        ]) {
            Kind::Number
        } else if name.is_some_and(|n| name_hint(n, None).is_some()) {
            Kind::String
        } else {
            Kind::Object
        }
    }

    fn build(&mut self, kw: &Map<String, Value>, ctx: Ctx<'_>) -> Value {
        match self.choose_kind(kw, ctx.name) {
            Kind::Null => Value::Null,
            Kind::Boolean => Value::Bool(self.pick(2) == 0),
            Kind::Integer => self.integer(kw),
            Kind::Number => self.number(kw),
            Kind::String => Value::String(self.string(kw, ctx.name)),
            Kind::Array => self.array(kw, ctx),
            Kind::Object => self.object(kw, ctx),
        }
    }

    // ----- numbers ----------------------------------------------------------------------------

    fn integer(&mut self, kw: &Map<String, Value>) -> Value {
        let bounds = NumericBounds::of(kw);
        // f64 → i128 casts saturate, so absurd bounds cannot overflow below.
        let lo = bounds.min.map(|m| {
            (if bounds.min_exclusive {
                m.floor() + 1.0
            } else {
                m.ceil()
            }) as i128
        });
        let hi = bounds.max.map(|m| {
            (if bounds.max_exclusive {
                m.ceil() - 1.0
            } else {
                m.floor()
            }) as i128
        });
        let step = bounds.multiple_of.map_or(1, integer_step);
        let target = match self.variant() {
            None => 1,
            Some(bits) => {
                let (from, to) = match (lo, hi) {
                    (Some(l), Some(h)) => (l, h.max(l)),
                    (Some(l), None) => (l, l.saturating_add(1_000)),
                    // Stay positive when the bound allows it: negative values look odd in
                    // fields that only cap how large something may be.
                    (None, Some(h)) if h >= 1 => (h.saturating_sub(1_000).max(1), h),
                    (None, Some(h)) => (h.saturating_sub(1_000), h),
                    (None, None) => (1, 1_000),
                };
                let span = to.saturating_sub(from).saturating_add(1).max(1);
                from.saturating_add(i128::from(bits) % span)
            }
        };
        let mut value = align_up(target, step);
        if let Some(h) = hi.filter(|h| value > *h) {
            value = align_down(h, step);
        }
        if let Some(l) = lo.filter(|l| value < *l) {
            value = align_up(l, step);
        }
        let clamped = i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX });
        Value::from(clamped)
    }

    fn number(&mut self, kw: &Map<String, Value>) -> Value {
        let bounds = NumericBounds::of(kw);
        let mut candidates = Vec::new();
        if let Some(bits) = self.variant() {
            let below_max = |m: f64| {
                if m > 0.0 { (m - 100.0).max(0.0) } else { m - 100.0 }
            };
            let from = bounds.min.or(bounds.max.map(below_max)).unwrap_or(0.0);
            let to = bounds.max.unwrap_or(from + 100.0).max(from);
            let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
            candidates.push(round_to(from + (to - from) * unit, 2));
        }
        candidates.push(1.5);
        if let (Some(lo), Some(hi)) = (bounds.min, bounds.max) {
            candidates.push(round_to((lo + hi) / 2.0, 2));
            candidates.push((lo + hi) / 2.0);
        }
        if let Some(lo) = bounds.min {
            candidates.extend([lo, lo + 1.0, lo + 0.5]);
        }
        if let Some(hi) = bounds.max {
            candidates.extend([hi, hi - 1.0, hi - 0.5]);
        }
        candidates.extend([1.0, 0.0]);
        if let Some(m) = bounds.multiple_of {
            // Multiples closest to each candidate, written with no more decimals than the step,
            // since validators compare decimal representations (0.1 * 3 must print as 0.3).
            let anchors: Vec<f64> = candidates.clone();
            candidates = anchors
                .iter()
                .flat_map(|anchor| {
                    let k = (anchor / m).ceil();
                    [k, k + 1.0, k - 1.0].map(|k| snap(k * m, m))
                })
                .collect();
        }
        match candidates.into_iter().find(|x| bounds.admits(*x)) {
            Some(x) => float_value(x),
            None => self.integer(kw),
        }
    }

    // ----- strings ----------------------------------------------------------------------------

    fn string(&mut self, kw: &Map<String, Value>, name: Option<&str>) -> String {
        let min = usize_keyword(kw, "minLength").unwrap_or(0).min(MAX_STRING);
        let max = usize_keyword(kw, "maxLength");
        let pattern = kw.get("pattern").and_then(Value::as_str);
        let format = kw.get("format").and_then(Value::as_str);
        let variant = self.variant();
        let formatted = format.and_then(|f| format_value(f, variant).map(|s| pad_formatted(f, s, min)));
        let hinted = match (&formatted, pattern) {
            (None, None) => name.and_then(|n| name_hint(n, variant)),
            _ => None,
        };
        for candidate in formatted.into_iter().chain(hinted) {
            if self.string_fits(&candidate, min, max, pattern) {
                return candidate;
            }
        }
        if let Some(text) = pattern.and_then(|p| self.pattern_string(p, min, max)) {
            return text;
        }
        fit_length(plain_word(variant), min, max)
    }

    fn string_fits(&mut self, text: &str, min: usize, max: Option<usize>, pattern: Option<&str>) -> bool {
        let len = text.chars().count();
        len >= min
            && max.is_none_or(|max| len <= max)
            && pattern.is_none_or(|p| self.regex_matches(p, text) != Some(false))
    }

    /// A string matching `pattern`, generated from the regex's syntax tree and then re-checked
    /// with the real regex engine; a few fixed candidates cover what the tree walk cannot.
    fn pattern_string(&mut self, pattern: &str, min: usize, max: Option<usize>) -> Option<String> {
        // Leading lookaheads cannot be generated from, but the rest of the pattern can, and
        // the check below (which does understand them) picks a sample that satisfies them.
        let source = split_lookaheads(pattern).map_or_else(|| pattern.to_owned(), |(rest, _)| rest);
        if let Ok(hir) = regex_syntax::ParserBuilder::new().build().parse(&source) {
            for attempt in 0..=VARIANT_ATTEMPTS {
                let text = if attempt == 0 {
                    self.regex_sample(&hir, min)
                } else {
                    self.with_variation(attempt, |g| g.regex_sample(&hir, min))
                };
                // No sample at all means the regex itself is out of reach (too long, empty
                // class); other random choices will not change that.
                let Some(text) = text else {
                    break;
                };
                if self.string_fits(&text, min, max, Some(pattern)) {
                    return Some(text);
                }
            }
        }
        const FALLBACKS: [&str; 12] = [
            "example",
            "a",
            "A",
            "0",
            "abc123",
            "ABC",
            "aa-AA",
            "2026-01",
            "2026-01-01",
            "user@example.com",
            "https://example.com",
            "00000000",
        ];
        FALLBACKS
            .iter()
            .map(|candidate| fit_length((*candidate).to_owned(), min, max))
            .find(|candidate| self.string_fits(candidate, min, max, Some(pattern)))
    }

    /// One string for the regex; if it is shorter than `min`, repetitions are stretched.
    fn regex_sample(&mut self, hir: &Hir, min: usize) -> Option<String> {
        let mut text = String::new();
        self.emit(hir, &mut text, &mut 0)?;
        let len = text.chars().count();
        if len >= min {
            return Some(text);
        }
        let mut stretched = String::new();
        self.emit(hir, &mut stretched, &mut (min - len))?;
        Some(stretched)
    }

    /// Appends a match of `hir` to `out`: repetitions at their minimum plus whatever `budget`
    /// of extra iterations is left, the first alternative, and a readable character per class.
    fn emit(&mut self, hir: &Hir, out: &mut String, budget: &mut usize) -> Option<()> {
        if out.len() > MAX_STRING {
            return None;
        }
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(literal) => out.push_str(std::str::from_utf8(&literal.0).ok()?),
            HirKind::Class(Class::Unicode(class)) => {
                let ranges: Vec<(char, char)> = class.ranges().iter().map(|r| (r.start(), r.end())).collect();
                out.push(self.class_char(&ranges)?);
            }
            HirKind::Class(Class::Bytes(class)) => {
                let ranges: Vec<(char, char)> = class
                    .ranges()
                    .iter()
                    .filter(|r| r.start().is_ascii())
                    .map(|r| (char::from(r.start()), char::from(r.end().min(0x7f))))
                    .collect();
                out.push(self.class_char(&ranges)?);
            }
            HirKind::Repetition(repetition) => {
                let min = repetition.min as usize;
                let room = repetition
                    .max
                    .map_or(usize::MAX, |max| max as usize)
                    .saturating_sub(min);
                let stretch = (*budget).min(room);
                *budget -= stretch;
                let extra = self.pick((room - stretch).min(3) + 1);
                // Checked here as well, since an iteration may add nothing: `(a?){1000000000}`.
                let count = min.saturating_add(stretch).saturating_add(extra);
                if count > MAX_STRING {
                    return None;
                }
                for _ in 0..count {
                    self.emit(&repetition.sub, out, budget)?;
                }
            }
            HirKind::Capture(capture) => self.emit(&capture.sub, out, budget)?,
            HirKind::Concat(parts) => {
                for part in parts {
                    self.emit(part, out, budget)?;
                }
            }
            HirKind::Alternation(branches) => {
                let index = self.pick(branches.len());
                self.emit(branches.get(index)?, out, budget)?;
            }
        }
        Some(())
    }

    /// A character from a class, preferring ASCII letters and digits so the result stays
    /// readable (and valid for ECMA-flavoured validators, whose `\d`/`\w` are ASCII-only).
    fn class_char(&mut self, ranges: &[(char, char)]) -> Option<char> {
        let contains = |c: char| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
        let first = ranges.first()?.0;
        if self.rng.is_some() {
            let alnum: Vec<char> = ('0'..='9')
                .chain('A'..='Z')
                .chain('a'..='z')
                .filter(|c| contains(*c))
                .collect();
            let pool: Vec<char> = if alnum.is_empty() {
                (' '..='~').filter(|c| contains(*c)).collect()
            } else {
                alnum
            };
            let index = self.pick(pool.len());
            return Some(pool.get(index).copied().unwrap_or(first));
        }
        if first.is_ascii_alphanumeric() {
            return Some(first);
        }
        ('a'..='z')
            .chain('A'..='Z')
            .chain('0'..='9')
            .chain(' '..='~')
            .find(|c| contains(*c))
            .or(Some(first))
    }

    // ----- arrays and objects -----------------------------------------------------------------

    fn array(&mut self, kw: &Map<String, Value>, ctx: Ctx<'_>) -> Value {
        let (prefix, rest): (&[Value], Option<&Value>) = match (kw.get("prefixItems"), kw.get("items")) {
            (Some(Value::Array(prefix)), items) => (prefix, items),
            // Pre-2020 tuple form, in case a 3.0 document slipped through unconverted.
            (None, Some(Value::Array(prefix))) => (prefix, kw.get("additionalItems")),
            (_, items) => (&[], items),
        };
        let min = usize_keyword(kw, "minItems").unwrap_or(0).min(MAX_ENTRIES);
        let max = usize_keyword(kw, "maxItems");
        let shallow = ctx.depth >= SOFT_DEPTH || rest.is_some_and(|s| self.recursion_saturated(s));
        let mut len = if shallow {
            min
        } else {
            let extra = self.pick(3);
            min.max(1).max(prefix.len()) + extra
        };
        if rest == Some(&Value::Bool(false)) {
            len = len.min(prefix.len());
        }
        if let Some(max) = max {
            len = len.min(max);
        }
        let unique = kw.get("uniqueItems") == Some(&Value::Bool(true));
        let anything = Value::Bool(true);
        let mut items: Vec<Value> = Vec::with_capacity(len);
        for index in 0..len {
            let schema = prefix.get(index).or(rest).unwrap_or(&anything);
            let child = ctx.nested(ctx.name);
            let unsatisfied = self.unsatisfied;
            let mut value = self.gen_value(schema, child);
            if index >= min && self.unsatisfied > unsatisfied {
                self.unsatisfied = unsatisfied;
                break;
            }
            let mut attempt = 0;
            while unique && attempt < VARIANT_ATTEMPTS && items.iter().any(|v| json_eq(v, &value)) {
                attempt += 1;
                let salt = (index as u64).wrapping_mul(1_000).wrapping_add(attempt);
                value = self.with_variation(salt, |g| g.gen_value(schema, child));
            }
            if unique
                && items.iter().any(|v| json_eq(v, &value))
                && let Some(distinct) = self.distinguish(schema, &value, index)
            {
                value = distinct;
            }
            items.push(value);
        }
        Value::Array(items)
    }

    /// Last resort for `uniqueItems` when variants keep colliding (empty open objects, strings
    /// with few choices): tag the value with the item's index, if the schema still accepts it.
    fn distinguish(&mut self, schema: &Value, value: &Value, index: usize) -> Option<Value> {
        let candidate = match value {
            Value::Object(entries) => {
                let mut entries = entries.clone();
                entries.insert(format!("additionalProp{index}"), Value::from(index));
                Value::Object(entries)
            }
            Value::String(text) => Value::String(format!("{text}{index}")),
            _ => return None,
        };
        self.is_valid(schema, &candidate).then_some(candidate)
    }

    fn object(&mut self, kw: &Map<String, Value>, ctx: Ctx<'_>) -> Value {
        let no_properties = Map::new();
        let properties = kw
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&no_properties);
        let required: Vec<&str> = kw
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let closed = kw.get("additionalProperties") == Some(&Value::Bool(false))
            || kw.get("unevaluatedProperties") == Some(&Value::Bool(false));
        let min = usize_keyword(kw, "minProperties").unwrap_or(0).min(MAX_ENTRIES);
        let max = usize_keyword(kw, "maxProperties");
        let shallow = ctx.depth >= SOFT_DEPTH;

        // Required `writeOnly` properties stay: a body that fails its own schema is worse
        // than one that echoes a write-only field.
        let mut chosen: Vec<(String, Value, bool)> = Vec::new();
        for (name, schema) in properties {
            let is_required = required.contains(&name.as_str());
            let skip = shallow || self.has_flag(schema, "writeOnly", 0) || self.recursion_saturated(schema);
            if is_required || !skip {
                chosen.push((name.clone(), schema.clone(), is_required));
            }
        }
        for name in &required {
            if !properties.contains_key(*name) && !chosen.iter().any(|(n, ..)| n == name) {
                let schema = self.extra_schema(kw, name);
                chosen.push(((*name).to_owned(), schema, true));
            }
        }
        if let Some(max) = max {
            // Over the limit: keep every required property, then optional ones in order.
            let mut room = max.saturating_sub(chosen.iter().filter(|(.., req)| *req).count());
            chosen.retain(|(.., is_required)| {
                let keep = *is_required || room > 0;
                if !*is_required {
                    room = room.saturating_sub(1);
                }
                keep
            });
        }

        let mut out = Map::new();
        for (name, schema, is_required) in &chosen {
            let unsatisfied = self.unsatisfied;
            let value = self.gen_value(schema, ctx.nested(Some(name)));
            if !is_required && self.unsatisfied > unsatisfied {
                self.unsatisfied = unsatisfied;
                continue;
            }
            out.insert(name.clone(), value);
        }

        // A pure map (`additionalProperties: {schema}`) would otherwise come out empty, which
        // says little about its shape; one entry (a few when dynamic) shows it.
        let map_like = properties.is_empty() && kw.get("additionalProperties").is_some_and(Value::is_object);
        let mut target = min.max(out.len());
        if map_like && !shallow {
            let extra = self.pick(3);
            target = target.max(out.len() + 1 + extra);
        }
        if let Some(max) = max {
            target = target.min(max);
        }
        let mut attempt = 0;
        while out.len() < target && attempt < target * 4 + 8 {
            attempt += 1;
            let Some(key) = self.extra_key(kw, attempt, closed, ctx) else {
                break;
            };
            if out.contains_key(&key) || properties.contains_key(&key) {
                continue;
            }
            let schema = self.extra_schema(kw, &key);
            let value = self.gen_value(&schema, ctx.nested(Some(&key)));
            out.insert(key, value);
        }
        Value::Object(out)
    }

    /// The `n`th extra key for an object that needs more entries than it declares.
    fn extra_key(&mut self, kw: &Map<String, Value>, n: usize, closed: bool, ctx: Ctx<'_>) -> Option<String> {
        let salt = n as u64;
        if let Some(names) = kw.get("propertyNames").filter(|s| s.is_object()) {
            let mut names = names.clone();
            if let Some(map) = names.as_object_mut() {
                map.entry("type").or_insert_with(|| Value::from("string"));
            }
            let key = if n == 1 {
                self.gen_value(&names, ctx)
            } else {
                self.with_variation(salt, |g| g.gen_value(&names, ctx))
            };
            if let Value::String(key) = key {
                return Some(key);
            }
        }
        if closed {
            let patterns: Vec<String> = kw
                .get("patternProperties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            let pattern = patterns.get(n.saturating_sub(1) % patterns.len().max(1))?;
            return if n == 1 {
                self.pattern_string(pattern, 0, None)
            } else {
                self.with_variation(salt, |g| g.pattern_string(pattern, 0, None))
            };
        }
        Some(format!("additionalProp{n}"))
    }

    /// The schema an undeclared key's value must satisfy.
    fn extra_schema(&mut self, kw: &Map<String, Value>, key: &str) -> Value {
        if let Some(patterns) = kw.get("patternProperties").and_then(Value::as_object) {
            for (pattern, schema) in patterns {
                if self.regex_matches(pattern, key) == Some(true) {
                    return schema.clone();
                }
            }
        }
        kw.get("additionalProperties").cloned().unwrap_or(Value::Bool(true))
    }

    // ----- checking ---------------------------------------------------------------------------

    fn regex_matches(&mut self, pattern: &str, text: &str) -> Option<bool> {
        let matcher = self
            .regexes
            .entry(pattern.to_owned())
            .or_insert_with(|| PatternMatcher::compile(pattern));
        matcher.as_ref().map(|m| m.is_match(text))
    }

    fn is_valid(&mut self, schema: &Value, value: &Value) -> bool {
        self.check(schema, value, 0)
    }

    /// A compact JSON Schema validator for the keywords that matter to generated values. It
    /// decides between candidates, so it errs towards "valid" only where it cannot tell
    /// (uncommon formats, uncompilable patterns, unresolvable `$ref`s, `unevaluated*`).
    fn check(&mut self, schema: &Value, value: &Value, depth: usize) -> bool {
        let map = match schema {
            Value::Bool(allowed) => return *allowed,
            Value::Object(map) => map,
            _ => return true,
        };
        if depth > MAX_CHECK_DEPTH {
            return true;
        }
        let depth = depth + 1;
        if let Some(target) = map
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| resolve(self.doc, r))
        {
            let key = (std::ptr::from_ref(target).addr(), std::ptr::from_ref(value).addr());
            // Re-entering the same schema for the same value cannot change the answer.
            if !self.checking.contains(&key) {
                self.checking.push(key);
                let valid = self.check(target, value, depth);
                self.checking.pop();
                if !valid {
                    return false;
                }
            }
        }
        self.check_applicators(map, value, depth)
            && self.check_generic(map, value)
            && match value {
                Value::Number(number) => number.as_f64().is_none_or(|x| NumericBounds::of(map).admits(x)),
                Value::String(text) => self.check_string(map, text),
                Value::Array(items) => self.check_array(map, items, depth),
                Value::Object(entries) => self.check_object(map, entries, depth),
                _ => true,
            }
    }

    fn check_applicators(&mut self, map: &Map<String, Value>, value: &Value, depth: usize) -> bool {
        let list = |key: &str| map.get(key).and_then(Value::as_array);
        if let Some(parts) = list("allOf")
            && !parts.iter().all(|part| self.check(part, value, depth))
        {
            return false;
        }
        if let Some(branches) = list("anyOf")
            && !branches.iter().any(|branch| self.check(branch, value, depth))
        {
            return false;
        }
        if let Some(branches) = list("oneOf") {
            let mut matching = 0;
            for branch in branches {
                if self.check(branch, value, depth) {
                    matching += 1;
                    if matching > 1 {
                        break;
                    }
                }
            }
            if matching != 1 {
                return false;
            }
        }
        if let Some(negated) = map.get("not")
            && self.check(negated, value, depth)
        {
            return false;
        }
        if let Some(condition) = map.get("if") {
            let branch = if self.check(condition, value, depth) {
                map.get("then")
            } else {
                map.get("else")
            };
            if let Some(branch) = branch {
                return self.check(branch, value, depth);
            }
        }
        true
    }

    fn check_generic(&self, map: &Map<String, Value>, value: &Value) -> bool {
        let type_ok = map.get("type").is_none_or(|t| type_matches(t, value));
        let const_ok = map.get("const").is_none_or(|c| json_eq(c, value));
        let enum_ok = map
            .get("enum")
            .and_then(Value::as_array)
            .is_none_or(|members| members.iter().any(|m| json_eq(m, value)));
        type_ok && const_ok && enum_ok
    }

    fn check_string(&mut self, map: &Map<String, Value>, text: &str) -> bool {
        let min = usize_keyword(map, "minLength").unwrap_or(0);
        let max = usize_keyword(map, "maxLength");
        let pattern = map.get("pattern").and_then(Value::as_str);
        let format = map.get("format").and_then(Value::as_str);
        self.string_fits(text, min, max, pattern) && format.is_none_or(|f| format_ok(f, text))
    }

    fn check_array(&mut self, map: &Map<String, Value>, items: &[Value], depth: usize) -> bool {
        let (prefix, rest): (&[Value], Option<&Value>) = match (map.get("prefixItems"), map.get("items")) {
            (Some(Value::Array(prefix)), items) => (prefix, items),
            (None, Some(Value::Array(prefix))) => (prefix, map.get("additionalItems")),
            (_, items) => (&[], items),
        };
        for (index, item) in items.iter().enumerate() {
            if let Some(schema) = prefix.get(index).or(rest)
                && !self.check(schema, item, depth)
            {
                return false;
            }
        }
        let len = items.len();
        if usize_keyword(map, "minItems").is_some_and(|min| len < min)
            || usize_keyword(map, "maxItems").is_some_and(|max| len > max)
        {
            return false;
        }
        if map.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (index, item) in items.iter().enumerate() {
                if items.iter().skip(index + 1).any(|other| json_eq(item, other)) {
                    return false;
                }
            }
        }
        if let Some(contains) = map.get("contains") {
            let mut count = 0;
            for item in items {
                if self.check(contains, item, depth) {
                    count += 1;
                }
            }
            let min = usize_keyword(map, "minContains").unwrap_or(1);
            let max = usize_keyword(map, "maxContains");
            if count < min || max.is_some_and(|max| count > max) {
                return false;
            }
        }
        true
    }

    fn check_object(&mut self, map: &Map<String, Value>, entries: &Map<String, Value>, depth: usize) -> bool {
        let properties = map.get("properties").and_then(Value::as_object);
        let patterns: Vec<(&String, &Value)> = map
            .get("patternProperties")
            .and_then(Value::as_object)
            .map(|p| p.iter().collect())
            .unwrap_or_default();
        for (key, value) in entries {
            let mut declared = false;
            if let Some(schema) = properties.and_then(|p| p.get(key)) {
                declared = true;
                if !self.check(schema, value, depth) {
                    return false;
                }
            }
            for (pattern, schema) in &patterns {
                match self.regex_matches(pattern, key) {
                    Some(true) => {
                        declared = true;
                        if !self.check(schema, value, depth) {
                            return false;
                        }
                    }
                    // Cannot tell, so do not let `additionalProperties` reject the key.
                    None => declared = true,
                    Some(false) => {}
                }
            }
            if !declared
                && let Some(additional) = map.get("additionalProperties")
                && !self.check(additional, value, depth)
            {
                return false;
            }
            if let Some(names) = map.get("propertyNames")
                && !self.check(names, &Value::String(key.clone()), depth)
            {
                return false;
            }
        }
        let has_required = map.get("required").and_then(Value::as_array).is_none_or(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .all(|name| entries.contains_key(name))
        });
        let dependencies_met = map
            .get("dependentRequired")
            .and_then(Value::as_object)
            .is_none_or(|deps| {
                deps.iter()
                    .filter(|(key, _)| entries.contains_key(*key))
                    .all(|(_, needed)| {
                        needed
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .all(|name| entries.contains_key(name))
                    })
            });
        let len = entries.len();
        has_required
            && dependencies_met
            && usize_keyword(map, "minProperties").is_none_or(|min| len >= min)
            && usize_keyword(map, "maxProperties").is_none_or(|max| len <= max)
    }
}

// ----- patterns ---------------------------------------------------------------------------------

/// A JSON Schema `pattern` as the `regex` crate can run it. ECMA-262 lookaheads, which that crate
/// lacks, are supported where OpenAPI documents use them: at the anchored start of a pattern
/// (`^(?=.*\d)(?!.*\s).{8,}$`), each checked as its own prefix match.
struct PatternMatcher {
    main: Regex,
    lookaheads: Vec<(bool, Regex)>,
}

impl PatternMatcher {
    fn compile(pattern: &str) -> Option<Self> {
        if let Ok(main) = Regex::new(pattern) {
            return Some(Self {
                main,
                lookaheads: Vec::new(),
            });
        }
        let (rest, lookaheads) = split_lookaheads(pattern)?;
        let lookaheads = lookaheads
            .into_iter()
            .map(|(negative, body)| Some((negative, Regex::new(&format!("^(?:{body})")).ok()?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            main: Regex::new(&rest).ok()?,
            lookaheads,
        })
    }

    fn is_match(&self, text: &str) -> bool {
        self.main.is_match(text)
            && self
                .lookaheads
                .iter()
                .all(|(negative, regex)| regex.is_match(text) != *negative)
    }
}

/// Splits `^(?=a)(?!b)rest` into `^rest` and its lookaheads as (negative, body) pairs; `None`
/// if the pattern does not start that way.
fn split_lookaheads(pattern: &str) -> Option<(String, Vec<(bool, String)>)> {
    let mut rest = pattern.strip_prefix('^')?;
    let mut lookaheads = Vec::new();
    loop {
        let negative = if rest.starts_with("(?=") {
            false
        } else if rest.starts_with("(?!") {
            true
        } else {
            break;
        };
        let body_and_more = rest.get(3..)?;
        let end = closing_paren(body_and_more)?;
        lookaheads.push((negative, body_and_more.get(..end)?.to_owned()));
        rest = body_and_more.get(end + 1..)?;
    }
    (!lookaheads.is_empty()).then(|| (format!("^{rest}"), lookaheads))
}

/// Byte offset of the `)` closing a group whose body starts `text`, skipping escapes and
/// character classes.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut escaped = false;
    for (offset, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => match depth.checked_sub(1) {
                Some(outer) => depth = outer,
                None => return Some(offset),
            },
            _ => {}
        }
    }
    None
}

// ----- keyword merging (allOf / $ref siblings) --------------------------------------------------

/// Merges one keyword of an `allOf` part (or `$ref` target) into the keywords gathered so far:
/// constraints are intersected, property sets united, and anything else keeps its first value.
fn merge_keyword(kw: &mut Map<String, Value>, key: &str, incoming: &Value, conflict: &mut bool) {
    let Some(existing) = kw.get_mut(key) else {
        kw.insert(key.to_owned(), incoming.clone());
        return;
    };
    match key {
        "type" => {
            let merged = intersect_types(existing, incoming);
            if merged.is_empty() {
                *conflict = true;
            } else {
                *existing = Value::Array(merged.into_iter().map(Value::from).collect());
            }
        }
        "properties" | "patternProperties" => {
            if let (Some(ours), Some(theirs)) = (existing.as_object_mut(), incoming.as_object()) {
                for (name, schema) in theirs {
                    let combined = match ours.get(name) {
                        Some(current) => combine_schemas(current, schema),
                        None => schema.clone(),
                    };
                    ours.insert(name.clone(), combined);
                }
            }
        }
        "required" => {
            if let (Some(ours), Some(theirs)) = (existing.as_array_mut(), incoming.as_array()) {
                for name in theirs {
                    if !ours.contains(name) {
                        ours.push(name.clone());
                    }
                }
            }
        }
        "minimum" | "exclusiveMinimum" | "minLength" | "minItems" | "minProperties" | "minContains" => {
            if let (Some(a), Some(b)) = (existing.as_f64(), incoming.as_f64())
                && b > a
            {
                *existing = incoming.clone();
            }
        }
        "maximum" | "exclusiveMaximum" | "maxLength" | "maxItems" | "maxProperties" | "maxContains" => {
            if let (Some(a), Some(b)) = (existing.as_f64(), incoming.as_f64())
                && b < a
            {
                *existing = incoming.clone();
            }
        }
        "multipleOf" => {
            if let (Some(a), Some(b)) = (existing.as_f64(), incoming.as_f64())
                && b > 0.0
                && !is_multiple_of(a, b)
            {
                let combined = if is_multiple_of(b, a) { b } else { snap(a * b, a.min(b)) };
                *existing = float_value(combined);
            }
        }
        "enum" => {
            if let (Some(ours), Some(theirs)) = (existing.as_array_mut(), incoming.as_array()) {
                ours.retain(|member| theirs.iter().any(|other| json_eq(member, other)));
                if ours.is_empty() {
                    *conflict = true;
                }
            }
        }
        "const" if !json_eq(existing, incoming) => *conflict = true,
        "items"
        | "additionalItems"
        | "additionalProperties"
        | "unevaluatedProperties"
        | "propertyNames"
        | "contains" => *existing = combine_schemas(existing, incoming),
        "readOnly" | "writeOnly" | "uniqueItems" | "deprecated" if incoming == &Value::Bool(true) => {
            *existing = Value::Bool(true);
        }
        _ => {}
    }
}

/// Both schemas at once, without an `allOf` wrapper where a boolean schema makes it trivial.
fn combine_schemas(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Bool(false), _) | (_, Value::Bool(false)) => Value::Bool(false),
        (Value::Bool(true), other) | (other, Value::Bool(true)) => other.clone(),
        _ if a == b => a.clone(),
        _ => serde_json::json!({ "allOf": [a, b] }),
    }
}

fn type_names(value: &Value) -> Vec<&str> {
    match value {
        Value::String(name) => vec![name.as_str()],
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Type sets intersected, with `integer` as the subset of `number` it is.
fn intersect_types<'a>(a: &'a Value, b: &'a Value) -> Vec<&'a str> {
    let (ours, theirs) = (type_names(a), type_names(b));
    let mut merged = Vec::new();
    for name in ours {
        let kept = if theirs.contains(&name) {
            Some(name)
        } else if (name == "number" && theirs.contains(&"integer")) || (name == "integer" && theirs.contains(&"number"))
        {
            Some("integer")
        } else {
            None
        };
        if let Some(kept) = kept.filter(|k| !merged.contains(k)) {
            merged.push(kept);
        }
    }
    merged
}

fn declared_types(kw: &Map<String, Value>) -> Option<Vec<Kind>> {
    kw.get("type")
        .map(|t| type_names(t).into_iter().filter_map(Kind::parse).collect())
}

fn type_matches(declared: &Value, value: &Value) -> bool {
    let names = type_names(declared);
    names.is_empty()
        || names.iter().any(|name| match *name {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "number" => value.is_number(),
            "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|x| x.fract() == 0.0),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        })
}

fn usize_keyword(kw: &Map<String, Value>, key: &str) -> Option<usize> {
    let value = kw.get(key)?;
    let whole = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|x| x.fract() == 0.0 && *x >= 0.0)
            .map(|x| x as u64)
    })?;
    Some(usize::try_from(whole).unwrap_or(usize::MAX))
}

// ----- $ref resolution and JSON equality --------------------------------------------------------

/// Resolves a local `$ref` (`#/components/schemas/Name`), undoing percent-encoding and the
/// JSON pointer escapes `~1` and `~0`. Anything else is not resolvable from the document alone.
fn resolve<'d>(doc: &'d Value, reference: &str) -> Option<&'d Value> {
    let pointer = percent_decode(reference.strip_prefix('#')?)?;
    if pointer.is_empty() {
        return Some(doc);
    }
    let mut node = doc;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        node = match node {
            Value::Object(map) => map.get(&token)?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                index += 3;
            }
            None => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// JSON Schema equality: `1` equals `1.0`, object key order does not matter.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

// ----- numeric helpers --------------------------------------------------------------------------

/// Numeric constraints in one place, accepting both the 2020-12 (numeric) and the draft-4 /
/// OpenAPI 3.0 (boolean) forms of `exclusiveMinimum`/`exclusiveMaximum`.
#[derive(Default)]
struct NumericBounds {
    min: Option<f64>,
    min_exclusive: bool,
    max: Option<f64>,
    max_exclusive: bool,
    multiple_of: Option<f64>,
}

impl NumericBounds {
    fn of(kw: &Map<String, Value>) -> Self {
        let number = |key: &str| kw.get(key).and_then(Value::as_f64).filter(|x| x.is_finite());
        let mut bounds = Self {
            min: number("minimum"),
            max: number("maximum"),
            multiple_of: number("multipleOf").filter(|m| *m > 0.0),
            ..Self::default()
        };
        match kw.get("exclusiveMinimum") {
            Some(Value::Bool(flag)) => bounds.min_exclusive = *flag && bounds.min.is_some(),
            Some(_) => {
                if let Some(x) = number("exclusiveMinimum").filter(|x| bounds.min.is_none_or(|m| *x >= m)) {
                    bounds.min = Some(x);
                    bounds.min_exclusive = true;
                }
            }
            None => {}
        }
        match kw.get("exclusiveMaximum") {
            Some(Value::Bool(flag)) => bounds.max_exclusive = *flag && bounds.max.is_some(),
            Some(_) => {
                if let Some(x) = number("exclusiveMaximum").filter(|x| bounds.max.is_none_or(|m| *x <= m)) {
                    bounds.max = Some(x);
                    bounds.max_exclusive = true;
                }
            }
            None => {}
        }
        bounds
    }

    fn admits(&self, x: f64) -> bool {
        let above = self.min.is_none_or(|m| if self.min_exclusive { x > m } else { x >= m });
        let below = self.max.is_none_or(|m| if self.max_exclusive { x < m } else { x <= m });
        x.is_finite() && above && below && self.multiple_of.is_none_or(|m| is_multiple_of(x, m))
    }
}

/// `x` as (digits, decimal places) from its shortest round-trip text: 1.25 → (125, 2).
fn decimal_parts(x: f64) -> Option<(i128, u32)> {
    if !x.is_finite() {
        return None;
    }
    // Rust's `Display` for floats never uses exponent notation.
    let text = x.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits: i128 = format!("{whole}{fraction}").parse().ok()?;
    Some((digits, u32::try_from(fraction.len()).ok()?))
}

/// Whether `x` is a multiple of `m`, decided on decimal digits as validators do, so 0.3 is a
/// multiple of 0.1 even though the binary floats disagree.
fn is_multiple_of(x: f64, m: f64) -> bool {
    if x == 0.0 {
        return true;
    }
    if m <= 0.0 || !x.is_finite() || x.abs() < m {
        return false;
    }
    let exact = decimal_parts(x).zip(decimal_parts(m)).and_then(|((xd, xp), (md, mp))| {
        let shared = xp.min(mp);
        let scale = |digits: i128, places: u32| digits.checked_mul(10_i128.checked_pow(places - shared)?);
        let (a, b) = (scale(xd, mp)?, scale(md, xp)?);
        (b != 0).then(|| a % b == 0)
    });
    exact.unwrap_or_else(|| {
        let quotient = x / m;
        (quotient - quotient.round()).abs() < 1e-9
    })
}

/// The smallest positive integer step whose multiples are all multiples of `m`
/// (2.5 → 5, 0.5 → 1, 3 → 3).
fn integer_step(m: f64) -> i128 {
    let step = decimal_parts(m).and_then(|(digits, places)| {
        let scale = 10_i128.checked_pow(places)?;
        let divisor = gcd(digits.abs(), scale);
        (divisor > 0).then(|| digits.abs() / divisor)
    });
    step.filter(|s| *s > 0).unwrap_or(1)
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The smallest multiple of `step` at or above `x`.
fn align_up(x: i128, step: i128) -> i128 {
    let rest = x.rem_euclid(step.max(1));
    if rest == 0 {
        x
    } else {
        x.saturating_sub(rest).saturating_add(step)
    }
}

/// The largest multiple of `step` at or below `x`.
fn align_down(x: i128, step: i128) -> i128 {
    x.saturating_sub(x.rem_euclid(step.max(1)))
}

fn round_to(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

/// `x` rounded to the decimal places of the step `m`, undoing binary float noise.
fn snap(x: f64, m: f64) -> f64 {
    match decimal_parts(m) {
        Some((_, places)) if places <= 15 => round_to(x, places as i32),
        _ => x,
    }
}

/// A JSON number for `x`, written without a fraction when it has none.
fn float_value(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        return Value::from(x as i64);
    }
    Number::from_f64(x).map_or(Value::from(0), Value::Number)
}

// ----- format checks ----------------------------------------------------------------------------

/// Cheap checks for the common formats, so that a document's own malformed `examples` (real
/// ones quote dates twice, or put prose in a `uri`) are passed over instead of served.
/// Formats not listed here are accepted.
fn format_ok(format: &str, text: &str) -> bool {
    match format {
        "date-time" => text
            .split_once(['T', 't'])
            .is_some_and(|(date, time)| is_date(date) && is_time(time)),
        "date" => is_date(text),
        "time" => is_time(text),
        "email" | "idn-email" => text.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !text.chars().any(char::is_whitespace)
        }),
        "uuid" => is_uuid(text),
        "uri" | "url" | "iri" => has_scheme(text) && uri_chars(text),
        "uri-reference" | "iri-reference" => uri_chars(text),
        "ipv4" => text.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => text.parse::<std::net::Ipv6Addr>().is_ok(),
        _ => true,
    }
}

/// The number written by exactly the ASCII digits of `text[range]`.
fn digits(text: &str, range: std::ops::Range<usize>) -> Option<u32> {
    let part = text.get(range)?;
    part.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| part.parse().ok())
        .flatten()
}

fn is_date(text: &str) -> bool {
    let sep = |at: usize| text.as_bytes().get(at) == Some(&b'-');
    let (Some(year), Some(month), Some(day)) = (digits(text, 0..4), digits(text, 5..7), digits(text, 8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    };
    text.len() == 10 && sep(4) && sep(7) && (1..=days).contains(&day)
}

/// RFC 3339 `full-time`: `HH:MM:SS[.frac](Z|±HH:MM)`.
fn is_time(text: &str) -> bool {
    let colon = |at: usize| text.as_bytes().get(at) == Some(&b':');
    let clock = matches!(
        (digits(text, 0..2), digits(text, 3..5), digits(text, 6..8)),
        (Some(0..=23), Some(0..=59), Some(0..=59))
    ) && colon(2)
        && colon(5);
    let Some(mut rest) = text.get(8..) else {
        return false;
    };
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction.find(|c: char| !c.is_ascii_digit()).unwrap_or(fraction.len());
        if end == 0 {
            return false;
        }
        rest = fraction.get(end..).unwrap_or("");
    }
    let offset = matches!(rest, "Z" | "z")
        || (matches!(rest.get(..1), Some("+" | "-"))
            && rest.len() == 6
            && rest.as_bytes().get(3) == Some(&b':')
            && matches!((digits(rest, 1..3), digits(rest, 4..6)), (Some(0..=23), Some(0..=59))));
    clock && offset
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(at, c)| match at {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn has_scheme(text: &str) -> bool {
    text.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// No characters that RFC 3986 never allows unescaped.
fn uri_chars(text: &str) -> bool {
    !text.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
    })
}

// ----- realistic strings ------------------------------------------------------------------------

/// A value for a string `format`; `None` for formats with no fixed shape (left to the rest).
fn format_value(format: &str, variant: Option<u64>) -> Option<String> {
    Some(match format {
        "date-time" => date_time(variant),
        "date" => date(variant),
        "time" => match variant {
            None => "12:00:00Z".to_owned(),
            Some(r) => format!("{:02}:{:02}:{:02}Z", r % 24, (r >> 8) % 60, (r >> 16) % 60),
        },
        "duration" => match variant {
            None => "PT1H".to_owned(),
            Some(r) => format!("PT{}M", 1 + r % 240),
        },
        "email" | "idn-email" => email(variant),
        "uuid" => uuid(variant),
        "uri" | "url" | "iri" => url(variant),
        "uri-reference" | "iri-reference" => match variant {
            None => "/example".to_owned(),
            Some(r) => format!("/example/{}", r % 1_000),
        },
        "uri-template" => "https://example.com/{id}".to_owned(),
        "hostname" | "idn-hostname" => match variant {
            None => "example.com".to_owned(),
            Some(r) => format!("host{}.example.com", r % 1_000),
        },
        "ipv4" => ipv4(variant),
        "ipv6" => match variant {
            None => "2001:db8::1".to_owned(),
            Some(r) => format!("2001:db8::{:x}", r & 0xffff),
        },
        "byte" => match variant {
            None => "ZXhhbXBsZQ==".to_owned(),
            Some(r) => {
                const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                (0..8)
                    .filter_map(|i| BASE64.get(((r >> (i * 6)) & 63) as usize))
                    .map(|b| char::from(*b))
                    .collect()
            }
        },
        "password" => "********".to_owned(),
        "json-pointer" => "/example".to_owned(),
        "relative-json-pointer" => "0".to_owned(),
        "regex" => "^[a-z]+$".to_owned(),
        _ => return None,
    })
}

/// A realistic string for a property named `name`, from a deliberately small table.
fn name_hint(name: &str, variant: Option<u64>) -> Option<String> {
    let words = split_words(name);
    let last = words.last()?;
    word_hint(last, &words, variant).or_else(|| {
        // Plural names (`emails`, `urls`) mostly describe arrays of the singular thing.
        last.strip_suffix('s')
            .and_then(|singular| word_hint(singular, &words, variant))
    })
}

fn word_hint(word: &str, words: &[String], variant: Option<u64>) -> Option<String> {
    let has = |w: &str| words.iter().any(|x| x == w);
    let choose = |options: &[&str]| {
        let index = variant.map_or(0, |r| (r % options.len().max(1) as u64) as usize);
        options.get(index).map(|s| (*s).to_owned())
    };
    Some(match word {
        "email" | "mail" => email(variant),
        "address" if has("email") => email(variant),
        "address" if has("ip") => ipv4(variant),
        "ip" | "ipv4" => ipv4(variant),
        "at" if words.len() > 1 => date_time(variant),
        "timestamp" | "datetime" => date_time(variant),
        "date" | "birthday" | "dob" => date(variant),
        "country" => choose(&["US", "GB", "DE", "FR", "JP"])?,
        "code" if has("country") => choose(&["US", "GB", "DE", "FR", "JP"])?,
        "currency" => choose(&["USD", "EUR", "GBP", "JPY"])?,
        "code" if has("currency") => choose(&["USD", "EUR", "GBP", "JPY"])?,
        "phone" | "mobile" | "telephone" => phone(variant),
        "number" if has("phone") => phone(variant),
        "url" | "uri" | "link" | "href" | "website" | "homepage" => url(variant),
        "id" | "uuid" | "guid" => uuid(variant),
        "username" | "login" => choose(&["jdoe", "asmith", "mlee"])?,
        "name" => match words.first().map(String::as_str) {
            Some("first" | "given") => choose(&["Jane", "John", "Alex"])?,
            Some("last" | "family" | "sur") => choose(&["Doe", "Smith", "Lee"])?,
            Some("user") => choose(&["jdoe", "asmith", "mlee"])?,
            _ => match variant {
                None => "Example name".to_owned(),
                Some(r) => format!("Example name {}", r % 1_000),
            },
        },
        "description" | "summary" => "Example description".to_owned(),
        "title" => "Example title".to_owned(),
        "locale" => choose(&["en-US", "en-GB", "de-DE", "fr-FR"])?,
        "language" | "lang" => choose(&["en", "de", "fr", "ja"])?,
        "host" | "hostname" | "domain" => "example.com".to_owned(),
        _ => return None,
    })
}

/// Splits `createdAt`, `created_at` and `created-at` alike into lowercase words.
fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut after_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            words.extend((!current.is_empty()).then(|| std::mem::take(&mut current)));
            after_lower = false;
            continue;
        }
        if c.is_uppercase() && after_lower {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
        after_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    words.extend((!current.is_empty()).then_some(current));
    words
}

fn plain_word(variant: Option<u64>) -> String {
    const WORDS: [&str; 8] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
    match variant {
        None => "example".to_owned(),
        Some(r) => {
            let word = WORDS.get((r % WORDS.len() as u64) as usize).unwrap_or(&"example");
            format!("{word}-{}", (r >> 8) % 1_000)
        }
    }
}

fn ymd(r: u64) -> (u64, u64, u64) {
    (2020 + r % 10, 1 + (r >> 8) % 12, 1 + (r >> 16) % 28)
}

fn date_time(variant: Option<u64>) -> String {
    match variant {
        None => "2026-01-01T00:00:00Z".to_owned(),
        Some(r) => {
            let (y, m, d) = ymd(r);
            let (hh, mm, ss) = ((r >> 24) % 24, (r >> 32) % 60, (r >> 40) % 60);
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        }
    }
}

fn date(variant: Option<u64>) -> String {
    match variant {
        None => "2026-01-01".to_owned(),
        Some(r) => {
            let (y, m, d) = ymd(r);
            format!("{y:04}-{m:02}-{d:02}")
        }
    }
}

fn email(variant: Option<u64>) -> String {
    match variant {
        None => "user@example.com".to_owned(),
        Some(r) => format!("user{}@example.com", r % 10_000),
    }
}

fn url(variant: Option<u64>) -> String {
    match variant {
        None => "https://example.com".to_owned(),
        Some(r) => format!("https://example.com/{}", r % 10_000),
    }
}

fn phone(variant: Option<u64>) -> String {
    match variant {
        None => "+15555550100".to_owned(),
        Some(r) => format!("+155555501{:02}", r % 100),
    }
}

fn ipv4(variant: Option<u64>) -> String {
    match variant {
        None => "192.0.2.1".to_owned(),
        Some(r) => format!("192.0.2.{}", 1 + r % 254),
    }
}

fn uuid(variant: Option<u64>) -> String {
    let Some(seed) = variant else {
        return "3fa85f64-5717-4562-b3fc-2c963f66afa6".to_owned();
    };
    let mut rng = SplitMix64(seed);
    // Version 4 in the 13th hex digit, RFC 4122 variant bits in the 17th.
    let high = (rng.next() & !0xf000) | 0x4000;
    let low = (rng.next() & !(0xc000 << 48)) | (0x8000 << 48);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

/// Lengthens a formatted string where the format has room for it (an email's local part, a
/// URI's path) instead of appending characters that would break the format.
fn pad_formatted(format: &str, text: String, min: usize) -> String {
    let missing = min.saturating_sub(text.chars().count());
    if missing == 0 {
        return text;
    }
    let filler = "x".repeat(missing);
    match format {
        "email" | "idn-email" => match text.split_once('@') {
            Some((local, domain)) => format!("{local}{filler}@{domain}"),
            None => text,
        },
        "uri" | "url" | "iri" => format!("{text}/{}", "x".repeat(missing - 1)),
        "uri-reference" | "iri-reference" | "json-pointer" | "password" => {
            format!("{text}{filler}")
        }
        _ => text,
    }
}

/// Pads with `x` or truncates, counting characters rather than bytes.
fn fit_length(mut text: String, min: usize, max: Option<usize>) -> String {
    let len = text.chars().count();
    text.extend(std::iter::repeat_n('x', min.min(MAX_STRING).saturating_sub(len)));
    if let Some(max) = max.filter(|max| len > *max) {
        text = text.chars().take(max).collect();
    }
    text
}

// ----- PRNG -------------------------------------------------------------------------------------

/// SplitMix64: tiny, fast and good enough to vary mock data; no `rand` dependency needed.
#[derive(Clone, Copy, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
