//! Interventions: experiments change something for a share of the population at a time and let
//! the model respond. Declared in a config as `[[interventions]]` tables.

use serde::{Deserialize, Serialize};

use crate::params::{Checker, InvalidParam};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterventionKind {
    /// Contact budgets cut to `contact_factor` of normal for `duration_years` (a lockdown, a
    /// move, a hospital stay).
    Isolation,
    /// Parents of newborns born during the window get `sensitivity_boost` added to their
    /// caregiving sensitivity until the child is `child_under_years` old (a home-visiting or
    /// parenting programme).
    CaregivingSupport,
    /// At the start, each affected agent loses its strongest close bond (the partner moves away
    /// or is lost), with the stress and working-model effects of a bereavement.
    Loss,
}

impl InterventionKind {
    pub const ALL: [InterventionKind; 3] =
        [InterventionKind::Isolation, InterventionKind::CaregivingSupport, InterventionKind::Loss];

    pub fn as_str(self) -> &'static str {
        match self {
            InterventionKind::Isolation => "isolation",
            InterventionKind::CaregivingSupport => "caregiving_support",
            InterventionKind::Loss => "loss",
        }
    }
}

/// One intervention. Who is affected: each agent in the age range (at the start, or the
/// parents at a birth for caregiving support) with probability `share`, drawn from its own
/// random stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intervention {
    /// Label written with every affected agent in the `interventions` table.
    pub name: String,
    pub kind: InterventionKind,
    /// Start, in years from the start of the run.
    pub start_year: f64,
    /// Length of the window (years); a loss happens once, at the start.
    #[serde(default = "one")]
    pub duration_years: f64,
    /// Share of eligible agents affected (0–1).
    #[serde(default = "one")]
    pub share: f64,
    /// Age range of eligible agents at the start (years).
    #[serde(default)]
    pub min_age_years: f64,
    #[serde(default = "oldest")]
    pub max_age_years: f64,
    /// Isolation only: contact budget multiplier while isolated (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_factor: Option<f64>,
    /// Caregiving support only: added to the parents' caregiving sensitivity (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity_boost: Option<f64>,
    /// Caregiving support only: how long the support lasts after the birth (years).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_under_years: Option<f64>,
}

fn one() -> f64 {
    1.0
}
fn oldest() -> f64 {
    150.0
}

impl Intervention {
    pub fn contact_factor(&self) -> f64 {
        self.contact_factor.unwrap_or(0.2)
    }
    pub fn sensitivity_boost(&self) -> f64 {
        self.sensitivity_boost.unwrap_or(0.2)
    }
    pub fn child_under_years(&self) -> f64 {
        self.child_under_years.unwrap_or(2.0)
    }

    /// Checks ranges and that kind-specific keys are given only for their kind.
    pub fn validate(&self, index: usize) -> Vec<InvalidParam> {
        let mut c = Checker::new(&format!("interventions[{index}]"));
        let name_ok = !self.name.is_empty() && self.name.len() <= 64 && !self.name.chars().any(char::is_control);
        if !name_ok {
            c.errors.push(InvalidParam {
                key: format!("interventions[{index}].name"),
                value: format!("{:?}", self.name),
                allowed: "must be 1 to 64 printable characters".into(),
            });
        }
        c.real("start_year", self.start_year, 0.0, 2000.0);
        c.real("duration_years", self.duration_years, 0.0, 2000.0);
        c.real("share", self.share, 0.0, 1.0);
        c.real("min_age_years", self.min_age_years, 0.0, 150.0);
        c.real("max_age_years", self.max_age_years, 0.0, 150.0);
        c.require(
            self.max_age_years >= self.min_age_years,
            "max_age_years",
            self.max_age_years,
            "must be at least min_age_years",
        );
        let only = |c: &mut Checker, key: &str, value: Option<f64>, kind: InterventionKind, lo: f64, hi: f64| {
            if let Some(v) = value {
                if self.kind == kind {
                    c.real(key, v, lo, hi);
                } else {
                    c.require(false, key, v, &format!("is only for kind = \"{}\"", kind.as_str()));
                }
            }
        };
        only(&mut c, "contact_factor", self.contact_factor, InterventionKind::Isolation, 0.0, 1.0);
        only(&mut c, "sensitivity_boost", self.sensitivity_boost, InterventionKind::CaregivingSupport, 0.0, 1.0);
        only(&mut c, "child_under_years", self.child_under_years, InterventionKind::CaregivingSupport, 0.0, 18.0);
        c.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn isolation() -> Intervention {
        Intervention {
            name: "lockdown".into(),
            kind: InterventionKind::Isolation,
            start_year: 5.0,
            duration_years: 1.0,
            share: 0.5,
            min_age_years: 0.0,
            max_age_years: 150.0,
            contact_factor: Some(0.1),
            sensitivity_boost: None,
            child_under_years: None,
        }
    }

    #[test]
    fn a_valid_intervention_passes() {
        assert_eq!(isolation().validate(0), vec![]);
    }

    #[test]
    fn a_key_of_another_kind_is_refused() {
        let mut i = isolation();
        i.sensitivity_boost = Some(0.3);
        let errors = i.validate(2);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "interventions[2].sensitivity_boost");
        assert!(errors[0].allowed.contains("caregiving_support"));
    }

    #[test]
    fn out_of_range_share_is_refused() {
        let mut i = isolation();
        i.share = 1.5;
        assert_eq!(i.validate(0)[0].key, "interventions[0].share");
    }
}
