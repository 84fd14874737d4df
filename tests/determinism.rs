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
    let files = parquet_files(&one);
    assert_eq!(files.len(), bondsim_io::TABLES.len());
    for file in files {
        let relative = file.strip_prefix(&one).unwrap();
        let a = std::fs::read(&file).unwrap();
        assert!(!a.is_empty());
        assert_eq!(
            a,
            std::fs::read(two.join(relative)).unwrap(),
            "{} differs between 1 and 2 threads",
            relative.display()
        );
        assert_eq!(a, std::fs::read(again.join(relative)).unwrap(), "{} differs between two runs", relative.display());
    }
}
