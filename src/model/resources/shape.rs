//! How a response schema shapes a stored object: which properties are kept, in which order, with
//! which defaults, and how an object is written as JSON text without a second serialisation.

use crate::model::generate;
use crate::model::operation::properties;
use crate::model::resources::plan::{Shape, ShapeProp};
use crate::spec::pointer::{Field, allows_null, lookup, resolve};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Writes one JSON value as serde_json would. A string that needs no escaping (nearly every
/// field of nearly every item) is copied as it is instead of going through serde's escaper byte
/// by byte, which was a third of writing an item.
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => write_str(out, s),
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        // An integer beyond 64 bits was read as the nearest float: it is written back as the
        // integer it stands for (`-4716917880499921600000000`, not `-4.7169178804999216e24`), so
        // it still reads as an integer where the schema says `type: integer`.
        Value::Number(n)
            if n.is_f64()
                && n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() >= 9.2e18 && f.abs() < 1e300) =>
        {
            let _ = std::io::Write::write_fmt(out, format_args!("{:.0}", n.as_f64().unwrap_or(0.0)));
        }
        _ => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
    }
}

/// `s` as a JSON string: copied as it is unless it has something to escape (most text has not,
/// and serde_json's escaper goes a byte at a time through a table).
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        let _ = serde_json::to_writer(&mut *out, s);
        return;
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Whether JSON text for `s` needs escapes (a control character, `"` or `\\`). Eight bytes at a
/// time: each lane of a word is tested at once with the usual carry tricks (a lane below 0x20;
/// a lane equal to a byte, as a zero lane of the XOR), since this scan is most of the cost of
/// writing a stored item.
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_lane = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut words = s.chunks_exact(8);
    for word in &mut words {
        let Ok(bytes) = <[u8; 8]>::try_from(word) else {
            return true;
        };
        let x = u64::from_le_bytes(bytes);
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        if control | zero_lane(x ^ (ONES * u64::from(b'"'))) | zero_lane(x ^ (ONES * u64::from(b'\\'))) != 0 {
            return true;
        }
    }
    words.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// `"key":` as JSON text.
fn json_key(key: &str) -> Vec<u8> {
    let mut out = serde_json::to_vec(key).unwrap_or_default();
    out.push(b':');
    out
}

impl Shape {
    /// A shape that sends objects as they are (a schema without declared properties).
    pub fn pass_through() -> Shape {
        Shape {
            keep_all: true,
            ..Shape::default()
        }
    }

    /// A shape with these declared properties (made from the schema at `pointer`, if any).
    pub fn declared(props: Vec<ShapeProp>, pointer: Option<String>) -> Shape {
        let index = Arc::new(props.iter().enumerate().map(|(i, p)| (p.name.clone(), i)).collect());
        let hides = props.iter().any(|p| p.hidden);
        Shape {
            props: props.into(),
            keep_all: false,
            pointer,
            index,
            envelope: None,
            beside: Vec::new(),
            hides,
            extras: Vec::new(),
        }
    }

    /// This shape, also sending the item's `extras` (see [`Shape::extras`]).
    pub fn showing(mut self, extras: Vec<String>) -> Shape {
        self.extras = extras;
        self
    }

    /// This shape, answering inside `{"<field>": ...}`, with `beside` after the item.
    pub fn wrapped(mut self, field: Option<String>, beside: Vec<(String, Value)>) -> Shape {
        self.envelope = field;
        self.beside = beside;
        self
    }

    /// Whether an item stored as `rep` text may be sent as it is through this shape.
    pub fn sends_stored(&self, rep: &Shape) -> bool {
        !self.hides
            && !rep.hides
            && (self.keep_all && rep.keep_all || self.pointer.is_some() && self.pointer == rep.pointer)
    }

