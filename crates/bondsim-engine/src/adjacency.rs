//! Each node's bonds as edge indices in ascending order, all lists in one flat vector.
//!
//! A node's list is a run of `cap` entries of `entries`, the first `len` of them in use. A list
//! that outgrows its run moves to the end of the vector with room to grow; the run it leaves is
//! counted as unused, and when unused runs are a third of the vector every list is copied into a
//! fresh one, in node order. One allocation instead of one per agent: at a million agents the
//! per-agent vectors cost about 40 bytes each in headers and allocator overhead, were scattered
//! over the allocator's per-thread arenas when the graph was rebuilt, and left those arenas
//! fragmented (freed lists the allocator keeps resident). Where an entry sits never changes a
//! result: readers see each node's list, in edge-index order.

use petgraph::stable_graph::{EdgeIndex, NodeIndex};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Run {
    start: u32,
    len: u32,
    cap: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Adjacency {
    entries: Vec<EdgeIndex>,
    runs: Vec<Run>,
    /// Entries in runs no node uses any more.
    unused: usize,
}

/// The room a list of `len` entries gets: a few bonds more before it has to move.
fn room(len: usize) -> usize {
    len + 2 + len / 8
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("fewer than 2^32 adjacency entries")
}

impl Adjacency {
    /// Lists of the given lengths, each with room to grow; fill them with [`Self::push`] in
    /// ascending edge order.
    pub(crate) fn with_degrees(degrees: &[usize]) -> Self {
        let total: usize = degrees.iter().map(|&d| room(d)).sum();
        let mut entries = Vec::with_capacity(total);
        entries.resize(total, EdgeIndex::end());
        let mut start = 0;
        let runs = degrees
            .iter()
            .map(|&d| {
                let run = Run { start: to_u32(start), len: 0, cap: to_u32(room(d)) };
                start += room(d);
                run
            })
            .collect();
        Self { entries, runs, unused: 0 }
    }

    pub(crate) fn len(&self, node: NodeIndex) -> usize {
        self.runs.get(node.index()).map_or(0, |r| r.len as usize)
    }

    /// Asks the processor for the run of `node` (`prefetch`), if it has one.
    pub(crate) fn prefetch(&self, node: NodeIndex) {
        if let Some(run) = self.runs.get(node.index()) {
            crate::prefetch::prefetch(run);
        }
    }

    /// Asks the processor for the entries of `node`'s list (its run must be known: a read).
    pub(crate) fn prefetch_entries(&self, node: NodeIndex) {
        for entry in self.get(node).iter().step_by(16) {
            crate::prefetch::prefetch(entry);
        }
    }

    pub(crate) fn get(&self, node: NodeIndex) -> &[EdgeIndex] {
        self.runs.get(node.index()).map_or(&[], |r| &self.entries[r.start as usize..(r.start + r.len) as usize])
    }

    /// The list of `node` (existing) for tests that break its order on purpose.
    #[cfg(test)]
    pub(crate) fn get_mut(&mut self, node: NodeIndex) -> &mut [EdgeIndex] {
        let r = self.runs[node.index()];
        &mut self.entries[r.start as usize..(r.start + r.len) as usize]
    }

    /// The nodes that have a run, in order.
    #[cfg(test)]
    pub(crate) fn nodes(&self) -> impl Iterator<Item = NodeIndex> {
        (0..self.runs.len()).map(NodeIndex::new)
    }

    /// Appends `edge` to `node`'s list, which must stay ascending (building from a sorted table).
    pub(crate) fn push(&mut self, node: NodeIndex, edge: EdgeIndex) {
        debug_assert!(self.get(node).last().is_none_or(|&last| last < edge), "pushed out of order");
        let at = self.len(node);
        self.make_room(node);
        let r = &mut self.runs[node.index()];
        self.entries[r.start as usize + at] = edge;
        r.len += 1;
    }

    /// Inserts `edge` into `node`'s list at its place in ascending order.
    pub(crate) fn insert(&mut self, node: NodeIndex, edge: EdgeIndex) {
        let at = self.get(node).binary_search(&edge).unwrap_or_else(|at| at);
        self.make_room(node);
        let r = &mut self.runs[node.index()];
        let (start, len) = (r.start as usize, r.len as usize);
        r.len += 1;
        self.entries.copy_within(start + at..start + len, start + at + 1);
        self.entries[start + at] = edge;
    }

    /// Removes `edge` from `node`'s list, if it is there.
    pub(crate) fn remove(&mut self, node: NodeIndex, edge: EdgeIndex) {
        if let Ok(at) = self.get(node).binary_search(&edge) {
            let r = &mut self.runs[node.index()];
            let (start, len) = (r.start as usize, r.len as usize);
            r.len -= 1;
            self.entries.copy_within(start + at + 1..start + len, start + at);
        }
    }

    /// Makes sure `node` has a run with room for one entry more.
    fn make_room(&mut self, node: NodeIndex) {
        let i = node.index();
        if self.runs.len() <= i {
            self.runs.resize(i + 1, Run::default());
        }
        let r = self.runs[i];
        if r.len < r.cap {
            return;
        }
        let (start, len, cap) = (r.start as usize, r.len as usize, r.cap as usize);
        let new_cap = room(len + 1).max(4);
        let new_start = self.entries.len();
        self.entries.extend_from_within(start..start + len);
        self.entries.resize(new_start + new_cap, EdgeIndex::end());
        self.runs[i] = Run { start: to_u32(new_start), len: r.len, cap: to_u32(new_cap) };
        self.unused += cap;
        if self.unused * 3 > self.entries.len() {
            self.compact();
        }
    }

    /// Copies every list into a fresh vector in node order, each with room to grow, and frees
    /// the old one.
    fn compact(&mut self) {
        let degrees: Vec<usize> = self.runs.iter().map(|r| r.len as usize).collect();
        let mut fresh = Self::with_degrees(&degrees);
        for (node, old) in self.runs.iter().enumerate() {
            let r = &mut fresh.runs[node];
            let (from, to) = (old.start as usize, r.start as usize);
            fresh.entries[to..to + old.len as usize].copy_from_slice(&self.entries[from..from + old.len as usize]);
            r.len = old.len;
        }
        *self = fresh;
    }

    /// Entries held, used or not (for the tests of the layout).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any sequence of insertions and removals leaves each list what a sorted vector per node
        /// would hold, and the unused runs never outgrow a third of the entries for long.
        #[test]
        fn lists_match_sorted_vectors(ops in prop::collection::vec((0usize..40, 0u32..200, any::<bool>()), 0..2_000)) {
            let mut adjacency = Adjacency::default();
            let mut model: Vec<Vec<u32>> = vec![Vec::new(); 40];
            for (node, edge, add) in ops {
                let (n, e) = (NodeIndex::new(node), EdgeIndex::new(edge as usize));
                if add {
                    if let Err(at) = model[node].binary_search(&edge) {
                        model[node].insert(at, edge);
                        adjacency.insert(n, e);
                    }
                } else {
                    if let Ok(at) = model[node].binary_search(&edge) {
                        model[node].remove(at);
                    }
                    adjacency.remove(n, e);
                }
                prop_assert!(adjacency.unused * 3 <= adjacency.held());
            }
            for (node, list) in model.iter().enumerate() {
                let got: Vec<u32> = adjacency.get(NodeIndex::new(node)).iter().map(|e| e.index() as u32).collect();
                prop_assert_eq!(&got, list);
                prop_assert_eq!(adjacency.len(NodeIndex::new(node)), list.len());
            }
        }
    }

    #[test]
    fn built_from_degrees_lists_hold_what_was_pushed_and_compaction_keeps_them() {
        let mut adjacency = Adjacency::with_degrees(&[2, 0, 3]);
        for (node, edge) in [(0, 1), (2, 1), (0, 5), (2, 4), (2, 9)] {
            adjacency.push(NodeIndex::new(node), EdgeIndex::new(edge));
        }
        let lists = |a: &Adjacency| -> Vec<Vec<usize>> {
            (0..3).map(|n| a.get(NodeIndex::new(n)).iter().map(|e| e.index()).collect()).collect()
        };
        assert_eq!(lists(&adjacency), vec![vec![1, 5], vec![], vec![1, 4, 9]]);
        // Outgrow node 1's run (room for 2) until the lists move and compact.
        for edge in 10..40 {
            adjacency.insert(NodeIndex::new(1), EdgeIndex::new(edge));
        }
        assert_eq!(adjacency.get(NodeIndex::new(1)).len(), 30);
        assert_eq!(lists(&adjacency)[0], vec![1, 5]);
        assert_eq!(lists(&adjacency)[2], vec![1, 4, 9]);
        assert!(adjacency.unused * 3 <= adjacency.held());
        // A node past the last run has an empty list.
        assert!(adjacency.get(NodeIndex::new(7)).is_empty());
    }
}
