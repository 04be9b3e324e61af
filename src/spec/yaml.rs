//! YAML text straight to JSON values, from saphyr-parser's events.
//!
//! A multi-file spec is mostly YAML: a third of a 1,500-file spec's startup went to reading it
//! through yaml_serde, whose port of libyaml copies every scalar into an event before a value is
//! made of it. saphyr-parser hands out scalars borrowed from the text where it can, and the values
//! are built here as the events come, in 40% less time.
//!
//! A text it refuses is read by yaml_serde, as before ([`crate::spec::read`]): saphyr-parser
//! refuses a few layouts that libyaml reads (a quoted item of a flow sequence whose `]` goes back
//! to its key's indentation). A text with NEL, LS or PS (U+0085, U+2028, U+2029: line breaks to
//! YAML 1.1, text to YAML 1.2) or a byte order mark after its start is left to yaml_serde at
//! once. What this reader reads, it reads as yaml_serde did (a test compares the two on every
//! YAML file of the repository):
//! - a plain scalar is typed by YAML 1.2's core schema as yaml_serde applies it: `null`, `~` and
//!   nothing are null; `true`/`True`/`TRUE` and the `false`s are booleans; integers in decimal,
//!   `0x`, `0o` and `0b`, signed, up to 128 bits, are kept exactly, and a decimal with a leading
//!   zero (`0123`) is text; finite floats, `.inf` and `.nan` are numbers (see
//!   [`crate::spec::read`] for how JSON holds the last two); anything else is text;
//! - a quoted or block scalar is text; `!!str`, `!!int`, `!!float`, `!!bool` and `!!null` (also
//!   written out, `!<tag:yaml.org,2002:int>`) say what their scalar is (one that is not what its
//!   tag says is an error); any other tag is dropped for the value it tags;
//! - a mapping key is text: a scalar of another type is written as text (`200:` is `"200"`,
//!   `0x1A:` is `"26"`, `1e3:` is `"1000"`); a duplicate key is an error;
//! - an alias is a copy of its anchor's value, within bounds: the copies made for anchors and
//!   aliases may add at most a hundred nodes per event of the text (aliases of aliases grow
//!   exponentially), and an alias counts its value's depth towards the limit of 128 levels;
//! - more than one document is an error;
//! - a block scalar that ends the text on a line of its own content, with no line break after
//!   it, keeps no line break (as libyaml reads it; saphyr-parser adds one).
//!
//! Where the two differ, this one reads more: texts libyaml refuses and YAML 1.2 allows (an empty
//! key, `: v`, is a `null` key; a tab where YAML 1.1 wants spaces; a `%YAML 2.0` or unknown
//! directive; control characters in a scalar), and two oddities no spec has been seen to hold (an
//! anchor named with a colon, `&a: x`, is the anchor `a:`; a comment after a document that is a
//! single block scalar is that scalar's text).

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;

/// Nesting deeper than this is refused (as yaml_serde refuses it): what reads a document after
/// this walks it recursively.
const MAX_DEPTH: usize = 128;

/// How many nodes the copies made for anchors and their aliases may add, `events` events into
/// the text: a hundred per event, and at least 10,000.
fn copy_bound(events: usize) -> usize {
    events.saturating_mul(100).max(10_000)
}

/// A mapping's members as they come, each key checked against those before it, made into an
/// object at its size at the end. Up to [`Members::SMALL`] members, keys are compared one by one
/// (most of a spec's mappings are this small) and the object is made once; past that, through
/// the map as it grows, which is made again at its size (a map grows by doubling its room). Both
/// YAML readers build their mappings with it ([`crate::spec::read`] for yaml_serde's).
#[derive(Default)]
pub(crate) struct Members {
    small: Vec<(String, Value)>,
    /// Past [`Members::SMALL`] members.
    large: Option<Map<String, Value>>,
}

impl Members {
    const SMALL: usize = 16;

