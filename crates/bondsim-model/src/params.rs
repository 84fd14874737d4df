//! Model parameters: every number a rule uses, with its unit, default and allowed range.
//!
//! Rates are per year and are turned into per-tick probabilities or fractions with
//! [`per_tick`], so the tick length can change without changing the science
//! (MODEL brief, "Time"). Levels (oxytocin, cortisol, scores) are dimensionless in [0, 1].
//! docs/MODEL.md lists each parameter with its source or calibration note.

use serde::{Deserialize, Serialize};

/// Everything the rules of the model read. One instance per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    pub contact: ContactParams,
    pub bonds: BondParams,
    pub neuro: NeuroParams,
    pub stress: StressParams,
    pub development: DevelopmentParams,
    pub caregiving: CaregivingParams,
    pub life: LifeParams,
    pub founders: FounderParams,
}

/// Contact time and who meets whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactParams {
    /// Hours per week an adult spends in contact with bonded people (hours/week).
    pub weekly_social_hours: f64,
    /// People newly met per year by an adult (1/year); children meet fewer (see `child_encounter_share`).
    pub encounters_per_year: f64,
    /// Share of encounters that go through a friend's friend rather than at random (fraction).
    pub friend_of_friend_share: f64,
    /// Age difference at which a random encounter is accepted half as often (years).
    pub age_similarity_years: f64,
    /// Share of the adult encounter rate that children under 12 have (fraction).
    pub child_encounter_share: f64,
    /// Most explicit bonds an agent holds: the sympathy-group scale of Dunbar's layers (count).
    pub max_bonds: u32,
}

impl Default for ContactParams {
    fn default() -> Self {
        Self {
            weekly_social_hours: 25.0,
            encounters_per_year: 12.0,
            friend_of_friend_share: 0.95,
            age_similarity_years: 6.0,
            child_encounter_share: 0.5,
            max_bonds: 20,
        }
    }
}

/// Bond learning, kinds and breaking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BondParams {
    /// Rate at which a bond's learned value follows a positive reward-prediction error (1/year).
    pub learning_per_year: f64,
    /// Rate at which value falls after a negative prediction error: slower, so bonds endure (1/year).
    pub extinction_per_year: f64,
    /// Rate at which strength follows learned value (1/year).
    pub consolidation_per_year: f64,
    /// Contact hours per week at which the contact part of reward is 63 % of its maximum (hours/week).
    pub reward_contact_hours: f64,
    /// Cumulative contact at which familiarity reaches 63 % of its maximum (hours).
    pub familiarity_hours: f64,
    /// Strength at or above which a non-kin, non-romantic bond is a friend (0–1).
    pub friend_strength: f64,
    /// Strength at or above which a friend is a close friend (0–1).
    pub close_friend_strength: f64,
    /// Bonds weaker than this are broken, kin excepted (0–1).
    pub break_strength: f64,
    /// Strength a new acquaintance starts with (0–1).
    pub initial_strength: f64,
    /// Extra share of contact time a new bond asks for while it is new: the dopamine response
    /// to novelty, which gives a new acquaintance the chance to become rewarding (weight units).
    pub novelty_weight: f64,
    /// Time over which the novelty of a bond fades, by 63 % (years).
    pub novelty_years: f64,
    /// Yearly chance that a close pair of unpartnered adults becomes a couple (1/year).
    pub partnering_per_year: f64,
    /// Base separation hazard of a couple, scaled by the bond's weakness (1/year).
    pub separation_per_year: f64,
}

impl Default for BondParams {
    fn default() -> Self {
        Self {
            learning_per_year: 6.0,
            extinction_per_year: 1.5,
            consolidation_per_year: 3.0,
            reward_contact_hours: 2.0,
            familiarity_hours: 150.0,
            friend_strength: 0.13,
            close_friend_strength: 0.27,
            break_strength: 0.06,
            initial_strength: 0.1,
            novelty_weight: 0.6,
            novelty_years: 0.25,
            partnering_per_year: 2.0,
            separation_per_year: 0.25,
        }
    }
}

