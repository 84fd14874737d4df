//! Whole runs at 10,000, 100,000 and 1,000,000 agents, each as its own `bondsim run` process
//! (configs/bench-10k.toml, bench-100k.toml, bench-1m.toml), with 100,000 also at one thread:
//! `cargo bench --bench scale`. Prints, from each run's manifest and dataset, agent-ticks and
//! ticks per second, peak resident memory per agent, output bytes and Parquet bytes per agent
//! snapshot row; then the 100,000 run again without snapshots (`record.agents_every_ticks = 0`),
//! which gives the share of run time that recording snapshots costs. The 10k run is made five
//! times and the 100k runs three times each; the table shows the run of median wall time (all
//! wall times go to stderr), and the 100k runs at 2 threads and at 1, made one after the other in
//! each round, give the speed-up of the second thread round by round; the time per agent-tick at
//! 1M against 10k is given between the median runs and against the 10k run made in the same
//! round as the 1M run. Before the rounds, one 10k run that is not counted (when 10k is chosen):
//! the bench's first process is the slow one. `BONDSIM_SCALE=10k,100k`
//! runs a subset; `BONDSIM_BIN=target/release-lto/bondsim` measures the link-time optimised
//! build (`cargo build --profile release-lto`) instead of the release build. The 1M run takes
//! about 2 minutes and 1.4 GB on the 2-core machine. `BONDSIM_SCALE=10m` runs
//! configs/bench-10m.toml (10,000,000 founders for 2 years), which no other choice includes:
//! about 8–12 minutes and 12 GB, for the memory of the population the targets are sized for.

mod common;

use std::path::PathBuf;
use std::process::Command;

use bondsim_io::Manifest;
use common::SNAPSHOT_EVERY;

struct Case {
    label: &'static str,
    config: &'static str,
    threads: u32,
    /// Agents and network recorded every `SNAPSHOT_EVERY` ticks, as the config says; or not at all.
    snapshots: bool,
    /// Runs of the case; the table shows the one of median wall time. Short runs vary by a
    /// third on the 2-core machine, and the recording share is a difference of two runs.
    runs: usize,
    /// Run without `BONDSIM_SCALE` naming it (10M is run only when named: about 8–12 minutes and
    /// 12 GB).
    by_default: bool,
}

const CASES: &[Case] = &[
    Case { label: "10k", config: "configs/bench-10k.toml", threads: 2, snapshots: true, runs: 5, by_default: true },
    Case { label: "100k", config: "configs/bench-100k.toml", threads: 2, snapshots: true, runs: 3, by_default: true },
    Case { label: "100k", config: "configs/bench-100k.toml", threads: 2, snapshots: false, runs: 3, by_default: true },
    Case { label: "100k", config: "configs/bench-100k.toml", threads: 1, snapshots: true, runs: 3, by_default: true },
    Case { label: "1m", config: "configs/bench-1m.toml", threads: 2, snapshots: true, runs: 1, by_default: true },
    Case { label: "10m", config: "configs/bench-10m.toml", threads: 2, snapshots: true, runs: 1, by_default: false },
];