    /// Adds a member; a key the mapping has already is refused, and handed back.
    pub(crate) fn insert(&mut self, key: String, value: Value) -> Result<(), String> {
        if let Some(map) = &mut self.large {
            if map.contains_key(&key) {
                return Err(key);
            }
            map.insert(key, value);
            return Ok(());
        }
        if self.small.iter().any(|(k, _)| *k == key) {
            return Err(key);
        }
        self.small.push((key, value));
        if self.small.len() == Self::SMALL {
            self.large = Some(self.small.drain(..).collect());
        }
        Ok(())
    }

    /// The object, at its size (collecting sizes it from the members' exact count).
    pub(crate) fn into_object(self) -> Value {
        Value::Object(match self.large {
            Some(map) => map.into_iter().collect(),
            None => self.small.into_iter().collect(),
        })
    }
}

/// Why a text is no YAML document specbox reads, and where (1-based line and column).
#[derive(Debug)]
pub struct YamlError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl YamlError {
    fn at(span: &Span, message: impl Into<String>) -> Self {
        YamlError {
            message: message.into(),
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

/// How large a node is: its nodes (itself and all inside it), and how deeply it nests.
#[derive(Clone, Copy, Default)]
struct Size {
    nodes: usize,
    depth: usize,
}

impl Size {
    const SCALAR: Size = Size { nodes: 1, depth: 0 };

    /// A collection's size, once `child` is added to it.
    fn with(self, child: Size) -> Size {
        Size {
            nodes: self.nodes + child.nodes,
            depth: self.depth.max(child.depth + 1),
        }
    }
}

/// A collection being read.
enum Open {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        size: Size,
    },
    Map {
        members: Members,
        /// The key read, whose value comes next.
        key: Option<String>,
        anchor: usize,
        size: Size,
    },
}

/// An anchored node, for its aliases: its value, its size, and its text as a mapping key (a
/// scalar's).
struct Anchored {
    value: Value,
    size: Size,
    key: Option<String>,
}

/// Parses one YAML document into JSON (an empty text is `null`). `<<` merge keys are left as
/// keys: [`crate::spec::read`] applies them.
pub fn parse(text: &str) -> Result<Value, YamlError> {
    if libyaml_reads_differently(text) {
        return Err(YamlError {
            message: "line breaks or a byte order mark that YAML 1.1 and 1.2 read differently".into(),
            line: 1,
            column: 1,
        });
    }
    // Anchored values are kept for their aliases only where there can be any.
    let aliases = memchr::memchr(b'*', text.as_bytes()).is_some();
    let mut ends = EndOfText::new(text);
    let mut open: Vec<Open> = Vec::new();
    let mut anchors: Vec<Option<Anchored>> = Vec::new();
    let mut done: Option<Value> = None;
    let mut documents = 0;
    let mut events = 0usize;
    // Nodes copied for anchors and aliases, against a bound.
    let mut copied = 0usize;
    for next in Parser::new_from_str(text) {
        let (event, span) = next.map_err(|e| YamlError {
            message: e.info().to_string(),
            line: e.marker().line(),
            column: e.marker().col() + 1,
        })?;
        events += 1;
        let too_deep = || YamlError::at(&span, format!("nested more than {MAX_DEPTH} levels deep"));
        let too_large = || YamlError::at(&span, "anchors and aliases copy too large a document");
        // A finished node: its value, its anchor, its size, and its text as a key (a scalar's).
        let (value, anchor, size, key_text) = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(YamlError::at(&span, "more than one document in the file"));
                }
                continue;
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if open.len() >= MAX_DEPTH => return Err(too_deep()),
            Event::SequenceStart(anchor, _) => {
                open.push(Open::Seq {
                    items: Vec::new(),
                    anchor,
                    size: Size::SCALAR,
                });
                continue;
            }
            Event::MappingStart(anchor, _) => {
                open.push(Open::Map {
                    members: Members::default(),
                    key: None,
                    anchor,
                    size: Size::SCALAR,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                Some(Open::Seq { items, anchor, size }) => (Value::Array(items), anchor, size, None),
                Some(Open::Map {
                    members, anchor, size, ..
                }) => (members.into_object(), anchor, size, None),
                None => continue,
            },
            Event::Scalar(raw, style, anchor, tag) => {
                let raw = ends.trim(&span, style, raw);
                let scalar = resolve(&raw, style, tag.as_deref()).map_err(|m| YamlError::at(&span, m))?;
                let is_key = matches!(open.last(), Some(Open::Map { key: None, .. }));
                if is_key
                    && anchor == 0
                    && let Some(Open::Map { key: k, .. }) = open.last_mut()
                {
                    *k = Some(key(&raw, &scalar));
                    continue;
                }
                // An anchored scalar may be a key where an alias names it.
                let key_text = (is_key || anchor > 0).then(|| key(&raw, &scalar));
                (value(&raw, scalar), anchor, Size::SCALAR, key_text)
            }
            Event::Alias(id) => {
                let Some(Some(anchored)) = anchors.get(id) else {
                    return Err(YamlError::at(
                        &span,
                        "an alias of no anchor (or one this reader does not keep)",
                    ));
                };
                if open.len() + anchored.size.depth > MAX_DEPTH {
                    return Err(too_deep());
                }
                copied += anchored.size.nodes;
                if copied > copy_bound(events) {
                    return Err(too_large());
                }
                (anchored.value.clone(), 0, anchored.size, anchored.key.clone())
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
        };
        if anchor > 0 && aliases {
            copied += size.nodes;
            if copied > copy_bound(events) {
                return Err(too_large());
            }
            if anchors.len() <= anchor {
                anchors.resize_with(anchor + 1, || None);
            }
            if let Some(slot) = anchors.get_mut(anchor) {
                *slot = Some(Anchored {
                    value: value.clone(),
                    size,
                    key: key_text.clone(),
                });
            }
        }
        add(&mut open, &mut done, value, size, key_text, &span)?;
    }
    Ok(done.unwrap_or(Value::Null))
}

/// Whether `text` has what libyaml (YAML 1.1) and saphyr-parser (YAML 1.2) read differently, so
/// that yaml_serde should read it as before: NEL, LS or PS (U+0085, U+2028, U+2029: line breaks
/// to one, text to the other), or a byte order mark after the start.
fn libyaml_reads_differently(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr3_iter(0xC2, 0xE2, 0xEF, bytes).any(|i| {
        let next = |n: usize| bytes.get(i + n).copied();
        match bytes.get(i) {
            Some(0xC2) => next(1) == Some(0x85),
            Some(0xE2) => next(1) == Some(0x80) && matches!(next(2), Some(0xA8 | 0xA9)),
            _ => i > 0 && next(1) == Some(0xBB) && next(2) == Some(0xBF),
        }
    })
}

/// Puts a finished node where it goes: into the collection being read (as a mapping's key, or a
/// value), or as the document.
fn add(
    open: &mut [Open],
    done: &mut Option<Value>,
    value: Value,
    size: Size,
    key_text: Option<String>,
    span: &Span,
) -> Result<(), YamlError> {
    match open.last_mut() {
        None => *done = Some(value),
        Some(Open::Seq { items, size: s, .. }) => {
            items.push(value);
            *s = s.with(size);
        }
        Some(Open::Map {
            members, key, size: s, ..
        }) => {
            let Some(k) = key.take() else {
                *key = Some(match key_text {
                    Some(k) => k,
                    None => {
                        return Err(YamlError::at(
                            span,
                            "a mapping key must be a string, number, boolean or null",
                        ));
                    }
                });
                return Ok(());
            };
            *s = s.with(size);
            members
                .insert(k, value)
                .map_err(|k| YamlError::at(span, format!("duplicate key {k:?}")))?;
        }
    }
    Ok(())
}

/// Where a text without a final line break ends, for the block scalar that may end with it:
/// libyaml keeps no line break there, and saphyr-parser adds one.
struct EndOfText<'t> {
    text: &'t str,
    /// The text's length in characters (spans count characters), counted on first need.
    chars: Option<usize>,
}

impl<'t> EndOfText<'t> {
    fn new(text: &'t str) -> Self {
        EndOfText { text, chars: None }
    }

    /// `raw`, less the line break saphyr-parser added to a block scalar that ends the text on a
    /// line of its own content (no line break after it, and not a line of blanks).
    fn trim<'r>(&mut self, span: &Span, style: ScalarStyle, raw: Cow<'r, str>) -> Cow<'r, str> {
        let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
        let text = self.text;
        if !block || text.ends_with(['\n', '\r']) || !raw.ends_with('\n') {
            return raw;
        }
        let last_line = text.rsplit(['\n', '\r']).next().unwrap_or(text);
        if last_line.trim().is_empty() {
            return raw;
        }
        let chars = *self.chars.get_or_insert_with(|| text.chars().count());
        if span.end.index() < chars {
            return raw;
        }
        match raw {
            Cow::Borrowed(s) => Cow::Borrowed(s.strip_suffix('\n').unwrap_or(s)),
            Cow::Owned(mut s) => {
                s.pop();
                Cow::Owned(s)
            }
        }
    }
}

