//! The Parquet dataset writer: per table and run, one file per segment (the whole run, or each
//! checkpoint interval), in hive-style partitions (`<table>/<partition>/part-00000.parquet`, the
//! partition being `run=<id>` for a single run and `scenario=…/<parameter>=…/replicate=…/run=<id>`
//! in a sweep), zstd-compressed, with the resolved config and seed in the key-value metadata.
//! Each file is written under a hidden temporary name that readers skip
//! (`.part-00000.parquet.inprogress`) and renamed only when complete, so a crash never leaves a
//! file that looks whole.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{RecordBatch, UInt32Array};
use arrow_schema::SchemaRef;
use arrow_select::concat::concat_batches;
use arrow_select::take::take_record_batch;
use bondsim_engine::Output;
use bondsim_engine::output::{BirthRow, BondEventRow, DeathRow, InterventionRow, MetricsRow};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use crate::IoError;
use crate::tables::{self, SCHEMA_VERSION};

/// Rows per batch handed to the Parquet writer, counted from the table's first row: the
/// writer's pages follow its batches, so fixed batches make the file's bytes independent of how
/// the rows arrived.
const BATCH_ROWS: usize = 16_384;

/// A row group is closed after the batch that brings it to this many rows (the Parquet
/// writer's default; a multiple of `BATCH_ROWS`, so exactly this many)...
const ROW_GROUP_ROWS: usize = 1 << 20;

/// ... or to this many bytes of encoded data, whichever comes first: the open row group of each
/// table is held in memory until it closes, and a million agents' snapshot rows are about 70 MB
/// encoded.
const ROW_GROUP_BYTES: usize = 16 << 20;

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
    schema: SchemaRef,
    file: SerializedFileWriter<File>,
    columns: ArrowRowGroupWriterFactory,
    /// The open row group: a writer per column, and its rows so far.
    open: Option<(Vec<ArrowColumnWriter>, usize)>,
    /// The rows of the unfinished batch, fewer than `BATCH_ROWS`, as they arrived.
    waiting: Vec<RecordBatch>,
    rows: u64,
}

impl TableWriter {
    /// Hands `incoming` rows to the file a batch of `BATCH_ROWS` at a time, the batches counted
    /// from the table's first row, so that they (and the file's bytes) do not depend on how the
    /// rows arrived. The waiting rows are topped up first (the only rows copied: a batch that
    /// spans two arrivals), then `incoming`'s whole batches are written where they lie, as slices
    /// of its arrays, and the rest waits. With `last`, everything is written, the last batch
    /// short.
    fn push(&mut self, incoming: Option<RecordBatch>, last: bool) -> Result<(), ParquetError> {
        let mut rest = match incoming {
            Some(batch) => batch,
            None if last => RecordBatch::new_empty(Arc::clone(&self.schema)),
            None => return Ok(()),
        };
        let arrived = rest.num_rows();
        let waiting: usize = self.waiting.iter().map(RecordBatch::num_rows).sum();
        if waiting > 0 {
            let take = (BATCH_ROWS - waiting).min(rest.num_rows());
            self.waiting.push(rest.slice(0, take));
            rest = rest.slice(take, rest.num_rows() - take);
            if waiting + take < BATCH_ROWS && !last {
                return Ok(());
            }
            let batch = concat_batches(&self.schema, &std::mem::take(&mut self.waiting))?;
            self.write_batch(&batch)?;
        }
        while rest.num_rows() >= BATCH_ROWS || (last && rest.num_rows() > 0) {
            let batch = rest.num_rows().min(BATCH_ROWS);
            self.write_batch(&rest.slice(0, batch))?;
            rest = rest.slice(batch, rest.num_rows() - batch);
        }
        if rest.num_rows() > 0 {
            // The tail of a larger arrival is copied out, so that it does not hold the arrival's
            // arrays (a snapshot's slice) until the next rows come.
            if rest.num_rows() < arrived {
                rest = take_record_batch(&rest, &UInt32Array::from_iter_values(0..rest.num_rows() as u32))?;
            }
            self.waiting.push(rest);
        }
        Ok(())
    }

