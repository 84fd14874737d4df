//! Sums of `f64` that do not depend on the order of their terms: each term is cut to a multiple
//! of 2^-60 (exactly, by truncation toward zero) and added as an integer. The metrics row sums
//! every agent's levels in whatever order the ECS's columns hold them, on any number of threads,
//! and gets the same bits as any other order: after a resume, whose ECS tables are in roster
//! order, as in the run that was not interrupted, whose tables are not.

/// A sum of terms in fixed point, 2^-60 a unit: the terms' bits at and above 2^-60 are kept
/// exactly (all of them for a term of magnitude 2^-8 or more), the bits below are dropped, so
/// a term is off by less than 2^-60 (about 10^-18). Terms of magnitude 8 or more, infinities and
/// NaNs make the sum NaN. A term is less than 2^63 units, so no count of terms a `u64` can hold
/// takes the `i128` past its range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExactSum {
    units: i128,
    out_of_range: bool,
}

/// 2^60, the units in 1: a term times it is exact (a power of two) and, below [`LIMIT`], fits
/// an `i64` (a conversion of one instruction, where `f64 as i128` is a library call).
const SCALE: f64 = (1u64 << 60) as f64;

/// 8: the magnitude a term stays below (the metrics' levels are in 0–1), so that it is less
/// than 2^63 units.
const LIMIT: f64 = 8.0;

impl ExactSum {
    pub fn add(&mut self, term: f64) {
        // False for a NaN as for a term too large.
        if term.abs() < LIMIT {
            self.units += i128::from((term * SCALE) as i64); // truncated toward zero
        } else {
            self.out_of_range = true;
        }
    }

    /// The sum of two sums' terms (integer addition: in any grouping, the same).
    pub fn merge(self, other: Self) -> Self {
        Self { units: self.units + other.units, out_of_range: self.out_of_range | other.out_of_range }
    }

    /// The sum rounded to the nearest `f64`.
    pub fn value(self) -> f64 {
        if self.out_of_range { f64::NAN } else { self.units as f64 / SCALE }
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
        // Each a multiple of 2^-60 that an `f64` holds exactly: their true sum, 1 + 2^-58, needs
        // 59 bits, more than an `f64` has; the fixed point holds it, and rounds once at the end.
        let tiny = 2f64.powi(-58);
        let s = sum(&[0.5, tiny, 0.25, 0.25]);
        assert_eq!(s.units, (1i128 << 60) + (1i128 << 2));
        assert_eq!(s.value(), 1.0);
        // Two orders that plain `f64` addition gives two answers for (0.6000000000000001, 0.6).
        assert_eq!(sum(&[0.1, 0.2, 0.3]).value(), sum(&[0.3, 0.2, 0.1]).value());
    }

    #[test]
    fn bits_below_the_unit_are_dropped_toward_zero() {
        let below = 2f64.powi(-61);
        assert_eq!(sum(&[below]).units, 0);
        assert_eq!(sum(&[-below]).units, 0);
        assert_eq!(sum(&[1.0 + f64::EPSILON]).units, (1i128 << 60) + (1i128 << 8));
        // 2^-8 + 2^-60, exact in an `f64` (53 bits), is kept; 2^-9 + 2^-61 loses its last bit.
        assert_eq!(sum(&[2f64.powi(-8) + 2f64.powi(-60)]).units, (1i128 << 52) + 1);
        assert_eq!(sum(&[2f64.powi(-9) + 2f64.powi(-61)]).units, 1i128 << 51);
        assert_eq!(sum(&[-0.75, 0.25]).value(), -0.5);
    }

    #[test]
    fn a_term_out_of_range_makes_the_sum_nan() {
        assert!(sum(&[0.5, f64::NAN]).value().is_nan());
        assert!(sum(&[f64::INFINITY]).value().is_nan());
        assert!(sum(&[LIMIT]).value().is_nan());
        assert!(sum(&[-LIMIT]).value().is_nan());
        assert!(sum(&[0.5]).merge(sum(&[f64::NEG_INFINITY])).value().is_nan());
        let largest = LIMIT - LIMIT * f64::EPSILON / 2.0; // the float just below 8
        assert_eq!(sum(&[largest, -largest, largest]).value(), largest);
        // The largest term converts to its units exactly: `as i64` would saturate, not fail, if
        // LIMIT × SCALE passed 2^63. Below it, 2^64 such terms (as many as a `u64` counts) stay
        // within the `i128`.
        assert_eq!((largest * SCALE) as i64 as f64, largest * SCALE, "a term's units fit an i64");
    }

    proptest! {
        #[test]
        fn any_order_and_grouping_gives_the_same_sum(
            // Terms of every magnitude from about 2^-40 to 4, so that many have bits below the unit.
            (terms, shuffled) in prop::collection::vec((-1.0f64..1.0, -40i32..=2), 0..200)
                .prop_map(|terms| terms.into_iter().map(|(x, e)| x * 2f64.powi(e)).collect::<Vec<_>>())
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
