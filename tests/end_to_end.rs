//! A small experiment run through the real binary, its dataset read back and checked.

mod common;

use std::collections::HashSet;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use bondsim_io::Manifest;
use common::*;

fn u64_values(batches: &[RecordBatch], column: &str) -> Vec<Option<u64>> {
    batches
        .iter()
        .flat_map(|b| b.column_by_name(column).unwrap().as_primitive::<UInt64Type>().iter().collect::<Vec<_>>())
        .collect()
}

fn i64_values(batches: &[RecordBatch], column: &str) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| b.column_by_name(column).unwrap().as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

fn f64_values(batches: &[RecordBatch], column: &str) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| b.column_by_name(column).unwrap().as_primitive::<Float64Type>().values().to_vec())
        .collect()
}

#[test]
fn a_run_writes_a_complete_dataset_that_agrees_with_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "small.toml", SMALL);
    let out = dir.path().join("out");
    let output = run_ok(&config, &out, &[]);
    let summary = String::from_utf8_lossy(&output.stdout);

    let manifest = Manifest::read(&out).unwrap();
    assert!(manifest.completed);
    assert_eq!(manifest.status, bondsim_io::RunStatus::Completed);
    assert_eq!(manifest.run_id, "small-s7");
    assert_eq!(manifest.seed, 7);
    assert_eq!(manifest.ticks, (12.0f64 * 365.25 / 7.0).round() as u64);
    assert_eq!(manifest.config_path.as_deref(), Some(config.to_str().unwrap()));
    assert!(manifest.peak_rss_bytes > 0 && manifest.wall_seconds > 0.0);
    // The machine: the processor's name as the kernel gives it, and the processors this test's
    // process (whose affinity the run inherits) may use.
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    if let Some((_, name)) = cpuinfo.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')) {
        assert!(!manifest.processor.is_empty());
        assert!(manifest.processor.split(' ').eq(name.split_whitespace()), "{:?} against {name:?}", manifest.processor);
    }
    assert_eq!(manifest.processors_available, std::thread::available_parallelism().unwrap().get());
    // Where the wall time went: the tick's phases in order, then the writing of the output; none
    // negative, and together no more than the run's wall time (which also counts the founding).
    let phases: Vec<&str> = manifest.phase_seconds.iter().map(|p| p.phase.as_str()).collect();
    assert_eq!(
        phases,
        [
            "advance_clock",
            "renumber_for_locality",
            "apply_interventions",
            "refresh_agent_view",
            "meet_new_people",
            "share_contact_time",
            "learn_from_contact",
            "break_partner_and_update_stress",
            "caregiving_and_development",
            "apply_deaths",
            "apply_births",
            "record_tick",
            "write_output",
        ]
    );
    let timed: f64 = manifest.phase_seconds.iter().map(|p| p.seconds).sum();
    assert!(manifest.phase_seconds.iter().all(|p| p.seconds >= 0.0), "{:?}", manifest.phase_seconds);
    assert!(timed > 0.0 && timed <= manifest.wall_seconds, "{timed} s in phases, {} s in all", manifest.wall_seconds);
    // The summary line carries the manifest's figures.
    for figure in [manifest.ticks.to_string(), manifest.agent_ticks.to_string(), manifest.output_bytes.to_string()] {
        assert!(summary.contains(&figure), "summary {summary} lacks {figure}");
    }

    // Only complete files: no temporary names left, one Parquet file per table, hive-partitioned.
    let files = all_files(&out);
    assert!(files.iter().all(|f| !f.contains("inprogress")), "{files:?}");
    let mut bytes = 0;
    for table in bondsim_io::TABLES {
        let entry = &manifest.tables[table];
        assert_eq!(entry.path, format!("{table}/run=small-s7"));
        let rows: usize = read_table(&out, table).iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows as u64, entry.rows, "{table} rows");
        let file = out.join(&entry.path).join("part-00000.parquet");
        assert_eq!(std::fs::metadata(&file).unwrap().len(), entry.bytes);
        bytes += entry.bytes;
        let metadata = key_value_metadata(&file);
        let get = |k: &str| metadata.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("bondsim.seed").as_deref(), Some("7"));
        assert_eq!(get("bondsim.table").as_deref(), Some(table));
        assert!(get("bondsim.config").unwrap().contains("founders = 400"));
    }
    assert_eq!(manifest.output_bytes, bytes);

    // Metrics: one row per tick, and the population accounts for every birth and death.
    let metrics = read_table(&out, "metrics");
    let ticks = i64_values(&metrics, "tick");
    assert_eq!(ticks, (1..=manifest.ticks as i64).collect::<Vec<_>>());
    let population = u64_values(&metrics, "population");
    let births = u64_values(&metrics, "births");
    let deaths = u64_values(&metrics, "deaths");
    let mut expected = 400u64;
    for i in 0..population.len() {
        expected = expected + births[i].unwrap() - deaths[i].unwrap();
        assert_eq!(population[i], Some(expected), "tick {}", i + 1);
    }
    let agent_ticks: u64 = 400 + population[..population.len() - 1].iter().map(|p| p.unwrap()).sum::<u64>();
    assert_eq!(manifest.agent_ticks, agent_ticks);
    let birth_rows = read_table(&out, "births");
    let death_rows = read_table(&out, "deaths");
    assert_eq!(
        births.iter().map(|b| b.unwrap()).sum::<u64>(),
        birth_rows.iter().map(|b| b.num_rows() as u64).sum::<u64>()
    );
    assert_eq!(
        deaths.iter().map(|b| b.unwrap()).sum::<u64>(),
        death_rows.iter().map(|b| b.num_rows() as u64).sum::<u64>()
    );
    assert!(births.iter().map(|b| b.unwrap()).sum::<u64>() > 0, "twelve years of 400 agents have births");

    // Ids join across tables: every id is a founder or a recorded birth.
    let mut known: HashSet<u64> = (0..400).collect();
    known.extend(u64_values(&birth_rows, "child_id").into_iter().flatten());
    let agents = read_table(&out, "agents");
    let events = read_table(&out, "bond_events");
    for (batches, column) in [
        (&agents, "agent_id"),
        (&agents, "mother_id"),
        (&agents, "partner_id"),
        (&birth_rows, "mother_id"),
        (&birth_rows, "father_id"),
        (&death_rows, "agent_id"),
        (&events, "agent_a"),
        (&events, "agent_b"),
    ] {
        for id in u64_values(batches, column).into_iter().flatten() {
            assert!(known.contains(&id), "{column} {id} is neither a founder nor born");
        }
    }
    // A dead agent never appears in a later snapshot.
    let dead: Vec<(u64, i64)> =
        u64_values(&death_rows, "agent_id").into_iter().flatten().zip(i64_values(&death_rows, "tick")).collect();
    let snapshots: HashSet<(u64, i64)> =
        u64_values(&agents, "agent_id").into_iter().flatten().zip(i64_values(&agents, "tick")).collect();
    for (id, tick) in dead {
        assert!(!snapshots.iter().any(|(a, t)| *a == id && *t >= tick), "agent {id} seen after death");
    }

    // Levels are finite and in [0, 1]; ages are non-negative.
    for column in [
        "oxytocin",
        "receptor_density",
        "dopamine",
        "cortisol",
        "allostatic_load",
        "gr_sensitivity",
        "anxiety",
        "avoidance",
        "disorganisation",
        "loneliness",
        "health",
        "caregiving_sensitivity",
        "early_care_quality",
    ] {
        for v in f64_values(&agents, column) {
            assert!(v.is_finite() && (0.0..=1.0).contains(&v), "{column} = {v}");
        }
    }
    assert!(f64_values(&agents, "age_years").iter().all(|a| a.is_finite() && *a >= 0.0));
    for v in f64_values(&events, "strength") {
        assert!((0.0..=1.0).contains(&v), "bond strength {v}");
    }

    // Categories are dictionary-encoded; ids are integers.
    let schema = agents[0].schema();
    assert!(matches!(schema.field_with_name("category").unwrap().data_type(), DataType::Dictionary(_, _)));
    assert_eq!(schema.field_with_name("agent_id").unwrap().data_type(), &DataType::UInt64);
    let kinds = events[0].column_by_name("kind").unwrap().as_dictionary::<arrow_array::types::UInt8Type>();
    // Parquet keeps the values that occur (in order of appearance), not the writer's dictionary.
    let kind_names: HashSet<&str> = kinds.values().as_string::<i32>().iter().flatten().collect();
    let allowed = HashSet::from(["parent_child", "romantic", "close_friend", "friend", "acquaintance"]);
    assert!(kind_names.is_subset(&allowed) && kind_names.len() >= 3, "{kind_names:?}");
    assert!(kinds.keys().null_count() == 0);
}

