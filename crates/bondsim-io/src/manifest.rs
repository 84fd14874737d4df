//! `manifest.json`: what a run was (config, seed, version), what it wrote (tables, row counts)
//! and whether it completed, with its cost. Written atomically: to a temporary name, then renamed.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::IoError;
use crate::writer::TableSummary;

pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub bondsim_version: String,
    pub schema_version: String,
    pub run_id: String,
    /// The config file the run was started from, or `null` for the embedded baseline.
    pub config_path: Option<String>,
    /// The resolved config (file, defaults and command-line overrides), as TOML.
    pub config: String,
    pub seed: u64,
    pub threads: usize,
    /// True only once every table file is complete and renamed.
    pub completed: bool,
    pub tables: BTreeMap<String, TableSummary>,
    pub ticks: u64,
    /// Live agents summed over ticks.
    pub agent_ticks: u64,
    pub wall_seconds: f64,
    pub peak_rss_bytes: u64,
    pub output_bytes: u64,
    pub agent_ticks_per_second: f64,
}

impl Manifest {
    pub fn write(&self, dir: &Path) -> Result<(), IoError> {
        let path = dir.join(MANIFEST);
        let temp = dir.join(".manifest.json.inprogress");
        let text = serde_json::to_string_pretty(self).expect("manifest serialises");
        let mut file = fs::File::create(&temp).map_err(|e| IoError::io(&temp, e))?;
        file.write_all(text.as_bytes()).and_then(|_| file.write_all(b"\n")).map_err(|e| IoError::io(&temp, e))?;
        file.sync_all().map_err(|e| IoError::io(&temp, e))?;
        fs::rename(&temp, &path).map_err(|e| IoError::io(&path, e))
    }

    pub fn read(dir: &Path) -> Result<Self, IoError> {
        let path = dir.join(MANIFEST);
        let text = fs::read_to_string(&path).map_err(|e| IoError::io(&path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| IoError::Manifest { path: path.display().to_string(), message: e.to_string() })
    }
}

/// Peak resident memory of this process (VmHWM from /proc/self/status), in bytes; 0 where the
/// kernel does not report it.
pub fn peak_rss_bytes() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
