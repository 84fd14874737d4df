//! Parameter-space robustness: short simulations over random parameter sets across their
//! allowed ranges keep every invariant (docs/RELIABILITY.md).

use std::collections::HashSet;

use bondsim_engine::{Settings, Simulation};
use bondsim_model::{Intervention, InterventionKind, Params};
use proptest::prelude::*;
use serde_json::Value;

/// Every numeric leaf of the default parameters scaled by its own factor; values that leave the
/// allowed range (per `Params::validate`) fall back to the default.
fn perturbed(factors: &[f64]) -> Params {
    fn scale(v: &mut Value, factors: &mut std::slice::Iter<f64>) {
        match v {
            Value::Object(map) => map.values_mut().for_each(|x| scale(x, factors)),
            Value::Number(n) => {
                let f = *factors.next().unwrap_or(&1.0);
                *v = if let Some(u) = n.as_u64() {
                    Value::from(((u as f64) * f).round().max(0.0) as u64)
                } else {
                    Value::from(n.as_f64().unwrap() * f)
                };
            }
            _ => {}
        }
    }
    let defaults = serde_json::to_value(Params::default()).unwrap();
    let mut value = defaults.clone();
    scale(&mut value, &mut factors.iter());
    let mut params: Params = serde_json::from_value(value.clone()).unwrap();
    // Reset what is out of range to its default: first the key, then, for rules between keys
    // that still fail, the key's whole section.
    for depth in [2, 1] {
        for e in params.validate("model") {
            let path: Vec<&str> = e.key.split('.').skip(1).take(depth).collect();
            let default = path.iter().fold(&defaults, |v, k| &v[*k]).clone();
            let mut slot = &mut value;
            for k in &path {
                slot = &mut slot[*k];
            }
            *slot = default;
        }
        params = serde_json::from_value(value.clone()).unwrap();
    }
    assert!(params.validate("model").is_empty());
    params
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_parameter_sets_keep_every_invariant(
        factors in prop::collection::vec(0.2f64..5.0, 80),
        seed in any::<u64>(),
        isolation_share in 0.0f64..1.0,
        threads in 1usize..=2,
    ) {
        let params = perturbed(&factors);
        let founders = 250;
        let isolation = Intervention {
            name: "isolation".into(),
            kind: InterventionKind::Isolation,
            start_year: 1.0,
            duration_years: 1.0,
            share: isolation_share,
            min_age_years: 0.0,
            max_age_years: 150.0,
            contact_factor: Some(0.1),
            sensitivity_boost: None,
            child_under_years: None,
        };
        let settings = Settings { seed, population: founders, tick_days: 7.0, snapshot_every_ticks: 26, threads, interventions: vec![isolation] };
        let mut sim = Simulation::new(&settings, params).unwrap();
        prop_assert_eq!(sim.check_invariants(), Ok(()));
        let mut known: HashSet<u64> = (0..u64::from(founders)).collect();
        let mut population = u64::from(founders);
        for tick in 1..=156 {
            sim.step();
            let out = sim.take_output();
            known.extend(out.births.iter().map(|b| b.child));
            let metrics = &out.metrics[0];
            population = population + metrics.births - metrics.deaths;
            prop_assert_eq!(metrics.population, population, "births minus deaths at tick {}", tick);
            prop_assert_eq!(sim.population() as u64, population);
            for e in &out.bond_events {
                prop_assert!(known.contains(&e.agent_a) && known.contains(&e.agent_b), "event with unknown agent");
                prop_assert!(e.agent_a != e.agent_b, "self-bond event");
            }
            for d in &out.deaths {
                prop_assert!(known.contains(&d.agent));
            }
            for b in &out.births {
                prop_assert!(known.contains(&b.mother) && b.father.is_none_or(|f| known.contains(&f)));
            }
            let a = &out.agents;
            for column in [&a.oxytocin, &a.cortisol, &a.dopamine, &a.anxiety, &a.avoidance, &a.loneliness, &a.health] {
                for &v in column {
                    prop_assert!(v.is_finite() && (0.0..=1.0).contains(&v));
                }
            }
            if tick % 13 == 0 {
                prop_assert_eq!(sim.check_invariants(), Ok(()), "tick {}", tick);
            }
        }
    }
}

#[test]
fn the_perturbation_keeps_defaults_at_factor_one() {
    assert_eq!(perturbed(&[1.0; 80]), Params::default());
    assert_ne!(perturbed(&[2.0; 80]), Params::default());
}
