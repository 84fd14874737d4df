//! Resource guard: a config that would need more memory than the machine has is refused up
//! front, with the estimate and the limit, instead of being killed by the system hours later.

use crate::config::Experiment;
use crate::run::OutputRefused;

/// Resident memory of a run, measured on the whole process (state, bonds, output buffers and the
/// Parquet writer's row groups, which are bounded and so weigh most in small runs): on this
/// project's machine 10,000 founders peaked at 250 MB and 100,000 at 593 MB, about 3.8 KB more
/// per founder above a base of about 210 MB. The constants below add a margin of about 1.5x for
/// populations that grow.
pub const BYTES_PER_FOUNDER: u64 = 6 * 1024;
pub const BASE_BYTES: u64 = 320 * 1024 * 1024;

/// Estimated peak resident memory of one run of `experiment` (bytes).
pub fn estimate_bytes(experiment: &Experiment) -> u64 {
    BASE_BYTES + experiment.population.founders * BYTES_PER_FOUNDER
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
            "population.founders = {}: {what}this experiment needs an estimated {:.1} GB of memory ({} KB per founder, measured), but {:.1} GB is available; use fewer founders{}",
            experiment.population.founders,
            gb(need),
            BYTES_PER_FOUNDER / 1024,
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
        assert!(estimate_bytes(&experiment) > available, "this test expects less than 117 GB of memory");
        let message = check_memory(&experiment, 1).unwrap_err().to_string();
        assert!(message.contains("population.founders = 20000000") && message.contains("GB"), "{message}");
    }
}