    /// Writes `obj` as JSON text ordered as the schema orders it, with what a read would fill,
    /// and the fields the schema does not declare after the declared ones, in the order they
    /// came. Returns whether there were such extra fields.
    ///
    /// The text is written straight from `obj`: stored items are only ever read back as text,
    /// so building a reordered map first (a hash and an allocation per field) bought nothing.
    pub fn write_normalized(&self, obj: &Map<String, Value>, out: &mut Vec<u8>) -> bool {
        if self.keep_all {
            let _ = serde_json::to_writer(&mut *out, obj);
            return false;
        }
        // Each field's place among the declared ones. The scan starts after the previous
        // match, so an object already in schema order (a stored item) costs one comparison per
        // field; a body in another order costs at most one pass over the declared fields each.
        let mut slots: Vec<Option<&Value>> = vec![None; self.props.len()];
        let mut extra = false;
        let mut hint = 0;
        for (k, v) in obj {
            match self.position(k, hint) {
                Some(i) => {
                    if let Some(slot) = slots.get_mut(i) {
                        *slot = Some(v);
                    }
                    hint = i + 1;
                }
                None => extra = true,
            }
        }
        let mut first = true;
        let mut field = |out: &mut Vec<u8>, key: &[u8], v: &Value| {
            out.push(if first { b'{' } else { b',' });
            first = false;
            out.extend_from_slice(key);
            write_value(out, v);
        };
        for (p, slot) in self.props.iter().zip(&slots) {
            match (slot, &p.fill) {
                (Some(v), _) => field(out, &p.json_key, v),
                (None, _) if p.null_if_missing => field(out, &p.json_key, &Value::Null),
                (None, Some(fill)) => field(out, &p.json_key, fill),
                (None, None) => {}
            }
        }
        if extra {
            for (k, v) in obj {
                if self.position(k, 0).is_none() {
                    field(out, &json_key(k), v);
                }
            }
        }
        if first {
            out.push(b'{');
        }
        out.push(b'}');
        extra
    }

    /// The index of the declared field `name`; `hint`, where the next field in schema order
    /// would be, is tried first (an object already in schema order costs one comparison a field).
    fn position(&self, name: &str, hint: usize) -> Option<usize> {
        if self.props.get(hint).is_some_and(|p| p.name == name) {
            return Some(hint);
        }
        self.index.get(name).copied()
    }

    pub fn apply(&self, item: &Value) -> Value {
        let Some(obj) = item.as_object() else {
            return item.clone();
        };
        if self.keep_all {
            return item.clone();
        }
        let mut out = Map::with_capacity(self.props.len());
        for p in self.props.iter().filter(|p| !p.hidden) {
            match obj.get(&p.name) {
                Some(v) => {
                    out.insert(p.name.clone(), v.clone());
                }
                None if p.null_if_missing => {
                    out.insert(p.name.clone(), Value::Null);
                }
                None => {
                    if let Some(fill) = &p.fill {
                        out.insert(p.name.clone(), fill.clone());
                    }
                }
            }
        }
        for name in &self.extras {
            if let Some(v) = obj.get(name) {
                out.insert(name.clone(), v.clone());
            }
        }
        Value::Object(out)
    }
}

/// [`shape_for`], computed once per schema pointer of a spec: a resource's representation is
/// shaped for its reads, writes and lists alike, and each time the example generator runs for
/// every required field.
pub(super) struct Shapes<'a> {
    pub(super) root: &'a Value,
    pub(super) known: HashMap<String, Shape>,
}

impl Shapes<'_> {
    pub(super) fn get(&mut self, pointer: &str) -> Shape {
        if let Some(known) = self.known.get(pointer) {
            return known.clone();
        }
        let shape = shape_for(self.root, pointer);
        self.known.insert(pointer.to_string(), shape.clone());
        shape
    }
}

/// How a response schema shapes a stored object.
pub fn shape_for(root: &Value, pointer: &str) -> Shape {
    let schema = lookup(root, pointer).map(|s| resolve(root, s)).unwrap_or(&Value::Null);
    let props = properties(root, schema);
    if props.is_empty() {
        return Shape::pass_through();
    }
    let mut required: Vec<String> = required_of(root, schema);
    required.sort();
    required.dedup();
    let props = props
        .iter()
        .map(|(name, s)| {
            let is_required = required.contains(name);
            let nullable = allows_null(root, s);
            let mut prop = ShapeProp::new(
                name,
                nullable && is_required,
                (is_required && !nullable).then(|| generate::generate(s, root)),
            );
            prop.hidden = resolve(root, s).field("writeOnly") == Some(&Value::Bool(true));
            prop
        })
        // A field required but never declared (the spec forgot its `properties` entry): any
        // value is valid for it, and an answer without it is not.
        .chain(
            required
                .iter()
                .filter(|name| !props.contains_key(name))
                .map(|name| ShapeProp::new(name, false, Some(generate::generate(&Value::Object(Map::new()), root)))),
        )
        .collect();
    Shape::declared(props, Some(pointer.to_string()))
}

