//! The crash suite: `detect` remediating and the `janitor` deleting are killed with SIGKILL
//! at random points, restarted, and must end exactly where an uninterrupted run ends.
//!
//! A kill point is "after the k-th log line", k drawn from the case's seed over the length
//! of a clean run's log, so kills land at random places in the work itself (collection,
//! decisions, calls, store writes), not in process start-up, and a seed replays the same
//! point. The signal lands a little after that line: whatever the run wrote until then is
//! read to the end of the pipe, as a log collector reads it, and counts. Per case, after
//! the restarts:
//! - the emulator holds exactly the clean run's cloud state;
//! - every resource was changed or deleted as many times as in the clean run, counted at
//!   the emulator (tests/support/moto_server.py records each completed mutation): nothing
//!   twice, nothing skipped;
//! - every completed action has exactly one audit record: after removing repeated lines
//!   (same `event_id`), the succeeded calls are exactly the clean run's, each once; every
//!   tag write the emulator saw has one succeeded record; no record is left `unknown`;
//!   every audit line has an `event_id`, and a line appears twice only when the kill fell
//!   between writing it and recording that it was written: the same record (all fields
//!   but `timestamp` equal), first from the killed run, then from the restart;
//! - the store passes SQLite's integrity check and holds no unfinished effect and no
//!   audit record left unwritten.
//!
//! Five more tests kill a run at the worst moment on purpose: while one call is in flight
//! (the emulator holds it, after or before carrying it out). The restart must give that
//! call one record, settled from what the cloud shows (succeeded, or failed and made
//! again), and end as the clean run.
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

    fn spawn(&self) -> std::process::Child {
        common::emulated(self.dir.path())
            .args(self.args())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Runs once; kills it (SIGKILL) after `kill_after` log lines when given. Returns the
    /// JSON lines it wrote and whether it was killed.
    fn run(&self, kill_after: Option<usize>) -> (Vec<serde_json::Value>, bool) {
        let mut child = self.spawn();
        let mut lines = Vec::new();
        let mut killed = false;
        // Read to the end even after the kill: the process goes on writing until the
        // signal lands, and what it wrote before dying is in the pipe, as a log collector
        // (journald) would read it. Those lines count: a record the killed run wrote and
        // marked delivered is in them, and the restart rightly does not write it again.
        for line in BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str(&line) {
                lines.push(value);
            }
            if !killed && kill_after == Some(lines.len()) {
                child.kill().unwrap();
                killed = true;
            }
        }
        if let Some(at) = kill_after.filter(|at| killed && lines.len() > *at) {
            eprintln!("  {} line(s) written after line {at} before the kill landed", lines.len() - at);
        }
        let status = child.wait().unwrap();
        assert!(killed || status.code().is_some_and(|c| c == 0 || c == 2), "{:?}: {status}", self.args());
        (lines, killed)
    }

    /// Runs once with the emulator holding the armed `operation` call: kills the run
    /// (SIGKILL) once the call is held, then lets the call go. Returns the lines written.
    fn run_until_held(&self, operation: &str) -> Vec<serde_json::Value> {
        let mut child = self.spawn();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| serde_json::from_str(&line).ok())
                .collect::<Vec<serde_json::Value>>()
        });
        self.moto.wait_held(operation);
        child.kill().unwrap();
        child.wait().unwrap();
        self.moto.release();
        reader.join().unwrap()
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

    /// Tag writes the emulator completed so far (marks, unmarks, tag fixes).
    fn tag_writes(&self) -> usize {
        self.moto.mutations().iter().filter(|(_, operation, _)| operation.to_lowercase().contains("tag")).count()
    }

    fn check_store(&self) {
        let connection = rusqlite::Connection::open(self.dir.path().join("policy.db")).unwrap();
        let check: String = connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
        assert_eq!(check, "ok");
        let store = driftguard_store::Store::open(&self.dir.path().join("policy.db")).unwrap();
        assert_eq!(store.pending_effects().unwrap().len(), 0, "an effect was left unfinished");
        assert_eq!(store.outbox().unwrap(), [], "an audit record was left unwritten");
    }
}

