//! The callgrind file parser of `benches/instructions.rs`, in a file of its own so that
//! `tests/callgrind_parser.rs` can check it (bench targets are not built by `cargo test`).

/// What a callgrind file's text counted: all the run's instructions (its `summary:` or
/// `totals:` line), and each phase's inclusive count, for the phases `phase_names` names: the
/// instructions of `bondsim_engine::systems::<phase>` and of everything it calls (its own cost
/// lines plus the cost line after each `calls=`). `None` if the text has no summary line. The
/// format is valgrind's "Callgrind Format Specification": `fn=(id) name` (or `cfn=`, a callee)
/// names a function once and `fn=(id)` refers to it after; a cost line is its positions (as many
/// as the `positions:` line names) then its events (here only `Ir`).
pub fn instructions(text: &str, phase_names: &[&str]) -> Option<(u64, Vec<u64>)> {
    let positions = text.lines().find_map(|l| l.strip_prefix("positions:")).map_or(1, |p| p.split_whitespace().count());
    let mut names: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut phases = vec![0u64; phase_names.len()];
    let mut current: Option<usize> = None;
    let mut total = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("summary:").or_else(|| line.strip_prefix("totals:")) {
            total = v.trim().parse().ok();
        } else if let Some(f) = line.strip_prefix("fn=").or_else(|| line.strip_prefix("cfn=")) {
            // A name is given once, where its id first appears (on a `fn=` or a `cfn=` line).
            let name = match f.strip_prefix('(').and_then(|r| r.split_once(')')) {
                Some((id, rest)) if !rest.trim().is_empty() => {
                    names.insert(id.to_owned(), rest.trim().to_owned());
                    rest.trim().to_owned()
                }
                Some((id, _)) => names.get(id).cloned().unwrap_or_default(),
                None => f.trim().to_owned(),
            };
            if line.starts_with("fn=") {
                current = name
                    .strip_prefix("bondsim_engine::systems::")
                    .and_then(|n| phase_names.iter().position(|p| *p == n));
            }
        } else if let Some(phase) = current
            && line.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '*'))
        {
            phases[phase] += line.split_whitespace().nth(positions).and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Some((total?, phases))
}
