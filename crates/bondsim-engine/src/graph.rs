//! The social graph: petgraph is the source of truth for who is bonded to whom; the bond table
//! is a dense `Vec` indexed by the graph's edge index, so per-tick work over bonds runs over flat
//! memory instead of walking the graph (ARCHITECTURE brief: 65x faster on this machine).

use bevy_ecs::prelude::{Entity, Resource};
use bondsim_model::{BondKind, BondState};

use crate::adjacency::Adjacency;
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableUnGraph};
use rayon::prelude::*;

/// One bond's state in the bond table, in 32 bytes (levels in single precision): a million
/// agents hold about nine million bonds, and the bond phases stream the table several times a
/// tick. Its two agents are petgraph's edge endpoints ([`SocialGraph::ends`]), not kept again
/// here: `a`, the end with the smaller agent id (in a parent–child bond the parent: ids are
/// given in birth order), is the edge's source. The agents' ids are kept once per node
/// ([`SocialGraph::id`]).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Bond {
    pub state: BondState,
    /// Reward of this tick's contact (0–1), for the partners' tonic dopamine.
    pub reward: f32,
}

// Two bonds to a cache line, none across two; a free slot costs no more than a bond.
const _: () = assert!(size_of::<Bond>() == 32 && size_of::<Option<Bond>>() == 32);

/// A bond with its two agents' nodes, `a` (the smaller id) first: what removing a bond gives
/// back, and what a checkpoint keeps for each bond.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Link {
    pub a: NodeIndex,
    pub b: NodeIndex,
    pub bond: Bond,
}

impl Link {
    /// The other end of the bond, seen from `node`.
    pub fn other(&self, node: NodeIndex) -> NodeIndex {
        other_of((self.a, self.b), node)
    }
}

/// Of a bond's two ends, the one that is not `node`.
fn other_of((a, b): (NodeIndex, NodeIndex), node: NodeIndex) -> NodeIndex {
    if a == node { b } else { a }
}

/// What a graph node carries: the agent's entity and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeAgent {
    pub entity: Entity,
    pub id: u64,
}

impl NodeAgent {
    /// A node whose agent is not spawned yet (a graph rebuilt from a checkpoint).
    pub const PLACEHOLDER: Self = Self { entity: Entity::PLACEHOLDER, id: u64::MAX };
}

#[derive(Resource, Debug, Default)]
pub struct SocialGraph {
    pub graph: StableUnGraph<NodeAgent, ()>,
    /// Indexed by `EdgeIndex::index()`; `None` where the edge slot is free.
    pub bonds: Vec<Option<Bond>>,
    /// Each node's bonds as edge indices in ascending order, kept with every change: degrees,
    /// neighbours and bond checks read these flat lists instead of walking petgraph's linked
    /// adjacency (the walk was a fifth of a tick's time at 100,000 agents), and their order does
    /// not depend on insertion history, which a checkpoint does not keep.
    adjacency: Adjacency,
    /// Romantic bonds in `bonds`, kept with every change that makes or ends one (`add_bond`,
    /// `remove_bond`, `partner`; counted when the graph is rebuilt), so that the metrics row does
    /// not stream the bond table to count them. Only those make a bond romantic: the learning
    /// phase re-classifies chosen bonds among themselves (`check_invariants` counts them again).
    couples: u64,
}

impl SocialGraph {
    pub fn add_agent(&mut self, entity: Entity, id: u64) -> NodeIndex {
        self.graph.add_node(NodeAgent { entity, id })
    }

    pub fn entity(&self, node: NodeIndex) -> Entity {
        self.graph[node].entity
    }

    /// The id of the agent at `node`.
    pub fn id(&self, node: NodeIndex) -> u64 {
        self.graph[node].id
    }

    /// The nodes of the agents at the ends of the bond in `edge` (a slot in use), `a` first
    /// (the smaller id).
    pub fn ends(&self, edge: EdgeIndex) -> (NodeIndex, NodeIndex) {
        Ends(&self.graph).of(edge.index())
    }

