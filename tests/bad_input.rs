//! Bad input is refused before anything is written, with a message that names the file, the
//! key, the value and what is allowed, and exit status 2.

mod common;

use std::path::Path;

use common::*;

fn refused(config: &Path, out: &Path, extra: &[&str]) -> String {
    let output = bondsim().arg("run").arg(config).arg("--out").arg(out).args(extra).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "stdout: {}", String::from_utf8_lossy(&output.stdout));
    assert!(output.stdout.is_empty());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn check(text: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "bad.toml", text);
    let out = dir.path().join("out");
    let message = refused(&config, &out, &[]);
    assert!(message.contains("bad.toml"), "names the file: {message}");
    for part in expected {
        assert!(message.contains(part), "{message:?} should contain {part:?}");
    }
    assert!(!out.exists(), "nothing is written for a bad config");
}

#[test]
fn an_unknown_key_is_refused() {
    check("[population]\nfounders = 100\nfounderz = 3\n", &["population", "founderz", "founders"]);
}

#[test]
fn an_unknown_section_is_refused() {
    check("[populaton]\nfounders = 100\n", &["populaton"]);
}

#[test]
fn a_wrong_type_is_refused() {
    check("[time]\nyears = \"thirty\"\n", &["time.years", "thirty"]);
}

#[test]
fn a_negative_size_is_refused() {
    check("[population]\nfounders = -5\n", &["population.founders"]);
}

#[test]
fn an_out_of_range_value_is_refused_with_the_allowed_range() {
    check("[model.stress]\noxytocin_buffer = 1.5\n", &["model.stress.oxytocin_buffer", "1.5", "from 0 to 1"]);
}

#[test]
fn a_nan_is_refused() {
    check("[model.contact]\nweekly_social_hours = nan\n", &["model.contact.weekly_social_hours", "NaN"]);
}

#[test]
fn broken_toml_is_refused() {
    check("[population\nfounders = 1\n", &["TOML"]);
}

#[test]
fn a_missing_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let message = refused(&dir.path().join("nope.toml"), &out, &[]);
    assert!(message.contains("nope.toml") && message.contains("cannot read"), "{message}");
    assert!(!out.exists());
}

#[test]
fn a_non_empty_output_folder_is_refused_without_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "small.toml", SMALL);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let message = refused(&config, &out, &[]);
    assert!(message.contains("--overwrite") && message.contains("not empty"), "{message}");
    assert_eq!(all_files(&out), ["notes.txt"]);
}

#[test]
fn a_bad_thread_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "small.toml", SMALL);
    let message = refused(&config, &dir.path().join("out"), &["--threads", "5000"]);
    assert!(message.contains("execution.threads") && message.contains("5000"), "{message}");
}
