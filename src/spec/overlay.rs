//! OpenAPI Overlay Specification 1.0.0: applying an overlay document to an OpenAPI document.
//!
//! specbox serves vendors' specs as published; whatever a sandbox needs changed (a description, an extra example, an
//! operation removed) is written as an overlay, so the vendor's file stays untouched and the change is repeatable
//! when the vendor publishes a new version.
//!
//! What the standard (<https://spec.openapis.org/overlay/v1.0.0>) says, and how it is applied here:
//! - The overlay has `overlay` (a `1.0.x` version), `info` (with `title` and `version`), an optional `extends`, and
//!   `actions`: a non-empty array. `extends` is accepted and ignored: which document an overlay applies to is the
//!   caller's decision.
//! - Actions are applied in order, each to the document as the previous ones left it.
//! - Each action's `target` is an RFC 9535 JSONPath query. `update` is merged into every node it selects: into an
//!   object, the update's properties are merged recursively (new ones added, existing ones merged); into an array, the
//!   update is appended. `remove: true` removes every selected node from the object or array that holds it, and
//!   makes `update` irrelevant.
//! - Targets must select objects or arrays, not primitives or nulls.
//!
//! Where the 1.0.0 text leaves room, the choices made are those its successor (1.1.0) wrote down as clarifications:
//! an array `update` on a selected array is concatenated to it (rather than appended as a single, nested element),
//! and during the recursive merge an array is concatenated to an array, an object merged into an object, a
//! primitive replaces a primitive, and any other pairing is an error. Two leniencies: a property that is `null` in
//! the document takes whatever the update gives it (a YAML key left empty, `components:`, reads as `null`); a `null`
//! in the update where the document has an object or array leaves it as it is, with a warning (the standard's own
//! "structured overlay" example has such empty keys).
//!
//! Applying is all or nothing: on any problem the document is left exactly as it was.

use std::collections::HashSet;

use serde_json::{Map, Value};
use serde_json_path::{JsonPath, PathElement};

use crate::spec::error::Problem;

/// Applies an Overlay 1.0.x document to `doc`.
///
/// Returns warnings (things that are allowed but probably not meant: a target that selects nothing, a field the
/// standard does not define) or, if the overlay is invalid or cannot be applied to this document, every problem
/// found, with JSON pointers into the overlay document (`/actions/3/target`).
///
/// # Errors
///
/// The overlay is not a valid Overlay 1.0.x document (version, `info`, `actions`, an action's fields, a `target`
/// that is not RFC 9535 JSONPath), or an action cannot be applied to this document (a target selecting a primitive,
/// the root selected for removal, an `update` incompatible with what it is merged into). On error `doc` is
/// unchanged.
pub fn apply(doc: &mut Value, overlay: &Value) -> Result<Vec<Problem>, Vec<Problem>> {
    let mut warnings = Vec::new();
    let actions = parse(overlay, &mut warnings)?;
    // Work on a copy so that an action failing half-way through cannot leave a half-applied document behind.
    let mut result = doc.clone();
    let mut problems = Vec::new();
    for action in &actions {
        action.apply(&mut result, &mut warnings, &mut problems);
    }
    if problems.is_empty() {
        *doc = result;
        Ok(warnings)
    } else {
        Err(problems)
    }
}

/// One validated action.
struct Action<'o> {
    index: usize,
    target: &'o str,
    path: JsonPath,
    description: Option<&'o str>,
    update: Option<&'o Value>,
    remove: bool,
}

/// One step of a normalized path, owned so that the document can be mutated while the steps are followed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Step {
    Key(String),
    Index(usize),
}