/// The clean run of a kind: its final cloud, mutation counts, log length and succeeded calls.
struct Reference {
    cloud: Vec<String>,
    mutations: BTreeMap<(String, String), usize>,
    lines: usize,
    succeeded: BTreeMap<String, usize>,
}

fn reference(kind: Kind) -> Reference {
    let world = World::new(kind);
    let before = world.mutations();
    let tags_before = world.tag_writes();
    let mut log = Vec::new();
    for _ in 0..2 {
        log.push(world.run(None).0);
    }
    let lines = log.iter().map(Vec::len).sum();
    let mut mutations = world.mutations();
    for (key, n) in before {
        *mutations.get_mut(&key).unwrap() -= n;
    }
    mutations.retain(|_, n| *n > 0);
    assert!(!mutations.is_empty(), "the clean {kind:?} run changes something");
    let records = distinct_records(&log, None, &format!("clean {kind:?} run"));
    assert_eq!(
        tag_records(&records),
        world.tag_writes() - tags_before,
        "clean {kind:?} run: a tag write without its record"
    );
    Reference { cloud: world.snapshot(), mutations, lines, succeeded: succeeded_calls(&records) }
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
        let tags_before = world.tag_writes();
        // One entry per run; the killed run is remembered for the audit check.
        let mut log = Vec::new();
        // The clean run is two runs; the kill falls in the first or the second.
        let (first, killed) = world.run(Some(at));
        let first_len = first.len();
        log.push(first);
        let mut killed_run = 0;
        if !killed {
            let (second, _) = world.run(Some(at - first_len));
            log.push(second);
            killed_run = 1;
        }
        // Restart until the work is done: two more runs (the first resumes, the second
        // must find nothing left to do).
        for _ in 0..2 {
            log.push(world.run(None).0);
        }
        let context = format!("{kind:?} seed {seed} (kill after line {at}); replay with DG_CRASH_SEED={seed}");
        check_case(&world, &reference, &Before { mutations: before, tags: tags_before }, &log, killed_run, &context);
    }
}

/// What the emulator had counted before a case's runs.
struct Before {
    mutations: BTreeMap<(String, String), usize>,
    tags: usize,
}

/// After a case's runs (`log`, one entry per run; the kill fell in run `killed_run`):
/// the cloud, the changes counted at the emulator, the audit records and the store are
/// the clean run's.
fn check_case(
    world: &World,
    reference: &Reference,
    before: &Before,
    log: &[Vec<serde_json::Value>],
    killed_run: usize,
    context: &str,
) -> Vec<serde_json::Value> {
    common::assert_same_lines(&world.snapshot(), &reference.cloud, &format!("final cloud: {context}"));
    let mut mutations = world.mutations();
    for (key, n) in &before.mutations {
        *mutations.get_mut(key).unwrap() -= n;
    }
    mutations.retain(|_, n| *n > 0);
    assert_eq!(mutations, reference.mutations, "a resource changed twice or not at all: {context}");
    let records = distinct_records(log, Some(killed_run), context);
    assert_eq!(
        succeeded_calls(&records),
        reference.succeeded,
        "succeeded calls differ from the clean run's: {context}"
    );
    assert_eq!(
        tag_records(&records),
        world.tag_writes() - before.tags,
        "tag writes and their records differ: {context}"
    );
    let settled = records
        .iter()
        .filter(|r| r["event"] == "cloud.mutation" && r["reason"].as_str().is_some_and(|t| t.contains("interrupt")))
        .count();
    if settled > 0 {
        eprintln!("  {settled} call(s) in doubt at the kill, settled from live state: {context}");
    }
    let unknown: Vec<_> = records.iter().filter(|r| r["outcome"] == "unknown").collect();
    assert!(unknown.is_empty(), "a record left unknown though live state could tell: {unknown:?}: {context}");
    // Each remediated finding has its call on record.
    for event in records.iter().filter(|e| e["event"] == "finding.transition" && e["to_state"] == "remediated") {
        let finding = &event["finding_id"];
        let accounted = records
            .iter()
            .any(|e| e["event"] == "cloud.mutation" && &e["finding_id"] == finding && e["outcome"] == "succeeded");
        assert!(accounted, "remediated finding {finding} has no record of its call: {context}");
    }
    world.check_store();
    records
}