/// Rows and bytes of a table's files under the run's folder.
fn table_rows_and_bytes(manifest: &Manifest, table: &str) -> (f64, f64) {
    manifest.tables.get(table).map_or((0.0, 0.0), |t| (t.rows as f64, t.bytes as f64))
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter on the labels.
    let chosen = common::chosen("BONDSIM_SCALE");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out_root = root.join("target").join("bench-scale");
    let binary = common::binary();
    eprintln!("measuring {}", binary.display());
    println!(
        "| run | threads | snapshots | agents (mean) | bonds (mean of snapshots) | bonds per agent | ticks | agent-ticks | wall s | agent-ticks/s | ticks/s | µs per agent-tick | peak RSS | RSS per agent | output | bytes per agent row |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    // Wall seconds of the 100k runs at 2 threads, with and without snapshots.
    let (mut with_snapshots, mut without) = (None, None);
    let selected: Vec<&Case> = CASES.iter().filter(|case| chosen(case.label, case.by_default)).collect();
    let name_of =
        |case: &Case| format!("{}-{}t{}", case.label, case.threads, if case.snapshots { "" } else { "-no-snapshots" });
    let run = |case: &Case, out: PathBuf| {
        let status = Command::new(&binary)
            .arg("run")
            .arg(common::config(&root, case.config, case.snapshots, &out))
            .arg("--out")
            .arg(&out)
            .args(["--overwrite", "--quiet", "--threads"])
            .arg(case.threads.to_string())
            // Each run's closing line to stderr, beside the wall times: stdout is the table.
            .stdout(std::io::stderr())
            .status()
            .expect("bondsim runs");
        assert!(status.success(), "{} failed: {status}", case.config);
        Manifest::read(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()))
    };
    // One 10k run first, not counted: the bench's first process ran a third slower than the
    // rest (0.88 s against 0.63–0.67 s in the AMD EPYC's run of commit 34ab939), and it was the
    // 10k run of the 1M run's round, which the scaling is also measured against.
    if let Some(case) = selected.iter().find(|case| case.label == "10k") {
        let warm_up = run(case, out_root.join("warm-up"));
        eprintln!("warm-up run (not counted): {:.2} s", warm_up.wall_seconds);
    }
    // Round by round (each case once per round while it has runs left), so that the runs compared
    // with each other, the 100k runs with and without snapshots above all, are made at the same
    // time: the machine's speed drifts by up to a fifth between hours, and one case's runs made
    // after the other's put that drift into the recording share.
    let mut runs: Vec<Vec<Manifest>> = vec![Vec::new(); selected.len()];
    for round in 0..selected.iter().map(|c| c.runs).max().unwrap_or(0) {
        for (case, manifests) in selected.iter().zip(&mut runs) {
            if round >= case.runs {
                continue;
            }
            manifests.push(run(case, out_root.join(name_of(case))));
        }
    }
    // The machine, as the runs' manifests name it: figures are compared between runs on one kind.
    let mut machines: Vec<String> = runs
        .iter()
        .flatten()
        .map(|m| {
            let processor = if m.processor.is_empty() { "an unnamed processor" } else { &m.processor };
            format!("{processor}, {} logical processors", m.processors_available)
        })
        .collect();
    machines.sort();
    machines.dedup();
    // A value of each run of a case, in the order the runs were made.
    let per_run = |name: &str, value: fn(&Manifest) -> f64| {
        selected
            .iter()
            .zip(&runs)
            .find(|(case, _)| name_of(case) == name)
            .map(|(_, manifests)| manifests.iter().map(value).collect::<Vec<f64>>())
    };
    // The second thread's speed-up at 100k with snapshots, round by round: each round's runs at
    // 2 threads and at 1 were made one after the other, so the machine's drift between rounds
    // does not enter a round's ratio.
    fn wall(m: &Manifest) -> f64 {
        m.wall_seconds
    }
    let speedup = per_run("100k-2t", wall).zip(per_run("100k-1t", wall)).map(|(two, one)| {
        let ratios: Vec<f64> = two.iter().zip(&one).map(|(t2, t1)| t1 / t2).collect();
        (ratios, median(&one) / median(&two))
    });
    // Time per agent-tick at 1M against 10k, between the median runs and against the 10k run of
    // the first round, the round of the one 1M run: 10k medians moved by a third between two
    // bench runs of one build, more than the target's margin.
    let per_agent_tick = |m: &Manifest| wall(m) / m.agent_ticks as f64;
    let scaling = per_run("1m-2t", per_agent_tick).zip(per_run("10k-2t", per_agent_tick)).map(|(big, small)| {
        (median(&big) / median(&small), big.first().zip(small.first()).map_or(f64::NAN, |(b, s)| b / s))
    });
    // Per case, its median run's seconds per phase (the manifest's `phase_seconds`).
    let mut phase_columns: Vec<PhaseColumn> = Vec::new();
    for (case, mut manifests) in selected.into_iter().zip(runs) {
        let name = name_of(case);
        manifests.sort_by(|a, b| wall(a).total_cmp(&wall(b)));
        if case.runs > 1 {
            let walls: Vec<String> = manifests.iter().map(|m| format!("{:.2}", wall(m))).collect();
            eprintln!("{name}: {} runs, wall seconds {}", case.runs, walls.join(", "));
        }
        let m = &manifests[manifests.len() / 2];
        let (ticks, agent_ticks, wall, rss) =
            (m.ticks as f64, m.agent_ticks as f64, m.wall_seconds, m.peak_rss_bytes as f64);
        let mean_agents = agent_ticks / ticks;
        let phases = m.phase_seconds.iter().map(|p| (p.phase.clone(), p.seconds)).collect();
        phase_columns.push(PhaseColumn { name: name.clone(), ticks, wall, phases });
        let (agent_rows, agent_bytes) = table_rows_and_bytes(m, "agents");
        let (network_rows, _) = table_rows_and_bytes(m, "network");
        let snapshots = (ticks / f64::from(SNAPSHOT_EVERY)).floor();
        if case.label == "100k" && case.threads == 2 {
            *(if case.snapshots { &mut with_snapshots } else { &mut without }) = Some(wall);
        }
        let per_row = |bytes: f64, rows: f64| if rows > 0.0 { format!("{:.1}", bytes / rows) } else { "-".into() };
        let bonds = if network_rows > 0.0 { format!("{:.0}", network_rows / snapshots) } else { "-".into() };
        // Each bond is two agents' bond: the mean degree, as the metrics table's
        // `mean_bonds_per_agent` counts it.
        let per_agent = if network_rows > 0.0 {
            format!("{:.1}", 2.0 * network_rows / snapshots / mean_agents)
        } else {
            "-".into()
        };
        println!(
            "| {} | {} | {} | {:.0} | {} | {} | {:.0} | {:.0} | {:.1} | {:.2} M | {:.1} | {:.2} | {:.0} MB | {:.2} KB | {:.0} MB | {} |",
            case.label,
            case.threads,
            if case.snapshots { format!("every {SNAPSHOT_EVERY} ticks") } else { "none".into() },
            mean_agents,
            bonds,
            per_agent,
            ticks,
            agent_ticks,
            wall,
            agent_ticks / wall / 1e6,
            ticks / wall,
            wall / agent_ticks * 1e6,
            rss / 1e6,
            rss / mean_agents / 1e3,
            m.output_bytes as f64 / 1e6,
            per_row(agent_bytes, agent_rows),
        );
    }
    print_phases(&phase_columns);
    // The cost of recording, measured directly: the share of the run spent writing the output
    // (building the snapshots' rows, encoding and writing every table). The difference of two
    // runs' wall times, made minutes apart, follows the machine's drift as much as the output.
    let write_share = |name: &str| {
        let c = phase_columns.iter().find(|c| c.name == name)?;
        let (_, seconds) = c.phases.iter().find(|(phase, _)| phase == "write_output")?;
        Some(100.0 * seconds / c.wall)
    };
    // Two decimals for the shares: the target is a limit (under 10 %), and the figures fall near it.
    if let (Some(with), Some(without)) = (write_share("100k-2t"), write_share("100k-2t-no-snapshots")) {
        println!(
            "\nRecording at 100k, 2 threads, timed inside the median runs: writing the output {with:.2} % of the run with snapshots (every {SNAPSHOT_EVERY} ticks), {without:.2} % without"
        );
    }
    if let Some((ratios, of_medians)) = speedup {
        let ratios: Vec<String> = ratios.iter().map(|r| format!("{r:.2}×")).collect();
        println!(
            "Two threads against one at 100k with snapshots: {} in the rounds, {of_medians:.2}× between the median runs",
            ratios.join(", ")
        );
    }
    if let (Some(with), Some(without)) = (with_snapshots, without) {
        println!(
            "Recording snapshots at 100k, 2 threads, by the difference of the medians: {:.2} % of run time ({with:.2} s with, {without:.2} s without)",
            100.0 * (with - without) / with
        );
    }
    if let Some((of_medians, same_round)) = scaling {
        println!(
            "Time per agent-tick at 1M against 10k: {of_medians:.2}× between the median runs, {same_round:.2}× against the 10k run of the 1M run's round"
        );
    }
    println!("\nMeasured on: {}", machines.join("; "));
}

/// The median of `values` (the upper one of an even count, as the table's median run).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A case's median run: its ticks, wall seconds and seconds per phase.
struct PhaseColumn {
    name: String,
    ticks: f64,
    wall: f64,
    phases: Vec<(String, f64)>,
}

/// Where each case's median run spent its wall time: milliseconds per tick in each phase, and its
/// share of the run's wall time (the rest is founding the population and closing the files).
fn print_phases(columns: &[PhaseColumn]) {
    let Some(first) = columns.first() else { return };
    println!("\nWall time per phase of the median run (manifest `phase_seconds`): ms per tick, share of the run");
    let header: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    println!("\n| phase | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    for (row, (phase, _)) in first.phases.iter().enumerate() {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                c.phases.get(row).map_or("-".into(), |(_, seconds)| {
                    format!("{:.2} ms ({:.1} %)", 1e3 * seconds / c.ticks, 100.0 * seconds / c.wall)
                })
            })
            .collect();
        println!("| {phase} | {} |", cells.join(" | "));
    }
}
