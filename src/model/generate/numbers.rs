//! Numbers: the bounds a schema sets (`minimum`, `exclusive*` in both the 2020-12 and the
//! OpenAPI 3.0 form, `multipleOf`), choosing an integer or a number inside them, and the decimal
//! arithmetic that keeps `multipleOf` exact.
//!
//! Its own file because float steps are where generated values most easily fail a validator
//! (0.1 * 3 is not 0.3 in binary): every rule about aligning and writing numbers is here, used by
//! building, by merging `multipleOf`s and by the checker alike.

use crate::spec::pointer::Field;
use serde_json::{Map, Number, Value};

use super::rng::Rng;

/// An integer within the schema's bounds and on its `multipleOf` step: 1 when allowed (the
/// canonical value), else random within the bounds.
pub(super) fn integer(kw: &Map<String, Value>, rng: &mut Rng) -> Value {
    let bounds = NumericBounds::of(kw);
    // f64 → i128 casts saturate, so absurd bounds cannot overflow below.
    let lo = bounds.min.map(|m| {
        (if bounds.min_exclusive {
            m.floor() + 1.0
        } else {
            m.ceil()
        }) as i128
    });
    let hi = bounds.max.map(|m| {
        (if bounds.max_exclusive {
            m.ceil() - 1.0
        } else {
            m.floor()
        }) as i128
    });
    let step = bounds.multiple_of.map_or(1, integer_step);
    let target = match rng.variant() {
        None => 1,
        Some(bits) => {
            let (from, to) = match (lo, hi) {
                (Some(l), Some(h)) => (l, h.max(l)),
                (Some(l), None) => (l, l.saturating_add(1_000)),
                // Stay positive when the bound allows it: negative values look odd in
                // fields that only cap how large something may be.
                (None, Some(h)) if h >= 1 => (h.saturating_sub(1_000).max(1), h),
                (None, Some(h)) => (h.saturating_sub(1_000), h),
                (None, None) => (1, 1_000),
            };
            let span = to.saturating_sub(from).saturating_add(1).max(1);
            from.saturating_add(i128::from(bits) % span)
        }
    };
    let mut value = align_up(target, step);
    if let Some(h) = hi.filter(|h| value > *h) {
        value = align_down(h, step);
    }
    if let Some(l) = lo.filter(|l| value < *l) {
        value = align_up(l, step);
    }
    let clamped = i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX });
    Value::from(clamped)
}

/// A number within the schema's bounds: a readable candidate (1.5, the middle, a bound) that
/// fits, or else an integer.
pub(super) fn number(kw: &Map<String, Value>, rng: &mut Rng) -> Value {
    let bounds = NumericBounds::of(kw);
    let mut candidates = Vec::new();
    if let Some(bits) = rng.variant() {
        let below_max = |m: f64| {
            if m > 0.0 { (m - 100.0).max(0.0) } else { m - 100.0 }
        };
        let from = bounds.min.or(bounds.max.map(below_max)).unwrap_or(0.0);
        let to = bounds.max.unwrap_or(from + 100.0).max(from);
        let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
        candidates.push(round_to(from + (to - from) * unit, 2));
    }
    candidates.push(1.5);
    if let (Some(lo), Some(hi)) = (bounds.min, bounds.max) {
        candidates.push(round_to((lo + hi) / 2.0, 2));
        candidates.push((lo + hi) / 2.0);
    }
    if let Some(lo) = bounds.min {
        candidates.extend([lo, lo + 1.0, lo + 0.5]);
    }
    if let Some(hi) = bounds.max {
        candidates.extend([hi, hi - 1.0, hi - 0.5]);
    }
    candidates.extend([1.0, 0.0]);
    if let Some(m) = bounds.multiple_of {
        // Multiples closest to each candidate, written with no more decimals than the step,
        // since validators compare decimal representations (0.1 * 3 must print as 0.3).
        let anchors: Vec<f64> = candidates.clone();
        candidates = anchors
            .iter()
            .flat_map(|anchor| {
                let k = (anchor / m).ceil();
                [k, k + 1.0, k - 1.0].map(|k| snap(k * m, m))
            })
            .collect();
    }
    match candidates.into_iter().find(|x| bounds.admits(*x)) {
        Some(x) => float_value(x),
        None => integer(kw, rng),
    }
}

/// Numeric constraints in one place, accepting both the 2020-12 (numeric) and the draft-4 /
/// OpenAPI 3.0 (boolean) forms of `exclusiveMinimum`/`exclusiveMaximum`.
#[derive(Default)]
pub(super) struct NumericBounds {
    min: Option<f64>,
    min_exclusive: bool,
    max: Option<f64>,
    max_exclusive: bool,
    multiple_of: Option<f64>,
}

