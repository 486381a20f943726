//! The dependency graph between send/poll/txn operations, and its strongly connected
//! components (iterative Tarjan, so a million-op history cannot overflow the stack).
//!
//! Edges, as Jepsen's Kafka checker (through Elle) infers them:
//! - `ww`: T1 sent v1 and T2 sent v2 to the same key, v1 directly before v2 in the version
//!   order — only when [`QueueOptions::ww_deps`](super::QueueOptions) is on;
//! - `wr`: T2 polled a message T1 sent;
//! - `process`: T1 and T2 are consecutive `ok` operations of one process;
//! - `realtime`: T1 completed `ok` before T2 was invoked (a transitive reduction: each `ok`
//!   links to the invocations that follow it until an op that started after it completes).
//!
//! Parallel edges are merged into one edge whose `kinds` has several bits. No self-edges.
//! Realtime edges are never materialised: operation ids follow invocation order, so the
//! realtime successors of an operation are one contiguous id range, stored as two numbers.
//! This keeps memory linear in the history even with hundreds of concurrent processes.

use super::order::{Facts, VersionOrders};
use super::parse::{Event, NodeId, Parsed, NONE};
use crate::history::OpType;

/// Edge kind bits.
pub(crate) const WW: u8 = 1;
pub(crate) const WR: u8 = 2;
pub(crate) const PROCESS: u8 = 4;
pub(crate) const REALTIME: u8 = 8;

/// Adjacency lists in compressed form (targets sorted per node), plus each node's realtime
/// successors as an id range.
pub(crate) struct Graph {
    start: Vec<u32>,
    targets: Vec<NodeId>,
    kinds: Vec<u8>,
    realtime: Vec<(NodeId, NodeId)>,
}

impl Graph {
    pub fn node_count(&self) -> usize {
        self.start.len() - 1
    }
    /// Number of distinct edges, realtime ones included.
    pub fn edge_count(&self) -> usize {
        let explicit_realtime = self.kinds.iter().filter(|&&k| k & REALTIME != 0).count();
        let ranges: usize = self.realtime.iter().map(|&(a, b)| (b - a) as usize).sum();
        self.targets.len() + ranges - explicit_realtime
    }
    fn explicit(&self, node: NodeId) -> (&[NodeId], &[u8]) {
        let range = self.start[node as usize] as usize..self.start[node as usize + 1] as usize;
        (&self.targets[range.clone()], &self.kinds[range])
    }
    /// How many out-edge slots `node` has; see [`Graph::edge`].
    pub fn degree(&self, node: NodeId) -> u32 {
        let (from, to) = self.realtime[node as usize];
        self.start[node as usize + 1] - self.start[node as usize] + (to - from)
    }
    /// The out-edge in slot `slot` of `node`: target and kinds, or `None` for a realtime
    /// slot whose target is already an explicit edge (listed there with all its kinds).
    pub fn edge(&self, node: NodeId, slot: u32) -> Option<(NodeId, u8)> {
        let (targets, kinds) = self.explicit(node);
        let explicit = targets.len() as u32;
        if slot < explicit {
            return Some((targets[slot as usize], kinds[slot as usize]));
        }
        let target = self.realtime[node as usize].0 + (slot - explicit);
        match targets.binary_search(&target) {
            Ok(_) => None,
            Err(_) => Some((target, REALTIME)),
        }
    }
    /// The kinds of the edge `a → b` (0 if none).
    pub fn kinds_between(&self, a: NodeId, b: NodeId) -> u8 {
        let (targets, kinds) = self.explicit(a);
        if let Ok(i) = targets.binary_search(&b) {
            return kinds[i];
        }
        let (from, to) = self.realtime[a as usize];
        if (from..to).contains(&b) {
            REALTIME
        } else {
            0
        }
    }
}

/// Builds the graph; see the module docs.
pub(crate) fn build(
    parsed: &Parsed<'_>,
    facts: &Facts,
    orders: &VersionOrders,
    ww_deps: bool,
) -> Graph {
    let mut edges: Vec<(NodeId, NodeId, u8)> = Vec::new();
    if ww_deps {
        ww_edges(parsed, facts, orders, &mut edges);
    }
    for (kv, &writer) in facts.writer.iter().enumerate() {
        if writer == NONE {
            continue;
        }
        for &reader in facts.readers_of(kv as u32) {
            edges.push((writer, reader, WR));
        }
    }
    process_edges(parsed, &mut edges);
    let realtime = realtime_ranges(parsed);
    compress(parsed.nodes.len(), edges, realtime)
}

fn ww_edges(
    parsed: &Parsed<'_>,
    facts: &Facts,
    orders: &VersionOrders,
    edges: &mut Vec<(NodeId, NodeId, u8)>,
) {
    for (kv, &writer) in facts.writer.iter().enumerate() {
        let index = orders.index_of[kv];
        if writer == NONE || index == NONE || index == 0 {
            continue;
        }
        let key = parsed.kv_key[kv] as usize;
        let previous = orders.keys[key].by_index[index as usize - 1];
        let previous_writer = facts.writer[previous as usize];
        if previous_writer != NONE {
            edges.push((previous_writer, writer, WW));
        }
    }
}

