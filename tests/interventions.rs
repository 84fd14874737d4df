//! Interventions from the config change the model's inputs for the affected agents, the model
//! responds, and every affected agent is logged in the `interventions` table.

mod common;

use std::collections::HashSet;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use common::*;

/// 800 founders for 8 years, agents recorded every 13 ticks, with `THREE_INTERVENTIONS`.
const EXPERIMENT: &str = r#"
[experiment]
name = "interventions"
seed = 3

[population]
founders = 800

[time]
years = 8.0

[record]
agents_every_ticks = 13
"#;

struct Table(Vec<RecordBatch>);

impl Table {
    fn u64(&self, c: &str) -> Vec<u64> {
        self.0
            .iter()
            .flat_map(|b| b.column_by_name(c).unwrap().as_primitive::<UInt64Type>().values().to_vec())
            .collect()
    }
    fn i64(&self, c: &str) -> Vec<i64> {
        self.0.iter().flat_map(|b| b.column_by_name(c).unwrap().as_primitive::<Int64Type>().values().to_vec()).collect()
    }
    fn f64(&self, c: &str) -> Vec<f64> {
        self.0
            .iter()
            .flat_map(|b| b.column_by_name(c).unwrap().as_primitive::<Float64Type>().values().to_vec())
            .collect()
    }
    fn strings(&self, c: &str) -> Vec<String> {
        self.0.iter().flat_map(|b| arrow_cast(b.column_by_name(c).unwrap())).collect()
    }
}

/// Dictionary column values as strings, whatever the key width.
fn arrow_cast(array: &arrow_array::ArrayRef) -> Vec<String> {
    use arrow_array::types::{UInt8Type, UInt16Type};
    if let Some(d) = array.as_dictionary_opt::<UInt8Type>() {
        let values = d.values().as_string::<i32>();
        d.keys().values().iter().map(|k| values.value(*k as usize).to_string()).collect()
    } else {
        let d = array.as_dictionary::<UInt16Type>();
        let values = d.values().as_string::<i32>();
        d.keys().values().iter().map(|k| values.value(*k as usize).to_string()).collect()
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    assert!(n > 0, "mean of nothing");
    sum / n as f64
}

#[test]
fn interventions_are_applied_logged_and_answered_by_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "interventions.toml", &format!("{EXPERIMENT}{THREE_INTERVENTIONS}"));
    let out = dir.path().join("out");
    run_ok(&config, &out, &[]);
    let log = Table(read_table(&out, "interventions"));
    let names = log.strings("name");
    let kinds = log.strings("kind");
    let agents = log.u64("agent_id");
    let ticks = log.i64("tick");
    let until = log.i64("until_tick");
    let dt = 7.0 / 365.25;
    let lockdown_start = (4.0f64 / dt).round() as i64;

    // Isolation: about half the adults, all at the start, until start + 2 years.
    let isolated: HashSet<u64> = (0..names.len()).filter(|&i| names[i] == "lockdown").map(|i| agents[i]).collect();
    for i in (0..names.len()).filter(|&i| names[i] == "lockdown") {
        assert_eq!((kinds[i].as_str(), ticks[i], until[i]), ("isolation", lockdown_start, lockdown_start + 104));
    }
    let snapshots = Table(read_table(&out, "agents"));
    let (tick, id, age) = (snapshots.i64("tick"), snapshots.u64("agent_id"), snapshots.f64("age_years"));
    let (loneliness, cortisol) = (snapshots.f64("loneliness"), snapshots.f64("cortisol"));
    let adults_at = |t: i64| -> Vec<usize> { (0..tick.len()).filter(|&i| tick[i] == t && age[i] >= 20.0).collect() };
    let adults_before = adults_at(lockdown_start - 1 - (lockdown_start - 1) % 13).len();
    assert!(
        (isolated.len() as f64) > 0.35 * adults_before as f64 && (isolated.len() as f64) < 0.65 * adults_before as f64,
        "{} isolated of about {adults_before} adults",
        isolated.len()
    );
    // A year into the lockdown the isolated are lonelier and more stressed than the others.
    let during = lockdown_start + 52 + (13 - (lockdown_start + 52) % 13) % 13;
    let group = |inside: bool, column: &[f64]| {
        mean(adults_at(during).into_iter().filter(|&i| isolated.contains(&id[i]) == inside).map(|i| column[i]))
    };
    assert!(group(true, &loneliness) > group(false, &loneliness) + 0.2, "loneliness");
    assert!(group(true, &cortisol) > group(false, &cortisol) + 0.1, "cortisol");
    // After it ends, the gap closes.
    let after = 8 * 52; // the last snapshot (416 is a multiple of 13)
    let gap_after = {
        let g = |inside: bool| {
            mean(adults_at(after).into_iter().filter(|&i| isolated.contains(&id[i]) == inside).map(|i| loneliness[i]))
        };
        g(true) - g(false)
    };
    assert!(
        gap_after < 0.5 * (group(true, &loneliness) - group(false, &loneliness)),
        "loneliness gap after: {gap_after}"
    );

    // Loss: one `lost` bond event per affected agent that had a close bond, at the start.
    let lost_agents: HashSet<u64> = (0..names.len()).filter(|&i| names[i] == "widowhood").map(|i| agents[i]).collect();
    assert!(lost_agents.len() > 20);
    let events = Table(read_table(&out, "bond_events"));
    let event = events.strings("event");
    let a = events.u64("agent_a");
    let lost: Vec<usize> = (0..event.len()).filter(|&i| event[i] == "lost").collect();
    assert!(!lost.is_empty() && lost.len() <= lost_agents.len());
    assert!(lost.iter().all(|&i| lost_agents.contains(&a[i])));

    // Caregiving support: parents of children born in the window are logged at the birth and
    // give more sensitive care than parents of the same ages who were not supported.
    let births = Table(read_table(&out, "births"));
    let supported: HashSet<u64> = (0..names.len()).filter(|&i| names[i] == "home visits").map(|i| agents[i]).collect();
    assert!(supported.contains(&births.u64("mother_id")[0]) || births.i64("tick")[0] < 52);
    let sensitivity = snapshots.f64("caregiving_sensitivity");
    let supported_now = |i: usize| {
        (0..names.len())
            .any(|j| names[j] == "home visits" && agents[j] == id[i] && ticks[j] <= tick[i] && tick[i] < until[j])
    };
    let parents_age = |i: usize| (20.0..45.0).contains(&age[i]);
    let with: Vec<f64> =
        (0..tick.len()).filter(|&i| parents_age(i) && supported_now(i)).map(|i| sensitivity[i]).collect();
    let without: Vec<f64> =
        (0..tick.len()).filter(|&i| parents_age(i) && !supported_now(i)).map(|i| sensitivity[i]).collect();
    assert!(with.len() > 30, "{} supported snapshots", with.len());
    assert!(mean(with.into_iter()) > mean(without.into_iter()) + 0.2);
}
