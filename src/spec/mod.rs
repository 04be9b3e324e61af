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
//! A document is loaded in this order: read (a file, or fetched from a URL: [`source`], [`fetch`],
//! [`read`]), overlays applied to it as the vendor published it ([`overlay`]), a Swagger 2.0 document
//! converted to OpenAPI 3.0 ([`swagger2`]), the files its `$ref`s reach parsed on every core
//! ([`prefetch`]), external `$ref`s bundled ([`bundle`], with each file of a
//! Swagger 2.0 spec converted by the converter's fragment half), `$ref`s that stand for a whole map or list replaced by
//! their target ([`inline`]), 3.0 schemas normalised ([`normalise`]), the prose and vendor
//! extensions nothing reads afterwards dropped ([`unread`], which also keeps files that only an
//! extension names from being read at all), copies of the same schema, parameter, header or response
//! made `$ref`s to the first ([`share`]). The document is built in a heap of its own, and what of it
//! is kept for as long as specbox serves is copied out of it once the model is built
//! (`model::keep`). Problems that leave something sensible to serve (a `$ref` to
//! nothing, an overlay action that selects nothing) are warnings, returned beside the document;
//! the caller decides whether they are fatal (`--strict`).
//!
//! Owns: turning files into one JSON document per spec. May not touch: anything compiled (the
//! model), any request, any state. It is the lowest layer with `exchange`, so every other stage can
//! use its pointers and `$ref` helpers.

pub mod bundle;
pub mod error;
pub mod fetch;
pub mod inline;
pub mod normalise;
pub mod overlay;
pub mod pointer;
pub mod prefetch;
pub mod read;
pub mod share;
pub mod source;
pub mod swagger2;
pub mod unread;
pub mod yaml;

use crate::spec::bundle::Bundler;
use crate::spec::error::SpecError;
use crate::spec::fetch::Fetcher;
use crate::spec::normalise::normalise_30;
use crate::spec::source::Source;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The OpenAPI major.minor line a document was written in (a converted Swagger 2.0 document is 3.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V30,
    V31,
    V32,
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
    /// The heap the document was built in (see [`crate::heap`]), until startup has replaced it
    /// with what requests read; `None` once it has, or where no heap could be made.
    pub heap: Option<Arc<crate::heap::Heap>>,
}

/// An overlay document to apply, and the file it came from (for messages).
#[derive(Debug, Clone)]
pub struct Overlay {
    pub file: PathBuf,
    pub doc: Value,
}

/// A loaded spec, what was worth a warning on the way, and where each bundled document came from.
#[derive(Debug)]
pub struct Loaded {
    pub doc: SpecDoc,
    /// Problems that left something sensible to serve, each with its file and pointer.
    pub warnings: Vec<SpecError>,
    /// The file or URL of each document bundled under `/x-specbox-bundled/<n>`, by `n`: a problem
    /// found later at such a pointer can then be reported in the file that holds it.
    pub bundled: Vec<PathBuf>,
}

/// Loads one OpenAPI document from a file. Warnings are dropped: callers that show them use [`load_source`].
pub fn load(path: &Path) -> Result<SpecDoc, SpecError> {
    load_source(&Source::File(path.to_path_buf()), &[])
        .map(|l| l.doc)
        .map_err(|mut e| e.swap_remove(0))
}

/// Loads one OpenAPI (or Swagger 2.0) document from a file or a URL: read, apply `overlays` in order,
/// convert Swagger 2.0, check the version, bundle external `$ref`s, check local ones, and normalise
/// 3.0 schemas to 2020-12.
pub fn load_source(source: &Source, overlays: &[&Overlay]) -> Result<Loaded, Vec<SpecError>> {
    // In a heap of its own: once the model is built, the document is replaced by the part that
    // requests read, and its memory can then go back to the system whole (see `crate::heap`).
    let Some(heap) = crate::heap::Heap::new() else {
        return load_in_heap(source, overlays, None);
    };
    let mut loaded = heap.fill(|| load_in_heap(source, overlays, Some(&heap)))?;
    loaded.doc.heap = Some(Arc::new(heap));
    Ok(loaded)
}