/// Oxytocin and dopamine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NeuroParams {
    /// Oxytocin level without social contact (0–1).
    pub oxytocin_baseline: f64,
    /// Oxytocin gained at saturating synchronous contact (0–1).
    pub oxytocin_gain: f64,
    /// Synchrony-weighted contact hours per week that give 63 % of the oxytocin gain (hours/week).
    pub oxytocin_contact_hours: f64,
    /// Rate at which oxytocin relaxes to its target (1/year).
    pub oxytocin_relax_per_year: f64,
    /// Tonic dopamine without reward (0–1).
    pub dopamine_baseline: f64,
    /// Tonic dopamine added by the mean reward of an agent's bonds (0–1).
    pub dopamine_gain: f64,
}

impl Default for NeuroParams {
    fn default() -> Self {
        Self {
            oxytocin_baseline: 0.2,
            oxytocin_gain: 0.7,
            oxytocin_contact_hours: 10.0,
            oxytocin_relax_per_year: 26.0,
            dopamine_baseline: 0.3,
            dopamine_gain: 0.6,
        }
    }
}

/// Loneliness, cortisol, allostatic load and health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StressParams {
    /// Closeness an agent with neutral working model desires (sum of bond closeness).
    pub desired_closeness: f64,
    /// How much attachment anxiety raises desired closeness (fraction per unit anxiety).
    pub anxiety_desire_gain: f64,
    /// How much attachment avoidance lowers desired closeness (fraction per unit avoidance).
    pub avoidance_desire_cut: f64,
    /// Cortisol without stressors (0–1).
    pub cortisol_baseline: f64,
    /// Cortisol added by full loneliness (0–1).
    pub cortisol_loneliness_gain: f64,
    /// Cortisol removed per unit oxytocin above baseline: the stress buffer of bonds (0–1).
    pub oxytocin_buffer: f64,
    /// Rate of cortisol recovery at glucocorticoid-receptor sensitivity 1 (1/year).
    pub cortisol_recovery_per_year: f64,
    /// Cortisol spike on the death of a partner, parent or child (0–1).
    pub bereavement_spike: f64,
    /// Cortisol above which allostatic load accumulates (0–1).
    pub load_threshold: f64,
    /// Accumulation of load per unit excess cortisol (1/year).
    pub load_gain_per_year: f64,
    /// Recovery of allostatic load (1/year).
    pub load_recovery_per_year: f64,
}

impl Default for StressParams {
    fn default() -> Self {
        Self {
            desired_closeness: 2.0,
            anxiety_desire_gain: 0.8,
            avoidance_desire_cut: 0.6,
            cortisol_baseline: 0.2,
            cortisol_loneliness_gain: 0.6,
            oxytocin_buffer: 0.4,
            cortisol_recovery_per_year: 20.0,
            bereavement_spike: 0.5,
            load_threshold: 0.35,
            load_gain_per_year: 0.8,
            load_recovery_per_year: 0.1,
        }
    }
}

