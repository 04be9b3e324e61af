//! Reading one document as JSON: YAML or JSON text, `<<` merge keys applied, numbers of any size kept.
//!
//! Numbers: the crate builds serde_json with `arbitrary_precision`, so a number is kept as the text
//! it was written as. An integer beyond 64 bits, such as the `maximum: 18446744073709552000` of a
//! published spec, or a 40-digit integer in an example, is therefore exact, and is written back as
//! it was read. A number too large for `f64` (JSON's `1e400`, YAML's `.inf`) becomes the largest
//! finite `f64` of its sign, and YAML's `.nan` becomes `null`: JSON has no infinity or NaN, a
//! schema's bound that large constrains nothing, and a validator compares bounds as `f64`. No valid
//! number refuses a document. (In YAML, `1e400` unquoted is a string to `yaml_serde`, which reads
//! only finite floats as numbers.)
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
    // saphyr-parser refuses a few layouts that libyaml reads (a quoted item of a flow sequence
    // whose `]` is back at its key's indentation): what it refuses is read as before, and a text
    // that neither reads is reported as before, by yaml_serde.
    let mut value = match crate::spec::yaml::parse(text) {
        Ok(value) => value,
        Err(_) => with_yaml_serde(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!("line {} column {}", l.line(), l.column()))
                .unwrap_or_default();
            SpecError::new(path, at, format!("invalid YAML: {e}"))
        })?,
    };
    apply_merges(&mut value);
    Ok(value)
}

/// YAML text to JSON through yaml_serde (libyaml's port), the reader specbox had before
/// [`crate::spec::yaml`], which its tests hold to what this one reads.
pub(crate) fn with_yaml_serde(text: &str) -> Result<Value, yaml_serde::Error> {
    yaml_serde::from_str::<Json>(text).map(|Json(v)| v)
}

/// JSON text to a value, with every number too large for `f64` (`1e400`) made the largest finite
/// `f64` of its sign (see the module's note).
fn parse_json(path: &Path, text: &str) -> Result<Value, SpecError> {
    json_exact(text).map_err(|e| {
        SpecError::new(
            path,
            format!("line {} column {}", e.line(), e.column()),
            format!("invalid JSON: {e}"),
        )
    })
}

