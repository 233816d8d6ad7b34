use proptest::prelude::*;

use super::*;
use crate::remediation::AwsCall;

const REMEDIATE_FLOW: &[Step] = &[Step::Classify, Step::Plan, Step::Remediate, Step::Verify, Step::Escalate];
const FLOWS: &[&[Step]] = &[
    REMEDIATE_FLOW,
    &[Step::Classify, Step::Plan, Step::Remediate, Step::Verify],
    &[Step::Classify, Step::Plan, Step::Report],
    &[Step::Classify, Step::Plan, Step::Report, Step::Escalate],
    &[Step::Classify, Step::Plan, Step::Escalate],
];

fn action() -> RemediationCall {
    AwsCall::InstanceMonitoring { instance_id: "i-1".into(), enabled: true }.into()
}

fn context() -> Context<'static> {
    Context {
        steps: REMEDIATE_FLOW,
        max_attempts: 3,
        dry_run: false,
        protected: None,
        remediation_allowed: true,
        remediations_left: 5,
    }
}

fn events() -> Vec<Event> {
    let until = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
    vec![
        Event::Classify { severity: Severity::High, rule: None, flow: "f".into(), controls: vec![] },
        Event::Ignore,
        Event::Plan { actions: vec![action()] },
        Event::Decide { actions: vec![action()] },
        Event::Applied,
        Event::ApplyFailed { reason: "boom".into() },
        Event::Interrupted,
        Event::Verified,
        Event::StillDrifted { reason: "still".into() },
        Event::Retry { actions: vec![action()] },
        Event::Reevaluate,
        Event::Acknowledge { until, reason: "known".into(), by: "sre".into() },
        Event::AckExpired,
        Event::DriftGone,
    ]
}

/// The legal transition graph, written out by hand: the test fails if `step` and this
/// table ever disagree on any (state, event) pair.
#[expect(clippy::match_same_arms, reason = "one row per edge, like the graph")]
fn expected(state: State, event: &str) -> Option<State> {
    use State as S;
    let open = |event: &str| match event {
        "acknowledge" => Some(S::Acknowledged),
        "drift_gone" => Some(S::Resolved),
        _ => None,
    };
    match (state, event) {
        (S::Detected, "classify") => Some(S::Classified),
        (S::Detected, "ignore") => Some(S::Ignored),
        (S::Classified, "plan") => Some(S::Planned),
        (S::Planned, "decide") => Some(S::Remediating),
        (S::Reported | S::DryRun, "reevaluate") => Some(S::Planned),
        (S::Remediating, "applied") => Some(S::Verifying),
        (S::Remediating, "apply_failed") => Some(S::Failed),
        (S::Remediating, "interrupted") => Some(S::Planned),
        (S::Verifying, "verified") => Some(S::Remediated),
        (S::Verifying, "still_drifted") => Some(S::Failed),
        (S::Verifying, "drift_gone") => Some(S::Resolved),
        (S::Failed, "retry") => Some(S::Remediating),
        (S::Acknowledged, "ack_expired") => Some(S::Detected),
        (S::Acknowledged, "drift_gone") => Some(S::Resolved),
        (S::Detected | S::Classified | S::Planned | S::Reported | S::DryRun | S::Failed | S::Escalated, e) => open(e),
        _ => None,
    }
}

#[test]
fn every_state_event_pair_matches_the_table() {
    let mut legal = 0;
    for state in State::ALL {
        for event in events() {
            let machine = Machine { state, ..Machine::detected() };
            let got = step(&machine, &event, &context()).ok().map(|(next, _)| next.state);
            assert_eq!(got, expected(state, event.name()), "{state} + {}", event.name());
            legal += usize::from(got.is_some());
        }
    }
    assert_eq!(legal, 29, "the number of legal transitions changed: update the table and ARCHITECTURE.md");
}

#[test]
fn an_interrupted_attempt_is_decided_again_through_every_guard() {
    let remediating = Machine { state: State::Remediating, attempts: 1, ..Machine::detected() };
    let (planned, effects) = step(&remediating, &Event::Interrupted, &context()).unwrap();
    assert_eq!((planned.state, planned.attempts, effects), (State::Planned, 1, vec![]));
    // Decided again: remediated again where every key still agrees (one attempt allowed:
    // an interruption is not a failure of the fix)...
    let decide = Event::Decide { actions: vec![action()] };
    let (next, effects) = step(&planned, &decide, &Context { max_attempts: 1, ..context() }).unwrap();
    assert_eq!((next.state, next.attempts), (State::Remediating, 2));
    assert_eq!(effects, vec![Effect::Remediate { actions: vec![action()] }]);
    // ...and held where a guard now says no.
    let protected = Some(("Environment".to_owned(), "Production".to_owned()));
    let (next, _) = step(&planned, &decide, &Context { protected, ..context() }).unwrap();
    assert_eq!(next.state, State::Reported);
}

