//! What the whole-run benches share: the binary they measure and their configs (as written, or
//! copied without snapshots). Their runs' manifests are read with `bondsim_io::Manifest`.

use std::path::{Path, PathBuf};

/// The bench configs' `record.agents_every_ticks` (the first snapshot is at that tick).
pub const SNAPSHOT_EVERY: u32 = 52;

/// The binary measured: `BONDSIM_BIN` (say the link-time optimised build,
/// target/release-lto/bondsim), or the release build cargo made for the bench.
pub fn binary() -> PathBuf {
    std::env::var_os("BONDSIM_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_bondsim")), PathBuf::from)
}

/// Which cases a bench runs: given a case's label and whether it runs by default, whether to
/// run it. The cases the environment variable `var` names (comma-separated, any case) if it is
/// set, else those run by default.
pub fn chosen(var: &str) -> impl Fn(&str, bool) -> bool {
    let named: Option<Vec<String>> =
        std::env::var(var).ok().map(|v| v.split(',').map(|s| s.trim().to_lowercase()).collect());
    move |label, by_default| named.as_ref().map_or(by_default, |named| named.iter().any(|n| n == label))
}

/// A bench config: the file itself, or a copy without snapshots (`agents_every_ticks = 0`)
/// next to the run's output folder `out`.
pub fn config(root: &Path, config: &str, snapshots: bool, out: &Path) -> PathBuf {
    let path = root.join(config);
    if snapshots {
        return path;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let line = format!("agents_every_ticks = {SNAPSHOT_EVERY}");
    assert!(text.contains(&line), "{config} records every {SNAPSHOT_EVERY} ticks");
    let copy = out.with_extension("toml");
    std::fs::create_dir_all(copy.parent().expect("a parent")).expect("bench folder");
    std::fs::write(&copy, text.replace(&line, "agents_every_ticks = 0")).expect("config copy written");
    copy
}