/// Validates the overlay document and parses every target, reporting all problems at once.
fn parse<'o>(overlay: &'o Value, warnings: &mut Vec<Problem>) -> Result<Vec<Action<'o>>, Vec<Problem>> {
    let Some(root) = overlay.as_object() else {
        return Err(vec![Problem::new("", "an Overlay document must be an object")]);
    };
    let mut problems = Vec::new();

    match root.get("overlay") {
        Some(Value::String(version)) if is_supported_version(version) => {}
        Some(Value::String(version)) => problems.push(Problem::new(
            "/overlay",
            format!("unsupported Overlay Specification version `{version}`: only 1.0.x is supported"),
        )),
        Some(other) => problems.push(Problem::new(
            "/overlay",
            format!(
                "`overlay` must be a string such as \"1.0.0\", not {} (quote the version in YAML)",
                kind(other)
            ),
        )),
        None => problems.push(Problem::new(
            "/overlay",
            "`overlay` is required: the Overlay Specification version, 1.0.x",
        )),
    }

    match root.get("info") {
        Some(Value::Object(info)) => {
            for field in ["title", "version"] {
                match info.get(field) {
                    Some(Value::String(_)) => {}
                    Some(other) => problems.push(Problem::new(
                        format!("/info/{field}"),
                        format!("`info.{field}` must be a string, not {}", kind(other)),
                    )),
                    None => problems.push(Problem::new(
                        format!("/info/{field}"),
                        format!("`info.{field}` is required"),
                    )),
                }
            }
            warn_unknown_fields(info, &["title", "version"], "info", "/info", warnings);
        }
        Some(other) => problems.push(Problem::new(
            "/info",
            format!("`info` must be an object, not {}", kind(other)),
        )),
        None => problems.push(Problem::new("/info", "`info` is required, with `title` and `version`")),
    }

    if let Some(extends) = root.get("extends").filter(|e| !e.is_string()) {
        problems.push(Problem::new(
            "/extends",
            format!("`extends` must be a URI reference string, not {}", kind(extends)),
        ));
    }
    warn_unknown_fields(
        root,
        &["overlay", "info", "extends", "actions"],
        "the overlay",
        "",
        warnings,
    );

    let mut actions = Vec::new();
    match root.get("actions") {
        Some(Value::Array(entries)) if entries.is_empty() => {
            problems.push(Problem::new("/actions", "`actions` must contain at least one action"));
        }
        Some(Value::Array(entries)) => {
            for (index, entry) in entries.iter().enumerate() {
                if let Some(action) = parse_action(index, entry, warnings, &mut problems) {
                    actions.push(action);
                }
            }
        }
        Some(other) => problems.push(Problem::new(
            "/actions",
            format!("`actions` must be an array, not {}", kind(other)),
        )),
        None => problems.push(Problem::new("/actions", "`actions` is required")),
    }

    if problems.is_empty() {
        Ok(actions)
    } else {
        Err(problems)
    }
}

/// `1.0.` followed by a patch number: the patch level only clarifies the text, it does not change the feature set.
fn is_supported_version(version: &str) -> bool {
    version
        .strip_prefix("1.0.")
        .is_some_and(|patch| !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_action<'o>(
    index: usize,
    entry: &'o Value,
    warnings: &mut Vec<Problem>,
    problems: &mut Vec<Problem>,
) -> Option<Action<'o>> {
    let pointer = format!("/actions/{index}");
    let Some(fields) = entry.as_object() else {
        problems.push(Problem::new(
            pointer,
            format!("action {index} must be an object, not {}", kind(entry)),
        ));
        return None;
    };
    let before = problems.len();

    let target = match fields.get("target") {
        Some(Value::String(target)) => Some(target.as_str()),
        Some(other) => {
            problems.push(Problem::new(
                format!("{pointer}/target"),
                format!(
                    "action {index}: `target` must be a JSONPath string, not {}",
                    kind(other)
                ),
            ));
            None
        }
        None => {
            problems.push(Problem::new(
                format!("{pointer}/target"),
                format!("action {index}: `target` is required"),
            ));
            None
        }
    };
    let path = target.and_then(|target| match JsonPath::parse(target) {
        Ok(path) => Some(path),
        Err(error) => {
            problems.push(Problem::new(
                format!("{pointer}/target"),
                format!("action {index}: `{target}` is not a valid RFC 9535 JSONPath query: {error}"),
            ));
            None
        }
    });

    let description = match fields.get("description") {
        Some(Value::String(description)) => Some(description.as_str()),
        Some(other) => {
            problems.push(Problem::new(
                format!("{pointer}/description"),
                format!("action {index}: `description` must be a string, not {}", kind(other)),
            ));
            None
        }
        None => None,
    };

    let remove = match fields.get("remove") {
        Some(Value::Bool(remove)) => *remove,
        Some(other) => {
            problems.push(Problem::new(
                format!("{pointer}/remove"),
                format!("action {index}: `remove` must be true or false, not {}", kind(other)),
            ));
            false
        }
        None => false,
    };
    let update = fields.get("update");
    // An action that changes nothing is a mistake (a misspelt `update`, or a 1.1 `copy`), not a no-op to allow.
    // A `remove` of the wrong type was reported above already.
    if update.is_none() {
        match fields.get("remove") {
            None => problems.push(Problem::new(
                pointer.clone(),
                format!("action {index} has neither `update` nor `remove: true`, so it would do nothing"),
            )),
            Some(Value::Bool(false)) => problems.push(Problem::new(
                pointer.clone(),
                format!("action {index} has `remove: false` and no `update`, so it would do nothing"),
            )),
            Some(_) => {}
        }
    }
    if remove && update.is_some() {
        warnings.push(Problem::new(
            format!("{pointer}/update"),
            format!("action {index}: `update` is ignored because `remove` is true"),
        ));
    }
    warn_unknown_fields(
        fields,
        &["target", "description", "update", "remove"],
        &format!("action {index}"),
        &pointer,
        warnings,
    );

    match (target, path) {
        (Some(target), Some(path)) if problems.len() == before => Some(Action {
            index,
            target,
            path,
            description,
            update: if remove { None } else { update },
            remove,
        }),
        _ => None,
    }
}

