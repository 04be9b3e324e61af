//! Reading one document as JSON: YAML or JSON text, `<<` merge keys applied, numbers of any size kept.
//!
//! Numbers: a document is a `serde_json::Value`, which holds an integer as `i64` or `u64` and anything
//! else as `f64` (the crate does not use serde_json's `arbitrary_precision`, which would make every
//! number in every request a string to parse again). An integer beyond 64 bits, such as the
//! `maximum: 18446744073709552000` of a published spec, is therefore kept as the nearest `f64`: the
//! value every JavaScript or Python-float reader of the spec sees too, and exact for the powers of
//! two such bounds usually are. A number too large for `f64` (JSON's `1e400`, YAML's `.inf`) becomes
//! the largest finite `f64` of its sign, and YAML's `.nan` becomes `null`: JSON has no infinity or
//! NaN, and a bound that large constrains nothing anyway. No valid number refuses a document. (In
//! YAML, `1e400` unquoted is a string to `yaml_serde`, which reads only finite floats as numbers.)
//!
//! YAML is read straight into JSON values by a visitor of our own rather than through
//! `yaml_serde::Value`, whose deserializer has no place for a 128-bit integer and fails the whole
//! document on one.

use crate::spec::error::SpecError;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;
use std::path::Path;

/// Parses a YAML or JSON file into JSON. YAML merge keys (`<<`) are applied.
pub fn read_value(path: &Path) -> Result<Value, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError::new(path, "", format!("cannot read file: {e}")))?;
    parse_text(path, &text)
}

/// Parses text as JSON when the file says so (or, without a YAML extension, the text looks like
/// JSON), else as YAML. `path` names the document in messages and, by its extension, the format.
pub fn parse_text(path: &Path, text: &str) -> Result<Value, SpecError> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
    let is_json = ext.as_deref() == Some("json")
        || (!matches!(ext.as_deref(), Some("yaml" | "yml")) && text.trim_start().starts_with('{'));
    if is_json {
        return parse_json(path, text);
    }
    let Json(mut value) = yaml_serde::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("line {} column {}", l.line(), l.column()))
            .unwrap_or_default();
        SpecError::new(path, at, format!("invalid YAML: {e}"))
    })?;
    apply_merges(&mut value);
    Ok(value)
}

/// JSON text to a value. serde_json refuses a number beyond `f64` (`1e400`), which is valid JSON: such
/// a number is rewritten in the text to the largest finite `f64` of its sign (see the module's note)
/// and the text parsed again.
fn parse_json(path: &Path, text: &str) -> Result<Value, SpecError> {
    let mut text = std::borrow::Cow::Borrowed(text);
    loop {
        let e = match serde_json::from_str(&text) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let clamped = e
            .to_string()
            .starts_with("number out of range")
            .then(|| clamp_number_at(&text, e.line(), e.column()))
            .flatten();
        match clamped {
            Some(t) => text = std::borrow::Cow::Owned(t),
            None => {
                return Err(SpecError::new(
                    path,
                    format!("line {} column {}", e.line(), e.column()),
                    format!("invalid JSON: {e}"),
                ));
            }
        }
    }
}

/// `text` with the number token around (1-based) `line` and `column` replaced by `±f64::MAX`.
fn clamp_number_at(text: &str, line: usize, column: usize) -> Option<String> {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let at = line_start + column.saturating_sub(1);
    let is_num = |b: &u8| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E');
    let bytes = text.as_bytes();
    let mut start = at.min(bytes.len());
    while start > 0 && bytes.get(start - 1).is_some_and(is_num) {
        start -= 1;
    }
    let mut end = start;
    while bytes.get(end).is_some_and(is_num) {
        end += 1;
    }
    let token = text.get(start..end).filter(|t| t.bytes().any(|b| b.is_ascii_digit()))?;
    let max = if token.starts_with('-') {
        "-1.7976931348623157e308"
    } else {
        "1.7976931348623157e308"
    };
    Some(format!("{}{max}{}", text.get(..start)?, text.get(end..)?))
}

