//! The Wing–Gong linearizability search with Lowe's memoization, for one partition.
//!
//! Operations become entries of a doubly linked list in history order: a *call* at the
//! invocation and, for `ok` operations only, a *return* at the completion. Indeterminate
//! operations (`info`, pending) have no return: their completion is at +infinity, so they
//! may be linearized at any point after their call, or never.
//!
//! The search walks the list from the front. At a call whose operation the model accepts in
//! the current state, it linearizes the operation (removes its entries, pushes the previous
//! state) and starts again from the front — unless the pair (set of linearized operations,
//! new state) was seen before, in which case that whole subtree is known to fail (Lowe's
//! memoization). At a return, the operation returned without being linearized: the search
//! backtracks to the last choice and tries the next call. The history is linearizable once
//! every `ok` operation is linearized; it is not when a return is met with nothing left to
//! undo.
//!
//! Two sound reductions shrink the search (each comment at its code says why it is sound):
//! a configuration first looks for a *read-only* candidate the model accepts
//! ([`Model::is_read_only`]) and takes it greedily, with no alternative tried — so reads
//! never multiply the orders explored; and of equal indeterminate operations the
//! earlier-invoked is always linearized first (symmetry), so `k` identical crashed writes
//! cost `k`, not `2^k`.
//!
//! For the witness, the search remembers the deepest configuration from which it had to
//! backtrack: the linearized prefix, the model state, and the operation whose return could
//! not be passed. Copying that prefix is amortized against the pushes (see [`Deepest`]).

use super::model::Model;
use super::prepare::SearchOp;
use rustc_hash::FxBuildHasher as BuildWordHasher;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// How often (in steps) the search looks at the clock and the cancellation flag.
const CHECK_INTERVAL: u64 = 1024;

/// How many distinct model states the witness keeps for the blocked operation.
const WITNESS_STATES_MAX: usize = 8;

/// Limits and cancellation for one search.
pub(crate) struct Controls<'a> {
    /// Give up after this many steps.
    pub max_steps: Option<u64>,
    /// Give up at this instant.
    pub deadline: Option<Instant>,
    /// Polled every [`CHECK_INTERVAL`] steps, like the deadline; `true` abandons the search.
    pub cancelled: &'a (dyn Fn() -> bool + Sync),
}

/// Why a search gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// The step budget ran out.
    Steps,
    /// The deadline passed.
    Time,
    /// Another partition's violation made this one irrelevant.
    Cancelled,
}

/// A failed search's evidence, as positions in the partition's operation list.
#[derive(Clone, Debug)]
pub(crate) struct Witness<M> {
    /// The longest linearizable prefix found, in linearization order.
    pub prefix: Vec<usize>,
    /// The operation whose completion could not be passed after that prefix.
    pub blocked: usize,
    /// The model state after the prefix, then other states reached with the same depth and
    /// the same blocked operation (at most [`WITNESS_STATES_MAX`] in all).
    pub states: Vec<M>,
}

/// The answer for one partition.
#[derive(Clone, Debug)]
pub(crate) enum SearchResult<M> {
    Linearizable,
    Nonlinearizable(Witness<M>),
    GaveUp(GaveUp),
}

/// The answer and the number of steps it took.
#[derive(Clone, Debug)]
pub(crate) struct SearchOutcome<M> {
    pub result: SearchResult<M>,
    pub steps: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Head,
    Call(u32),
    Return(u32),
    Tail,
}

/// The entry list with O(1) removal and LIFO re-insertion (dancing links).
struct EntryList {
    kind: Vec<Entry>,
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Per operation: its call node and its return node (if `ok`).
    nodes: Vec<(u32, Option<u32>)>,
}

const HEAD: u32 = 0;