    /// Encodes a batch into the open row group, each column on its own task of the pool the
    /// caller runs in (the simulation's: `Simulation::drain_output`, `Simulation::install`), and
    /// closes the row group when it is full. The encoding is the Parquet writer's, column by
    /// column, so the bytes do not depend on the threads.
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        self.rows += batch.num_rows() as u64;
        let (writers, rows) = match &mut self.open {
            Some(open) => open,
            none => none.insert((self.columns.create_column_writers(self.file.flushed_row_groups().len())?, 0)),
        };
        // The schemas are flat: a column is one leaf, computed on its writer's task.
        let (fields, columns) = (self.schema.fields(), batch.columns());
        assert_eq!(writers.len(), fields.len(), "a flat schema: one column writer per field");
        let done: Vec<Result<(), ParquetError>> = writers
            .par_iter_mut()
            .zip(fields.par_iter().zip(columns.par_iter()))
            .map(|(writer, (field, column))| {
                compute_leaves(field, column)?.iter().try_for_each(|leaf| writer.write(leaf))
            })
            .collect();
        done.into_iter().collect::<Result<(), _>>()?;
        *rows += batch.num_rows();
        let bytes: usize = writers.iter().map(ArrowColumnWriter::get_estimated_total_bytes).sum();
        if *rows >= ROW_GROUP_ROWS || bytes >= ROW_GROUP_BYTES {
            self.close_row_group()?;
        }
        Ok(())
    }

    /// Closes the open row group, if any: its column chunks, closed in parallel, are appended to
    /// the file in column order.
    fn close_row_group(&mut self) -> Result<(), ParquetError> {
        let Some((writers, _)) = self.open.take() else { return Ok(()) };
        let chunks: Vec<Result<ArrowColumnChunk, ParquetError>> =
            writers.into_par_iter().map(ArrowColumnWriter::close).collect();
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk?.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        Ok(())
    }
}

/// The events and metrics not yet converted to Arrow, fewer than a batch per table (a
/// snapshot's agents and bonds arrive as columns and never wait as rows).
#[derive(Default)]
struct WaitingRows {
    bond_events: Vec<BondEventRow>,
    births: Vec<BirthRow>,
    deaths: Vec<DeathRow>,
    metrics: Vec<MetricsRow>,
    interventions: Vec<InterventionRow>,
}

