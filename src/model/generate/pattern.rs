//! `pattern`s: sampling strings that match one, from the regex's syntax tree, and matching
//! text against them (by jsonschema's compiled pattern validators, so ECMA-262 semantics and
//! lookarounds anywhere, as the value will later be validated).
//!
//! Its own file because patterns are a small language of their own: the syntax-tree walk, the
//! split of leading lookaheads (which the tree walk cannot generate from) and the cache of
//! compiled patterns change together, and both the string builder and the built-in checker need
//! them without needing each other.

use std::collections::HashMap;

use jsonschema::Validator;
use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::Value;

use super::compiled;
use super::rng::{Rng, VARIANT_ATTEMPTS};
use super::values::{MAX_STRING, fit_length};

/// The `pattern`s of one generation, each compiled once (`None` for those that cannot be).
/// Compiling one costs what compiling it with the `regex` crate did (see `check.rs`).
#[derive(Default)]
pub(super) struct Patterns {
    compiled: HashMap<String, Option<Validator>>,
}

impl Patterns {
    /// `pattern` compiled, on its first use (`None` when it cannot be).
    fn compiled(&mut self, pattern: &str) -> Option<&Validator> {
        self.compiled
            .entry(pattern.to_owned())
            .or_insert_with(|| compiled::pattern(pattern))
            .as_ref()
    }

    /// Whether `text` matches `pattern`; `None` when the pattern cannot be compiled here.
    pub(super) fn matches(&mut self, pattern: &str, text: &str) -> Option<bool> {
        self.compiled(pattern)
            .map(|m| m.is_valid(&Value::String(text.to_owned())))
    }

    /// Whether `pattern` compiles.
    pub(super) fn compiles(&mut self, pattern: &str) -> bool {
        self.compiled(pattern).is_some()
    }

    /// Whether `text` has an allowed length and does not fail `pattern` (a pattern that cannot
    /// be compiled gives it the benefit of the doubt).
    pub(super) fn fits(&mut self, text: &str, min: usize, max: Option<usize>, pattern: Option<&str>) -> bool {
        let len = text.chars().count();
        len >= min && max.is_none_or(|max| len <= max) && pattern.is_none_or(|p| self.matches(p, text) != Some(false))
    }

    /// A string matching `pattern`, generated from the regex's syntax tree and then checked
    /// against the compiled pattern; a few fixed candidates cover what the tree walk cannot.
    pub(super) fn sample(&mut self, rng: &mut Rng, pattern: &str, min: usize, max: Option<usize>) -> Option<String> {
        // Leading lookaheads cannot be generated from, but the rest of the pattern can, and
        // the check below (which does understand them) picks a sample that satisfies them.
        let source = without_lookaheads(pattern).unwrap_or_else(|| pattern.to_owned());
        if let Ok(hir) = regex_syntax::ParserBuilder::new().build().parse(&source) {
            for attempt in 0..=VARIANT_ATTEMPTS {
                let text = if attempt == 0 {
                    regex_sample(&hir, min, rng)
                } else {
                    regex_sample(&hir, min, &mut rng.varied(attempt))
                };
                // No sample at all means the regex itself is out of reach (too long, empty
                // class); other random choices will not change that.
                let Some(text) = text else {
                    break;
                };
                if self.fits(&text, min, max, Some(pattern)) {
                    return Some(text);
                }
            }
        }
        const FALLBACKS: [&str; 12] = [
            "example",
            "a",
            "A",
            "0",
            "abc123",
            "ABC",
            "aa-AA",
            "2026-01",
            "2026-01-01",
            "user@example.com",
            "https://example.com",
            "00000000",
        ];
        FALLBACKS
            .iter()
            .map(|candidate| fit_length((*candidate).to_owned(), min, max))
            .find(|candidate| self.fits(candidate, min, max, Some(pattern)))
    }
}

/// One string for the regex; if it is shorter than `min`, repetitions are stretched.
fn regex_sample(hir: &Hir, min: usize, rng: &mut Rng) -> Option<String> {
    let mut text = String::new();
    emit(hir, &mut text, &mut 0, rng)?;
    let len = text.chars().count();
    if len >= min {
        return Some(text);
    }
    let mut stretched = String::new();
    emit(hir, &mut stretched, &mut (min - len), rng)?;
    Some(stretched)
}

