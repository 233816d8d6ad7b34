//! Which event a finding meets next in a run. The runner gathers what the run has seen of
//! it ([`Seen`]) and carries the answer through [`crate::finding::step`]; the choice itself
//! is this pure function of the policy, the finding's machine and those facts, so that
//! "what happens to a finding" is decided in one place and tested as a table.

use chrono::{DateTime, Utc};

use crate::finding::{Context, Event, Machine, State};
use crate::model::{FindingKind, Step};
use crate::policy::{Policy, Subject};
use crate::report::DetectedDrift;

/// What this run knows about one finding.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// The drift as this run detected it (with its planned calls).
    pub drift: &'a DetectedDrift,
    /// The run simulates.
    pub dry_run: bool,
    /// A call of this run found the target gone.
    pub target_gone: bool,
    /// The outcome of this run's calls for it, when it made any since it last entered
    /// `remediating` (none: a crash interrupted them in an earlier run).
    pub applied: Option<&'a Result<(), String>>,
    /// Its `Verify` effect queued it for this run's re-collection.
    pub queued_for_verification: bool,
    /// The run's clock.
    pub now: DateTime<Utc>,
}

/// The next event for a finding in `machine`'s state, or `None` when it rests (it waits
/// for time, people or a later run, or its state is terminal).
pub fn next_event(policy: &Policy, machine: &Machine, seen: &Seen<'_>) -> Option<Event> {
    let drift = seen.drift;
    Some(match machine.state {
        State::Detected if ignored(policy, drift) => Event::Ignore,
        State::Detected => {
            let subject = Subject {
                provider: drift.provider,
                resource_type: &drift.resource_type,
                attribute: drift.attribute.as_deref(),
                kind: drift.kind,
                environment: policy.environment(drift.provider, &drift.account, &drift.tags),
                severity: machine.severity,
                tags: &drift.tags,
                actual: drift.actual.as_ref(),
            };
            let classified = policy.classification().classify(&subject);
            let flow = policy.flow_for(&Subject { severity: Some(classified.severity), ..subject });
            Event::Classify {
                severity: classified.severity,
                rule: classified.rule,
                flow: flow.name.clone(),
                controls: classified.controls,
            }
        }
        State::Classified => Event::Plan { actions: drift.actions.clone() },
        State::Planned => Event::Decide { actions: drift.actions.clone() },
        // Held back by the flow, a guard or dry-run: a run that acts decides again.
        State::Reported | State::DryRun if !seen.dry_run => Event::Reevaluate,
        // The target vanished: this drift is gone with it (a missing finding follows).
        State::Failed if seen.target_gone => Event::DriftGone,
        State::Failed => Event::Retry { actions: drift.actions.clone() },
        State::Remediating => match seen.applied {
            Some(Ok(())) => Event::Applied,
            Some(Err(reason)) => Event::ApplyFailed { reason: reason.clone() },
            // Interrupted in an earlier run and detected again now: the live state says
            // the fix did not take. Decide again.
            None => Event::Interrupted,
        },
        // Queued by its `Verify` effect: the re-collection decides.
        State::Verifying if seen.queued_for_verification => return None,
        // Left verifying by an interrupted run and detected again now: this run's
        // collection is the re-collection, and it still shows the drift.
        State::Verifying => Event::StillDrifted {
            reason: "the drift is still there after remediation (verified after an interruption)".to_owned(),
        },
        State::Acknowledged => match machine.ack_until {
            Some(until) if until <= seen.now => Event::AckExpired,
            _ => return None,
        },
        State::Reported | State::DryRun | State::Escalated | State::Remediated | State::Resolved | State::Ignored => {
            return None;
        }
    })
}

/// The context a finding's events are stepped in: its flow's steps and attempt budget, and
/// the guards the policy sets on it (a protected tag; `remediation.allow` for its
/// environment and severity), with the run's simulation switch and remaining cap.
pub fn context<'p>(
    policy: &'p Policy,
    machine: &Machine,
    drift: &DetectedDrift,
    dry_run: bool,
    remediations_left: u32,
) -> Context<'p> {
    let environment = policy.environment(drift.provider, &drift.account, &drift.tags);
    let max_attempts =
        machine.flow.as_deref().and_then(|name| policy.flow_named(name)).map_or(1, |flow| flow.max_attempts);
    Context {
        steps: steps(policy, machine.flow.as_deref()),
        max_attempts,
        dry_run,
        protected: policy.protection().protected_by(&drift.tags),
        remediation_allowed: machine
            .severity
            .is_some_and(|severity| policy.remediation().allows(environment, severity)),
        remediations_left,
    }
}

/// The steps of the flow with this name (none when the policy no longer has it).
pub fn steps<'p>(policy: &'p Policy, flow: Option<&str>) -> &'p [Step] {
    flow.and_then(|name| policy.flow_named(name)).map_or(&[], |flow| flow.steps.as_slice())
}

/// An ignore rule covers this attribute's drift (ignore rules name attributes, so they
/// never hide a missing or unmanaged resource).
pub fn ignored(policy: &Policy, drift: &DetectedDrift) -> bool {
    drift.kind == FindingKind::Modified
        && drift
            .attribute
            .as_deref()
            .is_some_and(|attribute| policy.classification().is_ignored(&drift.resource_type, attribute))
}

#[cfg(test)]
mod tests;
