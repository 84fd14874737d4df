//! The whole state of a simulation as plain data, for checkpoints.
//!
//! A restored simulation continues exactly as the original would have: every random draw is
//! keyed by (seed, purpose, key, tick), so there is no generator state to carry, and the social
//! graph is rebuilt with the same node and edge indices and the same order of free slots (which
//! decides the index the next new agent or bond gets). That is what makes a resumed run
//! byte-identical to an uninterrupted one, whatever tick it was interrupted at.

use bevy_ecs::prelude::*;
use bondsim_model::Params;
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use serde::{Deserialize, Serialize};

use crate::components::{Attachment, Care, Exposure, History, Person, Physiology, Wellbeing};
use crate::graph::{Link, NodeAgent, SocialGraph, count_couples};
use crate::sim::{
    Clock, EngineError, InterventionPlan, Member, ModelParams, PlannedIntervention, Recorder, Roster, Simulation,
    TickTally,
};
use crate::systems;

/// One agent's components.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentState {
    pub person: Person,
    pub physiology: Physiology,
    pub attachment: Attachment,
    pub wellbeing: Wellbeing,
    pub care: Care,
    pub history: History,
    /// Only for an agent an intervention has reached.
    pub exposure: Option<Exposure>,
}

/// Everything needed to continue a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimState {
    pub clock: Clock,
    pub params: Params,
    pub interventions: Vec<PlannedIntervention>,
    pub next_id: u64,
    /// Living agents in id order.
    pub agents: Vec<AgentState>,
    /// Number of graph node slots (used and free).
    pub node_bound: usize,
    /// Free node slots, in the order they will be reused.
    pub free_nodes: Vec<usize>,
    /// The bond table with each bond's ends, indexed by edge index (None: a free slot).
    pub bonds: Vec<Option<Link>>,
    /// Free edge slots, in the order they will be reused.
    pub free_edges: Vec<usize>,
}

impl Simulation {
    /// The state at the end of the current tick.
    pub fn state(&mut self) -> SimState {
        let (free_nodes, free_edges) = self.world_mut().resource_mut::<SocialGraph>().free_slot_order();
        let world = self.world();
        let roster = world.resource::<Roster>();
        let graph = world.resource::<SocialGraph>();
        let agents = roster
            .members
            .iter()
            .map(|m| {
                let e = world.entity(m.entity);
                AgentState {
                    person: *e.get::<Person>().expect("agent"),
                    physiology: *e.get::<Physiology>().expect("agent"),
                    attachment: *e.get::<Attachment>().expect("agent"),
                    wellbeing: *e.get::<Wellbeing>().expect("agent"),
                    care: *e.get::<Care>().expect("agent"),
                    history: *e.get::<History>().expect("agent"),
                    exposure: e.get::<Exposure>().copied(),
                }
            })
            .collect();
        SimState {
            clock: *world.resource::<Clock>(),
            params: world.resource::<ModelParams>().0.clone(),
            interventions: world.resource::<InterventionPlan>().0.clone(),
            next_id: roster.next_id,
            agents,
            node_bound: graph.node_bound(),
            free_nodes,
            bonds: (0..graph.bonds.len()).map(|slot| graph.link(EdgeIndex::new(slot))).collect(),
            free_edges,
        }
    }

