//! Unit and property tests of the cache rules.

use proptest::prelude::*;

use std::collections::BTreeSet;

use super::*;

pub(super) fn req(at_ms: u64, max_bytes: Option<u64>, change: Change) -> Request {
    Request {
        at_ms,
        max_bytes,
        change,
    }
}

/// A lone write, as the log carries it.
pub(super) fn one(w: Write) -> Change {
    Change::Writes(vec![w])
}

/// The effect of a lone write.
fn did(r: Result<Done, Refusal>) -> Effect {
    Effect::Writes(vec![r])
}

fn done(version: u64, existed: bool) -> Result<Done, Refusal> {
    Ok(Done {
        version,
        existed,
        number: None,
    })
}

pub(super) fn set(k: &str, v: &str) -> Write {
    Write::Set {
        key: k.into(),
        value: v.into(),
        ttl_ms: None,
        if_version: None,
    }
}

fn set_ttl(k: &str, v: &str, ttl_ms: u64) -> Write {
    Write::Set {
        key: k.into(),
        value: v.into(),
        ttl_ms: Some(ttl_ms),
        if_version: None,
    }
}

fn cas(k: &str, v: &str, if_version: u64) -> Write {
    Write::Set {
        key: k.into(),
        value: v.into(),
        ttl_ms: None,
        if_version: Some(if_version),
    }
}

#[test]
fn set_get_delete_track_versions_and_bytes() {
    let mut c = Cache::new();
    assert_eq!(c.apply(1, req(0, None, one(set("a", "1")))), did(done(1, false)));
    assert_eq!(c.apply(2, req(0, None, one(set("a", "22")))), did(done(2, true)));
    assert_eq!(
        c.get(b"a", 0).map(|e| (e.value.as_str().unwrap(), e.version)),
        Some(("22", 2))
    );
    assert_eq!(c.approx_bytes(), 1 + 2 + ENTRY_OVERHEAD);
    let del = one(Write::Delete {
        key: "a".into(),
        if_version: None,
    });
    assert_eq!(c.apply(3, req(0, None, del.clone())), did(done(3, true)));
    assert_eq!(c.apply(4, req(0, None, del)), did(done(4, false)));
    assert_eq!(c.approx_bytes(), 0);
    assert!(c.is_empty());
}

#[test]
fn scan_respects_prefix_limit_expiry_and_reports_truncation() {
    let mut c = Cache::new();
    for (i, k) in ["a", "user:1", "user:2", "user:3", "users", "v"].iter().enumerate() {
        c.apply(i as u64 + 1, req(0, None, one(set(k, "x"))));
    }
    c.apply(7, req(0, None, one(set_ttl("user:0", "x", 100))));
    let (items, truncated) = c.scan(b"user:", 2, 50);
    let keys: Vec<_> = items.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["user:0", "user:1"]);
    assert!(truncated);
    let (items, truncated) = c.scan(b"user:", 3, 100);
    assert_eq!(
        items.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ["user:1", "user:2", "user:3"]
    );
    assert!(!truncated);
}

#[test]
fn expiry_is_judged_by_leader_time_and_purged_deterministically() {
    let mut c = Cache::new();
    c.apply(1, req(1_000, None, one(set_ttl("k", "v", 1_000))));
    assert!(c.get(b"k", 1_999).is_some());
    assert!(c.get(b"k", 2_000).is_none(), "invisible from its expiry time");
    assert_eq!(c.apply(2, req(1_500, None, Change::Purge)), Effect::Purged(0));
    assert_eq!(c.apply(3, req(2_000, None, Change::Purge)), Effect::Purged(1));
    assert_eq!(c.counters().expirations, 1);
    let events = c.take_events();
    assert_eq!(events.last().map(|e| (e.kind, e.version)), Some((EventKind::Expire, 3)));
}

#[test]
fn conditional_writes_compare_versions() {
    let mut c = Cache::new();
    assert_eq!(c.apply(1, req(0, None, one(cas("k", "a", 0)))), did(done(1, false)));
    assert_eq!(
        c.apply(2, req(0, None, one(cas("k", "b", 0)))),
        did(Err(Refusal::ConditionFailed {
            key: "k".into(),
            current: Some(1)
        }))
    );
    assert_eq!(c.apply(3, req(0, None, one(cas("k", "b", 1)))), did(done(3, true)));
    let del = one(Write::Delete {
        key: "k".into(),
        if_version: Some(1),
    });
    assert_eq!(
        c.apply(4, req(0, None, del)),
        did(Err(Refusal::ConditionFailed {
            key: "k".into(),
            current: Some(3)
        }))
    );
    // An expired key counts as absent.
    c.apply(5, req(10, None, one(set_ttl("t", "x", 20))));
    assert_eq!(c.apply(6, req(30, None, one(cas("t", "y", 0)))), did(done(6, false)));
}

