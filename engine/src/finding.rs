//! The finding state machine: states and events are closed enums, and [`step`] is a pure
//! function from (machine, event, context) to (machine, effects). It performs no I/O;
//! the runtime persists the transition first (write-ahead), then executes the effects.
//!
//! ```text
//! detected ─classify→ classified ─plan→ planned ─decide→ reported | dry_run | escalated
//!                                                       └→ remediating ─applied→ verifying ─verified→ remediated
//!                                                           ↑ retry        └apply_failed→ failed ←still_drifted┘
//!                                                           └──────────────────────────────┘ (→ escalated when spent)
//! any open state ─acknowledge→ acknowledged ─ack_expired→ detected;  open ─drift_gone→ resolved
//! detected ─ignore→ ignored.   Terminal (absorbing): remediated, resolved, ignored.
//! ```

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Severity, Step};
use crate::remediation::RemediationCall;

/// Where a finding is. Each variant's doc names the events that leave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Just found. `classify` → classified, `ignore` → ignored, `acknowledge`, `drift_gone`.
    Detected,
    /// Has a severity and a flow. `plan` → planned, `acknowledge`, `drift_gone`.
    Classified,
    /// Has its list of calls. `decide` → reported | dry_run | escalated | remediating, `acknowledge`, `drift_gone`.
    Planned,
    /// Open, reported to people only. `reevaluate` → planned, `acknowledge`, `drift_gone`.
    Reported,
    /// Open; remediation would have run but dry-run is on. `reevaluate` → planned, `acknowledge`, `drift_gone`.
    DryRun,
    /// Calls in flight. `applied` → verifying, `apply_failed` → failed.
    Remediating,
    /// Re-collecting. `verified` → remediated, `still_drifted` → failed, `drift_gone` → resolved.
    Verifying,
    /// Remediation did not take. `retry` → remediating | escalated | failed, `acknowledge`, `drift_gone`.
    Failed,
    /// Handed to people. `acknowledge`, `drift_gone`.
    Escalated,
    /// Suppressed until a date. `ack_expired` → detected, `drift_gone`.
    Acknowledged,
    /// Terminal: fixed and verified.
    Remediated,
    /// Terminal: the drift went away (or changed into a new finding).
    Resolved,
    /// Terminal: an ignore rule dropped it.
    Ignored,
}

impl State {
    /// Every state.
    pub const ALL: [State; 13] = [
        State::Detected,
        State::Classified,
        State::Planned,
        State::Reported,
        State::DryRun,
        State::Remediating,
        State::Verifying,
        State::Failed,
        State::Escalated,
        State::Acknowledged,
        State::Remediated,
        State::Resolved,
        State::Ignored,
    ];

    /// Terminal states absorb every event.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Remediated | State::Resolved | State::Ignored)
    }

    /// Calls are in flight: people cannot acknowledge it away mid-change.
    pub fn is_in_flight(self) -> bool {
        matches!(self, State::Remediating | State::Verifying)
    }

    /// The snake_case name used in the store and the logs.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Detected => "detected",
            State::Classified => "classified",
            State::Planned => "planned",
            State::Reported => "reported",
            State::DryRun => "dry_run",
            State::Remediating => "remediating",
            State::Verifying => "verifying",
            State::Failed => "failed",
            State::Escalated => "escalated",
            State::Acknowledged => "acknowledged",
            State::Remediated => "remediated",
            State::Resolved => "resolved",
            State::Ignored => "ignored",
        }
    }

    /// Parses [`State::as_str`].
    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a finding was reported rather than remediated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Hold {
    /// The flow says report.
    FlowReports,
    /// A protected tag blocks any change.
    Protected {
        /// The tag key.
        key: String,
        /// Its value.
        value: String,
    },
    /// `remediation.allow` does not cover this environment and severity.
    NotAllowed,
    /// The per-run remediation cap is spent.
    CapReached,
    /// No automatic fix exists for this drift.
    NoFix,
}

