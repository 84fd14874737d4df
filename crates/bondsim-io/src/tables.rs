//! Arrow schemas of the dataset's tables and the conversion of the engine's output to record
//! batches: the events' and metrics' rows converted column by column, a snapshot's columns moved.
//! docs/OUTPUT.md documents every column; `tests/` checks the two agree.

use std::sync::Arc;

use arrow_array::types::{
    ArrowPrimitiveType, Float32Type, Float64Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, PrimitiveArray, RecordBatch, StringArray,
    UInt8Array, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bondsim_engine::output::{
    AgentColumns, BirthRow, BondEventKind, BondEventRow, DeathRow, InterventionRow, MetricsRow, NetworkColumns,
};
use bondsim_model::{BondKind, Category, InterventionKind, Sex};
use rayon::prelude::*;

/// Version of the dataset's schema; bumped on any change of a table's columns.
pub const SCHEMA_VERSION: &str = "2";

/// The tables of a run, in the order they are written.
pub const TABLES: [&str; 7] = ["agents", "bond_events", "births", "deaths", "metrics", "interventions", "network"];

fn dict() -> DataType {
    DataType::Dictionary(Box::new(DataType::UInt8), Box::new(DataType::Utf8))
}

fn field(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

fn u64c(name: &str) -> Field {
    field(name, DataType::UInt64, false)
}
fn u32c(name: &str) -> Field {
    field(name, DataType::UInt32, false)
}
fn i64c(name: &str) -> Field {
    field(name, DataType::Int64, false)
}
fn f64c(name: &str) -> Field {
    field(name, DataType::Float64, false)
}

fn f32c(name: &str) -> Field {
    field(name, DataType::Float32, false)
}

pub fn agents_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        i64c("tick"),
        u64c("agent_id"),
        field("sex", dict(), false),
        i64c("birth_tick"),
        f64c("age_years"),
        u32c("generation"),
        field("mother_id", DataType::UInt64, true),
        field("father_id", DataType::UInt64, true),
        f64c("oxytocin"),
        f64c("receptor_density"),
        f64c("dopamine"),
        f64c("cortisol"),
        f64c("allostatic_load"),
        f64c("gr_sensitivity"),
        f64c("anxiety"),
        f64c("avoidance"),
        f64c("disorganisation"),
        f64c("prototype_anxiety"),
        f64c("prototype_avoidance"),
        field("category", dict(), false),
        field("prototype_category", dict(), false),
        f64c("loneliness"),
        f64c("health"),
        f64c("caregiving_sensitivity"),
        f64c("early_care_quality"),
        u32c("bonds"),
        u32c("close_bonds"),
        field("partner_id", DataType::UInt64, true),
        u32c("bonds_formed"),
        u32c("bonds_lost"),
        u32c("bereavements"),
        i64c("longest_bond_ticks"),
        field("category_age1", dict(), true),
        field("category_age18", dict(), true),
        field("earned_security", DataType::Boolean, false),
        u32c("children"),
    ]))
}

pub fn bond_events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        i64c("tick"),
        field("event", dict(), false),
        u64c("agent_a"),
        u64c("agent_b"),
        field("kind", dict(), false),
        f64c("strength"),
        i64c("bond_age_ticks"),
    ]))
}

pub fn births_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        i64c("tick"),
        u64c("child_id"),
        u64c("mother_id"),
        field("father_id", DataType::UInt64, true),
        field("sex", dict(), false),
        u32c("generation"),
        f64c("mother_age_years"),
        f64c("mother_sensitivity"),
        field("father_sensitivity", DataType::Float64, true),
        field("mother_category", dict(), false),
        f64c("mother_cortisol"),
        f64c("partner_bond_strength"),
    ]))
}

pub fn deaths_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        i64c("tick"),
        u64c("agent_id"),
        field("sex", dict(), false),
        f64c("age_years"),
        u32c("generation"),
        f64c("cortisol"),
        f64c("allostatic_load"),
        f64c("loneliness"),
        f64c("health"),
        u32c("bonds"),
        u32c("close_bonds"),
        f64c("hazard_per_year"),
    ]))
}