/// Sensitive periods and the programming of the infant's attachment system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevelopmentParams {
    /// Age at which plasticity is half-way between its infant and adult level (years).
    pub sensitive_period_midpoint_years: f64,
    /// Width of the fall of plasticity around the midpoint (years).
    pub sensitive_period_width_years: f64,
    /// Plasticity that remains for life, as a share of the infant's (fraction).
    pub adult_plasticity: f64,
    /// Rate at which the working model follows caregiving at full plasticity (1/year).
    pub development_per_year: f64,
    /// Spread of temperament: the infant's own noise around the caregiving target (0–1).
    pub temperament_sd: f64,
    /// Rate at which a long secure bond repairs an adult's working model at full plasticity (1/year).
    pub repair_per_year: f64,
    /// Shift of anxiety toward insecurity on a bereavement, at full plasticity (0–1).
    pub loss_shock: f64,
    /// Rise of the disorganisation marker (unresolved loss or trauma) on the loss of a bond of
    /// full strength or at a negative life event, at any age (0–1).
    pub unresolved_loss: f64,
    /// Rate at which an unresolved state (the disorganisation marker) resolves after the family
    /// years (1/year).
    pub resolution_per_year: f64,
    /// Share of the child's developmental target set by the caregivers' own anxiety and
    /// avoidance (modelling, synchrony) rather than by the sensitivity of their care (0–1).
    pub style_transmission: f64,
    /// How strongly frightened or frightening care (caregivers' disorganisation or high stress)
    /// drives a child toward disorganisation (multiplier).
    pub disorganisation_gain: f64,
    /// Stationary spread of the agent's own experience outside its modelled bonds (peers,
    /// school, illness, chance): a drifting offset to the target of anxiety and avoidance (0–1).
    pub experience_sd: f64,
    /// Correlation time of that experience: how long an offset lasts (years).
    pub experience_years: f64,
    /// Rate of negative life events not otherwise modelled (abuse, violence, serious illness)
    /// per person (1/year). Parents' separation is a modelled event for their children.
    pub life_event_per_year: f64,
    /// Jump of the experience offset toward insecurity at a negative life event, shared
    /// between anxiety and avoidance (0–1).
    pub life_event_shock: f64,
}

impl Default for DevelopmentParams {
    fn default() -> Self {
        Self {
            sensitive_period_midpoint_years: 3.0,
            sensitive_period_width_years: 0.5,
            adult_plasticity: 0.03,
            development_per_year: 3.0,
            temperament_sd: 0.072,
            repair_per_year: 2.5,
            loss_shock: 0.5,
            unresolved_loss: 0.45,
            resolution_per_year: 0.5,
            style_transmission: 0.85,
            disorganisation_gain: 2.4,
            experience_sd: 0.3,
            experience_years: 8.0,
            life_event_per_year: 0.03,
            life_event_shock: 0.3,
        }
    }
}

/// Caregiving sensitivity of parents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaregivingParams {
    /// Sensitivity of a secure, calm, supported parent (0–1).
    pub base_sensitivity: f64,
    /// Loss of sensitivity per unit of the parent's own insecurity (fraction).
    pub insecurity_cost: f64,
    /// Loss of sensitivity per unit of the parent's cortisol (fraction).
    pub stress_cost: f64,
    /// Gain of sensitivity per unit of the parent's oxytocin (fraction).
    pub oxytocin_gain: f64,
    /// Gain of sensitivity per unit of the strength of the parent's partner bond (fraction).
    pub partner_support_gain: f64,
    /// Care quality a child without a living parent receives (0–1).
    pub orphan_care: f64,
    /// Spread of the parents' own offsets to sensitivity, drawn at birth: what makes a parent
    /// more or less sensitive beyond attachment, stress and support (0–1).
    pub sensitivity_sd: f64,
}

impl Default for CaregivingParams {
    fn default() -> Self {
        Self {
            base_sensitivity: 0.74,
            insecurity_cost: 0.35,
            stress_cost: 0.4,
            oxytocin_gain: 0.2,
            partner_support_gain: 0.15,
            orphan_care: 0.3,
            sensitivity_sd: 0.1,
        }
    }
}

/// Ageing, death and births.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifeParams {
    /// Gompertz baseline mortality at age 0 (1/year).
    pub gompertz_a_per_year: f64,
    /// Gompertz rate of ageing (1/year of age).
    pub gompertz_b: f64,
    /// Log hazard ratio of death per unit allostatic load (dimensionless).
    pub load_mortality: f64,
    /// Births per year to a partnered woman at peak fertility (1/year).
    pub fertility_per_year: f64,
    /// Youngest age at which a woman can give birth (years).
    pub fertile_from_years: f64,
    /// Oldest age at which a woman can give birth (years).
    pub fertile_until_years: f64,
    /// Shortest interval between two births to one mother (years).
    pub birth_spacing_years: f64,
    /// Age at which a person can partner (years).
    pub adult_years: f64,
}