/// What a scalar is, by its tag, else (plain) by the core schema.
enum Scalar {
    Null,
    Bool(bool),
    /// An integer of at most 128 bits, exactly.
    Int(Value),
    Float(f64),
    Text,
}

/// What the scalar `raw` is (see the module's documentation for the rules).
fn resolve(raw: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Scalar, String> {
    let Some(tag) = tag else {
        return Ok(if style == ScalarStyle::Plain {
            plain(raw)
        } else {
            Scalar::Text
        });
    };
    // `!!int`, or written out in full (`!<tag:yaml.org,2002:int>`).
    let core = if tag.is_yaml_core_schema() {
        Some(tag.suffix.as_str())
    } else if tag.handle.is_empty() {
        tag.suffix.strip_prefix("tag:yaml.org,2002:")
    } else {
        None
    };
    if let Some(core) = core {
        let not_a = |what: &str| format!("invalid value: {raw:?}, expected {what}");
        return match core {
            "bool" => boolean(raw).map(Scalar::Bool).ok_or_else(|| not_a("a boolean")),
            "int" => integer(raw).map(Scalar::Int).ok_or_else(|| not_a("an integer")),
            "float" => float(raw).map(Scalar::Float).ok_or_else(|| not_a("a float")),
            "null" => null(raw).then_some(Scalar::Null).ok_or_else(|| not_a("null")),
            // `!!str`, and other core tags (`!!binary`, `!!timestamp`): text.
            _ => Ok(Scalar::Text),
        };
    }
    // A local tag (`!thing`) is dropped for what it tags; a global one leaves text.
    let local = tag.handle.starts_with('!') || tag.handle.is_empty() && tag.suffix.starts_with('!');
    Ok(if local && style == ScalarStyle::Plain {
        plain(raw)
    } else {
        Scalar::Text
    })
}

/// A scalar as a value. JSON has neither infinity nor NaN: infinities are the largest finite
/// numbers of their sign, NaN is null (see [`crate::spec::read`]).
fn value(raw: &str, scalar: Scalar) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(n) => n,
        Scalar::Float(f) => Number::from_f64(f.clamp(f64::MIN, f64::MAX)).map_or(Value::Null, Value::Number),
        Scalar::Text => Value::String(raw.to_string()),
    }
}

