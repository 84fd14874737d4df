//! The phases of a tick, as bevy_ecs systems. [`tick_phases`] reads as the story of a tick.
//!
//! Parallel phases draw their randomness from keyed streams and write only to their own agent
//! or bond; structural changes (new bonds, breaks, deaths, births) are applied afterwards in a
//! fixed order (roster order, bond-index order). Results do not depend on the thread count.

use bevy_ecs::change_detection::ContiguousMut;
use bevy_ecs::prelude::*;
use bondsim_model::params::{LifeParams, per_tick};
use bondsim_model::rules::{self, CaregivingReceived};
use bondsim_model::{BondKind, BondState, Category, InterventionKind, Neuro, Sex, WorkingModel};
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use rand::RngExt;
use rayon::prelude::*;

use crate::ages::{AgeCurves, AgeRow};
use crate::components::{Attachment, Care, Exposure, History, ParentId, Person, Physiology, Wellbeing};
use crate::exact_sum::ExactSum;
use crate::graph::{Bond, Link, SocialGraph};
use crate::output::{
    AgentColumns, AgentRow, BirthRow, BondEventKind, BondEventRow, DeathRow, InterventionRow, MetricsRow,
    NetworkColumns, NetworkRow,
};
use crate::prefetch::prefetch;
use crate::rng::{Normal, Purpose, pair_key, standard_normal, stream};
use crate::sim::{Clock, InterventionPlan, Member, ModelParams, Recorder, Roster, SnapshotDue, TickTally, spawn_agent};

/// The phases of a tick in order (ARCHITECTURE brief, "A tick's phases"), each named after its
/// system: `Simulation::step` runs them one after the other and times each (the manifest's
/// `phase_seconds`).
pub fn tick_phases() -> Vec<Phase> {
    macro_rules! phases {
        ($($system:ident),* $(,)?) => { vec![$(Phase::new(stringify!($system), $system)),*] };
    }
    phases![
        advance_clock,
        renumber_for_locality,
        apply_interventions,
        refresh_agent_view,
        meet_new_people,
        share_contact_time,
        learn_from_contact,
        break_partner_and_update_stress,
        caregiving_and_development,
        apply_deaths,
        apply_births,
        record_tick,
    ]
}

/// One phase of a tick: its name, a schedule holding its one system, and the wall-clock seconds
/// its runs have taken. Each phase's system is a function of its own in the binary
/// (`#[inline(never)]`: one call a tick), so that a profile by function, such as
/// `benches/instructions.rs` reads from callgrind, gives each phase's cost.
pub struct Phase {
    pub name: &'static str,
    schedule: Schedule,
    pub seconds: f64,
}

impl Phase {
    fn new<M>(name: &'static str, system: impl IntoScheduleConfigs<bevy_ecs::system::ScheduleSystem, M>) -> Self {
        let mut schedule = Schedule::default();
        schedule.add_systems(system);
        Self { name, schedule, seconds: 0.0 }
    }

    /// Runs the phase and adds its wall time to `seconds` (for cost reports only: timings never
    /// feed back into the model).
    pub(crate) fn run(&mut self, world: &mut World) {
        let started = std::time::Instant::now();
        self.schedule.run(world);
        self.seconds += started.elapsed().as_secs_f64();
    }
}

/// What the bond phases read about each agent, indexed by graph node: a flat copy so that the
/// parallel passes over bonds never touch the ECS. Half a cache line per agent: the bond passes
/// read two agents' rows for every bond, at places the graph decides. Levels are stored in
/// single precision and read as `f64`.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(32))]
pub struct AgentSlot {
    anxiety: f32,
    avoidance: f32,
    disorganisation: f32,
    cortisol: f32,
    receptor_density: f32,
    sensitivity: f32,
    budget_hours_per_week: f32,
    /// The tick of birth times two, plus one for a woman (the config allows at most about 2.9
    /// million ticks, and founders are born at most 110 years before tick 0: it fits an `i32`).
    born_female: i32,
}

// The row is half a cache line, so two rows share a line; a field more would break that.
const _: () = assert!(size_of::<AgentSlot>() == 32);

impl AgentSlot {
    fn new(attachment: &WorkingModel, physiology: &Neuro, sensitivity: f64, budget: f64, person: &Person) -> Self {
        // Twice a tick still fits: ticks stay within about 2.9 million of 0 (`ticks_i32`).
        let birth_tick = 2 * ticks_i32(person.birth_tick);
        Self {
            anxiety: attachment.anxiety as f32,
            avoidance: attachment.avoidance as f32,
            disorganisation: attachment.disorganisation as f32,
            cortisol: physiology.cortisol as f32,
            receptor_density: physiology.receptor_density as f32,
            sensitivity: sensitivity as f32,
            budget_hours_per_week: budget as f32,
            born_female: birth_tick + i32::from(person.sex == Sex::Female),
        }
    }

    pub fn anxiety(&self) -> f64 {
        f64::from(self.anxiety)
    }

    pub fn avoidance(&self) -> f64 {
        f64::from(self.avoidance)
    }

    pub fn disorganisation(&self) -> f64 {
        f64::from(self.disorganisation)
    }

    /// Insecurity in [0, 1] (`rules::insecurity`, as `WorkingModel::insecurity`).
    pub fn insecurity(&self) -> f64 {
        rules::insecurity(self.anxiety(), self.avoidance())
    }

    pub fn cortisol(&self) -> f64 {
        f64::from(self.cortisol)
    }

    pub fn receptor_density(&self) -> f64 {
        f64::from(self.receptor_density)
    }

    /// Caregiving sensitivity (as a parent).
    pub fn sensitivity(&self) -> f64 {
        f64::from(self.sensitivity)
    }

    /// Social time this agent offers a week, shared among its bonds by contact weight.
    pub fn budget_hours_per_week(&self) -> f64 {
        f64::from(self.budget_hours_per_week)
    }

    pub fn female(&self) -> bool {
        self.born_female & 1 == 1
    }

    pub fn age_years(&self, clock: &Clock) -> f64 {
        clock.age_years(i64::from(self.born_female >> 1))
    }
}

#[derive(Resource, Debug, Default)]
pub struct AgentView {
    pub slots: Vec<AgentSlot>,
}

/// What each agent's bonds add up to this tick, indexed by graph node: summed in double
/// precision (`FieldSums`), stored in single (64 bytes a row; the gather writes one per agent
/// per tick, and the phases after it read them).
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldSlot {
    pub bonds: u32,
    /// Bonds formed this tick (by the encounters: the only bonds formed before the gather),
    /// which `caregiving_and_development` adds to the agent's `History`.
    pub new_bonds: u32,
    /// Parent–child, romantic and close-friend bonds: the support clique.
    pub close_bonds: u32,
    /// The partner's node (the id is the graph's: `SocialGraph::id`).
    pub partner: Option<NodeIndex>,
    /// The age of the agent's oldest bond, in ticks.
    pub longest_bond_ticks: i32,
    pub felt_closeness: f32,
    pub synchronous_hours_per_week: f32,
    pub reward_sum: f32,
    pub partner_strength: f32,
    /// Strongest secure, synchronous close bond: strength × synchrony × partner security.
    pub secure_bond: f32,
    pub care_hours: f32,
    pub care_sensitivity: f32,
    pub care_anxiety: f32,
    pub care_avoidance: f32,
    pub care_fear: f32,
}

const _: () = assert!(size_of::<FieldSlot>() == 64);

/// A `FieldSlot` while an agent's bonds are summed into it.
#[derive(Debug, Default)]
struct FieldSums {
    bonds: u32,
    new_bonds: u32,
    close_bonds: u32,
    partner: Option<NodeIndex>,
    longest_bond_ticks: i64,
    felt_closeness: f64,
    synchronous_hours_per_week: f64,
    reward_sum: f64,
    partner_strength: f64,
    secure_bond: f64,
    care_hours: f64,
    care_sensitivity: f64,
    care_anxiety: f64,
    care_avoidance: f64,
    care_fear: f64,
}

impl FieldSums {
    fn into_slot(self) -> FieldSlot {
        FieldSlot {
            bonds: self.bonds,
            new_bonds: self.new_bonds,
            close_bonds: self.close_bonds,
            partner: self.partner,
            // A bond's age is bounded by the run's ticks, which fit an `i32` (see `AgentSlot`).
            longest_bond_ticks: ticks_i32(self.longest_bond_ticks),
            felt_closeness: self.felt_closeness as f32,
            synchronous_hours_per_week: self.synchronous_hours_per_week as f32,
            reward_sum: self.reward_sum as f32,
            partner_strength: self.partner_strength as f32,
            secure_bond: self.secure_bond as f32,
            care_hours: self.care_hours as f32,
            care_sensitivity: self.care_sensitivity as f32,
            care_anxiety: self.care_anxiety as f32,
            care_avoidance: self.care_avoidance as f32,
            care_fear: self.care_fear as f32,
        }
    }
}

#[derive(Resource, Debug, Default)]
pub struct SocialField {
    pub slots: Vec<FieldSlot>,
    /// Eight bytes per node with two uses in a tick, like `words` per bond: each agent's contact
    /// weights summed over its bonds (apart from the slots, so that the bond pass reads 8 bytes
    /// per partner), which the bond pass divides by; then, for the gather after it, the agent's
    /// security as a partner, 1 − (anxiety + avoidance) / 2, which the gather reads for each
    /// confidant and romantic bond from this small array instead of the partner's row.
    pub per_node: Vec<f64>,
    /// The novelty part of contact weights by bond age in ticks (`novelty_table`).
    pub novelty: Vec<f64>,
    /// A word per edge slot (`BondWord`): each bond's contact weight this tick, computed once and
    /// read by the per-agent sums and by the bond pass, which writes the bond's ends in its place
    /// for the gather after it.
    pub words: Vec<BondWord>,
    /// Who could start a couple this tick, a byte per node, set by `decide_fates` from the view
    /// and the slots; `apply_fates` marks both partners of each couple it forms `No`, so that
    /// neither forms another this tick.
    pub singles: Vec<Single>,
    /// The bonds each agent lost to this tick's fates, by node, counted by `apply_fates` and
    /// added to the agent's `History` by `caregiving_and_development`, in parallel, instead
    /// of a lookup by entity for both ends of each ended bond in the fates' serial pass.
    pub bonds_lost: Vec<u32>,
    /// Who dies this tick, with their hazard per year: drawn by the stress update right after
    /// each agent's allostatic load (`update_stress`, in no particular order), applied by
    /// `apply_deaths` (in id order), which takes them.
    pub dying: Vec<(Member, f64)>,
    /// The women whose draw gives a birth this tick if they still have a partner when the births
    /// come: drawn by `caregiving_and_development` (`conceives`, in no particular order), taken
    /// by `apply_births`, which keeps those alive and partnered then and gives the births in id
    /// order.
    pub conceiving: Vec<Member>,
}

/// Four bytes per edge slot with two uses in a tick, so that the second costs no memory: the
/// bond's contact weight (single precision, like the bond) from `share_contact_time` until the
/// bond pass reads it; then the bond's ends, coded so that either end finds the other without
/// reading petgraph's edge (a random read, then one more for the other's row), for the gather.
/// The code is the two node indices' exclusive or, with the top bit set when `a` is the lower
/// index; node indices stay below 2^31 (a graph that large would not fit in memory).
#[derive(Debug, Clone, Copy, Default)]
pub struct BondWord(u32);

impl BondWord {
    const LOWER_A: u32 = 1 << 31;

    fn weight(w: f32) -> Self {
        Self(w.to_bits())
    }

    /// The contact weight (before the bond pass).
    fn as_weight(self) -> f32 {
        f32::from_bits(self.0)
    }

    fn ends(a: NodeIndex, b: NodeIndex) -> Self {
        let (ia, ib) = (a.index() as u32, b.index() as u32);
        assert!((ia | ib) < Self::LOWER_A, "node indices stay below 2^31");
        Self((ia ^ ib) | if ia < ib { Self::LOWER_A } else { 0 })
    }

    /// The other end and the `a` end, seen from `me` (after the bond pass).
    fn other_and_a(self, me: NodeIndex) -> (NodeIndex, NodeIndex) {
        let other = NodeIndex::new(((self.0 & !Self::LOWER_A) ^ me.index() as u32) as usize);
        let a = if (self.0 & Self::LOWER_A != 0) == (me < other) { me } else { other };
        (other, a)
    }
}

/// Why the per-agent phases' queries iterate as slices, table by table (`contiguous_iter_mut`):
/// every component they read or write is stored in tables (only `Exposure` is a sparse set).
const DENSE: &str = "the agents' components other than Exposure are stored in tables";

/// How far ahead the learning phase asks for what it will read at random (`prefetch`): the
/// second partner's row and weight sum this many bonds ahead in the bond pass, an agent's bonds
/// and their words this many agents ahead in the per-agent gather.
const AHEAD_BONDS: usize = 16;
const AHEAD_AGENTS: usize = 2;

/// Bonds per block of the learning pass's stages (`learn_from_contact`).
const LEARN_BLOCK: usize = rules::LEARN_BLOCK;

