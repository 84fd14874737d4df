//! Running one experiment run: from a resolved config to a complete dataset partition, with
//! checkpoints, resume and a clean stop on SIGTERM.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use bondsim_engine::{Output, Settings, Simulation};
use bondsim_io::{
    CHECKPOINT_FORMAT, Checkpoint, DatasetWriter, MANIFEST, Manifest, PhaseSeconds, RunMeta, RunStatus, TABLES,
    TableSummary, partition_dir,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Experiment;

/// One run: its resolved experiment and where its files go.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub experiment: Experiment,
    pub run_id: String,
    /// Hive partition under each table folder (`run=<id>`, or the sweep's keys then `run=<id>`).
    pub partition: String,
    pub manifest_path: PathBuf,
    pub checkpoint_path: PathBuf,
    /// The config file it came from, for the manifest.
    pub config_path: Option<String>,
}

impl RunSpec {
    /// A single run written at the top of `out`: `manifest.json`, `checkpoints/<run id>.ckpt`.
    pub fn single(experiment: Experiment, out: &Path, config_path: Option<String>) -> Self {
        let run_id = experiment.run_id();
        Self {
            partition: format!("run={run_id}"),
            manifest_path: out.join(MANIFEST),
            checkpoint_path: checkpoint_path(out, &run_id),
            run_id,
            experiment,
            config_path,
        }
    }
}

pub fn checkpoint_path(out: &Path, run_id: &str) -> PathBuf {
    out.join("checkpoints").join(format!("{run_id}.ckpt"))
}

/// How the run is carried out; none of it changes results.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub out: PathBuf,
    pub threads: usize,
    pub quiet: bool,
    /// Continue from the run's checkpoint if there is one.
    pub resume: bool,
    /// Set by SIGTERM: checkpoint (when checkpointing is on) and stop at the end of the tick.
    pub stop: Arc<AtomicBool>,
}

/// The refusal of an output folder: a user error (exit status 2), raised before anything is written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutputRefused(pub String);

/// A run stopped by SIGTERM.
#[derive(Debug, thiserror::Error)]
#[error("run {run_id} interrupted at tick {tick}: {resume}")]
pub struct Interrupted {
    pub run_id: String,
    pub tick: u64,
    pub resume: String,
}

/// Checks the output folder of a single run: it must be absent or empty, or `--overwrite` (which
/// removes only bondsim's own tables, manifests, checkpoints and validation tables) or `--resume`
/// must be given.
pub fn prepare_output(out: &Path, overwrite: bool, resume: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(OutputRefused(format!("--out {}: exists and is not a folder", out.display())).into());
    }
    let non_empty = out.is_dir() && std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(false);
    if non_empty && !resume {
        if !overwrite {
            return Err(OutputRefused(format!(
                "--out {}: the folder is not empty; choose another folder, pass --overwrite to replace bondsim's output in it, or --resume to continue an interrupted run",
                out.display()
            ))
            .into());
        }
        for dir in TABLES.iter().map(|t| out.join(t)).chain([out.join("checkpoints"), out.join("manifests")]) {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
            }
        }
        for file in [MANIFEST, "validation.json", "validation.parquet"].map(|f| out.join(f)) {
            if file.exists() {
                std::fs::remove_file(&file).with_context(|| format!("removing {}", file.display()))?;
            }
        }
    }
    probe_writable(out, "--out")?;
    Ok(())
}

/// Creates `dir` if needed and writes and removes a probe file in it, so that a folder bondsim
/// cannot write is refused before the run starts rather than after hours of simulation.
pub fn probe_writable(dir: &Path, what: &str) -> Result<()> {
    let refuse = |e: std::io::Error| {
        anyhow::Error::from(OutputRefused(format!("{what} {}: cannot write there: {e}", dir.display())))
    };
    std::fs::create_dir_all(dir).map_err(refuse)?;
    let probe = dir.join(format!(".bondsim-probe-{}", std::process::id()));
    std::fs::write(&probe, b"probe").map_err(refuse)?;
    std::fs::remove_file(&probe).map_err(refuse)?;
    Ok(())
}

