//! The deletion of one resource as a state machine with a pure step function. The runtime
//! persists every transition before carrying out its effect (write-ahead), so a crash at
//! any point leaves the store saying where the deletion stands; the next run continues
//! from there and never repeats a completed step.
//!
//! ```text
//! marked ──delete──▶ phase1 ──iac ok──▶ verifying ──gone──▶ deleted ──came back──▶ revenant
//!    │                  │                   │ still there
//!    │                  └──iac failed───────┴──────────▶ phase2 ──api ok / NotFound──▶ deleted
//!    └─(no workdir or no iac phase)──────────────────────▶ phase2 ──api failed──▶ failed
//! ```
//! `failed` and `blocked` are retried from the start by a later run; `deleted`,
//! `unmarked` and `revenant` end the item.

use serde::{Deserialize, Serialize};

/// Where a resource's deletion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Tagged for deletion; the grace period runs.
    Marked,
    /// The IaC destroy runs (intent persisted before it starts).
    Phase1,
    /// Phase 1 ended; the cloud API says what is really gone.
    Verifying,
    /// Direct API deletion runs (intent persisted before it starts).
    Phase2,
    /// Gone, and seen gone.
    Deleted,
    /// A deletion step failed; a later run starts again.
    Failed,
    /// A cap held it back this run.
    Blocked,
    /// It stopped qualifying; the mark was removed.
    Unmarked,
    /// Deleted, then listed again: something recreated it.
    Revenant,
}

impl ItemState {
    /// Every state.
    pub const ALL: [ItemState; 9] = [
        ItemState::Marked,
        ItemState::Phase1,
        ItemState::Verifying,
        ItemState::Phase2,
        ItemState::Deleted,
        ItemState::Failed,
        ItemState::Blocked,
        ItemState::Unmarked,
        ItemState::Revenant,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Marked => "marked",
            ItemState::Phase1 => "phase1",
            ItemState::Verifying => "verifying",
            ItemState::Phase2 => "phase2",
            ItemState::Deleted => "deleted",
            ItemState::Failed => "failed",
            ItemState::Blocked => "blocked",
            ItemState::Unmarked => "unmarked",
            ItemState::Revenant => "revenant",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// Whether a deletion step is under way (a crash here is resumed).
    pub fn in_flight(self) -> bool {
        matches!(self, ItemState::Phase1 | ItemState::Verifying | ItemState::Phase2)
    }
}

impl std::fmt::Display for ItemState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum ItemEvent {
    /// The mark tag was written.
    Marked,
    /// Its grace period is over: start deleting. `phase1` says whether the IaC phase
    /// applies (the policy has it and the resource has a working directory).
    Delete {
        /// Whether phase 1 runs.
        phase1: bool,
    },
    /// Phase 1 ended (exit 0).
    IacSucceeded,
    /// Phase 1 failed, timed out or hit a state lock.
    IacFailed {
        /// Why.
        reason: String,
    },
    /// The API no longer lists it.
    Gone,
    /// The API still lists it.
    StillThere,
    /// Direct deletion succeeded (or answered NotFound: already gone).
    ApiDeleted,
    /// Direct deletion failed.
    ApiFailed {
        /// Why.
        reason: String,
    },
    /// A cap held it back.
    Held {
        /// Which cap.
        reason: String,
    },
    /// It stopped qualifying; the mark was removed.
    Unmarked {
        /// Why.
        reason: String,
    },
    /// Listed again after deletion.
    Reappeared,
}

impl ItemEvent {
    /// The snake_case name, as stored and logged.
    pub fn name(&self) -> &'static str {
        match self {
            ItemEvent::Marked => "marked",
            ItemEvent::Delete { .. } => "delete",
            ItemEvent::IacSucceeded => "iac_succeeded",
            ItemEvent::IacFailed { .. } => "iac_failed",
            ItemEvent::Gone => "gone",
            ItemEvent::StillThere => "still_there",
            ItemEvent::ApiDeleted => "api_deleted",
            ItemEvent::ApiFailed { .. } => "api_failed",
            ItemEvent::Held { .. } => "held",
            ItemEvent::Unmarked { .. } => "unmarked",
            ItemEvent::Reappeared => "reappeared",
        }
    }

    /// The reason it carries, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ItemEvent::IacFailed { reason }
            | ItemEvent::ApiFailed { reason }
            | ItemEvent::Held { reason }
            | ItemEvent::Unmarked { reason } => Some(reason),
            _ => None,
        }
    }
}

/// What the runtime must do next, after persisting the transition (under dry-run, after
/// recording it in memory only). The machine carries dry-run itself: a simulation never
/// gets a mutating effect, only its `Would…` twin, which the runtime audits as simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemEffect {
    /// Run the IaC destroy in the resource's working directory.
    RunIac,
    /// Dry-run: record the IaC destroy that would run; what it would leave is unknown.
    WouldRunIac,
    /// Ask the API whether it is still there.
    CheckGone,
    /// Delete it through the API, in dependency order.
    DeleteViaApi,
    /// Dry-run: record the API deletion that would run.
    WouldDeleteViaApi,
    /// Nothing more this run.
    Rest,
}