#[test]
fn batch_is_all_or_nothing() {
    let mut c = Cache::new();
    c.apply(1, req(0, None, one(set("a", "1"))));
    let bad = Change::Batch(vec![set("b", "2"), cas("a", "x", 99)]);
    assert!(matches!(
        c.apply(2, req(0, None, bad)),
        Effect::Batch(Err(Refusal::ConditionFailed { .. }))
    ));
    assert!(c.get(b"b", 0).is_none());
    let good = Change::Batch(vec![
        set("b", "2"),
        Write::Delete {
            key: "a".into(),
            if_version: Some(1),
        },
    ]);
    assert_eq!(
        c.apply(3, req(0, None, good)),
        Effect::Batch(Ok(Batched {
            version: 3,
            done: vec![
                Done {
                    version: 3,
                    existed: false,
                    number: None
                },
                Done {
                    version: 3,
                    existed: true,
                    number: None
                }
            ]
        }))
    );
}

#[test]
fn a_group_applies_each_write_on_its_own() {
    let mut c = Cache::new();
    c.apply(1, req(0, None, one(set("a", "1"))));
    let group = Change::Writes(vec![
        set("b", "2"),
        cas("a", "x", 99),
        Write::Delete {
            key: "a".into(),
            if_version: Some(1),
        },
        cas("c", "3", 0),
    ]);
    assert_eq!(
        c.apply(2, req(0, None, group)),
        Effect::Writes(vec![
            done(2, false),
            Err(Refusal::ConditionFailed {
                key: "a".into(),
                current: Some(1)
            }),
            done(2, true),
            done(2, false),
        ]),
        "a failed condition stops only its own write"
    );
    assert_eq!(c.get(b"b", 0).map(|e| e.version), Some(2));
    assert!(c.get(b"a", 0).is_none());
    assert_eq!(c.get(b"c", 0).map(|e| e.value.as_str().unwrap()), Some("3"));
    let kinds: Vec<_> = c
        .take_events()
        .into_iter()
        .map(|e| (e.kind, e.key.clone(), e.version))
        .collect();
    assert_eq!(
        kinds[1..],
        [
            (EventKind::Set, "b".into(), 2),
            (EventKind::Delete, "a".into(), 2),
            (EventKind::Set, "c".into(), 2)
        ]
    );
}

#[test]
fn eviction_prefers_expired_then_soonest_then_oldest_and_never_the_new_key() {
    let entry = |k: &str, v: &str| entry_size(k.as_bytes(), v.as_bytes());
    let max = 3 * entry("k1", "vv");
    let mut c = Cache::new();
    c.apply(1, req(0, Some(max), one(set("k1", "vv"))));
    c.apply(2, req(0, Some(max), one(set_ttl("k2", "vv", 500))));
    c.apply(3, req(0, Some(max), one(set("k3", "vv"))));
    // Full. The next write evicts the key soonest to expire (k2), not the oldest (k1).
    c.apply(4, req(0, Some(max), one(set("k4", "vv"))));
    assert!(c.get(b"k2", 0).is_none());
    assert!(c.get(b"k1", 0).is_some());
    // Now no key has a TTL: the least recently written goes (k1).
    c.apply(5, req(0, Some(max), one(set("k5", "vv"))));
    assert!(c.get(b"k1", 0).is_none());
    assert_eq!(c.counters().evictions, 2);
    assert!(c.approx_bytes() <= max);
    // A value larger than the bound is refused and changes nothing.
    let big = "x".repeat(max as usize);
    assert!(matches!(
        c.apply(6, req(0, Some(max), one(set("big", &big)))),
        Effect::Writes(r) if matches!(r[..], [Err(Refusal::TooLarge { .. })])
    ));
    assert_eq!(c.len(), 3);
}

