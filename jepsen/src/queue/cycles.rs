//! Cycle anomalies — `G0`, `G1c` and their `-process` / `-realtime` variants — named and
//! classified as Elle classifies them for Jepsen's Kafka checker.
//!
//! Within each strongly connected component of the whole graph, and for each anomaly, we
//! search a cycle that uses only that anomaly's edge kinds:
//!
//! | anomaly        | edges allowed          | must contain                           |
//! |----------------|------------------------|----------------------------------------|
//! | `G0`           | ww                     | —                                      |
//! | `G1c`          | ww, wr                 | a wr edge                              |
//! | `G0-process`   | ww, process            | a process edge that is not also ww     |
//! | `G1c-process`  | ww, wr, process        | a wr edge, and a pure process edge     |
//! | `G0-realtime`  | ww, realtime           | a realtime edge that is not also ww    |
//! | `G1c-realtime` | ww, wr, realtime       | a wr edge, and a pure realtime edge    |
//!
//! An edge that is also a data dependency counts as the data dependency (Elle explains it
//! so). The search refines the component to the allowed edges (Tarjan again), then runs
//! breadth-first searches from candidate first edges, over (node, requirement-met) states,
//! and keeps the shortest simple cycle found within a work budget. At most one cycle per
//! component and anomaly is reported, as Elle does.

use super::graph::{Graph, Tarjan, PROCESS, REALTIME, WR, WW};
use super::order::{Facts, VersionOrders};
use super::parse::{NodeId, Parsed, NONE};
use super::text::{fmt_process, fmt_value, found};
use crate::history::OpType;
use crate::verdict::Anomaly;
use rustc_hash::FxHashMap as FastMap;
use std::collections::VecDeque;

/// Edge-visit budget of one anomaly search in one component: once a cycle is found, no new
/// start edge is tried after this much work.
const SEARCH_VISITS_MAX: usize = 2_000_000;

/// Hard edge-visit budget of one anomaly search in one component. Reached only when many
/// start edges give walks that cannot be made simple, which needs ww edges (see
/// `simplify`), where all cycle anomalies are allowed: giving up cannot hide a failure.
const SEARCH_VISITS_HARD_MAX: usize = 50_000_000;

struct Spec {
    name: &'static str,
    allowed: u8,
    /// The first edge must have this kind...
    first: u8,
    /// ...and, if set, not be a data dependency.
    first_pure: bool,
    /// Some edge must be of this kind without being a data dependency (0: nothing).
    require: u8,
}

const SPECS: [Spec; 6] = [
    Spec {
        name: "G0",
        allowed: WW,
        first: WW,
        first_pure: false,
        require: 0,
    },
    Spec {
        name: "G1c",
        allowed: WW | WR,
        first: WR,
        first_pure: false,
        require: 0,
    },
    Spec {
        name: "G0-process",
        allowed: WW | PROCESS,
        first: PROCESS,
        first_pure: true,
        require: 0,
    },
    Spec {
        name: "G1c-process",
        allowed: WW | WR | PROCESS,
        first: WR,
        first_pure: false,
        require: PROCESS,
    },
    Spec {
        name: "G0-realtime",
        allowed: WW | REALTIME,
        first: REALTIME,
        first_pure: true,
        require: 0,
    },
    Spec {
        name: "G1c-realtime",
        allowed: WW | WR | REALTIME,
        first: WR,
        first_pure: false,
        require: REALTIME,
    },
];

fn is_pure(kinds: u8, allowed: u8, bit: u8) -> bool {
    kinds & allowed & bit != 0 && kinds & allowed & (WW | WR) == 0
}

impl Spec {
    fn starts(&self, kinds: u8) -> bool {
        if self.first_pure {
            is_pure(kinds, self.allowed, self.first)
        } else {
            kinds & self.first != 0
        }
    }
    fn meets(&self, kinds: u8) -> bool {
        self.require == 0 || is_pure(kinds, self.allowed, self.require)
    }
}

/// Search state shared by all components.
struct Search<'g> {
    graph: &'g Graph,
    tarjan: Tarjan,
    /// Component stamp of each node for the current (sub)component.
    mark: Vec<u32>,
    next_mark: u32,
    seen: Vec<u32>,
    prev: Vec<u32>,
    stamp: u32,
}

/// Finds and reports all cycle anomalies.
pub(crate) fn cycles(
    parsed: &Parsed<'_>,
    facts: &Facts,
    orders: &VersionOrders,
    graph: &Graph,
    out: &mut Vec<Anomaly>,
) -> usize {
    let n = graph.node_count();
    let mut search = Search {
        graph,
        tarjan: Tarjan::new(n),
        mark: vec![0; n],
        next_mark: 1,
        seen: vec![0; 2 * n],
        prev: vec![NONE; 2 * n],
        stamp: 0,
    };
    let roots: Vec<NodeId> = (0..n as NodeId).collect();
    let mut components = search.tarjan.components(graph, &roots, u8::MAX, |_| true);
    components.sort_by_key(|c| c.iter().map(|&x| parsed.nodes[x as usize].witness()).min());
    let count = components.len();
    for component in &components {
        for spec in &SPECS {
            if let Some(cycle) = search.find(component, spec) {
                out.push(explain(parsed, facts, orders, graph, spec, &cycle));
            }
        }
    }
    count
}

