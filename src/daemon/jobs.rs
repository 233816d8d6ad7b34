//! The daemon's jobs, as data: which jobs a policy schedules, and the rule that a job never
//! overlaps itself. Pure: the main loop ([`super::Daemon`]) feeds it ticks and completions.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use driftguard_engine::model::JobSplit;
use driftguard_engine::model::Provider;
use driftguard_engine::policy::{Policy, Schedule};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobKind {
    /// Drift detection (and the flows it drives).
    Detect,
    /// The janitor.
    Janitor,
}

impl JobKind {
    /// The name used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Detect => "detect",
            JobKind::Janitor => "janitor",
        }
    }
}

/// One scheduled job: a kind, and an account (and region) when the schedule splits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobKey {
    /// What it does.
    pub kind: JobKind,
    /// Its one account, or `None` for every account of the policy.
    pub account: Option<String>,
    /// Its one region (detect split by region), or `None` for every region.
    pub region: Option<String>,
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        for part in [&self.account, &self.region].into_iter().flatten() {
            write!(f, "/{part}")?;
        }
        Ok(())
    }
}

/// A job with its schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// Which job.
    pub key: JobKey,
    /// Six-field cron expression.
    pub cron: String,
    /// Longest random start delay.
    pub jitter: Duration,
}

/// Every job the policy schedules: detect (when it names an AWS account) and the janitor
/// (when enabled), each once or once per account as its schedule says.
pub fn jobs(policy: &Policy) -> Vec<JobSpec> {
    let mut out = Vec::new();
    // (account, its regions) of every account the job covers.
    let mut add = |kind: JobKind, schedule: &Schedule, accounts: Vec<(String, Vec<String>)>| {
        let scopes: Vec<(Option<String>, Option<String>)> = match schedule.split {
            JobSplit::All => vec![(None, None)],
            JobSplit::Account => accounts.into_iter().map(|(account, _)| (Some(account), None)).collect(),
            JobSplit::Region => accounts
                .into_iter()
                .flat_map(|(account, regions)| {
                    regions.into_iter().map(move |region| (Some(account.clone()), Some(region)))
                })
                .collect(),
        };
        for (account, region) in scopes {
            out.push(JobSpec {
                key: JobKey { kind, account, region },
                cron: schedule.cron.clone(),
                jitter: schedule.jitter,
            });
        }
    };
    let of = |provider: Provider| policy.accounts().iter().filter(move |a| a.provider == provider);
    if of(Provider::Aws).next().is_some() {
        let accounts = of(Provider::Aws).map(|a| (a.id.clone(), a.regions.clone())).collect();
        add(JobKind::Detect, policy.detect_schedule(), accounts);
    }
    if policy.janitor().enabled {
        let wants = |provider: Provider| policy.janitor().targets.iter().any(|t| t.provider() == provider);
        let accounts = policy
            .accounts()
            .iter()
            .filter(|account| wants(account.provider))
            .map(|account| (account.id.clone(), Vec::new()))
            .collect();
        add(JobKind::Janitor, policy.janitor_schedule(), accounts);
    }
    out
}

/// What to do with a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Start the job.
    Start,
    /// Its previous run is still going: skip this tick.
    StillRunning,
    /// The daemon is draining: nothing new starts.
    Draining,
}

impl Tick {
    /// Why a tick was skipped, for the `job.skipped` event.
    pub fn reason(self) -> &'static str {
        match self {
            Tick::Start => "started",
            Tick::StillRunning => "its previous run is still going",
            Tick::Draining => "the daemon is stopping",
        }
    }
}

/// The jobs running now (from accepted tick, through the jitter delay, to completion).
#[derive(Debug, Default)]
pub struct Running {
    running: BTreeSet<JobKey>,
}

impl Running {
    /// A tick for `key`: start it unless it runs already or the daemon drains.
    pub fn tick(&mut self, key: &JobKey, draining: bool) -> Tick {
        if draining {
            Tick::Draining
        } else if self.running.insert(key.clone()) {
            Tick::Start
        } else {
            Tick::StillRunning
        }
    }