pub fn metrics_schema() -> SchemaRef {
    let mut fields = vec![i64c("tick")];
    for name in ["population", "adults", "births", "deaths", "bonds", "couples", "bonds_formed", "bonds_ended"] {
        fields.push(u64c(name));
    }
    for name in [
        "mean_bonds_per_agent",
        "mean_oxytocin",
        "mean_dopamine",
        "mean_cortisol",
        "mean_allostatic_load",
        "mean_loneliness",
        "mean_health",
        "adult_secure_share",
        "adult_anxious_share",
        "adult_avoidant_share",
        "adult_disorganised_share",
    ] {
        fields.push(f64c(name));
    }
    fields.push(u32c("max_generation"));
    Arc::new(Schema::new(fields))
}

pub fn interventions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        i64c("tick"),
        field("name", DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::Utf8)), false),
        field("kind", dict(), false),
        u64c("agent_id"),
        i64c("until_tick"),
    ]))
}

pub fn network_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        i64c("tick"),
        u64c("agent_a"),
        u64c("agent_b"),
        field("kind", dict(), false),
        f32c("strength"),
        f32c("value"),
        f32c("synchrony"),
        f32c("contact_hours"),
        i64c("formed_tick"),
        i64c("bond_age_ticks"),
    ]))
}

pub fn schema(table: &str) -> Option<SchemaRef> {
    Some(match table {
        "network" => network_schema(),
        "interventions" => interventions_schema(),
        "agents" => agents_schema(),
        "bond_events" => bond_events_schema(),
        "births" => births_schema(),
        "deaths" => deaths_schema(),
        "metrics" => metrics_schema(),
        _ => return None,
    })
}

/// Whether the Parquet writer dictionary-encodes `column` of `table`: the categories, and the
/// integer columns whose values repeat over many rows of a row group, where a dictionary is
/// both smaller and faster than zstd over the plain values. zstd's fastest level handles an
/// 8-byte value repeated badly (a constant int64 column compresses about 32 times, at about
/// 500 MB/s; all zeros about 20,000 times, at 11 GB/s): a snapshot's or an event's tick, ages in
/// ticks and small counts. Not in the metrics (a row per tick: every tick and total distinct),
/// nor ids and levels (nearly all values distinct).
pub fn dictionary_encoded(table: &str, column: &Field) -> bool {
    const REPEATED: [&str; 7] =
        ["tick", "bond_age_ticks", "longest_bond_ticks", "bonds", "close_bonds", "bonds_formed", "bonds_lost"];
    matches!(column.data_type(), DataType::Dictionary(..))
        || (table != "metrics" && REPEATED.contains(&column.name().as_str()))
}

/// A dictionary column whose dictionary is the full, fixed list of `values`, so that every
/// batch and every run share one dictionary.
fn dictionary<T>(rows: &[T], values: &[&str], key: impl Fn(&T) -> Option<u8>) -> ArrayRef {
    let keys = UInt8Array::from_iter(rows.iter().map(key));
    let values = Arc::new(StringArray::from(values.to_vec()));
    Arc::new(DictionaryArray::<UInt8Type>::try_new(keys, values).expect("keys index the fixed dictionary"))
}

const SEXES: [&str; 2] = ["female", "male"];
fn sex_key(s: Sex) -> Option<u8> {
    Some(s as u8)
}
fn categories() -> Vec<&'static str> {
    Category::ALL.iter().map(|c| c.as_str()).collect()
}
fn cat_key(c: Category) -> Option<u8> {
    Some(c as u8)
}

fn f64s<T>(rows: &[T], f: impl Fn(&T) -> f64) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
}
fn u64s<T>(rows: &[T], f: impl Fn(&T) -> u64) -> ArrayRef {
    Arc::new(UInt64Array::from_iter_values(rows.iter().map(f)))
}
fn opt_u64s<T>(rows: &[T], f: impl Fn(&T) -> Option<u64>) -> ArrayRef {
    Arc::new(UInt64Array::from_iter(rows.iter().map(f)))
}
fn u32s<T>(rows: &[T], f: impl Fn(&T) -> u32) -> ArrayRef {
    Arc::new(UInt32Array::from_iter_values(rows.iter().map(f)))
}
fn i64s<T>(rows: &[T], f: impl Fn(&T) -> i64) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(rows.iter().map(f)))
}