impl EntryList {
    fn new<O>(ops: &[SearchOp<O>]) -> EntryList {
        let mut events: Vec<(usize, Entry)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            let id = i as u32;
            events.push((op.invoke, Entry::Call(id)));
            if let (true, Some(completion)) = (op.must_happen, op.completion) {
                events.push((completion, Entry::Return(id)));
            }
        }
        events.sort_by_key(|(position, _)| *position);
        let mut kind = Vec::with_capacity(events.len() + 2);
        kind.push(Entry::Head);
        kind.extend(events.iter().map(|(_, entry)| *entry));
        kind.push(Entry::Tail);
        let count = kind.len() as u32;
        let next = (1..=count).map(|n| n.min(count - 1)).collect();
        let prev = (0..count).map(|n| n.saturating_sub(1)).collect();
        let mut nodes = vec![(0, None); ops.len()];
        for (node, entry) in kind.iter().enumerate() {
            match entry {
                Entry::Call(op) => nodes[*op as usize].0 = node as u32,
                Entry::Return(op) => nodes[*op as usize].1 = Some(node as u32),
                Entry::Head | Entry::Tail => {}
            }
        }
        EntryList {
            kind,
            next,
            prev,
            nodes,
        }
    }

    fn remove(&mut self, node: u32) {
        let (prev, next) = (self.prev[node as usize], self.next[node as usize]);
        self.next[prev as usize] = next;
        self.prev[next as usize] = prev;
    }

    fn restore(&mut self, node: u32) {
        let (prev, next) = (self.prev[node as usize], self.next[node as usize]);
        self.next[prev as usize] = node;
        self.prev[next as usize] = node;
    }

    fn lift(&mut self, op: u32) {
        let (call, ret) = self.nodes[op as usize];
        self.remove(call);
        if let Some(ret) = ret {
            self.remove(ret);
        }
    }

    fn unlift(&mut self, op: u32) {
        let (call, ret) = self.nodes[op as usize];
        if let Some(ret) = ret {
            self.restore(ret);
        }
        self.restore(call);
    }
}

/// How many operation positions a bitset holds without allocating.
const INLINE_BITS: usize = 256;

/// A fixed-size set of operation positions: inline for partitions of up to
/// [`INLINE_BITS`] operations, so most cache keys need no allocation of their own.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Bitset {
    Inline([u64; INLINE_BITS / 64]),
    Heap(Box<[u64]>),
}

impl Bitset {
    fn new(len: usize) -> Bitset {
        if len <= INLINE_BITS {
            Bitset::Inline([0; INLINE_BITS / 64])
        } else {
            Bitset::Heap(vec![0; len.div_ceil(64)].into_boxed_slice())
        }
    }
    fn words(&mut self) -> &mut [u64] {
        match self {
            Bitset::Inline(words) => words,
            Bitset::Heap(words) => words,
        }
    }
    fn set(&mut self, i: u32) {
        self.words()[i as usize / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: u32) {
        self.words()[i as usize / 64] &= !(1 << (i % 64));
    }
    fn contains(&self, i: u32) -> bool {
        let words: &[u64] = match self {
            Bitset::Inline(words) => words,
            Bitset::Heap(words) => words,
        };
        words[i as usize / 64] & (1 << (i % 64)) != 0
    }
}

/// Symmetry reduction for indeterminate operations: of two equal indeterminate operations,
/// the earlier-invoked one is linearized first. Sound because if a linearization uses the
/// later one but not the earlier, swapping them gives another (the earlier one was invoked
/// before, and neither has a completion to respect). This removes the 2^k blow-up of `k`
/// identical crashed writes. Answers, per operation, the twin it must wait for.
fn earlier_twins<O: Eq + std::hash::Hash>(ops: &[SearchOp<O>]) -> Vec<Option<u32>> {
    let mut latest: HashMap<&O, u32, BuildWordHasher> = HashMap::default();
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            if op.must_happen {
                None
            } else {
                latest.insert(&op.op, i as u32)
            }
        })
        .collect()
}

/// The deepest configuration the search had to backtrack from.
///
/// `agree` is a length up to which `prefix` equals the current stack, so recording a new
/// deepest prefix copies only the part of the stack pushed since the last pop below it.
struct Deepest<M> {
    prefix: Vec<u32>,
    agree: usize,
    blocked: Option<u32>,
    states: Vec<M>,
}