/// A scalar as a mapping key: text, a scalar of another type written as text (`1e3:` is
/// `"1000"`, `.inf:` is `"inf"`).
fn key(raw: &str, scalar: &Scalar) -> String {
    match scalar {
        Scalar::Null => "null".to_string(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(n) => n.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Text => raw.to_string(),
    }
}

/// A plain scalar: null, a boolean, an integer, a float, else text.
fn plain(raw: &str) -> Scalar {
    if raw.is_empty() || null(raw) {
        return Scalar::Null;
    }
    if let Some(b) = boolean(raw) {
        return Scalar::Bool(b);
    }
    let numeric = raw
        .as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_digit() || b"+-.".contains(b));
    if numeric {
        if let Some(n) = integer(raw) {
            return Scalar::Int(n);
        }
        if !leading_zero_digits(raw)
            && let Some(f) = float(raw)
        {
            return Scalar::Float(f);
        }
    }
    Scalar::Text
}

fn null(raw: &str) -> bool {
    matches!(raw, "null" | "Null" | "NULL" | "~")
}

fn boolean(raw: &str) -> Option<bool> {
    match raw {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// `0123`, `-007`: digits after a leading zero are text in YAML 1.2, not an octal number.
fn leading_zero_digits(raw: &str) -> bool {
    let digits = raw.strip_prefix(['-', '+']).unwrap_or(raw);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An integer of at most 128 bits: an optional sign, then decimal digits, or `0x`, `0o` or `0b`
/// and digits of that base. Kept exactly (`arbitrary_precision`).
fn integer(raw: &str) -> Option<Value> {
    let (negative, unsigned) = match raw.as_bytes().first()? {
        b'-' => (true, &raw[1..]),
        b'+' => (false, &raw[1..]),
        _ => (false, raw),
    };
    let (radix, digits) = if let Some(d) = unsigned.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = unsigned.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = unsigned.strip_prefix("0b") {
        (2, d)
    } else {
        if leading_zero_digits(raw) {
            return None;
        }
        (10, unsigned)
    };
    // `from_str_radix` takes a sign of its own: the only sign is the one read above.
    if digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if !negative {
        return Some(match u64::try_from(magnitude) {
            Ok(n) => Value::from(n),
            Err(_) => Value::Number(Number::from_u128(magnitude)?),
        });
    }
    if magnitude <= 1 << 63 {
        // -2^63 fits, as i64::MIN.
        let n = (magnitude as i128).checked_neg()?;
        return Some(Value::from(i64::try_from(n).ok()?));
    }
    let n = if magnitude == 1 << 127 {
        i128::MIN
    } else {
        i128::try_from(magnitude).ok()?.checked_neg()?
    };
    Some(Value::Number(Number::from_i128(n)?))
}

/// A float: finite decimal notation, or `.inf`, `-.inf`, `.nan` (in their three spellings).
fn float(raw: &str) -> Option<f64> {
    let unsigned = match raw.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => raw,
    };
    match (unsigned, raw) {
        (".inf" | ".Inf" | ".INF", _) => Some(f64::INFINITY),
        (_, "-.inf" | "-.Inf" | "-.INF") => Some(f64::NEG_INFINITY),
        (_, ".nan" | ".NaN" | ".NAN") => Some(f64::NAN),
        _ => unsigned.parse::<f64>().ok().filter(|f| f.is_finite()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What yaml_serde, through specbox's own visitor, makes of the same text.
    fn before(text: &str) -> Option<Value> {
        crate::spec::read::with_yaml_serde(text).ok()
    }

    #[test]
    fn scalars_are_typed_as_yaml_serde_typed_them() {
        let scalars = [
            "",
            "~",
            "null",
            "Null",
            "NULL",
            "nULL",
            "true",
            "True",
            "TRUE",
            "tRUE",
            "false",
            "no",
            "on",
            "off",
            "yes",
            "0",
            "-0",
            "+0",
            "7",
            "+7",
            "-7",
            "007",
            "-007",
            "0x1A",
            "-0x1A",
            "+0x1A",
            "0x",
            "0x+1",
            "0o17",
            "-0o17",
            "0b101",
            "-0b101",
            "0b2",
            "1_000",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "170141183460469231731687303715884105727",
            "-170141183460469231731687303715884105728",
            "340282366920938463463374607431768211455",
            "340282366920938463463374607431768211456",
            "-170141183460469231731687303715884105729",
            "0.5",
            ".5",
            "-.5",
            "+.5",
            "5.",
            "1e3",
            "1E+2",
            "-1e-3",
            "1e400",
            "-1e400",
            ".inf",
            "+.inf",
            ".Inf",
            ".INF",
            "-.inf",
            "-.Inf",
            ".nan",
            ".NaN",
            ".NAN",
            "-.nan",
            "inf",
            "nan",
            "infinity",
            "++1",
            "+-1",
            "--1",
            "1.2.3",
            "2024-01-01",
            "12:30",
            "0.1.2",
            "1e",
            "e1",
            "0e0",
            "00.5",
            "-",
            "+",
            ".",
            "abc",
            "a b",
        ];
        for s in scalars {
            // (An empty key, `: v`, is refused by yaml_serde and read as `null` here, as YAML 1.2
            // reads it.)
            let key = (!s.is_empty()).then(|| format!("{s}: v"));
            for text in [format!("v: {s}"), format!("v: '{s}'"), format!("v: !!str {s}")]
                .into_iter()
                .chain(key)
            {
                assert_eq!(parse(&text).ok(), before(&text), "{text}");
            }
        }
        for text in [
            "v: !!int '12'",
            "v: !!int x",
            "v: !!float '1.5'",
            "v: !!float x",
            "v: !!bool 'true'",
            "v: !!bool x",
            "v: !!null ''",
            "v: !!null x",
            "v: !foo 12",
            "v: !foo '12'",
            "v: ! 12",
            "v: !foo {a: 1}",
            "v: !!binary aGk=",
            "v: !!map {a: 1}",
            "v: !!seq [1]",
        ] {
            assert_eq!(parse(text).ok(), before(text), "{text}");
        }
    }

    #[test]
    fn documents_read_as_they_did() {
        let texts = [
            "",
            "# only a comment\n",
            "a: 1\nb: [x, {c: d}]\n",
            "- 1\n- - 2\n  - 3\n",
            "base: &b {x: 1, y: 2}\nuse: *b\nmerged: {<<: *b, y: 3}\n",
            "s: &s text\nt: *s\n*s : key\n",
            "block: |\n  one\n  two\n",
            "block: |\n  one\n  two",
            "folded: >\n  one\n  two\n\n",
            "keep: |+\n  one\n\n",
            "strip: |-\n  one\n",
            "list: [a, 'b', \"c\\n\"]\n",
            "? complex\n: value\n",
            "%YAML 1.2\n---\na: 1\n...\n",
            "---\na: 1\n",
            "\"quoted key\": 1\n'single': 2\n",
            "1: one\n2.5: two\ntrue: three\n~: four\n0x10: five\n",
            "k: \u{e9}t\u{e9}\nemoji: \"\\u263A\"\n",
        ];
        for text in texts {
            assert_eq!(parse(text).ok(), before(text), "{text:?}");
        }
        let many: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        assert_eq!(parse(&many).ok(), before(&many));
        for text in [
            "keep: |+\n  one",
            "folded: >\n  one",
            "a:\n  b: |\n    x",
            "a: [|\n",
            "a: 'x",
            // The last line is blanks, or the text ends in a carriage return: the scalar's own
            // line break stays.
            "a:\n  b: |\n    x\n  ",
            "a: >\n  x\n ",
            "- |\n  x\r",
            "a: |\n  x\r\n ",
            "a: |+\n  x\n\n ",
            // Anchored and aliased scalars as keys, and tags written out in full.
            "&a 1e3: v",
            "&a 1e-7: v",
            "&a .inf: v",
            "&a .nan: v",
            "x: &a 1e3\n*a : v",
            "v: !<tag:yaml.org,2002:int> 12",
            "v: !<tag:yaml.org,2002:bool> true",
            "v: !<tag:yaml.org,2002:int> x",
        ] {
            assert_eq!(parse(text).ok(), before(text), "{text:?}");
        }
        // NEL, LS, PS and a byte order mark after the start are left to yaml_serde, which reads
        // them as YAML 1.1 does.
        for text in [
            "description: Loading\u{85} please wait\n",
            "a: \"x\u{2028}  y\"\n",
            "a: x\u{2029}\n",
            "a: x\u{feff}\n",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
            assert_eq!(
                crate::spec::read::parse_text(std::path::Path::new("t.yaml"), text).ok(),
                before(text),
                "{text:?}"
            );
        }
        assert!(parse("\u{feff}a: 1\n").is_ok());
    }

    /// Every YAML file of the repository's specs, fixtures and corpus (3,000 files, most of them
    /// one published spec's), and of the directories in `SPECBOX_YAML_DIRS`, reads as it did.
    #[test]
    fn every_yaml_file_here_reads_as_it_did() {
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    files(&path, out);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs: Vec<std::path::PathBuf> = ["specs", "fixtures", "tests"].iter().map(|d| root.join(d)).collect();
        dirs.extend(
            std::env::var("SPECBOX_YAML_DIRS")
                .iter()
                .flat_map(|v| v.split(':').map(Into::into)),
        );
        let mut all = Vec::new();
        for dir in &dirs {
            files(dir, &mut all);
        }
        assert!(all.len() > 2000, "{}", all.len());
        // A file this reader refuses is read by yaml_serde (`read::parse_text`): only a few may be.
        let (mut differ, mut refused) = (Vec::new(), 0);
        for path in &all {
            let text = std::fs::read_to_string(path).unwrap();
            match parse(&text) {
                Ok(value) if Some(&value) != before(&text).as_ref() => differ.push(path.display().to_string()),
                Ok(_) => {}
                Err(_) => refused += 1,
            }
        }
        assert!(refused * 100 < all.len(), "{refused} of {} files refused", all.len());
        assert!(
            differ.is_empty(),
            "{} of {} files differ: {differ:?}",
            differ.len(),
            all.len()
        );
    }

    #[test]
    fn what_yaml_serde_refused_is_refused() {
        for text in [
            "a: 1\na: 2\n",
            "a: [1\n",
            "a: *nothing\n",
            "a: 1\n---\nb: 2\n",
            "{[1]: x}\n",
            "a: !!int x\n",
        ] {
            assert!(before(text).is_none(), "yaml_serde read {text:?}");
            assert!(parse(text).is_err(), "{text:?}");
        }
        let many: String = (0..40).map(|i| format!("k{}: {i}\n", i % 30)).collect();
        let e = parse(&many).unwrap_err();
        assert!(e.message.contains("duplicate key \"k0\""), "{}", e.message);
        assert_eq!(e.line, 31);
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(parse(&deep).unwrap_err().message.contains("128 levels"));
        let ok_depth = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&ok_depth).is_ok());
        // A billion laughs: each level names the one before ten times.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&bomb).unwrap_err().message.contains("too large"));
        // Aliases count towards the depth: each level nests the one before 127 deep.
        let mut deep = String::from("a0: &a0 1\n");
        for i in 1..40 {
            let p = i - 1;
            deep.push_str(&format!("a{i}: &a{i} {}*a{p}{}\n", "[".repeat(127), "]".repeat(127)));
        }
        assert!(parse(&deep).unwrap_err().message.contains("128 levels"));
        assert!(before(&deep).is_none());
        // Anchored values are copied for their aliases, within the same bound: anchors nested
        // 120 deep around 20,000 items (no alias needs them; a `*` in the text is enough).
        let nested = format!(
            "x: '*'\nv: {}[{}]{}\n",
            (0..120).map(|i| format!("&a{i} [")).collect::<String>(),
            vec!["1"; 20_000].join(", "),
            "]".repeat(120)
        );
        let refused = parse(&nested).err().map(|e| e.message);
        assert!(
            refused.as_deref().is_some_and(|m| m.contains("too large")),
            "{refused:?}"
        );
        let read = crate::spec::read::parse_text(std::path::Path::new("t.yaml"), &nested).ok();
        assert!(read.is_some() && read == before(&nested));
    }
}