    /// `key` ended.
    pub fn finished(&mut self, key: &JobKey) {
        self.running.remove(key);
    }

    /// Whether nothing runs.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// How many run.
    pub fn len(&self) -> usize {
        self.running.len()
    }
}

/// A start delay uniform in `[0, max]` from `random` bits: daemons started together then
/// spread their calls.
pub fn jitter(max: Duration, random: u64) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let millis = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(random % millis.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use driftguard_engine::policy::{CliOverrides, compile};
    use proptest::prelude::*;

    use super::*;

    fn policy(extra: &str) -> Policy {
        let text = format!(
            r#"version: 1
providers:
  aws:
    - account: "111111111111"
      environment: sandbox
      regions: [us-east-1]
    - account: "222222222222"
      environment: sandbox
      regions: [us-east-1]
flows:
  - name: all
    steps: [classify, plan, report]
{extra}"#
        );
        compile("p.yaml", &text, None, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn one_detect_job_or_one_per_account_or_region() {
        let keys = |p: &Policy| jobs(p).into_iter().map(|j| j.key.to_string()).collect::<Vec<_>>();
        assert_eq!(keys(&policy("")), ["detect"]);
        let per = policy("schedules:\n  detect:\n    cron: \"*/5 * * * *\"\n    split: account\n");
        assert_eq!(keys(&per), ["detect/111111111111", "detect/222222222222"]);
        assert_eq!(jobs(&per)[0].cron, "0 */5 * * * *");
        let per = policy("schedules:\n  detect:\n    split: region\n");
        assert_eq!(keys(&per), ["detect/111111111111/us-east-1", "detect/222222222222/us-east-1"]);
    }

    #[test]
    fn the_janitor_does_not_split_by_region() {
        let text = "version: 1\nflows:\n  - name: all\n    steps: [classify, plan, report]\nschedules:\n  janitor:\n    split: region\n";
        let problems = compile("p.yaml", text, None, &CliOverrides::default()).unwrap_err();
        assert!(problems.to_string().contains("schedules.janitor.split"), "{problems}");
    }

    #[test]
    fn a_job_never_overlaps_itself_and_nothing_starts_while_draining() {
        let mut running = Running::default();
        let detect = JobKey { kind: JobKind::Detect, account: None, region: None };
        let janitor = JobKey { kind: JobKind::Janitor, account: None, region: None };
        assert_eq!(running.tick(&detect, false), Tick::Start);
        assert_eq!(running.tick(&detect, false), Tick::StillRunning);
        assert_eq!(running.tick(&janitor, false), Tick::Start, "other jobs are not held back");
        running.finished(&detect);
        assert_eq!(running.tick(&detect, true), Tick::Draining);
        assert_eq!(running.tick(&detect, false), Tick::Start);
        assert_eq!(running.len(), 2);
    }

    proptest! {
        /// Whatever the order of ticks and completions, at most one run per job is ever in
        /// flight, and a job starts whenever it is not running and the daemon is not draining.
        #[test]
        fn at_most_one_run_per_job(events in prop::collection::vec((0u8..3, any::<bool>(), any::<bool>()), 0..200)) {
            let mut running = Running::default();
            let mut model: std::collections::BTreeSet<u8> = std::collections::BTreeSet::new();
            for (job, is_tick, draining) in events {
                let key = JobKey { kind: JobKind::Detect, account: Some(job.to_string()), region: None };
                if is_tick {
                    let tick = running.tick(&key, draining);
                    let expected = if draining { Tick::Draining } else if model.contains(&job) { Tick::StillRunning } else { Tick::Start };
                    prop_assert_eq!(tick, expected);
                    if tick == Tick::Start { model.insert(job); }
                } else {
                    running.finished(&key);
                    model.remove(&job);
                }
                prop_assert_eq!(running.len(), model.len());
            }
        }

        #[test]
        fn jitter_stays_within_its_bound(max_ms in 0u64..100_000, random in any::<u64>()) {
            let max = Duration::from_millis(max_ms);
            prop_assert!(jitter(max, random) <= max);
        }
    }
}
