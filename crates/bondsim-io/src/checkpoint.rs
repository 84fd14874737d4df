//! Checkpoint files: the state of a run at the end of a tick, the rows recorded since its last
//! complete segment, and the bookkeeping needed to continue it (`bondsim run --resume`).
//! Written atomically (temporary name, then rename), in postcard's compact binary encoding.

use std::collections::BTreeMap;
use std::fs;
use std::io::BufWriter;
use std::path::Path;

use bondsim_engine::{Output, SimState};
use serde::{Deserialize, Serialize};

use crate::IoError;
use crate::manifest::PhaseSeconds;
use crate::writer::TableSummary;

/// Bumped when the layout of a checkpoint changes; older checkpoints are refused (3: bond levels
/// in single precision; 4: seconds per phase; 5: the pending snapshots held by column).
pub const CHECKPOINT_FORMAT: u32 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: u32,
    /// The resolved config of the run; a resume with another config is refused.
    pub config: String,
    /// The next segment (part file) to write.
    pub next_part: u32,
    pub agent_ticks: u64,
    /// Wall-clock seconds spent on the run before this checkpoint.
    pub wall_seconds: f64,
    /// Of those, the seconds per phase (the manifest's `phase_seconds`).
    pub phase_seconds: Vec<PhaseSeconds>,
    /// Rows and bytes of the segments already written, per table.
    pub tables: BTreeMap<String, TableSummary>,
    /// Rows recorded since the last complete segment.
    pub pending: Output,
    pub state: SimState,
}

impl Checkpoint {
    pub fn write(&self, path: &Path) -> Result<(), IoError> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| IoError::io(dir, e))?;
        }
        let temp = path.with_extension("ckpt.inprogress");
        let file = fs::File::create(&temp).map_err(|e| IoError::io(&temp, e))?;
        let mut writer = BufWriter::new(file);
        postcard::to_io(self, &mut writer)
            .map_err(|e| IoError::Checkpoint { path: temp.display().to_string(), message: e.to_string() })?;
        let file = writer.into_inner().map_err(|e| IoError::io(&temp, e.into_error()))?;
        file.sync_all().map_err(|e| IoError::io(&temp, e))?;
        drop(file);
        fs::rename(&temp, path).map_err(|e| IoError::io(path, e))
    }

    pub fn read(path: &Path) -> Result<Self, IoError> {
        let bytes = fs::read(path).map_err(|e| IoError::io(path, e))?;
        let error = |message: String| IoError::Checkpoint { path: path.display().to_string(), message };
        // The format is the first field: read alone first, so that a checkpoint of another
        // layout is refused by name rather than failing somewhere in its state.
        let (format, _) = postcard::take_from_bytes::<u32>(&bytes).map_err(|e| error(e.to_string()))?;
        if format != CHECKPOINT_FORMAT {
            return Err(error(format!("format {format} is not this bondsim's format {CHECKPOINT_FORMAT}")));
        }
        postcard::from_bytes(&bytes).map_err(|e| error(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_of_another_format_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("old.ckpt");
        // An older layout: its format number, then a state this build cannot read.
        let bytes = postcard::to_allocvec(&(CHECKPOINT_FORMAT - 1, "an older state", [7u8; 16])).expect("bytes");
        fs::write(&path, bytes).expect("write");
        let err = Checkpoint::read(&path).expect_err("refused").to_string();
        assert!(
            err.contains(&format!("format {} is not this bondsim's format {CHECKPOINT_FORMAT}", CHECKPOINT_FORMAT - 1)),
            "{err}"
        );
    }
}
