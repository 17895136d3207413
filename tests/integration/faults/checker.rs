//! Per-key linearizability checking of recorded client histories: the Wing & Gong search with
//! Lowe's memoization, as Porcupine does it, over one versioned register per key. Pure `std`,
//! no I/O and no dcache types: fault tests record [`Event`]s and call [`check`]; this file must
//! not reach into `support` or `src/`.
//!
//! The model: a key holds nothing or `(value, version)`, where a version is the Raft log index
//! of the write that produced the value. Writes to a key take effect in log order, so in any
//! legal order their versions strictly increase; a write, or a read revealing the version of an
//! unknown-outcome write, whose version is not above every version before it is rejected.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

/// The request a client sent for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Write `value`. No two writes in a history may carry the same value (retries included),
    /// so that a read's value names the one write it observed.
    Set { value: String },
    /// Remove the key.
    Delete,
    /// Read the key.
    Get,
}

/// What the client learned about its request. Requests known to have failed without effect
/// (a 4xx, a refused connection) must be left out of the history altogether.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The set was applied at log index `version`.
    Set { version: u64 },
    /// The delete was applied; `existed` says whether the key was there. (dcache reports no
    /// version for a delete, so deletes take no part in the version order.)
    Delete { existed: bool },
    /// The read saw `Some((value, version))`, or `None` for an absent key.
    Get(Option<(String, u64)>),
    /// The set was acknowledged by a protocol that does not report versions (RESP's `+OK`).
    SetAcked,
    /// The read saw `Some(value)` or nothing, from a protocol that does not report versions.
    GetValue(Option<String>),
    /// Timeout, reset or 5xx after sending: a write may have taken effect at any moment after
    /// `call`, or never. A read with this outcome is ignored.
    Unknown,
}

/// One client operation on one key, with the real-time interval it occupied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// Who issued it; only shown in counterexamples.
    pub(crate) client: usize,
    /// Histories are split by key and each key is checked on its own, starting absent.
    pub(crate) key: String,
    /// What was asked.
    pub(crate) op: Op,
    /// Nanoseconds since the start of the history (one monotonic clock for all clients), read
    /// before the request was sent.
    pub(crate) call: u64,
    /// Nanoseconds since the start, read after the answer arrived; `None` when the outcome is
    /// unknown. `None` here or [`Outcome::Unknown`] makes the whole event unknown.
    pub(crate) ret: Option<u64>,
    /// What was answered.
    pub(crate) outcome: Outcome,
}

/// The judgement on one key's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Some order of the operations, each placed inside its interval, obeys the register model.
    Linearizable,
    /// No such order exists; the text is a counterexample of about a dozen lines naming the key.
    Violation(String),
    /// The search ran out of time or memory, or the events were malformed; the text says which.
    /// Never a pass.
    Unknown(String),
}

/// The verdicts for every key of a history, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    /// One verdict per key that has at least one event.
    pub(crate) per_key: Vec<(String, Verdict)>,
    /// Operations searched over, after dropping reads with unknown outcome.
    pub(crate) ops: usize,
}

impl Report {
    /// True only when every key is [`Verdict::Linearizable`]; `Unknown` counts as a failure.
    pub(crate) fn is_ok(&self) -> bool {
        self.per_key.iter().all(|(_, v)| *v == Verdict::Linearizable)
    }

    /// The keys proven not linearizable, each with its counterexample.
    pub(crate) fn violations(&self) -> Vec<(&str, &str)> {
        let found = self.per_key.iter().filter_map(|(key, v)| match v {
            Verdict::Violation(text) => Some((key.as_str(), text.as_str())),
            _ => None,
        });
        found.collect()
    }

