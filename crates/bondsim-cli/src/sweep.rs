//! Parameter sweeps: scenarios × parameter points × replicates, each run with a stable id and a
//! seed derived from the master seed and the run's key, all written into one dataset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use anyhow::Result;
use bondsim_io::{Manifest, RunStatus};
use bondsim_model::Intervention;
use bondsim_model::params::InvalidParam;
use clap::Subcommand;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Experiment, Source};
use crate::run::{self, RunOptions, RunSpec};

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Print the runs of a sweep (id, scenario, parameters, replicate, seed) and their number.
    Plan {
        /// Experiment config with a [sweep] section.
        config: PathBuf,
    },
    /// Run the runs of a sweep into --out: all of them (in parallel over the cores), or shard
    /// --task N of --tasks M (from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT when not
    /// given). Complete runs are skipped and interrupted ones resumed, so a resubmitted array
    /// finishes only what is missing.
    Run {
        config: PathBuf,
        /// Output folder of the whole sweep (shared by all tasks).
        #[arg(long)]
        out: PathBuf,
        /// This task's shard, 0-based.
        #[arg(long)]
        task: Option<usize>,
        /// Number of shards.
        #[arg(long)]
        tasks: Option<usize>,
        /// Worker threads (0 = one per core): across runs without --task, within each run with it.
        #[arg(long)]
        threads: Option<u64>,
        /// No log lines; only errors and the closing summary line.
        #[arg(long, short)]
        quiet: bool,
    },
    /// List the sweep's runs that are done, running, interrupted, failed and missing in --out.
    Status {
        config: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

/// The `[sweep]` section of a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSection {
    /// Runs per scenario and parameter point, each with its own seed.
    #[serde(default = "one")]
    pub replicates: u32,
    /// Parameters on a grid: a list of values, or `{ from, to, steps }` (evenly spaced). The
    /// sweep runs every combination.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grid: BTreeMap<String, GridAxis>,
    /// Parameters sampled by Latin hypercube: `points` samples over `ranges`, combined with
    /// every grid point. Changing `points` draws a new design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latin_hypercube: Option<LatinHypercube>,
    /// Named scenarios: each sets some keys and may give its own interventions. Without any,
    /// the sweep has one scenario, `base`, the config as it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<Scenario>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GridAxis {
    Values(Vec<toml::Value>),
    Range(GridRange),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridRange {
    pub from: f64,
    pub to: f64,
    pub steps: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatinHypercube {
    pub points: u32,
    pub ranges: BTreeMap<String, [f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interventions: Option<Vec<Intervention>>,
}

/// One run of a sweep.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    pub run_id: String,
    pub scenario: String,
    /// (parameter key, partition column, value as written in the partition)
    pub parameters: Vec<(String, String, String)>,
    pub replicate: u32,
    pub seed: u64,
    pub experiment: Experiment,
}

impl PlannedRun {
    /// `scenario=…/<column>=…/replicate=…/run=…`: the run's hive partition.
    pub fn partition(&self) -> String {
        let mut parts = vec![format!("scenario={}", self.scenario)];
        parts.extend(self.parameters.iter().map(|(_, column, value)| format!("{column}={value}")));
        parts.push(format!("replicate={}", self.replicate));
        parts.push(format!("run={}", self.run_id));
        parts.join("/")
    }

    fn spec(&self, out: &Path, config_path: &Path) -> RunSpec {
        RunSpec {
            experiment: self.experiment.clone(),
            run_id: self.run_id.clone(),
            partition: self.partition(),
            manifest_path: manifest_path(out, &self.run_id),
            checkpoint_path: run::checkpoint_path(out, &self.run_id),
            config_path: Some(config_path.display().to_string()),
        }
    }
}

pub fn manifest_path(out: &Path, run_id: &str) -> PathBuf {
    out.join("manifests").join(format!("{run_id}.json"))
}

/// FNV-1a, 64 bits: a stable hash of a run's key (the same on every machine and version).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn partition_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) => format!("{f}"),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn safe_name(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn invalid(source: &Source, key: String, value: String, allowed: &str) -> ConfigError {
    ConfigError::Invalid {
        source_name: source.clone(),
        errors: vec![InvalidParam { key, value, allowed: allowed.to_owned() }],
    }
}

/// Sets `dotted` in a TOML table; the key must exist already (so a typo is an error, not a new key).
fn set_key(table: &mut toml::Table, dotted: &str, value: toml::Value) -> bool {
    let mut parts = dotted.split('.').peekable();
    let mut current = table;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return match current.get_mut(part) {
                Some(slot) if !slot.is_table() => {
                    // A float parameter given as an integer is still a float.
                    *slot = match (&*slot, value) {
                        (toml::Value::Float(_), toml::Value::Integer(i)) => toml::Value::Float(i as f64),
                        (_, v) => v,
                    };
                    true
                }
                _ => false,
            };
        }
        match current.get_mut(part) {
            Some(toml::Value::Table(t)) => current = t,
            _ => return false,
        }
    }
    false
}