/// Asks for the entries of `table` (indexed by edge slot: the bonds, or their words) that the
/// bonds of `node` will read (none past the last node): they sit at random places.
fn prefetch_bonds_of<T>(graph: &SocialGraph, node: NodeIndex, table: &[T]) {
    for edge in graph.bonds_of(node) {
        if let Some(entry) = table.get(edge.index()) {
            prefetch(entry);
        }
    }
}

/// How far ahead a serial pass of structural changes (bonds added, bonds ended) asks for the
/// nodes its changes touch, and how far for their bond lists.
const CHANGE_AHEAD_NODES: usize = 8;
const CHANGE_AHEAD_LISTS: usize = 4;

/// Asks ahead for what the serial pass at change `i` will touch (`pair(j)`: the two nodes of its
/// `j`-th change): the nodes (ids, and the heads of petgraph's lists an edge is added to or
/// removed from) and where their bond lists are kept, then, nearer, once those have come, the
/// lists themselves. The changes sit at random places; applied one after another in a fixed
/// order (for determinism), each would otherwise wait on its reads in turn.
fn prefetch_changes_ahead(graph: &SocialGraph, i: usize, pair: impl Fn(usize) -> Option<(NodeIndex, NodeIndex)>) {
    if let Some((a, b)) = pair(i + CHANGE_AHEAD_NODES) {
        for node in [a, b] {
            graph.prefetch_node(node);
            graph.prefetch_list(node);
        }
    }
    if let Some((a, b)) = pair(i + CHANGE_AHEAD_LISTS) {
        for node in [a, b] {
            graph.prefetch_list_entries(node);
        }
    }
}

/// A tick count or tick as an `i32`: the config allows at most 2,000 years of 6-hour ticks
/// (about 2.9 million), and founders are born at most 110 years before tick 0.
fn ticks_i32(ticks: i64) -> i32 {
    i32::try_from(ticks).expect("ticks fit an i32: the config allows at most 2,000 years of 6-hour ticks")
}

/// The smaller of two numbers, neither of them NaN: a compare and a select, where `f64::min`
/// also tests both for NaN (five more instructions on the bond pass's path, once per bond).
/// Equal numbers are the same bits here (the offers are never −0), so which is returned does
/// not matter.
#[inline]
fn smaller(x: f64, y: f64) -> f64 {
    debug_assert!(!x.is_nan() && !y.is_nan(), "smaller({x}, {y})");
    if y < x { y } else { x }
}

fn is_close(kind: BondKind) -> bool {
    matches!(kind, BondKind::ParentChild | BondKind::Romantic | BondKind::CloseFriend)
}

/// The tick begins: the clock moves on a tick and the tick's tally starts from zero.
#[inline(never)]
pub fn advance_clock(mut clock: ResMut<Clock>, mut tally: ResMut<TickTally>) {
    clock.tick += 1;
    *tally = TickTally::default();
}

/// How often the graph is renumbered for locality (ticks; from the first tick on).
pub const RENUMBER_EVERY_TICKS: i64 = 13;

/// Every [`RENUMBER_EVERY_TICKS`] ticks, graph nodes are renumbered in roster order, which is
/// birth order, and bonds stored by their endpoints: bonds link people of similar age and friends of
/// friends, so an agent's bonds and its partners' rows then sit close in memory, which the bond
/// phases read at random otherwise (docs/PERFORMANCE.md). Births, deaths and new bonds reuse
/// free slots in between and scatter them again. Only the storage order changes; it is part of
/// the state (a checkpoint keeps it), so resumed runs renumber at the same ticks.
#[inline(never)]
pub fn renumber_for_locality(
    clock: Res<Clock>,
    mut roster: ResMut<Roster>,
    mut graph: ResMut<SocialGraph>,
    mut view: ResMut<AgentView>,
    mut field: ResMut<SocialField>,
    mut people: Query<&mut Person>,
) {
    if (clock.tick - 1) % RENUMBER_EVERY_TICKS != 0 {
        return;
    }
    // The last tick's per-node and per-bond rows are indexed by the slots renumbering replaces,
    // and each is made again before it is read this tick (as after a restore, which starts
    // without them): given back first, they leave room for the renumbering's own copies (at a
    // million agents about 140 MB against its 110 MB of moves and the new bond table).
    view.slots = Vec::new();
    let novelty = std::mem::take(&mut field.novelty);
    *field = SocialField { novelty, ..SocialField::default() };
    // The roster is in id order, which is birth order (founders are numbered from the oldest).
    let order: Vec<NodeIndex> = roster.members.iter().map(|m| m.node).collect();
    // The renumbering before this one, if any (a checkpoint keeps the bond slots, so a resumed
    // run still has that order).
    let last = clock.tick - RENUMBER_EVERY_TICKS;
    let sorted_before = (last >= 1).then(|| u32::try_from(last).expect("ticks fit a bond's formed tick"));
    let new_of = graph.renumber(&order, sorted_before);
    for m in &mut roster.members {
        m.node = new_of[m.node.index()];
        if let Ok(mut person) = people.get_mut(m.entity) {
            person.node = m.node;
        }
    }
}

/// An agent's `Exposure`, added at its defaults if no intervention had reached it yet; `None` if
/// the agent is gone.
fn exposure_mut(world: &mut World, entity: Entity) -> Option<Mut<'_, Exposure>> {
    let mut agent = world.get_entity_mut(entity).ok()?;
    if !agent.contains::<Exposure>() {
        agent.insert(Exposure::default());
    }
    world.get_mut::<Exposure>(entity)
}

/// Interventions that start this tick: isolation and loss select their agents now (each eligible
/// agent with probability `share`, from its own stream); caregiving support selects parents at
/// births during its window (see `give_birth`).
#[inline(never)]
pub fn apply_interventions(world: &mut World) {
    let clock = *world.resource::<Clock>();
    let starting: Vec<_> =
        world.resource::<InterventionPlan>().0.iter().filter(|i| i.start_tick == clock.tick).cloned().collect();
    if starting.is_empty() {
        return;
    }
    let params = world.resource::<ModelParams>().0.clone();
    let members = world.resource::<Roster>().members.clone();
    for planned in starting {
        let spec = &planned.spec;
        if spec.kind == InterventionKind::CaregivingSupport {
            continue;
        }
        for m in &members {
            let Some(person) = world.get::<Person>(m.entity) else { continue };
            let age = clock.age_years(person.birth_tick);
            let mut rng = stream(clock.seed, Purpose::Intervention, m.id, planned.index as u64);
            if age < spec.min_age_years || age > spec.max_age_years || rng.random::<f64>() >= spec.share {
                continue;
            }
            let until_tick = match spec.kind {
                InterventionKind::Isolation => {
                    if let Some(mut exposure) = exposure_mut(world, m.entity) {
                        exposure.contact_factor = spec.contact_factor();
                        exposure.isolated_until = planned.end_tick;
                    }
                    planned.end_tick
                }
                InterventionKind::Loss => {
                    lose_strongest_close_bond(world, *m, &params, clock);
                    clock.tick
                }
                InterventionKind::CaregivingSupport => unreachable!("selected at births"),
            };
            world.resource_mut::<Recorder>().0.interventions.push(InterventionRow {
                tick: clock.tick,
                name: spec.name.clone(),
                kind: spec.kind,
                agent: m.id,
                until_tick,
            });
        }
    }
}

/// A loss: the agent's strongest close bond ends, with the effects of a bereavement on the agent.
fn lose_strongest_close_bond(world: &mut World, member: Member, params: &bondsim_model::Params, clock: Clock) {
    let graph = world.resource::<SocialGraph>();
    let strongest = graph
        .bonds_of(member.node)
        .iter()
        .filter_map(|&e| graph.bonds[e.index()].map(|b| (e, b)))
        .filter(|(_, b)| is_close(b.state.kind))
        .max_by(|(ea, a), (eb, b)| a.state.strength.total_cmp(&b.state.strength).then(eb.cmp(ea)));
    let Some((edge, _)) = strongest else { return };
    let Some(link) = world.resource_mut::<SocialGraph>().remove_bond(edge) else { return };
    let (other_node, bond) = (link.other(member.node), link.bond);
    let other = world.resource::<SocialGraph>().entity(other_node);
    let other_id = world.resource::<SocialGraph>().id(other_node);
    bereave(world, member.entity, &bond.state, params, clock);
    if let Some(mut history) = world.get_mut::<History>(other) {
        history.bonds_lost += 1;
    }
    world.resource_mut::<TickTally>().bonds_ended += 1;
    world.resource_mut::<Recorder>().0.bond_events.push(BondEventRow {
        tick: clock.tick,
        event: BondEventKind::Lost,
        agent_a: member.id,
        agent_b: other_id,
        kind: bond.state.kind,
        strength: f64::from(bond.state.strength),
        bond_age_ticks: clock.tick - i64::from(bond.state.formed_tick),
    });
}

/// Caregiving support active at a birth: each parent in the age range is supported with
/// probability `share`.
fn support_parents(world: &mut World, parents: [(Member, f64); 2], clock: Clock) {
    let active: Vec<_> = world
        .resource::<InterventionPlan>()
        .0
        .iter()
        .filter(|i| {
            i.spec.kind == InterventionKind::CaregivingSupport && i.start_tick <= clock.tick && clock.tick < i.end_tick
        })
        .cloned()
        .collect();
    for planned in active {
        let spec = &planned.spec;
        for (parent, age) in parents {
            let mut rng =
                stream(clock.seed, Purpose::Intervention, parent.id, (planned.index as u64) << 32 | clock.tick as u64);
            if age < spec.min_age_years || age > spec.max_age_years || rng.random::<f64>() >= spec.share {
                continue;
            }
            let until_tick = clock.tick + (spec.child_under_years() / clock.dt_years).round() as i64;
            if let Some(mut exposure) = exposure_mut(world, parent.entity) {
                exposure.sensitivity_boost = spec.sensitivity_boost();
                exposure.supported_until = until_tick;
            }
            world.resource_mut::<Recorder>().0.interventions.push(InterventionRow {
                tick: clock.tick,
                name: spec.name.clone(),
                kind: spec.kind,
                agent: parent.id,
                until_tick,
            });
        }
    }
}

#[inline(never)]
pub fn refresh_agent_view(
    agents: Query<(&Person, &Physiology, &Attachment, &Care)>,
    exposed: Query<(&Person, &Exposure)>,
    clock: Res<Clock>,
    params: Res<ModelParams>,
    graph: Res<SocialGraph>,
    mut view: ResMut<AgentView>,
) {
    let view = &mut *view;
    // Every living agent's row is written below; a free node's row keeps what it held (no bond
    // has an end there and no member is there, so nothing reads it): not cleared first.
    view.slots.resize(graph.node_bound(), AgentSlot::default());
    let budget = params.0.contact.weekly_social_hours;
    // Each of rayon's threads fills one range of nodes: it reads every agent's node and the rest
    // of the rows only for its own range (the tables hold the agents nearly in node order, so
    // that is mostly its own part of the tables). Each row is written once, by one thread: the
    // same view at any thread count.
    let tables: Vec<_> = agents.contiguous_iter().expect(DENSE).collect();
    let part = view.slots.len().div_ceil(rayon::current_num_threads()).max(1);
    view.slots.par_chunks_mut(part).enumerate().for_each(|(i, range)| {
        let first = i * part;
        for &(people, physiology, attachments, care) in &tables {
            for (((person, physiology), attachment), care) in people.iter().zip(physiology).zip(attachments).zip(care) {
                let Some(slot) = person.node.index().checked_sub(first).and_then(|j| range.get_mut(j)) else {
                    continue;
                };
                *slot = AgentSlot::new(&attachment.0, &physiology.0, care.sensitivity, budget, person);
            }
        }
    });
    // Isolation cuts the budget of the few agents an intervention has reached (`Exposure`, a
    // sparse set): looked up for them alone, not tested for every agent.
    for (person, exposure) in &exposed {
        if clock.tick < exposure.isolated_until {
            view.slots[person.node.index()].budget_hours_per_week = (budget * exposure.contact_factor) as f32;
        }
    }
}

/// A proposed encounter: the two ids (smaller first) and their nodes.
type Proposal = (u64, u64, NodeIndex, NodeIndex);

/// Agents whose encounters are drawn together, a stage at a time (`EncounterDraw::propose`).
const ENCOUNTER_BATCH: usize = 64;

/// An agent's encounter while it is drawn: its stream, and the node it has reached.
struct Encounter<'a> {
    member: &'a Member,
    rng: rand_pcg::Pcg64Mcg,
    through_friend: bool,
    /// On a walk through a friend, the bond drawn at the node reached (the walk's next step is
    /// its other end).
    bond: Option<EdgeIndex>,
    /// Where the encounter has got to: on a walk through a friend the agent itself, then the
    /// friend, then the one met; at random, the one met. `None` once the encounter is dropped.
    node: Option<NodeIndex>,
}

/// What drawing an encounter reads (`meet_new_people`).
struct EncounterDraw<'a> {
    clock: &'a Clock,
    p: &'a bondsim_model::params::ContactParams,
    graph: &'a SocialGraph,
    slots: &'a [AgentSlot],
    members: &'a [Member],
    child_chance: f64,
    adult_chance: f64,
    max_bonds: usize,
}

