//! The rules of the model: small pure functions, one per mechanism, each tested on its own.
//! The claim of the science brief (MODEL.md, claims 1–10) each rule serves is in its doc.

use crate::params::{BondParams, CaregivingParams, DevelopmentParams, LifeParams, NeuroParams, StressParams, per_tick};
use crate::saturation::saturations;
use crate::state::{BondKind, Category, WorkingModel};
use multiversion::multiversion;

/// Clamp to [0, 1]; NaN is a bug upstream and is not hidden here (it stays NaN for tests to catch).
#[inline]
pub fn unit(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

/// First-order move of `level` toward `target` by `fraction` of the gap (fraction in [0, 1]).
#[inline]
pub fn relax(level: f64, target: f64, fraction: f64) -> f64 {
    level + (target - level) * fraction
}

/// Claim 1 (developmental): plasticity of the attachment system over age, 1 in infancy, falling
/// through the sensitive period (half-way at `sensitive_period_midpoint_years`) to a small
/// lifelong floor `adult_plasticity`. A logistic fall.
#[inline]
pub fn plasticity(age_years: f64, p: &DevelopmentParams) -> f64 {
    let fall =
        1.0 / (1.0 + libm::exp((age_years - p.sensitive_period_midpoint_years) / p.sensitive_period_width_years));
    p.adult_plasticity + (1.0 - p.adult_plasticity) * fall
}

/// Insecurity in [0, 1]: the mean of anxiety and avoidance (of a working model, or of an agent's
/// copy of it in the engine's view).
#[inline]
pub fn insecurity(anxiety: f64, avoidance: f64) -> f64 {
    0.5 * (anxiety + avoidance)
}

/// The category of a working model: disorganised when the disorganisation marker is above
/// one half, otherwise by which of anxiety and avoidance is at or above one half.
#[inline]
pub fn categorise(anxiety: f64, avoidance: f64, disorganisation: f64) -> Category {
    if disorganisation >= 0.5 || (anxiety >= 0.5 && avoidance >= 0.5) {
        Category::Disorganised
    } else if anxiety >= 0.5 {
        Category::Anxious
    } else if avoidance >= 0.5 {
        Category::Avoidant
    } else {
        Category::Secure
    }
}

/// Familiarity of a pair in [0, 1), for a block of bonds in place (cumulative contact hours in,
/// familiarity out): it grows with the bond's cumulative contact, 1 − e^(−hours /
/// `familiarity_hours`), many bonds at a time in the processor's vectors (the learning pass).
#[inline]
pub fn familiarities(total_contact_hours: &mut [f64], p: &BondParams) {
    saturations(total_contact_hours, p.familiarity_hours);
}

/// Claim 5 (bio-behavioural synchrony): how well two people's behaviour and physiology
/// coordinate in contact, in [0, 1]. Higher with familiarity (the bond's history), lower with
/// either partner's avoidance or disorganisation and with a mismatch of their stress levels.
#[inline]
pub fn synchrony(avoidance: [f64; 2], cortisol: [f64; 2], disorganisation: [f64; 2], familiarity: f64) -> f64 {
    let openness = 1.0 - 0.5 * (avoidance[0] + avoidance[1]);
    let physiological_match = 1.0 - 0.5 * (cortisol[0] - cortisol[1]).abs();
    let organisation = 1.0 - 0.3 * (disorganisation[0] + disorganisation[1]);
    unit((0.35 + 0.65 * familiarity) * openness * physiological_match * organisation)
}

/// The contact part of [`contact_reward`], in [0, 1), for a block of bonds in place (hours per
/// week in): saturating in the hours, 1 − e^(−hours / `reward_contact_hours`), many bonds at a
/// time in the processor's vectors (the learning pass).
#[inline]
pub fn contact_saturations(contact_hours_per_week: &mut [f64], p: &BondParams) {
    saturations(contact_hours_per_week, p.reward_contact_hours);
}

/// Claim 6 (oxytocin–dopamine interplay): reward of one tick's contact with a partner, in [0, 1],
/// from its contact part ([`contact_saturations`]). Contact is necessary (claim 4: no contact, no
/// reward); synchrony makes it rewarding and the partners' oxytocin-receptor density gates how
/// salient it is.
#[inline]
pub fn contact_reward(contact: f64, synchrony: f64, receptor_density: [f64; 2]) -> f64 {
    let salience = 0.5 + 0.25 * (receptor_density[0] + receptor_density[1]);
    unit(contact * (0.25 + 0.75 * synchrony) * salience)
}

/// Claim 6 and claim 3: reward-prediction-error learning of a bond's value, and strength
/// consolidating toward value. Value rises fast on positive errors and falls slowly on negative
/// ones, so bonds are partner-specific (each has its own value) and enduring. Takes the bond's
/// value and strength as stored and gives the new ones, with the reward-prediction error;
/// computed in double precision, stored in single (`BondState`). The learning pass takes it for
/// a block of bonds at once ([`learn_block`]).
#[inline(always)]
pub fn learn_bond(value: f32, strength: f32, reward: f64, rates: &BondRates) -> (f32, f32, f64) {
    let value = f64::from(value);
    let rpe = reward - value;
    let rate = if rpe > 0.0 { rates.learning } else { rates.extinction };
    let value = unit(value + rate * rpe);
    let strength = unit(relax(f64::from(strength), value, rates.consolidation));
    (value as f32, strength as f32, rpe)
}

/// Bonds per block of [`learn_block`].
pub const LEARN_BLOCK: usize = 64;

/// A block of bonds' inputs to [`synchrony`], [`contact_reward`] and [`learn_bond`], field by
/// field (a structure of arrays), so that [`learn_block`] computes the whole block in the
/// processor's vectors. Each pair holds the bond's two partners' levels as the engine's agent view
/// keeps them (single precision); a slot the engine leaves unset is computed and not read.
#[derive(Debug, Clone)]
pub struct LearnBlock {
    pub avoidance: [[f32; LEARN_BLOCK]; 2],
    pub cortisol: [[f32; LEARN_BLOCK]; 2],
    pub disorganisation: [[f32; LEARN_BLOCK]; 2],
    pub receptor_density: [[f32; LEARN_BLOCK]; 2],
    /// The familiarity curve of each bond ([`familiarities`]).
    pub familiarity: [f64; LEARN_BLOCK],
    /// The contact part of each bond's reward ([`contact_saturations`]).
    pub contact: [f64; LEARN_BLOCK],
    /// Each bond's value and strength as stored: read, then the learnt ones written back.
    pub value: [f32; LEARN_BLOCK],
    pub strength: [f32; LEARN_BLOCK],
    /// Written: each bond's synchrony and reward.
    pub synchrony: [f64; LEARN_BLOCK],
    pub reward: [f64; LEARN_BLOCK],
}

impl Default for LearnBlock {
    fn default() -> Self {
        let (pair, wide, narrow) = ([[0.0; LEARN_BLOCK]; 2], [0.0; LEARN_BLOCK], [0.0; LEARN_BLOCK]);
        Self {
            avoidance: pair,
            cortisol: pair,
            disorganisation: pair,
            receptor_density: pair,
            familiarity: wide,
            contact: wide,
            value: narrow,
            strength: narrow,
            synchrony: wide,
            reward: wide,
        }
    }
}

/// [`synchrony`], [`contact_reward`] and [`learn_bond`] for every bond of a block, after the two
/// curves ([`familiarities`], [`contact_saturations`]), with the same bits as bond by bond (a
/// test checks it). The code for AVX-512 and for AVX2 is compiled alongside the generic code and
/// chosen when the program runs, as for [`saturations`]; Rust neither fuses nor reorders
/// floating-point operations, so every version gives the same bits.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq", "x86_64+avx2+fma", "aarch64+neon"))]
pub fn learn_block(block: &mut LearnBlock, rates: &BondRates) {
    for i in 0..LEARN_BLOCK {
        let learnt = block.learn(i, rates);
        (block.synchrony[i], block.reward[i], block.value[i], block.strength[i]) = learnt;
    }
}

impl LearnBlock {
    /// Bond `i`'s synchrony, reward, and learnt value and strength, from its inputs in the block:
    /// the rules for one bond, which [`learn_block`] takes for each bond in its vector code (the
    /// tests take it bond by bond in the generic code, and compare the bits).
    #[inline(always)]
    fn learn(&self, i: usize, rates: &BondRates) -> (f64, f64, f32, f32) {
        let pair = |levels: &[[f32; LEARN_BLOCK]; 2]| [f64::from(levels[0][i]), f64::from(levels[1][i])];
        let synchrony =
            synchrony(pair(&self.avoidance), pair(&self.cortisol), pair(&self.disorganisation), self.familiarity[i]);
        let reward = contact_reward(self.contact[i], synchrony, pair(&self.receptor_density));
        let (value, strength, _) = learn_bond(self.value[i], self.strength[i], reward, rates);
        (synchrony, reward, value, strength)
    }
}

/// The per-tick fractions of bond learning, computed once per tick rather than per bond.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BondRates {
    pub learning: f64,
    pub extinction: f64,
    pub consolidation: f64,
}

