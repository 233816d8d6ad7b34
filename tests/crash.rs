//! The crash suite: `detect` remediating and the `janitor` deleting are killed with SIGKILL
//! at random points, restarted, and must end exactly where an uninterrupted run ends.
//!
//! A kill point is "after the k-th log line", k drawn from the case's seed over the length
//! of a clean run's log, so kills land at random places in the work itself (collection,
//! decisions, calls, store writes), not in process start-up, and a seed replays the same
//! point. Per case, after the restarts:
//! - the emulator holds exactly the clean run's cloud state;
//! - every resource was changed or deleted as many times as in the clean run, counted at
//!   the emulator (tests/support/moto_server.py records each completed mutation): nothing
//!   twice, nothing skipped;
//! - every completed call has an audit record: one `succeeded` line, or (when the kill fell
//!   between the call and its confirmation) the resumed run's `interrupted before
//!   confirmation` line; never two `succeeded` lines;
//! - the store passes SQLite's integrity check and holds no unfinished effect.
//!
//! `DG_CRASH_CASES` cases per kind and test (default 5; ten tests: 50 kills in all);
//! `DG_CRASH_SEED=N` runs that one seed (the seed of each case is printed).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::moto::Moto;

fn policy(dir: &Path, endpoint: &str, state: &Path) -> PathBuf {
    common::acting_policy(dir, "policy", endpoint, state, 4)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `detect --once` remediating the drift fixture (runs: 2, the second finds it fixed).
    Remediation,
    /// `janitor --once` on the janitor fixture (runs: 2, mark then delete).
    Janitor,
}

/// One case's world: an emulator seeded for `kind`, a store, a policy.
struct World {
    dir: tempfile::TempDir,
    moto: Moto,
    policy: PathBuf,
    kind: Kind,
}

impl World {
    fn new(kind: Kind) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let moto = Moto::start(0.0);
        let state = dir.path().join("terraform.tfstate");
        match kind {
            Kind::Remediation => {
                let ids = moto.fixture(&["seed", state.to_str().unwrap()]);
                moto.fixture(&["mutate", ids.trim()]);
            }
            Kind::Janitor => {
                moto.janitor_fixture(&["seed", state.to_str().unwrap()]);
            }
        }
        let policy = policy(dir.path(), &moto.endpoint, &state);
        Self { dir, moto, policy, kind }
    }

    fn args(&self) -> Vec<String> {
        let command = if self.kind == Kind::Remediation { "detect" } else { "janitor" };
        vec![command.into(), "--once".into(), "--policy".into(), self.policy.display().to_string()]
    }

    /// Runs once; kills it (SIGKILL) after `kill_after` log lines when given. Returns the
    /// JSON lines it wrote and whether it was killed.
    fn run(&self, kill_after: Option<usize>) -> (Vec<serde_json::Value>, bool) {
        let mut child = common::emulated(self.dir.path())
            .args(self.args())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = Vec::new();
        let mut killed = false;
        for line in BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str(&line) {
                lines.push(value);
            }
            if kill_after == Some(lines.len()) {
                child.kill().unwrap();
                killed = true;
                break;
            }
        }
        let status = child.wait().unwrap();
        assert!(killed || status.code().is_some_and(|c| c == 0 || c == 2), "{:?}: {status}", self.args());
        (lines, killed)
    }

    fn snapshot(&self) -> Vec<String> {
        let text = match self.kind {
            Kind::Remediation => self.moto.fixture(&["snapshot"]),
            Kind::Janitor => self.moto.janitor_fixture(&["snapshot"]),
        };
        common::cloud_lines(&serde_json::from_str(&text).unwrap())
    }

    fn mutations(&self) -> BTreeMap<(String, String), usize> {
        let mut counts = BTreeMap::new();
        for (service, operation, target) in self.moto.mutations() {
            // Tag writes are idempotent and a crashed mark is written again by design (an
            // unrecorded mark is not trusted): they are not changes to the resource.
            if operation.contains("tagging") || operation.contains("Tags") || operation.contains("TagRole") {
                continue;
            }
            *counts.entry((format!("{service} {operation}"), common::mask_ids(&target))).or_default() += 1;
        }
        counts
    }

    fn check_store(&self) {
        let connection = rusqlite::Connection::open(self.dir.path().join("policy.db")).unwrap();
        let check: String = connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
        assert_eq!(check, "ok");
        let store = driftguard_store::Store::open(&self.dir.path().join("policy.db")).unwrap();
        assert_eq!(store.pending_effects().unwrap().len(), 0, "an effect was left unfinished");
    }
}

/// The clean run of a kind: its final cloud, mutation counts and log length.
struct Reference {
    cloud: Vec<String>,
    mutations: BTreeMap<(String, String), usize>,
    lines: usize,
}

