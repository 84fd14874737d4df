//! The simulation: a bevy_ecs `World`, the tick `Schedule`, and the founding population.

use bevy_ecs::prelude::*;
use bondsim_model::rules::{chosen_kind, unit};
use bondsim_model::{BondKind, BondState, Intervention, Neuro, Params, Sex, WorkingModel};
use petgraph::stable_graph::NodeIndex;
use rand::RngExt;

use crate::components::{Attachment, Care, History, ParentId, Person, Physiology, Wellbeing};
use crate::graph::SocialGraph;
use crate::output::Output;
use crate::rng::{Normal, Purpose, stream};
use crate::systems;

/// What a run needs besides the model parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Master seed of every random stream.
    pub seed: u64,
    /// Founding population size (agents).
    pub population: u32,
    /// Length of a tick (days).
    pub tick_days: f64,
    /// Agent snapshots are recorded when the tick is a multiple of this (ticks); 0 = never.
    pub snapshot_every_ticks: u32,
    /// Worker threads for the parallel phases; results do not depend on it.
    pub threads: usize,
    /// Interventions of the experiment, applied at their times.
    pub interventions: Vec<Intervention>,
}

/// An intervention with its window in ticks: active while `start_tick <= tick < end_tick`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PlannedIntervention {
    pub index: usize,
    pub spec: Intervention,
    pub start_tick: i64,
    pub end_tick: i64,
}

#[derive(Resource, Debug, Default)]
pub struct InterventionPlan(pub Vec<PlannedIntervention>);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("could not start {threads} worker threads: {source}")]
    ThreadPool { threads: usize, source: rayon::ThreadPoolBuildError },
}

/// Simulated time and the run's constants.
#[derive(Resource, Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Clock {
    pub tick: i64,
    pub dt_years: f64,
    /// Weeks in a tick: contact budgets are per week.
    pub weeks_per_tick: f64,
    pub seed: u64,
    pub snapshot_every_ticks: i64,
}

impl Clock {
    pub fn age_years(&self, birth_tick: i64) -> f64 {
        (self.tick - birth_tick) as f64 * self.dt_years
    }
}

#[derive(Resource, Debug, Clone)]
pub struct ModelParams(pub Params);

/// A living agent as the roster lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    pub entity: Entity,
    pub node: NodeIndex,
}

impl Member {
    /// The roster's entry of the agent `entity` holding `person`.
    pub fn of(entity: Entity, person: &Person) -> Self {
        Self { id: person.id, entity, node: person.node }
    }
}

/// Living agents sorted by id: the fixed order of every structural change and of the output.
#[derive(Resource, Debug, Default)]
pub struct Roster {
    pub members: Vec<Member>,
    pub next_id: u64,
}

/// Counts of this tick's events, for the metrics row.
#[derive(Resource, Debug, Default, Clone, Copy)]
pub struct TickTally {
    pub births: u64,
    pub deaths: u64,
    pub bonds_formed: u64,
    pub bonds_ended: u64,
}

/// Rows waiting to be drained by the recorder.
#[derive(Resource, Debug, Default)]
pub struct Recorder(pub Output);

/// Whether this tick's agent snapshot is still to be drained (its rows are built when drained).
#[derive(Resource, Debug, Default)]
pub struct SnapshotDue(pub bool);

/// Members per slice of a snapshot drained at a time: about 4 MB of agent rows and 13 MB of
/// edge-list rows at 18 bonds per agent.
const SNAPSHOT_SLICE_MEMBERS: usize = 16_384;

pub struct Simulation {
    world: World,
    /// The phases of a tick, each with the seconds it has taken over the ticks run here.
    phases: Vec<systems::Phase>,
    pool: rayon::ThreadPool,
    threads: usize,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation").field("tick", &self.tick()).field("population", &self.population()).finish()
    }
}