fn process_edges(parsed: &Parsed<'_>, edges: &mut Vec<(NodeId, NodeId, u8)>) {
    let mut last_ok = vec![NONE; parsed.process_count];
    for event in &parsed.events {
        let Event::Node(id) = event else { continue };
        let node = &parsed.nodes[*id as usize];
        if node.outcome != OpType::Ok {
            continue;
        }
        let last = &mut last_ok[node.process as usize];
        if *last != NONE {
            edges.push((*last, *id, PROCESS));
        }
        *last = *id;
    }
}

/// Each `ok` operation's realtime successors: the ids invoked after it completed and before
/// it left Elle's buffer (when an operation invoked after it completed `ok`).
fn realtime_ranges(parsed: &Parsed<'_>) -> Vec<(NodeId, NodeId)> {
    let nodes = parsed.nodes.len();
    let mut node_at = vec![NONE; parsed.history.ops.len()];
    for (id, node) in parsed.nodes.iter().enumerate() {
        node_at[node.invoke] = id as NodeId;
        if let Some(c) = node.completion {
            node_at[c] = id as NodeId;
        }
    }
    let mut ranges = vec![(0 as NodeId, 0 as NodeId); nodes];
    let mut buffer: Vec<NodeId> = Vec::new();
    let mut invoked = 0 as NodeId;
    for (i, &id) in node_at.iter().enumerate() {
        if id == NONE {
            continue;
        }
        let node = &parsed.nodes[id as usize];
        if node.invoke == i {
            invoked = id + 1;
        } else if node.outcome == OpType::Ok {
            // Members that completed before this op was invoked are implied from now on.
            buffer.retain(|&b| {
                let keep = ranges[b as usize].0 > id;
                if !keep {
                    ranges[b as usize].1 = invoked;
                }
                keep
            });
            ranges[id as usize] = (invoked, invoked);
            buffer.push(id);
        }
    }
    for b in buffer {
        ranges[b as usize].1 = nodes as NodeId;
    }
    ranges
}

/// Sorts edges into adjacency lists, merging parallel edges and dropping self-edges.
fn compress(
    nodes: usize,
    edges: Vec<(NodeId, NodeId, u8)>,
    realtime: Vec<(NodeId, NodeId)>,
) -> Graph {
    let mut start = vec![0u32; nodes + 1];
    for &(from, to, _) in &edges {
        if from != to {
            start[from as usize + 1] += 1;
        }
    }
    for n in 0..nodes {
        start[n + 1] += start[n];
    }
    let mut fill = start.clone();
    let mut slots = vec![(0 as NodeId, 0u8); start[nodes] as usize];
    for (from, to, kind) in edges {
        if from != to {
            slots[fill[from as usize] as usize] = (to, kind);
            fill[from as usize] += 1;
        }
    }
    let mut graph = Graph {
        start: vec![0; nodes + 1],
        targets: Vec::with_capacity(slots.len()),
        kinds: Vec::with_capacity(slots.len()),
        realtime: Vec::new(),
    };
    for n in 0..nodes {
        let list = &mut slots[start[n] as usize..start[n + 1] as usize];
        list.sort_unstable_by_key(|&(to, _)| to);
        for &(to, kind) in list.iter() {
            if graph.targets.len() > graph.start[n] as usize && graph.targets.last() == Some(&to) {
                if let Some(last) = graph.kinds.last_mut() {
                    *last |= kind;
                }
            } else {
                graph.targets.push(to);
                graph.kinds.push(kind);
            }
        }
        graph.start[n + 1] = graph.targets.len() as u32;
        let (from, to) = realtime[n];
        let first = graph.start[n] as usize;
        for (target, kind) in graph.targets[first..].iter().zip(&mut graph.kinds[first..]) {
            if (from..to).contains(target) {
                *kind |= REALTIME;
            }
        }
    }
    graph.realtime = realtime;
    graph
}

/// Tarjan's algorithm over a subset of nodes and edges, with reusable scratch space.
pub(crate) struct Tarjan {
    index: Vec<u32>,
    low: Vec<u32>,
    on_stack: Vec<bool>,
    touched: Vec<NodeId>,
}

const UNVISITED: u32 = u32::MAX;

impl Tarjan {
    pub fn new(nodes: usize) -> Tarjan {
        Tarjan {
            index: vec![UNVISITED; nodes],
            low: vec![0; nodes],
            on_stack: vec![false; nodes],
            touched: Vec::new(),
        }
    }

