//! What every job needs, for the one-shot commands and the daemon alike: the policy
//! (compiled, or refused with every problem), the store and its run lock (and the outbox a
//! stopped process left), the async runtime, the Terraform states, the job's environment
//! ([`JobEnv`]: pace, metrics, stop flag, scope, sessions) and the identity checks of its
//! accounts ([`accounts`]).

pub mod accounts;
pub mod states;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use driftguard_engine::audit::{AuditEventName, AuditRecord, Outcome};
use driftguard_engine::model::Provider;
use driftguard_engine::model::{LogFormat, LogLevel};
use driftguard_engine::policy::{self, CliOverrides, Diagnostics, Policy};
use driftguard_providers::pace::Pacer;
use driftguard_providers::retry::{CallObserver, Calls};
use driftguard_store::Store;

use crate::audit;
use crate::cli::Cli;
use crate::exit::Exit;

/// What a job needs from the process around it: the pace every job shares (one token
/// bucket per account), the call observer (the daemon's metrics), the stop flag (set on
/// SIGTERM: finish the transition in hand, start nothing new) and, for a split job,
/// its account. One-shot commands use the default: their own pacer, no observer.
#[derive(Clone, Default)]
pub struct JobEnv {
    /// Shared token buckets.
    pub pacer: Arc<Pacer>,
    /// Metrics, if any.
    pub observer: Option<Arc<dyn CallObserver>>,
    /// Set when the job must stop at the next item boundary.
    pub stop: Arc<AtomicBool>,
    /// Only this account (AWS account, GCP project, Azure subscription).
    pub account: Option<String>,
    /// Only this region (detect split by region).
    pub region: Option<String>,
    /// AWS sessions shared by the jobs of the process (assumed-role credentials reused
    /// until they are refreshed).
    pub sessions: Arc<accounts::Sessions>,
}

impl fmt::Debug for JobEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobEnv")
            .field("pacer", &self.pacer)
            .field("observed", &self.observer.is_some())
            .field("stop", &self.stop)
            .field("account", &self.account)
            .field("region", &self.region)
            .field("sessions", &self.sessions)
            .finish()
    }
}

impl JobEnv {
    /// How calls to one account are made: the policy's retries and that account's pace.
    pub fn calls(&self, policy: &Policy, provider: Provider, account: &str) -> Calls {
        let pace = self.pacer.pace(provider, account, policy.requests_per_second(provider, account));
        Calls::new(policy.retry(), provider.as_str()).paced(pace).observed(self.observer.clone())
    }

    /// Whether a stop was requested.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Whether this job covers the account.
    pub fn covers(&self, account: &str) -> bool {
        self.account.as_deref().is_none_or(|only| only == account)
    }
}

/// Reads and compiles the policy exactly as the daemon does at startup.
pub fn compile_policy(cli: &Cli) -> Result<Policy, PolicyFailure> {
    let file = cli.policy.display().to_string();
    let text = std::fs::read_to_string(&cli.policy).map_err(|error| PolicyFailure::Read(file.clone(), error))?;
    let env = policy::env_provider();
    policy::compile(&file, &text, Some(&env), &CliOverrides { force_dry_run: cli.dry_run })
        .map_err(PolicyFailure::Invalid)
}

/// Why no policy is in force.
#[derive(Debug)]
pub enum PolicyFailure {
    /// The file could not be read.
    Read(String, std::io::Error),
    /// It was read and refused.
    Invalid(Diagnostics),
}

