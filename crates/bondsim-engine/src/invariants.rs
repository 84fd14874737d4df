//! Invariants of a simulation's state, checked by tests and available to tools: every level
//! finite and in range, the ECS and the graph consistent with the roster, no self-bonds,
//! duplicates or bonds to the dead, the couples' count that of the romantic bonds.

use std::collections::{HashMap, HashSet};

use petgraph::visit::EdgeRef;

use crate::components::{Attachment, Care, Person, Physiology, Wellbeing};
use crate::graph::{NodeAgent, SocialGraph, count_couples};
use crate::sim::{Roster, Simulation};

fn level(name: &str, id: u64, value: f64) -> Result<(), String> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(format!("agent {id}: {name} = {value} is not a level in [0, 1]"))
    }
}

impl Simulation {
    /// Checks the state; the first broken invariant is the error.
    pub fn check_invariants(&self) -> Result<(), String> {
        let world = self.world();
        let roster = world.resource::<Roster>();
        let graph = world.resource::<SocialGraph>();
        // Living agents' nodes, with their birth ticks.
        let mut alive = HashMap::with_capacity(roster.members.len());
        for pair in roster.members.windows(2) {
            if pair[0].id >= pair[1].id {
                return Err(format!("roster not sorted by id at {} and {}", pair[0].id, pair[1].id));
            }
        }
        for m in &roster.members {
            let e = world.get_entity(m.entity).map_err(|_| format!("agent {} has no entity", m.id))?;
            let person = e.get::<Person>().ok_or(format!("agent {} has no Person", m.id))?;
            if person.id != m.id || person.node != m.node || m.id >= roster.next_id {
                return Err(format!("agent {}: roster and components disagree", m.id));
            }
            if graph.graph.node_weight(m.node) != Some(&NodeAgent { entity: m.entity, id: m.id }) {
                return Err(format!("agent {}: graph node {} is not its entity and id", m.id, m.node.index()));
            }
            let n = e.get::<Physiology>().ok_or("no Physiology")?.0;
            for (name, v) in [
                ("oxytocin", n.oxytocin),
                ("receptor_density", n.receptor_density),
                ("dopamine", n.dopamine),
                ("cortisol", n.cortisol),
                ("allostatic_load", n.allostatic_load),
                ("gr_sensitivity", n.gr_sensitivity),
            ] {
                level(name, m.id, v)?;
            }
            let wm = e.get::<Attachment>().ok_or("no Attachment")?.0;
            for (name, v) in [
                ("anxiety", wm.anxiety),
                ("avoidance", wm.avoidance),
                ("disorganisation", wm.disorganisation),
                ("prototype_anxiety", wm.prototype_anxiety),
                ("prototype_avoidance", wm.prototype_avoidance),
                ("prototype_disorganisation", wm.prototype_disorganisation),
            ] {
                level(name, m.id, v)?;
            }
            let wb = e.get::<Wellbeing>().ok_or("no Wellbeing")?;
            level("loneliness", m.id, wb.loneliness)?;
            level("health", m.id, wb.health)?;
            let care = e.get::<Care>().ok_or("no Care")?;
            level("caregiving_sensitivity", m.id, care.sensitivity)?;
            level("early_care_quality", m.id, care.early_care_quality)?;
            // Offsets, not levels: any finite value.
            if !(care.sensitivity_offset.is_finite() && care.experience.iter().all(|e| e.is_finite())) {
                return Err(format!("agent {}: caregiving offset or own experience not finite", m.id));
            }
            alive.insert(m.node, person.birth_tick);
        }
        // The deaths and births draw over every agent in the ECS, the roster orders them: the two
        // must hold the same agents (each roster member was found in the ECS above).
        let in_ecs = world.try_query::<&Person>().map_or(0, |mut q| q.iter(world).count());
        if in_ecs != roster.members.len() {
            return Err(format!("{in_ecs} agents in the ECS for {} in the roster", roster.members.len()));
        }
        if graph.graph.node_count() != roster.members.len() {
            return Err(format!("{} graph nodes for {} living agents", graph.graph.node_count(), roster.members.len()));
        }
        let mut pairs = HashSet::new();
        let mut bonds = 0;
        for (slot, bond) in graph.bonds.iter().enumerate() {
            let Some(bond) = bond else { continue };
            bonds += 1;
            let edge = petgraph::stable_graph::EdgeIndex::new(slot);
            // The bond's ends are its graph edge's: a slot in use must hold an edge.
            let Some((a, b)) = graph.graph.edge_endpoints(edge) else {
                return Err(format!("bond slot {slot} has no graph edge"));
            };
            let (Some(born_a), Some(born_b)) = (alive.get(&a), alive.get(&b)) else {
                return Err(format!("bond slot {slot} has a dead or missing end"));
            };
            let (id_a, id_b) = graph.ids(edge);
            if a == b || id_a >= id_b {
                return Err(format!("bond {id_a}–{id_b} is a self-bond or out of order"));
            }
            if !pairs.insert((id_a, id_b)) {
                return Err(format!("bond {id_a}–{id_b} appears twice"));
            }
            let s = &bond.state;
            // The bond's `a` end is read as the parent: the smaller id must be the older agent.
            if s.kind == bondsim_model::BondKind::ParentChild && born_a >= born_b {
                return Err(format!("parent–child bond {id_a}–{id_b}: the parent end is not the older"));
            }
            for (name, v) in
                [("strength", s.strength), ("value", s.value), ("synchrony", s.synchrony), ("reward", bond.reward)]
            {
                if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                    return Err(format!("bond {id_a}–{id_b}: {name} = {v}"));
                }
            }
            if !(s.contact_hours.is_finite() && s.contact_hours >= 0.0 && s.total_contact_hours >= s.contact_hours) {
                return Err(format!("bond {id_a}–{id_b}: contact hours not finite or above their total"));
            }
        }
        let couples = count_couples(&graph.bonds);
        if couples != graph.couples() {
            return Err(format!("{couples} romantic bonds in the table, {} counted", graph.couples()));
        }
        if bonds != graph.graph.edge_count() {
            return Err(format!("{bonds} bonds in the table for {} graph edges", graph.graph.edge_count()));
        }
        // Every edge of a node leads to a living agent (the graph is undirected: symmetric by
        // type), and the kept degree is the node's number of edges.
        for &node in alive.keys() {
            if graph.degree(node) != graph.graph.edges(node).count() {
                return Err(format!("node {}: kept degree {} is not its edge count", node.index(), graph.degree(node)));
            }
            // The per-agent sums gather bonds in this order; it must be the bond-index order.
            if graph.bonds_of(node).windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!("node {}: its bonds are not in increasing edge-index order", node.index()));
            }
            for e in graph.graph.edges(node) {
                if !alive.contains_key(&e.target()) || !alive.contains_key(&e.source()) {
                    return Err(format!("node {} has an edge to a dead agent", node.index()));
                }
            }
        }
        Ok(())
    }
}
