//! Instructions executed per agent-tick, counted by valgrind's callgrind: `cargo bench --bench
//! instructions`. A whole `bondsim run` of configs/bench-10k.toml on one thread, with its
//! snapshots and without them, each under `valgrind --tool=callgrind`; prints the instructions
//! of each run and per agent-tick (from its manifest's `agent_ticks`). Unlike wall time, the
//! count is the same however busy or fast the machine is, so a change to the engine can be
//! measured by it in one run each, where the wall times of docs/PERFORMANCE.md move by a fifth
//! between hours. What it does not see is what a cycle costs: memory waits, mispredictions.
//!
//! Valgrind runs the vector code's AVX2 version (it does not run AVX-512), which takes more
//! instructions than the AVX-512 version native runs take on processors that have it.
//! `BONDSIM_INSTRUCTIONS=10k,100k` adds configs/bench-100k.toml without snapshots (about 7
//! minutes); `BONDSIM_BIN` picks the binary, as for the scale bench. Each run's callgrind file
//! is left beside its output, under target/bench-instructions/, for `callgrind_annotate`.

#[path = "common/callgrind.rs"]
mod callgrind;
mod common;

use std::path::PathBuf;
use std::process::Command;

struct Case {
    label: &'static str,
    config: &'static str,
    snapshots: bool,
    by_default: bool,
}

const CASES: &[Case] = &[
    Case { label: "10k", config: "configs/bench-10k.toml", snapshots: true, by_default: true },
    Case { label: "10k", config: "configs/bench-10k.toml", snapshots: false, by_default: true },
    Case { label: "100k", config: "configs/bench-100k.toml", snapshots: false, by_default: false },
];

fn main() {
    let chosen = common::chosen("BONDSIM_INSTRUCTIONS");
    // The phases of a tick, as the engine names their systems (each a function of its own in the
    // binary: `#[inline(never)]`).
    let phase_names: Vec<&str> = bondsim_engine::systems::tick_phases().iter().map(|p| p.name).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out_root = root.join("target").join("bench-instructions");
    let binary = common::binary();
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("valgrind is not installed: this bench counts instructions with it (Debian's package valgrind)");
        std::process::exit(1);
    }
    std::fs::create_dir_all(&out_root).expect("bench folder");
    eprintln!("counting {} under valgrind --tool=callgrind, one thread", binary.display());
    println!("| run | threads | snapshots | agents (mean) | ticks | agent-ticks | instructions | per agent-tick |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut by_phase = Vec::new();
    for case in CASES.iter().filter(|c| chosen(c.label, c.by_default)) {
        let name = format!("{}-1t{}", case.label, if case.snapshots { "" } else { "-no-snapshots" });
        let out = out_root.join(&name);
        let counted = out_root.join(format!("{name}.callgrind"));
        let status = Command::new("valgrind")
            .args(["--tool=callgrind", "--quiet"])
            .arg(format!("--callgrind-out-file={}", counted.display()))
            .arg(&binary)
            .arg("run")
            .arg(common::config(&root, case.config, case.snapshots, &out))
            .arg("--out")
            .arg(&out)
            .args(["--overwrite", "--quiet", "--threads", "1"])
            // Each run's closing line to stderr, beside the wall times: stdout is the table.
            .stdout(std::io::stderr())
            .status()
            .expect("valgrind runs");
        assert!(status.success(), "{name} under valgrind failed: {status}");
        let m = bondsim_io::Manifest::read(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        let (ticks, agent_ticks) = (m.ticks as f64, m.agent_ticks as f64);
        let text = std::fs::read_to_string(&counted).unwrap_or_else(|e| panic!("{}: {e}", counted.display()));
        let (count, phases) = callgrind::instructions(&text, &phase_names)
            .unwrap_or_else(|| panic!("{}: no summary line", counted.display()));
        by_phase.push((name.clone(), agent_ticks, count, phases));
        println!(
            "| {} | 1 | {} | {:.0} | {ticks:.0} | {agent_ticks:.0} | {count} | {:.0} |",
            case.label,
            if case.snapshots { format!("every {} ticks", common::SNAPSHOT_EVERY) } else { "none".into() },
            agent_ticks / ticks,
            count as f64 / agent_ticks,
        );
    }
    // Each phase's instructions per agent-tick and share of the run's count; the rest is
    // founding the population, writing the output and the runtime around the phases.
    let header: Vec<&str> = by_phase.iter().map(|(name, ..)| name.as_str()).collect();
    println!("\nInstructions per agent-tick by phase (share of the run's count)\n\n| phase | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(by_phase.len()));
    let cell = |count: u64, agent_ticks: f64, total: u64| {
        format!("{:.0} ({:.1} %)", count as f64 / agent_ticks, 100.0 * count as f64 / total as f64)
    };
    for (i, phase) in phase_names.iter().enumerate() {
        let cells: Vec<String> = by_phase.iter().map(|(_, at, total, p)| cell(p[i], *at, *total)).collect();
        println!("| {phase} | {} |", cells.join(" | "));
    }
    let rest: Vec<String> =
        by_phase.iter().map(|(_, at, total, p)| cell(total - p.iter().sum::<u64>(), *at, *total)).collect();
    println!("| the rest (founding, writing, the runtime) | {} |", rest.join(" | "));
    println!(
        "\nCounted under valgrind, which runs the AVX2 version of the vector code; callgrind files in {}",
        out_root.display()
    );
}
