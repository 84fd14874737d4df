//! `bondsim validate --quick`: runs the validation scenario, reports every stylized fact with a
//! finite simulated value, and fails when a fact leaves its tolerance with the default
//! parameters. Two mechanisms are then shown to drive their facts: weaker caregiving sensitivity
//! gives fewer secure infants, and loneliness that no longer raises stress takes away the
//! excess mortality of isolated adults.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::*;

/// The quick validation with the default parameters, run once (with `--strict`: exit status 1
/// when a fact is out of tolerance) for every test here, and measured a second time in the same
/// folder. What the tests read of it is kept; the folder (about 220 MB of runs) is removed
/// before any test reads it: a `TempDir` held in a static is never dropped.
struct Defaults {
    facts: Vec<serde_json::Value>,
    /// validation.parquet after the first measuring, and after the second.
    parquet: (Vec<u8>, Vec<u8>),
    /// The second measuring's exit status, standard output and error.
    again: (bool, String, String),
}

fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("validate");
        let facts = quick(None, &out, true);
        let path = out.join("validation.parquet");
        let before = std::fs::read(&path).unwrap();
        // Measuring the same runs again (they are skipped, not rerun).
        let again = bondsim().args(["validate", "--quick", "--threads", "2", "--out"]).arg(&out).output().unwrap();
        let after = std::fs::read(&path).unwrap();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let again = (again.status.success(), text(&again.stdout), text(&again.stderr));
        Defaults { facts, parquet: (before, after), again }
    })
}

/// Runs the quick validation (of `config`, or the defaults) into `out` and returns the
/// validation.json facts.
fn quick(config: Option<&Path>, out: &Path, strict: bool) -> Vec<serde_json::Value> {
    let mut command = bondsim();
    command.arg("validate");
    if let Some(config) = config {
        command.arg(config);
    }
    if strict {
        command.arg("--strict");
    }
    let output = command.args(["--quick", "--threads", "2", "--out"]).arg(out).output().unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    for id in ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12", "F13", "F14"] {
        assert!(table.lines().any(|l| l.starts_with(&format!("{id} "))), "{id} missing:\n{table}");
    }
    assert!(output.status.success(), "{table}{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("validation.json")).unwrap()).unwrap();
    json["facts"].as_array().unwrap().clone()
}

fn value(facts: &[serde_json::Value], measure_starts: &str) -> f64 {
    let f = facts
        .iter()
        .find(|f| f["measure"].as_str().unwrap().starts_with(measure_starts))
        .unwrap_or_else(|| panic!("no measure {measure_starts}"));
    f["value"].as_f64().unwrap()
}

#[test]
fn quick_validation_passes_every_fact_with_the_defaults() {
    let Defaults { facts, parquet: (before, after), again } = defaults();
    assert_eq!(facts.len(), 23);
    for f in facts {
        let value = f["value"].as_f64().unwrap_or_else(|| panic!("no value for {f}"));
        assert!(value.is_finite(), "{f}");
        assert_eq!(f["per_run"].as_array().unwrap().len(), 2, "two replicates");
        let low = f["low"].as_f64().unwrap_or(f64::NEG_INFINITY);
        let high = f["high"].as_f64().unwrap_or(f64::INFINITY);
        assert!((low..=high).contains(&value), "out of tolerance: {f}");
        assert!(f["pass"].as_bool().unwrap(), "{f}");
    }
    for f in facts.iter().filter(|f| f["measure"].as_str().unwrap().contains("(share")) {
        assert!((0.0..=1.0).contains(&f["value"].as_f64().unwrap()), "{f}");
    }
    // The same table as Parquet, with the config and the master seed in its metadata.
    let reader = parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(before.clone())).unwrap();
    use parquet::file::reader::FileReader;
    let meta = reader.metadata().file_metadata();
    assert_eq!(meta.num_rows(), 23);
    let kv = meta.key_value_metadata().unwrap();
    assert!(kv.iter().any(|k| k.key == "bondsim.config" && k.value.as_deref().is_some_and(|v| v.contains("[model"))));
    assert!(kv.iter().any(|k| k.key == "bondsim.master_seed"));
    let run_seeds = kv.iter().find(|k| k.key == "bondsim.run_seeds").and_then(|k| k.value.clone()).unwrap();
    assert_eq!(run_seeds.split(',').count(), 2, "{run_seeds}");
    // Measuring the same runs again (they are skipped, not rerun) gives the same bytes.
    let (success, stdout, stderr) = again;
    assert!(success, "{stderr}");
    assert!(stdout.contains("2 skipped"), "{stdout}");
    assert_eq!(before, after, "validation.parquet is deterministic");
}

/// A measure with the defaults and with one `[model.SECTION] KEY = VALUE` changed.
fn with_and_without(section: &str, key: &str, value_text: &str, measure: &str) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("[experiment]\nname = \"changed\"\n[model.{section}]\n{key} = {value_text}\n");
    let config = write_config(dir.path(), "changed.toml", &text);
    let changed = quick(Some(&config), &dir.path().join("changed"), false);
    (value(&defaults().facts, measure), value(&changed, measure))
}

#[test]
fn weaker_caregiving_gives_fewer_secure_infants() {
    let (before, after) = with_and_without("caregiving", "base_sensitivity", "0.3", "infants secure");
    assert!(
        after < before - 0.03,
        "infants secure: {before:.3} with the defaults, {after:.3} with base_sensitivity 0.3"
    );
}

#[test]
fn without_loneliness_stress_isolation_no_longer_kills() {
    let (before, after) = with_and_without("stress", "cortisol_loneliness_gain", "0.0", "death rate ratio");
    assert!(before > 1.1, "isolated adults die sooner with the defaults: ratio {before:.3}");
    assert!(
        after < before - 0.1,
        "death rate ratio: {before:.3} with the defaults, {after:.3} without loneliness stress"
    );
}
