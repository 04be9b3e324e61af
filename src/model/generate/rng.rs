//! Where the generator's free choices come from: the canonical mode, which always takes the
//! first choice, and a seeded mode (SplitMix64) for `dynamic=true` bodies and for variants.
//!
//! It is a file of its own because every part that chooses (numbers, strings, pattern samples,
//! branches) draws from the same [`Rng`], in a fixed order: that order is what makes a seed
//! reproducible, so the rules for drawing and for deriving a variant live in one place.

/// Variants tried per array item for `uniqueItems`, per pattern sample, and at the root for a
/// value that fails its schema.
pub(super) const VARIANT_ATTEMPTS: u64 = 16;

/// SplitMix64: tiny, fast and good enough to vary mock data; no `rand` dependency needed.
#[derive(Clone, Copy, Debug)]
pub(super) struct SplitMix64(pub(super) u64);

impl SplitMix64 {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The choices of one generation: `CANONICAL` produces the canonical value, a seeded one varies
/// every free choice. Not `Copy`: a copy drawn from would leave the original to repeat the
/// same choices.
#[derive(Debug)]
pub(super) struct Rng(Option<SplitMix64>);

impl Rng {
    pub(super) const CANONICAL: Rng = Rng(None);

    pub(super) fn seeded(seed: u64) -> Self {
        Rng(Some(SplitMix64(seed)))
    }

    pub(super) fn is_dynamic(&self) -> bool {
        self.0.is_some()
    }

    /// An index below `n`: always 0 for the canonical value, random when dynamic.
    pub(super) fn pick(&mut self, n: usize) -> usize {
        match &mut self.0 {
            Some(rng) if n > 1 => usize::try_from(rng.next() % n as u64).unwrap_or(0),
            _ => 0,
        }
    }

    /// Random bits to vary a value with, or `None` for the canonical value.
    pub(super) fn variant(&mut self) -> Option<u64> {
        self.0.as_mut().map(SplitMix64::next)
    }

    /// Seeded choices derived from `salt`, for a value different from the one just produced
    /// (for `uniqueItems`, extra map keys, retries) without losing determinism. Advances `self`
    /// by one draw when it is dynamic.
    pub(super) fn varied(&mut self, salt: u64) -> Rng {
        let seed = match &mut self.0 {
            Some(rng) => rng.next() ^ salt,
            None => salt.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        };
        Rng::seeded(seed)
    }
}
