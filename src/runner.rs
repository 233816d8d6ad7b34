//! The finding runner: feeds detected drift through the pure state machine and carries
//! out what it decides. For every transition, in this order: persist it (write-ahead
//! intent, effects pending), emit its audit event, execute its effects, mark them done.
//! A crash between any two of these leaves the store saying what is still to do.

use chrono::{DateTime, Utc};
use driftguard_engine::audit::{AuditEventName, AuditRecord, Outcome};
use driftguard_engine::finding::{self, Context, Effect, Event, Hold, Machine, State};
use driftguard_engine::model::{FindingKind, Provider};
use driftguard_engine::next::{Seen, context, ignored, next_event};
use driftguard_engine::policy::Policy;
use driftguard_engine::remediation::RemediationCall;
use driftguard_engine::report::{DetectedDrift, ReportFinding};
use driftguard_store::{EffectsStatus, FindingRecord, OutboxState, Store, StoreError, TransitionRecord};

use crate::audit::{self, OutboxSubject};

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The state machine refused an event the runner produced: a bug, reported loudly.
    #[error("finding {finding}: {source}")]
    Illegal {
        /// The finding.
        finding: String,
        /// The refusal.
        source: finding::Illegal,
    },
    /// Stored data does not parse.
    #[error("finding {0}: stored state is not one this driftguard knows")]
    UnknownState(String),
    /// A transition's stored effects do not read (e.g. a call no executor makes).
    #[error("finding {finding}: the stored effects of transition {seq} do not read: {reason}")]
    UnreadableEffects {
        /// The finding.
        finding: String,
        /// The transition.
        seq: i64,
        /// Why.
        reason: String,
    },
}

/// Identity of one run (one job execution).
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Unique id, on every audit event and transition of the run.
    pub run_id: String,
    /// Host name.
    pub host: String,
    /// Simulation.
    pub dry_run: bool,
}

/// Carries out remediation calls (the cloud adapter, behind a trait so the runner stays
/// testable and cloud-agnostic).
pub trait Executor {
    /// Runs one call for a finding (its account and region say where); `Err` says why it failed.
    fn execute(&mut self, finding: &FindingRecord, call: &RemediationCall) -> Result<(), Failure>;

    /// Who the calls for this finding are made as (its account's verified caller), for
    /// the audit record.
    fn principal(&self, finding: &FindingRecord) -> Option<String> {
        let _ = finding;
        None
    }
}

/// Why a remediation call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// For the audit log and the finding.
    pub reason: String,
    /// The target answered NotFound: it was deleted after collection. Retrying is
    /// pointless; the finding resolves and the resource is reported missing instead.
    pub target_gone: bool,
}

impl Failure {
    /// A failure that may be retried on a later attempt.
    pub fn other(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), target_gone: false }
    }
}

/// Drives findings for one run.
pub struct Runner<'a> {
    policy: &'a Policy,
    store: &'a mut Store,
    info: RunInfo,
    now: DateTime<Utc>,
    remediations_left: u32,
    executor: Option<&'a mut dyn Executor>,
    /// Outcome of the last remediation per finding, turned into the next event.
    applied: std::collections::HashMap<String, Result<(), String>>,
    /// Findings left in `verifying`, with their drift, for [`Runner::verify`].
    verifying: Vec<(FindingRecord, DetectedDrift)>,
    /// Findings whose remediation target turned out to be gone (see [`Failure::target_gone`]).
    gone: Vec<FindingRecord>,
    /// What this run has to tell people and dashboards, as values (never read off the log).
    notes: RunNotes,
}

/// A finding a flow escalated in this run.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    /// The finding.
    pub finding: FindingRecord,
    /// Why (the machine's `Escalate` effect).
    pub reason: String,
}

/// What a run has to tell: escalations (webhooks) and remediation calls by outcome
/// (metrics: `attempted`, `succeeded`, `failed`, `unknown`, `simulated`).
#[derive(Debug, Clone, Default)]
pub struct RunNotes {
    /// Findings escalated, in order.
    pub escalations: Vec<Escalation>,
    /// Remediation calls by outcome.
    pub remediations: std::collections::BTreeMap<&'static str, u64>,
}

