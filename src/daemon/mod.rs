//! `driftguard run`: the daemon.
//!
//! One main loop ([`Daemon::main`]) is the only place where control events meet: scheduler
//! ticks, job completions, signals (SIGHUP reload, SIGTERM/SIGINT drain, a second one
//! exits at once), the watchdog timer and the drain deadline. Jobs run the same code as the
//! one-shot commands ([`crate::commands::detect::execute`], [`crate::commands::janitor::execute`])
//! on blocking threads, each under the policy that was in force when it started: a reload
//! takes effect at the next job boundary. The scheduler (tokio-cron-scheduler) only sends
//! ticks; whether a tick starts anything (no overlap, not while draining) is decided by
//! [`jobs::Running`], which is pure.
//!
//! systemd sees READY=1 once the policy is compiled, the store opened and the listener
//! bound; RELOADING=1 … READY=1 around a reload; STOPPING=1 when draining; WATCHDOG=1 from
//! this loop (so a stuck loop is restarted by systemd).

pub mod jobs;
pub mod metrics;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use driftguard_engine::audit::{AuditEventName, Outcome};
use driftguard_engine::model::NotifyEvent;
use driftguard_engine::policy::Policy;
use driftguard_providers::pace::Pacer;
use driftguard_providers::retry::CallObserver;
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_cron_scheduler::{Job, JobScheduler};

use self::jobs::{JobKey, JobKind, JobSpec, Running, Tick};
use self::metrics::{Health, Listener, Metrics};
use self::webhooks::{Announcement, Item, Webhooks};
use crate::audit;
use crate::cli::Cli;
use crate::commands::{detect, janitor};
use crate::exit::Exit;
use crate::job::accounts::{Checked, Sessions};
use crate::job::{self, Bridge, JobEnv, compile_policy, load_for_action, run_status};
use crate::runner::Escalation;

/// Longest pause between two turns of the main loop (heartbeat, watchdog).
const BEAT: Duration = Duration::from_secs(1);

/// What reaches the main loop from elsewhere.
#[derive(Debug)]
enum Control {
    /// The scheduler says a job is due.
    Tick(JobKey),
}

/// How a job run ended.
#[derive(Debug)]
enum JobResult {
    /// The daemon began draining during the start delay: nothing ran.
    NotStarted,
    /// Detect ran.
    Detect(Result<detect::DetectOutcome, String>),
    /// The janitor ran.
    Janitor(Result<(janitor::Tally, usize), String>),
    /// The job's thread panicked (a bug): reported, and the daemon goes on.
    Panicked(String),
}

/// An escalated finding, as webhooks announce it.
fn escalated(escalation: &Escalation) -> Item {
    let finding = &escalation.finding;
    Item {
        event: NotifyEvent::Escalated,
        provider: finding.provider.clone(),
        account: finding.account.clone(),
        resource_type: finding.resource_type.clone(),
        resource_id: finding.resource_id.clone(),
        severity: finding.severity.clone(),
        summary: format!(
            "finding {} escalated{}",
            finding.id,
            finding.flow.as_deref().map(|flow| format!(" (flow {flow})")).unwrap_or_default()
        ),
    }
}

