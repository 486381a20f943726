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

use super::order::{Facts, VersionOrders};
use super::parse::{Event, NodeId, Parsed, NONE};
use crate::history::OpType;

/// Edge kind bits.
pub(crate) const WW: u8 = 1;
pub(crate) const WR: u8 = 2;
pub(crate) const PROCESS: u8 = 4;
pub(crate) const REALTIME: u8 = 8;

/// Adjacency lists in compressed form, targets sorted per node.
pub(crate) struct Graph {
    start: Vec<u32>,
    targets: Vec<NodeId>,
    kinds: Vec<u8>,
}

impl Graph {
    pub fn node_count(&self) -> usize {
        self.start.len() - 1
    }
    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }
    /// Targets and kinds of `node`'s out-edges.
    pub fn out(&self, node: NodeId) -> (&[NodeId], &[u8]) {
        let range = self.start[node as usize] as usize..self.start[node as usize + 1] as usize;
        (&self.targets[range.clone()], &self.kinds[range])
    }
    /// The kinds of the edge `a → b` (0 if none).
    pub fn kinds_between(&self, a: NodeId, b: NodeId) -> u8 {
        let (targets, kinds) = self.out(a);
        targets.binary_search(&b).map_or(0, |i| kinds[i])
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
    realtime_edges(parsed, &mut edges);
    compress(parsed.nodes.len(), edges)
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

fn realtime_edges(parsed: &Parsed<'_>, edges: &mut Vec<(NodeId, NodeId, u8)>) {
    let ops = parsed.history.ops.len();
    let mut node_at = vec![NONE; ops];
    for (id, node) in parsed.nodes.iter().enumerate() {
        node_at[node.invoke] = id as NodeId;
        if let Some(c) = node.completion {
            node_at[c] = id as NodeId;
        }
    }
    // `ok` completions not yet implied by a later one, and the realtime edges each
    // operation received at its invocation.
    let mut buffer: Vec<NodeId> = Vec::new();
    let mut in_buffer = vec![false; parsed.nodes.len()];
    let mut received = vec![(0u32, 0u32); parsed.nodes.len()];
    for (i, &id) in node_at.iter().enumerate() {
        if id == NONE {
            continue;
        }
        let node = &parsed.nodes[id as usize];
        if node.invoke == i {
            let first = edges.len() as u32;
            edges.extend(buffer.iter().map(|&b| (b, id, REALTIME)));
            received[id as usize] = (first, edges.len() as u32);
        } else if node.outcome == OpType::Ok {
            let (first, end) = received[id as usize];
            for e in first..end {
                in_buffer[edges[e as usize].0 as usize] = false;
            }
            buffer.retain(|&b| in_buffer[b as usize]);
            buffer.push(id);
            in_buffer[id as usize] = true;
        }
    }
}

/// Sorts edges into adjacency lists, merging parallel edges and dropping self-edges.
fn compress(nodes: usize, edges: Vec<(NodeId, NodeId, u8)>) -> Graph {
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
    }
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
            self.visit(root, &mut counter, &mut stack, &mut calls, graph);
            while let Some(&(v, pos)) = calls.last() {
                let end = graph.start[v as usize + 1];
                if pos < end {
                    if let Some(call) = calls.last_mut() {
                        call.1 += 1;
                    }
                    let (w, kind) = (graph.targets[pos as usize], graph.kinds[pos as usize]);
                    if kind & mask == 0 || !member(w) {
                        continue;
                    }
                    if self.index[w as usize] == UNVISITED {
                        self.visit(w, &mut counter, &mut stack, &mut calls, graph);
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
        graph: &Graph,
    ) {
        self.index[v as usize] = *counter;
        self.low[v as usize] = *counter;
        *counter += 1;
        self.touched.push(v);
        stack.push(v);
        self.on_stack[v as usize] = true;
        calls.push((v, graph.start[v as usize]));
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