impl BondRates {
    #[inline]
    pub fn new(p: &BondParams, dt_years: f64) -> Self {
        Self {
            learning: per_tick(p.learning_per_year, dt_years),
            extinction: per_tick(p.extinction_per_year, dt_years),
            consolidation: per_tick(p.consolidation_per_year, dt_years),
        }
    }
}

/// Claims 3, 4 and 6: the share of an agent's contact time a bond asks for. It rises with the
/// bond's strength and kind (attachment figures first), so time goes to the strongest bonds and
/// a few become close; a new bond also asks for time while it is new ([`novelty`]: dopamine's
/// response to novelty, a function of the bond's age that the engine tabulates), so that it can
/// turn out to be rewarding.
#[inline]
pub fn contact_weight(kind: BondKind, strength: f64, novelty: f64) -> f64 {
    kind.closeness_weight() * (0.1 + strength) + novelty
}

/// The novelty part of a bond's contact weight, fading with the bond's age.
#[inline]
pub fn novelty(bond_age_years: f64, p: &BondParams) -> f64 {
    p.novelty_weight * libm::exp(-bond_age_years / p.novelty_years)
}

/// Claim 3 (selective): chosen bonds are classed by strength into the Dunbar-like layers.
#[inline]
pub fn chosen_kind(strength: f64, p: &BondParams) -> BondKind {
    // The same choice as testing the thresholds in turn, without branches: the learning pass
    // classes bonds of all strengths one after another, where a branch would often be
    // mispredicted.
    const LAYERS: [BondKind; 3] = [BondKind::CloseFriend, BondKind::Friend, BondKind::Acquaintance];
    let close = strength >= p.close_friend_strength;
    let friend = strength >= p.friend_strength;
    LAYERS[usize::from(!close) * (1 + usize::from(!friend))]
}

/// Claim 5: the oxytocin level contact drives an agent toward, from the drive of the
/// synchrony-weighted contact hours per week it had ([`oxytocin_drives`]), scaled by its
/// receptor density.
#[inline]
pub fn oxytocin_target(drive: f64, receptor_density: f64, p: &NeuroParams) -> f64 {
    unit(p.oxytocin_baseline + p.oxytocin_gain * receptor_density * drive)
}

/// The contact part of [`oxytocin_target`] for a block of agents, in place (synchronous hours
/// per week in, drive in [0, 1) out): 1 − e^(−hours / `oxytocin_contact_hours`), many agents at
/// a time in the processor's vectors.
#[inline]
pub fn oxytocin_drives(synchronous_hours_per_week: &mut [f64], p: &NeuroParams) {
    saturations(synchronous_hours_per_week, p.oxytocin_contact_hours);
}