impl Simulation {
    /// Builds the founding population at tick 0.
    pub fn new(settings: &Settings, params: Params) -> Result<Self, EngineError> {
        let dt_years = settings.tick_days / 365.25;
        let mut world = World::new();
        world.insert_resource(Clock {
            tick: 0,
            dt_years,
            weeks_per_tick: settings.tick_days / 7.0,
            seed: settings.seed,
            snapshot_every_ticks: settings.snapshot_every_ticks.into(),
        });
        world.insert_resource(SocialGraph::default());
        world.insert_resource(Roster::default());
        world.insert_resource(TickTally::default());
        world.insert_resource(Recorder::default());
        world.insert_resource(SnapshotDue::default());
        world.insert_resource(systems::AgentView::default());
        world.insert_resource(systems::SocialField::default());
        world.insert_resource(crate::ages::AgeCurves::new(world.resource::<Clock>(), &params));
        world.insert_resource(ModelParams(params));
        let ticks_of = |years: f64| (years / dt_years).round() as i64;
        world.insert_resource(InterventionPlan(
            settings
                .interventions
                .iter()
                .enumerate()
                .map(|(index, spec)| {
                    let start_tick = ticks_of(spec.start_year).max(1);
                    PlannedIntervention {
                        index,
                        spec: spec.clone(),
                        start_tick,
                        end_tick: start_tick + ticks_of(spec.duration_years),
                    }
                })
                .collect(),
        ));
        let pool = Self::thread_pool(settings.threads)?;
        found_population(&mut world, settings.population);
        Ok(Self::assemble(world, pool, settings.threads))
    }

    /// The simulation's one thread pool: every parallel pass runs in it.
    pub(crate) fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, EngineError> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|source| EngineError::ThreadPool { threads, source })
    }

    /// A simulation around a populated world: its thread pool and the phases of a tick.
    pub(crate) fn assemble(world: World, pool: rayon::ThreadPool, threads: usize) -> Self {
        Self { world, phases: systems::tick_phases(), pool, threads }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs one tick: every phase, in order, each timed. A snapshot of the last tick that was
    /// not drained is built first, into the rows waiting to be taken.
    pub fn step(&mut self) {
        if self.world.resource::<SnapshotDue>().0 {
            let snapshot = self.take_output();
            self.world.insert_resource(Recorder(snapshot));
        }
        let Self { world, phases, pool, .. } = self;
        pool.install(|| phases.iter_mut().for_each(|phase| phase.run(world)));
    }

    /// Wall-clock seconds spent in each phase of a tick, in tick order, over the ticks this
    /// simulation has run (not those before a restored state). For cost reports only: timings
    /// never feed back into the model.
    pub fn phase_seconds(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.phases.iter().map(|phase| (phase.name, phase.seconds))
    }

    /// Runs one phase of the tick on its own, in the simulation's thread pool: for benchmarks
    /// of single phases (`benches/phases.rs`) and for tools. The clock does not move.
    pub fn run_phase<M>(&mut self, phase: impl bevy_ecs::system::IntoSystem<(), (), M> + Send) {
        use bevy_ecs::system::RunSystemOnce;
        let Self { world, pool, .. } = self;
        pool.install(|| world.run_system_once(phase)).expect("a phase of the schedule runs on a built world");
    }

    pub fn tick(&self) -> i64 {
        self.world.resource::<Clock>().tick
    }

    pub fn population(&self) -> usize {
        self.world.resource::<Roster>().members.len()
    }

    pub fn bond_count(&self) -> usize {
        self.world.resource::<SocialGraph>().bond_count()
    }

    /// Rows recorded since the last call, a due snapshot included.
    pub fn take_output(&mut self) -> Output {
        let mut all = Output::default();
        self.drain_output(|rows| {
            all.append(rows);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
        all
    }

    /// Hands the rows recorded since the last call to `sink`: first the tick's events and
    /// metrics, then a due snapshot in slices of the roster (agent rows and edge-list rows in
    /// id order, slice after slice), so that a snapshot of a million agents is never held whole.
    /// The sink runs on the simulation's thread pool, so a writer that works in parallel uses
    /// its threads rather than a pool of its own. Stops at the sink's first error.
    pub fn drain_output<E: Send>(&mut self, mut sink: impl FnMut(Output) -> Result<(), E> + Send) -> Result<(), E> {
        let events = std::mem::take(&mut self.world.resource_mut::<Recorder>().0);
        self.pool.install(|| sink(events))?;
        if !std::mem::take(&mut self.world.resource_mut::<SnapshotDue>().0) {
            return Ok(());
        }
        let clock = *self.world.resource::<Clock>();
        let (world, pool) = (&self.world, &self.pool);
        for slice in world.resource::<Roster>().members.chunks(SNAPSHOT_SLICE_MEMBERS) {
            pool.install(|| {
                let (agents, network) = systems::snapshot_slice(world, clock, slice);
                sink(Output { agents, network, ..Output::default() })
            })?;
        }
        Ok(())
    }

    /// Runs `work` on the simulation's thread pool (for the writer's work between drains).
    pub fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        self.pool.install(work)
    }

    /// Read access for tests and tools that inspect the state directly.
    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }
}

