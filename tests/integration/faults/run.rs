//! One checked fault run: the register workload, the mixed side workload and watchers on
//! every member (of `reg/` and `ttl/`) started on a [`FaultCluster`], and at the end every
//! check the fault suite makes, with one summary printed. Tests inject their own faults in
//! between.

use std::sync::Arc;
use std::time::Duration;

use super::checker::{self, check, Op};
use super::harness::{keys, scan_keys, settle, FaultCluster, Recorder, Workload};
use super::{counter, mixed, subscriber, watcher};
use crate::support::Http;

/// A fault run in progress.
pub(crate) struct Run {
    pub(crate) fc: FaultCluster,
    pub(crate) rec: Arc<Recorder>,
    urls: Vec<String>,
    keys: Vec<String>,
    watchers: watcher::Watchers,
    ttl_watchers: watcher::Watchers,
    /// Watchers opened mid-run from version 0: far in the past, so the member must replay
    /// its kept history (or say COMPACTED and let them resume near the compaction point).
    late_watchers: Option<watcher::Watchers>,
    /// Redis keyspace subscribers on `reg/`, one per member.
    subscribers: subscriber::Subscribers,
    load: Workload,
    side: mixed::Mixed,
}

impl Run {
    /// Starts every client and watcher on `fc`. `allowance` is how far the cluster clock may
    /// run ahead of true time under the run's clocks (see [`mixed::Mixed::start_allowing`]).
    pub(crate) fn start(fc: FaultCluster, allowance: Duration) -> Run {
        let rec = Recorder::new();
        let urls: Vec<String> = (0..3).map(|i| fc.cluster.node(i).url()).collect();
        let nodes: Vec<(String, String)> = (0..3)
            .map(|i| (fc.cluster.node(i).url(), fc.cluster.node(i).resp_url()))
            .collect();
        let keys = keys(6);
        let watchers = watcher::Watchers::start(&urls, "reg/");
        let ttl_watchers = watcher::Watchers::start(&urls, "ttl/");
        let resp_urls: Vec<String> = nodes.iter().map(|(_, resp)| resp.clone()).collect();
        let subscribers = subscriber::Subscribers::start(&resp_urls, "reg/");
        let load = Workload::start(&rec, &nodes, 6, &keys);
        let side = mixed::Mixed::start_allowing(&rec, &urls, &[0, 1, 2, 0], allowance);
        Run {
            fc,
            rec,
            urls,
            keys,
            watchers,
            ttl_watchers,
            late_watchers: None,
            subscribers,
            load,
            side,
        }
    }

    /// Opens one more watcher per member on `reg/`, from version 0, in the middle of the run
    /// (see [`Run::late_watchers`]); checked at the end like the others.
    pub(crate) fn start_late_watchers(&mut self) {
        self.late_watchers = Some(watcher::Watchers::start(&self.urls, "reg/"));
    }

    /// Milliseconds since the run started (the clock its problems are stamped with).
    pub(crate) fn elapsed_ms(&self) -> u128 {
        self.side.elapsed_ms()
    }