impl<'a> EncounterDraw<'a> {
    /// The encounters of a batch of agents. A walk through a friend to a friend's friend is a
    /// chain of reads at places the graph decides (the agent's bonds, the drawn bond's ends, the
    /// friend's list and bonds, the other bond's ends, then the one met's row and list), each
    /// waiting for the one before: drawn agent by agent, the processor would wait on each in
    /// turn. Drawn a stage at a time over the batch, the reads of different agents overlap, and
    /// each stage asks ahead for what the next reads. Each agent's draws come from its own
    /// stream in the same order as one agent at a time, so the proposals are the same.
    fn propose(&self, chunk: &'a [Member], batch: &mut Vec<Encounter<'a>>, proposals: &mut Vec<Proposal>) {
        let (clock, p, graph) = (self.clock, self.p, self.graph);
        batch.clear();
        for member in chunk {
            let me = &self.slots[member.node.index()];
            let my_age = me.age_years(clock);
            if my_age < 3.0 {
                continue;
            }
            // An agent at the most bonds can form none: its encounter would be dropped below, so
            // it is not drawn (its stream serves nothing else).
            let degree = graph.degree(member.node);
            if degree >= self.max_bonds {
                continue;
            }
            let chance = if my_age < 12.0 { self.child_chance } else { self.adult_chance };
            let mut rng = stream(clock.seed, Purpose::Encounter, member.id, clock.tick as u64);
            if rng.random::<f64>() >= chance {
                continue;
            }
            // Triadic closure through close bonds: a bond drawn by strength, then one of its
            // bonds by strength. Neighbours in edge-index order, not petgraph's adjacency order,
            // which depends on insertion history and is not kept by a checkpoint.
            let through_friend = degree > 0 && rng.random::<f64>() < p.friend_of_friend_share;
            let node = if through_friend {
                prefetch_bonds_of(graph, member.node, &graph.bonds);
                member.node
            } else {
                self.members[rng.random_range(0..self.members.len())].node
            };
            batch.push(Encounter { member, rng, through_friend, bond: None, node: Some(node) });
        }
        // Each step of a walk draws a bond, then reads its other end: the other ends of the
        // batch's bonds are read in a loop of their own, where those reads overlap.
        let step = |batch: &mut Vec<Encounter<'a>>| {
            for e in batch.iter_mut().filter(|e| e.through_friend) {
                e.bond = e.node.and_then(|node| graph.bond_by_strength(node, e.rng.random::<f64>()));
            }
            for e in batch.iter_mut().filter(|e| e.through_friend) {
                e.node = e.node.zip(e.bond).map(|(node, bond)| graph.other_end(bond, node));
            }
        };
        step(batch);
        // The friends' bonds asked for in three loops, each reading what the one before asked
        // for: where each list is kept, the list, then the bonds it names.
        for e in batch.iter().filter(|e| e.through_friend) {
            e.node.inspect(|&friend| graph.prefetch_list(friend));
        }
        for e in batch.iter().filter(|e| e.through_friend) {
            e.node.inspect(|&friend| graph.prefetch_list_entries(friend));
        }
        for e in batch.iter().filter(|e| e.through_friend) {
            e.node.inspect(|&friend| prefetch_bonds_of(graph, friend, &graph.bonds));
        }
        step(batch);
        for e in batch.iter() {
            if let Some(other) = e.node {
                prefetch(&self.slots[other.index()]);
                graph.prefetch_list(other);
            }
        }
        proposals.extend(batch.iter_mut().filter_map(|e| self.meet(e)));
    }

    /// The rest of an encounter, once the one met is known: age homophily on both paths (people
    /// befriend people of about their age), openness, and room for the bond.
    fn meet(&self, e: &mut Encounter<'_>) -> Option<Proposal> {
        let (clock, p, graph) = (self.clock, self.p, self.graph);
        let (m, other) = (e.member, e.node?);
        let (me, them) = (&self.slots[m.node.index()], &self.slots[other.index()]);
        let their_age = them.age_years(clock);
        let age_gap = (their_age - me.age_years(clock)).abs();
        if e.rng.random::<f64>() >= libm::pow(0.5, age_gap / p.age_similarity_years) {
            return None;
        }
        let openness = 1.0 - 0.25 * (me.avoidance() + them.avoidance());
        if other == m.node || their_age < 3.0 || e.rng.random::<f64>() >= openness {
            return None;
        }
        // Pairs already bonded, or met by an agent already at the most bonds, are dropped here:
        // the serial pass of `meet_new_people` only adds bonds, one per distinct pair, so what
        // holds of a pair now holds when its turn comes (the pass checks the degrees again, as
        // the bonds it adds raise them).
        if graph.degree(other) >= self.max_bonds || graph.are_bonded(m.node, other) {
            return None;
        }
        let their_id = graph.id(other);
        Some(if m.id < their_id { (m.id, their_id, m.node, other) } else { (their_id, m.id, other, m.node) })
    }
}

/// Encounters: each agent may meet someone this tick, through a friend's friend or at random
/// with a preference for similar age; avoidant people accept fewer new contacts. Infants meet
/// no one: their social world is their caregivers. A meeting between two agents with room for
/// another bond forms an acquaintance bond (claim 4: contact first, bond after).
#[inline(never)]
pub fn meet_new_people(
    clock: Res<Clock>,
    params: Res<ModelParams>,
    roster: Res<Roster>,
    view: Res<AgentView>,
    mut graph: ResMut<SocialGraph>,
    mut tally: ResMut<TickTally>,
    mut recorder: ResMut<Recorder>,
) {
    let p = &params.0.contact;
    let (members, slots) = (&roster.members, &view.slots);
    let shared_graph = &*graph;
    // The chance of an encounter this tick, for children and for everyone else.
    let child_chance = per_tick(p.encounters_per_year * p.child_encounter_share, clock.dt_years);
    let adult_chance = per_tick(p.encounters_per_year, clock.dt_years);
    let max_bonds = p.max_bonds as usize;
    let draw =
        EncounterDraw { clock: &clock, p, graph: shared_graph, slots, members, child_chance, adult_chance, max_bonds };
    // Batches of agents in parallel, each thread reusing its batch; the proposals come in an
    // order that depends on the threads' shares, and are sorted below.
    let mut proposals: Vec<Proposal> = members
        .par_chunks(ENCOUNTER_BATCH)
        .fold(
            || (Vec::with_capacity(ENCOUNTER_BATCH), Vec::new()),
            |(mut batch, mut proposals), chunk| {
                draw.propose(chunk, &mut batch, &mut proposals);
                (batch, proposals)
            },
        )
        .flat_map_iter(|(_, proposals)| proposals)
        .collect();
    proposals.sort_unstable();
    proposals.dedup_by_key(|(a, b, _, _)| (*a, *b));
    let strength = params.0.bonds.initial_strength;
    for (i, &(id_a, id_b, a, b)) in proposals.iter().enumerate() {
        prefetch_changes_ahead(&graph, i, |j| proposals.get(j).map(|&(_, _, a, b)| (a, b)));
        if graph.degree(a) >= max_bonds || graph.degree(b) >= max_bonds {
            continue;
        }
        // Each partner's `History::bonds_formed` counts the bond in `caregiving_and_development`
        // (from the gather's `new_bonds`), in parallel, not here by entity.
        graph.add_bond([a, b], BondState::new(BondKind::Acquaintance, strength, clock.tick as u32));
        tally.bonds_formed += 1;
        recorder.0.bond_events.push(BondEventRow {
            tick: clock.tick,
            event: BondEventKind::Formed,
            agent_a: id_a,
            agent_b: id_b,
            kind: BondKind::Acquaintance,
            strength,
            bond_age_ticks: 0,
        });
    }
}

/// Each agent's weekly contact budget is shared among its bonds in proportion to their contact
/// weights (kind, strength, novelty): this phase sums each agent's weights, which the next
/// phase divides by.
#[inline(never)]
pub fn share_contact_time(
    clock: Res<Clock>,
    params: Res<ModelParams>,
    graph: Res<SocialGraph>,
    view: Res<AgentView>,
    mut field: ResMut<SocialField>,
) {
    let field = &mut *field;
    let p = &params.0.bonds;
    let clock = *clock;
    if field.novelty.is_empty() {
        field.novelty = novelty_table(&clock, p);
    }
    let novelty = &field.novelty;
    graph
        .bonds
        .par_iter()
        .map(|bond| {
            let weight = bond.as_ref().map_or(0.0, |b| {
                let age_ticks = (clock.tick - i64::from(b.state.formed_tick)) as usize;
                let novelty = novelty.get(age_ticks).copied().unwrap_or_else(|| {
                    rules::novelty((clock.tick - i64::from(b.state.formed_tick)) as f64 * clock.dt_years, p)
                });
                rules::contact_weight(b.state.kind, f64::from(b.state.strength), novelty) as f32
            });
            BondWord::weight(weight)
        })
        .collect_into_vec(&mut field.words);
    // Sized for the gather, which writes every row before any is read: not cleared first.
    field.slots.resize(view.slots.len(), FieldSlot::default());
    // Each agent gathers its own bonds' weights, in edge-index order (its adjacency is sorted):
    // parallel over agents, and the same sums, to the bit, as adding bond by bond.
    let words = &field.words;
    (0..view.slots.len())
        .into_par_iter()
        .map(|node| graph.bonds_of(NodeIndex::new(node)).iter().map(|e| f64::from(words[e.index()].as_weight())).sum())
        .collect_into_vec(&mut field.per_node);
}

/// The novelty part of the contact weight for each bond age from 0 to 16,383 ticks (older bonds
/// compute it): the same values, to the bit, as computing them, without an `exp` per bond and
/// tick. The clock's step and the parameters are fixed for a run.
fn novelty_table(clock: &Clock, p: &bondsim_model::params::BondParams) -> Vec<f64> {
    (0..16_384u32).map(|ticks| rules::novelty(f64::from(ticks) * clock.dt_years, p)).collect()
}

