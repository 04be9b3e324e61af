//! Taking a request's text apart: query strings, form bodies and multipart bodies into pairs,
//! cookies into pairs, and a cheap check of a JSON body's nesting before it is parsed. Plain
//! byte work that every stage uses (the pipeline, the journal's filters, the recorder, the replayer, the admin API),
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

/// One part of a `multipart/form-data` body: its field name, and its text (a file's name for a
/// file part: the sandbox keeps what a form says about a file, not the file).
#[derive(Debug, PartialEq, Eq)]
pub struct FormPart {
    pub name: String,
    pub value: String,
}

/// The parts of a `multipart/form-data` body (RFC 7578), given the request's `Content-Type`
/// (which carries the boundary). `None` when there is no boundary or the body is not made of
/// parts between it; parts with no `Content-Disposition` name are passed over.
pub fn multipart_parts(content_type: &str, body: &[u8]) -> Option<Vec<FormPart>> {
    let boundary = header_param(content_type, "boundary")?;
    if boundary.is_empty() {
        return None;
    }
    let delimiter = format!("--{boundary}");
    // Every delimiter but a first one at the very start follows a line break: a part's content
    // may hold `--` and the boundary's text anywhere else.
    let inner = format!("\r\n{delimiter}");
    let finder = memchr::memmem::Finder::new(inner.as_bytes());
    let mut at = if body.starts_with(delimiter.as_bytes()) {
        delimiter.len()
    } else {
        finder.find(body)? + inner.len()
    };
    let mut parts = Vec::new();
    loop {
        let rest = body.get(at..)?;
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        // Transport padding (spaces, tabs) may follow a delimiter before its line break.
        let pad = rest.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
        let rest = rest.get(pad..)?;
        let rest = rest.strip_prefix(b"\r\n")?;
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let (used, headers) = match httparse::parse_headers(rest, &mut headers) {
            Ok(httparse::Status::Complete((used, headers))) => (used, headers),
            _ => return None,
        };
        let content = rest.get(used..)?;
        // The part ends at the CRLF before the next delimiter.
        let end = finder.find(content)?;
        let value = content.get(..end)?;
        let disposition = headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-disposition"))
            .and_then(|h| std::str::from_utf8(h.value).ok());
        if let Some(name) = disposition.and_then(|d| header_param(d, "name")) {
            let value = match disposition.and_then(|d| header_param(d, "filename")) {
                Some(file) => file,
                None => String::from_utf8_lossy(value).into_owned(),
            };
            parts.push(FormPart { name, value });
        }
        at = body.len() - content.len() + end + inner.len();
    }
}

/// A parameter of a header value (`form-data; name="a"; filename="b.png"`, the `boundary` of a
/// `Content-Type`). A quoted value may hold `;` and `=`, and `\"` for a quote (a backslash
/// before anything else is itself: browsers send a Windows path as it is).
fn header_param(value: &str, wanted: &str) -> Option<String> {
    let mut rest = value.split_once(';')?.1;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return None;
        }
        let key_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let key = rest.get(..key_end).unwrap_or_default().trim();
        rest = rest.get(key_end..).unwrap_or_default();
        // A parameter without a value names nothing.
        let Some(after) = rest.strip_prefix('=').map(str::trim_start) else {
            continue;
        };
        let text = match after.strip_prefix('"') {
            Some(quoted) => {
                let (text, end) = unquote(quoted);
                rest = quoted.get(end..).unwrap_or_default();
                text
            }
            None => {
                let end = after.find(';').unwrap_or(after.len());
                rest = after.get(end..).unwrap_or_default();
                after.get(..end).unwrap_or_default().trim().to_string()
            }
        };
        if key.eq_ignore_ascii_case(wanted) {
            return Some(text);
        }
    }
}

/// A quoted string's text, from just after its opening quote, and where it ends (past the
/// closing quote).
fn unquote(quoted: &str) -> (String, usize) {
    let mut text = String::new();
    let mut escaped = false;
    for (i, c) in quoted.char_indices() {
        match c {
            '"' | '\\' if escaped => {
                text.push(c);
                escaped = false;
            }
            _ if escaped => {
                text.push('\\');
                text.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            '"' => return (text, i + 1),
            _ => text.push(c),
        }
    }
    (text, quoted.len())
}

#[cfg(test)]
mod tests {
    use super::{FormPart, header_param, json_too_deep, multipart_parts};

    #[test]
    fn header_parameters_may_be_quoted_with_separators_and_escapes_inside() {
        let d = r#"form-data; name="a;b=c"; filename="x\"y; z.png"; size=3"#;
        assert_eq!(header_param(d, "name").as_deref(), Some("a;b=c"));
        assert_eq!(header_param(d, "filename").as_deref(), Some("x\"y; z.png"));
        assert_eq!(header_param(d, "size").as_deref(), Some("3"));
        assert_eq!(header_param(d, "missing"), None);
        assert_eq!(
            header_param("multipart/form-data;boundary=XyZ", "boundary").as_deref(),
            Some("XyZ")
        );
        assert_eq!(header_param("multipart/form-data", "boundary"), None);
        // A Windows path as a browser sends it, and a parameter without a value.
        let d = r#"form-data; name; name="x"; filename="C:\fakepath\a.png""#;
        assert_eq!(header_param(d, "name").as_deref(), Some("x"));
        assert_eq!(header_param(d, "filename").as_deref(), Some(r"C:\fakepath\a.png"));
    }

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

    #[test]
    fn multipart_parts_are_read_with_file_parts_as_their_names() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMy voice\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"recording\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n\
RIFF\x00\x01--X\r\n--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n\r\n--XyZ--\r\n";
        let parts = multipart_parts("multipart/form-data; boundary=\"XyZ\"", body).unwrap();
        let pairs: Vec<(&str, &str)> = parts.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect();
        assert_eq!(pairs, [("name", "My voice"), ("recording", "a.wav"), ("n", "")]);
        // No boundary, or a body that is not made of parts: nothing.
        assert_eq!(multipart_parts("multipart/form-data", body), None);
        assert_eq!(multipart_parts("multipart/form-data; boundary=QQ", body), None);
        assert_eq!(
            multipart_parts("multipart/form-data; boundary=XyZ", b"--XyZ\r\nbroken"),
            None
        );
        // Content may hold `--` and the boundary's text; padding may follow a delimiter.
        let tricky = b"--abc \t\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nx--abcdef\r\n--abc--";
        let parts = multipart_parts("multipart/form-data; boundary=abc", tricky).unwrap();
        assert_eq!(
            parts,
            [FormPart {
                name: "t".into(),
                value: "x--abcdef".into()
            }]
        );
    }
}