pub(super) fn required_of(root: &Value, schema: &Value) -> Vec<String> {
    let s = resolve(root, schema);
    let mut out: Vec<String> = s
        .field("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    for part in s.field("allOf").and_then(Value::as_array).into_iter().flatten() {
        out.extend(required_of(root, part));
    }
    out
}

impl ShapeProp {
    pub fn new(name: &str, null_if_missing: bool, fill: Option<Value>) -> ShapeProp {
        ShapeProp {
            name: name.to_string(),
            json_key: json_key(name).into_boxed_slice(),
            null_if_missing,
            fill,
            hidden: false,
        }
    }
}

/// Whether the schema declares type `t` (alone or in a type array).
pub fn type_has(schema: &Value, t: &str) -> bool {
    match schema.field("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(a)) => a.iter().any(|x| x == t),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape() -> Shape {
        let prop = ShapeProp::new;
        Shape::declared(
            vec![
                prop("id", false, None),
                prop("name", false, Some(json!("filled"))),
                prop("note", true, None),
                prop("email", false, None),
            ],
            Some("/components/schemas/Thing".into()),
        )
    }

    fn written(shape: &Shape, obj: Value) -> (String, bool) {
        let mut out = Vec::new();
        let extra = shape.write_normalized(obj.as_object().unwrap(), &mut out);
        (String::from_utf8(out).unwrap(), extra)
    }

    #[test]
    fn needs_escape_finds_every_byte_json_escapes_in_any_lane() {
        for len in 0..20 {
            let plain = "a".repeat(len);
            assert!(!needs_escape(plain.as_bytes()), "{plain:?}");
            for at in 0..len {
                for bad in [b'"', b'\\', 0x00, 0x01, 0x1f] {
                    let mut bytes = plain.clone().into_bytes();
                    bytes[at] = bad;
                    assert!(needs_escape(&bytes), "{bytes:?}");
                }
                // Near misses: the bytes around the special ones, and UTF-8 continuation bytes.
                for fine in [b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xff] {
                    let mut bytes = plain.clone().into_bytes();
                    bytes[at] = fine;
                    assert!(!needs_escape(&bytes), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn write_value_writes_what_serde_json_writes() {
        for v in [
            json!("plain"),
            json!(""),
            json!("quote \" and backslash \\"),
            json!("tab\tnewline\n\u{1} and \u{7f}"),
            json!("naïve – 東京 \u{2028}"),
            json!(null),
            json!(12.5),
            json!(-3),
            json!(true),
            json!(false),
            json!({"a": ["b", {"c": "d\"e"}]}),
        ] {
            let mut out = Vec::new();
            write_value(&mut out, &v);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&v).unwrap());
        }
    }

    #[test]
    fn write_normalized_orders_fills_and_keeps_extras_in_their_order() {
        let s = shape();
        // Out of order, with two undeclared fields: declared first (schema order), missing
        // required ones filled or null, then the extras as they came.
        let (text, extra) = written(&s, json!({"zeta": 1, "email": "a@b.c", "id": "x1", "alpha": [2]}));
        assert_eq!(
            text,
            r#"{"id":"x1","name":"filled","note":null,"email":"a@b.c","zeta":1,"alpha":[2]}"#
        );
        assert!(extra);
        // Already in order, nothing extra.
        let (text, extra) = written(&s, json!({"id": 7, "name": "n", "note": "t", "email": null}));
        assert_eq!(text, r#"{"id":7,"name":"n","note":"t","email":null}"#);
        assert!(!extra);
        // Keys that need escaping, and an empty result.
        let empty = Shape::declared(Vec::new(), None);
        assert_eq!(written(&empty, json!({})), ("{}".to_string(), false));
        assert_eq!(written(&empty, json!({"a\"b": 1})), (r#"{"a\"b":1}"#.to_string(), true));
        // A free-form schema keeps the object as it is.
        let (text, extra) = written(&Shape::pass_through(), json!({"b": 1, "a": 2}));
        assert_eq!((text.as_str(), extra), (r#"{"b":1,"a":2}"#, false));
    }
}