/// One parallel pass over the bond table (claims 4, 5 and 6): a bond gets the smaller of its two
/// partners' offers of contact time; synchrony in that contact follows both partners' state and
/// the bond's history; oxytocin-gated reward and the dopamine prediction error update the
/// bond's value and strength; chosen bonds move between layers by strength (claim 3). Then each
/// agent's bonds are summed into its social field, in bond-index order.
#[inline(never)]
pub fn learn_from_contact(
    clock: Res<Clock>,
    params: Res<ModelParams>,
    view: Res<AgentView>,
    mut graph: ResMut<SocialGraph>,
    mut field: ResMut<SocialField>,
) {
    let slots = &view.slots;
    let p = &params.0.bonds;
    let rates = rules::BondRates::new(p, clock.dt_years);
    let tick = clock.tick;
    let clock = *clock;
    let SocialField { slots: field_slots, per_node, words, .. } = &mut *field;
    let weight_sums = &*per_node;
    let (bonds, ends) = graph.bonds_with_ends();
    bonds.par_chunks_mut(LEARN_BLOCK).zip(words.par_chunks_mut(LEARN_BLOCK)).enumerate().for_each_init(
        // A block's scratch (4.5 KB), made once for each of rayon's tasks instead of zeroed for
        // every block: a slot the block before left (a free slot's, or past a short last block's
        // end) is computed and not read, as a zeroed one was.
        || ([0.0f64; LEARN_BLOCK], rules::LearnBlock::default()),
        |(hours_per_week, learning), (block, (bonds, words))| {
            let first = block * LEARN_BLOCK;
            // A block of bonds in stages, so that the processor overlaps the bonds' chains of
            // arithmetic and computes them in its vectors: the contact hours from both partners'
            // offers, with the partners' levels copied field by field into the block; then the
            // two curves and the rules of synchrony, reward and learning (the block's at once,
            // `rules::learn_block`); then the results written back. The same arithmetic, bond by
            // bond, as one loop.
            for (i, (bond, word)) in bonds.iter().zip(words.iter_mut()).enumerate() {
                let edge = first + i;
                // The bonds are in the order of their `a` ends (`SocialGraph::renumber`), so the
                // `a` rows are read in order; the `b` rows are at random places, asked for ahead.
                if let Some((_, ahead)) = ends.get(edge + AHEAD_BONDS) {
                    prefetch(&slots[ahead.index()]);
                    prefetch(&weight_sums[ahead.index()]);
                }
                let Some(bond) = bond else { continue };
                let (node_a, node_b) = ends.of(edge);
                let (a, b) = (&slots[node_a.index()], &slots[node_b.index()]);
                let w = f64::from(word.as_weight());
                *word = BondWord::ends(node_a, node_b);
                let offer_a = a.budget_hours_per_week() * w / weight_sums[node_a.index()];
                let offer_b = b.budget_hours_per_week() * w / weight_sums[node_b.index()];
                hours_per_week[i] = smaller(offer_a, offer_b);
                for (side, row) in [a, b].into_iter().enumerate() {
                    learning.avoidance[side][i] = row.avoidance;
                    learning.cortisol[side][i] = row.cortisol;
                    learning.disorganisation[side][i] = row.disorganisation;
                    learning.receptor_density[side][i] = row.receptor_density;
                }
                learning.familiarity[i] = f64::from(bond.state.total_contact_hours);
                (learning.value[i], learning.strength[i]) = (bond.state.value, bond.state.strength);
            }
            // Computed in double precision, stored in single (`BondState`).
            rules::familiarities(&mut learning.familiarity, p);
            learning.contact = *hours_per_week;
            rules::contact_saturations(&mut learning.contact, p);
            rules::learn_block(learning, &rates);
            for (i, bond) in bonds.iter_mut().enumerate() {
                let Some(bond) = bond else { continue };
                let contact_hours = hours_per_week[i] * clock.weeks_per_tick;
                bond.state.contact_hours = contact_hours as f32;
                bond.state.synchrony = learning.synchrony[i] as f32;
                (bond.state.value, bond.state.strength) = (learning.value[i], learning.strength[i]);
                // Chosen bonds move between layers by strength; kin and partners keep their kind
                // (a select, not a branch: kinds are mixed at random along the table).
                let layer = rules::chosen_kind(f64::from(bond.state.strength), p);
                bond.state.kind = if bond.state.kind.is_chosen() { layer } else { bond.state.kind };
                let total_contact_hours = f64::from(bond.state.total_contact_hours);
                bond.state.total_contact_hours = (total_contact_hours + contact_hours) as f32;
                bond.reward = learning.reward[i] as f32;
            }
        },
    );
    // Each agent gathers its own bonds in edge-index order (its adjacency is sorted): parallel
    // over agents, and the same sums, to the bit, as adding bond by bond.
    per_node.par_iter_mut().zip(slots).for_each(|(security, s)| *security = 1.0 - s.insecurity());
    let (graph, words, security) = (&*graph, &*words, &*per_node);
    field_slots.par_iter_mut().enumerate().for_each(|(node, slot)| {
        let ahead = NodeIndex::new(node + AHEAD_AGENTS);
        for edge in graph.bonds_of(ahead) {
            if let (Some(bond), Some(word)) = (graph.bonds.get(edge.index()), words.get(edge.index())) {
                prefetch(bond);
                prefetch(word);
            }
        }
        let me = NodeIndex::new(node);
        let mut sums = FieldSums::default();
        for edge in graph.bonds_of(me) {
            let Some(bond) = &graph.bonds[edge.index()] else { continue };
            let state = &bond.state;
            let (strength, synchrony, contact_hours) =
                (f64::from(state.strength), f64::from(state.synchrony), f64::from(state.contact_hours));
            let sync_hours = contact_hours / clock.weeks_per_tick * synchrony;
            let age_ticks = tick - i64::from(state.formed_tick);
            // The other partner, from the bond's word (its row is read only for the bonds that
            // need it: a random read). In a parent–child bond the parent is `a` (the older, with
            // the smaller id).
            let (other, a) = words[edge.index()].other_and_a(me);
            sums.bonds += 1;
            sums.new_bonds += u32::from(age_ticks == 0);
            sums.felt_closeness += strength * state.kind.closeness_weight();
            sums.synchronous_hours_per_week += sync_hours;
            sums.reward_sum += f64::from(bond.reward);
            sums.longest_bond_ticks = sums.longest_bond_ticks.max(age_ticks);
            if is_close(state.kind) {
                sums.close_bonds += 1;
            }
            if state.kind == BondKind::Romantic {
                sums.partner = Some(other);
                sums.partner_strength = strength;
            }
            if matches!(state.kind, BondKind::Romantic | BondKind::CloseFriend) {
                let partner_security = security[other.index()];
                sums.secure_bond = sums.secure_bond.max(strength * synchrony * partner_security);
            }
            if state.kind == BondKind::ParentChild && a != me {
                let them = &slots[other.index()];
                let h = contact_hours;
                sums.care_hours += h;
                sums.care_sensitivity += h * them.sensitivity();
                sums.care_anxiety += h * them.anxiety();
                sums.care_avoidance += h * them.avoidance();
                sums.care_fear += h * them.disorganisation().max(them.cortisol());
            }
        }
        *slot = sums.into_slot();
    });
}

fn end_bond(
    graph: &mut SocialGraph,
    edge: EdgeIndex,
    event: BondEventKind,
    tick: i64,
    recorder: &mut Recorder,
    tally: &mut TickTally,
) -> Option<Link> {
    let link = graph.remove_bond(edge)?;
    // The agents are still there (only the bond went).
    let (agent_a, agent_b) = (graph.id(link.a), graph.id(link.b));
    let bond = link.bond;
    tally.bonds_ended += 1;
    recorder.0.bond_events.push(BondEventRow {
        tick,
        event,
        agent_a,
        agent_b,
        kind: bond.state.kind,
        strength: f64::from(bond.state.strength),
        bond_age_ticks: tick - i64::from(bond.state.formed_tick),
    });
    Some(link)
}

/// Claims 3 and 7 in one phase: the bonds' fates, then the stress update. Bonds that have faded
/// break (enduring, but not without contact); couples separate with a hazard that falls as their
/// bond strengthens; close friends of opposite sex, both adult and unpartnered, may become a
/// couple ([`decide_fates`], [`apply_fates`]). Then oxytocin, dopamine, loneliness, cortisol,
/// allostatic load and health follow each agent's social field ([`stress_and_health`]).
///
/// The fates change the graph on one thread, in bond-index order; the stress update reads
/// nothing of the graph, so it runs beside them on the pool instead of after them. What a
/// separation does to the agents (the partners' cortisol, the children's experience), which
/// the stress update reads, is done before both. The same bits as the fates then the stress.
#[inline(never)]
pub fn break_partner_and_update_stress(
    clock: Res<Clock>,
    params: Res<ModelParams>,
    curves: Res<AgeCurves>,
    view: Res<AgentView>,
    mut field: ResMut<SocialField>,
    mut graph: ResMut<SocialGraph>,
    mut tally: ResMut<TickTally>,
    mut recorder: ResMut<Recorder>,
    mut agents: ParamSet<(Query<SeparatingAgent>, Query<StressedAgent>)>,
) {
    let (p, clock, slots) = (&params.0, *clock, &view.slots);
    let field = &mut *field;
    let fates = decide_fates(&graph, field, slots, p, &clock);
    separations(&fates, &graph, slots, p, &clock, &mut agents.p0());
    // The application changes the couple bytes and the bonds lost; the stress update reads the
    // field's rows.
    let SocialField { slots: social, singles, bonds_lost, dying, .. } = field;
    let mut stressed = agents.p1();
    let tables = stress_tables(&mut stressed);
    let (graph, recorder, tally) = (&mut *graph, &mut *recorder, &mut *tally);
    rayon::join(
        || apply_fates(&fates, graph, recorder, tally, singles, bonds_lost, &clock),
        || stress_and_health(tables, social, &curves, p, &clock, dying),
    );
}

/// A separation's cortisol spike for each partner, as a share of a bereavement's (claim 7).
const SEPARATION_SPIKE_SHARE: f64 = 0.5;

/// The severity of the negative life event a parents' separation is for each child under 18
/// (`rules::life_event`; MODEL.md 7.7: `e_x, e_v += ½·life_event_shock`).
const SEPARATION_EVENT_SEVERITY: f64 = 0.5;

/// What a separation changes of an agent: a partner's cortisol, a child's experience.
type SeparatingAgent = (&'static mut Physiology, &'static mut Care);

/// Which bonds break, separate or become couples this tick, in bond-index order. Decided for
/// every bond in parallel: each decision reads only its own bond, the agent view and the bond's
/// own random stream ([`apply_fates`] applies them in order, where a couple forms only if
/// neither partner has formed another this tick: the same outcome, to the bit, as one serial
/// pass). A block of bonds at a time: the few whose fate could change are screened out first,
/// then their partners' rows and ids (at random places) asked for together, then decided.
fn decide_fates(
    graph: &SocialGraph,
    field: &mut SocialField,
    slots: &[AgentSlot],
    p: &bondsim_model::Params,
    clock: &Clock,
) -> Vec<(usize, Fate)> {
    // Who could start a couple, a byte per agent (a small array, where the test of every
    // friendship would otherwise read both partners' rows).
    let adult_years = p.life.adult_years;
    let social = &field.slots;
    (0..slots.len())
        .into_par_iter()
        .map(|node| {
            let me = &slots[node];
            match (me.age_years(clock) >= adult_years && social[node].partner.is_none(), me.female()) {
                (false, _) => Single::No,
                (true, false) => Single::Man,
                (true, true) => Single::Woman,
            }
        })
        .collect_into_vec(&mut field.singles);
    let singles = &field.singles;
    graph
        .bonds
        .par_chunks(FATE_BLOCK)
        .enumerate()
        // Each share's screened slots kept from block to block (not zeroed for each: every entry
        // up to the count is written before it is read), boxed so that the fold's state moves
        // from block to block without copying them.
        .fold(
            || (Vec::new(), Box::new([0usize; FATE_BLOCK])),
            |(mut decided, mut screened), (block, bonds)| {
                let first = block * FATE_BLOCK;
                let mut n = 0;
                for (i, bond) in bonds.iter().enumerate() {
                    let edge = EdgeIndex::new(first + i);
                    let keep = bond.as_ref().is_some_and(|bond| may_change(bond, graph.ends(edge), singles, p));
                    // Appended without a branch on the outcome.
                    screened[n] = first + i;
                    n += usize::from(keep);
                }
                for &slot in &screened[..n] {
                    let (a, b) = graph.ends(EdgeIndex::new(slot));
                    for node in [a, b] {
                        prefetch(&slots[node.index()]);
                        graph.prefetch_node(node);
                    }
                }
                // The decisions, into a vector per thread's share of the blocks (not one per block).
                decided.extend(screened[..n].iter().filter_map(|&slot| {
                    let edge = EdgeIndex::new(slot);
                    Some((slot, fate(edge, graph.bonds[slot].as_ref()?, graph, slots, singles, p, clock)?))
                }));
                (decided, screened)
            },
        )
        .map(|(decided, _)| decided)
        // The shares in table order.
        .reduce(Vec::new, |mut first, second| {
            first.extend(second);
            first
        })
}

/// What the separations among `fates` do to the agents, fate by fate in bond-index order,
/// before the fates change the graph: losing a partner is a stress spike for both (claim 7),
/// half that of a death; for their children under 18 it is a negative life event. A separation
/// reads only bonds the fates before it cannot change (its own, and the parents' bonds to their
/// children, which never break), so it sees the graph as [`apply_fates`] would at its turn.
fn separations(
    fates: &[(usize, Fate)],
    graph: &SocialGraph,
    slots: &[AgentSlot],
    p: &bondsim_model::Params,
    clock: &Clock,
    agents: &mut Query<SeparatingAgent>,
) {
    for &(slot, fate) in fates {
        let (Fate::Separate, Some(bond)) = (fate, graph.bonds[slot]) else { continue };
        let (a, b) = graph.ends(EdgeIndex::new(slot));
        for node in [a, b] {
            if let Ok((mut physiology, _)) = agents.get_mut(graph.entity(node)) {
                physiology.0.cortisol = rules::unit(
                    physiology.0.cortisol
                        + SEPARATION_SPIKE_SHARE * p.stress.bereavement_spike * f64::from(bond.state.strength),
                );
            }
        }
        parents_separated(graph, [a, b], slots, p, clock, agents);
    }
}

/// Applies the fates [`decide_fates`] decided, in bond-index order, on one thread: bonds end,
/// couples form where neither partner has formed another this tick; each agent's bonds lost
/// are counted by node. It changes the graph and no component ([`separations`] has made what
/// the separations do to the agents).
fn apply_fates(
    fates: &[(usize, Fate)],
    graph: &mut SocialGraph,
    recorder: &mut Recorder,
    tally: &mut TickTally,
    singles: &mut [Single],
    bonds_lost: &mut Vec<u32>,
    clock: &Clock,
) {
    let nodes = graph.node_bound();
    bonds_lost.clear();
    bonds_lost.resize(nodes, 0);
    for (i, &(slot, fate)) in fates.iter().enumerate() {
        prefetch_changes_ahead(graph, i, |j| fates.get(j).and_then(|&(slot, _)| graph.ends_of(slot)));
        let Some(bond) = graph.bonds[slot] else { continue };
        let edge = EdgeIndex::new(slot);
        let (a, b) = graph.ends(edge);
        let state = bond.state;
        let ended = match fate {
            Fate::Break => end_bond(graph, edge, BondEventKind::Broken, clock.tick, recorder, tally),
            Fate::Separate => end_bond(graph, edge, BondEventKind::Separated, clock.tick, recorder, tally),
            // Both were an unpartnered woman and man when it was decided; whoever has formed a
            // couple since is single no longer.
            Fate::Partner => {
                if unpartnered_woman_and_man(singles, (a, b)) {
                    singles[a.index()] = Single::No;
                    singles[b.index()] = Single::No;
                    graph.partner(edge);
                    let (agent_a, agent_b) = (graph.id(a), graph.id(b));
                    recorder.0.bond_events.push(BondEventRow {
                        tick: clock.tick,
                        event: BondEventKind::Partnered,
                        agent_a,
                        agent_b,
                        kind: BondKind::Romantic,
                        strength: f64::from(state.strength),
                        bond_age_ticks: clock.tick - i64::from(state.formed_tick),
                    });
                }
                None
            }
        };
        // The ended bond's age needs no update of the ends' `longest_bond_ticks`: the gather
        // counted the bond, with the same age, in their slots' `longest_bond_ticks`, which
        // `caregiving_and_development` takes into their histories this tick.
        if let Some(ended) = ended {
            for node in [ended.a, ended.b] {
                bonds_lost[node.index()] += 1;
            }
        }
    }
}