/// What happened to a finding (input to [`step`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// Classification decided severity and flow.
    Classify {
        /// Severity.
        severity: Severity,
        /// Deciding rule.
        rule: Option<String>,
        /// Flow chosen by the policy.
        flow: String,
        /// Control ids of the deciding rule (for the report).
        #[serde(default)]
        controls: Vec<String>,
    },
    /// An ignore rule matched.
    Ignore,
    /// The calls that would restore declared state.
    Plan {
        /// The calls (empty: no automatic fix).
        actions: Vec<RemediationCall>,
    },
    /// Take the flow's next step after planning.
    Decide {
        /// The planned calls.
        actions: Vec<RemediationCall>,
    },
    /// The calls succeeded.
    Applied,
    /// The calls failed.
    ApplyFailed {
        /// Why.
        reason: String,
    },
    /// A crash interrupted the calls before their outcome was recorded: the finding is
    /// planned again and decided from live state (still drifted, or gone).
    Interrupted,
    /// Re-collection shows the drift gone.
    Verified,
    /// Re-collection shows the drift still there.
    StillDrifted {
        /// What is still different.
        reason: String,
    },
    /// Try remediation again (or give up).
    Retry {
        /// The planned calls.
        actions: Vec<RemediationCall>,
    },
    /// Policy or dry-run changed: decide again.
    Reevaluate,
    /// A person acknowledged the drift.
    Acknowledge {
        /// Until when.
        until: DateTime<Utc>,
        /// Why.
        reason: String,
        /// Who.
        by: String,
    },
    /// The acknowledgement ran out.
    AckExpired,
    /// The drift is gone (or changed: a new fingerprint is a new finding).
    DriftGone,
}

impl Event {
    /// The snake_case name used in the store and the logs.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Classify { .. } => "classify",
            Event::Ignore => "ignore",
            Event::Plan { .. } => "plan",
            Event::Decide { .. } => "decide",
            Event::Applied => "applied",
            Event::ApplyFailed { .. } => "apply_failed",
            Event::Interrupted => "interrupted",
            Event::Verified => "verified",
            Event::StillDrifted { .. } => "still_drifted",
            Event::Retry { .. } => "retry",
            Event::Reevaluate => "reevaluate",
            Event::Acknowledge { .. } => "acknowledge",
            Event::AckExpired => "ack_expired",
            Event::DriftGone => "drift_gone",
        }
    }
}

/// What the runtime must do after persisting a transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    /// Run these calls against the cloud. The only mutating effect.
    Remediate {
        /// The calls.
        actions: Vec<RemediationCall>,
    },
    /// Dry-run: audit each call that would have run, change nothing.
    WouldRemediate {
        /// The calls.
        actions: Vec<RemediationCall>,
    },
    /// Re-collect the resource after the policy's verify delay.
    Verify,
    /// Report the finding (audit log and report), with why it was not fixed.
    Report {
        /// Why not fixed.
        hold: Hold,
    },
    /// Notify people.
    Escalate {
        /// Why.
        reason: String,
    },
}

impl Effect {
    /// Whether executing this effect changes anything in a cloud.
    pub fn is_mutating(&self) -> bool {
        matches!(self, Effect::Remediate { .. })
    }
}

/// A finding's machine: its state and the data that must survive transitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// Current state.
    pub state: State,
    /// Remediation attempts so far; never decreases.
    pub attempts: u32,
    /// Severity, once classified.
    pub severity: Option<Severity>,
    /// Flow name, once classified.
    pub flow: Option<String>,
    /// Acknowledged until.
    pub ack_until: Option<DateTime<Utc>>,
}

impl Machine {
    /// A freshly detected finding.
    pub fn detected() -> Self {
        Self { state: State::Detected, attempts: 0, severity: None, flow: None, ack_until: None }
    }
}

/// What [`step`] may know beyond the machine and the event: pure inputs, decided by the
/// runtime from the policy and the resource.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The steps of the finding's flow.
    pub steps: &'a [Step],
    /// The flow's attempt budget.
    pub max_attempts: u32,
    /// Simulation (policy `dry_run` or `--dry-run`).
    pub dry_run: bool,
    /// The protected tag on the resource, if any: a hard block on every change.
    pub protected: Option<(String, String)>,
    /// `remediation.allow` covers the finding's environment and severity.
    pub remediation_allowed: bool,
    /// Remediations still allowed in this run by the cap.
    pub remediations_left: u32,
}

/// An event the current state does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal transition: {event} in state {state}")]
pub struct Illegal {
    /// The state.
    pub state: State,
    /// The event's name.
    pub event: &'static str,
}

fn after(steps: &[Step], step: Step) -> Option<Step> {
    let index = steps.iter().position(|s| *s == step)?;
    steps.get(index + 1).copied()
}

