//! Serving a list: a page found by rank in the collection's Fenwick index (never by scanning),
//! filters and ranges applied to each candidate, cursors (opaque ones this server issues, or an
//! item's key), and the envelope written around the page as JSON text.

use crate::exchange::Body;
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::resources::plan::{EnvField, Filter, ListPlan, MatchKind, Resource, Style};
use crate::model::resources::shape::{write_str, write_value};
use crate::model::schema::{Location, Violation};
use crate::pipeline::act::ctx::{Ctx, Outcome, key_of, resource, scope_for};
use crate::state::item::{Entry, render, unique_key};
use crate::state::store::{From, Page, PageQuery, Scope};
use base64::Engine;
use bytes::Bytes;
use serde_json::Value;

const CURSOR_PREFIX: &str = "sbx1:";

pub fn encode_cursor(slot: usize) -> String {
    // Two per list page: plain concatenation and one base64 pass, no formatting machinery.
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(slot);
    let mut text = Vec::with_capacity(CURSOR_PREFIX.len() + digits.len());
    text.extend_from_slice(CURSOR_PREFIX.as_bytes());
    text.extend_from_slice(digits.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

pub fn decode_cursor(raw: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.strip_prefix(CURSOR_PREFIX)?.parse().ok()
}

/// The slot of the item a cursor parameter `param` names by its `key`; a key that names no item
/// of the list is the client's mistake, named.
async fn slot_of_key(ctx: &Ctx<'_>, scope: &Scope<'_>, param: &str, key: String) -> Result<usize, ApiError> {
    match ctx.store.slot_of(ctx.tenant, scope, &key).await? {
        Some(slot) => Ok(slot),
        None => Err(ApiError::new(
            400,
            ErrorKind::InvalidCursor,
            format!("{param} is neither a cursor this server issued nor the key of an item of this list"),
        )
        .with_violations(vec![Violation {
            location: Location::Query,
            field: param.to_string(),
            pointer: String::new(),
            message: "no such cursor or item".into(),
        }])),
    }
}

/// The key of a stored item as [`key_of`] gives it, or as text.
fn key_as(r: &Resource, e: &Entry, as_text: bool) -> Option<Value> {
    Some(match key_of(r, e)? {
        Value::Number(n) if as_text => Value::String(n.to_string()),
        other => other,
    })
}

fn field_value<'v>(item: &'v Value, field: &str) -> Option<&'v Value> {
    if let Some(v) = item.get(field) {
        return Some(v);
    }
    field.split('.').try_fold(item, |v, seg| v.get(seg))
}

/// Whether `item` passes filter `f` for the value `wanted`; `range` is `wanted` read as a range
/// (see [`range_bounds`]), read once per request rather than once per item.
fn matches_filter(f: &Filter, wanted: &Value, range: Option<&[(&str, &Value)]>, item: &Value) -> bool {
    let Some(actual) = field_value(item, &f.field) else {
        return false;
    };
    // A range sent as an object (`when[gte]=1&when[lt]=9`, a `deepObject` parameter).
    if let Some(bounds) = range {
        return bounds.iter().all(|(op, bound)| {
            compare(actual, bound).is_some_and(|o| match *op {
                "gt" => o.is_gt(),
                "gte" => o.is_ge(),
                "lt" => o.is_lt(),
                _ => o.is_le(),
            })
        });
    }
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (a, w) = if f.case_insensitive {
        (as_text(actual).to_lowercase(), as_text(wanted).to_lowercase())
    } else {
        (as_text(actual), as_text(wanted))
    };
    match f.kind {
        MatchKind::Exact => a == w,
        MatchKind::Contains => a.contains(&w),
        MatchKind::Prefix => a.starts_with(&w),
        MatchKind::Gte => compare(actual, wanted).is_some_and(|o| o.is_ge()),
        MatchKind::Lte => compare(actual, wanted).is_some_and(|o| o.is_le()),
    }
}

