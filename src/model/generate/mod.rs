//! Example values for mock response bodies, built from JSON Schema.
//!
//! This module owns turning a response schema (JSON Schema 2020-12 as OpenAPI 3.1 uses it; OpenAPI
//! 3.0 documents arrive already normalised) into a concrete JSON value the mock server can return.
//! `$ref`s are local JSON pointers into the whole OpenAPI document. This file holds the public
//! API and the `Generator` core: flattening a node, presets (`const`, examples, enums),
//! `oneOf`/`anyOf` choices, and building strings, arrays and objects.
//!
//! Three properties drive the design:
//!
//! * **The value validates.** Clients and contract tests check mock responses against the same
//!   schema, so every constraint understood here is honoured. Where the generator has to choose
//!   (`examples`, `enum`, `oneOf`/`anyOf` branches, name hints, patterns) the built-in checker
//!   re-validates the candidate before it is accepted (with jsonschema's format and pattern
//!   validators), and the root value is checked once more by a jsonschema validator compiled from
//!   the schema, the way clients check it (`check.rs` says, with measurements, why it is split so).
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
//! checkers understand them, and a failing root value is retried with variants); two different
//! `pattern`s merged through `allOf` (the first is generated from); `additionalProperties` of one
//! `allOf` part restricting another part's properties; generating from lookarounds other than
//! lookaheads at the anchored start of a pattern (samples are still checked against the whole
//! pattern).
//!
//! The files, each using only those listed before it (none imports this one):
//!
//! * `rng.rs`: the canonical and seeded choices, and how a variant is derived.
//! * `keywords.rs`: reading keywords: local `$ref`s, types, whole numbers, JSON equality.
//! * `values.rs`: realistic strings: formats, name hints, fitting a length.
//! * `numbers.rs`: numeric bounds, `multipleOf` alignment, integers and numbers.
//! * `compiled.rs`: the jsonschema validators: the whole schema, a format, a pattern.
//! * `pattern.rs`: sampling strings from a pattern, and the compiled patterns of a generation.
//! * `merge.rs`: flattening `$ref`/`allOf` into one keyword set.
//! * `check.rs`: the built-in checker for candidates, and why it remains.

mod check;
mod compiled;
mod keywords;
mod merge;
mod numbers;
mod pattern;
mod rng;
mod values;

use crate::spec::pointer::Field;
use serde_json::{Map, Value};

use check::Checker;
use keywords::{Kind, declared_types, json_eq, resolve, usize_keyword};
use merge::Flat;
use pattern::Patterns;
use rng::{Rng, VARIANT_ATTEMPTS};
use values::{MAX_STRING, fit_length, format_value, name_hint, pad_formatted, plain_word};

/// Whether `pattern` compiles as a schema's `pattern` does (ECMA-262 regular expressions).
pub fn pattern_compiles(pattern: &str) -> bool {
    compiled::pattern(pattern).is_some()
}

/// Values judged by the built-in checker (`check.rs`) where its answer is certainly
/// jsonschema's, without compiling a validator: many values against the schemas of one
/// document, the patterns they use compiled once.
#[derive(Default)]
pub struct Judge {
    patterns: Patterns,
}

impl Judge {
    /// Whether `value` certainly satisfies `schema`, a schema of `doc`: `false` when it does
    /// not, or when the checker met something it does not judge as jsonschema does (then only
    /// a compiled validator can tell).
    pub fn surely_valid(&mut self, doc: &Value, schema: &Value, value: &Value) -> bool {
        let mut checker = Checker::new(doc, &mut self.patterns);
        checker.is_valid(schema, value) && checker.sure()
    }
}

/// Containers nested deeper than this only get what their schema requires.
const SOFT_DEPTH: usize = 8;
/// Past this depth containers are emptied (or nulled), which ends even required self-references.
const HARD_DEPTH: usize = 16;
/// How often one `$ref` may be open above a value before optional recursion into it stops.
const RECURSION_LIMIT: usize = 2;
/// Cap on array items and object entries, whatever `minItems`/`minProperties` ask for.
const MAX_ENTRIES: usize = 1_000;
/// `oneOf`/`anyOf` branches tried after a first one failed, across one whole generation.
const MAX_CHOICE_RETRIES: usize = 256;

