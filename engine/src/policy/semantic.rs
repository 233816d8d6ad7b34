//! Cross-field checks: what no single field can know. Each returns the path it concerns
//! (in the coordinates of the deserialised [`PolicyFile`]) and a message.

use std::collections::HashMap;

use super::checks::parse_duration;
use super::diag::Seg;
use super::diag::did_you_mean;
use super::raw::{POLICY_VERSION, PolicyFile, StateBackend};
use crate::model::{JanitorPhase, JanitorTarget, Step};

type Problems = Vec<(Vec<Seg>, String)>;

fn path(parts: &[&str]) -> Vec<Seg> {
    parts.iter().map(|part| Seg::Key((*part).to_owned())).collect()
}

fn at(mut base: Vec<Seg>, tail: &[Seg]) -> Vec<Seg> {
    base.extend_from_slice(tail);
    base
}

fn key(name: &str) -> Seg {
    Seg::Key(name.to_owned())
}

/// Runs every cross-field check.
///
/// `poisoned` says whether a path lies in a list element the compiler had to trim (a
/// wrong type inside it): such elements are left out of checks that compare elements.
pub(crate) fn check(policy: &PolicyFile, poisoned: &dyn Fn(&[Seg]) -> bool) -> Problems {
    let mut problems = Vec::new();
    if policy.version != POLICY_VERSION {
        problems.push((
            path(&["version"]),
            format!("unsupported policy version {}; this DriftGuard reads version {POLICY_VERSION}", policy.version),
        ));
    }
    check_retry(policy, &mut problems);
    check_states(policy, &mut problems);
    check_providers(policy, &mut problems);
    check_unique_names(
        "classification rule",
        policy.classification.rules.iter().map(|rule| rule.name.as_str()),
        &["classification", "rules"],
        &mut problems,
    );
    check_flows(policy, poisoned, &mut problems);
    check_janitor(policy, &mut problems);
    problems
}

fn check_retry(policy: &PolicyFile, problems: &mut Problems) {
    let retry = &policy.retry;
    if let (Ok(base), Ok(max)) = (parse_duration(&retry.base_delay), parse_duration(&retry.max_delay))
        && max < base
    {
        problems.push((
            path(&["retry", "max_delay"]),
            format!("max_delay ({}) is below base_delay ({})", retry.max_delay, retry.base_delay),
        ));
    }
}

fn check_unique_names<'a>(what: &str, names: impl Iterator<Item = &'a str>, list: &[&str], problems: &mut Problems) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (index, name) in names.enumerate() {
        if name.is_empty() {
            continue;
        }
        if let Some(earlier) = first.get(name) {
            problems.push((
                at(path(list), &[Seg::Index(index), key("name")]),
                format!("duplicate {what} name {name:?} (also {}[{earlier}])", list.join(".")),
            ));
        } else {
            first.insert(name, index);
        }
    }
}

fn check_states(policy: &PolicyFile, problems: &mut Problems) {
    check_unique_names(
        "state source",
        policy.terraform.states.iter().map(|state| state.name.as_str()),
        &["terraform", "states"],
        problems,
    );
    for (index, state) in policy.terraform.states.iter().enumerate() {
        let here = at(path(&["terraform", "states"]), &[Seg::Index(index)]);
        match state.backend {
            StateBackend::Local => {
                if state.paths.is_empty() {
                    problems.push((at(here.clone(), &[key("paths")]), "a local state source needs paths".to_owned()));
                }
                for field in ["bucket", "key", "region"] {
                    let set = match field {
                        "bucket" => state.bucket.is_some(),
                        "key" => state.key.is_some(),
                        _ => state.region.is_some(),
                    };
                    if set {
                        problems.push((
                            at(here.clone(), &[key(field)]),
                            format!("{field} applies to backend s3, but this source is local"),
                        ));
                    }
                }
            }
            StateBackend::S3 => {
                for (field, value) in [("bucket", &state.bucket), ("key", &state.key), ("region", &state.region)] {
                    if value.as_deref().is_none_or(str::is_empty) {
                        problems.push((at(here.clone(), &[key(field)]), format!("an s3 state source needs {field}")));
                    }
                }
                if !state.paths.is_empty() {
                    problems.push((
                        at(here.clone(), &[key("paths")]),
                        "paths apply to backend local, but this source is s3".to_owned(),
                    ));
                }
            }
        }
    }
}

/// STS accepts session durations from 15 minutes to 12 hours.
const SESSION_MIN: std::time::Duration = std::time::Duration::from_mins(15);
const SESSION_MAX: std::time::Duration = std::time::Duration::from_hours(12);

