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
use rayon::prelude::*;

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
    /// Empty lists of the given lengths, laid out in node order, each with room to grow (filled
    /// by `from_ends`; `compact` copies lists into them).
    fn with_degrees(degrees: &[usize]) -> Self {
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

    /// The lists of nodes `0..node_bound` for the bonds whose ends `ends` holds by slot (a free
    /// slot's ends are both `NodeIndex::end()`): each bond's slot in both its ends' lists, in
    /// ascending order, each list with room to grow; the lists `with_degrees` and `push` give
    /// slot by slot. Built in parallel over a range of nodes per thread: a range's lists are one
    /// contiguous part of the flat vector, and its task walks all the ends (8 bytes a slot) and
    /// counts, then places, the slots that touch its nodes, in slot order; so the lists do not
    /// depend on the ranges.
    pub(crate) fn from_ends(node_bound: usize, ends: &[[NodeIndex; 2]]) -> Self {
        let per_range = node_bound.div_ceil(rayon::current_num_threads()).max(1);
        // The nodes of `ends` in a range starting at `first` of `len` nodes, as offsets into it.
        let in_range = move |first: usize, len: usize| {
            ends.iter().enumerate().flat_map(move |(slot, pair)| {
                pair.iter().filter_map(move |node| Some((slot, node.index().checked_sub(first).filter(|&i| i < len)?)))
            })
        };
        let mut degrees = vec![0usize; node_bound];
        degrees.par_chunks_mut(per_range).enumerate().for_each(|(k, degrees)| {
            for (_, i) in in_range(k * per_range, degrees.len()) {
                degrees[i] += 1;
            }
        });
        let mut adjacency = Self::with_degrees(&degrees);
        // Each range's runs and the part of the entries they cover.
        let mut parts = Vec::new();
        let (mut entries, mut at) = (&mut adjacency.entries[..], 0);
        for (k, runs) in adjacency.runs.chunks_mut(per_range).enumerate() {
            let end = runs.last().map_or(at, |r| (r.start + r.cap) as usize);
            let (part, rest) = std::mem::take(&mut entries).split_at_mut(end - at);
            parts.push((k * per_range, runs, part, at));
            (entries, at) = (rest, end);
        }
        parts.into_par_iter().for_each(|(first, runs, entries, offset)| {
            for (slot, i) in in_range(first, runs.len()) {
                let run = &mut runs[i];
                entries[run.start as usize - offset + run.len as usize] = EdgeIndex::new(slot);
                run.len += 1;
            }
        });
        adjacency
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

    /// Appends `edge` to `node`'s list, which must stay ascending: the lists built slot by slot,
    /// which the tests hold `from_ends` to.
    #[cfg(test)]
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

        /// The lists built in parallel from the ends are those pushed slot by slot, to the entry
        /// (the same runs, room and order), free slots left out, at any number of threads.
        #[test]
        fn lists_from_ends_are_those_pushed_slot_by_slot(
            slots in prop::collection::vec(prop::option::of((0usize..50, 0usize..50)), 0..400),
            threads in 1usize..4,
        ) {
            let node_bound = 50;
            let ends: Vec<[NodeIndex; 2]> = slots
                .iter()
                .map(|s| match s {
                    Some((a, b)) if a != b => [NodeIndex::new(*a), NodeIndex::new(*b)],
                    _ => [NodeIndex::end(); 2],
                })
                .collect();
            let mut degrees = vec![0; node_bound];
            for [a, b] in ends.iter().filter(|[a, _]| *a != NodeIndex::end()) {
                degrees[a.index()] += 1;
                degrees[b.index()] += 1;
            }
            let mut pushed = Adjacency::with_degrees(&degrees);
            for (slot, [a, b]) in ends.iter().enumerate().filter(|(_, [a, _])| *a != NodeIndex::end()) {
                pushed.push(*a, EdgeIndex::new(slot));
                pushed.push(*b, EdgeIndex::new(slot));
            }
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let built = pool.install(|| Adjacency::from_ends(node_bound, &ends));
            prop_assert_eq!(&built.runs, &pushed.runs);
            prop_assert_eq!(&built.entries, &pushed.entries);
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
