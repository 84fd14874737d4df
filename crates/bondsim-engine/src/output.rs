//! Rows the engine hands to its recorder: plain data, no I/O. `bondsim-io` turns them into
//! Arrow record batches.

use bondsim_model::{BondKind, Category, Sex};
use serde::{Deserialize, Serialize};

/// What happened to a bond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BondEventKind {
    Formed,
    Broken,
    Partnered,
    Separated,
    Bereaved,
    /// Ended by a `loss` intervention.
    Lost,
}

impl BondEventKind {
    pub const ALL: [BondEventKind; 6] = [
        BondEventKind::Formed,
        BondEventKind::Broken,
        BondEventKind::Partnered,
        BondEventKind::Separated,
        BondEventKind::Bereaved,
        BondEventKind::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BondEventKind::Formed => "formed",
            BondEventKind::Broken => "broken",
            BondEventKind::Partnered => "partnered",
            BondEventKind::Separated => "separated",
            BondEventKind::Bereaved => "bereaved",
            BondEventKind::Lost => "lost",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BondEventRow {
    pub tick: i64,
    pub event: BondEventKind,
    /// For `bereaved`, the survivor; otherwise the lower id of the pair.
    pub agent_a: u64,
    /// For `bereaved`, the deceased; otherwise the higher id of the pair.
    pub agent_b: u64,
    pub kind: BondKind,
    pub strength: f64,
    pub bond_age_ticks: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BirthRow {
    pub tick: i64,
    pub child: u64,
    pub mother: u64,
    pub father: Option<u64>,
    pub sex: Sex,
    pub generation: u32,
    pub mother_age_years: f64,
    pub mother_sensitivity: f64,
    pub father_sensitivity: Option<f64>,
    pub mother_category: Category,
    pub mother_cortisol: f64,
    pub partner_bond_strength: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeathRow {
    pub tick: i64,
    pub agent: u64,
    pub sex: Sex,
    pub age_years: f64,
    pub generation: u32,
    pub cortisol: f64,
    pub allostatic_load: f64,
    pub loneliness: f64,
    pub health: f64,
    pub bonds: u32,
    pub close_bonds: u32,
    pub hazard_per_year: f64,
}

/// Population aggregates of one tick.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricsRow {
    pub tick: i64,
    pub population: u64,
    pub adults: u64,
    pub births: u64,
    pub deaths: u64,
    pub bonds: u64,
    pub couples: u64,
    pub bonds_formed: u64,
    pub bonds_ended: u64,
    pub mean_bonds_per_agent: f64,
    pub mean_oxytocin: f64,
    pub mean_dopamine: f64,
    pub mean_cortisol: f64,
    pub mean_allostatic_load: f64,
    pub mean_loneliness: f64,
    pub mean_health: f64,
    pub adult_secure_share: f64,
    pub adult_anxious_share: f64,
    pub adult_avoidant_share: f64,
    pub adult_disorganised_share: f64,
    pub max_generation: u32,
}

/// One bond at a snapshot tick: an edge of the social graph. Its levels are in the single
/// precision the engine keeps them in (`BondState`), and written so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkRow {
    pub tick: i64,
    pub agent_a: u64,
    pub agent_b: u64,
    pub kind: BondKind,
    pub strength: f32,
    pub value: f32,
    pub synchrony: f32,
    /// Contact this tick (hours).
    pub contact_hours: f32,
    pub formed_tick: i64,
    pub bond_age_ticks: i64,
}

/// One agent's state at a snapshot tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRow {
    pub tick: i64,
    pub agent: u64,
    pub sex: Sex,
    pub birth_tick: i64,
    pub age_years: f64,
    pub generation: u32,
    pub mother: Option<u64>,
    pub father: Option<u64>,
    pub oxytocin: f64,
    pub receptor_density: f64,
    pub dopamine: f64,
    pub cortisol: f64,
    pub allostatic_load: f64,
    pub gr_sensitivity: f64,
    pub anxiety: f64,
    pub avoidance: f64,
    pub disorganisation: f64,
    pub prototype_anxiety: f64,
    pub prototype_avoidance: f64,
    pub category: Category,
    pub prototype_category: Category,
    pub loneliness: f64,
    pub health: f64,
    pub caregiving_sensitivity: f64,
    pub early_care_quality: f64,
    pub bonds: u32,
    pub close_bonds: u32,
    pub partner: Option<u64>,
    pub bonds_formed: u32,
    pub bonds_lost: u32,
    pub bereavements: u32,
    pub longest_bond_ticks: i64,
    pub category_age1: Option<Category>,
    pub category_age18: Option<Category>,
    pub earned_security: bool,
    pub children: u32,
}

/// An agent affected by an intervention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterventionRow {
    pub tick: i64,
    pub name: String,
    pub kind: bondsim_model::InterventionKind,
    pub agent: u64,
    /// Tick at which the effect ends (exclusive); equal to `tick` for a loss.
    pub until_tick: i64,
}

/// Everything recorded since the last drain.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    pub bond_events: Vec<BondEventRow>,
    pub births: Vec<BirthRow>,
    pub deaths: Vec<DeathRow>,
    pub metrics: Vec<MetricsRow>,
    pub agents: Vec<AgentRow>,
    pub interventions: Vec<InterventionRow>,
    pub network: Vec<NetworkRow>,
}

impl Output {
    /// Moves `other`'s rows behind these, table by table (without a copy where a table here is
    /// empty).
    pub fn append(&mut self, mut other: Output) {
        fn take<T>(into: &mut Vec<T>, from: &mut Vec<T>) {
            if into.is_empty() {
                std::mem::swap(into, from);
            } else {
                into.append(from);
            }
        }
        take(&mut self.bond_events, &mut other.bond_events);
        take(&mut self.births, &mut other.births);
        take(&mut self.deaths, &mut other.deaths);
        take(&mut self.metrics, &mut other.metrics);
        take(&mut self.agents, &mut other.agents);
        take(&mut self.interventions, &mut other.interventions);
        take(&mut self.network, &mut other.network);
    }
}