impl NumericBounds {
    pub(super) fn of(kw: &Map<String, Value>) -> Self {
        let number = |key: &str| kw.field(key).and_then(Value::as_f64).filter(|x| x.is_finite());
        let mut bounds = Self {
            min: number("minimum"),
            max: number("maximum"),
            multiple_of: number("multipleOf").filter(|m| *m > 0.0),
            ..Self::default()
        };
        match kw.field("exclusiveMinimum") {
            Some(Value::Bool(flag)) => bounds.min_exclusive = *flag && bounds.min.is_some(),
            Some(_) => {
                if let Some(x) = number("exclusiveMinimum").filter(|x| bounds.min.is_none_or(|m| *x >= m)) {
                    bounds.min = Some(x);
                    bounds.min_exclusive = true;
                }
            }
            None => {}
        }
        match kw.field("exclusiveMaximum") {
            Some(Value::Bool(flag)) => bounds.max_exclusive = *flag && bounds.max.is_some(),
            Some(_) => {
                if let Some(x) = number("exclusiveMaximum").filter(|x| bounds.max.is_none_or(|m| *x <= m)) {
                    bounds.max = Some(x);
                    bounds.max_exclusive = true;
                }
            }
            None => {}
        }
        bounds
    }

    pub(super) fn admits(&self, x: f64) -> bool {
        let above = self.min.is_none_or(|m| if self.min_exclusive { x > m } else { x >= m });
        let below = self.max.is_none_or(|m| if self.max_exclusive { x < m } else { x <= m });
        x.is_finite() && above && below && self.multiple_of.is_none_or(|m| is_multiple_of(x, m))
    }
}

/// `x` as (digits, decimal places) from its shortest round-trip text: 1.25 → (125, 2).
fn decimal_parts(x: f64) -> Option<(i128, u32)> {
    if !x.is_finite() {
        return None;
    }
    // Rust's `Display` for floats never uses exponent notation.
    let text = x.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits: i128 = format!("{whole}{fraction}").parse().ok()?;
    Some((digits, u32::try_from(fraction.len()).ok()?))
}

/// Whether `x` is a multiple of `m`, decided on decimal digits as validators do, so 0.3 is a
/// multiple of 0.1 even though the binary floats disagree.
pub(super) fn is_multiple_of(x: f64, m: f64) -> bool {
    if x == 0.0 {
        return true;
    }
    if m <= 0.0 || !x.is_finite() || x.abs() < m {
        return false;
    }
    let exact = decimal_parts(x).zip(decimal_parts(m)).and_then(|((xd, xp), (md, mp))| {
        let shared = xp.min(mp);
        let scale = |digits: i128, places: u32| digits.checked_mul(10_i128.checked_pow(places - shared)?);
        let (a, b) = (scale(xd, mp)?, scale(md, xp)?);
        (b != 0).then(|| a % b == 0)
    });
    exact.unwrap_or_else(|| {
        let quotient = x / m;
        (quotient - quotient.round()).abs() < 1e-9
    })
}

/// The smallest positive integer step whose multiples are all multiples of `m`
/// (2.5 → 5, 0.5 → 1, 3 → 3).
fn integer_step(m: f64) -> i128 {
    let step = decimal_parts(m).and_then(|(digits, places)| {
        let scale = 10_i128.checked_pow(places)?;
        let divisor = gcd(digits.abs(), scale);
        (divisor > 0).then(|| digits.abs() / divisor)
    });
    step.filter(|s| *s > 0).unwrap_or(1)
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The smallest multiple of `step` at or above `x`.
fn align_up(x: i128, step: i128) -> i128 {
    let rest = x.rem_euclid(step.max(1));
    if rest == 0 {
        x
    } else {
        x.saturating_sub(rest).saturating_add(step)
    }
}

/// The largest multiple of `step` at or below `x`.
fn align_down(x: i128, step: i128) -> i128 {
    x.saturating_sub(x.rem_euclid(step.max(1)))
}

fn round_to(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

/// `x` rounded to the decimal places of the step `m`, undoing binary float noise.
pub(super) fn snap(x: f64, m: f64) -> f64 {
    match decimal_parts(m) {
        Some((_, places)) if places <= 15 => round_to(x, places as i32),
        _ => x,
    }
}

/// A JSON number for `x`, written without a fraction when it has none.
pub(super) fn float_value(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        return Value::from(x as i64);
    }
    Number::from_f64(x).map_or(Value::from(0), Value::Number)
}