/// Loads the document, in `heap` if there is one (this thread fills it already; the threads that
/// parse files ahead fill it too).
fn load_in_heap(
    source: &Source,
    overlays: &[&Overlay],
    heap: Option<&crate::heap::Heap>,
) -> Result<Loaded, Vec<SpecError>> {
    let path = source.path();
    let mut fetcher: Option<Fetcher> = None;
    let mut root = source.read(&mut fetcher).map_err(|e| vec![e])?;
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for overlay in overlays {
        match overlay::apply(&mut root, &overlay.doc) {
            Ok(w) => warnings.extend(w.into_iter().map(|p| p.in_file(&overlay.file))),
            Err(problems) => errors.extend(problems.into_iter().map(|p| p.in_file(&overlay.file))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if !root.is_object() {
        return Err(vec![SpecError::new(
            &path,
            "",
            "an OpenAPI document must be a mapping at the top level",
        )]);
    }
    let swagger = swagger2::is_swagger2(&root);
    let mut bundler = Bundler::with_fetcher(fetcher);
    if swagger {
        bundler.pull_in_paths(source, &mut root).map_err(|e| vec![e])?;
        root = swagger2::convert(&root).map_err(|ps| ps.into_iter().map(|p| p.in_file(&path)).collect::<Vec<_>>())?;
    } else if let Some(v) = root.get("swagger") {
        return Err(vec![SpecError::new(
            &path,
            "/swagger",
            format!("unsupported Swagger version {v}: Swagger 2.0 and OpenAPI 3.0, 3.1 and 3.2 are"),
        )]);
    }
    let version = match root.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0") => Version::V30,
        Some(v) if v.starts_with("3.1") => Version::V31,
        Some(v) if v.starts_with("3.2") => Version::V32,
        Some(v) => {
            return Err(vec![SpecError::new(
                &path,
                "/openapi",
                format!("unsupported OpenAPI version {v:?} (3.0.x, 3.1.x, 3.2.x and Swagger 2.0 are)"),
            )]);
        }
        None => {
            return Err(vec![SpecError::new(
                &path,
                "/openapi",
                "missing `openapi` version field",
            )]);
        }
    };
    if let Some(p) = root.get("paths")
        && !p.is_object()
    {
        return Err(vec![SpecError::new(&path, "/paths", "`paths` must be a mapping")]);
    }

    if swagger {
        bundler.fragment = Some(swagger2::convert_fragment);
    }
    // The root's prose and vendor extensions go before its `$ref`s are followed (overlays, which
    // may select by them, are applied by now): a `$ref` inside an extension to a file that is not
    // published with the spec (`components/x-policy: {$ref: ../missing.yaml}`) is never read.
    // Those that a local `$ref` points into stay, and their `$ref`s are followed.
    let kept = unread::Kept::of(&root);
    unread::strip(&mut root, unread::Keys::Keywords, "", &kept);
    bundler.prefetched = prefetch::prefetch(source, &root, bundle::MAX_REF_FILE, heap);
    let mut root = bundler.bundle_root(source, root).map_err(|e| vec![e])?;
    warnings.append(&mut bundler.warnings);
    inline::inline_map_refs(&mut root);
    if version == Version::V30 {
        normalise_30(&mut root);
    }
    bundler.drop_unread(&mut root);
    let shared = share::share(&mut root);
    tracing::debug!(
        "{}: {shared} copies of a schema, parameter or response kept once",
        path.display()
    );
    Ok(Loaded {
        doc: SpecDoc {
            path,
            name: source.stem().unwrap_or_else(|| "spec".into()),
            version,
            root: Arc::new(root),
            heap: None,
        },
        warnings,
        bundled: bundler.sources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::pointer::{escape_pointer, lookup, lookup_mut};

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
            let (mut a, mut b) = (doc.clone(), doc.clone());
            assert_eq!(lookup_mut(&mut a, p), b.pointer_mut(p), "{p}");
        }
    }

    #[test]
    fn resolve_pointer_finds_properties_declared_through_all_of() {
        use crate::spec::pointer::resolve_pointer;
        let doc = serde_json::json!({
            "s": {"allOf": [{"properties": {"a": {"type": "string"}}}, {"$ref": "#/t"}]},
            "t": {"properties": {"b": {"type": "array", "items": {"$ref": "#/u"}}}},
            "u": {"type": "integer"},
        });
        let r = |p: &str| resolve_pointer(&doc, p.to_string());
        assert_eq!(r("/s/properties/a"), "/s/allOf/0/properties/a");
        assert_eq!(r("/s/properties/b/items"), "/u");
        assert_eq!(r("/s/properties/c"), "/s/properties/c");
        assert_eq!(r("/s/allOf/1"), "/t");
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
        let source = Source::File(path.to_path_buf());
        let bundled = Bundler::default().bundle_root(&source, root.clone()).unwrap();
        let mut expected = root;
        expected["b"]["$ref"] = "#/components/schemas/A B".into();
        assert_eq!(bundled, expected);

        let broken = serde_json::json!({"x": [{"y~z": {"$ref": "#/nope"}}]});
        let mut bundler = Bundler::default();
        let bundled = bundler.bundle_root(&source, broken).unwrap();
        assert_eq!(bundler.warnings.len(), 1);
        assert_eq!(bundler.warnings[0].pointer, "/x/0/y~0z/$ref");
        assert_eq!(bundled["x"][0]["y~z"]["$ref"], "#/x-specbox-unresolved");
        assert_eq!(bundled["x-specbox-unresolved"], serde_json::json!({}));
    }
}