    /// One line: keys and operations checked, and how many keys got each verdict, naming only
    /// verdicts that occurred (so it contains "violation" exactly when one was found).
    pub(crate) fn summary(&self) -> String {
        let count = |f: fn(&Verdict) -> bool| self.per_key.iter().filter(|(_, v)| f(v)).count();
        let ok = count(|v| matches!(v, Verdict::Linearizable));
        let bad = count(|v| matches!(v, Verdict::Violation(_)));
        let unknown = count(|v| matches!(v, Verdict::Unknown(_)));
        let parts = [
            (ok, "linearizable"),
            (bad, if bad == 1 { "violation" } else { "violations" }),
        ];
        let parts = parts
            .into_iter()
            .chain([(unknown, "undecided")])
            .filter(|&(n, _)| n > 0);
        let parts: Vec<String> = parts.map(|(n, what)| format!("{n} {what}")).collect();
        let (keys, ops) = (self.per_key.len(), self.ops);
        format!("linearizability: {ops} ops on {keys} key(s): {}", parts.join(", "))
    }

    /// The counterexample or reason of every key that is not linearizable, one block each;
    /// empty when [`Report::is_ok`].
    pub(crate) fn details(&self) -> String {
        let blocks = self.per_key.iter().filter_map(|(key, verdict)| match verdict {
            Verdict::Linearizable => None,
            Verdict::Violation(text) => Some(text.clone()),
            Verdict::Unknown(why) => Some(format!("key {key:?}: undecided: {why}")),
        });
        blocks.collect::<Vec<_>>().join("\n")
    }
}

/// The summary line, then [`Report::details`].
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.details().as_str() {
            "" => write!(f, "{}", self.summary()),
            details => write!(f, "{}\n{details}", self.summary()),
        }
    }
}

/// Checks every key of `history` for linearizability against the versioned-register model.
///
/// Events may come in any order. Each key gets its own `budget_per_key` of wall time, so the
/// call takes at most about keys x budget; the clock is read every 1024 search steps, so a key
/// settled in fewer steps is settled whatever the budget. Search memory per key is capped near
/// 512 MiB. Running out of either yields [`Verdict::Unknown`], never a pass.
pub(crate) fn check(history: &[Event], budget_per_key: Duration) -> Report {
    let mut by_key: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for event in history {
        by_key.entry(event.key.as_str()).or_default().push(event);
    }
    let (mut per_key, mut ops) = (Vec::new(), 0);
    for (key, events) in by_key {
        let verdict = match KeyOps::build(events) {
            Err(why) => Verdict::Unknown(why),
            Ok(key_ops) => {
                ops += key_ops.steps.len();
                match search(&key_ops, Instant::now().checked_add(budget_per_key)) {
                    End::Linearizable => Verdict::Linearizable,
                    End::Stuck(stuck) => Verdict::Violation(key_ops.describe(key, &stuck)),
                    End::GaveUp(why) => Verdict::Unknown(format!("{why} ({} ops on this key)", key_ops.steps.len())),
                }
            }
        };
        per_key.push((key.to_string(), verdict));
    }
    Report { per_key, ops }
}

/// Search steps between two looks at the clock.
const CLOCK_EVERY: u64 = 1024;
/// Estimated memo-table size at which a key's search gives up.
const MEMO_LIMIT_BYTES: usize = 512 << 20;
/// Return time of an operation whose outcome is unknown: it stays pending for ever.
const NEVER: u64 = u64::MAX;
/// No entry, no operation.
const NIL: usize = usize::MAX;

/// One operation reduced to what the model needs; values are interned per key.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Value and version; `None` when the outcome is unknown.
    Set(u32, Option<u64>),
    /// Whether the key existed; `None` when the outcome is unknown.
    Delete(Option<bool>),
    /// What the read saw: the value and, when the protocol reports it, its version.
    Get(Option<(u32, Option<u64>)>),
}

impl Step {
    /// A write whose log index is known; these are placed in version order.
    fn known_write(self) -> bool {
        matches!(self, Step::Set(_, Some(_)))
    }
}

/// The register after a prefix of some order: the live value with its version (unknown if its
/// write had an unknown outcome, until a read reveals it), and the newest version so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct State {
    current: Option<(u32, Option<u64>)>,
    newest: u64,
}