impl RunNotes {
    fn call(&mut self, outcome: Outcome) {
        let label = match outcome {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Unknown => "unknown",
            Outcome::Simulated => "simulated",
            Outcome::Blocked | Outcome::Noted => return,
        };
        if outcome != Outcome::Simulated {
            *self.remediations.entry("attempted").or_default() += 1;
        }
        *self.remediations.entry(label).or_default() += 1;
    }
}

impl std::fmt::Debug for Runner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("run_id", &self.info.run_id).finish_non_exhaustive()
    }
}

/// A finding in progress: its stored row and its machine.
struct Tracked {
    record: FindingRecord,
    machine: Machine,
    drift: DetectedDrift,
    controls: Vec<String>,
}

impl<'a> Runner<'a> {
    /// A runner for one run.
    pub fn new(policy: &'a Policy, store: &'a mut Store, info: RunInfo, now: DateTime<Utc>) -> Self {
        let remediations_left = policy.protection().max_remediations_per_run;
        Self {
            policy,
            store,
            info,
            now,
            remediations_left,
            executor: None,
            applied: std::collections::HashMap::new(),
            verifying: Vec::new(),
            gone: Vec::new(),
            notes: RunNotes::default(),
        }
    }

    /// What this run has to tell, taken once (escalations, remediation calls by outcome).
    pub fn take_notes(&mut self) -> RunNotes {
        std::mem::take(&mut self.notes)
    }

    /// Findings whose target answered NotFound during this run, taken once: the caller
    /// reports those resources as missing.
    pub fn take_gone(&mut self) -> Vec<FindingRecord> {
        std::mem::take(&mut self.gone)
    }

    /// Lets the runner remediate through this executor (without one, remediation is refused).
    pub fn with_executor(mut self, executor: &'a mut dyn Executor) -> Self {
        self.executor = Some(executor);
        self
    }

    /// Findings waiting for verification (re-collection by the caller).
    pub fn awaiting_verification(&self) -> &[(FindingRecord, DetectedDrift)] {
        &self.verifying
    }

    /// Feeds verification results: `still_drifted` holds the fingerprints that a fresh
    /// collection still shows. Returns the report entries of the verified findings.
    pub fn verify(
        &mut self,
        still_drifted: &std::collections::HashSet<String>,
    ) -> Result<Vec<ReportFinding>, RunError> {
        let waiting = std::mem::take(&mut self.verifying);
        let mut entries = Vec::new();
        for (record, drift) in waiting {
            let machine = machine_of(&record)?;
            let mut tracked = Tracked { record, machine, drift, controls: Vec::new() };
            let event = if still_drifted.contains(&tracked.record.fingerprint) {
                Event::StillDrifted { reason: "the drift is still there after remediation".to_owned() }
            } else {
                Event::Verified
            };
            self.apply_event(&mut tracked, &event)?;
            self.advance(&mut tracked)?;
            entries.push(Self::report_entry(&tracked, tracked.record.fingerprint.clone()));
        }
        Ok(entries)
    }

    /// Open findings of these scopes that this run did not see again: their drift is gone.
    pub fn resolve_absent(
        &mut self,
        seen: &std::collections::HashSet<String>,
        in_scope: &dyn Fn(&FindingRecord) -> bool,
    ) -> Result<usize, RunError> {
        let open: Vec<&str> = State::ALL.iter().filter(|s| !s.is_terminal()).map(|s| s.as_str()).collect();
        let mut resolved = 0;
        for record in self.store.findings_in_states_where(&open, |fingerprint| !seen.contains(fingerprint))? {
            if !in_scope(&record) {
                continue;
            }
            // Remediating and not seen: a crash interrupted its calls in an earlier run and
            // the drift is gone since (the fix took): close the attempt, then resolve.
            let interrupted = record.state == State::Remediating.as_str();
            let machine = machine_of(&record)?;
            let drift = DetectedDrift {
                provider: match record.provider.as_str() {
                    "gcp" => Provider::Gcp,
                    "azure" => Provider::Azure,
                    _ => Provider::Aws,
                },
                account: record.account.clone(),
                region: record.region.clone(),
                resource_type: record.resource_type.clone(),
                resource_id: record.resource_id.clone(),
                address: record.address.clone(),
                kind: FindingKind::Modified,
                attribute: None,
                expected: None,
                actual: None,
                tags: std::collections::BTreeMap::new(),
                actions: Vec::new(),
            };
            let mut tracked = Tracked { record, machine, drift, controls: Vec::new() };
            if interrupted {
                self.settle(&tracked.record, true)?;
                self.apply_event(&mut tracked, &Event::Interrupted)?;
            }
            self.apply_event(&mut tracked, &Event::DriftGone)?;
            resolved += 1;
        }
        Ok(resolved)
    }

