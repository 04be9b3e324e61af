//! How a list operation pages (cursor, page, offset), filters (a query parameter named like a
//! field, `_start`/`_end` ranges) and wraps its items (the envelope's fields), read from its
//! parameters and its response schema.

use crate::model::generate;
use crate::model::operation::{Operation, Props, any_shape_properties, properties};
use crate::model::resources::envelope::{collection_name, fold};
use crate::model::resources::plan::*;
use crate::model::resources::shape::{Shapes, required_of, type_has};
use crate::model::schema::Location;
use crate::spec::pointer::{Field, escape_pointer, lookup, resolve};
use serde_json::Value;

/// The pointer of a list response's item schema (the items of the array or of its array property).
pub(super) fn list_items_pointer(root: &Value, list_ptr: &str, name: &str) -> Option<String> {
    let list_ptr = crate::spec::pointer::resolve_pointer(root, list_ptr.to_string());
    let s = lookup(root, &list_ptr)?;
    if type_has(s, "array") || s.field("items").is_some() {
        return Some(crate::spec::pointer::resolve_pointer(root, format!("{list_ptr}/items")));
    }
    let field = items_field(root, s, None, name)?;
    let prop_ptr =
        crate::spec::pointer::resolve_pointer(root, format!("{list_ptr}/properties/{}", escape_pointer(&field)));
    Some(crate::spec::pointer::resolve_pointer(root, format!("{prop_ptr}/items")))
}

/// The array property of a list envelope: declared, else the one named like the collection
/// (`{"customers": [...], "errors": [...]}` on `/customers`), else `data`/`items`/`results`/...,
/// else the only array (arrays of errors or warnings aside).
pub(super) fn items_field(root: &Value, envelope: &Value, declared: Option<&str>, name: &str) -> Option<String> {
    if let Some(d) = declared {
        return Some(d.to_string());
    }
    let props = properties(root, envelope);
    let arrays: Vec<&String> = props
        .iter()
        .filter(|(_, v)| type_has(resolve(root, v), "array"))
        .map(|(k, _)| k)
        .collect();
    let own = collection_name(name);
    if let Some(named) = arrays.iter().find(|a| fold(a) == own) {
        return Some((*named).clone());
    }
    for name in [
        "data", "items", "results", "records", "entries", "list", "values", "content",
    ] {
        if arrays.iter().any(|a| *a == name) {
            return Some(name.to_string());
        }
    }
    let content: Vec<&String> = arrays
        .iter()
        .copied()
        .filter(|a| !matches!(a.as_str(), "errors" | "warnings" | "messages"))
        .collect();
    match (arrays.as_slice(), content.as_slice()) {
        ([only], _) | (_, [only]) => Some((*only).clone()),
        _ => None,
    }
}

/// Names of the parameter that pages forward from a cursor (or an item's key), and backward.
const AFTER_NAMES: &[&str] = &["after", "starting_after", "cursor", "page_token", "pageToken", "next"];
const BEFORE_NAMES: &[&str] = &["before", "ending_before"];