impl PolicyFailure {
    /// One line per problem.
    pub fn lines(&self) -> Vec<String> {
        match self {
            PolicyFailure::Read(file, error) => vec![format!("{file}: cannot read the policy: {error}")],
            PolicyFailure::Invalid(diagnostics) => diagnostics.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Compiles the policy for a command that acts; on failure prints every problem, logs a
/// `policy.rejected` audit event and returns the exit code.
pub fn load_for_action(cli: &Cli) -> Result<Policy, Exit> {
    match compile_policy(cli) {
        Ok(policy) => {
            audit::init(cli.log_format, policy.log_format(), policy.log_level());
            Ok(policy)
        }
        Err(failure) => {
            for line in failure.lines() {
                eprintln!("{line}");
            }
            audit::init(cli.log_format, LogFormat::Auto, LogLevel::Info);
            let count = failure.lines().len();
            let mut record = AuditRecord::new(
                AuditEventName::PolicyRejected,
                "policy.compile",
                Outcome::Failed,
                true,
                "none",
                &audit::host(),
                "none",
            );
            record.reason = Some(format!("{count} problem(s) in {}", cli.policy.display()));
            audit::emit(&record, "policy refused; nothing was touched");
            Err(Exit::Policy)
        }
    }
}

/// Opens the store named by the policy, creating its directory.
pub fn open_store(policy: &Policy) -> Result<Store, Exit> {
    let path = Path::new(policy.store_path());
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Err(error) = std::fs::create_dir_all(parent)
    {
        eprintln!("driftguard: cannot create the store directory {}: {error}", parent.display());
        return Err(Exit::Runtime);
    }
    Store::open(path).map_err(|error| {
        eprintln!("driftguard: {error}");
        Exit::Runtime
    })
}

/// Takes the store's run lock (`<store>.lock`, an exclusive advisory lock held until the
/// process ends): two runs that act (detect, janitor) on one store would decide from the
/// same state and double every cap. A second run refuses to start. The holder then
/// writes the audit records a stopped process left in the store's outbox.
pub fn lock_store(policy: &Policy, command: &str) -> Result<std::fs::File, Exit> {
    let (file, path) = lock_file(policy, command)?;
    match file.try_lock() {
        Ok(()) => {
            replay_outbox(policy, command)?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!(
                "driftguard {command}: another driftguard run holds {path} (one acting run per store at a time); nothing was done"
            );
            Err(Exit::Runtime)
        }
        Err(std::fs::TryLockError::Error(error)) => {
            eprintln!("driftguard {command}: cannot lock {path}: {error}");
            Err(Exit::Runtime)
        }
    }
}

/// The lock holder writes what a stopped process left in the store's audit outbox before
/// anything else happens (see `audit::replay`). No store yet: nothing to write, and none
/// is created (a run refused later leaves no trace).
fn replay_outbox(policy: &Policy, command: &str) -> Result<(), Exit> {
    if !Path::new(policy.store_path()).exists() {
        return Ok(());
    }
    let store = open_store(policy)?;
    audit::replay(&store).map(|_| ()).map_err(|error| {
        eprintln!("driftguard {command}: cannot read the store's audit outbox: {error}; nothing was done");
        Exit::Runtime
    })
}

/// For commands that only record (`simulate`, `ack`) and must not wait for a daemon:
/// takes the store lock if it is free (and then writes what a stopped process left in the
/// outbox), else goes on without it: the holder wrote them when it started.
pub fn lock_store_if_free(policy: &Policy, command: &str) -> Result<Option<std::fs::File>, Exit> {
    let (file, _) = lock_file(policy, command)?;
    if file.try_lock().is_err() {
        return Ok(None);
    }
    replay_outbox(policy, command)?;
    Ok(Some(file))
}

/// The store's lock file (`<store>.lock`), opened (and created with its directory).
fn lock_file(policy: &Policy, command: &str) -> Result<(std::fs::File, String), Exit> {
    let path = format!("{}.lock", policy.store_path());
    if let Some(parent) = Path::new(&path).parent().filter(|p| !p.as_os_str().is_empty())
        && let Err(error) = std::fs::create_dir_all(parent)
    {
        eprintln!("driftguard {command}: cannot create the store directory {}: {error}", parent.display());
        return Err(Exit::Runtime);
    }
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|error| {
        eprintln!("driftguard {command}: cannot open the run lock {path}: {error}");
        Exit::Runtime
    })?;
    Ok((file, path))
}

/// How a job run ended, one word for the store's `runs` row and the cycle metric: a run
/// with any failure (a refused account included) failed, whether or not a stop request
/// also cut it short.
pub fn run_status(failed: bool, interrupted: bool) -> &'static str {
    match (failed, interrupted) {
        (true, _) => "failed",
        (false, true) => "interrupted",
        (false, false) => "succeeded",
    }
}

/// An audit record for a run-level event.
pub fn run_record(
    policy: &Policy,
    run_id: &str,
    dry_run: bool,
    event: AuditEventName,
    outcome: Outcome,
) -> AuditRecord {
    AuditRecord::new(event, event.as_str(), outcome, dry_run, run_id, &audit::host(), policy.hash())
}

/// The async runtime of a one-shot command: one thread, the caller's. The command's
/// synchronous core drives it through [`Bridge::Owned`], so every task (and every
/// allocation) runs on the main thread: one malloc arena and no idle workers, 3.2 MiB less
/// peak RSS in bench/compare's phase A than two workers. The work is I/O-bound and paced,
/// so a second core buys nothing. `Err` has been said on stderr.
pub fn runtime(command: &str) -> Result<tokio::runtime::Runtime, Exit> {
    built(tokio::runtime::Builder::new_current_thread(), command)
}

/// The daemon's runtime: two workers (the machine's size) for the scheduler, the HTTP
/// listeners and the jobs' async work; each job's synchronous core runs on a blocking
/// thread and waits through [`Bridge::Shared`]. `Err` has been said on stderr.
pub fn daemon_runtime() -> Result<tokio::runtime::Runtime, Exit> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2);
    built(builder, "run")
}

/// Every driver on (I/O, time, signals for child processes).
fn built(mut builder: tokio::runtime::Builder, command: &str) -> Result<tokio::runtime::Runtime, Exit> {
    builder.enable_all().build().map_err(|error| {
        eprintln!("driftguard {command}: cannot start the async runtime: {error}");
        Exit::Runtime
    })
}

/// How a job's synchronous core waits for async work (cloud calls, terraform).
///
/// `Handle::block_on` cannot drive a current-thread runtime's I/O and timers, so a one-shot
/// command, which owns its runtime, waits through the runtime itself; a daemon job, on a
/// blocking thread of the shared multi-thread runtime, waits through its handle.
#[derive(Clone, Copy)]
pub enum Bridge<'a> {
    /// A one-shot command's own current-thread runtime, driven by the calling thread.
    Owned(&'a tokio::runtime::Runtime),
    /// The daemon's runtime, driven by its workers.
    Shared(&'a tokio::runtime::Handle),
}

impl Bridge<'_> {
    /// Runs `future` to completion on the calling thread.
    pub fn block_on<F: std::future::Future>(self, future: F) -> F::Output {
        match self {
            Bridge::Owned(runtime) => runtime.block_on(future),
            Bridge::Shared(handle) => handle.block_on(future),
        }
    }
}
