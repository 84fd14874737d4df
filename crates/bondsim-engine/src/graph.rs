//! The social graph: petgraph is the source of truth for who is bonded to whom; the bond table
//! is a dense `Vec` indexed by the graph's edge index, so per-tick work over bonds runs over flat
//! memory instead of walking the graph (ARCHITECTURE brief: 65x faster on this machine).

use bevy_ecs::prelude::{Entity, Resource};
use bondsim_model::{BondKind, BondState};
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableUnGraph};
use petgraph::visit::EdgeRef;

/// One bond: its endpoints (nodes and agent ids, `id_a < id_b`) and its state.
#[derive(Debug, Clone, Copy)]
pub struct Bond {
    pub a: NodeIndex,
    pub b: NodeIndex,
    pub id_a: u64,
    pub id_b: u64,
    /// For parent–child bonds: true when `a` is the parent.
    pub a_is_parent: bool,
    pub state: BondState,
    /// Reward of this tick's contact (0–1), for the partners' tonic dopamine.
    pub reward: f64,
}

impl Bond {
    /// The other end of the bond, seen from `node`.
    pub fn other(&self, node: NodeIndex) -> NodeIndex {
        if self.a == node { self.b } else { self.a }
    }
}

#[derive(Resource, Debug, Default)]
pub struct SocialGraph {
    pub graph: StableUnGraph<Entity, ()>,
    /// Indexed by `EdgeIndex::index()`; `None` where the edge slot is free.
    pub bonds: Vec<Option<Bond>>,
}

impl SocialGraph {
    pub fn add_agent(&mut self, entity: Entity) -> NodeIndex {
        self.graph.add_node(entity)
    }

    pub fn entity(&self, node: NodeIndex) -> Entity {
        self.graph[node]
    }

    /// Number of slots a per-node array must have.
    pub fn node_bound(&self) -> usize {
        petgraph::visit::NodeIndexable::node_bound(&self.graph)
    }

    pub fn degree(&self, node: NodeIndex) -> usize {
        self.graph.edges(node).count()
    }

    pub fn are_bonded(&self, a: NodeIndex, b: NodeIndex) -> bool {
        self.graph.find_edge(a, b).is_some()
    }

    /// Adds a bond; `a_is_parent` is read only for parent–child bonds.
    pub fn add_bond(&mut self, ends: [(NodeIndex, u64); 2], a_is_parent: bool, state: BondState) -> EdgeIndex {
        let [(na, ia), (nb, ib)] = ends;
        debug_assert!(na != nb && ia != ib, "self-bond");
        let (a, id_a, b, id_b, a_is_parent) =
            if ia < ib { (na, ia, nb, ib, a_is_parent) } else { (nb, ib, na, ia, !a_is_parent) };
        let edge = self.graph.add_edge(a, b, ());
        let slot = edge.index();
        if self.bonds.len() <= slot {
            self.bonds.resize(slot + 1, None);
        }
        self.bonds[slot] = Some(Bond { a, b, id_a, id_b, a_is_parent, state, reward: 0.0 });
        edge
    }

    pub fn remove_bond(&mut self, edge: EdgeIndex) -> Option<Bond> {
        self.graph.remove_edge(edge)?;
        self.bonds[edge.index()].take()
    }

    /// Removes an agent's node and returns its bonds, in edge-index order.
    pub fn remove_agent(&mut self, node: NodeIndex) -> Vec<Bond> {
        let mut edges: Vec<EdgeIndex> = self.graph.edges(node).map(|e| e.id()).collect();
        edges.sort();
        let bonds = edges.iter().filter_map(|&e| self.bonds[e.index()].take()).collect();
        self.graph.remove_node(node);
        bonds
    }

    /// The edge indices of a node's bonds, in a fixed (index) order.
    pub fn bonds_of(&self, node: NodeIndex) -> Vec<EdgeIndex> {
        let mut edges: Vec<EdgeIndex> = self.graph.edges(node).map(|e| e.id()).collect();
        edges.sort();
        edges
    }

    pub fn bond_count(&self) -> usize {
        self.graph.edge_count()
    }

    pub fn kind_of(&self, edge: EdgeIndex) -> Option<BondKind> {
        self.bonds.get(edge.index()).copied().flatten().map(|b| b.state.kind)
    }
}
