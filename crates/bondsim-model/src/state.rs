//! Per-agent and per-bond state. Plain data: the engine stores it, the rules update it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Sex {
    Female,
    Male,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }
}

/// Attachment category derived from the working model (the four classes of the field:
/// secure; anxious/preoccupied/resistant; avoidant/dismissing; fearful/disorganised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Category {
    Secure,
    Anxious,
    Avoidant,
    Disorganised,
}

impl Category {
    pub const ALL: [Category; 4] = [Category::Secure, Category::Anxious, Category::Avoidant, Category::Disorganised];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Secure => "secure",
            Category::Anxious => "anxious",
            Category::Avoidant => "avoidant",
            Category::Disorganised => "disorganised",
        }
    }
}

/// Kind of a bond (an edge of the social graph).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BondKind {
    ParentChild,
    Romantic,
    CloseFriend,
    Friend,
    Acquaintance,
}

impl BondKind {
    pub const ALL: [BondKind; 5] =
        [BondKind::ParentChild, BondKind::Romantic, BondKind::CloseFriend, BondKind::Friend, BondKind::Acquaintance];

    pub fn as_str(self) -> &'static str {
        match self {
            BondKind::ParentChild => "parent_child",
            BondKind::Romantic => "romantic",
            BondKind::CloseFriend => "close_friend",
            BondKind::Friend => "friend",
            BondKind::Acquaintance => "acquaintance",
        }
    }

    /// Kin and partners are not re-classified by strength.
    #[inline]
    pub fn is_chosen(self) -> bool {
        matches!(self, BondKind::CloseFriend | BondKind::Friend | BondKind::Acquaintance)
    }

    /// Weight of the bond in the allocation of contact time and in felt closeness:
    /// attachment bonds (parent–child, partner) weigh most (Feldman 2017: the same
    /// machinery, with the strongest investment in attachment figures).
    #[inline]
    pub fn closeness_weight(self) -> f64 {
        match self {
            BondKind::ParentChild => 1.5,
            BondKind::Romantic => 1.5,
            BondKind::CloseFriend => 1.0,
            BondKind::Friend => 0.6,
            BondKind::Acquaintance => 0.25,
        }
    }
}

/// Neuroendocrine state of an agent. All levels are dimensionless in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Neuro {
    pub oxytocin: f64,
    /// Oxytocin-receptor density, programmed by early care.
    pub receptor_density: f64,
    /// Tonic dopamine.
    pub dopamine: f64,
    pub cortisol: f64,
    pub allostatic_load: f64,
    /// Glucocorticoid-receptor sensitivity: how fast cortisol recovers; programmed by early care.
    pub gr_sensitivity: f64,
}

/// Attachment working model: two continuous scores and a disorganisation marker, with the
/// early prototype kept apart from the current model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WorkingModel {
    pub anxiety: f64,
    pub avoidance: f64,
    pub disorganisation: f64,
    pub prototype_anxiety: f64,
    pub prototype_avoidance: f64,
    pub prototype_disorganisation: f64,
}

impl WorkingModel {
    pub fn new(anxiety: f64, avoidance: f64, disorganisation: f64) -> Self {
        Self {
            anxiety,
            avoidance,
            disorganisation,
            prototype_anxiety: anxiety,
            prototype_avoidance: avoidance,
            prototype_disorganisation: disorganisation,
        }
    }

    /// Insecurity in [0, 1]: the mean of anxiety and avoidance.
    #[inline]
    pub fn insecurity(&self) -> f64 {
        crate::rules::insecurity(self.anxiety, self.avoidance)
    }

    #[inline]
    pub fn category(&self) -> Category {
        crate::rules::categorise(self.anxiety, self.avoidance, self.disorganisation)
    }
}

/// One bond's state. `value` is the learned reward value (the striatal estimate); `synchrony`
/// the synchrony of this tick's contact. Kept to what the rules read: a million agents hold
/// about nine million bonds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BondState {
    pub kind: BondKind,
    pub strength: f32,
    pub value: f32,
    pub synchrony: f32,
    /// Contact this tick (hours).
    pub contact_hours: f32,
    /// Contact summed over the bond's life (hours).
    pub total_contact_hours: f32,
    pub formed_tick: u32,
}

impl BondState {
    pub fn new(kind: BondKind, strength: f64, tick: u32) -> Self {
        let strength = strength as f32;
        Self {
            kind,
            strength,
            value: strength,
            synchrony: 0.0,
            contact_hours: 0.0,
            total_contact_hours: 0.0,
            formed_tick: tick,
        }
    }
}
