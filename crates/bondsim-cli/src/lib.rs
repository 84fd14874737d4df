//! bondsim-cli: the `bondsim` command. Orchestration and messages only: configs are loaded and
//! validated here, the science is in `bondsim-model`, the simulation in `bondsim-engine`, the
//! dataset in `bondsim-io`.

pub mod config;
pub mod guard;
pub mod run;
pub mod sweep;
pub mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Parser, Subcommand};

use crate::config::{ConfigError, Experiment};
use crate::run::{OutputRefused, RunOptions};

/// Exit status for bad input: a bad config, a refused output folder, a bad flag.
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "bondsim",
    version,
    about = "Agent-based simulation of human bonding: oxytocin, dopamine and stress, attachment across generations, on an evolving social graph",
    long_about = "bondsim simulates how human bonds form, last, break and pass down generations, following the \
neurobiological account of attachment (Feldman 2017). Experiments are TOML configs (see configs/); \
output is a Parquet dataset that polars, pandas, DuckDB and Spark read as one table (see docs/OUTPUT.md)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an experiment and write its dataset (tables agents, bond_events, births, deaths,
    /// metrics, and manifest.json) to --out.
    Run {
        /// Experiment config (TOML). Without it, the embedded baseline (configs/baseline.toml) runs.
        config: Option<PathBuf>,
        /// Output folder; refused if it exists and is not empty, unless --overwrite.
        #[arg(long, default_value = "out/baseline")]
        out: PathBuf,
        /// Override the config's experiment.seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the config's execution.threads (0 = one per core). Results do not depend on it.
        #[arg(long)]
        threads: Option<u64>,
        /// Replace bondsim's tables, manifest and checkpoints in a non-empty --out.
        #[arg(long, conflicts_with = "resume")]
        overwrite: bool,
        /// Continue an interrupted run in --out from its checkpoint (see record.checkpoint_every_ticks).
        #[arg(long)]
        resume: bool,
        /// No progress bar or log lines; only errors and the closing summary line.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Parameter sweeps: scenarios × parameter points × replicates, on one machine or as a
    /// SLURM job array, into one dataset.
    #[command(subcommand)]
    Sweep(sweep::SweepCommand),
    /// Write a self-contained HTML report (plots as inline SVG) of a run's or a sweep's dataset.
    Report {
        /// The output folder of `bondsim run` or `bondsim sweep run`.
        dir: PathBuf,
        /// Where to write the page [default: DIR/report.html].
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Run the validation scenario (5 replicates of 5,000 founders for 100 years, with the
    /// default parameters or a config's) and print each stylized fact of the science brief
    /// (F1-F14): target, simulated value with a 95 % interval over replicates, pass or fail.
    /// Writes validation.json and validation.parquet beside the dataset. See docs/VALIDATION.md.
    Validate {
        /// A config whose [model] parameters (and interventions) to validate; the population,
        /// duration and replicates are the validation scenario's. Without it, the defaults.
        config: Option<PathBuf>,
        /// Output folder of the validation runs [default: out/validate, or out/validate-quick].
        #[arg(long)]
        out: Option<PathBuf>,
        /// A smaller version: the same scenario with 2 replicates (about 30 seconds).
        #[arg(long)]
        quick: bool,
        /// Exit with status 1 when a fact fails.
        #[arg(long)]
        strict: bool,
        /// Replace bondsim's output already in the folder (runs of another config are refused
        /// otherwise).
        #[arg(long)]
        overwrite: bool,
        /// Worker threads (0 = one per core).
        #[arg(long, default_value_t = 0)]
        threads: u64,
    },
    /// Validate a config and print it resolved: every key, with the defaults filled in.
    Config {
        /// Experiment config (TOML). Without it, the embedded baseline.
        config: Option<PathBuf>,
    },
}

pub(crate) fn init_logging(quiet: bool) {
    let level = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BONDSIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

fn load(config: Option<&std::path::Path>) -> Result<(Experiment, config::Source), ConfigError> {
    Experiment::load(config)
}

/// Runs the command line; returns the process exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config { config } => match load(config.as_deref()) {
            Ok((experiment, _)) => {
                print!("{}", toml::to_string(&experiment).expect("config serialises"));
                ExitCode::SUCCESS
            }
            Err(e) => bad_input(&e.to_string()),
        },
        Command::Run { config, out, seed, threads, overwrite, resume, quiet } => {
            init_logging(quiet);
            let (mut experiment, source) = match load(config.as_deref()) {
                Ok(loaded) => loaded,
                Err(e) => return bad_input(&e.to_string()),
            };
            if let Some(seed) = seed {
                experiment.experiment.seed = seed;
            }
            if let Some(threads) = threads {
                experiment.execution.threads = threads;
                if let Some(e) = experiment.validate().into_iter().next() {
                    return bad_input(&format!("--threads: {e}"));
                }
            }
            let stop = match stop_on_sigterm() {
                Ok(stop) => stop,
                Err(e) => return failure(&e),
            };
            let threads = resolve_threads(experiment.execution.threads);
            let config_path = match &source {
                config::Source::Embedded => None,
                config::Source::File(p) => Some(p.display().to_string()),
            };
            let spec = run::RunSpec::single(experiment, &out, config_path);
            let options = RunOptions { out: out.clone(), threads, quiet, resume, stop };
            let outcome = guard::check_memory(&spec.experiment, 1)
                .and_then(|()| run::prepare_output(&out, overwrite, resume))
                .and_then(|()| run::execute(&spec, &options));
            match outcome {
                Ok(m) => {
                    println!(
                        "bondsim: run {} complete: {} ticks, {} agent_ticks in {:.2} wall_seconds ({:.0} agent-ticks/s), peak_rss_bytes {}, output_bytes {}; dataset in {}",
                        m.run_id,
                        m.ticks,
                        m.agent_ticks,
                        m.wall_seconds,
                        m.agent_ticks_per_second,
                        m.peak_rss_bytes,
                        m.output_bytes,
                        out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => failure(&e),
            }
        }
        Command::Sweep(command) => sweep::main(command),
        Command::Validate { config, out, quick, strict, overwrite, threads } => {
            validate::main(config.as_deref(), out, validate::Flags { quick, strict, overwrite, threads })
        }
        Command::Report { dir, output } => {
            let output = output.unwrap_or_else(|| dir.join("report.html"));
            match bondsim_report::write_report(&dir, &output) {
                Ok(figures) => {
                    println!("bondsim: report with {figures} plots written to {}", output.display());
                    ExitCode::SUCCESS
                }
                Err(e @ bondsim_report::ReportError::NoDataset(_)) => bad_input(&e.to_string()),
                Err(e) => {
                    eprintln!("bondsim: error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Exit status of a run stopped by SIGTERM (128 + 15, as a shell reports it).
pub const EXIT_INTERRUPTED: u8 = 143;

/// The exit status and message for an error: bad input 2, SIGTERM 143, anything else 1.
pub(crate) fn failure(e: &anyhow::Error) -> ExitCode {
    if e.is::<OutputRefused>() || e.is::<ConfigError>() {
        bad_input(&format!("{e:#}"))
    } else if e.is::<run::Interrupted>() {
        eprintln!("bondsim: {e}");
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        eprintln!("bondsim: error: {e:#}");
        ExitCode::FAILURE
    }
}

/// A flag that SIGTERM sets (SLURM sends it before a job's time limit or on preemption).
pub(crate) fn stop_on_sigterm() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    Ok(stop)
}

pub(crate) fn resolve_threads(threads: u64) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n as usize,
    }
}

pub(crate) fn bad_input(message: &str) -> ExitCode {
    eprintln!("bondsim: error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}
