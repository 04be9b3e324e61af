//! Taking a request's text apart: query strings and form bodies into pairs, cookies into pairs,
//! and a cheap check of a JSON body's nesting before it is parsed. Plain byte work that every
//! stage uses (the pipeline, the journal's filters, the recorder, the replayer, the admin API),
//! so it sits with the request it reads.

use std::borrow::Cow;

/// Whether JSON text nests arrays/objects deeper than `max`. A byte scan (strings and escapes
/// respected) run before parsing, so a hostile body is refused before it costs anything.
pub fn json_too_deep(text: &[u8], max: usize) -> bool {
    // Nesting can go no deeper than there are brackets, and counting them is a fraction of
    // the scan below (no state carried from byte to byte), so most bodies stop here.
    if text.iter().filter(|&&b| b == b'[' || b == b'{').count() <= max {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The `name=value` pairs of a request's `Cookie` headers, as sent (cookies are not decoded).
pub fn cookie_pairs(headers: &hyper::HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|c| c.split(';').filter_map(|kv| kv.trim().split_once('=')))
}

/// Decodes `a=1&b=x%20y` pairs (`+` is a space in forms and query strings).
pub fn form_pairs(raw: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    form_pairs_borrowed(raw).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

/// `form_pairs` without a copy of the names and values that need no decoding (most of them:
/// `limit`, `20`).
pub fn form_pairs_borrowed(raw: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> + '_ {
    raw.split(|b| *b == b'&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (pair.get(..i).unwrap_or_default(), pair.get(i + 1..).unwrap_or_default()),
            None => (pair, &b""[..]),
        };
        (decode_form(k), decode_form(v))
    })
}

fn decode_form(raw: &[u8]) -> Cow<'_, str> {
    if !raw.iter().any(|b| matches!(b, b'+' | b'%'))
        && let Ok(text) = std::str::from_utf8(raw)
    {
        return Cow::Borrowed(text);
    }
    let spaced: Vec<u8> = raw.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    Cow::Owned(
        percent_encoding::percent_decode(&spaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::json_too_deep;

    #[test]
    fn nesting_is_measured_outside_strings_only() {
        assert!(!json_too_deep(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(json_too_deep(br#"{"a":[1,{"b":[2]}]}"#, 3));
        // More brackets than the limit, but in a string (with an escaped quote): shallow.
        assert!(!json_too_deep(br#"{"a":"[[[[{{{{\"[[[["}"#, 3));
        // Closed brackets do not add up: many siblings, one level each.
        assert!(!json_too_deep(br#"[[],[],[],[],[]]"#, 2));
        assert!(json_too_deep(b"[[[[]]]]", 3));
    }
}