#[test]
fn a_group_under_a_memory_bound_evicts_like_separate_writes() {
    let max = 3 * entry_size(b"k1", b"vv");
    let big = "x".repeat(max as usize);
    // After the same two writes, the same four writes at index 3: applied one by one, and
    // as one group.
    let mut separate = Cache::new();
    let mut grouped = Cache::new();
    for c in [&mut separate, &mut grouped] {
        c.apply(1, req(0, Some(max), one(set("k1", "vv"))));
        c.apply(2, req(0, Some(max), one(set("k2", "vv"))));
    }
    let writes = [set("k3", "vv"), set("big", &big), set("k4", "vv"), set("k5", "vv")];
    let alone: Vec<Result<Done, Refusal>> = writes
        .iter()
        .flat_map(|w| match separate.apply(3, req(0, Some(max), one(w.clone()))) {
            Effect::Writes(r) => r,
            other => panic!("a lone write applied to {other:?}"),
        })
        .collect();
    let together = grouped.apply(3, req(0, Some(max), Change::Writes(writes.to_vec())));
    assert_eq!(
        together,
        Effect::Writes(alone),
        "a group's outcomes are those of its writes alone"
    );
    assert!(matches!(&together, Effect::Writes(o) if matches!(o[1], Err(Refusal::TooLarge { .. }))));
    // k1 and k2 (oldest) were evicted for k4 and k5; the refused value changed nothing.
    assert_eq!(grouped, separate);
    let keys: Vec<&str> = grouped
        .scan(b"", 10, 0)
        .0
        .iter()
        .filter_map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(keys, ["k3", "k4", "k5"]);
    assert_eq!(grouped.counters().evictions, 2);
}

#[test]
fn history_resumes_and_reports_compaction() {
    let mut h = History::starting_after(5);
    assert_eq!(h.since(4), Err(5));
    assert_eq!(h.since(5), Ok(vec![]));
    let mut c = Cache::new();
    c.apply(6, req(0, None, one(set("a", "1"))));
    c.apply(7, req(0, None, one(set("b", "2"))));
    for e in c.take_events() {
        h.push(e);
    }
    assert_eq!(h.since(6).map(|v| v.len()), Ok(1));
}

fn arb_change() -> impl Strategy<Value = Change> {
    let key = prop::sample::select(vec!["a", "b", "c", "d", "e", "f", "g", "h"]);
    let value = "[a-z]{0,40}";
    prop_oneof![
        (
            key.clone(),
            value,
            prop::option::of(0u64..2_000),
            prop::option::of(0u64..40)
        )
            .prop_map(|(k, v, ttl, ifv)| one(Write::Set {
                key: k.into(),
                value: v.into(),
                ttl_ms: ttl,
                if_version: ifv,
            })),
        (key.clone(), prop::option::of(0u64..40)).prop_map(|(k, ifv)| one(Write::Delete {
            key: k.into(),
            if_version: ifv
        })),
        Just(Change::Purge),
        (
            prop::collection::vec((key.clone(), 0u64..40), 0..3),
            prop::collection::vec((key.clone(), -5i64..5), 1..4)
        )
            .prop_map(|(watch, incrs)| Change::Transaction {
                watch: watch.into_iter().map(|(k, v)| (Key::from(k), v)).collect(),
                writes: incrs
                    .into_iter()
                    .map(|(k, by)| Write::Incr { key: k.into(), by })
                    .collect(),
            }),
        prop::collection::vec((key, "[a-z]{0,10}"), 1..4).prop_map(|ops| Change::Batch(
            ops.into_iter()
                .map(|(k, v)| Write::Set {
                    key: k.into(),
                    value: v.into(),
                    ttl_ms: None,
                    if_version: None
                })
                .collect()
        )),
    ]
}

fn check_invariants(c: &Cache, max: Option<u64>) {
    let bytes: u64 = c.iter().map(|(k, e)| entry_size(k, e.value.as_bytes())).sum();
    assert_eq!(bytes, c.approx_bytes(), "byte count drifted");
    if let Some(by_version) = &c.by_version {
        let derived: BTreeSet<(u64, Key)> = c.iter().map(|(k, e)| (e.version, k.clone())).collect();
        assert_eq!(by_version, &derived, "version index out of sync");
    }
    let with_ttl = c.iter().filter(|(_, e)| e.expires_at_ms().is_some()).count();
    assert_eq!(c.by_expiry.len(), with_ttl, "expiry index out of sync");
    if let Some(max) = max {
        assert!(c.approx_bytes() <= max, "over the memory bound");
    }
}

