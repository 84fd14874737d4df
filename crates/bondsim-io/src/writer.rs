//! The Parquet dataset writer: per table and run, one file per segment (the whole run, or each
//! checkpoint interval), in hive-style partitions (`<table>/<partition>/part-00000.parquet`, the
//! partition being `run=<id>` for a single run and `scenario=…/<parameter>=…/replicate=…/run=<id>`
//! in a sweep), zstd-compressed, with the resolved config and seed in the key-value metadata.
//! Each file is written under a hidden temporary name that readers skip
//! (`.part-00000.parquet.inprogress`) and renamed only when complete, so a crash never leaves a
//! file that looks whole.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::DataType;
use bondsim_engine::Output;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::IoError;
use crate::tables::{self, SCHEMA_VERSION};

/// Rows buffered per table before they are handed to the Parquet writer as one batch.
const BATCH_ROWS: usize = 65_536;

/// A row group is closed at this many bytes of encoded data (or at the writer's default of
/// 1,048,576 rows, whichever comes first): the open row group of each table is held in memory
/// until it closes, and a million agents' snapshot rows are about 70 MB encoded.
const ROW_GROUP_BYTES: usize = 32 << 20;

/// What identifies a run's files: stored in every file's key-value metadata.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub run_id: String,
    /// The hive partition path of the run under each table folder, e.g. `run=baseline-s42`.
    pub partition: String,
    pub seed: u64,
    /// The resolved experiment config, as TOML.
    pub config_toml: String,
    pub tick_days: f64,
}

/// Rows and bytes of one finished table file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TableSummary {
    /// Path relative to the output folder.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
}

struct TableWriter {
    name: &'static str,
    temp_path: PathBuf,
    final_path: PathBuf,
    relative: String,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl TableWriter {
    /// Writes `rows` converted to Arrow a batch of `BATCH_ROWS` at a time (a snapshot of a
    /// million agents' bonds is millions of rows: whole, its Arrow copy would double the memory
    /// it takes). Only whole batches unless `all`: the rest waits for more rows, so the batches
    /// (and the file's bytes) do not depend on how the rows arrived.
    fn write_rows<T>(
        &mut self,
        rows: &mut Vec<T>,
        all: bool,
        to_batch: fn(&[T]) -> RecordBatch,
    ) -> Result<(), IoError> {
        let ready = if all { rows.len() } else { rows.len() - rows.len() % BATCH_ROWS };
        if ready == 0 {
            return Ok(());
        }
        for chunk in rows[..ready].chunks(BATCH_ROWS) {
            let batch = to_batch(chunk);
            self.rows += batch.num_rows() as u64;
            self.writer.write(&batch).map_err(|e| IoError::parquet(&self.temp_path, e))?;
        }
        // The rest moves to a vector of its own size, and the written rows' memory is released.
        *rows = rows.split_off(ready);
        Ok(())
    }
}

/// Streams a run's rows into its Parquet files.
pub struct DatasetWriter {
    tables: Vec<TableWriter>,
    pending: Output,
}

impl std::fmt::Debug for DatasetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetWriter").field("tables", &self.tables.len()).finish()
    }
}

/// The folder of a run's partition of `table`.
pub fn partition_dir(root: &Path, table: &str, partition: &str) -> PathBuf {
    root.join(table).join(partition)
}

/// The name of segment `part` of a table file, and its temporary name while being written.
pub fn part_names(part: u32) -> (String, String) {
    let name = format!("part-{part:05}.parquet");
    let temp = format!(".{name}.inprogress");
    (name, temp)
}

impl DatasetWriter {
    /// Opens segment `part` of every table of a run.
    pub fn create(root: &Path, meta: &RunMeta, part: u32) -> Result<Self, IoError> {
        let mut tables = Vec::with_capacity(tables::TABLES.len());
        let (file_name, temp_name) = part_names(part);
        for name in tables::TABLES {
            let dir = partition_dir(root, name, &meta.partition);
            fs::create_dir_all(&dir).map_err(|e| IoError::io(&dir, e))?;
            let final_path = dir.join(&file_name);
            let temp_path = dir.join(&temp_name);
            let file = File::create(&temp_path).map_err(|e| IoError::io(&temp_path, e))?;
            let schema = tables::schema(name).expect("known table");
            // Dictionary encoding for the category columns only: on levels and ids (nearly all
            // values distinct) it is tried and abandoned at every row group, which cost a sixth
            // of a snapshot's writing time and made the files larger.
            let mut props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid level")))
                .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
                .set_dictionary_enabled(false);
            for column in schema.fields().iter().filter(|f| matches!(f.data_type(), DataType::Dictionary(..))) {
                props = props.set_column_dictionary_enabled(ColumnPath::from(column.name().as_str()), true);
            }
            let props = props
                .set_key_value_metadata(Some(vec![
                    KeyValue::new("bondsim.version".into(), env!("CARGO_PKG_VERSION").to_string()),
                    KeyValue::new("bondsim.schema_version".into(), SCHEMA_VERSION.to_string()),
                    KeyValue::new("bondsim.table".into(), name.to_string()),
                    KeyValue::new("bondsim.run_id".into(), meta.run_id.clone()),
                    KeyValue::new("bondsim.seed".into(), meta.seed.to_string()),
                    KeyValue::new("bondsim.tick_days".into(), meta.tick_days.to_string()),
                    KeyValue::new("bondsim.config".into(), meta.config_toml.clone()),
                ]))
                .build();
            let writer =
                ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| IoError::parquet(&temp_path, e))?;
            let relative = final_path.strip_prefix(root).unwrap_or(&final_path).to_string_lossy().into_owned();
            tables.push(TableWriter { name, temp_path, final_path, relative, writer, rows: 0 });
        }
        Ok(Self { tables, pending: Output::default() })
    }

    /// Takes a drain of the engine's rows; writes a batch whenever a table has enough.
    pub fn write(&mut self, output: Output) -> Result<(), IoError> {
        self.pending.append(output);
        self.flush(false)
    }

    fn flush(&mut self, all: bool) -> Result<(), IoError> {
        let p = &mut self.pending;
        for table in &mut self.tables {
            match table.name {
                "agents" => table.write_rows(&mut p.agents, all, tables::agents_batch)?,
                "bond_events" => table.write_rows(&mut p.bond_events, all, tables::bond_events_batch)?,
                "births" => table.write_rows(&mut p.births, all, tables::births_batch)?,
                "deaths" => table.write_rows(&mut p.deaths, all, tables::deaths_batch)?,
                "metrics" => table.write_rows(&mut p.metrics, all, tables::metrics_batch)?,
                "interventions" => table.write_rows(&mut p.interventions, all, tables::interventions_batch)?,
                "network" => table.write_rows(&mut p.network, all, tables::network_batch)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Writes what is left, closes each file, syncs it and renames it to its final name.
    pub fn finish(mut self) -> Result<Vec<(String, TableSummary)>, IoError> {
        self.flush(true)?;
        let mut summaries = Vec::with_capacity(self.tables.len());
        for table in self.tables {
            let file = table.writer.into_inner().map_err(|e| IoError::parquet(&table.temp_path, e))?;
            file.sync_all().map_err(|e| IoError::io(&table.temp_path, e))?;
            drop(file);
            fs::rename(&table.temp_path, &table.final_path).map_err(|e| IoError::io(&table.final_path, e))?;
            let bytes = fs::metadata(&table.final_path).map_err(|e| IoError::io(&table.final_path, e))?.len();
            summaries.push((table.name.to_string(), TableSummary { path: table.relative, rows: table.rows, bytes }));
        }
        Ok(summaries)
    }
}
