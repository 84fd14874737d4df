//! Rows the engine hands to its recorder: plain data, no I/O. `bondsim-io` turns them into
//! Arrow record batches. Events and metrics are rows; a snapshot's agents and bonds, millions of
//! rows at a time, are columns.

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

/// A snapshot table held by column: a vector per column of the dataset's table, every vector
/// one entry per row, and the struct of one row, which `push` appends (and `collect` gathers).
/// The writer hands each column to Arrow as it is (no copy for the numbers), where rows would be
/// read back column by column; and a snapshot's rows are built in parallel pieces that are then
/// joined (`joined`).
macro_rules! snapshot_columns {
    ($(#[$meta:meta])* $name:ident of $row:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: Vec<$ty>,)*
        }

        /// One row of the table.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $row {
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl $name {
            /// Appends a row.
            pub fn push(&mut self, row: $row) {
                $(self.$field.push(row.$field);)*
            }

            /// Room for `rows` rows in every column.
            pub fn with_capacity(rows: usize) -> Self {
                Self { $($field: Vec::with_capacity(rows),)* }
            }

            /// The number of rows (every column has as many).
            pub fn len(&self) -> usize {
                let lens = [$(self.$field.len()),*];
                debug_assert!(lens.iter().all(|&len| len == lens[0]), "columns of one length");
                lens[0]
            }

            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Moves `other`'s rows behind these (without a copy if these are none).
            pub fn append(&mut self, other: &mut Self) {
                if self.is_empty() {
                    std::mem::swap(self, other);
                    return;
                }
                $(self.$field.append(&mut other.$field);)*
            }

            /// `pieces`' rows, one piece after the other, each column copied once.
            pub fn joined(pieces: Vec<Self>) -> Self {
                let mut all = Self::with_capacity(pieces.iter().map(Self::len).sum());
                for piece in &pieces {
                    $(all.$field.extend_from_slice(&piece.$field);)*
                }
                all
            }
        }

        impl FromIterator<$row> for $name {
            fn from_iter<I: IntoIterator<Item = $row>>(rows: I) -> Self {
                let mut columns = Self::default();
                rows.into_iter().for_each(|row| columns.push(row));
                columns
            }
        }
    };
}

snapshot_columns! {
    /// The bonds at a snapshot tick, a row per bond: the edges of the social graph. Their levels
    /// are in the single precision the engine keeps them in (`BondState`), and written so.
    NetworkColumns of NetworkRow {
        tick: i64,
        agent_a: u64,
        agent_b: u64,
        kind: BondKind,
        strength: f32,
        value: f32,
        synchrony: f32,
        /// Contact this tick (hours).
        contact_hours: f32,
        formed_tick: i64,
        bond_age_ticks: i64,
    }
}

snapshot_columns! {
    /// The agents' state at a snapshot tick, a row per agent.
    AgentColumns of AgentRow {
        tick: i64,
        agent: u64,
        sex: Sex,
        birth_tick: i64,
        age_years: f64,
        generation: u32,
        mother: Option<u64>,
        father: Option<u64>,
        oxytocin: f64,
        receptor_density: f64,
        dopamine: f64,
        cortisol: f64,
        allostatic_load: f64,
        gr_sensitivity: f64,
        anxiety: f64,
        avoidance: f64,
        disorganisation: f64,
        prototype_anxiety: f64,
        prototype_avoidance: f64,
        category: Category,
        prototype_category: Category,
        loneliness: f64,
        health: f64,
        caregiving_sensitivity: f64,
        early_care_quality: f64,
        bonds: u32,
        close_bonds: u32,
        partner: Option<u64>,
        bonds_formed: u32,
        bonds_lost: u32,
        bereavements: u32,
        longest_bond_ticks: i64,
        category_age1: Option<Category>,
        category_age18: Option<Category>,
        earned_security: bool,
        children: u32,
    }
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
    pub agents: AgentColumns,
    pub interventions: Vec<InterventionRow>,
    pub network: NetworkColumns,
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
        self.agents.append(&mut other.agents);
        take(&mut self.interventions, &mut other.interventions);
        self.network.append(&mut other.network);
    }
}