/// Tonic dopamine from the mean reward of an agent's bonds this tick.
#[inline]
pub fn dopamine_level(mean_reward: f64, p: &NeuroParams) -> f64 {
    unit(p.dopamine_baseline + p.dopamine_gain * mean_reward)
}

/// Closeness an agent wants: anxious agents want more, avoidant agents less.
#[inline]
pub fn desired_closeness(anxiety: f64, avoidance: f64, p: &StressParams) -> f64 {
    p.desired_closeness * (1.0 + p.anxiety_desire_gain * anxiety) * (1.0 - p.avoidance_desire_cut * avoidance)
}

/// Claim 7: loneliness is the gap between desired and felt closeness, as a share of desired.
#[inline]
pub fn loneliness(felt_closeness: f64, desired_closeness: f64) -> f64 {
    unit((desired_closeness - felt_closeness) / desired_closeness)
}

/// Claim 7: the cortisol level stressors drive toward. Loneliness raises it; oxytocin above
/// baseline (bonds) buffers it.
#[inline]
pub fn cortisol_target(loneliness: f64, oxytocin: f64, oxytocin_baseline: f64, p: &StressParams) -> f64 {
    unit(
        p.cortisol_baseline + p.cortisol_loneliness_gain * loneliness
            - p.oxytocin_buffer * (oxytocin - oxytocin_baseline).max(0.0),
    )
}

/// One tick of cortisol: recovery toward the target by `step`, the fraction of the way a tick
/// goes at a speed set by glucocorticoid-receptor sensitivity ([`cortisol_steps`]; claim 8:
/// programmed by early care).
#[inline]
pub fn update_cortisol(cortisol: f64, target: f64, step: f64) -> f64 {
    unit(relax(cortisol, target, step))
}

/// The steps of [`update_cortisol`] for a block of agents, in place (glucocorticoid-receptor
/// sensitivity in, `per_tick(cortisol_recovery_per_year × GR, dt)` out): the fraction of the way
/// to its target cortisol goes in a tick. The same bits, many at a time in vectors.
#[inline]
pub fn cortisol_steps(gr_sensitivity: &mut [f64], dt_years: f64, p: &StressParams) {
    for x in gr_sensitivity.iter_mut() {
        *x = p.cortisol_recovery_per_year * *x * dt_years;
    }
    saturations(gr_sensitivity, 1.0);
}

/// Claim 7: allostatic load accumulates while cortisol stays above a threshold and recovers slowly.
#[inline]
pub fn update_allostatic_load(load: f64, cortisol: f64, dt_years: f64, p: &StressParams) -> f64 {
    let excess = (cortisol - p.load_threshold).max(0.0);
    let gain = p.load_gain_per_year * excess * (1.0 - load);
    let loss = p.load_recovery_per_year * load;
    unit(load + (gain - loss) * dt_years)
}

/// A descriptive health index in [0, 1]: lowered by allostatic load and by age past 40 (its age
/// part, [`health_age_factor`]).
#[inline]
pub fn health(allostatic_load: f64, age_factor: f64) -> f64 {
    unit((1.0 - 0.6 * allostatic_load) * age_factor)
}

/// The age part of [`health`], in (0, 1]: 1 up to 40 years, then falling (the engine tabulates
/// it by age).
#[inline]
pub fn health_age_factor(age_years: f64) -> f64 {
    libm::exp(-(age_years - 40.0).max(0.0) / 60.0)
}

/// Claim 7: yearly death hazard, a Gompertz age baseline ([`gompertz_baseline`]) raised by
/// allostatic load.
#[inline]
pub fn mortality_hazard_per_year(baseline: f64, allostatic_load: f64, p: &LifeParams) -> f64 {
    baseline * libm::exp(p.load_mortality * allostatic_load)
}

/// The age part of [`mortality_hazard_per_year`]: the Gompertz baseline (per year; the engine
/// tabulates it by age).
#[inline]
pub fn gompertz_baseline(age_years: f64, p: &LifeParams) -> f64 {
    p.gompertz_a_per_year * libm::exp(p.gompertz_b * age_years)
}

/// A number the chance of death in a tick, `per_tick(mortality_hazard_per_year(baseline, load))`,
/// stays below for every allostatic load in [0, 1]: so that a uniform draw at or above it
/// decides, without the two `exp`, that the agent lives (most agents, most ticks). Twice the
/// largest hazard times the tick: 1 − e^(−x) ≤ x, and the factor 2 covers the roundings.
#[inline]
pub fn death_chance_bound(baseline: f64, dt_years: f64, p: &LifeParams) -> f64 {
    2.0 * baseline * libm::exp(p.load_mortality.max(0.0)) * dt_years
}

/// Yearly births to a partnered woman at `age_years`: a plateau over the fertile years with
/// lower rates in the first and last five years.
#[inline]
pub fn fertility_per_year(age_years: f64, p: &LifeParams) -> f64 {
    if age_years < p.fertile_from_years || age_years > p.fertile_until_years {
        return 0.0;
    }
    let from_start = age_years - p.fertile_from_years;
    let to_end = p.fertile_until_years - age_years;
    let ramp = (from_start / 5.0).min(1.0).min(to_end / 5.0).max(0.2);
    p.fertility_per_year * ramp
}

/// Yearly separation hazard of a couple: high for weak bonds, low for strong ones, raised by
/// either partner's insecurity. Because strength grows with a bond's age, the hazard falls with
/// it (Rosenfeld 2014) without being written in.
#[inline]
pub fn separation_per_year(strength: f64, insecurity: [f64; 2], p: &BondParams) -> f64 {
    let weakness = (1.0 - strength).powi(3);
    p.separation_per_year * weakness * (1.0 + insecurity[0] + insecurity[1])
}