/// Appends a match of `hir` to `out`: repetitions at their minimum plus whatever `budget`
/// of extra iterations is left, the first alternative, and a readable character per class.
fn emit(hir: &Hir, out: &mut String, budget: &mut usize, rng: &mut Rng) -> Option<()> {
    if out.len() > MAX_STRING {
        return None;
    }
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => out.push_str(std::str::from_utf8(&literal.0).ok()?),
        HirKind::Class(Class::Unicode(class)) => {
            let ranges: Vec<(char, char)> = class.ranges().iter().map(|r| (r.start(), r.end())).collect();
            out.push(class_char(&ranges, rng)?);
        }
        HirKind::Class(Class::Bytes(class)) => {
            let ranges: Vec<(char, char)> = class
                .ranges()
                .iter()
                .filter(|r| r.start().is_ascii())
                .map(|r| (char::from(r.start()), char::from(r.end().min(0x7f))))
                .collect();
            out.push(class_char(&ranges, rng)?);
        }
        HirKind::Repetition(repetition) => {
            let min = repetition.min as usize;
            let room = repetition
                .max
                .map_or(usize::MAX, |max| max as usize)
                .saturating_sub(min);
            let stretch = (*budget).min(room);
            *budget -= stretch;
            let extra = rng.pick((room - stretch).min(3) + 1);
            // Checked here as well, since an iteration may add nothing: `(a?){1000000000}`.
            let count = min.saturating_add(stretch).saturating_add(extra);
            if count > MAX_STRING {
                return None;
            }
            for _ in 0..count {
                emit(&repetition.sub, out, budget, rng)?;
            }
        }
        HirKind::Capture(capture) => emit(&capture.sub, out, budget, rng)?,
        HirKind::Concat(parts) => {
            for part in parts {
                emit(part, out, budget, rng)?;
            }
        }
        HirKind::Alternation(branches) => {
            let index = rng.pick(branches.len());
            emit(branches.get(index)?, out, budget, rng)?;
        }
    }
    Some(())
}

/// A character from a class, preferring ASCII letters and digits so the result stays
/// readable (and valid for ECMA-flavoured validators, whose `\d`/`\w` are ASCII-only).
fn class_char(ranges: &[(char, char)], rng: &mut Rng) -> Option<char> {
    let contains = |c: char| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
    let first = ranges.first()?.0;
    if rng.is_dynamic() {
        let alnum: Vec<char> = ('0'..='9')
            .chain('A'..='Z')
            .chain('a'..='z')
            .filter(|c| contains(*c))
            .collect();
        let pool: Vec<char> = if alnum.is_empty() {
            (' '..='~').filter(|c| contains(*c)).collect()
        } else {
            alnum
        };
        let index = rng.pick(pool.len());
        return Some(pool.get(index).copied().unwrap_or(first));
    }
    if first.is_ascii_alphanumeric() {
        return Some(first);
    }
    ('a'..='z')
        .chain('A'..='Z')
        .chain('0'..='9')
        .chain(' '..='~')
        .find(|c| contains(*c))
        .or(Some(first))
}

/// `^(?=a)(?!b)rest` without its leading lookaheads: `^rest`; `None` if the pattern does not
/// start that way.
fn without_lookaheads(pattern: &str) -> Option<String> {
    let mut rest = pattern.strip_prefix('^')?;
    let mut found = false;
    while rest.starts_with("(?=") || rest.starts_with("(?!") {
        let body_and_more = rest.get(3..)?;
        let end = closing_paren(body_and_more)?;
        rest = body_and_more.get(end + 1..)?;
        found = true;
    }
    found.then(|| format!("^{rest}"))
}

/// Byte offset of the `)` closing a group whose body starts `text`, skipping escapes and
/// character classes.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut escaped = false;
    for (offset, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => match depth.checked_sub(1) {
                Some(outer) => depth = outer,
                None => return Some(offset),
            },
            _ => {}
        }
    }
    None
}