    /// Heals every link, stops the clients and checks everything: linearizability of the
    /// register history (with a final read of every key on every member), no acknowledged
    /// once-only write lost, every watcher's stream, each key expiring at the same log index
    /// in every watcher, and the side workload. Prints `title`, the `injected` faults and the
    /// figures; panics on any problem.
    pub(crate) fn finish(self, title: &str, injected: &[String]) {
        self.fc.heal();
        let leader = settle(&self.fc.cluster);
        // On a loaded machine a short run (or one with a slow member) may not have done
        // enough of the side workload yet: keep everything running on the healed cluster
        // until it has, for up to a minute (the report says if it never did).
        let extra = std::time::Instant::now();
        crate::support::wait_until(Duration::from_secs(60), || self.side.did_enough());
        println!(
            "ran {} ms more for the side workload to do enough",
            extra.elapsed().as_millis()
        );
        self.load.stop();
        let subscribed = self.subscribers.stop();
        let side = self.side.finish();
        let rec = &self.rec;

        // The final state joins the history: every key read linearizably on every node.
        for key in &self.keys {
            for (i, url) in self.urls.iter().enumerate() {
                rec.run(&Http::new(url), 100 + i, key, Op::Get, "linearizable");
            }
        }
        let present = scan_keys(&self.fc.cluster, leader, "once/");
        let lost = rec.lost_unique(&present);
        let history = rec.history();
        let report = check(&history, Duration::from_secs(30));

        // Every watcher catches up with the last acknowledged write, then its stream is checked.
        let newest = history
            .iter()
            .filter_map(|e| match e.outcome {
                checker::Outcome::Set { version } => Some(version),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let caught_up = crate::support::wait_until(Duration::from_secs(30), || {
            self.watchers.reached() >= newest && self.late_watchers.as_ref().is_none_or(|w| w.reached() >= newest)
        });
        let mut logs = self.watchers.stop();
        if let Some(late) = self.late_watchers {
            logs.extend(late.stop().into_iter().map(|mut log| {
                log.name = format!("late {}", log.name);
                log
            }));
        }
        let watch_problems = watcher::check(&logs, &history);
        let (notified, notify_problems) = subscriber::check(&subscribed, &watcher::ordered_events(&logs), |lo, hi| {
            watcher::gaps_near(&logs, lo, hi)
        });
        let resumes: u64 = logs.iter().map(|l| l.resumes).sum();
        // `Mixed::finish` waited for `ttl/` to empty everywhere: every expiry has been applied.
        let ttl_logs = self.ttl_watchers.stop();
        let (expiries_compared, expiry_problems) = watcher::check_expiries(&ttl_logs);

        let count = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        println!(
            "{title}: ops ok {} / failed {} / unknown {}; \
             of the ok ones over RESP {}; once-only writes acknowledged {}, lost {}; \
             peer connections cut by faults {}",
            count(&rec.ok),
            count(&rec.failed),
            count(&rec.unknown),
            count(&rec.resp_ok),
            rec.acked_unique(),
            lost.len(),
            self.fc.cuts()
        );
        let (writes, entries) = self.urls.iter().fold((0, 0), |(w, e), url| {
            (
                w + counter(url, "dcache_coalesced_writes_total"),
                e + counter(url, "dcache_write_entries_total"),
            )
        });
        println!(
            "single-key writes proposed: {writes} in {entries} log entries (counters since each node's last start)"
        );
        let snapshots: Vec<String> = (0..3)
            .map(|i| {
                let st = self.fc.cluster.status(i);
                format!(
                    "{} snapshot at {} purged to {}",
                    st["name"], st["snapshot_index"], st["purged_index"]
                )
            })
            .collect();
        println!("members at the end: {}", snapshots.join("; "));
        println!("faults injected ({}):\n  {}", injected.len(), injected.join("\n  "));
        println!("verdict: {}", report.summary());
        println!(
            "watch: {} watchers, {resumes} resumes, caught up: {caught_up}, problems: {}; \
             expiries seen by several watchers {expiries_compared}, at different indexes {}",
            logs.len(),
            watch_problems.len(),
            expiry_problems.len()
        );
        println!(
            "resp keyspace notifications: {} subscribers, {notified} checked, problems: {}",
            subscribed.len(),
            notify_problems.len()
        );
        println!("mixed: {}", side.summary());
        if !(notify_problems.is_empty() && watch_problems.is_empty()) {
            let name: String = title
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let path = std::env::temp_dir().join(format!("dcache-faults-{}-{name}", std::process::id()));
            match self.fc.cluster.keep_logs(&path) {
                Ok(n) => println!("the members' {n} logs are kept in {}", path.display()),
                Err(e) => println!("could not keep the members' logs in {}: {e}", path.display()),
            }
        }
        assert!(
            notify_problems.is_empty(),
            "keyspace notifications under faults:\n{}",
            notify_problems.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
        );
        assert!(
            notified >= 100,
            "too few keyspace notifications checked to mean anything: {notified}"
        );
        assert!(caught_up, "a watcher never reached version {newest}");
        assert!(
            watch_problems.is_empty(),
            "watch streams under faults:\n{}",
            watch_problems.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
        );
        assert!(
            expiry_problems.is_empty(),
            "members expired keys at different log indexes:\n{}",
            expiry_problems.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
        );
        assert!(
            expiries_compared >= 20,
            "too few expiries seen by several watchers to compare: {expiries_compared}"
        );
        assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
        assert!(report.is_ok(), "{}\n{}", report.summary(), report.details());
        assert!(count(&rec.ok) > 500, "too few operations succeeded to mean anything");
        assert!(
            count(&rec.resp_ok) > 100,
            "too few operations over RESP to mean anything"
        );
        side.assert_ok();
    }
}