/// The one transition function. Pure: same inputs, same outputs, no I/O. An unchanged
/// machine with no effect is a resting outcome (a spent retry on a flow that does not
/// escalate): nothing to persist.
#[expect(clippy::match_same_arms, reason = "one arm per edge of the graph keeps it readable")]
pub fn step(machine: &Machine, event: &Event, context: &Context<'_>) -> Result<(Machine, Vec<Effect>), Illegal> {
    use State as S;
    let illegal = || Illegal { state: machine.state, event: event.name() };
    if machine.state.is_terminal() {
        return Err(illegal());
    }
    let mut next = machine.clone();
    let mut effects = Vec::new();
    let open = !machine.state.is_in_flight() && machine.state != S::Acknowledged;
    match (machine.state, event) {
        (S::Detected, Event::Classify { severity, flow, .. }) => {
            next.state = S::Classified;
            next.severity = Some(*severity);
            next.flow = Some(flow.clone());
        }
        (S::Detected, Event::Ignore) => next.state = S::Ignored,
        (S::Classified, Event::Plan { .. }) => next.state = S::Planned,
        (S::Planned, Event::Decide { actions }) => {
            decide(&mut next, &mut effects, actions, after(context.steps, Step::Plan), context);
        }
        (S::Remediating, Event::Applied) => {
            next.state = S::Verifying;
            effects.push(Effect::Verify);
        }
        (S::Remediating, Event::ApplyFailed { .. }) | (S::Verifying, Event::StillDrifted { .. }) => {
            next.state = S::Failed;
        }
        // Back to planned: the next `decide` passes every guard again (protection,
        // remediation.allow, caps). The unconfirmed attempt stays counted.
        (S::Remediating, Event::Interrupted) => next.state = S::Planned,
        (S::Verifying, Event::Verified) => next.state = S::Remediated,
        (S::Failed, Event::Retry { actions }) => {
            if machine.attempts < context.max_attempts {
                decide(&mut next, &mut effects, actions, Some(Step::Remediate), context);
            } else if after(context.steps, Step::Verify) == Some(Step::Escalate) {
                next.state = S::Escalated;
                effects.push(Effect::Escalate {
                    reason: format!("remediation failed after {} attempts", machine.attempts),
                });
            } else {
                // Spent, and the flow does not escalate: the finding rests as failed and open
                // (no transition, no effect; a later `drift_gone` or `acknowledge` moves it).
                return Ok((next, effects));
            }
        }
        (S::Reported | S::DryRun, Event::Reevaluate) => next.state = S::Planned,
        (_, Event::Acknowledge { until, .. }) if open => {
            next.state = S::Acknowledged;
            next.ack_until = Some(*until);
        }
        (S::Acknowledged, Event::AckExpired) => {
            next.state = S::Detected;
            next.ack_until = None;
        }
        (state, Event::DriftGone) if state != S::Remediating => next.state = S::Resolved,
        _ => return Err(illegal()),
    }
    Ok((next, effects))
}

/// The decision after planning (or on retry): remediate only when every key agrees.
fn decide(
    next: &mut Machine,
    effects: &mut Vec<Effect>,
    actions: &[RemediationCall],
    step: Option<Step>,
    context: &Context<'_>,
) {
    let escalate_after_report = after(context.steps, Step::Report) == Some(Step::Escalate);
    let report = |next: &mut Machine, effects: &mut Vec<Effect>, hold: Hold| {
        effects.push(Effect::Report { hold });
        next.state = State::Reported;
        if escalate_after_report {
            effects.push(Effect::Escalate { reason: "flow escalates reported findings".to_owned() });
            next.state = State::Escalated;
        }
    };
    match step {
        Some(Step::Escalate) => {
            next.state = State::Escalated;
            effects.push(Effect::Escalate { reason: "flow escalates".to_owned() });
        }
        Some(Step::Remediate) => {
            if let Some((key, value)) = &context.protected {
                report(next, effects, Hold::Protected { key: key.clone(), value: value.clone() });
            } else if !context.remediation_allowed {
                report(next, effects, Hold::NotAllowed);
            } else if actions.is_empty() {
                next.state = State::Escalated;
                effects.push(Effect::Escalate { reason: "no automatic fix exists for this drift".to_owned() });
            } else if context.remediations_left == 0 {
                report(next, effects, Hold::CapReached);
            } else if context.dry_run {
                next.state = State::DryRun;
                effects.push(Effect::WouldRemediate { actions: actions.to_vec() });
            } else {
                next.state = State::Remediating;
                next.attempts += 1;
                effects.push(Effect::Remediate { actions: actions.to_vec() });
            }
        }
        // `report`, or a flow that (by the compiler's check) cannot reach here otherwise.
        _ => report(next, effects, Hold::FlowReports),
    }
}

#[cfg(test)]
mod tests;