#[test]
fn the_embedded_baseline_runs_with_no_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("baseline");
    let output = bondsim().args(["run", "--quiet", "--out"]).arg(&out).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let manifest = Manifest::read(&out).unwrap();
    assert!(manifest.completed);
    assert_eq!(manifest.config_path, None);
    assert_eq!(manifest.run_id, "baseline-s42");
    assert_eq!(manifest.ticks, 1565);
    // A 30-year run of 10,000 founders keeps a population: neither dying out nor exploding.
    let metrics = read_table(&out, "metrics");
    let population = u64_values(&metrics, "population");
    let last = population.last().unwrap().unwrap();
    assert!((5_000..20_000).contains(&last), "population after 30 years: {last}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("agent-ticks/s") && stdout.contains(out.to_str().unwrap()), "{stdout}");
}

#[test]
fn seed_flag_overrides_the_config_and_changes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "small.toml", SMALL);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_ok(&config, &a, &[]);
    run_ok(&config, &b, &["--seed", "8"]);
    let manifest = Manifest::read(&b).unwrap();
    assert_eq!((manifest.seed, manifest.run_id.as_str()), (8, "small-s8"));
    assert!(manifest.config.contains("seed = 8"));
    let pa = std::fs::read(a.join("metrics/run=small-s7/part-00000.parquet")).unwrap();
    let pb = std::fs::read(b.join("metrics/run=small-s8/part-00000.parquet")).unwrap();
    assert_ne!(pa, pb);
}

#[test]
fn overwrite_replaces_a_previous_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "small.toml", SMALL);
    let out = dir.path().join("out");
    run_ok(&config, &out, &[]);
    run_ok(&config, &out, &["--overwrite", "--seed", "9"]);
    let runs: Vec<String> = std::fs::read_dir(out.join("agents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs, ["run=small-s9"]);
}