/// A column the engine built, handed to Arrow as it is: its vector becomes the array's buffer.
fn owned<T: ArrowPrimitiveType>(values: Vec<T::Native>) -> ArrayRef {
    Arc::new(PrimitiveArray::<T>::new(values.into(), None))
}

/// A batch's columns built from rows (the events' and the metrics'), each on a task of its own,
/// in the pool the writer runs in (the simulation's, `Simulation::drain_output`): the same arrays
/// as building them one after the other.
macro_rules! columns {
    ($($column:expr),* $(,)?) => {{
        let builds: Vec<Box<dyn Fn() -> ArrayRef + Sync + '_>> = vec![$(Box::new(|| $column)),*];
        builds.par_iter().map(|build| build()).collect::<Vec<ArrayRef>>()
    }};
}

fn batch(schema: SchemaRef, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(schema, columns).expect("columns match the schema")
}

/// A snapshot's agents as a batch: the numbers' vectors moved into the arrays, the categories,
/// the optional ids and the flag converted.
pub fn agents_batch(c: AgentColumns) -> RecordBatch {
    let cats = categories();
    let category = |column: &[Category]| dictionary(column, &cats, |&c| cat_key(c));
    let optional_category = |column: &[Option<Category>]| dictionary(column, &cats, |c| c.and_then(cat_key));
    let ids = |column: Vec<Option<u64>>| -> ArrayRef { Arc::new(UInt64Array::from(column)) };
    batch(
        agents_schema(),
        vec![
            owned::<Int64Type>(c.tick),
            owned::<UInt64Type>(c.agent),
            dictionary(&c.sex, &SEXES, |&s| sex_key(s)),
            owned::<Int64Type>(c.birth_tick),
            owned::<Float64Type>(c.age_years),
            owned::<UInt32Type>(c.generation),
            ids(c.mother),
            ids(c.father),
            owned::<Float64Type>(c.oxytocin),
            owned::<Float64Type>(c.receptor_density),
            owned::<Float64Type>(c.dopamine),
            owned::<Float64Type>(c.cortisol),
            owned::<Float64Type>(c.allostatic_load),
            owned::<Float64Type>(c.gr_sensitivity),
            owned::<Float64Type>(c.anxiety),
            owned::<Float64Type>(c.avoidance),
            owned::<Float64Type>(c.disorganisation),
            owned::<Float64Type>(c.prototype_anxiety),
            owned::<Float64Type>(c.prototype_avoidance),
            category(&c.category),
            category(&c.prototype_category),
            owned::<Float64Type>(c.loneliness),
            owned::<Float64Type>(c.health),
            owned::<Float64Type>(c.caregiving_sensitivity),
            owned::<Float64Type>(c.early_care_quality),
            owned::<UInt32Type>(c.bonds),
            owned::<UInt32Type>(c.close_bonds),
            ids(c.partner),
            owned::<UInt32Type>(c.bonds_formed),
            owned::<UInt32Type>(c.bonds_lost),
            owned::<UInt32Type>(c.bereavements),
            owned::<Int64Type>(c.longest_bond_ticks),
            optional_category(&c.category_age1),
            optional_category(&c.category_age18),
            Arc::new(BooleanArray::from(c.earned_security)),
            owned::<UInt32Type>(c.children),
        ],
    )
}

pub fn bond_events_batch(rows: &[BondEventRow]) -> RecordBatch {
    let events: Vec<&str> = BondEventKind::ALL.iter().map(|e| e.as_str()).collect();
    let kinds: Vec<&str> = BondKind::ALL.iter().map(|k| k.as_str()).collect();
    batch(
        bond_events_schema(),
        columns![
            i64s(rows, |r| r.tick),
            dictionary(rows, &events, |r| Some(r.event as u8)),
            u64s(rows, |r| r.agent_a),
            u64s(rows, |r| r.agent_b),
            dictionary(rows, &kinds, |r| Some(r.kind as u8)),
            f64s(rows, |r| r.strength),
            i64s(rows, |r| r.bond_age_ticks),
        ],
    )
}

