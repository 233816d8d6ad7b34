//! The janitor's rules beyond selection, pure: over what was listed and read, they decide;
//! the runtime only gathers the facts and carries the answers out.
//!
//! - [`trusted_mark`]: a mark counts only when the janitor's store recorded making it.
//! - [`phase1_allowed`]: phase 1 runs only in a listed working directory whose state holds
//!   nothing but this run's candidates.
//! - [`recheck`]: right before deleting, every hard block again, on a fresh listing.
//! - [`resume`]: what becomes of a deletion a crash interrupted, given this run's decision.
//! - [`Call`], [`settle`], [`iac_verdict`]: the one record of a call a crash left in doubt,
//!   from what the cloud (or the working directory's state) shows now.

use chrono::{DateTime, Utc};
use driftguard_engine::audit::Outcome;
use driftguard_engine::model::JanitorTarget;
use driftguard_engine::policy::Policy;
use driftguard_engine::tfstate::StateFile;

use crate::decide::{Decision, fingerprint};
use crate::known::Managed;
use crate::machine::{INTERRUPTED, ItemEvent, ItemState};
use crate::{Resource, Skip, Verdict, select};

/// Whether a mark tag on a resource in this store state was written by this janitor: the
/// store says it marked it (marked, held by a cap, failed) or is deleting it. A mark copied
/// by a launch template, a restore or a person would otherwise skip the grace period.
pub fn trusted_mark(state: Option<ItemState>) -> bool {
    state.is_some_and(|state| {
        matches!(state, ItemState::Marked | ItemState::Blocked | ItemState::Failed) || state.in_flight()
    })
}

/// Removes an untrusted mark from a listed resource (so a candidate is marked afresh and
/// anything else left alone); `true` when there was one.
pub fn drop_untrusted_mark(policy: &Policy, resource: &mut Resource, state: Option<ItemState>) -> bool {
    !trusted_mark(state) && resource.tags.remove(&policy.janitor().mark_tag).is_some()
}

/// What the runtime found out about a phase-1 working directory.
#[derive(Debug, Clone, Copy)]
pub struct WorkdirFacts<'a> {
    /// It is one of `janitor.iac.workdirs` (compared as canonical paths).
    pub listed: bool,
    /// Its `terraform.tfstate`, as a path for messages.
    pub state_path: &'a str,
    /// That state file is one of `terraform.states`.
    pub known_state: bool,
    /// Its local state, read and parsed (or why not).
    pub state: Result<&'a StateFile, &'a str>,
}

/// Whether phase 1 may run in `dir` for the candidates `ids`: the directory is one the
/// policy lists (a resource's tag only chooses among them; it never names a path), its
/// state is local, readable and none of the policy's states, and every resource in it
/// belongs to one of the candidates (the destroy removes the whole root module, so one
/// stranger in it refuses phase 1 and the candidates go through phase 2 alone).
pub fn phase1_allowed(dir: &str, facts: &WorkdirFacts<'_>, ids: &[&str]) -> Result<(), String> {
    if !facts.listed {
        return Err(format!("working directory {dir} is not one of janitor.iac.workdirs"));
    }
    if facts.known_state {
        return Err(format!("{} is one of terraform.states: never destroyed", facts.state_path));
    }
    let state = facts.state.map_err(str::to_owned)?;
    let strangers: Vec<&str> = state
        .resources
        .iter()
        .filter(|resource| !resource.attributes.texts().iter().any(|(_, value)| ids.contains(&value.as_ref())))
        .map(|resource| resource.address.as_str())
        .collect();
    if strangers.is_empty() {
        Ok(())
    } else {
        Err(format!("its state also holds {} (not candidates of this run)", strangers.join(", ")))
    }
}

/// The verdict of the re-check right before a deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// No longer listed: something else removed it.
    Gone,
    /// Still a candidate, unchanged, holding nothing protected: delete it.
    Proceed,
    /// Blocked now (a protection tag added meanwhile wins), with why.
    Block(String),
}

/// Every hard block again, on a fresh listing: `listed` is the resource as listed now
/// (whether a state manages it is decided here, from `managed`), `contents` what deleting
/// it would delete too (an Azure resource group's resources), or why they could not be
/// listed.
pub fn recheck(
    policy: &Policy,
    planned: &Resource,
    listed: Option<&Resource>,
    contents: Option<&Result<Vec<Resource>, String>>,
    managed: &Managed,
    now: DateTime<Utc>,
) -> Recheck {
    let Some(listed) = listed else { return Recheck::Gone };
    let listed = &Resource { managed: managed.manages(listed), ..listed.clone() };
    match select(policy, listed, now) {
        Verdict::Skip(skip) => return Recheck::Block(skip.describe()),
        Verdict::Candidate { .. } if fingerprint(policy, listed) != fingerprint(policy, planned) => {
            return Recheck::Block("changed during this run (tags, protection or managed state)".to_owned());
        }
        Verdict::Candidate { .. } => {}
    }
    contents_block(policy, contents, managed).map_or(Recheck::Proceed, Recheck::Block)
}

/// Why what a resource holds blocks its deletion: a contained resource with a protected tag
/// or managed by a known state, or contents that could not be listed.
fn contents_block(
    policy: &Policy,
    contents: Option<&Result<Vec<Resource>, String>>,
    managed: &Managed,
) -> Option<String> {
    match contents? {
        Err(error) => Some(format!("its contents could not be listed: {error}")),
        Ok(held) => held.iter().find_map(|inner| {
            if let Some((key, value)) = policy.protection().protected_by(&inner.tags) {
                Some(format!("it holds {} protected by tag {key}={value}", inner.name))
            } else if managed.holds(&inner.id) {
                Some(format!("it holds {}, managed by a known Terraform state", inner.name))
            } else {
                None
            }
        }),
    }
}

