//! `bondsim run`: one experiment from config to a complete dataset.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use bondsim_engine::{Settings, Simulation};
use bondsim_io::{DatasetWriter, MANIFEST, Manifest, RunMeta, TABLES};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Experiment, Source};

/// How the run was asked for, beyond the config.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub out: PathBuf,
    pub overwrite: bool,
    pub quiet: bool,
}

/// The figures a run ends with (also in the manifest).
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub manifest: Manifest,
    pub out: PathBuf,
}

/// The refusal of an output folder: a user error (exit status 2), raised before anything is written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutputRefused(pub String);

/// Checks the output folder: it must be absent, empty, or `--overwrite` must be given; with
/// `--overwrite`, only bondsim's own tables and manifest are removed from it.
pub fn prepare_output(out: &Path, overwrite: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(OutputRefused(format!("--out {}: exists and is not a folder", out.display())).into());
    }
    let non_empty = out.is_dir() && std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(false);
    if non_empty {
        if !overwrite {
            return Err(OutputRefused(format!(
                "--out {}: the folder is not empty; choose another folder or pass --overwrite to replace bondsim's output in it",
                out.display()
            ))
            .into());
        }
        for table in TABLES {
            let dir = out.join(table);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
            }
        }
        let manifest = out.join(MANIFEST);
        if manifest.exists() {
            std::fs::remove_file(&manifest).with_context(|| format!("removing {}", manifest.display()))?;
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating the output folder {}", out.display()))?;
    Ok(())
}

pub fn run(experiment: &Experiment, source: &Source, options: &RunOptions) -> Result<RunSummary> {
    let started = Instant::now();
    let out = &options.out;
    prepare_output(out, options.overwrite)?;
    let threads = match experiment.execution.threads {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n as usize,
    };
    let run_id = experiment.run_id();
    let config = experiment.resolved_toml();
    let ticks = experiment.ticks();
    let mut manifest = Manifest {
        bondsim_version: env!("CARGO_PKG_VERSION").into(),
        schema_version: bondsim_io::SCHEMA_VERSION.into(),
        run_id: run_id.clone(),
        config_path: match source {
            Source::Embedded => None,
            Source::File(p) => Some(p.display().to_string()),
        },
        config: config.clone(),
        seed: experiment.experiment.seed,
        threads,
        completed: false,
        tables: Default::default(),
        ticks: 0,
        agent_ticks: 0,
        wall_seconds: 0.0,
        peak_rss_bytes: 0,
        output_bytes: 0,
        agent_ticks_per_second: 0.0,
    };
    // An incomplete manifest first: if the run dies, the folder says so.
    manifest.write(out)?;

    let settings = Settings {
        seed: experiment.experiment.seed,
        population: experiment.population.founders as u32,
        tick_days: experiment.time.tick_days,
        snapshot_every_ticks: experiment.record.agents_every_ticks as u32,
        threads,
        interventions: experiment.interventions.clone(),
    };
    tracing::info!(run = %run_id, founders = settings.population, ticks, threads, "starting");
    let mut sim = Simulation::new(&settings, experiment.model.clone())?;
    let meta =
        RunMeta { run_id: run_id.clone(), seed: settings.seed, config_toml: config, tick_days: settings.tick_days };
    let mut writer = DatasetWriter::create(out, &meta)?;
    let progress = Progress::new(ticks, options.quiet);
    let mut agent_ticks = 0u64;
    for _ in 0..ticks {
        agent_ticks += sim.population() as u64;
        sim.step();
        writer.write(sim.take_output())?;
        progress.tick(sim.tick() as u64, sim.population());
    }
    progress.finish();
    let tables = writer.finish()?;

    let wall_seconds = started.elapsed().as_secs_f64();
    manifest.tables = tables.into_iter().collect();
    manifest.ticks = ticks;
    manifest.agent_ticks = agent_ticks;
    manifest.wall_seconds = wall_seconds;
    manifest.peak_rss_bytes = bondsim_io::peak_rss_bytes();
    manifest.agent_ticks_per_second = agent_ticks as f64 / wall_seconds.max(1e-9);
    manifest.completed = true;
    manifest.output_bytes = manifest.tables.values().map(|t| t.bytes).sum();
    manifest.write(out)?;
    Ok(RunSummary { manifest, out: out.clone() })
}

/// A progress bar on a terminal, plain log lines every tenth of the run elsewhere, or nothing.
enum Progress {
    Bar(ProgressBar),
    Log { total: u64 },
    Quiet,
}

impl Progress {
    fn new(total: u64, quiet: bool) -> Self {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} tick {pos}/{len} ({eta} left) {msg}",
                )
                .expect("valid template"),
            );
            Progress::Bar(bar)
        } else {
            Progress::Log { total }
        }
    }

    fn tick(&self, tick: u64, population: usize) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(tick);
                if tick.is_multiple_of(52) {
                    bar.set_message(format!("population {population}"));
                }
            }
            Progress::Log { total } => {
                let step = (total / 10).max(1);
                if tick.is_multiple_of(step) || tick == *total {
                    tracing::info!(tick, of = *total, population, "progress");
                }
            }
            Progress::Quiet => {}
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