/// Removes a run's files from `part` on (all of them for 0): leftovers of an interrupted
/// segment, temporary files of a crash.
fn clear_parts_from(out: &Path, partition: &str, part: u32) -> Result<()> {
    for table in TABLES {
        let dir = partition_dir(out, table, partition);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let index =
                name.trim_start_matches('.').strip_prefix("part-").and_then(|r| r.get(..5)?.parse::<u32>().ok());
            if index.is_some_and(|i| i >= part) || name.ends_with(".inprogress") {
                std::fs::remove_file(entry.path()).with_context(|| format!("removing {}", entry.path().display()))?;
            }
        }
    }
    Ok(())
}

/// Where a run starts: fresh, or from its checkpoint.
struct Start {
    sim: Simulation,
    part: u32,
    agent_ticks: u64,
    /// Wall-clock seconds spent before this start, and of those per phase.
    earlier_seconds: f64,
    earlier_phases: Vec<PhaseSeconds>,
    tables: std::collections::BTreeMap<String, TableSummary>,
    pending: Output,
}

fn start(spec: &RunSpec, options: &RunOptions, settings: &Settings, config: &str) -> Result<Start> {
    if options.resume && spec.checkpoint_path.exists() {
        let checkpoint = Checkpoint::read(&spec.checkpoint_path)?;
        if checkpoint.config != config {
            return Err(OutputRefused(format!(
                "{}: the checkpoint was written by a different config; resume with the config that started the run, or start again with --overwrite",
                spec.checkpoint_path.display()
            ))
            .into());
        }
        clear_parts_from(&options.out, &spec.partition, checkpoint.next_part)?;
        tracing::info!(run = %spec.run_id, tick = checkpoint.state.clock.tick, "resuming from checkpoint");
        return Ok(Start {
            sim: Simulation::from_state(checkpoint.state, settings.threads)?,
            part: checkpoint.next_part,
            agent_ticks: checkpoint.agent_ticks,
            earlier_seconds: checkpoint.wall_seconds,
            earlier_phases: checkpoint.phase_seconds,
            tables: checkpoint.tables,
            pending: checkpoint.pending,
        });
    }
    clear_parts_from(&options.out, &spec.partition, 0)?;
    Ok(Start {
        sim: Simulation::new(settings, spec.experiment.model.clone())?,
        part: 0,
        agent_ticks: 0,
        earlier_seconds: 0.0,
        earlier_phases: Vec::new(),
        tables: Default::default(),
        pending: Output::default(),
    })
}

fn add_summaries(into: &mut std::collections::BTreeMap<String, TableSummary>, parts: Vec<(String, TableSummary)>) {
    for (table, part) in parts {
        let entry = into.entry(table).or_insert(TableSummary { path: String::new(), rows: 0, bytes: 0 });
        entry.rows += part.rows;
        entry.bytes += part.bytes;
        // The table's folder for this run: every segment of it lives there.
        entry.path = Path::new(&part.path).parent().map(|p| p.display().to_string()).unwrap_or(part.path);
    }
}

/// Runs (or resumes) one run to completion. Returns its final manifest.
pub fn execute(spec: &RunSpec, options: &RunOptions) -> Result<Manifest> {
    let started = Instant::now();
    let experiment = &spec.experiment;
    let out = &options.out;
    let config = experiment.resolved_toml();
    let ticks = experiment.ticks();
    let every = experiment.record.checkpoint_every_ticks;
    let mut manifest = Manifest::starting(
        &spec.run_id,
        &spec.partition,
        spec.config_path.clone(),
        config.clone(),
        experiment.experiment.seed,
        options.threads,
    );
    if every > 0 {
        let dir = spec.checkpoint_path.parent().unwrap_or(out);
        probe_writable(dir, "the checkpoint folder")?;
    }
    // An incomplete manifest first: if the run dies, its folder says so.
    manifest.write_to(&spec.manifest_path)?;
    let result = simulate(spec, options, &config, ticks, every, &mut manifest, started);
    match result {
        Ok(()) => {
            manifest.completed = true;
            manifest.status = RunStatus::Completed;
            manifest.output_bytes = manifest.tables.values().map(|t| t.bytes).sum();
        }
        Err(ref e) if e.is::<Interrupted>() => manifest.status = RunStatus::Interrupted,
        Err(ref e) => {
            manifest.status = RunStatus::Failed;
            manifest.error = Some(format!("{e:#}"));
        }
    }
    manifest.wall_seconds += started.elapsed().as_secs_f64();
    manifest.peak_rss_bytes = bondsim_io::peak_rss_bytes();
    manifest.record_machine();
    manifest.agent_ticks_per_second = manifest.agent_ticks as f64 / manifest.wall_seconds.max(1e-9);
    // The run's own error comes first: a full disk fails the manifest write too.
    let written = manifest.write_to(&spec.manifest_path);
    result?;
    written?;
    if spec.checkpoint_path.exists() {
        std::fs::remove_file(&spec.checkpoint_path)
            .with_context(|| format!("removing the finished run's checkpoint {}", spec.checkpoint_path.display()))?;
    }
    Ok(manifest)
}

