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

pub fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs `bondsim run CONFIG --out OUT --quiet EXTRA...` and asserts success.
pub fn run_ok(config: &Path, out: &Path, extra: &[&str]) -> Output {
    let output = bondsim()
        .arg("run")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .expect("spawn bondsim");
    assert!(
        output.status.success(),
        "bondsim failed: {}\n{}",
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