    /// The nodes at the ends of the bond in edge slot `slot`, if it holds one.
    pub fn ends_of(&self, slot: usize) -> Option<(NodeIndex, NodeIndex)> {
        Ends(&self.graph).get(slot)
    }

    /// The other end of the bond in `edge`, seen from `node`.
    pub fn other_end(&self, edge: EdgeIndex, node: NodeIndex) -> NodeIndex {
        other_of(self.ends(edge), node)
    }

    /// The ids of the agents at the ends of the bond in `edge`, `a`'s first (the smaller).
    pub fn ids(&self, edge: EdgeIndex) -> (u64, u64) {
        let (a, b) = self.ends(edge);
        (self.id(a), self.id(b))
    }

    /// The bond in `edge` with its ends, if the slot holds one.
    pub fn link(&self, edge: EdgeIndex) -> Option<Link> {
        let bond = (*self.bonds.get(edge.index())?)?;
        let (a, b) = self.ends(edge);
        Some(Link { a, b, bond })
    }

    /// Every bond with its ends, in edge-index order.
    pub fn links(&self) -> impl Iterator<Item = (EdgeIndex, Link)> + '_ {
        (0..self.bonds.len()).map(EdgeIndex::new).filter_map(|edge| Some((edge, self.link(edge)?)))
    }

    /// The bond table to change in place, with the ends of each bond to read beside it (the
    /// bond phases run over both in parallel).
    pub fn bonds_with_ends(&mut self) -> (&mut [Option<Bond>], Ends<'_>) {
        (&mut self.bonds, Ends(&self.graph))
    }

    /// Number of slots a per-node array must have.
    pub fn node_bound(&self) -> usize {
        petgraph::visit::NodeIndexable::node_bound(&self.graph)
    }

    pub fn degree(&self, node: NodeIndex) -> usize {
        self.adjacency.len(node)
    }

    /// Whether two agents are bonded: a bond between them is the one edge both their lists hold,
    /// so one merge walk over the two sorted lists answers without reading a bond (the bonds sit
    /// at random places; the lists are short and each in one place).
    pub fn are_bonded(&self, a: NodeIndex, b: NodeIndex) -> bool {
        if a == b {
            return false;
        }
        let (mut x, mut y) = (self.bonds_of(a), self.bonds_of(b));
        while let (Some(&ex), Some(&ey)) = (x.first(), y.first()) {
            match ex.cmp(&ey) {
                std::cmp::Ordering::Less => x = &x[1..],
                std::cmp::Ordering::Greater => y = &y[1..],
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// Adds a bond between two agents' nodes, in either order; for a parent–child bond, the
    /// parent first. A parent is always older than its child, so it has the smaller id and
    /// becomes the bond's `a` end (checked here, as the bond keeps no other record of it).
    pub fn add_bond(&mut self, ends: [NodeIndex; 2], state: BondState) -> EdgeIndex {
        let [na, nb] = ends;
        let (ia, ib) = (self.id(na), self.id(nb));
        debug_assert!(na != nb && ia != ib, "self-bond");
        assert!(
            state.kind != BondKind::ParentChild || ia < ib,
            "a parent (agent {ia}) must have a smaller id than its child (agent {ib})"
        );
        // The edge's source is the `a` end (`ends` reads it back).
        let (a, b) = if ia < ib { (na, nb) } else { (nb, na) };
        let edge = self.graph.add_edge(a, b, ());
        self.couples += u64::from(state.kind == BondKind::Romantic);
        self.adjacency.insert(a, edge);
        self.adjacency.insert(b, edge);
        let slot = edge.index();
        if self.bonds.len() <= slot {
            self.bonds.resize(slot + 1, None);
        }
        self.bonds[slot] = Some(Bond { state, reward: 0.0 });
        edge
    }

    /// Makes the bond in `edge` (a chosen bond) romantic: the two become a couple.
    pub fn partner(&mut self, edge: EdgeIndex) {
        let bond = self.bonds[edge.index()].as_mut().expect("a bond in the slot");
        assert!(bond.state.kind.is_chosen(), "a couple forms from a chosen bond");
        bond.state.kind = BondKind::Romantic;
        self.couples += 1;
    }

    /// Romantic bonds in the graph.
    pub fn couples(&self) -> u64 {
        self.couples
    }

    /// Removes the bond in `edge`, if there is one, and returns it with its ends.
    pub fn remove_bond(&mut self, edge: EdgeIndex) -> Option<Link> {
        let (a, b) = self.graph.edge_endpoints(edge)?;
        let bond = self.bonds.get_mut(edge.index())?.take()?;
        self.couples -= u64::from(bond.state.kind == BondKind::Romantic);
        self.graph.remove_edge(edge);
        self.adjacency.remove(a, edge);
        self.adjacency.remove(b, edge);
        Some(Link { a, b, bond })
    }

    /// Removes an agent's node and returns its bonds, in edge-index order. The bonds are removed
    /// one by one in that order before the node, so the order of free edge slots does not depend
    /// on petgraph's adjacency order (which a checkpoint does not keep).
    pub fn remove_agent(&mut self, node: NodeIndex) -> Vec<Link> {
        let edges = self.bonds_of(node).to_vec();
        let bonds = edges.into_iter().filter_map(|e| self.remove_bond(e)).collect();
        self.graph.remove_node(node);
        bonds
    }

    /// The edge indices of a node's bonds, in ascending order.
    pub fn bonds_of(&self, node: NodeIndex) -> &[EdgeIndex] {
        self.adjacency.get(node)
    }

    /// Asks the processor for where the list of `node`'s bonds is kept.
    pub(crate) fn prefetch_list(&self, node: NodeIndex) {
        self.adjacency.prefetch(node);
    }

    /// Asks the processor for the list of `node`'s bonds itself (reading where it is kept).
    pub(crate) fn prefetch_list_entries(&self, node: NodeIndex) {
        self.adjacency.prefetch_entries(node);
    }

    /// Asks for the node's entry (its id and entity), which [`SocialGraph::id`] will read.
    pub(crate) fn prefetch_node(&self, node: NodeIndex) {
        if let Some(agent) = self.graph.node_weight(node) {
            crate::prefetch::prefetch(agent);
        }
    }

    /// A bond of `node` drawn with probability proportional to its strength (`u` uniform in
    /// [0, 1)): people are introduced through their closer bonds. The neighbour is its other end
    /// ([`Self::other_end`], a read the caller can make together with others).
    pub fn bond_by_strength(&self, node: NodeIndex, u: f64) -> Option<EdgeIndex> {
        let bonds = self.bonds_of(node).iter().filter_map(|&e| self.bonds[e.index()].map(|b| (b.state.strength, e)));
        // The bonds are read once (they sit at random places) into a copy on the stack, and the
        // draw walks the copy twice; more bonds than it holds are walked in place. The copy holds
        // the strength as stored (single precision) and the slot, 8 bytes an entry, since it is
        // set afresh at every draw (two for each encounter through a friend).
        let mut copy = [(0.0f32, EdgeIndex::end()); 48];
        let widen = |(strength, e): (f32, EdgeIndex)| (f64::from(strength), e);
        if self.degree(node) <= copy.len() {
            let mut n = 0;
            for (slot, bond) in copy.iter_mut().zip(bonds) {
                *slot = bond;
                n += 1;
            }
            draw_by_weight(copy[..n].iter().copied().map(widen), u)
        } else {
            draw_by_weight(bonds.map(widen), u)
        }
    }

    pub fn bond_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The free node and edge slots in the order petgraph will reuse them. Found by filling the
    /// free slots (each add takes the next free one) and emptying them again in reverse, which
    /// leaves the free lists as they were.
    pub fn free_slot_order(&mut self) -> (Vec<usize>, Vec<usize>) {
        let node_bound = self.node_bound();
        let mut free_nodes = Vec::new();
        while self.graph.node_count() < node_bound {
            free_nodes.push(self.graph.add_node(NodeAgent::PLACEHOLDER).index());
        }
        let edge_bound = petgraph::visit::EdgeIndexable::edge_bound(&self.graph);
        let mut free_edges = Vec::new();
        if let Some(anchor) = self.graph.node_indices().next() {
            while self.graph.edge_count() < edge_bound {
                free_edges.push(self.graph.add_edge(anchor, anchor, ()).index());
            }
        }
        for &e in free_edges.iter().rev() {
            self.graph.remove_edge(EdgeIndex::new(e));
        }
        for &n in free_nodes.iter().rev() {
            self.graph.remove_node(NodeIndex::new(n));
        }
        (free_nodes, free_edges)
    }

    /// A graph with the given node and edge slots in use and the free slots in the given reuse
    /// order; node weights are placeholders until the agents are spawned. `ends[slot]` are the
    /// nodes of the bond in `bonds[slot]`, `a` first, and both `NodeIndex::end()` where the slot
    /// is free; `couples` the romantic bonds among them (which a renumbering keeps, and a restored
    /// state counts with [`count_couples`]). Call it in the simulation's thread pool: it builds
    /// petgraph's graph on one thread while the bond lists are built in parallel (`rayon::join`),
    /// both from the ends alone.
    pub fn rebuild(
        node_bound: usize,
        free_nodes: &[usize],
        bonds: Vec<Option<Bond>>,
        ends: &[[NodeIndex; 2]],
        free_edges: &[usize],
        couples: u64,
    ) -> Self {
        assert_eq!(bonds.len(), ends.len(), "the ends of every slot");
        debug_assert!(
            bonds.iter().zip(ends).all(|(bond, [a, _])| bond.is_some() == (*a != NodeIndex::end())),
            "a free slot's ends, and only its, are NodeIndex::end()"
        );
        debug_assert_eq!(couples, count_couples(&bonds), "the romantic bonds counted");
        let build_graph = || {
            let mut graph = StableUnGraph::default();
            for _ in 0..node_bound {
                graph.add_node(NodeAgent::PLACEHOLDER);
            }
            // Stand-in edges need a node; with no node left there is no free edge slot to keep.
            let anchor = (0..node_bound).map(NodeIndex::new).find(|n| !free_nodes.contains(&n.index()));
            let mut stand_ins = Vec::new();
            for &[a, b] in ends {
                if a != NodeIndex::end() {
                    graph.add_edge(a, b, ());
                } else if let Some(anchor) = anchor {
                    stand_ins.push(graph.add_edge(anchor, anchor, ()).index());
                }
            }
            let order: Vec<usize> = if free_edges.is_empty() { stand_ins } else { free_edges.to_vec() };
            for &e in order.iter().rev() {
                graph.remove_edge(EdgeIndex::new(e));
            }
            for &n in free_nodes.iter().rev() {
                graph.remove_node(NodeIndex::new(n));
            }
            graph
        };
        let (graph, adjacency) = rayon::join(build_graph, || Adjacency::from_ends(node_bound, ends));
        Self { graph, bonds, adjacency, couples }
    }

    /// Renumbers the graph for locality: node `i` becomes `order[i]`'s agent, and the bonds are
    /// stored sorted by their new endpoints (lower node, then higher), so that an agent's bonds
    /// sit together in the bond table and near those of the agents it is bonded to. No slot is
    /// left free. Returns, for each old node slot, its new node (`NodeIndex::end()` for a slot
    /// not in `order`). A pure function of the graph and `order`: runs that renumber at the
    /// same ticks stay identical.
    ///
    /// `sorted_before`: the tick of the last renumbering in the same order, if there was one.
    /// The bonds formed before it still sit in their sorted order (nodes keep their relative
    /// order, and a bond never moves between renumberings), so only the newer ones are sorted
    /// and merged in (`None`: all are sorted together). It changes how long this takes, never
    /// the result: the old bonds are checked to be in order and sorted if they are not.
    pub fn renumber(&mut self, order: &[NodeIndex], sorted_before: Option<u32>) -> Vec<NodeIndex> {
        let mut new_of = vec![NodeIndex::end(); self.node_bound()];
        for (new, old) in order.iter().enumerate() {
            new_of[old.index()] = NodeIndex::new(new);
        }
        let agents: Vec<NodeAgent> = order.iter().map(|&old| self.graph[old]).collect();
        // Each bond's new ends (`a` first, as before) and its slot: 12 bytes a bond, made before
        // the old graph is dropped (the ends are petgraph's), and the bond table gathered in the
        // new order after it, so that at a million agents the old graph (about 260 MB) is gone
        // before the new table (about 290 MB) is made.
        let mut moves: Vec<Move> = Vec::with_capacity(self.bond_count());
        let mut fresh: Vec<Move> = Vec::new();
        for (edge, link) in self.links() {
            let (a, b) = (new_of[link.a.index()], new_of[link.b.index()]);
            debug_assert!(a != NodeIndex::end() && b != NodeIndex::end(), "a bond to an agent not in the order");
            let slot = u32::try_from(edge.index()).expect("fewer than 2^32 bond slots");
            let old = sorted_before.is_none_or(|tick| link.bond.state.formed_tick < tick);
            if old { &mut moves } else { &mut fresh }.push(Move { a, b, slot });
        }
        let old_bonds = std::mem::take(&mut self.bonds);
        // The same bonds in new places: as many couples.
        let couples = self.couples;
        // The old graph and lists are given back (about 300 MB at a million agents, 15–25 ms of
        // the kernel's time) while the moves are sorted, before the new table is made.
        let old = std::mem::take(self);
        rayon::join(
            move || drop(old),
            || {
                // Pairs are unique, so the order is total and the parallel sorts deterministic.
                if !moves.par_windows(2).all(|w| w[0].key() < w[1].key()) {
                    moves.par_sort_unstable_by_key(Move::key);
                }
                fresh.par_sort_unstable_by_key(Move::key);
                merge_sorted(&mut moves, &fresh);
            },
        );
        drop(fresh);
        let bonds: Vec<Option<Bond>> = moves.par_iter().map(|m| old_bonds[m.slot as usize]).collect();
        drop(old_bonds);
        // Collected in place (the standard library reuses the moves' memory for the ends).
        let ends: Vec<[NodeIndex; 2]> = moves.into_iter().map(|m| [m.a, m.b]).collect();
        *self = Self::rebuild(order.len(), &[], bonds, &ends, &[], couples);
        for (node, agent) in agents.into_iter().enumerate() {
            self.graph[NodeIndex::new(node)] = agent;
        }
        new_of
    }

    pub fn kind_of(&self, edge: EdgeIndex) -> Option<BondKind> {
        self.bonds.get(edge.index()).copied().flatten().map(|b| b.state.kind)
    }
}

/// The ends of the bonds, read beside the bond table while it is changed in place
/// ([`SocialGraph::bonds_with_ends`]).
#[derive(Clone, Copy)]
pub struct Ends<'a>(&'a StableUnGraph<NodeAgent, ()>);

impl Ends<'_> {
    /// The nodes at the ends of the bond in slot `slot` (in use), `a` first.
    pub fn of(&self, slot: usize) -> (NodeIndex, NodeIndex) {
        self.get(slot).expect("a bond in the slot")
    }

    /// The nodes at the ends of the bond in slot `slot`, if the slot holds one.
    pub fn get(&self, slot: usize) -> Option<(NodeIndex, NodeIndex)> {
        self.0.edge_endpoints(EdgeIndex::new(slot))
    }
}

