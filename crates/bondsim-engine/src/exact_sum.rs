//! Sums of `f64` that do not depend on the order of their terms: each term is cut to a multiple
//! of 2^-80 (exactly, by truncation toward zero) and added as an integer. The metrics row sums
//! every agent's levels in whatever order the ECS's columns hold them, on any number of threads,
//! and gets the same bits as any other order: after a resume, whose ECS tables are in roster
//! order, as in the run that was not interrupted, whose tables are not.

/// A sum of terms in fixed point, 2^-80 a unit: the terms' bits at and above 2^-80 are kept
/// exactly (all of them for a term of magnitude 2^-27 or more), the bits below are dropped.
/// Terms of magnitude 2^16 or more, infinities and NaNs make the sum NaN; so would a sum past
/// 2^47 in magnitude, which takes more than 2^31 terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExactSum {
    units: i128,
    out_of_range: bool,
}

/// 2^40: a term is scaled by it twice, so that each scaling is exact and each part fits an
/// `i64` (a conversion of one instruction, where `f64 as i128` is a library call).
const HALF_SCALE: f64 = (1u64 << 40) as f64;

/// 2^16: the magnitude a term stays below (the metrics' levels are in 0–1).
const LIMIT: f64 = (1u64 << 16) as f64;

impl ExactSum {
    pub fn add(&mut self, term: f64) {
        if term.is_nan() || term.abs() >= LIMIT {
            self.out_of_range = true;
            return;
        }
        let scaled = term * HALF_SCALE; // exact: a power of two; |scaled| < 2^56
        let high = scaled as i64; // truncated toward zero
        let rest = scaled - high as f64; // exact: the fraction of a float is a float
        let low = (rest * HALF_SCALE) as i64; // |low| < 2^40
        self.add_units((i128::from(high) << 40) + i128::from(low));
    }

    fn add_units(&mut self, units: i128) {
        match self.units.checked_add(units) {
            Some(sum) => self.units = sum,
            None => self.out_of_range = true,
        }
    }

    /// The sum of two sums' terms (integer addition: in any grouping, the same).
    pub fn merge(mut self, other: Self) -> Self {
        self.add_units(other.units);
        self.out_of_range |= other.out_of_range;
        self
    }

    /// The sum rounded to the nearest `f64`.
    pub fn value(self) -> f64 {
        if self.out_of_range { f64::NAN } else { self.units as f64 / (HALF_SCALE * HALF_SCALE) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum(terms: &[f64]) -> ExactSum {
        terms.iter().fold(ExactSum::default(), |mut s, &t| {
            s.add(t);
            s
        })
    }

    #[test]
    fn terms_on_the_grid_sum_exactly() {
        // Each a multiple of 2^-80 that an `f64` holds exactly: their true sum, 1 + 2^-70, needs
        // 71 bits, more than an `f64` has; the fixed point holds it, and rounds once at the end.
        let tiny = 2f64.powi(-70);
        let s = sum(&[0.5, tiny, 0.25, 0.25]);
        assert_eq!(s.units, (1i128 << 80) + (1i128 << 10));
        assert_eq!(s.value(), 1.0);
        // Two orders that plain `f64` addition gives two answers for (0.6000000000000001, 0.6).
        assert_eq!(sum(&[0.1, 0.2, 0.3]).value(), sum(&[0.3, 0.2, 0.1]).value());
    }

    #[test]
    fn bits_below_the_unit_are_dropped_toward_zero() {
        let below = 2f64.powi(-81);
        assert_eq!(sum(&[below]).units, 0);
        assert_eq!(sum(&[-below]).units, 0);
        assert_eq!(sum(&[1.0 + f64::EPSILON]).units, (1i128 << 80) + (1i128 << 28));
        assert_eq!(sum(&[-0.75, 0.25]).value(), -0.5);
    }

    #[test]
    fn a_term_out_of_range_makes_the_sum_nan() {
        assert!(sum(&[0.5, f64::NAN]).value().is_nan());
        assert!(sum(&[f64::INFINITY]).value().is_nan());
        assert!(sum(&[LIMIT]).value().is_nan());
        assert!(sum(&[-LIMIT]).value().is_nan());
        assert!(sum(&[0.5]).merge(sum(&[f64::NEG_INFINITY])).value().is_nan());
        let largest = LIMIT - LIMIT * f64::EPSILON / 2.0; // the float just below 2^16
        assert_eq!(sum(&[largest, -largest, largest]).value(), largest);
        let mut near_the_top = ExactSum { units: i128::MAX - 5, out_of_range: false };
        near_the_top.add(1.0);
        assert!(near_the_top.value().is_nan());
    }

    proptest! {
        #[test]
        fn any_order_and_grouping_gives_the_same_sum(
            (terms, shuffled) in prop::collection::vec(-6.0e4f64..6.0e4, 0..200)
                .prop_flat_map(|terms| (Just(terms.clone()), Just(terms).prop_shuffle())),
            split in 0usize..200,
        ) {
            let whole = sum(&terms);
            let split = split.min(terms.len());
            let (left, right) = terms.split_at(split);
            prop_assert_eq!(sum(left).merge(sum(right)), whole);
            prop_assert_eq!(sum(right).merge(sum(left)), whole);
            prop_assert_eq!(sum(&shuffled), whole);
            // And it is close to the plain floating-point sum, which rounds at every term.
            let naive: f64 = terms.iter().sum();
            prop_assert!((whole.value() - naive).abs() <= 1e-6 * (1.0 + naive.abs()));
        }
    }
}
