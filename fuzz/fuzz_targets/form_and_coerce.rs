//! Query strings and form bodies: `form_pairs` on any bytes, then every `Coerce` variant on the
//! decoded values (as a parameter of that type would see them). Nothing may panic, and the
//! result's shape must follow the variant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use specbox::exchange::parts::form_pairs;
use specbox::model::schema::{Coerce, parse_form};

fn variants() -> Vec<Coerce> {
    let scalars = [
        Coerce::String,
        Coerce::Integer,
        Coerce::Number,
        Coerce::Boolean,
        Coerce::Json,
    ];
    let mut all: Vec<Coerce> = scalars.to_vec();
    for s in scalars {
        all.push(Coerce::Array(Box::new(s.clone()), true));
        all.push(Coerce::Array(Box::new(s), false));
    }
    all.push(Coerce::Array(
        Box::new(Coerce::Array(Box::new(Coerce::Integer), false)),
        false,
    ));
    all
}

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> = form_pairs(data).collect();
    let values: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    for c in variants() {
        for raw in [&values[..], &keys[..]] {
            let v = c.apply(raw);
            match &c {
                Coerce::Array(..) => assert!(v.is_array(), "{c:?} gave {v}"),
                _ if raw.is_empty() => assert!(v.is_null(), "{c:?} of nothing gave {v}"),
                Coerce::String => assert!(v.is_string()),
                // Past 64 bits an integer is kept as a (whole) f64 number.
                Coerce::Integer => assert!(
                    v.is_i64() || v.is_u64() || v.is_string() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
                    "{c:?} of {raw:?} gave {v}"
                ),
                Coerce::Number => assert!(v.is_number() || v.is_string(), "{c:?} gave {v}"),
                Coerce::Boolean => assert!(v.is_boolean() || v.is_string(), "{c:?} gave {v}"),
                Coerce::Json => {}
            }
            // Whatever came out must serialise (a NaN would not).
            let _ = serde_json::to_string(&v).expect("coerced value serialises");
        }
    }
    // The form-body path, with and without a schema naming the fields' types.
    let root = serde_json::json!({});
    let schema = serde_json::json!({"type": "object", "properties": {
        "limit": {"type": "integer"}, "amount": {"type": "number"}, "flag": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}}, "meta": {"type": "object"},
        "ids": {"type": "array", "items": {"type": "integer"}}
    }});
    let a = parse_form(&root, None, data);
    let b = parse_form(&root, Some(&schema), data);
    assert!(matches!(a, Value::Object(_)) && matches!(b, Value::Object(_)));
});
