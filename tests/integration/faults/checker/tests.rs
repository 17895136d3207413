//! Tests of the linearizability checker: hand-written histories for each kind of anomaly, a
//! cross-check against brute force on small random histories, and timing on large ones.

use super::*;

const MS: u64 = 1_000_000;
const BUDGET: Duration = Duration::from_secs(10);

/// A one-key history in shorthand, one op per `;`, client = position, times in ms:
/// `0..10 set a @1`, `0..? set a` (unknown), `0..10 del yes` (or `no`), `0..? del`,
/// `0..10 get a @1`, `0..10 get -` (absent), `0..? get` (unknown); without versions, as
/// RESP answers: `0..10 set a ok` (acknowledged), `0..10 val a`, `0..10 val -`.
fn h(text: &str) -> Vec<Event> {
    let event = |(client, op): (usize, &str)| {
        let w: Vec<&str> = op.split_whitespace().collect();
        let (call, ret) = w[0].split_once("..").unwrap();
        let (call, ret) = (
            call.parse::<u64>().unwrap() * MS,
            ret.parse::<u64>().ok().map(|r| r * MS),
        );
        let version = w.last().unwrap().strip_prefix('@').map(|v| v.parse().unwrap());
        let (op, outcome) = match (w[1], ret) {
            ("set", Some(_)) if w.get(3) == Some(&"ok") => (Op::Set { value: w[2].into() }, Outcome::SetAcked),
            ("val", _) => (
                Op::Get,
                Outcome::GetValue(Some(w[2]).filter(|v| *v != "-").map(String::from)),
            ),
            ("set", _) => (
                Op::Set { value: w[2].into() },
                version.map_or(Outcome::Unknown, |version| Outcome::Set { version }),
            ),
            ("del", None) => (Op::Delete, Outcome::Unknown),
            ("del", _) => (Op::Delete, Outcome::Delete { existed: w[2] == "yes" }),
            ("get", None) => (Op::Get, Outcome::Unknown),
            _ => (Op::Get, Outcome::Get(version.map(|v| (w[2].to_string(), v)))),
        };
        Event {
            client,
            key: "k".into(),
            op,
            call,
            ret,
            outcome,
        }
    };
    text.split(';').enumerate().map(event).collect()
}

fn verdict(history: &[Event]) -> Verdict {
    let report = check(history, BUDGET);
    assert_eq!(report.per_key.len(), 1, "{report}");
    report.per_key[0].1.clone()
}

fn ok(text: &str) {
    assert_eq!(verdict(&h(text)), Verdict::Linearizable, "{text}");
}

/// Asserts a violation and returns its counterexample, which must stay short.
fn bad(text: &str) -> String {
    match verdict(&h(text)) {
        Verdict::Violation(found) if found.lines().count() <= 20 => found,
        other => panic!("expected a short violation for {text}, got {other:?}"),
    }
}

#[test]
fn accepts_sequential_and_empty_histories() {
    ok("0..1 get -; 2..3 set a @1; 4..5 get a @1; 6..7 set b @2; 8..9 get b @2");
    assert_eq!(check(&[], BUDGET).per_key, vec![]);
}

#[test]
fn rejects_stale_read() {
    let found = bad("0..10 set a @1; 20..30 set b @2; 40..50 get a @1");
    assert!(
        found.contains("its write (c0, called at 0.000 ms) was already overwritten"),
        "{found}"
    );
    // A read overlapping the newer write may still see the old value, but not a later one.
    ok("0..10 set a @1; 20..30 set b @2; 25..35 get a @1");
    bad("0..10 set a @1; 20..30 set b @2; 25..35 get a @1; 40..50 get a @1");
}

#[test]
fn rejects_lost_acknowledged_write() {
    bad("0..10 set a @1; 20..30 set b @2; 40..50 get a @1; 60..70 get a @1; 80..90 get a @1");
    bad("0..10 set a @1; 20..30 get -");
}

