//! Accounts are identities. Before any other call in an account, each job asks the cloud
//! who its credentials are there ([`driftguard_engine::identity`] judges the answer). A
//! refused account (another account, or none) is out of the job: nothing is listed,
//! compared, marked, changed or deleted in it, an `account.identity_mismatch` or
//! `account.unreachable` record says why, and the job's outcome carries the refusal (the
//! one-shot commands exit 1; the daemon counts it, announces it and reports not ready).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use driftguard_engine::audit::{AuditEventName, Outcome};
use driftguard_engine::identity::{Refusal, Verified};
use driftguard_engine::model::Provider;
use driftguard_engine::policy::{Account, Policy};
use driftguard_providers::aws::identity::AwsSession;

use super::{JobEnv, run_record};
use crate::audit;
use crate::job::Bridge;

/// AWS sessions kept between the jobs of one process, so that assumed-role credentials are
/// reused (and refreshed before they expire by the SDK's identity cache) rather than
/// requested again by every job. Keyed by everything that makes a session: a reload that
/// changes an account's identity settings gets a new one.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, AwsSession>>);

impl std::fmt::Debug for Sessions {
    // Only how many: a session holds credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.lock().map_or(0, |sessions| sessions.len());
        write!(f, "Sessions({count})")
    }
}

impl Sessions {
    async fn get(&self, account: &Account) -> AwsSession {
        let key = format!("{}|{:?}|{:?}|{:?}", account.id, account.identity, account.endpoint, account.regions.first());
        if let Some(session) = self.0.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return session.clone();
        }
        let session = AwsSession::open(account).await;
        self.0.lock().unwrap_or_else(PoisonError::into_inner).entry(key).or_insert(session).clone()
    }
}

/// A verified AWS account with the session its clients are built from.
#[derive(Debug, Clone)]
pub struct AwsReach {
    /// The policy's account.
    pub account: Account,
    /// What verification found.
    pub verified: Verified,
    /// Its credentials and endpoint.
    pub session: AwsSession,
}

/// Verifies the job's AWS accounts (all at once; each account's calls go at its own pace).
pub fn verify_aws(
    runtime: Bridge<'_>,
    env: &JobEnv,
    policy: &Policy,
    accounts: &[&Account],
) -> Vec<Result<AwsReach, Refusal>> {
    runtime.block_on(async {
        let checks = accounts.iter().map(|account| async move {
            let session = env.sessions.get(account).await;
            let calls = env.calls(policy, Provider::Aws, &account.id);
            let verified = session.verify(&account.id, &calls).await?;
            Ok(AwsReach { account: (*account).clone(), verified, session })
        });
        futures_util::future::join_all(checks).await
    })
}

/// The operation that verifies an account of this cloud (the refusal record's action).
fn operation(provider: Provider) -> &'static str {
    match provider {
        Provider::Aws => driftguard_providers::aws::identity::VERIFY_OPERATION,
        Provider::Gcp => driftguard_providers::gcp::janitor::VERIFY_OPERATION,
        Provider::Azure => driftguard_providers::azure::janitor::VERIFY_OPERATION,
    }
}

/// Writes the record of a refused account.
fn record_refusal(policy: &Policy, run_id: &str, refusal: &Refusal) {
    let outcome = match refusal {
        Refusal::Mismatch { .. } => Outcome::Blocked,
        Refusal::Unreachable { .. } => Outcome::Failed,
    };
    let mut record = run_record(policy, run_id, policy.dry_run(), refusal.event(), outcome);
    operation(refusal.provider()).clone_into(&mut record.action);
    record.provider = Some(refusal.provider().as_str().to_owned());
    record.account = Some(refusal.account().to_owned());
    if let Refusal::Mismatch { actual, principal, .. } = refusal {
        record.actual_account = Some(actual.clone());
        record.principal.clone_from(principal);
    }
    record.reason = Some(refusal.describe());
    let message = match refusal.event() {
        AuditEventName::AccountIdentityMismatch => format!("account {} refused: identity mismatch", refusal.account()),
        _ => format!("account {} refused: unreachable", refusal.account()),
    };
    audit::emit(&record, &message);
}

/// Keeps what the identity checks reached (each with its [`Verified`] account), in order;
/// records every refusal. What a job builds adapters from.
pub fn admit<T>(
    policy: &Policy,
    run_id: &str,
    checks: Vec<Result<T, Refusal>>,
    verified: impl Fn(&T) -> &Verified,
) -> (Vec<T>, Checked) {
    let mut admitted = Vec::new();
    let mut checked = Checked::default();
    for check in checks {
        checked.note(check.as_ref().map(&verified));
        match check {
            Ok(reached) => admitted.push(reached),
            Err(refusal) => record_refusal(policy, run_id, &refusal),
        }
    }
    (admitted, checked)
}

/// What a job's identity checks found, for its outcome: the accounts verified and the
/// refusals (the daemon's readiness and announcements read both).
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// `(provider, account)` of every verified account.
    pub verified: Vec<(Provider, String)>,
    /// Every refusal.
    pub refused: Vec<Refusal>,
}

impl Checked {
    /// Notes one verification.
    pub fn note(&mut self, result: Result<&Verified, &Refusal>) {
        match result {
            Ok(verified) => self.verified.push((verified.provider(), verified.account().to_owned())),
            Err(refusal) => self.refused.push(refusal.clone()),
        }
    }

    /// One line per refusal, for the one-shot summary.
    pub fn lines(&self) -> Vec<String> {
        self.refused.iter().map(|refusal| format!("refused   {}", refusal.describe())).collect()
    }
}

/// The policy's accounts of one cloud within a job's scope.
pub fn in_scope<'p>(policy: &'p Policy, env: &JobEnv, provider: Provider) -> Vec<&'p Account> {
    policy.accounts().iter().filter(|account| account.provider == provider && env.covers(&account.id)).collect()
}
