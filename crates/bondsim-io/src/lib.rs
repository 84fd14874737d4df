//! bondsim-io: the output of a run as a dataset.
//!
//! Arrow schemas and record-batch builders for each table ([`tables`]), the atomic Parquet
//! dataset writer ([`writer`]) and the run manifest ([`manifest`]). The layout, every column and
//! the manifest's fields are documented in docs/OUTPUT.md.

pub mod checkpoint;
pub mod manifest;
pub mod tables;
pub mod writer;

use std::path::Path;

pub use checkpoint::{CHECKPOINT_FORMAT, Checkpoint};
pub use manifest::{MANIFEST, Manifest, PhaseSeconds, RunStatus, peak_rss_bytes};
pub use tables::{SCHEMA_VERSION, TABLES};
pub use writer::{DatasetWriter, RunMeta, TableSummary, part_names, partition_dir};

#[derive(Debug, thiserror::Error)]
pub enum IoError {
    // The underlying error is part of the message rather than a `source`, so that a chain of
    // contexts does not print it twice.
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: writing Parquet failed: {error}")]
    Parquet { path: String, error: parquet::errors::ParquetError },
    #[error("{path}: not a usable checkpoint: {message}")]
    Checkpoint { path: String, message: String },
    #[error("{path}: not a bondsim manifest: {message}")]
    Manifest { path: String, message: String },
}

impl IoError {
    pub fn io(path: &Path, error: std::io::Error) -> Self {
        IoError::Io { path: path.display().to_string(), error }
    }
    pub fn parquet(path: &Path, error: parquet::errors::ParquetError) -> Self {
        IoError::Parquet { path: path.display().to_string(), error }
    }
}