impl<M: Model> Deepest<M> {
    fn record(&mut self, stack: &[Frame<M>], state: &M, blocked: u32) {
        let depth = stack.len();
        if self.blocked.is_none() || depth > self.prefix.len() {
            self.prefix.truncate(self.agree);
            self.prefix
                .extend(stack[self.agree..].iter().map(|frame| frame.op));
            self.agree = depth;
            self.blocked = Some(blocked);
            self.states = vec![state.clone()];
        } else if depth == self.prefix.len()
            && self.blocked == Some(blocked)
            && self.states.len() < WITNESS_STATES_MAX
            && !self.states.contains(state)
        {
            self.states.push(state.clone());
        }
    }

    fn popped_to(&mut self, depth: usize) {
        self.agree = self.agree.min(depth);
    }
}

struct Frame<M> {
    op: u32,
    /// The state before `op` was linearized.
    state: M,
    /// A read-only operation linearized greedily: the configuration below it has no other
    /// choice to try.
    forced: bool,
}

/// What [`Search::try_linearize`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attempt {
    /// Linearized: a new configuration.
    Pushed,
    /// The model (or the twin rule) does not allow it here.
    Rejected,
    /// Allowed, but the configuration it leads to was explored before and failed.
    Seen,
}

/// The search's mutable state: the entry list, the linearized set and its stack, the cache.
struct Search<'a, M: Model> {
    ops: &'a [SearchOp<M::Op>],
    list: EntryList,
    /// Per operation: the latest earlier-invoked indeterminate operation equal to it, if
    /// it is indeterminate itself (see [`earlier_twins`]).
    earlier_twin: Vec<Option<u32>>,
    /// Per operation: does the model declare it read-only ([`Model::is_read_only`])?
    read_only: Vec<bool>,
    /// `ok` operations not linearized yet.
    remaining: usize,
    linearized: Bitset,
    cache: HashSet<(Bitset, M), BuildWordHasher>,
    stack: Vec<Frame<M>>,
    state: M,
    deepest: Deepest<M>,
}

impl<'a, M: Model> Search<'a, M> {
    fn new(initial: &M, ops: &'a [SearchOp<M::Op>]) -> Self {
        Search {
            ops,
            list: EntryList::new(ops),
            earlier_twin: earlier_twins(ops),
            read_only: ops.iter().map(|op| M::is_read_only(&op.op)).collect(),
            remaining: ops.iter().filter(|op| op.must_happen).count(),
            linearized: Bitset::new(ops.len()),
            cache: HashSet::with_capacity_and_hasher(ops.len() * 8, BuildWordHasher),
            stack: Vec::new(),
            state: initial.clone(),
            deepest: Deepest {
                prefix: Vec::new(),
                agree: 0,
                blocked: None,
                states: Vec::new(),
            },
        }
    }

    /// Linearizes `op` next if the model accepts it and the resulting configuration is new.
    fn try_linearize(&mut self, op: u32, forced: bool) -> Attempt {
        if let Some(twin) = self.earlier_twin[op as usize] {
            if !self.linearized.contains(twin) {
                return Attempt::Rejected;
            }
        }
        let Some(next_state) = self.state.step(&self.ops[op as usize].op) else {
            return Attempt::Rejected;
        };
        debug_assert!(
            !forced || next_state == self.state,
            "a read-only op changed the state"
        );
        self.linearized.set(op);
        if !self
            .cache
            .insert((self.linearized.clone(), next_state.clone()))
        {
            self.linearized.clear(op);
            return Attempt::Seen;
        }
        let previous = std::mem::replace(&mut self.state, next_state);
        self.stack.push(Frame {
            op,
            state: previous,
            forced,
        });
        self.list.lift(op);
        self.remaining -= usize::from(self.ops[op as usize].must_happen);
        Attempt::Pushed
    }

