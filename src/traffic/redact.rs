//! Redaction: what never reaches a recording.
//!
//! A recording is a file people share (attach to a bug, commit as a fixture source), and in proxy
//! mode it holds real traffic, so secrets are removed before an exchange is serialised, not when
//! the file is read. The rules are names, not patterns: headers by name, and fields by name at any
//! depth of a JSON body, in `application/x-www-form-urlencoded` bodies (the OAuth2 token request's
//! `client_secret`) and in query strings. A redacted value becomes the fixed [`MARKER`], so a
//! reader can see that something was there without learning anything about it.
//!
//! The same rules run over a live request when a recording is replayed, which is what lets a
//! request match a recorded one whose secrets were removed.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// What a redacted value is replaced with.
pub const MARKER: &str = "[REDACTED]";

/// Headers that carry credentials in every API specbox has met.
pub const DEFAULT_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Body fields that carry credentials. `access_token` and `refresh_token` are here because in
/// proxy mode the token endpoint's answers are real, usable credentials.
pub const DEFAULT_FIELDS: &[&str] = &["client_secret", "password", "access_token", "refresh_token"];

/// The redaction rules in force.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Lowercased header names.
    headers: Vec<String>,
    /// Lowercased field names (JSON keys, form fields, query parameters).
    fields: Vec<String>,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new(&[], &[])
    }
}

/// Form encoding keeps `-._*` (as browsers do); everything else is escaped.
const FORM: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'*');

impl Redactor {
    /// The defaults plus the names given on the command line (case-insensitive).
    pub fn new(extra_headers: &[String], extra_fields: &[String]) -> Redactor {
        let lower = |defaults: &[&str], extra: &[String]| {
            let mut out: Vec<String> = defaults.iter().map(|s| s.to_string()).collect();
            for e in extra {
                let e = e.trim().to_ascii_lowercase();
                if !e.is_empty() && !out.contains(&e) {
                    out.push(e);
                }
            }
            out
        };
        Redactor {
            headers: lower(DEFAULT_HEADERS, extra_headers),
            fields: lower(DEFAULT_FIELDS, extra_fields),
        }
    }

    pub fn is_secret_header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    fn is_secret_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.eq_ignore_ascii_case(name))
    }

    /// The header's value as it may be recorded.
    pub fn header<'a>(&self, name: &str, value: &'a str) -> &'a str {
        if self.is_secret_header(name) { MARKER } else { value }
    }

    /// Replaces secret fields at any depth; true when anything was replaced.
    pub fn json(&self, value: &mut Value) -> bool {
        match value {
            Value::Object(map) => {
                let mut changed = false;
                for (k, v) in map.iter_mut() {
                    if self.is_secret_field(k) && !v.is_null() {
                        *v = Value::String(MARKER.into());
                        changed = true;
                    } else {
                        changed |= self.json(v);
                    }
                }
                changed
            }
            Value::Array(items) => items.iter_mut().fold(false, |acc, v| self.json(v) | acc),
            _ => false,
        }
    }

    /// Redacts `a=1&client_secret=x` (a query string or a form body). Pairs that are kept stay
    /// byte for byte as they were, so an unredacted string comes back unchanged; the result is
    /// the same when redacted twice.
    pub fn form(&self, raw: &str) -> (String, bool) {
        let mut changed = false;
        let parts: Vec<String> = raw
            .split('&')
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let decoded = percent_encoding::percent_decode_str(&name.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned();
                if self.is_secret_field(&decoded) && !value.is_empty() {
                    changed = true;
                    format!("{name}={}", utf8_percent_encode(MARKER, FORM))
                } else {
                    pair.to_string()
                }
            })
            .collect();
        if changed {
            (parts.join("&"), true)
        } else {
            (raw.to_string(), false)
        }
    }

    /// A body as it may be recorded: JSON and form bodies lose their secret fields; anything
    /// else is kept as it is.
    pub fn body(&self, content_type: Option<&str>, body: &[u8]) -> (Vec<u8>, bool) {
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if media == "application/x-www-form-urlencoded" {
            if let Ok(text) = std::str::from_utf8(body) {
                let (out, changed) = self.form(text);
                return (out.into_bytes(), changed);
            }
            return (body.to_vec(), false);
        }
        // JSON is recognised by parsing, not by the declared type: a client that forgets its
        // Content-Type must not get its password recorded.
        if let Ok(mut v) = serde_json::from_slice::<Value>(body)
            && self.json(&mut v)
        {
            return (serde_json::to_vec(&v).unwrap_or_default(), true);
        }
        (body.to_vec(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_fields_at_any_depth() {
        let r = Redactor::new(&[], &["card_number".into()]);
        let mut v = json!({"a": {"password": "p", "list": [{"Card_Number": "4242"}]}, "password": null});
        assert!(r.json(&mut v));
        assert_eq!(
            v,
            json!({"a": {"password": MARKER, "list": [{"Card_Number": MARKER}]}, "password": null})
        );
    }

    #[test]
    fn forms_keep_other_pairs_verbatim_and_are_idempotent() {
        let r = Redactor::default();
        let (once, changed) = r.form("grant_type=client_credentials&client_secret=s%20x&b=1+2");
        assert!(changed);
        assert_eq!(once, "grant_type=client_credentials&client_secret=%5BREDACTED%5D&b=1+2");
        assert_eq!(r.form(&once).0, once);
        assert_eq!(r.form("a=1&b").0, "a=1&b");
    }

    #[test]
    fn headers_by_name() {
        let r = Redactor::new(&["X-Secret".into()], &[]);
        assert_eq!(r.header("Authorization", "Bearer x"), MARKER);
        assert_eq!(r.header("x-secret", "y"), MARKER);
        assert_eq!(r.header("accept", "y"), "y");
    }
}
