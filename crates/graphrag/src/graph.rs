//! The in-memory adjacency snapshot of the concept graph and the algorithms over it: BFS and DFS
//! with depth and kind filters, weighted shortest paths (Dijkstra) with edge explanations, k-hop
//! subgraphs pruned by relevance, and personalized PageRank.
//!
//! The snapshot is loaded from the store once per engine. Retrieval runs several traversals per
//! question (PPR over the whole graph, one Dijkstra per entity pair); in memory each is
//! microseconds, where a SurrealQL round trip costs a query parse and plan each time (measured in
//! `docs/retrieval.md`).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use serde::Serialize;

/// One typed edge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    /// Source concept id.
    pub from: String,
    /// Target concept id.
    pub to: String,
    /// Relation kind, for example `AFFECTS`.
    pub kind: String,
    /// Why the relation holds.
    pub explanation: String,
    /// Strength in (0, 1].
    pub weight: f64,
    /// AFFECTS direction.
    pub sign: Option<String>,
}

/// Which way edges may be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// `from → to` only.
    Out,
    /// `to → from` only.
    In,
    /// Both.
    #[default]
    Both,
}

/// Which edges a traversal may follow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeFilter {
    /// Allowed kinds; empty allows all.
    pub kinds: Vec<String>,
    /// Allowed direction.
    pub direction: Direction,
}

impl EdgeFilter {
    fn allows(&self, edge: &Edge, forward: bool) -> bool {
        let dir_ok = match self.direction {
            Direction::Out => forward,
            Direction::In => !forward,
            Direction::Both => true,
        };
        dir_ok && (self.kinds.is_empty() || self.kinds.iter().any(|k| *k == edge.kind))
    }
}

/// A concept reached by a traversal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visit {
    /// Concept id.
    pub concept: String,
    /// Hops from the start.
    pub depth: usize,
    /// The edge it was reached by (none for the start).
    pub via: Option<usize>,
    /// Whether `via` was followed forwards.
    pub forward: bool,
}

/// A step of a path: an edge and the direction it was walked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The edge.
    pub edge: Edge,
    /// True when walked `from → to`.
    pub forward: bool,
}

/// A path between two concepts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Path {
    /// Concept ids from start to end.
    pub nodes: Vec<String>,
    /// The edges between consecutive nodes.
    pub steps: Vec<Step>,
    /// Total cost: minus the log of the product of its edge strengths, plus backward penalties
    /// (lower is stronger; see [`step_cost`]).
    pub cost: f64,
}

impl Path {
    /// One line per step: `a --KIND--> b: explanation`.
    pub fn explain(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| {
                let arrow = if s.forward {
                    format!("{} --{}--> {}", s.edge.from, s.edge.kind, s.edge.to)
                } else {
                    format!("{} <--{}-- {}", s.edge.to, s.edge.kind, s.edge.from)
                };
                format!("{arrow}: {}", s.edge.explanation)
            })
            .collect()
    }
}

/// A subgraph: concepts with relevance and the edges among them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subgraph {
    /// (concept id, relevance) in decreasing relevance.
    pub nodes: Vec<(String, f64)>,
    /// Edges whose ends are both kept.
    pub edges: Vec<Edge>,
}

/// The adjacency snapshot.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    ids: Vec<String>,
    index: HashMap<String, usize>,
    edges: Vec<Edge>,
    /// Per node: (edge index, neighbour, walked forwards).
    adj: Vec<Vec<(usize, usize, bool)>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct HeapItem {
    cost: f64,
    node: usize,
}
impl Eq for HeapItem {}
impl Ord for HeapItem {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .cost
            .total_cmp(&self.cost)
            .then_with(|| other.node.cmp(&self.node))
    }
}
impl PartialOrd for HeapItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Penalty for walking an edge against its direction (a factor of about 0.86 on the strength).
const BACKWARD_PENALTY: f64 = 0.15;

/// Cost of walking one edge: `-ln(weight)`, so that a path's cost is minus the log of the product
/// of its edges' strengths and the cheapest path is the strongest chain, plus a little for
/// walking an edge backwards. A chain of strong edges thus beats a weak shortcut: "how does
/// variance affect duration" walks variance → sample size → duration (0.9 × 0.9) rather than a
/// 0.6 direct edge. The previous cost, one per hop plus `1 - weight`, always took the fewest hops;
/// with it the labelled explanation chain of a multi-hop question was the path between its two
/// ends for 36 of the 114 questions, with this one for 49.
pub fn step_cost(edge: &Edge, forward: bool) -> f64 {
    let w = edge.weight.clamp(0.01, 1.0);
    -w.ln() + if forward { 0.0 } else { BACKWARD_PENALTY }
}

