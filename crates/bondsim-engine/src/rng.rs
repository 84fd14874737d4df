//! Deterministic random streams, and the normal draws made from them.
//!
//! Every draw comes from a stream keyed by (seed, purpose, agent or bond key, tick), never from a
//! shared generator whose order would depend on thread scheduling. That is what makes a run
//! byte-identical at any thread count.
//!
//! Normal draws ([`standard_normal`], [`Normal`]) are made here rather than by `rand_distr`, for
//! the same bits on every processor: `rand_distr`'s ziggurat calls `exp` and `ln` through the
//! standard library, that is the C library, whose code glibc picks by processor (a variant for
//! processors with fused multiply-add), so the draws that take those paths (about 1.5 %) could
//! come out apart on a processor without it, as the rules' `exp` did (`tests/processors.rs`).
//! This is the same method (Marsaglia and Tsang's ziggurat with 256
//! layers, in Doornik's form, as `rand_distr` has it), its tables computed once from the `libm`
//! crate's functions, which are Rust code made of IEEE operations: the same bits everywhere.

use std::sync::LazyLock;

use rand::distr::Open01;
use rand::{Rng, RngExt};
use rand_pcg::Pcg64Mcg;

/// What a stream is for: two purposes never share draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    Founders = 1,
    FounderBonds = 2,
    Encounter = 3,
    Bond = 4,
    Mortality = 5,
    Birth = 6,
    Newborn = 7,
    Intervention = 8,
    Experience = 9,
}

/// SplitMix64 finaliser: a bijective mix with good avalanche, used to combine keys.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator for one (seed, purpose, key, tick). Its 128-bit state is the mixed key and a
/// second mix of it: a stream is made for every agent and several purposes every tick, and this
/// costs two multiplications where `seed_from_u64` runs a PCG32 four times to fill a seed.
pub fn stream(seed: u64, purpose: Purpose, key: u64, tick: u64) -> Pcg64Mcg {
    let h = mix(mix(mix(seed ^ mix(purpose as u64)) ^ key) ^ tick.rotate_left(32));
    Pcg64Mcg::new(u128::from(mix(h)) << 64 | u128::from(h))
}

/// A key for an unordered pair of agents.
pub fn pair_key(a: u64, b: u64) -> u64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    mix(lo) ^ hi.rotate_left(17)
}

/// A normal distribution with the given mean and standard deviation: the mean plus the
/// deviation times a [`standard_normal`] draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normal {
    mean: f64,
    sd: f64,
}

impl Normal {
    /// Panics unless the mean is finite and the deviation finite and not negative (the config's
    /// checks keep them so).
    pub fn new(mean: f64, sd: f64) -> Self {
        assert!(
            mean.is_finite() && sd.is_finite() && sd >= 0.0,
            "a normal distribution needs a finite mean and spread"
        );
        Self { mean, sd }
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.mean + self.sd * standard_normal(rng)
    }
}

/// Layers of the ziggurat.
const LAYERS: usize = 256;

/// Where the base layer's rectangle ends and the tail begins, for 256 layers (Marsaglia and
/// Tsang 2000; `rand_distr`'s `ZIG_NORM_R`).
const TAIL_START: f64 = 3.654_152_885_361_009;

/// The ziggurat under the density e^(−x²/2), `f[i]` = e^(−`x[i]`²/2): layer `i` is [0, `x[i]`)
/// wide, between heights `f[i]` and `f[i + 1]`, and every layer has the same area. The base
/// layer, under height `f[1]` and with the tail beyond `x[1]`, is taken as a rectangle `x[0]`
/// wide; `x[256]` is 0 and `f[256]` 1, the peak.
#[derive(Debug)]
struct Ziggurat {
    x: [f64; LAYERS + 1],
    f: [f64; LAYERS + 1],
}

static ZIGGURAT: LazyLock<Ziggurat> = LazyLock::new(Ziggurat::new);

/// The density the ziggurat covers, without its constant factor.
fn density(x: f64) -> f64 {
    libm::exp(-0.5 * x * x)
}