/// The experiment with `values` applied, validated; errors name `context` (e.g. the grid key).
fn apply(
    base: &Experiment,
    values: &[(String, toml::Value)],
    source: &Source,
    context: &str,
) -> Result<Experiment, ConfigError> {
    let mut table = toml::Table::try_from(base).expect("config serialises");
    for (key, value) in values {
        if key.starts_with("sweep.") || key.starts_with("execution.") || !set_key(&mut table, key, value.clone()) {
            return Err(invalid(
                source,
                format!("{context}.\"{key}\""),
                value.to_string(),
                "must name an existing key of the config, such as \"model.contact.weekly_social_hours\"",
            ));
        }
    }
    let experiment: Experiment =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Type {
            source_name: source.clone(),
            key: format!("{context}: {}", e.path()),
            message: e.into_inner().to_string(),
        })?;
    let errors = experiment.validate();
    if errors.is_empty() {
        Ok(experiment)
    } else {
        Err(ConfigError::Invalid {
            source_name: source.clone(),
            errors: errors.into_iter().map(|e| InvalidParam { key: format!("{context}: {}", e.key), ..e }).collect(),
        })
    }
}

fn grid_points(sweep: &SweepSection, source: &Source) -> Result<Vec<Vec<(String, toml::Value)>>, ConfigError> {
    let mut points: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for (key, axis) in &sweep.grid {
        let values: Vec<toml::Value> = match axis {
            GridAxis::Values(values) if !values.is_empty() => values.clone(),
            GridAxis::Range(r) if r.steps >= 1 && r.from.is_finite() && r.to.is_finite() && r.steps <= 10_000 => (0..r
                .steps)
                .map(|i| {
                    let f = if r.steps == 1 { 0.0 } else { f64::from(i) / f64::from(r.steps - 1) };
                    toml::Value::Float(r.from + f * (r.to - r.from))
                })
                .collect(),
            _ => {
                return Err(invalid(
                    source,
                    format!("sweep.grid.\"{key}\""),
                    format!("{axis:?}"),
                    "must be a non-empty list of values or { from, to, steps } with 1 to 10000 steps",
                ));
            }
        };
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((key.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    Ok(points)
}

/// Latin hypercube design: for each parameter, one value in each of `points` equal strata, the
/// strata shuffled independently per parameter. Drawn from the master seed.
fn latin_hypercube(
    lhs: &LatinHypercube,
    seed: u64,
    source: &Source,
) -> Result<Vec<Vec<(String, toml::Value)>>, ConfigError> {
    let n = lhs.points as usize;
    if n == 0 || n > 100_000 {
        return Err(invalid(source, "sweep.latin_hypercube.points".into(), n.to_string(), "must be from 1 to 100000"));
    }
    let mut design = vec![Vec::new(); n];
    for (dim, (key, [lo, hi])) in lhs.ranges.iter().enumerate() {
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return Err(invalid(
                source,
                format!("sweep.latin_hypercube.ranges.\"{key}\""),
                format!("[{lo}, {hi}]"),
                "must be [low, high] with low <= high",
            ));
        }
        let mut state = mix(seed ^ fnv1a(key) ^ (dim as u64));
        let mut next = || {
            state = mix(state);
            state
        };
        let mut strata: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            strata.swap(i, (next() % (i as u64 + 1)) as usize);
        }
        for (point, stratum) in design.iter_mut().zip(strata) {
            let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
            point.push((key.clone(), toml::Value::Float(lo + (stratum as f64 + u) / n as f64 * (hi - lo))));
        }
    }
    Ok(design)
}

/// Every run of the sweep in `experiment`, in a fixed order.
pub fn plan(experiment: &Experiment, source: &Source) -> Result<Vec<PlannedRun>, ConfigError> {
    let Some(sweep) = &experiment.sweep else {
        return Err(invalid(source, "sweep".into(), "(missing)".into(), "a sweep config needs a [sweep] section"));
    };
    if sweep.replicates == 0 || sweep.replicates > 100_000 {
        return Err(invalid(
            source,
            "sweep.replicates".into(),
            sweep.replicates.to_string(),
            "must be from 1 to 100000",
        ));
    }
    let mut base = experiment.clone();
    base.sweep = None;
    let master_seed = experiment.experiment.seed;
    let mut points = grid_points(sweep, source)?;
    if let Some(lhs) = &sweep.latin_hypercube {
        let design = latin_hypercube(lhs, master_seed, source)?;
        points = points
            .into_iter()
            .flat_map(|p| {
                design.iter().map(move |d| {
                    let mut q = p.clone();
                    q.extend(d.iter().cloned());
                    q
                })
            })
            .collect();
    }
    let scenarios = if sweep.scenarios.is_empty() {
        vec![Scenario { name: "base".into(), set: BTreeMap::new(), interventions: None }]
    } else {
        sweep.scenarios.clone()
    };
    let keys: Vec<String> = points.first().map(|p| p.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
    let columns = partition_columns(&keys);
    let mut seen = std::collections::HashSet::new();
    let mut runs = Vec::new();
    for (s, scenario) in scenarios.iter().enumerate() {
        if !safe_name(&scenario.name) || !seen.insert(scenario.name.clone()) {
            return Err(invalid(
                source,
                format!("sweep.scenarios[{s}].name"),
                format!("{:?}", scenario.name),
                "must be a unique name of 1 to 64 letters, digits, '-', '_' or '.'",
            ));
        }
        let set: Vec<(String, toml::Value)> = scenario.set.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut scenario_base = apply(&base, &set, source, &format!("sweep.scenarios[{s}].set"))?;
        if let Some(interventions) = &scenario.interventions {
            scenario_base.interventions = interventions.clone();
        }
        for point in &points {
            let experiment_at_point = apply(&scenario_base, point, source, "sweep")?;
            for replicate in 0..sweep.replicates {
                let values: Vec<String> = point.iter().map(|(k, v)| format!("{k}={}", partition_value(v))).collect();
                let key = format!("scenario={};{};replicate={replicate}", scenario.name, values.join(";"));
                let hash = fnv1a(&key);
                let seed = mix(master_seed ^ hash);
                let run_id = format!("{}-{:012x}", experiment.experiment.name, mix(hash) >> 16);
                let mut run_experiment = experiment_at_point.clone();
                run_experiment.experiment.seed = seed;
                runs.push(PlannedRun {
                    run_id,
                    scenario: scenario.name.clone(),
                    parameters: point
                        .iter()
                        .zip(&columns)
                        .map(|((k, v), c)| (k.clone(), c.clone(), partition_value(v)))
                        .collect(),
                    replicate,
                    seed,
                    experiment: run_experiment,
                });
            }
        }
    }
    Ok(runs)
}

/// Partition column of each swept key: its last segment, or the whole key with `_` for `.` where
/// last segments would clash with each other or with a table's columns.
fn partition_columns(keys: &[String]) -> Vec<String> {
    let last = |k: &str| k.rsplit('.').next().unwrap_or(k).to_string();
    let table_columns: std::collections::HashSet<String> = bondsim_io::TABLES
        .iter()
        .filter_map(|t| bondsim_io::tables::schema(t))
        .flat_map(|s| s.fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>())
        .chain(["scenario", "replicate", "run"].map(String::from))
        .collect();
    keys.iter()
        .map(|k| {
            let short = last(k);
            let clashes = keys.iter().filter(|o| last(o) == short).count() > 1 || table_columns.contains(&short);
            if clashes { k.replace('.', "_") } else { short }
        })
        .collect()
}

fn load(config: &Path) -> Result<(Experiment, Source), ConfigError> {
    Experiment::load(Some(config))
}

/// (task, tasks) from the flags, else from SLURM's array variables, else the whole sweep.
fn shard(task: Option<usize>, tasks: Option<usize>) -> Result<Option<(usize, usize)>, String> {
    let env = |name: &str| {
        std::env::var(name).ok().map(|v| v.parse::<usize>().map_err(|_| format!("{name}={v} is not a number")))
    };
    let task = match task {
        Some(t) => Some(t),
        None => match env("SLURM_ARRAY_TASK_ID").transpose()? {
            Some(id) => Some(id - env("SLURM_ARRAY_TASK_MIN").transpose()?.unwrap_or(0).min(id)),
            None => None,
        },
    };
    let tasks = match tasks {
        Some(t) => Some(t),
        None => env("SLURM_ARRAY_TASK_COUNT").transpose()?,
    };
    match (task, tasks) {
        (None, None) => Ok(None),
        (Some(t), Some(m)) if m >= 1 && t < m => Ok(Some((t, m))),
        (Some(t), Some(m)) => Err(format!("task {t} of {m}: the task must be from 0 to tasks - 1")),
        (Some(_), None) => Err("--task needs --tasks (or SLURM_ARRAY_TASK_COUNT)".into()),
        (None, Some(_)) => Err("--tasks needs --task (or SLURM_ARRAY_TASK_ID)".into()),
    }
}

pub fn main(command: SweepCommand) -> ExitCode {
    match command {
        SweepCommand::Plan { config } => match load(&config).and_then(|(e, s)| plan(&e, &s)) {
            Ok(runs) => {
                println!("{:<28} {:<12} {:<10} {:>20}  parameters", "run", "scenario", "replicate", "seed");
                for r in &runs {
                    let params: Vec<String> = r.parameters.iter().map(|(k, _, v)| format!("{k}={v}")).collect();
                    println!(
                        "{:<28} {:<12} {:<10} {:>20}  {}",
                        r.run_id,
                        r.scenario,
                        r.replicate,
                        r.seed,
                        params.join(" ")
                    );
                }
                println!("{} runs", runs.len());
                ExitCode::SUCCESS
            }
            Err(e) => crate::bad_input(&e.to_string()),
        },
        SweepCommand::Status { config, out } => match load(&config).and_then(|(e, s)| plan(&e, &s)) {
            Ok(runs) => {
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for r in &runs {
                    let state = match Manifest::read_from(&manifest_path(&out, &r.run_id)) {
                        Ok(m) if m.status == RunStatus::Completed => "done",
                        Ok(m) => m.status.as_str(),
                        Err(_) => "missing",
                    };
                    *counts.entry(state).or_default() += 1;
                    println!("{:<28} {:<12} {}", r.run_id, state, r.partition());
                }
                let summary: Vec<String> = ["done", "running", "interrupted", "failed", "missing"]
                    .iter()
                    .map(|k| format!("{} {k}", counts.get(k).copied().unwrap_or(0)))
                    .collect();
                println!("{} runs: {}", runs.len(), summary.join(", "));
                ExitCode::SUCCESS
            }
            Err(e) => crate::bad_input(&e.to_string()),
        },
        SweepCommand::Run { config, out, task, tasks, threads, quiet } => {
            crate::init_logging(quiet);
            let (experiment, source) = match load(&config) {
                Ok(loaded) => loaded,
                Err(e) => return crate::bad_input(&e.to_string()),
            };
            let runs = match plan(&experiment, &source) {
                Ok(runs) => runs,
                Err(e) => return crate::bad_input(&e.to_string()),
            };
            let shard = match shard(task, tasks) {
                Ok(s) => s,
                Err(message) => return crate::bad_input(&message),
            };
            match run_sweep(&runs, &config, &out, shard, threads.unwrap_or(experiment.execution.threads), quiet) {
                Ok(code) => code,
                Err(e) => crate::failure(&e),
            }
        }
    }
}

/// A run folder already holding this run's id from a different config (a changed parameter, or
/// another bondsim version's defaults) is refused before anything starts: skipping it would mix
/// stale results into the dataset.
fn refuse_stale_runs(runs: &[&PlannedRun], out: &Path) -> Result<()> {
    for r in runs {
        let path = manifest_path(out, &r.run_id);
        if let Ok(m) = Manifest::read_from(&path)
            && m.config != r.experiment.resolved_toml()
        {
            return Err(run::OutputRefused(format!(
                "--out {}: run {} there ({}) was made with a different config; choose another --out, or remove that folder (bondsim validate: --overwrite)",
                out.display(),
                r.run_id,
                path.display()
            ))
            .into());
        }
    }
    Ok(())
}

pub(crate) fn run_sweep(
    runs: &[PlannedRun],
    config: &Path,
    out: &Path,
    shard: Option<(usize, usize)>,
    threads: u64,
    quiet: bool,
) -> Result<ExitCode> {
    let stop = crate::stop_on_sigterm()?;
    let mine: Vec<&PlannedRun> = match shard {
        Some((task, tasks)) => runs.iter().enumerate().filter(|(i, _)| i % tasks == task).map(|(_, r)| r).collect(),
        None => runs.iter().collect(),
    };
    let cores = crate::resolve_threads(threads);
    // One task: the runs one after another, each on all threads. The whole sweep on one
    // machine: runs side by side, one thread each.
    let (parallel_runs, threads_per_run) = if shard.is_some() { (1, cores) } else { (cores, 1) };
    if let Some(largest) = mine.iter().max_by_key(|r| r.experiment.population.founders) {
        crate::guard::check_memory(&largest.experiment, parallel_runs.min(mine.len()))?;
    }
    refuse_stale_runs(&mine, out)?;
    run::probe_writable(out, "--out")?;
    let execute = |r: &&PlannedRun| -> (String, Result<&'static str>) {
        let spec = r.spec(out, config);
        if Manifest::read_from(&spec.manifest_path).is_ok_and(|m| m.completed) {
            return (r.run_id.clone(), Ok("skipped"));
        }
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return (r.run_id.clone(), Ok("not started"));
        }
        let options = RunOptions {
            out: out.to_path_buf(),
            threads: threads_per_run,
            quiet: true,
            resume: true,
            stop: stop.clone(),
        };
        let outcome = run::execute(&spec, &options).map(|m| {
            if !quiet {
                tracing::info!(run = %m.run_id, ticks = m.ticks, wall_seconds = m.wall_seconds, "run complete");
            }
            "completed"
        });
        (r.run_id.clone(), outcome)
    };
    // Plain worker threads taking the next run: at most `parallel_runs` runs at a time (a rayon
    // pool here would let a waiting worker start further runs while its run's own pool works).
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(mine.len()));
    std::thread::scope(|scope| {
        for _ in 0..parallel_runs.min(mine.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(run) = mine.get(i) else { break };
                    let outcome = execute(run);
                    done.lock().expect("no worker panicked holding the lock").push((i, outcome));
                }
            });
        }
    });
    let mut results = done.into_inner().expect("no worker panicked holding the lock");
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<(String, Result<&'static str>)> = results.into_iter().map(|(_, r)| r).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut interrupted = false;
    let mut failed = false;
    for (run_id, outcome) in &results {
        match outcome {
            Ok(state) => *counts.entry(state).or_default() += 1,
            Err(e) if e.is::<run::Interrupted>() => {
                interrupted = true;
                *counts.entry("interrupted").or_default() += 1;
            }
            Err(e) => {
                failed = true;
                *counts.entry("failed").or_default() += 1;
                eprintln!("bondsim: run {run_id} failed: {e:#}");
            }
        }
    }
    let what = match shard {
        Some((task, tasks)) => format!("task {task} of {tasks}"),
        None => "whole sweep".into(),
    };
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!(
        "bondsim: sweep {what}: {} of {} runs: {}; dataset in {}",
        mine.len(),
        runs.len(),
        summary.join(", "),
        out.display()
    );
    Ok(if failed {
        ExitCode::FAILURE
    } else if interrupted || counts.contains_key("not started") {
        ExitCode::from(crate::EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}