impl ItemEffect {
    /// Whether carrying it out changes anything in a cloud.
    pub fn is_mutating(self) -> bool {
        matches!(self, ItemEffect::RunIac | ItemEffect::DeleteViaApi)
    }
}

/// An event the machine does not accept in a state: a bug in the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event} is not legal in state {state}")]
pub struct IllegalItemEvent {
    /// The state.
    pub state: String,
    /// The event.
    pub event: &'static str,
}

/// The reason of the `IacFailed` that ends a destroy a crash interrupted: not a failure
/// of the destroy (the next run decides from what the cloud shows).
pub const INTERRUPTED: &str = "interrupted";

/// A deletion that a transition settles, for the metrics: which phase (`iac`, `api`) and
/// how it ended (`succeeded`, `failed`). Who removed a resource is read off the state it
/// left from; an interrupted destroy is neither.
pub fn deletion_outcome(from: Option<ItemState>, event: &ItemEvent) -> Option<(&'static str, &'static str)> {
    match (from, event) {
        (Some(ItemState::Verifying | ItemState::Phase1), ItemEvent::Gone) => Some(("iac", "succeeded")),
        (_, ItemEvent::IacFailed { reason }) if reason != INTERRUPTED => Some(("iac", "failed")),
        (Some(ItemState::Phase2), ItemEvent::Gone | ItemEvent::ApiDeleted) => Some(("api", "succeeded")),
        (_, ItemEvent::ApiFailed { .. }) => Some(("api", "failed")),
        _ => None,
    }
}

/// The pure step: `None` is an item not yet known to the store. Under `dry_run` the same
/// states are reached, but no effect mutates: the destroy and the deletion are only
/// recorded (their `Would…` twins), and a simulated destroy is not checked afterwards.
pub fn step(
    state: Option<ItemState>,
    event: &ItemEvent,
    dry_run: bool,
) -> Result<(ItemState, ItemEffect), IllegalItemEvent> {
    let (next, effect) = step_real(state, event)?;
    let effect = match (dry_run, effect) {
        (true, ItemEffect::RunIac) => ItemEffect::WouldRunIac,
        (true, ItemEffect::DeleteViaApi) => ItemEffect::WouldDeleteViaApi,
        (true, ItemEffect::CheckGone) => ItemEffect::Rest,
        (_, effect) => effect,
    };
    Ok((next, effect))
}

fn step_real(state: Option<ItemState>, event: &ItemEvent) -> Result<(ItemState, ItemEffect), IllegalItemEvent> {
    use ItemEffect as E;
    use ItemState as S;
    let restartable = |s: Option<S>| matches!(s, None | Some(S::Marked | S::Failed | S::Blocked | S::Unmarked));
    let next = match (state, event) {
        (s, ItemEvent::Marked) if restartable(s) || s == Some(S::Revenant) => (S::Marked, E::Rest),
        // Deletion starts only from a mark (or a reviewed plan: the plan is the mark).
        (s, ItemEvent::Delete { phase1: true }) if restartable(s) => (S::Phase1, E::RunIac),
        (s, ItemEvent::Delete { phase1: false }) if restartable(s) => (S::Phase2, E::DeleteViaApi),
        (Some(S::Phase1), ItemEvent::IacSucceeded) => (S::Verifying, E::CheckGone),
        (Some(S::Phase1), ItemEvent::IacFailed { .. }) | (Some(S::Verifying), ItemEvent::StillThere) => {
            (S::Phase2, E::DeleteViaApi)
        }
        (Some(S::Verifying | S::Phase1 | S::Phase2), ItemEvent::Gone) | (Some(S::Phase2), ItemEvent::ApiDeleted) => {
            (S::Deleted, E::Rest)
        }
        (Some(S::Phase2), ItemEvent::ApiFailed { .. }) => (S::Failed, E::Rest),
        // Also mid-deletion: a resumed deletion counts against the caps like any other, and
        // one the caps (or a longer grace period) now hold back waits, however far it got.
        (s, ItemEvent::Held { .. }) if restartable(s) || s.is_some_and(S::in_flight) => (S::Blocked, E::Rest),
        // Also mid-deletion: a resumed deletion re-checks the hard blocks first, and a
        // resource that gained protection since is left alone, however far it got.
        (
            Some(S::Marked | S::Blocked | S::Failed | S::Phase1 | S::Verifying | S::Phase2),
            ItemEvent::Unmarked { .. },
        ) => (S::Unmarked, E::Rest),
        (Some(S::Deleted), ItemEvent::Reappeared) => (S::Revenant, E::Rest),
        (state, event) => {
            return Err(IllegalItemEvent {
                state: state.map_or_else(|| "none".to_owned(), |s| s.as_str().to_owned()),
                event: event.name(),
            });
        }
    };
    Ok(next)
}