/// Generates a value for `schema`, resolving `$ref`s against `doc` (the whole OpenAPI document).
/// Deterministic: the same schema gives the same value. Never panics, terminates on recursive schemas.
pub fn generate(schema: &Value, doc: &Value) -> Value {
    let Some(key) = MEMO.with_borrow(|memo| memo.is_some().then(|| memo_key(schema, doc))) else {
        return Generator::new(doc, Rng::CANONICAL).root(schema);
    };
    if let Some(known) = MEMO.with_borrow(|memo| memo.as_ref().and_then(|m| m.get(&key).cloned())) {
        return known;
    }
    let value = Generator::new(doc, Rng::CANONICAL).root(schema);
    MEMO.with_borrow_mut(|memo| memo.as_mut().map(|m| m.insert(key, value.clone())));
    value
}

thread_local! {
    /// What [`generate`] made while [`memoised`] runs, by document and schema (see there).
    static MEMO: std::cell::RefCell<Option<Memo>> = const { std::cell::RefCell::new(None) };
}

/// Generated values by the address of their document and the text of their schema.
type Memo = std::collections::HashMap<(usize, String), Value, foldhash::fast::RandomState>;

fn memo_key(schema: &Value, doc: &Value) -> (usize, String) {
    (
        std::ptr::from_ref(doc) as usize,
        serde_json::to_string(schema).unwrap_or_default(),
    )
}

/// Runs `f`, in which [`generate`] makes the value of a schema once however often it is asked,
/// on this thread: for a schema of the same text against the same document, the value is the
/// same (generation is deterministic), so it is kept until `f` returns and cloned.
///
/// For building a model, which asks for the same bodies again and again: the plans of an item's
/// create, update and read each start from the answer's body, and a published spec writes the
/// same inline answer schema for each (one in the corpus: a 53 kB body, four times). The
/// documents must outlive `f` (a document's address is part of the key).
pub fn memoised<T>(f: impl FnOnce() -> T) -> T {
    /// Puts back the memo in force before (none, unless `memoised` is nested), even on a panic.
    struct Restore(Option<Memo>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            MEMO.with_borrow_mut(|memo| *memo = outer);
        }
    }
    let _restore = Restore(MEMO.with_borrow_mut(|memo| memo.replace(Memo::default())));
    f()
}

/// A value for the schema ignoring `examples`/`example`/`default`, built from the constraints alone,
/// varied by `seed` (different seeds give different but still valid values; used for `dynamic=true`).
pub fn generate_dynamic(schema: &Value, doc: &Value, seed: u64) -> Value {
    Generator::new(doc, Rng::seeded(seed)).root(schema)
}

/// [`generate_dynamic`] for a schema the caller holds compiled: `accepts` judges the root value,
/// so nothing is compiled per call (a `dynamic=true` request is answered from the response's own
/// validator).
pub fn generate_dynamic_with(schema: &Value, doc: &Value, seed: u64, accepts: &dyn Fn(&Value) -> bool) -> Value {
    Generator::new(doc, Rng::seeded(seed)).root_with(schema, accepts)
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
    /// Where free choices come from: canonical, or seeded.
    rng: Rng,
    /// `$ref`s whose values are being generated above the current position.
    open_refs: Vec<String>,
    /// The `pattern`s met so far, compiled once for building and checking alike.
    patterns: Patterns,
    /// Branch retries left for `oneOf`/`anyOf`; nested choices that keep failing would
    /// otherwise multiply into exponential work.
    retries: usize,
    /// `oneOf`/`anyOf` groups no branch could satisfy so far; optional content whose
    /// generation raised it is left out rather than served invalid.
    unsatisfied: usize,
}

impl<'d> Generator<'d> {
    fn new(doc: &'d Value, rng: Rng) -> Self {
        Self {
            doc,
            rng,
            open_refs: Vec::new(),
            patterns: Patterns::default(),
            retries: MAX_CHOICE_RETRIES,
            unsatisfied: 0,
        }
    }

    fn root(&mut self, schema: &Value) -> Value {
        // The whole value is checked by the built-in checker here: this runs at startup for every
        // required field of every response shape, and compiling a jsonschema validator per call
        // doubled the startup of a 600-path spec (459-574 ms to 963 ms in bench/run.sh). Callers
        // that hold a compiled validator pass it through `generate_dynamic_with` instead.
        self.root_checked(schema, &mut |g, value| g.is_valid(schema, value))
    }

    fn root_with(&mut self, schema: &Value, accepts: &dyn Fn(&Value) -> bool) -> Value {
        self.root_checked(schema, &mut |_, value| accepts(value))
    }