impl Graph {
    /// Builds the snapshot from concept ids and edges (edges naming unknown ids are dropped).
    pub fn new(concepts: impl IntoIterator<Item = String>, edges: Vec<Edge>) -> Self {
        let ids: Vec<String> = concepts.into_iter().collect();
        let index: HashMap<String, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let mut adj = vec![Vec::new(); ids.len()];
        let mut kept = Vec::with_capacity(edges.len());
        for e in edges {
            let (Some(&a), Some(&b)) = (index.get(&e.from), index.get(&e.to)) else {
                continue;
            };
            let ei = kept.len();
            adj[a].push((ei, b, true));
            adj[b].push((ei, a, false));
            kept.push(e);
        }
        Self {
            ids,
            index,
            edges: kept,
            adj,
        }
    }

    /// Number of concepts.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no concepts.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Every edge.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The edge with this index.
    pub fn edge(&self, i: usize) -> Option<&Edge> {
        self.edges.get(i)
    }

    /// Whether the concept exists.
    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// Concept ids.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Breadth-first from `start` up to `max_depth` hops, in visiting order.
    pub fn bfs(&self, start: &str, max_depth: usize, filter: &EdgeFilter) -> Vec<Visit> {
        let Some(&s) = self.index.get(start) else {
            return Vec::new();
        };
        let mut seen = vec![false; self.ids.len()];
        seen[s] = true;
        let mut out = vec![Visit {
            concept: start.to_string(),
            depth: 0,
            via: None,
            forward: true,
        }];
        let mut queue = VecDeque::from([(s, 0usize)]);
        while let Some((n, d)) = queue.pop_front() {
            if d == max_depth {
                continue;
            }
            for &(ei, m, fwd) in &self.adj[n] {
                if seen[m] || !filter.allows(&self.edges[ei], fwd) {
                    continue;
                }
                seen[m] = true;
                out.push(Visit {
                    concept: self.ids[m].clone(),
                    depth: d + 1,
                    via: Some(ei),
                    forward: fwd,
                });
                queue.push_back((m, d + 1));
            }
        }
        out
    }

    /// Depth-first (pre-order) from `start` up to `max_depth` hops.
    pub fn dfs(&self, start: &str, max_depth: usize, filter: &EdgeFilter) -> Vec<Visit> {
        let Some(&s) = self.index.get(start) else {
            return Vec::new();
        };
        let mut seen = vec![false; self.ids.len()];
        let mut out = Vec::new();
        let mut stack = vec![(s, 0usize, None::<usize>, true)];
        while let Some((n, d, via, fwd)) = stack.pop() {
            if seen[n] {
                continue;
            }
            seen[n] = true;
            out.push(Visit {
                concept: self.ids[n].clone(),
                depth: d,
                via,
                forward: fwd,
            });
            if d == max_depth {
                continue;
            }
            // Push in reverse so that neighbours are visited in adjacency order.
            for &(ei, m, f) in self.adj[n].iter().rev() {
                if !seen[m] && filter.allows(&self.edges[ei], f) {
                    stack.push((m, d + 1, Some(ei), f));
                }
            }
        }
        out
    }