fn check_providers(policy: &PolicyFile, problems: &mut Problems) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, account) in policy.providers.aws.iter().enumerate() {
        let here = at(path(&["providers", "aws"]), &[Seg::Index(index)]);
        if let Some(earlier) = seen.insert(account.account.as_str(), index) {
            problems.push((
                at(here.clone(), &[key("account")]),
                format!("account {:?} is listed twice (also providers.aws[{earlier}])", account.account),
            ));
        }
        if let Some(text) = account.assume_role.as_ref().and_then(|role| role.duration.as_deref())
            && let Ok(duration) = parse_duration(text)
            && !(SESSION_MIN..=SESSION_MAX).contains(&duration)
        {
            problems.push((
                at(here, &[key("assume_role"), key("duration")]),
                format!("{text} is outside what STS accepts for a role session: 15m to 12h"),
            ));
        }
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, project) in policy.providers.gcp.iter().enumerate() {
        if let Some(earlier) = seen.insert(project.project.as_str(), index) {
            problems.push((
                at(path(&["providers", "gcp"]), &[Seg::Index(index), key("project")]),
                format!("project {:?} is listed twice (also providers.gcp[{earlier}])", project.project),
            ));
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, subscription) in policy.providers.azure.iter().enumerate() {
        let here = at(path(&["providers", "azure"]), &[Seg::Index(index)]);
        if let Some(earlier) = seen.insert(subscription.subscription.to_lowercase(), index) {
            problems.push((
                at(here.clone(), &[key("subscription")]),
                format!(
                    "subscription {:?} is listed twice (also providers.azure[{earlier}])",
                    subscription.subscription
                ),
            ));
        }
        match (&subscription.tenant_id, &subscription.client_id) {
            (Some(_), None) => problems.push((
                at(here.clone(), &[key("tenant_id")]),
                "tenant_id needs client_id: both name the service principal to sign in as".to_owned(),
            )),
            (None, Some(_)) => problems.push((
                at(here.clone(), &[key("client_id")]),
                "client_id needs tenant_id: both name the service principal to sign in as".to_owned(),
            )),
            (None, None) if subscription.client_secret_env.is_some() => problems.push((
                at(here.clone(), &[key("client_secret_env")]),
                "client_secret_env needs tenant_id and client_id: whose secret it is".to_owned(),
            )),
            _ => {}
        }
    }
}

fn check_flows(policy: &PolicyFile, poisoned: &dyn Fn(&[Seg]) -> bool, problems: &mut Problems) {
    if policy.flows.is_empty() {
        problems.push((
            path(&["flows"]),
            "no flows: every finding needs a path; add at least a catch-all flow, e.g. steps [classify, plan, report]"
                .to_owned(),
        ));
        return;
    }
    check_unique_names("flow", policy.flows.iter().map(|flow| flow.name.as_str()), &["flows"], problems);
    let mut catch_all: Option<usize> = None;
    let mut any_poisoned = false;
    for (index, flow) in policy.flows.iter().enumerate() {
        let here = at(path(&["flows"]), &[Seg::Index(index)]);
        if poisoned(&here) {
            any_poisoned = true;
            continue;
        }
        if let Some(earlier) = catch_all {
            problems.push((
                at(here.clone(), &[key("name")]),
                format!(
                    "flow {:?} is unreachable: flows[{earlier}] ({:?}) before it matches every finding",
                    flow.name, policy.flows[earlier].name
                ),
            ));
        }
        let matcher = &flow.matcher;
        let matches_all = matcher.provider.is_empty()
            && matcher.resource_type.is_empty()
            && matcher.attribute.is_empty()
            && matcher.kind.is_empty()
            && matcher.environment.is_empty()
            && matcher.severity.is_empty()
            && matcher.tags.is_empty()
            && matcher.actual_matches.is_none();
        if matches_all && catch_all.is_none() {
            catch_all = Some(index);
        }
        if let Some(problem) = check_steps(&flow.steps) {
            let (step_index, message) = problem;
            problems.push((at(here, &[key("steps"), Seg::Index(step_index)]), message));
        }
    }
    if catch_all.is_none() && !any_poisoned {
        let last = policy.flows.len() - 1;
        problems.push((
            at(path(&["flows"]), &[Seg::Index(last), key("match")]),
            "no flow matches every finding: end the list with a catch-all flow (no match conditions)".to_owned(),
        ));
    }
}