    fn root_checked(&mut self, schema: &Value, accepts: &mut dyn FnMut(&mut Self, &Value) -> bool) -> Value {
        let value = self.gen_value(schema, Ctx::ROOT);
        if accepts(self, &value) {
            return value;
        }
        // Something the builders do not model (`not`, `if`/`then`, `contains`, clashing `allOf`
        // parts) rejected the value; a few variants often get past it. If none does, the first
        // value is still the most readable one to return.
        for salt in 1..=VARIANT_ATTEMPTS {
            let candidate = self.with_variation(salt, |g| g.gen_value(schema, Ctx::ROOT));
            if accepts(self, &candidate) {
                return candidate;
            }
        }
        value
    }

    /// Runs `f` with choices derived from `salt` (see `Rng::varied`), to get a value different
    /// from the one just produced without losing determinism.
    fn with_variation<T>(&mut self, salt: u64, f: impl FnOnce(&mut Self) -> T) -> T {
        let varied = self.rng.varied(salt);
        let saved = std::mem::replace(&mut self.rng, varied);
        let out = f(self);
        self.rng = saved;
        out
    }

    /// Whether `value` satisfies `schema`, by the built-in checker (see `check.rs` for why).
    fn is_valid(&mut self, schema: &Value, value: &Value) -> bool {
        Checker::new(self.doc, &mut self.patterns).is_valid(schema, value)
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
            .field("$ref")
            .and_then(Value::as_str)
            .and_then(|r| resolve(self.doc, r))
            .is_some_and(|target| self.has_flag(target, key, hops + 1));
        via_ref
            || map
                .field("allOf")
                .and_then(Value::as_array)
                .is_some_and(|parts| parts.iter().any(|p| self.has_flag(p, key, hops + 1)))
    }