impl Ziggurat {
    /// Each layer's area is the base layer's (its rectangle, and the tail beyond it); each
    /// layer's edge is where the one below it, of that area, reaches the density.
    fn new() -> Self {
        let r = TAIL_START;
        let tail = libm::sqrt(std::f64::consts::FRAC_PI_2) * libm::erfc(r * std::f64::consts::FRAC_1_SQRT_2);
        let area = r * density(r) + tail;
        let mut x = [0.0; LAYERS + 1];
        x[0] = area / density(r);
        x[1] = r;
        for i in 1..LAYERS - 1 {
            x[i + 1] = libm::sqrt(-2.0 * libm::log(density(x[i]) + area / x[i]));
        }
        Self { x, f: x.map(density) }
    }
}

/// A standard normal draw, with the same bits on every processor (see the module's notes).
/// One 64-bit draw gives the layer (its low 8 bits) and a point across it (its top 52 bits);
/// most points fall inside the layer's rectangle under the curve and are taken at once. That
/// path is inlined into the callers, the rest (about 1.5 % of draws) is a call away: a call for
/// every draw made the caregiving phase, which draws twice per agent and tick, 13–32 % slower.
#[inline]
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let z = &*ZIGGURAT;
    let (i, u, x) = point(z, rng.next_u64());
    if x.abs() < z.x[i + 1] { x } else { outside_rectangle(z, rng, i, u, x) }
}

/// The layer, the uniform across it and the point that one 64-bit draw gives.
#[inline(always)]
fn point(z: &Ziggurat, bits: u64) -> (usize, f64, f64) {
    let i = (bits & 0xff) as usize;
    // Uniform on [−1, 1): a double in [2, 4) made from its bits, less 3.
    let u = f64::from_bits(0x4000_0000_0000_0000 | bits >> 12) - 3.0;
    (i, u, u * z.x[i])
}

/// The rest of a draw whose point fell outside its layer's rectangle: from the tail for the
/// base layer; otherwise the point if it lies under the curve, else drawn again.
#[cold]
#[inline(never)]
fn outside_rectangle<R: Rng + ?Sized>(z: &Ziggurat, rng: &mut R, mut i: usize, mut u: f64, mut x: f64) -> f64 {
    loop {
        if i == 0 {
            return tail(rng, u < 0.0);
        }
        if z.f[i + 1] + (z.f[i] - z.f[i + 1]) * rng.random::<f64>() < density(x) {
            return x;
        }
        (i, u, x) = point(z, rng.next_u64());
        if x.abs() < z.x[i + 1] {
            return x;
        }
    }
}