/// An agent's byte in `SocialField::singles`: not an unpartnered adult, or an unpartnered adult
/// man or woman.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum Single {
    #[default]
    No,
    Man,
    Woman,
}

/// What happens to a bond this tick, if anything.
#[derive(Debug, Clone, Copy)]
enum Fate {
    /// A chosen bond faded below `break_strength`.
    Break,
    /// A couple separates.
    Separate,
    /// Friends become a couple (if neither forms another couple first this tick).
    Partner,
}

/// Bonds per block of the fates' screening (`decide_fates`).
const FATE_BLOCK: usize = 256;

/// Whether a bond's fate could change this tick: a chosen bond below the break strength, a
/// couple, or a friendship between an unpartnered woman and man. Most bonds keep their fate;
/// they are screened without branching on their kind (kinds are mixed at random along the
/// table, so a branch on each would often be mispredicted).
fn may_change(bond: &Bond, ends: (NodeIndex, NodeIndex), singles: &[Single], p: &bondsim_model::Params) -> bool {
    let kind = bond.state.kind;
    let breaks = faded(&bond.state, p);
    let could_partner =
        matches!(kind, BondKind::CloseFriend | BondKind::Friend) & unpartnered_woman_and_man(singles, ends);
    breaks | (kind == BondKind::Romantic) | could_partner
}

/// Whether a bond is a chosen bond faded below `break_strength` (it breaks), without a branch.
fn faded(state: &BondState, p: &bondsim_model::Params) -> bool {
    state.kind.is_chosen() & (f64::from(state.strength) < p.bonds.break_strength)
}

/// Whether the two ends are an unpartnered adult woman and man (their bytes in `singles`), without
/// a branch: the product of the bytes is that of `Man` and `Woman` only for the two of them.
fn unpartnered_woman_and_man(singles: &[Single], (a, b): (NodeIndex, NodeIndex)) -> bool {
    singles[a.index()] as u8 * singles[b.index()] as u8 == Single::Man as u8 * Single::Woman as u8
}

/// A bond's fate this tick, from its own state, both partners' view and its own random stream
/// (`None` for every bond [`may_change`] passes over).
fn fate(
    edge: EdgeIndex,
    bond: &Bond,
    graph: &SocialGraph,
    slots: &[AgentSlot],
    singles: &[Single],
    p: &bondsim_model::Params,
    clock: &Clock,
) -> Option<Fate> {
    // The partners' rows are read only where the decision needs them (the screen in
    // `decide_fates` has asked for them ahead).
    let rows = |(a, b): (NodeIndex, NodeIndex)| (&slots[a.index()], &slots[b.index()]);
    let state = &bond.state;
    // The bond's stream, made only for the bonds that draw (it costs a seeding per bond).
    let draw = |(a, b): (NodeIndex, NodeIndex)| {
        stream(clock.seed, Purpose::Bond, pair_key(graph.id(a), graph.id(b)), clock.tick as u64).random::<f64>()
    };
    match state.kind {
        _ if faded(state, p) => Some(Fate::Break),
        BondKind::Romantic => {
            let ends = graph.ends(edge);
            let (a, b) = rows(ends);
            let insecurity = [a.insecurity(), b.insecurity()];
            let hazard = rules::separation_per_year(f64::from(state.strength), insecurity, &p.bonds);
            (draw(ends) < per_tick(hazard, clock.dt_years)).then_some(Fate::Separate)
        }
        BondKind::CloseFriend | BondKind::Friend => {
            // A woman and a man, both adult and unpartnered, at most 15 years apart.
            let ends = graph.ends(edge);
            let eligible = unpartnered_woman_and_man(singles, ends) && {
                let (a, b) = rows(ends);
                (a.age_years(clock) - b.age_years(clock)).abs() < 15.0
            };
            // Attraction grows with the friendship: full rate from close-friend strength up.
            let rate =
                p.bonds.partnering_per_year * (f64::from(state.strength) / p.bonds.close_friend_strength).min(1.0);
            (eligible && draw(ends) < per_tick(rate, clock.dt_years)).then_some(Fate::Partner)
        }
        _ => None,
    }
}

/// Claim 8 and F8 (Waters et al. 2000): the separation of a couple is a negative life event for
/// each of their children under 18, a jump of the child's experience toward insecurity shared
/// evenly between anxiety and avoidance.
fn parents_separated(
    graph: &SocialGraph,
    parents: [NodeIndex; 2],
    slots: &[AgentSlot],
    p: &bondsim_model::Params,
    clock: &Clock,
    agents: &mut Query<SeparatingAgent>,
) {
    let mut children: Vec<NodeIndex> = parents
        .iter()
        .flat_map(|&parent| {
            graph.bonds_of(parent).iter().filter_map(move |&e| {
                if graph.kind_of(e)? != BondKind::ParentChild {
                    return None;
                }
                let child = graph.other_end(e, parent);
                let child_age = slots[child.index()].age_years(clock);
                let young = child_age < p.life.adult_years && child_age < slots[parent.index()].age_years(clock);
                young.then_some(child)
            })
        })
        .collect();
    children.sort_unstable();
    children.dedup();
    for child in children {
        if let Ok((_, mut care)) = agents.get_mut(graph.entity(child)) {
            rules::life_event(&mut care.experience, SEPARATION_EVENT_SEVERITY, &p.development);
        }
    }
}

/// What the stress update reads and changes of each agent.
type StressedAgent = (Entity, &'static Person, &'static mut Physiology, &'static Attachment, &'static mut Wellbeing);

/// One ECS table's columns of [`StressedAgent`].
type StressTable<'a> = (&'a [Entity], &'a [Person], &'a mut [Physiology], &'a [Attachment], &'a mut [Wellbeing]);

/// The stress update's columns, table by table (nothing reads bevy's change ticks: not marked).
fn stress_tables<'a>(agents: &'a mut Query<StressedAgent>) -> Vec<StressTable<'a>> {
    agents
        .contiguous_iter_mut()
        .expect(DENSE)
        .map(|(entities, people, physiology, attachments, wellbeing)| {
            let (physiology, _) = ContiguousMut::bypass_change_detection_split(physiology);
            let (wellbeing, _) = ContiguousMut::bypass_change_detection_split(wellbeing);
            (entities, people, physiology, attachments, wellbeing)
        })
        .collect()
}

/// Claims 5 and 7: oxytocin follows synchronous contact, dopamine the reward of bonds;
/// loneliness is the gap between desired and felt closeness; cortisol rises with loneliness and
/// is buffered by oxytocin; allostatic load accumulates; health follows; and who dies this tick
/// is drawn from the load just computed (claim 7, applied by `apply_deaths`), into `dying`. Over
/// the agents' columns, table by table, in parallel blocks.
fn stress_and_health(
    tables: Vec<StressTable<'_>>,
    social: &[FieldSlot],
    curves: &AgeCurves,
    p: &bondsim_model::Params,
    clock: &Clock,
    dying: &mut Vec<(Member, f64)>,
) {
    // The same for every agent: computed once per tick, not per agent.
    let oxytocin_relax = per_tick(p.neuro.oxytocin_relax_per_year, clock.dt_years);
    dying.clear();
    for (entities, people, physiology, attachments, wellbeing) in tables {
        dying.par_extend(
            entities
                .par_chunks(STRESS_BLOCK)
                .zip(people.par_chunks(STRESS_BLOCK))
                .zip(physiology.par_chunks_mut(STRESS_BLOCK))
                .zip(attachments.par_chunks(STRESS_BLOCK))
                .zip(wellbeing.par_chunks_mut(STRESS_BLOCK))
                .flat_map_iter(|((((entities, people), physiology), attachments), wellbeing)| {
                    let rows = (entities, people, physiology, attachments, wellbeing);
                    update_stress(rows, social, curves, p, clock, oxytocin_relax)
                }),
        );
    }
}

/// Agents per block of [`update_stress`].
const STRESS_BLOCK: usize = 64;

/// A block of agents' part of [`stress_and_health`], in three stages so that the two
/// saturating curves (oxytocin's drive, cortisol's step) are computed for the block at once, in
/// the processor's vectors: the same bits as one agent at a time.
fn update_stress(
    (entities, people, physiology, attachments, wellbeing): StressTable<'_>,
    field: &[FieldSlot],
    curves: &AgeCurves,
    p: &bondsim_model::Params,
    clock: &Clock,
    oxytocin_relax: f64,
) -> Vec<(Member, f64)> {
    let n = people.len();
    let social = |i: usize| &field[people[i].node.index()];
    let mut drive = [0.0f64; STRESS_BLOCK];
    for (i, drive) in drive[..n].iter_mut().enumerate() {
        *drive = f64::from(social(i).synchronous_hours_per_week);
    }
    rules::oxytocin_drives(&mut drive[..n], &p.neuro);
    let mut targets = [0.0f64; STRESS_BLOCK];
    let mut steps = [0.0f64; STRESS_BLOCK];
    for i in 0..n {
        let (social, neuro, wm, wellbeing) = (social(i), &mut physiology[i].0, &attachments[i].0, &mut wellbeing[i]);
        let ot_target = rules::oxytocin_target(drive[i], neuro.receptor_density, &p.neuro);
        neuro.oxytocin = rules::relax(neuro.oxytocin, ot_target, oxytocin_relax);
        let mean_reward = if social.bonds > 0 { f64::from(social.reward_sum) / f64::from(social.bonds) } else { 0.0 };
        neuro.dopamine = rules::dopamine_level(mean_reward, &p.neuro);
        let desired = rules::desired_closeness(wm.anxiety, wm.avoidance, &p.stress);
        wellbeing.loneliness = rules::loneliness(f64::from(social.felt_closeness), desired);
        targets[i] = rules::cortisol_target(wellbeing.loneliness, neuro.oxytocin, p.neuro.oxytocin_baseline, &p.stress);
        steps[i] = neuro.gr_sensitivity;
    }
    rules::cortisol_steps(&mut steps[..n], clock.dt_years, &p.stress);
    let mut dying = Vec::new();
    for i in 0..n {
        let (person, neuro, wellbeing) = (&people[i], &mut physiology[i].0, &mut wellbeing[i]);
        neuro.cortisol = rules::update_cortisol(neuro.cortisol, targets[i], steps[i]);
        neuro.allostatic_load =
            rules::update_allostatic_load(neuro.allostatic_load, neuro.cortisol, clock.dt_years, &p.stress);
        let by_age = curves.at(clock.tick - person.birth_tick, p);
        wellbeing.health = rules::health(neuro.allostatic_load, by_age.health_factor);
        if let Some(hazard) = dies(person, neuro.allostatic_load, &by_age, p, clock) {
            dying.push((Member::of(entities[i], person), hazard));
        }
    }
    dying
}

/// Claim 7: whether an agent dies this tick, from a Gompertz age baseline raised by its
/// allostatic load (its own random stream), with the hazard per year if it does. Drawn in the
/// stress update, where the load has just been computed and the agent's columns are at hand:
/// nothing between it and `apply_deaths` changes the load, the age or the id. A draw at or
/// above the age's bound lives whatever the load (in [0, 1]): the hazard's two `exp` are
/// computed only for the few draws below it. The same deaths, to the bit.
fn dies(person: &Person, load: f64, by_age: &AgeRow, p: &bondsim_model::Params, clock: &Clock) -> Option<f64> {
    let draw = stream(clock.seed, Purpose::Mortality, person.id, clock.tick as u64).random::<f64>();
    if draw >= by_age.death_bound && (0.0..=1.0).contains(&load) {
        return None;
    }
    let hazard = rules::mortality_hazard_per_year(by_age.gompertz, load, &p.life);
    (draw < per_tick(hazard, clock.dt_years)).then_some(hazard)
}

/// What `caregiving_and_development` reads and changes of each agent (its `Exposure`, a sparse
/// set, is looked up by entity).
type DevelopingAgent = (
    Entity,
    &'static Person,
    &'static mut Physiology,
    &'static mut Attachment,
    &'static mut Care,
    &'static mut History,
);

/// One agent's row in `caregiving_and_development`.
type DevelopingRow<'a> =
    (&'a Entity, &'a Person, &'a mut Physiology, &'a mut Attachment, &'a mut Care, &'a mut History);

