//! The instructions bench's callgrind parser (`benches/common/callgrind.rs`), on callgrind files
//! written by hand in valgrind's format: bench targets are not built by `cargo test`, and
//! valgrind is not needed here.

#[path = "../benches/common/callgrind.rs"]
mod callgrind;

const PHASES: [&str; 3] = ["learn_from_contact", "record_tick", "apply_births"];

/// A run's profile in callgrind's format, with `positions` columns before each cost (`line`,
/// or `instr line` as `--dump-instr=yes` writes it). In it:
/// - `learn_from_contact`: 100 + 50 of its own, a call to `learn_block` costing 300 in all, and
///   8 more in a second block of its own (another file): 458;
/// - `record_tick`: first named on a `cfn=` line (called from `main`), its block then referred to
///   by id alone: 7 of its own and a call costing 30: 37;
/// - `apply_births`: not in the profile: 0;
/// - `bondsim_engine::systems::helper`, not a phase, and `main`: counted in no phase.
fn profile(positions: &str) -> String {
    let at = |line: &str| if positions == "line" { line.to_owned() } else { format!("0x4012a0 {line}") };
    [
        "# callgrind format".to_owned(),
        "version: 1".to_owned(),
        "creator: callgrind-3.19.0".to_owned(),
        "cmd: bondsim run".to_owned(),
        "part: 1".to_owned(),
        String::new(),
        format!("positions: {positions}"),
        "events: Ir".to_owned(),
        "summary: 1000".to_owned(),
        String::new(),
        "ob=(1) /work/target/release/bondsim".to_owned(),
        "fl=(1) crates/bondsim-engine/src/main.rs".to_owned(),
        "fn=(1) main".to_owned(),
        format!("{} 20", at("1")),
        "cfn=(2) bondsim_engine::systems::record_tick".to_owned(),
        format!("calls=1 {}", at("5")),
        format!("{} 37", at("+1")),
        "fl=(2) crates/bondsim-engine/src/systems.rs".to_owned(),
        "fn=(3) bondsim_engine::systems::learn_from_contact".to_owned(),
        format!("{} 100", at("10")),
        format!("{} 50", at("+2")),
        "cfn=(4) bondsim_model::rules::learn_block".to_owned(),
        format!("calls=3 {}", at("40")),
        format!("{} 300", at("*")),
        "fn=(4)".to_owned(),
        format!("{} 300", at("40")),
        "fn=(2)".to_owned(),
        format!("{} 7", at("5")),
        "cfn=(5) bondsim_engine::systems::helper".to_owned(),
        format!("calls=2 {}", at("60")),
        format!("{} 30", at("-1")),
        "fn=(5)".to_owned(),
        format!("{} 30", at("60")),
        "fi=(3) crates/bondsim-model/src/rules.rs".to_owned(),
        format!("{} 4", at("+1")),
        "fl=(3)".to_owned(),
        "fn=(3)".to_owned(),
        format!("{} 8", at("12")),
        "jump=1 13".to_owned(),
        "totals: 1000".to_owned(),
    ]
    .join("\n")
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