/// Fields outside the standard are ignored with a warning rather than rejected: the published JSON schema forbids
/// them, but an overlay written for a later version (an `info.description`) or with a typo should still say so
/// rather than fail a whole load. A misspelt `update` or `remove` is caught anyway: the action then does nothing,
/// which is a problem.
fn warn_unknown_fields(
    fields: &Map<String, Value>,
    known: &[&str],
    owner: &str,
    at: &str,
    warnings: &mut Vec<Problem>,
) {
    for key in fields.keys() {
        if !key.starts_with("x-") && !known.contains(&key.as_str()) {
            warnings.push(Problem::new(
                child_pointer(at, key),
                format!("{owner}: unknown field `{key}` is ignored"),
            ));
        }
    }
}

/// What a JSON value is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// RFC 6901 pointer to a place in the target document, for messages (empty for the root).
fn pointer_of(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|step| match step {
            Step::Key(key) => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            Step::Index(index) => format!("/{index}"),
        })
        .collect()
}

fn child_pointer(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn node<'d>(doc: &'d Value, steps: &[Step]) -> Option<&'d Value> {
    steps.iter().try_fold(doc, |value, step| match step {
        Step::Key(key) => value.as_object()?.get(key),
        Step::Index(index) => value.as_array()?.get(*index),
    })
}

fn node_mut<'d>(doc: &'d mut Value, steps: &[Step]) -> Option<&'d mut Value> {
    steps.iter().try_fold(doc, |value, step| match step {
        Step::Key(key) => value.as_object_mut()?.get_mut(key),
        Step::Index(index) => value.as_array_mut()?.get_mut(*index),
    })
}

/// A pointer as a message shows it: the empty pointer reads as what it means.
fn place(pointer: &str) -> &str {
    if pointer.is_empty() {
        "the document root"
    } else {
        pointer
    }
}