proptest! {
    /// The same commands on two replicas give the same state, and the indexes, byte count
    /// and memory bound hold after every step.
    #[test]
    fn replicas_applying_the_same_log_agree(
        cmds in prop::collection::vec((0u64..50, arb_change()), 1..200),
        bounded in any::<bool>(),
    ) {
        let max = bounded.then_some(5 * (ENTRY_OVERHEAD + 41));
        let (mut a, mut b) = (Cache::new(), Cache::new());
        // `a` builds its version index lazily, at its first eviction; `b` keeps one from the
        // start. They must evict the same keys.
        b.by_version();
        let mut clock = 0;
        for (i, (tick, cmd)) in cmds.into_iter().enumerate() {
            clock += tick;
            let r = req(clock, max, cmd);
            let (oa, ob) = (a.apply(i as u64 + 1, r.clone()), b.apply(i as u64 + 1, r));
            prop_assert_eq!(oa, ob);
            prop_assert_eq!(a.take_events(), b.take_events());
            check_invariants(&a, max);
            check_invariants(&b, max);
        }
        prop_assert!(a == b);
        let restored = Cache::restore(a.iter().map(|(k, e)| (k.clone(), e.clone())), a.counters(), 0);
        prop_assert!(restored == a);
    }
}

#[test]
fn expire_and_persist_change_only_the_expiry_at_a_new_version() {
    let mut c = Cache::new();
    c.apply(1, req(1_000, None, one(set("k", "v"))));
    let expire = |key: &str, ttl_ms| Write::Expire {
        key: key.into(),
        ttl_ms,
    };
    let persist = |key: &str| Write::Persist { key: key.into() };
    // Persist of a key without expiry, expire or persist of a missing key: refused, no change.
    assert_eq!(
        c.apply(2, req(1_000, None, one(persist("k")))),
        did(Err(Refusal::NoExpiry { key: "k".into() }))
    );
    assert_eq!(
        c.apply(3, req(1_000, None, one(expire("nope", 5)))),
        did(Err(Refusal::NotFound { key: "nope".into() }))
    );
    assert_eq!(c.get(b"k", 1_000).map(|e| e.version), Some(1));

    assert_eq!(c.apply(4, req(2_000, None, one(expire("k", 500)))), did(done(4, true)));
    let e = c.get(b"k", 2_000).unwrap();
    assert_eq!(
        (e.value.as_str().unwrap(), e.version, e.expires_at_ms()),
        ("v", 4, Some(2_500))
    );

    assert_eq!(c.apply(5, req(2_100, None, one(persist("k")))), did(done(5, true)));
    assert_eq!(
        c.get(b"k", 9_000).map(|e| (e.version, e.expires_at_ms())),
        Some((5, None))
    );

    // A key whose expiry passed (by the leader's clock) is gone for expire too.
    c.apply(6, req(3_000, None, one(expire("k", 10))));
    assert_eq!(
        c.apply(7, req(3_011, None, one(expire("k", 10)))),
        did(Err(Refusal::NotFound { key: "k".into() }))
    );
    let kinds: Vec<_> = c.take_events().iter().map(|e| (e.kind, e.version)).collect();
    assert_eq!(
        kinds,
        vec![
            (EventKind::Set, 1),
            (EventKind::Set, 4),
            (EventKind::Set, 5),
            (EventKind::Set, 6)
        ]
    );
}

#[test]
fn the_cluster_version_only_moves_up_and_entries_carry_the_format_they_need() {
    let mut c = Cache::new();
    assert_eq!(c.cluster_format(), 2);
    assert_eq!(
        c.apply(1, req(1, None, Change::ClusterFormat(3))),
        Effect::ClusterFormat(3)
    );
    assert_eq!(
        c.apply(2, req(1, None, Change::ClusterFormat(2))),
        Effect::ClusterFormat(3)
    );
    assert_eq!(c.cluster_format(), 3);

    assert_eq!(one(set("k", "v")).format(), 2);
    assert_eq!(Change::Purge.format(), 2);
    let mixed = Change::Writes(vec![set("a", "v"), Write::Persist { key: "b".into() }]);
    assert_eq!(mixed.format(), 3);
    assert_eq!(Change::ClusterFormat(3).format(), 3);
}