/// Where renumbering moves a bond: its new ends (`a` first) and its old slot.
#[derive(Debug, Clone, Copy)]
struct Move {
    a: NodeIndex,
    b: NodeIndex,
    slot: u32,
}

impl Move {
    /// The bond's place in the renumbered table: lower end, then higher.
    fn key(&self) -> (NodeIndex, NodeIndex) {
        (self.a.min(self.b), self.a.max(self.b))
    }
}

/// Merges `extra` (sorted by key) into `sorted` (sorted by key), in place from the back: one
/// pass, and no copy of `sorted` beside it (at a million agents it is about 110 MB).
fn merge_sorted(sorted: &mut Vec<Move>, extra: &[Move]) {
    let (mut i, mut j) = (sorted.len(), extra.len());
    sorted.extend_from_slice(extra);
    let mut k = sorted.len();
    while j > 0 {
        k -= 1;
        if i > 0 && sorted[i - 1].key() > extra[j - 1].key() {
            i -= 1;
            sorted[k] = sorted[i];
        } else {
            j -= 1;
            sorted[k] = extra[j];
        }
    }
}

/// One of the items, drawn with probability proportional to its weight (`u` uniform in
/// [0, 1)); the last one if rounding leaves the walk short.
fn draw_by_weight<T: Copy>(items: impl Iterator<Item = (f64, T)> + Clone, u: f64) -> Option<T> {
    let total: f64 = items.clone().map(|(w, _)| w).sum();
    let mut left = u * total;
    let mut last = None;
    for (w, item) in items {
        left -= w;
        if left < 0.0 {
            return Some(item);
        }
        last = Some(item);
    }
    last
}