    /// The current configuration failed (`blocked` returned unlinearized, if known): undoes
    /// choices up to and including the last unforced one, and answers the node to continue
    /// from, or `None` when there is nothing left to undo.
    fn backtrack(&mut self, blocked: Option<u32>) -> Option<u32> {
        if let Some(blocked) = blocked {
            self.deepest.record(&self.stack, &self.state, blocked);
        }
        loop {
            let frame = self.stack.pop()?;
            self.deepest.popped_to(self.stack.len());
            self.list.unlift(frame.op);
            self.linearized.clear(frame.op);
            self.remaining += usize::from(self.ops[frame.op as usize].must_happen);
            self.state = frame.state;
            if !frame.forced {
                return Some(self.list.next[self.list.nodes[frame.op as usize].0 as usize]);
            }
        }
    }
}

/// Searches one partition; see the module docs.
pub(crate) fn search<M: Model>(
    initial: &M,
    ops: &[SearchOp<M::Op>],
    controls: &Controls<'_>,
) -> SearchOutcome<M> {
    let mut search = Search::new(initial, ops);
    let mut node = search.list.next[HEAD as usize];
    let step_limit = controls.max_steps.unwrap_or(u64::MAX);
    let mut steps: u64 = 0;
    // Each configuration first scans its candidates for a read-only operation the model
    // accepts (taken greedily), then tries the others one by one.
    let mut scanning_reads = true;
    let result = loop {
        if search.remaining == 0 {
            break SearchResult::Linearizable;
        }
        if let Some(gave_up) = budget_exhausted(controls, steps, step_limit) {
            break SearchResult::GaveUp(gave_up);
        }
        steps += 1;
        let entry = search.list.kind[node as usize];
        // `Some(blocked)` when the current configuration cannot be extended; `blocked` is
        // the operation that returned unlinearized, if that is the reason.
        let dead_end: Option<Option<u32>> = match entry {
            Entry::Call(op) if search.read_only[op as usize] != scanning_reads => {
                node = search.list.next[node as usize];
                None
            }
            Entry::Call(op) => match search.try_linearize(op, scanning_reads) {
                Attempt::Pushed => {
                    node = search.list.next[HEAD as usize];
                    scanning_reads = true;
                    None
                }
                // The greedy read leads to a failed configuration, so this one fails too.
                Attempt::Seen if scanning_reads => Some(None),
                Attempt::Seen | Attempt::Rejected => {
                    node = search.list.next[node as usize];
                    None
                }
            },
            Entry::Return(_) if scanning_reads => {
                node = search.list.next[HEAD as usize];
                scanning_reads = false;
                None
            }
            Entry::Return(op) => Some(Some(op)),
            // Unreachable while an `ok` operation remains: the walk meets its return before
            // the tail, and the head is no entry's successor.
            Entry::Head | Entry::Tail => {
                debug_assert!(false, "walked past every return with ok ops left");
                break SearchResult::Linearizable;
            }
        };
        if let Some(blocked) = dead_end {
            match search.backtrack(blocked) {
                Some(next) => {
                    node = next;
                    scanning_reads = false;
                }
                None => break SearchResult::Nonlinearizable(witness(search.deepest)),
            }
        }
    };
    SearchOutcome { result, steps }
}

fn budget_exhausted(controls: &Controls<'_>, steps: u64, step_limit: u64) -> Option<GaveUp> {
    if steps >= step_limit {
        Some(GaveUp::Steps)
    } else if steps % CHECK_INTERVAL == CHECK_INTERVAL - 1 {
        should_stop(controls)
    } else {
        None
    }
}

fn should_stop(controls: &Controls<'_>) -> Option<GaveUp> {
    if (controls.cancelled)() {
        return Some(GaveUp::Cancelled);
    }
    if controls.deadline.is_some_and(|at| Instant::now() >= at) {
        return Some(GaveUp::Time);
    }
    None
}

fn witness<M>(deepest: Deepest<M>) -> Witness<M> {
    Witness {
        prefix: deepest.prefix.iter().map(|&op| op as usize).collect(),
        blocked: deepest.blocked.map_or(0, |op| op as usize),
        states: deepest.states,
    }
}