/// A call killed in flight: `operation` is held at the emulator (after it took effect, or
/// before), the run is killed while it waits for the answer, and the restarts must give
/// that call exactly one record, settled from live state, and end as the clean run.
fn killed_in_flight(kind: Kind, operation: &str, api: &str, took_effect: bool, held_run: usize) {
    let reference = reference(kind);
    let world = World::new(kind);
    let before = Before { mutations: world.mutations(), tags: world.tag_writes() };
    let mut log = Vec::new();
    // The janitor marks in its first run and deletes in its second.
    for _ in 0..held_run {
        log.push(world.run(None).0);
    }
    world.moto.hold_on(operation, took_effect);
    let seen_before = world.moto.mutations().len();
    log.push(world.run_until_held(operation));
    let during = world.moto.mutations()[seen_before..].to_vec();
    for _ in 0..2 {
        log.push(world.run(None).0);
    }
    let context = format!("{kind:?}: {operation} killed in flight (took effect: {took_effect})");
    let records = check_case(&world, &reference, &before, &log, held_run, &context);
    // The held call's record: written by the restart, settled from what the cloud showed.
    let killed_ids: Vec<&str> = log[held_run].iter().filter_map(|e| e["event_id"].as_str()).collect();
    let settled: Vec<_> = records
        .iter()
        .filter(|e| e["event"] == "cloud.mutation" && e["action"] == api)
        .filter(|e| e["reason"].as_str().is_some_and(|r| r.contains("interrupt")))
        .collect();
    // Marks are sent per account together (and EC2's in one call): every record in doubt
    // at the kill is settled once, as the emulator saw its call: succeeded where the
    // change was made (the held call among them when it took effect), failed elsewhere.
    let mut resources: Vec<&str> = settled.iter().filter_map(|e| e["resource_id"].as_str()).collect();
    resources.sort_unstable();
    let named = resources.len();
    resources.dedup();
    assert_eq!(resources.len(), named, "one settled record per resource: {settled:#?}: {context}");
    let held = during.iter().any(|(_, op, _)| op == operation);
    assert_eq!(held, took_effect, "the held call took effect only when told to: {during:?}: {context}");
    assert!(!settled.is_empty(), "no settled record for the call in flight: {context}");
    if !api.starts_with("tag:") {
        assert_eq!(settled.len(), 1, "one settled record for the call in flight: {settled:#?}: {context}");
    }
    for record in &settled {
        let id = record["resource_id"].as_str().unwrap();
        // A mark's tag write is one call for its resource; other calls are the held one.
        let made = if api.starts_with("tag:") {
            during.iter().any(|(_, op, target)| {
                op.to_lowercase().contains("tag")
                    && (target == id || target.ends_with(&format!(":{id}")) || target.ends_with(&format!("/{id}")))
            })
        } else {
            took_effect
        };
        let expected = if made { "succeeded" } else { "failed" };
        assert_eq!(record["outcome"], expected, "{id}: {context}");
        assert!(
            !killed_ids.contains(&record["event_id"].as_str().unwrap()),
            "the killed run never wrote it: {context}"
        );
        eprintln!("settled: {record}");
    }
}

macro_rules! in_flight_tests {
    ($($name:ident: $kind:expr, $operation:literal, $api:literal, took_effect: $took:literal, in_run: $run:literal;)*) => {
        $(
            #[test]
            fn $name() {
                killed_in_flight($kind, $operation, $api, $took, $run);
            }
        )*
    };
}

