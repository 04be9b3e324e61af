//! What of a document stays loaded once startup is done: the schemas and examples that requests
//! read, and nothing else.
//!
//! Startup reads the whole document: operations, parameters, responses and their wrappers are
//! compiled into the model, examples seed the store. Afterwards requests read only places the
//! model points at (a parameter's or a body's schema, a response's schema and examples, a
//! resource's schema, an error schema, a hook's schema) and whatever those reach through local
//! `$ref`s (the validator registry and the generator follow them). The rest, about half of a
//! published spec held as `serde_json::Value`, is dead weight for the life of the server.
//!
//! [`keep_what_requests_read`] therefore builds each document again with only those places, each
//! at the pointer it had (so every pointer the model holds still finds what it found), and hands
//! the new document to the spec, its schema compiler and its hooks. Objects along the way keep
//! their order; an array item that is not kept becomes `null`, so the indexes after it still
//! hold.
//!
//! A document is kept whole where a reference may lead somewhere a pointer cannot tell: an
//! `$id`, an anchor, a dynamic or recursive reference, or a `$ref` that is not local. The
//! registry resolves those through the resources it indexed, and a cut could lose one. It is
//! copied all the same: either way, what is kept is copied with every object at its size, out of
//! the heap the document was built in, whose pages then go back to the system whole.

use crate::model::Api;
use crate::model::operation::InDoc;
use crate::spec::pointer::{SCOPE_KEYWORDS, is_data, lookup, percent_decode, push_segment};
use crate::spec::read::{compact, compact_object};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

/// Sets of pointers, hashed without SipHash: every node along the way to a kept place is asked.
type Set<T> = HashSet<T, foldhash::fast::RandomState>;

/// Members a cut document keeps at its top: what says how its schemas are read.
const TOP: [&str; 3] = ["openapi", "jsonSchemaDialect", "$schema"];

/// Cuts every spec's document to what requests read (see the module's documentation).
pub fn keep_what_requests_read(api: &mut Api) {
    // A parameter's own object is read at startup only, and the cut document does not hold it.
    for p in api.ops.iter_mut().flat_map(|o| o.params.iter_mut()) {
        p.raw = InDoc::Nothing;
    }
    for spec in 0..api.specs.len() {
        cut_spec(api, spec);
        // The document's building is over: what is still live in its heap (the whole document,
        // where its registry could not take the copy) moves to the main heap, and the heap's
        // empty pages go.
        if let Some(s) = api.specs.get_mut(spec) {
            s.doc.heap = None;
        }
    }
}

fn cut_spec(api: &mut Api, spec: usize) {
    let Some(s) = api.specs.get(spec) else { return };
    let (places, data) = places(api, spec);
    let cut = cut(s.root(), &places, &data).unwrap_or_else(|| {
        tracing::debug!(
            "{}: the document is kept whole (it has references a pointer cannot follow)",
            s.doc.path.display()
        );
        // Copied all the same, out of the heap it was built in (see `spec::load_source`).
        compact(s.root())
    });
    let root = Arc::new(cut);
    if let Err(e) = s.compiler.rehome(&root) {
        // It indexed the whole document; it indexes a part of it the same way.
        tracing::debug!("{e}; the document is kept whole");
        return;
    }
    for hook in api.hooks.every() {
        if hook.spec == spec {
            hook.root.store(Arc::clone(&root));
        }
    }
    // The last reference to the whole document: it is freed here, and its heap's pages with it.
    if let Some(s) = api.specs.get_mut(spec) {
        s.doc.root = root;
    }
}