/// Romantic bonds in a bond table, counted in parallel (for a restored state's graph, and for
/// the invariant checker: the graph keeps its own count).
pub(crate) fn count_couples(bonds: &[Option<Bond>]) -> u64 {
    bonds.par_iter().flatten().filter(|b| b.state.kind == BondKind::Romantic).count() as u64
}

#[cfg(test)]
mod tests {
    use bondsim_model::Params;
    use proptest::prelude::*;

    use petgraph::stable_graph::NodeIndex;

    use super::{SocialGraph, count_couples};
    use crate::{Settings, Simulation};

    proptest! {
        /// Any split of a set of bonds (distinct pairs, either end first) into two sorted parts
        /// merges into the set sorted.
        #[test]
        fn merging_two_sorted_parts_sorts_the_whole(
            pairs in proptest::collection::btree_set((0usize..60, 1usize..60), 0..120),
            flip in proptest::collection::vec(any::<bool>(), 120),
            to_extra in proptest::collection::vec(any::<bool>(), 120),
        ) {
            let moves: Vec<super::Move> = pairs
                .iter()
                .enumerate()
                .map(|(slot, &(low, gap))| {
                    let (a, b) = if flip[slot] { (low + gap, low) } else { (low, low + gap) };
                    super::Move { a: NodeIndex::new(a), b: NodeIndex::new(b), slot: slot as u32 }
                })
                .collect();
            let mut expected = moves.clone();
            expected.sort_by_key(super::Move::key);
            let (mut sorted, mut extra): (Vec<_>, Vec<_>) =
                moves.iter().enumerate().partition(|(i, _)| !to_extra[*i]);
            sorted.sort_by_key(|(_, m)| m.key());
            extra.sort_by_key(|(_, m)| m.key());
            let mut merged: Vec<super::Move> = sorted.into_iter().map(|(_, m)| *m).collect();
            let extra: Vec<super::Move> = extra.into_iter().map(|(_, m)| *m).collect();
            super::merge_sorted(&mut merged, &extra);
            let slots = |v: &[super::Move]| v.iter().map(|m| m.slot).collect::<Vec<_>>();
            prop_assert_eq!(slots(&merged), slots(&expected));
        }
    }