/// Spawns one agent and its graph node; returns its roster entry.
pub(crate) fn spawn_agent(
    world: &mut World,
    person: Person,
    bundle: (Physiology, Attachment, Wellbeing, Care),
) -> Member {
    let entity = world.spawn((person, bundle.0, bundle.1, bundle.2, bundle.3, History::default())).id();
    let node = world.resource_mut::<SocialGraph>().add_agent(entity, person.id);
    world.get_mut::<Person>(entity).expect("just spawned").node = node;
    let member = Member { id: person.id, entity, node };
    world.resource_mut::<Roster>().members.push(member);
    member
}

/// Founders: ages uniform over [0, max_age], working models and receptor levels drawn from the
/// founder distributions, a few age-similar acquaintances each, and a mother among the founders
/// for every founder child.
fn found_population(world: &mut World, size: u32) {
    let clock = *world.resource::<Clock>();
    let params = world.resource::<ModelParams>().0.clone();
    let f = &params.founders;
    let (anx, avo) =
        (Normal::new(f.anxiety_mean, f.working_model_sd), Normal::new(f.avoidance_mean, f.working_model_sd));
    let (disorg, receptor) = (Normal::new(0.0, f.working_model_sd), Normal::new(0.6, 0.1));
    // Founders are numbered from the oldest to the youngest, so that id order is birth order for
    // everyone (later births get later ids): the roster, the ECS tables and the graph's nodes
    // (renumbered in birth order) then list agents in one order, and the bonds of people of
    // similar age sit together. Each founder's draws come from its stream, keyed by its draw
    // number `k`; the first draw is its age.
    let mut by_age: Vec<(f64, u64)> =
        (0..u64::from(size)).map(|k| (stream(clock.seed, Purpose::Founders, k, 0).random::<f64>(), k)).collect();
    by_age.sort_unstable_by(|(u, k), (v, l)| v.total_cmp(u).then(k.cmp(l)));
    for (id, (_, k)) in (0..).zip(by_age) {
        let mut rng = stream(clock.seed, Purpose::Founders, k, 0);
        let age_years = rng.random::<f64>() * f.max_age_years;
        let sex = if rng.random_bool(0.5) { Sex::Female } else { Sex::Male };
        let wm = WorkingModel::new(
            unit(anx.sample(&mut rng)),
            unit(avo.sample(&mut rng)),
            unit(disorg.sample(&mut rng).abs() * 0.5),
        );
        let neuro = Neuro {
            oxytocin: params.neuro.oxytocin_baseline,
            receptor_density: unit(receptor.sample(&mut rng)),
            dopamine: params.neuro.dopamine_baseline,
            cortisol: params.stress.cortisol_baseline,
            allostatic_load: 0.0,
            gr_sensitivity: unit(receptor.sample(&mut rng)).max(0.05),
        };
        let sensitivity_offset = Normal::new(0.0, params.caregiving.sensitivity_sd).sample(&mut rng);
        let person = Person {
            id,
            sex,
            birth_tick: -((age_years / clock.dt_years).round() as i64),
            generation: 0,
            mother: ParentId::NONE,
            father: ParentId::NONE,
            node: NodeIndex::end(),
            temperament: [0.0; 3],
        };
        let bundle = (
            Physiology(neuro),
            Attachment(wm),
            Wellbeing { loneliness: 0.0, health: 1.0 },
            Care {
                sensitivity: params.caregiving.base_sensitivity,
                sensitivity_offset,
                early_care_quality: params.caregiving.base_sensitivity,
                experience: [0.0; 2],
            },
        );
        spawn_agent(world, person, bundle);
    }
    world.resource_mut::<Roster>().next_id = u64::from(size);
    link_founders(world, &params, clock);
}