#[test]
fn a_transaction_applies_in_order_at_one_version_or_not_at_all() {
    let mut c = Cache::new();
    c.apply(1, req(0, None, one(set("acct", "10"))));
    c.apply(2, req(0, None, one(set("word", "abc"))));
    // A watched key that moved: nothing applies.
    let moved = Change::Transaction {
        watch: vec![("acct".into(), 1), ("word".into(), 1)],
        writes: vec![set("acct", "0")],
    };
    assert_eq!(
        c.apply(3, req(0, None, moved)),
        Effect::Transaction(Err(Refusal::ConditionFailed {
            key: "word".into(),
            current: Some(2)
        }))
    );
    assert_eq!(c.get(b"acct", 0).unwrap().version, 1);
    // Watched at their versions (absent = 0): each write sees the ones before it, and a
    // refused write changes nothing while the others apply, all at the entry's index.
    let tx = Change::Transaction {
        watch: vec![("acct".into(), 1), ("new".into(), 0)],
        writes: vec![
            set("n", "5"),
            Write::Incr { key: "n".into(), by: 2 },
            Write::Incr {
                key: "word".into(),
                by: 1,
            },
            cas("fresh", "x", 0),
            cas("fresh", "y", 0),
        ],
    };
    let Effect::Transaction(Ok(t)) = c.apply(4, req(0, None, tx)) else {
        panic!("the transaction should apply");
    };
    assert_eq!(t.version, 4);
    let errors: Vec<bool> = t.outcomes.iter().map(Result::is_err).collect();
    assert_eq!(errors, [false, false, true, false, true]);
    assert_eq!(t.outcomes[1].as_ref().unwrap().number, Some(7));
    assert_eq!(
        c.get(b"n", 0).map(|e| (e.value.as_str().unwrap(), e.version)),
        Some(("7", 4))
    );
    assert_eq!(c.get(b"fresh", 0).map(|e| e.value.as_str().unwrap()), Some("x"));
    assert_eq!(c.get(b"word", 0).map(|e| e.version), Some(2));
}

#[test]
fn a_key_that_is_not_utf8_needs_format_4_wherever_it_appears() {
    let bin = Key::from(vec![b'k', 0xff]);
    let set = Write::Set {
        key: bin.clone(),
        value: "text".into(),
        ttl_ms: None,
        if_version: None,
    };
    let delete = Write::Delete {
        key: bin.clone(),
        if_version: None,
    };
    assert_eq!((set.format(), delete.format()), (BINARY_FORMAT, BINARY_FORMAT));
    let single = Op::Write(set.clone());
    assert_eq!(single.format(), (BINARY_FORMAT, Some(&set)), "the error names the set");
    assert_eq!(Op::Batch(vec![delete.clone()]).format().0, BINARY_FORMAT);
    // Only watched: the transaction as a whole needs it, and its log entry is stamped so.
    let watched = Op::Transaction {
        watch: vec![(bin.clone(), 0)],
        writes: vec![Write::Delete {
            key: "text".into(),
            if_version: None,
        }],
    };
    assert_eq!(watched.format(), (BINARY_FORMAT, None));
    let change = Change::Transaction {
        watch: vec![(bin.clone(), 0)],
        writes: Vec::new(),
    };
    assert_eq!(change.format(), BINARY_FORMAT);
    // A text key keeps the oldest format, and its entry encodes as a String key did.
    let text = Write::Delete {
        key: "k".into(),
        if_version: None,
    };
    assert_eq!(text.format(), 2);

    // The cache stores and scans it by bytes.
    let mut c = Cache::new();
    c.apply(1, req(0, None, one(set)));
    assert_eq!(c.get(&bin, 0).map(|e| e.version), Some(1));
    let (items, _) = c.scan(b"k\xff", 10, 0);
    assert_eq!(items.len(), 1);
    assert!(c.scan(b"k\xfe", 10, 0).0.is_empty());
}

#[test]
fn packing_an_idle_map_waits_for_growth_and_open_views_and_changes_no_state() {
    let mut c = Cache::new();
    let fill = |c: &mut Cache, from: u64, to: u64| {
        for i in from..to {
            c.apply(i + 1, req(1, None, one(set(&format!("key/{i:07}"), "v"))));
        }
    };
    // 4096 keys: the last rebuild was at 4096 (compact_if_grown), so nothing to pack yet.
    fill(&mut c, 0, 4096);
    assert_eq!(c.compacted_len, 4096);
    fill(&mut c, 4096, 4096 + 100);
    assert!(c.pack_if_grown());
    assert_eq!(c.compacted_len, 4096, "100 keys are under 1/16 of growth");

    fill(&mut c, 4196, 4096 + (4096 / PACK_IDLE_GROWTH) as u64);
    let before: Vec<_> = c.iter().map(|(k, e)| (k.clone(), e.clone())).collect();
    let (bytes, counters) = (c.approx_bytes(), c.counters());
    c.begin_view();
    assert!(!c.pack_if_grown(), "no packing under an open view");
    assert_eq!(c.compacted_len, 4096);
    c.end_view();
    assert!(c.pack_if_grown());
    assert_eq!(c.compacted_len, c.len());
    let after: Vec<_> = c.iter().map(|(k, e)| (k.clone(), e.clone())).collect();
    assert_eq!(before, after);
    assert_eq!((c.approx_bytes(), c.counters()), (bytes, counters));
}
