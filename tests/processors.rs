//! Same config and seed, same bytes on other processors: the program run natively and under
//! QEMU's user-mode emulation of two older processors, whose features choose other code.
//!
//! - `Haswell-v4`: AVX2 and fused multiply-add, no AVX-512. The vector code of
//!   `bondsim_model::saturation` and `rules::learn_block` runs its AVX2 version (natively, on a
//!   processor with AVX-512, its AVX-512 version).
//! - `qemu64`: SSE2 only, no AVX and no fused multiply-add. The generic versions run, and glibc
//!   picks its own functions' code without fused multiply-add. While the model called the
//!   standard library's `exp`, `ln` and `powf` (which call glibc's), this config's health
//!   values came out a unit in the last place apart from the first snapshot on (in the agents,
//!   deaths and metrics tables), and so did the dead's death hazards. The same functions
//!   decided the normal draws' rarer paths, the encounters' age preference and who dies, where a
//!   difference would have changed everything after it.
//!
//! A processor model's features are QEMU's (`qemu-x86_64 -cpu help`; its emulation computes
//! IEEE 754 arithmetic exactly). The test needs `qemu-x86_64` (Debian's `qemu-user`); without it
//! the test says so and passes, unless `BONDSIM_REQUIRE_QEMU` is set (CI sets it).

#![cfg(target_arch = "x86_64")]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// 1,500 founders for 15 years with `THREE_INTERVENTIONS`: births, deaths, separations,
/// bereavements and every kind of event, in about 0.4 s natively and 6 s emulated.
const EXPERIMENT: &str = r#"
[experiment]
name = "processors"
seed = 7

[population]
founders = 1500

[time]
tick_days = 7.0
years = 15.0

[record]
agents_every_ticks = 26
"#;

/// Runs the binary under QEMU emulating `cpu`, as `run_ok` runs it natively.
fn run_emulated(qemu: &str, cpu: &str, config: &Path, out: &Path) {
    let mut command = Command::new(qemu);
    command.args(["-cpu", cpu, env!("CARGO_BIN_EXE_bondsim")]);
    run_ok_with(command, config, out, &["--threads", "2"]);
}

#[test]
fn runs_on_processors_with_and_without_avx2_and_fused_multiply_add_write_the_same_bytes() {
    let Some(qemu) = outside_program(&["qemu-x86_64"], "BONDSIM_REQUIRE_QEMU", "Debian: apt-get install qemu-user")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "processors.toml", &format!("{EXPERIMENT}{THREE_INTERVENTIONS}"));
    let native = dir.path().join("native");
    run_ok(&config, &native, &["--threads", "2"]);
    assert_eq!(parquet_files(&native).len(), bondsim_io::TABLES.len());
    for cpu in ["Haswell-v4", "qemu64"] {
        let emulated = dir.path().join(cpu);
        run_emulated(qemu, cpu, &config, &emulated);
        assert_same_parquet(&native, &emulated, &format!("this processor and QEMU's {cpu}"));
    }
}