    /// Steps one event through the machine with the finding's context and carries it out.
    fn apply_event(&mut self, tracked: &mut Tracked, event: &Event) -> Result<(), RunError> {
        let context = self.context(tracked);
        match finding::step(&tracked.machine, event, &context) {
            Ok((next, effects)) => self.transition(tracked, event, next, &effects, None),
            Err(source) => Err(RunError::Illegal { finding: tracked.record.id.clone(), source }),
        }
    }

    fn context(&self, tracked: &Tracked) -> Context<'a> {
        context(self.policy, &tracked.machine, &tracked.drift, self.info.dry_run, self.remediations_left)
    }

    /// Closes the effects of transitions a crashed run persisted but did not complete.
    /// Their audit records are in the store's outbox, written at process start
    /// ([`audit::replay`]). A remediation whose outcome is unknown is not repeated
    /// blindly: it is marked failed, and the next detection of the drift decides again
    /// from live state (and settles the record of the call in doubt, [`Runner::settle`]).
    pub fn resume(&mut self) -> Result<usize, RunError> {
        let pending = self.store.pending_effects()?;
        for transition in &pending {
            let Some(seq) = transition.seq else { continue };
            let effects: Vec<Effect> = serde_json::from_value(transition.effects.clone()).map_err(|error| {
                RunError::UnreadableEffects { finding: transition.finding_id.clone(), seq, reason: error.to_string() }
            })?;
            let interrupted_remediation = effects.iter().any(|effect| matches!(effect, Effect::Remediate { .. }));
            let (status, outcome) = if interrupted_remediation {
                (EffectsStatus::Failed, Some("interrupted: outcome unknown, decided again from live state"))
            } else {
                (EffectsStatus::Done, Some("resumed after interruption"))
            };
            self.store.complete_effects(seq, status, outcome)?;
        }
        Ok(pending.len())
    }

    /// Settles the records of this finding's calls a stopped process left in doubt:
    /// `took` is what live state shows (the drift is gone: the fix took).
    fn settle(&mut self, finding: &FindingRecord, took: bool) -> Result<(), RunError> {
        let mine = subject(finding);
        for (_, entry) in audit::in_doubt(self.store, |subject| *subject == mine)? {
            let (outcome, reason) = if took {
                (Outcome::Succeeded, "confirmed after an interruption: the drift is gone")
            } else {
                (Outcome::Failed, "interrupted; the drift is still there, so the call did not take effect")
            };
            audit::settle(self.store, &entry, outcome, reason)?;
            self.notes.call(outcome);
        }
        Ok(())
    }

    /// Processes one detected drift to a resting state and returns its report entry.
    pub fn process(&mut self, drift: &DetectedDrift) -> Result<ReportFinding, RunError> {
        let fingerprint = drift.fingerprint();
        let base_id = format!("f-{}", &fingerprint[..16]);
        let existing = self.store.findings_by_fingerprint(&fingerprint)?;
        let open = existing.iter().find(|record| State::parse(&record.state).is_some_and(|s| !s.is_terminal()));
        let still_ignored =
            |record: &&FindingRecord| record.state == State::Ignored.as_str() && ignored(self.policy, drift);
        if open.is_none()
            && let Some(record) = existing.iter().rev().find(still_ignored)
        {
            // Ignored drift stays ignored while the policy ignores it: no new occurrence per run.
            let machine = machine_of(record)?;
            let tracked = Tracked { record: record.clone(), machine, drift: drift.clone(), controls: Vec::new() };
            return Ok(Self::report_entry(&tracked, fingerprint));
        }
        let mut tracked = if let Some(record) = open {
            let machine = machine_of(record)?;
            Tracked { record: record.clone(), machine, drift: drift.clone(), controls: Vec::new() }
        } else {
            // Same drift after a terminal state is a new occurrence with its own id.
            let id = if existing.is_empty() { base_id } else { format!("{base_id}-{}", existing.len() + 1) };
            let record = FindingRecord {
                id,
                fingerprint: fingerprint.clone(),
                provider: drift.provider.as_str().to_owned(),
                account: drift.account.clone(),
                region: drift.region.clone(),
                resource_type: drift.resource_type.clone(),
                resource_id: drift.resource_id.clone(),
                address: drift.address.clone(),
                kind: drift.kind.as_str().to_owned(),
                attribute: drift.attribute.clone().unwrap_or_default(),
                severity: None,
                flow: None,
                state: State::Detected.as_str().to_owned(),
                attempts: 0,
                detail: serde_json::json!({"expected": drift.expected, "actual": drift.actual, "tags": drift.tags}),
                created_at: self.now,
                updated_at: self.now,
            };
            let mut tracked =
                Tracked { record, machine: Machine::detected(), drift: drift.clone(), controls: Vec::new() };
            self.persist_detection(&mut tracked)?;
            tracked
        };
        self.advance(&mut tracked)?;
        Ok(Self::report_entry(&tracked, fingerprint))
    }

    fn report_entry(tracked: &Tracked, fingerprint: String) -> ReportFinding {
        let drift = &tracked.drift;
        ReportFinding {
            id: tracked.record.id.clone(),
            fingerprint,
            provider: drift.provider,
            account: drift.account.clone(),
            region: drift.region.clone(),
            resource_type: drift.resource_type.clone(),
            address: drift.address.clone(),
            resource_id: drift.resource_id.clone(),
            kind: drift.kind,
            attribute: drift.attribute.clone(),
            expected: drift.expected.clone(),
            actual: drift.actual.clone(),
            severity: tracked.machine.severity,
            controls: tracked.controls.clone(),
            state: tracked.machine.state,
            actions: drift.actions.clone(),
        }
    }

    /// Moves a finding forward until it rests (needs time, people, or a later run): the
    /// core chooses each event ([`next_event`]) from what this run has seen of it.
    fn advance(&mut self, tracked: &mut Tracked) -> Result<(), RunError> {
        // Bounded: each state is passed at most once per run on the way to rest.
        for _ in 0..State::ALL.len() * 2 {
            let drift = tracked.drift.clone();
            let id = tracked.record.id.as_str();
            let seen = Seen {
                drift: &drift,
                dry_run: self.info.dry_run,
                target_gone: self.gone.iter().any(|r| r.id == id),
                applied: self.applied.get(id),
                queued_for_verification: self.verifying.iter().any(|(r, _)| r.id == id),
                now: self.now,
            };
            let Some(event) = next_event(self.policy, &tracked.machine, &seen) else { return Ok(()) };
            match &event {
                Event::Classify { controls, .. } => tracked.controls.clone_from(controls),
                // This outcome is consumed: a retry's calls bring their own.
                Event::Applied | Event::ApplyFailed { .. } => {
                    self.applied.remove(&tracked.record.id);
                }
                // The calls a crash interrupted did not take: settle their record in doubt.
                Event::Interrupted => self.settle(&tracked.record, false)?,
                _ => {}
            }
            let context = self.context(tracked);
            let rule = match &event {
                Event::Classify { rule, .. } => rule.clone(),
                _ => None,
            };
            match finding::step(&tracked.machine, &event, &context) {
                // A resting outcome (a spent retry on a flow that does not escalate): the
                // finding stays where it is, nothing to persist.
                Ok((next, effects)) if next == tracked.machine && effects.is_empty() => return Ok(()),
                Ok((next, effects)) => self.transition(tracked, &event, next, &effects, rule)?,
                Err(source) => return Err(RunError::Illegal { finding: tracked.record.id.clone(), source }),
            }
        }
        Ok(())
    }

    fn persist_detection(&mut self, tracked: &mut Tracked) -> Result<(), RunError> {
        let transition = self.transition_record(&tracked.record.id, "none", State::Detected.as_str(), "detect", &[]);
        let mut record =
            self.audit_base(&tracked.record, AuditEventName::FindingTransition, "transition", Outcome::Noted);
        record.to_state = Some(State::Detected.as_str().to_owned());
        record.from_state = Some("none".to_owned());
        let message = format!("finding {} detected on {}", tracked.record.id, tracked.record.resource_id);
        let entries = [audit::entry(&record, &message, &subject(&tracked.record), OutboxState::Ready)];
        self.store.record_transition_audited(&tracked.record, &transition, &entries)?;
        audit::deliver(self.store, &entries)?;
        Ok(())
    }

    fn transition_record(
        &self,
        finding: &str,
        from: &str,
        to: &str,
        event: &str,
        effects: &[Effect],
    ) -> TransitionRecord {
        TransitionRecord {
            seq: None,
            run_id: self.info.run_id.clone(),
            finding_id: finding.to_owned(),
            at: self.now,
            from_state: from.to_owned(),
            to_state: to.to_owned(),
            event: event.to_owned(),
            effects: serde_json::to_value(effects).unwrap_or_default(),
            effects_status: EffectsStatus::None,
            outcome: None,
            dry_run: self.info.dry_run,
            policy_hash: self.policy.hash().to_owned(),
        }
    }

    fn audit_base(
        &self,
        finding: &FindingRecord,
        event: AuditEventName,
        action: &str,
        outcome: Outcome,
    ) -> AuditRecord {
        AuditRecord {
            event_id: None,
            event,
            action: action.to_owned(),
            outcome,
            dry_run: self.info.dry_run,
            run_id: self.info.run_id.clone(),
            host: self.info.host.clone(),
            policy_hash: self.policy.hash().to_owned(),
            provider: Some(finding.provider.clone()),
            account: Some(finding.account.clone()),
            principal: None,
            actual_account: None,
            region: Some(finding.region.clone()),
            resource_type: Some(finding.resource_type.clone()),
            resource_id: Some(finding.resource_id.clone()),
            finding_id: Some(finding.id.clone()),
            rule: finding.flow.clone(),
            severity: finding.severity.clone(),
            from_state: None,
            to_state: None,
            reason: None,
        }
    }

    fn transition(
        &mut self,
        tracked: &mut Tracked,
        event: &Event,
        next: Machine,
        effects: &[Effect],
        rule: Option<String>,
    ) -> Result<(), RunError> {
        let from = tracked.machine.state;
        next.state.as_str().clone_into(&mut tracked.record.state);
        tracked.record.attempts = next.attempts;
        tracked.record.severity = next.severity.map(|s| s.as_str().to_owned());
        tracked.record.flow.clone_from(&next.flow);
        tracked.record.updated_at = self.now;
        let transition =
            self.transition_record(&tracked.record.id, from.as_str(), next.state.as_str(), event.name(), effects);
        let mut record =
            self.audit_base(&tracked.record, AuditEventName::FindingTransition, "transition", Outcome::Noted);
        record.from_state = Some(from.as_str().to_owned());
        record.to_state = Some(next.state.as_str().to_owned());
        if let Some(rule) = rule {
            record.rule = Some(rule);
        }
        record.reason = effects.iter().find_map(|effect| match effect {
            Effect::Report { hold } => Some(hold_reason(hold)),
            Effect::Escalate { reason } => Some(reason.clone()),
            _ => None,
        });
        let message = format!("finding {} {} -> {} ({})", tracked.record.id, from, next.state, event.name());
        let subject = subject(&tracked.record);
        let mut entries = vec![audit::entry(&record, &message, &subject, OutboxState::Ready)];
        // Would-be calls are records only: stored with the transition that decided them.
        for effect in effects {
            if let Effect::WouldRemediate { actions } = effect {
                for action in actions {
                    let record = self.action_record(&tracked.record, action, Outcome::Simulated);
                    let message = format!("dry-run: would call {} on {}", action.api(), action.target());
                    entries.push(audit::entry(&record, &message, &subject, OutboxState::Ready));
                    self.notes.call(Outcome::Simulated);
                }
            }
        }
        // Write-ahead: the transition, its pending effects and its records are durable
        // before any effect runs.
        let seq = self.store.record_transition_audited(&tracked.record, &transition, &entries)?;
        tracked.machine = next;
        audit::deliver(self.store, &entries)?;

        // The effects, each matched: the only interface between the machine and the world.
        for effect in effects {
            match effect {
                Effect::Remediate { actions } => self.remediate(&tracked.record, actions)?,
                // Both are records, stored and written with the transition above.
                Effect::WouldRemediate { .. } | Effect::Report { .. } => {}
                Effect::Verify => self.verifying.push((tracked.record.clone(), tracked.drift.clone())),
                Effect::Escalate { reason } => {
                    self.notes.escalations.push(Escalation { finding: tracked.record.clone(), reason: reason.clone() });
                }
            }
        }
        if !effects.is_empty() {
            self.store.complete_effects(seq, EffectsStatus::Done, None)?;
        }
        Ok(())
    }

    /// Makes a finding's calls, each recorded in doubt before it is made and settled
    /// with its answer after ([`audit::call`]); the first failure ends the attempt.
    fn remediate(&mut self, finding: &FindingRecord, actions: &[RemediationCall]) -> Result<(), RunError> {
        self.remediations_left = self.remediations_left.saturating_sub(1);
        let mut outcome = Ok(());
        for action in actions {
            let record = self.action_record(finding, action, Outcome::Succeeded);
            let message = format!("called {} on {}", action.api(), action.target());
            let executor = &mut self.executor;
            let mut failure = None;
            let result = audit::call(self.store, &record, &message, &subject(finding), || {
                // Never pretend: without an adapter the call is refused and audited so.
                let result = match executor.as_deref_mut() {
                    Some(executor) => executor.execute(finding, action),
                    None => Err(Failure::other("no provider adapter available")),
                };
                result.map_err(|error| {
                    let reason = error.reason.clone();
                    failure = Some(error);
                    reason
                })
            })?;
            self.notes.call(if result.is_ok() { Outcome::Succeeded } else { Outcome::Failed });
            if result.is_err()
                && let Some(failure) = failure
            {
                if failure.target_gone {
                    self.gone.push(finding.clone());
                }
                outcome = Err(format!("{}: {}", action.api(), failure.reason));
                break;
            }
        }
        self.applied.insert(finding.id.clone(), outcome);
        Ok(())
    }

    fn action_record(&self, finding: &FindingRecord, action: &RemediationCall, outcome: Outcome) -> AuditRecord {
        let mut record = self.audit_base(finding, AuditEventName::CloudMutation, action.api(), outcome);
        record.resource_id = Some(action.target().to_owned());
        record.principal = self.executor.as_deref().and_then(|executor| executor.principal(finding));
        record
    }
}