in_flight_tests! {
    a_remediation_killed_after_its_call_took_effect_has_one_succeeded_record:
        Kind::Remediation, "ModifyInstanceMetadataOptions", "ec2:ModifyInstanceMetadataOptions", took_effect: true, in_run: 0;
    a_remediation_killed_before_its_call_took_effect_has_one_failed_record_and_is_made_again:
        Kind::Remediation, "ModifyInstanceMetadataOptions", "ec2:ModifyInstanceMetadataOptions", took_effect: false, in_run: 0;
    a_janitor_killed_after_a_deletion_took_effect_has_one_succeeded_record:
        Kind::Janitor, "DeleteRole", "delete:aws_iam_role", took_effect: true, in_run: 1;
    a_janitor_killed_before_a_deletion_took_effect_has_one_failed_record_and_deletes_again:
        Kind::Janitor, "DeleteRole", "delete:aws_iam_role", took_effect: false, in_run: 1;
    a_janitor_killed_during_a_mark_has_one_record_of_it:
        Kind::Janitor, "TagRole", "tag:mark", took_effect: true, in_run: 0;
}

/// The audit records of a case's runs, each once: every audit line has an `event_id`,
/// and a repeated `event_id` is the same record written again after the kill (at most
/// twice, first by the killed run `killed`, then by a later one). Returns the records in
/// order of first appearance.
fn distinct_records(runs: &[Vec<serde_json::Value>], killed: Option<usize>, context: &str) -> Vec<serde_json::Value> {
    let mut first_seen: BTreeMap<String, (usize, serde_json::Value)> = BTreeMap::new();
    let mut records = Vec::new();
    let mut repeated = 0;
    for (run, lines) in runs.iter().enumerate() {
        for line in lines.iter().filter(|line| line["target"] == "driftguard::audit") {
            let id = line["event_id"].as_str().filter(|id| !id.is_empty());
            let id = id.unwrap_or_else(|| panic!("an audit line without event_id: {line}: {context}")).to_owned();
            let mut body = line.clone();
            body.as_object_mut().unwrap().remove("timestamp");
            match first_seen.get(&id) {
                None => {
                    first_seen.insert(id, (run, body));
                    records.push(line.clone());
                }
                Some((first_run, first_body)) => {
                    repeated += 1;
                    assert_eq!(&body, first_body, "event_id {id} names two different records: {context}");
                    assert!(
                        killed == Some(*first_run) && run > *first_run,
                        "event_id {id} written twice outside a kill (runs {first_run} and {run}): {context}"
                    );
                }
            }
        }
    }
    // Only the delivery in flight at the kill can be written again, and an acting run
    // delivers one record at a time.
    assert!(repeated <= usize::from(killed.is_some()), "{repeated} records written again after one kill: {context}");
    if repeated > 0 {
        eprintln!("  {repeated} record(s) written again after the kill (same event_id): {context}");
    }
    records
}

/// Succeeded calls (not the janitor's tag writes), by action and target.
fn succeeded_calls(records: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut calls = BTreeMap::new();
    let real = records.iter().filter(|e| {
        e["event"] == "cloud.mutation"
            && e["outcome"] == "succeeded"
            && !e["action"].as_str().unwrap_or("").starts_with("tag:")
    });
    for event in real {
        let target = common::mask_ids(event["resource_id"].as_str().unwrap_or(""));
        // Finding ids hash the resource id, random per world: the masked target names it.
        *calls.entry(format!("{} {target}", event["action"])).or_default() += 1;
    }
    for event in records.iter().filter(|e| e["event"] == "janitor.iac" && e["outcome"] == "succeeded") {
        *calls.entry(format!("{} in a working directory", event["action"])).or_default() += 1;
    }
    calls
}

/// Succeeded records of tag writes: janitor marks and unmarks, and tag fixes.
fn tag_records(records: &[serde_json::Value]) -> usize {
    records
        .iter()
        .filter(|e| {
            let action = e["action"].as_str().unwrap_or("");
            e["event"] == "cloud.mutation"
                && e["outcome"] == "succeeded"
                && (action.starts_with("tag:") || action.to_lowercase().contains("tag"))
        })
        .count()
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