    /// Strongly connected components with at least two nodes, reachable from `roots`, using
    /// only edges whose kinds intersect `mask` and whose ends satisfy `member`. Each
    /// component is sorted; components come in discovery order.
    pub fn components(
        &mut self,
        graph: &Graph,
        roots: &[NodeId],
        mask: u8,
        member: impl Fn(NodeId) -> bool,
    ) -> Vec<Vec<NodeId>> {
        for &n in &self.touched {
            self.index[n as usize] = UNVISITED;
            self.on_stack[n as usize] = false;
        }
        self.touched.clear();
        let mut found = Vec::new();
        let mut counter = 0u32;
        let mut stack: Vec<NodeId> = Vec::new();
        let mut calls: Vec<(NodeId, u32)> = Vec::new();
        for &root in roots {
            if self.index[root as usize] != UNVISITED {
                continue;
            }
            self.visit(root, &mut counter, &mut stack, &mut calls);
            while let Some(&(v, slot)) = calls.last() {
                if slot < graph.degree(v) {
                    if let Some(call) = calls.last_mut() {
                        call.1 += 1;
                    }
                    let Some((w, kind)) = graph.edge(v, slot) else {
                        continue;
                    };
                    if kind & mask == 0 || !member(w) {
                        continue;
                    }
                    if self.index[w as usize] == UNVISITED {
                        self.visit(w, &mut counter, &mut stack, &mut calls);
                    } else if self.on_stack[w as usize] {
                        self.low[v as usize] = self.low[v as usize].min(self.index[w as usize]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    self.low[u as usize] = self.low[u as usize].min(self.low[v as usize]);
                }
                if self.low[v as usize] == self.index[v as usize] {
                    self.pop_component(v, &mut stack, &mut found);
                }
            }
        }
        found
    }

    fn visit(
        &mut self,
        v: NodeId,
        counter: &mut u32,
        stack: &mut Vec<NodeId>,
        calls: &mut Vec<(NodeId, u32)>,
    ) {
        self.index[v as usize] = *counter;
        self.low[v as usize] = *counter;
        *counter += 1;
        self.touched.push(v);
        stack.push(v);
        self.on_stack[v as usize] = true;
        calls.push((v, 0));
    }

    fn pop_component(&mut self, v: NodeId, stack: &mut Vec<NodeId>, found: &mut Vec<Vec<NodeId>>) {
        let mut component = Vec::new();
        while let Some(w) = stack.pop() {
            self.on_stack[w as usize] = false;
            component.push(w);
            if w == v {
                break;
            }
        }
        if component.len() > 1 {
            component.sort_unstable();
            found.push(component);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{History, Op, Process, Value};
    use crate::queue::{order, parse};
    use proptest::prelude::*;

    /// Random interleaving of sends by `threads` threads: each step either invokes on an idle
    /// thread or completes its op as ok (0..=3), info (4, retiring the process) or fail (5).
    fn history(threads: usize, steps: &[(usize, u8)]) -> History {
        let mut ops = Vec::new();
        let mut process: Vec<i64> = (0..threads as i64).collect();
        let mut busy = vec![false; threads];
        let mut push = |p: i64, op_type: OpType, value: i64| {
            let mop = Value::Vector(vec![
                Value::Keyword("send".into()),
                Value::Int(0),
                Value::Int(value),
            ]);
            ops.push(Op {
                index: ops.len() as u64,
                time: 0,
                process: Process::Client(p),
                op_type,
                f: "send".into(),
                value: Value::Vector(vec![mop]),
                error: None,
            });
        };
        for (i, &(t, outcome)) in steps.iter().enumerate() {
            let t = t % threads;
            if !busy[t] {
                push(process[t], OpType::Invoke, i as i64);
            } else {
                let op_type = match outcome {
                    4 => OpType::Info,
                    5 => OpType::Fail,
                    _ => OpType::Ok,
                };
                push(process[t], op_type, i as i64);
                if op_type == OpType::Info {
                    process[t] += threads as i64;
                }
            }
            busy[t] = !busy[t];
        }
        History::from_ops(ops)
    }

    proptest! {
        #[test]
        fn realtime_reachability_is_exactly_completed_before_invoked(
            threads in 1usize..5,
            steps in proptest::collection::vec((0usize..5, 0u8..6), 0..60),
        ) {
            let history = history(threads, &steps);
            let parsed = parse::parse(&history).expect("well-formed");
            let facts = order::facts(&parsed);
            let orders = order::version_orders(&parsed, &facts, &mut Vec::new());
            let graph = build(&parsed, &facts, &orders, false);
            let n = parsed.nodes.len();
            for a in 0..n {
                let mut reached = vec![false; n];
                let mut stack = vec![a as NodeId];
                while let Some(x) = stack.pop() {
                    for slot in 0..graph.degree(x) {
                        if let Some((w, k)) = graph.edge(x, slot) {
                            if k & REALTIME != 0 && !reached[w as usize] {
                                reached[w as usize] = true;
                                stack.push(w);
                            }
                        }
                    }
                }
                for (b, &reached_b) in reached.iter().enumerate() {
                    let node_a = &parsed.nodes[a];
                    let expected = node_a.is_ok()
                        && node_a.completion.is_some_and(|c| c < parsed.nodes[b].invoke);
                    prop_assert_eq!(reached_b, expected, "{} -> {}", a, b);
                    if graph.kinds_between(a as NodeId, b as NodeId) & REALTIME != 0 {
                        prop_assert!(expected);
                    }
                }
            }
        }
    }
}
