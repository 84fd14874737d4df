//! Experiment configs: TOML in, a validated [`Experiment`] out, or an error that names the file,
//! the key, the value and what is allowed.

use std::path::{Path, PathBuf};

use bondsim_model::params::{Checker, InvalidParam};
use bondsim_model::{Intervention, Params};
use serde::{Deserialize, Serialize};

/// The baseline experiment, embedded so that `bondsim run` works with no file at hand.
pub const BASELINE_TOML: &str = include_str!("../../../configs/baseline.toml");

/// One experiment. Every section and key may be left out; what is left out takes the value of
/// the baseline (configs/baseline.toml).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Experiment {
    pub experiment: ExperimentSection,
    pub population: PopulationSection,
    pub time: TimeSection,
    pub record: RecordSection,
    pub execution: ExecutionSection,
    pub model: Params,
    /// Interventions, as `[[interventions]]` tables (none in the baseline).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interventions: Vec<Intervention>,
    /// A parameter sweep (`bondsim sweep`); ignored by `bondsim run`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<crate::sweep::SweepSection>,
}

impl Default for ExperimentSection {
    fn default() -> Self {
        Self { name: "baseline".into(), seed: 42 }
    }
}
impl Default for PopulationSection {
    fn default() -> Self {
        Self { founders: 10_000 }
    }
}
impl Default for TimeSection {
    fn default() -> Self {
        Self { tick_days: 7.0, years: 30.0 }
    }
}
impl Default for RecordSection {
    fn default() -> Self {
        Self { agents_every_ticks: 52, checkpoint_every_ticks: 0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentSection {
    /// Name of the experiment; with the seed it makes the run id (`<name>-s<seed>`).
    pub name: String,
    /// Master seed of every random stream.
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PopulationSection {
    /// Founding population (agents).
    pub founders: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeSection {
    /// Length of one tick (days).
    pub tick_days: f64,
    /// Simulated duration (years).
    pub years: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordSection {
    /// Interval of agent snapshots (ticks); 0 turns them off.
    pub agents_every_ticks: u64,
    /// Interval of checkpoints (ticks); 0 turns them off. With checkpoints, each table is written
    /// as one file per interval and a run can be resumed after SIGTERM or a crash.
    pub checkpoint_every_ticks: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutionSection {
    /// Worker threads; 0 = one per core. Results do not depend on it.
    pub threads: u64,
}

/// Where a config came from, for messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Embedded,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Embedded => write!(f, "<embedded baseline>"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{source_name}: cannot read the config: {error}")]
    Read { source_name: Source, error: std::io::Error },
    #[error("{source_name}: not valid TOML: {message}")]
    Syntax { source_name: Source, message: String },
    #[error("{source_name}: key `{key}`: {message}")]
    Type { source_name: Source, key: String, message: String },
    #[error("{source_name}: {}", list(.errors))]
    Invalid { source_name: Source, errors: Vec<InvalidParam> },
}

fn list(errors: &[InvalidParam]) -> String {
    if errors.len() == 1 {
        format!("key {}", errors[0])
    } else {
        let lines: Vec<String> = errors.iter().map(|e| format!("\n  key {e}")).collect();
        format!("{} invalid values:{}", errors.len(), lines.concat())
    }
}

impl Experiment {
    /// Loads and validates a config file, or the embedded baseline when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<(Self, Source), ConfigError> {
        let (text, source) = match path {
            None => (BASELINE_TOML.to_owned(), Source::Embedded),
            Some(p) => {
                let source = Source::File(p.to_path_buf());
                let bytes =
                    std::fs::read(p).map_err(|error| ConfigError::Read { source_name: source.clone(), error })?;
                let text = String::from_utf8(bytes).map_err(|_| ConfigError::Syntax {
                    source_name: source.clone(),
                    message: "the file is not UTF-8 text".into(),
                })?;
                (text, source)
            }
        };
        Ok((Self::parse(&text, &source)?, source))
    }

    pub fn parse(text: &str, source: &Source) -> Result<Self, ConfigError> {
        // An empty file is more likely a mistake (a truncated copy, a wrong path) than a wish
        // for the defaults, which `bondsim run` with no config gives.
        if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            return Err(ConfigError::Syntax {
                source_name: source.clone(),
                message: "the file has no settings; to run the baseline, give no config".into(),
            });
        }
        let de = toml::Deserializer::parse(text)
            .map_err(|e| ConfigError::Syntax { source_name: source.clone(), message: one_line(&e.to_string()) })?;
        let experiment: Experiment = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let message = one_line(&e.into_inner().to_string());
            if key == "." {
                ConfigError::Syntax { source_name: source.clone(), message }
            } else {
                ConfigError::Type { source_name: source.clone(), key, message }
            }
        })?;
        let errors = experiment.validate();
        if errors.is_empty() {
            Ok(experiment)
        } else {
            Err(ConfigError::Invalid { source_name: source.clone(), errors })
        }
    }

    /// Every value outside its allowed range.
    pub fn validate(&self) -> Vec<InvalidParam> {
        let mut c = Checker::new("");
        let name = &self.experiment.name;
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
        if !name_ok {
            c.errors.push(InvalidParam {
                key: "experiment.name".into(),
                value: format!("{name:?}"),
                allowed: "must be 1 to 64 letters, digits, '-' or '_' (it names output folders)".into(),
            });
        }
        c.int("population.founders", self.population.founders, 2, 20_000_000);
        c.real("time.tick_days", self.time.tick_days, 0.25, 365.25);
        c.real("time.years", self.time.years, 0.0, 2000.0);
        c.require(self.ticks() >= 1, "time.years", self.time.years, "must last at least one tick (time.tick_days)");
        c.int("record.agents_every_ticks", self.record.agents_every_ticks, 0, 1_000_000);
        c.int("record.checkpoint_every_ticks", self.record.checkpoint_every_ticks, 0, 1_000_000);
        c.int("execution.threads", self.execution.threads, 0, 1024);
        let mut errors = c.errors;
        errors.extend(self.model.validate("model"));
        for (index, intervention) in self.interventions.iter().enumerate() {
            errors.extend(intervention.validate(index));
            if intervention.start_year > self.time.years {
                errors.push(InvalidParam {
                    key: format!("interventions[{index}].start_year"),
                    value: intervention.start_year.to_string(),
                    allowed: format!("must be within the run (time.years = {})", self.time.years),
                });
            }
        }
        errors
    }

    pub fn ticks(&self) -> u64 {
        (self.time.years * 365.25 / self.time.tick_days).round() as u64
    }

    pub fn run_id(&self) -> String {
        format!("{}-s{}", self.experiment.name, self.experiment.seed)
    }

    /// The config as it determines results: everything but the execution settings, as TOML.
    /// This is what goes into the Parquet metadata, so thread counts never change output bytes.
    pub fn resolved_toml(&self) -> String {
        let mut science = self.clone();
        science.execution = ExecutionSection { threads: 0 };
        toml::to_string(&science).expect("config serialises")
    }
}

/// A parser's message on one line, each part cut to a readable length (a line of the file can
/// be megabytes long).
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            if l.chars().count() > 120 {
                format!("{}…", l.chars().take(120).collect::<String>())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Experiment, ConfigError> {
        Experiment::parse(text, &Source::File("x.toml".into()))
    }

    #[test]
    fn the_embedded_baseline_is_valid_and_matches_the_defaults() {
        let baseline = parse(BASELINE_TOML).expect("baseline parses");
        assert_eq!(baseline, Experiment::default());
    }

    #[test]
    fn an_unknown_key_is_named() {
        let err = parse("[population]\nfounders = 10\nfoo = 1\n").unwrap_err().to_string();
        assert!(err.contains("x.toml") && err.contains("foo"), "{err}");
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let err = parse("[time]\ntick_days = \"weekly\"\nyears = 3\n").unwrap_err().to_string();
        assert!(err.contains("time.tick_days"), "{err}");
    }

    #[test]
    fn an_out_of_range_value_names_key_value_and_range() {
        let err = parse("[model.contact]\nmax_bonds = 0\n").unwrap_err().to_string();
        assert!(
            err.contains("model.contact.max_bonds") && err.contains("= 0") && err.contains("from 1 to 150"),
            "{err}"
        );
    }

    #[test]
    fn resolved_config_leaves_out_threads_and_round_trips() {
        let mut e = Experiment::default();
        e.execution.threads = 7;
        let text = e.resolved_toml();
        let back = parse(&text).unwrap();
        assert_eq!(back.execution.threads, 0);
        assert_eq!(back.model, e.model);
    }

    #[test]
    fn an_empty_file_is_refused() {
        let err = parse("\n# only a comment\n").unwrap_err().to_string();
        assert!(err.contains("no settings"), "{err}");
    }
}

/// Config fuzzing: malformed and extreme configs end in an error, never a panic or a hang.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Experiment, ConfigError> {
        Experiment::parse(text, &Source::File("fuzz.toml".into()))
    }