/// Every place of spec `spec`'s document that requests read through the model: those whose
/// `$ref`s count (schemas), and those that are literal data (examples). A parameter's own object
/// is read at startup only.
fn places(api: &Api, spec: usize) -> (Vec<&str>, Vec<&str>) {
    let mut out: Vec<&str> = Vec::new();
    let mut data: Vec<&str> = Vec::new();
    if let Some(s) = api.specs.get(spec) {
        out.extend(s.errors.common.as_deref());
        out.extend(s.errors.templates.keys().map(String::as_str));
    }
    for op in api.ops.iter().filter(|o| o.spec == spec) {
        for p in &op.params {
            out.extend(p.schema.as_ref().map(|s| s.pointer.as_str()));
            out.extend(p.schema_pointer.as_deref());
        }
        for m in op.body.iter().flat_map(|b| &b.media) {
            out.extend(m.schema.as_ref().map(|s| s.pointer.as_str()));
            out.extend(m.schema_pointer.as_deref());
        }
        for r in &op.responses {
            out.extend(r.schema_pointer.as_deref());
            data.extend(r.examples.iter().filter_map(|(_, e)| match e {
                InDoc::At(pointer) => Some(pointer.as_str()),
                _ => None,
            }));
            out.extend(r.validator_made().map(|s| s.pointer.as_str()));
        }
        // A write plan (made by a request, after the cut) reads the body's schemas, kept above,
        // and the representation's and the answer's, kept here and below, with their examples.
    }
    for r in api.resources.iter().filter(|r| r.spec == spec) {
        out.extend(r.schema_pointer.as_deref());
        out.extend(r.schema.as_ref().map(|s| s.pointer.as_str()));
    }
    for h in api.hooks.every().filter(|h| h.spec == spec) {
        out.extend(h.schema.as_ref().map(|s| s.pointer.as_str()));
    }
    (out, data)
}

/// `root` with only `places` and what their local `$ref`s reach, and `data` (values whose `$ref`
/// keys are data), each where it was; `None` where the document must stay whole (see the
/// module's documentation).
fn cut(root: &Value, places: &[&str], data: &[&str]) -> Option<Value> {
    let mut kept: Set<String> = data.iter().map(|p| p.to_string()).collect();
    let mut todo: Vec<String> = places.iter().map(|p| p.to_string()).collect();
    while let Some(pointer) = todo.pop() {
        if within(&kept, &pointer) {
            continue;
        }
        let Some(value) = lookup(root, &pointer) else {
            // A place that is not there (a dangling `$ref`, warned about at load) finds nothing
            // in the cut document either.
            continue;
        };
        if !follow(value, &mut todo) {
            return None;
        }
        kept.insert(pointer);
    }
    // Every strict ancestor of a kept place, to know where to go down while copying.
    let mut ancestors: Set<&str> = Set::default();
    for p in &kept {
        let mut end = p.len();
        while let Some(i) = p[..end].rfind('/') {
            if !ancestors.insert(&p[..i]) {
                break;
            }
            end = i;
        }
    }
    let Value::Object(top) = root else { return None };
    let mut members = Vec::new();
    let mut at = String::new();
    for (k, v) in top {
        push_segment(&mut at, k);
        if let Some(v) = copy(v, &mut at, &kept, &ancestors) {
            members.push((k.clone(), v));
        } else if TOP.contains(&k.as_str()) {
            members.push((k.clone(), compact(v)));
        }
        at.clear();
    }
    Some(compact_object(members))
}

/// Whether `pointer` is a kept place or lies below one.
fn within(kept: &Set<String>, pointer: &str) -> bool {
    let mut end = pointer.len();
    loop {
        if kept.contains(&pointer[..end]) {
            return true;
        }
        match pointer[..end].rfind('/') {
            Some(i) => end = i,
            None => return false,
        }
    }
}

/// Queues the target of every local `$ref` in `value` (not in literal data); `false` at a
/// reference that a pointer cannot follow.
fn follow(value: &Value, todo: &mut Vec<String>) -> bool {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match k.as_str() {
                    "$ref" => match v.as_str().and_then(|r| r.strip_prefix('#')) {
                        Some(fragment) => todo.push(percent_decode(fragment).into_owned()),
                        None if v.is_string() => return false,
                        // A property named `$ref`.
                        None => {
                            if !follow(v, todo) {
                                return false;
                            }
                        }
                    },
                    key if SCOPE_KEYWORDS.contains(&key) && (v.is_string() || v.is_boolean()) => {
                        return false;
                    }
                    _ if is_data(k, v) => {}
                    _ => {
                        if !follow(v, todo) {
                            return false;
                        }
                    }
                }
            }
            true
        }
        Value::Array(items) => items.iter().all(|v| follow(v, todo)),
        _ => true,
    }
}