/// A draw from the tail beyond [`TAIL_START`] (Marsaglia 1964), on the side asked.
fn tail<R: Rng + ?Sized>(rng: &mut R, negative: bool) -> f64 {
    loop {
        let x = libm::log(rng.sample::<f64, _>(Open01)) / TAIL_START;
        let y = libm::log(rng.sample::<f64, _>(Open01));
        if -2.0 * y >= x * x {
            return if negative { x - TAIL_START } else { TAIL_START - x };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_repeat_for_the_same_key_and_differ_otherwise() {
        let draw = |p, k, t| stream(7, p, k, t).random::<u64>();
        assert_eq!(draw(Purpose::Encounter, 3, 9), draw(Purpose::Encounter, 3, 9));
        assert_ne!(draw(Purpose::Encounter, 3, 9), draw(Purpose::Encounter, 3, 10));
        assert_ne!(draw(Purpose::Encounter, 3, 9), draw(Purpose::Encounter, 4, 9));
        assert_ne!(draw(Purpose::Encounter, 3, 9), draw(Purpose::Mortality, 3, 9));
        assert_eq!(pair_key(1, 2), pair_key(2, 1));
    }

    #[test]
    fn the_ziggurats_layers_have_equal_areas_and_its_edges_are_the_published_ones() {
        let z = &*ZIGGURAT;
        let area = z.x[0] * z.f[1];
        // The base layer: its rectangle and the tail, as a rectangle `x[0]` wide.
        assert!((area - 0.004_928_673_233_99).abs() < 1e-13, "{area}");
        for i in 1..LAYERS {
            let layer = z.x[i] * (z.f[i + 1] - z.f[i]);
            assert!((layer / area - 1.0).abs() < 1e-9, "layer {i}: {layer} against {area}");
        }
        // The last layer closes at the peak: the layer below the top one, of the same area,
        // reaches height 1.
        assert!((density(z.x[LAYERS - 1]) + area / z.x[LAYERS - 1] - 1.0).abs() < 1e-12);
        assert_eq!((z.x[LAYERS], z.f[LAYERS]), (0.0, 1.0));
        // Edges of rand_distr's generated table (`ZIG_NORM_X`), which this method drew from.
        for (i, published) in [
            (0, 3.910_757_959_537_09),
            (2, 3.449_278_298_560_964_5),
            (128, 1.535_342_571_438_843),
            (255, 0.215_241_895_913_273_8),
        ] {
            assert!((z.x[i] / published - 1.0).abs() < 1e-9, "x[{i}] = {} against {published}", z.x[i]);
        }
    }

    /// The standard normal's share beyond `x` on one side.
    fn upper_tail(x: f64) -> f64 {
        0.5 * libm::erfc(x * std::f64::consts::FRAC_1_SQRT_2)
    }

    #[test]
    fn normal_draws_have_the_normal_distribution() {
        let n = 2_000_000;
        let mut rng = stream(11, Purpose::Experience, 5, 0);
        let draws: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let count = n as f64;
        let mean = draws.iter().sum::<f64>() / count;
        let variance = draws.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / count;
        // Four standard errors: 0.0028 for the mean, 0.004 for the variance.
        assert!(mean.abs() < 0.003, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.004, "variance {variance}");
        // The share beyond each point, on each side, within four standard errors of the normal's:
        // inside the rectangles (0.5), across the wedges (1, 2, 3) and in the tail beyond the base
        // layer's edge (about 260 draws a side).
        for x in [0.5, 1.0, 2.0, 3.0, TAIL_START, 4.0] {
            let want = upper_tail(x);
            let error = 4.0 * (want * (1.0 - want) / count).sqrt();
            let above = draws.iter().filter(|&&z| z > x).count() as f64 / count;
            let below = draws.iter().filter(|&&z| z < -x).count() as f64 / count;
            assert!((above - want).abs() < error, "beyond {x}: {above} against {want}");
            assert!((below - want).abs() < error, "below -{x}: {below} against {want}");
        }
        // Normal's mean and spread.
        let mut rng = stream(11, Purpose::Newborn, 5, 0);
        let shifted = Normal::new(2.0, 0.5);
        let mean = (0..100_000).map(|_| shifted.sample(&mut rng)).sum::<f64>() / 100_000.0;
        assert!((mean - 2.0).abs() < 0.01, "{mean}");
        assert_eq!(Normal::new(3.0, 0.0).sample(&mut rng), 3.0);
    }

    #[test]
    fn normal_draws_are_the_bits_this_method_gives() {
        // The first draws of one stream, and a digest of a million (about 15,000 of them fall
        // between the rectangles, where `exp` decides, and 280 in the tails, made with `ln`): a
        // change to the method, its tables or the functions they are computed with changes every
        // run's output, and shows here first. The same on every processor (tests/processors.rs
        // runs the whole program on three).
        let mut rng = stream(42, Purpose::Experience, 1, 1);
        let first: Vec<u64> = (0..4).map(|_| standard_normal(&mut rng).to_bits()).collect();
        assert_eq!(first, [0xbfdf_39a2_6e1e_dc92, 0x3fc6_8d9e_cdad_d271, 0xbfcc_87db_8f5e_866b, 0xbff3_c2f6_cd33_6981]);
        let digest = (0..1_000_000).fold(0u64, |h, _| mix(h ^ standard_normal(&mut rng).to_bits()));
        assert_eq!(digest, 0x6b7e_f87a_7075_37cc);
    }
}
