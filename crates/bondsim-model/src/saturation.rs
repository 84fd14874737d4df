//! The saturating curve 1 − e^(−x), computed by the model itself rather than by the system's
//! `exp`: the rules that grow toward a ceiling with contact (familiarity, the contact part of
//! reward, oxytocin's drive) and every rate turned into a per-tick chance or fraction
//! (`params::per_tick`) use it.
//!
//! - **The same bits on every processor and system.** It is made of additions, multiplications
//!   and one division, each rounded as IEEE 754 says, in a fixed order (Rust does not fuse them),
//!   so a run gives the same output on any x86-64 or other machine. The C library's `exp` picks
//!   its code by processor (glibc has a variant for processors with fused multiply-add) and may
//!   change between versions.
//! - **Many at a time.** The learning pass takes two of these curves for every bond every tick
//!   (about 470 million in the 100k bench run). Made of straight-line arithmetic, without a call
//!   or a branch, they compile to vector code: [`saturations`] computes a block of them with the
//!   processor's widest vectors (AVX-512 or AVX2 where it has them, chosen when the program
//!   runs), about five times faster than calling `exp` for each, with the same bits as
//!   [`saturation`] one at a time (a test checks it).
//!
//! The method is fdlibm's `exp` (Sun Microsystems, 1993; also FreeBSD's `e_exp.c`): x is reduced
//! to r = x − k ln 2 with |r| ≤ ln 2 / 2 (ln 2 in two parts, so k ln 2 is exact), e^r comes from
//! a rational function of r whose error is below 2^−59, and the result is scaled by 2^k. The
//! rounding to the nearest integer k adds and subtracts 1.5 × 2^52, which needs no rounding
//! instruction, and 2^k is built from its bits. fdlibm states an error under one unit in the
//! last place; a test checks 2 million values within one unit of the `libm` crate's (musl's,
//! itself within about half a unit of the exact value), which the model's other rules use.

use multiversion::multiversion;

// fdlibm's constants (its hex in the comments; these decimals give exactly those doubles).
const LN2_HI: f64 = 0.693_147_180_369_123_8; // 0x3fe62e42_fee00000: ln 2 with its low 32 bits zero
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10; // 0x3dea39ef_35793c76: ln 2 − LN2_HI
const INV_LN2: f64 = std::f64::consts::LOG2_E; // 0x3ff71547_652b82fe
const P1: f64 = 0.166_666_666_666_666_02; // 0x3fc55555_5555553e
const P2: f64 = -0.002_777_777_777_701_559_3; // 0xbf66c16c_16bebd93
const P3: f64 = 6.613_756_321_437_934e-5; // 0x3f11566a_af25de2c
const P4: f64 = -1.653_390_220_546_525_2e-6; // 0xbebbbd41_c5d26bf1
const P5: f64 = 4.138_136_797_057_238_5e-8; // 0x3e663769_72bea4d0
/// 1.5 × 2^52: adding it rounds a double of magnitude below 2^51 to an integer, which then sits
/// in the low bits of the sum.
const ROUNDER: f64 = 6_755_399_441_055_744.0;
/// Beyond ±708, e^(∓x) would leave the normal doubles; 1 − e^(−708) is 1 exactly, as is
/// 1 − e^(−x) for any x above 38, so clamping there changes no result of x ≥ 0.
const LIMIT: f64 = 708.0;

/// 1 − e^(−x), for x ≥ 0 (as the rules use it; correct for x down to −708 too). NaN stays NaN.
#[inline(always)]
pub fn saturation(x: f64) -> f64 {
    1.0 - exp_neg(x)
}

/// e^(−x), with x clamped to ±708.
#[inline(always)]
fn exp_neg(x: f64) -> f64 {
    // Selects, not `clamp`, so that NaN passes through (a NaN is a bug upstream, for tests to
    // catch) and the vector code has no branch.
    let x = if x > LIMIT { LIMIT } else { x };
    let x = if x < -LIMIT { -LIMIT } else { x };
    let y = -x;
    let shifted = y * INV_LN2 + ROUNDER;
    let k = shifted - ROUNDER;
    // 2^k from its bits: k + 1023 in the exponent field (k is within ±1022 after the clamp).
    let scale = f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52);
    let hi = y - k * LN2_HI;
    let lo = k * LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
    let exp_r = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    exp_r * scale
}