/// Why a step cannot come next.
#[derive(Debug, Clone, Copy)]
enum Clash {
    /// The version is not above the newest one before it.
    NotNewer(u64),
    /// The version is above that of a known write not yet placed.
    Early(u64, u64),
    /// The delete's `existed` is wrong.
    Existed(bool),
    /// The read's value (or absence) is wrong.
    Read,
    /// The read has the right value with the wrong version; the right one.
    Version(u64),
}

impl State {
    /// The state after `step`, or why the model forbids `step` here. `next_known` is the lowest
    /// version of a known-version write not yet placed (`NEVER` if none): known writes go in
    /// version order, which prunes early orders that could only fail later.
    fn apply(self, step: Step, next_known: u64) -> Result<State, Clash> {
        let advance = |version: Option<u64>, write: bool| match version {
            None => Ok(self.newest),
            Some(v) if v <= self.newest => Err(Clash::NotNewer(v)),
            Some(v) if (write && v != next_known) || (!write && v >= next_known) => Err(Clash::Early(v, next_known)),
            Some(v) => Ok(v),
        };
        let to = |current, newest| Ok(State { current, newest });
        match (step, self.current) {
            (Step::Set(value, version), _) => to(Some((value, version)), advance(version, true)?),
            (Step::Delete(Some(claimed)), current) if claimed != current.is_some() => Err(Clash::Existed(claimed)),
            (Step::Delete(_), _) => to(None, self.newest),
            (Step::Get(None), None) => Ok(self),
            (Step::Get(Some((seen, Some(v)))), Some((value, Some(known)))) if seen == value && v != known => {
                Err(Clash::Version(known))
            }
            (Step::Get(Some((seen, _))), Some((value, Some(_)))) if seen == value => Ok(self),
            // The first read with a version of a write whose version is unknown reveals it.
            (Step::Get(Some((seen, Some(v)))), Some((value, None))) if seen == value => {
                to(Some((value, Some(v))), advance(Some(v), false)?)
            }
            (Step::Get(Some((seen, None))), Some((value, None))) if seen == value => Ok(self),
            (Step::Get(_), _) => Err(Clash::Read),
        }
    }
}

/// One key's operations in call order, ready to search.
#[derive(Default)]
struct KeyOps<'h> {
    client: Vec<usize>,
    steps: Vec<Step>,
    call: Vec<u64>,
    ret: Vec<u64>,
    values: Vec<&'h str>,
    /// Versions of the known-version writes, ascending.
    versions: Vec<u64>,
    /// Per value: the unknown-outcome write of it, if that is how it was written.
    writer: Vec<Option<usize>>,
    /// Unknown-outcome sets whose value no read saw, and unknown-outcome deletes, by call time.
    unread_sets: Vec<usize>,
    unknown_deletes: Vec<usize>,
    /// Per op: 0 if in `unread_sets`, 1 if in `unknown_deletes`. Ops in the same pool differ
    /// only in call time.
    pool: Vec<Option<usize>>,
}