#[test]
fn rejects_impossible_orders() {
    let found = bad("0..10 set a @5; 20..30 set b @3");
    assert!(
        found.contains("@5 must follow the write @3 (c1, called at 20.000 ms)"),
        "{found}"
    );
    let found = bad("0..10 get a @1; 20..30 set a @1"); // read before its write was sent
    assert!(
        found.contains("its write (c1, called at 20.000 ms) is not placed yet"),
        "{found}"
    );
    // No write produced that version.
    bad("0..10 set a @1; 20..30 get a @2");
    // The reads put b before a, but the versions say a came first.
    bad("0..100 set a @1; 0..100 set b @2; 10..20 get b @2; 30..40 get a @1");
}

#[test]
fn accepts_concurrent_history_with_a_single_valid_order() {
    // Only b, get b, a, get a, get a fits: a is called first but must apply last.
    ok("0..100 set a @2; 5..100 set b @1; 10..20 get b @1; 30..40 get a @2; 110..120 get a @2");
    // Touching intervals count as overlapping, so the read may go first.
    ok("0..10 set a @1; 10..20 get -");
}

#[test]
fn unknown_outcome_writes_may_or_may_not_take_effect() {
    ok("0..10 set a @1; 20..? set b; 30..40 get a @1; 50..60 get a @1"); // never took effect
    ok("0..10 set a @1; 20..? set b; 30..40 get a @1; 50..60 get b @7"); // took effect late
    bad("0..10 set a @1; 20..? set b; 30..40 get b @2; 50..60 get a @1"); // cannot be undone
    bad("0..10 set a @1; 20..? set b; 30..40 get b @2; 50..60 get b @3"); // one write, two versions
    bad("0..10 set a @5; 20..? set b; 30..40 get b @3"); // revealed version older than a's
    bad("0..10 set a @1; 20..? set b; 30..40 get b @9; 50..60 set c @8"); // c must be newer than b
    bad("0..10 set a @1; 20..? set b; 30..40 get b @9; 35..45 set c @8; 41..50 get c @8");
    // Either a missing return or an Unknown outcome makes the event unknown.
    let mut history = h("0..10 set a @1; 20..25 set b @2; 30..40 get a @1");
    history[1].outcome = Outcome::Unknown;
    assert_eq!(verdict(&history), Verdict::Linearizable);
}

#[test]
fn reads_with_unknown_outcome_are_ignored() {
    let mut history = h("0..10 set a @1; 20..? get; 20..30 get nonsense @99");
    history[2].outcome = Outcome::Unknown;
    let report = check(&history, BUDGET);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.ops, 1);
}

#[test]
fn writes_and_reads_without_versions_are_checked_by_value() {
    ok("0..10 set a ok; 20..30 val a; 40..50 set b ok; 60..70 val b");
    ok("0..10 set a ok; 20..30 get a @5; 40..50 set b @7; 60..70 val b");
    ok("0..100 set a ok; 10..20 val -; 30..40 val a");
    // Stale, lost and reordered, as with versions.
    bad("0..10 set a ok; 20..30 set b ok; 40..50 val a");
    bad("0..10 set a ok; 20..30 val -");
    bad("0..10 val a; 20..30 set a ok");
    // Versions seen over HTTP still order RESP-acknowledged writes.
    bad("0..10 set a @5; 20..30 set b ok; 40..50 get b @3");
    bad("0..10 set a ok; 20..30 get a @5; 40..50 set b ok; 60..70 get b @4");
    ok("0..10 set a ok; 20..30 get a @5; 40..50 set b ok; 60..70 get b @6; 80..90 val b");
}

#[test]
fn handles_delete() {
    ok("0..5 del no; 10..20 set a @1; 30..40 del yes; 50..60 get -; 70..80 set b @3; 90..95 get b @3");
    bad("0..10 set a @1; 20..30 del no");
    bad("0..10 del yes");
    bad("0..10 set a @1; 20..30 del yes; 40..50 get a @1");
    ok("0..10 set a @1; 20..? del; 30..40 get -");
    ok("0..10 set a @1; 20..? del; 30..40 get a @1");
}