/// Claims 1, 2, 8, 9 and 10: caregivers' sensitivity; children develop their working model and
/// are programmed by the care they receive, at the plasticity of their age; adults keep a small
/// plasticity through which secure bonds repair. Milestones: the category at 1 and at 18.
#[inline(never)]
pub fn caregiving_and_development(
    clock: Res<Clock>,
    params: Res<ModelParams>,
    curves: Res<AgeCurves>,
    mut field: ResMut<SocialField>,
    mut agents: Query<DevelopingAgent>,
    exposures: Query<&Exposure>,
) {
    let p = &params.0;
    let clock = *clock;
    // Most runs have no interventions, and then no agent has an `Exposure`: the lookup by entity
    // is skipped (bench-100k: the phase 0.79-0.85 against 0.87-0.91 s over the run with it).
    let exposures = (!exposures.is_empty()).then_some(&exposures);
    let fractions = DevelopmentFractions::new(p, &clock);
    let SocialField { slots, bonds_lost, conceiving, .. } = &mut *field;
    let (slots, bonds_lost) = (&*slots, &*bonds_lost);
    conceiving.clear();
    for (entities, people, mut physiology, mut attachments, mut care, mut history) in
        agents.contiguous_iter_mut().expect(DENSE)
    {
        let rows = (
            entities,
            people,
            physiology.bypass_change_detection(),
            attachments.bypass_change_detection(),
            care.bypass_change_detection(),
            history.bypass_change_detection(),
        );
        conceiving.par_extend(rows.into_par_iter().filter_map(|row| {
            let exposure = exposures.and_then(|exposures| exposures.get(*row.0).ok());
            // Drawn first: `develop` changes nothing the draw reads.
            let mother = conceives(*row.0, row.1, row.5, &p.life, &clock);
            develop(row, exposure, (slots, bonds_lost), &curves, p, &clock, &fractions);
            mother
        }));
    }
}

/// Claim 8's births: whether a woman of fertile age, her last birth far enough back, draws a
/// birth this tick (her own stream); `apply_births` gives it if she is alive and partnered
/// then. Drawn here, where her columns are at hand: nothing between this phase and the births
/// changes her age, sex, id or last birth (the deaths may take her, or her partner, which
/// `apply_births` checks). The same births, to the bit, as drawing in `apply_births`.
fn conceives(entity: Entity, person: &Person, history: &History, life: &LifeParams, clock: &Clock) -> Option<Member> {
    if person.sex != Sex::Female {
        return None;
    }
    let age = clock.age_years(person.birth_tick);
    let rate = rules::fertility_per_year(age, life);
    let spaced = history
        .last_birth_tick
        .is_none_or(|t| (clock.tick - i64::from(t)) as f64 * clock.dt_years >= life.birth_spacing_years);
    if rate <= 0.0 || !spaced {
        return None;
    }
    let mut rng = stream(clock.seed, Purpose::Birth, person.id, clock.tick as u64);
    (rng.random::<f64>() < per_tick(rate, clock.dt_years)).then(|| Member::of(entity, person))
}

/// What [`develop`] uses that is the same for every agent in a tick, computed once per tick
/// rather than per agent (three `exp` and a square root an agent): the same values.
struct DevelopmentFractions {
    drift: rules::ExperienceDrift,
    life_event_chance: f64,
    resolution: f64,
}

impl DevelopmentFractions {
    fn new(p: &bondsim_model::Params, clock: &Clock) -> Self {
        Self {
            drift: rules::ExperienceDrift::new(clock.dt_years, &p.development),
            life_event_chance: per_tick(p.development.life_event_per_year, clock.dt_years),
            resolution: per_tick(p.development.resolution_per_year, clock.dt_years),
        }
    }
}

/// One agent's part of [`caregiving_and_development`].
fn develop(
    (_, person, physiology, attachment, care, history): DevelopingRow<'_>,
    exposure: Option<&Exposure>,
    (slots, bonds_lost): (&[FieldSlot], &[u32]),
    curves: &AgeCurves,
    p: &bondsim_model::Params,
    clock: &Clock,
    fractions: &DevelopmentFractions,
) {
    let social = &slots[person.node.index()];
    let n = &mut physiology.0;
    let wm = &mut attachment.0;
    let age = clock.age_years(person.birth_tick);
    let by_age = curves.at(clock.tick - person.birth_tick, p);
    let plasticity = by_age.plasticity;
    let support = exposure.filter(|x| clock.tick < x.supported_until).map_or(0.0, |x| x.sensitivity_boost);
    care.sensitivity = rules::unit(
        rules::caregiving_sensitivity(wm, n.cortisol, n.oxytocin, f64::from(social.partner_strength), &p.caregiving)
            + care.sensitivity_offset
            + support,
    );
    let mut rng = stream(clock.seed, Purpose::Experience, person.id, clock.tick as u64);
    let noise = [standard_normal(&mut rng), standard_normal(&mut rng)];
    rules::update_experience(&mut care.experience, noise, &fractions.drift);
    if rng.random::<f64>() < fractions.life_event_chance {
        rules::life_event(&mut care.experience, rng.random::<f64>(), &p.development);
        // A trauma, like a loss, is unresolved at first.
        rules::unresolved(wm, 1.0, &p.development);
    }
    if age < p.life.adult_years {
        let received = caregiving_received(social, p.caregiving.orphan_care);
        let target = rules::development_target(&received, person.temperament, care.experience, &p.development);
        rules::develop(wm, target, plasticity, by_age.development_step);
        rules::program_receptors(
            &mut n.receptor_density,
            &mut n.gr_sensitivity,
            received.quality,
            by_age.development_step,
        );
        if age < 5.0 {
            let weight = (clock.dt_years / age.max(clock.dt_years)).min(1.0);
            care.early_care_quality = rules::relax(care.early_care_quality, received.quality, weight);
        }
    } else {
        let target = rules::adult_target(wm, care.experience);
        rules::develop(wm, target, plasticity, by_age.development_step);
        rules::resolve(wm, fractions.resolution);
        rules::repair(wm, f64::from(social.secure_bond), plasticity, clock.dt_years, &p.development);
    }
    let before = age - clock.dt_years;
    if before < 1.0 && age >= 1.0 {
        history.category_age1 = Some(wm.category());
    }
    if before < 18.0 && age >= 18.0 {
        history.category_age18 = Some(wm.category());
    }
    history.earned_security = age >= 18.0
        && history.category_age1.is_some_and(|c| c != Category::Secure)
        && wm.category() == Category::Secure;
    history.longest_bond_ticks = history.longest_bond_ticks.max(social.longest_bond_ticks);
    history.bonds_formed += social.new_bonds;
    history.bonds_lost += bonds_lost.get(person.node.index()).copied().unwrap_or(0);
}

fn caregiving_received(social: &FieldSlot, orphan_care: f64) -> CaregivingReceived {
    if social.care_hours > 0.0 {
        let h = f64::from(social.care_hours);
        CaregivingReceived {
            quality: f64::from(social.care_sensitivity) / h,
            caregiver_anxiety: f64::from(social.care_anxiety) / h,
            caregiver_avoidance: f64::from(social.care_avoidance) / h,
            caregiver_fear: f64::from(social.care_fear) / h,
        }
    } else {
        // No living parent: care from others, of a fixed (configurable) quality.
        CaregivingReceived {
            quality: orphan_care,
            caregiver_anxiety: 0.3,
            caregiver_avoidance: 0.3,
            caregiver_fear: 0.3,
        }
    }
}

/// Claim 7: deaths, from a Gompertz age baseline raised by allostatic load. Survivors of a
/// close bond are bereaved: a cortisol spike and a shift of the working model away from security.
#[inline(never)]
pub fn apply_deaths(world: &mut World) {
    let clock = *world.resource::<Clock>();
    let params = world.resource::<ModelParams>().0.clone();
    let mut survivors = std::mem::take(&mut world.resource_mut::<Roster>().members);
    // Who dies was drawn by the stress update (`dies`), in the order its parallel blocks came:
    // put in roster (id) order.
    let mut dying = std::mem::take(&mut world.resource_mut::<SocialField>().dying);
    dying.sort_unstable_by_key(|(m, _)| m.id);
    // The roster is kept on one thread while the deaths are applied on another: applying them
    // does not read the roster, which is out of the world meanwhile.
    rayon::join(
        || {
            if !dying.is_empty() {
                // Both lists in id order: one walk through the dying while the roster is kept (a
                // search of the dying for every agent was 0.6 % of a run, on one thread).
                let mut dying_ids = dying.iter().map(|(d, _)| d.id).peekable();
                survivors.retain(|m| {
                    while dying_ids.next_if(|&id| id < m.id).is_some() {}
                    dying_ids.next_if_eq(&m.id).is_none()
                });
            }
        },
        || apply_dying(world, &dying, &params, clock),
    );
    world.resource_mut::<Roster>().members = survivors;
}

/// The deaths of [`apply_deaths`], in id order: each recorded, its bonds ended (each survivor
/// bereaved), its entity despawned.
fn apply_dying(world: &mut World, dying: &[(Member, f64)], params: &bondsim_model::Params, clock: Clock) {
    for &(member, hazard) in dying {
        record_death(world, member, hazard, clock);
        let bonds = world.resource_mut::<SocialGraph>().remove_agent(member.node);
        for link in bonds {
            let (survivor_node, bond) = (link.other(member.node), link.bond);
            let survivor_entity = world.resource::<SocialGraph>().entity(survivor_node);
            let survivor_id = world.resource::<SocialGraph>().id(survivor_node);
            bereave(world, survivor_entity, &bond.state, params, clock);
            let age = clock.tick - i64::from(bond.state.formed_tick);
            world.resource_mut::<TickTally>().bonds_ended += 1;
            world.resource_mut::<Recorder>().0.bond_events.push(BondEventRow {
                tick: clock.tick,
                event: BondEventKind::Bereaved,
                agent_a: survivor_id,
                agent_b: member.id,
                kind: bond.state.kind,
                strength: f64::from(bond.state.strength),
                bond_age_ticks: age,
            });
        }
        world.despawn(member.entity);
        world.resource_mut::<TickTally>().deaths += 1;
    }
}

fn record_death(world: &mut World, member: Member, hazard: f64, clock: Clock) {
    let graph = world.resource::<SocialGraph>();
    let (bonds, close_bonds, _) = bond_summary(graph, member.node);
    let entity = world.entity(member.entity);
    let (Some(person), Some(physiology), Some(wellbeing)) =
        (entity.get::<Person>(), entity.get::<Physiology>(), entity.get::<Wellbeing>())
    else {
        return;
    };
    let row = DeathRow {
        tick: clock.tick,
        agent: person.id,
        sex: person.sex,
        age_years: clock.age_years(person.birth_tick),
        generation: person.generation,
        cortisol: physiology.0.cortisol,
        allostatic_load: physiology.0.allostatic_load,
        loneliness: wellbeing.loneliness,
        health: wellbeing.health,
        bonds,
        close_bonds,
        hazard_per_year: hazard,
    };
    world.resource_mut::<Recorder>().0.deaths.push(row);
}

fn bereave(world: &mut World, survivor: Entity, lost: &BondState, params: &bondsim_model::Params, clock: Clock) {
    let close = is_close(lost.kind);
    let spike = params.stress.bereavement_spike * f64::from(lost.strength) * lost.kind.closeness_weight() / 1.5;
    let age = world.get::<Person>(survivor).map(|p| clock.age_years(p.birth_tick)).unwrap_or(0.0);
    if let Some(mut physiology) = world.get_mut::<Physiology>(survivor) {
        physiology.0.cortisol = rules::unit(physiology.0.cortisol + spike);
    }
    if let Some(mut history) = world.get_mut::<History>(survivor) {
        history.bonds_lost += 1;
        history.longest_bond_ticks =
            history.longest_bond_ticks.max(ticks_i32(clock.tick - i64::from(lost.formed_tick)));
        if close {
            history.bereavements += 1;
        }
    }
    if close && let Some(mut attachment) = world.get_mut::<Attachment>(survivor) {
        let plasticity = rules::plasticity(age, &params.development);
        rules::loss_shift(&mut attachment.0, plasticity, f64::from(lost.strength), &params.development);
    }
}

/// An agent's bonds, its close bonds, and the bond to its romantic partner if it has one: one
/// walk over its list, each bond read once.
fn bond_summary(graph: &SocialGraph, node: NodeIndex) -> (u32, u32, Option<EdgeIndex>) {
    let edges = graph.bonds_of(node);
    let (mut close, mut partner) = (0, None);
    for &e in edges {
        let Some(kind) = graph.kind_of(e) else { continue };
        close += u32::from(is_close(kind));
        if kind == BondKind::Romantic && partner.is_none() {
            partner = Some(e);
        }
    }
    (edges.len() as u32, close, partner)
}

/// An agent's romantic partner and the strength of their bond, if it has one (the bond
/// [`bond_summary`] finds).
fn partner_of(graph: &SocialGraph, node: NodeIndex) -> Option<(NodeIndex, f64)> {
    let (_, _, edge) = bond_summary(graph, node);
    let edge = edge?;
    let bond = graph.bonds[edge.index()]?;
    Some((graph.other_end(edge, node), f64::from(bond.state.strength)))
}

/// Births to partnered women of fertile age, spaced; the newborn is bonded to both parents and
/// inherits nothing but a temperament draw: its attachment system is built by their care.
#[inline(never)]
pub fn apply_births(world: &mut World) {
    let clock = *world.resource::<Clock>();
    let params = world.resource::<ModelParams>().0.clone();
    // The women whose draw gives a birth (`conceives`, in the caregiving phase): those the
    // deaths have left alive, checked for all before any birth (a newborn may take a dead
    // woman's graph node), then in roster (id) order; `give_birth` gives one only to a woman
    // who still has a partner (the deaths may have taken him).
    let mut mothers = std::mem::take(&mut world.resource_mut::<SocialField>().conceiving);
    mothers.retain(|m| world.entities().contains_spawned(m.entity));
    mothers.sort_unstable_by_key(|m| m.id);
    for mother in mothers {
        give_birth(world, mother, &params, clock);
    }
}