    /// The invariant checker refuses the state, saying `what`.
    fn assert_caught(sim: &Simulation, what: &str) {
        let err = sim.check_invariants().expect_err(what);
        assert!(err.contains(what), "{err}");
    }

    fn small_run(ticks: usize) -> Simulation {
        let settings = Settings {
            seed: 5,
            population: 600,
            tick_days: 7.0,
            snapshot_every_ticks: 0,
            threads: 1,
            interventions: Vec::new(),
        };
        let mut sim = Simulation::new(&settings, Params::default()).expect("thread pool");
        for _ in 0..ticks {
            sim.step();
        }
        sim
    }

    /// Every bond as its agents' ids (`a`'s first) and its state, in id order.
    fn content(sim: &Simulation) -> Vec<(u64, u64, String)> {
        let graph = sim.world().resource::<SocialGraph>();
        let mut bonds: Vec<_> = graph
            .links()
            .map(|(edge, link)| {
                let (id_a, id_b) = graph.ids(edge);
                (id_a, id_b, format!("{:?} {}", link.bond.state, link.bond.reward))
            })
            .collect();
        bonds.sort_by_key(|x| (x.0, x.1));
        bonds
    }

    #[test]
    fn are_bonded_agrees_with_the_bond_table_for_every_pair() {
        // Bonds formed, broken, ended by deaths and added by births: the lists have changed.
        let sim = small_run(30);
        let graph = sim.world().resource::<SocialGraph>();
        let pairs: std::collections::HashSet<(NodeIndex, NodeIndex)> =
            graph.links().flat_map(|(_, l)| [(l.a, l.b), (l.b, l.a)]).collect();
        assert!(pairs.len() > 2_000, "a graph with bonds to check: {}", pairs.len());
        let nodes: Vec<NodeIndex> = graph.graph.node_indices().collect();
        for &x in &nodes {
            for &y in &nodes {
                assert_eq!(graph.are_bonded(x, y), pairs.contains(&(x, y)), "{x:?} {y:?}");
            }
        }
    }

