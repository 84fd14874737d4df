//! Faults: a full disk, a read-only output folder, an unwritable checkpoint folder, SIGKILL at
//! any moment and a config too big for the machine each end with their own message, and never
//! leave a file that looks complete but is not (docs/RELIABILITY.md).
//!
//! The disk tests mount small tmpfs file systems, which needs root (as in CI); elsewhere they
//! say so and pass without checking.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bondsim_io::Manifest;
use common::*;

const MEDIUM: &str = r#"
[experiment]
name = "faults"
seed = 2

[population]
founders = 2000

[time]
years = 15.0

[record]
agents_every_ticks = 13
"#;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            Some(Mount(dir.to_path_buf()))
        } else {
            eprintln!("skipped: mounting a tmpfs needs root");
            None
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn run(config: &Path, out: &Path, extra: &[&str]) -> Output {
    bondsim().arg("run").arg(config).arg("--out").arg(out).arg("--quiet").args(extra).output().unwrap()
}

/// Every file with a final `.parquet` name is a complete Parquet file.
fn assert_only_complete_files(out: &Path) {
    for file in parquet_files(out) {
        let reader = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&file).unwrap());
        assert!(reader.is_ok(), "{} looks whole but is not", file.display());
    }
}

#[test]
fn a_full_disk_ends_the_run_with_a_clear_message_and_no_file_that_looks_complete() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "medium.toml", MEDIUM);
    let disk = dir.path().join("disk");
    let Some(_mount) = Mount::tmpfs(&disk, "size=2m") else { return };
    let out = disk.join("out");
    let output = run(&config, &out, &[]);
    assert_eq!(output.status.code(), Some(1), "a full disk is a failure, not bad input");
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("No space left on device"), "{message}");
    assert_only_complete_files(&out);
    if let Ok(manifest) = Manifest::read(&out) {
        assert!(!manifest.completed);
    }
}

#[test]
fn a_read_only_output_folder_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "medium.toml", MEDIUM);
    let disk = dir.path().join("ro");
    let Some(_mount) = Mount::tmpfs(&disk, "ro,size=1m") else { return };
    let output = run(&config, &disk.join("out"), &[]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("--out") && message.contains("cannot write there") && message.contains("Read-only"),
        "{message}"
    );
}

#[test]
fn an_unwritable_checkpoint_folder_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "ck.toml", &format!("{MEDIUM}checkpoint_every_ticks = 52\n"));
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // A file where the checkpoint folder should be: no process, root included, can write there.
    std::fs::write(out.join("checkpoints"), "not a folder").unwrap();
    let output = run(&config, &out, &["--resume"]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("checkpoint folder") && message.contains("cannot write there"), "{message}");
    assert!(parquet_files(&out).is_empty());
}

#[test]
fn sigkill_at_any_moment_leaves_only_complete_files_and_an_incomplete_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "medium.toml", MEDIUM);
    for (i, delay_ms) in [30u64, 250, 700, 1300].into_iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let mut child = bondsim()
            .arg("run")
            .arg(&config)
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_only_complete_files(&out);
        match Manifest::read(&out) {
            Ok(manifest) => assert_eq!(manifest.completed, status.success(), "killed after {delay_ms} ms"),
            Err(_) => assert!(parquet_files(&out).is_empty(), "files without a manifest"),
        }
    }
}

#[test]
fn a_population_too_big_for_the_machine_is_refused_with_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "huge.toml", "[population]\nfounders = 20000000\n");
    let out = dir.path().join("out");
    let output = run(&config, &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("needs an estimated") && message.contains("GB is available"), "{message}");
    assert!(!out.exists());
}