pub fn births_batch(rows: &[BirthRow]) -> RecordBatch {
    let cats = categories();
    batch(
        births_schema(),
        columns![
            i64s(rows, |r| r.tick),
            u64s(rows, |r| r.child),
            u64s(rows, |r| r.mother),
            opt_u64s(rows, |r| r.father),
            dictionary(rows, &SEXES, |r| sex_key(r.sex)),
            u32s(rows, |r| r.generation),
            f64s(rows, |r| r.mother_age_years),
            f64s(rows, |r| r.mother_sensitivity),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.father_sensitivity))),
            dictionary(rows, &cats, |r| cat_key(r.mother_category)),
            f64s(rows, |r| r.mother_cortisol),
            f64s(rows, |r| r.partner_bond_strength),
        ],
    )
}

pub fn deaths_batch(rows: &[DeathRow]) -> RecordBatch {
    batch(
        deaths_schema(),
        columns![
            i64s(rows, |r| r.tick),
            u64s(rows, |r| r.agent),
            dictionary(rows, &SEXES, |r| sex_key(r.sex)),
            f64s(rows, |r| r.age_years),
            u32s(rows, |r| r.generation),
            f64s(rows, |r| r.cortisol),
            f64s(rows, |r| r.allostatic_load),
            f64s(rows, |r| r.loneliness),
            f64s(rows, |r| r.health),
            u32s(rows, |r| r.bonds),
            u32s(rows, |r| r.close_bonds),
            f64s(rows, |r| r.hazard_per_year),
        ],
    )
}

pub fn metrics_batch(rows: &[MetricsRow]) -> RecordBatch {
    batch(
        metrics_schema(),
        columns![
            i64s(rows, |r| r.tick),
            u64s(rows, |r| r.population),
            u64s(rows, |r| r.adults),
            u64s(rows, |r| r.births),
            u64s(rows, |r| r.deaths),
            u64s(rows, |r| r.bonds),
            u64s(rows, |r| r.couples),
            u64s(rows, |r| r.bonds_formed),
            u64s(rows, |r| r.bonds_ended),
            f64s(rows, |r| r.mean_bonds_per_agent),
            f64s(rows, |r| r.mean_oxytocin),
            f64s(rows, |r| r.mean_dopamine),
            f64s(rows, |r| r.mean_cortisol),
            f64s(rows, |r| r.mean_allostatic_load),
            f64s(rows, |r| r.mean_loneliness),
            f64s(rows, |r| r.mean_health),
            f64s(rows, |r| r.adult_secure_share),
            f64s(rows, |r| r.adult_anxious_share),
            f64s(rows, |r| r.adult_avoidant_share),
            f64s(rows, |r| r.adult_disorganised_share),
            u32s(rows, |r| r.max_generation),
        ],
    )
}

pub fn interventions_batch(rows: &[InterventionRow]) -> RecordBatch {
    let kinds: Vec<&str> = InterventionKind::ALL.iter().map(|k| k.as_str()).collect();
    batch(
        interventions_schema(),
        columns![
            i64s(rows, |r| r.tick),
            Arc::new(rows.iter().map(|r| r.name.as_str()).collect::<DictionaryArray<UInt16Type>>()),
            dictionary(rows, &kinds, |r| Some(r.kind as u8)),
            u64s(rows, |r| r.agent),
            i64s(rows, |r| r.until_tick),
        ],
    )
}

/// A snapshot's bonds as a batch: the numbers' vectors moved into the arrays, the kinds converted.
pub fn network_batch(c: NetworkColumns) -> RecordBatch {
    let kinds: Vec<&str> = BondKind::ALL.iter().map(|k| k.as_str()).collect();
    batch(
        network_schema(),
        vec![
            owned::<Int64Type>(c.tick),
            owned::<UInt64Type>(c.agent_a),
            owned::<UInt64Type>(c.agent_b),
            dictionary(&c.kind, &kinds, |&k| Some(k as u8)),
            owned::<Float32Type>(c.strength),
            owned::<Float32Type>(c.value),
            owned::<Float32Type>(c.synchrony),
            owned::<Float32Type>(c.contact_hours),
            owned::<Int64Type>(c.formed_tick),
            owned::<Int64Type>(c.bond_age_ticks),
        ],
    )
}
