//! Swagger 2.0 → OpenAPI 3.0.3 conversion, done once when a document is loaded.
//!
//! specbox serves OpenAPI 3 documents. Rather than teach every part of the server a second dialect, a Swagger 2.0
//! document is rewritten, at load, into the OpenAPI 3.0.3 document that says the same thing; everything after the
//! loader only ever sees OpenAPI 3.
//!
//! The conversion is lenient wherever OpenAPI 3 is equally lenient: a field that is missing or wrong in the Swagger
//! document in a way that would be just as missing or wrong after conversion (a response without a description, a
//! query parameter without a name) is carried over as it is, so that the OpenAPI 3 loader tolerates or reports it
//! exactly as it would in a native OpenAPI 3 document. A [`Problem`] is returned only for what cannot be translated
//! at all: a parameter in an unknown location, two body parameters on one operation, a `#/parameters/...` reference
//! that leads nowhere, an unknown security scheme type.
//!
//! Documents split over several files are handled in two halves: [`convert`] rewrites references that leave the
//! document (`pet.yaml#/definitions/Pet` → `pet.yaml#/components/schemas/Pet`), and [`convert_fragment`] is applied by
//! the caller to each file such a reference leads to, so that the rewritten pointers resolve there too.

//!
//! Files: this one is the public API; [`convert`] converts a document's structure (paths, operations, components),
//! [`objects`] what operations are made of (parameters, bodies, responses, schemas, security), and [`common`] what
//! both and [`convert_fragment`] share (component names, `$ref` rewriting, media types).

mod common;
mod convert;
mod objects;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::spec::error::Problem;
use crate::spec::swagger2::common::{ComponentNames, Section, rewrite_refs_deep};
use crate::spec::swagger2::convert::Converter;

pub use crate::spec::swagger2::common::OPENAPI_VERSION;

/// Whether `doc` declares itself a Swagger 2.0 document.
///
/// `swagger: 2.0` written without quotes in YAML is read as a number, which is a common slip, so the number `2.0` is
/// accepted as well as the string the specification asks for.
#[must_use]
pub fn is_swagger2(doc: &Value) -> bool {
    match doc.get("swagger") {
        Some(Value::String(version)) => version == "2.0",
        Some(Value::Number(version)) => version.as_f64().is_some_and(|v| (v - 2.0).abs() < f64::EPSILON),
        _ => false,
    }
}

/// Converts a Swagger 2.0 document into an OpenAPI 3.0.3 document.
///
/// Every problem found is reported, not just the first, so that a spec author can fix them in one go.
///
/// # Errors
///
/// Every [`Problem`] that prevents a faithful conversion, with pointers into `doc`: `doc` is not a Swagger 2.0
/// object, a parameter has no or an unknown `in`, an operation has two body parameters or body and form parameters
/// together, an internal `#/parameters/...` reference leads nowhere, a form field has no name, a security definition
/// has an unknown type or oauth2 flow, or `paths`/`definitions`/`parameters`/`responses`/`securityDefinitions` or
/// one of their entries is not an object where one is required.
pub fn convert(doc: &Value) -> Result<Value, Vec<Problem>> {
    let Some(root) = doc.as_object() else {
        return Err(vec![Problem::new("", "a Swagger 2.0 document must be an object")]);
    };
    if !is_swagger2(doc) {
        return Err(vec![Problem::new(
            "/swagger",
            "not a Swagger 2.0 document: `swagger` must be \"2.0\"",
        )]);
    }
    let mut converter = Converter::new(doc, root);
    let out = converter.document();
    converter.finish(out)
}

/// Rewrites a file that a Swagger 2.0 document references (a "fragment": a schema, a parameter, or a file holding
/// `definitions`, `parameters` or `responses`) so that the references [`convert`] wrote into the main document, and
/// those within the file itself, resolve.
///
/// Every `$ref` in the file has its `#/definitions/`, `#/parameters/` and `#/responses/` part rewritten to
/// `#/components/schemas/`, `#/components/parameters/` and `#/components/responses/`. If the file has top-level
/// `definitions`, `parameters` or `responses`, their converted forms are added under `components` (the originals
/// are kept, with their references rewritten, for anything that still points at them).
///
/// What is *not* done: the file's root object is not itself converted, because its role (schema, parameter,
/// response, path item) depends on where it is referenced from, which only the caller knows. Problems in the
/// sections that are converted are skipped quietly: a fragment is converted to make references resolve, and its
/// errors will surface when the parts that are used are loaded.
#[must_use]
pub fn convert_fragment(doc: &Value) -> Value {
    let Some(root) = doc.as_object() else {
        return rewrite_refs_deep(doc, &ComponentNames::default(), false);
    };
    let names = ComponentNames::build(root);
    let mut out = rewrite_refs_deep(doc, &names, false);
    if !Section::ALL.iter().any(|section| root.contains_key(section.swagger())) {
        return out;
    }
    let mut converter = Converter::new(doc, root);
    let components = converter.components();
    let Some(out_root) = out.as_object_mut() else {
        return out;
    };
    match out_root.get_mut("components") {
        Some(Value::Object(existing)) => {
            for (section, entries) in components {
                match (existing.get_mut(&section), entries) {
                    (Some(Value::Object(into)), Value::Object(from)) => {
                        for (name, value) in from {
                            into.entry(name).or_insert(value);
                        }
                    }
                    (None, entries) => {
                        existing.insert(section, entries);
                    }
                    _ => {}
                }
            }
        }
        _ => {
            out_root.insert("components".to_owned(), Value::Object(components));
        }
    }
    out
}