/// What becomes of a deletion a crash interrupted (its item is in flight), given this
/// run's decision about the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// Still qualifies and fits under the caps: finish through the API (the IaC run is not
    /// repeated), after this event moves the item to phase 2, if it is not there yet.
    Finish(Option<ItemEvent>),
    /// A cap or a longer grace period now holds it back: it waits, however far it got.
    Hold(String),
    /// It stopped qualifying: unmark it.
    Unmark(Skip),
    /// Nothing to do (a decision that cannot meet an in-flight item).
    Leave,
}

/// See [`Resume`].
pub fn resume(state: ItemState, decision: &Decision) -> Resume {
    match decision {
        Decision::Delete { .. } => Resume::Finish(match state {
            ItemState::Phase1 => Some(ItemEvent::IacFailed { reason: INTERRUPTED.into() }),
            ItemState::Verifying => Some(ItemEvent::StillThere),
            _ => None,
        }),
        Decision::Wait { .. } | Decision::Held { .. } => {
            Resume::Hold(format!("interrupted deletion held back: {}", decision.name()))
        }
        Decision::Skip { skip } | Decision::Unmark { skip } => Resume::Unmark(skip.clone()),
        Decision::Mark => Resume::Leave,
    }
}

/// A janitor call whose record may be left in doubt: its action name is what the audit
/// record says (`tag:mark`, `tag:unmark`, `delete:TYPE`), and what settlement reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Write the mark tag `tag=value`.
    Mark {
        /// The tag.
        tag: String,
        /// The value written.
        value: String,
    },
    /// Remove the mark tag.
    Unmark {
        /// The tag.
        tag: String,
    },
    /// Delete the resource through the API.
    Delete(JanitorTarget),
}

impl Call {
    /// The record's `action`.
    pub fn action(&self) -> String {
        match self {
            Call::Mark { .. } => "tag:mark".to_owned(),
            Call::Unmark { .. } => "tag:unmark".to_owned(),
            Call::Delete(target) => format!("delete:{}", target.as_str()),
        }
    }

    /// The record's `reason`: what a tag call wrote (`Key=Value`) or removed (`Key`).
    pub fn detail(&self) -> Option<String> {
        match self {
            Call::Mark { tag, value } => Some(format!("{tag}={value}")),
            Call::Unmark { tag } => Some(tag.clone()),
            Call::Delete(_) => None,
        }
    }

    /// The call a stored record tells of (its `action` and `reason`), if it is one.
    pub fn of_record(action: &str, reason: Option<&str>) -> Option<Call> {
        if let Some(kind) = action.strip_prefix("delete:") {
            let target = JanitorTarget::ALL.into_iter().find(|t| t.as_str() == kind)?;
            return Some(Call::Delete(target));
        }
        let detail = reason.unwrap_or_default();
        match action {
            "tag:mark" => {
                let (tag, value) = detail.split_once('=')?;
                Some(Call::Mark { tag: tag.to_owned(), value: value.to_owned() })
            }
            "tag:unmark" => Some(Call::Unmark { tag: detail.to_owned() }),
            _ => None,
        }
    }
}

/// How a call left in doubt is settled, from what the cloud shows now: `listed` is the
/// resource as this run listed it (absent: not listed); `exists` is the API's answer when
/// asked directly (`None`: not asked, or no answer). `None` leaves the record in doubt for
/// a later run.
pub fn settle(call: &Call, listed: Option<&Resource>, known: bool, exists: Option<bool>) -> Option<(Outcome, String)> {
    match call {
        Call::Delete(_) => match (listed, known, exists) {
            (Some(_), _, _) => Some((
                Outcome::Failed,
                "interrupted; the resource is still listed, so the deletion did not complete".to_owned(),
            )),
            (None, true, Some(false)) => {
                Some((Outcome::Succeeded, "confirmed after an interruption: the resource is gone".to_owned()))
            }
            (None, true, Some(true)) => Some((
                Outcome::Failed,
                "interrupted; the resource is still there, so the deletion did not complete".to_owned(),
            )),
            (None, true, None) => None,
            (None, false, _) => {
                Some((Outcome::Unknown, "interrupted; the resource is neither listed nor in the store".to_owned()))
            }
        },
        Call::Mark { tag, .. } | Call::Unmark { tag } if listed.is_some() => {
            let now = listed.and_then(|resource| resource.tags.get(tag)).map(String::as_str);
            let took = match call {
                Call::Mark { value, .. } => now == Some(value.as_str()),
                _ => now.is_none(),
            };
            let detail = call.detail().unwrap_or_default();
            Some(if took {
                (Outcome::Succeeded, format!("confirmed after an interruption: {detail} is as the call left it"))
            } else {
                (
                    Outcome::Failed,
                    format!("interrupted; {detail} is not as the call would leave it, so it did not take effect"),
                )
            })
        }
        Call::Mark { .. } | Call::Unmark { .. } => Some((
            Outcome::Unknown,
            "interrupted; the resource is no longer listed, so whether the tag was written is unknown".to_owned(),
        )),
    }
}

/// What a destroy interrupted in a working directory did, read from the state it rewrites
/// as it goes (`state` names the file, or says why it could not be read).
pub fn iac_verdict(name: &str, state: Result<&StateFile, String>) -> (Outcome, String) {
    match state {
        Ok(state) if state.resources.is_empty() => {
            (Outcome::Succeeded, format!("confirmed after an interruption: {name} holds no resources"))
        }
        Ok(state) => {
            (Outcome::Failed, format!("interrupted; {name} still holds {} resource(s)", state.resources.len()))
        }
        Err(error) => (Outcome::Unknown, format!("interrupted; {name} cannot tell what was destroyed: {error}")),
    }
}