/// `serde_json::from_str::<Value>`, with every object and array made at its final size, and
/// every number beyond `f64` clamped ([`clamped`]) as it is read.
///
/// serde_json grows a map or a list as it reads it, doubling its room, so a parsed document held
/// a third more memory than it needed (13 MB of a 44 MB parse of a 13 MB spec), and every growth
/// left the old block behind as garbage. Here the entries of the objects and arrays being read
/// wait on two stacks shared by the whole parse, and each object or array is made once, at its
/// size, when it ends. Values, numbers, duplicate keys (the last value wins, in the first one's
/// place) and errors are serde_json's own.
fn json_exact(text: &str) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Exact(&mut Stacks::default()).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// A copy of `value` with every object and array at its size, for what is kept for the life of the
/// server. `Value::clone` gives an object room for as many members as its hash table holds (three
/// for one): for a document of mostly small objects, a third more memory.
pub fn compact(value: &Value) -> Value {
    match value {
        Value::Object(map) => compact_object(map.iter().map(|(k, v)| (k.clone(), compact(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(compact).collect()),
        other => other.clone(),
    }
}

/// An object of `members`, at its size.
pub fn compact_object(members: Vec<(String, Value)>) -> Value {
    let mut map = serde_json::Map::with_capacity(members.len());
    map.extend(members);
    Value::Object(map)
}

/// The entries of the objects, and the items of the arrays, being read (see [`json_exact`]).
#[derive(Default)]
struct Stacks {
    entries: Vec<(String, Value)>,
    items: Vec<Value>,
}

struct Exact<'s>(&'s mut Stacks);

/// The key under which serde_json's deserializer presents a number (`serde_json::number::TOKEN`).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> DeserializeSeed<'de> for Exact<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Exact<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
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
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
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
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let start = self.0.items.len();
        while let Some(v) = seq.next_element_seed(Exact(&mut *self.0))? {
            self.0.items.push(v);
        }
        Ok(Value::Array(self.0.items.drain(start..).collect()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let start = self.0.entries.len();
        let mut first = true;
        while let Some(k) = map.next_key::<String>()? {
            // serde_json hands a number kept as text (`arbitrary_precision`) over as a map of
            // one entry under this key, whose value is the number's text.
            if std::mem::take(&mut first) && k == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                return serde_json::from_str(&text).map(clamped).map_err(de::Error::custom);
            }
            let v = map.next_value_seed(Exact(&mut *self.0))?;
            self.0.entries.push((k, v));
        }
        let mut out = Map::with_capacity(self.0.entries.len() - start);
        for (k, v) in self.0.entries.drain(start..) {
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// A number beyond `f64`'s range made the largest finite `f64` of its sign; any other value as it
/// is. An integer that fits no machine type but does fit `f64` (most do) is left exactly as written.
fn clamped(value: Value) -> Value {
    match &value {
        Value::Number(n) if n.as_f64().is_none() => {
            let negative = n.to_string().starts_with('-');
            float(if negative { f64::NEG_INFINITY } else { f64::INFINITY })
        }
        _ => value,
    }
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
        Ok(Number::from_i128(v).map_or_else(|| float(v as f64), Value::Number))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(Number::from_u128(v).map_or_else(|| float(v as f64), Value::Number))
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
        out.shrink_to_fit();
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = crate::spec::yaml::Members::default();
        while let Some(Key(k)) = map.next_key()? {
            let Json(v) = map.next_value()?;
            members
                .insert(k, v)
                .map_err(|k| de::Error::custom(format!("duplicate key {k:?}")))?;
        }
        Ok(members.into_object())
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
    fn json_is_read_as_serde_json_reads_it() {
        let texts = [
            r#"{"b": 1, "a": [1, -2, 3.5, 1e3, 18446744073709551615, 18446744073709551616, -9223372036854775808],
                "dup": 1, "c": {"x": [], "y": {}, "z": [[{"k": null}]]}, "dup": {"again": true},
                "s": "\u00e9\n\"q\"", "": false}"#,
            "[]",
            "  3  ",
            // (`1e400` is clamped as it is read: see `integers_beyond_64_bits_are_kept_exactly`.)
            r#"[123456789012345678901234567890, 0.1, -0.0, 1E+2]"#,
            r#""text""#,
        ];
        for text in texts {
            let exact = json_exact(text).unwrap();
            let serde: Value = serde_json::from_str(text).unwrap();
            assert_eq!(exact, serde, "{text}");
            assert_eq!(exact.to_string(), serde.to_string(), "key order of {text}");
        }
        for bad in ["{", r#"{"a": 1,}"#, "[1] 2", ""] {
            let exact = json_exact(bad).unwrap_err().to_string();
            let serde = serde_json::from_str::<Value>(bad).unwrap_err().to_string();
            assert_eq!(exact, serde, "{bad}");
        }
    }

    #[test]
    fn integers_beyond_64_bits_are_kept_exactly() {
        let v = yaml("maximum: 18446744073709552000\nminimum: -170141183460469231731687303715884105728\nn: 7");
        assert_eq!(v["maximum"].to_string(), "18446744073709552000");
        assert_eq!(v["minimum"].to_string(), "-170141183460469231731687303715884105728");
        assert_eq!(v["maximum"].as_f64(), Some(18446744073709552000.0));
        assert_eq!(v["n"], json!(7));
        let j = parse_text(
            Path::new("t.json"),
            r#"{"maximum": 18446744073709552000, "big": 123456789012345678901234567890, "huge": 1e400, "low": -1e999}"#,
        )
        .unwrap();
        assert_eq!(j["maximum"].as_f64(), Some(18446744073709552000.0));
        assert_eq!(j["big"].to_string(), "123456789012345678901234567890");
        assert_eq!(j["huge"].as_f64(), Some(f64::MAX));
        assert_eq!(j["low"].as_f64(), Some(f64::MIN));
        let y = yaml("a: .inf\nb: -.inf\nc: .nan");
        assert_eq!(y, json!({"a": f64::MAX, "b": f64::MIN, "c": null}));
    }

    /// A layout saphyr-parser refuses and libyaml reads: yaml_serde reads it.
    #[test]
    fn what_the_fast_reader_refuses_is_read_as_before() {
        let text = "jobs:\n  - build:\n      rust: [\n        'rust:1.48.0'\n      ]\n";
        assert!(crate::spec::yaml::parse(text).is_err());
        assert_eq!(yaml(text), json!({"jobs": [{"build": {"rust": ["rust:1.48.0"]}}]}));
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
        // Past 16 members a mapping is checked another way: in order, and a key given twice
        // across the change is still refused (yaml_serde reports it, at the mapping's line).
        let many: String = (0..20).map(|i| format!("k{i}: {i}\n")).collect();
        let keys: Vec<String> = yaml(&many).as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, (0..20).map(|i| format!("k{i}")).collect::<Vec<_>>());
        let err = parse_text(Path::new("t.yaml"), &format!("{many}k3: again\n")).unwrap_err();
        assert!(err.message.contains("duplicate key \"k3\""), "{err}");
        assert!(err.pointer.starts_with("line 1 "), "{err}");
    }
}
