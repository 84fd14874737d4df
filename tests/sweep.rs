//! Sweeps: a plan with stable ids and seeds, shards that partition it exactly, and one dataset.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

const SWEEP: &str = r#"
[experiment]
name = "tiny"
seed = 4

[population]
founders = 150

[time]
years = 3.0

[sweep]
replicates = 3

[sweep.grid]
"model.contact.weekly_social_hours" = [15.0, 25.0]
"#;

fn plan(config: &Path) -> Vec<(String, String)> {
    let output = bondsim().args(["sweep", "plan"]).arg(config).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last().unwrap().trim(), format!("{} runs", lines.len() - 2));
    lines[1..lines.len() - 1]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[3].to_string()) // run id, seed
        })
        .collect()
}

#[test]
fn the_plan_is_stable_when_points_are_added() {
    let dir = tempfile::tempdir().unwrap();
    let small = plan(&write_config(dir.path(), "a.toml", SWEEP));
    assert_eq!(small.len(), 6);
    let bigger = plan(&write_config(dir.path(), "b.toml", &SWEEP.replace("[15.0, 25.0]", "[15.0, 25.0, 35.0]")));
    assert_eq!(bigger.len(), 9);
    for run in &small {
        assert!(bigger.contains(run), "{run:?} changed when a point was added");
    }
    let seeds: BTreeSet<&String> = bigger.iter().map(|(_, s)| s).collect();
    assert_eq!(seeds.len(), 9, "every run has its own seed");
}

#[test]
fn shards_partition_the_runs_exactly_and_write_one_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "sweep.toml", SWEEP);
    let out = dir.path().join("out");
    let runs: BTreeSet<String> = plan(&config).into_iter().map(|(id, _)| id).collect();
    for task in 0..4 {
        let output = bondsim()
            .args(["sweep", "run"])
            .arg(&config)
            .arg("--out")
            .arg(&out)
            .args(["--quiet", "--task", &task.to_string(), "--tasks", "4"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    // Each run's partition exists exactly once per table, and nothing else does.
    for table in bondsim_io::TABLES {
        let mut seen = Vec::new();
        for file in parquet_files(&out.join(table)) {
            let run =
                file.parent().unwrap().file_name().unwrap().to_string_lossy().trim_start_matches("run=").to_string();
            seen.push(run);
        }
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(seen.len(), unique.len(), "{table}: a run written twice");
        assert_eq!(unique, runs, "{table}: runs lost or extra");
    }
    let status = bondsim().args(["sweep", "status"]).arg(&config).arg("--out").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("6 runs: 6 done, 0 running, 0 interrupted, 0 failed, 0 missing"), "{text}");

    // A resubmitted array does nothing more.
    let again = bondsim().args(["sweep", "run"]).arg(&config).arg("--out").arg(&out).arg("--quiet").output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("6 skipped"));
}

#[test]
fn a_sweep_key_that_does_not_exist_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "bad.toml", &SWEEP.replace("weekly_social_hours", "weekly_social_hour"));
    let output = bondsim().args(["sweep", "plan"]).arg(&config).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("bad.toml") && message.contains("weekly_social_hour"), "{message}");
}

#[test]
fn a_folder_holding_the_same_runs_from_another_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let first = write_config(dir.path(), "first.toml", SWEEP);
    let run = |config: &Path| bondsim().args(["sweep", "run"]).arg(config).arg("--out").arg(&out).output().unwrap();
    let done = run(&first);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    // A parameter outside the grid changes every run's config but not its id.
    let changed = write_config(
        dir.path(),
        "changed.toml",
        &SWEEP.replace("[sweep]", "[model.bonds]\nbreak_strength = 0.05\n\n[sweep]"),
    );
    let manifests = || std::fs::read_dir(out.join("manifests")).unwrap().count();
    let before = manifests();
    let refused = run(&changed);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("different config") && stderr.contains("--out"), "{stderr}");
    assert_eq!(manifests(), before, "nothing written");
    // The same config again: every run is complete and skipped.
    let again = run(&first);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("6 skipped"), "{}", String::from_utf8_lossy(&again.stdout));
}
