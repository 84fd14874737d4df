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

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not finished; a run whose process died keeps this status.
    Running,
    /// Stopped by SIGTERM; `bondsim run --resume` (or `sweep run`) continues it.
    Interrupted,
    /// Stopped by an error, given in `error`.
    Failed,
    Completed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
            RunStatus::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub bondsim_version: String,
    pub schema_version: String,
    pub run_id: String,
    /// The run's hive partition under each table folder.
    pub partition: String,
    /// The config file the run was started from, or `null` for the embedded baseline.
    pub config_path: Option<String>,
    /// The resolved config (file, defaults and command-line overrides), as TOML.
    pub config: String,
    pub seed: u64,
    pub threads: usize,
    /// True only once every table file is complete and renamed.
    pub completed: bool,
    pub status: RunStatus,
    /// The error that stopped a failed run.
    pub error: Option<String>,
    /// Tick of the last checkpoint written, if any.
    pub checkpoint_tick: Option<u64>,
    pub tables: BTreeMap<String, TableSummary>,
    pub ticks: u64,
    /// Live agents summed over ticks.
    pub agent_ticks: u64,
    pub wall_seconds: f64,
    pub peak_rss_bytes: u64,
    pub output_bytes: u64,
    pub agent_ticks_per_second: f64,
    /// Where the wall time went: each phase of a tick in tick order, then the writing of the
    /// output, summed over the run's ticks.
    pub phase_seconds: Vec<PhaseSeconds>,
    /// The processor the run's last session ran on (`model name` in /proc/cpuinfo; empty where
    /// the kernel does not say), so that a run's cost can be compared with runs on the same
    /// kind of machine. Absent from manifests of earlier builds.
    #[serde(default)]
    pub processor: String,
    /// Logical processors the last session's process could use, as the standard library counts
    /// them (its affinity mask and any cgroup quota: under SLURM, the allocation's cores); 0 in
    /// manifests of earlier builds.
    #[serde(default)]
    pub processors_available: usize,
}

/// Wall-clock seconds a run spent in one phase of its ticks (or in writing its output), summed
/// over its ticks and sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseSeconds {
    pub phase: String,
    pub seconds: f64,
}

impl Manifest {
    /// The manifest of a run that is starting: status `running`, nothing written yet.
    pub fn starting(
        run_id: &str,
        partition: &str,
        config_path: Option<String>,
        config: String,
        seed: u64,
        threads: usize,
    ) -> Self {
        Self {
            bondsim_version: env!("CARGO_PKG_VERSION").into(),
            schema_version: crate::SCHEMA_VERSION.into(),
            run_id: run_id.into(),
            partition: partition.into(),
            config_path,
            config,
            seed,
            threads,
            completed: false,
            status: RunStatus::Running,
            error: None,
            checkpoint_tick: None,
            tables: BTreeMap::new(),
            ticks: 0,
            agent_ticks: 0,
            wall_seconds: 0.0,
            peak_rss_bytes: 0,
            output_bytes: 0,
            agent_ticks_per_second: 0.0,
            phase_seconds: Vec::new(),
            processor: String::new(),
            processors_available: 0,
        }
    }

    /// Records the machine this session ran on (`processor`, `processors_available`).
    pub fn record_machine(&mut self) {
        self.processor = processor_model();
        self.processors_available = std::thread::available_parallelism().map_or(0, |n| n.get());
    }

    /// Writes the manifest to `path` atomically.
    pub fn write_to(&self, path: &Path) -> Result<(), IoError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| IoError::io(dir, e))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = dir.join(format!(".{name}.inprogress"));
        let text = serde_json::to_string_pretty(self).expect("manifest serialises");
        let mut file = fs::File::create(&temp).map_err(|e| IoError::io(&temp, e))?;
        file.write_all(text.as_bytes()).and_then(|_| file.write_all(b"\n")).map_err(|e| IoError::io(&temp, e))?;
        file.sync_all().map_err(|e| IoError::io(&temp, e))?;
        fs::rename(&temp, path).map_err(|e| IoError::io(path, e))
    }

    /// Reads `manifest.json` of a single run's output folder.
    pub fn read(dir: &Path) -> Result<Self, IoError> {
        Self::read_from(&dir.join(MANIFEST))
    }

    pub fn read_from(path: &Path) -> Result<Self, IoError> {
        let path = path.to_path_buf();
        let text = fs::read_to_string(&path).map_err(|e| IoError::io(&path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| IoError::Manifest { path: path.display().to_string(), message: e.to_string() })
    }
}

/// The processor's model name, from the first `model name` line of /proc/cpuinfo; empty where
/// there is none.
fn processor_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name").and_then(|v| v.trim_start().strip_prefix(':')))
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_default()
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