fn give_birth(world: &mut World, mother: Member, params: &bondsim_model::Params, clock: Clock) {
    let Some((father_node, partner_strength)) = partner_of(world.resource::<SocialGraph>(), mother.node) else {
        return;
    };
    let father_entity = world.resource::<SocialGraph>().entity(father_node);
    let m = world.entity(mother.entity);
    let (mp, mwm, mn, mcare) = (
        *m.get::<Person>().expect("mother"),
        m.get::<Attachment>().expect("mother").0,
        m.get::<Physiology>().expect("mother").0,
        *m.get::<Care>().expect("mother"),
    );
    let father = world.entity(father_entity);
    let fp = *father.get::<Person>().expect("father");
    let father_sensitivity = father.get::<Care>().map(|c| c.sensitivity);
    let id = world.resource::<Roster>().next_id;
    world.resource_mut::<Roster>().next_id += 1;
    let mut rng = stream(clock.seed, Purpose::Newborn, id, clock.tick as u64);
    let sd = params.development.temperament_sd;
    let temper = Normal::new(0.0, sd);
    let temperament = [temper.sample(&mut rng), temper.sample(&mut rng), temper.sample(&mut rng).abs() * 0.5];
    let sex = if rng.random_bool(0.5) { Sex::Female } else { Sex::Male };
    let sensitivity_offset = Normal::new(0.0, params.caregiving.sensitivity_sd).sample(&mut rng);
    let generation = mp.generation.max(fp.generation) + 1;
    let person = Person {
        id,
        sex,
        birth_tick: clock.tick,
        generation,
        mother: ParentId::of(mp.id),
        father: ParentId::of(fp.id),
        node: NodeIndex::end(),
        temperament,
    };
    // A newborn's systems start unprogrammed, at mid levels; care sets them in the first years.
    let neuro = Neuro {
        oxytocin: params.neuro.oxytocin_baseline,
        receptor_density: 0.5,
        dopamine: params.neuro.dopamine_baseline,
        cortisol: params.stress.cortisol_baseline,
        allostatic_load: 0.0,
        gr_sensitivity: 0.5,
    };
    let bundle = (
        Physiology(neuro),
        Attachment(WorkingModel::new(0.25, 0.25, 0.0)),
        Wellbeing { loneliness: 0.0, health: 1.0 },
        Care {
            sensitivity: params.caregiving.base_sensitivity,
            sensitivity_offset,
            early_care_quality: mcare.sensitivity,
            experience: [0.0; 2],
        },
    );
    let child = spawn_agent(world, person, bundle);
    let mut events = Vec::with_capacity(2);
    {
        let mut graph = world.resource_mut::<SocialGraph>();
        for (parent_node, parent_id) in [(mother.node, mp.id), (father_node, fp.id)] {
            graph.add_bond([parent_node, child.node], BondState::new(BondKind::ParentChild, 0.5, clock.tick as u32));
            events.push(BondEventRow {
                tick: clock.tick,
                event: BondEventKind::Formed,
                agent_a: parent_id.min(id),
                agent_b: parent_id.max(id),
                kind: BondKind::ParentChild,
                strength: 0.5,
                bond_age_ticks: 0,
            });
        }
    }
    for entity in [mother.entity, father_entity] {
        if let Some(mut history) = world.get_mut::<History>(entity) {
            history.children += 1;
            history.bonds_formed += 1;
            if entity == mother.entity {
                history.last_birth_tick = Some(ticks_i32(clock.tick));
            }
        }
    }
    let father_member = Member { id: fp.id, entity: father_entity, node: father_node };
    support_parents(
        world,
        [(mother, clock.age_years(mp.birth_tick)), (father_member, clock.age_years(fp.birth_tick))],
        clock,
    );
    let mut tally = world.resource_mut::<TickTally>();
    tally.births += 1;
    tally.bonds_formed += 2;
    let mut recorder = world.resource_mut::<Recorder>();
    recorder.0.bond_events.extend(events);
    recorder.0.births.push(BirthRow {
        tick: clock.tick,
        child: id,
        mother: mp.id,
        father: Some(fp.id),
        sex,
        generation,
        mother_age_years: clock.age_years(mp.birth_tick),
        mother_sensitivity: mcare.sensitivity,
        father_sensitivity,
        mother_category: mwm.category(),
        mother_cortisol: mn.cortisol,
        partner_bond_strength: partner_strength,
    });
}

/// Population aggregates every tick; agent snapshots at the snapshot interval.
#[inline(never)]
pub fn record_tick(world: &mut World) {
    let mut agents = world.query::<(&Person, &Physiology, &Attachment, &Wellbeing)>();
    let clock = *world.resource::<Clock>();
    let tally = *world.resource::<TickTally>();
    let adult_years = world.resource::<ModelParams>().0.life.adult_years;
    let mut row = MetricsRow {
        tick: clock.tick,
        births: tally.births,
        deaths: tally.deaths,
        bonds_formed: tally.bonds_formed,
        bonds_ended: tally.bonds_ended,
        ..MetricsRow::default()
    };
    let graph = world.resource::<SocialGraph>();
    row.bonds = graph.bond_count() as u64;
    row.couples = graph.couples();
    // Every agent's part summed over the ECS's columns in parallel, in whatever order the tables
    // hold them: counts, a maximum and fixed-point sums (`ExactSum`), which come to the same bits
    // in any order and grouping, at any thread count and after a resume.
    let mut totals = PopulationTotals::default();
    for (people, physiology, attachments, wellbeing) in agents.contiguous_iter(world).expect(DENSE) {
        let part = people
            .par_chunks(TOTALS_BLOCK)
            .zip(physiology.par_chunks(TOTALS_BLOCK))
            .zip(attachments.par_chunks(TOTALS_BLOCK))
            .zip(wellbeing.par_chunks(TOTALS_BLOCK))
            .map(|(((people, physiology), attachments), wellbeing)| {
                let mut t = PopulationTotals::default();
                for (((person, ph), at), wb) in people.iter().zip(physiology).zip(attachments).zip(wellbeing) {
                    t.population += 1;
                    let levels =
                        [ph.0.oxytocin, ph.0.dopamine, ph.0.cortisol, ph.0.allostatic_load, wb.loneliness, wb.health];
                    for (sum, level) in t.levels.iter_mut().zip(levels) {
                        sum.add(level);
                    }
                    t.max_generation = t.max_generation.max(person.generation);
                    if clock.age_years(person.birth_tick) >= adult_years {
                        t.adults += 1;
                        t.categories[at.0.category() as usize] += 1;
                    }
                }
                t
            })
            .reduce(PopulationTotals::default, PopulationTotals::merge);
        totals = totals.merge(part);
    }
    row.population = totals.population;
    row.adults = totals.adults;
    row.max_generation = totals.max_generation;
    let n = row.population.max(1) as f64;
    row.mean_bonds_per_agent = 2.0 * row.bonds as f64 / n;
    [
        row.mean_oxytocin,
        row.mean_dopamine,
        row.mean_cortisol,
        row.mean_allostatic_load,
        row.mean_loneliness,
        row.mean_health,
    ] = totals.levels.map(|sum| sum.value() / n);
    let categories = totals.categories;
    let adults = row.adults.max(1) as f64;
    row.adult_secure_share = categories[Category::Secure as usize] as f64 / adults;
    row.adult_anxious_share = categories[Category::Anxious as usize] as f64 / adults;
    row.adult_avoidant_share = categories[Category::Avoidant as usize] as f64 / adults;
    row.adult_disorganised_share = categories[Category::Disorganised as usize] as f64 / adults;
    world.resource_mut::<Recorder>().0.metrics.push(row);
    // The snapshot's rows are built when they are drained, a slice of the roster at a time
    // (`Simulation::drain_output`): at a million agents they would be about a gigabyte at once.
    world.resource_mut::<SnapshotDue>().0 =
        clock.snapshot_every_ticks > 0 && clock.tick % clock.snapshot_every_ticks == 0;
}

/// Agents per task of [`record_tick`]'s sums.
const TOTALS_BLOCK: usize = 4_096;

/// What the metrics row adds up over the agents: the population, the adults and their
/// categories, the highest generation, and the six levels whose means it reports (oxytocin,
/// dopamine, cortisol, allostatic load, loneliness, health).
#[derive(Debug, Clone, Copy, Default)]
struct PopulationTotals {
    population: u64,
    adults: u64,
    categories: [u64; 4],
    max_generation: u32,
    levels: [ExactSum; 6],
}

impl PopulationTotals {
    fn merge(self, other: Self) -> Self {
        Self {
            population: self.population + other.population,
            adults: self.adults + other.adults,
            categories: std::array::from_fn(|i| self.categories[i] + other.categories[i]),
            max_generation: self.max_generation.max(other.max_generation),
            levels: std::array::from_fn(|i| self.levels[i].merge(other.levels[i])),
        }
    }
}

/// Agents per task of a snapshot's columns: each task builds its rows as a piece, and the pieces
/// are joined in roster order.
const SNAPSHOT_RUN: usize = 512;

/// The snapshot's rows for a slice of the roster (in id order): their agents' columns, and the
/// bonds whose smaller id is one of theirs, sorted by the pair's ids. Slice after slice, in roster
/// order, they make the whole snapshot in order. The two tables are built side by side (walking
/// each agent's bonds once for both was no faster, docs/PERFORMANCE.md).
pub(crate) fn snapshot_slice(world: &World, clock: Clock, members: &[Member]) -> (AgentColumns, NetworkColumns) {
    rayon::join(|| agent_columns(world, clock, members), || network_columns(world, clock, members))
}

fn network_columns(world: &World, clock: Clock, members: &[Member]) -> NetworkColumns {
    let graph = world.resource::<SocialGraph>();
    let pieces = members
        .par_chunks(SNAPSHOT_RUN)
        .map(|run| {
            let mut c = NetworkColumns::with_capacity(run.len() * 8);
            let mut listed = Vec::new();
            for m in run {
                // A bond is listed by its `a` end, the smaller id, in the order of the other id.
                listed.clear();
                listed.extend(graph.bonds_of(m.node).iter().filter_map(|&e| {
                    let (a, b) = graph.ends(e);
                    if a != m.node {
                        return None;
                    }
                    Some((graph.id(b), graph.bonds[e.index()]?.state))
                }));
                listed.sort_unstable_by_key(|&(b, _)| b);
                for &(b, state) in &listed {
                    c.push(NetworkRow {
                        tick: clock.tick,
                        agent_a: m.id,
                        agent_b: b,
                        kind: state.kind,
                        strength: state.strength,
                        value: state.value,
                        synchrony: state.synchrony,
                        contact_hours: state.contact_hours,
                        formed_tick: i64::from(state.formed_tick),
                        bond_age_ticks: clock.tick - i64::from(state.formed_tick),
                    });
                }
            }
            c
        })
        .collect();
    NetworkColumns::joined(pieces)
}