impl<'h> KeyOps<'h> {
    /// Drops reads with unknown outcome, sorts by call time and interns values; `Err` names the
    /// first malformed event.
    fn build(mut events: Vec<&'h Event>) -> Result<KeyOps<'h>, String> {
        events.retain(|e| e.op != Op::Get || (e.ret.is_some() && e.outcome != Outcome::Unknown));
        events.sort_by_key(|e| e.call);
        let mut ops = KeyOps::default();
        let mut ids: HashMap<&'h str, u32> = HashMap::new();
        for e in events {
            let mut intern = |value: &'h str| {
                *ids.entry(value).or_insert_with(|| {
                    ops.values.push(value);
                    // Fewer than u32::MAX distinct values fit in any history we can record.
                    (ops.values.len() - 1) as u32
                })
            };
            let ret = e.ret.filter(|_| e.outcome != Outcome::Unknown).unwrap_or(NEVER);
            let step = match (&e.op, &e.outcome) {
                (Op::Set { value }, _) if ret == NEVER => Step::Set(intern(value), None),
                (Op::Set { value }, Outcome::Set { version }) => Step::Set(intern(value), Some(*version)),
                (Op::Delete, _) if ret == NEVER => Step::Delete(None),
                (Op::Delete, Outcome::Delete { existed }) => Step::Delete(Some(*existed)),
                (Op::Set { value }, Outcome::SetAcked) => Step::Set(intern(value), None),
                (Op::Get, Outcome::Get(seen)) => {
                    Step::Get(seen.as_ref().map(|(v, version)| (intern(v), Some(*version))))
                }
                (Op::Get, Outcome::GetValue(seen)) => Step::Get(seen.as_deref().map(|v| (intern(v), None))),
                _ => return Err(format!("malformed history: outcome does not fit request in {e:?}")),
            };
            if ret < e.call {
                return Err(format!("malformed history: returned before it was called in {e:?}"));
            }
            ops.client.push(e.client);
            ops.steps.push(step);
            ops.call.push(e.call);
            ops.ret.push(ret);
        }
        let mut read = vec![false; ops.values.len()];
        ops.writer = vec![None; ops.values.len()];
        for (op, step) in ops.steps.iter().enumerate() {
            match *step {
                Step::Get(Some((value, _))) => read[value as usize] = true,
                // Only writes that never returned are placed as helpers; an acknowledged
                // write without a version is an ordinary operation with a return.
                Step::Set(value, None) if ops.ret[op] == NEVER => ops.writer[value as usize] = Some(op),
                Step::Delete(None) => ops.unknown_deletes.push(op),
                Step::Set(_, Some(v)) => ops.versions.push(v),
                _ => {}
            }
        }
        ops.versions.sort_unstable();
        let unread = ops
            .writer
            .iter()
            .zip(read)
            .filter_map(|(&writer, read)| writer.filter(|_| !read));
        ops.unread_sets = unread.collect();
        ops.unread_sets.sort_unstable(); // op indexes are in call order
        ops.pool = vec![None; ops.steps.len()];
        for (pool, members) in [&ops.unread_sets, &ops.unknown_deletes].into_iter().enumerate() {
            members.iter().for_each(|&op| ops.pool[op] = Some(pool));
        }
        Ok(ops)
    }

    /// The one unplaced unknown-outcome write worth placing right before `step` (at call entry
    /// `entry`) when `step` does not fit alone, if any; it must have been called by the first
    /// pending return. A read of `v` can only be helped by the write of `v`; a delete that saw
    /// the key, by a write whose value nobody read (a read value would be deleted before its
    /// reads could see it); a read of nothing or a delete that saw nothing, by an unknown
    /// delete. Writes in the last two groups differ only in call time, so the latest-called is
    /// taken: whatever an order does with it, it can do with an earlier-called one instead.
    fn helper(&self, entries: &Entries, entry: usize, placed: &Bits, step: Step) -> Option<usize> {
        let mut first_return = entry;
        while first_return != NIL && entries.is_call[first_return] {
            first_return = entries.next[first_return];
        }
        // `step`'s own return is still listed, so `first_return` is never NIL.
        let by = self.ret[*entries.op.get(first_return)?];
        let usable = |x: &usize| self.call[*x] <= by && !placed.has(*x);
        let latest = |group: &[usize]| group.iter().rev().copied().find(&usable);
        match step {
            Step::Get(Some((seen, _))) => self.writer[seen as usize].filter(&usable),
            Step::Delete(Some(true)) => latest(&self.unread_sets),
            Step::Get(None) | Step::Delete(Some(false)) => latest(&self.unknown_deletes),
            _ => None,
        }
    }
}

/// The call/return entries of the operations with a known return, in time order, as a doubly
/// linked list from which an operation's pair can be lifted and put back (Lowe's "lift").
struct Entries {
    op: Vec<usize>,
    is_call: Vec<bool>,
    partner: Vec<usize>,
    prev: Vec<usize>,
    next: Vec<usize>,
}