#[test]
fn unknown_writes_can_enable_later_operations() {
    ok("0..? set x; 20..30 del yes; 40..50 get -"); // x took effect, unread, then deleted
    ok("0..10 set a @1; 0..? del; 20..30 del no; 40..50 set b @2; 45..? del; 60..70 get -");
    // A write whose value is read cannot be the one the delete saw...
    bad("0..? set x; 20..30 del yes; 40..50 get x @5");
    // ... but another unknown write can.
    ok("0..? set x; 0..? set y; 20..30 del yes; 40..50 get x @5");
}

#[test]
fn keys_are_checked_separately_and_reported_in_order() {
    let mut history = h("0..10 set a @2; 20..30 set x @1; 40..50 get -");
    history[1].key = "other".into();
    let report = check(&history, BUDGET);
    assert_eq!(
        report.per_key.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["k", "other"]
    );
    assert_eq!(report.violations().iter().map(|v| v.0).collect::<Vec<_>>(), ["k"]);
    assert!(!report.is_ok());
    assert_eq!(
        report.summary(),
        "linearizability: 3 ops on 2 key(s): 1 linearizable, 1 violation"
    );
    assert!(report.details().starts_with("key \"k\": not linearizable") && !report.details().contains("other"));
    assert_eq!(
        report.to_string(),
        format!("{}\n{}", report.summary(), report.details())
    );
    history.remove(2);
    let report = check(&history, BUDGET);
    assert!(report.is_ok() && report.details().is_empty(), "{report}");
    assert_eq!(report.to_string(), "linearizability: 2 ops on 2 key(s): 2 linearizable");
}

#[test]
fn malformed_events_are_undecided_not_passed() {
    let mut history = h("0..10 set a @1");
    history[0].outcome = Outcome::Get(None);
    assert!(matches!(verdict(&history), Verdict::Unknown(why) if why.contains("malformed")));
    assert!(matches!(verdict(&h("10..5 set a @1")), Verdict::Unknown(why) if why.contains("malformed")));
}

#[test]
fn counterexample_names_the_key_and_stays_short() {
    let mut history = random_history(&mut Rng(7), 300, 1, 4, 3);
    history.extend(h("10000..10001 get never-written @1"));
    history.iter_mut().for_each(|e| e.key = "user:42".into());
    let report = check(&history, BUDGET);
    let violations = report.violations();
    assert_eq!(violations.len(), 1, "{report}");
    let found = violations[0].1;
    assert!(found.starts_with("key \"user:42\": not linearizable"), "{found}");
    assert!(found.contains("get -> \"never-written\" @1"), "{found}");
    assert!(found.lines().count() <= 20, "{found}");
    assert!(report.to_string().contains(found));
}

