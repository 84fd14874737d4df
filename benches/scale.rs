//! Whole runs at 10,000, 100,000 and 1,000,000 agents, each as its own `bondsim run` process
//! (configs/bench-10k.toml, bench-100k.toml, bench-1m.toml), with 100,000 also at one thread:
//! `cargo bench --bench scale`. Prints, from each run's manifest and dataset, agent-ticks and
//! ticks per second, peak resident memory (per agent and per bond), output bytes and Parquet
//! bytes per agent snapshot row. `BONDSIM_SCALE=10k,100k` runs a subset. The 1M run takes
//! about 15 minutes and 6 GB on the 2-core machine.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Case {
    label: &'static str,
    config: &'static str,
    threads: u32,
}

const CASES: &[Case] = &[
    Case { label: "10k", config: "configs/bench-10k.toml", threads: 2 },
    Case { label: "100k", config: "configs/bench-100k.toml", threads: 2 },
    Case { label: "100k", config: "configs/bench-100k.toml", threads: 1 },
    Case { label: "1m", config: "configs/bench-1m.toml", threads: 2 },
];

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Rows and bytes of a table's files under the run's folder.
fn table_rows_and_bytes(manifest: &serde_json::Value, table: &str) -> (f64, f64) {
    let t = &manifest["tables"][table];
    (t["rows"].as_f64().unwrap_or(0.0), t["bytes"].as_f64().unwrap_or(0.0))
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter on the labels.
    let wanted: Option<Vec<String>> =
        std::env::var("BONDSIM_SCALE").ok().map(|v| v.split(',').map(|s| s.trim().to_lowercase()).collect());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out_root = root.join("target").join("bench-scale");
    println!(
        "| run | threads | agents (mean) | bonds (mean of snapshots) | ticks | agent-ticks | wall s | agent-ticks/s | ticks/s | peak RSS | RSS per agent | output | bytes per agent row |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for case in CASES {
        if wanted.as_ref().is_some_and(|w| !w.iter().any(|x| x == case.label)) {
            continue;
        }
        let out = out_root.join(format!("{}-{}t", case.label, case.threads));
        let status = Command::new(env!("CARGO_BIN_EXE_bondsim"))
            .arg("run")
            .arg(root.join(case.config))
            .arg("--out")
            .arg(&out)
            .args(["--overwrite", "--quiet", "--threads"])
            .arg(case.threads.to_string())
            .status()
            .expect("bondsim runs");
        assert!(status.success(), "{} failed: {status}", case.config);
        let m = json(&out.join("manifest.json"));
        let f = |k: &str| m[k].as_f64().unwrap_or(f64::NAN);
        let (ticks, agent_ticks, wall, rss) = (f("ticks"), f("agent_ticks"), f("wall_seconds"), f("peak_rss_bytes"));
        let mean_agents = agent_ticks / ticks;
        let (agent_rows, agent_bytes) = table_rows_and_bytes(&m, "agents");
        let (network_rows, _) = table_rows_and_bytes(&m, "network");
        let snapshots = (ticks / 52.0).floor() + 1.0;
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {:.2} M | {:.1} | {:.0} MB | {:.2} KB | {:.0} MB | {:.1} |",
            case.label,
            case.threads,
            mean_agents,
            network_rows / snapshots,
            ticks,
            agent_ticks,
            wall,
            agent_ticks / wall / 1e6,
            ticks / wall,
            rss / 1e6,
            rss / mean_agents / 1e3,
            f("output_bytes") / 1e6,
            agent_bytes / agent_rows,
        );
    }
}