    #[test]
    fn renumbering_moves_storage_only_and_sorts_bonds_by_endpoints() {
        let mut sim = small_run(20);
        // Free slots to compact, as broken bonds leave them.
        {
            let mut graph = sim.world_mut().resource_mut::<SocialGraph>();
            for slot in [3, 10, 11] {
                graph.remove_bond(petgraph::stable_graph::EdgeIndex::new(slot)).expect("a bond in the slot");
            }
        }
        let before = content(&sim);
        let world = sim.world_mut();
        let mut order: Vec<(i64, u64, NodeIndex)> = {
            let roster = world.resource::<crate::sim::Roster>();
            roster
                .members
                .iter()
                .map(|m| (world.get::<crate::components::Person>(m.entity).unwrap().birth_tick, m.id, m.node))
                .collect()
        };
        order.sort_unstable();
        // Renumber in reverse birth order, through the same path the phase takes.
        let nodes: Vec<NodeIndex> = order.iter().rev().map(|o| o.2).collect();
        let new_of = world.resource_mut::<SocialGraph>().renumber(&nodes, None);
        let members = world.resource::<crate::sim::Roster>().members.clone();
        for m in &members {
            let node = new_of[m.node.index()];
            world.get_mut::<crate::components::Person>(m.entity).unwrap().node = node;
        }
        world.resource_mut::<crate::sim::Roster>().members.iter_mut().for_each(|m| m.node = new_of[m.node.index()]);
        assert_eq!(sim.check_invariants(), Ok(()));
        assert_eq!(content(&sim), before, "the same bonds, ends and states");
        let graph = sim.world().resource::<SocialGraph>();
        assert!(graph.bonds.iter().all(Option::is_some), "no free slot left");
        assert_eq!(graph.node_bound(), members.len());
        let ends: Vec<_> = graph.links().map(|(_, l)| (l.a.min(l.b), l.a.max(l.b))).collect();
        assert!(ends.windows(2).all(|w| w[0] < w[1]), "bonds sorted by their endpoints");
        // The oldest agent is now the last node.
        assert_eq!(new_of[order[0].2.index()].index(), members.len() - 1);
    }