impl Search<'_> {
    fn stamp_component(&mut self, nodes: &[NodeId]) -> u32 {
        let mark = self.next_mark;
        self.next_mark += 1;
        for &x in nodes {
            self.mark[x as usize] = mark;
        }
        mark
    }

    fn find(&mut self, component: &[NodeId], spec: &Spec) -> Option<Vec<NodeId>> {
        let outer = self.stamp_component(component);
        let mark = &self.mark;
        let subs = self
            .tarjan
            .components(self.graph, component, spec.allowed, |w| {
                mark[w as usize] == outer
            });
        for sub in subs {
            let inner = self.stamp_component(&sub);
            if let Some(cycle) = self.find_in(&sub, inner, spec) {
                return Some(cycle);
            }
        }
        None
    }

    /// Edges `u → v` inside the component stamped `mark`, lazily, with their kinds.
    fn edges_within<'a>(
        &'a self,
        nodes: &'a [NodeId],
        mark: u32,
    ) -> impl Iterator<Item = (NodeId, NodeId, u8)> + 'a {
        let graph = self.graph;
        nodes.iter().flat_map(move |&u| {
            (0..graph.degree(u)).filter_map(move |slot| {
                let (v, k) = graph.edge(u, slot)?;
                (self.mark[v as usize] == mark).then_some((u, v, k))
            })
        })
    }

    fn find_in(&mut self, nodes: &[NodeId], mark: u32, spec: &Spec) -> Option<Vec<NodeId>> {
        if spec.require != 0
            && !self
                .edges_within(nodes, mark)
                .any(|(_, _, k)| spec.meets(k))
        {
            return None;
        }
        let mut best: Option<Vec<NodeId>> = None;
        let mut visits = 0usize;
        let graph = self.graph;
        'starts: for &u in nodes {
            for slot in 0..graph.degree(u) {
                let Some((v, k)) = graph.edge(u, slot) else {
                    continue;
                };
                if self.mark[v as usize] != mark || !spec.starts(k) {
                    continue;
                }
                if (best.is_some() && visits > SEARCH_VISITS_MAX) || visits > SEARCH_VISITS_HARD_MAX
                {
                    break 'starts;
                }
                let Some(cycle) = self.bfs(u, v, spec.meets(k), mark, spec, &mut visits) else {
                    continue;
                };
                if best.as_ref().is_none_or(|b| cycle.len() < b.len()) {
                    let shortest_possible = cycle.len() == 3;
                    best = Some(cycle);
                    if shortest_possible {
                        break 'starts;
                    }
                }
            }
        }
        best
    }

    /// Shortest walk v → u (requirement met on the way) closing the edge u → v, made simple.
    fn bfs(
        &mut self,
        u: NodeId,
        v: NodeId,
        met: bool,
        mark: u32,
        spec: &Spec,
        visits: &mut usize,
    ) -> Option<Vec<NodeId>> {
        self.stamp = self.stamp.wrapping_add(1);
        let stamp = self.stamp;
        let state = |node: NodeId, met: bool| node as usize * 2 + usize::from(met);
        let start = state(v, met);
        self.seen[start] = stamp;
        self.prev[start] = NONE;
        let mut queue = VecDeque::from([start]);
        let goal = state(u, true);
        while let Some(s) = queue.pop_front() {
            if s == goal {
                return self.path(u, goal, spec);
            }
            let (x, met) = ((s / 2) as NodeId, s % 2 == 1);
            if x == u {
                continue;
            }
            let degree = self.graph.degree(x);
            *visits += degree as usize;
            for slot in 0..degree {
                let Some((w, k)) = self.graph.edge(x, slot) else {
                    continue;
                };
                if k & spec.allowed == 0 || self.mark[w as usize] != mark {
                    continue;
                }
                let next = state(w, met || spec.meets(k));
                if self.seen[next] != stamp {
                    self.seen[next] = stamp;
                    self.prev[next] = s as u32;
                    queue.push_back(next);
                }
            }
        }
        None
    }

    fn path(&self, u: NodeId, goal: usize, spec: &Spec) -> Option<Vec<NodeId>> {
        let mut walk = vec![u];
        let mut s = self.prev[goal];
        while s != NONE {
            walk.push(s / 2);
            s = self.prev[s as usize];
        }
        walk.push(u);
        walk.reverse();
        self.simplify(walk, spec)
    }

    /// Does the closed walk have a possible first edge and (if needed) a required edge?
    fn satisfies(&self, walk: &[NodeId], spec: &Spec) -> bool {
        let kinds = |w: &[NodeId]| self.graph.kinds_between(w[0], w[1]);
        walk.windows(2).any(|w| spec.starts(kinds(w)))
            && walk.windows(2).any(|w| spec.meets(kinds(w)))
    }

    /// Turns a closed walk `[u, ..., u]` into a simple cycle that still has the spec's
    /// edges, starting with a possible first edge: while a node repeats, keep whichever of
    /// the two closed walks it splits into still qualifies (the shorter if both do).
    /// Without ww edges every cycle contains a wr edge, so a `G1c-*` walk always reduces.
    fn simplify(&self, mut walk: Vec<NodeId>, spec: &Spec) -> Option<Vec<NodeId>> {
        loop {
            let body = &walk[..walk.len() - 1];
            let mut first_at: FastMap<NodeId, usize> = FastMap::default();
            let repeat = body
                .iter()
                .enumerate()
                .find_map(|(j, &x)| match first_at.get(&x) {
                    Some(&i) => Some((i, j)),
                    None => {
                        first_at.insert(x, j);
                        None
                    }
                });
            let Some((i, j)) = repeat else { break };
            let inner: Vec<NodeId> = walk[i..=j].to_vec();
            let mut outer: Vec<NodeId> = walk[..=i].to_vec();
            outer.extend_from_slice(&walk[j + 1..]);
            walk = match (self.satisfies(&inner, spec), self.satisfies(&outer, spec)) {
                (true, true) if outer.len() < inner.len() => outer,
                (true, _) => inner,
                (false, true) => outer,
                (false, false) => return None,
            };
        }
        // Rotate so the cycle starts with a possible first edge.
        let body = &walk[..walk.len() - 1];
        let start = walk
            .windows(2)
            .position(|w| spec.starts(self.graph.kinds_between(w[0], w[1])))?;
        let mut cycle: Vec<NodeId> = body[start..]
            .iter()
            .chain(&body[..start])
            .copied()
            .collect();
        cycle.push(cycle[0]);
        Some(cycle)
    }
}