/// Claim 8: a parent's caregiving sensitivity follows from their own working model, stress,
/// oxytocin and the support of their partner bond.
#[inline]
pub fn caregiving_sensitivity(
    working_model: &WorkingModel,
    cortisol: f64,
    oxytocin: f64,
    partner_strength: f64,
    p: &CaregivingParams,
) -> f64 {
    unit(
        p.base_sensitivity * (1.0 - p.insecurity_cost * working_model.insecurity()) - p.stress_cost * cortisol
            + p.oxytocin_gain * oxytocin
            + p.partner_support_gain * partner_strength
            - 0.3 * working_model.disorganisation,
    )
}

/// What the caregivers of a child are like this tick: care-weighted means over its parents.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CaregivingReceived {
    /// Sensitivity of the care received (0–1).
    pub quality: f64,
    pub caregiver_anxiety: f64,
    pub caregiver_avoidance: f64,
    /// Frightened or frightening care: caregivers' disorganisation and high stress (0–1).
    pub caregiver_fear: f64,
}

/// Claim 9 and claim 8: the working model that care drives a child toward. Insensitive care
/// pushes toward insecurity, in the direction of the caregivers' own style (anxious caregivers,
/// inconsistent care, anxious children; avoidant caregivers, rejecting care, avoidant children);
/// frightened or frightening care toward disorganisation. A share `style_transmission` of the
/// target is the caregivers' own anxiety and avoidance directly (modelling and synchrony: the
/// part of transmission sensitivity does not carry, the "transmission gap"). `temperament` is
/// the child's innate offset (drawn at birth) and `experience` its own drifting experience
/// outside the family: the parts of development care does not explain.
#[inline]
pub fn development_target(
    care: &CaregivingReceived,
    temperament: [f64; 3],
    experience: [f64; 2],
    p: &DevelopmentParams,
) -> [f64; 3] {
    let neglect = 1.0 - care.quality;
    let s = p.style_transmission;
    [
        unit(
            (1.0 - s) * neglect * (0.5 + care.caregiver_anxiety)
                + s * care.caregiver_anxiety
                + temperament[0]
                + experience[0],
        ),
        unit(
            (1.0 - s) * neglect * (0.5 + care.caregiver_avoidance)
                + s * care.caregiver_avoidance
                + temperament[1]
                + experience[1],
        ),
        unit(p.disorganisation_gain * care.caregiver_fear + temperament[2]),
    ]
}

/// Claims 1, 2 and 10 (Fraley's prototype model): after the family years the working model is
/// drawn back toward the prototype set in the sensitive period, offset by the agent's own
/// current experience, at the small lifelong plasticity. The disorganisation marker is left
/// where it is: it rises with losses ([`loss_shift`]) and falls as they resolve ([`resolve`]).
#[inline]
pub fn adult_target(wm: &WorkingModel, experience: [f64; 2]) -> [f64; 3] {
    [unit(wm.prototype_anxiety + experience[0]), unit(wm.prototype_avoidance + experience[1]), wm.disorganisation]
}

/// One tick of an agent's own experience: an Ornstein–Uhlenbeck drift with stationary spread
/// `experience_sd` and correlation time `experience_years` (`noise` two standard normal draws;
/// `drift` the tick's constants, [`ExperienceDrift::new`]).
#[inline]
pub fn update_experience(experience: &mut [f64; 2], noise: [f64; 2], drift: &ExperienceDrift) {
    for (e, z) in experience.iter_mut().zip(noise) {
        *e = *e * drift.keep + drift.spread * z;
    }
}

/// The constants of one tick of [`update_experience`], the same for every agent: computed once
/// per tick rather than per agent (an `exp` and a square root).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExperienceDrift {
    /// The share of the experience kept over the tick.
    pub keep: f64,
    /// The spread of the tick's noise.
    pub spread: f64,
}

impl ExperienceDrift {
    #[inline]
    pub fn new(dt_years: f64, p: &DevelopmentParams) -> Self {
        let keep = libm::exp(-dt_years / p.experience_years);
        Self { keep, spread: p.experience_sd * (1.0 - keep * keep).sqrt() }
    }
}

/// A negative life event (drawn, or modelled: the parents' separation) moves the agent's own
/// experience toward insecurity by `life_event_shock`, a share `to_anxiety` of it to anxiety and
/// the rest to avoidance; the drift of [`update_experience`] then lets it fade.
#[inline]
pub fn life_event(experience: &mut [f64; 2], to_anxiety: f64, p: &DevelopmentParams) {
    experience[0] += p.life_event_shock * to_anxiety;
    experience[1] += p.life_event_shock * (1.0 - to_anxiety);
}

/// The fraction of the way to its target that development (and receptor programming) goes in
/// a tick, at `plasticity`: a function of age alone, which the engine tabulates by age.
#[inline]
pub fn development_step(plasticity: f64, dt_years: f64, p: &DevelopmentParams) -> f64 {
    per_tick(p.development_per_year * plasticity, dt_years)
}

/// Claim 1: one tick of development. The current model moves toward `target` by `step`, at a
/// speed set by plasticity ([`development_step`]); in the sensitive period (plasticity above one
/// half) the prototype moves with it, afterwards it is kept apart.
#[inline]
pub fn develop(wm: &mut WorkingModel, target: [f64; 3], plasticity: f64, step: f64) {
    wm.anxiety = unit(relax(wm.anxiety, target[0], step));
    wm.avoidance = unit(relax(wm.avoidance, target[1], step));
    wm.disorganisation = unit(relax(wm.disorganisation, target[2], step));
    if plasticity > 0.5 {
        wm.prototype_anxiety = wm.anxiety;
        wm.prototype_avoidance = wm.avoidance;
        wm.prototype_disorganisation = wm.disorganisation;
    }
}

