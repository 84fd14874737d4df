//! Same config and seed, same bytes: at one thread and at two.

mod common;

use common::*;

#[test]
fn one_and_two_threads_write_byte_identical_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "small.toml", SMALL);
    let (one, two, again) = (dir.path().join("one"), dir.path().join("two"), dir.path().join("again"));
    run_ok(&config, &one, &["--threads", "1"]);
    run_ok(&config, &two, &["--threads", "2"]);
    run_ok(&config, &again, &["--threads", "2"]);
    assert_eq!(parquet_files(&one).len(), bondsim_io::TABLES.len());
    assert_same_parquet(&one, &two, "1 and 2 threads");
    assert_same_parquet(&one, &again, "two runs at 2 threads");
}
