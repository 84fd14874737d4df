//! Resource guard: a config that would need more memory than the machine has is refused up
//! front, with the estimate and the limit, instead of being killed by the system hours later.

use crate::config::Experiment;
use crate::run::OutputRefused;

/// Resident memory of a run, measured on the whole process (state, bonds, a snapshot's slice,
/// the Parquet writers' row groups, which are bounded and so weigh most in small runs): on this
/// project's machine the bench configs' 10,000, 100,000, 1,000,000 and 10,000,000 founders
/// peaked at 103–120, 306–375, 1,384–1,472 and 12,083–12,118 MB, about 1.2 KB more per founder
/// above a base of about 210 MB (docs/PERFORMANCE.md). The constants add a margin of about 1.3x
/// (the default population holds its size; one that grows over a long run needs more), small
/// enough that ten million founders, the population the memory target is sized for, are not
/// refused on a 16 GB machine: 14.6 GiB estimated for 12.1 GB measured.
pub const BYTES_PER_FOUNDER: u64 = 1536;
pub const BASE_BYTES: u64 = 320 * 1024 * 1024;
/// With checkpoints on, a checkpoint interval's rows are held until its segment is written; per
/// agent and snapshot in the interval, an agent row (248 bytes) and its share of the edge list
/// (9 rows of 80 bytes at 18 bonds per agent), about 1 KB: 1.5 KB with the margin.
pub const HELD_BYTES_PER_FOUNDER_AND_SNAPSHOT: u64 = 1536;

/// Estimated peak resident memory of one run of `experiment` per founder (bytes).
fn bytes_per_founder(experiment: &Experiment) -> u64 {
    let record = &experiment.record;
    let held_snapshots = if record.checkpoint_every_ticks > 0 && record.agents_every_ticks > 0 {
        record.checkpoint_every_ticks.div_ceil(record.agents_every_ticks)
    } else {
        0
    };
    BYTES_PER_FOUNDER + held_snapshots * HELD_BYTES_PER_FOUNDER_AND_SNAPSHOT
}

/// Estimated peak resident memory of one run of `experiment` (bytes).
pub fn estimate_bytes(experiment: &Experiment) -> u64 {
    BASE_BYTES + experiment.population.founders * bytes_per_founder(experiment)
}

/// Memory available to bondsim: the smaller of the kernel's MemAvailable and a cgroup limit.
pub fn available_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let available = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)?;
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|v| v.trim().parse::<u64>().ok());
    Some(cgroup.map_or(available, |limit| limit.min(available)))
}

fn gb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0 * 1024.0)
}

/// Refuses `runs_at_once` simultaneous runs of `experiment` that would not fit in memory.
pub fn check_memory(experiment: &Experiment, runs_at_once: usize) -> anyhow::Result<()> {
    let Some(available) = available_bytes() else { return Ok(()) };
    let need = estimate_bytes(experiment).saturating_mul(runs_at_once as u64);
    if need > available {
        let what = if runs_at_once > 1 { format!("{runs_at_once} runs at once of ") } else { String::new() };
        return Err(OutputRefused(format!(
            "population.founders = {}: {what}this experiment needs an estimated {:.1} GB of memory ({:.1} KB per founder, from measured runs{}), but {:.1} GB is available; use fewer founders{}",
            experiment.population.founders,
            gb(need),
            bytes_per_founder(experiment) as f64 / 1024.0,
            if bytes_per_founder(experiment) > BYTES_PER_FOUNDER {
                ", with the snapshots a checkpoint interval holds"
            } else {
                ""
            },
            gb(available),
            if runs_at_once > 1 { ", fewer threads (runs at once) or more memory" } else { " or a machine with more memory" }
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_fits_and_twenty_million_founders_do_not() {
        let mut experiment = Experiment::default();
        assert!(check_memory(&experiment, 1).is_ok());
        experiment.population.founders = 20_000_000;
        let available = available_bytes().expect("Linux reports available memory");
        assert!(estimate_bytes(&experiment) > available, "this test expects less than 29 GiB of memory");
        let message = check_memory(&experiment, 1).unwrap_err().to_string();
        assert!(message.contains("population.founders = 20000000") && message.contains("GB"), "{message}");
    }

    #[test]
    fn ten_million_founders_are_estimated_above_their_measured_peak_and_within_16_gb() {
        let mut experiment = Experiment::default();
        experiment.population.founders = 10_000_000;
        experiment.record.agents_every_ticks = 52;
        // configs/bench-10m.toml's peak on the project's machine (docs/PERFORMANCE.md).
        let measured: u64 = 12_118_310_912;
        let estimate = estimate_bytes(&experiment);
        assert!(estimate > measured, "{estimate} bytes estimated, {measured} measured");
        // What a 16 GiB machine leaves available after its system's share (MemAvailable).
        assert!(estimate < 15 << 30, "{estimate} bytes estimated");
    }

    #[test]
    fn snapshots_held_for_a_checkpoint_interval_count() {
        let mut experiment = Experiment::default();
        experiment.population.founders = 1_000_000;
        experiment.record.agents_every_ticks = 52;
        experiment.record.checkpoint_every_ticks = 0;
        let streaming = estimate_bytes(&experiment);
        assert_eq!(streaming, BASE_BYTES + 1_000_000 * BYTES_PER_FOUNDER);
        // Five snapshots in an interval of 260 ticks are held until the segment is written.
        experiment.record.checkpoint_every_ticks = 260;
        assert_eq!(estimate_bytes(&experiment), streaming + 5 * 1_000_000 * HELD_BYTES_PER_FOUNDER_AND_SNAPSHOT);
    }
}