    /// Renumbers in roster order, as the phase does, and lists the table slot by slot.
    fn renumbered_table(sorted_before: Option<u32>) -> Vec<(usize, u64, u64, String)> {
        let mut sim = small_run(30);
        let world = sim.world_mut();
        let order: Vec<NodeIndex> = world.resource::<crate::sim::Roster>().members.iter().map(|m| m.node).collect();
        let mut graph = world.resource_mut::<SocialGraph>();
        let formed: Vec<u32> = graph.links().map(|(_, l)| l.bond.state.formed_tick).collect();
        // Ticks 1, 14 and 27 renumbered: bonds on both sides of the last one, and formed after
        // it on both sides of tick 29.
        assert!(formed.iter().any(|&t| t < 27) && formed.iter().any(|&t| (27..29).contains(&t)));
        assert!(formed.iter().any(|&t| t >= 29));
        graph.renumber(&order, sorted_before);
        graph
            .links()
            .map(|(edge, link)| {
                let (id_a, id_b) = graph.ids(edge);
                (edge.index(), id_a, id_b, format!("{:?} {}", link.bond.state, link.bond.reward))
            })
            .collect()
    }

    #[test]
    fn sorting_only_the_bonds_formed_since_the_last_renumbering_gives_the_same_table() {
        let whole = renumbered_table(None);
        assert_eq!(renumbered_table(Some(27)), whole);
        // A wrong tick: the bonds formed at ticks 27 and 28 are taken for sorted and are not, so
        // the older ones are sorted before the newer ones are merged in.
        assert_eq!(renumbered_table(Some(29)), whole);
    }