fn reference(kind: Kind) -> Reference {
    let world = World::new(kind);
    let before = world.mutations();
    let mut lines = 0;
    for _ in 0..2 {
        lines += world.run(None).0.len();
    }
    let mut mutations = world.mutations();
    for (key, n) in before {
        *mutations.get_mut(&key).unwrap() -= n;
    }
    mutations.retain(|_, n| *n > 0);
    assert!(!mutations.is_empty(), "the clean {kind:?} run changes something");
    Reference { cloud: world.snapshot(), mutations, lines }
}

/// A small deterministic generator: the kill point of a seed.
fn kill_point(seed: u64, lines: usize) -> usize {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    1 + usize::try_from(x % u64::try_from(lines.max(1)).unwrap()).unwrap()
}

fn cases(kind: Kind, first_seed: u64) {
    let count: u64 = std::env::var("DG_CRASH_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(5);
    let seeds: Vec<u64> = match std::env::var("DG_CRASH_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) if (first_seed..first_seed + 1000).contains(&seed) => vec![seed],
        Some(_) => return,
        None => (first_seed..first_seed + count).collect(),
    };
    let reference = reference(kind);
    for seed in seeds {
        let at = kill_point(seed, reference.lines);
        eprintln!("crash case: kind={kind:?} seed={seed} kill after log line {at} of {}", reference.lines);
        let world = World::new(kind);
        let before = world.mutations();
        let mut log = Vec::new();
        // The clean run is two runs; the kill falls in the first or the second.
        let (first, killed) = world.run(Some(at));
        let first_len = first.len();
        log.extend(first);
        if !killed {
            let (second, _) = world.run(Some(at - first_len));
            log.extend(second);
        }
        // Restart until the work is done: two more runs (the first resumes, the second
        // must find nothing left to do).
        for _ in 0..2 {
            log.extend(world.run(None).0);
        }
        let context = format!("{kind:?} seed {seed} (kill after line {at}); replay with DG_CRASH_SEED={seed}");
        common::assert_same_lines(&world.snapshot(), &reference.cloud, &format!("final cloud: {context}"));
        let mut mutations = world.mutations();
        for (key, n) in before {
            *mutations.get_mut(&key).unwrap() -= n;
        }
        mutations.retain(|_, n| *n > 0);
        assert_eq!(mutations, reference.mutations, "a resource changed twice or not at all: {context}");
        check_audit(&log, &context);
        world.check_store();
    }
}

/// Every succeeded call is logged once; no call is logged as succeeded twice.
fn check_audit(log: &[serde_json::Value], context: &str) {
    let mut succeeded: BTreeMap<String, usize> = BTreeMap::new();
    // A mark a crash kept out of the store is not trusted and is written again: a second
    // real call, logged as such (see World::mutations).
    let calls = log.iter().filter(|e| {
        e["event"] == "cloud.mutation"
            && e["outcome"] == "succeeded"
            && !e["action"].as_str().unwrap_or("").starts_with("tag:")
    });
    for event in calls {
        let key = format!("{} {} {}", event["action"], event["resource_id"], event["finding_id"]);
        *succeeded.entry(key).or_default() += 1;
    }
    let twice: Vec<_> = succeeded.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "a call logged as succeeded twice: {twice:?}: {context}");
    // Each remediated or deleted resource has its record: a succeeded call, or the
    // resumed run's account of the interrupted one.
    for event in log.iter().filter(|e| e["event"] == "finding.transition" && e["to_state"] == "remediated") {
        let finding = &event["finding_id"];
        let accounted = log.iter().any(|e| {
            e["event"] == "cloud.mutation"
                && &e["finding_id"] == finding
                && (e["outcome"] == "succeeded" || e["reason"] == "interrupted before confirmation")
        });
        assert!(accounted, "remediated finding {finding} has no record of its call: {context}");
    }
}

macro_rules! crash_tests {
    ($($name:ident: $kind:expr, $seed:expr;)*) => {
        $(
            #[test]
            fn $name() {
                cases($kind, $seed);
            }
        )*
    };
}

crash_tests! {
    remediation_killed_at_random_points_1: Kind::Remediation, 1000;
    remediation_killed_at_random_points_2: Kind::Remediation, 2000;
    remediation_killed_at_random_points_3: Kind::Remediation, 3000;
    remediation_killed_at_random_points_4: Kind::Remediation, 4000;
    remediation_killed_at_random_points_5: Kind::Remediation, 5000;
    janitor_killed_at_random_points_1: Kind::Janitor, 6000;
    janitor_killed_at_random_points_2: Kind::Janitor, 7000;
    janitor_killed_at_random_points_3: Kind::Janitor, 8000;
    janitor_killed_at_random_points_4: Kind::Janitor, 9000;
    janitor_killed_at_random_points_5: Kind::Janitor, 10000;
}
