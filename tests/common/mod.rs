//! Helpers shared by the end-to-end tests: run the real `bondsim` binary, read its Parquet back.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub fn bondsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bondsim"))
}

/// The first of `names` that runs on this machine (`NAME --version`), for a test that needs an
/// outside program. Without one the test says it skips and passes, unless the environment
/// variable `require` is set (`.ci/run` sets it, so that CI cannot skip): then it fails.
/// `install` says where the program comes from.
pub fn outside_program(names: &[&'static str], require: &str, install: &str) -> Option<&'static str> {
    let found = names.iter().copied().find(|name| Command::new(name).arg("--version").output().is_ok());
    if found.is_none() {
        assert!(std::env::var_os(require).is_none(), "{require} is set and none of {names:?} runs ({install})");
        eprintln!("skipped: none of {names:?} on this machine ({install})");
    }
    found
}

/// A small experiment that runs in about a second: 400 founders for 12 years.
pub const SMALL: &str = r#"
[experiment]
name = "small"
seed = 7

[population]
founders = 400

[time]
tick_days = 7.0
years = 12.0

[record]
agents_every_ticks = 26
"#;

/// Three interventions, one of each kind: a lockdown (isolation) in years 4–6, a loss at year 2
/// and caregiving support in years 1–7; appended to an experiment's config.
pub const THREE_INTERVENTIONS: &str = r#"
[[interventions]]
name = "lockdown"
kind = "isolation"
start_year = 4.0
duration_years = 2.0
share = 0.5
min_age_years = 18.0
contact_factor = 0.05

[[interventions]]
name = "widowhood"
kind = "loss"
start_year = 2.0
share = 0.25
min_age_years = 30.0

[[interventions]]
name = "home visits"
kind = "caregiving_support"
start_year = 1.0
duration_years = 6.0
share = 1.0
sensitivity_boost = 0.3
child_under_years = 2.0
"#;

pub fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs `bondsim run CONFIG --out OUT --quiet EXTRA...` and asserts success.
pub fn run_ok(config: &Path, out: &Path, extra: &[&str]) -> Output {
    run_ok_with(bondsim(), config, out, extra)
}

/// `run_ok` through `command`: the binary itself, or a program that runs it (an emulator).
pub fn run_ok_with(mut command: Command, config: &Path, out: &Path, extra: &[&str]) -> Output {
    command.arg("run").arg(config).arg("--out").arg(out).arg("--quiet").args(extra);
    let output = command.output().expect("spawn bondsim");
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Every file under `dir` (hidden ones included), sorted.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() { stack.push(p) } else { files.push(p) }
        }
    }
    files.sort();
    files
}

/// Every Parquet file (final name `*.parquet`) under `dir`, sorted.
pub fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    walk(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "parquet")).collect()
}

/// All files under `dir` (any name), relative, sorted.
pub fn all_files(dir: &Path) -> Vec<String> {
    walk(dir).iter().map(|p| p.strip_prefix(dir).unwrap().display().to_string()).collect()
}

/// Asserts that `b` holds the Parquet files `a` holds (the same relative paths), none empty, each
/// byte for byte the same; `what` names the two runs in a failure's message.
pub fn assert_same_parquet(a: &Path, b: &Path, what: &str) {
    let relative = |dir: &Path| -> Vec<PathBuf> {
        parquet_files(dir).iter().map(|f| f.strip_prefix(dir).unwrap().to_path_buf()).collect()
    };
    let files = relative(a);
    assert_eq!(files, relative(b), "the same files: {what}");
    for file in files {
        let bytes = std::fs::read(a.join(&file)).unwrap();
        assert!(!bytes.is_empty(), "{} is empty", file.display());
        assert!(bytes == std::fs::read(b.join(&file)).unwrap(), "{} differs: {what}", file.display());
    }
}

pub fn read_table(out: &Path, table: &str) -> Vec<RecordBatch> {
    let files = parquet_files(&out.join(table));
    assert_eq!(files.len(), 1, "one file per table per run: {files:?}");
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&files[0]).unwrap()).unwrap().build().unwrap();
    reader.map(|b| b.unwrap()).collect()
}

pub fn key_value_metadata(path: &Path) -> Vec<(String, String)> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| kv.iter().map(|k| (k.key.clone(), k.value.clone().unwrap_or_default())).collect())
        .unwrap_or_default()
}