impl Entries {
    /// Entry 0 is the head. At equal times calls sort before returns, so intervals that merely
    /// touch count as overlapping and no order is wrongly ruled out.
    fn new(call: &[u64], ret: &[u64]) -> Entries {
        let known = (0..call.len()).filter(|&i| ret[i] != NEVER);
        let mut order: Vec<(u64, bool, usize)> = known.flat_map(|i| [(call[i], false, i), (ret[i], true, i)]).collect();
        order.sort_unstable();
        let len = order.len() + 1;
        let mut entries = Entries {
            op: vec![NIL; len],
            is_call: vec![false; len],
            partner: vec![NIL; len],
            prev: (0..len).map(|i| i.wrapping_sub(1)).collect(),
            next: (1..=len).map(|i| if i == len { NIL } else { i }).collect(),
        };
        let mut call_at = vec![NIL; call.len()];
        for (at, &(_, is_ret, op)) in (1..).zip(&order) {
            (entries.op[at], entries.is_call[at]) = (op, !is_ret);
            if is_ret {
                (entries.partner[at], entries.partner[call_at[op]]) = (call_at[op], at);
            } else {
                call_at[op] = at;
            }
        }
        entries
    }

    /// Removes call entry `e` and its return; lifts must be undone in reverse order.
    fn lift(&mut self, e: usize) {
        for x in [e, self.partner[e]] {
            let (p, n) = (self.prev[x], self.next[x]);
            self.next[p] = n;
            if n != NIL {
                self.prev[n] = p;
            }
        }
    }

    /// Puts back the pair of the most recent lift, which was of `e`.
    fn unlift(&mut self, e: usize) {
        for x in [self.partner[e], e] {
            let (p, n) = (self.prev[x], self.next[x]);
            self.next[p] = x;
            if n != NIL {
                self.prev[n] = x;
            }
        }
    }
}

/// The set of placed operations, one bit each.
struct Bits(Vec<u64>);

impl Bits {
    fn flip(&mut self, op: usize) {
        self.0[op / 64] ^= 1 << (op % 64);
    }

    fn has(&self, op: usize) -> bool {
        self.0[op / 64] & (1 << (op % 64)) != 0
    }
}

/// How a key's search ended.
enum End {
    Linearizable,
    /// Every order was tried; this is the deepest point any of them reached.
    Stuck(Stuck),
    GaveUp(String),
}

/// The deepest dead end: the ops placed (in order), the stack depth, the state after them, and
/// the operation whose return was reached while it could not be placed.
struct Stuck {
    prefix: Vec<usize>,
    depth: usize,
    state: State,
    blocked: usize,
}

