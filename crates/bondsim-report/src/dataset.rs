//! Reading a bondsim dataset back: every Parquet file of a table under an output folder, with the
//! hive partition keys of its path as extra string columns. The report reads only what a user
//! could read, the files, never engine internals.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::ReportError;

/// A column as the report uses it: numbers as f64 (NaN for null), everything else as strings.
#[derive(Debug, Clone)]
pub enum Column {
    Num(Vec<f64>),
    Text(Vec<Option<String>>),
}

#[derive(Debug, Default, Clone)]
pub struct Table {
    pub rows: usize,
    pub columns: HashMap<String, Column>,
}

impl Table {
    pub fn num(&self, name: &str) -> &[f64] {
        match self.columns.get(name) {
            Some(Column::Num(v)) => v,
            _ => &[],
        }
    }

    pub fn text(&self, name: &str) -> Vec<&str> {
        match self.columns.get(name) {
            Some(Column::Text(v)) => v.iter().map(|s| s.as_deref().unwrap_or("")).collect(),
            _ => vec![""; self.rows],
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with(['.', '_']);
            if hidden {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn to_numbers(array: &ArrayRef) -> Option<Vec<f64>> {
    let n = array.len();
    let get = |valid: &dyn Fn(usize) -> bool, value: &dyn Fn(usize) -> f64| {
        (0..n).map(|i| if valid(i) { value(i) } else { f64::NAN }).collect::<Vec<f64>>()
    };
    Some(match array.data_type() {
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            get(&|i| a.is_valid(i), &|i| a.value(i))
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            get(&|i| a.is_valid(i), &|i| f64::from(a.value(i)))
        }
        DataType::Int64 => {
            let a = array.as_primitive::<Int64Type>();
            get(&|i| a.is_valid(i), &|i| a.value(i) as f64)
        }
        DataType::UInt64 => {
            let a = array.as_primitive::<UInt64Type>();
            get(&|i| a.is_valid(i), &|i| a.value(i) as f64)
        }
        DataType::UInt32 => {
            let a = array.as_primitive::<UInt32Type>();
            get(&|i| a.is_valid(i), &|i| f64::from(a.value(i)))
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            get(&|i| a.is_valid(i), &|i| if a.value(i) { 1.0 } else { 0.0 })
        }
        _ => return None,
    })
}

fn to_text(array: &ArrayRef) -> Vec<Option<String>> {
    let strings = |keys: Vec<Option<usize>>, values: &ArrayRef| {
        let values = values.as_string::<i32>();
        keys.into_iter().map(|k| k.map(|k| values.value(k).to_string())).collect()
    };
    match array.data_type() {
        DataType::Dictionary(k, _) if **k == DataType::UInt8 => {
            let d = array.as_dictionary::<UInt8Type>();
            strings(d.keys().iter().map(|k| k.map(usize::from)).collect(), d.values())
        }
        DataType::Dictionary(k, _) if **k == DataType::UInt16 => {
            let d = array.as_dictionary::<UInt16Type>();
            strings(d.keys().iter().map(|k| k.map(usize::from)).collect(), d.values())
        }
        DataType::Utf8 => array.as_string::<i32>().iter().map(|s| s.map(str::to_string)).collect(),
        _ => vec![None; array.len()],
    }
}

/// Reads `columns` of `table` from every file under `root/table`; partition keys of the files'
/// paths (`key=value` folders) are added as text columns.
pub fn read(root: &Path, table: &str, columns: &[&str]) -> Result<Table, ReportError> {
    let mut out = Table::default();
    let dir = root.join(table);
    for file in parquet_files(&dir) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(
            File::open(&file)
                .map_err(|e| ReportError::Read { path: file.display().to_string(), message: e.to_string() })?,
        )
        .and_then(|b| b.build())
        .map_err(|e| ReportError::Read { path: file.display().to_string(), message: e.to_string() })?;
        let keys: Vec<(String, String)> = file
            .strip_prefix(&dir)
            .unwrap_or(&file)
            .components()
            .filter_map(|c| c.as_os_str().to_str()?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        for batch in reader {
            let batch =
                batch.map_err(|e| ReportError::Read { path: file.display().to_string(), message: e.to_string() })?;
            let n = batch.num_rows();
            for name in columns {
                let Some(array) = batch.column_by_name(name) else { continue };
                match (
                    out.columns.entry((*name).to_string()).or_insert_with(|| match to_numbers(array) {
                        Some(_) => Column::Num(Vec::new()),
                        None => Column::Text(Vec::new()),
                    }),
                    to_numbers(array),
                ) {
                    (Column::Num(v), Some(values)) => v.extend(values),
                    (Column::Text(v), None) => v.extend(to_text(array)),
                    _ => {}
                }
            }
            for (key, value) in &keys {
                if let Column::Text(v) = out.columns.entry(key.clone()).or_insert_with(|| Column::Text(Vec::new())) {
                    v.extend(std::iter::repeat_n(Some(value.clone()), n));
                }
            }
            out.rows += n;
        }
    }
    Ok(out)
}

/// The tick length (days) from the key-value metadata of the first metrics file.
pub fn tick_days(root: &Path) -> Option<f64> {
    let file = parquet_files(&root.join("metrics")).into_iter().next()?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(file).ok()?).ok()?;
    let kv = builder.metadata().file_metadata().key_value_metadata()?;
    kv.iter().find(|k| k.key == "bondsim.tick_days")?.value.as_ref()?.parse().ok()
}