#[test]
fn decide_follows_the_flow_and_every_guard() {
    let planned = Machine { state: State::Planned, ..Machine::detected() };
    let decide = Event::Decide { actions: vec![action()] };
    let run = |context: Context<'static>| step(&planned, &decide, &context).unwrap();

    let (next, effects) = run(context());
    assert_eq!((next.state, next.attempts), (State::Remediating, 1));
    assert_eq!(effects, vec![Effect::Remediate { actions: vec![action()] }]);

    let (next, effects) = run(Context { dry_run: true, ..context() });
    assert_eq!(next.state, State::DryRun);
    assert_eq!(effects, vec![Effect::WouldRemediate { actions: vec![action()] }]);

    let protected = Some(("Environment".to_owned(), "Production".to_owned()));
    let (next, effects) = run(Context { protected, ..context() });
    assert_eq!(next.state, State::Reported);
    assert_eq!(
        effects,
        vec![Effect::Report { hold: Hold::Protected { key: "Environment".into(), value: "Production".into() } }]
    );

    let (next, _) = run(Context { remediation_allowed: false, ..context() });
    assert_eq!(next.state, State::Reported);
    let (next, effects) = run(Context { remediations_left: 0, ..context() });
    assert_eq!((next.state, effects), (State::Reported, vec![Effect::Report { hold: Hold::CapReached }]));

    let (next, effects) = step(&planned, &Event::Decide { actions: vec![] }, &context()).unwrap();
    assert_eq!(next.state, State::Escalated);
    assert!(matches!(effects.as_slice(), [Effect::Escalate { .. }]));

    let (next, _) = run(Context { steps: FLOWS[2], ..context() });
    assert_eq!(next.state, State::Reported);
    let (next, effects) = run(Context { steps: FLOWS[3], ..context() });
    assert_eq!(next.state, State::Escalated);
    assert_eq!(effects.len(), 2);
    let (next, _) = run(Context { steps: FLOWS[4], ..context() });
    assert_eq!(next.state, State::Escalated);
}

#[test]
fn retry_escalates_when_attempts_are_spent_only_if_the_flow_says_so() {
    let failed = Machine { state: State::Failed, attempts: 3, ..Machine::detected() };
    let retry = Event::Retry { actions: vec![action()] };
    let (next, effects) = step(&failed, &retry, &context()).unwrap();
    assert_eq!(next.state, State::Escalated);
    assert!(matches!(effects.as_slice(), [Effect::Escalate { .. }]));
    // Spent, and the flow does not escalate: a resting outcome, not an error.
    let rest = step(&failed, &retry, &Context { steps: FLOWS[1], ..context() }).unwrap();
    assert_eq!(rest, (failed.clone(), vec![]), "the finding rests as failed");
}

fn arb_state() -> impl Strategy<Value = State> {
    (0..State::ALL.len()).prop_map(|i| State::ALL[i])
}

fn arb_event() -> impl Strategy<Value = Event> {
    (0..events().len(), any::<bool>()).prop_map(|(i, empty)| {
        let mut event = events().swap_remove(i);
        if empty {
            match &mut event {
                Event::Plan { actions } | Event::Decide { actions } | Event::Retry { actions } => actions.clear(),
                _ => {}
            }
        }
        event
    })
}

fn arb_context() -> impl Strategy<Value = Context<'static>> {
    (0..FLOWS.len(), 1..5u32, any::<bool>(), any::<bool>(), any::<bool>(), 0..3u32).prop_map(
        |(flow, max_attempts, dry_run, protected, remediation_allowed, remediations_left)| Context {
            steps: FLOWS[flow],
            max_attempts,
            dry_run,
            protected: protected.then(|| ("Protected".to_owned(), "true".to_owned())),
            remediation_allowed,
            remediations_left,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn invariants_hold_for_any_single_step(state in arb_state(), attempts in 0..6u32, event in arb_event(), context in arb_context()) {
        let machine = Machine { state, attempts, ..Machine::detected() };
        match step(&machine, &event, &context) {
            Err(_) => {}
            Ok((next, effects)) => {
                prop_assert!(!state.is_terminal(), "terminal {state} accepted {}", event.name());
                prop_assert!(next.attempts >= machine.attempts, "attempts decreased");
                let mutates = effects.iter().any(Effect::is_mutating);
                if context.dry_run { prop_assert!(!mutates, "dry-run mutated"); }
                if context.protected.is_some() { prop_assert!(!mutates, "protected resource mutated"); }
                if mutates {
                    prop_assert!(context.remediation_allowed && context.remediations_left > 0);
                    prop_assert_eq!(next.state, State::Remediating);
                }
            }
        }
    }

    #[test]
    fn random_walks_keep_the_invariants(events in proptest::collection::vec(arb_event(), 1..40), context in arb_context()) {
        let mut machine = Machine::detected();
        // An interrupted attempt stays counted and is decided again without spending the
        // budget (`an_interrupted_attempt_is_decided_again_through_every_guard`): each
        // interruption may carry the count one past `max_attempts`, nothing else may.
        let mut interruptions = 0;
        for event in &events {
            let before = machine.clone();
            if let Ok((next, effects)) = step(&machine, event, &context) {
                prop_assert!(!before.state.is_terminal());
                prop_assert!(next.attempts >= before.attempts);
                if matches!(event, Event::Interrupted) {
                    interruptions += 1;
                }
                prop_assert!(next.attempts <= context.max_attempts + interruptions);
                if context.dry_run || context.protected.is_some() {
                    prop_assert!(!effects.iter().any(Effect::is_mutating));
                }
                machine = next;
            }
        }
    }
}