/// The bounds of a range filter's value (`{"gte": 1, "lt": 9}`): an object of `gt`, `gte`, `lt`
/// and `lte` only. `None` for any other value.
fn range_bounds(wanted: &Value) -> Option<Vec<(&str, &Value)>> {
    let map = wanted.as_object().filter(|m| !m.is_empty())?;
    map.iter()
        .map(|(k, v)| matches!(k.as_str(), "gt" | "gte" | "lt" | "lte").then_some((k.as_str(), v)))
        .collect()
}

/// Orders numbers as numbers and timestamps as instants; other strings lexically.
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => match (parse_timestamp(x), parse_timestamp(y)) {
            (Some(tx), Some(ty)) => Some(tx.cmp(&ty)),
            _ => Some(x.as_str().cmp(y.as_str())),
        },
        (Value::Number(x), Value::String(y)) => x.as_f64()?.partial_cmp(&y.parse::<f64>().ok()?),
        _ => None,
    }
}

/// An RFC 3339 timestamp (any offset) or a plain date, as nanoseconds since the epoch.
/// `humantime` accepts only UTC (`Z`), and a filter such as `created_at_start=...-05:00` must
/// compare as the instant it names, not as text.
pub fn parse_timestamp(s: &str) -> Option<i128> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let mut nanos = i128::from(days) * 86_400_000_000_000;
    if b.len() == 10 {
        return Some(nanos);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    nanos += i128::from(h * 3600 + m * 60 + sec) * 1_000_000_000;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = b.get(start..i.min(start + 9))?;
        if frac.is_empty() {
            return None;
        }
        let digits: i128 = std::str::from_utf8(frac).ok()?.parse().ok()?;
        nanos += digits * 10i128.pow(9 - frac.len() as u32);
    }
    match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(nanos),
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b.get(i + 3) == Some(&b':') => {
            let offset = i128::from(num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60) * 1_000_000_000;
            Some(if *sign == b'+' { nanos - offset } else { nanos + offset })
        }
        _ => None,
    }
}