    /// A simulation that continues from `state`, on `threads` worker threads.
    pub fn from_state(state: SimState, threads: usize) -> Result<Self, EngineError> {
        let mut world = World::new();
        world.insert_resource(state.clock);
        world.insert_resource(TickTally::default());
        world.insert_resource(Recorder::default());
        world.insert_resource(crate::sim::SnapshotDue::default());
        world.insert_resource(systems::AgentView::default());
        world.insert_resource(systems::SocialField::default());
        world.insert_resource(crate::ages::AgeCurves::new(&state.clock, &state.params));
        world.insert_resource(ModelParams(state.params));
        world.insert_resource(InterventionPlan(state.interventions));

        let ends: Vec<[NodeIndex; 2]> =
            state.bonds.iter().map(|l| l.map_or([NodeIndex::end(); 2], |l| [l.a, l.b])).collect();
        let bonds: Vec<_> = state.bonds.iter().map(|l| l.map(|l| l.bond)).collect();
        // Rebuilt in the simulation's pool (the graph and the bond lists are built side by side).
        let pool = Simulation::thread_pool(threads)?;
        let mut graph = pool.install(|| {
            let couples = count_couples(&bonds);
            SocialGraph::rebuild(state.node_bound, &state.free_nodes, bonds, &ends, &state.free_edges, couples)
        });
        let mut members = Vec::with_capacity(state.agents.len());
        for agent in &state.agents {
            let entity = world
                .spawn((agent.person, agent.physiology, agent.attachment, agent.wellbeing, agent.care, agent.history))
                .id();
            if let Some(exposure) = agent.exposure {
                world.entity_mut(entity).insert(exposure);
            }
            graph.graph[agent.person.node] = NodeAgent { entity, id: agent.person.id };
            members.push(Member::of(entity, &agent.person));
        }
        world.insert_resource(graph);
        world.insert_resource(Roster { members, next_id: state.next_id });
        Ok(Simulation::assemble(world, pool, threads))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use crate::output::Output;

    fn run(sim: &mut Simulation, ticks: usize, out: &mut Vec<Output>) {
        for _ in 0..ticks {
            sim.step();
            out.push(sim.take_output());
        }
    }

    #[test]
    fn a_restored_simulation_continues_exactly_as_the_original() {
        let loss = bondsim_model::Intervention {
            name: "loss".into(),
            kind: bondsim_model::InterventionKind::Loss,
            start_year: 1.0,
            duration_years: 1.0,
            share: 0.3,
            min_age_years: 0.0,
            max_age_years: 150.0,
            contact_factor: None,
            sensitivity_boost: None,
            child_under_years: None,
        };
        // An isolation and a caregiving support under way at the first interruption: the
        // agents they reach carry an `Exposure`, which the others lack.
        let isolation = bondsim_model::Intervention {
            name: "isolation".into(),
            kind: bondsim_model::InterventionKind::Isolation,
            start_year: 0.5,
            duration_years: 1.5,
            share: 0.5,
            contact_factor: Some(0.1),
            ..loss.clone()
        };
        let support = bondsim_model::Intervention {
            name: "support".into(),
            kind: bondsim_model::InterventionKind::CaregivingSupport,
            start_year: 0.5,
            duration_years: 2.0,
            share: 1.0,
            sensitivity_boost: Some(0.3),
            child_under_years: Some(2.0),
            ..loss.clone()
        };
        let settings = Settings {
            seed: 9,
            population: 300,
            tick_days: 7.0,
            snapshot_every_ticks: 10,
            threads: 2,
            interventions: vec![loss, isolation, support],
        };
        let mut original = Vec::new();
        let mut sim = Simulation::new(&settings, Params::default()).unwrap();
        run(&mut sim, 300, &mut original);
        assert!(original.iter().map(|o| o.bond_events.len()).sum::<usize>() > 100);
        assert!(original.iter().map(|o| o.deaths.len()).sum::<usize>() > 0, "deaths free graph slots");

        for interrupt_at in [37, 150] {
            let mut outputs = Vec::new();
            let mut interrupted = Simulation::new(&settings, Params::default()).unwrap();
            run(&mut interrupted, interrupt_at, &mut outputs);
            let saved = interrupted.state();
            drop(interrupted);
            if interrupt_at == 37 {
                let reached = saved.agents.iter().filter(|a| a.exposure.is_some()).count();
                assert!(reached > 0 && reached < saved.agents.len(), "{reached} of {} reached", saved.agents.len());
            }
            let mut resumed = Simulation::from_state(saved, 1).unwrap();
            run(&mut resumed, 300 - interrupt_at, &mut outputs);
            for (tick, (a, b)) in original.iter().zip(&outputs).enumerate() {
                assert!(a == b, "interrupted at {interrupt_at}: tick {} differs", tick + 1);
            }
            assert_eq!(sim.population(), resumed.population());
        }
    }
}