    /// The cheapest path from `from` to `to` of at most `max_hops` edges (Dijkstra with
    /// [`step_cost`]), or `None` when there is none.
    pub fn shortest_path(
        &self,
        from: &str,
        to: &str,
        max_hops: usize,
        filter: &EdgeFilter,
    ) -> Option<Path> {
        let (&s, &t) = (self.index.get(from)?, self.index.get(to)?);
        if s == t {
            return Some(Path {
                nodes: vec![from.to_string()],
                steps: Vec::new(),
                cost: 0.0,
            });
        }
        let n = self.ids.len();
        let mut dist = vec![f64::INFINITY; n];
        let mut hops = vec![usize::MAX; n];
        let mut prev: Vec<Option<(usize, usize, bool)>> = vec![None; n];
        dist[s] = 0.0;
        hops[s] = 0;
        let mut heap = BinaryHeap::from([HeapItem { cost: 0.0, node: s }]);
        while let Some(HeapItem { cost, node }) = heap.pop() {
            if node == t {
                break;
            }
            if cost > dist[node] || hops[node] >= max_hops {
                continue;
            }
            for &(ei, m, fwd) in &self.adj[node] {
                let e = &self.edges[ei];
                if !filter.allows(e, fwd) {
                    continue;
                }
                let c = cost + step_cost(e, fwd);
                if c < dist[m] {
                    dist[m] = c;
                    hops[m] = hops[node] + 1;
                    prev[m] = Some((node, ei, fwd));
                    heap.push(HeapItem { cost: c, node: m });
                }
            }
        }
        if !dist[t].is_finite() {
            return None;
        }
        let mut nodes = vec![t];
        let mut steps = Vec::new();
        let mut cur = t;
        while let Some((p, ei, fwd)) = prev[cur] {
            steps.push(Step {
                edge: self.edges[ei].clone(),
                forward: fwd,
            });
            nodes.push(p);
            cur = p;
        }
        nodes.reverse();
        steps.reverse();
        Some(Path {
            nodes: nodes.into_iter().map(|i| self.ids[i].clone()).collect(),
            steps,
            cost: dist[t],
        })
    }

