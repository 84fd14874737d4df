//! ECS components: small plain structs, one concern each.

use bevy_ecs::prelude::Component;
use bondsim_model::{Category, Neuro, Sex, WorkingModel};
use petgraph::stable_graph::NodeIndex;
use serde::{Deserialize, Serialize};

/// Who an agent is: stable id (never reused), sex, birth, lineage, and its node in the graph.
#[derive(Component, Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Person {
    pub id: u64,
    pub sex: Sex,
    /// Tick of birth; negative for founders born before the run started.
    pub birth_tick: i64,
    pub generation: u32,
    pub mother: ParentId,
    pub father: ParentId,
    pub node: NodeIndex,
    /// The infant's own offsets to anxiety, avoidance and disorganisation (temperament),
    /// drawn at birth: the part of development that care does not explain.
    pub temperament: [f64; 3],
}

/// A parent's agent id, or none (for a founder): 8 bytes where an `Option<u64>` takes 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentId(u64);

impl ParentId {
    pub const NONE: Self = Self(u64::MAX);

    /// The parent with agent id `id` (ids are counted from 0, so `u64::MAX` is never one).
    pub fn of(id: u64) -> Self {
        assert_ne!(id, u64::MAX, "agent ids stay below u64::MAX");
        Self(id)
    }

    pub fn get(self) -> Option<u64> {
        (self != Self::NONE).then_some(self.0)
    }
}

/// Oxytocin, dopamine and stress physiology.
#[derive(Component, Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Physiology(pub Neuro);

/// The attachment working model (current and prototype).
#[derive(Component, Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Attachment(pub WorkingModel);

/// Felt state that follows from bonds and stress.
#[derive(Component, Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Wellbeing {
    pub loneliness: f64,
    pub health: f64,
}

/// Caregiving given (as a parent) and experience received (as a child, and for life).
#[derive(Component, Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Care {
    /// Sensitivity this agent would give as a caregiver now (0–1).
    pub sensitivity: f64,
    /// The agent's own offset to its caregiving sensitivity (personality, skills, the things
    /// beyond its attachment and stress that make a parent more or less sensitive), drawn at birth.
    pub sensitivity_offset: f64,
    /// Running mean of the care quality received before age 5 (0–1).
    pub early_care_quality: f64,
    /// The agent's own experience outside its modelled bonds, as offsets to the targets of
    /// anxiety and avoidance (0 at birth; drifts, and jumps at negative life events).
    pub experience: [f64; 2],
}

/// The attachment history of an agent.
#[derive(Component, Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct History {
    pub bonds_formed: u32,
    pub bonds_lost: u32,
    pub bereavements: u32,
    /// Ticks fit an `i32`: the config allows at most 2,000 years of 6-hour ticks.
    pub longest_bond_ticks: i32,
    pub category_age1: Option<Category>,
    pub category_age18: Option<Category>,
    pub earned_security: bool,
    pub last_birth_tick: Option<i32>,
    pub children: u32,
}

/// What interventions do to an agent: only on the agents an intervention has reached (absent
/// means no intervention), kept in a sparse set so that adding it leaves the agent's other
/// components where they are.
#[derive(Component, Debug, Clone, Copy, Serialize, Deserialize)]
#[component(storage = "SparseSet")]
pub struct Exposure {
    /// Contact budget multiplier while `tick < isolated_until`.
    pub contact_factor: f64,
    pub isolated_until: i64,
    /// Added to caregiving sensitivity while `tick < supported_until`.
    pub sensitivity_boost: f64,
    pub supported_until: i64,
}

impl Default for Exposure {
    fn default() -> Self {
        Self { contact_factor: 1.0, isolated_until: i64::MIN, sensitivity_boost: 0.0, supported_until: i64::MIN }
    }
}

// A million agents hold a million of each: keep them small.
const _: () = assert!(size_of::<Person>() == 72 && size_of::<History>() == 32);
