//! Wire types: JSON shapes and parsing of the client API.
use super::*;

fn status(id: u64, role: Role, last_log_index: u64) -> NodeStatus {
    NodeStatus {
        name: format!("node{id}"),
        id,
        cluster_id: "c".into(),
        role,
        term: 1,
        leader: None,
        last_log_index,
        committed: last_log_index,
        applied: last_log_index,
        snapshot_index: 0,
        purged_index: 0,
        members: Vec::new(),
        replication: None,
        key_count: 0,
        approx_bytes: 0,
        max_memory: None,
        evictions: 0,
        expirations: 0,
        disk_bytes: 0,
        client_url: String::new(),
        peer_url: String::new(),
        resp_url: String::new(),
        uptime_secs: 0,
        version: String::new(),
        build: String::new(),
        format: 3,
        cluster_format: 3,
        client_writes: 0,
        quorum_lost: false,
    }
}

#[test]
fn lag_prefers_the_leaders_report_and_falls_back_to_log_indexes() {
    let mut leader = status(1, Role::Leader, 100);
    let follower = status(2, Role::Follower, 90);
    assert_eq!(leader.lag_of(1, Some(&leader)), Some(0));
    assert_eq!(leader.lag_of(2, Some(&follower)), Some(10), "from the log indexes");
    assert_eq!(leader.lag_of(3, None), None, "down and not in any report");
    leader.replication = Some(vec![ReplicationInfo {
        id: 3,
        name: "node3".into(),
        matched: Some(40),
        lag: Some(60),
        last_heard_ms: None,
    }]);
    assert_eq!(leader.lag_of(3, None), Some(60), "the report covers a down node");
    leader.replication = Some(vec![ReplicationInfo {
        id: 3,
        name: "node3".into(),
        matched: None,
        lag: None,
        last_heard_ms: None,
    }]);
    assert_eq!(
        leader.lag_of(3, None),
        None,
        "not reached yet: unknown, not the whole log"
    );
}

#[test]
fn roles_are_lowercase_strings_on_the_wire() {
    for (role, text) in [
        (Role::Leader, "leader"),
        (Role::Follower, "follower"),
        (Role::Candidate, "candidate"),
        (Role::Learner, "learner"),
        (Role::Shutdown, "shutdown"),
    ] {
        let json = serde_json::to_string(&role).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        assert_eq!(role.to_string(), text);
    }
}

#[test]
fn error_codes_round_trip_and_unknown_ones_are_kept() {
    for code in ErrorCode::KNOWN {
        assert_eq!(ErrorCode::parse(code.as_str()), code);
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
    }
    let future = serde_json::from_str::<ErrorCode>("\"SOMETHING_NEW\"").unwrap();
    assert_eq!(future, ErrorCode::Unknown("SOMETHING_NEW".into()));
    assert_eq!(future.to_string(), "SOMETHING_NEW");
}

#[test]
fn serializable_is_an_alias_of_local() {
    use clap::ValueEnum;
    assert_eq!(Consistency::from_str("serializable", false), Ok(Consistency::Local));
    assert_eq!("serializable".parse::<Consistency>(), Ok(Consistency::Local));
}
