//! bondsim-model: the science of bondsim.
//!
//! Parameters ([`Params`]), per-agent and per-bond state ([`state`]) and the pure update rules
//! ([`rules`]) that follow the neurobiological account of attachment (Feldman 2017). No ECS, no
//! I/O, no threads: every rule is a small function, tested against the behaviour it is meant to
//! have. The engine decides when and to whom a rule applies.

pub mod interventions;
pub mod params;
pub mod rules;
pub mod saturation;
pub mod state;

pub use interventions::{Intervention, InterventionKind};
pub use params::{InvalidParam, Params, per_tick};
pub use state::{BondKind, BondState, Category, Neuro, Sex, WorkingModel};
