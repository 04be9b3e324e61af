//! Reading one file as JSON: YAML or JSON text, `<<` merge keys applied, numbers of any size kept.

use crate::spec::error::SpecError;
use serde_json::{Map, Value};
use std::path::Path;

/// Parses a YAML or JSON file into JSON. YAML merge keys (`<<`) are applied.
pub fn read_value(path: &Path) -> Result<Value, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError::new(path, "", format!("cannot read file: {e}")))?;
    parse_text(path, &text)
}

/// Parses text as JSON when the file says so (or the text looks like it), else as YAML.
pub fn parse_text(path: &Path, text: &str) -> Result<Value, SpecError> {
    let is_json = path.extension().is_some_and(|e| e == "json")
        || (path.extension().is_none() && text.trim_start().starts_with('{'));
    if is_json {
        return serde_json::from_str(text).map_err(|e| {
            SpecError::new(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!("invalid JSON: {e}"),
            )
        });
    }
    let mut yaml: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("line {} column {}", l.line(), l.column()))
            .unwrap_or_default();
        SpecError::new(path, at, format!("invalid YAML: {e}"))
    })?;
    yaml.apply_merge()
        .map_err(|e| SpecError::new(path, "", format!("invalid YAML merge key: {e}")))?;
    yaml_to_json(yaml).map_err(|m| SpecError::new(path, "", m))
}

/// YAML allows keys that JSON does not (numbers, booleans); OpenAPI's `200:` must become `"200"`.
fn yaml_to_json(v: yaml_serde::Value) -> Result<Value, String> {
    use yaml_serde::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| format!("number {n} cannot be represented in JSON"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_string(),
                    other => return Err(format!("unsupported YAML mapping key: {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value)?,
    })
}
