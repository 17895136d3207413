use super::*;

fn histogram(samples: &[u64]) -> Histogram<u64> {
    let mut h = new_histogram().unwrap();
    for s in samples {
        h.record(*s).unwrap();
    }
    h
}

#[test]
fn buckets_hold_every_sample_and_reach_the_slowest() {
    let h = histogram(&[100, 110, 120, 130, 5_000, 2_000_000]);
    let b = buckets(&h);
    assert!(b.len() <= HISTOGRAM_BUCKETS, "{b:?}");
    assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 6, "{b:?}");
    assert!(b.windows(2).all(|w| w[0].upper_us < w[1].upper_us), "{b:?}");
    assert_eq!(b.last().map(|b| b.upper_us), Some(h.max()));
    assert_eq!(b[0].count, 4, "the fast samples share the first bucket: {b:?}");
}

#[test]
fn one_sample_value_makes_one_bucket() {
    let h = histogram(&[500, 500, 500]);
    assert_eq!(
        buckets(&h),
        vec![Bucket {
            upper_us: h.max(),
            count: 3
        }]
    );
    assert!(buckets(&new_histogram().unwrap()).is_empty());
}

#[test]
fn the_timeline_keeps_empty_seconds_and_errors_are_grouped_by_kind() {
    let timeout = ClientError::Timeout {
        url: "http://a:1".into(),
        timeout: Duration::from_secs(1),
    };
    let no_leader = ClientError::Api {
        status: 503,
        code: ErrorCode::NoLeader,
        message: "election in progress".into(),
    };
    let mut a = Tally::default();
    a.record(true, Ok(Duration::from_millis(1)), 0);
    a.record(false, Err(&timeout), 3);
    let mut b = Tally::default();
    b.record(false, Ok(Duration::from_millis(2)), 1);
    b.record(false, Err(&no_leader), 3);
    b.record(false, Err(&timeout), 3);
    a.merge(b);
    assert_eq!(a.timeline, vec![(1, 0), (1, 0), (0, 0), (0, 3)]);
    let kinds: Vec<_> = a.errors.iter().map(|(k, (n, _))| (k.as_str(), *n)).collect();
    assert_eq!(kinds, vec![("no leader", 1), ("timeout", 2)]);
    assert_eq!((a.get.ok, a.set.ok, a.set.errors), (1, 1, 3));
}

#[test]
fn error_kinds_name_the_failure_not_the_message() {
    let refused = ClientError::Unreachable {
        url: "http://a:1".into(),
        reason: "Connection refused".into(),
    };
    assert_eq!(error_kind(&refused), "unreachable");
    let not_ready = ClientError::Api {
        status: 503,
        code: ErrorCode::NotReady,
        message: "starting".into(),
    };
    assert_eq!(error_kind(&not_ready), "HTTP 503 NOT_READY");
    let all = ClientError::AllEndpoints {
        reasons: "...".into(),
        last: Box::new(refused),
    };
    assert_eq!(error_kind(&all), "unreachable");
}
