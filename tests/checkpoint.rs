//! Checkpoints: a run killed (SIGKILL) or stopped (SIGTERM) in the middle and resumed writes the
//! same bytes as a run that was never interrupted.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bondsim_io::{Checkpoint, Manifest, RunStatus};
use common::*;

const CONFIG: &str = r#"
[experiment]
name = "resumable"
seed = 21

[population]
founders = 3000

[time]
years = 30.0

[record]
agents_every_ticks = 26
checkpoint_every_ticks = 104
"#;

fn start(config: &Path, out: &Path) -> Child {
    bondsim()
        .arg("run")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bondsim")
}

/// Waits until the run has written its first checkpoint.
fn wait_for_checkpoint(out: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let checkpoint = out.join("checkpoints/resumable-s21.ckpt");
    while !checkpoint.exists() {
        assert!(Instant::now() < deadline, "no checkpoint after two minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
}

fn assert_same_dataset(a: &Path, b: &Path) {
    assert!(parquet_files(a).len() > bondsim_io::TABLES.len(), "several segments per table");
    assert_same_parquet(a, b, "resumed and uninterrupted");
}

#[test]
fn a_killed_run_resumes_to_identical_output() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "resumable.toml", CONFIG);
    let (whole, killed) = (dir.path().join("whole"), dir.path().join("killed"));
    run_ok(&config, &whole, &[]);

    let mut child = start(&config, &killed);
    wait_for_checkpoint(&killed);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let manifest = Manifest::read(&killed).unwrap();
    assert!(!manifest.completed && manifest.status == RunStatus::Running, "killed mid-run: {:?}", manifest.status);
    // Only complete Parquet files under their final names: each one reads.
    for file in parquet_files(&killed) {
        let reader = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&file).unwrap());
        assert!(reader.is_ok(), "{} is not a complete Parquet file", file.display());
    }

    let resumed =
        bondsim().arg("run").arg(&config).arg("--out").arg(&killed).args(["--resume", "--quiet"]).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let manifest = Manifest::read(&killed).unwrap();
    assert!(manifest.completed);
    assert_eq!(manifest.agent_ticks, Manifest::read(&whole).unwrap().agent_ticks);
    assert!(!killed.join("checkpoints/resumable-s21.ckpt").exists(), "the checkpoint goes when the run completes");
    assert!(all_files(&killed).iter().all(|f| !f.contains("inprogress")), "no temporary file is left");
    assert_same_dataset(&whole, &killed);
}

#[test]
fn sigterm_writes_a_checkpoint_and_the_run_resumes_to_identical_output() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "resumable.toml", CONFIG);
    let (whole, stopped) = (dir.path().join("whole"), dir.path().join("stopped"));
    run_ok(&config, &whole, &[]);

    let child = start(&config, &stopped);
    wait_for_checkpoint(&stopped);
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(143), "a run stopped by SIGTERM exits with 143");
    let manifest = Manifest::read(&stopped).unwrap();
    assert_eq!(manifest.status, RunStatus::Interrupted);
    // The checkpoint is from the tick the signal arrived, not only the last periodic one.
    assert_eq!(manifest.checkpoint_tick, Some(manifest.ticks));

    // Resuming with another config is refused.
    let other = write_config(
        dir.path(),
        "other.toml",
        &CONFIG.replace("seed = 21", "seed = 21\n\n[model.contact]\nmax_bonds = 10"),
    );
    let refused = bondsim().arg("run").arg(&other).arg("--out").arg(&stopped).arg("--resume").output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("different config"));

    // The seconds per phase spent before the stop are in the checkpoint; marked there (a
    // thousand seconds added to each), they reach the resumed run's manifest.
    let path = stopped.join("checkpoints/resumable-s21.ckpt");
    let mut checkpoint = Checkpoint::read(&path).unwrap();
    // (The manifest's JSON reads back to within an ulp or so.)
    assert_eq!(checkpoint.phase_seconds.len(), manifest.phase_seconds.len());
    for (kept, reported) in checkpoint.phase_seconds.iter().zip(&manifest.phase_seconds) {
        assert_eq!(kept.phase, reported.phase);
        assert!((kept.seconds - reported.seconds).abs() < 1e-9, "{kept:?} kept, {reported:?} reported");
    }
    checkpoint.phase_seconds.iter_mut().for_each(|p| p.seconds += 1000.0);
    checkpoint.write(&path).unwrap();

    run_ok(&config, &stopped, &["--resume"]);
    assert_same_dataset(&whole, &stopped);
    let resumed = Manifest::read(&stopped).unwrap();
    assert_eq!(resumed.phase_seconds.len(), checkpoint.phase_seconds.len());
    for (after, before) in resumed.phase_seconds.iter().zip(&checkpoint.phase_seconds) {
        assert_eq!(after.phase, before.phase);
        assert!(after.seconds >= before.seconds, "{after:?} after the resume, {before:?} in the checkpoint");
    }
}