/// `value` (at pointer `at`) as the cut document holds it: whole if it is kept, its kept parts
/// if some lie below it, else nothing.
fn copy(value: &Value, at: &mut String, kept: &Set<String>, ancestors: &Set<&str>) -> Option<Value> {
    if kept.contains(at.as_str()) {
        return Some(compact(value));
    }
    if !ancestors.contains(at.as_str()) {
        return None;
    }
    let mark = at.len();
    let out = match value {
        Value::Object(map) => {
            let mut members = Vec::new();
            for (k, v) in map {
                push_segment(at, k);
                if let Some(v) = copy(v, at, kept, ancestors) {
                    members.push((k.clone(), v));
                }
                at.truncate(mark);
            }
            compact_object(members)
        }
        Value::Array(items) => {
            let mut out: Vec<Value> = items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    at.push('/');
                    at.push_str(&i.to_string());
                    let item = copy(v, at, kept, ancestors).unwrap_or(Value::Null);
                    at.truncate(mark);
                    item
                })
                .collect();
            // Nothing kept past the last kept item.
            while out.last().is_some_and(Value::is_null) {
                out.pop();
            }
            out.shrink_to_fit();
            Value::Array(out)
        }
        _ => return None,
    };
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::resources::plan::Action;
    use serde_json::json;

    #[test]
    fn a_cut_keeps_the_places_and_what_they_reach_where_they_were() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t"},
            "paths": {"/a": {"get": {
                "operationId": "a",
                "parameters": [{"name": "x", "in": "query", "schema": {"type": "string"}},
                               {"name": "y", "in": "query", "schema": {"$ref": "#/components/schemas/Y"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/A"},
                    "example": {"id": "a_1"}}}}}
            }}},
            "components": {"schemas": {
                "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"},
                      "e": {"enum": [{"$ref": "#/components/schemas/Unused"}]}}},
                "B": {"type": "string"},
                "Y": {"type": "integer"},
                "Unused": {"type": "boolean"}
            }}
        });
        let places = [
            "/paths/~1a/get/parameters/1/schema",
            "/paths/~1a/get/responses/200/content/application~1json/schema",
        ];
        let data = ["/paths/~1a/get/responses/200/content/application~1json/example"];
        let cut = cut(&doc, &places, &data).expect("cut");
        for p in places.iter().chain(&data) {
            assert_eq!(lookup(&cut, p), lookup(&doc, p), "{p}");
        }
        for p in [
            "/components/schemas/A",
            "/components/schemas/B",
            "/components/schemas/Y",
            "/openapi",
        ] {
            assert_eq!(lookup(&cut, p), lookup(&doc, p), "{p}");
        }
        // What no place reaches is gone: the operation's own fields, the first parameter (a
        // `null` holds its index), a `$ref` inside an enum (data), the document's info.
        assert_eq!(lookup(&cut, "/paths/~1a/get/operationId"), None);
        assert_eq!(lookup(&cut, "/paths/~1a/get/parameters/0"), Some(&Value::Null));
        assert_eq!(lookup(&cut, "/paths/~1a/get/responses/200/description"), None);
        assert_eq!(lookup(&cut, "/components/schemas/Unused"), None);
        assert_eq!(lookup(&cut, "/info"), None);
    }

    #[test]
    fn a_document_whose_references_a_pointer_cannot_follow_is_kept_whole() {
        let with_id = json!({"a": {"$id": "https://x/a", "$ref": "#/b"}, "b": {}});
        assert!(cut(&with_id, &["/a"], &[]).is_none());
        let remote = json!({"a": {"$ref": "other.json#/b"}});
        assert!(cut(&remote, &["/a"], &[]).is_none());
        // ... but an `$id` that is a property's name, or data, is no identifier.
        let named = json!({"a": {"properties": {"$id": {"type": "string"}}, "example": {"$id": "x"}}});
        assert!(cut(&named, &["/a"], &[]).is_some());
        // An example is data, whatever it holds.
        let example = json!({"a": {"$ref": "https://elsewhere/x.json"}});
        assert!(cut(&example, &[], &["/a"]).is_some());
    }

    /// A spec of the shapes published specs have: parameters, bodies and responses that `$ref`
    /// components, named examples, an error schema, a resource, a webhook.
    const SHOP: &str = r##"