impl Action<'_> {
    /// How warnings and messages name the action: its position, and its description or target.
    fn label(&self) -> String {
        match self.description {
            Some(description) if !description.is_empty() => {
                format!("action {} ({description}, target `{}`)", self.index, self.target)
            }
            _ => format!("action {} (target `{}`)", self.index, self.target),
        }
    }

    /// The locations the target selects in `doc`, each once, in the order the query gives them. RFC 9535 allows
    /// the same node to be selected twice (`$['a','a']`); applying an update to it twice is never what is meant.
    fn locate(&self, doc: &Value) -> Vec<Vec<Step>> {
        let mut seen = HashSet::new();
        let mut locations = Vec::new();
        for located in self.path.query_located(doc).iter() {
            let steps: Vec<Step> = located
                .location()
                .iter()
                .map(|element| match element {
                    PathElement::Name(name) => Step::Key((*name).to_owned()),
                    PathElement::Index(index) => Step::Index(*index),
                })
                .collect();
            if seen.insert(steps.clone()) {
                locations.push(steps);
            }
        }
        locations
    }

    fn apply(&self, doc: &mut Value, warnings: &mut Vec<Problem>, problems: &mut Vec<Problem>) {
        let locations = self.locate(doc);
        if locations.is_empty() {
            warnings.push(Problem::new(
                format!("/actions/{}/target", self.index),
                format!("{}: the target selects nothing", self.label()),
            ));
            return;
        }
        let target_pointer = format!("/actions/{}/target", self.index);
        let mut valid = true;
        for steps in &locations {
            if let Some(value) = node(doc, steps).filter(|v| !v.is_object() && !v.is_array()) {
                problems.push(Problem::new(
                    target_pointer.clone(),
                    format!(
                        "{}: selects {} at {}, but Overlay 1.0 targets must select objects or arrays \
                         (to change a property, target the object that holds it)",
                        self.label(),
                        kind(value),
                        place(&pointer_of(steps))
                    ),
                ));
                valid = false;
            }
        }
        if !valid {
            return;
        }
        if self.remove {
            self.remove(doc, locations, problems);
        } else if let Some(update) = self.update {
            self.update(doc, &locations, update, warnings, problems);
        }
    }

    /// Removes every selected node. Removing an array element shifts the ones after it, so removals go from the
    /// last location to the first: higher indexes in an array before lower ones, and a node's descendants before
    /// the node itself.
    fn remove(&self, doc: &mut Value, mut locations: Vec<Vec<Step>>, problems: &mut Vec<Problem>) {
        if locations.iter().any(Vec::is_empty) {
            problems.push(Problem::new(
                format!("/actions/{}/target", self.index),
                format!("{}: the document root cannot be removed", self.label()),
            ));
            return;
        }
        locations.sort_unstable_by(|a, b| b.cmp(a));
        for steps in &locations {
            let Some((last, parent_steps)) = steps.split_last() else {
                continue;
            };
            match (node_mut(doc, parent_steps), last) {
                (Some(Value::Object(parent)), Step::Key(key)) => {
                    // shift_remove keeps the order of the remaining members; the document's order is the order
                    // specbox shows and serves.
                    parent.shift_remove(key);
                }
                (Some(Value::Array(parent)), Step::Index(index)) if *index < parent.len() => {
                    parent.remove(*index);
                }
                _ => {}
            }
        }
    }

    fn update(
        &self,
        doc: &mut Value,
        locations: &[Vec<Step>],
        update: &Value,
        warnings: &mut Vec<Problem>,
        problems: &mut Vec<Problem>,
    ) {
        let update_pointer = format!("/actions/{}/update", self.index);
        for steps in locations {
            let Some(target) = node_mut(doc, steps) else {
                continue;
            };
            match (target, update) {
                (Value::Object(target), Value::Object(update)) => {
                    let mut merge = Merge {
                        label: self.label(),
                        warnings: &mut *warnings,
                        problems: &mut *problems,
                    };
                    merge.object(target, update, &update_pointer, &pointer_of(steps));
                }
                (Value::Object(_), other) => problems.push(Problem::new(
                    update_pointer.clone(),
                    format!(
                        "{}: the target selects an object at {}, so `update` must be an object, not {}",
                        self.label(),
                        place(&pointer_of(steps)),
                        kind(other)
                    ),
                )),
                (Value::Array(items), Value::Array(more)) => items.extend(more.iter().cloned()),
                (Value::Array(items), entry) => items.push(entry.clone()),
                // Primitives were rejected before any change was made.
                _ => {}
            }
        }
    }
}

/// The recursive merge of an `update` object into a selected object.
struct Merge<'w> {
    label: String,
    warnings: &'w mut Vec<Problem>,
    problems: &'w mut Vec<Problem>,
}

impl Merge<'_> {
    fn object(&mut self, target: &mut Map<String, Value>, update: &Map<String, Value>, at: &str, doc_at: &str) {
        for (key, new) in update {
            let update_pointer = child_pointer(at, key);
            let doc_pointer = child_pointer(doc_at, key);
            let Some(existing) = target.get_mut(key) else {
                target.insert(key.clone(), new.clone());
                continue;
            };
            match (existing, new) {
                (Value::Object(existing), Value::Object(new)) => {
                    self.object(existing, new, &update_pointer, &doc_pointer);
                }
                (Value::Array(existing), Value::Array(new)) => existing.extend(new.iter().cloned()),
                (Value::Object(_) | Value::Array(_), Value::Null) => self.warnings.push(Problem::new(
                    update_pointer,
                    format!("{}: `null` leaves the value at {doc_pointer} unchanged", self.label),
                )),
                (existing @ Value::Null, new) => *existing = new.clone(),
                (existing, new) if !is_structured(existing) && !is_structured(new) => *existing = new.clone(),
                (existing, new) => self.problems.push(Problem::new(
                    update_pointer,
                    format!(
                        "{}: cannot merge {} into {} at {doc_pointer} (objects merge into objects, arrays are \
                         concatenated to arrays, primitives replace primitives)",
                        self.label,
                        kind(new),
                        kind(existing)
                    ),
                )),
            }
        }
    }
}

fn is_structured(value: &Value) -> bool {
    value.is_object() || value.is_array()
}

#[cfg(test)]
mod tests;
