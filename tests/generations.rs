//! Two hundred years: the population neither dies out nor explodes, runs through at least four
//! generations, and each generation's attachment distribution comes from its parents' care.

mod common;

use std::collections::{BTreeMap, HashMap};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{UInt8Type, UInt32Type, UInt64Type};
use common::*;

const CONFIG: &str = r#"
[experiment]
name = "generations-small"
seed = 5

[population]
founders = 1500

[time]
years = 200.0

[record]
agents_every_ticks = 260
"#;

#[test]
fn two_hundred_years_keep_a_population_across_generations() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "generations.toml", CONFIG);
    let out = dir.path().join("out");
    run_ok(&config, &out, &[]);

    let metrics = read_table(&out, "metrics");
    let population: Vec<u64> = metrics
        .iter()
        .flat_map(|b| b.column_by_name("population").unwrap().as_primitive::<UInt64Type>().values().to_vec())
        .collect();
    let (lowest, highest) = (*population.iter().min().unwrap(), *population.iter().max().unwrap());
    assert!(lowest >= 750 && highest <= 3000, "population ranged {lowest}..{highest} from 1500 founders");
    let last_max_generation = metrics
        .last()
        .map(|b| *b.column_by_name("max_generation").unwrap().as_primitive::<UInt32Type>().values().last().unwrap())
        .unwrap();
    assert!(last_max_generation >= 4, "max generation {last_max_generation}");

    // Infant category (at age 1) by generation, one count per agent.
    let mut infant: HashMap<u64, (u32, String)> = HashMap::new();
    for batch in read_table(&out, "agents") {
        let ids = batch.column_by_name("agent_id").unwrap().as_primitive::<UInt64Type>();
        let generation = batch.column_by_name("generation").unwrap().as_primitive::<UInt32Type>();
        let category = batch.column_by_name("category_age1").unwrap().as_dictionary::<UInt8Type>();
        let names = category.values().as_string::<i32>();
        let keys = category.keys();
        for i in (0..batch.num_rows()).filter(|&i| keys.is_valid(i)) {
            infant.insert(ids.value(i), (generation.value(i), names.value(keys.value(i) as usize).to_string()));
        }
    }
    let mut by_generation: BTreeMap<u32, BTreeMap<String, usize>> = BTreeMap::new();
    for (generation, category) in infant.values() {
        *by_generation.entry(*generation).or_default().entry(category.clone()).or_default() += 1;
    }
    for generation in 1..=4 {
        let counts = &by_generation[&generation];
        let total: usize = counts.values().sum();
        let secure = *counts.get("secure").unwrap_or(&0) as f64 / total as f64;
        assert!(total >= 100, "generation {generation}: {total} infants observed");
        // Neither all secure nor mostly insecure: care varies, and so does its outcome.
        assert!((0.5..0.95).contains(&secure), "generation {generation}: {counts:?}");
        assert!(counts.len() >= 3, "generation {generation}: {counts:?}");
    }
}