/// Lowe's depth-first search: repeatedly place the first pending call the model accepts,
/// backtrack when an operation's return is reached while it is still pending, and skip any
/// configuration already explored (see [`Memo`]). Known writes go in version order (see
/// [`State::apply`]), and two more reductions keep the search small, neither of which rejects
/// a linearizable history:
///
/// - A pending op that fits and leaves the state as it is (a read of the current value, a
///   delete of an absent key) is placed at once, and if that fails, so does every other choice
///   here: any order that places it later still works with it moved up to now.
/// - Unknown-outcome writes never return and need no place, so they are placed only as helpers,
///   right before a known op that does not fit without one. Every order can be rewritten into
///   that form (move such a write later until the next op; if that op does not need it, the
///   write is overwritten unobserved and may as well never have happened), and
///   [`KeyOps::helper`] names the one helper worth trying.
fn search(ops: &KeyOps<'_>, deadline: Option<Instant>) -> End {
    let mut entries = Entries::new(&ops.call, &ops.ret);
    let must_place = ops.ret.iter().filter(|&&r| r != NEVER).count();
    let mut placed = Bits(vec![0; ops.steps.len().div_ceil(64)]);
    let mut memo = Memo::new(ops);
    // Per placed known op: its call entry, its helper (or NIL), the state before both, and
    // whether it was forced (placed at once as a no-op, so siblings need no trying).
    let mut stack: Vec<(usize, usize, State, bool)> = Vec::new();
    let (mut state, mut known_writes, mut used) = (State::default(), 0, [0; 2]);
    let (mut deepest, mut steps, mut fresh) = (None::<Stuck>, 0u64, true);
    let mut entry = entries.next[0];
    while stack.len() < must_place {
        steps += 1;
        if steps % CLOCK_EVERY == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            return End::GaveUp(format!("time budget exhausted after {steps} search steps"));
        }
        if memo.len * (placed.0.len() * 8 + 96) > MEMO_LIMIT_BYTES {
            let mib = MEMO_LIMIT_BYTES >> 20;
            return End::GaveUp(format!("memo table passed {mib} MiB after {steps} steps"));
        }
        let next_known = ops.versions.get(known_writes).copied().unwrap_or(NEVER);
        let mut chosen = None;
        if std::mem::take(&mut fresh) {
            // Arrived at a new configuration: a no-op that fits goes first, and alone.
            let mut e = entries.next[0];
            while chosen.is_none() && e != NIL && entries.is_call[e] {
                let step = ops.steps[entries.op[e]];
                let after = state.apply(step, next_known).ok().filter(|&after| after == state);
                chosen = after.filter(|_| !step.known_write()).map(|after| (e, NIL, after, true));
                e = entries.next[e];
            }
            if chosen.is_none() {
                continue; // no such op: scan the choices from `entry`, the first one
            }
        } else if entries.is_call.get(entry) == Some(&true) {
            let op = entries.op[entry];
            let step = ops.steps[op];
            chosen = match state.apply(step, next_known) {
                // Fits alone: a helper before it would be dropped.
                Ok(after) => Some((entry, NIL, after, false)),
                Err(_) => ops.helper(&entries, entry, &placed, step).and_then(|x| {
                    let after = state
                        .apply(ops.steps[x], next_known)
                        .and_then(|s| s.apply(step, next_known));
                    Some((entry, x, after.ok()?, false))
                }),
            };
            if chosen.is_none() {
                entry = entries.next[entry];
                continue;
            }
        }
        if let Some((call, helper, after, forced)) = chosen {
            let op = entries.op[call];
            let mut now_used = used;
            if let Some(pool) = ops.pool.get(helper).copied().flatten() {
                now_used[pool] += 1;
            }
            if memo.visit(&mut placed, [helper, op], after, now_used) {
                stack.push((call, helper, state, forced));
                (state, used, fresh) = (after, now_used, true);
                known_writes += usize::from(ops.steps[op].known_write());
                entries.lift(call);
                entry = entries.next[0];
                continue;
            }
            if !forced {
                entry = entries.next[entry];
                continue;
            }
            // Forced, and explored before: this configuration is a dead end.
        } else if let Some(&op) = entries.op.get(entry) {
            // `op` returned while still pending: this prefix is a dead end.
            if deepest.as_ref().is_none_or(|d| stack.len() > d.depth) {
                let prefix = stack.iter().flat_map(|&(e, helper, ..)| [helper, entries.op[e]]);
                let prefix = prefix.filter(|&x| x != NIL).collect();
                deepest = Some(Stuck {
                    prefix,
                    depth: stack.len(),
                    state,
                    blocked: op,
                });
            }
        }
        // Back up past forced placements to the last free choice, and try its next sibling.
        loop {
            let Some((call, helper, before, forced)) = stack.pop() else {
                return deepest.map_or_else(|| End::GaveUp("internal error: no dead end".to_string()), End::Stuck);
            };
            let undone = entries.op[call];
            placed.flip(undone);
            if helper != NIL {
                placed.flip(helper);
                if let Some(pool) = ops.pool[helper] {
                    used[pool] -= 1;
                }
            }
            entries.unlift(call);
            state = before;
            known_writes -= usize::from(ops.steps[undone].known_write());
            entry = entries.next[call];
            if !forced {
                break;
            }
        }
    }
    End::Linearizable
}