fn agent_columns(world: &World, clock: Clock, members: &[Member]) -> AgentColumns {
    let graph = world.resource::<SocialGraph>();
    let mut agents = world
        .try_query::<(&Person, &Physiology, &Attachment, &Wellbeing, &Care, &History)>()
        .expect("the agents' components are registered");
    let agents = agents.query(world);
    let pieces = members
        .par_chunks(SNAPSHOT_RUN)
        .map(|run| {
            let mut c = AgentColumns::with_capacity(run.len());
            for m in run {
                let (person, n, wm, wb, care, h) =
                    agents.get(m.entity).expect("a living member has all its components");
                let (n, wm) = (&n.0, &wm.0);
                let (bonds, close_bonds, partner) = bond_summary(graph, m.node);
                c.push(AgentRow {
                    tick: clock.tick,
                    agent: person.id,
                    sex: person.sex,
                    birth_tick: person.birth_tick,
                    age_years: clock.age_years(person.birth_tick),
                    generation: person.generation,
                    mother: person.mother.get(),
                    father: person.father.get(),
                    oxytocin: n.oxytocin,
                    receptor_density: n.receptor_density,
                    dopamine: n.dopamine,
                    cortisol: n.cortisol,
                    allostatic_load: n.allostatic_load,
                    gr_sensitivity: n.gr_sensitivity,
                    anxiety: wm.anxiety,
                    avoidance: wm.avoidance,
                    disorganisation: wm.disorganisation,
                    prototype_anxiety: wm.prototype_anxiety,
                    prototype_avoidance: wm.prototype_avoidance,
                    category: wm.category(),
                    prototype_category: rules::categorise(
                        wm.prototype_anxiety,
                        wm.prototype_avoidance,
                        wm.prototype_disorganisation,
                    ),
                    loneliness: wb.loneliness,
                    health: wb.health,
                    caregiving_sensitivity: care.sensitivity,
                    early_care_quality: care.early_care_quality,
                    bonds,
                    close_bonds,
                    partner: partner.map(|e| graph.id(graph.other_end(e, m.node))),
                    bonds_formed: h.bonds_formed,
                    bonds_lost: h.bonds_lost,
                    bereavements: h.bereavements,
                    longest_bond_ticks: i64::from(h.longest_bond_ticks),
                    category_age1: h.category_age1,
                    category_age18: h.category_age18,
                    earned_security: h.earned_security,
                    children: h.children,
                });
            }
            c
        })
        .collect();
    AgentColumns::joined(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Either end of a bond finds the other and the `a` end from the bond's word, whichever
        /// of the two is the lower index, up to the largest indices the code allows.
        #[test]
        fn a_bond_word_gives_each_end_the_other_and_a(a in 0u32..(1 << 31), b in 0u32..(1 << 31), edge_cases in 0u8..4) {
            let (a, b) = match edge_cases {
                0 => (a, b),
                1 => (0, b),
                2 => ((1 << 31) - 1, b),
                _ => (a, (1 << 31) - 1),
            };
            prop_assume!(a != b);
            let (a, b) = (NodeIndex::new(a as usize), NodeIndex::new(b as usize));
            let word = BondWord::ends(a, b);
            prop_assert_eq!(word.other_and_a(a), (b, a));
            prop_assert_eq!(word.other_and_a(b), (a, a));
        }
    }

    #[test]
    #[should_panic(expected = "node indices stay below 2^31")]
    fn a_bond_word_refuses_an_index_it_cannot_code() {
        BondWord::ends(NodeIndex::new(1), NodeIndex::new(1 << 31));
    }

    #[test]
    fn a_bond_word_keeps_a_weight_to_the_bit() {
        for w in [0.0f32, 1.0e-30, 0.123_456_79, 3.5, f32::MAX] {
            assert_eq!(BondWord::weight(w).as_weight().to_bits(), w.to_bits());
        }
    }

    /// 800 founders at weekly ticks, on 2 threads, without snapshots.
    fn small_population() -> crate::Simulation {
        let settings = crate::Settings {
            seed: 9,
            population: 800,
            tick_days: 7.0,
            snapshot_every_ticks: 0,
            threads: 2,
            interventions: Vec::new(),
        };
        crate::Simulation::new(&settings, bondsim_model::Params::default()).expect("thread pool")
    }

    /// Runs `ticks` ticks and hands every bond event they record to `event`, in order.
    fn each_bond_event(sim: &mut crate::Simulation, ticks: usize, mut event: impl FnMut(&BondEventRow) + Send) {
        for _ in 0..ticks {
            sim.step();
            sim.drain_output(|rows| {
                rows.bond_events.iter().for_each(&mut event);
                Ok::<(), ()>(())
            })
            .expect("no sink error");
        }
    }

    /// Each living agent's `History`, by id.
    fn histories(sim: &mut crate::Simulation) -> std::collections::HashMap<u64, History> {
        let mut agents = sim.world_mut().query::<(&Person, &History)>();
        agents.iter(sim.world()).map(|(person, history)| (person.id, *history)).collect()
    }

    /// Each agent's `History::bonds_formed` counts the bonds it formed, as the bond events record
    /// them: an encounter's bond for both agents (counted by the gather, `FieldSlot::new_bonds`),
    /// a birth's parent–child bond for the parent (counted where the birth is given).
    #[test]
    fn each_agents_bonds_formed_counts_its_formed_bond_events() {
        let mut sim = small_population();
        let before = histories(&mut sim);
        let mut formed = std::collections::HashMap::<u64, u32>::new();
        let (mut encounters, mut births) = (0, 0);
        each_bond_event(&mut sim, 40, |e| {
            if e.event != BondEventKind::Formed {
                return;
            }
            // `agent_a` has the smaller id: in a parent–child bond, the parent.
            *formed.entry(e.agent_a).or_default() += 1;
            if e.kind == BondKind::ParentChild {
                births += 1;
            } else {
                *formed.entry(e.agent_b).or_default() += 1;
                encounters += 1;
            }
        });
        assert!(encounters > 1_000 && births > 0, "{encounters} encounters' bonds, {births} births' bonds");
        for (id, history) in histories(&mut sim) {
            let gained = history.bonds_formed - before.get(&id).map_or(0, |h| h.bonds_formed);
            assert_eq!(gained, formed.get(&id).copied().unwrap_or(0), "agent {id}");
        }
    }

    /// What a separation does to the agents, made by `separations` before the fates change the
    /// graph: both partners' cortisol rises by half the bereavement spike times the bond's
    /// strength; each of their children under 18 takes one negative life event (once, where both
    /// partners are its parents); no other agent's cortisol or experience changes.
    #[test]
    fn a_separation_spikes_both_partners_and_marks_each_young_child_once() {
        use bevy_ecs::system::RunSystemOnce;
        let mut sim = small_population();
        // A couple with a child under 18 of both (born in the run): its slot, the partners' nodes
        // and strength, and all their children under 18.
        let young_children = |world: &World, parents: [NodeIndex; 2]| {
            let (graph, view, clock) =
                (world.resource::<SocialGraph>(), world.resource::<AgentView>(), *world.resource::<Clock>());
            let adult_years = world.resource::<ModelParams>().0.life.adult_years;
            let mut children: Vec<NodeIndex> = graph
                .links()
                .filter(|(_, l)| l.bond.state.kind == BondKind::ParentChild && parents.contains(&l.a))
                .map(|(_, l)| l.b)
                .filter(|child| view.slots[child.index()].age_years(&clock) < adult_years)
                .collect();
            children.sort_unstable();
            let of_both = children.windows(2).any(|pair| pair[0] == pair[1]);
            children.dedup();
            (children, of_both)
        };
        let (slot, partners, strength, children) = (0..600)
            .find_map(|_| {
                sim.step();
                sim.drain_output(|_| Ok::<(), ()>(())).expect("no sink error");
                // The view as the next tick's phases read it, this tick's newborn included.
                sim.run_phase(refresh_agent_view);
                let world = sim.world();
                let graph = world.resource::<SocialGraph>();
                graph.links().find_map(|(edge, l)| {
                    let couple = l.bond.state.kind == BondKind::Romantic;
                    let (children, of_both) =
                        if couple { young_children(world, [l.a, l.b]) } else { (Vec::new(), false) };
                    of_both.then(|| (edge.index(), [l.a, l.b], l.bond.state.strength, children))
                })
            })
            .expect("a couple with a child of both under 18 within 600 ticks");
        let levels = |world: &mut World| {
            let mut rows = world.query::<(&Person, &Physiology, &Care)>();
            rows.iter(world).map(|(person, ph, care)| (person.node, (ph.0.cortisol, care.experience))).collect()
        };
        let before: std::collections::HashMap<NodeIndex, (f64, [f64; 2])> = levels(sim.world_mut());
        sim.world_mut()
            .run_system_once(
                move |graph: Res<SocialGraph>,
                      view: Res<AgentView>,
                      clock: Res<Clock>,
                      params: Res<ModelParams>,
                      mut agents: Query<SeparatingAgent>| {
                    separations(&[(slot, Fate::Separate)], &graph, &view.slots, &params.0, &clock, &mut agents);
                },
            )
            .expect("the system runs");
        let after: std::collections::HashMap<NodeIndex, (f64, [f64; 2])> = levels(sim.world_mut());
        let p = &sim.world().resource::<ModelParams>().0;
        assert_eq!(before.len(), after.len(), "the same agents");
        // The loop below covers the couple and its children, and their changes are visible.
        for node in partners.iter().chain(&children) {
            assert!(before.contains_key(node), "node {} has no levels", node.index());
        }
        let mut changed = 0;
        for (node, &(cortisol, experience)) in &before {
            let now = after[node];
            let spiked =
                rules::unit(cortisol + SEPARATION_SPIKE_SHARE * p.stress.bereavement_spike * f64::from(strength));
            let mut marked = experience;
            rules::life_event(&mut marked, SEPARATION_EVENT_SEVERITY, &p.development);
            let expected = match (partners.contains(node), children.contains(node)) {
                (true, _) => (spiked, experience),
                (false, true) => (cortisol, marked),
                (false, false) => (cortisol, experience),
            };
            assert_eq!(now, expected, "node {}", node.index());
            changed += usize::from(now != (cortisol, experience));
        }
        assert_eq!(changed, partners.len() + children.len(), "each partner and child changed");
    }

    /// A woman whose birth draw (made in the caregiving phase) and death fall in the same tick
    /// gives no birth: only the women the deaths left alive and partnered give one. Her death is
    /// added to the tick's draws by hand (the model makes the coincidence rare); the tick's other
    /// partnered women with a birth draw still give theirs.
    #[test]
    fn a_woman_who_dies_in_the_tick_she_conceives_gives_no_birth() {
        // The tick's phases are run one by one below, in the schedule's order: nine, then the
        // deaths, the births and the metrics row.
        let order: Vec<&str> = tick_phases().iter().map(|p| p.name).collect();
        assert_eq!(order.len(), 12, "{order:?}");
        assert_eq!(order[8..], ["caregiving_and_development", "apply_deaths", "apply_births", "record_tick"]);
        let mut sim = small_population();
        let mut found = None;
        for _ in 0..600 {
            // Up to the caregiving phase's draws.
            sim.run_phase(advance_clock);
            sim.run_phase(renumber_for_locality);
            sim.run_phase(apply_interventions);
            sim.run_phase(refresh_agent_view);
            sim.run_phase(meet_new_people);
            sim.run_phase(share_contact_time);
            sim.run_phase(learn_from_contact);
            sim.run_phase(break_partner_and_update_stress);
            sim.run_phase(caregiving_and_development);
            let world = sim.world();
            let (graph, field) = (world.resource::<SocialGraph>(), world.resource::<SocialField>());
            let drawn: Vec<Member> =
                field.conceiving.iter().copied().filter(|m| partner_of(graph, m.node).is_some()).collect();
            if drawn.len() >= 2 {
                let dying: Vec<u64> = field.dying.iter().map(|(m, _)| m.id).collect();
                let mother = drawn[0];
                let others: Vec<u64> = drawn[1..].iter().map(|m| m.id).filter(|id| !dying.contains(id)).collect();
                let mut field = sim.world_mut().resource_mut::<SocialField>();
                if !dying.contains(&mother.id) {
                    field.dying.push((mother, 1.0));
                }
                found = Some((mother, others));
            }
            sim.run_phase(apply_deaths);
            sim.run_phase(apply_births);
            sim.run_phase(record_tick);
            if found.is_some() {
                break;
            }
            sim.take_output();
        }
        let (mother, others) = found.expect("two partnered women with a birth draw in one tick within 600 ticks");
        let output = sim.take_output();
        assert!(output.deaths.iter().any(|d| d.agent == mother.id), "she died this tick");
        assert!(!sim.world().entities().contains_spawned(mother.entity), "she is gone");
        let mothers: Vec<u64> = output.births.iter().map(|b| b.mother).collect();
        assert!(!mothers.contains(&mother.id), "no birth from a woman who died this tick");
        assert!(!others.is_empty(), "another partnered woman drew a birth");
        for id in &others {
            // Unless her partner died this tick (then she is no longer partnered).
            let widowed = output
                .bond_events
                .iter()
                .any(|e| e.event == BondEventKind::Bereaved && e.kind == BondKind::Romantic && e.agent_a == *id);
            assert!(widowed || mothers.contains(id), "agent {id} drew a birth and gave none");
        }
    }

    /// Each living agent's `History::bonds_lost` counts the bonds it lost, as the bond events
    /// record them (a break or a separation for both agents, counted by node in the fates' serial
    /// pass and added by `caregiving_and_development`; a bereavement for the survivor), and its
    /// `longest_bond_ticks` is at least the age of every bond it lost.
    #[test]
    fn each_agents_bonds_lost_counts_its_ended_bond_events() {
        let mut sim = small_population();
        let before = histories(&mut sim);
        let mut lost = std::collections::HashMap::<u64, (u32, i64)>::new();
        let mut count = |id: u64, age: i64| {
            let entry = lost.entry(id).or_default();
            *entry = (entry.0 + 1, entry.1.max(age));
        };
        let (mut fates, mut bereavements) = (0, 0);
        each_bond_event(&mut sim, 200, |e| match e.event {
            BondEventKind::Broken | BondEventKind::Separated => {
                count(e.agent_a, e.bond_age_ticks);
                count(e.agent_b, e.bond_age_ticks);
                fates += 1;
            }
            // The survivor is `agent_a`; the one who died is gone.
            BondEventKind::Bereaved => {
                count(e.agent_a, e.bond_age_ticks);
                bereavements += 1;
            }
            _ => {}
        });
        assert!(fates > 1_000 && bereavements > 0, "{fates} bonds broken or separated, {bereavements} bereavements");
        for (id, history) in histories(&mut sim) {
            let gained = history.bonds_lost - before.get(&id).map_or(0, |h| h.bonds_lost);
            let (events, oldest) = lost.get(&id).copied().unwrap_or_default();
            assert_eq!(gained, events, "agent {id}");
            let longest = i64::from(history.longest_bond_ticks);
            assert!(longest >= oldest, "agent {id}: longest bond {longest} ticks, lost one of {oldest}");
        }
    }
}