fn simulate(
    spec: &RunSpec,
    options: &RunOptions,
    config: &str,
    ticks: u64,
    every: u64,
    manifest: &mut Manifest,
    started: Instant,
) -> Result<()> {
    let experiment = &spec.experiment;
    let out = &options.out;
    let settings = Settings {
        seed: experiment.experiment.seed,
        population: experiment.population.founders as u32,
        tick_days: experiment.time.tick_days,
        snapshot_every_ticks: experiment.record.agents_every_ticks as u32,
        threads: options.threads,
        interventions: experiment.interventions.clone(),
    };
    let Start { mut sim, mut part, mut agent_ticks, earlier_seconds, earlier_phases, mut tables, mut pending } =
        start(spec, options, &settings, config)?;
    // Seconds spent on the output this session: building a snapshot's rows, handing rows to the
    // writer, writing segments and checkpoints, closing the files.
    let mut write_seconds = 0.0;
    let phases = |sim: &Simulation, write_seconds: f64| phase_totals(&earlier_phases, sim, write_seconds);
    // Wall time of the run across its sessions: what came before the checkpoint, plus this one.
    manifest.wall_seconds = earlier_seconds;
    let seconds = || earlier_seconds + started.elapsed().as_secs_f64();
    let meta = RunMeta {
        run_id: spec.run_id.clone(),
        partition: spec.partition.clone(),
        seed: settings.seed,
        config_toml: config.to_owned(),
        tick_days: settings.tick_days,
    };
    tracing::info!(run = %spec.run_id, founders = settings.population, ticks, threads = settings.threads, from_tick = sim.tick(), "running");
    // Without checkpoints, rows stream into one file per table; with them, each checkpoint
    // interval's rows are held and written as one segment at its end.
    let mut streaming = if every == 0 { Some(DatasetWriter::create(out, &meta, 0)?) } else { None };
    let progress = Progress::new(ticks, sim.tick() as u64, options.quiet);
    while (sim.tick() as u64) < ticks {
        agent_ticks += sim.population() as u64;
        sim.step();
        let tick = sim.tick() as u64;
        let writing = Instant::now();
        // Without checkpoints, rows go to the files as they are drained: a snapshot a slice
        // of the roster at a time.
        match streaming.as_mut() {
            Some(writer) => sim.drain_output(|rows| writer.write(rows))?,
            None => pending.append(sim.take_output()),
        }
        manifest.ticks = tick;
        manifest.agent_ticks = agent_ticks;
        if every > 0 && (tick.is_multiple_of(every) || tick == ticks) {
            let mut writer = DatasetWriter::create(out, &meta, part)?;
            let rows = std::mem::take(&mut pending);
            add_summaries(&mut tables, sim.install(|| writer.write(rows).and_then(|()| writer.finish()))?);
            part += 1;
            if tick < ticks {
                let spent = phases(&sim, write_seconds);
                save_checkpoint(spec, &mut sim, config, part, agent_ticks, seconds(), spent, &tables, &pending)?;
                manifest.checkpoint_tick = Some(tick);
            }
        }
        write_seconds += writing.elapsed().as_secs_f64();
        progress.tick(tick, sim.population());
        if options.stop.load(Ordering::Relaxed) && tick < ticks {
            progress.finish();
            let resume = if every > 0 {
                let spent = phases(&sim, write_seconds);
                save_checkpoint(spec, &mut sim, config, part, agent_ticks, seconds(), spent, &tables, &pending)?;
                manifest.checkpoint_tick = Some(tick);
                "checkpoint written; continue with --resume".to_string()
            } else {
                "record.checkpoint_every_ticks is 0, so there is no checkpoint; the run must start again".to_string()
            };
            manifest.tables = tables;
            manifest.phase_seconds = phases(&sim, write_seconds);
            return Err(Interrupted { run_id: spec.run_id.clone(), tick, resume }.into());
        }
    }
    progress.finish();
    if let Some(writer) = streaming {
        let writing = Instant::now();
        add_summaries(&mut tables, sim.install(|| writer.finish())?);
        write_seconds += writing.elapsed().as_secs_f64();
    }
    manifest.tables = tables;
    manifest.phase_seconds = phases(&sim, write_seconds);
    Ok(())
}