fn link_founders(world: &mut World, params: &Params, clock: Clock) {
    let members = world.resource::<Roster>().members.clone();
    let mut by_age: Vec<(i64, Member, Sex)> = members
        .iter()
        .map(|m| {
            let p = world.get::<Person>(m.entity).expect("founder");
            (-p.birth_tick, *m, p.sex)
        })
        .collect();
    by_age.sort_by_key(|(age_ticks, m, _)| (*age_ticks, m.id));
    let max_bonds = params.contact.max_bonds as usize;
    let window = 100.min(by_age.len().saturating_sub(1)).max(1);
    let mut graph = world.resource_mut::<SocialGraph>();
    for (rank, &(age_ticks, member, _)) in by_age.iter().enumerate() {
        let mut rng = stream(clock.seed, Purpose::FounderBonds, member.id, 0);
        // A mother for a founder child: a founder woman 18 to 40 years older.
        let age = age_ticks as f64 * clock.dt_years;
        if age < params.life.adult_years {
            let lo = by_age.partition_point(|(a, _, _)| (*a as f64 * clock.dt_years) < age + 18.0);
            let hi = by_age.partition_point(|(a, _, _)| (*a as f64 * clock.dt_years) < age + 40.0);
            for _ in 0..20 {
                if lo >= hi {
                    break;
                }
                let (_, mother, sex) = by_age[rng.random_range(lo..hi)];
                if sex == Sex::Female && graph.degree(mother.node) < max_bonds {
                    graph.add_bond([mother.node, member.node], BondState::new(BondKind::ParentChild, 0.6, 0));
                    break;
                }
            }
        }
        for _ in 0..params.founders.initial_bonds {
            if by_age.len() < 2 {
                break;
            }
            let lo = rank.saturating_sub(window);
            let hi = (rank + window).min(by_age.len() - 1);
            let other = by_age[rng.random_range(lo..=hi)].1;
            if other.id == member.id
                || graph.are_bonded(member.node, other.node)
                || graph.degree(member.node) >= max_bonds
                || graph.degree(other.node) >= max_bonds
            {
                continue;
            }
            let strength = 0.1 + 0.5 * rng.random::<f64>();
            let kind = chosen_kind(strength, &params.bonds);
            graph.add_bond([member.node, other.node], BondState::new(kind, strength, 0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_drains_in_slices_that_make_the_whole_in_order() {
        let founders = SNAPSHOT_SLICE_MEMBERS as u32 + 2_000;
        let settings = Settings {
            seed: 3,
            population: founders,
            tick_days: 7.0,
            snapshot_every_ticks: 2,
            threads: 2,
            interventions: Vec::new(),
        };
        let mut sim = Simulation::new(&settings, Params::default()).expect("thread pool");
        sim.step();
        sim.step();
        // What the snapshot must hold: every living agent once, every bond once, in id order.
        let ids: Vec<u64> = sim.world().resource::<Roster>().members.iter().map(|m| m.id).collect();
        let graph = sim.world().resource::<SocialGraph>();
        let mut pairs: Vec<(u64, u64)> = graph.links().map(|(edge, _)| graph.ids(edge)).collect();
        pairs.sort_unstable();
        let mut drains = Vec::new();
        sim.drain_output(|rows| {
            drains.push(rows);
            Ok::<(), ()>(())
        })
        .expect("no sink error");
        assert_eq!(drains.len(), 3, "the tick's events, then two slices of the roster");
        // Two ticks' metrics rows (nothing was taken after the first).
        assert!(drains[0].agents.is_empty() && drains[0].network.is_empty() && drains[0].metrics.len() == 2);
        let mut all = Output::default();
        drains.into_iter().for_each(|rows| all.append(rows));
        assert_eq!(all.agents.agent, ids);
        assert_eq!(
            all.network.agent_a.iter().copied().zip(all.network.agent_b.iter().copied()).collect::<Vec<_>>(),
            pairs
        );
        assert!(pairs.iter().all(|(a, b)| a < b) && pairs.len() > founders as usize);
        // Drained once: nothing is left, and the next tick has no snapshot.
        assert_eq!(sim.take_output(), Output::default());
        sim.step();
        assert!(sim.take_output().agents.is_empty());
    }

    #[test]
    fn a_snapshot_not_drained_before_the_next_tick_is_kept() {
        let settings = Settings {
            seed: 3,
            population: 500,
            tick_days: 7.0,
            snapshot_every_ticks: 1,
            threads: 1,
            interventions: Vec::new(),
        };
        let mut sim = Simulation::new(&settings, Params::default()).expect("thread pool");
        sim.step();
        sim.step();
        let rows = sim.take_output();
        assert_eq!(rows.metrics.len(), 2);
        let ticks = &rows.agents.tick;
        // Each snapshot holds every agent alive at its tick (the metrics row's population: a
        // founder may die or a child be born in the first ticks).
        for (tick, metrics) in [1, 2].into_iter().zip(&rows.metrics) {
            assert_eq!(metrics.tick, tick);
            assert!(metrics.population > 450, "{metrics:?}");
            let rows_at_tick = ticks.iter().filter(|&&t| t == tick).count() as u64;
            assert_eq!(rows_at_tick, metrics.population, "tick {tick}'s snapshot, whole");
        }
    }
}