/// Claim 8 (epigenetic programming): receptor density and glucocorticoid-receptor sensitivity
/// move toward levels set by care quality by `step`, at the speed plasticity allows
/// ([`development_step`]).
#[inline]
pub fn program_receptors(receptor_density: &mut f64, gr_sensitivity: &mut f64, care_quality: f64, step: f64) {
    let target = 0.3 + 0.7 * care_quality;
    *receptor_density = unit(relax(*receptor_density, target, step));
    *gr_sensitivity = unit(relax(*gr_sensitivity, target, step)).max(0.05);
}

/// Claim 10 (repair): a secure, synchronous bond moves the working model toward security at the
/// agent's (small, lifelong) plasticity. `secure_bond` in [0, 1] is the strongest such exposure:
/// strength × synchrony × the partner's security.
#[inline]
pub fn repair(wm: &mut WorkingModel, secure_bond: f64, plasticity: f64, dt_years: f64, p: &DevelopmentParams) {
    let step = per_tick(p.repair_per_year * plasticity * secure_bond, dt_years);
    wm.anxiety = unit(relax(wm.anxiety, 0.0, step));
    wm.avoidance = unit(relax(wm.avoidance, 0.0, step));
    wm.disorganisation = unit(relax(wm.disorganisation, 0.0, step));
}

/// Claim 10 and claim 7: a loss moves the working model away from security, more so the more
/// plastic the agent still is and the closer the bond (`closeness` in [0, 1]); and it leaves
/// the loss unresolved for a while (the disorganisation marker rises by `unresolved_loss`
/// × closeness at any age, Main & Hesse 1990), which [`resolve`] then lowers.
#[inline]
pub fn loss_shift(wm: &mut WorkingModel, plasticity: f64, closeness: f64, p: &DevelopmentParams) {
    let shift = p.loss_shock * (plasticity * closeness).sqrt();
    wm.anxiety = unit(relax(wm.anxiety, 1.0, 0.5 * shift));
    unresolved(wm, closeness, p);
}

/// A loss or a trauma of weight `weight` (0–1) raises the disorganisation marker by
/// `unresolved_loss` × weight of the way to 1.
#[inline]
pub fn unresolved(wm: &mut WorkingModel, weight: f64, p: &DevelopmentParams) {
    wm.disorganisation = unit(relax(wm.disorganisation, 1.0, p.unresolved_loss * weight));
}

