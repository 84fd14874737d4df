//! Runs the Python analyst tests (tests/python) against the real binary: pyarrow, pandas,
//! polars and DuckDB read the dataset. Needs `python3 -m pip install -r tests/requirements.txt`.

use std::process::Command;

#[test]
fn python_readers_load_the_dataset() {
    let root = env!("CARGO_MANIFEST_DIR");
    let probe = Command::new("python3")
        .args(["-c", "import pytest, pyarrow, polars, duckdb, pandas"])
        .output()
        .expect("python3 is needed for the analyst tests");
    assert!(
        probe.status.success(),
        "the Python readers are missing; install them with: python3 -m pip install -r tests/requirements.txt\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let output = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/python"])
        .current_dir(root)
        .env("BONDSIM_BIN", env!("CARGO_BIN_EXE_bondsim"))
        .output()
        .expect("run pytest");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the Python analyst tests failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains(" passed"), "pytest ran no test:\n{report}");
}
