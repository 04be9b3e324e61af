//! Reading OpenAPI documents: files, external `$ref`s, and the 3.0 → JSON Schema 2020-12 normalisation.
//!
//! The model is deliberately thin: a document stays a `serde_json::Value`, and this module offers
//! the few typed views the engine needs (operations, parameters, `$ref` resolution). Typed OpenAPI
//! crates were tried and rejected: `openapiv3` cannot read 3.1 (`type: [string, "null"]`, numeric
//! `exclusiveMinimum`) and silently drops keywords it does not know, and the 3.1-only crates cannot
//! read 3.0. Keeping the raw JSON means nothing in a spec is ever lost on the way to the validator.
//!
//! Loading produces one self-contained document per spec: every `$ref` to another file is copied
//! under `/x-specbox-bundled/<n>` and rewritten to a local pointer, and every local `$ref` is checked
//! to resolve. Everything downstream (the validator registry, the generator, the router) therefore
//! deals with a single document and local pointers only. Errors name the file and the JSON pointer.
//!
//! Owns: turning files into one JSON document per spec. May not touch: anything compiled (the
//! model), any request, any state. It is the lowest layer with `exchange`, so every other stage can
//! use its pointers and `$ref` helpers.

pub mod bundle;
pub mod error;
pub mod normalise;
pub mod overlay;
pub mod pointer;
pub mod read;
pub mod swagger2;

use crate::spec::bundle::Bundler;
use crate::spec::error::SpecError;
use crate::spec::normalise::normalise_30;
use crate::spec::read::read_value;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The OpenAPI major.minor line a document was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V30,
    V31,
}

/// A loaded, bundled and normalised OpenAPI document.
#[derive(Debug, Clone)]
pub struct SpecDoc {
    pub path: PathBuf,
    /// File stem, used to find the spec's fixtures (`fixtures/<name>/`) and in messages.
    pub name: String,
    pub version: Version,
    /// The document. Shared (not copied) with the schema registry that compiles validators
    /// against it: a copy of a large spec cost tens of milliseconds and as much memory again.
    pub root: Arc<Value>,
}

/// Loads one OpenAPI document: parse, check the version, bundle external `$ref`s, check local
/// `$ref`s, and normalise 3.0 schemas to 2020-12.
pub fn load(path: &Path) -> Result<SpecDoc, SpecError> {
    let root = read_value(path)?;
    let Some(obj) = root.as_object() else {
        return Err(SpecError::new(
            path,
            "",
            "an OpenAPI document must be a mapping at the top level",
        ));
    };
    if obj.contains_key("swagger") {
        return Err(SpecError::new(
            path,
            "/swagger",
            "Swagger 2.0 is not supported: convert the document to OpenAPI 3 (e.g. with swagger2openapi)",
        ));
    }
    let version = match obj.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0") => Version::V30,
        Some(v) if v.starts_with("3.1") || v.starts_with("3.2") => Version::V31,
        Some(v) => {
            return Err(SpecError::new(
                path,
                "/openapi",
                format!("unsupported OpenAPI version {v:?} (3.0.x and 3.1.x are)"),
            ));
        }
        None => {
            return Err(SpecError::new(path, "/openapi", "missing `openapi` version field"));
        }
    };
    if let Some(p) = obj.get("paths")
        && !p.is_object()
    {
        return Err(SpecError::new(path, "/paths", "`paths` must be a mapping"));
    }

    let mut bundler = Bundler::default();
    let mut root = bundler.bundle_root(path, root)?;
    if version == Version::V30 {
        normalise_30(&mut root);
    }
    Ok(SpecDoc {
        path: path.to_path_buf(),
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "spec".into()),
        version,
        root: Arc::new(root),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::pointer::{escape_pointer, lookup};

    #[test]
    fn lookup_reads_pointers_as_value_pointer_does() {
        let doc = serde_json::json!({
            "paths": {"/a/{id}": {"get": {"x": 1}}, "a~b": [10, 11, {"c": 3}]},
            "": {"empty": true},
            "01": "zero-one",
        });
        for p in [
            "",
            "/",
            "/paths",
            "/paths/~1a~1{id}/get/x",
            "/paths/a~0b/1",
            "/paths/a~0b/2/c",
            "/paths/a~0b/01",
            "/paths/a~0b/+1",
            "/paths/a~0b/3",
            "/paths/a~01b",
            "/01",
            "//empty",
            "paths",
            "/missing/x",
        ] {
            assert_eq!(lookup(&doc, p), doc.pointer(p), "{p}");
        }
    }

    #[test]
    fn escape_pointer_escapes_only_what_it_must() {
        assert_eq!(escape_pointer("plain"), "plain");
        assert_eq!(escape_pointer("/a~b/"), "~1a~0b~1");
    }

    #[test]
    fn bundling_keeps_local_refs_and_decodes_escaped_ones() {
        let path = Path::new("inline.yaml");
        let root: Value = serde_json::json!({
            "a": {"$ref": "#/components/schemas/A"},
            "b": {"$ref": "#/components/schemas/A%20B"},
            "c": {"example": {"$ref": "not checked"}},
            "components": {"schemas": {"A": {"type": "string"}, "A B": {"type": "integer"}}},
        });
        let bundled = Bundler::default().bundle_root(path, root.clone()).unwrap();
        let mut expected = root;
        expected["b"]["$ref"] = "#/components/schemas/A B".into();
        assert_eq!(bundled, expected);

        let broken = serde_json::json!({"x": [{"y~z": {"$ref": "#/nope"}}]});
        let err = Bundler::default().bundle_root(path, broken).unwrap_err();
        assert_eq!(err.pointer, "/x/0/y~0z/$ref");
    }
}