    /// Whether following `schema` re-enters a `$ref` that is already open often enough that
    /// optional content should stop there (a tree's `children`, a list's `next`).
    fn recursion_saturated(&self, schema: &Value) -> bool {
        let saturated = |s: &Value| {
            s.field("$ref")
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
        let flat = Flat::of(self.doc, schema);
        let kw = &flat.keywords;
        declared_types(kw).is_some_and(|types| types == [Kind::Null])
            || kw.field("const") == Some(&Value::Null)
            || kw
                .field("enum")
                .and_then(Value::as_array)
                .is_some_and(|values| !values.is_empty() && values.iter().all(Value::is_null))
    }

    // ----- generation -------------------------------------------------------------------------

    fn gen_value(&mut self, schema: &Value, ctx: Ctx<'_>) -> Value {
        match schema {
            Value::Bool(false) => Value::Null,
            Value::Object(_) => {
                let flat = Flat::of(self.doc, schema);
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
        if let Some(value) = kw.field("const") {
            return Some(value.clone());
        }
        if !self.rng.is_dynamic() {
            let examples = kw.field("examples").and_then(Value::as_array).into_iter().flatten();
            let candidates = examples.chain(kw.field("example")).chain(kw.field("default"));
            for candidate in candidates {
                if self.is_valid(node, candidate) {
                    return Some(candidate.clone());
                }
            }
        }
        let members = kw.field("enum")?.as_array()?;
        let mut valid = Vec::new();
        for member in members {
            if self.is_valid(node, member) {
                valid.push(member);
            }
        }
        // `null` in an enum is usually there for nullability, not as the interesting value.
        let non_null: Vec<&Value> = valid.iter().copied().filter(|v| !v.is_null()).collect();
        let pool = if non_null.is_empty() { valid } else { non_null };
        let chosen = pool.get(self.rng.pick(pool.len())).copied();
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
            merged.absorb(self.doc, branch, true);
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
        let shift = self.rng.pick(ordinary.len());
        ordinary.rotate_left(shift);
        ordinary.append(&mut nulls);
        ordinary.append(&mut recursive);
        ordinary
    }

    /// Sets an OpenAPI discriminator property to the chosen branch's mapping key (or schema
    /// name), so consumers that dispatch on it see a consistent body.
    fn tag_discriminator(&self, keywords: &Map<String, Value>, branch: &Value, value: &Value) -> Option<Value> {
        let discriminator = keywords.field("discriminator")?;
        let property = discriminator.field("propertyName")?.as_str()?;
        let reference = branch.field("$ref")?.as_str()?;
        let mapped = discriminator
            .field("mapping")
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
        if let Some(value) = kw.field("const") {
            return value.clone();
        }
        let nullable = declared_types(kw).is_some_and(|types| types.contains(&Kind::Null))
            || flat.choices.iter().flatten().any(|b| self.only_null(b));
        if nullable {
            return Value::Null;
        }
        if let Some(first) = kw.field("enum").and_then(Value::as_array).and_then(|e| e.first()) {
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
        let variant = self.rng.variant();
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
        let format = kw.field("format").and_then(Value::as_str);
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
            Kind::Boolean => Value::Bool(self.rng.pick(2) == 0),
            Kind::Integer => numbers::integer(kw, &mut self.rng),
            Kind::Number => numbers::number(kw, &mut self.rng),
            Kind::String => Value::String(self.string(kw, ctx.name)),
            Kind::Array => self.array(kw, ctx),
            Kind::Object => self.object(kw, ctx),
        }
    }

    // ----- strings ----------------------------------------------------------------------------

    fn string(&mut self, kw: &Map<String, Value>, name: Option<&str>) -> String {
        let min = usize_keyword(kw, "minLength").unwrap_or(0).min(MAX_STRING);
        let max = usize_keyword(kw, "maxLength");
        let pattern = kw.field("pattern").and_then(Value::as_str);
        let format = kw.field("format").and_then(Value::as_str);
        let variant = self.rng.variant();
        let formatted = format.and_then(|f| format_value(f, variant).map(|s| pad_formatted(f, s, min)));
        let hinted = match (&formatted, pattern) {
            (None, None) => name.and_then(|n| name_hint(n, variant)),
            _ => None,
        };
        for candidate in formatted.into_iter().chain(hinted) {
            if self.patterns.fits(&candidate, min, max, pattern) {
                return candidate;
            }
        }
        if let Some(text) = pattern.and_then(|p| self.patterns.sample(&mut self.rng, p, min, max)) {
            return text;
        }
        fit_length(plain_word(variant), min, max)
    }

    // ----- arrays and objects -----------------------------------------------------------------

    fn array(&mut self, kw: &Map<String, Value>, ctx: Ctx<'_>) -> Value {
        let (prefix, rest): (&[Value], Option<&Value>) = match (kw.field("prefixItems"), kw.field("items")) {
            (Some(Value::Array(prefix)), items) => (prefix, items),
            // Pre-2020 tuple form, in case a 3.0 document slipped through unconverted.
            (None, Some(Value::Array(prefix))) => (prefix, kw.field("additionalItems")),
            (_, items) => (&[], items),
        };
        let min = usize_keyword(kw, "minItems").unwrap_or(0).min(MAX_ENTRIES);
        let max = usize_keyword(kw, "maxItems");
        let shallow = ctx.depth >= SOFT_DEPTH || rest.is_some_and(|s| self.recursion_saturated(s));
        let mut len = if shallow {
            min
        } else {
            let extra = self.rng.pick(3);
            min.max(1).max(prefix.len()) + extra
        };
        if rest == Some(&Value::Bool(false)) {
            len = len.min(prefix.len());
        }
        if let Some(max) = max {
            len = len.min(max);
        }
        let unique = kw.field("uniqueItems") == Some(&Value::Bool(true));
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
            .field("properties")
            .and_then(Value::as_object)
            .unwrap_or(&no_properties);
        let required: Vec<&str> = kw
            .field("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let closed = kw.field("additionalProperties") == Some(&Value::Bool(false))
            || kw.field("unevaluatedProperties") == Some(&Value::Bool(false));
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
        let map_like = properties.is_empty() && kw.field("additionalProperties").is_some_and(Value::is_object);
        let mut target = min.max(out.len());
        if map_like && !shallow {
            let extra = self.rng.pick(3);
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
        if let Some(names) = kw.field("propertyNames").filter(|s| s.is_object()) {
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
                .field("patternProperties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            let pattern = patterns.get(n.saturating_sub(1) % patterns.len().max(1))?;
            return if n == 1 {
                self.patterns.sample(&mut self.rng, pattern, 0, None)
            } else {
                self.with_variation(salt, |g| g.patterns.sample(&mut g.rng, pattern, 0, None))
            };
        }
        Some(format!("additionalProp{n}"))
    }

    /// The schema an undeclared key's value must satisfy.
    fn extra_schema(&mut self, kw: &Map<String, Value>, key: &str) -> Value {
        if let Some(patterns) = kw.field("patternProperties").and_then(Value::as_object) {
            for (pattern, schema) in patterns {
                if self.patterns.matches(pattern, key) == Some(true) {
                    return schema.clone();
                }
            }
        }
        kw.field("additionalProperties").cloned().unwrap_or(Value::Bool(true))
    }
}

#[cfg(test)]
mod tests;
