//! Strings that look real: values for the common `format`s, hints from property names
//! (`email` → `user@example.com`, `created_at` → a date-time), a plain word for the rest, and
//! fitting a string to `minLength`/`maxLength` without breaking its format.
//!
//! Its own file because it is a table of taste, not of rules: what a realistic value is changes
//! for reasons (a new hint, a nicer date) that have nothing to do with the schema logic, and none
//! of it needs the generator's state, only the variant bits to vary with.

use super::rng::SplitMix64;

/// Cap on generated string length, whatever `minLength` or a pattern asks for.
pub(super) const MAX_STRING: usize = 1 << 16;

/// A value for a string `format`; `None` for formats with no fixed shape (left to the rest).
pub(super) fn format_value(format: &str, variant: Option<u64>) -> Option<String> {
    Some(match format {
        "date-time" => date_time(variant),
        "date" => date(variant),
        "time" => match variant {
            None => "12:00:00Z".to_owned(),
            Some(r) => format!("{:02}:{:02}:{:02}Z", r % 24, (r >> 8) % 60, (r >> 16) % 60),
        },
        "duration" => match variant {
            None => "PT1H".to_owned(),
            Some(r) => format!("PT{}M", 1 + r % 240),
        },
        "email" | "idn-email" => email(variant),
        "uuid" => uuid(variant),
        "uri" | "url" | "iri" => url(variant),
        "uri-reference" | "iri-reference" => match variant {
            None => "/example".to_owned(),
            Some(r) => format!("/example/{}", r % 1_000),
        },
        "uri-template" => "https://example.com/{id}".to_owned(),
        "hostname" | "idn-hostname" => match variant {
            None => "example.com".to_owned(),
            Some(r) => format!("host{}.example.com", r % 1_000),
        },
        "ipv4" => ipv4(variant),
        "ipv6" => match variant {
            None => "2001:db8::1".to_owned(),
            Some(r) => format!("2001:db8::{:x}", r & 0xffff),
        },
        "byte" => match variant {
            None => "ZXhhbXBsZQ==".to_owned(),
            Some(r) => {
                const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                (0..8)
                    .filter_map(|i| BASE64.get(((r >> (i * 6)) & 63) as usize))
                    .map(|b| char::from(*b))
                    .collect()
            }
        },
        "password" => "********".to_owned(),
        "json-pointer" => "/example".to_owned(),
        "relative-json-pointer" => "0".to_owned(),
        "regex" => "^[a-z]+$".to_owned(),
        _ => return None,
    })
}

/// A realistic string for a property named `name`, from a deliberately small table.
pub(super) fn name_hint(name: &str, variant: Option<u64>) -> Option<String> {
    let words = split_words(name);
    let last = words.last()?;
    word_hint(last, &words, variant).or_else(|| {
        // Plural names (`emails`, `urls`) mostly describe arrays of the singular thing.
        last.strip_suffix('s')
            .and_then(|singular| word_hint(singular, &words, variant))
    })
}

fn word_hint(word: &str, words: &[String], variant: Option<u64>) -> Option<String> {
    let has = |w: &str| words.iter().any(|x| x == w);
    let choose = |options: &[&str]| {
        let index = variant.map_or(0, |r| (r % options.len().max(1) as u64) as usize);
        options.get(index).map(|s| (*s).to_owned())
    };
    Some(match word {
        "email" | "mail" => email(variant),
        "address" if has("email") => email(variant),
        "address" if has("ip") => ipv4(variant),
        "ip" | "ipv4" => ipv4(variant),
        "at" if words.len() > 1 => date_time(variant),
        "timestamp" | "datetime" => date_time(variant),
        "date" | "birthday" | "dob" => date(variant),
        "country" => choose(&["US", "GB", "DE", "FR", "JP"])?,
        "code" if has("country") => choose(&["US", "GB", "DE", "FR", "JP"])?,
        "currency" => choose(&["USD", "EUR", "GBP", "JPY"])?,
        "code" if has("currency") => choose(&["USD", "EUR", "GBP", "JPY"])?,
        "phone" | "mobile" | "telephone" => phone(variant),
        "number" if has("phone") => phone(variant),
        "url" | "uri" | "link" | "href" | "website" | "homepage" => url(variant),
        "id" | "uuid" | "guid" => uuid(variant),
        "username" | "login" => choose(&["jdoe", "asmith", "mlee"])?,
        "name" => match words.first().map(String::as_str) {
            Some("first" | "given") => choose(&["Jane", "John", "Alex"])?,
            Some("last" | "family" | "sur") => choose(&["Doe", "Smith", "Lee"])?,
            Some("user") => choose(&["jdoe", "asmith", "mlee"])?,
            _ => match variant {
                None => "Example name".to_owned(),
                Some(r) => format!("Example name {}", r % 1_000),
            },
        },
        "description" | "summary" => "Example description".to_owned(),
        "title" => "Example title".to_owned(),
        "locale" => choose(&["en-US", "en-GB", "de-DE", "fr-FR"])?,
        "language" | "lang" => choose(&["en", "de", "fr", "ja"])?,
        "host" | "hostname" | "domain" => "example.com".to_owned(),
        _ => return None,
    })
}