/// Streams a run's rows into its Parquet files.
pub struct DatasetWriter {
    tables: Vec<TableWriter>,
    waiting: WaitingRows,
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
            // Dictionary encoding only for the columns `tables::dictionary_encoded` names: on
            // levels and ids (nearly all values distinct) it is tried and abandoned at every row
            // group, which cost a sixth of a snapshot's writing time and made the files larger.
            let mut props = WriterProperties::builder()
                // Level 1: each column writer holds a compression context while its row group is
                // open, and level 3's are larger (1M agents: about 20 MB more at the peak) for
                // files under 1 % smaller.
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid level")))
                .set_dictionary_enabled(false);
            for column in schema.fields().iter().filter(|f| tables::dictionary_encoded(name, f)) {
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
            // The Arrow writer sets the file up (its schema and the Arrow schema in the metadata);
            // the columns are then encoded through its lower-level parts (`write_batch`).
            let (file, columns) = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props))
                .and_then(ArrowWriter::into_serialized_writer)
                .map_err(|e| IoError::parquet(&temp_path, e))?;
            let relative = final_path.strip_prefix(root).unwrap_or(&final_path).to_string_lossy().into_owned();
            tables.push(TableWriter {
                name,
                temp_path,
                final_path,
                relative,
                schema,
                file,
                columns,
                open: None,
                waiting: Vec::new(),
                rows: 0,
            });
        }
        Ok(Self { tables, waiting: WaitingRows::default() })
    }

    /// Takes a drain of the engine's rows; writes a batch whenever a table has enough.
    pub fn write(&mut self, output: Output) -> Result<(), IoError> {
        self.push(output, false)
    }

    /// Hands each table its rows (with `last`, writes everything, the waiting rows included). A
    /// snapshot's columns become one Arrow batch as they arrive; the events and metrics, a few
    /// rows a tick, wait as rows until they fill a batch.
    fn push(&mut self, output: Output, last: bool) -> Result<(), IoError> {
        fn rows<T>(
            waiting: &mut Vec<T>,
            mut incoming: Vec<T>,
            last: bool,
            to_batch: fn(&[T]) -> RecordBatch,
        ) -> Option<RecordBatch> {
            waiting.append(&mut incoming);
            let full = waiting.len() >= BATCH_ROWS || (last && !waiting.is_empty());
            full.then(|| to_batch(&std::mem::take(waiting)))
        }
        let Output { bond_events, births, deaths, metrics, agents, interventions, network } = output;
        let w = &mut self.waiting;
        let mut batches = [
            ("agents", (!agents.is_empty()).then(|| tables::agents_batch(agents))),
            ("bond_events", rows(&mut w.bond_events, bond_events, last, tables::bond_events_batch)),
            ("births", rows(&mut w.births, births, last, tables::births_batch)),
            ("deaths", rows(&mut w.deaths, deaths, last, tables::deaths_batch)),
            ("metrics", rows(&mut w.metrics, metrics, last, tables::metrics_batch)),
            ("interventions", rows(&mut w.interventions, interventions, last, tables::interventions_batch)),
            ("network", (!network.is_empty()).then(|| tables::network_batch(network))),
        ];
        for t in &mut self.tables {
            let (_, batch) = batches.iter_mut().find(|(name, _)| *name == t.name).expect("a batch for every table");
            t.push(batch.take(), last).map_err(|e| IoError::parquet(&t.temp_path, e))?;
        }
        Ok(())
    }

    /// Writes what is left, closes each file, syncs it and renames it to its final name.
    pub fn finish(mut self) -> Result<Vec<(String, TableSummary)>, IoError> {
        self.push(Output::default(), true)?;
        let mut summaries = Vec::with_capacity(self.tables.len());
        for mut table in self.tables {
            let file = table
                .close_row_group()
                .and_then(|()| table.file.into_inner())
                .map_err(|e| IoError::parquet(&table.temp_path, e))?;
            file.sync_all().map_err(|e| IoError::io(&table.temp_path, e))?;
            drop(file);
            fs::rename(&table.temp_path, &table.final_path).map_err(|e| IoError::io(&table.final_path, e))?;
            let bytes = fs::metadata(&table.final_path).map_err(|e| IoError::io(&table.final_path, e))?.len();
            summaries.push((table.name.to_string(), TableSummary { path: table.relative, rows: table.rows, bytes }));
        }
        Ok(summaries)
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, UInt64Type};
    use bondsim_engine::output::NetworkRow;
    use bondsim_model::BondKind;
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    /// Writes `rows` as a run's network table, handed over in pieces of the given sizes (in turn,
    /// over and over) as a snapshot drains, and returns the file's bytes.
    fn network_file(rows: &[NetworkRow], pieces: &[usize]) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("temp dir");
        let meta = RunMeta {
            run_id: "t".into(),
            partition: "run=t".into(),
            seed: 1,
            config_toml: String::new(),
            tick_days: 7.0,
        };
        let mut writer = DatasetWriter::create(dir.path(), &meta, 0).expect("writer");
        let (mut start, mut piece) = (0, pieces.iter().cycle());
        while start < rows.len() {
            let end = (start + piece.next().expect("cycled")).min(rows.len());
            writer
                .write(Output { network: rows[start..end].iter().copied().collect(), ..Output::default() })
                .expect("write");
            start = end;
        }
        let summaries = writer.finish().expect("finish");
        let (_, network) = summaries.iter().find(|(table, _)| table == "network").expect("network table");
        assert_eq!(network.rows, rows.len() as u64);
        fs::read(dir.path().join(&network.path)).expect("file")
    }

    /// Writes `rows` as a run's network table, handed over in slices as a snapshot drains, and
    /// returns the file's row-group sizes and its `agent_a` and `strength` columns.
    fn write_network(rows: &[NetworkRow]) -> (Vec<usize>, Vec<u64>, Vec<f32>) {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(Bytes::from(network_file(rows, &[100_000]))).expect("parquet");
        let groups = reader.metadata().row_groups().iter().map(|g| g.num_rows() as usize).collect();
        let (mut ids, mut strengths) = (Vec::new(), Vec::new());
        for batch in reader.build().expect("reader") {
            let batch = batch.expect("batch");
            ids.extend(batch.column_by_name("agent_a").expect("agent_a").as_primitive::<UInt64Type>().values());
            strengths
                .extend(batch.column_by_name("strength").expect("strength").as_primitive::<Float32Type>().values());
        }
        (groups, ids, strengths)
    }

    fn noise(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29)
    }

    /// Row `i`; with a non-zero `noise`, most columns carry bits that do not compress.
    fn row(i: u64, noise: u64) -> NetworkRow {
        let level = |salt: u64| (noise.rotate_left(salt as u32) % 1_000_003) as f32 / 1_000_003.0;
        NetworkRow {
            tick: 1,
            agent_a: i ^ noise,
            agent_b: (i + 1) ^ noise.rotate_left(17),
            kind: BondKind::Friend,
            strength: level(0),
            value: level(7),
            synchrony: level(23),
            contact_hours: level(41),
            formed_tick: (noise >> 20) as i64,
            bond_age_ticks: (noise.rotate_left(31) >> 20) as i64,
        }
    }

    #[test]
    fn the_file_is_the_same_however_the_rows_arrive() {
        // Rows that do not compress, so that row groups close at the byte limit: on the batch
        // that crosses it, so a batch boundary that moved would move a row group's end.
        let rows: Vec<NetworkRow> = (0..24 * BATCH_ROWS as u64 + 777).map(|i| row(i, noise(i))).collect();
        let whole = network_file(&rows, &[rows.len()]);
        for pieces in [&[1][..], &[BATCH_ROWS - 1], &[BATCH_ROWS], &[BATCH_ROWS + 1, 5, 2 * BATCH_ROWS], &[333, 20_000]]
        {
            assert!(network_file(&rows, pieces) == whole, "pieces {pieces:?}");
        }
    }

    #[test]
    fn the_columns_named_for_it_are_dictionary_encoded_and_the_others_are_not() {
        let rows: Vec<NetworkRow> = (0..BATCH_ROWS as u64).map(|i| row(i, i % 7)).collect();
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(Bytes::from(network_file(&rows, &[BATCH_ROWS]))).expect("parquet");
        let schema = tables::network_schema();
        for (field, chunk) in schema.fields().iter().zip(reader.metadata().row_group(0).columns()) {
            let dictionary = chunk.dictionary_page_offset().is_some();
            assert_eq!(dictionary, tables::dictionary_encoded("network", field), "{}", field.name());
        }
        assert!(tables::dictionary_encoded("network", schema.field_with_name("tick").expect("tick")));
        assert!(!tables::dictionary_encoded("network", schema.field_with_name("agent_b").expect("agent_b")));
        let metrics = tables::metrics_schema();
        assert!(!tables::dictionary_encoded("metrics", metrics.field_with_name("tick").expect("tick")));
    }

    #[test]
    fn a_table_past_the_row_limit_is_split_into_full_row_groups_and_keeps_every_row_in_order() {
        let rows: Vec<NetworkRow> = (0..ROW_GROUP_ROWS as u64 + 1_000).map(|i| row(i, 0)).collect();
        let (groups, ids, strengths) = write_network(&rows);
        assert_eq!(groups, vec![ROW_GROUP_ROWS, 1_000]);
        assert_eq!(ids, rows.iter().map(|r| r.agent_a).collect::<Vec<_>>());
        assert_eq!(strengths, rows.iter().map(|r| r.strength).collect::<Vec<_>>());
    }

    #[test]
    fn rows_that_encode_large_close_their_row_group_at_the_byte_limit_on_a_batch_boundary() {
        // Values that do not compress: about 60 encoded bytes a row, so 16 MiB come well
        // before 1,048,576 rows.
        let rows: Vec<NetworkRow> = (0..ROW_GROUP_ROWS as u64).map(|i| row(i, noise(i))).collect();
        let (groups, ids, strengths) = write_network(&rows);
        assert!(groups.len() >= 2, "split by bytes: {groups:?}");
        assert!(groups[..groups.len() - 1].iter().all(|&g| g < ROW_GROUP_ROWS && g % BATCH_ROWS == 0), "{groups:?}");
        assert_eq!(groups.iter().sum::<usize>(), rows.len());
        assert_eq!(ids, rows.iter().map(|r| r.agent_a).collect::<Vec<_>>());
        assert_eq!(strengths, rows.iter().map(|r| r.strength).collect::<Vec<_>>());
    }
}