fn list(steps: &[Step]) -> String {
    let names: Vec<&str> = steps.iter().map(|step| step.as_str()).collect();
    match names.as_slice() {
        [] => "nothing".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Checks that the steps are a legal path through the finding state graph.
pub(crate) fn check_steps(steps: &[Step]) -> Option<(usize, String)> {
    let mut previous: Option<Step> = None;
    for (index, step) in steps.iter().enumerate() {
        let legal = Step::successors(previous);
        if !legal.contains(step) {
            let message = match previous {
                None => format!("a flow must start with classify, not {step}"),
                Some(prev) if legal.is_empty() => format!("{step} cannot follow {prev}: {prev} ends a flow"),
                Some(prev) => format!("{step} cannot follow {prev}; after {prev} comes {}", list(legal)),
            };
            return Some((index, message));
        }
        previous = Some(*step);
    }
    match previous {
        Some(last) if !last.may_end() => Some((
            steps.len() - 1,
            format!("a flow cannot end with {last}; after {last} comes {}", list(Step::successors(Some(last)))),
        )),
        _ => None,
    }
}

fn check_janitor(policy: &PolicyFile, problems: &mut Problems) {
    let janitor = &policy.janitor;
    for (resource_type, cap) in &policy.protection.caps.max_deletions_per_type {
        if *cap < 1 {
            problems.push((
                path(&["protection", "caps", "max_deletions_per_type", resource_type]),
                format!("lower than 1: a cap of {cap} deletes nothing; remove the type from janitor.targets instead"),
            ));
        }
        let known = JanitorTarget::ALL.map(JanitorTarget::as_str);
        if !known.contains(&resource_type.as_str()) {
            let hint = did_you_mean(resource_type, known.iter().copied())
                .map_or_else(|| format!("; known: {}", known.join(", ")), |s| format!("; did you mean {s:?}?"));
            problems.push((
                path(&["protection", "caps", "max_deletions_per_type", resource_type]),
                format!("unknown janitor resource type {resource_type:?}{hint}"),
            ));
        }
    }
    let mut seen_phase: Option<JanitorPhase> = None;
    for (index, phase) in janitor.phases.iter().enumerate() {
        if seen_phase == Some(*phase) || (seen_phase == Some(JanitorPhase::Api) && *phase == JanitorPhase::Iac) {
            problems.push((
                at(path(&["janitor", "phases"]), &[Seg::Index(index)]),
                "phases run once each, iac before api".to_owned(),
            ));
        }
        seen_phase = Some(*phase);
    }
    if !janitor.enabled {
        return;
    }
    if policy.protection.name_prefix.as_deref().is_none_or(|prefix| prefix.trim().is_empty()) {
        let place = if policy.protection.name_prefix.is_some() {
            path(&["protection", "name_prefix"])
        } else {
            path(&["janitor", "enabled"])
        };
        problems.push((
            place,
            "the janitor needs protection.name_prefix: it only ever deletes resources whose name carries it".to_owned(),
        ));
    }
    if policy.protection.tags.is_empty() {
        problems.push((
            path(&["janitor", "enabled"]),
            "the janitor needs at least one protection.tags rule (e.g. key Environment, values [production])"
                .to_owned(),
        ));
    }
    if janitor.targets.is_empty() {
        problems.push((path(&["janitor", "targets"]), "the janitor is enabled but has no targets".to_owned()));
    }
    let allow = &janitor.delete_allowlist;
    if allow.aws.is_empty() && allow.gcp.is_empty() && allow.azure.is_empty() {
        problems.push((
            path(&["janitor", "delete_allowlist"]),
            "the janitor is enabled but may delete nowhere: list accounts, projects or subscriptions".to_owned(),
        ));
    }
    for (index, account) in allow.aws.iter().enumerate() {
        if !policy.providers.aws.iter().any(|known| &known.account == account) {
            problems.push((
                at(path(&["janitor", "delete_allowlist", "aws"]), &[Seg::Index(index)]),
                format!("account {account:?} may be deleted in but is not scanned: add it to providers.aws"),
            ));
        }
    }
    for (index, project) in allow.gcp.iter().enumerate() {
        if !policy.providers.gcp.iter().any(|known| &known.project == project) {
            problems.push((
                at(path(&["janitor", "delete_allowlist", "gcp"]), &[Seg::Index(index)]),
                format!("project {project:?} may be deleted in but is not scanned: add it to providers.gcp"),
            ));
        }
    }
    for (index, subscription) in allow.azure.iter().enumerate() {
        if !policy.providers.azure.iter().any(|known| &known.subscription == subscription) {
            problems.push((
                at(path(&["janitor", "delete_allowlist", "azure"]), &[Seg::Index(index)]),
                format!(
                    "subscription {subscription:?} may be deleted in but is not scanned: add it to providers.azure"
                ),
            ));
        }
    }
}