/// Splits `createdAt`, `created_at` and `created-at` alike into lowercase words.
fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut after_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            words.extend((!current.is_empty()).then(|| std::mem::take(&mut current)));
            after_lower = false;
            continue;
        }
        if c.is_uppercase() && after_lower {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
        after_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    words.extend((!current.is_empty()).then_some(current));
    words
}

pub(super) fn plain_word(variant: Option<u64>) -> String {
    const WORDS: [&str; 8] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
    match variant {
        None => "example".to_owned(),
        Some(r) => {
            let word = WORDS.get((r % WORDS.len() as u64) as usize).unwrap_or(&"example");
            format!("{word}-{}", (r >> 8) % 1_000)
        }
    }
}

fn ymd(r: u64) -> (u64, u64, u64) {
    (2020 + r % 10, 1 + (r >> 8) % 12, 1 + (r >> 16) % 28)
}

fn date_time(variant: Option<u64>) -> String {
    match variant {
        None => "2026-01-01T00:00:00Z".to_owned(),
        Some(r) => {
            let (y, m, d) = ymd(r);
            let (hh, mm, ss) = ((r >> 24) % 24, (r >> 32) % 60, (r >> 40) % 60);
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        }
    }
}

fn date(variant: Option<u64>) -> String {
    match variant {
        None => "2026-01-01".to_owned(),
        Some(r) => {
            let (y, m, d) = ymd(r);
            format!("{y:04}-{m:02}-{d:02}")
        }
    }
}

fn email(variant: Option<u64>) -> String {
    match variant {
        None => "user@example.com".to_owned(),
        Some(r) => format!("user{}@example.com", r % 10_000),
    }
}

fn url(variant: Option<u64>) -> String {
    match variant {
        None => "https://example.com".to_owned(),
        Some(r) => format!("https://example.com/{}", r % 10_000),
    }
}

fn phone(variant: Option<u64>) -> String {
    match variant {
        None => "+15555550100".to_owned(),
        Some(r) => format!("+155555501{:02}", r % 100),
    }
}

fn ipv4(variant: Option<u64>) -> String {
    match variant {
        None => "192.0.2.1".to_owned(),
        Some(r) => format!("192.0.2.{}", 1 + r % 254),
    }
}

fn uuid(variant: Option<u64>) -> String {
    let Some(seed) = variant else {
        return "3fa85f64-5717-4562-b3fc-2c963f66afa6".to_owned();
    };
    let mut rng = SplitMix64(seed);
    // Version 4 in the 13th hex digit, RFC 4122 variant bits in the 17th.
    let high = (rng.next() & !0xf000) | 0x4000;
    let low = (rng.next() & !(0xc000 << 48)) | (0x8000 << 48);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

/// Lengthens a formatted string where the format has room for it (an email's local part, a
/// URI's path) instead of appending characters that would break the format.
pub(super) fn pad_formatted(format: &str, text: String, min: usize) -> String {
    let missing = min.saturating_sub(text.chars().count());
    if missing == 0 {
        return text;
    }
    let filler = "x".repeat(missing);
    match format {
        "email" | "idn-email" => match text.split_once('@') {
            Some((local, domain)) => format!("{local}{filler}@{domain}"),
            None => text,
        },
        "uri" | "url" | "iri" => format!("{text}/{}", "x".repeat(missing - 1)),
        "uri-reference" | "iri-reference" | "json-pointer" | "password" => {
            format!("{text}{filler}")
        }
        _ => text,
    }
}

/// Pads with `x` or truncates, counting characters rather than bytes.
pub(super) fn fit_length(mut text: String, min: usize, max: Option<usize>) -> String {
    let len = text.chars().count();
    text.extend(std::iter::repeat_n('x', min.min(MAX_STRING).saturating_sub(len)));
    if let Some(max) = max.filter(|max| len > *max) {
        text = text.chars().take(max).collect();
    }
    text
}