/// A JSON value read from any serde format. Numbers of any size are accepted (see the module's
/// note), a YAML tag (`!something value`) is dropped for the value it tags, and mapping keys may be
/// numbers, booleans or null, as YAML allows and OpenAPI uses (`200:` becomes `"200"`).
struct Json(Value);

impl<'de> de::Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor).map(Json)
    }
}

/// The nearest JSON number to `f`: infinities become the largest finite `f64` of their sign.
fn float(f: f64) -> Value {
    let finite = if f == f64::INFINITY {
        f64::MAX
    } else if f == f64::NEG_INFINITY {
        f64::MIN
    } else {
        f
    };
    Number::from_f64(finite).map_or(Value::Null, Value::Number)
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or_else(|_| float(v as f64), Value::from))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(u64::try_from(v).map_or_else(|_| float(v as f64), Value::from))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Json(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(k)) = map.next_key()? {
            let Json(v) = map.next_value()?;
            if out.contains_key(&k) {
                return Err(de::Error::custom(format!("duplicate key {k:?}")));
            }
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
    /// A tagged YAML node (`!tag value`): the tag says nothing OpenAPI reads, so the value stands.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (_tag, variant) = data.variant::<de::IgnoredAny>()?;
        variant.newtype_variant_seed(JsonSeed)
    }
}

struct JsonSeed;

impl<'de> DeserializeSeed<'de> for JsonSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

/// A mapping key as JSON has it: text. YAML's scalar keys of other types are written as text.
struct Key(String);

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor).map(Key)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null mapping key")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok("null".to_string())
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Ok("null".to_string())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<String, A::Error> {
        let (_tag, variant) = data.variant::<de::IgnoredAny>()?;
        variant.newtype_variant_seed(KeySeed)
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

/// YAML merge keys: `<<: *base` (or a list of them) adds the keys of the merged mappings that the
/// mapping does not set itself; of several merged mappings, an earlier one wins. Innermost first,
/// so a merged mapping has had its own merges applied.
fn apply_merges(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                apply_merges(v);
            }
            let Some(merged) = map.shift_remove("<<") else {
                return;
            };
            let sources = match merged {
                Value::Array(list) => list,
                other => vec![other],
            };
            for source in sources {
                if let Value::Object(source) = source {
                    for (k, v) in source {
                        map.entry(k).or_insert(v);
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(apply_merges),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(text: &str) -> Value {
        parse_text(Path::new("t.yaml"), text).unwrap()
    }

    #[test]
    fn integers_beyond_64_bits_are_kept_as_the_nearest_float() {
        let v = yaml("maximum: 18446744073709552000\nminimum: -170141183460469231731687303715884105728\nn: 7");
        assert_eq!(v["maximum"].as_f64(), Some(18446744073709552000.0));
        assert_eq!(v["minimum"].as_f64(), Some(-1.7014118346046923e38));
        assert_eq!(v["n"], json!(7));
        let j = parse_text(
            Path::new("t.json"),
            r#"{"maximum": 18446744073709552000, "huge": 1e400}"#,
        )
        .unwrap();
        assert_eq!(j["maximum"].as_f64(), Some(18446744073709552000.0));
        assert_eq!(j["huge"].as_f64(), Some(f64::MAX));
        let y = yaml("a: .inf\nb: -.inf\nc: .nan");
        assert_eq!(y, json!({"a": f64::MAX, "b": f64::MIN, "c": null}));
    }

    #[test]
    fn keys_tags_merges_and_duplicates() {
        let v = yaml(
            "base: &b {x: 1, y: 2}\nother: &o {y: 3, z: 4}\nm:\n  <<: [*b, *o]\n  x: 0\n200: ok\ntrue: t\n~: n\ntagged: !custom {k: v}\n",
        );
        assert_eq!(v["m"], json!({"x": 0, "y": 2, "z": 4}));
        assert_eq!(v["200"], "ok");
        assert_eq!(v["true"], "t");
        assert_eq!(v["null"], "n");
        assert_eq!(v["tagged"], json!({"k": "v"}));
        let err = parse_text(Path::new("t.yaml"), "a: 1\na: 2\n").unwrap_err();
        assert!(err.message.contains("duplicate key"), "{err}");
        assert!(err.pointer.starts_with("line "), "{err}");
    }
}