/// The configurations explored so far: placed ops and state, with the unknown-outcome writes
/// of each pool counted rather than named. A configuration is skipped when one with the same
/// named ops and state, and no more of either pool used, was explored: its pool members are
/// all called before the frontier (the first pending return, the same for both), as are all
/// those of the new one, and members of a pool differ in nothing else, so it had every option
/// the new one has.
struct Memo {
    seen: HashMap<(Vec<u64>, State), Vec<[u32; 2]>>,
    /// How many (configuration, counts) entries `seen` holds.
    len: usize,
    /// Bits of the pool members, left out of the placed-op set.
    pooled: Vec<u64>,
}

impl Memo {
    fn new(ops: &KeyOps<'_>) -> Memo {
        let mut pooled = Bits(vec![0; ops.steps.len().div_ceil(64)]);
        let members = (0..ops.steps.len()).filter(|&op| ops.pool[op].is_some());
        members.for_each(|op| pooled.flip(op));
        let (seen, len) = (HashMap::new(), 0);
        Memo {
            seen,
            len,
            pooled: pooled.0,
        }
    }

    /// Marks `ops` (skipping `NIL`) placed and records the configuration reached; false, with
    /// the marks undone, when an explored one covers it.
    fn visit(&mut self, placed: &mut Bits, ops: [usize; 2], after: State, used: [u32; 2]) -> bool {
        let ops = ops.into_iter().filter(|&x| x != NIL);
        ops.clone().for_each(|x| placed.flip(x));
        let named = placed.0.iter().zip(&self.pooled).map(|(p, pooled)| p & !pooled);
        let named = named.collect();
        let counts = self.seen.entry((named, after)).or_default();
        if counts.iter().any(|c| c[0] <= used[0] && c[1] <= used[1]) {
            ops.for_each(|x| placed.flip(x));
            return false;
        }
        counts.push(used);
        self.len += 1;
        true
    }
}

/// Placed operations a counterexample shows (the last ones before the dead end).
const SHOW_PREFIX: usize = 5;
/// Pending operations a counterexample shows.
const SHOW_PENDING: usize = 8;

