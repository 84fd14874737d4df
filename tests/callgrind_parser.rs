//! The instructions bench's callgrind parser (`benches/common/callgrind.rs`), on callgrind files
//! written by hand in valgrind's format: bench targets are not built by `cargo test`, and
//! valgrind is not needed here.

#[path = "../benches/common/callgrind.rs"]
mod callgrind;

const PHASES: [&str; 3] = ["learn_from_contact", "record_tick", "apply_births"];

/// A run's profile in callgrind's format, with `positions` columns before each cost (`line`,
/// or `instr line` as `--dump-instr=yes` writes it: `@` marks where the instruction's address
/// goes). In it:
/// - `learn_from_contact`: 100 + 50 of its own, a call to `learn_block` costing 300 in all, and
///   8 more in a second block of its own (another file): 458;
/// - `record_tick`: first named on a `cfn=` line (called from `main`), its block then referred to
///   by id alone: 7 of its own and a call costing 30: 37;
/// - `apply_births`: not in the profile: 0;
/// - `bondsim_engine::systems::helper`, not a phase, and `main`: counted in no phase.
fn profile(positions: &str) -> String {
    const PROFILE: &str = "\
# callgrind format
version: 1
creator: callgrind-3.19.0
cmd: bondsim run
part: 1

positions: POSITIONS
events: Ir
summary: 1000

ob=(1) /work/target/release/bondsim
fl=(1) crates/bondsim-engine/src/main.rs
fn=(1) main
@1 20
cfn=(2) bondsim_engine::systems::record_tick
calls=1 @5
@+1 37
fl=(2) crates/bondsim-engine/src/systems.rs
fn=(3) bondsim_engine::systems::learn_from_contact
@10 100
@+2 50
cfn=(4) bondsim_model::rules::learn_block
calls=3 @40
@* 300
fn=(4)
@40 300
fn=(2)
@5 7
cfn=(5) bondsim_engine::systems::helper
calls=2 @60
@-1 30
fn=(5)
@60 30
fi=(3) crates/bondsim-model/src/rules.rs
@+1 4
fl=(3)
fn=(3)
@12 8
jump=1 13
totals: 1000
";
    let address = if positions == "line" { "" } else { "0x4012a0 " };
    PROFILE.replace("POSITIONS", positions).replace('@', address)
}

#[test]
fn each_phase_gets_its_own_cost_and_its_calls_inclusive_cost() {
    for positions in ["line", "instr line"] {
        let counted = callgrind::instructions(&profile(positions), &PHASES);
        assert_eq!(counted, Some((1000, vec![458, 37, 0])), "positions: {positions}");
    }
}

#[test]
fn a_profile_without_a_summary_counts_nothing() {
    let text = profile("line").replace("summary: 1000", "").replace("totals: 1000", "");
    assert_eq!(callgrind::instructions(&text, &PHASES), None);
}
