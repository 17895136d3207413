//! A snapshot from the leader is bounded by the follower's disk: one that would leave less
//! than 64 MiB free is refused with a logged reason and no file left behind, and installed
//! once space returns.

use std::time::Duration;

use super::tmpfs::Tmpfs;
use super::MIB;
use crate::support::{wait_until, Cluster};

#[test]
fn a_snapshot_that_would_fill_the_disk_is_refused_and_installed_once_space_returns() {
    let mut c = Cluster::start(3, &["--snapshot-logs", "20"]);
    let leader = c.leader();
    let lagging = (leader + 1) % 3;
    let last_index = |status: serde_json::Value, field: &str| {
        status[field]
            .as_u64()
            .unwrap_or_else(|| panic!("numeric `{field}` in {status}"))
    };
    let lagging_last = last_index(c.status(lagging), "last_log_index");
    c.kill9(lagging);

    // The lagging member's data dir moves onto a small disk (the path becomes a link to it).
    let disk = Tmpfs::mount(160 * MIB);
    disk.take_over(c.node(lagging).data_dir());
    let moved = disk.path().join("data");

    // 12 MiB of values and enough entries for the leader to snapshot and purge past what the
    // lagging member has: it can only catch up by snapshot.
    let value = "v".repeat(512 * 1024);
    for i in 0..24 {
        c.node(leader).http.set(&format!("big/{i:02}"), &value);
    }
    let mut small = 0;
    while last_index(c.status(leader), "purged_index") <= lagging_last + 24 {
        assert!(small < 2000, "the leader never purged its log: {}", c.status(leader));
        c.node(leader).http.set(&format!("small/{small:04}"), "s");
        small += 1;
    }
    let last_small = format!("small/{:04}", small - 1);
    // About 68 MiB stay free: past 8 MiB received, less than 64 MiB would be left.
    let filler = disk.fill("filler", 68 * MIB);

    c.restart(lagging);
    let refused = wait_until(Duration::from_secs(30), || {
        c.node(lagging).stderr().contains("would leave less than 64 MiB free")
    });
    assert!(
        refused,
        "the snapshot was not refused:\n{}\n{}",
        c.node(lagging).stderr(),
        c.logs()
    );
    assert!(
        c.node(lagging).http.get_key(&last_small, Some("local")).0 == 404,
        "the lagging member has not caught up"
    );
    assert!(
        c.node(lagging).is_running(),
        "a refused snapshot stopped the node:\n{}",
        c.logs()
    );

    std::fs::remove_file(filler).unwrap();
    let caught_up = wait_until(Duration::from_secs(30), || {
        c.node(lagging).http.get_key(&last_small, Some("local")).0 == 200
    });
    assert!(
        caught_up,
        "the snapshot was not installed once space returned:\n{}",
        c.logs()
    );
    assert_eq!(
        c.node(lagging).http.value_of("big/23").map(|(v, _)| v.len()),
        Some(value.len())
    );
    let partial = std::fs::read_dir(&moved)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .count();
    assert_eq!(partial, 0, "a partial snapshot file was left behind");
}
