//! The model's curves of age alone, tabulated by age in ticks: plasticity and the development
//! step it sets, the age part of health, and the Gompertz baseline of the death hazard. Every
//! agent needs them every tick (an `exp` each), and ages come in whole ticks, so a run computes
//! each once per age: the same functions of the same `f64` age (`Clock::age_years`), so the same
//! bits as computing them per agent. Ages past the table are computed.

use bevy_ecs::prelude::*;
use bondsim_model::{Params, rules};

use crate::sim::Clock;

/// The curves at one age.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeRow {
    /// `rules::plasticity`.
    pub plasticity: f64,
    /// `rules::development_step` at that plasticity.
    pub development_step: f64,
    /// `rules::health_age_factor`.
    pub health_factor: f64,
    /// `rules::gompertz_baseline` (per year).
    pub gompertz: f64,
    /// `rules::death_chance_bound` of that baseline.
    pub death_bound: f64,
}

impl AgeRow {
    fn new(age_years: f64, dt_years: f64, p: &Params) -> Self {
        let plasticity = rules::plasticity(age_years, &p.development);
        let gompertz = rules::gompertz_baseline(age_years, &p.life);
        Self {
            plasticity,
            development_step: rules::development_step(plasticity, dt_years, &p.development),
            health_factor: rules::health_age_factor(age_years),
            gompertz,
            death_bound: rules::death_chance_bound(gompertz, dt_years, &p.life),
        }
    }
}

/// Ages the table covers (years): founders are at most 110 years old at tick 0.
const TABLE_YEARS: f64 = 130.0;

/// At most this many rows (ages in ticks), whatever the tick's length: 2.6 MB.
const MAX_ROWS: usize = 1 << 16;

/// The curves for every age in ticks from 0 up to [`TABLE_YEARS`] (fewer with very short ticks).
/// The clock's step and the parameters are fixed for a run.
#[derive(Resource, Debug)]
pub struct AgeCurves {
    rows: Vec<AgeRow>,
    dt_years: f64,
}

impl AgeCurves {
    pub fn new(clock: &Clock, p: &Params) -> Self {
        let dt_years = clock.dt_years;
        // The config keeps a tick between 6 hours and a year, so this is a small whole number.
        let ages = ((TABLE_YEARS / dt_years).ceil() as usize).min(MAX_ROWS);
        let rows = (0..ages).map(|ticks| AgeRow::new(ticks as f64 * dt_years, dt_years, p)).collect();
        Self { rows, dt_years }
    }

    /// The curves at an age of `age_ticks` (as `Clock::age_years` makes it into years).
    pub fn at(&self, age_ticks: i64, p: &Params) -> AgeRow {
        usize::try_from(age_ticks)
            .ok()
            .and_then(|i| self.rows.get(i).copied())
            .unwrap_or_else(|| AgeRow::new(age_ticks as f64 * self.dt_years, self.dt_years, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(tick_days: f64) -> Clock {
        Clock {
            tick: 0,
            dt_years: tick_days / 365.25,
            weeks_per_tick: tick_days / 7.0,
            seed: 1,
            snapshot_every_ticks: 0,
        }
    }

    /// Every row, and the computed rows past the table, are the rules' values at the age the
    /// clock gives, to the bit.
    #[test]
    fn rows_are_the_rules_at_the_clocks_age() {
        let p = Params::default();
        for tick_days in [7.0, 1.0, 0.25] {
            let mut clock = clock(tick_days);
            clock.tick = 70_000;
            let curves = AgeCurves::new(&clock, &p);
            assert!(!curves.rows.is_empty());
            let past = curves.rows.len() as i64 + 10;
            for birth_tick in (clock.tick - past..=clock.tick).step_by(7) {
                let age = clock.age_years(birth_tick);
                let row = curves.at(clock.tick - birth_tick, &p);
                let plasticity = rules::plasticity(age, &p.development);
                assert_eq!(row.plasticity.to_bits(), plasticity.to_bits());
                let step = rules::development_step(plasticity, clock.dt_years, &p.development);
                assert_eq!(row.development_step.to_bits(), step.to_bits());
                assert_eq!(row.health_factor.to_bits(), rules::health_age_factor(age).to_bits());
                assert_eq!(row.gompertz.to_bits(), rules::gompertz_baseline(age, &p.life).to_bits());
            }
        }
    }

    /// The bound decides only draws the hazard would have decided the same way: for loads in
    /// [0, 1] and ages over a life, the chance of death stays at or below it.
    #[test]
    fn the_death_bound_is_above_every_chance_of_death() {
        let mut p = Params::default();
        for load_mortality in [0.0, 1.5, 10.0] {
            p.life.load_mortality = load_mortality;
            let clock = clock(7.0);
            let curves = AgeCurves::new(&clock, &p);
            for age_ticks in (0..curves.rows.len() as i64 + 100).step_by(13) {
                let row = curves.at(age_ticks, &p);
                for load in [0.0, 0.3, 0.999, 1.0] {
                    let hazard = rules::mortality_hazard_per_year(row.gompertz, load, &p.life);
                    let chance = bondsim_model::params::per_tick(hazard, clock.dt_years);
                    assert!(
                        chance <= row.death_bound,
                        "age {age_ticks} ticks, load {load}: {chance} > {}",
                        row.death_bound
                    );
                }
            }
        }
    }
}