fn notify(states: &[NotifyState<'_>]) {
    // Without NOTIFY_SOCKET (not under systemd) this does nothing; a failure to reach
    // systemd is not a reason to stop governing.
    if let Err(error) = sd_notify::notify(false, states) {
        tracing::warn!(event = "daemon.notify", error = %error, "cannot notify systemd");
    }
}

/// Emits a daemon-level audit event (run id `daemon`).
fn daemon_event(policy: &Policy, event: AuditEventName, action: &str, outcome: Outcome, reason: String, message: &str) {
    let mut record = job::run_record(policy, "daemon", policy.dry_run(), event, outcome);
    action.clone_into(&mut record.action);
    record.reason = Some(reason);
    audit::emit(&record, message);
}

fn lifecycle(policy: &Policy, action: &str, outcome: Outcome, reason: String, message: &str) {
    daemon_event(policy, AuditEventName::DaemonLifecycle, action, outcome, reason, message);
}

fn describe(specs: &[JobSpec]) -> String {
    if specs.is_empty() {
        return "no jobs (no AWS account for detect, janitor disabled)".to_owned();
    }
    specs.iter().map(|spec| format!("{} ({})", spec.key, spec.cron)).collect::<Vec<_>>().join(", ")
}

/// Where a job's report goes: the configured path, or per account (and region) beside it.
fn report_path(base: &Path, key: &JobKey) -> PathBuf {
    let scope: Vec<&str> = [&key.account, &key.region].into_iter().flatten().map(String::as_str).collect();
    if scope.is_empty() {
        return base.to_path_buf();
    }
    let stem = base.file_stem().map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    let extension = base.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    base.with_file_name(format!("{stem}-{}{extension}", scope.join("-")))
}

/// Runs the daemon until SIGTERM/SIGINT. Exit 78 when the policy (or a webhook variable it
/// names) is refused, 1 when the store, the lock or the listener cannot be had.
pub fn run(cli: &Cli, report: Option<&Path>) -> Exit {
    let policy = match load_for_action(cli) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    let webhooks = match Webhooks::from_policy(&policy, |name| std::env::var(name).ok()) {
        Ok(webhooks) => webhooks,
        Err(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            let mut record = job::run_record(&policy, "none", true, AuditEventName::PolicyRejected, Outcome::Failed);
            record.reason = Some(format!("{} webhook problem(s) in {}", problems.len(), policy.source()));
            audit::emit(&record, "policy refused; nothing was touched");
            return Exit::Policy;
        }
    };
    let Ok(lock) = job::lock_store(&policy, "run") else {
        return Exit::Runtime;
    };
    // Opened (and migrated) before READY=1: a store that cannot be opened fails the start.
    let Ok(store) = job::open_store(&policy) else {
        return Exit::Runtime;
    };
    drop(store);
    let runtime = match job::daemon_runtime() {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let report = report.map(Path::to_path_buf).or_else(|| policy.daemon().report_path.clone());
    let exit = runtime.block_on(async move {
        match Daemon::start(cli, policy, webhooks, report).await {
            Ok(daemon) => daemon.main().await,
            Err(error) => {
                eprintln!("driftguard run: {error}");
                Exit::Runtime
            }
        }
    });
    // Jobs abandoned by a forced exit stay where they are: the store has their last
    // transition, and the next start resumes them.
    runtime.shutdown_background();
    drop(lock);
    exit
}

/// The daemon's state; owned by the main loop alone.
struct Daemon<'c> {
    cli: &'c Cli,
    policy: Arc<Policy>,
    specs: Vec<JobSpec>,
    webhooks: Webhooks,
    report: Option<PathBuf>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    listener: Option<Listener>,
    pacer: Arc<Pacer>,
    sessions: Arc<Sessions>,
    stop: Arc<AtomicBool>,
    draining: watch::Sender<bool>,
    running: Running,
    scheduler: JobScheduler,
    scheduled: Vec<uuid::Uuid>,
    ticks: mpsc::Sender<Control>,
    control: mpsc::Receiver<Control>,
    jobs: JoinSet<(JobKey, Duration, JobResult)>,
    deliveries: JoinSet<()>,
}

impl<'c> Daemon<'c> {
    async fn start(
        cli: &'c Cli,
        policy: Policy,
        webhooks: Webhooks,
        report: Option<PathBuf>,
    ) -> Result<Daemon<'c>, String> {
        let metrics = Arc::new(Metrics::new());
        let health = Arc::new(Health::default());
        health.beat();
        let listener = match policy.daemon().metrics_listen {
            Some(address) => Some(Listener::start(address, Arc::clone(&metrics), Arc::clone(&health))?),
            None => None,
        };
        let scheduler = JobScheduler::new().await.map_err(|error| format!("cannot create the scheduler: {error}"))?;
        let (ticks, control) = mpsc::channel(64);
        let (draining, _) = watch::channel(false);
        let mut daemon = Daemon {
            cli,
            specs: jobs::jobs(&policy),
            policy: Arc::new(policy),
            webhooks,
            report,
            metrics,
            health,
            listener,
            pacer: Arc::new(Pacer::default()),
            sessions: Arc::new(Sessions::default()),
            stop: Arc::new(AtomicBool::new(false)),
            draining,
            running: Running::default(),
            scheduler,
            scheduled: Vec::new(),
            ticks,
            control,
            jobs: JoinSet::new(),
            deliveries: JoinSet::new(),
        };
        daemon.schedule().await?;
        daemon.scheduler.start().await.map_err(|error| format!("cannot start the scheduler: {error}"))?;
        Ok(daemon)
    }

    /// (Re)creates the scheduler's jobs from `self.specs`.
    async fn schedule(&mut self) -> Result<(), String> {
        for id in self.scheduled.drain(..) {
            let _ = self.scheduler.remove(&id).await;
        }
        for spec in &self.specs {
            let ticks = self.ticks.clone();
            let key = spec.key.clone();
            let job = Job::new_async(spec.cron.as_str(), move |_id, _scheduler| {
                let ticks = ticks.clone();
                let key = key.clone();
                Box::pin(async move {
                    // A full channel means the loop is far behind: dropping a tick is
                    // the same as skipping it, and the next one comes.
                    let _ = ticks.try_send(Control::Tick(key));
                })
            })
            .map_err(|error| format!("schedule of {}: {:?}: {error}", spec.key, spec.cron))?;
            let id = self.scheduler.add(job).await.map_err(|error| format!("cannot schedule {}: {error}", spec.key))?;
            self.scheduled.push(id);
        }
        Ok(())
    }

    async fn main(mut self) -> Exit {
        // Handlers first: SIGHUP's default action would end the process.
        let (Ok(mut hup), Ok(mut term), Ok(mut int)) =
            (signal(SignalKind::hangup()), signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
        else {
            eprintln!("driftguard run: cannot install signal handlers");
            return Exit::Runtime;
        };
        let mut watchdog_usec = 0u64;
        let watchdog = sd_notify::watchdog_enabled(false, &mut watchdog_usec);
        let beat = if watchdog { BEAT.min(Duration::from_micros(watchdog_usec) / 2) } else { BEAT };
        let mut ticker = tokio::time::interval(beat.max(Duration::from_millis(10)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        self.health.ready.store(true, Ordering::SeqCst);
        let listening =
            self.listener.as_ref().map(|l| format!("; metrics on http://{}", l.address)).unwrap_or_default();
        lifecycle(
            &self.policy,
            "started",
            Outcome::Succeeded,
            format!("jobs: {}{listening}", describe(&self.specs)),
            "daemon started",
        );
        notify(&[NotifyState::Ready, NotifyState::Status("governing")]);

        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            if deadline.is_some() && self.running.is_empty() && self.jobs.is_empty() && self.deliveries.is_empty() {
                break;
            }
            let drain_at = deadline.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_hours(24));
            tokio::select! {
                _ = ticker.tick() => {
                    self.health.beat();
                    if watchdog {
                        notify(&[NotifyState::Watchdog]);
                    }
                }
                Some(Control::Tick(key)) = self.control.recv() => self.tick(&key),
                Some(joined) = self.jobs.join_next(), if !self.jobs.is_empty() => match joined {
                    Ok((key, took, result)) => self.finished(&key, took, result),
                    Err(error) => tracing::error!(event = "job.failed", error = %error, "a job task ended abnormally"),
                },
                Some(_) = self.deliveries.join_next(), if !self.deliveries.is_empty() => {}
                _ = hup.recv() => self.reload().await,
                _ = term.recv() => if self.drain_or_exit(&mut deadline, "SIGTERM").await { return Exit::Runtime },
                _ = int.recv() => if self.drain_or_exit(&mut deadline, "SIGINT").await { return Exit::Runtime },
                () = tokio::time::sleep_until(drain_at), if deadline.is_some() => {
                    lifecycle(
                        &self.policy,
                        "drain_timeout",
                        Outcome::Failed,
                        format!(
                            "{} job(s) still running after daemon.shutdown_timeout; they resume from the store at the next start",
                            self.running.len()
                        ),
                        "drain timed out; exiting",
                    );
                    return Exit::Runtime;
                }
            }
        }
        let _ = self.scheduler.shutdown().await;
        if let Some(listener) = self.listener.take() {
            listener.stop();
        }
        lifecycle(&self.policy, "stopped", Outcome::Succeeded, "drained".to_owned(), "daemon stopped");
        Exit::Success
    }

    /// The first stop signal drains; the second exits at once (returns true).
    async fn drain_or_exit(&mut self, deadline: &mut Option<tokio::time::Instant>, signal: &str) -> bool {
        if deadline.is_some() {
            lifecycle(
                &self.policy,
                "forced",
                Outcome::Failed,
                format!(
                    "second stop signal ({signal}); {} job(s) abandoned mid-run, resumed at the next start",
                    self.running.len()
                ),
                "exiting at once",
            );
            return true;
        }
        *deadline = Some(tokio::time::Instant::now() + self.policy.daemon().shutdown_timeout);
        self.stop.store(true, Ordering::SeqCst);
        self.health.draining.store(true, Ordering::SeqCst);
        let _ = self.draining.send(true);
        notify(&[NotifyState::Stopping, NotifyState::Status("draining")]);
        let _ = self.scheduler.shutdown().await;
        lifecycle(
            &self.policy,
            "stopping",
            Outcome::Noted,
            format!(
                "{signal}: {} job(s) finish their current transition; nothing new starts; at most {}s",
                self.running.len(),
                self.policy.daemon().shutdown_timeout.as_secs()
            ),
            "draining",
        );
        false
    }

    fn tick(&mut self, key: &JobKey) {
        let Some(spec) = self.specs.iter().find(|spec| &spec.key == key).cloned() else {
            return; // a tick from a schedule a reload removed
        };
        let draining = *self.draining.borrow();
        match self.running.tick(key, draining) {
            Tick::Start => {}
            skipped => {
                self.metrics.skipped(&key.to_string(), if draining { "draining" } else { "still_running" });
                daemon_event(
                    &self.policy,
                    AuditEventName::JobSkipped,
                    &key.to_string(),
                    Outcome::Noted,
                    skipped.reason().to_owned(),
                    &format!("{key}: tick skipped"),
                );
                return;
            }
        }
        let policy = Arc::clone(&self.policy);
        let observer: Arc<dyn CallObserver> = Arc::clone(&self.metrics) as Arc<dyn CallObserver>;
        let env = JobEnv {
            pacer: Arc::clone(&self.pacer),
            observer: Some(observer),
            stop: Arc::clone(&self.stop),
            account: key.account.clone(),
            region: key.region.clone(),
            sessions: Arc::clone(&self.sessions),
        };
        let delay = jobs::jitter(spec.jitter, u64::try_from(uuid::Uuid::new_v4().as_u128() >> 64).unwrap_or(0));
        let mut draining = self.draining.subscribe();
        let key = key.clone();
        self.jobs.spawn(async move {
            if !delay.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = draining.wait_for(|draining| *draining) => return (key, Duration::ZERO, JobResult::NotStarted),
                }
            }
            let started = Instant::now();
            let handle = tokio::runtime::Handle::current();
            let kind = key.kind;
            let result = tokio::task::spawn_blocking(move || match kind {
                JobKind::Detect => JobResult::Detect(detect::execute(&policy, Bridge::Shared(&handle), &env, &[])),
                JobKind::Janitor => {
                    JobResult::Janitor(janitor::execute(&policy, Bridge::Shared(&handle), &env, None, None))
                }
            })
            .await
            .unwrap_or_else(|error| JobResult::Panicked(error.to_string()));
            (key, started.elapsed(), result)
        });
    }

    fn finished(&mut self, key: &JobKey, took: Duration, result: JobResult) {
        self.running.finished(key);
        let job = key.to_string();
        let seconds = took.as_secs_f64();
        let host = audit::host();
        match result {
            JobResult::NotStarted => {}
            JobResult::Detect(Ok(outcome)) => {
                let result = run_status(!outcome.checked.refused.is_empty(), outcome.interrupted);
                self.metrics.cycle(&job, result, seconds);
                self.metrics.findings(&job, &outcome.report);
                self.metrics.unsupported(&outcome.report);
                let refusals = self.identities(&outcome.checked);
                if let Some(base) = &self.report {
                    let path = report_path(base, key);
                    if let Err(error) = detect::write_report(&path, &outcome.report) {
                        tracing::warn!(event = "daemon.report", error = %error, "cannot write the drift report");
                    }
                }
                self.metrics.remediations(&outcome.notes.remediations);
                let mut items: Vec<Item> = outcome.notes.escalations.iter().map(escalated).collect();
                items.extend(refusals);
                self.announce(&Announcement {
                    job,
                    run_id: outcome.report.run_id.clone(),
                    dry_run: outcome.report.dry_run,
                    host,
                    items,
                });
            }
            JobResult::Janitor(Ok((tally, _listed))) => {
                self.metrics.cycle(&job, run_status(tally.failed > 0, tally.interrupted), seconds);
                self.metrics.deletions(&tally.deletions);
                let refusals = self.identities(&tally.checked);
                let mark_tag = self.policy.janitor().mark_tag.clone();
                let mut items: Vec<Item> = tally
                    .marked
                    .iter()
                    .map(|resource| Item {
                        event: NotifyEvent::JanitorMarked,
                        provider: resource.provider.as_str().to_owned(),
                        account: resource.account.clone(),
                        resource_type: resource.resource_type.as_str().to_owned(),
                        resource_id: resource.id.clone(),
                        severity: None,
                        summary: format!(
                            "expired; marked ({mark_tag}), deleted after the grace period unless its tags change"
                        ),
                    })
                    .collect();
                items.extend(refusals);
                self.announce(&Announcement {
                    job,
                    run_id: tally.run_id.clone(),
                    dry_run: self.policy.dry_run(),
                    host,
                    items,
                });
            }
            JobResult::Detect(Err(error)) | JobResult::Janitor(Err(error)) | JobResult::Panicked(error) => {
                self.metrics.cycle(&job, "failed", seconds);
                tracing::error!(event = "job.failed", job = job.as_str(), error = error.as_str(), "job run failed");
            }
        }
    }

    /// A job's identity checks: readiness follows them, and each refusal is announced.
    fn identities(&self, checked: &Checked) -> Vec<Item> {
        let verified: Vec<(String, String)> = checked
            .verified
            .iter()
            .map(|(provider, account)| (provider.as_str().to_owned(), account.clone()))
            .collect();
        let refused: Vec<(String, String, String)> = checked
            .refused
            .iter()
            .map(|r| (r.provider().as_str().to_owned(), r.account().to_owned(), r.kind().to_owned()))
            .collect();
        for (provider, account, reason) in &refused {
            self.metrics.refused(provider, account, reason);
        }
        self.health.accounts(&verified, &refused);
        checked
            .refused
            .iter()
            .map(|refusal| Item {
                event: NotifyEvent::AccountRefused,
                provider: refusal.provider().as_str().to_owned(),
                account: refusal.account().to_owned(),
                resource_type: "account".to_owned(),
                resource_id: refusal.account().to_owned(),
                severity: None,
                summary: refusal.describe(),
            })
            .collect()
    }

    fn announce(&mut self, announcement: &Announcement) {
        if announcement.items.is_empty() || self.webhooks.is_empty() {
            return;
        }
        self.webhooks.announce(announcement, &self.metrics, &mut self.deliveries, self.policy.hash());
    }

    /// SIGHUP: compile again; the new policy takes effect at the next job boundary, a
    /// refused one changes nothing.
    async fn reload(&mut self) {
        notify(&[NotifyState::Reloading, NotifyState::Status("reloading the policy")]);
        let refused = |daemon: &Self, lines: &[String], why: &str| {
            for line in lines {
                eprintln!("{line}");
            }
            daemon.metrics.reload("rejected");
            let reason = format!(
                "{why}; the policy in force stays (hash {}): {}",
                &daemon.policy.hash()[..12],
                lines.join(" | ")
            );
            daemon_event(
                &daemon.policy,
                AuditEventName::PolicyRejected,
                "policy.reload",
                Outcome::Failed,
                reason,
                "reload refused; the policy in force stays",
            );
        };
        match compile_policy(self.cli) {
            Err(failure) => refused(self, &failure.lines(), &format!("{} problem(s)", failure.lines().len())),
            Ok(policy) if policy.store_path() != self.policy.store_path() => refused(
                self,
                &[format!(
                    "{}: store.path changed ({} -> {}): the store cannot move under a running daemon; restart it",
                    policy.source(),
                    self.policy.store_path(),
                    policy.store_path()
                )],
                "store.path changed",
            ),
            Ok(policy) => match Webhooks::from_policy(&policy, |name| std::env::var(name).ok()) {
                Err(problems) => refused(self, &problems, &format!("{} webhook problem(s)", problems.len())),
                Ok(webhooks) => {
                    if policy.daemon().metrics_listen != self.policy.daemon().metrics_listen {
                        tracing::warn!(
                            event = "daemon.reload",
                            "daemon.metrics_listen changed; the listener moves at the next restart"
                        );
                    }
                    let specs = jobs::jobs(&policy);
                    let rescheduled = specs != self.specs;
                    self.webhooks = webhooks;
                    self.policy = Arc::new(policy);
                    self.specs = specs;
                    if rescheduled && let Err(error) = self.schedule().await {
                        tracing::error!(event = "daemon.reload", error = error.as_str(), "rescheduling failed");
                    }
                    self.metrics.reload("succeeded");
                    daemon_event(
                        &self.policy,
                        AuditEventName::PolicyLoaded,
                        "policy.reload",
                        Outcome::Succeeded,
                        format!("{}; jobs: {}", self.policy.source(), describe(&self.specs)),
                        "policy reloaded; in force from the next job start",
                    );
                }
            },
        }
        notify(&[
            NotifyState::Ready,
            NotifyState::Status(if self.health.draining.load(Ordering::SeqCst) { "draining" } else { "governing" }),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_jobs_reports_sit_beside_the_configured_one() {
        let base = Path::new("/var/lib/driftguard/report.json");
        let all = JobKey { kind: JobKind::Detect, account: None, region: None };
        let one = JobKey { kind: JobKind::Detect, account: Some("111111111111".into()), region: None };
        let region = JobKey { region: Some("eu-west-1".into()), ..one.clone() };
        assert_eq!(report_path(base, &all), base);
        assert_eq!(report_path(base, &one), Path::new("/var/lib/driftguard/report-111111111111.json"));
        assert_eq!(report_path(base, &region), Path::new("/var/lib/driftguard/report-111111111111-eu-west-1.json"));
    }
}