impl Default for LifeParams {
    fn default() -> Self {
        Self {
            gompertz_a_per_year: 4.0e-5,
            gompertz_b: 0.095,
            load_mortality: 1.5,
            fertility_per_year: 0.145,
            fertile_from_years: 18.0,
            fertile_until_years: 44.0,
            birth_spacing_years: 1.5,
            adult_years: 18.0,
        }
    }
}

/// The founding population (tick 0): ages and working models are drawn from these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FounderParams {
    /// Oldest founder (years); founders' ages are uniform on [0, max_age_years].
    pub max_age_years: f64,
    /// Mean of founders' attachment anxiety (0–1).
    pub anxiety_mean: f64,
    /// Mean of founders' attachment avoidance (0–1).
    pub avoidance_mean: f64,
    /// Spread (standard deviation) of founders' anxiety and avoidance, also of their
    /// disorganisation marker and receptor levels around their means (0–1).
    pub working_model_sd: f64,
    /// Bonds each founder starts with, drawn among founders of similar age (count).
    pub initial_bonds: u32,
}

impl Default for FounderParams {
    fn default() -> Self {
        Self { max_age_years: 80.0, anxiety_mean: 0.31, avoidance_mean: 0.39, working_model_sd: 0.18, initial_bonds: 6 }
    }
}

/// One parameter that failed validation: its dotted key, its value and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{key}` = {value}: {allowed}")]
pub struct InvalidParam {
    pub key: String,
    pub value: String,
    pub allowed: String,
}

/// Collects range checks so that one validation reports every bad value at once.
#[derive(Debug, Default)]
pub struct Checker {
    prefix: String,
    pub errors: Vec<InvalidParam>,
}

impl Checker {
    pub fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned(), errors: Vec::new() }
    }

    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_owned() } else { format!("{}.{name}", self.prefix) }
    }

    /// A finite real number in [lo, hi].
    pub fn real(&mut self, name: &str, value: f64, lo: f64, hi: f64) {
        if !(value.is_finite() && value >= lo && value <= hi) {
            self.errors.push(InvalidParam {
                key: self.key(name),
                value: value.to_string(),
                allowed: format!("must be a finite number from {lo} to {hi}"),
            });
        }
    }

    /// An integer in [lo, hi].
    pub fn int(&mut self, name: &str, value: u64, lo: u64, hi: u64) {
        if !(lo..=hi).contains(&value) {
            self.errors.push(InvalidParam {
                key: self.key(name),
                value: value.to_string(),
                allowed: format!("must be an integer from {lo} to {hi}"),
            });
        }
    }

    /// A rule between two keys, reported on the first.
    pub fn require(&mut self, ok: bool, name: &str, value: f64, allowed: &str) {
        if !ok {
            self.errors.push(InvalidParam {
                key: self.key(name),
                value: value.to_string(),
                allowed: allowed.to_owned(),
            });
        }
    }
}