    /// Values a careless or hostile config might hold.
    fn junk_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("nan".to_string()),
            Just("inf".to_string()),
            Just("-inf".to_string()),
            Just("-1".to_string()),
            Just("1e308".to_string()),
            Just("18446744073709551616".to_string()),
            Just("9223372036854775807".to_string()),
            Just("\"text\"".to_string()),
            Just("true".to_string()),
            Just("[]".to_string()),
            Just("[1, 2]".to_string()),
            Just("{ a = 1 }".to_string()),
            Just("1979-05-27T07:32:00Z".to_string()),
            any::<i64>().prop_map(|v| v.to_string()),
            any::<f64>().prop_map(|v| format!("{v:?}")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_text_never_panics(text in "\\PC{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn every_key_of_the_baseline_with_a_junk_value_is_an_error_or_in_range(
            line in 0usize..200, value in junk_value()
        ) {
            let lines: Vec<&str> = BASELINE_TOML.lines().collect();
            let target = line % lines.len();
            let mutated: Vec<String> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| match l.split_once(" = ") {
                    Some((key, _)) if i == target && !l.starts_with('#') => format!("{key} = {value}"),
                    _ => (*l).to_string(),
                })
                .collect();
            match parse(&mutated.join("\n")) {
                Ok(experiment) => prop_assert!(experiment.validate().is_empty()),
                Err(e) => {
                    let message = e.to_string();
                    prop_assert!(message.contains("fuzz.toml") && message.len() < 2000, "{}", message);
                }
            }
        }

        #[test]
        fn dropped_and_duplicated_lines_never_panic(drop in 0usize..200, dup in 0usize..200) {
            let lines: Vec<&str> = BASELINE_TOML.lines().collect();
            let mut mutated: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != drop % lines.len()).map(|(_, l)| *l).collect();
            let copy = mutated[dup % mutated.len()];
            mutated.insert(dup % mutated.len(), copy);
            let _ = parse(&mutated.join("\n"));
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        for text in [
            format!("x = {}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!("[{}]", vec!["a"; 20_000].join(".")),
            format!("x = {}1{}", "{a = ".repeat(20_000), "}".repeat(20_000)),
        ] {
            let message = parse(&text).unwrap_err().to_string();
            assert!(message.len() < 2000, "message of {} bytes", message.len());
        }
    }
}