pub(super) fn list_plan(
    root: &Value,
    op: &Operation,
    res: &Resource,
    schema_ptr: Option<&str>,
    shapes: &mut Shapes<'_>,
) -> ListPlan {
    let ext = lookup(root, &op.pointer)
        .and_then(|o| o.field("x-specbox-pagination"))
        .cloned()
        .unwrap_or(Value::Null);
    let ext_str = |k: &str| ext.get(k).and_then(Value::as_str).map(str::to_string);
    let query: Vec<&str> = op
        .params
        .iter()
        .filter(|p| p.location == Location::Query)
        .map(|p| p.name.as_str())
        .collect();
    // Names compare across styles: `PageSize` is `page_size`, `PageToken` is `page_token`.
    let found = |n: &str| {
        let folded = fold(n);
        query.iter().find(|q| fold(q) == folded).map(|q| q.to_string())
    };
    let pick = |declared: Option<String>, names: &[&str]| declared.or_else(|| names.iter().find_map(|n| found(n)));

    let after_param = pick(ext_str("after"), AFTER_NAMES);
    let before_param = pick(ext_str("before"), BEFORE_NAMES);
    let page_param = pick(ext_str("page"), &["page", "page_number"]);
    let offset_param = pick(ext_str("offset"), &["offset", "skip"]);
    let limit_param = pick(
        ext_str("limit").or_else(|| ext_str("per_page")),
        if page_param.is_some() {
            &["per_page", "page_size", "pageSize", "limit", "size"]
        } else {
            &["limit", "per_page", "page_size", "pageSize", "size", "count"]
        },
    );
    let style = match ext_str("style").as_deref() {
        Some("cursor") => Style::Cursor,
        Some("page") => Style::Page,
        Some("offset") => Style::Offset,
        Some(_) => Style::First,
        None if after_param.is_some() || before_param.is_some() => Style::Cursor,
        None if page_param.is_some() => Style::Page,
        None if offset_param.is_some() => Style::Offset,
        None => Style::First,
    };
    let limit_schema = limit_param
        .as_ref()
        .and_then(|n| op.param(Location::Query, n))
        .and_then(|p| p.schema_pointer.as_ref())
        .and_then(|p| lookup(root, p))
        .map(|s| resolve(root, s));
    let default_limit = limit_schema
        .and_then(|s| s.field("default"))
        .and_then(Value::as_u64)
        .map_or(if limit_param.is_some() { 20 } else { usize::MAX }, |d| d as usize);
    let max_limit = limit_schema
        .and_then(|s| s.field("maximum"))
        .and_then(Value::as_u64)
        .map(|m| m as usize);

    let envelope_schema = schema_ptr
        .and_then(|p| lookup(root, p))
        .map(|s| resolve(root, s))
        .unwrap_or(&Value::Null);
    let bare = type_has(envelope_schema, "array");
    let items_field = if bare {
        None
    } else {
        items_field(root, envelope_schema, ext_str("items").as_deref(), &res.name)
    };
    let item_ptr = schema_ptr.and_then(|p| list_items_pointer(root, p, &res.name));
    let item_shape = item_ptr
        .as_deref()
        .or(res.schema_pointer.as_deref())
        .map(|p| shapes.get(p))
        .unwrap_or_else(Shape::pass_through);

    let mut envelope = Vec::new();
    let mut envelope_fill = Vec::new();
    let mut unfilled = Vec::new();
    let mut nested = Vec::new();
    let mut numeric_cursor = false;
    let mut keys_as_text = false;
    // Envelope fields the engine does not keep (`uri`, `first_page_uri`) answer as the spec's
    // example of this response shows them.
    let example = op
        .success()
        .and_then(|r| r.first_example(root))
        .and_then(Value::as_object);
    let paging_param = |name: &str| {
        [&limit_param, &after_param, &before_param, &page_param, &offset_param]
            .iter()
            .any(|p| p.as_deref() == Some(name))
            || AFTER_NAMES
                .iter()
                .chain(BEFORE_NAMES)
                .any(|n| *n != "next" && fold(n) == fold(name))
    };
    if !bare {
        let required = required_of(root, envelope_schema);
        let declared = properties(root, envelope_schema);
        for (name, s) in declared.iter() {
            if Some(name) == items_field.as_ref() {
                continue;
            }
            let resolved = resolve(root, s);
            // A paging name whose schema cannot hold what the page gives it (a `limit` that is
            // a string) answers as the example shows it.
            let field = env_field(name)
                .filter(|f| fits(*f, resolved))
                .filter(|f| counted(*f, limit_param.is_some()));
            numeric_cursor |= field.is_some_and(|f| numeric_cursor_at(f, resolved));
            keys_as_text |= matches!(field, Some(EnvField::FirstKey | EnvField::LastKey))
                && type_has(resolved, "string")
                && !type_has(resolved, "integer");
            if field.is_none()
                && let Some(n) = nested_envelope(root, name, resolved, example.and_then(|e| e.get(name)))
            {
                numeric_cursor |= n.1;
                nested.push(n.0);
                continue;
            }
            match field {
                Some(f) => {
                    envelope.push((name.clone(), f));
                    unfilled.extend(when_unfilled(root, name, s, example, &required));
                }
                None => envelope_fill.extend(shown_or_required(root, name, s, example, &required)),
            }
        }
        // Members the example shows and the schema does not declare (`"total": 25` and
        // `"more": false` beside a schema of the list alone), where the schema leaves other
        // members free: answered as the example shows them, a paging field by the page where
        // the example's value is of the type the page gives it.
        let written = schema_ptr.and_then(|p| lookup(root, p)).unwrap_or(&Value::Null);
        if let Some(example) = example.filter(|_| leaves_members_free(root, written, 0)) {
            for (name, v) in example {
                if declared.contains_key(name) || Some(name) == items_field.as_ref() {
                    continue;
                }
                // (An example's `null` stands for a value the page gives: `"offset": null`.)
                match env_field(name)
                    .filter(|f| v.is_null() || example_fits(*f, v))
                    .filter(|f| counted(*f, limit_param.is_some()))
                {
                    Some(f) => envelope.push((name.clone(), f)),
                    // A place in the example's own pages (`"after": "g3QAAAAC..."`, named like
                    // a paging parameter) is no place in this list's: a client sending it back
                    // would be refused. (`next`, often a link, is one only as a parameter.)
                    None if paging_param(name) || env_field(name).is_some_and(is_cursor) => {}
                    None => envelope_fill.push((name.clone(), v.clone())),
                }
            }
        }
    }

    let paging: Vec<Option<&String>> = vec![
        limit_param.as_ref(),
        after_param.as_ref(),
        before_param.as_ref(),
        page_param.as_ref(),
        offset_param.as_ref(),
    ];
    // The fields a filter may name: any shape's (an item that is one of several shapes, such as
    // a customer or a deleted customer, is filtered by the fields of whichever it is).
    let rep_props = res
        .schema_pointer
        .as_ref()
        .and_then(|p| lookup(root, p))
        .map(|s| any_shape_properties(root, s))
        .unwrap_or_default();
    let mut filters = Vec::new();
    for p in op.params.iter().filter(|p| p.location == Location::Query) {
        if paging.contains(&Some(&p.name)) {
            continue;
        }
        let ext = p.raw(root).field("x-specbox-filter");
        if ext == Some(&Value::Bool(false)) {
            continue;
        }
        let ext_kind = ext
            .and_then(|e| e.field("match"))
            .and_then(Value::as_str)
            .map(|m| match m {
                "contains" => MatchKind::Contains,
                "prefix" => MatchKind::Prefix,
                "gte" => MatchKind::Gte,
                "lte" => MatchKind::Lte,
                _ => MatchKind::Exact,
            });
        let ci = ext
            .and_then(|e| e.field("case_insensitive"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let ext_field = ext
            .and_then(|e| e.field("field"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let (field, kind) = if let Some(f) = ext_field {
            (f, ext_kind.unwrap_or(MatchKind::Exact))
        } else if rep_props.contains_key(&p.name) {
            (p.name.clone(), ext_kind.unwrap_or(MatchKind::Exact))
        } else if let Some((f, k)) = range_filter(&p.name, &rep_props) {
            (f, ext_kind.unwrap_or(k))
        } else if ext.is_some() {
            (p.name.clone(), ext_kind.unwrap_or(MatchKind::Exact))
        } else {
            continue;
        };
        filters.push(Filter {
            param: p.name.clone(),
            field,
            kind,
            case_insensitive: ci,
        });
    }

    ListPlan {
        style,
        items_field,
        limit_param,
        after_param,
        before_param,
        page_param,
        offset_param,
        default_limit,
        max_limit,
        envelope,
        numeric_cursor,
        keys_as_text,
        envelope_fill,
        unfilled,
        nested,
        filters,
        item_shape,
    }
}

/// The paging field an envelope property's name says it is.
fn env_field(name: &str) -> Option<EnvField> {
    Some(match name {
        "start_cursor" | "startCursor" | "prev_cursor" | "previous_cursor" | "before_cursor" => EnvField::StartCursor,
        "end_cursor" | "endCursor" | "next_cursor" | "nextCursor" | "after_cursor" | "next_page_token"
        | "nextPageToken" | "cursor" => EnvField::EndCursor,
        "first_id" | "firstId" => EnvField::FirstKey,
        "last_id" | "lastId" => EnvField::LastKey,
        "has_next_page" | "hasNextPage" | "has_next" => EnvField::HasNext,
        "has_previous_page" | "hasPreviousPage" | "has_prev" | "has_previous" => EnvField::HasPrevious,
        "has_more" | "hasMore" | "more" => EnvField::HasMore,
        "page" | "page_number" | "current_page" => EnvField::Page,
        "per_page" | "page_size" | "pageSize" | "perPage" => EnvField::PerPage,
        "total_count" | "total" | "totalCount" | "count" | "total_items" | "totalItems" => EnvField::Total,
        "total_pages" | "totalPages" | "pages" => EnvField::TotalPages,
        "offset" | "skip" => EnvField::Offset,
        "limit" => EnvField::Limit,
        _ => return None,
    })
}

/// Whether `f` is a cursor whose schema (resolved) makes it a number: the slot itself, not text.
fn numeric_cursor_at(f: EnvField, s: &Value) -> bool {
    matches!(f, EnvField::StartCursor | EnvField::EndCursor) && (type_has(s, "integer") || type_has(s, "number"))
}

/// An envelope field the engine does not compute, as the example of the response shows it, else
/// generated where the envelope requires it; `None` to leave it out.
fn shown_or_required(
    root: &Value,
    name: &String,
    schema: &Value,
    example: Option<&serde_json::Map<String, Value>>,
    required: &[String],
) -> Option<(String, Value)> {
    match example.and_then(|e| e.get(name)) {
        Some(v) => Some((name.clone(), v.clone())),
        None if required.contains(name) => Some((name.clone(), generate::generate(schema, root))),
        None => None,
    }
}

/// Whether an object valid against `schema` may hold members it does not declare, whatever
/// their names and values: nothing closes or constrains them (`additionalProperties` or
/// `unevaluatedProperties` other than `true` or `{}`, `patternProperties`, `propertyNames`,
/// `maxProperties`), here, beside a `$ref` or where it leads, or in an `allOf` part, and no
/// `oneOf`, `anyOf`, `not` or `if` could.
pub(super) fn leaves_members_free(root: &Value, schema: &Value, depth: usize) -> bool {
    const MAX_DEPTH: usize = 8;
    let Some(map) = schema.as_object() else {
        return schema != &Value::Bool(false);
    };
    if depth >= MAX_DEPTH {
        return false;
    }
    let free = |v: Option<&Value>| match v {
        None | Some(Value::Bool(true)) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(_) => false,
    };
    let constrains = [
        "patternProperties",
        "propertyNames",
        "maxProperties",
        "oneOf",
        "anyOf",
        "not",
        "if",
        "dependentSchemas",
        "$dynamicRef",
        "$recursiveRef",
    ];
    let own = free(map.field("additionalProperties"))
        && free(map.field("unevaluatedProperties"))
        && !constrains.iter().any(|k| map.field(k).is_some())
        && map
            .field("allOf")
            .and_then(Value::as_array)
            .is_none_or(|parts| parts.iter().all(|p| leaves_members_free(root, p, depth + 1)));
    // The keywords beside a `$ref` (a 3.1 schema may close what it refers to) hold as well as
    // those where it leads.
    own && match map.field("$ref").and_then(Value::as_str) {
        None => true,
        Some(r) => r
            .strip_prefix('#')
            .and_then(|at| lookup(root, &crate::spec::pointer::percent_decode(at)))
            .is_some_and(|target| leaves_members_free(root, target, depth + 1)),
    }
}

/// Whether the page gives paging field `f` a value of its own: a page size only where a
/// parameter sets it (without one, every item is on the page, and its "limit" is no number a
/// client should see: the example's stands).
fn counted(f: EnvField, limit_param: bool) -> bool {
    limit_param || !matches!(f, EnvField::Limit | EnvField::PerPage)
}

/// Whether `f` names a place in a list (a cursor, or the key of an item at either end).
fn is_cursor(f: EnvField) -> bool {
    matches!(
        f,
        EnvField::StartCursor | EnvField::EndCursor | EnvField::FirstKey | EnvField::LastKey
    )
}

/// Whether the example's value of an undeclared paging field is of the type the page answers it
/// with (a count is a number, a flag a boolean, a cursor text).
fn example_fits(f: EnvField, v: &Value) -> bool {
    match f {
        EnvField::StartCursor | EnvField::EndCursor => v.is_string(),
        EnvField::FirstKey | EnvField::LastKey => v.is_string() || v.is_number(),
        EnvField::HasNext | EnvField::HasPrevious | EnvField::HasMore => v.is_boolean(),
        EnvField::Page
        | EnvField::PerPage
        | EnvField::Total
        | EnvField::TotalPages
        | EnvField::Offset
        | EnvField::Limit => v.is_u64(),
    }
}

/// What a paging field answers when the page gives it no value (the cursors and end keys of an
/// empty page): `null` where its schema allows it; else, where the envelope requires it, as the
/// example shows it or generated; else nothing (left out). An optional cursor is never the
/// example's: a client that pages until no cursor comes would send it back.
fn when_unfilled(
    root: &Value,
    name: &String,
    schema: &Value,
    example: Option<&serde_json::Map<String, Value>>,
    required: &[String],
) -> Option<(String, Value)> {
    let s = resolve(root, schema);
    if type_has(s, "null") || s.field("nullable") == Some(&Value::Bool(true)) {
        return Some((name.clone(), Value::Null));
    }
    if !required.contains(name) {
        return None;
    }
    shown_or_required(root, name, schema, example, required)
}

/// Whether a field's schema can hold what the engine answers for `f` (a count is a number, a flag
/// a boolean): `links.pages` holding links is no page count. A schema that names no type can.
fn fits(f: EnvField, s: &Value) -> bool {
    if s.field("type").is_none() {
        return true;
    }
    match f {
        EnvField::StartCursor | EnvField::EndCursor | EnvField::FirstKey | EnvField::LastKey => {
            type_has(s, "string") || type_has(s, "integer") || type_has(s, "number")
        }
        EnvField::HasNext | EnvField::HasPrevious | EnvField::HasMore => type_has(s, "boolean"),
        _ => type_has(s, "integer") || type_has(s, "number"),
    }
}

/// An envelope property `name` whose schema is an object with paging fields of its own (JSON:API's
/// `meta`, `pagination`, `page_info`), and whether its cursor is a number. Its other fields are
/// answered as the response's example shows them (`example` is the example's value of `name`),
/// else generated where required. `None`: no such object, or none of its fields pages.
fn nested_envelope(
    root: &Value,
    name: &str,
    schema: &Value,
    example: Option<&Value>,
) -> Option<(NestedEnvelope, bool)> {
    if !type_has(schema, "object") && schema.field("properties").is_none() {
        return None;
    }
    let required = required_of(root, schema);
    let (mut envelope, mut fill, mut numeric_cursor) = (Vec::new(), Vec::new(), false);
    let mut unfilled = Vec::new();
    for (field_name, s) in properties(root, schema) {
        match env_field(field_name).filter(|f| fits(*f, resolve(root, s))) {
            Some(f) => {
                numeric_cursor |= numeric_cursor_at(f, resolve(root, s));
                envelope.push((field_name.clone(), f));
                unfilled.extend(when_unfilled(
                    root,
                    field_name,
                    s,
                    example.and_then(Value::as_object),
                    &required,
                ));
            }
            None => fill.extend(shown_or_required(
                root,
                field_name,
                s,
                example.and_then(Value::as_object),
                &required,
            )),
        }
    }
    (!envelope.is_empty()).then(|| {
        let nested = NestedEnvelope {
            name: name.to_string(),
            envelope,
            fill,
            unfilled,
        };
        (nested, numeric_cursor)
    })
}

/// `created_at_start` → (`created_at`, Gte); `_end`/`_from`/`_to`/`_gte`/`_lte`/`_after`/`_before` likewise.
fn range_filter(name: &str, props: &Props<'_>) -> Option<(String, MatchKind)> {
    for (suffix, kind) in [
        ("_start", MatchKind::Gte),
        ("_from", MatchKind::Gte),
        ("_gte", MatchKind::Gte),
        ("_after", MatchKind::Gte),
        ("_end", MatchKind::Lte),
        ("_to", MatchKind::Lte),
        ("_lte", MatchKind::Lte),
        ("_before", MatchKind::Lte),
    ] {
        if let Some(field) = name.strip_suffix(suffix)
            && props.contains_key(field)
        {
            return Some((field.to_string(), kind));
        }
    }
    None
}