/// The manifest's `phase_seconds`: each phase of a tick, then `write_output`, with the seconds of
/// the sessions before this one (from the checkpoint) added by name.
fn phase_totals(earlier: &[PhaseSeconds], sim: &Simulation, write_seconds: f64) -> Vec<PhaseSeconds> {
    sim.phase_seconds()
        .chain(std::iter::once(("write_output", write_seconds)))
        .map(|(phase, seconds)| PhaseSeconds {
            phase: phase.to_owned(),
            seconds: earlier_seconds(earlier, phase) + seconds,
        })
        .collect()
}

/// Phases that earlier builds ran apart and this one runs as one, by the name of the phase
/// they became: a checkpoint written by such a build adds their seconds to it.
const MERGED_PHASES: [(&str, [&str; 2]); 1] =
    [("break_partner_and_update_stress", ["break_and_partner", "update_stress_and_health"])];

/// The seconds the sessions before this one spent in `phase`, under its name or the names of
/// the phases it was made of ([`MERGED_PHASES`]).
fn earlier_seconds(earlier: &[PhaseSeconds], phase: &str) -> f64 {
    let parts = MERGED_PHASES.iter().find(|(merged, _)| *merged == phase).map_or(&[][..], |(_, parts)| &parts[..]);
    earlier.iter().filter(|p| p.phase == phase || parts.contains(&p.phase.as_str())).map(|p| p.seconds).sum()
}

fn save_checkpoint(
    spec: &RunSpec,
    sim: &mut Simulation,
    config: &str,
    next_part: u32,
    agent_ticks: u64,
    wall_seconds: f64,
    phase_seconds: Vec<PhaseSeconds>,
    tables: &std::collections::BTreeMap<String, TableSummary>,
    pending: &Output,
) -> Result<()> {
    let checkpoint = Checkpoint {
        format: CHECKPOINT_FORMAT,
        config: config.to_owned(),
        next_part,
        agent_ticks,
        wall_seconds,
        phase_seconds,
        tables: tables.clone(),
        pending: pending.clone(),
        state: sim.state(),
    };
    checkpoint.write(&spec.checkpoint_path).context("writing the checkpoint")?;
    Ok(())
}

/// A progress bar on a terminal, plain log lines every tenth of the run elsewhere, or nothing.
enum Progress {
    Bar(ProgressBar),
    Log { total: u64 },
    Quiet,
}

impl Progress {
    fn new(total: u64, at: u64, quiet: bool) -> Self {
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
            bar.set_position(at);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint's seconds count toward the phase of the same name, and those of phases an
    /// earlier build ran apart toward the phase they became; no others.
    #[test]
    fn earlier_sessions_seconds_are_added_by_name_and_merged_phases_by_their_parts() {
        let earlier: Vec<PhaseSeconds> =
            [("learn_from_contact", 4.0), ("break_and_partner", 1.5), ("update_stress_and_health", 0.25)]
                .into_iter()
                .map(|(phase, seconds)| PhaseSeconds { phase: phase.to_owned(), seconds })
                .collect();
        assert_eq!(earlier_seconds(&earlier, "learn_from_contact"), 4.0);
        assert_eq!(earlier_seconds(&earlier, "break_partner_and_update_stress"), 1.75);
        assert_eq!(earlier_seconds(&earlier, "caregiving_and_development"), 0.0);
        assert_eq!(earlier_seconds(&earlier, "break_and_partner"), 1.5);
    }
}