openapi: 3.1.0
info: {title: shop, version: "1"}
paths:
  /orders:
    get:
      operationId: listOrders
      tags: [orders]
      parameters: [{$ref: '#/components/parameters/Limit'}]
      responses:
        "200":
          description: a page
          content:
            application/json:
              schema: {type: object, properties: {data: {type: array, items: {$ref: '#/components/schemas/Order'}}}}
        "400": {$ref: '#/components/responses/Error'}
    post:
      operationId: createOrder
      requestBody:
        content:
          application/json: {schema: {$ref: '#/components/schemas/NewOrder'}}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Order'}
              examples:
                paid: {value: {id: ord_1, amount: 10, status: paid}}
        "400": {$ref: '#/components/responses/Error'}
  /orders/{id}:
    get:
      operationId: getOrder
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: an order
          content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}
        "404": {$ref: '#/components/responses/Error'}
webhooks:
  order.paid:
    post:
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/Event'}}}
      responses: {"200": {description: ok}}
components:
  parameters:
    Limit: {name: limit, in: query, schema: {type: integer, maximum: 100}, example: 10}
  responses:
    Error:
      description: an error
      content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
  schemas:
    NewOrder: {type: object, required: [amount], properties: {amount: {$ref: '#/components/schemas/Amount'}}}
    Order:
      type: object
      properties:
        id: {type: string, readOnly: true}
        amount: {$ref: '#/components/schemas/Amount'}
        status: {type: string, enum: [open, paid]}
    Amount: {type: integer, minimum: 1}
    Event: {type: object, properties: {type: {type: string}, data: {$ref: '#/components/schemas/Order'}}}
    Error: {type: object, properties: {message: {type: string}}}
    Unused: {type: boolean}
"##;

    /// Every place the model points at finds, in the cut document, what it found in the whole
    /// one; every local `$ref` there still resolves; and what requests do not read is gone.
    #[test]
    fn a_model_reads_the_same_from_the_cut_document() {
        let doc_of = || {
            let path = std::path::Path::new("shop.yaml");
            crate::spec::SpecDoc {
                path: path.to_path_buf(),
                name: "shop".into(),
                version: crate::spec::Version::V31,
                root: Arc::new(crate::spec::read::parse_text(path, SHOP).expect("parses")),
                heap: None,
            }
        };
        let mut api = Api::build(vec![doc_of()], &crate::model::BuildOptions::default()).expect("builds");
        assert!(!api.resources.is_empty() && !api.hooks.webhooks.is_empty());
        let whole = Arc::clone(&api.specs[0].doc.root);
        // A write's plan is made by its first request, after the cut: it is the plan the whole
        // document gives.
        let writes = |api: &Api| -> Vec<(String, Option<String>)> {
            api.ops
                .iter()
                .filter_map(|op| match &op.action {
                    Action::Create { res, write, .. } => {
                        let made = write.made().map(|w| format!("{w:?}"));
                        let res = &api.resources[*res];
                        Some((format!("{:?}", write.plan(&api.specs[0], op, res)), made))
                    }
                    _ => None,
                })
                .collect()
        };
        let planned = {
            let fresh = Api::build(vec![doc_of()], &Default::default());
            writes(&fresh.expect("builds"))
        };
        assert!(planned.iter().all(|(_, made)| made.is_none()), "made at startup");
        assert!(planned.iter().any(|(p, _)| p.contains("paid")), "{planned:?}");
        let (places, data) = places(&api, 0);
        let before: Vec<String> = places.iter().chain(&data).map(|p| p.to_string()).collect();
        keep_what_requests_read(&mut api);
        let after = Arc::clone(&api.specs[0].doc.root);
        assert!(!Arc::ptr_eq(&whole, &after), "cut");
        assert!(before.len() > 10, "{before:?}");
        for p in &before {
            assert_eq!(lookup(&after, p), lookup(&whole, p), "{p}");
        }
        let mut refs = Vec::new();
        assert!(follow(&after, &mut refs));
        for r in &refs {
            assert_eq!(lookup(&after, r).is_some(), lookup(&whole, r).is_some(), "$ref {r}");
        }
        for p in [
            "/components/schemas/Amount",
            "/components/schemas/Error",
            "/components/schemas/Event",
        ] {
            assert_eq!(lookup(&after, p), lookup(&whole, p), "{p}");
        }
        assert!(api.hooks.every().all(|h| Arc::ptr_eq(&h.root.load(), &after)));
        assert_eq!(writes(&api), planned);
        for gone in [
            "/info",
            "/paths/~1orders/get/operationId",
            "/paths/~1orders/get/tags",
            "/components/responses/Error/description",
            "/components/schemas/Unused",
        ] {
            assert_eq!(lookup(&after, gone), None, "{gone}");
        }
    }
}