/// [`saturation`] of every value over `scale`, in place (`v` becomes 1 − e^(−v / scale)), with
/// the same bits as one at a time. The code for AVX-512 and for AVX2 is compiled alongside the
/// generic code, and the processor's features choose one the first time this is called; Rust
/// neither fuses nor reorders floating-point operations, so every version gives the same bits.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq", "x86_64+avx2+fma", "aarch64+neon"))]
pub fn saturations(values: &mut [f64], scale: f64) {
    for v in values.iter_mut() {
        *v = saturation(*v / scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic spread of values: uniform on [0, 708) for even draws, on [0, 0.708) for
    /// odd ones (where the curve changes fastest).
    fn spread(n: usize) -> Vec<f64> {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|i| {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                u * LIMIT * if i % 2 == 0 { 1.0 } else { 1e-3 }
            })
            .collect()
    }

    #[test]
    fn the_constants_are_fdlibms_to_the_bit() {
        let bits = [LN2_HI, LN2_LO, INV_LN2, P1, P2, P3, P4, P5].map(f64::to_bits);
        assert_eq!(
            bits,
            [
                0x3fe6_2e42_fee0_0000,
                0x3dea_39ef_3579_3c76,
                0x3ff7_1547_652b_82fe,
                0x3fc5_5555_5555_553e,
                0xbf66_c16c_16be_bd93,
                0x3f11_566a_af25_de2c,
                0xbebb_bd41_c5d2_6bf1,
                0x3e66_3769_72be_a4d0,
            ]
        );
    }

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn the_exponential_is_within_one_unit_in_the_last_place_of_libms() {
        // The `libm` crate's (musl's) is within about half a unit of the exact value.
        let (worst, at) = spread(2_000_000)
            .into_iter()
            .map(|x| (ulps(exp_neg(x), libm::exp(-x)), x))
            .max_by(|a, b| a.0.cmp(&b.0))
            .unwrap();
        assert!(worst <= 1, "{worst} units in the last place at x = {at}");
        // 1 − e^(−x) near 0 keeps only the bits of 1 − e^(−x) that survive the subtraction: the
        // two agree to a unit in the last place of 1.
        let worst =
            spread(200_000).into_iter().map(|x| (saturation(x) - (1.0 - libm::exp(-x))).abs()).fold(0.0, f64::max);
        assert!(worst <= f64::EPSILON, "the saturation is {worst:e} from libm's");
    }

    #[test]
    fn the_ends_of_the_range_and_nan() {
        for (x, want) in [(0.0, 0.0), (5e-324, 0.0), (38.0, 1.0), (708.0, 1.0), (1e300, 1.0), (f64::INFINITY, 1.0)] {
            assert_eq!(saturation(x), want, "x = {x}");
        }
        // Near 0 the curve is x to within the rounding of 1 − e^(−x) (a unit of 1 is 2.2e-16).
        assert!((saturation(1e-10) - 1e-10).abs() < 1e-15, "{}", saturation(1e-10));
        assert!(saturation(f64::NAN).is_nan());
        // Below zero, as far as the clamp: e^708 is finite.
        assert!(ulps(1.0 - saturation(-700.0), libm::exp(700.0)) <= 1);
        assert!(saturation(-1e300).is_finite());
    }

    #[test]
    fn the_vector_code_gives_the_same_bits_as_one_at_a_time() {
        // 1,000,003 values, so the vector loop has a tail; and the special values.
        let mut values = spread(1_000_003);
        values.extend([0.0, 5e-324, 38.0, 708.0, 709.0, f64::INFINITY, -700.0, -1e300, f64::NAN]);
        for scale in [1.0, 3.0, 1e-3] {
            let mut vectors = values.clone();
            saturations(&mut vectors, scale);
            for (x, v) in values.iter().zip(&vectors) {
                assert_eq!(saturation(*x / scale).to_bits(), v.to_bits(), "x = {x}, scale {scale}");
            }
        }
    }
}