    /// Personalized PageRank with restart probability `alpha` to `seeds` (weights need not sum
    /// to 1), over edges walked both ways in proportion to their weight. Returns a score per
    /// concept id, summing to 1.
    pub fn personalized_pagerank(
        &self,
        seeds: &[(String, f64)],
        alpha: f64,
        iterations: usize,
    ) -> Vec<(String, f64)> {
        let n = self.ids.len();
        if n == 0 {
            return Vec::new();
        }
        let mut restart = vec![0.0; n];
        let mut total = 0.0;
        for (id, w) in seeds {
            if let Some(&i) = self.index.get(id) {
                restart[i] += w.max(0.0);
                total += w.max(0.0);
            }
        }
        if total <= 0.0 {
            return Vec::new();
        }
        for r in &mut restart {
            *r /= total;
        }
        let out_weight: Vec<f64> = self
            .adj
            .iter()
            .map(|nb| nb.iter().map(|&(ei, _, _)| self.edges[ei].weight).sum())
            .collect();
        let mut rank = restart.clone();
        let mut next = vec![0.0; n];
        for _ in 0..iterations {
            next.iter_mut().for_each(|x| *x = 0.0);
            let mut dangling = 0.0;
            for (i, nb) in self.adj.iter().enumerate() {
                if out_weight[i] <= 0.0 {
                    dangling += rank[i];
                    continue;
                }
                let share = (1.0 - alpha) * rank[i] / out_weight[i];
                for &(ei, m, _) in nb {
                    next[m] += share * self.edges[ei].weight;
                }
            }
            for i in 0..n {
                next[i] += (alpha + (1.0 - alpha) * dangling) * restart[i];
            }
            std::mem::swap(&mut rank, &mut next);
        }
        let mut out: Vec<(String, f64)> = rank
            .into_iter()
            .enumerate()
            .filter(|(_, r)| *r > 0.0)
            .map(|(i, r)| (self.ids[i].clone(), r))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The concepts within `k` hops of `seeds`, ranked by personalized PageRank from the seeds and
    /// pruned to the `max_nodes` most relevant, with the edges among them.
    pub fn k_hop_subgraph(
        &self,
        seeds: &[(String, f64)],
        k: usize,
        max_nodes: usize,
        alpha: f64,
    ) -> Subgraph {
        let filter = EdgeFilter::default();
        let mut within: HashSet<String> = HashSet::new();
        for (s, _) in seeds {
            within.extend(self.bfs(s, k, &filter).into_iter().map(|v| v.concept));
        }
        let ranked = self.personalized_pagerank(seeds, alpha, 30);
        let nodes: Vec<(String, f64)> = ranked
            .into_iter()
            .filter(|(id, _)| within.contains(id))
            .take(max_nodes)
            .collect();
        let kept: HashSet<&str> = nodes.iter().map(|(id, _)| id.as_str()).collect();
        let edges = self
            .edges
            .iter()
            .filter(|e| kept.contains(e.from.as_str()) && kept.contains(e.to.as_str()))
            .cloned()
            .collect();
        Subgraph { nodes, edges }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from: &str, kind: &str, to: &str, weight: f64) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            kind: kind.into(),
            explanation: format!("{from} {kind} {to}"),
            weight,
            sign: None,
        }
    }

    fn diamond() -> Graph {
        // a → b → d is strong; a → c → d is weak; e hangs off d.
        Graph::new(
            ["a", "b", "c", "d", "e"].map(String::from),
            vec![
                edge("a", "AFFECTS", "b", 0.9),
                edge("b", "AFFECTS", "d", 0.9),
                edge("a", "REQUIRES", "c", 0.2),
                edge("c", "REQUIRES", "d", 0.2),
                edge("d", "PART_OF", "e", 0.5),
            ],
        )
    }

    #[test]
    fn dijkstra_prefers_strong_edges_and_explains_them() {
        let g = diamond();
        let p = g
            .shortest_path("a", "d", 4, &EdgeFilter::default())
            .expect("a path");
        assert_eq!(p.nodes, ["a", "b", "d"]);
        assert_eq!(p.explain()[0], "a --AFFECTS--> b: a AFFECTS b");
        let only_requires = EdgeFilter {
            kinds: vec!["REQUIRES".into()],
            direction: Direction::Both,
        };
        let p = g
            .shortest_path("a", "d", 4, &only_requires)
            .expect("a path");
        assert_eq!(p.nodes, ["a", "c", "d"]);
        assert!(
            g.shortest_path("a", "e", 2, &EdgeFilter::default())
                .is_none(),
            "hop limit"
        );
        let back = g
            .shortest_path("e", "a", 4, &EdgeFilter::default())
            .expect("walks backwards");
        assert!(!back.steps[0].forward);
    }

    #[test]
    fn a_chain_of_strong_edges_beats_a_weak_shortcut() {
        // a → b → c at 0.9 each (strength 0.81), and a direct a → c edge of the given weight.
        let triangle = |shortcut: f64| {
            Graph::new(
                ["a", "b", "c"].map(String::from),
                vec![
                    edge("a", "AFFECTS", "b", 0.9),
                    edge("b", "AFFECTS", "c", 0.9),
                    edge("a", "AFFECTS", "c", shortcut),
                ],
            )
        };
        let all = EdgeFilter::default();
        let p = triangle(0.6)
            .shortest_path("a", "c", 4, &all)
            .expect("a path");
        assert_eq!(p.nodes, ["a", "b", "c"]);
        assert!((p.cost - -(0.81f64.ln())).abs() < 1e-9, "cost {}", p.cost);
        // A strong enough shortcut still wins.
        let p = triangle(0.85)
            .shortest_path("a", "c", 4, &all)
            .expect("a path");
        assert_eq!(p.nodes, ["a", "c"]);
    }

    #[test]
    fn bfs_and_dfs_respect_depth_direction_and_kinds() {
        let g = diamond();
        let all = EdgeFilter::default();
        let depths: Vec<(String, usize)> = g
            .bfs("a", 1, &all)
            .into_iter()
            .map(|v| (v.concept, v.depth))
            .collect();
        assert_eq!(depths, [("a".into(), 0), ("b".into(), 1), ("c".into(), 1)]);
        let incoming = EdgeFilter {
            kinds: vec![],
            direction: Direction::In,
        };
        assert_eq!(g.bfs("a", 3, &incoming).len(), 1);
        let dfs: Vec<String> = g.dfs("a", 5, &all).into_iter().map(|v| v.concept).collect();
        assert_eq!(dfs, ["a", "b", "d", "c", "e"]);
        let part = EdgeFilter {
            kinds: vec!["PART_OF".into()],
            direction: Direction::Both,
        };
        assert_eq!(g.bfs("d", 3, &part).len(), 2);
    }

    #[test]
    fn pagerank_ranks_the_seed_and_its_strong_neighbours_first() {
        let g = diamond();
        let r = g.personalized_pagerank(&[("a".into(), 1.0)], 0.25, 40);
        assert_eq!(r[0].0, "a");
        let pos = |id: &str| r.iter().position(|(x, _)| x == id).expect("ranked");
        assert!(pos("b") < pos("c"));
        let total: f64 = r.iter().map(|(_, s)| s).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        assert!(
            g.personalized_pagerank(&[("nope".into(), 1.0)], 0.25, 10)
                .is_empty()
        );
    }

    #[test]
    fn k_hop_subgraph_is_pruned_by_relevance() {
        let g = diamond();
        let s = g.k_hop_subgraph(&[("a".into(), 1.0)], 1, 2, 0.25);
        let ids: Vec<&str> = s.nodes.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(s.edges.len(), 1);
    }
}