/// The outbox subject of a finding's records.
fn subject(finding: &FindingRecord) -> OutboxSubject {
    OutboxSubject::Finding(finding.id.clone())
}

fn hold_reason(hold: &Hold) -> String {
    match hold {
        Hold::FlowReports => "flow reports this finding".to_owned(),
        Hold::Protected { key, value } => format!("protected by tag {key}={value}"),
        Hold::NotAllowed => "remediation.allow does not cover this environment and severity".to_owned(),
        Hold::CapReached => "max_remediations_per_run reached".to_owned(),
        Hold::NoFix => "no automatic fix exists".to_owned(),
    }
}

/// Rebuilds a machine from its stored row.
pub fn machine_of(record: &FindingRecord) -> Result<Machine, RunError> {
    let state = State::parse(&record.state).ok_or_else(|| RunError::UnknownState(record.id.clone()))?;
    let severity = match record.severity.as_deref() {
        None => None,
        Some(text) => Some(
            driftguard_engine::model::Severity::ALL
                .into_iter()
                .find(|s| s.as_str() == text)
                .ok_or_else(|| RunError::UnknownState(record.id.clone()))?,
        ),
    };
    let ack_until = record.detail.get("ack_until").and_then(|v| v.as_str()).and_then(|t| t.parse().ok());
    Ok(Machine { state, attempts: record.attempts, severity, flow: record.flow.clone(), ack_until })
}