/// Mourning resolves: after the family years the disorganisation marker falls at
/// `resolution_per_year`; `fraction` is that rate over one tick,
/// `per_tick(resolution_per_year, dt_years)`, the same for every agent.
#[inline]
pub fn resolve(wm: &mut WorkingModel, fraction: f64) {
    wm.disorganisation = relax(wm.disorganisation, 0.0, fraction);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::saturation::saturation;
    use crate::state::BondState;

    const WEEK: f64 = 7.0 / 365.25;

    /// One value through a block form of a curve (`contact_saturations`, `oxytocin_drives`,
    /// `cortisol_steps`).
    fn one(x: f64, block: impl Fn(&mut [f64])) -> f64 {
        let mut values = [x];
        block(&mut values);
        values[0]
    }

    /// Plasticity at an age and the development step it sets over a week.
    fn development_at(age_years: f64, p: &DevelopmentParams) -> (f64, f64) {
        let plasticity = plasticity(age_years, p);
        (plasticity, development_step(plasticity, WEEK, p))
    }

    /// The block forms of the saturating curves give, to the bit, the curve they stand for:
    /// oxytocin's drive 1 − e^(−hours / oxytocin_contact_hours), and cortisol's step, the
    /// per-tick fraction of its recovery rate × GR sensitivity, over a spread of values.
    #[test]
    fn the_block_curves_are_their_curves_to_the_bit() {
        let p = Params::default();
        let hours: Vec<f64> = (0..200).map(|i| f64::from(i) * 0.37 + f64::from(i % 7) * 1e-3).collect();
        let mut drives = hours.clone();
        oxytocin_drives(&mut drives, &p.neuro);
        let grs: Vec<f64> = (0..200).map(|i| 0.05 + f64::from(i) * 0.0047).collect();
        let mut steps = grs.clone();
        cortisol_steps(&mut steps, WEEK, &p.stress);
        for i in 0..hours.len() {
            let drive = saturation(hours[i] / p.neuro.oxytocin_contact_hours);
            assert_eq!(drives[i].to_bits(), drive.to_bits(), "{}", hours[i]);
            let step = per_tick(p.stress.cortisol_recovery_per_year * grs[i], WEEK);
            assert_eq!(steps[i].to_bits(), step.to_bits(), "{}", grs[i]);
        }
    }

    #[test]
    fn plasticity_is_high_in_infancy_and_low_but_nonzero_for_life() {
        let p = DevelopmentParams::default();
        assert!(plasticity(0.5, &p) > 0.95);
        assert!(plasticity(1.9, &p) > 0.85);
        assert!(plasticity(4.0, &p) < 0.2);
        let adult = plasticity(30.0, &p);
        assert!(adult > 0.0 && (adult - p.adult_plasticity).abs() < 1e-9);
    }

    #[test]
    fn more_synchrony_gives_more_oxytocin_and_more_reward() {
        let p = Params::default();
        let low = synchrony([0.8, 0.8], [0.2, 0.6], [0.0, 0.0], 0.2);
        let high = synchrony([0.1, 0.1], [0.3, 0.3], [0.0, 0.0], 0.9);
        assert!(high > low + 0.3, "high {high} low {low}");
        let contact = one(5.0, |v| contact_saturations(v, &p.bonds));
        assert!(contact_reward(contact, high, [0.6, 0.6]) > contact_reward(contact, low, [0.6, 0.6]));
        let drive = |sync: f64| one(5.0 * sync, |v| oxytocin_drives(v, &p.neuro));
        assert!(oxytocin_target(drive(high), 0.6, &p.neuro) > oxytocin_target(drive(low), 0.6, &p.neuro));
    }

    #[test]
    fn no_contact_no_reward() {
        let p = BondParams::default();
        assert_eq!(contact_reward(one(0.0, |v| contact_saturations(v, &p)), 1.0, [1.0, 1.0]), 0.0);
    }

    #[test]
    fn receptor_density_gates_oxytocin_release() {
        let p = NeuroParams::default();
        let drive = one(8.0, |v| oxytocin_drives(v, &p));
        assert!(oxytocin_target(drive, 0.9, &p) > oxytocin_target(drive, 0.3, &p) + 0.1);
    }

    #[test]
    fn the_learning_block_gives_the_bits_of_the_rules_bond_by_bond() {
        let p = BondParams::default();
        let rates = BondRates::new(&p, WEEK);
        // A deterministic spread over [0, 1] (an LCG's top bits).
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut unit_draw = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..200 {
            let mut block = LearnBlock::default();
            for i in 0..LEARN_BLOCK {
                for side in 0..2 {
                    block.avoidance[side][i] = unit_draw() as f32;
                    block.cortisol[side][i] = unit_draw() as f32;
                    block.disorganisation[side][i] = (0.5 * unit_draw()) as f32;
                    block.receptor_density[side][i] = unit_draw() as f32;
                }
                block.familiarity[i] = unit_draw();
                block.contact[i] = unit_draw();
                // Values either side of the rewards, so that both learning rates are taken.
                (block.value[i], block.strength[i]) = (unit_draw() as f32, unit_draw() as f32);
            }
            let before = block.clone();
            learn_block(&mut block, &rates);
            for i in 0..LEARN_BLOCK {
                // The same rules in the generic code, one bond at a time.
                let (sync, reward, value, strength) = before.learn(i, &rates);
                assert_eq!(block.synchrony[i].to_bits(), sync.to_bits());
                assert_eq!(block.reward[i].to_bits(), reward.to_bits());
                assert_eq!(block.value[i].to_bits(), value.to_bits());
                assert_eq!(block.strength[i].to_bits(), strength.to_bits());
            }
        }
    }

    #[test]
    fn reward_prediction_error_builds_a_bond_that_then_decays_slowly() {
        let p = BondParams::default();
        let rates = BondRates::new(&p, WEEK);
        let bond = BondState::new(BondKind::Acquaintance, 0.1, 0);
        let (mut value, mut strength) = (bond.value, bond.strength);
        for _ in 0..52 {
            (value, strength, _) = learn_bond(value, strength, 0.6, &rates);
        }
        assert!(strength > 0.5, "a year of rewarding contact: {strength}");
        let built = strength;
        let mut weeks_to_halve = 0;
        while strength > built / 2.0 {
            let rpe;
            (value, strength, rpe) = learn_bond(value, strength, 0.0, &rates);
            assert!(rpe < 0.0, "no reward is a negative prediction error");
            weeks_to_halve += 1;
        }
        // Extinction is slower than acquisition: the bond endures.
        assert!(weeks_to_halve > 26, "halved after {weeks_to_halve} weeks");
    }

    #[test]
    fn time_goes_to_strong_bonds_and_to_new_ones() {
        let p = BondParams::default();
        let weight = |kind, strength, age_years| contact_weight(kind, strength, novelty(age_years, &p));
        let weak_old = weight(BondKind::Acquaintance, 0.1, 5.0);
        let strong_old = weight(BondKind::CloseFriend, 0.7, 5.0);
        let new = weight(BondKind::Acquaintance, 0.1, 0.0);
        assert!(strong_old > 5.0 * weak_old);
        assert!(new > 5.0 * weak_old);
        assert!((weight(BondKind::Acquaintance, 0.1, 3.0) - weak_old).abs() < 1e-3);
    }

    #[test]
    fn chosen_bonds_fall_into_layers_by_strength() {
        let p = BondParams::default();
        let between = 0.5 * (p.friend_strength + p.close_friend_strength);
        assert_eq!(chosen_kind(p.friend_strength * 0.5, &p), BondKind::Acquaintance);
        assert_eq!(chosen_kind(between, &p), BondKind::Friend);
        assert_eq!(chosen_kind(p.close_friend_strength, &p), BondKind::CloseFriend);
        assert_eq!(chosen_kind(0.95, &p), BondKind::CloseFriend);
    }

    #[test]
    fn chosen_kind_without_branches_tests_the_thresholds_in_turn() {
        // The thresholds as the rule reads them: the close-friend one first.
        let in_turn = |s: f64, p: &BondParams| {
            if s >= p.close_friend_strength {
                BondKind::CloseFriend
            } else if s >= p.friend_strength {
                BondKind::Friend
            } else {
                BondKind::Acquaintance
            }
        };
        let mut p = BondParams::default();
        let edges = [p.friend_strength, p.close_friend_strength];
        let mut strengths: Vec<f64> = (0..=1000).map(|i| f64::from(i) / 1000.0).collect();
        strengths.extend(edges.iter().flat_map(|&e| [e, e.next_down(), e.next_up()]));
        strengths.extend([f64::NAN, -0.5, 1.5]);
        for s in &strengths {
            assert_eq!(chosen_kind(*s, &p), in_turn(*s, &p), "strength {s}");
        }
        // Thresholds the config would refuse (close below friend) still give the same kind.
        (p.friend_strength, p.close_friend_strength) = (0.6, 0.3);
        for s in &strengths {
            assert_eq!(chosen_kind(*s, &p), in_turn(*s, &p), "strength {s}, thresholds swapped");
        }
    }

    #[test]
    fn anxious_agents_feel_lonelier_than_avoidant_ones_with_the_same_bonds() {
        let p = StressParams::default();
        let felt = 1.5;
        let anxious = loneliness(felt, desired_closeness(0.9, 0.1, &p));
        let avoidant = loneliness(felt, desired_closeness(0.1, 0.9, &p));
        assert!(anxious > avoidant + 0.3, "anxious {anxious} avoidant {avoidant}");
    }

    #[test]
    fn isolation_raises_cortisol_and_load_and_a_bond_buffers_them() {
        let p = Params::default();
        let step = one(0.7, |v| cortisol_steps(v, WEEK, &p.stress));
        let run = |lonely: f64, oxytocin: f64| {
            let (mut c, mut load) = (p.stress.cortisol_baseline, 0.0);
            for _ in 0..(52 * 10) {
                let target = cortisol_target(lonely, oxytocin, p.neuro.oxytocin_baseline, &p.stress);
                c = update_cortisol(c, target, step);
                load = update_allostatic_load(load, c, WEEK, &p.stress);
            }
            (c, load)
        };
        let (c_isolated, load_isolated) = run(1.0, p.neuro.oxytocin_baseline);
        let (c_bonded, load_bonded) = run(0.3, 0.7);
        assert!(c_isolated > c_bonded + 0.3);
        assert!(load_isolated > load_bonded + 0.2);
        let baseline = gompertz_baseline(60.0, &p.life);
        assert!(
            mortality_hazard_per_year(baseline, load_isolated, &p.life)
                > 1.5 * mortality_hazard_per_year(baseline, load_bonded, &p.life)
        );
    }

    #[test]
    fn the_same_poor_care_moves_an_infant_far_more_than_an_adult() {
        let p = DevelopmentParams::default();
        let poor =
            CaregivingReceived { quality: 0.1, caregiver_anxiety: 0.8, caregiver_avoidance: 0.0, caregiver_fear: 0.1 };
        let target = development_target(&poor, [0.0; 3], [0.0; 2], &DevelopmentParams::default());
        let mut infant = WorkingModel::new(0.2, 0.2, 0.0);
        let mut adult = infant;
        let ((infancy, infant_step), (adulthood, adult_step)) = (development_at(1.0, &p), development_at(30.0, &p));
        for _ in 0..26 {
            develop(&mut infant, target, infancy, infant_step);
            develop(&mut adult, target, adulthood, adult_step);
        }
        let moved_infant = infant.anxiety - 0.2;
        let moved_adult = adult.anxiety - 0.2;
        assert!(moved_infant > 10.0 * moved_adult, "infant {moved_infant} adult {moved_adult}");
        assert_eq!(infant.category(), Category::Anxious);
        // The adult's prototype stays apart from the current model.
        assert_eq!(adult.prototype_anxiety, 0.2);
    }

    #[test]
    fn sensitive_care_programs_more_receptors_than_insensitive_care() {
        let p = DevelopmentParams::default();
        let (mut rd_good, mut gr_good, mut rd_poor, mut gr_poor) = (0.5, 0.5, 0.5, 0.5);
        let (_, step) = development_at(1.0, &p);
        for _ in 0..104 {
            program_receptors(&mut rd_good, &mut gr_good, 0.9, step);
            program_receptors(&mut rd_poor, &mut gr_poor, 0.2, step);
        }
        assert!(rd_good > rd_poor + 0.3 && gr_good > gr_poor + 0.3);
    }

    #[test]
    fn a_long_secure_bond_moves_an_anxious_adult_toward_security() {
        let p = DevelopmentParams::default();
        let start = WorkingModel::new(0.7, 0.3, 0.0);
        let after = |exposure: f64, years: usize| {
            let mut wm = start;
            for _ in 0..(52 * years) {
                repair(&mut wm, exposure, plasticity(30.0, &p), WEEK, &p);
            }
            wm
        };
        assert_eq!(after(0.0, 15).anxiety, 0.7, "no secure bond, no repair");
        let fifteen = after(0.6, 15);
        assert!(fifteen.anxiety < 0.65, "after 15 years: {}", fifteen.anxiety);
        assert!(after(0.3, 15).anxiety > fifteen.anxiety + 0.02, "a closer, more secure bond repairs more");
        // Decades of a secure bond: earned security.
        assert_eq!(after(0.9, 40).category(), Category::Secure);
    }

    #[test]
    fn parents_insecurity_and_stress_lower_caregiving_and_partner_support_raises_it() {
        let p = CaregivingParams::default();
        let secure = WorkingModel::new(0.1, 0.1, 0.0);
        let insecure = WorkingModel::new(0.8, 0.7, 0.0);
        let calm = caregiving_sensitivity(&secure, 0.2, 0.5, 0.0, &p);
        assert!(calm > caregiving_sensitivity(&insecure, 0.2, 0.5, 0.0, &p) + 0.15);
        assert!(calm > caregiving_sensitivity(&secure, 0.9, 0.5, 0.0, &p) + 0.2);
        assert!(caregiving_sensitivity(&secure, 0.2, 0.5, 0.8, &p) > calm);
    }

    #[test]
    fn strong_couples_separate_less() {
        let p = BondParams::default();
        assert!(separation_per_year(0.2, [0.3, 0.3], &p) > 5.0 * separation_per_year(0.8, [0.3, 0.3], &p));
    }

    #[test]
    fn early_programming_carries_into_later_bonds() {
        // Claim 2: the same adult contact is less synchronous and less rewarding for someone
        // whose early care left an avoidant model and few oxytocin receptors.
        let p = Params::default();
        let fam = 0.5;
        let secure_sync = synchrony([0.1, 0.2], [0.2, 0.2], [0.0, 0.0], fam);
        let avoidant_sync = synchrony([0.8, 0.2], [0.2, 0.2], [0.0, 0.0], fam);
        assert!(secure_sync > avoidant_sync + 0.2);
        let contact = one(6.0, |v| contact_saturations(v, &p.bonds));
        let well_cared = contact_reward(contact, secure_sync, [0.9, 0.7]);
        let poorly_cared = contact_reward(contact, avoidant_sync, [0.35, 0.7]);
        assert!(well_cared > 1.4 * poorly_cared, "{well_cared} vs {poorly_cared}");
    }

    #[test]
    fn transmission_runs_partly_outside_caregiver_sensitivity() {
        // Claim 8, the transmission gap: two caregivers equally sensitive but of different
        // attachment styles drive their infants toward different working models.
        let anxious =
            CaregivingReceived { quality: 0.5, caregiver_anxiety: 0.8, caregiver_avoidance: 0.2, caregiver_fear: 0.1 };
        let avoidant = CaregivingReceived { caregiver_anxiety: 0.2, caregiver_avoidance: 0.8, ..anxious };
        let to_anxious = development_target(&anxious, [0.0; 3], [0.0; 2], &DevelopmentParams::default());
        let to_avoidant = development_target(&avoidant, [0.0; 3], [0.0; 2], &DevelopmentParams::default());
        assert!(to_anxious[0] > to_avoidant[0] + 0.2 && to_avoidant[1] > to_anxious[1] + 0.2);
        // And sensitivity itself matters (the smaller part, 1 - style_transmission): better
        // care, lower targets.
        let sensitive = CaregivingReceived { quality: 0.9, ..anxious };
        assert!(
            development_target(&sensitive, [0.0; 3], [0.0; 2], &DevelopmentParams::default())[0] < to_anxious[0] - 0.05
        );
    }

    #[test]
    fn frightened_or_frightening_care_disorganises() {
        let calm =
            CaregivingReceived { quality: 0.4, caregiver_anxiety: 0.3, caregiver_avoidance: 0.3, caregiver_fear: 0.1 };
        let frightening = CaregivingReceived { caregiver_fear: 0.9, ..calm };
        assert!(
            development_target(&frightening, [0.0; 3], [0.0; 2], &DevelopmentParams::default())[2]
                > development_target(&calm, [0.0; 3], [0.0; 2], &DevelopmentParams::default())[2] + 0.4
        );
    }

    #[test]
    fn a_loss_moves_the_working_model_away_from_security() {
        let p = DevelopmentParams::default();
        let (mut child, mut adult) = (WorkingModel::new(0.2, 0.2, 0.0), WorkingModel::new(0.2, 0.2, 0.0));
        loss_shift(&mut child, plasticity(1.0, &p), 1.0, &p);
        loss_shift(&mut adult, plasticity(40.0, &p), 1.0, &p);
        assert!(adult.anxiety > 0.2 && adult.disorganisation > 0.0);
        assert!(child.anxiety > adult.anxiety + 0.1, "loss weighs more in the sensitive period");
        // The loss is unresolved at first, and resolves over the years.
        let unresolved = adult.disorganisation;
        for _ in 0..(3 * 52) {
            resolve(&mut adult, per_tick(p.resolution_per_year, WEEK));
        }
        assert!(adult.disorganisation < 0.5 * unresolved, "{unresolved} -> {}", adult.disorganisation);
    }

    #[test]
    fn categories_follow_the_two_scores() {
        assert_eq!(categorise(0.2, 0.2, 0.0), Category::Secure);
        assert_eq!(categorise(0.7, 0.2, 0.0), Category::Anxious);
        assert_eq!(categorise(0.2, 0.7, 0.0), Category::Avoidant);
        assert_eq!(categorise(0.7, 0.7, 0.0), Category::Disorganised);
        assert_eq!(categorise(0.2, 0.2, 0.6), Category::Disorganised);
    }

    #[test]
    fn own_experience_drifts_with_its_spread_and_life_events_push_toward_insecurity() {
        let p = DevelopmentParams::default();
        // Standard normal draws from a small xorshift generator and Box–Muller, so that the
        // model crate needs no random-number dependency for this test.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let mut normal = move || {
            let (u, v) = (uniform(), uniform());
            (-2.0 * libm::log(u)).sqrt() * libm::cos(std::f64::consts::TAU * v)
        };
        // Over many correlation times the drift settles at its stationary spread.
        let drift = ExperienceDrift::new(WEEK, &p);
        let mut e = [0.0; 2];
        let (mut squares, mut n) = (0.0, 0.0);
        for t in 0..(52 * 4000) {
            update_experience(&mut e, [normal(), normal()], &drift);
            if t > 52 * 40 {
                squares += e[0] * e[0] + e[1] * e[1];
                n += 2.0;
            }
        }
        let spread = (squares / n).sqrt();
        assert!((spread - p.experience_sd).abs() < 0.1 * p.experience_sd, "{spread} vs {}", p.experience_sd);
        // A life event jumps toward insecurity, split as asked.
        let mut hit = [0.0; 2];
        life_event(&mut hit, 0.25, &p);
        assert!((hit[0] - 0.25 * p.life_event_shock).abs() < 1e-12);
        assert!((hit[1] - 0.75 * p.life_event_shock).abs() < 1e-12);
        // Without noise an offset fades by 1/e over the correlation time.
        let mut fading = [0.3, 0.3];
        for _ in 0..(p.experience_years * 52.0) as usize {
            update_experience(&mut fading, [0.0; 2], &drift);
        }
        assert!((fading[0] - 0.3 * libm::exp(-1.0)).abs() < 0.01, "{}", fading[0]);
    }

    #[test]
    fn adults_return_toward_their_prototype_offset_by_experience() {
        let p = DevelopmentParams::default();
        let mut wm = WorkingModel::new(0.2, 0.3, 0.4);
        wm.anxiety = 0.7;
        let target = adult_target(&wm, [0.1, -0.1]);
        assert!((target[0] - 0.3).abs() < 1e-12 && (target[1] - 0.2).abs() < 1e-12);
        assert_eq!(target[2], wm.disorganisation, "disorganisation moves by loss and resolution only");
        let (plasticity, step) = development_at(40.0, &p);
        for _ in 0..(20 * 52) {
            develop(&mut wm, target, plasticity, step);
        }
        assert!(wm.anxiety < 0.5 && wm.anxiety > 0.3, "{}", wm.anxiety);
    }
}