impl Params {
    /// Every value outside its documented range, with the key under `prefix` (e.g. `model`).
    pub fn validate(&self, prefix: &str) -> Vec<InvalidParam> {
        let mut c = Checker::new(&format!("{prefix}.contact"));
        let p = &self.contact;
        c.real("weekly_social_hours", p.weekly_social_hours, 0.0, 112.0);
        c.real("encounters_per_year", p.encounters_per_year, 0.0, 365.0);
        c.real("friend_of_friend_share", p.friend_of_friend_share, 0.0, 1.0);
        c.real("age_similarity_years", p.age_similarity_years, 0.1, 100.0);
        c.real("child_encounter_share", p.child_encounter_share, 0.0, 1.0);
        c.int("max_bonds", p.max_bonds.into(), 1, 150);
        let mut errors = std::mem::take(&mut c.errors);

        let mut c = Checker::new(&format!("{prefix}.bonds"));
        let b = &self.bonds;
        c.real("learning_per_year", b.learning_per_year, 0.0, 520.0);
        c.real("extinction_per_year", b.extinction_per_year, 0.0, 520.0);
        c.real("consolidation_per_year", b.consolidation_per_year, 0.0, 520.0);
        c.real("reward_contact_hours", b.reward_contact_hours, 0.01, 168.0);
        c.real("familiarity_hours", b.familiarity_hours, 0.01, 1.0e6);
        c.real("friend_strength", b.friend_strength, 0.0, 1.0);
        c.real("close_friend_strength", b.close_friend_strength, 0.0, 1.0);
        c.require(
            b.close_friend_strength >= b.friend_strength,
            "close_friend_strength",
            b.close_friend_strength,
            "must be at least bonds.friend_strength",
        );
        c.real("break_strength", b.break_strength, 0.0, 1.0);
        c.real("initial_strength", b.initial_strength, 0.0, 1.0);
        c.require(
            b.initial_strength > b.break_strength,
            "initial_strength",
            b.initial_strength,
            "must be above bonds.break_strength, or every new bond breaks at once",
        );
        c.real("novelty_weight", b.novelty_weight, 0.0, 10.0);
        c.real("novelty_years", b.novelty_years, 0.001, 100.0);
        c.real("partnering_per_year", b.partnering_per_year, 0.0, 52.0);
        c.real("separation_per_year", b.separation_per_year, 0.0, 52.0);
        errors.append(&mut c.errors);

        let mut c = Checker::new(&format!("{prefix}.neuro"));
        let n = &self.neuro;
        c.real("oxytocin_baseline", n.oxytocin_baseline, 0.0, 1.0);
        c.real("oxytocin_gain", n.oxytocin_gain, 0.0, 1.0);
        c.real("oxytocin_contact_hours", n.oxytocin_contact_hours, 0.01, 168.0);
        c.real("oxytocin_relax_per_year", n.oxytocin_relax_per_year, 0.0, 5200.0);
        c.real("dopamine_baseline", n.dopamine_baseline, 0.0, 1.0);
        c.real("dopamine_gain", n.dopamine_gain, 0.0, 1.0);
        errors.append(&mut c.errors);

        let mut c = Checker::new(&format!("{prefix}.stress"));
        let s = &self.stress;
        c.real("desired_closeness", s.desired_closeness, 0.01, 100.0);
        c.real("anxiety_desire_gain", s.anxiety_desire_gain, 0.0, 10.0);
        c.real("avoidance_desire_cut", s.avoidance_desire_cut, 0.0, 0.99);
        c.real("cortisol_baseline", s.cortisol_baseline, 0.0, 1.0);
        c.real("cortisol_loneliness_gain", s.cortisol_loneliness_gain, 0.0, 1.0);
        c.real("oxytocin_buffer", s.oxytocin_buffer, 0.0, 1.0);
        c.real("cortisol_recovery_per_year", s.cortisol_recovery_per_year, 0.0, 5200.0);
        c.real("bereavement_spike", s.bereavement_spike, 0.0, 1.0);
        c.real("load_threshold", s.load_threshold, 0.0, 1.0);
        c.real("load_gain_per_year", s.load_gain_per_year, 0.0, 520.0);
        c.real("load_recovery_per_year", s.load_recovery_per_year, 0.0, 520.0);
        errors.append(&mut c.errors);

        let mut c = Checker::new(&format!("{prefix}.development"));
        let d = &self.development;
        c.real("sensitive_period_midpoint_years", d.sensitive_period_midpoint_years, 0.0, 30.0);
        c.real("sensitive_period_width_years", d.sensitive_period_width_years, 0.01, 30.0);
        c.real("adult_plasticity", d.adult_plasticity, 0.0, 1.0);
        c.real("development_per_year", d.development_per_year, 0.0, 520.0);
        c.real("temperament_sd", d.temperament_sd, 0.0, 1.0);
        c.real("repair_per_year", d.repair_per_year, 0.0, 520.0);
        c.real("loss_shock", d.loss_shock, 0.0, 1.0);
        c.real("unresolved_loss", d.unresolved_loss, 0.0, 1.0);
        c.real("resolution_per_year", d.resolution_per_year, 0.0, 520.0);
        c.real("style_transmission", d.style_transmission, 0.0, 1.0);
        c.real("disorganisation_gain", d.disorganisation_gain, 0.0, 10.0);
        c.real("experience_sd", d.experience_sd, 0.0, 1.0);
        c.real("experience_years", d.experience_years, 0.01, 100.0);
        c.real("life_event_per_year", d.life_event_per_year, 0.0, 52.0);
        c.real("life_event_shock", d.life_event_shock, 0.0, 1.0);
        errors.append(&mut c.errors);

        let mut c = Checker::new(&format!("{prefix}.caregiving"));
        let g = &self.caregiving;
        c.real("base_sensitivity", g.base_sensitivity, 0.0, 1.0);
        c.real("insecurity_cost", g.insecurity_cost, 0.0, 1.0);
        c.real("stress_cost", g.stress_cost, 0.0, 1.0);
        c.real("oxytocin_gain", g.oxytocin_gain, 0.0, 1.0);
        c.real("partner_support_gain", g.partner_support_gain, 0.0, 1.0);
        c.real("orphan_care", g.orphan_care, 0.0, 1.0);
        c.real("sensitivity_sd", g.sensitivity_sd, 0.0, 1.0);
        errors.append(&mut c.errors);

        let mut c = Checker::new(&format!("{prefix}.life"));
        let l = &self.life;
        c.real("gompertz_a_per_year", l.gompertz_a_per_year, 0.0, 1.0);
        c.real("gompertz_b", l.gompertz_b, 0.0, 1.0);
        c.real("load_mortality", l.load_mortality, 0.0, 10.0);
        c.real("fertility_per_year", l.fertility_per_year, 0.0, 2.0);
        c.real("fertile_from_years", l.fertile_from_years, 10.0, 60.0);
        c.real("fertile_until_years", l.fertile_until_years, 10.0, 60.0);
        c.require(
            l.fertile_until_years >= l.fertile_from_years,
            "fertile_until_years",
            l.fertile_until_years,
            "must be at least life.fertile_from_years",
        );
        c.real("birth_spacing_years", l.birth_spacing_years, 0.0, 20.0);
        c.real("adult_years", l.adult_years, 10.0, 30.0);
        errors.append(&mut c.errors);

        let mut c = Checker::new(&format!("{prefix}.founders"));
        let f = &self.founders;
        c.real("max_age_years", f.max_age_years, 0.0, 110.0);
        c.real("anxiety_mean", f.anxiety_mean, 0.0, 1.0);
        c.real("avoidance_mean", f.avoidance_mean, 0.0, 1.0);
        c.real("working_model_sd", f.working_model_sd, 0.0, 1.0);
        c.int("initial_bonds", f.initial_bonds.into(), 0, 150);
        errors.append(&mut c.errors);
        errors
    }
}

