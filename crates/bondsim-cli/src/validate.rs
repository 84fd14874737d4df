//! `bondsim validate`: runs the validation scenario and prints the stylized facts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bondsim_report::validate::{self, Fact};

use crate::config::{Experiment, Source};
use crate::sweep::{self, SweepSection};

/// The validation scenario: the given (or default) parameters, a multi-generation population,
/// replicates.
pub fn scenario(base: Experiment, quick: bool) -> Experiment {
    let mut e = Experiment { model: base.model, interventions: base.interventions, ..Experiment::default() };
    e.experiment.name = if quick { "validate-quick".into() } else { "validate".into() };
    e.population.founders = 5_000;
    e.time.years = 100.0;
    e.record.agents_every_ticks = 52;
    e.sweep = Some(SweepSection {
        replicates: if quick { 2 } else { 5 },
        grid: Default::default(),
        latin_hypercube: None,
        scenarios: Vec::new(),
    });
    e
}

fn fmt(x: f64) -> String {
    if x.is_finite() { format!("{x:.3}") } else { "n/a".into() }
}

pub fn table(facts: &[Fact]) -> String {
    let width = facts.iter().map(|f| f.measure.chars().count()).max().unwrap_or(0);
    let mut out = format!(
        "{:<4} {:<width$} {:<22} {:>8} {:>19}  {}\n",
        "fact", "measure", "target", "value", "95% interval", "result"
    );
    for f in facts {
        let (lo, hi) = f.interval();
        out.push_str(&format!(
            "{:<4} {:<width$} {:<22} {:>8} {:>19}  {}\n",
            f.id,
            f.measure,
            f.target,
            fmt(f.mean()),
            format!("[{}, {}]", fmt(lo), fmt(hi)),
            if f.pass() { "pass" } else { "FAIL" }
        ));
    }
    let passed = facts.iter().filter(|f| f.pass()).count();
    out.push_str(&format!(
        "{passed} of {} measures within tolerance ({} runs)\n",
        facts.len(),
        facts.first().map_or(0, |f| f.per_run.len())
    ));
    out
}

fn json(facts: &[Fact], experiment: &Experiment, runs: &[sweep::PlannedRun]) -> String {
    let rows: Vec<serde_json::Value> = facts
        .iter()
        .map(|f| {
            let (lo, hi) = f.interval();
            serde_json::json!({
                "fact": f.id, "measure": f.measure, "target": f.target,
                "low": if f.low.is_finite() { Some(f.low) } else { None },
                "high": if f.high.is_finite() { Some(f.high) } else { None },
                "value": f.mean().is_finite().then(|| f.mean()),
                "interval": [lo.is_finite().then_some(lo), hi.is_finite().then_some(hi)],
                "per_run": f.per_run.iter().map(|v| v.is_finite().then_some(*v)).collect::<Vec<_>>(),
                "pass": f.pass(), "source": f.source,
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "config": experiment.resolved_toml(),
        "master_seed": experiment.experiment.seed,
        "runs": runs.iter().map(|r| serde_json::json!({"run": r.run_id, "replicate": r.replicate, "seed": r.seed})).collect::<Vec<_>>(),
        "facts": rows,
    }))
    .expect("serialises")
}

/// The command-line switches of `bondsim validate`.
pub struct Flags {
    pub quick: bool,
    pub strict: bool,
    pub overwrite: bool,
    pub threads: u64,
}

pub fn main(config: Option<&Path>, out: Option<PathBuf>, flags: Flags) -> ExitCode {
    crate::init_logging(false);
    let base = match config {
        Some(path) => match Experiment::load(Some(path)) {
            Ok((e, _)) => e,
            Err(e) => return crate::bad_input(&e.to_string()),
        },
        None => Experiment::default(),
    };
    let experiment = scenario(base, flags.quick);
    let out = out.unwrap_or_else(|| PathBuf::from(if flags.quick { "out/validate-quick" } else { "out/validate" }));
    let runs = match sweep::plan(&experiment, &Source::Embedded) {
        Ok(runs) => runs,
        Err(e) => return crate::bad_input(&e.to_string()),
    };
    if flags.overwrite
        && let Err(e) = crate::run::prepare_output(&out, true, false)
    {
        return crate::failure(&e);
    }
    let label = config.map_or_else(|| PathBuf::from("<validation scenario>"), Path::to_path_buf);
    match sweep::run_sweep(&runs, &label, &out, None, flags.threads, true) {
        Ok(code) if code == ExitCode::SUCCESS => {}
        Ok(code) => return code,
        Err(e) => return crate::failure(&e),
    }
    let facts = match validate::measure(&out) {
        Ok(facts) => facts,
        Err(e) => {
            eprintln!("bondsim: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", table(&facts));
    let json_path = out.join("validation.json");
    let parquet_path = out.join("validation.parquet");
    let metadata = [
        ("bondsim.version", env!("CARGO_PKG_VERSION").to_string()),
        ("bondsim.config", experiment.resolved_toml()),
        ("bondsim.master_seed", experiment.experiment.seed.to_string()),
        ("bondsim.run_seeds", runs.iter().map(|r| format!("{}={}", r.run_id, r.seed)).collect::<Vec<_>>().join(",")),
    ];
    let temp = out.join("validation.json.tmp");
    let written = std::fs::write(&temp, json(&facts, &experiment, &runs))
        .and_then(|()| std::fs::rename(&temp, &json_path))
        .map_err(|e| format!("{}: {e}", json_path.display()))
        .and_then(|()| validate::write_parquet(&facts, &parquet_path, &metadata).map_err(|e| e.to_string()));
    if let Err(e) = written {
        eprintln!("bondsim: error: {e}");
        return ExitCode::FAILURE;
    }
    println!("bondsim: validation written to {} and {}", json_path.display(), parquet_path.display());
    if flags.strict && facts.iter().any(|f| !f.pass()) { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
