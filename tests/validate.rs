//! `bondsim validate --quick`: runs the validation scenario and reports every stylized fact with
//! a finite simulated value. (Whether each fact passes is the calibration's job, reported in
//! docs/VALIDATION.md; this test pins the measurement down, not the outcome.)

mod common;

use common::*;

#[test]
fn quick_validation_measures_every_fact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("validate");
    let output = bondsim().args(["validate", "--quick", "--threads", "2", "--out"]).arg(&out).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8_lossy(&output.stdout);
    for id in ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12", "F13", "F14"] {
        assert!(table.lines().any(|l| l.starts_with(&format!("{id} "))), "{id} missing:\n{table}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("validation.json")).unwrap()).unwrap();
    let facts = json["facts"].as_array().unwrap();
    assert_eq!(facts.len(), 22);
    for f in facts {
        let value = f["value"].as_f64().unwrap_or_else(|| panic!("no value for {f}"));
        assert!(value.is_finite(), "{f}");
        assert_eq!(f["per_run"].as_array().unwrap().len(), 2, "two replicates");
        let pass = f["pass"].as_bool().unwrap();
        let low = f["low"].as_f64().unwrap_or(f64::NEG_INFINITY);
        let high = f["high"].as_f64().unwrap_or(f64::INFINITY);
        assert_eq!(pass, (low..=high).contains(&value), "pass agrees with the tolerance: {f}");
    }
    // Shares are shares.
    for f in facts.iter().filter(|f| f["measure"].as_str().unwrap().contains("(share")) {
        assert!((0.0..=1.0).contains(&f["value"].as_f64().unwrap()), "{f}");
    }
}