#[test]
fn corrupted_read_in_a_large_history_is_found_quickly() {
    let mut history = random_history(&mut Rng(11), 2_000, 1, 8, 3);
    let two_thirds = history.iter().map(|e| e.call).max().unwrap() / 3 * 2;
    let victim = history
        .iter()
        .rposition(|e| matches!(e.outcome, Outcome::Get(Some(_))) && e.call < two_thirds);
    history[victim.unwrap()].outcome = Outcome::Get(Some(("bogus".into(), 1)));
    let started = Instant::now();
    assert!(matches!(verdict(&history), Verdict::Violation(_)));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn budget_exhaustion_is_undecided_not_a_pass() {
    let history = random_history(&mut Rng(3), 2_000, 1, 8, 3);
    for budget in [Duration::ZERO, Duration::from_nanos(1)] {
        let report = check(&history, budget);
        assert!(!report.is_ok());
        assert!(
            matches!(&report.per_key[0].1, Verdict::Unknown(why) if why.contains("budget")),
            "{report}"
        );
        assert!(report.summary().ends_with("1 undecided"), "{report}");
    }
}

#[test]
fn random_linearizable_history_of_2000_ops_is_fast() {
    for (seed, keys, clients) in [(1, 1, 4), (2, 1, 8), (3, 1, 16), (4, 4, 16)] {
        let history = random_history(&mut Rng(seed), 2_000, keys, clients, 3);
        let started = Instant::now();
        let report = check(&history, BUDGET);
        let took = started.elapsed();
        assert!(report.is_ok(), "seed {seed}: {report}");
        assert!(took < Duration::from_secs(1), "seed {seed}: took {took:?}");
    }
}

#[test]
fn agrees_with_brute_force_on_small_histories() {
    let (mut rng, mut seen) = (Rng(99), [0; 2]);
    for _ in 0..3_000 {
        let n = 2 + rng.below(6);
        let (clients, max_ms) = (2 + rng.below(3), 1 + rng.below(3));
        let mut history = random_history(&mut rng, n, 1, clients, max_ms);
        if rng.below(2) == 0 {
            drop_versions(&mut rng, &mut history);
        }
        if rng.below(3) > 0 {
            mutate(&mut rng, &mut history);
        }
        let expected = brute_force(&history);
        seen[usize::from(expected)] += 1;
        let got = verdict(&history);
        assert_eq!(got == Verdict::Linearizable, expected, "{got:?} for {history:#?}");
    }
    assert!(seen.iter().all(|&count| count > 300), "too one-sided: {seen:?}");
}

/// Turns about half of the known outcomes into what RESP answers: no versions.
fn drop_versions(rng: &mut Rng, history: &mut [Event]) {
    for e in history.iter_mut().filter(|_| rng.below(2) == 0) {
        e.outcome = match std::mem::replace(&mut e.outcome, Outcome::Unknown) {
            Outcome::Set { .. } => Outcome::SetAcked,
            Outcome::Get(seen) => Outcome::GetValue(seen.map(|(value, _)| value)),
            other => other,
        };
    }
}

/// One random change: a read's result, a write's version, a delete's `existed`, an unknown
/// outcome's call time, or an outcome made unknown.
fn mutate(rng: &mut Rng, history: &mut [Event]) {
    let e = rng.below(history.len() as u64) as usize;
    let other = format!("v{}", rng.below(history.len() as u64 + 1));
    if rng.below(6) == 0 {
        (history[e].ret, history[e].outcome) = (None, Outcome::Unknown);
        return;
    }
    match &mut history[e].outcome {
        Outcome::Get(seen) if rng.below(3) == 0 => *seen = None,
        Outcome::Get(seen) => *seen = Some((other, 1 + rng.below(8))),
        Outcome::Set { version } => *version = 1 + rng.below(8),
        Outcome::Delete { existed } => *existed = !*existed,
        Outcome::Unknown => history[e].call += rng.below(3) * MS,
        Outcome::GetValue(seen) if rng.below(3) == 0 => *seen = None,
        Outcome::GetValue(seen) => *seen = Some(other),
        Outcome::SetAcked => {} // made unknown above, now and then
    }
}

/// The model run over every order of every subset of unknown-outcome writes (known
/// operations all placed, none before an operation that returned before it was called).
fn brute_force(history: &[Event]) -> bool {
    type Register = (Option<(String, Option<u64>)>, u64);
    fn step((current, newest): &Register, e: &Event) -> Option<Register> {
        let newer = |v: u64| (v > *newest).then_some(v);
        Some(match (&e.op, &e.outcome) {
            (Op::Set { value }, Outcome::Set { version }) => (Some((value.clone(), Some(*version))), newer(*version)?),
            (Op::Set { value }, _) => (Some((value.clone(), None)), *newest),
            (Op::Delete, Outcome::Delete { existed }) if *existed == current.is_some() => (None, *newest),
            (Op::Delete, Outcome::Unknown) => (None, *newest),
            (Op::Get, Outcome::Get(None)) if current.is_none() => (None, *newest),
            (Op::Get, Outcome::Get(Some((seen, v)))) => match current {
                Some((value, Some(known))) if value == seen && known == v => (current.clone(), *newest),
                Some((value, None)) if value == seen => (Some((value.clone(), Some(*v))), newer(*v)?),
                _ => return None,
            },
            (Op::Get, Outcome::GetValue(None)) if current.is_none() => (None, *newest),
            (Op::Get, Outcome::GetValue(Some(seen))) => match current {
                Some((value, _)) if value == seen => (current.clone(), *newest),
                _ => return None,
            },
            _ => return None,
        })
    }
    fn search(ops: &[&Event], used: &mut [bool], register: &Register) -> bool {
        let pending: Vec<bool> = (0..ops.len())
            .map(|i| !used[i] && ops[i].outcome != Outcome::Unknown)
            .collect();
        if !pending.contains(&true) {
            return true;
        }
        for i in 0..ops.len() {
            let blocked = (0..ops.len()).any(|j| pending[j] && ops[j].ret.is_some_and(|r| r < ops[i].call));
            if used[i] || blocked {
                continue;
            }
            if let Some(next) = step(register, ops[i]) {
                used[i] = true;
                let found = search(ops, used, &next);
                used[i] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    let known = |e: &&Event| e.op != Op::Get || (e.ret.is_some() && e.outcome != Outcome::Unknown);
    let ops: Vec<&Event> = history.iter().filter(known).collect();
    search(&ops, &mut vec![false; ops.len()], &(None, 0))
}

/// splitmix64: a tiny deterministic generator, so failures replay.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let z = (self.0 ^ (self.0 >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// `n` operations on `keys` keys by `clients` sequential clients, each op lasting up to
/// `max_ms` after a pause of up to 1 ms. Each op takes effect at a random moment inside its
/// interval (an unknown-outcome write up to three intervals later, if at all) and its result
/// comes from a register run in that order: linearizable by construction. One op in five has
/// an unknown outcome (half of those writes took effect). Shuffled, as order must not matter.
fn random_history(rng: &mut Rng, n: u64, keys: u64, clients: u64, max_ms: u64) -> Vec<Event> {
    let mut free_at = vec![0; clients as usize];
    let mut planned = Vec::new();
    for i in 0..n {
        let client = rng.below(clients) as usize;
        let call = free_at[client] + rng.below(MS);
        let took = 1 + rng.below(max_ms * MS);
        free_at[client] = call + took;
        // 0..=7 get, 8 unknown get, 9..=15 set, 16 and 17 unknown set, 18 delete, 19 unknown delete.
        let kind = rng.below(20);
        let (ret, at) = match kind {
            16 => (None, NEVER), // never took effect
            19 if rng.below(2) == 0 => (None, NEVER),
            8 | 17 | 19 => (None, call + rng.below(3 * took)),
            _ => (Some(call + took), call + rng.below(took)),
        };
        planned.push((at, i, client, format!("key{}", rng.below(keys)), kind, call, ret));
    }
    planned.sort_unstable();
    let (mut log_index, mut state) = (0, HashMap::<String, (String, u64)>::new());
    let mut history = Vec::new();
    for (at, i, client, key, kind, call, ret) in planned {
        let value = format!("v{i}");
        let mut write = |value: Option<String>| {
            let existed = if at == NEVER {
                None
            } else {
                Some(state.remove(&key).is_some())
            };
            if let (Some(value), Some(_)) = (value, existed) {
                log_index += 1;
                state.insert(key.clone(), (value, log_index));
            }
            existed
        };
        let (op, outcome) = match kind {
            0..=7 => (Op::Get, Outcome::Get(state.get(&key).cloned())),
            8 => (Op::Get, Outcome::Unknown),
            9..=17 => {
                write(Some(value.clone()));
                let outcome = ret.map_or(Outcome::Unknown, |_| Outcome::Set { version: log_index });
                (Op::Set { value }, outcome)
            }
            _ => {
                let existed = write(None).unwrap_or(false);
                log_index += u64::from(at != NEVER);
                (
                    Op::Delete,
                    ret.map_or(Outcome::Unknown, |_| Outcome::Delete { existed }),
                )
            }
        };
        history.push(Event {
            client,
            key,
            op,
            call,
            ret,
            outcome,
        });
    }
    for i in (1..history.len()).rev() {
        history.swap(i, rng.below(i as u64 + 1) as usize);
    }
    history
}