fn explain(
    parsed: &Parsed<'_>,
    facts: &Facts,
    orders: &VersionOrders,
    graph: &Graph,
    spec: &Spec,
    cycle: &[NodeId],
) -> Anomaly {
    let steps: Vec<String> = cycle
        .windows(2)
        .enumerate()
        .map(|(i, pair)| {
            let mut kinds = graph.kinds_between(pair[0], pair[1]) & spec.allowed;
            if i == 0 && !spec.first_pure {
                kinds &= spec.first;
            }
            step(parsed, facts, orders, pair[0], pair[1], kinds)
        })
        .collect();
    let ops: Vec<String> = cycle
        .iter()
        .map(|&x| parsed.nodes[x as usize].witness().to_string())
        .collect();
    found(
        parsed,
        spec.name,
        format!(
            "cycle of {} ops {}: {}",
            cycle.len() - 1,
            ops.join(" -> "),
            steps.join("; ")
        ),
        cycle[..cycle.len() - 1].to_vec(),
    )
}

fn step(
    parsed: &Parsed<'_>,
    facts: &Facts,
    orders: &VersionOrders,
    a: NodeId,
    b: NodeId,
    kinds: u8,
) -> String {
    let (wa, wb) = (
        parsed.nodes[a as usize].witness(),
        parsed.nodes[b as usize].witness(),
    );
    let name = |kv: u32| fmt_value(parsed.kv_value[kv as usize]);
    let key = |kv: u32| fmt_value(parsed.key_values[parsed.kv_key[kv as usize] as usize]);
    if kinds & WR != 0 {
        let polled = parsed
            .reads_of(b)
            .iter()
            .flat_map(|g| parsed.read_items(g))
            .find(|item| facts.writer[item.kv as usize] == a);
        if let Some(item) = polled {
            return format!(
                "op {wa} sent key {} value {}, polled by op {wb} (wr)",
                key(item.kv),
                name(item.kv)
            );
        }
    }
    if kinds & WW != 0 {
        let next = parsed
            .writes_of(b)
            .iter()
            .flat_map(|g| parsed.write_items(g))
            .find_map(|item| {
                let index = orders.index_of[item.kv as usize];
                if index == NONE || index == 0 || facts.writer[item.kv as usize] != b {
                    return None;
                }
                let key_order = &orders.keys[parsed.kv_key[item.kv as usize] as usize];
                let previous = key_order.by_index[index as usize - 1];
                (facts.writer[previous as usize] == a).then_some((previous, item.kv))
            });
        if let Some((previous, kv)) = next {
            return format!(
                "op {wa} sent key {} value {} directly before op {wb}'s value {} (ww)",
                key(kv),
                name(previous),
                name(kv)
            );
        }
    }
    if kinds & PROCESS != 0 {
        let process = fmt_process(&parsed.history.ops[wa].process);
        return format!("process {process} did op {wa} before op {wb} (process)");
    }
    let outcome = parsed.nodes[b as usize].outcome;
    let invoked = parsed.nodes[b as usize].invoke;
    let suffix = if outcome == OpType::Ok {
        ""
    } else {
        ", which may have taken effect"
    };
    format!("op {wa} completed before op {wb} was invoked at {invoked}{suffix} (realtime)")
}