impl KeyOps<'_> {
    /// About a dozen lines: the tail of the deepest linearizable prefix, the register after it,
    /// and the operations pending at that point, in call order, with why each cannot go next.
    fn describe(&self, key: &str, stuck: &Stuck) -> String {
        let n = stuck.prefix.len();
        let mut out = format!("key {key:?}: not linearizable ({} ops).\n", self.steps.len());
        out += &match n {
            0 => "  no operation can go first.\n".to_string(),
            _ => format!("  longest linearizable prefix: {n} ops; the last of them, in order:\n"),
        };
        if n > SHOW_PREFIX {
            out += &format!("    ... {} earlier ops\n", n - SHOW_PREFIX);
        }
        for &op in &stuck.prefix[n.saturating_sub(SHOW_PREFIX)..] {
            out += &format!("    {}\n", self.show_op(op));
        }
        out += &format!("  at that point the key holds {}\n", self.show_state(stuck.state));
        let mut done = vec![false; self.steps.len()];
        stuck.prefix.iter().for_each(|&op| done[op] = true);
        let known_writes = stuck.prefix.iter().filter(|&&op| self.steps[op].known_write()).count();
        let next_known = self.versions.get(known_writes).copied().unwrap_or(NEVER);
        let open = |op: &usize| !done[*op] && self.call[*op] <= self.ret[stuck.blocked];
        let window = (0..self.steps.len()).find(|op| open(op) && self.ret[*op] != NEVER);
        // Unknown-outcome writes called before the window stay pending for ever: count them only.
        let older = (0..window.unwrap_or(0)).filter(open).count();
        let pending: Vec<usize> = (window.unwrap_or(0)..self.steps.len()).filter(open).collect();
        out += "  pending there, in call order:\n";
        if older > 0 {
            out += &format!("    ... {older} older unknown-outcome writes, still free to apply\n");
        }
        for &op in pending.iter().take(SHOW_PENDING) {
            let why = self.why_not(op, stuck.state, next_known, &done);
            let mark = if op == stuck.blocked {
                "  <- returns first, so must go next"
            } else {
                ""
            };
            out += &format!("    {}  {why}{mark}\n", self.show_op(op));
        }
        if pending.len() > SHOW_PENDING {
            out += &format!("    ... {} more\n", pending.len() - SHOW_PENDING);
        }
        out.trim_end().to_string()
    }

    fn show_op(&self, op: usize) -> String {
        let what = match self.steps[op] {
            Step::Set(value, None) if self.ret[op] == NEVER => format!("set {} -> unknown", self.show_value(value)),
            Step::Set(value, None) => format!("set {} -> ok (no version)", self.show_value(value)),
            Step::Set(value, Some(v)) => format!("set {} -> @{v}", self.show_value(value)),
            Step::Delete(None) => "delete -> unknown".to_string(),
            Step::Delete(Some(existed)) => format!("delete -> existed={existed}"),
            Step::Get(None) => "get -> absent".to_string(),
            Step::Get(Some((value, Some(v)))) => format!("get -> {} @{v}", self.show_value(value)),
            Step::Get(Some((value, None))) => format!("get -> {}", self.show_value(value)),
        };
        let ret = if self.ret[op] == NEVER {
            "?".to_string()
        } else {
            ms(self.ret[op])
        };
        format!("c{} {what:<28} [{} .. {ret} ms]", self.client[op], ms(self.call[op]))
    }

    fn show_state(&self, state: State) -> String {
        let holds = match state.current {
            None => "nothing".to_string(),
            Some((value, None)) => format!("{} @? (from an unknown-outcome set)", self.show_value(value)),
            Some((value, Some(v))) => format!("{} @{v}", self.show_value(value)),
        };
        format!("{holds}; newest version so far {}", state.newest)
    }

    /// A value, quoted and cut to stay on one short line.
    fn show_value(&self, value: u32) -> String {
        let value = self.values[value as usize];
        match value.char_indices().nth(20) {
            None => format!("{value:?}"),
            Some((cut, _)) => format!("{:?}...", &value[..cut]),
        }
    }

    /// Why `op` cannot go next after the prefix marked in `done`, which left `state`.
    fn why_not(&self, op: usize, state: State, next_known: u64, done: &[bool]) -> String {
        let find = |f: &dyn Fn(Step) -> bool| (0..self.steps.len()).find(|&w| f(self.steps[w]));
        let who = |w: usize| format!("c{}, called at {} ms", self.client[w], ms(self.call[w]));
        let clash = match state.apply(self.steps[op], next_known) {
            _ if self.ret[op] == NEVER => return "unknown outcome: may apply here, later or never".to_string(),
            Ok(_) => return "fits, but every order from there fails".to_string(),
            Err(clash) => clash,
        };
        match (clash, self.steps[op]) {
            (Clash::NotNewer(v), _) => format!("version {v} is not above {}", state.newest),
            (Clash::Early(v, waiting), _) => {
                let write = find(&|s| matches!(s, Step::Set(_, Some(w)) if w == waiting));
                format!(
                    "@{v} must follow the write @{waiting} ({}), not placed yet",
                    write.map_or(String::new(), who)
                )
            }
            (Clash::Existed(true), _) => "says the key existed, but it is absent".to_string(),
            (Clash::Existed(false), _) => "says the key was absent, but it exists".to_string(),
            (Clash::Version(known), _) => format!("right value, wrong version (it is @{known})"),
            (Clash::Read, Step::Get(Some((value, _)))) => match find(&|s| matches!(s, Step::Set(v, _) if v == value)) {
                None => "no write in this key's history wrote that value".to_string(),
                Some(w) if done[w] => format!("its write ({}) was already overwritten", who(w)),
                Some(w) => format!("its write ({}) is not placed yet", who(w)),
            },
            (Clash::Read, _) => "the key holds a value".to_string(),
        }
    }
}

/// Nanoseconds as milliseconds with three decimals.
fn ms(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000_000, ns / 1_000 % 1_000)
}

#[cfg(test)]
mod tests;
