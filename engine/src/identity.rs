//! Accounts are identities: an account id in the policy is only a claim until the cloud
//! confirms it. Each job asks the cloud who its credentials are (AWS
//! `sts:GetCallerIdentity`, a GCP project's bucket listing, an Azure
//! `GET /subscriptions/{id}`) before any other call in that account, and [`judge`] turns
//! the answer into a [`Verified`] account or a [`Refusal`]. Nothing is listed, compared,
//! marked, changed or deleted in a refused account for the whole job.
//!
//! [`Verified`] has private fields and only [`judge`] makes one, so code that needs one
//! (the adapters that reach an account) cannot be handed an account nobody checked.

use crate::audit::AuditEventName;
use crate::model::Provider;

/// What the cloud said about the credentials of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account (project, subscription) the credentials reach.
    pub account: String,
    /// Who they are, when the cloud says: an AWS caller ARN, a GCP service account, an
    /// Azure application id.
    pub principal: Option<String>,
}

/// An account whose credentials were shown to reach it in this job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    provider: Provider,
    account: String,
    principal: Option<String>,
}

impl Verified {
    /// The cloud.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The verified account id (equal to the policy's).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Who the calls are made as, when known.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }
}

/// Why an account is refused for a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The credentials reach another account than the policy names.
    Mismatch {
        /// The cloud.
        provider: Provider,
        /// The policy's account.
        expected: String,
        /// The account the credentials reach.
        actual: String,
        /// Who they are.
        principal: Option<String>,
    },
    /// No answer for the account: the role could not be assumed, the credentials were
    /// refused or missing, or the project or subscription does not answer to them.
    Unreachable {
        /// The cloud.
        provider: Provider,
        /// The policy's account.
        expected: String,
        /// What went wrong, in words.
        reason: String,
    },
}

impl Refusal {
    /// The cloud.
    pub fn provider(&self) -> Provider {
        match self {
            Refusal::Mismatch { provider, .. } | Refusal::Unreachable { provider, .. } => *provider,
        }
    }

    /// The policy's account.
    pub fn account(&self) -> &str {
        match self {
            Refusal::Mismatch { expected, .. } | Refusal::Unreachable { expected, .. } => expected,
        }
    }

    /// The audit event that records it.
    pub fn event(&self) -> AuditEventName {
        match self {
            Refusal::Mismatch { .. } => AuditEventName::AccountIdentityMismatch,
            Refusal::Unreachable { .. } => AuditEventName::AccountUnreachable,
        }
    }

    /// `identity_mismatch` or `unreachable` (metric label).
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::Mismatch { .. } => "identity_mismatch",
            Refusal::Unreachable { .. } => "unreachable",
        }
    }

    /// In words, for the audit record's reason and the summary.
    pub fn describe(&self) -> String {
        match self {
            Refusal::Mismatch { provider, expected, actual, principal } => format!(
                "{} {expected}: the credentials reach {actual}{}, not {expected}; nothing is listed, compared or \
                 changed there in this job",
                noun(*provider),
                principal.as_deref().map(|p| format!(" as {p}")).unwrap_or_default()
            ),
            Refusal::Unreachable { provider, expected, reason } => format!(
                "{} {expected} could not be verified ({reason}); nothing is listed, compared or changed there in \
                 this job",
                noun(*provider)
            ),
        }
    }
}

fn noun(provider: Provider) -> &'static str {
    match provider {
        Provider::Aws => "AWS account",
        Provider::Gcp => "GCP project",
        Provider::Azure => "Azure subscription",
    }
}

/// Decides an account from the cloud's answer. Account ids compare exactly, except Azure
/// subscription ids (GUIDs), which compare case-insensitively as ARM does.
pub fn judge(provider: Provider, expected: &str, answer: Result<Caller, String>) -> Result<Verified, Refusal> {
    match answer {
        Err(reason) => Err(Refusal::Unreachable { provider, expected: expected.to_owned(), reason }),
        Ok(caller) => {
            let same = match provider {
                Provider::Azure => caller.account.eq_ignore_ascii_case(expected),
                Provider::Aws | Provider::Gcp => caller.account == expected,
            };
            if same && !expected.is_empty() {
                Ok(Verified { provider, account: expected.to_owned(), principal: caller.principal })
            } else {
                Err(Refusal::Mismatch {
                    provider,
                    expected: expected.to_owned(),
                    actual: caller.account,
                    principal: caller.principal,
                })
            }
        }
    }
}

/// The AWS account of a caller ARN (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(account: &str) -> Caller {
        Caller { account: account.to_owned(), principal: Some(format!("arn:aws:sts::{account}:assumed-role/r/s")) }
    }

    #[test]
    fn the_table() {
        let verified = judge(Provider::Aws, "111111111111", Ok(caller("111111111111"))).unwrap();
        assert_eq!(verified.account(), "111111111111");
        assert_eq!(verified.principal(), Some("arn:aws:sts::111111111111:assumed-role/r/s"));
        let refused = judge(Provider::Aws, "333333333333", Ok(caller("444444444444"))).unwrap_err();
        assert_eq!(refused.event(), AuditEventName::AccountIdentityMismatch);
        assert_eq!(
            refused.describe(),
            "AWS account 333333333333: the credentials reach 444444444444 as \
             arn:aws:sts::444444444444:assumed-role/r/s, not 333333333333; nothing is listed, compared or changed \
             there in this job"
        );
        let unreachable = judge(Provider::Gcp, "p", Err("PERMISSION_DENIED".into())).unwrap_err();
        assert_eq!(unreachable.event(), AuditEventName::AccountUnreachable);
        assert_eq!(unreachable.kind(), "unreachable");
        let guid = "AAAAAAAA-0000-0000-0000-000000000000";
        assert!(judge(Provider::Azure, guid, Ok(caller(&guid.to_lowercase()))).is_ok(), "GUIDs ignore case");
        assert!(judge(Provider::Aws, "", Ok(caller(""))).is_err(), "an empty id is never verified");
        assert_eq!(arn_account("arn:aws:sts::444444444444:assumed-role/r/s"), Some("444444444444"));
        assert_eq!(arn_account("nonsense"), None);
    }
}