    #[test]
    fn the_invariant_checker_catches_a_parent_younger_than_its_child() {
        let mut sim = small_run(10);
        assert_eq!(sim.check_invariants(), Ok(()));
        let world = sim.world_mut();
        let graph = world.resource::<SocialGraph>();
        let (_, link) = graph
            .links()
            .find(|(_, l)| l.bond.state.kind == bondsim_model::BondKind::ParentChild)
            .expect("a parent–child bond");
        let (parent, child) = (graph.entity(link.a), graph.entity(link.b));
        let born = world.get::<crate::components::Person>(parent).unwrap().birth_tick;
        world.get_mut::<crate::components::Person>(child).unwrap().birth_tick = born - 1;
        assert_caught(&sim, "the parent end is not the older");
    }

    #[test]
    fn the_invariant_checker_catches_a_bond_list_out_of_edge_order() {
        let mut sim = small_run(10);
        assert_eq!(sim.check_invariants(), Ok(()));
        let mut graph = sim.world_mut().resource_mut::<SocialGraph>();
        let node = graph.adjacency.nodes().find(|&n| graph.degree(n) >= 2).expect("someone has two bonds");
        graph.adjacency.get_mut(node).swap(0, 1);
        assert_caught(&sim, "increasing edge-index order");
    }

    #[test]
    fn the_couples_are_counted_with_every_change_and_a_count_out_of_step_is_caught() {
        let mut sim = small_run(30);
        assert_eq!(sim.check_invariants(), Ok(()));
        let mut graph = sim.world_mut().resource_mut::<SocialGraph>();
        let couples = graph.couples();
        assert!(couples > 0, "a run of 30 ticks has couples");
        assert_eq!(couples, count_couples(&graph.bonds));
        // A friendship made romantic behind the count's back.
        let slot = graph
            .bonds
            .iter()
            .position(|b| b.is_some_and(|b| b.state.kind == bondsim_model::BondKind::Friend))
            .expect("a friendship");
        graph.bonds[slot].as_mut().unwrap().state.kind = bondsim_model::BondKind::Romantic;
        assert_caught(&sim, "romantic bonds in the table");
    }

    #[test]
    fn the_invariant_checker_catches_an_agent_outside_the_roster() {
        let mut sim = small_run(5);
        assert_eq!(sim.check_invariants(), Ok(()));
        let world = sim.world_mut();
        let member = world.resource::<crate::sim::Roster>().members[0];
        let person = *world.get::<crate::components::Person>(member.entity).unwrap();
        world.spawn(person);
        assert_caught(&sim, "agents in the ECS");
    }
}