/// Probability that an event with a yearly `rate_per_year` happens within a tick of `dt_years`:
/// `1 - exp(-rate * dt)`, the model's saturating curve (`saturation`: the same bits on every
/// processor). Also the fraction of the way a first-order process with that rate moves toward
/// its target within one tick.
#[inline]
pub fn per_tick(rate_per_year: f64, dt_years: f64) -> f64 {
    crate::saturation::saturation(rate_per_year * dt_years)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Params::default().validate("model"), vec![]);
    }

    #[test]
    fn out_of_range_values_are_named_with_their_key() {
        let mut p = Params::default();
        p.contact.weekly_social_hours = -1.0;
        p.stress.oxytocin_buffer = f64::NAN;
        let errors = p.validate("model");
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["model.contact.weekly_social_hours", "model.stress.oxytocin_buffer"]);
        assert!(errors[0].to_string().contains("from 0 to 112"));
    }

    #[test]
    fn per_tick_probability_is_independent_of_tick_split() {
        // Two half-ticks without the event = one whole tick without it.
        let whole = per_tick(3.0, 0.1);
        let half = per_tick(3.0, 0.05);
        assert!((1.0 - whole - (1.0 - half).powi(2)).abs() < 1e-12);
        assert!((per_tick(0.0, 1.0)).abs() < 1e-15);
    }
}