pub async fn list(ctx: &Ctx<'_>, res: usize, plan: &ListPlan, status: u16) -> Result<Outcome, ApiError> {
    let r = resource(ctx, res)?;
    let scope = scope_for(ctx, res)?;
    let q = |name: &str| ctx.req.query_param(name);
    // Integers beyond usize (JSON Schema sets no bound) saturate; negatives count as 0.
    let int = |name: &Option<String>| {
        let v = name.as_deref().and_then(q)?;
        v.as_u64()
            .map(|u| usize::try_from(u).unwrap_or(usize::MAX))
            .or_else(|| v.as_i64().map(|_| 0))
            .or_else(|| v.as_f64().map(|f| if f >= 1.0 { usize::MAX } else { 0 }))
    };
    // At least one item a page: an empty page that says "more" would loop a client forever.
    let mut limit = int(&plan.limit_param).unwrap_or(plan.default_limit).max(1);
    if let Some(max) = plan.max_limit {
        limit = limit.min(max);
    }
    // An empty filter value filters nothing (`?name=` is how some clients send "no filter").
    let active: Vec<(&Filter, &Value)> = plan
        .filters
        .iter()
        .filter_map(|f| q(&f.param).filter(|v| v.as_str() != Some("")).map(|v| (f, v)))
        .collect();
    for (f, v) in &active {
        let is_range = matches!(f.kind, MatchKind::Gte | MatchKind::Lte);
        if let (true, Some(text)) = (is_range, v.as_str())
            && parse_timestamp(text).is_none()
            && text.parse::<f64>().is_err()
        {
            return Err(ApiError::new(
                400,
                ErrorKind::InvalidFilter,
                format!("{}: {text:?} is not a date-time or number", f.param),
            )
            .with_violations(vec![Violation {
                location: Location::Query,
                field: f.param.clone(),
                pointer: String::new(),
                message: "expected an RFC 3339 date-time (e.g. 2026-01-31T00:00:00Z)".into(),
            }]));
        }
    }
    // Filters read fields, so a filtered scan parses each item it looks at: except for an exact
    // match on a unique field, which the unique index answers without looking at any item.
    let only: Option<(usize, String)> = match active.as_slice() {
        [(f, wanted)] if f.kind == MatchKind::Exact && range_bounds(wanted).is_none() => r
            .unique
            .iter()
            .position(|u| u.field == f.field && u.case_insensitive == f.case_insensitive)
            .map(|i| (i, unique_key(f.case_insensitive, wanted).unwrap_or_default())),
        _ => None,
    };
    let ranges: Vec<Option<Vec<(&str, &Value)>>> = active.iter().map(|(_, w)| range_bounds(w)).collect();
    let keep = |e: &Entry| {
        let v = e.value();
        active
            .iter()
            .zip(&ranges)
            .all(|((f, w), range)| matches_filter(f, w, range.as_deref(), &v))
    };
    let keep: Option<&(dyn Fn(&Entry) -> bool + Sync)> = if only.is_none() && !active.is_empty() {
        Some(&keep)
    } else {
        None
    };
    // A cursor is one this server issued (a slot), else the key of an item of the list: APIs
    // whose clients page with the last item's id (`after=<the last item's key>`). A key is looked
    // up in a boxed future of its own: kept inline, that lookup (a Redis call, on that store)
    // would grow every request's future, which is moved whole when a request starts.
    let cursor = async |name: &Option<String>| -> Result<Option<usize>, ApiError> {
        let Some((n, v)) = name.as_ref().and_then(|n| q(n).map(|v| (n, v))) else {
            return Ok(None);
        };
        let issued = v
            .as_str()
            .and_then(decode_cursor)
            // An API whose cursors are numbers gets the slot itself (see `ListPlan::numeric_cursor`).
            .or_else(|| {
                v.as_u64()
                    .filter(|_| plan.numeric_cursor)
                    .and_then(|n| usize::try_from(n).ok())
            });
        if issued.is_some() {
            return Ok(issued);
        }
        let key = match v {
            Value::String(s) if s.is_empty() => return Ok(None),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Box::pin(slot_of_key(ctx, &scope, n, key)).await.map(Some)
    };

    let mut page_no = 1usize;
    let mut offset = 0usize;
    let want_total = plan
        .envelope_fields()
        .any(|f| matches!(f, EnvField::Total | EnvField::TotalPages));
    let from = match plan.style {
        Style::Cursor => {
            let after = cursor(&plan.after_param).await?;
            let before = cursor(&plan.before_param).await?;
            match before.filter(|_| after.is_none()) {
                Some(b) => From::Before(b),
                None => From::After(after),
            }
        }
        Style::Page | Style::Offset | Style::First => {
            if plan.style == Style::Page {
                page_no = int(&plan.page_param).unwrap_or(1).max(1);
                offset = (page_no - 1).saturating_mul(limit);
            } else if plan.style == Style::Offset {
                offset = int(&plan.offset_param).unwrap_or(0);
            }
            From::Offset(offset)
        }
    };
    let query = PageQuery {
        from,
        limit,
        keep,
        only,
        total: want_total,
    };
    let Page {
        items: page,
        has_next,
        has_prev,
        total,
    } = ctx.store.page(ctx.tenant, &scope, &query).await?;

    // Items that are stored as the page shows them are spliced in as they are: a page of twenty
    // costs twenty buffer copies, not twenty parses and serialisations.
    let items: Vec<Body> = page.iter().map(|(_, e)| render(r, &plan.item_shape, e)).collect();
    // Room for the envelope too (its names, plus up to 32 bytes for a cursor or count each): an
    // estimate a few bytes short grows the buffer after the last item, copying the whole page.
    let envelope_len = plan.items_field.as_ref().map_or(0, |f| f.len() + 8)
        + plan.envelope.iter().map(|(name, _)| name.len() + 36).sum::<usize>()
        + plan
            .envelope_fill
            .iter()
            .map(|(name, _)| name.len() + 68)
            .sum::<usize>()
        + plan
            .nested
            .iter()
            .map(|n| n.name.len() + 8 + (n.envelope.len() + n.fill.len()) * 44)
            .sum::<usize>();
    let mut out: Vec<u8> = Vec::with_capacity(
        8 + envelope_len
            + items
                .iter()
                .map(|b| if let Body::Raw(r) = b { r.len() + 1 } else { 256 })
                .sum::<usize>(),
    );
    let write_items = |out: &mut Vec<u8>| {
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.write_to(out);
        }
        out.push(b']');
    };
    let Some(items_field) = &plan.items_field else {
        write_items(&mut out);
        return Ok(Outcome {
            status,
            changed: None,
            body: Some(Body::Raw(Bytes::from(out))),
        });
    };
    // Cursors only for the envelope fields that carry them.
    let wants = |f: EnvField| plan.envelope_fields().any(|e| e == f);
    let first_cursor = page
        .first()
        .filter(|_| wants(EnvField::StartCursor))
        .map(|(s, _)| encode_cursor(*s));
    let last_cursor = page
        .last()
        .filter(|_| wants(EnvField::EndCursor))
        .map(|(s, _)| encode_cursor(*s));
    let value_of = |field: &EnvField| -> Option<Value> {
        match field {
            EnvField::StartCursor | EnvField::EndCursor if plan.numeric_cursor => {
                let at = if *field == EnvField::StartCursor {
                    page.first()
                } else {
                    page.last()
                };
                at.map(|(slot, _)| Value::from(*slot))
            }
            EnvField::StartCursor => first_cursor.clone().map(Value::String),
            EnvField::EndCursor => last_cursor.clone().map(Value::String),
            // An empty page has no first or last item: the plan says what answers then.
            EnvField::FirstKey => page.first().and_then(|(_, e)| key_as(r, e, plan.keys_as_text)),
            EnvField::LastKey => page.last().and_then(|(_, e)| key_as(r, e, plan.keys_as_text)),
            EnvField::HasNext | EnvField::HasMore => Some(Value::Bool(has_next)),
            EnvField::HasPrevious => Some(Value::Bool(has_prev)),
            EnvField::Page => Some(Value::from(page_no)),
            EnvField::PerPage | EnvField::Limit => Some(Value::from(limit.min(u32::MAX as usize))),
            EnvField::Total => total.map(Value::from),
            EnvField::TotalPages => total.map(|t| Value::from(if limit == 0 { 0 } else { t.div_ceil(limit) })),
            EnvField::Offset => Some(Value::from(offset)),
        }
    };
    // A field the page gives no value answers as the plan says then (see `ListPlan::unfilled`).
    let or_unfilled = |unfilled: &[(String, Value)], name: &String, field: &EnvField| {
        value_of(field).or_else(|| unfilled.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
    };
    let fields: Vec<(&str, Value)> = plan
        .envelope
        .iter()
        .filter_map(|(name, field)| Some((name.as_str(), or_unfilled(&plan.unfilled, name, field)?)))
        .collect();
    out.push(b'{');
    for (name, v) in &fields {
        write_str(&mut out, name);
        out.push(b':');
        write_value(&mut out, v);
        out.push(b',');
    }
    write_str(&mut out, items_field);
    out.push(b':');
    write_items(&mut out);
    for (name, v) in &plan.envelope_fill {
        out.push(b',');
        write_str(&mut out, name);
        out.push(b':');
        write_value(&mut out, v);
    }
    for nested in &plan.nested {
        out.push(b',');
        write_str(&mut out, &nested.name);
        out.extend_from_slice(b":{");
        let paging = nested
            .envelope
            .iter()
            .filter_map(|(name, f)| Some((name, or_unfilled(&nested.unfilled, name, f)?)));
        let filled = nested.fill.iter().map(|(name, v)| (name, v.clone()));
        for (i, (name, v)) in paging.chain(filled).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(&mut out, name);
            out.push(b':');
            write_value(&mut out, &v);
        }
        out.push(b'}');
    }
    out.push(b'}');
    Ok(Outcome {
        status,
        changed: None,
        body: Some(Body::Raw(Bytes::from(out))),
    })
}
